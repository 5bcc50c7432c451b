"""DataFrames in and out: any supported input becomes Arrow columns handed to Rust without a
copy (NumPy views of numbers, Arrow string buffers); results come back as a DataFrame of the
input's library."""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np

from . import _segmenter

PANDAS, POLARS, PYARROW = "pandas", "polars", "pyarrow"


def _pa():
    import pyarrow as pa

    return pa


def library_of(data: Any) -> str:
    """The library results are returned in: the input's, pandas for anything else."""
    root = type(data).__module__.split(".")[0]
    if root == "polars":
        return POLARS
    if root == "pyarrow":
        return PYARROW
    return PANDAS


def is_path(data: Any) -> bool:
    return isinstance(data, (str, os.PathLike))


def _pandas_to_arrow(df):
    pa = _pa()
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # Object columns mixing types (numbers and text, as a messy export has): read them
        # as the text a CSV of them would hold, missing values kept missing.
        fixed = df.copy()
        for c in fixed.columns:
            if fixed[c].dtype == object:
                col = fixed[c]
                fixed[c] = col.where(col.isna(), col.astype(str))
        return pa.Table.from_pandas(fixed, preserve_index=False)


def to_arrow(data: Any):
    """A pyarrow Table of `data`: pandas, polars, pyarrow, or an `__arrow_c_stream__` object."""
    pa = _pa()
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    root = type(data).__module__.split(".")[0]
    if root == "pandas":
        return _pandas_to_arrow(data)
    if root == "polars":
        return data.to_arrow()
    if hasattr(data, "__arrow_c_stream__"):
        return pa.RecordBatchReader.from_stream(data).read_all()
    if isinstance(data, dict):
        return pa.table(data)
    raise TypeError(
        "expected a pandas or polars DataFrame, a pyarrow Table, an object with "
        f"__arrow_c_stream__, or a path; got {type(data).__name__}"
    )


def _mask(arr):
    if arr.null_count == 0:
        return None
    return np.ascontiguousarray(arr.is_null().to_numpy(zero_copy_only=False))


