"""The scikit-learn estimators: scikit-learn's own checks, agreement with scikit-learn,
pipelines, pickling, zero-copy input and the GIL released while Rust works."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn import cluster as skc
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import segmenter


def _expected_failures(estimator):
    # The two checks scikit-learn's own KMeans is expected to fail, for the same reason: a
    # shuffled, weighted table starts k-means++ elsewhere than the repeated one.
    if isinstance(estimator, segmenter.KMeans):
        why = "sample_weight is not equivalent to removing/repeating samples."
        return {
            "check_sample_weight_equivalence_on_dense_data": why,
            "check_sample_weight_equivalence_on_sparse_data": why,
        }
    return {}


@parametrize_with_checks(
    [
        segmenter.KMeans(n_clusters=3),
        segmenter.DBSCAN(),
        segmenter.AgglomerativeClustering(),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def blobs():
    x, y = make_blobs(n_samples=3000, n_features=5, centers=4, random_state=3)
    return x.astype(np.float32), y


def test_kmeans_runs_every_check_sklearns_kmeans_runs():
    from sklearn.utils.estimator_checks import check_estimator

    def names(est):
        out = check_estimator(est, on_fail=None)
        return {r["check_name"]: r["status"] for r in out}

    theirs, ours = names(skc.KMeans(n_clusters=3)), names(segmenter.KMeans(n_clusters=3))
    passed_by_theirs = {c for c, s in theirs.items() if s == "passed"}
    assert len(passed_by_theirs) > 40
    assert {c for c in passed_by_theirs if ours.get(c) != "passed"} == set()


def test_integer_sample_weights_count_rows(blobs):
    x, _ = blobs
    w = np.arange(len(x)) % 3
    weighted = segmenter.KMeans(4, init=x[:4], n_init=1, tol=0, max_iter=30).fit(x, sample_weight=w)
    repeated = segmenter.KMeans(4, init=x[:4], n_init=1, tol=0, max_iter=30).fit(
        np.repeat(x, w, axis=0)
    )
    np.testing.assert_array_equal(weighted.cluster_centers_, repeated.cluster_centers_)
    assert weighted.inertia_ == repeated.inertia_ and weighted.labels_.shape == (len(x),)
    with pytest.raises(ValueError, match="whole numbers"):
        segmenter.KMeans(4).fit(x, sample_weight=np.full(len(x), 0.5))


def test_kmeans_matches_sklearn_from_the_same_start(blobs):
    x, _ = blobs
    ours = segmenter.KMeans(4, init=x[:4], n_init=1, tol=0, max_iter=50).fit(x)
    theirs = skc.KMeans(4, init=x[:4], n_init=1, tol=0, max_iter=50, algorithm="lloyd").fit(x)
    assert abs(ours.inertia_ - theirs.inertia_) <= 1e-6 * theirs.inertia_
    assert adjusted_rand_score(ours.labels_, theirs.labels_) == 1.0
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-4, atol=1e-4)
    assert ours.labels_.dtype == np.int32 and ours.cluster_centers_.dtype == np.float32
    assert ours.n_features_in_ == 5
    np.testing.assert_array_equal(ours.predict(x), ours.labels_)
    assert ours.transform(x).shape == (3000, 4)
    np.testing.assert_allclose(ours.score(x), -ours.inertia_, rtol=1e-9)
    np.testing.assert_allclose(
        ours.transform(x.astype(np.float64)).min(axis=1) ** 2,
        ((x - ours.cluster_centers_[ours.labels_]) ** 2).sum(axis=1),
        rtol=1e-4,
        atol=1e-4,
    )


def test_other_estimators_agree_with_sklearn(blobs):
    x, _ = blobs
    xs = StandardScaler().fit_transform(x[:1000]).astype(np.float32)
    ours = segmenter.DBSCAN(eps=0.3, min_samples=5).fit(xs)
    theirs = skc.DBSCAN(eps=0.3, min_samples=5).fit(xs)
    np.testing.assert_array_equal(ours.core_sample_indices_, theirs.core_sample_indices_)
    assert (ours.labels_ == -1).sum() == (theirs.labels_ == -1).sum()
    assert adjusted_rand_score(ours.labels_, theirs.labels_) > 0.99
    w = segmenter.AgglomerativeClustering(n_clusters=4).fit(xs)
    sw = skc.AgglomerativeClustering(n_clusters=4, linkage="ward").fit(xs)
    assert adjusted_rand_score(w.labels_, sw.labels_) == 1.0
    assert w.children_.shape == (999, 2)


def test_pipeline_grid_search_and_pickling(blobs):
    x, y = blobs
    pipe = Pipeline([("scale", StandardScaler()), ("km", segmenter.KMeans(random_state=0))])
    search = GridSearchCV(pipe, {"km__n_clusters": [2, 4, 6]}, cv=3).fit(x)
    assert search.best_params_ == {"km__n_clusters": 6}  # score is -inertia: more is better
    fitted = segmenter.KMeans(4, random_state=0).fit(x)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(x), fitted.predict(x))
    assert adjusted_rand_score(fitted.labels_, y) == 1.0


def test_float32_contiguous_input_is_not_copied(blobs, monkeypatch):
    x, _ = blobs
    seen = []
    real = segmenter._segmenter.kmeans_fit

    def spy(arr, *args):
        seen.append(arr)
        return real(arr, *args)

    monkeypatch.setattr(segmenter._segmenter, "kmeans_fit", spy)
    fortran = np.asfortranarray(x)
    for a in (x, fortran):
        segmenter.KMeans(4, random_state=0).fit(a)
    assert np.shares_memory(seen[0], x) and np.shares_memory(seen[1], fortran)
    segmenter.KMeans(4, random_state=0).fit(x.astype(np.float64))
    assert seen[2].dtype == np.float32  # cast once
    # Same fit whatever the layout.
    a = segmenter.KMeans(4, random_state=0).fit(x)
    b = segmenter.KMeans(4, random_state=0).fit(fortran)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_kprototypes_on_mixed_columns():
    rng = np.random.default_rng(1)
    n = 600
    group = rng.integers(0, 3, n)
    num = rng.normal(size=(n, 2)) + group[:, None] * 4.0
    cat = np.array(["red", "green", "blue"], dtype=object)[group]
    x = np.column_stack([num.astype(object), cat])
    kp = segmenter.KPrototypes(n_clusters=3, categorical=[2], random_state=0).fit(x)
    assert adjusted_rand_score(kp.labels_, group) == 1.0
    np.testing.assert_array_equal(kp.predict(x), kp.labels_)
    assert kp.gamma_ > 0 and kp.cluster_modes_.shape == (3, 1)
    with pytest.raises(ValueError, match="categorical"):
        segmenter.KPrototypes(3).fit(num)


GIL_CODE = r"""
import sys, threading, time
import numpy as np
import segmenter
rng = np.random.default_rng(0)
xs = [rng.normal(size=(300_000, 8)).astype(np.float32) for _ in range(2)]
def fit(x):
    segmenter.KMeans(8, init=x[:8], n_init=1, tol=0, max_iter=40, algorithm="lloyd",
                     backend="cpu", n_threads=1).fit(x)
