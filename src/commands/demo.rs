//! `segmenter demo`: generates the built-in 1M-row customer table and runs the whole workflow
//! on it, so a new user sees every output in one command.

use super::run::{run_workflow, RunCommand, RunSummary};
use crate::error::Result;
use crate::synth::{generate_customers, CustomersSpec};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What the demo did.
pub struct DemoSummary {
    /// The generated table.
    pub input: PathBuf,
    /// Seconds spent generating it.
    pub generate_seconds: f64,
    /// The run's summary.
    pub run: RunSummary,
}

/// Generates `rows` customers into `dir/customers.csv` and runs the workflow into
/// `dir/segmenter-out`.
pub fn run_demo(dir: &Path, rows: u64, seed: u64, progress: bool) -> Result<DemoSummary> {
    let input = dir.join("customers.csv");
    let t = Instant::now();
    generate_customers(&CustomersSpec { rows, seed }, &input, None)?;
    let generate_seconds = t.elapsed().as_secs_f64();
    let mut cmd = RunCommand::new(input.clone());
    cmd.out = dir.join("segmenter-out");
    cmd.seed = seed;
    cmd.progress = progress;
    let run = run_workflow(&cmd)?;
    Ok(DemoSummary {
        input,
        generate_seconds,
        run,
    })
}

impl DemoSummary {
    /// Human-readable summary, ending with where the report is.
    pub fn to_text(&self) -> String {
        format!(
            "generated {} customers in {} ({:.2} s)\n\n{}\nopen the report: {}\n",
            self.run.rows_in,
            self.input.display(),
            self.generate_seconds,
            self.run.to_text(),
            self.run.out.join("report.html").display()
        )
    }
}
