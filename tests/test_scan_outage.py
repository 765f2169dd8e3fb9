"""A join scan while the database is down or slow keeps the poster's station code (issue #17).

The station check at the scan is skipped, not failed: the worker is welcomed without a station
name and no "没认出" notice, the code stays in the application, and the registry row written at
确认 carries it (and the card names the station). An unknown code while the database is up is
still refused with the notice. The flow is checked message by message with stations that cannot
be read, then end to end through /wechat on SQLite and PostgreSQL with an unreachable database
at the scan and the real one back at 确认.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support.fakes import FakeStations
from support.ids import nth_id
from support.messages import scan
from test_join_flow import ALL_THREE, ST001, Chat, make_ctx
from test_signup_e2e import (
    DEAD_DATABASE,
    ST001_NAME,
    ST002_NAME,
    SignupBot,
    assert_card,
    only_member,
    phone,
)

from bot.core.conversation import LookupUnavailable
from bot.registry.bounded import BoundedDatabase
from bot.registry.repository import Registry
from bot.services import _StationsOrNothing
from bot.signup import texts
from bot.stations.directory import StationDirectory
from handlers import join


class SwitchableStations(FakeStations):
    """Stations whose database can be switched off: then every lookup by code cannot check."""

    def __init__(self) -> None:
        super().__init__([ST001])
        self.down = False

    def station(self, code: str) -> Mapping[str, Any] | None:
        if self.down:
            raise LookupUnavailable("database unavailable: connection refused")
        return super().station(code)


def test_a_scan_during_an_outage_keeps_the_code_silently_and_submits_it() -> None:
    stations = SwitchableStations()
    stations.down = True
    chat = Chat(make_ctx(stations=stations))
    chat.send(scan("ST001"))
    assert chat.step == join.Step.PRIVACY
    assert chat.state["join"]["station"] == {"code": "ST001", "name": ""}
    assert "没认出" not in chat.reply
    assert chat.reply.startswith(texts.welcome_text() + "\n")  # the welcome, without a station name
    stations.down = False  # the database is back before 确认
    for message in ("同意", "同意", ALL_THREE, "3 美团"):
        chat.send(message)
    assert "驿站：ST001" in chat.reply  # the summary shows the poster's code
    chat.send("确认")
    assert chat.outcomes[-1].effects[0].data["station_code"] == "ST001"


def test_an_unknown_code_while_the_database_is_up_still_gets_the_notice() -> None:
    chat = Chat(make_ctx(stations=SwitchableStations()))
    chat.send(scan("NOPE9"))
    assert chat.state["join"]["station"] is None
    assert "没认出驿站编号“NOPE9”" in chat.reply


def test_a_rescan_during_an_outage_keeps_the_earlier_station() -> None:
    stations = SwitchableStations()
    chat = Chat(make_ctx(stations=stations))
    for message in (scan("ST001"), "同意", "同意", "张三"):
        chat.send(message)
    assert chat.state["join"]["station"] == {"code": "ST001", "name": "城关职工驿站"}
    stations.down = True
    for code in ("ST001", "ST002"):  # the same poster again, then another one that cannot be checked
        chat.send(scan(code))
        assert chat.state["join"]["station"] == {"code": "ST001", "name": "城关职工驿站"}
        assert chat.step == join.Step.PHONE and chat.answers["name"] == "张三"
        assert "没认出" not in chat.reply and "手机号" in chat.reply


def test_a_rescan_during_an_outage_gives_a_flow_without_a_station_the_code() -> None:
    stations = SwitchableStations()
    chat = Chat(make_ctx(stations=stations))
    for message in ("入会", "同意"):
        chat.send(message)
    assert chat.state["join"]["station"] is None
    stations.down = True
    chat.send(scan("ST001"))
    assert chat.state["join"]["station"] == {"code": "ST001", "name": ""}
    assert chat.step == join.Step.ID_CONSENT and "没认出" not in chat.reply


def test_the_stations_service_says_it_could_not_check_when_the_database_is_down(tmp_path) -> None:
    dead = Registry.from_url(DEAD_DATABASE, connect_timeout=1)
    alive = Registry.from_url(f"sqlite:///{tmp_path / 'up.db'}")
    alive.create_schema()
    try:
        database = BoundedDatabase(retry_after=0.0)
        with pytest.raises(LookupUnavailable, match="database unavailable"):
            _StationsOrNothing(StationDirectory(dead, None), database, 2.0).station("ST001")
        assert _StationsOrNothing(StationDirectory(alive, None), database, 2.0).station("ST001") is None
    finally:
        dead.close()
        alive.close()


# -- end to end: an unreachable database at the scan, the real one at 确认 ------------------------------


@pytest.fixture
def bot(tmp_path: Path, database_url: str) -> Iterator[SignupBot]:
    """SQLite and PostgreSQL; no fail-fast window, so the outage ends exactly when the test says."""
    bot = SignupBot(tmp_path, database_url, f"memory://scan-outage-{uuid.uuid4().hex}", f"so-{uuid.uuid4().hex[:12]}:")
    bot.services.config = replace(bot.config, database=replace(bot.config.database, retry_after=0.0))
    yield bot
    bot.close()


@contextlib.contextmanager
def database_down(bot: SignupBot) -> Iterator[None]:
    """Every lookup and write of the bot goes to a PostgreSQL port where nothing listens."""
    services = bot.services
    real, dead = services.registry, Registry.from_url(DEAD_DATABASE, connect_timeout=1)
    services.registry = dead
    for built_from_the_registry in ("_members", "_stations"):
        vars(services).pop(built_from_the_registry, None)
    try:
        yield
    finally:
        services.registry = real
        for built_from_the_registry in ("_members", "_stations"):
            vars(services).pop(built_from_the_registry, None)
        dead.close()


def test_scan_during_an_outage_then_confirm_when_it_is_back_records_the_station(bot: SignupBot) -> None:
    user = "o-scan-outage"
    with database_down(bot):
        welcome = bot.subscribe(user, "join:ST002")
        assert "没认出" not in welcome and texts.welcome_text() in welcome
        assert bot.state(user)["join"]["station"] == {"code": "ST002", "name": ""}
        bot.say(user, "同意")
        bot.say(user, "同意")
        summary = bot.say(user, f"张三 {phone(1)} {nth_id(1)} 3 美团")
        assert "驿站：ST002" in summary
        assert bot.say(user, "确认") == texts.UNAVAILABLE_TEXT  # still down at the first 确认
        assert bot.member_rows() == []
    card = bot.say(user, "确认")
    row = only_member(bot)
    assert row.station_code == "ST002"
    assert_card(card, row.number, ST002_NAME)  # the registry names the station
    submitted = [e for e in bot.event_rows() if e.action == "submitted"]
    assert [e.detail for e in submitted] == ["station ST002"]


def test_rescan_during_an_outage_keeps_the_station_scanned_before_it(bot: SignupBot) -> None:
    user = "o-rescan-outage"
    assert ST001_NAME in bot.subscribe(user, "join:ST001")
    bot.say(user, "同意")
    with database_down(bot):
        reply = bot.scan(user, "join:ST001")
        assert "没认出" not in reply and "身份证号" in reply  # back at the step it was at
        assert bot.state(user)["join"]["station"] == {"code": "ST001", "name": ST001_NAME}
    bot.say(user, "同意")
    bot.say(user, f"张三 {phone(2)} {nth_id(2)} 3 美团")
    card = bot.say(user, "确认")
    row = only_member(bot)
    assert row.station_code == "ST001"
    assert_card(card, row.number, ST001_NAME)


def test_an_unknown_code_with_the_database_up_gets_the_notice_and_no_station(bot: SignupBot) -> None:
    user = "o-unknown-code"
    assert "没认出驿站编号“NOPE9”" in bot.subscribe(user, "join:NOPE9")
    assert bot.state(user)["join"]["station"] is None
