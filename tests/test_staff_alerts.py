"""Staff alerts against the fake WeChat API, on SQLite and PostgreSQL, on the injected clock: new
applications at once then in digests, nothing lost or doubled across a crash, 人工 requests on and
off duty, and the daily summary once a day."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest
from fake_wechat_api import FakeWechatApi
from support.applications import ID_1, ID_2, ID_3, application
from support.clock import Clock

from bot.config import NotifyConfig, WechatConfig
from bot.core.duty import DutySchedule
from bot.notify.outbox import Outbox
from bot.notify.staff import StaffAlerts
from bot.notify.ticker import Ticker
from bot.registry import notices, staff
from bot.registry.repository import Registry
from bot.signup.privacy import IdCipher, generate_key
from bot.storage import stats
from bot.storage.store import Store
from bot.wechat.api import WechatApi

MONDAY_10 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
PASSWORD = "correct horse 1"
NOTIFY = NotifyConfig(staff_template="TPL-STAFF", console_url="https://gh.example.cn", staff_openids=("o-config",),
                      staff_digest_minutes=10, review_days=3, summary_time="09:00")


@dataclass
class World:
    registry: Registry
    store: Store
    fake: FakeWechatApi
    clock: Clock[dt.datetime]
    api: WechatApi

    def alerts(self, notify: NotifyConfig = NOTIFY, outbox: Outbox | None = None) -> StaffAlerts:
        """A fresh process's staff alerts (nothing kept in memory between them)."""
        duty = DutySchedule.parse(notify.duty_days, notify.duty_hours, "Asia/Shanghai")
        return StaffAlerts(self.registry, self.store, outbox or Outbox(self.registry, self.api), notify, duty)

    def sent(self) -> list[tuple[str, str]]:
        """(recipient, title) of every template message so far."""
        return [(t["touser"], t["data"]["first"]["value"]) for t in self.fake.templates]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    clock = Clock(MONDAY_10)
    registry = Registry.from_url(database_url, IdCipher(generate_key()), clock=clock)
    registry.upgrade()
    staff.create_user(registry, "rita", "reviewer", PASSWORD)
    staff.create_user(registry, "eddie", "editor", PASSWORD)
    staff.create_user(registry, "olga", "reviewer", PASSWORD)
    staff.bind_wechat(registry, "rita", "o-rita")
    staff.bind_wechat(registry, "eddie", "o-eddie")
    staff.bind_wechat(registry, "olga", "o-olga")
    staff.disable_user(registry, "olga")
    store = Store.from_url(f"memory://{uuid.uuid4().hex}")
    with FakeWechatApi() as fake:
        config = WechatConfig(app_id=fake.app_id, app_secret=fake.app_secret, api_base=fake.base_url, api_timeout=2.0)
        yield World(registry, store, fake, clock, WechatApi(config, store))
    registry.close()


def test_alerts_go_to_bound_active_admins_and_reviewers_and_the_configured_openids(world: World) -> None:
    assert world.alerts().recipients() == ["o-config", "o-rita"]


def test_a_new_application_alerts_the_reviewers_at_once_by_template(world: World) -> None:
    member = world.registry.register(application()).member
    assert world.alerts().new_applications() == 2
    assert world.sent() == [("o-config", "新的入会申请待审核"), ("o-rita", "新的入会申请待审核")]
    body = world.fake.templates[0]
    assert body["template_id"] == "TPL-STAFF" and body["url"] == "https://gh.example.cn/admin/review"
    assert body["data"]["keyword1"]["value"] == "张**，快递员，ST001"
    assert body["data"]["keyword2"]["value"] == "12月7日 10:00"
    raw = json.dumps(world.fake.templates, ensure_ascii=False)
    assert "13812345678" not in raw and ID_1 not in raw and "张三丰" not in raw
    assert world.alerts().new_applications() == 0 and len(world.fake.templates) == 2  # told once
    assert [e["action"] for e in world.registry.events(member["number"])][-1] == "staff_alerted"


def test_without_a_template_the_alert_is_a_customer_service_message(world: World) -> None:
    world.registry.register(application())
    world.alerts(replace(NOTIFY, staff_template="", console_url="")).new_applications()
    texts = {m["touser"]: m["text"]["content"] for m in world.fake.messages}
    assert set(texts) == {"o-config", "o-rita"} and world.fake.templates == []
    assert texts["o-rita"].splitlines() == ["【新的入会申请待审核】", "张**，快递员，ST001", "时间：12月7日 10:00",
                                            "目前共 1 份待审核，请登录工作台审核。"]


