// Argmin reduction of kmeans_assign_tiled.wgsl across the 4 lanes that share a point tile row,
// with subgroup shuffles (wgpu's SUBGROUP feature; the host requests it at device creation and
// uses this form only where the adapter's smallest subgroup holds at least 4 invocations, so
// lanes t, t ^ 1, t ^ 2 and t ^ 3 are in one subgroup). No workgroup memory, no barrier.
//
// Bindings: none (it uses the kernel's).

// The (best, second, best index) of the lane's own point, 4 pl + cl = t, over all 4 lanes.
fn reduce_top2(t: u32, best: vec4<f32>, second: vec4<f32>, bc: vec4<u32>) -> Top2 {
    var b = best;
    var s = second;
    var c = bc;
    for (var m = 1u; m < 4u; m *= 2u) {
        let ob = subgroupShuffleXor(b, m);
        let os = subgroupShuffleXor(s, m);
        let oc = subgroupShuffleXor(c, m);
        let r = merge4(b, s, c, ob, os, oc);
        b = r.best;
        s = r.second;
        c = r.index;
    }
    let a = t % 4u;
    return Top2(b[a], s[a], c[a]);
}
