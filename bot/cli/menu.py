"""``unionbot menu push``: check ``knowledge/menu.yaml`` and make it the account's custom menu.

The file has WeChat's own menu shape, in YAML::

    button:
      - name: 入会
        type: click
        key: JOIN
      - name: 服务
        sub_button:
          - {name: 附近驿站, type: click, key: STATIONS}
          - {name: 维权热线, type: view, url: "https://example.org/12351"}
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import click
import yaml

from bot.cli.options import pass_config
from bot.config import Config
from bot.core.router import MENU_KEYS

KEYED = {"click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
         "pic_weixin", "location_select"}
NEEDS = {**{t: ("key",) for t in KEYED}, "view": ("url",), "miniprogram": ("url", "appid", "pagepath"),
         "media_id": ("media_id",), "article_id": ("article_id",), "article_view_limited": ("article_id",)}
TOP_MAX, SUB_MAX = 3, 5
TOP_WIDTH, SUB_WIDTH = 8, 16  # WeChat: top level at most 4 Chinese characters, sub-items 8


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def validate_menu(menu: Any) -> list[str]:
    """Problems with ``menu`` (empty list: fine to push)."""
    if not isinstance(menu, dict) or not isinstance(menu.get("button"), list) or not menu["button"]:
        return ["the file needs a non-empty `button:` list"]
    problems: list[str] = []
    buttons = menu["button"]
    if len(buttons) > TOP_MAX:
        problems.append(f"at most {TOP_MAX} top-level buttons, found {len(buttons)}")
    for i, button in enumerate(buttons, 1):
        problems += _check(button, f"button {i}", TOP_WIDTH, top=True)
    return problems


def _check(button: Any, where: str, max_width: int, top: bool) -> list[str]:
    if not isinstance(button, dict):
        return [f"{where}: must be a mapping with name and type"]
    name = str(button.get("name") or "")
    where = f"{where} ({name})" if name else where
    problems = []
    if not name:
        problems.append(f"{where}: needs a name")
    elif _width(name) > max_width:
        problems.append(f"{where}: name too long (at most {max_width // 2} Chinese characters)")
    subs = button.get("sub_button")
    if top and subs is not None:
        if not isinstance(subs, list) or not subs:
            return problems + [f"{where}: sub_button must be a non-empty list"]
        if len(subs) > SUB_MAX:
            problems.append(f"{where}: at most {SUB_MAX} sub-items, found {len(subs)}")
        for j, sub in enumerate(subs, 1):
            problems += _check(sub, f"{where} item {j}", SUB_WIDTH, top=False)
        return problems
    kind = button.get("type")
    if kind not in NEEDS:
        return problems + [f"{where}: type must be one of {', '.join(sorted(NEEDS))}"]
    problems += [f"{where}: type {kind} needs `{field}`" for field in NEEDS[kind] if not button.get(field)]
    if kind in KEYED and len(str(button.get("key", "")).encode()) > 128:
        problems.append(f"{where}: key longer than 128 bytes")
    if kind == "click" and button.get("key") and str(button["key"]).upper() not in MENU_KEYS:
        problems.append(f"{where}: no handler answers key {button['key']} (known: {', '.join(sorted(MENU_KEYS))})")
    return problems


@click.group("menu")
def menu() -> None:
    """The account's custom menu."""


@menu.command("push")
@pass_config
@click.option("--file", "menu_file", type=click.Path(dir_okay=False),
              help="Menu file (default: <knowledge.dir>/menu.yaml).")
@click.option("--dry-run", is_flag=True, help="Check and print the JSON; send nothing.")
def push(config: Config, menu_file: str | None, dry_run: bool) -> None:
    """Check the menu file and make it the account's custom menu."""
    path = Path(menu_file) if menu_file else Path(config.knowledge.dir) / "menu.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise click.ClickException(f"{path}: not found") from None
    except yaml.YAMLError as exc:
        raise click.ClickException(f"{path}: not valid YAML ({exc})") from None
    problems = validate_menu(data)
    if problems:
        raise click.ClickException(f"{path}:\n  " + "\n  ".join(problems))
    if dry_run:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not (config.wechat.app_id and config.wechat.app_secret):
        raise click.ClickException("wechat.app_id and wechat.app_secret are needed to push the menu")

    from bot.storage.store import Store, StoreUnavailable
    from bot.wechat.api import WechatApi, WechatApiError

    store = Store.from_config(config)
    try:
        WechatApi(config.wechat, store).create_menu(data)
    except (WechatApiError, StoreUnavailable) as exc:
        raise click.ClickException(f"menu not pushed: {exc}") from None
    click.echo(f"menu pushed: {len(data['button'])} top-level buttons from {path}")
