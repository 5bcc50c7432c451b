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

/// One customer row of the shapes tests: three planted segments in spend and visits, a signup
/// date, a region drawn independently.
struct Customer {
    id: String,
    signup: (i32, u32, u32),
    spend: f64,
    visits: f64,
    region: &'static str,
}

fn customers(rows: usize, seed: u64) -> Vec<Customer> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..rows)
        .map(|i| {
            let g = i % 3;
            Customer {
                id: format!("C{i:05}"),
                signup: (
                    2019 + (i % 3) as i32,
                    1 + (i % 12) as u32,
                    1 + (i % 28) as u32,
                ),
                spend: [40.0, 1500.0, 5200.0][g] * (1.0 + 0.08 * gauss(&mut rng)),
                visits: [2.0, 9.0, 25.0][g] + 0.8 * gauss(&mut rng),
                region: ["north", "south", "east", "west"][rng.random_range(0..4)],
            }
        })
        .collect()
}

fn write_customers_csv(path: &Path, c: &[Customer]) {
    let mut t = String::from("customer_id,signup,spend,visits,region\n");
    for r in c {
        let (y, m, d) = r.signup;
        t += &format!(
            "{},{y}-{m:02}-{d:02},{:.2},{:.2},{}\n",
            r.id, r.spend, r.visits, r.region
        );
    }
    std::fs::write(path, t).unwrap();
}

fn segment_of(out: &Path, file: &str) -> Vec<String> {
    let (h, rows) = read_csv(&out.join(file));
    let c = col(&h, "segment");
    rows.iter().map(|r| r[c].clone()).collect()
}

#[test]
fn an_xlsx_workbook_segments_and_scores_like_its_csv() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let c = customers(600, 21);
    let csv = dir.path().join("customers.csv");
    write_customers_csv(&csv, &c);
    let xlsx = dir.path().join("customers.xlsx");
    let mut wb = Workbook::new();
    // A first sheet that is not the table: --sheet picks the right one.
    wb.add_worksheet()
        .set_name("Notes")
        .unwrap()
        .write(0, 0, "exported from the CRM")
        .unwrap();
    let ws = wb.add_worksheet().set_name("Customers").unwrap();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (j, h) in ["customer_id", "signup", "spend", "visits", "region"]
        .iter()
        .enumerate()
    {
        ws.write(0, j as u16, *h).unwrap();
    }
    for (i, r) in c.iter().enumerate() {
        let row = i as u32 + 1;
        let (y, m, d) = r.signup;
        ws.write(row, 0, r.id.as_str()).unwrap();
        let dt = ExcelDateTime::from_ymd(y as u16, m as u8, d as u8).unwrap();
        ws.write_with_format(row, 1, &dt, &date).unwrap();
        // Rounded as the CSV writes them, so both files hold the same values.
        ws.write(row, 2, format!("{:.2}", r.spend).parse::<f64>().unwrap())
            .unwrap();
        ws.write(row, 3, format!("{:.2}", r.visits).parse::<f64>().unwrap())
            .unwrap();
        ws.write(row, 4, r.region).unwrap();
    }
    wb.save(&xlsx).unwrap();

    let from_csv = dir.path().join("csv");
    let s1 = run_ok(&csv, &from_csv, &["--k", "3"]);
    let from_xlsx = dir.path().join("xlsx");
    let s2 = run_ok(&xlsx, &from_xlsx, &["--k", "3", "--sheet", "Customers"]);
    assert_eq!(
        s1["features"], s2["features"],
        "the same columns are clustered"
    );
    assert_eq!(
        segment_of(&from_csv, "segments.csv"),
        segment_of(&from_xlsx, "segments.csv")
    );
    // The date cells are read as dates, not as serial numbers.
    let (h, rows) = read_csv(&from_xlsx.join("segments.csv"));
    assert_eq!(rows[0][col(&h, "signup")], "2019-01-01");
    // predict reads the workbook too.
    let scored = dir.path().join("scored.csv");
    let model = from_csv.join("model.json");
    let o = common::cli::segmenter(&[
        "predict",
        common::cli::s(&model),
        common::cli::s(&xlsx),
        "--sheet",
        "Customers",
        "-o",
        common::cli::s(&scored),
    ]);
    assert!(o.status.success(), "{}", common::cli::stderr(&o));
    assert_eq!(
        segment_of(dir.path(), "scored.csv"),
        segment_of(&from_csv, "segments.csv")
    );
    // The first sheet by default; a wrong name lists the sheets.
    let err = common::cli::run_err(&xlsx, &dir.path().join("bad"), &["--sheet", "Clients"]);
    assert_eq!(
        err.trim(),
        format!(
            "segmenter: error: {}: spreadsheet: no sheet named 'Clients'; the sheets are: 'Notes', 'Customers'",
            xlsx.display()
        )
    );
}

