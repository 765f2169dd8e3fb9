"""A decision taken in the console reaches the worker as today's CLI does: a customer-service
text through the (fake) WeChat API, only inside the 48-hour window, and either way on record."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from console_helpers import Console, build_console, csrf, log_in
from fake_wechat_api import FakeWechatApi

from bot.config import WechatConfig
from bot.storage.store import Store
from bot.web.app import create_app
from bot.wechat.api import WechatApi, record_interaction


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[Console, FakeWechatApi]]:
    with FakeWechatApi() as fake:
        built = build_console(f"sqlite:///{tmp_path / 'c.db'}", Store.from_url(f"memory://{uuid.uuid4().hex}"))
        wechat = WechatConfig(app_id=fake.app_id, app_secret=fake.app_secret, api_base=fake.base_url,
                              api_timeout=2.0)
        config = replace(built.services.config, wechat=wechat)
        built.services.config = config
        built.services.wechat = WechatApi(wechat, built.services.store)
        built.app = create_app(config, built.services)
        yield built, fake
        built.close()


def test_approval_and_rejection_notify_inside_the_window_only(console: tuple[Console, FakeWechatApi]) -> None:
    built, fake = console
    client = built.app.test_client()
    log_in(client, "rita")
    by_name = {m["name"]: m["number"] for m in built.registry.list_members(status="pending")}
    record_interaction(built.services.store, "o-zhang", built.clock.epoch() - 3600)  # wrote an hour ago
    token = csrf(client, "/admin/review")
    client.post(f"/admin/members/{by_name['张三丰']}/approve", data={"csrf_token": token})
    client.post(f"/admin/members/{by_name['王五']}/reject", data={"csrf_token": token, "reason": "单位不符"})
    sent = {m["touser"]: m["text"]["content"] for m in fake.messages}
    assert list(sent) == ["o-zhang"] and "审核通过" in sent["o-zhang"]
    zhang = [e["action"] for e in built.registry.events(by_name["张三丰"])]
    wang = [(e["action"], e["detail"]) for e in built.registry.events(by_name["王五"])]
    assert zhang[-2:] == ["approved", "notified"]
    assert wang[-1] == ("notify_failed", "outside the 48 h customer-service window")
