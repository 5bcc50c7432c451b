//! Known answers for `features rfm` and `features events`: a hand-computed RFM table, the
//! same result from CSV, gzip CSV, SQLite and Parquet copies of one log, funnel ratios with
//! zero denominators, and every reject reason with its exact line.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const BIN: &str = env!("CARGO_BIN_EXE_segmenter");

/// Invoice lines. Hand computation (as-of = day after 2011-02-05 = 2011-02-06):
/// - 100: invoices 1001 (10 + 3.5) and 1002 (20) → frequency 2, monetary 33.5, last 02-01
///   → recency 5, first 01-10 → tenure 27, one cancellation in 4 lines → return_rate 0.25;
/// - 200: one purchase of 12.5 on 01-15 → recency 22, tenure 22;
/// - 300: rows 7 and 8 rejected, one purchase of 6 on 02-05 → recency 1, tenure 1;
/// - 400: only a cancellation → rejected as a customer.
///
/// Scores (n = 3, 1 + ⌊5 × worse / 3⌋): R = 2, 1, 4; F = 4, 1, 1; M = 4, 2, 1.
const TX: [[&str; 7]; 10] = [
    ["1001", "A", "2", "2011-01-10 10:00", "5.00", "100", "UK"],
    ["1001", "B", "1", "2011-01-10 10:00", "3.50", "100", "UK"],
    ["1002", "A", "4", "2/1/2011 9:00", "5.00", "100", "UK"],
    [
        "C1003",
        "A",
        "-1",
        "2011-02-02T09:00:00",
        "5.00",
        "100",
        "UK",
    ],
    ["1004", "C", "10", "2011-01-15", "1.25", "200", "France"],
    ["1005", "A", "1", "2011-01-20 08:00", "5.00", "", "UK"],
    ["1006", "A", "1", "2011-13-01 08:00", "5.00", "300", "UK"],
    ["1007", "A", "x", "2011-01-20 08:00", "5.00", "300", "UK"],
    ["C1008", "B", "-2", "2011-01-25 08:00", "3.50", "400", "UK"],
    [
        "1009",
        "B",
        "3",
        "2011-02-05 16:00:00 UTC",
        "2.00",
        "300",
        "UK",
    ],
];
const TX_HEADER: [&str; 7] = [
    "InvoiceNo",
    "StockCode",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
];

const RFM_EXPECTED: &str = "\
customer_id,recency_days,frequency,monetary,tenure_days,avg_order_value,return_rate,r_score,f_score,m_score,rfm_segment
100,5,2,33.5,27,16.75,0.25,2,4,4,At Risk
200,22,1,12.5,22,12.5,0,1,1,2,Lost
300,1,1,6,1,6,0,4,1,1,Promising
";

const RFM_REJECTS: &str = "\
row,customer_id,reason,detail
6,,missing customer id,CustomerID=''
7,300,unparseable date,InvoiceDate='2011-13-01 08:00'
8,300,non-numeric amount,Quantity='x'
9,400,no non-cancelled purchase,\"1 cancelled line(s), no purchase\"
";

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("segmenter-features-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_csv(path: &Path, header: &[&str], rows: &[Vec<&str>]) {
    let mut s = header.join(",") + "\n";
    for r in rows {
        s += &(r.join(",") + "\n");
    }
    std::fs::write(path, s).unwrap();
}

fn tx_rows() -> Vec<Vec<&'static str>> {
    TX.iter().map(|r| r.to_vec()).collect()
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// A SQLite copy: ids as INTEGER (NULL when missing), prices as REAL, the bad quantity as
/// TEXT, as a pandas `to_sql` would store them.
fn write_sqlite(path: &Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE retail (InvoiceNo TEXT, StockCode TEXT, Quantity INTEGER,
         InvoiceDate TEXT, UnitPrice REAL, CustomerID INTEGER, Country TEXT);
         CREATE TABLE other (x INTEGER);",
    )
    .unwrap();
    for r in TX {
        let q: rusqlite::types::Value = match r[2].parse::<i64>() {
            Ok(v) => v.into(),
            Err(_) => r[2].to_string().into(),
        };
        let id: Option<i64> = r[5].parse().ok();
        c.execute(
            "INSERT INTO retail VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![r[0], r[1], q, r[3], r[4].parse::<f64>().unwrap(), id, r[6]],
        )
        .unwrap();
    }
}

