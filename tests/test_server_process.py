"""The real thing: `unionbot serve` in a subprocess (gunicorn, 2 workers, real Redis), spoken to over HTTP."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import subprocess
import sys
import time
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import urlencode

import pytest
import redis
import requests
from support.app import write_config

from bot.config import WechatConfig
from bot.wechat.simulator import Simulator, http_transport

AES_KEY = base64.b64encode(bytes(range(1, 33))).decode()[:-1]
READY_SECONDS = 60.0
"""A loaded machine can take this long to boot the workers (or stop them)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_redis() -> str:
    redis_url = os.environ.get("UNIONBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {redis_url} unreachable (CI=true: a missing service is a failure): {exc}")
        pytest.skip(f"Redis at {redis_url} unreachable: {exc}")
    return redis_url


@contextlib.contextmanager
def running_server(config: Path, workers: int = 2, log: IO[bytes] | int = subprocess.PIPE) -> Iterator[str]:
    """`unionbot serve` on a free port with ``config`` (its database migrated first): its base URL.
    Output goes to ``log``; on exit the server stops and every key under ``key_prefix`` is deleted."""
    env = dict(os.environ, UNIONBOT_CONFIG=str(config))
    cwd = config.parent
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=cwd, check=True,
                   capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"server exited: {proc.stdout.read().decode() if proc.stdout else ''}")
            time.sleep(0.2)
    url = f"http://127.0.0.1:{port}"
    try:
        # a worker accepts only once its app (and knowledge) is loaded: wait for the first one
        requests.get(url + "/healthz", timeout=READY_SECONDS).raise_for_status()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(READY_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        store = tomllib.loads(config.read_text(encoding="utf-8"))["store"]
        client = redis.Redis.from_url(store["url"])
        keys = list(client.scan_iter(match=store["key_prefix"] + "*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, WechatConfig]]:
    redis_url = require_redis()
    tmp = tmp_path_factory.mktemp("server")
    prefix = f"test-server-{uuid.uuid4().hex[:8]}:"
    wechat = WechatConfig(token="proc-token", app_id="wxprocess0000001", encoding_aes_key=AES_KEY, mode="safe")
    config = write_config(tmp, wechat={"token": wechat.token, "app_id": wechat.app_id, "encoding_aes_key": AES_KEY,
                                       "mode": "safe"},
                          store={"url": redis_url, "key_prefix": prefix}, knowledge={"semantic": "off"})
    with running_server(config) as url:
        yield url, wechat


def test_safe_mode_messages_and_hostile_input_over_http(server: tuple[str, WechatConfig]) -> None:
    url, wechat = server
    sim = Simulator(wechat, http_transport(url))
    assert sim.verify("proc-echo").body == b"proc-echo"
    help_reply = sim.post(sim.text("proc-user", "帮助"))
    assert help_reply.status == 200 and "入会" in help_reply.text and b"<Encrypt>" in help_reply.body

    def post(params: dict, body: bytes) -> int:
        """On a connection of its own: the server closes one after refusing a body it did not read."""
        return http_transport(url)("POST", "/wechat?" + urlencode(params), body)[0]

    params, body = sim.query(sim.text("proc-user", "x"))
    assert post(dict(params, msg_signature="0" * 40), body.encode()) == 403
    try:  # the server answers 413 without reading the body, so the client may see the close first
        status = post(params, b"<xml>" + b"x" * 70_000 + b"</xml>")
    except requests.ConnectionError:
        status = 413
    assert status == 413
    plain_params, _ = sim.query("", encrypt=False)
    assert post(plain_params, b"<!DOCTYPE x [<!ENTITY a 'b'>]><xml/>") == 400
    # and the next good message is answered normally
    assert sim.post(sim.text("proc-user", "帮助")).text == help_reply.text


def test_retry_across_workers_gets_the_same_reply(server: tuple[str, WechatConfig]) -> None:
    url, wechat = server
    sim = Simulator(wechat, http_transport(url))
    body = sim.text("proc-retry", "怎么入会", msg_id=987654321)
    replies = {sim.post(body).text for _ in range(4)}  # the 2 workers share dedup through Redis
    assert len(replies) == 1 and replies.pop()


def test_signup_state_is_shared_by_both_workers(server: tuple[str, WechatConfig]) -> None:
    url, wechat = server
    sim = Simulator(wechat, http_transport(url))
    steps = [sim.subscribe("proc-join", "join:ST001"), sim.text("proc-join", "同意"), sim.text("proc-join", "同意")]
    replies = [sim.post(step).text for step in steps]
    assert "同意" in replies[0] and "姓名" in replies[2]
