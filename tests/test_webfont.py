"""Tests of analysis.webfont: the CJK font embedded in report pages, cut from a base font or the whole font."""

from __future__ import annotations

import io
import logging

import pytest
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


def _outlines(data: bytes) -> dict[int, tuple[int, tuple]]:
    """Per character: advance width and outline bounds (None for an empty glyph)."""
    from fontTools.pens.boundsPen import BoundsPen

    font = TTFont(io.BytesIO(data))
    glyph_set = font.getGlyphSet()
    out = {}
    for char, name in font.getBestCmap().items():
        pen = BoundsPen(glyph_set)
        glyph_set[name].draw(pen)
        out[char] = (font["hmtx"][name][0], pen.bounds)
    return out


def test_a_page_cut_from_the_base_font_has_the_whole_fonts_glyphs_as_truetype(tmp_path):
    base = webfont.build_base_font(directory=tmp_path, chars=[ord(c) for c in BASE_TEXT])
    assert base.parent == tmp_path and base.is_file()
    assert _cmap(base.read_bytes()) == {ord(c) for c in BASE_TEXT}
    chars = [ord(c) for c in "学党史办实事"]
    from_base = webfont.cut_font(chars, directory=tmp_path)
    from_whole = webfont.cut_font(chars, directory=tmp_path / "nothing-here")
    assert from_base[:4] == b"\0\1\0\0" and "glyf" in TTFont(io.BytesIO(from_base))
    assert from_whole[:4] == b"OTTO"
    assert _cmap(from_base) == _cmap(from_whole) == set(chars)
    truetype, cff = _outlines(from_base), _outlines(from_whole)
    for char in chars:
        (width_t, box_t), (width_c, box_c) = truetype[char], cff[char]
        assert width_t == width_c, chr(char)
        # quadratic curves within MAX_CURVE_ERROR of the cubic ones; bounds may round by one unit more
        assert all(abs(a - b) <= webfont.MAX_CURVE_ERROR + 1 for a, b in zip(box_t, box_c, strict=True)), chr(char)
    assert webfont.cut_font(chars, directory=tmp_path) == from_base  # same bytes on every cut


def test_only_cff_fonts_are_converted():
    font = TTFont(io.BytesIO(webfont.cut_font([ord("党")], directory="/nonexistent")))
    webfont._to_truetype(font)
    with pytest.raises(ValueError, match="CFF"):
        webfont._to_truetype(font)


def test_characters_outside_the_base_font_are_cut_from_the_whole_font(tmp_path):
    webfont.build_base_font(directory=tmp_path, chars=[ord(c) for c in BASE_TEXT])
    chars = [ord(c) for c in "学党史龘"]  # 龘 is not in the base font
    data = webfont.cut_font(chars, directory=tmp_path)
    assert _cmap(data) == set(chars)


def test_the_base_font_is_kept_and_its_name_follows_the_source(tmp_path):
    first = webfont.build_base_font(directory=tmp_path, chars=[ord("党")])
    stamp = first.stat().st_mtime_ns
    again = webfont.build_base_font(directory=tmp_path, chars=[ord("史")])  # kept as it is
    assert again == first and again.stat().st_mtime_ns == stamp
    assert webfont.BASE_CHARSET in first.name and first.suffix == ".ttf"
    assert webfont.base_font_path(directory=tmp_path) == first


def test_missing_base_font_is_noted_once(tmp_path, caplog):
    webfont._note_missing_base.cache_clear()
    with caplog.at_level(logging.INFO, logger="analysis.webfont"):
        webfont.cut_font([ord("党")], directory=tmp_path)
        webfont.cut_font([ord("史")], directory=tmp_path)
    assert caplog.text.count("python -m analysis fonts") == 1


def test_font_face_embeds_a_data_url_with_the_family_name_and_the_fonts_format(monkeypatch):
    face = webfont.font_face(PAGE)
    assert face.startswith("<style>@font-face") and f'font-family: "{webfont.REPORT_CJK_FAMILY}"' in face
    for magic, media, hint in ((b"OTTO", "font/otf", "opentype"), (b"\0\1\0\0", "font/ttf", "truetype")):
        monkeypatch.setattr(webfont, "cut_font", lambda chars, magic=magic: magic + b"rest")
        face = webfont.font_face(PAGE)
        assert f"data:{media};base64," in face and f'format("{hint}")' in face


@pytest.mark.parametrize("charset", ["gb2312"])
def test_charset_characters_decode_the_whole_set(charset):
    chars = webfont.charset_characters(charset)
    assert len(chars) == len(set(chars)) > 7000  # GB 2312: 6,763 hanzi and 682 other characters
    assert ord("党") in chars and ord("龘") not in chars
