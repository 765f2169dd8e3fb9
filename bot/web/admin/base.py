"""The console's blueprint and what every page shares: the login check, CSRF, roles, the audit
actor, the registry and services of the running app."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, abort, current_app, g, redirect, request, session, url_for

from bot.config import Config
from bot.notify.outcomes import CHANNELS
from bot.registry import staff
from bot.registry.models import GENDER_LABELS, STATUS_LABELS
from bot.registry.repository import Registry
from bot.services import Services

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static")
PUBLIC_ENDPOINTS = frozenset({"admin.login", "admin.static"})
ROLE_LABELS = {"admin": "管理员", "reviewer": "审核员", "editor": "编辑"}
ACTION_LABELS = {
    "consented_privacy": "同意个人信息处理", "consented_id_number": "同意处理身份证号", "submitted": "提交申请",
    "resubmitted": "重新提交", "approved": "审核通过", "rejected": "审核不通过", "notified": "已微信通知",
    "notify_failed": "通知未送达", "exported_full": "完整导出", "rekeyed": "更换加密密钥", "edited": "修改信息",
    "withdrawn": "退会", "revoked": "撤销审核通过", "erased": "删除个人信息", "revealed_id_number": "查看完整身份证号",
    "revealed_phone": "查看完整手机号", "staff_alerted": "已提醒审核人员", "notify_waiting": "通知待下次消息时显示",
    "notice_shown": "通知已显示",
}
"""The audit trail's actions as staff read them."""
NOTICE_STATUS_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已送达", "waiting": "待工人下次发消息时显示",
                        "shown": "已在工人发消息时显示", "failed": "未送达", "skipped": "已取消"}
"""A notice's state (``notices.status``); its channel is labelled by :data:`bot.notify.outcomes.CHANNELS`."""
F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask, config: Config) -> None:
    """Mount the console on ``app`` with a signed, HttpOnly, SameSite session cookie."""
    secret = config.admin.secret_key
    if not secret:
        log.warning("admin.secret_key is empty: using a random key for this process only; logins end on "
                    "restart and do not work across workers. Set UNIONBOT_ADMIN_SECRET_KEY in production.")
        secret = secrets.token_urlsafe(48)
    app.secret_key = secret
    app.config.update(
        SESSION_COOKIE_NAME="unionbot_admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.admin.secure_cookie,
        SESSION_COOKIE_PATH="/admin",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=config.admin.session_hours),
    )
    app.register_blueprint(bp)


def services() -> Services:
    return current_app.extensions["unionbot"]  # type: ignore[no-any-return]


def registry() -> Registry:
    return services().registry


def actor() -> str:
    """The audit trail's name for the signed-in account."""
    return f"staff:{g.user}"


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


@bp.before_request
def guard() -> Any:
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
            abort(400)
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user = session.get("user")
    role = staff.active_role(registry(), user) if user else None
    if role is None:
        session.pop("user", None)
        return redirect(url_for("admin.login", next=request.full_path if request.method == "GET" else None))
    g.user, g.role = user, role
    return None


def roles(*allowed: str) -> Callable[[F], F]:
    """Only these roles (admin always) may open the page or take the action; others get 403."""
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.role != "admin" and g.role not in allowed:
                abort(403)
            return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def may(*allowed: str) -> bool:
    return g.get("role") == "admin" or g.get("role") in allowed


@bp.app_template_filter("local")
def local_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not value:
        return ""
    if isinstance(value, int | float):
        value = dt.datetime.fromtimestamp(value, dt.UTC)
    elif isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return str(value.astimezone(registry().tz).strftime(fmt))


@bp.context_processor
def template_names() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "may": may, "STATUS_LABELS": STATUS_LABELS,
            "GENDER_LABELS": GENDER_LABELS, "ROLE_LABELS": ROLE_LABELS,
            "ACTION_LABELS": ACTION_LABELS, "NOTICE_STATUS_LABELS": NOTICE_STATUS_LABELS,
            "NOTICE_CHANNEL_LABELS": CHANNELS,
            "union_name": services().config.service.union_name}

