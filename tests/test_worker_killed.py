"""A worker killed (SIGKILL) in the middle of a message does not swallow it: WeChat's retry runs it."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis
import requests

from bot.config import WechatConfig
from bot.signup.validators import id_check_char
from bot.web.webhook import BUSY_TEXT
from bot.wechat.simulator import Simulator, http_transport

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def id_number() -> str:
    first17 = f"330522{dt.date(1985, 3, 4):%Y%m%d}123"
    return first17 + id_check_char(first17)


def workers_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.05)


def test_a_message_whose_worker_is_killed_is_answered_on_wechats_retry(tmp_path: Path, real_redis_url: str) -> None:
    prefix = f"test-kill-{uuid.uuid4().hex[:8]}:"
    db = tmp_path / "bot.db"
    wechat = WechatConfig(token="kill-token")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[wechat]\ntoken = "{wechat.token}"\n[store]\nurl = "{real_redis_url}"\nkey_prefix = "{prefix}"\n'
        f'[database]\nurl = "sqlite:///{db}"\nlock_timeout_ms = 60000\nwrite_timeout = 60\n'
        f'[knowledge]\ndir = "{ROOT / "knowledge"}"\nsemantic = "off"\n',
        encoding="utf-8",
    )
    env = dict(os.environ, UNIONBOT_CONFIG=str(config))
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "1"],
                            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis.from_url(real_redis_url)
    try:
        url = f"http://127.0.0.1:{port}"
        sim = Simulator(wechat, http_transport(url, timeout=30))

        def serving() -> bool:
            try:
                return requests.get(url + "/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_for(serving, "the server to start")
        user = "killed-worker-user"
        for text in ("入会", "同意", "同意"):
            sim.post(sim.text(user, text))
        assert "请核对" in sim.post(sim.text(user, f"张三 13800001111 {id_number()} 3 美团")).text

        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the database is stuck: the signup write waits
        confirm = sim.text(user, "确认", msg_id=777000111)
        first = threading.Thread(target=lambda: _ignore_connection_errors(sim, confirm), daemon=True)
        first.start()
        wait_for(lambda: list(client.scan_iter(match=prefix + "seen:*777000111*")), "the worker to claim 确认")
        worker = workers_of(proc.pid)
        assert len(worker) == 1
        os.kill(worker[0], signal.SIGKILL)
        blocker.execute("ROLLBACK")
        blocker.close()
        first.join(30)
        wait_for(lambda: len(workers_of(proc.pid)) == 1 and serving(), "the replacement worker")

        replies = []
        for _ in range(3):  # WeChat tries a message three times in all
            reply = sim.post(confirm)
            replies.append(reply.text or reply.body.decode())
            if reply.text:
                break
        assert "提交成功" in replies[-1], replies
        assert BUSY_TEXT not in replies
        assert sim.post(sim.text(user, "你好")).text != BUSY_TEXT  # the user's lock did not outlive the worker
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 1
    finally:
        proc.terminate()
        proc.wait(15)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)


def _ignore_connection_errors(sim: Simulator, body: str) -> None:
    with contextlib.suppress(requests.ConnectionError):  # the worker died with the request
        sim.post(body)
