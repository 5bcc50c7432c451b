#!/usr/bin/env python3
"""scikit-learn's DBSCAN on the matrix `examples/dbscan_timing` wrote (little-endian f32,
row-major), with the eps and min_samples segmenter used, so the two can be timed side by side
and their clusters, noise and core counts compared.

    cargo run --release --example dbscan_timing -- 1000000 2 0.0392 5 /tmp/x1m2.f32
    python3 benches/dbscan_sklearn.py /tmp/x1m2.f32 2 0.0392 5 -1     # last: n_jobs
"""
import sys
import time

import numpy as np
from sklearn.cluster import DBSCAN

path, d, eps, ms = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
jobs = int(sys.argv[5]) if len(sys.argv) > 5 else None
x = np.fromfile(path, dtype="<f4").reshape(-1, d)
t = time.perf_counter()
m = DBSCAN(eps=eps, min_samples=ms, n_jobs=jobs).fit(x)
s = time.perf_counter() - t
lab = m.labels_
print(f"sklearn {x.shape} eps {eps} min_samples {ms}: {s:.2f} s, {lab.max() + 1} clusters, "
      f"{(lab == -1).sum()} noise, {len(m.core_sample_indices_)} core")
