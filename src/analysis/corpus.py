"""Clean a whole corpus and lay it out as tables (documents, paragraphs, removals, repairs).

This is the corpus-level step between ``clean`` (one document at a time, no
shared state, so it can be mapped over processes) and the notebooks, which read
the tables it writes to ``data/processed/``.

Besides the tables, the text every web page or JSON Lines record was read
into (the offset reference of its paragraphs, removals and metric mentions:
``records.Document``) is written to ``data/processed/extracted/<doc_id>.txt``;
a plain ``.txt`` report is its own offset reference and is not copied.
Reports that repeat an earlier one (``duplicates.find_duplicates``) are listed
in the ``duplicates`` table and left out of the other tables unless
``keep_duplicates=True``; reports that could not be read or cleaned are listed
in the ``skipped`` table (file, JSON Lines record, doc_id, reason).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from . import clean, duplicates, ingest, parallel, paths, storage
from .errors import InputError, check_frame
from .records import CleanDocument, Paragraph, Span

__all__ = [
    "DOCUMENT_COLUMNS",
    "PARAGRAPH_COLUMNS",
    "CleanCorpus",
    "clean_corpus",
    "documents_frame",
    "paragraphs_frame",
    "removed_frame",
    "repairs_frame",
    "warnings_frame",
    "duplicates_frame",
    "skipped_frame",
    "summary_line",
    "EXTRACTED_DIR_NAME",
    "place_label",
    "write_corpus_tables",
    "write_corpus",
    "CorpusSummary",
    "read_paragraphs",
    "read_documents",
    "read_raw_texts",
    "paragraph_records",
    "metadata_provenance",
    "characters_accounting",
    "paragraphs_check_raw",
    "surfaces_check_raw",
]

logger = logging.getLogger(__name__)

#: Columns of documents.parquet: one row per report.
DOCUMENT_COLUMNS = (
    "doc_id",  # raw file name without .txt
    "title",
    "subtitle",
    "place",  # the place the report is about (manifest, else detected; else "unknown place (<doc_id>)")
    "admin_level",  # province / city / district / county
    "city",
    "province",
    "date",  # ISO date where known
    "authors",  # "; "-joined bylines
    "source",  # manifest source note (else the page's site and url)
    "source_path",  # raw file, relative to the project
    "record",  # line of the JSON Lines file the report was read from (else empty)
    "input_format",  # text / html (the page's extracted text is data/processed/extracted/<doc_id>.txt)
    "url",  # the page's address, when the record or page gives one
    "encoding",  # encoding the raw file was decoded with
    "metadata_source",  # manifest / detected, per field (JSON)
    "n_paragraphs",
    "n_chars",  # characters in the cleaned paragraphs
    "n_raw_chars",  # characters of the decoded raw text (of the extracted text for a page)
    "n_removed",
    "n_repairs",
    "n_warnings",
)
#: Columns of paragraphs.parquet: one row per body paragraph.
PARAGRAPH_COLUMNS = (
    "para_id",  # f"{doc_id}:p{index:03d}"
    "doc_id",
    "place",
    "para_index",  # 0-based order in the cleaned document
    "section",  # heading the paragraph falls under (None for the lead)
    "section_index",
    "text",  # cleaned text
    "raw_start",  # first raw offset covered
    "raw_end",  # last raw offset covered + 1
    "n_chars",
    "spans",  # JSON [[text_start, raw_start, length], ...]: the exact map to raw
    "flags",  # JSON list of flags set by cleaning (e.g. truncated fragment)
)


#: Folder of data/processed that holds the extracted text of each page or JSON Lines record.
EXTRACTED_DIR_NAME = "extracted"
#: Columns of the skipped table.
SKIPPED_COLUMNS = ("path", "record", "doc_id", "stage", "reason")
#: Columns of the duplicates table.
DUPLICATE_COLUMNS = ("doc_id", "duplicate_of", "similarity", "kind", "kept")
#: Sort columns of the tables made of every report's rows (headings share the paragraphs' order).
TABLE_SORT = {
    "documents": ["doc_id"],
    "paragraphs": ["para_id"],
    "headings": ["para_id"],
    "removed": ["doc_id", "raw_start", "raw_end"],
    "repairs": ["doc_id", "raw_start", "kind"],
    "cleaning_warnings": ["doc_id", "kind", "message"],
}


@dataclass(frozen=True, slots=True)
class CleanCorpus:
    """Cleaned documents of a corpus, with what was skipped and the duplicates found.

    ``documents`` are those that go into the analysis (without the reports
    that repeat an earlier one unless they were kept); ``corpus`` holds every
    report read; ``skipped`` what could not be read (stage ``read``) or left
    no paragraph after cleaning (stage ``clean``); ``duplicates`` every pair
    found, ``duplicates_kept`` whether the repeats stayed in ``documents``.
    """

    documents: tuple[CleanDocument, ...]
    corpus: ingest.Corpus
    skipped: tuple[ingest.SkippedFile, ...] = ()
    duplicates: tuple[duplicates.DuplicatePair, ...] = ()
    duplicates_kept: bool = False
    clean_skipped: tuple[str, ...] = ()


def clean_corpus(
    raw_dir: str | Path = paths.RAW_DIR,
    *,
    files: Sequence[str | Path] | None = None,
    corrections_path: str | Path | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    keep_duplicates: bool = False,
    duplicate_threshold: float = duplicates.DEFAULT_THRESHOLD,
    jobs: int | None = 1,
    dask: Any = None,
    batch_size: int = parallel.DEFAULT_BATCH_SIZE,
    progress: bool = False,
) -> CleanCorpus:
    """Read and clean every report of ``raw_dir`` (or the given ``files``).

    Parameters
    ----------
    raw_dir : str or Path, default=paths.RAW_DIR
        Raw reports (``.txt``, ``.html``, ``.htm``, ``.jsonl``) and their
        optional ``manifest.csv``, or one JSON Lines file.
    files : sequence of paths or None, default=None
        Only these files.
    corrections_path : str or Path or None, default=None
        Optional researcher corrections (see ``clean.load_corrections``);
        ``None`` uses ``data/corrections.yml`` when it exists.
    on_error : {"raise", "skip"}, default="raise"
        An unreadable file or record, or a report that leaves no paragraph
        after cleaning, raises; or is skipped with a warning and listed in
        ``CleanCorpus.skipped``.
    keep_duplicates : bool, default=False
        Keep reports that repeat an earlier one in the analysis; by default
        they are listed in ``CleanCorpus.duplicates`` and left out.
    duplicate_threshold : float, default=duplicates.DEFAULT_THRESHOLD
        Jaccard similarity of character shingles from which two reports are
        near-duplicates (``duplicates.find_duplicates``).
    jobs : int or None, default=1
        Clean the reports in this many local processes (``None`` or 0: every
        core; 1: in this process). The result is the same whatever the number.
    dask : str, distributed.Client or None, default=None
        Clean them on a Dask cluster instead: ``"local"`` starts a
        ``distributed.LocalCluster`` of ``jobs`` workers for the call, else a
        scheduler address or a ``Client`` (see ``parallel.map_ordered``).
    batch_size : int, default=parallel.DEFAULT_BATCH_SIZE
        Reports per task sent to a worker.
    progress : bool, default=False
        Show a progress bar (reports cleaned, with an ETA) on stderr.

    Notes
    -----
    Listing the files, the checks across reports (a doc_id used twice, the
    manifest's rows), the comparison of duplicate candidates and the tables
    stay in this process; reading a report (decoding, HTML extraction:
    ``ingest.read_source``), cleaning it and computing its MinHash
    fingerprint (``duplicates.fingerprint``), one report at a time with no
    shared state, is what runs in parallel, and the results are taken in
    the order of the files (``ingest.CorpusReader``). With
    ``on_error="raise"`` the error raised is that of the first report, in
    that order, that cannot be read or leaves no paragraph.

    Raises
    ------
    InputError
        With ``on_error="raise"``: the first unreadable file or record, or a
        report without paragraphs (the message names the file and record).
    ValueError
        A ``duplicate_threshold`` outside (0, 1].
    """
    if not 0 < duplicate_threshold <= 1:
        raise ValueError(f"`duplicate_threshold` value {duplicate_threshold!r} is invalid; it must be in (0, 1].")
    reader = ingest.CorpusReader(raw_dir, files=files, on_error=on_error)
    if corrections_path is None and paths.CORRECTIONS_PATH.is_file():
        corrections_path = paths.CORRECTIONS_PATH
    corrections = clean.load_corrections(corrections_path) if corrections_path is not None else None
    rules = clean.load_rules()
    read: list[ingest.Document] = []
    read_skipped: list[ingest.SkippedFile] = []
    docs: list[CleanDocument] = []
    clean_skipped: list[ingest.SkippedFile] = []
    prints: list[duplicates.Fingerprint] = []
    cleaner = functools.partial(parallel.read_clean_and_fingerprint, corrections=corrections, rules=rules)
    read_and_clean = functools.partial(
        parallel.map_ordered, cleaner, jobs=jobs, dask=dask, batch_size=batch_size, progress=progress,
        total=ingest.count_reports(raw_dir, files=files), desc="reports cleaned",
    )
    results = ingest.admit_in_order(reader.admit, reader.sources(), read_and_clean)
    with contextlib.closing(results):  # stops the workers when a report raises
        for document, result in results:
            if isinstance(document, ingest.SkippedFile):
                read_skipped.append(document)
                continue
            read.append(document)
            _, doc, print_ = result
            if not doc.paragraphs:
                clean_skipped.append(_without_paragraphs(document, on_error))
                continue
            docs.append(doc)
            prints.append(print_)
    reader.finish()
    corpus = ingest.Corpus(documents=tuple(read), skipped=tuple(read_skipped), manifest_path=ingest.manifest_path_of(raw_dir, files=files))
    skipped = [*read_skipped, *clean_skipped]
    if not docs:
        raise InputError(raw_dir, "no report has paragraphs after cleaning; see the warnings above.")
    if corrections:
        _check_corrections_used(corrections, {d.doc_id for d in docs}, corrections_path)
    by_id = {d.doc_id: d for d in docs}
    pairs = duplicates.duplicates_from_fingerprints(
        prints, lambda doc_id: duplicates.document_text(by_id[doc_id]), threshold=duplicate_threshold
    )
    left_out = _log_duplicates(pairs, keep_duplicates)
    if left_out:
        docs = [d for d in docs if d.doc_id not in left_out]
    return CleanCorpus(
        documents=tuple(docs),
        corpus=corpus,
        skipped=tuple(skipped),
        duplicates=pairs,
        duplicates_kept=keep_duplicates,
        clean_skipped=tuple(s.doc_id for s in clean_skipped),
    )


def summary_line(cleaned: CleanCorpus | CorpusSummary, see: str | None = None) -> str:
    """``N reports read, M skipped: see …`` (and the duplicates left out), for the terminal."""
    if isinstance(cleaned, CleanCorpus):
        n_read = len(cleaned.corpus.documents) + len(cleaned.corpus.skipped)
    else:
        n_read = cleaned.n_read
    line = f"{n_read} reports read, {len(cleaned.skipped)} skipped"
    if cleaned.skipped:
        line += f": see {see}" if see else ": see the warnings above"
    if cleaned.duplicates:
        line += f"; {len(cleaned.duplicates)} duplicate(s) " + ("kept" if cleaned.duplicates_kept else "left out of the comparison")
    return line


#: Reports cleaned before their rows are spilled as one sorted run of each table (:func:`write_corpus`).
RUN_REPORTS = 1000
#: Reports whose rows :func:`write_corpus` sorts and writes at a time when it assembles a table.
RANGE_REPORTS = 2000


@dataclass(frozen=True, slots=True)
class CorpusSummary:
    """What :func:`write_corpus` wrote: row counts of the tables, what was skipped and the duplicates found.

    ``n_read`` counts the reports read or skipped while reading; ``rows``
    gives the rows written per table (``documents``, ``paragraphs``, ...).
    """

    n_read: int
    rows: dict[str, int]
    skipped: tuple[ingest.SkippedFile, ...] = ()
    duplicates: tuple[duplicates.DuplicatePair, ...] = ()
    duplicates_kept: bool = False


def write_corpus(
    raw_dir: str | Path = paths.RAW_DIR,
    processed_dir: str | Path = paths.PROCESSED_DIR,
    *,
    files: Sequence[str | Path] | None = None,
    corrections_path: str | Path | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    keep_duplicates: bool = False,
    duplicate_threshold: float = duplicates.DEFAULT_THRESHOLD,
    jobs: int | None = 1,
    dask: Any = None,
    batch_size: int = parallel.DEFAULT_BATCH_SIZE,
    progress: bool = False,
    run_reports: int = RUN_REPORTS,
    range_reports: int = RANGE_REPORTS,
    partition_rows: int | None = storage.PARTITION_ROWS,
) -> CorpusSummary:
    """Clean a collection of any size and write its tables, holding a bounded number of reports in memory.

    Writes the same files, byte for byte, as :func:`clean_corpus` followed by
    :func:`write_corpus_tables` (the parameters mean the same), but streams:
    reports are listed one at a time (``ingest.CorpusReader``), read and
    cleaned in batches (``jobs`` / ``dask``), and every ``run_reports`` reports their
    rows go to disk as sorted runs of each table (``runs.SortedRuns``), their
    text for the duplicate checks to a ``runs.TextStore``, and the extracted
    text of pages and records beside them. Only doc_ids and duplicate
    fingerprints (about 1 KB a report) stay in memory. Once every report is
    cleaned, the duplicates are found, and each table is sorted and written
    ``range_reports`` reports at a time (``storage.write_table_chunks``;
    tables of more than ``partition_rows`` rows are partitioned). The work
    files live in a temporary folder of ``processed_dir``, removed at the
    end; nothing in ``processed_dir`` changes if the run stops with an error.

    ``python -m analysis corpus`` calls this; use :func:`clean_corpus` to
    get the cleaned documents themselves.

    Raises
    ------
    InputError, ValueError
        As :func:`clean_corpus`.
    """
    import shutil
    import tempfile

    from . import runs

    if not 0 < duplicate_threshold <= 1:
        raise ValueError(f"`duplicate_threshold` value {duplicate_threshold!r} is invalid; it must be in (0, 1].")
    for name, value in (("run_reports", run_reports), ("range_reports", range_reports)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` value {value!r} is invalid; it must be a positive integer.")
    if corrections_path is None and paths.CORRECTIONS_PATH.is_file():
        corrections_path = paths.CORRECTIONS_PATH
    corrections = clean.load_corrections(corrections_path) if corrections_path is not None else None
    cleaner = functools.partial(parallel.read_clean_and_rows, corrections=corrections, rules=clean.load_rules())
    processed_dir = Path(processed_dir)
    created = not processed_dir.exists()
    processed_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".corpus-", suffix=".tmp", dir=processed_dir))
    try:
        tables = {name: runs.SortedRuns(work / name, sort_by) for name, sort_by in TABLE_SORT.items()}
        texts = runs.TextStore(work / "texts")
        extracted_work = work / EXTRACTED_DIR_NAME
        extracted_work.mkdir()
        read_skipped: list[ingest.SkippedFile] = []
        clean_skipped: list[ingest.SkippedFile] = []
        doc_ids: list[str] = []  # cleaned reports with paragraphs, in reading order
        extracted: list[str] = []
        prints: list[duplicates.Fingerprint] = []
        run: list[tuple[str, dict[str, list[tuple]], str]] = []  # doc_id, table rows, text for the duplicate check

        reader = ingest.CorpusReader(raw_dir, files=files, on_error=on_error)

        def spill() -> None:
            if not run:
                return
            for name, frame in frames_from_report_rows([rows for _, rows, _ in run]).items():
                tables[name].add(frame)
            texts.add([(doc_id, text) for doc_id, _, text in run])
            run.clear()

        read_and_clean = functools.partial(
            parallel.map_ordered, cleaner, jobs=jobs, dask=dask, batch_size=batch_size, progress=progress,
            total=ingest.count_reports(raw_dir, files=files), desc="reports cleaned",
        )
        results = ingest.admit_in_order(reader.admit, reader.sources(), read_and_clean)
        with contextlib.closing(results):
            for document, result in results:
                if isinstance(document, ingest.SkippedFile):
                    read_skipped.append(document)
                    continue
                _, rows, text, print_ = result
                if document.extracted:
                    (extracted_work / f"{document.doc_id}.txt").write_bytes(document.raw_text.encode("utf-8"))
                    extracted.append(document.doc_id)
                if rows is None:
                    clean_skipped.append(_without_paragraphs(document, on_error))
                    continue
                run.append((document.doc_id, rows, text))
                doc_ids.append(document.doc_id)
                prints.append(print_)
                if len(run) >= run_reports:
                    spill()
        spill()
        reader.finish()
        if not doc_ids:
            raise InputError(raw_dir, "no report has paragraphs after cleaning; see the warnings above.")
        if corrections:
            _check_corrections_used(corrections, set(doc_ids), corrections_path)
        pairs = duplicates.duplicates_from_fingerprints(prints, texts.get, threshold=duplicate_threshold)
        del prints
        left_out = _log_duplicates(pairs, keep_duplicates)
        skipped = (*read_skipped, *clean_skipped)
        outside = CleanCorpus(
            documents=(),
            corpus=ingest.Corpus(documents=(), skipped=tuple(read_skipped)),
            skipped=skipped,
            duplicates=pairs,
            duplicates_kept=keep_duplicates,
            clean_skipped=tuple(s.doc_id for s in clean_skipped),
        )
        provenance = _provenance(
            documents=[d for d in doc_ids if d not in left_out], skipped=skipped, left_out=pairs if not keep_duplicates else (),
            extracted=sorted(extracted),
        )
        _swap_extracted(extracted_work, processed_dir / EXTRACTED_DIR_NAME)
        ranges = runs.key_ranges(sorted(doc_ids)[range_reports::range_reports])
        extra = {"cleaning_warnings": warnings_frame(outside)}  # skipped files and duplicates
        rows: dict[str, int] = {}
        for name, table in tables.items():
            n_rows = table.n_rows - table.count(left_out, "doc_id") + len(extra.get(name, ()))
            storage.write_table_chunks(
                table.chunks(ranges, drop_keys=left_out, drop_column="doc_id", extra=extra.get(name)),
                processed_dir / name, n_rows=n_rows, schema=table.schema(),
                provenance=provenance if name == "documents" else None, partition_rows=partition_rows,
            )
            rows[name] = n_rows
        for name, frame in (("duplicates", duplicates_frame(outside)), ("skipped", skipped_frame(outside))):
            storage.write_table(frame, processed_dir / name, partition_rows=partition_rows)
            rows[name] = len(frame)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if created:
            with contextlib.suppress(OSError):  # a folder made for this run, left empty: remove it too
                processed_dir.rmdir()
        raise
    shutil.rmtree(work, ignore_errors=True)
    return CorpusSummary(
        n_read=len(doc_ids) + len(clean_skipped) + len(read_skipped),
        rows=rows,
        skipped=skipped,
        duplicates=pairs,
        duplicates_kept=keep_duplicates,
    )


def _check_corrections_used(corrections, present: set[str], corrections_path) -> None:  # noqa: ANN001
    """An entry for a doc_id that is not in the corpus (``present``) is an error (it matched nothing)."""
    for entry in corrections:
        doc_id = getattr(entry, "doc_id", None)
        if doc_id is not None and doc_id not in present:
            raise InputError(corrections_path, f"correction for {doc_id!r} matches no document of the corpus: {entry}")


def _without_paragraphs(document: ingest.Document, on_error: str) -> ingest.SkippedFile:
    """A report that cleaning left without paragraphs: raise, or log and return its ``SkippedFile`` (stage ``clean``)."""
    where = document.source_path + (f", line {document.record}" if document.record else "")
    reason = (
        f"no paragraphs left after cleaning {document.doc_id} ({document.input_format}); check its encoding, "
        "whether it is an article page, or whether the cleaning rules remove its body."
    )
    if on_error == "raise":
        raise InputError(where, reason)
    logger.warning("skipped %s: %s", where, reason)
    return ingest.SkippedFile(path=document.source_path, reason=reason, record=document.record, doc_id=document.doc_id)


def _log_duplicates(pairs: Sequence[duplicates.DuplicatePair], keep_duplicates: bool) -> frozenset[str]:
    """Log each duplicate pair; return the doc_ids left out of the comparison (none when they are kept)."""
    for pair in pairs:
        logger.warning(
            "%s repeats %s (%s, similarity %.3f)%s", pair.doc_id, pair.duplicate_of, pair.kind, pair.similarity,
            "" if keep_duplicates else "; left out of the comparison",
        )
    return frozenset() if keep_duplicates else frozenset(p.doc_id for p in pairs)


def place_label(doc: CleanDocument) -> str:
    """The report's place, or ``"unknown place (<doc_id>)"`` when neither the manifest
    nor the text names one (the cleaning warnings say so); per-place tables then
    treat such a report as a place of its own instead of dropping or mixing it."""
    return doc.place if doc.place else f"unknown place ({doc.doc_id})"


def documents_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """One row per document, columns ``DOCUMENT_COLUMNS``, sorted by ``doc_id``."""
    raw_by_id = {d.doc_id: d for d in cleaned.corpus.documents}
    return _documents_from_rows([_document_row(doc, raw_by_id[doc.doc_id]) for doc in cleaned.documents])


def _document_row(doc: CleanDocument, raw: ingest.Document) -> tuple:
    """The ``documents`` row of one report, in the order of ``DOCUMENT_COLUMNS``."""
    return (
        doc.doc_id,
        doc.title,
        doc.subtitle,
        place_label(doc),
        doc.admin_level,
        doc.city,
        doc.province,
        doc.date,
        "; ".join(doc.authors) if doc.authors else (raw.author or ""),
        raw.source,
        raw.source_path,
        raw.record,
        raw.input_format,
        raw.url,
        raw.encoding,
        json.dumps(dict(sorted(doc.metadata_source.items())), ensure_ascii=False),
        len(doc.paragraphs),
        sum(p.n_chars for p in doc.paragraphs),
        len(doc.raw_text),
        len(doc.removed),
        len(doc.repairs),
        len(doc.warnings),
    )


def _documents_from_rows(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(DOCUMENT_COLUMNS))
    frame["record"] = frame["record"].astype("Int64")
    return frame.sort_values(TABLE_SORT["documents"], kind="stable").reset_index(drop=True)


def paragraphs_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """One row per paragraph, columns ``PARAGRAPH_COLUMNS``, sorted by ``para_id``."""
    return _records_frame(cleaned, lambda doc: doc.paragraphs)


def headings_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """Title, subtitle and section headings of every report, in the columns of :func:`paragraphs_frame`.

    ``para_id`` is ``<doc_id>:title``, ``:subtitle`` or ``:h<index>``,
    ``para_index`` -1, ``flags`` ``["title"]``, ``["subtitle"]`` or
    ``["heading"]`` (see :meth:`records.CleanDocument.heading_paragraphs`);
    :func:`paragraph_records` reads it back like the paragraphs table, so the
    metric notebook scans headlines as ``python -m analysis metrics`` does.
    """
    return _records_frame(cleaned, lambda doc: doc.heading_paragraphs())


def _records_frame(cleaned: CleanCorpus, records_of) -> pd.DataFrame:  # noqa: ANN001 - doc -> paragraphs
    return _paragraphs_from_rows([row for doc in cleaned.documents for row in _paragraph_rows(doc, records_of(doc))])


def _paragraph_rows(doc: CleanDocument, records: Sequence[Paragraph]) -> list[tuple]:
    """The rows of ``records`` (paragraphs or headings of ``doc``), in the order of ``PARAGRAPH_COLUMNS``."""
    place = place_label(doc)
    return [
        (
            p.para_id,
            p.doc_id,
            place,
            p.index,
            p.section,
            p.section_index,
            p.text,
            p.raw_start,
            p.raw_end,
            p.n_chars,
            json.dumps([[s.text_start, s.raw_start, s.length] for s in p.spans]),
            json.dumps(list(p.flags), ensure_ascii=False),
        )
        for p in records
    ]


def _paragraphs_from_rows(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(PARAGRAPH_COLUMNS))
    frame["section_index"] = frame["section_index"].astype("Int64")
    return frame.sort_values(TABLE_SORT["paragraphs"], kind="stable").reset_index(drop=True)


REMOVED_COLUMNS = ("doc_id", "kind", "raw_start", "raw_end", "text", "reason")
REPAIR_COLUMNS = ("doc_id", "kind", "raw_start", "raw_end", "before", "after", "note")
WARNING_COLUMNS = ("doc_id", "kind", "message")


def removed_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """Every removal: doc_id, kind, raw_start, raw_end, text, reason (sorted by doc, offset)."""
    return _removed_from_rows([row for doc in cleaned.documents for row in _removed_rows(doc)])


def _removed_rows(doc: CleanDocument) -> list[tuple]:
    return [(r.doc_id, r.kind, r.raw_start, r.raw_end, r.text, r.reason) for r in doc.removed]


def _removed_from_rows(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(REMOVED_COLUMNS))
    return frame.sort_values(TABLE_SORT["removed"], kind="stable").reset_index(drop=True)


def repairs_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """Every repair or flag: doc_id, kind, raw_start, raw_end, before (JSON list), after, note."""
    return _repairs_from_rows([row for doc in cleaned.documents for row in _repair_rows(doc)])


def _repair_rows(doc: CleanDocument) -> list[tuple]:
    return [
        (r.doc_id, r.kind, r.raw_start, r.raw_end, json.dumps(list(r.before), ensure_ascii=False), r.after, r.note)
        for r in doc.repairs
    ]


def _repairs_from_rows(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(REPAIR_COLUMNS))
    return frame.sort_values(TABLE_SORT["repairs"], kind="stable").reset_index(drop=True)


def warnings_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """Cleaning warnings and skipped files: doc_id (or path), kind, message.

    ``kind`` is ``metadata_conflict`` (manifest and text disagree), ``warning``
    (anything else cleaning noted), ``skipped_file`` (``doc_id`` is then the
    file, with the JSON Lines line) or ``duplicate`` (a report that repeats
    another; the ``duplicates`` table has the pair and the similarity).
    """
    rows = [row for doc in cleaned.documents for row in _warning_rows(doc)]
    rows += [
        (s.path + (f", line {s.record}" if s.record else ""), "skipped_file", s.reason)
        for s in cleaned.skipped
    ]
    rows += [
        (
            p.doc_id,
            "duplicate",
            f"repeats {p.duplicate_of} ({p.kind}, similarity {p.similarity:.3f}); "
            + ("kept (keep_duplicates)" if cleaned.duplicates_kept else "left out of the comparison"),
        )
        for p in cleaned.duplicates
    ]
    return _warnings_from_rows(rows)


def _warning_rows(doc: CleanDocument) -> list[tuple]:
    return [(doc.doc_id, "metadata_conflict" if w.startswith(clean.METADATA_CONFLICT) else "warning", w) for w in doc.warnings]


def _warnings_from_rows(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(WARNING_COLUMNS))
    return frame.sort_values(TABLE_SORT["cleaning_warnings"], kind="stable").reset_index(drop=True)


def duplicates_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """Every duplicate pair: doc_id, duplicate_of, similarity (Jaccard of shingles), kind (exact/near), kept."""
    rows = [
        {"doc_id": p.doc_id, "duplicate_of": p.duplicate_of, "similarity": p.similarity, "kind": p.kind, "kept": cleaned.duplicates_kept}
        for p in cleaned.duplicates
    ]
    frame = pd.DataFrame(rows, columns=list(DUPLICATE_COLUMNS))
    frame["similarity"] = frame["similarity"].astype(float)
    frame["kept"] = frame["kept"].astype(bool)
    return frame.sort_values(["doc_id", "duplicate_of"], kind="stable").reset_index(drop=True)


def skipped_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """Every file or record not in the analysis because it could not be read or cleaned.

    Columns ``SKIPPED_COLUMNS``: ``path`` (relative to the project), ``record``
    (JSON Lines line, else empty), ``doc_id`` (when known), ``stage``
    (``read`` or ``clean``) and ``reason``.
    """
    cleaned_ids = set(cleaned.clean_skipped)
    read_skipped = set(cleaned.corpus.skipped)  # SkippedFile is frozen: hashed by value, as `in` compares
    rows = [
        {
            "path": s.path,
            "record": s.record,
            "doc_id": s.doc_id,
            "stage": "clean" if s.doc_id in cleaned_ids and s not in read_skipped else "read",
            "reason": s.reason,
        }
        for s in cleaned.skipped
    ]
    frame = pd.DataFrame(rows, columns=list(SKIPPED_COLUMNS))
    frame["record"] = frame["record"].astype("Int64")
    return frame.sort_values(["path", "record", "doc_id"], kind="stable", na_position="first").reset_index(drop=True)


def _write_extracted(cleaned: CleanCorpus, processed_dir: Path) -> list[str]:
    """Write the offset reference text of each page / JSON Lines report; remove stale ones. Returns the doc_ids."""
    folder = processed_dir / EXTRACTED_DIR_NAME
    written = []
    for document in sorted(cleaned.corpus.documents, key=lambda d: d.doc_id):
        if not document.extracted:
            continue
        data = document.raw_text.encode("utf-8")
        storage.atomic_write(folder / f"{document.doc_id}.txt", lambda p, data=data: p.write_bytes(data))
        written.append(document.doc_id)
    _remove_stale_extracted(folder, written)
    return written


def _swap_extracted(work: Path, folder: Path) -> None:
    """Move the extracted texts written to ``work`` into ``folder`` (one rename each); remove stale ones."""
    import os

    written = sorted(p.name for p in work.glob("*.txt"))
    if written:
        folder.mkdir(parents=True, exist_ok=True)
    for name in written:
        os.replace(work / name, folder / name)
    _remove_stale_extracted(folder, [name[: -len(".txt")] for name in written])


def _remove_stale_extracted(folder: Path, doc_ids: Sequence[str]) -> None:
    if folder.is_dir():
        keep = {f"{doc_id}.txt" for doc_id in doc_ids}
        for stale in sorted(folder.glob("*.txt")):
            if stale.name not in keep:
                stale.unlink()


def _row_frames(cleaned: CleanCorpus) -> dict[str, pd.DataFrame]:
    """The tables made of the reports' rows (keys of ``TABLE_SORT``), in the order they are written."""
    return {
        "documents": documents_frame(cleaned),
        "paragraphs": paragraphs_frame(cleaned),
        "headings": headings_frame(cleaned),
        "removed": removed_frame(cleaned),
        "repairs": repairs_frame(cleaned),
        "cleaning_warnings": warnings_frame(cleaned),
    }


def report_rows(doc: CleanDocument, raw: ingest.Document) -> dict[str, list[tuple]]:
    """The rows of one cleaned report in each table of ``TABLE_SORT``, as tuples in the tables' column order.

    Small and picklable, so that workers can build them
    (:func:`parallel.read_clean_and_rows`) and the parent only puts them
    together (:func:`frames_from_report_rows`).
    """
    return {
        "documents": [_document_row(doc, raw)],
        "paragraphs": _paragraph_rows(doc, doc.paragraphs),
        "headings": _paragraph_rows(doc, doc.heading_paragraphs()),
        "removed": _removed_rows(doc),
        "repairs": _repair_rows(doc),
        "cleaning_warnings": _warning_rows(doc),
    }


_FROM_ROWS = {
    "documents": _documents_from_rows,
    "paragraphs": _paragraphs_from_rows,
    "headings": _paragraphs_from_rows,
    "removed": _removed_from_rows,
    "repairs": _repairs_from_rows,
    "cleaning_warnings": _warnings_from_rows,
}


def frames_from_report_rows(reports: Sequence[dict[str, list[tuple]]]) -> dict[str, pd.DataFrame]:
    """The tables of :func:`_row_frames` (without skipped files and duplicates) from each report's :func:`report_rows`, in reading order."""
    return {name: from_rows([row for rows in reports for row in rows[name]]) for name, from_rows in _FROM_ROWS.items()}


def _provenance(
    *, documents: Sequence[str], skipped: Sequence[ingest.SkippedFile], left_out: Sequence[duplicates.DuplicatePair], extracted: Sequence[str]
) -> dict[str, Any]:
    """``documents.meta.json``: rules and gazetteer hashes, the reports in the tables (reading order), skipped, left out, extracted."""
    return {
        "cleaning_rules_sha256": storage.file_sha256(clean.RULES_PATH),
        "gazetteer_sha256": storage.file_sha256(paths.RESOURCES_DIR / "gazetteer.csv"),
        "documents": list(documents),
        "skipped": [s.path + (f":{s.record}" if s.record else "") for s in skipped],
        "duplicates_left_out": [p.doc_id for p in left_out],
        "extracted": list(extracted),
    }


def write_corpus_tables(
    cleaned: CleanCorpus, processed_dir: str | Path = paths.PROCESSED_DIR, *, partition_rows: int | None = storage.PARTITION_ROWS
) -> dict[str, pd.DataFrame]:
    """Write documents, paragraphs, headings, removed, repairs, cleaning_warnings, duplicates and skipped (parquet + csv), atomically.

    Also writes ``extracted/<doc_id>.txt``, the text each web page or JSON
    Lines report was read into: its paragraphs' ``raw_start``/``raw_end`` and
    ``spans``, and the offsets of its removals and metric mentions, count
    code points of that file (of the ``.txt`` itself for a plain report).
    A table of more than ``partition_rows`` rows is partitioned
    (``storage.write_table``). :func:`write_corpus` writes the same files
    without holding the corpus in memory.

    Returns the frames by name. Reruns on the same inputs write identical bytes.
    """
    processed_dir = Path(processed_dir)
    frames = {
        **_row_frames(cleaned),
        "duplicates": duplicates_frame(cleaned),
        "skipped": skipped_frame(cleaned),
    }
    provenance = _provenance(
        documents=[d.doc_id for d in cleaned.documents],
        skipped=cleaned.skipped,
        left_out=() if cleaned.duplicates_kept else cleaned.duplicates,
        extracted=_write_extracted(cleaned, processed_dir),
    )
    for name, frame in frames.items():
        storage.write_table(frame, processed_dir / name, provenance=provenance if name == "documents" else None, partition_rows=partition_rows)
    return frames


def read_paragraphs(processed_dir: str | Path = paths.PROCESSED_DIR) -> pd.DataFrame:
    """Read ``paragraphs.parquet`` written by ``write_corpus_tables``."""
    path = Path(processed_dir) / "paragraphs.parquet"
    if not path.exists():  # a file, or the folder of a partitioned table (storage.write_table)
        raise FileNotFoundError(f"{path}: not found; run the corpus notebook (or `make report`) first.")
    return pd.read_parquet(path)


def read_headings(processed_dir: str | Path = paths.PROCESSED_DIR) -> pd.DataFrame:
    """Read ``headings.parquet`` written by ``write_corpus_tables`` (columns of the paragraphs table)."""
    path = Path(processed_dir) / "headings.parquet"
    if not path.exists():  # a file, or the folder of a partitioned table (storage.write_table)
        raise FileNotFoundError(f"{path}: not found; run the corpus notebook (or `make report`) first.")
    return pd.read_parquet(path)


def read_documents(processed_dir: str | Path = paths.PROCESSED_DIR) -> pd.DataFrame:
    """Read ``documents.parquet`` written by ``write_corpus_tables``."""
    path = Path(processed_dir) / "documents.parquet"
    if not path.exists():  # a file, or the folder of a partitioned table (storage.write_table)
        raise FileNotFoundError(f"{path}: not found; run the corpus notebook (or `make report`) first.")
    return pd.read_parquet(path)


def read_raw_texts(raw_dir: str | Path = paths.RAW_DIR, *, on_error: Literal["raise", "skip"] = "raise") -> dict[str, str]:
    """Decoded raw text of every report of ``raw_dir``, by ``doc_id`` (the offset reference).

    Reads through ``ingest.read_corpus`` (the one module that reads
    ``data/raw``), so offsets mean what they mean everywhere else: code points
    of the decoded text, BOM stripped, newlines normalised.
    """
    return {d.doc_id: d.raw_text for d in ingest.read_corpus(raw_dir, on_error=on_error).documents}




def _parse_spans(value: str, para_id: str) -> tuple[Span, ...]:
    try:
        triples = json.loads(value)
        spans = tuple(Span(int(t), int(r), int(n)) for t, r, n in triples)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"paragraph {para_id!r}: `spans` is not a JSON list of [text_start, raw_start, length] "
            f"triples ({exc}); rewrite the tables with write_corpus_tables."
        ) from exc
    return spans


