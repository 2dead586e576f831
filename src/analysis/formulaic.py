"""Measure formulaic language in cleaned paragraphs (RQ3): slogans, numbered formulations, text reuse.

Paragraphs (``doc_id, para_id, place, text``) -> lexicon matches, candidate new
formulations, passages shared between reports -> per-paragraph, per-report and
per-place shares of characters that are formula versus locally specific text.

The lexicon lives in ``resources/formulations.yml`` (keys ``slogans``,
``formulations``, ``ordinary_words``, ``measure_words``); no word list is held
in this module.

Examples
--------
>>> from analysis import formulaic
>>> [(s.start, s.end, s.entry) for s in formulaic.find_formulations("坚持“三会一课”制度。")]
[(3, 7, '三会一课')]
>>> [s.text for s in formulaic.find_slogans("学党史,悟思想,办实事,开新局")]
['学党史,悟思想,办实事,开新局']
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import operator
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from . import duplicates, paths
from .errors import InputError, value_invalid_msg
from .storage import read_yaml

__all__ = [
    "FORMULATIONS_PATH",
    "KINDS",
    "DEFAULT_MIN_REUSE_CHARS",
    "MAX_FORMULATION_CHARS",
    "Formulations",
    "LexiconSpan",
    "ReusedPassage",
    "FormulaicShares",
    "load_formulations",
    "find_slogans",
    "find_formulations",
    "lexicon_matches",
    "discover_formulations",
    "normalize_for_reuse",
    "reused_passages",
    "REUSE_METHODS",
    "DEFAULT_MAX_ALL_PAIRS_REPORTS",
    "DEFAULT_MAX_CANDIDATES",
    "DEFAULT_LSH_THRESHOLD",
    "DEFAULT_LSH_NUM_PERM",
    "DEFAULT_MAX_PARAGRAPH_REPORTS",
    "reuse_candidates",
    "reused_mask",
    "resolve_reuse_method",
    "passage_spread",
    "formulaic_shares",
    "RE_NUMERAL",
    "RE_QUOTED",
]

logger = logging.getLogger(__name__)

FORMULATIONS_PATH = paths.RESOURCES_DIR / "formulations.yml"

#: The character classes, in priority order (a character is counted once, in the first that covers it).
KINDS: tuple[str, ...] = ("slogan", "formulation", "reused", "local")

#: Shortest shared passage (in normalised characters: no punctuation, no whitespace) counted as reuse.
DEFAULT_MIN_REUSE_CHARS = 8
#: How report pairs are chosen for the passage search: ``"all_pairs"`` (every pair), ``"candidates"``
#: (MinHash/LSH candidate pairs, bounded per report) or ``"auto"`` (all pairs up to a number of reports).
REUSE_METHODS: tuple[str, ...] = ("auto", "all_pairs", "candidates")
#: Above this many reports ``reuse_method="auto"`` switches from all pairs to LSH candidate pairs
#: (100 reports are 4,950 pairs; the all-pairs search grows with the square of the reports that share
#: a genre phrase, see benchmarks/formulaic.md).
DEFAULT_MAX_ALL_PAIRS_REPORTS = 100
#: Candidate partners kept per report (those sharing the most near-identical paragraphs first).
DEFAULT_MAX_CANDIDATES = 10
#: Estimated Jaccard similarity (5-character shingles) from which two paragraphs are near-identical.
DEFAULT_LSH_THRESHOLD = 0.5
#: Permutations of each paragraph's MinHash signature.
DEFAULT_LSH_NUM_PERM = 64
#: A paragraph (with its near-identical variants) found in more reports than this is genre boilerplate:
#: it proposes no candidate pair (its characters still count as reused in the shares).
DEFAULT_MAX_PARAGRAPH_REPORTS = 50
#: Paragraphs with fewer normalised characters than this propose no candidate pair (too short to tell).
MIN_LSH_PARAGRAPH_CHARS = 20
#: Longest candidate formulation proposed by discovery, in characters.
MAX_FORMULATION_CHARS = 8
#: Shortest candidate formulation proposed by discovery, in characters.
MIN_FORMULATION_CHARS = 2
#: Characters of context shown on each side of a discovered candidate.
DEFAULT_CONTEXT_CHARS = 15
#: Contexts kept per discovered candidate.
DEFAULT_MAX_CONTEXTS = 5
#: Examples kept per place and kind in :func:`formulaic_shares`.
DEFAULT_TOP_EXAMPLES = 5
#: Local-text examples longer than this are shortened with an ellipsis.
MAX_EXAMPLE_CHARS = 60

_REQUIRED_KEYS = ("slogans", "formulations")
_OPTIONAL_KEYS = ("ordinary_words", "measure_words")

# Character tables (not word lists): Chinese numerals and quotation marks.
_NUMERAL_CHARS = "〇零一二三四五六七八九十两百千万亿"
#: One Chinese numeral character.
RE_NUMERAL: re.Pattern[str] = re.compile(f"[{_NUMERAL_CHARS}]")
#: A quoted stretch (Chinese or straight quotes) of at most 40 characters on one line.
RE_QUOTED: re.Pattern[str] = re.compile(
    r"“([^“”\n]{1,40})”|「([^「」\n]{1,40})」|『([^『』\n]{1,40})』|\"([^\"\n]{1,40})\""
)
# Separators between the items of a quoted list (“一周一调度、一周一简报”) or the phrases of a slogan.
_RE_ITEM_SEP = re.compile(r"[、，,；;：:\s/]+")
_SEP_CLASS = r"[、，,；;：:\s]*"
# Alternating numbered formulation: numeral, one char, numeral, one char (...), e.g. 三会一课, 一办五部四专班,
# 一周一调度. The last item may take a second character when punctuation or a quote follows.
_RE_ALTERNATING = re.compile(
    rf"(?<![{_NUMERAL_CHARS}第0-9])[{_NUMERAL_CHARS}](?:(?:[^\W\d{_NUMERAL_CHARS}_]){{1,2}}[{_NUMERAL_CHARS}])+"
    rf"[^\W\d{_NUMERAL_CHARS}_](?:[^\W\d{_NUMERAL_CHARS}_](?=[^\w]|$))?"
)
_RE_DATE_LIKE = re.compile(rf"^[{_NUMERAL_CHARS}]+[年月][{_NUMERAL_CHARS}]+[月日号]?$")


# ---------------------------------------------------------------------------
# Lexicon


@dataclass(frozen=True, slots=True)
class Formulations:
    """The validated lexicon of ``formulations.yml``.

    ``sha256`` is the hash of the file's bytes (empty for an in-memory lexicon),
    recorded next to every output made with it.
    """

    slogans: tuple[str, ...]
    formulations: tuple[str, ...]
    ordinary_words: tuple[str, ...] = ()
    measure_words: tuple[str, ...] = ()
    path: str = ""
    sha256: str = ""


@dataclass(frozen=True, slots=True)
class LexiconSpan:
    """A lexicon entry found in a text: ``text[start:end]``, the entry it matches and its kind."""

    start: int
    end: int
    text: str
    entry: str
    kind: str


@dataclass(frozen=True, slots=True)
class ReusedPassage:
    """A maximal passage shared by two reports, located in both.

    ``text`` is the passage as written in ``doc_a``; ``n_chars`` is its length
    after normalisation (punctuation and whitespace removed).
    """

    doc_a: str
    start_a: int
    end_a: int
    doc_b: str
    start_b: int
    end_b: int
    n_chars: int
    text: str


def load_formulations(path: str | Path | None = None) -> Formulations:
    """Load and validate the formulaic-language lexicon.

    Parameters
    ----------
    path : str or Path or None, default=None
        A YAML file with the keys ``slogans`` and ``formulations`` (required)
        and ``ordinary_words``, ``measure_words`` (optional), each a list of
        non-empty strings. ``None`` reads the bundled ``resources/formulations.yml``.

    Returns
    -------
    Formulations

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    InputError
        If the file is not valid YAML, has an unknown or missing key, a value
        that is not a list of non-empty strings, or a duplicated entry.

    Examples
    --------
    >>> lexicon = load_formulations()
    >>> "三会一课" in lexicon.formulations
    True
    """
    if path is None:
        return _load_default()
    return _load_formulations(Path(path))


def _load_default() -> Formulations:
    return _load_formulations(FORMULATIONS_PATH)


def _load_formulations(path: Path) -> Formulations:
    raw = path.read_bytes() if path.is_file() else b""
    data = read_yaml(path, what="formulations lexicon")
    if not isinstance(data, dict):
        raise InputError(path, f"the lexicon must be a mapping of lists, got {type(data).__name__}")
    allowed = set(_REQUIRED_KEYS) | set(_OPTIONAL_KEYS)
    for key in sorted(data, key=str):
        if key not in allowed:
            raise InputError(path, value_invalid_msg("key", key, allowed))
    for key in _REQUIRED_KEYS:
        if key not in data:
            raise InputError(
                path, f"required key {key!r} is missing (keys must include {list(_REQUIRED_KEYS)})"
            )
    values: dict[str, tuple[str, ...]] = {}
    for key in (*_REQUIRED_KEYS, *_OPTIONAL_KEYS):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise InputError(path, f"{key!r} must be a list of strings, got {type(items).__name__}")
        seen: set[str] = set()
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise InputError(path, f"{key}[{i}] must be a non-empty string, got {item!r}")
            if item.strip() != item:
                raise InputError(path, f"{key}[{i}] {item!r} has leading or trailing whitespace")
            if item in seen:
                raise InputError(path, f"{key}[{i}] {item!r} is listed twice")
            seen.add(item)
        values[key] = tuple(items)
    return Formulations(**values, path=str(path), sha256=hashlib.sha256(raw).hexdigest())


# ---------------------------------------------------------------------------
# Lexicon matching


@dataclass(frozen=True, slots=True)
class _Matcher:
    patterns: tuple[tuple[str, re.Pattern[str]], ...]
    #: The first phrase of each entry, a literal every match contains (a cheap ``in`` test before the regex).
    heads: tuple[str, ...] = ()


_MATCHER_CACHE: dict[tuple[tuple[str, ...], str], _Matcher] = {}


def _entry_pattern(entry: str) -> re.Pattern[str]:
    """Regex for a lexicon entry: its phrases joined by any (or no) separator, numeral-guarded."""
    parts = [p for p in _RE_ITEM_SEP.split(entry) if p]
    body = _SEP_CLASS.join(re.escape(p) for p in parts)
    # A formulation that begins (ends) with a numeral must not continue a longer number (十四史, 五个一百).
    head = f"(?<![{_NUMERAL_CHARS}0-9])" if RE_NUMERAL.match(entry[0]) else ""
    tail = f"(?![{_NUMERAL_CHARS}0-9])" if RE_NUMERAL.match(entry[-1]) else ""
    return re.compile(head + body + tail)


def _matcher(entries: tuple[str, ...], kind: str) -> _Matcher:
    key = (entries, kind)
    if key not in _MATCHER_CACHE:
        _MATCHER_CACHE[key] = _Matcher(
            tuple((e, _entry_pattern(e)) for e in entries),
            tuple(next((p for p in _RE_ITEM_SEP.split(e) if p), "") for e in entries),
        )
    return _MATCHER_CACHE[key]


def _find_entries(text: str, entries: tuple[str, ...], kind: str) -> Iterator[LexiconSpan]:
    if not isinstance(text, str):
        raise TypeError(f"`text` must be a str, got {type(text).__name__}")
    for start, end, entry in _entry_spans(text, entries, kind):
        yield LexiconSpan(start, end, text[start:end], entry, kind)


@functools.lru_cache(maxsize=8192)
def _entry_spans(text: str, entries: tuple[str, ...], kind: str) -> tuple[tuple[int, int, str], ...]:
    """Non-overlapping matches of the entries in ``text``, in text order (cached: every reuse setting asks)."""
    found: list[tuple[int, int, str]] = []
    matcher = _matcher(entries, kind)
    for (entry, pattern), head in zip(matcher.patterns, matcher.heads, strict=True):
        if head in text:  # every match of the pattern begins with this literal phrase
            found.extend((m.start(), m.end(), entry) for m in pattern.finditer(text))
    # Longest first, then leftmost; keep a match only where no kept match overlaps it.
    found.sort(key=lambda t: (-(t[1] - t[0]), t[0], t[2]))
    taken = [False] * (len(text) + 1)
    kept: list[tuple[int, int, str]] = []
    for start, end, entry in found:
        if any(taken[start:end]):
            continue
        for i in range(start, end):
            taken[i] = True
        kept.append((start, end, entry))
    return tuple(sorted(kept))


def find_slogans(text: str, *, lexicon: Formulations | None = None) -> Iterator[LexiconSpan]:
    """Yield the slogans of the lexicon found in ``text``, in text order.

    Matching is longest first without overlaps: in 学党史、悟思想、办实事、开新局
    the whole slogan is one span, not four. Phrases of a multi-phrase slogan may
    be separated by any of 、 , ; : or whitespace, or by nothing.

    Parameters
    ----------
    text : str
    lexicon : Formulations or None, default=None
        ``None`` uses the bundled lexicon.

    Yields
    ------
    LexiconSpan
        With ``kind="slogan"``; ``entry`` is the lexicon form.

    Examples
    --------
    >>> [(s.text, s.start) for s in find_slogans("各级党组织坚持学史力行,我为群众办实事。")]
    [('学史力行', 7), ('我为群众办实事', 12)]
    >>> list(find_slogans("今天天气很好。"))
    []
    """
    lexicon = lexicon or _load_default_cached()
    yield from _find_entries(text, lexicon.slogans, "slogan")


def find_formulations(text: str, *, lexicon: Formulations | None = None) -> Iterator[LexiconSpan]:
    """Yield the numbered formulations of the lexicon found in ``text``, in text order.

    Longest first without overlaps. A formulation starting (ending) with a
    numeral is not matched when another numeral or digit precedes (follows) it,
    so 四史 is not found inside 十四史.

    Parameters
    ----------
    text : str
    lexicon : Formulations or None, default=None
        ``None`` uses the bundled lexicon.

    Yields
    ------
    LexiconSpan
        With ``kind="formulation"``.

    Examples
    --------
    >>> [(s.text, s.start, s.end) for s in find_formulations("做好“七个一”,落实“三会一课”。")]
    [('七个一', 3, 6), ('三会一课', 11, 15)]
    """
    lexicon = lexicon or _load_default_cached()
    yield from _find_entries(text, lexicon.formulations, "formulation")


_DEFAULT_LEXICON: list[Formulations] = []


def _load_default_cached() -> Formulations:
    if not _DEFAULT_LEXICON:
        _DEFAULT_LEXICON.append(_load_default())
    return _DEFAULT_LEXICON[0]


_MATCH_COLUMNS = ["doc_id", "para_id", "place", "kind", "entry", "text", "start", "end"]


def lexicon_matches(paragraphs: pd.DataFrame, *, lexicon: Formulations | None = None) -> pd.DataFrame:
    """Every slogan and numbered formulation of the lexicon found in the paragraphs, as a table.

    Parameters
    ----------
    paragraphs : DataFrame
        Columns ``doc_id``, ``para_id``, ``text``; ``place`` is carried over
        when present.
    lexicon : Formulations or None, default=None
        ``None`` uses the bundled lexicon.

    Returns
    -------
    DataFrame
        One row per match, sorted by ``para_id, start, kind``. Columns
        ``doc_id, para_id, place`` (None without a ``place`` column),
        ``kind`` (``"slogan"`` or ``"formulation"``), ``entry`` (the lexicon
        form), ``text`` (as written), ``start``, ``end`` (offsets into the
        paragraph text). Slogans and formulations are matched independently
        (as :func:`find_slogans` and :func:`find_formulations`), so a
        formulation inside a slogan is listed under both.

    Raises
    ------
    ValueError
        On missing columns, non-string cells or duplicated ``para_id``.

    Examples
    --------
    >>> import pandas as pd
    >>> paras = pd.DataFrame({"doc_id": ["d"], "para_id": ["d:p000"], "place": ["甲区"],
    ...                       "text": ["落实“三会一课”,我为群众办实事。"]})
    >>> lexicon_matches(paras)[["kind", "entry", "start"]].to_numpy().tolist()
    [['formulation', '三会一课', 3], ['slogan', '我为群众办实事', 9]]
    """
    paragraphs = _check_paragraphs(paragraphs, name="paragraphs", columns=_PARAGRAPH_COLUMNS)
    lexicon = lexicon or _load_default_cached()
    has_place = "place" in paragraphs.columns
    columns = ["doc_id", "para_id", "text", *(["place"] if has_place else [])]
    rows = []
    for values in paragraphs[columns].itertuples(index=False, name=None):
        doc_id, para_id, text = values[:3]
        place = values[3] if has_place else None
        for finder in (find_slogans, find_formulations):
            for span in finder(text, lexicon=lexicon):
                rows.append((doc_id, para_id, place, span.kind, span.entry, span.text, span.start, span.end))
    out = pd.DataFrame(rows, columns=_MATCH_COLUMNS)
    out = out.sort_values(["para_id", "start", "kind"], kind="mergesort").reset_index(drop=True)
    out = out.astype({"start": "int64", "end": "int64"})
    out.attrs.update(lexicon_sha256=lexicon.sha256)
    return out


# ---------------------------------------------------------------------------
# Discovery of new numbered formulations


_PARAGRAPH_COLUMNS = ("doc_id", "para_id", "text")


def _check_paragraphs(paragraphs: pd.DataFrame, *, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    if not isinstance(paragraphs, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame, got {type(paragraphs).__name__}")
    missing = [c for c in columns if c not in paragraphs.columns]
    if missing:
        raise ValueError(
            f"`{name}` is missing column(s) {missing}; expected columns {list(columns)}, "
            f"got {list(paragraphs.columns)}"
        )
    if paragraphs.empty:
        raise ValueError(f"`{name}` has no rows; there are no paragraphs to analyse")
    for col in columns:
        bad = paragraphs[col].map(lambda v: not isinstance(v, str))
        if bad.any():
            row = paragraphs.index[bad.to_numpy()][0]
            raise ValueError(
                f"`{name}`: column {col!r} must hold strings; row {row!r} has {paragraphs.at[row, col]!r}"
            )
    if paragraphs["para_id"].duplicated().any():
        dup = paragraphs.loc[paragraphs["para_id"].duplicated(), "para_id"].iloc[0]
        raise ValueError(f"`{name}`: para_id {dup!r} occurs more than once; para_id must be unique")
    return paragraphs


def _ordinary_mask(text: str, ordinary_words: tuple[str, ...]) -> list[bool]:
    """True for every character inside an occurrence of an ordinary word."""
    mask = [False] * len(text)
    for word in ordinary_words:
        start = text.find(word)
        while start != -1:
            for i in range(start, start + len(word)):
                mask[i] = True
            start = text.find(word, start + 1)
    return mask


def _has_free_numeral(text: str, start: int, end: int, mask: list[bool]) -> bool:
    return any(RE_NUMERAL.match(text[i]) and not mask[i] for i in range(start, end))


def _quoted_items(text: str) -> Iterator[tuple[int, int]]:
    """Spans of the items of every quoted stretch (a quoted list is split at its separators)."""
    for m in RE_QUOTED.finditer(text):
        group = next(g for g in range(1, 5) if m.group(g) is not None)
        offset = m.start(group)
        content = m.group(group)
        pos = 0
        for sep in [*_RE_ITEM_SEP.finditer(content), None]:
            end = sep.start() if sep else len(content)
            if end > pos:
                yield offset + pos, offset + end
            if sep:
                pos = sep.end()


@functools.lru_cache(maxsize=8)
def _numeral_measure_numeral(measure_words: tuple[str, ...]) -> re.Pattern[str]:
    measure = "|".join(re.escape(w) for w in sorted(measure_words, key=lambda w: (-len(w), w)))
    return re.compile(
        f"(?<![{_NUMERAL_CHARS}第0-9])[{_NUMERAL_CHARS}](?:{measure})[{_NUMERAL_CHARS}](?![{_NUMERAL_CHARS}0-9])"
    )


def _raw_candidate_spans(text: str, lexicon: Formulations) -> Iterator[tuple[int, int, str]]:
    mask = _ordinary_mask(text, lexicon.ordinary_words)
    for start, end in _quoted_items(text):
        # Trim punctuation at the ends of an item (“七进”。 -> 七进).
        while start < end and not text[start].isalnum():
            start += 1
        while end > start and not text[end - 1].isalnum():
            end -= 1
        item = text[start:end]
        if (
            MIN_FORMULATION_CHARS <= len(item) <= MAX_FORMULATION_CHARS
            and _has_free_numeral(text, start, end, mask)
            and not _RE_DATE_LIKE.match(item)
        ):
            yield start, end, "quoted"
    for m in _RE_ALTERNATING.finditer(text):
        numerals = [i for i in range(m.start(), m.end()) if RE_NUMERAL.match(text[i])]
        if all(not mask[i] for i in numerals) and not _RE_DATE_LIKE.match(m.group()):
            yield m.start(), m.end(), "alternating"
    if lexicon.measure_words:
        for m in _numeral_measure_numeral(lexicon.measure_words).finditer(text):
            if _has_free_numeral(text, m.start(), m.end(), mask) and not _RE_DATE_LIKE.match(m.group()):
                yield m.start(), m.end(), "numeral_measure_numeral"


def _candidate_spans(text: str, lexicon: Formulations) -> list[tuple[int, int, str]]:
    """(start, end, rules) of candidate numbered formulations in one text, longest first without overlaps.

    A span proposed by several rules keeps all of them (``;``-joined); a span
    overlapping a longer one is dropped (一周一 inside 一周一调度).
    """
    rules: dict[tuple[int, int], set[str]] = defaultdict(set)
    for start, end, rule in _raw_candidate_spans(text, lexicon):
        rules[(start, end)].add(rule)
    kept: list[tuple[int, int, str]] = []
    for start, end in sorted(rules, key=lambda se: (se[0] - se[1], se[0])):
        if any(start < e and s < end for s, e, _ in kept):
            continue
        kept.append((start, end, ";".join(sorted(rules[(start, end)]))))
    return sorted(kept)


def _canonical(entry: str) -> str:
    return _RE_ITEM_SEP.sub("", entry)


def _count_occurrences(
    rows: Sequence[tuple[str, str, str]], candidates: Sequence[str], ordinary_words: tuple[str, ...],
    max_contexts: int, context_chars: int,
) -> list[tuple[int, set[str], list[str], str]]:
    """Per candidate: (occurrences with a free numeral, their doc_ids, the first contexts, the first para_id).

    An occurrence is what ``str.find`` finds from the start of a paragraph and
    then from the end of the last occurrence (so they never overlap), counted
    when a numeral of it is not inside an ordinary word. One pass over the
    paragraphs for all candidates: every candidate holds a numeral (each rule
    asks for one), so its occurrences are looked up at the numerals of the
    text, by the two characters at the candidate's first numeral. Comparing
    every candidate with every paragraph instead costs candidates x
    paragraphs, and a corpus of many places has many local formulations.
    """
    ahead: dict[str, list[tuple[int, int]]] = defaultdict(list)  # numeral and the next character
    behind: dict[str, list[tuple[int, int]]] = defaultdict(list)  # the character before and the numeral
    for i, candidate in enumerate(candidates):
        k = next((j for j, ch in enumerate(candidate) if RE_NUMERAL.match(ch)), None)
        if k is None or len(candidate) < 2:
            raise ValueError(f"candidate formulation {candidate!r} holds no numeral or is one character long")
        if k + 1 < len(candidate):
            ahead[candidate[k : k + 2]].append((k, i))
        else:
            behind[candidate[k - 1 : k + 1]].append((k, i))
    found: list[list] = [[0, set(), [], ""] for _ in candidates]
    for doc_id, para_id, text in rows:
        mask = None
        next_start: dict[int, int] = {}  # where str.find would look for a candidate's next occurrence
        for m in RE_NUMERAL.finditer(text):
            q = m.start()
            hits = ahead.get(text[q : q + 2], [])
            if q and behind:
                hits = [*hits, *behind.get(text[q - 1 : q + 1], [])]
            for k, i in hits:
                start, candidate = q - k, candidates[i]
                if start < next_start.get(i, 0) or not text.startswith(candidate, start):
                    continue
                end = start + len(candidate)
                next_start[i] = end
                mask = mask if mask is not None else _ordinary_mask(text, ordinary_words)
                if _has_free_numeral(text, start, end, mask):
                    entry = found[i]
                    entry[0] += 1
                    entry[1].add(doc_id)
                    entry[3] = entry[3] or para_id
                    if len(entry[2]) < max_contexts:
                        left = text[max(0, start - context_chars) : start]
                        entry[2].append(f"{left}【{candidate}】{text[end : end + context_chars]}")
    return [tuple(entry) for entry in found]


def discover_formulations(
    paragraphs: pd.DataFrame,
    *,
    lexicon: Formulations | None = None,
    min_count: int = 1,
    exclude_known: bool = True,
    max_contexts: int = DEFAULT_MAX_CONTEXTS,
    context_chars: int = DEFAULT_CONTEXT_CHARS,
) -> pd.DataFrame:
    """Candidate new numbered formulations, each with its contexts, for a researcher to review.

    Parameters
    ----------
    paragraphs : DataFrame
        Columns ``doc_id``, ``para_id``, ``text`` (others are ignored).
    lexicon : Formulations or None, default=None
        Supplies the ordinary words, the measure words and the known entries.
    min_count : int, default=1
        Keep candidates occurring at least this often in the corpus.
    exclude_known : bool, default=True
        Drop candidates that are already slogans or formulations of the lexicon.
    max_contexts : int, default=5
        Contexts kept per candidate (the first ones in corpus order).
    context_chars : int, default=15
        Characters shown on each side of the candidate in a context.

    Returns
    -------
    DataFrame
        One row per candidate, sorted by ``count`` (descending), then
        ``n_documents`` (descending), then ``candidate``. Columns:

        - ``candidate`` (str): the formulation as written;
        - ``rule`` (str): the pattern(s) that proposed it, ``;``-joined;
        - ``count`` (int): occurrences in all paragraphs (quoted or not);
        - ``n_documents`` (int) and ``doc_ids`` (str, ``;``-joined, sorted);
        - ``known`` (bool): already in the lexicon;
        - ``first_para_id`` (str);
        - ``contexts`` (list of str): ``left【candidate】right``.

    Raises
    ------
    ValueError
        On missing columns, non-string cells, duplicated ``para_id`` or a bad option.

    Notes
    -----
    Three general patterns propose candidates; none names a particular formulation:

    1. ``quoted``: an item of a quoted stretch (“…”, 「…」, straight quotes;
       a quoted list is split at 、 , ; :) of 2 to ``MAX_FORMULATION_CHARS``
       characters that contains a Chinese numeral: “四史”, “一条主线”, “三问于民”.
    2. ``alternating``: numeral + one or two characters, repeated, ending in one
       character (two before punctuation): 三会一课, 一办五部四专班, 一楼一议, 一周一调度.
    3. ``numeral_measure_numeral``: numeral + measure word + numeral: 七个一, 三个七.

    A numeral inside an ordinary word of the lexicon (一线, 进一步, 千家万户)
    does not count, and date-like strings (三月五日) are dropped. Once proposed,
    every occurrence of the candidate is counted, quoted or not. The patterns
    favour recall; ``contexts`` let a researcher accept or reject each one.

    Examples
    --------
    >>> import pandas as pd
    >>> paras = pd.DataFrame({"doc_id": ["d"], "para_id": ["d:p000"],
    ...                       "text": ["推行“一村一策”工作法,做到“五个一”。"]})
    >>> discover_formulations(paras, exclude_known=False)[["candidate", "rule", "count"]].to_numpy().tolist()
    [['一村一策', 'alternating;quoted', 1], ['五个一', 'numeral_measure_numeral;quoted', 1]]
    """
    paragraphs = _check_paragraphs(paragraphs, name="paragraphs", columns=_PARAGRAPH_COLUMNS)
    for name, value, low in (
        ("min_count", min_count, 1),
        ("max_contexts", max_contexts, 0),
        ("context_chars", context_chars, 0),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}")
    lexicon = lexicon or _load_default_cached()
    known = {_canonical(e) for e in (*lexicon.slogans, *lexicon.formulations)}
    rows = list(paragraphs[list(_PARAGRAPH_COLUMNS)].itertuples(index=False, name=None))

    rules: dict[str, set[str]] = defaultdict(set)
    for _doc_id, _para_id, text in rows:
        for start, end, rule in _candidate_spans(text, lexicon):
            rules[text[start:end]].update(rule.split(";"))

    records = []
    candidates = [c for c in sorted(rules) if not (exclude_known and _canonical(c) in known)]
    for candidate, (count, docs, contexts, first_para) in zip(
        candidates, _count_occurrences(rows, candidates, lexicon.ordinary_words, max_contexts, context_chars),
        strict=True,
    ):
        is_known = _canonical(candidate) in known
        if count >= min_count:
            records.append(
                {
                    "candidate": candidate,
                    "rule": ";".join(sorted(rules[candidate])),
                    "count": count,
                    "n_documents": len(docs),
                    "doc_ids": ";".join(sorted(docs)),
                    "known": is_known,
                    "first_para_id": first_para,
                    "contexts": contexts,
                }
            )
    columns = ["candidate", "rule", "count", "n_documents", "doc_ids", "known", "first_para_id", "contexts"]
    if not records:
        logger.warning(
            "discover_formulations: no candidate numbered formulation in %d paragraphs (min_count=%d)",
            len(rows),
            min_count,
        )
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame.from_records(records, columns=columns)
    out = out.sort_values(
        ["count", "n_documents", "candidate"], ascending=[False, False, True], kind="mergesort"
    )
    out = out.reset_index(drop=True).astype({"count": "int64", "n_documents": "int64", "known": "bool"})
    out.attrs.update(lexicon_sha256=lexicon.sha256, min_count=min_count, exclude_known=exclude_known)
    return out


# ---------------------------------------------------------------------------
# Text reuse


@functools.lru_cache(maxsize=65536)
def _is_content_char(ch: str) -> bool:
    """False for whitespace, punctuation and symbols (they are ignored when comparing texts)."""
    return not ch.isspace() and unicodedata.category(ch)[0] not in "PSZC"


def _strip_non_content(text: str) -> str:
    """``text`` without punctuation, symbols or whitespace at either end."""
    start, end = 0, len(text)
    while start < end and not _is_content_char(text[start]):
        start += 1
    while end > start and not _is_content_char(text[end - 1]):
        end -= 1
    return text[start:end]


def normalize_for_reuse(text: str) -> tuple[str, list[int]]:
    """Text without punctuation, symbols and whitespace (NFKC-folded), and the offset of each character.

    A line break is kept as a hard boundary: passages never cross it.

    Examples
    --------
    >>> normalize_for_reuse("学党史、悟思想 ")
    ('学党史悟思想', [0, 1, 2, 4, 5, 6])
    """
    normalized, offsets = _normalized(text)
    return normalized, offsets.tolist()


def _normalized(text: str) -> tuple[str, np.ndarray]:
    """:func:`normalize_for_reuse`'s text and offsets (int64 array), vectorised over the text's characters.

    Each distinct character is folded once (:func:`_folded`); ``str.translate``
    builds the text and ``numpy.repeat`` the offsets, so no Python loop runs
    over the characters themselves.
    """
    if not text:
        return "", np.zeros(0, dtype=np.int64)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    distinct, inverse = np.unique(codes, return_inverse=True)
    table = {int(c): _folded(chr(c)) for c in distinct.tolist()}
    lengths = np.fromiter((len(table[c]) for c in distinct.tolist()), dtype=np.int64, count=len(distinct))
    offsets = np.repeat(np.arange(len(text), dtype=np.int64), lengths[inverse.ravel()])
    return text.translate(table), offsets


@functools.cache
def _folded(ch: str) -> str:
    """What one character becomes in :func:`normalize_for_reuse`: itself (line break), nothing, or its NFKC case fold."""
    if ch == "\n":
        return ch
    if not _is_content_char(ch):
        return ""
    return unicodedata.normalize("NFKC", ch).casefold()


def _fold_table(chars: Iterable[str]) -> dict[int, str]:
    """A ``str.translate`` table doing :func:`normalize_for_reuse`'s text for these characters (C speed).

    Line breaks are kept, other non-content characters removed, the rest NFKC-folded and case-folded:
    ``text.translate(_fold_table(set(text)))`` equals ``normalize_for_reuse(text)[0]``.
    """
    return {ord(ch): _folded(ch) for ch in chars}


def _iter_reused(
    texts: dict[str, str], min_chars: int, pairs: set[tuple[str, str]] | None
) -> Iterator[ReusedPassage]:
    doc_ids = sorted(texts)
    norm = {d: normalize_for_reuse(texts[d]) for d in doc_ids}
    # Index every n-gram (n = min_chars) that does not cross a line break.
    index: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for d in doc_ids:
        s = norm[d][0]
        for i in range(len(s) - min_chars + 1):
            gram = s[i : i + min_chars]
            if "\n" in gram:
                continue
            index[gram].setdefault(d, []).append(i)
    # Seeds per document pair and diagonal (pos_a - pos_b); consecutive seeds on a diagonal form one match.
    seeds: dict[tuple[str, str], dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for where in index.values():
        if len(where) < 2:
            continue
        docs = sorted(where)
        for ia, da in enumerate(docs):
            for db in docs[ia + 1 :]:
                if pairs is not None and (da, db) not in pairs:
                    continue
                diag = seeds[(da, db)]
                for pa in where[da]:
                    for pb in where[db]:
                        diag[pa - pb].append(pa)
    for da, db in sorted(seeds):
        s_a, off_a = norm[da]
        _s_b, off_b = norm[db]
        for delta in sorted(seeds[(da, db)]):
            starts = sorted(seeds[(da, db)][delta])
            run_start = prev = starts[0]
            for pa in [*starts[1:], None]:
                if pa is not None and pa == prev + 1:
                    prev = pa
                    continue
                # Match covers normalised chars [run_start, prev + min_chars) in a, shifted by -delta in b.
                na0, na1 = run_start, prev + min_chars
                nb0, nb1 = na0 - delta, na1 - delta
                start_a, end_a = off_a[na0], off_a[na1 - 1] + 1
                start_b, end_b = off_b[nb0], off_b[nb1 - 1] + 1
                yield ReusedPassage(
                    da, start_a, end_a, db, start_b, end_b, na1 - na0, texts[da][start_a:end_a]
                )
                if pa is not None:
                    run_start = prev = pa


_PASSAGE_COLUMNS = [f.name for f in dataclasses.fields(ReusedPassage)]


def reused_passages(
    texts_by_doc: Mapping[str, str],
    *,
    min_chars: int = DEFAULT_MIN_REUSE_CHARS,
    pairs: Iterable[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Maximal passages shared by two reports, located in both.

    Parameters
    ----------
    texts_by_doc : Mapping of str to str
        Report text by ``doc_id``; pass a report as its paragraphs joined by
        ``"\\n"`` (a passage never crosses a line break).
    min_chars : int, default=8
        Shortest passage, counted in normalised characters (punctuation,
        symbols and whitespace removed).
    pairs : iterable of (str, str) or None, default=None
        Restrict the comparison to these document pairs (order does not
        matter); ``None`` compares every pair.

    Returns
    -------
    DataFrame
        One row per maximal shared passage and occurrence pair, sorted by
        ``doc_a, doc_b, start_a, start_b``, with ``doc_a < doc_b``. Columns:
        ``doc_a, start_a, end_a, doc_b, start_b, end_b`` (str offsets into the
        given texts, end exclusive), ``n_chars`` (normalised length) and
        ``text`` (the passage as written in ``doc_a``).

    Raises
    ------
    TypeError
        If ``texts_by_doc`` is not a mapping of str to str.
    ValueError
        If ``min_chars`` < 2 or a pair names an unknown document.

    Notes
    -----
    Every n-gram (n = ``min_chars``) of the normalised texts is hashed once
    (a dict keyed by the n-gram itself, so there are no false matches). An
    n-gram found in two reports seeds a match on the diagonal
    ``pos_a - pos_b``; consecutive seeds on one diagonal are merged, which
    gives exactly the maximal matches of at least ``min_chars`` characters.
    The cost is linear in the corpus size plus the number of shared
    n-gram occurrences. Passages that recur inside one report are reported
    once per pair of occurrences.

    Examples
    --------
    >>> df = reused_passages({"a": "我区深入开展党史学习教育,成效明显。",
    ...                       "b": "全市深入开展党史学习教育。"})
    >>> df[["start_a", "end_a", "start_b", "end_b", "text"]].to_numpy().tolist()
    [[2, 12, 2, 12, '深入开展党史学习教育']]
    """
    if not isinstance(texts_by_doc, Mapping):
        raise TypeError(
            f"`texts_by_doc` must be a mapping of doc_id to text, got {type(texts_by_doc).__name__}"
        )
    for doc_id, text in texts_by_doc.items():
        if not isinstance(doc_id, str) or not isinstance(text, str):
            raise TypeError(f"`texts_by_doc`: entry {doc_id!r} must map a str doc_id to a str text")
    if not isinstance(min_chars, int) or isinstance(min_chars, bool) or min_chars < 2:
        raise ValueError(f"`min_chars` must be an integer >= 2, got {min_chars!r}")
    pair_set: set[tuple[str, str]] | None = None
    if pairs is not None:
        pair_set = set()
        for a, b in pairs:
            for d in (a, b):
                if d not in texts_by_doc:
                    raise ValueError(value_invalid_msg("pairs document", d, texts_by_doc.keys()))
            pair_set.add((min(a, b), max(a, b)))
    if len(texts_by_doc) < 2:
        logger.warning("reused_passages: fewer than two documents; no reuse can be found")
    records = list(_iter_reused(dict(texts_by_doc), min_chars, pair_set))
    row = operator.attrgetter(*_PASSAGE_COLUMNS)  # flat fields: no need for astuple's deep copies
    out = pd.DataFrame([row(r) for r in records], columns=_PASSAGE_COLUMNS)
    out = out.sort_values(["doc_a", "doc_b", "start_a", "start_b"], kind="mergesort").reset_index(drop=True)
    return out.astype({c: "int64" for c in ("start_a", "end_a", "start_b", "end_b", "n_chars")})


