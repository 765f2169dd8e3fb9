"""``unionbot notice``: member notices (送清凉, 金秋助学, a new station…) to the approved members of a
station, of an occupation, or to all; their progress and every recipient's result; resume.

A notice is a background job: ``send`` writes it and then drives it here with a progress bar (Ctrl-C
leaves it to resume later); a running server's ticker sends it too (``--background``: only that).
Run from a terminal it asks for confirmation first (not with ``--yes``; a script cannot answer).
Names are shown masked.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli.members import _table, actor_option
from bot.cli.options import pass_config
from bot.config import Config
from bot.notify import member_notice as mn
from bot.notify.broadcast import Broadcaster, Plan
from bot.notify.member_notice import Audience, NoticeProblem, Progress
from bot.registry import broadcasts
from bot.registry.broadcasts import BroadcastRow
from bot.registry.repository import RegistryError
from bot.services import Services
from bot.signup.privacy import KeyConfigError
from bot.storage.store import StoreUnavailable

F = TypeVar("F", bound=Callable[..., Any])
TIME = "%Y-%m-%d %H:%M"


def _errors(fn: F) -> F:
    """A notice that cannot be sent, a registry or store failure: one line on stderr, exit 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NoticeProblem as exc:
            raise click.ClickException(str(exc)) from None
        except (RegistryError, KeyConfigError) as exc:
            raise click.ClickException(str(exc)) from None
        except StoreUnavailable as exc:
            raise click.ClickException(f"Redis 不可用（store.url）：{exc}") from None

    return wrapper  # type: ignore[return-value]


def _services(config: Config) -> Services:
    try:
        services = Services.from_config(config)
    except (KeyConfigError, RegistryError) as exc:
        raise click.ClickException(str(exc)) from None
    click.get_current_context().with_resource(contextlib.closing(services.registry))
    return services


def _when(services: Services, value: Any) -> str:
    return value.astimezone(services.registry.tz).strftime(TIME) if value else "-"


def _channel_note(services: Services) -> str:
    if services.wechat is None:
        return "未配置公众号接口（wechat.app_id / app_secret）：通知发不出去，只会在会员下次发消息时显示"
    if services.config.notify.notice_template:
        return f"模板消息（{services.config.notify.notice_template}），不成功时用客服消息，再不成功在会员下次发消息时显示"
    return "未配置模板消息（notify.notice_template）：48 小时内发过消息的会员收到客服消息，其余的在其下次发消息时显示"


def _print_plan(plan: Plan, services: Services, text: str) -> None:
    click.echo("会员收到的通知：")
    click.echo("-" * 40)
    click.echo(text)
    click.echo("-" * 40)
    click.echo(f"发送范围：{plan.label}")
    click.echo(f"将收到：{plan.recipients} 人" + (f"（另有 {plan.opted_out} 人已退订，不发送）" if plan.opted_out else ""))
    click.echo(f"发送方式：{_channel_note(services)}")
    left = services.broadcaster.quota_left()
    if left is not None and left < plan.recipients:
        click.echo(f"今天还能发 {left} 条模板消息（notify.daily_quota），其余的明天接着发")
    for heading, rows in (("按驿站", plan.by_station), ("按职业", plan.by_occupation)):
        click.echo(f"{heading}：")
        click.echo("\n".join(f"  {label}  {count} 人" for label, count in rows) or "  -")
    if plan.sample:
        click.echo(f"例如：{'、'.join(plan.sample)}")


def _interactive() -> bool:
    """Run from a terminal: someone can answer the confirmation (a script cannot; it sends)."""
    return sys.stdin.isatty()


def _read_text(path: str) -> str:
    try:
        raw = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{path}：不是 UTF-8 文本（请用记事本另存为 UTF-8）") from None
    except OSError as exc:
        raise click.ClickException(f"{path}：读不出来（{exc.strerror}）") from None
    return raw


def _drive(services: Services, broadcast_id: int) -> None:
    """Send in the foreground with a progress bar; Ctrl-C stops here, the notice stays resumable."""
    sender: Broadcaster = services.broadcaster
    start = sender.progress(broadcast_id)
    shown = start.done
    try:
        with click.progressbar(length=max(start.total, 1), label=f"通知 #{broadcast_id} 发送中",
                               show_pos=True, width=30) as bar:
            bar.update(shown)

            def advance(progress: Progress) -> None:
                nonlocal shown
                bar.update(progress.done - shown)
                shown = progress.done

            status = sender.drive(broadcast_id, on_progress=advance)
            advance(sender.progress(broadcast_id))
    except KeyboardInterrupt:
        progress = sender.progress(broadcast_id)
        click.echo(f"\n已中断：已处理 {progress.done}/{progress.total}。运行 unionbot notice resume {broadcast_id} "
                   "继续（正在运行的服务也会在后台接着发）", err=True)
        raise SystemExit(130) from None
    _report(sender.progress(broadcast_id), status, broadcast_id, services)


def _report(progress: Progress, status: str, broadcast_id: int, services: Services) -> None:
    click.echo(f"送达 {progress.delivered} 人；未送达 {progress.not_delivered} 人（会员下次发消息时显示）；"
               f"已退订 {progress.skipped} 人")
    if status == "paused":
        click.echo(f"今天的模板消息额度（{services.config.notify.daily_quota} 条）已用完，已暂停；明天由服务自动继续，"
                   f"或运行 unionbot notice resume {broadcast_id}")
    elif status == "done":
        click.echo(f"通知 #{broadcast_id} 已发送完毕")


