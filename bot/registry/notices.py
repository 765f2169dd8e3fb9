"""The outbox: every message the bot starts (an application's outcome, a staff alert, one recipient
of a member notice) as a row of ``notices``, and who opted out of member notices.

A notice is written once per ``key`` however often it is asked for, and a process sends it only
after claiming it (``pending`` -> ``sending``, with a lease): two hosts, or a retry after a crash,
never send the same row twice while its lease runs. A process that dies mid-send leaves a lapsed
lease, and the notice is tried again; that one repeat is the price of not losing it.
Outcome notices (those with a ``member_id``) also land in the member's audit trail.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.registry.models import Member, Notice, NoticeOptOut, SignupEvent
from bot.registry.repository import MemberNotFound, Registry

LEASE = dt.timedelta(seconds=60)
"""How long a claim lasts: well past a WeChat call's timeout, short enough for a quick retry."""

AUDIT_ACTIONS = {"sent": "notified", "waiting": "notify_waiting", "shown": "notice_shown", "failed": "notify_failed"}
"""The member's audit-trail entry for each state an outcome notice reaches."""


@dataclass(frozen=True)
class Draft:
    """A notice to send: ``text`` is the whole message (customer-service or next-reply form);
    ``template`` and ``fields`` its template-message form, when one is configured."""

    key: str
    kind: str
    openid: str
    text: str
    template: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    member_number: str | None = None
    """The member an outcome notice concerns: it then lands in their audit trail."""
    broadcast_id: int | None = None


@dataclass(frozen=True)
class NoticeRow:
    id: int
    key: str
    kind: str
    openid: str
    text: str
    template: str
    fields: dict[str, str]
    url: str
    status: str
    channel: str
    msgid: str
    error: str
    attempts: int
    member_id: int | None
    broadcast_id: int | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


def _row(n: Notice) -> NoticeRow:
    return NoticeRow(n.id, n.key, n.kind, n.openid, n.text, n.template, json.loads(n.fields or "{}"), n.url,
                     n.status, n.channel, n.msgid, n.error, n.attempts, n.member_id, n.broadcast_id,
                     n.created_at, n.sent_at)


def _new(s: Session, draft: Draft, now: dt.datetime, status: str = "pending") -> Notice:
    member_id = None
    if draft.member_number is not None:
        member_id = s.scalar(sa.select(Member.id).where(Member.number == draft.member_number))
        if member_id is None:
            raise MemberNotFound(draft.member_number)
    return Notice(key=draft.key[:128], kind=draft.kind, openid=draft.openid, text=draft.text,
                  template=draft.template, fields=json.dumps(dict(draft.fields), ensure_ascii=False),
                  url=draft.url, status=status, channel="", msgid="", error="", attempts=0,
                  member_id=member_id, broadcast_id=draft.broadcast_id, created_at=now, updated_at=now)


def enqueue(registry: Registry, draft: Draft) -> tuple[NoticeRow, bool]:
    """The notice for ``draft.key``, written now unless it already was: (row, newly written)."""
    existing = find(registry, draft.key)
    if existing is not None:
        return existing, False
    try:
        with registry.session(write=True) as s:
            notice = _new(s, draft, registry.now())
            s.add(notice)
            s.flush()
            return _row(notice), True
    except IntegrityError:  # written by another process between our read and our write
        row = find(registry, draft.key)
        assert row is not None
        return row, False


def stage(s: Session, draft: Draft, now: dt.datetime) -> None:
    """Write ``draft`` in the caller's transaction, so that it exists exactly when the change it
    tells of does (a decision and its outcome notice); nothing if the key is known."""
    if s.scalar(sa.select(Notice.id).where(Notice.key == draft.key[:128])) is None:
        s.add(_new(s, draft, now))


def enqueue_many(registry: Registry, drafts: Iterable[Draft], status: str = "pending") -> int:
    """Write the drafts whose keys are new, in one transaction; answers how many were new."""
    drafts = list(drafts)
    if not drafts:
        return 0
    now = registry.now()
    with registry.session(write=True) as s:
        known = set(s.scalars(sa.select(Notice.key).where(Notice.key.in_([d.key[:128] for d in drafts]))))
        fresh = [d for d in drafts if d.key[:128] not in known]
        s.add_all(_new(s, d, now, status) for d in fresh)
    return len(fresh)


def add(s: Session, drafts: Iterable[Draft], now: dt.datetime) -> None:
    """Write drafts in the caller's transaction, beside rows that must land with them; a key
    written before makes the commit fail (IntegrityError) and undoes the whole transaction."""
    s.add_all(_new(s, d, now) for d in drafts)


def find(registry: Registry, key: str) -> NoticeRow | None:
    with registry.session() as s:
        notice = s.scalar(sa.select(Notice).where(Notice.key == key[:128]))
        return _row(notice) if notice is not None else None


def get(registry: Registry, notice_id: int) -> NoticeRow:
    with registry.session() as s:
        return _row(s.get_one(Notice, notice_id))


def claim(registry: Registry, notice_id: int) -> NoticeRow | None:
    """Take a pending notice (or one whose sender's lease lapsed) for sending; None if another
    process has it or it is done."""
    now = registry.now()
    with registry.session(write=True) as s:
        taken = s.execute(
            sa.update(Notice)
            .where(Notice.id == notice_id,
                   sa.or_(Notice.status == "pending", sa.and_(Notice.status == "sending", Notice.claimed_until < now)))
            .values(status="sending", claimed_until=now + LEASE, updated_at=now)
        ).rowcount
        if not taken:
            return None
        return _row(s.get_one(Notice, notice_id))


