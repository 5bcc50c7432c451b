//! DBSCAN against an O(n²) brute-force reference, known answers, canonical numbering, thread
//! count independence, error messages, and the eps suggestion.

mod common;

use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use segmenter::cluster::dbscan::{dbscan, suggest_eps, Dbscan, DbscanParams};
use std::collections::HashMap;

/// The distance rule the module documents, written out again independently.
fn d2(a: &[f32], b: &[f32]) -> f64 {
    let mut s = 0.0f64;
    for j in 0..a.len() {
        let t = a[j] as f64 - b[j] as f64;
        s += t * t;
    }
    s
}

/// Brute-force DBSCAN: cores, the component of every core (smallest core row of it), and
/// every point's nearest core within eps (ties to the lowest row).
struct Reference {
    core: Vec<bool>,
    comp: Vec<usize>,
    nearest_core: Vec<Option<usize>>,
}

fn reference(x: &Array2<f32>, eps: f64, min_samples: usize) -> Reference {
    let n = x.nrows();
    let row = |i: usize| x.row(i).to_vec();
    let pts: Vec<Vec<f32>> = (0..n).map(row).collect();
    let eps2 = eps * eps;
    let near = |i: usize, j: usize| d2(&pts[i], &pts[j]) <= eps2;
    let core: Vec<bool> = (0..n)
        .map(|i| (0..n).filter(|&j| near(i, j)).count() >= min_samples)
        .collect();
    let mut comp = vec![usize::MAX; n];
    for s in 0..n {
        if !core[s] || comp[s] != usize::MAX {
            continue;
        }
        comp[s] = s;
        let mut stack = vec![s];
        while let Some(i) = stack.pop() {
            for j in 0..n {
                if core[j] && comp[j] == usize::MAX && near(i, j) {
                    comp[j] = s;
                    stack.push(j);
                }
            }
        }
    }
    let nearest_core = (0..n)
        .map(|i| {
            let mut best: Option<(f64, usize)> = None;
            for j in 0..n {
                if core[j] && near(i, j) {
                    let d = d2(&pts[i], &pts[j]);
                    if best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, j));
                    }
                }
            }
            best.map(|b| b.1)
        })
        .collect();
    Reference {
        core,
        comp,
        nearest_core,
    }
}

/// Checks `got` against the reference: cores exactly, clusters up to renumbering, borders on
/// their nearest core's cluster (and within eps of a core of it), noise exactly, canonical
/// numbering, and the counts.
fn check_against_reference(
    x: &Array2<f32>,
    eps: f64,
    min_samples: usize,
    got: &Dbscan,
    what: &str,
) {
    let r = reference(x, eps, min_samples);
    let n = x.nrows();
    assert_eq!(got.is_core, r.core, "{what}: core sets differ");
    // Same partition of the cores: the label ↔ component map is a bijection.
    let mut l2c: HashMap<i32, usize> = HashMap::new();
    let mut c2l: HashMap<usize, i32> = HashMap::new();
    for i in (0..n).filter(|&i| r.core[i]) {
        let l = got.labels[i];
        assert!(l >= 0, "{what}: core {i} labelled noise");
        assert_eq!(
            *l2c.entry(l).or_insert(r.comp[i]),
            r.comp[i],
            "{what}: row {i}"
        );
        assert_eq!(*c2l.entry(r.comp[i]).or_insert(l), l, "{what}: row {i}");
    }
    assert_eq!(got.n_clusters, c2l.len(), "{what}: cluster count");
    for i in (0..n).filter(|&i| !r.core[i]) {
        match r.nearest_core[i] {
            None => assert_eq!(got.labels[i], -1, "{what}: row {i} should be noise"),
            Some(c) => {
                assert_eq!(got.labels[i], got.labels[c], "{what}: border {i}");
                // The scikit-learn-compatible property, independent of the tie rule.
                let ok = (0..n).any(|j| {
                    r.core[j]
                        && got.labels[j] == got.labels[i]
                        && d2(&x.row(i).to_vec(), &x.row(j).to_vec()) <= eps * eps
                });
                assert!(
                    ok,
                    "{what}: border {i} is not within eps of a core of its cluster"
                );
            }
        }
    }
    assert_eq!(
        got.n_noise,
        got.labels.iter().filter(|&&l| l == -1).count(),
        "{what}"
    );
    check_canonical(got, what);
}

