//! `segmenter run FILE`: read → schema → clean → encode/scale → choose k → cluster → PCA →
//! profile → write segments, rejects, model and report.

use super::model_file::{ModelFile, PcaAxes, MODEL_FORMAT, MODEL_VERSION};
use super::output::{write_rejects, write_segments, Scored};
use super::progress::{StageTimes, Stages};
use super::score::{nearest_centroids, project2};
use crate::analysis::{self, KChoice, Pca, ProfileInput, SegmentProfile};
use crate::backend::{dispatch, Backend, BackendChoice, Problem, WithBackend};
use crate::data::clean::CleanColumn;
use crate::data::{
    clean, encode, infer_schema, read_table, CleanParams, Cleaned, Encoded, Kind, LogSpec,
    Overrides, Scale, Schema, Table,
};
use crate::error::{Error, Result};
use crate::kmeans::driver::distinct_rows;
use crate::kmeans::{fit_uploaded, fit_uploaded_from, Fit, KMeansParams};
use crate::report::input::{
    feature_sample, scatter_sample, ColumnInfo, ReportInput, HISTOGRAM_MAX, SCATTER_MAX,
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
        }
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
    /// Printable schema table.
    #[serde(skip)]
    pub schema_text: String,
    /// Profiles, for the text summary.
    #[serde(skip)]
    pub profiles: Vec<SegmentProfile>,
}

/// What the clustering job returns.
struct Clustered {
    fit: Fit,
    choice: Option<KChoice>,
    sweep_rows: usize,
    backend: crate::backend::DeviceInfo,
    sweep_seconds: f64,
    fit_seconds: f64,
}

/// Elbow sweep (on a sample when large) and the final fit on every row, on one backend.
struct ClusterJob<'a> {
    x: ArrayView2<'a, f32>,
    k: KSpec,
    k_range: RangeInclusive<usize>,
    params: KMeansParams,
    silhouette_sample: usize,
    sweep_sample: usize,
}

