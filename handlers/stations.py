"""附近驿站: the three worker stations nearest to a location the worker sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.conversation import Context, Incoming, Outcome, State
from bot.core.words import Trigger

NEAREST_COUNT = 3
TRIGGER = Trigger(
    words=frozenset({
        "驿站", "附近驿站", "最近的驿站", "附近的驿站", "最近驿站", "找驿站", "驿站在哪", "驿站在哪里", "职工驿站", "附近职工驿站",
        "附近的职工驿站", "查驿站", "驿站地址"
    }),
    menu_keys=frozenset({"STATIONS", "NEAREST_STATIONS", "STATION"}),
)
"""驿站 typed, or the 附近驿站 menu button: ask for the worker's location."""

ASK_LOCATION_TEXT = (
    "请发一下您的位置：点聊天框右下角“+”→“位置”，选好后点“发送”。我帮您找最近的{count}个职工驿站。"
)


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


def handle(state: State, message: Incoming, ctx: Context) -> Outcome | None:
    """A location message → nearest stations; 驿站/附近驿站 → ask for the location; else None."""
    if message.kind == "location":
        if message.latitude is None or message.longitude is None:
            return Outcome(state=state, replies=("没收到位置坐标，请再发一次位置。",))
        found = []
        if ctx.stations is not None:
            found = list(ctx.stations.nearest(message.latitude, message.longitude, count=NEAREST_COUNT))
        if not found:
            text = f"附近暂时没找到职工驿站。想了解驿站或有事需要帮忙，可以拨打职工服务热线 {ctx.hotline}。"
            return Outcome(state=state, replies=(text,))
        return Outcome(state=state, replies=(nearest_text(found[:NEAREST_COUNT]),))
    if TRIGGER(message):
        return Outcome(state=state, replies=(ASK_LOCATION_TEXT.format(count=NEAREST_COUNT),))
    return None
