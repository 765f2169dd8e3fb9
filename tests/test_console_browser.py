"""The staff console in a real browser (Playwright with the system chromium): the pages staff use
every day, driven as staff would. Screenshots of each page go to tests/screenshots/."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import _unavailable
from console_helpers import PASSWORD, Console, build_console
from werkzeug.serving import make_server

from bot.storage.store import Store

SHOTS = Path(__file__).parent / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    built = build_console(f"sqlite:///{tmp_path / 'console.db'}", Store.from_url(f"memory://{tmp_path.name}"))
    yield built
    built.close()


@pytest.fixture
def base_url(console: Console) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, console.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable("playwright", exc)
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("chromium", "not on PATH (apt-get install chromium)")
    with sync_playwright() as p:
        try:
            launched = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:
            _unavailable("chromium", exc)
        yield launched
        launched.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def flash(page: Any) -> str:
    return str(page.locator(".flash").first.inner_text())


def test_staff_review_edit_withdraw_export_and_charts(browser: Any, base_url: str, console: Console,
                                                      tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base_url}/admin/review")
    assert "/admin/login" in page.url
    shot(page, "01-login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.url.endswith("/admin/review")

    # 审核: approve 张三丰, reject 王五 with a reason
    assert page.locator("tbody tr").count() == 4
    shot(page, "02-review")
    page.locator("tr", has_text="张三丰").get_by_role("link", name="查看").click()
    assert page.locator("h1").inner_text().startswith("张三丰")
    assert "138****5678" in page.content() and "男" in page.locator("dl.facts").inner_text()
    shot(page, "03-application")
    page.get_by_role("button", name="审核通过").click()
    assert "已审核通过" in flash(page)
    page.locator("tr", has_text="王五").get_by_role("link", name="查看").click()
    page.fill("form[action$='/reject'] input[name=reason]", "照片与身份证不符")
    page.get_by_role("button", name="不通过").click()
    assert "已审核不通过" in flash(page)
    assert page.locator("tbody tr").count() == 2
    by_name = {m["name"]: m for m in console.registry.list_members()}
    assert by_name["张三丰"]["status"] == "approved"
    assert (by_name["王五"]["status"], by_name["王五"]["reason"]) == ("rejected", "照片与身份证不符")

    # 会员: find 钱七 by phone tail, edit, then withdraw
    page.locator("nav").get_by_role("link", name="会员", exact=True).click()
    page.fill("input[name=q]", "4444")
    page.get_by_role("button", name="查询").click()
    shot(page, "04-members")
    page.locator("tr", has_text="钱七").get_by_role("link", name="查看").click()
    page.locator("summary", has_text="修改信息").click()
    page.fill("form[action$='/edit'] input[name=occupation]", "网约车司机")
    page.fill("form[action$='/edit'] input[name=reason]", "本人来电更正")
    page.get_by_role("button", name="保存").click()
    assert "已保存修改" in flash(page)
    page.locator("summary", has_text="退会").click()
    page.fill("form[action$='/withdraw'] input[name=reason]", "本人申请退会")
    shot(page, "05-member")
    page.get_by_role("button", name="办理退会").click()
    assert "已办理退会。微信暂时无法送达（未配置公众号接口），送达方式：待工人下次发消息时显示。" in flash(page)
    told = page.locator("section", has_text="发给本人的通知")
    assert "您已退出" in told.inner_text() and "待工人下次发消息时显示" in told.inner_text()
    shot(page, "05b-member-notices")
    qian = by_name["钱七"]["number"]
    assert console.registry.get(qian)["occupation"] == "网约车司机"
    assert console.registry.get(qian)["status"] == "withdrawn"
    assert [e["actor"] for e in console.registry.events(qian) if e["action"] in ("edited", "withdrawn")] == [
        "staff:boss", "staff:boss"]

    # 导出: approved members as xlsx, masked
    page.locator("nav").get_by_role("link", name="导出", exact=True).click()
    shot(page, "06-export")
    with page.expect_download() as info:
        page.get_by_role("button", name="下载").click()
    download = info.value
    assert download.suggested_filename.startswith("members-approved-20261206-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    from openpyxl import load_workbook

    rows = list(load_workbook(saved).active.iter_rows(values_only=True))
    assert [r[2] for r in rows[1:]] == ["张**"]  # only the approved member, name masked
    assert rows[1][3] == "男" and "13812345678" not in str(rows)

    # 统计: the charts are drawn, the tables are there
    page.locator("nav").get_by_role("link", name="统计", exact=True).click()
    assert page.locator("svg.chart").count() == 2
    assert page.locator("svg.chart rect").count() > 4
    shot(page, "07-statistics")
    page.locator("nav").get_by_role("link", name="驿站", exact=True).click()
    assert page.locator("tr", has_text="青溪驿站").count() == 1
    shot(page, "08-stations")
    page.locator("nav").get_by_role("link", name="人工", exact=True).click()
    assert "137****2222" in page.content() and "13700002222" not in page.content()
    shot(page, "09-human")

    # the same console on a phone screen
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="zh-CN")
    phone.add_cookies(context.cookies())
    mobile = phone.new_page()
    mobile.goto(f"{base_url}/admin/members/{by_name['李四']['number']}")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    shot(mobile, "10-phone-application")
    phone.close()
    context.close()
