//! The workflow as a library: [`Segmenter`] (parameters → `check` → `fit`) takes a
//! [`Table`] through every stage and returns a [`Segmentation`]; it writes no file.
//!
//! Each stage takes the previous stage's value and returns its own, and nothing reaches back:
//! `Table` → `Schema` (`data::infer_schema`) → `Cleaned` (`data::clean`) → `Encoded`
//! (`data::encode`) → k choice and clusters (`cluster`: `Clustered`) → PCA, profiles and
//! silhouettes (`analyse`) → [`Segmentation`]. A [`SegmentModel`] saved from it scores new
//! tables ([`SegmentModel::predict`]); `report::write_dir` writes everything `run` writes.

pub mod analyse;
pub mod cluster;
pub mod derive;
pub mod model;
pub mod numeric;
pub mod observer;
pub mod params;
pub mod passes;
pub mod segmentation;

pub use model::{PcaAxes, Scores, SegmentModel};
pub use observer::{Observer, Quiet, Stage, StageTimes};
pub use params::{KSpec, Segmenter, SegmenterParams, SWEEP_SAMPLE};
pub use segmentation::{CompareRow, Segmentation, NOISE};

use crate::backend::{dispatch, BackendChoice, Problem};
use crate::cluster::kprototypes::categorical_columns;
use crate::cluster::ClusterAlgorithm;
use crate::data::{
    clean, decide_category_columns, encode, infer_schema, Cleaned, ColumnDecision, Encoded, Schema,
};
use crate::error::{Error, Param, Result};
use crate::io::Table;
use crate::kmeans::driver::distinct_rows;
use crate::kmeans::KMeansParams;
use cluster::{AlgorithmSettings, ClusterJob, EXACT_WARD_MAX};

impl Segmenter {
    /// Segments `table`: schema, cleaning, encoding, k, clustering, PCA, profiles. Tells
    /// `observer` about every stage; writes nothing.
    pub fn fit(&self, table: &Table, observer: &mut dyn Observer) -> Result<Segmentation> {
        let p = &self.params;
        let mut times = StageTimes::default();
        if let Some(s) = table.read_seconds() {
            times.record(Stage::Read, s);
        }
        table.check_well_formed()?;
        let (schema, column_decisions): (Schema, Vec<ColumnDecision>) =
            times.run(observer, Stage::Schema, || {
                let mut s = infer_schema(table, &p.overrides)?;
                let d = decide_category_columns(table, &mut s, &p.overrides.categorical);
                Ok::<_, Error>((s, d))
            })?;
        let mut cleaned: Cleaned =
            times.run(observer, Stage::Clean, || clean(table, &schema, &p.clean))?;
        let enc: Encoded = times.run(observer, Stage::Encode, || {
            encode(&cleaned, p.scale, &p.log)
        })?;
        let x = enc.x.view();
        let n = x.nrows();
        let mut notes = cleaned.notes.clone();
        notes.extend(enc.notes.iter().cloned());
        let algorithms = plan_algorithms(p, &enc, &mut notes);
        let needs_k = algorithms.iter().any(|a| a.takes_k());
        let kmax = p.k.max();
        let kmeans_params = KMeansParams::new(kmax.max(1)).seed(p.seed).n_init(p.n_init);
        if needs_k {
            // Fewer distinct rows than k is the user's data, not a bug: say so before fitting.
            let distinct = distinct_rows(x, kmax.max(p.k.min()));
            let need = p.k.min();
            if distinct < need {
                return Err(Error::Data(format!(
                    "{}: only {distinct} distinct row{} left to cluster after cleaning ({n} of {} rows kept, {} rejected); \
                     {need} segments need at least {need} distinct rows: use a smaller {} or {}, or more data",
                    table.path.display(),
                    if distinct == 1 { "" } else { "s" },
                    table.rows_in(),
                    cleaned.rejects.len(),
                    Param::K,
                    Param::KRange
                )));
            }
        }
        // Only k-means (and the micro-clusters of hierarchical) run on a backend.
        let on_backend = algorithms
            .iter()
            .any(|a| matches!(a, ClusterAlgorithm::Kmeans | ClusterAlgorithm::Hierarchical))
            || (needs_k && p.k.is_auto());
        let backend = if on_backend {
            p.backend
        } else {
            BackendChoice::Cpu
        };
        // Two-stage hierarchical clustering runs k-means with the micro-cluster count: that k
        // decides whether the GPU pays off.
        let two_stage = algorithms.contains(&ClusterAlgorithm::Hierarchical) && n > EXACT_WARD_MAX;
        let problem = Problem {
            n,
            d: x.ncols(),
            k: if two_stage {
                kmax.max(p.micro_clusters)
            } else {
                kmax.max(1)
            },
        };
        let job = ClusterJob {
            observer: &mut *observer,
            times: &mut times,
            x,
            prep: &enc.prep,
            k: p.k.clone(),
            params: kmeans_params.clone(),
            silhouette_sample: p.silhouette_sample,
            sweep_sample: p.sweep_sample,
            algorithms,
            settings: AlgorithmSettings {
                eps: p.eps,
                min_samples: p.min_samples,
                gamma: p.gamma,
                micro_clusters: p.micro_clusters,
            },
        };
        let clustered = dispatch(backend, problem, job)?;
        let a = analyse::analyse(
            x,
            &mut cleaned,
            clustered,
            p,
            &mut times,
            observer,
            &mut notes,
        )?;
        Ok(Segmentation {
            source_name: table
                .path
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            source_path: table.path.display().to_string(),
            rows_in: table.rows_in(),
            params: p.clone(),
            kmeans_params,
            schema,
            column_decisions,
            kept: std::mem::take(&mut cleaned.kept),
            all_sizes: None,
            rejects: std::mem::take(&mut cleaned.rejects),
            duplicates: cleaned.duplicates,
            notes,
            prep: enc.prep,
            choice: a.choice,
            sweep_rows: a.sweep_rows,
            primary: a.primary,
            comparison: a.comparison,
            backend: a.backend,
            pca: a.pca,
            axes: a.axes,
            pcs: a.pcs,
            profiles: a.profiles,
            names: a.names,
            silhouette: a.silhouette,
            simplified: a.simplified,
            silhouette_from_sweep: a.silhouette_from_sweep,
            algorithm_notes: a.algorithm_notes,
            histograms: a.histograms,
            stability: a.stability,
            value: a.value,
            stage_seconds: times,
        })
    }
}

