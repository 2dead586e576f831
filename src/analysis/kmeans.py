"""k-means with all restarts computed at once, for the small dense embeddings of the study.

Choosing k (``topics.k_scores``) clusters the same few hundred paragraphs
for every k and seed, each with many restarts (``n_init``) so that the best
partition does not depend on the seed. scikit-learn's ``KMeans`` runs the
restarts one after another, and on a few hundred 10-dimensional points each
restart is mostly Python overhead (1.5 ms, 70 % of it in the k-means++ set-up):
a scan of 9 k x 5 seeds x 50 restarts took 3.4 s. Here the restarts are
arrays of one more dimension and run together, so the same scan takes a
fraction of that.

The algorithm is scikit-learn's: greedy k-means++ seeding (``2 + ln k``
candidate centres per step, the one that lowers the potential most is kept),
then Lloyd iterations until the labels stop changing or the centres move less
than ``tol`` times the mean variance of the features; an empty cluster takes
the point farthest from its centre; the restart with the lowest inertia wins
(the first on ties). Random draws differ from scikit-learn's, so labels for
a given ``random_state`` differ too; ``tests/test_kmeans.py`` checks that the
inertia reached is as low as scikit-learn's on the same inputs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

__all__ = ["KMeansResult", "kmeans"]

#: Iterations of Lloyd's algorithm per restart at most (scikit-learn's default).
MAX_ITER = 300
#: Relative tolerance on the centre shift (scikit-learn's default).
TOL = 1e-4
#: Restarts computed together at most; larger ``n_init`` runs in batches to bound memory.
_BATCH_ELEMENTS = 20_000_000


@functools.lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    """The process's thread pools, found once (finding them reads the loaded libraries: ~5 ms)."""
    return ThreadpoolController()


@dataclass(frozen=True)
class KMeansResult:
    """Best of ``n_init`` restarts.

    Attributes
    ----------
    labels : numpy.ndarray
        Cluster of each row, ``0 .. k-1`` (int64).
    centers : numpy.ndarray
        ``(k, n_features)`` centres.
    inertia : float
        Sum of squared distances of the rows to their centres.
    n_iter : int
        Lloyd iterations of the winning restart.
    """

    labels: np.ndarray
    centers: np.ndarray
    inertia: float
    n_iter: int


