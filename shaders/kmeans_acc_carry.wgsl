// Accumulators for kmeans_assign.wgsl, 2 × u32 carry form (adapters without 64-bit atomics).
//
// Every cell is a 64-bit two's-complement integer held as two u32 words (low, high). An add
// is atomicAdd on the low word; the high word gets the term's high word plus the carry out of
// the low word, detected from the value atomicAdd returned. Addition modulo 2^64 is
// associative and commutative, so the final bits do not depend on the order of the adds.
//
// Bindings (group 0):
//   3 totals  storage read_write  atomic<u32>  2 words per cell, little-endian (low, high)
//
// Overrides: CAP words of workgroup accumulators, 2 per cell (kmeans_assign.wgsl).

@group(0) @binding(3) var<storage, read_write> totals: array<atomic<u32>>;

// CAP counts u32 words here: two per cell (the host sets it so).
var<workgroup> acc: array<atomic<u32>, CAP>;

fn wg_zero(cell: u32) {
    atomicStore(&acc[2u * cell], 0u);
    atomicStore(&acc[2u * cell + 1u], 0u);
}

fn wg_add(cell: u32, lo: u32, hi: u32) {
    let old = atomicAdd(&acc[2u * cell], lo);
    let h = hi + select(0u, 1u, old > 0xffffffffu - lo);
    if h != 0u {
        atomicAdd(&acc[2u * cell + 1u], h);
    }
}

fn wg_get(cell: u32) -> vec2<u32> {
    return vec2<u32>(atomicLoad(&acc[2u * cell]), atomicLoad(&acc[2u * cell + 1u]));
}

fn global_add(cell: u32, lo: u32, hi: u32) {
    let old = atomicAdd(&totals[2u * cell], lo);
    let h = hi + select(0u, 1u, old > 0xffffffffu - lo);
    if h != 0u {
        atomicAdd(&totals[2u * cell + 1u], h);
    }
}
