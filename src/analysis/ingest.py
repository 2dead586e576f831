"""Read raw report files and the manifest into ``Document`` records (the only reader of data/raw).

Decoding is strict: a file is decoded as UTF-8 (with or without BOM), as
UTF-16/UTF-32 when it starts with their BOM, and otherwise with the encoding
that charset-normalizer detects (GB18030/GBK/GB2312 are read as GB18030, their
superset). A byte that the chosen encoding cannot decode is an error, never a
replacement character. Newlines are normalised to ``\\n`` and a BOM is dropped;
the resulting ``raw_text`` is the reference for every offset downstream.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import paths
from .errors import InputError, value_invalid_msg
from .records import Document

__all__ = [
    "MANIFEST_COLUMNS",
    "ADMIN_LEVELS",
    "ManifestRow",
    "SkippedFile",
    "Corpus",
    "decode_bytes",
    "read_document",
    "read_manifest",
    "read_corpus",
    "list_raw_files",
]

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("doc_id", "place", "admin_level", "city", "province", "date", "source")
ADMIN_LEVELS = ("province", "city", "district", "county")
#: Share of control characters (other than tab/newline) above which a file is taken as binary.
MAX_CONTROL_CHAR_SHARE = 0.01
#: Encodings charset-normalizer may choose from: those Chinese text is published in.
CANDIDATE_ENCODINGS = ("utf_8", "gb18030", "gbk", "gb2312", "big5", "hz", "utf_16", "utf_32")
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "cp936", "hz"}
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_RE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_RE_NEWLINE = re.compile(r"\r\n?")


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """Metadata of one report as the researcher recorded it in ``manifest.csv``."""

    doc_id: str
    place: str | None
    admin_level: str | None
    city: str | None
    province: str | None
    date: str | None
    source: str | None
    line: int


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A raw file that could not be read, with the reason (listed in the run summary)."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class Corpus:
    """The documents read from a raw directory, and the files skipped on the way."""

    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...] = field(default_factory=tuple)
    manifest_path: str | None = None


def decode_bytes(data: bytes, *, path: str | Path = "<bytes>") -> tuple[str, str]:
    """Decode raw bytes strictly; return ``(text, encoding)``.

    Parameters
    ----------
    data : bytes
        The file content.
    path : str or Path, default="<bytes>"
        Named in error messages.

    Returns
    -------
    (str, str)
        Text with BOM removed and newlines normalised to ``\\n``, and the name
        of the encoding used.

    Raises
    ------
    InputError
        Empty, whitespace-only, binary or undecodable input.

    Examples
    --------
    >>> decode_bytes("党史学习教育\\r\\n".encode("gb18030"))
    ('党史学习教育\\n', 'gb18030')
    >>> decode_bytes(b"\\xef\\xbb\\xbf\\xe5\\x85\\x9a")
    ('党', 'utf-8-sig')
    """
    if not data:
        raise InputError(path, "the file is empty (0 bytes); remove it or restore its content.")
    encoding = None
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding = name
            break
    if encoding is None:
        if b"\x00" in data:
            raise InputError(
                path,
                "the file looks binary (it contains NUL bytes and no UTF-16/UTF-32 byte-order mark); "
                "only plain-text reports can be read.",
            )
        try:
            text = data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = _detect_encoding(data, path)
            text = None
    else:
        text = None
    if text is None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise InputError(
                path,
                f"cannot be decoded as {encoding} (byte {exc.start}: {exc.reason}); "
                "save it as UTF-8 and try again.",
            ) from None
    text = _RE_NEWLINE.sub("\n", text.lstrip("\ufeff"))
    if not text.strip():
        raise InputError(path, "the file holds only whitespace; there is no text to analyse.")
    n_control = len(_RE_CONTROL.findall(text))
    if n_control > MAX_CONTROL_CHAR_SHARE * len(text):
        raise InputError(
            path,
            f"the file looks binary: {n_control} control characters in {len(text)} "
            f"(decoded as {encoding}); only plain-text reports can be read.",
        )
    return text, encoding


def _detect_encoding(data: bytes, path: str | Path) -> str:
    """Ask charset-normalizer for the encoding of non-UTF-8 bytes."""
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(CANDIDATE_ENCODINGS)).best()
    if best is None:
        raise InputError(
            path,
            "the encoding could not be detected (not UTF-8, GB18030/GBK, Big5 or UTF-16); "
            "save the file as UTF-8 and try again.",
        )
    encoding = best.encoding.lower()
    if encoding in _GB_FAMILY:
        return "gb18030"
    return encoding


def read_document(path: str | Path, *, manifest_row: ManifestRow | None = None) -> Document:
    """Read one raw report.

    Parameters
    ----------
    path : str or Path
        A ``.txt`` file; its name without ``.txt`` is the ``doc_id``.
    manifest_row : ManifestRow or None, default=None
        Metadata to attach; ``None`` leaves place/date/... empty for the
        cleaning step to detect.

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    InputError
        The file is empty, binary or cannot be decoded.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    text, encoding = decode_bytes(path.read_bytes(), path=path)
    doc_id = path.name[:-4] if path.name.lower().endswith(".txt") else path.stem
    row = manifest_row
    return Document(
        doc_id=doc_id,
        source_path=_display_path(path),
        encoding=encoding,
        raw_text=text,
        place=row.place if row else None,
        admin_level=row.admin_level if row else None,
        city=row.city if row else None,
        province=row.province if row else None,
        date=row.date if row else None,
        source=row.source if row else None,
        in_manifest=row is not None,
    )


def _display_path(path: Path) -> str:
    """Path relative to the project when inside it (no absolute paths in outputs)."""
    try:
        return path.resolve().relative_to(paths.PROJECT_ROOT).as_posix()
    except ValueError:
        return path.name


