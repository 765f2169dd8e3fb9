"""Station posters and ``unionbot qr``: size, QR content, WeChat mode against the fake API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import segno
from click.testing import CliRunner
from fake_wechat_api import FakeWechatApi
from PIL import Image, ImageDraw

import bot.stations.posters as posters
from bot.cli import main
from bot.registry.repository import Registry
from bot.stations.directory import import_stations
from bot.stations.posters import HEIGHT, WIDTH, PosterError, find_cjk_font, local_payload, render_poster

STATIONS = """\
stations:
  - code: ST001
    name: 县总工会职工服务中心驿站
    address: 人民路88号
    latitude: 30.60512
    longitude: 119.68127
    hours: 每天 8:00-20:00
  - code: ST002
    name: 城东物流园职工驿站（快递外卖骑手之家，全天24小时开放）
    address: 物流园区3号楼
    latitude: 30.61188
    longitude: 119.70235
"""


def qr_matrix_in(image: Image.Image, poster: posters.Poster) -> list[list[bool]]:
    """Read the QR modules back from the pixels at each module's centre."""
    gray = image.convert("L")
    half = poster.module_px // 2
    return [
        [gray.getpixel((poster.qr_left + c * poster.module_px + half, poster.qr_top + r * poster.module_px + half)) < 128
         for c in range(poster.modules)]
        for r in range(poster.modules)
    ]


def assert_encodes(path: Path, poster: posters.Poster, payload: str) -> None:
    image = Image.open(path)
    try:
        import zxingcpp  # optional: a real decoder, when installed
    except ImportError:
        expected = segno.make(payload, error="m", micro=False)
        want = [[bool(v) for v in row] for row in expected.matrix_iter(scale=1, border=4)]
        assert qr_matrix_in(image, poster) == want
    else:
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [payload]


@pytest.fixture
def stations_file(tmp_path: Path) -> Path:
    path = tmp_path / "stations.yaml"
    path.write_text(STATIONS, encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path: Path, stations_file: Path) -> dict[str, str]:
    """No config file, and a database the stations file was imported into (posters need it)."""
    url = f"sqlite:///{tmp_path / 'stations.db'}"
    registry = Registry.from_url(url)
    registry.create_schema()
    import_stations(registry, None, stations_file)
    return {"UNIONBOT_CONFIG": "", "UNIONBOT_DATABASE_URL": url}


