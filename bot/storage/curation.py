"""What staff did with unanswered questions: a mark per handled wording, and a history.

Kept apart from the unanswered-question records themselves (``Store.unanswered``), which only
count what was asked: a handled wording is filtered out of the gaps list by its mark, and an
out-of-scope mark keeps it out however often it is asked again. A dismissal lapses after
``store.gaps_max_age``, so a question that comes back months later is listed again; the history
keeps the newest ``store.gaps_history_max`` records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import redis

from bot.storage.store import Store, StoreUnavailable

LAPSING = frozenset({"dismiss"})
"""Marks that lapse after ``store.gaps_max_age``. The others are deliberate and stay: they are the
cases export (attach and new_entry expect their entry, out_of_scope expects no answer)."""

_SETTLE_MARKS = """
for i = 1, #ARGV, 3 do
  if redis.call("hget", KEYS[1], ARGV[i]) == ARGV[i + 1] then
    if ARGV[i + 2] == "" then redis.call("hdel", KEYS[1], ARGV[i])
    else redis.call("hset", KEYS[1], ARGV[i], ARGV[i + 2]) end
  end
end
"""
"""Per (wording, value read, new value): forget the mark (new value "") or replace it, only if it
is still the value read (a mark made meanwhile is kept). KEYS: marks."""


@dataclass(frozen=True)
class Mark:
    """How one wording was handled: ``action`` is attach, new_entry, out_of_scope or dismiss; ``at`` when."""

    action: str
    entry_id: str | None = None
    at: float = 0.0


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
    """Marks and history in the shared store, under ``curation:``; ``clock`` (by default the
    store's) tells when a dismissal lapses."""

    def __init__(self, store: Store, clock: Callable[[], float] | None = None) -> None:
        self.store = store
        self.clock = clock or store.clock
        self._marks = store.key("curation", "marks")
        self._history = store.key("curation", "history")

    def record(self, handled: Handled) -> None:
        """Mark every wording of ``handled`` and add it to the history: one round trip."""
        mark = json.dumps({"action": handled.action, "entry_id": handled.entry_id, "at": handled.at})
        pipe = self.store.redis.pipeline(transaction=True)
        pipe.hset(self._marks, mapping={q: mark for q in handled.questions})
        pipe.lpush(self._history, json.dumps(asdict(handled), ensure_ascii=False))
        pipe.ltrim(self._history, 0, self.store.gaps.history_max - 1)
        self._call(pipe.execute)

    def marks(self) -> dict[str, Mark]:
        """Every handled wording and how it was handled, lapsed dismissals left out (and forgotten).

        A dismissal recorded without a date (before dismissals lapsed) is dated now."""
        raw = self._call(self.store.redis.hgetall, self._marks) or {}
        now, out, settle = self.clock(), {}, []
        for field, value in raw.items():
            question, data = field.decode(), json.loads(value)
            mark = Mark(data["action"], data.get("entry_id"), float(data.get("at", now)))
            if mark.action in LAPSING and "at" not in data:
                settle += [question, value, json.dumps({**data, "at": now})]
            elif mark.action in LAPSING and now - mark.at >= self.store.gaps.max_age:
                settle += [question, value, ""]
                continue
            out[question] = mark
        if settle:
            self._call(self.store.redis.eval, _SETTLE_MARKS, 1, self._marks, *settle)
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
