"""Shared, short-lived state on Redis: conversations, retry dedup, locks, caches, geo index.

Production points ``store.url`` at a real Redis that every worker on every host shares. The
embedded default ``memory://`` is an in-process fakeredis: fine for one process, useless for
several (which is why ``serve --workers`` refuses it).

No value here holds a full mobile or ID number: a conversation's state (which holds a paused
signup's answers) is sealed with a key derived from ``registry.id_key``
(:class:`~bot.signup.privacy.Sealer`), unanswered questions are masked before they are kept, and
a reply remembered for retries is what the worker was shown (where the flows mask numbers).
Production needs Redis with AOF persistence (``appendonly yes``): paused signups live only here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, NamedTuple

import fakeredis
import redis

from bot.config import Config
from bot.core.conversation import State
from bot.signup.privacy import Sealer, mask_numbers

log = logging.getLogger(__name__)

_MEMORY_SERVERS: dict[str, fakeredis.FakeServer] = {}
_MEMORY_LOCK = threading.Lock()


class StoreUnavailable(ConnectionError):
    """Redis could not be reached; callers degrade instead of failing the worker."""


class LockTimeout(RuntimeError):
    """Another request held the lock for longer than we were willing to wait."""


def connect(url: str) -> redis.Redis:
    """A redis-py client for ``url``; ``memory://NAME`` gives a process-wide fakeredis."""
    if url.startswith("memory://"):
        name = url[len("memory://") :] or "default"
        with _MEMORY_LOCK:
            server = _MEMORY_SERVERS.setdefault(name, fakeredis.FakeServer())
        return fakeredis.FakeRedis(server=server)
    return redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0, health_check_interval=30)


_RELEASE_LOCK = """
if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end
return 0
"""

_RENEW_LOCK = """
if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) end
return 0
"""

CLAIM_TTL = 5.0
"""Seconds a message claim and a user lock live unless renewed: a worker killed mid-message frees
both within this time, so WeChat's next retry (5 s after the last) handles the message again."""
REPLY_TTL = 300
"""Seconds a finished message's claim and reply are kept for WeChat's retries."""

_BEGIN_TURN = """
if ARGV[3] == "1" and not redis.call("set", KEYS[1], "1", "NX", "PX", ARGV[2]) then return false end
if redis.call("set", KEYS[2], ARGV[1], "NX", "PX", ARGV[2]) then
  return {1, redis.call("get", KEYS[3]) or ""}
end
return {0}
"""
"""Claim the message (when ARGV[3] is 1), lock the user, read the state. KEYS: seen, lock, state.
Returns nil for a message claimed before, {0} while another request holds the lock, {1, state}."""


_GAP_OUTCOMES = """
local function outcomes(raw, total)
  if not raw then return total > 0 and {none = total} or {} end
  if string.sub(raw, 1, 1) == "{" then return cjson.decode(raw) end
  return {[raw] = total}
end
"""
"""A question's outcome record: JSON counting its asks by how each ended (``{"none": 3, "picked": 1,
"picks": {"dues.how": 1}}``). An older version kept only the last outcome: it stands for every ask."""

_RECORD_GAP = _GAP_OUTCOMES + """
local counts = outcomes(redis.call("hget", KEYS[2], ARGV[1]), tonumber(redis.call("zscore", KEYS[1], ARGV[1]) or "0"))
counts[ARGV[2]] = (counts[ARGV[2]] or 0) + 1
redis.call("zincrby", KEYS[1], 1, ARGV[1])
redis.call("hset", KEYS[2], ARGV[1], cjson.encode(counts))
redis.call("zadd", KEYS[3], ARGV[3], ARGV[1])
for _, key in ipairs(KEYS) do redis.call("expire", key, ARGV[4]) end
"""
"""Count one unanswered question. KEYS: count, outcome, seen; ARGV: question, outcome, now, max age.
Every key expires max age after the last question, so a quiet bot keeps nothing."""

