//! The analysis stage: PCA of the scaled features, profiles and names on the original
//! values, silhouettes, and the comparison table.

use super::cluster::{AlgoRun, Clustered, Detail};
use super::model::PcaAxes;
use super::observer::{Observer, Stage, StageTimes};
use super::params::SegmenterParams;
use super::segmentation::{CompareRow, NOISE};
use crate::analysis::sample::{feature_sample, FeatureSample, HISTOGRAM_MAX};
use crate::analysis::{self, KChoice, Pca, ProfileInput, SegmentProfile, ValueShare};
use crate::backend::DeviceInfo;
use crate::cluster::ClusterAlgorithm;
use crate::data::clean::CleanColumn;
use crate::data::{Cleaned, Kind};
use crate::error::{Param, Result};
use ndarray::{ArrayView2, Axis};

/// What the analysis adds to the clusters.
pub(super) struct Analysis {
    pub choice: Option<KChoice>,
    pub sweep_rows: usize,
    pub primary: AlgoRun,
    pub comparison: Vec<CompareRow>,
    pub backend: DeviceInfo,
    pub pca: Pca,
    pub axes: PcaAxes,
    pub pcs: Vec<f32>,
    pub profiles: Vec<SegmentProfile>,
    pub names: Vec<String>,
    pub silhouette: f64,
    pub simplified: f64,
    pub silhouette_from_sweep: bool,
    pub algorithm_notes: Vec<String>,
    pub histograms: FeatureSample,
    pub stability: Vec<f64>,
    pub value: Option<ValueShare>,
}

/// Profile input: the real values in their own units per numeric column (neither clipped nor
/// imputed; missing ones NaN, left out of the statistics), levels and codes per categorical. Takes the values out of `cleaned` (they are
/// not needed after encoding), so the largest buffers are not copied.
pub fn profile_input(cleaned: &mut Cleaned) -> ProfileInput {
    let mut input = ProfileInput {
        numeric: Vec::new(),
        categorical: Vec::new(),
    };
    for col in &mut cleaned.columns {
        match col {
            CleanColumn::Numeric { t, values, changed } => {
                let name = if t.kind == Kind::Date {
                    format!("{} (days before latest)", t.column)
                } else {
                    t.column.clone()
                };
                let mut real = std::mem::take(values);
                for &(r, v) in changed.iter() {
                    real[r as usize] = v;
                }
                input.numeric.push((name, real));
            }
            CleanColumn::Categorical { t, codes } => {
                let mut levels = t.levels.clone();
                if t.other {
                    levels.push(crate::data::prep::OTHER_LEVEL.to_string());
                }
                input
                    .categorical
                    .push((t.column.clone(), levels, std::mem::take(codes)));
            }
        }
    }
    input
}

/// PCA, profiles, silhouettes and the comparison of `clustered` on the scaled rows `x`.
pub(super) fn analyse(
    x: ArrayView2<'_, f32>,
    cleaned: &mut Cleaned,
    clustered: Clustered,
    p: &SegmenterParams,
    times: &mut StageTimes,
    observer: &mut dyn Observer,
    notes: &mut Vec<String>,
) -> Result<Analysis> {
    let n = x.nrows();
    let mut runs = clustered.runs;
    let primary = runs.remove(0);
    let k = primary.k;
    let noise = primary.n_noise > 0;
    // Profiles and plots index groups 0..: noise is the group after the clusters.
    let slots: Vec<u32> = primary
        .labels
        .iter()
        .map(|&l| if l == NOISE { k as u32 } else { l })
        .collect();
    let groups = k + usize::from(noise);
    let (pcs, axes, pca) = times.run(observer, Stage::Pca, || {
        let pca = Pca::fit(x)?;
        let axes = PcaAxes {
            mean: pca.mean.clone(),
            components: pca
                .components
                .rows()
                .into_iter()
                .take(2)
                .map(|r| r.to_vec())
                .collect(),
        };
        let pcs = axes.project2(x);
        Ok::<_, crate::Error>((pcs, axes, pca))
    })?;
    let mut value = None;
    let (profiles, silhouette, simplified, comparison, silhouette_from_sweep, histograms) =
        times.run(observer, Stage::Profile, || {
            let input = profile_input(cleaned);
            let names: Vec<&str> = input.numeric.iter().map(|(n, _)| n.as_str()).collect();
            value = analysis::monetary_column(&names).map(|i| ValueShare {
                column: input.numeric[i].0.clone(),
                shares: analysis::value_shares(&input.numeric[i].1, &primary.labels, k),
            });
            let mut profiles = analysis::profile_segments(&input, &slots, groups);
            if noise {
                if let (Some(p), Detail::Dbscan { params, .. }) = (
                    profiles.iter_mut().find(|p| p.segment == k as i32),
                    &primary.detail,
                ) {
                    analysis::mark_noise(p, params.eps, params.min_samples);
                }
            }
            let histograms = feature_sample(&input, &slots, HISTOGRAM_MAX, p.seed);
            // With k auto, the sweep already scored k-means' chosen k on a seeded sample; the
            // final fit starts from that fit, so its partition is the same up to boundary rows.
            let swept = clustered
                .choice
                .as_ref()
                .filter(|_| primary.algorithm == ClusterAlgorithm::Kmeans)
                .and_then(|c| c.scores.iter().find(|s| s.k == k))
                .map(|s| s.silhouette)
                .filter(|s| s.is_finite());
            let sil = match swept {
                Some(s) => s,
                None => {
                    analysis::sampled_silhouette(x, &primary.labels, p.silhouette_sample, p.seed)?
                }
            };
            let from_sweep = swept.is_some();
            let simp = if noise {
                let keep: Vec<usize> = (0..n).filter(|&i| primary.labels[i] != NOISE).collect();
                let ls: Vec<u32> = keep.iter().map(|&i| primary.labels[i]).collect();
                analysis::simplified_silhouette(
                    x.select(Axis(0), &keep).view(),
                    primary.centroids.view(),
                    &ls,
                )?
            } else {
                analysis::simplified_silhouette(x, primary.centroids.view(), &primary.labels)?
            };
            let mut comparison = Vec::new();
            if !p.compare.is_empty() {
                for r in std::iter::once(&primary).chain(&runs) {
                    let noise_share = r.n_noise as f64 / n.max(1) as f64;
                    let silhouette =
                        analysis::sampled_silhouette(x, &r.labels, p.silhouette_sample, p.seed)?;
                    comparison.push(CompareRow {
                        algorithm: r.algorithm.name().into(),
                        clusters: r.k,
                        noise_share,
                        silhouette,
                        covered_silhouette: silhouette * (1.0 - noise_share),
                        inertia: r.inertia,
                        seconds: r.seconds,
                        note: run_note(r),
                    });
                }
                for (a, why) in &clustered.skipped {
                    comparison.push(CompareRow {
                        algorithm: a.name().into(),
                        clusters: 0,
                        noise_share: f64::NAN,
                        silhouette: f64::NAN,
                        covered_silhouette: f64::NAN,
                        inertia: f64::NAN,
                        seconds: 0.0,
                        note: format!("skipped: {why}"),
                    });
                }
            }
            Ok::<_, crate::Error>((profiles, sil, simp, comparison, from_sweep, histograms))
        })?;
    let names: Vec<String> = (0..k)
        .map(|c| {
            profiles
                .iter()
                .find(|p| p.segment == c as i32)
                .map_or_else(|| format!("segment {c}"), |p| p.name.clone())
        })
        .collect();
    if clustered.sweep_rows > 0 && clustered.sweep_rows < n {
        notes.push(format!(
            "the elbow sweep was fitted on a seeded sample of {} of {n} rows; the final k-means model on all rows, starting from the sample's centroids for the chosen k",
            clustered.sweep_rows
        ));
    }
    let algorithm_notes = run_notes(&primary, n);
    Ok(Analysis {
        choice: clustered.choice,
        sweep_rows: clustered.sweep_rows,
        primary,
        comparison,
        backend: clustered.backend,
        pca,
        axes,
        pcs,
        profiles,
        names,
        silhouette,
        simplified,
        silhouette_from_sweep,
        algorithm_notes,
        histograms,
        stability: clustered.stability,
        value,
    })
}

