//! k-prototypes: hand-computed costs, known answers on constructed mixed data, the role of γ,
//! predict and serde of the model, determinism across seeds and thread counts, monotone cost,
//! and every error message.

use ndarray::{array, Array2};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use segmenter::cluster::kprototypes::{
    default_gamma, fit, KPrototypesFit, KPrototypesModel, KPrototypesParams,
};
use segmenter::Error;

/// Rows of `groups` (numeric centre, categorical codes, count) with Gaussian noise of sd `sd`
/// on the numeric part, shuffled; returns the data and each row's group.
fn mixed(
    groups: &[(Vec<f32>, Vec<u32>, usize)],
    sd: f32,
    seed: u64,
) -> (Array2<f32>, Array2<u32>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, sd).unwrap();
    let mut rows: Vec<(Vec<f32>, Vec<u32>, u32)> = Vec::new();
    for (g, (centre, codes, count)) in groups.iter().enumerate() {
        for _ in 0..*count {
            let xn = centre.iter().map(|&c| c + noise.sample(&mut rng)).collect();
            rows.push((xn, codes.clone(), g as u32));
        }
    }
    // Fisher–Yates, so that groups are not contiguous runs of rows.
    for i in (1..rows.len()).rev() {
        let j = rng.random_range(0..=i);
        rows.swap(i, j);
    }
    let (n, dn, dc) = (rows.len(), groups[0].0.len(), groups[0].1.len());
    let xn = Array2::from_shape_fn((n, dn), |(i, f)| rows[i].0[f]);
    let xc = Array2::from_shape_fn((n, dc), |(i, f)| rows[i].1[f]);
    (xn, xc, rows.iter().map(|r| r.2).collect())
}

/// Four groups: 0 and 1 share numeric centre and differ only in the categoricals; 2 and 3 share
/// the categoricals and differ only numerically. Sizes differ, so canonical numbering (by size)
/// must give back the group ids.
fn four_groups(seed: u64) -> (Array2<f32>, Array2<u32>, Vec<u32>) {
    mixed(
        &[
            (vec![0.0, 0.0, 0.0], vec![0, 0], 400),
            (vec![0.0, 0.0, 0.0], vec![1, 1], 300),
            (vec![6.0, 6.0, 0.0], vec![2, 2], 200),
            (vec![-6.0, 6.0, 0.0], vec![2, 2], 100),
        ],
        0.3,
        seed,
    )
}

/// The message of a data or parameter error (anything else is a failure).
fn data_error(r: Result<KPrototypesFit, Error>) -> String {
    match r {
        Err(Error::Data(m)) => m,
        Err(Error::Param(p)) => p.to_string(),
        Err(e) => panic!("expected a data or parameter error, got {e:?}"),
        Ok(_) => panic!("expected an error"),
    }
}

fn same_partition(a: &[u32], b: &[u32]) -> bool {
    let mut map = std::collections::HashMap::new();
    let mut back = std::collections::HashMap::new();
    a.iter()
        .zip(b)
        .all(|(x, y)| *map.entry(x).or_insert(y) == y && *back.entry(y).or_insert(x) == x)
}

#[test]
fn hand_computed_cost_and_mode_tie() {
    // Clusters {0, 1} and {2, 3}: means 0.5 and 10.5, each row 0.25 away squared. In the first
    // cluster codes 0 and 1 tie, so the mode is 0 and row 1 pays γ = 2 for its mismatch:
    // cost = 4 · 0.25 + 2 · 1 = 3.
    let xn = array![[0.0f32], [1.0], [10.0], [11.0]];
    let xc = array![[0u32], [1], [1], [1]];
    let f = fit(xn.view(), xc.view(), &KPrototypesParams::new(2).gamma(2.0)).unwrap();
    assert_eq!(f.labels, vec![0, 0, 1, 1]);
    assert_eq!(f.model.numeric, vec![vec![0.5], vec![10.5]]);
    assert_eq!(f.model.modes, vec![vec![0], vec![1]]);
    assert_eq!(f.model.gamma, 2.0);
    assert_eq!(f.cost, 3.0);
    assert!(f.converged);
}

