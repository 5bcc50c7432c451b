//! Load generator for `segmenter serve`, against the loopback interface only, bounded in
//! requests and time: keep-alive HTTP/1.1 connections on one thread (tokio), each sending
//! its next request when the last response is in. Prints requests/s, rows/s, latency
//! percentiles, failures, and the server's memory (RSS, from /proc) at the start and end.
//!
//! ```sh
//! cargo run --release --example serve_load -- --addr 127.0.0.1:8080 --mode json \
//!     --file customers.csv --connections 64 --seconds 10 [--pid PID] \
//!     [--swap model.json --swap-with a.json,b.json --swap-every 2]
//! ```
//! `--mode json` sends one record per request (rows of --file in turn); `--mode csv` sends
//! --batch rows per request as text/csv. With --swap, the model file is replaced atomically
//! every --swap-every seconds by the next of --swap-with, and every response sent more than
//! 0.5 s after a swap must carry the new model's version (`x-segmenter-model`).

use segmenter::io::hash::hash_bytes;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Opts {
    addr: SocketAddr,
    mode: String,
    file: PathBuf,
    connections: usize,
    seconds: f64,
    max_requests: u64,
    batch: usize,
    pid: Option<u32>,
    swap: Option<PathBuf>,
    swap_with: Vec<PathBuf>,
    swap_every: f64,
}

