"""Office hours for 人工 requests: is someone on duty now, and if not, when does duty next start.

Pure (the clock is an argument), so the 人工 handler can tell a worker when to expect an answer and
the staff alert can say whether the request came in off duty. The schedule is ``[notify] duty_days``
(ISO weekdays, "1-5,7") and ``duty_hours`` ("09:00-12:00", a lunch break between spans) in the
registry's local time zone. A span crossing midnight is not supported (the config refuses one): a
union office's hours do not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

WEEKDAYS = "一二三四五六日"
"""周一 … 周日, by ISO weekday - 1."""


@dataclass(frozen=True)
class DutyStatus:
    on_duty: bool
    next_start: str = ""
    """Off duty: when duty starts again, as :func:`when` words it ("" when the schedule has none)."""


@dataclass(frozen=True)
class DutySchedule:
    days: frozenset[int]
    """ISO weekdays (1 = Monday) with duty."""
    hours: tuple[tuple[dt.time, dt.time], ...]
    """Spans of each duty day, start included, end excluded, in order."""
    timezone: str = "Asia/Shanghai"

    @classmethod
    def parse(cls, days: str, hours: Sequence[str], timezone: str) -> DutySchedule:
        """From the config's strings (validated there): "1-5,7" and ("09:00-12:00", …)."""
        weekdays: set[int] = set()
        for part in days.replace(" ", "").split(","):
            first, _, last = part.partition("-")
            weekdays.update(range(int(first), int(last or first) + 1))
        spans = sorted((dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip()))
                       for start, _, end in (span.partition("-") for span in hours))
        return cls(frozenset(weekdays), tuple(spans), timezone)

    @property
    def tz(self) -> dt.tzinfo:
        return ZoneInfo(self.timezone)

    def local(self, at: float) -> dt.datetime:
        """Epoch seconds as the union's local time."""
        return dt.datetime.fromtimestamp(at, self.tz)

    def on_duty(self, at: float) -> bool:
        now = self.local(at)
        return now.isoweekday() in self.days and any(start <= now.time() < end for start, end in self.hours)

    def next_start(self, at: float) -> dt.datetime | None:
        """When duty next starts after ``at`` (local time); None when the schedule has no duty at all."""
        now = self.local(at)
        for ahead in range(8):
            day = now.date() + dt.timedelta(days=ahead)
            if day.isoweekday() not in self.days:
                continue
            for start, _end in self.hours:
                begins = dt.datetime.combine(day, start, tzinfo=self.tz)
                if begins > now:
                    return begins
        return None

    def status(self, at: float) -> DutyStatus:
        """On duty at ``at``, or when a person will be there again."""
        if self.on_duty(at):
            return DutyStatus(True)
        start = self.next_start(at)
        return DutyStatus(False, when(start, self.local(at)) if start is not None else "")


def when(start: dt.datetime, now: dt.datetime) -> str:
    """A start time as a worker reads it, from ``now`` (both local): 今天 14:00, 明天 9:00, 周一 9:00."""
    clock = f"{start.hour}:{start.minute:02d}"
    days = (start.date() - now.date()).days
    if days == 0:
        return f"今天 {clock}"
    if days == 1:
        return f"明天 {clock}"
    if days < 7:
        return f"周{WEEKDAYS[start.isoweekday() - 1]} {clock}"
    return f"{start.month}月{start.day}日 {clock}"


