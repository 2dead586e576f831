"""Tabulate metric mentions into comparison tables per document and place (MetricMention frame -> tables).

All functions take and return DataFrames. The mentions frame is the output of
:func:`metrics.mentions_to_frame` (columns :data:`metrics.METRIC_COLUMNS`
then ``mention_id, para_id, upper, sentence``); the documents frame has at
least ``doc_id`` and ``place``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from . import numerals, storage
from .errors import check_frame
from .metrics import EXTRA_COLUMNS, METRIC_CATEGORIES, METRIC_COLUMNS

__all__ = [
    "MEMBERS_PER_SCALE",
    "LONG_COLUMNS",
    "metrics_long",
    "mention_counts",
    "mention_density",
    "metric_totals",
    "NON_ADDITIVE_UNITS",
    "indicator_places",
    "membership_figures",
    "metrics_per_1000_members",
    "write_metric_tables",
    "read_metric_tables",
]

#: Scale of the membership normalisation (mentions per this many party members).
MEMBERS_PER_SCALE = 1000
#: Units that count party members when the category is ``membership``.
_MEMBER_UNITS = ("名", "人", "位")
LONG_COLUMNS = ["place", *METRIC_COLUMNS, *EXTRA_COLUMNS]
#: Units whose values are never added up (a sum of growth rates means nothing).
NON_ADDITIVE_UNITS = ("%",)




def _with_place(mentions: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    check_frame(mentions, METRIC_COLUMNS, "mentions")
    check_frame(documents, ["doc_id", "place"], "documents")
    places = documents[["doc_id", "place"]].drop_duplicates("doc_id")
    out = mentions.merge(places, on="doc_id", how="left", validate="many_to_one")
    unknown = sorted(out.loc[out["place"].isna(), "doc_id"].unique())
    if unknown:
        raise ValueError(f"`documents` has no place for doc_id {unknown}; add them to the documents table")
    return out


def metrics_long(mentions: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """All mentions with their place and source sentence, sorted by ``doc_id, start``.

    Columns: :data:`LONG_COLUMNS` (``place`` first, then the mention columns).
    """
    out = _with_place(mentions, documents)
    cols = [c for c in LONG_COLUMNS if c in out.columns]
    return out[cols].sort_values(["doc_id", "start", "end"], kind="mergesort").reset_index(drop=True)


def mention_counts(mentions: pd.DataFrame, documents: pd.DataFrame, *, by: str = "place") -> pd.DataFrame:
    """Number of mentions per ``by`` (``place`` or ``doc_id``) and category.

    Returns a long frame with columns ``[by, category, n_mentions]``, every
    category of :data:`metrics.METRIC_CATEGORIES` (the nine of DESIGN.md, then
    the fallback ``other``) of every group present (zero where none), sorted.
    """
    if by not in ("place", "doc_id"):
        raise ValueError(f"`by` value {by!r} is invalid; it must be one of {{'doc_id', 'place'}}.")
    df = _with_place(mentions, documents)
    groups = sorted(set(documents["place" if by == "place" else "doc_id"]))
    counts = df.groupby([by, "category"]).size()
    index = pd.MultiIndex.from_product([groups, list(METRIC_CATEGORIES)], names=[by, "category"])
    out = counts.reindex(index, fill_value=0).rename("n_mentions").reset_index()
    out["n_mentions"] = out["n_mentions"].astype("int64")
    return out


def mention_density(mentions: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Metric mentions per 1,000 characters of body text, per place.

    ``documents`` needs ``doc_id``, ``place`` and ``n_chars`` (cleaned body
    characters). Returns ``[place, n_reports, n_chars, n_mentions,
    mentions_per_1000_chars]`` sorted by place: how much a place's reporting
    argues with numbers, independent of how long its reports are.
    """
    check_frame(documents, ["doc_id", "place", "n_chars"], "documents")
    counts = mention_counts(mentions, documents).groupby("place")["n_mentions"].sum()
    out = (
        documents.groupby("place")
        .agg(n_reports=("doc_id", "size"), n_chars=("n_chars", "sum"))
        .join(counts)
        .reset_index()
    )
    out["n_mentions"] = out["n_mentions"].fillna(0).astype("int64")
    out["mentions_per_1000_chars"] = (out["n_mentions"] / out["n_chars"] * 1000).round(2)
    return out.sort_values("place", kind="mergesort").reset_index(drop=True)


