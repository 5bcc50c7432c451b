//! The workflow as a library, in-process: a table built in memory fits and predicts as the
//! same rows do through the binary, every file format gives the same segments, parameters
//! fail before work with typed errors, and the observer sees every stage.

mod common;

use common::cli::{col, read_csv, run_ok};
use segmenter::error::{ErrorKind, Param, ParamError};
use segmenter::io::{SourceOptions, Table, TableBuilder};
use segmenter::pipeline::{KSpec, Observer, Quiet, Segmenter, Stage};
use segmenter::synth::{generate_customers, CustomersSpec};
use std::path::Path;
use std::sync::Arc;

fn customers(dir: &Path, rows: u64, seed: u64) -> std::path::PathBuf {
    let p = dir.join("customers.csv");
    generate_customers(&CustomersSpec { rows, seed }, &p, None).unwrap();
    p
}

/// The header and rows of a CSV file, as text (quotes removed).
fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn a_table_built_in_memory_fits_and_predicts_as_the_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let file = customers(dir.path(), 6_000, 5);
    let (header, rows) = csv_rows(&file);
    let mut b = TableBuilder::new("in memory", &header);
    for r in &rows {
        b.push_row(r);
    }
    let table = b.finish().unwrap();
    assert_eq!(table.rows_in(), rows.len() as u64);
    let seg = Segmenter::params()
        .seed(3)
        .check()
        .unwrap()
        .fit(&table, &mut Quiet)
        .unwrap();
    assert_eq!(seg.k(), 4, "the generator plants four segments");
    // Every input row is segmented or rejected, once.
    let mut seen: Vec<u64> = seg.rows().iter().map(|&i| table.row_number(i)).collect();
    seen.extend(seg.rejects().iter().map(|r| r.row));
    seen.sort_unstable();
    assert_eq!(seen, (1..=rows.len() as u64).collect::<Vec<_>>());

    // The model scores the same rows into the same segments, in memory.
    let model = seg.model();
    let scores = model.predict(&table).unwrap();
    let by_row: std::collections::HashMap<usize, u32> = scores
        .kept
        .iter()
        .copied()
        .zip(scores.labels.iter().copied())
        .collect();
    for (&i, &l) in seg.rows().iter().zip(seg.labels()) {
        assert_eq!(by_row[&i], l, "row {}", table.row_number(i));
    }

    // The binary on the file gives the same segment to every row.
    let out = dir.path().join("out");
    let summary = run_ok(&file, &out, &["--seed", "3"]);
    assert_eq!(summary["k"], 4);
    let (h, written) = read_csv(&out.join("segments.csv"));
    let (row_col, seg_col) = (col(&h, "row"), col(&h, "segment"));
    assert_eq!(written.len(), seg.rows().len());
    for (w, (&i, &l)) in written.iter().zip(seg.rows().iter().zip(seg.labels())) {
        assert_eq!(w[row_col].parse::<u64>().unwrap(), table.row_number(i));
        assert_eq!(w[seg_col].parse::<u32>().unwrap(), l);
    }
    // And the saved model reloads to the same one.
    let loaded = segmenter::pipeline::SegmentModel::load(&out.join("model.json")).unwrap();
    assert_eq!(loaded.centroids, model.centroids);
    assert_eq!(loaded.segment_names, model.segment_names);
}

/// Writes `rows` as a SQLite table `customers`, numbers as REAL, empty fields as NULL.
fn write_sqlite(path: &Path, header: &[String], rows: &[Vec<String>], numeric: &[bool]) {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    let cols: Vec<String> = header
        .iter()
        .zip(numeric)
        .map(|(h, &n)| format!("\"{h}\" {}", if n { "REAL" } else { "TEXT" }))
        .collect();
    conn.execute(&format!("CREATE TABLE customers ({})", cols.join(", ")), [])
        .unwrap();
    let marks = vec!["?"; header.len()].join(", ");
    let tx = conn.transaction().unwrap();
    let mut stmt = tx
        .prepare(&format!("INSERT INTO customers VALUES ({marks})"))
        .unwrap();
    for r in rows {
        let vals: Vec<rusqlite::types::Value> = r
            .iter()
            .zip(numeric)
            .map(|(v, &n)| match (v.is_empty(), n) {
                (true, _) => rusqlite::types::Value::Null,
                (false, true) => rusqlite::types::Value::Real(v.parse().unwrap()),
                (false, false) => rusqlite::types::Value::Text(v.clone()),
            })
            .collect();
        stmt.execute(rusqlite::params_from_iter(vals)).unwrap();
    }
    drop(stmt);
    tx.commit().unwrap();
}

