"""Background work of the serving processes: retrying notices that are due, staff digests and
summaries, member-notice jobs.

Every worker process on every host runs a ticker; a shared store lock lets one of them work at a
time (the others skip that round), so nothing is sent twice and a dead host's work is picked up by
the next round elsewhere. :meth:`Ticker.wake` runs a round at once (e.g. after a signup, so the
reviewers hear of it without waiting for the interval). Tests call :meth:`Ticker.tick` directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from bot.storage.store import LockTimeout, Store, StoreUnavailable

log = logging.getLogger(__name__)

Task = tuple[str, Callable[[], object]]
"""A named piece of work; each round runs every task, a failing one never stops the others."""

LOCK = "notify_ticker"


class Ticker:
    def __init__(self, store: Store, tasks: Sequence[Task], interval: float = 5.0) -> None:
        self.store = store
        self.tasks = list(tasks)
        self.interval = interval
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> bool:
        """One round, if no other process is running one; answers whether this one ran."""
        try:
            with self.store.lock(LOCK, timeout=max(60.0, 4 * self.interval), wait=0):
                for name, task in self.tasks:
                    try:
                        task()
                    except Exception:
                        log.exception("background task %s failed", name)
        except LockTimeout:
            return False
        except StoreUnavailable as exc:
            log.error("background tasks skipped, store unavailable: %s", exc)
            return False
        return True

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        """Run rounds in a daemon thread: every ``interval`` seconds, or at once when woken."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="notify-ticker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.tick()
