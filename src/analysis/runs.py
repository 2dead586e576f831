"""Tables too large to hold in memory, built by an external sort: sorted parquet runs, read back a key range at a time.

``corpus.write_corpus`` cleans a collection of any size in one pass: each
batch of reports becomes a *run* of every corpus table (a small parquet file,
sorted), and once the pass is over :meth:`SortedRuns.chunks` reads all runs
back in consecutive ranges of the table's first sort column, so that only one
range is in memory at a time. Row-group statistics let pyarrow read only the
row groups of each run that overlap the range. Rows equal in every sort
column keep the order in which they were added, as ``sort_values(kind=
"stable")`` on the whole table would; the output is therefore the same as
sorting the whole table at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["SortedRuns", "TextStore", "key_ranges"]

#: Column that records the order in which rows were added (the tie-breaker of the sort; not written out).
SEQ_COLUMN = "_seq"
#: The dtype pandas infers for a column of strings and missing values (``str`` in pandas 3, else object).
_STRING = pd.Series(["a", None]).dtype
#: Rows per row group of a run: the unit pyarrow skips when a row group lies outside the range read.
RUN_ROW_GROUP = 4096


def key_ranges(boundaries: Sequence[str]) -> list[tuple[str | None, str | None]]:
    """Consecutive half-open ranges ``[lo, hi)`` split at ``boundaries`` (sorted), open at both ends.

    >>> key_ranges(["b", "d"])
    [(None, 'b'), ('b', 'd'), ('d', None)]
    """
    edges: list[str | None] = [None, *boundaries, None]
    return list(itertools.pairwise(edges))


class SortedRuns:
    """Rows of one table, added in pieces and spilled to ``folder`` as runs sorted by ``sort_by``.

    Parameters
    ----------
    folder : Path
        Where the runs go (a temporary folder; deleted by the caller).
    sort_by : sequence of str
        The table's sort columns; the first one (a string column) is the key
        the ranges of :meth:`chunks` are taken over.
    """

    def __init__(self, folder: Path, sort_by: Sequence[str]) -> None:
        if not sort_by:
            raise ValueError("`sort_by` must name at least one column.")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sort_by = list(sort_by)
        self.key = self.sort_by[0]
        self.n_rows = 0
        self._files: list[Path] = []
        self._template: pd.DataFrame | None = None

    def add(self, frame: pd.DataFrame) -> None:
        """Sort ``frame`` and write it as the next run (an empty frame only records the columns)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._template is not None and list(frame.columns) != list(self._template.columns):
            raise ValueError(f"columns {list(frame.columns)} differ from those of the first run {list(self._template.columns)}.")
        if self._template is None or (not self._files and not frame.empty):
            # The dtypes come from the first frame with rows (an empty frame has object columns only).
            self._template = frame.iloc[:0].copy()
        if frame.empty:
            return
        if SEQ_COLUMN in frame.columns:
            raise ValueError(f"a table column is named {SEQ_COLUMN!r}, which the runs use for the row order.")
        run = frame.reset_index(drop=True).assign(**{SEQ_COLUMN: range(self.n_rows, self.n_rows + len(frame))})
        run = run.sort_values([*self.sort_by, SEQ_COLUMN], kind="stable")
        path = self.folder / f"run-{len(self._files):06d}.parquet"
        pq.write_table(pa.Table.from_pandas(run, preserve_index=False), path, row_group_size=RUN_ROW_GROUP)
        self._files.append(path)
        self.n_rows += len(frame)

    def count(self, keys: frozenset[str], column: str) -> int:
        """Rows whose ``column`` value is in ``keys``."""
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        if not keys or not self._files:
            return 0
        dataset = ds.dataset([str(f) for f in self._files], schema=self._read_schema(), format="parquet")
        return dataset.count_rows(filter=pc.field(column).isin(sorted(keys)))

    def _read_schema(self) -> Any:
        """Unified arrow types of the runs, with the first run's pandas metadata (dtypes such as Int64)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = pa.unify_schemas([pq.read_schema(f).remove_metadata() for f in self._files], promote_options="permissive")
        return pa.schema(list(types), metadata=pq.read_schema(self._files[0]).metadata)

    def schema(self) -> Any:
        """The arrow types of the table's columns over all runs (without the order column)."""
        import pyarrow as pa

        if not self._files:
            return pa.Schema.from_pandas(self._template if self._template is not None else pd.DataFrame(), preserve_index=False).remove_metadata()
        return pa.schema([f for f in self._read_schema().remove_metadata() if f.name != SEQ_COLUMN])

    def chunks(
        self,
        ranges: Iterable[tuple[str | None, str | None]],
        *,
        drop_keys: frozenset[str] = frozenset(),
        drop_column: str | None = None,
        extra: pd.DataFrame | None = None,
    ) -> Iterator[pd.DataFrame]:
        """The table in sort order, one frame per range of the key (ranges consecutive and covering all keys).

        Rows whose ``drop_column`` value is in ``drop_keys`` are left out;
        ``extra`` rows (never dropped) are sorted in among the others. Yields
        at least one frame (an empty one with the table's columns and dtypes
        when there are no rows).
        """
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        if self._template is None:
            raise ValueError("no run was added: the table's columns are unknown.")
        if extra is not None and list(extra.columns) != list(self._template.columns):
            raise ValueError(f"`extra` has columns {list(extra.columns)}, the table {list(self._template.columns)}.")
        if extra is not None and len(extra):
            extra = extra.reset_index(drop=True).assign(**{SEQ_COLUMN: range(self.n_rows, self.n_rows + len(extra))})
        else:
            extra = None
        if not self._files:
            out = self._template if extra is None else extra.sort_values([*self.sort_by, SEQ_COLUMN], kind="stable")
            yield out.drop(columns=[SEQ_COLUMN], errors="ignore").reset_index(drop=True)
            return
        dataset = ds.dataset([str(f) for f in self._files], schema=self._read_schema(), format="parquet")
        dtypes = {**self._template.dtypes.to_dict(), SEQ_COLUMN: "int64"}
        kept = ~pc.field(drop_column).isin(sorted(drop_keys)) if drop_keys and drop_column is not None else None
        for name, dtype in dtypes.items():
            if pd.api.types.is_string_dtype(dtype):  # object (strings or None) or pandas' str
                # As pandas would infer over the whole table: its string dtype, unless every value is missing.
                valid = pc.field(name).is_valid() if kept is None else pc.field(name).is_valid() & kept
                filled = dataset.count_rows(filter=valid) > 0 or (extra is not None and extra[name].notna().any())
                dtypes[name] = _STRING if filled else object
        yielded = False
        for lo, hi in ranges:
            condition = None
            if lo is not None:
                condition = pc.field(self.key) >= lo
            if hi is not None:
                upper = pc.field(self.key) < hi
                condition = upper if condition is None else condition & upper
            frame = (dataset.to_table(filter=condition) if condition is not None else dataset.to_table()).to_pandas()
            frame = _restore_dtypes(frame, dtypes)
            if drop_keys and drop_column is not None and len(frame):
                frame = frame[~frame[drop_column].isin(drop_keys)]
            if extra is not None:
                inside = pd.Series(True, index=extra.index)
                if lo is not None:
                    inside &= extra[self.key] >= lo
                if hi is not None:
                    inside &= extra[self.key] < hi
                if inside.any():
                    frame = pd.concat([frame, _restore_dtypes(extra[inside], dtypes)], ignore_index=True)
            if frame.empty:
                continue
            frame = frame.sort_values([*self.sort_by, SEQ_COLUMN], kind="stable").drop(columns=[SEQ_COLUMN])
            yielded = True
            yield frame.reset_index(drop=True)
        if not yielded:
            yield self._template.reset_index(drop=True)