/// Writes `rows` as Parquet (gzip pages): numbers as optional DOUBLE, text as optional UTF8.
fn write_parquet(path: &Path, header: &[String], rows: &[Vec<String>], numeric: &[bool]) {
    use parquet::basic::{Compression, GzipLevel};
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let fields: Vec<String> = header
        .iter()
        .zip(numeric)
        .map(|(h, &n)| {
            if n {
                format!("OPTIONAL DOUBLE {};", h.replace(' ', "_"))
            } else {
                format!("OPTIONAL BYTE_ARRAY {} (UTF8);", h.replace(' ', "_"))
            }
        })
        .collect();
    let schema =
        Arc::new(parse_message_type(&format!("message t {{ {} }}", fields.join(" "))).unwrap());
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::GZIP(GzipLevel::default()))
            .build(),
    );
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut j = 0;
    while let Some(mut cw) = rg.next_column().unwrap() {
        let def: Vec<i16> = rows.iter().map(|r| i16::from(!r[j].is_empty())).collect();
        let present = rows.iter().filter(|r| !r[j].is_empty());
        if numeric[j] {
            let v: Vec<f64> = present.map(|r| r[j].parse().unwrap()).collect();
            cw.typed::<DoubleType>()
                .write_batch(&v, Some(&def), None)
                .unwrap();
        } else {
            let v: Vec<ByteArray> = present.map(|r| ByteArray::from(r[j].as_str())).collect();
            cw.typed::<ByteArrayType>()
                .write_batch(&v, Some(&def), None)
                .unwrap();
        }
        cw.close().unwrap();
        j += 1;
    }
    rg.close().unwrap();
    w.close().unwrap();
}

#[test]
fn csv_gzip_parquet_and_sqlite_copies_give_the_same_segments() {
    let dir = tempfile::tempdir().unwrap();
    let file = customers(dir.path(), 4_000, 9);
    let (header, rows) = csv_rows(&file);
    let numeric: Vec<bool> = (0..header.len())
        .map(|j| {
            rows.iter()
                .all(|r| r[j].is_empty() || r[j].parse::<f64>().is_ok())
        })
        .collect();
    assert_eq!(numeric.iter().filter(|&&n| n).count(), 5);
    let gz = dir.path().join("customers.csv.gz");
    {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        e.write_all(&std::fs::read(&file).unwrap()).unwrap();
        e.finish().unwrap();
    }
    let db = dir.path().join("customers.db");
    write_sqlite(&db, &header, &rows, &numeric);
    // Parquet column names cannot hold spaces in a message-type schema: the profile names
    // differ, not the values.
    let pq = dir.path().join("customers.parquet");
    write_parquet(&pq, &header, &rows, &numeric);
    // Files are read by their content: a Parquet file named .csv is still Parquet.
    let misnamed = dir.path().join("parquet-really.csv");
    std::fs::copy(&pq, &misnamed).unwrap();

    let fit = |p: &Path| {
        let t = Table::open(p, &SourceOptions::default()).unwrap();
        let s = Segmenter::params()
            .k(KSpec::Fixed(4))
            .seed(1)
            .check()
            .unwrap()
            .fit(&t, &mut Quiet)
            .unwrap();
        let rows: Vec<u64> = s.rows().iter().map(|&i| t.row_number(i)).collect();
        (rows, s.labels().to_vec(), s.inertia(), s.rejects().len())
    };
    let want = fit(&file);
    assert!(want.3 > 0, "the generator writes duplicates and outliers");
    for p in [&gz, &db, &pq, &misnamed] {
        let got = fit(p);
        assert_eq!(got.0, want.0, "{}", p.display());
        assert_eq!(got.1, want.1, "{}", p.display());
        assert_eq!(got.2, want.2, "{}", p.display());
    }
}

#[test]
fn parameters_fail_before_any_work_with_typed_errors() {
    let e = Segmenter::params()
        .k(KSpec::Auto(std::ops::RangeInclusive::new(5, 2)))
        .check()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Param);
    match &e {
        segmenter::Error::Param(p) => {
            assert_eq!(p, &ParamError::KRange { lo: 5, hi: 2 });
            assert_eq!(p.param(), Param::KRange);
        }
        other => panic!("{other:?}"),
    }
    let e = Segmenter::params().eps(Some(-1.0)).check().unwrap_err();
    assert!(matches!(&e, segmenter::Error::Param(p) if p.param() == Param::Eps));
    let e = Segmenter::params().micro_clusters(1).check().unwrap_err();
    assert_eq!(e.to_string(), "micro_clusters 1: two-stage hierarchical clustering needs at least 2 micro-clusters; the default is 1000");
    let e = Table::open(Path::new("/nonexistent/x.csv"), &SourceOptions::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
}

/// Records the stages in the order the observer hears of them.
#[derive(Default)]
struct Recorder(Vec<(Stage, bool)>);

