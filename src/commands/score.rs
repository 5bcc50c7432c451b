//! Scoring rows against a fitted model: nearest centroid and PCA coordinates. `run` labels its
//! final rows with the same functions `predict` uses, so both agree row for row.

use super::model_file::PcaAxes;
use ndarray::ArrayView2;
use rayon::prelude::*;

/// Nearest centroid of every row (ties to the lowest index) and the squared distance, in f64.
pub fn nearest_centroids(x: ArrayView2<'_, f32>, centroids: &[Vec<f32>]) -> (Vec<u32>, Vec<f64>) {
    let d = x.ncols().max(1);
    let x = x.as_standard_layout();
    let xs = x.as_slice().unwrap_or(&[]);
    let rows: Vec<(u32, f64)> = xs
        .par_chunks(d)
        .map(|p| {
            let mut best = (0u32, f64::INFINITY);
            for (c, cen) in centroids.iter().enumerate() {
                let s: f64 = p
                    .iter()
                    .zip(cen)
                    .map(|(a, b)| {
                        let t = *a as f64 - *b as f64;
                        t * t
                    })
                    .sum();
                if s < best.1 {
                    best = (c as u32, s);
                }
            }
            best
        })
        .collect();
    rows.into_iter().unzip()
}

/// `pc1, pc2` of every row, interleaved (n×2 row-major).
pub fn project2(x: ArrayView2<'_, f32>, axes: &PcaAxes) -> Vec<f32> {
    let d = x.ncols().max(1);
    let x = x.as_standard_layout();
    let xs = x.as_slice().unwrap_or(&[]);
    let zero = vec![0f64; d];
    let a = axes.components.first().unwrap_or(&zero);
    let b = axes.components.get(1).unwrap_or(&zero);
    xs.par_chunks(d)
        .flat_map_iter(|p| {
            let (mut u, mut v) = (0f64, 0f64);
            for (j, &x) in p.iter().enumerate() {
                let c = x as f64 - axes.mean.get(j).copied().unwrap_or(0.0);
                u += c * a.get(j).copied().unwrap_or(0.0);
                v += c * b.get(j).copied().unwrap_or(0.0);
            }
            [u as f32, v as f32]
        })
        .collect()
}
