"""The term index: what each entry says, as weighted terms, and what a question asks, the same way.

Terms are character unigrams and bigrams (and latin/digit tokens), weighted by IDF over the
entries; a term the knowledge never uses weighs like the rarest term, so a question about
something else (高温费, 共青团) keeps a low coverage even when it shares a word. Synonyms from
``synonyms.yaml`` are rewritten to the first word of their group. In a longer question a
self-introduction or story clause (我是送快递的, 我昨天…) counts less than the clause that asks
(:func:`clauses`); the kind of answer asked for (where, when, cost, phone, who: 在哪, 几点, 多少钱 …)
is a term too, which an entry has when its phrasings ask for it or its answer gives one (an
address, opening hours, an amount, a number).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.faq.params import Params
from bot.faq.text import ASPECT_CHARS, CJK_RE, STOP_BIGRAMS, STOP_CHARS, basic_form, normalize, segments

if TYPE_CHECKING:  # pragma: no cover
    from bot.faq.knowledge import Entry, Knowledge

def terms_of(text: str) -> list[str]:
    """Character unigrams and bigrams of CJK runs; latin/digit runs as whole tokens."""
    out: list[str] = []
    for seg in segments(text):
        if CJK_RE.match(seg):
            out.extend(seg)
            out.extend(seg[i:i + 2] for i in range(len(seg) - 1))
        else:
            out.append(seg)
    return out


def _kind_factor(term: str, function_bigram: float) -> float:
    """How much a term of its kind counts, before IDF."""
    if len(term) == 1:
        return STOP_WEIGHT if term in STOP_CHARS else CHAR_WEIGHT
    if term in STOP_BIGRAMS:
        return STOP_WEIGHT
    if not CJK_RE.match(term):
        return LATIN_WEIGHT
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


@dataclass
class Doc:
    """One entry as the scorer reads it."""

    entry: Entry
    phrasings: list[tuple[str, dict[str, float], float]] = field(default_factory=list)
    """(flat text, term weights, sum of weights) per phrasing and keyword."""
    keywords: list[str] = field(default_factory=list)
    chars: frozenset[str] = frozenset()
    """Every character the entry uses (phrasings, keywords, answer)."""


STOP_WEIGHT = 0.08
"""A function character or bigram (的, 怎么) says almost nothing about what is asked."""
CHAR_WEIGHT = 0.35
"""A single content character is weaker evidence than a bigram (工 vs 工会)."""
LATIN_WEIGHT = 0.6
"""A latin or digit token left after repair (an abbreviation, a number) is less sure than a Chinese word."""
UNKNOWN_NUMBER_WEIGHT = 0.05
"""An order number or amount the knowledge cannot know about is not a reason to doubt the match."""
WEIGHT_CACHE = 200_000
"""Most weights of never-seen terms remembered (known terms are always), so odd input cannot grow it."""


class TermIndex:
    """The entries' terms with their strengths, document frequencies and postings, built once."""

    def __init__(self, knowledge: Knowledge, params: Params) -> None:
        self.params = params
        self.entries = knowledge.entries
        self._build_synonyms(knowledge.synonyms)
        self._build()

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
        # a canonical word of three or more characters is one concept (Params.concept_span)
        concepts = [c for c in self._variants if len(c) >= 3]
        self._concept_re = (re.compile("|".join(sorted(map(re.escape, concepts), key=len, reverse=True)))
                            if concepts else None)
        self._syn_re = (re.compile("|".join(sorted(map(re.escape, mapping), key=len, reverse=True)))
                        if mapping else None)

    def canonical(self, text: str) -> str:
        if self._syn_re is None:
            return text
        return self._syn_re.sub(lambda m: self._syn_map[m.group(0)], text)

    def _build(self) -> None:
        p = self.params
        docs: list[Doc] = []
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
            for kind in answer_types(basic_form(e.answer)):
                strengths.setdefault(TYPE_PREFIX + kind, p.type_answer)
            # words a synonym group treats as the same as a canonical word this entry uses
            joined = " ".join(phr_texts + kw_texts + [answer_text])
            for canon, vterms in variant_terms.items():
                if canon in joined:
                    for term in vterms:
                        strengths.setdefault(term, p.synonym_field)
            entry_terms.append(strengths)
            doc = Doc(e, keywords=[k.replace(" ", "") for k in kw_texts if k],
                      chars=frozenset(joined.replace(" ", "")))
            doc.phrasings = [(t, {}, 0.0) for t in phr_texts + kw_texts if t]
            docs.append(doc)
        n = len(self.entries)
        df: Counter[str] = Counter()
        for strengths in entry_terms:
            df.update(strengths.keys())
        self.n = n
        self.df = df
        self._unknown_idf = math.log(1 + n / p.unknown_df) if n else 1.0
        self._wcache: dict[str, float] = {}
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, strengths in enumerate(entry_terms):
            for term, s in strengths.items():
                postings[term].append((i, s))
        self.postings = dict(postings)
        self.common = max(2, int(p.common_share * n))
        grouped: dict[str, list[tuple[float, tuple[int, ...]]]] = {}
        for term, post in self.postings.items():
            by_s: dict[float, list[int]] = defaultdict(list)
            for i, s in post:
                by_s[s].append(i)
            grouped[term] = [(s, tuple(idx)) for s, idx in by_s.items()]
        self.grouped = grouped
        self.ids = {t: tuple(i for i, _ in post) for t, post in self.postings.items()}
        self.common_maps = {t: dict(post) for t, post in self.postings.items() if len(post) > self.common}
        for doc in docs:
            new = []
            for t, _, _ in doc.phrasings:
                w = self.weights(terms_of(t) + [TYPE_PREFIX + k for k in question_types(t)])
                new.append((t.replace(" ", ""), w, sum(w.values()) or 1.0))
            doc.phrasings = new
        self.docs = docs

    def weight(self, term: str) -> float:
        """IDF scaled so that a word the knowledge never uses weighs 1 (whatever its size)."""
        w = self._wcache.get(term)
        if w is not None:
            return w
        df = self.df.get(term, 0)
        if term.startswith(TYPE_PREFIX):
            w = math.log(1 + self.n / df) / self._unknown_idf * self.params.type_weight if df else 0.0
        elif not df and term.isdigit():
            w = UNKNOWN_NUMBER_WEIGHT
        else:
            idf = (math.log(1 + self.n / df) if df else self._unknown_idf) / self._unknown_idf
            # a function bigram the knowledge uses is weak evidence; one it never uses still
            # counts in full against coverage (好吃的 in 附近有什么好吃的 is what is asked about)
            w = idf * _kind_factor(term, self.params.function_bigram if df else 1.0)
        if df or len(self._wcache) < WEIGHT_CACHE:
            self._wcache[term] = w
        return w

    def weights(self, terms: list[str]) -> dict[str, float]:
        weight = self.weight
        return {t: weight(t) for t in terms}

    def query_terms(self, text: str) -> dict[str, float]:
        """The prepared question's terms and weights: each clause's terms scaled by how much the
        clause counts (see :func:`clauses`), plus the kinds of answer its asking clauses want."""
        p = self.params
        weight = self.weight
        out: dict[str, float] = {}
        for seg, f in clauses(text, p.narrative_weight, p.context_weight):
            for t, g in self.seg_terms(seg):
                w = weight(t) * f * g
                if w > out.get(t, -1.0):
                    out[t] = w
            for k in question_types(seg):
                t = TYPE_PREFIX + k
                w = weight(t) * f
                if w > out.get(t, -1.0):
                    out[t] = w
        return {t: w for t, w in out.items() if w > 0}

    def seg_terms(self, seg: str) -> list[tuple[str, float]]:
        """The terms of one segment, each with its concept-span factor (see Params.concept_span)."""
        p = self.params
        if not CJK_RE.match(seg):
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
                if seg[i + 1] in ASPECT_CHARS and (w := seg[i] + seg[i + 2]) in self.df
                and seg[i] not in STOP_CHARS and seg[i + 2] not in STOP_CHARS]
        return out

    def covered(self, seg: str) -> list[bool]:
        """For each character of ``seg``: is it inside a bigram the knowledge (or Chinese grammar) uses?"""
        covered = [False] * len(seg)
        for i in range(len(seg) - 1):
            bg = seg[i:i + 2]
            if bg in self.df or bg in STOP_BIGRAMS:
                covered[i] = covered[i + 1] = True
        return covered

