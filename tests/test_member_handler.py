"""我的会员: the membership card and the review status."""

from __future__ import annotations

from typing import Any

import pytest
from support.fakes import FakeMembers
from support.messages import USER, event, text

from bot.core.conversation import Context, Incoming
from handlers import member


def card_of(**kw: Any) -> dict[str, Any]:
    base = {
        "number": "GH2024000123",
        "name": "张*",
        "status": "pending",
        "station_code": "ST001",
        "station_name": "城关职工驿站",
        "reason": "",
    }
    base.update(kw)
    return base


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("pending", ("待审核", "审核", "我的会员")),
        ("approved", ("已通过", "会员服务")),
        ("rejected", ("未通过", "人工")),
    ],
)
def test_card_by_status(status: str, words: tuple[str, ...]) -> None:
    card = member.member_card(card_of(status=status))
    assert "会员编号：GH2024000123" in card and "姓名：张*" in card and "驿站：城关职工驿站" in card
    for word in words:
        assert word in card, word


def test_card_shows_the_reason_of_a_refusal() -> None:
    card = member.member_card(card_of(status="rejected", reason="身份证号与姓名不符"))
    assert "未通过（原因：身份证号与姓名不符）" in card


def test_card_masks_a_full_name_and_tolerates_missing_fields() -> None:
    card = member.member_card({"name": "欧阳娜娜", "status": "approved"})
    assert "欧***" in card and "欧阳娜娜" not in card
    assert "会员编号" not in card and "驿站：" not in card
    assert "张*" in member.member_card({"name": "张三", "name_masked": "张*"})
    assert "待审核" in member.member_card({})
    assert "驿站：ST009" in member.member_card({"station_code": "ST009", "station_name": None})


@pytest.mark.parametrize("word", ["我的会员", "会员卡", "我的会员卡", "入会进度", "我的会员。", " 会员卡 "])
def test_handle_shows_the_card(word: str) -> None:
    ctx = Context(members=FakeMembers({USER: card_of()}))
    outcome = member.handle({"flow": "x", "k": 1}, text(word), ctx)
    assert outcome is not None
    assert outcome.state == {"flow": "x", "k": 1}
    assert "GH2024000123" in outcome.replies[0]


def test_handle_menu_click() -> None:
    ctx = Context(members=FakeMembers({USER: card_of()}))
    click = event("click", "MEMBER")
    outcome = member.handle({}, click, ctx)
    assert outcome is not None and "GH2024000123" in outcome.replies[0]


def test_not_a_member_yet() -> None:
    outcome = member.handle({}, text("我的会员"), Context(members=FakeMembers()))
    assert outcome is not None
    assert "还不是会员" in outcome.replies[0] and "回复“入会”" in outcome.replies[0]
    in_flow = member.handle(
        {"flow": "join", "join": {"step": "phone"}}, text("会员卡"), Context(members=FakeMembers())
    )
    assert in_flow is not None and "还没填完" in in_flow.replies[0]
    assert in_flow.state == {"flow": "join", "join": {"step": "phone"}}


def test_directory_unavailable() -> None:
    outcome = member.handle({}, text("我的会员"), Context(members=None))
    assert outcome is not None
    assert "过一会儿" in outcome.replies[0] and "人工" in outcome.replies[0]


def test_other_messages_are_not_for_this_handler() -> None:
    ctx = Context(members=FakeMembers({USER: card_of()}))
    for message in (
        text("会员有什么福利"),
        text("入会"),
        Incoming(user=USER, kind="image"),
        event("click", "HELP"),
    ):
        assert member.handle({}, message, ctx) is None