/// The algorithms to run, `algorithm` first, and notes on parameters none of them uses.
fn plan_algorithms(
    p: &SegmenterParams,
    enc: &Encoded,
    notes: &mut Vec<String>,
) -> Vec<ClusterAlgorithm> {
    let mut algorithms = p.algorithms();
    // A comparison of all on all-numeric data: k-prototypes has nothing to compare with.
    if categorical_columns(&enc.prep) == 0 && p.algorithm != ClusterAlgorithm::Kprototypes {
        if algorithms.contains(&ClusterAlgorithm::Kprototypes) {
            notes.push(
                "k-prototypes was left out of the comparison: no categorical column is clustered on"
                    .into(),
            );
        }
        algorithms.retain(|&a| a != ClusterAlgorithm::Kprototypes);
    }
    let needs_k = algorithms.iter().any(|a| a.takes_k());
    for (given, param, algorithm) in [
        (p.eps.is_some(), Param::Eps, ClusterAlgorithm::Dbscan),
        (
            p.min_samples.is_some(),
            Param::MinSamples,
            ClusterAlgorithm::Dbscan,
        ),
        (
            p.gamma.is_some(),
            Param::Gamma,
            ClusterAlgorithm::Kprototypes,
        ),
    ] {
        if given && !algorithms.contains(&algorithm) {
            notes.push(format!(
                "{param} is not used: it applies to {} (or {}), which did not run",
                Param::Algorithm.set(algorithm.name()),
                Param::Compare
            ));
        }
    }
    if p.algorithm == ClusterAlgorithm::Dbscan && matches!(p.k, KSpec::Fixed(_)) && !needs_k {
        notes.push(format!(
            "{} is not used by DBSCAN: it finds the number of clusters from {} and {}",
            Param::K,
            Param::Eps,
            Param::MinSamples
        ));
    }
    algorithms
}
