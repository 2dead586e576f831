"""Compare reports and places (RQ4 and the synthesis): geography of similarity, permutation tests, place profiles.

Documents table + similarity matrix -> pairwise geography table -> exact or
Monte Carlo permutation test of "reports from the same city (province, level,
place) are more alike"; per-place tables of the earlier stages (topic shares,
metric counts, formulaic shares, keyness) -> one tidy comparison table.

Examples
--------
>>> import pandas as pd
>>> from analysis import compare
>>> docs = pd.DataFrame({"doc_id": ["a", "b", "c"], "place": ["中原区", "二七区", "召陵区"],
...                      "city": ["郑州市", "郑州市", "漯河市"], "province": ["河南省"] * 3,
...                      "admin_level": ["district"] * 3})
>>> compare.geography_pairs(docs)[["doc_a", "doc_b", "same_city"]].to_numpy().tolist()
[['a', 'b', True], ['a', 'c', False], ['b', 'c', False]]
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import math
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import value_invalid_msg

__all__ = [
    "RELATIONS",
    "RELATION_COLUMNS",
    "DIMENSIONS",
    "MAX_EXACT_PERMUTATIONS",
    "SMALL_N_DOCUMENTS",
    "PermutationResult",
    "geography_pairs",
    "similarity_pairs",
    "permutation_test",
    "permutation_tests",
    "place_profiles",
    "place_summary",
    "place_synthesis",
    "MIN_DOC_ID_CHARS",
    "document_labels",
    "pair_text",
    "DEFAULT_MAX_PAIRWISE_REPORTS",
    "DEFAULT_SAMPLED_PAIRS",
    "DEFAULT_SCALE_PERMUTATIONS",
    "UNITS",
    "unit_similarity",
    "vector_permutation_test",
    "vector_permutation_tests",
    "sampled_pairs",
    "pairs_geography",
]

logger = logging.getLogger(__name__)

#: Pairwise relations and the document column each is read from.
RELATION_COLUMNS: dict[str, str] = {
    "same_city": "city",
    "same_province": "province",
    "same_level": "admin_level",
    "same_place": "place",
}
RELATIONS: tuple[str, ...] = tuple(RELATION_COLUMNS)
#: Enumerate every distinct arrangement of the labels when there are at most this many.
MAX_EXACT_PERMUTATIONS = 200_000
#: Below this many documents the result carries a small-sample caveat.
SMALL_N_DOCUMENTS = 12
#: Tolerance when comparing a permuted statistic with the observed one (float sums).
_STAT_TOLERANCE = 1e-12
#: Permutations evaluated per numpy batch.
_BATCH_SIZE = 4096

#: Shortest doc_id prefix in prose labels (``017_a1b2…``); longer when needed to tell two reports apart.
MIN_DOC_ID_CHARS = 8

#: Dimensions of :func:`place_profiles`, in output order.
DIMENSIONS: tuple[str, ...] = (
    "topic_share",
    "metric_mentions",
    "metric_share",
    "metric_per_1000_members",
    "formulaic_share",
    "keyness_g2",
)


# ---------------------------------------------------------------------------
# Validation helpers


def _require_columns(df: Any, name: str, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"`{name}` is missing column(s) {missing}; expected columns {list(columns)}, got {list(df.columns)}"
        )
    if df.empty:
        raise ValueError(f"`{name}` has no rows")
    return df


def _require_str(df: pd.DataFrame, name: str, column: str) -> None:
    bad = df[column].map(lambda v: not isinstance(v, str) or not v)
    if bad.any():
        row = df.index[bad.to_numpy()][0]
        raise ValueError(
            f"`{name}`: column {column!r} must hold non-empty strings; row {row!r} has {df.at[row, column]!r}"
        )


def _require_numeric(
    df: pd.DataFrame, name: str, column: str, *, low: float | None = None, high: float | None = None
) -> pd.Series:
    values = pd.to_numeric(df[column], errors="coerce").astype("float64")
    bad = values.isna() | ~np.isfinite(values)
    if low is not None:
        bad |= values < low - 1e-9
    if high is not None:
        bad |= values > high + 1e-9
    if bad.any():
        row = df.index[bad.to_numpy()][0]
        bounds = (
            f" in [{low}, {high}]"
            if low is not None and high is not None
            else (f" >= {low}" if low is not None else "")
        )
        raise ValueError(
            f"`{name}`: column {column!r} must be a finite number{bounds}; row {row!r} has {df.at[row, column]!r}"
        )
    return values


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value == ""


# ---------------------------------------------------------------------------
# Geography


_DOCUMENT_COLUMNS = ("doc_id", *RELATION_COLUMNS.values())


def _check_documents(documents: pd.DataFrame, columns: Sequence[str] = _DOCUMENT_COLUMNS) -> pd.DataFrame:
    documents = _require_columns(documents, "documents", columns)
    _require_str(documents, "documents", "doc_id")
    if documents["doc_id"].duplicated().any():
        dup = documents.loc[documents["doc_id"].duplicated(), "doc_id"].iloc[0]
        raise ValueError(f"`documents`: doc_id {dup!r} occurs more than once")
    return documents.sort_values("doc_id", kind="mergesort").reset_index(drop=True)


def geography_pairs(documents: pd.DataFrame) -> pd.DataFrame:
    """Pairwise table of administrative relations between reports.

    Parameters
    ----------
    documents : DataFrame
        One row per report with columns ``doc_id``, ``city``, ``province``,
        ``admin_level`` and ``place`` (e.g. ``corpus.read_documents()``).

    Returns
    -------
    DataFrame
        One row per unordered pair (``doc_a < doc_b``, sorted), columns
        ``doc_a, doc_b, same_city, same_province, same_level, same_place``
        (pandas ``boolean``; ``<NA>`` where either report lacks the field).

    Raises
    ------
    ValueError
        On missing columns, a missing or duplicated ``doc_id``, or fewer than two reports.

    Notes
    -----
    Two reports on the same place are also in the same city, province and
    level; a city-level report is not "in the same city" as its districts by
    this table unless its ``city`` field names the same city, which it does
    for a prefecture-level city (郑州市 reports have ``city`` 郑州市).
    """
    documents = _check_documents(documents)
    if len(documents) < 2:
        raise ValueError("`documents` has fewer than two reports; there are no pairs to compare")
    rows = []
    records = documents.to_dict("records")
    for a, b in itertools.combinations(records, 2):
        row: dict[str, Any] = {"doc_a": a["doc_id"], "doc_b": b["doc_id"]}
        for relation, column in RELATION_COLUMNS.items():
            va, vb = a[column], b[column]
            row[relation] = pd.NA if _missing(va) or _missing(vb) else bool(va == vb)
        rows.append(row)
    out = pd.DataFrame(rows, columns=["doc_a", "doc_b", *RELATIONS])
    for relation in RELATIONS:
        if out[relation].isna().any():
            logger.warning(
                "geography_pairs: %d pair(s) lack %r; %s is unknown for them",
                int(out[relation].isna().sum()),
                RELATION_COLUMNS[relation],
                relation,
            )
        out[relation] = out[relation].astype("boolean")
    return out


def similarity_pairs(similarity: pd.DataFrame) -> pd.DataFrame:
    """Long table ``doc_a, doc_b, similarity`` (``doc_a < doc_b``) from a square or long similarity table.

    Parameters
    ----------
    similarity : DataFrame
        Either a square matrix with the same ``doc_id`` labels as index and
        columns (e.g. ``topics.similarity_matrix``), symmetric, or a long table
        with columns ``doc_a, doc_b, similarity``.

    Raises
    ------
    ValueError
        If the matrix is not square with matching labels, not symmetric, has
        a non-finite value, or a pair appears twice.

    Examples
    --------
    >>> m = pd.DataFrame([[1.0, 0.2], [0.2, 1.0]], index=["a", "b"], columns=["a", "b"])
    >>> similarity_pairs(m).to_numpy().tolist()
    [['a', 'b', 0.2]]
    """
    if not isinstance(similarity, pd.DataFrame):
        raise TypeError(f"`similarity` must be a pandas DataFrame, got {type(similarity).__name__}")
    if {"doc_a", "doc_b", "similarity"} <= set(similarity.columns):
        df = _require_columns(similarity, "similarity", ("doc_a", "doc_b", "similarity"))
        _require_str(df, "similarity", "doc_a")
        _require_str(df, "similarity", "doc_b")
        values = _require_numeric(df, "similarity", "similarity")
        a = df["doc_a"].astype(str)
        b = df["doc_b"].astype(str)
        out = pd.DataFrame(
            {"doc_a": np.where(a < b, a, b), "doc_b": np.where(a < b, b, a), "similarity": values}
        )
        if (out["doc_a"] == out["doc_b"]).any():
            out = out[out["doc_a"] != out["doc_b"]]
        if out.duplicated(["doc_a", "doc_b"]).any():
            dup = out.loc[out.duplicated(["doc_a", "doc_b"]), ["doc_a", "doc_b"]].iloc[0].tolist()
            raise ValueError(f"`similarity`: pair {dup} appears more than once")
    else:
        index = [str(i) for i in similarity.index]
        columns = [str(c) for c in similarity.columns]
        if index != columns:
            raise ValueError(
                "`similarity` must be a square matrix with the same doc_id labels as index and columns "
                f"(index {index[:5]}..., columns {columns[:5]}...), or a long table with columns doc_a, doc_b, similarity"
            )
        matrix = similarity.to_numpy(dtype="float64")
        if not np.isfinite(matrix).all():
            raise ValueError("`similarity` has a non-finite value (NaN or inf)")
        if not np.allclose(matrix, matrix.T, atol=1e-9):
            raise ValueError("`similarity` is not symmetric; a similarity matrix must be")
        ia, ib = np.triu_indices(len(index), k=1)
        labels = np.asarray(index, dtype=object)
        a, b = labels[ia], labels[ib]
        out = pd.DataFrame(
            {"doc_a": np.where(a < b, a, b), "doc_b": np.where(a < b, b, a), "similarity": matrix[ia, ib]}
        )
    out = out.sort_values(["doc_a", "doc_b"], kind="mergesort").reset_index(drop=True)
    return out.astype({"doc_a": "object", "doc_b": "object", "similarity": "float64"})


# ---------------------------------------------------------------------------
# Permutation test


class _NotTestableError(ValueError):
    """The grouping leaves no within-group or no between-group pair."""


@dataclass(frozen=True, slots=True)
class PermutationResult:
    """Result of :func:`permutation_test`.

    ``statistic`` is ``mean_within - mean_between``. ``p_value`` counts the
    observed arrangement (so it is never 0). ``min_p_value`` is the smallest
    p-value the design could give at all: with five reports it is often far
    above 0.05, which is the honest headline. ``method`` is ``"exact"`` (all
    distinct arrangements enumerated; ``n_permutations`` is their number) or
    ``"monte_carlo"`` (``n_permutations`` random ones, p = (b + 1) / (m + 1)).
    """

    relation: str
    alternative: str
    method: str
    n_documents: int
    n_pairs: int
    n_within: int
    n_between: int
    mean_within: float
    mean_between: float
    statistic: float
    p_value: float
    min_p_value: float
    n_permutations: int
    random_state: int | None
    caveat: str
    excluded_doc_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Fields as a plain dict (``excluded_doc_ids`` as a list)."""
        out = dataclasses.asdict(self)
        out["excluded_doc_ids"] = list(self.excluded_doc_ids)
        return out


