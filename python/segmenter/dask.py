"""k-means on a Dask cluster: `segmenter.dask.KMeans` fits a `dask.array` or a
`dask.dataframe` where its partitions live.

Each Lloyd iteration is one task per partition running the Rust kernel
(`_segmenter.partial_sums`, GIL released, float32 partitions read without a copy) that returns
the partition's per-cluster f64 sums, counts and inertia; the client adds them in partition
order, so a given partitioning gives the same centroids run to run. Only the k × d centroids go
out and k × (d + 1) numbers come back per partition. The update, the convergence test (`tol`
relative to the mean feature variance) and the re-seeding of an empty cluster (the point
farthest from its centre, ties to the lowest row) are those of `segmenter.KMeans`, so from the
same initial centres both fits agree.

Initialisation is k-means|| (Bahmani et al. 2012): a first row drawn at random, then a few
rounds in which every partition keeps each row with probability l·d²/φ (l = 2k), then
k-means++ on the candidates weighted by the rows nearest to each, refined by weighted Lloyd on
the client. Every draw is seeded by `random_state`, the round and the partition index.
"""

from __future__ import annotations

import numbers

import dask
import dask.array as da
import numpy as np

from . import _segmenter
from ._checks import positive_int as _positive_int

# Oversampling rounds of k-means|| (Bahmani et al. find 5 enough for l = 2k).
_ROUNDS = 5
_SEED_MAX = np.iinfo(np.int32).max


def _seed(random_state) -> int:
    """A seed from `random_state` as scikit-learn reads it (None, an int or a RandomState),
    without importing scikit-learn."""
    if random_state is None:
        return int(np.random.default_rng().integers(_SEED_MAX))
    if isinstance(random_state, numbers.Integral):
        return int(np.random.RandomState(int(random_state)).randint(_SEED_MAX))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(_SEED_MAX))
    raise ValueError(
        f"random_state must be None, an integer or a RandomState, got {random_state!r}"
    )


def _block(b) -> np.ndarray:
    """A partition as C-contiguous float32 (no copy when it already is)."""
    return np.ascontiguousarray(b, dtype=np.float32)


def _moments(b):
    b = np.asarray(b, dtype=np.float64)
    return b.sum(axis=0), (b * b).sum(axis=0), b.shape[0]


def _partial(b, centroids):
    return _segmenter.partial_sums(_block(b), centroids)


def _far_rows(b, centroids, offset, m):
    """The m rows of a partition farthest from their nearest centre: (sq, global row, label,
    row values), for re-seeding empty clusters."""
    x = _block(b)
    labels, sq = _segmenter.nearest_centroid(x, centroids)
    m = min(m, len(sq))
    if m == 0:
        return np.empty(0), np.empty(0, np.int64), np.empty(0, np.int32), x[:0]
    # Farthest first, ties to the lowest row: the same order as the single-machine fit.
    order = np.lexsort((np.arange(len(sq)), -sq))[:m]
    return sq[order], order.astype(np.int64) + offset, labels[order], x[order]


def _oversample(b, candidates, phi, ell, seed, rnd, part):
    """One k-means|| round on a partition: its cost under `candidates` and the rows it keeps."""
    x = _block(b)
    _, sq = _segmenter.nearest_centroid(x, candidates)
    cost = float(sq.sum())
    if phi <= 0 or len(sq) == 0:
        return cost, x[:0]
    rng = np.random.default_rng([seed, rnd, part])
    keep = rng.random(len(sq)) < np.minimum(1.0, ell * sq / phi)
    return cost, x[keep]


def _nearest_labels(b, centroids):
    return _segmenter.nearest_centroid(_block(b), centroids)[0]


def _distances(b, centroids, dtype):
    return _segmenter.centroid_distances(_block(b), centroids).astype(dtype, copy=False)


def _as_dask_array(X):
    """A row-partitioned dask array (one chunk across the columns) with known chunk sizes."""
    if hasattr(X, "to_dask_array"):
        X = X.to_dask_array(lengths=True)
    elif not isinstance(X, da.Array):
        X = da.from_array(np.asarray(X), chunks=(max(1, len(X)), -1))
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D array, got {X.ndim} dimensions")
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"Expected a numeric array, got dtype {X.dtype}")
    return X.rechunk({1: -1})