def paragraph_records(paragraphs: pd.DataFrame) -> tuple[Paragraph, ...]:
    """Rebuild ``records.Paragraph`` objects (with their span maps) from the paragraphs table.

    Lets a later stage work from ``paragraphs.parquet`` (what the corpus
    notebook wrote) instead of re-cleaning the raw files.

    Parameters
    ----------
    paragraphs : pandas.DataFrame
        The table of :func:`read_paragraphs` (columns ``PARAGRAPH_COLUMNS``).

    Returns
    -------
    tuple of records.Paragraph
        In ``para_id`` order (document order within each document).

    Raises
    ------
    ValueError
        If a column is missing, a ``spans`` cell is not valid JSON, or the
        spans do not cover the paragraph's text exactly, in order.

    Examples
    --------
    >>> df = pd.DataFrame({"para_id": ["d:p000"], "doc_id": ["d"], "para_index": [0],
    ...     "text": ["全区宣讲50场。"], "spans": ["[[0, 10, 8]]"], "section": [None],
    ...     "section_index": [None], "flags": ["[]"]})
    >>> p, = paragraph_records(df)
    >>> p.raw_offset(2), p.raw_span(2, 5)
    (12, (12, 15))
    """
    check_frame(paragraphs, ["para_id", "doc_id", "para_index", "text", "spans"], "paragraphs")
    out = []
    ordered = paragraphs.sort_values("para_id", kind="stable")
    for row in ordered.itertuples(index=False):
        spans = _parse_spans(row.spans, row.para_id)
        pos = 0
        for span in spans:
            if span.text_start != pos or span.length <= 0:
                raise ValueError(
                    f"paragraph {row.para_id!r}: spans {row.spans} do not cover its text contiguously "
                    f"(a span starts at {span.text_start}, expected {pos})."
                )
            pos = span.text_end
        if pos != len(row.text):
            raise ValueError(
                f"paragraph {row.para_id!r}: spans cover {pos} characters but the text has {len(row.text)}."
            )
        section = getattr(row, "section", None)
        section_index = getattr(row, "section_index", None)
        flags = getattr(row, "flags", "[]")
        out.append(
            Paragraph(
                para_id=row.para_id,
                doc_id=row.doc_id,
                index=int(row.para_index),
                text=row.text,
                spans=spans,
                section=None if pd.isna(section) else section,
                section_index=None if pd.isna(section_index) else int(section_index),
                flags=tuple(json.loads(flags)) if isinstance(flags, str) and flags else (),
            )
        )
    return tuple(out)


