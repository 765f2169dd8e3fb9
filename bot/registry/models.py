"""The registry's schema: SQLAlchemy models, the engine settings each backend needs, and the
Alembic configuration of the packaged migrations (``bot/registry/migrations``).

The schema is owned by those migrations (``unionbot db upgrade``); the models here must match them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

STATUSES = ("pending", "approved", "rejected", "withdrawn", "erased")
"""``withdrawn``: left the union (退会); ``erased``: personal data deleted on request (an anonymised
row and the audit trail remain)."""
STATUS_LABELS = {"pending": "待审核", "approved": "审核通过", "rejected": "审核未通过", "withdrawn": "已退会",
                 "erased": "已删除个人信息"}
GENDER_LABELS = {"male": "男", "female": "女"}
ROLES = ("admin", "reviewer", "editor")
"""Staff roles in the console: admin (everything), reviewer (applications and members), editor
(stations and read-only pages)."""
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
UTC = dt.UTC

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# -- models --------------------------------------------------------------------------------------


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones: stored naive UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the registry; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Station(Base):
    """A worker station (职工驿站); the source of truth is ``knowledge/stations.yaml``."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    latitude: Mapped[float] = mapped_column(sa.Float)
    longitude: Mapped[float] = mapped_column(sa.Float)
    hours: Mapped[str] = mapped_column(sa.String(100), default="")
    union_name: Mapped[str] = mapped_column(sa.String(100), default="")
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Member(Base):
    """One worker's membership application and, once approved, membership."""

    __tablename__ = "members"
    __table_args__ = (sa.CheckConstraint(
        "status IN ('pending', 'approved', 'rejected', 'withdrawn', 'erased')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    """Membership number, e.g. GH2026000123: prefix + local year + the row id (never reused)."""
    openid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    phone: Mapped[str] = mapped_column(sa.String(20))
    id_cipher: Mapped[str] = mapped_column(sa.Text)
    id_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    id_masked: Mapped[str] = mapped_column(sa.String(24))
    birth_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    gender: Mapped[str] = mapped_column(sa.String(8), default="")
    occupation: Mapped[str] = mapped_column(sa.String(50), default="")
    employer: Mapped[str] = mapped_column(sa.String(100), default="")
    station_code: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    """No foreign key on purpose: a poster may be scanned before its station is imported, and a
    scan during a database outage keeps its code unchecked (posters are made only for stations)."""
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class SignupEvent(Base):
    """Audit trail: submitted, approved, rejected, notified, exported_full, rekeyed…"""

    __tablename__ = "signup_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(sa.String(32))
    actor: Mapped[str] = mapped_column(sa.String(64))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    """Free text for people; never plain personal data."""
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class StaffUser(Base):
    """A console account. Only a password hash is kept (werkzeug's scrypt)."""

    __tablename__ = "staff_users"
    __table_args__ = (sa.CheckConstraint("role IN ('admin', 'reviewer', 'editor')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.Text)
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    wechat_openid: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    """The WeChat account this staff member bound (with a one-time code) to get staff alerts."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class StaffEvent(Base):
    """Audit trail of console actions that concern no single member: logins, exports, imports."""

    __tablename__ = "staff_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    """Free text for people; never plain personal data."""
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


NOTICE_STATUSES = ("pending", "sending", "sent", "waiting", "shown", "failed", "skipped")
"""``waiting``: WeChat took neither a template nor a customer-service message; shown before the
person's next reply (then ``shown``). ``skipped``: not sent on purpose (the member opted out)."""


class Broadcast(Base):
    """A notice staff send to a selection of approved members (送清凉, 金秋助学, a new station…)."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100))
    text: Mapped[str] = mapped_column(sa.Text)
    audience: Mapped[str] = mapped_column(sa.Text)
    """The selection as JSON, e.g. ``{"station": "A01"}``, ``{"occupation": "外卖骑手"}``, ``{"all": true}``."""
    created_by: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")
    total: Mapped[int] = mapped_column(sa.Integer, default=0)
    sent: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Notice(Base):
    """One message the bot starts to one person, and what became of it: the outbox.

    ``key`` makes sending idempotent: the same notice (an approval, a digest, one recipient of a
    broadcast) is written once however often it is asked for, and sent once.
    """

    __tablename__ = "notices"
    __table_args__ = (sa.Index("ix_notices_openid_status", "openid", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(128), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    """outcome (of an application), staff_alert, member_notice…"""
    openid: Mapped[str] = mapped_column(sa.String(64))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id", ondelete="SET NULL"), index=True)
    broadcast_id: Mapped[int | None] = mapped_column(sa.ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    """The whole message as a customer-service text or as shown before the next reply."""
    template: Mapped[str] = mapped_column(sa.String(64), default="")
    fields: Mapped[str] = mapped_column(sa.Text, default="{}")
    """The template's fields, as JSON; never plain personal numbers."""
    url: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    channel: Mapped[str] = mapped_column(sa.String(24), default="")
    """template, customer_service or next_message once delivered."""
    msgid: Mapped[str] = mapped_column(sa.String(64), default="")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    """While ``sending``: when the claim of the process sending it lapses (it died) and another may."""
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class NoticeOptOut(Base):
    """Someone who replied 退订: no member notices until they reply 订阅 (outcomes still arrive)."""

    __tablename__ = "notice_optouts"

    openid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# -- engine and migrations ----------------------------------------------------------------------


def make_engine(url: str, connect_timeout: float = 5.0, *, statement_timeout_ms: int | None = None,
                lock_timeout_ms: int | None = None, **kwargs: Any) -> sa.Engine:
    """An engine with the settings the registry needs on each backend.

    ``statement_timeout_ms`` and ``lock_timeout_ms`` bound what the server does for one statement
    (PostgreSQL settings sent at connect); on SQLite the lock timeout is the busy timeout. Pool
    options (``pool_size``, ``max_overflow``, ``pool_timeout``) pass through to SQLAlchemy.
    """
    url_obj = sa.engine.make_url(url)
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if url_obj.get_backend_name() == "sqlite":
        busy = lock_timeout_ms / 1000 if lock_timeout_ms else max(connect_timeout, 15.0)
        connect_args.setdefault("timeout", busy)
        connect_args.setdefault("check_same_thread", False)
        if url_obj.database in (None, "", ":memory:"):  # a single-connection pool: no pool options
            kwargs = {k: v for k, v in kwargs.items() if k not in ("pool_size", "max_overflow", "pool_timeout")}
    elif url_obj.get_backend_name() == "postgresql":
        connect_args.setdefault("connect_timeout", max(1, int(connect_timeout)))
        settings = [f"-c {name}={value}" for name, value in (("statement_timeout", statement_timeout_ms),
                                                              ("lock_timeout", lock_timeout_ms)) if value]
        if settings:  # added to any options already in the URL (e.g. a search_path)
            options = " ".join([str(url_obj.query.get("options", "")), *settings]).strip()
            url_obj = url_obj.difference_update_query(["options"])
            connect_args["options"] = options
    engine = sa.create_engine(url_obj, pool_pre_ping=True, connect_args=connect_args, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_ms=int(connect_args["timeout"] * 1000),
                          wal=url_obj.database not in (None, "", ":memory:"))
    return engine


def _configure_sqlite(engine: sa.Engine, busy_ms: int, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we send BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if wal:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers take the write lock up front, so two writers queue (busy_timeout) instead of
        # one failing when it upgrades a read lock; readers never block in WAL mode.
        immediate = conn.get_execution_options().get("unionbot_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def quiet_alembic() -> Iterator[None]:
    """Alembic's INFO lines are noise in `unionbot db upgrade`; keep them for --verbose."""
    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    if not alembic_log.isEnabledFor(logging.DEBUG):
        alembic_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alembic_log.setLevel(level)


def alembic_config(url: str) -> Any:
    """An Alembic config for the packaged migrations; no alembic.ini needed."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrations_head() -> str:
    """The newest packaged migration: the revision `unionbot db upgrade` brings a database to."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "no packaged migrations"
    return head