impl Observer for Recorder {
    fn started(&mut self, stage: Stage) {
        self.0.push((stage, false));
    }
    fn finished(&mut self, stage: Stage, seconds: f64, ok: bool) {
        assert!(seconds >= 0.0 && ok);
        self.0.push((stage, true));
    }
}

#[test]
fn the_observer_hears_every_stage_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = customers(dir.path(), 3_000, 2);
    let table = Table::open(&file, &SourceOptions::default()).unwrap();
    let mut rec = Recorder::default();
    let seg = Segmenter::params()
        .compare(vec![segmenter::cluster::ClusterAlgorithm::Dbscan])
        .check()
        .unwrap()
        .fit(&table, &mut rec)
        .unwrap();
    let stages = [
        Stage::Schema,
        Stage::Clean,
        Stage::Encode,
        Stage::ChooseK,
        Stage::Cluster,
        Stage::Compare,
        Stage::Pca,
        Stage::Profile,
    ];
    let want: Vec<(Stage, bool)> = stages
        .iter()
        .flat_map(|&s| [(s, false), (s, true)])
        .collect();
    assert_eq!(rec.0, want);
    let keys: Vec<&str> = seg
        .stage_seconds()
        .0
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        keys,
        ["read", "schema", "clean", "encode", "choose_k", "cluster", "compare", "pca", "profile"]
    );
    let out = dir.path().join("out");
    let times = segmenter::report::write_dir(&seg, &table, &out).unwrap();
    assert_eq!(times.0.len(), keys.len() + 2);
    for f in [
        "segments.csv",
        "rejects.csv",
        "model.json",
        "report.md",
        "report.html",
        "profile.csv",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
}

#[test]
fn in_memory_report_and_profile_are_the_files_run_writes() {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::open(&customers(dir.path(), 3_000, 2), &SourceOptions::default()).unwrap();
    let seg = Segmenter::params()
        .k(KSpec::Fixed(4))
        .check()
        .unwrap()
        .fit(&table, &mut Quiet)
        .unwrap();
    let out = dir.path().join("out");
    let times = segmenter::report::write_dir(&seg, &table, &out).unwrap();
    let profile = segmenter::report::profile_csv::profile_csv(seg.profiles()).unwrap();
    assert_eq!(profile, std::fs::read(out.join("profile.csv")).unwrap());
    // With the timings report.html was written with (all but its own stage), the page a
    // notebook shows is report.html byte for byte.
    let mut before_report = times.clone();
    before_report.0.retain(|(stage, _)| stage != "report");
    let input = segmenter::report::report_input(&seg, &before_report).unwrap();
    let html = segmenter::report::render_html(&input).unwrap();
    assert_eq!(
        html,
        std::fs::read_to_string(out.join("report.html")).unwrap()
    );
}

#[test]
fn a_matrix_fits_as_the_numeric_kmeans_command_does() {
    use segmenter::backend::BackendChoice;
    use segmenter::kmeans::{Init, KMeansParams};
    use segmenter::pipeline::numeric::fit_matrix;
    use segmenter::synth::{blobs_matrix, BlobsSpec};

    let (x, truth) = blobs_matrix(&BlobsSpec {
        rows: 4_000,
        dims: 3,
        centers: 3,
        std: 0.5,
        seed: 9,
    })
    .unwrap();
    let params = KMeansParams::new(3).init(Init::First).tol(0.0).max_iter(20);
    let a = fit_matrix(x.view(), &params, None, BackendChoice::Cpu).unwrap();
    // Starting from the first three rows given as centroids is the same run as init "first".
    let start: Vec<f32> = x.rows().into_iter().take(3).flatten().copied().collect();
    let b = fit_matrix(x.view(), &params, Some(&start), BackendChoice::Cpu).unwrap();
    assert_eq!(a.fit.labels, b.fit.labels);
    assert_eq!(a.fit.inertia, b.fit.inertia);
    assert_eq!(a.device.backend, "cpu");
    // Well-separated blobs: each true blob is one cluster.
    for c in 0..3u32 {
        let labels: std::collections::HashSet<u32> = truth
            .iter()
            .zip(&a.fit.labels)
            .filter(|(t, _)| **t == c)
            .map(|(_, l)| *l)
            .collect();
        assert_eq!(labels.len(), 1, "blob {c} is split: {labels:?}");
    }
    // A column-major view gives the same fit (laid out in rows once).
    let columns = x.t().as_standard_layout().into_owned();
    let f = columns.t();
    assert!(!f.is_standard_layout());
    let c = fit_matrix(f, &params, None, BackendChoice::Cpu).unwrap();
    assert_eq!(c.fit.labels, a.fit.labels);
}
