"""`segment()`: the whole workflow of `segmenter run` on a DataFrame or a file, returning a
`Segmentation`; `load_model()` and `Model.predict()` score new rows."""

from __future__ import annotations

import html
import os
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import _frames, _segmenter
from ._progress import make_bar

#: Keyword options of `segment()`: `segmenter run`'s flags with Python names.
OPTIONS = (
    "k_range",
    "silhouette_sample",
    "sweep_sample",
    "n_init",
    "compare",
    "eps",
    "min_samples",
    "gamma",
    "micro_clusters",
    "impute",
    "outliers",
    "outlier_method",
    "scale",
    "log",
    "id",
    "drop",
    "categorical",
    "numeric",
)


def segment(
    data: Any,
    k: Any = "auto",
    algorithm: str = "kmeans",
    backend: str = "auto",
    seed: int = 0,
    *,
    progress: Any = "auto",
    name: str | None = None,
    table: str | None = None,
    query: str | None = None,
    sheet: str | None = None,
    decimal: str | None = None,
    dayfirst: bool = False,
    date_format: str | None = None,
    from_: str | None = None,
    **options: Any,
) -> Segmentation:
    """Segments a customer table as `segmenter run` does and returns a `Segmentation`.

    `data` is a pandas or polars DataFrame, a pyarrow Table, any object exporting
    `__arrow_c_stream__`, or a path (CSV, .csv.gz, Parquet, SQLite with `table=` or
    `query=`, a spreadsheet with `sheet=`; `decimal="," ` forces decimal commas). Text dates
    are read day first with `dayfirst=True`, or in `date_format` (strftime). `k` is a number of segments or "auto" (chosen over `k_range`, 2..10 by
    default). Other options are `run`'s flags with Python names: k_range, silhouette_sample,
    sweep_sample, n_init, compare, eps, min_samples, gamma, micro_clusters, impute, outliers,
    outlier_method, scale, log, id, drop, categorical, numeric. An unknown option is a
    TypeError; a bad value a ValueError with the message the CLI prints. `progress=False`
    hides the progress bar (shown when tqdm is installed).

    `from_="transactions"` or `from_="events"` (`run --from`) segments the customer table
    derived from a transaction or event log (`data`), keyed by customer_id, with log1p on
    skewed columns unless `log` is given; the column and date options of `features.rfm` /
    `features.events` (customer, date, amount, ..., as_of, dayfirst) may be given too.
    """
    opts = dict(options)
    opts.update(k=k, algorithm=algorithm, backend=backend, seed=seed)
    if from_ is not None:
        opts.update(dayfirst=dayfirst, date_format=date_format, sheet=sheet)
        return _segment_derived(data, from_, opts, progress, table, query)
    if name is None:
        name = os.path.basename(os.fspath(data)) if _frames.is_path(data) else "dataframe"
    native_table, arrow = _frames.native_table(
        data, name, table, query, sheet, decimal, dayfirst, date_format
    )
    bar = make_bar(progress, opts)
    try:
        native = _segmenter.fit(native_table, opts, bar)
    finally:
        if bar is not None:
            bar.close()
    return Segmentation(native, native_table, data, arrow)


def _segment_derived(data, from_, opts, progress, table, query) -> Segmentation:
    names = _segmenter.RFM_OPTIONS if from_ == "transactions" else _segmenter.EVENTS_OPTIONS
    derive = {k: opts.pop(k) for k in list(opts) if k in names and k not in _SEGMENT_OPTIONS}
    derive.update(table=table, query=query)
    bar = make_bar(progress, opts)
    try:
        if _frames.is_path(data):
            native = _segmenter.fit_derived(from_, os.fspath(data), derive, opts, bar)
        else:
            # The log builders stream a file once: a DataFrame goes through a temporary CSV.
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "log.csv")
                with open(path, "wb") as f:
                    f.write(_frames.csv_text(data))
                native = _segmenter.fit_derived(from_, path, derive, opts, bar)
    finally:
        if bar is not None:
            bar.close()
    return Segmentation(native, None, data, None)


#: segment()'s own keywords (never taken for a derivation's options).
_SEGMENT_OPTIONS = frozenset(OPTIONS) | {"k", "algorithm", "backend", "seed"}


