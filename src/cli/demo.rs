//! `segmenter demo`: generates the built-in 1M-row customer table and runs the whole workflow
//! on it, so a new user sees every output in one command.

use super::progress::Spinners;
use super::text;
use segmenter::io::read_table;
use segmenter::pipeline::Segmenter;
use segmenter::report::{prepare_out_dir, write_dir_observed, RunSummary};
use segmenter::synth::{generate_customers, CustomersSpec};
use segmenter::Result;
use std::path::Path;
use std::time::Instant;

/// Generates `rows` customers into `dir/customers.csv`, segments them into
/// `dir/segmenter-out`, and returns the text to print, ending with where the report is.
pub fn run_demo(dir: &Path, rows: u64, seed: u64, progress: bool) -> Result<String> {
    let input = dir.join("customers.csv");
    let t = Instant::now();
    generate_customers(&CustomersSpec { rows, seed }, &input, None)?;
    let generate_seconds = t.elapsed().as_secs_f64();
    let out = dir.join("segmenter-out");
    let start = Instant::now();
    prepare_out_dir(&out)?;
    let mut spinners = Spinners::new(progress);
    let table = read_table(&input)?;
    let seg = Segmenter::params()
        .seed(seed)
        .check()?
        .fit(&table, &mut spinners)?;
    let times = write_dir_observed(&seg, &table, &out, &mut spinners)?;
    let run = RunSummary::new(&seg, &out, times, start.elapsed().as_secs_f64());
    Ok(format!(
        "generated {} customers in {} ({:.2} s)\n\n{}\nopen the report: {}\n",
        run.rows_in,
        input.display(),
        generate_seconds,
        text::run(&run),
        run.out.join("report.html").display()
    ))
}
