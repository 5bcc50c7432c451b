//! Real exports, read right (issue 12): defaults that never erase a zero-inflated signal,
//! profiles on the real values, and the file shapes, dates, ids and event names users bring.

mod common;

use common::cli::{adjusted_rand_index, col, read_csv, run_ok};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// Customers of whom 12% buy (4 to 10 purchases) and the rest never do: the buyer
/// segment shows only in that zero-inflated column; visits is Gaussian noise.
fn zero_inflated(path: &Path, rows: usize, seed: u64) -> Vec<u32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut text = String::from("customer_id,purchases,visits\n");
    let mut truth = Vec::with_capacity(rows);
    for i in 0..rows {
        let buyer = rng.random::<f64>() < 0.12;
        let purchases = if buyer { rng.random_range(4..=10) } else { 0 };
        let visits = 10.0 + 2.0 * gauss(&mut rng);
        text += &format!("C{i:05},{purchases},{visits:.2}\n");
        truth.push(u32::from(buyer));
    }
    std::fs::write(path, text).unwrap();
    truth
}

fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.random(), rng.random());
    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn segments(out: &Path) -> Vec<u32> {
    let (h, rows) = read_csv(&out.join("segments.csv"));
    let c = col(&h, "segment");
    rows.iter().map(|r| r[c].parse().unwrap()).collect()
}

#[test]
fn a_zero_inflated_column_keeps_its_segment_with_default_cleaning() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zi.csv");
    let truth = zero_inflated(&file, 3000, 4);
    let out = dir.path().join("k2");
    // Several k-means starts: the buyer split is the optimum, which one start can miss.
    let summary = run_ok(&file, &out, &["--k", "2", "--n-init", "5"]);
    assert!(
        summary["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "purchases"),
        "purchases must stay a feature: {summary}"
    );
    let got = segments(&out);
    let ari = adjusted_rand_index(&got, &truth);
    assert!(ari >= 0.9, "ARI {ari}");
    // With k chosen automatically, one segment is still (almost exactly) the buyers.
    let out = dir.path().join("auto");
    run_ok(&file, &out, &[]);
    let got = segments(&out);
    let best = (0..=got.iter().copied().max().unwrap())
        .map(|s| {
            let both = got
                .iter()
                .zip(&truth)
                .filter(|(&g, &t)| g == s && t == 1)
                .count();
            let either = got
                .iter()
                .zip(&truth)
                .filter(|(&g, &t)| g == s || t == 1)
                .count();
            both as f64 / either as f64
        })
        .fold(0.0, f64::max);
    assert!(best >= 0.9, "best Jaccard with the buyers {best}");
}

#[test]
fn profiles_and_the_report_show_real_values_not_clipped_ones() {
    let dir = tempfile::tempdir().unwrap();
    // Spend with a long tail of big spenders, plus one gross outlier; one segment signal.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut text = String::from("id,spend,visits\n");
    let mut spend = Vec::new();
    for i in 0..2000 {
        let big = i % 2 == 0;
        let s: f64 = if i == 7 {
            1e6
        } else if big {
            300.0 * (0.8 * gauss(&mut rng)).exp()
        } else {
            20.0 * (0.5 * gauss(&mut rng)).exp()
        };
        let v = if big { 12.0 } else { 3.0 } + gauss(&mut rng);
        text += &format!("{i},{s:.2},{v:.2}\n");
        spend.push((s * 100.0).round() / 100.0);
    }
    let file = write(&dir.path().join("spend.csv"), &text);
    let out = dir.path().join("out");
    let summary = run_ok(&file, &out, &["--k", "2"]);
    let notes = summary["notes"].to_string();
    assert!(notes.contains("column 'spend'"), "{notes}");
    assert!(notes.contains("clipped for clustering only"), "{notes}");
    // profile.csv: the mean spend of each segment is the mean of its rows' real spend.
    let (h, seg_rows) = read_csv(&out.join("segments.csv"));
    let (row_c, seg_c) = (col(&h, "row"), col(&h, "segment"));
    let (h, rows) = read_csv(&out.join("profile.csv"));
    let (p_seg, p_mean) = (col(&h, "segment"), col(&h, "spend mean"));
    assert_eq!(rows.len(), 3, "two segments and all customers: {rows:?}");
    for r in rows.iter().filter(|r| r[p_seg] != "all") {
        let sgm = &r[p_seg];
        let v: Vec<f64> = seg_rows
            .iter()
            .filter(|w| &w[seg_c] == sgm)
            .map(|w| spend[w[row_c].parse::<usize>().unwrap() - 1])
            .collect();
        let want = v.iter().sum::<f64>() / v.len() as f64;
        let shown: f64 = r[p_mean].parse().unwrap();
        assert!(
            (shown - want).abs() <= 1e-9 * want.abs().max(1.0),
            "segment {sgm}: {shown} against the real mean {want}"
        );
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("clipped for clustering only"));
}
