"""Login and logout; failed logins are counted in the shared store so every worker sees them."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, session, url_for

from bot.registry import staff
from bot.storage.store import Store
from bot.web.admin.base import bp, registry, services

FAILURE_WINDOW = 15 * 60
PER_ADDRESS = 4
"""An address may fail this many times the per-name limit (an office shares one address)."""


def _keys(store: Store, username: str) -> tuple[str, str]:
    return (store.key("admin", "failed", "user", username.lower()[:64]),
            store.key("admin", "failed", "addr", request.remote_addr or "-"))


def _throttled(store: Store, username: str, limit: int) -> bool:
    user_key, addr_key = _keys(store, username)
    user_n, addr_n = store._call(store.redis.mget, user_key, addr_key)
    return int(user_n or 0) >= limit or int(addr_n or 0) >= limit * PER_ADDRESS


def _count_failure(store: Store, username: str) -> None:
    with store._writes() as pipe:
        for key in _keys(store, username):
            pipe.incr(key)
            pipe.expire(key, FAILURE_WINDOW)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = ""
    status = 200
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        store = services().store
        if _throttled(store, username, services().config.admin.max_failed_logins):
            error, status = "登录失败次数过多，请 15 分钟后再试。", 429
        else:
            user = staff.authenticate(registry(), username, password)
            if user is None:
                _count_failure(store, username)
                staff.record_staff_event(registry(), f"staff:{username[:50]}", "login_failed",
                                         request.remote_addr or "")
                error, status = "用户名或密码不正确。", 401
            else:
                store._call(store.redis.delete, _keys(store, username)[0])
                session.clear()
                session.permanent = True
                session["user"] = user["username"]
                staff.record_staff_event(registry(), f"staff:{user['username']}", "login",
                                         request.remote_addr or "")
                target = request.args.get("next") or ""
                if not target.startswith("/admin") or target.startswith("//"):
                    target = url_for("admin.home")
                return redirect(target)
    return render_template("admin/login.html", error=error), status


@bp.post("/logout")
def logout() -> Any:
    staff.record_staff_event(registry(), f"staff:{session.get('user')}", "logout")
    session.clear()
    return redirect(url_for("admin.login"))
