"""Which handler gets a message: commands first, then an active flow, then entry points, then FAQ.

Each handler returns ``None`` to pass the message on (like aiogram's routers and filters);
the first outcome wins. :func:`fit_reply` (applied by the webhook to whatever route produced)
fits the reply into one WeChat text message, keeping the rest for ``更多``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core.conversation import Context, Handler, Incoming, Outcome, State
from bot.wechat.protocol import TEXT_LIMIT_BYTES
from handlers import commands, faq, join, member, staff, stations

FLOWS = {join.SIGNUP.name: join.SIGNUP}
"""Active multi-step flows by the name kept in ``state["flow"]``; each is declared in one table."""

BY_NAME: dict[str, Handler] = {"member": member.handle, "stations": stations.handle}
"""Handlers a flow may let through by name (``passes_through``): 我的会员 or 驿站 mid-signup."""

MENU_KEYS = frozenset().union(*(t.menu_keys for t in (commands.HELP, join.TRIGGER, member.TRIGGER, stations.TRIGGER)))
"""The one set of menu click keys: those the handlers declared beside themselves (``TRIGGER``)."""

BEFORE_FLOWS: tuple[Handler, ...] = (commands.human, commands.help_menu, staff.bind)
"""Commands that work anywhere and leave a flow's answers untouched."""

ENTRY_POINTS: tuple[Handler, ...] = (
    *join.SIGNUP.entry_points,
    commands.read_more,
    commands.cancel_without_flow,
    member.handle,
    stations.handle,
    commands.events,
    commands.small_talk,
    faq.handle,
)

MORE_HINT = "\n（内容较长，回复“更多”看后面的部分）"
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")


def route(state: State, message: Incoming, ctx: Context) -> Outcome:
    """The outcome for one message: the first handler that takes it."""
    outcome, handler = _first(state, message, ctx)
    if handler is faq.handle or message.kind == "event":  # an event may come unasked (a receipt)
        return outcome
    return faq.expire_suggestions(state, outcome)


def _first(state: State, message: Incoming, ctx: Context) -> tuple[Outcome, Handler]:
    flow = FLOWS.get(state.get("flow", ""))
    in_flow = (*(BY_NAME[name] for name in flow.passes_through), flow.handle) if flow else ()
    for handler in (*BEFORE_FLOWS, *in_flow, *ENTRY_POINTS):
        if (outcome := handler(state, message, ctx)) is not None:
            return outcome, handler
    return commands.fallback(state, message, ctx), commands.fallback


def fit_reply(outcome: Outcome, limit: int = TEXT_LIMIT_BYTES) -> Outcome:
    """Join the replies into one text; past ``limit`` bytes cut at a sentence, keep the rest for 更多."""
    text = "\n\n".join(r for r in outcome.replies if r)
    if len(text.encode("utf-8")) <= limit:
        return replace(outcome, replies=(text,) if text else ())
    head, rest = split_text(text, limit - len(MORE_HINT.encode("utf-8")))
    state = dict(outcome.state)
    state["more"] = rest
    return replace(outcome, state=state, replies=(head + MORE_HINT,))


def split_text(text: str, limit: int) -> tuple[str, str]:
    """(head, rest) with head at most ``limit`` UTF-8 bytes, cut after a sentence where possible."""
    head = ""
    for sentence in _SENTENCE_END.split(text):
        if len((head + sentence).encode("utf-8")) > limit:
            break
        head += sentence
    if not head.strip():  # one giant sentence: cut at the byte limit on a character boundary
        head = text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    return head.rstrip(), text[len(head) :].lstrip()