def best(f):
    out = 1e9
    for _ in range(3):
        t = time.perf_counter(); f(); out = min(out, time.perf_counter() - t)
    return out
def threads():
    ts = [threading.Thread(target=fit, args=(x,)) for x in xs]
    for t in ts: t.start()
    for t in ts: t.join()
fit(xs[0])  # warm up
if sys.argv[1] == "one":
    print(best(lambda: fit(xs[0])))
else:
    print(best(lambda: (fit(xs[0]), fit(xs[1]))), best(threads))
"""


def _run(mode):
    return subprocess.Popen(
        [sys.executable, "-c", GIL_CODE, mode], stdout=subprocess.PIPE, text=True
    )


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_gil_is_released_two_threads_beat_serial():
    # One Rust thread per fit (n_threads=1), so two fits in two Python threads overlap only if
    # the GIL is released. A machine whose second core is busy cannot show it: two separate
    # processes (no GIL shared) must first run side by side faster than one after the other.
    alone = float(_run("one").communicate()[0])
    pair = [_run("one"), _run("one")]
    side_by_side = max(float(p.communicate()[0]) for p in pair)
    if side_by_side > 1.6 * alone:
        pytest.skip(
            f"no free second core: one fit {alone:.3f} s alone, {side_by_side:.3f} s beside another"
        )
    out = _run("pair").communicate()[0]
    serial, parallel = map(float, out.split())
    assert parallel < 0.8 * serial, (serial, parallel)


def test_python_runs_while_rust_fits(blobs):
    import threading

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400_000, 8)).astype(np.float32)
    done = threading.Event()
    ticks = []

    def fit():
        segmenter.KMeans(8, init=x[:8], n_init=1, tol=0, max_iter=30, backend="cpu").fit(x)
        done.set()

    t = threading.Thread(target=fit)
    t.start()
    while not done.is_set():
        ticks.append(1)  # pure-Python work: only possible while the fit has the GIL released
        done.wait(0.001)
    t.join()
    assert len(ticks) > 5