/// A Parquet copy: strings as UTF8 byte arrays, UnitPrice DOUBLE, CustomerID an optional
/// INT64 (null when missing).
fn write_parquet(path: &Path) {
    use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let schema = Arc::new(
        parse_message_type(
            "message retail {
               REQUIRED BYTE_ARRAY InvoiceNo (UTF8);
               REQUIRED BYTE_ARRAY StockCode (UTF8);
               REQUIRED BYTE_ARRAY Quantity (UTF8);
               REQUIRED BYTE_ARRAY InvoiceDate (UTF8);
               REQUIRED DOUBLE UnitPrice;
               OPTIONAL INT64 CustomerID;
               REQUIRED BYTE_ARRAY Country (UTF8);
             }",
        )
        .unwrap(),
    );
    let file = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(file, schema, Default::default()).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut col = 0;
    while let Some(mut cw) = rg.next_column().unwrap() {
        match col {
            4 => {
                let v: Vec<f64> = TX.iter().map(|r| r[4].parse().unwrap()).collect();
                cw.typed::<DoubleType>()
                    .write_batch(&v, None, None)
                    .unwrap();
            }
            5 => {
                let v: Vec<i64> = TX.iter().filter_map(|r| r[5].parse().ok()).collect();
                let def: Vec<i16> = TX.iter().map(|r| (!r[5].is_empty()) as i16).collect();
                cw.typed::<Int64Type>()
                    .write_batch(&v, Some(&def), None)
                    .unwrap();
            }
            _ => {
                let v: Vec<ByteArray> = TX.iter().map(|r| ByteArray::from(r[col])).collect();
                cw.typed::<ByteArrayType>()
                    .write_batch(&v, None, None)
                    .unwrap();
            }
        }
        cw.close().unwrap();
        col += 1;
    }
    rg.close().unwrap();
    w.close().unwrap();
}

