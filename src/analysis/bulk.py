"""Read scraped collections in JSON Lines (one report per line) into ``Document`` records, streaming (for ``ingest``).

The format
----------
One JSON object per line, UTF-8; blank lines are skipped::

    {"doc_id": "zhongyuan_0612", "url": "http://...", "title": "...", "date": "2021-06-12",
     "place": "中原区", "html": "<!DOCTYPE html>..."}
    {"doc_id": "yunxi_0604", "text": "凝聚奋进力量\\n\\n——云溪区扎实推进党史学习教育纪实\\n..."}

``doc_id`` (required) names the report in every table, so it may not contain
path separators, whitespace or characters that Windows refuses in file names.
Exactly one of ``html`` (the saved page, read with ``webtext.extract_page``)
and ``text`` (a plain report) holds the report. ``url``, ``title``, ``date``
(ISO ``YYYY-MM-DD``, or an ISO date-time whose date is taken) and ``place``
are optional; other keys are ignored (a warning names them once per file).
A ``manifest.csv`` row for the ``doc_id`` beside the file wins over the
record's ``place``/``date``, which win over the page's metadata.

The file is read one line at a time (:func:`iter_records`); a bad line is an
:class:`~analysis.errors.InputError` naming the file and the line, and does
not stop the lines after it from being read when the caller skips errors.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = ["BULK_SUFFIXES", "RECORD_KEYS", "iter_records", "check_record"]

logger = logging.getLogger(__name__)

#: File suffixes read as JSON Lines collections.
BULK_SUFFIXES = (".jsonl",)
#: Keys a record may have.
RECORD_KEYS = ("doc_id", "url", "title", "date", "place", "html", "text")
_RE_BAD_ID = re.compile(r'[\s/\\:*?"<>|\x00-\x1f]')
#: Longest accepted doc_id (it becomes a file name: extracted/<doc_id>.txt).
MAX_DOC_ID_CHARS = 200


def iter_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | InputError]]:
    """Yield ``(line, record)`` for each non-blank line, or ``(line, InputError)`` for a bad one.

    The record is checked with :func:`check_record`; the error of a record
    that names its ``doc_id`` carries it as ``error.doc_id``. Reading is streaming:
    one line is in memory at a time.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    warned: set[str] = set()
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield line_no, InputError(path, f"the line is not UTF-8 (byte {exc.start}: {exc.reason}); JSON Lines files are UTF-8.", line=line_no)
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield line_no, InputError(path, f"the line is not valid JSON ({exc.msg} at column {exc.colno}).", line=line_no)
                continue
            try:
                record = check_record(value, path=path, line=line_no)
            except InputError as exc:
                doc_id = value.get("doc_id") if isinstance(value, dict) else None
                exc.doc_id = doc_id.strip() if isinstance(doc_id, str) and doc_id.strip() else None
                yield line_no, exc
                continue
            unknown = sorted(set(value) - set(RECORD_KEYS) - warned)
            if unknown:
                warned.update(unknown)
                logger.warning("%s: keys %s are ignored (a record has %s)", path.name, unknown, list(RECORD_KEYS))
            yield line_no, record


def check_record(value: Any, *, path: str | Path = "<jsonl>", line: int | None = None) -> dict[str, Any]:
    """Validate one JSON Lines record; return it with only the known keys (``None`` for absent ones).

    Raises
    ------
    InputError
        Not an object, a missing or unusable ``doc_id``, neither or both of
        ``html`` and ``text``, a field of the wrong type, or a date that is
        not ISO.

    Examples
    --------
    >>> check_record({"doc_id": "a1", "text": "全区宣讲50场。", "date": "2021-06-04T10:00:00+08:00"})["date"]
    '2021-06-04'
    >>> check_record({"doc_id": "a 1", "text": "x"})
    Traceback (most recent call last):
    ...
    analysis.errors.InputError: <jsonl>: `doc_id` 'a 1' contains whitespace, a path separator or a character not allowed in file names.
    """
    if not isinstance(value, dict):
        raise InputError(path, f"a record must be a JSON object, got {type(value).__name__}.", line=line)
    out: dict[str, Any] = {k: value.get(k) for k in RECORD_KEYS}
    for key in RECORD_KEYS:
        if out[key] is not None and not isinstance(out[key], str):
            raise InputError(path, f"`{key}` must be a string (or absent), got {type(out[key]).__name__}.", line=line)
        if isinstance(out[key], str) and not out[key].strip():
            out[key] = None
    doc_id = out["doc_id"]
    if doc_id is None:
        raise InputError(path, "the record has no `doc_id`; every report needs one (it names the report in every table).", line=line)
    doc_id = doc_id.strip()
    if _RE_BAD_ID.search(doc_id) or doc_id in (".", "..") or len(doc_id) > MAX_DOC_ID_CHARS:
        raise InputError(
            path,
            f"`doc_id` {doc_id!r} contains whitespace, a path separator or a character not allowed in file names.",
            line=line,
        )
    out["doc_id"] = doc_id
    if (out["html"] is None) == (out["text"] is None):
        which = "both" if out["html"] is not None else "neither"
        raise InputError(path, f"record {doc_id!r} has {which} of `html` and `text`; give exactly one.", line=line)
    if out["date"] is not None:
        raw_date = out["date"].strip()
        try:
            out["date"] = dt.date.fromisoformat(raw_date[:10]).isoformat()
            if len(raw_date) > 10:
                dt.datetime.fromisoformat(raw_date)
        except ValueError:
            raise InputError(path, f"record {doc_id!r}: date {raw_date!r} is not ISO (YYYY-MM-DD); leave it out when unknown.", line=line) from None
    for key in ("title", "place", "url"):
        if out[key] is not None:
            out[key] = out[key].strip()
    return out
