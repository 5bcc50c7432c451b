//! `segmenter run`, `predict` and bad input, through the binary as a user runs it.

mod common;

use common::cli::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[test]
fn ari_helper_known_values() {
    assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
    // sklearn.metrics.adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715
    let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]);
    assert!((v - 0.571_428_571_428_571_5).abs() < 1e-12, "{v}");
}

struct Generated {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    csv: PathBuf,
    truth: PathBuf,
}

fn generate(rows: u64, seed: u64) -> Generated {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_path_buf();
    let (csv, truth) = generate_with_truth("customers", &path, rows, seed);
    Generated {
        _dir: dir,
        dir: path,
        csv,
        truth,
    }
}

/// The quality bar: k auto picks the 4 planted segments and recovers them
/// (adjusted Rand index ≥ 0.9 on every segmented row), and no row is lost.
#[test]
fn auto_k_recovers_the_planted_segments_and_every_row_is_accounted_for() {
    let g = generate(20_000, 7);
    let out = g.dir.join("out");
    let j = run_ok(&g.csv, &out, &["--seed", "3"]);
    assert_eq!(j["k"], 4, "{j}");
    for key in [
        "k",
        "rows_in",
        "rows_segmented",
        "rows_rejected",
        "silhouette",
        "inertia",
        "backend",
        "stage_seconds",
    ] {
        assert!(j.get(key).is_some(), "--json lacks {key}");
    }
    assert_eq!(j["rows_in"], 20_000);
    assert_eq!(j["backend"], "cpu");
    let stages = j["stage_seconds"]
        .as_object()
        .expect("stage_seconds object");
    for st in [
        "read", "clean", "choose_k", "cluster", "pca", "write", "report",
    ] {
        assert!(stages[st].as_f64().is_some_and(|v| v >= 0.0), "{st}");
    }

    let (h, seg) = read_csv(&out.join("segments.csv"));
    assert_eq!(
        h,
        [
            "row",
            "Email",
            "Address",
            "Avg Session Length",
            "Time on App",
            "Time on Website",
            "Length of Membership",
            "Yearly Amount Spent",
            "segment",
            "segment_name",
            "pc1",
            "pc2",
            "distance_to_centroid"
        ]
    );
    let (rh, rej) = read_csv(&out.join("rejects.csv"));
    assert_eq!(&rh[..3], ["row", "reason", "Email"]);
    assert_eq!(j["rows_segmented"], seg.len() as u64);
    assert_eq!(j["rows_rejected"], rej.len() as u64);

    // Every input row is in exactly one of the two files.
    let mut seen = vec![0u8; 20_001];
    for r in seg.iter().chain(&rej) {
        let n: usize = r[0].parse().expect("row is a number");
        seen[n] += 1;
    }
    assert!(
        seen[1..].iter().all(|&c| c == 1),
        "a row is missing or twice"
    );
    // The generator plants ~1% exact duplicates: they are the rejects here.
    assert!(rej.iter().all(|r| r[1].starts_with("duplicate of row ")));
    assert!(rej.len() > 100 && rej.len() < 400, "{}", rej.len());

    // The original columns are reproduced exactly (addresses hold commas, quotes, newlines).
    let (_, input) = read_csv(&g.csv);
    for r in seg.iter().take(500) {
        let n: usize = r[0].parse().unwrap_or(0);
        assert_eq!(r[1..8], input[n - 1][..], "row {n}");
    }

    let (_, truth) = read_csv(&g.truth);
    let t: Vec<u32> = seg
        .iter()
        .map(|r| {
            truth[r[0].parse::<usize>().unwrap_or(1) - 1][1]
                .parse()
                .unwrap_or(9)
        })
        .collect();
    let l: Vec<u32> = seg.iter().map(|r| r[8].parse().unwrap_or(9)).collect();
    let ari = adjusted_rand_index(&t, &l);
    assert!(ari >= 0.9, "adjusted Rand index {ari}");

    // Outputs of the report engineer are there too, and model.json has what predict needs.
    for f in ["model.json", "report.md", "profile.csv"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap_or_default())
            .expect("model.json is JSON");
    assert_eq!(model["format"], "segmenter-model");
    assert_eq!(model["k"], 4);
    assert_eq!(model["seed"], 3);
    assert_eq!(model["centroids"].as_array().map(|a| a.len()), Some(4));
}

