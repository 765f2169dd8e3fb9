"""The member registry on SQLite and PostgreSQL: one test body, both backends (``database_url``)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from support.applications import ID_1, ID_2, ID_3, application
from support.clock import Clock
from support.ids import make_id

from bot.registry.models import Base, Member, SignupEvent, migrations_head
from bot.registry.repository import InvalidTransition, MemberNotFound, Registry, RegistryUnavailable
from bot.signup import privacy
from bot.signup.privacy import IdCipher, KeyConfigError, UndecryptableError, generate_key, normalize_id_number

KEY_A = generate_key()
KEY_B = generate_key()


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC))


@pytest.fixture
def registry(database_url: str, clock: Clock) -> Iterator[Registry]:
    reg = Registry.from_url(database_url, IdCipher(KEY_A), clock=clock)
    reg.upgrade()  # the schema comes from the migration, as in production
    yield reg
    reg.close()


def rows(registry: Registry, model: type[Base]) -> list:
    with sa.orm.Session(registry.engine) as s:
        return list(s.scalars(sa.select(model)))


# -- schema --------------------------------------------------------------------------------------


def test_migration_creates_exactly_the_models(database_url: str) -> None:
    reg = Registry.from_url(database_url, IdCipher(KEY_A))
    try:
        assert reg.current_revision() is None
        reg.upgrade()
        assert reg.current_revision() == migrations_head()
        reg.upgrade()  # a second run is a no-op
        with reg.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
    finally:
        reg.close()


def test_missing_schema_says_to_run_db_upgrade(database_url: str) -> None:
    reg = Registry.from_url(database_url, IdCipher(KEY_A))
    try:
        with pytest.raises(RegistryUnavailable, match="db upgrade"):
            reg.find_by_openid("nobody")
    finally:
        reg.close()


# -- register ------------------------------------------------------------------------------------


def test_register_creates_a_pending_member_with_audit(registry: Registry) -> None:
    result = registry.register(application())
    assert result.created and result.conflict is None
    member = result.member
    assert member is not None
    assert member["number"] == "GH2026000001"
    assert member["status"] == "pending"
    assert member["name"] == "张三丰" and member["name_masked"] == "张**"
    assert member["phone_masked"] == "138****5678"
    assert member["id_number_masked"] == ID_1[:6] + "********" + ID_1[-4:]
    assert member["birth_date"] == "1990-03-07"
    assert ID_1 not in repr(member) and "13812345678" not in repr(member)
    assert "openid" not in member

    found = registry.find_by_openid("o-worker-1")
    assert found is not None and found["number"] == member["number"]
    assert ID_1 not in repr(found)
    assert registry.find_by_openid("someone-else") is None

    (row,) = rows(registry, Member)
    assert ID_1 not in row.id_cipher and row.id_hash != ID_1
    assert registry.cipher.decrypt(row.id_cipher) == ID_1
    assert [e["action"] for e in registry.events(member["number"])] == ["submitted"]
    assert registry.events(member["number"])[0]["detail"] == "station ST001"


def test_same_openid_twice_returns_the_existing_member(registry: Registry) -> None:
    first = registry.register(application())
    again = registry.register(application(name="张三"))  # a retry, even with an edited field
    assert not again.created and again.conflict is None
    assert again.member is not None and first.member is not None
    assert again.member["number"] == first.member["number"]
    assert again.member["name"] == "张三丰"
    assert len(rows(registry, Member)) == 1
    assert len(rows(registry, SignupEvent)) == 1


def test_same_id_number_from_another_account_is_a_conflict(registry: Registry) -> None:
    first = registry.register(application())
    assert first.member is not None
    spelled_differently = " " + ID_1.lower() + " "
    assert ID_1.endswith("X")
    result = registry.register(application(openid="o-other", id_number=spelled_differently,
                                           birth_date="1990-03-07"))
    assert result.conflict == "id_taken"
    assert result.member is None and not result.created
    assert result.existing_number == first.member["number"]
    assert len(rows(registry, Member)) == 1
    assert len(rows(registry, SignupEvent)) == 1


def test_incomplete_application_is_refused(registry: Registry) -> None:
    with pytest.raises(ValueError, match="id_number"):
        registry.register(application(id_number=""))
    assert rows(registry, Member) == []


def test_numbers_use_prefix_local_year_and_sequence(database_url: str) -> None:
    # 2026-12-31 17:00 UTC is already 2027 in China
    clock = Clock(dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC))
    reg = Registry.from_url(database_url, IdCipher(KEY_A), number_prefix="QX", clock=clock)
    try:
        reg.upgrade()
        a = reg.register(application()).member
        b = reg.register(application(openid="o2", id_number=ID_2)).member
        assert a is not None and b is not None
        assert a["number"] == "QX2027000001" and b["number"] == "QX2027000002"
    finally:
        reg.close()


def run_concurrently(count: int, fn) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return results


def test_concurrent_identical_registrations_create_one_member(registry: Registry) -> None:
    results = run_concurrently(8, lambda i: registry.register(application()))
    assert sum(r.created for r in results) == 1
    assert len({r.member["number"] for r in results}) == 1
    assert len(rows(registry, Member)) == 1
    assert len(rows(registry, SignupEvent)) == 1


def test_concurrent_accounts_with_one_id_number_create_one_member(registry: Registry) -> None:
    results = run_concurrently(8, lambda i: registry.register(application(openid=f"o-{i}")))
    assert sum(r.created for r in results) == 1
    assert sum(r.conflict == "id_taken" for r in results) == 7
    assert len(rows(registry, Member)) == 1
    assert len(rows(registry, SignupEvent)) == 1


def test_unreachable_postgresql_raises_registry_unavailable() -> None:
    reg = Registry.from_url("postgresql+psycopg://unionbot@127.0.0.1:1/unionbot", IdCipher(KEY_A),
                            connect_timeout=2)
    try:
        with pytest.raises(RegistryUnavailable, match="database unavailable"):
            reg.register(application())
        with pytest.raises(RegistryUnavailable):
            reg.find_by_openid("o-worker-1")
        assert reg.ping() is False
    finally:
        reg.close()


def test_unopenable_sqlite_raises_registry_unavailable(tmp_path) -> None:
    reg = Registry.from_url(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}", IdCipher(KEY_A))
    try:
        with pytest.raises(RegistryUnavailable):
            reg.find_by_openid("o-worker-1")
    finally:
        reg.close()


# -- review --------------------------------------------------------------------------------------


def test_approve_and_reject_are_audited(registry: Registry, clock: Clock) -> None:
    a = registry.register(application()).member
    b = registry.register(application(openid="o2", id_number=ID_2)).member
    assert a is not None and b is not None
    clock.advance(hours=3)

    approved = registry.approve(a["number"].lower(), actor="cli:wang")
    assert approved["status"] == "approved" and approved["changed"]
    assert approved["openid"] == "o-worker-1"
    again = registry.approve(a["number"], actor="cli:wang")
    assert not again["changed"]
    with pytest.raises(InvalidTransition):
        registry.reject(a["number"], actor="cli:wang", reason="弄错了")

    with pytest.raises(ValueError, match="需要填写原因"):
        registry.reject(b["number"], actor="cli:li", reason="  ")
    rejected = registry.reject(b["number"], actor="cli:li", reason="工作单位信息不完整")
    assert rejected["status"] == "rejected" and rejected["reason"] == "工作单位信息不完整"
    assert rejected["openid"] == "o2"
    # a rejected application may still be approved after a second look
    assert registry.approve(b["number"], actor="cli:li", reason="已补充材料")["status"] == "approved"

    events = registry.events(a["number"])
    assert [(e["action"], e["actor"]) for e in events] == [("submitted", "worker"), ("approved", "cli:wang")]
    assert events[1]["at"].startswith("2026-03-01T05:00")
    assert [e["action"] for e in registry.events(b["number"])] == ["submitted", "rejected", "approved"]

    registry.record_event(a["number"], "notified", "wechat")
    assert registry.events(a["number"])[-1]["action"] == "notified"

    with pytest.raises(MemberNotFound):
        registry.approve("GH2026999999", actor="cli:wang")
    assert registry.find_by_openid("o2")["status"] == "approved"


def test_list_filters(registry: Registry, clock: Clock) -> None:
    registry.sync_stations([{"code": "ST001", "name": "县总工会驿站", "address": "人民路88号",
                             "latitude": 30.6, "longitude": 119.68}])
    registry.register(application())
    clock.advance(days=10)
    registry.register(application(openid="o2", id_number=ID_2, station_code="ST002"))
    registry.register(application(openid="o3", id_number=ID_3, station_code=""))
    registry.approve("GH2026000002", actor="t")

    assert [m["number"] for m in registry.list_members()] == ["GH2026000001", "GH2026000002", "GH2026000003"]
    assert [m["number"] for m in registry.list_members(status="pending")] == ["GH2026000001", "GH2026000003"]
    assert [m["number"] for m in registry.list_members(station="ST002")] == ["GH2026000002"]
    assert [m["number"] for m in registry.list_members(since="2026-03-05")] == ["GH2026000002", "GH2026000003"]
    assert [m["number"] for m in registry.list_members(since=dt.date(2026, 3, 20))] == []
    assert registry.count_members(status="pending") == 2
    first = registry.list_members()[0]
    assert first["station_name"] == "县总工会驿站"
    assert registry.list_members()[2]["station_code"] is None
    assert "id_number" not in first and "phone" not in first
    with pytest.raises(ValueError):
        registry.list_members(status="maybe")


def test_iter_members_streams_in_batches(registry: Registry) -> None:
    for i in range(7):
        registry.register(application(openid=f"o{i}", id_number=make_id(dt.date(2000, 1, i + 1), i)))
    numbers = [m["number"] for m in registry.iter_members(batch=3)]
    assert len(numbers) == 7 and numbers == sorted(numbers)


# -- personal data -------------------------------------------------------------------------------


def test_full_read_decrypts_and_nothing_else_does(registry: Registry) -> None:
    registry.register(application())
    (full,) = registry.list_members(full=True)
    assert full["id_number"] == ID_1 and full["phone"] == "13812345678"
    (masked,) = registry.list_members()
    assert ID_1 not in repr(masked)


def test_rotation_with_old_keys_then_rekey(database_url: str, clock: Clock) -> None:
    old = Registry.from_url(database_url, IdCipher(KEY_A), clock=clock)
    old.upgrade()
    old.register(application())
    old.register(application(openid="o2", id_number=ID_2))
    old.close()

    # new key configured, old key kept for reading: everything still works before the rekey
    rotating = Registry.from_url(database_url, IdCipher(KEY_B, [KEY_A]), clock=clock)
    assert [m["id_number"] for m in rotating.list_members(full=True)] == [ID_1, ID_2]
    assert rotating.register(application(openid="o-dup", id_number=ID_1)).conflict == "id_taken"
    rotating.register(application(openid="o3", id_number=ID_3))  # written with the new key
    report = rotating.rekey(batch=2)
    assert (report.rekeyed, report.current, report.failed) == (2, 1, [])
    assert rotating.rekey().rekeyed == 0  # idempotent
    assert [e["action"] for e in rotating.events("GH2026000001")] == ["submitted", "rekeyed"]
    rotating.close()

    # old key gone: every row readable, duplicates still found
    new = Registry.from_url(database_url, IdCipher(KEY_B), clock=clock)
    try:
        assert [m["id_number"] for m in new.list_members(full=True)] == [ID_1, ID_2, ID_3]
        assert new.register(application(openid="o-dup", id_number=ID_2)).conflict == "id_taken"
    finally:
        new.close()


def test_rekey_without_the_old_key_reports_unreadable_rows(database_url: str, clock: Clock) -> None:
    old = Registry.from_url(database_url, IdCipher(KEY_A), clock=clock)
    old.upgrade()
    old.register(application())
    old.close()
    lost = Registry.from_url(database_url, IdCipher(KEY_B), clock=clock)
    try:
        with pytest.raises(UndecryptableError):
            lost.list_members(full=True)
        assert lost.rekey().failed == ["GH2026000001"]
        assert lost.list_members()[0]["id_number_masked"].endswith(ID_1[-4:])  # masked needs no key
    finally:
        lost.close()


def test_cipher_round_trip_and_keyed_hash() -> None:
    a, b = IdCipher(KEY_A), IdCipher(KEY_B)
    token = a.encrypt(ID_1)
    assert ID_1 not in token and a.decrypt(token) == ID_1
    assert a.encrypt(ID_1) != token  # randomised
    assert a.hash(ID_1) == a.hash(" " + ID_1.lower()) == IdCipher(KEY_A).hash(ID_1)
    assert a.hash(ID_1) != b.hash(ID_1) and a.hash(ID_1) != a.hash(ID_2)
    assert len(a.hash(ID_1)) == 64
    with pytest.raises(UndecryptableError):
        b.decrypt(token)
    both = IdCipher(KEY_B, [KEY_A])
    assert both.decrypt(token) == ID_1 and not both.is_current(token)
    assert both.all_hashes(ID_1) == [b.hash(ID_1), a.hash(ID_1)]
    assert normalize_id_number("３３０５２２ 19900307122x") == ID_1


def test_bad_keys_are_refused_with_the_setting_name() -> None:
    with pytest.raises(KeyConfigError, match="registry.id_key"):
        IdCipher("too-short")
    with pytest.raises(KeyConfigError, match=r"registry.old_id_keys\[0\]"):
        IdCipher(KEY_A, ["not base64!"])


def test_empty_key_uses_the_dev_key_and_warns_once(monkeypatch, caplog) -> None:
    monkeypatch.setattr(privacy, "_dev_warned", False)
    with caplog.at_level(logging.WARNING, logger="bot.signup.privacy"):
        dev = IdCipher("")
        IdCipher("")
    assert sum("DEVELOPMENT key" in r.message for r in caplog.records) == 1
    assert dev.is_dev_key
    token = dev.encrypt(ID_1)
    # a pilot run with the dev key can be rotated to a real key: "dev" names it in old_id_keys
    assert IdCipher(KEY_A, ["dev"]).decrypt(token) == ID_1


def test_a_rejected_applicant_resubmits_under_the_same_number(registry: Registry) -> None:
    first = registry.register(application())
    number = first.member["number"]
    registry.reject(number, actor="staff", reason="姓名与身份证号不符")
    again = registry.register(application(name="张三", phone="13900001111"))
    assert again.created and again.member["number"] == number
    assert again.member["status"] == "pending" and again.member["reason"] == ""
    assert registry.get(number, full=True)["phone"] == "13900001111"
    assert [e["action"] for e in registry.events(number)][-1] == "resubmitted"
    retry = registry.register(application(name="张三", phone="13900001111"))  # WeChat retry of 确认
    assert not retry.created and retry.member["number"] == number
    assert len(rows(registry, Member)) == 1


def test_consents_are_recorded_at_the_time_given(registry: Registry) -> None:
    """The worker's consents (given in the chat before the application) go into the audit trail
    with their own time and the notice's digest; a resubmission records the new ones."""
    t1 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    consents = [{"what": "privacy", "at": t1.timestamp(), "notice": "aaaa1111bbbb"},
                {"what": "id_number", "at": t1.timestamp() + 5, "notice": "cccc2222dddd"}]
    member = registry.register({**application(), "consents": consents}).member
    trail = registry.events(member["number"])
    assert [(e["action"], e["detail"]) for e in trail] == [
        ("consented_privacy", "notice aaaa1111bbbb"), ("consented_id_number", "notice cccc2222dddd"),
        ("submitted", "station ST001")]
    assert dt.datetime.fromisoformat(trail[0]["at"]) == t1
    assert dt.datetime.fromisoformat(trail[1]["at"]) == t1 + dt.timedelta(seconds=5)
    registry.reject(member["number"], actor="staff", reason="x")
    later = [{"what": "privacy", "at": t1.timestamp() + 86400, "notice": "eeee3333ffff"}]
    registry.register({**application(), "consents": later})
    trail = registry.events(member["number"])
    assert [e["action"] for e in trail][-2:] == ["consented_privacy", "resubmitted"]
    assert trail[-2]["detail"] == "notice eeee3333ffff"


@pytest.mark.parametrize("consent", [{"what": "marketing", "at": 0}, {"what": "privacy", "at": "soon"},
                                     {"what": "privacy"}, "privacy"])
def test_a_malformed_consent_is_refused(registry: Registry, consent: object) -> None:
    with pytest.raises(ValueError, match="consent"):
        registry.register({**application(), "consents": [consent]})
    assert rows(registry, Member) == []


def test_a_resubmission_cannot_take_another_accounts_id_number(registry: Registry) -> None:
    registry.register(application(openid="o-other", id_number=ID_2))
    mine = registry.register(application())
    registry.reject(mine.member["number"], actor="staff", reason="x")
    result = registry.register(application(id_number=ID_2))
    assert result.conflict == "id_taken" and result.member is None
    assert registry.get(mine.member["number"])["status"] == "rejected"


def test_an_approved_member_is_not_overwritten(registry: Registry) -> None:
    mine = registry.register(application())
    registry.approve(mine.member["number"], actor="staff")
    again = registry.register(application(name="别人"))
    assert not again.created and again.member["status"] == "approved"
