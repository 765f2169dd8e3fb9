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
from bot.core.flow import REGISTER_RESULTS
from bot.registry import staff
from bot.registry.repository import RegistryUnavailable
from bot.signup.privacy import mask_openid
from bot.storage import bind_codes, stats
from bot.storage.store import Store, StoreUnavailable

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

Runner = Callable[["Services", Incoming, Outcome, Effect], Outcome]


def _record_unanswered(store: Store, effect: Effect) -> None:
    store.record_unanswered(str(effect.data.get("question", "")), str(effect.data.get("outcome", "none")))


def _follow_up_unanswered(store: Store, effect: Effect) -> None:
    data = effect.data
    store.follow_up_unanswered(str(data.get("question", "")), str(data.get("was", "")), str(data.get("outcome", "")),
                               str(data.get("entry", "")))


def _count_question(store: Store, effect: Effect) -> None:
    at, user, text = float(effect.data.get("at", 0)), str(effect.data.get("user", "")), str(effect.data.get("text", ""))
    stats.count_question(store, str(effect.data.get("outcome", "")), at)
    if user and text.strip():
        stats.remember_message(store, user, text, at)


def _human_requested(store: Store, effect: Effect) -> None:
    stats.record_human_request(store, str(effect.data.get("user", "")), float(effect.data.get("at", 0)))


def _register_member(services: Services, message: Incoming, outcome: Outcome, effect: Effect) -> Outcome:
    """Write the member once; the flow that asked words the reply for each result."""
    flow = str(outcome.state.get("flow") or "")
    if flow not in REGISTER_RESULTS:
        log.error("register_member from %r, which registered no result callbacks", flow)
        return outcome
    registered, failed = REGISTER_RESULTS[flow]
    ctx = services.context()
    try:
        result = services.database.call(services.config.database.write_timeout,
                                        services.registry.register, dict(effect.data))
    except RegistryUnavailable as exc:
        log.error("registry unavailable at 确认 for %s: %s", message.user, exc)
        metrics.SIGNUPS.labels("unavailable").inc()
        followup = failed(outcome.state, "unavailable", ctx)
    else:
        metrics.SIGNUPS.labels(result.conflict or ("created" if result.created else "existing")).inc()
        if result.conflict:
            followup = failed(outcome.state, result.conflict, ctx)
        else:
            followup = registered(outcome.state, result.member, ctx)
            if result.created:
                services.ticker.wake()  # the reviewers hear of it within seconds (bot.notify.staff)
    return replace(outcome, state=followup.state, replies=outcome.replies + followup.replies)


def _id_number_reused(services: Services, message: Incoming, outcome: Outcome, effect: Effect) -> Outcome:
    """Note on the holder's audit trail that another WeChat account typed their ID number."""
    try:
        services.registry.record_reused_id_number(str(effect.data["id_number"]), str(effect.data["openid"]))
    except RegistryUnavailable as exc:
        log.error("could not note a reused ID number from %s: %s", message.user, exc)
    return outcome


BIND_WRONG = "绑定码不正确或已过期。请在工作台“我的微信提醒”页面重新获取绑定码，再发送“绑定 绑定码”。"
BIND_LOCKED = "绑定码错误次数过多，请一小时后再试。"
BIND_UNAVAILABLE = "系统暂时无法完成绑定，请稍后再发送一次。"


def _bind_staff_wechat(services: Services, message: Incoming, outcome: Outcome, effect: Effect) -> Outcome:
    """绑定 <code>: the console account that code was shown to gets this WeChat's staff alerts."""
    openid, code = str(effect.data["openid"]), str(effect.data["code"])
    store = services.store
    if bind_codes.locked_out(store, openid):
        reply = BIND_LOCKED
    elif (taken := bind_codes.take(store, code)) is None:
        wrong = bind_codes.count_wrong(store, openid)
        log.warning("wrong staff bind code from %s (%d in the window)", mask_openid(openid), wrong)
        reply = BIND_WRONG
    else:
        username, ttl = taken
        try:
            role = staff.bind_wechat(services.registry, username, openid)
        except staff.AccountError:
            reply = "该工作台账号已停用，不能绑定。"
        except RegistryUnavailable as exc:
            log.error("staff bind for %s not written: %s", username, exc)
            bind_codes.give_back(store, code, username, ttl)
            reply = BIND_UNAVAILABLE
        else:
            log.info("staff account %s bound a WeChat account (%s)", username, mask_openid(openid))
            gets = ("今后新的入会申请、人工求助和审核提醒会发到这里" if role in staff.ALERTED_ROLES
                    else "但编辑账号不接收审核和人工求助提醒")
            reply = f"绑定成功：此微信已绑定工作台账号 {username}，{gets}。可在工作台“我的微信提醒”页面解除绑定。"
    return replace(outcome, replies=outcome.replies + (reply,))


RUNNERS: dict[str, Runner] = {
    "register_member": _register_member,
    "id_number_reused": _id_number_reused,
    "bind_staff_wechat": _bind_staff_wechat,
}

STORE_WRITES: dict[str, Callable[[Store, Effect], None]] = {
    "record_unanswered": _record_unanswered,
    "follow_up_unanswered": _follow_up_unanswered,
    "count_question": _count_question,
    "human_requested": _human_requested,
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
