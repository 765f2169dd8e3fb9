"""The ``unionbot`` command line: one click group, one module per command family."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import click

from bot.config import Config, ConfigError, load_config

F = TypeVar("F", bound=Callable[..., Any])

_CONFIG_PATH = "unionbot.config_path"
_CONFIG = "unionbot.config"


def _remember_config_path(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_CONFIG_PATH] = value  # meta is shared by the group's and the command's contexts


def config_option(fn: F) -> F:
    """``--config FILE`` (or ``$UNIONBOT_CONFIG``), accepted on the group and after every command
    that needs settings; read through :func:`current_config`."""
    return click.option(
        "--config", type=click.Path(dir_okay=False), envvar="UNIONBOT_CONFIG", expose_value=False,
        callback=_remember_config_path, help="TOML config file (default: $UNIONBOT_CONFIG, else built-in defaults).",
    )(fn)


def current_config() -> Config:
    """This invocation's config, loaded on first use; a bad one stops the command with one line
    naming the key and the problem."""
    meta = click.get_current_context().meta
    if _CONFIG not in meta:
        try:
            meta[_CONFIG] = load_config(meta.get(_CONFIG_PATH))
        except ConfigError as exc:
            raise click.ClickException(f"bad config: {exc}") from None
    return meta[_CONFIG]


def pass_config(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Accept ``--config`` and call the command with the loaded config as its first argument."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(current_config(), *args, **kwargs)

    return config_option(wrapper)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@config_option
def main(verbose: bool) -> None:
    """unionbot: the county union's WeChat chatbot."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


from bot.cli.chat import chat  # noqa: E402
from bot.cli.serve import serve  # noqa: E402

main.add_command(serve)
main.add_command(chat)

from bot.cli.qr import qr  # noqa: E402

main.add_command(qr)


from bot.cli.faq import faq  # noqa: E402

main.add_command(faq)

from bot.cli.db import db  # noqa: E402
from bot.cli.members import members  # noqa: E402
from bot.cli.stations import stations  # noqa: E402

main.add_command(db)
main.add_command(members)
main.add_command(stations)

from bot.cli.menu import menu  # noqa: E402

main.add_command(menu)
