"""Metric extraction throughput as a ratio to jieba.lcut on the same paragraphs, in one run.

Both run over the cleaned paragraphs of the corpus in data/raw (project
pipeline: ingest -> clean), repeated; the best of several timings is kept.
A ratio >= 1 means extraction is at least as fast as segmenting the same text.
Usage: .venv/bin/python benchmarks/bench_metrics.py
"""

from __future__ import annotations

import time

import jieba

from analysis import clean, ingest, metrics
from analysis.paths import RAW_DIR

REPEATS = 5
ROUNDS = 3


def best_time(fn) -> float:
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        for _ in range(REPEATS):
            fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    paragraphs = []
    for path in sorted(RAW_DIR.glob("*.txt")):
        paragraphs += clean.clean_document(ingest.read_document(path)).paragraphs
    texts = [p.text for p in paragraphs]
    n_chars = sum(len(t) for t in texts) * REPEATS
    jieba.initialize()
    lex = metrics.load_metric_lexicon()
    list(metrics.extract_metric_mentions(paragraphs, lexicon=lex))  # warm caches

    t_jieba = best_time(lambda: [jieba.lcut(t) for t in texts])
    t_metrics = best_time(lambda: list(metrics.extract_metric_mentions(paragraphs, lexicon=lex)))
    print(f"paragraphs: {len(texts)}, characters per run: {n_chars}")
    print(f"jieba.lcut:               {n_chars / t_jieba:12,.0f} chars/s")
    print(f"extract_metric_mentions:  {n_chars / t_metrics:12,.0f} chars/s")
    print(f"throughput ratio (metrics / jieba): {t_jieba / t_metrics:.2f}")


if __name__ == "__main__":
    main()
