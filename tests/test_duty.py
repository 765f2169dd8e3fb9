"""Office hours for 人工 requests (pure), and what the 人工 handler tells the worker on and off duty.

Spans crossing midnight are not covered: the config refuses them (a union office has none)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from support.messages import text

from bot.core.conversation import Context
from bot.core.duty import DutySchedule, when
from bot.core.router import route

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = DutySchedule.parse("1-5", ("09:00-12:00", "14:00-17:30"), "Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> float:
    """Epoch seconds of December ``day``, 2026 (the 7th is a Monday), local time."""
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI).timestamp()


def test_parse_reads_day_ranges_and_lists_and_sorts_the_spans() -> None:
    schedule = DutySchedule.parse("1-3, 5,7", ("14:00-17:30", "09:00-12:00"), "Asia/Shanghai")
    assert schedule.days == frozenset({1, 2, 3, 5, 7})
    assert schedule.hours == ((dt.time(9), dt.time(12)), (dt.time(14), dt.time(17, 30)))


@pytest.mark.parametrize(("moment", "on"), [
    (at(7, 9), True),            # Monday, opening minute
    (at(7, 8, 59), False),       # before opening
    (at(7, 11, 59), True),
    (at(7, 12), False),          # lunch break: a span's end is excluded
    (at(7, 13, 30), False),
    (at(7, 14), True),
    (at(11, 17, 29), True),      # Friday afternoon
    (at(11, 17, 30), False),
    (at(12, 10), False),         # Saturday
    (at(13, 10), False),         # Sunday
])
def test_on_duty_within_the_spans_of_the_duty_days_only(moment: float, on: bool) -> None:
    assert OFFICE.on_duty(moment) is on


@pytest.mark.parametrize(("moment", "next_start"), [
    (at(7, 8), "今天 9:00"),      # Monday morning, before opening
    (at(7, 12, 30), "今天 14:00"),  # lunch break
    (at(7, 18), "明天 9:00"),      # Monday evening
    (at(11, 18), "周一 9:00"),     # Friday evening: over the weekend
    (at(12, 10), "周一 9:00"),     # Saturday
    (at(13, 23, 59), "明天 9:00"),  # Sunday night
])
def test_off_duty_says_when_duty_starts_again(moment: float, next_start: str) -> None:
    status = OFFICE.status(moment)
    assert not status.on_duty and status.next_start == next_start


def test_on_duty_has_no_next_start_and_a_sunday_duty_day_counts() -> None:
    assert OFFICE.status(at(7, 10)).next_start == ""
    weekends_too = DutySchedule.parse("1-5,7", ("09:00-12:00",), "Asia/Shanghai")
    assert weekends_too.on_duty(at(13, 10)) and weekends_too.status(at(12, 10)).next_start == "明天 9:00"


def test_a_start_a_week_away_is_given_as_a_date() -> None:
    mondays = DutySchedule.parse("1", ("09:00-12:00",), "Asia/Shanghai")
    assert mondays.status(at(7, 13)).next_start == "12月14日 9:00"
    assert when(dt.datetime(2026, 12, 14, 9, tzinfo=SHANGHAI), dt.datetime(2026, 12, 7, 13, tzinfo=SHANGHAI)) \
        == "12月14日 9:00"


def test_no_duty_hours_means_never_on_duty_and_no_promise() -> None:
    nobody = DutySchedule.parse("1-5", (), "Asia/Shanghai")
    assert nobody.status(at(7, 10)).on_duty is False and nobody.status(at(7, 10)).next_start == ""


def test_the_local_time_zone_decides() -> None:
    utc = DutySchedule.parse("1-5", ("09:00-12:00",), "UTC")
    assert not utc.on_duty(at(7, 9)) and OFFICE.on_duty(at(7, 9))  # 09:00 in Shanghai is 01:00 UTC


# -- the 人工 handler ----------------------------------------------------------------------------


def human(moment: float, duty: DutySchedule | None = OFFICE):
    return route({}, text("人工"), Context(now=moment, duty=duty, hotline="12351"))


def test_on_duty_the_worker_is_told_a_person_answers_soon() -> None:
    outcome = human(at(7, 10))
    assert outcome.transfer_to_human and "值班的工作人员" in outcome.replies[0] and "尽快回复" in outcome.replies[0]
    assert [e.kind for e in outcome.effects] == ["count_question", "human_requested"]


def test_off_duty_the_worker_is_told_when_to_expect_an_answer() -> None:
    outcome = human(at(11, 19))  # Friday evening
    reply = outcome.replies[0]
    assert reply.startswith("现在是下班时间") and "周一 9:00 后回复您" in reply and "12351" in reply
    assert outcome.transfer_to_human and [e.kind for e in outcome.effects] == ["count_question", "human_requested"]


def test_without_a_schedule_the_office_hours_text_is_kept() -> None:
    outcome = route({}, text("人工"), Context(now=at(11, 19), office_hours="工作日 9:00-17:00"))
    assert "（工作日 9:00-17:00）" in outcome.replies[0] and "下班" not in outcome.replies[0]