def read_manifest(path: str | Path) -> dict[str, ManifestRow]:
    """Read and validate ``manifest.csv``; return rows keyed by ``doc_id``.

    Columns: ``doc_id`` (required, the file name without ``.txt``), ``place``,
    ``admin_level`` (one of ``ADMIN_LEVELS``), ``city``, ``province``,
    ``date`` (ISO ``YYYY-MM-DD`` or empty) and ``source``. Empty cells are
    ``None``.

    Raises
    ------
    InputError
        Missing or unknown columns, a duplicate ``doc_id``, a bad
        ``admin_level`` or date (the message names the line).
    """
    path = Path(path)
    text, _ = decode_bytes(path.read_bytes(), path=path)
    reader = csv.DictReader(text.splitlines())
    columns = reader.fieldnames or []
    missing = [c for c in ("doc_id",) if c not in columns]
    unknown = [c for c in columns if c not in MANIFEST_COLUMNS]
    if missing:
        raise InputError(path, f"missing column(s) {missing}; the columns are {list(MANIFEST_COLUMNS)}.", line=1)
    if unknown:
        raise InputError(path, f"unknown column(s) {unknown}; allowed: {list(MANIFEST_COLUMNS)}.", line=1)
    rows: dict[str, ManifestRow] = {}
    for line, record in enumerate(reader, start=2):
        values = {c: (record.get(c) or "").strip() or None for c in MANIFEST_COLUMNS}
        doc_id = values["doc_id"]
        if doc_id is None:
            raise InputError(path, "empty doc_id.", line=line)
        if doc_id.lower().endswith(".txt"):
            doc_id = doc_id[:-4]
        if doc_id in rows:
            raise InputError(path, f"doc_id {doc_id!r} is listed twice (first on line {rows[doc_id].line}).", line=line)
        level = values["admin_level"]
        if level is not None and level not in ADMIN_LEVELS:
            raise InputError(path, value_invalid_msg("admin_level", level, ADMIN_LEVELS), line=line)
        date = values["date"]
        if date is not None:
            try:
                dt.date.fromisoformat(date)
            except ValueError:
                raise InputError(path, f"date {date!r} is not an ISO date (YYYY-MM-DD); leave it empty when unknown.", line=line) from None
        rows[doc_id] = ManifestRow(
            doc_id=doc_id,
            place=values["place"],
            admin_level=level,
            city=values["city"],
            province=values["province"],
            date=date,
            source=values["source"],
            line=line,
        )
    return rows


def list_raw_files(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories into a sorted list of ``.txt`` files.

    Raises
    ------
    FileNotFoundError
        A named path does not exist.
    InputError
        A directory holds no ``.txt`` file.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    files: list[Path] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.suffix.lower() == ".txt" and p.is_file())
            if not found:
                raise InputError(item, "the directory holds no .txt report.")
            files.extend(found)
        elif item.is_file():
            files.append(item)
        else:
            raise FileNotFoundError(f"{item}: no such file or directory")
    return sorted(dict.fromkeys(files), key=lambda p: (p.name, str(p)))


def read_corpus(
    raw_dir: str | Path = paths.RAW_DIR,
    *,
    files: Sequence[str | Path] | None = None,
    on_error: Literal["raise", "skip"] = "raise",
) -> Corpus:
    """Read every ``.txt`` report of ``raw_dir`` with its manifest metadata.

    Parameters
    ----------
    raw_dir : str or Path, default=paths.RAW_DIR
        Directory of raw reports; ``manifest.csv`` in it is optional.
    files : sequence of paths or None, default=None
        Read these files instead of listing ``raw_dir`` (the manifest of
        ``raw_dir`` still applies, and is not required to list all files).
    on_error : {"raise", "skip"}, default="raise"
        What to do with an unreadable file: raise, or log a warning and list
        it in ``Corpus.skipped``.

    Notes
    -----
    A file without a manifest row still loads (metadata is then detected from
    the text during cleaning) and a warning is logged. A manifest row without
    a file is an error naming the row, because it means a report went missing.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(value_invalid_msg("on_error", on_error, ("raise", "skip")))
    raw_dir = Path(raw_dir)
    manifest_path = raw_dir / paths.MANIFEST_NAME
    manifest = read_manifest(manifest_path) if manifest_path.is_file() else {}
    if files is None:
        if not raw_dir.is_dir():
            raise FileNotFoundError(f"{raw_dir}: raw data directory not found")
        listed = list_raw_files([raw_dir])
        present = {p.name[:-4] for p in listed}
        for doc_id, row in sorted(manifest.items()):
            if doc_id not in present:
                raise InputError(
                    manifest_path,
                    f"the row for {doc_id!r} names a file that is not in {raw_dir.name}/ "
                    f"({doc_id}.txt); restore the file or remove the row.",
                    line=row.line,
                )
    else:
        listed = list_raw_files(files)
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for path in listed:
        doc_id = path.name[:-4]
        row = manifest.get(doc_id)
        try:
            document = read_document(path, manifest_row=row)
        except InputError as exc:
            if on_error == "raise":
                raise
            logger.warning("skipped %s", exc)
            skipped.append(SkippedFile(path=_display_path(path), reason=exc.message))
            continue
        if row is None:
            logger.warning(
                "%s has no row in %s; its place and date are detected from the text.",
                path.name,
                paths.MANIFEST_NAME,
            )
        documents.append(document)
    if not documents:
        raise InputError(raw_dir, "no readable report found" + (f"; skipped: {[s.path for s in skipped]}" if skipped else "."))
    return Corpus(
        documents=tuple(documents),
        skipped=tuple(skipped),
        manifest_path=_display_path(manifest_path) if manifest_path.is_file() else None,
    )
