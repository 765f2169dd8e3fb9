"""我的微信提醒 (/admin/account/wechat): a staff member gets a one-time code, sends it to the official
account, sees the binding, and unbinds; CSRF on every POST; in a real browser too (screenshots in
tests/screenshots/)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import PASSWORD, Console, build_console, csrf, log_in
from test_console_browser import base_url, browser, shot  # noqa: F401  (fixtures)

from bot.registry import staff
from bot.storage.store import Store
from bot.wechat.simulator import Simulator, flask_transport

PAGE = "/admin/account/wechat"
STAFF_WECHAT = "oStaffRitaWechat0001"


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    built = build_console(f"sqlite:///{tmp_path / 'console.db'}", Store.from_url(f"memory://{uuid.uuid4().hex}"))
    yield built
    built.close()


def send_from_wechat(console: Console, openid: str, words: str) -> str:
    """A message to the official account, through the same app's /wechat endpoint."""
    sim = Simulator(console.services.config.wechat, flask_transport(console.app), clock=console.services.clock)
    return sim.post(sim.text(openid, words)).text


def shown_code(page: str) -> str:
    found = re.search(r"绑定 (\d{6})", page)
    assert found, "no code on the page"
    return found.group(1)


def test_get_a_code_bind_from_wechat_and_unbind(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "rita")
    home = client.get("/admin/").get_data(as_text=True)
    assert f'href="{PAGE}"' in home and "我的微信提醒" in home
    page = client.get(PAGE).get_data(as_text=True)
    assert "还没有绑定微信" in page and "获取绑定码" in page
    page = client.post(f"{PAGE}/code", data={"csrf_token": csrf(client, PAGE)}, follow_redirects=True).get_data(
        as_text=True)
    code = shown_code(page)
    assert "10 分钟内有效" in page
    assert shown_code(client.get(PAGE).get_data(as_text=True)) == code  # the same code until it is used

    assert send_from_wechat(console, STAFF_WECHAT, f"绑定 {code}").startswith("绑定成功")
    page = client.get(PAGE).get_data(as_text=True)
    assert "已绑定微信 <strong>oSta…0001</strong>" in page and "获取绑定码" in page and "绑定 " + code not in page

    page = client.post(f"{PAGE}/unbind", data={"csrf_token": csrf(client, PAGE)}, follow_redirects=True).get_data(
        as_text=True)
    assert "已解除绑定" in page and "还没有绑定微信" in page
    assert staff.wechat_of(console.registry, "rita") is None
    actions = [(e["actor"], e["action"]) for e in staff.staff_events(console.registry)[:2]]
    assert actions == [("staff:rita", "wechat_unbound"), ("wechat", "wechat_bound")]


def test_a_new_code_replaces_the_old_one(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "boss")
    first = shown_code(client.post(f"{PAGE}/code", data={"csrf_token": csrf(client, PAGE)},
                                   follow_redirects=True).get_data(as_text=True))
    second = shown_code(client.post(f"{PAGE}/code", data={"csrf_token": csrf(client, PAGE)},
                                    follow_redirects=True).get_data(as_text=True))
    if first != second:
        assert "不正确或已过期" in send_from_wechat(console, "o-boss", f"绑定 {first}")
    assert "boss" in send_from_wechat(console, "o-boss", f"绑定 {second}")


def test_posts_need_the_csrf_token(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "rita")
    assert client.post(f"{PAGE}/code").status_code == 400
    assert client.post(f"{PAGE}/unbind").status_code == 400
    assert "绑定 " not in client.get(PAGE).get_data(as_text=True).split("获取绑定码")[0]


def test_an_editor_is_told_it_gets_no_alerts(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "eddie")
    assert "编辑账号不接收审核和人工求助提醒" in client.get(PAGE).get_data(as_text=True)


def test_the_page_needs_a_login(console: Console) -> None:
    response = console.app.test_client().get(PAGE)
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_binding_in_a_browser(browser: Any, base_url: str, console: Console) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base_url}/admin/login")
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.locator("header").get_by_role("link", name="我的微信提醒").click()
    assert page.url.endswith(PAGE) and "还没有绑定微信" in page.content()
    page.get_by_role("button", name="获取绑定码").click()
    code = shown_code(page.locator(".bind-code").inner_text())
    shot(page, "40-wechat-binding-code")
    assert send_from_wechat(console, STAFF_WECHAT, f"绑定 {code}").startswith("绑定成功")
    page.get_by_role("link", name="我已发送，刷新").click()
    assert "已绑定微信 oSta…0001" in page.locator("main").inner_text()
    shot(page, "41-wechat-bound")
    page.get_by_role("button", name="解除绑定").click()
    assert "已解除绑定" in page.locator(".flash").inner_text()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    phone.add_cookies(context.cookies())
    mobile = phone.new_page()
    mobile.goto(f"{base_url}{PAGE}")
    mobile.get_by_role("button", name="获取绑定码").click()
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    shot(mobile, "42-wechat-binding-phone")
    phone.close()
    context.close()
