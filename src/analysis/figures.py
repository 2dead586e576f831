"""Turn tidy DataFrames into figures with a shipped CJK font, and save them as PNG.

Last stage of the flow (comparison tables -> figures). Every figure renders
Chinese with Noto Sans CJK SC, the OFL font shipped by the pinned PyPI package
``mplfonts``; :func:`setup_cjk_font` registers it with matplotlib on every run,
so nothing depends on the state of matplotlib's font cache. A character the
font cannot draw is an error, never a silent empty box: the plot helpers and
:func:`save_figure` run :func:`check_glyphs`, and :func:`fail_on_missing_glyph`
turns matplotlib's "Glyph ... missing from font(s)" warning into an error for
any code.

Notes
-----
Figures are :class:`ReportFigure` objects built directly, not with
``pyplot``, so a notebook shows each figure exactly once (the value of the
cell) and no figure stays open between calls. PNG output is byte-identical on
rerun: fixed dpi, no ``Software`` metadata, no timestamps.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import io
import logging
import os
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import matplotlib
import matplotlib.image
import numpy as np
import pandas as pd
from matplotlib import cbook, font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text

from . import paths
from .fonts import CJK_FONT_FILE, CJK_FONT_PACKAGE, find_cjk_font
from .storage import atomic_write

__all__ = [
    "CJK_FONT_FILE",
    "CJK_FONT_PACKAGE",
    "FIGURE_DPI",
    "DISPLAY_DPI",
    "MAX_FIGURE_HEIGHT_INCHES",
    "MAX_ROWS_PER_FIGURE",
    "MAX_COLUMNS_PER_FIGURE",
    "TABLE_MAX_ROWS",
    "TABLE_PREVIEW_ROWS",
    "TABLE_MAX_COLUMNS",
    "MissingGlyphError",
    "GlyphProblem",
    "ReportFigure",
    "find_cjk_font",
    "setup_cjk_font",
    "fail_on_missing_glyph",
    "check_glyphs",
    "figure_height",
    "top_rows",
    "cluster_order",
    "grouping_level",
    "plot_bar",
    "plot_shares",
    "heatmap_matrix",
    "plot_heatmap",
    "plot_lines",
    "save_figure",
    "format_number",
    "ReportTable",
    "show_table",
    "short_list",
    "findings",
]

logger = logging.getLogger(__name__)

#: Fallback for glyphs the CJK font lacks (ships with matplotlib).
FALLBACK_FAMILY = "DejaVu Sans"
#: Resolution of saved PNG files, in dots per inch.
FIGURE_DPI = 150
#: Size of figures shown in notebooks and HTML reports, in dots per inch: a figure
#: saved with save_figure is shown from its FIGURE_DPI file at this size, any other
#: figure is drawn at this resolution.
DISPLAY_DPI = 100
#: Default figure size, in inches.
FIGURE_SIZE_INCHES = (8.0, 4.5)
#: Height added per bar / heatmap row, in inches, for long category lists.
ROW_HEIGHT_INCHES = 0.32
#: Height of a figure's title, axis labels and margins beside its rows, in inches.
_BASE_HEIGHT_INCHES = 1.2
#: Tallest figure, in inches: an A4 page (297 mm), i.e. 1,754 px at ``FIGURE_DPI``. No figure is taller,
#: whatever its number of rows: rows beyond ``MAX_ROWS_PER_FIGURE`` are summarised or squeezed.
MAX_FIGURE_HEIGHT_INCHES = 297 / 25.4
#: Rows (bars, stacked bars, heatmap rows) a page-high figure holds at ``ROW_HEIGHT_INCHES`` each (32).
MAX_ROWS_PER_FIGURE = int((MAX_FIGURE_HEIGHT_INCHES - _BASE_HEIGHT_INCHES) // ROW_HEIGHT_INCHES)
#: Heatmap columns whose rotated labels stay readable across the figure's width.
MAX_COLUMNS_PER_FIGURE = 40
#: Label of the one row (or column) that summarises those left out; ``{n}`` is their number.
DEFAULT_REST_LABEL = "other {n}"
#: How the left-out rows are summarised: their sum (counts) or their mean (shares, rates, similarities).
REST_METHODS = ("sum", "mean")
#: Colour of a bar that summarises left-out rows (grey: not one of the data's own rows).
_REST_COLOUR = "#A0A0A0"
#: Heatmap cells are annotated with their value up to this many rows/columns (small font above 15) ...
MAX_ANNOTATED_CELLS_PER_SIDE = 25
#: ... and up to this many cells in all (15 x 15).
MAX_ANNOTATED_CELLS = 225
#: Above this many rows or columns the values in the cells are written smaller.
_SMALL_ANNOTATION_SIDE = 15

_RE_MISSING_GLYPH = re.compile(r"^Glyph (\d+) \((.*?)\) missing from font\(s\) (.*?)\.?$")
_RE_FIGURE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_GENERIC_ALIASES = {"sans": "sans-serif"}
_CJK_FAMILY: str | None = None


class MissingGlyphError(ValueError):
    """A figure contains characters that no configured font can draw."""


@dataclass(frozen=True, slots=True)
class GlyphProblem:
    """One character a figure's font cannot draw.

    Parameters
    ----------
    char : str
        The character.
    text : str
        The text element it occurs in.
    fonts : tuple of str
        The font files that were searched.
    """

    char: str
    text: str
    fonts: tuple[str, ...]

    def describe(self) -> str:
        """One line for an error message."""
        name = unicodedata.name(self.char, "unnamed")
        return f"{self.char!r} (U+{ord(self.char):04X} {name}) in {self.text!r}"


class ReportFigure(Figure):
    """A matplotlib Figure that displays itself as a PNG in notebooks.

    Built without ``pyplot``, so it is shown once (as the value of a cell)
    whatever the backend, and rendered the same way as :func:`save_figure`
    (fixed dpi, no software metadata), so reruns give identical bytes.
    Displaying it checks its glyphs again, so a label changed after the plot
    helper returned cannot show empty boxes (the notebook cell fails instead).

    A figure displayed unchanged after :func:`save_figure` shows the saved
    PNG (``FIGURE_DPI``, sized to ``DISPLAY_DPI``) instead of drawing again:
    the report shows exactly the file a paper would use, and a figure is
    drawn once per run instead of twice.
    """

    _saved_png: bytes | None = None

    def remember_png(self, png: bytes) -> None:
        """Keep the PNG just written by :func:`save_figure` for display, until the figure changes."""
        self._saved_png = png
        # Saving at another dpi marks the figure stale when its dpi is restored; nothing
        # in it changed. From here on, any change to an artist marks it stale again.
        self.stale = False

    def _repr_png_(self) -> tuple[bytes, dict[str, Any]]:
        if self._saved_png is not None and not self.stale:
            png, dpi = self._saved_png, FIGURE_DPI
        else:
            buffer = io.BytesIO()
            with fail_on_missing_glyph():
                self.savefig(buffer, format="png", dpi=DISPLAY_DPI, metadata={"Software": None})
            png, dpi = buffer.getvalue(), DISPLAY_DPI
        _raise_for_glyph_problems(self)  # also catches labels changed after the plot helper returned
        width_px, height_px = _png_size(png)
        scale = DISPLAY_DPI / dpi
        return png, {"alt": self.describe(), "width": round(width_px * scale), "height": round(height_px * scale)}

    def describe(self) -> str:
        """Short description for alternative text: the figure's titles and axis labels."""
        parts = [self.get_suptitle()] if self.get_suptitle() else []
        for ax in self.axes:
            parts.extend(t for t in (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) if t)
        if self.get_supxlabel():
            parts.append(self.get_supxlabel())  # what was summarised or reordered (see _add_note)
        return " / ".join(parts) or "Figure"


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels from a PNG's header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# ---------------------------------------------------------------- font set-up


