//! `segmenter run --algorithm dbscan|hierarchical|kprototypes` and `--compare`, through the
//! binary: labels, noise, outputs, model and predict, and the messages for parameters that
//! cannot work.

mod common;

use common::cli::*;
use std::path::{Path, PathBuf};

/// Three tight 2-D groups of 200 rows at (0,0), (10,0), (0,10) and 10 isolated rows far from
/// them and from each other: DBSCAN with eps 1, min_samples 5 (unscaled) finds 3 clusters and
/// exactly the 10 isolated rows as noise.
fn groups_and_strays(dir: &Path) -> PathBuf {
    let mut s = String::from("id,x,y\n");
    let mut id = 0;
    for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
        for i in 0..200 {
            // A 20 × 10 lattice with spacing 0.1: every row has many neighbours within 1.
            let (dx, dy) = ((i % 20) as f64 * 0.1, (i / 20) as f64 * 0.1);
            id += 1;
            s += &format!("r{id},{},{}\n", cx + dx, cy + dy);
        }
    }
    for j in 0..10 {
        id += 1;
        s += &format!(
            "r{id},{},{}\n",
            30.0 + 7.0 * j as f64,
            -20.0 - 5.0 * j as f64
        );
    }
    let p = dir.join("groups.csv");
    std::fs::write(&p, s).expect("write");
    p
}

/// (planted, found) segment of every segmented row.
fn against_truth(out: &Path, truth: &Path) -> (Vec<u32>, Vec<u32>) {
    let (th, trows) = read_csv(truth);
    let planted: std::collections::HashMap<String, u32> = trows
        .iter()
        .map(|r| {
            (
                r[col(&th, "row")].clone(),
                r[col(&th, "segment")].parse().unwrap_or(99),
            )
        })
        .collect();
    let (h, rows) = read_csv(&out.join("segments.csv"));
    rows.iter()
        .map(|r| {
            (
                planted[&r[col(&h, "row")]],
                // Noise (-1) becomes a group of its own.
                r[col(&h, "segment")]
                    .parse::<i64>()
                    .expect("segment is a number") as u32,
            )
        })
        .unzip()
}

