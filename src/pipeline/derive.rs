//! Derived customer tables: a transaction or event log in, one row per customer out, as the
//! CSV text written for the user and as a [`Table`] the segmentation takes directly.

use super::params::SegmenterParams;
use crate::data::LogSpec;
use crate::error::{Error, Param, Result};
use crate::features::events::{build_events, build_events_with, EventColumns, EventFlags};
use crate::features::rfm::{build_rfm, RfmColumns, RfmFlags};
use crate::features::TimeOptions;
use crate::io::{dates, write_atomic_bytes, AtomicFile, Source, SourceOptions, Table};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Which table to derive.
#[derive(Clone, Debug)]
pub enum FeatureKind {
    /// RFM from transaction lines.
    Rfm(RfmFlags),
    /// Behaviour from clickstream events.
    Events(EventFlags),
}

/// How to derive a customer table from a log.
#[derive(Clone, Debug)]
pub struct Derivation {
    /// What to derive, with its column choices.
    pub kind: FeatureKind,
    /// SQLite table or query.
    pub source: SourceOptions,
    /// As-of date and date order.
    pub time: TimeOptions,
    /// Aggregating threads for events (default: every core, at most 4); results do not depend
    /// on it.
    pub threads: Option<usize>,
}

/// What a derivation did.
#[derive(Clone, Debug, Serialize)]
pub struct FeaturesSummary {
    /// Input lines (transaction lines or events) read.
    pub lines_read: u64,
    /// Lines that passed validation.
    pub lines_used: u64,
    /// Rejects per reason (row-level and customer-level).
    pub rejects: Vec<(String, u64)>,
    /// Lines rejected (`lines_read = lines_used + lines_rejected`).
    pub lines_rejected: u64,
    /// Customers left out whole (every line a cancellation), per reason.
    pub customers_rejected: Vec<(String, u64)>,
    /// Customers written.
    pub customers: usize,
    /// The as-of date used.
    pub as_of: String,
    /// The column mapping used.
    pub columns: String,
    /// The table written.
    pub output: PathBuf,
    /// The rejects file written.
    pub rejects_file: PathBuf,
}

/// A derived table: its CSV text (one row per customer) and what the derivation did.
pub struct Derived {
    /// The table as CSV, header first.
    pub csv: Vec<u8>,
    /// Counts and choices (the paths are left empty until the table is written).
    pub summary: FeaturesSummary,
}

impl Derivation {
    /// Reads the log `input` once and derives the table, streaming rejected lines to
    /// `rejects` as `row,customer_id,reason,detail`.
    pub fn derive<W: Write>(&self, input: &Path, rejects: W) -> Result<Derived> {
        let src = Source::open(input, &self.source)?;
        let write_err =
            |e: std::io::Error| Error::Data(format!("cannot write the rejects file: {e}"));
        let (lines_read, lines_used, customers, as_of, columns, counts, examples, csv) = match &self
            .kind
        {
            FeatureKind::Rfm(flags) => {
                let cols = RfmColumns::resolve(&src, flags)?;
                let columns = cols.describe();
                let (t, log) = build_rfm(&src, cols, self.time.clone(), rejects)?;
                let counts = log.counts().to_vec();
                let examples = log.examples().to_vec();
                log.into_inner().map_err(write_err)?;
                let csv = t.to_csv();
                (
                    t.lines,
                    t.lines_used,
                    t.rows.len(),
                    t.as_of,
                    columns,
                    counts,
                    examples,
                    csv,
                )
            }
            FeatureKind::Events(flags) => {
                let cols = EventColumns::resolve(&src, flags)?;
                let columns = cols.describe();
                let (t, log) = match self.threads {
                    Some(n) => build_events_with(&src, cols, self.time.clone(), rejects, n.max(1))?,
                    None => build_events(&src, cols, self.time.clone(), rejects)?,
                };
                let counts = log.counts().to_vec();
                let examples = log.examples().to_vec();
                log.into_inner().map_err(write_err)?;
                let csv = t.to_csv();
                (
                    t.lines,
                    t.lines_used,
                    t.rows.len(),
                    t.as_of,
                    columns,
                    counts,
                    examples,
                    csv,
                )
            }
        };
        if lines_read == 0 {
            return Err(Error::NoRows {
                path: input.to_path_buf(),
            });
        }
        let customer_level = |r: &str| r == crate::features::rfm::reason::NO_PURCHASE;
        if lines_used == 0 {
            // Nothing usable is the input's fault, not an empty result: say what went wrong.
            let (reason, n) = counts
                .iter()
                .filter(|(r, _)| !customer_level(r))
                .max_by_key(|(_, n)| *n)
                .copied()
                .unwrap_or(("rejected", lines_read));
            let example = examples
                .iter()
                .find(|(r, _)| *r == reason)
                .map(|(_, d)| format!(", e.g. {d}"))
                .unwrap_or_default();
            let hint = if reason == crate::features::rfm::reason::BAD_DATE {
                format!(
                    "; the dates accepted are ISO 8601 (2011-12-09, 2011-12-09T08:26:00), \
                     M/D/YYYY (D/M/YYYY with {}), D.M.YYYY, YYYYMMDD, 18-Apr-2021 and \
                     Apr 18, 2021; {} FMT reads any other form",
                    Param::DayFirst,
                    Param::DateFormat
                )
            } else {
                String::new()
            };
            return Err(Error::Data(format!(
                "{}: none of the {lines_read} lines could be used: {reason} on {n}{example}{hint}",
                input.display()
            )));
        }
        let lines_rejected = counts
            .iter()
            .filter(|(r, _)| !customer_level(r))
            .map(|(_, n)| n)
            .sum();
        Ok(Derived {
            csv,
            summary: FeaturesSummary {
                lines_read,
                lines_used,
                customers_rejected: counts
                    .iter()
                    .filter(|(r, _)| customer_level(r))
                    .map(|(r, n)| (r.to_string(), *n))
                    .collect(),
                rejects: counts
                    .into_iter()
                    .map(|(r, n)| (r.to_string(), n))
                    .collect(),
                lines_rejected,
                customers,
                as_of: dates::format_date(as_of),
                columns,
                output: PathBuf::new(),
                rejects_file: PathBuf::new(),
            },
        })
    }

