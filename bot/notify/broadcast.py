"""Member notices, the shell: write a notice and its recipients, then send it in the background at
``[notify] send_rate`` within ``daily_quota``, one recipient's outbox row at a time.

Every recipient's copy is an outbox row claimed before it is sent (:mod:`bot.registry.notices`), so
any number of processes (the server's ticker, ``unionbot notice send``/``resume``) may work on the
same notice without sending a copy twice; a per-notice store lock keeps them from also doubling the
rate. A process that dies leaves the rows it had not finished for the next round.

Why per-recipient template messages and not WeChat's mass send (``message/mass/send``): each
recipient's result is on record, a stopped job resumes where it stopped, the daily quota is ours
to count, and mass send is limited to a few messages a month per follower (service accounts: four).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from bot.config import NotifyConfig
from bot.notify import member_notice as mn
from bot.notify.member_notice import Audience, Composed, NoticeProblem, Progress
from bot.notify.outbox import Outbox, QuotaUsedUp
from bot.registry import broadcasts, notices, staff
from bot.registry.broadcasts import BroadcastRow, Recipient
from bot.registry.notices import Draft
from bot.registry.repository import Registry
from bot.signup.occupations import OCCUPATIONS
from bot.signup.privacy import mask_name
from bot.storage.store import LockTimeout, Store

log = logging.getLogger(__name__)

ROUND_SECONDS = 30.0
"""How long one round sends before giving way (the ticker's other tasks, another process)."""
BATCH = 500
"""Recipients written per transaction when a notice is created."""
SAMPLE = 5
PROGRESS_EVERY = 1.0
"""Seconds between progress reports to a foreground sender (the CLI's progress bar)."""
LOCK_PREFIX = "member_notice:"


@dataclass(frozen=True)
class Plan:
    """Who a notice would reach (what ``--dry-run`` and the console's confirmation show)."""

    audience: Audience
    label: str
    recipients: int
    """Approved members in the audience who did not reply 退订."""
    opted_out: int
    by_station: list[tuple[str, int]] = field(default_factory=list)
    by_occupation: list[tuple[str, int]] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    """A few recipients' names, masked."""


ProgressHook = Callable[[Progress], None]


class Broadcaster:
    """Creates member notices and sends them; one per process, shared by the ticker, CLI and console."""

    def __init__(self, registry: Registry, outbox: Outbox, store: Store, config: NotifyConfig, union_name: str,
                 *, monotonic: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 round_seconds: float = ROUND_SECONDS) -> None:
        self.registry = registry
        self.outbox = outbox
        self.store = store
        self.config = config
        self.union_name = union_name
        self.monotonic = monotonic
        self.sleep = sleep
        self.round_seconds = round_seconds

    # -- writing a notice ------------------------------------------------------------------------

    def check_audience(self, audience: Audience) -> None:
        """:class:`NoticeProblem` for a station or occupation that does not exist."""
        if audience.kind == "station" and self.registry.station(audience.value) is None:
            known = "、".join(f"{c} {n}" for c, n in sorted(broadcasts.station_names(self.registry).items()))
            raise NoticeProblem(f"没有驿站 {audience.value}" + (f"（现有：{known}）" if known else ""))
        if audience.kind == "occupation":
            known_occupations = {o.label for o in OCCUPATIONS} | broadcasts.occupations_in_use(self.registry)
            if audience.value not in known_occupations:
                raise NoticeProblem(f"没有“{audience.value}”这个职业（可选：{'、'.join(sorted(known_occupations))}）")

    def _members(self, audience: Audience) -> Iterable[Recipient]:
        return broadcasts.approved_members(
            self.registry, station=audience.value if audience.kind == "station" else None,
            occupation=audience.value if audience.kind == "occupation" else None, batch=BATCH)

    def plan(self, audience: Audience) -> Plan:
        """Who would get a notice for ``audience``; writes nothing."""
        self.check_audience(audience)
        names = broadcasts.station_names(self.registry)
        stations: Counter[str] = Counter()
        occupations: Counter[str] = Counter()
        sample: list[str] = []
        opted_out = 0
        for chunk in _chunks(self._members(audience), BATCH):
            out = notices.opted_out(self.registry, [r.openid for r in chunk])
            opted_out += sum(r.openid in out for r in chunk)
            for r in chunk:
                if r.openid in out:
                    continue
                stations[f"{r.station_code} {names.get(r.station_code, '')}".strip() or "（无驿站）"] += 1
                occupations[r.occupation or "（未填）"] += 1
                if len(sample) < SAMPLE:
                    sample.append(mask_name(r.name))
        return Plan(audience, audience.label(names), sum(stations.values()), opted_out,
                    stations.most_common(), occupations.most_common(), sample)

    def compose(self, title: str | None, body: str | None, url: str | None = None,
                at: dt.datetime | None = None) -> Composed:
        """The notice as members will receive it (:class:`NoticeProblem` if it cannot be sent)."""
        when = (at or self.registry.now()).astimezone(self.registry.tz).strftime("%Y-%m-%d %H:%M")
        return mn.compose(title, body, self.union_name, when, self.config.notice_fields, url)

    def create(self, audience: Audience, title: str | None, body: str, actor: str, url: str | None = None) -> int:
        """Write the notice and one outbox row per recipient (退订 ones as ``skipped``); answers its id.
        Sending is left to :meth:`send` (the ticker, or the CLI in the foreground)."""
        self.check_audience(audience)
        composed = self.compose(title, body, url)
        if self.plan(audience).recipients == 0:
            raise NoticeProblem("这个范围内没有可以接收通知的会员（已审核通过且没有退订的）")
        broadcast_id = broadcasts.create(self.registry, composed.title, composed.body,
                                         audience.to_json(composed.url), actor)
        with self._lock(broadcast_id, wait=self.round_seconds + 30):
            self._prepare(broadcast_id, audience, composed)
        total = self.progress(broadcast_id).total
        staff.record_staff_event(self.registry, actor, "notice_created",
                                 f"#{broadcast_id}《{composed.title}》{audience.label()}，{total} 人")
        log.info("member notice %s created by %s for %s", broadcast_id, actor, audience.to_json())
        return broadcast_id

    def resume(self, broadcast_id: int, actor: str) -> BroadcastRow:
        """Staff go on with a paused notice now rather than the next day (a raised quota, say): the
        next round sends it. Noted in the staff audit trail."""
        job = broadcasts.get(self.registry, broadcast_id)
        if job.status == "paused":
            job = broadcasts.update(self.registry, broadcast_id, status="sending")
        staff.record_staff_event(self.registry, actor, "notice_resumed", f"#{broadcast_id}")
        return job

    def _prepare(self, broadcast_id: int, audience: Audience, composed: Composed) -> None:
        """Write every recipient's copy (again, after a crash: only the missing ones); then the total."""
        template = self.config.notice_template
        for chunk in _chunks(self._members(audience), BATCH):
            out = notices.opted_out(self.registry, [r.openid for r in chunk])
            drafts = [Draft(key=f"broadcast:{broadcast_id}:{r.number}", kind=mn.KIND, openid=r.openid,
                            text=composed.text, template=template, fields=composed.fields if template else {},
                            url=composed.url, broadcast_id=broadcast_id) for r in chunk]
            notices.enqueue_many(self.registry, [d for d in drafts if d.openid not in out])
            notices.enqueue_many(self.registry, [d for d in drafts if d.openid in out], status="skipped")
        self._refresh(broadcast_id, paused=False)

    # -- sending ---------------------------------------------------------------------------------

    def _lock(self, broadcast_id: int, wait: float = 0.0) -> AbstractContextManager[None]:
        """One sender per notice at a time, so two processes do not double the rate."""
        return self.store.lock(f"{LOCK_PREFIX}{broadcast_id}", timeout=self.round_seconds + 60, wait=wait)

    def send_round(self) -> bool:
        """The ticker's task: send the active notices for up to one round; True when a notice still
        had recipients due as the round ran out of time (the next round should follow at once)."""
        deadline = self.monotonic() + self.round_seconds
        for job in broadcasts.active(self.registry):
            left = deadline - self.monotonic()
            if left <= 0:
                return True
            try:
                with self._lock(job.id):
                    _status, out_of_time = self._send(broadcasts.get(self.registry, job.id), left, None)
            except LockTimeout:  # another process is sending it
                continue
            if out_of_time:
                return True
        return False

    def send(self, broadcast_id: int, seconds: float | None = None,
             on_progress: ProgressHook | None = None) -> str | None:
        """Send one notice for up to ``seconds`` (a round): its status afterwards, or None when another
        process is sending it."""
        try:
            with self._lock(broadcast_id):
                job = broadcasts.get(self.registry, broadcast_id)
                return self._send(job, seconds or self.round_seconds, on_progress)[0]
        except LockTimeout:
            return None

    def drive(self, broadcast_id: int, on_progress: ProgressHook | None = None) -> str:
        """Send one notice in the foreground until it is done or paused (``unionbot notice send``)."""
        while True:
            before = self.progress(broadcast_id).done
            status = self.send(broadcast_id, on_progress=on_progress)
            if status in ("done", "paused"):
                return status
            progress = self.progress(broadcast_id)
            if on_progress is not None:
                on_progress(progress)
            if progress.done == before:  # another process has it, or a dead sender's claim has to lapse
                self.sleep(1.0)

    def _send(self, job: BroadcastRow, seconds: float, on_progress: ProgressHook | None) -> tuple[str, bool]:
        """(status afterwards, whether recipients were still due when the time ran out)."""
        if job.status == "done":
            return job.status, False
        if job.total == 0:  # its creator died while writing the recipients: finish that first
            audience, url = Audience.from_json(job.audience)
            self._prepare(job.id, audience, self.compose(job.title, job.text, url, at=job.created_at))
        if job.status == "paused" and not self._new_day(job.id):
            return job.status, False
        deadline = self.monotonic() + seconds
        interval = 1.0 / self.config.send_rate
        next_at = reported = self.monotonic()
        self._refresh(job.id, paused=False, started=True)
        while True:
            left = self.quota_left()
            if left == 0:
                log.info("member notice %s paused: today's template quota (%s) is used up", job.id,
                         self.config.daily_quota)
                return self._refresh(job.id, paused=True), False
            ids = notices.due(self.registry, limit=mn.batch_size(self.config.send_rate, seconds, left),
                              broadcast_id=job.id)
            if not ids:
                return self._refresh(job.id, paused=False), False
            for notice_id in self._skip_opted_out(ids):
                if (pause := next_at - self.monotonic()) > 0:
                    self.sleep(pause)
                if self.monotonic() >= deadline:
                    return self._refresh(job.id, paused=False), True
                try:
                    self.outbox.deliver(notice_id, hold_on_quota=True)
                except QuotaUsedUp:
                    log.info("member notice %s paused: WeChat says today's template quota is used up", job.id)
                    return self._refresh(job.id, paused=True), False
                next_at = max(next_at + interval, self.monotonic() - interval)
                if on_progress is not None and self.monotonic() >= reported + PROGRESS_EVERY:
                    reported = self.monotonic()
                    on_progress(self.progress(job.id))

    def _skip_opted_out(self, ids: list[int]) -> list[int]:
        """Recipients who replied 退订 after the notice was written are skipped too."""
        by_id = broadcasts.openids(self.registry, ids)
        out = notices.opted_out(self.registry, by_id.values())
        for notice_id in [i for i in ids if by_id.get(i) in out]:
            if notices.claim(self.registry, notice_id) is not None:
                notices.finish(self.registry, notice_id, "skipped", error="会员已回复退订")
        return [i for i in ids if by_id.get(i) not in out]

    def quota_left(self) -> int | None:
        """Template messages the account may still send today (None: notices use no template)."""
        today = mn.start_of_day(self.registry.now(), self.registry.tz)
        return mn.quota_left(self.config.daily_quota, broadcasts.template_sends_since(self.registry, today),
                             bool(self.config.notice_template))

    def _new_day(self, broadcast_id: int) -> bool:
        last = broadcasts.last_activity(self.registry, broadcast_id)
        tz = self.registry.tz
        return last is None or mn.may_resume(last.astimezone(tz).date(), self.registry.now().astimezone(tz).date())

    def _refresh(self, broadcast_id: int, paused: bool, started: bool = False) -> str:
        """Write the notice's progress from its recipients' rows; answers its status (a notice not
        yet started stays queued)."""
        progress = self.progress(broadcast_id)
        job = broadcasts.get(self.registry, broadcast_id)
        values: dict[str, object] = {"total": progress.total, "sent": progress.delivered,
                                     "failed": progress.not_delivered}
        if started or job.status != "queued":
            values["status"] = mn.job_status(progress, paused)
            if job.started_at is None:
                values["started_at"] = self.registry.now()
            if values["status"] == "done" and job.finished_at is None:
                values["finished_at"] = self.registry.now()
        return broadcasts.update(self.registry, broadcast_id, **values).status

    def progress(self, broadcast_id: int) -> Progress:
        return Progress.of(broadcasts.counts(self.registry, broadcast_id))


def _chunks(items: Iterable[Recipient], size: int) -> Iterable[list[Recipient]]:
    chunk: list[Recipient] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
