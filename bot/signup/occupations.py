"""The occupations a worker picks from at signup, and the employer or platform they work for.

Pure: the ten groups (the eight key groups of 2018, the two ride-hailing/delivery groups, other),
the platform names that tell a group, and the parsers for the occupation, employer and "other"
answers. Every parser returns the clean value or a :class:`ValidationProblem` ready to send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.signup.validators import ValidationProblem, normalize

EMPLOYER_MIN, EMPLOYER_MAX = 2, 40
OTHER_NOTE_MAX = 20
NOT_EMPLOYERS = frozenset({
    "确认", "确定", "提交", "确认提交", "确认无误", "好", "好的", "好吧", "可以", "行", "嗯", "嗯嗯", "是", "是的",
    "对", "对的", "没问题", "正确", "同意", "不同意", "修改", "改", "取消", "跳过", "不知道", "没有", "无", "ok",
    "yes", "no",
})
"""Replies to the bot, not names of an employer: 确认 at the employer step is not a company."""


OCCUPATION, EMPLOYER = "occupation", "employer"
"""The answer keys (and ValidationProblem fields) these parsers fill."""


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


def occupation_list() -> str:
    return "\n".join(f"{i} {o.display}" for i, o in enumerate(OCCUPATIONS, 1))


def parse_occupation(text: str) -> OccupationGuess:
    """A number 1-10 or a word (外卖/骑手 → 网约送餐员), optionally followed by the employer."""
    t = normalize(text)
    t = re.sub(r"^(?:职业|工作|我是|我做|我干|做|干|是)\s*[:：]?\s*", "", t).strip()
    if not t:
        return OccupationGuess(problem="请回复数字1到10选一类。")
    # 号/个/项/类 after the number only when a word ends there: "1 个体" is group 1, employer 个体
    if m := re.match(r"^第?\s*(\d{1,3})\s*(?:(?:号|个|项|类)(?![\u4e00-\u9fff])|[.、:：)）])?\s*(.*)$", t, re.S):
        number, rest = int(m.group(1)), strip_punct(m.group(2))
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
    return parts[0], (strip_punct(parts[1]) if len(parts) > 1 else "")


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
    t = strip_punct(t)
    if re.sub(r"[\s!！~～]+", "", t).lower() in NOT_EMPLOYERS:
        return ValidationProblem(
            EMPLOYER, "not_an_employer", "请发单位或平台的名称，比如“美团”“顺丰”；自己干的可以写“个体”。"
        )
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


_EMPLOYER_WORDS = re.compile(
    r"公司|集团|平台|个体|自己|单干|物流|快递|外卖|速运|超市|商场|酒店|饭店|餐厅|医院|学校|中心|驿站|工厂|厂$|店$|站$|部$|局$|所$|社$|队$"
)


def looks_like_employer(text: str) -> bool:
    """A platform we know, or a word companies and workplaces are named with (…公司, …物流, 个体)."""
    upper = text.upper()
    return bool(_EMPLOYER_WORDS.search(text)) or any(p.upper() in upper for p in PLATFORMS)


def strip_punct(text: str) -> str:
    return text.strip(" \t\n,，、;；:：.。!！?？~～")



def parse_other_note(text: str) -> str | ValidationProblem:
    """What a worker in 其他 does, in a few words (may be empty)."""
    note = strip_punct(re.sub(r"\s+", " ", normalize(text)))
    if len(note) > OTHER_NOTE_MAX:
        return ValidationProblem(
            OCCUPATION, "too_long", f"简单几个字就好（{OTHER_NOTE_MAX}个字以内），比如“代驾”。"
        )
    return note


def occupation_display(answers: Mapping[str, Any]) -> str:
    """The occupation as the worker saw it in the list, with the 其他 note: 其他（代驾）."""
    label = str(answers.get(OCCUPATION) or "")
    note = answers.get("occupation_note") or ""
    label = next((o.display for o in OCCUPATIONS if o.label == label), label)
    return f"{label}（{note}）" if note else label
