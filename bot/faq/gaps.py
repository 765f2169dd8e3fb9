"""Unanswered questions grouped by what they ask, for staff to turn into answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from bot.faq.text import normalize


@dataclass
class GapGroup:
    question: str
    """The most asked wording of the group."""
    count: int
    outcome: str
    variants: list[tuple[str, int]] = field(default_factory=list)


def group_gaps(rows: Iterable[tuple[str, int, str]], threshold: float = 75.0) -> list[GapGroup]:
    """Group unanswered questions that say the same thing; most asked first.

    Pure: compares normalized wordings with rapidfuzz (ratio, and token-set ratio for
    questions of a few words), attaching each to the first group whose wording is close.
    """
    rows = sorted(rows, key=lambda r: (-r[1], r[0]))
    groups: list[tuple[str, GapGroup]] = []
    for question, count, outcome in rows:
        norm = normalize(question).replace(" ", "") or question
        for key, group in groups:
            if norm == key or fuzz.ratio(norm, key) >= threshold or (
                min(len(norm), len(key)) >= 4 and fuzz.partial_ratio(norm, key) >= 90
                and min(len(norm), len(key)) / max(len(norm), len(key)) >= 0.6
            ):
                group.count += count
                group.variants.append((question, count))
                break
        else:
            groups.append((norm, GapGroup(question, count, outcome, [(question, count)])))
    result = [g for _, g in groups]
    result.sort(key=lambda g: (-g.count, g.question))
    return result


