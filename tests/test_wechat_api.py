"""bot.wechat.api against the local fake WeChat API: one shared token, refresh under a lock, retries."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fake_wechat_api import FakeWechatApi

from bot.config import WechatConfig
from bot.storage.store import Store
from bot.wechat.api import (
    TOKEN_KEY,
    WechatApi,
    WechatApiError,
    record_interaction,
    within_service_window,
)

OPENID = "o" + "x" * 27


@pytest.fixture
def fake() -> Iterator[FakeWechatApi]:
    with FakeWechatApi() as server:
        yield server


def config_for(fake: FakeWechatApi, timeout: float = 5.0) -> WechatConfig:
    return WechatConfig(app_id=fake.app_id, app_secret=fake.app_secret, api_base=fake.base_url, api_timeout=timeout)


def test_token_is_cached_in_the_store_and_shared_by_workers(fake: FakeWechatApi, store: Store) -> None:
    worker1 = WechatApi(config_for(fake), store)
    worker2 = WechatApi(config_for(fake), store)
    token = worker1.access_token()
    assert worker2.access_token() == token
    assert store.get_value(TOKEN_KEY) == token
    assert 0 < store.redis.ttl(store.key("value", TOKEN_KEY)) <= 7200 - 300
    worker1.create_station_qr("join:A01")
    worker2.send_text(OPENID, "你好")
    assert fake.token_requests == 1
    assert {t for _, t in fake.calls} == {token}


def test_a_stations_permanent_qr_code_is_created_once(fake: FakeWechatApi, store: Store) -> None:
    """Permanent codes count against the account's quota: a second poster run, from any worker,
    reuses the ticket and url WeChat gave the first time."""
    first = WechatApi(config_for(fake), store).create_station_qr("join:A01")
    again = WechatApi(config_for(fake), store).create_station_qr("join:A01")
    other = WechatApi(config_for(fake), store).create_station_qr("join:A02")
    assert again == first and other != first
    assert [q["action_info"]["scene"]["scene_str"] for q in fake.qrcodes] == ["join:A01", "join:A02"]


@pytest.mark.parametrize("shared_instance", [False, True], ids=["8-workers", "8-threads-one-worker"])
def test_concurrent_refresh_makes_exactly_one_token_request(
        fake: FakeWechatApi, store: Store, shared_instance: bool) -> None:
    fake.token_delay = 0.2  # everyone finds the cache empty while the first request is in flight
    one = WechatApi(config_for(fake), store)
    apis = [one if shared_instance else WechatApi(config_for(fake), store) for _ in range(8)]
    start = threading.Barrier(len(apis))
    results: list[object] = [None] * len(apis)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = apis[i].send_text(OPENID, f"hello {i}")
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(apis))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [True] * len(apis)
    assert fake.token_requests == 1
    assert len(fake.messages) == len(apis)


@pytest.mark.parametrize("errcode", [42001, 40001])
def test_token_error_refreshes_once_and_retries(fake: FakeWechatApi, store: Store, errcode: int) -> None:
    api = WechatApi(config_for(fake), store)
    old = api.access_token()
    fake.expire_tokens(errcode)
    ticket, url = api.create_station_qr("join:A01")
    assert ticket and url
    assert fake.token_requests == 2
    assert store.get_value(TOKEN_KEY) not in (None, old)
    assert [t for _, t in fake.calls] == [old, store.get_value(TOKEN_KEY)]


def test_token_replaced_by_another_worker_is_not_fetched_again(fake: FakeWechatApi, store: Store) -> None:
    worker1 = WechatApi(config_for(fake), store)
    worker2 = WechatApi(config_for(fake), store)
    stale = worker1.access_token()
    fresh = worker2.refresh_token(stale=stale)  # worker 2 saw the error first
    assert fresh != stale
    assert worker1.refresh_token(stale=stale) == fresh  # worker 1 takes worker 2's token
    assert fake.token_requests == 2


def test_persistent_token_error_is_retried_only_once(fake: FakeWechatApi, store: Store) -> None:
    api = WechatApi(config_for(fake), store)
    fake.always_error["/cgi-bin/menu/create"] = 40001
    with pytest.raises(WechatApiError) as info:
        api.create_menu({"button": [{"type": "click", "name": "入会", "key": "JOIN"}]})
    assert info.value.errcode == 40001
    assert len(fake.calls) == 2
    assert fake.token_requests == 2


def test_qr_is_permanent_with_the_scene_string(fake: FakeWechatApi, store: Store) -> None:
    api = WechatApi(config_for(fake), store)
    ticket, url = api.create_station_qr("join:A01")
    assert fake.qrcodes == [{"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "join:A01"}}}]
    assert ticket == "gQTICKET1"
    assert url == "http://weixin.qq.com/q/fake1-join:A01"
    with pytest.raises(ValueError):
        api.create_station_qr("")
    with pytest.raises(ValueError):
        api.create_station_qr("x" * 65)


def test_send_text_outside_window_returns_false(fake: FakeWechatApi, store: Store) -> None:
    api = WechatApi(config_for(fake), store)
    assert api.send_text(OPENID, "您的入会申请已通过") is True
    fake.closed_window.add(OPENID)
    assert api.send_text(OPENID, "again") is False
    assert fake.messages == [{"touser": OPENID, "msgtype": "text", "text": {"content": "您的入会申请已通过"}}]


def test_template_message_carries_its_fields_and_answers_the_msgid(fake: FakeWechatApi, store: Store) -> None:
    api = WechatApi(config_for(fake), store)
    msgid = api.send_template(OPENID, "TPL-1", {"first": "入会申请审核通过", "keyword1": "张三"},
                              url="https://gh.example.cn/x", client_msg_id="outcome:GH1:approved")
    assert msgid and fake.templates == [{
        "touser": OPENID, "template_id": "TPL-1", "url": "https://gh.example.cn/x",
        "client_msg_id": "outcome:GH1:approved",
        "data": {"first": {"value": "入会申请审核通过"}, "keyword1": {"value": "张三"}}}]


@pytest.mark.parametrize(("knob", "errcode"), [("unfollowed", 43004), ("quota", 45009), ("unknown", 40037)])
def test_template_refusals_raise_with_wechats_code(fake: FakeWechatApi, store: Store, knob: str, errcode: int) -> None:
    if knob == "unfollowed":
        fake.unfollowed.add(OPENID)
    elif knob == "quota":
        fake.template_quota = 0
    else:
        fake.templates_known = {"TPL-OTHER"}
    with pytest.raises(WechatApiError) as caught:
        WechatApi(config_for(fake), store).send_template(OPENID, "TPL-1", {"first": "x"})
    assert caught.value.errcode == errcode and fake.templates == []


def test_other_api_errors_raise_with_code_and_message(fake: FakeWechatApi, store: Store) -> None:
    api = WechatApi(config_for(fake), store)
    fake.always_error["/cgi-bin/qrcode/create"] = 48001
    with pytest.raises(WechatApiError) as info:
        api.create_station_qr("join:A01")
    assert info.value.errcode == 48001
    assert "48001" in str(info.value)


def test_bad_secret_raises(fake: FakeWechatApi, store: Store) -> None:
    config = WechatConfig(app_id=fake.app_id, app_secret="wrong", api_base=fake.base_url)
    with pytest.raises(WechatApiError) as info:
        WechatApi(config, store).access_token()
    assert info.value.errcode == 40125
    assert store.get_value(TOKEN_KEY) is None


def test_timeouts_raise_wechat_api_error(fake: FakeWechatApi, store: Store) -> None:
    api = WechatApi(config_for(fake, timeout=0.2), store)
    fake.delays["/cgi-bin/message/custom/send"] = 3
    with pytest.raises(WechatApiError, match="timed out") as info:
        api.send_text(OPENID, "hi")
    assert info.value.errcode is None
    fake.delays["/cgi-bin/token"] = 3
    store.delete_value(TOKEN_KEY)
    with pytest.raises(WechatApiError, match="timed out"):
        api.access_token()


def test_unreachable_server_raises(store: Store) -> None:
    with FakeWechatApi() as gone:
        config = config_for(gone, timeout=1)
    with pytest.raises(WechatApiError, match="failed"):
        WechatApi(config, store).access_token()


def test_needs_app_credentials(store: Store) -> None:
    with pytest.raises(WechatApiError, match="app_id"):
        WechatApi(WechatConfig(), store)


def test_service_window(store: Store) -> None:
    now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    assert not within_service_window(store, OPENID, now)
    record_interaction(store, OPENID, now)
    assert within_service_window(store, OPENID, now + timedelta(hours=47))
    assert not within_service_window(store, OPENID, now + timedelta(hours=48))
    assert within_service_window(store, OPENID, now.timestamp() + 3600)  # epoch seconds work too
    assert not within_service_window(store, "o" + "y" * 27, now)


# -- unionbot menu push ------------------------------------------------------------------------------

MENU = """\
button:
  - name: 我要入会
    type: click
    key: JOIN
  - name: 服务
    sub_button:
      - {name: 附近驿站, type: click, key: STATIONS}
      - {name: 维权热线, type: view, url: "https://example.org/12351"}
