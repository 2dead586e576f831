"""Benchmark: counting discovered formulations in one pass against one candidate at a time, same run.

Run: ``.venv/bin/python benchmarks/bench_discover.py [--sizes 250 500 1000 2000] [--new-only 8000]``.

Real reports each bring their own numbered formulations (the 25 reports of
data/raw and ../shared/corpus_extra give 30 distinct candidates, most in one
report), so a corpus of N reports has on the order of N candidates. The
synthetic corpora here are made of the bundled paragraphs (17 per report,
drawn with a fixed seed) plus one paragraph per report quoting a formulation
of its own (“三廊五岗” style, numeral + character twice), which the report
repeats and one other report cites. ``formulaic.discover_formulations`` counts
the occurrences of all candidates in one pass over the paragraphs; the
baseline is the counting it replaced (for every candidate, ``str.find``
through every paragraph), run on the same candidates. Prints both times,
their ratio, whether the tables agree, and the exponent of time against N.
"""

from __future__ import annotations

import argparse
import math
import random
import time

import pandas as pd

from analysis import corpus, formulaic, paths

NUMERALS = "一二三四五六七八九十"
PARAGRAPHS_PER_REPORT = 17


def _characters() -> list[str]:
    """Common CJK characters of the bundled reports (no numerals), in a fixed order."""
    text = "".join(corpus.paragraphs_frame(corpus.clean_corpus(paths.RAW_DIR))["text"])
    seen = sorted({c for c in text if "\u4e00" <= c <= "\u9fff" and c not in formulaic._NUMERAL_CHARS})
    return seen[:300]


def build(n_reports: int, seed: int = 0) -> pd.DataFrame:
    """Paragraphs of ``n_reports`` synthetic reports, each with a formulation of its own (see the module doc)."""
    rng = random.Random(seed)
    bundled = corpus.paragraphs_frame(corpus.clean_corpus(paths.RAW_DIR))["text"].tolist()
    chars = _characters()
    names: list[str] = []
    used: set[str] = set()
    while len(names) < n_reports:
        name = rng.choice(NUMERALS) + rng.choice(chars) + rng.choice(NUMERALS) + rng.choice(chars)
        if name not in used:
            used.add(name)
            names.append(name)
    rows = []
    for i, name in enumerate(names):
        doc_id = f"r{i:06d}"
        texts = rng.sample(bundled, PARAGRAPHS_PER_REPORT)
        cited = names[(i + 1) % n_reports]
        texts.append(f"我区创新推行“{name}”工作法,{name}覆盖全部社区,并学习兄弟单位{cited}经验。")
        rows.extend({"doc_id": doc_id, "para_id": f"{doc_id}:p{j:03d}", "text": t} for j, t in enumerate(texts))
    return pd.DataFrame(rows)


def _baseline(paras: pd.DataFrame, candidates: list[str], lexicon: formulaic.Formulations) -> list[tuple]:
    """The counting before the one-pass version: every candidate through every paragraph with ``str.find``."""
    rows = list(paras[["doc_id", "para_id", "text"]].itertuples(index=False, name=None))
    out = []
    for candidate in candidates:
        count, docs, contexts, first = 0, set(), [], ""
        for doc_id, para_id, text in rows:
            mask = None
            start = text.find(candidate)
            while start != -1:
                end = start + len(candidate)
                mask = mask if mask is not None else formulaic._ordinary_mask(text, lexicon.ordinary_words)
                if formulaic._has_free_numeral(text, start, end, mask):
                    count += 1
                    docs.add(doc_id)
                    first = first or para_id
                    if len(contexts) < formulaic.DEFAULT_MAX_CONTEXTS:
                        c = formulaic.DEFAULT_CONTEXT_CHARS
                        contexts.append(f"{text[max(0, start - c):start]}【{candidate}】{text[end:end + c]}")
                start = text.find(candidate, end)
        out.append((candidate, count, ";".join(sorted(docs)), contexts, first))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--new-only", type=int, nargs="*", default=[8000],
                        help="sizes run without the baseline (it grows as N squared)")
    args = parser.parse_args()
    lexicon = formulaic.load_formulations()
    print(f"{'reports':>8} {'paragraphs':>10} {'candidates':>10} {'one pass s':>10} {'baseline s':>10} {'ratio':>7}  same")
    timings = []
    for n in [*args.sizes, *args.new_only]:
        paras = build(n)
        t0 = time.perf_counter()
        found = formulaic.discover_formulations(paras, lexicon=lexicon, exclude_known=False)
        new_s = time.perf_counter() - t0
        timings.append((n, new_s))
        if n in args.sizes:
            t0 = time.perf_counter()
            # The baseline's counting only; the one-pass time above also proposes the candidates.
            expected = _baseline(paras, found["candidate"].tolist(), lexicon)
            old_s = time.perf_counter() - t0
            got = [(r.candidate, r.count, r.doc_ids, list(r.contexts), r.first_para_id) for r in found.itertuples()]
            same = "yes" if got == expected else "NO"
            print(f"{n:>8} {len(paras):>10} {len(found):>10} {new_s:>10.2f} {old_s:>10.2f} {old_s / new_s:>6.1f}x  {same}",
                  flush=True)
        else:
            print(f"{n:>8} {len(paras):>10} {len(found):>10} {new_s:>10.2f} {'-':>10} {'-':>7}  -", flush=True)
    (n0, t0_), (n1, t1_) = timings[0], timings[-1]
    print(f"# one pass: time ~ N^{math.log(t1_ / t0_) / math.log(n1 / n0):.2f} from {n0} to {n1} reports "
          "(the baseline's counting alone grows as candidates x paragraphs, N^2)")


if __name__ == "__main__":
    main()
