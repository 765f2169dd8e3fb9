"""The injected clock: tests move time by hand, never by sleeping."""

from __future__ import annotations

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
