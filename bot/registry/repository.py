"""The member registry: stations, members and the audit trail of every signup decision.

Over SQLite (the default, one file) or PostgreSQL (production); the models and the engine
settings are in :mod:`bot.registry.models`.

Personal data: the ID number is stored only encrypted (``id_cipher``) plus a keyed hash
(``id_hash``, for duplicate checks) and its masked form (``id_masked``, for listings); see
:mod:`bot.signup.privacy`. Nothing returned by this module carries the plain ID number unless a caller
asks for ``full=True`` (a full export), and every such export is written to the audit trail.

Concurrency: :meth:`Registry.register` is idempotent and race-safe. It relies on the unique
constraints (openid, id_hash, number); a writer that loses a race gets an IntegrityError, rolls
back and re-reads. The member row and its audit event are written in one transaction.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from bot.registry.models import (
    STATUSES,
    UTC,
    Base,
    Member,
    SignupEvent,
    Station,
    alembic_config,
    make_engine,
    quiet_alembic,
)
from bot.signup.privacy import IdCipher, mask_id_number, mask_name, mask_phone, normalize_id_number

log = logging.getLogger(__name__)

# -- errors --------------------------------------------------------------------------------------


class RegistryError(RuntimeError):
    """Base class of everything the registry raises on purpose."""


class RegistryUnavailable(RegistryError):
    """The database cannot be used right now (down, unreachable, schema missing): retry later."""


class MemberNotFound(RegistryError, LookupError):
    """No member has that membership number."""


class InvalidTransition(RegistryError):
    """The requested status change is not allowed (e.g. rejecting an approved member)."""


Decided = Callable[[Session, dict[str, Any]], None]
"""Run in a decision's transaction with the member as decided (``decision_id``: its audit entry)."""


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterResult:
    member: dict[str, Any] | None
    """The member (new or existing) for this openid; None on a conflict."""
    created: bool = False
    """True when this call wrote the application (a new one, or a rejected one resubmitted)."""
    conflict: str | None = None
    """``id_taken``: another WeChat account already registered this ID number."""
    existing_number: str | None = None
    """On ``id_taken``: that membership number (nothing else about the other account)."""


@dataclass
class StationSyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class RekeyReport:
    rekeyed: int = 0
    current: int = 0
    failed: list[str] = field(default_factory=list)
    """Membership numbers whose ID number no configured key can decrypt."""


# -- the registry --------------------------------------------------------------------------------


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name == "Asia/Shanghai":
            return dt.timezone(dt.timedelta(hours=8), "CST")
        raise RegistryError(f"registry.timezone: unknown time zone {name!r}") from None


def _describe(exc: sa_exc.DBAPIError) -> str:
    text = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0] if str(exc) else repr(exc)
    lowered = text.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return f"database schema missing or out of date ({text}); run `unionbot db upgrade`"
    if "unable to open database file" in lowered:
        return f"database unavailable: {text} (does the SQLite file's directory exist and is it writable?)"
    return f"database unavailable: {text}"


