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
//   1 centroids  storage read        vec4 k rows of D4 vec4s (zero-padded), centred like the points
//   2 labels     storage read_write  u32  one per point of the chunk; previous labels in, new out
//   3 totals     see the accumulator file: cells k*D sums, k counts, inertia, changed labels
//   4 scales     storage read        f32  D coordinate scales s_j, the inertia scale si, the
//                                         margin factor m, k squared norms |c|^2, max |c|^2
//   5 params     uniform             Params
//
// Assignment: the argmin over c of |c|^2 - 2 x.c on the centred data, one fused multiply-add
// per term (vec4s). Each computed score is within (D + 3) * 2^-24 * (|x|^2 + 2 |c|^2) of its
// exact value, so two scores closer than m * (|x|^2 + max |c|^2), m = 8 (D + 3) 2^-24 (twice
// the bound), may be misordered; such points (rare) rerun the direct loop over (x - c)^2, so the
// labels are Lloyd's. The inertia term is always the direct distance to the chosen centroid.
//
// Overrides: WG invocations per workgroup, PPT points per invocation, D features (<= 64), D4
// vec4s per row (ceil(D / 4)),
// CAP workgroup words (>= k*D + k + 2 cells when WG_ACC; see the accumulator file), WG_ACC.
//
// llvmpipe (lavapipe) ends every loop of an invocation once 65,535 iterations have run in all
// (Mesa's LP_MAX_TGSI_LOOP_ITERATIONS), silently. On such adapters the host lowers PPT so that
// the worst case stays under it (Pipelines::points_per_thread keeps that count in step with
// the loops here).

override WG: u32 = 64u;
override PPT: u32 = 16u;
override D: u32 = 1u;
override D4: u32 = 1u;
override CAP: u32 = 64u;
override WG_ACC: bool = true;
const DMAX4: u32 = 16u;

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
@group(0) @binding(1) var<storage, read> centroids: array<vec4<f32>>;
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
            // Zero-padded to whole vec4s: the padding adds nothing to any dot product.
            var x: array<vec4<f32>, DMAX4>;
            var xx = 0.0;
            for (var q = 0u; q < D4; q++) {
                var v = vec4<f32>(0.0);
                for (var e = 0u; e < 4u; e++) {
                    let j = 4u * q + e;
                    if j < D {
                        v[e] = points[j * params.chunk_n + i];
                    }
                }
                x[q] = v;
                xx += dot(v, v);
            }
            // Argmin of |c|^2 - 2 x.c: one vec4 multiply-add per 4 terms, the centroid row
            // the same for every invocation (a broadcast load). Best and runner-up kept.
            var best = 3.4028235e38;
            var second = 3.4028235e38;
            var best_c = 0u;
            for (var c = 0u; c < k; c++) {
                let base = c * D4;
                var acc = vec4<f32>(0.0);
                for (var q = 0u; q < D4; q++) {
                    acc = fma(x[q], centroids[base + q], acc);
                }
                let score = scales[D + 2u + c] - 2.0 * (acc.x + acc.y + acc.z + acc.w);
                // Strict comparison: ties go to the lowest index, as on the CPU.
                if score < best {
                    second = best;
                    best = score;
                    best_c = c;
                } else if score < second {
                    second = score;
                }
            }
            // The expanded form's f32 error is below margin (see the header); when the
            // runner-up is within it, the direct formula decides, as Lloyd's does.
            let margin = scales[D + 1u] * (xx + scales[D + 2u + k]);
            if second - best <= margin {
                var direct = 3.4028235e38;
                for (var c = 0u; c < k; c++) {
                    let base = c * D4;
                    var dist = 0.0;
                    for (var q = 0u; q < D4; q++) {
                        let diff = x[q] - centroids[base + q];
                        dist += dot(diff, diff);
                    }
                    if dist < direct {
                        direct = dist;
                        best_c = c;
                    }
                }
            }
            // The inertia term is the direct distance to the chosen centroid.
            var dist = 0.0;
            for (var q = 0u; q < D4; q++) {
                let diff = x[q] - centroids[best_c * D4 + q];
                dist += dot(diff, diff);
            }
            best = dist;
            let q = split64(round(best * si));
            inertia = add64(inertia, q.x, q.y);
            changed += select(0u, 1u, labels[i] != best_c);
            labels[i] = best_c;
            let base = best_c * D;
            for (var j = 0u; j < D; j++) {
                let term = i32(round(x[j / 4u][j % 4u] * scales[j]));
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
