"""Find exact and near-duplicate reports among cleaned documents (MinHash/LSH candidates, exact Jaccard check), for ``corpus``.

A scraped collection holds the same report more than once: re-encoded,
reposted on a mirror site with another page around it, lightly edited. Left
in, such copies weigh twice in the comparison of places (RQ4) and in text
reuse (RQ3). :func:`find_duplicates` compares the reports' cleaned text
(title and paragraphs, so the page layout and the encoding do not matter) and
returns one :class:`DuplicatePair` per report that repeats an earlier one.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import value_invalid_msg

__all__ = [
    "DEFAULT_THRESHOLD",
    "SHINGLE_CHARS",
    "NUM_PERM",
    "DuplicatePair",
    "normalize_text",
    "shingles",
    "jaccard",
    "find_duplicates",
    "Fingerprint",
    "fingerprint",
    "duplicates_from_fingerprints",
    "document_text",
]

#: Jaccard similarity of character shingles from which two reports are near-duplicates.
DEFAULT_THRESHOLD = 0.8
#: Characters per shingle (five: about two Chinese words; see benchmarks/duplicates.md).
SHINGLE_CHARS = 5
#: Permutations of each MinHash signature.
NUM_PERM = 128
#: The LSH index looks for candidates this far below ``threshold`` (each candidate is then checked
#: exactly), so that pairs just above the threshold are rarely missed (benchmarks/duplicates.md).
LSH_MARGIN = 0.1
#: A candidate is checked exactly only when its MinHash estimate is at least ``threshold - ESTIMATE_MARGIN``
#: (the estimate's standard error is about 0.035 at 128 permutations: a pair at the threshold falls
#: below the margin with probability under 1e-5).
ESTIMATE_MARGIN = 0.15
#: At most this many candidates per report, the best estimates first, are checked exactly, so that a
#: collection where many reports share template passages cannot make the check quadratic.
MAX_CHECKED = 32
#: Shingle sets of this many reports are kept for the exact checks (recomputed from the text beyond it).
SHINGLE_CACHE = 2048


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """``doc_id`` repeats ``duplicate_of`` (an earlier report in ``doc_id`` order).

    ``similarity`` is the exact Jaccard similarity of the two reports'
    shingle sets (1.0 for ``kind="exact"``: the same normalised text).
    """

    doc_id: str
    duplicate_of: str
    similarity: float
    kind: str


def normalize_text(text: str) -> str:
    """NFKC-fold ``text`` and keep only letters and digits (punctuation, spaces and symbols go).

    So that full-width and ASCII punctuation, line breaks and spacing, which
    differ between copies of one report, do not make them look different.

    Examples
    --------
    >>> normalize_text("全区宣讲 1000余场，受众10万余人次。")
    '全区宣讲1000余场受众10万余人次'
    """
    return _NON_CONTENT.sub("", unicodedata.normalize("NFKC", text))


def shingles(text: str, *, k: int = SHINGLE_CHARS) -> set[str]:
    """The set of ``k``-character substrings of the normalised text (the whole text when shorter)."""
    return _normalized_shingles(normalize_text(text), k)


def _normalized_shingles(norm: str, k: int) -> set[str]:
    if len(norm) <= k:
        return {norm} if norm else set()
    return {norm[i : i + k] for i in range(len(norm) - k + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """``|a & b| / |a | b|`` (0.0 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def document_text(doc) -> str:  # noqa: ANN001 - records.CleanDocument
    """The text a cleaned report is compared by: title, subtitle and paragraphs, one per line."""
    parts = [doc.title or "", doc.subtitle or "", *(p.text for p in doc.paragraphs)]
    return "\n".join(p for p in parts if p)


#: What :func:`normalize_text` removes: every character that is neither a letter nor a digit (Unicode
#: categories L* and N*; ``[^\W_]`` is exactly those, checked over all code points in the tests).
_NON_CONTENT = re.compile(r"[\W_]+")


def _hash32(data: bytes) -> int:
    """32-bit hash of a shingle for MinHash (CRC-32: deterministic across processes, and a third of
    the time of datasketch's default SHA-1; the LSH only proposes candidates, the check is exact)."""
    return zlib.crc32(data)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What duplicate detection needs of one report, computed where it is cleaned (a worker).

    ``digest`` is the SHA-256 of the normalised text (:func:`normalize_text`),
    ``minhash`` the ``num_perm`` MinHash values of its shingle set (uint64),
    made with ``shingle_chars``-character shingles and seed ``random_state``.
    About 1 KB a report, so the parent can hold those of 10^5 reports.
    """

    doc_id: str
    digest: str
    minhash: np.ndarray
    shingle_chars: int
    random_state: int
    scheme: str  # datasketch's hashing scheme of the values (``MinHash.scheme``)


def _check_parameters(threshold: float, shingle_chars: int) -> None:
    if not 0 < threshold <= 1:
        raise ValueError(f"`threshold` value {threshold!r} is invalid; it must be in (0, 1].")
    if shingle_chars < 1:
        raise ValueError(f"`shingle_chars` value {shingle_chars!r} is invalid; it must be a positive integer.")


def fingerprint(
    doc_id: str,
    text: str,
    *,
    shingle_chars: int = SHINGLE_CHARS,
    num_perm: int = NUM_PERM,
    random_state: int = 0,
) -> Fingerprint:
    """The :class:`Fingerprint` of one report's text (e.g. :func:`document_text` of the cleaned report)."""
    from datasketch import MinHash

    if shingle_chars < 1:
        raise ValueError(f"`shingle_chars` value {shingle_chars!r} is invalid; it must be a positive integer.")
    norm = normalize_text(text)
    signature = MinHash(num_perm=num_perm, seed=random_state, hashfunc=_hash32)
    signature.update_batch([g.encode("utf-8") for g in sorted(_normalized_shingles(norm, shingle_chars))])
    return Fingerprint(
        doc_id=doc_id,
        digest=hashlib.sha256(norm.encode("utf-8")).hexdigest(),
        minhash=np.asarray(signature.hashvalues, dtype=np.uint64),
        shingle_chars=shingle_chars,
        random_state=random_state,
        scheme=str(signature.scheme),
    )


def find_duplicates(
    texts: Iterable[tuple[str, str]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    shingle_chars: int = SHINGLE_CHARS,
    num_perm: int = NUM_PERM,
    random_state: int = 0,
) -> tuple[DuplicatePair, ...]:
    """Reports that repeat an earlier one, exactly or nearly.

    Parameters
    ----------
    texts : iterable of (doc_id, text)
        The reports' texts (e.g. :func:`document_text` of each cleaned
        report); read once, in ``doc_id`` order whatever order they come in.
    threshold : float, default=DEFAULT_THRESHOLD
        Jaccard similarity of shingle sets from which a pair is a
        near-duplicate, in (0, 1].
    shingle_chars : int, default=SHINGLE_CHARS
        Characters per shingle.
    num_perm : int, default=NUM_PERM
        MinHash permutations (more: fewer missed candidates, more time).
    random_state : int, default=0
        Seed of the MinHash permutations.

    Returns
    -------
    tuple of DuplicatePair
        One per report that repeats an earlier report (in ``doc_id`` order),
        naming the most similar earlier one (ties: the first); sorted by
        ``doc_id``. The earliest report of a group is the one kept.

    Raises
    ------
    ValueError
        A threshold outside (0, 1], a non-positive shingle size or a
        repeated ``doc_id``.

    Notes
    -----
    This is :func:`fingerprint` of each text followed by
    :func:`duplicates_from_fingerprints`; ``corpus.clean_corpus`` computes
    the fingerprints in the processes that clean the reports and calls the
    latter itself. Exact duplicates are found by the SHA-256 of the
    normalised text. Near-duplicate candidates come from
    ``datasketch.MinHashLSH`` at ``threshold - LSH_MARGIN`` (so not every
    pair is compared); each candidate whose MinHash estimate is at least
    ``threshold - ESTIMATE_MARGIN`` (at most :data:`MAX_CHECKED` per report)
    is then checked with the exact Jaccard similarity of the two shingle
    sets, which is what is reported and compared with the threshold, so the
    LSH can only miss a pair, never report a false one. Jaccard is
    symmetric: a report and a copy of its first half score about 0.5 and are
    not duplicates (one contains the other; see ``benchmarks/duplicates.md``).

    Examples
    --------
    >>> a = "全区17个宣讲团深入村组开展宣讲1000余场,受众10万余人次。" * 3
    >>> find_duplicates([("a", a), ("b", a.replace(",", ",")), ("c", "另一篇报道,内容完全不同。")])
    (DuplicatePair(doc_id='b', duplicate_of='a', similarity=1.0, kind='exact'),)
    """
    _check_parameters(threshold, shingle_chars)
    if isinstance(texts, (str, bytes)):
        raise TypeError("`texts`: an iterable of (doc_id, text) pairs was expected, a single string was received.")
    by_id: dict[str, str] = {}
    for doc_id, text in texts:
        if doc_id in by_id:
            raise ValueError(value_invalid_msg("doc_id", doc_id, ["a doc_id used once"]))
        by_id[doc_id] = text
    prints = [
        fingerprint(doc_id, by_id[doc_id], shingle_chars=shingle_chars, num_perm=num_perm, random_state=random_state)
        for doc_id in sorted(by_id)
    ]
    return duplicates_from_fingerprints(prints, by_id.__getitem__, threshold=threshold)


def duplicates_from_fingerprints(
    fingerprints: Iterable[Fingerprint],
    text_of: Callable[[str], str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_checked: int = MAX_CHECKED,
) -> tuple[DuplicatePair, ...]:
    """:func:`find_duplicates` from precomputed fingerprints; ``text_of(doc_id)`` gives a report's text for the exact checks.

    Only the fingerprints are held for every report (about 1 KB each); the
    text of a report is asked for only when it is a candidate, and the
    shingle sets of the last :data:`SHINGLE_CACHE` reports asked for are kept.
    All fingerprints must be made with the same shingle size, permutations
    and seed.

    Raises
    ------
    ValueError
        A threshold outside (0, 1], a repeated ``doc_id``, fingerprints made
        with different settings or ``max_checked`` below 1.
    """
    from datasketch import LeanMinHash, MinHashLSH

    prints = sorted(fingerprints, key=lambda f: f.doc_id)
    if not prints:
        return ()
    first = prints[0]
    _check_parameters(threshold, first.shingle_chars)
    if max_checked < 1:
        raise ValueError(f"`max_checked` value {max_checked!r} is invalid; it must be a positive integer.")
    settings = {(f.shingle_chars, f.random_state, len(f.minhash), f.scheme) for f in prints}
    if len(settings) > 1:
        raise ValueError(f"fingerprints made with different (shingle_chars, random_state, num_perm, scheme): {sorted(settings)}.")
    for a, b in itertools.pairwise(prints):
        if a.doc_id == b.doc_id:
            raise ValueError(value_invalid_msg("doc_id", a.doc_id, ["a doc_id used once"]))
    num_perm = len(first.minhash)

    @lru_cache(maxsize=SHINGLE_CACHE)
    def grams(doc_id: str) -> frozenset[str]:
        return frozenset(shingles(text_of(doc_id), k=first.shingle_chars))

    lsh = MinHashLSH(threshold=max(0.05, threshold - LSH_MARGIN), num_perm=num_perm)
    by_hash: dict[str, str] = {}
    minhashes: dict[str, np.ndarray] = {}
    pairs: list[DuplicatePair] = []
    for fp in prints:
        if fp.digest in by_hash:
            pairs.append(DuplicatePair(fp.doc_id, by_hash[fp.digest], 1.0, "exact"))
            continue
        by_hash[fp.digest] = fp.doc_id
        signature = LeanMinHash(seed=fp.random_state, hashvalues=fp.minhash, scheme=fp.scheme)
        candidates = sorted(lsh.query(signature))
        if candidates:
            estimates = [(float(np.mean(minhashes[other] == fp.minhash)), other) for other in candidates]
            likely = [(est, other) for est, other in estimates if est >= threshold - ESTIMATE_MARGIN]
            likely.sort(key=lambda item: (-item[0], item[1]))
            best: tuple[float, str] | None = None
            for _, other in sorted(likely[:max_checked], key=lambda item: item[1]):
                similarity = jaccard(set(grams(fp.doc_id)), set(grams(other)))
                if similarity >= threshold and (best is None or similarity > best[0]):
                    best = (similarity, other)
            if best is not None:
                pairs.append(DuplicatePair(fp.doc_id, best[1], round(best[0], 6), "near"))
        lsh.insert(fp.doc_id, signature)
        minhashes[fp.doc_id] = fp.minhash
    return tuple(sorted(pairs, key=lambda p: p.doc_id))
