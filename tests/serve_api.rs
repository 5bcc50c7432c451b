//! `segmenter serve` as a client sees it: the real binary on 127.0.0.1, requests over TCP.
//! Scoring equals `segmenter predict` on the same file; every bad input gets its status and
//! error body; the token, the limits, hot reload, graceful shutdown and the panic guard.
#![cfg(feature = "serve")]

mod common;

use common::cli::{read_csv, run_ok, s, segmenter};
use common::http::{request, Resp, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Two fitted runs shared by the tests: the customer export (k = 4) and the mixed mall table
/// (k = 4, one-hot city and membership), plus a second customer model (k = 3) for reloads.
struct Fixture {
    _dir: tempfile::TempDir,
    customers: PathBuf,
    customers_out: PathBuf,
    customers_k3: PathBuf,
    mixed: PathBuf,
    mixed_out: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let customers = dir.path().join("customers.csv");
        let mixed = dir.path().join("mixed.csv");
        for (kind, path) in [("customers", &customers), ("mixed", &mixed)] {
            let g = segmenter(&[
                "generate",
                kind,
                "--rows",
                "1500",
                "--seed",
                "5",
                "-o",
                s(path),
            ]);
            assert!(g.status.success());
        }
        let customers_out = dir.path().join("c4");
        let customers_k3 = dir.path().join("c3");
        let mixed_out = dir.path().join("m4");
        run_ok(&customers, &customers_out, &["--k", "4"]);
        run_ok(&customers, &customers_k3, &["--k", "3"]);
        run_ok(&mixed, &mixed_out, &["--k", "4"]);
        Fixture {
            _dir: dir,
            customers,
            customers_out,
            customers_k3,
            mixed,
            mixed_out,
        }
    })
}

fn model(out: &Path) -> String {
    s(&out.join("model.json")).to_string()
}

