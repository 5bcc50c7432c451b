"""segment() on DataFrames and files, against the CLI on the same data."""

import io
import pickle

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from conftest import cli

import segmenter

OUT_COLUMNS = ["segment", "segment_name", "pc1", "pc2", "distance_to_centroid"]


def cli_spelling(model_json: str) -> str:
    """A model's column notes with the parameter spelled as the CLI spells it (id → --id)."""
    for name in ["id", "drop"]:
        model_json = model_json.replace(f'"note": "{name}', f'"note": "--{name}')
    return model_json


@pytest.fixture(scope="module")
def frame(customers_csv):
    return pd.read_csv(customers_csv)


@pytest.fixture(scope="module")
def seg(frame):
    return segmenter.segment(frame, k=4, seed=1, progress=False)


@pytest.fixture(scope="module")
def cli_run(customers_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli-run")
    cli("run", customers_csv, "--k", 4, "--seed", 1, "--out", out, "--quiet")
    return out


def test_pandas_segments_match_the_cli_run(seg, frame, cli_run):
    cli_segments = pd.read_csv(cli_run / "segments.csv")
    s = seg.segments
    assert list(s.columns) == list(frame.columns) + OUT_COLUMNS
    # Same rows (the CLI's `row` is 1-based), same segments and names.
    assert (s.index.to_numpy() + 1).tolist() == cli_segments["row"].tolist()
    assert s["segment"].tolist() == cli_segments["segment"].tolist()
    assert s["segment_name"].tolist() == cli_segments["segment_name"].tolist()
    np.testing.assert_allclose(
        s["distance_to_centroid"], cli_segments["distance_to_centroid"], atol=6e-5
    )
    np.testing.assert_allclose(s["pc1"], cli_segments["pc1"], atol=6e-5)
    # The input's own values come back unchanged.
    pd.testing.assert_frame_equal(s[list(frame.columns)], frame.loc[s.index])


def test_every_row_is_segmented_or_rejected(seg, frame, cli_run):
    rej = seg.rejects
    assert list(rej.columns[:2]) == ["row", "reason"]
    assert len(seg.segments) + len(rej) == len(frame)
    assert set(seg.segments.index).isdisjoint(rej.index)
    cli_rej = pd.read_csv(cli_run / "rejects.csv")
    assert rej["row"].tolist() == cli_rej["row"].tolist()
    assert rej["reason"].tolist() == cli_rej["reason"].tolist()
    assert rej["reason"].str.startswith("duplicate of row").sum() > 0


def test_pandas_polars_pyarrow_inputs_give_identical_segments(customers_csv, seg):
    want = seg.segments
    for data, library in [
        (pl.read_csv(customers_csv), pl.DataFrame),
        (pacsv.read_csv(customers_csv), pa.Table),
    ]:
        got = segmenter.segment(data, k=4, seed=1, progress=False)
        s = got.segments
        assert isinstance(s, library)
        assert isinstance(got.rejects, library)
        for col in ["segment", "segment_name", "distance_to_centroid", "pc1", "pc2"]:
            values = s[col].to_list() if library is pl.DataFrame else s.column(col).to_pylist()
            assert values == want[col].tolist(), col
        assert np.array_equal(got.labels, seg.labels)


def test_arrow_stream_capsule_input(customers_csv, seg):
    class Stream:
        """Only the PyCapsule interface, as another library would export it."""

        def __init__(self, table):
            self.table = table

        def __arrow_c_stream__(self, requested_schema=None):
            return self.table.__arrow_c_stream__(requested_schema)

    got = segmenter.segment(Stream(pacsv.read_csv(customers_csv)), k=4, seed=1, progress=False)
    assert isinstance(got.segments, pd.DataFrame)
    assert got.segments["segment"].tolist() == seg.segments["segment"].tolist()


def test_path_input_saves_the_files_run_writes(customers_csv, cli_run, tmp_path):
    got = segmenter.segment(customers_csv, k=4, seed=1, progress=False)
    out = got.save(tmp_path / "out")
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    want = sorted(p.relative_to(cli_run).as_posix() for p in cli_run.rglob("*"))
    assert names == want
    for f in ["segments.csv", "rejects.csv", "model.json", "profile.csv"]:
        assert (out / f).read_bytes() == (cli_run / f).read_bytes(), f
    # A path's segments are segments.csv as run writes it.
    s = got.segments
    assert list(s.columns[:1]) == ["row"] and list(s.columns[-5:]) == OUT_COLUMNS
    assert s["segment"].tolist() == pd.read_csv(cli_run / "segments.csv")["segment"].tolist()


def test_options_mean_what_runs_flags_mean(customers_csv, tmp_path):
    options = {
        "k_range": "3..6",
        "impute": "mean",
        "outliers": "drop",
        "outlier_method": "zscore",
        "scale": "robust",
        "log": "auto",
        "id": "Email",
        "drop": ["Address"],
        "silhouette_sample": 500,
        "n_init": 2,
        "compare": ["hierarchical"],
    }
    got = segmenter.segment(customers_csv, seed=3, progress=False, **options)
    got.save(tmp_path / "py")
    cli(
        "run", customers_csv, "--seed", 3, "--k-range", "3..6", "--impute", "mean",
        "--outliers", "drop", "--outlier-method", "zscore", "--scale", "robust", "--log", "auto",
        "--id", "Email", "--drop", "Address", "--silhouette-sample", 500, "--n-init", 2,
        "--compare=hierarchical", "--out", tmp_path / "cli", "--quiet",
    )  # fmt: skip
    for f in ["segments.csv", "profile.csv"]:
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f
    # Notes and reasons name a parameter as each front end spells it (id, --id); otherwise
    # the model and the rejects are the same.
    model = cli_spelling((tmp_path / "py" / "model.json").read_text())
    assert model == (tmp_path / "cli" / "model.json").read_text()
    py_rej, cli_rej = (pd.read_csv(tmp_path / d / "rejects.csv") for d in ["py", "cli"])
    assert py_rej["reason"].str.contains('outliers="drop"').sum() > 0
    py_rej["reason"] = py_rej["reason"].str.replace('outliers="drop"', "--outliers drop")
    pd.testing.assert_frame_equal(py_rej, cli_rej)
    assert got.comparison["algorithm"].tolist() == ["kmeans", "hierarchical"]


def test_profile_k_choice_and_report(frame):
    auto = segmenter.segment(frame, seed=1, progress=False)
    kc = auto.k_choice
    assert kc["k"].tolist() == list(range(2, 11))
    assert kc.loc[kc["chosen"], "k"].tolist() == [auto.k]
    assert (np.diff(kc["inertia"]) < 0).all()
    prof = auto.profile
    assert prof["segment"].astype(str).tolist() == [str(i) for i in range(auto.k)] + ["all"]
    assert prof["size"].iloc[:-1].sum() == prof["size"].iloc[-1] == len(auto.segments)
    page = auto.report_html()
    assert page.lstrip().lower().startswith("<!doctype html")
    for name in auto.segment_names:
        assert name in page
    shown = auto._repr_html_()
    assert shown.startswith("<iframe") and "srcdoc=" in shown and "<html" not in shown
    assert repr(auto).startswith(f"<Segmentation kmeans k={auto.k}:")
    fixed = segmenter.segment(frame, k=3, progress=False)
    assert fixed.k_choice is None and fixed.k == 3


def test_predict_on_a_reloaded_model_equals_cli_predict(seg, new_customers_csv, tmp_path):
    out = seg.save(tmp_path / "run")
    model = segmenter.load_model(out / "model.json")
    new = pd.read_csv(new_customers_csv)
    scored, rejects = model.predict(new, return_rejects=True)
    cli("predict", out / "model.json", new_customers_csv, "-o", tmp_path / "scored.csv")
    want = pd.read_csv(tmp_path / "scored.csv")
    assert (scored.index.to_numpy() + 1).tolist() == want["row"].tolist()
    assert scored["segment"].tolist() == want["segment"].tolist()
    assert scored["segment_name"].tolist() == want["segment_name"].tolist()
    np.testing.assert_allclose(
        scored["distance_to_centroid"], want["distance_to_centroid"], atol=6e-5
    )
    assert len(scored) + len(rejects) == len(new)
    # The in-memory model scores as the saved one, and survives pickling.
    again = pickle.loads(pickle.dumps(seg.model)).predict(new)
    assert again["segment"].tolist() == scored["segment"].tolist()


def test_features_rfm_equals_cli(transactions_csv, tmp_path):
    orders = pd.read_csv(transactions_csv)
    got = segmenter.features.rfm(orders)
    cli("features", "rfm", transactions_csv, "-o", tmp_path / "rfm.csv")
    want = pd.read_csv(tmp_path / "rfm.csv")
    pd.testing.assert_frame_equal(got, want)
    from_path, rejects, summary = segmenter.features.rfm(transactions_csv, return_rejects=True)
    pd.testing.assert_frame_equal(from_path, want)
    assert list(rejects.columns[:3]) == ["row", "customer_id", "reason"]
    assert summary["customers"] == len(want)
    with pytest.raises(TypeError, match="'colour'"):
        segmenter.features.rfm(orders, colour="red")


def test_features_events_equals_cli(events_csv, tmp_path):
    got = segmenter.features.events(pd.read_csv(events_csv), as_of="2024-06-01")
    cli("features", "events", events_csv, "--as-of", "2024-06-01", "-o", tmp_path / "users.csv")
    want = pd.read_csv(tmp_path / "users.csv")
    assert len(want) > 100
    pd.testing.assert_frame_equal(got, want)
    pl_got = segmenter.features.events(pl.read_csv(events_csv), as_of="2024-06-01")
    assert isinstance(pl_got, pl.DataFrame) and pl_got.height == len(want)


def test_segment_from_transactions_equals_run_from(transactions_csv, tmp_path):
    orders = pd.read_csv(transactions_csv)
    got = segmenter.segment(orders, k=3, seed=2, from_="transactions", progress=False)
    got.save(tmp_path / "py")
    cli(
        "run", transactions_csv, "--from", "transactions", "--k", 3, "--seed", 2,
        "--out", tmp_path / "cli", "--quiet",
    )  # fmt: skip
    for f in ["segments.csv", "profile.csv"]:
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f
    model = cli_spelling((tmp_path / "py" / "model.json").read_text())
    assert model == (tmp_path / "cli" / "model.json").read_text()
    assert "customer_id" in got.segments.columns and got.k == 3
    with pytest.raises(ValueError, match='from_="orders"'):
        segmenter.segment(orders, from_="orders", progress=False)


def test_progress_bar_and_its_switch(frame, capsys):
    segmenter.segment(frame.head(600), k=3, progress=True)
    err = capsys.readouterr().err
    assert "segmented" in err and "stage" in err
    segmenter.segment(frame.head(600), k=3, progress=False)
    assert capsys.readouterr().err == ""


def test_mixed_table_with_kprototypes(mixed_csv):
    df = pd.read_csv(mixed_csv)
    got = segmenter.segment(df, k=4, algorithm="kprototypes", compare=["kmeans"], progress=False)
    assert got.summary["algorithm"] == "kprototypes" and got.k == 4
    assert got.comparison["algorithm"].tolist() == ["kprototypes", "kmeans"]
    assert io.StringIO(got.model.to_json()).read().count('"kprototypes"') >= 1