def test_applications_within_the_digest_window_are_batched_into_one_message(world: World) -> None:
    world.registry.register(application())
    alerts = world.alerts()
    alerts.new_applications()
    world.clock.advance(minutes=2)
    world.registry.register(application(openid="o-2", id_number=ID_2, name="王五"))
    assert alerts.new_applications() == 0  # within 10 minutes of the first alert: held
    world.clock.advance(minutes=5)
    world.registry.register(application(openid="o-3", id_number=ID_3, name="李四"))
    assert alerts.new_applications() == 0
    world.clock.advance(minutes=3)  # 10 minutes after the alert: the digest
    assert alerts.new_applications() == 2
    assert world.sent()[2:] == [("o-config", "又有 2 份新的入会申请待审核"), ("o-rita", "又有 2 份新的入会申请待审核")]
    digest = world.fake.templates[-1]["data"]
    assert digest["keyword1"]["value"] == "王*，快递员，ST001；李*，快递员，ST001"
    assert "目前共 3 份待审核" in digest["remark"]["value"]
    world.clock.advance(minutes=30)
    assert alerts.new_applications() == 0 and len(world.fake.templates) == 4


def test_after_a_quiet_spell_the_next_application_alerts_at_once(world: World) -> None:
    world.registry.register(application())
    world.alerts().new_applications()
    world.clock.advance(minutes=45)
    world.registry.register(application(openid="o-2", id_number=ID_2, name="王五"))
    assert world.alerts().new_applications() == 2
    assert world.sent()[-1] == ("o-rita", "新的入会申请待审核")


def test_a_worker_dying_right_after_a_signup_loses_no_alert(world: World) -> None:
    world.registry.register(application())  # committed; the process died before any alert
    fresh = world.alerts()
    ticker = Ticker(world.store, [("deliver", fresh.outbox.deliver_due), ("new", fresh.new_applications)])
    assert ticker.tick() and ticker.tick()
    assert world.sent() == [("o-config", "新的入会申请待审核"), ("o-rita", "新的入会申请待审核")]


def test_a_crash_between_writing_the_alert_and_sending_it_sends_it_once(world: World) -> None:
    class Killed(Outbox):
        def deliver(self, notice_id: int) -> None:
            raise RuntimeError("worker killed")

    world.registry.register(application())
    with pytest.raises(RuntimeError):
        world.alerts(outbox=Killed(world.registry, world.api)).new_applications()
    assert world.fake.templates == []
    world.clock.advance(seconds=30)
    fresh = world.alerts()
    assert fresh.new_applications() == 0  # already written: not written again
    assert fresh.outbox.deliver_due() == 2 and fresh.outbox.deliver_due() == 0
    assert len(world.fake.templates) == 2


def test_an_application_decided_before_the_alert_is_not_told_of(world: World) -> None:
    member = world.registry.register(application()).member
    world.registry.approve(member["number"], "staff:rita")
    assert world.alerts().new_applications() == 0 and world.fake.templates == []


def test_a_resubmitted_application_is_told_of_again(world: World) -> None:
    member = world.registry.register(application()).member
    world.alerts().new_applications()
    world.registry.reject(member["number"], "staff:rita", "单位不符")
    world.clock.advance(hours=2)
    world.registry.register(application(employer="圆通速递"))
    assert world.alerts().new_applications() == 2 and world.sent()[-1] == ("o-rita", "新的入会申请待审核")


def test_with_nobody_to_tell_applications_wait_for_the_first_bound_account(world: World) -> None:
    staff.unbind_wechat(world.registry, "rita", "staff:rita")
    world.registry.register(application())
    alerts = world.alerts(replace(NOTIFY, staff_openids=()))
    assert alerts.new_applications() == 0 and notices.query(world.registry, kind="staff_applications") == []
    staff.bind_wechat(world.registry, "rita", "o-rita")
    assert alerts.new_applications() == 1 and world.sent() == [("o-rita", "新的入会申请待审核")]


# -- 人工 requests -------------------------------------------------------------------------------