class Registry:
    """Members, stations and the audit trail, over one SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine, cipher: IdCipher | None = None, number_prefix: str = "GH",
                 timezone: str = "Asia/Shanghai", clock: Callable[[], dt.datetime] | None = None) -> None:
        self.engine = engine
        self._write_engine = engine.execution_options(unionbot_write=True)
        self.cipher = cipher or IdCipher()
        self.number_prefix = number_prefix
        self.tz = _zone(timezone)
        self._clock = clock or (lambda: dt.datetime.now(UTC))
        self._sessions = sessionmaker(expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str, cipher: IdCipher | None = None, *, connect_timeout: float = 5.0,
                 engine_options: Mapping[str, Any] | None = None, **kwargs: Any) -> Registry:
        return cls(make_engine(url, connect_timeout=connect_timeout, **(engine_options or {})), cipher, **kwargs)

    @classmethod
    def from_config(cls, config: Any, clock: Callable[[], dt.datetime] | None = None,
                    connect_timeout: float = 5.0, engine_options: Mapping[str, Any] | None = None) -> Registry:
        """From a :class:`bot.config.Config` (database.url and the registry section)."""
        reg = config.registry
        return cls.from_url(
            config.database.url, IdCipher(reg.id_key, reg.old_id_keys), connect_timeout=connect_timeout,
            engine_options=engine_options, number_prefix=reg.number_prefix, timezone=reg.timezone, clock=clock,
        )

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ----------------------------------------------------------------------------------

    def upgrade(self, revision: str = "head") -> None:
        """Run the Alembic migrations up to ``revision`` (what ``unionbot db upgrade`` does)."""
        with quiet_alembic():
            from alembic import command

            cfg = alembic_config(self.engine.url.render_as_string(hide_password=False))
            with self._guard(), self._write_engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)

    def current_revision(self) -> str | None:
        with quiet_alembic():
            from alembic.runtime.migration import MigrationContext

            with self._guard(), self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()

    def create_schema(self) -> None:
        """Create the tables straight from the models (throwaway databases only; use upgrade)."""
        with self._guard():
            Base.metadata.create_all(self._write_engine)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except sa_exc.SQLAlchemyError:
            return False

    # -- sessions --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn driver-level failures into :class:`RegistryUnavailable`; integrity errors pass."""
        try:
            yield
        except sa_exc.IntegrityError:
            raise
        except sa_exc.DBAPIError as exc:
            raise RegistryUnavailable(_describe(exc)) from exc
        except sa_exc.TimeoutError as exc:  # connection pool exhausted
            raise RegistryUnavailable(f"database unavailable: {exc}") from exc

    @contextlib.contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """A session for the registry's modules; ``write`` locks up front (SQLite) and commits."""
        with self._guard(), self._sessions(bind=self._write_engine if write else self.engine) as session:
            if write:
                with session.begin():
                    yield session
            else:
                yield session

    def now(self) -> dt.datetime:
        """The registry's clock (aware UTC), which tests replace."""
        now = self._clock()
        return now if now.tzinfo else now.replace(tzinfo=UTC)

    # -- members ---------------------------------------------------------------------------------

    def register(self, application: Mapping[str, Any], actor: str = "worker") -> RegisterResult:
        """Record a membership application; idempotent per openid, one member per ID number.

        ``application``: openid, name, phone, id_number, birth_date (ISO date), gender,
        occupation, employer, station_code, and optionally consents (``{"what", "at": epoch
        seconds, "notice": digest}`` each, recorded in the audit trail as ``consented_<what>``
        at the time given). Raises ``ValueError`` for a missing field and
        :class:`RegistryUnavailable` when the database cannot be reached.
        """
        app = _clean_application(application)
        hashes = self.cipher.all_hashes(app["id_number"])
        for _attempt in range(5):
            try:
                with self.session(write=True) as s:
                    # one statement, one snapshot: two separate lookups could straddle a concurrent
                    # commit of this very openid and mistake it for another account's ID number
                    found = s.scalars(sa.select(Member).where(
                        sa.or_(Member.openid == app["openid"], Member.id_hash.in_(hashes))).with_for_update()).all()
                    existing = next((m for m in found if m.openid == app["openid"]), None)
                    others = [m for m in found if m.openid != app["openid"]]
                    resubmitting = existing is not None and existing.status in ("rejected", "withdrawn")
                    if existing is not None and not resubmitting:
                        return RegisterResult(self._to_dict(s, existing), created=False)
                    if others:
                        return RegisterResult(None, conflict="id_taken", existing_number=others[0].number)
                    if resubmitting:
                        return RegisterResult(self._resubmit(s, existing, app, hashes[0], actor), created=True)
                    now = self.now()
                    member = Member(
                        openid=app["openid"], name=app["name"], phone=app["phone"],
                        id_cipher=self.cipher.encrypt(app["id_number"]), id_hash=hashes[0],
                        id_masked=mask_id_number(app["id_number"]), birth_date=app["birth_date"],
                        gender=app["gender"], occupation=app["occupation"], employer=app["employer"],
                        station_code=app["station_code"], status="pending", reason="",
                        created_at=now, updated_at=now,
                    )
                    s.add(member)
                    s.flush()
                    member.number = self._number(now, member.id)
                    _add_application_events(s, member, app, actor, "submitted", now)
                    s.flush()
                    result = RegisterResult(self._to_dict(s, member), created=True)
                return result
            except sa_exc.IntegrityError:
                # Lost a race with an identical (or conflicting) registration: read what won.
                log.info("registration race for one openid/ID number; re-reading")
                continue
        raise RegistryError("registration kept colliding with concurrent writes; try again")

    def _resubmit(self, s: Session, member: Member, app: Mapping[str, Any], id_hash: str, actor: str) -> dict[str, Any]:
        """A rejected (or withdrawn) applicant applies again: corrected answers, back to pending, same number."""
        now = self.now()
        member.name, member.phone = app["name"], app["phone"]
        member.id_cipher, member.id_hash = self.cipher.encrypt(app["id_number"]), id_hash
        member.id_masked = mask_id_number(app["id_number"])
        member.birth_date, member.gender = app["birth_date"], app["gender"]
        member.occupation, member.employer = app["occupation"], app["employer"]
        member.station_code = app["station_code"] or member.station_code
        member.status, member.reason, member.updated_at = "pending", "", now
        _add_application_events(s, member, app, actor, "resubmitted", now)
        s.flush()
        return self._to_dict(s, member)

    def _number(self, created_at: dt.datetime, row_id: int) -> str:
        return f"{self.number_prefix}{created_at.astimezone(self.tz).year}{row_id:06d}"

    def find_by_openid(self, openid: str) -> dict[str, Any] | None:
        """The member for a WeChat user (masked; never the plain ID number), or None."""
        with self.session() as s:
            member = s.scalar(sa.select(Member).where(Member.openid == openid))
            return None if member is None else self._to_dict(s, member)

    def id_number_taken(self, id_number: str, openid: str) -> bool:
        """Whether another WeChat account than ``openid`` applied with this ID number (keyed hash)."""
        with self.session() as s:
            return s.scalar(sa.select(Member.id).where(
                Member.id_hash.in_(self.cipher.all_hashes(normalize_id_number(id_number))),
                Member.openid != openid).limit(1)) is not None

    def record_reused_id_number(self, id_number: str, openid: str, actor: str = "worker") -> None:
        """Note on the holder's audit trail that another account typed their ID number at signup (the
        detail names that account by the end of its openid only)."""
        with self.session(write=True) as s:
            holders = s.scalars(sa.select(Member).where(
                Member.id_hash.in_(self.cipher.all_hashes(normalize_id_number(id_number))),
                Member.openid != openid)).all()
            for member in holders:
                s.add(SignupEvent(member_id=member.id, action="id_number_reused", actor=actor,
                                  detail=f"另一微信号（…{openid[-6:]}）入会时输入了此身份证号", at=self.now()))

    def get(self, number: str, *, openid: bool = False, full: bool = False) -> dict[str, Any]:
        with self.session() as s:
            return self._to_dict(s, self._by_number(s, number), openid=openid, full=full)

    def _filters(self, status: str | None, station: str | None, since: Any) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if status:
            if status not in STATUSES:
                raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
            where.append(Member.status == status)
        if station:
            where.append(Member.station_code == station)
        if since is not None:
            where.append(Member.created_at >= self._as_instant(since))
        return where

    def _as_instant(self, since: Any) -> dt.datetime:
        if isinstance(since, str):
            since = dt.date.fromisoformat(since)
        if isinstance(since, dt.datetime):
            return since if since.tzinfo else since.replace(tzinfo=self.tz)
        if isinstance(since, dt.date):
            return dt.datetime.combine(since, dt.time(), tzinfo=self.tz)
        raise ValueError(f"since: not a date: {since!r}")

    def count_members(self, status: str | None = None, station: str | None = None, since: Any = None) -> int:
        with self.session() as s:
            query = sa.select(sa.func.count()).select_from(Member).where(*self._filters(status, station, since))
            return int(s.scalar(query) or 0)

    def iter_members(
        self, status: str | None = None, station: str | None = None, since: Any = None, *,
        openid: bool = False, full: bool = False, batch: int = 500,
    ) -> Iterator[dict[str, Any]]:
        """Members oldest first, streamed in batches (for exports of any size)."""
        where = self._filters(status, station, since)
        last_id = 0
        while True:
            with self.session() as s:
                rows = s.execute(
                    sa.select(Member, Station.name)
                    .outerjoin(Station, Station.code == Member.station_code)
                    .where(Member.id > last_id, *where)
                    .order_by(Member.id)
                    .limit(batch)
                ).all()
                items = [self._as_dict(m, sname, openid=openid, full=full) | {"_id": m.id} for m, sname in rows]
            if not items:
                return
            for item in items:
                last_id = item.pop("_id")
                yield item
            if len(items) < batch:
                return

    def list_members(self, status: str | None = None, station: str | None = None, since: Any = None, *,
                     openid: bool = False, full: bool = False) -> list[dict[str, Any]]:
        return list(self.iter_members(status, station, since, openid=openid, full=full))

    def approve(self, number: str, actor: str, reason: str | None = None, then: Decided | None = None) -> dict[str, Any]:
        """Approve an application. Returns the member (with openid, ``changed``) for the notice."""
        return self._decide(number, "approved", actor, (reason or "").strip(), then)

    def reject(self, number: str, actor: str, reason: str, then: Decided | None = None) -> dict[str, Any]:
        """Reject an application; the reason is shown to the worker, so it must be given."""
        if not reason or not reason.strip():
            raise ValueError("不通过需要填写原因（会告诉申请人）")
        return self._decide(number, "rejected", actor, reason.strip(), then)

    def _decide(self, number: str, status: str, actor: str, reason: str, then: Decided | None) -> dict[str, Any]:
        with self.session(write=True) as s:
            member = self._by_number(s, number, lock=True)
            if member.status == status:
                return self._to_dict(s, member, openid=True) | {"changed": False}
            if status == "rejected" and member.status == "approved":
                raise InvalidTransition(f"{member.number} 已审核通过，不能再改为不通过")
            now = self.now()
            member.status, member.reason, member.updated_at = status, reason, now
            s.add(event := SignupEvent(member_id=member.id, action=status, actor=actor, detail=reason, at=now))
            s.flush()
            decided = self._to_dict(s, member, openid=True) | {"changed": True, "decision_id": event.id}
            if then is not None:
                then(s, decided)
            return decided

    def record_event(self, number: str, action: str, actor: str, detail: str = "") -> None:
        """Add an entry to a member's audit trail (e.g. ``notified`` after the worker was told)."""
        with self.session(write=True) as s:
            member = self._by_number(s, number)
            s.add(SignupEvent(member_id=member.id, action=action, actor=actor, detail=detail, at=self.now()))

    def record_export(self, numbers: Sequence[str], actor: str, detail: str = "", batch: int = 500) -> None:
        """Note a full (unmasked) export in the audit trail of every member it contained."""
        now = self.now()
        for start in range(0, len(numbers), batch):
            chunk = list(numbers[start:start + batch])
            with self.session(write=True) as s:
                ids = s.scalars(sa.select(Member.id).where(Member.number.in_(chunk))).all()
                if ids:
                    s.execute(sa.insert(SignupEvent), [
                        {"member_id": i, "action": "exported_full", "actor": actor, "detail": detail, "at": now}
                        for i in ids
                    ])

    def events(self, number: str) -> list[dict[str, Any]]:
        """A member's audit trail, oldest first."""
        with self.session() as s:
            member = self._by_number(s, number)
            rows = s.scalars(
                sa.select(SignupEvent).where(SignupEvent.member_id == member.id).order_by(SignupEvent.id)
            ).all()
            return [{"action": e.action, "actor": e.actor, "detail": e.detail, "at": e.at.isoformat()} for e in rows]

    def rekey(self, batch: int = 200, actor: str = "rekey") -> RekeyReport:
        """Re-encrypt every ID number with the current key and recompute its hash.

        Safe to interrupt and run again: rows already on the current key are left alone.
        """
        report = RekeyReport()
        last_id = 0
        while True:
            with self.session(write=True) as s:
                members = s.scalars(
                    sa.select(Member).where(Member.id > last_id).order_by(Member.id).limit(batch)
                ).all()
                for m in members:
                    last_id = m.id
                    try:
                        plain = self.cipher.decrypt(m.id_cipher)
                    except ValueError:
                        report.failed.append(m.number or f"#{m.id}")
                        continue
                    new_hash = self.cipher.hash(plain)
                    if self.cipher.is_current(m.id_cipher) and m.id_hash == new_hash:
                        report.current += 1
                        continue
                    m.id_cipher, m.id_hash = self.cipher.encrypt(plain), new_hash
                    s.add(SignupEvent(member_id=m.id, action="rekeyed", actor=actor, detail="", at=self.now()))
                    report.rekeyed += 1
            if len(members) < batch:
                return report

    # -- stations --------------------------------------------------------------------------------

    def sync_stations(self, stations: Iterable[Mapping[str, Any]]) -> StationSyncReport:
        """Make the active stations exactly ``stations`` (by code); others are deactivated."""
        report = StationSyncReport()
        fields = ("name", "address", "latitude", "longitude", "hours", "union_name")
        with self.session(write=True) as s:
            existing = {st.code: st for st in s.scalars(sa.select(Station))}
            now = self.now()
            seen: set[str] = set()
            for item in stations:
                code = item["code"]
                seen.add(code)
                row = existing.get(code)
                values = {f: item.get(f, "" if f not in ("latitude", "longitude") else None) for f in fields}
                if row is None:
                    s.add(Station(code=code, active=True, updated_at=now, **values))
                    report.added.append(code)
                    continue
                differs = any(getattr(row, f) != values[f] for f in fields) or not row.active
                if differs:
                    for f in fields:
                        setattr(row, f, values[f])
                    row.active, row.updated_at = True, now
                    report.changed.append(code)
                else:
                    report.unchanged.append(code)
            for code, row in existing.items():
                if code not in seen and row.active:
                    row.active, row.updated_at = False, now
                    report.removed.append(code)
        return report

    def station(self, code: str) -> dict[str, Any] | None:
        """A station by code, active or not (``active`` says which), or None."""
        with self.session() as s:
            row = s.scalar(sa.select(Station).where(Station.code == code))
            return None if row is None else _station_dict(row)

    def stations(self, active_only: bool = True, codes: Iterable[str] | None = None) -> list[dict[str, Any]]:
        with self.session() as s:
            query = sa.select(Station).order_by(Station.code)
            if active_only:
                query = query.where(Station.active.is_(True))
            if codes is not None:
                query = query.where(Station.code.in_(list(codes)))
            return [_station_dict(row) for row in s.scalars(query)]

    # -- helpers ---------------------------------------------------------------------------------

    def _by_number(self, s: Session, number: str, lock: bool = False) -> Member:
        query = sa.select(Member).where(Member.number == (number or "").strip().upper())
        if lock:
            query = query.with_for_update()
        member = s.scalar(query)
        if member is None:
            raise MemberNotFound(f"没有会员编号 {number}")
        return member

    def _to_dict(self, s: Session, m: Member, *, openid: bool = False, full: bool = False) -> dict[str, Any]:
        station_name = None
        if m.station_code:
            station_name = s.scalar(sa.select(Station.name).where(Station.code == m.station_code))
        return self._as_dict(m, station_name, openid=openid, full=full)

    def _as_dict(self, m: Member, station_name: str | None, *, openid: bool, full: bool) -> dict[str, Any]:
        d: dict[str, Any] = {
            "number": m.number,
            "status": m.status,
            "reason": m.reason or "",
            "name": m.name,
            "name_masked": mask_name(m.name),
            "phone_masked": mask_phone(m.phone),
            "id_number_masked": m.id_masked,
            "birth_date": m.birth_date.isoformat() if m.birth_date else None,
            "gender": m.gender,
            "occupation": m.occupation,
            "employer": m.employer,
            "station_code": m.station_code,
            "station_name": station_name,
            "created_at": m.created_at.isoformat(),
            "updated_at": m.updated_at.isoformat(),
        }
        if openid:
            d["openid"] = m.openid
        if full:
            d["phone"] = m.phone
            d["id_number"] = self.cipher.decrypt(m.id_cipher)
        return d