#[test]
fn rfm_hand_computed_from_csv() {
    let d = dir("rfm-csv");
    let input = d.join("retail.csv");
    write_csv(&input, &TX_HEADER, &tx_rows());
    let out = d.join("customers.csv");
    let (ok, stdout, stderr) = run(&[
        "features",
        "rfm",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(read(&out), RFM_EXPECTED);
    assert_eq!(read(&d.join("customers.rejects.csv")), RFM_REJECTS);
    assert!(stdout.contains("read 10 lines"), "{stdout}");
    assert!(stdout.contains("as of 2011-02-06"), "{stdout}");
    assert!(stdout.contains("wrote 3 customers"), "{stdout}");
    // Lines add up (10 = 7 + 3); the customer left out is counted as a customer.
    assert!(
        stdout.contains(
            ": 7 used, 3 rejected (missing customer id: 1, unparseable date: 1, non-numeric amount: 1); as of"
        ) && stdout.contains("left out 1 customer (no non-cancelled purchase: 1)"),
        "{stdout}"
    );
}

#[test]
fn rfm_same_from_gzip_sqlite_and_parquet() {
    let d = dir("rfm-sources");
    let csv = d.join("retail.csv");
    write_csv(&csv, &TX_HEADER, &tx_rows());
    let gz = d.join("retail.csv.gz");
    {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(read(&csv).as_bytes()).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
    }
    let db = d.join("retail.db");
    write_sqlite(&db);
    let pq = d.join("retail.parquet");
    write_parquet(&pq);
    let cases: [(&Path, &[&str]); 4] = [
        (&gz, &[]),
        (&db, &["--table", "retail"]),
        (&db, &["--query", "SELECT * FROM retail ORDER BY rowid"]),
        (&pq, &[]),
    ];
    for (i, (input, extra)) in cases.iter().enumerate() {
        let out = d.join(format!("out{i}.csv"));
        let mut args = vec![
            "features",
            "rfm",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let (ok, _, stderr) = run(&args);
        assert!(ok, "{}: {stderr}", input.display());
        assert_eq!(read(&out), RFM_EXPECTED, "{}", input.display());
        assert_eq!(
            read(&d.join(format!("out{i}.rejects.csv"))),
            RFM_REJECTS,
            "{}",
            input.display()
        );
    }
    // A database with two tables needs --table.
    let (ok, _, stderr) = run(&[
        "features",
        "rfm",
        db.to_str().unwrap(),
        "-o",
        d.join("x.csv").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("several tables; pick one with --table (the database has: other, retail)"),
        "{stderr}"
    );
}

#[test]
fn rfm_as_of_explicit_flags_and_after_as_of_rejects() {
    let d = dir("rfm-asof");
    let input = d.join("log.csv");
    // Renamed columns, named by flags; an amount column instead of quantity × price.
    let rows: Vec<Vec<&str>> = vec![
        vec!["a", "05/02/2011", "10"],
        vec!["a", "01/02/2011", "5"],
        vec!["b", "03/02/2011", "7.25"],
        vec!["b", "20/02/2011", "1"],
        vec!["c", "04/02/2011", "-3"],
    ];
    write_csv(&input, &["who", "when", "value"], &rows);
    let out = d.join("c.csv");
    let rej = d.join("r.csv");
    let (ok, stdout, stderr) = run(&[
        "features",
        "rfm",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--customer",
        "who",
        "--date",
        "when",
        "--amount",
        "value",
        "--dayfirst",
        "--as-of",
        "2011-02-10",
        "--rejects",
        rej.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    // Without an invoice column frequency counts purchase days: a has 2, b has 1. With n = 2
    // a scores 1 + ⌊5 × 1 / 2⌋ = 3 on each of R, F, M: Need Attention.
    assert_eq!(
        read(&out),
        "customer_id,recency_days,frequency,monetary,tenure_days,avg_order_value,return_rate,r_score,f_score,m_score,rfm_segment\n\
         a,5,2,15,9,7.5,0,3,3,3,Need Attention\n\
         b,7,1,7.25,7,7.25,0,1,1,1,Lost\n"
    );
    assert_eq!(
        read(&rej),
        "row,customer_id,reason,detail\n\
         4,b,after as-of date,when='20/02/2011'\n\
         5,c,no non-cancelled purchase,\"1 cancelled line(s), no purchase\"\n"
    );
    assert!(stdout.contains("as of 2011-02-10"), "{stdout}");
}

const EV_HEADER: [&str; 8] = [
    "event_time",
    "event_type",
    "product_id",
    "category_code",
    "brand",
    "price",
    "user_id",
    "user_session",
];

/// u1: a full funnel over two sessions; u2: views only (carts = 0 → cart_to_purchase 0);
/// u3: a purchase with no view or cart (both denominators 0). As-of = 2019-10-04.
const EV: [[&str; 8]; 10] = [
    [
        "2019-10-01 10:00:00 UTC",
        "view",
        "p1",
        "cat.a",
        "b1",
        "10.0",
        "u1",
        "s1",
    ],
    [
        "2019-10-01 10:02:00 UTC",
        "view",
        "p2",
        "cat.a",
        "b2",
        "20.0",
        "u1",
        "s1",
    ],
    [
        "2019-10-01 10:05:00 UTC",
        "cart",
        "p2",
        "cat.a",
        "b2",
        "20.0",
        "u1",
        "s1",
    ],
    [
        "2019-10-03 09:00:00 UTC",
        "purchase",
        "p2",
        "cat.a",
        "b2",
        "20.0",
        "u1",
        "s2",
    ],
    [
        "2019-10-02 12:00:00 UTC",
        "view",
        "p3",
        "",
        "b3",
        "5.0",
        "u2",
        "s3",
    ],
    [
        "2019-10-02 12:10:00 UTC",
        "purchase",
        "p4",
        "cat.b",
        "",
        "7.5",
        "u3",
        "s4",
    ],
    ["", "view", "p1", "cat.a", "b1", "10.0", "u1", "s1"],
    [
        "2019-10-02 12:00:00 UTC",
        "view",
        "p1",
        "cat.a",
        "b1",
        "10.0",
        "",
        "s9",
    ],
    [
        "2019-10-02 12:00:00 UTC",
        "",
        "p1",
        "cat.a",
        "b1",
        "10.0",
        "u4",
        "s5",
    ],
    [
        "2019-10-02 12:00:00 UTC",
        "purchase",
        "p1",
        "cat.a",
        "b1",
        "abc",
        "u5",
        "s6",
    ],
];

#[test]
fn events_funnel_ratios_zero_denominators_and_rejects() {
    let d = dir("events");
    let input = d.join("ev.csv");
    write_csv(
        &input,
        &EV_HEADER,
        &EV.iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
    );
    let out = d.join("users.csv");
    let (ok, stdout, stderr) = run(&[
        "features",
        "events",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        read(&out),
        "customer_id,events,sessions,views,carts,purchases,view_to_cart,cart_to_purchase,products,categories,brands,spend,recency_days,active_days,session_events,session_minutes\n\
         u1,4,2,2,1,1,0.5,1,2,1,2,20,1,2,2,2.5\n\
         u2,1,1,1,0,0,0,0,1,0,1,0,2,1,1,0\n\
         u3,1,1,0,0,1,0,0,1,1,0,7.5,2,1,1,0\n"
    );
    assert_eq!(
        read(&d.join("users.rejects.csv")),
        "row,customer_id,reason,detail\n\
         7,u1,unparseable date,event_time=''\n\
         8,,missing user id,user_id=''\n\
         9,u4,missing event type,event_type=''\n\
         10,u5,non-numeric amount,price='abc'\n"
    );
    assert!(stdout.contains("used, 4 rejected ("), "{stdout}");
    assert!(stdout.contains("as of 2019-10-04"), "{stdout}");
}

#[test]
fn events_without_session_column_split_on_30_minute_gaps() {
    let d = dir("events-gap");
    let input = d.join("ev.csv");
    let rows: Vec<Vec<&str>> = vec![
        vec!["1", "2019-10-01T10:00:00Z", "view"],
        vec!["1", "2019-10-01T10:20:00Z", "view"],
        vec!["1", "2019-10-01T10:40:00Z", "cart"],
        vec!["1", "2019-10-01T11:20:00Z", "view"],
    ];
    write_csv(&input, &["user_id", "timestamp", "event_type"], &rows);
    let out = d.join("u.csv");
    let (ok, _, stderr) = run(&[
        "features",
        "events",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    // Sessions 10:00–10:40 (3 events, 40 min) and 11:20 (1 event, 0 min).
    assert_eq!(
        read(&out).lines().nth(1).unwrap(),
        "1,4,2,3,1,0,0.3333,0,0,0,0,0,1,1,2,20"
    );
}

#[test]
fn column_errors_name_the_flag_and_the_columns() {
    let d = dir("errors");
    let input = d.join("t.csv");
    write_csv(&input, &["a", "b"], &[vec!["1", "2"]]);
    let out = d.join("o.csv");
    let (ok, _, stderr) = run(&[
        "features",
        "rfm",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("no customer id column found (looked for CustomerID, customer_id, Customer ID, customer, client_id, user_id); name it with --customer COL (the columns are: a, b)"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&[
        "features",
        "events",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--user",
        "nope",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--user 'nope': no such column (the columns are: a, b)"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&[
        "features",
        "rfm",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--as-of",
        "soon",
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("--as-of 'soon': not a date; use YYYY-MM-DD"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn generators_feed_the_feature_builders() {
    let d = dir("gen");
    let tx = d.join("tx.csv.gz");
    let (ok, _, stderr) = run(&[
        "generate",
        "transactions",
        "--customers",
        "300",
        "--seed",
        "3",
        "-o",
        tx.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let out = d.join("c.csv");
    let (ok, stdout, stderr) = run(&[
        "features",
        "rfm",
        tx.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("missing customer id: "), "{stdout}");
    let rows = read(&out).lines().count() - 1;
    assert!((290..=300).contains(&rows), "{rows}");
    let db = d.join("ev.db");
    let (ok, _, stderr) = run(&[
        "generate",
        "events",
        "--users",
        "200",
        "--seed",
        "3",
        "--sqlite",
        db.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let csv = d.join("ev.csv");
    let (ok, _, stderr) = run(&[
        "generate",
        "events",
        "--users",
        "200",
        "--seed",
        "3",
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let (a, b) = (d.join("a.csv"), d.join("b.csv"));
    assert!(
        run(&[
            "features",
            "events",
            db.to_str().unwrap(),
            "-o",
            a.to_str().unwrap()
        ])
        .0
    );
    assert!(
        run(&[
            "features",
            "events",
            csv.to_str().unwrap(),
            "-o",
            b.to_str().unwrap()
        ])
        .0
    );
    assert_eq!(read(&a), read(&b));
    assert_eq!(read(&a).lines().count(), 201);
}

#[test]
fn events_result_does_not_depend_on_worker_count() {
    let d = dir("workers");
    let input = d.join("ev.csv");
    let (ok, _, stderr) = run(&[
        "generate",
        "events",
        "--users",
        "3000",
        "--seed",
        "5",
        "-o",
        input.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    // Append the bad rows of EV so rejects from several workers are merged in row order.
    let mut text = read(&input);
    for r in &EV[6..] {
        text += &format!(
            "{},{},{},1,{},{},{},{},{}\n",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        );
    }
    std::fs::write(&input, text).unwrap();
    let mut outs = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = d.join(format!("u{threads}.csv"));
        let (ok, _, stderr) = run(&[
            "features",
            "events",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--threads",
            threads,
        ]);
        assert!(ok, "{stderr}");
        outs.push((read(&out), read(&d.join(format!("u{threads}.rejects.csv")))));
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], outs[2]);
    assert_eq!(outs[0].1.lines().count(), 5, "{}", outs[0].1);
    assert_eq!(
        outs[0].0.lines().count(),
        3001,
        "the header and 3000 users: every appended row is rejected"
    );
}

#[test]
fn run_from_transactions_segments_customers_in_rfm_terms() {
    let d = dir("run-tx");
    let tx = d.join("tx.csv");
    let (ok, _, stderr) = run(&[
        "generate",
        "transactions",
        "--customers",
        "400",
        "--seed",
        "4",
        "-o",
        tx.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let out = d.join("out");
    let (ok, stdout, stderr) = run(&[
        "run",
        tx.to_str().unwrap(),
        "--from",
        "transactions",
        "--out",
        out.to_str().unwrap(),
        "--k",
        "4",
        "--quiet",
    ]);
    assert!(ok, "{stderr}");
    let customers = read(&out.join("customers.csv"));
    let segments = read(&out.join("segments.csv"));
    assert!(
        segments.starts_with("row,customer_id,recency_days,frequency,monetary,tenure_days,avg_order_value,return_rate,r_score,f_score,m_score,rfm_segment,segment,segment_name"),
        "{}",
        segments.lines().next().unwrap_or("")
    );
    // One row per customer, keyed by customer_id, in the derived table's order.
    let ids = |t: &str, col: usize| -> Vec<String> {
        t.lines()
            .skip(1)
            .map(|l| l.split(',').nth(col).unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(ids(&segments, 1), ids(&customers, 0));
    assert!(
        stdout.contains("wrote 4") || stdout.contains("customers to"),
        "{stdout}"
    );
    let speaks_rfm = ["recent", "lapsed", "frequent", "spend", "tenure"];
    assert!(speaks_rfm.iter().any(|w| stdout.contains(w)), "{stdout}");
    // --from options need --from.
    let (ok, _, stderr) = run(&["run", tx.to_str().unwrap(), "--customer", "CustomerID"]);
    assert!(!ok);
    assert!(stderr.contains("--from"), "{stderr}");
}

#[test]
fn run_from_events_reads_a_sqlite_table() {
    let d = dir("run-ev");
    let db = d.join("ev.sqlite");
    let (ok, _, stderr) = run(&[
        "generate",
        "events",
        "--users",
        "300",
        "--seed",
        "4",
        "--sqlite",
        db.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let out = d.join("out");
    let (ok, stdout, stderr) = run(&[
        "run",
        db.to_str().unwrap(),
        "--from",
        "events",
        "--table",
        "events",
        "--out",
        out.to_str().unwrap(),
        "--k",
        "3",
        "--quiet",
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("wrote 300 customers"), "{stdout}");
    let segments = read(&out.join("segments.csv"));
    assert_eq!(segments.lines().count(), 301);
    assert!(
        segments.starts_with("row,customer_id,events,sessions,views,carts,purchases,view_to_cart")
    );
}

/// Parquet as pandas writes it: snappy pages, integer user ids, and event times as INT64
/// timestamps in nanoseconds (and, in another column, milliseconds).
#[test]
fn parquet_timestamps_and_snappy_pages() {
    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    let d = dir("parquet-ts");
    let path = d.join("ev.parquet");
    let schema = Arc::new(
        parse_message_type(
            "message ev {
               REQUIRED INT64 user_id;
               REQUIRED INT64 event_time (TIMESTAMP(NANOS,true));
               REQUIRED INT64 logged (TIMESTAMP(MILLIS,true));
               REQUIRED BYTE_ARRAY event_type (UTF8);
             }",
        )
        .unwrap(),
    );
    // 2019-10-01 10:00:00 UTC and 2019-10-03 09:30:00 UTC.
    let t = [1_569_924_000i64, 1_570_095_000i64];
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut w =
        SerializedFileWriter::new(std::fs::File::create(&path).unwrap(), schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut col = 0;
    while let Some(mut cw) = rg.next_column().unwrap() {
        match col {
            0 => cw
                .typed::<Int64Type>()
                .write_batch(&[7, 7], None, None)
                .map(|_| ())
                .unwrap(),
            1 => cw
                .typed::<Int64Type>()
                .write_batch(&[t[0] * 1_000_000_000, t[1] * 1_000_000_000], None, None)
                .map(|_| ())
                .unwrap(),
            2 => cw
                .typed::<Int64Type>()
                .write_batch(&[t[0] * 1000, t[1] * 1000], None, None)
                .map(|_| ())
                .unwrap(),
            _ => cw
                .typed::<ByteArrayType>()
                .write_batch(
                    &[ByteArray::from("view"), ByteArray::from("purchase")],
                    None,
                    None,
                )
                .map(|_| ())
                .unwrap(),
        }
        cw.close().unwrap();
        col += 1;
    }
    rg.close().unwrap();
    w.close().unwrap();
    for time_col in ["event_time", "logged"] {
        let out = d.join(format!("{time_col}.csv"));
        let (ok, stdout, stderr) = run(&[
            "features",
            "events",
            path.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--time",
            time_col,
        ]);
        assert!(ok, "{stderr}");
        assert!(stdout.contains("as of 2019-10-04"), "{stdout}");
        // One user, two days active, 2 sessions split by the 30-minute gap rule.
        assert_eq!(
            read(&out).lines().nth(1).unwrap(),
            "7,2,2,1,0,1,0,0,0,0,0,0,1,2,1,0"
        );
    }
}

#[test]
fn events_many_recurring_sessions_and_products_of_one_user() {
    // 40 sessions, each seen in three rounds an hour apart, and 120 distinct products: past
    // the user's inline sets and own lists, into the shared tables.
    let d = dir("many");
    let input = d.join("ev.csv");
    let mut text = String::from("event_time,event_type,product_id,user_id,user_session\n");
    for r in 0..3 {
        for s in 0..40 {
            text += &format!(
                "2019-10-01 0{r}:{s:02}:00 UTC,view,p{},7,s{s}\n",
                r * 40 + s
            );
        }
    }
    std::fs::write(&input, text).unwrap();
    for threads in ["1", "2"] {
        let out = d.join(format!("u{threads}.csv"));
        let (ok, _, stderr) = run(&[
            "features",
            "events",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--threads",
            threads,
        ]);
        assert!(ok, "{stderr}");
        let table = read(&out);
        let row: Vec<&str> = table.lines().nth(1).unwrap().split(',').collect();
        // events, sessions, products, session_events, session_minutes
        assert_eq!(
            (row[1], row[2], row[8], row[14], row[15]),
            ("120", "40", "120", "3", "120"),
            "{table}"
        );
    }
}
