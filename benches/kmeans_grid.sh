#!/usr/bin/env bash
# CPU k-means against scikit-learn's Lloyd over the grid of issue 18: 1M rows × (D × K) in
# {8×8, 16×16, 16×64, 32×256, 64×1024}, same file and same start (the first K rows), tol 0,
# ms per iteration and final inertia side by side (benches/sklearn_compare.py, runs
# interleaved, best of REPEAT each). Needs python3 (or PYTHON=...) with numpy, pandas,
# scikit-learn.
#
#   cargo build --release
#   bash benches/kmeans_grid.sh                 # --algorithm auto
#   ALGORITHM=hamerly REPEAT=2 bash benches/kmeans_grid.sh
#   SHAPES="16x64:30 32x256:10" bash benches/kmeans_grid.sh   # DxK:max_iter
#
# Each data file is generated into TMPDIR (up to about 0.7 GB at 64 × 1024) and deleted as
# soon as its shape is measured.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${BINARY:-$here/../target/release/segmenter}
rows=${ROWS:-1000000}
repeat=${REPEAT:-2}
algorithm=${ALGORITHM:-auto}
# Fewer iterations where one takes seconds, so the grid runs in minutes.
shapes=${SHAPES:-"8x8:50 16x16:50 16x64:30 32x256:15 64x1024:10"}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kmeans_grid.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '%-8s %-9s %12s %12s %8s %10s\n' shape kernel "segmenter" "sklearn" ratio "inertia"
for s in $shapes; do
    dk=${s%%:*}
    iters=${s##*:}
    d=${dk%%x*}
    k=${dk##*x}
    file=$tmp/blobs_${d}x${k}.csv
    "$bin" generate blobs --rows "$rows" --dims "$d" --centers "$k" --seed 1 -o "$file" >/dev/null
    out=$("${PYTHON:-python3}" "$here/sklearn_compare.py" "$file" --k "$k" --max-iter "$iters" \
        --repeat "$repeat" --binary "$bin" --algorithm "$algorithm")
    rm -f "$file"
    seg=$(awk '/^segmenter/ {print $3}' <<<"$out")
    kern=$(awk '/^segmenter/ {gsub(/[()]/, "", $2); print $2}' <<<"$out")
    skl=$(awk '/^sklearn/ {print $2}' <<<"$out")
    ratio=$(awk '/^speed-up/ {print $2}' <<<"$out")
    rel=$(awk '/^inertia relative/ {print $4}' <<<"$out")
    printf '%-8s %-9s %9s ms %9s ms %8s %10s\n' "${d}x${k}" "$kern" "$seg" "$skl" "$ratio" "$rel"
done