def setup_cjk_font(*, strict: bool = True) -> str:
    """Register the shipped CJK font with matplotlib and make it the default.

    Safe to call more than once. Sets ``font.family`` to ``sans-serif`` and
    puts the CJK family first in ``font.sans-serif`` (DejaVu Sans after it as
    a fallback).

    Parameters
    ----------
    strict : bool, default=True
        Also install a warnings filter that turns matplotlib's "Glyph ...
        missing from font(s)" warning into an error for the rest of the
        process, so a notebook cell that draws an undrawable character fails.

    Returns
    -------
    str
        The font family name (``"Noto Sans CJK SC"``).

    Raises
    ------
    FileNotFoundError
        If the font package is not installed.
    """
    global _CJK_FAMILY
    path = find_cjk_font()
    family = font_manager.FontProperties(fname=path).get_name()
    known = {Path(entry.fname).resolve() for entry in font_manager.fontManager.ttflist}
    if path.resolve() not in known:
        font_manager.fontManager.addfont(str(path))
        logger.debug("registered CJK font %s (%s)", family, path)
    # A system copy of the same family (e.g. Debian's fonts-noto-cjk) would compete
    # with the shipped file, and which one wins is up to matplotlib's scoring; keep
    # only the shipped file under this name so every machine draws the same glyphs.
    others = [
        entry for entry in font_manager.fontManager.ttflist
        if entry.name == family and Path(entry.fname).resolve() != path.resolve()
    ]
    if others:
        font_manager.fontManager.ttflist = [e for e in font_manager.fontManager.ttflist if e not in others]
        cache_clear = getattr(font_manager.FontManager._findfont_cached, "cache_clear", None)
        if cache_clear is not None:
            cache_clear()
        logger.debug("set aside %d system font file(s) of family %s", len(others), family)
    matplotlib.rcParams["font.family"] = ["sans-serif"]
    rest = [f for f in matplotlib.rcParams["font.sans-serif"] if f not in (family, FALLBACK_FAMILY)]
    matplotlib.rcParams["font.sans-serif"] = [family, FALLBACK_FAMILY, *rest]
    if strict:
        warnings.filterwarnings("error", message=r"Glyph \d+ .* missing from font", category=UserWarning)
    _CJK_FAMILY = family
    return family


def _ensure_font() -> None:
    if _CJK_FAMILY is None:
        setup_cjk_font(strict=False)


@contextlib.contextmanager
def fail_on_missing_glyph() -> Iterator[None]:
    """Context in which a missing-glyph warning from matplotlib raises MissingGlyphError.

    Other warnings raised inside the context are re-issued unchanged.

    Raises
    ------
    MissingGlyphError
        On exit, listing every missing character that matplotlib reported.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    missing = []
    for item in caught:
        match = _RE_MISSING_GLYPH.match(str(item.message))
        if match and issubclass(item.category, UserWarning):
            missing.append(f"{match.group(2)} (glyph {match.group(1)}) missing from {match.group(3)}")
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    if missing:
        raise MissingGlyphError(
            "matplotlib cannot draw these characters: " + "; ".join(sorted(set(missing)))
            + ". Call figures.setup_cjk_font() first, or replace the characters in the labels."
        )


@functools.lru_cache(maxsize=64)
def _charmap(path: str) -> frozenset[int]:
    return frozenset(FT2Font(path).get_charmap())


@functools.lru_cache(maxsize=256)
def _font_files(
    families: tuple[str, ...], style: str, variant: str, weight: str | int, stretch: str | int, rc_key: tuple
) -> tuple[tuple[str, ...], frozenset[int]]:
    """Font files matplotlib falls back through for these properties, and the characters they cover.

    ``rc_key`` (the generic family lists of rcParams) is part of the cache key
    only so a change of rcParams is not served a stale answer.
    """
    expanded: list[str] = []
    for family in families:
        generic = f"font.{_GENERIC_ALIASES.get(family, family)}"
        if family in font_manager.font_family_aliases and generic in matplotlib.rcParams:
            expanded.extend(matplotlib.rcParams[generic])
        else:
            expanded.append(family)
    files: list[str] = []
    for family in expanded:
        prop = font_manager.FontProperties(family=family, style=style, variant=variant, weight=weight, stretch=stretch)
        try:
            path = font_manager.findfont(prop, fallback_to_default=False)
        except ValueError:
            continue
        if path not in files:
            files.append(path)
    if not files:
        files.append(font_manager.findfont(font_manager.FontProperties(family=list(families))))
    return tuple(files), frozenset().union(*(_charmap(f) for f in files))


def _glyph_problems(fig: Figure) -> list[GlyphProblem]:
    rc_key = tuple(
        tuple(matplotlib.rcParams[f"font.{g}"]) for g in ("sans-serif", "serif", "monospace", "cursive", "fantasy")
    )
    problems = []
    for text in fig.findobj(Text):
        string = text.get_text()
        if not string or not text.get_visible() or text.get_usetex():
            continue
        if cbook.is_math_text(string):
            continue  # mathtext uses its own fonts; its misses surface as warnings
        prop = text.get_fontproperties()
        fonts, covered = _font_files(
            tuple(prop.get_family()), prop.get_style(), prop.get_variant(), prop.get_weight(), prop.get_stretch(), rc_key
        )
        for char in sorted(set(string)):
            if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
                continue
            if ord(char) not in covered:
                problems.append(GlyphProblem(char, string, tuple(Path(f).name for f in fonts)))
    return problems


def check_glyphs(fig: Figure) -> None:
    """Raise if any text in ``fig`` has a character its fonts cannot draw.

    Draws the figure once (so tick labels exist) while catching matplotlib's
    missing-glyph warnings, then checks every text element against the
    character maps of its fonts. The second step does not depend on
    matplotlib's text-layout cache, which suppresses the warning when the
    same text is drawn again.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to check.

    Raises
    ------
    MissingGlyphError
        Naming every undrawable character and the text it occurs in.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"`fig` must be a matplotlib Figure, got {type(fig).__name__}.")
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    with fail_on_missing_glyph():
        canvas.draw()
    _raise_for_glyph_problems(fig)


def _raise_for_glyph_problems(fig: Figure) -> None:
    """The character-map half of :func:`check_glyphs`, for a figure that was just drawn."""
    problems = _glyph_problems(fig)
    if problems:
        listed = "; ".join(p.describe() for p in problems)
        raise MissingGlyphError(
            f"{len(problems)} character(s) cannot be drawn with {', '.join(problems[0].fonts)}: "
            f"{listed}. Call figures.setup_cjk_font() first, or replace the characters in the labels."
        )


# ---------------------------------------------------------------- plot helpers


def _check_frame(df: pd.DataFrame, columns: dict[str, str | None], *, name: str = "df") -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame, got {type(df).__name__}.")
    if df.empty:
        raise ValueError(f"`{name}` is empty: there is nothing to plot.")
    for param, column in columns.items():
        if column is not None and column not in df.columns:
            raise KeyError(
                f"`{param}`={column!r} is not a column of `{name}`; columns are {list(map(str, df.columns))}."
            )


#: Rows up to which cluster_order also optimises the leaf order (scipy's optimal_leaf_ordering costs ~n^3).
MAX_OPTIMAL_ORDERING_ROWS = 500


def _check_rest(max_rows: int | None, rest: str, rest_label: str, *, name: str = "max_rows") -> int:
    """``max_rows`` resolved (None: a page's worth) after checking the summary options."""
    if max_rows is None:
        max_rows = MAX_ROWS_PER_FIGURE
    if isinstance(max_rows, bool) or not isinstance(max_rows, (int, np.integer)) or max_rows < 2:
        raise ValueError(f"`{name}` must be an integer of at least 2 (rows shown, the last one summarising "
                         f"the rest) or None, got {max_rows!r}.")
    if rest not in REST_METHODS:
        raise ValueError(f"`rest` must be one of {REST_METHODS}, got {rest!r}.")
    if not isinstance(rest_label, str) or "{n}" not in rest_label:
        raise ValueError(f"`rest_label` must be a str containing '{{n}}' (the number left out), got {rest_label!r}.")
    return int(max_rows)


