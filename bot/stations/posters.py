"""Printable station posters: union name, station name, one line of instructions, what a worker wants
to know before scanning (joining is free, takes about two minutes, needs the ID number), the QR code,
the station code, its opening hours and the hotline, as a PNG of A5 at 300 dpi (1748 x 2480 px).

The QR payload is decided by the caller (``unionbot qr``): the URL of a permanent WeChat parametric
QR code (scene ``join:<code>``) when the app's credentials are configured, else the local payload
``unionbot:join:<code>`` that only the chat simulator understands (the poster then says so in red,
so nobody prints it for a wall).

Chinese text needs a CJK font. Lookup order (the first that really draws Chinese wins):

1. an explicit font file (``--font FILE`` or ``$UNIONBOT_POSTER_FONT``);
2. any ``.ttf``/``.otf``/``.ttc`` dropped into ``bot/stations/fonts/``;
3. the PyPI package ``noto-cjk-sans-otc`` (a project dependency: Noto Sans CJK, SIL OFL 1.1);
4. the PyPI package ``pylopdf-fonts-zh-cn`` (Noto Sans SC), if installed;
5. the system: ``fc-match :lang=zh-cn``, then well-known paths (Debian ``fonts-noto-cjk``,
   ``fonts-wqy-microhei``, ``fonts-wqy-zenhei``; macOS PingFang; Windows YaHei / SimHei).

In a font collection (``.ttc``) the Simplified Chinese face is picked.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

FONT_ENV = "UNIONBOT_POSTER_FONT"
LOCAL_PREFIX = "unionbot:join:"
SCENE_PREFIX = "join:"

WIDTH, HEIGHT = 1748, 2480  # A5 at 300 dpi
DPI = 300
MARGIN = 130
RED = (200, 16, 46)
INK = (34, 34, 34)
GREY = (110, 110, 110)
WHITE = (255, 255, 255)

JOIN_FACTS = "入会免费 · 手机上约两分钟 · 请备好身份证号"
"""What a worker wants to know before scanning."""
BREAK_BEFORE = ("驿站", "服务站", "服务中心", "中心", "之家", "广场", "职工", "爱心", "户外", "骑手", "快递",
                "外卖", "司机", "环卫", "物流", "劳动者")
"""Words station names are made of: a line may break before one (外卖骑手|之家), not inside it."""
FONT_HELP = (
    "no font that can draw Chinese was found: install one with `pip install noto-cjk-sans-otc` "
    "(a unionbot dependency) or `apt-get install fonts-noto-cjk`, or pass --font FILE "
    f"(or set ${FONT_ENV}) pointing at a CJK .ttf/.otf/.ttc"
)

SYSTEM_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)


class PosterError(RuntimeError):
    """A poster cannot be made (no CJK font, unwritable path …); the message says what to do."""


@dataclass(frozen=True)
class FontSpec:
    path: str
    index: int = 0

    def at(self, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(self.path, size, index=self.index)


@dataclass(frozen=True)
class Poster:
    path: Path
    qr_left: int
    qr_top: int
    module_px: int
    modules: int
    """Modules per side including the quiet zone; the QR occupies modules * module_px pixels."""


LOCAL_NOTE = "本地测试码：仅供 unionbot chat 模拟器使用，微信扫码无效"
"""Printed on a poster whose code is local (no WeChat AppID configured)."""


def local_payload(station_code: str) -> str:
    """What a local (simulator-only) station code encodes."""
    return LOCAL_PREFIX + station_code


def scene_for(station_code: str) -> str:
    """The WeChat QR scene string for a station: ``join:<code>``."""
    return SCENE_PREFIX + station_code


# -- fonts ----------------------------------------------------------------------------------------

def find_cjk_font(explicit: str | os.PathLike[str] | None = None) -> FontSpec:
    """The first usable CJK font in the documented lookup order; :class:`PosterError` if none."""
    explicit = explicit or os.environ.get(FONT_ENV) or None
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise PosterError(f"font file {path}: not found")
        spec = _usable(str(path))
        if spec is None:
            raise PosterError(f"font file {path}: cannot draw Chinese characters")
        return spec
    spec = _search()
    if spec is None:
        raise PosterError(FONT_HELP)
    return spec


@lru_cache(maxsize=1)
def _search() -> FontSpec | None:
    for candidate in _candidates():
        spec = _usable(candidate)
        if spec is not None:
            return spec
    return None


def _candidates() -> list[str]:
    found: list[str] = []
    bundled = Path(__file__).parent / "fonts"
    if bundled.is_dir():
        found += sorted(str(p) for p in bundled.iterdir() if p.suffix.lower() in (".ttf", ".otf", ".ttc"))
    for module, attr in (("noto_cjk_sans_otc", "FONT_PATH"), ("pylopdf_fonts_zh_cn", "sans_path")):
        try:
            mod = importlib.import_module(module)
            value = getattr(mod, attr)
            found.append(str(value() if callable(value) else value))
        except Exception:  # noqa: BLE001 - not installed, or a different layout: try the next
            continue
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True,
                                 text=True, timeout=5, check=False).stdout.strip()
            if out:
                found.append(out)
        except (OSError, subprocess.SubprocessError):
            pass
    found += [p for p in SYSTEM_FONTS if os.path.isfile(p)]
    return found


def _usable(path: str) -> FontSpec | None:
    """A FontSpec for ``path`` if it draws Chinese (for a collection: its Simplified Chinese face)."""
    faces: list[tuple[int, str]] = []
    for index in range(32):
        try:
            font = ImageFont.truetype(path, 48, index=index)
        except OSError:
            break
        faces.append((index, " ".join(n for n in font.getname() if n)))
        if not path.lower().endswith((".ttc", ".otc")):
            break
    if not faces:
        return None
    faces.sort(key=lambda f: (not _is_simplified(f[1]), f[0]))
    for index, _name in faces:
        if _draws_chinese(ImageFont.truetype(path, 48, index=index)):
            return FontSpec(path, index)
    return None


def _is_simplified(name: str) -> bool:
    return "SC" in name.replace("-", " ").split() or "Simplified" in name


def _draws_chinese(font: ImageFont.FreeTypeFont) -> bool:
    """True unless the Chinese sample renders as the font's missing-glyph box."""
    missing = _glyph(font, "\U0010fffd")
    blank = _glyph(font, " ")
    return all(_glyph(font, ch) not in (missing, blank) for ch in "工会驿站扫")


