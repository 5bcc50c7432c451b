//! Everything a segmentation writes into its output directory: `segments.csv` (or
//! `segments.parquet`),
//! `rejects.csv`, `model.json`, then the report (`report.md`, `report.html`, `profile.csv`,
//! `plots/`) and `summary.json` (the dashboard's), each file through a temporary file and a rename.

use super::input::{scatter_sample, ColumnInfo, ReportInput, SCATTER_MAX};
use super::tables::{push_rejects, write_segments, Scored};
use super::write::write_report;
use crate::analysis;
use crate::error::{Error, Result};
use crate::io::{write_atomic_bytes, Table};
use crate::pipeline::cluster::Detail;
use crate::pipeline::{Observer, Quiet, Segmentation, Stage, StageTimes};
use ndarray::{Array2, ArrayView2};
use std::path::{Path, PathBuf};

/// At most this many numeric features are drawn in the histograms and correlation heatmap.
pub const PLOT_MAX_FEATURES: usize = 24;

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

/// How the segmented table is written (`--output-format`); every other output is the same.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// `segments.csv` (the default).
    #[default]
    Csv,
    /// `segments.parquet` (needs the `parquet` feature).
    Parquet,
}

impl OutputFormat {
    /// The segmented table's file name in the output directory.
    pub fn segments_file(self) -> &'static str {
        match self {
            OutputFormat::Csv => "segments.csv",
            OutputFormat::Parquet => "segments.parquet",
        }
    }
}

/// Writes every output of `seg` (fitted on `table`) into `out`; returns the stage timings,
/// the fit's and the writes'.
pub fn write_dir(seg: &Segmentation, table: &Table, out: &Path) -> Result<StageTimes> {
    write_dir_observed(seg, table, out, &mut Quiet)
}

/// [`write_dir`], telling `observer` about the write and report stages.
pub fn write_dir_observed(
    seg: &Segmentation,
    table: &Table,
    out: &Path,
    observer: &mut dyn Observer,
) -> Result<StageTimes> {
    write_dir_as(seg, table, out, OutputFormat::Csv, observer)
}

/// [`write_dir_observed`] with the segmented table in `format`.
pub fn write_dir_as(
    seg: &Segmentation,
    table: &Table,
    out: &Path,
    format: OutputFormat,
    observer: &mut dyn Observer,
) -> Result<StageTimes> {
    prepare_out_dir(out)?;
    let [segments, rejects, model] =
        [format.segments_file(), "rejects.csv", "model.json"].map(|f| out.join(f));
    let mut times = seg.stage_seconds().clone();
    // The analysis's large blocks, freed, would otherwise stay mapped while the output is
    // formatted in small buffers.
    #[cfg(target_os = "linux")]
    crate::alloc::release_cached();
    times.run(observer, Stage::Write, || {
        let scored = Scored {
            rows: seg.rows(),
            labels: seg.labels(),
            names: seg.segment_names(),
            pcs: Some(seg.projection()),
            distances: seg.distances(),
        };
        // rejects.csv (scattered reads of the table) is formatted beside segments.csv (bound
        // by the disk once its rows are formatted), and written once segments.csv is.
        let rejected = std::thread::scope(|scope| {
            let rejected = scope.spawn(|| {
                let mut out = Vec::new();
                push_rejects(&mut out, table, seg.rejects());
                out
            });
            let written = match format {
                OutputFormat::Csv => write_segments(&segments, table, &scored),
                #[cfg(feature = "parquet")]
                OutputFormat::Parquet => {
                    super::parquet_out::write_segments_parquet(&segments, table, &scored)
                }
                #[cfg(not(feature = "parquet"))]
                OutputFormat::Parquet => Err(Error::Data(
                    "Parquet output needs segmenter built with the `parquet` feature".into(),
                )),
            };
            let rejected = rejected
                .join()
                .map_err(|_| Error::Data("formatting rejects.csv panicked".into()));
            written.and(rejected)
        })?;
        write_atomic_bytes(&rejects, |out| *out = rejected)?;
        seg.model().save(&model)
    })?;
    let mut written = vec![segments, rejects, model];
    // A table derived from a log (`run --from`) was written here too, with its rejects.
    if table.path == out.join("customers.csv") {
        written.push(out.join("customers.csv"));
        written.push(out.join("customers.rejects.csv"));
    }
    write_report_and_manifest(seg, table, out, written, &mut times, observer)?;
    Ok(times)
}

/// The report stage of a run whose tables are already `written`: report.md/html, plots,
/// profile.csv and the dashboard's summary.json from `table` (the rows `seg` indexes), then
/// the output-dir manifest naming all of them.
pub(crate) fn write_report_and_manifest(
    seg: &Segmentation,
    table: &Table,
    out: &Path,
    mut written: Vec<PathBuf>,
    times: &mut StageTimes,
    observer: &mut dyn Observer,
) -> Result<()> {
    let input = report_input(seg, times)?;
    let files = times.run(observer, Stage::Report, || {
        let files = write_report(out, &input)?;
        super::dashboard::write_dashboard_summary(out, seg, table, &input)?;
        Ok::<_, Error>(files)
    })?;
    written.extend([
        out.join(super::dashboard::SUMMARY_JSON),
        files.markdown,
        files.html,
        files.profile_csv,
    ]);
    written.extend(files.plots);
    super::manifest::update(out, &written)?;
    Ok(())
}

