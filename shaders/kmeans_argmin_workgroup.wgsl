// Argmin reduction of kmeans_assign_tiled.wgsl across the 4 lanes that share a point tile row,
// through workgroup memory (adapters without subgroups, or forced): every lane writes its 4
// candidates, one barrier, every lane merges the 4 candidates of its own point in lane order,
// one barrier (so the next tile may overwrite them).
//
// Bindings: none (it uses the kernel's).

var<workgroup> red_b: array<f32, 256>;
var<workgroup> red_s: array<f32, 256>;
var<workgroup> red_c: array<u32, 256>;

// The (best, second, best index) of the lane's own point, 4 pl + cl = t, over all 4 lanes.
fn reduce_top2(t: u32, best: vec4<f32>, second: vec4<f32>, bc: vec4<u32>) -> Top2 {
    let pl = t / 4u;
    let cl = t % 4u;
    for (var a = 0u; a < 4u; a++) {
        let p = 4u * pl + a;
        red_b[p * 4u + cl] = best[a];
        red_s[p * 4u + cl] = second[a];
        red_c[p * 4u + cl] = bc[a];
    }
    workgroupBarrier();
    let p = t;
    var r = Top2(red_b[p * 4u], red_s[p * 4u], red_c[p * 4u]);
    for (var l = 1u; l < 4u; l++) {
        r = merge1(r, Top2(red_b[p * 4u + l], red_s[p * 4u + l], red_c[p * 4u + l]));
    }
    workgroupBarrier();
    return r;
}