#: Metadata fields whose provenance the documents table reports.
METADATA_FIELDS = ("place", "admin_level", "city", "province", "date")


def metadata_provenance(documents: pd.DataFrame) -> pd.DataFrame:
    """Where each metadata value of each document came from, one row per (document, field).

    Returns columns ``[doc_id, field, value, source]``. ``source`` is
    ``manifest``, ``text (<evidence>)``, ``cms record`` or ``none`` as recorded
    by cleaning; ``admin_level``, ``city`` and ``province`` share the source of
    ``place`` (they come from the same manifest row or the same gazetteer hit).
    """
    check_frame(documents, ["doc_id", "metadata_source", *METADATA_FIELDS], "documents")
    rows = []
    for row in documents.sort_values("doc_id", kind="stable").itertuples(index=False):
        try:
            source = json.loads(row.metadata_source) if isinstance(row.metadata_source, str) else {}
        except ValueError as exc:
            raise ValueError(f"document {row.doc_id!r}: `metadata_source` is not JSON ({exc})") from exc
        for name in METADATA_FIELDS:
            value = getattr(row, name)
            origin = source.get(name, source.get("place") if name in ("admin_level", "city", "province") else None)
            rows.append(
                {
                    "doc_id": row.doc_id,
                    "field": name,
                    "value": None if pd.isna(value) else str(value),
                    "source": origin if origin else "none",
                }
            )
    return pd.DataFrame(rows, columns=["doc_id", "field", "value", "source"])