def _multiset_permutations(labels: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every distinct ordering of ``labels`` once, in lexicographic order."""
    items = sorted(labels)
    n = len(items)
    while True:
        yield tuple(items)
        # Next lexicographic permutation (handles repeated values).
        i = n - 2
        while i >= 0 and items[i] >= items[i + 1]:
            i -= 1
        if i < 0:
            return
        j = n - 1
        while items[j] <= items[i]:
            j -= 1
        items[i], items[j] = items[j], items[i]
        items[i + 1 :] = reversed(items[i + 1 :])


def _n_distinct(labels: Sequence[int]) -> int:
    n = math.factorial(len(labels))
    for count in Counter(labels).values():
        n //= math.factorial(count)
    return n


def _statistics(arrangements: np.ndarray, ia: np.ndarray, ib: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Mean within minus mean between, one value per row of label ``arrangements``."""
    within = arrangements[:, ia] == arrangements[:, ib]
    n_within = within.sum(axis=1)
    n_between = within.shape[1] - n_within
    sum_within = (within * sims).sum(axis=1)
    sum_between = sims.sum() - sum_within
    return sum_within / n_within - sum_between / n_between


def _extreme(stats: np.ndarray, observed: float, alternative: str) -> np.ndarray:
    if alternative == "greater":
        return stats >= observed - _STAT_TOLERANCE
    if alternative == "less":
        return stats <= observed + _STAT_TOLERANCE
    return np.abs(stats) >= abs(observed) - _STAT_TOLERANCE


def permutation_test(
    similarity: pd.DataFrame,
    documents: pd.DataFrame,
    *,
    relation: Literal["same_city", "same_province", "same_level", "same_place"] = "same_city",
    alternative: Literal["greater", "less", "two-sided"] = "greater",
    n_permutations: int = 9999,
    random_state: int = 0,
    max_exact: int = MAX_EXACT_PERMUTATIONS,
) -> PermutationResult:
    """Are reports related by ``relation`` more alike than the others? A label-permutation test.

    Parameters
    ----------
    similarity : DataFrame
        Report similarity, square or long (see :func:`similarity_pairs`).
    documents : DataFrame
        ``doc_id`` and the column of ``relation`` (``city``, ``province``,
        ``admin_level`` or ``place``).
    relation : {"same_city", "same_province", "same_level", "same_place"}, default="same_city"
    alternative : {"greater", "less", "two-sided"}, default="greater"
        ``"greater"``: pairs within a group are more similar than pairs across.
    n_permutations : int, default=9999
        Random arrangements drawn when the exact test is too large.
    random_state : int, default=0
        Seed of the Monte Carlo draw (unused by the exact test).
    max_exact : int, default=200000
        Enumerate every distinct arrangement when there are at most this many.

    Returns
    -------
    PermutationResult

    Raises
    ------
    ValueError
        On a bad option, missing columns, a report of ``similarity`` absent
        from ``documents`` (or the reverse), fewer than three usable reports,
        or a grouping with no within-group or no between-group pair.

    Notes
    -----
    The statistic is the mean similarity of within-group pairs minus the mean
    of between-group pairs. Under the null hypothesis the group labels are
    exchangeable across reports, so the labels (not the pairs, which share
    reports and are not independent) are permuted, as in a Mantel test. The
    number of within-group pairs is the same in every arrangement.

    With a multiset of labels the distinct arrangements number
    n! / (n_1! ... n_k!) (20 for five reports in cities 3 + 1 + 1), each
    equally likely under the null; when that is at most ``max_exact`` all are
    enumerated and p = (arrangements at least as extreme) / (all), exactly.
    Otherwise ``n_permutations`` random permutations are drawn and
    p = (b + 1) / (m + 1) (Phipson & Smyth 2010). Reports whose label is
    missing are left out, with a warning, and listed in ``excluded_doc_ids``.
    """
    if relation not in RELATION_COLUMNS:
        raise ValueError(value_invalid_msg("relation", relation, RELATIONS))
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(value_invalid_msg("alternative", alternative, ("greater", "less", "two-sided")))
    for name, value in (("n_permutations", n_permutations), ("max_exact", max_exact)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    if not isinstance(random_state, int) or isinstance(random_state, bool):
        raise ValueError(f"`random_state` must be an integer seed, got {random_state!r}")
    column = RELATION_COLUMNS[relation]
    documents = _check_documents(documents, ("doc_id", column))
    pairs = similarity_pairs(similarity)

    sim_docs = sorted(set(pairs["doc_a"]) | set(pairs["doc_b"]))
    known = set(documents["doc_id"])
    unknown = [d for d in sim_docs if d not in known]
    if unknown:
        raise ValueError(f"`similarity` has report(s) {unknown} that are not in `documents`")
    not_compared = sorted(known - set(sim_docs))
    if not_compared:
        raise ValueError(f"`documents` has report(s) {not_compared} that are not in `similarity`")
    label_of = dict(zip(documents["doc_id"], documents[column], strict=True))
    excluded = tuple(d for d in sim_docs if _missing(label_of[d]))
    if excluded:
        logger.warning(
            "permutation_test: %s unknown for %s; these reports are left out", column, list(excluded)
        )
    docs = [d for d in sim_docs if d not in excluded]
    if len(docs) < 3:
        raise ValueError(
            f"permutation_test: {len(docs)} report(s) with a known {column!r}; at least three are needed"
        )
    pairs = pairs[pairs["doc_a"].isin(docs) & pairs["doc_b"].isin(docs)]
    n_expected = len(docs) * (len(docs) - 1) // 2
    if len(pairs) != n_expected:
        raise ValueError(
            f"`similarity` has {len(pairs)} pairs among {len(docs)} reports; all {n_expected} are needed"
        )
    position = {d: i for i, d in enumerate(docs)}
    ia = pairs["doc_a"].map(position).to_numpy()
    ib = pairs["doc_b"].map(position).to_numpy()
    sims = pairs["similarity"].to_numpy(dtype="float64")
    codes = {v: i for i, v in enumerate(sorted({str(label_of[d]) for d in docs}))}
    labels = np.array([codes[str(label_of[d])] for d in docs])

    observed_within = labels[ia] == labels[ib]
    n_within = int(observed_within.sum())
    n_between = len(sims) - n_within
    if n_within == 0 or n_between == 0:
        side = "within-group" if n_within == 0 else "between-group"
        raise _NotTestableError(
            f"permutation_test: no {side} pair for relation {relation!r} "
            f"({column} values: {sorted(codes)}); the test needs both kinds of pairs"
        )
    mean_within = float(sims[observed_within].mean())
    mean_between = float(sims[~observed_within].mean())
    observed = float(_statistics(labels[None, :], ia, ib, sims)[0])

    n_distinct = _n_distinct(labels.tolist())
    if n_distinct <= max_exact:
        method = "exact"
        all_stats = []
        batch: list[tuple[int, ...]] = []
        for arrangement in _multiset_permutations(labels.tolist()):
            batch.append(arrangement)
            if len(batch) == _BATCH_SIZE:
                all_stats.append(_statistics(np.array(batch), ia, ib, sims))
                batch = []
        if batch:
            all_stats.append(_statistics(np.array(batch), ia, ib, sims))
        stats = np.concatenate(all_stats)
        hits = int(_extreme(stats, observed, alternative).sum())
        most = float(
            stats.max()
            if alternative == "greater"
            else stats.min()
            if alternative == "less"
            else np.abs(stats).max()
        )
        stats_max_hits = int(_extreme(stats, most, alternative).sum())
        p_value = hits / n_distinct
        min_p = stats_max_hits / n_distinct
        n_evaluated = n_distinct
        seed: int | None = None
    else:
        method = "monte_carlo"
        rng = np.random.default_rng(random_state)
        hits = 0
        done = 0
        while done < n_permutations:
            size = min(_BATCH_SIZE, n_permutations - done)
            order = np.argsort(rng.random((size, len(labels))), axis=1)
            hits += int(_extreme(_statistics(labels[order], ia, ib, sims), observed, alternative).sum())
            done += size
        p_value = (hits + 1) / (n_permutations + 1)
        min_p = 1 / (n_permutations + 1)
        n_evaluated = n_permutations
        seed = random_state

    caveat = ""
    if len(docs) < SMALL_N_DOCUMENTS:
        caveat = (
            f"Only {len(docs)} reports ({n_within} of {len(sims)} pairs {relation.replace('_', ' ')}); "
            f"there are {n_distinct} distinct arrangements of the {column} labels, so the smallest attainable "
            f"p-value is {min_p:.3g}. Pairs share reports and the reports differ in length and genre; read the "
            "result as a description of these reports, not as evidence about reporting in general."
        )
    return PermutationResult(
        relation=relation,
        alternative=alternative,
        method=method,
        n_documents=len(docs),
        n_pairs=len(sims),
        n_within=n_within,
        n_between=n_between,
        mean_within=mean_within,
        mean_between=mean_between,
        statistic=observed,
        p_value=float(p_value),
        min_p_value=float(min_p),
        n_permutations=n_evaluated,
        random_state=seed,
        caveat=caveat,
        excluded_doc_ids=excluded,
    )


def permutation_tests(
    similarity: pd.DataFrame,
    documents: pd.DataFrame,
    *,
    relations: Sequence[str] = RELATIONS,
    alternative: Literal["greater", "less", "two-sided"] = "greater",
    n_permutations: int = 9999,
    random_state: int = 0,
    max_exact: int = MAX_EXACT_PERMUTATIONS,
) -> pd.DataFrame:
    """One :func:`permutation_test` per relation, as a table (one row per relation, in the given order).

    A relation that cannot be tested on these reports (e.g. every report in
    one province) gets a row with NaN statistics and the reason in
    ``caveat``, and a logged warning, instead of stopping the run.
    Columns are the fields of :class:`PermutationResult`
    (``excluded_doc_ids`` ``;``-joined).
    """
    if isinstance(relations, str):
        raise TypeError(
            "`relations` must be a sequence of relation names, not a single string; wrap it in a list"
        )
    rows = []
    fields = [f.name for f in dataclasses.fields(PermutationResult)]
    for relation in relations:
        try:
            result = permutation_test(
                similarity,
                documents,
                relation=relation,  # type: ignore[arg-type]
                alternative=alternative,
                n_permutations=n_permutations,
                random_state=random_state,
                max_exact=max_exact,
            ).to_dict()
        except _NotTestableError as exc:
            logger.warning("permutation_tests: %s", exc)
            result = dict.fromkeys(fields, np.nan)
            result.update(
                relation=relation,
                alternative=alternative,
                method="not_testable",
                caveat=str(exc),
                excluded_doc_ids=[],
                random_state=None,
            )
        result["excluded_doc_ids"] = ";".join(result["excluded_doc_ids"])
        rows.append(result)
    return pd.DataFrame(rows, columns=fields)


# ---------------------------------------------------------------------------
# Similarity and permutation tests at scale: from document vectors, never an n x n matrix


#: Above this many reports 05 compares places (centroids), tests geography from group sums and
#: shows a sample of report pairs instead of every pair (300 reports are 44,850 pairs).
DEFAULT_MAX_PAIRWISE_REPORTS = 300
#: Report pairs drawn (fixed seed) for the pairs table when there are too many reports for all pairs.
DEFAULT_SAMPLED_PAIRS = 20_000
#: Permutations of the group-sum test when there are many reports (each costs one pass over the vectors).
DEFAULT_SCALE_PERMUTATIONS = 999
#: Units the vector tests and similarities can be computed over.
UNITS: tuple[str, ...] = ("report", "place", "city", "province")


def _check_vectors(matrix: Any, doc_ids: Sequence[str]) -> sp.csr_matrix:
    if not sp.issparse(matrix) and not isinstance(matrix, np.ndarray):
        raise TypeError(f"`matrix` must be a scipy sparse matrix or numpy array, got {type(matrix).__name__}")
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    if isinstance(doc_ids, str):
        raise TypeError("`doc_ids` must be a sequence of doc_ids, not a single string")
    doc_ids = list(doc_ids)
    if matrix.shape[0] != len(doc_ids):
        raise ValueError(f"`matrix` has {matrix.shape[0]} rows but `doc_ids` has {len(doc_ids)} ids")
    if len(set(doc_ids)) != len(doc_ids):
        raise ValueError("`doc_ids` has repeated ids; one row per report")
    if not np.isfinite(matrix.data).all():
        raise ValueError("`matrix` has a non-finite value (NaN or inf)")
    return matrix


def _normalize_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale) @ matrix)


