"""``unionbot stations``: import knowledge/stations.yaml into the registry and the geo index."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.db import open_registry
from bot.cli.options import pass_config
from bot.config import Config
from bot.registry.repository import RegistryError
from bot.stations.directory import StationsError, import_stations
from bot.storage.store import Store


@click.group()
def stations() -> None:
    """Worker stations (职工驿站)."""


@stations.command("import")
@pass_config
@click.argument("file", required=False, type=click.Path(dir_okay=False))
def import_(config: Config, file: str | None) -> None:
    """Load FILE (default: <knowledge.dir>/stations.yaml) and print what changed.

    Stations missing from the file are deactivated, never deleted. A file with errors changes
    nothing; each error is printed as file:line: message.
    """
    path = Path(file) if file else Path(config.knowledge.dir) / "stations.yaml"
    store = Store.from_config(config)
    registry = open_registry(config)
    try:
        report = import_stations(registry, store, path)
        names = {s["code"]: s["name"] for s in registry.stations(active_only=False)}
    except StationsError as exc:
        for line in exc.errors:
            click.echo(line, err=True)
        raise click.ClickException(f"{path}：有 {len(exc.errors)} 处问题，没有导入任何内容") from None
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    for mark, codes, note in (("+", report.added, ""), ("~", report.changed, ""),
                              ("-", report.removed, "（停用）")):
        for code in codes:
            click.echo(f"{mark} {code} {names.get(code, '')}{note}")
    click.echo(f"{path}：新增 {len(report.added)}，修改 {len(report.changed)}，"
               f"未变 {len(report.unchanged)}，停用 {len(report.removed)}")
    if report.geo_error:
        click.echo(f"警告：附近驿站索引没有更新（{report.geo_error}）；"
                   "机器人下次回答位置消息时会从数据库重建", err=True)
    elif store.embedded:
        click.echo("提示：store.url 是 memory://，这个附近驿站索引只在本命令里有效；"
                   "机器人第一次用到时会从数据库自己建立", err=True)
    else:
        click.echo(f"附近驿站索引：{report.indexed} 个启用的驿站")


@stations.command("list")
@pass_config
@click.option("--all", "show_all", is_flag=True, help="Include deactivated stations.")
def list_(config: Config, show_all: bool) -> None:
    """List the stations in the registry."""
    registry = open_registry(config)
    try:
        rows = registry.stations(active_only=not show_all)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    for s in rows:
        flag = "" if s["active"] else "  [停用]"
        click.echo(f"{s['code']}  {s['name']}  {s['address']}  {s['hours']}{flag}")
    click.echo(f"共 {len(rows)} 个驿站", err=True)