class Segmentation:
    """A segmented table: `.segments`, `.rejects`, `.profile`, `.k_choice`, `.model`, the
    report (`report_html()`, `save(dir)`), and its display in Jupyter (the report, inline)."""

    def __init__(self, native, table, data, arrow):
        self._native = native
        self._table = table
        self._data = data
        self._arrow = arrow
        self._library = _frames.PANDAS if arrow is None else _frames.library_of(data)

    # ---- results as DataFrames -------------------------------------------------------
    @cached_property
    def segments(self):
        """The segmented rows with `segment`, `segment_name`, `pc1`, `pc2` and
        `distance_to_centroid` (a DataFrame of the input's library; pandas for a path)."""
        if self._arrow is None:
            return self._read_written("segments.csv", self._native.write_segments)
        rows = self._native.rows()
        labels = self._native.labels()
        pcs = self._native.projection()
        out = _frames.take(self._data, self._arrow, rows, self._library)
        return _frames.with_columns(
            out,
            {
                "segment": labels,
                "segment_name": _frames.names_column(
                    self._native.segment_names(), labels, self._library
                ),
                "pc1": pcs[:, 0].astype(np.float64),
                "pc2": pcs[:, 1].astype(np.float64),
                "distance_to_centroid": self._native.distances().astype(np.float64),
            },
            self._library,
        )

    @cached_property
    def rejects(self):
        """Rejected rows with `row` (1-based, as in messages) and `reason` first, then the
        input's columns."""
        if self._arrow is None:
            return self._read_written("rejects.csv", self._native.write_rejects)
        index, rows, reasons = self._native.rejects()
        out = _frames.take(self._data, self._arrow, index, self._library)
        return _frames.with_columns(
            out, {"row": rows, "reason": list(reasons)}, self._library, front=True
        )

    @cached_property
    def profile(self):
        """`profile.csv`: one row per segment and an `all` row."""
        return _frames.from_csv(self._native.profile_csv(), self._library)

    @cached_property
    def k_choice(self):
        """The k sweep (k, inertia, silhouette, ...; `chosen` marks the k taken), or None when
        k was given."""
        c = self._native.k_choice()
        if c is None:
            return None
        scores = dict(c["scores"])
        scores["chosen"] = [k == c["k"] for k in scores["k"]]
        return _frames.from_columns(scores, self._library)

    @cached_property
    def model(self) -> Model:
        """The model that scores new rows as these were scored (`Model.predict`)."""
        return Model(self._native.model())

    @cached_property
    def summary(self) -> dict:
        """What `run --json` prints: k, rows in, segmented and rejected, silhouette,
        inertia, backend, stage seconds, notes."""
        return self._native.summary()

    @property
    def k(self) -> int:
        """Number of segments (noise not counted)."""
        return self.summary["k"]

    @property
    def segment_names(self) -> list:
        """Name of every segment, segment 0 first."""
        return list(self._native.segment_names())

    @property
    def labels(self) -> np.ndarray:
        """Segment of every segmented row (-1: noise)."""
        return self._native.labels()

    @property
    def comparison(self):
        """The comparison table of `compare=`, or None."""
        rows = self._native.comparison()
        if not rows:
            return None
        return _frames.from_columns({k: [r[k] for r in rows] for k in rows[0]}, self._library)

    # ---- the report ------------------------------------------------------------------
    def report_html(self) -> str:
        """The self-contained `report.html` that `run` writes, as text."""
        return self._native.report_html()

    def save(self, out) -> Path:
        """Writes everything `segmenter run` writes into the directory `out`."""
        self._native.save(os.fspath(out))
        return Path(out)

    def _repr_html_(self) -> str:
        doc = self.report_html()
        return (
            '<iframe style="width:100%;height:900px;border:1px solid #ddd" '
            f'srcdoc="{html.escape(doc, quote=True)}"></iframe>'
        )

    def __repr__(self) -> str:
        s = self.summary
        names = ", ".join(self.segment_names)
        return (
            f"<Segmentation {s['algorithm']} k={s['k']}: {s['rows_segmented']} rows segmented, "
            f"{s['rows_rejected']} rejected; silhouette {s['silhouette']:.3f}; [{names}]>"
        )

    def _read_written(self, file: str, write):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, file)
            write(path)
            with open(path, "rb") as f:
                return _frames.from_csv(f.read(), self._library)


class Model:
    """A segmentation model (`model.json`): `predict(df)` scores new rows."""

    def __init__(self, native):
        self._native = native

    @property
    def k(self) -> int:
        """Segments."""
        return self._native.k

    @property
    def segment_names(self) -> list:
        """Name of every segment."""
        return list(self._native.segment_names)

    @property
    def algorithm(self) -> str:
        """The algorithm that found the segments."""
        return self._native.algorithm

    @property
    def features(self) -> list:
        """The clustering features after encoding."""
        return list(self._native.features)

    def to_json(self) -> str:
        """The model as `model.json` holds it."""
        return self._native.to_json()

    def save(self, path) -> None:
        """Writes `model.json` to `path` (atomically)."""
        self._native.save(os.fspath(path))

    def predict(self, data: Any, *, return_rejects: bool = False, table=None, query=None):
        """Scores `data` (a DataFrame or a path, as for `segment`): the scored rows with
        `segment`, `segment_name`, `pc1`, `pc2`, `distance_to_centroid`; with
        `return_rejects=True`, also the rows that could not be scored."""
        library = _frames.PANDAS if _frames.is_path(data) else _frames.library_of(data)
        native_table, arrow = _frames.native_table(data, "dataframe", table, query)
        s = self._native.predict(native_table)
        if arrow is None:
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "scored.csv")
                self._native.write_scored(path, native_table)
                with open(path, "rb") as f:
                    scored = _frames.from_csv(f.read(), library)
                rej_path = os.path.join(d, "scored.rejects.csv")
                rejects = None
                if os.path.exists(rej_path):
                    with open(rej_path, "rb") as f:
                        rejects = _frames.from_csv(f.read(), library)
            return (scored, rejects) if return_rejects else scored
        labels = s["labels"]
        out = _frames.take(data, arrow, s["kept"], library)
        cols = {
            "segment": labels,
            "segment_name": _frames.names_column(self.segment_names, labels, library),
        }
        if s["pcs"] is not None:
            cols["pc1"] = s["pcs"][:, 0].astype(np.float64)
            cols["pc2"] = s["pcs"][:, 1].astype(np.float64)
        cols["distance_to_centroid"] = s["distances"].astype(np.float64)
        scored = _frames.with_columns(out, cols, library)
        if not return_rejects:
            return scored
        index, rows, reasons = s["rejects"]
        rej = _frames.take(data, arrow, index, library)
        rej = _frames.with_columns(rej, {"row": rows, "reason": list(reasons)}, library, front=True)
        return scored, rej

    def __getstate__(self):
        return {"json": self.to_json()}

    def __setstate__(self, state):
        self._native = _segmenter.model_from_json("model.json", state["json"])

    def __repr__(self) -> str:
        return f"<Model {self.algorithm} k={self.k}: [{', '.join(self.segment_names)}]>"


def load_model(path) -> Model:
    """Reads a `model.json` written by `segmenter run` or `Segmentation.save`."""
    return Model(_segmenter.load_model(os.fspath(path)))