#[test]
fn a_file_of_another_format_gets_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let pdf = write(&dir.path().join("customers.csv"), "%PDF-1.7\n%binary\n");
    let err = common::cli::run_err(&pdf, &out, &[]);
    assert_eq!(
        err.trim(),
        format!(
            "segmenter: error: {}: this is a PDF document; segmenter reads CSV (also .csv.gz), Parquet, \
             SQLite and spreadsheets (.xlsx, .xls, .ods)",
            pdf.display()
        )
    );
    let json = write(&dir.path().join("export.txt"), "[{\"a\": 1}]\n");
    assert!(common::cli::run_err(&json, &out, &[]).contains("this is JSON"));
}

#[test]
fn a_pandas_index_column_is_a_row_index() {
    let dir = tempfile::tempdir().unwrap();
    let c = customers(300, 5);
    let mut t = String::from(",customer_id,spend,visits\n");
    for (i, r) in c.iter().enumerate() {
        t += &format!("{i},{},{:.2},{:.2}\n", r.id, r.spend, r.visits);
    }
    let file = write(&dir.path().join("pandas.csv"), &t);
    let out = dir.path().join("out");
    let s = run_ok(&file, &out, &["--k", "3"]);
    assert_eq!(s["features"], serde_json::json!(["spend", "visits"]));
    let (h, rows) = read_csv(&out.join("segments.csv"));
    assert_eq!(rows[299][col(&h, "index")], "299");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("the unnamed first column (a pandas row index)"),
        "the schema says why"
    );
}

#[test]
fn european_exports_with_semicolons_and_decimal_commas() {
    let dir = tempfile::tempdir().unwrap();
    let c = customers(600, 9);
    let csv = dir.path().join("point.csv");
    write_customers_csv(&csv, &c);
    // The same table as a German spreadsheet exports it: `;`, 1.234,56 and D.M.YYYY dates.
    let mut t = String::from("customer_id;signup;spend;visits;region\n");
    for r in &c {
        let (y, m, d) = r.signup;
        let spend = format!("{:.2}", r.spend).replace('.', ",");
        let (int, frac) = spend.split_once(',').unwrap();
        let int = if int.len() > 3 {
            format!("{}.{}", &int[..int.len() - 3], &int[int.len() - 3..])
        } else {
            int.to_string()
        };
        t += &format!(
            "{};{d:02}.{m:02}.{y};{int},{frac};{};{}\n",
            r.id,
            format!("{:.2}", r.visits).replace('.', ","),
            r.region
        );
    }
    let eu = write(&dir.path().join("eu.csv"), &t);
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let s1 = run_ok(&csv, &a, &["--k", "3"]);
    let s2 = run_ok(&eu, &b, &["--k", "3"]);
    assert_eq!(s1["features"], s2["features"]);
    assert_eq!(s1["inertia"], s2["inertia"], "the same numbers were read");
    assert_eq!(
        segment_of(&a, "segments.csv"),
        segment_of(&b, "segments.csv")
    );
    // Forcing the separator gives the same; predict detects it on its own.
    let f = dir.path().join("f");
    run_ok(&eu, &f, &["--k", "3", "--decimal", ","]);
    assert_eq!(
        segment_of(&f, "segments.csv"),
        segment_of(&a, "segments.csv")
    );
    let scored = dir.path().join("scored.csv");
    let o = common::cli::segmenter(&[
        "predict",
        common::cli::s(&a.join("model.json")),
        common::cli::s(&eu),
        "-o",
        common::cli::s(&scored),
    ]);
    assert!(o.status.success(), "{}", common::cli::stderr(&o));
    assert_eq!(
        segment_of(dir.path(), "scored.csv"),
        segment_of(&a, "segments.csv")
    );
}

