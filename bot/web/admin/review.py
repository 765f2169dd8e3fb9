"""审核: the queue of pending applications, approve (one or many) and reject with a reason."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from bot.notify.decisions import Decision
from bot.notify.outcomes import channel_label
from bot.registry import staff
from bot.registry.repository import InvalidTransition, MemberNotFound
from bot.web.admin.base import actor, bp, registry, roles, services


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


def _decided(decision: Decision, verb: str) -> None:
    member = decision.member
    if not decision.changed:
        flash(f"{member['number']} 已经是{verb}，没有改动。")
        return
    flash(f"{member['number']} {member['name_masked']}：已{verb}。{decision.line}")


@bp.post("/members/<number>/approve")
@roles("reviewer")
def approve(number: str) -> Any:
    try:
        _decided(services().decisions.approve(number, actor(), request.form.get("reason", "")), "审核通过")
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
        _decided(services().decisions.reject(number, actor(), reason), "审核不通过")
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
    told: Counter[str] = Counter()
    for number in numbers:
        try:
            decision = services().decisions.approve(number, actor())
        except (MemberNotFound, InvalidTransition) as exc:
            flash(f"{number}：{exc}", "error")
            continue
        if decision.changed:
            told[channel_label(decision.notice)] += 1
    staff.record_staff_event(registry(), actor(), "bulk_approved", " ".join(numbers)[:1000])
    how = "，".join(f"{label} {n}" for label, n in told.items())
    flash(f"已批量通过 {told.total()} 份申请" + (f"；通知送达方式：{how}。" if how else "。"))
    return redirect(url_for("admin.review"))
