"""Question counters and 人工 requests in the store (fakeredis and real Redis), and the handlers'
effects that feed them."""

from __future__ import annotations

import datetime as dt

from bot.core.conversation import Context, Incoming
from bot.core.effects import split_store_writes
from bot.signup.privacy import mask_numbers
from bot.storage import stats
from bot.storage.store import Store
from handlers import commands

CST = dt.timezone(dt.timedelta(hours=8))
NOON = dt.datetime(2026, 12, 6, 12, 0, tzinfo=CST).timestamp()


def test_questions_add_up_into_local_days(store: Store) -> None:
    stats.count_question(store, "answered", NOON)
    stats.count_question(store, "answered", NOON - 11 * 3600)  # 01:00 the same local day (UTC: the day before)
    stats.count_question(store, "not_found", NOON - 13 * 3600)  # 23:00 the day before
    days = stats.question_counts(store, 3, CST, dt.date(2026, 12, 6))
    assert list(days) == [dt.date(2026, 12, 4), dt.date(2026, 12, 5), dt.date(2026, 12, 6)]
    assert days[dt.date(2026, 12, 6)] == {"answered": 2}
    assert days[dt.date(2026, 12, 5)] == {"not_found": 1}


def test_human_requests_last_48_hours_with_masked_messages(store: Store) -> None:
    stats.remember_message(store, "o-a", "我的身份证 330522199003071220 手机 13812345678", NOON - 600)
    stats.record_human_request(store, "o-a", NOON - 300)
    stats.record_human_request(store, "o-old", NOON - 49 * 3600)
    rows = stats.human_requests(store, NOON)
    assert [r["user"] for r in rows] == ["o-a"]
    text = rows[0]["messages"][0]["text"]
    assert "13812345678" not in text and "138****5678" in text and "330522********1220" in text


def test_mask_numbers_leaves_short_numbers() -> None:
    assert mask_numbers("会费 12 元，电话 138 1234 5678") == "会费 12 元，电话 138****5678"


def test_asking_for_a_person_is_counted_and_listed(store: Store) -> None:
    message = Incoming(user="o-b", kind="text", text="人工")
    outcome = commands.human({}, message, Context(now=NOON))
    assert outcome.transfer_to_human
    rest, write = split_store_writes(outcome)
    assert rest.effects == ()  # both are plain store writes, carried with the turn
    write(store)
    assert [r["user"] for r in stats.human_requests(store, NOON)] == ["o-b"]
    assert stats.question_counts(store, 1, CST, dt.date(2026, 12, 6))[dt.date(2026, 12, 6)] == {"human": 1}
