"""Every pointer in a shipped answer (请问“…”, 回复“…”) leads somewhere: routed through the real
router and matcher, the quoted text reaches another entry's answer or a flow or command, never the
same answer, a numbered list or "not found"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.conversation import Context, Incoming
from bot.core.router import route
from bot.faq.knowledge import load_knowledge
from bot.faq.matcher import Matcher
from handlers import faq

ROOT = Path(__file__).resolve().parent.parent
POINTER = re.compile(r"(?:请问|回复|问)“([^”]+)”")
IN_SIGNUP = {"确认", "修改"}
"""Words an answer tells the worker to send inside the signup (核对后回复“确认”): the flow's own words."""


class Stations:
    def station(self, code):
        return None

    def all(self):
        return [{"code": "ST001", "name": "测试驿站", "address": "青溪县城关镇1号", "hours": "全天"}]

    def nearest(self, latitude, longitude, count=3):
        return []


KNOWLEDGE = load_knowledge(ROOT / "knowledge")
ALL_POINTERS = sorted({(e.id, quoted) for e in KNOWLEDGE.entries for quoted in POINTER.findall(e.answer)})
POINTERS = [(i, q) for i, q in ALL_POINTERS if q not in IN_SIGNUP]


_MATCHERS: dict[bool, Matcher] = {}


@pytest.fixture(params=[False, True], ids=["lexical", "semantic"])
def matcher(request) -> Matcher:
    if request.param:
        request.getfixturevalue("semantic_model")
    if request.param not in _MATCHERS:  # built once per module run: the index is the slow part
        _MATCHERS[request.param] = Matcher(KNOWLEDGE, semantic=request.param)
    return _MATCHERS[request.param]


def test_the_shipped_answers_have_pointers() -> None:
    assert len(POINTERS) >= 10 and any(q == "没有单位会费怎么交" for _, q in POINTERS)
    # the signup's own words are only pointed to by answers about signing up
    assert {i.split(".")[0] for i, q in ALL_POINTERS if q in IN_SIGNUP} <= {"join"}


@pytest.mark.parametrize(("entry_id", "quoted"), POINTERS)
def test_every_pointer_leads_somewhere(matcher: Matcher, entry_id: str, quoted: str) -> None:
    ctx = Context(hotline="12351", faq=lambda: matcher, stations=Stations())
    out = route({}, Incoming(user="u1", kind="text", text=quoted), ctx)
    reply = "\n".join(out.replies)
    answers = {e.answer: e.id for e in KNOWLEDGE.entries}
    assert reply, (entry_id, quoted)
    assert not reply.startswith("您是想问哪一个"), (entry_id, quoted, reply)
    assert reply != faq.none_text(ctx), (entry_id, quoted)
    reached = answers.get(reply)
    assert reached != entry_id, (entry_id, quoted, "points back to itself")
