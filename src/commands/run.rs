//! `segmenter run FILE`: read → schema → clean → encode/scale → choose k → cluster → PCA →
//! profile → write segments, rejects, model and report.

use super::cluster_stage::{
    categorical_columns, AlgoRun, AlgorithmSettings, ClusterJob, Detail, EXACT_WARD_MAX, NOISE,
};
use super::model_file::{model_version, ModelFile, PcaAxes, MODEL_FORMAT};
use super::output::{write_rejects, write_segments, Scored};
use super::progress::{StageTimes, Stages};
use super::score::project2;
use crate::analysis::{self, KChoice, Pca, ProfileInput, SegmentProfile};
use crate::backend::{dispatch, BackendChoice, Problem};
use crate::cluster::dbscan::DbscanParams;
use crate::cluster::kprototypes::KPrototypesParams;
use crate::cluster::ClusterAlgorithm;
use crate::data::clean::CleanColumn;
use crate::data::{
    clean, encode, infer_schema, CleanParams, Cleaned, Encoded, Kind, LogSpec, Overrides, Scale,
    Schema,
};
use crate::error::{Error, Result};
use crate::io::{read_table, Table};
use crate::kmeans::driver::distinct_rows;
use crate::kmeans::KMeansParams;
use crate::report::input::{
    feature_sample, scatter_sample, ColumnInfo, CompareRow, ReportInput, HISTOGRAM_MAX, SCATTER_MAX,
};
use crate::report::write_report;
use ndarray::{Array2, ArrayView2, Axis};
use serde::Serialize;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Rows the elbow sweep is fitted on when the table is larger (seeded sample); the final model
/// is always fitted on every row.
pub const SWEEP_SAMPLE: usize = 50_000;

/// How k is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KSpec {
    /// By the documented rule over the k range (`analysis::choose_k`).
    Auto,
    /// This k.
    Fixed(usize),
}

/// A validated `run` invocation.
#[derive(Clone, Debug)]
pub struct RunCommand {
    /// Input table.
    pub input: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// k or auto.
    pub k: KSpec,
    /// Range for `auto`.
    pub k_range: RangeInclusive<usize>,
    /// Rows of the exact silhouette sample.
    pub silhouette_sample: usize,
    /// Rows the elbow sweep is fitted on (a seeded sample when the table is larger).
    pub sweep_sample: usize,
    /// Backend.
    pub backend: BackendChoice,
    /// Seed.
    pub seed: u64,
    /// k-means runs of the final fit.
    pub n_init: usize,
    /// Cleaning.
    pub clean: CleanParams,
    /// Scaling.
    pub scale: Scale,
    /// Log transform.
    pub log: LogSpec,
    /// Column overrides.
    pub overrides: Overrides,
    /// Spinners on stderr.
    pub progress: bool,
    /// Algorithm whose segments and model are written.
    pub algorithm: ClusterAlgorithm,
    /// Algorithms also run and tabulated in the report (`--compare`).
    pub compare: Vec<ClusterAlgorithm>,
    /// DBSCAN radius (suggested when None).
    pub eps: Option<f64>,
    /// DBSCAN core threshold (2 × features when None).
    pub min_samples: Option<usize>,
    /// k-prototypes mismatch weight (Huang's default when None).
    pub gamma: Option<f64>,
    /// Micro-clusters of two-stage hierarchical clustering.
    pub micro_clusters: usize,
}

impl RunCommand {
    /// Defaults for `input` (as the CLI's).
    pub fn new(input: PathBuf) -> Self {
        RunCommand {
            input,
            out: PathBuf::from("segmenter-out"),
            k: KSpec::Auto,
            k_range: 2..=10,
            silhouette_sample: 10_000,
            sweep_sample: SWEEP_SAMPLE,
            backend: BackendChoice::Auto,
            seed: 0,
            n_init: 1,
            clean: CleanParams::default(),
            scale: Scale::Standard,
            log: LogSpec::Off,
            overrides: Overrides::default(),
            progress: false,
            algorithm: ClusterAlgorithm::Kmeans,
            compare: Vec::new(),
            eps: None,
            min_samples: None,
            gamma: None,
            micro_clusters: 1000,
        }
    }

