//! Known answers for the analysis half: k chosen on the generator's planted segments, the
//! sweep's handling of too few distinct rows, and silhouettes on a clear-cut example.

use ndarray::{array, Array2, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use segmenter::analysis::{choose_k, sweep_k};
use segmenter::backend::CpuBackend;
use segmenter::kmeans::{KMeansParams, Uploaded};
use segmenter::synth::SEGMENTS;

/// Draws `n` customers from the planted segments (no dirt) and standardises every column.
fn planted(n: usize, seed: u64) -> (Array2<f32>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = SEGMENTS[0].dist.len();
    let mut raw = Array2::<f64>::zeros((n, d));
    let mut truth = Vec::with_capacity(n);
    for mut row in raw.rows_mut() {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut seg = SEGMENTS.len() - 1;
        for (s, def) in SEGMENTS.iter().enumerate() {
            acc += def.share;
            if u < acc {
                seg = s;
                break;
            }
        }
        truth.push(seg as u32);
        for (j, &(m, sd)) in SEGMENTS[seg].dist.iter().enumerate() {
            let z: f64 = StandardNormal.sample(&mut rng);
            row[j] = m + sd * z;
        }
    }
    let mean = raw.mean_axis(Axis(0)).unwrap_or_default();
    let sd = raw.std_axis(Axis(0), 0.0);
    let x = Array2::from_shape_fn((n, d), |(i, j)| ((raw[[i, j]] - mean[j]) / sd[j]) as f32);
    (x, truth)
}

#[test]
fn auto_k_finds_the_four_planted_segments() {
    let (x, truth) = planted(20_000, 11);
    let params = KMeansParams::new(2).seed(3);
    let pts = Uploaded::new(&CpuBackend, x.view()).unwrap_or_else(|e| panic!("{e}"));
    let sweep = sweep_k(&pts, 2..=10, &params, 2_000).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sweep.len(), 9);
    let scores: Vec<_> = sweep.iter().map(|(s, _)| s.clone()).collect();
    let choice = choose_k(&scores);
    assert_eq!(choice.k, 4, "{}", choice.rule);
    assert_eq!(choice.knee, Some(4));
    // The silhouette peaks at the planted k, sampled and simplified alike.
    let best = |f: fn(&segmenter::analysis::KScore) -> f64| {
        scores
            .iter()
            .max_by(|a, b| f(a).total_cmp(&f(b)))
            .map(|s| s.k)
    };
    assert_eq!(best(|s| s.silhouette), Some(4));
    assert_eq!(best(|s| s.simplified_silhouette), Some(4));
    // Inertia never rises with k by more than k-means' local-optimum noise.
    for w in scores.windows(2) {
        assert!(w[1].inertia < w[0].inertia * 1.02, "{:?}", w);
    }
    // Each found segment is (almost) one planted segment.
    let fit = &sweep[2].1;
    let mut table = [[0u64; 4]; 4];
    for (&l, &t) in fit.labels.iter().zip(&truth) {
        table[l as usize][t as usize] += 1;
    }
    let agree: u64 = table
        .iter()
        .map(|r| r.iter().copied().max().unwrap_or(0))
        .sum();
    assert!(agree as f64 / truth.len() as f64 > 0.98, "{table:?}");
    // Segments are numbered largest first, so segment 0 is the 35% "casual browsers".
    assert_eq!(
        table[0].iter().enumerate().max_by_key(|p| p.1).map(|p| p.0),
        Some(0)
    );
}

#[test]
fn sweep_skips_k_above_the_distinct_rows_and_is_deterministic() {
    let x = array![[0f32, 0.], [0., 0.], [5., 5.], [5., 5.], [9., 0.], [9., 0.]];
    let params = KMeansParams::new(2).seed(1);
    let pts = Uploaded::new(&CpuBackend, x.view()).unwrap_or_else(|e| panic!("{e}"));
    let sweep = sweep_k(&pts, 2..=6, &params, 100).unwrap_or_else(|e| panic!("{e}"));
    let ks: Vec<usize> = sweep.iter().map(|(s, _)| s.k).collect();
    assert_eq!(ks, vec![2, 3]);
    // Three pairs of identical points in three clusters: inertia 0, silhouette 1.
    let k3 = &sweep[1].0;
    assert_eq!(k3.inertia, 0.0);
    assert!((k3.silhouette - 1.0).abs() < 1e-12 && (k3.simplified_silhouette - 1.0).abs() < 1e-12);
    let again = sweep_k(&pts, 2..=6, &params, 100).unwrap_or_else(|e| panic!("{e}"));
    for (a, b) in sweep.iter().zip(&again) {
        assert_eq!((a.0.inertia, a.0.silhouette), (b.0.inertia, b.0.silhouette));
        assert_eq!(a.1.labels, b.1.labels);
    }
    assert!(sweep_k(&pts, 4..=6, &params, 100).is_err());
    assert!(sweep_k(&pts, 0..=3, &params, 100).is_err());
}