/// Labels are 0..n_clusters, by size descending, ties by lowest member row.
fn check_canonical(got: &Dbscan, what: &str) {
    let k = got.n_clusters;
    let mut size = vec![0usize; k];
    let mut first = vec![usize::MAX; k];
    for (i, &l) in got.labels.iter().enumerate() {
        assert!(l >= -1 && l < k as i32, "{what}: label {l} out of range");
        if l >= 0 {
            size[l as usize] += 1;
            first[l as usize] = first[l as usize].min(i);
        }
    }
    for c in 1..k {
        assert!(
            size[c - 1] > size[c] || (size[c - 1] == size[c] && first[c - 1] < first[c]),
            "{what}: clusters {} and {c} are not in canonical order",
            c - 1
        );
    }
}

/// Random test data in `d` dimensions: Gaussian clumps, uniform background, exact duplicates,
/// and (for odd seeds) coordinates on a 0.25 lattice so that distances of exactly eps occur.
fn messy(n: usize, d: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..4)
        .map(|_| (0..d).map(|_| rng.random_range(0.0..6.0f32)).collect())
        .collect();
    let mut rows: Vec<Vec<f32>> = Vec::new();
    while rows.len() < n {
        let u: f32 = rng.random();
        let p: Vec<f32> = if u < 0.1 && !rows.is_empty() {
            rows[rng.random_range(0..rows.len())].clone()
        } else if u < 0.25 {
            (0..d).map(|_| rng.random_range(0.0..6.0f32)).collect()
        } else {
            let c = &centres[rng.random_range(0..centres.len())];
            c.iter()
                .map(|&m| {
                    let z: f32 = StandardNormal.sample(&mut rng);
                    m + 0.4 * z
                })
                .collect()
        };
        let p = if seed % 2 == 1 {
            p.iter().map(|v| (v * 4.0).round() / 4.0).collect()
        } else {
            p
        };
        rows.push(p);
    }
    Array2::from_shape_vec((n, d), rows.concat()).unwrap()
}

#[test]
fn matches_brute_force_on_random_data() {
    for seed in 0..4u64 {
        for d in [1usize, 2, 3, 5, 10] {
            let x = messy(300, d, seed * 31 + d as u64);
            // eps grows with √d so neighbourhoods stay comparable; 0.5 hits lattice distances.
            let scale = (d as f64).sqrt();
            for eps in [0.1 * scale, 0.25, 0.5, 0.3 * scale, 1.0 * scale] {
                for min_samples in [1usize, 2, 4, 10, 40] {
                    let p = DbscanParams { eps, min_samples };
                    let got = dbscan(x.view(), &p).unwrap();
                    let what = format!("seed {seed} d {d} eps {eps} min_samples {min_samples}");
                    check_against_reference(&x, eps, min_samples, &got, &what);
                    if min_samples == 1 {
                        assert!(got.is_core.iter().all(|&c| c), "{what}: all core");
                        assert_eq!(got.n_noise, 0, "{what}");
                    }
                }
            }
        }
    }
}

#[test]
fn matches_brute_force_on_deeper_trees() {
    // Enough rows for a tree several levels deep, so the batched, tag-pruned union pass and
    // whole-box counting are exercised across many leaves.
    for (d, seed) in [(2usize, 100u64), (3, 101), (8, 102)] {
        let x = messy(2500, d, seed);
        let scale = (d as f64).sqrt();
        for (eps, min_samples) in [(0.1 * scale, 5), (0.25 * scale, 10), (0.6 * scale, 30)] {
            let got = dbscan(x.view(), &DbscanParams { eps, min_samples }).unwrap();
            let what = format!("n 2500 d {d} eps {eps} min_samples {min_samples}");
            check_against_reference(&x, eps, min_samples, &got, &what);
        }
    }
}

/// Rows of a `side × side` lattice with spacing 0.1 whose lower-left corner is `at`.
fn square(at: (f32, f32), side: usize) -> Vec<[f32; 2]> {
    let mut v = Vec::new();
    for i in 0..side {
        for j in 0..side {
            v.push([at.0 + 0.1 * i as f32, at.1 + 0.1 * j as f32]);
        }
    }
    v
}

#[test]
fn two_squares_and_isolated_points() {
    // Row order puts isolated points first and the smaller square before the larger one, so
    // the canonical numbering (largest first) must reorder.
    let mut rows: Vec<[f32; 2]> = vec![[10.0, 0.0], [0.0, 10.0], [-5.0, -5.0]];
    rows.extend(square((5.0, 5.0), 4)); // rows 3..19
    rows.extend(square((0.0, 0.0), 5)); // rows 19..44
    rows.push([-0.12, 0.0]); // row 44: border of the big square (0.12 from its corner)
    let x = Array2::from_shape_vec((rows.len(), 2), rows.concat()).unwrap();
    let p = DbscanParams {
        eps: 0.15,
        min_samples: 3,
    };
    let got = dbscan(x.view(), &p).unwrap();
    let mut want = vec![-1, -1, -1];
    want.extend([1; 16]);
    want.extend([0; 25]);
    want.push(0);
    assert_eq!(got.labels, want);
    let mut core = vec![false; 3];
    core.extend([true; 41]);
    core.push(false);
    assert_eq!(got.is_core, core);
    assert_eq!((got.n_clusters, got.n_noise), (2, 3));
}

