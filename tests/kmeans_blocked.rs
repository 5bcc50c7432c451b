//! The register-blocked assignment kernel gives Lloyd's steps bit for bit: labels, sums,
//! counts and inertia, at shapes that exercise partial centroid groups, odd dimensions,
//! several parallel chunks, exact ties and near-ties, with any number of threads.

mod common;

use common::{blobs, shuffle};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use segmenter::backend::{Assign, Backend, CpuBackend, Step};
use segmenter::kmeans::{fit, Algorithm, Init, KMeansParams};

/// Uniform points in [-5, 5]^d, and k centroids of which some are exact copies of others (exact
/// ties), some are nudged by one unit in the last place (near-ties), and some points sit exactly
/// half way between two centroids.
fn tricky(n: usize, d: usize, k: usize, seed: u64) -> (Array2<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut c: Vec<f32> = (0..k * d).map(|_| rng.random_range(-5.0f32..5.0)).collect();
    for u in (1..k).step_by(5) {
        // An exact copy of the previous centroid.
        let prev = c[(u - 1) * d..u * d].to_vec();
        c[u * d..(u + 1) * d].copy_from_slice(&prev);
    }
    for u in (3..k).step_by(7) {
        // The previous centroid moved by one ulp in every coordinate.
        for j in 0..d {
            let v = c[(u - 1) * d + j];
            c[u * d + j] = f32::from_bits(v.to_bits() + 1);
        }
    }
    let mut x: Vec<f32> = (0..n * d).map(|_| rng.random_range(-5.0f32..5.0)).collect();
    for i in (0..n).step_by(3) {
        // Exactly between two centroids, or on one, or a centroid plus tiny noise.
        let (a, b) = (rng.random_range(0..k), rng.random_range(0..k));
        for j in 0..d {
            x[i * d + j] = match i % 4 {
                0 => (c[a * d + j] + c[b * d + j]) / 2.0,
                1 => c[a * d + j],
                _ => c[a * d + j] + rng.random_range(-1e-3f32..1e-3),
            };
        }
    }
    (Array2::from_shape_vec((n, d), x).unwrap(), c)
}

fn step(x: &Array2<f32>, c: &[f32], k: usize, assign: Assign) -> (Step, Vec<u32>) {
    let b = CpuBackend;
    let p = b.upload(x.view()).unwrap();
    let mut run = b.start(&p, k, assign).unwrap();
    let s = b.step(&p, &mut run, c).unwrap();
    let labels = b.labels(&p, &run).unwrap();
    (s, labels)
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn blocked_steps_equal_lloyd_bit_for_bit_at_many_shapes() {
    // (n, d, k): k below, at and off a multiple of the centroid group (8); d below and off a
    // multiple of the vector width (16); n off the 16-point block and over two 4096-point chunks.
    let shapes = [
        (1000, 1, 3),
        (777, 3, 8),
        (5000, 5, 17),
        (9001, 17, 67),
        (3000, 33, 130),
        (2000, 64, 9),
        (4100, 16, 64),
    ];
    for (seed, &(n, d, k)) in shapes.iter().enumerate() {
        let (x, c) = tricky(n, d, k, seed as u64);
        let (lloyd, ll) = step(&x, &c, k, Assign::Lloyd);
        let (blocked, bl) = step(&x, &c, k, Assign::Blocked);
        assert_eq!(ll, bl, "labels at n={n} d={d} k={k}");
        assert_eq!(lloyd.counts, blocked.counts, "counts at {n}/{d}/{k}");
        assert_eq!(lloyd.sums, blocked.sums, "sums at {n}/{d}/{k}");
        assert_eq!(lloyd.inertia, blocked.inertia, "inertia at {n}/{d}/{k}");
        assert_eq!(lloyd.changed, blocked.changed);
        assert!(blocked.inertia.unwrap() > 0.0);
        // Exact ties go to the lowest index: a centroid's copy never wins a point.
        let mut copies = 0;
        for u in 1..k {
            if c[u * d..(u + 1) * d] == c[(u - 1) * d..u * d] {
                copies += 1;
                assert_eq!(blocked.counts[u], 0, "copy {u} at {n}/{d}/{k}");
            }
        }
        assert!(k < 6 || copies > 0);
    }
}

#[test]
fn near_ties_that_the_expanded_form_cannot_resolve_follow_lloyd() {
    // Large coordinates with tiny differences: ‖x‖² − 2x·c + ‖c‖² cancels catastrophically in
    // f32 (‖x‖² ≈ 1e8 against distances ≈ 1e-2), so without the exact recheck labels would differ.
    let (n, d, k) = (3000, 20, 70);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let c: Vec<f32> = (0..k * d)
        .map(|_| 1000.0 + rng.random_range(-0.05f32..0.05))
        .collect();
    let x: Vec<f32> = (0..n * d)
        .map(|_| 1000.0 + rng.random_range(-0.05f32..0.05))
        .collect();
    let x = Array2::from_shape_vec((n, d), x).unwrap();
    let (lloyd, ll) = step(&x, &c, k, Assign::Lloyd);
    let (blocked, bl) = step(&x, &c, k, Assign::Blocked);
    assert_eq!(ll, bl);
    assert_eq!(lloyd, blocked);
    // The data really spreads over many clusters (the recheck is not trivially one candidate).
    assert!(lloyd.counts.iter().filter(|&&c| c > 0).count() > k / 2);
}

#[test]
fn blocked_results_are_identical_with_one_and_two_threads() {
    let (x, c) = tricky(9001, 19, 100, 4);
    let one = in_pool(1, || step(&x, &c, 100, Assign::Blocked));
    let two = in_pool(2, || step(&x, &c, 100, Assign::Blocked));
    assert_eq!(one, two);
    let lloyd = in_pool(2, || step(&x, &c, 100, Assign::Lloyd));
    assert_eq!(one, lloyd);
}

#[test]
fn blocked_fit_equals_lloyd_fit_and_auto_picks_hamerly_at_large_k() {
    let centres: Vec<Vec<f32>> = (0..70)
        .map(|i| (0..32).map(|j| ((i * 7 + j * 3) % 23) as f32).collect())
        .collect();
    let (x, truth) = blobs(&centres, 40, 0.8, 3);
    let (x, _) = shuffle(&x, &truth, 5);
    let p = KMeansParams::new(70)
        .init(Init::First)
        .tol(0.0)
        .max_iter(15);
    let l = fit(
        &CpuBackend,
        x.view(),
        &p.clone().algorithm(Algorithm::Lloyd),
    )
    .unwrap();
    let b = fit(
        &CpuBackend,
        x.view(),
        &p.clone().algorithm(Algorithm::Blocked),
    )
    .unwrap();
    assert_eq!(b.assign, Assign::Blocked);
    assert_eq!(l.labels, b.labels);
    assert_eq!(l.model.centroids, b.model.centroids);
    assert_eq!(l.inertia, b.inertia);
    assert_eq!(l.iterations, b.iterations);
    // At large k, auto keeps Hamerly's bounds (their recomputations use the blocked kernel).
    let a = in_pool(1, || {
        fit(&CpuBackend, x.view(), &p.algorithm(Algorithm::Auto)).unwrap()
    });
    assert_eq!(a.assign, Assign::Hamerly);
    assert_eq!(a.labels, l.labels);
    assert_eq!(a.inertia, l.inertia);
    // Where Hamerly's bounds still prune (16 × 64), auto keeps them.
    let (x16, _) = blobs(
        &centres[..64]
            .iter()
            .map(|c| c[..16].to_vec())
            .collect::<Vec<_>>(),
        5,
        0.8,
        3,
    );
    let h = fit(
        &CpuBackend,
        x16.view(),
        &KMeansParams::new(64).init(Init::First).max_iter(2),
    )
    .unwrap();
    assert_eq!(h.assign, Assign::Hamerly);
}

/// Overlapping Gaussian blobs (sd 2 around centres in [-6, 6]^d), shuffled, so that points keep
/// changing cluster for many iterations and every Hamerly path (whole-block recomputation,
/// tightening and gathered recomputation, the blocked recomputation at k ≥ 32) is exercised.
fn overlapping(d: usize, k: usize, per: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..k)
        .map(|_| (0..d).map(|_| rng.random_range(-6.0f32..6.0)).collect())
        .collect();
    let (x, truth) = blobs(&centres, per, 2.0, seed + 1);
    shuffle(&x, &truth, seed + 2).0
}