/// One sentence on how an algorithm ran, for the comparison table.
fn run_note(r: &AlgoRun) -> String {
    match &r.detail {
        Detail::Kmeans(fit) => format!("{} iterations, {}", fit.iterations, fit.assign.name()),
        Detail::Dbscan {
            params, suggested, ..
        } => format!(
            "eps {:.3}{}, min_samples {}",
            params.eps,
            if suggested.is_some() {
                " (suggested)"
            } else {
                ""
            },
            params.min_samples
        ),
        Detail::Hierarchical {
            dendrogram,
            two_stage,
        } => {
            if *two_stage {
                format!("Ward on {} micro-clusters", dendrogram.n_leaves)
            } else {
                format!("exact Ward on {} rows", dendrogram.n_leaves)
            }
        }
        Detail::Kprototypes {
            model, iterations, ..
        } => format!("γ {:.3}, {iterations} iterations", model.gamma),
    }
}

/// Sentences on how the written segments were made, for the report and summary.
fn run_notes(r: &AlgoRun, n: usize) -> Vec<String> {
    let mut v = Vec::new();
    match &r.detail {
        Detail::Kmeans(_) => {}
        Detail::Dbscan {
            params,
            suggested,
            n_core,
        } => {
            match suggested {
                Some(s) => v.push(format!(
                    "DBSCAN with eps = {:.4} suggested from the knee of the sorted {}-distance curve of {} sampled rows (pass {} to set it), min_samples = {} (the row itself counted)",
                    params.eps,
                    s.min_samples.saturating_sub(1).max(1),
                    s.sample_rows,
                    Param::Eps,
                    params.min_samples
                )),
                None => v.push(format!(
                    "DBSCAN with eps = {} (given), min_samples = {} (the row itself counted)",
                    params.eps, params.min_samples
                )),
            }
            let noise = if r.n_noise > 0 {
                format!(
                    "{} noise rows ({:.1}%) labelled -1 and profiled as their own group",
                    r.n_noise,
                    100.0 * r.n_noise as f64 / n.max(1) as f64
                )
            } else {
                "no noise rows".into()
            };
            v.push(format!(
                "{} cluster{}; {n_core} core rows; {noise}",
                r.k,
                if r.k == 1 { "" } else { "s" }
            ));
        }
        Detail::Hierarchical {
            dendrogram,
            two_stage,
        } => {
            if *two_stage {
                v.push(format!(
                    "hierarchical (Ward) in two stages: k-means into {} micro-clusters, then size-weighted Ward on their centroids cut at k = {}; every row takes its micro-cluster's segment",
                    dendrogram.n_leaves, r.k
                ));
            } else {
                v.push(format!(
                    "hierarchical (Ward), exact over all {} rows (nearest-neighbour chain), cut at k = {}",
                    dendrogram.n_leaves, r.k
                ));
            }
            v.push("predict assigns new rows to the segment with the nearest mean".into());
        }
        Detail::Kprototypes {
            model,
            cost,
            iterations,
        } => v.push(format!(
            "k-prototypes: squared distance on the scaled numeric features + γ = {:.4} per categorical mismatch (categoricals by level, not one-hot); cost {:.4e} after {iterations} iterations",
            model.gamma, cost
        )),
    }
    v
}
