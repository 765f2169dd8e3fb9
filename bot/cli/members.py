"""``unionbot members``: review applications, export the roster, rotate the ID-number key.

Everything printed or exported shows names, phones and ID numbers masked, except
``members export --full``, which is written to the audit trail of every member it contains.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import os
import sys
import unicodedata
from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

import click

from bot.cli.db import open_outbox, open_registry
from bot.cli.options import pass_config
from bot.config import Config
from bot.notify.decisions import Decisions
from bot.registry.export import export_row, local_time, write_csv, write_xlsx
from bot.registry.models import GENDER_LABELS, STATUS_LABELS
from bot.registry.repository import InvalidTransition, MemberNotFound, Registry, RegistryError
from bot.signup.privacy import generate_key

PROGRESS_EVERY = 1000
F = TypeVar("F", bound=Callable[..., Any])


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in a bare container
        user = "unknown"
    return os.environ.get("UNIONBOT_ACTOR") or f"cli:{user}"


def actor_option(fn: F) -> F:
    return click.option("--actor", default=default_actor, show_default="cli:<login name>",
                        help="Who is acting, for the audit trail (or $UNIONBOT_ACTOR).")(fn)


def registry_errors(fn: F) -> F:
    """Registry failures become one line on stderr and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (MemberNotFound, InvalidTransition) as exc:
            raise click.ClickException(str(exc)) from None
        except RegistryError as exc:  # RegistryUnavailable included
            raise click.ClickException(str(exc)) from None
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


# -- output helpers -----------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _local(iso: str, registry: Registry) -> str:
    return local_time(iso, registry.tz)


def _since(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} 不是日期，格式如 2026-03-01", param_hint="--since") from None


# -- commands -----------------------------------------------------------------------------------


ALL_STATUSES = "all"


class StatusChoice(click.Choice):
    """A status by its English key or its Chinese label (``--status 待审核``); with ``allow_all``
    also ``all`` / ``全部``."""

    def __init__(self, allow_all: bool = False) -> None:
        super().__init__([*STATUS_LABELS, *([ALL_STATUSES] if allow_all else [])])
        self.allow_all = allow_all

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        by_label = {label: key for key, label in STATUS_LABELS.items()} | {"已通过": "approved", "未通过": "rejected"}
        if self.allow_all:
            by_label["全部"] = ALL_STATUSES
        return super().convert(by_label.get(value, value), param, ctx)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join([*STATUS_LABELS.values(), *(["全部"] if self.allow_all else [])]) + "]"


@click.group()
def members() -> None:
    """Members and applications (入会申请): review, export, key rotation."""


@members.command("list")
@pass_config
@click.option("--status", type=StatusChoice(), help="Only this status.")
@click.option("--station", help="Only members who joined at this station code.")
@click.option("--since", help="Only applications from this date on (YYYY-MM-DD, local time).")
@registry_errors
def list_(config: Config, status: str | None, station: str | None, since: str | None) -> None:
    """Applications and members, oldest first, personal data masked."""
    registry = open_registry(config)
    rows = registry.list_members(status=status, station=station, since=_since(since))
    table = [[m["number"], STATUS_LABELS[m["status"]], m["name_masked"], m["phone_masked"],
              m["id_number_masked"], m["station_code"] or "-", _local(m["created_at"], registry)]
             for m in rows]
    if table:
        click.echo(_table(["会员号", "状态", "姓名", "手机", "身份证号", "驿站", "申请时间"], table))
    click.echo(f"共 {len(table)} 人", err=True)


@members.command()
@pass_config
@click.argument("number")
@registry_errors
def show(config: Config, number: str) -> None:
    """One member (masked) and their audit trail."""
    registry = open_registry(config)
    m = registry.get(number)
    events = registry.events(number)
    station = f"{m['station_code']} {m['station_name'] or ''}".strip() if m["station_code"] else "-"
    for label, value in (("会员号", m["number"]), ("状态", STATUS_LABELS[m["status"]]),
                         ("说明", m["reason"] or "-"), ("姓名", m["name_masked"]),
                         ("手机", m["phone_masked"]), ("身份证号", m["id_number_masked"]),
                         ("性别", GENDER_LABELS.get(m["gender"], m["gender"]) or "-"), ("职业", m["occupation"] or "-"),
                         ("单位/平台", m["employer"] or "-"), ("驿站", station),
                         ("申请时间", _local(m["created_at"], registry))):
        click.echo(f"{label}: {value}")
    click.echo("审计记录：")
    for e in events:
        detail = f"  {e['detail']}" if e["detail"] else ""
        click.echo(f"  {_local(e['at'], registry)}  {e['action']}  操作人 {e['actor']}{detail}")


def _decide(config: Config, number: str, action: str, actor: str, reason: str | None) -> None:
    """Take the decision and tell the worker, as the console does (:mod:`bot.notify.decisions`)."""
    decisions = Decisions(open_outbox(config, open_registry(config)), config)
    if action == "approve":
        decision = decisions.approve(number, actor, reason)
    else:
        decision = decisions.reject(number, actor, reason or "")
    member = decision.member
    label = STATUS_LABELS[member["status"]]
    if not decision.changed:
        click.echo(f"{member['number']} {member['name_masked']} 已经是{label}，没有改动")
        return
    click.echo(f"{member['number']} {member['name_masked']}: {label}"
               + (f" ({member['reason']})" if member["reason"] else ""))
    click.echo(f"通知申请人：{decision.line}")


