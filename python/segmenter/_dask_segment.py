"""`segmenter.dask.segment`: the workflow of `segmenter run` on a Dask DataFrame.

The client gathers a seeded sample and runs the library's whole workflow on it (schema, the
k sweep, the starting centroids, segment names, the report). Everything that depends on all
rows is computed over the partitions, each partition parsed by the library's own code
(`_segmenter.parse_fields`, `transform_rows`, `Model.predict`):

1. exact duplicates: two seeded 64-bit hashes of every row's bytes (16 bytes a row to the
   client); two different rows are taken for duplicates with probability about n²/2¹²⁹;
2. cleaning statistics (medians, quartiles and fences, means and deviations, date
   references, category levels): exact while the clustered rows × numeric columns fit in
   `exact_limit` values (the values are gathered in row order and reduced as the library
   reduces them, so they equal `segmenter.segment`'s); above it, quantiles come from a seeded
   Bernoulli sample of about `exact_limit` / columns values per column, whose rank error is
   at most sqrt(ln(2/δ) / 2m) with probability 1 − δ (Dvoretzky–Kiefer–Wolfowitz; δ = 1e-6,
   m the fewest values sampled in a column, reported in summary.json); the skewness that
   decides a log-space IQR fence comes from that sample too; counts, means, deviations (for
   `impute="mean"`, the z-score fence and the scaling), the skewness of `log="auto"`,
   minima, maxima and category counts stay exact (power sums per partition);
3. the final k-means fit distributed (`segmenter.dask.KMeans`) from the sample's centroids
   mapped into the full data's scaling;
4. scoring, `segments/` and `rejects/` written as one Parquet file per partition, and the
   profile's sizes, means, z-scores and level shares from per-partition moments.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time

import dask
import dask.array as da
import numpy as np
import pandas as pd

from . import _frames, _segmenter
from ._workflow import segment as _segment_one

_DELTA = 1e-6


def _native(pdf, name):
    return _frames.native_table(pdf, name)[0]


def _quantiles(v, qs):
    """The library's quantiles (linear between order statistics), on sorted values."""
    n = len(v)
    if n == 0:
        return [math.nan] * len(qs)
    out = []
    for q in qs:
        pos = q * (n - 1)
        i = math.floor(pos)
        frac = pos - i
        a = float(v[i])
        b = float(v[i + 1]) if frac > 0 and i + 1 < n else a
        out.append(a + frac * (b - a))
    return out


def _seq_sum(v):
    # Sequential, as the library sums (cumsum adds in order; np.sum is pairwise).
    return float(np.cumsum(v)[-1]) if len(v) else 0.0


def _iqr_fence(v_sorted, q1, q3):
    """`clean.rs`'s Tukey fence, in log1p space for a skewed non-negative column."""
    v = v_sorted
    lo_v, hi_v = float(v[0]), float(v[-1])
    n = len(v)
    mean = _seq_sum(v) / n
    d = v - mean
    m2, m3 = _seq_sum(d * d), _seq_sum(d * d * d)
    skew = (m3 / n) / (m2 / n) ** 1.5 if m2 > 0 else 0.0
    log = lo_v >= 0 and skew > 1.0
    f, back = (np.log1p, np.expm1) if log else ((lambda x: x), (lambda x: x))

    def tukey(a, b):
        return a - 1.5 * (b - a), b + 1.5 * (b - a)

    if q3 > q1:
        a, b = _quantiles(np.sort(f(v)), [0.25, 0.75]) if log else (q1, q3)
        lo, hi = tukey(a, b)
        lo, hi = float(back(lo)), float(back(hi))
    else:
        off = np.sort(f(v[v != q1]))
        if len(off) == 0:
            return [lo_v, hi_v]
        qa, qb = _quantiles(off, [0.25, 0.75])
        lo, hi = tukey(qa, qb) if qb > qa else (qa, qb)
        lo, hi = min(float(back(lo)), q1), max(float(back(hi)), q1)
    lo, hi = max(lo, lo_v), min(hi, hi_v)
    if hi <= lo:
        return [lo_v, hi_v]
    return [lo, hi]


