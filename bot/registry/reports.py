"""Signup figures for the console's statistics: counts per local day or week, by one dimension."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import sqlalchemy as sa

from bot.registry.models import Member, Station
from bot.registry.repository import Registry

DIMENSIONS = ("status", "station", "occupation")


def signups(registry: Registry, days: int = 30, today: dt.date | None = None) -> list[dict[str, Any]]:
    """One row per application made in the last ``days`` local days: day, status, station, occupation."""
    today = today or registry.now().astimezone(registry.tz).date()
    start = today - dt.timedelta(days=days - 1)
    with registry.session() as s:
        rows = s.execute(
            sa.select(Member.created_at, Member.status, Member.station_code, Station.name, Member.occupation)
            .outerjoin(Station, Station.code == Member.station_code)
            .where(Member.created_at >= registry._as_instant(start))
        ).all()
    return [{"day": at.astimezone(registry.tz).date(), "status": status,
             "station": name or code or "", "occupation": occupation or ""}
            for at, status, code, name, occupation in rows]


def counts(rows: list[dict[str, Any]], dimension: str, period: str, first: dt.date, last: dt.date
           ) -> tuple[list[dt.date], list[str], dict[tuple[dt.date, str], int]]:
    """(every period from ``first`` to ``last``, values, count per (period, value)); a week is
    named by its Monday."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}")

    def start(day: dt.date) -> dt.date:
        return day if period == "day" else day - dt.timedelta(days=day.weekday())

    table: Counter[tuple[dt.date, str]] = Counter()
    for row in rows:
        table[(start(row["day"]), row[dimension])] += 1
    step = dt.timedelta(days=1 if period == "day" else 7)
    periods, current = [], start(first)
    while current <= last:
        periods.append(current)
        current += step
    values = sorted({v for _, v in table})
    return periods, values, dict(table)


def per_station(registry: Registry) -> dict[str, Counter[str]]:
    """Applications per station code, by status (all time)."""
    out: dict[str, Counter[str]] = {}
    with registry.session() as s:
        for code, status, n in s.execute(sa.select(Member.station_code, Member.status, sa.func.count())
                                         .group_by(Member.station_code, Member.status)):
            out.setdefault(code or "", Counter())[status] = int(n)
    return out
