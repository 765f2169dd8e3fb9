"""我的微信提醒: the signed-in staff member binds the WeChat that gets staff alerts (a one-time code
sent to the official account) or unbinds it. Every role may open it; only admins and reviewers
get alerts."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, url_for

from bot.registry import staff
from bot.signup.privacy import mask_openid
from bot.storage import bind_codes
from bot.web.admin.base import actor, bp, registry, services


@bp.get("/account/wechat")
def account_wechat() -> Any:
    bound = staff.wechat_of(registry(), g.user)
    live = bind_codes.live(services().store, g.user)
    return render_template("admin/account_wechat.html", bound=mask_openid(bound) if bound else "",
                           code=live[0] if live else "", minutes=-(-live[1] // 60) if live else 0,
                           alerted=g.role in staff.ALERTED_ROLES, ttl_minutes=bind_codes.CODE_TTL // 60)


@bp.post("/account/wechat/code")
def account_wechat_code() -> Any:
    bind_codes.issue(services().store, g.user)
    return redirect(url_for("admin.account_wechat"))


@bp.post("/account/wechat/unbind")
def account_wechat_unbind() -> Any:
    bind_codes.cancel(services().store, g.user)
    if staff.unbind_wechat(registry(), g.user, actor()):
        flash("已解除绑定，此后不会再向该微信发送提醒。")
    return redirect(url_for("admin.account_wechat"))
