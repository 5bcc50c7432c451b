#!/usr/bin/env bash
# Load test of `segmenter serve` on the loopback interface, bounded in time: CSV batches of
# 10k rows, single-row JSON at 64 keep-alive connections, a soak at that rate (SOAK seconds,
# default 60; RSS sampled every second), and model swaps during load (zero failures, every
# response 0.5 s after a swap from the new model). Ends the server with SIGTERM (exit 0).
#
#   bash benches/serve_load.sh            # SECONDS_EACH=10 SOAK=60 by default
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${SECONDS_EACH:-10}
SOAK=${SOAK:-60}
cargo build --release --quiet --bin segmenter --example serve_load
BIN=target/release/segmenter
LOAD=target/release/examples/serve_load
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

"$BIN" generate customers --rows 20000 --seed 1 -o "$WORK/customers.csv" >/dev/null
"$BIN" run "$WORK/customers.csv" --out "$WORK/k4" --k 4 --quiet >/dev/null
"$BIN" run "$WORK/customers.csv" --out "$WORK/k3" --k 3 --quiet >/dev/null
cp "$WORK/k4/model.json" "$WORK/model.json"

"$BIN" serve --model "$WORK/model.json" --addr 127.0.0.1:0 >"$WORK/serve.out" 2>"$WORK/serve.err" &
PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.05; done
ADDR=$(sed -n 's|.*listening on http://||p' "$WORK/serve.out" | head -1)
echo "server pid $PID on $ADDR"

echo "== CSV batches of 10,000 rows, 4 connections"
"$LOAD" --addr "$ADDR" --mode csv --batch 10000 --file "$WORK/customers.csv" \
    --connections 4 --seconds "$SECONDS_EACH" --pid "$PID"
echo "== single-row JSON, 64 connections"
"$LOAD" --addr "$ADDR" --mode json --file "$WORK/customers.csv" \
    --connections 64 --seconds "$SECONDS_EACH" --pid "$PID"
echo "== soak: single-row JSON, 64 connections, $SOAK s"
"$LOAD" --addr "$ADDR" --mode json --file "$WORK/customers.csv" \
    --connections 64 --seconds "$SOAK" --pid "$PID"
echo "== model swaps every 2 s during single-row JSON load"
"$LOAD" --addr "$ADDR" --mode json --file "$WORK/customers.csv" \
    --connections 64 --seconds "$SECONDS_EACH" --pid "$PID" \
    --swap "$WORK/model.json" --swap-with "$WORK/k3/model.json,$WORK/k4/model.json" --swap-every 2

kill -TERM "$PID"
set +e
wait "$PID"
CODE=$?
set -e
echo "server exit code after SIGTERM: $CODE"
grep -c "loaded the new model" "$WORK/serve.err" | sed 's/^/model reloads logged: /'
test "$CODE" = 0
