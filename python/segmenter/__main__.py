"""`python -m segmenter run FILE ...` (also the `segmenter-py` command): `segmenter run`'s flags
and output files from Python. Without `--dask` the embedded engine segments the file on this
machine (the same library as the `segmenter` binary, so the same files); with
`--dask tcp://HOST:PORT` the files or globs are read as a Dask DataFrame on that cluster and
`segmenter.dask.segment` writes `segments/` and `rejects/` as partitioned Parquet beside the
same model.json, profile.csv and report."""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

_LOG_FLAGS = ("as_of", "customer", "date", "amount", "quantity", "price", "invoice", "user")
_LOG_FLAGS += ("time", "type", "session", "product", "category", "brand")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m segmenter", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="segment a customer table (as `segmenter run`)")
    r.add_argument("files", nargs="+", metavar="FILE_OR_GLOB")
    r.add_argument("--dask", metavar="tcp://HOST:PORT", help="Dask scheduler to run on")
    r.add_argument("--out", default="segmenter-out")
    r.add_argument("--k", default="auto")
    r.add_argument("--k-range", default="2..10")
    r.add_argument("--silhouette-sample", type=int, default=10_000)
    r.add_argument("--sweep-sample", type=int, default=50_000)
    r.add_argument("--algorithm", default="kmeans")
    r.add_argument("--compare", nargs="?", const="all", default=None)
    r.add_argument("--eps", type=float)
    r.add_argument("--min-samples", type=int)
    r.add_argument("--gamma", type=float)
    r.add_argument("--micro-clusters", type=int, default=1000)
    r.add_argument("--backend", default="auto")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--n-init", type=int, default=1)
    r.add_argument("--impute", default="median")
    r.add_argument("--outliers", default="clip")
    r.add_argument("--outlier-method", default="iqr")
    r.add_argument("--scale", default="standard")
    r.add_argument("--log")
    for flag in ("id", "drop", "categorical", "numeric"):
        r.add_argument(f"--{flag}", action="append", default=[], metavar="COL")
    r.add_argument("--quiet", action="store_true")
    r.add_argument("--json", action="store_true")
    r.add_argument("--from", dest="from_", choices=["transactions", "events"])
    for flag in _LOG_FLAGS:
        r.add_argument(f"--{flag.replace('_', '-')}", dest=f"log_{flag}")
    r.add_argument("--table")
    r.add_argument("--query")
    r.add_argument("--sheet")
    r.add_argument("--dayfirst", action="store_true")
    r.add_argument("--date-format")
    r.add_argument("--decimal", choices=[".", ","])
    r.add_argument(
        "--blocksize",
        default="64MB",
        help="with --dask: bytes of CSV per partition, or 'none' for one partition per file "
        "(needed when quoted fields hold line breaks, which byte blocks would cut)",
    )
    return p


def _columns(values):
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def _options(a) -> dict:
    k = a.k.strip()
    opts = {
        "k": int(k) if k.isdigit() else k, "k_range": a.k_range,
        "silhouette_sample": a.silhouette_sample, "sweep_sample": a.sweep_sample,
        "algorithm": a.algorithm, "eps": a.eps, "min_samples": a.min_samples, "gamma": a.gamma,
        "micro_clusters": a.micro_clusters, "backend": a.backend, "seed": a.seed,
        "n_init": a.n_init, "impute": a.impute, "outliers": a.outliers,
        "outlier_method": a.outlier_method, "scale": a.scale, "log": a.log,
    }  # fmt: skip
    if a.compare is not None:
        opts["compare"] = a.compare
    for flag in ("id", "drop", "categorical", "numeric"):
        opts[flag] = _columns(getattr(a, flag))
    return opts


def _expand(patterns) -> list:
    """The files the arguments name, in order; a name that is neither a file nor a glob
    matching one is the engine's missing-file error."""
    from . import _segmenter

    files = []
    for pat in patterns:
        if glob.has_magic(pat):
            hits = sorted(glob.glob(pat))
            if not hits:
                raise FileNotFoundError(f"{pat}: no file matches this pattern")
            files += hits
        else:
            if not os.path.exists(pat):
                # The engine's own message for a file it cannot open.
                _segmenter.table_from_path(pat, None, None, None, None, False, None)
            files.append(pat)
    return files


def _separator(path) -> str:
    """`,`, `;` or tab, whichever the header line holds most of (as the engine detects it)."""
    import gzip

    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", errors="replace") as f:
        head = f.readline()
    return max([",", ";", "\t"], key=head.count)


def _read_dask(files, a):
    import dask.dataframe as dd

    kinds = {os.path.splitext(f)[1].lower() for f in files}
    if kinds <= {".parquet", ".pq"}:
        return dd.read_parquet(files)
    if not kinds <= {".csv", ".gz", ".txt", ".tsv"}:
        raise ValueError(f"--dask reads CSV or Parquet files; got {', '.join(sorted(kinds))}")
    sep = _separator(files[0])
    # Every field as text, as the engine reads a CSV: its schema inference and parsing then
    # see the same values (a text value in a numeric column becomes a reject, not a dtype error).
    blocksize = None if a.blocksize.lower() == "none" else a.blocksize
    ddf = dd.read_csv(
        files, sep=sep, dtype=str, keep_default_na=False, na_filter=False, blocksize=blocksize
    )
    return ddf


def _print(summary, a, out):
    if a.json:
        print(json.dumps(summary, indent=2, default=str))
    elif not a.quiet:
        print(
            f"{summary['k']} segments, {summary['rows_segmented']} rows segmented, "
            f"{summary['rows_rejected']} rejected; outputs in {out}"
        )


def run(a) -> int:
    """`run`: segments the files and writes the outputs; returns the exit status."""
    import segmenter

    opts = _options(a)
    files = _expand(a.files)
    if a.dask is None:
        if len(files) != 1:
            raise ValueError(f"{len(files)} files given: without --dask, run segments one file")
        extra = {}
        if a.from_ is not None:
            extra["from_"] = a.from_
            extra.update({f: getattr(a, f"log_{f}") for f in _LOG_FLAGS if getattr(a, f"log_{f}")})
        seg = segmenter.segment(
            files[0], progress=False if a.quiet else "auto", table=a.table, query=a.query,
            sheet=a.sheet, decimal=a.decimal, dayfirst=a.dayfirst, date_format=a.date_format,
            **extra, **opts,
        )  # fmt: skip
        seg.save(a.out)
        _print(seg.summary, a, a.out)
        return 0
    if a.from_ is not None:
        raise ValueError("--from is not available with --dask: derive the customer table first")
    from distributed import Client

    from . import dask as sdask

    with Client(a.dask, timeout="30s"):
        ddf = _read_dask(files, a)
        name = os.path.basename(files[0]) if len(files) == 1 else os.path.basename(a.files[0])
        k = opts.pop("k")
        res = sdask.segment(ddf, a.out, k=k, name=name, **opts)
    _print(res.summary, a, a.out)
    return 0


def main(argv=None) -> int:
    """The command line; errors are one line on stderr and exit status 1 (2 for bad flags)."""
    a = _parser().parse_args(argv)
    try:
        return run(a)
    except (ValueError, OSError, RuntimeError, TypeError) as e:
        print(f"segmenter: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
