// Register-tiled Lloyd step for large k * d: the same assignment and the same fixed-point
// accumulation as kmeans_assign.wgsl (same cells, same bits), with the distance loop shaped
// like a GEMM fused with an argmin (faiss's GEMM + L2-select, cuVS's fused distance-argmin).
//
// The host prepends an accumulator file (kmeans_acc_*.wgsl) and an argmin file
// (kmeans_argmin_subgroup.wgsl or kmeans_argmin_workgroup.wgsl, which defines reduce_top2).
//
// A workgroup of 64 invocations takes PT tiles of TP = 64 consecutive points. Per tile it walks
// the centroids in tiles of TC = 16 and the features in slices of DS (<= 16): the slice of the
// point tile (DS x 64 values, coalesced reads of the feature-major points) and of the centroid
// tile (DS x 16) are staged in workgroup memory as vec4s, and invocation t = 4 pl + cl keeps
// a 4 x 4 register micro-tile of dot products: points 4 pl + a, centroids 4 cl + b (a, b < 4),
// one fma per point-centroid pair per feature, two vec4 workgroup loads per 16 of them. After each centroid tile the scores
// |c|^2 - 2 x.c update per-lane (best, second, index) of its 4 points; at the end of the tile
// the 4 lanes sharing a point row merge theirs (reduce_top2), ties to the lowest index, so the
// best and second best are those of all k centroids.
//
// Each lane t then finishes point t of the tile exactly as kmeans_assign.wgsl does: the
// near-tie test against the same margin (each score here is a sequential fma chain over d
// terms, within the same bound), the direct loop over (x - c)^2 when it fires, the inertia term
// from the direct distance, the label and the fixed-point adds. The direct and inertia loops
// are the same expressions in the same order as there, so with equal labels the cells are
// bit-equal to that kernel's.
//
// Bindings (group 0), as kmeans_assign.wgsl:
//   0 points     storage read        f32  one upload chunk, centred, feature-major
//   1 centroids  storage read        vec4 k rows of D4 vec4s (zero-padded), centred
//   2 labels     storage read_write  u32  previous labels in, new out
//   3 totals     see the accumulator file
//   4 scales     storage read        f32  D coordinate scales, si, margin factor, k norms, max norm
//   5 params     uniform             Params
//
// Overrides: PT tiles per workgroup, D features (<= 64), D4 = ceil(D / 4), DS features per slice
// (a multiple of 4, <= 16), CAP workgroup words, WG_ACC.

override PT: u32 = 16u;
override D: u32 = 1u;
override D4: u32 = 1u;
override DS: u32 = 16u;
override CAP: u32 = 64u;
override WG_ACC: bool = true;
const WG: u32 = 64u;
const TP: u32 = 64u;
const TC: u32 = 16u;
const DMAX4: u32 = 16u;
const BIG: f32 = 3.4028235e38;

struct Params {
    chunk_n: u32,
    first: u32,
    count: u32,
    k: u32,
    num_groups: u32,
    groups_x: u32,
    cells: u32,
    pad: u32,
}

// One point's best score, runner-up and best centroid.
struct Top2 {
    best: f32,
    second: f32,
    index: u32,
}

struct Top2x4 {
    best: vec4<f32>,
    second: vec4<f32>,
    index: vec4<u32>,
}

@group(0) @binding(0) var<storage, read> points: array<f32>;
@group(0) @binding(1) var<storage, read> centroids: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> labels: array<u32>;
@group(0) @binding(4) var<storage, read> scales: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

// Slices of the point tile (xs[dd * 16 + p / 4][p % 4]) and of the centroid tile
// (cs[dd * 4 + c / 4][c % 4]).
var<workgroup> xs: array<vec4<f32>, 256>;
var<workgroup> cs: array<vec4<f32>, 64>;

// Merges two candidates: the lower score wins, ties to the lower index; the runner-up is the
// lowest of both runners-up and the loser (equal bests make second == best: a near-tie).
fn merge1(x: Top2, y: Top2) -> Top2 {
    let take = y.best < x.best || (y.best == x.best && y.index < x.index);
    return Top2(
        select(x.best, y.best, take),
        min(min(x.second, y.second), max(x.best, y.best)),
        select(x.index, y.index, take),
    );
}

// merge1 on 4 points at once.
fn merge4(
    b: vec4<f32>, s: vec4<f32>, c: vec4<u32>,
    ob: vec4<f32>, os: vec4<f32>, oc: vec4<u32>,
) -> Top2x4 {
    let take = ob < b | (ob == b & oc < c);
    return Top2x4(select(b, ob, take), min(min(s, os), max(b, ob)), select(c, oc, take));
}

