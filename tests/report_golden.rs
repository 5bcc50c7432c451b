//! Golden test of the report: a small fixed `ReportInput` must render to the checked-in
//! `tests/golden/report.md` and `tests/golden/profile.csv`. `BLESS=1 cargo test --release`
//! rewrites them; review the diff before committing. Timings are left empty and the version
//! fixed, so nothing in the files depends on the machine.

use segmenter::analysis::{
    choose_k, correlation, mark_noise, profile_segments, KScore, Pca, ProfileInput,
};
use segmenter::report::input::CompareRow;
use segmenter::report::{feature_sample, scatter_sample, write_report, ColumnInfo, ReportInput};
use std::path::Path;

fn input() -> ReportInput {
    input_with(vec![0, 0, 0, 0, 1, 1, 1, 1], 2)
}

/// The same eight customers labelled `labels` into `groups` plot groups.
fn input_with(labels: Vec<u32>, groups: usize) -> ReportInput {
    // Eight customers in two clear groups: big spenders with long membership, and the rest.
    let spend = vec![120.0, 150.0, 135.0, 110.0, 820.0, 760.0, 900.0, 845.0];
    let years = vec![0.5, 1.0, 0.8, 1.2, 4.0, 5.5, 4.8, 6.0];
    let channel = vec![0u32, 0, 1, 0, 1, 1, 1, 0];
    let profile_input = ProfileInput {
        numeric: vec![
            ("Yearly Amount Spent".into(), spend.clone()),
            ("Length of Membership".into(), years.clone()),
        ],
        categorical: vec![("channel".into(), vec!["web".into(), "app".into()], channel)],
    };
    let x = ndarray::Array2::from_shape_fn((8, 2), |(i, j)| {
        if j == 0 {
            ((spend[i] - 480.0) / 350.0) as f32
        } else {
            ((years[i] - 3.0) / 2.2) as f32
        }
    });
    let pca = Pca::fit(x.view()).unwrap_or_else(|e| panic!("{e}"));
    let pcs = pca.project(x.view(), 2);
    let scores: Vec<KScore> = [
        (2, 1.9, 0.81, 0.93),
        (3, 1.1, 0.52, 0.70),
        (4, 0.7, 0.40, 0.61),
    ]
    .iter()
    .map(|&(k, inertia, sil, simple)| KScore {
        k,
        inertia,
        silhouette: sil,
        simplified_silhouette: simple,
        iterations: 3,
        seconds: 0.0,
    })
    .collect();
    ReportInput {
        title: "Customer segments".into(),
        input_file: "customers.csv".into(),
        rows_in: 10,
        rows_segmented: 8,
        rows_rejected: 2,
        reject_reasons: vec![
            ("duplicate row".into(), 1),
            ("Email: missing identifier".into(), 1),
        ],
        columns: vec![
            ColumnInfo {
                name: "Email".into(),
                kind: "identifier".into(),
                missing: 1,
                distinct: 9,
                used_for_clustering: false,
                note: "nearly unique: kept in the output, not clustered".into(),
            },
            ColumnInfo {
                name: "Yearly Amount Spent".into(),
                kind: "numeric".into(),
                missing: 0,
                distinct: 8,
                used_for_clustering: true,
                note: "standardised".into(),
            },
            ColumnInfo {
                name: "Length of Membership".into(),
                kind: "numeric".into(),
                missing: 1,
                distinct: 8,
                used_for_clustering: true,
                note: "1 missing value imputed with the median".into(),
            },
        ],
        notes: vec![
            "Exact duplicate rows removed: 1.".into(),
            "Outliers clipped to the IQR fences (1.5).".into(),
        ],
        features: vec!["Yearly Amount Spent".into(), "Length of Membership".into()],
        k_choice: Some(choose_k(&scores)),
        sweep_sample: None,
        silhouette_sample: 8,
        k: 2,
        inertia: 1.9,
        silhouette: 0.81,
        simplified_silhouette: 0.93,
        explained_variance: pca.explained_variance.clone(),
        explained_variance_ratio: pca.explained_variance_ratio.clone(),
        pca_points: scatter_sample(pcs.view(), &labels, 1000, 1),
        histograms: feature_sample(&profile_input, &labels, 1000, 1),
        correlation: Some((
            vec!["Yearly Amount Spent".into(), "Length of Membership".into()],
            correlation(x.view()),
        )),
        profiles: profile_segments(&profile_input, &labels, groups),
        timings: vec![],
        backend: "cpu".into(),
        adapter: String::new(),
        seed: 7,
        version: "0.0.0-golden".into(),
        silhouette_from_sweep: true,
        ..ReportInput::default()
    }
}

