//! Running the `segmenter` binary as a user does, and reading what it writes.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

pub fn segmenter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_segmenter"))
        .args(args)
        .output()
        .expect("the segmenter binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Runs `segmenter run FILE --out DIR --quiet --json ARGS`, asserting success.
pub fn run_ok(file: &Path, out: &Path, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["run", s(file), "--out", s(out), "--quiet", "--json"];
    a.extend_from_slice(args);
    let o = segmenter(&a);
    assert!(o.status.success(), "run failed: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("--json prints one JSON object")
}

/// Runs `segmenter run` expecting exit code 2; returns stderr.
pub fn run_err(file: &Path, out: &Path, args: &[&str]) -> String {
    let mut a = vec!["run", s(file), "--out", s(out), "--quiet"];
    a.extend_from_slice(args);
    let o = segmenter(&a);
    assert_eq!(o.status.code(), Some(2), "stdout: {}", stdout(&o));
    stderr(&o)
}

/// Reads a CSV with a header into (header, rows).
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).expect("output CSV opens");
    let header = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("valid CSV").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

pub fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// Adjusted Rand index of two labelings (Hubert and Arabie).
pub fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
    let mut table: HashMap<(u32, u32), u64> = HashMap::new();
    let mut ra: HashMap<u32, u64> = HashMap::new();
    let mut rb: HashMap<u32, u64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1;
        *ra.entry(x).or_default() += 1;
        *rb.entry(y).or_default() += 1;
    }
    let c2 = |n: u64| (n * n.saturating_sub(1)) as f64 / 2.0;
    let index: f64 = table.values().map(|&n| c2(n)).sum();
    let sa: f64 = ra.values().map(|&n| c2(n)).sum();
    let sb: f64 = rb.values().map(|&n| c2(n)).sum();
    let expected = sa * sb / c2(a.len() as u64);
    let max = (sa + sb) / 2.0;
    (index - expected) / (max - expected)
}

/// Runs `segmenter generate KIND --rows N --seed S -o DIR/KIND.csv --truth DIR/KIND.truth.csv`
/// (KIND: customers or mixed), asserting success; returns (table, truth).
pub fn generate_with_truth(
    kind: &str,
    dir: &Path,
    rows: u64,
    seed: u64,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let csv = dir.join(format!("{kind}.csv"));
    let truth = dir.join(format!("{kind}.truth.csv"));
    let o = segmenter(&[
        "generate",
        kind,
        "--rows",
        &rows.to_string(),
        "--seed",
        &seed.to_string(),
        "-o",
        s(&csv),
        "--truth",
        s(&truth),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    (csv, truth)
}