def top_rows(
    table: pd.DataFrame,
    *,
    max_rows: int | None = None,
    rank_by: pd.Series | None = None,
    rest: str = "sum",
    rest_label: str = DEFAULT_REST_LABEL,
) -> pd.DataFrame:
    """The highest-ranked rows of a wide table, the others summarised in one labelled last row.

    Parameters
    ----------
    table : pandas.DataFrame
        Numeric columns, one row per label (the index: place, report, term...).
    max_rows : int or None, default=None
        Rows in the result, the summary row included; default
        :data:`MAX_ROWS_PER_FIGURE`, what one page-high figure holds.
    rank_by : pandas.Series or None, default=None
        Score of each row (same index); default the row total. Ties keep
        the table's order.
    rest : {"sum", "mean"}, default="sum"
        How the left-out rows are summarised: summed (counts) or averaged
        (shares, rates, similarities; missing values skipped).
    rest_label : str, default="other {n}"
        Label of the summary row, ``{n}`` being the number of rows it
        stands for, e.g. ``"other {n} places"``.

    Returns
    -------
    pandas.DataFrame
        ``table`` itself when it has at most ``max_rows`` rows; otherwise
        the ``max_rows - 1`` best-ranked rows in their order in ``table``,
        then the summary row. ``attrs["n_rows"]`` and ``attrs["n_rest"]``
        say how many rows there were and how many were summarised.

    Raises
    ------
    ValueError
        If ``max_rows`` < 2, ``rest`` is unknown, ``rest_label`` lacks
        ``{n}`` or equals a label of ``table``, or ``rank_by`` misses rows.

    Examples
    --------
    >>> t = pd.DataFrame({"n": [5, 1, 7, 2]}, index=["甲", "乙", "丙", "丁"])
    >>> top_rows(t, max_rows=3, rest_label="other {n} places")["n"].to_dict()
    {'甲': 5.0, '丙': 7.0, 'other 2 places': 3.0}
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"`table` must be a pandas DataFrame, got {type(table).__name__}.")
    max_rows = _check_rest(max_rows, rest, rest_label)
    if table.index.has_duplicates:
        dup = sorted(map(str, table.index[table.index.duplicated()].unique()))
        raise ValueError(f"`table` has duplicate row labels {dup}; aggregate first.")
    if len(table) <= max_rows:
        return table
    values = table.apply(pd.to_numeric, errors="raise").astype(float)
    if rank_by is None:
        score = values.sum(axis=1, skipna=True)
    else:
        score = pd.Series(rank_by, dtype=float)
        missing = table.index.difference(score.index)
        if len(missing):
            raise ValueError(f"`rank_by` has no score for rows {sorted(map(str, missing))[:5]}.")
        score = score.reindex(table.index)
    ranked = np.argsort(-score.fillna(-np.inf).to_numpy(), kind="stable")
    keep = np.sort(ranked[: max_rows - 1])
    left_out = np.setdiff1d(np.arange(len(table)), keep)
    label = rest_label.format(n=len(left_out))
    if label in set(map(str, table.index)):
        raise ValueError(f"`rest_label` gives {label!r}, which is already a row label; choose another.")
    summary = getattr(values.iloc[left_out], rest)(axis=0, skipna=True)
    out = pd.concat([values.iloc[keep], summary.to_frame(label).T])
    out.index.name = table.index.name
    out.attrs = {"n_rows": len(table), "n_rest": len(left_out), "rest": rest}
    return out


def cluster_order(table: pd.DataFrame) -> list:
    """Row labels of ``table`` in the leaf order of a hierarchical clustering of its rows.

    Average linkage on Euclidean distances between the rows (missing values
    count as 0), with scipy's optimal leaf ordering up to
    :data:`MAX_OPTIMAL_ORDERING_ROWS` rows, so that alike rows sit together.
    Deterministic: the same table gives the same order.

    Examples
    --------
    >>> t = pd.DataFrame({"a": [1, 9, 1.1, 9.2], "b": [0, 5, 0.1, 5.1]}, index=list("wxyz"))
    >>> order = cluster_order(t)
    >>> abs(order.index("w") - order.index("y")) == 1 and abs(order.index("x") - order.index("z")) == 1
    True
    """
    from scipy.cluster import hierarchy

    labels = list(table.index)
    if len(labels) < 3:
        return labels
    values = np.nan_to_num(table.to_numpy(dtype=float), nan=0.0)
    linkage = hierarchy.linkage(values, method="average", metric="euclidean")
    if len(labels) <= MAX_OPTIMAL_ORDERING_ROWS:
        linkage = hierarchy.optimal_leaf_ordering(linkage, values)
    return [labels[i] for i in hierarchy.leaves_list(linkage)]


def grouping_level(
    documents: pd.DataFrame, levels: Sequence[str], *, max_groups: int = MAX_ROWS_PER_FIGURE
) -> str:
    """The finest of ``levels`` (e.g. ``["place", "city", "province"]``) with at most ``max_groups`` values.

    For a figure or table that reads well at any corpus size: five reports are
    shown per place, a few hundred per city or province. When even the last
    (coarsest) level has more values, it is returned (and the figure shows its
    top rows with the rest summarised).

    Raises
    ------
    KeyError
        If a level is not a column of ``documents``.
    ValueError
        If ``levels`` is empty.

    Examples
    --------
    >>> d = pd.DataFrame({"place": list("abcd"), "province": ["x", "x", "y", "y"]})
    >>> grouping_level(d, ["place", "province"], max_groups=3)
    'province'
    """
    if isinstance(levels, str) or not levels:
        raise ValueError("`levels` must be a non-empty list of column names, finest first.")
    for level in levels:
        if level not in documents.columns:
            raise KeyError(f"level {level!r} is not a column of `documents`; columns are {list(documents.columns)}.")
    for level in levels:
        if documents[level].nunique(dropna=False) <= max_groups:
            return level
    return levels[-1]


def _set_ticks(ax, labels: Sequence[str], *, axis: str, limit: int, **kwargs: Any) -> None:
    """Tick labels for every row/column, or every k-th one when there are more than ``limit``."""
    step = max(1, -(-len(labels) // limit))
    positions = np.arange(0, len(labels), step)
    setter = ax.set_yticks if axis == "y" else ax.set_xticks
    setter(positions, [labels[i] for i in positions], **kwargs)


def _layout_note(n_rows: int, n_rest: int, rest: str, *, clustered: bool, what: str = "rows") -> str:
    parts = []
    if n_rest:
        verb = "summed" if rest == "sum" else "averaged"
        parts.append(f"{n_rows - n_rest} of {n_rows} {what} shown, the other {n_rest} {verb} in the last")
    if clustered:
        parts.append(f"{what} ordered by hierarchical clustering")
    return "; ".join(parts)


def _add_note(fig: Figure, note: str) -> None:
    """Say on the figure itself what was summarised or reordered (small text under the plot)."""
    if note:
        fig.supxlabel(note, fontsize="x-small", color="#555555")


def figure_height(n_rows: int) -> float:
    """Height in inches of a figure with ``n_rows`` rows: grows with the rows, never beyond one page.

    Examples
    --------
    >>> figure_height(5), figure_height(10_000) == MAX_FIGURE_HEIGHT_INCHES
    (4.5, True)
    """
    height = max(FIGURE_SIZE_INCHES[1], _BASE_HEIGHT_INCHES + ROW_HEIGHT_INCHES * n_rows)
    return min(height, MAX_FIGURE_HEIGHT_INCHES)


def _new_figure(n_rows: int = 0) -> tuple[Figure, object]:
    _ensure_font()
    width, _ = FIGURE_SIZE_INCHES
    height = figure_height(n_rows)
    fig = ReportFigure(figsize=(width, height), dpi=DISPLAY_DPI, layout="constrained")
    ax = fig.add_subplot()
    return fig, ax


def _finish(fig: Figure, ax, *, title: str | None, xlabel: str | None, ylabel: str | None) -> Figure:
    if title:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    # Fail here, at the plot call, on labels the fonts cannot draw. The drawing itself
    # (in save_figure or on display) checks again, tick labels included.
    _raise_for_glyph_problems(fig)
    return fig


def plot_bar(
    df: pd.DataFrame,
    *,
    category: str,
    value: str,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    sort: bool = False,
    max_rows: int | None = None,
    rest: str = "sum",
    rest_label: str = DEFAULT_REST_LABEL,
) -> Figure:
    """Horizontal bar chart: one bar per row of ``df``, at most a page of them.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per bar.
    category : str
        Column with the bar labels (e.g. place, term, category label).
    value : str
        Numeric column with the bar lengths.
    title, xlabel, ylabel : str or None
        Text of the title and axis labels (``xlabel`` defaults to ``value``).
    sort : bool, default=False
        Sort bars by value, largest at the top; otherwise keep row order
        (first row at the top).
    max_rows : int or None, default=None
        Most bars (default :data:`MAX_ROWS_PER_FIGURE`, a page). With more
        rows, the ``max_rows - 1`` largest values are drawn and the others
        summarised in a last bar (see :func:`top_rows`); a note under the
        plot says so.
    rest : {"sum", "mean"}, default="sum"
        Summary of the left-out rows: ``"sum"`` for counts, ``"mean"`` for
        rates or shares.
    rest_label : str, default="other {n}"
        Label of the summary bar, e.g. ``"other {n} places"``.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        If a column is missing.
    ValueError
        If ``df`` is empty, ``category`` has duplicates, or the summary
        options are invalid.
    """
    _check_frame(df, {"category": category, "value": value})
    if df[category].duplicated().any():
        dup = sorted(df.loc[df[category].duplicated(), category].astype(str).unique())
        raise ValueError(f"`category` column {category!r} has duplicate labels {dup}; aggregate first.")
    max_rows = _check_rest(max_rows, rest, rest_label)
    data = df[[category, value]]
    shown = top_rows(data.set_index(category)[[value]], max_rows=max_rows, rest=rest, rest_label=rest_label)
    n_rest = shown.attrs["n_rest"] if len(shown) < len(data) else 0
    if n_rest:
        data = shown.rename_axis(category).reset_index()
    if sort:
        body = data.iloc[: len(data) - (1 if n_rest else 0)]
        data = pd.concat([body.sort_values(value, ascending=False, kind="mergesort"), data.iloc[len(body):]])
    labels = data[category].astype(str).tolist()
    fig, ax = _new_figure(len(labels))
    y = np.arange(len(labels))
    colour = ["#4C72B0"] * (len(labels) - 1) + [_REST_COLOUR] if n_rest else "#4C72B0"
    ax.barh(y, data[value].to_numpy(dtype=float), color=colour)
    _set_ticks(ax, labels, axis="y", limit=MAX_ROWS_PER_FIGURE)
    ax.invert_yaxis()
    _add_note(fig, _layout_note(len(df), n_rest, rest, clustered=False))
    return _finish(fig, ax, title=title, xlabel=value if xlabel is None else xlabel, ylabel=ylabel)


def plot_shares(
    df: pd.DataFrame,
    *,
    group: str,
    part: str,
    share: str,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    part_order: Sequence[str] | None = None,
    max_rows: int | None = None,
    rest: str = "auto",
    rest_label: str = DEFAULT_REST_LABEL,
    cluster: bool = False,
) -> Figure:
    """Stacked horizontal bars: how each group's total divides among parts, at most a page of bars.

    E.g. topic share per place (``group="place", part="topic_label",
    share="share"``) or formulaic vs. local characters per report.

    Parameters
    ----------
    df : pandas.DataFrame
        Tidy table, one row per (group, part).
    group : str
        Column whose values become bars (in order of first appearance).
    part : str
        Column whose values become the stacked segments.
    share : str
        Numeric column with each segment's size (shares or counts; drawn as
        given, so normalise first for shares).
    title, xlabel, ylabel : str or None
        Text of the title and axis labels.
    part_order : sequence of str or None, default=None
        Order of the segments; default: order of first appearance.
    max_rows : int or None, default=None
        Most bars (default :data:`MAX_ROWS_PER_FIGURE`, a page). With more
        groups, the ``max_rows - 1`` groups of largest total are drawn (ties:
        the first ones) and the others summarised in a last bar (see
        :func:`top_rows`); a note under the plot says so. To show every
        report of a large corpus, aggregate first (e.g. per city or province,
        :func:`grouping_level`).
    rest : {"auto", "sum", "mean"}, default="auto"
        Summary of the left-out groups; ``"auto"`` averages them when every
        group has the same total (shares normalised per group) and sums them
        otherwise (counts).
    rest_label : str, default="other {n}"
        Label of the summary bar, e.g. ``"other {n} reports"``.
    cluster : bool, default=False
        Order the bars by a hierarchical clustering of their parts
        (:func:`cluster_order`), so that alike profiles sit together; the
        summary bar stays last.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        If a column is missing.
    ValueError
        If ``df`` is empty, a (group, part) pair repeats, ``part_order``
        misses parts present in ``df``, or the summary options are invalid.
    """
    _check_frame(df, {"group": group, "part": part, "share": share})
    if df.duplicated([group, part]).any():
        raise ValueError(f"`df` has repeated ({group!r}, {part!r}) pairs; aggregate first.")
    parts = list(pd.unique(df[part]))
    if part_order is not None:
        missing = [p for p in parts if p not in set(part_order)]
        if missing:
            raise ValueError(f"`part_order` misses parts present in the data: {missing}.")
        parts = [p for p in part_order if p in set(parts)]
    groups = list(pd.unique(df[group]))
    table = df.pivot(index=group, columns=part, values=share).reindex(index=groups, columns=parts)
    table = table.fillna(0.0).astype(float)
    if rest == "auto":
        totals = table.sum(axis=1).to_numpy()
        rest = "mean" if np.allclose(totals, totals[0], rtol=1e-9, atol=1e-12) else "sum"
    max_rows = _check_rest(max_rows, rest, rest_label)
    shown = top_rows(table, max_rows=max_rows, rest=rest, rest_label=rest_label)
    n_rest = shown.attrs["n_rest"] if len(shown) < len(table) else 0
    if cluster:
        body = shown.iloc[: len(shown) - (1 if n_rest else 0)]
        shown = shown.reindex([*cluster_order(body), *shown.index[len(body):]])
    table = shown
    groups = list(table.index)
    fig, ax = _new_figure(len(groups))
    y = np.arange(len(groups))
    left = np.zeros(len(groups))
    cmap = matplotlib.colormaps["tab20"]
    for i, name in enumerate(parts):
        widths = table[name].to_numpy()
        ax.barh(y, widths, left=left, label=str(name), color=cmap(i % cmap.N))
        left += widths
    _set_ticks(ax, [str(g) for g in groups], axis="y", limit=MAX_ROWS_PER_FIGURE)
    ax.invert_yaxis()
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small", frameon=False)
    _add_note(fig, _layout_note(len(df[group].unique()), n_rest, rest, clustered=cluster))
    return _finish(fig, ax, title=title, xlabel=share if xlabel is None else xlabel, ylabel=ylabel)


def heatmap_matrix(
    df: pd.DataFrame,
    *,
    row: str,
    column: str,
    value: str,
    max_rows: int | None = None,
    max_columns: int | None = None,
    rest: str = "sum",
    rest_label: str = DEFAULT_REST_LABEL,
    cluster: bool | None = None,
) -> pd.DataFrame:
    """The matrix :func:`plot_heatmap` draws from a tidy table: rows and columns in order of first appearance.

    Show this matrix (e.g. ``show_table(heatmap_matrix(...))``) above the
    heatmap so the table's columns are in the heatmap's order. The
    keyword arguments after ``value`` are those of :func:`plot_heatmap`
    (top rows and columns, the rest summarised, clustering); give the same
    ones to both. ``attrs["layout"]`` describes what was summarised or
    reordered (empty when nothing was).

    Raises
    ------
    KeyError
        If a column is missing.
    ValueError
        If ``df`` is empty or a (row, column) pair repeats, or the summary
        options are invalid.

    Examples
    --------
    >>> df = pd.DataFrame({"place": ["乙", "乙", "甲"], "category": ["study", "audience", "study"], "n": [1, 2, 3]})
    >>> heatmap_matrix(df, row="place", column="category", value="n").columns.tolist()
    ['study', 'audience']
    """
    _check_frame(df, {"row": row, "column": column, "value": value})
    if df.duplicated([row, column]).any():
        raise ValueError(f"`df` has repeated ({row!r}, {column!r}) pairs; aggregate first.")
    matrix = df.pivot(index=row, columns=column, values=value)
    matrix = matrix.reindex(index=list(pd.unique(df[row])), columns=list(pd.unique(df[column])))
    return _heatmap_layout(matrix, max_rows=max_rows, max_columns=max_columns, rest=rest, rest_label=rest_label,
                           cluster=cluster)


def _heatmap_layout(
    matrix: pd.DataFrame, *, max_rows: int | None, max_columns: int | None, rest: str, rest_label: str,
    cluster: bool | None,
) -> pd.DataFrame:
    """``matrix`` cut to its top rows and columns (rest summarised) and ordered by clustering when asked or large.

    A square matrix with the same labels on both axes (a similarity matrix)
    keeps them the same: one ranking (row totals) and one order for both.
    ``cluster=None`` clusters an axis when it has more labels than a page holds.
    """
    max_rows = _check_rest(max_rows, rest, rest_label)
    max_columns = _check_rest(MAX_COLUMNS_PER_FIGURE if max_columns is None else max_columns, rest, rest_label,
                              name="max_columns")
    if cluster not in (None, True, False):
        raise ValueError(f"`cluster` must be True, False or None (cluster when large), got {cluster!r}.")
    n_rows, n_columns = matrix.shape
    symmetric = n_rows == n_columns and list(matrix.index) == list(matrix.columns)
    values = matrix.astype(float)
    rows = top_rows(values, max_rows=max_rows, rest=rest, rest_label=rest_label)
    n_rest_rows = rows.attrs["n_rest"] if len(rows) < n_rows else 0
    if symmetric:
        max_columns = max_rows
        keep = list(rows.index[: len(rows) - (1 if n_rest_rows else 0)])
        rank = values.sum(axis=1).reindex(values.columns)
    else:
        rank = None
    columns = top_rows(rows.T, max_rows=max_columns, rank_by=rank, rest=rest, rest_label=rest_label).T
    n_rest_columns = columns.attrs.get("n_rest", 0) if columns.shape[1] < n_columns else 0
    if symmetric and n_rest_rows:
        # the rest row, then the rest column: the corner is summarised over the left-out block
        block = values.loc[[r for r in values.index if r not in set(keep)], [c for c in values.columns if c not in set(keep)]]
        corner = float(np.nansum(block.to_numpy())) if rest == "sum" else float(np.nanmean(block.to_numpy()))
        columns.iloc[-1, -1] = corner
    out = columns
    cluster_rows = n_rows > MAX_ROWS_PER_FIGURE if cluster is None else cluster
    cluster_columns = (n_columns > MAX_COLUMNS_PER_FIGURE if cluster is None else cluster) and not symmetric
    body_rows = list(out.index[: len(out) - (1 if n_rest_rows else 0)])
    body_columns = list(out.columns[: out.shape[1] - (1 if n_rest_columns else 0)])
    if cluster_rows:
        order = cluster_order(out.loc[body_rows, body_columns])
        out = out.reindex(index=[*order, *out.index[len(body_rows):]])
        if symmetric:
            out = out.reindex(columns=[*order, *out.columns[len(body_columns):]])
    if cluster_columns:
        order = cluster_order(out.loc[body_rows, body_columns].T)
        out = out.reindex(columns=[*order, *out.columns[len(body_columns):]])
    if not (n_rest_rows or n_rest_columns or cluster_rows or cluster_columns):
        return matrix
    notes = [_layout_note(n_rows, n_rest_rows, rest, clustered=cluster_rows, what="rows")]
    if not symmetric:
        notes.append(_layout_note(n_columns, n_rest_columns, rest, clustered=cluster_columns, what="columns"))
    out = out.copy()
    out.index.name, out.columns.name = matrix.index.name, matrix.columns.name
    out.attrs = {"layout": "; ".join(n for n in notes if n)}
    return out


def plot_heatmap(
    df: pd.DataFrame,
    *,
    row: str | None = None,
    column: str | None = None,
    value: str | None = None,
    title: str | None = None,
    colorbar_label: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    value_format: str = "{:.2f}",
    cmap: str = "viridis",
    max_rows: int | None = None,
    max_columns: int | None = None,
    rest: str = "sum",
    rest_label: str = DEFAULT_REST_LABEL,
    cluster: bool | None = None,
) -> Figure:
    """Heatmap of a matrix, e.g. the cosine similarity of reports, at most a page high.

    Parameters
    ----------
    df : pandas.DataFrame
        Either a tidy table with ``row``, ``column`` and ``value`` columns, or
        (when all three are None) a square matrix whose index and columns are
        the labels.
    row, column, value : str or None
        Columns of the tidy form; give all three or none.
    title, colorbar_label : str or None
        Text of the title and colour-bar label.
    vmin, vmax : float or None
        Colour scale limits (default: data range).
    value_format : str, default="{:.2f}"
        Format of the value written in each cell. Cells are annotated when
        the matrix has at most 225 cells and at most 25 rows or columns
        (in a smaller font above 15), e.g. ``"{:.0%}"`` for shares.
    cmap : str, default="viridis"
        Matplotlib colormap name.
    max_rows, max_columns : int or None, default=None
        Most rows (default :data:`MAX_ROWS_PER_FIGURE`, a page) and columns
        (default :data:`MAX_COLUMNS_PER_FIGURE`). With more, the rows
        (columns) of largest total are drawn and the others summarised in one
        last row (column) labelled ``rest_label`` (see :func:`top_rows`). A
        square matrix with the same labels on both axes keeps the same labels
        on both (ranked by row total), its corner summarising the block left
        out. A larger ``max_rows`` draws more rows in a page-high figure, with
        every k-th row labelled.
    rest : {"sum", "mean"}, default="sum"
        Summary of the left-out rows and columns: ``"sum"`` for counts,
        ``"mean"`` for similarities, shares or rates.
    rest_label : str, default="other {n}"
        Label of the summary row and column, e.g. ``"other {n} places"``.
    cluster : bool or None, default=None
        Order rows (and columns) by hierarchical clustering
        (:func:`cluster_order`) so that alike rows sit together; summary rows
        stay last. ``None`` clusters an axis only when it has more labels
        than fit (rows beyond ``MAX_ROWS_PER_FIGURE``, columns beyond
        ``MAX_COLUMNS_PER_FIGURE``), so small heatmaps keep their order.

    Returns
    -------
    matplotlib.figure.Figure
        A note under the plot says what was summarised or reordered.

    Raises
    ------
    KeyError
        If a column is missing.
    ValueError
        If only some of ``row``/``column``/``value`` are given, ``df`` is
        empty, a (row, column) pair repeats, or the summary options are
        invalid.
    """
    given = [a is not None for a in (row, column, value)]
    if any(given) and not all(given):
        raise ValueError("give all of `row`, `column` and `value` (tidy form) or none (square matrix).")
    layout = {"max_rows": max_rows, "max_columns": max_columns, "rest": rest, "rest_label": rest_label,
              "cluster": cluster}
    if all(given):
        matrix = heatmap_matrix(df, row=row, column=column, value=value, **layout)
    else:
        _check_frame(df, {})
        if df.index.has_duplicates or df.columns.has_duplicates:
            raise ValueError("the square matrix `df` has duplicate row or column labels; aggregate first.")
        matrix = _heatmap_layout(df, **layout)
    values = matrix.to_numpy(dtype=float)
    fig, ax = _new_figure(len(matrix.index))
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    _set_ticks(ax, [str(c) for c in matrix.columns], axis="x", limit=MAX_COLUMNS_PER_FIGURE, rotation=45, ha="right")
    _set_ticks(ax, [str(r) for r in matrix.index], axis="y", limit=MAX_ROWS_PER_FIGURE)
    _add_note(fig, matrix.attrs.get("layout", ""))
    if max(values.shape) <= MAX_ANNOTATED_CELLS_PER_SIDE and values.size <= MAX_ANNOTATED_CELLS:
        mid = np.nanmean([np.nanmin(values), np.nanmax(values)]) if np.isfinite(values).any() else 0.0
        if vmin is not None or vmax is not None:
            low = np.nanmin(values) if vmin is None else vmin
            high = np.nanmax(values) if vmax is None else vmax
            mid = (low + high) / 2
        size = "small" if max(values.shape) <= _SMALL_ANNOTATION_SIDE else "x-small"
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                color = "white" if v < mid else "black"
                ax.text(j, i, value_format.format(v), ha="center", va="center", color=color, fontsize=size)
    bar = fig.colorbar(image, ax=ax)
    if colorbar_label:
        bar.set_label(colorbar_label)
    return _finish(fig, ax, title=title, xlabel=None, ylabel=None)


def plot_lines(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    hue: str | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    marker: str = "o",
) -> Figure:
    """Line plot, one line per ``hue`` value, e.g. a k-selection score against k.

    Parameters
    ----------
    df : pandas.DataFrame
        Tidy table.
    x, y : str
        Numeric columns for the axes (rows are sorted by ``x``).
    hue : str or None, default=None
        Column whose values get separate lines (e.g. ``seed`` or ``metric``),
        in sorted order.
    title, xlabel, ylabel : str or None
        Text of the title and axis labels (default: the column names).
    marker : str, default="o"
        Matplotlib marker drawn at each point.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    KeyError
        If a column is missing.
    ValueError
        If ``df`` is empty.
    """
    _check_frame(df, {"x": x, "y": y, "hue": hue})
    fig, ax = _new_figure()
    if hue is None:
        data = df.sort_values(x, kind="mergesort")
        ax.plot(data[x].to_numpy(), data[y].to_numpy(dtype=float), marker=marker)
    else:
        for key in sorted(pd.unique(df[hue]), key=str):
            data = df[df[hue] == key].sort_values(x, kind="mergesort")
            ax.plot(data[x].to_numpy(), data[y].to_numpy(dtype=float), marker=marker, label=str(key))
        ax.legend(title=str(hue), fontsize="small", frameon=False)
    if pd.api.types.is_integer_dtype(df[x]):
        ax.xaxis.get_major_locator().set_params(integer=True)
    return _finish(
        fig, ax, title=title, xlabel=x if xlabel is None else xlabel, ylabel=y if ylabel is None else ylabel
    )


# ---------------------------------------------------------------- saving


#: rcParams under which :func:`_write_png` draws the figure once; with others it calls ``savefig``.
_SAVEFIG_DEFAULTS = {"savefig.bbox": None, "savefig.facecolor": "auto", "savefig.edgecolor": "auto",
                     "savefig.transparent": False, "savefig.orientation": "portrait"}


def _write_png(fig: Figure, path: Path) -> None:
    """Write what ``fig.savefig(path, format="png", dpi=FIGURE_DPI, metadata={"Software": None})`` writes.

    For a figure with a layout engine (ours are constrained), ``savefig`` draws
    twice: once to lay the figure out and once to render it. A figure lays
    itself out at the start of every draw, so one draw renders the same
    pixels (the bytes are the same; a test compares them) in 15 % less time.
    """
    if any(matplotlib.rcParams[key] != value for key, value in _SAVEFIG_DEFAULTS.items()):
        fig.savefig(path, format="png", dpi=FIGURE_DPI, metadata={"Software": None})
        return
    original = fig.canvas
    try:
        with cbook._setattr_cm(fig, dpi=FIGURE_DPI):
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            matplotlib.image.imsave(path, canvas.buffer_rgba(), format="png", origin="upper", dpi=FIGURE_DPI,
                                    metadata={"Software": None})
    finally:
        fig.set_canvas(original)


def save_figure(fig: Figure, name: str, *, directory: str | Path | None = None) -> Path:
    """Write ``fig`` as ``<directory>/<name>.png``, atomically and reproducibly.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (checked like :func:`check_glyphs` while it is drawn).
    name : str
        File name without suffix, e.g. ``"02_topic_share_per_place"``:
        letters, digits, ``_``, ``-``, ``.``; no directories.
    directory : str or Path or None, default=None
        Target folder; default ``paths.FIGURES_DIR`` (``reports/figures``).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        If ``name`` is not a plain file name.
    MissingGlyphError
        If a character in the figure cannot be drawn.

    Notes
    -----
    The PNG is written at ``FIGURE_DPI`` with the ``Software`` metadata
    removed; Agg output carries no timestamp, so a rerun on the same data
    writes identical bytes.
    """
    if not isinstance(name, str) or not _RE_FIGURE_NAME.match(name):
        raise ValueError(
            f"`name` {name!r} is not a plain file name; use letters, digits, '_', '-' or '.', "
            f"e.g. '02_topic_share_per_place'."
        )
    stem = name[:-4] if name.lower().endswith(".png") else name
    if not isinstance(fig, Figure):
        raise TypeError(f"`fig` must be a matplotlib Figure, got {type(fig).__name__}.")
    target = Path(paths.FIGURES_DIR if directory is None else directory) / f"{stem}.png"

    def write(path: Path) -> None:
        # Drawing for the file is also the glyph check's drawing; a problem aborts the
        # atomic write, so no file with empty boxes is left behind.
        with fail_on_missing_glyph():
            _write_png(fig, path)
        _raise_for_glyph_problems(fig)

    written = atomic_write(target, write)
    if isinstance(fig, ReportFigure):
        fig.remember_png(written.read_bytes())
    return written


# ---------------------------------------------------------------- tables and findings for readers


#: Significant digits of non-integer numbers in tables shown to readers.
TABLE_SIGNIFICANT_DIGITS = 3
#: Tables of at most this many rows are shown whole (every table of the bundled five reports is) ...
TABLE_MAX_ROWS = 200
#: ... longer ones show their first this many rows, their length and a link to the full table, so that a
#: report page stays a few MB at thousands of reports.
TABLE_PREVIEW_ROWS = 20
#: Widest table a report shows, in columns; a pivot with one column per place beyond this is summarised instead.
TABLE_MAX_COLUMNS = 12
#: Numbers at least this large are shown without decimals (with thousands separators).
TABLE_NO_DECIMALS_FROM = 1000
#: Widest minimum width given to a text column, in em (longer text wraps).
TABLE_TEXT_MAX_MIN_WIDTH_EM = 20.0
#: Width of a narrow (Latin, digit) character relative to a CJK character.
_NARROW_CHAR_EM = 0.6
#: Most bullets one findings cell may hold (the index page shows each one).
MAX_FINDINGS = 6
#: A float column whose largest and smallest non-zero magnitudes differ this much gets per-value digits.
_MIXED_MAGNITUDE_RATIO = 1000.0
_RE_HTML_TAG = re.compile(r"<\s*/?\s*[A-Za-z!?]")


def _display_width_em(text: str) -> float:
    """Rendered width of ``text`` in em: 1 per wide (CJK) character, about 0.6 per narrow one."""
    return sum(1.0 if unicodedata.east_asian_width(c) in ("W", "F") else _NARROW_CHAR_EM for c in text)


def format_number(value: Any, *, digits: int = TABLE_SIGNIFICANT_DIGITS) -> str:
    """A number as a reader wants it in a table: integers without ``.0``, others to ``digits`` significant digits.

    Missing values (None, NaN, NaT) are the empty string; numbers of at least
    1,000 get thousands separators and no decimals.

    Examples
    --------
    >>> [format_number(v) for v in (3.0, 12000, 0.091234, 12.345, 1234.5, float("nan"), None)]
    ['3', '12,000', '0.0912', '12.3', '1,234', '', '']
    """
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "" if np.isnan(value) else str(value)
        if float(value).is_integer() or abs(value) >= TABLE_NO_DECIMALS_FROM:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if (value.hour, value.minute, value.second) == (0, 0, 0) else value.isoformat()
    return str(value)


def _cell_text(value: Any, *, digits: int) -> str:
    if isinstance(value, (list, tuple, set)):
        return "、".join(_cell_text(v, digits=digits) for v in value)
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # arrays and other containers
        pass
    return format_number(value, digits=digits)


def _column_text(column: pd.Series, *, digits: int) -> list[str]:
    """Display text of one column; a float column gets one number of decimals for all its rows.

    Whole numbers only: no decimals. Otherwise ``digits`` significant digits
    of the column's largest value fix the decimals (0.357 and 0.05 read
    0.357 and 0.050), and a value that would round to zero keeps
    ``digits`` significant digits instead (p = 0.0001 does not read 0.00).
    A column mixing magnitudes 1,000 times apart (values of different
    kinds) shows each value to ``digits`` significant digits.
    """
    if not pd.api.types.is_float_dtype(column):
        return [_cell_text(v, digits=digits) for v in column]
    values = column.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0 or np.all(finite == np.round(finite)):
        return [_cell_text(v, digits=digits) for v in column]
    largest = float(np.max(np.abs(finite)))
    nonzero = np.abs(finite[finite != 0])
    if nonzero.size and largest / float(np.min(nonzero)) >= _MIXED_MAGNITUDE_RATIO:
        # Values of different kinds in one column (a G² of 16.2 beside 10,829 per 1,000 members):
        # each keeps its own significant digits.
        return [_cell_text(v, digits=digits) for v in column]
    decimals = 0 if largest == 0 else int(np.clip(digits - 1 - np.floor(np.log10(largest)), 0, digits + 1))
    out = []
    for v in values:
        if not np.isfinite(v):
            out.append("" if np.isnan(v) else str(v))
        elif v != 0 and round(v, decimals) == 0:
            out.append(f"{v:.{digits}g}")
        else:
            out.append(f"{v:,.{decimals}f}")
    return out


def _table_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with a meaningful index turned into columns and column labels flattened to strings."""
    out = df
    # An unnamed index (0..n-1, or positions left by a filter) says nothing: it is hidden. A named one
    # (from pivot, groupby, value_counts) holds labels: it becomes leading columns.
    index_is_default = all(name is None for name in out.index.names)
    if isinstance(out.columns, pd.MultiIndex):
        out = out.copy()
        out.columns = [" · ".join(str(part) for part in col if str(part) != "") for col in out.columns]
    if not index_is_default:
        names = [n if n is not None else ("index" if out.index.nlevels == 1 else f"level_{i}")
                 for i, n in enumerate(out.index.names)]
        out = out.copy()
        out.index = out.index.set_names(names)
        out = out.reset_index()
    out = out.copy() if out is df else out
    out.columns = [str(c) for c in out.columns]
    out.columns.name = None
    if out.columns.duplicated().any():
        dup = sorted(set(out.columns[out.columns.duplicated()]))
        raise ValueError(f"`df` has duplicate column labels {dup} (after moving the index into columns); rename them.")
    return out


