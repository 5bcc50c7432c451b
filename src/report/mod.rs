//! Writing results: atomic files, label tables, and the report (Markdown, HTML, CSV, plots).

pub mod atomic;
pub mod canvas;
pub mod dendrogram;
pub mod doc;
pub mod html;
pub mod input;
pub mod markdown;
pub mod plots;
pub mod profile_csv;
pub mod write;

pub use crate::analysis::correlation;
pub use atomic::{write_atomic, write_labels, AtomicFile};
pub use input::{
    feature_sample, scatter_sample, ColumnInfo, FeatureSample, ReportInput, HISTOGRAM_MAX,
    SCATTER_MAX,
};
pub use write::{write_report, ReportFiles};