#[test]
fn predict_on_the_training_file_reproduces_the_segments() {
    let g = generate(3_000, 11);
    let out = g.dir.join("out");
    run_ok(&g.csv, &out, &["--k", "4"]);
    let scored = g.dir.join("scored.csv");
    let o = segmenter(&[
        "predict",
        s(&out.join("model.json")),
        s(&g.csv),
        "-o",
        s(&scored),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("scored 3000 of 3000 rows"),
        "{}",
        stdout(&o)
    );
    let (h, seg) = read_csv(&out.join("segments.csv"));
    let (h2, sc) = read_csv(&scored);
    assert_eq!(h, h2);
    let by_row: HashMap<&str, &Vec<String>> = sc.iter().map(|r| (r[0].as_str(), r)).collect();
    let si = col(&h, "segment");
    for r in &seg {
        let p = by_row[r[0].as_str()];
        // segment, name, pc1, pc2 and distance agree exactly.
        assert_eq!(r[si..], p[si..], "row {}", r[0]);
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write test input");
    p
}

/// A small mixed table: numeric, categorical, boolean, date, identifier, free text.
fn mixed_table(delim: char, rows: usize) -> String {
    let mut t = format!(
        "id{d}name{d}spend{d}visits{d}city{d}member{d}last_order\n",
        d = delim
    );
    let cities = ["Paris", "Lyon", "Nice"];
    for i in 0..rows {
        let g = i % 2;
        t += &format!(
            "C{i:04}{d}Person number {i}{d}{}{d}{}{d}{}{d}{}{d}2024-0{}-1{}\n",
            if g == 0 {
                100.0 + (i % 7) as f64
            } else {
                900.0 + (i % 5) as f64
            },
            if g == 0 { 2 + i % 3 } else { 20 + i % 4 },
            cities[i % 3],
            if g == 0 { "yes" } else { "no" },
            1 + g * 5,
            i % 10,
            d = delim
        );
    }
    t
}

#[test]
fn mixed_kinds_and_delimiters_are_inferred() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (delim, name) in [(',', "c.csv"), (';', "s.csv"), ('\t', "t.tsv")] {
        let f = write(dir.path(), name, mixed_table(delim, 60).as_bytes());
        let out = dir.path().join(format!("out-{name}"));
        let j = run_ok(&f, &out, &["--k", "2"]);
        assert_eq!(j["rows_segmented"], 60, "{name}");
        let model: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap_or_default())
                .expect("model.json");
        let kinds: Vec<(String, String, bool)> = model["schema"]["columns"]
            .as_array()
            .expect("schema columns")
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or("").to_string(),
                    c["kind"].as_str().unwrap_or("").to_string(),
                    c["clustered"].as_bool().unwrap_or(false),
                )
            })
            .collect();
        let want = [
            ("id", "identifier", false),
            ("name", "text", false),
            ("spend", "numeric", true),
            ("visits", "numeric", true),
            ("city", "categorical", true),
            ("member", "boolean", true),
            ("last_order", "date", true),
        ];
        for (got, w) in kinds.iter().zip(want) {
            assert_eq!((got.0.as_str(), got.1.as_str(), got.2), w, "{name}");
        }
        let features: Vec<&str> = j["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter_map(|f| f.as_str())
            .collect();
        assert_eq!(
            features,
            [
                "spend",
                "visits",
                "city=Lyon",
                "city=Nice",
                "city=Paris",
                "member",
                "last_order"
            ]
        );
        // The two planted groups are found whatever the delimiter.
        let (h, seg) = read_csv(&out.join("segments.csv"));
        let si = col(&h, "segment");
        for r in &seg {
            let i: usize = r[0].parse().unwrap_or(0) - 1;
            let other = &seg[if i.is_multiple_of(2) { 1 } else { 0 }];
            let same = &seg[i % 2];
            assert_eq!(r[si], same[si]);
            assert_ne!(r[si], other[si]);
        }
    }
}

