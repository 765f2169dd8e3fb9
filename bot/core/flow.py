"""Multi-step flows declared in one table, run by one engine (as python-telegram-bot's
``ConversationHandler``: entry points, states, fallbacks).

A flow keeps ``state["flow"] = name`` and its own data (the *draft*) in ``state[name]``, with the
current step in ``draft["step"]``. For each message the engine tries the fallbacks in order, then
runs the current step's function, which returns a :class:`Turn`: go to a step, stay, or end, what
to say first, and any effects. Step functions may change the draft they are given (a copy).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.conversation import Context, Effect, Handler, Incoming, Outcome, State

STAY, END = "stay", "end"

OnRegistered = Callable[[State, Mapping[str, Any], Context], Outcome]
OnRegisterFailed = Callable[[State, str, Context], Outcome]
REGISTER_RESULTS: dict[str, tuple[OnRegistered, OnRegisterFailed]] = {}
"""By flow name: how the flow that asked for ``register_member`` words the registry's answer
(read by the effects runner, which knows no flow by name)."""


def on_register_result(flow: str, registered: OnRegistered, failed: OnRegisterFailed) -> None:
    """Called by a flow that returns ``register_member`` effects, where the flow is defined."""
    REGISTER_RESULTS[flow] = (registered, failed)

Draft = dict[str, Any]
"""A flow's own part of the state; JSON-serialisable like the rest."""


@dataclass(frozen=True)
class Turn:
    """What a step decided: where to go, what to say first, what the shell should do afterwards."""

    to: str
    """A step, :data:`STAY` or :data:`END`."""
    say: tuple[str, ...] = ()
    prompt: bool = True
    """Follow with the prompt of the step gone to (a step staying usually says only its correction)."""
    understood: bool = True
    """False when the message was no answer to the step: :attr:`Flow.not_understood` may take it."""
    effects: tuple[Effect, ...] = ()


def go(step: str, *say: str, prompt: bool = True) -> Turn:
    return Turn(step, say, prompt)


def stay(*say: str, prompt: bool = False, understood: bool = False) -> Turn:
    return Turn(STAY, say, prompt, understood)


def end(*say: str, effects: tuple[Effect, ...] = ()) -> Turn:
    return Turn(END, say, effects=effects)


@dataclass(frozen=True)
class StepSpec:
    run: Callable[[Draft, Incoming, Context], Turn]
    prompt: str | Callable[[Draft, Context], str]
    """What the step asks, in full (on entering it, or when coming back to it)."""
    short: str
    """One line back to the step, after something else was answered in between."""

    def ask(self, draft: Draft, ctx: Context) -> str:
        return self.prompt if isinstance(self.prompt, str) else self.prompt(draft, ctx)


Fallback = Callable[[State, Draft, Incoming, Context], Outcome | None]
PASS = Outcome(state={})
"""Returned by a fallback to leave the message to other handlers (the flow returns None)."""


@dataclass(frozen=True)
class Flow:
    name: str
    """Kept in ``state["flow"]`` while the flow is active; its draft is ``state[name]``."""
    entry_points: tuple[Handler, ...]
    steps: Mapping[str, StepSpec]
    fallbacks: tuple[Fallback, ...]
    """Tried in order at every step, before the step itself."""
    passes_through: tuple[str, ...]
    """Handlers (by the router's name) whose words reach them, not the flow, while it is active."""
    restart: Handler
    """For a state whose step this flow does not know (written by an older version)."""
    not_understood: Fallback | None = None
    """For a message the step could not take (:attr:`Turn.understood` False), e.g. a question."""

    def handle(self, state: State, message: Incoming, ctx: Context) -> Outcome | None:
        """The next step of the active flow; None for messages it leaves to other handlers."""
        if state.get("flow") != self.name:
            return None
        draft = state.get(self.name)
        if not isinstance(draft, dict) or draft.get("step") not in self.steps:
            return self.restart(self.without(state), message, ctx)
        draft = copy.deepcopy(draft)
        for fallback in self.fallbacks:
            if (outcome := fallback(state, draft, message, ctx)) is not None:
                return None if outcome is PASS else outcome
        turn = self.steps[draft["step"]].run(draft, message, ctx)
        unclear = not turn.understood and self.not_understood is not None
        if unclear and (outcome := self.not_understood(state, draft, message, ctx)) is not None:
            return outcome
        if turn.to == END:
            return Outcome(state=self.without(state), replies=_joined(turn.say), effects=turn.effects)
        if turn.to != STAY:
            draft["step"] = turn.to
        prompt = self.steps[draft["step"]].ask(draft, ctx) if turn.prompt else ""
        return self.reply(state, draft, *turn.say, prompt, effects=turn.effects)

    def prompt(self, state: State, ctx: Context) -> str:
        """What to say to bring the user back to the current step ("" when the flow is not active)."""
        draft = state.get(self.name) or {}
        if state.get("flow") != self.name or draft.get("step") not in self.steps:
            return ""
        return self.steps[draft["step"]].ask(draft, ctx)

    def without(self, state: State) -> State:
        """The state with this flow left and its draft forgotten; everything else kept."""
        rest = {k: v for k, v in state.items() if k != self.name}
        if rest.get("flow") == self.name:
            rest.pop("flow")
        return rest

    def with_draft(self, state: State, draft: Draft) -> State:
        new = {k: copy.deepcopy(v) for k, v in state.items() if k not in ("flow", self.name)}
        return new | {"flow": self.name, self.name: draft}

    def reply(self, state: State, draft: Draft, *parts: str, effects: tuple[Effect, ...] = ()) -> Outcome:
        """Stay in the flow with ``draft``, saying the non-empty ``parts`` as one message."""
        return Outcome(state=self.with_draft(state, draft), replies=_joined(("\n".join(p for p in parts if p),)),
                       effects=effects)


def _joined(parts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p for p in parts if p)
