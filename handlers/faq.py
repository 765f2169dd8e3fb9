"""FAQ: answer a question from the knowledge, offer a numbered choice, or say honestly we don't know.

Pure: reads the matcher through ``ctx.faq()`` and records unanswered questions only by
returning ``Effect("record_unanswered", {"question": …, "outcome": "none" | "suggest"})``: a
question is recorded once, when it gets "no answer" or a numbered list (a list may never be picked
from: the worker may just leave, and the state then expires unseen). The conversation remembers
that question (``state["gap"]``, masked) so a later turn can say how it ended after all:
``Effect("follow_up_unanswered", {"question", "was", "outcome": "picked" | "human", "entry"})``
when the worker picks from its list, or asks for a person (人工) within :data:`HUMAN_AFTER`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from typing import Any

from bot.core.conversation import Context, Effect, Incoming, Outcome, State
from bot.signup.privacy import mask_numbers

SUGGEST_FOOTER = "回复数字查看"
NO_LIST_TEXT = "现在没有待选的问题了。请直接打字说说您想问什么，比如“会费怎么交”；找工作人员请回复“人工”。"
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_PICK_RE = re.compile(r"^(?:第)?([1-9]|[一二两三四五六七八九])(?:个|条|项)?(?:吧|吧。|。|\.|！|!)?$")
HUMAN_AFTER = 600.0
"""Seconds after a question the bot did not answer directly (or answered only from a pick) within
which 人工 is taken as that question's outcome: the same conversation, a few minutes later."""


def parse_pick(text: str) -> int | None:
    """1-based choice from a reply like 1, １, ②, 第二个, 3.; None when it is not a pick."""
    t = unicodedata.normalize("NFKC", text or "").strip()
    t = re.sub(r"\s+", "", t)
    m = _PICK_RE.match(t)
    if not m:
        return None
    d = m.group(1)
    return int(d) if d.isdigit() else _CN_DIGITS[d]


def suggestion_text(questions: list[str]) -> str:
    lines = ["您是想问哪一个？"]
    lines += [f"{i}. {q}" for i, q in enumerate(questions, 1)]
    lines.append(f"{SUGGEST_FOOTER}（1-{len(questions)}）。")
    return "\n".join(lines)


def none_text(ctx: Context) -> str:
    return ("这个我不清楚，问答资料里没找到答案。\n"
            "您可以换个说法再问，或回复“人工”联系工作人员，"
            f"也可以拨打职工服务热线 {ctx.hotline}。")


def unavailable_text(ctx: Context) -> str:
    return ("抱歉，问答资料暂时打不开，这个问题我现在回答不了。\n"
            f"您可以回复“人工”联系工作人员，也可以拨打职工服务热线 {ctx.hotline}。")


def _without(state: State, *keys: str) -> State:
    return {k: v for k, v in state.items() if k not in keys}


def _without_suggestions(state: State) -> State:
    # suggested_for: where versions before state["gap"] kept the listed question in clear
    return _without(state, "suggestions", "suggested_for")


def _unanswered(state: State, question: str, outcome: str, ctx: Context) -> tuple[State, Effect]:
    """Record ``question`` as unanswered and remember it (numbers masked) for its follow-up."""
    gap = {"q": mask_numbers(question), "outcome": outcome, "at": ctx.now}
    return dict(state, gap=gap), Effect("record_unanswered", {"question": question, "outcome": outcome})


def _followed_up(gap: dict[str, Any], outcome: str, entry: str = "") -> Effect:
    return Effect("follow_up_unanswered", {"question": gap["q"], "was": gap["outcome"], "outcome": outcome,
                                           "entry": entry})


def human_after_gap(state: State, ctx: Context) -> tuple[State, tuple[Effect, ...]]:
    """人工: the state without the remembered question, and, when it was left unanswered (or
    answered only from a pick) in the last :data:`HUMAN_AFTER` seconds, its follow-up as 人工."""
    gap = state.get("gap")
    if not isinstance(gap, dict):
        return state, ()
    recent = ctx.now - float(gap.get("at", 0)) <= HUMAN_AFTER
    return _without(state, "gap"), (_followed_up(gap, "human"),) if recent else ()