class ReportTable:
    """A formatted table for a report: renders as escaped HTML in notebooks and as plain text elsewhere.

    Made by :func:`show_table`. ``styler`` is the pandas Styler behind the
    HTML, ``data`` the table's cells as display text (a DataFrame without
    index). Its plain-text form is the table itself, not an object address,
    so an executed notebook is the same on every run.
    """

    def __init__(self, styler, data: pd.DataFrame, note: str | None = None) -> None:
        self.styler = styler
        self.data = data
        self.note = note

    def _repr_html_(self) -> str:
        return self.styler.to_html()

    def __repr__(self) -> str:
        text = self.data.to_string(index=False)
        return f"{text}\n({self.note})" if self.note else text


def _table_link(full_table: str | Path, link_from: str | Path | None) -> tuple[str, str]:
    """The ``href`` of ``full_table`` relative to the folder of the report page, and the file's name."""
    target = Path(full_table)
    if not target.is_file():
        raise FileNotFoundError(
            f"`full_table` {str(full_table)!r} is not a file; write the table first "
            "(e.g. storage.write_table(df, f'{processed_dir}/name')) and give the path of its .csv."
        )
    base = Path(paths.REPORTS_DIR if link_from is None else link_from).resolve()
    try:
        href = Path(os.path.relpath(target.resolve(), base)).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        href = target.resolve().as_uri()
    return quote(href, safe="/:"), target.name


