"""附近驿站: the list with how to send a location, then the nearest stations."""

from __future__ import annotations

import pytest
from support.fakes import FakeStations
from support.messages import USER, event, location, text

from bot.core.conversation import Context, Incoming
from handlers import stations

STATIONS = [
    {
        "code": "ST001",
        "name": "城关职工驿站",
        "address": "城关镇人民路1号",
        "hours": "8:00-20:00",
        "distance_km": 0.347,
    },
    {"code": "ST002", "name": "东门驿站", "address": "东门街5号", "hours": "全天", "distance_km": 0.8},
    {"code": "ST003", "name": "开发区驿站", "address": "开发区纬三路", "hours": "", "distance_km": 12.04},
    {"code": "ST004", "name": "远处驿站", "address": "远处", "hours": "", "distance_km": 30.0},
]


@pytest.mark.parametrize(
    ("km", "shown"),
    [
        (0.0, "不到50米"),
        (0.04, "不到50米"),
        (0.347, "350米"),
        (0.49, "490米"),
        (0.8, "0.8公里"),
        (1.0, "1公里"),
        (12.04, "12公里"),
        (3.26, "3.3公里"),
        (None, ""),
    ],
)
def test_format_distance(km: float | None, shown: str) -> None:
    assert stations.format_distance(km) == shown


def test_location_lists_the_three_nearest() -> None:
    finder = FakeStations(STATIONS)
    outcome = stations.handle(
        {"flow": "join"}, location(), Context(stations=finder)
    )
    assert outcome is not None
    assert finder.calls == [(30.27, 120.15, 3)]
    reply = outcome.replies[0]
    assert "1. 城关职工驿站（350米）" in reply
    assert "2. 东门驿站（0.8公里）" in reply
    assert "3. 开发区驿站（12公里）" in reply
    assert "远处驿站" not in reply
    assert "地址：城关镇人民路1号" in reply and "开放：8:00-20:00" in reply and "开放：全天" in reply
    assert outcome.state == {"flow": "join"}  # the state is kept


@pytest.mark.parametrize("finder", [FakeStations([]), None])
def test_nothing_found_gives_the_hotline(finder: FakeStations | None) -> None:
    outcome = stations.handle({}, location(), Context(stations=finder, hotline="12351"))
    assert outcome is not None
    assert "没找到" in outcome.replies[0] and "12351" in outcome.replies[0]


def test_location_without_coordinates() -> None:
    outcome = stations.handle(
        {}, location(None, None), Context(stations=FakeStations(STATIONS))
    )
    assert outcome is not None and "再发一次" in outcome.replies[0]


@pytest.mark.parametrize("word", ["驿站", "附近驿站", "最近的驿站", "附近的驿站？"])
def test_asking_for_stations_lists_them_and_asks_for_the_location(word: str) -> None:
    outcome = stations.handle({"suggestions": [1]}, text(word), Context(stations=FakeStations(STATIONS)))
    assert outcome is not None
    assert outcome.state == {"suggestions": [1], "awaiting_location": True}
    assert "城关职工驿站" in outcome.replies[0] and "远处驿站" in outcome.replies[0]
    assert "“+”" in outcome.replies[0] and "“位置”" in outcome.replies[0]


def test_menu_click_lists_the_stations_and_asks_for_the_location() -> None:
    click = event("click", "STATIONS")
    outcome = stations.handle({}, click, Context(stations=FakeStations(STATIONS)))
    assert outcome is not None and "城关职工驿站" in outcome.replies[0] and "“位置”" in outcome.replies[0]


def test_other_messages_are_not_for_this_handler() -> None:
    for message in (
        text("驿站几点开门"),
        text("入会"),
        event("location"),
        Incoming(user=USER, kind="image"),
    ):
        assert stations.handle({}, message, Context(stations=FakeStations(STATIONS))) is None
