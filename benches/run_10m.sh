#!/usr/bin/env bash
# Side by side, on one machine and the same files: `segmenter run` (segments.csv, and
# --output-format parquet) against the same-work pandas + scikit-learn notebook
# (benches/notebook_compare.py's run_notebook), at 1M and 10M generated customers.
# Prints wall, user and system seconds and peak resident memory of each (from
# /usr/bin/time -v), the ratio of wall times and peak memory against the CSV's size.
#
# Usage (repository root, after `cargo build --release`):
#   bash benches/run_10m.sh                    # 1M and 10M rows
#   ROWS="1000000" bash benches/run_10m.sh     # only 1M
#   NOTEBOOK=0 bash benches/run_10m.sh         # segmenter only
#   PYTHON=.venv/bin/python bash benches/run_10m.sh   # a Python with pandas, scikit-learn
#   SEGMENTER=/path/to/old/segmenter bash benches/run_10m.sh
# The generated tables (1.2 GB at 10M rows) and outputs go to a temporary directory
# (WORK=dir to choose it), removed at the end.
set -euo pipefail

ROWS=${ROWS:-"1000000 10000000"}
SEGMENTER=${SEGMENTER:-target/release/segmenter}
PYTHON=${PYTHON:-python3}
NOTEBOOK=${NOTEBOOK:-1}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
[ -x "$SEGMENTER" ] || { echo "no binary at $SEGMENTER: cargo build --release" >&2; exit 1; }
if [ "$NOTEBOOK" = 1 ] && ! "$PYTHON" -c 'import pandas, sklearn' 2>/dev/null; then
  echo "$PYTHON lacks pandas or scikit-learn: set PYTHON, or NOTEBOOK=0" >&2
  exit 1
fi
BENCHES=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-$(mktemp -d)}
trap 'rm -rf "$WORK"/bench-*' EXIT

# measure NAME CMD...: runs CMD under time -v; prints one line and sets WALL.
measure() {
  local name=$1
  shift
  # Dirty pages left by the previous step (the generated CSV, an output) would be written
  # back during, and bill their cost to, whichever contender runs next.
  sync
  "$TIME" -v -o "$WORK/bench-time" "$@" >"$WORK/bench-stdout" 2>"$WORK/bench-stderr" || {
    echo "$name failed:" >&2
    cat "$WORK/bench-stderr" >&2
    exit 1
  }
  local field
  field() { sed -n "s/^[[:space:]]*$1: //p" "$WORK/bench-time"; }
  local wall user sys rss
  wall=$(field 'Elapsed (wall clock) time (h:mm:ss or m:ss)' |
    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
  user=$(field 'User time (seconds)')
  sys=$(field 'System time (seconds)')
  rss=$(field 'Maximum resident set size (kbytes)')
  WALL=$wall
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v c="$CSV_BYTES" \
    'BEGIN { printf "  %-28s %8.2f s wall %8.2f s user %7.2f s sys  peak %6.0f MiB = %.2f x CSV\n",
             n, w, u, s, r / 1024, r * 1024 / c }'
}

for rows in $ROWS; do
  csv="$WORK/bench-$rows.csv"
  "$SEGMENTER" generate customers --rows "$rows" --seed 1 -o "$csv" >/dev/null
  CSV_BYTES=$(stat -c %s "$csv")
  cat "$csv" >/dev/null # warm the page cache for every contender
  echo "$rows rows, $((CSV_BYTES / 1048576)) MiB CSV ($(nproc) cores)"
  measure "segmenter run (csv)" "$SEGMENTER" run "$csv" --out "$WORK/bench-out" --quiet
  seg=$WALL
  rm -rf "$WORK/bench-out"
  measure "segmenter run (parquet)" "$SEGMENTER" run "$csv" --out "$WORK/bench-out" \
    --quiet --output-format parquet
  segp=$WALL
  rm -rf "$WORK/bench-out"
  if [ "$NOTEBOOK" = 1 ]; then
    measure "pandas + scikit-learn notebook" "$PYTHON" -c \
      "import sys; sys.path.insert(0, sys.argv[1]); import notebook_compare as n; n.run_notebook(sys.argv[2])" \
      "$BENCHES" "$csv"
    awk -v a="$WALL" -v b="$seg" -v c="$segp" \
      'BEGIN { printf "  ratio: segmenter %.1fx faster than the notebook (%.1fx with parquet output)\n", a / b, a / c }'
  fi
  rm -f "$csv"
done