def show_table(
    df: pd.DataFrame,
    *,
    empty: str = "none",
    digits: int = TABLE_SIGNIFICANT_DIGITS,
    max_rows: int | None = None,
    numeric_text: Sequence[str] = (),
    full_table: str | Path | None = None,
    link_from: str | Path | None = None,
):
    """A table as a reader should see it in a report: no index column, rounded numbers, no ``NaN``, bounded length.

    Parameters
    ----------
    df : pandas.DataFrame
        The table. A named or non-default index (e.g. from ``pivot``) becomes
        ordinary leading columns; MultiIndex column labels are joined with
        `` · ``.
    empty : str, default="none"
        Markdown line shown instead of a table without rows.
    digits : int, default=3
        Significant digits of non-integer numbers (see :func:`format_number`).
    max_rows : int or None, default=None
        Show at most this many rows and say how many were left out. By
        default a table of more than :data:`TABLE_MAX_ROWS` rows shows its
        first :data:`TABLE_PREVIEW_ROWS` (a preview); shorter tables are
        shown whole.
    numeric_text : sequence of str, default=()
        Columns that hold numbers as text (exact values such as the metric
        ``value`` and ``total``), formatted and aligned like numbers.
    full_table : str or Path or None, default=None
        The file holding the whole table (e.g. the ``.csv`` that
        ``storage.write_table`` wrote to ``processed_dir``). When rows are
        left out, the note under the table links to it: ``first 20 of
        5,000 rows; full table: <name.csv>``.
    link_from : str or Path or None, default=None
        Folder of the HTML page that shows the table, so the link is
        relative to it and works when the page is opened from the reports
        folder; default ``paths.REPORTS_DIR``. A notebook passes the folder
        its HTML page is exported to (``Path(figures_dir).parent`` by the
        project's layout, ``reports/figures`` inside ``reports/``).

    Returns
    -------
    ReportTable or IPython.display.Markdown
        The table (the value of a notebook cell renders it as HTML) or, for
        an empty table, the Markdown line ``empty``.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame (or Series).
    KeyError
        If ``numeric_text`` names a column ``df`` does not have.
    ValueError
        If a ``numeric_text`` column holds text that is not a number, or
        ``max_rows`` / ``digits`` is out of range.
    FileNotFoundError
        If ``full_table`` is given and is not a file.

    Notes
    -----
    Counts are integers (a float column holding only whole numbers is shown
    without ``.0``); other float columns show ``digits`` significant digits
    of their largest value, the same decimals in every row (see
    ``_column_text``); numbers of 1,000 and more get thousands separators,
    missing values and ``NaT`` are empty, booleans read yes/no and dates are
    ``YYYY-MM-DD``. Every text cell and label is HTML-escaped, so corpus text
    such as ``<script>`` shows as text. Text columns are left-aligned; short
    text (at most 20 em wide: ids, places, labels) stays on one line and
    longer text wraps within a minimum width of 20 em, so no column is
    squeezed to two characters; the table is
    laid out automatically (the report CSS otherwise fixes the layout). The
    HTML is the same on every run: the Styler's id is derived from the
    table's content, not drawn at random. The note under a cut table (its
    caption) is escaped too; only the link to ``full_table`` is markup.
    """
    from IPython.display import Markdown

    if not isinstance(df, pd.DataFrame):
        if isinstance(df, pd.Series):
            df = df.to_frame()
        else:
            raise TypeError(f"`df` must be a pandas DataFrame, got {type(df).__name__}.")
    if max_rows is not None and (not isinstance(max_rows, int) or max_rows < 1):
        raise ValueError(f"`max_rows` must be a positive integer or None, got {max_rows!r}.")
    if not isinstance(digits, int) or not 1 <= digits <= 15:
        raise ValueError(f"`digits` must be an integer from 1 to 15, got {digits!r}.")
    if isinstance(numeric_text, str):
        numeric_text = [numeric_text]
    if df.empty:
        return Markdown(empty)
    table = _table_frame(df)
    for col in numeric_text:
        if col not in table.columns:
            raise KeyError(f"`numeric_text` names {col!r}, not a column of `df`; columns are {list(table.columns)}.")
        try:
            table[col] = pd.to_numeric(table[col].replace("", np.nan))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"`numeric_text` column {col!r} holds text that is not a number: {exc}") from None
    n_rows = len(table)
    note = caption = None
    if max_rows is None and n_rows > TABLE_MAX_ROWS:
        max_rows = TABLE_PREVIEW_ROWS
    if max_rows is not None and n_rows > max_rows:
        table = table.head(max_rows)
        note = f"first {max_rows} of {n_rows:,} rows"
        caption = html.escape(note)
        if full_table is not None:
            href, name = _table_link(full_table, link_from)
            note += f"; full table: {name}"
            caption += f'; full table: <a href="{html.escape(href, quote=True)}">{html.escape(name)}</a>'
    text = pd.DataFrame({col: _column_text(table[col], digits=digits) for col in table.columns}, columns=table.columns)
    numeric = [
        col for col in table.columns
        if pd.api.types.is_numeric_dtype(table[col]) and not pd.api.types.is_bool_dtype(table[col])
    ]
    key = "\x1f".join(table.columns) + "\x1e" + text.to_csv(index=False) + (note or "")
    uuid = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    from pandas.io.formats.style import Styler
    styler = Styler(text, uuid=uuid, cell_ids=False).hide(axis="index").format(escape="html").format_index(escape="html", axis=1)
    styles: list[dict[str, str]] = [{"selector": "", "props": "table-layout: auto; margin-left: 0;"},
                                    {"selector": "th", "props": "text-align: left; vertical-align: bottom;"},
                                    {"selector": "caption", "props": "caption-side: bottom; text-align: left;"}]
    for i, col in enumerate(table.columns):
        if col in numeric:
            continue
        widest = max((_display_width_em(s) for s in text[col]), default=0.0)
        if widest <= TABLE_TEXT_MAX_MIN_WIDTH_EM:
            # Short text (ids, places, labels) stays on one line, so no column is squeezed.
            props = "text-align: left; white-space: nowrap;"
        else:
            # Long text wraps (anywhere, for URLs and CJK) but keeps a readable width.
            props = f"text-align: left; min-width: {TABLE_TEXT_MAX_MIN_WIDTH_EM:.0f}em; overflow-wrap: anywhere;"
        styles.append({"selector": f"td.col{i}", "props": props})
    styler.set_table_styles(styles, overwrite=True)
    if caption:
        styler.set_caption(caption)
    return ReportTable(styler, text, note)


