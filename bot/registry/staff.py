"""What staff do to the registry from the console: accounts, the review queue, changes to members.

Every change is written to the member's audit trail (``signup_events``) or, when it concerns no
single member, to the staff audit trail (``staff_events``), with the staff account as actor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from bot.registry import notices
from bot.registry.models import ROLES, STATUS_LABELS, Member, SignupEvent, StaffEvent, StaffUser, Station
from bot.registry.repository import Decided, InvalidTransition, Registry, RegistryError
from bot.signup.privacy import mask_id_number, mask_openid

EDITABLE = {"name": "姓名", "phone": "手机号", "occupation": "职业", "employer": "工作单位", "station_code": "驿站"}
"""Member fields staff may correct, with the word the audit trail uses for each; the ID number is
not among them (a new application is)."""
ACTION_WORDS = {"withdrawn": "办理退会", "revoked": "撤销审核通过"}
"""How a refused transition names what was asked."""
MIN_PASSWORD = 10
ALERTED_ROLES = ("admin", "reviewer")
"""Roles whose bound WeChat gets staff alerts (new applications, 人工 requests, the daily summary)."""
ERASED = "已删除"


class AccountError(RegistryError, ValueError):
    """A staff account cannot be created or changed as asked (the message says why)."""


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValueError("请填写原因（会记入审计记录）")
    return text[:500]


# -- accounts ------------------------------------------------------------------------------------


def create_user(registry: Registry, username: str, role: str, password: str, actor: str = "cli") -> None:
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError("user name must be 1 to 64 characters")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    _check_password(password)
    now = registry.now()
    with registry.session(write=True) as s:
        if s.scalar(sa.select(StaffUser.id).where(StaffUser.username == username)) is not None:
            raise AccountError(f"user {username!r} already exists")
        s.add(StaffUser(username=username, password_hash=generate_password_hash(password), role=role,
                        active=True, created_at=now, updated_at=now))
        s.add(StaffEvent(actor=actor, action="user_created", detail=f"{username} ({role})", at=now))


def set_password(registry: Registry, username: str, password: str, actor: str = "cli") -> None:
    _check_password(password)
    with registry.session(write=True) as s:
        user = _user(s, username)
        user.password_hash, user.updated_at = generate_password_hash(password), registry.now()
        s.add(StaffEvent(actor=actor, action="password_set", detail=username, at=user.updated_at))


def disable_user(registry: Registry, username: str, actor: str = "cli") -> None:
    with registry.session(write=True) as s:
        user = _user(s, username)
        user.active, user.updated_at = False, registry.now()
        s.add(StaffEvent(actor=actor, action="user_disabled", detail=username, at=user.updated_at))


def list_users(registry: Registry) -> list[dict[str, Any]]:
    with registry.session() as s:
        return [{"username": u.username, "role": u.role, "active": u.active, "created_at": u.created_at}
                for u in s.scalars(sa.select(StaffUser).order_by(StaffUser.username))]


def authenticate(registry: Registry, username: str, password: str) -> dict[str, Any] | None:
    """The active account with this name and password, else None (same answer for every failure)."""
    with registry.session() as s:
        user = s.scalar(sa.select(StaffUser).where(StaffUser.username == username.strip()))
        if user is None or not user.active or not check_password_hash(user.password_hash, password):
            return None
        return {"username": user.username, "role": user.role}


def active_role(registry: Registry, username: str) -> str | None:
    """The role of an active account (checked on every request, so disabling takes effect at once)."""
    with registry.session() as s:
        user = s.scalar(sa.select(StaffUser).where(StaffUser.username == username))
        return user.role if user is not None and user.active else None


def record_staff_event(registry: Registry, actor: str, action: str, detail: str = "") -> None:
    with registry.session(write=True) as s:
        s.add(StaffEvent(actor=actor, action=action, detail=detail[:1000], at=registry.now()))


def staff_events(registry: Registry, limit: int = 100) -> list[dict[str, Any]]:
    with registry.session() as s:
        rows = s.scalars(sa.select(StaffEvent).order_by(StaffEvent.id.desc()).limit(limit)).all()
        return [{"actor": e.actor, "action": e.action, "detail": e.detail, "at": e.at} for e in rows]


def bind_wechat(registry: Registry, username: str, openid: str, actor: str = "wechat") -> str:
    """Bind the WeChat ``openid`` to an active account (the staff member sent its one-time code);
    answers the account's role."""
    with registry.session(write=True) as s:
        user = _user(s, username)
        if not user.active:
            raise AccountError(f"user {username!r} is disabled")
        user.wechat_openid, user.updated_at = openid, registry.now()
        s.add(StaffEvent(actor=actor, action="wechat_bound", detail=f"{username} 绑定微信 {mask_openid(openid)}",
                         at=user.updated_at))
        return user.role


