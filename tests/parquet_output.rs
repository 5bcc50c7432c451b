//! `run --output-format parquet`: segments.parquet holds exactly the rows and values of the
//! segments.csv a CSV run writes, read back with the parquet crate's own reader; every other
//! output is byte for byte the same, and a rerun in the other format removes the stale file.
#![cfg(feature = "parquet")]

mod common;

use common::cli::{read_csv, run_ok, s, segmenter};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use segmenter::io::format::push_fixed4;
use std::path::Path;

/// Every row of segments.parquet as the text segments.csv holds for it.
fn parquet_as_csv_text(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let file = std::fs::File::open(path).expect("segments.parquet exists");
    let reader = SerializedFileReader::new(file).expect("a valid Parquet file");
    let header = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .root_schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let rows = reader
        .get_row_iter(None)
        .expect("rows")
        .map(|row| {
            row.expect("a readable row")
                .get_column_iter()
                .map(|(_, f)| match f {
                    Field::Long(v) => v.to_string(),
                    Field::Int(v) => v.to_string(),
                    Field::Str(v) => v.clone(),
                    Field::Float(v) => {
                        let mut b = Vec::new();
                        push_fixed4(&mut b, *v);
                        String::from_utf8(b).expect("ASCII")
                    }
                    Field::Null => String::new(),
                    other => panic!("unexpected Parquet value {other:?}"),
                })
                .collect()
        })
        .collect();
    (header, rows)
}

fn same_as_csv_run(input: &Path, dir: &Path, args: &[&str]) {
    let (csv_out, pq_out) = (dir.join("csv"), dir.join("pq"));
    let a = run_ok(input, &csv_out, args);
    let mut with = args.to_vec();
    with.extend(["--output-format", "parquet"]);
    let b = run_ok(input, &pq_out, &with);
    assert_eq!(a["segments_file"], "segments.csv");
    assert_eq!(b["segments_file"], "segments.parquet");
    assert!(!pq_out.join("segments.csv").exists());
    let (want_header, want) = read_csv(&csv_out.join("segments.csv"));
    let (header, got) = parquet_as_csv_text(&pq_out.join("segments.parquet"));
    assert_eq!(header, want_header);
    assert_eq!(got.len(), want.len());
    assert_eq!(got.len() as u64, a["rows_segmented"].as_u64().unwrap());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g, w,
            "row {i} of segments.parquet differs from segments.csv"
        );
    }
    for f in ["rejects.csv", "model.json", "profile.csv"] {
        let x = std::fs::read(csv_out.join(f)).unwrap();
        let y = std::fs::read(pq_out.join(f)).unwrap();
        assert!(x == y, "{f} differs between the CSV and the Parquet run");
    }
}

#[test]
fn generated_customers_with_quotes_duplicates_and_missing_values() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("customers.csv");
    let o = segmenter(&[
        "generate",
        "customers",
        "--rows",
        "4000",
        "--seed",
        "3",
        "-o",
        s(&input),
    ]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&input).unwrap();
    assert!(
        text.contains("\"\""),
        "the table has doubled quotes to undo"
    );
    same_as_csv_run(&input, dir.path(), &["--k", "4"]);
}

#[test]
fn semicolon_table_with_quoted_fields_and_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("shop.csv");
    let mut t = String::from("id;note;spend;visits\n");
    for i in 0..60 {
        let note = match i % 4 {
            0 => "\"said \"\"hi\"\"; twice\"".to_string(),
            1 => String::new(),
            2 => "plain".into(),
            _ => format!("\"line {i}\""),
        };
        let (spend, visits) = if i % 2 == 0 {
            (10 + i, 1)
        } else {
            (500 + i, 9)
        };
        t += &format!("c{i};{note};{spend},5;{visits}\n");
    }
    std::fs::write(&input, t).unwrap();
    same_as_csv_run(
        &input,
        dir.path(),
        &["--k", "2", "--id", "id", "--drop", "note"],
    );
}

#[test]
fn a_rerun_in_the_other_format_removes_the_stale_table() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("c.csv");
    let o = segmenter(&[
        "generate",
        "customers",
        "--rows",
        "800",
        "--seed",
        "5",
        "-o",
        s(&input),
    ]);
    assert!(o.status.success());
    let out = dir.path().join("out");
    run_ok(&input, &out, &["--k", "3", "--output-format", "parquet"]);
    assert!(out.join("segments.parquet").exists());
    run_ok(&input, &out, &["--k", "3"]);
    assert!(out.join("segments.csv").exists());
    assert!(!out.join("segments.parquet").exists());
}
