"""Out-of-scope detectors: words the knowledge has never seen that change what a question is about.

A question can share most of its words with an entry and still be about something else:
爱奇艺会员 is not 会员 (:meth:`Scope.near_miss`), 附近有什么好吃的 asks about 好吃的, which no entry
mentions (:meth:`Scope.unknown_object`), 交警电话 is not the union's 电话 (:meth:`Scope.novelty`,
a feature of the answer decision rather than a veto). All read the term index only.
"""

from __future__ import annotations

import re

from bot.faq.index import TermIndex, clauses
from bot.faq.text import CJK_RE, STOP_BIGRAMS, STOP_CHARS, TIME_CHARS, segments

_ASKED_OBJECT_RE = re.compile(r"(?:什么|啥|哪些|哪种)([\u3400-\u4dbf\u4e00-\u9fff]+)")
"""A question word and the run of characters after it: the thing asked about."""


class Scope:
    """The out-of-scope checks against one term index."""

    def __init__(self, index: TermIndex) -> None:
        self.index = index
        self.params = index.params

    def unknown_object(self, text: str) -> str | None:
        """What a 什么/啥/哪些 question asks about, when the knowledge has no word of it.

        附近有什么好吃的 asks about 好吃的: two or more content characters right after the
        question word, none of whose bigrams the knowledge uses. Whatever else matches, no entry
        is about that thing.
        """
        df = self.index.df
        for seg in segments(text):
            for m in _ASKED_OBJECT_RE.finditer(seg):
                run = m.group(1).rstrip("的了呢吗啊呀吧")
                bigrams = [run[i:i + 2] for i in range(len(run) - 1)]
                if (len(run) >= 2 and not any(ch in STOP_CHARS for ch in run)
                        and not any(bg in df for bg in bigrams)):
                    return run
        return None

    def vetoed(self, prepared: str, index: int) -> bool:
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
        df = self.index.df
        own = self.index.docs[index].chars
        for seg in segments(text):
            if not CJK_RE.match(seg):
                continue
            n = len(seg)
            covered = self.index.covered(seg)
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
                        and not any(ch in TIME_CHARS for ch in run)
                        and any(ch not in df for ch in run) and not any(ch in own for ch in run)):
                    return run, head
                i = j
        return None

    # -- scoring -------------------------------------------------------------------------

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
        df = self.index.df
        total = 0.0
        for seg, f in clauses(text, p.narrative_weight, p.context_weight):
            if not CJK_RE.match(seg):
                continue
            n = len(seg)
            covered = self.index.covered(seg)
            run = 0
            for i in range(n + 1):
                if i < n and not covered[i] and seg[i] not in STOP_CHARS and seg[i] not in TIME_CHARS:
                    run += 1
                    continue
                head = seg[i:i + 2]
                if (run >= 2 and len(head) == 2 and head in df and head not in STOP_BIGRAMS
                        and head[0] not in STOP_CHARS):
                    total += f
                run = 0
        return total

    # -- question side --------------------------------------------------------------------