def due(registry: Registry, limit: int = 100, kinds: Iterable[str] | None = None,
        exclude_kinds: Iterable[str] = (), broadcast_id: int | None = None) -> list[int]:
    """Ids of notices to (re)try: pending ones and those whose sender's lease lapsed, oldest first;
    only of ``kinds`` when given, never of ``exclude_kinds``, only of one broadcast when given."""
    now = registry.now()
    query = (sa.select(Notice.id)
             .where(sa.or_(Notice.status == "pending", sa.and_(Notice.status == "sending", Notice.claimed_until < now)))
             .order_by(Notice.id).limit(limit))
    if kinds is not None:
        query = query.where(Notice.kind.in_(list(kinds)))
    if excluded := list(exclude_kinds):
        query = query.where(Notice.kind.not_in(excluded))
    if broadcast_id is not None:
        query = query.where(Notice.broadcast_id == broadcast_id)
    with registry.session() as s:
        return list(s.scalars(query))


def finish(registry: Registry, notice_id: int, status: str, channel: str = "", msgid: str = "",
           error: str = "", detail: str = "") -> NoticeRow:
    """Record what became of a claimed notice (``pending`` again for a retry). An outcome notice
    also gets an audit-trail entry, ``detail`` saying how it went."""
    now = registry.now()
    with registry.session(write=True) as s:
        notice = s.get_one(Notice, notice_id)
        _settle(s, notice, now, status, channel, msgid, error, detail)
        return _row(notice)


def _settle(s: Session, notice: Notice, now: dt.datetime, status: str, channel: str = "", msgid: str = "",
            error: str = "", detail: str = "") -> None:
    notice.status, notice.channel, notice.msgid = status, channel, msgid
    notice.error, notice.claimed_until, notice.updated_at = error[:1000], None, now
    notice.attempts += 1
    if status in ("sent", "shown"):
        notice.sent_at = now
    if notice.member_id is not None and status in AUDIT_ACTIONS:
        s.add(SignupEvent(member_id=notice.member_id, action=AUDIT_ACTIONS[status], actor="wechat",
                          detail=detail[:500], at=now))


def waiting_for(registry: Registry, openid: str) -> list[NoticeRow]:
    """Notices WeChat would not take, to show before this person's next reply (oldest first)."""
    with registry.session() as s:
        rows = s.scalars(sa.select(Notice).where(Notice.openid == openid, Notice.status == "waiting")
                         .order_by(Notice.id))
        return [_row(n) for n in rows]


def waiting_since(registry: Registry, since: dt.datetime) -> list[str]:
    """Who has notices that began waiting at or after ``since``."""
    with registry.session() as s:
        return list(s.scalars(sa.select(Notice.openid).distinct()
                              .where(Notice.status == "waiting", Notice.updated_at >= since)))


def mark_shown(registry: Registry, notice_ids: Iterable[int]) -> list[int]:
    """Record that waiting notices were shown before the person's reply, in one transaction;
    answers those that were still waiting (only they may be shown)."""
    wanted = list(notice_ids)
    if not wanted:
        return []
    now = registry.now()
    with registry.session(write=True) as s:
        rows = s.scalars(sa.select(Notice).where(Notice.id.in_(wanted), Notice.status == "waiting")
                         .order_by(Notice.id).with_for_update()).all()
        for notice in rows:
            _settle(s, notice, now, "shown", channel="next_message", detail="在工人下一次发消息时显示")
        return [n.id for n in rows]


def forget_member(s: Session, member_id: int, openid: str, placeholder: str) -> None:
    """When a member's personal data is erased: their notices (about their application, and the
    member notices sent to them) keep neither openid nor text, none still waiting or due goes out
    any more, and their 退订 is forgotten with the rest (in the erasure's transaction)."""
    theirs = sa.or_(Notice.member_id == member_id, Notice.openid == openid)
    s.execute(sa.update(Notice).where(theirs, Notice.status.in_(("pending", "waiting"))).values(status="skipped"))
    s.execute(sa.update(Notice).where(theirs).values(openid=placeholder, text="（个人信息已删除）", fields="{}", url=""))
    s.execute(sa.delete(NoticeOptOut).where(NoticeOptOut.openid == openid))


def for_member(registry: Registry, number: str) -> list[NoticeRow]:
    """Every notice about one member's application, oldest first."""
    with registry.session() as s:
        rows = s.scalars(sa.select(Notice).join(Member, Member.id == Notice.member_id)
                         .where(Member.number == number).order_by(Notice.id))
        return [_row(n) for n in rows]


def query(registry: Registry, **where: Any) -> list[NoticeRow]:
    """Notices matching column values (e.g. ``member_id=3``, ``broadcast_id=1, status="failed"``)."""
    with registry.session() as s:
        rows = s.scalars(sa.select(Notice).filter_by(**where).order_by(Notice.id))
        return [_row(n) for n in rows]


# -- 退订 / 订阅 ---------------------------------------------------------------------------------


def opt_out(registry: Registry, openid: str) -> None:
    """No more member notices for ``openid`` (outcomes of their own application still arrive)."""
    with registry.session(write=True) as s:
        if s.get(NoticeOptOut, openid) is None:
            s.add(NoticeOptOut(openid=openid, at=registry.now()))


def opt_in(registry: Registry, openid: str) -> None:
    with registry.session(write=True) as s:
        s.execute(sa.delete(NoticeOptOut).where(NoticeOptOut.openid == openid))


def opted_out(registry: Registry, openids: Iterable[str]) -> set[str]:
    """Which of ``openids`` replied 退订."""
    wanted = list(openids)
    if not wanted:
        return set()
    with registry.session() as s:
        return set(s.scalars(sa.select(NoticeOptOut.openid).where(NoticeOptOut.openid.in_(wanted))))
