"""Record types passed between stages (raw file -> Document -> CleanDocument -> Paragraph -> mentions).

Offsets are always code-point offsets into ``Document.raw_text``: the raw file
decoded, BOM stripped, newlines normalised to ``\\n``. For the bundled corpus
(UTF-8, LF, no BOM) that is exactly the file's decoded text, the convention of
``../shared/gold``.
"""

from __future__ import annotations

import bisect
import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import pandas as pd

__all__ = [
    "Document",
    "Span",
    "Paragraph",
    "Removal",
    "Repair",
    "CleanDocument",
    "MetricMention",
    "ExcludedNumber",
    "REMOVAL_KINDS",
    "REPAIR_KINDS",
    "QUALIFIERS",
    "CATEGORIES",
    "to_frame",
]

REMOVAL_KINDS = (
    "byline",
    "caption",
    "photo_credit",
    "cms_residue",
    "navigation",
    "continuation_ref",
    "markup",
    "other",
)
REPAIR_KINDS = ("join_split", "move_fragment", "truncated_fragment", "correction", "other")
QUALIFIERS = ("exact", "more_than", "nearly", "about")
CATEGORIES = (
    "organization",
    "study",
    "outreach",
    "audience",
    "media",
    "service",
    "emergency",
    "economy",
    "membership",
)

Qualifier = Literal["exact", "more_than", "nearly", "about"]


@dataclass(frozen=True, slots=True)
class Document:
    """One raw report, decoded, with the metadata its manifest row gives.

    ``raw_text`` is the reference for every offset downstream. Metadata fields
    are ``None`` when the manifest has no row (or no value) for the file; the
    cleaning step then detects them from the text.

    A web page (``input_format="html"``) or a JSON Lines record is read into
    the same record: ``raw_text`` is then the text extracted from the page
    (``webtext.extract_page``) or the record's ``text``, written to
    ``data/processed/extracted/<doc_id>.txt`` by the corpus step, and offsets
    count code points of it, not of the HTML. ``record`` is the 1-based line
    of the JSON Lines file the report came from; ``title``, ``url``, ``site``
    and ``author`` are what the page or the record gives. ``metadata_origin``
    says where ``place``/``date`` came from when not from the manifest
    (``"page metadata"``, ``"jsonl record"``).
    """

    doc_id: str
    source_path: str
    encoding: str
    raw_text: str
    place: str | None = None
    admin_level: str | None = None
    city: str | None = None
    province: str | None = None
    date: str | None = None
    source: str | None = None
    in_manifest: bool = False
    input_format: str = "text"
    record: int | None = None
    title: str | None = None
    url: str | None = None
    site: str | None = None
    author: str | None = None
    metadata_origin: dict[str, str] = field(default_factory=dict)

    @property
    def extracted(self) -> bool:
        """Whether ``raw_text`` was extracted (a web page, a JSON Lines record) rather than read from a ``.txt``;
        such text is written to ``extracted/<doc_id>.txt``, the reference of its offsets."""
        return self.input_format != "text" or self.record is not None


@dataclass(frozen=True, slots=True)
class Span:
    """A run of ``length`` characters that sit at ``text_start`` in a cleaned
    string and at ``raw_start`` in the raw text (identical characters)."""

    text_start: int
    raw_start: int
    length: int

    @property
    def text_end(self) -> int:
        return self.text_start + self.length

    @property
    def raw_end(self) -> int:
        return self.raw_start + self.length


