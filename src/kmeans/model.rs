//! A fitted k-means model: centroids and the parameters that produced them.

use super::params::KMeansParams;
use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

/// Centroids of a fit, separate from the parameters type (as in linfa).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KMeansModel {
    /// k×d centroids in the space the model was fitted in.
    pub centroids: Array2<f32>,
    /// Parameters of the fit.
    pub params: KMeansParams,
}

impl KMeansModel {
    /// Nearest centroid of one point (ties to the lowest index) and its squared distance (f64).
    pub fn predict_one(&self, p: ArrayView1<'_, f32>) -> (u32, f64) {
        let mut best = (0u32, f64::INFINITY);
        for (c, row) in self.centroids.rows().into_iter().enumerate() {
            let s: f64 = row
                .iter()
                .zip(p.iter())
                .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
                .sum();
            if s < best.1 {
                best = (c as u32, s);
            }
        }
        best
    }
}
