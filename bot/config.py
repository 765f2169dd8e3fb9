"""Configuration: one TOML file plus environment overrides, validated once at start-up.

Every key can be overridden by ``UNIONBOT_<SECTION>_<KEY>`` (e.g. ``UNIONBOT_WECHAT_APP_SECRET``),
which is how secrets stay out of the file. A bad value stops start-up with one line that names
the key and the problem (:class:`ConfigError`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, get_type_hints

CONFIG_ENV = "UNIONBOT_CONFIG"
ENV_PREFIX = "UNIONBOT_"
DEFAULTS = "<defaults>"
"""``Config.source`` when no file was read."""


class ConfigError(ValueError):
    """A configuration problem, phrased as ``section.key: what is wrong``."""


@dataclass(frozen=True)
class WechatConfig:
    token: str = "unionbot-dev-token"
    app_id: str = ""
    app_secret: str = ""
    encoding_aes_key: str = ""
    mode: str = "plain"
    timestamp_window: int = 300
    max_body_bytes: int = 65536
    api_base: str = "https://api.weixin.qq.com"
    api_timeout: float = 5.0


@dataclass(frozen=True)
class StoreConfig:
    url: str = "memory://"
    state_ttl: int = 1800
    key_prefix: str = "unionbot:"
    gaps_max_age: int = 90 * 86400
    """Unanswered questions not asked again for this many seconds are forgotten."""
    gaps_max_count: int = 5000
    """At most this many distinct unanswered questions are kept (the least recently asked go first)."""
    gaps_history_max: int = 10_000
    """At most this many records of what staff did with unanswered questions are kept (newest first)."""


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite:///unionbot.db"
    connect_timeout: float = 2.0
    """Seconds to open a connection (PostgreSQL counts whole seconds, at least 2)."""
    statement_timeout_ms: int = 3000
    """Longest statement the server runs for the bot (PostgreSQL ``statement_timeout``)."""
    lock_timeout_ms: int = 2000
    """Longest wait for a row or table lock (PostgreSQL ``lock_timeout``, SQLite busy timeout)."""
    pool_size: int = 4
    """Connections each worker process keeps open (plus ``max_overflow`` under bursts)."""
    max_overflow: int = 4
    pool_timeout: float = 1.0
    """Seconds a request waits for a free pooled connection before giving up."""
    max_concurrent: int = 6
    """Database calls one worker runs at once; more wait ``busy_wait`` seconds, then are refused."""
    busy_wait: float = 0.2
    retry_after: float = 3.0
    """After a database call fails or times out, seconds during which calls fail at once."""
    lookup_timeout: float = 1.5
    """Seconds a message waits for a read (member or station lookup) before answering without it."""
    write_timeout: float = 3.0
    """Seconds a message waits for a write (a signup at 确认) before saying 稍后再试."""


@dataclass(frozen=True)
class KnowledgeConfig:
    dir: str = "knowledge"
    reload_interval: float = 2.0
    semantic: str = "auto"
    """The optional embedding signal: "auto" (use it when installed), "on" (require it), "off"."""
    cache_dir: str = ""
    """Where the FAQ's embeddings are cached on disk ("~" expanded); empty: ``~/.cache/unionbot``."""
    match_memo: int = 4096
    """Distinct questions whose match each worker remembers until the knowledge changes (0: off)."""

    @property
    def semantic_switch(self) -> bool | None:
        """``semantic`` as the matcher takes it: True (require), False (never), None (when installed)."""
        return {"auto": None, "on": True, "off": False}[self.semantic]


@dataclass(frozen=True)
class ServiceConfig:
    union_name: str = "县总工会"
    hotline: str = "12351"
    office_hours: str = "工作日 9:00-12:00，14:00-17:30"
    station_radius_km: float = 50.0
    """A location farther than this from the nearest station is told it is outside the county."""
    reply_deadline: float = 4.0
    """Seconds the webhook waits for a reply before answering WeChat ``success`` (WeChat gives up
    at 5 s); a later reply goes out as a customer-service message or with the next message."""


