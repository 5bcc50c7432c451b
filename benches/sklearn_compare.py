#!/usr/bin/env python3
"""Side-by-side k-means timing: `segmenter kmeans` against scikit-learn's Lloyd.

Both start from the same centroids (the first k rows: `--init first` / `init=X[:k]`),
run with tol 0 for at most --max-iter iterations, and report ms per iteration and the final
inertia. Python is used for this comparison only; it is not a dependency of segmenter.

    cargo build --release
    ./target/release/segmenter generate blobs --rows 1000000 --dims 8 --centers 8 --seed 1 -o /tmp/blobs.csv
    python3 benches/sklearn_compare.py /tmp/blobs.csv --k 8 --max-iter 50 --repeat 3

Needs numpy, pandas, scikit-learn (pip install scikit-learn pandas).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_info


def run_sklearn(x, k, max_iter):
    km = KMeans(n_clusters=k, init=x[:k], n_init=1, max_iter=max_iter, tol=0.0, algorithm="lloyd")
    t = time.perf_counter()
    km.fit(x)
    dt = time.perf_counter() - t
    # Inertia recomputed in f64 against the final centres, as segmenter reports it.
    x64 = x.astype(np.float64)
    c64 = km.cluster_centers_.astype(np.float64)
    inertia = float(((x64 - c64[km.labels_]) ** 2).sum())
    return {"ms_per_iter": 1e3 * dt / km.n_iter_, "iterations": int(km.n_iter_), "inertia": inertia, "seconds": dt}


def run_segmenter(binary, path, k, max_iter, algorithm):
    out = subprocess.run(
        [binary, "kmeans", path, "--k", str(k), "--init", "first", "--tol", "0",
         "--max-iter", str(max_iter), "--algorithm", algorithm, "--json"],
        check=True, capture_output=True, text=True,
    )
    j = json.loads(out.stdout)
    return {"ms_per_iter": j["ms_per_iter"], "iterations": j["iterations"], "inertia": j["inertia"],
            "seconds": j["fit_seconds"], "algorithm": j["algorithm"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--max-iter", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each tool; the fastest is reported")
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "segmenter"))
    ap.add_argument("--algorithm", default="auto", help="segmenter --algorithm (auto, lloyd, hamerly)")
    a = ap.parse_args()

    x = pd.read_csv(a.file, dtype=np.float32).to_numpy()
    blas = ", ".join(f"{i.get('internal_api')} {i.get('num_threads')} threads" for i in threadpool_info())
    print(f"data: {x.shape[0]} rows x {x.shape[1]} features, k={a.k}, init=first {a.k} rows, tol=0, max_iter={a.max_iter}")
    print(f"scikit-learn threadpools: {blas}")
    results = {"sklearn": [], "segmenter": []}
    # Interleave the runs so both tools see the same machine load.
    for _ in range(a.repeat):
        results["sklearn"].append(run_sklearn(x, a.k, a.max_iter))
        results["segmenter"].append(run_segmenter(a.binary, a.file, a.k, a.max_iter, a.algorithm))
    best = {name: min(rs, key=lambda r: r["ms_per_iter"]) for name, rs in results.items()}
    for name, r in best.items():
        extra = f" ({r['algorithm']})" if "algorithm" in r else ""
        print(f"{name:10s}{extra:10s} {r['ms_per_iter']:8.3f} ms/iter  {r['iterations']:3d} iterations  inertia {r['inertia']:.10e}")
    s, g = best["sklearn"], best["segmenter"]
    print(f"speed-up: {s['ms_per_iter'] / g['ms_per_iter']:.2f}x (segmenter ms/iter = {g['ms_per_iter'] / s['ms_per_iter']:.3f} of scikit-learn)")
    print(f"inertia relative difference: {abs(g['inertia'] - s['inertia']) / s['inertia']:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
