"""Read the project's YAML resources with clear errors; write derived tables atomically and byte-identically."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .errors import InputError

__all__ = [
    "CSV_ENCODING",
    "PARTITION_ROWS",
    "read_yaml",
    "atomic_write",
    "atomic_write_dir",
    "write_table",
    "write_table_chunks",
    "write_json",
    "file_sha256",
]

#: Encoding of the CSV copies of derived tables: UTF-8 with a byte order mark, which Excel needs to read Chinese.
CSV_ENCODING = "utf-8-sig"
#: A table of more rows is written as a partitioned parquet dataset: ``<stem>.parquet/part-NNNNN.parquet``
#: of this many rows each (see :func:`write_table`).
PARTITION_ROWS = 200_000
#: Parquet settings of every derived table (fixed, so that a rerun writes the same bytes).
_PARQUET = {"compression": "zstd"}


def read_yaml(path: str | Path, *, what: str = "file") -> Any:
    """Parse a UTF-8 YAML file (a lexicon, the cleaning rules, corrections, run parameters).

    Parameters
    ----------
    path : str or Path
    what : str, default="file"
        What the file is, for the messages ("cleaning-rules file").

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    InputError
        The file is not UTF-8 or not valid YAML; the message names the file
        and, for YAML errors, the line.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {what}")
    try:
        return yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(path, f"the {what} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(path, f"the {what} is not valid YAML: {problem}", line=line) from None


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temp file onto ``path``.

    A crash or an exception leaves any earlier ``path`` untouched and no
    half-written file behind. The file gets the permissions of a file created
    with ``open()`` under the user's umask (``mkstemp`` alone would make it
    private, mode 0600, which blocks sharing a results folder).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_current_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def atomic_write_dir(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_dir)`` then put the new folder in the place of ``path`` (a folder or a file).

    As :func:`atomic_write`, for a folder: an exception leaves any earlier
    ``path`` untouched and no half-written folder behind. The old ``path``
    is moved aside before the new folder is renamed onto it (folders cannot
    be replaced in one step on Windows), then deleted.
    """
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o777 & ~_current_umask())
        for child in tmp_path.iterdir():
            os.chmod(child, 0o666 & ~_current_umask())
    except BaseException:
        shutil.rmtree(tmp_path, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent)) / path.name
        os.replace(path, old)
    os.replace(tmp_path, path)
    if old is not None:
        shutil.rmtree(old.parent, ignore_errors=True)
    return path


def _current_umask() -> int:
    """The process umask (read by setting it and restoring it at once: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` with object cells that are not scalars turned into JSON text."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = [
                json.dumps(v, ensure_ascii=False, default=str)
                if isinstance(v, (list, tuple, dict, set))
                else (str(v) if v is not None and not isinstance(v, (str, bool, int, float)) else v)
                for v in out[col]
            ]
    return out


def write_table(
    df: pd.DataFrame,
    path_stem: str | Path,
    *,
    csv: bool = True,
    provenance: dict[str, Any] | None = None,
    partition_rows: int | None = PARTITION_ROWS,
) -> list[Path]:
    """Write ``df`` as ``<stem>.parquet`` (and ``<stem>.csv``), atomically.

    Rows and columns are written as given (sort before calling). Parquet is
    written without the pandas index and with fixed settings so a rerun on
    the same data gives identical bytes. A table of more than
    ``partition_rows`` rows (:data:`PARTITION_ROWS`; ``None``: never) is a
    partitioned parquet dataset instead: the folder ``<stem>.parquet/`` of
    ``part-00000.parquet``, ``part-00001.parquet``, ... of ``partition_rows``
    rows each, in row order and with one schema; ``pd.read_parquet`` reads
    the folder as it reads a file (the rows in order), and
    ``pyarrow.dataset.dataset`` reads it a part at a time. The CSV copy is UTF-8 with a byte
    order mark (:data:`CSV_ENCODING`), so Excel on Windows shows its Chinese
    text; read it back with ``pd.read_csv(path, encoding="utf-8-sig")`` (pandas'
    default ``utf-8`` also strips the mark). ``provenance`` (parameters, lexicon
    hash, versions: nothing time-dependent) goes to ``<stem>.meta.json``.

    Raises
    ------
    ValueError
        A ``partition_rows`` that is not a positive integer or None.
    """
    if partition_rows is not None and (not isinstance(partition_rows, int) or partition_rows < 1):
        raise ValueError(f"`partition_rows` value {partition_rows!r} is invalid; it must be a positive integer or None.")
    stem = Path(path_stem)
    plain = _plain(df.reset_index(drop=True))
    if partition_rows is not None and len(plain) > partition_rows:
        slices = [plain.iloc[start : start + partition_rows] for start in range(0, len(plain), partition_rows)]
        return _write_partitioned(slices, stem, schema=_unified_schema(slices), csv=csv, provenance=provenance, rows=partition_rows)
    target = stem.with_suffix(".parquet")
    if target.is_dir():  # was partitioned: a file takes its place
        import shutil

        shutil.rmtree(target)
    written = [atomic_write(target, lambda p: _write_parquet(plain, p))]
    if csv:
        written.append(
            atomic_write(
                stem.with_suffix(".csv"),
                lambda p: plain.to_csv(p, index=False, encoding=CSV_ENCODING, lineterminator="\n"),
            )
        )
    if provenance is not None:
        written.append(write_json(provenance, stem.with_suffix(".meta.json")))
    return written


def write_table_chunks(
    chunks: Iterable[pd.DataFrame],
    path_stem: str | Path,
    *,
    n_rows: int,
    schema: Any,
    csv: bool = True,
    provenance: dict[str, Any] | None = None,
    partition_rows: int | None = PARTITION_ROWS,
) -> list[Path]:
    """:func:`write_table` for a table that comes as consecutive pieces (in row order), too large to hold at once.

    Writes the same bytes as ``write_table(pd.concat(chunks), ...)`` while
    holding about ``partition_rows`` rows at a time: a table of at most
    ``partition_rows`` rows is collected and written as one file, a larger one
    is written a part at a time (and its CSV copy a piece at a time).

    Parameters
    ----------
    chunks : iterable of pandas.DataFrame
        The rows in order, all with the same columns.
    n_rows : int
        Their number (decides between one file and a partitioned dataset
        before the first piece is read).
    schema : pyarrow.Schema
        The arrow types of the columns over all pieces (e.g. the unified
        schema of the files the pieces are read from); a column that is empty
        in some pieces gets its type from the others.
    """
    if partition_rows is not None and (not isinstance(partition_rows, int) or partition_rows < 1):
        raise ValueError(f"`partition_rows` value {partition_rows!r} is invalid; it must be a positive integer or None.")
    if partition_rows is None or n_rows <= partition_rows:
        pieces = list(chunks)
        frame = pd.concat(pieces, ignore_index=True) if len(pieces) > 1 else pieces[0]
        return write_table(frame, path_stem, csv=csv, provenance=provenance, partition_rows=partition_rows)
    return _write_partitioned(_rechunk(chunks, partition_rows), Path(path_stem), schema=schema, csv=csv, provenance=provenance, rows=partition_rows)


def _rechunk(chunks: Iterable[pd.DataFrame], rows: int) -> Iterator[pd.DataFrame]:
    """The rows of ``chunks`` in pieces of exactly ``rows`` rows (the last one shorter), through ``_plain``."""
    buffer: list[pd.DataFrame] = []
    n_buffered = 0
    for chunk in chunks:
        buffer.append(chunk)
        n_buffered += len(chunk)
        while n_buffered >= rows:
            joined = pd.concat(buffer, ignore_index=True) if len(buffer) > 1 else buffer[0].reset_index(drop=True)
            yield _plain(joined.iloc[:rows])
            rest = joined.iloc[rows:]
            buffer, n_buffered = ([rest], len(rest)) if len(rest) else ([], 0)
    if n_buffered:
        yield _plain(pd.concat(buffer, ignore_index=True) if len(buffer) > 1 else buffer[0].reset_index(drop=True))


def _arrow_table(df: pd.DataFrame) -> Any:
    """``df`` as an arrow table (pyarrow keeps ``df.attrs`` in its pandas metadata) with one chunk per column.

    A frame concatenated from pieces (the streamed corpus) holds its arrow
    strings in several chunks, and parquet lays out the pages of a column by
    its chunks: combined, the same rows give the same bytes however the frame
    was built.
    """
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False).combine_chunks()


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """The file ``df.to_parquet(path, index=False)`` writes with the fixed settings, from :func:`_arrow_table`.

    pandas adds ``df.attrs`` once more as ``PANDAS_ATTRS`` metadata; so does
    this, so that the bytes stay those of ``to_parquet``
    (tests/test_corpus_stream.py compares them).
    """
    import pyarrow.parquet as pq

    table = _arrow_table(df)
    if df.attrs:
        table = table.replace_schema_metadata({**table.schema.metadata, "PANDAS_ATTRS": json.dumps(df.attrs)})
    pq.write_table(table, path, **_PARQUET)


def _unified_schema(frames: Iterable[pd.DataFrame]) -> Any:
    """The arrow types of ``frames``' columns taken together (a column empty in one frame takes the others' type)."""
    import pyarrow as pa

    schemas = [pa.Schema.from_pandas(f, preserve_index=False).remove_metadata() for f in frames]
    return pa.unify_schemas(schemas, promote_options="permissive")


def _write_partitioned(parts: Iterable[pd.DataFrame], stem: Path, *, schema: Any, csv: bool, provenance: dict[str, Any] | None, rows: int) -> list[Path]:
    """``<stem>.parquet/part-NNNNN.parquet`` from ``parts`` (``rows`` rows each) and the CSV copy, in one pass.

    Every part has the arrow types of ``schema`` and the pandas metadata of
    the first part, so the folder reads back as one table of one schema.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    target = stem.with_suffix(".parquet")

    def write_parts(folder: Path, csv_path: Path | None) -> None:
        handle = open(csv_path, "w", encoding=CSV_ENCODING, newline="") if csv_path is not None else None  # noqa: SIM115
        try:
            target_schema = None
            for k, part in enumerate(parts):
                if len(part) > rows:
                    raise ValueError(f"part {k} of {stem.name} has {len(part)} rows, more than {rows}.")
                table = _arrow_table(part)
                if target_schema is None:
                    target_schema = pa.schema(list(schema), metadata=table.schema.metadata)
                pq.write_table(table.cast(target_schema), folder / f"part-{k:05d}.parquet", **_PARQUET)
                if handle is not None:
                    part.to_csv(handle, index=False, header=k == 0, lineterminator="\n")
        finally:
            if handle is not None:
                handle.close()

    if csv:
        written: list[Path] = []
        csv_target = stem.with_suffix(".csv")

        def write_csv(csv_path: Path) -> None:
            written.append(atomic_write_dir(target, lambda folder: write_parts(folder, csv_path)))

        atomic_write(csv_target, write_csv)
        written.append(csv_target)
    else:
        written = [atomic_write_dir(target, lambda folder: write_parts(folder, None))]
    if provenance is not None:
        written.append(write_json(provenance, stem.with_suffix(".meta.json")))
    return written


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as sorted, indented UTF-8 JSON, atomically."""
    text = json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (used to record which lexicon made an output)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
