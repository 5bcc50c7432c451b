// Lloyd step, pass 2 of 2: reduces the per-workgroup partials of one pass into running totals.
//
// One workgroup per cell of a partial row (k*D sums + inertia; the first k + 1 cells also carry
// counts + changed labels). Its RWG invocations each sum a strided subset of the rows, then
// combine pairwise in a fixed tree, so the result does not depend on scheduling. Floats are
// summed with Neumaier (Kahan-Babuska) compensation into a (sum, compensation) pair that the
// host combines in f64: the error does not grow with the number of workgroups or passes.
//
// Bindings (group 0):
//   0 part_f  storage read        f32  num_groups rows of k*D + 1 (see kmeans_assign.wgsl)
//   1 part_u  storage read        u32  num_groups rows of k + 1
//   2 tot_f   storage read_write  f32  k*D + 1 pairs (sum, compensation)
//   3 tot_u   storage read_write  u32  k + 1 totals
//   4 params  uniform             Params (same layout as kmeans_assign.wgsl)
//
// Overrides: RWG invocations per cell (a power of two), D features. On llvmpipe the host caps
// the rows per pass so one invocation's loop stays under 65,535 iterations (see the assign
// kernel's header).

override RWG: u32 = 64u;
override D: u32 = 1u;

struct Params {
    chunk_n: u32,
    first: u32,
    count: u32,
    k: u32,
    num_groups: u32,
    groups_x: u32,
    first_pass: u32,
    reduce_x: u32,
}

@group(0) @binding(0) var<storage, read> part_f: array<f32>;
@group(0) @binding(1) var<storage, read> part_u: array<u32>;
@group(0) @binding(2) var<storage, read_write> tot_f: array<f32>;
@group(0) @binding(3) var<storage, read_write> tot_u: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

var<workgroup> w_sum: array<f32, RWG>;
var<workgroup> w_comp: array<f32, RWG>;
var<workgroup> w_count: array<u32, RWG>;

// Adds v to (*s, *comp), keeping in *comp the low-order bits lost by the smaller term.
fn neumaier(s: ptr<function, f32>, comp: ptr<function, f32>, v: f32) {
    let t = *s + v;
    if abs(*s) >= abs(v) {
        *comp += (*s - t) + v;
    } else {
        *comp += (v - t) + *s;
    }
    *s = t;
}

@compute @workgroup_size(RWG)
fn reduce_partials(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let cell = wid.y * params.reduce_x + wid.x;
    let row_f = params.k * D + 1u;
    let row_u = params.k + 1u;
    // Uniform per workgroup, so the barriers below stay in uniform control flow.
    if cell >= row_f {
        return;
    }
    let has_count = cell < row_u;
    var s = 0.0;
    var comp = 0.0;
    var n = 0u;
    for (var g = t; g < params.num_groups; g += RWG) {
        neumaier(&s, &comp, part_f[g * row_f + cell]);
        if has_count {
            n += part_u[g * row_u + cell];
        }
    }
    w_sum[t] = s;
    w_comp[t] = comp;
    w_count[t] = n;
    for (var stride = RWG / 2u; stride > 0u; stride /= 2u) {
        workgroupBarrier();
        if t < stride {
            var a = w_sum[t];
            var ca = w_comp[t] + w_comp[t + stride];
            neumaier(&a, &ca, w_sum[t + stride]);
            w_sum[t] = a;
            w_comp[t] = ca;
            w_count[t] += w_count[t + stride];
        }
    }
    if t == 0u {
        // The first pass of a step starts from zero; later passes add to the running totals.
        let fresh = params.first_pass != 0u;
        var total = select(tot_f[2u * cell], 0.0, fresh);
        var total_comp = select(tot_f[2u * cell + 1u], 0.0, fresh) + w_comp[0];
        neumaier(&total, &total_comp, w_sum[0]);
        tot_f[2u * cell] = total;
        tot_f[2u * cell + 1u] = total_comp;
        if has_count {
            tot_u[cell] = select(tot_u[cell], 0u, fresh) + w_count[0];
        }
    }
}
