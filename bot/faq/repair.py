"""Typo repair against the knowledge's own vocabulary: pinyin input slips and spelled pinyin.

A character bigram of the question that never occurs in the knowledge, but sounds the same as
one that does and shares one character with it, is replaced by it (公会→工会, 入汇→入会, 会废→会费,
申清→申请). Latin runs that spell the pinyin (or the initials) of a knowledge word are replaced
by it (shenhe→审核). The vocabulary is the knowledge's own text, so nothing here is specific to
one knowledge base.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.faq.text import CJK_RE, STOP_CHARS, normalize, segments

if TYPE_CHECKING:  # pragma: no cover
    from bot.faq.knowledge import Knowledge


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


def _initial(ch: str) -> str:
    p = char_pinyin(ch)
    if not p:
        return ""
    for two in ("zh", "ch", "sh"):
        if p.startswith(two):
            return two
    return p[0]


class Repairer:
    """The knowledge's bigrams, indexed by how they sound and how they are spelled."""

    def __init__(self, knowledge: Knowledge) -> None:
        counts: Counter[str] = Counter()
        texts: list[tuple[str, int]] = []  # phrasings, keywords and synonyms count double
        for e in knowledge.entries:
            texts.extend((normalize(t), 2) for t in (*e.phrasings, *e.keywords))
            texts.append((normalize(e.answer), 1))
        for group in knowledge.synonyms:
            texts.extend((normalize(w), 2) for w in group)
        for t, times in texts:
            for seg in segments(t):
                if CJK_RE.match(seg):
                    for i in range(len(seg) - 1):
                        counts[seg[i:i + 2]] += times
        self._vocab = counts
        by_sound: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        by_spelling: dict[str, tuple[int, str]] = {}
        by_initials: dict[str, tuple[int, str]] = {}
        for bigram, n in counts.items():
            if not (CJK_RE.match(bigram[0]) and CJK_RE.match(bigram[1])):
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
            if not CJK_RE.match(seg):
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
