"""The shell's parts, built once per process from the config: store, knowledge, registry, API.

Handlers never see this object; they get a read-only :class:`~bot.core.conversation.Context` built
from it for each message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bot import metrics
from bot.config import Config
from bot.core import router
from bot.core.conversation import Context, Incoming, LookupUnavailable, Outcome, State
from bot.core.duty import DutySchedule
from bot.faq.knowledge import Knowledge, KnowledgeSource
from bot.faq.matcher import Matcher, MatchResult
from bot.notify import member_notice
from bot.notify.broadcast import Broadcaster
from bot.notify.decisions import Decisions
from bot.notify.outbox import Outbox
from bot.notify.staff import StaffAlerts
from bot.notify.ticker import Ticker
from bot.notify.waiting import WaitingNotices
from bot.registry.bounded import BoundedDatabase
from bot.registry.repository import Registry, RegistryUnavailable
from bot.stations.directory import StationDirectory
from bot.storage.published import PublishedKnowledge
from bot.storage.store import Store, StoreUnavailable
from bot.web.delivery import TurnKeeper
from bot.wechat.api import WechatApi, record_interaction

log = logging.getLogger(__name__)

Route = Callable[[State, Incoming, Context], Outcome]

HANDLER_THREADS = 32
"""Message-handling threads per process: more than gunicorn's request threads, since a thread may
still be finishing a late reply (every wait in it is bounded) after its request was answered."""


class _MembersOrNothing:
    """The registry as handlers see it: when the database is down or slow, nobody is found (yet).

    A worker who is in fact a member may then be offered a signup; confirming it finds the
    existing member by openid, so nothing is duplicated.
    """

    def __init__(self, registry: Registry, database: BoundedDatabase, timeout: float) -> None:
        self.registry = registry
        self.database = database
        self.timeout = timeout

    def find_by_openid(self, openid: str) -> Mapping[str, Any] | None:
        try:
            return self.database.call(self.timeout, self.registry.find_by_openid, openid)
        except RegistryUnavailable as exc:
            log.error("registry unavailable, treating %s as not a member: %s", openid, exc)
            return None

    def id_number_taken(self, id_number: str, openid: str) -> bool:
        """False when the database is down: the registry checks again at 确认."""
        try:
            return self.registry.id_number_taken(id_number, openid)
        except RegistryUnavailable as exc:
            log.error("registry unavailable, ID number not checked for %s: %s", openid, exc)
            return False


class _StationsOrNothing:
    """Stations as handlers see them: an unreachable or slow Redis or database means none found,
    except for a station by code, which says it could not check (the scan keeps its code)."""

    def __init__(self, directory: StationDirectory, database: BoundedDatabase, timeout: float) -> None:
        self.directory = directory
        self.database = database
        self.timeout = timeout

    def station(self, code: str) -> Mapping[str, Any] | None:
        try:
            return self.database.call(self.timeout, self.directory.station, code)
        except (RegistryUnavailable, StoreUnavailable) as exc:
            log.error("station lookup failed: %s", exc)
            raise LookupUnavailable(str(exc)) from exc

    def all(self) -> list[Mapping[str, Any]]:
        try:
            return list(self.directory.all())
        except RegistryUnavailable as exc:
            log.error("station list failed: %s", exc)
            return []

    def nearest(self, latitude: float, longitude: float, count: int = 3) -> list[Mapping[str, Any]]:
        try:
            return self.database.call(self.timeout, self.directory.nearest, latitude, longitude, count)
        except (RegistryUnavailable, StoreUnavailable) as exc:
            log.error("nearest stations failed: %s", exc)
            return []


def matcher_factory(config: Config) -> Callable[[Knowledge], Matcher]:
    """How this config builds a matcher from knowledge (the serving workers, ``faq warm``)."""
    kc = config.knowledge
    return lambda knowledge: Matcher(knowledge, semantic=kc.semantic_switch, memo_size=kc.match_memo,
                                     cache_dir=kc.cache_dir or None)


class _MeasuredMatcher:
    """The FAQ matcher as handlers see it: each match timed and counted for /metrics."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.knowledge = matcher.knowledge

    def match(self, text: str) -> MatchResult:
        with metrics.MATCH_SECONDS.time():
            result = self.matcher.match(text)
        metrics.MATCHES.labels(result.outcome).inc()
        return result