# ---- per-partition tasks (run on the workers) ------------------------------------------------
def _widths(prep_json):
    prep = json.loads(prep_json)
    num = sum(t["type"] == "numeric" for t in prep["transforms"])
    return num, len(prep["transforms"]) - num


def _p_hashes(pdf, name):
    if len(pdf) == 0:  # The engine has no empty table; an empty partition has no rows.
        return np.zeros((0, 2), np.uint64), np.zeros(0, np.int64)
    t = _native(pdf, name)
    return _segmenter.row_hashes(t), _segmenter.row_numbers(t)


def _parsed(pdf, name, prep_json, dup, impute_drop):
    if len(pdf) == 0:
        m, c = _widths(prep_json)
        return np.zeros((0, m)), [[] for _ in range(c)], np.zeros(0, bool)
    t = _native(pdf, name)
    num, levels = _segmenter.parse_fields(t, prep_json)
    bad = np.isinf(num).any(axis=1)
    if impute_drop:
        bad |= np.isnan(num).any(axis=1)
    keep0 = ~dup & ~bad
    return num, levels, keep0


def _p_stats(pdf, name, prep_json, dup, impute_drop, keep_prob, seed, part):
    num, levels, keep0 = _parsed(pdf, name, prep_json, dup, impute_drop)
    vals = num[keep0]
    if keep_prob < 1.0:
        rng = np.random.default_rng([seed, 7, part])
        vals = vals[rng.random(len(vals)) < keep_prob]
    fin = np.isfinite(num[keep0])
    extremes = (
        np.where(fin, num[keep0], np.inf).min(axis=0, initial=np.inf),
        np.where(fin, num[keep0], -np.inf).max(axis=0, initial=-np.inf),
    )
    counts = [pd.Series(np.asarray(lv, dtype=object)[keep0]).value_counts() for lv in levels]
    # Power sums of the present values: exact means and deviations when quantiles are sampled.
    present = np.where(fin, num[keep0], 0.0)
    sums = (fin.sum(axis=0), present.sum(axis=0), (present * present).sum(axis=0))
    return vals, int(keep0.sum()), extremes, counts, sums


def _clean_values(num, transforms):
    """Cleaned values (imputed, clipped, dates counted back) of the numeric transforms."""
    out = np.empty_like(num)
    for c, t in enumerate(transforms):
        v = num[:, c].copy()
        if t["kind"] == "date":
            v = t["reference"] - v
        miss = np.isnan(v)
        if t["impute"] is not None:
            v[miss] = t["impute"]
        if t["clip"] is not None:
            v = np.clip(v, t["clip"][0], t["clip"][1])
        out[:, c] = v
    return out


def _p_power_sums(pdf, name, prep_json, dup, impute_drop, numeric):
    num, _, keep0 = _parsed(pdf, name, prep_json, dup, impute_drop)
    v = _clean_values(num[keep0], numeric)
    lg = np.log1p(np.maximum(v, 0.0))
    return [(a.sum(0), (a * a).sum(0), (a**3).sum(0)) for a in (v, lg)], (
        v.min(0) if len(v) else np.full(v.shape[1], np.inf)
    )


def _p_features(pdf, name, prep_json, dup, d):
    if len(pdf) == 0:
        return np.zeros((0, d), np.float32)
    x, _, _, _ = _segmenter.transform_rows(_native(pdf, name), prep_json, dup)
    return x.reshape(-1, d)


def _strings(df):
    return df.astype(object).where(df.notna(), None).astype("string")