def unbind_wechat(registry: Registry, username: str, actor: str) -> bool:
    """Stop alerts to the account's WeChat; False when none was bound."""
    with registry.session(write=True) as s:
        user = _user(s, username)
        if user.wechat_openid is None:
            return False
        detail = f"{username} 解除绑定微信 {mask_openid(user.wechat_openid)}"
        user.wechat_openid, user.updated_at = None, registry.now()
        s.add(StaffEvent(actor=actor, action="wechat_unbound", detail=detail, at=user.updated_at))
        return True


def wechat_of(registry: Registry, username: str) -> str | None:
    """The openid bound to the account, if any."""
    with registry.session() as s:
        return s.scalar(sa.select(StaffUser.wechat_openid).where(StaffUser.username == username))


def alerted_openids(registry: Registry) -> list[str]:
    """The bound WeChat accounts of active admins and reviewers, each once."""
    with registry.session() as s:
        return sorted(set(s.scalars(sa.select(StaffUser.wechat_openid).where(
            StaffUser.active.is_(True), StaffUser.role.in_(ALERTED_ROLES), StaffUser.wechat_openid.is_not(None)))))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password must be at least {MIN_PASSWORD} characters")


def _user(s: sa.orm.Session, username: str) -> StaffUser:
    user = s.scalar(sa.select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise AccountError(f"no user {username!r}")
    return user


# -- review queue and search ---------------------------------------------------------------------


def pending(registry: Registry, station: str = "", occupation: str = "", day_from: dt.date | None = None,
            day_to: dt.date | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Pending applications oldest first, filtered by station, occupation and local dates."""
    query = sa.select(Member, Station.name).outerjoin(Station, Station.code == Member.station_code).where(
        Member.status == "pending")
    if station:
        query = query.where(Member.station_code == station)
    if occupation:
        query = query.where(Member.occupation == occupation)
    if day_from:
        query = query.where(Member.created_at >= registry._as_instant(day_from))
    if day_to:
        query = query.where(Member.created_at < registry._as_instant(day_to + dt.timedelta(days=1)))
    with registry.session() as s:
        rows = s.execute(query.order_by(Member.id).limit(limit)).all()
        return [registry._as_dict(m, name, openid=False, full=False) for m, name in rows]


def search(registry: Registry, text: str, limit: int = 50) -> list[dict[str, Any]]:
    """Members by name (part of it), membership number or the last digits of the phone number."""
    text = text.strip()
    if not text:
        return []
    conditions = [Member.name.contains(text, autoescape=True), Member.number == text.upper()]
    if text.isdigit() and 4 <= len(text) <= 11:
        conditions.append(Member.phone.endswith(text, autoescape=True))
    with registry.session() as s:
        rows = s.execute(sa.select(Member, Station.name).outerjoin(Station, Station.code == Member.station_code)
                         .where(sa.or_(*conditions), Member.status != "erased")
                         .order_by(Member.id.desc()).limit(limit)).all()
        return [registry._as_dict(m, name, openid=False, full=False) for m, name in rows]


def occupations(registry: Registry) -> list[str]:
    with registry.session() as s:
        return sorted(o for o in s.scalars(sa.select(Member.occupation).distinct()) if o)


def consents(registry: Registry, number: str) -> list[dict[str, Any]]:
    """The consents recorded with the application: what, when, and the digest of the notice shown."""
    return [{"what": e["action"].removeprefix("consented_"), "at": e["at"],
             "notice": e["detail"].removeprefix("notice ")}
            for e in registry.events(number) if e["action"].startswith("consented_")]


# -- changes to members --------------------------------------------------------------------------


def reveal(registry: Registry, number: str, field: str, actor: str, reason: str | None) -> str:
    """The full ID number or mobile of one member; written to the audit trail first."""
    if field not in ("id_number", "phone"):
        raise ValueError(f"cannot reveal {field!r}")
    if registry.get(number)["status"] == "erased":
        raise InvalidTransition(f"{number}：个人信息已删除")
    registry.record_event(number, f"revealed_{field}", actor, _reason(reason))
    return str(registry.get(number, full=True)[field])


def edit(registry: Registry, number: str, changes: Mapping[str, str], actor: str, reason: str | None
         ) -> dict[str, Any]:
    """Correct a member's details; the audit trail names the fields changed (not their values)."""
    why = _reason(reason)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    with registry.session(write=True) as s:
        member = registry._by_number(s, number, lock=True)
        if member.status == "erased":
            raise InvalidTransition(f"{member.number}：个人信息已删除")
        changed = []
        for key, value in changes.items():
            value = value.strip() or None if key == "station_code" else value.strip()
            if key in ("name", "phone") and not value:
                raise ValueError(f"{key} must not be empty")
            if getattr(member, key) != value:
                setattr(member, key, value)
                changed.append(EDITABLE[key])
        if changed:
            member.updated_at = registry.now()
            s.add(SignupEvent(member_id=member.id, action="edited", actor=actor,
                              detail=f"修改{'、'.join(changed)}：{why}", at=member.updated_at))
        s.flush()
        return registry._to_dict(s, member) | {"changed": bool(changed)}


def withdraw(registry: Registry, number: str, actor: str, reason: str | None, then: Decided | None = None
             ) -> dict[str, Any]:
    """退会: the member leaves; the row stays (and shows as 已退会 under 我的会员)."""
    return _transition(registry, number, "withdrawn", ("pending", "approved"), "withdrawn", actor, reason, then)


def revoke(registry: Registry, number: str, actor: str, reason: str | None) -> dict[str, Any]:
    """Undo an approval: the application goes back to the review queue, with the reason."""
    return _transition(registry, number, "pending", ("approved",), "revoked", actor, reason)


def _transition(registry: Registry, number: str, status: str, allowed: tuple[str, ...], action: str,
                actor: str, reason: str | None, then: Decided | None = None) -> dict[str, Any]:
    why = _reason(reason)
    with registry.session(write=True) as s:
        member = registry._by_number(s, number, lock=True)
        if member.status not in allowed:
            raise InvalidTransition(f"{member.number} 当前状态是“{STATUS_LABELS[member.status]}”，不能{ACTION_WORDS[action]}")
        now = registry.now()
        member.status, member.reason, member.updated_at = status, why, now
        s.add(event := SignupEvent(member_id=member.id, action=action, actor=actor, detail=why, at=now))
        s.flush()
        changed = registry._to_dict(s, member, openid=True) | {"changed": True, "decision_id": event.id}
        if then is not None:
            then(s, changed)
        return changed


def erase(registry: Registry, number: str, actor: str, reason: str | None, then: Decided | None = None
          ) -> dict[str, Any]:
    """Delete a member's personal data on request (PIPL). The row stays, anonymised, so the number
    is never reused and the audit trail (which holds no personal data) still has its subject; their
    notices are emptied too. Returns the member as erased, with the ``openid`` it had (for the
    notice that tells them, which ``then`` writes)."""
    why = _reason(reason)
    with registry.session(write=True) as s:
        member = registry._by_number(s, number, lock=True)
        if member.status == "erased":
            return registry._to_dict(s, member, openid=True) | {"changed": False}
        openid, now = member.openid, registry.now()
        placeholder = f"erased:{member.id}"
        member.openid, member.name, member.phone = placeholder, ERASED, ""
        member.id_cipher, member.id_hash, member.id_masked = "", placeholder, mask_id_number("")
        member.birth_date, member.gender, member.employer = None, "", ""
        member.status, member.reason, member.updated_at = "erased", why, now
        s.add(event := SignupEvent(member_id=member.id, action="erased", actor=actor, detail=why, at=now))
        notices.forget_member(s, member.id, openid, placeholder)
        s.flush()
        erased = registry._to_dict(s, member) | {"openid": openid, "changed": True, "decision_id": event.id}
        if then is not None:
            then(s, erased)
        return erased