@dataclass
class Services:
    config: Config
    store: Store
    registry: Registry
    knowledge: KnowledgeSource | None = None
    wechat: WechatApi | None = None
    route: Route = router.route
    clock: Callable[[], float] = time.time

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> Services:
        store = Store.from_config(config, clock=overrides.get("clock", time.time))
        if store.embedded:
            log.warning("store.url is memory://: conversation state lives in this process only")
        # WeChat waits 5 s for a reply: give up on an unreachable database well before that
        db = config.database
        registry = Registry.from_config(config, connect_timeout=db.connect_timeout, engine_options={
            "statement_timeout_ms": db.statement_timeout_ms, "lock_timeout_ms": db.lock_timeout_ms,
            "pool_size": db.pool_size, "max_overflow": db.max_overflow, "pool_timeout": db.pool_timeout})
        knowledge = KnowledgeSource(config.knowledge.dir, reload_interval=config.knowledge.reload_interval,
                                    matcher_factory=matcher_factory(config),
                                    # memory:// is this process's alone: nothing to share there
                                    published=None if store.embedded else PublishedKnowledge(store))
        wechat = WechatApi.if_configured(config.wechat, store)
        return cls(config=config, store=store, registry=registry, knowledge=knowledge, wechat=wechat, **overrides)

    @cached_property
    def database(self) -> BoundedDatabase:
        """Every database call made while answering a message goes through this (bounded waits)."""
        db = self.config.database
        return BoundedDatabase(db.max_concurrent, db.busy_wait, db.retry_after, clock=self.clock)

    @cached_property
    def _members(self) -> _MembersOrNothing:
        return _MembersOrNothing(self.registry, self.database, self.config.database.lookup_timeout)

    @cached_property
    def _stations(self) -> _StationsOrNothing:
        return _StationsOrNothing(StationDirectory(self.registry, self.store), self.database,
                                  self.config.database.lookup_timeout)

    @cached_property
    def workers(self) -> ThreadPoolExecutor:
        """Threads that handle messages, so the request thread can answer WeChat by the deadline."""
        return ThreadPoolExecutor(max_workers=HANDLER_THREADS, thread_name_prefix="message")

    @cached_property
    def turns(self) -> TurnKeeper:
        """Renews the claims of messages being handled (a killed worker's expire within seconds)."""
        return TurnKeeper(self.store)

    @cached_property
    def _sender(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=2, thread_name_prefix="wechat-send")

    @cached_property
    def outbox(self) -> Outbox:
        """Notices the bot starts (outcomes, staff alerts, member notices): written, then sent."""
        return Outbox(self.registry, self.wechat, on_waiting=self.waiting_notices.hint)

    @cached_property
    def waiting_notices(self) -> WaitingNotices:
        """Notices WeChat would not take, shown before the person's next reply."""
        db = self.config.database
        return WaitingNotices(self.registry, self.store, self.database, db.lookup_timeout, db.write_timeout,
                              self.clock)

    @cached_property
    def decisions(self) -> Decisions:
        """Staff decisions (approve, reject, withdraw, erase) with the notice telling the worker."""
        return Decisions(self.outbox, self.config)

    @cached_property
    def ticker(self) -> Ticker:
        """Background rounds (retries, digests, notice jobs); `unionbot serve` starts it."""
        return Ticker(self.store, [
            ("deliver due notices", lambda: self.outbox.deliver_due(exclude_kinds=(member_notice.KIND,))),
            ("alert staff of new applications", self.staff_alerts.new_applications),
            ("alert staff of 人工 requests", self.staff_alerts.human_requests),
            ("daily review summary", self.staff_alerts.daily_summary),
            ("send member notices", self._send_member_notices),
            ("note notices waiting", self.waiting_notices.sweep),
        ])

    @cached_property
    def duty(self) -> DutySchedule:
        """When someone answers 人工 requests, in the union's time zone."""
        n = self.config.notify
        return DutySchedule.parse(n.duty_days, n.duty_hours, self.config.registry.timezone)

    @cached_property
    def staff_alerts(self) -> StaffAlerts:
        """New applications, 人工 requests and the daily summary, told to the staff (ticker tasks)."""
        return StaffAlerts(self.registry, self.store, self.outbox, self.config.notify, self.duty)

    @cached_property
    def broadcaster(self) -> Broadcaster:
        """Member notices: written by the console and the CLI, sent by the ticker at the configured rate."""
        return Broadcaster(self.registry, self.outbox, self.store, self.config.notify, self.config.service.union_name)

    def _send_member_notices(self) -> None:
        if self.broadcaster.send_round():  # more to send: the next round at once, not after the interval
            self.ticker.wake()

    def context(self) -> Context:
        service = self.config.service
        return Context(
            hotline=service.hotline,
            office_hours=service.office_hours,
            union_name=service.union_name,
            now=self.clock(),
            faq=self._measured_matcher if self.knowledge is not None else None,
            members=self._members,
            stations=self._stations,
            station_radius_km=service.station_radius_km,
            duty=self.duty,
        )

    def _measured_matcher(self) -> _MeasuredMatcher | None:
        matcher = self.knowledge.matcher() if self.knowledge is not None else None
        if matcher is None:
            return None
        metrics.knowledge_version(matcher.knowledge.fingerprint)
        return _MeasuredMatcher(matcher)

    def after_message(self, message: Incoming, store: Store) -> None:
        """Note the worker's last message: customer-service messages are allowed for 48 h after it.

        Only messages the worker sends open that window; follows, scans and menu clicks allow just
        a few messages within a minute, too short for a staff decision to use.
        """
        if message.kind != "event":
            record_interaction(store, message.user, self.clock())

    def send_later(self, openid: str, text: str) -> None:
        """Send a customer-service text without holding up the reply WeChat is waiting for."""
        if self.wechat is None:
            return
        wechat = self.wechat

        def send() -> None:
            try:
                wechat.send_text(openid, text)
            except Exception:
                log.exception("customer-service message to %s failed", openid)

        self._sender.submit(send)
