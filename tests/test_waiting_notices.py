"""Notices WeChat would not take are shown on the worker's next message, before anything else,
exactly once: also when another process deferred them without sharing this one's store, never
holding up a reply while the database is down, and without breaking a signup in progress."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session
from support.app import write_config
from test_late_replies import SlowBot
from test_signup_e2e import SignupBot

from bot.cli import main
from bot.core import effects
from bot.notify.waiting import RECHECK
from bot.registry import notices
from bot.registry.notices import Draft, NoticeRow
from bot.registry.repository import Registry, RegistryUnavailable

NOTICE = "【测试通知】您的会员卡已经可以领取。"


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Iterator[SignupBot]:
    signup_bot = SignupBot(tmp_path, database_url, f"memory://{uuid.uuid4().hex}", f"wn-{uuid.uuid4().hex[:8]}:")
    yield signup_bot
    signup_bot.close()


def another_process_approves(tmp_path: Path, bot: SignupBot, number: str) -> str:
    """`unionbot members approve` with a store of its own (memory://) and no WeChat API: the notice
    can only wait, and this process hears nothing of it."""
    config = write_config(tmp_path, "cli.toml", database={"url": bot.config.database.url})
    result = CliRunner().invoke(main, ["members", "approve", number, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "送达方式：待工人下次发消息时显示" in result.output
    return result.output


def defer(bot: SignupBot, user: str, key: str = "test:1") -> None:
    """A notice this process could not send (no WeChat API): it waits for the worker."""
    assert bot.services.outbox.send(Draft(key=key, kind="test", openid=user, text=NOTICE)).status == "waiting"


def test_a_notice_deferred_by_another_process_is_shown_first_and_once(tmp_path: Path, bot: SignupBot) -> None:
    card = bot.sign_up("o-w1")
    number = card.split("会员编号：")[1].split("\n")[0]
    bot.clock.wait(2 * 86400)  # the review takes two days
    another_process_approves(tmp_path, bot, number)
    reply = bot.say("o-w1", "会费怎么交")
    notice, answer = reply.split("\n\n", 1)
    assert notice.startswith("【入会审核结果】您的入会申请已审核通过") and number in reply
    assert "会费" in answer
    assert "【入会审核结果】" not in bot.say("o-w1", "会费怎么交")
    assert [e["action"] for e in bot.registry.events(number)][-3:] == ["approved", "notify_waiting", "notice_shown"]
    assert [n.status for n in notices.for_member(bot.registry, number)] == ["shown"]


def test_right_after_the_worker_wrote_a_notice_deferred_elsewhere_shows_after_the_next_round(
        tmp_path: Path, bot: SignupBot) -> None:
    number = bot.sign_up("o-w2").split("会员编号：")[1].split("\n")[0]
    another_process_approves(tmp_path, bot, number)
    # this process checked moments ago and nobody told it otherwise: the read is saved
    assert "【入会审核结果】" not in bot.say("o-w2", "会费怎么交")
    assert bot.services.ticker.tick()  # a background round notes notices that began waiting
    assert bot.say("o-w2", "会费怎么交").startswith("【入会审核结果】您的入会申请已审核通过")


def test_a_check_without_news_saves_the_database_read_for_a_while(bot: SignupBot) -> None:
    bot.say("o-w3", "你好")  # read: nothing waits
    reads: list[str] = []
    real = notices.waiting_for

    def counted(registry: Registry, openid: str) -> list[NoticeRow]:
        reads.append(openid)
        return real(registry, openid)

    notices.waiting_for = counted
    try:
        bot.say("o-w3", "会费怎么交")
        bot.say("o-w3", "怎么入会")
        assert reads == []
        bot.clock.wait(RECHECK)
        bot.say("o-w3", "你好")
        assert reads == ["o-w3"]
    finally:
        notices.waiting_for = real


def test_while_the_database_is_down_the_message_is_answered_and_the_notice_keeps_waiting(
        bot: SignupBot) -> None:
    defer(bot, "o-w4")
    real_session = bot.registry.session

    def down(write: bool = False) -> Iterator[Session]:
        raise RegistryUnavailable("database unavailable: connection refused")

    bot.registry.session = down
    try:
        reply = bot.say("o-w4", "会费怎么交")
    finally:
        bot.registry.session = real_session
    assert "会费" in reply and NOTICE not in reply
    assert [n.text for n in notices.waiting_for(bot.registry, "o-w4")] == [NOTICE]
    bot.clock.wait(bot.config.database.retry_after)  # the database is back
    assert bot.say("o-w4", "会费怎么交").startswith(NOTICE)
    assert notices.waiting_for(bot.registry, "o-w4") == []


def test_a_worker_in_the_middle_of_a_signup_sees_the_notice_and_goes_on(bot: SignupBot) -> None:
    user = "o-w5"
    bot.subscribe(user, "join:ST001")
    bot.say(user, "同意")
    defer(bot, user)
    reply = bot.say(user, "同意")
    assert reply.startswith(NOTICE + "\n\n") and "姓名" in reply  # then the next step of the signup
    assert "请核对您的信息" in bot.say(user, "张三 13800000005 11010519491231002X 3 美团")
    assert "提交成功" in bot.say(user, "确认")
    assert NOTICE not in bot.say(user, "我的会员")


def test_a_notice_shown_with_a_message_whose_handling_fails_still_reaches_the_worker(
        bot: SignupBot, monkeypatch: pytest.MonkeyPatch) -> None:
    user = "o-w7"
    bot.subscribe(user, "join:ST001")
    bot.say(user, "同意")
    bot.say(user, "同意")
    assert "请核对您的信息" in bot.say(user, "张三 13800000007 11010519491231002X 3 美团")
    defer(bot, user)

    def broken(*args: object) -> None:
        raise RuntimeError("registry write blew up")

    monkeypatch.setitem(effects.RUNNERS, "register_member", broken)
    reply = bot.say(user, "确认")  # marked shown while this message was handled, then the crash
    assert reply.startswith(NOTICE + "\n\n") and "12351" in reply
    assert [n.status for n in notices.query(bot.registry, openid=user)] == ["shown"]


def test_events_the_worker_does_not_see_leave_the_notice_waiting(bot: SignupBot) -> None:
    defer(bot, "o-w6")
    bot.clock.tick()
    bot.sim.post(bot.sim.event("o-w6", "unsubscribe"))
    bot.clock.tick()
    bot.sim.post(bot.sim.event("o-w6", "TEMPLATESENDJOBFINISH", Status="success"))
    assert len(notices.waiting_for(bot.registry, "o-w6")) == 1
    assert bot.subscribe("o-w6").startswith(NOTICE)  # following again: shown with the welcome


def test_notices_come_before_a_late_reply_kept_for_the_next_message(tmp_path: Path) -> None:
    slow = SlowBot(tmp_path, api=None)
    slow.services.registry.create_schema()
    assert slow.sim.post(slow.sim.text("w9", "slow")).body == b"success"
    slow.finish_slow_message()  # no API: the late reply is kept in the state
    assert slow.services.outbox.send(Draft(key="t:9", kind="test", openid="w9", text=NOTICE)).status == "waiting"
    assert slow.sim.post(slow.sim.text("w9", "你好")).text == f"{NOTICE}\n\n慢慢的回答\n\n回答：你好"
    assert slow.sim.post(slow.sim.text("w9", "再问")).text == "回答：再问"
    slow.services.registry.close()
