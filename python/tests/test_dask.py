"""segmenter.dask.KMeans on a real local Dask cluster (two worker processes on 127.0.0.1):
agreement with the single-machine fit, determinism, chunking independence, k-means|| on
planted blobs, and predict/transform against the in-memory estimator."""

import dask.array as da
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest

import segmenter
from segmenter import _segmenter
from segmenter.dask import KMeans as DaskKMeans


def _blobs(n, d, k, seed, spread=1.0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, size=(k, d))
    y = rng.integers(k, size=n)
    x = centres[y] + rng.normal(scale=spread, size=(n, d))
    return x.astype(np.float32), y


@pytest.fixture(scope="module")
def data():
    # Overlapping blobs, so Lloyd needs several iterations to settle.
    x, _ = _blobs(40_000, 6, 5, seed=1, spread=8.0)
    init = x[:5].copy()
    return x, init


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def test_partial_sums_kernel_matches_numpy():
    x, _ = _blobs(10_000, 3, 4, seed=2)
    c = x[:4].copy()
    sums, counts, inertia = _segmenter.partial_sums(x, c)
    d2 = ((x[:, None, :].astype(np.float64) - c[None, :, :].astype(np.float64)) ** 2).sum(2)
    lab = d2.argmin(axis=1)
    assert counts.tolist() == np.bincount(lab, minlength=4).tolist()
    want = np.stack([x[lab == j].astype(np.float64).sum(axis=0) for j in range(4)])
    np.testing.assert_allclose(sums, want, rtol=1e-12)
    assert inertia == pytest.approx(d2.min(axis=1).sum(), rel=1e-12)
    with pytest.raises(ValueError, match="X has 3 features, but the centres have 2"):
        _segmenter.partial_sums(x, c[:, :2].copy())


def test_same_start_same_fit_as_single_machine(client, data):
    x, init = data
    local = segmenter.KMeans(n_clusters=5, init=init, max_iter=100, tol=1e-6).fit(x)
    dx = da.from_array(x, chunks=(7_000, -1))
    a = DaskKMeans(n_clusters=5, init=init, max_iter=100, tol=1e-6).fit(dx)
    assert local.n_iter_ > 3, local.n_iter_
    assert _rel(a.cluster_centers_, local.cluster_centers_) < 1e-6
    assert a.inertia_ == pytest.approx(local.inertia_, rel=1e-6)
    assert a.n_iter_ == local.n_iter_
    assert a.n_features_in_ == 6
    labels = a.labels_.compute()
    assert isinstance(a.labels_, da.Array)
    # Labels are identical except at verified near-ties (both centres equally near).
    diff = np.flatnonzero(labels != local.labels_)
    d2 = ((x[diff, None, :].astype(np.float64) - local.cluster_centers_[None]) ** 2).sum(axis=2)
    rows = np.arange(len(diff))
    gap = np.abs(d2[rows, labels[diff]] - d2[rows, local.labels_[diff]])
    assert len(diff) <= 5 and np.all(gap <= 1e-5 * d2.min(axis=1)), (diff, gap)
    # The same partitioning gives bit-identical results run to run.
    b = DaskKMeans(n_clusters=5, init=init, max_iter=100, tol=1e-6).fit(dx)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_


def test_chunkings_agree(client, data):
    x, init = data
    fits = [
        DaskKMeans(n_clusters=5, init=init, max_iter=100, tol=1e-6).fit(
            da.from_array(x, chunks=(rows, -1))
        )
        for rows in (40_000, 9_999, 3_001)
    ]
    for f in fits[1:]:
        assert _rel(f.cluster_centers_, fits[0].cluster_centers_) < 1e-6
        assert f.inertia_ == pytest.approx(fits[0].inertia_, rel=1e-6)


def test_kmeans_parallel_finds_planted_blobs(client):
    from sklearn.metrics import adjusted_rand_score

    x, y = _blobs(60_000, 8, 6, seed=5)
    dx = da.from_array(x, chunks=(10_000, -1))
    a = DaskKMeans(n_clusters=6, random_state=0).fit(dx)
    assert adjusted_rand_score(y, a.labels_.compute()) >= 0.99
    b = DaskKMeans(n_clusters=6, random_state=0).fit(dx)
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)


