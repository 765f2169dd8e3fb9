"""The Flask application factory: ``create_app(config)`` is what gunicorn and tests run."""

from __future__ import annotations

import logging

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from bot import redact
from bot.config import Config, load_config
from bot.services import Services
from bot.web.webhook import bp as webhook_bp

log = logging.getLogger(__name__)


def create_app(config: Config | None = None, services: Services | None = None) -> Flask:
    """Build the app. ``services`` lets tests inject a clock, a router or a store."""
    config = config or (services.config if services else load_config())
    services = services or Services.from_config(config)
    app = Flask("unionbot")
    app.config["MAX_CONTENT_LENGTH"] = config.wechat.max_body_bytes
    app.extensions["unionbot"] = services
    app.register_blueprint(webhook_bp)
    if config.admin.enabled:
        from bot.web import admin

        admin.init_app(app, config)

    @app.get("/healthz")
    def health() -> Response:
        store_ok = services.store.ping()
        db_ok = services.registry.ping()
        status = 200 if store_ok and db_ok else 503
        return Response(f"store={'ok' if store_ok else 'down'} database={'ok' if db_ok else 'down'}\n",
                        status=status, mimetype="text/plain")

    @app.errorhandler(HTTPException)
    def plain_error(exc: HTTPException) -> Response:
        """Errors as one plain line (413 body too large, 404, 405…), never an HTML page."""
        return Response(f"{exc.code} {exc.name}\n", status=exc.code or 500, mimetype="text/plain")

    return app


def serving_app(config: Config) -> Flask:
    """The app a serving worker runs: secrets kept out of its log, knowledge loaded before the first
    message, not during it."""
    redact.install(config)
    app = create_app(config)
    services: Services = app.extensions["unionbot"]
    if services.knowledge is not None:
        services.knowledge.matcher()
    return app


def wsgi_app() -> Flask:
    """Entry point for gunicorn (``bot.web.app:wsgi_app()``): config from ``$UNIONBOT_CONFIG``."""
    return serving_app(load_config())
