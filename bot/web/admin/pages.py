"""统计 (the home page), its CSV downloads, 导出 and 人工."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import Response, abort, g, render_template, request

from bot.faq.gaps import outcome_text
from bot.registry import reports, staff
from bot.registry.export import cell, export_row, write_csv, write_xlsx
from bot.registry.models import STATUS_LABELS
from bot.signup.privacy import mask_name
from bot.storage import stats
from bot.web.admin.base import actor, bp, registry, roles, services
from bot.web.admin.charts import stacked_bars

BY_LABELS = {"status": "状态", "station": "驿站", "occupation": "职业"}
PERIODS = {"day": ("按天", 30), "week": ("按周", 12 * 7)}


def _today() -> dt.date:
    return dt.datetime.fromtimestamp(services().clock(), registry().tz).date()


def _signup_table(period: str, by: str) -> tuple[list[str], list[list[Any]]]:
    today, days = _today(), PERIODS[period][1]
    rows = reports.signups(registry(), days=days, today=today)
    periods, values, counts = reports.counts(rows, by, period, today - dt.timedelta(days=days - 1), today)
    names = [STATUS_LABELS.get(v, v) if by == "status" else (v or "未填") for v in values]
    header = ["日期" if period == "day" else "周（周一）", *names, "合计"]
    body = [[p.isoformat(), *(counts.get((p, v), 0) for v in values), sum(counts.get((p, v), 0) for v in values)]
            for p in periods]
    return header, body


def _question_table() -> tuple[list[str], list[list[Any]]]:
    days = stats.question_counts(services().store, 30, registry().tz, _today())
    header = ["日期", *(stats.OUTCOME_LABELS[o] for o in stats.OUTCOMES), "合计"]
    body = [[d.isoformat(), *(c[o] for o in stats.OUTCOMES), sum(c[o] for o in stats.OUTCOMES)]
            for d, c in days.items()]
    return header, body


def _gap_table() -> tuple[list[str], list[list[Any]]]:
    return ["问题", "次数", "结果"], [[row.question, row.count, outcome_text(row.outcomes)]
                                    for row in services().store.unanswered(20)]


def _chart(header: list[str], body: list[list[Any]], title: str) -> str:
    labels = [row[0][5:] for row in body]  # MM-DD
    series = [(name, [row[i + 1] for row in body]) for i, name in enumerate(header[1:-1])]
    return stacked_bars(labels, series, title)


@bp.get("/")
def home() -> Any:
    period = request.args.get("period", "day") if request.args.get("period") in PERIODS else "day"
    by = request.args.get("by", "status") if request.args.get("by") in BY_LABELS else "status"
    signup_header, signup_body = _signup_table(period, by)
    question_header, question_body = _question_table()
    gap_header, gap_body = _gap_table()
    return render_template(
        "admin/home.html", period=period, by=by, PERIODS=PERIODS, BY_LABELS=BY_LABELS,
        signups=(signup_header, signup_body), questions=(question_header, question_body),
        gaps=(gap_header, gap_body),
        signup_chart=_chart(signup_header, signup_body, f"入会申请（{PERIODS[period][0]}，{BY_LABELS[by]}）"),
        question_chart=_chart(question_header, question_body, "提问（按天，按结果）"),
    )


@bp.get("/stats/<table>.csv")
def stats_csv(table: str) -> Response:
    if table == "signups":
        period = request.args.get("period", "day")
        by = request.args.get("by", "status")
        if period not in PERIODS or by not in BY_LABELS:
            abort(404)
        header, body = _signup_table(period, by)
    elif table == "questions":
        header, body = _question_table()
    elif table == "gaps":
        header, body = _gap_table()
    else:
        abort(404)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[cell(value) for value in row] for row in body])
    return _download(out.getvalue().encode("utf-8-sig"), f"{table}-{_stamp()}.csv", "text/csv")


def _stamp() -> str:
    return dt.datetime.fromtimestamp(services().clock(), registry().tz).strftime("%Y%m%d-%H%M%S")


def _download(data: bytes, name: str, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/export", methods=["GET", "POST"])
@roles("reviewer")
def export() -> Any:
    if request.method == "GET":
        return render_template("admin/export.html")
    status = request.form.get("status", "approved")
    if status not in ("all", *STATUS_LABELS):
        abort(400)
    fmt = request.form.get("format", "xlsx")
    full = request.form.get("full") == "1"
    if fmt not in ("csv", "xlsx"):
        abort(400)
    if full and g.role != "admin":
        abort(403)
    reg = registry()
    members = list(reg.iter_members(status=None if status == "all" else status, full=full))
    rows = [export_row(m, full, reg.tz) for m in members]
    name = f"members-{status}-{_stamp()}.{fmt}"
    if fmt == "csv":
        text = io.StringIO()
        write_csv(text, rows)
        data, mimetype = text.getvalue().encode("utf-8-sig"), "text/csv"
    else:
        binary = io.BytesIO()
        write_xlsx(binary, rows)
        data = binary.getvalue()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    what = "full" if full else "masked"
    if full and members:
        reg.record_export([m["number"] for m in members], actor(), f"console {fmt} export {name}")
    staff.record_staff_event(reg, actor(), "exported", f"{len(rows)} members, {what}, status {status}: {name}")
    return _download(data, name, mimetype)


@bp.get("/human")
def human() -> Any:
    """Workers who asked for a person in the last 48 hours, to answer in WeChat's customer-service tool."""
    rows = stats.human_requests(services().store, services().clock())
    for row in rows:
        found = registry().find_by_openid(row["user"])
        row["member"] = f"{mask_name(found['name'])}（{found['number']}）" if found else ""
        row["user_masked"] = row["user"][:4] + "…" + row["user"][-4:]
    return render_template("admin/human.html", rows=rows)