def ask_for_a_person(world: World, user: str, question: str = "") -> None:
    at = world.clock.now.timestamp()
    if question:
        stats.remember_message(world.store, user, question, at - 60)
    stats.remember_message(world.store, user, "人工", at)
    stats.record_human_request(world.store, user, at)


def test_a_human_request_on_duty_alerts_the_staff_with_the_last_question_masked(world: World) -> None:
    member = world.registry.register(application(openid="o-worker")).member
    ask_for_a_person(world, "o-worker", "我的电话 13812345678 工资被拖欠了")
    assert world.alerts().human_requests() == 2
    data = world.fake.templates[0]["data"]
    assert data["first"]["value"] == "职工请求人工服务"
    assert data["keyword1"]["value"] == f"张**（{member['number']}）"
    assert "最近的问题：我的电话 138****5678 工资被拖欠了" in data["remark"]["value"]
    assert world.fake.templates[0]["url"] == "https://gh.example.cn/admin/human"
    assert world.alerts().human_requests() == 0  # told once


def test_a_human_request_off_duty_is_marked_so_and_says_what_the_worker_was_told(world: World) -> None:
    world.clock.now = dt.datetime(2026, 12, 11, 12, 0, tzinfo=dt.UTC)  # Friday 20:00 in Shanghai
    ask_for_a_person(world, "oAnonymousWorker1234")
    assert world.alerts().human_requests() == 2
    data = world.fake.templates[0]["data"]
    assert data["first"]["value"] == "职工请求人工服务（下班时间收到）"
    assert data["keyword1"]["value"] == "微信用户 oAno…1234"
    assert "没有留下问题" in data["remark"]["value"] and "周一 9:00 后回复" in data["remark"]["value"]


def test_asking_again_soon_gives_no_second_alert_and_a_new_account_gets_no_backlog(world: World) -> None:
    ask_for_a_person(world, "o-worker")
    alerts = world.alerts()
    alerts.human_requests()
    world.clock.advance(minutes=5)
    ask_for_a_person(world, "o-worker")
    staff.create_user(world.registry, "ruth", "reviewer", PASSWORD)
    staff.bind_wechat(world.registry, "ruth", "o-ruth")
    assert alerts.human_requests() == 0 and len(world.fake.templates) == 2
    world.clock.advance(hours=1)
    ask_for_a_person(world, "o-worker")
    assert alerts.human_requests() == 3


# -- the daily summary ---------------------------------------------------------------------------


def test_the_daily_summary_goes_once_a_day_while_applications_wait_too_long(world: World) -> None:
    world.clock.now = dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.UTC)  # Thursday 9:00
    world.registry.register(application())
    world.registry.register(application(openid="o-2", id_number=ID_2, name="王五"))
    world.clock.now = dt.datetime(2026, 12, 6, 0, 59, tzinfo=dt.UTC)  # Sunday 8:59
    world.registry.register(application(openid="o-3", id_number=ID_3, name="李四"))
    alerts = world.alerts()
    assert alerts.daily_summary() == 0  # before summary_time
    world.clock.advance(minutes=1)
    assert alerts.daily_summary() == 0  # three days exactly: not longer than promised yet
    world.clock.advance(hours=3)  # Sunday 12:00: now two have
    assert alerts.daily_summary() == 2
    data = world.fake.templates[0]["data"]
    assert (data["first"]["value"], data["keyword1"]["value"]) == ("入会申请审核提醒", "2 份申请已等待超过 3 天")
    assert "目前共 3 份待审核，最早一份 12月3日 提交，已等待 3 天" in data["remark"]["value"]
    keys = [n.key for n in notices.query(world.registry, kind="staff_summary")]
    assert keys == ["summary:2026-12-06:o-config", "summary:2026-12-06:o-rita"]
    world.clock.advance(hours=6)
    assert alerts.daily_summary() == 0  # once a day
    world.clock.now = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)  # Monday 9:00
    assert alerts.daily_summary() == 2
    data = world.fake.templates[-1]["data"]
    assert data["keyword1"]["value"] == "2 份申请已等待超过 3 天" and "已等待 4 天" in data["remark"]["value"]


def test_no_summary_when_nothing_waits_too_long(world: World) -> None:
    member = world.registry.register(application()).member
    world.clock.advance(days=5)
    world.registry.approve(member["number"], "staff:rita")
    assert world.alerts().daily_summary() == 0 and world.fake.templates == []
