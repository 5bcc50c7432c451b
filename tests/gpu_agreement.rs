//! CPU ↔ GPU agreement, written once and generic over the backend: every check compares a
//! backend with `CpuBackend`, the reference, from the same centroids or the same init.
//!
//! Without an adapter the GPU cases print a skip note and pass, unless SEGMENTER_REQUIRE_GPU=1
//! (as in CI, which installs Mesa's lavapipe), where a missing adapter fails the test.

use ndarray::{Array2, ArrayView2};
use segmenter::backend::gpu::{Accumulator, Argmin, KernelKind};
use segmenter::backend::{Assign, Backend, CpuBackend, GpuBackend, GpuConfig};
use segmenter::kmeans::{fit, fit_uploaded, Algorithm, Init, KMeansParams, Start, Uploaded};
use segmenter::synth::{blobs_matrix, BlobsSpec};

/// The GPU backend with `config`, or `None` (skip) when there is no adapter and none is required.
fn gpu_with(config: GpuConfig) -> Option<GpuBackend> {
    match GpuBackend::with_config(config) {
        Ok(b) => Some(b),
        Err(e) => {
            if std::env::var("SEGMENTER_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("SEGMENTER_REQUIRE_GPU=1 but no GPU backend: {e}");
            }
            eprintln!("skipping GPU test: {e}");
            None
        }
    }
}

fn gpu() -> Option<GpuBackend> {
    gpu_with(GpuConfig::default())
}

fn blobs(rows: u64, dims: usize, centers: usize, seed: u64) -> Array2<f32> {
    blobs_matrix(&BlobsSpec {
        rows,
        dims,
        centers,
        std: 1.0,
        seed,
    })
    .expect("valid blob spec")
    .0
}

fn sq_dist(x: &[f32], c: &[f32]) -> f64 {
    x.iter()
        .zip(c)
        .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
        .sum()
}

/// Asserts that labels agree on ≥ 99.99% of points and that every disagreement is a near-tie:
/// both centroids are equally near in f64, up to f32 rounding of a d-term distance.
fn check_labels(x: ArrayView2<'_, f32>, centroids: &[f32], want: &[u32], got: &[u32]) {
    let (n, d) = x.dim();
    assert_eq!(got.len(), n, "one label per point");
    let mut differ = 0usize;
    for (i, (&a, &b)) in want.iter().zip(got).enumerate() {
        if a == b {
            continue;
        }
        differ += 1;
        let row = x.row(i).to_vec();
        let da = sq_dist(&row, &centroids[a as usize * d..(a as usize + 1) * d]);
        let db = sq_dist(&row, &centroids[b as usize * d..(b as usize + 1) * d]);
        let tol = (d as f64 + 1.0) * 1e-6 * da.max(db) + 1e-9;
        assert!(
            (da - db).abs() <= tol,
            "point {i}: CPU says {a} (d² {da}), other backend says {b} (d² {db}): not a near-tie"
        );
    }
    assert!(
        differ as f64 <= 1e-4 * n as f64,
        "{differ} of {n} labels differ (more than 0.01%)"
    );
}

fn close(a: f64, b: f64, rel: f64, scale: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(scale)
}

