"""One-time codes that bind a staff member's WeChat to their console account (绑定 483920).

The console shows a code; the staff member sends it to the official account from the WeChat that
should get alerts. A code maps to one user name, lives :data:`CODE_TTL` seconds and is taken once;
each account has at most one live code (a new one replaces the old). Wrong codes are counted per
openid and stop being tried after :data:`MAX_WRONG` in :data:`WRONG_WINDOW` seconds, so a code
cannot be guessed: with a few live codes among a million, five tries an hour get nowhere.
"""

from __future__ import annotations

import secrets

from bot.storage.store import Store

CODE_TTL = 600
CODE_DIGITS = 6
MAX_WRONG = 5
WRONG_WINDOW = 3600


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _code_key(store: Store, code: str) -> str:
    return store.key("bind", "code", code)


def _user_key(store: Store, username: str) -> str:
    return store.key("bind", "user", username)


def issue(store: Store, username: str) -> str:
    """A fresh code for ``username``; any earlier one stops working."""
    cancel(store, username)
    for _ in range(20):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if store._call(store.redis.set, _code_key(store, code), username, nx=True, ex=CODE_TTL):
            store._call(store.redis.set, _user_key(store, username), code, ex=CODE_TTL)
            return code
    raise RuntimeError("no free bind code after 20 tries")  # pragma: no cover - a million codes


def live(store: Store, username: str) -> tuple[str, int] | None:
    """The account's code still waiting to be sent, with its seconds left; None when there is none."""
    raw = store._call(store.redis.get, _user_key(store, username))
    if raw is None:
        return None
    code = _text(raw)
    pipe = store.redis.pipeline(transaction=False)
    pipe.get(_code_key(store, code))
    pipe.ttl(_code_key(store, code))
    owner, ttl = store._call(pipe.execute)
    if owner is None or _text(owner) != username or ttl <= 0:
        return None
    return code, int(ttl)


def take(store: Store, code: str) -> tuple[str, int] | None:
    """The user name ``code`` was issued to and its seconds left, the code now used up; None for a
    wrong or expired code."""
    pipe = store.redis.pipeline(transaction=True)
    pipe.get(_code_key(store, code))
    pipe.ttl(_code_key(store, code))
    pipe.delete(_code_key(store, code))
    owner, ttl, _ = store._call(pipe.execute)
    if owner is None:
        return None
    username = _text(owner)
    store._call(store.redis.delete, _user_key(store, username))
    return username, max(int(ttl), 1)


def give_back(store: Store, code: str, username: str, ttl: int) -> None:
    """Put back a code taken for a binding that could not be written (the database was down)."""
    if store._call(store.redis.set, _code_key(store, code), username, nx=True, ex=ttl):
        store._call(store.redis.set, _user_key(store, username), code, ex=ttl)


def cancel(store: Store, username: str) -> None:
    """Forget the account's live code, if any."""
    raw = store._call(store.redis.get, _user_key(store, username))
    if raw is not None:
        code_key = _code_key(store, _text(raw))
        owner = store._call(store.redis.get, code_key)
        if owner is not None and _text(owner) == username:
            store._call(store.redis.delete, code_key)
    store._call(store.redis.delete, _user_key(store, username))


def locked_out(store: Store, openid: str) -> bool:
    """Whether this WeChat account sent too many wrong codes lately (it must wait)."""
    raw = store._call(store.redis.get, store.key("bind", "wrong", openid))
    return raw is not None and int(raw) >= MAX_WRONG


def count_wrong(store: Store, openid: str) -> int:
    """Count one wrong code from ``openid``; answers how many in the current window."""
    key = store.key("bind", "wrong", openid)
    wrong = int(store._call(store.redis.incr, key))
    if wrong == 1:
        store._call(store.redis.expire, key, WRONG_WINDOW)
    return wrong
