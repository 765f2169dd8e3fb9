"""The background ticker: one round at a time across processes, a failing task stops no other."""

from __future__ import annotations

from bot.notify.ticker import LOCK, Ticker
from bot.storage.store import Store


def test_a_round_runs_every_task_even_after_one_fails(store: Store) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    ticker = Ticker(store, [("first", lambda: ran.append("first")), ("broken", broken),
                            ("last", lambda: ran.append("last"))])
    assert ticker.tick() and ran == ["first", "last"]


def test_only_one_process_runs_a_round_at_a_time(store: Store) -> None:
    ran: list[str] = []
    other = Ticker(store, [("other", lambda: ran.append("other"))])
    with store.lock(LOCK, timeout=30, wait=0):  # a round running in another process
        assert not other.tick()
    assert ran == [] and other.tick() and ran == ["other"]
