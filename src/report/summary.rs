//! The summary of a run: what `segmenter run --json` prints and a front end shows.

use crate::analysis::SegmentProfile;
use crate::pipeline::{CompareRow, Segmentation, StageTimes};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The summary of a segmentation written to a directory.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// Segments.
    pub k: usize,
    /// How k was chosen.
    pub k_rule: String,
    /// Data rows in the input.
    pub rows_in: u64,
    /// Rows in segments.csv.
    pub rows_segmented: u64,
    /// Rows in rejects.csv.
    pub rows_rejected: u64,
    /// Of the rejected rows, exact duplicates.
    pub duplicates: u64,
    /// Exact silhouette on a seeded sample: of the chosen k's sweep fit with `k` auto, of the
    /// final labels with a given k.
    pub silhouette: f64,
    /// Squared-Euclidean simplified silhouette over every row.
    pub simplified_silhouette: f64,
    /// Sum of squared distances to the centroids (scaled space).
    pub inertia: f64,
    /// Backend that ran k-means.
    pub backend: String,
    /// Its adapter or CPU.
    pub adapter: String,
    /// Features clustered on.
    pub features: Vec<String>,
    /// Rows the elbow sweep was fitted on.
    pub sweep_rows: u64,
    /// Segment sizes, segment 0 first.
    pub sizes: Vec<u64>,
    /// Segment names.
    pub segment_names: Vec<String>,
    /// Seed.
    pub seed: u64,
    /// Output directory.
    pub out: PathBuf,
    /// The segmented table's file in `out`: `segments.csv`, or `segments.parquet` with
    /// `--output-format parquet`.
    pub segments_file: String,
    /// Seconds per stage.
    pub stage_seconds: StageTimes,
    /// Wall seconds from start to the last file written.
    pub total_seconds: f64,
    /// Cleaning and encoding notes.
    pub notes: Vec<String>,
    /// Algorithm whose segments were written.
    pub algorithm: String,
    /// Rows labelled noise (-1) by DBSCAN.
    pub noise_rows: u64,
    /// How the algorithm ran, one sentence each.
    pub algorithm_notes: Vec<String>,
    /// The comparison: one row per algorithm (empty without it).
    pub compare: Vec<CompareRow>,
    /// Every criterion of every k of the sweep (empty when k was given).
    pub k_scores: Vec<crate::analysis::KScore>,
    /// The decision on every category column, with its reason.
    pub column_decisions: Vec<crate::data::ColumnDecision>,
    /// Mean best-match Jaccard of every segment over bootstrap refits (k-means only).
    pub segment_stability: Vec<f64>,
    /// Share of customers of every segment.
    pub customer_share: Vec<f64>,
    /// Share of the monetary column's total of every segment, when there is one.
    pub value_share: Option<crate::analysis::ValueShare>,
    /// Printable schema table.
    #[serde(skip)]
    pub schema_text: String,
    /// Profiles, for a text summary.
    #[serde(skip)]
    pub profiles: Vec<SegmentProfile>,
}

impl RunSummary {
    /// The summary of `seg` written to `out` with `times`, `total_seconds` after it started.
    pub fn new(seg: &Segmentation, out: &Path, times: StageTimes, total_seconds: f64) -> Self {
        RunSummary {
            k: seg.k(),
            k_rule: seg.k_rule(),
            rows_in: seg.rows_in(),
            rows_segmented: seg.rows_segmented(),
            rows_rejected: seg.rejects().len() as u64,
            duplicates: seg.duplicates() as u64,
            silhouette: seg.silhouette(),
            simplified_silhouette: seg.simplified_silhouette(),
            inertia: seg.inertia(),
            backend: seg.backend().backend.clone(),
            adapter: seg.backend().adapter.clone(),
            features: seg.features().to_vec(),
            sweep_rows: seg.sweep_rows() as u64,
            sizes: seg.sizes(),
            segment_names: seg.segment_names().to_vec(),
            seed: seg.params().seed,
            out: out.to_path_buf(),
            segments_file: "segments.csv".into(),
            stage_seconds: times,
            total_seconds,
            notes: seg.notes().to_vec(),
            algorithm: seg.algorithm().name().into(),
            noise_rows: seg.noise_rows() as u64,
            algorithm_notes: seg.algorithm_notes().to_vec(),
            compare: seg.comparison().to_vec(),
            k_scores: seg.k_choice().map(|c| c.scores.clone()).unwrap_or_default(),
            column_decisions: seg.column_decisions().to_vec(),
            segment_stability: seg.segment_stability().to_vec(),
            customer_share: {
                let total = seg.rows_segmented().max(1) as f64;
                seg.sizes().iter().map(|&s| s as f64 / total).collect()
            },
            value_share: seg.value_share().cloned(),
            schema_text: seg.schema().to_text(),
            profiles: seg.profiles().to_vec(),
        }
    }
}
