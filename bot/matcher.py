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
5. Each entry is scored from: ``coverage`` (IDF-weighted share of the question's terms that
   the entry uses anywhere: question, similar, keywords, answer, synonyms of its words),
   ``phrase`` (best weighted F1 against one of its phrasings), ``fuzzy`` (rapidfuzz ratio
   against the closest phrasing) and ``keyword`` (a keyword of the entry appears in the
   question). The score is coverage-gated: an entry must explain most of what was asked.
6. Outcome: ``answer`` when the best score is high and clearly ahead of the second,
   ``suggest`` (at most 3) when it is plausible, else ``none``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from bot.knowledge import Entry, Knowledge

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


def _kind_factor(term: str) -> float:
    if len(term) == 1:
        return 0.08 if term in STOP_CHARS else 0.35
    if term in STOP_BIGRAMS:
        return 0.08
    if not _CJK_RE.match(term):
        return 0.6
    return 1.0


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

    answer_field: float = 0.7
    """How much a term found only in an entry's answer counts, against 1.0 in its phrasings."""
    synonym_field: float = 0.8
    phrase_bonus: float = 1.0
    """Evidence is multiplied by (1 + phrase_bonus * best phrasing F1 + keyword_bonus * keyword hit)."""
    keyword_bonus: float = 0.3
    unknown_share: float = 0.25
    """How much the question's words the knowledge never uses count against coverage."""
    answer_evidence: float = 1.4
    """Least evidence (IDF mass of the question's words the entry explains) for a direct answer."""
    answer_ratio: float = 0.75
    """For a direct answer the second entry may score at most this share of the first."""
    answer_coverage: float = 0.2
    """Least coverage (evidence / (known words + unknown_share * unknown words)) for an answer."""
    answer_full_coverage: float = 0.75
    """A short question the entry explains almost entirely needs less evidence (退会)."""
    suggest_evidence: float = 0.55
    suggest_ratio: float = 0.6
    """A suggestion must score at least this share of the best one."""
    unknown_df: float = 0.5
    shortlist: int = 12
    repair: bool = True


@dataclass
class _Doc:
    entry: Entry
    phrasings: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)


