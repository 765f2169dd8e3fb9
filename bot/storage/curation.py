"""What staff did with unanswered questions: a mark per handled wording, and a history.

Kept apart from the unanswered-question records themselves (``Store.unanswered``), which only
count what was asked: a handled wording is filtered out of the gaps list by its mark, and an
out-of-scope mark keeps it out however often it is asked again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import redis

from bot.storage.store import Store, StoreUnavailable

HISTORY_LIMIT = 10_000
"""Records kept; older ones are dropped (the cases export reads the marks, not the history)."""


@dataclass(frozen=True)
class Mark:
    """How one wording was handled: ``action`` is attach, new_entry, out_of_scope or dismiss."""

    action: str
    entry_id: str | None = None


@dataclass(frozen=True)
class Handled:
    """One action on one group of wordings: what, on which entry, by whom (a staff name or "cli"), when."""

    action: str
    questions: tuple[str, ...]
    entry_id: str | None
    by: str
    at: float
    summary: str


class CurationLog:
    """Marks and history in the shared store, under ``curation:``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._marks = store.key("curation", "marks")
        self._history = store.key("curation", "history")

    def record(self, handled: Handled) -> None:
        """Mark every wording of ``handled`` and add it to the history: one round trip."""
        mark = json.dumps({"action": handled.action, "entry_id": handled.entry_id})
        pipe = self.store.redis.pipeline(transaction=True)
        pipe.hset(self._marks, mapping={q: mark for q in handled.questions})
        pipe.lpush(self._history, json.dumps(asdict(handled), ensure_ascii=False))
        pipe.ltrim(self._history, 0, HISTORY_LIMIT - 1)
        self._call(pipe.execute)

    def marks(self) -> dict[str, Mark]:
        """Every handled wording and how it was handled."""
        raw = self._call(self.store.redis.hgetall, self._marks) or {}
        out = {}
        for question, value in raw.items():
            data = json.loads(value)
            out[question.decode()] = Mark(data["action"], data.get("entry_id"))
        return out

    def history(self, limit: int = 100) -> list[Handled]:
        """The newest ``limit`` records, newest first."""
        rows = self._call(self.store.redis.lrange, self._history, 0, limit - 1)
        out = []
        for row in rows:
            data = json.loads(row)
            data["questions"] = tuple(data["questions"])
            out.append(Handled(**data))
        return out

    @staticmethod
    def _call(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
