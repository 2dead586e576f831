"""Benchmark: reading sorted runs back by key range, with and without splitting the runs by range first.

Run: ``.venv/bin/python benchmarks/bench_runs.py [--sizes 10000 50000 100000]``.

``corpus.write_corpus`` spills the rows of every 1,000 reports as a sorted run
and writes each table 2,000 reports at a time (``runs.SortedRuns.chunks``).
Reports read in doc_id order (a folder) give runs of separate key ranges;
reports read in another order (a JSON Lines collection whose doc_ids are,
say, URL hashes) give runs that each span every key, so each range reads a
row group of every run. This times ``chunks`` on a paragraphs-like table
(17 rows of 120 characters per report) in both orders, split by range first
(``partition=True``, what ``partition=None`` picks for overlapping runs) and
not (``partition=False``), side by side, and checks that the frames agree.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import pandas as pd

from analysis import runs

ROWS_PER_REPORT = 17
RUN_REPORTS = 1000
RANGE_REPORTS = 2000


def _runs(folder: Path, n_reports: int, shuffled: bool) -> tuple[runs.SortedRuns, list]:
    rng = random.Random(0)
    doc_ids = [f"{rng.getrandbits(64):016x}" for _ in range(n_reports)]  # hash-like ids
    order = list(doc_ids) if shuffled else sorted(doc_ids)
    table = runs.SortedRuns(folder, ["para_id"])
    text = "党史学习教育" * 20
    for start in range(0, n_reports, RUN_REPORTS):
        batch = order[start : start + RUN_REPORTS]
        table.add(pd.DataFrame({
            "para_id": [f"{d}:p{i:03d}" for d in batch for i in range(ROWS_PER_REPORT)],
            "doc_id": [d for d in batch for _ in range(ROWS_PER_REPORT)],
            "text": [text] * (len(batch) * ROWS_PER_REPORT),
        }))
    ranges = runs.key_ranges([f"{d}:" for d in sorted(doc_ids)[RANGE_REPORTS::RANGE_REPORTS]])
    return table, ranges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000, 100000])
    args = parser.parse_args()
    print(f"{'reports':>8} {'order':<9} {'runs':>5} {'ranges':>6} {'split s':>8} {'unsplit s':>9} {'ratio':>6}  same")
    for n in args.sizes:
        for shuffled in (True, False):
            with tempfile.TemporaryDirectory(prefix="bench_runs_") as tmp:
                table, ranges = _runs(Path(tmp) / "t", n, shuffled)
                times, hashes = {}, {}
                for partition in (True, False):
                    t0 = time.perf_counter()
                    n_rows, digest = 0, 0
                    for chunk in table.chunks(ranges, partition=partition):
                        n_rows += len(chunk)
                        digest ^= int(pd.util.hash_pandas_object(chunk, index=True).sum())
                    times[partition] = time.perf_counter() - t0
                    hashes[partition] = (n_rows, digest)
                same = "yes" if hashes[True] == hashes[False] and hashes[True][0] == n * ROWS_PER_REPORT else "NO"
                print(f"{n:>8} {'shuffled' if shuffled else 'in order':<9} {len(table._files):>5} {len(ranges):>6} "
                      f"{times[True]:>8.2f} {times[False]:>9.2f} {times[False] / times[True]:>5.2f}x  {same}", flush=True)


if __name__ == "__main__":
    main()
