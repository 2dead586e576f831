"""Clean a whole corpus and lay it out as tables (documents, paragraphs, removals, repairs).

This is the corpus-level step between ``clean`` (one document at a time, no
shared state, so it can be mapped over processes) and the notebooks, which read
the tables it writes to ``data/processed/``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from . import clean, ingest, paths, storage
from .records import CleanDocument

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
    "write_corpus_tables",
    "read_paragraphs",
    "read_documents",
]

logger = logging.getLogger(__name__)

#: Columns of documents.parquet: one row per report.
DOCUMENT_COLUMNS = (
    "doc_id",  # raw file name without .txt
    "title",
    "subtitle",
    "place",  # the place the report is about (manifest, else detected)
    "admin_level",  # province / city / district / county
    "city",
    "province",
    "date",  # ISO date where known
    "authors",  # "; "-joined bylines
    "source",  # manifest source note
    "source_path",  # raw file, relative to the project
    "encoding",  # encoding the raw file was decoded with
    "metadata_source",  # manifest / detected, per field (JSON)
    "n_paragraphs",
    "n_chars",  # characters in the cleaned paragraphs
    "n_raw_chars",  # characters of the decoded raw text
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


@dataclass(frozen=True, slots=True)
class CleanCorpus:
    """Cleaned documents of a corpus, with the files that were skipped."""

    documents: tuple[CleanDocument, ...]
    corpus: ingest.Corpus


def clean_corpus(
    raw_dir: str | Path = paths.RAW_DIR,
    *,
    files: Sequence[str | Path] | None = None,
    corrections_path: str | Path | None = None,
    on_error: Literal["raise", "skip"] = "raise",
) -> CleanCorpus:
    """Read and clean every report of ``raw_dir`` (or the given ``files``).

    Parameters
    ----------
    raw_dir : str or Path, default=paths.RAW_DIR
        Raw reports and their optional ``manifest.csv``.
    files : sequence of paths or None, default=None
        Only these files.
    corrections_path : str or Path or None, default=None
        Optional researcher corrections (see ``clean.load_corrections``);
        ``None`` uses ``data/corrections.yml`` when it exists.
    on_error : {"raise", "skip"}, default="raise"
        Unreadable files raise, or are skipped with a warning and listed.
    """
    corpus = ingest.read_corpus(raw_dir, files=files, on_error=on_error)
    if corrections_path is None and paths.CORRECTIONS_PATH.is_file():
        corrections_path = paths.CORRECTIONS_PATH
    corrections = clean.load_corrections(corrections_path) if corrections_path is not None else None
    rules = clean.load_rules()
    docs = tuple(
        clean.clean_document(document, corrections=corrections, rules=rules) for document in corpus.documents
    )
    for doc in docs:
        if not doc.paragraphs:
            raise ValueError(
                f"no paragraphs left after cleaning {doc.doc_id}.txt; check its encoding, "
                "or whether the cleaning rules remove its body."
            )
    if corrections:
        _check_corrections_used(corrections, docs, corrections_path)
    return CleanCorpus(documents=docs, corpus=corpus)


def _check_corrections_used(corrections, docs, corrections_path) -> None:
    """An entry for a doc_id that is not in the corpus is an error (it matched nothing)."""
    present = {d.doc_id for d in docs}
    for entry in corrections:
        doc_id = getattr(entry, "doc_id", None)
        if doc_id is not None and doc_id not in present:
            from .errors import InputError

            raise InputError(corrections_path, f"correction for {doc_id!r} matches no document of the corpus: {entry}")


def documents_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """One row per document, columns ``DOCUMENT_COLUMNS``, sorted by ``doc_id``."""
    raw_by_id = {d.doc_id: d for d in cleaned.corpus.documents}
    rows = []
    for doc in cleaned.documents:
        raw = raw_by_id[doc.doc_id]
        rows.append(
            {
                "doc_id": doc.doc_id,
                "title": doc.title,
                "subtitle": doc.subtitle,
                "place": doc.place,
                "admin_level": doc.admin_level,
                "city": doc.city,
                "province": doc.province,
                "date": doc.date,
                "authors": "; ".join(doc.authors),
                "source": raw.source,
                "source_path": raw.source_path,
                "encoding": raw.encoding,
                "metadata_source": json.dumps(dict(sorted(doc.metadata_source.items())), ensure_ascii=False),
                "n_paragraphs": len(doc.paragraphs),
                "n_chars": sum(p.n_chars for p in doc.paragraphs),
                "n_raw_chars": len(doc.raw_text),
                "n_removed": len(doc.removed),
                "n_repairs": len(doc.repairs),
                "n_warnings": len(doc.warnings),
            }
        )
    return pd.DataFrame(rows, columns=list(DOCUMENT_COLUMNS)).sort_values("doc_id", kind="stable").reset_index(drop=True)


def paragraphs_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """One row per paragraph, columns ``PARAGRAPH_COLUMNS``, sorted by ``para_id``."""
    rows = []
    for doc in cleaned.documents:
        for p in doc.paragraphs:
            rows.append(
                {
                    "para_id": p.para_id,
                    "doc_id": p.doc_id,
                    "place": doc.place,
                    "para_index": p.index,
                    "section": p.section,
                    "section_index": p.section_index,
                    "text": p.text,
                    "raw_start": p.raw_start,
                    "raw_end": p.raw_end,
                    "n_chars": p.n_chars,
                    "spans": json.dumps([[s.text_start, s.raw_start, s.length] for s in p.spans]),
                    "flags": json.dumps(list(p.flags), ensure_ascii=False),
                }
            )
    frame = pd.DataFrame(rows, columns=list(PARAGRAPH_COLUMNS))
    frame["section_index"] = frame["section_index"].astype("Int64")
    return frame.sort_values("para_id", kind="stable").reset_index(drop=True)


def removed_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """Every removal: doc_id, kind, raw_start, raw_end, text, reason (sorted by doc, offset)."""
    rows = [
        {"doc_id": r.doc_id, "kind": r.kind, "raw_start": r.raw_start, "raw_end": r.raw_end, "text": r.text, "reason": r.reason}
        for doc in cleaned.documents
        for r in doc.removed
    ]
    cols = ["doc_id", "kind", "raw_start", "raw_end", "text", "reason"]
    return pd.DataFrame(rows, columns=cols).sort_values(["doc_id", "raw_start", "raw_end"], kind="stable").reset_index(drop=True)


def repairs_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """Every repair or flag: doc_id, kind, raw_start, raw_end, before (JSON list), after, note."""
    rows = [
        {
            "doc_id": r.doc_id,
            "kind": r.kind,
            "raw_start": r.raw_start,
            "raw_end": r.raw_end,
            "before": json.dumps(list(r.before), ensure_ascii=False),
            "after": r.after,
            "note": r.note,
        }
        for doc in cleaned.documents
        for r in doc.repairs
    ]
    cols = ["doc_id", "kind", "raw_start", "raw_end", "before", "after", "note"]
    return pd.DataFrame(rows, columns=cols).sort_values(["doc_id", "raw_start", "kind"], kind="stable").reset_index(drop=True)


def warnings_frame(cleaned: CleanCorpus) -> pd.DataFrame:
    """Cleaning warnings and skipped files: doc_id (or path), kind, message."""
    rows = [{"doc_id": doc.doc_id, "kind": "warning", "message": w} for doc in cleaned.documents for w in doc.warnings]
    rows += [{"doc_id": s.path, "kind": "skipped_file", "message": s.reason} for s in cleaned.corpus.skipped]
    return pd.DataFrame(rows, columns=["doc_id", "kind", "message"]).sort_values(["doc_id", "kind", "message"], kind="stable").reset_index(drop=True)


def write_corpus_tables(cleaned: CleanCorpus, processed_dir: str | Path = paths.PROCESSED_DIR) -> dict[str, pd.DataFrame]:
    """Write documents, paragraphs, removed, repairs and cleaning_warnings (parquet + csv), atomically.

    Returns the frames by name. Reruns on the same inputs write identical bytes.
    """
    processed_dir = Path(processed_dir)
    frames = {
        "documents": documents_frame(cleaned),
        "paragraphs": paragraphs_frame(cleaned),
        "removed": removed_frame(cleaned),
        "repairs": repairs_frame(cleaned),
        "cleaning_warnings": warnings_frame(cleaned),
    }
    provenance = {
        "cleaning_rules_sha256": storage.file_sha256(clean.RULES_PATH) if hasattr(clean, "RULES_PATH") else None,
        "gazetteer_sha256": storage.file_sha256(paths.RESOURCES_DIR / "gazetteer.csv"),
        "documents": [d.doc_id for d in cleaned.documents],
        "skipped": [s.path for s in cleaned.corpus.skipped],
    }
    for name, frame in frames.items():
        storage.write_table(frame, processed_dir / name, provenance=provenance if name == "documents" else None)
    return frames


def read_paragraphs(processed_dir: str | Path = paths.PROCESSED_DIR) -> pd.DataFrame:
    """Read ``paragraphs.parquet`` written by ``write_corpus_tables``."""
    path = Path(processed_dir) / "paragraphs.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; run the corpus notebook (or `make report`) first.")
    return pd.read_parquet(path)


def read_documents(processed_dir: str | Path = paths.PROCESSED_DIR) -> pd.DataFrame:
    """Read ``documents.parquet`` written by ``write_corpus_tables``."""
    path = Path(processed_dir) / "documents.parquet"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; run the corpus notebook (or `make report`) first.")
    return pd.read_parquet(path)
