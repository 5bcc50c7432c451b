//! k-means known answers, determinism and invariants, on the CPU reference backend.

mod common;

use common::{blobs, same_partition, shuffle, uniform};
use ndarray::{array, Array2};
use segmenter::backend::CpuBackend;
use segmenter::kmeans::{fit, Algorithm, Init, KMeansParams};
use segmenter::Error;

fn corners() -> Vec<Vec<f32>> {
    vec![
        vec![-10.0, -10.0, 0.0],
        vec![10.0, -10.0, 5.0],
        vec![-10.0, 10.0, -5.0],
        vec![10.0, 10.0, 0.0],
    ]
}

#[test]
fn separated_blobs_recover_centres_and_labels() {
    let (x, truth) = blobs(&corners(), 500, 0.1, 1);
    let (x, truth) = shuffle(&x, &truth, 2);
    for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let f = fit(
            &CpuBackend,
            x.view(),
            &KMeansParams::new(4).seed(7).algorithm(algorithm),
        )
        .unwrap();
        assert!(f.converged);
        assert!(same_partition(&f.labels, &truth), "{algorithm:?}");
        for c in corners() {
            let nearest = f
                .model
                .centroids
                .rows()
                .into_iter()
                .map(|r| {
                    r.iter()
                        .zip(&c)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0f32, f32::max)
                })
                .fold(f32::INFINITY, f32::min);
            // The mean of 500 points with sd 0.1 is within 0.02 of the centre (4 sd of the mean).
            assert!(
                nearest < 0.02,
                "{algorithm:?}: centre {c:?} off by {nearest}"
            );
        }
        // Inertia ≈ n·d·σ² for tight blobs.
        let expected = 2000.0 * 3.0 * 0.01;
        assert!(
            (f.inertia / expected - 1.0).abs() < 0.1,
            "inertia {}",
            f.inertia
        );
    }
}

#[test]
fn first_init_matches_a_hand_computed_lloyd_step() {
    // First two rows start the centroids at (0,0) and (1,0).
    let x = array![
        [0.0f32, 0.0],
        [1.0, 0.0],
        [0.0, 1.0],
        [5.0, 5.0],
        [6.0, 5.0],
        [5.0, 7.0]
    ];
    let p = KMeansParams::new(2)
        .init(Init::First)
        .max_iter(1)
        .tol(0.0)
        .algorithm(Algorithm::Lloyd);
    let f = fit(&CpuBackend, x.view(), &p).unwrap();
    // Step 1 assigns (0,0),(0,1) to c0 (ties go to the lowest index) and the rest to c1:
    // c0 = (0, 0.5), c1 = ((1+5+6+5)/4, (0+5+5+7)/4) = (4.25, 4.25).
    assert_eq!(f.model.centroids, array![[0.0f32, 0.5], [4.25, 4.25]]);
    assert_eq!(f.iterations, 1);
    assert!(!f.converged);
    // Labels always match the returned centroids: (1,0) is now nearer c0.
    assert_eq!(f.labels, vec![0, 0, 0, 1, 1, 1]);
    // Exact inertia against the final centroids.
    let expected = 0.25
        + (1.0 + 0.25)
        + 0.25
        + (0.75f64.powi(2) * 2.0)
        + (1.75f64.powi(2) + 0.75f64.powi(2))
        + (0.75f64.powi(2) + 2.75f64.powi(2));
    assert!(
        (f.inertia - expected).abs() < 1e-9,
        "{} vs {expected}",
        f.inertia
    );
    // Run to convergence: two clusters of three.
    let f = fit(&CpuBackend, x.view(), &p.clone().max_iter(100)).unwrap();
    assert!(f.converged);
    assert_eq!(f.labels, vec![0, 0, 0, 1, 1, 1]);
    assert_eq!(
        f.model.centroids,
        array![[1.0f32 / 3.0, 1.0 / 3.0], [16.0 / 3.0, 17.0 / 3.0]]
    );
}

#[test]
fn results_are_identical_whatever_the_thread_count() {
    // More than one chunk of 4,096 points and a ragged last block.
    let x = uniform(20_003, 5, 10.0, 3);
    for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let p = KMeansParams::new(7).seed(11).n_init(2).algorithm(algorithm);
        let runs: Vec<_> = [1, 2, 3]
            .iter()
            .map(|&t| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap();
                pool.install(|| fit(&CpuBackend, x.view(), &p).unwrap())
            })
            .collect();
        for r in &runs[1..] {
            assert_eq!(r.labels, runs[0].labels, "{algorithm:?}");
            assert_eq!(r.model.centroids, runs[0].model.centroids, "{algorithm:?}");
            assert_eq!(
                r.inertia.to_bits(),
                runs[0].inertia.to_bits(),
                "{algorithm:?}"
            );
            assert_eq!(r.iterations, runs[0].iterations);
        }
    }
}

