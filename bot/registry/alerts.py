"""What staff alerts are made of, read from the registry: applications no reviewer has been told of
yet, when the last alert went out, and the backlog of applications waiting to be reviewed.

An application is *alerted* once a ``staff_alerted`` entry follows its latest submission in its
audit trail. That entry is written in the same transaction as the alert's notices
(:func:`record_alert`), so an application is told of exactly once: a process that dies before the
commit leaves nothing behind and the next round tells of it; one that dies after it leaves notices
that the outbox sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.registry import notices
from bot.registry.models import Member, Notice, SignupEvent, Station
from bot.registry.notices import Draft
from bot.registry.repository import Registry
from bot.signup.privacy import mask_name

SUBMISSIONS = ("submitted", "resubmitted")
ALERTED = "staff_alerted"


@dataclass(frozen=True)
class Application:
    """A pending application as an alert may show it: no phone or ID number, the name masked."""

    member_id: int
    number: str
    name_masked: str
    occupation: str
    station: str
    """The station's name (its code when it is not imported yet, "" when none was scanned)."""
    submitted_at: dt.datetime
    submission_id: int
    """The audit-trail entry of its latest submission."""


@dataclass(frozen=True)
class Backlog:
    pending: int
    overdue: int
    """Pending applications submitted before the cutoff asked about."""
    oldest: dt.datetime | None
    """When the longest-waiting pending application was submitted."""


def _latest_submissions(since: dt.datetime | None = None) -> sa.Subquery:
    """Per pending application (changed since ``since``): its latest submission entry and its
    latest alert entry."""
    submission = sa.case((SignupEvent.action.in_(SUBMISSIONS), SignupEvent.id))
    alert = sa.case((SignupEvent.action == ALERTED, SignupEvent.id))
    query = (sa.select(SignupEvent.member_id, sa.func.max(submission).label("submission_id"),
                       sa.func.max(alert).label("alert_id"))
             .join(Member, Member.id == SignupEvent.member_id)
             .where(Member.status == "pending"))
    if since is not None:  # a submission sets updated_at: older rows cannot have one since
        query = query.where(Member.updated_at >= since)
    return query.group_by(SignupEvent.member_id).subquery()


def unalerted(registry: Registry, since: dt.datetime, limit: int = 1000) -> list[Application]:
    """Pending applications submitted since ``since`` that no alert told of yet, oldest first."""
    latest = _latest_submissions(since)
    query = (sa.select(Member, Station.name, SignupEvent)
             .join(latest, latest.c.member_id == Member.id)
             .join(SignupEvent, SignupEvent.id == latest.c.submission_id)
             .outerjoin(Station, Station.code == Member.station_code)
             .where(SignupEvent.at >= since,
                    sa.or_(latest.c.alert_id.is_(None), latest.c.alert_id < latest.c.submission_id))
             .order_by(SignupEvent.id).limit(limit))
    with registry.session() as s:
        return [Application(m.id, m.number or "", mask_name(m.name), m.occupation or "",
                            station or m.station_code or "", e.at, e.id)
                for m, station, e in s.execute(query)]


def record_alert(registry: Registry, drafts: Sequence[Draft], told_of: Sequence[Application], detail: str) -> bool:
    """Write an alert's notices and mark the applications it tells of, in one transaction.

    False when one of the notices' keys was written before (another process sent this alert):
    nothing is then written.
    """
    now = registry.now()
    try:
        with registry.session(write=True) as s:
            notices.add(s, drafts, now)
            s.add_all(SignupEvent(member_id=a.member_id, action=ALERTED, actor="bot", detail=detail[:500], at=now)
                      for a in told_of)
    except IntegrityError:
        return False
    return True


def last_sent(registry: Registry, kind: str) -> dt.datetime | None:
    """When the latest notice of ``kind`` was written."""
    with registry.session() as s:
        return s.scalar(sa.select(sa.func.max(Notice.created_at)).where(Notice.kind == kind))


def written(registry: Registry, keys: Sequence[str]) -> set[str]:
    """Which of the notice ``keys`` were written already."""
    if not keys:
        return set()
    with registry.session() as s:
        return set(s.scalars(sa.select(Notice.key).where(Notice.key.in_(list(keys)))))


def backlog(registry: Registry, cutoff: dt.datetime) -> Backlog:
    """Pending applications: how many, how many submitted before ``cutoff``, the oldest submission."""
    latest = _latest_submissions()
    query = (sa.select(sa.func.count(), sa.func.count().filter(SignupEvent.at < cutoff), sa.func.min(SignupEvent.at))
             .select_from(latest).join(SignupEvent, SignupEvent.id == latest.c.submission_id))
    with registry.session() as s:
        pending, overdue, oldest = s.execute(query).one()
    return Backlog(int(pending), int(overdue or 0), oldest)
