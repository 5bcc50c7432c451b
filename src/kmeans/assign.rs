//! The one nearest-centroid function and the one distance-to-assigned-centre function, in
//! f64 on the host: a fit's final labels, `predict`, the written distances and the exact
//! inertia all come from here, so every path agrees row for row.

use ndarray::ArrayView2;
use rayon::prelude::*;

/// Squared Euclidean distance of two rows, summed feature by feature in f64.
#[inline]
fn sq_dist(p: &[f32], c: &[f32]) -> f64 {
    p.iter()
        .zip(c)
        .map(|(a, b)| {
            let t = *a as f64 - *b as f64;
            t * t
        })
        .sum()
}

/// Nearest centroid of every row of `x` (ties to the lowest index) and the squared distance to
/// it. `centroids` is k×d with the same d as `x`.
pub fn nearest(x: ArrayView2<'_, f32>, centroids: ArrayView2<'_, f32>) -> (Vec<u32>, Vec<f64>) {
    let d = x.ncols().max(1);
    let x = x.as_standard_layout();
    let c = centroids.as_standard_layout();
    let xs = x.as_slice().unwrap_or(&[]);
    let cs = c.as_slice().unwrap_or(&[]);
    let rows: Vec<(u32, f64)> = xs
        .par_chunks(d)
        .map(|p| {
            let mut best = (0u32, f64::INFINITY);
            for (k, cen) in cs.chunks_exact(d).enumerate() {
                let s = sq_dist(p, cen);
                if s < best.1 {
                    best = (k as u32, s);
                }
            }
            best
        })
        .collect();
    rows.into_iter().unzip()
}

/// Squared distance of every row to the centre of its label; NaN for a label that names no
/// centre (DBSCAN's noise).
pub fn sq_distances(
    x: ArrayView2<'_, f32>,
    labels: &[u32],
    centroids: ArrayView2<'_, f32>,
) -> Vec<f64> {
    let d = x.ncols().max(1);
    let k = centroids.nrows();
    let x = x.as_standard_layout();
    let c = centroids.as_standard_layout();
    let xs = x.as_slice().unwrap_or(&[]);
    let cs = c.as_slice().unwrap_or(&[]);
    xs.par_chunks(d)
        .zip(labels.par_iter())
        .map(|(p, &l)| {
            if (l as usize) < k {
                sq_dist(p, &cs[l as usize * d..(l as usize + 1) * d])
            } else {
                f64::NAN
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn nearest_breaks_ties_to_the_lowest_index() {
        let x = array![[0f32, 0.], [2., 0.], [1., 0.]];
        let c = array![[0f32, 0.], [2., 0.]];
        let (l, sq) = nearest(x.view(), c.view());
        assert_eq!(l, vec![0, 1, 0]);
        assert_eq!(sq, vec![0.0, 0.0, 1.0]);
        let s = sq_distances(x.view(), &[1, 0, u32::MAX], c.view());
        assert_eq!(s[..2], [4.0, 4.0]);
        assert!(s[2].is_nan());
    }
}
