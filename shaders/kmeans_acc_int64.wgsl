// Accumulators for kmeans_assign.wgsl, native 64-bit atomics (SHADER_INT64 and
// SHADER_INT64_ATOMIC_ALL_OPS): one atomicAdd per term. Same cells, same bits, as
// kmeans_acc_carry.wgsl.
//
// Bindings (group 0):
//   3 totals  storage read_write  atomic<u64>  one per cell
//
// Overrides: CAP workgroup cells, one u64 each (kmeans_assign.wgsl).

@group(0) @binding(3) var<storage, read_write> totals: array<atomic<u64>>;

var<workgroup> acc: array<atomic<u64>, CAP>;

fn join64(lo: u32, hi: u32) -> u64 {
    return (u64(hi) << 32u) | u64(lo);
}

fn wg_zero(cell: u32) {
    atomicStore(&acc[cell], 0lu);
}

fn wg_add(cell: u32, lo: u32, hi: u32) {
    atomicAdd(&acc[cell], join64(lo, hi));
}

fn wg_get(cell: u32) -> vec2<u32> {
    let v = atomicLoad(&acc[cell]);
    return vec2<u32>(u32(v & 0xfffffffflu), u32(v >> 32u));
}

fn global_add(cell: u32, lo: u32, hi: u32) {
    atomicAdd(&totals[cell], join64(lo, hi));
}