    /// `--algorithm` first, then the `--compare` algorithms not already listed.
    pub fn algorithms(&self) -> Vec<ClusterAlgorithm> {
        let mut v = vec![self.algorithm];
        for &a in &self.compare {
            if !v.contains(&a) {
                v.push(a);
            }
        }
        v
    }

    /// Validates everything that needs no data.
    pub fn check(&self) -> Result<()> {
        let (lo, hi) = (*self.k_range.start(), *self.k_range.end());
        if lo < 2 || lo > hi {
            return Err(Error::Data(format!(
                "--k-range {lo}..{hi}: give a range such as 2..10 (from at least 2, not decreasing)"
            )));
        }
        if let KSpec::Fixed(k) = self.k {
            KMeansParams::new(k).check()?;
        }
        KMeansParams::new(2).n_init(self.n_init).check()?;
        if self.silhouette_sample < 2 {
            return Err(Error::Data(
                "--silhouette-sample must be at least 2 rows".into(),
            ));
        }
        if let Some(min_samples) = self.min_samples {
            DbscanParams {
                eps: self.eps.unwrap_or(1.0),
                min_samples,
            }
            .check()?;
        } else if let Some(eps) = self.eps {
            DbscanParams {
                eps,
                min_samples: 1,
            }
            .check()?;
        }
        if self.gamma.is_some() {
            KPrototypesParams {
                gamma: self.gamma,
                ..KPrototypesParams::new(2)
            }
            .check()?;
        }
        if self.micro_clusters < 2 {
            return Err(Error::Data(format!(
                "--micro-clusters {}: two-stage hierarchical clustering needs at least 2 micro-clusters; the default is 1000",
                self.micro_clusters
            )));
        }
        Ok(())
    }
}

/// What `run --json` prints (and the text summary is made from).
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
    /// Exact silhouette on a seeded sample: of the chosen k's sweep fit with `--k auto`, of the
    /// final labels with `--k N`.
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
    /// Segment sizes, largest first.
    pub sizes: Vec<u64>,
    /// Segment names.
    pub segment_names: Vec<String>,
    /// Seed.
    pub seed: u64,
    /// Output directory.
    pub out: PathBuf,
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
    /// `--compare`: one row per algorithm (empty without it).
    pub compare: Vec<CompareRow>,
    /// Printable schema table.
    #[serde(skip)]
    pub schema_text: String,
    /// Profiles, for the text summary.
    #[serde(skip)]
    pub profiles: Vec<SegmentProfile>,
}

