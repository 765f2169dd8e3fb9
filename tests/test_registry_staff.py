"""Staff actions on the registry (accounts, queue, search, edit, withdraw, revoke, erase, reveal,
reports) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from test_registry import ID_2, ID_3, Clock, application

from bot.registry import reports, staff
from bot.registry.models import Member, SignupEvent
from bot.registry.repository import InvalidTransition, Registry
from bot.signup.privacy import IdCipher, generate_key

START = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    reg = Registry.from_url(database_url, IdCipher(generate_key()), clock=Clock(START))
    reg.upgrade()
    yield reg
    reg.close()


def _three(registry: Registry) -> tuple[str, str, str]:
    a = registry.register(application()).member["number"]
    b = registry.register(application(openid="o2", id_number=ID_2, name="王五", phone="13700002222",
                                      station_code="ST002", occupation="外卖骑手")).member["number"]
    registry._clock.advance(days=2)  # type: ignore[attr-defined]
    c = registry.register(application(openid="o3", id_number=ID_3, name="李四", phone="13900001111")).member["number"]
    return a, b, c


def test_accounts_hash_passwords_and_refuse_bad_input(registry: Registry) -> None:
    staff.create_user(registry, "rita", "reviewer", "a long password")
    assert staff.authenticate(registry, "rita", "a long password") == {"username": "rita", "role": "reviewer"}
    assert staff.authenticate(registry, "rita", "wrong password") is None
    with registry.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM staff_users").scalar_one()
    assert stored.startswith("scrypt:") and "a long password" not in stored
    for bad in (("rita", "admin", "another long one"), ("x", "boss", "a long password"), ("y", "admin", "short")):
        with pytest.raises(staff.AccountError):
            staff.create_user(registry, *bad)
    staff.set_password(registry, "rita", "a newer password")
    assert staff.authenticate(registry, "rita", "a newer password") is not None
    staff.disable_user(registry, "rita")
    assert staff.authenticate(registry, "rita", "a newer password") is None
    assert staff.active_role(registry, "rita") is None
    assert [u["active"] for u in staff.list_users(registry)] == [False]
    assert [e["action"] for e in staff.staff_events(registry)] == ["user_disabled", "password_set", "user_created"]


def test_queue_filters_by_station_occupation_and_local_date(registry: Registry) -> None:
    a, b, c = _three(registry)
    assert [m["number"] for m in staff.pending(registry)] == [a, b, c]
    assert [m["number"] for m in staff.pending(registry, station="ST002")] == [b]
    assert [m["number"] for m in staff.pending(registry, occupation="外卖骑手")] == [b]
    assert [m["number"] for m in staff.pending(registry, day_from=dt.date(2026, 3, 2))] == [c]
    assert [m["number"] for m in staff.pending(registry, day_to=dt.date(2026, 3, 1))] == [a, b]
    registry.approve(a, "staff:rita")
    assert a not in [m["number"] for m in staff.pending(registry)]
    assert staff.occupations(registry) == ["外卖骑手", "快递员"]


def test_search_by_name_number_and_phone_tail(registry: Registry) -> None:
    a, b, _ = _three(registry)
    assert [m["number"] for m in staff.search(registry, "王")] == [b]
    assert [m["number"] for m in staff.search(registry, a.lower())] == [a]
    assert [m["number"] for m in staff.search(registry, "2222")] == [b]
    assert staff.search(registry, "%") == []


def test_edit_withdraw_revoke_are_audited_with_reasons(registry: Registry) -> None:
    a, b, _ = _three(registry)
    with pytest.raises(ValueError):
        staff.edit(registry, a, {"occupation": "司机"}, "staff:rita", "")
    edited = staff.edit(registry, a, {"occupation": "司机", "name": "张三丰"}, "staff:rita", "本人更正")
    assert edited["changed"] and registry.get(a)["occupation"] == "司机"
    with pytest.raises(ValueError):
        staff.edit(registry, a, {"id_number": "x"}, "staff:rita", "no")
    registry.approve(a, "staff:rita")
    staff.revoke(registry, a, "staff:boss", "照片需重拍")
    assert (registry.get(a)["status"], registry.get(a)["reason"]) == ("pending", "照片需重拍")
    with pytest.raises(InvalidTransition):
        staff.revoke(registry, a, "staff:boss", "again")
    staff.withdraw(registry, b, "staff:rita", "本人申请退会")
    assert registry.get(b)["status"] == "withdrawn"
    trail = [(e["action"], e["actor"], e["detail"]) for e in registry.events(a) if e["actor"].startswith("staff")]
    assert trail == [("edited", "staff:rita", "修改职业：本人更正"), ("approved", "staff:rita", ""),
                     ("revoked", "staff:boss", "照片需重拍")]
    # a withdrawn worker may apply again, under the same number
    again = registry.register(application(openid="o2", id_number=ID_2, name="王五", phone="13700002222"))
    assert again.created and again.member["number"] == b and again.member["status"] == "pending"


def test_erase_keeps_an_anonymised_row_and_the_trail(registry: Registry) -> None:
    a, _, _ = _three(registry)
    staff.erase(registry, a, "staff:boss", "本人申请删除")
    with registry.engine.connect() as conn:
        row = conn.execute(sa.select(Member).where(Member.number == a)).one()
        events = conn.execute(sa.select(SignupEvent.action)).scalars().all()
    assert row.name == staff.ERASED and row.phone == "" and row.id_cipher == "" and row.birth_date is None
    assert row.openid.startswith("erased:") and row.status == "erased"
    assert "erased" in events and "submitted" in events
    assert registry.find_by_openid("o-worker-1") is None
    with pytest.raises(InvalidTransition):
        staff.reveal(registry, a, "id_number", "staff:boss", "check")
    assert staff.search(registry, "张") == []
    # the same person may apply again: the ID number is free
    assert registry.register(application()).created


def test_reveal_is_recorded_before_it_is_shown(registry: Registry) -> None:
    a, _, _ = _three(registry)
    with pytest.raises(ValueError):
        staff.reveal(registry, a, "id_number", "staff:rita", " ")
    assert staff.reveal(registry, a, "phone", "staff:rita", "回访") == "13812345678"
    assert [e["detail"] for e in registry.events(a) if e["action"] == "revealed_phone"] == ["回访"]


def test_signup_reports_count_every_local_day(registry: Registry) -> None:
    _three(registry)
    today = dt.date(2026, 3, 3)
    rows = reports.signups(registry, days=7, today=today)
    periods, values, counts = reports.counts(rows, "station", "day", dt.date(2026, 2, 25), today)
    assert len(periods) == 7 and values == ["ST001", "ST002"]  # no station names imported
    assert counts == {(dt.date(2026, 3, 1), "ST001"): 1, (dt.date(2026, 3, 1), "ST002"): 1,
                      (dt.date(2026, 3, 3), "ST001"): 1}
    weeks, _, by_week = reports.counts(rows, "status", "week", dt.date(2026, 2, 25), today)
    assert weeks == [dt.date(2026, 2, 23), dt.date(2026, 3, 2)]
    assert by_week == {(dt.date(2026, 2, 23), "pending"): 2, (dt.date(2026, 3, 2), "pending"): 1}
    assert reports.per_station(registry)["ST001"]["pending"] == 2
