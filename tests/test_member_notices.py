"""Member notices (送清凉, 金秋助学…) on SQLite and PostgreSQL against the fake WeChat API: who gets
them, each channel, WeChat's daily quota, a token expiring and a process dying mid-send, 退订."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from fake_wechat_api import FakeWechatApi
from support.clock import Clock
from support.members import ST001_APPROVED, seed_members

from bot.config import Config, DatabaseConfig, NotifyConfig, WechatConfig
from bot.notify.broadcast import Broadcaster
from bot.notify.member_notice import FOOTER, KIND, Audience, NoticeProblem
from bot.notify.outbox import Outbox
from bot.registry import broadcasts, notices, staff
from bot.registry.repository import Registry
from bot.services import Services
from bot.signup.privacy import IdCipher, generate_key
from bot.storage.store import Store
from bot.wechat.api import WechatApi

TEXT = "7月10日起，各职工驿站免费发放防暑降温用品，凭会员卡领取。"


class FakeTime:
    """The sender's monotonic clock and sleep: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.on_sleep: list = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        for hook in self.on_sleep:
            hook(len(self.slept))


@dataclass
class World:
    registry: Registry
    fake: FakeWechatApi
    clock: Clock
    time: FakeTime
    url: str
    store: Store

    def broadcaster(self, registry: Registry | None = None, **notify: object) -> Broadcaster:
        """A sender as a fresh process would build it (its own API client and token)."""
        config = NotifyConfig(**({"notice_template": "TPL-NOTICE", "send_rate": 20.0} | notify))
        wechat = WechatConfig(app_id=self.fake.app_id, app_secret=self.fake.app_secret, api_base=self.fake.base_url,
                              api_timeout=2.0)
        registry = registry or self.registry
        outbox = Outbox(registry, WechatApi(wechat, Store.from_url(f"memory://{uuid.uuid4().hex}")))
        return Broadcaster(registry, outbox, self.store, config, "青溪县总工会", monotonic=self.time.monotonic,
                           sleep=self.time.sleep, round_seconds=30.0)

    def reached(self) -> list[str]:
        """Every openid a message went to, once per message, in order."""
        return [t["touser"] for t in self.fake.templates] + [m["touser"] for m in self.fake.messages]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    clock = Clock(dt.datetime(2026, 7, 1, 2, 0, tzinfo=dt.UTC))  # 10:00 in China
    registry = Registry.from_url(database_url, IdCipher(generate_key()), clock=clock)
    registry.upgrade()
    seed_members(registry)
    with FakeWechatApi() as fake:
        yield World(registry, fake, clock, FakeTime(), database_url, Store.from_url(f"memory://{uuid.uuid4().hex}"))
    registry.close()


def table_sizes(registry: Registry) -> tuple[int, int]:
    return len(broadcasts.recent(registry)), len(notices.query(registry, kind=KIND))


def test_a_station_notice_reaches_its_approved_members_and_nobody_else(world: World) -> None:
    sender = world.broadcaster()
    job = sender.create(Audience("station", "ST001"), "送清凉", TEXT, "staff:boss")
    assert sender.drive(job) == "done"
    assert sorted(world.reached()) == ST001_APPROVED  # not pending, rejected, withdrawn or ST002
    fields = {k: v["value"] for k, v in world.fake.templates[0]["data"].items()}
    assert fields["first"] == "送清凉" and fields["keyword1"] == "青溪县总工会"
    assert fields["keyword2"] == "2026-07-01 10:00" and fields["remark"].endswith(FOOTER)
    row = broadcasts.get(world.registry, job)
    assert (row.status, row.total, row.sent, row.failed) == ("done", 3, 3, 0)
    assert row.started_at is not None and row.finished_at is not None
    assert {r.channel for r in broadcasts.results(world.registry, job)} == {"template"}


def test_an_occupation_and_everyone(world: World) -> None:
    sender = world.broadcaster()
    sender.drive(sender.create(Audience("occupation", "网约送餐员"), "骑手专场", TEXT, "cli:wang"))
    assert world.reached() == ["o-b1"]
    sender.drive(sender.create(Audience("all"), "金秋助学", TEXT, "cli:wang"))
    assert sorted(world.reached()[1:]) == sorted([*ST001_APPROVED, "o-b1"])


def test_without_a_template_a_customer_service_message_carries_the_whole_notice(world: World) -> None:
    sender = world.broadcaster(notice_template="")
    sender.drive(sender.create(Audience("station", "ST002"), "驿站开业", TEXT, "staff:boss",
                               url="https://mp.weixin.qq.com/s/abc"))
    [message] = world.fake.messages
    content = message["text"]["content"]
    assert content.startswith("【驿站开业】\n" + TEXT) and "详情：https://mp.weixin.qq.com/s/abc" in content
    assert "青溪县总工会" in content and content.endswith(FOOTER) and world.fake.templates == []


