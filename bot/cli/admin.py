"""``unionbot admin``: accounts of the staff console (/admin)."""

from __future__ import annotations

import sys

import click

from bot.cli.db import open_registry
from bot.cli.members import default_actor
from bot.cli.options import config_option, current_config
from bot.registry import staff
from bot.registry.models import ROLES
from bot.registry.repository import RegistryError


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def _run(action: str, *args: object) -> None:
    registry = open_registry(current_config())
    try:
        getattr(staff, action)(registry, *args)
    except RegistryError as exc:  # AccountError included
        raise click.ClickException(str(exc)) from None


@click.group()
def admin() -> None:
    """Staff console accounts: create, change password, list, disable."""


@admin.command("create-user")
@config_option
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="admin: everything; reviewer: applications, members, masked exports; editor: stations.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def create_user(name: str, role: str, password_stdin: bool) -> None:
    """Create the console account NAME."""
    _run("create_user", name, role, _password(password_stdin), default_actor())
    click.echo(f"created {role} {name}")


@admin.command()
@config_option
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def passwd(name: str, password_stdin: bool) -> None:
    """Set a new password for NAME."""
    _run("set_password", name, _password(password_stdin), default_actor())
    click.echo(f"password of {name} changed")


@admin.command()
@config_option
@click.argument("name")
def disable(name: str) -> None:
    """Disable NAME: it can no longer log in, and its open sessions end at their next request."""
    _run("disable_user", name, default_actor())
    click.echo(f"disabled {name}")


@admin.command("list")
@config_option
def list_() -> None:
    """List the console accounts."""
    registry = open_registry(current_config())
    try:
        users = staff.list_users(registry)
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    for user in users:
        state = "active" if user["active"] else "disabled"
        click.echo(f"{user['username']}  {user['role']}  {state}  created {user['created_at']:%Y-%m-%d}")
    click.echo(f"{len(users)} account(s)", err=True)
