"""Clean one raw report (``Document``) into a ``CleanDocument``: title, bylines, sections, paragraphs and an audit log.

This is the step ``raw file -> Document -> CleanDocument`` of the data flow.
It works on one document at a time and keeps no state between calls, so it can
be mapped over processes.

How a report is read
--------------------
The decoded raw text is never edited. Cleaning classifies its lines and keeps,
for every output string, the raw spans it is made of:

1. optional researcher corrections are applied to a *working copy* whose
   characters keep a map back to raw offsets (see ``load_corrections``);
2. the text is cut into lines; the blank lines before each line are counted
   (an image gap is several blank lines; a report whose paragraphs are
   separated by single newlines is read in "newline mode");
3. whole-line residue is removed: CMS records (``来源:``, ``-->``, the
   timestamp+id+URL record, whose copy of the headline is used to complete a
   truncated visible title), navigation (``热点文章推荐``), continuation
   references (``请继续阅读A10~11版``) and photo credits;
4. the head (title, subtitle; or a markdown ``#`` title line, split into
   kicker and title) is read;
5. bylines are parsed (whole lines, the agency tag ``本报讯``, a byline run
   into the end of a paragraph, a bracketed byline split over lines) into
   ``authors``; generic credit markers (``文/图``, ``■文/``, ``摄``) are removed;
6. captions (a short line after an image gap, or after a photo credit),
   headings (marked by ``#``/``■``, or short unterminated lines with a heading
   shape, or ``——`` subheads) and markup (``#``, ``**``, ``■``, the ``——``
   before a subtitle) are separated from the body;
7. page/column breaks are repaired: a paragraph that ends mid-sentence is
   joined to the next body paragraph; a dangling paragraph cut off by a
   heading gets its displaced continuation moved back when the evidence is
   clear (see ``Notes`` of ``clean_document``); what cannot be repaired is
   flagged ``truncated_fragment`` for a researcher.

All patterns and thresholds live in ``resources/cleaning.yml`` (``load_rules``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import paths
from .errors import InputError
from .records import CleanDocument, Document, Paragraph, Removal, Repair, Span
from .storage import read_yaml

__all__ = [
    "RULES_PATH",
    "METADATA_CONFLICT",
    "CleaningRules",
    "Correction",
    "load_rules",
    "load_corrections",
    "clean_document",
    "account_characters",
]

logger = logging.getLogger(__name__)

RULES_PATH = paths.RESOURCES_DIR / "cleaning.yml"
#: Prefix of the warnings where the manifest and the text disagree (``corpus.warnings_frame``
#: gives them the kind ``metadata_conflict``).
METADATA_CONFLICT = "metadata conflict"

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RE_CJK_CHAR = re.compile(f"[{_CJK}]")
_RE_LINE = re.compile(r"[^\n]*")
_RE_SPACE_BETWEEN_PHRASES = re.compile(f"[{_CJK}”》)0-9A-Za-z]\\s+[{_CJK}“《(0-9A-Za-z]")
_RE_NAME = re.compile(f"[{_CJK}·]{{2,4}}")
_RE_WS = re.compile(r"\s+")
#: A bracketed group opening a line (full-width brackets are folded to ASCII for matching).
_RE_BRACKETED = re.compile(r"[(\[【]([^()\[\]【】]{2,80})[)\]】]")
#: Full-width ASCII variants (U+FF01-FF5E) and the ideographic space, folded to
#: ASCII for rule matching only: the rules can then be written once (",", ":")
#: and still match "，", "：". One character for one, so offsets are unchanged;
#: output text is always taken from the unfolded text.
_FOLD_WIDTH = str.maketrans({**{chr(0xFF01 + i): chr(0x21 + i) for i in range(94)}, "\u3000": " "})
_PAIRED_MARKS = (("“", "”"), ("《", "》"), ("(", ")"), ("(", ")"), ("「", "」"))

# heading marker ranks: markdown '#'*n -> n; decorative bullet; plain; dash subhead
#: Enumerated headings (一、 / (一) / 1.) rank by the position of their pattern in
#: ``heading_enumerators``: rank _RANK_ENUM + index.
_RANK_ENUM = 1
_RANK_BULLET = 7
_RANK_PLAIN = 8
_RANK_DASH = 9


# --------------------------------------------------------------------------
# rules
# --------------------------------------------------------------------------

_STR_KEYS = (
    "title_stop_chars",
    "terminal_punctuation",
    "non_initial_chars",
    "clause_punctuation",
    "non_final_chars",
    "heading_bullets",
    "byline_bullets",
)
_INT_KEYS = (
    "version",
    "fragment_head_max_chars",
    "repair_context_chars",
    "image_gap_min_blank_lines",
    "caption_max_chars",
    "heading_max_chars",
    "bare_heading_max_chars",
    "bare_heading_min_chars",
    "bare_heading_min_count",
    "parallel_heading_min_commas",
    "title_max_chars",
    "kicker_min_parts",
    "byline_max_chars",
    "byline_role_prefix_max_chars",
    "move_search_max_elements",
)
_FLOAT_KEYS = ("move_similarity_margin", "newline_mode_min_share", "parallel_heading_max_ratio")
_PATTERN_KEYS = ("markdown_heading", "markdown_emphasis", "cms_title_pattern", "cms_date_pattern")
_LIST_KEYS = ("subtitle_dashes", "byline_roles", "byline_markers")
_PATTERN_LIST_KEYS = (
    "heading_enumerators",
    "end_marker_patterns",
    "navigation_list_headers",
    "agency_tags",
    "cms_line_patterns",
    "navigation_patterns",
    "continuation_ref_patterns",
    "photo_credit_patterns",
    "caption_patterns",
)
_ALLOWED_KEYS = frozenset(
    _STR_KEYS + _INT_KEYS + _FLOAT_KEYS + _PATTERN_KEYS + _LIST_KEYS + _PATTERN_LIST_KEYS
)


@dataclass(frozen=True, slots=True)
class CleaningRules:
    """The cleaning rules of ``resources/cleaning.yml``, validated and compiled.

    Build with ``load_rules``; the field names are the YAML keys (see the
    comments in the YAML file for what each one does). ``source`` is the path
    the rules were read from.
    """

    source: str
    version: int
    terminal_punctuation: frozenset[str]
    title_stop_chars: frozenset[str]
    non_initial_chars: frozenset[str]
    clause_punctuation: frozenset[str]
    non_final_chars: frozenset[str]
    heading_bullets: frozenset[str]
    byline_bullets: frozenset[str]
    fragment_head_max_chars: int
    repair_context_chars: int
    image_gap_min_blank_lines: int
    caption_max_chars: int
    heading_max_chars: int
    bare_heading_max_chars: int
    bare_heading_min_chars: int
    bare_heading_min_count: int
    parallel_heading_min_commas: int
    parallel_heading_max_ratio: float
    title_max_chars: int
    kicker_min_parts: int
    byline_max_chars: int
    byline_role_prefix_max_chars: int
    move_search_max_elements: int
    move_similarity_margin: float
    newline_mode_min_share: float
    markdown_heading: re.Pattern[str]
    markdown_emphasis: re.Pattern[str]
    cms_title_pattern: re.Pattern[str]
    cms_date_pattern: re.Pattern[str]
    subtitle_dashes: tuple[str, ...]
    byline_roles: tuple[str, ...]
    byline_markers: tuple[str, ...]
    heading_enumerators: tuple[re.Pattern[str], ...]
    end_marker_patterns: tuple[re.Pattern[str], ...]
    navigation_list_headers: tuple[re.Pattern[str], ...]
    agency_tags: tuple[re.Pattern[str], ...]
    cms_line_patterns: tuple[re.Pattern[str], ...]
    navigation_patterns: tuple[re.Pattern[str], ...]
    continuation_ref_patterns: tuple[re.Pattern[str], ...]
    photo_credit_patterns: tuple[re.Pattern[str], ...]
    caption_patterns: tuple[re.Pattern[str], ...]
    re_role: re.Pattern[str] = field(repr=False, default=re.compile(""))
    re_marker: re.Pattern[str] = field(repr=False, default=re.compile(""))
    re_agency: re.Pattern[str] = field(repr=False, default=re.compile(""))


def _compile(pattern: Any, *, key: str, path: str) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise InputError(path, f"`{key}`: expected a regular expression string, got {pattern!r}.")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InputError(path, f"`{key}`: invalid regular expression {pattern!r}: {exc}.") from None


def load_rules(path: str | Path | None = None) -> CleaningRules:
    """Read and validate the cleaning rules.

    Parameters
    ----------
    path : str or Path or None, default=None
        A YAML file; ``None`` reads the packaged ``resources/cleaning.yml``.

    Returns
    -------
    CleaningRules

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    InputError
        A key is unknown or missing, a value has the wrong type, or a pattern
        does not compile; the message names the file and the key.
    """
    path = Path(RULES_PATH if path is None else path)
    data = read_yaml(path, what="cleaning-rules file")
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping of rule names to values at the top level.")
    src = str(path)
    allowed = ", ".join(sorted(_ALLOWED_KEYS))
    unknown = sorted(set(data) - _ALLOWED_KEYS, key=str)
    if unknown:
        raise InputError(path, f"unknown key(s) {unknown}; allowed keys are: {allowed}.")
    missing = sorted(_ALLOWED_KEYS - set(data))
    if missing:
        raise InputError(path, f"missing key(s) {missing}; every one of these must be set: {allowed}.")
    kw: dict[str, Any] = {"source": src}
    for key in _STR_KEYS:
        if not isinstance(data[key], str):
            raise InputError(path, f"`{key}`: expected a string of characters, got {data[key]!r}.")
        kw[key] = frozenset(data[key])
    for key in _INT_KEYS:
        value = data[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(path, f"`{key}`: expected a non-negative integer, got {value!r}.")
        kw[key] = value
    for key in _FLOAT_KEYS:
        value = data[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise InputError(path, f"`{key}`: expected a number, got {value!r}.")
        kw[key] = float(value)
    for key in _PATTERN_KEYS:
        kw[key] = _compile(data[key], key=key, path=src)
    for key in _LIST_KEYS:
        value = data[key]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise InputError(path, f"`{key}`: expected a non-empty list of strings, got {value!r}.")
        kw[key] = tuple(value)
    for key in _PATTERN_LIST_KEYS:
        value = data[key]
        if not isinstance(value, list):
            raise InputError(path, f"`{key}`: expected a list of regular expressions, got {value!r}.")
        kw[key] = tuple(_compile(v, key=key, path=src) for v in value)
    if "title" not in kw["cms_title_pattern"].groupindex:
        raise InputError(path, "`cms_title_pattern`: must have a named group (?P<title>...).")
    if "date" not in kw["cms_date_pattern"].groupindex:
        raise InputError(path, "`cms_date_pattern`: must have a named group (?P<date>...).")
    roles = "|".join(re.escape(r) for r in sorted(kw["byline_roles"], key=len, reverse=True))
    prefix = kw["byline_role_prefix_max_chars"]
    kw["re_role"] = re.compile(f"[{_CJK}]{{0,{prefix}}}?(?:{roles})")
    markers = "|".join(re.escape(m) for m in sorted(kw["byline_markers"], key=len, reverse=True))
    bullets = re.escape("".join(sorted(kw["byline_bullets"])))
    kw["re_marker"] = re.compile(f"[{bullets}]?(?:{markers})" if bullets else f"(?:{markers})")
    kw["re_agency"] = (
        re.compile("^(?:" + "|".join(p.pattern for p in kw["agency_tags"]) + ")")
        if kw["agency_tags"]
        else re.compile(r"(?!x)x")
    )
    return CleaningRules(**kw)


# --------------------------------------------------------------------------
# corrections
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correction:
    """One researcher correction: replace ``find`` by ``replace`` in one report.

    ``source`` names the corrections file and ``index`` the 0-based entry, for
    error messages and the repair log.
    """

    doc_id: str
    find: str
    replace: str
    note: str
    source: str = "<corrections>"
    index: int = 0


_CORRECTION_KEYS = frozenset({"doc_id", "find", "replace", "note"})


def load_corrections(path: str | Path) -> list[Correction]:
    """Read a researcher's corrections file.

    The file is YAML: a list of entries (or a mapping with the key
    ``corrections`` holding that list). Each entry::

        - doc_id: 012_example_report      # raw file name without .txt
          find: "会议会议"                 # exact raw text (may contain \\n)
          replace: "会议"                  # its correction ("" deletes)
          note: "doubled word in the source"

    Every occurrence of ``find`` in that report's raw text is replaced before
    cleaning and logged as a ``Repair`` of kind ``"correction"``. The raw file
    is never edited. Offsets stay valid: unchanged characters keep their raw
    offsets, and every character of ``replace`` maps to the *start* of the raw
    span it replaces (so ``Paragraph.raw_offset`` of a corrected character
    points at the raw text it stands for, though the characters differ). A
    deleted span is accounted for by the correction in ``account_characters``.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    InputError
        The file is not a list of entries, an entry has unknown or missing
        keys, or a value is not a string. (An entry that matches nothing is
        reported by ``clean_document``, naming this file and the entry.)
    """
    path = Path(path)
    data = read_yaml(path, what="corrections file")
    if isinstance(data, dict) and set(data) == {"corrections"}:
        data = data["corrections"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise InputError(path, "expected a list of corrections (each with doc_id, find, replace, note).")
    out = []
    for i, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise InputError(
                path, f"entry {i}: expected a mapping with keys doc_id, find, replace, note; got {entry!r}."
            )
        keys = set(entry)
        if keys - _CORRECTION_KEYS or not {"doc_id", "find", "replace"} <= keys:
            raise InputError(
                path,
                f"entry {i}: keys {sorted(keys)} are invalid; required: doc_id, find, replace; optional: note.",
            )
        values = {k: entry.get(k, "") for k in _CORRECTION_KEYS}
        for k, v in values.items():
            if not isinstance(v, str):
                raise InputError(path, f"entry {i}: `{k}` must be a string, got {v!r}.")
        if not values["find"]:
            raise InputError(path, f"entry {i}: `find` is empty; give the exact raw text to replace.")
        out.append(Correction(source=str(path), index=i, **values))
    return out


@dataclass(frozen=True, slots=True)
class _Seg:
    """A run of the working text: ``[w_start, w_end)`` stands for raw ``[raw_start, raw_end)``."""

    w_start: int
    w_end: int
    raw_start: int
    raw_end: int
    exact: bool


class _OffsetMap:
    """Working-text offset -> raw offset (identity unless corrections were applied)."""

    __slots__ = ("segs", "starts")

    def __init__(self, segs: list[_Seg]):
        self.segs = segs
        self.starts = [s.w_start for s in segs]

    def seg_at(self, w: int) -> int:
        return max(0, bisect.bisect_right(self.starts, w) - 1)

    def raw(self, w: int) -> int:
        seg = self.segs[self.seg_at(w)]
        if seg.exact:
            return seg.raw_start + (w - seg.w_start)
        return seg.raw_start

    def is_exact(self, s: int, e: int) -> bool:
        return all(seg.exact for seg in self.segs[self.seg_at(s) : self.seg_at(max(s, e - 1)) + 1])

    def raw_range(self, s: int, e: int) -> tuple[int, int]:
        if e <= s:
            r = self.raw(s)
            return r, r
        a = self.raw(s)
        last = self.segs[self.seg_at(e - 1)]
        b = last.raw_start + (e - last.w_start) if last.exact else last.raw_end
        return a, max(b, a + 1)

    def spans(self, s: int, e: int, text_pos: int) -> list[Span]:
        out: list[Span] = []
        i = self.seg_at(s)
        while s < e:
            seg = self.segs[i]
            stop = min(e, seg.w_end)
            if seg.exact:
                out.append(Span(text_pos, seg.raw_start + (s - seg.w_start), stop - s))
                text_pos += stop - s
            else:
                for _ in range(s, stop):
                    out.append(Span(text_pos, seg.raw_start, 1))
                    text_pos += 1
            s = stop
            i += 1
        return out


def _apply_corrections(
    raw: str, doc_id: str, corrections: Sequence[Correction]
) -> tuple[str, _OffsetMap, list[tuple[Correction, int, int]]]:
    hits: list[tuple[int, int, Correction]] = []
    for corr in corrections:
        if corr.doc_id != doc_id:
            continue
        found = [(m.start(), m.end()) for m in re.finditer(re.escape(corr.find), raw)]
        if not found:
            raise InputError(
                corr.source,
                f"entry {corr.index} (doc_id {corr.doc_id!r}, find {corr.find!r}) matches nothing in the raw text "
                "of that report; fix or remove the entry.",
            )
        hits.extend((s, e, corr) for s, e in found)
    hits.sort(key=lambda h: (h[0], h[1], h[2].index))
    for (_s1, e1, c1), (s2, _e2, c2) in zip(hits, hits[1:], strict=False):
        if s2 < e1:
            raise InputError(
                c2.source,
                f"entries {c1.index} and {c2.index} overlap in the raw text of {doc_id!r} at offset {s2}; "
                "merge them into one entry.",
            )
    if not hits:
        return raw, _OffsetMap([_Seg(0, len(raw), 0, len(raw), True)]), []
    parts: list[str] = []
    segs: list[_Seg] = []
    applied: list[tuple[Correction, int, int]] = []
    w = r = 0
    for s, e, corr in hits:
        if s > r:
            parts.append(raw[r:s])
            segs.append(_Seg(w, w + s - r, r, s, True))
            w += s - r
        if corr.replace:
            parts.append(corr.replace)
            segs.append(_Seg(w, w + len(corr.replace), s, e, False))
            w += len(corr.replace)
        applied.append((corr, s, e))
        r = e
    parts.append(raw[r:])
    segs.append(_Seg(w, w + len(raw) - r, r, len(raw), True))
    return "".join(parts), _OffsetMap(segs), applied


# --------------------------------------------------------------------------
# internal structures
# --------------------------------------------------------------------------

# A run of an output string: (w_start, w_end, literal). literal None means the
# working text W[w_start:w_end]; a literal (a join space) maps to w_start.
_Run = tuple[int, int, "str | None"]


@dataclass(slots=True)
class _Line:
    idx: int
    start: int
    end: int
    gap: int
    role: str = "body"  # body heading title subtitle removed byline caption
    body_start: int = 0
    body_end: int = 0
    holes: list[tuple[int, int]] = field(default_factory=list)
    rank: int = _RANK_PLAIN
    lead: bool = False  # opened by an agency tag or a byline: the lead paragraph, never a heading


@dataclass(slots=True)
class _Elem:
    kind: str  # "para" or "heading"
    runs: list[_Run]
    lines: list[int]
    rank: int = _RANK_PLAIN
    flags: list[str] = field(default_factory=list)
    section: int | None = None


@dataclass(slots=True)
class _State:
    w: str
    rules: CleaningRules
    doc_id: str
    lines: list[_Line]
    removed: list[tuple[int, int, str, str]] = field(default_factory=list)
    repairs: list[tuple[str, list[tuple[int, int]], str, str]] = field(default_factory=list)
    authors: list[list[_Run]] = field(default_factory=list)
    title: list[_Run] | None = None
    subtitle: list[_Run] | None = None
    date: str | None = None
    cms_titles: list[list[tuple[int, int]]] = field(default_factory=list)
    cms_blocks: list[list[tuple[int, int]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def remove(self, s: int, e: int, kind: str, reason: str) -> None:
        if e > s:
            self.removed.append((s, e, kind, reason))

    def repair(self, kind: str, before: list[tuple[int, int]], after: str, note: str) -> None:
        self.repairs.append((kind, before, after, note))


def _runs_text(w: str, runs: Sequence[_Run]) -> str:
    return "".join(w[s:e] if lit is None else lit for s, e, lit in runs)


def _strip_range(w: str, s: int, e: int) -> tuple[int, int]:
    while s < e and w[s].isspace():
        s += 1
    while e > s and w[e - 1].isspace():
        e -= 1
    return s, e


def _runs_of(w: str, s: int, e: int, holes: Sequence[tuple[int, int]] = ()) -> list[_Run]:
    """Runs covering W[s:e] minus the holes, whitespace-trimmed at both ends."""
    runs: list[_Run] = []
    pos = s
    for hs, he in sorted(holes):
        if he <= s or hs >= e:
            continue
        if hs > pos:
            runs.append((pos, hs, None))
        pos = max(pos, he)
    if pos < e:
        runs.append((pos, e, None))
    runs = [r for r in runs if r[1] > r[0]]
    while runs:
        a, b = _strip_range(w, runs[0][0], runs[0][1])
        if a < b:
            runs[0] = (a, runs[0][1], None)
            break
        runs.pop(0)
    while runs:
        a, b = _strip_range(w, runs[-1][0], runs[-1][1])
        if a < b:
            runs[-1] = (runs[-1][0], b, None)
            break
        runs.pop()
    return runs


# --------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------


def _split_lines(w: str) -> list[_Line]:
    lines: list[_Line] = []
    blanks = 0
    idx = 0
    for m in _RE_LINE.finditer(w):
        if m.start() == m.end() and m.start() > 0 and w[m.start() - 1] != "\n":
            continue  # the empty match after a non-empty line
        s, e = _strip_range(w, m.start(), m.end())
        if s == e:
            blanks += 1
            continue
        lines.append(_Line(idx, s, e, blanks if lines else 0, body_start=s, body_end=e))
        idx += 1
        blanks = 0
    return lines


def _matches_any(patterns: Sequence[re.Pattern[str]], text: str) -> bool:
    return any(p.search(text) for p in patterns)


def _remove_residue_lines(st: _State) -> None:
    """CMS records, navigation, continuation references, photo credits, captions after a credit."""
    r, w = st.rules, st.w
    cms_idx: list[int] = []
    after_credit = after_nav = False
    for line in st.lines:
        text = w[line.start : line.end]
        if _matches_any(r.navigation_patterns, text):
            line.role = "removed"
            after_nav = _matches_any(r.navigation_list_headers, text)
            st.remove(line.start, line.end, "navigation", "site navigation link, not part of the report")
            continue
        if (
            after_nav
            and text.strip()
            and len(text.strip()) <= r.title_max_chars
            and text.strip()[-1] not in r.terminal_punctuation
        ):
            # a headline listed under a navigation header (相关新闻: ...)
            line.role = "removed"
            st.remove(line.start, line.end, "navigation", "headline listed under a navigation header")
            continue
        after_nav = False
        if _matches_any(r.continuation_ref_patterns, text):
            line.role = "removed"
            st.remove(
                line.start, line.end, "continuation_ref", "reference to another page of the print edition"
            )
        elif _matches_any(r.cms_line_patterns, text):
            line.role = "removed"
            cms_idx.append(line.idx)
        elif _matches_any(r.photo_credit_patterns, text):
            line.role = "removed"
            after_credit = True
            st.remove(line.start, line.end, "photo_credit", "photo credit line")
        elif after_credit and len(text) <= r.caption_max_chars and not _has_inner_stop(text, r):
            line.role = "removed"
            st.remove(line.start, line.end, "caption", "short line in the caption block after a photo credit")
        elif _matches_any(r.caption_patterns, text) and len(text) <= 2 * r.caption_max_chars:
            line.role = "removed"
            st.remove(line.start, line.end, "caption", "photo caption (caption pattern)")
    # group consecutive CMS lines into records
    blocks: list[list[int]] = []
    for i in cms_idx:
        if blocks and blocks[-1][-1] == i - 1 and st.lines[i].gap == 0:
            blocks[-1].append(i)
        else:
            blocks.append([i])
    for block in blocks:
        bs, be = st.lines[block[0]].start, st.lines[block[-1]].end
        chunk = w[bs:be]
        title_ranges: list[tuple[int, int]] = []
        m = r.cms_title_pattern.search(chunk)
        if m and m.group("title").strip():
            ts, te = bs + m.start("title"), bs + m.end("title")
            pos = ts
            for part in w[ts:te].split("\n"):
                a, b = _strip_range(w, pos, pos + len(part))
                if a < b:
                    title_ranges.append((a, b))
                pos += len(part) + 1
            st.cms_titles.append(title_ranges)
        d = r.cms_date_pattern.search(chunk)
        if d and st.date is None:
            st.date = _iso_date(d.group("date"))
        st.cms_blocks.append([(st.lines[i].start, st.lines[i].end) for i in block])


def _iso_date(text: str) -> str | None:
    """``2021-06-04``, ``2021年06月30日``, ``2021/6/30`` -> ISO ``YYYY-MM-DD`` (None if invalid)."""
    parts = re.findall(r"\d+", text)
    if len(parts) < 3:
        return None
    try:
        return dt.date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
    except ValueError:
        return None


def _remove_cms_blocks(st: _State, used: Sequence[tuple[int, int]]) -> None:
    """Log the CMS records as residue: one item per line, or, around headline words used in the
    title, the record minus those words."""
    w = st.w
    for block in st.cms_blocks:
        bs, be = block[0][0], block[-1][1]
        cuts = sorted((a, b) for a, b in used if bs <= a and b <= be)
        pieces: list[tuple[int, int]] = []
        if cuts:
            pos = bs
            for a, b in cuts:
                pieces.append((pos, a))
                pos = b
            pieces.append((pos, be))
        else:
            pieces = list(block)
        for a, b in pieces:
            a, b = _strip_range(w, a, b)
            if a < b:
                st.remove(a, b, "cms_residue", "web-page/CMS residue (source field, comment marker, record)")


def _has_inner_stop(text: str, rules: CleaningRules) -> bool:
    """True when a sentence-final mark occurs before the last character."""
    stops = rules.terminal_punctuation - {"”", "」", "』"}
    return any(c in stops for c in text[:-1])


def _parse_byline(
    text: str, base: int, rules: CleaningRules, *, names_only: bool = False
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]] | None:
    """Parse ``text`` (at W offset ``base``) as a byline.

    Returns (author ranges, marker ranges) or None when ``text`` is not a
    byline. An author is ROLE SEP NAME (SP NAME)* as written; markers are
    generic credits (文/图, ■文/, 摄). ``names_only`` accepts bare names (inside
    brackets, where a byline needs no role word).
    """
    pos, n = 0, len(text)
    authors: list[tuple[int, int]] = []
    markers: list[tuple[int, int]] = []
    n_roles = 0

    def skip_ws(p: int) -> int:
        while p < n and text[p].isspace():
            p += 1
        return p

    def is_keyword(p: int) -> bool:
        m = rules.re_role.match(text, p)
        if m and (m.end() == n or not _RE_CJK_CHAR.match(text[m.end()])):
            return True
        m = rules.re_marker.match(text, p)
        return bool(m and (m.end() == n or text[m.end()].isspace() or m.group().endswith("/")))

    pos = skip_ws(pos)
    while pos < n:
        m = rules.re_marker.match(text, pos)
        if m and (m.end() == n or text[m.end()].isspace() or m.group().endswith("/")):
            markers.append((base + m.start(), base + m.end()))
            pos = skip_ws(m.end())
            continue
        m = rules.re_role.match(text, pos)
        if m:
            after = m.end()
            sep = re.compile(r"\s*[/::]\s*|\s+").match(text, after)
            if sep:
                p = sep.end()
                last_end = None
                while p < n:
                    nm = _RE_NAME.match(text, p)
                    if not nm or is_keyword(p):
                        break
                    if nm.end() < n and not (text[nm.end()].isspace() or text[nm.end()] in "/、,"):
                        break
                    last_end = nm.end()
                    p = skip_ws(nm.end())
                    if p < n and text[p] in "、,":  # 王丽、刘洋
                        p = skip_ws(p + 1)
                if last_end is not None:
                    authors.append((base + m.start(), base + last_end))
                    n_roles += 1
                    pos = p
                    continue
        if names_only:
            nm = _RE_NAME.match(text, pos)
            if nm and (nm.end() == n or text[nm.end()].isspace()):
                authors.append((base + nm.start(), base + nm.end()))
                pos = skip_ws(nm.end())
                continue
        return None
    if not authors and not markers:
        return None
    if not names_only and n_roles == 0 and not markers:
        return None
    return authors, markers


def _add_byline(st: _State, parsed: tuple[list[tuple[int, int]], list[tuple[int, int]]], where: str) -> None:
    authors, markers = parsed
    for a, b in authors:
        st.authors.append([(a, b, None)])
    for a, b in markers:
        st.remove(a, b, "byline", f"generic credit marker ({where})")


def _read_head(st: _State) -> None:
    """Title and subtitle: a markdown h1 line anywhere, else the head lines before the body."""
    r, w = st.rules, st.w
    h1 = None
    for line in st.lines:
        if line.role != "body":
            continue
        m = r.markdown_heading.match(w[line.start : line.end])
        if m and len(m.group(1)) == 1:
            h1 = line
            break
    if h1 is not None:
        m = r.markdown_heading.match(w[h1.start : h1.end])
        assert m is not None
        st.remove(h1.start, h1.start + len(m.group(1)), "markup", "markdown heading mark of the title line")
        h1.role = "title"
        s, e = _strip_range(w, h1.start + m.end(), h1.end)
        _split_kicker(st, s, e)
        return
    head: list[_Line] = []
    for line in st.lines:
        if line.role == "removed":
            continue
        if line.role != "body":
            break
        text = w[line.start : line.end]
        if _parse_byline(text, line.start, r) is not None and len(text) <= r.byline_max_chars:
            break
        if len(text) > r.title_max_chars or (
            text[-1] in r.title_stop_chars and not _is_dash_line(text, r)
        ):
            break
        if any(c in r.title_stop_chars for c in text[:-1]):
            break  # a colon or quotes may stand in a title (湖南长沙：…), a full stop may not
        head.append(line)
        if len(head) == 3:
            break
    # A headline printed on two lines, with the dashed subtitle after it:
    # 凝心聚力谋发展 / 实干担当开新局 / ——某区…综述 -> one title, joined with a space.
    if (
        len(head) == 3
        and head[1].gap == 0
        and not _leading_dash(w[head[1].start : head[1].end], r)
        and _leading_dash(w[head[2].start : head[2].end], r)
        and len(w[head[0].start : head[0].end]) + len(w[head[1].start : head[1].end]) <= r.title_max_chars
    ):
        first, second = head[0], head[1]
        first.role = second.role = "title"
        a = first.end
        st.title = _runs_of(w, first.start, first.end) + [(a, a + 1, " ")] + _runs_of(w, second.start, second.end)
        st.repair(
            "join_split",
            [(first.start, second.end)],
            _runs_text(w, st.title),
            "Headline printed on two lines (the dashed subtitle follows); joined with a space.",
        )
        head = [head[0], head[2]]
        head[0] = first
    else:
        head = head[:2]
    if not head:
        st.warnings.append("no title line found at the head of the report; title left empty")
        return
    title_line = head[0]
    title_line.role = "title"
    if st.title is None:
        st.title = _runs_of(w, title_line.start, title_line.end)
    if len(head) > 1:
        sub = head[1]
        text = w[sub.start : sub.end]
        dash = _leading_dash(text, r)
        plain_subtitle = (
            len(text) <= r.heading_max_chars
            and sub.gap <= 1
            and not any(c in r.terminal_punctuation or c in r.clause_punctuation for c in text)
            and not r.re_agency.match(text)
        )
        if dash or plain_subtitle:
            sub.role = "subtitle"
            if dash:
                st.remove(sub.start, sub.start + len(dash), "markup", "dash before the subtitle")
            st.subtitle = _runs_of(w, sub.start + len(dash), sub.end)


def _leading_dash(text: str, rules: CleaningRules) -> str:
    for d in sorted(rules.subtitle_dashes, key=len, reverse=True):
        if text.startswith(d) and len(text) > len(d):
            return d
    return ""


def _is_dash_line(text: str, rules: CleaningRules) -> bool:
    return bool(_leading_dash(text, rules))


def _split_kicker(st: _State, s: int, e: int) -> None:
    """A title line 'A B C Title1 Title2' whose first parts are parallel (same length) holds a kicker."""
    w, r = st.w, st.rules
    parts = [(m.start(), m.end()) for m in re.finditer(r"\S+", w[s:e])]
    parts = [(s + a, s + b) for a, b in parts]
    lengths = [b - a for a, b in parts]
    k = 1
    while k < len(parts) and lengths[k] == lengths[0]:
        k += 1
    rest = parts[k:]
    if k >= r.kicker_min_parts and rest and all(b - a > lengths[0] for a, b in rest):
        st.subtitle = [(parts[0][0], parts[k - 1][1], None)]
        st.title = [(rest[0][0], rest[-1][1], None)]
    else:
        st.title = [(s, e, None)]


def _complete_title_from_cms(st: _State) -> None:
    """When the CMS record holds the full headline and the visible title is only its end, complete it."""
    w = st.w
    if st.title is None and st.cms_titles:
        ranges = st.cms_titles[0]
        runs: list[_Run] = []
        for a, b in ranges:
            if runs:
                runs.append((runs[-1][1], runs[-1][1] + 1, " "))
            runs.append((a, b, None))
        st.title = runs
        st.warnings = [x for x in st.warnings if not x.startswith("no title line")]
        st.warnings.append("no visible title; the title is taken from the CMS record")
        _remove_cms_blocks(st, ranges)
        return
    if st.title is None or not st.cms_titles:
        _remove_cms_blocks(st, [])
        return
    visible = _runs_text(w, st.title)
    for ranges in st.cms_titles:
        texts = [w[a:b] for a, b in ranges]
        if len(texts) >= 2 and texts[-1] == visible:
            lead = ranges[:-1]
            runs: list[_Run] = []
            for a, b in lead:
                if runs:
                    runs.append((a, a + 1, " "))
                runs.append((a, b, None))
            runs.append((lead[-1][1], lead[-1][1] + 1, " "))
            new_title = runs + st.title
            _remove_cms_blocks(st, lead)
            after = _runs_text(w, new_title)
            st.repair(
                "other",
                [(st.title[0][0], st.title[-1][1]), (ranges[0][0], ranges[-1][1])],
                after,
                "The visible headline keeps only its last line; the CMS record at the end of the file holds the "
                f"whole headline. Title assembled from the CMS record's {' '.join(texts[:-1])!r} plus the "
                "visible line; the rest of the record is cms_residue.",
            )
            st.title = new_title
            return
    _remove_cms_blocks(st, [])


def _read_leading_bracket_byline(st: _State, line: _Line) -> bool:
    """A byline in brackets opening the line: ``(记者 王某 通讯员 李某)`` or ``(责任编辑:王某)``.

    Logs the brackets as ``byline`` removals and the names as authors, and
    moves the line's body start past it. Returns True when nothing of the
    line is left (the whole line was the byline).
    """
    r, w = st.rules, st.w
    text = w[line.body_start : line.body_end]
    m = _RE_BRACKETED.match(text)
    if not m or m.end() - 2 > r.byline_max_chars:
        return False
    parsed = _parse_byline(m.group(1), line.body_start + 1, r)
    if parsed is None:
        return False
    _add_byline(st, parsed, "byline in brackets")
    st.remove(line.body_start, line.body_start + 1, "byline", "byline brackets")
    st.remove(line.body_start + m.end() - 1, line.body_start + m.end(), "byline", "byline brackets")
    rest = _strip_range(w, line.body_start + m.end(), line.body_end)
    if rest[0] >= rest[1]:
        line.role = "byline"
        return True
    line.body_start = rest[0]
    line.lead = True
    return False


def _read_bylines(st: _State) -> None:
    r, w = st.rules, st.w
    lines = st.lines
    for k, line in enumerate(lines):
        if line.role != "body":
            continue
        # end-of-story marker closing the line: (完)
        for pattern in r.end_marker_patterns:
            m = pattern.search(w, line.body_start, line.body_end)
            if m and m.end() == line.body_end:
                st.remove(m.start(), m.end(), "markup", "end-of-story marker")
                line.body_end = _strip_range(w, line.body_start, m.start())[1]
                break
        if line.body_start >= line.body_end:
            line.role = "removed"
            continue
        if _read_leading_bracket_byline(st, line):
            continue
        text = w[line.body_start : line.body_end]
        # whole-line byline
        if len(text) <= r.byline_max_chars:
            parsed = _parse_byline(text, line.body_start, r)
            if parsed is not None:
                line.role = "byline"
                _add_byline(st, parsed, "byline line")
                continue
        # agency tag at the start of the lead
        m = r.re_agency.match(text)
        if m:
            st.remove(line.body_start, line.body_start + m.end(), "byline", "agency/own-report tag")
            line.lead = True
            line.body_start = _strip_range(w, line.body_start + m.end(), line.body_end)[0]
            if _read_leading_bracket_byline(st, line):  # 本报讯(记者 王某某)…
                continue
            text = w[line.body_start : line.body_end]
        # byline run into the end of a paragraph
        cut = max((text.rfind(c) for c in r.terminal_punctuation), default=-1)
        if cut < 0 or cut == len(text) - 1:
            continue
        tail_start = line.body_start + cut + 1
        tail = w[tail_start : line.body_end]
        if tail[0] in "((":
            _read_bracket_byline(st, k, tail_start)
            continue
        if len(tail) <= r.byline_max_chars:
            parsed = _parse_byline(tail, tail_start, r)
            if parsed is not None:
                _add_byline(st, parsed, "byline run into a paragraph")
                line.body_end = tail_start


def _read_bracket_byline(st: _State, k: int, open_pos: int) -> None:
    """'(王某某' at a paragraph end, possibly continued over the next short lines up to ')'."""
    w = st.w
    lines = st.lines
    line = lines[k]
    close_chars = "))"
    end_line = k
    close = -1
    for j in range(k, min(len(lines), k + 6)):
        if j > k and (lines[j].gap > 0 or lines[j].role != "body" or lines[j].end - lines[j].start > 8):
            break
        seg_start = open_pos + 1 if j == k else lines[j].start
        found = [i for i in range(seg_start, lines[j].end) if w[i] in close_chars]
        if found:
            close, end_line = found[0], j
            break
    if close < 0 or close != lines[end_line].end - 1:
        return
    inner_s, inner_e = open_pos + 1, close
    parsed = _parse_byline_multiline(st, inner_s, inner_e)
    if parsed is None:
        return
    names, markers = parsed
    st.remove(open_pos, open_pos + 1, "byline", "bracket around the byline")
    st.remove(close, close + 1, "byline", "bracket around the byline")
    for a, b in markers:
        st.remove(a, b, "byline", "generic credit marker (bracketed byline)")
    for runs in names:
        st.authors.append(runs)
        if len(runs) > 1:
            st.repair(
                "join_split",
                [(open_pos, close + 1)],
                _runs_text(w, runs),
                "Bracketed byline split over lines; single characters on consecutive lines are one name whose "
                "padding space became a line break; joined.",
            )
    line.body_end = _strip_range(w, line.body_start, open_pos)[1]
    for j in range(k + 1, end_line + 1):
        lines[j].role = "byline"


def _parse_byline_multiline(
    st: _State, s: int, e: int
) -> tuple[list[list[_Run]], list[tuple[int, int]]] | None:
    w, r = st.w, st.rules
    inner = w[s:e]
    flat = _RE_WS.sub(" ", inner)
    if len(flat) > r.byline_max_chars:
        return None
    tokens = [(s + m.start(), s + m.end()) for m in re.finditer(r"\S+", inner)]
    if not tokens:
        return None
    # roles present: parse as an ordinary byline on one line
    if any(r.re_role.match(w[a:b]) for a, b in tokens):
        parsed = _parse_byline(inner, s, r, names_only=True)
        if parsed is None:
            return None
        return [[(a, b, None)] for a, b in parsed[0]], parsed[1]
    names: list[list[_Run]] = []
    pending: list[_Run] = []
    for a, b in tokens:
        if not all(_RE_CJK_CHAR.match(c) or c == "·" for c in w[a:b]):
            return None
        if b - a == 1:
            pending.append((a, b, None))
            continue
        if pending:
            return None
        if not 2 <= b - a <= 4:
            return None
        names.append([(a, b, None)])
    if pending:
        if not 2 <= len(pending) <= 3:
            return None
        names.append(pending)
    return names, []


def _strip_markup(st: _State) -> None:
    """Markdown heading marks, decorative bullets, ** emphasis; record the heading marker rank."""
    r, w = st.rules, st.w
    for line in st.lines:
        if line.role not in ("body", "title", "subtitle"):
            continue
        if line.role == "body":
            m = r.markdown_heading.match(w[line.body_start : line.body_end])
            if m and m.group(1):
                st.remove(
                    line.body_start, line.body_start + len(m.group(1)), "markup", "markdown heading mark"
                )
                line.rank = len(m.group(1))
                line.role = "heading"
                line.body_start = _strip_range(w, line.body_start + m.end(), line.body_end)[0]
            elif w[line.body_start] in r.heading_bullets and line.body_end - line.body_start > 1:
                st.remove(line.body_start, line.body_start + 1, "markup", "decorative mark before a heading")
                line.rank = _RANK_BULLET
                line.role = "heading"
                line.body_start = _strip_range(w, line.body_start + 1, line.body_end)[0]
        for m in r.markdown_emphasis.finditer(w, line.body_start, line.body_end):
            st.remove(m.start(), m.end(), "markup", "markdown emphasis mark")
            line.holes.append((m.start(), m.end()))
    if st.title is not None:
        _drop_holes_from_head(st)


def _drop_holes_from_head(st: _State) -> None:
    """Re-cut title/subtitle runs around emphasis marks removed from their lines."""
    holes = [h for line in st.lines if line.role in ("title", "subtitle") for h in line.holes]
    if not holes:
        return
    for attr in ("title", "subtitle"):
        runs = getattr(st, attr)
        if runs is None:
            continue
        new: list[_Run] = []
        for s, e, lit in runs:
            if lit is not None:
                new.append((s, e, lit))
            else:
                new.extend(_runs_of(st.w, s, e, holes))
        setattr(st, attr, new)


def _line_text(st: _State, line: _Line) -> str:
    return _runs_text(st.w, _runs_of(st.w, line.body_start, line.body_end, line.holes))


def _is_heading_shape(text: str, rules: CleaningRules, *, allow_bare: bool) -> bool:
    """A short phrase, unterminated, with a heading's shape.

    The shape is two halves separated by a space, or parallel clauses
    (``parallel_heading_min_commas``), or, when ``allow_bare`` (newline mode,
    where a line is a paragraph), a very short phrase without punctuation.
    In blank-line layouts a bare short line is more likely the first half of
    a page-break split than a heading, so it is left to the join step (which
    logs the join).
    """
    if not text or len(text) > rules.heading_max_chars:
        return False
    closing = {"”", "」", "』"}
    if (text[-1] in rules.terminal_punctuation and text[-1] not in closing) or text[
        -1
    ] in rules.non_final_chars:
        return False
    if _has_inner_stop(text + "x", rules):
        return False
    if any(text.count(a) != text.count(b) for a, b in _PAIRED_MARKS):
        return False  # an open quotation or bracket: a fragment, not a phrase
    if _RE_SPACE_BETWEEN_PHRASES.search(text):
        return True
    if sum(text.count(c) for c in rules.clause_punctuation if c != "、") >= rules.parallel_heading_min_commas:
        # parallel phrases are of like length (突出学习感悟,做好“七个一”,让党员干部动起来);
        # a sentence cut by a break is not (今年以来,某区深入开展党史学习教育,发挥烈士)
        commas = "".join(c for c in rules.clause_punctuation if c != "、")
        parts = [len(p) for p in re.split(f"[{re.escape(commas)}]", text) if p]
        if parts and max(parts) <= rules.parallel_heading_max_ratio * min(parts):
            return True
    return (
        allow_bare
        and len(text) <= rules.bare_heading_max_chars
        and not any(c in rules.clause_punctuation for c in text)
    )


def _enumerator_rank(text: str, rules: CleaningRules) -> int | None:
    """Rank of an enumerated heading line (一、强化组织领导 / (一)抓好学习), else None.

    The whole line must be the heading: no sentence stop inside or at the end
    (a run-in lead such as "(一)抓好专题学习。区委…" stays in its paragraph).
    """
    if len(text) > rules.heading_max_chars or _has_inner_stop(text + "x", rules):
        return None
    if text[-1] in rules.terminal_punctuation or text[-1] in rules.non_final_chars:
        return None
    for i, pattern in enumerate(rules.heading_enumerators):
        m = pattern.match(text)
        if m and m.end() < len(text):
            return _RANK_ENUM + i
    return None


def _bare_heading_context(st: _State, k: int, text: str) -> bool:
    """In a blank-line layout, may the bare short line ``k`` be a heading rather than a split?

    Yes when it stands alone between complete sentences: the body line before
    it (if any) ends with terminal punctuation or is a heading, the line after
    it is separated by a blank line and can begin a sentence, and the line is
    at least ``bare_heading_min_chars`` long. A page break leaves the first
    half at the end of a longer line, or a piece whose neighbour cannot stand
    alone, so it fails one of these tests and goes to the join step.
    """
    r, lines = st.rules, st.lines
    if len(text) < r.bare_heading_min_chars:
        return False
    nxt = lines[k + 1] if k + 1 < len(lines) else None
    if nxt is None or nxt.gap == 0 or nxt.role not in ("body", "heading"):
        return False
    nxt_text = _line_text(st, nxt)
    if not nxt_text or nxt_text[0] in r.non_initial_chars:
        return False
    for j in range(k - 1, -1, -1):
        prev = lines[j]
        if prev.role == "heading":
            return True
        if prev.role == "body":
            prev_text = _line_text(st, prev)
            if not prev_text:
                continue
            return prev_text[-1] in r.terminal_punctuation
    return True


def _bare_heading_candidates(st: _State) -> set[int]:
    """Lines of a blank-line layout that may be bare headings, when there are enough of them.

    A single bare short line between sentences is as likely the first half
    of a page-break split ("全面推进基层治" / "理现代化…") as a heading; a
    report's section structure shows as several such lines. So bare
    headings are accepted only when at least ``bare_heading_min_count``
    lines qualify.
    """
    r = st.rules
    found = set()
    for k, line in enumerate(st.lines):
        if line.role != "body":
            continue
        text = _line_text(st, line)
        if (
            text
            and _is_heading_shape(text, r, allow_bare=True)
            and not _is_heading_shape(text, r, allow_bare=False)
            and _bare_heading_context(st, k, text)
        ):
            found.add(k)
    return found if len(found) >= r.bare_heading_min_count else set()


def _classify_captions_and_headings(st: _State, newline_mode: bool) -> None:
    r = st.rules
    lines = st.lines
    bare_ok = set() if newline_mode else _bare_heading_candidates(st)
    for k, line in enumerate(lines):
        if line.role not in ("body", "heading"):
            continue
        text = _line_text(st, line)
        if not text:
            line.role = "removed"
            continue
        if (
            line.role == "body"
            and k > 0
            and line.gap >= r.image_gap_min_blank_lines
            and len(text) <= r.caption_max_chars
            and not _has_inner_stop(text, r)
        ):
            line.role = "caption"
            # what is left of the line (tags or marks already removed from it stay logged once)
            for s, e, _ in _runs_of(st.w, line.body_start, line.body_end, line.holes):
                st.remove(s, e, "caption", f"short line after an image gap ({line.gap} blank lines)")
            continue
        if line.role == "heading" or line.lead:
            continue
        nxt = lines[k + 1] if k + 1 < len(lines) else None
        standalone = newline_mode or nxt is None or nxt.gap > 0
        if not standalone and not (
            nxt is not None
            and nxt.role == "body"
            and _is_heading_shape(_line_text(st, nxt), r, allow_bare=newline_mode)
        ):
            continue
        allow_bare = newline_mode or k in bare_ok
        dash = _leading_dash(text, r)
        enum = _enumerator_rank(text, r)
        if enum is not None:
            line.role = "heading"
            line.rank = enum
        elif dash and len(text) <= r.heading_max_chars and not _has_inner_stop(text, r):
            line.role = "heading"
            line.rank = _RANK_DASH
        elif _is_heading_shape(text, r, allow_bare=allow_bare):
            line.role = "heading"
            line.rank = _RANK_PLAIN


def _build_elements(st: _State, newline_mode: bool) -> list[_Elem]:
    """Headings (two-line headings merged) and paragraphs (lines of one block merged) in raw order."""
    w = st.w
    elems: list[_Elem] = []
    prev: _Line | None = None
    for line in st.lines:
        if line.role not in ("body", "heading"):
            if line.role in ("caption", "removed", "byline"):
                prev = None
            continue
        runs = _runs_of(w, line.body_start, line.body_end, line.holes)
        if not runs:
            continue
        last = elems[-1] if elems else None
        adjacent = prev is not None and line.gap == 0 and last is not None and last.lines[-1] == prev.idx
        if line.role == "heading":
            if (
                adjacent
                and last is not None
                and last.kind == "heading"
                and prev is not None
                and prev.rank == line.rank
                and len(last.lines) == 1
            ):
                a = last.runs[-1][1]
                before = (last.runs[0][0], runs[-1][1])
                last.runs.extend([(a, a + 1, " ")] + runs)
                last.lines.append(line.idx)
                st.repair(
                    "join_split",
                    [before],
                    _runs_text(w, last.runs),
                    "Two-line heading (one line per half); joined with a space.",
                )
            else:
                elems.append(_Elem("heading", runs, [line.idx], rank=line.rank))
        elif adjacent and not newline_mode and last is not None and last.kind == "para":
            _join(st, last, _Elem("para", runs, [line.idx]), "", "Line wrap inside a paragraph; joined.")
        else:
            elems.append(_Elem("para", runs, [line.idx]))
        prev = line
    return elems


def _context(st: _State, runs: Sequence[_Run], *, end: bool) -> tuple[int, int]:
    n = st.rules.repair_context_chars
    if end:
        s, e, _ = runs[-1]
        return max(s, e - n), e
    s, e, _ = runs[0]
    return s, min(e, s + n)


def _join(st: _State, left: _Elem, right: _Elem, sep: str, note: str) -> None:
    ls, le = _context(st, left.runs, end=True)
    rs, re_ = _context(st, right.runs, end=False)
    after = st.w[ls:le] + sep + st.w[rs:re_]
    before = [(ls, re_)] if le <= rs and not st.w[le:rs].strip() else [(ls, le), (rs, re_)]
    a = left.runs[-1][1]
    left.runs.extend(([(a, a + 1, sep)] if sep else []) + right.runs)
    left.lines.extend(right.lines)
    left.flags.extend(f for f in right.flags if f not in left.flags)
    st.repair("join_split", before, after, note)


def _bigrams(text: str) -> Counter[str]:
    chars = [c for c in text if _RE_CJK_CHAR.match(c)]
    return Counter(a + b for a, b in zip(chars, chars[1:], strict=False))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    num = sum(v * b[k] for k, v in a.items() if k in b)
    return num / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))


def _dangling(st: _State, elem: _Elem) -> bool:
    text = _runs_text(st.w, elem.runs)
    return bool(text) and text[-1] not in st.rules.terminal_punctuation


def _continuation_start(st: _State, elem: _Elem) -> bool:
    """The paragraph cannot begin a sentence: it starts with a non-initial mark or a one-character clause."""
    r = st.rules
    text = _runs_text(st.w, elem.runs)
    if not text:
        return False
    if text[0] in r.non_initial_chars:
        return True
    head = next((i for i, c in enumerate(text) if c in r.clause_punctuation), None)
    return head is not None and 0 < head <= r.fragment_head_max_chars


def _repair_breaks(st: _State, elems: list[_Elem], newline_mode: bool) -> list[_Elem]:
    """Move displaced continuations back, join page breaks, flag what is left dangling."""
    w, r = st.w, st.rules
    # 1. displaced blocks
    i = 0
    while i < len(elems):
        x = elems[i]
        nxt = elems[i + 1] if i + 1 < len(elems) else None
        if x.kind == "para" and _dangling(st, x) and nxt is not None and nxt.kind == "heading":
            moved = _find_displaced(st, elems, i)
            if moved is not None:
                j, k = moved  # block elems[j:k] continues x; elems[j-1] is the interrupted paragraph
                y, wpar = elems[j - 1], elems[k]
                block = elems[j:k]
                ys, _ = _context(st, y.runs, end=True)
                _, we = _context(st, wpar.runs, end=False)
                bs, _ = _context(st, block[0].runs, end=False)
                xs, xe = _context(st, x.runs, end=True)
                _, be = _context(st, block[-1].runs, end=True)
                del elems[j:k]
                for n_, b in enumerate(block):
                    elems.insert(i + 1 + n_, b)
                names = ", ".join(repr(_runs_text(w, b.runs)[:12] + "…") for b in block)
                st.repair(
                    "move_fragment",
                    [(xs, xe), (ys, bs + r.repair_context_chars), (be - r.repair_context_chars, we)],
                    _runs_text(w, x.runs)[-r.repair_context_chars :]
                    + _runs_text(w, block[0].runs)[: r.repair_context_chars],
                    f"The paragraph ending {_runs_text(w, x.runs)[-8:]!r} is cut off by a heading; the block {names} "
                    "that begins mid-word after another dangling paragraph continues it (it shares more vocabulary "
                    "with it than with its surroundings). Moved back, in order; the paragraph it interrupted is "
                    "joined to the paragraph after the block.",
                )
                _join(
                    st,
                    x,
                    block[0],
                    "",
                    "After the move, the dangling paragraph and the moved block's first "
                    "paragraph are one sentence; joined without a space.",
                )
                elems.remove(block[0])
                yi = elems.index(y)
                _join(
                    st,
                    y,
                    elems[yi + 1],
                    "",
                    "Once the displaced block is moved back, the paragraph it "
                    "interrupted continues in the paragraph after it; joined without a space.",
                )
                del elems[yi + 1]
        i += 1
    # 2. page/column breaks between neighbouring paragraphs
    out: list[_Elem] = []
    for elem in elems:
        last = out[-1] if out else None
        if elem.kind == "para" and last is not None and last.kind == "para" and _dangling(st, last):
            text = _runs_text(w, last.runs)
            sep = " " if newline_mode and text.count("“") > text.count("”") else ""
            note = (
                "Line break inside a quoted name (the space of the original became a newline); joined with a space."
                if sep
                else "Page/column break inside a word or sentence; joined."
            )
            _join(st, last, elem, sep, note)
            continue
        out.append(elem)
    # 3. flags
    for n_, elem in enumerate(out):
        if elem.kind != "para":
            continue
        text = _runs_text(w, elem.runs)
        if _dangling(st, elem):
            elem.flags.append("truncated_end")
            s, e = _context(st, elem.runs, end=True)
            st.repair(
                "truncated_fragment",
                [(s, e)],
                "",
                f"Paragraph ends mid-sentence ({text[-8:]!r}) and no "
                "continuation was found; check the source.",
            )
            st.warnings.append(
                f"paragraph {n_} ends mid-sentence ({text[-12:]!r}); flagged truncated_fragment"
            )
        if _continuation_start(st, elem) and text[0] in r.non_initial_chars:
            elem.flags.append("truncated_start")
            s, e = _context(st, elem.runs, end=False)
            st.repair(
                "truncated_fragment",
                [(s, e)],
                "",
                f"Paragraph starts mid-sentence ({text[:8]!r}); its beginning was not found.",
            )
            st.warnings.append(
                f"paragraph {n_} starts mid-sentence ({text[:12]!r}); flagged truncated_fragment"
            )
    return out


def _find_displaced(st: _State, elems: list[_Elem], i: int) -> tuple[int, int] | None:
    """Find the block continuing the dangling paragraph ``elems[i]`` (cut off by a heading).

    Candidate: a later paragraph Z that starts mid-word (``_continuation_start``)
    right after another dangling paragraph Y. The block is Z and the following
    paragraphs while each is closer (character-bigram cosine) to X than to Y by
    ``move_similarity_margin``; it must end with a complete sentence and be
    followed by a paragraph W (no heading between) that can continue Y.
    """
    r = st.rules
    x = elems[i]
    xb = _bigrams(_runs_text(st.w, x.runs))
    for j in range(i + 2, min(len(elems), i + 2 + r.move_search_max_elements)):
        z, y = elems[j], elems[j - 1]
        if z.kind != "para" or y.kind != "para" or not _dangling(st, y) or not _continuation_start(st, z):
            continue
        yb = _bigrams(_runs_text(st.w, y.runs))
        k = j
        while k < len(elems) and elems[k].kind == "para":
            b = _bigrams(_runs_text(st.w, elems[k].runs))
            if _cosine(b, xb) - _cosine(b, yb) < r.move_similarity_margin:
                break
            k += 1
        if k == j or k >= len(elems) or elems[k].kind != "para":
            continue
        if _dangling(st, elems[k - 1]) or _continuation_start(st, elems[k]):
            continue
        return j, k
    return None


def _assign_sections(elems: list[_Elem]) -> tuple[list[_Elem], list[_Elem], list[int]]:
    headings = [e for e in elems if e.kind == "heading"]
    ranks = sorted({e.rank for e in headings})
    levels = [ranks.index(e.rank) + 1 for e in headings]
    current: int | None = None
    paras: list[_Elem] = []
    h = 0
    for e in elems:
        if e.kind == "heading":
            current = h
            h += 1
        else:
            e.section = current
            paras.append(e)
    return headings, paras, levels


# --------------------------------------------------------------------------
# public entry points
# --------------------------------------------------------------------------


def clean_document(
    document: Document,
    *,
    corrections: Sequence[Correction] | None = None,
    rules: CleaningRules | None = None,
) -> CleanDocument:
    """Clean one report: header fields, body paragraphs mapped to raw offsets, and the audit log.

    Parameters
    ----------
    document : Document
        The decoded report (``Document.raw_text`` is the offset reference).
    corrections : sequence of Correction or None, default=None
        Researcher corrections (``load_corrections``); only those whose
        ``doc_id`` is this document's are applied, each logged as a
        ``Repair`` of kind ``"correction"``.
    rules : CleaningRules or None, default=None
        The rules; ``None`` loads the packaged ``cleaning.yml``.

    Returns
    -------
    CleanDocument
        Paragraph ids are ``f"{doc_id}:p{i:03d}"``; every paragraph's spans map
        its characters to raw offsets; ``field_spans`` does the same for the
        title, subtitle, ``author:<i>`` and ``section:<i>``.

    Raises
    ------
    TypeError
        ``document`` is not a ``Document``.
    InputError
        A correction for this document matches nothing (or two overlap);
        the message names the corrections file and the entry.

    Notes
    -----
    Joins. A paragraph that does not end with terminal punctuation
    (``terminal_punctuation``) is joined without a space to the next body
    paragraph when no heading lies between (captions, credits and bylines in
    between are skipped). In newline mode a break inside an open quotation
    mark stands for the space of the original and is joined with one space;
    consecutive heading lines with the same mark are one two-line heading
    joined with a space. A join space maps to the raw line break it replaces.

    Displaced blocks. A dangling paragraph X followed by a heading cannot be
    joined in place. A later block is moved back to it when (i) its first
    paragraph cannot begin a sentence (it starts with a mark in
    ``non_initial_chars`` or its first clause is at most
    ``fragment_head_max_chars`` long, e.g. ``组,``), (ii) it follows another
    dangling paragraph Y, (iii) each of its paragraphs shares more character
    bigrams with X than with Y (cosine, margin ``move_similarity_margin``),
    and (iv) the paragraph after it can continue Y. Then X + block and
    Y + the paragraph after the block are joined. Otherwise nothing moves
    and X is flagged ``truncated_fragment`` (flag ``truncated_end``) with a
    warning, as is any paragraph that still starts with a non-initial mark.

    Examples
    --------
    >>> from analysis.records import Document
    >>> raw = "标题一行\\n\\n本报讯 全区开展学习,发挥烈士\\n\\n陵园作用。记者 王某某\\n"
    >>> doc = clean_document(Document("x", "x.txt", "utf-8", raw))
    >>> doc.title, doc.authors, [p.text for p in doc.paragraphs]
    ('标题一行', ('记者 王某某',), ['全区开展学习,发挥烈士陵园作用。'])
    """
    if not isinstance(document, Document):
        raise TypeError(f"`document`: expected analysis.records.Document, got {type(document).__name__}.")
    rules = load_rules() if rules is None else rules
    raw = document.raw_text
    w_text, omap, applied = _apply_corrections(raw, document.doc_id, corrections or ())
    w = w_text.translate(_FOLD_WIDTH)  # rules match on this; text is taken from w_text
    st = _State(w=w, rules=rules, doc_id=document.doc_id, lines=_split_lines(w))
    pairs = list(zip(st.lines, st.lines[1:], strict=False))
    newline_mode = (
        bool(pairs) and sum(b.gap == 0 for _, b in pairs) / len(pairs) >= rules.newline_mode_min_share
    )

    _remove_residue_lines(st)
    _read_head(st)
    _complete_title_from_cms(st)
    _read_bylines(st)
    _strip_markup(st)
    _classify_captions_and_headings(st, newline_mode)
    elems = _build_elements(st, newline_mode)
    elems = _repair_breaks(st, elems, newline_mode)
    headings, paras, levels = _assign_sections(elems)
    if not paras:
        st.warnings.append("no body paragraphs found; check the encoding or the cleaning rules")
    return _assemble(document, st, omap, applied, headings, paras, levels, w_text)


def _unfold_snippet(snippet: str, folded: str, original: str) -> str:
    """``snippet`` (built from the folded text) in the original's own characters.

    ``folded`` and ``original`` are the same region of the working text before
    and after width folding; the snippet's characters are found in order (a join
    space that is not in the region is kept as it is). Linear in the region.
    """
    if folded == original:
        return snippet
    out: list[str] = []
    j = 0
    for c in snippet:
        k = folded.find(c, j)
        if k == -1:
            out.append(c)
            continue
        out.append(original[k])
        j = k + 1
    return "".join(out)


def _assemble(
    document: Document,
    st: _State,
    omap: _OffsetMap,
    applied: list[tuple[Correction, int, int]],
    headings: list[_Elem],
    paras: list[_Elem],
    levels: list[int],
    w_text: str,
) -> CleanDocument:
    w, raw, doc_id = w_text, document.raw_text, document.doc_id

    def to_spans(runs: Sequence[_Run]) -> tuple[str, tuple[Span, ...]]:
        # (span, exact): only exact spans (identical characters) are merged
        spans: list[tuple[Span, bool]] = []
        pos = 0
        parts: list[str] = []
        for s, e, lit in runs:
            if lit is not None:
                spans.append((Span(pos, omap.raw(s), len(lit)), False))
                parts.append(lit)
                pos += len(lit)
            else:
                exact = omap.is_exact(s, e)
                spans.extend((sp, exact) for sp in omap.spans(s, e, pos))
                parts.append(w[s:e])
                pos += e - s
        merged: list[tuple[Span, bool]] = []
        for sp, exact in spans:
            if merged and exact and merged[-1][1] and merged[-1][0].raw_end == sp.raw_start:
                last = merged.pop()[0]
                merged.append((Span(last.text_start, last.raw_start, last.length + sp.length), True))
            else:
                merged.append((sp, exact))
        return "".join(parts), tuple(sp for sp, _ in merged)

    field_spans: dict[str, tuple[Span, ...]] = {}
    title = subtitle = None
    if st.title:
        title, field_spans["title"] = to_spans(st.title)
    if st.subtitle:
        subtitle, field_spans["subtitle"] = to_spans(st.subtitle)
    authors: list[str] = []
    for runs in st.authors:
        text, spans = to_spans(runs)
        field_spans[f"author:{len(authors)}"] = spans
        authors.append(text)
    sections: list[str] = []
    for i, h in enumerate(headings):
        text, spans = to_spans(h.runs)
        field_spans[f"section:{i}"] = spans
        sections.append(text)
    paragraphs: list[Paragraph] = []
    for i, p in enumerate(paras):
        text, spans = to_spans(p.runs)
        sec = p.section
        paragraphs.append(
            Paragraph(
                para_id=f"{doc_id}:p{i:03d}",
                doc_id=doc_id,
                index=i,
                text=text,
                spans=spans,
                section=sections[sec] if sec is not None else None,
                section_index=sec,
                flags=tuple(p.flags),
            )
        )
    removed = []
    for s, e, kind, reason in st.removed:
        rs, re_ = omap.raw_range(s, e)
        removed.append(Removal(doc_id, kind, rs, re_, raw[rs:re_], reason))
    removed.sort(key=lambda x: (x.raw_start, x.raw_end, x.kind))
    repairs = []
    for kind, before, after, note in st.repairs:
        if before and after:
            lo, hi = min(s for s, _ in before), max(e for _, e in before)
            after = _unfold_snippet(after, st.w[lo:hi], w[lo:hi])
        ranges = [omap.raw_range(s, e) for s, e in before]
        snippets = tuple(raw[a:b] for a, b in ranges)
        lo = min((a for a, _ in ranges), default=0)
        hi = max((b for _, b in ranges), default=0)
        repairs.append(Repair(doc_id, kind, snippets, after, lo, hi, note))
    for corr, s, e in applied:
        repairs.append(
            Repair(
                doc_id,
                "correction",
                (raw[s:e],),
                corr.replace,
                s,
                e,
                f"{corr.note or 'researcher correction'} ({corr.source}, entry {corr.index})",
            )
        )
    repairs.sort(key=lambda x: (x.raw_start, x.raw_end, x.kind))

    warnings = list(st.warnings)
    meta = _metadata(document, title or "", subtitle, paragraphs, st.date, warnings)
    for message in warnings:
        logger.info("%s: %s", doc_id, message)
    return CleanDocument(
        doc_id=doc_id,
        raw_text=raw,
        title=title or "",
        subtitle=subtitle,
        place=meta["place"],
        admin_level=meta["admin_level"],
        city=meta["city"],
        province=meta["province"],
        date=meta["date"],
        authors=tuple(dict.fromkeys(authors)),
        sections=tuple(sections),
        section_levels=tuple(levels),
        paragraphs=tuple(paragraphs),
        removed=tuple(removed),
        repairs=tuple(repairs),
        field_spans=field_spans,
        warnings=tuple(warnings),
        metadata_source=meta["source"],
    )


def _metadata(
    document: Document,
    title: str,
    subtitle: str | None,
    paragraphs: Sequence[Paragraph],
    cms_date: str | None,
    warnings: list[str],
) -> dict[str, Any]:
    """Place and date: the manifest's when given, else detected from the text (disagreement warns)."""
    keys = ("place", "admin_level", "city", "province")
    out: dict[str, Any] = {k: getattr(document, k) for k in keys}
    source: dict[str, str] = {}
    guess = None
    try:
        from . import places
    except ImportError:  # pragma: no cover - places.py is part of the package
        places = None  # type: ignore[assignment]
    if places is not None:
        head = " ".join(t for t in (title, subtitle) if t)
        body = "\n".join(p.text for p in paragraphs)
        guess = places.detect_place(head, body)
    if document.place:
        source["place"] = document.metadata_origin.get("place", "manifest")
        if guess is not None and guess.place == document.place:
            # a place given without its level/city/province (a JSON Lines record, a short manifest row)
            for key, value in guess.as_metadata().items():
                if out.get(key) is None:
                    out[key] = value
        if guess is not None and guess.place != document.place:
            warnings.append(
                f"{METADATA_CONFLICT}: the manifest gives place {document.place!r} but the text is about {guess.place!r} "
                f"({guess.evidence}); check the manifest row"
            )
    elif guess is not None:
        out.update(guess.as_metadata())
        source["place"] = f"text ({guess.evidence})"
        if guess.ambiguous:
            warnings.append(f"place {guess.place!r} is ambiguous; also: {', '.join(guess.ambiguous)}")
    else:
        source["place"] = "none"
        warnings.append("no place found in the manifest or the text")
    if document.date:
        out["date"] = document.date
        source["date"] = document.metadata_origin.get("date", "manifest")
        if cms_date and cms_date != document.date:
            warnings.append(
                f"{METADATA_CONFLICT}: the manifest gives date {document.date!r} but the CMS record says {cms_date!r}"
            )
    else:
        out["date"] = cms_date
        source["date"] = "cms record" if cms_date else "none"
    out["source"] = source
    return out


