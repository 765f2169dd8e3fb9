"""``unionbot db``: the registry's schema (Alembic migrations packaged in ``bot/registry/migrations``)."""

from __future__ import annotations

import contextlib
import sys

import click

from bot.cli.options import pass_config
from bot.config import Config
from bot.notify.outbox import Outbox
from bot.registry.models import alembic_config
from bot.registry.repository import Registry, RegistryError
from bot.signup.privacy import KeyConfigError


def open_registry(config: Config) -> Registry:
    """The registry for ``config``, closed when the command ends; or one line on stderr and exit 1
    (bad key, bad URL)."""
    try:
        registry = Registry.from_config(config)
    except (KeyConfigError, RegistryError) as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # a malformed URL, a missing driver: sqlalchemy's ArgumentError & co
        raise click.ClickException(f"database.url: {exc}") from None
    return click.get_current_context().with_resource(contextlib.closing(registry))


def open_outbox(config: Config, registry: Registry) -> Outbox:
    """The outbox as the serving processes have it, over the command's registry: the configured
    WeChat API (its access token shared through the store) and the same waiting-notice marks."""
    from bot.services import Services
    from bot.storage.store import Store
    from bot.wechat.api import WechatApi

    store = Store.from_config(config)
    return Services(config=config, store=store, registry=registry,
                    wechat=WechatApi.if_configured(config.wechat, store)).outbox


def safe_url(config: Config) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(config.database.url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database.url>"


@click.group()
def db() -> None:
    """The registry database: create and migrate its schema."""


@db.command()
@pass_config
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.option("--sql", "offline", is_flag=True, help="Print the SQL instead of running it (for a DBA).")
def upgrade(config: Config, revision: str, offline: bool) -> None:
    """Create or migrate the registry schema to the latest version (safe to run again)."""
    if offline:
        from alembic import command

        cfg = alembic_config(config.database.url)
        cfg.output_buffer = sys.stdout
        command.upgrade(cfg, revision, sql=True)
        return
    registry = open_registry(config)
    try:
        before = registry.current_revision()
        registry.upgrade(revision)
        after = registry.current_revision()
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
    where = safe_url(config)
    if before == after:
        click.echo(f"{where}: already at revision {after}")
    else:
        click.echo(f"{where}: upgraded {before or '(empty)'} -> {after}")


@db.command()
@pass_config
def current(config: Config) -> None:
    """Print the schema revision the database is at."""
    registry = open_registry(config)
    try:
        click.echo(f"{safe_url(config)}: {registry.current_revision() or '(empty: run `unionbot db upgrade`)'}")
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None
