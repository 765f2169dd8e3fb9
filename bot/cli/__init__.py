"""The ``unionbot`` command line: one click group, one module per command family."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import click

from bot.config import Config, ConfigError, load_config

F = TypeVar("F", bound=Callable[..., Any])


def config_option(fn: F) -> F:
    """``--config FILE`` (or ``$UNIONBOT_CONFIG``), shared by every command that needs settings."""
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False), envvar="UNIONBOT_CONFIG",
        help="TOML config file (default: $UNIONBOT_CONFIG, else built-in defaults).",
    )(fn)


def load(config_path: str | None) -> Config:
    """Load the config or stop with one line naming the key and the problem."""
    try:
        return load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"bad config: {exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
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


from bot.cli import faq_edit  # noqa: E402, F401  (adds its commands to the faq group)
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
