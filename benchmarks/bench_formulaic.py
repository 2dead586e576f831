"""Benchmark: text-reuse finder (hashed n-grams) against a dynamic-programming baseline, same run.

Run: ``.venv/bin/python benchmarks/bench_formulaic.py``. Both methods find every
maximal passage of >= 8 normalised characters shared by two reports; the
baseline fills the longest-common-suffix table of each pair of reports (numpy,
one row at a time). Prints the times, their ratio and whether the outputs agree,
on the bundled reports and on a corpus doubled with shuffled copies (10 reports).
"""

from __future__ import annotations

import itertools
import random
import time

import numpy as np

from analysis import formulaic, paths

MIN_CHARS = formulaic.DEFAULT_MIN_REUSE_CHARS
REPEATS = 3


def _baseline(texts: dict[str, str], n: int) -> set[tuple[str, int, str, int, int]]:
    """Maximal common substrings (>= n) of every pair, by the longest-common-suffix table."""
    norm = {d: formulaic.normalize_for_reuse(t) for d, t in texts.items()}
    newline = ord("\n")
    out = set()
    for da, db in itertools.combinations(sorted(texts), 2):
        (sa, oa), (sb, ob) = norm[da], norm[db]
        # Distinct sentinels at the ends make every run end inside the table.
        a = np.append(np.frombuffer(sa.encode("utf-32-le"), dtype=np.uint32), np.uint32(0xFFFFFFF0))
        b = np.append(np.frombuffer(sb.encode("utf-32-le"), dtype=np.uint32), np.uint32(0xFFFFFFF1))
        prev = np.zeros(len(b) + 1, dtype=np.int32)  # prev[j]: common suffix of a[:i-1] and b[:j]
        for i in range(1, len(a) + 1):
            cur = np.zeros(len(b) + 1, dtype=np.int32)
            eq = (b == a[i - 1]) & (a[i - 1] != newline)
            cur[1:] = np.where(eq, prev[:-1] + 1, 0)
            # The run ending at (a[i-2], b[j-1]) is maximal when it does not continue to (a[i-1], b[j]).
            for j in np.nonzero((prev[1:-1] >= n) & (cur[2:] == 0))[0] + 1:
                k = int(prev[j])
                out.add((da, oa[i - 1 - k], db, ob[j - k], k))
            prev = cur
    return out


def _fast(texts: dict[str, str], n: int) -> set[tuple[str, int, str, int, int]]:
    df = formulaic.reused_passages(texts, min_chars=n)
    return set(zip(df["doc_a"], df["start_a"], df["doc_b"], df["start_b"], df["n_chars"], strict=True))


def _time(fn, *args) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    raw = {p.stem: p.read_bytes().decode("utf-8") for p in sorted(paths.RAW_DIR.glob("*.txt"))}
    rng = random.Random(0)
    doubled = dict(raw)
    for d, t in raw.items():
        lines = t.split("\n")
        rng.shuffle(lines)
        doubled[d + "_shuffled"] = "\n".join(lines)
    print(
        f"{'corpus':<22}{'reports':>8}{'chars':>8}{'n-gram hash s':>15}{'DP baseline s':>15}{'ratio':>8}  same output"
    )
    for name, texts in (("bundled", raw), ("bundled + shuffled", doubled)):
        t_fast, fast = _time(_fast, texts, MIN_CHARS)
        t_base, base = _time(_baseline, texts, MIN_CHARS)
        chars = sum(map(len, texts.values()))
        print(
            f"{name:<22}{len(texts):>8}{chars:>8}{t_fast:>15.3f}{t_base:>15.3f}{t_base / t_fast:>8.1f}  {fast == base}"
        )


if __name__ == "__main__":
    main()
