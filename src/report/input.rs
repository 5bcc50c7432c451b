//! Everything a report shows, gathered by the workflow into one value, plus helpers that build
//! the sampled parts (scatter, histogram values) deterministically.

pub use crate::analysis::sample::{feature_sample, scatter_sample, FeatureSample};
use crate::analysis::{KChoice, SegmentProfile};
pub use crate::pipeline::CompareRow;
use ndarray::Array2;

pub use crate::analysis::sample::{HISTOGRAM_MAX, SCATTER_MAX};

/// One input column as inferred and used.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ColumnInfo {
    /// Column name as in the header.
    pub name: String,
    /// Inferred (or overridden) kind: numeric, categorical, boolean, date, identifier, text.
    pub kind: String,
    /// Empty or missing values.
    pub missing: u64,
    /// Distinct values (possibly a lower bound, see `note`).
    pub distinct: u64,
    /// Whether the column (or its encoding) is a clustering feature.
    pub used_for_clustering: bool,
    /// Why it is or is not used, or how it was transformed.
    pub note: String,
}

/// The contents of a report. Fields left at their defaults are left out of the report.
#[derive(Clone, Debug, Default)]
pub struct ReportInput {
    /// Report title.
    pub title: String,
    /// Input file name, as given.
    pub input_file: String,
    /// Data rows read.
    pub rows_in: u64,
    /// Rows written to segments.csv.
    pub rows_segmented: u64,
    /// Rows written to rejects.csv.
    pub rows_rejected: u64,
    /// (reason, rows) of the rejected rows.
    pub reject_reasons: Vec<(String, u64)>,
    /// The inferred schema, one entry per input column.
    pub columns: Vec<ColumnInfo>,
    /// Cleaning, encoding and scaling steps, one sentence each.
    pub notes: Vec<String>,
    /// Names of the clustering features, after encoding.
    pub features: Vec<String>,
    /// How k was chosen (None when k was given).
    pub k_choice: Option<KChoice>,
    /// Rows the k sweep was fitted on, when it used a sample rather than all rows.
    pub sweep_sample: Option<u64>,
    /// Rows the sampled silhouette was computed on.
    pub silhouette_sample: u64,
    /// The number of segments of the final model.
    pub k: usize,
    /// Inertia of the final model (all rows).
    pub inertia: f64,
    /// Sampled silhouette: of the sweep's fit of k when k was chosen (the final fit starts there), else of the final model.
    pub silhouette: f64,
    /// Simplified silhouette of the final model (all rows).
    pub simplified_silhouette: f64,
    /// Variance along each principal component.
    pub explained_variance: Vec<f64>,
    /// Share of variance along each principal component.
    pub explained_variance_ratio: Vec<f64>,
    /// (pc1, pc2, segment) of a deterministic sample of rows (see `scatter_sample`).
    pub pca_points: Vec<(f32, f32, u32)>,
    /// Original-unit values for histograms (see `feature_sample`).
    pub histograms: FeatureSample,
    /// (names, correlation matrix) of the numeric features (see `analysis::correlation`).
    pub correlation: Option<(Vec<String>, Array2<f64>)>,
    /// One profile per segment.
    pub profiles: Vec<SegmentProfile>,
    /// (stage, seconds); left out of the report when empty.
    pub timings: Vec<(String, f64)>,
    /// Backend name (cpu, gpu).
    pub backend: String,
    /// Adapter or CPU name.
    pub adapter: String,
    /// Random seed of the run.
    pub seed: u64,
    /// segmenter version (e.g. env!("CARGO_PKG_VERSION")).
    pub version: String,
    /// Plot group (in `pca_points` and `histograms`) that holds DBSCAN's noise rows, shown as
    /// segment -1.
    pub noise_slot: Option<u32>,
    /// Algorithm that made the segments; the report's algorithm section is left out when empty.
    pub algorithm: String,
    /// How the algorithm ran, one sentence each.
    pub algorithm_notes: Vec<String>,
    /// `--compare` table, one row per algorithm.
    pub comparison: Vec<CompareRow>,
    /// Hierarchical: the Ward tree that was cut, for the dendrogram plot.
    pub dendrogram: Option<crate::cluster::ward::Dendrogram>,
    /// DBSCAN with a suggested eps: (sorted k-distances, index of the knee, k, eps used).
    pub k_distance: Option<(Vec<f64>, usize, usize, f64)>,
    /// Whether `silhouette` is the sweep's score of the chosen k (k-means with `--k auto`).
    pub silhouette_from_sweep: bool,
    /// Mean best-match Jaccard of every segment over bootstrap refits; left out when empty.
    pub segment_stability: Vec<f64>,
    /// Each segment's share of a monetary column's total; left out when None.
    pub value_share: Option<crate::analysis::ValueShare>,
}
