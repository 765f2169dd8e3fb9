"""The outcome notices' drafts, pure: what the worker reads after 通过, 不通过, 退会 and an erasure, the
template form, the key per decision, and the line staff read about how it went."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot.config import NotifyConfig, ServiceConfig
from bot.notify.outcomes import channel_label, delivery_line, outcome_draft, outcome_key
from bot.notify.template import FIELD_LIMIT, fill_fields
from bot.registry.notices import NoticeRow

TZ = dt.timezone(dt.timedelta(hours=8))
SERVICE = ServiceConfig(union_name="青溪县总工会", hotline="12351", office_hours="工作日 9:00-17:30")
TEMPLATED = NotifyConfig(outcome_template="TPL-1")
PHONE, ID_NUMBER = "13812345678", "11010519491231002X"


def member(status: str = "approved", reason: str = "") -> dict:
    return {"number": "GH2026000007", "status": status, "reason": reason, "openid": "o-w1", "name": "张三丰",
            "name_masked": "张**", "phone_masked": "138****5678", "id_number_masked": "110105********002X",
            "updated_at": "2026-07-01T02:05:00+00:00"}


def test_an_approval_names_the_number_what_next_and_the_hotline() -> None:
    draft = outcome_draft(member(), 41, NotifyConfig(), SERVICE, TZ)
    assert draft.key == "outcome:GH2026000007:approved:41" and draft.kind == "outcome"
    assert draft.openid == "o-w1" and draft.member_number == "GH2026000007"
    assert "审核通过" in draft.text and "会员号：GH2026000007" in draft.text and "青溪县总工会" in draft.text
    assert "我的会员" in draft.text and "12351" in draft.text
    assert draft.template == "" and draft.fields == {}  # no template configured: the text alone


def test_a_rejection_gives_the_reason_and_how_to_apply_again() -> None:
    text = outcome_draft(member("rejected", "单位信息不完整"), 42, NotifyConfig(), SERVICE, TZ).text
    assert "未通过审核" in text and "原因：单位信息不完整" in text and "回复“入会”" in text and "12351" in text


def test_a_withdrawal_says_so_and_how_to_come_back() -> None:
    text = outcome_draft(member("withdrawn", "本人申请"), 43, NotifyConfig(), SERVICE, TZ).text
    assert "您已退出青溪县总工会" in text and "说明：本人申请" in text and "重新申请" in text


def test_an_erasure_notice_carries_nothing_personal() -> None:
    draft = outcome_draft(member("erased", "本人要求删除，电话 13812345678"), 44, TEMPLATED, SERVICE, TZ)
    shown = draft.text + "".join(draft.fields.values())
    assert "个人信息" in draft.text and "12351" in draft.text
    for personal in ("GH2026000007", "张", PHONE, "本人要求"):
        assert personal not in shown
    assert draft.member_number == "GH2026000007"  # for the audit trail only


@pytest.mark.parametrize("status", ["approved", "rejected", "withdrawn", "erased"])
def test_no_notice_carries_a_phone_or_id_number(status: str) -> None:
    draft = outcome_draft(member(status, "原因"), 1, TEMPLATED, SERVICE, TZ)
    shown = draft.text + "".join(draft.fields.values())
    assert PHONE not in shown and "5678" not in shown and ID_NUMBER not in shown and "张三丰" not in shown


def test_the_template_form_follows_the_configured_fields() -> None:
    notify = replace(TEMPLATED, outcome_fields=("first={title}", "keyword1={name}（{number}）", "keyword2={result}",
                                                "keyword3={time}", "remark={detail}"))
    fields = outcome_draft(member(), 41, notify, SERVICE, TZ).fields
    assert fields["first"] == "您的入会申请已审核通过"
    assert fields["keyword1"] == "张**（GH2026000007）"
    assert fields["keyword2"] == "审核通过" and fields["keyword3"] == "2026-07-01 10:05"  # local time
    assert "12351" in fields["remark"]


def test_fields_keep_literal_text_and_unknown_placeholders_and_are_cut_for_wechat() -> None:
    assert fill_fields(["a=结果：{result}", "b={nope}", " c = {name} "], {"result": "通过", "name": "张*"}) == {
        "a": "结果：通过", "b": "{nope}", "c": "张*"}
    assert len(fill_fields(["remark={detail}"], {"detail": "详" * 500})["remark"]) == FIELD_LIMIT


def test_each_decision_has_its_own_key() -> None:
    assert outcome_key("GH1", "approved", 5) != outcome_key("GH1", "approved", 9)  # approved again later
    assert outcome_key("GH1", "approved", 5) != outcome_key("GH1", "withdrawn", 5)


def test_a_status_without_an_outcome_notice_is_refused() -> None:
    with pytest.raises(ValueError, match="pending"):
        outcome_draft(member("pending"), 1, NotifyConfig(), SERVICE, TZ)


def row(status: str, channel: str = "", error: str = "") -> NoticeRow:
    now = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    return NoticeRow(1, "k", "outcome", "o", "t", "", {}, "", status, channel, "", error, 1, 1, None, now, None)


@pytest.mark.parametrize(("notice", "line", "label"), [
    (row("sent", "template"), "已通知本人，送达方式：模板消息。", "模板消息"),
    (row("sent", "customer_service"), "已通知本人，送达方式：客服消息。", "客服消息"),
    (row("waiting", error="客服消息超出48小时窗口"), "微信暂时无法送达（客服消息超出48小时窗口），送达方式：待工人下次发消息时显示。",
     "待工人下次发消息时显示"),
    (row("shown", "next_message"), "通知已在工人发消息时显示。", "已在工人发消息时显示"),
    (row("pending", error="客服消息 timeout"), "微信暂时没有响应，通知会自动重试。", "稍后自动重试"),
    (None, "通知已记下，稍后自动发送。", "稍后自动发送"),
])
def test_staff_read_how_the_worker_was_told(notice: NoticeRow | None, line: str, label: str) -> None:
    assert delivery_line(notice) == line and channel_label(notice) == label
