// Lloyd step in one kernel: nearest-centroid assignment fused with deterministic fixed-point
// accumulation of the per-cluster sums, counts, inertia and changed labels.
//
// The host prepends one accumulator file (kmeans_acc_int64.wgsl or kmeans_acc_carry.wgsl),
// which declares binding 3 and the workgroup cells and defines wg_zero, wg_add, wg_get and
// global_add. Every cell is a 64-bit integer; integer addition gives the same bits in any
// order, so a step's results are bit-identical across runs, workgroup counts, passes and
// chunkings, with no partials buffer and no second kernel.
//
// Points are centred at upload (x - midpoint of each feature's range), so |x_j| <= R_j, half
// the range. A coordinate term is round(x_j * s_j) as i32 with s_j = 2^e <= 2^30 / R_j: its
// rounding error is at most 0.5 / s_j, so every cluster mean is within 0.5 / s_j (about
// R_j * 2^-30) of the exact mean of the f32 points, whatever the count. A point's inertia
// term is round(dist * si) as a 64-bit integer, si = 2^e <= 2^61 / (n * M) where M bounds
// any point's distance to its nearest centroid: the sum cannot overflow and its error is at
// most n * 0.5 / si.
//
// One workgroup owns a tile of WG * PPT consecutive points of the pass; every invocation
// assigns PPT of them (strided by WG, so neighbouring invocations read neighbouring
// addresses). With WG_ACC, cells are summed in workgroup memory (zeroed, one barrier, adds,
// one barrier) and flushed with one global add per non-zero cell; without it (cells that do
// not fit workgroup memory), every add goes to the global cells directly.
//
// Bindings (group 0):
//   0 points     storage read        f32  one upload chunk, centred, feature-major: x[j * chunk_n + i]
//   1 centroids  storage read        f32  k * D, row-major, centred like the points
//   2 labels     storage read_write  u32  one per point of the chunk; previous labels in, new out
//   3 totals     see the accumulator file: cells k*D sums, k counts, inertia, changed labels
//   4 scales     storage read        f32  D coordinate scales s_j, then the inertia scale si
//   5 params     uniform             Params
//
// Overrides: WG invocations per workgroup, PPT points per invocation, D features (<= DMAX),
// CAP workgroup words (>= k*D + k + 2 cells when WG_ACC; see the accumulator file), WG_ACC.
//
// llvmpipe (lavapipe) ends every loop of an invocation once 65,535 iterations have run in all
// (Mesa's LP_MAX_TGSI_LOOP_ITERATIONS), silently. On such adapters the host lowers PPT so that
// the worst case stays under it (Pipelines::points_per_thread keeps that count in step with
// the loops here).

override WG: u32 = 64u;
override PPT: u32 = 16u;
override D: u32 = 1u;
override CAP: u32 = 64u;
override WG_ACC: bool = true;
const DMAX: u32 = 64u;

struct Params {
    chunk_n: u32,      // points in the bound chunk: the stride between features
    first: u32,        // first point of this pass inside the chunk
    count: u32,        // points in this pass
    k: u32,            // clusters
    num_groups: u32,   // workgroups that hold points (the dispatch may round up in 2-D)
    groups_x: u32,     // workgroups per row of a 2-D dispatch
    cells: u32,        // k * D + k + 2
    pad: u32,
}

@group(0) @binding(0) var<storage, read> points: array<f32>;
@group(0) @binding(1) var<storage, read> centroids: array<f32>;
@group(0) @binding(2) var<storage, read_write> labels: array<u32>;
@group(0) @binding(4) var<storage, read> scales: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

fn add(cell: u32, lo: u32, hi: u32) {
    if WG_ACC {
        wg_add(cell, lo, hi);
    } else {
        global_add(cell, lo, hi);
    }
}

// v >= 0, an integer below 2^63 held exactly in f32: its (low, high) words.
fn split64(v: f32) -> vec2<u32> {
    let hi = floor(v * 2.3283064e-10);
    return vec2<u32>(u32(v - hi * 4294967296.0), u32(hi));
}

// a + (lo, hi) modulo 2^64, in registers.
fn add64(a: vec2<u32>, lo: u32, hi: u32) -> vec2<u32> {
    let l = a.x + lo;
    return vec2<u32>(l, a.y + hi + select(0u, 1u, l < lo));
}

@compute @workgroup_size(WG)
fn assign_accumulate(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    // Uniform per workgroup, so the early return keeps the barriers in uniform control flow.
    let group = wid.y * params.groups_x + wid.x;
    if group >= params.num_groups {
        return;
    }
    let k = params.k;
    let kd = k * D;
    if WG_ACC {
        for (var w = t; w < params.cells; w += WG) {
            wg_zero(w);
        }
        workgroupBarrier();
    }
    let tile = WG * PPT;
    let tile_first = params.first + group * tile;
    let tile_len = min(tile, params.first + params.count - tile_first);
    let si = scales[D];

    var inertia = vec2<u32>(0u, 0u);
    var changed = 0u;
    for (var r = 0u; r < PPT; r++) {
        let local = r * WG + t;
        if local < tile_len {
            let i = tile_first + local;
            var x: array<f32, DMAX>;
            for (var j = 0u; j < D; j++) {
                x[j] = points[j * params.chunk_n + i];
            }
            var best = 3.4028235e38;
            var best_c = 0u;
            for (var c = 0u; c < k; c++) {
                let base = c * D;
                var dist = 0.0;
                for (var j = 0u; j < D; j++) {
                    let diff = x[j] - centroids[base + j];
                    dist += diff * diff;
                }
                // Strict comparison: ties go to the lowest index, as on the CPU.
                if dist < best {
                    best = dist;
                    best_c = c;
                }
            }
            let q = split64(round(best * si));
            inertia = add64(inertia, q.x, q.y);
            changed += select(0u, 1u, labels[i] != best_c);
            labels[i] = best_c;
            let base = best_c * D;
            for (var j = 0u; j < D; j++) {
                let term = i32(round(x[j] * scales[j]));
                add(base + j, bitcast<u32>(term), select(0u, 0xffffffffu, term < 0));
            }
            add(kd + best_c, 1u, 0u);
        }
    }
    add(kd + k, inertia.x, inertia.y);
    add(kd + k + 1u, changed, 0u);
    if WG_ACC {
        workgroupBarrier();
        for (var w = t; w < params.cells; w += WG) {
            let v = wg_get(w);
            if v.x != 0u || v.y != 0u {
                global_add(w, v.x, v.y);
            }
        }
    }
}