fn opts() -> Result<Opts, String> {
    let mut o = Opts {
        addr: "127.0.0.1:8080".parse().map_err(|e| format!("{e}"))?,
        mode: "json".into(),
        file: PathBuf::new(),
        connections: 64,
        seconds: 10.0,
        max_requests: 10_000_000,
        batch: 10_000,
        pid: None,
        swap: None,
        swap_with: Vec::new(),
        swap_every: 2.0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut v = || it.next().cloned().ok_or(format!("{a} needs a value"));
        let bad = |e: &dyn std::fmt::Display| format!("{a}: {e}");
        match a.as_str() {
            "--addr" => o.addr = v()?.parse().map_err(|e| bad(&e))?,
            "--mode" => o.mode = v()?,
            "--file" => o.file = v()?.into(),
            "--connections" => o.connections = v()?.parse().map_err(|e| bad(&e))?,
            "--seconds" => o.seconds = v()?.parse().map_err(|e| bad(&e))?,
            "--max-requests" => o.max_requests = v()?.parse().map_err(|e| bad(&e))?,
            "--batch" => o.batch = v()?.parse().map_err(|e| bad(&e))?,
            "--pid" => o.pid = Some(v()?.parse().map_err(|e| bad(&e))?),
            "--swap" => o.swap = Some(v()?.into()),
            "--swap-with" => o.swap_with = v()?.split(',').map(PathBuf::from).collect(),
            "--swap-every" => o.swap_every = v()?.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if !o.addr.ip().is_loopback() {
        return Err("the load test runs against the loopback interface only".into());
    }
    if o.swap.is_some() && o.swap_with.len() < 2 {
        return Err("--swap needs --swap-with A,B".into());
    }
    Ok(o)
}

/// Resident memory of a process, KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The request bodies to cycle through.
fn bodies(o: &Opts) -> Result<Vec<Vec<u8>>, String> {
    let text =
        std::fs::read_to_string(&o.file).map_err(|e| format!("{}: {e}", o.file.display()))?;
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(String::from)
        .collect();
    let rows: Vec<csv::StringRecord> = rdr.records().filter_map(|r| r.ok()).collect();
    if rows.is_empty() {
        return Err("no rows in --file".into());
    }
    let mut out = Vec::new();
    if o.mode == "csv" {
        // Batches of --batch rows (repeating the file when it is shorter).
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&header).map_err(|e| e.to_string())?;
        let head = w.into_inner().map_err(|e| e.to_string())?;
        for b in 0..4 {
            let mut w = csv::Writer::from_writer(head.clone());
            for i in 0..o.batch {
                w.write_record(&rows[(b * o.batch + i) % rows.len()])
                    .map_err(|e| e.to_string())?;
            }
            out.push(w.into_inner().map_err(|e| e.to_string())?);
        }
    } else {
        // One record per request; numbers as JSON numbers.
        for r in rows.iter().take(5000) {
            let mut m = serde_json::Map::new();
            for (k, v) in header.iter().zip(r.iter()) {
                let v = match v.parse::<f64>() {
                    Ok(x) if x.is_finite() => serde_json::json!(x),
                    _ if v.is_empty() => serde_json::Value::Null,
                    _ => serde_json::Value::String(v.to_string()),
                };
                m.insert(k.clone(), v);
            }
            out.push(serde_json::to_vec(&[m]).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    ok: u64,
    failed: u64,
    failures: Vec<String>,
    /// (send time since start, model version) of every response.
    versions: Vec<(f64, u64)>,
}

/// Reads one response; returns (status, model version header, body length).
async fn read_response(
    s: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<(u16, Option<u64>)> {
    let mut filled = 0usize;
    loop {
        if let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap_or("");
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let mut len = 0usize;
            let mut version = None;
            for l in head.split("\r\n").skip(1) {
                if let Some((k, v)) = l.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        len = v.trim().parse().unwrap_or(0);
                    } else if k.eq_ignore_ascii_case("x-segmenter-model") {
                        version = u64::from_str_radix(v.trim(), 16).ok();
                    }
                }
            }
            let total = end + 4 + len;
            while filled < total {
                if buf.len() < total {
                    buf.resize(total, 0);
                }
                let n = s.read(&mut buf[filled..]).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                filled += n;
            }
            return Ok((status, version));
        }
        if filled == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let n = s.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
    }
}

async fn connection(
    o: Arc<Opts>,
    bodies: Arc<Vec<Vec<u8>>>,
    start: Instant,
    deadline: Instant,
    sent: Arc<AtomicU64>,
    first: usize,
    tally: Arc<Mutex<Tally>>,
) {
    let mut t = Tally::default();
    let ct = if o.mode == "csv" {
        "text/csv"
    } else {
        "application/json"
    };
    let mut s = match tokio::net::TcpStream::connect(o.addr).await {
        Ok(s) => s,
        Err(e) => {
            t.failed += 1;
            t.failures.push(format!("connect: {e}"));
            tally.lock().unwrap().failed += 1;
            return;
        }
    };
    let _ = s.set_nodelay(true);
    let mut buf = vec![0u8; 64 * 1024];
    let mut i = first;
    while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < o.max_requests {
        let body = &bodies[i % bodies.len()];
        i += 1;
        let mut req = format!(
            "POST /v1/predict HTTP/1.1\r\nHost: {}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            o.addr,
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        let t0 = Instant::now();
        let r = async {
            s.write_all(&req).await?;
            read_response(&mut s, &mut buf).await
        }
        .await;
        let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
        match r {
            Ok((200, v)) => {
                t.ok += 1;
                t.latencies_us.push(us);
                if let Some(v) = v {
                    t.versions.push(((t0 - start).as_secs_f64(), v));
                }
            }
            Ok((status, _)) => {
                t.failed += 1;
                if t.failures.len() < 5 {
                    t.failures.push(format!("status {status}"));
                }
            }
            Err(e) => {
                t.failed += 1;
                t.failures.push(format!("connection: {e}"));
                break;
            }
        }
    }
    let mut all = tally.lock().unwrap();
    all.latencies_us.extend(t.latencies_us);
    all.ok += t.ok;
    all.failed += t.failed;
    all.failures.extend(t.failures);
    all.versions.extend(t.versions);
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let o = match opts() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("serve_load: {e}");
            std::process::exit(2);
        }
    };
    let bodies = match bodies(&o) {
        Ok(b) => Arc::new(b),
        Err(e) => {
            eprintln!("serve_load: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio: {e}"));
    let rss0 = o.pid.and_then(rss_kib);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(o.seconds);
    let sent = Arc::new(AtomicU64::new(0));
    // Model swaps on their own thread: (time since start, version now in the file).
    let swaps = Arc::new(Mutex::new(Vec::<(f64, u64)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = o.swap.clone().map(|target| {
        let files: Vec<Vec<u8>> = o
            .swap_with
            .iter()
            .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .collect();
        let (swaps, stop, every) = (swaps.clone(), stop.clone(), o.swap_every);
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_secs_f64(every));
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let bytes = &files[n % files.len()];
                n += 1;
                let tmp = target.with_extension("json.swap-tmp");
                std::fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("{e}"));
                std::fs::rename(&tmp, &target).unwrap_or_else(|e| panic!("{e}"));
                // The server hashes the file's text the same way.
                let v = hash_bytes(bytes);
                swaps
                    .lock()
                    .unwrap()
                    .push((start.elapsed().as_secs_f64(), v));
            }
        })
    });
    let mut rss_samples = Vec::new();
    rt.block_on(async {
        let tasks: Vec<_> = (0..o.connections)
            .map(|c| {
                tokio::spawn(connection(
                    o.clone(),
                    bodies.clone(),
                    start,
                    deadline,
                    sent.clone(),
                    c * 7919,
                    tally.clone(),
                ))
            })
            .collect();
        if let Some(pid) = o.pid {
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                if let Some(r) = rss_kib(pid) {
                    rss_samples.push(r);
                }
            }
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    if let Some(h) = swapper {
        let _ = h.join();
    }
    let rss1 = o.pid.and_then(rss_kib);
    let mut t = tally.lock().unwrap();
    t.latencies_us.sort_unstable();
    let rows_per_req = if o.mode == "csv" { o.batch } else { 1 };
    println!(
        "mode {} · {} connections · {:.1} s",
        o.mode, o.connections, secs
    );
    println!(
        "requests ok {} · failed {} · {:.0} req/s · {:.0} rows/s",
        t.ok,
        t.failed,
        t.ok as f64 / secs,
        (t.ok as f64 * rows_per_req as f64) / secs
    );
    println!(
        "latency ms: p50 {:.3} · p90 {:.3} · p99 {:.3} · p99.9 {:.3} · max {:.3}",
        pct(&t.latencies_us, 0.5),
        pct(&t.latencies_us, 0.9),
        pct(&t.latencies_us, 0.99),
        pct(&t.latencies_us, 0.999),
        pct(&t.latencies_us, 1.0)
    );
    for f in t.failures.iter().take(5) {
        println!("failure: {f}");
    }
    if let (Some(a), Some(b)) = (rss0, rss1) {
        // Growth after the first second (allocator pools and caches warm up) to the end.
        let warm = rss_samples.first().copied().unwrap_or(a);
        println!(
            "server RSS KiB: start {a} · after 1 s {warm} · end {b} · growth after warm-up {:+.1} %",
            100.0 * (b as f64 - warm as f64) / warm as f64
        );
    }
    let swaps = swaps.lock().unwrap();
    if !swaps.is_empty() {
        // A response whose request was sent 0.5 s or more after a swap (two watch periods)
        // and before the next one must come from the swapped-in model.
        let mut late = 0u64;
        let mut checked = 0u64;
        for &(sent_at, v) in &t.versions {
            let Some(i) = swaps.iter().rposition(|&(at, _)| at <= sent_at) else {
                continue;
            };
            let (at, want) = swaps[i];
            if sent_at >= at + 0.5 {
                checked += 1;
                if v != want {
                    late += 1;
                }
            }
        }
        println!(
            "model swaps {} · responses checked {} · from an old model after 0.5 s: {}",
            swaps.len(),
            checked,
            late
        );
        if late > 0 {
            std::process::exit(1);
        }
    }
    if t.failed > 0 {
        std::process::exit(1);
    }
}
