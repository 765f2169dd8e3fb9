"""Notices waiting for a person's next message, shown before the reply to it.

A notice waits when WeChat took neither a template nor a customer-service message (the 48 h
window closed, the person unfollowed, no API configured). Whoever deferred it, this process or
another (the CLI, another host), it is in the database, so the webhook must look there; but a
database read on every message would make every reply slower and tie it to the database. So:

- each check is bounded (``database.lookup_timeout``); a database that is down or slow costs the
  notices their turn, never the reply, and they stay waiting for a later message;
- after a check found nothing (or showed everything), a per-person mark in the store lets the next
  messages skip the read for :data:`RECHECK` seconds; a conversation of several messages then
  reads once;
- when a notice starts waiting, the outbox (``on_waiting``) clears that person's mark, and each
  ticker round clears the marks of everyone whose notices began waiting since the last round
  (:meth:`WaitingNotices.sweep`): that covers deferrals by processes that do not share this store.

The mark only ever skips a read for someone who wrote within the last :data:`RECHECK` seconds. A
notice deferred then by a process sharing nothing with this one (which WeChat causes only when no
API is configured there, or it is down, since that person's 48 h window is open) is shown after the
next ticker round instead of on the very next message.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.conversation import Incoming
from bot.registry import notices
from bot.registry.bounded import BoundedDatabase
from bot.registry.notices import NoticeRow
from bot.registry.repository import Registry, RegistryUnavailable
from bot.storage.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

RECHECK = 600.0
"""Seconds after an empty check during which a person's messages skip the database read."""

SKEW = dt.timedelta(seconds=60)
"""A sweep looks this far behind the previous one: clocks of other hosts, slow commits."""

MARK = "notices_checked:"
"""Store value per openid: the time (epoch seconds) a check last found nothing waiting."""

SWEPT = "notices_swept"
"""Store value: the registry time the last sweep started."""

SHOWN_ON_EVENTS = frozenset({"subscribe", "scan", "click"})
"""Events the person caused and sees the reply to; never an unsubscribe, a menu link they leave
through, a location WeChat reports by itself or WeChat's own delivery reports."""


@dataclass
class Check:
    """What one message found: ``rows`` to show; ``read`` when the database answered (only then
    may the person's mark be set)."""

    openid: str
    rows: list[NoticeRow] = field(default_factory=list)
    read: bool = False


class WaitingNotices:
    def __init__(self, registry: Registry, store: Store, database: BoundedDatabase, read_timeout: float,
                 write_timeout: float, clock: Callable[[], float]) -> None:
        self.registry = registry
        self.store = store
        self.database = database
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.clock = clock

    def hint(self, openid: str) -> None:
        """A notice began waiting for ``openid``: their next message reads the database."""
        try:
            self.store.delete_value(MARK + openid)
        except StoreUnavailable as exc:  # the sweep clears it once the store is back
            log.warning("could not clear the notices mark of %s: %s", openid, exc)

    def find(self, message: Incoming) -> Check:
        """The notices to show before answering ``message`` (none while the mark is fresh, or when
        the database cannot answer in time)."""
        check = Check(message.user)
        if message.kind == "event" and message.event not in SHOWN_ON_EVENTS:
            return check
        try:
            mark = self.store.get_value(MARK + message.user)
            if mark is not None and 0 <= self.clock() - float(mark) < RECHECK:
                return check
        except (StoreUnavailable, ValueError):
            pass
        try:
            check.rows = self.database.call(self.read_timeout, notices.waiting_for, self.registry, message.user)
            check.read = True
        except RegistryUnavailable as exc:
            log.warning("waiting notices of %s not read, they wait for a later message: %s", message.user, exc)
        return check

    def show(self, check: Check) -> list[str]:
        """Mark the found notices shown and answer their texts, oldest first; none if the database
        cannot record it (they are then shown with a later message instead of twice)."""
        if not check.rows:
            return []
        try:
            shown = set(self.database.call(self.write_timeout, notices.mark_shown, self.registry,
                                           [row.id for row in check.rows]))
        except RegistryUnavailable as exc:
            log.warning("waiting notices of %s not marked shown, kept for later: %s", check.openid, exc)
            check.read = False
            return []
        return [row.text for row in check.rows if row.id in shown]

    def remember(self, batch: Store, check: Check) -> None:
        """With the turn's last store writes: nothing waits for this person any more."""
        if check.read:
            batch.set_value(MARK + check.openid, repr(self.clock()), ttl=int(RECHECK))

    def sweep(self) -> int:
        """Ticker task: clear the marks of everyone whose notices began waiting since the last
        round (deferred by any process, shared store or not); answers how many people."""
        now = self.registry.now()
        since = now - dt.timedelta(seconds=RECHECK)
        last = self.store.get_value(SWEPT)
        if last:
            since = max(since, dt.datetime.fromisoformat(last) - SKEW)
        openids = notices.waiting_since(self.registry, since)
        for openid in openids:
            self.store.delete_value(MARK + openid)
        self.store.set_value(SWEPT, now.isoformat(), ttl=int(RECHECK) * 2)
        return len(openids)