/// The report's contents for `seg`, with `times` as its timings.
pub fn report_input(seg: &Segmentation, times: &StageTimes) -> Result<ReportInput> {
    let n = seg.rows().len();
    let mut reasons: Vec<(String, u64)> = Vec::new();
    for r in seg.rejects() {
        let c = r.reason.category();
        match reasons.iter_mut().find(|(k, _)| *k == c) {
            Some(e) => e.1 += 1,
            None => reasons.push((c, 1)),
        }
    }
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let prep = seg.prep();
    let columns = seg
        .schema()
        .columns
        .iter()
        .map(|c| ColumnInfo {
            name: c.name.clone(),
            kind: c.kind.name().into(),
            missing: c.missing as u64,
            distinct: c.distinct as u64,
            used_for_clustering: c.clustered
                && prep.transforms.iter().any(|t| t.column() == c.name),
            note: c.note.clone(),
        })
        .collect();
    let groups = seg.groups();
    let pcs = ArrayView2::from_shape((n, 2), seg.projection())
        .map_err(|e| Error::Data(format!("PCA coordinates: {e}")))?;
    // Correlation of the numeric features on the histogram sample (scale does not change
    // it), over the rows with every value present.
    let mut hist = seg.histograms().clone();
    let mut notes = seg.notes().to_vec();
    // A wide table's plots show the features that set segments apart most: 200 histograms and
    // a 200 × 200 heatmap are neither readable nor small.
    if hist.features.len() > PLOT_MAX_FEATURES {
        let strength = |name: &str| {
            seg.profiles()
                .iter()
                .flat_map(|p| p.numeric.iter().filter(|n| n.column == name))
                .map(|n| n.robust_z.abs())
                .fold(0.0, f64::max)
        };
        let total = hist.features.len();
        let mut order: Vec<(usize, f64)> = hist
            .features
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (i, strength(name)))
            .collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut keep: Vec<usize> = order[..PLOT_MAX_FEATURES].iter().map(|x| x.0).collect();
        keep.sort_unstable();
        let features = std::mem::take(&mut hist.features);
        hist.features = features
            .into_iter()
            .enumerate()
            .filter(|(i, _)| keep.binary_search(i).is_ok())
            .map(|(_, f)| f)
            .collect();
        notes.push(format!(
            "the histograms and the correlation heatmap show the {PLOT_MAX_FEATURES} of {total} \
             numeric features that differ most between segments (largest |z|); profile.csv \
             has every feature"
        ));
    }
    let correlation = (hist.features.len() >= 2).then(|| {
        let d = hist.features.len();
        let complete: Vec<usize> = (0..hist.features[0].1.len())
            .filter(|&i| hist.features.iter().all(|(_, v)| v[i].is_finite()))
            .collect();
        let x = Array2::from_shape_fn((complete.len(), d), |(i, j)| {
            hist.features[j].1[complete[i]] as f32
        });
        let names = hist.features.iter().map(|(n, _)| n.clone()).collect();
        (names, analysis::correlation(x.view()))
    });
    let params = seg.params();
    let sweep_rows = seg.sweep_rows();
    let k = seg.k();
    let backend = seg.backend();
    Ok(ReportInput {
        title: format!("Customer segments of {}", seg.source_name()),
        input_file: seg.source_path().to_string(),
        rows_in: seg.rows_in(),
        rows_segmented: seg.rows_segmented(),
        rows_rejected: seg.rejects().len() as u64,
        reject_reasons: reasons,
        columns,
        notes,
        features: seg.features().to_vec(),
        k_choice: seg.k_choice().cloned(),
        sweep_sample: (sweep_rows > 0 && sweep_rows < n).then_some(sweep_rows as u64),
        silhouette_sample: params.silhouette_sample.min(n) as u64,
        k,
        silhouette_from_sweep: seg.silhouette_from_sweep(),
        segment_stability: seg.segment_stability().to_vec(),
        value_share: seg.value_share().cloned(),
        inertia: seg.inertia(),
        silhouette: seg.silhouette(),
        simplified_silhouette: seg.simplified_silhouette(),
        explained_variance: seg.pca().explained_variance.clone(),
        explained_variance_ratio: seg.pca().explained_variance_ratio.clone(),
        pca_points: scatter_sample(pcs, &groups, SCATTER_MAX, params.seed),
        histograms: hist,
        correlation,
        profiles: seg.profiles().to_vec(),
        timings: times.0.clone(),
        backend: backend.backend.clone(),
        adapter: backend.adapter.clone(),
        seed: params.seed,
        version: env!("CARGO_PKG_VERSION").into(),
        noise_slot: (seg.noise_rows() > 0).then_some(k as u32),
        algorithm: seg.algorithm().name().into(),
        algorithm_notes: seg.algorithm_notes().to_vec(),
        comparison: seg.comparison().to_vec(),
        dendrogram: match seg.detail() {
            Detail::Hierarchical { dendrogram, .. } => Some(dendrogram.clone()),
            _ => None,
        },
        k_distance: match seg.detail() {
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
    })
}