@click.group()
def notice() -> None:
    """Member notices (会员通知): send, list, show, resume."""


@notice.command()
@pass_config
@click.option("--station", metavar="CODE", help="The approved members of this station.")
@click.option("--occupation", metavar="X", help="The approved members of this occupation (e.g. 快递员).")
@click.option("--all", "everyone", is_flag=True, help="All approved members.")
@click.option("--text-file", required=True, metavar="F", help="The notice's text, UTF-8 ('-' for stdin).")
@click.option("--title", help=f"At most {mn.TITLE_MAX} characters (default {mn.DEFAULT_TITLE}).")
@click.option("--url", help="A page with the whole notice (e.g. the account's article), opened from the message.")
@click.option("--dry-run", is_flag=True, help="Show who would get it; send and write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--background", is_flag=True, help="Only write the notice; a running server sends it.")
@actor_option
@_errors
def send(config: Config, station: str | None, occupation: str | None, everyone: bool, text_file: str,
         title: str | None, url: str | None, dry_run: bool, yes: bool, background: bool, actor: str) -> None:
    """Send a notice to --station CODE, --occupation X or --all approved members."""
    try:
        audience = Audience.of(station, occupation, everyone)
    except NoticeProblem:
        raise click.UsageError("请用 --station、--occupation、--all 中的一个指定发送范围") from None
    services = _services(config)
    composed = services.broadcaster.compose(title, _read_text(text_file), url)
    plan = services.broadcaster.plan(audience)
    _print_plan(plan, services, composed.text)
    if dry_run:
        click.echo("（试运行：没有发送，也没有写入任何记录）")
        return
    if plan.recipients == 0:
        raise click.ClickException("这个范围内没有可以接收通知的会员（已审核通过且没有退订的）")
    if not yes:
        if _interactive():
            click.confirm(f"确定向 {plan.recipients} 人发送《{composed.title}》吗？", abort=True)
        else:
            click.echo("（不是在终端里运行，无法询问确认，直接发送）", err=True)
    broadcast_id = services.broadcaster.create(audience, title, composed.body, actor, url)
    click.echo(f"已创建通知 #{broadcast_id}")
    if background:
        click.echo(f"由正在运行的服务在后台发送；查看进度：unionbot notice show {broadcast_id}")
        return
    _drive(services, broadcast_id)


@notice.command("list")
@pass_config
@_errors
def list_(config: Config) -> None:
    """Notices, newest first, with their progress."""
    services = _services(config)
    names = broadcasts.station_names(services.registry)
    rows = [[str(b.id), b.title, Audience.from_json(b.audience)[0].label(names), mn.STATUS_LABELS.get(b.status, b.status),
             f"{b.sent}/{b.total}", str(b.failed), b.created_by, _when(services, b.created_at)]
            for b in broadcasts.recent(services.registry)]
    if rows:
        click.echo(_table(["编号", "标题", "范围", "状态", "送达/总数", "未送达", "发送人", "创建时间"], rows))
    click.echo(f"共 {len(rows)} 条通知", err=True)


def _header(b: BroadcastRow, services: Services) -> None:
    audience, url = Audience.from_json(b.audience)
    progress = services.broadcaster.progress(b.id)
    for label, value in (("编号", b.id), ("标题", b.title), ("范围", audience.label(broadcasts.station_names(services.registry))),
                         ("状态", mn.STATUS_LABELS.get(b.status, b.status)), ("发送人", b.created_by),
                         ("创建", _when(services, b.created_at)), ("开始", _when(services, b.started_at)),
                         ("完成", _when(services, b.finished_at)), ("详情链接", url or "-")):
        click.echo(f"{label}: {value}")
    click.echo(f"进度: 已处理 {progress.done}/{progress.total}，送达 {progress.delivered}，"
               f"未送达 {progress.not_delivered}，待发送 {progress.pending}，已退订 {progress.skipped}")
    click.echo("内容:")
    click.echo("  " + b.text.replace("\n", "\n  "))


@notice.command()
@pass_config
@click.argument("broadcast_id", metavar="ID", type=int)
@click.option("--failed", is_flag=True, help="Only recipients it did not reach.")
@_errors
def show(config: Config, broadcast_id: int, failed: bool) -> None:
    """One notice: progress and every recipient's result (names masked)."""
    services = _services(config)
    b = broadcasts.get(services.registry, broadcast_id)
    _header(b, services)
    status = ("waiting", "failed") if failed else None
    offset, rows = 0, []
    while chunk := broadcasts.results(services.registry, b.id, status=status, offset=offset, limit=500):
        offset += len(chunk)
        rows += [[r.number, r.name_masked, r.station_code or "-", mn.RESULT_LABELS.get(r.status, r.status),
                  mn.CHANNEL_LABELS.get(r.channel, r.channel or "-"), _when(services, r.sent_at or r.updated_at),
                  mn.reason(r.error) or "-"] for r in chunk]
    click.echo("")
    click.echo(_table(["会员号", "姓名", "驿站", "结果", "方式", "时间", "原因"], rows) if rows else "（没有）")


@notice.command()
@pass_config
@click.argument("broadcast_id", metavar="ID", type=int)
@actor_option
@_errors
def resume(config: Config, broadcast_id: int, actor: str) -> None:
    """Go on sending a stopped or paused notice now, in the foreground."""
    services = _services(config)
    b = broadcasts.get(services.registry, broadcast_id)
    if b.status == "done":
        click.echo(f"通知 #{broadcast_id} 已经发送完毕")
        return
    services.broadcaster.resume(broadcast_id, actor)
    _drive(services, broadcast_id)
