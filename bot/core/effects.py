"""Carrying out what handlers asked for: plain store writes with the turn's last round trip,
the rest (a registry write) after the new state is saved.

Every runner is idempotent (a WeChat retry or a second 确认 may bring the same effect twice)
and a failing runner never takes the reply down with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from bot import metrics
from bot.core.conversation import Effect, Incoming, Outcome
from bot.registry.repository import RegistryUnavailable
from bot.storage.store import Store, StoreUnavailable
from handlers import join

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

Runner = Callable[["Services", Incoming, Outcome, Effect], Outcome]


def _record_unanswered(store: Store, effect: Effect) -> None:
    store.record_unanswered(str(effect.data.get("question", "")), str(effect.data.get("outcome", "none")))


def _register_member(services: Services, message: Incoming, outcome: Outcome, effect: Effect) -> Outcome:
    """Write the member once; the join flow words the reply for each result."""
    try:
        result = services.database.call(services.config.database.write_timeout,
                                        services.registry.register, dict(effect.data))
    except RegistryUnavailable as exc:
        log.error("registry unavailable at 确认 for %s: %s", message.user, exc)
        metrics.SIGNUPS.labels("unavailable").inc()
        followup = join.on_register_failed(outcome.state, "unavailable")
    else:
        metrics.SIGNUPS.labels(result.conflict or ("created" if result.created else "existing")).inc()
        if result.conflict:
            followup = join.on_register_failed(outcome.state, result.conflict)
        else:
            followup = join.on_registered(outcome.state, result.member)
    return replace(outcome, state=followup.state, replies=outcome.replies + followup.replies)


RUNNERS: dict[str, Runner] = {
    "register_member": _register_member,
}

STORE_WRITES: dict[str, Callable[[Store, Effect], None]] = {
    "record_unanswered": _record_unanswered,
}
"""Effects that are only a few Redis writes: they ride along with the turn's last round trip."""


def split_store_writes(outcome: Outcome) -> tuple[Outcome, Callable[[Store], None]]:
    """The outcome without its plain store writes, and a function adding those writes to a batch."""
    writes = [e for e in outcome.effects if e.kind in STORE_WRITES]
    if not writes:
        return outcome, lambda store: None
    rest = tuple(e for e in outcome.effects if e.kind not in STORE_WRITES)

    def write(store: Store) -> None:
        for effect in writes:
            STORE_WRITES[effect.kind](store, effect)

    return replace(outcome, effects=rest), write


def run_effects(services: Services, message: Incoming, outcome: Outcome) -> Outcome:
    """Run each effect in order; each may change the state and add replies."""
    effects, outcome = outcome.effects, replace(outcome, effects=())
    for effect in effects:
        runner = RUNNERS.get(effect.kind)
        if runner is None:
            log.error("no runner for effect %r", effect.kind)
            continue
        try:
            outcome = runner(services, message, outcome, effect)
        except StoreUnavailable as exc:
            log.error("effect %s skipped, store unavailable: %s", effect.kind, exc)
    return outcome
