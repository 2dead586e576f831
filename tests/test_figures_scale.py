"""Tests of analysis.figures at corpus scale: page-high figures, top rows with the rest summarised,
clustered heatmaps, and long tables shown as a preview with a link to the full table."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import figures

#: Rows in the synthetic frames: a corpus of thousands of reports.
N_ROWS = 5000
MAX_HEIGHT_PX = round(figures.MAX_FIGURE_HEIGHT_INCHES * figures.FIGURE_DPI)


@pytest.fixture(autouse=True)
def _font():
    figures.setup_cjk_font(strict=False)


def _places(n: int) -> list[str]:
    return [f"地{i:04d}区" for i in range(n)]


def _png_height(path: Path) -> int:
    data = path.read_bytes()
    return int.from_bytes(data[20:24], "big")


def _tick_labels(ax, axis: str = "y") -> list[str]:
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in labels]


def test_page_cap_is_an_a4_page_and_holds_the_rows_it_promises():
    assert figures.MAX_FIGURE_HEIGHT_INCHES == pytest.approx(11.69, abs=0.01)
    assert figures.figure_height(figures.MAX_ROWS_PER_FIGURE) <= figures.MAX_FIGURE_HEIGHT_INCHES
    assert figures.figure_height(figures.MAX_ROWS_PER_FIGURE + 2) == figures.MAX_FIGURE_HEIGHT_INCHES
    heights = [figures.figure_height(n) for n in (0, 5, 20, 40, N_ROWS, 10**6)]
    assert heights == sorted(heights)  # grows with the rows ...
    assert max(heights) == figures.MAX_FIGURE_HEIGHT_INCHES  # ... up to a page, never beyond
    assert heights[1] == figures.FIGURE_SIZE_INCHES[1]  # small figures keep the default size


def _big_figures():
    rng = np.random.default_rng(0)
    places = _places(N_ROWS)
    bar = pd.DataFrame({"place": places, "n": rng.integers(0, 1000, N_ROWS)})
    shares = pd.DataFrame({"doc": np.repeat(places[:600], 3), "kind": ["a", "b", "c"] * 600,
                           "share": rng.random(1800)})
    grid = pd.DataFrame({"place": np.repeat(places[:600], 9), "category": [f"c{j}" for j in range(9)] * 600,
                         "n": rng.integers(0, 50, 5400)})
    square = pd.DataFrame(rng.random((300, 300)), index=places[:300], columns=places[:300])
    return {
        "bar": lambda **kw: figures.plot_bar(bar, category="place", value="n", **kw),
        "shares": lambda **kw: figures.plot_shares(shares, group="doc", part="kind", share="share", **kw),
        "heatmap": lambda **kw: figures.plot_heatmap(grid, row="place", column="category", value="n", **kw),
        "square": lambda **kw: figures.plot_heatmap(square, rest="mean", **kw),
    }


@pytest.mark.parametrize("kind", sorted(_big_figures()))
def test_no_saved_figure_is_taller_than_a_page(tmp_path, kind):
    make = _big_figures()[kind]
    path = figures.save_figure(make(), kind, directory=tmp_path)
    assert _png_height(path) <= MAX_HEIGHT_PX
    # Asking for more rows than a page holds squeezes them into the page and labels every k-th row.
    fig = make(max_rows=200)
    path = figures.save_figure(fig, f"{kind}_200", directory=tmp_path)
    assert _png_height(path) <= MAX_HEIGHT_PX
    assert len(_tick_labels(fig.axes[0])) <= figures.MAX_ROWS_PER_FIGURE


def test_plot_bar_shows_the_largest_rows_and_sums_the_rest_in_one_labelled_bar():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"place": _places(N_ROWS), "n": rng.permutation(N_ROWS) + 1})
    fig = figures.plot_bar(df, category="place", value="n", sort=True, rest_label="other {n} places")
    ax = fig.axes[0]
    labels = _tick_labels(ax)
    n_kept = figures.MAX_ROWS_PER_FIGURE - 1
    assert len(labels) == figures.MAX_ROWS_PER_FIGURE
    assert labels[-1] == f"other {N_ROWS - n_kept} places"
    largest = df.sort_values("n", ascending=False).head(n_kept)
    assert labels[:-1] == largest["place"].tolist()  # the largest, sorted, the rest last
    widths = [p.get_width() for p in ax.patches]
    assert widths[-1] == df["n"].sum() - largest["n"].sum()
    assert f"{n_kept} of {N_ROWS} rows shown" in fig.get_supxlabel()
    assert "summed" in fig.describe()  # the alternative text says so too


def test_plot_bar_can_average_the_rest_and_keeps_small_figures_as_they_were():
    df = pd.DataFrame({"place": _places(40), "rate": np.linspace(1.0, 40.0, 40)})
    ax = figures.plot_bar(df, category="place", value="rate", max_rows=5, rest="mean").axes[0]
    assert _tick_labels(ax) == [*df["place"].tail(4), "other 36"]
    assert ax.patches[-1].get_width() == pytest.approx(df["rate"].head(36).mean())
    small = figures.plot_bar(df.head(5), category="place", value="rate")
    assert small.get_supxlabel() == ""  # nothing summarised: no note
    assert _tick_labels(small.axes[0]) == df["place"].head(5).tolist()
    with pytest.raises(ValueError, match="rest"):
        figures.plot_bar(df, category="place", value="rate", rest="median")
    with pytest.raises(ValueError, match="max_rows"):
        figures.plot_bar(df, category="place", value="rate", max_rows=1)
    with pytest.raises(ValueError, match=r"\{n\}"):
        figures.plot_bar(df, category="place", value="rate", rest_label="other")
    with pytest.raises(ValueError, match="already a row label"):
        figures.plot_bar(df.assign(place=[*df["place"][:-1], "other 36"]), category="place", value="rate",
                         max_rows=5)


def test_top_rows_keeps_order_and_breaks_ties_by_position():
    table = pd.DataFrame({"a": [1, 3, 3, 3, 0], "b": [0, 0, 0, 0, 2]}, index=list("vwxyz"))
    out = figures.top_rows(table, max_rows=3, rest_label="rest {n}")
    assert out.index.tolist() == ["w", "x", "rest 3"]  # ties: the earlier rows win
    assert out.loc["rest 3"].tolist() == [4.0, 2.0]
    assert out.attrs == {"n_rows": 5, "n_rest": 3, "rest": "sum"}
    assert figures.top_rows(table, max_rows=5) is table
    ranked = figures.top_rows(table, max_rows=2, rank_by=pd.Series([5, 0, 0, 0, 9], index=list("vwxyz")))
    assert ranked.index.tolist() == ["z", "other 4"]
    with pytest.raises(ValueError, match="rank_by"):
        figures.top_rows(table, max_rows=2, rank_by=pd.Series([1], index=["v"]))


def test_plot_shares_averages_normalised_shares_and_sums_counts():
    rng = np.random.default_rng(2)
    raw = rng.random((100, 3))
    tidy = pd.DataFrame(raw / raw.sum(axis=1, keepdims=True), index=_places(100), columns=["a", "b", "c"])
    tidy = tidy.stack().rename_axis(["doc", "kind"]).reset_index(name="share")
    fig = figures.plot_shares(tidy, group="doc", part="kind", share="share", max_rows=10)
    ax = fig.axes[0]
    assert _tick_labels(ax)[-1] == "other 91"
    last_bar = [p.get_width() for p in ax.patches][9::10]  # one segment per part, 10 bars each
    assert sum(last_bar) == pytest.approx(1.0)  # shares are averaged, so the rest bar still adds up to 1
    counts = tidy.assign(share=tidy["share"] * np.repeat(np.arange(1, 101), 3))
    ax = figures.plot_shares(counts, group="doc", part="kind", share="share", max_rows=10).axes[0]
    kept = _tick_labels(ax)[:-1]
    assert kept == _places(100)[91:]  # the largest totals
    rest_total = sum(p.get_width() for p in ax.patches[9::10])
    assert rest_total == pytest.approx(counts["share"].sum() - counts[counts["doc"].isin(kept)]["share"].sum())


def _two_blocks(n: int) -> pd.DataFrame:
    """Rows alternating between two profiles, so a clustering must bring each profile together."""
    profile = np.where(np.arange(n)[:, None] % 2 == 0, [10.0, 0.0, 10.0, 0.0], [0.0, 10.0, 0.0, 10.0])
    noise = np.random.default_rng(3).random((n, 4))
    return pd.DataFrame(profile + noise, index=_places(n), columns=["c0", "c1", "c2", "c3"])


def test_cluster_order_brings_alike_rows_together_and_is_deterministic():
    table = _two_blocks(20)
    order = figures.cluster_order(table)
    assert sorted(order) == sorted(table.index)
    parity = [int(label[1:5]) % 2 for label in order]
    assert sum(a != b for a, b in zip(parity, parity[1:], strict=False)) == 1  # one switch: two blocks
    assert figures.cluster_order(table) == order


def test_large_heatmaps_are_clustered_and_small_ones_keep_their_order():
    table = _two_blocks(60)
    tidy = table.stack().rename_axis(["place", "category"]).reset_index(name="n")
    matrix = figures.heatmap_matrix(tidy, row="place", column="category", value="n", rest_label="other {n} places")
    assert len(matrix) == figures.MAX_ROWS_PER_FIGURE and matrix.index[-1] == "other 29 places"
    parity = [int(label[1:5]) % 2 for label in matrix.index[:-1]]
    assert sum(a != b for a, b in zip(parity, parity[1:], strict=False)) == 1  # clustered (auto: many rows)
    assert "clustering" in matrix.attrs["layout"] and "29" in matrix.attrs["layout"]
    fig = figures.plot_heatmap(tidy, row="place", column="category", value="n", rest_label="other {n} places")
    assert _tick_labels(fig.axes[0]) == [str(p) for p in matrix.index]  # the figure draws the matrix shown
    small = tidy[tidy["place"].isin(_places(6))]
    assert figures.heatmap_matrix(small, row="place", column="category", value="n").index.tolist() == _places(6)
    clustered = figures.heatmap_matrix(small, row="place", column="category", value="n", cluster=True)
    assert clustered.index.tolist() != _places(6) and sorted(clustered.index) == _places(6)
    with pytest.raises(ValueError, match="cluster"):
        figures.heatmap_matrix(small, row="place", column="category", value="n", cluster="yes")


def test_a_large_similarity_matrix_keeps_the_same_labels_on_both_axes():
    rng = np.random.default_rng(4)
    x = rng.random((80, 5))
    similarity = pd.DataFrame(x @ x.T, index=_places(80), columns=_places(80))
    fig = figures.plot_heatmap(similarity, rest="mean", max_rows=10)
    ax = fig.axes[0]
    rows, columns = _tick_labels(ax, "y"), _tick_labels(ax, "x")
    assert rows == columns and len(rows) == 10 and rows[-1] == "other 71"
    left_out = [p for p in _places(80) if p not in rows]
    corner = ax.images[0].get_array()[-1, -1]
    assert corner == pytest.approx(similarity.loc[left_out, left_out].to_numpy().mean())


def test_many_columns_are_cut_to_the_widest_readable_heatmap():
    wide = pd.DataFrame(np.ones((3, 100)), index=["甲", "乙", "丙"], columns=[f"t{i}" for i in range(100)])
    ax = figures.plot_heatmap(wide, cluster=False).axes[0]
    assert len(_tick_labels(ax, "x")) == figures.MAX_COLUMNS_PER_FIGURE
    assert _tick_labels(ax, "x")[-1] == f"other {100 - figures.MAX_COLUMNS_PER_FIGURE + 1}"


def test_grouping_level_picks_the_finest_level_that_fits():
    documents = pd.DataFrame({"doc_id": [f"d{i}" for i in range(N_ROWS)], "place": _places(N_ROWS),
                              "city": [f"市{i % 300}" for i in range(N_ROWS)],
                              "province": [f"省{i % 30}" for i in range(N_ROWS)]})
    levels = ["place", "city", "province"]
    assert figures.grouping_level(documents.head(5), levels) == "place"
    assert figures.grouping_level(documents, levels) == "province"
    assert figures.grouping_level(documents, levels, max_groups=300) == "city"
    assert figures.grouping_level(documents, ["place", "city"]) == "city"  # nothing fits: the coarsest
    with pytest.raises(KeyError, match="county"):
        figures.grouping_level(documents, ["county"])


# ---------------------------------------------------------------- long tables


def _caption(html: str) -> str:
    match = re.search(r"<caption>(.*?)</caption>", html, flags=re.S)
    return match.group(1) if match else ""


def _long_table() -> pd.DataFrame:
    return pd.DataFrame({"doc_id": [f"d{i:05d}" for i in range(N_ROWS)], "n": np.arange(N_ROWS),
                         "sentence": ["<script>alert(1)</script> 党史学习教育"] * N_ROWS})


def test_a_long_table_shows_a_preview_and_links_to_the_full_csv(tmp_path):
    reports = tmp_path / "reports"
    processed = tmp_path / "data" / "processed"
    reports.mkdir(parents=True), processed.mkdir(parents=True)
    df = _long_table()
    csv = processed / "03_metric_mentions.csv"
    df.to_csv(csv, index=False)
    table = figures.show_table(df, full_table=csv, link_from=reports)
    html = table._repr_html_()
    assert len(re.findall(r"<tr>", html)) == figures.TABLE_PREVIEW_ROWS + 1  # header + preview rows
    caption = _caption(html)
    assert f"first {figures.TABLE_PREVIEW_ROWS} of {N_ROWS:,} rows" in caption
    href = re.search(r'<a href="([^"]+)">03_metric_mentions\.csv</a>', caption).group(1)
    assert href == "../data/processed/03_metric_mentions.csv"
    assert (reports / href).resolve() == csv.resolve()  # the link works from the page's folder
    assert "<script>" not in html and "&lt;script&gt;" in html  # corpus text stays escaped
    assert "full table: 03_metric_mentions.csv" in repr(table)
    assert len(html) < 20_000  # a preview, not 5,000 rows


def test_short_tables_are_shown_whole_and_a_missing_full_table_is_an_error(tmp_path):
    df = _long_table().head(figures.TABLE_MAX_ROWS)
    html = figures.show_table(df, full_table=tmp_path / "absent.csv")._repr_html_()
    assert len(re.findall(r"<tr>", html)) == figures.TABLE_MAX_ROWS + 1 and _caption(html) == ""
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        figures.show_table(_long_table(), full_table=tmp_path / "absent.csv")
    # Without a file to link to, a long table is still cut and says so.
    caption = _caption(figures.show_table(_long_table())._repr_html_())
    assert caption == f"first {figures.TABLE_PREVIEW_ROWS} of {N_ROWS:,} rows"


def test_the_link_and_its_label_are_escaped(tmp_path):
    odd = tmp_path / 'a "b" <c> & d.csv'
    odd.write_text("x\n", encoding="utf-8")
    caption = _caption(figures.show_table(_long_table(), full_table=odd, link_from=tmp_path)._repr_html_())
    assert "<c>" not in caption and "&lt;c&gt; &amp; d.csv</a>" in caption
    assert 'href="a%20%22b%22%20%3Cc%3E%20%26%20d.csv"' in caption


def test_short_list_names_the_first_items_and_counts_the_rest():
    assert figures.short_list(_places(3)) == ", ".join(_places(3))
    text = figures.short_list(_places(N_ROWS), limit=2, sep="、")
    assert text == f"{_places(1)[0]}、{_places(2)[1]} and {N_ROWS - 2:,} more"
    with pytest.raises(TypeError, match="one string"):
        figures.short_list("中原区")
    with pytest.raises(ValueError, match="limit"):
        figures.short_list(_places(3), limit=0)
