"""Generated tables (`segmenter generate`) as DataFrames, for examples and benchmarks."""

from __future__ import annotations

import os
import tempfile

from . import _segmenter


def _load(kind: str, n: int, seed: int, path):
    import pandas as pd

    if path is not None:
        _segmenter.generate(kind, os.fspath(path), int(n), int(seed))
        return pd.read_csv(path)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, f"{kind}.csv")
        _segmenter.generate(kind, p, int(n), int(seed))
        return pd.read_csv(p)


def customers(rows: int = 10_000, seed: int = 1, path=None):
    """The e-commerce export of the user notebooks (Email, Address, Avg Session Length, Time
    on App, Time on Website, Length of Membership, Yearly Amount Spent) from four planted
    segments, with missing values, duplicates and outliers; also written to `path` if given."""
    return _load("customers", rows, seed, path)


def mixed(rows: int = 10_000, seed: int = 1, path=None):
    """A mall-style table with categorical columns (gender, city, membership) and numbers."""
    return _load("mixed", rows, seed, path)


def transactions(customers: int = 1_000, seed: int = 1, path=None):
    """Invoice lines of `customers` customers (for `features.rfm`)."""
    return _load("transactions", customers, seed, path)