def out_of_range_text(questions: list[str]) -> str:
    """A number the list does not have: which numbers it has, and the list again."""
    return f"没有这个序号，请回复1到{len(questions)}之间的数字。\n" + suggestion_text(questions)


def expire_suggestions(before: State, outcome: Outcome) -> Outcome:
    """A numbered list is good for the next message only. When another handler took that message
    (人工, 驿站, a greeting…), forget the list, so a later 2 is not read as a pick from it (its
    question was recorded when the list was shown)."""
    if not before.get("suggestions"):
        return outcome
    return replace(outcome, state=_without_suggestions(outcome.state))


def _counted(outcome: str, message: Incoming, ctx: Context) -> Effect:
    """A question for the daily statistics (answered, list, not_found; 人工 counts in commands),
    also kept masked for 48 h in case the worker then asks for a person."""
    return Effect("count_question", {"outcome": outcome, "at": ctx.now, "user": message.user,
                                     "text": message.text or ""})


def handle(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    if not message.is_text_like or ctx.faq is None:
        return None
    text = (message.text or "").strip()
    matcher = ctx.faq()
    if matcher is None:  # no knowledge could be loaded yet (logged): say so, and keep the question
        state, missed = _unanswered(state, text, "none", ctx)
        return Outcome(state=state, replies=(unavailable_text(ctx),),
                       effects=(missed, _counted("not_found", message, ctx)))
    suggestions = state.get("suggestions") or []
    pick = parse_pick(text)
    if suggestions and pick is not None:
        entries = [matcher.knowledge.by_id.get(i) for i in suggestions]
        if any(e is None for e in entries):  # the knowledge changed since the list was shown
            return Outcome(state=_without_suggestions(state), replies=(NO_LIST_TEXT,))
        if not 1 <= pick <= len(entries):  # keep the list: the worker meant to pick from it
            return Outcome(state=state, replies=(out_of_range_text([e.question for e in entries]),))
        return _picked(state, entries[pick - 1].id, entries[pick - 1].answer, ctx)
    if pick is not None:  # a pick from a list already gone: not a question to match
        return Outcome(state=state, replies=(NO_LIST_TEXT,))
    state = _without_suggestions(state)

    result = matcher.match(text)
    if result.outcome == "answer" and result.candidates:
        entry = matcher.knowledge.by_id[result.candidates[0].entry_id]
        # answered: a later 人工 is about this question, not an earlier unanswered one
        return Outcome(state=_without(state, "gap"), replies=(entry.answer,),
                       effects=(_counted("answered", message, ctx),))
    if result.outcome == "suggest" and result.candidates:
        ids = [c.entry_id for c in result.candidates[:3]]
        questions = [c.question for c in result.candidates[:3]]
        state, listed = _unanswered(dict(state, suggestions=ids), text, "suggest", ctx)
        return Outcome(state=state, replies=(suggestion_text(questions),),
                       effects=(listed, _counted("list", message, ctx)))
    state, missed = _unanswered(state, text, "none", ctx)
    return Outcome(state=state, replies=(none_text(ctx),), effects=(missed, _counted("not_found", message, ctx)))


def _picked(state: State, entry_id: str, answer: str, ctx: Context) -> Outcome:
    """The picked entry's answer; the listed question is followed up as picked (still a gap worth
    curating: the worker had to pick) and stays remembered, now as picked, for a later 人工."""
    state, gap = _without_suggestions(state), state.get("gap")
    if not isinstance(gap, dict) or gap.get("outcome") != "suggest":  # a list shown by an older version
        return Outcome(state=state, replies=(answer,))
    return Outcome(state=dict(state, gap=dict(gap, outcome="picked", at=ctx.now)), replies=(answer,),
                   effects=(_followed_up(gap, "picked", entry_id),))
