"""The outbox on SQLite and PostgreSQL against the fake WeChat API: template first, customer-service
second, else waiting for the next message; once per key; one sender per notice."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from fake_wechat_api import FakeWechatApi
from support.applications import application
from support.clock import Clock

from bot.config import WechatConfig
from bot.notify.outbox import MAX_ATTEMPTS, Outbox
from bot.registry import notices
from bot.registry.notices import Draft
from bot.registry.repository import Registry
from bot.signup.privacy import IdCipher, generate_key
from bot.storage.store import Store
from bot.wechat.api import WechatApi

WORKER = "o-worker-1"


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC))


@pytest.fixture
def registry(database_url: str, clock: Clock) -> Iterator[Registry]:
    reg = Registry.from_url(database_url, IdCipher(generate_key()), clock=clock)
    reg.upgrade()
    yield reg
    reg.close()


@pytest.fixture
def fake() -> Iterator[FakeWechatApi]:
    with FakeWechatApi() as server:
        yield server


def outbox(registry: Registry, fake: FakeWechatApi | None, waiting: list[str] | None = None) -> Outbox:
    api = None
    if fake is not None:
        config = WechatConfig(app_id=fake.app_id, app_secret=fake.app_secret, api_base=fake.base_url, api_timeout=2.0)
        api = WechatApi(config, Store.from_url(f"memory://{uuid.uuid4().hex}"))
    return Outbox(registry, api, on_waiting=None if waiting is None else waiting.append)


def draft(key: str = "outcome:1", template: str = "TPL-OUTCOME", **overrides: object) -> Draft:
    values: dict = {"key": key, "kind": "outcome", "openid": WORKER, "text": "您的入会申请已审核通过。",
                    "template": template, "fields": {"first": "审核通过"}}
    values.update(overrides)
    return Draft(**values)


def test_a_template_message_goes_first_and_is_sent_once(registry: Registry, fake: FakeWechatApi) -> None:
    box = outbox(registry, fake)
    first = box.send(draft())
    again = box.send(draft())  # a retried approval asks for the same notice
    assert (first.status, first.channel) == ("sent", "template") and first.msgid
    assert again.id == first.id and len(fake.templates) == 1 and fake.messages == []


def test_without_a_template_a_customer_service_message_is_sent(registry: Registry, fake: FakeWechatApi) -> None:
    row = outbox(registry, fake).send(draft(template=""))
    assert (row.status, row.channel) == ("sent", "customer_service")
    assert [m["text"]["content"] for m in fake.messages] == ["您的入会申请已审核通过。"]


def test_a_refused_template_falls_back_to_customer_service(registry: Registry, fake: FakeWechatApi) -> None:
    fake.template_quota = 0
    row = outbox(registry, fake).send(draft())
    assert (row.status, row.channel) == ("sent", "customer_service") and "45009" in row.error
    assert len(fake.messages) == 1


def test_when_wechat_takes_neither_the_notice_waits_for_the_next_message(
        registry: Registry, fake: FakeWechatApi) -> None:
    fake.template_quota = 0
    fake.closed_window.add(WORKER)
    told: list[str] = []
    box = outbox(registry, fake, told)
    row = box.send(draft())
    assert row.status == "waiting" and told == [WORKER]
    assert [n.text for n in notices.waiting_for(registry, WORKER)] == ["您的入会申请已审核通过。"]
    assert notices.mark_shown(registry, [row.id]) == [row.id]
    assert notices.mark_shown(registry, [row.id]) == []  # shown once
    assert notices.get(registry, row.id).status == "shown" and notices.waiting_for(registry, WORKER) == []


def test_without_a_wechat_api_every_notice_waits(registry: Registry) -> None:
    box = outbox(registry, None)
    assert box.send(draft()).status == "waiting"
    assert [n.text for n in notices.waiting_for(registry, WORKER)] == ["您的入会申请已审核通过。"]


def test_an_unanswering_wechat_is_retried_then_the_notice_waits(registry: Registry, fake: FakeWechatApi) -> None:
    fake.stop()  # nothing listens any more: every call fails without an errcode
    box = outbox(registry, fake)
    row = box.send(draft())
    assert row.status == "pending" and row.attempts == 1
    for _ in range(MAX_ATTEMPTS):
        box.deliver_due()
    final = notices.get(registry, row.id)
    assert final.status == "waiting" and final.attempts == MAX_ATTEMPTS


def test_a_claimed_notice_is_not_sent_by_a_second_process(registry: Registry, fake: FakeWechatApi) -> None:
    row, created = notices.enqueue(registry, draft())
    assert created and notices.claim(registry, row.id) is not None
    assert outbox(registry, fake).deliver(row.id) is None and fake.templates == []
    assert notices.due(registry) == []  # its lease still runs


def test_a_lapsed_claim_is_taken_over(registry: Registry, fake: FakeWechatApi, clock: Clock) -> None:
    row, _ = notices.enqueue(registry, draft())
    notices.claim(registry, row.id)  # that process died mid-send
    clock.advance(minutes=2)
    assert notices.due(registry) == [row.id]
    assert outbox(registry, fake).deliver_due() == 1 and len(fake.templates) == 1


def test_outcome_notices_land_in_the_members_audit_trail(registry: Registry, fake: FakeWechatApi) -> None:
    member = registry.register(application(openid=WORKER)).member
    fake.closed_window.add(WORKER)
    box = outbox(registry, fake)
    row = box.send(draft(template="", member_number=member["number"]))
    notices.mark_shown(registry, [row.id])
    trail = [(e["action"], e["actor"]) for e in registry.events(member["number"])]
    assert trail[-2:] == [("notify_waiting", "wechat"), ("notice_shown", "wechat")]
    assert [n.status for n in notices.for_member(registry, member["number"])] == ["shown"]


def test_opt_out_and_back_in(registry: Registry) -> None:
    notices.opt_out(registry, WORKER)
    notices.opt_out(registry, WORKER)  # twice is fine
    assert notices.opted_out(registry, [WORKER, "o-other"]) == {WORKER}
    notices.opt_in(registry, WORKER)
    assert notices.opted_out(registry, [WORKER]) == set()
