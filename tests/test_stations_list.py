"""Transcripts through the webhook: the station list (paged with 更多), a town's stations, a location
outside the county, and locations that are no place at all (inf, nan, 91/181), on fakeredis and on
the real Redis that holds the geo index."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from bot.config import Config, DatabaseConfig, KnowledgeConfig, ServiceConfig, StoreConfig, WechatConfig
from bot.services import Services
from bot.stations.directory import StationDirectory, import_stations
from bot.stations.places import town_of, valid_point
from bot.storage.store import Store
from bot.web.app import create_app
from bot.wechat.protocol import parse
from bot.wechat.simulator import Simulator, flask_transport
from handlers import stations as stations_handler

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_790_000_000.0
CITY = (30.6051, 119.6813)  # next to ST001, in 城关镇


class StationChat:
    """The real app over ``store``, with knowledge/stations.yaml imported; one worker talking."""

    def __init__(self, tmp_path: Path, store: Store, stations_file: Path = ROOT / "knowledge" / "stations.yaml",
                 radius_km: float = 50.0) -> None:
        self.config = Config(
            wechat=WechatConfig(token="test-token", mode="plain"),
            store=StoreConfig(url="memory://unused"),
            database=DatabaseConfig(url=f"sqlite:///{tmp_path / 'bot.db'}"),
            knowledge=KnowledgeConfig(dir=str(ROOT / "knowledge"), semantic="off"),
            service=ServiceConfig(station_radius_km=radius_km),
        )
        self.services = Services.from_config(self.config, clock=lambda: NOW)
        self.services.store = store
        self.services.registry.create_schema()
        import_stations(self.services.registry, store, stations_file)
        self.sim = Simulator(self.config.wechat, flask_transport(create_app(self.config, self.services)),
                             clock=lambda: NOW)
        self.user = f"o{uuid.uuid4().hex[:10]}"

    def say(self, text: str) -> str:
        reply = self.sim.post(self.sim.text(self.user, text))
        assert reply.status == 200
        return reply.text

    def locate(self, latitude: float, longitude: float) -> str:
        reply = self.sim.post(self.sim.location(self.user, latitude, longitude, label="某地"))
        assert reply.status == 200
        return reply.text


@pytest.fixture
def chat(tmp_path: Path, store: Store) -> StationChat:
    return StationChat(tmp_path, store)


@pytest.mark.parametrize("ask", ["驿站", "直接给我看列表", "有哪些驿站", "驿站列表", "县里有几个驿站？"])
def test_asking_for_stations_gives_the_list_with_how_to_send_a_location(chat: StationChat, ask: str) -> None:
    if ask == "直接给我看列表":  # the reply to being asked for a location
        chat.say("附近驿站")
    reply = chat.say(ask)
    for name in ("县总工会职工服务中心驿站", "溪口镇职工驿站", "骑手之家（万达广场）"):
        assert name in reply
    assert "每天 8:00-20:00" in reply and "人民路88号" in reply
    assert "“+”" in reply and "“位置”" in reply
    assert "回复“驿站”" not in reply  # no loop back to the same word


def test_a_long_list_is_paged_with_more(tmp_path: Path, store: Store) -> None:
    many = tmp_path / "stations.yaml"
    many.write_text("stations:\n" + "".join(
        f"  - code: S{i:02d}\n    name: 第{i}号驿站\n    address: 青溪县城关镇{i}号\n"
        f"    latitude: 30.6{i:02d}\n    longitude: 119.6{i:02d}\n    hours: 每天 8:00-20:00\n"
        for i in range(1, 13)), encoding="utf-8")
    chat = StationChat(tmp_path, store, many)
    first = chat.say("驿站列表")
    assert "共12个" in first and "8. 第8号驿站" in first and "第9号驿站" not in first
    assert "还有4个，回复“更多”接着看" in first and "“位置”" in first
    rest = chat.say("更多")
    assert "9. 第9号驿站" in rest and "12. 第12号驿站" in rest and "第8号驿站" not in rest


@pytest.mark.parametrize(("ask", "town"), [("溪口镇有驿站吗", "溪口镇"), ("溪口有没有职工驿站", "溪口镇"),
                                           ("城东街道的驿站在哪", "城东街道")])
def test_a_town_name_lists_that_towns_stations(chat: StationChat, ask: str, town: str) -> None:
    reply = chat.say(ask)
    assert f"{town}的职工驿站" in reply
    stations = chat.services.registry.stations(active_only=True)
    inside = [s["name"] for s in stations if town_of(s["address"]) == town]
    outside = [s["name"] for s in stations if town_of(s["address"]) != town]
    assert inside and all(name in reply for name in inside)
    assert not any(name in reply for name in outside)


def test_a_station_question_without_a_list_word_is_left_to_the_faq(chat: StationChat) -> None:
    for question in ("驿站有哪些服务", "驿站能充电吗", "我们站点有哪些福利"):
        assert "（共6个）" not in chat.say(question)


def test_a_location_in_the_county_lists_the_nearest(chat: StationChat) -> None:
    reply = chat.locate(*CITY)
    assert reply.startswith("离您最近的职工驿站") and "县总工会职工服务中心驿站" in reply


def test_a_location_far_outside_the_county_says_so(chat: StationChat) -> None:
    reply = chat.locate(39.9042, 116.4074)  # Beijing, about 1 100 km away
    assert "很远" in reply and "驿站列表" in reply and "12351" in reply
    assert "离您最近的职工驿站" not in reply and "溪口镇职工驿站" not in reply


def test_the_radius_is_configurable(tmp_path: Path, store: Store) -> None:
    near = StationChat(tmp_path, store, radius_km=5.0)
    assert "很远" in near.locate(30.70, 119.68)  # about 10 km north of the nearest
    (tmp_path / "default").mkdir()
    assert "很远" not in StationChat(tmp_path / "default", store).locate(30.70, 119.68)


@pytest.mark.parametrize(("lat", "lon"), [(float("inf"), 119.68), (30.6, float("-inf")), (float("nan"), 119.68),
                                          (float("nan"), float("nan")), (91.0, 119.68), (30.6, 181.0),
                                          (-90.5, 0.0)])
def test_a_location_that_is_no_place_gets_a_friendly_answer(chat: StationChat, lat: float, lon: float,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        reply = chat.locate(lat, lon)
    assert "请再发一次位置" in reply and "公里" not in reply and "抱歉" not in reply
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "unavailable" not in caplog.text and "failed" not in caplog.text
    assert chat.locate(*CITY).startswith("离您最近的职工驿站")  # the next real location works


@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "NaN", "Infinity", "91", "-91", "1e999", "abc", ""])
def test_the_parse_edge_drops_coordinates_that_are_no_place(raw: str) -> None:
    xml = (f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[u1]]></FromUserName>"
           f"<CreateTime>1</CreateTime><MsgType><![CDATA[location]]></MsgType><Location_X>{raw}</Location_X>"
           f"<Location_Y>119.6</Location_Y><Scale>15</Scale><Label><![CDATA[x]]></Label><MsgId>1</MsgId></xml>")
    message = parse(xml)
    assert message.kind == "location" and message.latitude is None and message.longitude == 119.6


@pytest.mark.parametrize(("lat", "lon", "ok"), [(30.6, 119.6, True), (90.0, 180.0, True), (-90.0, -180.0, True),
                                                (90.01, 0.0, False), (0.0, 180.5, False), (float("nan"), 0.0, False),
                                                (0.0, float("inf"), False), (None, 1.0, False)])
def test_valid_point(lat: float | None, lon: float | None, ok: bool) -> None:
    assert valid_point(lat, lon) is ok


@pytest.mark.parametrize(("lat", "lon"), [(float("inf"), 119.6), (float("nan"), 119.6), (91.0, 119.6),
                                          (30.6, 181.0), (89.0, 119.6)])
def test_the_directory_never_asks_redis_about_a_point_it_cannot_index(tmp_path: Path, store: Store, lat: float,
                                                                      lon: float, caplog) -> None:
    chat = StationChat(tmp_path, store)
    directory = StationDirectory(chat.services.registry, store)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        found = directory.nearest(lat, lon)
    assert not caplog.records, caplog.text
    if valid_point(lat, lon):  # 89° is a place, beyond Redis GEO's 85.05°: measured without the index
        assert found and found[0]["distance_km"] > 6000
    else:
        assert found == []


def test_the_handler_checks_the_point_itself() -> None:
    """Pure: whatever reaches the handler (a message built by other code), no finder is asked."""
    from bot.core.conversation import Context, Incoming

    class Finder:
        def station(self, code):  # pragma: no cover - not used
            return None

        def all(self):  # pragma: no cover - not used
            return []

        def nearest(self, latitude, longitude, count=3):
            raise AssertionError("asked about a point that is no place")

    message = Incoming(user="u", kind="location", latitude=float("nan"), longitude=119.6)
    outcome = stations_handler.handle({}, message, Context(stations=Finder()))
    assert outcome is not None and "请再发一次位置" in outcome.replies[0]
