#!/usr/bin/env bash
# gpu-check.sh: times segmenter's GPU k-means over the grid of issue 17, with the CPU reference
# beside each case (`bench --backends cpu,gpu`), and writes a table of ms/iter, achieved GB/s,
# the ratio to the memory floor and label agreement.
#
#   BIN=target/release/segmenter bash benches/gpu-check.sh            # NVIDIA box, full sizes
#   SCALE=0.002 ALLOW_SOFTWARE=1 bash benches/gpu-check.sh             # lavapipe, reduced rows
#
# SCALE multiplies every case's rows (default 1: the issue's sizes, 10M..40M rows, ~5 min on 16
# cores, dominated by the CPU reference). PEAK_GBS fixes the bandwidth the floor is taken from
# (H200: 4800, H100: 3350); without it `bench` probes the device. ALLOW_SOFTWARE=1 accepts a
# software adapter (lavapipe); otherwise the script stops unless the first adapter is a
# discrete GPU (a container without NVIDIA_DRIVER_CAPABILITIES=graphics silently gets
# llvmpipe). Output: $OUT (default ./gpu-check): table.md, one JSON per case, env.txt.
set -uo pipefail
BIN=${BIN:-target/release/segmenter}; O=${OUT:-$PWD/gpu-check}; SCALE=${SCALE:-1}
mkdir -p "$O"; export NODEVICE_SELECT=1
{ command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv
  "$BIN" --version; nproc; echo "SCALE=$SCALE PEAK_GBS=${PEAK_GBS:-probe}"
  echo "NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-unset}"; } > "$O/env.txt" 2>&1
timeout 60 "$BIN" info --json > "$O/info.json" 2> "$O/info.err"
if ! grep -m1 '"device_type"' "$O/info.json" | grep -q discrete; then
  if [ "${ALLOW_SOFTWARE:-0}" != 1 ]; then
    echo "first adapter is not a discrete GPU (Vulkan ICD missing? containers need" \
      "NVIDIA_DRIVER_CAPABILITIES incl. graphics); ALLOW_SOFTWARE=1 to run anyway: $O" >&2
    exit 3
  fi
fi
grep -m3 -E '"name"|"int64_atomics"' "$O/info.json"
PEAK=(); [ -n "${PEAK_GBS:-}" ] && PEAK=(--peak-gbs "$PEAK_GBS")
T="$O/table.md"
echo "| case | rows | d | k | iters | env | gpu ms/iter | cpu ms/iter | GB/s | floor ms | x floor | peak GB/s | upload s | agreement | gpu kernel |" > "$T"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|" >> "$T"
fails=0
sc() { awk -v r="$1" -v s="$SCALE" 'BEGIN { v = int(r * s); if (v < 1000) v = 1000; print v }'; }
b() { # b NAME ROWS DIMS K ITERS [VAR=VALUE ...]; ROWS is scaled by SCALE
  local n=$1 r; r=$(sc "$2"); local d=$3 k=$4 i=$5; shift 5
  [ "$r" -lt $((2 * k)) ] && r=$((2 * k)) # a reduced SCALE still needs rows for every cluster
  if ! env "$@" timeout 900 "$BIN" bench --rows "$r" --dims "$d" --k "$k" --iters "$i" \
      --backends cpu,gpu --json "${PEAK[@]}" > "$O/$n.json" 2> "$O/$n.err"; then
    echo "| $n | $r | $d | $k | $i | $* | FAILED (see $n.err) ||||||||| " >> "$T"; fails=$((fails + 1))
    echo "$n FAILED: $(tail -1 "$O/$n.err")" >&2; return
  fi
  awk -v n="$n" -v r="$r" -v d="$d" -v k="$k" -v i="$i" -v e="$*" -F': ' '
    /"backend"/ { v = $2; gsub(/[",]/, "", v); b = v }
    /"(ms_per_iter|upload_seconds|agreement|gbs|floor_ms|x_floor|peak_gbs)"/ {
      key = $1; gsub(/[ "]/, "", key); v = $2; gsub(/[",]/, "", v); f[b, key] = v }
    /"kernel"/ { v = $2; sub(/^"/, "", v); sub(/",?$/, "", v); f[b, "kernel"] = v }
    END { printf "| %s | %d | %d | %d | %d | %s | %.3f | %.2f | %.1f | %.3f | %.2f | %.0f | %.3f | %.4f%% | %s |\n",
      n, r, d, k, i, e, f["gpu","ms_per_iter"], f["cpu","ms_per_iter"], f["gpu","gbs"],
      f["gpu","floor_ms"], f["gpu","x_floor"], f["gpu","peak_gbs"], f["gpu","upload_seconds"],
      100 * f["gpu","agreement"], f["gpu","kernel"] }' "$O/$n.json" | tee -a "$T"
}
b 10Mx16x16_i10 10000000 16 16 10
b 10Mx16x16_i40 10000000 16 16 40
b 1Mx16x16_i40 1000000 16 16 40
b 30Mx16x16 30000000 16 16 20
b 10Mx8x8 10000000 8 8 20
b 10Mx16x16_carry 10000000 16 16 20 SEGMENTER_GPU_ACCUMULATOR=carry
b 10Mx16x16_chunk3M 10000000 16 16 10 SEGMENTER_GPU_CHUNK_POINTS="$(sc 3000000)"
# 2.56 GB > wgpu's 2 GiB binding cap: real chunks at SCALE=1 (reduced, SCALE'd 16M-point chunks).
if [ "$SCALE" = 1 ]; then b 40Mx16x16_chunked 40000000 16 16 5
else b 40Mx16x16_chunked 40000000 16 16 5 SEGMENTER_GPU_CHUNK_POINTS="$(sc 16000000)"; fi
b 2Mx64x256 2000000 64 256 10
b 1Mx64x1024 1000000 64 1024 5
# Large k: auto runs the register-tiled kernel on hardware; the broadcast kernel and the tiled
# kernel's workgroup-memory argmin beside it, to check TILED_MIN_KD and the subgroup form.
b 2Mx64x256_broadcast 2000000 64 256 10 SEGMENTER_GPU_KERNEL=broadcast
b 2Mx64x256_tiled_wg 2000000 64 256 10 SEGMENTER_GPU_KERNEL=tiled SEGMENTER_GPU_ARGMIN=workgroup
b 1Mx64x1024_broadcast 1000000 64 1024 5 SEGMENTER_GPU_KERNEL=broadcast
b 4Mx64x32_broadcast 4000000 64 32 10 SEGMENTER_GPU_KERNEL=broadcast
b 4Mx64x32_tiled 4000000 64 32 10 SEGMENTER_GPU_KERNEL=tiled
ms() { grep "^| $1 " "$T" | awk -F'|' '{print $8}'; }
awk -v a="$(ms 10Mx16x16_i10)" -v c="$(ms 10Mx16x16_i40)" 'BEGIN { if (a && c)
  printf "\n10M x 16 x 16 marginal ms/iter (40 vs 10 iterations): %.3f\n", (40 * c - 10 * a) / 30 }' | tee -a "$T"
echo "table: $T"; exit $((fails > 0))