_FOLLOW_UP_GAP = _GAP_OUTCOMES + """
local total = redis.call("zscore", KEYS[1], ARGV[1])
if not total then return 0 end
local counts = outcomes(redis.call("hget", KEYS[2], ARGV[1]), tonumber(total))
local was = counts[ARGV[2]] or 0
if was < 1 then return 0 end
counts[ARGV[2]] = was > 1 and was - 1 or nil
counts[ARGV[3]] = (counts[ARGV[3]] or 0) + 1
if ARGV[4] ~= "" then
  counts.picks = counts.picks or {}
  counts.picks[ARGV[4]] = (counts.picks[ARGV[4]] or 0) + 1
end
redis.call("hset", KEYS[2], ARGV[1], cjson.encode(counts))
return 1
"""
"""Move one ask of a question from outcome ARGV[2] to ARGV[3], noting the picked entry ARGV[4] (or "").
KEYS: count, outcome. A question no longer kept, or without an ask that ended as ARGV[2], is left alone."""

GAP_FOLLOW_UPS = {"none": ("human",), "suggest": ("picked", "human"), "picked": ("human",)}
"""How an unanswered ask may end after all: a pick from its list, 人工 afterwards. Only ever to a
stronger outcome, so a later one never hides a stronger one, and the counts per outcome still add
up to the times asked."""

_PRUNE_GAPS = """
local function forget(members)
  for _, m in ipairs(members) do
    redis.call("zrem", KEYS[1], m) redis.call("hdel", KEYS[2], m) redis.call("zrem", KEYS[3], m)
  end
end
forget(redis.call("zrangebyscore", KEYS[3], "-inf", "(" .. ARGV[1], "LIMIT", 0, 1000))
local excess = redis.call("zcard", KEYS[1]) - tonumber(ARGV[2])
if excess > 0 then forget(redis.call("zrange", KEYS[3], 0, excess - 1)) end
excess = redis.call("zcard", KEYS[1]) - tonumber(ARGV[2])
if excess > 0 then forget(redis.call("zrange", KEYS[1], 0, excess - 1)) end
"""
"""Forget questions last asked before ARGV[1], then the least recently asked beyond ARGV[2] of them
(and, for records older than the ``seen`` index, the least asked). KEYS: count, outcome, seen."""


class Unanswered(NamedTuple):
    """One recorded wording: times asked, how those asks ended (none: no answer; suggest: a list,
    nothing picked; picked: an entry picked from the list; human: 人工 afterwards), and which
    entries were picked from its list and how often."""

    question: str
    count: int
    outcomes: dict[str, int]
    picks: dict[str, int]


@dataclass(frozen=True)
class GapRetention:
    """How long and how many unanswered questions are kept (``store.gaps_max_age``/``gaps_max_count``),
    and how many records of what staff did with them (``store.gaps_history_max``)."""

    max_age: int = 90 * 86400
    max_count: int = 5000
    history_max: int = 10_000


@dataclass(frozen=True)
class Turn:
    """One message being handled: its dedup key is claimed and its user is locked by ``token``."""

    user: str
    message_key: str
    token: str
    state: State