@dataclass(frozen=True)
class RegistryConfig:
    id_key: str = ""
    """Secret for encrypting ID numbers at rest (urlsafe base64, 32 bytes). Empty: a dev key is
    derived and a warning logged; never leave it empty in production."""
    old_id_keys: tuple[str, ...] = ()
    """Former keys, still accepted for reading while `unionbot members rekey` rotates them."""
    number_prefix: str = "GH"
    timezone: str = "Asia/Shanghai"
    """Local time zone of the union: the year in membership numbers, `--since` dates, listings."""


@dataclass(frozen=True)
class AdminConfig:
    enabled: bool = True
    """Serve the staff console at /admin."""
    secret_key: str = ""
    """Signs the console's session cookie (UNIONBOT_ADMIN_SECRET_KEY). Empty: a random key per
    process and a warning; sessions then end on restart and do not work across workers."""
    secure_cookie: bool = False
    """Send the session cookie over https only: set true whenever the console is behind https."""
    session_hours: int = 8
    max_failed_logins: int = 5
    """Failed logins per user name (and 4x that per address) in 15 minutes before logins pause."""


@dataclass(frozen=True)
class NotifyConfig:
    """Messages the bot starts: application outcomes, staff alerts, member notices."""

    outcome_template: str = ""
    """Template id of the application-outcome message; empty: customer-service message only."""
    outcome_fields: tuple[str, ...] = ("first={title}", "keyword1={name}", "keyword2={result}",
                                       "keyword3={time}", "remark={detail}")
    """``field={placeholder}`` pairs filling the template's fields."""
    staff_template: str = ""
    staff_fields: tuple[str, ...] = ("first={title}", "keyword1={subject}", "keyword2={time}", "remark={detail}")
    notice_template: str = ""
    notice_fields: tuple[str, ...] = ("first={title}", "keyword1={union}", "keyword2={time}", "remark={text}")
    console_url: str = ""
    """The console's public address (e.g. https://gh.example.cn), for links in staff alerts."""
    staff_openids: tuple[str, ...] = ()
    """Openids that get staff alerts besides the staff accounts that bound their WeChat."""
    staff_digest_minutes: int = 10
    duty_days: str = "1-5"
    """ISO weekdays someone answers 人工 requests (1 = Monday), e.g. "1-5" or "1-5,7"."""
    duty_hours: tuple[str, ...] = ("09:00-12:00", "14:00-17:30")
    review_days: int = 3
    """Promised review time; reviewers get a daily summary while applications wait longer."""
    summary_time: str = "09:00"
    daily_quota: int = 100000
    """Template messages the account may send a day (WeChat's quota for the account)."""
    send_rate: float = 20.0
    """Messages a second a member notice is sent at."""


@dataclass(frozen=True)
class MetricsConfig:
    allow: tuple[str, ...] = ()
    """Addresses or networks (CIDR) besides loopback that may read ``/metrics``."""
    trust_forwarded_for: bool = False
    """Take the client address from X-Forwarded-For (only behind a proxy that sets it itself)."""