def test_when_wechat_takes_neither_the_notice_waits_for_the_next_message(world: World) -> None:
    world.fake.unfollowed.add("o-a1")  # blocked the account: no template, no customer-service message
    sender = world.broadcaster()
    job = sender.create(Audience("station", "ST001"), "送清凉", TEXT, "staff:boss")
    assert sender.drive(job) == "done"
    progress = sender.progress(job)
    assert (progress.delivered, progress.waiting, progress.pending) == (2, 1, 0)
    [waiting] = broadcasts.results(world.registry, job, status=["waiting"])
    assert waiting.name_masked == "张**" and "43004" in waiting.error
    assert [n.text for n in notices.waiting_for(world.registry, "o-a1")] == [notices.query(world.registry, openid="o-a1")[0].text]
    assert broadcasts.get(world.registry, job).failed == 1


def test_the_daily_quota_used_up_mid_send_pauses_until_the_next_day(world: World) -> None:
    world.fake.template_quota = 2  # WeChat says 45009 from the third template on
    sender = world.broadcaster()
    job = sender.create(Audience("station", "ST001"), "送清凉", TEXT, "staff:boss")
    assert sender.drive(job) == "paused"
    assert len(world.fake.templates) == 2 and world.fake.messages == []  # no fallback while held back
    held = broadcasts.results(world.registry, job, status=["pending"])
    assert len(held) == 1 and "45009" in held[0].error
    calls = len(world.fake.calls)
    world.clock.advance(hours=10)  # 20:00 the same day: still paused, WeChat not asked
    assert not sender.send_round() and len(world.fake.calls) == calls
    assert broadcasts.get(world.registry, job).status == "paused"
    world.fake.template_quota = None
    world.clock.advance(hours=5)  # 01:00 the next day
    sender.send_round()
    assert broadcasts.get(world.registry, job).status == "done"
    assert sorted(world.reached()) == ST001_APPROVED


def test_the_configured_daily_quota_counts_every_template_sent_today(world: World) -> None:
    sender = world.broadcaster(daily_quota=2)
    first = sender.create(Audience("station", "ST002"), "驿站开业", TEXT, "staff:boss")
    assert sender.drive(first) == "done"  # one template today
    second = sender.create(Audience("station", "ST001"), "送清凉", TEXT, "staff:boss")
    assert sender.drive(second) == "paused" and len(world.fake.templates) == 2
    assert sender.send_round() is False and len(world.fake.templates) == 2  # still today: nothing
    world.clock.advance(days=1)
    assert sender.drive(second) == "done" and sorted(world.reached()) == sorted(["o-b1", *ST001_APPROVED])


def test_a_token_expired_mid_send_loses_and_doubles_nothing(world: World) -> None:
    world.time.on_sleep.append(lambda n: world.fake.expire_tokens() if n == 2 else None)
    sender = world.broadcaster(send_rate=5.0)
    job = sender.create(Audience("all"), "金秋助学", TEXT, "staff:boss")
    assert sender.drive(job) == "done"
    assert sorted(world.reached()) == sorted([*ST001_APPROVED, "o-b1"])
    assert world.fake.token_requests == 2  # the first token, and one after it expired


