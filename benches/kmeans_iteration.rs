//! One k-means iteration (assign + accumulate + centroid update) on the CPU backend, at
//! N = 1M (override with SEGMENTER_BENCH_ROWS) for D=8,K=8 and D=16,K=16, plus whole fits
//! of 20 iterations with Lloyd and Hamerly from the same start; and at the large-k shapes
//! D=32,K=256 and D=64,K=1024 one step of Lloyd, Hamerly's first step and the blocked kernel
//! from the same centroids (`large_k` group; fewer samples, each step takes up to seconds).
//!
//! The floor this protects: one pass over 1M × 8 f32 (32 MiB) is about 0.7 ms on the 2-core
//! build machine (shared/PERF-NOTES.md); scikit-learn's Lloyd takes about 9–11 ms there.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use segmenter::backend::{Assign, Backend, CpuBackend};
use segmenter::kmeans::{fit_uploaded, Algorithm, Init, KMeansParams, Start, Uploaded};
use std::hint::black_box;

fn rows() -> usize {
    std::env::var("SEGMENTER_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

/// Gaussian blobs (sd 1) around `k` centres uniform in [-10, 10]^d, in random order.
fn blobs(n: usize, d: usize, k: usize) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let centres: Vec<f32> = (0..k * d).map(|_| rng.random_range(-10.0..10.0)).collect();
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let c = rng.random_range(0..k);
        for &m in &centres[c * d..(c + 1) * d] {
            let z: f32 = StandardNormal.sample(&mut rng);
            x.push(m + z);
        }
    }
    Array2::from_shape_vec((n, d), x).unwrap()
}

fn iteration(c: &mut Criterion) {
    let n = rows();
    let mut g = c.benchmark_group("cpu_iteration");
    g.sample_size(30);
    for (d, k) in [(8, 8), (16, 16)] {
        let x = blobs(n, d, k);
        let backend = CpuBackend;
        let points = backend.upload(x.view()).unwrap();
        let centroids: Vec<f32> = x.as_slice().unwrap()[..k * d].to_vec();
        let mut run = backend.start(&points, k, Assign::Lloyd).unwrap();
        g.throughput(Throughput::Bytes((n * d * 4) as u64));
        g.bench_function(format!("lloyd_n{n}_d{d}_k{k}"), |b| {
            b.iter(|| {
                let s = backend
                    .step(&points, &mut run, black_box(&centroids))
                    .unwrap();
                let new: Vec<f32> = (0..k * d)
                    .map(|i| (s.sums[i] / s.counts[i / d].max(1) as f64) as f32)
                    .collect();
                black_box(new)
            })
        });
        let p = KMeansParams::new(k).init(Init::First).tol(0.0).max_iter(20);
        let data = Uploaded::new(&backend, x.view()).unwrap();
        for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly] {
            g.bench_function(
                format!("fit20_{algorithm:?}_n{n}_d{d}_k{k}").to_lowercase(),
                |b| {
                    b.iter(|| {
                        fit_uploaded(&data, &p.clone().algorithm(algorithm), Start::Init)
                            .unwrap()
                            .inertia
                    })
                },
            );
        }
    }
    g.finish();
}

fn large_k(c: &mut Criterion) {
    let n = rows();
    let mut g = c.benchmark_group("cpu_iteration_large_k");
    g.sample_size(10);
    for (d, k) in [(32, 256), (64, 1024)] {
        let x = blobs(n, d, k);
        let backend = CpuBackend;
        let points = backend.upload(x.view()).unwrap();
        let centroids: Vec<f32> = x.as_slice().unwrap()[..k * d].to_vec();
        g.throughput(Throughput::Bytes((n * d * 4) as u64));
        for assign in [Assign::Blocked, Assign::Lloyd, Assign::Hamerly] {
            g.bench_function(format!("{}_n{n}_d{d}_k{k}", assign.name()), |b| {
                b.iter(|| {
                    // A fresh run each time, so Hamerly's step is its full first pass.
                    let mut run = backend.start(&points, k, assign).unwrap();
                    let s = backend
                        .step(&points, &mut run, black_box(&centroids))
                        .unwrap();
                    black_box(s.counts)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, iteration, large_k);
criterion_main!(benches);