#[test]
fn dbscan_finds_the_groups_and_labels_the_strays_noise() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = groups_and_strays(dir.path());
    let out = dir.path().join("out");
    let j = run_ok(
        &csv,
        &out,
        &[
            "--algorithm",
            "dbscan",
            "--scale",
            "none",
            "--outliers",
            "keep",
            "--eps",
            "1",
            "--min-samples",
            "5",
        ],
    );
    assert_eq!(j["algorithm"], "dbscan");
    assert_eq!(j["k"], 3);
    assert_eq!(j["noise_rows"], 10);
    assert_eq!(j["sizes"], serde_json::json!([200, 200, 200]));
    let (h, rows) = read_csv(&out.join("segments.csv"));
    assert_eq!(rows.len(), 610);
    let (seg, name, dist) = (
        col(&h, "segment"),
        col(&h, "segment_name"),
        col(&h, "distance_to_centroid"),
    );
    for r in &rows {
        let stray = r[col(&h, "id")][1..].parse::<u32>().expect("id") > 600;
        if stray {
            assert_eq!(
                (r[seg].as_str(), r[name].as_str(), r[dist].as_str()),
                ("-1", "noise", "")
            );
        } else {
            assert_ne!(r[seg], "-1", "{r:?}");
        }
    }
    // Each lattice is one cluster: rows of one group share a label.
    for g in 0..3 {
        let labels: std::collections::HashSet<&str> = rows[g * 200..(g + 1) * 200]
            .iter()
            .map(|r| r[seg].as_str())
            .collect();
        assert_eq!(labels.len(), 1, "group {g}: {labels:?}");
    }
    let profile = std::fs::read_to_string(out.join("profile.csv")).expect("profile.csv");
    assert!(
        profile.lines().any(|l| l.starts_with("-1,noise,10,")),
        "{profile}"
    );
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(md.contains("## Clustering algorithm"), "{md}");
    assert!(
        md.contains("DBSCAN with eps = 1 (given), min_samples = 5"),
        "{md}"
    );
    assert!(
        md.contains("into **3 segments** and 10 noise rows (segment -1)"),
        "{md}"
    );
    assert!(
        md.contains("DBSCAN finds the number of clusters itself: 3 from its eps and min_samples."),
        "{md}"
    );
    assert!(md.contains("Final model: k = 3,"), "{md}");
    let model = std::fs::read_to_string(out.join("model.json")).expect("model.json");
    assert!(model.contains("\"version\": 2,") && model.contains("\"algorithm\": \"dbscan\""));
    // A DBSCAN model cannot score new rows: predict says what to do instead.
    let o = segmenter(&[
        "predict",
        s(&out.join("model.json")),
        s(&csv),
        "-o",
        s(&dir.path().join("scored.csv")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "the segments were found by DBSCAN, which has no centres to score new rows against"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn dbscan_without_eps_suggests_it_from_the_k_distance_knee() {
    // Three Gaussian groups (sd 0.5, 10 apart) of 300 rows and 10 strays far from them.
    let dir = tempfile::tempdir().expect("temp dir");
    let centres = vec![vec![0.0, 0.0], vec![10.0, 0.0], vec![0.0, 10.0]];
    let (x, truth) = common::blobs(&centres, 300, 0.5, 11);
    let mut csv = String::from("x,y\n");
    for r in x.rows() {
        csv += &format!("{},{}\n", r[0], r[1]);
    }
    for j in 0..10 {
        csv += &format!("{},{}\n", 30.0 + 7.0 * j as f64, -20.0 - 5.0 * j as f64);
    }
    let file = dir.path().join("blobs.csv");
    std::fs::write(&file, csv).expect("write");
    let out = dir.path().join("out");
    let j = run_ok(
        &file,
        &out,
        &[
            "--algorithm",
            "dbscan",
            "--scale",
            "none",
            "--outliers",
            "keep",
        ],
    );
    let notes = j["algorithm_notes"].to_string();
    assert!(
        notes.contains("suggested from the knee of the sorted 3-distance curve"),
        "{notes}"
    );
    // The suggested radius keeps the three groups apart and leaves every stray alone; a few
    // rows in the groups' thin tails may be noise too.
    assert_eq!(j["k"], 3, "{notes}");
    let noise = j["noise_rows"].as_u64().unwrap_or(0);
    assert!((10..=40).contains(&noise), "{noise} noise rows; {notes}");
    let (h, rows) = read_csv(&out.join("segments.csv"));
    let found: Vec<i64> = rows
        .iter()
        .map(|r| r[col(&h, "segment")].parse().expect("segment"))
        .collect();
    assert!(found[900..].iter().all(|&l| l == -1), "{:?}", &found[900..]);
    // Rows that are not noise are in their own group's cluster.
    let (planted, got): (Vec<u32>, Vec<u32>) = truth
        .iter()
        .zip(&found)
        .filter(|(_, &l)| l >= 0)
        .map(|(&t, &l)| (t, l as u32))
        .unzip();
    assert_eq!(adjusted_rand_index(&planted, &got), 1.0);
    assert!(out.join("plots/k_distance.png").is_file());
}

#[test]
fn hierarchical_recovers_the_planted_segments_and_draws_its_tree() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (csv, truth) = generate_with_truth("customers", dir.path(), 3000, 5);
    let out = dir.path().join("out");
    let j = run_ok(&csv, &out, &["--algorithm", "hierarchical", "--k", "4"]);
    assert_eq!(j["algorithm"], "hierarchical");
    assert_eq!(j["k"], 4);
    let notes = j["algorithm_notes"].to_string();
    assert!(notes.contains("exact over all"), "{notes}");
    let (planted, found) = against_truth(&out, &truth);
    let ari = adjusted_rand_index(&planted, &found);
    assert!(ari >= 0.9, "ARI {ari}");
    assert!(out.join("plots/dendrogram.png").is_file());
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(md.contains("![Dendrogram of the top merges](plots/dendrogram.png)"));
    // predict scores by the nearest segment mean.
    let scored = dir.path().join("scored.csv");
    let o = segmenter(&[
        "predict",
        s(&out.join("model.json")),
        s(&csv),
        "-o",
        s(&scored),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn hierarchical_above_the_exact_limit_merges_micro_clusters() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (csv, truth) = generate_with_truth("customers", dir.path(), 24_000, 6);
    let out = dir.path().join("out");
    let j = run_ok(
        &csv,
        &out,
        &[
            "--algorithm",
            "hierarchical",
            "--k",
            "4",
            "--micro-clusters",
            "200",
        ],
    );
    let notes = j["algorithm_notes"].to_string();
    assert!(
        notes.contains("in two stages: k-means into 200 micro-clusters"),
        "{notes}"
    );
    let (planted, found) = against_truth(&out, &truth);
    let ari = adjusted_rand_index(&planted, &found);
    assert!(ari >= 0.9, "ARI {ari}");
    let err = run_err(
        &csv,
        &out,
        &[
            "--algorithm",
            "hierarchical",
            "--k",
            "30",
            "--micro-clusters",
            "20",
        ],
    );
    assert_eq!(
        err,
        "segmenter: error: --k 30 is more than the 20 micro-clusters the two-stage hierarchical clustering cuts from; use a --k of at most 20, or raise --micro-clusters\n"
    );
}

#[test]
fn kprototypes_tells_apart_segments_that_differ_only_in_their_categories() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (csv, truth) = generate_with_truth("mixed", dir.path(), 4000, 2);
    let out = dir.path().join("out");
    let j = run_ok(&csv, &out, &["--algorithm", "kprototypes", "--k", "4"]);
    assert_eq!(j["algorithm"], "kprototypes");
    let (planted, found) = against_truth(&out, &truth);
    let ari = adjusted_rand_index(&planted, &found);
    // 15% of rows have another city or membership than their segment usually has, so about a
    // tenth of the two categorical-only segments look like the other one: ARI about 0.85.
    assert!(ari >= 0.8, "ARI {ari}");
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).expect("model.json"))
            .expect("model.json is JSON");
    assert_eq!(model["algorithm"], "kprototypes");
    // Standard scaling: every numeric sd is 1, so Huang's γ is 0.5.
    let gamma = model["kprototypes"]["gamma"].as_f64().expect("gamma");
    assert!((gamma - 0.5).abs() < 1e-6, "{gamma}");
    // A city unseen in training matches no prototype's city: it is scored like neither level
    // rather than as the first one (the one-hot block is all zero).
    let mixed = std::fs::read_to_string(&csv).expect("mixed.csv");
    let (head, body) = mixed.split_once('\n').expect("header");
    let rows: Vec<&str> = body
        .lines()
        .filter(|l| l.contains(",Metro,"))
        .take(50)
        .collect();
    let metro = dir.path().join("metro.csv");
    let unseen = dir.path().join("unseen.csv");
    std::fs::write(&metro, format!("{head}\n{}\n", rows.join("\n"))).expect("write");
    std::fs::write(
        &unseen,
        format!(
            "{head}\n{}\n",
            rows.join("\n").replace(",Metro,", ",Atlantis,")
        ),
    )
    .expect("write");
    let (pm, pu) = (dir.path().join("pm.csv"), dir.path().join("pu.csv"));
    for (f, o) in [(&metro, &pm), (&unseen, &pu)] {
        let r = segmenter(&["predict", s(&out.join("model.json")), s(f), "-o", s(o)]);
        assert!(r.status.success(), "{}", stderr(&r));
    }
    let (hm, m) = read_csv(&pm);
    let (hu, u) = read_csv(&pu);
    let d = |h: &[String], r: &Vec<String>| -> f64 {
        r[col(h, "distance_to_centroid")].parse().expect("distance")
    };
    // Rows whose prototype's city is Metro pay one more mismatch; the others paid it already.
    assert!(
        m.iter().zip(&u).all(|(a, b)| d(&hu, b) >= d(&hm, a)),
        "an unseen level must cost a mismatch against every prototype"
    );
    assert!(m.iter().zip(&u).any(|(a, b)| d(&hu, b) > d(&hm, a)));
    // predict on the training file gives every row the segment run gave it.
    let scored = dir.path().join("scored.csv");
    let o = segmenter(&[
        "predict",
        s(&out.join("model.json")),
        s(&csv),
        "-o",
        s(&scored),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (h1, a) = read_csv(&out.join("segments.csv"));
    let (h2, b) = read_csv(&scored);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x[col(&h1, "segment")], y[col(&h2, "segment")]);
        assert_eq!(
            x[col(&h1, "distance_to_centroid")],
            y[col(&h2, "distance_to_centroid")]
        );
    }
}

#[test]
fn compare_tabulates_every_algorithm_on_the_same_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (csv, _) = generate_with_truth("mixed", dir.path(), 3000, 3);
    let out = dir.path().join("out");
    let j = run_ok(&csv, &out, &["--k", "4", "--compare"]);
    assert_eq!(j["algorithm"], "kmeans");
    let algos: Vec<&str> = j["compare"]
        .as_array()
        .expect("compare rows")
        .iter()
        .map(|r| r["algorithm"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(algos, ["kmeans", "dbscan", "hierarchical", "kprototypes"]);
    for r in j["compare"].as_array().into_iter().flatten() {
        assert!(r["seconds"].as_f64().is_some_and(|t| t >= 0.0), "{r}");
        let sil = r["silhouette"].as_f64().unwrap_or(f64::NAN);
        assert!(
            (-1.0..=1.0).contains(&sil) || r["clusters"].as_u64() < Some(2),
            "{r}"
        );
    }
    assert_eq!(j["compare"][0]["clusters"], 4);
    assert_eq!(j["compare"][2]["clusters"], 4);
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(md.contains(
        "| algorithm | clusters | noise | silhouette | silhouette, noise as 0 | inertia | seconds | how |"
    ));
    assert!(md.contains("No algorithm is ranked best on silhouette"));
    for r in j["compare"].as_array().into_iter().flatten() {
        let (sil, noise) = (r["silhouette"].as_f64(), r["noise_share"].as_f64());
        if let (Some(sil), Some(noise)) = (sil, noise) {
            let covered = r["covered_silhouette"].as_f64().unwrap();
            assert!((covered - sil * (1.0 - noise)).abs() < 1e-12, "{r}");
        }
    }
    // A compared algorithm that cannot run on this data is skipped with its reason; the run
    // goes on (DBSCAN's default min_samples is 28 here, more rows than the table has).
    let ten: String = std::fs::read_to_string(&csv)
        .expect("mixed.csv")
        .lines()
        .take(11)
        .map(|l| format!("{l}\n"))
        .collect();
    let small = dir.path().join("ten.csv");
    std::fs::write(&small, ten).expect("write");
    let j = run_ok(&small, &out, &["--k", "2", "--compare=kmeans,dbscan"]);
    assert_eq!(j["compare"][1]["algorithm"], "dbscan");
    let note = j["compare"][1]["note"].as_str().unwrap_or("");
    assert!(note.starts_with("skipped: cannot suggest --eps"), "{note}");
    // A subset, in the given order.
    let j = run_ok(&csv, &out, &["--k", "3", "--compare=dbscan,kmeans"]);
    let algos: Vec<&str> = j["compare"]
        .as_array()
        .expect("compare rows")
        .iter()
        .map(|r| r["algorithm"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(algos, ["kmeans", "dbscan"]);
}

#[test]
fn compare_on_all_numeric_data_leaves_kprototypes_out_and_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (csv, _) = generate_with_truth("customers", dir.path(), 1500, 4);
    let out = dir.path().join("out");
    let j = run_ok(&csv, &out, &["--k", "4", "--compare=kmeans,kprototypes"]);
    assert_eq!(j["compare"].as_array().map(Vec::len), Some(1));
    assert!(j["notes"]
        .to_string()
        .contains("k-prototypes was left out of the comparison: no categorical column"));
    let err = run_err(&csv, &out, &["--algorithm", "kprototypes", "--k", "4"]);
    assert_eq!(
        err,
        "segmenter: error: k-prototypes needs at least one categorical column, and none is left after cleaning; use --algorithm kmeans for all-numeric data (or mark a column with --categorical)\n"
    );
}

#[test]
fn parameters_that_cannot_work_say_what_to_use_instead() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = groups_and_strays(dir.path());
    let out = dir.path().join("out");
    let cases: [(&[&str], &str); 6] = [
        (
            &["--algorithm", "dbscan", "--eps", "0"],
            "--eps must be a positive distance in the units of the scaled data (got 0); leave it out to have it suggested from the k-distance curve",
        ),
        (
            &["--algorithm", "dbscan", "--eps", "-0.5"],
            "--eps must be a positive distance in the units of the scaled data (got -0.5); leave it out to have it suggested from the k-distance curve",
        ),
        (
            &["--algorithm", "dbscan", "--min-samples", "0"],
            "--min-samples must be at least 1 (it counts the point itself, as scikit-learn does); 5 is a common choice, or 2 × the number of features",
        ),
        (
            &["--algorithm", "kprototypes", "--gamma", "0"],
            "--gamma must be a positive number (got 0); leave it out for half the mean numeric standard deviation",
        ),
        (
            &["--algorithm", "hierarchical", "--micro-clusters", "1"],
            "--micro-clusters 1: two-stage hierarchical clustering needs at least 2 micro-clusters; the default is 1000",
        ),
        (
            &["--compare=kmeans,ward"],
            "--compare 'ward': unknown algorithm; use a comma-separated list of kmeans, dbscan, hierarchical, kprototypes, or all",
        ),
    ];
    for (args, msg) in cases {
        let err = run_err(&csv, &out, args);
        assert_eq!(err, format!("segmenter: error: {msg}\n"), "{args:?}");
    }
    assert!(
        !out.join("segments.csv").exists(),
        "a failed run leaves no output"
    );
}
