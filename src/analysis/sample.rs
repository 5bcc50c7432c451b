//! Seeded samples of the segmented rows that the report draws: PCA scatter points and
//! original-unit values for histograms.

use super::profile::ProfileInput;
use crate::data::sample::sample_indices;
use ndarray::ArrayView2;

/// Points drawn in the PCA scatter at most; larger tables are subsampled.
pub const SCATTER_MAX: usize = 50_000;
/// Rows whose values feed the histograms at most.
pub const HISTOGRAM_MAX: usize = 50_000;

/// Original-unit values of a sample of the segmented rows, for histograms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureSample {
    /// (feature name, value per sampled row), original units.
    pub features: Vec<(String, Vec<f64>)>,
    /// Segment of every sampled row.
    pub segments: Vec<u32>,
}

/// (pc1, pc2, segment) of at most `max` rows, chosen by a seeded sample (all rows when fewer).
/// `pcs` has at least two columns and one row per label.
pub fn scatter_sample(
    pcs: ArrayView2<'_, f32>,
    labels: &[u32],
    max: usize,
    seed: u64,
) -> Vec<(f32, f32, u32)> {
    if pcs.ncols() < 2 {
        return Vec::new();
    }
    let n = pcs.nrows().min(labels.len());
    sample_indices(n, max, seed)
        .into_iter()
        .map(|i| (pcs[[i, 0]], pcs[[i, 1]], labels[i]))
        .collect()
}

/// The numeric columns of `input` on at most `max` rows chosen by a seeded sample.
pub fn feature_sample(
    input: &ProfileInput,
    labels: &[u32],
    max: usize,
    seed: u64,
) -> FeatureSample {
    let idx = sample_indices(labels.len(), max, seed);
    FeatureSample {
        features: input
            .numeric
            .iter()
            .map(|(name, v)| {
                (
                    name.clone(),
                    idx.iter()
                        .map(|&i| v.get(i).copied().unwrap_or(f64::NAN))
                        .collect(),
                )
            })
            .collect(),
        segments: idx.iter().map(|&i| labels[i]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn samples_are_deterministic_and_bounded() {
        let pcs = Array2::from_shape_fn((1000, 2), |(i, j)| (i * 2 + j) as f32);
        let labels: Vec<u32> = (0..1000).map(|i| (i % 3) as u32).collect();
        let a = scatter_sample(pcs.view(), &labels, 100, 1);
        assert_eq!(a.len(), 100);
        assert_eq!(a, scatter_sample(pcs.view(), &labels, 100, 1));
        for &(x, y, s) in &a {
            let i = (x / 2.0) as usize;
            assert_eq!((y, s), ((i * 2 + 1) as f32, (i % 3) as u32));
        }
        assert_eq!(scatter_sample(pcs.view(), &labels, 5000, 1).len(), 1000);
        let input = ProfileInput {
            numeric: vec![("v".into(), (0..1000).map(|i| i as f64).collect())],
            categorical: vec![],
        };
        let f = feature_sample(&input, &labels, 10, 2);
        assert_eq!(f.segments.len(), 10);
        for (v, s) in f.features[0].1.iter().zip(&f.segments) {
            assert_eq!(*s, (*v as usize % 3) as u32);
        }
    }
}