/// `segmenter predict` on `file`: (row, segment, segment_name, distance_to_centroid) strings.
fn predicted(out: &Path, file: &Path) -> Vec<[String; 4]> {
    let dir = tempfile::tempdir().unwrap();
    let scored = dir.path().join("scored.csv");
    let o = segmenter(&["predict", &model(out), s(file), "-o", s(&scored)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (h, rows) = read_csv(&scored);
    let c = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (r, g, n, d) = (
        c("row"),
        c("segment"),
        c("segment_name"),
        c("distance_to_centroid"),
    );
    rows.iter()
        .map(|x| [x[r].clone(), x[g].clone(), x[n].clone(), x[d].clone()])
        .collect()
}

/// The records of a CSV file as JSON objects (numbers as JSON numbers, empty fields null).
fn csv_records(file: &Path) -> Vec<serde_json::Map<String, Value>> {
    let (h, rows) = read_csv(file);
    rows.iter()
        .map(|r| {
            h.iter()
                .zip(r)
                .map(|(k, v)| {
                    let v = if v.is_empty() {
                        Value::Null
                    } else if let Ok(x) = v.parse::<f64>() {
                        json!(x)
                    } else {
                        Value::String(v.clone())
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .collect()
}

#[test]
fn csv_batch_equals_predict_on_the_same_file() {
    let f = fixture();
    let srv = Server::start(&["--model", &model(&f.customers_out)]);
    let body = std::fs::read(&f.customers).unwrap();
    let r = srv.req(
        "POST",
        "/v1/predict",
        &[("Content-Type", "text/csv")],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/csv"));
    let mut rdr = csv::Reader::from_reader(&r.body[..]);
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        ["row", "segment", "segment_name", "distance_to_centroid"]
    );
    let got: Vec<[String; 4]> = rdr
        .records()
        .map(|x| {
            let x = x.unwrap();
            [0, 1, 2, 3].map(|i| x[i].to_string())
        })
        .collect();
    let want = predicted(&f.customers_out, &f.customers);
    assert!(want.len() > 1400, "{} rows scored", want.len());
    assert_eq!(got, want);
}

#[test]
fn json_records_equal_predict_and_echo_the_id() {
    let f = fixture();
    let srv = Server::start(&["--model", &model(&f.mixed_out)]);
    let records = csv_records(&f.mixed);
    let body = serde_json::to_string(&records).unwrap();
    let r = srv.post_json(&body);
    assert_eq!(r.status, 200, "{}", r.text());
    let got = r.json();
    let got = got.as_array().unwrap();
    let want = predicted(&f.mixed_out, &f.mixed);
    assert_eq!(got.len(), want.len());
    for ((g, w), rec) in got.iter().zip(&want).zip(&records) {
        assert_eq!(g["row"].as_u64().unwrap().to_string(), w[0]);
        assert_eq!(g["segment"].as_u64().unwrap().to_string(), w[1]);
        assert_eq!(g["segment_name"].as_str().unwrap(), w[2]);
        let d = g["distance_to_centroid"].as_f64().unwrap();
        let wd: f64 = w[3].parse().unwrap();
        assert!((d - wd).abs() <= 5.1e-5, "{d} vs {wd}");
        assert_eq!(g["customer_id"], rec["customer_id"]);
        assert!(g.get("warning").is_none());
    }
}

#[test]
fn unknown_level_is_scored_as_other_with_a_warning() {
    let f = fixture();
    let srv = Server::start(&["--model", &model(&f.mixed_out)]);
    let mut rec = csv_records(&f.mixed).swap_remove(0);
    let known = srv
        .post_json(&serde_json::to_string(&[&rec]).unwrap())
        .json();
    rec.insert("city".into(), json!("Atlantis"));
    let r = srv.post_json(&serde_json::to_string(&[&rec]).unwrap());
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v[0]["warning"],
        json!("field 'city': level 'Atlantis' is not one of the model's levels; scored as other (no 'city' feature set)")
    );
    // Scored, and not as the known city was: the one-hot feature moved to `other`.
    assert!(v[0]["segment"].is_u64());
    assert_ne!(
        v[0]["distance_to_centroid"],
        known[0]["distance_to_centroid"]
    );
    // The same row through the CSV path and `predict` agree.
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.csv");
    let cols: Vec<&String> = rec.keys().collect();
    let mut text = cols
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    text += &cols
        .iter()
        .map(|c| match &rec[c.as_str()] {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",");
    text += "\n";
    std::fs::write(&one, &text).unwrap();
    let want = predicted(&f.mixed_out, &one);
    assert_eq!(v[0]["segment"].as_u64().unwrap().to_string(), want[0][1]);
    let csv = srv.req(
        "POST",
        "/v1/predict",
        &[("Content-Type", "text/csv"), ("Accept", "application/json")],
        text.as_bytes(),
    );
    assert_eq!(csv.status, 200);
    assert_eq!(csv.json()[0]["warning"], v[0]["warning"]);
}

fn err_body(r: &Resp) -> Value {
    assert_eq!(r.header("content-type"), Some("application/json"));
    r.json()
}

#[test]
fn every_bad_input_gets_its_status_and_error() {
    let f = fixture();
    let srv = Server::start(&["--model", &model(&f.customers_out)]);
    let good = json!({"Avg Session Length": 33.1, "Time on App": 12.5, "Time on Website": 37.0,
        "Length of Membership": 3.5, "Yearly Amount Spent": 500.0});
    let ok = srv.post_json(&json!([good]).to_string());
    assert_eq!(ok.status, 200, "{}", ok.text());

    // Malformed JSON.
    let r = srv.post_json("[{\"Avg Session Length\": 33.1,");
    assert_eq!(r.status, 400);
    assert_eq!(
        err_body(&r),
        json!({"error": "malformed JSON: EOF while parsing a value at line 1 column 29"})
    );
    // A missing column, in the third record.
    let mut third = good.clone();
    third.as_object_mut().unwrap().remove("Time on App");
    let r = srv.post_json(&json!([good, good, third]).to_string());
    assert_eq!(r.status, 422);
    assert_eq!(
        err_body(&r),
        json!({"error": "record 3: no field 'Time on App', which the model needs (it reads 'Avg Session Length', 'Time on App', 'Time on Website', 'Length of Membership', 'Yearly Amount Spent')",
               "row": 3, "field": "Time on App"})
    );
    // Text in a numeric field.
    let mut bad = good.clone();
    bad["Time on App"] = json!("twelve");
    let r = srv.post_json(&json!([good, good, bad]).to_string());
    assert_eq!(r.status, 422);
    assert_eq!(
        err_body(&r),
        json!({"error": "record 3: column 'Time on App': 'twelve' is not a number", "row": 3, "field": "Time on App"})
    );
    // An object where a value goes.
    bad["Time on App"] = json!({"minutes": 12});
    let r = srv.post_json(&json!([bad]).to_string());
    assert_eq!(r.status, 422);
    assert_eq!(
        err_body(&r),
        json!({"error": "record 1, field 'Time on App': expected a number or a string, found an object", "row": 1, "field": "Time on App"})
    );
    // Not an array of records.
    let r = srv.post_json("[1]");
    assert_eq!(r.status, 400);
    assert_eq!(
        err_body(&r),
        json!({"error": "record 1: expected an object of fields, found a number", "row": 1})
    );
    let r = srv.post_json("[]");
    assert_eq!(r.status, 400);
    assert_eq!(
        err_body(&r),
        json!({"error": "the JSON array has no records"})
    );
    // Empty body.
    let r = srv.post_json("");
    assert_eq!(r.status, 400);
    assert_eq!(
        err_body(&r),
        json!({"error": "the request body is empty; send a JSON array of records or a CSV table"})
    );
    // Wrong and missing content type.
    let r = srv.req(
        "POST",
        "/v1/predict",
        &[("Content-Type", "text/plain")],
        b"x",
    );
    assert_eq!(r.status, 415);
    assert_eq!(
        err_body(&r),
        json!({"error": "Content-Type 'text/plain' is not accepted: send application/json (an array of records) or text/csv"})
    );
    let r = srv.req("POST", "/v1/predict", &[], b"x");
    assert_eq!(r.status, 415);
    assert_eq!(
        err_body(&r),
        json!({"error": "no Content-Type: send application/json (an array of records) or text/csv"})
    );
    // CSV: a missing column, text in a numeric field (row 2), a ragged row.
    let csv = |b: &str| {
        srv.req(
            "POST",
            "/v1/predict",
            &[("Content-Type", "text/csv")],
            b.as_bytes(),
        )
    };
    let r = csv("Avg Session Length,Time on App\n1,2\n");
    assert_eq!(r.status, 422);
    assert_eq!(
        err_body(&r),
        json!({"error": "the CSV header has no column 'Time on Website', which the model needs (it reads 'Avg Session Length', 'Time on App', 'Time on Website', 'Length of Membership', 'Yearly Amount Spent')",
               "field": "Time on Website"})
    );
    let head =
        "Avg Session Length,Time on App,Time on Website,Length of Membership,Yearly Amount Spent\n";
    let r = csv(&format!("{head}33,12,37,3.5,500\n33,12,abc,3.5,500\n"));
    assert_eq!(r.status, 422);
    assert_eq!(
        err_body(&r),
        json!({"error": "row 2: column 'Time on Website': 'abc' is not a number", "row": 2, "field": "Time on Website"})
    );
    let r = csv(&format!("{head}33,12,37,3.5,500\n33,12,37\n"));
    assert_eq!(r.status, 422);
    assert_eq!(
        err_body(&r),
        json!({"error": "row 2: expected 5 fields as in the header, found 3 (line 3)", "row": 2})
    );
    let r = csv(head);
    assert_eq!(r.status, 400);
    assert_eq!(
        err_body(&r),
        json!({"error": "the CSV has a header but no data rows"})
    );
    // No route reaches the file system: unknown paths are 404 JSON, also with traversal.
    for p in ["/../../etc/passwd", "/app.js", "/v1/run", "/model.json"] {
        let r = srv.req("GET", p, &[], b"");
        assert_eq!(r.status, 404, "{p}");
        assert!(err_body(&r)["error"]
            .as_str()
            .unwrap()
            .starts_with("no such endpoint"));
    }
    // The errors are counted by kind.
    let m = srv.req("GET", "/metrics", &[], b"").text();
    for line in [
        "segmenter_errors_total{kind=\"malformed_json\"} 2",
        "segmenter_errors_total{kind=\"missing_column\"} 2",
        "segmenter_errors_total{kind=\"invalid_value\"} 3",
        "segmenter_errors_total{kind=\"content_type\"} 2",
        "segmenter_errors_total{kind=\"empty_body\"} 3",
        "segmenter_errors_total{kind=\"malformed_csv\"} 1",
        "segmenter_requests_total{route=\"/v1/predict\",status=\"200\"} 1",
        "segmenter_requests_total{route=\"/v1/predict\",status=\"422\"} 6",
        "segmenter_rows_scored_total 1",
    ] {
        assert!(m.contains(line), "{line} not in\n{m}");
    }
}

#[test]
fn model_healthz_and_metrics() {
    let f = fixture();
    let srv = Server::start(&[
        "--model",
        &model(&f.customers_out),
        "--run",
        s(&f.customers_out),
    ]);
    let h = srv.req("GET", "/healthz", &[], b"");
    assert_eq!((h.status, h.text().as_str()), (200, "ok\n"));
    let m = srv.req("GET", "/v1/model", &[], b"").json();
    let summary: Value =
        serde_json::from_slice(&std::fs::read(f.customers_out.join("summary.json")).unwrap())
            .unwrap();
    let model_file: Value =
        serde_json::from_slice(&std::fs::read(f.customers_out.join("model.json")).unwrap())
            .unwrap();
    assert_eq!(m["k"], json!(4));
    assert_eq!(m["features"], model_file["prep"]["features"]);
    assert_eq!(m["algorithm"], json!("kmeans"));
    assert_eq!(m["format_version"], json!(1));
    assert_eq!(m["model_version"].as_str().unwrap().len(), 16);
    assert!(m["fitted_at"].as_str().unwrap().ends_with('Z'));
    let (h, rows) = read_csv(&f.customers_out.join("segments.csv"));
    let seg_col = h.iter().position(|x| x == "segment").unwrap();
    for (i, s) in m["segments"].as_array().unwrap().iter().enumerate() {
        assert_eq!(s["name"], model_file["segment_names"][i]);
        let size = rows.iter().filter(|r| r[seg_col] == i.to_string()).count();
        assert_eq!(s["size"], json!(size));
        assert_eq!(summary["segments"][i]["size"], json!(size));
    }
    let r = srv.req("GET", "/metrics", &[], b"");
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let t = r.text();
    assert!(
        t.contains("segmenter_requests_total{route=\"/healthz\",status=\"200\"} 1"),
        "{t}"
    );
    assert!(
        t.contains("segmenter_requests_total{route=\"/v1/model\",status=\"200\"} 1"),
        "{t}"
    );
    assert!(
        t.contains("segmenter_request_duration_seconds_count 2"),
        "{t}"
    );
    assert!(
        t.contains("segmenter_request_duration_seconds_bucket{le=\"+Inf\"} 2"),
        "{t}"
    );
}

#[test]
fn the_token_is_required_except_for_healthz() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let tf = dir.path().join("token");
    std::fs::write(&tf, "s3cret-token\n").unwrap();
    let srv = Server::start(&["--model", &model(&f.customers_out), "--token-file", s(&tf)]);
    assert_eq!(srv.req("GET", "/healthz", &[], b"").status, 200);
    let none = srv.req("GET", "/v1/model", &[], b"");
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        none.json(),
        json!({"error": "this server needs 'Authorization: Bearer <token>' (--token-file)"})
    );
    for wrong in [
        "Bearer s3cret-toke",
        "Bearer s3cret-tokenX",
        "Bearer S3CRET-TOKEN",
        "Basic s3cret-token",
    ] {
        let r = srv.req("GET", "/v1/model", &[("Authorization", wrong)], b"");
        assert_eq!(r.status, 401, "{wrong}");
    }
    let r = srv.req(
        "GET",
        "/v1/model",
        &[("Authorization", "Bearer s3cret-toke")],
        b"",
    );
    assert_eq!(
        r.json(),
        json!({"error": "the bearer token is not this server's"})
    );
    let r = srv.req(
        "GET",
        "/v1/model",
        &[("Authorization", "Bearer s3cret-token")],
        b"",
    );
    assert_eq!(r.status, 200);
    let r = srv.req(
        "POST",
        "/v1/predict",
        &[("Content-Type", "application/json")],
        b"[]",
    );
    assert_eq!(
        r.status, 401,
        "predict needs the token before reading the body"
    );
    let r = srv.req("GET", "/metrics", &[], b"");
    assert_eq!(r.status, 401);
    // An empty token file is refused at start.
    std::fs::write(&tf, "\n").unwrap();
    let o = segmenter(&[
        "serve",
        "--model",
        &model(&f.customers_out),
        "--token-file",
        s(&tf),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the token file is empty"));
}

#[test]
fn body_and_row_limits() {
    let f = fixture();
    let srv = Server::start(&[
        "--model",
        &model(&f.customers_out),
        "--max-body",
        "2000",
        "--max-rows",
        "3",
    ]);
    let rec = json!({"Avg Session Length": 33.1, "Time on App": 12.5, "Time on Website": 37.0,
        "Length of Membership": 3.5, "Yearly Amount Spent": 500.0});
    assert_eq!(
        srv.post_json(&json!([rec, rec, rec]).to_string()).status,
        200
    );
    let r = srv.post_json(&json!([rec, rec, rec, rec]).to_string());
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json(),
        json!({"error": "4 rows in one request; the server takes at most 3 (--max-rows)"})
    );
    let big = format!("[{}]", vec![rec.to_string(); 30].join(","));
    assert!(big.len() > 2000);
    let r = srv.post_json(&big);
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json(),
        json!({"error": "the request body is larger than 2000 bytes (--max-body)"})
    );
    // Chunked, without a Content-Length: cut off at the limit all the same.
    let mut st = std::net::TcpStream::connect(srv.addr).unwrap();
    use std::io::Write;
    write!(
        st,
        "POST /v1/predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    )
    .unwrap();
    let r = common::http::read_response(&mut st);
    assert_eq!(r.status, 413);
}

#[test]
fn slow_clients_time_out() {
    let f = fixture();
    let srv = Server::start(&["--model", &model(&f.customers_out), "--timeout", "0.5"]);
    use std::io::Write;
    let mut st = std::net::TcpStream::connect(srv.addr).unwrap();
    // Headers promise a body that never comes.
    write!(st, "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[").unwrap();
    let t = Instant::now();
    st.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = std::io::Read::read(&mut st, &mut buf).unwrap();
    let r = common::http::parse_response(&buf[..n]);
    assert_eq!(r.status, 408);
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(
        r.json()["error"],
        json!("the request took longer than 0.5 s (a slow client, or too large a batch)")
    );
}

/// Replaces `dst` atomically by `src`'s bytes, as `run` writes its files.
fn replace_atomically(src: &[u8], dst: &Path) {
    let tmp = dst.with_extension("json.tmp");
    std::fs::write(&tmp, src).unwrap();
    std::fs::rename(&tmp, dst).unwrap();
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn hot_reload_takes_a_good_model_and_refuses_a_bad_one() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("model.json");
    std::fs::copy(f.customers_out.join("model.json"), &m).unwrap();
    let srv = Server::start(&["--model", s(&m)]);
    let body = std::fs::read(&f.customers).unwrap();
    let score = || {
        let r = srv.req(
            "POST",
            "/v1/predict",
            &[("Content-Type", "text/csv")],
            &body,
        );
        assert_eq!(r.status, 200);
        r.text()
    };
    let version = || srv.req("GET", "/v1/model", &[], b"").json()["model_version"].clone();
    let v4 = version();
    let by4 = score();

    // A broken file: refused with one log line, the old model keeps scoring.
    replace_atomically(
        b"{\"format\": \"segmenter-model\", \"version\": 1, \"k\": ",
        &m,
    );
    wait_for("the refusal", || {
        srv.stderr
            .lock()
            .unwrap()
            .contains("refused the changed model")
    });
    let log = srv.stderr.lock().unwrap().clone();
    assert_eq!(
        log.lines().filter(|l| l.contains("refused")).count(),
        1,
        "{log}"
    );
    assert!(
        log.contains(&format!("keeping version {}", v4.as_str().unwrap())),
        "{log}"
    );
    assert_eq!(version(), v4);
    assert_eq!(score(), by4);

    // A good file: every later response is the new model's.
    replace_atomically(
        &std::fs::read(f.customers_k3.join("model.json")).unwrap(),
        &m,
    );
    wait_for("the reload", || version() != v4);
    let m3 = srv.req("GET", "/v1/model", &[], b"").json();
    assert_eq!(m3["k"], json!(3));
    let by3 = score();
    let (_, want) = {
        let dir = tempfile::tempdir().unwrap();
        let o = dir.path().join("o.csv");
        let x = segmenter(&[
            "predict",
            &model(&f.customers_k3),
            s(&f.customers),
            "-o",
            s(&o),
        ]);
        assert!(x.status.success());
        read_csv(&o)
    };
    let got: Vec<&str> = by3.lines().skip(1).collect();
    assert_eq!(got.len(), want.len());
    assert!(got
        .iter()
        .zip(&want)
        .all(|(g, w)| g.split(',').nth(1) == w.get(w.len() - 5).map(|s| s.as_str())));
    assert_ne!(by3, by4);
    let metrics = srv.req("GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("segmenter_model_reloads_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("segmenter_model_reload_failures_total 1"),
        "{metrics}"
    );
}

#[test]
fn sigterm_drains_in_flight_requests_and_exits_0() {
    let f = fixture();
    let mut srv = Server::start(&["--model", &model(&f.customers_out)]);
    let body = std::fs::read(&f.customers).unwrap();
    use std::io::Write;
    // A request whose body is half sent when SIGTERM arrives.
    let mut st = std::net::TcpStream::connect(srv.addr).unwrap();
    write!(st, "POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nConnection: close\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
    let half = body.len() / 2;
    st.write_all(&body[..half]).unwrap();
    st.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    srv.term();
    std::thread::sleep(Duration::from_millis(300));
    // New connections are refused once it stops accepting.
    assert!(std::net::TcpStream::connect(srv.addr).is_err());
    st.write_all(&body[half..]).unwrap();
    let r = common::http::read_response(&mut st);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.text().lines().count(),
        1 + predicted(&f.customers_out, &f.customers).len()
    );
    assert_eq!(srv.wait(10), Some(0));
}

#[test]
fn a_panicking_handler_answers_500_and_the_server_goes_on() {
    let f = fixture();
    let state = std::sync::Arc::new(
        segmenter::serve::AppState::new(
            f.customers_out.join("model.json"),
            None,
            None,
            segmenter::serve::Limits {
                max_body: 1 << 20,
                max_rows: 10,
                timeout: Duration::from_secs(5),
            },
        )
        .unwrap(),
    );
    // The real layer stack around the real routes, plus one route that panics.
    let app = segmenter::serve::layered(
        segmenter::serve::routes(state.clone()).route(
            "/boom",
            axum::routing::get(|| async {
                let v: Vec<u8> = std::hint::black_box(Vec::new());
                v[1].to_string() // index out of bounds: a panic
            }),
        ),
        state,
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(segmenter::serve::serve_on(listener, app, async {
        let _ = stopped.await;
    }));
    let r = request(addr, "GET", "/boom", &[], b"");
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json(),
        json!({"error": "internal error: the request could not be handled"})
    );
    assert_eq!(request(addr, "GET", "/healthz", &[], b"").status, 200);
    let m = request(addr, "GET", "/metrics", &[], b"").text();
    assert!(
        m.contains("segmenter_errors_total{kind=\"panic\"} 1"),
        "{m}"
    );
    stop.send(()).unwrap();
    rt.block_on(server).unwrap();
}

#[test]
fn start_up_mistakes_are_one_line_and_exit_2() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    // --run without summary.json (a run directory of an older segmenter).
    let o = segmenter(&[
        "serve",
        "--model",
        &model(&f.customers_out),
        "--run",
        s(dir.path()),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        e.contains("summary.json: no summary.json in the run directory"),
        "{e}"
    );
    // A model file that is not one.
    let bad = dir.path().join("model.json");
    std::fs::write(&bad, "{}").unwrap();
    let o = segmenter(&["serve", "--model", s(&bad)]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(e.contains("no \"format\": \"segmenter-model\""), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    // A timeout that is not a duration.
    let o = segmenter(&[
        "serve",
        "--model",
        &model(&f.customers_out),
        "--timeout",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        e.contains("--timeout 0 must be a positive number of seconds"),
        "{e}"
    );
}