def characters_accounting(cleaned: CleanCorpus) -> pd.DataFrame:
    """Per document: raw characters and how many are unaccounted for or double-counted.

    Columns ``[doc_id, n_raw_chars, n_non_space, n_unaccounted, n_double_counted,
    first_unaccounted]`` (``first_unaccounted`` is a raw offset, or -1). Uses
    ``clean.account_characters``: every non-whitespace raw character must be
    in exactly one output place (title, byline, heading, paragraph, removal).
    """
    rows = []
    for doc in sorted(cleaned.documents, key=lambda d: d.doc_id):
        acc = clean.account_characters(doc)
        rows.append(
            {
                "doc_id": doc.doc_id,
                "n_raw_chars": len(doc.raw_text),
                "n_non_space": sum(not c.isspace() for c in doc.raw_text),
                "n_unaccounted": len(acc["unaccounted"]),
                "n_double_counted": len(acc["double_counted"]),
                "first_unaccounted": acc["unaccounted"][0] if acc["unaccounted"] else -1,
            }
        )
    return pd.DataFrame(rows)


def paragraphs_check_raw(paragraphs: pd.DataFrame, raw_texts: dict[str, str]) -> pd.DataFrame:
    """Check every character of every paragraph against the raw text through its span map.

    Returns one row per paragraph: ``[para_id, doc_id, n_chars, n_spans,
    n_join_spaces, n_mismatched, first_char, first_raw_offset, last_char,
    last_raw_offset]``. ``n_join_spaces`` counts join spaces (a space of the
    cleaned text standing for the raw line break it replaces, see
    ``clean.clean_document``); ``n_mismatched`` counts every other character
    whose raw counterpart differs (0 when the map is right). The first/last
    columns show a sample of the map.

    Raises
    ------
    ValueError
        If a paragraph's document has no raw text (the tables are stale:
        rerun the corpus step).
    """
    check_frame(paragraphs, ["para_id", "doc_id", "text", "spans"], "paragraphs")
    missing = sorted(set(paragraphs["doc_id"]) - set(raw_texts))
    if missing:
        raise ValueError(
            f"`raw_texts` has no raw text for {missing}; the paragraphs table is stale or from another "
            "raw directory: rerun the corpus notebook."
        )
    rows = []
    for p in paragraph_records(paragraphs):
        raw = raw_texts[p.doc_id]
        pairs = [
            (p.text[s.text_start + k], raw[s.raw_start + k] if s.raw_start + k < len(raw) else "")
            for s in p.spans
            for k in range(s.length)
        ]
        join_spaces = sum(a != b and a.isspace() and b.isspace() for a, b in pairs)
        bad = sum(a != b for a, b in pairs) - join_spaces
        rows.append(
            {
                "para_id": p.para_id,
                "doc_id": p.doc_id,
                "n_chars": p.n_chars,
                "n_spans": len(p.spans),
                "n_join_spaces": int(join_spaces),
                "n_mismatched": int(bad),
                "first_char": p.text[0],
                "first_raw_offset": p.raw_offset(0),
                "last_char": p.text[-1],
                "last_raw_offset": p.raw_offset(p.n_chars - 1),
            }
        )
    return pd.DataFrame(rows)


