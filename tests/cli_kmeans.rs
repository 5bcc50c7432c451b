//! The `kmeans` and `generate` commands as a user runs them: outputs, JSON and every bad input.

mod common;

use common::cli::segmenter;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// Runs a failing command and returns its one-line stderr.
fn fails(args: &[&str]) -> String {
    let out = segmenter(args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line expected: {err}");
    assert!(!err.contains("panicked"));
    err.trim_end().to_string()
}

#[test]
fn bad_inputs_get_one_clear_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |name: &str, content: &str| {
        write(d, name, content.as_bytes())
            .to_string_lossy()
            .into_owned()
    };
    let missing = d.join("missing.csv").to_string_lossy().into_owned();
    assert_eq!(
        fails(&["kmeans", &missing, "--k", "2"]),
        format!("segmenter: error: {missing}: cannot read: No such file or directory (os error 2)")
    );
    let f = p("empty.csv", "");
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2"]),
        format!("segmenter: error: {f}: the file is empty")
    );
    let f = p("header.csv", "x0,x1\n");
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2"]),
        format!("segmenter: error: {f}: the file has a header but no data rows")
    );
    let f = p("ragged.csv", "x0,x1\n1,2\n3,4,5\n");
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2"]),
        format!(
            "segmenter: error: {f}: row 2 (line 3): expected 2 fields as in the header, found 3"
        )
    );
    let f = p("text.csv", "x0,x1\n1,2\n3,abc\n");
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2"]),
        format!("segmenter: error: {f}: row 2, column 'x1': 'abc' is not a number")
    );
    for bad in ["NaN", "inf", "-inf"] {
        let f = p("nan.csv", &format!("x0,x1\n1,2\n{bad},4\n"));
        assert_eq!(
            fails(&["kmeans", &f, "--k", "2"]),
            format!("segmenter: error: {f}: row 2, column 'x0': '{bad}' is not a finite number (NaN and infinity cannot be clustered)")
        );
    }
    let f = p("gap.csv", "x0,x1\n1,2\n3,\n");
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2"]),
        format!("segmenter: error: {f}: row 2, column 'x1': missing value (the kmeans command needs every field; `segmenter run` imputes them)")
    );
    let f = write(d, "latin1.csv", b"x0,x1\n1,2\n3,\xe9\n")
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2"]),
        format!("segmenter: error: {f}: row 2 (line 3): the file is not valid UTF-8; re-export it as UTF-8")
    );
    let f = p("ok.csv", "x0,x1\n1,2\n1,2\n3,4\n");
    assert_eq!(
        fails(&["kmeans", &f, "--k", "0"]),
        "segmenter: error: invalid parameter: k must be at least 1"
    );
    assert_eq!(
        fails(&["kmeans", &f, "--k", "3"]),
        "segmenter: error: k = 3 is larger than the number of distinct points (2); use a k of at most 2"
    );
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2", "--tol", "-1"]),
        "segmenter: error: invalid parameter: tol must be finite and >= 0, got -1"
    );
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2", "--n-init", "0"]),
        "segmenter: error: invalid parameter: n-init must be at least 1"
    );
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2", "--max-iter", "0"]),
        "segmenter: error: invalid parameter: max-iter must be at least 1"
    );
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2", "--threads", "0"]),
        "segmenter: error: --threads must be at least 1"
    );
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2", "--init", "kmeans"]),
        "segmenter: error: invalid value 'kmeans' for '--init <INIT>' [possible values: k-means++, random, first]"
    );
    assert_eq!(
        fails(&["kmeans", &f, "--k", "2", "--algorithm", "elkan"]),
        "segmenter: error: invalid value 'elkan' for '--algorithm <ALGORITHM>' [possible values: auto, lloyd, hamerly, blocked]"
    );
    assert_eq!(
        fails(&["kmeans", &f, "--k", "two"]),
        "segmenter: error: invalid value 'two' for '--k <K>': invalid digit found in string"
    );
}

