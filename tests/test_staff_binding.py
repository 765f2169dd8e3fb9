"""Binding a staff member's WeChat: one-time codes in the store (fakeredis and Redis), the pure 绑定
handler, the whole path through the webhook (SQLite and PostgreSQL), wrong codes rate-limited per
openid, and a signup through the webhook waking the ticker that alerts the bound reviewer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fake_wechat_api import FakeWechatApi
from support.app import Bot
from support.messages import text
from test_signup_e2e import SignupBot

from bot.config import NotifyConfig
from bot.core.conversation import Context
from bot.core.router import route
from bot.registry import staff
from bot.storage import bind_codes
from bot.storage.store import Store
from bot.wechat.api import WechatApi

PASSWORD = "correct horse 1"
STAFF_WECHAT = "oStaffRitaWechat0001"


# -- codes in the store --------------------------------------------------------------------------


def test_a_code_is_six_digits_lives_ten_minutes_and_is_taken_once(store: Store) -> None:
    code = bind_codes.issue(store, "rita")
    assert len(code) == 6 and code.isdigit()
    live = bind_codes.live(store, "rita")
    assert live is not None and live[0] == code and 590 <= live[1] <= 600
    taken = bind_codes.take(store, code)
    assert taken is not None and taken[0] == "rita"
    assert bind_codes.take(store, code) is None and bind_codes.live(store, "rita") is None


def test_one_live_code_per_account(store: Store) -> None:
    first = bind_codes.issue(store, "rita")
    second = bind_codes.issue(store, "rita")
    other = bind_codes.issue(store, "boss")
    assert bind_codes.take(store, first) is None or first == second
    assert bind_codes.live(store, "rita") == (second, bind_codes.live(store, "rita")[1])
    assert bind_codes.take(store, second)[0] == "rita" and bind_codes.take(store, other)[0] == "boss"


def test_cancel_and_give_back(store: Store) -> None:
    code = bind_codes.issue(store, "rita")
    bind_codes.cancel(store, "rita")
    assert bind_codes.take(store, code) is None
    bind_codes.give_back(store, code, "rita", 300)
    assert bind_codes.live(store, "rita")[0] == code and bind_codes.take(store, code)[0] == "rita"


def test_wrong_codes_lock_an_openid_out_after_five(store: Store) -> None:
    for n in range(1, bind_codes.MAX_WRONG):
        assert bind_codes.count_wrong(store, "o-guesser") == n and not bind_codes.locked_out(store, "o-guesser")
    bind_codes.count_wrong(store, "o-guesser")
    assert bind_codes.locked_out(store, "o-guesser") and not bind_codes.locked_out(store, "o-other")
    assert 0 < store.redis.ttl(store.key("bind", "wrong", "o-guesser")) <= bind_codes.WRONG_WINDOW


# -- the handler ---------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["绑定 483920", "绑定483920", "绑定：４８３９２０", " 绑定 483920。"])
def test_the_bind_message_becomes_an_effect_with_the_code(message: str) -> None:
    outcome = route({"flow": "join", "join": {"step": "name"}}, text(message, user="o-staff"), Context())
    assert [(e.kind, dict(e.data)) for e in outcome.effects] == [
        ("bind_staff_wechat", {"openid": "o-staff", "code": "483920"})]
    assert outcome.replies == () and outcome.state["flow"] == "join"  # the runner words the reply


def test_other_messages_about_binding_are_not_taken() -> None:
    outcome = route({}, text("绑定微信怎么弄"), Context())
    assert not any(e.kind == "bind_staff_wechat" for e in outcome.effects)


# -- through the webhook -------------------------------------------------------------------------


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Iterator[Bot]:
    built = Bot(tmp_path, database_url=database_url)
    for username, role in (("rita", "reviewer"), ("eddie", "editor"), ("olga", "reviewer")):
        staff.create_user(built.services.registry, username, role, PASSWORD)
    yield built
    built.services.registry.close()


def say(bot: Bot, user: str, words: str) -> str:
    bot.clock.advance(1)
    return bot.sim.post(bot.sim.text(user, words)).text


def test_sending_the_code_binds_the_account_and_audits_it(bot: Bot) -> None:
    registry, store = bot.services.registry, bot.services.store
    code = bind_codes.issue(store, "rita")
    reply = say(bot, STAFF_WECHAT, f"绑定 {code}")
    assert reply.startswith("绑定成功") and "rita" in reply and "审核提醒" in reply
    assert staff.wechat_of(registry, "rita") == STAFF_WECHAT
    assert staff.alerted_openids(registry) == [STAFF_WECHAT]
    event = staff.staff_events(registry)[0]
    assert (event["action"], event["detail"]) == ("wechat_bound", "rita 绑定微信 oSta…0001")
    assert "不正确或已过期" in say(bot, "o-someone-else", f"绑定 {code}")  # used up
    assert staff.unbind_wechat(registry, "rita", "staff:rita") and staff.alerted_openids(registry) == []
    assert staff.staff_events(registry)[0]["action"] == "wechat_unbound"
    assert not staff.unbind_wechat(registry, "rita", "staff:rita")


def test_an_editor_may_bind_but_is_told_it_gets_no_alerts(bot: Bot) -> None:
    code = bind_codes.issue(bot.services.store, "eddie")
    reply = say(bot, "o-eddie", f"绑定 {code}")
    assert reply.startswith("绑定成功") and "编辑账号不接收" in reply
    assert staff.alerted_openids(bot.services.registry) == []


def test_a_disabled_account_cannot_bind(bot: Bot) -> None:
    code = bind_codes.issue(bot.services.store, "olga")
    staff.disable_user(bot.services.registry, "olga")
    assert "已停用" in say(bot, "o-olga", f"绑定 {code}")
    assert staff.wechat_of(bot.services.registry, "olga") is None


def test_guessing_stops_after_five_wrong_codes_even_for_a_right_one(bot: Bot) -> None:
    code = bind_codes.issue(bot.services.store, "rita")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(bind_codes.MAX_WRONG):
        assert "不正确或已过期" in say(bot, "o-guesser", f"绑定 {wrong}")
    assert "错误次数过多" in say(bot, "o-guesser", f"绑定 {code}")
    assert staff.wechat_of(bot.services.registry, "rita") is None
    assert say(bot, STAFF_WECHAT, f"绑定 {code}").startswith("绑定成功")  # the code was not used up


def test_a_signup_through_the_webhook_wakes_the_ticker_and_the_reviewer_hears_of_it(
        tmp_path: Path, database_url: str) -> None:
    signup = SignupBot(tmp_path, database_url, f"memory://{uuid.uuid4().hex}", key_prefix="alerts:")
    registry, services = signup.registry, signup.services
    try:
        with FakeWechatApi() as fake:
            wechat = replace(services.config.wechat, app_id=fake.app_id, app_secret=fake.app_secret,
                             api_base=fake.base_url, api_timeout=2.0)
            services.config = replace(services.config, wechat=wechat, notify=NotifyConfig(staff_template="TPL"))
            services.wechat = WechatApi(wechat, services.store)
            staff.create_user(registry, "rita", "reviewer", PASSWORD)
            signup.say(STAFF_WECHAT, f"绑定 {bind_codes.issue(services.store, 'rita')}")
            assert not services.ticker._wake.is_set()
            signup.sign_up("o-applicant")
            assert services.ticker._wake.is_set()  # a round runs at once in `unionbot serve`
            assert services.ticker.tick()
            assert [(t["touser"], t["data"]["first"]["value"]) for t in fake.templates] == [
                (STAFF_WECHAT, "新的入会申请待审核")]
    finally:
        signup.close()
