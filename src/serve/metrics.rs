//! The server's counters, written out in Prometheus' text format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

/// Counters shared by every request.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Requests by (route, status).
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// Errors by kind.
    errors: Mutex<BTreeMap<&'static str, u64>>,
    rows_scored: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
    reloads: AtomicU64,
    reload_failures: AtomicU64,
}

impl Metrics {
    /// Counts a finished request.
    pub fn request(&self, route: &'static str, status: u16, took: Duration) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route, status)).or_default() += 1;
        }
        let s = took.as_secs_f64();
        if let Some(b) = LATENCY_BUCKETS.iter().position(|&le| s <= le) {
            self.buckets[b].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ns
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Counts an error response of `kind`.
    pub fn error(&self, kind: &'static str) {
        if let Ok(mut m) = self.errors.lock() {
            *m.entry(kind).or_default() += 1;
        }
    }

    /// Counts scored rows.
    pub fn rows(&self, n: usize) {
        self.rows_scored.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts a model reload, good or refused.
    pub fn reload(&self, ok: bool) {
        if ok {
            self.reloads.fetch_add(1, Ordering::Relaxed);
        } else {
            self.reload_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Every counter in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut o = String::new();
        o.push_str("# HELP segmenter_requests_total HTTP requests by route and status.\n");
        o.push_str("# TYPE segmenter_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                let _ = writeln!(
                    o,
                    "segmenter_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        o.push_str("# HELP segmenter_rows_scored_total Rows scored by /v1/predict.\n");
        o.push_str("# TYPE segmenter_rows_scored_total counter\n");
        let _ = writeln!(
            o,
            "segmenter_rows_scored_total {}",
            self.rows_scored.load(Ordering::Relaxed)
        );
        o.push_str("# HELP segmenter_errors_total Error responses by kind.\n");
        o.push_str("# TYPE segmenter_errors_total counter\n");
        if let Ok(m) = self.errors.lock() {
            for (kind, n) in m.iter() {
                let _ = writeln!(o, "segmenter_errors_total{{kind=\"{kind}\"}} {n}");
            }
        }
        o.push_str("# HELP segmenter_request_duration_seconds Time from request to response.\n");
        o.push_str("# TYPE segmenter_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (le, b) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += b.load(Ordering::Relaxed);
            let _ = writeln!(
                o,
                "segmenter_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            o,
            "segmenter_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            o,
            "segmenter_request_duration_seconds_sum {}",
            self.latency_sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(o, "segmenter_request_duration_seconds_count {count}");
        o.push_str("# HELP segmenter_model_reloads_total Model files loaded after a change.\n");
        o.push_str("# TYPE segmenter_model_reloads_total counter\n");
        let _ = writeln!(
            o,
            "segmenter_model_reloads_total {}",
            self.reloads.load(Ordering::Relaxed)
        );
        o.push_str(
            "# HELP segmenter_model_reload_failures_total Changed model files refused (the old model stays).\n",
        );
        o.push_str("# TYPE segmenter_model_reload_failures_total counter\n");
        let _ = writeln!(
            o,
            "segmenter_model_reload_failures_total {}",
            self.reload_failures.load(Ordering::Relaxed)
        );
        o
    }
}
