"""审核: the queue of pending applications, approve (one or many) and reject with a reason."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from bot.registry import staff
from bot.registry.repository import InvalidTransition, MemberNotFound
from bot.signup.card import decision_text
from bot.web.admin.base import actor, bp, registry, roles, services
from bot.wechat.api import within_service_window

log = logging.getLogger(__name__)


def _date(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/review")
@roles("reviewer")
def review() -> Any:
    reg = registry()
    filters = {"station": request.args.get("station", ""), "occupation": request.args.get("occupation", ""),
               "day_from": _date("from"), "day_to": _date("to")}
    return render_template("admin/review.html", rows=staff.pending(reg, **filters), filters=filters,
                           stations=reg.stations(active_only=False), occupations=staff.occupations(reg))


def notify(member: dict[str, Any]) -> str:
    """Tell the worker the decision as today's CLI does (customer-service text inside the 48 h
    window); the outcome goes to the audit trail. Returns what to tell the staff member."""
    svc = services()
    if svc.wechat is None:
        return "未配置公众号接口，未发送通知；申请人回复“我的会员”可以看到结果。"
    text = decision_text(member, svc.config.service.union_name, svc.config.service.hotline)
    try:
        sent = within_service_window(svc.store, member["openid"], svc.clock()) and svc.wechat.send_text(member["openid"], text)
        detail = "" if sent else "outside the 48 h customer-service window"
    except Exception as exc:  # the decision stands; only the message failed
        log.exception("notifying %s failed", member["number"])
        sent, detail = False, f"error: {type(exc).__name__}"
    registry().record_event(member["number"], "notified" if sent else "notify_failed", "wechat", detail)
    return "已通过微信通知申请人。" if sent else "申请人超过 48 小时没有发消息，无法主动通知；可在“我的会员”查看结果。"


def _decided(member: dict[str, Any], verb: str) -> None:
    if not member["changed"]:
        flash(f"{member['number']} 已经是{verb}，没有改动。")
        return
    flash(f"{member['number']} {member['name']}：已{verb}。{notify(member)}")


@bp.post("/members/<number>/approve")
@roles("reviewer")
def approve(number: str) -> Any:
    try:
        _decided(registry().approve(number, actor(), request.form.get("reason", "")), "审核通过")
    except (MemberNotFound, InvalidTransition) as exc:
        flash(f"操作失败：{exc}", "error")
    return redirect(request.form.get("back") or url_for("admin.review"))


@bp.post("/members/<number>/reject")
@roles("reviewer")
def reject(number: str) -> Any:
    reason = request.form.get("reason", "").strip()
    if not reason:
        flash("不通过必须填写原因（会告知申请人）。", "error")
        return redirect(url_for("admin.member", number=number))
    try:
        _decided(registry().reject(number, actor(), reason), "审核不通过")
    except (MemberNotFound, InvalidTransition) as exc:
        flash(f"操作失败：{exc}", "error")
    return redirect(url_for("admin.review"))


@bp.post("/review/approve")
@roles("reviewer")
def bulk_approve() -> Any:
    numbers = request.form.getlist("number")
    if not numbers:
        flash("请先勾选要通过的申请。", "error")
        return redirect(url_for("admin.review"))
    done = 0
    for number in numbers:
        try:
            member = registry().approve(number, actor())
        except (MemberNotFound, InvalidTransition) as exc:
            flash(f"{number}：{exc}", "error")
            continue
        if member["changed"]:
            done += 1
            notify(member)
    staff.record_staff_event(registry(), actor(), "bulk_approved", " ".join(numbers)[:1000])
    flash(f"已批量通过 {done} 份申请。")
    return redirect(url_for("admin.review"))
