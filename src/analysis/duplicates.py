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
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

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
    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def shingles(text: str, *, k: int = SHINGLE_CHARS) -> set[str]:
    """The set of ``k``-character substrings of the normalised text (the whole text when shorter)."""
    norm = normalize_text(text)
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
    Exact duplicates are found by the SHA-256 of the normalised text
    (:func:`normalize_text`). Near-duplicate candidates come from
    ``datasketch.MinHashLSH`` at ``threshold - LSH_MARGIN`` (so not every
    pair is compared); each candidate is then checked with the exact Jaccard
    similarity of the two shingle sets, which is what is reported and
    compared with the threshold, so the LSH can only miss a pair, never
    report a false one. Jaccard is symmetric: a report and a copy of its
    first half score about 0.5 and are not duplicates (one contains the
    other; see ``benchmarks/duplicates.md``).

    Examples
    --------
    >>> a = "全区17个宣讲团深入村组开展宣讲1000余场,受众10万余人次。" * 3
    >>> find_duplicates([("a", a), ("b", a.replace(",", ",")), ("c", "另一篇报道,内容完全不同。")])
    (DuplicatePair(doc_id='b', duplicate_of='a', similarity=1.0, kind='exact'),)
    """
    from datasketch import MinHash, MinHashLSH

    if not 0 < threshold <= 1:
        raise ValueError(f"`threshold` value {threshold!r} is invalid; it must be in (0, 1].")
    if shingle_chars < 1:
        raise ValueError(f"`shingle_chars` value {shingle_chars!r} is invalid; it must be a positive integer.")
    if isinstance(texts, (str, bytes)):
        raise TypeError("`texts`: an iterable of (doc_id, text) pairs was expected, a single string was received.")
    items = sorted(texts, key=lambda item: item[0])
    ids = [doc_id for doc_id, _ in items]
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(value_invalid_msg("doc_id", repeated[0], ["a doc_id used once"]))
    lsh = MinHashLSH(threshold=max(0.05, threshold - LSH_MARGIN), num_perm=num_perm)
    by_hash: dict[str, str] = {}
    sets: dict[str, set[str]] = {}
    pairs: list[DuplicatePair] = []
    for doc_id, text in items:
        norm = normalize_text(text)
        digest = hashlib.sha256(norm.encode("utf-8")).hexdigest()
        if digest in by_hash:
            pairs.append(DuplicatePair(doc_id, by_hash[digest], 1.0, "exact"))
            continue
        by_hash[digest] = doc_id
        grams = shingles(text, k=shingle_chars)
        sets[doc_id] = grams
        signature = MinHash(num_perm=num_perm, seed=random_state)
        signature.update_batch([g.encode("utf-8") for g in sorted(grams)])
        best: tuple[float, str] | None = None
        for other in sorted(lsh.query(signature)):
            similarity = jaccard(grams, sets[other])
            if similarity >= threshold and (best is None or similarity > best[0]):
                best = (similarity, other)
        if best is not None:
            pairs.append(DuplicatePair(doc_id, best[1], round(best[0], 6), "near"))
        lsh.insert(doc_id, signature)
    return tuple(sorted(pairs, key=lambda p: p.doc_id))
