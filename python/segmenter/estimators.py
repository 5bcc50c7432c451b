"""scikit-learn estimators on segmenter's engine: `KMeans`, `DBSCAN`,
`AgglomerativeClustering` (Ward) and `KPrototypes`.

Parameters live in `__init__` only, learned attributes end with `_`, `fit` returns `self`,
and conformance is checked with `sklearn.utils.estimator_checks.parametrize_with_checks`.
Arrays reach Rust without a copy when they are C-contiguous float32; F-contiguous float32 is
passed as it is and laid out in row order once in Rust; any other dtype is cast to float32
once. The GIL is released while Rust works.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _segmenter
from ._checks import positive_int as _positive_int

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn

    def _validate_data(est, X="no_validation", y="no_validation", reset=True, **kw):
        return est._validate_data(X, reset=reset, **kw)


_SEED_MAX = np.iinfo(np.int32).max


def _check(est, X, reset):
    return _validate_data(
        est, X, reset=reset, accept_sparse=False, dtype=[np.float32, np.float64], order=None
    )


def _f32(X) -> np.ndarray:
    """float32 without a copy when it already is, C- or F-contiguous."""
    if X.dtype == np.float32 and (X.flags.c_contiguous or X.flags.f_contiguous):
        return X
    return np.ascontiguousarray(X, dtype=np.float32)


def _seed(random_state) -> int:
    return int(check_random_state(random_state).randint(_SEED_MAX))


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means (Lloyd, or Hamerly's exact bounds) on the CPU or the GPU.

    Parameters follow scikit-learn's KMeans: `init` is "k-means++", "random", "first" (the
    first k rows) or a k × d array; `n_init="auto"` is 1 run (10 for "random"); `tol` is
    relative to the mean feature variance; `algorithm` is "auto", "lloyd", "elkan" or
    "hamerly" ("elkan" runs Hamerly's bounds: the same fit); `backend` is "auto", "cpu" or
    "gpu"; `n_threads` caps the CPU threads of one fit (default: every core). Results do not
    depend on `n_threads`.
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        random_state=None,
        algorithm="auto",
        backend="auto",
        n_threads=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.algorithm = algorithm
        self.backend = backend
        self.n_threads = n_threads

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"preserves_dtype": [np.float64, np.float32]}

    def fit(self, X, y=None, sample_weight=None):
        """Fits the centroids; returns self. `sample_weight` takes whole numbers: a row of
        weight w counts as w copies of it (the rows are repeated, so memory grows with the
        total weight)."""
        X = _check(self, X, reset=True)
        k = _positive_int("n_clusters", self.n_clusters)
        if X.shape[0] < k:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={k}.")
        x = _f32(X)
        counts = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if not np.array_equal(np.rint(sw), sw):
                raise ValueError(
                    "sample_weight must hold whole numbers for segmenter.KMeans (a weight w "
                    "counts the row w times)"
                )
            counts = sw.astype(np.int64)
            if (counts == 1).all():
                counts = None
        init_array = None
        if isinstance(self.init, str):
            init = self.init
        else:
            init_array = np.ascontiguousarray(self.init, dtype=np.float32)
            if init_array.shape != (k, X.shape[1]):
                raise ValueError(
                    f"The shape of the initial centers {init_array.shape} does not match "
                    f"the number of clusters {k} and features {X.shape[1]}."
                )
            init = "first"
        if self.n_init == "auto":
            n_init = 10 if init == "random" else 1
        else:
            n_init = _positive_int("n_init", self.n_init, minimum=0)
        if init_array is not None:
            n_init = 1
        r = _segmenter.kmeans_fit(
            x if counts is None else np.repeat(x, counts, axis=0),
            k,
            init,
            init_array,
            n_init,
            # 0 reaches the library, whose message names the rule.
            _positive_int("max_iter", self.max_iter, minimum=0),
            float(self.tol),
            _seed(self.random_state),
            str(self.algorithm),
            str(self.backend),
            None if self.n_threads is None else _positive_int("n_threads", self.n_threads, 0),
        )
        self.cluster_centers_ = r["centroids"].astype(X.dtype, copy=False)
        self._centers32 = r["centroids"]
        if counts is None:
            self.labels_ = r["labels"]
        else:
            self.labels_, _ = _segmenter.nearest_centroid(x, self._centers32)
        self.inertia_ = float(r["inertia"])
        self.n_iter_ = int(r["n_iter"])
        self.backend_ = r["backend"]
        self.iter_seconds_ = float(r["iter_seconds"])
        self.total_iterations_ = int(r["total_iterations"])
        return self

    def _x(self, X):
        check_is_fitted(self)
        return _f32(_check(self, X, reset=False))

    def predict(self, X):
        """Nearest centroid of every row (int32)."""
        labels, _ = _segmenter.nearest_centroid(self._x(X), self._centers32)
        return labels

    def fit_predict(self, X, y=None):
        """Fits and returns `labels_`."""
        return self.fit(X).labels_

    def transform(self, X):
        """Euclidean distance of every row to every centroid (n × k, X's float dtype)."""
        check_is_fitted(self)
        X = _check(self, X, reset=False)
        d = _segmenter.centroid_distances(_f32(X), self._centers32)
        return d.astype(X.dtype, copy=False)

    def fit_transform(self, X, y=None):
        """Fits and returns the distances of X to the centroids."""
        return self.fit(X).transform(X)

    def score(self, X, y=None):
        """Opposite of the inertia of X under the fitted centroids."""
        _, sq = _segmenter.nearest_centroid(self._x(X), self._centers32)
        return -float(sq.sum())


class DBSCAN(ClusterMixin, BaseEstimator):
    """Exact DBSCAN (the same core points and clusters as scikit-learn's; a border point joins
    its nearest core point's cluster). `min_samples` counts the point itself."""

    def __init__(self, eps=0.5, *, min_samples=5):
        self.eps = eps
        self.min_samples = min_samples

    def fit(self, X, y=None):
        """Finds the clusters; noise is labelled -1."""
        X = _check(self, X, reset=True)
        if not isinstance(self.eps, numbers.Real) or not self.eps > 0:
            raise ValueError(f"eps must be a positive number, got {self.eps!r}")
        labels, core = _segmenter.dbscan_fit(
            _f32(X), float(self.eps), _positive_int("min_samples", self.min_samples)
        )
        self.labels_ = labels
        self.core_sample_indices_ = np.flatnonzero(core)
        self.components_ = X[self.core_sample_indices_].copy()
        return self


class AgglomerativeClustering(ClusterMixin, BaseEstimator):
    """Exact hierarchical clustering with Ward's criterion (nearest-neighbour chain), cut at
    `n_clusters`. `children_` and `distances_` are the full tree, as scikit-learn's."""

    def __init__(self, n_clusters=2, *, linkage="ward"):
        self.n_clusters = n_clusters
        self.linkage = linkage

    def fit(self, X, y=None):
        """Builds the tree and cuts it."""
        X = _check(self, X, reset=True)
        if self.linkage != "ward":
            raise ValueError(
                f"linkage must be 'ward' (the one segmenter implements), got {self.linkage!r}"
            )
        k = _positive_int("n_clusters", self.n_clusters)
        if X.shape[0] < k:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={k}.")
        labels, children, distances = _segmenter.ward_fit(_f32(X), k)
        self.labels_ = labels
        self.children_ = children
        self.distances_ = distances
        self.n_clusters_ = k
        self.n_leaves_ = X.shape[0]
        self.n_connected_components_ = 1
        return self


class KPrototypes(ClusterMixin, BaseEstimator):
    """k-prototypes (Huang 1997): squared distance on numeric columns plus `gamma` per
    mismatched categorical column. `categorical` lists the categorical column indices (or
    names, for a DataFrame); `gamma=None` is half the mean standard deviation of the numeric
    columns. Numeric columns are used as given (scale them first)."""

    def __init__(
        self,
        n_clusters=8,
        *,
        categorical=None,
        gamma=None,
        max_iter=100,
        n_init=1,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.categorical = categorical
        self.gamma = gamma
        self.max_iter = max_iter
        self.n_init = n_init
        self.random_state = random_state

    def _split(self, X, fitting):
        columns = list(X.columns) if hasattr(X, "columns") else None
        values = np.asarray(X, dtype=object) if columns is not None else np.asarray(X)
        if values.ndim != 2:
            raise ValueError(f"Expected a 2-D table, got an array of shape {values.shape}")
        cat = [] if self.categorical is None else list(self.categorical)
        idx = [
            columns.index(c)
            if (columns is not None and not isinstance(c, numbers.Integral))
            else int(c)
            for c in cat
        ]
        if not idx:
            raise ValueError(
                "KPrototypes needs categorical=[column, ...]: without a categorical column "
                "use KMeans"
            )
        d = values.shape[1]
        if fitting:
            self.n_features_in_ = d
        elif d != self.n_features_in_:
            raise ValueError(
                f"X has {d} features, but KPrototypes is expecting {self.n_features_in_} features as input."
            )
        num = [j for j in range(d) if j not in idx]
        xn = np.ascontiguousarray(values[:, num].astype(np.float64), dtype=np.float32)
        if not np.isfinite(xn).all():
            raise ValueError("Input X contains NaN or infinity in a numeric column.")
        if fitting:
            self.categories_ = [np.unique(values[:, j].astype(str)) for j in idx]
        xc = np.empty((values.shape[0], len(idx)), dtype=np.uint32)
        for c, (j, levels) in enumerate(zip(idx, self.categories_)):
            col = values[:, j].astype(str)
            pos = np.searchsorted(levels, col)
            pos = np.minimum(pos, len(levels) - 1)
            known = levels[pos] == col
            # A level unseen in training mismatches every prototype.
            xc[:, c] = np.where(known, pos, len(levels))
        return xn, xc

    def fit(self, X, y=None):
        """Fits the prototypes."""
        k = _positive_int("n_clusters", self.n_clusters)
        xn, xc = self._split(X, fitting=True)
        if xn.shape[0] < k:
            raise ValueError(f"n_samples={xn.shape[0]} should be >= n_clusters={k}.")
        r = _segmenter.kprototypes_fit(
            xn,
            xc,
            k,
            None if self.gamma is None else float(self.gamma),
            _positive_int("max_iter", self.max_iter),
            _positive_int("n_init", self.n_init),
            _seed(self.random_state),
        )
        self.labels_ = r["labels"]
        self.cluster_centroids_numeric_ = r["numeric"]
        self.cluster_modes_ = r["modes"]
        self.gamma_ = float(r["gamma"])
        self.cost_ = float(r["cost"])
        self.n_iter_ = int(r["n_iter"])
        return self

    def predict(self, X):
        """Nearest prototype of every row."""
        check_is_fitted(self)
        xn, xc = self._split(X, fitting=False)
        labels, _ = _segmenter.kprototypes_predict(
            xn,
            xc,
            self.cluster_centroids_numeric_,
            np.ascontiguousarray(self.cluster_modes_, dtype=np.uint32),
            self.gamma_,
        )
        return labels
