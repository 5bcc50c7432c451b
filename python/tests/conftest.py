"""Shared fixtures: small tables made by the segmenter binary (the CLI the package is compared
with), built by `cargo build --release` (scripts/test-all.sh does it first)."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def segmenter_bin() -> str:
    exe = os.environ.get("SEGMENTER_BIN", str(ROOT / "target" / "release" / "segmenter"))
    if not os.path.exists(exe):
        pytest.fail(f"the segmenter binary is missing at {exe}: run cargo build --release first")
    return exe


def cli(*args, **kw):
    """Runs the binary; returns the completed process (stdout/stderr as text)."""
    p = subprocess.run(
        [segmenter_bin(), *map(str, args)], capture_output=True, text=True, check=False, **kw
    )
    assert p.returncode == 0, p.stderr
    return p


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def customers_csv(data_dir):
    """3,000 generated customers (missing values, duplicates, outliers, quoted addresses)."""
    path = data_dir / "customers.csv"
    cli("generate", "customers", "--rows", 3000, "--seed", 1, "-o", path)
    return path


@pytest.fixture(scope="session")
def new_customers_csv(data_dir):
    path = data_dir / "new.csv"
    cli("generate", "customers", "--rows", 1000, "--seed", 7, "-o", path)
    return path


@pytest.fixture(scope="session")
def mixed_csv(data_dir):
    path = data_dir / "mixed.csv"
    cli("generate", "mixed", "--rows", 2000, "--seed", 1, "-o", path)
    return path


@pytest.fixture(scope="session")
def transactions_csv(data_dir):
    path = data_dir / "orders.csv"
    cli("generate", "transactions", "--customers", 300, "--seed", 1, "-o", path)
    return path


@pytest.fixture(scope="session")
def events_csv(data_dir):
    path = data_dir / "events.csv"
    cli("generate", "events", "--users", 200, "--seed", 1, "-o", path)
    return path


@pytest.fixture(scope="module")
def client():
    """A real Dask cluster for one test module: two worker processes, everything on loopback,
    the dashboard on a free port (None still takes :8787 here)."""
    import distributed

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()
