"""The union's own traffic as a test set: handled questions as evaluation cases, and which cases fail."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot.storage.curation import Mark

if TYPE_CHECKING:  # pragma: no cover
    from bot.faq.matcher import Matcher

EXPORTED = {"attach": True, "new_entry": True, "out_of_scope": False}
"""Actions whose wordings become cases: True expects the entry, False expects null (dismiss: none)."""

HEADER = """\
# 本会公众号里真实的提问：工作人员处理“没答上的问题”时记下的（unionbot faq cases export）。
# expect 是应当直接回答的条目编号；expect: null 表示不在服务范围内，不得直接用任何条目作答。
"""


class CaseLike(Protocol):
    q: str
    expect: str | None


@dataclass(frozen=True)
class Failure:
    q: str
    expect: str | None
    outcome: str
    got: tuple[str, ...]
    """The answered entry, or the suggested ones."""


def export_cases(marks: Mapping[str, Mark], known_ids: Iterable[str]) -> tuple[str, int]:
    """A cases file (the format of ``faq eval --cases``) from the marks, and how many marks were
    left out because their entry no longer exists. Sorted by entry, then question: stable diffs."""
    known = set(known_ids)
    rows: list[tuple[str | None, str]] = []
    skipped = 0
    for question, mark in marks.items():
        in_scope = EXPORTED.get(mark.action)
        if in_scope is None:
            continue
        expect = mark.entry_id if in_scope else None
        if in_scope and expect not in known:
            skipped += 1
            continue
        rows.append((expect, question))
    rows.sort(key=lambda r: (r[0] is None, r[0] or "", r[1]))
    lines = [HEADER]
    for expect, question in rows:
        lines.append(f"- q: {json.dumps(question, ensure_ascii=False)}\n  expect: {expect or 'null'}\n")
    return "".join(lines), skipped


def failures(matcher: Matcher, cases: Iterable[CaseLike]) -> list[Failure]:
    """The cases ``faq eval`` counts against the matcher: an in-scope question not answered
    directly with its entry, an out-of-scope question answered directly."""
    out = []
    for case in cases:
        result = matcher.match(case.q)
        ids = tuple(c.entry_id for c in result.candidates)
        answered = result.outcome == "answer" and bool(ids)
        ok = (answered and ids[0] == case.expect) if case.expect else not answered
        if not ok:
            got = ids[:1] if answered else ids[:3] if result.outcome == "suggest" else ()
            out.append(Failure(case.q, case.expect, result.outcome, got))
    return out