/// Creates `out` and checks that a file can be written there, before any work.
pub fn prepare_out_dir(out: &Path) -> Result<()> {
    let fail = |e: std::io::Error| Error::OutDir {
        path: out.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(out).map_err(fail)?;
    let probe = out.join(format!(".segmenter-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(fail)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Profile input: cleaned (unscaled) values per numeric column, levels and codes per
/// categorical. Takes the values out of `cleaned` (they are not needed after encoding), so the
/// largest buffers are not copied.
pub fn profile_input(cleaned: &mut Cleaned) -> ProfileInput {
    let mut input = ProfileInput {
        numeric: Vec::new(),
        categorical: Vec::new(),
    };
    for col in &mut cleaned.columns {
        match col {
            CleanColumn::Numeric { t, values } => {
                let name = if t.kind == Kind::Date {
                    format!("{} (days before latest)", t.column)
                } else {
                    t.column.clone()
                };
                input.numeric.push((name, std::mem::take(values)));
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

/// Runs the whole workflow and writes every output into `cmd.out`.
pub fn run_workflow(cmd: &RunCommand) -> Result<RunSummary> {
    cmd.check()?;
    let start = Instant::now();
    prepare_out_dir(&cmd.out)?;
    let mut st = Stages::new(cmd.progress);
    let table: Table = st.run("read", "reading the table", || read_table(&cmd.input))?;
    let schema: Schema = st.run("schema", "inferring the schema", || {
        infer_schema(&table, &cmd.overrides)
    })?;
    let mut cleaned: Cleaned =
        st.run("clean", "cleaning", || clean(&table, &schema, &cmd.clean))?;
    let enc: Encoded = st.run("encode", "encoding and scaling", || {
        encode(&cleaned, cmd.scale, &cmd.log)
    })?;
    let x = enc.x.view();
    let n = x.nrows();
    let mut notes = cleaned.notes.clone();
    notes.extend(enc.notes.iter().cloned());
    let mut algorithms = cmd.algorithms();
    // `--compare` (all) on all-numeric data: k-prototypes has nothing to compare with.
    if categorical_columns(&enc.prep) == 0 && cmd.algorithm != ClusterAlgorithm::Kprototypes {
        if algorithms.contains(&ClusterAlgorithm::Kprototypes) {
            notes.push(
                "k-prototypes was left out of the comparison: no categorical column is clustered on"
                    .into(),
            );
        }
        algorithms.retain(|&a| a != ClusterAlgorithm::Kprototypes);
    }
    let needs_k = algorithms.iter().any(|a| a.takes_k());
    for (given, flag, algorithm) in [
        (cmd.eps.is_some(), "--eps", ClusterAlgorithm::Dbscan),
        (
            cmd.min_samples.is_some(),
            "--min-samples",
            ClusterAlgorithm::Dbscan,
        ),
        (
            cmd.gamma.is_some(),
            "--gamma",
            ClusterAlgorithm::Kprototypes,
        ),
    ] {
        if given && !algorithms.contains(&algorithm) {
            notes.push(format!(
                "{flag} is not used: it applies to --algorithm {} (or --compare), which did not run",
                algorithm.name()
            ));
        }
    }
    if cmd.algorithm == ClusterAlgorithm::Dbscan && matches!(cmd.k, KSpec::Fixed(_)) && !needs_k {
        notes.push("--k is not used by DBSCAN: it finds the number of clusters from --eps and --min-samples".into());
    }
    let kmax = match cmd.k {
        KSpec::Fixed(k) => k,
        KSpec::Auto => *cmd.k_range.end(),
    };
    let params = KMeansParams::new(kmax.max(1))
        .seed(cmd.seed)
        .n_init(cmd.n_init);
    if needs_k {
        // Fewer distinct rows than k is the user's data, not a bug: say so before fitting.
        let distinct = distinct_rows(x, kmax.max(*cmd.k_range.start()));
        let need = match cmd.k {
            KSpec::Fixed(k) => k,
            KSpec::Auto => *cmd.k_range.start(),
        };
        if distinct < need {
            return Err(Error::Data(format!(
                "{}: only {distinct} distinct row{} left to cluster after cleaning ({n} of {} rows kept, {} rejected); \
                 {need} segments need at least {need} distinct rows: use a smaller --k or --k-range, or more data",
                cmd.input.display(),
                if distinct == 1 { "" } else { "s" },
                table.rows_in(),
                cleaned.rejects.len()
            )));
        }
    }
    // Only k-means (and the micro-clusters of hierarchical) run on a backend.
    let on_backend = algorithms
        .iter()
        .any(|a| matches!(a, ClusterAlgorithm::Kmeans | ClusterAlgorithm::Hierarchical))
        || (needs_k && cmd.k == KSpec::Auto);
    let backend = if on_backend {
        cmd.backend
    } else {
        BackendChoice::Cpu
    };
    let job = ClusterJob {
        x,
        prep: &enc.prep,
        k: cmd.k,
        k_range: cmd.k_range.clone(),
        params: params.clone(),
        silhouette_sample: cmd.silhouette_sample,
        sweep_sample: cmd.sweep_sample,
        algorithms: algorithms.clone(),
        settings: AlgorithmSettings {
            eps: cmd.eps,
            min_samples: cmd.min_samples,
            gamma: cmd.gamma,
            micro_clusters: cmd.micro_clusters,
        },
    };
    // Two-stage hierarchical clustering runs k-means with the micro-cluster count: that k
    // decides whether the GPU pays off.
    let two_stage = algorithms.contains(&ClusterAlgorithm::Hierarchical) && n > EXACT_WARD_MAX;
    let problem = Problem {
        n,
        d: x.ncols(),
        k: if two_stage {
            kmax.max(cmd.micro_clusters)
        } else {
            kmax.max(1)
        },
    };
    let what = if needs_k && cmd.k == KSpec::Auto {
        "choosing k and clustering"
    } else {
        "clustering"
    };
    let clustered = st.spin(what, || dispatch(backend, problem, job)).0?;
    let mut runs = clustered.runs;
    let primary = runs.remove(0);
    if clustered.choice.is_some() {
        st.record("choose_k", clustered.sweep_seconds);
    }
    st.record("cluster", primary.seconds);
    if !runs.is_empty() {
        st.record("compare", runs.iter().map(|r| r.seconds).sum());
    }
    let k = primary.k;
    let noise = primary.n_noise > 0;
    // Profiles and plots index groups 0..: noise is the group after the clusters.
    let slots: Vec<u32> = primary
        .labels
        .iter()
        .map(|&l| if l == NOISE { k as u32 } else { l })
        .collect();
    let groups = k + usize::from(noise);

    let (pcs, axes, pca) = st.run("pca", "projecting (PCA)", || {
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
        let pcs = project2(x, &axes);
        Ok((pcs, axes, pca))
    })?;
    let (input, profiles, silhouette, simplified, comparison, silhouette_from_sweep) =
        st.run("profile", "profiling segments", || {
            let input = profile_input(&mut cleaned);
            let mut profiles = analysis::profile_segments(&input, &slots, groups);
            if noise {
                if let (Some(p), Detail::Dbscan { params, .. }) = (
                    profiles.iter_mut().find(|p| p.segment == k as i32),
                    &primary.detail,
                ) {
                    analysis::mark_noise(p, params.eps, params.min_samples);
                }
            }
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
                None => analysis::sampled_silhouette(
                    x,
                    &primary.labels,
                    cmd.silhouette_sample,
                    cmd.seed,
                )?,
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
            if !cmd.compare.is_empty() {
                for r in std::iter::once(&primary).chain(&runs) {
                    comparison.push(CompareRow {
                        algorithm: r.algorithm.name().into(),
                        clusters: r.k,
                        noise_share: r.n_noise as f64 / n.max(1) as f64,
                        silhouette: analysis::sampled_silhouette(
                            x,
                            &r.labels,
                            cmd.silhouette_sample,
                            cmd.seed,
                        )?,
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
                        inertia: f64::NAN,
                        seconds: 0.0,
                        note: format!("skipped: {why}"),
                    });
                }
            }
            Ok((input, profiles, sil, simp, comparison, from_sweep))
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
    let centroids: Vec<Vec<f32>> = primary
        .centroids
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .collect();
    st.run("write", "writing segments, rejects and model", || {
        write_segments(
            &cmd.out.join("segments.csv"),
            &table,
            &Scored {
                rows: &cleaned.kept,
                labels: &primary.labels,
                names: &names,
                pcs: Some(&pcs),
                distances: &primary.distances,
            },
        )?;
        write_rejects(&cmd.out.join("rejects.csv"), &table, &cleaned.rejects)?;
        let kmeans = match &primary.detail {
            Detail::Kmeans(fit) => fit.model.params.clone(),
            _ => KMeansParams {
                k,
                ..params.clone()
            },
        };
        ModelFile {
            format: MODEL_FORMAT.into(),
            version: model_version(primary.algorithm),
            segmenter_version: env!("CARGO_PKG_VERSION").into(),
            fitted_on: cmd
                .input
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            seed: cmd.seed,
            schema: schema.clone(),
            cleaning: cmd.clean.clone(),
            scale: cmd.scale,
            log: cmd.log.clone(),
            prep: enc.prep.clone(),
            kmeans,
            k,
            centroids: centroids.clone(),
            segment_names: names.clone(),
            pca: Some(axes.clone()),
            algorithm: primary.algorithm,
            kprototypes: match &primary.detail {
                Detail::Kprototypes { model, .. } => Some(model.clone()),
                _ => None,
            },
            dbscan: match &primary.detail {
                Detail::Dbscan { params, .. } => Some(params.clone()),
                _ => None,
            },
        }
        .save(&cmd.out.join("model.json"))
    })?;
    let mut sizes = vec![0u64; k];
    for &l in &primary.labels {
        if let Some(s) = sizes.get_mut(l as usize) {
            *s += 1;
        }
    }
    let k_rule = match (&clustered.choice, &primary.detail) {
        (_, Detail::Dbscan { .. }) => format!(
            "{k} cluster{} found by DBSCAN, {} noise rows",
            if k == 1 { "" } else { "s" },
            primary.n_noise
        ),
        (Some(c), _) => c.reason.clone(),
        (None, _) => format!("k = {k} given with --k"),
    };
    let report_ctx = ReportContext {
        cmd,
        table: &table,
        schema: &schema,
        cleaned: &cleaned,
        enc: &enc,
        input: &input,
        labels: &slots,
        pcs: &pcs,
        pca: &pca,
        choice: clustered.choice.as_ref(),
        sweep_rows: clustered.sweep_rows,
        profiles: &profiles,
        notes: &notes,
        backend: &clustered.backend,
        silhouette,
        simplified,
        inertia: primary.inertia,
        primary: &primary,
        silhouette_from_sweep,
        algorithm_notes: &algorithm_notes,
        comparison: &comparison,
    };
    let times_so_far = st.times.clone();
    st.run("report", "writing the report and plots", || {
        write_report_files(&report_ctx, &times_so_far)
    })?;
    Ok(RunSummary {
        k,
        k_rule,
        rows_in: table.rows_in(),
        rows_segmented: cleaned.kept.len() as u64,
        rows_rejected: cleaned.rejects.len() as u64,
        duplicates: cleaned.duplicates as u64,
        silhouette,
        simplified_silhouette: simplified,
        inertia: primary.inertia,
        backend: clustered.backend.backend.clone(),
        adapter: clustered.backend.adapter.clone(),
        features: enc.prep.features.clone(),
        sweep_rows: clustered.sweep_rows as u64,
        sizes,
        segment_names: names,
        seed: cmd.seed,
        out: cmd.out.clone(),
        stage_seconds: st.times,
        total_seconds: start.elapsed().as_secs_f64(),
        notes,
        algorithm: primary.algorithm.name().into(),
        noise_rows: primary.n_noise as u64,
        algorithm_notes,
        compare: comparison,
        schema_text: schema.to_text(),
        profiles,
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
                    "DBSCAN with eps = {:.4} suggested from the knee of the sorted {}-distance curve of {} sampled rows (pass --eps to set it), min_samples = {} (the row itself counted)",
                    params.eps,
                    s.min_samples.saturating_sub(1).max(1),
                    s.sample_rows,
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

/// What the report needs from the run.
struct ReportContext<'a> {
    cmd: &'a RunCommand,
    table: &'a Table,
    schema: &'a Schema,
    cleaned: &'a Cleaned,
    enc: &'a Encoded,
    input: &'a ProfileInput,
    labels: &'a [u32],
    pcs: &'a [f32],
    pca: &'a Pca,
    choice: Option<&'a KChoice>,
    sweep_rows: usize,
    profiles: &'a [SegmentProfile],
    notes: &'a [String],
    backend: &'a crate::backend::DeviceInfo,
    silhouette: f64,
    simplified: f64,
    inertia: f64,
    primary: &'a AlgoRun,
    silhouette_from_sweep: bool,
    algorithm_notes: &'a [String],
    comparison: &'a [CompareRow],
}

/// Groups reject reasons by what went wrong, without the row-specific value.
pub fn reject_category(reason: &str) -> String {
    if reason.starts_with("duplicate of row") {
        return "exact duplicate of an earlier row".into();
    }
    if reason.starts_with("expected ") {
        return "wrong number of fields".into();
    }
    if let Some((col, rest)) = reason.split_once(": ") {
        if rest.contains("is an outlier") {
            return format!("{col}: outlier (--outliers drop)");
        }
        if let Some(r) = rest.strip_prefix('\'') {
            if let Some((_, tail)) = r.rsplit_once("' ") {
                return format!("{col}: value {tail}");
            }
        }
    }
    reason.to_string()
}

fn write_report_files(ctx: &ReportContext<'_>, times: &StageTimes) -> Result<()> {
    let n = ctx.labels.len();
    let mut reasons: Vec<(String, u64)> = Vec::new();
    for r in &ctx.cleaned.rejects {
        let c = reject_category(&r.reason);
        match reasons.iter_mut().find(|(k, _)| *k == c) {
            Some(e) => e.1 += 1,
            None => reasons.push((c, 1)),
        }
    }
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let columns = ctx
        .schema
        .columns
        .iter()
        .map(|c| ColumnInfo {
            name: c.name.clone(),
            kind: c.kind.name().into(),
            missing: c.missing as u64,
            distinct: c.distinct as u64,
            used_for_clustering: c.clustered
                && ctx.enc.prep.transforms.iter().any(|t| t.column() == c.name),
            note: c.note.clone(),
        })
        .collect();
    let pcs = ArrayView2::from_shape((n, 2), ctx.pcs)
        .map_err(|e| Error::Data(format!("PCA coordinates: {e}")))?;
    // Correlation of the numeric features on the histogram sample: scale does not change it.
    let hist = feature_sample(ctx.input, ctx.labels, HISTOGRAM_MAX, ctx.cmd.seed);
    let correlation = (hist.features.len() >= 2).then(|| {
        let m = hist.features[0].1.len();
        let d = hist.features.len();
        let x = Array2::from_shape_fn((m, d), |(i, j)| hist.features[j].1[i] as f32);
        let names = hist.features.iter().map(|(n, _)| n.clone()).collect();
        (names, analysis::correlation(x.view()))
    });
    let input = ReportInput {
        title: format!(
            "Customer segments of {}",
            ctx.cmd
                .input
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        input_file: ctx.cmd.input.display().to_string(),
        rows_in: ctx.table.rows_in(),
        rows_segmented: n as u64,
        rows_rejected: ctx.cleaned.rejects.len() as u64,
        reject_reasons: reasons,
        columns,
        notes: ctx.notes.to_vec(),
        features: ctx.enc.prep.features.clone(),
        k_choice: ctx.choice.cloned(),
        sweep_sample: (ctx.sweep_rows > 0 && ctx.sweep_rows < n).then_some(ctx.sweep_rows as u64),
        silhouette_sample: ctx.cmd.silhouette_sample.min(n) as u64,
        k: ctx.primary.k,
        silhouette_from_sweep: ctx.silhouette_from_sweep,
        inertia: ctx.inertia,
        silhouette: ctx.silhouette,
        simplified_silhouette: ctx.simplified,
        explained_variance: ctx.pca.explained_variance.clone(),
        explained_variance_ratio: ctx.pca.explained_variance_ratio.clone(),
        pca_points: scatter_sample(pcs, ctx.labels, SCATTER_MAX, ctx.cmd.seed),
        histograms: hist,
        correlation,
        profiles: ctx.profiles.to_vec(),
        timings: times.0.clone(),
        backend: ctx.backend.backend.clone(),
        adapter: ctx.backend.adapter.clone(),
        seed: ctx.cmd.seed,
        version: env!("CARGO_PKG_VERSION").into(),
        noise_slot: (ctx.primary.n_noise > 0).then_some(ctx.primary.k as u32),
        algorithm: ctx.primary.algorithm.name().into(),
        algorithm_notes: ctx.algorithm_notes.to_vec(),
        comparison: ctx.comparison.to_vec(),
        dendrogram: match &ctx.primary.detail {
            Detail::Hierarchical { dendrogram, .. } => Some(dendrogram.clone()),
            _ => None,
        },
        k_distance: match &ctx.primary.detail {
            Detail::Dbscan {
                suggested: Some(s), ..
            } => Some((
                s.curve.clone(),
                s.knee_index,
                s.min_samples.saturating_sub(1).max(1),
                s.eps,
            )),
            _ => None,
        },
    };
    write_report(&ctx.cmd.out, &input)?;
    Ok(())
}

impl RunSummary {
    /// The human-readable summary printed at the end of a run.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        s += "schema\n";
        s += &self.schema_text;
        if !self.notes.is_empty() {
            s += "\ncleaning\n";
            for n in &self.notes {
                s += &format!("  {n}\n");
            }
        }
        s += &format!(
            "\n{} rows in: {} segmented, {} rejected ({} duplicates)\n",
            self.rows_in, self.rows_segmented, self.rows_rejected, self.duplicates
        );
        s += &format!(
            "k = {} ({}); silhouette {:.3} (sampled), simplified {:.3}, inertia {:.4e}; {} backend ({})\n",
            self.k,
            self.k_rule,
            self.silhouette,
            self.simplified_silhouette,
            self.inertia,
            self.backend,
            self.adapter
        );
        if self.algorithm != ClusterAlgorithm::Kmeans.name() || !self.algorithm_notes.is_empty() {
            s += &format!("\nalgorithm: {}\n", self.algorithm);
            for n in &self.algorithm_notes {
                s += &format!("  {n}\n");
            }
        }
        if !self.compare.is_empty() {
            s += "\ncompared (silhouette on the same sample, noise left out)\n";
            s += &format!(
                "  {:<13} {:>8} {:>7} {:>10} {:>8}  how\n",
                "algorithm", "clusters", "noise", "silhouette", "seconds"
            );
            for c in &self.compare {
                s += &format!(
                    "  {:<13} {:>8} {:>6.1}% {:>10.3} {:>8.3}  {}\n",
                    c.algorithm,
                    c.clusters,
                    100.0 * c.noise_share,
                    c.silhouette,
                    c.seconds,
                    c.note
                );
            }
        }
        s += "\nsegments\n";
        for (c, (size, name)) in self.sizes.iter().zip(&self.segment_names).enumerate() {
            s += &format!(
                "  {c}: {name} — {size} rows ({:.1}%)\n",
                100.0 * *size as f64 / self.rows_segmented.max(1) as f64
            );
        }
        if self.noise_rows > 0 {
            s += &format!(
                "  -1: noise — {} rows ({:.1}%)\n",
                self.noise_rows,
                100.0 * self.noise_rows as f64 / self.rows_segmented.max(1) as f64
            );
        }
        s += "\n";
        s += &self.stage_seconds.to_text();
        s += &format!(
            "\nwrote {}/segments.csv, rejects.csv, model.json and the report ({}/report.html)\n",
            self.out.display(),
            self.out.display()
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::reject_category;

    #[test]
    fn reject_reasons_group_without_their_values() {
        assert_eq!(
            reject_category("duplicate of row 12"),
            "exact duplicate of an earlier row"
        );
        assert_eq!(
            reject_category("column 'a': 'oops' is not a number"),
            "column 'a': value is not a number"
        );
        assert_eq!(
            reject_category("column 'b': '-inf' is not a finite number"),
            "column 'b': value is not a finite number"
        );
        assert_eq!(
            reject_category("expected 3 fields as in the header, found 1 (line 9)"),
            "wrong number of fields"
        );
        assert_eq!(
            reject_category("column 'x': 912 is an outlier (outside [1, 2]; --outliers drop)"),
            "column 'x': outlier (--outliers drop)"
        );
    }
}
