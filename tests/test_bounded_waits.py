"""Bounded waits on the database: statement, lock and pool timeouts, a cap on concurrent calls, and
replies that never wait on a database that does not answer."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_signup_e2e import SignupBot

from bot.config import Config, DatabaseConfig, KnowledgeConfig, StoreConfig, WechatConfig
from bot.registry.bounded import BoundedDatabase, DatabaseBusy, DatabaseDown, DatabaseTimeout
from bot.registry.repository import Registry, RegistryUnavailable, make_engine
from bot.services import Services
from bot.signup.texts import UNAVAILABLE_TEXT
from bot.web.app import create_app
from bot.wechat.simulator import Simulator, flask_transport

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"


# -- the cap on concurrent database work ---------------------------------------------------------

def test_a_call_that_does_not_finish_in_time_raises_and_frees_its_slot_when_done() -> None:
    database = BoundedDatabase(limit=1, busy_wait=0.01, retry_after=0.0)
    release = threading.Event()
    with pytest.raises(DatabaseTimeout):
        database.call(0.01, release.wait)
    assert database.in_flight == 1  # still stuck in the driver: the slot stays taken
    with pytest.raises(DatabaseBusy):  # the only slot is taken: refused after busy_wait, not queued
        database.call(5.0, lambda: "never run")
    release.set()
    for _ in range(200):  # the stuck call ends when the driver gives up; then the slot is free
        if database.in_flight == 0:
            break
        threading.Event().wait(0.01)
    assert database.call(1.0, lambda: "answered") == "answered"


def test_after_a_failure_calls_fail_at_once_until_retry_after_has_passed() -> None:
    now = [100.0]
    database = BoundedDatabase(limit=2, retry_after=3.0, clock=lambda: now[0])
    calls: list[str] = []

    def down() -> None:
        calls.append("down")
        raise RegistryUnavailable("database unavailable: connection refused")

    with pytest.raises(RegistryUnavailable):
        database.call(1.0, down)
    now[0] += 2.9
    with pytest.raises(DatabaseDown, match="connection refused"):
        database.call(1.0, lambda: calls.append("not tried"))
    assert calls == ["down"]
    now[0] += 0.2  # retry_after has passed: the next call is tried again
    assert database.call(1.0, lambda: "back") == "back"


def test_errors_of_the_call_reach_the_caller() -> None:
    database = BoundedDatabase(limit=2)

    def fails() -> None:
        raise RegistryUnavailable("database unavailable: down")

    with pytest.raises(RegistryUnavailable, match="down"):
        database.call(1.0, fails)
    assert database.in_flight == 0


# -- server-side timeouts and the pool ------------------------------------------------------------

def test_postgres_connections_carry_statement_and_lock_timeouts(postgres_url: str) -> None:
    engine = make_engine(postgres_url, statement_timeout_ms=150, lock_timeout_ms=120)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "150ms"
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "120ms"
            assert conn.exec_driver_sql("SHOW search_path").scalar().startswith("t_")  # URL options kept
        registry = Registry(engine)
        with pytest.raises(RegistryUnavailable, match="statement timeout"), registry.session() as s:
            s.execute(sa.text("SELECT pg_sleep(5)"))
    finally:
        engine.dispose()


def test_sqlite_waits_for_a_lock_no_longer_than_the_lock_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", lock_timeout_ms=250)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250
    engine.dispose()


def test_a_request_waits_for_a_pooled_connection_no_longer_than_the_pool_timeout(postgres_url: str) -> None:
    registry = Registry(make_engine(postgres_url, pool_size=1, max_overflow=0, pool_timeout=0.05))
    try:
        # the only connection is taken
        with registry.engine.connect(), pytest.raises(RegistryUnavailable, match="database unavailable"):
            registry.station("ST001")
    finally:
        registry.close()


# -- a database that accepts connections and never answers ----------------------------------------

@pytest.fixture
def silent_database() -> Iterator[str]:
    """A PostgreSQL URL whose server accepts TCP connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"postgresql+psycopg://bot@127.0.0.1:{server.getsockname()[1]}/silent"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def silent_bot(database_url: str) -> tuple[Services, Simulator]:
    config = Config(
        wechat=WechatConfig(token="silent-token"),
        store=StoreConfig(url=f"memory://{uuid.uuid4().hex}"),
        database=DatabaseConfig(url=database_url, lookup_timeout=0.05, write_timeout=0.05, busy_wait=0.01),
        knowledge=KnowledgeConfig(dir=str(KNOWLEDGE), semantic="off"),
    )
    services = Services.from_config(config)
    return services, Simulator(config.wechat, flask_transport(create_app(config, services)))


def test_faq_and_scans_are_answered_while_the_database_never_answers(silent_database: str) -> None:
    services, sim = silent_bot(silent_database)
    assert "会费" in sim.post(sim.text("faq-user", "会费怎么交")).text
    welcome = sim.post(sim.subscribe("scan-user", "join:ST001")).text
    assert "入会" in welcome and "没认出" not in welcome  # the station check is skipped, not waited for
    turn = services.store.begin_turn("scan-user", "read-state")
    assert turn is not None
    services.store.abandon_turn(turn)
    assert turn.state["flow"] == "join"
    assert turn.state["join"]["station"] == {"code": "ST001", "name": ""}  # the code is kept for 确认


def test_a_signup_whose_database_write_cannot_finish_says_later_and_keeps_the_answers(
        tmp_path: Path) -> None:
    bot = SignupBot(tmp_path, f"sqlite:///{tmp_path / 'bot.db'}", f"memory://{uuid.uuid4().hex}", "t:")
    bot.services.config = replace(bot.config, database=replace(bot.config.database, write_timeout=0.05,
                                                               retry_after=0.01))
    try:
        bot.to_summary("frozen-db-user")
        release = threading.Event()
        real_register = bot.registry.register

        def frozen(application):  # the database is frozen until released
            release.wait(10)
            return real_register(application)

        bot.registry.register = frozen
        assert bot.say("frozen-db-user", "确认") == UNAVAILABLE_TEXT
        assert bot.state("frozen-db-user")["join"]["answers"]  # what the worker typed is kept
        release.set()
        bot.registry.register = real_register
        bot.services.config = bot.config  # the database is back: the usual wait again
        assert "提交成功" in bot.say("frozen-db-user", "确认")
        assert len(bot.member_rows()) == 1
    finally:
        bot.close()