def _weighted_lloyd(points, weights, k, rng, iters=30):
    """k-means++ on weighted candidates, then weighted Lloyd on them (the client's share of
    k-means||)."""
    p = points.astype(np.float64)
    w = weights.astype(np.float64)
    first = rng.choice(len(p), p=w / w.sum())
    centres = [p[first]]
    d2 = ((p - p[first]) ** 2).sum(axis=1)
    for _ in range(1, k):
        prob = w * d2
        total = prob.sum()
        nxt = rng.choice(len(p), p=prob / total) if total > 0 else int(np.argmax(w))
        centres.append(p[nxt])
        d2 = np.minimum(d2, ((p - p[nxt]) ** 2).sum(axis=1))
    c = np.array(centres)
    for _ in range(iters):
        lab = ((p[:, None, :] - c[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        new = c.copy()
        for j in range(k):
            mask = lab == j
            if w[mask].sum() > 0:
                new[j] = (p[mask] * w[mask, None]).sum(axis=0) / w[mask].sum()
        if np.allclose(new, c):
            break
        c = new
    return np.ascontiguousarray(c, dtype=np.float32)


class KMeans:
    """k-means on a Dask array or DataFrame, with the parameters and attributes of
    `segmenter.KMeans`: `init` is "k-means||" or a k × d array; `n_init="auto"` is one run;
    `tol` is relative to the mean feature variance. After `fit`: `cluster_centers_`,
    `labels_` (a lazy dask array), `inertia_`, `n_iter_` and `n_features_in_`."""

    def __init__(
        self, n_clusters=8, *, init="k-means||", n_init="auto", max_iter=300, tol=1e-4,
        random_state=None,
    ):  # fmt: skip
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def get_params(self, deep=True):
        """The constructor's parameters, as scikit-learn's estimators report them."""
        names = ("n_clusters", "init", "n_init", "max_iter", "tol", "random_state")
        return {n: getattr(self, n) for n in names}

    def fit(self, X, y=None):
        """Fits the centroids on the partitions of X; returns self."""
        k = _positive_int("n_clusters", self.n_clusters)
        max_iter = _positive_int("max_iter", self.max_iter)
        if not isinstance(self.tol, numbers.Real) or self.tol < 0:
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}")
        X = _as_dask_array(X).persist()
        n, d = X.shape
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        blocks = list(X.to_delayed().ravel())
        offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(np.int64)
        self._blocks, self._offsets, self._n = blocks, offsets, n

        s, s2, cnt = (0.0, 0.0, 0)
        for ps, ps2, pn in dask.compute(*[dask.delayed(_moments)(b) for b in blocks]):
            s, s2, cnt = s + ps, s2 + ps2, cnt + pn
        var = float(np.maximum(s2 / n - (s / n) ** 2, 0.0).mean())
        tol = float(self.tol) * var if self.tol > 0 else 0.0

        if isinstance(self.init, str):
            if self.init != "k-means||":
                raise ValueError(
                    f"init must be 'k-means||' or an array of initial centres, got {self.init!r}"
                )
            runs = 1 if self.n_init == "auto" else _positive_int("n_init", self.n_init)
            rng = np.random.default_rng(_seed(self.random_state))
            starts = [lambda r=rng: self._kmeans_parallel(X, k, r) for _ in range(runs)]
        else:
            init = np.ascontiguousarray(self.init, dtype=np.float32)
            if init.shape != (k, d):
                raise ValueError(
                    f"The shape of the initial centers {init.shape} does not match "
                    f"the number of clusters {k} and features {d}."
                )
            starts = [lambda: init]
        best = None
        for start in starts:
            run = self._lloyd(start(), k, max_iter, tol)
            if best is None or run[1] < best[1]:
                best = run
        centres, inertia, n_iter = best
        self._centers32 = centres
        self.cluster_centers_ = centres.astype(
            X.dtype if X.dtype in (np.float32, np.float64) else np.float32, copy=False
        )
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        self.n_features_in_ = d
        self.labels_ = self._labels(X)
        del self._blocks, self._offsets
        return self

    def _reduce(self, centroids):
        """One pass: the partitions' sums, counts and inertia, added in partition order."""
        c = dask.delayed(centroids)
        parts = dask.compute(*[dask.delayed(_partial)(b, c) for b in self._blocks])
        sums = np.zeros_like(parts[0][0])
        counts = np.zeros_like(parts[0][1])
        inertia = 0.0
        for ps, pc, pi in parts:
            sums += ps
            counts += pc
            inertia += pi
        return sums, counts, inertia

    def _reseed(self, centroids, sums, counts):
        """Moves the farthest rows into empty clusters, as `segmenter.KMeans` does."""
        empty = np.flatnonzero(counts == 0)
        k = len(counts)
        c = dask.delayed(centroids)
        parts = dask.compute(
            *[dask.delayed(_far_rows)(b, c, int(o), k) for b, o in zip(self._blocks, self._offsets)]
        )
        sq = np.concatenate([p[0] for p in parts])
        rows = np.concatenate([p[1] for p in parts])
        labels = np.concatenate([p[2] for p in parts])
        values = np.concatenate([p[3] for p in parts])
        donors = iter(np.lexsort((rows, -sq)))
        for e in empty:
            p = next((p for p in donors if counts[labels[p]] > 1), None)
            if p is None:
                break
            src = labels[p]
            sums[src] -= values[p].astype(np.float64)
            sums[e] = values[p].astype(np.float64)
            counts[src] -= 1
            counts[e] = 1

    def _lloyd(self, centroids, k, max_iter, tol):
        n_iter = 0
        for _ in range(max_iter):
            sums, counts, _ = self._reduce(centroids)
            if (counts == 0).any():
                self._reseed(centroids, sums, counts)
            new = centroids.copy()
            full = counts > 0
            new[full] = (sums[full] / counts[full, None]).astype(np.float32)
            shift = float(((new.astype(np.float64) - centroids.astype(np.float64)) ** 2).sum())
            centroids = new
            n_iter += 1
            if shift <= tol:
                break
        _, _, inertia = self._reduce(centroids)
        return centroids, float(inertia), n_iter

    def _kmeans_parallel(self, X, k, rng):
        seed = int(rng.integers(_SEED_MAX))
        first = int(rng.integers(self._n))
        candidates = np.ascontiguousarray(X[first : first + 1].compute(), dtype=np.float32)
        ell = 2.0 * k
        phi = None
        for rnd in range(_ROUNDS + 1):
            c = dask.delayed(candidates)
            parts = dask.compute(
                *[
                    dask.delayed(_oversample)(b, c, -1.0 if phi is None else phi, ell, seed, rnd, i)
                    for i, b in enumerate(self._blocks)
                ]
            )
            phi = sum(p[0] for p in parts)
            if rnd == 0:
                continue  # The first pass only measures the cost of the first centre.
            kept = [p[1] for p in parts if len(p[1])]
            if kept:
                candidates = np.unique(np.concatenate([candidates, *kept]), axis=0)
        if len(candidates) < k:
            raise ValueError(
                f"k-means|| found {len(candidates)} distinct candidate centres, fewer than "
                f"n_clusters={k}: the data has too few distinct rows"
            )
        _, weights, _ = self._reduce(np.ascontiguousarray(candidates, dtype=np.float32))
        return _weighted_lloyd(candidates, weights, k, rng)

    def _labels(self, X):
        return X.map_blocks(
            _nearest_labels,
            self._centers32,
            drop_axis=1,
            dtype=np.int32,
            meta=np.array([], np.int32),
        )

    def _check_x(self, X):
        if not hasattr(self, "_centers32"):
            raise ValueError("This KMeans instance is not fitted yet: call fit first.")
        X = _as_dask_array(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but KMeans is expecting "
                f"{self.n_features_in_} features as input."
            )
        return X

    def predict(self, X):
        """Nearest centroid of every row (int32), a lazy dask array mapped over partitions."""
        return self._labels(self._check_x(X))

    def transform(self, X):
        """Euclidean distance of every row to every centroid (n × k, X's float dtype; float64
        for other dtypes), lazily."""
        X = self._check_x(X)
        k = self._centers32.shape[0]
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        return X.map_blocks(
            _distances, self._centers32, dtype, chunks=(X.chunks[0], (k,)), dtype=dtype,
            meta=np.empty((0, 0), dtype),
        )  # fmt: skip

    def fit_predict(self, X, y=None):
        """Fits and returns `labels_`."""
        return self.fit(X).labels_


# The whole workflow on a Dask DataFrame (after KMeans, which it fits with).
from ._dask_segment import DaskSegmentation, segment

__all__ = ["DaskSegmentation", "KMeans", "segment"]
