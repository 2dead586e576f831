"""Batched k-means: as good as scikit-learn's on the same inputs, deterministic, validated."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from analysis.kmeans import kmeans


def _blobs(seed: int, n_per: int = 40, n_centers: int = 6, dim: int = 8, spread: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(n_centers, dim))
    return np.vstack([rng.normal(loc=c, scale=spread, size=(n_per, dim)) for c in centers])


def test_inertia_is_as_low_as_scikit_learns():
    # Overlapping blobs have many local optima: the best of n_init restarts is a
    # random variable for both implementations. Over many (data, k, seed) cases,
    # ours must not be systematically worse.
    ratios = []
    for data_seed in range(4):
        X = _blobs(data_seed, spread=2.5)
        for k in (3, 6, 9):
            for seed in range(3):
                ours = kmeans(X, k, n_init=10, random_state=seed).inertia
                theirs = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X).inertia_
                ratios.append(ours / theirs)
    ratios = np.array(ratios)
    print(f"inertia ours / scikit-learn: mean {ratios.mean():.4f}, max {ratios.max():.4f}, "
          f"ours lower or equal in {np.mean(ratios <= 1 + 1e-9):.0%} of {len(ratios)} cases")
    assert ratios.mean() <= 1.005
    assert ratios.max() <= 1.05


def test_recovers_well_separated_clusters():
    X = _blobs(7, spread=0.3)
    truth = np.repeat(np.arange(6), 40)
    result = kmeans(X, 6, n_init=10, random_state=0)
    assert adjusted_rand_score(truth, result.labels) == 1.0
    assert result.labels.dtype == np.int64 and result.centers.shape == (6, 8)
    # the inertia reported is the one of the labels and centres returned
    assert result.inertia == pytest.approx(((X - result.centers[result.labels]) ** 2).sum())


def test_same_seed_same_result_other_seed_other_draws():
    X = _blobs(3, spread=2.5)
    a, b = kmeans(X, 7, n_init=5, random_state=11), kmeans(X, 7, n_init=5, random_state=11)
    assert np.array_equal(a.labels, b.labels) and a.inertia == b.inertia
    others = {kmeans(X, 7, n_init=1, random_state=s).inertia for s in range(6)}
    assert len(others) > 1  # the seed drives the k-means++ draws


def test_edge_cases_k_one_k_n_and_duplicate_points():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    one = kmeans(X, 1)
    assert set(one.labels.tolist()) == {0}
    assert one.centers[0] == pytest.approx(X.mean(axis=0))
    full = kmeans(X, 4)
    assert sorted(full.labels.tolist()) == [0, 1, 2, 3] and full.inertia == pytest.approx(0.0)
    # more clusters than distinct points: empty clusters are refilled, nothing crashes
    dup = np.array([[1.0, 1.0]] * 5 + [[2.0, 2.0]] * 5)
    result = kmeans(dup, 3, n_init=4)
    assert result.inertia == pytest.approx(0.0)
    assert len(set(result.labels.tolist())) >= 2


@pytest.mark.parametrize(
    ("X", "k", "kwargs", "message"),
    [
        (np.zeros((3,)), 1, {}, "2-D"),
        (np.zeros((0, 2)), 1, {}, "non-empty"),
        (np.array([[0.0, np.nan]]), 1, {}, "NaN"),
        (np.zeros((3, 2)), 0, {}, "`k`"),
        (np.zeros((3, 2)), 4, {}, "at most the number of rows"),
        (np.zeros((3, 2)), True, {}, "`k`"),
        (np.zeros((3, 2)), 2, {"n_init": 0}, "`n_init`"),
        (np.zeros((3, 2)), 2, {"max_iter": 1.5}, "`max_iter`"),
    ],
)
def test_bad_input_gets_a_clear_error(X, k, kwargs, message):
    with pytest.raises(ValueError, match=message):
        kmeans(X, k, **kwargs)