def _sq_distances(X: np.ndarray, x_sq: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared distances ``(rows, restarts, centres)``, never negative: one matrix product for all restarts."""
    b, k, n_features = centers.shape
    flat = centers.reshape(b * k, n_features)
    dist = X @ flat.T  # (rows, restarts * centres)
    dist *= -2.0
    dist += x_sq[:, None]
    dist += np.einsum("cd,cd->c", flat, flat)[None, :]
    np.maximum(dist, 0.0, out=dist)
    return dist.reshape(X.shape[0], b, k)


def _init_plusplus(X: np.ndarray, x_sq: np.ndarray, k: int, n_init: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ centres for ``n_init`` restarts: ``(n_init, k, n_features)``."""
    n = X.shape[0]
    n_trials = 2 + int(np.log(k))
    rows = np.arange(n_init)
    chosen = np.empty((n_init, k), dtype=np.int64)
    chosen[:, 0] = rng.integers(0, n, size=n_init)
    closest = np.ascontiguousarray(_sq_distances(X, x_sq, X[chosen[:, :1]])[:, :, 0].T)  # (n_init, n)
    for c in range(1, k):
        potential = closest.sum(axis=1)
        cumulative = np.cumsum(closest, axis=1)
        draws = rng.random((n_init, n_trials)) * potential[:, None]
        # One search for all restarts: shift each restart's cumulative sums past the previous ones.
        offsets = np.concatenate(([0.0], np.cumsum(potential)[:-1]))[:, None]
        flat = np.searchsorted((cumulative + offsets).ravel(), (draws + offsets).ravel()).reshape(n_init, n_trials)
        candidates = np.clip(flat - rows[:, None] * n, 0, n - 1)
        # (n_init, n_trials, n): distance of every row to each candidate
        cand_d = _sq_distances(X, x_sq, X[candidates]).transpose(1, 2, 0)
        trial_closest = np.minimum(closest[:, None, :], cand_d)
        best = trial_closest.sum(axis=2).argmin(axis=1)
        chosen[:, c] = candidates[rows, best]
        closest = trial_closest[rows, best]
    return X[chosen]


def _lloyd(
    X: np.ndarray, x_sq: np.ndarray, centers: np.ndarray, *, max_iter: int, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lloyd iterations for every restart; labels, centres, inertia and iterations per restart."""
    n_init, k, _ = centers.shape
    n = X.shape[0]
    rows = np.arange(n_init)[:, None]
    labels = np.full((n_init, n), -1, dtype=np.int64)
    active = np.ones(n_init, dtype=bool)
    n_iter = np.zeros(n_init, dtype=np.int64)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        d = _sq_distances(X, x_sq, centers[idx])  # (n, batch, k)
        new_labels = np.ascontiguousarray(d.argmin(axis=2).T)  # (batch, n)
        slots = (np.arange(idx.size)[:, None] * k + new_labels).ravel()  # (restart, cluster) of each row
        counts = np.bincount(slots, minlength=idx.size * k).reshape(idx.size, k).astype(np.float64)
        sums = np.empty((idx.size, k, X.shape[1]))
        for j in range(X.shape[1]):
            weights = np.broadcast_to(X[:, j], (idx.size, n)).ravel()
            sums[:, :, j] = np.bincount(slots, weights=weights, minlength=idx.size * k).reshape(idx.size, k)
        new_centers = centers[idx].copy()
        filled = counts > 0
        new_centers[filled] = sums[filled] / counts[filled][:, None]
        for b in np.flatnonzero(~filled.all(axis=1)):
            # Empty clusters take the points farthest from their own centres (as scikit-learn).
            own = d[np.arange(n), b, new_labels[b]]
            farthest = np.argsort(-own, kind="stable")
            for c, row in zip(np.flatnonzero(~filled[b]), farthest, strict=False):
                new_centers[b, c] = X[row]
        shift = ((new_centers - centers[idx]) ** 2).sum(axis=(1, 2))
        unchanged = (new_labels == labels[idx]).all(axis=1)
        centers[idx] = new_centers
        labels[idx] = new_labels
        n_iter[idx] += 1
        active[idx[unchanged | (shift <= tol)]] = False
    d = _sq_distances(X, x_sq, centers)
    labels = np.ascontiguousarray(d.argmin(axis=2).T)
    inertia = d[np.arange(n)[None, :], rows, labels].sum(axis=1)
    return labels, centers, inertia, n_iter


def kmeans(
    X: np.ndarray,
    k: int,
    *,
    n_init: int = 10,
    random_state: int = 0,
    max_iter: int = MAX_ITER,
    tol: float = TOL,
) -> KMeansResult:
    """Cluster the rows of a dense matrix into ``k`` groups; best of ``n_init`` k-means++ restarts.

    Parameters
    ----------
    X : array-like of shape (n_rows, n_features)
        Dense, finite values.
    k : int
        Number of clusters, ``1 <= k <= n_rows``.
    n_init : int, default=10
        Restarts; the one with the lowest inertia is returned.
    random_state : int, default=0
        Seed of the k-means++ draws; the same seed gives the same result.
    max_iter : int, default=300
    tol : float, default=1e-4
        Stop a restart when its centres move less than ``tol`` times the mean
        feature variance (squared distance summed over centres).

    Returns
    -------
    KMeansResult

    Raises
    ------
    ValueError
        If ``X`` is not a finite 2-D array or ``k``/``n_init``/``max_iter`` is out of range.

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 10.0], [10.0, 11.0]])
    >>> kmeans(X, 2, random_state=0).labels.tolist() in ([0, 0, 1, 1], [1, 1, 0, 0])
    True
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"`X` must be a non-empty 2-D array, got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise ValueError("`X` holds NaN or infinite values.")
    n = X.shape[0]
    for name, value, low in (("k", k, 1), ("n_init", n_init, 1), ("max_iter", max_iter, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"`{name}` must be an int >= {low}, got {value!r}.")
    if k > n:
        raise ValueError(f"`k` is {k}; it must be at most the number of rows ({n}).")
    rng = np.random.default_rng(random_state)
    x_sq = np.einsum("nd,nd->n", X, X)
    tol_abs = float(np.mean(np.var(X, axis=0))) * tol
    batch = max(1, min(n_init, _BATCH_ELEMENTS // max(1, n * max(k, X.shape[1]))))
    best: KMeansResult | None = None
    # One BLAS thread: the same sums in the same order, so the same labels on any machine.
    with _threadpools().limit(limits=1, user_api="blas"):
        for start in range(0, n_init, batch):
            size = min(batch, n_init - start)
            centers = _init_plusplus(X, x_sq, int(k), size, rng)
            labels, centers, inertia, n_iter = _lloyd(X, x_sq, centers, max_iter=int(max_iter), tol=tol_abs)
            i = int(np.argmin(inertia))
            if best is None or inertia[i] < best.inertia:
                best = KMeansResult(labels[i].astype(np.int64), centers[i].copy(), float(inertia[i]), int(n_iter[i]))
    assert best is not None
    return best
