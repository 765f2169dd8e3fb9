"""Worker stations (职工驿站): the YAML list staff edit, its import, the geo index, the finder.

``knowledge/stations.yaml`` is the source of truth. ``unionbot stations import`` validates it
(every problem reported as ``file:line: message``; nothing is written when there is one), makes
the registry's active stations match it, and rebuilds the Redis GEO index the bot answers location
messages from. :class:`StationDirectory` is the :class:`bot.core.conversation.StationFinder` handlers use.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.registry.repository import Registry
from bot.stations.places import valid_point
from bot.storage.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

GEO_NAME = "stations"
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_GEO_LATITUDE = 85.05112878  # Redis GEO cannot index beyond this
EARTH_RADIUS_KM = 6372.7976  # the sphere Redis GEO measures on, so both paths agree

REQUIRED = ("code", "name", "address", "latitude", "longitude")
OPTIONAL = ("hours", "union")


class StationsError(ValueError):
    """The stations file has problems; ``errors`` lists them as ``file:line: message``."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# -- loading -------------------------------------------------------------------------------------


class _Located(dict):  # type: ignore[type-arg]
    """A mapping that remembers the line it started on and the line of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    duplicate_keys: list[tuple[int, str]]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Located:
    loader.flatten_mapping(node)
    result = _Located()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result.key_lines:
            loader.duplicate_keys.append((key_node.start_mark.line + 1, str(key)))
        result.key_lines[key] = key_node.start_mark.line + 1
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_stations(path: str | Path) -> list[dict[str, Any]]:
    """Read and validate the stations file; raise :class:`StationsError` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StationsError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StationsError([f"{path}: cannot read ({exc})"]) from None
    loader = _LineLoader(text)
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise StationsError([f"{where}: not valid YAML ({problem})"]) from None
    finally:
        loader.dispose()

    errors = [f"{path}:{line}: key {key!r} given twice" for line, key in loader.duplicate_keys]
    if data is None:
        items: Any = []
    elif isinstance(data, Mapping) and set(data) <= {"stations"}:
        items = data.get("stations") or []
    else:
        raise StationsError([f"{path}:1: expected a top-level `stations:` list"])
    if not isinstance(items, list):
        raise StationsError([f"{path}:{data.key_lines.get('stations', 1)}: `stations` must be a list"])

    stations: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    for index, item in enumerate(items, start=1):
        if not isinstance(item, _Located):
            errors.append(f"{path}: station #{index}: expected `code: ...`, `name: ...` lines")
            continue
        station, problems = _validate(item, f"{path}:{item.line}")
        errors.extend(problems)
        if station is None:
            continue
        code = station["code"]
        if code in first_line:
            errors.append(f"{path}:{item.key_lines.get('code', item.line)}: duplicate code {code!r} "
                          f"(first used on line {first_line[code]})")
            continue
        first_line[code] = item.key_lines.get("code", item.line)
        stations.append(station)
    if errors:
        raise StationsError(errors)
    return stations


def _validate(item: _Located, where: str) -> tuple[dict[str, Any] | None, list[str]]:
    def at(key: str) -> str:
        return where.rsplit(":", 1)[0] + f":{item.key_lines.get(key, item.line)}"

    errors = []
    for key in item:
        if key not in REQUIRED and key not in OPTIONAL:
            errors.append(f"{at(key)}: unknown key {key!r} (known: {', '.join(REQUIRED + OPTIONAL)})")
    for key in REQUIRED:
        value = item.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.append(f"{where}: station {item.get('code') or '?'}: missing {key}")
    code = str(item.get("code") if item.get("code") is not None else "").strip()
    if code and not CODE_PATTERN.match(code):
        errors.append(f"{at('code')}: code {code!r} may only use letters, digits, - and _ (at most 32)")

    coords: dict[str, float] = {}
    for key, limit in (("latitude", MAX_GEO_LATITUDE), ("longitude", 180.0)):
        raw = item.get(key)
        if raw is None or raw == "":
            continue
        try:
            value = float(raw)
        except (TypeError, ValueError):
            errors.append(f"{at(key)}: {key} {raw!r} is not a number")
            continue
        if isinstance(raw, bool) or not math.isfinite(value) or abs(value) > limit:
            hint = " (latitude and longitude swapped?)" if key == "latitude" and abs(value) <= 180 else ""
            errors.append(f"{at(key)}: {key} {raw!r} out of range ±{limit:g}{hint}")
            continue
        coords[key] = value
    if coords.get("latitude") == 0.0 and coords.get("longitude") == 0.0:
        errors.append(f"{at('latitude')}: coordinates 0, 0 look like a placeholder")
    for key in ("name", "address", "hours", "union"):
        if item.get(key) is not None and not isinstance(item.get(key), str):
            # e.g. `hours: 9:30` is read by YAML as the number 570
            errors.append(f"{at(key)}: {key} must be text; put it in quotes: {key}: \"...\"")
    if errors:
        return None, errors
    return {
        "code": code,
        "name": str(item["name"]).strip(),
        "address": str(item["address"]).strip(),
        "latitude": coords["latitude"],
        "longitude": coords["longitude"],
        "hours": str(item.get("hours") or "").strip(),
        "union_name": str(item.get("union") or "").strip(),
    }, []


