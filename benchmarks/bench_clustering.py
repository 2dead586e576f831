"""Score analysis.topics.cluster_texts on labelled Chinese news against a plain baseline.

Data: ../shared/benchmarks/clustering/cnews_val_1000.txt (THUCNews subset, 10
classes; research-only, read in place, never copied). Two settings: whole
documents, and ~200-character chunks (sentences split on 。, joined until 200
characters) that inherit their document's label. For each, NMI, ARI and
V-measure are printed as mean ± std over 5 seeds for

- ours: ``topics.cluster_texts(texts, k=10, random_state=seed)`` (project
  segmentation, TF-IDF, LSA, scikit-learn ``KMeans`` with ``n_init=50`` on
  L2-normalised vectors);
- baseline: ``TfidfVectorizer(tokenizer=jieba.lcut)`` with default settings and
  ``KMeans(n_clusters=10, random_state=seed)`` with default settings,

side by side in the same run. Run: ``.venv/bin/python benchmarks/bench_clustering.py``.

``--scale N [N ...]`` times clustering at scale instead (issue 13): synthetic
paragraphs are drawn, with replacement, from the TF-IDF rows of the bundled
corpus's cleaned paragraphs (``data/processed/paragraphs.parquet``, or
``--paragraphs FILE``), each row's weights multiplied by uniform(0.5, 1.5)
noise and re-normalised (fixed seed), so no two rows are equal. For each N it
prints, each in a fresh process (so peak memory is the step's own): LSA
(truncated SVD), one scikit-learn ``KMeans(n_init=50)`` run (the small-corpus
method; skipped above ``--max-kmeans-n``), one ``MiniBatchKMeans`` run with the
project's settings, and ``topics.k_scores`` for k = 4..12 and 5 seeds (the
notebook's scan, mini-batch above ``topics.MINIBATCH_MIN_TEXTS``), with wall
time, peak RSS of the process (the synthetic matrix included) and the
KMeans / MiniBatchKMeans time ratio.
E.g. ``.venv/bin/python benchmarks/bench_clustering.py --scale 10000 100000 1000000``.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
import warnings

import jieba
import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, v_measure_score

from analysis import paths, topics

DATA = paths.PROJECT_ROOT.parent / "shared" / "benchmarks" / "clustering" / "cnews_val_1000.txt"
SEEDS = range(5)
K = 10
CHUNK_CHARS = 200
RE_SENTENCE_END = re.compile(r"(?<=。)")


def read_cnews() -> tuple[list[str], list[str]]:
    labels, texts = [], []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        label, text = line.split("\t", 1)
        labels.append(label)
        texts.append(text)
    return texts, labels


def chunk(texts: list[str], labels: list[str]) -> tuple[list[str], list[str]]:
    out, out_labels = [], []
    for text, label in zip(texts, labels, strict=True):
        buf = ""
        for sentence in RE_SENTENCE_END.split(text):
            buf += sentence
            if len(buf) >= CHUNK_CHARS:
                out.append(buf)
                out_labels.append(label)
                buf = ""
        if buf.strip():
            out.append(buf)
            out_labels.append(label)
    return out, out_labels


def scores(gold: list[str], runs: list[list[int]]) -> dict[str, tuple[float, float]]:
    out = {}
    for name, fn in (("NMI", normalized_mutual_info_score), ("ARI", adjusted_rand_score),
                     ("V-measure", v_measure_score)):
        vals = [fn(gold, r) for r in runs]
        out[name] = (float(np.mean(vals)), float(np.std(vals)))
    return out


def baseline(texts: list[str]) -> list[list[int]]:
    with warnings.catch_warnings():
        # TfidfVectorizer warns that token_pattern is unused once a tokenizer is given:
        # expected for this deliberately plain baseline.
        warnings.filterwarnings("ignore", message="The parameter 'token_pattern' will not be used")
        X = TfidfVectorizer(tokenizer=jieba.lcut).fit_transform(texts)
    return [KMeans(n_clusters=K, random_state=s).fit_predict(X).tolist() for s in SEEDS]


def ours(texts: list[str]) -> list[list[int]]:
    return [topics.cluster_texts(texts, k=K, random_state=s) for s in SEEDS]


SCALE_SEED = 0
SCALE_K = 8
SCAN_KS = range(4, 13)
SCAN_SEEDS = range(5)
STEPS = ("svd", "kmeans", "minibatch", "k_scores")


def synthetic_tfidf(n: int, paragraphs_file: str) -> topics.TfidfResult:
    """``n`` noisy copies of TF-IDF rows of real paragraphs (see the module docstring)."""
    import pandas as pd
    from sklearn.preprocessing import normalize

    paragraphs = pd.read_parquet(paragraphs_file).sort_values("para_id")
    base = topics.build_tfidf(paragraphs["text"].tolist(), row_ids=paragraphs["para_id"].tolist())
    rng = np.random.default_rng(SCALE_SEED)
    matrix = base.matrix[rng.integers(0, base.matrix.shape[0], n)].tocsr()
    matrix.data *= rng.uniform(0.5, 1.5, matrix.data.shape)
    return topics.TfidfResult(matrix=normalize(matrix).tocsr(), feature_names=base.feature_names,
                              row_ids=tuple(f"s{i:07d}" for i in range(n)), vectorizer=base.vectorizer,
                              params=base.params)


def run_step(step: str, n: int, paragraphs_file: str) -> dict:
    """One timed step in this process; returns wall seconds, peak RSS and a result summary."""
    from sklearn.cluster import MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    tfidf = synthetic_tfidf(n, paragraphs_file)
    embedding = topics.embed_tfidf(tfidf, random_state=0) if step in ("kmeans", "minibatch") else None
    start = time.perf_counter()
    summary: dict = {}
    if step == "svd":
        summary["dims"] = topics.embed_tfidf(tfidf, random_state=0).shape[1]
    elif step in ("kmeans", "minibatch"):
        if step == "kmeans":
            model = KMeans(n_clusters=SCALE_K, n_init=topics.DEFAULT_N_INIT, random_state=0)
        else:
            model = MiniBatchKMeans(n_clusters=SCALE_K, n_init=topics.MINIBATCH_N_INIT,
                                    batch_size=topics.MINIBATCH_BATCH_SIZE, random_state=0)
        with threadpool_limits(limits=1, user_api="openmp"):
            model.fit(embedding)
        summary["inertia"] = float(model.inertia_)
    else:
        scores = topics.k_scores(tfidf, SCAN_KS, SCAN_SEEDS)
        prov = scores.attrs["provenance"]
        summary.update(method=prov["clustering_method"], silhouette_n=prov["silhouette_n_texts"],
                       best_k=topics.choose_k(scores, min_stability=0.0),
                       max_stability=round(float(scores["stability_ari"].max()), 3))
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step": step, "n": n, "seconds": seconds, "peak_mb": peak_mb, **summary}


def scale(ns: list[int], paragraphs_file: str, max_kmeans_n: int, max_scan_n: int) -> int:
    print(f"synthetic paragraphs from {paragraphs_file}; k={SCALE_K} for single runs; "
          f"k_scores: k={SCAN_KS.start}..{SCAN_KS.stop - 1}, seeds {list(SCAN_SEEDS)}; "
          f"mini-batch above {topics.MINIBATCH_MIN_TEXTS} texts")
    print(f"{'N':>9} {'step':<10} {'wall s':>8} {'peak MB':>8}  result")
    for n in ns:
        times = {}
        for step in STEPS:
            if (step == "kmeans" and n > max_kmeans_n) or (step == "k_scores" and n > max_scan_n):
                print(f"{n:>9} {step:<10} {'skipped':>8}")
                continue
            proc = subprocess.run([sys.executable, __file__, "--step", step, str(n), "--paragraphs", paragraphs_file],
                                  capture_output=True, text=True, check=True)
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            times[step] = row["seconds"]
            extra = {k: v for k, v in row.items() if k not in ("step", "n", "seconds", "peak_mb")}
            print(f"{n:>9} {step:<10} {row['seconds']:>8.1f} {row['peak_mb']:>8.0f}  {extra}", flush=True)
        if "kmeans" in times and "minibatch" in times:
            print(f"{n:>9} KMeans(n_init={topics.DEFAULT_N_INIT}) / MiniBatchKMeans time: "
                  f"{times['kmeans'] / times['minibatch']:.1f}x")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", metavar="N", help="time clustering on N synthetic paragraphs")
    parser.add_argument("--paragraphs", default=str(paths.PROCESSED_DIR / "paragraphs.parquet"))
    parser.add_argument("--max-kmeans-n", type=int, default=200_000, help="skip KMeans(n_init=50) above this N")
    parser.add_argument("--max-scan-n", type=int, default=1_000_000, help="skip k_scores above this N")
    parser.add_argument("--step", nargs=2, metavar=("STEP", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step[0], int(args.step[1]), args.paragraphs)))
        return 0
    if args.scale:
        return scale(args.scale, args.paragraphs, args.max_kmeans_n, args.max_scan_n)
    if not DATA.is_file():
        print(f"benchmark data not found: {DATA} (the shared/ directory must sit beside the repository)")
        return 1
    texts, labels = read_cnews()
    settings = {"documents": (texts, labels), f"chunks (~{CHUNK_CHARS} chars)": chunk(texts, labels)}
    ok = True
    for name, (x, y) in settings.items():
        t0 = time.perf_counter()
        base = scores(y, baseline(x))
        t1 = time.perf_counter()
        mine = scores(y, ours(x))
        t2 = time.perf_counter()
        print(f"\n== {name}: {len(x)} texts, {len(set(y))} labels, k={K}, seeds={list(SEEDS)}")
        print(f"{'metric':<10} {'baseline (jieba.lcut + defaults)':>34} {'ours (cluster_texts)':>24} {'ratio':>7}")
        for metric in base:
            (bm, bs), (om, os_) = base[metric], mine[metric]
            print(f"{metric:<10} {bm:>26.3f} ± {bs:.3f} {om:>16.3f} ± {os_:.3f} {om / bm:>7.2f}")
            ok &= om > bm
        print(f"time: baseline {t1 - t0:.1f} s, ours {t2 - t1:.1f} s (5 seeds each, segmentation included)")
    print("\nours beats the baseline on every metric in both settings:", ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
