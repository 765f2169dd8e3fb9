"""Issue #18 as an operator would run it: `unionbot serve` (2 workers, real Redis) and the CLI, each
in its own process, pointed at a local stand-in for WeChat's API (``[wechat] api_base``):

- a signup alerts the staff openid;
- `members approve` reaches the applicant;
- `notice send --station` reaches that station's approved members and nobody else;
- `notice send --dry-run` sends nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_wechat_api import FakeWechatApi
from support.app import write_config
from support.ids import nth_id
from test_server_process import require_redis, running_server
from test_signup_e2e import phone

from bot.config import WechatConfig, load_config
from bot.registry.repository import Registry
from bot.wechat.simulator import Simulator, http_transport

STAFF = "o-staff-on-duty"
ARRIVAL_SECONDS = 20.0
"""How long a background send may take to reach the stand-in (the ticker's round, a loaded CI)."""


@dataclass
class World:
    fake: FakeWechatApi
    config: Path
    sim: Simulator

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, UNIONBOT_CONFIG=str(self.config))
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=self.config.parent,
                              capture_output=True, text=True, timeout=120)

    def say(self, user: str, text: str) -> str:
        reply = self.sim.post(self.sim.text(user, text))
        assert reply.status == 200, reply.body
        return reply.text

    def sign_up(self, user: str, station: str, n: int) -> str:
        """Scan the station's poster and sign up; answers the membership number."""
        self.sim.post(self.sim.subscribe(user, f"join:{station}"))
        self.say(user, "同意")
        self.say(user, "同意")
        summary = self.say(user, f"张三 {phone(n)} {nth_id(n)} 3 美团")
        assert "请核对您的信息" in summary, summary
        assert "提交成功" in self.say(user, "确认")
        member = self.registry(lambda r: r.find_by_openid(user))
        assert member is not None
        return str(member["number"])

    def registry(self, read: Callable[[Registry], Any]) -> Any:
        registry = Registry.from_config(load_config(self.config, environ={}))
        try:
            return read(registry)
        finally:
            registry.close()

    def templates_to(self, openid: str, template: str) -> list[dict[str, Any]]:
        return [t for t in self.fake.templates if t["touser"] == openid and t["template_id"] == template]


def arrives(found: Callable[[], list[Any]], count: int = 1) -> list[Any]:
    """What ``found`` answers once it holds ``count`` items (or whatever it holds after the wait)."""
    deadline = time.monotonic() + ARRIVAL_SECONDS
    while len(result := found()) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    redis_url = require_redis()
    tmp = tmp_path_factory.mktemp("notify-scripted")
    with FakeWechatApi() as fake:
        wechat = WechatConfig(token="notify-e2e-token", app_id=fake.app_id, app_secret=fake.app_secret)
        config = write_config(
            tmp,
            wechat={"token": wechat.token, "app_id": fake.app_id, "app_secret": fake.app_secret, "mode": "plain",
                    "api_base": fake.base_url, "api_timeout": 2.0},
            store={"url": redis_url, "key_prefix": f"test-notify-{uuid.uuid4().hex[:8]}:"},
            knowledge={"semantic": "off"},
            notify={"outcome_template": "TPL-OUTCOME", "staff_template": "TPL-STAFF",
                    "notice_template": "TPL-NOTICE", "staff_openids": [STAFF]},
        )
        with open(tmp / "server.log", "wb") as log, running_server(config, log=log) as url:
            yield World(fake, config, Simulator(wechat, http_transport(url)))


def test_a_signup_alerts_staff_and_approval_reaches_the_applicant(world: World) -> None:
    number = world.sign_up("o-e2e-applicant", "ST001", 41)
    alerts = arrives(lambda: world.templates_to(STAFF, "TPL-STAFF"))
    assert len(alerts) == 1 and "入会申请" in str(alerts[0]["data"])
    assert nth_id(41) not in str(alerts) and phone(41) not in str(alerts)

    approved = world.cli("members", "approve", number)
    assert approved.returncode == 0, approved.stderr
    outcome = world.templates_to("o-e2e-applicant", "TPL-OUTCOME")
    assert len(outcome) == 1 and number in str(outcome[0]["data"])


def test_a_station_notice_reaches_its_approved_members_only(world: World, tmp_path: Path) -> None:
    here = [world.sign_up(f"o-e2e-st1-{i}", "ST001", 50 + i) for i in range(2)]
    elsewhere = world.sign_up("o-e2e-st2", "ST002", 60)
    waiting = world.sign_up("o-e2e-st1-pending", "ST001", 61)
    for number in (*here, elsewhere):
        assert world.cli("members", "approve", number).returncode == 0
    assert waiting
    text = tmp_path / "notice.txt"
    text.write_text("本周六上午驿站发放防暑降温用品，凭会员卡领取。", encoding="utf-8")
    before = (len(world.fake.templates), len(world.fake.messages))

    dry = world.cli("notice", "send", "--station", "ST001", "--text-file", str(text), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert (len(world.fake.templates), len(world.fake.messages)) == before  # a dry run sends nothing

    approved_here = world.registry(lambda r: sorted(
        m["openid"] for m in r.iter_members(status="approved", station="ST001", openid=True)))
    assert {"o-e2e-st1-0", "o-e2e-st1-1"} <= set(approved_here) and "o-e2e-st2" not in approved_here

    sent = world.cli("notice", "send", "--station", "ST001", "--text-file", str(text), "--yes")
    assert sent.returncode == 0, sent.stderr
    got = arrives(lambda: [t["touser"] for t in world.fake.templates if t["template_id"] == "TPL-NOTICE"],
                  count=len(approved_here))
    assert sorted(got) == approved_here
