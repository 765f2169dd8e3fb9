"""通知: member notices. Compose (audience with counts, title, text, a preview as members will see
it), confirm with the exact count, then the list and each notice's progress and every recipient's
result. Sending runs in the ticker; pages showing a notice being sent refresh themselves.

Admins and reviewers send; editors read.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from bot.notify import member_notice as mn
from bot.notify.member_notice import Audience, NoticeProblem
from bot.registry import broadcasts
from bot.registry.broadcasts import BroadcastNotFound
from bot.web.admin.base import actor, bp, registry, roles, services

PAGE = 200
REFRESH_SECONDS = 5
RESULT_FILTERS = {"": None, "delivered": ("sent", "shown"), "not_delivered": ("waiting", "failed"),
                  "pending": ("pending", "sending"), "skipped": ("skipped",)}


def _audience_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The audience select: (group, [(value, label with the approved count)])."""
    by_station, by_occupation, total = broadcasts.approved_counts(registry())
    names = broadcasts.station_names(registry())
    stations = [(f"station:{code}", f"{name} {code}（{by_station.get(code, 0)} 人）") for code, name in sorted(names.items())]
    occupations = [(f"occupation:{o}", f"{o}（{n} 人）") for o, n in sorted(by_occupation.items())]
    return [("", [("all", f"全体会员（{total} 人）")]), ("按驿站", stations), ("按职业", occupations)]


def _audience(value: str) -> Audience:
    kind, _, rest = value.partition(":")
    if kind == "all":
        return Audience("all")
    if kind in ("station", "occupation") and rest:
        return Audience(kind, rest)
    raise NoticeProblem("请选择发送范围")


def _form(errors: list[str] | None = None, status: int = 200) -> tuple[str, int]:
    form = {k: request.values.get(k, "") for k in ("audience", "title", "text", "url")}  # GET: back to edit
    page = render_template("admin/notice_new.html", choices=_audience_choices(), form=form, errors=errors or [],
                           title_max=mn.TITLE_MAX)
    return page, status


@bp.get("/notices")
def notices_list() -> Any:
    rows = broadcasts.recent(registry())
    names = broadcasts.station_names(registry())
    labels = {b.id: Audience.from_json(b.audience)[0].label(names) for b in rows}
    active = any(b.status in ("queued", "sending") for b in rows)
    return render_template("admin/notices.html", rows=rows, labels=labels, refresh=REFRESH_SECONDS if active else 0,
                           STATUS=mn.STATUS_LABELS)


@bp.get("/notices/new")
@roles("reviewer")
def notice_new() -> Any:
    return _form()


@bp.post("/notices/preview")
@roles("reviewer")
def notice_preview() -> Any:
    sender = services().broadcaster
    try:
        audience = _audience(request.form.get("audience", ""))
        composed = sender.compose(request.form.get("title"), request.form.get("text"), request.form.get("url"))
        plan = sender.plan(audience)
    except NoticeProblem as exc:
        return _form([str(exc)], 400)
    if plan.recipients == 0:
        return _form(["这个范围内没有可以接收通知的会员（已审核通过且没有退订的）"], 400)
    config = services().config.notify
    return render_template("admin/notice_confirm.html", plan=plan, composed=composed,
                           audience_value=request.form.get("audience", ""), template=config.notice_template,
                           quota_left=sender.quota_left(), wechat=services().wechat is not None)


@bp.post("/notices")
@roles("reviewer")
def notice_create() -> Any:
    try:
        broadcast_id = services().broadcaster.create(_audience(request.form.get("audience", "")),
                                                     request.form.get("title"), request.form.get("text", ""),
                                                     actor(), request.form.get("url"))
    except NoticeProblem as exc:
        return _form([str(exc)], 400)
    services().ticker.wake()
    flash(f"通知 #{broadcast_id} 已创建，正在后台发送。")
    return redirect(url_for("admin.notice", broadcast_id=broadcast_id))


@bp.get("/notices/<int:broadcast_id>")
def notice(broadcast_id: int) -> Any:
    try:
        b = broadcasts.get(registry(), broadcast_id)
    except BroadcastNotFound:
        abort(404)
    which = request.args.get("show", "")
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows = broadcasts.results(registry(), broadcast_id, status=RESULT_FILTERS.get(which), offset=(page - 1) * PAGE,
                              limit=PAGE + 1)
    audience, url = Audience.from_json(b.audience)
    return render_template("admin/notice.html", b=b, audience=audience.label(broadcasts.station_names(registry())),
                           url=url, progress=services().broadcaster.progress(broadcast_id), rows=rows[:PAGE],
                           more=len(rows) > PAGE, page=page, which=which,
                           refresh=REFRESH_SECONDS if b.status in ("queued", "sending") else 0,
                           STATUS=mn.STATUS_LABELS, RESULT=mn.RESULT_LABELS, CHANNEL=mn.CHANNEL_LABELS,
                           reason=mn.reason)


@bp.post("/notices/<int:broadcast_id>/resume")
@roles("reviewer")
def notice_resume(broadcast_id: int) -> Any:
    try:
        services().broadcaster.resume(broadcast_id, actor())
    except BroadcastNotFound:
        abort(404)
    services().ticker.wake()
    flash("已恢复发送。如果今天的模板消息额度仍然用完，会再次暂停。")
    return redirect(url_for("admin.notice", broadcast_id=broadcast_id))
