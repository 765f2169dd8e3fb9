"""Unanswered questions grouped by what they ask, for staff to turn into answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot.faq.text import normalize

OUTCOME_LABELS = {"none": "没找到答案", "suggest": "给了列表但没选", "picked": "选了列表中的一项",
                  "human": "之后转了人工"}
"""How one ask of an unanswered question ended, for staff, in the order they are shown."""

Row = tuple[str, int, Mapping[str, int], Mapping[str, int]]
"""(wording, times asked, asks by outcome, picked entries): ``Store.unanswered``'s rows."""


@dataclass
class GapGroup:
    question: str
    """The most asked wording of the group."""
    count: int
    outcomes: Counter[str] = field(default_factory=Counter)
    """How the group's asks ended (keys of :data:`OUTCOME_LABELS`); they add up to ``count``."""
    picks: Counter[str] = field(default_factory=Counter)
    """Entries picked from the lists shown for the group, and how often."""
    variants: list[tuple[str, int]] = field(default_factory=list)

    @property
    def outcome_text(self) -> str:
        return outcome_text(self.outcomes)


def outcome_text(outcomes: Mapping[str, int]) -> str:
    """How the asks ended, for staff: one label when every ask ended alike, else "3 次没找到答案，2 次…"."""
    shown = [(label, outcomes.get(key, 0)) for key, label in OUTCOME_LABELS.items() if outcomes.get(key, 0)]
    if len(shown) == 1:
        return shown[0][0]
    return "，".join(f"{n} 次{label}" for label, n in shown)


def group_gaps(rows: Iterable[Row], threshold: float = 75.0) -> list[GapGroup]:
    """Group unanswered questions that say the same thing; most asked first.

    Pure: compares normalized wordings with rapidfuzz (ratio, and token-set ratio for
    questions of a few words), attaching each to the first group whose wording is close.
    """
    rows = sorted(rows, key=lambda r: (-r[1], r[0]))
    groups: list[tuple[str, GapGroup]] = []
    for question, count, outcomes, picks in rows:
        norm = normalize(question).replace(" ", "") or question
        group = next((g for key, g in groups if _same(norm, key, threshold)), None)
        if group is None:
            group = GapGroup(question, 0)
            groups.append((norm, group))
        group.count += count
        group.outcomes.update(outcomes)
        group.picks.update(picks)
        group.variants.append((question, count))
    result = [g for _, g in groups]
    result.sort(key=lambda g: (-g.count, g.question))
    return result


def _same(norm: str, key: str, threshold: float) -> bool:
    """Whether two normalized wordings ask the same: close as a whole, or one nearly holds the other."""
    return norm == key or fuzz.ratio(norm, key) >= threshold or (
        min(len(norm), len(key)) >= 4 and fuzz.partial_ratio(norm, key) >= 90
        and min(len(norm), len(key)) / max(len(norm), len(key)) >= 0.6
    )