@dataclass(eq=False)
class Store:
    """All keys this project keeps in Redis, under one prefix.

    ``sealer`` seals conversation state (by default under the development key: production passes
    one made from ``registry.id_key``); ``clock`` dates the unanswered questions.
    """

    redis: redis.Redis
    prefix: str = "unionbot:"
    state_ttl: int = 1800
    sealer: Sealer = field(default_factory=Sealer)
    gaps: GapRetention = field(default_factory=GapRetention)
    clock: Callable[[], float] = time.time

    @property
    def embedded(self) -> bool:
        return isinstance(self.redis, fakeredis.FakeRedis)

    @classmethod
    def from_url(cls, url: str, prefix: str = "unionbot:", state_ttl: int = 1800) -> Store:
        return cls(connect(url), prefix=prefix, state_ttl=state_ttl)

    @classmethod
    def from_config(cls, config: Config, clock: Callable[[], float] = time.time) -> Store:
        """The store as the configuration describes it, sealing state with ``registry.id_key``."""
        c = config.store
        return cls(connect(c.url), prefix=c.key_prefix, state_ttl=c.state_ttl, sealer=Sealer.from_config(config.registry),
                   gaps=GapRetention(c.gaps_max_age, c.gaps_max_count, c.gaps_history_max), clock=clock)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except redis.RedisError:
            return False

    # -- conversation state ------------------------------------------------------------------

    def save_state(self, user: str, state: State) -> None:
        """Save (sealed) with a fresh idle TTL; an empty state deletes the key."""
        key = self.key("state", user)
        if state:
            sealed = self.sealer.seal(json.dumps(state, ensure_ascii=False).encode("utf-8"))
            self._call(self.redis.set, key, sealed, ex=self.state_ttl)
        else:
            self._call(self.redis.delete, key)

    def _open_state(self, user: str, raw: bytes | None) -> State:
        """The state in ``raw``; one that no configured key opens, or that is not a JSON object,
        is dropped (the worker starts afresh) with a warning that names the user only."""
        if not raw:
            return {}
        data = self.sealer.open(raw)
        if data is None:
            log.warning("discarding conversation state of user %s: no configured key opens it", user)
            return {}
        try:
            state = json.loads(data)
        except ValueError:
            log.warning("discarding unreadable state for user %s", user)
            return {}
        return state if isinstance(state, dict) else {}

    # -- replays: a signed request seen before ----------------------------------------------------

    def remember_request(self, request_key: str, body_digest: str, ttl: int) -> bool:
        """Remember a signed request's body for ``ttl`` seconds; ``False`` when the same signed
        request was seen before with another body (a replay), ``True`` for its first sight or a
        repeat with the same body (WeChat's retry)."""
        key = self.key("request", request_key)
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(key, body_digest, nx=True, ex=ttl)
        pipe.get(key)
        _, stored = self._call(pipe.execute)
        return stored is None or _text(stored) == body_digest

    # -- retries: first sight of a message, and the reply it got ------------------------------

    def release_claim(self, message_key: str) -> None:
        """Forget a claim whose handling failed, so WeChat's retry runs it again."""
        self._call(self.redis.delete, self.key("seen", message_key))

    def save_reply(self, message_key: str, body: bytes, ttl: int = REPLY_TTL) -> None:
        self._call(self.redis.set, self.key("reply", message_key), body, ex=ttl)

    def reply_for(self, message_key: str) -> bytes | None:
        return self._call(self.redis.get, self.key("reply", message_key))

    def wait_reply(self, message_key: str, timeout: float, poll: float = 0.05) -> bytes | None:
        """The reply stored for ``message_key``, waiting up to ``timeout`` seconds for it, or
        ``None`` as soon as nobody holds the message's claim any more (its handler died)."""
        deadline = time.monotonic() + timeout
        while True:
            pipe = self.redis.pipeline(transaction=False)
            pipe.get(self.key("reply", message_key))
            pipe.exists(self.key("seen", message_key))
            body, claimed = self._call(pipe.execute)
            if body is not None or not claimed or time.monotonic() >= deadline:
                return body
            time.sleep(poll)

    # -- a conversation turn: two round trips per message -----------------------------------------

    def begin_turn(self, user: str, message_key: str, lock_ttl: float = CLAIM_TTL, wait: float = 4.0) -> Turn | None:
        """Claim the message, lock the user and read their state: one script, one round trip.

        ``None`` means the message was claimed before: a WeChat retry, to be answered with the
        first delivery's reply. Raises :class:`LockTimeout` after ``wait`` seconds behind another
        message of the same user (the claim is released, so a retry runs). Claim and lock live
        ``lock_ttl`` seconds: whoever handles the turn renews them (:meth:`renew_turns`).
        """
        token = secrets.token_hex(8)
        keys = [self.key("seen", message_key), self.key("lock", "user", user), self.key("state", user)]
        args = [token, int(lock_ttl * 1000), 1]
        result = self._call(self._begin_turn, keys=keys, args=args)
        if result is None:
            return None
        deadline = time.monotonic() + wait
        args[2] = 0  # claimed already: from now on only wait for the lock
        while not result[0]:
            if time.monotonic() >= deadline:
                self.release_claim(message_key)
                raise LockTimeout(user)
            time.sleep(0.01)
            result = self._call(self._begin_turn, keys=keys, args=args)
        return Turn(user, message_key, token, self._open_state(user, result[1]))

    @cached_property
    def _begin_turn(self) -> Any:
        # a registered script on the plain client: EVALSHA, loading the script once on NOSCRIPT
        return self.redis.register_script(_BEGIN_TURN)

    def renew_turns(self, turns: list[Turn], ttl: float = CLAIM_TTL) -> None:
        """Keep the claims and locks of turns still being worked on: one round trip for all."""
        ttl_ms = int(ttl * 1000)
        with self._writes() as pipe:
            for turn in turns:
                pipe.pexpire(self.key("seen", turn.message_key), ttl_ms)
                pipe.eval(_RENEW_LOCK, 1, self.key("lock", "user", turn.user), turn.token, ttl_ms)

    def finish_turn(self, turn: Turn, state: State, reply: bytes,
                    also: Callable[[Store], None] | None = None) -> None:
        """Save the state and the reply (for retries), run ``also``'s writes, unlock: one round trip."""
        with self._writes() as pipe:
            batch = replace(self, redis=pipe)
            batch.save_state(turn.user, state)
            batch.save_reply(turn.message_key, reply)
            pipe.expire(self.key("seen", turn.message_key), REPLY_TTL)
            if also is not None:
                also(batch)
            # plain EVAL: a registered Script would make redis-py send SCRIPT EXISTS before every pipeline
            pipe.eval(_RELEASE_LOCK, 1, self.key("lock", "user", turn.user), turn.token)

    def abandon_turn(self, turn: Turn) -> None:
        """Unlock and forget the claim of a turn that failed, so WeChat's retry runs it again."""
        with self._writes() as pipe:
            pipe.delete(self.key("seen", turn.message_key))
            pipe.eval(_RELEASE_LOCK, 1, self.key("lock", "user", turn.user), turn.token)

    # -- locks ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, name: str, timeout: float = 10.0, wait: float = 4.0) -> Iterator[None]:
        """A lock shared by every worker; raises :class:`LockTimeout` after ``wait`` seconds."""
        lock = self.redis.lock(self.key("lock", name), timeout=timeout, blocking_timeout=wait)
        try:
            acquired = lock.acquire()
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
        if not acquired:
            raise LockTimeout(name)
        try:
            yield
        finally:
            with contextlib.suppress(redis.RedisError):
                lock.release()

    # -- small shared values (access token, knowledge version …) --------------------------------

    def get_value(self, name: str) -> str | None:
        raw = self._call(self.redis.get, self.key("value", name))
        return raw.decode() if isinstance(raw, bytes) else raw

    def set_value(self, name: str, value: str, ttl: int | None = None) -> None:
        self._call(self.redis.set, self.key("value", name), value, ex=ttl)

    def delete_value(self, name: str) -> None:
        self._call(self.redis.delete, self.key("value", name))

    # -- unanswered questions, for staff --------------------------------------------------------

    def _gap_keys(self) -> list[str]:
        return [self.key("gaps", "count"), self.key("gaps", "outcome"), self.key("gaps", "seen")]

    def record_unanswered(self, question: str, outcome: str) -> None:
        """Count one unanswered question (``outcome``: none, or suggest when a list was shown).

        Personal numbers in it are masked first; questions beyond the retention bound are forgotten.
        """
        question = _gap_member(question)
        if not question:
            return
        now = self.clock()
        with self._writes() as pipe:
            pipe.eval(_RECORD_GAP, 3, *self._gap_keys(), question, outcome, now, self.gaps.max_age)
            pipe.eval(_PRUNE_GAPS, 3, *self._gap_keys(), now - self.gaps.max_age, self.gaps.max_count)

    def follow_up_unanswered(self, question: str, was: str, outcome: str, entry_id: str = "") -> None:
        """One ask of ``question`` recorded as ``was`` ended as ``outcome`` after all (picked, with
        the entry picked, or human); a move :data:`GAP_FOLLOW_UPS` does not allow is ignored."""
        if outcome not in GAP_FOLLOW_UPS.get(was, ()):
            log.warning("ignored an unanswered question's follow-up from %r to %r", was, outcome)
            return
        question = _gap_member(question)
        if question:
            with self._writes() as pipe:
                pipe.eval(_FOLLOW_UP_GAP, 2, *self._gap_keys()[:2], question, was, outcome, entry_id)

    def unanswered(self, limit: int = 1000, page: int = 200) -> list[Unanswered]:
        """The recorded questions, most asked first, read ``page`` rows at a time.

        Shown masked even if an older version stored it in full.
        """
        self._call(self.redis.eval, _PRUNE_GAPS, 3, *self._gap_keys(),
                   self.clock() - self.gaps.max_age, self.gaps.max_count)
        count_key, outcome_key, _ = self._gap_keys()
        result: list[Unanswered] = []
        while len(result) < limit:
            start = len(result)
            rows = self._call(self.redis.zrevrange, count_key, start, min(start + page, limit) - 1, withscores=True)
            if not rows:
                break
            records = self._call(self.redis.hmget, outcome_key, [raw for raw, _ in rows])
            result += [Unanswered(mask_numbers(_text(raw)), int(score), *_outcomes(record, int(score)))
                       for (raw, score), record in zip(rows, records, strict=True)]
        return result

    def last_asked(self, questions: list[str]) -> dict[str, float]:
        """When each of ``questions`` (as :meth:`unanswered` gave them) was last asked; unknown ones left out."""
        pipe = self.redis.pipeline(transaction=False)
        for question in questions:
            pipe.zscore(self._gap_keys()[2], question)
        seen = self._call(pipe.execute)
        return {q: float(at) for q, at in zip(questions, seen, strict=True) if at is not None}

    def clear_unanswered(self) -> None:
        self._call(self.redis.delete, *self._gap_keys())

    # -- geo index of stations ------------------------------------------------------------------

    def replace_geo(self, name: str, points: list[tuple[str, float, float]]) -> None:
        """Atomically replace the geo set ``name`` with (member, latitude, longitude) points."""
        key = self.key("geo", name)
        tmp = key + ":new"
        pipe = self.redis.pipeline()
        pipe.delete(tmp)
        for member, lat, lon in points:
            pipe.geoadd(tmp, [lon, lat, member])
        if points:
            pipe.rename(tmp, key)
        else:
            pipe.delete(key)
        self._call(pipe.execute)

    def nearest(self, name: str, latitude: float, longitude: float, count: int = 3,
                radius_km: float = 20000.0) -> list[tuple[str, float]]:
        """Up to ``count`` (member, distance in km) nearest to the point, closest first."""
        rows = self._call(
            self.redis.geosearch, self.key("geo", name), longitude=longitude, latitude=latitude,
            radius=radius_km, unit="km", withdist=True, sort="ASC", count=count,
        )
        return [(m.decode() if isinstance(m, bytes) else m, float(d)) for m, d in rows]

    # ------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writes(self) -> Iterator[redis.client.Pipeline]:
        """Several writes in one round trip; a store that is itself a batch adds them to it."""
        if isinstance(self.redis, redis.client.Pipeline):
            yield self.redis
            return
        pipe = self.redis.pipeline(transaction=False)
        yield pipe
        self._call(pipe.execute)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a redis-py call; connection failures become :class:`StoreUnavailable`."""
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc


def _gap_member(question: str) -> str:
    """How an unanswered question is kept: masked, at most 200 characters."""
    return mask_numbers(question.strip())[:200]


def _outcomes(record: bytes | None, count: int) -> tuple[dict[str, int], dict[str, int]]:
    """(asks by outcome, picks by entry) from an outcome record, read as the scripts read it."""
    if record is None:
        return {"none": count}, {}
    text = _text(record)
    if not text.startswith("{"):
        return {text: count}, {}
    data = json.loads(text)
    picks = data.pop("picks", {})
    return {k: int(n) for k, n in data.items()}, {k: int(n) for k, n in picks.items()}


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw
