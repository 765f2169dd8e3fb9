"""Structured logs: each line with a request id and the masked user; no openid in full anywhere."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import (
    Config,
    ConfigError,
    DatabaseConfig,
    KnowledgeConfig,
    StoreConfig,
    WechatConfig,
    load_config,
)
from bot.core.conversation import Outcome
from bot.logs import TEXT_FORMAT, JsonFormatter, RequestFilter
from bot.services import Services
from bot.web.app import create_app
from bot.wechat.simulator import Simulator, flask_transport

OPENID = "oUnion_7f3a9c2e41b8d05e6a1fK"
log = logging.getLogger("test.handler")


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What the root logger writes, in the given format, while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    stream.handler = handler  # type: ignore[attr-defined]
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def bot(tmp_path: Path) -> Simulator:
    config = Config(
        wechat=WechatConfig(token="log-token"),
        store=StoreConfig(url=f"memory://{uuid.uuid4().hex}"),
        database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'bot.db'}"),
        knowledge=KnowledgeConfig(dir=str(Path(__file__).resolve().parent.parent / "knowledge"), semantic="off"),
    )

    def route(state, message, ctx) -> Outcome:
        log.info("handling a message of %s", message.user)
        log.warning("second line")
        return Outcome(state=state, replies=("好的",))

    services = Services.from_config(config, route=route)
    return Simulator(config.wechat, flask_transport(create_app(config, services)))


def test_json_lines_carry_the_request_id_and_the_masked_user(tmp_path: Path, captured: io.StringIO) -> None:
    captured.handler.setFormatter(JsonFormatter())  # type: ignore[attr-defined]
    sim = bot(tmp_path)
    sim.post(sim.text(OPENID, "你好"))
    sim.post(sim.text(OPENID, "再问一次"))
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    ours = [line for line in lines if line["logger"] == "test.handler"]
    assert len(ours) == 4
    assert all(line["user"] == "oUni…a1fK" for line in ours)
    assert ours[0]["message"] == "handling a message of oUni…a1fK"
    assert ours[0]["request_id"] == ours[1]["request_id"] != ours[2]["request_id"]  # one id per request
    assert OPENID not in captured.getvalue()


def test_text_lines_are_tagged_and_masked_too(tmp_path: Path, captured: io.StringIO) -> None:
    captured.handler.setFormatter(logging.Formatter(TEXT_FORMAT))  # type: ignore[attr-defined]
    sim = bot(tmp_path)
    sim.post(sim.text(OPENID, "你好"))
    line = next(line for line in captured.getvalue().splitlines() if "test.handler" in line)
    assert "oUni…a1fK]: handling a message of oUni…a1fK" in line
    assert OPENID not in captured.getvalue()


def test_log_format_is_checked() -> None:
    assert load_config(environ={"UNIONBOT_LOG_FORMAT": "json"}).log.format == "json"
    with pytest.raises(ConfigError, match="log.format"):
        load_config(environ={"UNIONBOT_LOG_FORMAT": "xml"})
