"""Segmentation + TF-IDF throughput of the project's path as a ratio to bare ``jieba.lcut``.

Both run on the same texts in the same process, after a warm-up (dictionaries
loaded): the baseline is ``[jieba.lcut(t) for t in texts]`` (global tokenizer,
default dictionary); ours is ``topics.build_tfidf(texts)`` (dedicated tokenizer
with the domain dictionary, token filter, TfidfVectorizer fit). Ratio =
baseline time / our time (1.0 = no overhead; the target is >= 0.7). Texts: the
report paragraphs of ../shared/gold/clean repeated, and the cnews benchmark.
Also timed, each in a new process (best of 3): building the project's tokenizer
(jieba's dictionary from its cache in ``.cache/`` plus the gazetteer and domain
terms) against a bare ``jieba.Tokenizer`` loading the same cache.
Run: ``.venv/bin/python benchmarks/bench_tokens.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import jieba

from analysis import paths, tokens, topics

SHARED = paths.PROJECT_ROOT.parent / "shared"
REPEATS = 3
TARGET_RATIO = 0.7


def report_paragraphs() -> list[str]:
    out = []
    for path in sorted((SHARED / "gold" / "clean").glob("*.json")):
        out += json.loads(path.read_text(encoding="utf-8"))["paragraphs"]
    # distinct copies so nothing is memoised across repeats of the same string
    return [f"{t}{i}" for i in range(20) for t in out]


def cnews() -> list[str]:
    path = SHARED / "benchmarks" / "clustering" / "cnews_val_1000.txt"
    return [line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()]


def best_of(fn, texts) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn(texts)
        times.append(time.perf_counter() - t0)
    return min(times)


BUILD_OURS = "from analysis import tokens; tokens.get_segmenter().tokenizer"
BUILD_BARE = (
    "import logging, jieba; jieba.setLogLevel(logging.WARNING); from analysis import paths; "
    "tok = jieba.Tokenizer(dictionary=jieba.DEFAULT_DICT); tok.tmp_dir = str(paths.CACHE_DIR); "
    "tok.cache_file = 'jieba.default.cache'; tok.initialize()"
)


def build_time(code: str) -> float:
    """Seconds to run ``code`` after the imports, in a new process (best of REPEATS)."""
    timed = f"import time; t0 = time.perf_counter(); {code}; print(time.perf_counter() - t0)"
    runs = [float(subprocess.run([sys.executable, "-W", "ignore", "-c", timed], capture_output=True, text=True,
                                 check=True).stdout.split()[-1]) for _ in range(REPEATS)]
    return min(runs)


def main() -> int:
    ours_build, bare_build = build_time(BUILD_OURS), build_time(BUILD_BARE)
    print(f"new process, tokenizer ready: ours {ours_build:.2f} s, bare jieba.Tokenizer {bare_build:.2f} s "
          f"(best of {REPEATS}, imports included)")
    seg = tokens.get_segmenter()
    seg.tokenize("预热党史学习教育")
    jieba.lcut("预热党史学习教育")
    ok = True
    for name, texts in (("report paragraphs x20", report_paragraphs()), ("cnews 1000 documents", cnews())):
        n_chars = sum(map(len, texts))
        base = best_of(lambda xs: [jieba.lcut(t) for t in xs], texts)
        # Cold: the segmenter remembers the tokens of texts it has cut; each timed run starts empty.
        seg_only = best_of(lambda xs: (seg.clear_cache(), [seg.tokenize(t) for t in xs]), texts)
        ours = best_of(lambda xs: (seg.clear_cache(), topics.build_tfidf(xs, segmenter=seg)), texts)
        warm = best_of(lambda xs: [seg.tokenize(t) for t in xs], texts)  # every text seen before
        ratio = base / ours
        ok &= ratio >= TARGET_RATIO
        print(f"{name}: {len(texts)} texts, {n_chars / 1e6:.2f} M chars (best of {REPEATS})")
        print(f"  jieba.lcut            {base:6.2f} s  {n_chars / base / 1e3:7.0f} k chars/s")
        print(f"  tokens.tokenize       {seg_only:6.2f} s  ratio {base / seg_only:.2f}")
        print(f"  topics.build_tfidf    {ours:6.2f} s  ratio {ratio:.2f} (target >= {TARGET_RATIO})")
        print(f"  tokens.tokenize, texts seen before (remembered tokens): {warm:6.2f} s  ratio {base / warm:.2f}")
        seg.clear_cache()
    print("ratio >= target in every setting:", ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
