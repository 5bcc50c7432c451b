//! `model.json`: everything `predict` needs to score new rows as `run` scored the old ones.

use crate::cluster::dbscan::DbscanParams;
use crate::cluster::kprototypes::KPrototypesModel;
use crate::cluster::ClusterAlgorithm;
use crate::data::{CleanParams, LogSpec, Prep, Scale, Schema};
use crate::error::{Error, Result};
use crate::kmeans::KMeansParams;
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
pub struct ModelFile {
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
}

impl ModelFile {
    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<ModelFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        let bad = |why: String| {
            Error::Data(format!(
                "{}: not a segmenter model file ({why}); pass the model.json that `segmenter run` wrote",
                path.display()
            ))
        };
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if v.get("format").and_then(|f| f.as_str()) != Some(MODEL_FORMAT) {
            return Err(bad("no \"format\": \"segmenter-model\"".into()));
        }
        let version = v.get("version").and_then(|f| f.as_u64()).unwrap_or(0);
        if version == 0 || version > MODEL_VERSION as u64 {
            return Err(bad(format!(
                "layout version {version}, this segmenter reads version {MODEL_VERSION}"
            )));
        }
        let m: ModelFile = serde_json::from_value(v).map_err(|e| bad(e.to_string()))?;
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