/// One step from the same centroids on `b` and on the CPU: labels, counts, sums, inertia and
/// changed-label counts agree; then a second step checks the label-change count.
fn check_step<B: Backend>(b: &B, x: ArrayView2<'_, f32>, centroids: &[f32], k: usize) {
    let n = x.nrows();
    let cpu = CpuBackend;
    let cp = cpu.upload(x).expect("cpu upload");
    let bp = b.upload(x).expect("upload");
    let mut cr = cpu.start(&cp, k, Assign::Lloyd).expect("cpu start");
    let mut br = b.start(&bp, k, Assign::Lloyd).expect("start");
    let want = cpu.step(&cp, &mut cr, centroids).expect("cpu step");
    let got = b.step(&bp, &mut br, centroids).expect("step");
    let wl = cpu.labels(&cp, &cr).expect("cpu labels");
    let gl = b.labels(&bp, &br).expect("labels");
    check_labels(x, centroids, &wl, &gl);
    assert_eq!(got.changed, n as u64, "first step: every label is new");
    assert_eq!(
        got.counts.iter().sum::<u64>(),
        n as u64,
        "counts cover all points"
    );
    // Counts may differ only by the near-ties found above.
    let moved: u64 = wl.iter().zip(&gl).filter(|(a, b)| a != b).count() as u64;
    for c in 0..k {
        assert!(
            want.counts[c].abs_diff(got.counts[c]) <= moved,
            "cluster {c}: counts {} vs {}",
            want.counts[c],
            got.counts[c]
        );
    }
    let scale = x.iter().map(|v| v.abs() as f64).fold(0.0, f64::max) * n as f64 * 1e-3;
    for (i, (a, g)) in want.sums.iter().zip(&got.sums).enumerate() {
        assert!(
            moved > 0 || close(*a, *g, 1e-5, scale),
            "sum cell {i}: CPU {a} vs {g}"
        );
    }
    let (wi, gi) = (
        want.inertia.expect("Lloyd inertia"),
        got.inertia.expect("Lloyd inertia"),
    );
    assert!(close(wi, gi, 1e-5, 0.0), "inertia: CPU {wi} vs {gi}");
    // Same centroids again: nothing may change.
    let again = b.step(&bp, &mut br, centroids).expect("second step");
    assert_eq!(again.changed, 0, "no label changes on a repeated step");
    assert_eq!(again.counts, got.counts);
}

/// A whole fit from the same init on `b` and on the CPU: labels ≥ 99.99% equal (rest near-ties),
/// centroids within 1e-4 relative, inertia within 1e-5 relative.
fn check_fit<B: Backend>(b: &B, x: ArrayView2<'_, f32>, params: &KMeansParams) {
    let want = fit(&CpuBackend, x, params).expect("cpu fit");
    let got = fit(b, x, params).expect("fit");
    compare_fits(x, &want, &got);
}

/// Compares two fits after canonical renumbering: n-init runs that reach the same partition
/// with permuted labels are the same answer.
fn compare_fits(
    x: ArrayView2<'_, f32>,
    want: &segmenter::kmeans::Fit,
    got: &segmenter::kmeans::Fit,
) {
    let (mut want, mut got) = (want.clone(), got.clone());
    want.canonicalize();
    got.canonicalize();
    let gc: Vec<f32> = got.model.centroids.iter().copied().collect();
    check_labels(x, &gc, &want.labels, &got.labels);
    let scale = x.iter().map(|v| v.abs() as f64).fold(0.0, f64::max);
    for (a, g) in want.model.centroids.iter().zip(got.model.centroids.iter()) {
        assert!(
            close(*a as f64, *g as f64, 1e-4, scale * 1e-2),
            "centroid {a} vs {g}"
        );
    }
    assert!(
        close(want.inertia, got.inertia, 1e-5, 0.0),
        "inertia: CPU {} vs {}",
        want.inertia,
        got.inertia
    );
}

fn first_rows(x: &Array2<f32>, k: usize) -> Vec<f32> {
    x.rows().into_iter().take(k).flatten().copied().collect()
}

#[test]
fn cpu_agrees_with_itself() {
    // The harness itself must pass on the reference (and runs without an adapter).
    let x = blobs(3_001, 5, 4, 1);
    check_step(&CpuBackend, x.view(), &first_rows(&x, 4), 4);
    check_fit(
        &CpuBackend,
        x.view(),
        &KMeansParams::new(4).algorithm(Algorithm::Lloyd),
    );
}

#[test]
fn step_n_not_a_multiple_of_the_tile() {
    let Some(g) = gpu() else { return };
    // 1,000 and 4,099 points: partial tiles and partial workgroups.
    for (n, seed) in [(1_000, 2), (4_099, 3)] {
        let x = blobs(n, 3, 5, seed);
        check_step(&g, x.view(), &first_rows(&x, 5), 5);
    }
}

#[test]
fn step_k_one_and_d_one() {
    let Some(g) = gpu() else { return };
    let x = blobs(2_500, 4, 3, 4);
    check_step(&g, x.view(), &first_rows(&x, 1), 1);
    let x = blobs(2_500, 1, 3, 5);
    check_step(&g, x.view(), &first_rows(&x, 3), 3);
}

#[test]
fn step_k_64_and_d_64() {
    let Some(g) = gpu() else { return };
    let x = blobs(3_000, 6, 80, 6);
    check_step(&g, x.view(), &first_rows(&x, 64), 64);
    let x = blobs(2_000, 64, 5, 7);
    check_step(&g, x.view(), &first_rows(&x, 8), 8);
}

