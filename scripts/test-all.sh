#!/usr/bin/env bash
# Every test suite in one command: the Rust suite (cargo test --release), then the Python
# package built from python/ into a virtual environment (.venv, created on first use; PyPI
# is needed the first time) and its pytest suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test --release

VENV="${SEGMENTER_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q pytest pandas polars pyarrow scikit-learn tqdm "dask[array,dataframe]" distributed
# Builds the extension with maturin (the build backend) against the workspace's target/.
"$VENV/bin/python" -m pip install -q ./python
SEGMENTER_BIN="$PWD/target/release/segmenter" "$VENV/bin/python" -m pytest -q python/tests "$@"
