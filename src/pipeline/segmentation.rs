//! The result of a fit: every row's segment, the evidence for k, the profiles and the model,
//! as values a front end reads or `report::write_dir` writes.

use super::cluster::{AlgoRun, Detail};
use super::model::{model_version, PcaAxes, SegmentModel, MODEL_FORMAT};
use super::observer::StageTimes;
use super::params::SegmenterParams;
use crate::analysis::sample::FeatureSample;
use crate::analysis::{KChoice, Pca, SegmentProfile, ValueShare};
use crate::backend::DeviceInfo;
use crate::cluster::ClusterAlgorithm;
use crate::data::{ColumnDecision, Prep, Reject, Schema};
use crate::kmeans::KMeansParams;

pub use crate::cluster::NOISE;

/// One algorithm's row of a comparison (`compare`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct CompareRow {
    /// Algorithm name.
    pub algorithm: String,
    /// Clusters found or asked for (noise not counted).
    pub clusters: usize,
    /// Share of rows labelled noise.
    pub noise_share: f64,
    /// Exact silhouette on the run's seeded sample, noise left out.
    pub silhouette: f64,
    /// The silhouette with every noise row counted as 0 (silhouette × (1 − noise share)):
    /// what leaving noise out hides.
    pub covered_silhouette: f64,
    /// Within-cluster sum of squares around the cluster centres.
    pub inertia: f64,
    /// Wall seconds.
    pub seconds: f64,
    /// How it ran.
    pub note: String,
}

/// A segmented table: what `Segmenter::fit` returns. Rows are those of the input table that
/// were kept (see [`Segmentation::rows`]); rejected rows are in [`Segmentation::rejects`].
pub struct Segmentation {
    pub(super) source_name: String,
    pub(super) source_path: String,
    pub(super) rows_in: u64,
    pub(super) params: SegmenterParams,
    pub(super) kmeans_params: KMeansParams,
    pub(super) schema: Schema,
    pub(super) column_decisions: Vec<ColumnDecision>,
    pub(super) kept: Vec<usize>,
    /// Rows per segment over every segmented row, when `kept` holds only the analysed ones
    /// (a run in passes); None: `kept` is every segmented row.
    pub(super) all_sizes: Option<Vec<u64>>,
    pub(super) rejects: Vec<Reject>,
    pub(super) duplicates: usize,
    pub(super) notes: Vec<String>,
    pub(super) prep: Prep,
    pub(super) choice: Option<KChoice>,
    pub(super) sweep_rows: usize,
    pub(super) primary: AlgoRun,
    pub(super) comparison: Vec<CompareRow>,
    pub(super) backend: DeviceInfo,
    pub(super) pca: Pca,
    pub(super) axes: PcaAxes,
    pub(super) pcs: Vec<f32>,
    pub(super) profiles: Vec<SegmentProfile>,
    pub(super) names: Vec<String>,
    pub(super) silhouette: f64,
    pub(super) simplified: f64,
    pub(super) silhouette_from_sweep: bool,
    pub(super) algorithm_notes: Vec<String>,
    pub(super) histograms: FeatureSample,
    pub(super) stability: Vec<f64>,
    pub(super) value: Option<ValueShare>,
    pub(super) stage_seconds: StageTimes,
}

impl Segmentation {
    /// Table row index of every segmented row, in table order.
    pub fn rows(&self) -> &[usize] {
        &self.kept
    }

    /// Segment of every segmented row (0..k); [`NOISE`] for DBSCAN's noise rows.
    pub fn labels(&self) -> &[u32] {
        &self.primary.labels
    }

    /// Euclidean distance of every segmented row to its segment's centre in the scaled feature
    /// space (k-prototypes: √cost); NaN for noise.
    pub fn distances(&self) -> &[f32] {
        &self.primary.distances
    }

    /// `pc1, pc2` of every segmented row, interleaved (n×2, row-major).
    pub fn projection(&self) -> &[f32] {
        &self.pcs
    }

    /// The fitted principal components of the scaled features.
    pub fn pca(&self) -> &Pca {
        &self.pca
    }

    /// One profile per segment (and one for noise), in original units.
    pub fn profiles(&self) -> &[SegmentProfile] {
        &self.profiles
    }

    /// The decision on every category column: clustered on, or left out as independent of
    /// every other column (`data::noise`); empty when there was none to decide.
    pub fn column_decisions(&self) -> &[ColumnDecision] {
        &self.column_decisions
    }

    /// Mean best-match Jaccard of every segment over bootstrap refits, in segment order
    /// (`analysis::stability`); empty when the segments are not k-means'.
    pub fn segment_stability(&self) -> &[f64] {
        &self.stability
    }

    /// Each segment's share of the monetary column's total, when the table has one.
    pub fn value_share(&self) -> Option<&ValueShare> {
        self.value.as_ref()
    }

    /// How k was chosen (None when k was given, or for DBSCAN).
    pub fn k_choice(&self) -> Option<&KChoice> {
        self.choice.as_ref()
    }

    /// Rows rejected while cleaning, with their reasons, in row order.
    pub fn rejects(&self) -> &[Reject] {
        &self.rejects
    }

    /// The comparison table (empty without `compare`).
    pub fn comparison(&self) -> &[CompareRow] {
        &self.comparison
    }

    /// Segments (noise not counted).
    pub fn k(&self) -> usize {
        self.primary.k
    }

    /// Name of every segment.
    pub fn segment_names(&self) -> &[String] {
        &self.names
    }

