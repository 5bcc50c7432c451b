//! Exact DBSCAN on seeded 2-D Gaussian blobs (`synth::blobs_matrix`, 5 centres in [-10, 10]²,
//! sd 1) at 100k rows and at 1M rows (override the large size with SEGMENTER_BENCH_ROWS), eps
//! suggested from the k-distance knee at min_samples = 5, plus the suggestion itself.
//!
//! What this protects (criterion medians on the shared 2-core build machine, 2026-11-23):
//! 1M × 2 DBSCAN about 0.60 s, its eps suggestion about 0.13 s; 100k × 2 about 58 ms and
//! 14 ms. scikit-learn's DBSCAN on the same 1M × 2 data (eps 0.0392, min_samples 5) took
//! 32 s there, with the same 1055 clusters, 16313 noise points and 976367 cores.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use segmenter::cluster::dbscan::{dbscan, suggest_eps, DbscanParams};
use segmenter::synth::blobs::{blobs_matrix, BlobsSpec};
use std::hint::black_box;

fn large_rows() -> u64 {
    std::env::var("SEGMENTER_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dbscan");
    // Each 1M run takes seconds: the fewest samples criterion allows.
    g.sample_size(10);
    for rows in [100_000, large_rows()] {
        let (x, _) = blobs_matrix(&BlobsSpec {
            rows,
            dims: 2,
            centers: 5,
            std: 1.0,
            seed: 42,
        })
        .unwrap();
        let s = suggest_eps(x.view(), 5, 10_000, 0).unwrap();
        let p = DbscanParams {
            eps: s.eps,
            min_samples: 5,
        };
        g.throughput(Throughput::Elements(rows));
        g.bench_function(format!("dbscan_n{rows}_d2_ms5"), |b| {
            b.iter(|| black_box(dbscan(black_box(x.view()), &p).unwrap().n_clusters))
        });
        g.bench_function(format!("suggest_eps_n{rows}_d2_sample10k"), |b| {
            b.iter(|| black_box(suggest_eps(black_box(x.view()), 5, 10_000, 0).unwrap().eps))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