#[test]
fn step_large_k_times_d() {
    // k·d = 4,096 and 16,384: on lavapipe, whose loops stop silently after 65,535 iterations
    // per invocation, the backend must shrink the work per invocation to stay correct.
    let Some(g) = gpu() else { return };
    let x = blobs(3_000, 64, 70, 14);
    check_step(&g, x.view(), &first_rows(&x, 64), 64);
    let x = blobs(2_500, 64, 300, 15);
    check_step(&g, x.view(), &first_rows(&x, 256), 256);
    let x = blobs(4_000, 48, 300, 16);
    check_fit(
        &g,
        x.view(),
        &KMeansParams::new(300)
            .init(Init::First)
            .algorithm(Algorithm::Lloyd)
            .max_iter(3)
            .tol(0.0),
    );
}

#[test]
fn step_k_256() {
    let Some(g) = gpu() else { return };
    let x = blobs(2_000, 8, 300, 8);
    check_step(&g, x.view(), &first_rows(&x, 256), 256);
}

#[test]
fn step_with_an_empty_cluster() {
    let Some(g) = gpu() else { return };
    let x = blobs(2_000, 4, 3, 9);
    let mut c = first_rows(&x, 3);
    // A centroid far from every point: its cluster is empty on both backends.
    c.extend_from_slice(&[1e4, 1e4, 1e4, 1e4]);
    check_step(&g, x.view(), &c, 4);
    let p = g.upload(x.view()).expect("upload");
    let mut r = g.start(&p, 4, Assign::Lloyd).expect("start");
    let s = g.step(&p, &mut r, &c).expect("step");
    assert_eq!(s.counts[3], 0, "the far centroid gets no point");
}

#[test]
fn fit_reseeds_an_empty_cluster_like_the_cpu() {
    let Some(g) = gpu() else { return };
    // The first two rows are equal: with Init::First two centroids coincide, the second loses
    // every tie, its cluster is empty, and the driver re-seeds it through labels().
    let mut x = blobs(3_000, 3, 4, 10);
    let first = x.row(0).to_owned();
    x.row_mut(1).assign(&first);
    let params = KMeansParams::new(4)
        .init(Init::First)
        .algorithm(Algorithm::Lloyd)
        .max_iter(30);
    check_fit(&g, x.view(), &params);
}

#[test]
fn fit_agrees_and_reuses_uploaded_points_across_k() {
    let Some(g) = gpu() else { return };
    let x = blobs(20_000, 8, 6, 11);
    let cpu = CpuBackend;
    let cp = Uploaded::new(&cpu, x.view()).expect("cpu upload");
    let gp = Uploaded::new(&g, x.view()).expect("upload");
    for k in [2, 5, 6] {
        let params = KMeansParams::new(k).n_init(2).seed(k as u64);
        let want = fit_uploaded(&cp, &params, Start::Init).expect("cpu fit");
        let got = fit_uploaded(&gp, &params, Start::Init).expect("fit");
        compare_fits(x.view(), &want, &got);
        // Hamerly is not on the GPU: the fit says which kernel really ran.
        assert_eq!(got.assign, Assign::Lloyd);
        // Also from given centroids (a sweep sample's fit continued on every row).
        let from = want.model.centroids.as_slice().expect("row-major").to_vec();
        let params = params.algorithm(Algorithm::Hamerly);
        let cw = fit_uploaded(&cp, &params, Start::Centroids(&from)).expect("cpu fit");
        let gw = fit_uploaded(&gp, &params, Start::Centroids(&from)).expect("fit");
        assert_eq!(cw.assign, Assign::Hamerly);
        assert_eq!(gw.assign, Assign::Lloyd, "the GPU runs Lloyd and says so");
        compare_fits(x.view(), &cw, &gw);
    }
}

