"""The console's 通知 pages: compose with the count before sending, confirm, progress and every
recipient's result; roles (admin and reviewer send, editor reads), CSRF and the staff audit trail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from console_helpers import Console, build_console, csrf, log_in
from fake_wechat_api import FakeWechatApi

from bot.config import NotifyConfig, WechatConfig
from bot.registry import broadcasts, notices, staff
from bot.storage.store import Store
from bot.web.app import create_app
from bot.wechat.api import WechatApi

TEXT = "7月10日起，各职工驿站免费发放防暑降温用品，凭会员卡领取。"


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[Console, FakeWechatApi]]:
    """The seeded console (钱七 approved at ST001) with 张三丰 and 王五 approved too, and the fake API."""
    with FakeWechatApi() as fake:
        built = build_console(f"sqlite:///{tmp_path / 'c.db'}", Store.from_url(f"memory://{uuid.uuid4().hex}"))
        for m in built.registry.list_members(status="pending"):
            if m["name"] in ("张三丰", "王五"):
                built.registry.approve(m["number"], "staff:boss")
        wechat = WechatConfig(app_id=fake.app_id, app_secret=fake.app_secret, api_base=fake.base_url, api_timeout=2.0)
        config = replace(built.services.config, wechat=wechat,
                         notify=NotifyConfig(notice_template="TPL-NOTICE", send_rate=500.0))
        built.services.config = config
        built.services.wechat = WechatApi(wechat, built.services.store)
        built.app = create_app(config, built.services)
        yield built, fake
        built.close()


def compose(client, **form: str):
    data = {"csrf_token": csrf(client, "/admin/notices/new"), "audience": "station:ST001", "title": "送清凉",
            "text": TEXT} | form
    return client.post("/admin/notices/preview", data=data)


def test_compose_preview_confirm_and_the_ticker_sends_it(console: tuple[Console, FakeWechatApi]) -> None:
    built, fake = console
    client = built.app.test_client()
    log_in(client, "rita")
    new = client.get("/admin/notices/new").get_data(as_text=True)
    assert "全体会员（3 人）" in new and "青溪驿站 ST001（2 人）" in new and "外卖骑手（1 人）" in new
    notices.opt_out(built.registry, "o-zhang")
    preview = compose(client)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "将收到：1 人" in page and "另有 1 人已退订" in page
    assert "【送清凉】" in page and "回复“退订”不再接收通知" in page and "确认发送（1 人）" in page
    assert fake.calls == [] and broadcasts.recent(built.registry) == []  # a preview writes nothing
    created = client.post("/admin/notices", data={"csrf_token": csrf(client, "/admin/notices/new"),
                                                  "audience": "station:ST001", "title": "送清凉", "text": TEXT})
    assert created.status_code == 302 and created.headers["Location"].endswith("/admin/notices/1")
    sending = client.get("/admin/notices/1").get_data(as_text=True)
    assert 'http-equiv="refresh"' in sending and "排队中" in sending
    assert built.services.ticker.tick()
    assert [t["touser"] for t in fake.templates] == ["o-qian"]
    done = client.get("/admin/notices/1").get_data(as_text=True)
    assert "已完成" in done and 'http-equiv="refresh"' not in done
    assert "钱*" in done and "张**" in done and "已退订，未发送" in done and "钱七" not in done
    listing = client.get("/admin/notices").get_data(as_text=True)
    assert "送清凉" in listing and "驿站 ST001 青溪驿站" in listing
    [event] = [e for e in staff.staff_events(built.registry) if e["action"] == "notice_created"]
    assert event["actor"] == "staff:rita" and "送清凉" in event["detail"]


@pytest.mark.parametrize(("form", "error"), [
    ({"text": "   "}, "通知内容不能为空"),
    ({"text": "很长" * 700}, "通知太长"),
    ({"title": "二〇二六年青溪县总工会金秋助学活动报名开始了"}, "标题最多 20 个字"),
    ({"audience": "station:ST999"}, "没有驿站 ST999"),
    ({"audience": "occupation:保安员"}, "没有可以接收通知的会员"),
    ({"audience": ""}, "请选择发送范围"),
    ({"url": "javascript:alert(1)"}, "详情链接要以 https://"),
])
def test_what_cannot_be_sent_is_shown_back_with_the_form(console: tuple[Console, FakeWechatApi], form: dict,
                                                         error: str) -> None:
    built, _fake = console
    client = built.app.test_client()
    log_in(client, "boss")
    response = compose(client, **form)
    assert response.status_code == 400 and error in response.get_data(as_text=True)
    assert broadcasts.recent(built.registry) == []


def test_an_editor_reads_but_does_not_send(console: tuple[Console, FakeWechatApi]) -> None:
    built, fake = console
    boss = built.app.test_client()
    log_in(boss, "boss")
    boss.post("/admin/notices", data={"csrf_token": csrf(boss, "/admin/notices/new"), "audience": "all", "text": TEXT})
    editor = built.app.test_client()
    log_in(editor, "eddie")
    assert editor.get("/admin/notices").status_code == 200 and editor.get("/admin/notices/1").status_code == 200
    assert "写新通知" not in editor.get("/admin/notices").get_data(as_text=True)
    assert editor.get("/admin/notices/new").status_code == 403
    token = csrf(editor, "/admin/notices")
    assert editor.post("/admin/notices", data={"csrf_token": token, "audience": "all", "text": TEXT}).status_code == 403
    assert editor.post("/admin/notices/1/resume", data={"csrf_token": token}).status_code == 403
    assert boss.post("/admin/notices", data={"audience": "all", "text": TEXT}).status_code == 400  # no CSRF token
    assert len(broadcasts.recent(built.registry)) == 1 and fake.calls == []


def test_a_paused_notice_is_shown_and_resumed(console: tuple[Console, FakeWechatApi]) -> None:
    built, fake = console
    fake.template_quota = 1
    client = built.app.test_client()
    log_in(client, "boss")
    client.post("/admin/notices", data={"csrf_token": csrf(client, "/admin/notices/new"), "audience": "all",
                                        "text": TEXT})
    built.services.ticker.tick()
    page = client.get("/admin/notices/1?show=pending").get_data(as_text=True)
    assert "已暂停" in page and "现在继续发送" in page and "errcode 45009（今日额度已用完）" in page
    fake.template_quota = None
    client.post("/admin/notices/1/resume", data={"csrf_token": csrf(client, "/admin/notices/1")})
    built.services.ticker.tick()
    assert broadcasts.get(built.registry, 1).status == "done" and len(fake.templates) == 3
    assert [e["action"] for e in staff.staff_events(built.registry)][:2] == ["notice_resumed", "notice_created"]


def test_an_unknown_notice_is_404(console: tuple[Console, FakeWechatApi]) -> None:
    built, _fake = console
    client = built.app.test_client()
    log_in(client, "eddie")
    assert client.get("/admin/notices/9").status_code == 404