#[test]
fn overrides_change_the_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = write(dir.path(), "m.csv", mixed_table(',', 40).as_bytes());
    let out = dir.path().join("out");
    let j = run_ok(
        &f,
        &out,
        &[
            "--k",
            "2",
            "--drop",
            "visits",
            "--categorical",
            "member",
            "--id",
            "city",
        ],
    );
    let features: Vec<&str> = j["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert_eq!(features, ["spend", "member=no", "member=yes", "last_order"]);
    let e = run_err(&f, &out, &["--id", "nope"]);
    assert_eq!(
        e,
        format!(
            "segmenter: error: {}: no column named 'nope'; the columns are: 'id', 'name', 'spend', 'visits', 'city', 'member', 'last_order'\n",
            f.display()
        )
    );
}

#[test]
fn bad_values_are_rejected_with_their_reason_or_imputed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut t = String::from("\u{feff}a,b,c\n");
    for i in 0..40 {
        let g = (i % 2) as f64 * 10.0;
        t += &format!("{},{},{i}\n", g + (i % 3) as f64 * 0.1, g + 1.0);
    }
    t += "oops,1,2\n"; // row 41: text in a numeric column
    t += "NaN,1,2\n"; // row 42: NaN is missing → imputed
    t += "1,inf,2\n"; // row 43: infinity → rejected
    t += "1,-Infinity,NA\n"; // row 44
    t += "1;2;3\n"; // row 45: another delimiter → wrong field count
    t += "0,1,0\n"; // row 46: duplicate of row 1
    let f = write(dir.path(), "bad.csv", t.as_bytes());
    let out = dir.path().join("out");
    let j = run_ok(&f, &out, &["--k", "2"]);
    assert_eq!(j["rows_in"], 46);
    let (h, rej) = read_csv(&out.join("rejects.csv"));
    assert_eq!(h, ["row", "reason", "a", "b", "c"]);
    let got: Vec<(&str, &str)> = rej.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    assert_eq!(
        got,
        [
            ("41", "column 'a': 'oops' is not a number"),
            ("43", "column 'b': 'inf' is not a finite number"),
            ("44", "column 'b': '-Infinity' is not a finite number"),
            (
                "45",
                "expected 3 fields as in the header, found 1 (line 46)"
            ),
            ("46", "duplicate of row 1"),
        ]
    );
    assert_eq!(rej[0][2..], ["oops", "1", "2"]);
    assert_eq!(rej[3][2..], ["1;2;3", "", ""]);
    let (sh, seg) = read_csv(&out.join("segments.csv"));
    // The BOM is not part of the first column's name.
    assert_eq!(sh[1], "a");
    assert_eq!(seg.len() + rej.len(), 46);
    assert!(seg.iter().any(|r| r[0] == "42" && r[1] == "NaN"));
}

#[test]
fn a_numeric_column_that_is_mostly_text_is_not_numeric() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut t = String::from("x,code,ref\n");
    for i in 0..30 {
        t += &format!(
            "{},{},r{i}\n",
            (i % 2) * 10 + i % 3,
            if i % 5 == 0 {
                "7".to_string()
            } else {
                format!("k{}", i % 2)
            }
        );
    }
    let f = write(dir.path(), "t.csv", t.as_bytes());
    let j = run_ok(&f, &dir.path().join("out"), &["--k", "2"]);
    assert_eq!(j["rows_rejected"], 0);
    let features: Vec<&str> = j["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert_eq!(features, ["x", "code=k0", "code=k1", "code=7"]);
}

