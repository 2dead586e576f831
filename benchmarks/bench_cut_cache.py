"""Memory of the Segmenter's token cache per paragraph, and the time of a cached cut vs bare ``jieba.lcut``.

The topic notebook cuts every paragraph several times (TF-IDF, topic terms,
representative paragraphs, keyness); ``tokens.CUT_CACHE_SIZE`` decides how
many paragraphs' tokens are remembered, and the tokens are interned so that a
word is stored once. This script cleans a synthetic corpus
(``bench_scale.build_corpus``), cuts its paragraphs through a fresh
Segmenter and prints the traced memory the cache holds per paragraph, the
time of the first pass and of a second (cached) pass, against bare
``jieba.lcut`` on the same texts (the baseline, run side by side).

    .venv/bin/python benchmarks/bench_cut_cache.py --reports 2000
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import build_corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=2000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    import jieba

    from analysis import corpus, tokens

    with tempfile.TemporaryDirectory() as tmp:
        build_corpus(args.reports, Path(tmp) / "raw")
        cleaned = corpus.clean_corpus(Path(tmp) / "raw", jobs=None)
    texts = [p.text for d in cleaned.documents for p in d.paragraphs]
    segmenter = tokens.Segmenter()
    segmenter.cut("热身")  # build the tokenizer outside the measurement
    tokenizer = jieba.Tokenizer()
    tokenizer.lcut("热身")
    t0 = time.perf_counter()
    for text in texts:
        tokenizer.lcut(text)
    bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    for text in texts:
        segmenter.cut(text)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for text in texts:
        segmenter.cut(text)
    second = time.perf_counter() - t0
    segmenter.clear_cache()
    tracemalloc.start()  # a pass of its own: tracing slows it down
    for text in texts:
        segmenter.cut(text)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = len(texts)
    print(f"{args.reports} reports, {n} paragraphs (cache size {tokens.CUT_CACHE_SIZE})")
    print(f"cache holds {held / 2**20:.1f} MB: {held / n / 1024:.2f} KB a paragraph")
    print(f"bare jieba.lcut {bare:.1f} s; Segmenter first pass {first:.1f} s ({first / bare:.2f}x); "
          f"second pass {second:.2f} s ({second / bare:.3f}x)")


if __name__ == "__main__":
    main()