fn add(cell: u32, lo: u32, hi: u32) {
    if WG_ACC {
        wg_add(cell, lo, hi);
    } else {
        global_add(cell, lo, hi);
    }
}

fn split64(v: f32) -> vec2<u32> {
    let hi = floor(v * 2.3283064e-10);
    return vec2<u32>(u32(v - hi * 4294967296.0), u32(hi));
}

fn add64(a: vec2<u32>, lo: u32, hi: u32) -> vec2<u32> {
    let l = a.x + lo;
    return vec2<u32>(l, a.y + hi + select(0u, 1u, l < lo));
}

@compute @workgroup_size(64)
fn assign_tiled(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
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
    let pl = t / 4u;
    let cl = t % 4u;
    let si = scales[D];
    let end = params.first + params.count;
    let k_tiles = (k + TC - 1u) / TC;
    let slices = (D + DS - 1u) / DS;

    var inertia = vec2<u32>(0u, 0u);
    var changed = 0u;
    for (var r = 0u; r < PT; r++) {
        let tile_first = params.first + (group * PT + r) * TP;
        let tile_len = min(TP, max(end, tile_first) - tile_first);
        var best = vec4<f32>(BIG);
        var second = vec4<f32>(BIG);
        var bc = vec4<u32>(0u);
        for (var ct = 0u; ct < k_tiles; ct++) {
            var acc0 = vec4<f32>(0.0);
            var acc1 = vec4<f32>(0.0);
            var acc2 = vec4<f32>(0.0);
            var acc3 = vec4<f32>(0.0);
            for (var sl = 0u; sl < slices; sl++) {
                let j0 = sl * DS;
                workgroupBarrier();
                // Lane w % 16 of row w / 16 stages 4 consecutive points (16 lanes read 256
                // contiguous bytes) and 4 consecutive centroids of one feature, as vec4s.
                for (var w = t; w < DS * 16u; w += WG) {
                    let j = j0 + w / 16u;
                    let p = 4u * (w % 16u);
                    var v = vec4<f32>(0.0);
                    if j < D {
                        let o = j * params.chunk_n + tile_first + p;
                        for (var e = 0u; e < 4u; e++) {
                            if p + e < tile_len {
                                v[e] = points[o + e];
                            }
                        }
                    }
                    xs[w] = v;
                }
                for (var w = t; w < DS * 4u; w += WG) {
                    let j = j0 + w / 4u;
                    let c = ct * TC + 4u * (w % 4u);
                    var v = vec4<f32>(0.0);
                    if j < D {
                        for (var e = 0u; e < 4u; e++) {
                            if c + e < k {
                                v[e] = centroids[(c + e) * D4 + j / 4u][j % 4u];
                            }
                        }
                    }
                    cs[w] = v;
                }
                workgroupBarrier();
                // Two vec4 loads from workgroup memory per 16 multiply-adds.
                for (var dd = 0u; dd < DS; dd++) {
                    let xv = xs[dd * 16u + pl];
                    let cv = cs[dd * 4u + cl];
                    acc0 = fma(xv, vec4<f32>(cv.x), acc0);
                    acc1 = fma(xv, vec4<f32>(cv.y), acc1);
                    acc2 = fma(xv, vec4<f32>(cv.z), acc2);
                    acc3 = fma(xv, vec4<f32>(cv.w), acc3);
                }
            }
            // Centroids 4 cl .. 4 cl + 3 of the tile, in increasing order: strict comparisons
            // keep the lowest index on ties, as on the CPU.
            let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
            for (var b = 0u; b < 4u; b++) {
                let c = ct * TC + 4u * cl + b;
                if c < k {
                    let score = vec4<f32>(scales[D + 2u + c]) - 2.0 * accs[b];
                    let better = score < best;
                    let runner = !better & score < second;
                    second = select(select(second, score, runner), best, better);
                    best = select(best, score, better);
                    bc = select(bc, vec4<u32>(c), better);
                }
            }
        }
        let top = reduce_top2(t, best, second, bc);

        // Lane t finishes point t of the tile (component cl of its row's 4 points).
        let local = t;
        if local < tile_len {
            let i = tile_first + local;
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
            var best_c = top.index;
            let margin = scales[D + 1u] * (xx + scales[D + 2u + k]);
            if top.second - top.best <= margin {
                var direct = BIG;
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
            var dist = 0.0;
            for (var q = 0u; q < D4; q++) {
                let diff = x[q] - centroids[best_c * D4 + q];
                dist += dot(diff, diff);
            }
            let q = split64(round(dist * si));
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