#[test]
fn recovers_groups_that_differ_only_categorically_or_only_numerically() {
    for seed in 0..5 {
        let (xn, xc, truth) = four_groups(100 + seed);
        let f = fit(
            xn.view(),
            xc.view(),
            &KPrototypesParams::new(4).seed(seed).n_init(3),
        )
        .unwrap();
        assert_eq!(f.labels, truth, "seed {seed}");
        assert!(f.converged);
        assert_eq!(
            f.model.modes,
            vec![vec![0, 0], vec![1, 1], vec![2, 2], vec![2, 2]]
        );
        for (got, want) in
            f.model
                .numeric
                .iter()
                .zip([[0.0, 0.0], [0.0, 0.0], [6.0, 6.0], [-6.0, 6.0]])
        {
            assert!(
                (got[0] - want[0]).abs() < 0.1 && (got[1] - want[1]).abs() < 0.1,
                "{got:?}"
            );
        }
    }
}

#[test]
fn categorical_only_data_is_k_modes() {
    let xn = Array2::<f32>::zeros((6, 0));
    let xc = array![[0u32, 0], [0, 0], [0, 1], [3, 3], [3, 3], [2, 3]];
    let f = fit(xn.view(), xc.view(), &KPrototypesParams::new(2)).unwrap();
    assert_eq!(f.labels, vec![0, 0, 0, 1, 1, 1]);
    assert_eq!(f.model.modes, vec![vec![0, 0], vec![3, 3]]);
    // γ defaults to 1 without numeric columns; two rows mismatch once.
    assert_eq!(f.model.gamma, 1.0);
    assert_eq!(f.cost, 2.0);
}

#[test]
fn default_gamma_is_half_the_mean_standard_deviation() {
    // Column 0: {1, 3}, sd 1; column 1: {0, 4}, sd 2 (population); mean 1.5, half 0.75.
    let xn = array![[1.0f32, 0.0], [3.0, 4.0]];
    assert_eq!(default_gamma(xn.view()), 0.75);
    // Nothing numeric to scale against: 1.
    assert_eq!(default_gamma(Array2::<f32>::zeros((3, 0)).view()), 1.0);
    assert_eq!(default_gamma(array![[2.0f32], [2.0]].view()), 1.0);
    let (xn, xc, _) = four_groups(1);
    let f = fit(xn.view(), xc.view(), &KPrototypesParams::new(4)).unwrap();
    assert_eq!(f.model.gamma, default_gamma(xn.view()));
}

#[test]
fn gamma_decides_between_numeric_and_categorical_splits() {
    // Numeric says {x≈0} vs {x≈10}; the categorical column says {code 0} vs {code 1}, across.
    let (xn, xc, _) = mixed(
        &[
            (vec![0.0], vec![0], 50),
            (vec![0.0], vec![1], 30),
            (vec![10.0], vec![0], 20),
            (vec![10.0], vec![1], 40),
        ],
        0.5,
        3,
    );
    let numeric: Vec<u32> = xn.column(0).iter().map(|&v| (v > 5.0) as u32).collect();
    let categorical: Vec<u32> = xc.column(0).to_vec();
    let big = fit(
        xn.view(),
        xc.view(),
        &KPrototypesParams::new(2).gamma(1e6).n_init(3),
    )
    .unwrap();
    assert!(same_partition(&big.labels, &categorical));
    let tiny = fit(
        xn.view(),
        xc.view(),
        &KPrototypesParams::new(2).gamma(1e-6).n_init(3),
    )
    .unwrap();
    assert!(same_partition(&tiny.labels, &numeric));
}

#[test]
fn predict_on_training_data_reproduces_labels_and_cost() {
    let (xn, xc, _) = mixed(
        &[
            (vec![0.0, 1.0], vec![0, 1, 2], 3000),
            (vec![1.0, 0.0], vec![1, 1, 0], 3000),
            (vec![0.5, 0.5], vec![2, 0, 2], 3000),
        ],
        0.8,
        5,
    );
    let f = fit(xn.view(), xc.view(), &KPrototypesParams::new(5).seed(2)).unwrap();
    let (labels, costs) = f.model.predict(xn.view(), xc.view()).expect("valid input");
    assert_eq!(labels, f.labels);
    let total: f64 = costs.iter().sum();
    assert!(
        (total - f.cost).abs() <= 1e-9 * f.cost,
        "{total} vs {}",
        f.cost
    );
    // A non-contiguous view (every other row) predicts the same as the owned rows.
    let every_other = xn.slice(ndarray::s![..;2, ..]);
    let (l2, _) = f
        .model
        .predict(every_other, xc.slice(ndarray::s![..;2, ..]))
        .expect("valid input");
    assert!(l2.iter().zip(labels.iter().step_by(2)).all(|(a, b)| a == b));
}