impl WithBackend for ClusterJob<'_> {
    type Output = Clustered;

    fn run<B: Backend>(self, backend: &B) -> Result<Clustered> {
        let n = self.x.nrows();
        let t0 = Instant::now();
        let mut choice = None;
        let mut sweep_rows = 0;
        let mut reuse: Option<Fit> = None;
        let mut start: Option<Vec<f32>> = None;
        let k = match self.k {
            KSpec::Fixed(k) => k,
            KSpec::Auto => {
                let (sample, sampled) = if n > self.sweep_sample {
                    let idx = analysis::sample_indices(n, self.sweep_sample, self.params.seed);
                    (Some(self.x.select(Axis(0), &idx)), true)
                } else {
                    (None, false)
                };
                let xs = sample.as_ref().map_or(self.x, |s| s.view());
                sweep_rows = xs.nrows();
                let points = backend.upload(xs)?;
                // The sweep compares k values: one k-means++ run each is enough for the curve.
                let sweep_params = KMeansParams {
                    n_init: 1,
                    ..self.params.clone()
                };
                let fits = analysis::sweep_k(
                    backend,
                    &points,
                    xs,
                    self.k_range.clone(),
                    &sweep_params,
                    self.silhouette_sample,
                )?;
                let scores: Vec<_> = fits.iter().map(|(s, _)| s.clone()).collect();
                let c = analysis::choose_k(&scores);
                let k = c.k;
                let chosen = fits.into_iter().find(|(s, _)| s.k == k).map(|(_, f)| f);
                if self.params.n_init == 1 {
                    if sampled {
                        // The sample's fit starts the fit on every row near its optimum.
                        start = chosen.map(|f| f.model.centroids.iter().copied().collect());
                    } else {
                        reuse = chosen;
                    }
                }
                choice = Some(c);
                k
            }
        };
        let sweep_seconds = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let params = KMeansParams {
            k,
            ..self.params.clone()
        };
        let fit = match (reuse, start) {
            (Some(f), _) => f,
            (None, Some(init)) => {
                let points = backend.upload(self.x)?;
                let mut f = fit_uploaded_from(backend, &points, self.x, &params, &init)?;
                f.canonicalize();
                f
            }
            (None, None) => {
                let points = backend.upload(self.x)?;
                let mut f = fit_uploaded(backend, &points, self.x, &params)?;
                f.canonicalize();
                f
            }
        };
        Ok(Clustered {
            fit,
            choice,
            sweep_rows,
            backend: backend.info(),
            sweep_seconds,
            fit_seconds: t1.elapsed().as_secs_f64(),
        })
    }
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
    let kmax = match cmd.k {
        KSpec::Fixed(k) => k,
        KSpec::Auto => *cmd.k_range.end(),
    };
    let params = KMeansParams::new(kmax.max(1))
        .seed(cmd.seed)
        .n_init(cmd.n_init);
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
    let job = ClusterJob {
        x,
        k: cmd.k,
        k_range: cmd.k_range.clone(),
        params,
        silhouette_sample: cmd.silhouette_sample,
        sweep_sample: cmd.sweep_sample,
    };
    let problem = Problem {
        n,
        d: x.ncols(),
        k: kmax,
    };
    let what = match cmd.k {
        KSpec::Auto => "choosing k and clustering",
        KSpec::Fixed(_) => "clustering",
    };
    let clustered = st.spin(what, || dispatch(cmd.backend, problem, job)).0?;
    st.record("choose_k", clustered.sweep_seconds);
    st.record("cluster", clustered.fit_seconds);
    let fit = clustered.fit;
    let k = fit.model.centroids.nrows();
    let centroids: Vec<Vec<f32>> = fit
        .model
        .centroids
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .collect();

    let (labels, sq, pcs, axes, pca) = st.run("pca", "projecting (PCA)", || {
        // Label with the function predict uses, so run and predict agree row for row.
        let (labels, sq) = nearest_centroids(x, &centroids);
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
        Ok((labels, sq, pcs, axes, pca))
    })?;
    let inertia: f64 = sq.iter().sum();
    let (input, profiles, silhouette, simplified) =
        st.run("profile", "profiling segments", || {
            let input = profile_input(&mut cleaned);
            let profiles = analysis::profile_segments(&input, &labels, k);
            // With k auto, the sweep already scored the chosen k on a seeded sample; the final
            // fit starts from that fit, so its partition is the same up to boundary rows.
            let swept = clustered
                .choice
                .as_ref()
                .and_then(|c| c.scores.iter().find(|s| s.k == k))
                .map(|s| s.silhouette)
                .filter(|s| s.is_finite());
            let sil = match swept {
                Some(s) => s,
                None => analysis::sampled_silhouette(x, &labels, cmd.silhouette_sample, cmd.seed)?,
            };
            let simp = analysis::simplified_silhouette(x, fit.model.centroids.view(), &labels)?;
            Ok((input, profiles, sil, simp))
        })?;
    let names: Vec<String> = (0..k)
        .map(|c| {
            profiles
                .iter()
                .find(|p| p.segment as usize == c)
                .map_or_else(|| format!("segment {c}"), |p| p.name.clone())
        })
        .collect();
    let distances: Vec<f32> = sq.iter().map(|&s| s.sqrt() as f32).collect();
    let mut notes = cleaned.notes.clone();
    notes.extend(enc.notes.iter().cloned());
    if clustered.sweep_rows > 0 && clustered.sweep_rows < n {
        notes.push(format!(
            "the elbow sweep was fitted on a seeded sample of {} of {n} rows; the final model on all rows, starting from the sample's centroids for the chosen k",
            clustered.sweep_rows
        ));
    }
    st.run("write", "writing segments, rejects and model", || {
        write_segments(
            &cmd.out.join("segments.csv"),
            &table,
            &Scored {
                rows: &cleaned.kept,
                labels: &labels,
                names: &names,
                pcs: Some(&pcs),
                distances: &distances,
            },
        )?;
        write_rejects(&cmd.out.join("rejects.csv"), &table, &cleaned.rejects)?;
        ModelFile {
            format: MODEL_FORMAT.into(),
            version: MODEL_VERSION,
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
            kmeans: fit.model.params.clone(),
            k,
            centroids: centroids.clone(),
            segment_names: names.clone(),
            pca: Some(axes.clone()),
        }
        .save(&cmd.out.join("model.json"))
    })?;
    let mut sizes = vec![0u64; k];
    for &l in &labels {
        sizes[l as usize] += 1;
    }
    let k_rule = match &clustered.choice {
        Some(c) => c.reason.clone(),
        None => format!("k = {k} given with --k"),
    };
    let report_ctx = ReportContext {
        cmd,
        table: &table,
        schema: &schema,
        cleaned: &cleaned,
        enc: &enc,
        input: &input,
        labels: &labels,
        pcs: &pcs,
        pca: &pca,
        choice: clustered.choice.as_ref(),
        sweep_rows: clustered.sweep_rows,
        profiles: &profiles,
        notes: &notes,
        backend: &clustered.backend,
        silhouette,
        simplified,
        inertia,
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
        inertia,
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
        schema_text: schema.to_text(),
        profiles,
    })
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
        k: ctx.profiles.len(),
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
        s += "\nsegments\n";
        for (c, (size, name)) in self.sizes.iter().zip(&self.segment_names).enumerate() {
            s += &format!(
                "  {c}: {name} — {size} rows ({:.1}%)\n",
                100.0 * *size as f64 / self.rows_segmented.max(1) as f64
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