def _p_score(
    pdf, name, model_json, prep_json, dup, dup_of, rows, out, part, k, numeric_cols, exact
):
    """Scores a partition, writes its segments and rejects (one Parquet file each, atomically)
    and returns its profile moments; with `exact`, also the rows the profile is computed on
    (real values, category codes, segments)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if len(pdf) == 0:  # No file for an empty partition, and no moments.
        m, c = _widths(prep_json)
        z = np.zeros((k, m))
        detail = (np.zeros((0, m)), [np.zeros(0, np.uint32)] * c, np.zeros(0, np.uint32))
        return np.zeros(k, np.int64), z, z, z, [None] * c, 0, 0, detail if exact else None
    t = _native(pdf, name)
    model = _segmenter.model_from_json("model.json", model_json)
    s = model.predict(t)
    kept, labels = np.asarray(s["kept"]), np.asarray(s["labels"])
    ok = ~dup[kept]
    kept, labels = kept[ok], labels[ok]
    seg = pdf.iloc[kept].reset_index(drop=True)
    seg = seg.assign(
        segment=labels.astype(np.int64),
        segment_name=np.asarray(model.segment_names, dtype=object)[labels],
        pc1=np.asarray(s["pcs"])[ok, 0].astype(np.float64),
        pc2=np.asarray(s["pcs"])[ok, 1].astype(np.float64),
        distance_to_centroid=np.asarray(s["distances"])[ok].astype(np.float64),
    )
    r_index, _, r_reasons = s["rejects"]
    r_index = np.asarray(r_index, dtype=np.int64)
    r_reasons = list(r_reasons)
    keep_r = ~dup[r_index] if len(r_index) else np.zeros(0, bool)
    r_index = r_index[keep_r]
    r_reasons = [r for r, keep in zip(r_reasons, keep_r) if keep]
    d_index = np.flatnonzero(dup)
    index = np.concatenate([r_index, d_index]).astype(np.int64)
    reasons = r_reasons + [f"duplicate of row {int(r)}" for r in dup_of[d_index]]
    order = np.argsort(index, kind="stable")
    index = index[order]
    reasons = [reasons[i] for i in order]
    rej = _strings(pdf.iloc[index].reset_index(drop=True))
    rej.insert(0, "reason", pd.array(reasons, dtype="string"))
    rej.insert(0, "row", rows[index].astype(np.int64))
    for sub, frame in (("segments", seg), ("rejects", rej)):
        path = os.path.join(out, sub, f"part.{part:05d}.parquet")
        tmp = path + ".tmp"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        os.replace(tmp, path)
    num, levels = _segmenter.parse_fields(t, prep_json)
    num = num[kept]
    num = np.where(np.isfinite(num), num, np.nan)
    count = np.bincount(labels, minlength=k)
    sums = np.zeros((k, num.shape[1]))
    sq = np.zeros((k, num.shape[1]))
    nn = np.zeros((k, num.shape[1]))
    for c in range(num.shape[1]):
        if numeric_cols[c]["kind"] == "date":
            num[:, c] = numeric_cols[c]["reference"] - num[:, c]
        v = num[:, c]
        good = ~np.isnan(v)
        sums[:, c] = np.bincount(labels[good], v[good], minlength=k)
        sq[:, c] = np.bincount(labels[good], v[good] ** 2, minlength=k)
        nn[:, c] = np.bincount(labels[good], minlength=k)
    lv = [
        pd.crosstab(labels, np.asarray(x, dtype=object)[kept]) if len(kept) else None
        for x in levels
    ]
    detail = None
    if exact:
        cats = [t for t in json.loads(prep_json)["transforms"] if t["type"] == "categorical"]
        codes = []
        for t, x in zip(cats, levels):
            index = {lv: i for i, lv in enumerate(t["levels"])}
            other = len(t["levels"])
            codes.append(
                np.fromiter((index.get(v, other) for v in np.asarray(x, dtype=object)[kept]),
                            np.uint32, len(kept))
            )  # fmt: skip
        detail = (num, codes, labels.astype(np.uint32))
    return count, sums, sq, nn, lv, len(seg), len(rej), detail


# ---- the client --------------------------------------------------------------------------------
class DaskSegmentation:
    """What `segmenter.dask.segment` wrote and found: `k`, `summary`, `model` (model.json's
    text as a dict), `out` (the directory), `segments()` / `rejects()` read back with
    pandas."""

    def __init__(self, out, summary, model):
        self.out = out
        self.summary = summary
        self.model = model

    @property
    def k(self):
        """Number of segments."""
        return self.summary["k"]

    def segments(self):
        """`segments/` as one pandas DataFrame, in row order."""
        return pd.read_parquet(os.path.join(self.out, "segments"))

    def rejects(self):
        """`rejects/` as one pandas DataFrame, in row order."""
        return pd.read_parquet(os.path.join(self.out, "rejects"))

    def __repr__(self):
        s = self.summary
        return (
            f"<DaskSegmentation k={s['k']}: {s['rows_segmented']} rows segmented, "
            f"{s['rows_rejected']} rejected, in {self.out}>"
        )


def segment(
    ddf, out, k="auto", algorithm="kmeans", backend="auto", seed=0, *, name="dataframe",
    sample_rows=None, exact_limit=10_000_000, persist=True, **options,
):  # fmt: skip
    """Segments a Dask DataFrame as `segmenter run` does and writes into `out`:
    `segments/` and `rejects/` (one Parquet file per partition, row order kept), model.json,
    profile.csv, summary.json, and the library's report of the seeded sample (report.md,
    report.html, plots/). Options are `segmenter.segment`'s. `sample_rows` (default: the
    sweep sample, 50,000) rows are gathered for the schema, the k sweep and the starting
    centroids; statistics are exact up to `exact_limit` gathered values (see the module
    note for the bound beyond). `persist=True` keeps the partitions in the workers' memory
    across the passes (Dask recomputes a lost one from its source); False reads the source
    again at every pass. Returns a `DaskSegmentation`."""
    clock = _Clock()
    if algorithm != "kmeans":
        raise ValueError(
            f'algorithm="{algorithm}" is not available on a Dask cluster: only "kmeans" '
            "fits partition by partition (the others need all pairs of rows on one machine)"
        )
    for opt, bad in (("outliers", "drop"), ("compare", None)):
        v = options.get(opt)
        if v is not None and (bad is None and v is not False or v == bad):
            raise ValueError(f"{opt}={v!r} is not available on a Dask cluster")
    sweep = int(options.get("sweep_sample", 50_000))
    m = int(sample_rows) if sample_rows is not None else sweep
    if persist:
        ddf = ddf.persist()
    parts = ddf.to_delayed()
    lengths = np.asarray(dask.compute(*[dask.delayed(len)(p) for p in parts]), dtype=np.int64)
    n = int(lengths.sum())
    if n == 0:
        raise ValueError(f"{name}: the table has no rows")
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])

    # 1. Exact duplicates over all partitions, and global row numbers.
    hashed = dask.compute(*[dask.delayed(_p_hashes)(p, name) for p in parts])
    h = np.concatenate([x[0] for x in hashed]) if n else np.zeros((0, 2), np.uint64)
    rows = np.concatenate([x[1] + o for x, o in zip(hashed, offsets)])
    key = np.ascontiguousarray(h).view([("a", np.uint64), ("b", np.uint64)]).ravel()
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    first_of = first[inverse.ravel()]
    dup = first_of != np.arange(n)
    dup_of = rows[first_of]
    split = [(int(o), int(o + n_)) for o, n_ in zip(offsets, lengths)]

    clock.lap("duplicates")

    # 2. The seeded sample, segmented by the library on the client.
    prob = min(1.0, m / n)
    picks = []
    for i, (a, b) in enumerate(split):
        r = np.random.default_rng([seed, 11, i]).random(b - a) < prob
        picks.append(np.flatnonzero(r & ~dup[a:b]) if prob < 1 else np.arange(b - a))
    sample = pd.concat(
        dask.compute(
            *[dask.delayed(lambda p, ix: p.iloc[ix])(p, ix) for p, ix in zip(parts, picks)]
        )
    ).reset_index(drop=True)
    sopts = dict(options)
    sopts.update(k=k, algorithm=algorithm, backend=backend, seed=seed)
    sample_seg = _segment_one(sample, name=name, progress=False, **sopts)
    smodel = json.loads(sample_seg.model.to_json())
    cleaning = smodel["cleaning"]
    impute_drop = cleaning["impute"] == "drop"
    sprep = smodel["prep"]
    prep_json = json.dumps(sprep)
    numeric = [t for t in sprep["transforms"] if t["type"] == "numeric"]
    categorical = [t for t in sprep["transforms"] if t["type"] == "categorical"]
    mcols = max(1, len(numeric))
    keep_prob = min(1.0, exact_limit / mcols / n)
    exact = keep_prob >= 1.0

    clock.lap("sample_fit")

    # 3. Cleaning statistics over the partitions.
    def per_part(fn, args):
        return dask.compute(
            *[
                dask.delayed(fn)(p, name, *args(i, a, b))
                for i, (p, (a, b)) in enumerate(zip(parts, split))
            ]
        )

    stats = per_part(
        _p_stats, lambda i, a, b: (prep_json, dup[a:b], impute_drop, keep_prob, seed, i)
    )
    kept_n = sum(s[1] for s in stats)
    vals = np.concatenate([s[0] for s in stats]) if stats else np.zeros((0, len(numeric)))
    np.min([s[2][0] for s in stats], axis=0) if numeric else []
    maxs = np.max([s[2][1] for s in stats], axis=0) if numeric else []
    new_numeric = []
    sampled_m = n
    for c, t in enumerate(numeric):
        t = dict(t)
        v = vals[:, c]
        v = v[np.isfinite(v)]
        if t["kind"] == "date":
            t["reference"] = float(maxs[c])
            v = float(maxs[c]) - v
        vs = np.sort(v)
        q1, med, q3 = _quantiles(vs, [0.25, 0.5, 0.75])
        sampled_m = min(sampled_m, len(v))
        if exact:
            mean = _seq_sum(v) / len(v)
            sd = math.sqrt(_seq_sum((v - mean) ** 2) / len(v))
        else:
            cnt, s1, s2 = (sum(float(s[4][j][c]) for s in stats) for j in range(3))
            mean = s1 / cnt
            sd = math.sqrt(max(s2 / cnt - mean**2, 0.0))
            if t["kind"] == "date":
                mean = float(maxs[c]) - mean
        if t["kind"] == "boolean" or cleaning["impute"] == "median":
            t["impute"] = med
        elif cleaning["impute"] == "mean":
            t["impute"] = mean
        else:
            t["impute"] = None
        if t["kind"] == "numeric" and cleaning["outliers"] != "keep":
            if cleaning["outlier_method"] == "iqr":
                t["clip"] = _iqr_fence(vs, q1, q3)
            else:
                t["clip"] = [mean - 3 * sd, mean + 3 * sd]
        new_numeric.append(t)
    levels_of = {}
    for c, t in enumerate(categorical):
        counts = pd.concat([s[3][c] for s in stats]).groupby(level=0).sum()
        items = sorted(
            ((str(lv), int(n_)) for lv, n_ in counts.items()), key=lambda x: (-x[1], x[0].encode())
        )
        min_count = max(1, math.ceil(cleaning["min_level_share"] * kept_n))
        keep = 0
        for lv, n_ in items[: cleaning["max_levels"]]:
            if n_ < min_count:
                break
            keep += 1
        keep = max(1, keep)
        levels_of[t["column"]] = ([lv for lv, _ in items[:keep]], keep < len(items))

    # 4. Log and scaling of the cleaned values.
    scale = smodel["scale"]
    log = smodel["log"]
    if exact:
        raw = vals.copy()
        for c, t in enumerate(new_numeric):
            raw[:, c] = np.where(np.isinf(raw[:, c]), np.nan, raw[:, c])
        cleaned = _clean_values(raw, new_numeric)
    else:
        sums = per_part(
            _p_power_sums, lambda i, a, b: (prep_json, dup[a:b], impute_drop, new_numeric)
        )
    for c, t in enumerate(new_numeric):
        if exact:
            v = cleaned[:, c]
            lo = float(v.min())
            mean = _seq_sum(v) / len(v)
            dd = v - mean
            var = _seq_sum(dd * dd) / len(v)
            skew = (_seq_sum(dd**3) / len(v)) / var**1.5 if var > 0 else 0.0
        else:
            s1, s2, s3 = (sum(s[0][0][j][c] for s in sums) for j in range(3))
            lo = float(min(s[1][c] for s in sums))
            mean = s1 / kept_n
            var = max(s2 / kept_n - mean**2, 0.0)
            m3 = s3 / kept_n - 3 * mean * s2 / kept_n + 2 * mean**3
            skew = m3 / var**1.5 if var > 0 else 0.0
        if t["kind"] == "numeric":
            if log == "auto":
                t["log"] = lo >= 0 and skew > 1.0
            elif isinstance(log, dict):
                t["log"] = t["column"] in log.get("columns", [])
            elif isinstance(log, list):
                t["log"] = t["column"] in log
            else:
                t["log"] = False
        if t["kind"] != "boolean" and scale != "none":
            if exact:
                w = np.log1p(np.maximum(v, 0.0)) if t["log"] else v
                if scale == "standard":
                    center = _seq_sum(w) / len(w)
                    spread = math.sqrt(_seq_sum((w - center) ** 2) / len(w))
                elif scale == "minmax":
                    center, spread = float(w.min()), float(w.max() - w.min())
                else:
                    qa, qm, qb = _quantiles(np.sort(w), [0.25, 0.5, 0.75])
                    center, spread = qm, qb - qa
            else:
                j = 1 if t["log"] else 0
                s1, s2 = (sum(s[0][j][p][c] for s in sums) for p in range(2))
                center = s1 / kept_n
                spread = math.sqrt(max(s2 / kept_n - center**2, 0.0))
                if scale != "standard":
                    raise ValueError(
                        f'scale="{scale}" needs exact quantiles or extremes: above exact_limit '
                        'only scale="standard" is available on a Dask cluster'
                    )
            t["center"] = center
            t["scale"] = spread if spread > 0 and math.isfinite(spread) else 1.0
    transforms, features = [], []
    it = iter(new_numeric)
    for t in sprep["transforms"]:
        if t["type"] == "numeric":
            t = next(it)
            features.append(t["column"])
        else:
            lv, other = levels_of[t["column"]]
            t = dict(t, levels=lv, other=other)
            features += [f"{t['column']}={x}" for x in lv + (["other"] if other else [])]
        transforms.append(t)
    prep = {"transforms": transforms, "features": features}
    prep_json = json.dumps(prep)

    clock.lap("statistics")

    # 5. The final fit on all rows, from the sample's centroids in the full data's scaling.
    from .dask import KMeans  # Imported here: dask.py imports this module.

    init = _map_centroids(np.asarray(smodel["centroids"], np.float64), sprep, prep)
    kk = init.shape[0]
    d = len(features)
    if prob >= 1 and prep == sprep:
        # The sample is the whole table and its preprocessing is the full one: the library's
        # fit on the client already is the final fit (Lloyd from its converged centres would
        # only take one more tol-sized step).
        centres, inertia, n_iter, final_fit = init, sample_seg.summary["inertia"], None, "client"
    else:
        blocks = [
            da.from_delayed(
                dask.delayed(_p_features)(p, name, prep_json, dup[a:b], d),
                (np.nan, d),
                dtype=np.float32,
            )
            for p, (a, b) in zip(parts, split)
        ]
        X = da.concatenate(blocks, axis=0, allow_unknown_chunksizes=True)
        km = smodel["kmeans"]
        fit = KMeans(
            kk, init=init, max_iter=int(km.get("max_iter", 300)), tol=float(km.get("tol", 1e-4)),
            random_state=seed,
        ).fit(X)  # fmt: skip
        centres, inertia, n_iter, final_fit = (
            fit.cluster_centers_,
            fit.inertia_,
            fit.n_iter_,
            "distributed",
        )
    model = dict(smodel, prep=prep, centroids=np.asarray(centres, np.float64).tolist())
    if final_fit == "client":
        model["centroids"] = smodel["centroids"]
    model["fitted_on"] = name
    if prep != sprep:
        model["pca"] = _pca_axes(sample, name, prep_json, d)
    model_json = json.dumps(model, indent=2)

    clock.lap("fit")

    # 6. Scoring, the Parquet parts and the profile moments.
    os.makedirs(out, exist_ok=True)
    for sub in ("segments", "rejects"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
        os.makedirs(os.path.join(out, sub))
    scored = per_part(
        _p_score,
        lambda i, a, b: (
            model_json,
            prep_json,
            dup[a:b],
            dup_of[a:b],
            rows[a:b],
            out,
            i,
            kk,
            new_numeric,
            exact,
        ),
    )
    n_seg = sum(s[5] for s in scored)
    n_rej = sum(s[6] for s in scored)
    _write_atomic(os.path.join(out, "model.json"), model_json)
    if exact:
        _write_profile_exact(os.path.join(out, "profile.csv"), scored, model, prep, kk)
    else:
        _write_profile(
            os.path.join(out, "profile.csv"), scored, model, new_numeric, categorical, kk
        )
    with tempfile.TemporaryDirectory() as tmp:
        sample_seg.save(tmp)
        for f in ("report.md", "report.html", "plots"):
            src, dst = os.path.join(tmp, f), os.path.join(out, f)
            if os.path.isdir(src):
                shutil.rmtree(dst, ignore_errors=True)
                shutil.copytree(src, dst)
            elif os.path.exists(src):
                shutil.copyfile(src, dst)
    sizes = np.sum([s[0] for s in scored], axis=0).astype(int).tolist()
    clock.lap("score_and_write")
    summary = {
        "k": kk,
        "algorithm": "kmeans",
        "rows_in": n,
        "rows_segmented": n_seg,
        "rows_rejected": n_rej,
        "duplicates": int(dup.sum()),
        "inertia": inertia,
        "iterations": n_iter,
        "final_fit": final_fit,
        "sizes": sizes,
        "features": features,
        "sample_rows": len(sample),
        "statistics": "exact" if exact else "sampled quantiles",
        "quantile_rank_error": 0.0
        if exact
        else math.sqrt(math.log(2 / _DELTA) / (2 * max(sampled_m, 1))),
        "partitions": len(parts),
        "report_from_sample": True,
        "stage_seconds": clock.laps,
    }
    _write_atomic(os.path.join(out, "summary.json"), json.dumps(summary, indent=2))
    return DaskSegmentation(out, summary, model)


class _Clock:
    """Seconds per stage, for summary.json."""

    def __init__(self):
        self.laps = {}
        self._t = time.perf_counter()

    def lap(self, name):
        t = time.perf_counter()
        self.laps[name] = round(t - self._t, 3)
        self._t = t


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def _map_centroids(c, sprep, prep):
    """Sample-space centroids in the full data's features: numeric ones unscaled with the
    sample's transform and rescaled with the full one; one-hot ones by feature name."""
    old = {}
    at = 0
    for t in sprep["transforms"]:
        if t["type"] == "numeric":
            v = c[:, at] * t["scale"] + t["center"]
            old[t["column"]] = np.expm1(v) if t["log"] else v
            at += 1
        else:
            for lv in t["levels"] + (["other"] if t["other"] else []):
                old[f"{t['column']}={lv}"] = c[:, at]
                at += 1
    cols = []
    for t in prep["transforms"]:
        if t["type"] == "numeric":
            v = old[t["column"]]
            v = np.log1p(np.maximum(v, 0.0)) if t["log"] else v
            cols.append((v - t["center"]) / t["scale"])
        else:
            for lv in t["levels"] + (["other"] if t["other"] else []):
                cols.append(old.get(f"{t['column']}={lv}", np.zeros(len(c))))
    return np.ascontiguousarray(np.stack(cols, axis=1), dtype=np.float32)


