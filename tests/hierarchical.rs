//! Hierarchical (Ward) clustering: scipy's linkage on fixed data, weighted leaves against
//! duplicated rows, canonical cuts, the two-stage path against the exact one, thread-count
//! independence, and the error messages users see.

mod common;

use common::{blobs, same_partition, shuffle, uniform};
use ndarray::Array2;
use segmenter::backend::{Backend, CpuBackend, GpuBackend};
use segmenter::cluster::ward::{hierarchical, ward, Dendrogram, HierarchicalParams};

// 40 random points and their linkage from scipy 1.x, generated once (see the file header).
include!("common/ward_scipy.rs");

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn matches_scipy_linkage_on_random_points() {
    let x = Array2::from_shape_vec((40, 3), RANDOM_X.iter().flatten().copied().collect()).unwrap();
    let t = ward(x.view(), None).unwrap();
    assert_eq!(t.n_leaves, 40);
    for (i, (m, &(a, b, h, s))) in t.merges.iter().zip(&RANDOM_LINKAGE).enumerate() {
        assert_eq!((m.a, m.b, m.size), (a, b, s), "merge {i}");
        assert!(close(m.height, h), "merge {i}: {} vs scipy {h}", m.height);
    }
}

#[test]
fn weighted_leaves_equal_duplicated_rows() {
    let x = uniform(30, 2, 5.0, 11);
    let weights: Vec<u64> = (0..30).map(|i| 1 + (i * 7 % 4) as u64).collect();
    let mut rows = Vec::new();
    for (i, &w) in weights.iter().enumerate() {
        for _ in 0..w {
            rows.extend(x.row(i).iter().copied());
        }
    }
    let expanded = Array2::from_shape_vec((rows.len() / 2, 2), rows).unwrap();
    let tw = ward(x.view(), Some(&weights)).unwrap();
    let te = ward(expanded.view(), None).unwrap();
    // Duplicates merge first at height 0; the rest of the tree is the weighted tree.
    let skip = te.merges.len() - tw.merges.len();
    assert!(te.merges[..skip].iter().all(|m| m.height == 0.0));
    for (mw, me) in tw.merges.iter().zip(&te.merges[skip..]) {
        assert!(
            close(mw.height, me.height),
            "{} vs {}",
            mw.height,
            me.height
        );
        assert_eq!(mw.size, me.size);
    }
    // Rows of leaf i come before those of leaf i + 1, so canonical labels agree exactly.
    let leaf_of_row: Vec<usize> = weights
        .iter()
        .enumerate()
        .flat_map(|(i, &w)| std::iter::repeat_n(i, w as usize))
        .collect();
    for k in 1..=30 {
        let lw = tw.cut(k).unwrap();
        let le = te.cut(k).unwrap();
        let mapped: Vec<u32> = leaf_of_row.iter().map(|&i| lw[i]).collect();
        assert_eq!(mapped, le, "k = {k}");
    }
}

/// Labels are numbered by cluster weight descending, ties by the lowest leaf.
fn assert_canonical(t: &Dendrogram, labels: &[u32], k: usize) {
    let mut weight = vec![0u64; k];
    let mut first = vec![usize::MAX; k];
    for (i, &l) in labels.iter().enumerate() {
        weight[l as usize] += t.leaf_weights[i];
        first[l as usize] = first[l as usize].min(i);
    }
    for c in 1..k {
        assert!(
            weight[c - 1] > weight[c] || (weight[c - 1] == weight[c] && first[c - 1] < first[c]),
            "k = {k}: cluster {} (weight {}, first leaf {}) before {c} (weight {}, first leaf {})",
            c - 1,
            weight[c - 1],
            first[c - 1],
            weight[c],
            first[c]
        );
    }
}

#[test]
fn cut_labels_are_canonical() {
    let x = uniform(200, 3, 10.0, 5);
    let weights: Vec<u64> = (0..200).map(|i| 1 + (i % 3) as u64).collect();
    for t in [
        ward(x.view(), None).unwrap(),
        ward(x.view(), Some(&weights)).unwrap(),
    ] {
        for k in [1, 2, 3, 5, 8, 50, 200] {
            let labels = t.cut(k).unwrap();
            assert_eq!(*labels.iter().max().unwrap() as usize, k - 1);
            assert_canonical(&t, &labels, k);
        }
    }
}

fn separated() -> (Array2<f32>, Vec<u32>) {
    let centers = vec![
        vec![-10.0, -10.0, 0.0],
        vec![10.0, -10.0, 5.0],
        vec![-10.0, 10.0, -5.0],
        vec![10.0, 10.0, 0.0],
    ];
    let (x, truth) = blobs(&centers, 800, 1.0, 3);
    shuffle(&x, &truth, 4)
}

#[test]
fn two_stage_agrees_with_exact_on_separated_blobs() {
    let (x, truth) = separated();
    let exact = hierarchical(&CpuBackend, x.view(), &HierarchicalParams::new(4)).unwrap();
    assert!(!exact.two_stage && exact.micro_labels.is_none());
    assert_eq!(exact.dendrogram.n_leaves, x.nrows());
    let params = HierarchicalParams {
        exact_max: 1_000,
        micro_clusters: 100,
        ..HierarchicalParams::new(4)
    };
    let two = hierarchical(&CpuBackend, x.view(), &params).unwrap();
    assert!(two.two_stage);
    let micro = two.micro_labels.as_ref().unwrap();
    assert_eq!(micro.len(), x.nrows());
    assert!(two.dendrogram.n_leaves <= 100);
    assert!(same_partition(&exact.labels, &truth));
    assert!(same_partition(&two.labels, &truth));
    assert_eq!(two.labels, exact.labels);
    assert_eq!(two.centroids.dim(), (4, 3));
    for (a, b) in two.centroids.iter().zip(exact.centroids.iter()) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    assert!(close(two.inertia, exact.inertia));
    // Each row's cluster is its micro-cluster's cluster in the micro-cluster tree.
    let tree = two.dendrogram.cut(4).unwrap();
    assert!(micro
        .iter()
        .zip(&two.labels)
        .all(|(&m, &l)| tree[m as usize] == l));
}

