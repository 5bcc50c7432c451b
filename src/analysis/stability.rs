//! How reproducible each segment is: k-means is refitted on bootstrap resamples, and each
//! segment's best match among the refit's segments is measured by the Jaccard overlap
//! (Hennig 2007, the clusterwise stability of `fpc::clusterboot`). A segment that keeps a
//! mean Jaccard of 0.75 or more is solid; below 0.5 it dissolves from one resample to the
//! next and is more likely an artefact of the method than a group in the data.

use super::silhouette::sample_indices;
use crate::backend::Backend;
use crate::error::Result;
use crate::kmeans::{fit_uploaded, nearest, KMeansParams, Start, Uploaded};
use ndarray::{ArrayView2, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Bootstrap refits per stability estimate.
pub const STABILITY_REFITS: usize = 6;
/// Rows of the seeded sample the refits are drawn from and judged on.
pub const STABILITY_SAMPLE: usize = 10_000;
/// Mean Jaccard from which a segment is called solid (Hennig's 0.75).
pub const SOLID_JACCARD: f64 = 0.75;
/// Mean Jaccard below which a segment is called unstable (Hennig's 0.5).
pub const UNSTABLE_JACCARD: f64 = 0.5;

/// The Jaccard overlap of each cluster of `a` with its best match in `b` (labels of the
/// same rows, `ka` and `kb` clusters); NaN for a cluster of `a` with no rows.
pub fn best_jaccard(a: &[u32], ka: usize, b: &[u32], kb: usize) -> Vec<f64> {
    let mut both = vec![0u64; ka * kb];
    let (mut na, mut nb) = (vec![0u64; ka], vec![0u64; kb]);
    for (&x, &y) in a.iter().zip(b) {
        both[x as usize * kb + y as usize] += 1;
        na[x as usize] += 1;
        nb[y as usize] += 1;
    }
    (0..ka)
        .map(|s| {
            if na[s] == 0 {
                return f64::NAN;
            }
            (0..kb)
                .map(|c| {
                    let i = both[s * kb + c];
                    i as f64 / (na[s] + nb[c] - i) as f64
                })
                .fold(0.0, f64::max)
        })
        .collect()
}

/// Mean best-match Jaccard of every segment of the partition given by `centroids` (k × d,
/// nearest centroid), over `refits` k-means refits (`params`, k set to the centroids' count)
/// on bootstrap resamples of a seeded sample of `x` of `sample` rows. Each refit's centroids
/// label the whole sample, which is compared with the segments' labels of the same rows.
pub fn segment_stability<B: Backend>(
    backend: &B,
    x: ArrayView2<'_, f32>,
    centroids: ArrayView2<'_, f32>,
    params: &KMeansParams,
    refits: usize,
    sample: usize,
) -> Result<Vec<f64>> {
    let k = centroids.nrows();
    let idx = sample_indices(x.nrows(), sample, params.seed.wrapping_add(3));
    let xs = x.select(Axis(0), &idx);
    let (base, _) = nearest(xs.view(), centroids);
    let m = xs.nrows();
    let p = KMeansParams {
        k,
        ..params.clone()
    };
    let mut sum = vec![0f64; k];
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed.wrapping_add(4));
    let mut done = 0usize;
    for _ in 0..refits {
        let draw: Vec<usize> = (0..m).map(|_| rng.random_range(0..m)).collect();
        let boot = xs.select(Axis(0), &draw);
        let data = Uploaded::new(backend, boot.view())?;
        // A resample with fewer distinct rows than k cannot be refitted: it is skipped.
        let Ok(fit) = fit_uploaded(&data, &p, Start::Init) else {
            continue;
        };
        let (labels, _) = nearest(xs.view(), fit.model.centroids.view());
        for (s, j) in
            sum.iter_mut()
                .zip(best_jaccard(&base, k, &labels, fit.model.centroids.nrows()))
        {
            *s += j;
        }
        done += 1;
    }
    Ok(sum
        .into_iter()
        .map(|s| if done > 0 { s / done as f64 } else { f64::NAN })
        .collect())
}

/// A word for a segment's mean Jaccard: solid, fair or unstable.
pub fn stability_word(j: f64) -> &'static str {
    if !j.is_finite() {
        "not measured"
    } else if j >= SOLID_JACCARD {
        "solid"
    } else if j >= UNSTABLE_JACCARD {
        "fair"
    } else {
        "unstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_of_constructed_partitions() {
        // Identical up to renaming: every segment matches fully.
        assert_eq!(
            best_jaccard(&[0, 0, 1, 1], 2, &[1, 1, 0, 0], 2),
            vec![1.0, 1.0]
        );
        // Segment 0 = {0,1,2}; its best match {0,1} overlaps 2 of 3 rows: 2/3.
        // Segment 1 = {3}; its best match {2,3}: 1/2.
        let j = best_jaccard(&[0, 0, 0, 1], 2, &[0, 0, 1, 1], 2);
        assert!((j[0] - 2.0 / 3.0).abs() < 1e-12 && (j[1] - 0.5).abs() < 1e-12);
        assert!(best_jaccard(&[0, 0], 2, &[0, 0], 1)[1].is_nan());
        assert_eq!(stability_word(0.9), "solid");
        assert_eq!(stability_word(0.6), "fair");
        assert_eq!(stability_word(0.2), "unstable");
    }
}
