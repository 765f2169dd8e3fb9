"""Secrets and personal numbers out of every log line and error text, in one place.

:func:`redact` scrubs a text by shape: credentials in URLs and key-value pairs (``secret=…``,
``access_token=…``, ``"password": …``, ``user:password@host``) and personal numbers
(:func:`~bot.signup.privacy.mask_numbers`). :func:`install` adds the configured secrets themselves
(AppSecret, Token, EncodingAESKey, ``registry.id_key`` and former keys, the database and Redis
passwords) and puts the scrubbing into every log record this process creates, whatever logger or
handler it goes through: the message, its arguments and the traceback text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from urllib.parse import unquote, urlsplit

from bot.config import Config
from bot.signup.privacy import mask_numbers

MASK = "[REDACTED]"

_CREDENTIAL = re.compile(
    r"""(?ix)
    (\b[\w-]*?(?:secret|access_?token|passw(?:or)?d|pwd|aes_?key|id_keys?)["']?\s*[=:]\s*\[?\s*["']?)
    ([^&\s"',)}\]]+)
    """
)
"""``name=value`` / ``"name": "value"`` where the name says credential (app_secret, client_secret,
access_token, password, encoding_aes_key, id_key …): the value goes."""
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)([^@\s/]+)(@)")

MIN_SECRET_LENGTH = 4
"""Configured secrets shorter than this are left to the shape rules (masking every "ab" would maim logs)."""

_BASE_FACTORY = logging.getLogRecordFactory()
_FORMATTER = logging.Formatter()


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without credentials, the given ``secrets`` or full personal numbers."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    text = _CREDENTIAL.sub(lambda m: m.group(1) + MASK, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return mask_numbers(text)


def configured_secrets(config: Config) -> list[str]:
    """Every secret the configuration holds, longest first (so no part of one is left behind)."""
    w, r = config.wechat, config.registry
    found = [w.app_secret, w.token, w.encoding_aes_key, r.id_key, *r.old_id_keys]
    for url in (config.database.url, config.store.url):
        password = urlsplit(url).password
        if password:
            found += [password, unquote(password)]
    return sorted({s for s in found if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def install(config: Config) -> None:
    """Scrub every log record this process creates from now on (replacing an earlier install)."""
    secrets = configured_secrets(config)
    logging.setLogRecordFactory(_scrubbing_factory(lambda text: redact(text, secrets)))


def _scrubbing_factory(scrub: Callable[[str], str]) -> Callable[..., logging.LogRecord]:
    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = _BASE_FACTORY(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: logging reports it when the record is formatted
            return record
        record.msg, record.args = scrub(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = scrub(_FORMATTER.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return record

    return factory
