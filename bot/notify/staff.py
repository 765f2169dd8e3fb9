"""Staff alerts, as background tasks of the ticker: new applications (at once, then digests), 人工
requests, and the daily summary of applications waiting longer than promised.

Each task derives its work from what is stored (the registry's pending applications and audit
trail, the store's 人工 requests, the notices already written), never from an event held in
memory: a worker that dies right after a signup loses no alert, and a round run twice sends
nothing twice (every alert is a notice with a key, written once). Alerts go to the WeChat
accounts bound by active admins and reviewers, plus ``[notify] staff_openids``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from bot.config import NotifyConfig
from bot.core.duty import DutySchedule
from bot.notify import alerts as texts
from bot.notify.outbox import Outbox
from bot.registry import alerts, notices, staff
from bot.registry.notices import Draft
from bot.registry.repository import Registry
from bot.storage import stats
from bot.storage.store import Store

log = logging.getLogger(__name__)

HUMAN_HORIZON = 12 * 3600
"""人工 requests older than this (seconds) are not alerted any more (the console's 人工 page keeps them)."""
HUMAN_QUIET = 1800
"""One alert per worker per this many seconds, however often they type 人工."""


class StaffAlerts:
    def __init__(self, registry: Registry, store: Store, outbox: Outbox, notify: NotifyConfig,
                 duty: DutySchedule) -> None:
        self.registry = registry
        self.store = store
        self.outbox = outbox
        self.notify = notify
        self.duty = duty

    def recipients(self) -> list[str]:
        """Who gets staff alerts: bound admins and reviewers, and the configured openids."""
        return sorted(set(staff.alerted_openids(self.registry)) | set(self.notify.staff_openids))

    def _drafts(self, alert: texts.Alert, key: str, recipients: Sequence[str]) -> list[Draft]:
        return alert.drafts(key, recipients, self.notify.staff_template, self.notify.staff_fields)

    def _deliver(self, drafts: Sequence[Draft]) -> int:
        """Try the notices just written (the outbox's round retries any left pending)."""
        sent = 0
        for draft in drafts:
            row = notices.find(self.registry, draft.key)
            done = self.outbox.deliver(row.id) if row is not None else None
            sent += done is not None and done.status == "sent"
        return sent

    def new_applications(self) -> int:
        """Tell the reviewers of applications no alert told of yet: the first at once, those that
        follow within ``staff_digest_minutes`` of an alert in one digest when the time is up."""
        now = self.registry.now()
        # an application waiting longer than the promised review time is the daily summary's business
        waiting = alerts.unalerted(self.registry, since=now - dt.timedelta(days=self.notify.review_days))
        recipients = self.recipients() if waiting else []
        if not recipients:
            return 0
        window = dt.timedelta(minutes=self.notify.staff_digest_minutes)
        last = alerts.last_sent(self.registry, "staff_applications")
        form = texts.next_alert([a.submitted_at for a in waiting], last, now, window)
        if form is None:
            return 0
        pending = alerts.backlog(self.registry, now).pending
        alert = texts.applications_alert(form, waiting, pending, self.registry.tz, self.notify.console_url)
        drafts = self._drafts(alert, texts.batch_key(waiting), recipients)
        if not alerts.record_alert(self.registry, drafts, waiting, f"已提醒审核人员（{len(recipients)} 人）"):
            return 0
        log.info("staff alerted of %d new application(s) (%s)", len(waiting), form)
        return self._deliver(drafts)

    def human_requests(self) -> int:
        """Alert staff of each recent 人工 request not alerted yet (off duty too, marked so)."""
        now = self.registry.now().timestamp()
        requests = [r for r in stats.human_requests(self.store, now) if r["at"] >= now - HUMAN_HORIZON]
        recipients = self.recipients() if requests else []
        if not recipients:
            return 0
        keyed = {f"human:{r['user']}:{int(r['at'] // HUMAN_QUIET)}": r for r in requests}
        told = alerts.written(self.registry, [f"{key}:{openid}" for key in keyed for openid in recipients])
        told_of = {key.rsplit(":", 1)[0] for key in told}  # told to anyone: a newly bound account gets no backlog
        drafts: list[Draft] = []
        for key, request in keyed.items():
            if key in told_of:
                continue
            member = self.registry.find_by_openid(request["user"])
            alert = texts.human_alert(texts.requester(request["user"], member),
                                      texts.last_question(request["messages"], request["at"]),
                                      self.duty.local(request["at"]), self.duty.status(request["at"]),
                                      self.notify.console_url)
            drafts += self._drafts(alert, key, recipients)
        if not drafts:
            return 0
        notices.enqueue_many(self.registry, drafts)
        return self._deliver(drafts)

    def daily_summary(self) -> int:
        """From ``summary_time`` on, once a day per recipient, while applications wait too long."""
        now = self.registry.now()
        local = now.astimezone(self.registry.tz)
        if local.time() < dt.time.fromisoformat(self.notify.summary_time):
            return 0
        keys = {f"summary:{local.date().isoformat()}:{openid}": openid for openid in self.recipients()}
        done = alerts.written(self.registry, list(keys))
        todo = [openid for key, openid in keys.items() if key not in done]
        if not todo:
            return 0
        backlog = alerts.backlog(self.registry, now - dt.timedelta(days=self.notify.review_days))
        if not backlog.overdue:
            return 0
        alert = texts.summary_alert(backlog, self.notify.review_days, local, self.notify.console_url)
        drafts = self._drafts(alert, f"summary:{local.date().isoformat()}", todo)
        notices.enqueue_many(self.registry, drafts)
        log.info("daily review summary to %d staff: %d overdue", len(todo), backlog.overdue)
        return self._deliver(drafts)
