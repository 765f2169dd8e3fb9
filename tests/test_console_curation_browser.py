"""未解答问题 and 知识库 in a real browser: a question the bot could only answer with a numbered
list (left unpicked, or picked and then 人工) is attached to an entry in the console, and from then on the bot that served it, and a
second bot with its own copy of the knowledge folder on the same Redis and database, answer it
directly. Screenshots go to tests/screenshots/."""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from console_helpers import PASSWORD
from test_console_browser import SHOTS, browser, shot  # noqa: F401  (the browser fixture)
from werkzeug.serving import make_server

from bot.config import AdminConfig, Config, DatabaseConfig, KnowledgeConfig, StoreConfig, WechatConfig
from bot.registry import staff
from bot.services import Services
from bot.web.app import create_app
from bot.wechat.simulator import Simulator, flask_transport

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
LISTED = "这个会员能不能不当了"
"""Answered with a numbered list by the shipped knowledge (checked by the test before it acts)."""


@dataclass
class Bot:
    services: Services
    sim: Simulator
    app: Any

    def ask(self, user: str, text: str) -> str:
        return self.sim.post(self.sim.text(user, text)).text

    def close(self) -> None:
        self.services.registry.close()


def start_bot(knowledge: Path, redis_url: str, prefix: str, database: str) -> Bot:
    shutil.copytree(KNOWLEDGE, knowledge)
    config = Config(wechat=WechatConfig(token="curation-token"),
                    store=StoreConfig(url=redis_url, key_prefix=prefix),
                    database=DatabaseConfig(url=database),
                    knowledge=KnowledgeConfig(dir=str(knowledge), semantic="off", reload_interval=0.2),
                    admin=AdminConfig(secret_key="s" * 40))
    services = Services.from_config(config)
    app = create_app(config, services)
    return Bot(services, Simulator(config.wechat, flask_transport(app)), app)


@pytest.fixture
def bots(tmp_path: Path, real_redis_url: str) -> Iterator[tuple[Bot, Bot]]:
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    first = start_bot(tmp_path / "host1", real_redis_url, prefix, database)
    first.services.registry.upgrade()
    staff.create_user(first.services.registry, "eddie", "editor", PASSWORD)
    second = start_bot(tmp_path / "host2", real_redis_url, prefix, database)
    yield first, second
    client = first.services.store.redis
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    first.close()
    second.close()


@pytest.fixture
def console_url(bots: tuple[Bot, Bot]) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, bots[0].app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def within(seconds: float, check: Callable[[], bool]) -> bool:
    """Poll ``check`` until it holds or ``seconds`` pass (the reload is on the bot's own timer)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_a_listed_question_attached_in_the_console_is_answered_directly_on_every_host(
        browser: Any, console_url: str, bots: tuple[Bot, Bot]) -> None:  # noqa: F811
    first, second = bots
    listed = first.ask("u-list", LISTED)
    assert listed.startswith("您是想问哪一个？\n1. "), listed  # a numbered list
    first.ask("u-list", "谢谢")  # nothing picked: recorded as an unanswered question
    assert second.ask("u-two", LISTED) == listed
    first.ask("u-pick", LISTED)
    first.ask("u-pick", "1")  # picked from the list: still a gap, the entry picked noted
    assert "转接工作人员" in second.ask("u-pick", "人工")  # ...and it did not settle it

    page = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN").new_page()
    page.goto(f"{console_url}/admin/gaps")
    page.fill("input[name=username]", "eddie")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.url.endswith("/admin/gaps")
    group = page.locator("section.gap", has_text=LISTED)
    assert "问过 3 次" in group.inner_text()
    assert "结果：2 次给了列表但没选，1 次之后转了人工" in group.inner_text()
    assert "劳动者在列表里选过 1 次" in group.locator("ul.candidates li").first.inner_text()
    shot(page, "20-gaps")
    target = group.locator("ul.candidates li").first
    entry_id = target.locator("input[name=entry_id]").get_attribute("value")
    target.locator("button").click()
    assert f"已把“{LISTED}”加为条目 {entry_id} 的相似问法" in page.locator(".flash").first.inner_text()
    assert "已发布" in page.locator(".flash").first.inner_text()
    assert page.locator("section.gap", has_text=LISTED).count() == 0  # handled groups leave the list
    history = page.locator("table.history").inner_text()
    assert LISTED in history and "eddie" in history and "加为相似问法" in history
    shot(page, "21-gaps-handled")

    answer = first.services.knowledge.knowledge.by_id[entry_id].answer.strip()
    assert within(5, lambda: first.ask("u-after", LISTED).startswith(answer[:40]))
    assert within(5, lambda: second.ask("u-after2", LISTED).startswith(answer[:40]))

    # 知识库: search, the entry's form and its WeChat preview, 试一试, an error shown inline
    page.goto(f"{console_url}/admin/knowledge?try={LISTED}")
    assert "直接回答" in page.locator("p.decision").inner_text()
    assert "把握" in page.locator("#try table").inner_text()
    page.click("details summary")
    page.screenshot(path=str(SHOTS / "22-knowledge.png"))  # the top: the list below is long
    page.goto(f"{console_url}/admin/knowledge/{entry_id}")
    assert LISTED in page.locator("textarea[name=similar]").input_value()
    shot(page, "23-knowledge-entry")
    page.fill("textarea[name=answer]", "")
    page.fill("textarea[name=answer]", " ")
    page.click("button:text('保存并发布')")
    assert "回答是空的" in page.locator(".flash.error").inner_text()
    shot(page, "24-knowledge-entry-error")

    page.goto(f"{console_url}/admin/gaps/new?question=夜里送单能去驿站休息吗")
    assert page.locator("input[name=question]").input_value() == "夜里送单能去驿站休息吗"
    assert page.locator("input[name=file]").input_value() == "station_faq"  # the nearest entry's file
    shot(page, "25-new-entry")
