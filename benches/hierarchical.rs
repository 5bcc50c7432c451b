//! Hierarchical (Ward) clustering on the CPU backend: exact Ward by the nearest-neighbour
//! chain at 5k and 20k rows × 8 features, and the two-stage path (k-means micro-clusters on a
//! sample, one assignment of every row, weighted Ward on the micro-clusters) at 1M × 8.
//!
//! What this protects (2-core build machine, shared with other builds, so numbers are noisy):
//! exact Ward took about 40 ms at 5k rows and 1.2 s at 20k rows (blobs, 8 features; about
//! 0.9 s on 20k standard-normal rows), where scikit-learn's `AgglomerativeClustering(
//! linkage='ward')` took 0.5 s at 3k and 29 s at 20k rows (scipy `linkage` underneath, with
//! a 1.6 GB distance matrix); the merges are identical to scipy's. The two-stage path at 1M
//! rows took about 0.9 s, most of it assigning every row to one of the 1,000 micro-centroids.
//! Override the two-stage size with SEGMENTER_BENCH_ROWS.

use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use segmenter::backend::CpuBackend;
use segmenter::cluster::ward::{hierarchical, ward, HierarchicalParams};
use segmenter::synth::{blobs_matrix, BlobsSpec};
use std::hint::black_box;

fn rows() -> usize {
    std::env::var("SEGMENTER_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

/// Gaussian blobs (sd 1) around `k` centres uniform in [-10, 10]^d (`generate blobs`' data).
fn blobs(n: usize, d: usize, k: usize) -> Array2<f32> {
    let spec = BlobsSpec {
        rows: n as u64,
        dims: d,
        centers: k,
        std: 1.0,
        seed: 42,
    };
    blobs_matrix(&spec)
        .map(|(x, _)| x)
        .expect("valid blob spec")
}

fn exact(c: &mut Criterion) {
    let mut g = c.benchmark_group("ward_exact");
    g.sample_size(10);
    for n in [5_000, 20_000] {
        let x = blobs(n, 8, 8);
        g.bench_function(format!("nn_chain_n{n}_d8"), |b| {
            b.iter(|| ward(black_box(x.view()), None).unwrap().merges.len())
        });
    }
    g.finish();
}

fn two_stage(c: &mut Criterion) {
    let n = rows();
    let x = blobs(n, 8, 8);
    let params = HierarchicalParams {
        exact_max: 20_000,
        ..HierarchicalParams::new(8)
    };
    let mut g = c.benchmark_group("ward_two_stage");
    g.sample_size(10);
    g.bench_function(format!("micro1000_n{n}_d8_k8"), |b| {
        b.iter(|| {
            hierarchical(&CpuBackend, black_box(x.view()), &params)
                .unwrap()
                .inertia
        })
    });
    g.finish();
}

criterion_group!(benches, exact, two_stage);
criterion_main!(benches);
