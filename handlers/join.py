"""Scan-to-join: a worker applies to join the union in a few messages, attributed to a station.

Modelled on python-telegram-bot's ``ConversationHandler``: entry points (:func:`entry`), states
(``state["join"]["step"]``, handled by :func:`handle`) and fallbacks (取消, re-prompting). Every
function here is pure: the state in, a new state, replies and effects out; nothing is written
until the shell runs the ``register_member`` effect and words the result with
:func:`on_registered` / :func:`on_register_failed`.

Steps: privacy (consent) → id_consent (separate consent for the ID number, PIPL art. 29/30) →
name → phone → id_number → occupation (→ occupation_other) → employer → summary.
At the name/phone/ID steps one message may carry several fields; the occupation answer may carry
the employer (``3 美团``). State kept (JSON-serialisable)::

    state["flow"] = "join"
    state["join"] = {"step": ..., "answers": {...}, "station": {"code", "name"} | None,
                     "editing": step | None, "submitting": bool, "consented_at": ..., ...}

Each consent is kept with its time and a digest of the exact notice the worker agreed to, and goes
to the registry with the application (its audit trail), so the union can show who agreed to what,
and when (PIPL art. 14, 29).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from bot.core.conversation import Context, Effect, Incoming, Outcome, State
from bot.signup.privacy import mask_id_number, mask_phone
from bot.signup.validators import (
    GENDER_ZH,
    IdNumber,
    ValidationProblem,
    normalize,
    parse_id_number,
    parse_name,
    parse_phone,
    split_fields,
)
from handlers import member, stations
from handlers.member import member_card

FLOW = "join"
CHINA_TZ = timezone(timedelta(hours=8))

PRIVACY, ID_CONSENT = "privacy", "id_consent"
NAME, PHONE, ID_NUMBER = "name", "phone", "id_number"
OCCUPATION, OCCUPATION_OTHER, EMPLOYER, SUMMARY = "occupation", "occupation_other", "employer", "summary"
STEPS = (PRIVACY, ID_CONSENT, NAME, PHONE, ID_NUMBER, OCCUPATION, OCCUPATION_OTHER, EMPLOYER, SUMMARY)
IDENTITY = (NAME, PHONE, ID_NUMBER)
DATA_STEPS = (NAME, PHONE, ID_NUMBER, OCCUPATION, EMPLOYER)
"""The fields in the summary, numbered from 1 for ``修改 N``."""
FIELD_LABELS = {
    NAME: "姓名",
    PHONE: "手机号",
    ID_NUMBER: "身份证号",
    OCCUPATION: "职业",
    EMPLOYER: "单位/平台",
}

ENTRY_WORDS = frozenset(
    {"入会", "我要入会", "申请入会", "入会申请", "加入工会", "我要加入工会", "申请加入工会"}
)
CANCEL_WORDS = frozenset({"取消", "退出", "算了", "不办了", "取消入会", "不入了"})
CONFIRM_WORDS = frozenset({"确认", "确定", "提交", "确认提交", "确认无误", "没问题", "对的", "正确"})
SUBMIT_WORDS = frozenset({"确认", "确定", "提交", "确认提交"})
"""The subset of CONFIRM_WORDS that only ever means "submit my application"."""
NOTHING_TO_SUBMIT_TEXT = "现在没有待提交的入会申请。想入会请回复“入会”，查看申请进度请回复“我的会员”。"
NO_WORDS = frozenset({"不同意", "我不同意", "不", "不要", "拒绝", "不行", "不可以", "no", "n"})
SKIP_WORDS = frozenset({"其他", "其它", "跳过", "不填", "不写", "没有", "无", "10"})

EMPLOYER_MIN, EMPLOYER_MAX = 2, 40
OTHER_NOTE_MAX = 20

# -- occupations (the eight key groups of 2018, the two ride-hailing/delivery groups, other) ------


@dataclass(frozen=True)
class Occupation:
    label: str
    """Stored in the registry."""
    display: str
    keywords: tuple[str, ...]


OCCUPATIONS: tuple[Occupation, ...] = (
    Occupation("货车司机", "货车司机", ("货车", "卡车", "货运", "大货", "重卡", "拉货", "挂车", "半挂")),
    Occupation("快递员", "快递员", ("快递", "揽件", "收件员", "派件")),
    Occupation("网约送餐员", "网约送餐员（外卖骑手）", ("外卖", "骑手", "送餐", "跑腿", "配送员")),
    Occupation("网约车司机", "网约车司机", ("网约车", "专车", "快车", "顺风车")),
    Occupation("护工护理员", "护工护理员", ("护工", "护理", "陪护", "看护")),
    Occupation("家政服务员", "家政服务员", ("家政", "保姆", "月嫂", "育儿嫂", "保洁", "钟点工")),
    Occupation("商场信息员", "商场信息员", ("商场", "信息员")),
    Occupation("房产中介员", "房产中介员", ("中介", "房产", "房地产", "经纪人")),
    Occupation("保安员", "保安员", ("保安", "安保", "门卫")),
    Occupation("其他", "其他", ("其他", "其它", "别的")),
)
OTHER = len(OCCUPATIONS)  # number of 其他
_WEAK = {"司机": (1, 4)}
"""Words that fit several groups: the worker is asked to pick a number."""
PLATFORMS: dict[str, int] = {
    "美团": 3,
    "饿了么": 3,
    "蜂鸟": 3,
    "达达": 3,
    "闪送": 3,
    "UU跑腿": 3,
    "顺丰": 2,
    "京东": 2,
    "中通": 2,
    "圆通": 2,
    "申通": 2,
    "韵达": 2,
    "极兔": 2,
    "邮政": 2,
    "EMS": 2,
    "百世": 2,
    "德邦": 2,
    "菜鸟": 2,
    "滴滴": 4,
    "曹操": 4,
    "高德": 4,
    "T3": 4,
    "花小猪": 4,
    "首汽": 4,
    "货拉拉": 1,
    "满帮": 1,
    "运满满": 1,
    "快狗": 1,
}
"""Platform names: they tell the group and fill in the employer (``美团`` → 网约送餐员, 美团)."""


@dataclass(frozen=True)
class OccupationGuess:
    number: int | None = None
    """1-based index into :data:`OCCUPATIONS`."""
    note: str = ""
    """For 其他: what the worker wrote after it."""
    employer: str = ""
    """An employer or platform found in the same answer (``3 美团``, ``美团骑手``)."""
    problem: str = ""


def _occupation_list() -> str:
    return "\n".join(f"{i} {o.display}" for i, o in enumerate(OCCUPATIONS, 1))


def parse_occupation(text: str) -> OccupationGuess:
    """A number 1-10 or a word (外卖/骑手 → 网约送餐员), optionally followed by the employer."""
    t = normalize(text)
    t = re.sub(r"^(?:职业|工作|我是|我做|我干|做|干|是)\s*[:：]?\s*", "", t).strip()
    if not t:
        return OccupationGuess(problem="请回复数字1到10选一类。")
    if m := re.match(r"^第?\s*(\d{1,3})\s*(?:号|个|项|类|[.、:：)）])?\s*(.*)$", t, re.S):
        number, rest = int(m.group(1)), _strip_punct(m.group(2))
        if not 1 <= number <= len(OCCUPATIONS):
            return OccupationGuess(problem=f"没有第{number}类，请回复数字1到{len(OCCUPATIONS)}。")
        if number == OTHER:
            return OccupationGuess(number=number, note=rest)
        return OccupationGuess(number=number, employer=rest)
    first, rest = _split_first(t)
    guess = _guess_token(first)
    if guess.number is None and not guess.problem and rest:
        whole = _guess_token(t)  # e.g. "我 送外卖": the keyword is not in the first word
        if whole.number is not None or whole.problem:
            return whole
    if guess.number is None:
        if not guess.problem:
            shown = t if len(t) <= 10 else t[:10] + "…"
            guess = OccupationGuess(
                problem=f"没认出“{shown}”是哪一类。请回复数字1到{len(OCCUPATIONS)}；都不是就回复“其他”。"
            )
        return guess
    if guess.number == OTHER:
        return OccupationGuess(number=OTHER, note=rest)
    employer = guess.employer or rest
    return OccupationGuess(number=guess.number, employer=employer)


def _split_first(text: str) -> tuple[str, str]:
    parts = re.split(r"[\s,，、;；/]+", text, maxsplit=1)
    return parts[0], (_strip_punct(parts[1]) if len(parts) > 1 else "")


def _guess_token(token: str) -> OccupationGuess:
    strong = [i for i, o in enumerate(OCCUPATIONS, 1) if any(k in token for k in o.keywords)]
    upper = token.upper()
    found = sorted((upper.find(p.upper()), p) for p in PLATFORMS if p.upper() in upper)
    platform = found[0][1] if found else ""
    if len(strong) == 1:
        return OccupationGuess(number=strong[0], employer=platform)
    if len(strong) > 1:
        if platform and PLATFORMS[platform] in strong:
            return OccupationGuess(number=PLATFORMS[platform], employer=platform)
        return OccupationGuess(problem=_ambiguous(strong))
    if platform:
        return OccupationGuess(number=PLATFORMS[platform], employer=platform)
    for word, numbers in _WEAK.items():
        if word in token:
            return OccupationGuess(problem=_ambiguous(list(numbers)))
    return OccupationGuess()


def _ambiguous(numbers: list[int]) -> str:
    options = "，".join(f"{n} {OCCUPATIONS[n - 1].display}" for n in numbers)
    return f"您是哪一类？请回复数字：{options}。"


def parse_employer(text: str) -> str | ValidationProblem:
    """The employer or platform, 2-40 characters of free text."""
    t = re.sub(r"\s+", " ", normalize(text))
    t = re.sub(r"^(?:单位|平台|公司|工作单位|单位是|平台是|在)\s*[:：]?\s*", "", t)
    t = _strip_punct(t)
    if len(t) < EMPLOYER_MIN:
        return ValidationProblem(
            EMPLOYER,
            "too_short",
            "请写单位或平台的名称（至少两个字），比如“美团”“顺丰”；自己干的可以写“个体”。",
        )
    if len(t) > EMPLOYER_MAX:
        return ValidationProblem(EMPLOYER, "too_long", f"写单位或平台的名称就行（{EMPLOYER_MAX}个字以内）。")
    if re.fullmatch(r"[\d\s+\-X]+", t):
        return ValidationProblem(
            EMPLOYER, "number", "这像是一串号码。请写单位或平台的名称，比如“美团”“顺丰”。"
        )
    return t


def _strip_punct(text: str) -> str:
    return text.strip(" \t\n,，、;；:：.。!！?？~～")


# -- texts ------------------------------------------------------------------------------------------


def privacy_text(union_name: str = "工会") -> str:
    return (
        "入会前，请先看一下个人信息怎么用：\n"
        "收集：姓名、手机号、身份证号、职业、单位/平台\n"
        "用途：只用于入会审核和会员服务\n"
        f"保管：由{union_name}加密保存，显示时打码；会员期间保留，退会或您要求删除时删除\n"
        "撤回或删除：随时回复“人工”或联系工作人员\n"
        "同意请回复“同意”，不同意请回复“不同意”。"
    )


ID_CONSENT_TEXT = (
    "还要请您单独同意一项：提供身份证号。\n"
    "为什么要：核实身份、防止重复入会；出生日期和性别直接从号码读取，不用另填。\n"
    "对您的影响：号码加密保存，平时只显示前6位和后4位，只有审核人员因审核需要才能查看完整号码，不做别的用途。\n"
    "不提供也行：只是不能在线办理，可以带身份证到驿站或工会现场办理。\n"
    "同意请回复“同意”，不同意请回复“不同意”。"
)

PROMPTS: dict[str, str] = {
    NAME: "请发您的姓名（和身份证上一致）。\n也可以一条消息发全：姓名 手机号 身份证号（用空格隔开）。",
    PHONE: "请发您的手机号（11位）。",
    ID_NUMBER: "请发您的18位身份证号（最后一位是X的，大小写都行）。出生日期和性别会从号码里读取，不用另填。",
    OCCUPATION: "您做哪类工作？回复数字就行：\n" + _occupation_list(),
    OCCUPATION_OTHER: "请简单写一下您做什么工作（比如：代驾、搬运工）；不想写就回复“跳过”。",
    EMPLOYER: "您在哪个单位或平台干活？比如：美团、饿了么、顺丰、某某物流公司。自己干的可以写“个体”。",
}

RESTART_HINT = "想重新办理，回复“入会”或再扫驿站的二维码就行。"


def _cancelled_text() -> str:
    return "好的，已取消入会申请，您填过的信息都已清除。" + RESTART_HINT


def _refused_privacy_text(ctx: Context) -> str:
    return (
        "好的，尊重您的选择，我们没有保存您的任何信息。\n"
        f"也可以到职工驿站或{ctx.union_name}现场申请入会，咨询电话 {ctx.hotline}。"
        "以后想在线办理，回复“入会”就行。"
    )


def _refused_id_text(ctx: Context) -> str:
    return (
        "好的，没有身份证号就不能在线办理，我们没有保存您的任何信息。\n"
        f"您可以带上身份证到职工驿站或{ctx.union_name}现场申请入会，咨询电话 {ctx.hotline}。"
        "改主意了随时回复“入会”。"
    )


def _occupation_text(answers: Mapping[str, Any]) -> str:
    label = answers.get(OCCUPATION) or ""
    note = answers.get("occupation_note") or ""
    for occupation in OCCUPATIONS:
        if occupation.label == label:
            label = occupation.display
    return f"{label}（{note}）" if note else label


def summary_text(join: Mapping[str, Any]) -> str:
    """The answers for checking, phone and ID number masked, fields numbered for ``修改 N``."""
    answers = join.get("answers", {})
    gender = GENDER_ZH.get(answers.get("gender", ""), "")
    values = {
        NAME: answers.get(NAME, ""),
        PHONE: mask_phone(answers.get(PHONE, "")),
        ID_NUMBER: mask_id_number(answers.get(ID_NUMBER, "")) + (f"（{gender}）" if gender else ""),
        OCCUPATION: _occupation_text(answers),
        EMPLOYER: answers.get(EMPLOYER, ""),
    }
    lines = ["请核对您的信息："]
    lines += [f"{i} {FIELD_LABELS[step]}：{values[step]}" for i, step in enumerate(DATA_STEPS, 1)]
    station = join.get("station")
    if station:
        lines.append(f"驿站：{station.get('name') or station.get('code')}")
    lines.append("没问题请回复“确认”；要改哪项回复“修改”加序号，如“修改2”；不办了回复“取消”。")
    return "\n".join(lines)


def resume_prompt(state: State, ctx: Context | None = None) -> str:
    """What to say to bring the worker back to the current step ("" when no join flow is active)."""
    if state.get("flow") != FLOW:
        return ""
    join = state.get("join") or {}
    step = join.get("step")
    if step == PRIVACY:
        return privacy_text(ctx.union_name if ctx else "工会")
    if step == ID_CONSENT:
        return ID_CONSENT_TEXT
    if step == SUMMARY:
        return summary_text(join)
    return PROMPTS.get(step, "")


# -- state helpers ----------------------------------------------------------------------------------


def _today(ctx: Context) -> date:
    """The date in China at ``ctx.now`` (the shell's clock; never read here)."""
    return datetime.fromtimestamp(ctx.now, UTC).astimezone(CHINA_TZ).date()


def _word(text: str) -> str:
    """Text reduced for command matching: no spaces, punctuation, width or case."""
    return re.sub(r"[\s!！?？.。,，、~～…:：;；\"'“”‘’()（）【】\[\]]+", "", normalize(text)).lower()


def _without_join(state: State) -> State:
    rest = {k: v for k, v in state.items() if k != "join"}
    if rest.get("flow") == FLOW:
        rest.pop("flow")
    return rest


def _with_join(state: State, join: dict[str, Any]) -> State:
    new = {k: copy.deepcopy(v) for k, v in state.items() if k not in ("flow", "join")}
    new["flow"] = FLOW
    new["join"] = join
    return new


def _reply(state: State, join: dict[str, Any], *parts: str) -> Outcome:
    text = "\n".join(p for p in parts if p)
    return Outcome(state=_with_join(state, join), replies=(text,) if text else ())


def _resolve_station(code: str | None, ctx: Context) -> tuple[dict[str, Any] | None, str]:
    """(station for the state, a notice when the code was not recognised)."""
    if code is None:
        return None, ""
    if ctx.stations is None:  # cannot check now: keep the attribution, the registry has the list
        return ({"code": code, "name": ""} if code else None), ""
    found = ctx.stations.station(code) if code else None
    if not found:
        shown = code if code else "（空）"
        return None, f"（没认出驿站编号“{shown}”，不影响办理，申请照常提交。）"
    return {"code": str(found.get("code") or code), "name": str(found.get("name") or "")}, ""


def scene_station_code(message: Incoming) -> str | None:
    """The station code of a join QR code scan (``join:<code>``), or None for any other message."""
    if message.kind != "event" or message.event.lower() not in ("subscribe", "scan"):
        return None
    key = message.event_key.strip()
    key = key.removeprefix("qrscene_")
    if not key.lower().startswith("join:"):
        return None
    return key[len("join:") :].strip()


MENU_KEYS = frozenset({"JOIN", "JOIN_UNION"})
"""Menu click keys that start an application (the menu itself is ``knowledge/menu.yaml``)."""


def is_entry_text(message: Incoming) -> bool:
    """入会 typed or said, or the 我要入会 menu button."""
    if message.kind == "event":
        return message.event.lower() == "click" and message.event_key.upper() in MENU_KEYS
    return message.is_text_like and _word(message.text) in ENTRY_WORDS


# -- entry points -------------------------------------------------------------------------------------


def entry(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """A join QR code scan (subscribe/scan with ``join:<code>``) or the text 入会; else None."""
    code = scene_station_code(message)
    if code is None and not is_entry_text(message):
        if message.is_text_like and _word(message.text) in SUBMIT_WORDS:
            return _submit_without_flow(state, message, ctx)
        return None
    return start(state, message, ctx, station_code=code)


def _submit_without_flow(state: State, message: Incoming, ctx: Context) -> Outcome:
    """确认 with no application open: a repeat after submitting (show the card), or a stray word."""
    found = ctx.members.find_by_openid(message.user) if ctx.members is not None else None
    if found:
        return Outcome(state=state, replies=(member_card(found),))
    return Outcome(state=state, replies=(NOTHING_TO_SUBMIT_TEXT,))


def start(state: State, message: Incoming, ctx: Context, station_code: str | None = None) -> Outcome:
    """Begin (or resume) an application; members see their card instead."""
    found = ctx.members.find_by_openid(message.user) if ctx.members is not None else None
    if found and found.get("status") != "rejected":  # a rejected applicant may apply again
        return Outcome(state=_without_join(state), replies=(_already_member_text(found),))
    if state.get("flow") == FLOW and (state.get("join") or {}).get("step") in STEPS:
        return _rescan(state, ctx, station_code)
    station, notice = _resolve_station(station_code, ctx)
    if found:
        reason = f"（原因：{found['reason']}）" if found.get("reason") else ""
        notice = "\n".join(filter(None, [notice, f"您上次的入会申请没有通过{reason}，这次请按实际情况重新填写。"]))
    if station and station.get("name"):
        welcome = f"欢迎来到{station['name']}！在这里可以在线申请加入工会，几步就好。"
    else:
        welcome = "您好！现在就可以在线申请加入工会，几步就好。"
    join = {"step": PRIVACY, "answers": {}, "station": station, "editing": None, "submitting": False}
    return _reply(state, join, welcome, notice, privacy_text(ctx.union_name))


def _already_member_text(found: Mapping[str, Any]) -> str:
    return "您已经申请过入会了，不用重复办理。\n" + member_card(found)


def _rescan(state: State, ctx: Context, station_code: str | None) -> Outcome:
    """Entry again while the flow is active: keep the answers, take a newly scanned station."""
    join = copy.deepcopy(state["join"])
    lead = "您的入会申请还没填完，我们接着来："
    notice = ""
    if station_code is not None:
        station, notice = _resolve_station(station_code, ctx)
        if station:
            join["station"] = station
            if station.get("name"):
                lead = f"已记下您在{station['name']}扫码。入会申请接着填："
    return _reply(state, join, lead, notice, resume_prompt(_with_join(state, join), ctx))


def cancel(state: State) -> Outcome:
    """Leave the flow and forget the answers."""
    return Outcome(state=_without_join(state), replies=(_cancelled_text(),))


# -- the flow -----------------------------------------------------------------------------------------


def handle(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """The next step of an active join flow; None for messages the flow leaves to others.

    Left to others: events other than a join scan (unsubscribe, menu clicks, location reports)
    and location messages (nearest stations). The answers stay in the state either way.
    """
    if state.get("flow") != FLOW:
        return None
    join = state.get("join")
    if not isinstance(join, dict) or join.get("step") not in STEPS:
        return start(_without_join(state), message, ctx)
    if message.kind == "event":
        code = scene_station_code(message)
        return None if code is None else start(state, message, ctx, station_code=code)
    if message.kind == "location":
        return None
    join = copy.deepcopy(join)
    join.setdefault("answers", {})
    if not message.is_text_like:
        return _reply(
            state, join, "我只能看懂文字，请打字回复。", resume_prompt(_with_join(state, join), ctx)
        )
    word = _word(message.text)
    if word in CANCEL_WORDS:
        return cancel(state)
    if word in ENTRY_WORDS:
        return start(state, message, ctx)
    if word in member.MEMBER_WORDS or word in stations.ASK_WORDS:
        return None  # 我的会员 / 驿站 mid-flow: answered by their handlers, the answers stay
    step_handler = _STEP_HANDLERS[join["step"]]
    return step_handler(state, join, message, ctx)


def _is_yes(word: str) -> bool:
    return "同意" in word and "不" not in word and "没" not in word and len(word) <= 8


def _is_no(word: str) -> bool:
    return word in NO_WORDS or "不同意" in word


def notice_digest(text: str) -> str:
    """Short fingerprint of a notice's exact wording, kept with the consent given to it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _privacy(state: State, join: dict[str, Any], message: Incoming, ctx: Context) -> Outcome:
    word = _word(message.text)
    if _is_yes(word):
        join.update(step=ID_CONSENT, consented_at=ctx.now,
                    privacy_notice=notice_digest(privacy_text(ctx.union_name)))
        return _reply(state, join, ID_CONSENT_TEXT)
    if _is_no(word):
        return Outcome(state=_without_join(state), replies=(_refused_privacy_text(ctx),))
    return _reply(state, join, "请回复“同意”继续，或回复“不同意”。", privacy_text(ctx.union_name))


def _id_consent(state: State, join: dict[str, Any], message: Incoming, ctx: Context) -> Outcome:
    word = _word(message.text)
    if _is_yes(word):
        join.update(step=_next_missing(join["answers"]), id_consented_at=ctx.now,
                    id_notice=notice_digest(ID_CONSENT_TEXT))
        return _reply(state, join, "谢谢！" + PROMPTS[join["step"]] + "\n（随时回复“取消”可以退出）")
    if _is_no(word):
        return Outcome(state=_without_join(state), replies=(_refused_id_text(ctx),))
    return _reply(state, join, "请回复“同意”继续，或回复“不同意”。", ID_CONSENT_TEXT)


def _next_missing(answers: Mapping[str, Any]) -> str:
    for step in DATA_STEPS:
        if not answers.get(step):
            return step
    return SUMMARY


_PARSERS: dict[str, Callable[..., Any]] = {NAME: parse_name, PHONE: parse_phone, ID_NUMBER: parse_id_number}


def _identity(state: State, join: dict[str, Any], message: Incoming, ctx: Context) -> Outcome:
    """Name, phone or ID number steps: take every field the message carries."""
    step, answers, text = join["step"], join["answers"], message.text
    fields = split_fields(text)
    candidates: dict[str, str | None] = {
        NAME: fields.name if (step == NAME or fields.phone or fields.id_number) else None,
        PHONE: fields.phone,
        ID_NUMBER: fields.id_number,
    }
    leftovers = list(fields.numbers)
    for target in [step] + [s for s in (PHONE, ID_NUMBER) if s != step and not answers.get(s)]:
        if target != NAME and candidates[target] is None and leftovers:
            candidates[target] = leftovers.pop(0)
    if candidates[step] is None and not any(candidates.values()):
        candidates[step] = text

    saved: list[str] = []
    problems: list[str] = []
    for field in IDENTITY:
        candidate = candidates[field]
        if candidate is None:
            continue
        result = parse_id_number(candidate, _today(ctx)) if field == ID_NUMBER else _PARSERS[field](candidate)
        if isinstance(result, ValidationProblem):
            problems.append(result.message)
        elif isinstance(result, IdNumber):
            answers.update(
                id_number=result.value, birth_date=result.birth_date.isoformat(), gender=result.gender
            )
            saved.append(field)
        else:
            answers[field] = result
            saved.append(field)

    extra_saved: list[str] = []
    if (
        not problems
        and fields.rest
        and all(answers.get(s) for s in IDENTITY)
        and not answers.get(OCCUPATION)
        and not join.get("editing")
    ):
        extra_saved = _take_occupation(answers, fields.rest)

    if join.get("editing"):
        if saved and not problems:
            join.update(step=SUMMARY, editing=None)
            return _reply(state, join, "已修改。", summary_text(join))
        return _reply(state, join, *problems, PROMPTS[step] if not problems else "")

    join["step"] = _next_missing(answers)
    ack = ""
    shown = [FIELD_LABELS[f] for f in saved + extra_saved if f != step or len(saved) > 1]
    if shown:
        ack = "已记下：" + "、".join(dict.fromkeys(shown)) + "。"
    if problems and join["step"] == step:
        return _reply(state, join, ack, *problems)
    return _reply(state, join, ack, *problems, resume_prompt(_with_join(state, join), ctx))


def _take_occupation(answers: dict[str, Any], rest: str) -> list[str]:
    """Occupation (and employer) written after the name, phone and ID; quietly ignored if unclear."""
    guess = parse_occupation(rest)
    if guess.number is None or guess.number == OTHER:
        return []
    answers[OCCUPATION] = OCCUPATIONS[guess.number - 1].label
    answers.pop("occupation_note", None)
    taken = [OCCUPATION]
    if guess.employer and not isinstance(employer := parse_employer(guess.employer), ValidationProblem):
        answers[EMPLOYER] = employer
        taken.append(EMPLOYER)
    return taken


def _occupation(state: State, join: dict[str, Any], message: Incoming, ctx: Context) -> Outcome:
    answers = join["answers"]
    guess = parse_occupation(message.text)
    if guess.number is None:
        return _reply(state, join, guess.problem, PROMPTS[OCCUPATION])
    answers[OCCUPATION] = OCCUPATIONS[guess.number - 1].label
    answers.pop("occupation_note", None)
    if guess.number == OTHER:
        if not guess.note:
            join["step"] = OCCUPATION_OTHER
            return _reply(state, join, PROMPTS[OCCUPATION_OTHER])
        note = _other_note(guess.note)
        if isinstance(note, ValidationProblem):
            join["step"] = OCCUPATION_OTHER
            return _reply(state, join, note.message)
        answers["occupation_note"] = note
    problem = ""
    if guess.employer:
        employer = parse_employer(guess.employer)
        if isinstance(employer, ValidationProblem):
            problem = "单位/平台没记下：" + employer.message
        else:
            answers[EMPLOYER] = employer
    return _after_answer(state, join, problem)


def _other_note(text: str) -> str | ValidationProblem:
    note = _strip_punct(re.sub(r"\s+", " ", normalize(text)))
    if len(note) > OTHER_NOTE_MAX:
        return ValidationProblem(
            OCCUPATION, "too_long", f"简单几个字就好（{OTHER_NOTE_MAX}个字以内），比如“代驾”。"
        )
    return note


def _occupation_other(state: State, join: dict[str, Any], message: Incoming, ctx: Context) -> Outcome:
    answers = join["answers"]
    if _word(message.text) in SKIP_WORDS:
        note: str | ValidationProblem = ""
    else:
        note = _other_note(re.sub(r"^(?:其他|其它)\s*[:：]?\s*", "", normalize(message.text)))
    if isinstance(note, ValidationProblem):
        return _reply(state, join, note.message)
    answers[OCCUPATION] = OCCUPATIONS[OTHER - 1].label
    if note:
        answers["occupation_note"] = note
    else:
        answers.pop("occupation_note", None)
    return _after_answer(state, join)


def _employer(state: State, join: dict[str, Any], message: Incoming, ctx: Context) -> Outcome:
    employer = parse_employer(message.text)
    if isinstance(employer, ValidationProblem):
        return _reply(state, join, employer.message)
    join["answers"][EMPLOYER] = employer
    return _after_answer(state, join)


def _after_answer(state: State, join: dict[str, Any], *notes: str) -> Outcome:
    """Go on to the next missing step, or back to the summary after a 修改."""
    if join.get("editing"):
        join["editing"] = None
        join["step"] = SUMMARY
        return _reply(state, join, *notes, "已修改。", summary_text(join))
    join["step"] = _next_missing(join["answers"])
    return _reply(state, join, *notes, resume_prompt(_with_join(state, join)))


_EDIT_WORDS = {
    NAME: ("姓名", "名字"),
    PHONE: ("手机", "电话"),
    ID_NUMBER: ("身份证", "证件"),
    OCCUPATION: ("职业", "工作", "工种"),
    EMPLOYER: ("单位", "平台", "公司"),
}


def _edit_target(word: str) -> str | int | None:
    """``修改2`` → the second field; ``修改手机号`` → phone; an out-of-range number is returned as int."""
    m = re.fullmatch(r"(?:修改|改|更改|重填|重新填)(?:第)?(.+?)(?:项|条|个)?", word)
    if not m:
        return None
    target = m.group(1)
    if target.isdigit():
        number = int(target)
        return DATA_STEPS[number - 1] if 1 <= number <= len(DATA_STEPS) else number
    for step, words in _EDIT_WORDS.items():
        if any(w in target for w in words):
            return step
    return None


def _summary(state: State, join: dict[str, Any], message: Incoming, ctx: Context) -> Outcome:
    word = _word(message.text)
    if word in CONFIRM_WORDS:
        return _submit(state, join, message)
    target = _edit_target(word)
    if isinstance(target, str):
        join.update(step=target, editing=target, submitting=False)
        return _reply(state, join, f"好的，修改{FIELD_LABELS[target]}。", PROMPTS[target])
    if word in ("修改", "改", "更改"):
        problem = "要改哪一项？"
    elif isinstance(target, int):
        problem = f"没有第{target}项，请回复“修改1”到“修改{len(DATA_STEPS)}”。"
    else:
        problem = "没看懂您的意思。"
    return _reply(state, join, problem, summary_text(join))


def _submit(state: State, join: dict[str, Any], message: Incoming) -> Outcome:
    answers = join["answers"]
    missing = _next_missing(answers)
    if missing != SUMMARY:  # defensive: a state from an older version lacking an answer
        join.update(step=missing, editing=None, submitting=False)
        return _reply(state, join, "还差一项没填：", PROMPTS[missing])
    station = join.get("station") or {}
    occupation = answers[OCCUPATION]
    if answers.get("occupation_note"):
        occupation = f"{occupation}（{answers['occupation_note']}）"
    payload = {
        "openid": message.user,
        "name": answers[NAME],
        "phone": answers[PHONE],
        "id_number": answers[ID_NUMBER],
        "birth_date": answers["birth_date"],
        "gender": answers["gender"],
        "occupation": occupation,
        "employer": answers[EMPLOYER],
        "station_code": station.get("code") or None,
        "consents": [
            {"what": what, "at": join[at], "notice": join.get(notice, "")}
            for what, at, notice in (("privacy", "consented_at", "privacy_notice"),
                                     ("id_number", "id_consented_at", "id_notice"))
            if join.get(at) is not None
        ],
    }
    join["submitting"] = True
    return Outcome(state=_with_join(state, join), effects=(Effect("register_member", payload),))


_STEP_HANDLERS: dict[str, Callable[[State, dict[str, Any], Incoming, Context], Outcome]] = {
    PRIVACY: _privacy,
    ID_CONSENT: _id_consent,
    NAME: _identity,
    PHONE: _identity,
    ID_NUMBER: _identity,
    OCCUPATION: _occupation,
    OCCUPATION_OTHER: _occupation_other,
    EMPLOYER: _employer,
    SUMMARY: _summary,
}


# -- after the register_member effect ----------------------------------------------------------------


def on_registered(state: State, member: Mapping[str, Any]) -> Outcome:
    """The application is recorded: leave the flow, show the card and what happens next."""
    return Outcome(state=_without_join(state), replies=("提交成功！\n" + member_card(member),))


UNAVAILABLE_TEXT = "系统有点忙，您填的信息都还在，请过一会儿再回复“确认”。"


def on_register_failed(state: State, reason: str) -> Outcome:
    """The application could not be recorded.

    ``unavailable`` (database down): answers kept, back at the summary for a later 确认.
    ``id_taken`` (ID number registered from another WeChat account): leave the flow, see staff.
    ``phone_taken`` (if the registry ever refuses a used phone): ask for another number.
    Anything else is treated like ``unavailable``.
    """
    join = copy.deepcopy(state.get("join") or {})
    join["submitting"] = False
    if reason == "id_taken":
        return Outcome(
            state=_without_join(state),
            replies=(
                "这个身份证号已经在另一个微信号上申请过入会，不能重复提交。\n"
                "请回复“人工”联系工作人员核实处理，我们会帮您找回会员信息。",
            ),
        )
    if reason == "phone_taken" and join.get("answers"):
        join.update(step=PHONE, editing=PHONE)
        return _reply(
            state, join, "这个手机号已被其他会员使用。请换一个手机号发给我，或回复“人工”找工作人员。"
        )
    join.update(step=SUMMARY, editing=None)
    if not join.get("answers"):  # nothing to keep: should not happen, but never strand the worker
        return Outcome(state=_without_join(state), replies=("系统有点忙，请过一会儿再试。" + RESTART_HINT,))
    return _reply(state, join, UNAVAILABLE_TEXT)