#[test]
fn model_round_trips_through_json() {
    let (xn, xc, _) = four_groups(7);
    let f = fit(xn.view(), xc.view(), &KPrototypesParams::new(4)).unwrap();
    let json = serde_json::to_string(&f.model).unwrap();
    let back: KPrototypesModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back, f.model);
    assert_eq!(
        back.predict(xn.view(), xc.view()).expect("valid input").0,
        f.labels
    );
    let p = KPrototypesParams::new(3).gamma(0.5).seed(9);
    let back: KPrototypesParams =
        serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
}

#[test]
fn deterministic_for_a_seed_and_any_thread_count() {
    // Several 4096-row chunks, so that the thread count could matter if reductions were not
    // combined in chunk order.
    let (xn, xc, _) = mixed(
        &[
            (vec![0.0, 0.0, 1.0], vec![0, 1], 7000),
            (vec![2.0, 1.0, 0.0], vec![1, 1], 6000),
            (vec![1.0, 2.0, 2.0], vec![0, 2], 5000),
        ],
        1.0,
        11,
    );
    let params = KPrototypesParams::new(6).seed(4).n_init(2);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| fit(xn.view(), xc.view(), &params).unwrap())
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one.labels, two.labels);
    assert_eq!(one.model, two.model);
    assert_eq!(one.cost.to_bits(), two.cost.to_bits());
    assert_eq!(one.history, two.history);
    let again = fit(xn.view(), xc.view(), &params).unwrap();
    assert_eq!(again.labels, one.labels);
    assert_eq!(again.model, one.model);
    let other = fit(xn.view(), xc.view(), &params.clone().seed(5)).unwrap();
    assert_ne!(
        other.history, one.history,
        "a different seed should start elsewhere"
    );
}

#[test]
fn cost_never_rises_across_iterations() {
    let (xn, xc, _) = mixed(
        &[
            (vec![0.0, 0.0], vec![0, 1, 1], 2000),
            (vec![1.0, 1.0], vec![1, 0, 1], 2000),
            (vec![0.0, 1.5], vec![2, 2, 0], 2000),
        ],
        1.0,
        13,
    );
    for seed in 0..4 {
        let f = fit(xn.view(), xc.view(), &KPrototypesParams::new(8).seed(seed)).unwrap();
        assert!(f.history.len() >= 2);
        for w in f.history.windows(2) {
            // Costs are per-row f32 values summed in f64: allow their rounding only.
            assert!(w[1] <= w[0] * (1.0 + 1e-6), "seed {seed}: {:?}", f.history);
        }
        assert_eq!(f.history.len(), f.iterations + 1);
        let last = f.history[f.history.len() - 1];
        assert!((f.cost - last).abs() <= 1e-9 * last);
    }
    // Capped runs still return labels that belong to the returned prototypes.
    let f = fit(xn.view(), xc.view(), &KPrototypesParams::new(8).max_iter(1)).unwrap();
    assert_eq!(f.iterations, 1);
    assert_eq!(
        f.model
            .predict(xn.view(), xc.view())
            .expect("valid input")
            .0,
        f.labels
    );
}

