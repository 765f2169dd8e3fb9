"""Personal data: masking for every reply, log line and export that does not ask for it in full;
encryption at rest and keyed hashing of ID numbers (see the section below)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: keep the first character only."""
    name = name.strip()
    if len(name) <= 1:
        return name
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str) -> str:
    """13812345678 -> 138****5678."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_openid(openid: str) -> str:
    """oX1a2b3c4d5e6f7g8h9i0jKLMN -> oX1a…KLMN: enough to tell log lines of one worker apart."""
    if len(openid) <= 8:
        return "*" * len(openid)
    return openid[:4] + "…" + openid[-4:]


def mask_id_number(id_number: str) -> str:
    """110105194912310021 -> 110105********0021: region and last four only."""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


_DIGIT_RUN = re.compile(r"\d(?:[ \t-]?\d)*(?:[ \t-]?[XxＸｘ](?![A-Za-z]))?")
"""Digits (full-width too), maybe split by spaces or hyphens (138 1234 5678), maybe ending in X."""
_SEPARATOR = re.compile(r"[ \t-]")

LONG_DIGIT_RUN = 7
"""Runs of at least this many digits are masked in free text (landlines, bank cards, birthdays)."""


def mask_numbers(text: str) -> str:
    """Free text with every personal number in it masked: mobiles as :func:`mask_phone`, ID numbers
    as :func:`mask_id_number` (also when typed in groups, or in full-width digits), and any other
    run of :data:`LONG_DIGIT_RUN` or more digits all but its last two."""

    def mask(match: re.Match[str]) -> str:
        found = unicodedata.normalize("NFKC", match.group()).upper()
        joined = _SEPARATOR.sub("", found)
        if len(joined) == 18 and joined[:17].isdigit():
            return mask_id_number(joined)
        if len(joined) == 11 and joined.startswith("1") and joined.isdigit():
            return mask_phone(joined)
        return "".join(_mask_long(part) for part in re.split(r"([ \t-])", match.group()))

    return _DIGIT_RUN.sub(mask, text)


def _mask_long(part: str) -> str:
    """One unseparated run: all but its last two characters masked when it is long."""
    if sum(c.isdigit() for c in part) < LONG_DIGIT_RUN:
        return part
    return "*" * (len(part) - 2) + unicodedata.normalize("NFKC", part[-2:])


# -- encryption at rest and keyed hashing of ID numbers ------------------------------------------
#
# ``registry.id_key`` is one secret (32 random bytes, urlsafe base64; `unionbot members keygen`
# prints a fresh one). Two independent keys are derived from it with HKDF: a Fernet key that
# encrypts the ID number (``members.id_cipher``) and an HMAC-SHA256 key that gives the keyed hash
# used to find duplicates (``members.id_hash``) without decrypting anything.
#
# Rotating the key: put the new secret in ``registry.id_key``, move the old one to
# ``registry.old_id_keys`` (still accepted for reading, and for duplicate checks), then run
# ``unionbot members rekey``, which re-encrypts every row with the new key and recomputes its hash.
# After that the old key can be removed from the configuration.

log = logging.getLogger(__name__)

DEV_KEY_MARKER = "dev"
"""In ``registry.old_id_keys``, stands for the built-in development key (to rekey a pilot's data)."""

_DEV_SECRET = hashlib.sha256(b"unionbot development key - not a secret - never use in production").digest()
_dev_warned = False
_dev_lock = threading.Lock()


class KeyConfigError(ValueError):
    """``registry.id_key`` / ``registry.old_id_keys`` is not a usable key."""


class UndecryptableError(ValueError):
    """A stored ID number cannot be decrypted with any configured key."""


def generate_key() -> str:
    """A fresh secret for ``registry.id_key``."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


def normalize_id_number(id_number: str) -> str:
    """Canonical form for hashing and storing: full-width folded, no spaces, upper-case X."""
    text = unicodedata.normalize("NFKC", id_number or "")
    return "".join(text.split()).upper()


def decode_secret(key: str, name: str) -> bytes:
    """The 32 bytes of a configured key; :class:`KeyConfigError` names the key when it is not one."""
    if key == DEV_KEY_MARKER:
        return _DEV_SECRET
    try:
        raw = base64.urlsafe_b64decode(key.strip().encode("ascii") + b"=" * (-len(key.strip()) % 4))
    except (ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        raise KeyConfigError(
            f"{name}: must be 32 random bytes in urlsafe base64 (44 characters); "
            "generate one with `unionbot members keygen`"
        )
    return raw


def _derive(secret: bytes, info: bytes) -> bytes:
    """An independent key for one purpose (``info``) from ``registry.id_key``."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


def _fernet(secret: bytes, info: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derive(secret, info)))