def account_characters(clean_doc: CleanDocument) -> dict[str, list[int]]:
    """Check that every non-whitespace raw character is in exactly one output place.

    The places are the title, subtitle, each author, each section, each
    paragraph and each removal; a character replaced or deleted by a
    researcher correction is accounted for by that correction.

    Returns
    -------
    dict
        ``{"unaccounted": [...], "double_counted": [...]}``: sorted raw offsets
        of non-whitespace characters in no place / in more than one place.
        Both empty means the cleaning lost and duplicated nothing.
    """
    raw = clean_doc.raw_text
    counts = bytearray(len(raw))
    corrected = bytearray(len(raw))
    for r in clean_doc.repairs:
        if r.kind == "correction":
            corrected[r.raw_start : r.raw_end] = b"\x01" * (r.raw_end - r.raw_start)

    def cover(offsets: set[int]) -> None:
        for o in offsets:
            counts[o] = min(counts[o] + 1, 2)

    def span_offsets(spans: Sequence[Span]) -> set[int]:
        out: set[int] = set()
        for sp in spans:
            out.update(range(sp.raw_start, sp.raw_end))
        return out

    for key in sorted(clean_doc.field_spans):
        cover(span_offsets(clean_doc.field_spans[key]))
    for p in clean_doc.paragraphs:
        cover(span_offsets(p.spans))
    for rem in clean_doc.removed:
        cover(set(range(rem.raw_start, rem.raw_end)))
    unaccounted = [i for i, c in enumerate(raw) if not c.isspace() and counts[i] == 0 and not corrected[i]]
    double = [i for i, c in enumerate(raw) if not c.isspace() and counts[i] > 1]
    return {"unaccounted": unaccounted, "double_counted": double}