    /// Derives the table from `input` into `output` (CSV) with its rejects at `rejects`
    /// (default: beside it, `NAME.rejects.csv`), both atomically; returns the summary and the
    /// table, parsed from the text written.
    pub fn write(
        &self,
        input: &Path,
        output: &Path,
        rejects: Option<&Path>,
    ) -> Result<(FeaturesSummary, Table)> {
        let rejects_file = rejects.map_or_else(|| default_rejects_path(output), Path::to_path_buf);
        let mut rej = AtomicFile::create(&rejects_file)?;
        let d = self.derive(input, rej.writer())?;
        write_atomic_bytes(output, |out| out.extend_from_slice(&d.csv))?;
        rej.commit()?;
        let mut summary = d.summary;
        summary.output = output.to_path_buf();
        summary.rejects_file = rejects_file;
        let table = Table::from_csv_bytes(output, d.csv)?;
        Ok((summary, table))
    }
}

/// `customers.csv` → `customers.rejects.csv`, in the same directory.
pub fn default_rejects_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "features".into());
    output.with_file_name(format!("{stem}.rejects.csv"))
}

/// Columns of the RFM table that describe a customer but are not clustered on: the
/// quintile scores and the rule-based segment restate recency, frequency and monetary.
pub const RFM_NOT_CLUSTERED: [&str; 4] = ["r_score", "f_score", "m_score", "rfm_segment"];

impl SegmenterParams {
    /// These parameters adapted to a derived table: keyed by `customer_id`, the RFM scores and
    /// segment kept out of the clustering, and log1p on the skewed columns unless a log
    /// setting was given.
    pub fn for_derived(mut self, kind: &FeatureKind) -> Self {
        if !self.overrides.id.iter().any(|c| c == "customer_id") {
            self.overrides.id.push("customer_id".into());
        }
        if matches!(kind, FeatureKind::Rfm(_)) {
            for c in RFM_NOT_CLUSTERED {
                if !self.overrides.drop.iter().any(|d| d == c) {
                    self.overrides.drop.push(c.into());
                }
            }
        }
        if self.log == LogSpec::Off {
            self.log = LogSpec::Auto;
        }
        self
    }
}

/// Derives the customer table of the log `input` into `out/customers.csv` (rejects beside it)
/// and returns it with the summary, ready to segment.
pub fn derive_for_run(
    d: &Derivation,
    input: &Path,
    out: &Path,
) -> Result<(FeaturesSummary, Table)> {
    let output = out.join("customers.csv");
    let (summary, table) = d.write(input, &output, Some(&out.join("customers.rejects.csv")))?;
    if summary.customers < 2 {
        return Err(Error::Data(format!(
            "{}: only {} customer(s) derived from the log; segmenting needs at least 2 (see {})",
            input.display(),
            summary.customers,
            summary.rejects_file.display()
        )));
    }
    Ok((summary, table))
}
