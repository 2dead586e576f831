"""Batched k-means (analysis.kmeans) against scikit-learn's KMeans on the same inputs, in the same run.

Usage::

    .venv/bin/python benchmarks/bench_kmeans.py [--processed-dir data/processed]

Inputs:
- the study's own case: the LSA embedding of the bundled paragraphs
  (``data/processed/paragraphs.parquet``, written by ``make report``), the k scan
  of notebook 02 (k = 4..12, seeds 0..4, n_init = 50);
- larger synthetic data: 3,000 points in 20 dimensions, 10 overlapping
  Gaussian blobs, k = 5, 10, 15, seeds 0..2, n_init = 50.

Printed per input: total time of each side and the ratio (scikit-learn / ours:
> 1 means ours is faster), and the inertia ratio (ours / scikit-learn, mean and
worst case: <= 1 means ours found an equal or better optimum).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans

from analysis import paths, topics
from analysis.kmeans import kmeans


def _compare(name: str, X: np.ndarray, ks, seeds, n_init: int = 50) -> None:
    t_ours = t_theirs = 0.0
    ratios = []
    for k in ks:
        for seed in seeds:
            t0 = time.perf_counter()
            ours = kmeans(X, k, n_init=n_init, random_state=seed)
            t1 = time.perf_counter()
            theirs = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X)
            t2 = time.perf_counter()
            t_ours += t1 - t0
            t_theirs += t2 - t1
            ratios.append(ours.inertia / theirs.inertia_)
    r = np.array(ratios)
    print(f"{name}: {X.shape[0]} x {X.shape[1]}, {len(ratios)} fits of n_init={n_init}")
    print(f"  time   scikit-learn {t_theirs:6.2f} s   ours {t_ours:6.2f} s   speed-up {t_theirs / t_ours:5.2f}x")
    print(f"  inertia ours / scikit-learn: mean {r.mean():.4f}, worst {r.max():.4f}, "
          f"ours <= theirs in {np.mean(r <= 1 + 1e-9):.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processed-dir", type=Path, default=paths.PROCESSED_DIR)
    args = parser.parse_args(argv)
    table = args.processed_dir / "paragraphs.parquet"
    if table.is_file():
        import pandas as pd

        texts = pd.read_parquet(table)["text"].tolist()
        embedding = topics.embed_tfidf(topics.build_tfidf(texts, min_df=2, max_df=0.5))
        _compare("paragraphs (notebook 02's k scan)", embedding, range(4, 13), range(5))
    else:
        print(f"{table} not found: run `make report` first for the study's own case")
    rng = np.random.default_rng(1)
    blobs = np.vstack([rng.normal(loc=rng.normal(scale=3, size=20), scale=2.0, size=(300, 20)) for _ in range(10)])
    _compare("synthetic blobs", blobs, (5, 10, 15), range(3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