class Matcher:
    """Everything needed to match questions against one :class:`Knowledge`."""

    def __init__(self, knowledge: Knowledge, params: Params | None = None) -> None:
        self.knowledge = knowledge
        self.params = params or Params()
        self.entries = knowledge.entries
        self._build_synonyms(knowledge.synonyms)
        self._build_vocab()
        self._build_index()

    @classmethod
    def from_knowledge(cls, knowledge: Knowledge, params: Params | None = None) -> Matcher:
        return cls(knowledge, params)

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
            if n >= 2 and bigram[0] not in STOP_CHARS and bigram[1] not in STOP_CHARS:
                by_sound[(char_pinyin(bigram[0]), char_pinyin(bigram[1]))].append((n, bigram))
            spelled = char_pinyin(bigram[0]) + char_pinyin(bigram[1])
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
        for e in self.entries:
            doc = _Doc(e)
            strengths: dict[str, float] = {}
            phr_texts = [self.canonical(normalize(t)) for t in e.phrasings]
            kw_texts = [self.canonical(normalize(t)) for t in e.keywords]
            for t in phr_texts + kw_texts:
                for term in terms_of(t):
                    strengths[term] = 1.0
            answer_text = self.canonical(normalize(e.answer))
            for term in terms_of(answer_text):
                strengths.setdefault(term, p.answer_field)
            # words a synonym group treats as the same as a canonical word this entry uses
            joined = " ".join(phr_texts + kw_texts + [answer_text])
            for canon, variants in self._variants.items():
                if canon in joined:
                    for v in variants:
                        for term in terms_of(v):
                            strengths.setdefault(term, p.synonym_field)
            entry_terms.append(strengths)
            doc.keywords = [k.replace(" ", "") for k in kw_texts if k]
            docs.append(doc)
            doc.phrasings = [(t, {}) for t in phr_texts + kw_texts if t]
        n = len(self.entries)
        df: Counter[str] = Counter()
        for strengths in entry_terms:
            df.update(strengths.keys())
        self._n = n
        self._df = df
        self._unknown_idf = math.log(1 + n / p.unknown_df) if n else 1.0
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, strengths in enumerate(entry_terms):
            for term, s in strengths.items():
                postings[term].append((i, s))
        self._postings = dict(postings)
        for doc in docs:
            doc.phrasings = [(t, self._weights(terms_of(t))) for t, _ in doc.phrasings]
        self._docs = docs

    def _weight(self, term: str) -> float:
        """IDF scaled so that a word the knowledge never uses weighs 1 (whatever its size)."""
        df = self._df.get(term, 0)
        idf = (math.log(1 + self._n / df) if df else self._unknown_idf) / self._unknown_idf
        if not df and term.isdigit():
            return 0.05  # an order number or amount the knowledge cannot know about
        return idf * _kind_factor(term)

    def _weights(self, terms: list[str]) -> dict[str, float]:
        out: dict[str, float] = {}
        for t in terms:
            out[t] = self._weight(t)
        return out

    # -- question side --------------------------------------------------------------------

    def repair(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Replace typos that sound like knowledge words; returns (text, [(from, to)]).

        A character is replaced only when the bigram it is in never occurs in the knowledge,
        the replacement bigram occurs at least twice there and has no function characters,
        sounds exactly the same (toneless pinyin), and differs in this one character; and
        only when the character does not already form a known bigram with its other
        neighbour (司机能 keeps 机). Function characters (是, 的, 一 …) are never replaced.
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
                for _, cand in options:
                    if cand[0] == a and cand[1] != b:
                        j, outer = i + 1, (chars[i + 2] if i + 2 < n else "")
                        known_outer = bool(outer) and (b + outer) in vocab
                    elif cand[1] == b and cand[0] != a:
                        j, outer = i, (chars[i - 1] if i > 0 else "")
                        known_outer = bool(outer) and (outer + a) in vocab
                    else:
                        continue
                    if chars[j] in STOP_CHARS or known_outer:
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

    # -- scoring -------------------------------------------------------------------------

    def _score(self, text: str) -> tuple[list[tuple[float, int, dict[str, float]]], float]:
        """Shortlisted entries, best first, as (score, index, components); and the coverage
        denominator of the question."""
        p = self.params
        q_terms = self._weights(terms_of(text))
        known = unknown = 0.0
        for t, w in q_terms.items():
            if t in self._postings:
                known += w
            else:
                unknown += w
        denom = known + p.unknown_share * unknown
        if known <= 0 or not self._n:
            return [], denom
        acc = [0.0] * self._n
        for term, w in q_terms.items():
            post = self._postings.get(term)
            if post:
                for i, s in post:
                    acc[i] += w * s
        order = sorted(range(self._n), key=acc.__getitem__, reverse=True)[: p.shortlist]
        q_flat = text.replace(" ", "")
        total = known + unknown
        results = []
        for i in order:
            if acc[i] <= 0:
                break
            doc = self._docs[i]
            best_phrase = 0.0
            best_fuzzy = 0.0
            for ptext, pweights in doc.phrasings:
                matched = 0.0
                matched_p = 0.0
                for t, w in q_terms.items():
                    pw = pweights.get(t)
                    if pw is not None:
                        matched += w
                        matched_p += pw
                if matched > 0:
                    prec = matched / total
                    rec = matched_p / (sum(pweights.values()) or 1)
                    best_phrase = max(best_phrase, 2 * prec * rec / (prec + rec))
                best_fuzzy = max(best_fuzzy, fuzz.ratio(q_flat, ptext.replace(" ", "")) / 100)
            kw = 1.0 if any(len(k) >= 2 and k in q_flat for k in doc.keywords) else 0.0
            evidence = acc[i]
            score = evidence * (1 + p.phrase_bonus * max(best_phrase, best_fuzzy) + p.keyword_bonus * kw)
            results.append((score, i, {"evidence": evidence, "coverage": evidence / denom,
                                       "phrase": best_phrase, "fuzzy": best_fuzzy, "keyword": kw,
                                       "score": score}))
        results.sort(key=lambda r: r[0], reverse=True)
        return results, denom

    def match(self, text: str) -> MatchResult:
        p = self.params
        prepared, _ = self.prepare(text)
        scored, _ = self._score(prepared)
        if not scored:
            return MatchResult("none")
        top, i1, comp = scored[0]
        if comp["evidence"] < p.suggest_evidence:
            return MatchResult("none")
        second = scored[1][0] if len(scored) > 1 else 0.0
        enough = comp["evidence"] >= p.answer_evidence or comp["coverage"] >= p.answer_full_coverage
        if enough and second <= top * p.answer_ratio and comp["coverage"] >= p.answer_coverage:
            e = self.entries[i1]
            return MatchResult("answer", (Candidate(e.id, e.question, round(top, 3)),))
        picks = [r for r in scored[:3] if r[0] >= top * p.suggest_ratio]
        return MatchResult("suggest", tuple(
            Candidate(self.entries[i].id, self.entries[i].question, round(s, 3)) for s, i, _ in picks))

    def explain(self, text: str, top: int = 5) -> dict:
        """What the matcher saw and why: for staff (``faq try``) and debugging."""
        prepared, fixes = self.prepare(text)
        scored, _ = self._score(prepared)
        result = self.match(text)
        return {
            "question": text,
            "normalized": normalize(text),
            "prepared": prepared,
            "repairs": [f"{a}→{b}" for a, b in fixes],
            "outcome": result.outcome,
            "answer": result.best.entry_id if result.outcome == "answer" and result.best else None,
            "suggestions": [c.entry_id for c in result.candidates] if result.outcome == "suggest" else [],
            "candidates": [
                {"id": self.entries[i].id, "question": self.entries[i].question,
                 **{k: round(v, 3) for k, v in comp.items()}}
                for _, i, comp in scored[:top]
            ],
        }
