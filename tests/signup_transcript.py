"""A worker's signup as a transcript through the real router, for the signup behaviour tests.

Only the router, the conversation types and the state's documented shape (``state["flow"]``,
``state["join"]["step"]``, ``state["join"]["answers"]``) are used, so the transcripts read the
same against any version of the flow. The FAQ is the shipped knowledge with the real matcher.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

from bot.core.conversation import Context, Incoming, Outcome, State
from bot.core.router import route
from bot.faq.knowledge import load_knowledge
from bot.faq.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2024, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=8))).timestamp()
USER = "oRider1"
ID = "11010519491231002X"
PHONE = "13812345678"
STEPS = ("privacy", "id_consent", "name", "phone", "id_number", "occupation", "occupation_other", "employer",
         "summary")
SCRIPT = ("join:ST001", "同意", "同意", "张三", PHONE, ID, "其他", "代驾", "美团")
"""From the scan to the summary, one step per message, through every step."""


@cache
def shipped_matcher() -> Matcher:
    return Matcher(load_knowledge(ROOT / "knowledge"), semantic=False)


def faq_answer(entry_id: str) -> str:
    return shipped_matcher().knowledge.by_id[entry_id].answer


class Members:
    """The registry as the flow may read it: members by openid, ID numbers and who applied with them."""

    def __init__(self, id_numbers: Mapping[str, str] | None = None) -> None:
        self.id_numbers = dict(id_numbers or {})

    def find_by_openid(self, openid: str) -> Mapping[str, Any] | None:
        return None

    def id_number_taken(self, id_number: str, openid: str) -> bool:
        return self.id_numbers.get(id_number, openid) != openid


class Stations:
    def station(self, code: str) -> Mapping[str, Any] | None:
        return {"code": code, "name": "城关职工驿站"} if code == "ST001" else None

    def nearest(self, latitude: float, longitude: float, count: int = 3) -> list[Mapping[str, Any]]:
        return []


def make_ctx(members: Members | None = None, faq: bool = True) -> Context:
    return Context(now=NOW, members=members or Members(), stations=Stations(),
                   faq=shipped_matcher if faq else None)


class Worker:
    """One worker chatting: every message through the router, the state round-tripped through JSON."""

    def __init__(self, ctx: Context | None = None) -> None:
        self.ctx = ctx or make_ctx()
        self.state: State = {}
        self.outcome = Outcome(state={})

    def send(self, body: str) -> str:
        if body.startswith("join:"):
            message = Incoming(user=USER, kind="event", event="SCAN", event_key=body)
        else:
            message = Incoming(user=USER, kind="text", text=body)
        self.outcome = route(self.state, message, self.ctx)
        self.state = json.loads(json.dumps(self.outcome.state, ensure_ascii=False))
        return self.reply

    @property
    def reply(self) -> str:
        return "\n".join(self.outcome.replies)

    @property
    def step(self) -> str | None:
        return (self.state.get("join") or {}).get("step") if self.state.get("flow") == "join" else None

    @property
    def answers(self) -> dict[str, Any]:
        return (self.state.get("join") or {}).get("answers", {})

    @property
    def effects(self) -> list[tuple[str, dict[str, Any]]]:
        return [(e.kind, dict(e.data)) for e in self.outcome.effects]


def at_step(step: str, ctx: Context | None = None) -> Worker:
    """A worker who has answered everything before ``step`` along the plain path."""
    worker = Worker(ctx)
    for body in SCRIPT:
        worker.send(body)
        if worker.step == step:
            return worker
    raise AssertionError(f"never reached {step}: at {worker.step}")
