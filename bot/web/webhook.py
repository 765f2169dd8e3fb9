"""The ``/wechat`` endpoint: the thin shell between WeChat's HTTP calls and the pure handlers.

Order of work for a POST: verify and decrypt (:mod:`bot.wechat.protocol`) → refuse a signed query
replayed with another body → dedup WeChat's retries
(the same reply again, no handler re-run) → per-user lock → load state → route → save state →
carry out effects → render (notices that waited for this message first: :mod:`bot.notify.waiting`),
encrypt, remember the reply for retries. The work runs on a worker
thread; WeChat gets ``success`` at the reply deadline and a late reply is delivered otherwise. Any failure past
parsing still answers 200 with a text the worker can act on: a 5xx would make WeChat retry
and then show "该公众号暂时无法提供服务".
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import secrets
from dataclasses import replace

from flask import Blueprint, Response, current_app, request

from bot import logs, metrics
from bot.core.conversation import Incoming, Outcome, State
from bot.core.effects import STORE_WRITES, run_effects, split_store_writes
from bot.core.router import fit_reply
from bot.services import Services
from bot.storage.store import LockTimeout, Store, StoreUnavailable, Turn
from bot.web.delivery import Delivery
from bot.wechat.api import within_service_window
from bot.wechat.protocol import (
    ProtocolError,
    Query,
    body_digest,
    check_request,
    dedup_key,
    open_message,
    parse,
    render_text,
    render_transfer,
    request_key,
    seal,
)

log = logging.getLogger(__name__)

bp = Blueprint("wechat", __name__)

TEXT_KEEP = (250, 250)
"""Characters kept from the beginning and the end of a long message (WeChat allows a few thousand)."""

PENDING_KEY = "pending_reply"
"""State key of a reply that was ready too late for WeChat and could not be sent otherwise."""

BUSY_TEXT = "上一条消息还在处理，请稍等几秒再发一次。"
DEGRADED_TEXT = (
    "系统正在维护，暂时不能办理需要多步填写的事项（比如入会），请稍后再试；"
    "之前没填完的内容，维护后可能需要重新填写。咨询问题可以直接打字提问，急事请拨打 {hotline}。"
)
ERROR_TEXT = "抱歉，系统出了点问题，请稍后再试；急事请拨打 {hotline}，或回复“人工”。"


def _services() -> Services:
    return current_app.extensions["unionbot"]


@bp.get("/wechat")
def verify() -> Response:
    """WeChat's server check when the URL is configured: echo ``echostr`` if the signature is ours."""
    services = _services()
    query = Query.from_args(request.args)
    try:
        check_request(services.config.wechat, query, services.clock())
    except ProtocolError as exc:
        log.warning("refused verification: %s", exc.reason)
        return Response(exc.reason, status=exc.status, mimetype="text/plain")
    return Response(query.echostr, mimetype="text/plain")


@bp.post("/wechat")
def receive() -> Response:
    services = _services()
    config = services.config.wechat
    query = Query.from_args(request.args)
    now = services.clock()
    body = request.get_data(cache=False)
    try:
        plain = open_message(config, query, body, now)
        _refuse_replay(services, query, body)
        message = bounded(parse(plain))
    except ProtocolError as exc:
        log.warning("refused message (%s): %s", exc.status, exc.reason)
        return Response(exc.reason, status=exc.status, mimetype="text/plain")
    with metrics.REPLY_SECONDS.time(), logs.request_context(message.user):
        reply = answer_in_time(services, message)
    if reply == "success":
        return Response("success", mimetype="text/plain")
    return Response(seal(config, query, reply, secrets.token_hex(8), int(now)), mimetype="application/xml")


