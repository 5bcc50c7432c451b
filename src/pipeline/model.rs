//! The saved model (`model.json`): everything needed to score new rows as the fit scored its
//! own, and the scoring itself.

use crate::cluster::dbscan::DbscanParams;
use crate::cluster::kprototypes::KPrototypesModel;
use crate::cluster::ClusterAlgorithm;
use crate::data::prep::{CategoricalTransform, Transform, OTHER_LEVEL};
use crate::data::reject::{ragged_rejects, Origin, Reject};
use crate::data::{CleanParams, Kind, LogSpec, Prep, Scale, Schema};
use crate::error::{Error, Param, Result};
use crate::io::table::is_missing;
use crate::io::Table;
use crate::kmeans::{nearest, KMeansParams};
use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Value of `format` in every model file.
pub const MODEL_FORMAT: &str = "segmenter-model";
/// Version of the model file layout; bumped on incompatible change.
pub const MODEL_VERSION: u32 = 2;

/// Layout version a model of `algorithm` is written with: k-means files keep version 1, which
/// earlier segmenters read; the others need `algorithm` understood (version 2), so an earlier
/// segmenter refuses them rather than scoring them as k-means.
pub fn model_version(algorithm: ClusterAlgorithm) -> u32 {
    if algorithm == ClusterAlgorithm::Kmeans {
        1
    } else {
        MODEL_VERSION
    }
}

/// The two leading principal axes, so scored rows get `pc1`, `pc2` too.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PcaAxes {
    /// Feature means subtracted before projecting.
    pub mean: Vec<f64>,
    /// Two rows of `features` weights.
    pub components: Vec<Vec<f64>>,
}

/// The saved model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SegmentModel {
    /// Always "segmenter-model".
    pub format: String,
    /// Layout version (`MODEL_VERSION`).
    pub version: u32,
    /// segmenter version that wrote it.
    pub segmenter_version: String,
    /// File the model was fitted on (name only).
    pub fitted_on: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// Inferred schema of the training file.
    pub schema: Schema,
    /// Cleaning parameters.
    pub cleaning: CleanParams,
    /// Scaling method.
    pub scale: Scale,
    /// Log setting.
    pub log: LogSpec,
    /// Fitted per-column transforms and feature names.
    pub prep: Prep,
    /// k-means parameters of the final fit.
    pub kmeans: KMeansParams,
    /// Number of segments.
    pub k: usize,
    /// k rows of centroids in the scaled feature space.
    pub centroids: Vec<Vec<f32>>,
    /// Name of each segment.
    pub segment_names: Vec<String>,
    /// PCA axes of the scaled features.
    pub pca: Option<PcaAxes>,
    /// Algorithm the segments came from (files without it are k-means).
    #[serde(default)]
    pub algorithm: ClusterAlgorithm,
    /// k-prototypes prototypes and γ, when that algorithm made the segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kprototypes: Option<KPrototypesModel>,
    /// DBSCAN parameters, when that algorithm made the segments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dbscan: Option<DbscanParams>,
    /// Where the model was loaded from (not saved), for messages.
    #[serde(skip)]
    pub source: Option<std::path::PathBuf>,
}

impl SegmentModel {
    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<SegmentModel> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        Self::from_json(path, &text)
    }

    /// Reads and validates a model from its JSON text; `path` names it in messages.
    pub fn from_json(path: &Path, text: &str) -> Result<SegmentModel> {
        let bad = |why: String| Error::Model {
            path: path.to_path_buf(),
            why,
        };
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if v.get("format").and_then(|f| f.as_str()) != Some(MODEL_FORMAT) {
            return Err(bad("no \"format\": \"segmenter-model\"".into()));
        }
        let version = v.get("version").and_then(|f| f.as_u64()).unwrap_or(0);
        if version == 0 || version > MODEL_VERSION as u64 {
            return Err(bad(format!(
                "layout version {version}, this segmenter reads version {MODEL_VERSION}"
            )));
        }
        let mut m: SegmentModel = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
        m.source = Some(path.to_path_buf());
        let d = m.prep.features.len();
        // DBSCAN may find no cluster at all; predict refuses DBSCAN models with its own message.
        let centres_ok = (m.k > 0 || m.algorithm == ClusterAlgorithm::Dbscan)
            && m.centroids.len() == m.k
            && m.centroids.iter().all(|c| c.len() == d);
        if !centres_ok {
            return Err(bad(format!("expected {} centroids of {d} features", m.k)));
        }
        if m.algorithm == ClusterAlgorithm::Kprototypes {
            match &m.kprototypes {
                Some(kp) if kp.k() == m.k => kp.check().map_err(|e| bad(e.to_string()))?,
                _ => {
                    return Err(bad(format!(
                        "a k-prototypes model needs \"kprototypes\" with {} prototypes",
                        m.k
                    )))
                }
            }
        }
        Ok(m)
    }

    /// Writes the model atomically, pretty-printed.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Data(e.to_string()))?;
        crate::io::write_atomic_bytes(path, |out| {
            out.extend_from_slice(text.as_bytes());
            out.push(b'\n');
        })
    }
}