#[test]
fn every_error_message() {
    let xn = array![[0.0f32], [1.0], [2.0]];
    let xc = array![[0u32], [0], [1]];
    let run = |xn: &Array2<f32>, xc: &Array2<u32>, p: KPrototypesParams| {
        data_error(fit(xn.view(), xc.view(), &p))
    };
    assert_eq!(
        run(&xn, &Array2::zeros((3, 0)), KPrototypesParams::new(2)),
        "k-prototypes needs at least one categorical column, and none is left after cleaning; use algorithm=\"kmeans\" for all-numeric data (or mark a column with categorical)"
    );
    assert_eq!(
        run(&xn, &xc, KPrototypesParams::new(0)),
        "invalid parameter: k must be at least 1"
    );
    for (g, shown) in [
        (0.0, "0"),
        (-1.5, "-1.5"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
    ] {
        assert_eq!(
            run(&xn, &xc, KPrototypesParams::new(2).gamma(g)),
            format!("gamma must be a positive number (got {shown}); leave it out for half the mean numeric standard deviation")
        );
    }
    assert_eq!(
        run(&xn, &xc, KPrototypesParams::new(4)),
        "k = 4 is larger than the number of distinct rows (3); use a k of at most 3"
    );
    // Rows equal in both parts count once; rows differing in either part count apart.
    let dup_n = array![[1.0f32], [1.0], [1.0], [2.0]];
    let dup_c = array![[0u32], [0], [1], [0]];
    assert_eq!(
        run(&dup_n, &dup_c, KPrototypesParams::new(4)),
        "k = 4 is larger than the number of distinct rows (3); use a k of at most 3"
    );
    assert_eq!(
        run(&xn, &xc, KPrototypesParams::new(2).n_init(0)),
        "invalid parameter: n_init must be at least 1"
    );
    assert_eq!(
        run(&xn, &xc, KPrototypesParams::new(2).max_iter(0)),
        "invalid parameter: max_iter must be at least 1"
    );
    assert_eq!(
        run(&xn, &array![[0u32], [1]], KPrototypesParams::new(2)),
        "the numeric part has 3 rows but the categorical part has 2; both must describe the same rows"
    );
    assert_eq!(
        run(
            &array![[0.0f32], [f32::NAN], [1.0]],
            &xc,
            KPrototypesParams::new(2)
        ),
        "row 1, numeric column 0: NaN is not a finite number; impute or drop it before clustering"
    );
    assert_eq!(
        run(&xn, &array![[0u32], [u32::MAX], [1]], KPrototypesParams::new(2)),
        "row 1, categorical column 0: code 4294967295 is too large; codes must run from 0 to the number of levels - 1 (at most 1048576 levels)"
    );
    let f = fit(xn.view(), xc.view(), &KPrototypesParams::new(2)).unwrap();
    match f.model.check_input(array![[0.0f32, 1.0]].view(), array![[0u32]].view()) {
        Err(Error::Data(m)) => assert_eq!(
            m,
            "the k-prototypes model was fitted on 1 numeric and 1 categorical columns, but the data has 2 and 1; predict with the same columns as the fit"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_models_are_reported_not_used() {
    let good = KPrototypesModel {
        numeric: vec![vec![0.0], vec![1.0]],
        modes: vec![vec![0], vec![1]],
        gamma: 0.5,
    };
    assert!(good.check().is_ok());
    let message = |m: KPrototypesModel| match m.check() {
        Err(Error::Data(s)) => s,
        other => panic!("{other:?}"),
    };
    let mut m = good.clone();
    m.modes.pop();
    assert_eq!(
        message(m),
        "the k-prototypes model is unusable: it has 2 numeric prototypes and 1 categorical modes (need the same number, at least 1); fit it again"
    );
    let mut m = good.clone();
    m.numeric[1].push(2.0);
    assert_eq!(
        message(m),
        "the k-prototypes model is unusable: prototype 1 has 2 numeric and 1 categorical values, prototype 0 has 1 and 1; fit it again"
    );
    let mut m = good.clone();
    m.numeric[0][0] = f32::NAN;
    assert_eq!(
        message(m),
        "the k-prototypes model is unusable: a prototype mean is not a finite number; fit it again"
    );
    let mut m = good.clone();
    m.gamma = -1.0;
    assert_eq!(
        message(m),
        "the k-prototypes model is unusable: gamma is -1, not a positive number; fit it again"
    );
}

#[test]
fn more_runs_never_cost_more_and_clusters_are_numbered_by_size() {
    let (xn, xc, _) = mixed(
        &[
            (vec![0.0, 0.0], vec![0, 1], 900),
            (vec![1.0, 1.0], vec![1, 0], 700),
            (vec![0.0, 1.5], vec![2, 2], 500),
        ],
        1.0,
        17,
    );
    for seed in 0..3 {
        let p = KPrototypesParams::new(5).seed(seed);
        let one = fit(xn.view(), xc.view(), &p).unwrap();
        // The first of several runs draws exactly what a single run draws, so keeping the
        // cheapest can only match or improve on it.
        let many = fit(xn.view(), xc.view(), &p.clone().n_init(4)).unwrap();
        assert!(
            many.cost <= one.cost,
            "seed {seed}: {} > {}",
            many.cost,
            one.cost
        );
        let mut sizes = vec![0usize; 5];
        for &l in &many.labels {
            sizes[l as usize] += 1;
        }
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        assert!(sizes.iter().all(|&s| s > 0), "{sizes:?}");
    }
}
