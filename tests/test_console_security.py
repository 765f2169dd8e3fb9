"""The console's guards: login on every route, CSRF on every POST, roles, throttling, audited reveals."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from console_helpers import PASSWORD, Console, build_console, csrf, log_in, numbers

from bot.registry import staff
from bot.storage.store import Store


@pytest.fixture
def console(database_url: str, store: Store) -> Iterator[Console]:
    built = build_console(database_url, store)
    yield built
    built.close()


def _routes(console: Console) -> list[tuple[str, str]]:
    """Every /admin URL of the app with sample arguments, and its methods."""
    samples = {"number": numbers(console.registry, "pending")[0], "code": "ST001", "entry_id": "join.how", "fmt": "png",
               "table": "signups", "filename": "admin.css", "broadcast_id": "1"}
    out = []
    for rule in console.app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: samples[m.group(1)], rule.rule)
        out.extend((method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return out


def test_every_admin_route_needs_a_login(console: Console) -> None:
    routes = _routes(console)
    assert len(routes) > 15  # the enumeration found the console
    client = console.app.test_client()
    token = csrf(client)  # a valid token, so a POST fails for the login, not for CSRF
    for method, path in routes:
        if path in ("/admin/login",) or path.startswith("/admin/static/"):
            continue
        response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 302, (method, path, response.status_code)
        assert response.headers["Location"].startswith("/admin/login"), (method, path)
    assert client.get("/admin/static/admin.css").status_code == 200


def test_a_post_without_its_csrf_token_is_refused(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "boss")
    number = numbers(console.registry, "pending")[0]
    for method, path in _routes(console):
        if method == "POST":
            assert client.post(path, data={"reason": "x"}).status_code == 400, path
            assert client.post(path, data={"reason": "x", "csrf_token": "forged"}).status_code == 400, path
    assert number in numbers(console.registry, "pending")  # nothing was approved
    assert client.post("/admin/login", data={"username": "boss", "password": PASSWORD}).status_code == 400


def test_session_cookie_is_httponly_and_samesite(console: Console) -> None:
    client = console.app.test_client()
    client.get("/admin/login")
    cookie = client.get_cookie("unionbot_admin", path="/admin")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_reviewer_cannot_do_an_admins_actions(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "rita")
    approved = numbers(console.registry, "approved")[0]
    token = csrf(client, "/admin/review")
    erase = client.post(f"/admin/members/{approved}/erase", data={"csrf_token": token, "reason": "本人申请",
                                                                   "confirm": approved})
    assert erase.status_code == 403
    assert console.registry.get(approved)["status"] == "approved"
    full = client.post("/admin/export", data={"csrf_token": token, "status": "approved", "format": "csv",
                                              "full": "1"})
    assert full.status_code == 403
    masked = client.post("/admin/export", data={"csrf_token": token, "status": "approved", "format": "csv"})
    assert masked.status_code == 200 and "13500004444" not in masked.get_data(as_text=True)


def test_editor_sees_stations_but_not_members(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "eddie")
    assert client.get("/admin/stations").status_code == 200
    assert client.get("/admin/review").status_code == 403
    assert client.get(f"/admin/members/{numbers(console.registry, 'pending')[0]}").status_code == 403


def test_revealing_a_full_id_number_is_audited(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "rita")
    number = numbers(console.registry, "pending")[0]
    page = client.get(f"/admin/members/{number}").get_data(as_text=True)
    full_id = console.registry.get(number, full=True)["id_number"]
    assert full_id not in page and "张三丰" in page  # the full name, the masked ID number
    token = csrf(client, f"/admin/members/{number}")
    no_reason = client.post(f"/admin/members/{number}/reveal", data={"csrf_token": token, "field": "id_number"})
    assert full_id not in no_reason.get_data(as_text=True)
    shown = client.post(f"/admin/members/{number}/reveal",
                        data={"csrf_token": token, "field": "id_number", "reason": "核对身份"})
    assert full_id in shown.get_data(as_text=True)
    events = [e for e in console.registry.events(number) if e["action"] == "revealed_id_number"]
    assert [(e["actor"], e["detail"]) for e in events] == [("staff:rita", "核对身份")]


def test_logins_pause_after_repeated_failures(console: Console) -> None:
    client = console.app.test_client()
    token = csrf(client)
    for _ in range(3):
        bad = client.post("/admin/login", data={"username": "rita", "password": "wrong", "csrf_token": token})
        assert bad.status_code == 401
    right = client.post("/admin/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token})
    assert right.status_code == 429 and "15 分钟" in right.get_data(as_text=True)
    other = console.app.test_client()  # the count is in the shared store, not in this client
    token = csrf(other)
    again = other.post("/admin/login", data={"username": "rita", "password": PASSWORD, "csrf_token": token})
    assert again.status_code == 429
    actions = [e["action"] for e in staff.staff_events(console.registry)]
    assert actions.count("login_failed") == 3


def test_a_disabled_account_is_logged_out_at_once(console: Console) -> None:
    client = console.app.test_client()
    log_in(client, "rita")
    assert client.get("/admin/review").status_code == 200
    staff.disable_user(console.registry, "rita")
    assert client.get("/admin/review").status_code == 302


def test_login_does_not_redirect_off_site(console: Console) -> None:
    client = console.app.test_client()
    token = csrf(client)
    response = client.post("/admin/login?next=//evil.example/admin",
                           data={"username": "boss", "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/admin/"