def _station_dict(row: Station) -> dict[str, Any]:
    return {
        "code": row.code, "name": row.name, "address": row.address, "latitude": row.latitude,
        "longitude": row.longitude, "hours": row.hours, "union_name": row.union_name, "active": row.active,
    }


_REQUIRED = ("openid", "name", "phone", "id_number")
_CONSENTS = ("privacy", "id_number")
"""What a worker consents to before applying: the privacy notice, and separately the ID number."""


def _add_application_events(s: Session, member: Member, app: Mapping[str, Any], actor: str, action: str,
                            at: dt.datetime) -> None:
    """The consents an application carries, then the application itself (at which station)."""
    for what, consented_at, notice in app["consents"]:
        s.add(SignupEvent(member_id=member.id, action=f"consented_{what}", actor=actor,
                          detail=f"notice {notice}" if notice else "", at=consented_at))
    detail = f"station {member.station_code}" if member.station_code else ""
    s.add(SignupEvent(member_id=member.id, action=action, actor=actor, detail=detail, at=at))


def _clean_consents(raw: Any) -> list[tuple[str, dt.datetime, str]]:
    out = []
    for c in raw or ():
        if not isinstance(c, Mapping):
            raise ValueError(f"application consent: expected a mapping, got {c!r}")
        what = str(c.get("what") or "")
        if what not in _CONSENTS:
            raise ValueError(f"application consent: unknown kind {what!r}")
        try:
            at = dt.datetime.fromtimestamp(float(c["at"]), dt.UTC)
        except (KeyError, TypeError, ValueError, OverflowError, OSError):
            raise ValueError(f"application consent {what}: not a time: {c.get('at')!r}") from None
        out.append((what, at, str(c.get("notice") or "")[:64]))
    return out


def _clean_application(application: Mapping[str, Any]) -> dict[str, Any]:
    missing = [k for k in _REQUIRED if not str(application.get(k) or "").strip()]
    if missing:
        raise ValueError(f"application is missing {', '.join(missing)}")
    birth = application.get("birth_date")
    if isinstance(birth, str) and birth:
        try:
            birth = dt.date.fromisoformat(birth)
        except ValueError:
            raise ValueError(f"application birth_date: not an ISO date: {birth!r}") from None
    elif not isinstance(birth, dt.date):
        birth = None
    return {
        "openid": str(application["openid"]).strip(),
        "name": str(application["name"]).strip(),
        "phone": str(application["phone"]).strip(),
        "id_number": normalize_id_number(str(application["id_number"])),
        "birth_date": birth,
        "gender": str(application.get("gender") or ""),
        "occupation": str(application.get("occupation") or ""),
        "employer": str(application.get("employer") or ""),
        "station_code": (str(application.get("station_code") or "").strip() or None),
        "consents": _clean_consents(application.get("consents")),
    }
