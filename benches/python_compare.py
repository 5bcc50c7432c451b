#!/usr/bin/env python3
"""The Python package against scikit-learn and the pandas notebook, side by side in one process.

Usage (after `pip install ./python scikit-learn pandas`, e.g. with scripts/test-all.sh's .venv):

    .venv/bin/python benches/python_compare.py                 # both comparisons, 1M rows
    .venv/bin/python benches/python_compare.py --rows 200000   # smaller
    .venv/bin/python benches/python_compare.py --only kmeans   # or --only segment

1. k-means, n × 8 float32 blobs, k = 8, from the same start (`init=X[:8]`, n_init 1, tol 0,
   max_iter 50): `segmenter.KMeans` against scikit-learn's `KMeans(algorithm="lloyd")`.
   Printed: ms per iteration of each (whole `fit` divided by `n_iter_`, upload included, and
   segmenter's iteration time alone), the ratio, and the relative inertia difference.
2. `segmenter.segment(df)` on the generated customer table already in a pandas DataFrame,
   against the pandas + scikit-learn notebook work of benches/notebook_compare.py
   (drop_duplicates, median impute + IQR clip, StandardScaler, elbow KMeans k = 2..10, KMeans
   k = 4, PCA(2), silhouette on 10k rows, groupby profile) on the same DataFrame.
"""

import argparse
import time

import numpy as np


def best_of(repeat, f):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def kmeans_compare(rows, repeat):
    import segmenter
    from sklearn.cluster import KMeans as SkKMeans
    from sklearn.datasets import make_blobs

    x, _ = make_blobs(n_samples=rows, n_features=8, centers=8, random_state=1)
    x = x.astype(np.float32)
    init = x[:8].copy()
    kw = {"init": init, "n_init": 1, "tol": 0, "max_iter": 50}
    ours_t, ours = best_of(repeat, lambda: segmenter.KMeans(8, **kw).fit(x))
    lloyd_t, lloyd = best_of(
        repeat, lambda: segmenter.KMeans(8, algorithm="lloyd", **kw).fit(x)
    )
    sk_t, sk = best_of(repeat, lambda: SkKMeans(8, algorithm="lloyd", **kw).fit(x))
    print(
        f"k-means {rows} x 8 float32, k = 8, init=X[:8], tol 0, max_iter 50 (best of {repeat}):"
    )
    for name, t, m in [
        ("segmenter auto", ours_t, ours),
        ("segmenter lloyd", lloyd_t, lloyd),
    ]:
        it = m.n_iter_
        rel = abs(m.inertia_ - sk.inertia_) / sk.inertia_
        print(
            f"  {name:<16} {1e3 * t / it:7.2f} ms/iter over fit ({it} iter; "
            f"{1e3 * m.iter_seconds_ / m.total_iterations_:.2f} ms/iter iterating, kernel "
            f"{m.backend_}), inertia rel. diff {rel:.1e}"
        )
    sk_ms = 1e3 * sk_t / sk.n_iter_
    print(f"  {'scikit-learn':<16} {sk_ms:7.2f} ms/iter over fit ({sk.n_iter_} iter)")
    print(
        f"  ratio: {sk_ms / (1e3 * ours_t / ours.n_iter_):.1f}x (auto), "
        f"{sk_ms / (1e3 * lloyd_t / lloyd.n_iter_):.1f}x (lloyd)"
    )


def notebook(df):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    df = df.drop_duplicates()
    num = df.select_dtypes("number").columns
    x = df[num]
    x = x.fillna(x.median())
    q1, q3 = x.quantile(0.25), x.quantile(0.75)
    iqr = q3 - q1
    x = x.clip(q1 - 1.5 * iqr, q3 + 1.5 * iqr, axis=1)
    xs = StandardScaler().fit_transform(x)
    inertias = [
        KMeans(n_clusters=k, random_state=0).fit(xs).inertia_ for k in range(2, 11)
    ]
    labels = KMeans(n_clusters=4, random_state=0).fit(xs).labels_
    pcs = PCA(n_components=2).fit_transform(xs)
    sil = silhouette_score(xs, labels, sample_size=10_000, random_state=0)
    profile = (
        df.assign(cluster=labels).groupby("cluster")[list(num)].agg(["mean", "median"])
    )
    assert len(inertias) == 9 and pcs.shape[1] == 2 and len(profile) == 4
    return sil


def segment_compare(rows, repeat):
    import segmenter

    t = time.perf_counter()
    df = segmenter.datasets.customers(rows=rows, seed=1)
    print(
        f"\ngenerated {rows} customers into a pandas DataFrame in {time.perf_counter() - t:.1f} s"
    )

    def ours():
        seg = segmenter.segment(df, progress=False)
        return seg, seg.segments  # the result as a DataFrame is part of the work

    seg_t, (seg, segments) = best_of(repeat, ours)
    nb_t, sil = best_of(repeat, lambda: notebook(df))
    s = seg.summary
    print(
        f"segmenter.segment(df) -> .segments (best of {repeat}): {seg_t:.2f} s, k = {s['k']}, "
        f"silhouette {s['silhouette']:.3f}, {len(segments)} rows segmented"
    )
    for stage, secs in s["stage_seconds"].items():
        print(f"  {stage:<10} {secs:7.3f} s")
    print(
        f"pandas + scikit-learn notebook (best of {repeat}): {nb_t:.2f} s, silhouette {sil:.3f}"
    )
    print(f"ratio: segmenter is {nb_t / seg_t:.1f}x faster")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["kmeans", "segment"])
    a = ap.parse_args()
    if a.only in (None, "kmeans"):
        kmeans_compare(a.rows, a.repeat)
    if a.only in (None, "segment"):
        segment_compare(a.rows, max(1, a.repeat - 1))


if __name__ == "__main__":
    main()
