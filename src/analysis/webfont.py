"""Embed the CJK font in HTML pages, cut down to each page's characters.

The report pages must show Chinese on a machine without any CJK font, offline,
so each page carries the figures' font (Noto Sans CJK SC, shipped with the
``mplfonts`` package under the SIL OFL 1.1) as a data URL. The whole font is
65,000 glyphs in 16 MB; a page uses a few hundred, about 100-200 KB once cut
down with fontTools' subsetter (about half a second per page). The same
characters give the same bytes: no timestamp is written.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Iterable

from .fonts import find_cjk_font

__all__ = ["REPORT_CJK_FAMILY", "cut_font", "font_face", "page_characters"]

#: Name of the embedded font in the report CSS (resources/report_templates/offline).
REPORT_CJK_FAMILY = "Report CJK"
#: First code point treated as CJK (CJK Radicals Supplement); Latin text uses the page's fonts.
FIRST_CJK = 0x2E80


@functools.lru_cache(maxsize=1)
def _cmap() -> frozenset[int]:
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(str(find_cjk_font()), lazy=True).getBestCmap())


def page_characters(text: str) -> list[int]:
    """Sorted code points of ``text`` from U+2E80 up that the CJK font covers."""
    return sorted(o for o in map(ord, set(text)) if o >= FIRST_CJK and o in _cmap())


def cut_font(chars: Iterable[int]) -> bytes:
    """The CJK font (OpenType, CFF outlines) cut down to ``chars``, without hinting or layout features."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.notdef_outline = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep the copyright and the OFL notice and URL
    options.hinting = False  # screen text at report sizes; halves the size
    options.desubroutinize = True
    options.layout_features = []  # horizontal Chinese needs no OpenType feature of this font
    options.recalc_timestamp = False
    font = TTFont(str(find_cjk_font()), recalcTimestamp=False, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(set(chars)))
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def font_face(text: str) -> str:
    """A ``<style>`` with the CJK font cut down to the CJK characters of ``text``, as a data URL ("" if none)."""
    chars = page_characters(text)
    if not chars:
        return ""
    data = base64.b64encode(cut_font(chars)).decode("ascii")
    return (
        f'<style>@font-face {{ font-family: "{REPORT_CJK_FAMILY}"; '
        f'src: url(data:font/otf;base64,{data}) format("opentype"); }}</style>\n'
    )
