"""Getting a reply out in time: WeChat drops a reply after 5 s, and a worker killed mid-message
must not take the message with it.

:class:`Delivery` is the hand-over between the request thread, which answers WeChat by the
deadline, and the thread doing the work, which decides at one point (just before the turn is
saved) whether its reply still goes into the HTTP response or must go out another way.
:class:`TurnKeeper` renews the short claim and user lock of every turn in progress, so they
outlive slow work but not a killed process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.storage.store import CLAIM_TTL, Store, StoreUnavailable, Turn

log = logging.getLogger(__name__)

FINISH_WAIT = 1.0
"""Seconds the request waits for a reply that was ready by the deadline to be saved."""


class Delivery:
    """One message's reply: in the HTTP response if ready by the deadline, else delivered late."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._late = False
        self._kept = False
        self._ready = threading.Event()
        self.reply = "success"

    def keep_reply(self) -> bool:
        """Called by the worker once its reply is ready: True while WeChat still waits for it."""
        with self._lock:
            self._kept = not self._late
            return self._kept

    def put(self, reply: str) -> None:
        """The worker's reply (rendered); only used when :meth:`keep_reply` said so, or no turn."""
        self.reply = reply
        self._ready.set()

    def wait(self, deadline: float) -> str:
        """The reply for the HTTP response: the worker's, or ``success`` past ``deadline`` seconds."""
        if self._ready.wait(deadline):
            return self.reply
        with self._lock:
            if not self._kept:
                self._late = True
                return "success"
        self._ready.wait(FINISH_WAIT)  # the reply is ready and being saved: it is worth a moment
        return self.reply


class TurnKeeper:
    """A thread renewing the claim and lock of every turn in progress every ``interval`` seconds."""

    def __init__(self, store: Store, ttl: float = CLAIM_TTL, interval: float | None = None) -> None:
        self.store = store
        self.ttl = ttl
        self.interval = interval if interval is not None else ttl / 3
        self._turns: dict[int, Turn] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, turn: Turn) -> Callable[[], None]:
        """Keep ``turn`` claimed until the returned function is called."""
        with self._lock:
            self._turns[id(turn)] = turn
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="turn-keeper", daemon=True)
                self._thread.start()

        def release() -> None:
            with self._lock:
                self._turns.pop(id(turn), None)

        return release

    def _run(self) -> None:
        while not self._wake.wait(self.interval):
            with self._lock:
                turns = list(self._turns.values())
            if not turns:
                continue
            try:
                self.store.renew_turns(turns, self.ttl)
            except StoreUnavailable as exc:
                log.error("could not renew %d message claim(s): %s", len(turns), exc)
