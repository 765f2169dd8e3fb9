"""A reply not ready by the deadline: WeChat gets ``success`` in time, the reply goes out later as a
customer-service message, or with the worker's next reply when that is not possible."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_wechat_api import FakeWechatApi

from bot.config import Config, DatabaseConfig, KnowledgeConfig, ServiceConfig, StoreConfig, WechatConfig
from bot.core.conversation import Outcome
from bot.services import Services
from bot.web.app import create_app
from bot.wechat.simulator import Simulator, flask_transport

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
DEADLINE = 2.0  # seconds (production: 4; WeChat gives up at 5): long enough for a quick reply on a busy CI


class SlowBot:
    """A bot whose route waits for ``release`` on messages saying ``slow`` (a slow database, say)."""

    def __init__(self, tmp_path: Path, api: FakeWechatApi | None) -> None:
        wechat = WechatConfig(token="late-token")
        if api is not None:
            wechat = WechatConfig(token="late-token", app_id=api.app_id, app_secret=api.app_secret,
                                  api_base=api.base_url)
        self.config = Config(
            wechat=wechat,
            store=StoreConfig(url=f"memory://{uuid.uuid4().hex}"),
            database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'bot.db'}"),
            knowledge=KnowledgeConfig(dir=str(KNOWLEDGE), semantic="off"),
            service=ServiceConfig(reply_deadline=DEADLINE),
        )
        self.release = threading.Event()
        self.finished = threading.Event()

        def route(state, message, ctx) -> Outcome:
            if message.text == "slow":
                self.release.wait(10)
                self.finished.set()
                return Outcome(state=state, replies=("慢慢的回答",))
            return Outcome(state=state, replies=(f"回答：{message.text}",))

        self.services = Services.from_config(self.config, route=route)
        self.sim = Simulator(self.config.wechat, flask_transport(create_app(self.config, self.services)))

    def finish_slow_message(self) -> None:
        self.release.set()
        assert self.finished.wait(10)
        for _ in range(1000):  # the worker delivers the reply, then saves the turn and unlocks the user
            if not self.services.store.redis.keys(self.services.store.key("lock", "*")):
                return
            time.sleep(0.01)


@pytest.fixture
def api() -> Iterator[FakeWechatApi]:
    with FakeWechatApi() as fake:
        yield fake


def test_a_slow_reply_is_sent_as_a_customer_service_message(tmp_path: Path, api: FakeWechatApi) -> None:
    bot = SlowBot(tmp_path, api)
    assert bot.sim.post(bot.sim.text("w1", "slow")).body == b"success"  # in time, though the reply is not
    bot.finish_slow_message()
    assert [(m["touser"], m["text"]["content"]) for m in api.messages] == [("w1", "慢慢的回答")]
    assert bot.sim.post(bot.sim.text("w1", "你好")).text == "回答：你好"  # nothing left over


def test_without_the_api_a_slow_reply_comes_before_the_next_reply(tmp_path: Path) -> None:
    bot = SlowBot(tmp_path, api=None)
    assert bot.sim.post(bot.sim.text("w2", "slow")).body == b"success"
    bot.finish_slow_message()
    assert bot.sim.post(bot.sim.text("w2", "你好")).text == "慢慢的回答\n\n回答：你好"
    assert bot.sim.post(bot.sim.text("w2", "再问")).text == "回答：再问"  # shown once


def test_when_wechat_refuses_the_message_the_reply_waits_for_the_next_message(
        tmp_path: Path, api: FakeWechatApi) -> None:
    api.closed_window.add("w3")
    bot = SlowBot(tmp_path, api)
    assert bot.sim.post(bot.sim.text("w3", "slow")).body == b"success"
    bot.finish_slow_message()
    assert api.messages == []
    assert bot.sim.post(bot.sim.text("w3", "你好")).text.startswith("慢慢的回答")


def test_a_reply_ready_in_time_goes_in_the_response(tmp_path: Path, api: FakeWechatApi) -> None:
    bot = SlowBot(tmp_path, api)
    assert bot.sim.post(bot.sim.text("w4", "快")).text == "回答：快"
    assert api.messages == []