def metric_totals(
    mentions: pd.DataFrame, documents: pd.DataFrame, *, by: str = "place", additive_only: bool = False
) -> pd.DataFrame:
    """Totals of values per ``by``, category and unit, where adding is meaningful.

    Returns columns ``[by, category, unit, n_mentions, total, approximate]``:
    rates (``is_rate``) are left out, units are never mixed (人次 is not added
    to 名), ``total`` is a plain decimal string and ``approximate`` is true
    when any part is not ``exact``. With ``additive_only=True`` units in
    :data:`NON_ADDITIVE_UNITS` (percentages) are left out too.

    Notes
    -----
    A total adds claims of the same unit in the same category; when a report
    restates a figure (a sum and its parts, or the same number in two
    sentences) the total double-counts, so read it as an upper bound of what
    the text claims, with the long table at hand.
    """
    if by not in ("place", "doc_id"):
        raise ValueError(f"`by` value {by!r} is invalid; it must be one of {{'doc_id', 'place'}}.")
    df = _with_place(mentions, documents)
    df = df[~_as_bool(df["is_rate"])]
    if additive_only:
        df = df[~df["unit"].isin(NON_ADDITIVE_UNITS)]
    grouped = df.groupby([by, "category", "unit"], sort=True, observed=True)
    # Group number of each row (-1 for a missing category or unit: left out, as groupby leaves it out); exact
    # decimal sums added row by row in the table's order, one Python pass instead of one pandas slice per group.
    codes = grouped.ngroup().fillna(-1).to_numpy(dtype=np.int64)
    sizes = grouped.size()
    totals = [Decimal(0)] * len(sizes)
    for code, value in zip(codes.tolist(), df["value"].tolist(), strict=True):
        if code >= 0:
            totals[code] += Decimal(str(value))
    inexact = (df["qualifier"] != "exact").to_numpy(dtype=bool)
    approximate = np.zeros(len(sizes), dtype=bool)
    np.logical_or.at(approximate, codes[codes >= 0], inexact[codes >= 0])
    keys = sizes.index.to_frame(index=False)
    out = pd.DataFrame({
        by: keys[by].to_numpy(dtype=object),
        "category": keys["category"].to_numpy(dtype=object),
        "unit": keys["unit"].to_numpy(dtype=object),
        "n_mentions": sizes.to_numpy(dtype=np.int64),
        "total": [numerals.format_decimal(t) for t in totals],
        "approximate": approximate,
    }, columns=[by, "category", "unit", "n_mentions", "total", "approximate"])
    return out.astype({"n_mentions": "int64", "approximate": "bool"})


