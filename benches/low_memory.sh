#!/usr/bin/env bash
# Peak memory and wall time of `segmenter run` in passes (--low-memory) and in memory on the
# generated customer table of N rows.
#
#   benches/low_memory.sh N [WORKDIR] [--skip-in-memory]
#
# Generates WORKDIR/customers-N.csv (about 118 bytes a row; WORKDIR defaults to a new
# temporary directory), runs both modes under /usr/bin/time -v, prints wall seconds and peak
# RSS, checks that both gave every row the same segment, and deletes everything it wrote.
set -euo pipefail
n=${1:?usage: benches/low_memory.sh N [WORKDIR] [--skip-in-memory]}
work=${2:-}
skip_mem=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SEGMENTER_BIN:-$root/target/release/segmenter}
[ -x "$bin" ] || (cd "$root" && cargo build --release --quiet)
if [ -z "$work" ]; then work=$(mktemp -d); fi
mkdir -p "$work"
csv="$work/customers-$n.csv"
cleanup() { rm -rf "$csv" "$work/low-$n" "$work/mem-$n" "$work"/time-*.txt "$work"/labels-*.txt; }
trap cleanup EXIT
"$bin" generate customers --rows "$n" --output "$csv" > /dev/null
size=$(stat -c %s "$csv")
echo "rows $n, CSV $(awk -v s="$size" 'BEGIN { printf "%.2f GB", s / 1e9 }')"
measure() { # name, out dir, extra flags
    local name=$1 out=$2
    shift 2
    /usr/bin/time -v "$bin" run "$csv" --out "$out" --quiet "$@" > /dev/null 2> "$work/time-$name.txt"
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { split($2, t, ":"); s = 0; for (i = 1; i <= length(t); i++) s = s * 60 + t[i]; print s }' "$work/time-$name.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$work/time-$name.txt")
    echo "$name: wall ${wall} s, peak RSS ${rss} MB ($(awk -v r="$rss" -v s="$size" 'BEGIN { printf "%.2f", r * 1048576 / s }') x the CSV)"
    # Keep each row's segment only: the outputs of a large run are larger than the CSV.
    awk -F, '{ print $1, $(NF-4) }' "$out/segments.csv" > "$work/labels-$name.txt"
    rm -rf "$out"
}
measure low-memory "$work/low-$n" --low-memory
if [ "$skip_mem" != "--skip-in-memory" ]; then
    measure in-memory "$work/mem-$n"
    # Same segment for every row (columns: ..., segment, segment_name, pc1, pc2, distance).
    if cmp -s "$work/labels-low-memory.txt" "$work/labels-in-memory.txt"; then
        echo "segments: the same for every row"
    else
        echo "segments: DIFFER"
        exit 1
    fi
fi
