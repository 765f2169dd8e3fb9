"""Issue #12 against the real thing: `unionbot serve` (gunicorn, 2 workers, real Redis, plain mode)
spoken to over HTTP, its log read from the file it writes, its Redis values read directly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from support.app import write_config
from support.ids import nth_id
from test_privacy_store import QUESTION
from test_server_process import free_port, require_redis, running_server
from test_signup_e2e import phone

from bot.config import WechatConfig
from bot.signup.privacy import mask_numbers
from bot.wechat.simulator import Simulator, http_transport

APP_SECRET = "5ec7e7a99b0c4d1e8f2a3b4c5d6e7f80"
LOG_WAIT_SECONDS = 30.0


class Server:
    def __init__(self, url: str, wechat: WechatConfig, config: Path, log: Path, redis_url: str, prefix: str) -> None:
        self.url, self.wechat, self.config, self.log = url, wechat, config, log
        self.redis = redis.Redis.from_url(redis_url)
        self.prefix = prefix
        self.sim = Simulator(wechat, http_transport(url))

    def say(self, user: str, text: str, **kw: int) -> str:
        reply = self.sim.post(self.sim.text(user, text, **kw))
        assert reply.status == 200, reply.body
        return reply.text

    def post(self, params: dict, body: str) -> tuple[int, bytes]:
        return http_transport(self.url)("POST", "/wechat?" + urlencode(params), body.encode("utf-8"))

    def values(self) -> list[bytes]:
        """Every value, member and field this server keeps in Redis."""
        found: list[bytes] = []
        for key in self.redis.scan_iter(match=self.prefix + "*"):
            kind = self.redis.type(key).decode()
            if kind == "string":
                found.append(self.redis.get(key))
            elif kind == "hash":
                found += [part for item in self.redis.hgetall(key).items() for part in item]
            elif kind == "zset":
                found += self.redis.zrange(key, 0, -1)
        return found

    def wait_for_log(self, text: str) -> str:
        deadline = time.monotonic() + LOG_WAIT_SECONDS
        while True:
            content = self.log.read_text(encoding="utf-8", errors="replace")
            if text in content or time.monotonic() >= deadline:
                return content
            time.sleep(0.1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    redis_url = require_redis()
    tmp = tmp_path_factory.mktemp("security-server")
    prefix = f"test-security-{uuid.uuid4().hex[:8]}:"
    wechat = WechatConfig(token="sec-proc-token", app_id="wxsecurity000001", app_secret=APP_SECRET)
    config = write_config(
        tmp,
        wechat={"token": wechat.token, "app_id": wechat.app_id, "app_secret": APP_SECRET, "mode": "plain",
                "api_base": f"http://127.0.0.1:{free_port()}", "api_timeout": 2.0},
        store={"url": redis_url, "key_prefix": prefix}, knowledge={"semantic": "off"},
    )
    log = tmp / "server.log"
    with log.open("wb") as out, running_server(config, log=out) as url:
        yield Server(url, wechat, config, log, redis_url, prefix)


def sign_up_to_summary(server: Server, user: str, n: int) -> str:
    server.sim.post(server.sim.subscribe(user, "join:ST001"))
    server.say(user, "同意")
    server.say(user, "同意")
    summary = server.say(user, f"张三 {phone(n)} {nth_id(n)} 3 美团")
    assert "请核对您的信息" in summary, summary
    return summary


def test_a_msgid_from_another_sender_gets_that_senders_own_answer(server: Server) -> None:
    sign_up_to_summary(server, "o-proc-member", 11)
    assert "提交成功" in server.say("o-proc-member", "确认")
    card = server.say("o-proc-member", "我的会员", msg_id=770_000_001)
    assert "【工会会员卡】" in card
    other = server.say("o-proc-other", "帮助", msg_id=770_000_001)
    assert "会员编号" not in other and other == server.say("o-proc-third", "帮助")


def test_a_replayed_signed_query_with_another_body_is_refused(server: Server) -> None:
    params, body = server.sim.query(server.sim.text("o-proc-seen", "帮助"))
    status, first = server.post(params, body)
    assert status == 200
    forged = server.sim.text("o-proc-member", "我的会员")
    assert server.post(params, forged)[0] == 403
    assert server.post(params, body) == (200, first)  # the same body: a retry, the same reply


def test_the_app_secret_never_reaches_the_log_after_an_api_failure(server: Server) -> None:
    transfer = server.sim.post(server.sim.text("o-proc-human", "人工"))
    assert transfer.msg_type == "transfer_customer_service"  # its text goes by the (dead) API
    log = server.wait_for_log("customer-service message to o-proc-human failed")
    assert "customer-service message to o-proc-human failed" in log
    assert "Connection" in log and "[REDACTED]" in log  # the failure is there, its secret is not
    assert APP_SECRET not in log


def test_no_full_number_in_redis_after_a_signup_paused_at_its_summary_nor_in_faq_gaps(server: Server) -> None:
    summary = sign_up_to_summary(server, "o-proc-paused", 12)
    assert phone(12) not in summary and nth_id(12) not in summary
    assert "回复数字" in server.say("o-proc-asker", QUESTION)
    server.say("o-proc-asker", "我家猫不吃饭怎么办")  # moved on from the list: recorded for staff
    values = server.values()
    assert any(b"<xml>" in v for v in values)  # remembered replies are among them
    for value in values:
        for number in (phone(12), nth_id(12), phone(11), nth_id(11), "13812345678", "11010519491231002X"):
            assert number.encode() not in value.upper(), value
    gaps = subprocess.run([sys.executable, "-m", "bot.cli", "faq", "gaps"], capture_output=True, text=True,
                          env=dict(os.environ, UNIONBOT_CONFIG=str(server.config)), cwd=server.config.parent,
                          check=True).stdout
    assert mask_numbers(QUESTION) in gaps
    assert "13812345678" not in gaps and "11010519491231002X" not in gaps.upper()
    log = server.log.read_text(encoding="utf-8", errors="replace")
    for number in (phone(11), phone(12), nth_id(11), nth_id(12), "13812345678", APP_SECRET):
        assert number not in log
