"""``--config``, read once per invocation through click's context, for every command that needs settings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from bot import redact
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
    """This invocation's config, loaded on first use (and its secrets kept out of the logs); a bad one stops the command with one line
    naming the key and the problem."""
    meta = click.get_current_context().meta
    if _CONFIG not in meta:
        try:
            meta[_CONFIG] = load_config(meta.get(_CONFIG_PATH))
        except ConfigError as exc:
            raise click.ClickException(f"bad config: {exc}") from None
        redact.install(meta[_CONFIG])  # its secrets stay out of every log line from here on
    return meta[_CONFIG]


def pass_config(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Accept ``--config`` and call the command with the loaded config as its first argument."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(current_config(), *args, **kwargs)

    return config_option(wrapper)
