//! `segmenter features rfm|events`: a transaction or event log in, one row per customer out,
//! with a rejects file beside it.

use crate::error::Result;
use crate::features::events::{build_events, build_events_with, EventColumns, EventFlags};
use crate::features::rfm::{build_rfm, RfmColumns, RfmFlags};
use crate::features::TimeOptions;
use crate::io::dates;
use crate::io::AtomicFile;
use crate::io::{Source, SourceOptions};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Which table to derive.
#[derive(Clone, Debug)]
pub enum FeatureKind {
    /// RFM from transaction lines.
    Rfm(RfmFlags),
    /// Behaviour from clickstream events.
    Events(EventFlags),
}

/// A validated `features` invocation.
#[derive(Clone, Debug)]
pub struct FeaturesCommand {
    /// The log: CSV (`.gz` too), SQLite or Parquet.
    pub input: PathBuf,
    /// SQLite table or query.
    pub source: SourceOptions,
    /// The per-customer table to write.
    pub output: PathBuf,
    /// The rejects file (default: beside the output, `NAME.rejects.csv`).
    pub rejects: Option<PathBuf>,
    /// As-of date and date order.
    pub time: TimeOptions,
    /// What to derive, with its column flags.
    pub kind: FeatureKind,
    /// Aggregating threads for events (default: every core, at most 4); results do not
    /// depend on it.
    pub threads: Option<usize>,
}

/// What a `features` run did.
#[derive(Clone, Debug, Serialize)]
pub struct FeaturesSummary {
    /// Input lines (transaction lines or events) read.
    pub lines_read: u64,
    /// Lines that passed validation.
    pub lines_used: u64,
    /// Rejects per reason (row-level and customer-level).
    pub rejects: Vec<(String, u64)>,
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

impl FeaturesSummary {
    /// Human-readable summary lines.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "read {} lines ({}); {} used; as of {}\nwrote {} customers to {}\n",
            self.lines_read,
            self.columns,
            self.lines_used,
            self.as_of,
            self.customers,
            self.output.display()
        );
        let total: u64 = self.rejects.iter().map(|(_, n)| n).sum();
        s += &format!("rejected {total} (see {})", self.rejects_file.display());
        for (i, (r, n)) in self.rejects.iter().enumerate() {
            s += &format!("{}{r}: {n}", if i == 0 { ": " } else { ", " });
        }
        s.push('\n');
        if self.rejects.iter().any(|(r, _)| r == "unparseable date") {
            s += "note: accepted dates are ISO 8601 (2011-12-09, 2011-12-09T08:26:00, +01:00/Z), \
                  'YYYY-MM-DD HH:MM:SS UTC' and M/D/YYYY H:MM; pass --dayfirst for D/M/YYYY\n";
        }
        s
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

/// Runs the command: reads the log once, writes the table and the rejects atomically.
pub fn run_features(cmd: &FeaturesCommand) -> Result<FeaturesSummary> {
    let src = Source::open(&cmd.input, &cmd.source)?;
    let rejects_file = cmd
        .rejects
        .clone()
        .unwrap_or_else(|| default_rejects_path(&cmd.output));
    let mut rej = AtomicFile::create(&rejects_file)?;
    let (lines_read, lines_used, customers, as_of, columns, counts) = match &cmd.kind {
        FeatureKind::Rfm(flags) => {
            let cols = RfmColumns::resolve(&src, flags)?;
            let columns = cols.describe();
            let (t, log) = build_rfm(&src, cols, cmd.time, rej.writer())?;
            if t.lines == 0 {
                return Err(crate::Error::NoRows {
                    path: cmd.input.clone(),
                });
            }
            let counts = log.counts().to_vec();
            log.into_inner()
                .map_err(|e| crate::Error::write(&rejects_file, e))?;
            t.write_csv(&cmd.output)?;
            (
                t.lines,
                t.lines_used,
                t.rows.len(),
                t.as_of,
                columns,
                counts,
            )
        }
        FeatureKind::Events(flags) => {
            let cols = EventColumns::resolve(&src, flags)?;
            let columns = cols.describe();
            let (t, log) = match cmd.threads {
                Some(n) => build_events_with(&src, cols, cmd.time, rej.writer(), n.max(1))?,
                None => build_events(&src, cols, cmd.time, rej.writer())?,
            };
            if t.lines == 0 {
                return Err(crate::Error::NoRows {
                    path: cmd.input.clone(),
                });
            }
            let counts = log.counts().to_vec();
            log.into_inner()
                .map_err(|e| crate::Error::write(&rejects_file, e))?;
            t.write_csv(&cmd.output)?;
            (
                t.lines,
                t.lines_used,
                t.rows.len(),
                t.as_of,
                columns,
                counts,
            )
        }
    };
    rej.commit()?;
    Ok(FeaturesSummary {
        lines_read,
        lines_used,
        rejects: counts
            .into_iter()
            .map(|(r, n)| (r.to_string(), n))
            .collect(),
        customers,
        as_of: dates::format_date(as_of),
        columns,
        output: cmd.output.clone(),
        rejects_file,
    })
}

/// Columns of the RFM table that describe a customer but are not clustered on: the
/// quintile scores and the rule-based segment restate recency, frequency and monetary.
pub const RFM_NOT_CLUSTERED: [&str; 4] = ["r_score", "f_score", "m_score", "rfm_segment"];

/// `segmenter run FILE --from transactions|events`: derives the per-customer table into
/// `OUT/customers.csv` (rejects beside it) and points the run at it, keyed by `customer_id`,
/// with log1p on the skewed columns unless `--log` says otherwise.
pub fn prepare_run_from(
    kind: &FeatureKind,
    source: SourceOptions,
    time: TimeOptions,
    run: &mut super::RunCommand,
) -> Result<FeaturesSummary> {
    super::run::prepare_out_dir(&run.out)?;
    let output = run.out.join("customers.csv");
    let summary = run_features(&FeaturesCommand {
        input: run.input.clone(),
        source,
        output: output.clone(),
        rejects: Some(run.out.join("customers.rejects.csv")),
        time,
        kind: kind.clone(),
        threads: None,
    })?;
    if summary.customers < 2 {
        return Err(crate::Error::Data(format!(
            "{}: only {} customer(s) derived from the log; segmenting needs at least 2 (see {})",
            run.input.display(),
            summary.customers,
            summary.rejects_file.display()
        )));
    }
    run.input = output;
    if !run.overrides.id.iter().any(|c| c == "customer_id") {
        run.overrides.id.push("customer_id".into());
    }
    if matches!(kind, FeatureKind::Rfm(_)) {
        for c in RFM_NOT_CLUSTERED {
            if !run.overrides.drop.iter().any(|d| d == c) {
                run.overrides.drop.push(c.into());
            }
        }
    }
    if run.log == crate::data::LogSpec::Off {
        run.log = crate::data::LogSpec::Auto;
    }
    Ok(summary)
}
