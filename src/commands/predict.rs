//! `segmenter predict model.json FILE -o scored.csv`: applies a saved model to new rows.

use super::cluster_stage::split_mixed;
use super::model_file::ModelFile;
use super::output::{write_rejects, write_segments, Scored};
use super::score::{nearest_centroids, project2};
use crate::cluster::ClusterAlgorithm;
use crate::data::clean::{Origin, Reject};
use crate::error::{Error, Result};
use crate::io::{read_table, Table};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A validated `predict` invocation.
#[derive(Clone, Debug)]
pub struct PredictCommand {
    /// model.json written by `run`.
    pub model: PathBuf,
    /// Table to score.
    pub input: PathBuf,
    /// Scored table (same layout as segments.csv).
    pub output: PathBuf,
}

/// What `predict` reports.
#[derive(Clone, Debug, Serialize)]
pub struct PredictSummary {
    /// Data rows read.
    pub rows_in: u64,
    /// Rows scored.
    pub rows_scored: u64,
    /// Rows that could not be scored (written to `rejects`).
    pub rows_rejected: u64,
    /// Where unscorable rows went, when there were any.
    pub rejects: Option<PathBuf>,
    /// Columns of the file the model does not use.
    pub extra_columns: Vec<String>,
    /// Rows per segment.
    pub sizes: Vec<u64>,
    /// Segment names.
    pub segment_names: Vec<String>,
    /// The scored file.
    pub output: PathBuf,
}

/// `scored.csv` → `scored.rejects.csv`, beside it.
pub fn rejects_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scored".into());
    output.with_file_name(format!("{stem}.rejects.csv"))
}

/// Scores every row of `cmd.input` with the model; rows that cannot be scored (a text value in
/// a numeric column, a missing value under `--impute drop`, a wrong field count) go to
/// `<output>.rejects.csv` with their reason.
pub fn run_predict(cmd: &PredictCommand) -> Result<PredictSummary> {
    let model = ModelFile::load(&cmd.model)?;
    if model.algorithm == ClusterAlgorithm::Dbscan {
        return Err(Error::Data(format!(
            "{}: the segments were found by DBSCAN, which has no centres to score new rows against \
             (a row's cluster depends on its neighbours in the fitted table); run `segmenter run --algorithm dbscan` \
             on the old and new rows together, or fit with --algorithm kmeans, hierarchical or kprototypes to score new rows",
            cmd.model.display()
        )));
    }
    let table = read_table(&cmd.input)?;
    let s = score_table(&model, &table)?;
    write_segments(
        &cmd.output,
        &table,
        &Scored {
            rows: &s.kept,
            labels: &s.labels,
            names: &model.segment_names,
            pcs: s.pcs.as_deref(),
            distances: &s.distances,
        },
    )?;
    let rejects = s.rejects;
    let rejects_file = if rejects.is_empty() {
        None
    } else {
        let p = rejects_path(&cmd.output);
        write_rejects(&p, &table, &rejects)?;
        Some(p)
    };
    let mut sizes = vec![0u64; model.k];
    for &l in &s.labels {
        sizes[l as usize] += 1;
    }
    Ok(PredictSummary {
        rows_in: table.rows_in(),
        rows_scored: s.kept.len() as u64,
        rows_rejected: rejects.len() as u64,
        rejects: rejects_file,
        extra_columns: s.extra_columns,
        sizes,
        segment_names: model.segment_names.clone(),
        output: cmd.output.clone(),
    })
}

/// A table scored by a model: the rows that could be scored with their segment, distance and
/// PCA coordinates, and the rows that could not, with their reason.
#[derive(Clone, Debug)]
pub struct Scores {
    /// Table row index of each scored row.
    pub kept: Vec<usize>,
    /// Segment of each scored row.
    pub labels: Vec<u32>,
    /// Distance of each scored row to its segment's centre (scaled feature space).
    pub distances: Vec<f32>,
    /// `pc1, pc2` of each scored row, interleaved, when the model has PCA axes.
    pub pcs: Option<Vec<f32>>,
    /// Rows that could not be scored, in row order.
    pub rejects: Vec<Reject>,
    /// Columns of the table the model was not fitted on.
    pub extra_columns: Vec<String>,
}

/// Scores every row of `table` with `model`, as `run` labelled its own rows; writes nothing.
pub fn score_table(model: &ModelFile, table: &Table) -> Result<Scores> {
    if model.algorithm == ClusterAlgorithm::Dbscan {
        return Err(Error::Data(format!(
            "{}: the segments were found by DBSCAN, which has no centres to score new rows against \
             (a row's cluster depends on its neighbours in the fitted table); run `segmenter run --algorithm dbscan` \
             on the old and new rows together, or fit with --algorithm kmeans, hierarchical or kprototypes to score new rows",
            model.fitted_on
        )));
    }
    let (cols, _) = model.prep.match_columns(table)?;
    // Extra means unknown to the training file; its id and text columns are expected.
    let extra_columns: Vec<String> = table
        .columns
        .iter()
        .filter(|c| !model.schema.columns.iter().any(|s| &s.name == *c))
        .cloned()
        .collect();
    let rows: Vec<usize> = (0..table.n_rows()).collect();
    let (x, kept, issues) = model.prep.transform(table, &cols, &rows);
    // Each algorithm scores as `run` labelled: k-prototypes by its mixed cost, the others by
    // the nearest centre (for hierarchical, the mean of each segment's rows).
    let (labels, sq) = match (model.algorithm, &model.kprototypes) {
        (ClusterAlgorithm::Kprototypes, Some(kp)) => {
            let (xn, xc) = split_mixed(x.view(), &model.prep);
            kp.predict(xn.view(), xc.view())?
        }
        _ => nearest_centroids(x.view(), &model.centroids),
    };
    let pcs = model.pca.as_ref().map(|a| project2(x.view(), a));
    let distances: Vec<f32> = sq.iter().map(|&s| s.sqrt() as f32).collect();
    let mut rejects = crate::data::clean::ragged_rejects(table);
    rejects.extend(issues.into_iter().map(|i| Reject {
        origin: Origin::Row(i.index),
        row: table.row_number(i.index),
        reason: i.reason,
    }));
    rejects.sort_by_key(|r| r.row);
    Ok(Scores {
        kept,
        labels,
        distances,
        pcs,
        rejects,
        extra_columns,
    })
}

impl PredictSummary {
    /// Human-readable summary.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if !self.extra_columns.is_empty() {
            s += &format!(
                "note: column{} {} not in the file the model was fitted on: copied to the output, not used\n",
                if self.extra_columns.len() > 1 { "s" } else { "" },
                self.extra_columns
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        s += &format!(
            "scored {} of {} rows into {}\n",
            self.rows_scored,
            self.rows_in,
            self.output.display()
        );
        if let Some(p) = &self.rejects {
            s += &format!(
                "{} rows could not be scored: see {}\n",
                self.rows_rejected,
                p.display()
            );
        }
        for (c, (size, name)) in self.sizes.iter().zip(&self.segment_names).enumerate() {
            s += &format!("  {c}: {name} — {size} rows\n");
        }
        s
    }
}
