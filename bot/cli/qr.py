"""``unionbot qr``: printable station posters with the station's scan-to-join QR code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot.cli.db import open_registry
from bot.cli.options import pass_config
from bot.config import Config
from bot.registry.repository import RegistryUnavailable
from bot.stations.directory import StationsError, load_stations
from bot.stations.posters import (
    FONT_ENV,
    LOCAL_NOTE,
    PosterError,
    find_cjk_font,
    local_payload,
    render_poster,
    scene_for,
)


def load_station_list(path: Path) -> list[dict[str, Any]]:
    """Every station in the stations file, checked by :func:`bot.stations.directory.load_stations`."""
    try:
        stations = load_stations(path)
    except StationsError as exc:
        for line in exc.errors:
            click.echo(line, err=True)
        raise click.ClickException(f"{path}：有 {len(exc.errors)} 处问题，没有生成海报") from None
    return stations


def refuse_unregistered(config: Config, codes: list[str]) -> None:
    """Stop unless every code is an active station in the database: a scan of a code the database
    does not know joins without crediting any station."""
    registry = open_registry(config)
    try:
        missing = [c for c in codes if not (registry.station(c) or {}).get("active")]
    except RegistryUnavailable as exc:
        raise click.ClickException(f"数据库打不开，无法确认驿站编号，没有生成海报：{exc}") from None
    if missing:
        raise click.ClickException(
            f"驿站编号 {', '.join(missing)} 不在数据库里（或已停用），用它扫码入会不会记到驿站名下，没有生成海报。"
            "请先运行 `unionbot stations import` 导入驿站名录，再生成海报。")


@click.command("qr")
@click.argument("code", required=False)
@click.option("--all", "all_stations", is_flag=True, help="A poster for every station.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="posters", show_default=True,
              help="Folder for the PNG files (<code>.png).")
@click.option("--stations", "stations_file", type=click.Path(dir_okay=False),
              help="Stations file (default: <knowledge.dir>/stations.yaml).")
@click.option("--font", "font_file", type=click.Path(dir_okay=False), envvar=FONT_ENV,
              help=f"A CJK font file (.ttf/.otf/.ttc); default: found automatically (${FONT_ENV}).")
@pass_config
def qr(config: Config, code: str | None, all_stations: bool, out_dir: str, stations_file: str | None,
       font_file: str | None) -> None:
    """Write a printable poster (PNG, A5 at 300 dpi) with the station's scan-to-join QR code.

    With wechat.app_id/app_secret configured the QR is a permanent WeChat parametric code
    (scene join:CODE); without them it is a local code (unionbot:join:CODE) that only
    `unionbot chat` understands (/scan), and the poster says so.
    """
    if bool(code) == all_stations:
        raise click.UsageError("请给出一个驿站编号，或用 --all 生成全部")
    path = Path(stations_file) if stations_file else Path(config.knowledge.dir) / "stations.yaml"
    stations = load_station_list(path)
    if code:
        chosen = [s for s in stations if s["code"] == code]
        if not chosen:
            known = ", ".join(s["code"] for s in stations[:10]) + (" …" if len(stations) > 10 else "")
            raise click.ClickException(f"驿站名录里没有编号 {code}（已有：{known or '无'}），没有生成海报。")
    else:
        chosen = stations
        if not chosen:
            raise click.ClickException(f"{path}：名录里没有驿站")
    refuse_unregistered(config, [s["code"] for s in chosen])

    try:
        font = find_cjk_font(font_file)
    except PosterError as exc:
        raise click.ClickException(str(exc)) from None
    payload_for = _payloads(config)
    out = Path(out_dir)
    for n, station in enumerate(chosen, 1):
        c, name = station["code"], station["name"]
        payload, note = payload_for(c)
        target = out / f"{c}.png"
        try:
            render_poster(config.service.union_name, name, c, payload, target, hours=station["hours"],
                          hotline=config.service.hotline, note=note, font=font)
        except PosterError as exc:
            raise click.ClickException(str(exc)) from None
        prefix = f"[{n}/{len(chosen)}] " if len(chosen) > 1 else ""
        click.echo(f"{prefix}{c} {name} -> {target}")


def _payloads(config: Config):
    """A function: station code -> (QR payload, note printed on the poster or None)."""
    w = config.wechat
    if not (w.app_id and w.app_secret):
        click.echo("提示：未配置 wechat.app_id/app_secret，生成的是本地测试码（unionbot:join:<编号>），"
                   "只能在 `unionbot chat` 里用，微信扫不了。", err=True)
        return lambda code: (local_payload(code), LOCAL_NOTE)

    from bot.storage.store import Store, StoreUnavailable
    from bot.wechat.api import WechatApi, WechatApiError

    store = Store.from_config(config)
    api = WechatApi(w, store)

    def wechat(code: str) -> tuple[str, None]:
        try:
            _ticket, url = api.create_station_qr(scene_for(code))
        except (WechatApiError, StoreUnavailable) as exc:
            raise click.ClickException(f"{code}：微信二维码没有生成（{exc}）") from None
        return url, None

    return wechat