# -- import and geo index ------------------------------------------------------------------------


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    """Stations no longer in the file: deactivated (members keep their station)."""
    indexed: int = 0
    geo_error: str | None = None
    """Why the geo index could not be rebuilt (the bot rebuilds it from the database later)."""

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def import_stations(registry: Registry, store: Store | None, path: str | Path) -> ImportReport:
    """Make the registry's active stations match the file and rebuild the geo index. Idempotent."""
    stations = load_stations(path)
    sync = registry.sync_stations(stations)
    report = ImportReport(sync.added, sync.changed, sync.unchanged, sync.removed)
    if store is not None:
        try:
            report.indexed = rebuild_geo_index(registry, store)
        except StoreUnavailable as exc:
            report.geo_error = str(exc)
            log.warning("stations imported but the geo index was not rebuilt: %s", exc)
    return report


def rebuild_geo_index(registry: Registry, store: Store) -> int:
    """Replace the geo index with the registry's active stations; returns how many."""
    points = [(s["code"], s["latitude"], s["longitude"]) for s in registry.stations(active_only=True)]
    store.replace_geo(GEO_NAME, points)
    return len(points)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) on the same sphere Redis uses."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class StationDirectory:
    """Stations by code and nearest to a point (the :class:`~bot.core.conversation.StationFinder`).

    Nearest uses the Redis GEO index; an empty index (a fresh embedded store, a flushed Redis) is
    rebuilt from the registry on first use, and with Redis down it falls back to measuring every
    active station (a county has dozens, not thousands).
    """

    def __init__(self, registry: Registry, store: Store | None) -> None:
        self.registry = registry
        self.store = store

    def station(self, code: str) -> dict[str, Any] | None:
        """The station with this code (``active`` tells whether it still operates), or None."""
        return self.registry.station(code.strip()) if code and code.strip() else None

    def all(self) -> list[dict[str, Any]]:
        """The active stations, by code (the list workers page through)."""
        return sorted(self.registry.stations(active_only=True), key=lambda s: s["code"])

    def nearest(self, latitude: float, longitude: float, count: int = 3) -> list[dict[str, Any]]:
        """Up to ``count`` active stations nearest to the point (none for a point that is not one)."""
        if not valid_point(latitude, longitude):
            return []
        indexed = self.store is not None and abs(latitude) <= MAX_GEO_LATITUDE
        hits = self._from_index(latitude, longitude, count) if indexed else None
        if hits is None:
            return self._by_scan(latitude, longitude, count)
        by_code = {s["code"]: s for s in self.registry.stations(codes=[code for code, _ in hits])}
        result = [by_code[code] | {"distance_km": round(dist, 2)} for code, dist in hits if code in by_code]
        return result[:count]

    def _from_index(self, latitude: float, longitude: float, count: int) -> list[tuple[str, float]] | None:
        assert self.store is not None
        want = count + 5  # a few spare in case the index still holds a deactivated station
        try:
            hits = self.store.nearest(GEO_NAME, latitude, longitude, count=want)
            if not hits and rebuild_geo_index(self.registry, self.store):
                log.info("station geo index was empty; rebuilt it from the registry")
                hits = self.store.nearest(GEO_NAME, latitude, longitude, count=want)
            return hits
        except StoreUnavailable as exc:
            log.warning("store unavailable for nearest stations, measuring all of them: %s", exc)
            return None

    def _by_scan(self, latitude: float, longitude: float, count: int) -> list[dict[str, Any]]:
        ranked = sorted(
            ((distance_km(latitude, longitude, s["latitude"], s["longitude"]), s["code"], s)
             for s in self.registry.stations(active_only=True)),
            key=lambda t: (t[0], t[1]),
        )
        return [s | {"distance_km": round(d, 2)} for d, _, s in ranked[:count]]