@dataclass(frozen=True)
class LogConfig:
    format: str = "text"
    """"text" (one readable line) or "json" (one JSON object a line, with request id and masked user)."""
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    wechat: WechatConfig = field(default_factory=WechatConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    log: LogConfig = field(default_factory=LogConfig)
    source: str = DEFAULTS


MODES = ("plain", "compatible", "safe")


def load_config(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (or ``$UNIONBOT_CONFIG``, or built-in defaults) and apply env overrides."""
    environ = os.environ if environ is None else environ
    path = path or environ.get(CONFIG_ENV) or None
    raw: dict[str, Any] = {}
    source = DEFAULTS
    if path:
        p = Path(path)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {p}: not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {p}: not valid TOML ({exc})") from None
        source = str(p)
    config = _build(Config, raw, "")
    config = _apply_env(config, environ)
    _validate(config)
    return replace(config, source=source)


def _build(cls: type, raw: Mapping[str, Any], prefix: str) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.name != "source"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{prefix}{key}: unknown key")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in raw:
            continue
        value = raw[f.name]
        kind = hints[f.name]
        if is_dataclass(kind):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{prefix}{f.name}: must be a table [{f.name}]")
            values[f.name] = _build(kind, value, f"{prefix}{f.name}.")
        else:
            values[f.name] = _coerce(value, kind, f"{prefix}{f.name}")
    return cls(**values)


def _coerce(value: Any, kind: Any, name: str) -> Any:
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}: must be a string")
        return value
    if kind is bool:
        if isinstance(value, str):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: must be true or false")
        return value
    if kind in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{name}: must be a number")
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: must be a number, got {value!r}") from None
    if kind == tuple[str, ...]:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name}: must be a list of strings")
        return tuple(value)
    raise ConfigError(f"{name}: unsupported type")  # pragma: no cover - guards new fields


def _apply_env(config: Config, environ: Mapping[str, str]) -> Config:
    hints = get_type_hints(Config)
    for section in fields(Config):
        if section.name == "source":
            continue
        part = getattr(config, section.name)
        part_hints = get_type_hints(hints[section.name])
        changes = {}
        for f in fields(part):
            env_name = f"{ENV_PREFIX}{section.name}_{f.name}".upper()
            if env_name in environ:
                changes[f.name] = _coerce(environ[env_name], part_hints[f.name], f"{env_name}")
        if changes:
            config = replace(config, **{section.name: replace(part, **changes)})
    return config


def _validate(config: Config) -> None:
    w = config.wechat
    if w.mode not in MODES:
        raise ConfigError(f"wechat.mode: must be one of {', '.join(MODES)}, got {w.mode!r}")
    if not w.token:
        raise ConfigError("wechat.token: must not be empty (it signs every message)")
    if w.mode in ("compatible", "safe"):
        if len(w.encoding_aes_key) != 43:
            raise ConfigError(f"wechat.encoding_aes_key: must be 43 characters in {w.mode} mode")
        if not w.app_id:
            raise ConfigError(f"wechat.app_id: required in {w.mode} mode")
    if bool(w.app_id) != bool(w.app_secret) and w.mode == "plain":
        raise ConfigError("wechat.app_secret: app_id and app_secret go together")
    if not config.service.station_radius_km > 0:
        raise ConfigError("service.station_radius_km: must be a positive number of kilometres")
    if w.timestamp_window <= 0:
        raise ConfigError("wechat.timestamp_window: must be a positive number of seconds")
    if w.max_body_bytes < 1024:
        raise ConfigError("wechat.max_body_bytes: must be at least 1024")
    if not config.store.url.startswith(("memory://", "redis://", "rediss://", "unix://")):
        raise ConfigError(f"store.url: must start with memory://, redis:// or rediss://, got {config.store.url!r}")
    if config.store.state_ttl <= 0:
        raise ConfigError("store.state_ttl: must be a positive number of seconds")
    if config.store.gaps_max_age <= 0:
        raise ConfigError("store.gaps_max_age: must be a positive number of seconds")
    if config.store.gaps_max_count <= 0:
        raise ConfigError("store.gaps_max_count: must be a positive number of questions")
    if config.store.gaps_history_max <= 0:
        raise ConfigError("store.gaps_history_max: must be a positive number of records")
    if "://" not in config.database.url:
        raise ConfigError(f"database.url: not a database URL: {config.database.url!r}")
    if not 0 < config.service.reply_deadline <= 4.5:
        raise ConfigError("service.reply_deadline: must be between 0 and 4.5 seconds (WeChat waits 5 s)")
    d = config.database
    for name in ("connect_timeout", "pool_timeout", "busy_wait", "retry_after", "lookup_timeout", "write_timeout"):
        if getattr(d, name) <= 0:
            raise ConfigError(f"database.{name}: must be a positive number of seconds")
    for name in ("statement_timeout_ms", "lock_timeout_ms", "pool_size", "max_concurrent"):
        if getattr(d, name) < 1:
            raise ConfigError(f"database.{name}: must be at least 1")
    if d.max_overflow < 0:
        raise ConfigError("database.max_overflow: must be 0 or more")
    for entry in config.metrics.allow:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(f"metrics.allow: not an address or network: {entry!r}") from None
    if config.log.format not in ("text", "json"):
        raise ConfigError(f"log.format: must be text or json, got {config.log.format!r}")
    if config.log.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"log.level: must be DEBUG, INFO, WARNING or ERROR, got {config.log.level!r}")
    if config.knowledge.semantic not in ("auto", "on", "off"):
        raise ConfigError(f"knowledge.semantic: must be auto, on or off, got {config.knowledge.semantic!r}")
    if config.knowledge.match_memo < 0:
        raise ConfigError("knowledge.match_memo: must be 0 (off) or a positive number of questions")
    if config.knowledge.reload_interval <= 0:
        raise ConfigError("knowledge.reload_interval: must be positive")
    if config.admin.secret_key and len(config.admin.secret_key) < 32:
        raise ConfigError("admin.secret_key: must be at least 32 characters (or empty for a random dev key)")
    if config.admin.session_hours <= 0 or config.admin.max_failed_logins <= 0:
        raise ConfigError("admin.session_hours and admin.max_failed_logins: must be positive")
    _validate_keys(config.registry)
    _validate_notify(config.notify)


def _validate_keys(r: RegistryConfig) -> None:
    """A bad key stops every command at start-up with one line, not deep inside the first one
    that encrypts."""
    from bot.signup.privacy import KeyConfigError, decode_secret

    named = [("registry.id_key", r.id_key)] if r.id_key else []
    named += [(f"registry.old_id_keys[{i}]", key) for i, key in enumerate(r.old_id_keys)]
    try:
        for name, key in named:
            decode_secret(key, name)
    except KeyConfigError as exc:
        raise ConfigError(str(exc)) from None


_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


PLACEHOLDERS = {
    "outcome_fields": ("title", "name", "result", "time", "detail", "number"),
    "staff_fields": ("title", "subject", "time", "detail"),
    "notice_fields": ("title", "union", "time", "text"),
}
"""What each ``notify.*_fields`` list may fill a template field with."""


def _validate_notify(n: NotifyConfig) -> None:
    for name, known in PLACEHOLDERS.items():
        for pair in getattr(n, name):
            if "=" not in pair or not pair.split("=", 1)[0].strip():
                raise ConfigError(f"notify.{name}: {pair!r} is not field={{placeholder}}")
            unknown = set(re.findall(r"\{(\w+)\}", pair)) - set(known)
            if unknown:
                raise ConfigError(f"notify.{name}: {pair!r} uses {', '.join(sorted(unknown))}; "
                                  f"placeholders are {', '.join(known)}")
    if not re.fullmatch(r"[1-7](-[1-7])?(,[1-7](-[1-7])?)*", n.duty_days.replace(" ", "")):
        raise ConfigError(f"notify.duty_days: ISO weekdays like \"1-5\" or \"1-5,7\", got {n.duty_days!r}")
    for span in n.duty_hours:
        start, _, end = span.partition("-")
        if not (_CLOCK.fullmatch(start.strip()) and _CLOCK.fullmatch(end.strip()) and start.strip() < end.strip()):
            raise ConfigError(f"notify.duty_hours: {span!r} is not a span like \"09:00-12:00\"")
    if not _CLOCK.fullmatch(n.summary_time):
        raise ConfigError(f"notify.summary_time: a time like \"09:00\", got {n.summary_time!r}")
    if n.console_url and not n.console_url.startswith(("https://", "http://")):
        raise ConfigError(f"notify.console_url: must start with https:// or http://, got {n.console_url!r}")
    for name in ("staff_digest_minutes", "review_days", "daily_quota"):
        if getattr(n, name) < 1:
            raise ConfigError(f"notify.{name}: must be at least 1")
    if not n.send_rate > 0:
        raise ConfigError("notify.send_rate: must be a positive number of messages a second")
