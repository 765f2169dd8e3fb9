"""Stand-ins for the registry-backed services handlers read through :class:`Context`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class FakeMembers:
    """Members by openid; ``id_numbers`` maps an ID number to the openid that applied with it."""

    def __init__(self, members: Mapping[str, Mapping[str, Any]] | None = None,
                 id_numbers: Mapping[str, str] | None = None) -> None:
        self.members = dict(members or {})
        self.id_numbers = dict(id_numbers or {})

    def find_by_openid(self, openid: str) -> Mapping[str, Any] | None:
        return self.members.get(openid)

    def id_number_taken(self, id_number: str, openid: str) -> bool:
        return self.id_numbers.get(id_number, openid) != openid


class FakeStations:
    """A fixed list of stations: looked up by code; "nearest" is the list's order, recorded."""

    def __init__(self, stations: Iterable[Mapping[str, Any]] = ()) -> None:
        self.stations = list(stations)
        self.calls: list[tuple[float, float, int]] = []

    def station(self, code: str) -> Mapping[str, Any] | None:
        return next((s for s in self.stations if s["code"] == code), None)

    def all(self) -> list[Mapping[str, Any]]:
        return self.stations

    def nearest(self, latitude: float, longitude: float, count: int = 3) -> list[Mapping[str, Any]]:
        self.calls.append((latitude, longitude, count))
        return self.stations[:count]