def unit_similarity(
    matrix: Any,
    doc_ids: Sequence[str],
    documents: pd.DataFrame,
    *,
    unit: Literal["place", "city", "province"] = "place",
) -> pd.DataFrame:
    """Cosine similarity of places (cities, provinces): of the centroids of their reports' vectors.

    Parameters
    ----------
    matrix : sparse matrix or ndarray
        One row per report (e.g. ``topics.build_tfidf(...).matrix``); rows
        are L2-normalised here, so each report weighs the same in its unit.
    doc_ids : sequence of str
        The doc_id of each row.
    documents : DataFrame
        ``doc_id`` and the ``unit`` column.
    unit : {"place", "city", "province"}, default="place"

    Returns
    -------
    DataFrame
        Square, index and columns the unit names (sorted), 1 on the diagonal;
        ``attrs["n_documents"]`` gives the reports per unit. Reports without
        a value for ``unit`` are left out (with a warning).

    Raises
    ------
    ValueError
        On a bad ``unit``, mismatched rows and ids, a report absent from
        ``documents``, or fewer than two units.

    Examples
    --------
    >>> docs = pd.DataFrame({"doc_id": ["a", "b", "c"], "place": ["甲区", "甲区", "乙区"]})
    >>> unit_similarity(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), ["a", "b", "c"], docs).round(3).to_numpy().tolist()
    [[1.0, 0.707], [0.707, 1.0]]
    """
    if unit not in UNITS[1:]:
        raise ValueError(value_invalid_msg("unit", unit, UNITS[1:]))
    matrix = _check_vectors(matrix, doc_ids)
    units, indicator, _ = _unit_indicator(doc_ids, documents, unit)
    if len(units) < 2:
        raise ValueError(f"unit_similarity: {len(units)} {unit}(s) with reports; at least two are needed")
    centroids = _normalize_rows(sp.csr_matrix(indicator @ _normalize_rows(matrix)))
    values = (centroids @ centroids.T).toarray()
    np.fill_diagonal(values, 1.0)
    out = pd.DataFrame(np.clip(values, 0.0, 1.0), index=units, columns=units)
    out.index.name = out.columns.name = unit
    out.attrs["n_documents"] = dict(zip(units, np.asarray(indicator.sum(axis=1)).ravel().astype(int).tolist(), strict=True))
    return out