@members.command()
@pass_config
@click.argument("number")
@click.option("--reason", help="Optional note, kept in the audit trail.")
@actor_option
@registry_errors
def approve(config: Config, number: str, reason: str | None, actor: str) -> None:
    """Approve the application NUMBER (e.g. GH2026000123) and tell the worker (template message,
    else customer-service message, else shown with their next message)."""
    _decide(config, number, "approve", actor, reason)


@members.command()
@pass_config
@click.argument("number")
@click.option("--reason", required=True, help="Why; the worker is told this.")
@actor_option
@registry_errors
def reject(config: Config, number: str, reason: str, actor: str) -> None:
    """Reject the application NUMBER with a reason and tell the worker."""
    _decide(config, number, "reject", actor, reason)


@members.command()
@pass_config
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--status", type=StatusChoice(allow_all=True), default="approved", show_default=True,
              help="Only this status; 全部 (all) for every application.")
@click.option("--station", help="Only members who joined at this station code.")
@click.option("--since", help="Only applications from this date on (YYYY-MM-DD, local time).")
@click.option("--out", "out", type=click.Path(dir_okay=False, allow_dash=True),
              help="Output file (default members-YYYYMMDD.FORMAT; '-' for stdout, csv only).")
@click.option("--full", is_flag=True, help="Names, phones and ID numbers in full (recorded in the audit trail).")
@actor_option
@registry_errors
def export(config: Config, fmt: str, status: str | None, station: str | None, since: str | None,
           out: str | None, full: bool, actor: str) -> None:
    """Export approved members (or --status) to CSV (UTF-8, opens in Excel) or XLSX; masked unless --full."""
    status = None if status == ALL_STATUSES else status
    registry = open_registry(config)
    since_date = _since(since)
    out = out or f"members-{dt.datetime.now(registry.tz):%Y%m%d-%H%M%S}.{fmt}"
    if out == "-" and fmt == "xlsx":
        raise click.UsageError("xlsx 不能输出到屏幕，请用 --out 指定文件")
    total = registry.count_members(status=status, station=station, since=since_date)
    rows = registry.iter_members(status=status, station=station, since=since_date, full=full)
    exported: list[str] = []

    def tracked() -> Iterator[list[str]]:
        for m in rows:
            exported.append(m["number"])
            if total >= PROGRESS_EVERY and len(exported) % PROGRESS_EVERY == 0:
                click.echo(f"已导出 {len(exported)}/{total}", err=True)
            yield export_row(m, full, registry.tz)

    try:
        if fmt == "csv":
            _write_csv(out, tracked(), full)
        else:
            _write_xlsx(out, tracked(), full)
    finally:
        if full and exported:  # whatever left the database is on record, even if writing failed
            registry.record_export(exported, actor, f"{fmt} export to {out}")
    what = "完整信息（已记入审计记录）" if full else "姓名、手机号、身份证号已部分隐藏"
    click.echo(f"已导出 {len(exported)} 人到 {'屏幕' if out == '-' else out}，{what}", err=True)


def _private_file(path: str, full: bool, binary: bool) -> IO[Any]:
    """Open for writing; a full export is readable by its owner only."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600 if full else 0o644)
    if full:
        os.chmod(path, 0o600)
    return os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8-sig", newline="")


def _write_csv(out: str, rows: Iterator[list[str]], full: bool) -> None:
    if out == "-":
        write_csv(sys.stdout, rows)
        return
    with _private_file(out, full, binary=False) as handle:
        write_csv(handle, rows)


def _write_xlsx(out: str, rows: Iterator[list[str]], full: bool) -> None:
    with _private_file(out, full, binary=True) as handle:
        write_xlsx(handle, rows)


@members.command()
@pass_config
@click.option("--batch", default=200, show_default=True, help="Rows per transaction.")
@registry_errors
def rekey(config: Config, batch: int) -> None:
    """Re-encrypt every ID number with registry.id_key and recompute the duplicate-check hashes.

    Rotation: set the new key as registry.id_key, list the old one in registry.old_id_keys, run
    this, then drop the old key. Safe to run again; rows already on the new key are skipped.
    """
    registry = open_registry(config)
    report = registry.rekey(batch=batch, actor=default_actor())
    click.echo(f"rekeyed {report.rekeyed}, already current {report.current}")
    if report.failed:
        shown = ", ".join(report.failed[:10]) + (" …" if len(report.failed) > 10 else "")
        raise click.ClickException(
            f"{len(report.failed)} member(s) cannot be decrypted with any configured key ({shown}); "
            "add the key they were written with to registry.old_id_keys and run rekey again")


@members.command()
def keygen() -> None:
    """Print a new random key for registry.id_key."""
    click.echo(generate_key())
    click.echo("put it in registry.id_key or UNIONBOT_REGISTRY_ID_KEY; keep a copy offline "
               "(without it the ID numbers cannot be read)", err=True)

