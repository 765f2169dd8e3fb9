"""会员: search, one member's page, and the audited changes (edit, withdraw, revoke, erase, reveal)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from bot.notify.decisions import Decision
from bot.registry import notices, staff
from bot.registry.repository import InvalidTransition, MemberNotFound
from bot.web.admin.base import actor, bp, registry, roles, services


@bp.get("/members")
@roles("reviewer")
def members() -> Any:
    query = request.args.get("q", "").strip()
    return render_template("admin/members.html", q=query, rows=staff.search(registry(), query) if query else [])


@bp.get("/members/<number>")
@roles("reviewer")
def member(number: str, revealed: dict[str, str] | None = None) -> Any:
    reg = registry()
    try:
        m = reg.get(number)
    except MemberNotFound:
        abort(404)
    return render_template("admin/member.html", m=m, events=reg.events(number),
                           consents=staff.consents(reg, number), revealed=revealed or {},
                           stations=reg.stations(active_only=False), notices=notices.for_member(reg, number))


def _act(number: str, action: Callable[[], Any], done: str) -> Any:
    """Run ``action``; a :class:`Decision` adds how the worker was told to the message."""
    try:
        result = action()
        flash(done + (result.line if isinstance(result, Decision) else ""))
    except InvalidTransition:
        flash("操作失败：该会员当前的状态不允许这个操作（页面可能已过期，请刷新）。", "error")
    except (ValueError, MemberNotFound) as exc:
        flash(f"操作失败：{exc}", "error")
    return redirect(url_for("admin.member", number=number))


@bp.post("/members/<number>/reveal")
@roles("reviewer")
def reveal(number: str) -> Any:
    field = request.form.get("field", "")
    try:
        value = staff.reveal(registry(), number, field, actor(), request.form.get("reason"))
    except (ValueError, InvalidTransition, MemberNotFound) as exc:
        flash(f"操作失败：{exc}", "error")
        return redirect(url_for("admin.member", number=number))
    return member(number, revealed={field: value})


@bp.post("/members/<number>/edit")
@roles("reviewer")
def edit(number: str) -> Any:
    changes = {k: request.form[k] for k in staff.EDITABLE if k in request.form}
    if not changes.get("phone", "").strip():
        changes.pop("phone", None)  # the form shows it masked: empty means unchanged
    return _act(number, lambda: staff.edit(registry(), number, changes, actor(), request.form.get("reason")),
                "已保存修改。")


@bp.post("/members/<number>/withdraw")
@roles("reviewer")
def withdraw(number: str) -> Any:
    return _act(number, lambda: services().decisions.withdraw(number, actor(), request.form.get("reason")),
                "已办理退会。")


@bp.post("/members/<number>/revoke")
@roles("reviewer")
def revoke(number: str) -> Any:
    return _act(number, lambda: staff.revoke(registry(), number, actor(), request.form.get("reason")),
                "已撤销审核通过，申请回到待审核。")


@bp.post("/members/<number>/erase")
@roles()
def erase(number: str) -> Any:
    if request.form.get("confirm") != number:
        flash("请输入会员号确认删除。", "error")
        return redirect(url_for("admin.member", number=number))
    return _act(number, lambda: services().decisions.erase(number, actor(), request.form.get("reason")),
                "已删除该会员的个人信息（保留匿名记录和审计记录）。")