def _pca_axes(sample, name, prep_json, d):
    """PCA axes of the sample's rows in the full data's features (the mean and the two leading
    eigenvectors of their covariance, each signed so its largest weight is positive)."""
    t = _native(sample, name)
    x, _, _, _ = _segmenter.transform_rows(t, prep_json, np.zeros(len(sample), bool))
    x = x.reshape(-1, d).astype(np.float64)
    mean = x.mean(axis=0)
    w, v = np.linalg.eigh(np.cov(x - mean, rowvar=False, bias=True).reshape(d, d))
    comps = []
    for j in np.argsort(w)[::-1][:2]:
        e = v[:, j]
        comps.append((e * np.sign(e[np.argmax(np.abs(e))])).tolist())
    while len(comps) < 2:
        comps.append([0.0] * d)
    return {"mean": mean.tolist(), "components": comps}


def _profile_name(t):
    return f"{t['column']} (days before latest)" if t["kind"] == "date" else t["column"]


def _write_profile_exact(path, scored, model, prep, k):
    """profile.csv by the library's profiling, on every segmented row gathered in row order
    (the exact statistics mode)."""
    num = np.concatenate([s[7][0] for s in scored])
    labels = np.ascontiguousarray(np.concatenate([s[7][2] for s in scored]), dtype=np.uint32)
    numeric = [t for t in prep["transforms"] if t["type"] == "numeric"]
    cats = [t for t in prep["transforms"] if t["type"] == "categorical"]
    num_cols = [(_profile_name(t), np.ascontiguousarray(num[:, c])) for c, t in enumerate(numeric)]
    cat_cols = [
        (
            t["column"],
            t["levels"] + (["other"] if t["other"] else []),
            np.ascontiguousarray(np.concatenate([s[7][1][c] for s in scored]), dtype=np.uint32),
        )
        for c, t in enumerate(cats)
    ]
    text = _segmenter.profile_csv(num_cols, cat_cols, labels, k, model["segment_names"])
    _write_atomic(path, text.decode("utf-8"))


