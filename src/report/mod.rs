//! Writing results: the labelled tables, the model, the report (Markdown, HTML, CSV, plots)
//! and the run's summary; [`write_dir`] writes everything a segmentation produces.

pub mod canvas;
pub mod dashboard;
pub mod dendrogram;
pub mod doc;
pub mod html;
pub mod input;
pub mod manifest;
pub mod markdown;
#[cfg(feature = "parquet")]
pub mod parquet_out;
pub mod passes;
pub mod plots;
pub mod profile_csv;
pub mod run;
pub mod summary;
pub mod tables;
pub mod write;

pub use crate::analysis::correlation;
pub use dashboard::{dashboard_summary, write_dashboard_summary, SUMMARY_JSON};
pub use input::{
    feature_sample, scatter_sample, ColumnInfo, FeatureSample, ReportInput, HISTOGRAM_MAX,
    SCATTER_MAX,
};
pub use run::{
    prepare_out_dir, report_input, write_dir, write_dir_as, write_dir_observed, OutputFormat,
};
pub use summary::RunSummary;
pub use tables::{rejects_path, write_rejects, write_scored, write_segments, Scored};
pub use write::{render_html, write_report, ReportFiles};