/// DBSCAN's report: one customer is noise (plot group 2, shown as segment -1), and three
/// algorithms were compared, one of them skipped.
fn dbscan_input() -> ReportInput {
    let mut r = input_with(vec![0, 0, 0, 2, 1, 1, 1, 1], 3);
    if let Some(p) = r.profiles.iter_mut().find(|p| p.segment == 2) {
        mark_noise(p, 0.5, 3);
    }
    let row = |algorithm: &str, clusters, noise_share, silhouette, note: &str| CompareRow {
        algorithm: algorithm.into(),
        clusters,
        noise_share,
        silhouette,
        inertia: if clusters > 0 { 1.5 } else { f64::NAN },
        seconds: 0.0,
        note: note.into(),
    };
    ReportInput {
        k: 2,
        noise_slot: Some(2),
        algorithm: "dbscan".into(),
        algorithm_notes: vec![
            "DBSCAN with eps = 0.5 (given), min_samples = 3 (the row itself counted)".into(),
            "2 clusters; 7 core rows; 1 noise rows (12.5%) labelled -1 and profiled as their own group".into(),
        ],
        comparison: vec![
            row("dbscan", 2, 0.125, 0.9, "eps 0.500, min_samples 3"),
            row("kmeans", 2, 0.0, 0.81, "3 iterations, hamerly"),
            row("kprototypes", 0, f64::NAN, f64::NAN, "skipped: no categorical column"),
        ],
        silhouette_from_sweep: false,
        ..r
    }
}

fn check_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with BLESS=1 to create it)", path.display()));
    if expected != actual {
        for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                panic!(
                    "{name} differs from the golden file at line {}:\n expected: {e}\n   actual: {a}\n(BLESS=1 rewrites it)",
                    i + 1
                );
            }
        }
        panic!(
            "{name}: {} lines expected, {} written (BLESS=1 rewrites it)",
            expected.lines().count(),
            actual.lines().count()
        );
    }
}

#[test]
fn report_matches_golden_files() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let files = write_report(dir.path(), &input()).unwrap_or_else(|e| panic!("{e}"));
    let md = std::fs::read_to_string(&files.markdown).unwrap_or_else(|e| panic!("{e}"));
    check_golden("report.md", &md);
    let csv = std::fs::read_to_string(&files.profile_csv).unwrap_or_else(|e| panic!("{e}"));
    check_golden("profile.csv", &csv);

    // Every plot exists as a PNG and is inlined in the HTML, which needs nothing else.
    let names: Vec<String> = files
        .plots
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(
        names,
        [
            "elbow.png",
            "silhouette.png",
            "pca.png",
            "histograms.png",
            "correlation.png",
            "profiles.png"
        ]
    );
    for p in &files.plots {
        let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", p.display());
    }
    let html = std::fs::read_to_string(&files.html).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 6);
    assert!(!html.contains("src=\"plots/") && !html.contains("http"));
    assert!(html.contains("high yearly spend · long membership"));
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn unwritable_directory_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap_or_else(|e| panic!("{e}"));
    let err = write_report(&file.join("out"), &input());
    assert!(err.is_err());
}

#[test]
fn an_empty_input_still_renders() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let files = write_report(dir.path(), &ReportInput::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(files.plots.is_empty());
    let md = std::fs::read_to_string(&files.markdown).unwrap_or_else(|e| panic!("{e}"));
    assert!(md.starts_with("# Customer segments"));
}

#[test]
fn dbscan_report_with_noise_and_comparison_matches_golden_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let files = write_report(dir.path(), &dbscan_input()).unwrap_or_else(|e| panic!("{e}"));
    let md = std::fs::read_to_string(&files.markdown).unwrap_or_else(|e| panic!("{e}"));
    check_golden("report_dbscan.md", &md);
    let csv = std::fs::read_to_string(&files.profile_csv).unwrap_or_else(|e| panic!("{e}"));
    check_golden("profile_dbscan.csv", &csv);
}
