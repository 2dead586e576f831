"""Read raw report files and the manifest into ``Document`` records (the only reader of data/raw).

Decoding is strict: a file is decoded as UTF-8 (with or without BOM), as
UTF-16/UTF-32 when it starts with their BOM, and otherwise with the encoding
that charset-normalizer detects (GB18030/GBK/GB2312 are read as GB18030, their
superset). A byte that the chosen encoding cannot decode is an error, never a
replacement character. Newlines are normalised to ``\\n`` and a BOM is dropped;
the resulting ``raw_text`` is the reference for every offset downstream.

Three kinds of input are read: plain reports (``.txt``), saved web pages
(``.html``/``.htm``, and a ``.txt`` whose content is an HTML page), whose
article text is extracted by ``webtext.extract_page`` and becomes the
``raw_text``, and JSON Lines collections (``.jsonl``, ``bulk``), read one
record at a time. :func:`iter_documents` streams them in a fixed order (files
sorted by name, records in file order); :func:`read_corpus` collects them
with the manifest's metadata and lists what could not be read.
:class:`CorpusReader` does the same in steps (list the reports, read each
anywhere with :func:`read_source`, admit the results in order), so that the
reading itself runs in worker processes (``corpus.write_corpus``).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import bulk, paths, webtext
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
    "iter_corpus",
    "count_reports",
    "manifest_path_of",
    "iter_documents",
    "iter_sources",
    "read_source",
    "Source",
    "ReadFailure",
    "DocumentCheck",
    "CorpusReader",
    "list_raw_files",
    "doc_id_of",
    "REPORT_SUFFIXES",
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
#: Suffixes of the files a raw directory is read for.
REPORT_SUFFIXES = (".txt", *webtext.HTML_SUFFIXES, *bulk.BULK_SUFFIXES)
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
    """A raw file, or one record of a JSON Lines file, that was not read, with the reason.

    ``record`` is the 1-based line of the JSON Lines file (``None`` for a
    whole file); ``doc_id`` is the report's id when it is known.
    """

    path: str
    reason: str
    record: int | None = None
    doc_id: str | None = None


@dataclass(frozen=True, slots=True)
class Corpus:
    """The documents read from a raw directory, and the files skipped on the way."""

    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...] = field(default_factory=tuple)
    manifest_path: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """A report to read with :func:`read_source`: a raw file, or one parsed JSON Lines record.

    Listing the sources is cheap and stays in one process; reading them
    (decoding, HTML extraction) is the costly part, and a ``Source`` is small
    and picklable so that it can be done in a worker process.
    """

    path: Path
    doc_id: str
    manifest_row: ManifestRow | None = None
    record: dict | None = None  # the JSON Lines record; None for a file
    line: int | None = None  # the record's 1-based line in the file


@dataclass(frozen=True, slots=True)
class ReadFailure:
    """A file or record that could not be read, as a value, so that it can come back from a worker.

    ``path``, ``line`` and ``doc_id`` say what was not read (the skipped
    table); ``error_path``, ``message`` and ``error_line`` rebuild the
    ``InputError`` that reading raised (:meth:`error`).
    """

    path: Path
    line: int | None
    doc_id: str | None
    error_path: str | None
    message: str
    error_line: int | None

    @classmethod
    def of(cls, exc: InputError, *, path: Path, line: int | None, doc_id: str | None) -> ReadFailure:
        """The failure to read ``path`` (record ``line``) that raised ``exc``."""
        return cls(path=path, line=line, doc_id=doc_id, error_path=exc.path, message=exc.message, error_line=exc.line)

    def error(self) -> InputError:
        """The ``InputError`` reading raised (same message)."""
        return InputError(self.error_path, self.message, line=self.error_line)


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


def doc_id_of(path: str | Path) -> str:
    """The ``doc_id`` of a raw file: its name without the suffix (``.txt``, ``.html``, ``.htm``)."""
    name = Path(path).name
    for suffix in REPORT_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(path).stem


def _decode_page(data: bytes, path: Path) -> tuple[str, str]:
    """Decode a web page: UTF-8 or BOM first, then the charset the page declares, then detection."""
    try:
        return decode_bytes(data, path=path)
    except InputError:
        declared = webtext.html_charset(data)
        if declared is None:
            raise
        try:
            text = data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            raise InputError(path, f"cannot be decoded as {declared}, the charset the page declares; save it as UTF-8.") from None
        return _RE_NEWLINE.sub("\n", text.lstrip("\ufeff")), declared


def _html_document(
    html: str,
    *,
    doc_id: str,
    source_path: str,
    encoding: str,
    where: str,
    manifest_row: ManifestRow | None,
    record: dict | None = None,
    line: int | None = None,
) -> Document:
    """A Document from a page (file or JSON Lines record): extracted text as raw_text, page metadata."""
    page = webtext.extract_page(html, url=(record or {}).get("url"), path=where)
    return _document(
        page.text,
        doc_id=doc_id,
        source_path=source_path,
        encoding=encoding,
        manifest_row=manifest_row,
        input_format="html",
        line=line,
        record=record,
        page=page,
    )


def _document(
    text: str,
    *,
    doc_id: str,
    source_path: str,
    encoding: str,
    manifest_row: ManifestRow | None,
    input_format: str,
    line: int | None = None,
    record: dict | None = None,
    page: webtext.PageText | None = None,
) -> Document:
    """Merge the metadata: manifest row, then JSON Lines record, then page metadata."""
    row = manifest_row
    record = record or {}
    origin: dict[str, str] = {}
    place = row.place if row else None
    date = row.date if row else None
    if place is None and record.get("place"):
        place, origin["place"] = record["place"], "jsonl record"
    if date is None and record.get("date"):
        date, origin["date"] = record["date"], "jsonl record"
    if date is None and page is not None and page.date:
        date, origin["date"] = page.date, "page metadata"
    source = row.source if row and row.source else None
    url = record.get("url") or (page.url if page else None)
    site = page.site if page else None
    if source is None:
        source = " ".join(x for x in (site, url) if x) or None
    return Document(
        doc_id=doc_id,
        source_path=source_path,
        encoding=encoding,
        raw_text=text,
        place=place,
        admin_level=row.admin_level if row else None,
        city=row.city if row else None,
        province=row.province if row else None,
        date=date,
        source=source,
        in_manifest=row is not None,
        input_format=input_format,
        record=line,
        title=record.get("title") or (page.title if page else None),
        url=url,
        site=site,
        author=page.author if page else None,
        metadata_origin=origin,
    )


def read_document(path: str | Path, *, manifest_row: ManifestRow | None = None) -> Document:
    """Read one raw report: a plain ``.txt`` or a saved web page (``.html``, ``.htm``, or a ``.txt`` holding HTML).

    Parameters
    ----------
    path : str or Path
        The file; its name without the suffix is the ``doc_id``.
    manifest_row : ManifestRow or None, default=None
        Metadata to attach; ``None`` leaves place/date/... empty for the
        cleaning step to detect (a page's date is used when it gives one).

    Raises
    ------
    FileNotFoundError
        The path does not exist.
    InputError
        The file is empty, binary or cannot be decoded; a page has no
        article text; the file is a JSON Lines collection (use
        :func:`iter_documents`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in bulk.BULK_SUFFIXES:
        raise InputError(path, "a JSON Lines file holds many reports; read it with iter_documents or read_corpus.")
    data = path.read_bytes()
    is_page = suffix in webtext.HTML_SUFFIXES
    text, encoding = _decode_page(data, path) if is_page else decode_bytes(data, path=path)
    if not is_page and webtext.looks_like_html(text):
        logger.info("%s holds an HTML page; its article text is extracted", path.name)
        is_page = True
    if is_page:
        return _html_document(
            text, doc_id=doc_id_of(path), source_path=_display_path(path), encoding=encoding, where=str(path), manifest_row=manifest_row
        )
    return _document(
        text, doc_id=doc_id_of(path), source_path=_display_path(path), encoding=encoding, manifest_row=manifest_row, input_format="text"
    )


def _record_document(record: dict, *, path: Path, line: int, manifest_row: ManifestRow | None) -> Document:
    where = f"{path}, line {line}"
    common = dict(doc_id=record["doc_id"], source_path=_display_path(path), encoding="utf-8", manifest_row=manifest_row, line=line, record=record)
    if record["html"] is not None:
        text, _ = decode_bytes(record["html"].encode("utf-8"), path=where)
        return _html_document(text, where=where, **common)
    text, _ = decode_bytes(record["text"].encode("utf-8"), path=where)
    if webtext.looks_like_html(text):
        return _html_document(text, where=where, **common)
    title = record.get("title")
    first = next((x.strip() for x in text.split("\n") if x.strip()), "")
    if title and first.lstrip("#").strip() != title:
        text = f"{title}\n\n{text}"  # the record's title heads the report, as in a file
    return _document(text, input_format="text", **common)


def iter_sources(files: Iterable[str | Path], *, manifest: dict[str, ManifestRow] | None = None) -> Iterator[Source | ReadFailure]:
    """The reports of raw files to read, in the order :func:`iter_documents` yields them, without reading them.

    A file is one :class:`Source`; a JSON Lines file is read line by line
    here (one line in memory at a time) and each record is a ``Source``, or
    a :class:`ReadFailure` for a line that is not a valid record.
    ``manifest`` as in :func:`iter_documents`; a ``manifest.csv`` that cannot
    be read makes a ``ReadFailure`` of each report it would describe.
    """
    manifests: dict[Path, dict[str, ManifestRow]] = {}

    def row_for(path: Path, doc_id: str) -> ManifestRow | None:
        if manifest is not None:
            return manifest.get(doc_id)
        directory = path.resolve().parent
        if directory not in manifests:
            candidate = directory / paths.MANIFEST_NAME
            manifests[directory] = read_manifest(candidate) if candidate.is_file() else {}
        return manifests[directory].get(doc_id)

    for path in list_raw_files(files):
        if path.suffix.lower() in bulk.BULK_SUFFIXES:
            for line, item in bulk.iter_records(path):
                if isinstance(item, InputError):
                    yield ReadFailure.of(item, path=path, line=line, doc_id=getattr(item, "doc_id", None))
                    continue
                try:
                    row = row_for(path, item["doc_id"])
                except InputError as exc:
                    yield ReadFailure.of(exc, path=path, line=line, doc_id=item["doc_id"])
                    continue
                yield Source(path=path, doc_id=item["doc_id"], manifest_row=row, record=item, line=line)
            continue
        doc_id = doc_id_of(path)
        try:
            row = row_for(path, doc_id)
        except InputError as exc:
            yield ReadFailure.of(exc, path=path, line=None, doc_id=doc_id)
            continue
        yield Source(path=path, doc_id=doc_id, manifest_row=row)


def read_source(source: Source | ReadFailure) -> Document | ReadFailure:
    """Read one report of :func:`iter_sources`: its ``Document``, or a ``ReadFailure`` instead of an ``InputError``.

    Needs nothing but the source, so it can run in a worker process; a
    ``ReadFailure`` passes through unchanged.

    Raises
    ------
    FileNotFoundError
        The file no longer exists.
    """
    if isinstance(source, ReadFailure):
        return source
    try:
        if source.record is not None:
            return _record_document(source.record, path=source.path, line=source.line, manifest_row=source.manifest_row)
        return read_document(source.path, manifest_row=source.manifest_row)
    except InputError as exc:
        return ReadFailure.of(exc, path=source.path, line=source.line, doc_id=source.doc_id)


class DocumentCheck:
    """What :func:`iter_documents` checks across reports, applied to each read report in input order.

    A report whose ``doc_id`` an earlier one used, and a ``ReadFailure``,
    raise their ``InputError`` (``on_error="raise"``) or become a
    :class:`SkippedFile` (``"skip"``, logged). Reading can then happen
    anywhere (:func:`read_source` in workers) as long as the results come
    back here in the order of :func:`iter_sources`.
    """

    def __init__(self, on_error: Literal["raise", "skip"] = "raise") -> None:
        if on_error not in ("raise", "skip"):
            raise ValueError(value_invalid_msg("on_error", on_error, ("raise", "skip")))
        self.on_error = on_error
        self._seen: dict[str, str] = {}

    def _fail(self, exc: InputError, path: Path, line: int | None, doc_id: str | None) -> SkippedFile:
        if self.on_error == "raise":
            raise exc
        logger.warning("skipped %s", exc)
        return SkippedFile(path=_display_path(path), reason=exc.message, record=line, doc_id=doc_id)

    def admit(self, item: Document | ReadFailure, path: Path) -> Document | SkippedFile:
        """The report read from ``path`` (the source's file), or what to list as skipped instead."""
        if isinstance(item, ReadFailure):
            return self._fail(item.error(), item.path, item.line, item.doc_id)
        line = item.record
        if item.doc_id in self._seen:
            exc = InputError(path, f"doc_id {item.doc_id!r} is used twice (first by {self._seen[item.doc_id]}); give each report its own.", line=line)
            return self._fail(exc, path, line, item.doc_id)
        self._seen[item.doc_id] = f"{item.source_path}" + (f", line {line}" if line else "")
        return item


def admit_in_order(
    admit: Callable[[Document | ReadFailure, Path], Document | SkippedFile],
    sources: Iterable[Source | ReadFailure],
    read: Callable[[Iterator[Source | ReadFailure]], Iterable[Any]],
) -> Iterator[tuple[Document | SkippedFile, Any]]:
    """Read ``sources`` with ``read`` (in workers, say) and admit each result in input order.

    ``read`` is given the sources as an iterator and must yield one result
    per source, in the same order: the source's ``ReadFailure`` or a tuple
    whose first item is the ``Document`` read (what
    :func:`parallel.read_clean_and_fingerprint` returns, for instance).
    ``admit`` is :meth:`DocumentCheck.admit` or :meth:`CorpusReader.admit`.

    Yields
    ------
    (Document or SkippedFile, result)
        What ``admit`` gave for the result, and the result itself. The
        results are closed (its workers stopped) when this generator ends,
        raises or is closed.
    """
    listed: deque[Path] = deque()  # the files of the sources handed to `read`, result not back yet

    def handed() -> Iterator[Source | ReadFailure]:
        for source in sources:
            listed.append(source.path)
            yield source

    results = read(handed())
    try:
        for result in results:
            yield admit(result if isinstance(result, ReadFailure) else result[0], listed.popleft()), result
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


def iter_documents(
    files: Iterable[str | Path],
    *,
    manifest: dict[str, ManifestRow] | None = None,
    on_error: Literal["raise", "skip"] = "raise",
) -> Iterator[Document | SkippedFile]:
    """Stream the reports of raw files (``.txt``, ``.html``, ``.htm``, ``.jsonl``), one at a time.

    Parameters
    ----------
    files : iterable of paths
        Files and directories (expanded with :func:`list_raw_files`).
    manifest : dict or None, default=None
        Manifest rows by ``doc_id``; ``None`` reads the ``manifest.csv``
        beside each file, when there is one.
    on_error : {"raise", "skip"}, default="raise"
        A file or record that cannot be read (or reuses a ``doc_id``) raises
        an ``InputError``, or is yielded as a :class:`SkippedFile` (and logged).

    Yields
    ------
    Document or SkippedFile
        Files in name order, records of a JSON Lines file in line order.
    """
    check = DocumentCheck(on_error)
    for source in iter_sources(files, manifest=manifest):
        yield check.admit(read_source(source), source.path)


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
        doc_id = doc_id_of(doc_id) if doc_id.lower().endswith((".txt", *webtext.HTML_SUFFIXES)) else doc_id
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
    """Expand files and directories into a sorted list of report files (``REPORT_SUFFIXES``).

    A directory contributes its ``.txt``, ``.html``, ``.htm`` and ``.jsonl``
    files (not its subdirectories); a named file is taken whatever its suffix.

    Raises
    ------
    FileNotFoundError
        A named path does not exist.
    InputError
        A directory holds no report file.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    files: list[Path] = []
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.suffix.lower() in REPORT_SUFFIXES and p.is_file())
            if not found:
                raise InputError(item, f"the directory holds no report ({', '.join(REPORT_SUFFIXES)} file).")
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
    """Read every report of ``raw_dir`` (a directory, or one JSON Lines file) with its manifest metadata.

    Parameters
    ----------
    raw_dir : str or Path, default=paths.RAW_DIR
        Directory of raw reports (``.txt``, ``.html``, ``.htm``, ``.jsonl``)
        with an optional ``manifest.csv``, or a ``.jsonl`` file (the
        ``manifest.csv`` beside it applies).
    files : sequence of paths or None, default=None
        Read these files instead of listing ``raw_dir`` (the manifest of
        ``raw_dir`` still applies, and is not required to list all files).
    on_error : {"raise", "skip"}, default="raise"
        What to do with an unreadable file or record: raise, or log a warning
        and list it in ``Corpus.skipped`` (with the file, the record's line
        and the reason).

    Notes
    -----
    A report without a manifest row still loads (metadata is then taken from
    the record or page, or detected from the text during cleaning) and a
    warning is logged for a plain file. A manifest row whose report is not
    among those read is an error naming the row, because it means a report
    went missing (a report skipped on purpose does not count as missing).
    :func:`iter_corpus` reads the same, one report at a time.
    """
    documents: list[Document] = []
    skipped: list[SkippedFile] = []
    for item in iter_corpus(raw_dir, files=files, on_error=on_error):
        (skipped if isinstance(item, SkippedFile) else documents).append(item)
    return Corpus(documents=tuple(documents), skipped=tuple(skipped), manifest_path=manifest_path_of(raw_dir, files=files))


def manifest_path_of(raw_dir: str | Path, *, files: Sequence[str | Path] | None = None) -> str | None:
    """The manifest that applies to ``raw_dir`` (relative to the project), or ``None`` when there is none."""
    raw_dir = Path(raw_dir)
    if files is None and raw_dir.is_file():
        raw_dir = raw_dir.parent
    manifest_path = raw_dir / paths.MANIFEST_NAME
    return _display_path(manifest_path) if manifest_path.is_file() else None


class CorpusReader:
    """:func:`iter_corpus` in three steps, so that reading the reports can run in worker processes.

    ``sources()`` lists the reports to read (:func:`iter_sources`, with the
    manifest of ``raw_dir``); each is read with :func:`read_source`,
    anywhere; ``admit(result, source.path)`` takes the results back in the
    order of ``sources()`` and gives what :func:`iter_corpus` yields; and
    ``finish()``, after the last, runs the checks that need the whole
    collection. Parameters and errors as :func:`read_corpus`.
    """

    def __init__(
        self,
        raw_dir: str | Path = paths.RAW_DIR,
        *,
        files: Sequence[str | Path] | None = None,
        on_error: Literal["raise", "skip"] = "raise",
    ) -> None:
        self._check = DocumentCheck(on_error)
        raw_dir = Path(raw_dir)
        if files is None and raw_dir.is_file():
            files, raw_dir = [raw_dir], raw_dir.parent
        self.raw_dir = raw_dir
        self.manifest_path = raw_dir / paths.MANIFEST_NAME
        self.manifest = read_manifest(self.manifest_path) if self.manifest_path.is_file() else {}
        if files is None and not raw_dir.is_dir():
            raise FileNotFoundError(f"{raw_dir}: raw data directory not found")
        self._all_files = files is None
        self._inputs: Sequence[str | Path] = [raw_dir] if files is None else files
        self._present: set[str] = set()
        self._n_documents = 0
        self._skipped_paths: list[str] = []

    def sources(self) -> Iterator[Source | ReadFailure]:
        """The reports to read, in order (files by name, records by line)."""
        return iter_sources(self._inputs, manifest=self.manifest)

    def admit(self, item: Document | ReadFailure, path: Path) -> Document | SkippedFile:
        """The ``Document`` read from ``path``, or the ``SkippedFile`` to list instead (see :class:`DocumentCheck`)."""
        item = self._check.admit(item, path)
        if isinstance(item, SkippedFile):
            if item.doc_id:
                self._present.add(item.doc_id)
            if len(self._skipped_paths) < 20:
                self._skipped_paths.append(item.path)
            return item
        if not item.in_manifest and not item.extracted:
            logger.warning(
                "%s has no row in %s; its place and date are detected from the text.",
                Path(item.source_path).name,
                paths.MANIFEST_NAME,
            )
        self._present.add(item.doc_id)
        self._n_documents += 1
        return item

    def finish(self) -> None:
        """Raise ``InputError`` for a manifest row whose report was not among those read, or when none could be read."""
        if self._all_files:
            for doc_id, row in sorted(self.manifest.items()):
                if doc_id not in self._present:
                    raise InputError(
                        self.manifest_path,
                        f"the row for {doc_id!r} names a report that is not in {self.raw_dir.name}/ "
                        f"({doc_id}.txt, .html or a JSON Lines record); restore it or remove the row.",
                        line=row.line,
                    )
        if not self._n_documents:
            raise InputError(
                self.raw_dir, "no readable report found" + (f"; skipped: {self._skipped_paths}" if self._skipped_paths else ".")
            )


def iter_corpus(
    raw_dir: str | Path = paths.RAW_DIR,
    *,
    files: Sequence[str | Path] | None = None,
    on_error: Literal["raise", "skip"] = "raise",
) -> Iterator[Document | SkippedFile]:
    """:func:`read_corpus`, one report at a time: yields each ``Document`` or ``SkippedFile`` as it is read.

    Only the doc_ids seen are kept, so a collection of any size can be
    streamed. The checks that need the whole collection (a manifest row
    whose report is missing, no readable report at all) raise after the last
    item, before the generator is exhausted. :class:`CorpusReader` does the
    same in steps, for reading in other processes.
    """
    reader = CorpusReader(raw_dir, files=files, on_error=on_error)
    for source in reader.sources():
        yield reader.admit(read_source(source), source.path)
    reader.finish()


def count_reports(raw_dir: str | Path = paths.RAW_DIR, *, files: Sequence[str | Path] | None = None) -> int | None:
    """About how many reports :func:`iter_corpus` will yield (for a progress bar's ETA), without parsing them.

    A plain file or page counts one; a JSON Lines file its lines (blank
    ones included; counted in 1 MB blocks). ``None`` when the input cannot be listed (the
    reader then reports the problem).
    """
    raw_dir = Path(raw_dir)
    try:
        found = list_raw_files(files if files is not None else [raw_dir])
    except (OSError, InputError):
        return None
    total = 0
    for path in found:
        if path.suffix.lower() not in bulk.BULK_SUFFIXES:
            total += 1
            continue
        with open(path, "rb") as handle:
            last = b"\n"
            while block := handle.read(1 << 20):
                total += block.count(b"\n")
                last = block[-1:]
            total += last != b"\n"  # a last record without a line break
    return total
