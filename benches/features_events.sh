#!/usr/bin/env bash
# Aggregation benchmark for `segmenter features events` (issue 6: 10M events in at most 5 s
# on the 2-core machine). Generates about 10M clickstream events from 500k users (1.4 GB CSV,
# once, kept in $DIR), then times the aggregation with every core and with one aggregating
# thread, and checks that both give the same table. Reports wall, user and system seconds and
# the peak resident memory; compare CPU seconds when the machine is shared.
#   bash benches/features_events.sh [USERS] [DIR]
set -euo pipefail
USERS=${1:-500000}
DIR=${2:-/tmp/segmenter-bench-events}
BIN=${BIN:-target/release/segmenter}
mkdir -p "$DIR"
[ -x "$BIN" ] || cargo build --release
if [ ! -f "$DIR/events-$USERS.csv" ]; then
  "$BIN" generate events --users "$USERS" --seed 7 -o "$DIR/events-$USERS.csv"
fi
cat "$DIR/events-$USERS.csv" > /dev/null # warm the page cache
for threads in default 1; do
  flag=(); [ "$threads" = default ] || flag=(--threads "$threads")
  /usr/bin/time -f "threads=$threads: %e s wall, %U s user, %S s sys, %M KB peak RSS" \
    "$BIN" features events "$DIR/events-$USERS.csv" -o "$DIR/users-$threads.csv" "${flag[@]}" | head -2
done
cmp "$DIR/users-default.csv" "$DIR/users-1.csv" && echo "same table with every core and with one thread"
