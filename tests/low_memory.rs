//! A run in passes (`--low-memory`, `Segmenter::fit_in_passes`) against the in-memory run on
//! the same file: the same segments (labels, centroids within 1e-6), the same rejects, the
//! same report tables; bad input (text in a numeric column, duplicates, missing values, a
//! ragged row) rejected exactly as in memory, also when the file is read in many small chunks.

mod common;

use common::cli::{run_err, run_ok};
use segmenter::data::{CleanParams, Impute, Outliers};
use segmenter::io::{SourceOptions, Table};
use segmenter::pipeline::passes::PassSizes;
use segmenter::pipeline::{KSpec, Quiet, Segmenter, SegmenterParams};
use segmenter::report::passes::write_dir_in_passes;
use segmenter::report::write_dir;
use segmenter::synth::{generate_customers, CustomersSpec};
use std::path::Path;

/// Runs `params` on `file` in memory into `dir/mem` and in passes (chunks of `chunk` bytes)
/// into `dir/low`.
fn both(params: SegmenterParams, file: &Path, dir: &Path, chunk: usize) {
    let seg = params.clone().check().unwrap();
    let table = Table::open(file, &SourceOptions::default()).unwrap();
    let fit = seg.fit(&table, &mut Quiet).unwrap();
    write_dir(&fit, &table, &dir.join("mem")).unwrap();
    let passes = seg
        .fit_in_passes_with(
            file,
            &SourceOptions::default(),
            &dir.join("spill"),
            PassSizes {
                chunk_bytes: chunk,
                ..PassSizes::default()
            },
            &mut Quiet,
        )
        .unwrap();
    write_dir_in_passes(&passes, &dir.join("low"), &mut Quiet).unwrap();
    assert_eq!(passes.seg.k(), fit.k());
    assert_eq!(passes.sizes, fit.sizes());
    drop(passes);
    assert!(!dir.join("spill").exists(), "the spill is removed");
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// Centroids of a model.json.
fn centroids(p: &Path) -> Vec<f64> {
    let v: serde_json::Value = serde_json::from_str(&read(p)).unwrap();
    let c = &v["kmeans"]["centroids"];
    let c = if c.is_null() { &v["centroids"] } else { c };
    c.as_array()
        .unwrap_or_else(|| panic!("no centroids in {}", p.display()))
        .iter()
        .flat_map(|r| {
            r.as_array()
                .map(|r| r.iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>())
                .unwrap_or_else(|| vec![r.as_f64().unwrap()])
        })
        .collect()
}

fn records(p: &Path) -> Vec<Vec<String>> {
    csv::Reader::from_path(p)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

/// The same files, byte for byte.
fn assert_same_outputs(dir: &Path) {
    let (m, l) = (dir.join("mem"), dir.join("low"));
    for f in ["segments.csv", "rejects.csv", "profile.csv"] {
        assert!(
            read(&m.join(f)) == read(&l.join(f)),
            "{f} differs between the in-memory run and the run in passes"
        );
    }
    assert_close_centroids(dir);
}

/// The same rows, segments and rejects; coordinates and distances (written to 4 decimals)
/// within a unit of the last one, centroids within 1e-6.
fn assert_same_segments(dir: &Path) {
    let (m, l) = (dir.join("mem"), dir.join("low"));
    assert!(read(&m.join("rejects.csv")) == read(&l.join("rejects.csv")));
    let (a, b) = (
        records(&m.join("segments.csv")),
        records(&l.join("segments.csv")),
    );
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        let w = x.len();
        assert_eq!(x[..w - 3], y[..w - 3], "row {} differs", x[0]);
        for j in w - 3..w {
            let (u, v): (f64, f64) = (x[j].parse().unwrap(), y[j].parse().unwrap());
            assert!((u - v).abs() <= 1.5e-4, "row {}: {u} vs {v}", x[0]);
        }
    }
    assert_close_centroids(dir);
}

fn assert_close_centroids(dir: &Path) {
    let (m, l) = (dir.join("mem"), dir.join("low"));
    let (a, b) = (
        centroids(&m.join("model.json")),
        centroids(&l.join("model.json")),
    );
    assert_eq!(a.len(), b.len());
    assert!(!a.is_empty());
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-6, "centroid {x} vs {y}");
    }
}

fn customers(dir: &Path, rows: u64) -> std::path::PathBuf {
    let p = dir.join("customers.csv");
    generate_customers(&CustomersSpec { rows, seed: 11 }, &p, None).unwrap();
    p
}

