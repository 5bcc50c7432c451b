// Lloyd step, pass 2 of 2: reduces the per-workgroup partials of one pass into running totals.
//
// One invocation per cell of a partial row (k*d sums + inertia, and k counts + changed). Float
// cells are summed with Kahan-Babuska (Neumaier) compensation into a (sum, compensation) pair
// that the host combines in f64, so the error does not grow with the number of workgroups or
// passes. No barriers, no atomics.
//
// Bindings (group 0):
//   0 part_f  storage read        f32  num_groups rows of k*d + 1 (see kmeans_assign.wgsl)
//   1 part_u  storage read        u32  num_groups rows of k + 1
//   2 tot_f   storage read_write  f32  k*d + 1 pairs (sum, compensation)
//   3 tot_u   storage read_write  u32  k + 1 totals
//   4 params  uniform             Params (same layout as kmeans_assign.wgsl)
//
// Overrides: WG invocations per workgroup, D features.

override WG: u32 = 64u;
override D: u32 = 1u;

struct Params {
    chunk_n: u32,
    first: u32,
    count: u32,
    k: u32,
    num_groups: u32,
    groups_x: u32,
    first_pass: u32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> part_f: array<f32>;
@group(0) @binding(1) var<storage, read> part_u: array<u32>;
@group(0) @binding(2) var<storage, read_write> tot_f: array<f32>;
@group(0) @binding(3) var<storage, read_write> tot_u: array<u32>;
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(WG)
fn reduce_partials(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cell = gid.x;
    let k = params.k;
    let row_f = k * D + 1u;
    let row_u = k + 1u;
    let fresh = params.first_pass != 0u;
    if cell < row_f {
        var s = select(tot_f[2u * cell], 0.0, fresh);
        var comp = select(tot_f[2u * cell + 1u], 0.0, fresh);
        for (var g = 0u; g < params.num_groups; g++) {
            let v = part_f[g * row_f + cell];
            let t = s + v;
            // Neumaier: keep the low-order bits lost by whichever term is smaller.
            if abs(s) >= abs(v) {
                comp += (s - t) + v;
            } else {
                comp += (v - t) + s;
            }
            s = t;
        }
        tot_f[2u * cell] = s;
        tot_f[2u * cell + 1u] = comp;
    }
    if cell < row_u {
        var n = select(tot_u[cell], 0u, fresh);
        for (var g = 0u; g < params.num_groups; g++) {
            n += part_u[g * row_u + cell];
        }
        tot_u[cell] = n;
    }
}
