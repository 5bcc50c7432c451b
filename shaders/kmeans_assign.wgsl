// Lloyd step, pass 1 of 2: fused nearest-centroid assignment + per-workgroup partial sums.
//
// One workgroup owns a tile of WG * PPT consecutive points of the current pass. Phase 1: every
// invocation assigns PPT points (strided by WG, so neighbouring invocations read neighbouring
// addresses) and records their labels in workgroup memory. One barrier. Phase 2: each
// invocation owns (cluster, block of 8 features) items; it scans the tile's labels in order
// and sums x - centroid over its cluster's points in registers. No atomics, one barrier per
// tile, and a fixed summation order, so results are deterministic.
//
// Bindings (group 0):
//   0 points     storage read        f32  one upload chunk, feature-major: x[j * chunk_n + i]
//   1 centroids  storage read        f32  k * D, row-major
//   2 labels     storage read_write  u32  one per point of the chunk; previous labels in, new out
//   3 part_f     storage read_write  f32  per workgroup row of k*D + 1: sums of (x - c), inertia
//   4 part_u     storage read_write  u32  per workgroup row of k + 1: counts, changed labels
//   5 params     uniform             Params
//
// Overrides: WG invocations per workgroup, PPT points per invocation, D features (<= DMAX).
//
// llvmpipe (lavapipe) ends every loop of an invocation once 65,535 iterations have run in all
// (Mesa's LP_MAX_TGSI_LOOP_ITERATIONS), silently. On such adapters the host lowers PPT so that
// the worst case stays under it (Pipelines::points_per_thread keeps that count in step with
// the loops here).

override WG: u32 = 64u;
override PPT: u32 = 16u;
override D: u32 = 1u;
const DMAX: u32 = 64u;
const DB: u32 = 8u;

struct Params {
    chunk_n: u32,      // points in the bound chunk: the stride between features
    first: u32,        // first point of this pass inside the chunk
    count: u32,        // points in this pass
    k: u32,            // clusters
    num_groups: u32,   // workgroups that hold points (the dispatch may round up in 2-D)
    groups_x: u32,     // workgroups per row of a 2-D dispatch
    first_pass: u32,   // 1 on the first pass of a step: the reduction starts from zero
    reduce_x: u32,     // workgroups per row of the reduction's dispatch
}

@group(0) @binding(0) var<storage, read> points: array<f32>;
@group(0) @binding(1) var<storage, read> centroids: array<f32>;
@group(0) @binding(2) var<storage, read_write> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> part_f: array<f32>;
@group(0) @binding(4) var<storage, read_write> part_u: array<u32>;
@group(0) @binding(5) var<uniform> params: Params;

var<workgroup> tile_label: array<u32, WG * PPT>;
var<workgroup> wg_inertia: array<f32, WG>;
var<workgroup> wg_changed: array<u32, WG>;

@compute @workgroup_size(WG)
fn assign_accumulate(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    // Uniform per workgroup, so the early return keeps the barrier in uniform control flow.
    let group = wid.y * params.groups_x + wid.x;
    if group >= params.num_groups {
        return;
    }
    let k = params.k;
    let tile = WG * PPT;
    let tile_first = params.first + group * tile;
    let tile_len = min(tile, params.first + params.count - tile_first);

    var inertia = 0.0;
    var changed = 0u;
    for (var r = 0u; r < PPT; r++) {
        let local = r * WG + t;
        // k matches no cluster: slots past the end of the pass add nothing in phase 2.
        var best_c = k;
        if local < tile_len {
            let i = tile_first + local;
            var x: array<f32, DMAX>;
            for (var j = 0u; j < D; j++) {
                x[j] = points[j * params.chunk_n + i];
            }
            var best = 3.4028235e38;
            best_c = 0u;
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
            inertia += best;
            changed += select(0u, 1u, labels[i] != best_c);
            labels[i] = best_c;
        }
        tile_label[local] = best_c;
    }
    wg_inertia[t] = inertia;
    wg_changed[t] = changed;
    workgroupBarrier();

    let kd = k * D;
    let row_f = group * (kd + 1u);
    let row_u = group * (k + 1u);
    // Work items: (cluster, block of DB features); an invocation takes items t, t + WG, ...
    let blocks = (D + DB - 1u) / DB;
    for (var item = t; item < k * blocks; item += WG) {
        let c = item / blocks;
        let j0 = (item - c * blocks) * DB;
        // A fixed DB-wide accumulator stays in registers; a d-wide private array did not, and
        // lavapipe then summed wrongly at d = 64.
        var acc: array<f32, DB>;
        var cen: array<f32, DB>;
        for (var jj = 0u; jj < DB; jj++) {
            cen[jj] = centroids[c * D + min(j0 + jj, D - 1u)];
        }
        var n = 0u;
        // Scan the tile in point order (deterministic sums); only the owner of a point's
        // cluster adds it.
        for (var l = 0u; l < tile_len; l++) {
            if tile_label[l] == c {
                n += 1u;
                let i = tile_first + l;
                for (var jj = 0u; jj < DB; jj++) {
                    let j = min(j0 + jj, D - 1u);
                    // Sums of x - c rather than x: smaller terms, so f32 loses less.
                    acc[jj] += points[j * params.chunk_n + i] - cen[jj];
                }
            }
        }
        for (var jj = 0u; jj < DB && j0 + jj < D; jj++) {
            part_f[row_f + c * D + j0 + jj] = acc[jj];
        }
        if j0 == 0u {
            part_u[row_u + c] = n;
        }
    }
    if t == 0u {
        var s = 0.0;
        var n = 0u;
        for (var l = 0u; l < WG; l++) {
            s += wg_inertia[l];
            n += wg_changed[l];
        }
        part_f[row_f + kd] = s;
        part_u[row_u + k] = n;
    }
}