def _spans_raw_offset(spans: tuple[Span, ...], i: int, text_len: int) -> int:
    if not 0 <= i < text_len:
        raise IndexError(f"character index {i} out of range for a text of {text_len} characters")
    starts = [s.text_start for s in spans]
    k = bisect.bisect_right(starts, i) - 1
    span = spans[k]
    if not span.text_start <= i < span.text_end:
        raise ValueError(f"character {i} is not covered by any span; the span map is broken")
    return span.raw_start + (i - span.text_start)


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One body paragraph of a cleaned document, mapped back to raw offsets.

    ``spans`` cover ``text`` exactly, in text order: ``text[s.text_start:s.text_end]
    == raw_text[s.raw_start:s.raw_end]`` for each span. A join over a page break
    is two spans; a moved block gives spans out of raw order.
    """

    para_id: str
    doc_id: str
    index: int
    text: str
    spans: tuple[Span, ...]
    section: str | None = None
    section_index: int | None = None
    flags: tuple[str, ...] = ()

    @property
    def raw_start(self) -> int:
        return min(s.raw_start for s in self.spans)

    @property
    def raw_end(self) -> int:
        return max(s.raw_end for s in self.spans)

    @property
    def n_chars(self) -> int:
        return len(self.text)

    def raw_offset(self, i: int) -> int:
        """Raw offset of character ``i`` of ``text``."""
        return _spans_raw_offset(self.spans, i, len(self.text))

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """Raw ``(start, end)`` of ``text[start:end]`` (end exclusive).

        When the slice crosses a join, the raw span also covers what lay
        between the pieces (e.g. the blank line of a page break).
        """
        if not 0 <= start < end <= len(self.text):
            raise IndexError(f"slice [{start}:{end}] out of range for {len(self.text)} characters")
        return self.raw_offset(start), self.raw_offset(end - 1) + 1

    def crosses_join(self, start: int, end: int) -> bool:
        """True when ``text[start:end]`` is not one contiguous run of raw text."""
        return any(
            s.text_start < end and start < s.text_end and not (s.text_start <= start and end <= s.text_end)
            for s in self.spans
        )


@dataclass(frozen=True, slots=True)
class Removal:
    """A piece of raw text kept out of the body, and why."""

    doc_id: str
    kind: str
    raw_start: int
    raw_end: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class Repair:
    """A join, move, correction or flag made while cleaning.

    ``before`` holds the raw snippets involved (with their raw line breaks);
    ``after`` is the snippet as it stands in the output (empty for a pure flag).
    """

    doc_id: str
    kind: str
    before: tuple[str, ...]
    after: str
    raw_start: int
    raw_end: int
    note: str


@dataclass(frozen=True, slots=True)
class CleanDocument:
    """A report after cleaning: header fields, body paragraphs and the audit log.

    ``field_spans`` maps each non-paragraph output string to its raw spans, keyed
    ``"title"``, ``"subtitle"``, ``"author:<i>"``, ``"section:<i>"``, so that
    every raw character can be accounted for (see ``clean.account_characters``).
    ``warnings`` holds human-readable notes for the cleaning report (metadata
    disagreement, fragments flagged for a researcher, ...).
    """

    doc_id: str
    raw_text: str
    title: str
    subtitle: str | None
    place: str | None
    admin_level: str | None
    city: str | None
    province: str | None
    date: str | None
    authors: tuple[str, ...]
    sections: tuple[str, ...]
    section_levels: tuple[int, ...]
    paragraphs: tuple[Paragraph, ...]
    removed: tuple[Removal, ...]
    repairs: tuple[Repair, ...]
    field_spans: dict[str, tuple[Span, ...]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    metadata_source: dict[str, str] = field(default_factory=dict)

    def heading_paragraphs(self) -> tuple[Paragraph, ...]:
        """Title, subtitle and section headings as :class:`Paragraph` records, in raw order.

        So that what is extracted from body paragraphs (metric mentions) can be
        extracted from them too: a headline such as 全区开展宣讲1200余场 states a
        claim as much as a body sentence does. ``para_id`` is
        ``<doc_id>:title``, ``<doc_id>:subtitle`` or ``<doc_id>:h<index>``;
        ``index`` is -1; ``flags`` holds ``"title"``, ``"subtitle"`` or
        ``"heading"``. A field without a raw span map (none is expected) is left out.
        """
        fields = [("title", "title", self.title, None), ("subtitle", "subtitle", self.subtitle, None)]
        fields += [
            (f"section:{i}", f"h{i:02d}", text, i) for i, text in enumerate(self.sections)
        ]
        out = []
        for key, suffix, text, section_index in fields:
            spans = self.field_spans.get(key)
            if not text or not spans:
                continue
            out.append(
                Paragraph(
                    para_id=f"{self.doc_id}:{suffix}",
                    doc_id=self.doc_id,
                    index=-1,
                    text=text,
                    spans=spans,
                    section=text if section_index is not None else None,
                    section_index=section_index,
                    flags=("heading" if section_index is not None else key,),
                )
            )
        return tuple(sorted(out, key=lambda p: (p.raw_start, p.para_id)))

    def to_gold_dict(self) -> dict[str, Any]:
        """The schema of ``../shared/gold/clean/*.json`` (keys in its order)."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "subtitle": self.subtitle,
            "place": self.place,
            "admin_level": self.admin_level,
            "city": self.city,
            "province": self.province,
            "date": self.date,
            "authors": list(self.authors),
            "sections": list(self.sections),
            "paragraphs": [p.text for p in self.paragraphs],
            "removed": [
                {"text": r.text, "kind": r.kind, "start": r.raw_start, "end": r.raw_end}
                for r in self.removed
            ],
            "repairs": [
                {"kind": r.kind, "before": list(r.before), "after": r.after, "note": r.note}
                for r in self.repairs
            ],
            "section_levels": list(self.section_levels),
            "paragraph_sections": [p.section_index for p in self.paragraphs],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class MetricMention:
    """One quantitative claim about the campaign (DESIGN.md, "Metric mentions").

    ``start``/``end`` are raw offsets of ``surface``. ``value`` is in base units
    (万元 -> 元), the lower bound when approximate; ``upper`` is the upper bound
    of an approximate pair (五六百 -> 500, upper 600), else ``None``.
    """

    mention_id: str
    doc_id: str
    para_id: str
    start: int
    end: int
    surface: str
    value: Decimal
    unit: str
    qualifier: str
    is_rate: bool
    counted: str
    category: str
    upper: Decimal | None = None
    sentence: str = ""


@dataclass(frozen=True, slots=True)
class ExcludedNumber:
    """A number seen in the text but not counted as a metric, with the reason."""

    doc_id: str
    para_id: str
    start: int
    end: int
    surface: str
    reason: str
    sentence: str = ""


def to_frame(records: Any, record_type: type | None = None) -> pd.DataFrame:
    """DataFrame of dataclass records: one column per field, in declared order.

    Nested or tuple-valued fields (spans, flags) are kept as Python objects;
    callers that write files choose the columns they write. An empty input
    gives an empty frame with the right columns when ``record_type`` is given.
    """
    rows = list(records)
    if not rows:
        if record_type is None:
            raise ValueError("to_frame: no records and no record_type to take the columns from")
        return pd.DataFrame(columns=[f.name for f in dataclasses.fields(record_type)])
    cls = type(rows[0])
    names = [f.name for f in dataclasses.fields(cls)]
    return pd.DataFrame([[getattr(r, n) for n in names] for r in rows], columns=names)
