"""segmenter.dask.segment on a real local Dask cluster (two worker processes on 127.0.0.1):
the same k, labels and rejects as segmenter.segment on the same rows, bad partitions, the
sampled statistics within their stated bound, and the files it writes."""

import json
import math

import dask
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest

import segmenter
from segmenter import dask as sdask


@pytest.fixture(scope="module")
def table(customers_csv):
    """The generated customers as text (as the engine reads a CSV), with a text value in a
    numeric column, an infinite value, a missing one and the generator's duplicates."""
    pdf = pd.read_csv(customers_csv, dtype=str, keep_default_na=False)
    pdf.loc[10, "Time on App"] = "twelve"
    pdf.loc[1500, "Yearly Amount Spent"] = "inf"
    pdf.loc[20, "Avg Session Length"] = ""
    return pdf


def _with_empty_partition(pdf, parts):
    """A Dask DataFrame of `pdf` in `parts` partitions with an empty one in the middle."""
    cuts = np.linspace(0, len(pdf), parts + 1).astype(int)
    pieces = [pdf.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    pieces.insert(2, pdf.iloc[:0])
    return dd.from_delayed([dask.delayed(p.copy)() for p in pieces], meta=pdf.iloc[:0])


def test_segment_equals_the_single_machine_workflow(client, table, tmp_path):
    one = segmenter.segment(table, progress=False)
    ddf = _with_empty_partition(table, 4)
    assert ddf.npartitions == 5
    res = sdask.segment(ddf, tmp_path / "out")
    assert res.k == one.k
    seg, rej = res.segments(), res.rejects()
    # Every input row is in segments or rejects, in row order.
    assert len(seg) + len(rej) == len(table)
    assert seg.segment.tolist() == one.labels.tolist()
    assert seg.segment_name.tolist() == one.segments.segment_name.tolist()
    assert seg.Email.tolist() == one.segments.Email.tolist()
    assert rej.row.tolist() == one.rejects.row.tolist()
    assert rej.reason.tolist() == one.rejects.reason.tolist()
    reasons = dict(zip(rej.row, rej.reason))
    assert reasons[11] == "column 'Time on App': 'twelve' is not a number"
    assert reasons[1501] == "column 'Yearly Amount Spent': 'inf' is not a finite number"
    # Cleaning statistics are exact here: the fitted preprocessing is the library's.
    single = json.loads(one.model.to_json())
    assert res.model["prep"] == single["prep"]
    # The sample is the whole table here: the client's library fit is the final one.
    assert res.summary["final_fit"] == "client"
    assert res.model["centroids"] == single["centroids"]
    # model.json is a library model: it loads and scores the rows as they were segmented.
    model = segmenter.load_model(tmp_path / "out" / "model.json")
    scored = model.predict(table.drop(index=rej.row.to_numpy() - 1))
    assert scored.segment.tolist() == seg.segment.tolist()
    np.testing.assert_allclose(scored.distance_to_centroid, seg.distance_to_centroid, atol=1e-5)
    # profile.csv: the library's profiling of every segmented row (exact mode): the same text.
    assert (tmp_path / "out" / "profile.csv").read_bytes() == one._native.profile_csv()
    for f in ("report.html", "report.md", "summary.json"):
        assert (tmp_path / "out" / f).stat().st_size > 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["rows_in"] == len(table) and summary["statistics"] == "exact"
    assert summary["rows_rejected"] == len(one.rejects)


def test_the_distributed_final_fit_agrees_with_the_single_machine_fit(client, table, tmp_path):
    """A 1,000-row sample starts the fit; Lloyd over the partitions ends where the in-memory
    fit on every row ends."""
    one = segmenter.segment(table, progress=False)
    res = sdask.segment(dd.from_pandas(table, npartitions=4), tmp_path / "out", sample_rows=1000)
    assert res.summary["final_fit"] == "distributed"
    assert res.summary["statistics"] == "exact" and res.k == one.k
    single = json.loads(one.model.to_json())
    assert res.model["prep"] == single["prep"]
    a, b = np.array(res.model["centroids"]), np.array(single["centroids"])
    assert np.abs(a - b).max() / np.abs(b).max() < 1e-6
    assert res.segments().segment.tolist() == one.labels.tolist()
    assert res.rejects().reason.tolist() == one.rejects.reason.tolist()


def test_sampled_quantiles_stay_within_their_rank_bound(client, table, tmp_path):
    """Above exact_limit the quantiles come from a seeded sample: the median and the fences
    must sit within the reported rank error of the exact ones."""
    one = segmenter.segment(table, progress=False)
    ddf = dd.from_pandas(table, npartitions=4)
    res = sdask.segment(ddf, tmp_path / "out", sample_rows=1000, exact_limit=5000)
    s = res.summary
    assert s["statistics"] == "sampled quantiles"
    eps = s["quantile_rank_error"]
    # About 5000 / 5 columns = 1000 values sampled a column: eps = sqrt(ln(2e6) / 2m).
    m = math.log(2 / 1e-6) / (2 * eps**2)
    assert 850 < m < 1000, m
    exact = {t["column"]: t for t in json.loads(one.model.to_json())["prep"]["transforms"]}
    for t in res.model["prep"]["transforms"]:
        v = pd.to_numeric(table[t["column"]], errors="coerce")
        v = np.sort(v[np.isfinite(v)].to_numpy())
        rank = np.searchsorted(v, t["impute"]) / len(v)
        assert abs(rank - 0.5) <= eps, (t["column"], rank)
        # Means and deviations stay exact (power sums): the scaling matches to rounding
        # where the clip fence moved little.
        assert t["scale"] == pytest.approx(exact[t["column"]]["scale"], rel=0.05)
    seg = res.segments()
    # Above exact_limit the profile comes from per-partition moments: the library's layout,
    # sizes and means of the segments found, medians left empty.
    prof = pd.read_csv(tmp_path / "out" / "profile.csv")
    assert prof.columns.tolist() == one.profile.columns.tolist()
    assert prof["size"].tolist()[:-1] == seg.segment.value_counts().sort_index().tolist()
    real = pd.to_numeric(seg["Time on App"], errors="coerce")
    np.testing.assert_allclose(
        prof["Time on App mean"][:-1], real.groupby(seg.segment).mean().to_numpy(), rtol=1e-12
    )
    assert prof["Time on App median"].isna().all()
    agree = np.mean(seg.segment.to_numpy() == one.labels)
    assert agree > 0.99, agree
    assert len(seg) + len(res.rejects()) == len(table)


def test_sampled_mode_keeps_means_and_deviations_exact(client, table, tmp_path):
    """impute="mean" and the z-score fence use power sums over the partitions, exact even
    when quantiles are sampled."""
    opts = {"impute": "mean", "outlier_method": "zscore"}
    one = segmenter.segment(table, progress=False, **opts)
    ddf = dd.from_pandas(table, npartitions=4)
    res = sdask.segment(ddf, tmp_path / "out", sample_rows=1000, exact_limit=5000, **opts)
    assert res.summary["statistics"] == "sampled quantiles"
    exact = {t["column"]: t for t in json.loads(one.model.to_json())["prep"]["transforms"]}
    for t in res.model["prep"]["transforms"]:
        e = exact[t["column"]]
        assert t["impute"] == pytest.approx(e["impute"], rel=1e-9)
        assert t["clip"] == pytest.approx(e["clip"], rel=1e-9)


def test_same_partitioning_same_result(client, table, tmp_path):
    ddf = dd.from_pandas(table, npartitions=3)
    a = sdask.segment(ddf, tmp_path / "a", k=3)
    b = sdask.segment(ddf, tmp_path / "b", k=3)
    assert a.model["centroids"] == b.model["centroids"]
    assert (tmp_path / "a" / "model.json").read_text() == (
        tmp_path / "b" / "model.json"
    ).read_text()


def test_unsupported_options_are_refused(client, table, tmp_path):
    ddf = dd.from_pandas(table, npartitions=2)
    with pytest.raises(ValueError, match='algorithm="dbscan" is not available on a Dask'):
        sdask.segment(ddf, tmp_path, algorithm="dbscan")
    with pytest.raises(ValueError, match="outliers='drop' is not available on a Dask"):
        sdask.segment(ddf, tmp_path, outliers="drop")


def test_worker_killed_mid_segment_gives_the_same_result(table, tmp_path, monkeypatch):
    """A worker process killed (by pid) during the distributed fit, its persisted partitions
    lost with it: Dask recomputes them from the graph and every output is unchanged."""
    import os
    import signal

    # Its own cluster: the kill must not disturb the module's workers.
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )  # fmt: skip
    with cluster, distributed.Client(cluster) as client:
        ddf = dd.from_pandas(table, npartitions=4)
        quiet = sdask.segment(ddf, tmp_path / "quiet", sample_rows=1000)
        assert quiet.summary["final_fit"] == "distributed"
        pids = sorted(client.run(os.getpid).values())
        assert len(pids) == 2
        passes = []
        reduce = sdask.KMeans._reduce

        def killing_reduce(self, centroids):
            # On the second pass of the fit, before its tasks go out, a worker dies.
            if len(passes) == 1:
                os.kill(pids[0], signal.SIGKILL)
            passes.append(1)
            return reduce(self, centroids)

        monkeypatch.setattr(sdask.KMeans, "_reduce", killing_reduce)
        disturbed = sdask.segment(ddf, tmp_path / "disturbed", sample_rows=1000)
        assert len(passes) > 2, len(passes)
        assert pids[0] not in client.run(os.getpid).values()
    assert disturbed.model["centroids"] == quiet.model["centroids"]
    assert disturbed.segments().segment.tolist() == quiet.segments().segment.tolist()
    assert disturbed.rejects().reason.tolist() == quiet.rejects().reason.tolist()
    assert (tmp_path / "disturbed" / "model.json").read_text() == (
        tmp_path / "quiet" / "model.json"
    ).read_text()
