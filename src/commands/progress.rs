//! Stage timing and the per-stage spinner shown on a terminal.

use crate::error::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::time::{Duration, Instant};

/// Seconds per stage, in the order the stages ran (serialised as a JSON object).
#[derive(Clone, Debug, Default)]
pub struct StageTimes(pub Vec<(String, f64)>);

impl Serialize for StageTimes {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl StageTimes {
    /// Sum of all stages.
    pub fn total(&self) -> f64 {
        self.0.iter().map(|(_, s)| s).sum()
    }

    /// An aligned table of stage, seconds and share of the total.
    pub fn to_text(&self) -> String {
        let total = self.total().max(1e-12);
        let mut s = format!("{:<10} {:>9} {:>6}\n", "stage", "seconds", "share");
        for (k, v) in &self.0 {
            s += &format!("{k:<10} {v:>9.3} {:>5.1}%\n", 100.0 * v / total);
        }
        s += &format!("{:<10} {:>9.3}\n", "total", self.total());
        s
    }
}

/// Runs stages one after the other, timing each and showing a spinner when asked.
pub struct Stages {
    show: bool,
    /// Seconds of every finished stage.
    pub times: StageTimes,
}

impl Stages {
    /// `show`: draw spinners on stderr (only meaningful on a terminal).
    pub fn new(show: bool) -> Self {
        Stages {
            show,
            times: StageTimes::default(),
        }
    }

    /// Runs `f` as stage `name` (`what` is the spinner's text).
    pub fn run<T>(&mut self, name: &str, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let (r, secs) = self.spin(what, f);
        self.times.0.push((name.to_string(), secs));
        r
    }

    /// Shows the spinner while `f` runs and returns its seconds, recording no stage (for work
    /// that times its own stages).
    pub fn spin<T>(&mut self, what: &str, f: impl FnOnce() -> Result<T>) -> (Result<T>, f64) {
        let bar = self.show.then(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.set_message(what.to_string());
            b.enable_steady_tick(Duration::from_millis(80));
            b
        });
        let t = Instant::now();
        let r = f();
        let secs = t.elapsed().as_secs_f64();
        if let Some(b) = bar {
            let mark = if r.is_ok() { "✓" } else { "✗" };
            b.set_style(
                ProgressStyle::with_template("{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.finish_with_message(format!("{mark} {what} ({secs:.2} s)"));
        }
        (r, secs)
    }

    /// Records a stage timed elsewhere (e.g. inside a backend job).
    pub fn record(&mut self, name: &str, secs: f64) {
        self.times.0.push((name.to_string(), secs));
    }
}

/// CPU seconds (user + system) of this process so far, from /proc (0 where unavailable): on a
/// shared machine it measures the work done even when other jobs take the wall clock.
pub fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}
