//! `summary.json`: what the `serve` dashboard shows of a run, in one file written beside the
//! report: segments with names, sizes and profiles, the k-choice curves, and a seeded sample
//! of the PCA scatter with each point's customer row.

use super::input::ReportInput;
use crate::data::sample::sample_indices;
use crate::error::{Error, Result};
use crate::io::Table;
use crate::pipeline::Segmentation;
use serde_json::{json, Value};
use std::path::Path;

/// File name of the run summary in the output directory.
pub const SUMMARY_JSON: &str = "summary.json";
/// Points of the PCA scatter sample at most (each carries its row, so the file stays small).
pub const DASHBOARD_POINTS: usize = 2_000;
/// Value of `format` in summary.json.
pub const SUMMARY_FORMAT: &str = "segmenter-run-summary";

/// The summary of `seg` (fitted on `table`) with the report's numbers in `input`.
pub fn dashboard_summary(seg: &Segmentation, table: &Table, input: &ReportInput) -> Result<Value> {
    let n = seg.rows().len();
    let pcs = seg.projection();
    let labels = seg.labels();
    let names = seg.segment_names();
    let idx = sample_indices(n, DASHBOARD_POINTS, seg.params().seed);
    let points: Vec<Value> = idx
        .iter()
        .filter(|&&i| 2 * i + 1 < pcs.len())
        .map(|&i| {
            let t = seg.rows()[i];
            let fields: Vec<String> = (0..table.n_cols())
                .map(|j| String::from_utf8_lossy(table.field(t, j)).into_owned())
                .collect();
            let l = labels[i];
            json!({
                "row": table.row_number(t),
                "pc1": pcs[2 * i],
                "pc2": pcs[2 * i + 1],
                "segment": if l == crate::pipeline::NOISE { -1 } else { l as i64 },
                "values": fields,
            })
        })
        .collect();
    // Each sampled row mapped a folio of the file back in.
    table.release_all();
    let segments: Vec<Value> = seg
        .profiles()
        .iter()
        .map(|p| {
            json!({
                "segment": p.segment,
                "name": p.name,
                "size": p.size,
                "share": p.share,
                "description": p.description,
                "action": p.action,
                "numeric": p.numeric,
                "categorical": p.categorical,
            })
        })
        .collect();
    Ok(json!({
        "format": SUMMARY_FORMAT,
        "version": 1,
        "title": input.title,
        "input_file": seg.source_name(),
        "rows_in": input.rows_in,
        "rows_segmented": input.rows_segmented,
        "rows_rejected": input.rows_rejected,
        "algorithm": input.algorithm,
        "k": input.k,
        "segment_names": names,
        "features": input.features,
        "silhouette": input.silhouette,
        "inertia": input.inertia,
        "explained_variance_ratio": input.explained_variance_ratio,
        "k_choice": input.k_choice,
        "segments": segments,
        "columns": table.columns,
        "pca_sample": points,
    }))
}

/// Writes summary.json into `out` through a temporary file and a rename.
pub fn write_dashboard_summary(
    out: &Path,
    seg: &Segmentation,
    table: &Table,
    input: &ReportInput,
) -> Result<()> {
    let v = dashboard_summary(seg, table, input)?;
    let text = serde_json::to_vec(&v).map_err(|e| Error::Data(e.to_string()))?;
    crate::io::write_atomic_bytes(&out.join(SUMMARY_JSON), |b| {
        b.extend_from_slice(&text);
        b.push(b'\n');
    })
}