#[test]
fn chunked_upload_multi_pass_and_2d_dispatch_agree() {
    // 5,000 points in chunks of 2,100 (3 chunks); at most 2 workgroups per dispatch row, so
    // a chunk's 3 workgroups go 2-D as 2 × 2 with one workgroup past the end.
    let Some(g) = gpu_with(GpuConfig {
        chunk_points: Some(2_100),
        max_groups_x: Some(2),
        max_pass_groups: Some(3),
        ..GpuConfig::default()
    }) else {
        return;
    };
    let x = blobs(5_000, 7, 5, 12);
    let p = g.upload(x.view()).expect("upload");
    assert_eq!(p.chunk_count(), 3);
    let r = g.start(&p, 5, Assign::Lloyd).expect("start");
    assert_eq!(r.pass_count(), 3, "one pass per chunk");
    assert_eq!(r.max_dispatch_rows(), 2, "2-D dispatch");
    check_step(&g, x.view(), &first_rows(&x, 5), 5);
    check_fit(&g, x.view(), &KMeansParams::new(5).seed(3));

    let Some(g) = gpu_with(GpuConfig {
        chunk_points: Some(2_500),
        max_groups_x: Some(2),
        max_pass_groups: Some(1),
        ..GpuConfig::default()
    }) else {
        return;
    };
    let p = g.upload(x.view()).expect("upload");
    let r = g.start(&p, 5, Assign::Lloyd).expect("start");
    // Passes of one workgroup: 3 passes per chunk of 2,500, partials reused between them.
    assert_eq!(r.pass_count(), 6);
    check_step(&g, x.view(), &first_rows(&x, 5), 5);
}

#[test]
fn inertia_agrees_at_a_quarter_million_points() {
    let Some(g) = gpu() else { return };
    // Large enough for hundreds of workgroups' partials to be combined.
    let x = blobs(262_147, 8, 8, 13);
    let params = KMeansParams::new(8).max_iter(4).tol(0.0).seed(1);
    check_fit(&g, x.view(), &params);
}

#[test]
fn too_many_features_is_a_clear_error() {
    let Some(g) = gpu() else { return };
    let x = Array2::<f32>::zeros((10, 65));
    let e = g.upload(x.view()).err().expect("65 features are refused");
    assert!(e.to_string().contains("at most 64 features"), "{e}");
}

/// One step's results as bits: f64 sums and inertia compared exactly.
fn step_bits<B: Backend>(b: &B, x: ArrayView2<'_, f32>, centroids: &[f32], k: usize) -> Vec<u64> {
    let p = b.upload(x).expect("upload");
    let mut r = b.start(&p, k, Assign::Lloyd).expect("start");
    let s = b.step(&p, &mut r, centroids).expect("step");
    let mut bits: Vec<u64> = s.sums.iter().map(|v| v.to_bits()).collect();
    bits.extend(&s.counts);
    bits.push(s.inertia.expect("Lloyd inertia").to_bits());
    bits.push(s.changed);
    bits
}

/// Every accumulator the adapter runs (carry always; int64 where it has 64-bit atomics), in
/// workgroup memory and straight to the global cells.
fn variants() -> Vec<GpuConfig> {
    let Some(g) = gpu() else { return Vec::new() };
    let mut accs = vec![Accumulator::Carry];
    if g.adapter().int64_atomics {
        accs.push(Accumulator::Int64);
    } else if std::env::var("SEGMENTER_REQUIRE_INT64").as_deref() == Ok("1") {
        panic!("SEGMENTER_REQUIRE_INT64=1 but the adapter has no 64-bit atomics");
    }
    accs.into_iter()
        .flat_map(|a| {
            [false, true].map(|global| GpuConfig {
                accumulator: Some(a),
                global_accumulation: global,
                ..GpuConfig::default()
            })
        })
        .collect()
}

#[test]
fn every_accumulator_variant_agrees_and_all_give_the_same_bits() {
    let x = blobs(6_001, 7, 5, 21);
    let c = first_rows(&x, 5);
    let mut first: Option<Vec<u64>> = None;
    for config in variants() {
        let (acc, global) = (config.accumulator, config.global_accumulation);
        let g = gpu_with(config).expect("an adapter");
        let p = g.upload(x.view()).expect("upload");
        let r = g.start(&p, 5, Assign::Lloyd).expect("start");
        assert_eq!(Some(r.accumulator()), acc, "the forced accumulator runs");
        assert_eq!(r.workgroup_accumulation(), !global, "the forced path runs");
        check_step(&g, x.view(), &c, 5);
        check_fit(&g, x.view(), &KMeansParams::new(5).seed(4).max_iter(8));
        let bits = step_bits(&g, x.view(), &c, 5);
        match &first {
            None => first = Some(bits),
            Some(f) => assert_eq!(f, &bits, "{acc:?}, global {global}: other bits"),
        }
    }
}

