"""``unionbot serve``: the webhook under gunicorn (one process by default)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from bot.cli.options import pass_config
from bot.config import DEFAULTS, Config

log = logging.getLogger(__name__)


def prepare_embedded(config: Config) -> None:
    """On the embedded SQLite default, set up what a production deploy does by hand.

    Tables are migrated (``unionbot db upgrade``) and, while no station is loaded, the shipped
    ``stations.yaml`` is imported (``unionbot stations import``), so a first try works at once.
    """
    if not config.database.url.startswith("sqlite"):
        return
    from bot.registry.repository import Registry
    from bot.stations.directory import import_stations
    from bot.storage.store import Store

    registry = Registry.from_config(config)
    registry.upgrade()
    stations_file = Path(config.knowledge.dir) / "stations.yaml"
    if stations_file.exists() and not registry.stations():
        store = Store.from_config(config)
        report = import_stations(registry, store, stations_file)
        log.info("embedded default: imported %d example stations from %s", len(report.added), stations_file)
    registry.close()


@click.command()
@pass_config
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (needs a shared Redis store: not memory://).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256), help="Threads per worker.")
def serve(config: Config, host: str, port: int, workers: int, threads: int) -> None:
    """Run the bot: WeChat posts to http://HOST:PORT/wechat."""
    from gunicorn.app.base import BaseApplication

    from bot.web.app import serving_app

    if workers > 1 and config.store.url.startswith("memory://"):
        raise click.ClickException(
            "--workers > 1 needs a shared store: memory:// lives inside one process. "
            "Set [store] url = \"redis://…\" (or UNIONBOT_STORE_URL) or run with one worker."
        )
    prepare_embedded(config)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}", "workers": workers, "threads": threads,
                "worker_class": "gthread", "accesslog": None, "timeout": 30, "graceful_timeout": 10,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return serving_app(config)

    click.echo(f"unionbot serving on http://{host}:{port}/wechat ({workers} worker(s), config: {config.source})")
    with_config = f" --config {config.source}" if config.source != DEFAULTS else ""
    click.echo(f"try it: unionbot chat --url http://{host}:{port}{with_config}")
    Server().run()