def _strings(arr) -> tuple:
    """("str", offsets, data, nulls) over the Arrow buffers of a large_string array."""
    pa = _pa()
    arr = arr.cast(pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    bufs = arr.buffers()
    if n == 0 or bufs[1] is None:
        offsets = np.zeros(n + 1, dtype=np.int64)
    else:
        offsets = np.frombuffer(bufs[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
        if not offsets.flags.aligned:
            # Buffers unpickled from a Dask worker's message can start at any byte; the
            # engine reads offsets as an aligned i64 slice.
            offsets = offsets.copy()
    data = (
        np.frombuffer(bufs[2], dtype=np.uint8)
        if len(bufs) > 2 and bufs[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    return ("str", offsets, data, _mask(arr))


def column_spec(col) -> tuple:
    """One Arrow column as the tuple `_segmenter.table_from_columns` takes."""
    pa = _pa()
    import pyarrow.compute as pc

    t = col.type
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = t.value_type
    if pa.types.is_float32(t):
        return ("f32", np.ascontiguousarray(col.to_numpy(zero_copy_only=False), dtype=np.float32))
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        v = col.cast(pa.float64()) if not pa.types.is_float64(t) else col
        return ("f64", np.ascontiguousarray(v.to_numpy(zero_copy_only=False), dtype=np.float64))
    if pa.types.is_integer(t):
        mask = _mask(col)
        v = col.fill_null(0) if mask is not None else col
        return ("i64", np.ascontiguousarray(v.to_numpy(zero_copy_only=False), dtype=np.int64), mask)
    if pa.types.is_timestamp(t):
        return _strings(pc.strftime(col, format="%Y-%m-%dT%H:%M:%S"))
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t):
        return _strings(col)
    try:
        return _strings(col.cast(pa.large_string()))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        values = [None if v is None else str(v) for v in col.to_pylist()]
        return _strings(pa.array(values, type=pa.large_string()))


def columns_of(table) -> tuple[list[str], list[tuple]]:
    names = [str(n) for n in table.column_names]
    return names, [column_spec(table.column(i)) for i in range(table.num_columns)]


def native_table(
    data: Any,
    name: str,
    table: str | None = None,
    query: str | None = None,
    sheet: str | None = None,
    decimal: str | None = None,
    dayfirst: bool = False,
    date_format: str | None = None,
):
    """The engine's table of `data` and the Arrow table it came from (None for a path)."""
    if is_path(data):
        native = _segmenter.table_from_path(
            os.fspath(data), table, query, sheet, decimal, dayfirst, date_format
        )
        return native, None
    arrow = to_arrow(data)
    names, specs = columns_of(arrow)
    native = _segmenter.table_from_columns(name, names, specs, dayfirst, date_format)
    return native, arrow


def csv_text(data: Any) -> bytes:
    """`data` as the CSV text the engine reads (for log files handed to `features`)."""
    names, specs = columns_of(to_arrow(data))
    return _segmenter.csv_from_columns(names, specs)


def from_columns(columns: dict, library: str):
    """A DataFrame of `library` from a dict of equal-length columns."""
    if library == POLARS:
        import polars as pl

        return pl.DataFrame(columns)
    if library == PYARROW:
        return _pa().table(columns)
    import pandas as pd

    return pd.DataFrame(columns)


def from_csv(text: bytes, library: str):
    """A DataFrame of `library` parsed from CSV text."""
    if library == POLARS:
        import polars as pl

        return pl.read_csv(io.BytesIO(text), infer_schema_length=10000)
    if library == PYARROW:
        import pyarrow.csv as pacsv

        return pacsv.read_csv(io.BytesIO(text))
    import pandas as pd

    return pd.read_csv(io.BytesIO(text))


def take(original: Any, arrow, rows: np.ndarray, library: str):
    """The rows `rows` (0-based positions) of the input, in its own library."""
    if library == POLARS:
        return original[rows]
    if library == PANDAS and type(original).__module__.split(".")[0] == "pandas":
        return original.take(rows)
    taken = arrow.take(rows)
    if library == PYARROW:
        return taken
    return taken.to_pandas()


def names_column(names: list, labels: np.ndarray, library: str):
    """The name of each row's segment (label -1: "noise"), without a Python string per row:
    a pandas Categorical, else the names gathered by label."""
    names = list(names) + ["noise"]
    codes = np.where(labels < 0, len(names) - 1, labels).astype(np.int64)
    if library == POLARS:
        import polars as pl

        return pl.Series(names, dtype=pl.String).gather(codes)
    if library == PYARROW:
        pa = _pa()
        return pa.array(names, type=pa.string()).take(pa.array(codes))
    import pandas as pd

    return pd.Categorical.from_codes(codes, categories=names)


def with_columns(frame, columns: dict, library: str, front: bool = False):
    """`frame` with `columns` added (replacing any of the same name)."""
    if library == POLARS:
        import polars as pl

        new = [
            v.alias(k) if isinstance(v, pl.Series) else pl.Series(k, v) for k, v in columns.items()
        ]
        if front:
            rest = [c for c in frame.columns if c not in columns]
            return frame.select(rest).with_columns(new).select(list(columns) + rest)
        return frame.with_columns(new)
    if library == PYARROW:
        pa = _pa()
        for k, v in columns.items():
            if k in frame.column_names:
                frame = frame.drop_columns([k])
        arrays = {k: v if isinstance(v, pa.Array) else pa.array(v) for k, v in columns.items()}
        if front:
            for i, (k, v) in enumerate(arrays.items()):
                frame = frame.add_column(i, k, v)
        else:
            for k, v in arrays.items():
                frame = frame.append_column(k, v)
        return frame
    for i, (k, v) in enumerate(columns.items()):
        if front:
            if k in frame.columns:
                frame = frame.drop(columns=[k])
            frame.insert(i, k, v)
        else:
            frame[k] = v
    return frame