#[test]
fn two_stage_is_deterministic_for_a_seed() {
    let (x, _) = separated();
    let params = HierarchicalParams {
        exact_max: 1_000,
        micro_clusters: 60,
        seed: 9,
        ..HierarchicalParams::new(6)
    };
    let a = hierarchical(&CpuBackend, x.view(), &params).unwrap();
    let b = hierarchical(&CpuBackend, x.view(), &params).unwrap();
    assert_eq!(a.labels, b.labels);
    assert_eq!(a.micro_labels, b.micro_labels);
    assert_eq!(a.dendrogram.merges, b.dendrogram.merges);
}

#[test]
fn result_does_not_depend_on_thread_count() {
    // Above the size where the nearest-neighbour scan runs in parallel chunks.
    let x = uniform(13_000, 4, 10.0, 21);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| ward(x.view(), None).unwrap())
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one.merges, two.merges);
    let three = run(3);
    assert_eq!(one.merges, three.merges);
}

#[test]
fn parameters_that_cannot_work_say_what_to_use() {
    let x = uniform(50, 2, 1.0, 1);
    let err = |x: &Array2<f32>, p: HierarchicalParams| {
        hierarchical(&CpuBackend, x.view(), &p)
            .err()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        err(&x, HierarchicalParams::new(0)),
        "invalid parameter: k must be at least 1"
    );
    let mut dup = Array2::<f32>::zeros((50, 2));
    dup.row_mut(1).fill(1.0);
    dup.row_mut(2).fill(2.0);
    assert_eq!(
        err(&dup, HierarchicalParams::new(4)),
        "k 4 is more than the 3 distinct rows of the data; use a k of at most 3"
    );
    let mut nan = uniform(50, 2, 1.0, 1);
    nan[[3, 1]] = f32::NAN;
    assert_eq!(
        err(&nan, HierarchicalParams::new(2)),
        "row 3, column 1: NaN is not a finite number; hierarchical clustering needs finite values"
    );
    let mut few = Array2::<f32>::zeros((2_000, 2));
    for i in 0..2_000 {
        few[[i, 0]] = (i % 5) as f32;
    }
    let over_distinct = HierarchicalParams {
        exact_max: 100,
        micro_clusters: 50,
        ..HierarchicalParams::new(6)
    };
    assert_eq!(
        err(&few, over_distinct),
        "k 6 is more than the 5 distinct rows of the data; use a k of at most 5"
    );
    let big = uniform(2_000, 2, 1.0, 2);
    let two_stage = HierarchicalParams {
        exact_max: 100,
        micro_clusters: 50,
        ..HierarchicalParams::new(60)
    };
    assert_eq!(
        err(&big, two_stage),
        "k 60 is more than the 50 micro-clusters the two-stage hierarchical clustering cuts from; use a k of at most 50, or raise micro_clusters"
    );
}

#[test]
fn ties_on_a_lattice_give_a_valid_tree() {
    // A 12 × 12 integer lattice with every point twice: distances tie everywhere, which the
    // chain must resolve (previous element first, then lowest leaf) without cycling.
    let pts: Vec<f32> = (0..288)
        .flat_map(|i| {
            let p = i % 144;
            [(p / 12) as f32, (p % 12) as f32]
        })
        .collect();
    let x = Array2::from_shape_vec((288, 2), pts).unwrap();
    let t = ward(x.view(), None).unwrap();
    assert_eq!(t.merges.len(), 287);
    assert_eq!(t.merges.last().unwrap().size, 288);
    let mut used = vec![false; 288 + 287];
    for (i, m) in t.merges.iter().enumerate() {
        assert!(
            m.a < m.b && m.b < 288 + i,
            "merge {i} names a later cluster"
        );
        assert!(!used[m.a] && !used[m.b], "merge {i} reuses a cluster");
        used[m.a] = true;
        used[m.b] = true;
        if i > 0 {
            assert!(m.height >= t.merges[i - 1].height);
        }
    }
    assert!(t.merges[..144].iter().all(|m| m.height == 0.0));
    assert_eq!(t, ward(x.view(), None).unwrap());
}

/// The two-stage path on `backend` with the parameters of the agreement test above.
fn two_stage_on<B: Backend>(backend: &B, x: &Array2<f32>) -> Vec<u32> {
    let params = HierarchicalParams {
        exact_max: 1_000,
        micro_clusters: 100,
        ..HierarchicalParams::new(4)
    };
    hierarchical(backend, x.view(), &params).unwrap().labels
}

#[test]
fn two_stage_on_the_gpu_matches_the_cpu() {
    // Skips without an adapter unless SEGMENTER_REQUIRE_GPU=1 (CI installs lavapipe).
    let gpu = match GpuBackend::new() {
        Ok(b) => b,
        Err(e) => {
            if std::env::var("SEGMENTER_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("SEGMENTER_REQUIRE_GPU=1 but no GPU backend: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            return;
        }
    };
    let (x, truth) = separated();
    let on_gpu = two_stage_on(&gpu, &x);
    assert!(same_partition(&on_gpu, &truth));
    assert_eq!(on_gpu, two_stage_on(&CpuBackend, &x));
}