def _restore_dtypes(frame: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    """``frame`` with the given dtypes; an ``object`` column holds None for missing values, as the frames added
    do (``to_pandas`` reads a string column as ``str``, missing values as NaN)."""
    out = frame.astype(dtypes)
    for name, dtype in dtypes.items():
        if pd.api.types.is_object_dtype(dtype):
            column = out[name]
            out[name] = column.where(column.notna(), None)
    return out


class TextStore:
    """Texts by key, spilled to parquet in ``folder``; :meth:`get` reads one back (one small row group).

    Holds only an index (key -> file, row group, row) in memory.
    """

    def __init__(self, folder: Path, *, row_group: int = 16) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.row_group = row_group
        self._index: dict[str, tuple[int, int, int]] = {}
        self._files: list[Path] = []

    def add(self, texts: Sequence[tuple[str, str]]) -> None:
        """Write ``(key, text)`` pairs as the next file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not texts:
            return
        k = len(self._files)
        path = self.folder / f"texts-{k:06d}.parquet"
        keys = [key for key, _ in texts]
        table = pa.table({"key": keys, "text": [text for _, text in texts]})
        pq.write_table(table, path, row_group_size=self.row_group)
        self._files.append(path)
        for i, key in enumerate(keys):
            if key in self._index:
                raise ValueError(f"key {key!r} was added twice.")
            self._index[key] = (k, i // self.row_group, i % self.row_group)

    def get(self, key: str) -> str:
        """The text stored under ``key`` (``KeyError`` when there is none)."""
        import pyarrow.parquet as pq

        k, group, row = self._index[key]
        with pq.ParquetFile(self._files[k]) as handle:
            return handle.read_row_group(group, columns=["text"]).column("text")[row].as_py()