    /// Rows segmented: every kept row (more than `rows()` after a run in passes on a large
    /// table, whose `rows()` are the analysed ones).
    pub fn rows_segmented(&self) -> u64 {
        self.all_sizes
            .as_ref()
            .map_or(self.kept.len() as u64, |s| s.iter().sum())
    }

    /// Rows labelled noise (DBSCAN).
    pub fn noise_rows(&self) -> usize {
        self.primary.n_noise
    }

    /// Rows per segment, segment 0 first (noise not counted).
    pub fn sizes(&self) -> Vec<u64> {
        if let Some(s) = &self.all_sizes {
            return s.clone();
        }
        let mut sizes = vec![0u64; self.primary.k];
        for &l in &self.primary.labels {
            if let Some(s) = sizes.get_mut(l as usize) {
                *s += 1;
            }
        }
        sizes
    }

    /// The inferred schema of the input.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The fitted preprocessing (per-column transforms, feature names).
    pub fn prep(&self) -> &Prep {
        &self.prep
    }

    /// Names of the clustering features, after encoding.
    pub fn features(&self) -> &[String] {
        &self.prep.features
    }

    /// What cleaning and encoding did, one sentence each.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// How the algorithm ran, one sentence each.
    pub fn algorithm_notes(&self) -> &[String] {
        &self.algorithm_notes
    }

    /// The parameters it was fitted with.
    pub fn params(&self) -> &SegmenterParams {
        &self.params
    }

    /// The algorithm whose segments these are.
    pub fn algorithm(&self) -> ClusterAlgorithm {
        self.primary.algorithm
    }

    /// The segments' centres in the scaled feature space (k × features).
    pub fn centroids(&self) -> ndarray::ArrayView2<'_, f32> {
        self.primary.centroids.view()
    }

    /// Within-segment sum of squares (scaled space, noise left out).
    pub fn inertia(&self) -> f64 {
        self.primary.inertia
    }

    /// Exact silhouette on the seeded sample.
    pub fn silhouette(&self) -> f64 {
        self.silhouette
    }

    /// Whether [`Segmentation::silhouette`] is the sweep's score of the chosen k.
    pub fn silhouette_from_sweep(&self) -> bool {
        self.silhouette_from_sweep
    }

    /// Squared-Euclidean simplified silhouette over every row.
    pub fn simplified_silhouette(&self) -> f64 {
        self.simplified
    }

    /// The device k-means ran on.
    pub fn backend(&self) -> &DeviceInfo {
        &self.backend
    }

    /// Rows the k sweep was fitted on (0 without a sweep).
    pub fn sweep_rows(&self) -> usize {
        self.sweep_rows
    }

    /// Data rows of the input, well-formed or not.
    pub fn rows_in(&self) -> u64 {
        self.rows_in
    }

    /// Of the rejected rows, exact duplicates.
    pub fn duplicates(&self) -> usize {
        self.duplicates
    }

    /// Seconds of every stage so far.
    pub fn stage_seconds(&self) -> &StageTimes {
        &self.stage_seconds
    }

    /// The input's name (its file name).
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The input's path as given.
    pub fn source_path(&self) -> &str {
        &self.source_path
    }

    /// Original-unit values of a seeded sample of rows, for histograms and correlations.
    pub fn histograms(&self) -> &FeatureSample {
        &self.histograms
    }

    /// Segment of every row in the report's numbering: noise is the group after the clusters.
    pub fn groups(&self) -> Vec<u32> {
        let k = self.primary.k as u32;
        self.primary
            .labels
            .iter()
            .map(|&l| if l == NOISE { k } else { l })
            .collect()
    }

    /// What the algorithm left beside its labels (the k-means fit, the Ward tree, ...).
    pub fn detail(&self) -> &Detail {
        &self.primary.detail
    }

    /// How k came about, one sentence.
    pub fn k_rule(&self) -> String {
        let k = self.primary.k;
        match (&self.choice, &self.primary.detail) {
            (_, Detail::Dbscan { .. }) => format!(
                "{k} cluster{} found by DBSCAN, {} noise rows",
                if k == 1 { "" } else { "s" },
                self.primary.n_noise
            ),
            (Some(c), _) => c.reason.clone(),
            (None, _) => format!("k = {k} given with {}", crate::error::Param::K),
        }
    }

    /// The model that scores new rows as these were scored.
    pub fn model(&self) -> SegmentModel {
        let k = self.primary.k;
        SegmentModel {
            format: MODEL_FORMAT.into(),
            version: model_version(self.primary.algorithm),
            segmenter_version: env!("CARGO_PKG_VERSION").into(),
            fitted_on: self.source_name.clone(),
            seed: self.params.seed,
            schema: self.schema.clone(),
            cleaning: self.params.clean.clone(),
            scale: self.params.scale,
            log: self.params.log.clone(),
            prep: self.prep.clone(),
            kmeans: match &self.primary.detail {
                Detail::Kmeans(fit) => fit.model.params.clone(),
                _ => KMeansParams {
                    k,
                    ..self.kmeans_params.clone()
                },
            },
            k,
            centroids: self
                .primary
                .centroids
                .rows()
                .into_iter()
                .map(|r| r.to_vec())
                .collect(),
            segment_names: self.names.clone(),
            pca: Some(self.axes.clone()),
            algorithm: self.primary.algorithm,
            kprototypes: match &self.primary.detail {
                Detail::Kprototypes { model, .. } => Some(model.clone()),
                _ => None,
            },
            dbscan: match &self.primary.detail {
                Detail::Dbscan { params, .. } => Some(params.clone()),
                _ => None,
            },
            source: None,
        }
    }
}