#[test]
fn steps_are_bit_identical_across_runs_workgroup_counts_and_chunkings() {
    let x = blobs(9_000, 6, 4, 22);
    let c = first_rows(&x, 4);
    let Some(g) = gpu() else { return };
    let want = step_bits(&g, x.view(), &c, 4);
    assert_eq!(step_bits(&g, x.view(), &c, 4), want, "a second run");
    for config in [
        // One workgroup per dispatch, two per row: nine passes, 2-D dispatches.
        GpuConfig {
            max_pass_groups: Some(1),
            max_groups_x: Some(2),
            ..GpuConfig::default()
        },
        // Three workgroups per pass over chunks of 2,345 points.
        GpuConfig {
            chunk_points: Some(2_345),
            max_pass_groups: Some(3),
            ..GpuConfig::default()
        },
    ] {
        let g = gpu_with(config.clone()).expect("an adapter");
        let p = g.upload(x.view()).expect("upload");
        let r = g.start(&p, 4, Assign::Lloyd).expect("start");
        assert!(r.pass_count() > 1, "{config:?}: several passes");
        assert_eq!(step_bits(&g, x.view(), &c, 4), want, "{config:?}");
    }
}

#[test]
fn staged_upload_blocks_of_any_size_give_the_same_bits_and_labels() {
    // The upload transposes block by block into staging memory: blocks of one point, of a
    // transposition task (4,096) and either side of it, and a block larger than its chunk all
    // give the device the same points, so the same step, and the CPU's labels.
    let x = blobs(9_000, 5, 4, 31);
    let c = first_rows(&x, 4);
    let Some(g) = gpu() else { return };
    let want = step_bits(&g, x.view(), &c, 4);
    for (block, chunk) in [
        (1, None),
        (4_095, None),
        (4_096, None),
        (4_097, Some(2_345)),
        (1_000, Some(2_345)),
        (100_000, Some(8_999)),
    ] {
        let config = GpuConfig {
            upload_block_points: Some(block),
            chunk_points: chunk,
            ..GpuConfig::default()
        };
        let g = gpu_with(config.clone()).expect("an adapter");
        assert_eq!(step_bits(&g, x.view(), &c, 4), want, "{config:?}");
        check_step(&g, x.view(), &c, 4);
    }
}

#[test]
fn fixed_point_sums_stay_within_their_documented_bound() {
    // A large offset and unequal feature ranges: each cluster mean must be within
    // radius_j · (2^-23 + 2^-30) of the exact mean (centring's f32 rounding, then the
    // fixed-point rounding), whatever the count.
    let Some(g) = gpu() else { return };
    let mut x = blobs(20_000, 3, 4, 23);
    for mut row in x.rows_mut() {
        row[0] = row[0] * 1e3 + 5e4;
        row[1] *= 1e-3;
    }
    let c = first_rows(&x, 4);
    let cpu = CpuBackend;
    let cp = cpu.upload(x.view()).expect("cpu upload");
    let mut cr = cpu.start(&cp, 4, Assign::Lloyd).expect("cpu start");
    let want = cpu.step(&cp, &mut cr, &c).expect("cpu step");
    let labels = cpu.labels(&cp, &cr).expect("cpu labels");
    let p = g.upload(x.view()).expect("upload");
    let mut r = g.start(&p, 4, Assign::Lloyd).expect("start");
    let got = g.step(&p, &mut r, &c).expect("step");
    assert_eq!(
        want.counts, got.counts,
        "well separated: the same partition"
    );
    // Exact sums in f64 from the CPU's labels.
    let mut exact = [0f64; 12];
    for (row, &l) in x.rows().into_iter().zip(&labels) {
        for j in 0..3 {
            exact[l as usize * 3 + j] += row[j] as f64;
        }
    }
    for j in 0..3 {
        let col = x.column(j);
        let (lo, hi) = col.iter().fold((f64::MAX, f64::MIN), |(l, h), &v| {
            (l.min(v as f64), h.max(v as f64))
        });
        let radius = (hi - lo) / 2.0;
        let bound = radius * (2f64.powi(-23) + 2f64.powi(-30)) * 1.01;
        for k in 0..4 {
            let n = want.counts[k] as f64;
            let (a, b) = (exact[k * 3 + j] / n, got.sums[k * 3 + j] / n);
            assert!(
                (a - b).abs() <= bound,
                "feature {j}, cluster {k}: means {a} vs {b}, beyond {bound}"
            );
        }
    }
}

