"""Database calls with a bounded wait, so a slow or frozen database never holds a reply up.

A frozen PostgreSQL (or an address that accepts connections and never answers) does not end a
statement: the server-side ``statement_timeout`` never fires and the driver waits on its socket.
So the webhook never runs a database call on its own thread. Calls run on a small per-process
pool, at most ``limit`` at once (a semaphore, taken with a short wait); the caller waits up to a
timeout and then carries on without the answer, while the stuck call keeps its slot until the
driver gives up. A database that hangs thus costs each message at most one bounded wait, and a
worker at most ``limit`` stuck threads, never its whole request pool.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from bot import metrics
from bot.registry.repository import RegistryUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")


class DatabaseBusy(RegistryUnavailable):
    """Every database slot of this worker is taken (by calls that are slow or stuck)."""


class DatabaseDown(RegistryUnavailable):
    """A call failed moments ago: not tried again until ``retry_after`` has passed."""


class DatabaseTimeout(RegistryUnavailable):
    """The call did not finish within the caller's wait; it may still complete later."""


class BoundedDatabase:
    """Runs registry calls on at most ``limit`` threads, each caller waiting a bounded time.

    After a call fails or times out, calls fail at once for ``retry_after`` seconds, so that while
    the database is down a scan or a 确认 is answered at once instead of each waiting in turn
    (and holding a request thread that an FAQ answer needs).
    """

    def __init__(self, limit: int = 6, busy_wait: float = 0.2, retry_after: float = 3.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.busy_wait = busy_wait
        self.retry_after = retry_after
        self.clock = clock
        self._down_until = 0.0
        self._down_reason = ""
        self._slots = threading.BoundedSemaphore(limit)
        self._pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="database")
        self._lock = threading.Lock()
        self.in_flight = 0

    def call(self, timeout: float, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)``, or :class:`DatabaseBusy` / :class:`DatabaseTimeout` past the waits."""
        if self.clock() < self._down_until:
            metrics.DATABASE_ERRORS.labels("down").inc()
            raise DatabaseDown(f"{self._down_reason} (not retried for {self.retry_after:g} s)")
        if not self._slots.acquire(timeout=self.busy_wait):
            metrics.DATABASE_ERRORS.labels("busy").inc()
            raise DatabaseBusy(f"database busy: {self.limit} calls of this worker still running")
        with self._lock:
            self.in_flight += 1
        try:
            future: Future[T] = self._pool.submit(fn, *args)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            metrics.DATABASE_ERRORS.labels("timeout").inc()
            self._mark_down(f"database did not answer within {timeout:g} s")
            raise DatabaseTimeout(f"database did not answer within {timeout:g} s") from None
        except RegistryUnavailable as exc:
            metrics.DATABASE_ERRORS.labels("unavailable").inc()
            self._mark_down(str(exc))
            raise

    def _mark_down(self, reason: str) -> None:
        self._down_reason = reason
        self._down_until = self.clock() + self.retry_after

    def _release(self) -> None:
        with self._lock:
            self.in_flight -= 1
        self._slots.release()