def test_render_poster_size_and_qr(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "ST001.png"
    poster = render_poster("青溪县总工会", "县总工会职工服务中心驿站", "ST001", local_payload("ST001"), out)
    assert poster.path == out
    with Image.open(out) as image:
        assert image.size == (WIDTH, HEIGHT) == (1748, 2480)
        assert image.format == "PNG"
        assert round(image.info["dpi"][0]) == 300
    assert poster.module_px >= 20  # big enough to scan from a wall
    assert_encodes(out, poster, "unionbot:join:ST001")


def test_long_names_are_wrapped_not_cut(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every character of a long union or station name is drawn, over more than one line, each
    line within the poster's margins; and the QR code still reads."""
    drawn: list[tuple[str, float]] = []
    text = ImageDraw.ImageDraw.text

    def recording(self: ImageDraw.ImageDraw, xy: tuple[int, int], line: str, *args: Any, **kwargs: Any) -> None:
        drawn.append((line, self.textlength(line, font=kwargs["font"]) + 2 * kwargs.get("stroke_width", 0)))
        return text(self, xy, line, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", recording)
    union, station = "青溪县总工会" * 3, "城东物流园职工驿站（快递外卖骑手之家，全天24小时开放）" * 2
    poster = render_poster(union, station, "ST002", "http://weixin.qq.com/q/abc", tmp_path / "p.png", note="本地测试码")
    lines = [line for line, _ in drawn]
    assert union not in lines and station not in lines  # neither fits on one line
    assert union in "".join(lines) and station in "".join(lines)  # nothing is cut
    assert all(width <= WIDTH - 2 * posters.MARGIN for _, width in drawn)
    assert_encodes(poster.path, poster, "http://weixin.qq.com/q/abc")


def test_font_is_found_and_draws_chinese() -> None:
    spec = find_cjk_font()
    assert posters._draws_chinese(spec.at(48))


def test_no_cjk_font_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(posters.FONT_ENV, raising=False)
    monkeypatch.setattr(posters, "_candidates", lambda: [])
    posters._search.cache_clear()
    try:
        with pytest.raises(PosterError, match="noto-cjk-sans-otc"):
            find_cjk_font()
    finally:
        posters._search.cache_clear()
    with pytest.raises(PosterError, match="not found"):
        find_cjk_font(tmp_path / "missing.ttf")


def test_a_latin_only_font_is_refused() -> None:
    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not dejavu.is_file():
        pytest.skip("DejaVu Sans not installed")
    with pytest.raises(PosterError, match="cannot draw Chinese"):
        find_cjk_font(dejavu)


def test_cli_local_codes(tmp_path: Path, stations_file: Path, env: dict[str, str]) -> None:
    out = tmp_path / "posters"
    result = CliRunner().invoke(main, ["qr", "--all", "--out", str(out), "--stations", str(stations_file)],
                                env=env)
    assert result.exit_code == 0, result.output
    assert "本地测试码" in result.output
    assert "[1/2] ST001" in result.output and "[2/2] ST002" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["ST001.png", "ST002.png"]


def test_cli_unknown_station_exits_1(tmp_path: Path, stations_file: Path, env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["qr", "ST999", "--out", str(tmp_path), "--stations", str(stations_file)],
                                env=env)
    assert result.exit_code == 1
    assert "驿站名录里没有编号 ST999" in result.output
    assert not list(tmp_path.glob("*.png"))


def test_cli_bad_stations_file_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "stations.yaml"
    bad.write_text("stations:\n  - code: ST001\n    name: 缺地址的驿站\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["qr", "--all", "--out", str(tmp_path), "--stations", str(bad)],
                                env={"UNIONBOT_CONFIG": ""})
    assert result.exit_code == 1
    assert "没有生成海报" in result.output


def test_cli_needs_code_or_all(stations_file: Path) -> None:
    result = CliRunner().invoke(main, ["qr", "--stations", str(stations_file)], env={"UNIONBOT_CONFIG": ""})
    assert result.exit_code == 2


@pytest.fixture
def fake() -> Iterator[FakeWechatApi]:
    with FakeWechatApi() as server:
        yield server


def wechat_config(tmp_path: Path, fake: FakeWechatApi) -> Path:
    config = tmp_path / "unionbot.toml"
    url = f"sqlite:///{tmp_path / 'wechat.db'}"
    registry = Registry.from_url(url)
    registry.create_schema()
    import_stations(registry, None, tmp_path / "stations.yaml")
    config.write_text(
        f'[database]\nurl = "{url}"\n\n[wechat]\napp_id = "{fake.app_id}"\napp_secret = "{fake.app_secret}"\napi_base = "{fake.base_url}"\n'
        f'api_timeout = 5\n\n[store]\nurl = "memory://{tmp_path.name}"\n\n[service]\nunion_name = "青溪县总工会"\n',
        encoding="utf-8",
    )
    return config


def test_cli_wechat_mode_uses_the_api_url(tmp_path: Path, stations_file: Path, fake: FakeWechatApi) -> None:
    config = wechat_config(tmp_path, fake)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["qr", "ST002", "--out", str(out), "--stations", str(stations_file),
                                       "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "本地测试码" not in result.output
    assert fake.qrcodes == [{"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "join:ST002"}}}]
    url = "http://weixin.qq.com/q/fake1-join:ST002"
    # The poster's QR encodes the URL WeChat returned: render the same layout and compare pixels.
    path = out / "ST002.png"
    reference = render_poster("青溪县总工会", "城东物流园职工驿站（快递外卖骑手之家，全天24小时开放）", "ST002", url,
                              tmp_path / "reference.png")
    assert_encodes(path, reference, url)
    with Image.open(path) as a, Image.open(reference.path) as b:
        assert a.tobytes() == b.tobytes()


def test_cli_wechat_error_exits_1(tmp_path: Path, stations_file: Path, fake: FakeWechatApi) -> None:
    fake.always_error["/cgi-bin/qrcode/create"] = 48001
    result = CliRunner().invoke(main, ["qr", "--all", "--out", str(tmp_path / "out"), "--stations",
                                       str(stations_file), "--config", str(wechat_config(tmp_path, fake))])
    assert result.exit_code == 1
    assert "48001" in result.output and "ST001" in result.output
    assert not (tmp_path / "out" / "ST001.png").exists()