def _refuse_replay(services: Services, query: Query, body: bytes) -> None:
    """A signed query string seen before with another body is a replay: in plain mode nothing signs
    the body, so whoever saw one callback URL could otherwise post anything as anyone for as long as
    its timestamp is fresh. The same body again is WeChat's retry and goes on to get the same reply.

    Each request is remembered for twice the timestamp window: a timestamp is accepted from
    ``window`` seconds before it until ``window`` seconds after.

    When Redis is down the check cannot be made and the request goes on: refusing would turn a
    Redis outage into "该公众号暂时无法提供服务" for every worker, and without Redis the bot only
    answers what needs no conversation (no flow starts, nothing is written). In safe mode the body
    is signed too (``msg_signature``), so a replay can only repeat the very same message.
    """
    ttl = 2 * services.config.wechat.timestamp_window
    try:
        fresh = services.store.remember_request(request_key(query), body_digest(body), ttl)
    except StoreUnavailable as exc:
        log.warning("store unavailable, replay check skipped: %s", exc)
        return
    if not fresh:
        raise ProtocolError(403, "signed request replayed with another body")


def bounded(message: Incoming) -> Incoming:
    """The message with its text cut to :data:`TEXT_KEEP` characters (beginning and end).

    Handlers, the matcher and its memo never see more, however long the message: a question is
    usually at the start or the end of a long story, so both are kept.
    """
    if len(message.text) <= sum(TEXT_KEEP):
        return message
    head, tail = TEXT_KEEP
    return replace(message, text=message.text[:head] + "\n" + message.text[-tail:])


def answer_in_time(services: Services, message: Incoming) -> str:
    """:func:`handle` on a worker thread; past ``service.reply_deadline`` WeChat gets ``success``
    and the reply goes out later (:func:`_deliver_late`), instead of WeChat giving up on it."""
    delivery = Delivery()
    services.workers.submit(contextvars.copy_context().run, _handle_into, services, message, delivery)
    return delivery.wait(services.config.service.reply_deadline)


def _handle_into(services: Services, message: Incoming, delivery: Delivery) -> None:
    try:
        reply = handle(services, message, delivery)
    except Exception:  # handle() answers its own failures: this only guards the thread
        log.exception("unexpected failure for a message of %s", message.user)
        reply = render_text(message.user, message.account,
                            ERROR_TEXT.format(hotline=services.config.service.hotline), int(services.clock()))
    delivery.put(reply)


def handle(services: Services, message: Incoming, delivery: Delivery) -> str:
    """The reply XML for one parsed message (or ``success`` for nothing to say); a reply ready
    only after ``delivery``'s deadline is delivered late instead."""
    store = services.store
    key = dedup_key(message)
    wait = max(0.1, services.config.service.reply_deadline - 0.5)
    try:
        turn = store.begin_turn(message.user, key, wait=wait)
        if turn is None:
            turn = _retry(store, key, message, wait)
            if isinstance(turn, str):
                return turn
    except LockTimeout:
        metrics.MESSAGES.labels(message.kind, "busy").inc()
        return render_text(message.user, message.account, BUSY_TEXT, int(services.clock()))
    except StoreUnavailable as exc:
        log.error("store unavailable, answering without conversation state: %s", exc)
        return _render(services, message, _degraded(services, message))
    release = services.turns.hold(turn)
    try:
        return _handle_turn(services, message, turn, delivery)
    finally:
        release()


def _retry(store: Store, key: str, message: Incoming, wait: float) -> Turn | str:
    """A message claimed before: the first delivery's reply, or the turn itself when the first
    delivery died without one (its claim expired), or ``success`` while it is still at work."""
    stored = store.wait_reply(key, wait)
    if stored is not None:
        metrics.RETRIES.labels("replied").inc()
        log.info("retry of %s answered from the first delivery", key)
        return stored.decode("utf-8")
    turn = store.begin_turn(message.user, key, wait=wait)
    if turn is None:
        metrics.RETRIES.labels("in_progress").inc()
        log.info("retry of %s: the first delivery is still at work, no reply yet; answered success", key)
        return "success"
    metrics.RETRIES.labels("rerun").inc()
    log.warning("retry of %s: the first delivery left no reply (its worker died?); handling it again", key)
    return turn