#: Items a sentence of the narrative names before it says "and N more".
SHORT_LIST_ITEMS = 10


def short_list(items: Iterable[Any], *, limit: int = SHORT_LIST_ITEMS, sep: str = ", ",
               more: str = " and {n} more") -> str:
    """The first ``limit`` items joined with ``sep``, then how many more there are: prose that stays short at any N.

    Examples
    --------
    >>> short_list(["中原区", "召陵区"])
    '中原区, 召陵区'
    >>> short_list(range(1, 2001), limit=3)
    '1, 2, 3 and 1,997 more'
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"`limit` must be a positive integer, got {limit!r}.")
    if isinstance(items, str):
        raise TypeError("`items` must be a sequence of items, not one string; wrap it in a list.")
    items = [str(i) for i in items]
    shown = sep.join(items[:limit])
    return shown + more.format(n=f"{len(items) - limit:,}") if len(items) > limit else shown


def findings(bullets: Sequence[str]):
    """The headline findings of a notebook, as a Markdown bulleted list for the report and the index page.

    The runner reads the ``text/markdown`` output of the cell tagged
    ``findings`` and shows each bullet on the index page and on the terminal.

    Parameters
    ----------
    bullets : sequence of str
        One sentence each, with its numbers computed (``f"{n} reports"``);
        plain Markdown (bold and code are fine), one line, no HTML.

    Returns
    -------
    IPython.display.Markdown
        ``- `` + each sentence, one per line.

    Raises
    ------
    ValueError
        If there is no bullet or more than :data:`MAX_FINDINGS`, or a bullet
        is empty, spans several lines or contains an HTML tag.

    Examples
    --------
    >>> print(findings(["**5 reports** about 4 places.", "No file was skipped."]).data)
    - **5 reports** about 4 places.
    - No file was skipped.
    """
    from IPython.display import Markdown

    if isinstance(bullets, str):
        raise TypeError("`bullets` must be a sequence of sentences, not one string; wrap it in a list.")
    bullets = list(bullets)
    if not 1 <= len(bullets) <= MAX_FINDINGS:
        raise ValueError(f"`bullets` holds {len(bullets)} findings; give 1 to {MAX_FINDINGS} (one line each).")
    lines = []
    for i, bullet in enumerate(bullets):
        if not isinstance(bullet, str):
            raise TypeError(f"finding {i} must be a str, got {type(bullet).__name__}.")
        sentence = " ".join(bullet.split())
        if not sentence:
            raise ValueError(f"finding {i} is empty.")
        if "\n" in bullet.strip() or "\r" in bullet.strip():
            raise ValueError(f"finding {i} spans several lines; the index page shows one line per finding: {bullet!r}")
        if _RE_HTML_TAG.search(sentence):
            raise ValueError(f"finding {i} contains HTML; use plain Markdown (bold, code): {bullet!r}")
        if sentence.startswith(("- ", "* ")):
            sentence = sentence[2:]
        lines.append(f"- {sentence}")
    return Markdown("\n".join(lines))
