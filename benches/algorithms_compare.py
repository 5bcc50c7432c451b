#!/usr/bin/env python3
"""segmenter's DBSCAN, hierarchical (Ward) and k-prototypes against the Python tools users run
today (scikit-learn's DBSCAN and AgglomerativeClustering, the kmodes package's KPrototypes), on
the same generated mixed table, side by side in one run.

Both sides cluster the same matrix: numeric columns standard-scaled (population sd), the
categorical ones one-hot 0/1 (DBSCAN, Ward) or by level (k-prototypes, γ = 0.5, Huang's
default for standard-scaled data); segmenter runs with `--outliers keep` so nothing is clipped.
Times are the clustering alone: segmenter's `cluster` stage (the eps suggestion included for
DBSCAN, where the Python side is given segmenter's eps), the peers' `fit`. Agreement is the
adjusted Rand index against the planted segments and between the two tools.

    python3 benches/algorithms_compare.py --rows 20000
    python3 benches/algorithms_compare.py --rows 200000 --only dbscan

Needs: pip install scikit-learn pandas kmodes
"""

import argparse
import json
import os
import re
import subprocess
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

NUMERIC = ["age", "annual_income", "spending_score", "visits_per_month"]
CATEGORICAL = ["gender", "city", "membership"]


def segmenter_run(exe, csv, out, algorithm, k, extra=()):
    cmd = [exe, "run", csv, "--out", out, "--quiet", "--json", "--outliers", "keep",
           "--algorithm", algorithm, *extra]
    if algorithm != "dbscan":
        cmd += ["--k", str(k)]
    t = time.perf_counter()
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    summary = json.loads(res.stdout)
    seg = pd.read_csv(os.path.join(out, "segments.csv"), usecols=["row", "segment"])
    return summary, seg.sort_values("row")["segment"].to_numpy(), wall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--only", default="dbscan,hierarchical,kprototypes")
    ap.add_argument("--segmenter", default="target/release/segmenter")
    a = ap.parse_args()
    only = a.only.split(",")
    tmp = tempfile.mkdtemp(prefix="algcmp-")
    csv, truth_csv = os.path.join(tmp, "mixed.csv"), os.path.join(tmp, "truth.csv")
    subprocess.run([a.segmenter, "generate", "mixed", "--rows", str(a.rows), "--seed",
                    str(a.seed), "-o", csv, "--truth", truth_csv], check=True,
                   capture_output=True)
    df = pd.read_csv(csv)
    truth = pd.read_csv(truth_csv).sort_values("row")["segment"].to_numpy()
    num = df[NUMERIC].to_numpy(dtype=np.float64)
    num = (num - num.mean(axis=0)) / num.std(axis=0)
    onehot = pd.get_dummies(df[CATEGORICAL].astype(str)).to_numpy(dtype=np.float64)
    x = np.hstack([num, onehot]).astype(np.float32)

    print(f"{a.rows} rows, {x.shape[1]} features after one-hot; times in seconds")
    print(f"{'algorithm':<13} {'segmenter':>10} {'peer':>10} {'ratio':>7}  "
          f"{'ARI seg':>7} {'ARI peer':>8} {'ARI seg~peer':>12}  peer")
    for alg in only:
        out = os.path.join(tmp, alg)
        summary, seg, _ = segmenter_run(a.segmenter, csv, out, alg, a.k)
        ts = summary["stage_seconds"]["cluster"] if isinstance(summary["stage_seconds"], dict) \
            else dict(summary["stage_seconds"])["cluster"]
        t = time.perf_counter()
        if alg == "dbscan":
            notes = " ".join(summary["algorithm_notes"])
            eps = float(re.search(r"eps = ([0-9.]+)", notes).group(1))
            ms = int(re.search(r"min_samples = ([0-9]+)", notes).group(1))
            peer = DBSCAN(eps=eps, min_samples=ms, n_jobs=-1).fit(x).labels_
            name = f"sklearn DBSCAN(eps={eps}, min_samples={ms})"
        elif alg == "hierarchical":
            peer = AgglomerativeClustering(n_clusters=a.k, linkage="ward").fit(x).labels_
            name = "sklearn AgglomerativeClustering(ward)"
        elif alg == "kprototypes":
            from kmodes.kprototypes import KPrototypes
            mixed = np.empty((len(df), len(NUMERIC) + len(CATEGORICAL)), dtype=object)
            mixed[:, :len(NUMERIC)] = num
            mixed[:, len(NUMERIC):] = df[CATEGORICAL].astype(str).to_numpy()
            kp = KPrototypes(n_clusters=a.k, gamma=0.5, n_init=1, init="Cao",
                             random_state=a.seed, n_jobs=1)
            peer = kp.fit_predict(mixed, categorical=list(range(len(NUMERIC), mixed.shape[1])))
            ours = float(re.search(r"cost ([0-9.eE+-]+)", " ".join(summary["algorithm_notes"])).group(1))
            name = f"kmodes KPrototypes(gamma=0.5, init=Cao); cost {kp.cost_:.5g} against ours {ours:.5g}"
        else:
            raise SystemExit(f"unknown algorithm {alg}")
        tp = time.perf_counter() - t
        print(f"{alg:<13} {ts:>10.3f} {tp:>10.3f} {tp / max(ts, 1e-9):>6.1f}x  "
              f"{adjusted_rand_score(truth, seg):>7.3f} {adjusted_rand_score(truth, peer):>8.3f} "
              f"{adjusted_rand_score(seg, peer):>12.3f}  {name}")


if __name__ == "__main__":
    main()
