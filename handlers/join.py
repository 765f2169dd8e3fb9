"""Scan-to-join: a worker applies to join the union in a few messages, attributed to a station.

Declared like python-telegram-bot's ``ConversationHandler``, in one table (:data:`SIGNUP`): the
entry points, the :class:`Step` s with what each one runs and asks, the fallbacks tried at every
step, and the handlers whose words pass through to them mid-flow (the router routes those).
A step function gets the draft and the message and returns a :class:`Turn`: the next step (or
stay, or end), what to say first, and any effect. Every function here is pure; nothing is written
until the shell runs the ``register_member`` effect and calls back :func:`on_registered` /
:func:`on_register_failed` (registered with the effects runner at the bottom of this module).

Steps: privacy (consent) → id_consent (separate consent for the ID number, PIPL art. 29/30) →
name → phone → id_number → occupation (→ occupation_other) → employer → summary. At the name,
phone and ID steps one message may carry several fields; the occupation answer may carry the
employer (``3 美团``). State kept (JSON-serialisable)::

    state["flow"] = "join"
    state["join"] = {"step": ..., "answers": {...}, "station": {"code", "name"} | None,
                     "editing": step | None, "consented_at": ..., "privacy_notice": ..., ...}

Each consent is kept with its time and a digest of the exact notice agreed to, and goes to the
registry with the application (its audit trail), so the union can show who agreed to what, and
when (PIPL art. 14, 29). All wording is in :mod:`bot.signup.texts`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any

from bot.core.conversation import Context, Effect, Incoming, LookupUnavailable, Outcome, State
from bot.core.flow import PASS, STAY, Draft, Flow, StepSpec, Turn, end, go, on_register_result, stay
from bot.core.words import CANCEL_WORDS, Trigger, command_word
from bot.signup import texts
from bot.signup.card import member_card
from bot.signup.occupations import (
    NOT_EMPLOYERS,
    OCCUPATIONS,
    OTHER,
    looks_like_employer,
    parse_employer,
    parse_occupation,
    parse_other_note,
)
from bot.signup.validators import (
    IdNumber,
    ValidationProblem,
    normalize,
    parse_id_number,
    parse_name,
    parse_phone,
    split_fields,
)

FLOW = "join"
CHINA_TZ = timezone(timedelta(hours=8))


class Step(StrEnum):
    PRIVACY = "privacy"
    ID_CONSENT = "id_consent"
    NAME = "name"
    PHONE = "phone"
    ID_NUMBER = "id_number"
    OCCUPATION = "occupation"
    OCCUPATION_OTHER = "occupation_other"
    EMPLOYER = "employer"
    SUMMARY = "summary"


IDENTITY = (Step.NAME, Step.PHONE, Step.ID_NUMBER)
DATA_STEPS = (Step.NAME, Step.PHONE, Step.ID_NUMBER, Step.OCCUPATION, Step.EMPLOYER)
"""The fields in the summary, numbered from 1 for ``修改 N``."""

TRIGGER = Trigger(
    words=frozenset({"入会", "我要入会", "申请入会", "入会申请", "加入工会", "我要加入工会", "申请加入工会"}),
    menu_keys=frozenset({"JOIN", "JOIN_UNION"}),
)
"""入会 typed or said, or the 我要入会 menu button (the menu itself is ``knowledge/menu.yaml``)."""
STOP_PHRASES = ("算了", "不办了", "不办", "不填了", "不想填", "不想入", "不想办", "不想加入", "不入了", "不加入了",
                "下次再说", "以后再说", "改天再说", "退出", "不要入会")
"""A short message containing one of these ends the signup at any step (算了不办了, 我不想入了…)."""
STOP_MAX_CHARS = 12
YES_WORDS = frozenset({"同意", "我同意", "好", "好的", "好滴", "好嘞", "好吧", "可以", "可以的", "行", "行吧", "嗯",
                       "嗯嗯", "恩", "ok", "okay", "是", "是的", "对", "对的", "没问题", "yes", "y"})
NO_WORDS = frozenset({"不同意", "我不同意", "不", "不要", "拒绝", "不行", "不可以", "no", "n"})
CONFIRM_WORDS = frozenset({"确认", "确定", "提交", "确认提交", "确认无误", "没问题", "对的", "正确"})
SUBMIT_WORDS = frozenset({"确认", "确定", "提交", "确认提交"})
"""The subset of CONFIRM_WORDS that only ever means "submit my application"."""
SKIP_WORDS = frozenset({"其他", "其它", "跳过", "不填", "不写", "没有", "无", "10"})
REPLY_WORDS = YES_WORDS | NO_WORDS | CONFIRM_WORDS | SKIP_WORDS | NOT_EMPLOYERS
"""Words that answer the bot: never looked up in the knowledge mid-flow."""
_QUESTION = re.compile(
    r"[?？]|吗|怎么|多少|多久|多长|什么|为什么|为啥|啥|哪里|哪儿|哪个|哪些|哪家|如何|何时|能不能|可不可以|是不是|要不要|有没有"
    r"|几[个天年月号点岁块元钱]|[呢嘛][。!！~～]*$"
)
_EDIT_WORDS = {
    Step.NAME: ("姓名", "名字"),
    Step.PHONE: ("手机", "电话"),
    Step.ID_NUMBER: ("身份证", "证件"),
    Step.OCCUPATION: ("职业", "工作", "工种"),
    Step.EMPLOYER: ("单位", "平台", "公司"),
}

# -- helpers on the state ------------------------------------------------------------------------------


def _today(ctx: Context) -> date:
    """The date in China at ``ctx.now`` (the shell's clock; never read here)."""
    return datetime.fromtimestamp(ctx.now, UTC).astimezone(CHINA_TZ).date()


def _next_missing(answers: Mapping[str, Any]) -> Step:
    return next((step for step in DATA_STEPS if not answers.get(step)), Step.SUMMARY)


def _summary_prompt(join: Draft, ctx: Context) -> str:
    return texts.summary_text(join.get("answers", {}), join.get("station"))


# -- entry points -----------------------------------------------------------------------------------------


def scene_station_code(message: Incoming) -> str | None:
    """The station code of a join QR code scan (``join:<code>``), or None for any other message."""
    if message.kind != "event" or message.event.lower() not in ("subscribe", "scan"):
        return None
    key = message.event_key.strip().removeprefix("qrscene_")
    if not key.lower().startswith("join:"):
        return None
    return key[len("join:") :].strip()


def entry(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """A join QR code scan (subscribe/scan with ``join:<code>``), 入会, or the menu button; else None."""
    code = scene_station_code(message)
    if code is not None or TRIGGER(message):
        return start(state, message, ctx, station_code=code)
    if message.is_text_like and command_word(message.text) in SUBMIT_WORDS:
        return _submit_without_flow(state, message, ctx)
    return None


def _submit_without_flow(state: State, message: Incoming, ctx: Context) -> Outcome:
    """确认 with no application open: a repeat after submitting (show the card), or a stray word."""
    found = ctx.members.find_by_openid(message.user) if ctx.members is not None else None
    return Outcome(state=state, replies=(member_card(found) if found else texts.NOTHING_TO_SUBMIT_TEXT,))


def _resolve_station(code: str | None, ctx: Context) -> tuple[dict[str, Any] | None, str]:
    """(station for the state, a notice when the code was not recognised).

    When the stations cannot be checked now (none configured, or their database is down or slow)
    the code is kept without a name and without a word to the worker: a scan during an outage
    still attributes the application, and the registry names the station when it is written.
    """
    if code is None:
        return None, ""
    unchecked = ({"code": code, "name": ""} if code else None), ""
    if ctx.stations is None:
        return unchecked
    try:
        found = ctx.stations.station(code) if code else None
    except LookupUnavailable:
        return unchecked
    if not found:
        return None, texts.unknown_station_text(code)
    return {"code": str(found.get("code") or code), "name": str(found.get("name") or "")}, ""


def start(state: State, message: Incoming, ctx: Context, station_code: str | None = None) -> Outcome:
    """Begin (or resume) an application; members see their card instead."""
    found = ctx.members.find_by_openid(message.user) if ctx.members is not None else None
    if found and found.get("status") != "rejected":  # a rejected applicant may apply again
        return Outcome(state=SIGNUP.without(state), replies=(texts.ALREADY_APPLIED_LEAD + member_card(found),))
    if state.get("flow") == FLOW and (state.get(FLOW) or {}).get("step") in SIGNUP.steps:
        return _rescan(state, ctx, station_code)
    station, notice = _resolve_station(station_code, ctx)
    if found:
        notice = "\n".join(filter(None, [notice, texts.rejected_before_text(str(found.get("reason") or ""))]))
    join = {"step": Step.PRIVACY, "answers": {}, "station": station, "editing": None}
    welcome = texts.welcome_text((station or {}).get("name", ""))
    return SIGNUP.reply(state, join, welcome, notice, texts.privacy_text(ctx.union_name))


def _rescan(state: State, ctx: Context, station_code: str | None) -> Outcome:
    """Entry again while the flow is active: keep the answers, take a newly scanned station.

    A code that could not be checked (no name) never replaces the station the application has:
    during an outage a rescan is mostly the same poster again, scanned while a reply was slow.
    """
    join = copy.deepcopy(state["join"])
    lead, notice = texts.RESUME_LEAD, ""
    if station_code is not None:
        station, notice = _resolve_station(station_code, ctx)
        if station and (station["name"] or not join.get("station")):
            join["station"] = station
            if station.get("name"):
                lead = texts.rescanned_text(station["name"])
    return SIGNUP.reply(state, join, lead, notice, SIGNUP.steps[join["step"]].ask(join, ctx))


def cancel(state: State) -> Outcome:
    """Leave the flow and forget the answers."""
    return Outcome(state=SIGNUP.without(state), replies=(texts.CANCELLED_TEXT,))


# -- fallbacks: tried at every step, before the step itself ----------------------------------------------


def _events(state: State, join: Draft, message: Incoming, ctx: Context) -> Outcome | None:
    """A join scan re-enters; other events and locations are left to their handlers (None)."""
    if message.kind == "event":
        code = scene_station_code(message)
        return PASS if code is None else start(state, message, ctx, station_code=code)
    if message.kind == "location":
        return PASS
    if not message.is_text_like:
        return SIGNUP.reply(state, join, texts.TEXT_ONLY, SIGNUP.steps[join["step"]].ask(join, ctx))
    return None


def is_stop(text: str) -> bool:
    """取消 and its kin, or a short message saying the worker gives up (我不想入了, 下次再说吧)."""
    word = command_word(text)
    if word in CANCEL_WORDS:
        return True
    return len(word) <= STOP_MAX_CHARS and not _is_question(text) and any(p in word for p in STOP_PHRASES)


def _stop(state: State, join: Draft, message: Incoming, ctx: Context) -> Outcome | None:
    return cancel(state) if is_stop(message.text) else None


def _entry_again(state: State, join: Draft, message: Incoming, ctx: Context) -> Outcome | None:
    return start(state, message, ctx) if TRIGGER(message) else None


def _is_question(text: str) -> bool:
    """Question words or a question mark, and not an answer: no phone or ID number in it, not one
    of the flow's own words (确认？, 修改2？)."""
    word = command_word(text)
    if not _QUESTION.search(normalize(text)) or word in REPLY_WORDS or _edit_target(word) is not None:
        return False
    fields = split_fields(text)
    return not (fields.phone or fields.id_number)


def _question(state: State, join: Draft, message: Incoming, ctx: Context) -> Outcome | None:
    """A question in the middle: answer it, then one short line back to the step."""
    if not _is_question(message.text):
        return None
    return _answered(state, join, ctx, _faq_reply(message.text, ctx, confident_only=False))


def _faq_instead(state: State, join: Draft, message: Incoming, ctx: Context) -> Outcome | None:
    """No answer to the step, but a clear one from the knowledge (会费 at the name step): that.

    Not for the flow's own words (确认 at the employer step is a slip, not a question about 确认)."""
    word = command_word(message.text)
    if word in REPLY_WORDS or "同意" in word:  # 我不太同意 at a consent step is a hedge, not a question
        return None
    reply = _faq_reply(message.text, ctx, confident_only=True)
    return _answered(state, join, ctx, reply) if reply else None


def _faq_reply(text: str, ctx: Context, confident_only: bool) -> tuple[str, tuple[Effect, ...]] | None:
    """The knowledge's answer to ``text`` (and an unanswered-question record when there is none).

    Reads the matcher through ``ctx.faq`` as the FAQ handler does. With ``confident_only`` only a
    clear answer counts: for messages that failed as an answer to the step, not for questions.
    """
    matcher = ctx.faq() if ctx.faq is not None else None
    result = matcher.match(text) if matcher is not None else None
    best = result.best if result is not None else None
    entry = matcher.knowledge.by_id.get(best.entry_id) if best is not None else None
    if result is not None and entry is not None and result.outcome == "answer":
        return entry.answer, ()
    if confident_only:
        return None
    if result is not None and entry is not None and result.outcome == "suggest":
        return texts.maybe_meant_text(best.question, entry.answer), ()
    if matcher is None:
        return texts.no_answer_text(ctx.hotline), ()
    # the question, with any long number masked: it may be someone's phone or ID number
    question = re.sub(r"\d{5,}", lambda m: "*" * len(m.group(0)), normalize(text))
    return texts.no_answer_text(ctx.hotline), (Effect("record_unanswered", {"question": question, "outcome": "none"}),)


def _answered(state: State, join: Draft, ctx: Context, reply: tuple[str, tuple[Effect, ...]]) -> Outcome:
    answer, recorded = reply
    return SIGNUP.reply(state, join, answer, SIGNUP.steps[join["step"]].short, effects=recorded)


# -- the steps -------------------------------------------------------------------------------------------


def _is_yes(word: str) -> bool:
    return word in YES_WORDS or ("同意" in word and "不" not in word and "没" not in word and len(word) <= 8)


def _is_no(word: str) -> bool:
    return word in NO_WORDS or "不同意" in word


def _privacy(join: Draft, message: Incoming, ctx: Context) -> Turn:
    word = command_word(message.text)
    if _is_yes(word):
        join.update(consented_at=ctx.now, privacy_notice=texts.notice_digest(texts.privacy_text(ctx.union_name)))
        return go(Step.ID_CONSENT)
    if _is_no(word):
        return end(texts.refused_privacy_text(ctx.union_name, ctx.hotline))
    return stay(texts.PRIVACY_REASK)


def _id_consent(join: Draft, message: Incoming, ctx: Context) -> Turn:
    word = command_word(message.text)
    if _is_yes(word):
        join.update(id_consented_at=ctx.now, id_notice=texts.notice_digest(texts.ID_CONSENT_TEXT))
        step = _next_missing(join["answers"])
        first = SIGNUP.steps[step].ask(join, ctx)
        return go(step, texts.FIRST_FIELD_LEAD + first + "\n" + texts.CANCEL_HINT, prompt=False)
    if _is_no(word):
        return end(texts.refused_id_text(ctx.union_name, ctx.hotline))
    return stay(texts.ID_CONSENT_REASK)


def _identity(join: Draft, message: Incoming, ctx: Context) -> Turn:
    """Name, phone or ID number steps: take every field the message carries."""
    step, answers, text = Step(join["step"]), join["answers"], message.text
    fields = split_fields(text)
    phone, id_number = fields.phone, fields.id_number
    if phone is None and id_number is not None and len(id_number) < 15:
        phone, id_number = id_number, None  # 12 digits, a landline: a phone gone wrong, not an ID number
    candidates: dict[Step, str | None] = {
        Step.NAME: fields.name if (step == Step.NAME or phone or id_number) else None,
        Step.PHONE: phone,
        Step.ID_NUMBER: id_number,
    }
    leftovers = list(fields.numbers)
    for target in [step] + [s for s in (Step.PHONE, Step.ID_NUMBER) if s != step and not answers.get(s)]:
        if target != Step.NAME and candidates[target] is None and leftovers:
            candidates[target] = leftovers.pop(0)
    if candidates[step] is None and not any(candidates.values()):
        candidates[step] = text

    saved: list[Step] = []
    problems: list[str] = []
    for field in IDENTITY:
        candidate = candidates[field]
        if candidate is None:
            continue
        result: Any = (parse_id_number(candidate, _today(ctx)) if field == Step.ID_NUMBER
                       else parse_name(candidate) if field == Step.NAME else parse_phone(candidate))
        if isinstance(result, ValidationProblem):
            problems.append(result.message)
        elif isinstance(result, IdNumber):
            if ctx.members is not None and ctx.members.id_number_taken(result.value, message.user):
                return _id_number_taken(result.value, message, ctx)
            answers.update(id_number=result.value, birth_date=result.birth_date.isoformat(), gender=result.gender)
            saved.append(field)
        else:
            answers[field] = result
            saved.append(field)

    extra: list[str] = []
    if not problems and fields.rest and all(answers.get(s) for s in IDENTITY) and not (
        answers.get(Step.OCCUPATION) or join.get("editing")
    ):
        extra = _take_occupation(answers, fields.rest)

    if join.get("editing"):
        if saved and not problems:
            join["editing"] = None
            return go(Step.SUMMARY, texts.EDITED)
        return stay(*problems, prompt=not problems, understood=bool(saved))

    shown = [texts.FIELD_LABELS[f] for f in saved + extra if f != step or len(saved) > 1]
    ack = texts.saved_text(shown) if shown else ""
    next_step = _next_missing(answers)
    if problems and next_step == step:
        return stay(ack, *problems, understood=bool(saved))
    return go(next_step, ack, *problems)


def _id_number_taken(id_number: str, message: Incoming, ctx: Context) -> Turn:
    """An ID number already registered from another WeChat account: no existence oracle.

    Telling "这个身份证号已经在另一个微信号上申请过" to whoever types a number would let anyone
    holding someone's ID number learn whether its owner applied. The reply is the in-person route
    any applicant can be sent to: it names no account, number or status, and it is word for word
    what the registry's own duplicate refusal at 确认 says (:func:`on_register_failed`). What is
    left, that the flow stops here rather than going on, is what catching the duplicate early for
    the real owner (a new phone, a new WeChat account) costs; so every such attempt is put on the
    holder's audit trail (``id_number_reused``, run by the shell, no full number in it) and staff
    see who probes. The answers typed so far are dropped.
    """
    note = Effect("id_number_reused", {"id_number": id_number, "openid": message.user})
    return end(texts.needs_staff_text(ctx.union_name, ctx.hotline), effects=(note,))


def _take_occupation(answers: Draft, rest: str) -> list[str]:
    """Occupation (and employer) written after the name, phone and ID; quietly ignored if unclear."""
    guess = parse_occupation(rest)
    if guess.number is None or guess.number == OTHER:
        return []
    answers[Step.OCCUPATION] = OCCUPATIONS[guess.number - 1].label
    answers.pop("occupation_note", None)
    taken = [Step.OCCUPATION]
    if guess.employer and not isinstance(employer := parse_employer(guess.employer), ValidationProblem):
        answers[Step.EMPLOYER] = employer
        taken.append(Step.EMPLOYER)
    return taken


def _occupation(join: Draft, message: Incoming, ctx: Context) -> Turn:
    answers = join["answers"]
    guess = parse_occupation(message.text)
    if guess.number is None:
        return stay(guess.problem, texts.OCCUPATION_PROMPT)
    answers[Step.OCCUPATION] = OCCUPATIONS[guess.number - 1].label
    answers.pop("occupation_note", None)
    if guess.number == OTHER:
        note = parse_other_note(guess.note)
        if not guess.note or isinstance(note, ValidationProblem):
            return go(Step.OCCUPATION_OTHER, *([note.message] if isinstance(note, ValidationProblem) else []),
                      prompt=not isinstance(note, ValidationProblem))
        answers["occupation_note"] = note
    problem = ""
    if guess.employer:
        employer = parse_employer(guess.employer)
        if isinstance(employer, ValidationProblem):
            problem = "单位/平台没记下：" + employer.message
        else:
            answers[Step.EMPLOYER] = employer
    return _after_answer(join, problem)


def _occupation_other(join: Draft, message: Incoming, ctx: Context) -> Turn:
    answers = join["answers"]
    if command_word(message.text) in SKIP_WORDS:
        note: str | ValidationProblem = ""
    else:
        note = parse_other_note(re.sub(r"^(?:其他|其它)\s*[:：]?\s*", "", normalize(message.text)))
    if isinstance(note, ValidationProblem):
        return stay(note.message)
    answers[Step.OCCUPATION] = OCCUPATIONS[OTHER - 1].label
    answers.pop("occupation_note", None)
    if note:
        answers["occupation_note"] = note
    return _after_answer(join)


def _employer(join: Draft, message: Incoming, ctx: Context) -> Turn:
    employer = parse_employer(message.text)
    if isinstance(employer, ValidationProblem):
        return stay(employer.message)
    if not looks_like_employer(employer) and _faq_reply(message.text, ctx, confident_only=True):
        return stay(understood=False)  # 会费标准 is a question the knowledge answers, not a company
    join["answers"][Step.EMPLOYER] = employer
    return _after_answer(join)


def _after_answer(join: Draft, *notes: str) -> Turn:
    """Go on to the next missing step, or back to the summary after a 修改."""
    if join.get("editing"):
        join["editing"] = None
        return go(Step.SUMMARY, *notes, texts.EDITED)
    return go(_next_missing(join["answers"]), *notes)


def _edit_target(word: str) -> Step | int | None:
    """``修改2`` → the second field; ``修改手机号`` → phone; an out-of-range number is returned as int."""
    m = re.fullmatch(r"(?:修改|改|更改|重填|重新填)(?:第)?(.+?)(?:项|条|个)?", word)
    if not m:
        return None
    target = m.group(1)
    if target.isdigit():
        number = int(target)
        return DATA_STEPS[number - 1] if 1 <= number <= len(DATA_STEPS) else number
    return next((step for step, words in _EDIT_WORDS.items() if any(w in target for w in words)), None)


def _summary(join: Draft, message: Incoming, ctx: Context) -> Turn:
    word = command_word(message.text)
    if word in CONFIRM_WORDS:
        return _submit(join, message)
    target = _edit_target(word)
    if isinstance(target, Step):
        join["editing"] = target
        return go(target, texts.editing_text(texts.FIELD_LABELS[target]))
    if word in ("修改", "改", "更改"):
        return stay(texts.WHICH_FIELD, prompt=True, understood=True)
    if isinstance(target, int):
        return stay(texts.no_such_field_text(target), prompt=True, understood=True)
    return stay(texts.NOT_UNDERSTOOD, prompt=True)


def _submit(join: Draft, message: Incoming) -> Turn:
    answers = join["answers"]
    missing = _next_missing(answers)
    if missing != Step.SUMMARY:  # defensive: a state from an older version lacking an answer
        join["editing"] = None
        return go(missing, texts.STILL_MISSING)
    occupation = answers[Step.OCCUPATION]
    if answers.get("occupation_note"):
        occupation = f"{occupation}（{answers['occupation_note']}）"
    payload = {
        "openid": message.user,
        "name": answers[Step.NAME],
        "phone": answers[Step.PHONE],
        "id_number": answers[Step.ID_NUMBER],
        "birth_date": answers["birth_date"],
        "gender": answers["gender"],
        "occupation": occupation,
        "employer": answers[Step.EMPLOYER],
        "station_code": (join.get("station") or {}).get("code") or None,
        "consents": [
            {"what": what, "at": join[at], "notice": join.get(notice, "")}
            for what, at, notice in (("privacy", "consented_at", "privacy_notice"),
                                     ("id_number", "id_consented_at", "id_notice"))
            if join.get(at) is not None
        ],
    }
    return Turn(STAY, prompt=False, effects=(Effect("register_member", payload),))


# -- the declaration ---------------------------------------------------------------------------------------

SIGNUP = Flow(
    name=FLOW,
    entry_points=(entry,),
    steps={
        Step.PRIVACY: StepSpec(_privacy, lambda join, ctx: texts.privacy_text(ctx.union_name), texts.PRIVACY_SHORT),
        Step.ID_CONSENT: StepSpec(_id_consent, texts.ID_CONSENT_TEXT, texts.ID_CONSENT_SHORT),
        Step.NAME: StepSpec(_identity, texts.NAME_PROMPT, texts.NAME_SHORT),
        Step.PHONE: StepSpec(_identity, texts.PHONE_PROMPT, texts.PHONE_SHORT),
        Step.ID_NUMBER: StepSpec(_identity, texts.ID_NUMBER_PROMPT, texts.ID_NUMBER_SHORT),
        Step.OCCUPATION: StepSpec(_occupation, texts.OCCUPATION_PROMPT, texts.OCCUPATION_SHORT),
        Step.OCCUPATION_OTHER: StepSpec(_occupation_other, texts.OCCUPATION_OTHER_PROMPT, texts.OCCUPATION_OTHER_SHORT),
        Step.EMPLOYER: StepSpec(_employer, texts.EMPLOYER_PROMPT, texts.EMPLOYER_SHORT),
        Step.SUMMARY: StepSpec(_summary, _summary_prompt, texts.SUMMARY_SHORT),
    },
    fallbacks=(_events, _stop, _entry_again, _question),
    passes_through=("member", "stations"),
    restart=start,
    not_understood=_faq_instead,
)
handle = SIGNUP.handle


# -- after the register_member effect ----------------------------------------------------------------------


def on_registered(state: State, member: Mapping[str, Any], ctx: Context) -> Outcome:
    """The application is recorded: leave the flow, show the card and what happens next."""
    return Outcome(state=SIGNUP.without(state), replies=(texts.SUBMITTED_LEAD + member_card(member),))


def on_register_failed(state: State, reason: str, ctx: Context) -> Outcome:
    """The application could not be recorded.

    ``id_taken`` (the ID number was registered from another WeChat account after the ID step
    checked it): leave the flow with the same words as at the ID step (see :func:`_id_number_taken`).
    Anything else (``unavailable``: the database is down) keeps the answers at the summary for a
    later 确认.
    """
    if reason == "id_taken":
        return Outcome(state=SIGNUP.without(state), replies=(texts.needs_staff_text(ctx.union_name, ctx.hotline),))
    join = copy.deepcopy(state.get("join") or {})
    if not join.get("answers"):  # nothing to keep: should not happen, but never strand the worker
        return Outcome(state=SIGNUP.without(state), replies=(texts.BUSY_RESTART_TEXT,))
    join.update(step=Step.SUMMARY, editing=None)
    return SIGNUP.reply(state, join, texts.UNAVAILABLE_TEXT)


on_register_result(FLOW, on_registered, on_register_failed)