impl SegmentModel {
    /// Scores every row of `table` as the fit labelled its own rows: the nearest centre (for
    /// hierarchical models, the mean of each segment's rows), or k-prototypes' mixed cost.
    /// Rows that cannot be scored (a text value in a numeric column, a missing value under
    /// `impute="drop"`, a wrong field count) come back as rejects with their reason. Writes
    /// nothing.
    pub fn predict(&self, table: &Table) -> Result<Scores> {
        if self.algorithm == ClusterAlgorithm::Dbscan {
            return Err(Error::Data(format!(
                "{}: the segments were found by DBSCAN, which has no centres to score new rows against \
                 (a row's cluster depends on its neighbours in the fitted table); run `segmenter run {}` \
                 on the old and new rows together, or fit with {} kmeans, hierarchical or kprototypes to score new rows",
                self.source
                    .as_ref()
                    .map_or_else(|| self.fitted_on.clone(), |p| p.display().to_string()),
                Param::Algorithm.set("dbscan"),
                Param::Algorithm,
            )));
        }
        table.check_well_formed()?;
        let (cols, _) = self.prep.match_columns(table)?;
        // Extra means unknown to the training file; its id and text columns are expected.
        let extra_columns: Vec<String> = table
            .columns
            .iter()
            .filter(|c| !self.schema.columns.iter().any(|s| &s.name == *c))
            .cloned()
            .collect();
        let rows: Vec<usize> = (0..table.n_rows()).collect();
        let (x, kept, issues) = self.prep.transform(table, &cols, &rows);
        let (labels, sq) = match (self.algorithm, &self.kprototypes) {
            (ClusterAlgorithm::Kprototypes, Some(kp)) => {
                let (xn, xc) = crate::cluster::kprototypes::split_mixed(x.view(), &self.prep);
                kp.predict(xn.view(), xc.view())?
            }
            _ => {
                let d = self.prep.features.len();
                let flat: Vec<f32> = self.centroids.iter().flatten().copied().collect();
                let c = ArrayView2::from_shape((self.k, d), &flat)
                    .map_err(|e| Error::Data(format!("model centroids: {e}")))?;
                nearest(x.view(), c)
            }
        };
        let pcs = self.pca.as_ref().map(|a| a.project2(x.view()));
        let distances: Vec<f32> = sq.iter().map(|&s| s.sqrt() as f32).collect();
        let mut rejects = ragged_rejects(table);
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

    /// Columns the model reads, in the order of its transforms.
    pub fn columns(&self) -> Vec<&str> {
        self.prep.transforms.iter().map(|t| t.column()).collect()
    }

    /// Columns a caller's record is known by: the training file's identifier columns, then
    /// `id`.
    pub fn id_columns(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .schema
            .columns
            .iter()
            .filter(|c| c.kind == Kind::Identifier)
            .map(|c| c.name.as_str())
            .collect();
        if !v.contains(&"id") {
            v.push("id");
        }
        v
    }

    /// For each of the table rows `kept`, the categorical fields whose level the model has no
    /// feature of its own for, one sentence each (joined by "; "): `predict` scores them as
    /// `other`, or as no level when the model has no `other` feature. Missing values are
    /// not unknown levels.
    pub fn unknown_levels(&self, table: &Table, kept: &[usize]) -> Vec<Option<String>> {
        let cats: Vec<(&CategoricalTransform, usize)> = self
            .prep
            .transforms
            .iter()
            .filter_map(|t| match t {
                Transform::Categorical(c) => table.column_index(&c.column).map(|j| (c, j)),
                Transform::Numeric(_) => None,
            })
            .collect();
        kept.iter()
            .map(|&i| {
                let mut msgs = Vec::new();
                for &(c, j) in &cats {
                    let f = table.field(i, j);
                    if is_missing(f) {
                        continue;
                    }
                    let level = CategoricalTransform::level_of(f);
                    if !c.levels.iter().any(|l| l.as_bytes() == level) {
                        let level = String::from_utf8_lossy(level);
                        msgs.push(if c.other {
                            format!(
                                "field '{}': level '{level}' is not one of the model's levels; scored as {OTHER_LEVEL}",
                                c.column
                            )
                        } else {
                            // Training saw no rare level, so there is no `other` feature:
                            // the row gets none of this column's features.
                            format!(
                                "field '{}': level '{level}' is not one of the model's levels; scored as {OTHER_LEVEL} (no '{}' feature set)",
                                c.column, c.column
                            )
                        });
                    }
                }
                (!msgs.is_empty()).then(|| msgs.join("; "))
            })
            .collect()
    }

    /// Rows per segment of a scoring.
    pub fn sizes(&self, labels: &[u32]) -> Vec<u64> {
        let mut sizes = vec![0u64; self.k];
        for &l in labels {
            if let Some(s) = sizes.get_mut(l as usize) {
                *s += 1;
            }
        }
        sizes
    }
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

impl PcaAxes {
    /// `pc1, pc2` of every row, interleaved (n×2 row-major).
    pub fn project2(&self, x: ArrayView2<'_, f32>) -> Vec<f32> {
        let d = x.ncols().max(1);
        let x = x.as_standard_layout();
        let xs = x.as_slice().unwrap_or(&[]);
        let zero = vec![0f64; d];
        let a = self.components.first().unwrap_or(&zero);
        let b = self.components.get(1).unwrap_or(&zero);
        xs.par_chunks(d)
            .flat_map_iter(|p| {
                let (mut u, mut v) = (0f64, 0f64);
                for (j, &x) in p.iter().enumerate() {
                    let c = x as f64 - self.mean.get(j).copied().unwrap_or(0.0);
                    u += c * a.get(j).copied().unwrap_or(0.0);
                    v += c * b.get(j).copied().unwrap_or(0.0);
                }
                [u as f32, v as f32]
            })
            .collect()
    }
}
