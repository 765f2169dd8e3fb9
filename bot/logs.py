"""Log lines that say which request they belong to, and never show a worker's openid in full.

``[log] format = "json"`` gives one JSON object a line (for a log collector); "text" one readable
line. Either way each line carries the request id and the masked user of the message being
handled, and the user's openid is masked wherever it appears in the message text.
"""

from __future__ import annotations

import contextvars
import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from bot.config import LogConfig
from bot.signup.privacy import mask_openid

_request: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar("unionbot_request", default=("-", ""))

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(user)s]: %(message)s"


@contextmanager
def request_context(openid: str) -> Iterator[str]:
    """Tag log lines with a new request id and ``openid`` (masked) until the block ends."""
    request_id = secrets.token_hex(6)
    token = _request.set((request_id, openid))
    try:
        yield request_id
    finally:
        _request.reset(token)


class RequestFilter(logging.Filter):
    """Adds ``request_id`` and the masked ``user`` to each record; masks the openid in its text."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_id, openid = _request.get()
        record.request_id = request_id
        record.user = mask_openid(openid) if openid else "-"
        if openid:
            text = record.getMessage()
            if openid in text:
                record.msg, record.args = text.replace(openid, record.user), None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "user": getattr(record, "user", "-"),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(config: LogConfig) -> None:
    """Set the root logger's level, format and request tagging (serve, at start-up)."""
    root = logging.getLogger()
    root.setLevel(config.level.upper())
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    formatter = JsonFormatter() if config.format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in root.handlers:
        handler.setFormatter(formatter)
        if not any(isinstance(f, RequestFilter) for f in handler.filters):
            handler.addFilter(RequestFilter())
