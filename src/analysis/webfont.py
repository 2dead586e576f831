"""Embed the CJK font in HTML pages, cut down to each page's characters.

The report pages must show Chinese on a machine without any CJK font, offline,
so each page carries the figures' font (Noto Sans CJK SC, shipped with the
``mplfonts`` package under the OFL) as a data URL. The whole font is 65,000
glyphs in 16 MB; a page uses a few hundred, about 100-200 KB once cut down with
fontTools.

Cutting from the 16 MB font costs 0.5-0.7 s per page, most of it reading the
font's tables, and cutting its CFF outlines means decompiling and recompiling
every glyph program. :func:`build_base_font` (run by ``make setup``) therefore
cuts it once to the 7,445 characters of GB 2312 that it covers and converts
the outlines to TrueType quadratic curves (fontTools' cu2qu, within one font
unit of the original; OFL 1.1 permits modified versions), and keeps that
2.1 MB font in the environment (``<sys.prefix>/share/analysis/fonts``). A
TrueType font is cut by copying the glyphs' bytes: a page whose characters are
all in the base font is cut in 0.05-0.1 s (three to four times faster than
from a CFF base), at about 30% more bytes. Any other page, or every page when
the base font is missing, is cut from the whole font and keeps its CFF
outlines; the page's ``@font-face`` names the format it gets. Either way a
rerun in the same environment writes the same bytes (no timestamp is written).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging
import sys
from collections.abc import Iterable
from pathlib import Path

from .fonts import find_cjk_font
from .storage import atomic_write

__all__ = [
    "BASE_CHARSET",
    "REPORT_CJK_FAMILY",
    "base_font_path",
    "build_base_font",
    "charset_characters",
    "cut_font",
    "font_face",
    "page_characters",
]

logger = logging.getLogger(__name__)

#: Name of the embedded font in the report CSS (resources/report_templates/offline).
REPORT_CJK_FAMILY = "Report CJK"
#: Character set of the cut-down base font: simplified Chinese's national standard.
BASE_CHARSET = "gb2312"
#: First code point treated as CJK (CJK Radicals Supplement); Latin text uses the page's fonts.
FIRST_CJK = 0x2E80
#: Bump when the cutting options change, so that an old base font is not reused.
_CUT_VERSION = 2  # 2: the base font has TrueType outlines
#: Largest distance, in font units (1,000 per em), of a converted quadratic curve from the cubic one.
MAX_CURVE_ERROR = 1.0


def _source_font() -> Path:
    return find_cjk_font()


@functools.lru_cache(maxsize=4)
def _cmap(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(path, lazy=True).getBestCmap())


def page_characters(text: str) -> list[int]:
    """Sorted code points of ``text`` from U+2E80 up that the CJK font covers."""
    chars = {o for o in map(ord, set(text)) if o >= FIRST_CJK}
    base = base_font_path()
    rest = chars - _cmap(str(base)) if base.is_file() else chars
    if rest:  # only then read the whole font's character map (0.3 s)
        chars -= rest - _cmap(str(_source_font()))
    return sorted(chars)


def _options():  # noqa: ANN202 - fontTools.subset.Options
    from fontTools import subset

    options = subset.Options()
    options.notdef_outline = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep the copyright and the OFL notice and URL
    options.hinting = False  # screen text at report sizes; halves the size
    options.desubroutinize = True  # faster to cut and smaller for a few hundred glyphs
    options.layout_features = []  # horizontal Chinese needs no OpenType feature of this font
    options.recalc_timestamp = False
    return options


def _cut(source: str | io.BytesIO, chars: Iterable[int], *, flat: bool = False) -> bytes:
    """Cut ``source`` to ``chars``; ``flat`` for the base font, which has no hints or subroutines.

    Such a source has nothing left to remove, so the passes that would remove
    them are skipped; the bytes are the same.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source, recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    options = _options()
    if flat:
        options.hinting = True
        options.desubroutinize = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(chars))
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def charset_characters(charset: str = BASE_CHARSET) -> list[int]:
    """Code points of a double-byte Chinese character set (all rows, decoded with Python's codec)."""
    chars = set()
    for high in range(0xA1, 0xFF):
        for low in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes([high, low]).decode(charset)))
            except UnicodeDecodeError:
                continue
    return sorted(chars)


