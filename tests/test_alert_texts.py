"""Staff alerts without I/O: when new applications are told of, and what the alerts say."""

from __future__ import annotations

import datetime as dt

from bot.core.duty import DutyStatus
from bot.notify.alerts import Alert, applications_alert, batch_key, human_alert, last_question, next_alert
from bot.registry.alerts import Application

T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=10)
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def app(n: int, minutes: float = 0) -> Application:
    return Application(n, f"GH2026{n:06d}", "张*", "快递员", "青溪驿站", T0 + dt.timedelta(minutes=minutes), 100 + n)


def test_the_first_application_after_a_quiet_spell_is_told_of_at_once() -> None:
    assert next_alert([], None, T0, WINDOW) is None
    assert next_alert([T0], None, T0, WINDOW) == "new"
    assert next_alert([T0 + dt.timedelta(minutes=30)], T0, T0 + dt.timedelta(minutes=30), WINDOW) == "new"


def test_applications_after_an_alert_wait_for_the_window_then_go_as_a_digest() -> None:
    later = [T0 + dt.timedelta(minutes=2), T0 + dt.timedelta(minutes=7)]
    assert next_alert(later, T0, T0 + dt.timedelta(minutes=9, seconds=59), WINDOW) is None
    assert next_alert(later, T0, T0 + dt.timedelta(minutes=10), WINDOW) == "digest"
    # one submitted before the alert but committed after it was read: still told of, in the digest
    assert next_alert([T0 - dt.timedelta(seconds=1)], T0, T0 + WINDOW, WINDOW) == "digest"


def test_the_batch_key_depends_on_the_applications_only() -> None:
    assert batch_key([app(1), app(2)]) == batch_key([app(2), app(1)]) != batch_key([app(1)])


def test_an_alert_about_several_names_three_and_counts_the_rest() -> None:
    alert = applications_alert("digest", [app(n, n) for n in range(1, 6)], 9, SHANGHAI, "https://gh.example.cn/")
    assert alert.title == "又有 5 份新的入会申请待审核" and alert.subject.endswith("青溪驿站 等")
    assert alert.subject.count("张*") == 3 and alert.time == "12月7日 10:05"
    assert alert.url == "https://gh.example.cn/admin/review" and alert.detail == "目前共 9 份待审核，请登录工作台审核："
    assert applications_alert("new", [app(1), app(2)], 2, SHANGHAI, "").title == "有 2 份新的入会申请待审核"


def test_template_fields_follow_the_configured_pairs() -> None:
    alert = Alert("staff_human", "标题", "对象", "12月7日 10:00", "详情" * 200)
    fields = alert.fields(["first={title}", "keyword1={subject}（{time}）", "remark={detail}", "keyword9={unknown}"])
    assert fields["first"] == "标题" and fields["keyword1"] == "对象（12月7日 10:00）"
    assert len(fields["remark"]) == 200 and fields["keyword9"] == "{unknown}"
    drafts = alert.drafts("human:o-w:1", ["o-a", "o-b"], "", ["first={title}"])
    assert [d.key for d in drafts] == ["human:o-w:1:o-a", "human:o-w:1:o-b"] and drafts[0].fields == {}


def test_the_last_question_is_the_message_before_the_request_masked() -> None:
    messages = [{"at": 1.0, "text": "身份证 330522199001011234 丢了"}, {"at": 5.0, "text": "人工"}]
    assert last_question(messages, 5.0) == "身份证 330522********1234 丢了"
    assert last_question([{"at": 5.0, "text": "人工"}], 5.0) == ""


def test_a_human_alert_off_duty_says_so() -> None:
    off = human_alert("微信用户 oAb…1234", "", T0, DutyStatus(False, "周一 9:00"), "")
    assert off.title == "职工请求人工服务（下班时间收到）" and "周一 9:00 后回复" in off.detail and off.url == ""
    on = human_alert("张*（GH2026000001）", "工资", T0, DutyStatus(True), "https://gh.example.cn")
    assert on.title == "职工请求人工服务" and on.detail.startswith("最近的问题：工资")
    assert on.url == "https://gh.example.cn/admin/human" and on.text.splitlines()[0] == "【职工请求人工服务】"
