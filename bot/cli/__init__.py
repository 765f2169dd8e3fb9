"""The ``unionbot`` command line: one click group, one module per command family.

Dependency rule: the CLI is shell; it may import any of bot (never handlers directly), and no
other package imports it.
"""

from __future__ import annotations

import logging

import click

from bot.cli import faq_edit  # noqa: F401  (adds its commands to the faq group)
from bot.cli.admin import admin
from bot.cli.chat import chat
from bot.cli.db import db
from bot.cli.faq import faq
from bot.cli.members import members
from bot.cli.menu import menu
from bot.cli.notice import notice
from bot.cli.options import config_option
from bot.cli.qr import qr
from bot.cli.serve import serve
from bot.cli.stations import stations


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
@config_option
def main(verbose: bool) -> None:
    """unionbot: the county union's WeChat chatbot."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


for command in (serve, chat, qr, faq, db, members, notice, stations, menu, admin):
    main.add_command(command)