fn schema_of(csv: &str) -> segmenter::data::Schema {
    let t =
        segmenter::io::Table::from_csv_bytes(Path::new("t.csv"), csv.as_bytes().to_vec()).unwrap();
    segmenter::data::infer_schema(&t, &segmenter::data::Overrides::default()).unwrap()
}

#[test]
fn dates_in_every_common_form_are_dates() {
    use segmenter::data::Kind;
    // Each column holds the same dates, written as one export or another.
    let days = [(2021, 4, 18), (2020, 12, 25), (2019, 1, 3), (2022, 7, 30)];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut t = String::from("us,eu_slash,eu_dot,oracle,pretty,compact_date,spend\n");
    for i in 0..40 {
        let (y, m, d) = days[i % 4];
        let mon = months[m as usize - 1];
        t += &format!(
            "{m}/{d}/{y},{d}/{m}/{y},{d}.{m}.{y},{d:02}-{}-{y},\"{mon} {d}, {y}\",{y}{m:02}{d:02},{}.5\n",
            mon.to_uppercase(),
            (i * 37) % 101
        );
    }
    let s = schema_of(&t);
    for c in &s.columns[..6] {
        assert_eq!(c.kind, Kind::Date, "{}: {}", c.name, c.note);
        assert!(c.clustered, "{}", c.name);
    }
    assert_eq!(s.columns[6].kind, Kind::Numeric);
    // 25/12/2020 tells the day-first column apart, and the schema says so.
    assert!(s.columns[1].dates.dayfirst && !s.columns[0].dates.dayfirst);
    assert!(
        s.columns[1].note.contains("D/M/YYYY"),
        "{}",
        s.columns[1].note
    );
    assert!(
        s.columns[5].note.contains("YYYYMMDD"),
        "{}",
        s.columns[5].note
    );

    // In a run, every column measures the same days before the latest date.
    let dir = tempfile::tempdir().unwrap();
    let file = write(&dir.path().join("dates.csv"), &t);
    let out = dir.path().join("out");
    run_ok(
        &file,
        &out,
        &["--k", "2", "--scale", "none", "--outliers", "keep"],
    );
    let model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    let refs: Vec<f64> = model["prep"]["transforms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "date")
        .map(|t| t["reference"].as_f64().unwrap())
        .collect();
    assert_eq!(refs.len(), 6, "{model}");
    assert!(refs.iter().all(|&r| r == refs[0]), "{refs:?}");

    // --dayfirst works without --from, and --date-format reads any other form.
    let ambiguous = write(
        &dir.path().join("amb.csv"),
        &(0..30)
            .map(|i| format!("{}/{}/2021,{}\n", 1 + i % 12, 1 + i % 12, i))
            .fold(String::from("joined,spend\n"), |a, l| a + &l),
    );
    run_ok(
        &ambiguous,
        &dir.path().join("df"),
        &["--k", "2", "--dayfirst"],
    );
    let mut t = String::from("seen,spend\n");
    for i in 0..30 {
        t += &format!("{}|{}|2021,{}\n", 1 + i % 28, 1 + i % 12, i);
    }
    let s = schema_of(&t);
    assert_ne!(
        s.columns[0].kind,
        Kind::Date,
        "not a date without the format"
    );
    let file = write(&dir.path().join("fmt.csv"), &t);
    let out = dir.path().join("fmt");
    run_ok(&file, &out, &["--k", "2", "--date-format", "%d|%m|%Y"]);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("dates in the given format"), "schema note");
    let err = common::cli::run_err(&file, &out, &["--date-format", "%Q"]);
    assert!(err.contains("--date-format"), "{err}");
}

