"""Decisions taken in the console reach the worker through the outbox (the fake WeChat API here):
staff read how (送达方式), and the member page lists the notices and their audit entries."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from console_helpers import Console, build_console, csrf, log_in
from fake_wechat_api import FakeWechatApi
from flask.testing import FlaskClient

from bot.config import NotifyConfig, WechatConfig
from bot.registry import notices
from bot.storage.store import Store
from bot.web.app import create_app
from bot.wechat.api import WechatApi


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[Console, FakeWechatApi]]:
    with FakeWechatApi() as fake:
        built = build_console(f"sqlite:///{tmp_path / 'c.db'}", Store.from_url(f"memory://{uuid.uuid4().hex}"))
        wechat = WechatConfig(app_id=fake.app_id, app_secret=fake.app_secret, api_base=fake.base_url,
                              api_timeout=2.0)
        config = replace(built.services.config, wechat=wechat, notify=NotifyConfig(outcome_template="TPL-1"))
        built.services.config = config
        built.services.wechat = WechatApi(wechat, built.services.store)
        built.app = create_app(config, built.services)
        yield built, fake
        built.close()


def flashed(client: FlaskClient, response_location: str) -> str:
    page = client.get(response_location).get_data(as_text=True)
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>([^<]*)<', page))


def numbers_by_name(built: Console) -> dict[str, str]:
    return {m["name"]: m["number"] for m in built.registry.list_members()}


def test_approval_and_rejection_say_how_the_worker_was_told(console: tuple[Console, FakeWechatApi]) -> None:
    built, fake = console
    client = built.app.test_client()
    log_in(client, "rita")
    by_name = numbers_by_name(built)
    fake.unfollowed.add("o-wang")  # WeChat takes neither message for 王五
    token = csrf(client, "/admin/review")
    approved = client.post(f"/admin/members/{by_name['张三丰']}/approve", data={"csrf_token": token})
    assert "已审核通过。已通知本人，送达方式：模板消息。" in flashed(client, approved.location)
    rejected = client.post(f"/admin/members/{by_name['王五']}/reject", data={"csrf_token": token, "reason": "单位不符"})
    assert "送达方式：待工人下次发消息时显示" in flashed(client, rejected.location)
    assert [t["touser"] for t in fake.templates] == ["o-zhang"] and fake.messages == []
    again = client.post(f"/admin/members/{by_name['张三丰']}/approve", data={"csrf_token": token})
    assert "已经是审核通过，没有改动" in flashed(client, again.location) and len(fake.templates) == 1
    assert [e["action"] for e in built.registry.events(by_name["王五"])][-2:] == ["rejected", "notify_waiting"]


def test_bulk_approval_counts_each_way_of_telling(console: tuple[Console, FakeWechatApi]) -> None:
    built, fake = console
    client = built.app.test_client()
    log_in(client, "rita")
    by_name = numbers_by_name(built)
    fake.unfollowed.add("o-li")
    token = csrf(client, "/admin/review")
    picked = [by_name[n] for n in ("张三丰", "李四", "赵六")]
    done = client.post("/admin/review/approve", data={"csrf_token": token, "number": picked})
    assert "已批量通过 3 份申请；通知送达方式：模板消息 2，待工人下次发消息时显示 1。" in flashed(client, done.location)
    assert sorted(t["touser"] for t in fake.templates) == ["o-zhang", "o-zhao"]


def test_withdrawal_and_erasure_are_told_and_listed_on_the_member_page(
        console: tuple[Console, FakeWechatApi]) -> None:
    built, fake = console
    client = built.app.test_client()
    log_in(client, "boss")
    qian = numbers_by_name(built)["钱七"]  # approved before notices existed
    token = csrf(client, f"/admin/members/{qian}")
    withdrawn = client.post(f"/admin/members/{qian}/withdraw", data={"csrf_token": token, "reason": "本人申请退会"})
    assert "已办理退会。已通知本人，送达方式：模板消息。" in flashed(client, withdrawn.location)
    page = client.get(f"/admin/members/{qian}").get_data(as_text=True)
    assert "发给本人的通知" in page and "已送达" in page and "模板消息" in page and "已微信通知" in page

    fake.closed_window.add("o-qian")
    fake.template_quota = len(fake.templates)  # the day's template quota is used up, too
    erased = client.post(f"/admin/members/{qian}/erase", data={"csrf_token": token, "reason": "本人申请",
                                                                "confirm": qian})
    assert "送达方式：待工人下次发消息时显示" in flashed(client, erased.location)
    [waiting] = notices.waiting_for(built.registry, "o-qian")
    assert "个人信息" in waiting.text and qian not in waiting.text
    page = client.get(f"/admin/members/{qian}").get_data(as_text=True)
    assert "待工人下次发消息时显示" in page and "通知待下次消息时显示" in page and "45009" in page
    assert "钱七" not in page and "o-qian" not in page