#[test]
fn equal_sizes_number_by_lowest_row() {
    let mut rows = square((3.0, 0.0), 3);
    rows.extend(square((0.0, 0.0), 3));
    rows.swap(0, 12); // the first row now belongs to the square at the origin
    let x = Array2::from_shape_vec((rows.len(), 2), rows.concat()).unwrap();
    let got = dbscan(
        x.view(),
        &DbscanParams {
            eps: 0.11,
            min_samples: 2,
        },
    )
    .unwrap();
    assert_eq!(got.n_clusters, 2);
    assert_eq!(got.labels[0], 0);
    assert_eq!(got.labels[12], 1);
}

#[test]
fn borders_go_to_the_nearest_core_ties_to_lowest_row() {
    // Two chains of five points 0.5 apart, at -3..-1 and 1..3, with eps = 1 and
    // min_samples = 4: the chains' inner ends are cores, their outer ends borders. The point
    // at 0 has 3 neighbours (a border) and is exactly 1 from the cores at -1 and 1: it joins
    // the chain listed first, whichever that is.
    let left = [-3.0f32, -2.5, -2.0, -1.5, -1.0];
    let right = [1.0f32, 1.5, 2.0, 2.5, 3.0];
    let p = DbscanParams {
        eps: 1.0,
        min_samples: 4,
    };
    for (first, second) in [(left, right), (right, left)] {
        let mut v = first.to_vec();
        v.extend(second);
        v.push(0.0);
        let x = Array2::from_shape_vec((11, 1), v.clone()).unwrap();
        let got = dbscan(x.view(), &p).unwrap();
        let core: Vec<bool> = v.iter().map(|&c| (1.0..=2.5).contains(&c.abs())).collect();
        assert_eq!(got.is_core, core, "{v:?}");
        // The first chain has the middle point too, so it is the larger: cluster 0.
        let mut want = vec![0; 5];
        want.extend([1; 5]);
        want.push(0);
        assert_eq!(got.labels, want, "{v:?}");
    }
}

#[test]
fn thread_count_does_not_change_results() {
    let (x, _) = common::blobs(
        &[vec![0.0, 0.0], vec![3.0, 0.0], vec![0.0, 3.0]],
        4000,
        0.8,
        11,
    );
    let p = DbscanParams {
        eps: 0.12,
        min_samples: 6,
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            (
                dbscan(x.view(), &p).unwrap(),
                suggest_eps(x.view(), 6, 2000, 7).unwrap(),
            )
        })
    };
    let one = run(1);
    assert!(
        one.0.n_clusters >= 1 && one.0.n_noise > 0,
        "{:?}",
        one.0.n_clusters
    );
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

