"""Store.last_asked: when each unanswered question was last asked, for the 未解答问题 page."""

from __future__ import annotations

from dataclasses import replace

from bot.storage.store import Store


def test_last_asked_is_the_latest_time_and_unknown_questions_are_left_out(store: Store) -> None:
    now = [1_000_000.0]
    timed = replace(store, clock=lambda: now[0])
    timed.record_unanswered("高温补贴怎么申请", "none")
    now[0] += 3600
    timed.record_unanswered("高温补贴怎么申请", "suggest")
    assert timed.last_asked(["高温补贴怎么申请", "从没问过"]) == {"高温补贴怎么申请": 1_003_600.0}
