"""Member notices in the registry: the ``broadcasts`` row of each notice, the approved members it
goes to, and what became of every recipient's copy (rows of the outbox, ``notices``).

A recipient's copy is an ordinary outbox row (kind ``member_notice``, key
``broadcast:<id>:<member number>``); this module only reads those rows back per notice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bot.registry.models import Broadcast, Member, Notice, Station
from bot.registry.repository import Registry, RegistryError
from bot.signup.privacy import mask_name

ACTIVE = ("queued", "sending", "paused")


class BroadcastNotFound(RegistryError, LookupError):
    """No member notice has that id."""


@dataclass(frozen=True)
class BroadcastRow:
    id: int
    title: str
    text: str
    audience: str
    """JSON, see :class:`bot.notify.member_notice.Audience`."""
    created_by: str
    status: str
    total: int
    sent: int
    failed: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class Recipient:
    """An approved member a notice may go to (the name in full: mask it before showing it)."""

    number: str
    openid: str
    name: str
    station_code: str
    occupation: str


@dataclass(frozen=True)
class RecipientResult:
    """One recipient's copy of a notice as staff see it: the name masked."""

    notice_id: int
    number: str
    name_masked: str
    station_code: str
    status: str
    channel: str
    error: str
    attempts: int
    sent_at: dt.datetime | None
    updated_at: dt.datetime


def _row(b: Broadcast) -> BroadcastRow:
    return BroadcastRow(b.id, b.title, b.text, b.audience, b.created_by, b.status, b.total, b.sent, b.failed,
                        b.created_at, b.started_at, b.finished_at)


# -- the audience ----------------------------------------------------------------------------------


def approved_members(registry: Registry, station: str | None = None, occupation: str | None = None,
                     batch: int = 500) -> Iterator[Recipient]:
    """Approved members (of one station, or one occupation), oldest first, streamed in batches."""
    where = [Member.status == "approved", Member.number.is_not(None)]
    if station is not None:
        where.append(Member.station_code == station)
    if occupation is not None:
        where.append(Member.occupation == occupation)
    last_id = 0
    while True:
        with registry.session() as s:
            rows = s.execute(sa.select(Member.id, Member.number, Member.openid, Member.name, Member.station_code,
                                       Member.occupation)
                             .where(Member.id > last_id, *where).order_by(Member.id).limit(batch)).all()
        for row in rows:
            yield Recipient(row.number, row.openid, row.name, row.station_code or "", row.occupation or "")
        if len(rows) < batch:
            return
        last_id = rows[-1].id


def approved_counts(registry: Registry) -> tuple[dict[str, int], dict[str, int], int]:
    """Approved members by station code, by occupation, and in all (for choosing an audience)."""
    approved = Member.status == "approved"
    with registry.session() as s:
        by_station = dict(s.execute(sa.select(Member.station_code, sa.func.count()).where(approved)
                                    .group_by(Member.station_code)).all())
        by_occupation = dict(s.execute(sa.select(Member.occupation, sa.func.count()).where(approved)
                                       .group_by(Member.occupation)).all())
    total = sum(by_station.values())
    return ({k: v for k, v in by_station.items() if k}, {k: v for k, v in by_occupation.items() if k}, total)


def occupations_in_use(registry: Registry) -> set[str]:
    with registry.session() as s:
        return {o for o in s.scalars(sa.select(Member.occupation).distinct()) if o}


def station_names(registry: Registry) -> dict[str, str]:
    with registry.session() as s:
        return dict(s.execute(sa.select(Station.code, Station.name)).all())


# -- the notices -----------------------------------------------------------------------------------


def create(registry: Registry, title: str, text: str, audience: str, created_by: str) -> int:
    """A new notice, queued, with no recipients yet (the sender adds them)."""
    with registry.session(write=True) as s:
        row = Broadcast(title=title, text=text, audience=audience, created_by=created_by[:64], status="queued",
                        total=0, sent=0, failed=0, created_at=registry.now())
        s.add(row)
        s.flush()
        return row.id


def get(registry: Registry, broadcast_id: int) -> BroadcastRow:
    with registry.session() as s:
        row = s.get(Broadcast, broadcast_id)
        if row is None:
            raise BroadcastNotFound(f"没有编号为 {broadcast_id} 的通知")
        return _row(row)


def recent(registry: Registry, limit: int = 100) -> list[BroadcastRow]:
    with registry.session() as s:
        return [_row(b) for b in s.scalars(sa.select(Broadcast).order_by(Broadcast.id.desc()).limit(limit))]


def active(registry: Registry) -> list[BroadcastRow]:
    """Notices still being sent (or waiting for the next day's quota), oldest first."""
    with registry.session() as s:
        rows = s.scalars(sa.select(Broadcast).where(Broadcast.status.in_(ACTIVE)).order_by(Broadcast.id))
        return [_row(b) for b in rows]


def update(registry: Registry, broadcast_id: int, **values: Any) -> BroadcastRow:
    """Set columns of a notice (status, total, sent, failed, started_at, finished_at)."""
    with registry.session(write=True) as s:
        row = s.get_one(Broadcast, broadcast_id)
        for name, value in values.items():
            setattr(row, name, value)
        return _row(row)


def counts(registry: Registry, broadcast_id: int) -> dict[str, int]:
    """Its recipients' copies by status."""
    with registry.session() as s:
        return dict(s.execute(sa.select(Notice.status, sa.func.count()).where(Notice.broadcast_id == broadcast_id)
                              .group_by(Notice.status)).all())


def last_activity(registry: Registry, broadcast_id: int) -> dt.datetime | None:
    """When a copy of this notice last changed (sent, refused, held back)."""
    with registry.session() as s:
        return s.scalar(sa.select(sa.func.max(Notice.updated_at)).where(Notice.broadcast_id == broadcast_id))


def openids(registry: Registry, notice_ids: Iterable[int]) -> dict[int, str]:
    wanted = list(notice_ids)
    if not wanted:
        return {}
    with registry.session() as s:
        return dict(s.execute(sa.select(Notice.id, Notice.openid).where(Notice.id.in_(wanted))).all())


def template_sends_since(registry: Registry, since: dt.datetime) -> int:
    """Template messages sent since ``since`` (every kind: they share the account's daily quota)."""
    with registry.session() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(Notice)
                            .where(Notice.channel == "template", Notice.sent_at >= since)) or 0)


def results(registry: Registry, broadcast_id: int, status: Iterable[str] | None = None, offset: int = 0,
            limit: int = 200) -> list[RecipientResult]:
    """Each recipient's copy (optionally of some statuses), in the order they were written."""
    query = (sa.select(Notice, Member.name, Member.station_code)
             .outerjoin(Member, Member.openid == Notice.openid)
             .where(Notice.broadcast_id == broadcast_id).order_by(Notice.id).offset(offset).limit(limit))
    if status is not None:
        query = query.where(Notice.status.in_(list(status)))
    with registry.session() as s:
        return [RecipientResult(n.id, n.key.rsplit(":", 1)[-1], mask_name(name) if name else "（已删除）",
                                station or "", n.status, n.channel, n.error, n.attempts, n.sent_at, n.updated_at)
                for n, name, station in s.execute(query)]
