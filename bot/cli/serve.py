"""``unionbot serve``: the webhook under gunicorn (one process by default)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from bot import logs
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

    if workers > 1 and config.store.url.startswith("memory://"):
        raise click.ClickException(
            "--workers > 1 needs a shared store: memory:// lives inside one process. "
            "Set [store] url = \"redis://…\" (or UNIONBOT_STORE_URL) or run with one worker."
        )
    logs.configure(config.log)
    metrics_dir = prepare_metrics_dir()  # before prometheus_client is imported (bot.web.app imports it)
    from bot.web.app import create_app

    prepare_embedded(config)
    warm_knowledge(config)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}", "workers": workers, "threads": threads,
                "worker_class": "gthread", "accesslog": None, "timeout": 30, "graceful_timeout": 10,
                "child_exit": _forget_worker_metrics,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            app = create_app(config)
            app.extensions["unionbot"].ticker.start()  # in each worker, after the fork
            return app

    log.info("metrics of all workers gathered in %s", metrics_dir)
    click.echo(f"unionbot serving on http://{host}:{port}/wechat ({workers} worker(s), config: {config.source})")
    with_config = f" --config {config.source}" if config.source != DEFAULTS else ""
    click.echo(f"try it: unionbot chat --url http://{host}:{port}{with_config}")
    Server().run()


def prepare_metrics_dir() -> str:
    """An empty directory for the workers' metric files (gunicorn multiprocess mode).

    ``$PROMETHEUS_MULTIPROC_DIR`` when set (its old files removed: counters start again at 0 with
    the server), else a fresh temporary directory.
    """
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        for old in Path(path).glob("*.db"):
            old.unlink()
    else:
        path = tempfile.mkdtemp(prefix="unionbot-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def _forget_worker_metrics(_server: Any, worker: Any) -> None:
    """A worker is gone: drop its live gauges (its counters stay counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def warm_knowledge(config: Config) -> None:
    """Load the knowledge and embed it once, in the master, before any worker starts.

    Workers are forked from the master with the embeddings in memory (and on disk, see
    ``unionbot faq warm``), so none of them embeds the knowledge itself on a cold start; and a
    gunicorn worker loads the app before it accepts its first request.
    """
    from bot.faq.knowledge import KnowledgeError, load_knowledge
    from bot.services import matcher_factory

    try:
        matcher_factory(config)(load_knowledge(config.knowledge.dir))
    except KnowledgeError as exc:
        log.error("knowledge in %s could not be loaded: %s", config.knowledge.dir, exc)