def test_a_process_dying_mid_send_is_finished_by_another_without_double_sends(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    sender = world.broadcaster()
    job = sender.create(Audience("station", "ST001"), "送清凉", TEXT, "staff:boss")
    api = sender.outbox.wechat
    real = api.send_template

    def dies_after_the_second(*args: object, **kwargs: object) -> str:
        msgid = real(*args, **kwargs)
        if len(world.fake.templates) == 2:  # WeChat took it; the process dies before recording that
            raise SystemExit("killed")
        return msgid

    monkeypatch.setattr(api, "send_template", dies_after_the_second)
    with pytest.raises(SystemExit):
        sender.drive(job)
    assert [r.status for r in broadcasts.results(world.registry, job)] == ["sent", "sending", "pending"]

    fresh = Registry.from_url(world.url, world.registry.cipher, clock=world.clock)  # another process
    try:
        world.clock.advance(minutes=2)  # the dead sender's claim lapses
        assert world.broadcaster(fresh).drive(job) == "done"
    finally:
        fresh.close()
    assert sorted(world.reached()) == ST001_APPROVED  # each member got exactly one message
    assert {r.status for r in broadcasts.results(world.registry, job)} == {"sent"}


def test_members_who_replied_tuiding_are_skipped_and_on_record(world: World) -> None:
    notices.opt_out(world.registry, "o-a1")
    sender = world.broadcaster()
    plan = sender.plan(Audience("station", "ST001"))
    assert (plan.recipients, plan.opted_out) == (2, 1)
    job = sender.create(Audience("station", "ST001"), "送清凉", TEXT, "staff:boss")
    notices.opt_out(world.registry, "o-a2")  # after the notice was written, before it went out
    sender.drive(job)
    assert world.reached() == ["o-a3"]
    results = {r.status for r in broadcasts.results(world.registry, job, status=["skipped"])}
    assert results == {"skipped"} and sender.progress(job).skipped == 2
    notices.opt_in(world.registry, "o-a1")
    sender.drive(sender.create(Audience("station", "ST001"), "送清凉", TEXT, "staff:boss"))
    assert sorted(world.reached()[1:]) == ["o-a1", "o-a3"]


def test_a_plan_counts_by_station_and_occupation_and_writes_nothing(world: World) -> None:
    sender = world.broadcaster()
    plan = sender.plan(Audience("all"))
    assert (plan.recipients, plan.opted_out, plan.label) == (4, 0, "全体会员")
    assert plan.by_station == [("ST001 青溪驿站", 3), ("ST002 城东驿站", 1)]
    assert plan.by_occupation == [("快递员", 3), ("网约送餐员", 1)]
    assert plan.sample == ["张**", "张**", "张**", "李*"]
    assert table_sizes(world.registry) == (0, 0) and world.fake.calls == []


def test_unknown_audiences_and_empty_audiences_are_refused(world: World) -> None:
    sender = world.broadcaster()
    with pytest.raises(NoticeProblem, match="没有驿站 ST999.*ST001 青溪驿站"):
        sender.plan(Audience("station", "ST999"))
    with pytest.raises(NoticeProblem, match="没有“厨师”这个职业"):
        sender.create(Audience("occupation", "厨师"), "通知", TEXT, "staff:boss")
    with pytest.raises(NoticeProblem, match="没有可以接收"):
        sender.create(Audience("occupation", "保安员"), "通知", TEXT, "staff:boss")  # known, nobody approved
    with pytest.raises(NoticeProblem, match="不能为空"):
        sender.create(Audience("all"), "通知", "  \n ", "staff:boss")
    assert table_sizes(world.registry) == (0, 0)


def test_the_send_rate_holds_and_a_round_gives_way_when_its_time_is_up(world: World) -> None:
    sender = world.broadcaster(send_rate=2.0)
    sender.round_seconds = 1.0
    job = sender.create(Audience("all"), "金秋助学", TEXT, "staff:boss")
    assert sender.send_round()  # one second at two a second: two sent, more to do
    assert len(world.fake.templates) == 2 and broadcasts.get(world.registry, job).status == "sending"
    assert sender.send_round() is False and len(world.fake.templates) == 4
    assert world.time.slept == [0.5, 0.5, 0.5]  # sent at 0, 0.5, (round's end at 1.0) 1.0 and 1.5 s
    assert broadcasts.get(world.registry, job).status == "done"


def test_the_ticker_sends_member_notices_and_the_generic_task_leaves_them(world: World, tmp_path) -> None:
    config = replace(Config(), database=DatabaseConfig(url=world.url),
                     notify=NotifyConfig(notice_template="TPL-NOTICE"))
    sender = world.broadcaster()
    services = Services(config=config, store=world.store, registry=world.registry, wechat=sender.outbox.wechat)
    services.broadcaster = sender  # the fake clock's sender
    job = sender.create(Audience("station", "ST002"), "驿站开业", TEXT, "staff:boss")
    tasks = dict(services.ticker.tasks)
    tasks["deliver due notices"]()
    assert world.fake.templates == []
    assert services.ticker.tick() and world.reached() == ["o-b1"]
    assert broadcasts.get(world.registry, job).status == "done"


def test_a_foreground_sender_hears_of_progress_about_once_a_second(world: World) -> None:
    sender = world.broadcaster(send_rate=2.0)
    reports: list[int] = []
    job = sender.create(Audience("all"), "金秋助学", TEXT, "cli:wang")
    assert sender.drive(job, on_progress=lambda p: reports.append(p.done)) == "done"
    assert reports == [3]  # sent at 0, 0.5, 1.0 (reported: a second has passed) and 1.5 s


def test_erasing_a_member_forgets_the_notices_sent_to_them_and_their_optout(world: World) -> None:
    sender = world.broadcaster()
    sender.drive(sender.create(Audience("station", "ST001"), "送清凉", TEXT, "staff:boss"))
    notices.opt_out(world.registry, "o-a1")
    number = world.registry.find_by_openid("o-a1")["number"]
    staff.erase(world.registry, number, "staff:boss", "本人申请删除")
    assert notices.query(world.registry, openid="o-a1") == []
    assert notices.opted_out(world.registry, ["o-a1"]) == set()
    kept = [n for n in notices.query(world.registry, kind=KIND) if n.openid.startswith("erased:")]
    assert len(kept) == 1 and TEXT not in kept[0].text  # the record stays, without the person or the text
