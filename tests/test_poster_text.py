"""What a station poster tells a worker before scanning, how long names wrap, and `unionbot qr`
refusing a code the database does not have (its scans would credit no station)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.registry.repository import Registry
from bot.stations.directory import import_stations
from bot.stations.posters import JOIN_FACTS, footer_lines, render_poster, wrap_text

STATIONS = """\
stations:
  - code: ST001
    name: 县总工会职工服务中心驿站
    address: 青溪县城关镇人民路88号
    latitude: 30.60512
    longitude: 119.68127
    hours: 每天 8:00-20:00
  - code: ST007
    name: 新开的驿站
    address: 青溪县溪口镇1号
    latitude: 30.53
    longitude: 119.61
"""


def test_the_poster_says_what_a_worker_wants_to_know() -> None:
    assert "入会免费" in JOIN_FACTS and "两分钟" in JOIN_FACTS and "身份证号" in JOIN_FACTS
    lines = footer_lines("ST001", "每天 8:00-20:00", "12351")
    assert lines == ["站点编号  ST001", "驿站开放：每天 8:00-20:00", "职工服务热线 12351"]
    assert footer_lines("ST002", "", "0571-12351") == ["站点编号  ST002", "职工服务热线 0571-12351"]


def width(n: int):
    return lambda line: len(line) <= n


@pytest.mark.parametrize(("name", "n", "lines"), [
    ("外卖骑手之家驿站", 5, ["外卖骑手", "之家驿站"]),
    ("城东物流园职工驿站（快递外卖骑手之家，全天24小时开放）", 10,
     ["城东物流园职工驿站", "（快递外卖骑手之家，", "全天24小时开放）"]),
    ("骑手之家（万达广场）", 7, ["骑手之家", "（万达广场）"]),
    ("高铁站前广场户外劳动者服务站", 10, ["高铁站前广场户外", "劳动者服务站"]),
    ("城东物流园职工驿站", 8, ["城东物流园职工", "驿站"]),
    ("县总工会职工服务中心驿站", 20, ["县总工会职工服务中心驿站"]),
])
def test_long_names_wrap_between_words(name: str, n: int, lines: list[str]) -> None:
    assert wrap_text(name, width(n)) == lines


@pytest.mark.parametrize("name", ["城东物流园职工驿站（快递外卖骑手之家，全天24小时开放）", "外卖骑手之家驿站",
                                  "环卫工人爱心驿站（西门）", "ABC物流STATION001号驿站", "一二三四五六七八九十甲"])
@pytest.mark.parametrize("n", [3, 4, 5, 6, 7, 9, 12])
def test_wrapping_keeps_every_character_and_leaves_none_dangling(name: str, n: int) -> None:
    lines = wrap_text(name, width(n))
    assert "".join(lines) == name
    assert all(len(line) >= 2 for line in lines), lines
    for a, b in zip(lines, lines[1:], strict=False):  # latin and digit runs that fit a line stay whole
        assert n < 12 or not (a[-1].isascii() and a[-1].isalnum() and b[0].isascii() and b[0].isalnum()), lines


def test_the_poster_is_drawn_with_hours_and_hotline(tmp_path: Path) -> None:
    poster = render_poster("青溪县总工会", "外卖骑手之家（万达广场北门临时服务点）", "ST005", "unionbot:join:ST005",
                           tmp_path / "p.png", hours="每天 10:00-次日2:00", hotline="12351")
    assert poster.path.is_file() and poster.module_px >= 20


@pytest.fixture
def registered(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A stations file and a database that has only ST001 (ST007 was added to the file later)."""
    path = tmp_path / "stations.yaml"
    path.write_text(STATIONS.split("  - code: ST007")[0], encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    registry = Registry.from_url(url)
    registry.create_schema()
    import_stations(registry, None, path)
    path.write_text(STATIONS, encoding="utf-8")
    return path, {"UNIONBOT_CONFIG": "", "UNIONBOT_DATABASE_URL": url}


def test_qr_refuses_a_code_the_database_does_not_have(tmp_path: Path, registered) -> None:
    path, env = registered
    out = tmp_path / "posters"
    for args in (["ST007"], ["--all"]):
        result = CliRunner().invoke(main, ["qr", *args, "--out", str(out), "--stations", str(path)], env=env)
        assert result.exit_code == 1
        assert "ST007 不在数据库里" in result.output and "unionbot stations import" in result.output
        assert not out.exists() or not list(out.iterdir())
    ok = CliRunner().invoke(main, ["qr", "ST001", "--out", str(out), "--stations", str(path)], env=env)
    assert ok.exit_code == 0, ok.output
    assert (out / "ST001.png").is_file()


def test_qr_refuses_a_deactivated_station(tmp_path: Path, registered) -> None:
    path, env = registered
    registry = Registry.from_url(env["UNIONBOT_DATABASE_URL"])
    only_new = tmp_path / "only_new.yaml"
    only_new.write_text("stations:\n  - code: ST007" + STATIONS.split("  - code: ST007")[1], encoding="utf-8")
    import_stations(registry, None, only_new)  # ST001 is no longer in the file: deactivated
    result = CliRunner().invoke(main, ["qr", "ST001", "--out", str(tmp_path / "o"), "--stations", str(path)],
                                env=env)
    assert result.exit_code == 1 and "ST001 不在数据库里（或已停用）" in result.output
