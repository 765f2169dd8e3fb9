"""The published knowledge version: a snapshot of the knowledge files in the shared store.

Every host keeps its own ``knowledge/`` folder; publishing puts a validated copy of one host's
files into Redis under a version number, and every worker polls that number (one GET) and loads
a newer snapshot. Two keys: ``knowledge:version`` (the number) and ``knowledge:snapshot`` (a hash
of version and body), written together by one script so a reader never sees a body that is
older or newer than its number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import redis

from bot.storage.store import Store, StoreUnavailable

_PUBLISH = """
local v = redis.call("incr", KEYS[1])
redis.call("hset", KEYS[2], "version", v, "body", ARGV[1])
return v
"""


@dataclass(frozen=True)
class Snapshot:
    """One published version of the knowledge files, and who published it when."""

    version: int
    files: dict[str, bytes]
    """``{name relative to the knowledge folder: content}``, e.g. ``faq/dues.yaml``."""
    by: str
    at: float
    fingerprint: str


class PublishedKnowledge:
    """Publish and read knowledge snapshots in the shared store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._version_key = store.key("knowledge", "version")
        self._snapshot_key = store.key("knowledge", "snapshot")

    def version(self) -> int | None:
        """The newest published version (None: nothing published); the cheap call workers poll."""
        raw = self._call(self.store.redis.get, self._version_key)
        return int(raw) if raw is not None else None

    def snapshot(self) -> Snapshot | None:
        """The newest snapshot, or None when nothing was published or it cannot be read."""
        raw = self._call(self.store.redis.hgetall, self._snapshot_key)
        if not raw:
            return None
        try:
            body = json.loads(raw[b"body"])
            return Snapshot(version=int(raw[b"version"]),
                            files={name: text.encode("utf-8") for name, text in body["files"].items()},
                            by=str(body["by"]), at=float(body["at"]), fingerprint=str(body["fingerprint"]))
        except (KeyError, ValueError, TypeError, AttributeError):
            return None

    def publish(self, files: dict[str, bytes], by: str, at: float, fingerprint: str) -> int:
        """Store ``files`` as the next version; returns its number. The caller validated them."""
        body = json.dumps({"files": {name: data.decode("utf-8") for name, data in files.items()},
                           "by": by, "at": at, "fingerprint": fingerprint}, ensure_ascii=False)
        return int(self._call(self._publish, keys=[self._version_key, self._snapshot_key], args=[body]))

    @cached_property
    def _publish(self) -> Any:
        return self.store.redis.register_script(_PUBLISH)

    @staticmethod
    def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
