"""Tests of analysis.figures: shipped CJK font, missing-glyph detection, plot helpers, PNG output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analysis import figures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Characters a report figure needs: Chinese text, full-width punctuation, digits, minus sign.
CHINESE_SAMPLE = "党史学习教育：中原区、召陵区（郑州市）“我为群众办实事”《七个一》—…1,000余场 −5%"
PRIVATE_USE_CHAR = "\ue000"


@pytest.fixture(autouse=True)
def _font():
    figures.setup_cjk_font(strict=False)


def _glyph_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_font_file_is_shipped_and_found_without_importing_mplfonts():
    path = figures.find_cjk_font()
    assert path.is_file()
    assert path.name == figures.CJK_FONT_FILE
    assert "mplfonts" in path.parts
    assert path.stat().st_size > 1_000_000  # a full CJK font, not a stub


def test_setup_registers_font_as_default_sans_serif():
    family = figures.setup_cjk_font(strict=False)
    assert family == "Noto Sans CJK SC"
    assert matplotlib.rcParams["font.family"] == ["sans-serif"]
    assert matplotlib.rcParams["font.sans-serif"][0] == family
    resolved = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=False)
    assert Path(resolved).name == figures.CJK_FONT_FILE
    n_entries = len(font_manager.fontManager.ttflist)
    figures.setup_cjk_font(strict=False)  # idempotent: no duplicate registration
    assert len(font_manager.fontManager.ttflist) == n_entries


def test_font_found_with_an_empty_font_cache(tmp_path):
    # A font cache built before the font was installed must not hide it.
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path)}
    code = (
        "from analysis import figures\n"
        "from matplotlib import font_manager as fm\n"
        "family = figures.setup_cjk_font()\n"
        "print(family)\n"
        "print(fm.findfont(fm.FontProperties(family=['sans-serif']), fallback_to_default=False))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    family, path = out.stdout.strip().splitlines()
    assert family == "Noto Sans CJK SC"
    assert Path(path).name == figures.CJK_FONT_FILE


def test_chinese_renders_without_missing_glyph_warning():
    df = pd.DataFrame({"place": ["中原区", "召陵区", "郑州市"], "share": [0.5, -0.25, 0.2]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = figures.plot_bar(df, category="place", value="share", title=CHINESE_SAMPLE, xlabel="占比")
        fig.savefig(os.devnull, format="png")
    assert _glyph_warnings(caught) == []
    figures.check_glyphs(fig)  # and the character-map check agrees


def test_missing_glyph_is_detected_by_plot_helper():
    df = pd.DataFrame({"place": ["中原区"], "share": [1.0]})
    with pytest.raises(figures.MissingGlyphError, match="U\\+E000|ue000"):
        figures.plot_bar(df, category="place", value="share", title=f"标题{PRIVATE_USE_CHAR}")


def test_missing_glyph_detected_even_when_matplotlib_layout_is_cached():
    # matplotlib warns only on the first layout of a text; the check must not depend on that.
    fig = Figure()
    FigureCanvasAgg(fig)
    fig.add_subplot().set_title(f"缓存{PRIVATE_USE_CHAR}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.canvas.draw()  # first draw: the warning is used up here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    print("warnings on the second draw:", _glyph_warnings(caught))
    with pytest.raises(figures.MissingGlyphError, match="U\\+E000|ue000"):
        figures.check_glyphs(fig)
    with pytest.raises(figures.MissingGlyphError, match="U\\+E000"):
        figures.check_glyphs(fig)  # the warning is gone by now; the character-map check remains


def test_fail_on_missing_glyph_context():
    fig = Figure()
    fig.add_subplot().set_xlabel(f"上下文{PRIVATE_USE_CHAR}")
    with pytest.raises(figures.MissingGlyphError, match="cannot draw"):
        with figures.fail_on_missing_glyph():
            fig.savefig(os.devnull, format="png")


def test_strict_setup_turns_glyph_warning_into_error():
    with warnings.catch_warnings():
        figures.setup_cjk_font(strict=True)
        fig = Figure()
        fig.add_subplot().set_ylabel(f"严格{PRIVATE_USE_CHAR}")
        with pytest.raises(UserWarning, match="missing from font"):
            fig.savefig(os.devnull, format="png")


def test_save_figure_is_byte_identical_on_rerun(tmp_path):
    df = pd.DataFrame({"k": [2, 3, 4, 2, 3, 4], "score": [0.1, 0.2, 0.15, 0.12, 0.22, 0.1], "seed": [0] * 3 + [1] * 3})
    first = figures.save_figure(figures.plot_lines(df, x="k", y="score", hue="seed", title="轮廓系数"), "k", directory=tmp_path)
    data = first.read_bytes()
    second = figures.save_figure(figures.plot_lines(df, x="k", y="score", hue="seed", title="轮廓系数"), "k", directory=tmp_path)
    assert second == tmp_path / "k.png"
    assert data.startswith(PNG_SIGNATURE)
    assert second.read_bytes() == data
    assert b"Software" not in data
    assert [p.name for p in tmp_path.iterdir()] == ["k.png"]  # no temp file left


@pytest.mark.parametrize("name", ["../escape", "a/b", "", "中文名", ".hidden"])
def test_save_figure_rejects_bad_names(tmp_path, name):
    fig = figures.plot_bar(pd.DataFrame({"c": ["甲"], "v": [1]}), category="c", value="v")
    with pytest.raises(ValueError, match="`name`"):
        figures.save_figure(fig, name, directory=tmp_path)


def test_save_figure_refuses_missing_glyph(tmp_path):
    fig = Figure()
    fig.add_subplot().set_title(f"保存{PRIVATE_USE_CHAR}")
    with pytest.raises(figures.MissingGlyphError):
        figures.save_figure(fig, "bad", directory=tmp_path)
    assert not (tmp_path / "bad.png").exists()


def test_figures_display_once_as_png_in_notebooks():
    fig = figures.plot_bar(pd.DataFrame({"c": ["甲", "乙"], "v": [1, 2]}), category="c", value="v")
    png, meta = fig._repr_png_()
    assert png.startswith(PNG_SIGNATURE)
    assert fig._repr_png_() == (png, meta)
    # alternative text for the HTML report (titles and axis labels) and the display size
    width, height = figures.FIGURE_SIZE_INCHES
    assert meta == {"alt": "v", "width": round(width * figures.DISPLAY_DPI), "height": round(height * figures.DISPLAY_DPI)}
    fig.axes[0].set_title(f"改{PRIVATE_USE_CHAR}")  # changed after the helper's check
    with pytest.raises(figures.MissingGlyphError):
        fig._repr_png_()


def test_saved_figure_is_displayed_from_the_saved_file_until_it_changes(tmp_path):
    fig = figures.plot_bar(pd.DataFrame({"c": ["甲", "乙"], "v": [1, 2]}), category="c", value="v", title="显示")
    drawn_png, drawn_meta = fig._repr_png_()
    path = figures.save_figure(fig, "shown", directory=tmp_path)
    png, meta = fig._repr_png_()
    assert png == path.read_bytes()  # the report shows the file a paper would use
    assert png != drawn_png  # (at the file's resolution) ...
    assert (meta["width"], meta["height"]) == (drawn_meta["width"], drawn_meta["height"])  # ... at the same size
    fig.axes[0].set_title("改过")
    changed_png, changed_meta = fig._repr_png_()
    assert changed_png not in (png, drawn_png)  # redrawn with the new title, not the stale file
    assert changed_meta["alt"].startswith("改过")
    fig.axes[0].set_title(f"改{PRIVATE_USE_CHAR}")
    with pytest.raises(figures.MissingGlyphError):
        fig._repr_png_()


def test_plot_shares_draws_one_segment_per_group_and_part():
    df = pd.DataFrame(
        {
            "place": ["中原区", "中原区", "召陵区", "召陵区", "云溪区"],
            "topic": ["学习", "办实事", "学习", "宣讲", "办实事"],
            "share": [0.6, 0.4, 0.5, 0.5, 1.0],
        }
    )
    fig = figures.plot_shares(df, group="place", part="topic", share="share", title="主题占比")
    ax = fig.axes[0]
    assert len(ax.patches) == 3 * 3  # 3 groups x 3 parts (missing pairs drawn as 0)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["中原区", "召陵区", "云溪区"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["学习", "办实事", "宣讲"]
    with pytest.raises(ValueError, match="part_order"):
        figures.plot_shares(df, group="place", part="topic", share="share", part_order=["学习"])
    with pytest.raises(ValueError, match="repeated"):
        figures.plot_shares(pd.concat([df, df]), group="place", part="topic", share="share")


def test_plot_heatmap_square_and_tidy_forms_agree():
    labels = ["中原区", "召陵区", "郑州市"]
    square = pd.DataFrame([[1.0, 0.3, 0.5], [0.3, 1.0, 0.2], [0.5, 0.2, 1.0]], index=labels, columns=labels)
    tidy = square.stack().rename_axis(["a", "b"]).reset_index(name="cosine")
    fig_square = figures.plot_heatmap(square, title="相似度")
    fig_tidy = figures.plot_heatmap(tidy, row="a", column="b", value="cosine", title="相似度")
    for fig in (fig_square, fig_tidy):
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_yticklabels()] == labels
        assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:.2f}" for v in square.to_numpy().ravel())
    assert (fig_square.axes[0].images[0].get_array() == fig_tidy.axes[0].images[0].get_array()).all()
    with pytest.raises(ValueError, match="all of `row`"):
        figures.plot_heatmap(tidy, row="a")


def test_plot_bar_sort_and_errors():
    df = pd.DataFrame({"term": ["甲", "乙", "丙"], "n": [1, 3, 2]})
    fig = figures.plot_bar(df, category="term", value="n", sort=True)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["乙", "丙", "甲"]
    with pytest.raises(KeyError, match="'count'.*columns are"):
        figures.plot_bar(df, category="term", value="count")
    with pytest.raises(ValueError, match="empty"):
        figures.plot_bar(df.iloc[:0], category="term", value="n")
    with pytest.raises(ValueError, match="duplicate"):
        figures.plot_bar(pd.concat([df, df]), category="term", value="n")
    with pytest.raises(TypeError, match="DataFrame"):
        figures.plot_bar(df.to_dict(), category="term", value="n")


def _each_kind_of_figure():
    shares = pd.DataFrame({"place": ["中原区", "中原区", "召陵区", "召陵区"], "topic": ["宣讲", "实事"] * 2,
                           "share": [0.6, 0.4, 0.3, 0.7]})
    grid = pd.DataFrame({"place": ["中原区", "中原区", "召陵区", "召陵区"], "category": ["培训", "服务"] * 2,
                         "n": [3, 1, 0, 5]})
    lines = pd.DataFrame({"k": [4, 5, 6] * 2, "score": [0.1, 0.2, 0.15, 0.3, 0.25, 0.2], "seed": [0] * 3 + [1] * 3})
    return {
        "bar": lambda: figures.plot_bar(shares.head(2), category="topic", value="share", title="党史学习教育"),
        "shares": lambda: figures.plot_shares(shares, group="place", part="topic", share="share", title="主题占比"),
        "heatmap": lambda: figures.plot_heatmap(grid, row="place", column="category", value="n", title="指标",
                                                colorbar_label="次数"),
        "lines": lambda: figures.plot_lines(lines, x="k", y="score", hue="seed", title="轮廓系数"),
    }


@pytest.mark.parametrize("kind", sorted(_each_kind_of_figure()))
def test_save_figure_writes_the_bytes_savefig_writes(tmp_path, kind):
    # save_figure draws once where savefig draws twice (layout, then render); same file.
    make = _each_kind_of_figure()[kind]
    ours = figures.save_figure(make(), kind, directory=tmp_path).read_bytes()
    reference = tmp_path / f"{kind}-savefig.png"
    make().savefig(reference, format="png", dpi=figures.FIGURE_DPI, metadata={"Software": None})
    assert ours == reference.read_bytes()


def test_save_figure_falls_back_to_savefig_under_other_savefig_settings(tmp_path):
    make = _each_kind_of_figure()["bar"]
    with matplotlib.rc_context({"savefig.facecolor": "yellow"}):
        ours = figures.save_figure(make(), "yellow", directory=tmp_path).read_bytes()
        reference = tmp_path / "reference.png"
        make().savefig(reference, format="png", dpi=figures.FIGURE_DPI, metadata={"Software": None})
    assert ours == reference.read_bytes()
    assert ours != figures.save_figure(make(), "default", directory=tmp_path).read_bytes()


# ---------------------------------------------------------------- tables and findings for readers


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3.0, "3"),
        (3, "3"),
        (12000, "12,000"),
        (12000.0, "12,000"),
        (0.091234, "0.0912"),
        (0.5, "0.5"),
        (12.345, "12.3"),
        (1234.56, "1,235"),
        (-0.1234, "-0.123"),
        (float("nan"), ""),
        (None, ""),
        (pd.NaT, ""),
        (True, "yes"),
        (pd.Timestamp("2021-06-04"), "2021-06-04"),
        ("中原区", "中原区"),
    ],
)
def test_format_number(value, expected):
    assert figures.format_number(value) == expected


def _table_html(df, **kwargs) -> str:
    table = figures.show_table(df, **kwargs)
    assert isinstance(table, figures.ReportTable)
    return table._repr_html_()


def _cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html, flags=re.S)


def test_show_table_hides_the_index_and_formats_for_readers():
    df = pd.DataFrame(
        {"place": ["中原区", "召陵区"], "n_mentions": [3.0, float("nan")], "share": [0.123456, 0.5],
         "date": ["2021-06-04", None], "when": pd.to_datetime(["2021-03-05", None])},
        index=[7, 9],
    )
    html = _table_html(df)
    cells = _cells(html)
    assert cells == ["中原区", "3", "0.123", "2021-06-04", "2021-03-05", "召陵区", "", "0.500", "", ""]
    assert not {"NaN", "NaT", "None", "nan", "3.0"} & set(cells)
    assert ">7<" not in html and ">9<" not in html, "the unnamed index is hidden"
    assert "index_name" not in html and "row_heading" not in html


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0.357, 0.05, 0.0], ["0.357", "0.050", "0.000"]),  # one number of decimals per column
        ([16.2345, 8.1], ["16.2", "8.1"]),
        ([1.0, 0.927], ["1.00", "0.93"]),
        ([1.0, 0.004], ["1.00", "0.004"]),  # a small value does not read 0.00
        ([0.9, 0.0001], ["0.9", "0.0001"]),
        ([112387.4, 36.0], ["112,387", "36"]),
        ([2.0, float("nan")], ["2", ""]),
        ([10829.4, 16.23, 0.1734], ["10,829", "16.2", "0.173"]),  # mixed kinds: per-value digits
    ],
)
def test_show_table_float_columns_share_their_decimals(values, expected):
    assert _cells(_table_html(pd.DataFrame({"x": values}))) == expected


def test_show_table_keeps_a_named_index_as_columns_and_flattens_column_levels():
    tidy = pd.DataFrame({"place": ["甲", "甲", "乙"], "kind": ["a", "b", "a"], "n": [1, 2, 3]})
    html = _table_html(tidy.pivot(index="place", columns="kind", values="n"))
    assert [h for h in ("place", "a", "b") if f">{h}</th>" in html] == ["place", "a", "b"]
    assert _cells(html) == ["乙", "3", "", "甲", "1", "2"]  # counts stay integers after the pivot's NaN
    wide = tidy.pivot(index="place", columns=["kind", "n"], values="n")
    assert "a · 1</th>" in _table_html(wide)


def test_show_table_escapes_corpus_text_in_cells_and_labels():
    df = pd.DataFrame({"<b>col</b>": ["<script>alert(1)</script>", "a & b"]})
    html = _table_html(df)
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;col&lt;/b&gt;" in html


def test_show_table_keeps_short_text_on_one_line_and_long_text_at_a_readable_width():
    df = pd.DataFrame({"sentence": ["党史学习教育" * 10], "doc_id": ["000_418f3820d632331f"], "n": [1]})
    html = _table_html(df)
    assert "table-layout: auto" in html
    rules = dict(re.findall(r"td\.col(\d+) \{([^}]*)\}", html))
    assert f"min-width: {figures.TABLE_TEXT_MAX_MIN_WIDTH_EM:.0f}em" in rules["0"]  # long Chinese text wraps, not squeezed
    assert "overflow-wrap: anywhere" in rules["0"]
    assert "white-space: nowrap" in rules["1"]  # an id is never broken
    assert "2" not in rules  # numbers need no rule


def test_show_table_of_an_empty_table_says_none():
    out = figures.show_table(pd.DataFrame({"a": []}))
    assert out.data == "none"
    assert figures.show_table(pd.DataFrame({"a": []}), empty="No file was skipped.").data == "No file was skipped."


def test_show_table_html_is_the_same_on_every_call_and_differs_between_tables():
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert _table_html(df) == _table_html(df.copy())
    assert _table_html(df) != _table_html(df.assign(a=[1, 3]))
    assert repr(figures.show_table(df)).splitlines()[0].split() == ["a", "b"]  # text form, no object address


def test_show_table_max_rows_says_how_many_rows_are_shown():
    html = _table_html(pd.DataFrame({"a": range(10)}), max_rows=3)
    assert _cells(html) == ["0", "1", "2"] and "first 3 of 10 rows" in html
    with pytest.raises(ValueError, match="max_rows"):
        figures.show_table(pd.DataFrame({"a": [1]}), max_rows=0)
    with pytest.raises(TypeError, match="DataFrame"):
        figures.show_table([1, 2])


def test_show_table_formats_numbers_stored_as_text_when_asked():
    df = pd.DataFrame({"surface": ["1000余场", "1.2万人次"], "value": ["1000", "12000"], "total": ["112387", None]})
    assert _cells(_table_html(df)) == ["1000余场", "1000", "112387", "1.2万人次", "12000", ""]
    html = _table_html(df, numeric_text=["value", "total"])
    assert _cells(html) == ["1000余场", "1,000", "112,387", "1.2万人次", "12,000", ""]
    assert "td.col1" not in html, "numbers are right-aligned, not given a text rule"
    with pytest.raises(ValueError, match="not a number"):
        figures.show_table(df, numeric_text=["surface"])
    with pytest.raises(KeyError, match="numeric_text"):
        figures.show_table(df, numeric_text=["nope"])


def test_heatmap_matrix_has_the_heatmaps_order():
    grid = pd.DataFrame({"place": ["乙", "乙", "甲", "甲"], "category": ["study", "audience", "audience", "study"],
                         "n": [1, 2, 3, 4]})
    matrix = figures.heatmap_matrix(grid, row="place", column="category", value="n")
    assert matrix.index.tolist() == ["乙", "甲"] and matrix.columns.tolist() == ["study", "audience"]
    fig = figures.plot_heatmap(grid, row="place", column="category", value="n")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == matrix.columns.tolist()
    # Small heatmaps carry their values in the cells.
    assert sorted(t.get_text() for t in ax.texts) == ["1.00", "2.00", "3.00", "4.00"]


def test_findings_is_a_markdown_bullet_list_one_line_each():
    out = figures.findings(["**5 reports** about 4 places.", "  No file   was skipped. "])
    assert out.data == "- **5 reports** about 4 places.\n- No file was skipped."


@pytest.mark.parametrize(
    ("bullets", "error", "match"),
    [
        ([], ValueError, "1 to"),
        (["x"] * (figures.MAX_FINDINGS + 1), ValueError, "1 to"),
        (["two\nlines"], ValueError, "several lines"),
        (["<b>bold</b>"], ValueError, "HTML"),
        ([""], ValueError, "empty"),
        ("one string", TypeError, "not one string"),
        ([3], TypeError, "str"),
    ],
)
def test_findings_rejects_what_the_index_page_cannot_show(bullets, error, match):
    with pytest.raises(error, match=match):
        figures.findings(bullets)


def test_heatmap_annotation_covers_wide_small_heatmaps_and_follows_the_colour_scale():
    wide = pd.DataFrame([[0.1] * 20, [0.9] * 20], index=["甲", "乙"], columns=[f"c{i}" for i in range(20)])
    ax = figures.plot_heatmap(wide, vmin=0, vmax=1, value_format="{:.0%}").axes[0]
    assert len(ax.texts) == 40 and {t.get_text() for t in ax.texts} == {"10%", "90%"}
    # The text colour follows the colour scale (0..1), not the data range: dark cells get white text.
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    assert colours["10%"] == "white" and colours["90%"] == "black"
    low = pd.DataFrame([[0.11, 0.19], [0.19, 0.11]], index=["a", "b"], columns=["a", "b"])
    assert {t.get_color() for t in figures.plot_heatmap(low, vmin=0, vmax=1).axes[0].texts} == {"white"}
    big = pd.DataFrame(np.zeros((16, 16)), index=list(range(16)), columns=list(range(16)))
    assert len(figures.plot_heatmap(big).axes[0].texts) == 0  # 256 cells: too many to write in