#[test]
fn passes_give_the_in_memory_segments_and_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let file = customers(dir.path(), 5_000);
    // 16 kB chunks: the file is read in dozens of them, duplicates cross chunk ends.
    both(Segmenter::params().seed(4), &file, dir.path(), 16 << 10);
    assert_same_outputs(dir.path());
    let rejects = read(&dir.path().join("low/rejects.csv"));
    assert!(rejects.contains(",duplicate of row "), "{rejects}");
}

#[test]
fn lloyd_over_the_spill_matches_the_in_memory_fit_from_the_sample() {
    // The sweep sees 600 of the rows; the final k-means iterates over all of them: in memory
    // through the driver, in passes block by block over the feature spill.
    let dir = tempfile::tempdir().unwrap();
    let file = customers(dir.path(), 4_000);
    both(
        Segmenter::params().seed(2).sweep_sample(600),
        &file,
        dir.path(),
        64 << 10,
    );
    assert_same_segments(dir.path());
}

#[test]
fn a_fixed_k_gives_the_in_memory_fit() {
    let dir = tempfile::tempdir().unwrap();
    let file = customers(dir.path(), 3_000);
    both(
        Segmenter::params().seed(9).k(KSpec::Fixed(3)).n_init(3),
        &file,
        dir.path(),
        1 << 20,
    );
    assert_same_outputs(dir.path());
}

/// A table with every kind of bad row: text in a numeric column, an infinite value, exact
/// duplicates (one across many chunks), missing values, a ragged row, a quoted line break, an
/// outlier, a date and a categorical column.
fn bad_table(dir: &Path) -> std::path::PathBuf {
    let mut t = String::from("id,spend,visits,joined,plan\n");
    let plans = ["basic", "pro", "team"];
    for i in 0..240u32 {
        let spend = match i {
            7 => "abc".to_string(),
            19 => "inf".to_string(),
            23 | 61 => String::new(),
            99 => "90000".to_string(),
            _ => format!("{}.{}", 20 + (i * 37) % 180, i % 10),
        };
        let visits = if i == 41 {
            "NA".to_string()
        } else {
            ((i * 13) % 29).to_string()
        };
        let joined = if i == 57 {
            "yesterday".to_string()
        } else {
            format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28)
        };
        let plan = if i == 88 {
            "\"pro\nplus\"".to_string()
        } else {
            plans[(i % 3) as usize].to_string()
        };
        t.push_str(&format!("c{i},{spend},{visits},{joined},{plan}\n"));
        if i == 30 {
            t.push_str("c30,only,three\n");
        }
        if i == 12 || i == 150 {
            // The same row again, later in the file.
            t.push_str(&format!("c{i},{spend},{visits},{joined},{plan}\n"));
        }
    }
    t.push_str("c3,131.3,10,2024-04-04,basic\n");
    let p = dir.join("bad.csv");
    std::fs::write(&p, t).unwrap();
    p
}

#[test]
fn bad_input_goes_to_rejects_as_in_memory() {
    for (name, clean) in [
        ("defaults", CleanParams::default()),
        (
            "impute drop, outliers drop",
            CleanParams {
                impute: Impute::Drop,
                outliers: Outliers::Drop,
                ..CleanParams::default()
            },
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let file = bad_table(dir.path());
        // 100-byte chunks: a few rows each.
        both(
            Segmenter::params()
                .seed(1)
                .k(KSpec::Fixed(3))
                .clean(clean.clone()),
            &file,
            dir.path(),
            100,
        );
        assert_same_outputs(dir.path());
        let rejects = read(&dir.path().join("low/rejects.csv"));
        for want in [
            "8,column 'spend': 'abc' is not a number,c7,abc,",
            "14,duplicate of row 13,c12,",
            "154,duplicate of row 153,c150,",
            "244,duplicate of row 4,c3,131.3,",
            "33,\"expected 5 fields as in the header, found 3 (line 34)\",c30,only,three,,",
        ] {
            assert!(rejects.contains(want), "{name}: no '{want}' in\n{rejects}");
        }
        let records = |f: &str| {
            csv::Reader::from_path(dir.path().join("low").join(f))
                .unwrap()
                .records()
                .count()
        };
        let (rows, segmented) = (records("rejects.csv"), records("segments.csv"));
        // Every one of the 244 data rows ends in exactly one of the two files.
        assert_eq!(rows + segmented, 244, "{name}");
        if clean.impute == Impute::Drop {
            assert!(
                rejects.contains("column 'spend': value missing") || rejects.contains("c23,,"),
                "{name}: {rejects}"
            );
        }
    }
}

#[test]
fn the_cli_flag_runs_in_passes_with_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = customers(dir.path(), 2_000);
    let (mem, low) = (dir.path().join("mem"), dir.path().join("low"));
    let a = run_ok(&file, &mem, &["--seed", "5"]);
    let b = run_ok(&file, &low, &["--seed", "5", "--low-memory"]);
    assert_eq!(a["k"], b["k"]);
    assert_eq!(a["rows_rejected"], b["rows_rejected"]);
    for f in ["segments.csv", "rejects.csv", "model.json", "profile.csv"] {
        assert!(read(&mem.join(f)) == read(&low.join(f)), "{f} differs");
    }
    let spill: Vec<_> = std::fs::read_dir(&low)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".segmenter-spill")
        })
        .collect();
    assert!(spill.is_empty(), "the spill directory is removed");
    let e = run_err(
        &file,
        &dir.path().join("x"),
        &["--low-memory", "--algorithm", "dbscan"],
    );
    assert!(e.contains("clusters with k-means only"), "{e}");
    let gz = dir.path().join("customers.csv.gz");
    std::fs::copy(&file, &gz).unwrap();
    let e = run_err(&gz, &dir.path().join("y"), &["--low-memory"]);
    assert!(e.contains("reads plain delimited text files"), "{e}");
    let e = run_err(
        &file,
        &dir.path().join("z"),
        &["--low-memory", "--output-format", "parquet"],
    );
    assert!(
        e.contains("writes segments.csv only: leave out --output-format parquet"),
        "{e}"
    );
    let e = run_err(
        &file,
        &dir.path().join("w"),
        &["--low-memory", "--from", "transactions"],
    );
    assert!(
        e.contains(
            "with --from the per-customer table is built in memory (leave out --low-memory)"
        ),
        "{e}"
    );
}

