"""Staff decisions together with the notice that tells the worker: approve (通过), reject (不通过),
withdraw (退会) and erase (删除个人信息), one path for the console and the CLI.

The notice is written in the decision's own transaction, so there is never a decision without
its notice (nor a notice of a decision that failed), then sent at once. A process that dies before
sending leaves the notice due, and the ticker's ``deliver due notices`` sends it; a repeated
decision (a double-click, a command run again) changes nothing and writes no second notice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.config import Config
from bot.notify.outbox import Outbox
from bot.notify.outcomes import DECISIONS, delivery_line, outcome_draft, outcome_key
from bot.registry import notices, staff
from bot.registry.notices import NoticeRow
from bot.registry.repository import Decided, RegistryUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    member: dict[str, Any]
    """The member as decided (``changed`` False: it already had that status, nothing was done)."""
    notice: NoticeRow | None = None
    """The outcome notice after the first try; None when nothing changed or it is not tried yet."""

    @property
    def changed(self) -> bool:
        return bool(self.member["changed"])

    @property
    def line(self) -> str:
        """How the worker was told, for staff; empty when nothing changed."""
        return delivery_line(self.notice) if self.changed else ""


class Decisions:
    def __init__(self, outbox: Outbox, config: Config) -> None:
        self.outbox = outbox
        self.registry = outbox.registry
        self.config = config

    def approve(self, number: str, actor: str, reason: str | None = None) -> Decision:
        return self._take(lambda then: self.registry.approve(number, actor, reason, then=then))

    def reject(self, number: str, actor: str, reason: str) -> Decision:
        return self._take(lambda then: self.registry.reject(number, actor, reason, then=then))

    def withdraw(self, number: str, actor: str, reason: str | None) -> Decision:
        return self._take(lambda then: staff.withdraw(self.registry, number, actor, reason, then=then))

    def erase(self, number: str, actor: str, reason: str | None) -> Decision:
        """The notice goes to the openid the member had; it names neither them nor their number."""
        return self._take(lambda then: staff.erase(self.registry, number, actor, reason, then=then))

    def _take(self, decide: Callable[[Decided], dict[str, Any]]) -> Decision:
        member = decide(self._stage)
        if not member["changed"] or member["status"] not in DECISIONS:
            return Decision(member)
        key = outcome_key(member["number"], member["status"], member["decision_id"])
        try:
            row = notices.find(self.registry, key)
            if row is not None:
                row = self.outbox.deliver(row.id) or notices.get(self.registry, row.id)
        except RegistryUnavailable as exc:  # the decision and its notice are saved: the ticker sends it
            log.error("outcome notice %s not sent now: %s", key, exc)
            row = None
        return Decision(member, row)

    def _stage(self, s: Session, member: dict[str, Any]) -> None:
        if member["status"] in DECISIONS:
            draft = outcome_draft(member, member["decision_id"], self.config.notify, self.config.service,
                                  self.registry.tz)
            notices.stage(s, draft, self.registry.now())
