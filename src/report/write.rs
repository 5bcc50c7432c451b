//! `write_report`: every report file of a run, each written atomically.

use super::doc;
use super::input::ReportInput;
use super::plots::render_all;
use super::profile_csv::write_profile_csv;
use super::{html, markdown};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The files a report consists of.
#[derive(Clone, Debug, Default)]
pub struct ReportFiles {
    /// `report.md`.
    pub markdown: PathBuf,
    /// `report.html`, self-contained.
    pub html: PathBuf,
    /// `profile.csv`.
    pub profile_csv: PathBuf,
    /// PNG plots under `plots/`, those the input had data for.
    pub plots: Vec<PathBuf>,
}

/// The self-contained `report.html` of `input` as text (plots inlined), written nowhere: what
/// a notebook displays.
pub fn render_html(input: &ReportInput) -> Result<String> {
    let plots = render_all(input)?;
    let names: Vec<&str> = plots.iter().map(|p| p.name).collect();
    let doc = doc::build(input, &names);
    Ok(html::render(&doc, &plots))
}

/// Writes `report.md`, `report.html`, `profile.csv` and `plots/*.png` into `dir` (created if
/// missing). Each file appears complete or not at all.
pub fn write_report(dir: &Path, input: &ReportInput) -> Result<ReportFiles> {
    let plot_dir = dir.join("plots");
    std::fs::create_dir_all(&plot_dir).map_err(|e| Error::write(&plot_dir, e))?;
    let plots = render_all(input)?;
    let mut files = ReportFiles {
        markdown: dir.join("report.md"),
        html: dir.join("report.html"),
        profile_csv: dir.join("profile.csv"),
        plots: Vec::new(),
    };
    for p in &plots {
        let path = plot_dir.join(p.name);
        write_atomic(&path, |w| w.write_all(&p.png))?;
        files.plots.push(path);
    }
    let names: Vec<&str> = plots.iter().map(|p| p.name).collect();
    let doc = doc::build(input, &names);
    let md = markdown::render(&doc);
    write_atomic(&files.markdown, |w| w.write_all(md.as_bytes()))?;
    let html = html::render(&doc, &plots);
    write_atomic(&files.html, |w| w.write_all(html.as_bytes()))?;
    write_profile_csv(&files.profile_csv, &input.profiles)?;
    Ok(files)
}
