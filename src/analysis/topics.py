"""Turn paragraph tokens into a TF-IDF matrix, topic clusters, topic terms and shares, keyness and similarity.

Data flow: paragraphs table (``doc_id, para_id, place, text``) ->
:func:`build_tfidf` -> :func:`cluster_paragraphs` (one topic per paragraph) ->
:func:`topic_terms`, :func:`representative_paragraphs`, :func:`topic_table`,
:func:`topic_shares`; independently :func:`keyness` (terms over-used by one
place against the rest) and :func:`similarity_matrix` (report likeness, RQ4).
:func:`cluster_texts` is the same clustering path for any list of texts (used
to score the method on labelled data).

Examples
--------
>>> from analysis import topics
>>> texts = ["防汛救灾,抢险救援,转移群众", "疫情防控,核酸检测,疫苗接种",
...          "防汛抢险,救灾物资,转移安置", "核酸检测,疫情防控,排查人员"]
>>> topics.cluster_texts(texts, k=2, min_df=1, max_df=1.0)
[0, 1, 0, 1]
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
import sklearn
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import NMF, TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from . import parallel, paths, storage
from . import tokens as tokens_mod
from .errors import check_texts, value_invalid_msg

__all__ = [
    "TfidfResult",
    "build_tfidf",
    "embed_tfidf",
    "cluster_tfidf",
    "clustering_settings",
    "cluster_texts",
    "k_scores",
    "choose_k",
    "seed_agreement",
    "cluster_paragraphs",
    "topic_terms",
    "representative_paragraphs",
    "topic_table",
    "topic_shares",
    "topic_emphasis",
    "topic_shares_top",
    "keyness",
    "similarity_matrix",
    "write_topic_tables",
    "DEFAULT_K",
    "DEFAULT_PARAGRAPH_K",
    "DEFAULT_MIN_DF",
    "DEFAULT_MAX_DF",
    "DEFAULT_LSA_COMPONENTS",
    "TEXTS_PER_LSA_COMPONENT",
    "DEFAULT_N_INIT",
    "DEFAULT_MIN_STABILITY_ARI",
    "DEFAULT_MIN_KEYNESS_COUNT",
    "MINIBATCH_MIN_TEXTS",
    "MINIBATCH_BATCH_SIZE",
    "MINIBATCH_N_INIT",
    "SILHOUETTE_SAMPLE_SIZE",
]

logger = logging.getLogger(__name__)

Model = Literal["kmeans", "nmf"]
_MODELS = ("kmeans", "nmf")
Method = Literal["auto", "kmeans", "minibatch"]
_METHODS = ("auto", "kmeans", "minibatch")

#: k of :func:`cluster_texts` (the interface used on labelled data).
DEFAULT_K = 10
#: k for the report paragraphs, chosen with :func:`k_scores` / :func:`choose_k`
#: on the bundled corpus (see benchmarks/topics.md and tests/test_topics.py).
DEFAULT_PARAGRAPH_K = 8
#: A term must occur in at least this many texts (int) to enter the vocabulary.
DEFAULT_MIN_DF = 2
#: A term in more than this fraction of texts is dropped (too common to separate topics).
DEFAULT_MAX_DF = 0.5
#: Largest number of LSA (truncated SVD) dimensions kept before k-means (``n_components="auto"``).
DEFAULT_LSA_COMPONENTS = 50
#: With ``n_components="auto"``, one LSA dimension per this many texts (small corpora get few).
TEXTS_PER_LSA_COMPONENT = 10
#: k-means restarts; the run with the lowest inertia is kept.
DEFAULT_N_INIT = 50
#: With ``method="auto"``, k-means on more texts (paragraphs) than this runs as scikit-learn's
#: :class:`~sklearn.cluster.MiniBatchKMeans`; up to it, as :class:`~sklearn.cluster.KMeans` with
#: ``DEFAULT_N_INIT`` restarts. KMeans with 50 restarts costs about 5 s per run on 22,000 paragraphs
#: and 175 s on 400,000, and 02's k scan makes some 50 runs (benchmarks/topics.md).
MINIBATCH_MIN_TEXTS = 10_000
#: Paragraphs per mini-batch of MiniBatchKMeans (scikit-learn's default is 1,024; larger
#: batches give steadier centres across seeds at the same cost per epoch).
MINIBATCH_BATCH_SIZE = 4096
#: Initialisations MiniBatchKMeans tries (each on a sample of ``3 * batch_size`` texts); the best is run.
MINIBATCH_N_INIT = 3
#: Silhouette is computed on all texts up to this many, above it on a fixed-seed random sample
#: of this size (the same sample for every k and seed): exact silhouette costs O(n²).
SILHOUETTE_SAMPLE_SIZE = 5_000
#: ``k_scores`` and ``seed_agreement`` run their clusterings in ``jobs`` processes from this many texts
#: (paragraphs) on; below it, in this process. 02's k scan (9 k x 5 seeds) on 2 cores took 2.2 s in one
#: process and 2.6 s in two on 300 paragraphs, 5.5 s and 3.2 s on 1,000 (benchmarks/scale.md).
PROCESSES_MIN_TEXTS = 1_000
#: Seed of the silhouette sample (fixed, so every k and seed is scored on the same texts).
SILHOUETTE_SAMPLE_SEED = 0
#: Rows of the document x document product computed at a time by ``similarity_matrix(form="pairs")``.
SIMILARITY_BLOCK_ROWS = 1000
#: Minimum mean pairwise ARI across seeds for a k to count as stable in :func:`choose_k`.
DEFAULT_MIN_STABILITY_ARI = 0.8
#: Minimum total count of a term (target + reference) for :func:`keyness`.
DEFAULT_MIN_KEYNESS_COUNT = 5
#: Number of top terms joined into a topic label.
N_LABEL_TERMS = 3
#: Top terms (by mean TF-IDF weight) compared, in rank order, to order topics of equal size.
N_ORDER_TERMS = 10
#: Decimals kept of a TF-IDF weight when ranking terms (so float noise never reorders equal weights).
WEIGHT_DECIMALS = 12
_PARAGRAPH_COLUMNS = ("doc_id", "para_id", "text")


@dataclass(frozen=True, slots=True)
class TfidfResult:
    """A TF-IDF matrix with its labels.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        texts x terms, rows L2-normalised.
    feature_names : numpy.ndarray of str
        Column labels, sorted.
    row_ids : tuple of str
        Row labels (paragraph ids, doc ids or ``"0"``, ``"1"``, ... for plain texts).
    vectorizer : TfidfVectorizer
        The fitted vectorizer (its ``tokenizer`` is the project's tokenizer).
    params : dict
        Parameters and lexicon hash, for provenance.
    """

    matrix: sp.csr_matrix
    feature_names: np.ndarray
    row_ids: tuple[str, ...]
    vectorizer: TfidfVectorizer
    params: dict[str, Any] = field(default_factory=dict)


def _tokenizer(segmenter: tokens_mod.Segmenter | None, drop_generic: bool):
    seg = segmenter or tokens_mod.get_segmenter()
    return seg, functools.partial(tokens_mod.tokenize, segmenter=seg, drop_generic=drop_generic)


def build_tfidf(
    texts: Iterable[str],
    *,
    row_ids: Sequence[str] | None = None,
    min_df: int | float = DEFAULT_MIN_DF,
    max_df: int | float = DEFAULT_MAX_DF,
    sublinear_tf: bool = True,
    drop_generic: bool = True,
    segmenter: tokens_mod.Segmenter | None = None,
    jobs: int | None = 1,
) -> TfidfResult:
    """TF-IDF matrix of ``texts`` with the project's tokenizer.

    Parameters
    ----------
    texts : iterable of str
    row_ids : sequence of str or None, default=None
        One label per text; ``None`` numbers the texts from ``"0"``.
    min_df : int or float, default=DEFAULT_MIN_DF
        Minimum document frequency (count, or fraction of texts).
    max_df : int or float, default=DEFAULT_MAX_DF
        Maximum document frequency (count, or fraction of texts).
    sublinear_tf : bool, default=True
        Use ``1 + log(tf)``: a word repeated in one paragraph counts less than
        linearly (reports repeat slogans).
    drop_generic : bool, default=True
        Drop the campaign-generic words (see :mod:`analysis.tokens`).
    segmenter : Segmenter or None, default=None
    jobs : int or None, default=1
        Processes that segment the texts first (``Segmenter.cut_many``;
        ``None`` or 0: every core). The matrix is the same whatever it is.

    Returns
    -------
    TfidfResult

    Raises
    ------
    TypeError
        If ``texts`` is a single string.
    ValueError
        If ``texts`` is empty, ``row_ids`` has the wrong length or is not
        unique, or no term is left (e.g. texts of stop words or numbers only).

    Notes
    -----
    scikit-learn's smoothed idf, ``idf(t) = ln((1 + n) / (1 + df(t))) + 1``,
    times (sublinear) term frequency; each row is then L2-normalised.
    """
    texts = check_texts(texts)
    if not texts:
        raise ValueError("`texts` is empty; give at least one text.")
    if row_ids is None:
        row_ids = [str(i) for i in range(len(texts))]
    row_ids = [str(r) for r in row_ids]
    if len(row_ids) != len(texts):
        raise ValueError(f"`row_ids` has {len(row_ids)} items but `texts` has {len(texts)}.")
    if len(set(row_ids)) != len(row_ids):
        dup = sorted({r for r in row_ids if row_ids.count(r) > 1})[:5]
        raise ValueError(f"`row_ids` must be unique; repeated: {dup}.")
    seg, tokenizer = _tokenizer(segmenter, drop_generic)
    if parallel.resolve_jobs(jobs) > 1:
        seg.cut_many(texts, jobs=jobs)
    vectorizer = TfidfVectorizer(
        tokenizer=tokenizer,
        token_pattern=None,
        lowercase=False,
        min_df=min_df,
        max_df=max_df,
        sublinear_tf=sublinear_tf,
        dtype=np.float64,
    )
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError as exc:
        raise ValueError(
            f"no terms left for TF-IDF over {len(texts)} texts with min_df={min_df!r}, max_df={max_df!r} "
            f"({exc}). The texts may hold only stop words, generic terms or numbers; "
            "try min_df=1, max_df=1.0 or drop_generic=False."
        ) from None
    empty = np.flatnonzero(matrix.getnnz(axis=1) == 0)
    if len(empty):
        logger.warning(
            "%d of %d texts have no term left after tokenizing and min_df/max_df (rows %s%s); "
            "they are kept as zero vectors.",
            len(empty), len(texts), ", ".join(row_ids[i] for i in empty[:5]), " ..." if len(empty) > 5 else "",
        )
    params = {
        "min_df": min_df,
        "max_df": max_df,
        "sublinear_tf": sublinear_tf,
        "drop_generic": drop_generic,
        "lexicon_hash": seg.lexicon_hash,
        "jieba": tokens_mod.jieba.__version__,
        "scikit-learn": sklearn.__version__,
    }
    return TfidfResult(
        matrix=matrix.tocsr(),
        feature_names=vectorizer.get_feature_names_out(),
        row_ids=tuple(row_ids),
        vectorizer=vectorizer,
        params=params,
    )


def embed_tfidf(
    tfidf: TfidfResult,
    *,
    n_components: int | Literal["auto"] | None = "auto",
    random_state: int = 0,
) -> np.ndarray:
    """LSA embedding: truncated SVD of the TF-IDF matrix, rows L2-normalised.

    Parameters
    ----------
    tfidf : TfidfResult
    n_components : int, "auto" or None, default="auto"
        Latent dimensions. ``"auto"``: ``min(DEFAULT_LSA_COMPONENTS,
        n_texts // TEXTS_PER_LSA_COMPONENT)``. Always capped at
        ``min(n_texts, n_terms) - 1``; ``None`` (or a cap below 2) returns the
        L2-normalised TF-IDF rows as a dense array.
    random_state : int, default=0
        Start vector of ARPACK (the result is exact up to sign).

    Notes
    -----
    Reducing to a few dozen latent dimensions merges near-synonyms and removes
    the noise of rare terms; on the cnews benchmark it raises NMI of k-means
    from 0.84 to 0.91 (documents) and from 0.63 to 0.76 (200-character chunks).
    On a few dozen paragraphs, many dimensions leave k-means with many
    near-equal optima (unstable across seeds); about one dimension per ten
    texts keeps the partition stable (benchmarks/topics.md).
    """
    n_texts, n_terms = tfidf.matrix.shape
    if n_components == "auto":
        n_components = min(DEFAULT_LSA_COMPONENTS, n_texts // TEXTS_PER_LSA_COMPONENT)
    elif n_components is not None and (isinstance(n_components, bool) or not isinstance(n_components, int)):
        raise ValueError(f"`n_components` must be an int, 'auto' or None, got {n_components!r}.")
    n = None if n_components is None else min(int(n_components), n_texts - 1, n_terms - 1)
    if n is None or n < 2:
        return normalize(tfidf.matrix).toarray()
    svd = TruncatedSVD(n_components=n, algorithm="arpack", random_state=random_state)
    return normalize(svd.fit_transform(tfidf.matrix))


def _check_k(k: Any, n_texts: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"`k` must be an int, got {type(k).__name__} {k!r}.")
    if not 1 <= k <= n_texts:
        raise ValueError(f"`k` is {k}; it must be between 1 and the number of texts ({n_texts}).")
    return int(k)


def _centroid_terms(tfidf: TfidfResult, rows: np.ndarray) -> tuple[str, ...]:
    """The ``N_ORDER_TERMS`` terms of highest mean TF-IDF weight over ``rows``, best first, ties by term."""
    weights = np.round(np.asarray(tfidf.matrix[rows].mean(axis=0)).ravel(), WEIGHT_DECIMALS)
    # feature_names are sorted, so column order is term order: lexsort breaks weight ties by term.
    order = np.lexsort((np.arange(len(weights)), -weights))[:N_ORDER_TERMS]
    return tuple(str(tfidf.feature_names[i]) for i in order if weights[i] > 0)


def _renumber(labels: np.ndarray, tfidf: TfidfResult) -> np.ndarray:
    """Relabel clusters 0..k-1 by size (largest first), ties by top terms, then by smallest row id.

    >>> tfidf = build_tfidf(["防汛 救灾", "疫情 防控", "防汛 抢险", "疫情 核酸"], min_df=1, max_df=1.0)
    >>> _renumber(np.array([5, 2, 5, 2]), tfidf).tolist()  # equal sizes: 疫情 sorts before 防汛
    [1, 0, 1, 0]
    """
    labels = np.asarray(labels)
    keys = {}
    for cluster in np.unique(labels):
        rows = np.flatnonzero(labels == cluster)
        keys[cluster] = (-len(rows), _centroid_terms(tfidf, rows), min(tfidf.row_ids[i] for i in rows))
    mapping = {cluster: new for new, cluster in enumerate(sorted(keys, key=keys.__getitem__))}
    return np.array([mapping[x] for x in labels], dtype=np.int64)


def clustering_settings(
    n_texts: int,
    *,
    model: Model = "kmeans",
    method: Method = "auto",
    n_init: int | None = None,
    minibatch_min_texts: int = MINIBATCH_MIN_TEXTS,
) -> dict[str, Any]:
    """The clustering algorithm and settings used for ``n_texts`` texts (recorded with every result).

    Parameters
    ----------
    n_texts : int
        Number of texts (paragraphs) clustered.
    model : {"kmeans", "nmf"}, default="kmeans"
    method : {"auto", "kmeans", "minibatch"}, default="auto"
        k-means implementation. ``"auto"``: :class:`~sklearn.cluster.KMeans`
        up to ``minibatch_min_texts`` texts, :class:`~sklearn.cluster.MiniBatchKMeans`
        above. Ignored (and recorded as such) with ``model="nmf"``.
    n_init : int or None, default=None
        Restarts (KMeans) or initialisations (MiniBatchKMeans); ``None``:
        ``DEFAULT_N_INIT`` or ``MINIBATCH_N_INIT``.
    minibatch_min_texts : int, default=MINIBATCH_MIN_TEXTS

    Returns
    -------
    dict
        ``clustering_method`` ("KMeans", "MiniBatchKMeans" or "NMF"),
        ``method`` (as asked), ``n_texts``, ``n_init``, ``batch_size``
        (``None`` unless mini-batch), ``minibatch_min_texts``.

    Raises
    ------
    ValueError
        If ``model`` or ``method`` is unknown, or ``n_init`` / ``minibatch_min_texts`` is not a positive int.

    Examples
    --------
    >>> clustering_settings(120)["clustering_method"]
    'KMeans'
    >>> clustering_settings(120_000)["clustering_method"]
    'MiniBatchKMeans'
    """
    if model not in _MODELS:
        raise ValueError(value_invalid_msg("model", model, _MODELS))
    if method not in _METHODS:
        raise ValueError(value_invalid_msg("method", method, _METHODS))
    for name, value in (("n_init", n_init), ("minibatch_min_texts", minibatch_min_texts)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"`{name}` must be a positive int, got {value!r}.")
    if model == "nmf":
        name = "NMF"
    elif method == "minibatch" or (method == "auto" and n_texts > minibatch_min_texts):
        name = "MiniBatchKMeans"
    else:
        name = "KMeans"
    if n_init is None:
        n_init = MINIBATCH_N_INIT if name == "MiniBatchKMeans" else DEFAULT_N_INIT
    return {
        "clustering_method": name,
        "method": method,
        "n_texts": int(n_texts),
        "n_init": int(n_init) if name != "NMF" else None,
        "batch_size": MINIBATCH_BATCH_SIZE if name == "MiniBatchKMeans" else None,
        "minibatch_min_texts": int(minibatch_min_texts),
    }


def cluster_tfidf(
    tfidf: TfidfResult,
    *,
    k: int,
    random_state: int = 0,
    model: Model = "kmeans",
    n_components: int | Literal["auto"] | None = "auto",
    n_init: int | None = None,
    embedding: np.ndarray | None = None,
    method: Method = "auto",
    minibatch_min_texts: int = MINIBATCH_MIN_TEXTS,
) -> np.ndarray:
    """Cluster the rows of a TF-IDF matrix into topics numbered by size, then by top term.

    ``model="kmeans"``: scikit-learn's :class:`~sklearn.cluster.KMeans`
    (k-means++, ``n_init`` restarts, the one of lowest inertia kept, seeded
    with ``random_state``) on the LSA embedding (:func:`embed_tfidf`); above
    ``minibatch_min_texts`` rows (``method="auto"``) or with
    ``method="minibatch"``, :class:`~sklearn.cluster.MiniBatchKMeans`
    (k-means++ on ``n_init`` samples, batches of ``MINIBATCH_BATCH_SIZE``,
    seeded the same way; see :func:`clustering_settings`).
    ``model="nmf"``: NMF with ``k`` components on the TF-IDF matrix, each
    text assigned to its heaviest component (texts with no term go to the
    first). ``embedding`` reuses a precomputed :func:`embed_tfidf` result
    (k-means only).

    Returns
    -------
    numpy.ndarray of int64
        One topic per row, ``0 .. k-1`` (see Notes for the numbering).

    Notes
    -----
    Topics are numbered so that a paper can cite "topic 3" and keep citing
    it when a report is added, as long as the clusters themselves do not
    change:

    1. by number of texts (paragraphs), largest first;
    2. ties by the topic's top term, in string order: the term with the
       highest mean TF-IDF weight over the topic's texts (the centroid's top
       feature; weight ties by term); if that is shared too, by the next
       terms, up to ``N_ORDER_TERMS``;
    3. last resort, by the smallest row id of the topic (``para_id``).

    The position of a topic's first text is not used: it changes whenever a
    report is inserted before the others. A new report changes the TF-IDF
    weights too, so two topics of equal size can still swap if it changes
    which term is a topic's top term. The top term here is computed on the
    TF-IDF rows; the labels of :func:`topic_table` use c-TF-IDF, so the two
    usually, but not always, start with the same term.

    Same inputs and seed give the same labels. scikit-learn's k-means adds
    up per-thread partial sums in the order the threads finish, so it runs
    here with one OpenMP thread: with several, a near-tie could, rarely, end
    differently between runs.

    Why mini-batch above a threshold: full k-means with 50 restarts is
    linear in n but its constant (restarts x iterations) makes 02's k scan
    take hours at 10^5-10^6 paragraphs; MiniBatchKMeans updates the centres
    from batches and stops when the batch inertia stops improving, at a
    small loss of inertia (measured in benchmarks/topics.md).
    """
    n_texts = tfidf.matrix.shape[0]
    k = _check_k(k, n_texts)
    settings = clustering_settings(n_texts, model=model, method=method, n_init=n_init,
                                   minibatch_min_texts=minibatch_min_texts)
    if model == "kmeans":
        X = embedding if embedding is not None else embed_tfidf(
            tfidf, n_components=n_components, random_state=random_state
        )
        if X.shape[0] != n_texts:
            raise ValueError(f"`embedding` has {X.shape[0]} rows but the TF-IDF matrix has {n_texts}.")
        if settings["clustering_method"] == "MiniBatchKMeans":
            estimator = MiniBatchKMeans(n_clusters=k, init="k-means++", n_init=settings["n_init"],
                                        batch_size=settings["batch_size"], random_state=random_state)
        else:
            estimator = KMeans(n_clusters=k, init="k-means++", n_init=settings["n_init"],
                               random_state=random_state)
        # One OpenMP thread: the labels then never depend on the order in which threads finish
        # (see Notes), and on a loaded 2-core machine 02's k scan took 16.9 s with the default
        # threads against 2.4 s with one (benchmarks/pipeline.md).
        with threadpool_limits(limits=1, user_api="openmp"):
            labels = estimator.fit_predict(X)
    else:
        if embedding is not None:
            logger.warning("`embedding` has no effect with model='nmf'; NMF runs on the TF-IDF matrix.")
        nmf = NMF(n_components=k, init="nndsvda", max_iter=500, random_state=random_state)
        labels = nmf.fit_transform(tfidf.matrix).argmax(axis=1)
    return _renumber(labels, tfidf)


def cluster_texts(
    texts: Iterable[str],
    k: int = DEFAULT_K,
    random_state: int = 0,
    *,
    model: Model = "kmeans",
    min_df: int | float = DEFAULT_MIN_DF,
    max_df: int | float = DEFAULT_MAX_DF,
    n_components: int | Literal["auto"] | None = "auto",
    n_init: int | None = None,
    segmenter: tokens_mod.Segmenter | None = None,
    method: Method = "auto",
) -> list[int]:
    """Cluster any list of Chinese texts with the project's segmentation, TF-IDF and clustering.

    Parameters
    ----------
    texts : iterable of str
    k : int, default=10
        Number of clusters, between 1 and ``len(texts)``.
    random_state : int, default=0
    model : {"kmeans", "nmf"}, default="kmeans"
    min_df, max_df : int or float
        Vocabulary limits of :func:`build_tfidf`.
    n_components : int, "auto" or None, default="auto"
        LSA dimensions before k-means (``None``: k-means on TF-IDF rows).
    n_init : int or None, default=None
        ``None``: ``DEFAULT_N_INIT`` (KMeans) or ``MINIBATCH_N_INIT`` (MiniBatchKMeans).
    segmenter : Segmenter or None, default=None
    method : {"auto", "kmeans", "minibatch"}, default="auto"
        k-means implementation (:func:`clustering_settings`): mini-batch above
        ``MINIBATCH_MIN_TEXTS`` texts.

    Returns
    -------
    list of int
        One label per text, ``0 .. k-1``: 0 is the largest cluster; clusters
        of equal size are ordered by their top TF-IDF term (string order),
        not by where their first text stands, so adding texts that leave the
        clusters unchanged does not renumber them (Notes of :func:`cluster_tfidf`).

    Raises
    ------
    TypeError
        If ``texts`` is one string or ``k`` is not an int.
    ValueError
        If ``k`` is out of range, ``model`` unknown, or no term is left.
    """
    texts = check_texts(texts)
    if not texts:
        raise ValueError("`texts` is empty; give at least one text.")
    _check_k(k, len(texts))
    if model not in _MODELS:
        raise ValueError(value_invalid_msg("model", model, _MODELS))
    tfidf = build_tfidf(texts, min_df=min_df, max_df=max_df, segmenter=segmenter)
    labels = cluster_tfidf(
        tfidf, k=k, random_state=random_state, model=model, n_components=n_components, n_init=n_init,
        method=method,
    )
    return [int(x) for x in labels]


def _silhouette(embedding: np.ndarray, labels: np.ndarray, sample_size: int | None) -> float:
    """Cosine silhouette of ``labels``; on a fixed-seed sample when there are more than ``sample_size`` texts."""
    n_texts = len(labels)
    if not 1 < len(set(labels.tolist())) < n_texts:
        return np.nan
    if sample_size is None or n_texts <= sample_size:
        return float(silhouette_score(embedding, labels, metric="cosine"))
    return float(silhouette_score(embedding, labels, metric="cosine", sample_size=sample_size,
                                  random_state=SILHOUETTE_SAMPLE_SEED))


def _in_processes(jobs: int | None, n_texts: int) -> joblib.Parallel:
    """joblib's runner over ``jobs`` processes (``None`` or 0: every core), or this process for few texts.

    Below :data:`PROCESSES_MIN_TEXTS` texts one process was as fast or faster (measured there).
    """
    n_jobs = parallel.resolve_jobs(jobs)
    return joblib.Parallel(n_jobs=n_jobs if n_texts >= PROCESSES_MIN_TEXTS else 1)


def _scored_run(tfidf: TfidfResult, embedding: np.ndarray, *, k: int, seed: int, model: Model, n_init: int | None,
                method: Method, minibatch_min_texts: int, silhouette_sample_size: int | None) -> tuple[np.ndarray, float]:
    """One clustering of :func:`k_scores` and its silhouette (module level, so that workers can run it)."""
    labels = cluster_tfidf(tfidf, k=k, random_state=seed, model=model, n_init=n_init, method=method,
                           minibatch_min_texts=minibatch_min_texts, embedding=embedding if model == "kmeans" else None)
    return labels, _silhouette(embedding, labels, silhouette_sample_size)


def k_scores(
    texts_or_tfidf: Iterable[str] | TfidfResult,
    ks: Iterable[int],
    seeds: Iterable[int] = range(5),
    *,
    model: Model = "kmeans",
    n_components: int | Literal["auto"] | None = "auto",
    n_init: int | None = None,
    method: Method = "auto",
    minibatch_min_texts: int = MINIBATCH_MIN_TEXTS,
    silhouette_sample_size: int | None = SILHOUETTE_SAMPLE_SIZE,
    jobs: int | None = 1,
    **tfidf_options: Any,
) -> pd.DataFrame:
    """Scores for choosing k: silhouette and stability across seeds.

    Parameters
    ----------
    texts_or_tfidf : iterable of str or TfidfResult
    ks : iterable of int
    seeds : iterable of int, default=range(5)
    model, n_components, n_init, method, minibatch_min_texts
        As in :func:`cluster_tfidf`.
    silhouette_sample_size : int or None, default=SILHOUETTE_SAMPLE_SIZE
        Above this many texts, silhouette is computed on a fixed-seed sample of
        this size (the same texts for every k and seed); ``None``: always on all.
    jobs : int or None, default=1
        Processes that run the clusterings (one per k and seed, each on one
        thread; ``None`` or 0: every core), through joblib, which shares the
        embedding with them as a memory map. The scores are the same whatever
        it is.
    **tfidf_options
        Passed to :func:`build_tfidf` when texts are given.

    Returns
    -------
    pandas.DataFrame
        One row per k, sorted by k. Columns: ``k``; ``silhouette`` and
        ``silhouette_std`` (mean and std over seeds of the cosine silhouette
        of the labels on the LSA embedding); ``stability_ari`` and
        ``stability_ari_std`` (mean and std of the adjusted Rand index over all
        pairs of seeds); ``min_cluster_size`` (smallest cluster, mean over
        seeds); ``n_seeds``. ``attrs["provenance"]`` records the clustering
        settings (:func:`clustering_settings`), the silhouette sample and
        whether the LSA embedding was computed per seed.

    Raises
    ------
    ValueError
        If fewer than 2 seeds or no k are given, or a k is out of range.

    Notes
    -----
    Stability follows the usual resampling-free check: the same data clustered
    with different seeds (SVD and k-means initialisation) should give the same
    partition; ARI 1 means identical partitions, 0 chance agreement. With
    MiniBatchKMeans (many texts) one LSA embedding serves every seed: ARPACK's
    truncated SVD is exact up to the sign of each dimension, which the cosine
    geometry does not see, so the seed changes only the initialisation and
    the batches (five SVDs of 400,000 paragraphs would cost a minute).
    """
    if isinstance(texts_or_tfidf, TfidfResult):
        tfidf = texts_or_tfidf
        if tfidf_options:
            logger.warning("tfidf options %s have no effect when a TfidfResult is given.", sorted(tfidf_options))
    else:
        tfidf = build_tfidf(texts_or_tfidf, **tfidf_options)
    ks = sorted({int(k) for k in ks})
    seeds = [int(s) for s in seeds]
    if not ks:
        raise ValueError("`ks` is empty; give the numbers of clusters to score.")
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"`seeds` must hold at least 2 distinct seeds (5 or more advised), got {seeds}.")
    if silhouette_sample_size is not None and (
        isinstance(silhouette_sample_size, bool) or not isinstance(silhouette_sample_size, int)
        or silhouette_sample_size < 2
    ):
        raise ValueError(f"`silhouette_sample_size` must be an int >= 2 or None, got {silhouette_sample_size!r}.")
    n_texts = tfidf.matrix.shape[0]
    for k in ks:
        _check_k(k, n_texts)
    settings = clustering_settings(n_texts, model=model, method=method, n_init=n_init,
                                   minibatch_min_texts=minibatch_min_texts)
    one_embedding = settings["clustering_method"] == "MiniBatchKMeans"
    if one_embedding:
        shared = embed_tfidf(tfidf, n_components=n_components, random_state=seeds[0])
        embeddings = dict.fromkeys(seeds, shared)
    else:
        embeddings = {s: embed_tfidf(tfidf, n_components=n_components, random_state=s) for s in seeds}
    scored = _in_processes(jobs, n_texts)(
        joblib.delayed(_scored_run)(tfidf, embeddings[s], k=k, seed=s, model=model, n_init=n_init, method=method,
                                    minibatch_min_texts=minibatch_min_texts,
                                    silhouette_sample_size=silhouette_sample_size)
        for k in ks for s in seeds
    )
    rows = []
    for i, k in enumerate(ks):
        runs = [labels for labels, _ in scored[i * len(seeds) : (i + 1) * len(seeds)]]
        sil = [silhouette for _, silhouette in scored[i * len(seeds) : (i + 1) * len(seeds)]]
        aris = [adjusted_rand_score(a, b) for a, b in itertools.combinations(runs, 2)]
        rows.append({
            "k": k,
            "silhouette": float(np.nanmean(sil)) if not np.all(np.isnan(sil)) else np.nan,
            "silhouette_std": float(np.nanstd(sil)) if not np.all(np.isnan(sil)) else np.nan,
            "stability_ari": float(np.mean(aris)),
            "stability_ari_std": float(np.std(aris)),
            "min_cluster_size": float(np.mean([np.bincount(lab).min() for lab in runs])),
            "n_seeds": len(seeds),
        })
    out = pd.DataFrame(rows)
    n_silhouette = n_texts if silhouette_sample_size is None else min(n_texts, silhouette_sample_size)
    out.attrs["provenance"] = {**tfidf.params, "model": model, "n_components": n_components,
                               **settings, "seeds": seeds,
                               "silhouette_n_texts": n_silhouette,
                               "silhouette_sample_seed": SILHOUETTE_SAMPLE_SEED if n_silhouette < n_texts else None,
                               "embedding_per_seed": not one_embedding}
    return out


def choose_k(scores: pd.DataFrame, *, min_stability: float = DEFAULT_MIN_STABILITY_ARI) -> int:
    """The k with the highest silhouette among those with mean stability ARI >= ``min_stability``.

    Raises
    ------
    ValueError
        If no k in ``scores`` is stable enough (lower ``min_stability`` or score more k).
    """
    stable = scores[scores["stability_ari"] >= min_stability]
    if stable.empty:
        raise ValueError(
            f"no k has mean stability ARI >= {min_stability} (best: "
            f"{scores['stability_ari'].max():.3f}); score other k or lower `min_stability`."
        )
    best = stable.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]
    return int(best["k"])


def seed_agreement(
    tfidf: TfidfResult,
    *,
    k: int,
    seeds: Iterable[int],
    reference_seed: int = 0,
    model: Model = "kmeans",
    n_components: int | Literal["auto"] | None = "auto",
    n_init: int | None = None,
    method: Method = "auto",
    minibatch_min_texts: int = MINIBATCH_MIN_TEXTS,
    jobs: int | None = 1,
) -> pd.DataFrame:
    """How much the clustering at one ``k`` changes with the seed: each seed against a reference run.

    Parameters
    ----------
    tfidf : TfidfResult
        The matrix clustered (as by :func:`cluster_tfidf`).
    k : int
        Number of clusters.
    seeds : iterable of int
        Seeds to compare with the reference; ``reference_seed`` itself is skipped.
    reference_seed : int, default=0
        Seed of the reported solution (the notebook's ``random_state``).
    model, n_components, n_init, method, minibatch_min_texts
        As in :func:`cluster_tfidf` (with MiniBatchKMeans, one LSA embedding
        serves every seed, as in :func:`k_scores`).
    jobs : int or None, default=1
        Processes that run the clusterings, as in :func:`k_scores`.

    Returns
    -------
    pandas.DataFrame
        One row per seed other than the reference, sorted by seed. Columns:
        ``seed``; ``ari`` (adjusted Rand index against the reference labels);
        ``n_moved`` (texts whose cluster differs from the reference after the
        clusters of the two runs are matched one-to-one for the largest
        overlap); ``share_same`` (``1 - n_moved / n_texts``);
        ``min_cluster_size`` and ``max_cluster_size`` of the run.

    Raises
    ------
    ValueError
        If no seed other than ``reference_seed`` is given, or ``k`` is out of range.

    Notes
    -----
    Cluster numbers are arbitrary between runs, so clusters are matched by
    the Hungarian algorithm on the contingency table (maximum total overlap)
    before counting moved texts; ARI needs no matching.
    """
    n_texts = tfidf.matrix.shape[0]
    k = _check_k(k, n_texts)
    seeds = sorted({int(s) for s in seeds} - {int(reference_seed)})
    if not seeds:
        raise ValueError(
            f"`seeds` must hold at least one seed other than reference_seed={reference_seed}; got none."
        )

    settings = clustering_settings(n_texts, model=model, method=method, n_init=n_init,
                                   minibatch_min_texts=minibatch_min_texts)
    shared = None
    if settings["clustering_method"] == "MiniBatchKMeans":
        shared = embed_tfidf(tfidf, n_components=n_components, random_state=int(reference_seed))

    reference, *runs = _in_processes(jobs, n_texts)(
        joblib.delayed(cluster_tfidf)(tfidf, k=k, random_state=seed, model=model, n_components=n_components,
                                      n_init=n_init, method=method, minibatch_min_texts=minibatch_min_texts,
                                      embedding=shared)
        for seed in [int(reference_seed), *seeds]
    )
    rows = []
    for seed, labels in zip(seeds, runs, strict=True):
        table = np.zeros((k, k), dtype=np.int64)
        np.add.at(table, (reference, labels), 1)
        matched_rows, matched_cols = linear_sum_assignment(table, maximize=True)
        n_same = int(table[matched_rows, matched_cols].sum())
        sizes = np.bincount(labels, minlength=k)
        rows.append({
            "seed": seed,
            "ari": float(adjusted_rand_score(reference, labels)),
            "n_moved": n_texts - n_same,
            "share_same": n_same / n_texts,
            "min_cluster_size": int(sizes.min()),
            "max_cluster_size": int(sizes.max()),
        })
    out = pd.DataFrame(rows, columns=["seed", "ari", "n_moved", "share_same", "min_cluster_size", "max_cluster_size"])
    out.attrs["provenance"] = {**tfidf.params, "k": k, "reference_seed": int(reference_seed), "model": model,
                               "n_components": n_components, **settings,
                               "embedding_per_seed": shared is None}
    return out


def _check_paragraphs(paragraphs: pd.DataFrame, name: str = "paragraphs") -> pd.DataFrame:
    if not isinstance(paragraphs, pd.DataFrame):
        raise TypeError(f"`{name}` must be a DataFrame with columns {_PARAGRAPH_COLUMNS}, "
                        f"got {type(paragraphs).__name__}.")
    missing = [c for c in _PARAGRAPH_COLUMNS if c not in paragraphs.columns]
    if missing:
        raise ValueError(f"`{name}` lacks columns {missing}; it needs {list(_PARAGRAPH_COLUMNS)} (and `place`).")
    if paragraphs.empty:
        raise ValueError(f"`{name}` has no rows; check that cleaning produced paragraphs.")
    if paragraphs["para_id"].duplicated().any():
        dup = sorted(paragraphs.loc[paragraphs["para_id"].duplicated(), "para_id"].astype(str))[:5]
        raise ValueError(f"`{name}`.para_id must be unique; repeated: {dup}.")
    return paragraphs.sort_values("para_id", kind="stable").reset_index(drop=True)


def cluster_paragraphs(
    paragraphs: pd.DataFrame,
    *,
    k: int = DEFAULT_PARAGRAPH_K,
    random_state: int = 0,
    model: Model = "kmeans",
    min_df: int | float = DEFAULT_MIN_DF,
    max_df: int | float = DEFAULT_MAX_DF,
    n_components: int | Literal["auto"] | None = "auto",
    n_init: int | None = None,
    drop_generic: bool = True,
    segmenter: tokens_mod.Segmenter | None = None,
    method: Method = "auto",
    minibatch_min_texts: int = MINIBATCH_MIN_TEXTS,
    tfidf: TfidfResult | None = None,
) -> pd.DataFrame:
    """Assign each paragraph a topic (TF-IDF + clustering, as :func:`cluster_texts`).

    Parameters
    ----------
    paragraphs : pandas.DataFrame
        Columns ``doc_id``, ``para_id``, ``text`` (and ``place``, optional).
    method, minibatch_min_texts
        k-means implementation (:func:`clustering_settings`), recorded in
        ``attrs["provenance"]``.
    tfidf : TfidfResult or None, default=None
        A :func:`build_tfidf` result of these paragraphs (rows = ``para_id`` in
        sorted order) to reuse instead of segmenting them again (at 10^5
        paragraphs a pass costs minutes); ``min_df``, ``max_df`` and
        ``drop_generic`` are then taken from it.

    Raises
    ------
    ValueError
        If ``tfidf`` rows are not the sorted ``para_id`` of ``paragraphs``.

    Returns
    -------
    pandas.DataFrame
        One row per paragraph, sorted by ``para_id``. Columns: ``para_id``,
        ``doc_id``, ``place`` (``None`` when absent), ``topic`` (int, 0 = the
        largest), ``n_chars`` (paragraph length). ``attrs["provenance"]``
        holds the parameters, seed and lexicon hash.
    """
    paragraphs = _check_paragraphs(paragraphs)
    if tfidf is None:
        tfidf = build_tfidf(paragraphs["text"].tolist(), row_ids=paragraphs["para_id"].tolist(), min_df=min_df,
                            max_df=max_df, drop_generic=drop_generic, segmenter=segmenter)
    elif list(tfidf.row_ids) != paragraphs["para_id"].astype(str).tolist():
        raise ValueError("`tfidf` rows are not the paragraphs' para_id in sorted order; build it with "
                         "build_tfidf(texts, row_ids=para_ids) on the paragraphs sorted by para_id, or pass tfidf=None.")
    labels = cluster_tfidf(tfidf, k=k, random_state=random_state, model=model, n_components=n_components,
                           n_init=n_init, method=method, minibatch_min_texts=minibatch_min_texts)
    settings = clustering_settings(len(paragraphs), model=model, method=method, n_init=n_init,
                                   minibatch_min_texts=minibatch_min_texts)
    place = paragraphs["place"] if "place" in paragraphs.columns else pd.Series([None] * len(paragraphs))
    out = pd.DataFrame({
        "para_id": paragraphs["para_id"].astype(str),
        "doc_id": paragraphs["doc_id"].astype(str),
        "place": place.astype(object).where(place.notna(), None),
        "topic": labels.astype(np.int64),
        "n_chars": paragraphs["text"].str.len().astype(np.int64),
    })
    out.attrs["provenance"] = {**tfidf.params, "k": k, "random_state": random_state, "model": model,
                               "n_components": n_components, **settings}
    return out


def _join_topics(paragraph_topics: pd.DataFrame, paragraphs: pd.DataFrame) -> pd.DataFrame:
    paragraphs = _check_paragraphs(paragraphs)
    if not {"para_id", "topic"} <= set(paragraph_topics.columns):
        raise ValueError("`paragraph_topics` needs columns para_id and topic (see cluster_paragraphs).")
    merged = paragraph_topics[["para_id", "topic"]].merge(paragraphs[["para_id", "doc_id", "text"]],
                                                          on="para_id", how="left", validate="one_to_one")
    if merged["text"].isna().any():
        missing = merged.loc[merged["text"].isna(), "para_id"].tolist()[:5]
        raise ValueError(f"paragraph ids of `paragraph_topics` not in `paragraphs`: {missing}.")
    return merged.sort_values("para_id", kind="stable").reset_index(drop=True)


def topic_terms(
    paragraph_topics: pd.DataFrame,
    paragraphs: pd.DataFrame,
    *,
    n_terms: int = 10,
    drop_generic: bool = True,
    segmenter: tokens_mod.Segmenter | None = None,
) -> pd.DataFrame:
    """Top terms of each topic by class-based TF-IDF (as BERTopic's c-TF-IDF).

    Returns
    -------
    pandas.DataFrame
        Columns ``topic``, ``rank`` (1 = top), ``term``, ``weight``
        (c-TF-IDF), ``count`` (occurrences in the topic); sorted by topic, rank.

    Notes
    -----
    All paragraphs of a topic form one class document. For term t and class c,
    ``W(t, c) = tf(t, c) / |c| * log(1 + A / f(t))``, where ``tf(t, c)`` counts
    t in class c, ``|c|`` is the number of tokens of c, ``f(t)`` the count of t
    over all classes and ``A`` the mean number of tokens per class
    (Grootendorst 2022, BERTopic). Ties are broken by term.
    """
    merged = _join_topics(paragraph_topics, paragraphs)
    _, tokenizer = _tokenizer(segmenter, drop_generic)
    class_tokens: dict[int, list[str]] = {}
    for topic, text in zip(merged["topic"], merged["text"], strict=True):
        class_tokens.setdefault(int(topic), []).extend(tokenizer(text))
    topic_ids = sorted(class_tokens)
    cv = CountVectorizer(analyzer=lambda toks: toks, lowercase=False)
    counts = cv.fit_transform([class_tokens[t] for t in topic_ids]).toarray().astype(np.float64)
    terms = cv.get_feature_names_out()
    sizes = counts.sum(axis=1, keepdims=True)
    sizes[sizes == 0] = 1.0
    total_per_term = counts.sum(axis=0)
    avg_words = counts.sum() / len(topic_ids)
    weights = counts / sizes * np.log1p(avg_words / np.maximum(total_per_term, 1.0))
    rows = []
    for row, topic in enumerate(topic_ids):
        order = sorted((i for i in range(len(terms)) if counts[row, i] > 0),
                       key=lambda i: (-weights[row, i], terms[i]))[:n_terms]
        for rank, i in enumerate(order, start=1):
            rows.append({"topic": topic, "rank": rank, "term": str(terms[i]),
                         "weight": float(weights[row, i]), "count": int(counts[row, i])})
    return pd.DataFrame(rows, columns=["topic", "rank", "term", "weight", "count"])


def representative_paragraphs(
    paragraph_topics: pd.DataFrame,
    paragraphs: pd.DataFrame,
    *,
    n: int = 3,
    min_df: int | float = 1,
    max_df: int | float = 1.0,
    segmenter: tokens_mod.Segmenter | None = None,
) -> pd.DataFrame:
    """The ``n`` paragraphs closest to each topic's centroid (cosine on TF-IDF).

    Returns
    -------
    pandas.DataFrame
        Columns ``topic``, ``rank`` (1 = most typical), ``para_id``,
        ``doc_id``, ``similarity`` (cosine to the topic centroid), ``text``;
        sorted by topic, rank.
    """
    merged = _join_topics(paragraph_topics, paragraphs)
    tfidf = build_tfidf(merged["text"].tolist(), row_ids=merged["para_id"].tolist(), min_df=min_df,
                        max_df=max_df, segmenter=segmenter)
    rows = []
    for topic in sorted(merged["topic"].unique()):
        idx = np.flatnonzero(merged["topic"].to_numpy() == topic)
        centroid = normalize(np.asarray(tfidf.matrix[idx].mean(axis=0)))
        sims = np.asarray(tfidf.matrix[idx] @ centroid.T).ravel()
        order = sorted(range(len(idx)), key=lambda j: (-round(float(sims[j]), 12), merged["para_id"].iat[idx[j]]))
        for rank, j in enumerate(order[:n], start=1):
            i = idx[j]
            rows.append({"topic": int(topic), "rank": rank, "para_id": merged["para_id"].iat[i],
                         "doc_id": merged["doc_id"].iat[i], "similarity": float(sims[j]),
                         "text": merged["text"].iat[i]})
    return pd.DataFrame(rows, columns=["topic", "rank", "para_id", "doc_id", "similarity", "text"])


def topic_table(
    paragraph_topics: pd.DataFrame,
    paragraphs: pd.DataFrame,
    *,
    n_terms: int = 10,
    n_representative: int = 3,
    segmenter: tokens_mod.Segmenter | None = None,
    terms: pd.DataFrame | None = None,
    representatives: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per topic: label, size, top terms and representative paragraphs.

    Parameters
    ----------
    paragraph_topics, paragraphs : pandas.DataFrame
    n_terms, n_representative : int
        Used only when ``terms`` / ``representatives`` are not given.
    terms, representatives : pandas.DataFrame or None, default=None
        Results of :func:`topic_terms` and :func:`representative_paragraphs`
        for the same topics, reused instead of segmenting every paragraph again.

    Returns
    -------
    pandas.DataFrame
        Columns ``topic``; ``label`` (the top ``N_LABEL_TERMS`` c-TF-IDF terms
        joined by " / "); ``n_paragraphs``; ``n_documents``; ``n_chars``;
        ``top_terms`` (space-separated, best first); ``top_weights``
        (space-separated, 4 decimals); ``representative_para_ids``
        (space-separated, most typical first). Sorted by topic.
    """
    if terms is None:
        terms = topic_terms(paragraph_topics, paragraphs, n_terms=n_terms, segmenter=segmenter)
    reps = representatives
    if reps is None:
        reps = representative_paragraphs(paragraph_topics, paragraphs, n=n_representative, segmenter=segmenter)
    for name, df, cols in (("terms", terms, ["topic", "term", "weight"]),
                           ("representatives", reps, ["topic", "para_id"])):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"`{name}` lacks column(s) {missing}; pass the result of "
                             f"{'topic_terms' if name == 'terms' else 'representative_paragraphs'}.")
    merged = _join_topics(paragraph_topics, paragraphs)
    rows = []
    for topic in sorted(merged["topic"].unique()):
        part = merged[merged["topic"] == topic]
        t = terms[terms["topic"] == topic]
        rows.append({
            "topic": int(topic),
            "label": " / ".join(t["term"].head(N_LABEL_TERMS)),
            "n_paragraphs": int(len(part)),
            "n_documents": int(part["doc_id"].nunique()),
            "n_chars": int(part["text"].str.len().sum()),
            "top_terms": " ".join(t["term"]),
            "top_weights": " ".join(f"{w:.4f}" for w in t["weight"]),
            "representative_para_ids": " ".join(reps.loc[reps["topic"] == topic, "para_id"]),
        })
    out = pd.DataFrame(rows)
    out.attrs["provenance"] = dict(paragraph_topics.attrs.get("provenance", {}))
    return out


def topic_shares(paragraph_topics: pd.DataFrame, documents: pd.DataFrame | None = None) -> pd.DataFrame:
    """Share of each topic per document and per place, by paragraphs and by characters.

    Parameters
    ----------
    paragraph_topics : pandas.DataFrame
        Output of :func:`cluster_paragraphs` (``doc_id``, ``topic``, ``n_chars``, ``place``).
    documents : pandas.DataFrame or None, default=None
        ``doc_id`` and ``place`` per document; overrides ``place`` of
        ``paragraph_topics`` when given.

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per (level, unit, topic), every topic listed for every
        unit (zeros included). Columns: ``level`` ("document" or "place"),
        ``unit`` (doc_id or place), ``topic``, ``n_paragraphs``,
        ``share_paragraphs``, ``n_chars``, ``share_chars``. Shares sum to 1
        within a unit. Sorted by level, unit, topic.

    Raises
    ------
    ValueError
        If a document has no place (give ``documents``) or columns are missing.
    """
    need = {"doc_id", "topic", "n_chars"}
    if not need <= set(paragraph_topics.columns):
        raise ValueError(f"`paragraph_topics` lacks columns {sorted(need - set(paragraph_topics.columns))}.")
    df = paragraph_topics[["doc_id", "topic", "n_chars"]].copy()
    if documents is not None:
        if not {"doc_id", "place"} <= set(documents.columns):
            raise ValueError("`documents` needs columns doc_id and place.")
        df = df.merge(documents[["doc_id", "place"]].drop_duplicates("doc_id"), on="doc_id", how="left")
    elif "place" in paragraph_topics.columns:
        df["place"] = paragraph_topics["place"].to_numpy()
    else:
        df["place"] = None
    if df["place"].isna().any():
        missing = sorted(df.loc[df["place"].isna(), "doc_id"].unique())[:5]
        raise ValueError(f"no place for documents {missing}; pass `documents` with doc_id and place.")
    topics_all = sorted(df["topic"].unique())
    parts = []
    for level, key in (("document", "doc_id"), ("place", "place")):
        g = df.groupby([key, "topic"]).agg(n_paragraphs=("topic", "size"), n_chars=("n_chars", "sum"))
        full = pd.MultiIndex.from_product([sorted(df[key].unique()), topics_all], names=["unit", "topic"])
        g = g.set_axis(g.index.set_names(["unit", "topic"])).reindex(full, fill_value=0).reset_index()
        g["share_paragraphs"] = g["n_paragraphs"] / g.groupby("unit")["n_paragraphs"].transform("sum")
        g["share_chars"] = g["n_chars"] / g.groupby("unit")["n_chars"].transform("sum")
        g.insert(0, "level", level)
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    out = out[["level", "unit", "topic", "n_paragraphs", "share_paragraphs", "n_chars", "share_chars"]]
    out = out.astype({"topic": np.int64, "n_paragraphs": np.int64, "n_chars": np.int64})
    return out.sort_values(["level", "unit", "topic"], kind="stable").reset_index(drop=True)


def topic_shares_top(
    paragraph_topics: pd.DataFrame,
    groups: Mapping[str, str] | pd.Series,
    *,
    max_groups: int,
    rest_label: str = "other {n}",
) -> pd.DataFrame:
    """Topic shares of the ``max_groups - 1`` largest groups (by characters) and of the rest pooled.

    For figures that must fit a page at any corpus size: with 1,000 places,
    the 29 places of most text get a bar each and the other 971 one pooled
    bar (their paragraphs counted together, not their shares averaged).

    Parameters
    ----------
    paragraph_topics : pandas.DataFrame
        Columns ``doc_id``, ``topic``, ``n_chars`` (as :func:`cluster_paragraphs`).
    groups : mapping or pandas.Series
        doc_id -> group (report, place, city or province).
    max_groups : int
        Most units in the result, the pooled rest included (at least 2).
    rest_label : str, default="other {n}"
        Label of the pooled unit; ``{n}`` becomes the number of groups pooled.

    Returns
    -------
    pandas.DataFrame
        As one level of :func:`topic_shares` (``unit``, ``topic``,
        ``n_paragraphs``, ``share_paragraphs``, ``n_chars``, ``share_chars``),
        every topic for every unit, units in descending order of characters
        (ties by name), the pooled unit last. ``attrs``: ``n_groups`` (groups
        in the data), ``n_rest`` (groups pooled), ``rest_label`` (its label, or
        ``None``).

    Raises
    ------
    ValueError
        If a document has no group, ``max_groups`` < 2, or ``rest_label``
        lacks ``{n}`` or equals a group name.
    """
    if isinstance(max_groups, bool) or not isinstance(max_groups, int) or max_groups < 2:
        raise ValueError(f"`max_groups` must be an int >= 2, got {max_groups!r}.")
    if "{n}" not in rest_label:
        raise ValueError(f"`rest_label` must contain '{{n}}' (the number of groups pooled), got {rest_label!r}.")
    need = {"doc_id", "topic", "n_chars"}
    if not need <= set(paragraph_topics.columns):
        raise ValueError(f"`paragraph_topics` lacks columns {sorted(need - set(paragraph_topics.columns))}.")
    mapping = pd.Series(dict(groups) if not isinstance(groups, pd.Series) else groups).astype(object)
    unit = paragraph_topics["doc_id"].astype(str).map(mapping)
    if unit.isna().any():
        missing = sorted(paragraph_topics.loc[unit.isna(), "doc_id"].astype(str).unique())[:5]
        raise ValueError(f"no group for documents {missing}; `groups` must map every doc_id.")
    df = paragraph_topics[["topic", "n_chars"]].assign(unit=unit.astype(str).to_numpy())
    totals = df.groupby("unit")["n_chars"].sum()
    ranked = sorted(totals.index, key=lambda g: (-int(totals[g]), g))
    n_rest = max(0, len(ranked) - (max_groups - 1)) if len(ranked) > max_groups else 0
    label = None
    if n_rest:
        label = rest_label.format(n=n_rest)
        if label in set(ranked):
            raise ValueError(f"`rest_label` gives {label!r}, which is already a group name; choose another.")
        pooled = set(ranked[max_groups - 1:])
        df = df.assign(unit=df["unit"].where(~df["unit"].isin(pooled), label))
        ranked = ranked[:max_groups - 1] + [label]
    topics_all = sorted(df["topic"].unique())
    g = df.groupby(["unit", "topic"]).agg(n_paragraphs=("topic", "size"), n_chars=("n_chars", "sum"))
    full = pd.MultiIndex.from_product([ranked, topics_all], names=["unit", "topic"])
    out = g.reindex(full, fill_value=0).reset_index()
    out["share_paragraphs"] = out["n_paragraphs"] / out.groupby("unit")["n_paragraphs"].transform("sum")
    out["share_chars"] = out["n_chars"] / out.groupby("unit")["n_chars"].transform("sum")
    out = out[["unit", "topic", "n_paragraphs", "share_paragraphs", "n_chars", "share_chars"]]
    out = out.astype({"topic": np.int64, "n_paragraphs": np.int64, "n_chars": np.int64})
    out.attrs = {"n_groups": len(totals), "n_rest": n_rest, "rest_label": label}
    return out


def topic_emphasis(shares: pd.DataFrame, topic_table: pd.DataFrame) -> pd.DataFrame:
    """Each unit's topic shares set against the corpus: ``corpus_share`` and ``lift``.

    Parameters
    ----------
    shares : pandas.DataFrame
        Rows of :func:`topic_shares` for one level (columns ``unit``, ``topic``,
        ``share_chars``, ...).
    topic_table : pandas.DataFrame
        Columns ``topic`` and ``n_chars`` (characters of all paragraphs in the topic).

    Returns
    -------
    pandas.DataFrame
        ``shares`` with ``corpus_share`` (the topic's share of all characters)
        and ``lift`` = ``share_chars / corpus_share`` (above 1: the unit
        dwells on the topic more than the corpus does).
    """
    for name, df, cols in (("shares", shares, ["unit", "topic", "share_chars"]),
                           ("topic_table", topic_table, ["topic", "n_chars"])):
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ValueError(f"`{name}` lacks column(s) {missing}")
    if "level" in shares.columns and shares["level"].nunique() > 1:
        raise ValueError("`shares` mixes levels; pass the rows of one level (place or document)")
    corpus_share = topic_table.set_index("topic")["n_chars"] / topic_table["n_chars"].sum()
    out = shares.assign(corpus_share=shares["topic"].map(corpus_share))
    return out.assign(lift=out["share_chars"] / out["corpus_share"])


def keyness(
    paragraphs: pd.DataFrame,
    *,
    by: str = "place",
    min_count: int = DEFAULT_MIN_KEYNESS_COUNT,
    drop_generic: bool = False,
    segmenter: tokens_mod.Segmenter | None = None,
    max_terms: int | None = None,
    exclude: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Terms each group (place) uses more or less than the rest of the corpus.

    Parameters
    ----------
    paragraphs : pandas.DataFrame
        Columns ``text`` and ``by``.
    by : str, default="place"
        Grouping column (``"place"`` or ``"doc_id"``).
    min_count : int, default=DEFAULT_MIN_KEYNESS_COUNT
        Keep a term only if it occurs at least this often in the whole corpus.
    drop_generic : bool, default=False
        Keyness itself separates shared from local words, so generic terms are
        kept by default (their under-use by a place is a finding too).
    max_terms : int or None, default=None
        Keep only the ``max_terms`` most over-used terms of each group (ranks
        1 .. ``max_terms``); ``None`` keeps every term. With thousands of
        places x tens of thousands of terms the full table has 10^7-10^8 rows.
    exclude : iterable of str or None, default=None
        Terms left out of the table and of the ranks, e.g. place names (trivially
        distinctive). They still count in the token totals, so every other row
        is the same as without ``exclude``; with ``max_terms`` each group keeps
        its ``max_terms`` most over-used terms that are not excluded.

    Returns
    -------
    pandas.DataFrame
        One row per (group, term). With ``exclude``,
        ``attrs["n_excluded_overused"]`` is the number of (group, excluded
        term) pairs with ``g2 > 0`` that were left out. Columns: ``group``, ``term``, ``n_target``
        (count in the group), ``n_reference`` (count in the rest),
        ``total_target``, ``total_reference`` (token totals), ``g2``
        (signed log-likelihood: positive when the group over-uses the term),
        ``chi2`` (signed, Yates-corrected), ``p_value`` (of G², 1 df),
        ``log_ratio`` (log2 of relative frequencies, 0.5 added to counts),
        ``rank`` (1 = most over-used within the group). Sorted by group, rank.

    Raises
    ------
    ValueError
        If ``by`` is missing, there are fewer than 2 groups, or no term reaches ``min_count``.

    Notes
    -----
    For a 2 x 2 table (term / other tokens x group / rest) with observed O and
    expected E counts, ``G² = 2 Σ O ln(O / E)`` and the Yates-corrected
    ``χ² = Σ (|O - E| - 0.5)² / E`` (as quanteda's ``textstat_keyness``).
    """
    if by not in paragraphs.columns or "text" not in paragraphs.columns:
        raise ValueError(f"`paragraphs` needs columns 'text' and {by!r} (the `by` parameter).")
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"`min_count` must be a positive int, got {min_count!r}.")
    if max_terms is not None and (isinstance(max_terms, bool) or not isinstance(max_terms, int) or max_terms < 1):
        raise ValueError(f"`max_terms` must be a positive int or None, got {max_terms!r}.")
    if isinstance(exclude, str):
        raise TypeError(f"`exclude` must be an iterable of terms, not the string {exclude!r}.")
    if paragraphs[by].isna().any():
        raise ValueError(f"`paragraphs`.{by} has missing values; fill them before computing keyness.")
    groups = sorted(paragraphs[by].astype(str).unique())
    if len(groups) < 2:
        raise ValueError(f"keyness needs at least 2 groups in column {by!r}, got {groups}.")
    _, tokenizer = _tokenizer(segmenter, drop_generic)
    # Joined by line breaks: the segmenter cuts line by line, so each group's text reuses the
    # tokens of its paragraphs (already cut for TF-IDF); jieba joins no token across a break.
    texts_by_group = paragraphs.groupby(paragraphs[by].astype(str), sort=True)["text"].agg("\n".join)
    docs = [texts_by_group[g] for g in groups]
    cv = CountVectorizer(tokenizer=tokenizer, token_pattern=None, lowercase=False, dtype=np.int64)
    # Sparse: thousands of places x tens of thousands of terms would not fit as a dense array.
    counts = cv.fit_transform(docs).tocsr()
    terms = cv.get_feature_names_out()
    keep = np.flatnonzero(np.asarray(counts.sum(axis=0)).ravel() >= min_count)
    if not len(keep):
        raise ValueError(f"no term occurs at least {min_count} times; lower `min_count`.")
    totals = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    counts = counts[:, keep].tocsr()
    kept_terms = terms[keep]
    excluded = np.isin(kept_terms, sorted(set(exclude))) if exclude is not None else np.zeros(len(keep), dtype=bool)
    ranked = np.flatnonzero(~excluded)
    n_excluded_overused = 0
    column_totals = np.asarray(counts.sum(axis=0), dtype=np.float64).ravel()
    grand = totals.sum()
    columns: dict[str, list[np.ndarray]] = {name: [] for name in (
        "group", "term", "n_target", "n_reference", "total_target", "total_reference", "g2", "chi2",
        "p_value", "log_ratio", "rank")}
    for gi, group in enumerate(groups):
        total, rest = totals[gi], grand - totals[gi]
        order = None
        if max_terms is not None:
            # A term the group does not use has g2 <= 0, so when the group over-uses at least max_terms terms
            # its top rows are among the terms it uses: only those are scored (linear in the counts, not
            # groups x vocabulary), with the same formulas, so the rows are those of the full scoring.
            row = counts[gi]
            used = row.indices
            scored = _keyness_statistics(row.data.astype(np.float64), column_totals[used], total, grand)
            over = scored[0] > 0
            n_excluded_overused += int(np.count_nonzero(over & excluded[used]))
            pick = np.flatnonzero(over & ~excluded[used])
            if len(pick) >= max_terms:
                order = pick[np.lexsort((used[pick], -scored[0][pick]))][:max_terms]
                term_index, a = used[order], row.data[order].astype(np.float64)
                signed_g2, signed_chi2, p_value, log_ratio = (values[order] for values in scored)
        if order is None:
            a = counts[gi].toarray().ravel().astype(np.float64)
            signed_g2, signed_chi2, p_value, log_ratio = _keyness_statistics(a, column_totals, total, grand)
            if max_terms is None:
                n_excluded_overused += int(np.count_nonzero(signed_g2[excluded] > 0))
            # Most over-used first, ties by term (kept_terms are sorted, so column order is term order).
            term_index = ranked[np.lexsort((ranked, -signed_g2[ranked]))][:max_terms]
            a, signed_g2, signed_chi2, p_value, log_ratio = (
                values[term_index] for values in (a, signed_g2, signed_chi2, p_value, log_ratio))
        n_rows = len(term_index)
        columns["group"].append(np.full(n_rows, group, dtype=object))
        columns["term"].append(kept_terms[term_index].astype(object))
        columns["n_target"].append(a.astype(np.int64))
        columns["n_reference"].append((column_totals[term_index] - a).astype(np.int64))
        columns["total_target"].append(np.full(n_rows, int(total), dtype=np.int64))
        columns["total_reference"].append(np.full(n_rows, int(rest), dtype=np.int64))
        columns["g2"].append(signed_g2)
        columns["chi2"].append(signed_chi2)
        columns["p_value"].append(p_value)
        columns["log_ratio"].append(log_ratio)
        columns["rank"].append(np.arange(1, n_rows + 1, dtype=np.int64))
    table = pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()})
    if exclude is not None:  # only then: attrs are written into parquet files
        table.attrs["n_excluded_overused"] = n_excluded_overused
    return table


def _keyness_statistics(a: np.ndarray, column_totals: np.ndarray, total: float,
                        grand: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Signed G², signed Yates χ², p-value of G² and log ratio of terms counted ``a`` times in a group.

    ``column_totals`` are the terms' counts in the corpus, ``total`` and ``grand`` the token counts of
    the group and the corpus (see :func:`keyness`). Element by element, so scoring a subset of the terms
    gives the same values as scoring all of them.
    """
    b = column_totals - a
    c = total - a
    d = (grand - total) - b
    n = a + b + c + d
    obs = np.stack([a, b, c, d])
    exp = np.stack([(a + b) * (a + c), (a + b) * (b + d), (c + d) * (a + c), (c + d) * (b + d)]) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        g2 = 2 * np.nansum(np.where(obs > 0, obs * np.log(obs / exp), 0.0), axis=0)
        chi2 = np.sum(np.maximum(np.abs(obs - exp) - 0.5, 0.0) ** 2 / exp, axis=0)
    sign = np.where(a >= exp[0], 1.0, -1.0)
    log_ratio = np.log2(((a + 0.5) / (total + 0.5)) / ((b + 0.5) / (grand - total + 0.5)))
    p_value = stats.chi2.sf(g2, 1)  # one call for all terms: per term it cost 0.2 ms each
    return sign * g2, sign * chi2, p_value, log_ratio


def similarity_matrix(
    texts_by_doc: Mapping[str, str] | pd.Series,
    *,
    min_df: int | float = 1,
    max_df: int | float = 1.0,
    drop_generic: bool = True,
    segmenter: tokens_mod.Segmenter | None = None,
    form: Literal["square", "pairs"] = "square",
    n_neighbors: int | None = None,
    min_similarity: float = 0.0,
    dtype: Any = np.float64,
) -> pd.DataFrame:
    """Cosine similarity of documents on TF-IDF (RQ4).

    Parameters
    ----------
    texts_by_doc : mapping or pandas.Series
        doc_id -> full text (e.g. the paragraphs of each document joined).
    min_df, max_df, drop_generic, segmenter
        As in :func:`build_tfidf`.
    form : {"square", "pairs"}, default="square"
        ``"square"``: the n x n matrix (n² values: 800 MB at 10,000 reports in
        float64). ``"pairs"``: a long table computed block by block (memory
        ``SIMILARITY_BLOCK_ROWS`` x n), which ``compare.similarity_pairs``
        and the geography tests accept as they are.
    n_neighbors : int or None, default=None
        ``form="pairs"`` only: keep, for each document, its ``n_neighbors``
        most similar others (ties by doc_id); a pair is kept when either
        document has the other among its neighbours. ``None`` keeps all pairs.
    min_similarity : float, default=0.0
        ``form="pairs"`` only: drop pairs below this cosine.
    dtype : numpy dtype, default=numpy.float64
        Of the square matrix (``numpy.float32`` halves its memory).

    Returns
    -------
    pandas.DataFrame
        ``form="square"``: square, index and columns the doc ids (sorted),
        values in [0, 1], 1 on the diagonal (0 for a document with no term).
        ``form="pairs"``: columns ``doc_a``, ``doc_b`` (``doc_a < doc_b``),
        ``similarity``; sorted by doc_a, doc_b. ``attrs["provenance"]`` holds
        the TF-IDF parameters (and ``form``, ``n_neighbors``, ``min_similarity``).

    Raises
    ------
    ValueError
        If fewer than 2 documents are given, ``form`` is unknown, or the
        pair options are given with ``form="square"``.
    """
    if form not in ("square", "pairs"):
        raise ValueError(value_invalid_msg("form", form, ("square", "pairs")))
    if form == "square" and (n_neighbors is not None or min_similarity != 0.0):
        raise ValueError("`n_neighbors` and `min_similarity` apply to form='pairs' only; "
                         "drop them or pass form='pairs'.")
    if n_neighbors is not None and (isinstance(n_neighbors, bool) or not isinstance(n_neighbors, int)
                                    or n_neighbors < 1):
        raise ValueError(f"`n_neighbors` must be a positive int or None, got {n_neighbors!r}.")
    items = sorted((str(k), v) for k, v in dict(texts_by_doc).items())
    if len(items) < 2:
        raise ValueError(f"`texts_by_doc` needs at least 2 documents, got {len(items)}.")
    ids = [k for k, _ in items]
    tfidf = build_tfidf([v for _, v in items], row_ids=ids, min_df=min_df, max_df=max_df,
                        drop_generic=drop_generic, segmenter=segmenter)
    if form == "square":
        sim = (tfidf.matrix @ tfidf.matrix.T).toarray()
        sim = np.clip(sim, 0.0, 1.0).astype(dtype, copy=False)
        out = pd.DataFrame(sim, index=pd.Index(ids, name="doc_id"), columns=pd.Index(ids, name="other_doc_id"))
        out.attrs["provenance"] = dict(tfidf.params)
        return out
    X = tfidf.matrix
    n = X.shape[0]
    labels = np.asarray(ids, dtype=object)
    parts_a, parts_b, parts_s = [], [], []
    for lo in range(0, n, SIMILARITY_BLOCK_ROWS):
        hi = min(lo + SIMILARITY_BLOCK_ROWS, n)
        block = np.clip((X[lo:hi] @ X.T).toarray(), 0.0, 1.0)
        rows = np.arange(lo, hi)
        block[rows - lo, rows] = -1.0  # never a pair with itself
        if n_neighbors is None:
            keep = np.zeros_like(block, dtype=bool)
            keep[:, :] = np.arange(n)[None, :] > rows[:, None]  # each pair once, from its first document
        else:
            m = min(n_neighbors, n - 1)
            # Most similar first, ties by doc_id (the column order): stable argsort of the negated block.
            top = np.argsort(-block, axis=1, kind="stable")[:, :m]
            keep = np.zeros_like(block, dtype=bool)
            np.put_along_axis(keep, top, True, axis=1)
        keep &= block >= min_similarity
        r, c = np.nonzero(keep)
        i, j = rows[r], c
        parts_a.append(np.minimum(i, j))
        parts_b.append(np.maximum(i, j))
        parts_s.append(block[r, c])
    ia, ib, sv = np.concatenate(parts_a), np.concatenate(parts_b), np.concatenate(parts_s)
    order = np.lexsort((ib, ia))
    ia, ib, sv = ia[order], ib[order], sv[order]
    first = np.ones(len(ia), dtype=bool)
    first[1:] = (ia[1:] != ia[:-1]) | (ib[1:] != ib[:-1])  # a pair found from both ends once
    out = pd.DataFrame({"doc_a": labels[ia[first]], "doc_b": labels[ib[first]],
                        "similarity": sv[first].astype(np.float64)})
    out.attrs["provenance"] = {**tfidf.params, "form": form, "n_neighbors": n_neighbors,
                               "min_similarity": min_similarity}
    return out


def write_topic_tables(
    paragraph_topics: pd.DataFrame,
    topics: pd.DataFrame,
    processed_dir: str | Path = paths.PROCESSED_DIR,
) -> list[Path]:
    """Write ``paragraph_topics.parquet`` and ``topics.parquet`` (+ CSV and ``.meta.json``).

    Rows are sorted (by ``para_id`` and ``topic``) and the provenance of
    ``paragraph_topics.attrs["provenance"]`` is written beside both, so a
    rerun gives byte-identical files.
    """
    processed_dir = Path(processed_dir)
    provenance = dict(paragraph_topics.attrs.get("provenance", {}))
    pt = paragraph_topics.sort_values("para_id", kind="stable").reset_index(drop=True)
    tt = topics.sort_values("topic", kind="stable").reset_index(drop=True)
    written = storage.write_table(pt, processed_dir / "paragraph_topics", provenance=provenance)
    written += storage.write_table(tt, processed_dir / "topics", provenance=provenance)
    return written