def _glyph(font: ImageFont.FreeTypeFont, ch: str) -> bytes:
    img = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(img).text((32, 32), ch, font=font, fill=255, anchor="mm")
    return img.tobytes()


# -- layout ---------------------------------------------------------------------------------------

def footer_lines(station_code: str, hours: str, hotline: str) -> list[str]:
    """The lines under the QR code: the code (staff tell posters apart by it), hours, the hotline."""
    lines = [f"站点编号  {station_code}"]
    if hours:
        lines.append(f"驿站开放：{hours}")
    lines.append(f"职工服务热线 {hotline}")
    return lines


def render_poster(union_name: str, station_name: str, station_code: str, qr_payload: str,
                  out_path: str | os.PathLike[str], *, instructions: str = "微信扫一扫 · 加入工会",
                  hours: str = "", hotline: str = "12351",
                  note: str | None = None, font: FontSpec | str | None = None) -> Poster:
    """Write one station poster to ``out_path`` (PNG, 300 dpi); ``note`` adds a red line at the foot."""
    spec = font if isinstance(font, FontSpec) else find_cjk_font(font)
    img = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
    draw = ImageDraw.Draw(img)
    inner = WIDTH - 2 * MARGIN

    # Header band: the union's name.
    band = 360
    draw.rectangle((0, 0, WIDTH, band), fill=RED)
    _text_block(draw, union_name, spec, 120, inner, max_lines=2, top=None, box=(0, band), fill=WHITE, bold=True)

    # Station name, then the instruction line.
    y = band + 110
    y = _text_block(draw, station_name, spec, 104, inner, max_lines=2, top=y, fill=INK, bold=True)
    y += 50
    y = _text_block(draw, instructions, spec, 78, inner, max_lines=1, top=y, fill=RED)
    y += 20
    y = _text_block(draw, JOIN_FACTS, spec, 56, inner, max_lines=1, top=y, fill=INK)
    y += 50

    # The QR code, drawn module by module (crisp edges when printed).
    qr = segno.make(qr_payload, error="m", micro=False)
    border = 4
    modules = qr.symbol_size(scale=1, border=border)[0]
    footer = 500
    size_limit = min(inner, HEIGHT - y - footer)
    module_px = max(1, size_limit // modules)
    side = modules * module_px
    left, top = (WIDTH - side) // 2, y
    for r, row in enumerate(qr.matrix_iter(scale=1, border=border)):
        for c, dark in enumerate(row):
            if dark:
                x0, y0 = left + c * module_px, top + r * module_px
                draw.rectangle((x0, y0, x0 + module_px - 1, y0 + module_px - 1), fill=(0, 0, 0))
    y = top + side + 30

    for line in footer_lines(station_code, hours, hotline):
        y = _text_block(draw, line, spec, 52, inner, max_lines=1, top=y, fill=GREY)
    if note:
        y += 20
        _text_block(draw, note, spec, 50, inner, max_lines=2, top=y, fill=RED)

    out = Path(out_path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        img.save(out, format="PNG", dpi=(DPI, DPI), optimize=True)
    except OSError as exc:
        raise PosterError(f"cannot write {out}: {exc.strerror or exc}") from None
    return Poster(out, left, top, module_px, modules)


def _text_block(draw: ImageDraw.ImageDraw, text: str, spec: FontSpec, size: int, max_width: int,
                max_lines: int, top: int | None, fill: tuple[int, int, int], bold: bool = False,
                box: tuple[int, int] | None = None) -> int:
    """Draw ``text`` centred, wrapped to ``max_lines`` (shrinking the size until it fits); returns
    the y below it. With ``box=(y0, y1)`` instead of ``top`` the block is centred vertically in it."""
    stroke = 2 if bold else 0
    while True:
        font = spec.at(size)
        lines = _wrap(draw, text, font, max_width, stroke)
        if len(lines) <= max_lines or size <= 24:
            break
        size = int(size * 0.9)
    lines = lines[:max_lines]
    line_h = int(size * 1.3)
    height = line_h * len(lines)
    y = top if top is not None else (box[0] + box[1] - height) // 2  # type: ignore[index]
    for line in lines:
        draw.text((WIDTH // 2, y + line_h // 2), line, font=font, fill=fill, anchor="mm",
                  stroke_width=stroke, stroke_fill=fill)
        y += line_h
    return y


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, max_width: int,
          stroke: int) -> list[str]:
    return wrap_text(text, lambda line: draw.textlength(line, font=font) + 2 * stroke <= max_width)


def wrap_text(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Lines of ``text`` that each ``fits``, broken where a reader expects (Chinese has no spaces).

    Each line is as long as fits, then backs off to the best break in its second half: at a space,
    around brackets or after a comma first, then between Chinese and latin or digits, then before a
    word of :data:`BREAK_BEFORE` (外卖骑手|之家, never 外卖骑|手), else between any two Chinese
    characters. Latin and digit runs (ST001, 24小时) are never split, and no line is a single
    character.
    """
    text = " ".join(text.split())
    lines: list[str] = []
    start = 0
    while start < len(text):
        end = start + 1
        while end < len(text) and fits(text[start:end + 1]):
            end += 1
        if end >= len(text):
            lines.append(text[start:].strip())
            break
        cut = _best_break(text, start, end)
        lines.append(text[start:cut].strip())
        start = cut
    return [line for line in lines if line] or [""]


def _break_rank(text: str, i: int) -> int:
    """How good a break between text[i - 1] and text[i] is: 4 best … 1 acceptable, 0 never."""
    before, after = text[i - 1], text[i]
    if before.isascii() and after.isascii() and before.isalnum() and after.isalnum():
        return 0
    if before == " " or after == " " or after in "（(" or before in "）)，,、；;":
        return 4
    if before.isascii() != after.isascii():
        return 3
    if after in "）)，,、；;。":
        return 0
    return 2 if text.startswith(BREAK_BEFORE, i) else 1


def _best_break(text: str, start: int, end: int) -> int:
    """Where to end the line text[start:end] (which fits; text[end] does not): the best-ranked
    break in its second half (else anywhere) that leaves at least two characters on either side."""
    for low in (start + max(2, (end - start) // 2), start + 2):  # the second half, else anywhere
        options = [(rank, i) for i in range(low, end + 1)
                   if len(text) - i >= 2 and (rank := _break_rank(text, i)) > 0]
        if options:
            return max(options)[1]
    # a latin run longer than a line, or a tail of one character: cut where it fits
    return end - 1 if len(text) - end == 1 and end - start > 2 else end