#[test]
fn errors_say_what_to_use_instead() {
    for (eps, shown) in [
        (0.0, "0"),
        (-1.5, "-1.5"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
    ] {
        let e = DbscanParams {
            eps,
            min_samples: 5,
        }
        .check()
        .unwrap_err();
        // A parameter error, keyed by the parameter and named as the library names it.
        assert!(
            matches!(&e, segmenter::Error::Param(p) if p.param() == segmenter::error::Param::Eps)
        );
        assert_eq!(
            e.to_string(),
            format!(
                "eps must be a positive distance in the units of the scaled data (got {shown}); \
                 leave it out to have it suggested from the k-distance curve"
            )
        );
    }
    let want = "min_samples must be at least 1 (it counts the point itself, as scikit-learn \
                does); 5 is a common choice, or 2 × the number of features";
    let p = DbscanParams {
        eps: 1.0,
        min_samples: 0,
    };
    assert_eq!(p.check().unwrap_err().to_string(), want);
    let x = Array2::<f32>::zeros((4, 2));
    // dbscan and suggest_eps validate before any work.
    assert_eq!(dbscan(x.view(), &p).unwrap_err().to_string(), want);
    assert_eq!(
        suggest_eps(x.view(), 0, 100, 0).unwrap_err().to_string(),
        want
    );
}

#[test]
fn empty_and_tiny_inputs_are_noise() {
    let p = DbscanParams {
        eps: 1.0,
        min_samples: 5,
    };
    let got = dbscan(Array2::<f32>::zeros((0, 3)).view(), &p).unwrap();
    assert_eq!((got.labels.len(), got.n_clusters, got.n_noise), (0, 0, 0));
    let got = dbscan(Array2::<f32>::zeros((3, 2)).view(), &p).unwrap();
    assert_eq!(got.labels, [-1, -1, -1]);
    assert_eq!(got.is_core, [false; 3]);
    assert_eq!((got.n_clusters, got.n_noise), (0, 3));
    // Too few rows to suggest eps: an error, not a panic.
    let e = suggest_eps(Array2::<f32>::zeros((3, 2)).view(), 5, 100, 0).unwrap_err();
    assert!(e.to_string().contains("fewer than min_samples"), "{e}");
}

#[test]
fn suggest_eps_refuses_what_cannot_work() {
    let x = messy(50, 2, 0);
    let e = suggest_eps(x.view(), 1, 100, 0).unwrap_err().to_string();
    assert!(e.starts_with("cannot suggest eps for min_samples 1"), "{e}");
    let e = suggest_eps(x.view(), 5, 0, 0).unwrap_err().to_string();
    assert!(e.contains("at least 1 row"), "{e}");
    // All rows identical: every k-distance is 0, which is no eps.
    let same = Array2::<f32>::ones((20, 3));
    let e = suggest_eps(same.view(), 5, 100, 0).unwrap_err().to_string();
    assert!(e.contains("k-distances are all 0"), "{e}");
}

#[test]
fn large_piles_of_duplicates() {
    // 3 distinct points repeated 20,000 times each, and one point apart: every pile is one
    // cluster of cores (duplicates count separately), found without quadratic work.
    let mut v = Vec::new();
    for i in 0..60_000 {
        v.extend([(i % 3) as f32 * 10.0, 1.0]);
    }
    v.extend([5.0, 5.0]);
    let x = Array2::from_shape_vec((60_001, 2), v).unwrap();
    let got = dbscan(
        x.view(),
        &DbscanParams {
            eps: 0.5,
            min_samples: 100,
        },
    )
    .unwrap();
    assert_eq!((got.n_clusters, got.n_noise), (3, 1));
    assert_eq!(&got.labels[..4], [0, 1, 2, 0]);
    assert_eq!(got.labels[60_000], -1);
}

#[test]
fn k_distances_are_exact() {
    let x = messy(200, 3, 5);
    for m in [2usize, 3, 7] {
        let s = suggest_eps(x.view(), m, 1000, 3).unwrap();
        let mut want: Vec<f64> = (0..x.nrows())
            .map(|i| {
                let mut d: Vec<f64> = (0..x.nrows())
                    .map(|j| d2(&x.row(i).to_vec(), &x.row(j).to_vec()))
                    .collect();
                d.sort_by(f64::total_cmp);
                d[m - 1].sqrt()
            })
            .collect();
        want.sort_by(f64::total_cmp);
        assert_eq!(s.curve, want, "min_samples {m}");
        assert_eq!(s.sample_rows, 200);
    }
}

#[test]
fn suggested_eps_separates_blobs() {
    // Three blobs of sd 0.5, 20 apart: the knee must sit above the typical intra-cluster
    // k-distance and far below the gap between blobs.
    let (x, truth) = common::blobs(
        &[vec![0.0, 0.0], vec![20.0, 0.0], vec![0.0, 20.0]],
        3000,
        0.5,
        3,
    );
    let s = suggest_eps(x.view(), 5, 5000, 42).unwrap();
    assert!(s.curve.len() <= 500 && s.knee_index < s.curve.len());
    assert!(s.curve.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(s.eps, s.curve[s.knee_index]);
    let median = s.curve[s.curve.len() / 2];
    assert!(
        s.eps > median && s.eps < 5.0,
        "eps {} median {median}",
        s.eps
    );
    assert_eq!(
        s,
        suggest_eps(x.view(), 5, 5000, 42).unwrap(),
        "deterministic"
    );
    let got = dbscan(
        x.view(),
        &DbscanParams {
            eps: s.eps,
            min_samples: 5,
        },
    )
    .unwrap();
    // With min_samples = 5 the knee leaves a few small clusters of outlying points (as
    // scikit-learn would at this eps), but the three largest are the blobs, one each, and hold
    // almost every row.
    assert!(got.n_clusters >= 3, "eps {}", s.eps);
    let mut of_blob: HashMap<u32, i32> = HashMap::new();
    let mut in_top3 = 0;
    for (i, &l) in got.labels.iter().enumerate() {
        if (0..3).contains(&l) {
            assert_eq!(*of_blob.entry(truth[i]).or_insert(l), l, "row {i}");
            in_top3 += 1;
        }
    }
    assert_eq!(of_blob.len(), 3);
    assert!(
        in_top3 > 9000 * 9 / 10,
        "{in_top3} rows in the three largest clusters"
    );
}
