"""The Flask application factory: ``create_app(config)`` is what gunicorn and tests run."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from bot import logs, metrics, redact
from bot.config import Config, load_config
from bot.registry.repository import RegistryUnavailable
from bot.services import Services
from bot.web.webhook import bp as webhook_bp

log = logging.getLogger(__name__)


def create_app(config: Config | None = None, services: Services | None = None) -> Flask:
    """Build the app, its knowledge loaded (and embedded) before the first message: a message must
    never wait for that, WeChat gives up after 5 s. ``services`` lets tests inject a clock, a
    router or a store."""
    config = config or (services.config if services else load_config())
    redact.install(config)  # its secrets stay out of every log line from here on
    services = services or Services.from_config(config)
    if services.knowledge is not None:
        services.knowledge.matcher()
    app = Flask("unionbot")
    app.config["MAX_CONTENT_LENGTH"] = config.wechat.max_body_bytes
    app.extensions["unionbot"] = services
    app.register_blueprint(webhook_bp)
    if config.admin.enabled:
        from bot.web import admin

        admin.init_app(app, config)

    @app.get("/healthz")
    def health() -> Response:
        """Liveness: this process serves requests (what it depends on is /readyz's business)."""
        return Response("ok\n", mimetype="text/plain")

    @app.get("/readyz")
    def ready() -> Response:
        """Readiness: knowledge and embeddings loaded, Redis and the database reachable."""
        checks = readiness(services)
        status = 200 if all(v == "ok" for v in checks.values()) else 503
        return Response(json.dumps(checks, ensure_ascii=False) + "\n", status=status, mimetype="application/json")

    @app.get("/metrics")
    def metrics_page() -> Response:
        allow = config.metrics
        if not metrics.allowed(request.remote_addr, request.headers.get("X-Forwarded-For"), allow.allow,
                               allow.trust_forwarded_for):
            return Response("403 Forbidden\n", status=403, mimetype="text/plain")
        if services.knowledge is not None and services.knowledge.knowledge is not None:
            metrics.knowledge_version(services.knowledge.knowledge.fingerprint)
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    @app.errorhandler(HTTPException)
    def plain_error(exc: HTTPException) -> Response:
        """Errors as one plain line (413 body too large, 404, 405…), never an HTML page."""
        return Response(f"{exc.code} {exc.name}\n", status=exc.code or 500, mimetype="text/plain")

    return app


def readiness(services: Services) -> dict[str, str]:
    """Each dependency's state: "ok", or why not (a short reason, no secrets)."""
    knowledge = services.knowledge
    if knowledge is None or knowledge.knowledge is None:
        faq = "not loaded" + (f": {knowledge.last_error.splitlines()[0]}" if knowledge and knowledge.last_error else "")
    else:
        faq = "ok"  # the matcher, embeddings included, is built before the knowledge is published
    store = "ok" if services.store.ping() else "unreachable"
    try:
        reachable = services.database.call(services.config.database.lookup_timeout, services.registry.ping)
        database = "ok" if reachable else "unreachable"
    except RegistryUnavailable as exc:
        database = str(exc)
    return {"knowledge": faq, "store": store, "database": database}


def wsgi_app() -> Flask:
    """Entry point for gunicorn (``bot.web.app:wsgi_app()``): config from ``$UNIONBOT_CONFIG``."""
    config = load_config()
    logs.configure(config.log)
    return create_app(config)