def _handle_turn(services: Services, message: Incoming, turn: Turn, delivery: Delivery) -> str:
    store = services.store
    key = turn.message_key
    state = dict(turn.state)
    pending = state.pop(PENDING_KEY, "")
    waiting = services.waiting_notices
    shown: list[str] = []
    try:
        check = waiting.find(message)
        outcome = services.route(state, message, services.context())
        shown = waiting.show(check)
        # before anything else: notices WeChat would not take, then a reply that came too late for it
        lead = (*shown, pending) if pending else tuple(shown)
        if lead:
            outcome = replace(outcome, replies=(*lead, *outcome.replies))
        metrics.MESSAGES.labels(message.kind, metrics.message_outcome(outcome)).inc()
        outcome, store_writes = split_store_writes(fit_reply(outcome))
        if outcome.effects:
            store.save_state(message.user, outcome.state)  # effects run only once the state is safe
            outcome = run_effects(services, message, outcome)
        state = outcome.state
        if delivery.keep_reply():
            reply = _render(services, message, outcome)
        else:
            state = _deliver_late(services, message, outcome)
            reply = "success"
    except StoreUnavailable as exc:
        log.error("store failed mid-conversation, answering without state: %s", exc)
        degraded = _degraded(services, message)
        return _render(services, message, fit_reply(replace(degraded, replies=(*shown, *degraded.replies))))
    except Exception:
        metrics.MESSAGES.labels(message.kind, "error").inc()
        log.exception("handler failed for %s", key)
        with contextlib.suppress(StoreUnavailable):
            store.abandon_turn(turn)
        text = ERROR_TEXT.format(hotline=services.config.service.hotline)
        # notices already marked shown still reach the worker, with the apology
        return _render(services, message, fit_reply(Outcome(state={}, replies=(*shown, text))))

    def also(batch: Store) -> None:
        services.after_message(message, batch)
        waiting.remember(batch, check)
        store_writes(batch)

    try:
        store.finish_turn(turn, state, reply.encode("utf-8"), also=also)
    except StoreUnavailable as exc:  # the work is done (maybe a member written): still say so
        metrics.STORE_ERRORS.inc()
        log.error("answered %s but could not save the conversation: %s", key, exc)
    return reply


def _deliver_late(services: Services, message: Incoming, outcome: Outcome) -> State:
    """Send a reply WeChat no longer waits for as a customer-service message where allowed; else
    keep it in the state, to be shown with the worker's next reply. Returns the state to save."""
    text = "\n\n".join(r for r in outcome.replies if r)
    if not text:
        return outcome.state
    if services.wechat is not None and (
            message.kind != "event" or within_service_window(services.store, message.user, services.clock())):
        try:
            if services.wechat.send_text(message.user, text):
                metrics.LATE_REPLIES.labels("customer_service").inc()
                log.info("late reply to %s sent as a customer-service message", message.user)
                return outcome.state
        except Exception:
            log.exception("late reply to %s could not be sent; kept for the next message", message.user)
    metrics.LATE_REPLIES.labels("next_message").inc()
    log.info("late reply to %s kept for their next message", message.user)
    earlier = outcome.state.get(PENDING_KEY, "")
    return {**outcome.state, PENDING_KEY: "\n\n".join(filter(None, (earlier, text)))}


def _degraded(services: Services, message: Incoming) -> Outcome:
    """Without Redis: answer what needs no memory (FAQ, commands); refuse to start flows.

    A suggestion list is still shown (its questions can be typed back); only a numbered pick,
    which needs the remembered list, will not work until Redis is back.
    """
    metrics.STORE_ERRORS.inc()
    metrics.MESSAGES.labels(message.kind, "degraded").inc()
    outcome = fit_reply(services.route({}, message, services.context()))
    if outcome.state.get("flow") or any(e.kind not in STORE_WRITES for e in outcome.effects):
        text = DEGRADED_TEXT.format(hotline=services.config.service.hotline)
        return Outcome(state={}, replies=(text,))
    return replace(outcome, effects=())


def _render(services: Services, message: Incoming, outcome: Outcome) -> str:
    now = int(services.clock())
    text = "\n\n".join(outcome.replies)
    if outcome.transfer_to_human and services.wechat is not None:
        if text:
            services.send_later(message.user, text)
        return render_transfer(message.user, message.account, now)
    if not text:
        return "success"
    return render_text(message.user, message.account, text, now)
