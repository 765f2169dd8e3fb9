"""Stations: the YAML staff edit, import into the registry, the geo index, the finder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.registry.repository import Registry
from bot.signup.privacy import IdCipher, generate_key
from bot.stations.directory import (
    GEO_NAME,
    StationDirectory,
    StationsError,
    distance_km,
    import_stations,
    load_stations,
)
from bot.storage.store import Store

EXAMPLE = Path(__file__).resolve().parent.parent / "knowledge" / "stations.yaml"
NEAR_ST005 = (30.6090, 119.6950)  # a few dozen metres from 骑手之家（万达广场）


@pytest.fixture
def registry(database_url: str) -> Iterator[Registry]:
    reg = Registry.from_url(database_url, IdCipher(generate_key()))
    reg.upgrade()
    yield reg
    reg.close()


def write(tmp_path: Path, text: str, name: str = "stations.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


STATION = """\
  - code: {code}
    name: {name}
    address: 青溪县某路1号
    latitude: {lat}
    longitude: {lon}
    hours: 每天 8:00-20:00
    union: 县总工会
"""


# -- loading -------------------------------------------------------------------------------------


def test_the_shipped_example_is_valid() -> None:
    stations = load_stations(EXAMPLE)
    assert [s["code"] for s in stations] == ["ST001", "ST002", "ST003", "ST004", "ST005", "ST006"]
    assert all(s["name"] and s["address"] and s["hours"] and s["union_name"] for s in stations)
    assert EXAMPLE.read_text(encoding="utf-8").startswith("# 职工驿站")


def test_errors_name_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, (
        "stations:\n"                       # 1
        "  - code: ST001\n"                 # 2
        "    name: 甲驿站\n"                # 3
        "    address: 某路1号\n"            # 4
        "    latitude: 119.68\n"            # 5  swapped with longitude
        "    longitude: 30.60\n"            # 6
        "  - code: ST002\n"                 # 7
        "    name: 乙驿站\n"                # 8  address missing
        "    latitude: 30.6\n"              # 9
        "    longitude: east\n"             # 10 not a number
        "  - code: ST001\n"                 # 11 duplicate
        "    name: 丙驿站\n"                # 12
        "    adress: 某路3号\n"             # 13 typo
        "    address: 某路3号\n"            # 14
        "    latitude: 30.6\n"              # 15
        "    longitude: 119.7\n"            # 16
        "    hours: 9:30\n"                 # 17 YAML reads this as the number 570
    ))
    with pytest.raises(StationsError) as caught:
        load_stations(path)
    errors = caught.value.errors
    text = "\n".join(errors)
    assert f"{path}:5: latitude 119.68 out of range" in text and "swapped" in text
    assert f"{path}:7: station ST002: missing address" in text
    assert f"{path}:10: longitude 'east' is not a number" in text
    assert f"{path}:13: unknown key 'adress'" in text
    assert f"{path}:17: hours must be text" in text
    # the third station has other errors, so the duplicate is reported once it is fixed:
    fixed = path.read_text(encoding="utf-8").replace("    adress: 某路3号\n", "").replace("9:30", '"9:30"')
    fixed = fixed.replace("latitude: 119.68", "latitude: 30.60").replace("longitude: 30.60", "longitude: 119.68")
    fixed = fixed.replace("    name: 乙驿站\n", "    name: 乙驿站\n    address: 某路2号\n")
    fixed = fixed.replace("longitude: east", "longitude: 119.69")
    with pytest.raises(StationsError) as caught:
        load_stations(write(tmp_path, fixed))
    assert caught.value.errors == [f"{path}:12: duplicate code 'ST001' (first used on line 2)"]


def test_bad_yaml_and_wrong_shape(tmp_path: Path) -> None:
    with pytest.raises(StationsError, match=r"stations.yaml:3: not valid YAML"):
        load_stations(write(tmp_path, "stations:\n  - code: ST001\n   name: [unclosed\n"))
    with pytest.raises(StationsError, match="top-level `stations:` list"):
        load_stations(write(tmp_path, "- code: ST001\n"))
    with pytest.raises(StationsError, match="file not found"):
        load_stations(tmp_path / "nope.yaml")
    with pytest.raises(StationsError, match="given twice"):
        load_stations(write(tmp_path, "stations:\n" + STATION.format(code="A", name="甲", lat=30, lon=119)
                            + "    name: 又一个名字\n"))
    assert load_stations(write(tmp_path, "stations:\n")) == []


# -- import and geo ------------------------------------------------------------------------------


def test_import_is_idempotent_and_reports_changes(registry: Registry, store: Store, tmp_path: Path) -> None:
    path = tmp_path / "stations.yaml"
    shutil.copy(EXAMPLE, path)

    first = import_stations(registry, store, path)
    assert first.added == ["ST001", "ST002", "ST003", "ST004", "ST005", "ST006"]
    assert (first.changed, first.unchanged, first.removed, first.indexed) == ([], [], [], 6)

    again = import_stations(registry, store, path)
    assert (again.added, again.changed, again.removed) == ([], [], [])
    assert len(again.unchanged) == 6 and not again.touched

    text = path.read_text(encoding="utf-8")
    text = text.replace("每天 7:00-22:00", "每天 6:30-22:30")  # ST003 changes its hours
    start = text.index("  - code: ST004")
    end = text.index("  - code: ST005")
    text = text[:start] + text[end:]  # ST004 closes
    text += STATION.format(code="ST007", name="新驿站", lat=30.59, lon=119.65)
    path.write_text(text, encoding="utf-8")

    third = import_stations(registry, store, path)
    assert (third.added, third.changed, third.removed) == (["ST007"], ["ST003"], ["ST004"])
    assert len(third.unchanged) == 4 and third.indexed == 6
    assert registry.station("ST003")["hours"] == "每天 6:30-22:30"
    assert registry.station("ST004")["active"] is False
    assert "ST004" not in {code for code, _ in store.nearest(GEO_NAME, 30.6, 119.66, count=10)}

    # a closed station that comes back is a change, not an addition
    shutil.copy(EXAMPLE, path)
    back = import_stations(registry, store, path)
    assert back.changed == ["ST003", "ST004"] and back.removed == ["ST007"] and back.added == []


def test_a_bad_file_changes_nothing(registry: Registry, store: Store, tmp_path: Path) -> None:
    import_stations(registry, store, EXAMPLE)
    bad = write(tmp_path, "stations:\n" + STATION.format(code="ST001", name="甲", lat="north", lon=119))
    with pytest.raises(StationsError):
        import_stations(registry, store, bad)
    assert len(registry.stations()) == 6
    assert len(store.nearest(GEO_NAME, 30.6, 119.68, count=10)) == 6


def test_nearest_stations(registry: Registry, store: Store) -> None:
    import_stations(registry, store, EXAMPLE)
    directory = StationDirectory(registry, store)
    found = directory.nearest(*NEAR_ST005)
    assert [s["code"] for s in found][:1] == ["ST005"] and len(found) == 3
    assert found[0]["name"] == "骑手之家（万达广场）" and found[0]["hours"] and found[0]["address"]
    assert found[0]["distance_km"] < 0.2
    distances = [s["distance_km"] for s in found]
    assert distances == sorted(distances)
    assert len(directory.nearest(*NEAR_ST005, count=1)) == 1
    assert len(directory.nearest(*NEAR_ST005, count=10)) == 6
    # Redis and the fallback measure alike
    st = registry.station("ST005")
    assert found[0]["distance_km"] == pytest.approx(
        distance_km(*NEAR_ST005, st["latitude"], st["longitude"]), abs=0.01)

    assert directory.station("ST002")["name"] == "城东物流园职工驿站"
    assert directory.station("ST999") is None and directory.station("") is None


def test_empty_index_is_rebuilt_from_the_registry(registry: Registry, store: Store) -> None:
    import_stations(registry, None, EXAMPLE)  # e.g. imported by a process with its own memory store
    assert store.nearest(GEO_NAME, *NEAR_ST005) == []
    found = StationDirectory(registry, store).nearest(*NEAR_ST005)
    assert found[0]["code"] == "ST005"
    assert len(store.nearest(GEO_NAME, *NEAR_ST005, count=10)) == 6


def test_without_redis_nearest_measures_every_station(registry: Registry, store: Store) -> None:
    import_stations(registry, store, EXAMPLE)
    with_geo = StationDirectory(registry, store).nearest(*NEAR_ST005)
    down = Store.from_url("redis://127.0.0.1:1/0")
    assert [s["code"] for s in StationDirectory(registry, down).nearest(*NEAR_ST005)] == \
        [s["code"] for s in with_geo]
    scanned = StationDirectory(registry, None).nearest(*NEAR_ST005)
    assert [s["code"] for s in scanned] == [s["code"] for s in with_geo]
    assert [s["distance_km"] for s in scanned] == pytest.approx([s["distance_km"] for s in with_geo], abs=0.01)
    report = import_stations(registry, down, EXAMPLE)
    assert report.geo_error and report.unchanged


# -- the command ---------------------------------------------------------------------------------


def test_stations_import_command(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("UNIONBOT_DATABASE_URL", "UNIONBOT_STORE_URL", "UNIONBOT_REGISTRY_ID_KEY", "UNIONBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    shutil.copy(EXAMPLE, knowledge / "stations.yaml")
    config = write(tmp_path, (
        f'[database]\nurl = "{database_url}"\n[store]\nurl = "memory://stations-cli"\n'
        f'[knowledge]\ndir = "{knowledge}"\n[registry]\nid_key = "{generate_key()}"\n'
    ), "unionbot.toml")
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade", "--config", str(config)]).exit_code == 0

    result = runner.invoke(main, ["stations", "import", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "+ ST001 县总工会职工服务中心驿站" in result.output
    assert "新增 6，修改 0，未变 0，停用 0" in result.output

    result = runner.invoke(main, ["stations", "import", "--config", str(config)])
    assert "新增 0，修改 0，未变 6，停用 0" in result.output

    bad = write(tmp_path, "stations:\n  - code: ST001\n")
    result = runner.invoke(main, ["stations", "import", str(bad), "--config", str(config)])
    assert result.exit_code == 1
    assert f"{bad}:2: station ST001: missing name" in result.output
    assert "没有导入任何内容" in result.output

    result = runner.invoke(main, ["stations", "list", "--config", str(config)])
    assert result.exit_code == 0 and "ST006  溪口镇职工驿站" in result.output
