//! Golden test of the report: a small fixed `ReportInput` must render to the checked-in
//! `tests/golden/report.md`, `report.html` and `profile.csv`. `BLESS=1 cargo test --release`
//! rewrites them; review the diff before committing. Timings are left empty and the version
//! fixed, so nothing in the files depends on the machine. The HTML is pinned with each embedded
//! PNG replaced by the name of the plot file whose bytes it decodes to, so a change to a plot
//! alone does not touch the HTML golden files while every other byte is compared exactly.

use base64::Engine;
use segmenter::analysis::{
    choose_k, correlation, mark_noise, profile_segments, KScore, Pca, ProfileInput,
};
use segmenter::report::input::CompareRow;
use segmenter::report::{
    feature_sample, scatter_sample, write_report, ColumnInfo, ReportFiles, ReportInput,
};
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
    let scores = sweep_scores(0.0);
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
        covered_silhouette: silhouette * (1.0 - noise_share),
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

/// The scores of the golden sweep over k = 2..4, `seconds` each.
fn sweep_scores(seconds: f64) -> Vec<KScore> {
    [
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
        seconds,
        // Without prediction strength, the elbow-and-silhouette rule decides, as before.
        calinski_harabasz: f64::NAN,
        prediction_strength: f64::NAN,
    })
    .collect()
}

/// `report.html` with every embedded PNG replaced by `[plots/NAME]`, NAME being the plot file
/// whose bytes the base64 payload decodes to exactly (a payload matching none fails the test).
fn pinned_html(files: &ReportFiles) -> String {
    let html = std::fs::read_to_string(&files.html).unwrap_or_else(|e| panic!("{e}"));
    let plots: Vec<(String, Vec<u8>)> = files
        .plots
        .iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, std::fs::read(p).unwrap_or_else(|e| panic!("{e}")))
        })
        .collect();
    let marker = "src=\"data:image/png;base64,";
    let mut out = String::with_capacity(html.len());
    let mut rest = html.as_str();
    while let Some(at) = rest.find(marker) {
        let start = at + marker.len();
        let len = rest[start..]
            .find('"')
            .unwrap_or_else(|| panic!("unterminated data URI"));
        let png = base64::engine::general_purpose::STANDARD
            .decode(&rest[start..start + len])
            .unwrap_or_else(|e| panic!("embedded PNG is not base64: {e}"));
        let name = plots
            .iter()
            .find(|(_, bytes)| *bytes == png)
            .map(|(n, _)| n.as_str())
            .unwrap_or_else(|| panic!("an embedded PNG matches no file under plots/"));
        out.push_str(&rest[..start]);
        out.push_str(&format!("[plots/{name}]"));
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// Branches the two golden inputs leave out, each rendered to Markdown and pinned HTML:
/// k given on the command line with timings, an adapter and text that needs escaping; Ward's
/// tree with a sampled, timed sweep and a comparison; DBSCAN with a k-distance curve and no
/// sweep; and an empty input.
fn variants() -> Vec<(&'static str, ReportInput)> {
    let mut given = input();
    given.title = String::new();
    given.input_file = "my <data> & \"co's\".csv".into();
    given.k_choice = None;
    given.silhouette_from_sweep = false;
    given.timings = vec![("read".into(), 0.25), ("cluster | gpu".into(), 1.5)];
    given.adapter = "llvmpipe <LLVM & co>".into();
    given.backend = String::new();
    given.version = String::new();
    given
        .notes
        .push("Customers' \"age\" clipped at <0 & >120.".into());
    given
        .reject_reasons
        .push(("Age: not a number | blank".into(), 3));
    given.columns[0].note = String::new();
    given.correlation = None;

    let mut ward_input = input();
    let x = ndarray::Array2::from_shape_fn((8, 2), |(i, j)| (i * (j + 2)) as f32 + 0.5 * j as f32);
    ward_input.algorithm = "hierarchical".into();
    ward_input.dendrogram =
        Some(segmenter::cluster::ward::ward(x.view(), None).unwrap_or_else(|e| panic!("{e}")));
    ward_input.k_choice = Some(choose_k(&sweep_scores(0.125)));
    ward_input.sweep_sample = Some(6);
    ward_input.algorithm_notes = vec!["Ward linkage on 8 rows (exact tree)".into()];
    ward_input.comparison = vec![
        CompareRow {
            algorithm: "hierarchical".into(),
            clusters: 2,
            noise_share: 0.0,
            silhouette: 0.8,
            covered_silhouette: 0.8,
            inertia: 2.5e7,
            seconds: 0.5,
            note: "Ward, cut at k = 2".into(),
        },
        CompareRow {
            algorithm: "kprototypes".into(),
            clusters: 2,
            noise_share: 0.0,
            silhouette: 0.7,
            covered_silhouette: 0.7,
            inertia: 3.0,
            seconds: 0.25,
            note: "gamma <auto> & 2 levels".into(),
        },
    ];
    ward_input.silhouette_from_sweep = false;

    let mut dbscan = dbscan_input();
    dbscan.k_choice = None;
    dbscan.comparison = Vec::new();
    dbscan.k_distance = Some(((0..20).map(|i| i as f64 * 0.1).collect(), 15, 3, 1.5));

    let mut kproto = input();
    kproto.algorithm = "kprototypes".into();
    kproto.explained_variance = Vec::new();
    kproto.explained_variance_ratio = Vec::new();
    kproto.pca_points = Vec::new();

    vec![
        ("given k, escaping, timings", given),
        ("hierarchical, sampled timed sweep, comparison", ward_input),
        ("dbscan, k-distance, no sweep", dbscan),
        ("k-prototypes without principal components", kproto),
        ("empty", ReportInput::default()),
    ]
}

/// The CLI's flag names (the golden reports are what `segmenter run` writes), from the
/// binary's own table.
#[path = "../src/cli/names.rs"]
#[allow(dead_code)]
mod names;

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
    segmenter::error::use_names(&names::FLAGS);
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
    check_golden("report.html", &pinned_html(&files));
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
    segmenter::error::use_names(&names::FLAGS);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap_or_else(|e| panic!("{e}"));
    let err = write_report(&file.join("out"), &input());
    assert!(err.is_err());
}

