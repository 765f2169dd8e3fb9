"""职工驿站: the list (paged), a town's stations, and the three nearest to a location the worker sends."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.core.conversation import Context, Incoming, Outcome, State
from bot.core.words import Trigger, command_word
from bot.stations.places import town_of, valid_point

NEAREST_COUNT = 3
TRIGGER = Trigger(
    words=frozenset({
        "驿站", "附近驿站", "最近的驿站", "附近的驿站", "最近驿站", "找驿站", "驿站在哪", "驿站在哪里", "职工驿站", "附近职工驿站",
        "附近的职工驿站", "查驿站", "驿站地址"
    }),
    menu_keys=frozenset({"STATIONS", "NEAREST_STATIONS", "STATION"}),
)
"""驿站 typed, or the 附近驿站 menu button: the station list, with how to send a location."""

STATION_WORDS = re.compile(r"驿站|服务站")
LIST_RE = re.compile(
    r"(?:哪些|哪几个|几个|几家|多少个?|全部|所有|全部的|所有的)(?:职工)?(?:驿站|服务站)"
    r"|(?:驿站|服务站)(?:的)?(?:列表|名单|清单|目录|一览|地址都|都在哪|在哪些|有几个|有哪几个)"
    r"|^(?:职工)?(?:驿站|服务站)(?:都)?(?:有哪些|有几个|有哪几个)$"
)
"""Asking for the whole list: 驿站列表, 有哪些驿站, 县里有几个驿站 (not 驿站有哪些服务, a question)."""
LIST_AFTER_ASKING = re.compile(r"列表|名单|清单|全部|所有|一览")
"""Right after being asked for a location: 直接给我看列表."""
PAGE_SIZE = 8
"""Stations a reply lists (about 1.5 of WeChat's 2 KB); the rest come with 更多."""
HOW_TO_LOCATE = "想找离您最近的：点聊天框右下角“+”→“位置”，选好后点“发送”，我帮您找最近的{count}个。"
INVALID_LOCATION_TEXT = "这个位置的坐标读不出来，请再发一次位置；也可以回复“驿站列表”查看全部职工驿站。"
NO_STATIONS_TEXT = "暂时没有可以查询的职工驿站。想了解驿站或有事需要帮忙，可以拨打职工服务热线 {hotline}。"


def format_distance(km: float | None) -> str:
    """0.35 → 350米, 0.8 → 0.8公里, 12.0 → 12公里; under 50 m → 不到50米."""
    if km is None or km < 0:
        return ""
    if km < 0.05:
        return "不到50米"
    if km < 0.5:
        return f"{round(km * 100) * 10}米"
    text = f"{km:.1f}".removesuffix(".0")
    return f"{text}公里"


def _station_lines(index: int, station: Mapping[str, Any]) -> list[str]:
    distance = format_distance(station.get("distance_km"))
    head = f"{index}. {station.get('name') or station.get('code') or '驿站'}"
    if distance:
        head += f"（{distance}）"
    lines = [head]
    if station.get("address"):
        lines.append(f"   地址：{station['address']}")
    if station.get("hours"):
        lines.append(f"   开放：{station['hours']}")
    return lines


def nearest_text(stations: list[Mapping[str, Any]]) -> str:
    lines = ["离您最近的职工驿站："]
    for i, station in enumerate(stations, 1):
        lines += _station_lines(i, station)
    lines.append("驿站可以歇脚、喝水、充电。想入会回复“入会”。")
    return "\n".join(lines)


def far_text(nearest_km: float, ctx: Context) -> str:
    """A location outside the county: say so rather than list stations that far away."""
    return (f"您发的位置离{ctx.union_name}的职工驿站都很远（最近的也有{format_distance(nearest_km)}），"
            f"我们的驿站都在本县范围内。回复“驿站列表”可以查看全部驿站的地址；"
            f"在外地需要帮忙，可以拨打当地职工服务热线 {ctx.hotline}。")


def list_pages(stations: list[Mapping[str, Any]], title: str) -> tuple[str, str]:
    """(first page, the rest for 更多): ``PAGE_SIZE`` stations a page, with how to send a location."""
    lines = [f"{title}（共{len(stations)}个）："]
    for i, station in enumerate(stations[:PAGE_SIZE], 1):
        lines += _station_lines(i, station)
    rest = [line for i, station in enumerate(stations[PAGE_SIZE:], PAGE_SIZE + 1)
            for line in _station_lines(i, station)]
    if rest:
        lines.append(f"还有{len(stations) - PAGE_SIZE}个，回复“更多”接着看。")
    lines.append(HOW_TO_LOCATE.format(count=NEAREST_COUNT))
    return "\n".join(lines), "\n".join(rest)


def _wants_list(word: str, state: State) -> bool:
    """驿站列表, 有哪些驿站; or, right after being asked for a location, 直接给我看列表."""
    return bool(LIST_RE.search(word)) or (bool(state.get("awaiting_location"))
                                          and bool(LIST_AFTER_ASKING.search(word)))


def _in_town(word: str, stations: list[Mapping[str, Any]]) -> tuple[str, list[Mapping[str, Any]]] | None:
    """溪口镇有驿站吗 (or 溪口有驿站吗): the town named and its stations, when a station's address names it."""
    if not STATION_WORDS.search(word):
        return None
    towns = {town_of(str(s.get("address") or "")) for s in stations} - {""}
    for town in sorted(towns, key=len, reverse=True):
        stem = re.sub(r"(镇|乡|街道|新区|开发区)$", "", town)
        if town in word or (len(stem) >= 2 and stem in word):
            return town, [s for s in stations if town_of(str(s.get("address") or "")) == town]
    return None


def _location(state: State, message: Incoming, ctx: Context) -> Outcome:
    new = {k: v for k, v in state.items() if k != "awaiting_location"}
    if not valid_point(message.latitude, message.longitude):
        return Outcome(state=new, replies=(INVALID_LOCATION_TEXT,))
    assert message.latitude is not None and message.longitude is not None
    found = []
    if ctx.stations is not None:
        found = list(ctx.stations.nearest(message.latitude, message.longitude, count=NEAREST_COUNT))
    if not found:
        text = f"附近暂时没找到职工驿站。想了解驿站或有事需要帮忙，可以拨打职工服务热线 {ctx.hotline}。"
        return Outcome(state=new, replies=(text,))
    closest = found[0].get("distance_km")
    if closest is not None and closest > ctx.station_radius_km:
        return Outcome(state=new, replies=(far_text(closest, ctx),))
    return Outcome(state=new, replies=(nearest_text(found[:NEAREST_COUNT]),))


def _listing(state: State, stations: list[Mapping[str, Any]], title: str, ctx: Context) -> Outcome:
    new = dict(state, awaiting_location=True)
    new.pop("more", None)
    if not stations:
        return Outcome(state=new, replies=(NO_STATIONS_TEXT.format(hotline=ctx.hotline),))
    page, rest = list_pages(stations, title)
    if rest:
        new["more"] = rest
    return Outcome(state=new, replies=(page,))


def handle(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """A location → the nearest stations (or that it is outside the county); 驿站, 驿站列表 → the
    list, paged, with how to send a location; 溪口镇有驿站吗 → that town's stations; else None."""
    if message.kind == "location":
        return _location(state, message, ctx)
    word = command_word(message.text) if message.is_text_like else ""
    if not (TRIGGER(message) or _wants_list(word, state) or STATION_WORDS.search(word)):
        return None
    stations = list(ctx.stations.all()) if ctx.stations is not None else []
    town = _in_town(word, stations) if word else None
    if town is not None:
        return _listing(state, town[1], f"{town[0]}的职工驿站", ctx)
    if TRIGGER(message) or _wants_list(word, state):
        return _listing(state, stations, "职工驿站", ctx)
    return None