#[test]
fn inertia_never_increases_between_iterations() {
    let x = uniform(5_000, 4, 5.0, 4);
    let p = KMeansParams::new(9)
        .init(Init::Random)
        .seed(5)
        .tol(0.0)
        .algorithm(Algorithm::Lloyd);
    let f = fit(&CpuBackend, x.view(), &p).unwrap();
    let inertias: Vec<f64> = f.history.iter().map(|h| h.inertia.unwrap()).collect();
    assert!(inertias.len() > 5, "only {} iterations", inertias.len());
    for w in inertias.windows(2) {
        assert!(
            w[1] <= w[0] * (1.0 + 1e-9),
            "inertia rose from {} to {}",
            w[0],
            w[1]
        );
    }
    // The final exact inertia is no larger than the last assignment's.
    assert!(f.inertia <= inertias[inertias.len() - 1] * (1.0 + 1e-9));
}

#[test]
fn hamerly_agrees_with_lloyd() {
    let (x, truth) = blobs(&corners(), 3000, 3.0, 6);
    let (x, _) = shuffle(&x, &truth, 7);
    let p = KMeansParams::new(6).init(Init::First).tol(0.0).max_iter(60);
    let l = fit(
        &CpuBackend,
        x.view(),
        &p.clone().algorithm(Algorithm::Lloyd),
    )
    .unwrap();
    let h = fit(&CpuBackend, x.view(), &p.algorithm(Algorithm::Hamerly)).unwrap();
    let same = l
        .labels
        .iter()
        .zip(&h.labels)
        .filter(|(a, b)| a == b)
        .count();
    assert_eq!(same, l.labels.len());
    assert_eq!(l.iterations, h.iterations);
    assert!((l.inertia - h.inertia).abs() <= 1e-9 * l.inertia);
    for (a, b) in l.model.centroids.iter().zip(h.model.centroids.iter()) {
        assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{a} vs {b}");
    }
}

#[test]
fn empty_cluster_is_reseeded_from_the_farthest_point() {
    // The first two rows are equal, so two centroids start together and one ends up empty.
    let x = array![[0.0f32], [0.0], [1.0], [10.0], [11.0], [30.0]];
    for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let p = KMeansParams::new(3)
            .init(Init::First)
            .tol(0.0)
            .algorithm(algorithm);
        let f = fit(&CpuBackend, x.view(), &p).unwrap();
        let mut sizes = [0; 3];
        for &l in &f.labels {
            sizes[l as usize] += 1;
        }
        assert!(
            sizes.iter().all(|&s| s > 0),
            "{algorithm:?}: sizes {sizes:?}"
        );
        // Optimum for k=3: {0,0,1}, {10,11}, {30}.
        let mut c: Vec<f32> = f.model.centroids.iter().copied().collect();
        c.sort_by(f32::total_cmp);
        assert_eq!(c, vec![1.0 / 3.0, 10.5, 30.0], "{algorithm:?}");
    }
}

#[test]
fn more_runs_never_do_worse() {
    let x = uniform(3_000, 3, 1.0, 8);
    let one = fit(&CpuBackend, x.view(), &KMeansParams::new(12).seed(3)).unwrap();
    let five = fit(
        &CpuBackend,
        x.view(),
        &KMeansParams::new(12).seed(3).n_init(5),
    )
    .unwrap();
    assert!(five.inertia <= one.inertia);
    assert!(five.total_iterations >= one.total_iterations);
}

#[test]
fn k_above_distinct_points_is_an_error() {
    let x: Array2<f32> = array![[1.0, 1.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [3.0, 3.0]];
    let e = fit(&CpuBackend, x.view(), &KMeansParams::new(4)).unwrap_err();
    assert!(matches!(e, Error::TooFewDistinct { k: 4, distinct: 3 }));
    assert_eq!(
        e.to_string(),
        "k = 4 is larger than the number of distinct points (3); use a k of at most 3"
    );
    // k equal to the distinct count works and puts every distinct point in its own cluster.
    let f = fit(&CpuBackend, x.view(), &KMeansParams::new(3)).unwrap();
    assert_eq!(f.inertia, 0.0);
}

#[test]
fn k_one_gives_the_mean() {
    let x = array![[1.0f32, 2.0], [3.0, 6.0], [5.0, 10.0]];
    for algorithm in [Algorithm::Lloyd, Algorithm::Hamerly] {
        let f = fit(
            &CpuBackend,
            x.view(),
            &KMeansParams::new(1).algorithm(algorithm),
        )
        .unwrap();
        assert_eq!(f.model.centroids, array![[3.0f32, 6.0]]);
        assert_eq!(f.inertia, 4.0 + 16.0 + 4.0 + 16.0);
    }
}

#[test]
fn canonical_numbering_is_largest_first() {
    let (x, truth) = blobs(&corners()[..3], 100, 0.1, 9);
    // Make blob 2 the largest and blob 0 the smallest.
    let keep: Vec<usize> = (0..300)
        .filter(|&i| !(truth[i] == 0 && i % 2 == 0 || truth[i] == 1 && i % 4 == 0))
        .collect();
    let x = x.select(ndarray::Axis(0), &keep);
    let mut f = fit(&CpuBackend, x.view(), &KMeansParams::new(3).seed(1)).unwrap();
    f.canonicalize();
    let mut sizes = [0; 3];
    for &l in &f.labels {
        sizes[l as usize] += 1;
    }
    assert_eq!(sizes, [100, 75, 50]);
    assert!(
        (f.model.centroids[[0, 0]] + 10.0).abs() < 0.1
            && (f.model.centroids[[0, 1]] - 10.0).abs() < 0.1
    );
}