def test_predict_and_transform_equal_in_memory(client, data):
    x, init = data
    local = segmenter.KMeans(n_clusters=5, init=init, max_iter=100, tol=1e-6).fit(x)
    d = DaskKMeans(n_clusters=5, init=init, max_iter=100, tol=1e-6)
    d.fit(da.from_array(x, chunks=(8_000, -1)))
    new, _ = _blobs(5_000, 6, 5, seed=9, spread=8.0)
    dnew = da.from_array(new, chunks=(1_500, -1))
    # Scored with the same centroids, the labels are identical.
    local.cluster_centers_ = d.cluster_centers_
    local._centers32 = d._centers32
    assert np.array_equal(d.predict(dnew).compute(), local.predict(new))
    assert np.array_equal(d.transform(dnew).compute(), local.transform(new))
    with pytest.raises(ValueError, match="X has 2 features, but KMeans is expecting 6"):
        d.predict(da.from_array(new[:, :2], chunks=(1_500, -1)))


def test_dataframe_input_and_empty_cluster(client):
    x, _ = _blobs(6_000, 3, 3, seed=4)
    ddf = dd.from_pandas(pd.DataFrame(x, columns=["a", "b", "c"]), npartitions=4)
    # A centre far from every row starts empty: it is re-seeded with the farthest row, as
    # the single-machine fit does.
    init = np.vstack([x[:2], [[1e4, 1e4, 1e4]]]).astype(np.float32)
    local = segmenter.KMeans(n_clusters=3, init=init, max_iter=50, tol=1e-6).fit(x)
    d = DaskKMeans(n_clusters=3, init=init, max_iter=50, tol=1e-6).fit(ddf)
    assert _rel(d.cluster_centers_, local.cluster_centers_) < 1e-6
    assert d.inertia_ == pytest.approx(local.inertia_, rel=1e-6)
    assert np.bincount(d.labels_.compute(), minlength=3).min() > 0


def test_bad_parameters(client):
    dx = da.from_array(np.zeros((4, 2), np.float32), chunks=(2, -1))
    with pytest.raises(ValueError, match="n_samples=4 should be >= n_clusters=5"):
        DaskKMeans(n_clusters=5).fit(dx)
    with pytest.raises(ValueError, match="init must be 'k-means\\|\\|' or an array"):
        DaskKMeans(n_clusters=2, init="random").fit(dx)
    with pytest.raises(ValueError, match="fewer than n_clusters=2"):
        DaskKMeans(n_clusters=2, random_state=0).fit(dx)


def test_worker_killed_mid_fit_gives_the_same_centroids():
    import os
    import signal
    import threading

    # Its own cluster: the kill must not disturb the other tests' workers.
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )  # fmt: skip
    with cluster, distributed.Client(cluster) as client:
        x, _ = _blobs(40_000, 6, 5, seed=1, spread=8.0)
        init = x[:5].copy()
        # From a recomputable source (the graph holds the array), never client.scatter.
        dx = da.from_array(x, chunks=(5_000, -1))
        params = {"n_clusters": 5, "init": init, "max_iter": 40, "tol": 0}
        quiet = DaskKMeans(**params).fit(dx)
        assert quiet.n_iter_ > 3, quiet.n_iter_
        pids = sorted(client.run(os.getpid).values())
        assert len(pids) == 2
        killed = []

        class KillingKMeans(DaskKMeans):
            def _reduce(self, centroids):
                # On the third pass, a worker is killed while its tasks are running.
                if len(killed) == 0 and getattr(self, "_passes", 0) == 2:
                    timer = threading.Timer(0.01, lambda: os.kill(pids[0], signal.SIGKILL))
                    timer.start()
                    killed.append(timer)
                self._passes = getattr(self, "_passes", 0) + 1
                return super()._reduce(centroids)

        disturbed = KillingKMeans(**params).fit(dx)
        killed[0].join()
        # The killed worker really died (its nanny starts a fresh one).
        assert pids[0] not in client.run(os.getpid).values()
        assert np.array_equal(disturbed.cluster_centers_, quiet.cluster_centers_)
        assert disturbed.inertia_ == quiet.inertia_
        assert disturbed.n_iter_ == quiet.n_iter_
