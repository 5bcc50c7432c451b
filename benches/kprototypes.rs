//! k-prototypes on mixed data (6 numeric + 3 categorical columns, 6 planted groups): one whole
//! fit at 100k rows with k = 8, and one assignment pass (`predict`) at 1M rows for k = 4 and 8.
//! Set SEGMENTER_KPROTO_FIT_1M=1 to also time one whole 1M-row fit, printed once.
//!
//! What this protects: an assignment pass reads 36 MiB (1M × 9 × 4 bytes), under 1.5 ms of
//! bandwidth on the 2-core build machine (shared/PERF-NOTES.md); the target is a whole 1M-row
//! fit at k = 4–8 in a few seconds.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use segmenter::cluster::kprototypes::{fit, KPrototypesParams};
use std::hint::black_box;
use std::time::Instant;

const DN: usize = 6;
const LEVELS: [u32; 3] = [5, 12, 3];

/// `n` rows around 6 numeric centres uniform in [-3, 3]^6 (sd 1), each group with its own
/// preferred codes that 70% of its rows keep (the rest uniform).
fn mixed(n: usize) -> (Array2<f32>, Array2<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let groups = 6;
    let centres: Vec<f32> = (0..groups * DN)
        .map(|_| rng.random_range(-3.0..3.0))
        .collect();
    let prefs: Vec<u32> = (0..groups * LEVELS.len())
        .map(|i| rng.random_range(0..LEVELS[i % LEVELS.len()]))
        .collect();
    let mut xn = Vec::with_capacity(n * DN);
    let mut xc = Vec::with_capacity(n * LEVELS.len());
    for _ in 0..n {
        let g = rng.random_range(0..groups);
        for &m in &centres[g * DN..(g + 1) * DN] {
            let z: f32 = StandardNormal.sample(&mut rng);
            xn.push(m + z);
        }
        for (c, &lv) in LEVELS.iter().enumerate() {
            let keep = rng.random::<f64>() < 0.7;
            xc.push(if keep {
                prefs[g * LEVELS.len() + c]
            } else {
                rng.random_range(0..lv)
            });
        }
    }
    (
        Array2::from_shape_vec((n, DN), xn).unwrap(),
        Array2::from_shape_vec((n, LEVELS.len()), xc).unwrap(),
    )
}

fn kprototypes(c: &mut Criterion) {
    let mut g = c.benchmark_group("kprototypes");
    g.sample_size(10);

    let (xn, xc) = mixed(100_000);
    g.bench_function("fit_n100k_k8", |b| {
        b.iter(|| {
            fit(xn.view(), xc.view(), &KPrototypesParams::new(8).seed(1))
                .unwrap()
                .cost
        })
    });

    let (xn, xc) = mixed(1_000_000);
    for k in [4, 8] {
        // A model fitted on a sample is enough: the pass costs the same for any prototypes.
        let model = fit(
            xn.slice(ndarray::s![..20_000, ..]),
            xc.slice(ndarray::s![..20_000, ..]),
            &KPrototypesParams::new(k).seed(1),
        )
        .unwrap()
        .model;
        g.throughput(Throughput::Elements(xn.nrows() as u64));
        g.bench_function(format!("assign_n1m_k{k}"), |b| {
            b.iter(|| black_box(model.predict(black_box(xn.view()), xc.view()).ok()))
        });
    }
    g.finish();

    if std::env::var_os("SEGMENTER_KPROTO_FIT_1M").is_some() {
        for k in [4, 8] {
            let t = Instant::now();
            let f = fit(xn.view(), xc.view(), &KPrototypesParams::new(k).seed(1)).unwrap();
            eprintln!(
                "fit n=1M dn=6 dc=3 k={k}: {:.2} s, {} iterations, converged {}, cost {:.1}",
                t.elapsed().as_secs_f64(),
                f.iterations,
                f.converged,
                f.cost
            );
        }
    }
}

criterion_group!(benches, kprototypes);
criterion_main!(benches);
