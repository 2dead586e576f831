"""Embed the CJK font in HTML pages, cut down to each page's characters.

The report pages must show Chinese on a machine without any CJK font, offline,
so each page carries the figures' font (Noto Sans CJK SC, shipped with the
``mplfonts`` package under the OFL) as a data URL. The whole font is 65,000
glyphs in 16 MB; a page uses a few hundred, about 100 KB once cut down with
fontTools.

Cutting from the 16 MB font costs 0.5-0.7 s per page, most of it reading the
font's tables. :func:`build_base_font` (run by ``make setup``) therefore cuts
it once to the 7,445 characters of GB 2312 that it covers, and keeps that
1.5 MB font in the environment (``<sys.prefix>/share/analysis/fonts``). A page
whose characters are all in it is cut from it in 0.1-0.25 s; any other page is
cut from the whole font. The bytes are the same either way (fontTools keeps the
original glyph names and order; a test checks it), so a rerun writes the same
pages whether or not the base font exists.
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
_CUT_VERSION = 1


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
    """Cut ``source`` to ``chars``; ``flat`` for a source already cut without hints or subroutines.

    Such a source has nothing left to remove, so the two passes that would
    remove them are skipped (a quarter of the time); the bytes are the same.
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
    return directory / f"{source.stem}-{BASE_CHARSET}-{digest}{source.suffix}"


def build_base_font(
    source: str | Path | None = None,
    *,
    directory: str | Path | None = None,
    chars: Iterable[int] | None = None,
) -> Path:
    """Cut ``source`` (default: the figures' CJK font) to GB 2312 once and keep it (about 7 s).

    ``chars`` replaces GB 2312 (tests use a few characters). Written
    atomically; an existing base font is kept as it is.
    """
    source = Path(source) if source is not None else _source_font()
    target = base_font_path(source, directory=directory)
    if target.is_file():
        return target
    covered = _cmap(str(source))
    wanted = [c for c in (charset_characters() if chars is None else chars) if c in covered]
    data = _cut(str(source), wanted)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda p: p.write_bytes(data))
    logger.info("cut %s to %d characters: %s", source.name, len(wanted), target)
    return target


def cut_font(chars: Iterable[int], *, source: str | Path | None = None, directory: str | Path | None = None) -> bytes:
    """The CJK font cut down to ``chars`` (OpenType/CFF bytes), from the base font when it covers them."""
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
    data = base64.b64encode(cut_font(chars)).decode("ascii")
    return (
        f'<style>@font-face {{ font-family: "{REPORT_CJK_FAMILY}"; '
        f'src: url(data:font/otf;base64,{data}) format("opentype"); }}</style>\n'
    )
