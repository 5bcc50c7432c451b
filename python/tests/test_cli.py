"""`python -m segmenter run`: without --dask the same files as the `segmenter` binary; with
--dask on a scheduler and two workers started as separate programs on 127.0.0.1, the same
segments and rejects (bad partitions included) and the same messages."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli, segmenter_bin

PY = [sys.executable, "-m", "segmenter"]


def _py(*args, check=True, **kw):
    p = subprocess.run([*PY, *map(str, args)], check=False, capture_output=True, text=True, **kw)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_run_without_dask_writes_what_the_binary_writes(customers_csv, tmp_path):
    flags = ["--k", "3", "--seed", "4", "--quiet"]
    cli("run", customers_csv, "--out", tmp_path / "bin", *flags)
    _py("run", customers_csv, "--out", tmp_path / "py", *flags)
    bin_files = sorted(p.relative_to(tmp_path / "bin") for p in (tmp_path / "bin").rglob("*"))
    py_files = sorted(p.relative_to(tmp_path / "py") for p in (tmp_path / "py").rglob("*"))
    assert py_files == bin_files
    for f in ("segments.csv", "rejects.csv", "profile.csv", "model.json"):
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "bin" / f).read_bytes(), f


def test_run_reports_bad_input_like_the_binary(tmp_path):
    missing = tmp_path / "nope.csv"
    b = subprocess.run(
        [segmenter_bin(), "run", missing], check=False, capture_output=True, text=True
    )
    p = _py("run", missing, check=False)
    assert b.returncode != 0 and p.returncode == 1
    assert p.stderr.strip() == b.stderr.strip()
    p = _py("run", tmp_path / "none-*.csv", check=False)
    assert p.returncode == 1
    assert (
        p.stderr.strip() == f"segmenter: error: {tmp_path}/none-*.csv: no file matches this pattern"
    )


def _wait(pred, what, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s")


@pytest.fixture()
def scheduler(tmp_path):
    """A `dask scheduler` and two `dask worker` programs on 127.0.0.1 (bounded waits), stopped
    by pid at the end, also when the test fails."""
    dask_cli = str(Path(sys.executable).with_name("dask"))
    sf = tmp_path / "scheduler.json"
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    procs = []
    logs = []

    def start(*args):
        log = open(tmp_path / f"proc{len(procs)}.log", "w")  # noqa: SIM115 (closed at the end)
        logs.append(log)
        procs.append(
            subprocess.Popen(
                [dask_cli, *args], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path
            )
        )

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", sf)  # fmt: skip
        _wait(sf.exists, "the scheduler file")
        for _ in range(2):
            start("worker", "--scheduler-file", sf, "--nthreads", "1", "--nworkers", "1",
                  "--no-dashboard", "--host", "127.0.0.1", "--no-nanny")  # fmt: skip
        import json

        import distributed

        address = json.loads(sf.read_text())["address"]
        with distributed.Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
            assert len(c.scheduler_info()["workers"]) == 2
        yield address
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        for log in logs:
            log.close()


def test_run_on_a_cluster_of_separate_programs(scheduler, customers_csv, tmp_path):
    text = pd.read_csv(customers_csv, dtype=str, keep_default_na=False)
    text.loc[1700, "Time on App"] = "n/a?"
    text.loc[1800, "Length of Membership"] = "-inf"
    parts = tmp_path / "parts"
    parts.mkdir()
    text.iloc[:1500].to_csv(parts / "part-0.csv", index=False)
    text.iloc[:0].to_csv(parts / "part-1.csv", index=False)  # an empty partition
    text.iloc[1500:].to_csv(parts / "part-2.csv", index=False)  # the bad values
    whole = tmp_path / "whole.csv"
    text.to_csv(whole, index=False)
    cli("run", whole, "--out", tmp_path / "one", "--quiet")
    p = _py("run", "--dask", scheduler, parts / "part-*.csv", "--out", tmp_path / "dask",
            "--json", timeout=300)  # fmt: skip
    assert '"rows_in": 3000' in p.stdout
    seg = pd.read_parquet(tmp_path / "dask" / "segments")
    rej = pd.read_parquet(tmp_path / "dask" / "rejects")
    one_seg = pd.read_csv(tmp_path / "one" / "segments.csv")
    one_rej = pd.read_csv(tmp_path / "one" / "rejects.csv")
    assert len(seg) + len(rej) == 3000
    assert seg.segment.tolist() == one_seg.segment.tolist()
    assert rej.row.tolist() == one_rej.row.tolist()
    assert rej.reason.tolist() == one_rej.reason.tolist()
    reasons = dict(zip(rej.row, rej.reason))
    assert reasons[1701] == "column 'Time on App': 'n/a?' is not a number"
    assert reasons[1801] == "column 'Length of Membership': '-inf' is not a finite number"
    assert sorted(os.listdir(tmp_path / "dask" / "segments")) == [
        "part.00000.parquet",
        "part.00002.parquet",
    ]
    for f in ("model.json", "profile.csv", "report.html", "report.md", "summary.json"):
        assert (tmp_path / "dask" / f).exists(), f
    # Parquet parts (typed columns): the same segments as the binary on the whole file.
    typed = pd.read_csv(customers_csv)
    typed.iloc[:2000].to_parquet(parts / "p-0.parquet", index=False)
    typed.iloc[2000:].to_parquet(parts / "p-1.parquet", index=False)
    typed.to_parquet(tmp_path / "whole.parquet", index=False)
    cli("run", tmp_path / "whole.parquet", "--out", tmp_path / "one-pq", "--quiet", "--k", "3")
    _py("run", "--dask", scheduler, parts / "p-*.parquet", "--out", tmp_path / "dask-pq",
        "--quiet", "--k", "3", timeout=300)  # fmt: skip
    seg = pd.read_parquet(tmp_path / "dask-pq" / "segments")
    one_seg = pd.read_csv(tmp_path / "one-pq" / "segments.csv")
    assert seg.segment.tolist() == one_seg.segment.tolist()
    assert len(pd.read_parquet(tmp_path / "dask-pq" / "rejects")) == 3000 - len(seg)
    # A file of the list that does not exist: the message the binary prints for it.
    missing = parts / "part-9.csv"
    b = subprocess.run(
        [segmenter_bin(), "run", missing], check=False, capture_output=True, text=True
    )
    p = _py("run", "--dask", scheduler, parts / "part-0.csv", missing, check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == b.stderr.strip()


def test_the_console_script_is_the_same_command():
    exe = Path(sys.executable).with_name("segmenter-py")
    p = subprocess.run([exe, "run", "--help"], check=False, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "--dask tcp://HOST:PORT" in p.stdout and "--k-range" in p.stdout
