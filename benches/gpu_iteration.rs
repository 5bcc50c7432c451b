//! One Lloyd step (assign + accumulate + read-back of the k×d sums) on the CPU and on the GPU,
//! from the same points and centroids. Default 100,000 points × 8 features, k = 8, small enough
//! for lavapipe to finish in seconds; SEGMENTER_BENCH_ROWS raises n (e.g. 10000000 on a real
//! GPU). The GPU step runs once per accumulator variant the adapter has (int64, carry).
//! Without an adapter the GPU case is skipped with a note.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use segmenter::backend::gpu::Accumulator;
use segmenter::backend::{Assign, Backend, CpuBackend, GpuBackend, GpuConfig};
use segmenter::synth::{blobs_matrix, BlobsSpec};
use std::hint::black_box;
use std::time::Duration;

const D: usize = 8;
const K: usize = 8;

fn rows() -> u64 {
    std::env::var("SEGMENTER_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn bench_step<B: Backend>(c: &mut Criterion, name: &str, backend: &B, x: &ndarray::Array2<f32>) {
    let n = x.nrows();
    let centroids: Vec<f32> = x.rows().into_iter().take(K).flatten().copied().collect();
    let points = match backend.upload(x.view()) {
        Ok(p) => p,
        Err(e) => return eprintln!("{name}: upload failed, skipped: {e}"),
    };
    let mut run = match backend.start(&points, K, Assign::Lloyd) {
        Ok(r) => r,
        Err(e) => return eprintln!("{name}: start failed, skipped: {e}"),
    };
    let mut group = c.benchmark_group("lloyd_step");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_with_input(
        BenchmarkId::new(name, format!("{n}x{D}x{K}")),
        &(),
        |b, _| {
            b.iter(|| {
                backend
                    .step(&points, &mut run, black_box(&centroids))
                    .map(|s| black_box(s.counts[0]))
            })
        },
    );
    group.finish();
}

fn lloyd_step(c: &mut Criterion) {
    let (x, _) = blobs_matrix(&BlobsSpec {
        rows: rows(),
        dims: D,
        centers: K,
        std: 1.0,
        seed: 0,
    })
    .expect("valid blob spec");
    bench_step(c, "cpu", &CpuBackend, &x);
    match GpuBackend::new() {
        Ok(g) => {
            // The device type is in the id, so a lavapipe figure is never read as a GPU's.
            eprintln!("gpu adapter: {}", g.adapter().name);
            let mut accs = vec![Accumulator::Carry];
            if g.adapter().int64_atomics {
                accs.insert(0, Accumulator::Int64);
            }
            for acc in accs {
                let config = GpuConfig {
                    accumulator: Some(acc),
                    ..GpuConfig::default()
                };
                match GpuBackend::with_config(config) {
                    Ok(g) => {
                        let name = format!("gpu-{}-{}", g.adapter().device_type, acc.name());
                        bench_step(c, &name, &g, &x);
                    }
                    Err(e) => eprintln!("gpu {} skipped: {e}", acc.name()),
                }
            }
        }
        Err(e) => eprintln!("gpu skipped: {e}"),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = lloyd_step
}
criterion_main!(benches);