"""


def test_validate_menu_reports_wechat_limits() -> None:
    import yaml

    from bot.cli.menu import validate_menu

    assert validate_menu(yaml.safe_load(MENU)) == []
    problems = validate_menu({"button": [
        {"name": "一个很长的菜单名字", "type": "click", "key": "A"},
        {"name": "链接", "type": "view"},
        {"name": "多", "sub_button": [{"name": str(i), "type": "click", "key": str(i)} for i in range(6)]},
        {"name": "四", "type": "nope"},
    ]})
    text = "\n".join(problems)
    assert "at most 3 top-level" in text
    assert "name too long" in text
    assert "type view needs `url`" in text
    assert "at most 5 sub-items" in text
    assert "type must be one of" in text
    assert validate_menu({}) == ["the file needs a non-empty `button:` list"]


def test_menu_push_against_the_fake(fake: FakeWechatApi, tmp_path) -> None:
    import yaml
    from click.testing import CliRunner

    from bot.cli import main

    menu = tmp_path / "menu.yaml"
    menu.write_text(MENU, encoding="utf-8")
    config = tmp_path / "unionbot.toml"
    config.write_text(f'[wechat]\napp_id = "{fake.app_id}"\napp_secret = "{fake.app_secret}"\n'
                      f'api_base = "{fake.base_url}"\n[store]\nurl = "memory://{tmp_path.name}"\n', encoding="utf-8")
    runner = CliRunner()
    dry = runner.invoke(main, ["menu", "push", "--dry-run", "--file", str(menu), "--config", str(config)])
    assert dry.exit_code == 0, dry.output
    assert "我要入会" in dry.output and fake.menus == []
    result = runner.invoke(main, ["menu", "push", "--file", str(menu), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert fake.menus == [yaml.safe_load(MENU)]
    menu.write_text("button: []\n", encoding="utf-8")
    bad = runner.invoke(main, ["menu", "push", "--file", str(menu), "--config", str(config)])
    assert bad.exit_code == 1 and "button" in bad.output
