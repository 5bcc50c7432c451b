#!/usr/bin/env python3
"""Side-by-side timing: the pandas + scikit-learn notebook vs `segmenter run`, same file.

Usage (from the repository root, after `cargo build --release`; needs pandas and
scikit-learn, e.g. `pip install pandas scikit-learn` — Python is used for this comparison only,
never by the project or its tests):

    python3 benches/notebook_compare.py                      # generates 1,000,000 customers
    python3 benches/notebook_compare.py --rows 10000000      # a larger table
    python3 benches/notebook_compare.py --file customers.csv # an existing export

The notebook does what our users' notebooks do (see shared/user-notebooks): read_csv,
drop_duplicates, median impute + IQR clip (1.5), StandardScaler, an elbow loop of KMeans for
k = 2..10, KMeans k = 4, PCA(2), silhouette on a 10k sample, and a groupby profile.
`segmenter run` does the same and more (k chosen automatically, every row written to
segments.csv/rejects.csv, model.json, report). Both read the same file after one warm-up read
so that neither pays for a cold page cache. Printed: both wall times, their ratio, and
segmenter's peak resident memory (from /usr/bin/time -v, else getrusage) against the CSV size.
"""

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time


def run_segmenter(exe, path, out, extra):
    cmd = [exe, "run", path, "--out", out, "--quiet", "--json"] + extra
    timer = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if timer:
        cmd = [timer, "-v"] + cmd
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"segmenter failed:\n{p.stderr}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    peak_kib = int(m.group(1)) if m else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak_kib * 1024, p.stdout


def run_notebook(path):
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    steps = []
    t0 = t = time.perf_counter()

    def step(name):
        nonlocal t
        now = time.perf_counter()
        steps.append((name, now - t))
        t = now

    df = pd.read_csv(path)
    step("read_csv")
    df = df.drop_duplicates()
    step("drop_duplicates")
    num = df.select_dtypes("number").columns
    x = df[num]
    x = x.fillna(x.median())
    q1, q3 = x.quantile(0.25), x.quantile(0.75)
    iqr = q3 - q1
    x = x.clip(q1 - 1.5 * iqr, q3 + 1.5 * iqr, axis=1)
    step("impute + IQR clip")
    xs = StandardScaler().fit_transform(x)
    step("StandardScaler")
    inertias = [KMeans(n_clusters=k, random_state=0).fit(xs).inertia_ for k in range(2, 11)]
    step("elbow KMeans k=2..10")
    km = KMeans(n_clusters=4, random_state=0).fit(xs)
    labels = km.labels_
    step("KMeans k=4")
    pcs = PCA(n_components=2).fit_transform(xs)
    step("PCA(2)")
    sil = silhouette_score(xs, labels, sample_size=10_000, random_state=0)
    step("silhouette (10k sample)")
    df = df.assign(cluster=labels)
    profile = df.groupby("cluster")[list(num)].agg(["mean", "median"])
    step("groupby profile")
    wall = time.perf_counter() - t0
    assert len(inertias) == 9 and pcs.shape[1] == 2 and np.isfinite(sil) and len(profile) == 4
    return wall, steps, sil


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="customers to generate")
    ap.add_argument("--file", help="use this CSV instead of generating one")
    ap.add_argument("--segmenter", default="target/release/segmenter", help="the binary")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-notebook", action="store_true", help="time segmenter only")
    ap.add_argument("segmenter_args", nargs="*", help="extra flags for segmenter run (after --)")
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="segmenter-compare-")
    try:
        path = a.file
        if not path:
            path = os.path.join(work, "customers.csv")
            t = time.perf_counter()
            subprocess.run(
                [a.segmenter, "generate", "customers", "--rows", str(a.rows), "--seed",
                 str(a.seed), "-o", path],
                check=True, capture_output=True,
            )
            print(f"generated {a.rows} customers in {time.perf_counter() - t:.1f} s: {path}")
        size = os.path.getsize(path)
        with open(path, "rb") as f:  # warm the page cache for both contenders
            while f.read(1 << 24):
                pass

        seg_wall, peak, js = run_segmenter(a.segmenter, path, os.path.join(work, "out"),
                                           a.segmenter_args)
        import json
        summary = json.loads(js)
        print(f"\nsegmenter run: {seg_wall:.2f} s wall, k = {summary['k']}, "
              f"silhouette {summary['silhouette']:.3f}, backend {summary['backend']}")
        for stage, secs in summary["stage_seconds"].items():
            print(f"  {stage:<24} {secs:7.3f} s")
        print(f"  peak RSS {peak / 2**20:.0f} MiB = {peak / size:.2f}× the CSV's "
              f"{size / 2**20:.0f} MiB")
        if a.skip_notebook:
            return
        nb_wall, steps, sil = run_notebook(path)
        print(f"\npandas + scikit-learn notebook: {nb_wall:.2f} s wall, silhouette {sil:.3f}")
        for name, secs in steps:
            print(f"  {name:<24} {secs:7.3f} s")
        print(f"\nratio: segmenter is {nb_wall / seg_wall:.1f}× faster "
              f"({nb_wall:.2f} s vs {seg_wall:.2f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
