"""Off-topic questions that share with the knowledge only words another word turns into something else.

交警电话 shares 电话 with the union's contact entry, 爱奇艺会员怎么退 shares 会员 with leaving the
union, 汽车服务站保养 shares 服务站 with the worker stations: a word the knowledge has never seen
(交警, 爱奇艺, 汽车) right before the shared word makes it another thing. Such a question gets an
honest "not found", not a numbered list of entries about the shared word. A question that shares
anything else with the listed entries (顾客投诉 平台罚了我: 平台) still gets its list.
"""

from __future__ import annotations

from bot.faq.index import TYPE_PREFIX, TermIndex
from bot.faq.text import CJK_RE, STOP_BIGRAMS, STOP_CHARS, TIME_CHARS, segments


def modified_terms(index: TermIndex, text: str) -> set[str]:
    """The bigrams of every known word that an unknown word right before it modifies.

    An unknown word is a run of two or more content characters that no bigram the knowledge uses
    covers (as in :meth:`Scope.novelty`); the known word is the run of covered characters that
    follows it (汽车|暖心服务站|保养 → 暖心, 心服, 服务, 务站).
    """
    out: set[str] = set()
    for seg in segments(text):
        if not CJK_RE.match(seg):
            continue
        covered = index.covered(seg)
        n, i = len(seg), 0
        while i < n:
            j = i
            while j < n and not covered[j] and seg[j] not in STOP_CHARS and seg[j] not in TIME_CHARS:
                j += 1
            if j - i < 2:
                i = max(j, i + 1)
                continue
            k = j
            while k < n and covered[k] and seg[k] not in STOP_CHARS:
                k += 1
            word = seg[j:k]
            out.update(word[a:a + 2] for a in range(len(word) - 1))
            i = k if k > j else j
    return out


def key_terms(index: TermIndex, text: str, entry: int) -> set[str]:
    """The content bigrams of the question that entry ``entry`` uses, leaving out the ones most
    entries use (工会 in a union's knowledge says nothing about which entry is meant)."""
    out = set()
    for term in index.query_terms(text):
        if (len(term) == 2 and not term.startswith(TYPE_PREFIX) and term not in STOP_BIGRAMS
                and term[0] not in STOP_CHARS and term[1] not in STOP_CHARS
                and len(index.postings.get(term, ())) <= index.common
                and entry in index.ids.get(term, ())):
            out.add(term)
    return out


def only_modified_words(index: TermIndex, text: str, indices: list[int]) -> bool:
    """True when the entries ``indices`` share with the question only words an unknown word
    modifies (and share at least one): the question is about something else."""
    modified = modified_terms(index, text)
    if not modified:
        return False
    shared = set().union(*(key_terms(index, text, i) for i in indices))
    return bool(shared) and shared <= modified