def _unit_indicator(
    doc_ids: Sequence[str], documents: pd.DataFrame, column: str
) -> tuple[list[str], sp.csr_matrix, list[str]]:
    """(sorted units, units x reports 0/1 matrix, doc_ids left out for lack of a value)."""
    documents = _check_documents(documents, ("doc_id", column))
    label_of = dict(zip(documents["doc_id"], documents[column], strict=True))
    unknown = [d for d in doc_ids if d not in label_of]
    if unknown:
        raise ValueError(f"report(s) {unknown[:5]} of `doc_ids` are not in `documents`")
    excluded = [d for d in doc_ids if _missing(label_of[d])]
    if excluded:
        logger.warning("%s unknown for %d report(s); they are left out", column, len(excluded))
    units = sorted({str(label_of[d]) for d in doc_ids if not _missing(label_of[d])})
    code = {u: i for i, u in enumerate(units)}
    rows, cols = [], []
    for j, d in enumerate(doc_ids):
        if not _missing(label_of[d]):
            rows.append(code[str(label_of[d])])
            cols.append(j)
    indicator = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(units), len(doc_ids)))
    return units, indicator, excluded


def _group_statistic(vectors: sp.csr_matrix, sq_norms: np.ndarray, labels: np.ndarray, n_groups: int) -> tuple:
    """(sum within, n within) of the pairwise dot products, from the group sums of ``vectors``."""
    n = len(labels)
    indicator = sp.csr_matrix((np.ones(n), (labels, np.arange(n))), shape=(n_groups, n))
    sums = indicator @ vectors
    sum_sq = np.asarray(sums.multiply(sums).sum(axis=1)).ravel()
    group_sq = np.bincount(labels, weights=sq_norms, minlength=n_groups)
    sizes = np.bincount(labels, minlength=n_groups)
    return float(((sum_sq - group_sq) / 2).sum()), int((sizes * (sizes - 1) // 2).sum())


def _prepare_vector_test(
    matrix: Any,
    doc_ids: Sequence[str],
    documents: pd.DataFrame,
    *,
    relation: str,
    unit: str,
    alternative: str,
) -> _PreparedVectorTest:
    """Validate a :func:`vector_permutation_test` and compute everything but its permutations."""
    if relation not in RELATION_COLUMNS:
        raise ValueError(value_invalid_msg("relation", relation, RELATIONS))
    if unit not in ("report", "place"):
        raise ValueError(value_invalid_msg("unit", unit, ("report", "place")))
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(value_invalid_msg("alternative", alternative, ("greater", "less", "two-sided")))
    column = RELATION_COLUMNS[relation]
    vectors = _normalize_rows(_check_vectors(matrix, doc_ids))
    doc_ids = list(doc_ids)
    if unit == "place":
        if relation == "same_place":
            raise _NotTestableError("vector_permutation_test: same_place cannot be tested with places as units")
        places, indicator, _ = _unit_indicator(doc_ids, documents, "place")
        vectors = _normalize_rows(sp.csr_matrix(indicator @ vectors))
        docs = _check_documents(documents, ("doc_id", "place", column))
        per_place = docs[docs["place"].notna()].groupby("place")[column].agg(
            lambda v: sorted({str(x) for x in v if not _missing(x)})
        )
        several = [p for p in places if len(per_place.get(p, [])) > 1]
        if several:
            raise _NotTestableError(
                f"vector_permutation_test: place(s) {several[:5]} have several {column} values; with places as "
                "units each needs one"
            )
        ids = places
        label_of = {p: (per_place[p][0] if per_place.get(p) else None) for p in places}
    else:
        docs = _check_documents(documents, ("doc_id", column))
        known = dict(zip(docs["doc_id"], docs[column], strict=True))
        unknown = [d for d in doc_ids if d not in known]
        if unknown:
            raise ValueError(f"report(s) {unknown[:5]} of `doc_ids` are not in `documents`")
        ids = doc_ids
        label_of = known
    keep = [i for i, u in enumerate(ids) if not _missing(label_of[u])]
    excluded = tuple(u for u in ids if _missing(label_of[u]))
    if len(keep) < 3:
        raise ValueError(f"vector_permutation_test: {len(keep)} {unit}(s) with a known {column!r}; at least three are needed")
    vectors = vectors[keep]
    kept_ids = [ids[i] for i in keep]
    codes = {v: i for i, v in enumerate(sorted({str(label_of[u]) for u in kept_ids}))}
    labels = np.array([codes[str(label_of[u])] for u in kept_ids])
    n = len(labels)
    sq_norms = np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel()
    total_vec = np.asarray(vectors.sum(axis=0)).ravel()
    total = float((total_vec @ total_vec - sq_norms.sum()) / 2)
    n_pairs = n * (n - 1) // 2
    sum_within, n_within = _group_statistic(vectors, sq_norms, labels, len(codes))
    n_between = n_pairs - n_within
    if n_within == 0 or n_between == 0:
        side = "within-group" if n_within == 0 else "between-group"
        raise _NotTestableError(
            f"vector_permutation_test: no {side} pair for relation {relation!r} over {unit}s; "
            "the test needs both kinds of pairs"
        )
    return _PreparedVectorTest(
        relation=relation, unit=unit, alternative=alternative, vectors=vectors, sq_norms=sq_norms, labels=labels,
        n_groups=len(codes), n_within=n_within, n_between=n_between, total=total,
        observed=sum_within / n_within - (total - sum_within) / n_between,
        sum_within=sum_within, n_pairs=n_pairs, excluded=excluded,
    )


def vector_permutation_test(
    matrix: Any,
    doc_ids: Sequence[str],
    documents: pd.DataFrame,
    *,
    relation: Literal["same_city", "same_province", "same_level", "same_place"] = "same_city",
    unit: Literal["report", "place"] = "report",
    alternative: Literal["greater", "less", "two-sided"] = "greater",
    n_permutations: int = DEFAULT_SCALE_PERMUTATIONS,
    random_state: int = 0,
) -> PermutationResult:
    """:func:`permutation_test` for many reports: the same statistic, from group sums of the vectors.

    With L2-normalised rows the cosine of two reports is the dot product of
    their vectors, and the sum of the cosines of all pairs within a group is
    ``(|sum of its vectors|² - its size) / 2``. So each arrangement of the
    labels costs one pass over the vectors (not over the n² pairs) and no
    similarity matrix is formed. Labels are permuted at random
    (``method="monte_carlo_group_sums"``, p = (b + 1) / (m + 1)).

    Parameters
    ----------
    matrix : sparse matrix or ndarray
        One row per report (e.g. TF-IDF); rows are L2-normalised here.
    doc_ids : sequence of str
    documents : DataFrame
        ``doc_id``, the relation's column, and ``place`` when ``unit="place"``.
    relation : {"same_city", "same_province", "same_level", "same_place"}, default="same_city"
    unit : {"report", "place"}, default="report"
        ``"report"``: pairs of reports, as :func:`permutation_test`.
        ``"place"``: each place is one unit (the centroid of its reports), so
        places with many reports do not dominate and two reports on one
        place are not counted as "same city"; the relation's labels are
        permuted over places (``same_place`` is then not testable).
    alternative, n_permutations, random_state
        As in :func:`permutation_test`.

    Returns
    -------
    PermutationResult
        ``n_documents`` counts units (reports or places).

    Raises
    ------
    ValueError
        On a bad option, mismatched inputs, fewer than three units, a place
        with several values of the relation's column, or a grouping with no
        within-group or no between-group pair.
    """
    _check_permutations(n_permutations, random_state)
    prepared = _prepare_vector_test(matrix, doc_ids, documents, relation=relation, unit=unit, alternative=alternative)
    hits = prepared.count_extreme(random_state, 0, n_permutations)
    return prepared.result(hits, n_permutations, random_state)


def _check_permutations(n_permutations: Any, random_state: Any) -> None:
    if not isinstance(n_permutations, int) or isinstance(n_permutations, bool) or n_permutations < 1:
        raise ValueError(f"`n_permutations` must be a positive integer, got {n_permutations!r}")
    if not isinstance(random_state, int) or isinstance(random_state, bool):
        raise ValueError(f"`random_state` must be an integer seed, got {random_state!r}")


@dataclass(frozen=True)
class _PreparedVectorTest:
    """A :func:`vector_permutation_test` up to its permutations: what every range of them needs."""

    relation: str
    unit: str
    alternative: str
    vectors: sp.csr_matrix
    sq_norms: np.ndarray
    labels: np.ndarray
    n_groups: int
    n_within: int
    n_between: int
    total: float
    observed: float
    sum_within: float
    n_pairs: int
    excluded: tuple[str, ...]

    def stat(self, within: float) -> float:
        return within / self.n_within - (self.total - within) / self.n_between

    def count_extreme(self, random_state: int, start: int, stop: int) -> int:
        """Arrangements ``start`` to ``stop - 1`` of the seeded stream at least as extreme as the observed one.

        The stream is drawn from its start whatever ``start`` is (drawing a
        permutation costs far less than scoring one), so splitting
        ``range(n_permutations)`` into pieces counts the same arrangements.
        """
        rng = np.random.default_rng(random_state)
        hits = 0
        for i in range(stop):
            arrangement = rng.permutation(self.labels)
            if i < start:
                continue
            within, _n = _group_statistic(self.vectors, self.sq_norms, arrangement, self.n_groups)
            hits += bool(_extreme(np.array([self.stat(within)]), self.observed, self.alternative)[0])
        return hits

    def result(self, hits: int, n_permutations: int, random_state: int) -> PermutationResult:
        n = len(self.labels)
        return PermutationResult(
            relation=self.relation,
            alternative=self.alternative,
            method="monte_carlo_group_sums" if self.unit == "report" else "monte_carlo_group_sums_places",
            n_documents=n,
            n_pairs=self.n_pairs,
            n_within=self.n_within,
            n_between=self.n_between,
            mean_within=self.sum_within / self.n_within,
            mean_between=(self.total - self.sum_within) / self.n_between,
            statistic=self.observed,
            p_value=(hits + 1) / (n_permutations + 1),
            min_p_value=1 / (n_permutations + 1),
            n_permutations=n_permutations,
            random_state=random_state,
            caveat="" if self.unit == "report" else f"Units are the {n} places (centroids of their reports).",
            excluded_doc_ids=self.excluded,
        )


def vector_permutation_tests(
    matrix: Any,
    doc_ids: Sequence[str],
    documents: pd.DataFrame,
    *,
    relations: Sequence[str] = RELATIONS,
    unit: Literal["report", "place"] = "report",
    alternative: Literal["greater", "less", "two-sided"] = "greater",
    n_permutations: int = DEFAULT_SCALE_PERMUTATIONS,
    random_state: int = 0,
    jobs: int | None = 1,
) -> pd.DataFrame:
    """One :func:`vector_permutation_test` per relation, as :func:`permutation_tests` lays them out (plus ``unit``).

    ``jobs`` local processes share the work (``1``: in this process;
    ``None`` or 0: every core): each relation's permutations are cut into
    ``jobs`` ranges of its seeded stream, scored side by side and their
    counts added, so the table is the same whatever ``jobs`` is and one
    slow relation does not leave the other cores idle. Each task gets a
    copy of ``matrix``.
    """
    from . import parallel

    if isinstance(relations, str):
        raise TypeError("`relations` must be a sequence of relation names, not a single string; wrap it in a list")
    _check_permutations(n_permutations, random_state)
    relations = list(relations)
    n_jobs = parallel.resolve_jobs(jobs)
    pieces = min(n_jobs, n_permutations)
    bounds = [(n_permutations * k // pieces, n_permutations * (k + 1) // pieces) for k in range(pieces)]
    score = functools.partial(
        _vector_test_piece, matrix, list(doc_ids), documents, unit=unit, alternative=alternative,
        n_permutations=n_permutations, random_state=random_state,
    )
    tasks = [(relation, start, stop) for relation in relations for start, stop in bounds]
    scored = list(parallel.map_ordered(score, tasks, jobs=jobs, batch_size=1))
    fields = [f.name for f in dataclasses.fields(PermutationResult)]
    rows = []
    for k, relation in enumerate(relations):
        mine = scored[k * pieces : (k + 1) * pieces]
        if mine[0][1] is None:
            logger.warning("vector_permutation_tests: %s", mine[0][0])
            result = dict.fromkeys(fields, np.nan)
            result.update(relation=relation, alternative=alternative, method="not_testable", caveat=mine[0][0],
                          excluded_doc_ids="", random_state=None)
        else:
            hits = sum(h for h, _ in mine)
            result = dataclasses.replace(mine[0][1], p_value=(hits + 1) / (n_permutations + 1)).to_dict()
            result["excluded_doc_ids"] = ";".join(result["excluded_doc_ids"])
        result["unit"] = unit
        rows.append(result)
    return pd.DataFrame(rows, columns=[*fields, "unit"])


def _vector_test_piece(matrix: Any, doc_ids: list[str], documents: pd.DataFrame, task: tuple[str, int, int], *,
                       unit: str, alternative: str, n_permutations: int, random_state: int) -> tuple[Any, Any]:
    """One task ``(relation, start, stop)`` of :func:`vector_permutation_tests`.

    Returns ``(extreme arrangements among permutations start..stop-1, the test's result)``, whose p-value
    counts these alone (the caller adds the counts of all ranges); ``(reason, None)`` when it cannot be tested.
    """
    relation, start, stop = task
    try:
        prepared = _prepare_vector_test(matrix, doc_ids, documents, relation=relation, unit=unit,
                                        alternative=alternative)
    except _NotTestableError as exc:
        return str(exc), None
    hits = prepared.count_extreme(random_state, start, stop)
    return hits, prepared.result(hits, n_permutations, random_state)


def sampled_pairs(
    matrix: Any,
    doc_ids: Sequence[str],
    *,
    n_pairs: int = DEFAULT_SAMPLED_PAIRS,
    random_state: int = 0,
) -> pd.DataFrame:
    """Cosine similarity of ``n_pairs`` report pairs drawn uniformly without replacement (fixed seed).

    For a pairs table and a distribution of similarity when all pairs are too
    many. Every pair when there are at most ``n_pairs``. Columns ``doc_a <
    doc_b, similarity``, sorted; ``attrs["sampled"]`` records the draw.
    """
    matrix = _normalize_rows(_check_vectors(matrix, doc_ids))
    if not isinstance(n_pairs, int) or isinstance(n_pairs, bool) or n_pairs < 1:
        raise ValueError(f"`n_pairs` must be a positive integer, got {n_pairs!r}")
    order = np.argsort(np.asarray(doc_ids, dtype=object), kind="stable")
    ids = [doc_ids[i] for i in order]
    matrix = matrix[order]
    n = len(ids)
    total = n * (n - 1) // 2
    if total == 0:
        raise ValueError("`doc_ids` has fewer than two reports; there are no pairs")
    rng = np.random.default_rng(random_state)
    if total <= n_pairs:
        ia, ib = np.triu_indices(n, k=1)
    else:
        flat = np.sort(rng.choice(total, size=n_pairs, replace=False))
        # flat index k of the upper triangle (row-major) -> (i, j)
        row_start = np.cumsum(np.arange(n - 1, 0, -1)) - np.arange(n - 1, 0, -1)
        ia = np.searchsorted(row_start, flat, side="right") - 1
        ib = flat - row_start[ia] + ia + 1
    sims = np.asarray(matrix[ia].multiply(matrix[ib]).sum(axis=1)).ravel()
    out = pd.DataFrame({"doc_a": [ids[i] for i in ia], "doc_b": [ids[j] for j in ib], "similarity": sims})
    out = out.astype({"similarity": "float64"})
    out.attrs["sampled"] = {"n_pairs": len(out), "n_all_pairs": total, "random_state": random_state,
                            "method": "all" if total <= n_pairs else "uniform_without_replacement"}
    return out


def pairs_geography(pairs: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """:func:`geography_pairs` columns for the given ``doc_a, doc_b`` pairs only (no all-pairs table)."""
    pairs = _require_columns(pairs, "pairs", ("doc_a", "doc_b"))
    documents = _check_documents(documents)
    by_id = documents.set_index("doc_id")
    out = pairs.copy()
    for relation, column in RELATION_COLUMNS.items():
        a = pairs["doc_a"].map(by_id[column])
        b = pairs["doc_b"].map(by_id[column])
        known = ~(a.map(_missing) | b.map(_missing))
        out[relation] = pd.array([bool(x == y) if k else pd.NA for x, y, k in zip(a, b, known, strict=True)],
                                 dtype="boolean")
    return out


# ---------------------------------------------------------------------------
# Place profiles


_TOPIC_COLUMNS = ("place", "topic", "share")
_METRIC_COLUMNS = ("place", "category", "n_mentions")
_FORMULAIC_COLUMNS = ("place", "kind", "share")
_KEYNESS_COLUMNS = ("place", "term", "g2")
#: Optional column of ``metric_counts`` carried into the profile as ``metric_per_1000_members``.
PER_1000_COLUMN = "per_1000_members"
_PROFILE_COLUMNS = ["place", "dimension", "item", "value", "rank"]
_PER_1000_COLUMNS = ("place", "category", "unit", PER_1000_COLUMN)


def _dimension(df: pd.DataFrame, name: str, item: str, value: pd.Series, dimension: str) -> pd.DataFrame:
    _require_str(df, name, "place")
    out = pd.DataFrame({"place": df["place"].astype(str), "item": df[item].astype(str), "value": value})
    if out.duplicated(["place", "item"]).any():
        dup = out.loc[out.duplicated(["place", "item"]), ["place", "item"]].iloc[0].tolist()
        raise ValueError(
            f"`{name}`: ({dup[0]!r}, {dup[1]!r}) appears more than once; one row per place and {item}"
        )
    out["dimension"] = dimension
    return out


def place_profiles(
    topic_shares: pd.DataFrame | None = None,
    metric_counts: pd.DataFrame | None = None,
    formulaic_shares: pd.DataFrame | None = None,
    keyness: pd.DataFrame | None = None,
    *,
    top_terms: int = 10,
    per_1000_members: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One tidy table comparing places across RQ1-RQ3.

    Parameters
    ----------
    topic_shares : DataFrame or None
        RQ1: columns ``place, topic, share`` (share of the place's paragraphs
        or characters in each topic, in [0, 1]).
    metric_counts : DataFrame or None
        RQ2: columns ``place, category, n_mentions`` (non-negative counts);
        optional column ``per_1000_members`` (a per-1,000-members scale where
        the text states membership, NaN elsewhere), carried through.
    formulaic_shares : DataFrame or None
        RQ3: columns ``place, kind, share`` (e.g. ``FormulaicShares.places``).
    keyness : DataFrame or None
        Columns ``place, term, g2`` (log-likelihood keyness of a term for the place).
    top_terms : int, default=10
        Keyness terms kept per place (highest ``g2`` first; only positive ``g2``).
    per_1000_members : DataFrame or None, default=None
        RQ2 scale by unit: columns ``place, category, unit, per_1000_members``
        (e.g. ``tabulate.metrics_per_1000_members``); gives the
        ``metric_per_1000_members`` dimension with items ``"category (unit)"``,
        so totals of different units are never merged. Rows with a missing
        value are left out. Mutually exclusive with a ``per_1000_members``
        column in ``metric_counts``.

    Returns
    -------
    DataFrame
        Columns ``place, dimension, item, value, rank``; ``dimension`` is one of
        :data:`DIMENSIONS` (``metric_share`` is ``n_mentions`` over the place's
        total); ``rank`` is 1 for the largest value of a place and dimension
        (ties broken by ``item``). Sorted by place, dimension (in
        :data:`DIMENSIONS` order) and rank.

    Raises
    ------
    ValueError
        If no table is given, a table lacks a column, has an empty place, a
        duplicated (place, item), or a value out of range.

    Examples
    --------
    >>> topics = pd.DataFrame({"place": ["甲区", "甲区"], "topic": ["宣讲", "办实事"], "share": [0.7, 0.3]})
    >>> place_profiles(topics)[["item", "value", "rank"]].to_numpy().tolist()
    [['宣讲', 0.7, 1], ['办实事', 0.3, 2]]
    """
    if not isinstance(top_terms, int) or isinstance(top_terms, bool) or top_terms < 1:
        raise ValueError(f"`top_terms` must be a positive integer, got {top_terms!r}")
    parts: list[pd.DataFrame] = []
    if topic_shares is not None:
        df = _require_columns(topic_shares, "topic_shares", _TOPIC_COLUMNS)
        parts.append(
            _dimension(
                df,
                "topic_shares",
                "topic",
                _require_numeric(df, "topic_shares", "share", low=0, high=1),
                "topic_share",
            )
        )
    if metric_counts is not None:
        df = _require_columns(metric_counts, "metric_counts", _METRIC_COLUMNS)
        counts = _require_numeric(df, "metric_counts", "n_mentions", low=0)
        parts.append(_dimension(df, "metric_counts", "category", counts, "metric_mentions"))
        total = counts.groupby(df["place"]).transform("sum")
        parts.append(
            _dimension(
                df, "metric_counts", "category", (counts / total.where(total > 0)).fillna(0.0), "metric_share"
            )
        )
        if PER_1000_COLUMN in df.columns:
            scaled = pd.to_numeric(df[PER_1000_COLUMN], errors="coerce").astype("float64")
            known = scaled.notna()
            if (scaled[known] < 0).any() or not np.isfinite(scaled[known]).all():
                raise ValueError(
                    f"`metric_counts`: column {PER_1000_COLUMN!r} must be non-negative and finite where given"
                )
            if known.any():
                sub = df[known]
                parts.append(
                    _dimension(sub, "metric_counts", "category", scaled[known], "metric_per_1000_members")
                )
    if formulaic_shares is not None:
        df = _require_columns(formulaic_shares, "formulaic_shares", _FORMULAIC_COLUMNS)
        parts.append(
            _dimension(
                df,
                "formulaic_shares",
                "kind",
                _require_numeric(df, "formulaic_shares", "share", low=0, high=1),
                "formulaic_share",
            )
        )
    if per_1000_members is not None:
        if metric_counts is not None and PER_1000_COLUMN in metric_counts.columns:
            raise ValueError(
                "give the per-1,000-members scale once: either the `per_1000_members` table or a "
                f"{PER_1000_COLUMN!r} column in `metric_counts`, not both"
            )
        if not isinstance(per_1000_members, pd.DataFrame):
            raise TypeError(
                f"`per_1000_members` must be a pandas DataFrame, got {type(per_1000_members).__name__}"
            )
        df = per_1000_members
        missing = [c for c in _PER_1000_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(
                f"`per_1000_members` is missing column(s) {missing}; expected columns {list(_PER_1000_COLUMNS)}"
            )
        df = df[pd.to_numeric(df[PER_1000_COLUMN], errors="coerce").notna()]
        if not df.empty:
            df = df.assign(_item=df["category"].astype(str) + " (" + df["unit"].astype(str) + ")")
            values = _require_numeric(df, "per_1000_members", PER_1000_COLUMN, low=0)
            parts.append(_dimension(df, "per_1000_members", "_item", values, "metric_per_1000_members"))
    if keyness is not None:
        df = _require_columns(keyness, "keyness", _KEYNESS_COLUMNS)
        g2 = _require_numeric(df, "keyness", "g2")
        part = _dimension(df, "keyness", "term", g2, "keyness_g2")
        part = part[part["value"] > 0]
        part = part.sort_values(["place", "value", "item"], ascending=[True, False, True], kind="mergesort")
        parts.append(part.groupby("place", sort=False).head(top_terms))
    if not parts:
        raise ValueError(
            "place_profiles: no table given; pass at least one of topic_shares, metric_counts, formulaic_shares, keyness"
        )
    out = pd.concat(parts, ignore_index=True)
    out["value"] = out["value"].astype("float64")
    out = out.sort_values(
        ["place", "dimension", "value", "item"], ascending=[True, True, False, True], kind="mergesort"
    )
    out["rank"] = out.groupby(["place", "dimension"], sort=False).cumcount().astype("int64") + 1
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    out = out.assign(_d=out["dimension"].map(order)).sort_values(["place", "_d", "rank"], kind="mergesort")
    return out[_PROFILE_COLUMNS].reset_index(drop=True)


def place_summary(profiles: pd.DataFrame, *, n_terms: int = 5) -> pd.DataFrame:
    """One row per place summarising :func:`place_profiles` for a quick read.

    Returns
    -------
    DataFrame
        Columns ``place``, ``top_topic``, ``top_topic_share``,
        ``n_metric_mentions``, ``top_metric_category``, ``formulaic_share``
        (1 minus the ``local`` share), ``top_terms`` (``、``-joined), NaN or
        empty where the profile lacks the dimension. Sorted by place.
    """
    profiles = _require_columns(profiles, "profiles", _PROFILE_COLUMNS)
    rows = []
    for place, group in profiles.groupby("place", sort=True):

        def first(dimension: str, g: pd.DataFrame = group) -> pd.Series | None:
            sub = g[(g["dimension"] == dimension) & (g["rank"] == 1)]
            return None if sub.empty else sub.iloc[0]

        topic = first("topic_share")
        metric = first("metric_mentions")
        mentions = group.loc[group["dimension"] == "metric_mentions", "value"]
        local = group[(group["dimension"] == "formulaic_share") & (group["item"] == "local")]
        terms = group[group["dimension"] == "keyness_g2"].sort_values("rank")["item"].head(n_terms)
        rows.append(
            {
                "place": place,
                "top_topic": None if topic is None else topic["item"],
                "top_topic_share": np.nan if topic is None else float(topic["value"]),
                "n_metric_mentions": np.nan if mentions.empty else float(mentions.sum()),
                "top_metric_category": None if metric is None else metric["item"],
                "formulaic_share": np.nan if local.empty else float(1.0 - local["value"].iloc[0]),
                "top_terms": "、".join(terms),
            }
        )
    return pd.DataFrame(rows)


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def place_synthesis(summary: pd.DataFrame, *, n_documents: Mapping[str, int] | None = None) -> pd.DataFrame:
    """One computed paragraph of English prose per place, from :func:`place_summary`.

    Each sentence is built only from the row's values and from comparisons
    with the other places (rank of the formulaic share, whether the top topic
    or the top metric category is shared), so the text stays true when the
    data change. Fields that are missing are left out of the text.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`place_summary`.
    n_documents : Mapping of str to int or None, default=None
        Reports per place, mentioned in the text when given.

    Returns
    -------
    DataFrame
        Columns ``place`` and ``text``, sorted by place.

    Raises
    ------
    ValueError
        If ``summary`` lacks a column of :func:`place_summary` or has no rows.

    Examples
    --------
    >>> summary = pd.DataFrame({"place": ["甲区", "乙区"], "top_topic": ["宣讲", "宣讲"],
    ...     "top_topic_share": [0.5, 0.4], "n_metric_mentions": [3.0, 0.0],
    ...     "top_metric_category": ["outreach", None], "formulaic_share": [0.2, 0.1],
    ...     "top_terms": ["防汛、抗疫", ""]})
    >>> print(place_synthesis(summary).set_index("place").loc["甲区", "text"])
    甲区: its largest topic is 宣讲 (50% of its text; also the largest topic of 1 other place(s)). It states 3 metric mentions, most often outreach. 20% of its characters are slogans, numbered formulations or passages shared with other reports, the highest of the 2 places. Terms it uses more than the other places: 防汛、抗疫.
    """
    columns = (
        "place",
        "top_topic",
        "top_topic_share",
        "n_metric_mentions",
        "top_metric_category",
        "formulaic_share",
        "top_terms",
    )
    summary = _require_columns(summary, "summary", columns)
    _require_str(summary, "summary", "place")
    summary = summary.sort_values("place", kind="mergesort").reset_index(drop=True)
    n_places = len(summary)
    formulaic = pd.to_numeric(summary["formulaic_share"], errors="coerce")
    known_formulaic = formulaic.dropna()
    # Computed once, not per place against all the others (places x places with thousands of places).
    n_leading = summary["top_topic"].value_counts(dropna=True)
    ranked_formulaic = np.sort(known_formulaic.to_numpy())
    if len(ranked_formulaic):
        highest, lowest = known_formulaic.max(), known_formulaic.min()
    rows = []
    for i, row in summary.iterrows():
        place = row["place"]
        sentences = []
        if n_documents is not None and place in n_documents:
            sentences.append(f"{n_documents[place]} report(s)")
        if not _missing(row["top_topic"]):
            shared = int(n_leading[row["top_topic"]]) - 1  # the other places whose largest topic it is too
            share = row["top_topic_share"]
            text = f"its largest topic is {row['top_topic']}"
            if not _missing(share):
                text += f" ({_percent(float(share))} of its text"
                text += (
                    f"; also the largest topic of {shared} other place(s))"
                    if shared
                    else "; no other place's largest)"
                )
            sentences.append(text)
        head = f"{place}: " + ("; ".join(sentences) + "." if sentences else "")
        body = []
        n_mentions = row["n_metric_mentions"]
        if not _missing(n_mentions):
            text = f"It states {int(n_mentions)} metric mentions"
            if int(n_mentions) > 0 and not _missing(row["top_metric_category"]):
                text += f", most often {row['top_metric_category']}"
            body.append(text + ".")
        if not _missing(formulaic.iat[i]):
            value = float(formulaic.iat[i])
            text = (
                f"{_percent(value)} of its characters are slogans, numbered formulations or passages "
                "shared with other reports"
            )
            if len(known_formulaic) > 1:
                if value >= highest:
                    text += f", the highest of the {len(known_formulaic)} places"
                elif value <= lowest:
                    text += f", the lowest of the {len(known_formulaic)} places"
                else:
                    rank = len(ranked_formulaic) - int(np.searchsorted(ranked_formulaic, value, side="right")) + 1
                    text += f", rank {rank} of {len(known_formulaic)} places"
            body.append(text + ".")
        if isinstance(row["top_terms"], str) and row["top_terms"]:
            body.append(f"Terms it uses more than the other places: {row['top_terms']}.")
        rows.append({"place": place, "text": " ".join([head.strip(), *body]).strip()})
    if n_places == 0:  # pragma: no cover - _require_columns rejects empty tables
        raise ValueError("`summary` has no rows")
    return pd.DataFrame(rows, columns=["place", "text"])


# ---------------------------------------------------------------------------
# Prose labels


def document_labels(documents: pd.DataFrame, *, min_id_chars: int = MIN_DOC_ID_CHARS) -> dict[str, str]:
    """Short labels naming each report for prose: ``"place · doc_id prefix…"``.

    The doc_id is cut to the shortest prefix of at least ``min_id_chars``
    characters that no other report shares (whole when it is short), so two
    reports on the same place stay apart in a sentence.

    Parameters
    ----------
    documents : DataFrame
        With columns ``doc_id`` and ``place`` (a missing place reads
        "unknown place").
    min_id_chars : int, default=8

    Returns
    -------
    dict of str to str
        Label per ``doc_id``.

    Raises
    ------
    ValueError
        If ``documents`` lacks the columns, a ``doc_id`` repeats, or
        ``min_id_chars`` is below 1.

    Examples
    --------
    >>> docs = pd.DataFrame({"doc_id": ["017_a1b2c3d4e5f60718", "018_f0e1d2c3b4a59687", "x1"],
    ...                      "place": ["中原区", "中原区", None]})
    >>> document_labels(docs)
    {'017_a1b2c3d4e5f60718': '中原区 · 017_a1b2…', '018_f0e1d2c3b4a59687': '中原区 · 018_f0e1…', 'x1': 'unknown place · x1'}
    """
    if not isinstance(min_id_chars, int) or min_id_chars < 1:
        raise ValueError(f"`min_id_chars` must be an integer of at least 1, got {min_id_chars!r}")
    documents = _require_columns(documents, "documents", ("doc_id", "place"))
    ids = documents["doc_id"].astype(str).tolist()
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"`documents`: doc_id {dup} appears more than once")
    # The longest prefix a doc_id shares with any other is the one it shares with a neighbour in sorted order.
    ordered = sorted(ids)
    shared = dict.fromkeys(ordered, 0)
    for left, right in itertools.pairwise(ordered):
        common = len(os.path.commonprefix([left, right]))
        shared[left] = max(shared[left], common)
        shared[right] = max(shared[right], common)
    labels = {}
    for doc_id, place in zip(ids, documents["place"], strict=True):
        n = max(min_id_chars, shared[doc_id] + 1)
        short = doc_id if n >= len(doc_id) else doc_id[:n] + "…"
        labels[doc_id] = f"{'unknown place' if _missing(place) else place} · {short}"
    return labels


def pair_text(pair: Mapping[str, Any] | pd.Series, labels: Mapping[str, str], *, value: str = "similarity") -> str:
    """One pair of reports in prose: ``"0.19 (中原区 · 017_a1b2… / 中原区 · 018_f0e1…)"``.

    Parameters
    ----------
    pair : mapping or Series
        A row with ``doc_a``, ``doc_b`` and ``value``.
    labels : mapping of str to str
        From :func:`document_labels`; a doc_id without a label is written as is.
    value : str, default="similarity"
        The number shown, to two decimals.

    Examples
    --------
    >>> pair_text({"doc_a": "a", "doc_b": "b", "similarity": 0.1875}, {"a": "中原区 · a", "b": "金水区 · b"})
    '0.19 (中原区 · a / 金水区 · b)'
    """
    for key in ("doc_a", "doc_b", value):
        if key not in pair:
            raise KeyError(f"`pair` has no {key!r}; it needs doc_a, doc_b and {value!r}")
    a, b = str(pair["doc_a"]), str(pair["doc_b"])
    return f"{float(pair[value]):.2f} ({labels.get(a, a)} / {labels.get(b, b)})"
