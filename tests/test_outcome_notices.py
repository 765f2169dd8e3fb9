"""Outcome notices end to end below the console and the CLI, on SQLite and PostgreSQL against the
fake WeChat API: a template message, else a customer-service message, else waiting for the next
message; one message per decision whatever is replayed; every notice in the member's audit trail."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fake_wechat_api import FakeWechatApi
from support.applications import application
from support.clock import Clock

from bot.config import Config, NotifyConfig, WechatConfig
from bot.notify.outcomes import outcome_draft
from bot.registry import notices
from bot.registry.repository import Registry
from bot.services import Services
from bot.signup.privacy import IdCipher, generate_key
from bot.storage.store import Store
from bot.wechat.api import WechatApi

WORKER = "o-worker-1"
TEMPLATE = "TPL-OUTCOME"


@pytest.fixture
def fake() -> Iterator[FakeWechatApi]:
    with FakeWechatApi() as server:
        yield server


@dataclass
class World:
    services: Services
    registry: Registry
    fake: FakeWechatApi
    clock: Clock[dt.datetime]

    def apply(self, openid: str = WORKER, **overrides: str) -> str:
        return str(self.registry.register(application(openid=openid, **overrides)).member["number"])

    def trail(self, number: str) -> list[str]:
        return [e["action"] for e in self.registry.events(number)]


@pytest.fixture
def world(database_url: str, fake: FakeWechatApi) -> Iterator[Callable[..., World]]:
    registries: list[Registry] = []

    def make(template: str = TEMPLATE, api: bool = True) -> World:
        clock = Clock(dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC))
        registry = Registry.from_url(database_url, IdCipher(generate_key()), clock=clock)
        registry.upgrade()
        registries.append(registry)
        store = Store.from_url(f"memory://{uuid.uuid4().hex}")
        wechat = WechatConfig(app_id=fake.app_id, app_secret=fake.app_secret, api_base=fake.base_url, api_timeout=2.0)
        config = Config(wechat=wechat, notify=NotifyConfig(outcome_template=template))
        services = Services(config=config, store=store, registry=registry,
                            wechat=WechatApi(wechat, store) if api else None)
        return World(services, registry, fake, clock)

    yield make
    for registry in registries:
        registry.close()


# -- the channels ---------------------------------------------------------------------------------


def test_an_approval_goes_as_a_template_message_once(world: Callable[..., World]) -> None:
    w = world()
    number = w.apply()
    first = w.services.decisions.approve(number, "staff:rita")
    again = w.services.decisions.approve(number, "staff:rita")  # a double-click, a retried command
    assert first.changed and not again.changed and again.notice is None
    assert first.line == "已通知本人，送达方式：模板消息。"
    [sent] = w.fake.templates
    assert sent["touser"] == WORKER and sent["template_id"] == TEMPLATE
    assert sent["data"]["keyword1"]["value"] == "张**" and "审核通过" in sent["data"]["keyword2"]["value"]
    assert sent["client_msg_id"] == first.notice.key and w.fake.messages == []
    assert w.trail(number)[-2:] == ["approved", "notified"]
    assert f"msgid {first.notice.msgid}" in w.registry.events(number)[-1]["detail"]


def test_approved_withdrawn_and_approved_again_hears_each(world: Callable[..., World]) -> None:
    w = world(template="")
    number = w.apply()
    w.services.decisions.approve(number, "staff:rita")
    w.services.decisions.withdraw(number, "staff:rita", "本人申请退会")
    w.services.decisions.approve(number, "staff:rita")
    texts = [m["text"]["content"] for m in w.fake.messages]
    assert len(texts) == 3 and "审核通过" in texts[0] and "退出" in texts[1] and "审核通过" in texts[2]
    assert len({n.key for n in notices.for_member(w.registry, number)}) == 3


def test_without_a_template_a_customer_service_message_is_sent(world: Callable[..., World]) -> None:
    w = world(template="")
    number = w.apply()
    decision = w.services.decisions.reject(number, "staff:rita", "单位信息不完整")
    [sent] = w.fake.messages
    assert sent["touser"] == WORKER and "原因：单位信息不完整" in sent["text"]["content"]
    assert decision.line == "已通知本人，送达方式：客服消息。" and w.fake.templates == []
    assert w.trail(number)[-2:] == ["rejected", "notified"]


@pytest.mark.parametrize("refusal", ["40037", "45009"])
def test_a_refused_template_falls_back_to_a_customer_service_message(world: Callable[..., World],
                                                                      refusal: str) -> None:
    w = world()
    if refusal == "40037":
        w.fake.templates_known = {"SOME-OTHER-TEMPLATE"}  # the id in config is wrong
    else:
        w.fake.template_quota = 0  # the day's quota is used up
    number = w.apply()
    decision = w.services.decisions.approve(number, "staff:rita")
    assert decision.notice.channel == "customer_service" and refusal in decision.notice.error
    assert len(w.fake.messages) == 1 and w.fake.templates == []


@pytest.mark.parametrize("why", ["window closed", "unfollowed", "no api"])
def test_when_wechat_takes_nothing_the_notice_waits_for_the_next_message(world: Callable[..., World],
                                                                          why: str) -> None:
    w = world(template="" if why == "window closed" else TEMPLATE, api=why != "no api")
    (w.fake.closed_window if why == "window closed" else w.fake.unfollowed).add(WORKER)
    number = w.apply()
    decision = w.services.decisions.approve(number, "staff:rita")
    assert decision.notice.status == "waiting" and decision.line.endswith("送达方式：待工人下次发消息时显示。")
    expected = {"window closed": "48小时窗口", "unfollowed": "43004", "no api": "未配置公众号接口"}[why]
    assert expected in decision.notice.error
    assert w.fake.messages == [] and w.fake.templates == []
    assert w.trail(number)[-2:] == ["approved", "notify_waiting"]
    assert [n.key for n in notices.waiting_for(w.registry, WORKER)] == [decision.notice.key]


def test_a_token_expired_mid_send_still_delivers_once(world: Callable[..., World]) -> None:
    w = world()
    w.services.decisions.approve(w.apply(), "staff:rita")  # a token is fetched and cached
    w.fake.expire_tokens()  # WeChat now refuses that token (42001)
    other = w.apply("o-worker-2", id_number="11010519491231002X", phone="13700002222")
    decision = w.services.decisions.approve(other, "staff:rita")
    assert decision.notice.status == "sent" and decision.notice.channel == "template"
    assert [t["touser"] for t in w.fake.templates] == [WORKER, "o-worker-2"] and w.fake.messages == []
    assert w.fake.token_requests == 2


# -- replays and crashes ---------------------------------------------------------------------------


def test_replaying_the_send_gives_one_message(world: Callable[..., World]) -> None:
    w = world()
    number = w.apply()
    decision = w.services.decisions.approve(number, "staff:rita")
    draft = outcome_draft(decision.member, decision.member["decision_id"], w.services.config.notify,
                          w.services.config.service, w.registry.tz)
    assert w.services.outbox.send(draft).id == decision.notice.id  # a retry of the same send
    assert len(w.fake.templates) == 1 and w.trail(number).count("notified") == 1


def test_a_crash_between_the_decision_and_the_send_is_sent_by_the_ticker_once(world: Callable[..., World]) -> None:
    w = world()
    number = w.apply()
    # the decision and its notice are committed, then the process dies before sending
    w.registry.approve(number, "staff:rita", then=w.services.decisions._stage)
    [waiting] = notices.for_member(w.registry, number)
    assert waiting.status == "pending" and w.fake.templates == []
    assert w.services.ticker.tick()  # the next background round: deliver due notices
    assert w.services.ticker.tick()
    assert not w.services.decisions.approve(number, "staff:rita").changed  # staff try again
    assert len(w.fake.templates) == 1 and notices.get(w.registry, waiting.id).status == "sent"
    assert w.trail(number)[-2:] == ["approved", "notified"]


def test_a_crash_mid_send_is_taken_over_after_the_lease(world: Callable[..., World]) -> None:
    w = world()
    number = w.apply()
    w.registry.approve(number, "staff:rita", then=w.services.decisions._stage)
    [row] = notices.for_member(w.registry, number)
    assert notices.claim(w.registry, row.id) is not None  # a sender took it, then died
    w.services.ticker.tick()
    assert w.fake.templates == []  # its lease still runs: nobody else sends it
    w.clock.advance(minutes=2)
    w.services.ticker.tick()
    w.services.ticker.tick()
    assert len(w.fake.templates) == 1


# -- withdrawal and erasure ------------------------------------------------------------------------


def test_a_withdrawal_is_told_with_its_reason(world: Callable[..., World]) -> None:
    w = world(template="")
    number = w.apply()
    w.services.decisions.approve(number, "staff:rita")
    decision = w.services.decisions.withdraw(number, "staff:rita", "调离本县")
    assert decision.notice.status == "sent" and "说明：调离本县" in w.fake.messages[-1]["text"]["content"]
    assert w.trail(number)[-2:] == ["withdrawn", "notified"]


def test_an_erasure_is_told_to_the_openid_the_member_had_and_empties_their_notices(
        world: Callable[..., World]) -> None:
    w = world(template="")
    number = w.apply()
    w.services.decisions.approve(number, "staff:rita")
    decision = w.services.decisions.erase(number, "staff:boss", "本人申请删除")
    member = w.registry.get(number, openid=True)
    assert member["status"] == "erased" and member["openid"] != WORKER and member["name"] == "已删除"
    last = w.fake.messages[-1]
    assert last["touser"] == WORKER and "个人信息" in last["text"]["content"]
    assert number not in last["text"]["content"] and "张" not in last["text"]["content"]
    earlier, told = notices.for_member(w.registry, number)
    assert earlier.openid == member["openid"] and "张" not in earlier.text and number not in earlier.text
    assert told.id == decision.notice.id and told.status == "sent"
    assert w.trail(number)[-2:] == ["erased", "notified"]
    assert not w.services.decisions.erase(number, "staff:boss", "again").changed
    assert len(w.fake.messages) == 2


def test_an_erasure_cancels_notices_still_waiting(world: Callable[..., World]) -> None:
    w = world(api=False)
    number = w.apply()
    approval = w.services.decisions.approve(number, "staff:rita").notice
    w.services.decisions.erase(number, "staff:boss", "本人申请删除")
    assert notices.get(w.registry, approval.id).status == "skipped"
    [left] = notices.waiting_for(w.registry, WORKER)  # only the erasure is still to be shown
    assert "个人信息" in left.text and "审核通过" not in left.text