#[test]
fn near_ties_of_the_expanded_form_fall_back_to_the_direct_distance() {
    // A tight cloud at x0 ≈ 1000 (one outlier at -1000 puts the range's midpoint near 0), two
    // centroids about 0.003 apart: |c|² − 2x·c is about 1e6 with an f32 error near 0.1, far
    // above the distance gaps (about 1e-5), so only the direct formula orders them. Every
    // label must still be the CPU's.
    let Some(g) = gpu() else { return };
    let n = 4_000;
    let mut x = Array2::<f32>::zeros((n, 4));
    for i in 0..n {
        let u = ((i * 7_919) % 1_000) as f32 / 1_000.0;
        let sign = if i % 2 == 0 { 1.0 } else { -1.0 };
        x[[i, 0]] = 1_000.0 + 0.01 * (u - 0.5);
        x[[i, 1]] = sign * (1e-5 + 1e-4 * u);
        x[[i, 2]] = 1e-3 * (u - 0.5);
    }
    x[[n - 1, 0]] = -1_000.0;
    let c = [
        1_000.001, 0.001, 0.0, 0.0, //
        999.999, -0.001, 0.0, 0.0, //
        -1_000.0, 0.0, 0.0, 0.0,
    ];
    check_step(&g, x.view(), &c, 3);
    let cpu = CpuBackend;
    let cp = cpu.upload(x.view()).expect("cpu upload");
    let mut cr = cpu.start(&cp, 3, Assign::Lloyd).expect("cpu start");
    cpu.step(&cp, &mut cr, &c).expect("cpu step");
    let p = g.upload(x.view()).expect("upload");
    let mut r = g.start(&p, 3, Assign::Lloyd).expect("start");
    g.step(&p, &mut r, &c).expect("step");
    assert_eq!(
        cpu.labels(&cp, &cr).expect("cpu labels"),
        g.labels(&p, &r).expect("labels"),
        "the direct distance decides every point"
    );
}

#[test]
fn small_bindings_chunk_and_short_submissions_split_with_identical_bits() {
    let x = blobs(9_500, 7, 5, 24);
    let c = first_rows(&x, 5);
    let Some(g) = gpu() else { return };
    let want = step_bits(&g, x.view(), &c, 5);
    // A device that binds only 2,000 points × 7 features (56,000 bytes): 5 chunks; and a
    // submission budget of 2 tiles' work: several submissions per step.
    let config = GpuConfig {
        max_binding_bytes: Some(56_000),
        max_submission_work: Some(2 * 1024 * 5 * 7),
        ..GpuConfig::default()
    };
    let g = gpu_with(config).expect("an adapter");
    let p = g.upload(x.view()).expect("upload");
    assert_eq!(p.chunk_count(), 5, "9,500 points in bindings of 2,000");
    let r = g.start(&p, 5, Assign::Lloyd).expect("start");
    assert!(
        r.submission_count() >= 5,
        "{} submissions",
        r.submission_count()
    );
    check_step(&g, x.view(), &c, 5);
    check_fit(&g, x.view(), &KMeansParams::new(5).seed(6).max_iter(6));
    assert_eq!(
        step_bits(&g, x.view(), &c, 5),
        want,
        "same bits as one submission"
    );
}

/// The tiled kernel's argmin forms this adapter runs: workgroup always, subgroup where the
/// adapter has subgroups (required when SEGMENTER_REQUIRE_SUBGROUP=1).
fn tiled_forms(g: &GpuBackend) -> Vec<Argmin> {
    let mut forms = vec![Argmin::Workgroup];
    if g.adapter().subgroups {
        forms.push(Argmin::Subgroup);
    } else if std::env::var("SEGMENTER_REQUIRE_SUBGROUP").as_deref() == Ok("1") {
        panic!("SEGMENTER_REQUIRE_SUBGROUP=1 but the adapter has no usable subgroups");
    }
    eprintln!(
        "adapter '{}': tiled argmin forms {forms:?}",
        g.adapter().name
    );
    forms
}

fn forced(kernel: KernelKind, argmin: Option<Argmin>, acc: Option<Accumulator>) -> GpuConfig {
    GpuConfig {
        kernel: Some(kernel),
        argmin,
        accumulator: acc,
        ..GpuConfig::default()
    }
}