#[test]
fn an_empty_input_still_renders() {
    segmenter::error::use_names(&names::FLAGS);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let files = write_report(dir.path(), &ReportInput::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(files.plots.is_empty());
    let md = std::fs::read_to_string(&files.markdown).unwrap_or_else(|e| panic!("{e}"));
    assert!(md.starts_with("# Customer segments"));
}

#[test]
fn dbscan_report_with_noise_and_comparison_matches_golden_file() {
    segmenter::error::use_names(&names::FLAGS);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let files = write_report(dir.path(), &dbscan_input()).unwrap_or_else(|e| panic!("{e}"));
    let md = std::fs::read_to_string(&files.markdown).unwrap_or_else(|e| panic!("{e}"));
    check_golden("report_dbscan.md", &md);
    let csv = std::fs::read_to_string(&files.profile_csv).unwrap_or_else(|e| panic!("{e}"));
    check_golden("profile_dbscan.csv", &csv);
    check_golden("report_dbscan.html", &pinned_html(&files));
}

#[test]
fn report_variants_match_golden_files() {
    segmenter::error::use_names(&names::FLAGS);
    let (mut md, mut html) = (String::new(), String::new());
    for (name, input) in variants() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let files = write_report(dir.path(), &input).unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = std::fs::read_to_string(&files.markdown).unwrap_or_else(|e| panic!("{e}"));
        md.push_str(&format!("==== {name} ====\n{text}"));
        html.push_str(&format!("==== {name} ====\n{}", pinned_html(&files)));
    }
    check_golden("report_variants.md", &md);
    check_golden("report_variants.html", &html);
}