#[test]
fn kmeans_json_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("blobs.csv");
    let truth = dir.path().join("truth.csv");
    let labels = dir.path().join("labels.csv");
    let (data_s, truth_s, labels_s) = (
        data.to_str().unwrap(),
        truth.to_str().unwrap(),
        labels.to_str().unwrap(),
    );
    let out = segmenter(&[
        "generate",
        "blobs",
        "--rows",
        "3000",
        "--dims",
        "3",
        "--centers",
        "3",
        "--std",
        "0.2",
        "--seed",
        "5",
        "-o",
        data_s,
        "--truth",
        truth_s,
    ]);
    assert!(out.status.success());
    let out = segmenter(&[
        "kmeans", data_s, "--k", "3", "--seed", "1", "--labels", labels_s, "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "k",
        "n",
        "d",
        "iterations",
        "converged",
        "inertia",
        "fit_seconds",
        "ms_per_iter",
        "backend",
        "algorithm",
    ] {
        assert!(j.get(key).is_some(), "missing {key}");
    }
    assert_eq!(j["k"], 3);
    assert_eq!(j["n"], 3000);
    assert_eq!(j["d"], 3);
    assert_eq!(j["backend"], "cpu");
    assert_eq!(j["converged"], true);
    // Inertia of tight blobs: about n·d·σ².
    let inertia = j["inertia"].as_f64().unwrap();
    assert!(
        (inertia / (3000.0 * 3.0 * 0.04) - 1.0).abs() < 0.1,
        "{inertia}"
    );
    let read = |p: &Path| -> Vec<(u64, u32)> {
        let mut r = csv::Reader::from_path(p).unwrap();
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                (rec[0].parse().unwrap(), rec[1].parse().unwrap())
            })
            .collect()
    };
    let l = read(&labels);
    let t = read(&truth);
    assert_eq!(l.len(), 3000);
    assert_eq!(
        l.iter().map(|r| r.0).collect::<Vec<_>>(),
        (1..=3000).collect::<Vec<u64>>()
    );
    // Same partition as the planted blobs (well separated at std 0.2).
    let mut map = std::collections::HashMap::new();
    for ((_, a), (_, b)) in l.iter().zip(&t) {
        assert_eq!(*map.entry(*a).or_insert(*b), *b);
    }
    assert_eq!(
        std::fs::read_to_string(&labels).unwrap().lines().next(),
        Some("row,cluster")
    );
}

#[test]
fn generate_is_deterministic_and_honours_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    let t = dir.path().join("t.csv");
    for (out, truth) in [(&a, Some(&t)), (&b, None)] {
        let mut args = vec![
            "generate",
            "customers",
            "--rows",
            "20000",
            "--seed",
            "9",
            "-o",
            out.to_str().unwrap(),
        ];
        if let Some(t) = truth {
            args.extend(["--truth", t.to_str().unwrap()]);
        }
        assert!(segmenter(&args).status.success());
    }
    // The truth file changes nothing in the data.
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let mut r = csv::Reader::from_path(&a).unwrap();
    assert_eq!(
        r.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "Email",
            "Address",
            "Avg Session Length",
            "Time on App",
            "Time on Website",
            "Length of Membership",
            "Yearly Amount Spent"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 20000);
    // Addresses need quoting: commas everywhere, some quotes and line breaks.
    assert!(rows.iter().all(|r| r[1].contains(',')));
    assert!(rows.iter().any(|r| r[1].contains('"')));
    assert!(rows.iter().any(|r| r[1].contains('\n')));
    // About 2% missing per numeric column.
    for j in 2..7 {
        let missing = rows.iter().filter(|r| r[j].is_empty()).count() as f64 / 20000.0;
        assert!((0.012..0.03).contains(&missing), "column {j}: {missing}");
    }
    // About 1% exact duplicates; all other emails unique.
    let mut seen = std::collections::HashSet::new();
    let dups = rows
        .iter()
        .filter(|r| !seen.insert(r.iter().collect::<Vec<_>>().join("\u{1}")))
        .count() as f64
        / 20000.0;
    assert!((0.005..0.015).contains(&dups), "duplicates {dups}");
    let emails: std::collections::HashSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(emails.len(), seen.len());
    // About 0.5% gross outliers: spend beyond 3,000 or negative values.
    let outliers = rows
        .iter()
        .filter(|r| {
            (2..7).any(|j| r[j].parse::<f64>().map(|v| v < 0.0).unwrap_or(false))
                || r[6].parse::<f64>().map(|v| v > 3000.0).unwrap_or(false)
                || r[3].parse::<f64>().map(|v| v > 60.0).unwrap_or(false)
        })
        .count() as f64
        / 20000.0;
    assert!((0.001..0.008).contains(&outliers), "outliers {outliers}");
    // Truth: one line per data row, four segments, shares near the documented ones.
    let truth: Vec<u32> = csv::Reader::from_path(&t)
        .unwrap()
        .records()
        .map(|x| x.unwrap()[1].parse().unwrap())
        .collect();
    assert_eq!(truth.len(), 20000);
    for (s, seg) in segmenter::synth::SEGMENTS.iter().enumerate() {
        let share = truth.iter().filter(|&&x| x == s as u32).count() as f64 / 20000.0;
        assert!((share - seg.share).abs() < 0.02, "segment {s}: {share}");
    }
}

#[test]
fn generate_reports_bad_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("x.csv");
    assert_eq!(
        fails(&[
            "generate",
            "blobs",
            "--rows",
            "10",
            "--dims",
            "0",
            "--centers",
            "2",
            "-o",
            o.to_str().unwrap()
        ]),
        "segmenter: error: blobs need --dims and --centers of at least 1"
    );
    let nowhere = dir.path().join("no/such/dir/x.csv");
    let msg = fails(&[
        "generate",
        "customers",
        "--rows",
        "10",
        "-o",
        nowhere.to_str().unwrap(),
    ]);
    assert!(
        msg.starts_with(&format!(
            "segmenter: error: {}: cannot write:",
            nowhere.display()
        )),
        "{msg}"
    );
    assert!(!o.exists());
}