#[test]
fn identifiers_are_told_by_their_values_and_the_schema_says_why() {
    use segmenter::data::Kind;
    let mut t = String::from("CustomerNo,member_number,Kundennummer,cid,code,spend,age\n");
    for i in 0..200 {
        t += &format!(
            "{},{},{},{},{:05},{}.5,{}\n",
            1000 + i,
            500_000 + 7 * i,
            90_000 + i,
            i * 3 + 1,
            i * 13 % 1000,
            20 + (i * 37) % 300,
            18 + i % 60
        );
    }
    let s = schema_of(&t);
    for c in &s.columns[..5] {
        assert_eq!(c.kind, Kind::Identifier, "{}: {}", c.name, c.note);
        assert!(!c.clustered);
    }
    assert!(
        s.columns[0].note.contains("unique integers"),
        "{}",
        s.columns[0].note
    );
    assert!(
        s.columns[4].note.contains("zero-padded codes"),
        "{}",
        s.columns[4].note
    );
    assert_eq!(s.columns[5].kind, Kind::Numeric);
    assert_eq!(s.columns[6].kind, Kind::Numeric, "age repeats: not an id");
    // A unique integer measure with no id name and no sequence stays a number.
    let mut t = String::from("income,visits\n");
    for i in 0..200u64 {
        t += &format!("{},{}\n", 20_000 + (i * 7919) % 90_000 * 3, i % 9);
    }
    assert_eq!(schema_of(&t).columns[0].kind, Kind::Numeric);
    // --numeric still overrides.
    let ov = segmenter::data::Overrides {
        numeric: vec!["cid".into()],
        ..Default::default()
    };
    let mut t = String::from("cid,spend\n");
    for i in 0..100 {
        t += &format!("{},{}\n", i + 1, i % 7);
    }
    let table = segmenter::io::Table::from_csv_bytes(Path::new("t.csv"), t.into_bytes()).unwrap();
    let s = segmenter::data::infer_schema(&table, &ov).unwrap();
    assert_eq!(s.columns[0].kind, Kind::Numeric);
}

#[test]
fn counts_from_a_sample_are_shown_as_approximate() {
    let mut t = String::from("customer_id,tier,spend\n");
    for i in 0..50_000 {
        t += &format!("C{i},{},{}\n", ["a", "b", "c"][(i * 7 + i / 5) % 3], i % 97);
    }
    let s = schema_of(&t);
    let text = s.to_text();
    let id = &s.columns[0];
    assert!(id.distinct_approx);
    assert!(
        (45_000..=55_000).contains(&id.distinct),
        "a nearly unique column is estimated for all rows: {}",
        id.distinct
    );
    assert!(text.contains(&format!("≈{}", id.distinct)), "{text}");
    assert!(text.contains("≈3 "), "{text}");
    let small = schema_of("a,b\n1,x\n2,y\n");
    assert!(!small.to_text().contains('≈'));
}

