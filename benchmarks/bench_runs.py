"""Benchmark: reading sorted runs back by key range when the runs overlap (reports out of doc_id order).

Run: ``.venv/bin/python benchmarks/bench_runs.py [--sizes 10000 50000 100000]``.

``corpus.write_corpus`` spills the rows of every 1,000 reports as a sorted run
and writes each table 2,000 reports at a time (``runs.SortedRuns.chunks``).
Reports read in doc_id order (a folder) give runs of separate key ranges;
reports read in another order (a JSON Lines collection whose doc_ids are,
say, URL hashes) give runs that each span every key, so each range reads a
row group of every run (runs x ranges row groups for a table read once).
This times ``chunks`` on a paragraphs-like table (17 rows of 120 random
characters per report) in both orders, side by side, and checks that the
frames agree. It is the measurement behind not splitting the runs by range
first: that was tried and cost more than the extra reads (benchmarks/scale.md).
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
    pool = "党史学习教育开展全区社区干部群众宣讲活动服务实事组织建设红色基地"
    for start in range(0, n_reports, RUN_REPORTS):
        batch = order[start : start + RUN_REPORTS]
        n_rows = len(batch) * ROWS_PER_REPORT
        table.add(pd.DataFrame({
            "para_id": [f"{d}:p{i:03d}" for d in batch for i in range(ROWS_PER_REPORT)],
            "doc_id": [d for d in batch for _ in range(ROWS_PER_REPORT)],
            # Every paragraph different, as in real reports (repeated text would compress to nothing).
            "text": ["".join(rng.choices(pool, k=120)) for _ in range(n_rows)],
        }))
    ranges = runs.key_ranges([f"{d}:" for d in sorted(doc_ids)[RANGE_REPORTS::RANGE_REPORTS]])
    return table, ranges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 50000, 100000])
    args = parser.parse_args()
    print(f"{'reports':>8} {'runs':>5} {'ranges':>6} {'in order s':>10} {'shuffled s':>10} {'ratio':>6}  same")
    for n in args.sizes:
        times, hashes = {}, {}
        for shuffled in (False, True):
            with tempfile.TemporaryDirectory(prefix="bench_runs_") as tmp:
                table, ranges = _runs(Path(tmp) / "t", n, shuffled)
                t0 = time.perf_counter()
                n_rows, digest = 0, 0
                for chunk in table.chunks(ranges):
                    n_rows += len(chunk)
                    digest ^= int(pd.util.hash_pandas_object(chunk.drop(columns="text"), index=True).sum())
                times[shuffled] = time.perf_counter() - t0
                hashes[shuffled] = (n_rows, digest)
                n_runs = len(table._files)
        # The texts are random per order; the keys and their order must agree.
        same = "yes" if hashes[True] == hashes[False] and hashes[True][0] == n * ROWS_PER_REPORT else "NO"
        print(f"{n:>8} {n_runs:>5} {len(ranges):>6} {times[False]:>10.2f} {times[True]:>10.2f} "
              f"{times[True] / times[False]:>5.2f}x  {same}", flush=True)


if __name__ == "__main__":
    main()