#[test]
fn hamerly_fits_equal_lloyd_fits_at_small_and_large_k() {
    // (d, k): whole-block recomputation (k·d < 512), gathered recomputation (k·d ≥ 512), and
    // the blocked kernel inside Hamerly (k ≥ 32), over several 4096-point chunks.
    for (seed, &(d, k)) in [(8, 8), (16, 16), (24, 30), (8, 40), (16, 64), (33, 70)]
        .iter()
        .enumerate()
    {
        let x = overlapping(d, k, 9000 / k + 1, seed as u64);
        let p = KMeansParams::new(k).init(Init::First).tol(0.0).max_iter(25);
        let l = fit(
            &CpuBackend,
            x.view(),
            &p.clone().algorithm(Algorithm::Lloyd),
        )
        .unwrap();
        let h = fit(
            &CpuBackend,
            x.view(),
            &p.clone().algorithm(Algorithm::Hamerly),
        )
        .unwrap();
        assert_eq!(h.assign, Assign::Hamerly);
        assert_eq!(l.labels, h.labels, "labels at d={d} k={k}");
        assert_eq!(l.iterations, h.iterations, "iterations at d={d} k={k}");
        let changed: Vec<u64> = l.history.iter().map(|s| s.changed).collect();
        let hchanged: Vec<u64> = h.history.iter().map(|s| s.changed).collect();
        assert_eq!(changed, hchanged, "points moved per step at d={d} k={k}");
        // Points really move after the first steps, so the bounds are put to work.
        assert!(changed[3] > 0, "d={d} k={k}: {changed:?}");
        assert!((l.inertia - h.inertia).abs() <= 1e-9 * l.inertia);
        for (a, b) in l.model.centroids.iter().zip(h.model.centroids.iter()) {
            assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{a} vs {b}");
        }
        // Bit-identical with one thread and two.
        let one = in_pool(1, || {
            fit(
                &CpuBackend,
                x.view(),
                &p.clone().algorithm(Algorithm::Hamerly),
            )
            .unwrap()
        });
        assert_eq!(one.labels, h.labels);
        assert_eq!(one.model.centroids, h.model.centroids);
        assert_eq!(one.inertia, h.inertia);
    }
}