def surfaces_check_raw(table: pd.DataFrame, *, paragraphs: pd.DataFrame, raw_texts: dict[str, str]) -> pd.DataFrame:
    """Add ``raw_surface``, ``matches_raw`` and ``crosses_join`` to a table of text spans.

    ``table`` has ``doc_id, para_id, start, end, surface`` with raw offsets
    (metric mentions, excluded numbers). ``matches_raw`` is
    ``surface == raw_text[start:end]``; ``crosses_join`` is true when the span
    covers a repaired break of its paragraph (two spans of the map, with the
    gap between them in the raw text), the one case where the cleaned surface
    may legitimately differ from the raw slice.

    Raises
    ------
    ValueError
        If a row's document has no raw text or its paragraph is not in
        ``paragraphs``.
    """
    check_frame(table, ["doc_id", "para_id", "start", "end", "surface"], "table")
    by_id = {p.para_id: p for p in paragraph_records(paragraphs)}
    raw_surface, matches, crosses = [], [], []
    for row in table.itertuples(index=False):
        if row.doc_id not in raw_texts:
            raise ValueError(f"`raw_texts` has no raw text for {row.doc_id!r}; rerun the corpus notebook.")
        if row.para_id not in by_id:
            raise ValueError(f"paragraph {row.para_id!r} is not in `paragraphs`; rerun the corpus notebook.")
        raw = raw_texts[row.doc_id][int(row.start) : int(row.end)]
        p = by_id[row.para_id]
        inside = [s for s in p.spans if s.raw_start < int(row.end) and int(row.start) < s.raw_end]
        raw_surface.append(raw)
        matches.append(raw == row.surface)
        crosses.append(len(inside) > 1 or any(not (s.raw_start <= int(row.start) and int(row.end) <= s.raw_end) for s in inside))
    out = table.copy()
    out["raw_surface"] = raw_surface
    out["matches_raw"] = matches
    out["crosses_join"] = crosses
    return out
