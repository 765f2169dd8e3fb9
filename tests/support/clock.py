"""The injected clock: tests move time by hand, never by sleeping."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Generic, TypeVar

NOW = 1_790_000_000.0
"""A fixed moment (2026-09-21 in China), as epoch seconds."""

T = TypeVar("T", float, datetime)


class Clock(Generic[T]):
    """Returns ``now`` when called: epoch seconds (the webhook, the simulator) or an aware
    datetime (the registry), whichever it was started with."""

    def __init__(self, now: T) -> None:
        self.now: T = now

    def __call__(self) -> T:
        return self.now

    def advance(self, seconds: float = 0.0, **delta: float) -> T:
        """Move forward by ``seconds`` plus any :class:`datetime.timedelta` keywords (days=2)."""
        step = timedelta(seconds=seconds, **delta)
        self.now = self.now + (step if isinstance(self.now, datetime) else step.total_seconds())
        return self.now


class TickingClock(Clock[float]):
    """WeChat's and the bot's clock for a scripted chat: each :meth:`tick` (one per message) is one
    second after the previous, from ``start``, so events never collide; :meth:`wait` adds a pause
    that the next tick includes."""

    def __init__(self, start: float = NOW) -> None:
        super().__init__(start)
        self.start = start
        self._ticks = itertools.count()
        self._waited = 0.0

    def tick(self) -> None:
        self.now = self.start + self._waited + next(self._ticks)

    def wait(self, seconds: float) -> None:
        """The worker waits a while before the next message."""
        self._waited += seconds