#[test]
fn tiled_kernel_agrees_with_the_cpu_and_gives_the_broadcast_kernels_bits() {
    let Some(g) = gpu() else { return };
    let forms = tiled_forms(&g);
    // (n, d, k): the large-k·d case, then odd sizes: d not a multiple of 4 (nor of the
    // 16-feature slice), k not a multiple of the 16-centroid tile, n not a multiple of the
    // 64-point tile; k < 4 lanes' worth and d = 1 at the edge.
    for (n, d, k, seed) in [
        (5_000, 64, 256, 31),
        (1_237, 7, 37, 32),
        (2_001, 21, 19, 33),
        (333, 1, 3, 34),
    ] {
        let x = blobs(n, d, k.min(40), seed);
        let c = first_rows(&x, k);
        let broadcast = gpu_with(forced(KernelKind::Broadcast, None, None)).expect("an adapter");
        let want = step_bits(&broadcast, x.view(), &c, k);
        for &argmin in &forms {
            let t = gpu_with(forced(KernelKind::Tiled, Some(argmin), None)).expect("an adapter");
            let p = t.upload(x.view()).expect("upload");
            let r = t.start(&p, k, Assign::Lloyd).expect("start");
            assert_eq!(r.kernel(), KernelKind::Tiled, "the forced kernel runs");
            assert_eq!(r.argmin(), Some(argmin), "the forced argmin runs");
            check_step(&t, x.view(), &c, k);
            let got = step_bits(&t, x.view(), &c, k);
            assert_eq!(
                got, want,
                "{n} × {d} × {k}, {argmin:?}: the tiled kernel's cells differ from the broadcast one's"
            );
        }
    }
}

#[test]
fn tiled_kernel_every_accumulator_path_and_a_whole_fit_agree() {
    let Some(g) = gpu() else { return };
    let forms = tiled_forms(&g);
    let x = blobs(3_001, 10, 6, 35);
    let (k, c) = (23, first_rows(&x, 23));
    let want = step_bits(
        &gpu_with(forced(KernelKind::Broadcast, None, None)).expect("an adapter"),
        x.view(),
        &c,
        k,
    );
    let mut accs = vec![Accumulator::Carry];
    if g.adapter().int64_atomics {
        accs.push(Accumulator::Int64);
    }
    for &argmin in &forms {
        for &acc in &accs {
            for global in [false, true] {
                let t = gpu_with(GpuConfig {
                    global_accumulation: global,
                    ..forced(KernelKind::Tiled, Some(argmin), Some(acc))
                })
                .expect("an adapter");
                let p = t.upload(x.view()).expect("upload");
                let r = t.start(&p, k, Assign::Lloyd).expect("start");
                assert_eq!(r.workgroup_accumulation(), !global, "the forced path runs");
                assert_eq!(r.accumulator(), acc);
                let got = step_bits(&t, x.view(), &c, k);
                assert_eq!(got, want, "{argmin:?} {acc:?} global {global}: other bits");
            }
        }
        let t = gpu_with(forced(KernelKind::Tiled, Some(argmin), None)).expect("an adapter");
        check_fit(&t, x.view(), &KMeansParams::new(k).seed(5).max_iter(6));
    }
}

#[test]
fn tiled_kernel_is_not_auto_on_lavapipe_and_a_missing_argmin_is_a_clear_error() {
    let Some(g) = gpu() else { return };
    let x = blobs(600, 64, 8, 36);
    let p = g.upload(x.view()).expect("upload");
    let r = g.start(&p, 64, Assign::Lloyd).expect("start");
    let want = if g.adapter().hardware {
        KernelKind::Tiled
    } else {
        KernelKind::Broadcast
    };
    assert_eq!(
        r.kernel(),
        want,
        "auto at k·d = 4096 on '{}'",
        g.adapter().name
    );
    if !g.adapter().subgroups {
        let t =
            gpu_with(forced(KernelKind::Tiled, Some(Argmin::Subgroup), None)).expect("an adapter");
        let p = t.upload(x.view()).expect("upload");
        let Err(e) = t.start(&p, 64, Assign::Lloyd) else {
            panic!("the subgroup argmin started without subgroups");
        };
        assert!(
            e.to_string()
                .contains("has no usable subgroups, so the 'subgroup' argmin cannot run"),
            "{e}"
        );
    }
}