#[test]
fn whole_file_problems_get_one_clear_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let out = d.join("out");
    let cases: Vec<(&str, Vec<u8>, Vec<&str>, String)> = vec![
        ("empty.csv", b"".to_vec(), vec![], "the file is empty".into()),
        (
            "header.csv",
            b"a,b,c\n".to_vec(),
            vec![],
            "the file has a header but no data rows".into(),
        ),
        (
            "latin1.csv",
            b"a,b\n1,2\n3,4\n5,caf\xe9\n".to_vec(),
            vec![],
            "row 3 (line 4): the file is not valid UTF-8; re-export it as UTF-8".into(),
        ),
        (
            "mixed.csv",
            b"a,b,c\n1;2;3\n4;5;6\n7,8,9\n".to_vec(),
            vec![],
            "2 of 3 data rows do not have the header's 3 fields (delimiter ','); row 1 (line 2) has 1; the file seems to mix delimiters or to be malformed".into(),
        ),
        (
            "dups.csv",
            b"a,b\n1,2\n1,2\n1,2\n".to_vec(),
            vec![],
            "only 1 row left after cleaning (2 exact duplicates, 0 other rows rejected); segmenting needs at least 2 distinct rows".into(),
        ),
        (
            "few.csv",
            b"a,b\n1,2\n3,4\n5,6\n".to_vec(),
            vec!["--k", "5"],
            "only 3 distinct rows left to cluster after cleaning (3 of 3 rows kept, 0 rejected); 5 segments need at least 5 distinct rows: use a smaller --k or --k-range, or more data".into(),
        ),
        (
            "allmissing.csv",
            b"a,b\n,x\n,y\n".to_vec(),
            vec![],
            "no column left to cluster on (columns: 'a' empty, 'b' identifier); mark one with --numeric or --categorical".into(),
        ),
    ];
    for (name, bytes, args, msg) in cases {
        let f = write(d, name, &bytes);
        let e = run_err(&f, &out, &args);
        assert_eq!(
            e,
            format!("segmenter: error: {}: {msg}\n", f.display()),
            "{name}"
        );
    }
}

#[test]
fn a_column_with_every_value_missing_is_reported_and_skipped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut t = String::from("a,empty,b\n");
    for i in 0..20 {
        t += &format!("{},,{i}\n", (i % 2) * 10 + i % 3);
    }
    let f = write(dir.path(), "e.csv", t.as_bytes());
    let out = dir.path().join("out");
    let o = segmenter(&["run", s(&f), "--out", s(&out), "--quiet", "--k", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(
            "empty   empty        no          100.0%         0  every value missing: not clustered"
        ),
        "{text}"
    );
    let (h, seg) = read_csv(&out.join("segments.csv"));
    assert_eq!(h[2], "empty");
    assert_eq!(seg.len(), 20);
}

#[test]
fn an_unwritable_out_directory_fails_before_any_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = write(dir.path(), "a.csv", b"a\n1\n2\n");
    let blocker = write(dir.path(), "file", b"");
    let out = blocker.join("out");
    let e = run_err(&f, &out, &[]);
    assert!(
        e.starts_with(&format!(
            "segmenter: error: --out {}: cannot write the output directory (",
            out.display()
        )) && e.ends_with("); choose a writable directory with --out\n"),
        "{e}"
    );
}

#[test]
fn predict_names_missing_and_extra_columns_and_maps_unknown_levels() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let f = write(d, "m.csv", mixed_table(',', 60).as_bytes());
    let out = d.join("out");
    run_ok(&f, &out, &["--k", "2"]);
    let model = out.join("model.json");

    let missing = write(d, "missing.csv", b"id,spend\nC1,100\n");
    let o = segmenter(&["predict", s(&model), s(&missing), "-o", s(&d.join("x.csv"))]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "segmenter: error: {}: the model needs columns 'visits', 'city', 'member', 'last_order' which the file does not have\n",
            missing.display()
        )
    );

    let new = write(
        d,
        "new.csv",
        b"id,name,spend,visits,city,member,last_order,extra\n\
          N1,New person,101,3,Paris,yes,2024-01-12,z\n\
          N2,Other person,905,21,Berlin,no,2024-06-13,z\n\
          N3,Bad person,lots,21,Lyon,no,2024-06-13,z\n",
    );
    let scored = d.join("scored.csv");
    let o = segmenter(&["predict", s(&model), s(&new), "-o", s(&scored)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.starts_with(
            "note: column 'extra' not in the file the model was fitted on: copied to the output, not used\nscored 2 of 3 rows into "
        ),
        "{text}"
    );
    let (h, rows) = read_csv(&scored);
    assert_eq!(h.last().map(String::as_str), Some("distance_to_centroid"));
    assert_eq!(rows.len(), 2);
    // Berlin was never seen: it scores (as `other` or no level) instead of failing.
    assert_eq!(rows[1][5], "Berlin");
    assert_ne!(rows[0][col(&h, "segment")], rows[1][col(&h, "segment")]);
    let (_, rej) = read_csv(&d.join("scored.rejects.csv"));
    assert_eq!(rej.len(), 1);
    assert_eq!(rej[0][..2], ["3", "column 'spend': 'lots' is not a number"]);
}
