"""FAQ: answer a question from the knowledge, offer a numbered choice, or say honestly we don't know.

Pure: reads the matcher through ``ctx.faq()`` and records unanswered questions only by
returning ``Effect("record_unanswered", {"question": …, "outcome": "none" | "suggest"})``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace

from bot.core.conversation import Context, Effect, Incoming, Outcome, State

SUGGEST_FOOTER = "回复数字查看"
NO_LIST_TEXT = "现在没有待选的问题了。请直接打字说说您想问什么，比如“会费怎么交”；找工作人员请回复“人工”。"
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_PICK_RE = re.compile(r"^(?:第)?([1-9]|[一二两三四五六七八九])(?:个|条|项)?(?:吧|吧。|。|\.|！|!)?$")


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
    return ("抱歉，这个问题我没找到答案。\n"
            "您可以换个说法再问，或回复“人工”联系工作人员，"
            f"也可以拨打职工服务热线 {ctx.hotline}。")


def unavailable_text(ctx: Context) -> str:
    return ("抱歉，问答资料暂时打不开，这个问题我现在回答不了。\n"
            f"您可以回复“人工”联系工作人员，也可以拨打职工服务热线 {ctx.hotline}。")


def _without_suggestions(state: State) -> State:
    return {k: v for k, v in state.items() if k not in ("suggestions", "suggested_for")}


def _not_picked(state: State) -> tuple[Effect, ...]:
    """The record of a numbered list the worker moved on from (for ``faq gaps``)."""
    asked = state.get("suggested_for")
    return (Effect("record_unanswered", {"question": asked, "outcome": "suggest"}),) if asked else ()


def expire_suggestions(before: State, outcome: Outcome) -> Outcome:
    """A numbered list is good for the next message only. When another handler took that message
    (人工, 驿站, a greeting…), forget the list, so a later 2 is not read as a pick from it, and
    record its question as a suggestion not picked."""
    if not before.get("suggestions"):
        return outcome
    return replace(outcome, state=_without_suggestions(outcome.state),
                   effects=outcome.effects + _not_picked(before))


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
        return Outcome(state=state, replies=(unavailable_text(ctx),),
                       effects=(Effect("record_unanswered", {"question": text, "outcome": "none"}),
                                _counted("not_found", message, ctx)))
    effects: list[Effect] = []
    suggestions = state.get("suggestions") or []
    if suggestions:
        pick = parse_pick(text)
        if pick is not None and 1 <= pick <= len(suggestions):
            entry = matcher.knowledge.by_id.get(suggestions[pick - 1])
            new_state = _without_suggestions(state)
            if entry is not None:
                return Outcome(state=new_state, replies=(entry.answer,))
            # the knowledge changed since the list was shown
            return Outcome(state=new_state, replies=(NO_LIST_TEXT,))
        else:
            effects.extend(_not_picked(state))
        state = _without_suggestions(state)
    elif parse_pick(text) is not None:  # a pick from a list already gone: not a question to match
        return Outcome(state=state, replies=(NO_LIST_TEXT,))

    result = matcher.match(text)
    if result.outcome == "answer" and result.candidates:
        entry = matcher.knowledge.by_id[result.candidates[0].entry_id]
        return Outcome(state=state, replies=(entry.answer,), effects=(*effects, _counted("answered", message, ctx)))
    if result.outcome == "suggest" and result.candidates:
        ids = [c.entry_id for c in result.candidates[:3]]
        questions = [c.question for c in result.candidates[:3]]
        new_state = dict(state, suggestions=ids, suggested_for=text)
        return Outcome(state=new_state, replies=(suggestion_text(questions),),
                       effects=(*effects, _counted("list", message, ctx)))
    effects.append(Effect("record_unanswered", {"question": text, "outcome": "none"}))
    effects.append(_counted("not_found", message, ctx))
    return Outcome(state=state, replies=(none_text(ctx),), effects=tuple(effects))