#[test]
fn a_bad_byte_in_a_later_chunk_names_the_row_as_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = b"id,spend\n".to_vec();
    for i in 0..200 {
        if i == 150 {
            t.extend_from_slice(b"c150,1\xff2\n");
        } else {
            t.extend_from_slice(format!("c{i},{}\n", i % 17).as_bytes());
        }
    }
    let file = dir.path().join("bytes.csv");
    std::fs::write(&file, t).unwrap();
    let want = Table::open(&file, &SourceOptions::default())
        .unwrap_err()
        .to_string();
    assert!(want.contains("row 151 (line 152)"), "{want}");
    let seg = Segmenter::params().check().unwrap();
    let got = seg
        .fit_in_passes_with(
            &file,
            &SourceOptions::default(),
            &dir.path().join("spill"),
            PassSizes {
                chunk_bytes: 64,
                ..PassSizes::default()
            },
            &mut Quiet,
        )
        .err()
        .map(|e| e.to_string());
    assert_eq!(got.as_deref(), Some(want.as_str()));
}

#[test]
fn above_the_analysis_sample_sizes_and_segments_still_count_every_row() {
    // The report is computed on 700 of the kept rows; segments, sizes and the summary's
    // counts are still those of every row.
    let dir = tempfile::tempdir().unwrap();
    let file = customers(dir.path(), 3_000);
    let seg = Segmenter::params().seed(6).check().unwrap();
    let table = Table::open(&file, &SourceOptions::default()).unwrap();
    let mem = seg.fit(&table, &mut Quiet).unwrap();
    write_dir(&mem, &table, &dir.path().join("mem")).unwrap();
    let low = seg
        .fit_in_passes_with(
            &file,
            &SourceOptions::default(),
            &dir.path().join("spill"),
            PassSizes {
                chunk_bytes: 32 << 10,
                analyse_rows: 700,
            },
            &mut Quiet,
        )
        .unwrap();
    write_dir_in_passes(&low, &dir.path().join("low"), &mut Quiet).unwrap();
    assert_eq!(low.seg.rows().len(), 700);
    assert_eq!(low.seg.rows_segmented(), mem.rows().len() as u64);
    assert_eq!(low.seg.sizes(), mem.sizes());
    let sizes: Vec<u64> = low.seg.profiles().iter().map(|p| p.size).collect();
    assert_eq!(sizes, mem.sizes());
    let summary: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("low/summary.json"))).unwrap();
    assert_eq!(summary["rows_segmented"], mem.rows().len() as u64);
    // Every row has its in-memory segment (names and coordinates come from the sample).
    let (a, b) = (
        records(&dir.path().join("mem/segments.csv")),
        records(&dir.path().join("low/segments.csv")),
    );
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        let w = x.len();
        assert_eq!(x[..w - 4], y[..w - 4], "row {}", x[0]);
    }
    assert!(read(&dir.path().join("mem/rejects.csv")) == read(&dir.path().join("low/rejects.csv")));
    assert!(read(&dir.path().join("low/report.md")).contains("seeded sample of 700 of the"));
}
