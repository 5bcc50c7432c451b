"""Per-customer tables from logs, as `segmenter features rfm|events` writes them:
`rfm(transactions)` and `events(clickstream)` return DataFrames."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from . import _frames, _segmenter


def _derive(kind: str, data: Any, return_rejects: bool, options: dict):
    library = _frames.PANDAS if _frames.is_path(data) else _frames.library_of(data)
    if _frames.is_path(data):
        table, rejects, summary = _segmenter.derive(kind, os.fspath(data), options)
    else:
        # The builders stream a file once; a DataFrame goes through a temporary CSV of it.
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "log.csv")
            with open(path, "wb") as f:
                f.write(_frames.csv_text(data))
            table, rejects, summary = _segmenter.derive(kind, path, options)
    out = _frames.from_csv(table, library)
    if return_rejects:
        return out, _frames.from_csv(rejects, library), summary
    return out


def rfm(data: Any, *, return_rejects: bool = False, **options: Any):
    """One row per customer from transaction lines: `customer_id, recency_days, frequency,
    monetary, tenure_days, avg_order_value, return_rate, r_score, f_score, m_score,
    rfm_segment`. Options (columns are detected when not given): customer, date, amount,
    quantity, price, invoice, as_of, dayfirst, table, query. With `return_rejects=True`,
    returns (table, rejected lines, summary)."""
    return _derive("rfm", data, return_rejects, options)


def events(data: Any, *, return_rejects: bool = False, **options: Any):
    """One row per user from clickstream events (`segmenter features events`). Options:
    user, time, type, session, product, category, brand, price, threads, as_of, dayfirst,
    table, query. With `return_rejects=True`, returns (table, rejected lines, summary)."""
    return _derive("events", data, return_rejects, options)
