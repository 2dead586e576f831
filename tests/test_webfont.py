"""Tests of analysis.webfont: the CJK font embedded in report pages, cut down to each page's characters."""

from __future__ import annotations

import io

from fontTools.ttLib import TTFont

from analysis import webfont

PAGE = "党史学习教育：学党史、悟思想、办实事、开新局。Ｔｏｔａｌ　１２０场 <b>ASCII</b>"
BASE_TEXT = "党史学习教育悟思想办实事开新局场学史明理增信崇德力行为民"


def _cmap(data: bytes) -> set[int]:
    return set(TTFont(io.BytesIO(data)).getBestCmap())


def test_page_characters_are_the_covered_cjk_ones_sorted_and_unique():
    chars = webfont.page_characters(PAGE + PAGE)
    assert chars == sorted(set(chars))
    assert all(c >= webfont.FIRST_CJK for c in chars)
    assert ord("党") in chars and ord("，") not in chars and ord("：") in chars and ord("１") in chars
    assert ord("A") not in chars and ord("<") not in chars
    assert webfont.page_characters("only ASCII") == []
    assert webfont.font_face("only ASCII") == ""




def test_a_cut_font_has_the_pages_glyphs_only_and_is_the_same_bytes_twice():
    chars = webfont.page_characters(PAGE)
    data = webfont.cut_font(chars)
    assert data[:4] == b"OTTO"  # OpenType with the source's CFF outlines
    assert _cmap(data) == set(chars)
    assert webfont.cut_font(reversed(chars)) == data  # no timestamp, order-independent
    name = TTFont(io.BytesIO(data))["name"]
    assert any("Open Font License" in str(r) for r in name.names)  # the OFL notice is kept


def test_font_face_embeds_the_cut_font_as_a_data_url_with_the_family_name():
    import base64
    import re

    face = webfont.font_face(PAGE)
    assert face.startswith("<style>@font-face") and f'font-family: "{webfont.REPORT_CJK_FAMILY}"' in face
    match = re.search(r"data:font/otf;base64,([A-Za-z0-9+/=]+)\) format\(\"opentype\"\)", face)
    assert match and _cmap(base64.b64decode(match.group(1))) == set(webfont.page_characters(PAGE))