def _secrets(id_key: str, old_id_keys: Iterable[str]) -> list[bytes]:
    """The current secret first (the development one when ``id_key`` is empty), then former ones."""
    if id_key:
        secrets = [decode_secret(id_key, "registry.id_key")]
    else:
        secrets = [_DEV_SECRET]
        _warn_dev_key()
    for i, old in enumerate(old_id_keys):
        if old:
            s = decode_secret(old, f"registry.old_id_keys[{i}]")
            if s not in secrets:
                secrets.append(s)
    return secrets


class IdCipher:
    """Encrypts, decrypts and hashes ID numbers with the current key and any former ones."""

    def __init__(self, id_key: str = "", old_id_keys: Iterable[str] = ()) -> None:
        secrets = _secrets(id_key, old_id_keys)
        self.is_dev_key = not id_key
        self._fernets = [_fernet(s, b"unionbot/id-number/fernet") for s in secrets]
        self._multi = MultiFernet(self._fernets)
        self._hash_keys = [_derive(s, b"unionbot/id-number/hmac") for s in secrets]

    def encrypt(self, id_number: str) -> str:
        return self._multi.encrypt(normalize_id_number(id_number).encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._multi.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise UndecryptableError(
                "ID number cannot be decrypted with registry.id_key or registry.old_id_keys"
            ) from exc

    def is_current(self, token: str) -> bool:
        """True if ``token`` was encrypted with the current key (no rekey needed)."""
        try:
            self._fernets[0].decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def hash(self, id_number: str) -> str:
        """Keyed hash with the current key: equal ID numbers give equal hashes, nothing else does."""
        return self._hash_with(self._hash_keys[0], id_number)

    def all_hashes(self, id_number: str) -> list[str]:
        """The hash under every configured key: duplicate checks must match rows not yet rekeyed."""
        return [self._hash_with(k, id_number) for k in self._hash_keys]

    @staticmethod
    def _hash_with(key: bytes, id_number: str) -> str:
        return hmac.new(key, normalize_id_number(id_number).encode(), hashlib.sha256).hexdigest()


class Sealer:
    """Seals short-lived values kept outside the registry (a paused signup's answers in Redis).

    The key is derived from ``registry.id_key`` for this purpose alone; values sealed under a
    former key (``registry.old_id_keys``) still open, so a key rotation loses no conversation,
    and nothing needs rekeying: a sealed value lives no longer than the conversation's TTL.
    """

    def __init__(self, id_key: str = "", old_id_keys: Iterable[str] = ()) -> None:
        self._multi = MultiFernet([_fernet(s, b"unionbot/conversation-state") for s in _secrets(id_key, old_id_keys)])

    @classmethod
    def from_config(cls, registry_config: object) -> Sealer:
        return cls(getattr(registry_config, "id_key", ""), getattr(registry_config, "old_id_keys", ()))

    def seal(self, data: bytes) -> bytes:
        return self._multi.encrypt(data)

    def open(self, token: bytes) -> bytes | None:
        """The sealed data, or ``None`` when no configured key opens it (or it was never sealed)."""
        try:
            return self._multi.decrypt(token)
        except InvalidToken:
            return None


def _warn_dev_key() -> None:
    global _dev_warned
    with _dev_lock:
        if _dev_warned:
            return
        _dev_warned = True
    log.warning(
        "registry.id_key is empty: ID numbers are encrypted with the built-in DEVELOPMENT key. "
        "Set registry.id_key (or UNIONBOT_REGISTRY_ID_KEY) before real workers sign up; "
        "`unionbot members keygen` prints one."
    )