# ---------------------------------------------------------------------------
# Text reuse at scale: hashed n-grams, MinHash/LSH candidate pairs, passages of candidate pairs


#: Multiplier and mixing constants of the 64-bit n-gram hash (splitmix64 finaliser).
_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_NEWLINE = 10


@dataclass(frozen=True, slots=True)
class _Grams:
    """A normalised text as code points, with the hash of each ``n``-gram that does not cross a line break."""

    codes: np.ndarray  # uint32 code points of the normalised text
    offsets: np.ndarray  # int64 raw offset of each normalised character
    starts: np.ndarray  # start (in the normalised text) of every valid n-gram, increasing
    hashes: np.ndarray  # uint64 hash of the n-gram at each start
    sorted_hashes: np.ndarray  # ``hashes`` sorted (stable), for merging two reports' n-grams
    sorted_starts: np.ndarray  # ``starts`` in the order of ``sorted_hashes``


def _grams(text: str, n: int) -> _Grams:
    """Hash every ``n``-gram of :func:`normalize_for_reuse`'s text (vectorised; O(len(text)))."""
    norm, offsets = _normalized(text)
    codes = np.frombuffer(norm.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    if len(codes) < n:
        empty, no_hashes = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
        return _Grams(codes, offsets, empty, no_hashes, no_hashes, empty)
    windows = np.lib.stride_tricks.sliding_window_view(codes.astype(np.uint64), n)
    powers = np.array([pow(int(_HASH_BASE), n - 1 - i, 1 << 64) for i in range(n)], dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = windows @ powers
        h ^= h >> np.uint64(30)
        h *= _MIX_1
        h ^= h >> np.uint64(27)
        h *= _MIX_2
        h ^= h >> np.uint64(31)
    newlines = np.concatenate([[0], np.cumsum(codes == _NEWLINE)])
    valid = newlines[n:] == newlines[:-n]
    starts = np.flatnonzero(valid)
    hashes = h[starts]
    order = np.argsort(hashes, kind="stable")
    return _Grams(codes, offsets, starts, hashes, hashes[order], starts[order])


def resolve_reuse_method(n_documents: int, method: str, *, max_all_pairs_reports: int) -> str:
    """``"all_pairs"`` or ``"candidates"``: ``method`` itself, or for ``"auto"`` the one ``n_documents`` calls for.

    Examples
    --------
    >>> resolve_reuse_method(5, "auto", max_all_pairs_reports=100), resolve_reuse_method(101, "auto", max_all_pairs_reports=100)
    ('all_pairs', 'candidates')
    """
    if method not in REUSE_METHODS:
        raise ValueError(value_invalid_msg("reuse_method", method, REUSE_METHODS))
    if not isinstance(max_all_pairs_reports, int) or isinstance(max_all_pairs_reports, bool) or max_all_pairs_reports < 2:
        raise ValueError(f"`max_all_pairs_reports` must be an integer >= 2, got {max_all_pairs_reports!r}")
    if method != "auto":
        return method
    return "all_pairs" if n_documents <= max_all_pairs_reports else "candidates"


def reused_mask(
    texts_by_doc: Mapping[str, str],
    *,
    min_chars: int = DEFAULT_MIN_REUSE_CHARS,
    group_of: Mapping[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """Which characters of each report lie in a passage of at least ``min_chars`` shared with another report.

    The same characters as those covered by :func:`reused_passages` on all
    pairs, found without comparing pairs: a normalised character is reused
    exactly when an ``min_chars``-gram covering it occurs in another report
    (in a report of another group, when ``group_of`` is given, e.g. the place
    of each report). Linear in the corpus size.

    Parameters
    ----------
    texts_by_doc : Mapping of str to str
        Report text by ``doc_id`` (paragraphs joined by ``"\\n"``).
    min_chars : int, default=8
    group_of : Mapping of str to str or None, default=None
        Text shared only within one group does not count.

    Returns
    -------
    dict of str to numpy.ndarray
        A boolean array over each text's characters; a reused passage covers
        its first to its last content character (punctuation inside included).

    Notes
    -----
    N-grams are compared by a 64-bit hash; two different n-grams share a
    hash with probability about m² / 2^65 for m distinct n-grams (below
    10^-5 for 10^7 n-grams), which would mark one n-gram as reused.

    Examples
    --------
    >>> mask = reused_mask({"a": "我区深入开展党史学习教育。", "b": "全市深入开展党史学习教育"})
    >>> "".join("x" if m else "." for m in mask["a"])
    '..xxxxxxxxxx.'
    """
    _check_texts(texts_by_doc)
    _check_min_chars(min_chars)
    if group_of is not None:
        missing = [d for d in sorted(texts_by_doc) if d not in group_of]
        if missing:
            raise ValueError(f"`group_of` has no group for doc_id(s) {missing[:5]}")
    return _reused_mask(texts_by_doc, min_chars, group_of, {d: _grams(t, min_chars) for d, t in texts_by_doc.items()})


def _reused_mask(texts_by_doc: Mapping[str, str], min_chars: int, group_of: Mapping[str, str] | None,
                 grams: Mapping[str, _Grams]) -> dict[str, np.ndarray]:
    """:func:`reused_mask` from each report's ``min_chars``-grams (computed once when passages need them too)."""
    doc_ids = sorted(texts_by_doc)
    groups = sorted({group_of[d] for d in doc_ids}) if group_of is not None else []
    code_of = {g: i for i, g in enumerate(groups)}
    uniq = [np.unique(grams[d].hashes, sorted=True) for d in doc_ids]
    if group_of is None:
        owners = [np.full(len(u), i, dtype=np.int64) for i, u in enumerate(uniq)]
    else:
        owners = [np.full(len(u), code_of[group_of[d]], dtype=np.int64) for d, u in zip(doc_ids, uniq, strict=True)]
    all_hashes = np.concatenate(uniq) if uniq else np.zeros(0, dtype=np.uint64)
    all_owners = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
    # Distinct (hash, owner) pairs, then hashes with at least two owners.
    order = np.lexsort((all_owners, all_hashes))
    h_sorted, o_sorted = all_hashes[order], all_owners[order]
    keep = np.ones(len(h_sorted), dtype=bool)
    keep[1:] = (h_sorted[1:] != h_sorted[:-1]) | (o_sorted[1:] != o_sorted[:-1])
    h_distinct = h_sorted[keep]
    values, counts = np.unique(h_distinct, return_counts=True)
    shared = values[counts >= 2]
    out: dict[str, np.ndarray] = {}
    for d in doc_ids:
        g = grams[d]
        mask = np.zeros(len(texts_by_doc[d]), dtype=bool)
        where = np.minimum(np.searchsorted(shared, g.hashes), max(len(shared) - 1, 0))
        hit = g.starts[shared[where] == g.hashes] if len(shared) else g.starts[:0]
        if len(hit):
            cover = np.zeros(len(g.codes) + 1, dtype=np.int64)
            np.add.at(cover, hit, 1)
            np.add.at(cover, hit + min_chars, -1)
            covered = np.cumsum(cover[:-1]) > 0
            edges = np.flatnonzero(np.diff(np.concatenate([[0], covered.astype(np.int8), [0]])))
            for n0, n1 in zip(edges[::2], edges[1::2], strict=True):
                mask[g.offsets[n0] : g.offsets[n1 - 1] + 1] = True
        out[d] = mask
    return out


def _check_texts(texts_by_doc: Mapping[str, str]) -> None:
    if not isinstance(texts_by_doc, Mapping):
        raise TypeError(
            f"`texts_by_doc` must be a mapping of doc_id to text, got {type(texts_by_doc).__name__}"
        )
    for doc_id, text in texts_by_doc.items():
        if not isinstance(doc_id, str) or not isinstance(text, str):
            raise TypeError(f"`texts_by_doc`: entry {doc_id!r} must map a str doc_id to a str text")


def _check_min_chars(min_chars: int) -> None:
    if not isinstance(min_chars, int) or isinstance(min_chars, bool) or min_chars < 2:
        raise ValueError(f"`min_chars` must be an integer >= 2, got {min_chars!r}")


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")


_CANDIDATE_COLUMNS = ["doc_a", "doc_b", "n_paragraphs", "best_jaccard"]


def reuse_candidates(
    texts_by_doc: Mapping[str, str],
    *,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    threshold: float = DEFAULT_LSH_THRESHOLD,
    num_perm: int = DEFAULT_LSH_NUM_PERM,
    max_paragraph_reports: int = DEFAULT_MAX_PARAGRAPH_REPORTS,
    group_of: Mapping[str, str] | None = None,
    random_state: int = 0,
    jobs: int | None = 1,
) -> pd.DataFrame:
    """Report pairs worth a passage search: those sharing near-identical paragraphs (MinHash/LSH), few per report.

    Parameters
    ----------
    texts_by_doc : Mapping of str to str
        Report text by ``doc_id``, paragraphs joined by ``"\\n"``.
    max_candidates : int, default=10
        Partners kept per report: those sharing the most near-identical
        paragraphs with it (then the highest estimated Jaccard, then doc_id).
        A pair is kept when either report keeps the other, so there are at
        most ``max_candidates`` x reports pairs.
    threshold : float, default=0.5
        LSH threshold on the Jaccard similarity of two paragraphs'
        5-character shingle sets (``duplicates.shingles``).
    num_perm : int, default=64
        Permutations of each paragraph's MinHash.
    max_paragraph_reports : int, default=50
        A paragraph whose near-identical variants are in more reports than
        this is boilerplate of the genre and proposes no pair.
    group_of : Mapping of str to str or None, default=None
        Keep only pairs of reports in different groups (e.g. places).
    random_state : int, default=0
        Seed of the MinHash permutations.
    jobs : int or None, default=1
        Local processes computing the paragraphs' MinHash signatures
        (``None`` or 0: every core); the pairs are the same whatever it is.

    Returns
    -------
    DataFrame
        Columns ``doc_a < doc_b``, ``n_paragraphs`` (paragraphs of either
        report with a near-identical one in the other, the larger count of
        the two sides) and ``best_jaccard`` (highest MinHash estimate of such
        a paragraph pair); sorted by ``doc_a, doc_b``. ``attrs`` records the
        settings and counts (``n_paragraphs_hashed``, ``n_boilerplate_paragraphs``).

    Notes
    -----
    Paragraphs are compared by text normalised as in duplicate detection
    (``duplicates.normalize_text``, ``duplicates.shingles``); identical
    paragraphs are hashed once. Paragraphs with fewer than
    ``MIN_LSH_PARAGRAPH_CHARS`` normalised characters propose nothing. Reuse
    shorter than a paragraph's worth of its shingles (a shared phrase in
    otherwise different paragraphs) is not a candidate; its characters are
    still counted as reused by :func:`reused_mask`.

    Examples
    --------
    >>> texts = {"a": "全区组织开展党史学习教育专题宣讲活动一百余场,覆盖干部群众两万余人次。\\n甲区的事。",
    ...          "b": "全区组织开展党史学习教育专题宣讲活动一百余场,覆盖干部群众两万余人。\\n乙区的事。",
    ...          "c": "丙县修缮革命旧址三处,新建村史馆两个,接待参观群众五千余人次。"}
    >>> reuse_candidates(texts)[["doc_a", "doc_b", "n_paragraphs"]].to_numpy().tolist()
    [['a', 'b', 1]]
    """
    from datasketch import MinHashLSH

    from . import parallel

    _check_texts(texts_by_doc)
    _check_positive("max_candidates", max_candidates)
    _check_positive("num_perm", num_perm)
    _check_positive("max_paragraph_reports", max_paragraph_reports)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ValueError(f"`threshold` must be a number in (0, 1), got {threshold!r}")
    if not isinstance(random_state, int) or isinstance(random_state, bool):
        raise ValueError(f"`random_state` must be an integer seed, got {random_state!r}")
    doc_ids = sorted(texts_by_doc)
    if group_of is not None:
        missing = [d for d in doc_ids if d not in group_of]
        if missing:
            raise ValueError(f"`group_of` has no group for doc_id(s) {missing[:5]}")
    # Distinct normalised paragraphs and the reports holding each.
    docs_of: dict[str, set[int]] = defaultdict(set)
    paras_of: list[list[str]] = []
    for i, d in enumerate(doc_ids):
        mine = []
        for para in texts_by_doc[d].split("\n"):
            norm = duplicates.normalize_text(para)
            if len(norm) >= MIN_LSH_PARAGRAPH_CHARS:
                docs_of[norm].add(i)
                mine.append(norm)
        paras_of.append(sorted(set(mine)))
    keys = sorted(docs_of)
    key_index = {k: j for j, k in enumerate(keys)}
    sign = functools.partial(_paragraph_signatures, num_perm=num_perm, seed=random_state)
    chunks = [keys[i : i + _SIGNATURE_CHUNK] for i in range(0, len(keys), _SIGNATURE_CHUNK)]
    signatures = [sig for chunk in parallel.map_ordered(sign, chunks, jobs=jobs, batch_size=1) for sig in chunk]
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    with lsh.insertion_session() as session:
        for j, signature in enumerate(signatures):
            session.insert(j, signature, check_duplication=False)
    # For every distinct paragraph: its near-identical variants and the reports they are in.
    variant_docs: list[set[int] | None] = []
    best_of: list[dict[int, float]] = []
    n_boilerplate = 0
    for j, signature in enumerate(signatures):
        near = lsh.query(signature)
        docs: set[int] = set()
        for q in near:
            docs |= docs_of[keys[q]]
            if len(docs) > max_paragraph_reports:
                break  # boilerplate, whatever the rest of ``near`` holds
        if len(docs) > max_paragraph_reports:
            n_boilerplate += 1
            variant_docs.append(None)
            best_of.append({})
            continue
        variant_docs.append(docs)
        best: dict[int, float] = {}
        for q in sorted(near):
            estimate = 1.0 if q == j else float(signature.jaccard(signatures[q]))
            for doc in docs_of[keys[q]]:
                best[doc] = max(best.get(doc, 0.0), estimate)
        best_of.append(best)
    # Partners of each report, ranked by paragraphs shared, then best estimate, then doc_id.
    kept: dict[tuple[int, int], list[float]] = {}
    for i, mine in enumerate(paras_of):
        votes: dict[int, int] = defaultdict(int)
        best: dict[int, float] = {}
        for norm in mine:
            j = key_index[norm]
            docs = variant_docs[j]
            if docs is None:
                continue
            for other in docs:
                if other == i:
                    continue
                if group_of is not None and group_of[doc_ids[other]] == group_of[doc_ids[i]]:
                    continue
                votes[other] += 1
                best[other] = max(best.get(other, 0.0), best_of[j][other])
        ranked = sorted(votes, key=lambda o: (-votes[o], -best[o], o))[:max_candidates]
        for other in ranked:
            pair = (min(i, other), max(i, other))
            entry = kept.setdefault(pair, [0, 0.0])
            entry[0] = max(entry[0], votes[other])
            entry[1] = max(entry[1], best[other])
    rows = [(doc_ids[a], doc_ids[b], int(v[0]), round(float(v[1]), 6)) for (a, b), v in sorted(kept.items())]
    out = pd.DataFrame(rows, columns=_CANDIDATE_COLUMNS).astype({"n_paragraphs": "int64", "best_jaccard": "float64"})
    out.attrs.update(
        reuse_candidates={
            "method": "minhash_lsh_paragraphs",
            "threshold": threshold,
            "num_perm": num_perm,
            "shingle_chars": duplicates.SHINGLE_CHARS,
            "min_paragraph_chars": MIN_LSH_PARAGRAPH_CHARS,
            "max_candidates": max_candidates,
            "max_paragraph_reports": max_paragraph_reports,
            "between_groups": group_of is not None,
            "random_state": random_state,
            "n_documents": len(doc_ids),
            "n_paragraphs_hashed": len(keys),
            "n_boilerplate_paragraphs": n_boilerplate,
            "n_pairs": len(out),
        }
    )
    return out


#: Distinct paragraphs per task when their MinHash signatures are computed over several processes.
_SIGNATURE_CHUNK = 5000


def _paragraph_signatures(paragraphs: list[str], *, num_perm: int, seed: int) -> list:
    """MinHash signatures (datasketch ``LeanMinHash``) of normalised paragraphs' shingle sets, in order."""
    from datasketch import MinHash

    shingle_sets = [sorted(g.encode("utf-8") for g in duplicates.shingles(k)) for k in paragraphs]
    return MinHash.bulk(shingle_sets, num_perm=num_perm, seed=seed)


def _pair_runs(ga: _Grams, gb: _Grams, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Maximal runs of at least ``n`` normalised characters shared by two reports (vectorised seeds).

    Returns ``(na0, na1, delta)``: run ``k`` covers normalised characters
    ``[na0[k], na1[k])`` of ``a`` and the same shifted by ``-delta[k]`` in ``b``;
    ordered by diagonal, then start. ``None`` when nothing is shared.
    """
    if not len(ga.hashes) or not len(gb.hashes):
        return None
    # Both sides in hash order: the searches run through ``b`` once, in order (cache-friendly).
    left = np.searchsorted(gb.sorted_hashes, ga.sorted_hashes, side="left")
    right = np.searchsorted(gb.sorted_hashes, ga.sorted_hashes, side="right")
    counts = right - left
    if not counts.any():
        return None
    pa = np.repeat(ga.sorted_starts, counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    pb = gb.sorted_starts[np.repeat(left, counts) + within]
    # Hashes can collide: keep only seeds whose n-grams are equal.
    steps = np.arange(n)
    equal = (ga.codes[pa[:, None] + steps] == gb.codes[pb[:, None] + steps]).all(axis=1)
    pa, pb = pa[equal], pb[equal]
    if not len(pa):
        return None
    delta = pa - pb
    order = np.lexsort((pa, delta))
    pa, delta = pa[order], delta[order]
    new_run = np.ones(len(pa), dtype=bool)
    new_run[1:] = (delta[1:] != delta[:-1]) | (pa[1:] != pa[:-1] + 1)
    first = np.flatnonzero(new_run)
    last = np.concatenate([first[1:], [len(pa)]]) - 1
    return pa[first], pa[last] + n, delta[first]


def _candidate_passages(texts: dict[str, str], min_chars: int, pairs: Iterable[tuple[str, str]],
                        grams_of: Mapping[str, _Grams] | None = None) -> pd.DataFrame:
    """:func:`reused_passages` restricted to ``pairs``, pair by pair (no corpus-wide index; columns built in bulk).

    ``grams_of`` holds reports' ``min_chars``-grams already computed; the others are computed here.
    """
    cache: dict[str, _Grams] = dict(grams_of or {})

    def grams(d: str) -> _Grams:
        if d not in cache:
            cache[d] = _grams(texts[d], min_chars)
        return cache[d]

    docs_a: list[str] = []
    docs_b: list[str] = []
    n_of_pair: list[int] = []
    columns: dict[str, list[np.ndarray]] = {c: [] for c in ("start_a", "end_a", "start_b", "end_b", "n_chars")}
    passage_texts: list[str] = []
    for a, b in sorted({(min(a, b), max(a, b)) for a, b in pairs}):
        ga, gb = grams(a), grams(b)
        runs = _pair_runs(ga, gb, min_chars)
        if runs is None:
            continue
        na0, na1, delta = runs
        start_a, end_a = ga.offsets[na0], ga.offsets[na1 - 1] + 1
        columns["start_a"].append(start_a)
        columns["end_a"].append(end_a)
        columns["start_b"].append(gb.offsets[na0 - delta])
        columns["end_b"].append(gb.offsets[na1 - 1 - delta] + 1)
        columns["n_chars"].append(na1 - na0)
        text_a = texts[a]
        passage_texts.extend(text_a[s:e] for s, e in zip(start_a.tolist(), end_a.tolist(), strict=True))
        docs_a.append(a)
        docs_b.append(b)
        n_of_pair.append(len(na0))
    if not n_of_pair:
        out = pd.DataFrame([], columns=_PASSAGE_COLUMNS)
        return out.astype({c: "int64" for c in ("start_a", "end_a", "start_b", "end_b", "n_chars")})
    data = {
        "doc_a": np.repeat(np.asarray(docs_a, dtype=object), n_of_pair),
        **{c: np.concatenate(v).astype(np.int64) for c, v in columns.items() if c in ("start_a", "end_a")},
        "doc_b": np.repeat(np.asarray(docs_b, dtype=object), n_of_pair),
        **{c: np.concatenate(v).astype(np.int64) for c, v in columns.items() if c not in ("start_a", "end_a")},
        "text": np.asarray(passage_texts, dtype=object),
    }
    out = pd.DataFrame({c: data[c] for c in _PASSAGE_COLUMNS})
    out = out.sort_values(["doc_a", "doc_b", "start_a", "start_b"], kind="mergesort").reset_index(drop=True)
    return out.astype({c: "int64" for c in ("start_a", "end_a", "start_b", "end_b", "n_chars")})


_SPREAD_COLUMNS = ["passage", "n_chars", "n_documents", "n_places", "n_pairs", "doc_ids", "places"]


def passage_spread(passages: pd.DataFrame, *, place_of: Mapping[str, str] | None = None) -> pd.DataFrame:
    """How widely each reused passage travels: one row per distinct passage, with the reports it is in.

    A passage found in many reports, or in reports on different places, is
    wording of the genre (central phrases, names of meetings and campaigns)
    rather than one office copying another; this table makes that visible.

    Parameters
    ----------
    passages : DataFrame
        Output of :func:`reused_passages` (``doc_a, doc_b, n_chars, text``).
    place_of : Mapping of str to str or None, default=None
        Place of each ``doc_id``; without it ``n_places`` and ``places`` are
        left empty (``<NA>`` and ``""``).

    Returns
    -------
    DataFrame
        Columns ``passage`` (as first written, in sorted document order),
        ``n_chars`` (normalised length), ``n_documents``, ``n_places``,
        ``n_pairs`` (report pairs sharing it), ``doc_ids`` and ``places``
        (``;``-joined, sorted). Passages are grouped by their normalised text
        (see :func:`normalize_for_reuse`), so punctuation differences do not
        split them. Sorted by ``n_documents`` (descending), ``n_chars``
        (descending), then ``passage``.

    Raises
    ------
    ValueError
        On missing columns, or a ``doc_id`` absent from ``place_of``.

    Examples
    --------
    >>> df = reused_passages({"a": "深入开展党史学习教育。", "b": "全市深入开展党史学习教育",
    ...                       "c": "我区深入开展党史学习教育。"})
    >>> passage_spread(df)[["passage", "n_documents", "n_pairs"]].to_numpy().tolist()
    [['深入开展党史学习教育', 3, 3]]
    """
    if not isinstance(passages, pd.DataFrame):
        raise TypeError(f"`passages` must be a DataFrame, got {type(passages).__name__}")
    missing = [c for c in ("doc_a", "doc_b", "n_chars", "text") if c not in passages.columns]
    if missing:
        raise ValueError(f"`passages` lacks column(s) {missing}; pass the output of reused_passages")
    if place_of is not None:
        unknown = sorted({*passages["doc_a"], *passages["doc_b"]} - set(place_of))
        if unknown:
            raise ValueError(f"`place_of` has no place for doc_id(s) {unknown[:5]}")
    if not len(passages):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in _SPREAD_COLUMNS}).astype(
            {"n_chars": "int64", "n_documents": "int64", "n_places": "Int64", "n_pairs": "int64"}
        )
    # Group rows by the normalised text of their passage (each distinct text normalised once).
    text_code, distinct_texts = pd.factorize(passages["text"], sort=False)
    table = _fold_table(set().union(*map(set, distinct_texts)))
    key_code, _ = pd.factorize(pd.Series([t.translate(table) for t in distinct_texts], dtype=object)[text_code].to_numpy())
    rows = pd.DataFrame({
        "key": key_code,
        "doc_a": passages["doc_a"].to_numpy(dtype=object),
        "doc_b": passages["doc_b"].to_numpy(dtype=object),
        "n_chars": passages["n_chars"].to_numpy(),
        "text": passages["text"].to_numpy(dtype=object),
    })
    by_key = rows.groupby("key", sort=True)
    # The passage as first written in the first report (sorted) holding it, and its length.
    first = rows.sort_values(["key", "doc_a"], kind="mergesort").drop_duplicates("key").set_index("key")
    docs = (
        pd.concat([rows[["key", "doc_a"]].set_axis(["key", "doc"], axis=1), rows[["key", "doc_b"]].set_axis(["key", "doc"], axis=1)])
        .drop_duplicates().sort_values(["key", "doc"], kind="mergesort")
    )
    doc_groups = docs.groupby("key", sort=True)["doc"]
    out = pd.DataFrame({
        "passage": first["text"],
        "n_chars": by_key["n_chars"].first(),
        "n_documents": doc_groups.size(),
        "n_places": pd.NA,
        "n_pairs": rows[["key", "doc_a", "doc_b"]].drop_duplicates().groupby("key", sort=True).size(),
        "doc_ids": doc_groups.agg(";".join),
        "places": "",
    })
    if place_of is not None:
        places = (
            docs.assign(place=docs["doc"].map(place_of))[["key", "place"]]
            .drop_duplicates().sort_values(["key", "place"], kind="mergesort")
            .groupby("key", sort=True)["place"]
        )
        out["n_places"] = places.size()
        out["places"] = places.agg(";".join)
    out = out[_SPREAD_COLUMNS].sort_values(
        ["n_documents", "n_chars", "passage"], ascending=[False, False, True], kind="mergesort"
    ).reset_index(drop=True)
    return out.astype({"n_chars": "int64", "n_documents": "int64", "n_places": "Int64", "n_pairs": "int64"})


# ---------------------------------------------------------------------------
# Shares


@dataclass(frozen=True, slots=True)
class FormulaicShares:
    """Result of :func:`formulaic_shares`: long tables of character shares, examples and passages.

    Attributes
    ----------
    paragraphs : DataFrame
        ``doc_id, para_id, place, kind, n_chars, share``: four rows per
        paragraph (kinds in :data:`KINDS` order); ``n_chars`` counts content
        characters (no punctuation or whitespace) and ``share`` divides by the
        paragraph's total (NaN for a paragraph without content characters).
    documents : DataFrame
        ``doc_id, place, kind, n_chars, share``: the same per report.
    places : DataFrame
        ``place, kind, n_chars, share``: the same per place.
    examples : DataFrame
        ``place, kind, rank, text, n_occurrences, n_chars``: the most frequent
        slogans and formulations (by lexicon entry), the longest reused
        passages and the longest locally specific stretches of each place.
    passages : DataFrame
        The reused passages (see :func:`reused_passages`), offsets into each
        report's paragraphs joined by ``"\\n"``.
    """

    paragraphs: pd.DataFrame
    documents: pd.DataFrame
    places: pd.DataFrame
    examples: pd.DataFrame
    passages: pd.DataFrame


_SHARE_COLUMNS = ("doc_id", "para_id", "place", "text")


def _kind_order(df: pd.DataFrame) -> pd.Series:
    return df["kind"].map({k: i for i, k in enumerate(KINDS)})


def _shares(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Sum ``n_chars`` by ``keys + [kind]`` and divide by the total of ``keys``."""
    out = df.groupby([*keys, "kind"], sort=False, as_index=False)["n_chars"].sum()
    total = out.groupby(keys, sort=False)["n_chars"].transform("sum")
    out["share"] = (out["n_chars"] / total.where(total > 0)).astype("float64")
    out = out.assign(_k=_kind_order(out)).sort_values([*keys, "_k"], kind="mergesort").drop(columns="_k")
    return out.reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class _Labelled:
    """Kinds of the characters of every paragraph (see :func:`_label_characters`)."""

    doc_ids: list[str]  # of each paragraph, in sorted doc_id order, paragraphs in input order
    para_ids: list[str]
    counts: np.ndarray  # int64, paragraphs x KINDS: content characters of each kind
    lexicon_hits: list[tuple[str, str, str]]  # place, kind, entry (every slogan and formulation match)
    reused_runs: list[tuple[str, str, int]]  # place, run of reused text (stripped), its content characters
    local_runs: list[tuple[str, str, int]]


#: Code of each kind in the label array (:data:`KINDS` order), and of the break between paragraphs.
_SEPARATOR = len(KINDS)


def _content_flags(codes: np.ndarray) -> np.ndarray:
    """:func:`_is_content_char` of every code point, asked once per distinct code point."""
    if not len(codes):
        return np.zeros(0, dtype=bool)
    distinct, inverse = np.unique(codes, return_inverse=True)
    flags = np.fromiter((_is_content_char(chr(c)) for c in distinct.tolist()), dtype=bool, count=len(distinct))
    return flags[inverse]


def _cover(n: int, starts: list[int], ends: list[int]) -> np.ndarray:
    """True on every position of ``n`` covered by some ``[start, end)``."""
    delta = np.zeros(n + 1, dtype=np.int64)
    if starts:
        np.add.at(delta, np.asarray(starts, dtype=np.int64), 1)
        np.add.at(delta, np.asarray(ends, dtype=np.int64), -1)
    return np.cumsum(delta[:-1]) > 0


def _label_characters(
    paras_by_doc: Mapping[str, list[tuple[str, str]]],
    place_of: Mapping[str, str],
    reused_mask_of: Mapping[str, object],
    *,
    lexicon: Formulations,
    runs: bool,
) -> _Labelled:
    """Give every character the first kind that covers it (slogan > formulation > reused > local), vectorised.

    The paragraphs of all reports are laid end to end, each followed by one
    separator position (as in a report joined by ``"\n"``), so one array of
    labels covers the corpus: lexicon spans and the reused masks are painted
    by interval arithmetic, content characters are counted per paragraph with
    ``bincount`` and runs of local or reused text are cut where the label
    changes. The same result as labelling character by character (tests/test_formulaic_vectorised.py).
    """
    doc_ids: list[str] = []
    para_ids: list[str] = []
    texts: list[str] = []
    for doc_id in sorted(paras_by_doc):
        for para_id, text in paras_by_doc[doc_id]:
            doc_ids.append(doc_id)
            para_ids.append(para_id)
            texts.append(text)
    n_paras = len(texts)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n_paras)
    starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
    corpus = "".join(t + "\n" for t in texts)
    n = len(corpus)
    codes = np.frombuffer(corpus.encode("utf-32-le"), dtype="<u4")
    content = _content_flags(codes)
    para_of = np.repeat(np.arange(n_paras, dtype=np.int64), lengths + 1)
    # Reused characters: the masks are over each report's joined paragraphs, laid out like the corpus.
    reused = np.zeros(n, dtype=bool)
    position = 0
    for doc_id in sorted(paras_by_doc):
        mask = np.asarray(reused_mask_of[doc_id], dtype=bool)
        reused[position : position + len(mask)] = mask
        position += len(mask) + 1
    # Lexicon spans, in corpus offsets.
    lexicon_hits: list[tuple[str, str, str]] = []
    span_starts: dict[str, list[int]] = {"slogan": [], "formulation": []}
    span_ends: dict[str, list[int]] = {"slogan": [], "formulation": []}
    for i, text in enumerate(texts):
        place = place_of[doc_ids[i]]
        base = int(starts[i])
        for kind, entries in (("slogan", lexicon.slogans), ("formulation", lexicon.formulations)):
            for s, e, entry in _entry_spans(text, entries, kind):
                lexicon_hits.append((place, kind, entry))
                span_starts[kind].append(base + s)
                span_ends[kind].append(base + e)
    labels = np.full(n, KINDS.index("local"), dtype=np.int8)
    labels[reused] = KINDS.index("reused")
    labels[_cover(n, span_starts["formulation"], span_ends["formulation"])] = KINDS.index("formulation")
    labels[_cover(n, span_starts["slogan"], span_ends["slogan"])] = KINDS.index("slogan")
    labels[starts + lengths] = _SEPARATOR
    n_kinds = len(KINDS)
    counts = np.bincount(
        para_of[content] * n_kinds + labels[content].astype(np.int64), minlength=n_paras * n_kinds
    ).reshape(n_paras, n_kinds).astype(np.int64)
    local_runs: list[tuple[str, str, int]] = []
    reused_runs: list[tuple[str, str, int]] = []
    if runs:
        content_before = np.concatenate([[0], np.cumsum(content)]).astype(np.int64)  # content chars before i
        content_at = np.flatnonzero(content)
        for kind, sink in (("local", local_runs), ("reused", reused_runs)):
            inside = np.concatenate([[False], labels == KINDS.index(kind), [False]])
            edges = np.flatnonzero(inside[1:] != inside[:-1])
            run_start, run_end = edges[::2], edges[1::2]
            n_content = content_before[run_end] - content_before[run_start]
            keep = n_content > 0  # a run of punctuation only strips to nothing
            run_start, run_end, n_content = run_start[keep], run_end[keep], n_content[keep]
            # Stripped: from the first to the last content character of the run.
            first = content_at[content_before[run_start]]
            last = content_at[content_before[run_end] - 1]
            run_place = [place_of[doc_ids[p]] for p in para_of[first].tolist()]
            sink.extend(
                (place, corpus[a : b + 1], int(k))
                for place, a, b, k in zip(run_place, first.tolist(), last.tolist(), n_content.tolist(), strict=True)
            )
    return _Labelled(doc_ids, para_ids, counts, lexicon_hits, reused_runs, local_runs)


def formulaic_shares(
    paragraphs: pd.DataFrame,
    *,
    lexicon: Formulations | None = None,
    min_reuse_chars: int = DEFAULT_MIN_REUSE_CHARS,
    reuse_between: Literal["documents", "places"] = "documents",
    top_n: int = DEFAULT_TOP_EXAMPLES,
    reuse_method: Literal["auto", "all_pairs", "candidates"] = "auto",
    max_all_pairs_reports: int = DEFAULT_MAX_ALL_PAIRS_REPORTS,
    candidate_pairs: pd.DataFrame | None = None,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
    random_state: int = 0,
    passages: bool = True,
) -> FormulaicShares:
    """Share of characters in slogans, formulations and reused passages versus local text.

    Parameters
    ----------
    paragraphs : DataFrame
        Columns ``doc_id``, ``para_id``, ``place``, ``text``, one row per
        paragraph in reading order within each report.
    lexicon : Formulations or None, default=None
    min_reuse_chars : int, default=8
        Shortest shared passage counted as reuse (see :func:`reused_passages`).
    reuse_between : {"documents", "places"}, default="documents"
        ``"documents"`` counts text shared with any other report;
        ``"places"`` only text shared with a report about another place (two
        reports on one district written by one office are then not "reuse").
    top_n : int, default=5
        Examples per place and kind.
    reuse_method : {"auto", "all_pairs", "candidates"}, default="auto"
        How reused text is found. ``"all_pairs"``: :func:`reused_passages`
        on every pair of reports. ``"candidates"``: the reused characters
        from :func:`reused_mask` (the same characters, without pairs) and the
        passages table only for candidate pairs (:func:`reuse_candidates`).
        ``"auto"``: all pairs up to ``max_all_pairs_reports`` reports.
    max_all_pairs_reports : int, default=100
        Threshold of ``"auto"``.
    candidate_pairs : DataFrame or None, default=None
        Precomputed :func:`reuse_candidates` (``doc_a, doc_b``), so several
        settings share one LSH pass; ``None`` computes them when needed.
        Ignored, with a warning, by the all-pairs method.
    max_candidates : int, default=10
        Candidate partners per report when they are computed here.
    random_state : int, default=0
        Seed of the MinHash permutations when candidates are computed here.
    passages : bool, default=True
        ``False`` skips the candidate pairs and their passage search when the
        method is ``"candidates"`` (the shares do not depend on them): the
        passages table is then empty and ``attrs["passages"]`` is False. The
        all-pairs method finds the reused characters from its passages and
        always searches them.

    Returns
    -------
    FormulaicShares
        Every table's ``attrs`` records the settings and ``reuse_method``
        (the method used, never ``"auto"``); with candidates also
        ``reuse_candidates`` (LSH settings and counts) and
        ``n_compared_pairs``.

    Raises
    ------
    ValueError
        On missing columns, non-string cells, duplicated ``para_id`` or a bad option.

    Notes
    -----
    Every content character (not punctuation, symbol or whitespace) gets one
    kind, the first that covers it in the order slogan > formulation >
    reused > local. Shares are characters of a kind over content characters,
    so the four shares of a paragraph, report or place sum to 1. Reuse is
    found between whole reports (paragraphs joined by line breaks, so a
    passage never spans two paragraphs). Both methods count the same
    characters as reused (the shares agree); with candidates, the passages
    table (and so the examples of reused text) covers the candidate pairs
    only, at most ``max_candidates`` partners per report.
    """
    paragraphs = _check_paragraphs(paragraphs, name="paragraphs", columns=_SHARE_COLUMNS)
    if reuse_between not in ("documents", "places"):
        raise ValueError(value_invalid_msg("reuse_between", reuse_between, ("documents", "places")))
    if not isinstance(top_n, int) or isinstance(top_n, bool) or top_n < 0:
        raise ValueError(f"`top_n` must be an integer >= 0, got {top_n!r}")
    lexicon = lexicon or _load_default_cached()
    places_of_doc = paragraphs.groupby("doc_id", sort=True)["place"].unique()
    for doc_id, places in places_of_doc.items():
        if len(places) > 1:
            raise ValueError(
                f"`paragraphs`: doc_id {doc_id!r} has several places {sorted(places)}; one expected"
            )
    place_of = {d: p[0] for d, p in places_of_doc.items()}
    doc_ids = sorted(place_of)

    # Reuse between whole reports.
    paras_by_doc: dict[str, list[tuple[str, str]]] = {d: [] for d in doc_ids}
    for doc_id, para_id, text in paragraphs[["doc_id", "para_id", "text"]].itertuples(index=False, name=None):
        paras_by_doc[doc_id].append((para_id, text))
    joined = {d: "\n".join(t for _, t in paras_by_doc[d]) for d in doc_ids}
    method = resolve_reuse_method(len(doc_ids), reuse_method, max_all_pairs_reports=max_all_pairs_reports)
    group_of = place_of if reuse_between == "places" else None
    extra: dict = {}
    if method == "all_pairs":
        if candidate_pairs is not None:
            logger.warning("formulaic_shares: `candidate_pairs` has no effect with the all-pairs method")
        pairs = None
        if reuse_between == "places":
            pairs = [
                (a, b) for i, a in enumerate(doc_ids) for b in doc_ids[i + 1 :] if place_of[a] != place_of[b]
            ]
        passages_table = reused_passages(joined, min_chars=min_reuse_chars, pairs=pairs)
        reused_mask_of = {d: [False] * len(joined[d]) for d in doc_ids}
        for da, sa, ea, db, sb, eb in passages_table[
            ["doc_a", "start_a", "end_a", "doc_b", "start_b", "end_b"]
        ].itertuples(index=False, name=None):
            for doc, s, e in ((da, sa, ea), (db, sb, eb)):
                reused_mask_of[doc][s:e] = [True] * (e - s)
    elif not passages:
        passages_table = _candidate_passages(joined, min_reuse_chars, [])
        reused_mask_of = reused_mask(joined, min_chars=min_reuse_chars, group_of=group_of)
        extra = {"passages": False}
    else:
        if candidate_pairs is None:
            candidate_pairs = reuse_candidates(
                joined, max_candidates=max_candidates, group_of=group_of, random_state=random_state
            )
        if not isinstance(candidate_pairs, pd.DataFrame) or not {"doc_a", "doc_b"} <= set(candidate_pairs.columns):
            raise ValueError("`candidate_pairs` must be a DataFrame with columns doc_a, doc_b (see reuse_candidates)")
        unknown = sorted({*candidate_pairs["doc_a"], *candidate_pairs["doc_b"]} - set(doc_ids))
        if unknown:
            raise ValueError(f"`candidate_pairs` names report(s) {unknown[:5]} that have no paragraphs")
        compared = [
            (a, b)
            for a, b in candidate_pairs[["doc_a", "doc_b"]].itertuples(index=False, name=None)
            if group_of is None or group_of[a] != group_of[b]
        ]
        # Both steps hash every report's n-grams: once.
        grams_of = {d: _grams(joined[d], min_reuse_chars) for d in doc_ids}
        passages_table = _candidate_passages(joined, min_reuse_chars, compared, grams_of)
        reused_mask_of = _reused_mask(joined, min_reuse_chars, group_of, grams_of)
        del grams_of
        extra = {
            "reuse_candidates": candidate_pairs.attrs.get("reuse_candidates", {"method": "given"}),
            "n_compared_pairs": len(set(compared)),
        }

    labelled = _label_characters(paras_by_doc, place_of, reused_mask_of, lexicon=lexicon, runs=top_n > 0)
    empty = labelled.counts.sum(axis=1) == 0
    for para_id in np.asarray(labelled.para_ids, dtype=object)[empty]:
        logger.warning("formulaic_shares: paragraph %s has no content characters; its shares are NaN", para_id)
    n_kinds = len(KINDS)
    long = pd.DataFrame({
        "doc_id": np.repeat(np.asarray(labelled.doc_ids, dtype=object), n_kinds),
        "para_id": np.repeat(np.asarray(labelled.para_ids, dtype=object), n_kinds),
        "place": np.repeat(np.asarray([place_of[d] for d in labelled.doc_ids], dtype=object), n_kinds),
        "kind": np.tile(np.asarray(KINDS, dtype=object), len(labelled.para_ids)),
        "n_chars": labelled.counts.reshape(-1),
    })
    lexicon_hits, reused_runs, local_runs = labelled.lexicon_hits, labelled.reused_runs, labelled.local_runs

    long["n_chars"] = long["n_chars"].astype("int64")
    para_total = long.groupby("para_id", sort=False)["n_chars"].transform("sum")
    para_table = long.assign(share=(long["n_chars"] / para_total.where(para_total > 0)).astype("float64"))
    doc_table = _shares(long, ["doc_id", "place"])
    place_table = _shares(long, ["place"])
    examples = _examples(lexicon_hits, reused_runs, local_runs, top_n)
    provenance = {
        "lexicon_sha256": lexicon.sha256,
        "min_reuse_chars": min_reuse_chars,
        "reuse_between": reuse_between,
        "top_n": top_n,
        "reuse_method": method,
        "max_all_pairs_reports": max_all_pairs_reports,
        **extra,
    }
    for table in (para_table, doc_table, place_table, examples, passages_table):
        table.attrs.update(provenance)
    return FormulaicShares(para_table, doc_table, place_table, examples, passages_table)


_COUNT_COLUMNS = ("rank", "n_occurrences", "n_chars")


def _examples(
    lexicon_hits: list[tuple[str, str, str]],
    reused_runs: list[tuple[str, str, int]],
    local_runs: list[tuple[str, str, int]],
    top_n: int,
) -> pd.DataFrame:
    """The top examples of each place and kind; a run comes with its count of content characters."""
    columns = ["place", "kind", "rank", "text", "n_occurrences", "n_chars"]
    if top_n == 0:  # no example wanted (sensitivity runs): the empty table ranking would leave
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in _COUNT_COLUMNS else "str") for c in columns})
    records: list[tuple[str, str, str, int, int]] = []  # place, kind, text, n_occurrences, n_chars
    counted: dict[tuple[str, str, str], int] = defaultdict(int)
    content_chars: dict[tuple[str, str, str], int] = {}
    for key in lexicon_hits:
        counted[key] += 1
    for kind, runs in (("reused", reused_runs), ("local", local_runs)):
        for place, run, n_content in runs:
            counted[(place, kind, run)] += 1
            content_chars[(place, kind, run)] = n_content
    for (place, kind, text), n in counted.items():
        n_chars = content_chars.get((place, kind, text))
        if n_chars is None:
            n_chars = sum(_is_content_char(c) for c in text)
        if kind == "local" and len(text) > MAX_EXAMPLE_CHARS:
            text = text[:MAX_EXAMPLE_CHARS] + "…"
        records.append((place, kind, text, n, n_chars))
    if not records:
        return pd.DataFrame(columns=columns)
    df = pd.DataFrame(records, columns=["place", "kind", "text", "n_occurrences", "n_chars"])
    df["_k"] = _kind_order(df)
    # Lexicon kinds: most frequent first; reused and local: longest first.
    df["_score"] = df["n_occurrences"].where(df["kind"].isin(["slogan", "formulation"]), df["n_chars"])
    df = df.sort_values(
        ["place", "_k", "_score", "n_chars", "text"],
        ascending=[True, True, False, False, True],
        kind="mergesort",
    )
    df["rank"] = df.groupby(["place", "kind"], sort=False).cumcount() + 1
    df = df[df["rank"] <= top_n]
    return (
        df[columns]
        .reset_index(drop=True)
        .astype({"rank": "int64", "n_occurrences": "int64", "n_chars": "int64"})
    )
