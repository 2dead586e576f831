"""Benchmark of the cleaning step: throughput vs. jieba segmentation, and a 20 MB single report.

Run: ``.venv/bin/python benchmarks/bench_clean.py [--size-mb 20] [--repeat 20]``

1. Throughput: ``clean.clean_document`` and ``jieba.lcut`` on the same raw
   texts (the five corpus reports) in the same run; prints chars/s of both
   and their ratio (cleaning must be at least 3x faster than segmentation).
   jieba's dictionary is loaded before timing (a fixed start-up cost).
2. Scale: one synthetic report of about ``--size-mb`` MB (UTF-8), built from
   the corpus's body paragraphs repeated in a seeded random order with
   varied blank-line breaks and some page-break splits inside paragraphs;
   prints the wall time of cleaning it, the peak traced memory
   (``tracemalloc``, second run) as a multiple of the text size, and the
   time per MB at half the size (a quadratic step would show as a growing
   time per MB).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import tracemalloc

import jieba

from analysis import clean, paths
from analysis.records import Document

MIN_RATIO_TO_JIEBA = 3.0
SEED = 0


def _corpus() -> list[Document]:
    files = sorted(paths.RAW_DIR.glob("*.txt"))
    if not files:
        sys.exit(f"no raw reports in {paths.RAW_DIR}")
    return [Document(f.stem, f.name, "utf-8", f.read_text(encoding="utf-8")) for f in files]


def _body_paragraphs(documents: list[Document], rules: clean.CleaningRules) -> list[str]:
    out: list[str] = []
    for d in documents:
        out.extend(p.text for p in clean.clean_document(d, rules=rules).paragraphs if len(p.text) >= 40)
    return out


def synthetic_report(paragraphs: list[str], size_bytes: int, *, seed: int = SEED) -> str:
    """A single long report: a head, then corpus paragraphs with varied breaks and page-break splits."""
    rng = random.Random(seed)
    parts = ["学习党史悟思想 办好实事开新局\n\n——某区扎实推进党史学习教育纪实\n\n记者 某某\n\n"]
    size = len(parts[0].encode("utf-8"))
    n = 0
    while size < size_bytes:
        p = rng.choice(paragraphs)
        if rng.random() < 0.1:  # a page/column break inside the paragraph
            cut = rng.randrange(5, len(p) - 5)
            p = p[:cut] + "\n\n" + p[cut:]
        n += 1
        if n % 12 == 0:
            p = "学习有深度 实践有力度\n\n" + p  # a section heading now and then
        piece = p + "\n" * rng.choice((2, 2, 2, 3))
        parts.append(piece)
        size += len(piece.encode("utf-8"))
    return "".join(parts)


def _time(fn, *args, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--size-mb", type=float, default=20.0, help="size of the synthetic report (MB of UTF-8)"
    )
    parser.add_argument(
        "--repeat", type=int, default=20, help="passes over the corpus for the throughput test"
    )
    args = parser.parse_args(argv)

    rules = clean.load_rules()
    documents = _corpus()
    n_chars = sum(len(d.raw_text) for d in documents)

    # -- 1. throughput vs jieba on the same texts --------------------------------
    jieba.setLogLevel(60)
    jieba.initialize()  # dictionary load: start-up cost, not per-text cost
    for d in documents:  # warm both paths
        clean.clean_document(d, rules=rules)
        jieba.lcut(d.raw_text)

    def run_clean() -> None:
        for d in documents:
            clean.clean_document(d, rules=rules)

    def run_jieba() -> None:
        for d in documents:
            jieba.lcut(d.raw_text)

    t_clean = sum(_time(run_clean) for _ in range(args.repeat)) / args.repeat
    t_jieba = sum(_time(run_jieba) for _ in range(args.repeat)) / args.repeat
    clean_cps, jieba_cps = n_chars / t_clean, n_chars / t_jieba
    ratio = clean_cps / jieba_cps
    print(f"corpus: {len(documents)} reports, {n_chars} chars, mean of {args.repeat} passes")
    print(f"  clean_document : {clean_cps:12,.0f} chars/s ({t_clean * 1000:.1f} ms per pass)")
    print(f"  jieba.lcut     : {jieba_cps:12,.0f} chars/s ({t_jieba * 1000:.1f} ms per pass)")
    print(f"  ratio clean/jieba = {ratio:.2f} (required >= {MIN_RATIO_TO_JIEBA})")

    # -- 2. one large report ---------------------------------------------------------
    paragraphs = _body_paragraphs(documents, rules)
    size_bytes = int(args.size_mb * 1024 * 1024)
    for fraction in (0.5, 1.0):
        text = synthetic_report(paragraphs, int(size_bytes * fraction))
        mb = len(text.encode("utf-8")) / 1024 / 1024
        doc = Document("synthetic", "synthetic.txt", "utf-8", text)
        t0 = time.perf_counter()
        cleaned = clean.clean_document(doc, rules=rules)
        wall = time.perf_counter() - t0
        print(
            f"synthetic report {mb:.1f} MB ({len(text):,} chars): cleaned in {wall:.1f} s "
            f"({wall / mb:.2f} s/MB), {len(cleaned.paragraphs):,} paragraphs, "
            f"{sum(r.kind == 'join_split' for r in cleaned.repairs):,} joins"
        )
        if fraction == 1.0:
            del cleaned
            text_bytes = sys.getsizeof(text)
            tracemalloc.start()
            cleaned = clean.clean_document(doc, rules=rules)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"  peak traced memory while cleaning: {peak / 1024 / 1024:.0f} MB "
                f"= {peak / text_bytes:.1f}x the text object ({text_bytes / 1024 / 1024:.0f} MB in memory)"
            )
    return 0 if ratio >= MIN_RATIO_TO_JIEBA else 1


if __name__ == "__main__":
    raise SystemExit(main())
