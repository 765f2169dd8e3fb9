"""通知 in a real browser: a reviewer writes a notice for one station, sees the count and the preview,
confirms, and watches the page refresh itself until every recipient's result is in. Screenshots go
to tests/screenshots/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from console_helpers import PASSWORD, Console
from fake_wechat_api import FakeWechatApi
from test_console_browser import browser, shot  # noqa: F401  (the browser fixture)
from test_console_notices import TEXT, console  # noqa: F401  (the console fixture)
from werkzeug.serving import make_server

from bot.registry import broadcasts


@pytest.fixture
def served(console: tuple[Console, FakeWechatApi]) -> Iterator[tuple[str, Console, FakeWechatApi]]:  # noqa: F811
    built, fake = console
    server = make_server("127.0.0.1", 0, built.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", built, fake
    server.shutdown()
    thread.join()


def test_a_reviewer_sends_a_station_notice_and_watches_it_go_out(browser: Any,  # noqa: F811
                                                                   served: tuple[str, Console, FakeWechatApi]) -> None:
    base_url, built, fake = served
    fake.unfollowed.add("o-zhang")  # blocked the account: the notice waits for their next message
    page = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN").new_page()
    page.goto(f"{base_url}/admin/login")
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    page.click("nav >> text=通知")
    assert page.url.endswith("/admin/notices") and "还没有发过通知" in page.inner_text("main")
    page.click("text=写新通知")
    options = page.locator("select[name=audience] option").all_inner_texts()
    assert "全体会员（3 人）" in options and "青溪驿站 ST001（2 人）" in options
    page.select_option("select[name=audience]", "station:ST001")
    page.fill("input[name=title]", "送清凉")
    page.fill("textarea[name=text]", TEXT)
    shot(page, "30-notice-compose")
    page.click("button:has-text('预览')")

    assert "将收到：2 人" in page.inner_text("main")
    bubble = page.locator(".phone .bubble").last.inner_text()
    assert bubble.startswith("【送清凉】") and bubble.endswith("回复“退订”不再接收通知")
    shot(page, "31-notice-confirm")
    page.click("button:has-text('返回修改')")  # back to the form, as it was written
    assert page.input_value("input[name=title]") == "送清凉" and page.input_value("textarea[name=text]") == TEXT
    assert page.input_value("select[name=audience]") == "station:ST001"
    page.click("button:has-text('预览')")
    page.click("button:has-text('确认发送（2 人）')")

    assert page.url.endswith("/admin/notices/1") and "已创建" in page.inner_text("main")
    assert page.locator("meta[http-equiv=refresh]").count() == 1
    shot(page, "32-notice-queued")
    assert built.services.ticker.tick()  # the server's background round
    page.wait_for_function("() => !document.querySelector('meta[http-equiv=refresh]')", timeout=15000)
    text = page.inner_text("main")
    assert "已完成" in text and "已处理 2/2" in text and "钱*" in text and "errcode 43004（未关注公众号）" in text
    shot(page, "33-notice-done")
    assert [t["touser"] for t in fake.templates] == ["o-qian"]
    assert broadcasts.get(built.registry, 1).status == "done"

    page.click("nav >> text=通知")
    assert "送清凉" in page.inner_text("main")
    shot(page, "34-notices")