#[test]
fn logs_with_compact_dates_work_and_a_log_with_no_usable_line_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("Customer ID,InvoiceDate,Amount\n");
    for i in 0..60 {
        t += &format!(
            "U{},{}{:02}{:02},{}.5\n",
            i % 12,
            2021,
            1 + i % 12,
            1 + i % 28,
            5 + i
        );
    }
    let log = write(&dir.path().join("cdnow.csv"), &t);
    let out = dir.path().join("rfm.csv");
    let o = common::cli::segmenter(&[
        "features",
        "rfm",
        common::cli::s(&log),
        "-o",
        common::cli::s(&out),
    ]);
    assert!(o.status.success(), "{}", common::cli::stderr(&o));
    let text = common::cli::stdout(&o);
    assert!(
        text.contains(": 60 used, 0 rejected; as of 2021-12-25"),
        "{text}"
    );
    let bad = write(
        &dir.path().join("bad.csv"),
        "Customer ID,InvoiceDate,Amount\nU1,2021/18/04,5\nU2,2021/19/04,6\n",
    );
    let o = common::cli::segmenter(&[
        "features",
        "rfm",
        common::cli::s(&bad),
        "-o",
        common::cli::s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = common::cli::stderr(&o);
    assert_eq!(
        err.lines().count(),
        1,
        "one line naming column, value and forms: {err}"
    );
    assert!(
        err.contains("none of the 2 lines could be used: unparseable date on 2, e.g. InvoiceDate='2021/18/04'")
            && err.contains("YYYYMMDD")
            && err.contains("--date-format"),
        "{err}"
    );
    // run --from fails the same way instead of segmenting nothing.
    let e = common::cli::run_err(&bad, &dir.path().join("o"), &["--from", "transactions"]);
    assert!(e.contains("none of the 2 lines could be used"), "{e}");
}

#[test]
fn event_logs_in_their_own_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = String::from("user_id,event_time,event_type,price\n");
    for u in 0..20 {
        for (k, kind) in ["catalog", "product1", "cart", "payment_done"]
            .iter()
            .enumerate()
        {
            if k == 3 && u % 2 == 1 {
                continue;
            }
            t += &format!("u{u},2021-04-{:02} 10:0{k}:00,{kind},{}\n", 1 + u, 10 + u);
        }
    }
    let log = write(&dir.path().join("clicks.csv"), &t);
    let out = dir.path().join("users.csv");
    let base = [
        "features",
        "events",
        common::cli::s(&log),
        "-o",
        common::cli::s(&out),
    ];
    // "cart" is in the default words: only the flags say what the others are.
    let o = common::cli::segmenter(&base);
    assert!(o.status.success());
    let mut renamed = t.replace(",cart,", ",basket,");
    renamed.push('\n');
    let log2 = write(&dir.path().join("clicks2.csv"), &renamed);
    let o = common::cli::segmenter(&[
        "features",
        "events",
        common::cli::s(&log2),
        "-o",
        common::cli::s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = common::cli::stderr(&o);
    assert!(
        err.contains("none of the 70 events is a view")
            && err.contains("'basket' (20), 'catalog' (20), 'product1' (20), 'payment_done' (10)")
            && err.contains("--view-events, --cart-events and --purchase-events"),
        "{err}"
    );
    let mut args = base.to_vec();
    args[2] = common::cli::s(&log2);
    args.extend([
        "--view-events",
        "catalog,product1",
        "--cart-events",
        "basket",
        "--purchase-events",
        "Payment_Done",
    ]);
    let o = common::cli::segmenter(&args);
    assert!(o.status.success(), "{}", common::cli::stderr(&o));
    let (h, rows) = read_csv(&out);
    let (v, c, p) = (col(&h, "views"), col(&h, "carts"), col(&h, "purchases"));
    let u0 = rows.iter().find(|r| r[0] == "u0").unwrap();
    assert_eq!((&u0[v][..], &u0[c][..], &u0[p][..]), ("2", "1", "1"));
    let u1 = rows.iter().find(|r| r[0] == "u1").unwrap();
    assert_eq!(&u1[p][..], "0");
}

#[test]
fn a_rerun_into_the_same_directory_leaves_no_stale_file_and_keeps_the_users() {
    let dir = tempfile::tempdir().unwrap();
    let c = customers(300, 2);
    let file = dir.path().join("c.csv");
    write_customers_csv(&file, &c);
    let out = dir.path().join("out");
    run_ok(&file, &out, &["--algorithm", "dbscan"]);
    assert!(out.join("plots/k_distance.png").exists());
    let mine = write(&out.join("my-notes.txt"), "keep me");
    std::fs::write(out.join("plots/my-chart.png"), b"x").unwrap();
    run_ok(&file, &out, &["--k", "3"]);
    assert!(
        !out.join("plots/k_distance.png").exists(),
        "the DBSCAN run's plot is stale after a k-means run"
    );
    assert!(mine.exists() && out.join("plots/my-chart.png").exists());
    assert!(out.join("plots/pca.png").exists() && out.join("segments.csv").exists());
    let manifest = std::fs::read_to_string(out.join(".segmenter-manifest")).unwrap();
    assert!(manifest.contains("\nsegments.csv\n") && !manifest.contains("my-notes"));
    // A derived table goes when the next run reads a customer table.
    let log = write(
        &dir.path().join("tx.csv"),
        &(0..90).fold(String::from("customer_id,date,amount\n"), |a, i| {
            a + &format!(
                "u{},2021-0{}-1{},{}\n",
                i % 30,
                1 + i % 9,
                i % 10,
                5 + i % 40
            )
        }),
    );
    run_ok(&log, &out, &["--from", "transactions", "--k", "2"]);
    assert!(out.join("customers.csv").exists());
    run_ok(&file, &out, &["--k", "3"]);
    assert!(!out.join("customers.csv").exists() && !out.join("customers.rejects.csv").exists());
    assert!(mine.exists());
}

#[test]
fn help_lists_every_generator_and_says_which_flags_go_with_from() {
    let o = common::cli::segmenter(&["generate", "--help"]);
    let text = common::cli::stdout(&o);
    for g in ["customers", "blobs", "mixed", "transactions", "events"] {
        assert!(text.contains(&format!("  {g} ")), "{g}: {text}");
    }
    let o = common::cli::segmenter(&["run", "--help"]);
    let text = common::cli::stdout(&o);
    let from = text
        .find("With --from (a transaction or event log; these apply only there):")
        .expect("a heading for the --from flags");
    let input = text
        .find("Reading the input:")
        .expect("a heading for input flags");
    for flag in ["--customer", "--invoice", "--view-events", "--as-of"] {
        let at = text.find(&format!("      {flag} ")).unwrap();
        assert!(
            at > from && (at < input || input < from),
            "{flag} under --from"
        );
    }
    for flag in ["--sheet", "--dayfirst", "--date-format"] {
        let at = text.find(&format!("      {flag}")).unwrap();
        assert!(at > input, "{flag} under input");
    }
}

#[test]
fn a_wide_table_gets_a_readable_small_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut t = (0..200)
        .map(|j| format!("f{j}"))
        .collect::<Vec<_>>()
        .join(",");
    t.push('\n');
    for i in 0..600 {
        let g = (i % 3) as f64;
        let row: Vec<String> = (0..200)
            .map(|j| {
                let signal = if j < 5 { 4.0 * g } else { 0.0 };
                format!("{:.3}", signal + gauss(&mut rng))
            })
            .collect();
        t += &row.join(",");
        t.push('\n');
    }
    let file = write(&dir.path().join("wide.csv"), &t);
    let out = dir.path().join("out");
    run_ok(&file, &out, &["--k", "3"]);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("show the 24 of 200 numeric features that differ most"),
        "the report says the plots are capped"
    );
    let png = std::fs::read(out.join("plots/correlation.png")).unwrap();
    let (w, h) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert!(w <= 2000 && h <= 2000, "heatmap {w}×{h}");
    let html = std::fs::metadata(out.join("report.html")).unwrap().len();
    assert!(html < 4 << 20, "report.html is {html} bytes");
    assert!(md.contains("f0") && md.contains("f4"));
}