def base_font_path(source: str | Path | None = None, *, directory: str | Path | None = None) -> Path:
    """Where the base font cut from ``source`` lives; the name changes with the font, fontTools and options.

    ``directory`` defaults to ``<sys.prefix>/share/analysis/fonts`` (inside the virtualenv).
    """
    import fontTools

    source = Path(source) if source is not None else _source_font()
    stat = source.stat()
    key = f"{source.name}:{stat.st_size}:{stat.st_mtime_ns}:{fontTools.version}:{BASE_CHARSET}:{_CUT_VERSION}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    directory = Path(directory) if directory is not None else Path(sys.prefix) / "share" / "analysis" / "fonts"
    return directory / f"{source.stem}-{BASE_CHARSET}-{digest}.ttf"


def build_base_font(
    source: str | Path | None = None,
    *,
    directory: str | Path | None = None,
    chars: Iterable[int] | None = None,
) -> Path:
    """Cut ``source`` (default: the figures' CJK font) to GB 2312 with TrueType outlines, once (about 13 s).

    ``chars`` replaces GB 2312 (tests use a few characters). Written
    atomically; an existing base font is kept as it is.
    """
    source = Path(source) if source is not None else _source_font()
    target = base_font_path(source, directory=directory)
    if target.is_file():
        return target
    from fontTools.ttLib import TTFont

    covered = _cmap(str(source))
    wanted = [c for c in (charset_characters() if chars is None else chars) if c in covered]
    font = TTFont(io.BytesIO(_cut(str(source), wanted)), recalcTimestamp=False, recalcBBoxes=True)
    _to_truetype(font)
    buffer = io.BytesIO()
    font.save(buffer)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda p: p.write_bytes(buffer.getvalue()))
    logger.info("cut %s to %d characters, TrueType outlines: %s", source.name, len(wanted), target)
    return target


def _to_truetype(font) -> None:  # noqa: ANN001 - fontTools.ttLib.TTFont
    """Replace the CFF outlines of ``font`` by TrueType ones, in place.

    As fontTools' ``otf2ttf`` example (MIT): cu2qu turns each cubic curve into
    quadratic ones within :data:`MAX_CURVE_ERROR` font units, the left side
    bearings follow the new outlines, and ``maxp``/``post`` take their
    TrueType versions (``post`` keeps the glyph names). The bounding boxes and
    ``maxp`` counts are recalculated when the font is saved.
    """
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    if font.sfntVersion != "OTTO" or "CFF " not in font:
        raise ValueError("expected a font with CFF outlines")
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, MAX_CURVE_ERROR, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del font["CFF "]
    if "VORG" in font:  # vertical origins of CFF fonts only
        del font["VORG"]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, glyph in glyphs.items():
        hmtx[name] = (hmtx[name][0], getattr(glyph, "xMin", 0))
    font["maxp"] = maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for field in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 0)
    maxp.recalc(font)
    font["head"].glyphDataFormat = 0
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\0\1\0\0"


def cut_font(chars: Iterable[int], *, source: str | Path | None = None, directory: str | Path | None = None) -> bytes:
    """The CJK font cut down to ``chars``: TrueType from the base font when it covers them, else CFF."""
    chars = sorted(set(chars))
    source = Path(source) if source is not None else _source_font()
    base = base_font_path(source, directory=directory)
    if base.is_file() and _cmap(str(base)).issuperset(chars):
        return _cut(str(base), chars, flat=True)
    if not base.is_file():
        _note_missing_base(str(base))
    return _cut(str(source), chars)


@functools.lru_cache(maxsize=1)
def _note_missing_base(path: str) -> None:
    logger.info("no cut-down base font at %s (`python -m analysis fonts` builds it): cutting from the "
                "whole font, 0.5 s more per page", path)


def font_face(text: str) -> str:
    """A ``<style>`` with the CJK font cut down to the CJK characters of ``text``, as a data URL.

    Returns "" when ``text`` has no character the font covers. The same
    characters give the same bytes (no timestamp is written).
    """
    chars = page_characters(text)
    if not chars:
        return ""
    font = cut_font(chars)
    media, hint = ("font/otf", "opentype") if font[:4] == b"OTTO" else ("font/ttf", "truetype")
    data = base64.b64encode(font).decode("ascii")
    return (
        f'<style>@font-face {{ font-family: "{REPORT_CJK_FAMILY}"; '
        f'src: url(data:{media};base64,{data}) format("{hint}"); }}</style>\n'
    )