def _write_profile(path, scored, model, numeric, categorical, k):
    """profile.csv from the partitions' moments: the library's layout (segment, name, size,
    share, then `<f> mean/median/lift/z` and `<col>=<level> share/lift`); medians are left
    empty (an exact median needs every value on one machine)."""
    count = np.sum([s[0] for s in scored], axis=0).astype(float)
    sums = np.sum([s[1] for s in scored], axis=0)
    sq = np.sum([s[2] for s in scored], axis=0)
    nn = np.sum([s[3] for s in scored], axis=0)
    total = count.sum()
    names = model["segment_names"]
    head = ["segment", "name", "size", "share"]
    for t in numeric:
        head += [f"{_profile_name(t)} {s}" for s in ("mean", "median", "lift", "z")]
    levels = []
    for c, t in enumerate(categorical):
        tabs = [s[4][c] for s in scored if s[4][c] is not None]
        tab = pd.concat(tabs).groupby(level=0).sum() if tabs else pd.DataFrame()
        for lv in t["levels"]:
            levels.append((t["column"], lv, tab))
            head += [f"{t['column']}={lv} share", f"{t['column']}={lv} lift"]

    def fmt(v):
        return repr(float(v)) if math.isfinite(v) else ""

    lines = [",".join(_csv(h) for h in head)]
    all_n = nn.sum(axis=0)
    om = sums.sum(axis=0) / np.maximum(all_n, 1)
    osd = np.sqrt(np.maximum(sq.sum(axis=0) / np.maximum(all_n, 1) - om**2, 0))
    for j in range(k + 1):
        is_all = j == k
        size = total if is_all else count[j]
        row = ["all" if is_all else str(j), "all customers" if is_all else names[j]]
        row += [str(int(size)), fmt(size / total if total else math.nan)]
        for c in range(len(numeric)):
            mean = om[c] if is_all else sums[j, c] / nn[j, c] if nn[j, c] else math.nan
            lift = mean / om[c] if om[c] > 0 else math.nan
            z = (mean - om[c]) / osd[c] if osd[c] > 0 and math.isfinite(mean) else 0.0
            row += [fmt(mean), "", fmt(lift), fmt(z)]
        for col, lv, tab in levels:
            have = lv in getattr(tab, "columns", [])
            overall = tab[lv].sum() / total if have and total else 0.0
            if is_all:
                share = overall
            else:
                share = tab[lv].get(j, 0) / count[j] if have and count[j] else 0.0
            row += [fmt(share), fmt(share / overall if overall else math.nan)]
        lines.append(",".join(_csv(x) for x in row))
    _write_atomic(path, "\n".join(lines) + "\n")


def _csv(s):
    s = str(s)
    return '"' + s.replace('"', '""') + '"' if any(ch in s for ch in ',"\n') else s
