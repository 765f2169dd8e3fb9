"""Messages the bot sends on its own, through the (fake) WeChat API: staff decisions, handover."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_wechat_api import FakeWechatApi
from support.app import write_config

from bot.cli import main
from bot.config import load_config
from bot.web.app import create_app
from bot.wechat.simulator import Simulator, flask_transport

ID_NUMBER = "11010519491231002X"


@pytest.fixture
def fake() -> FakeWechatApi:
    with FakeWechatApi() as server:
        yield server


@pytest.fixture
def config_path(tmp_path: Path, fake: FakeWechatApi) -> Path:
    path = write_config(tmp_path, wechat={"token": "t", "app_id": fake.app_id, "app_secret": fake.app_secret,
                                          "api_base": fake.base_url, "api_timeout": 2.0})
    assert CliRunner().invoke(main, ["db", "upgrade", "--config", str(path)]).exit_code == 0
    return path


def sign_up(sim: Simulator, user: str) -> str:
    for text in ["入会", "同意", "同意", f"张三 13812345678 {ID_NUMBER}", "3", "美团"]:
        sim.post(sim.text(user, text))
    card = sim.post(sim.text(user, "确认")).text
    assert "GH" in card
    return card.split("会员编号：")[1].split("\n")[0]


def test_approval_is_sent_to_a_worker_who_wrote_within_48_hours(config_path: Path, fake: FakeWechatApi) -> None:
    config = load_config(config_path, environ={})
    app = create_app(config)
    sim = Simulator(config.wechat, flask_transport(app))
    number = sign_up(sim, "o-recent")
    result = CliRunner().invoke(main, ["members", "approve", number, "--config", str(config_path)])
    assert result.exit_code == 0, result.output
    sent = [m for m in fake.messages if m["touser"] == "o-recent"]
    assert len(sent) == 1 and "审核通过" in sent[0]["text"]["content"]
    assert "已通过" in sim.post(sim.text("o-recent", "我的会员")).text


def test_outside_the_window_the_decision_is_shown_with_the_next_message(config_path: Path,
                                                                        fake: FakeWechatApi) -> None:
    config = load_config(config_path, environ={})
    sim = Simulator(config.wechat, flask_transport(create_app(config)))
    number = sign_up(sim, "o-old")
    fake.closed_window.add("o-old")  # days later: WeChat refuses a customer-service message (45015)
    result = CliRunner().invoke(main, ["members", "reject", number, "--reason", "信息不全", "--config", str(config_path)])
    assert result.exit_code == 0, result.output
    assert "送达方式：待工人下次发消息时显示" in result.output
    assert not [m for m in fake.messages if m["touser"] == "o-old"]
    reply = sim.post(sim.text("o-old", "你好")).text
    assert reply.startswith("【入会审核结果】很抱歉，您的入会申请未通过审核。\n原因：信息不全")
    assert "【入会审核结果】" not in sim.post(sim.text("o-old", "你好")).text  # shown once


def test_handover_to_a_person_uses_transfer_and_sends_the_hotline(config_path: Path, fake: FakeWechatApi) -> None:
    config = load_config(config_path, environ={})
    sim = Simulator(config.wechat, flask_transport(create_app(config)))
    reply = sim.post(sim.text("o-help", "人工"))
    assert reply.msg_type == "transfer_customer_service"
    deadline = time.monotonic() + 5
    while not fake.messages and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.messages and fake.messages[0]["touser"] == "o-help"
    assert "12351" in fake.messages[0]["text"]["content"]


def test_handover_without_api_answers_in_text(config_path: Path) -> None:
    config = load_config(config_path, environ={})
    config = replace(config, wechat=replace(config.wechat, app_id="", app_secret=""))
    sim = Simulator(config.wechat, flask_transport(create_app(config)))
    reply = sim.post(sim.text("o-help", "人工"))
    assert reply.msg_type == "text" and "12351" in reply.text