def indicator_places(mentions: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Which indicators each place reports, and whether they are shared or unique to one place.

    An indicator is a (``category``, ``unit``) pair: what kind of thing is
    counted and in which measure (outreach in 场, audience in 人次 ...). The
    free-text ``counted`` phrase is too varied to match across reports.

    Returns
    -------
    pandas.DataFrame
        Columns ``[category, unit, n_places, places, n_mentions, scope]``:
        ``places`` is the sorted ``"; "``-joined list of places reporting
        it, ``scope`` is ``"all"`` (every place of ``documents``),
        ``"shared"`` (two or more) or ``"unique"`` (one). Sorted by
        ``n_places`` descending, then category and unit.

    Examples
    --------
    >>> m = pd.DataFrame({"doc_id": ["a", "b", "b"], "start": [0, 0, 5], "end": [3, 3, 8],
    ...     "surface": ["50场", "30场", "9人次"], "value": ["50", "30", "9"],
    ...     "unit": ["场", "场", "人次"], "qualifier": ["exact"] * 3, "is_rate": [False] * 3,
    ...     "counted": ["宣讲"] * 3, "category": ["outreach", "outreach", "audience"]})
    >>> d = pd.DataFrame({"doc_id": ["a", "b"], "place": ["甲区", "乙区"]})
    >>> indicator_places(m, d)[["category", "unit", "n_places", "scope"]].values.tolist()
    [['outreach', '场', 2, 'all'], ['audience', '人次', 1, 'unique']]
    """
    df = _with_place(mentions, documents)
    n_all = documents["place"].nunique()
    rows = []
    for (category, unit), g in df.groupby(["category", "unit"], sort=True):
        places = sorted(set(g["place"]))
        n = len(places)
        rows.append(
            {
                "category": category,
                "unit": unit,
                "n_places": n,
                "places": "; ".join(places),
                "n_mentions": len(g),
                "scope": "all" if n == n_all and n > 1 else ("shared" if n > 1 else "unique"),
            }
        )
    out = pd.DataFrame(rows, columns=["category", "unit", "n_places", "places", "n_mentions", "scope"])
    out = out.astype({"n_places": "int64", "n_mentions": "int64"})
    out = out.sort_values(["n_places", "category", "unit"], ascending=[False, True, True], kind="mergesort")
    return out.reset_index(drop=True)


def membership_figures(mentions: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Party membership stated in the text, per place: ``[place, members, doc_id, surface, sentence]``.

    Taken from ``membership`` mentions counted in persons (名/人/位); when a
    place states it more than once the largest figure is kept (the earliest on
    ties). Places whose reports state no membership are absent.
    """
    df = _with_place(mentions, documents)
    df = df[(df["category"] == "membership") & df["unit"].isin(_MEMBER_UNITS)].copy()
    cols = ["place", "members", "doc_id", "surface", "sentence"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df["members"] = [Decimal(str(v)) for v in df["value"]]
    df = df.sort_values(["place", "doc_id", "start"], kind="mergesort")
    best = df.loc[df.groupby("place", sort=True)["members"].transform("max") == df["members"]]
    best = best.drop_duplicates("place", keep="first")
    best = best.assign(members=[numerals.format_decimal(v) for v in best["members"]])
    if "sentence" not in best.columns:
        best["sentence"] = ""
    return best[cols].reset_index(drop=True)


def metrics_per_1000_members(mentions: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Totals per place scaled per 1,000 party members, where the text states the membership.

    Returns the columns of :func:`metric_totals` (by place) plus ``members``,
    ``members_surface``, ``members_sentence`` and ``per_1000_members``
    (a float rounded to 4 decimals). Places without a stated membership are
    left out; the membership row itself is not scaled.

    Notes
    -----
    ``per_1000_members = total / members * 1000``. It compares the intensity
    of a campaign across places of different size; it inherits the caveats of
    :func:`metric_totals` (approximate and possibly double-counted totals).
    """
    totals = metric_totals(mentions, documents, by="place")
    members = membership_figures(mentions, documents)
    cols = [*totals.columns, "members", "members_surface", "members_sentence", "per_1000_members"]
    if members.empty:
        return pd.DataFrame(columns=cols)
    m = members.rename(columns={"surface": "members_surface", "sentence": "members_sentence"})
    out = totals.merge(
        m[["place", "members", "members_surface", "members_sentence"]], on="place", how="inner"
    )
    out = out[out["category"] != "membership"]
    out["per_1000_members"] = [
        round(float(Decimal(t) / Decimal(n) * MEMBERS_PER_SCALE), 4)
        for t, n in zip(out["total"], out["members"], strict=True)
    ]
    return out[cols].sort_values(["place", "category", "unit"], kind="mergesort").reset_index(drop=True)


def write_metric_tables(mentions_df: pd.DataFrame, processed_dir: str | Path) -> list[Path]:
    """Write ``metrics.parquet`` and ``metrics.csv`` to ``processed_dir``, atomically.

    The CSV has :data:`metrics.METRIC_COLUMNS` first, then the extra columns;
    ``is_rate`` is written ``true``/``false`` and values as plain decimals, as
    in the gold CSV. Rows are sorted by ``doc_id, start``; a rerun on the same
    mentions writes identical bytes.
    """
    check_frame(mentions_df, METRIC_COLUMNS, "mentions_df")
    cols = [*METRIC_COLUMNS, *[c for c in EXTRA_COLUMNS if c in mentions_df.columns]]
    cols += [c for c in mentions_df.columns if c not in cols]
    out = mentions_df[cols].sort_values(["doc_id", "start", "end"], kind="mergesort").reset_index(drop=True)
    out = out.copy()
    out["is_rate"] = ["true" if bool(v) else "false" for v in out["is_rate"]]
    out["value"] = out["value"].astype(str)
    return storage.write_table(out, Path(processed_dir) / "metrics")


def _as_bool(values: pd.Series) -> pd.Series:
    """``is_rate`` as booleans, whether given as bools or as the CSV's ``true``/``false``.

    ``astype(bool)`` would turn the string ``"false"`` into ``True``.
    """
    if values.dtype == bool:
        return values
    mapping = {"true": True, "false": False, True: True, False: False}  # 1 and 0 hash as True and False
    bad = sorted({str(v) for v in values if (v.lower() if isinstance(v, str) else v) not in mapping})
    if bad:
        raise ValueError(f"`is_rate` must be true/false, found {bad}")
    return pd.Series(
        [mapping[v.lower() if isinstance(v, str) else v] for v in values], index=values.index, dtype=bool
    )


def read_metric_tables(processed_dir: str | Path) -> pd.DataFrame:
    """Read ``metrics.parquet`` written by :func:`write_metric_tables`, with ``is_rate`` as bool.

    ``value`` (and ``upper``) stay exact decimal strings; convert with
    ``decimal.Decimal`` or ``float`` as the analysis needs.

    Raises
    ------
    FileNotFoundError
        When the metrics notebook has not written the table yet.
    """
    path = Path(processed_dir) / "metrics.parquet"
    if not path.exists():  # a file, or the folder of a partitioned table (storage.write_table)
        raise FileNotFoundError(f"{path}: not found; run the metrics notebook (03) or `make report` first.")
    df = pd.read_parquet(path)
    df["is_rate"] = _as_bool(df["is_rate"])
    return df
