//! Choosing k: a sweep of k-means fits over a range of k on data uploaded once, scored by
//! inertia and silhouettes, and the rule that picks k from those scores.

use super::silhouette::{sample_indices, silhouette_batch, simplified_silhouette_batch};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::kmeans::driver::distinct_rows;
use crate::kmeans::{fit_uploaded, Fit, KMeansParams, Start, Uploaded};
use ndarray::{ArrayView2, Axis};
use std::ops::RangeInclusive;
use std::time::Instant;

/// Scores of one k of a sweep.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KScore {
    /// Number of clusters.
    pub k: usize,
    /// Sum of squared distances to the centroids (exact, f64).
    pub inertia: f64,
    /// Exact silhouette on the seeded sample; NaN when undefined (k = 1).
    pub silhouette: f64,
    /// Squared-Euclidean simplified silhouette over all rows; NaN when undefined (k = 1).
    pub simplified_silhouette: f64,
    /// Lloyd iterations of the kept run.
    pub iterations: usize,
    /// Seconds spent fitting this k (silhouettes are scored together afterwards).
    pub seconds: f64,
}

/// Fits k-means for every k in `ks` on points uploaded once to `backend`, and scores each fit.
///
/// `x` is the same data on the host. Each fit uses `params` with its k replaced, and is
/// canonicalised (clusters numbered largest first). Silhouettes are computed on one seeded
/// sample of `silhouette_sample` rows (seed `params.seed`) shared by every k, in one batch.
/// k values above the number of distinct rows are skipped (so the result may be shorter than
/// `ks`); an error only if no k can be fitted. Every fit is kept (labels and squared distances
/// of every row, 12 bytes a row per k), so large tables are better swept on a seeded sample.
pub fn sweep_k<B: Backend>(
    data: &Uploaded<'_, B>,
    ks: RangeInclusive<usize>,
    params: &KMeansParams,
    silhouette_sample: usize,
) -> Result<Vec<(KScore, Fit)>> {
    let x = data.x();
    let (lo, hi) = (*ks.start(), *ks.end());
    if lo == 0 || lo > hi {
        return Err(Error::Data(format!(
            "the k range {lo}..{hi} is empty or starts at 0; give a range such as 2..10"
        )));
    }
    params.check()?;
    let distinct = distinct_rows(x, hi);
    if distinct < lo {
        return Err(Error::TooFewDistinct { k: lo, distinct });
    }
    let mut fits = Vec::new();
    for k in lo..=hi.min(distinct) {
        let p = KMeansParams {
            k,
            ..params.clone()
        };
        let t = Instant::now();
        let mut f = fit_uploaded(data, &p, Start::Init)?;
        f.canonicalize();
        fits.push((t.elapsed().as_secs_f64(), f));
    }
    let idx = sample_indices(x.nrows(), silhouette_sample, params.seed);
    let xs = x.select(Axis(0), &idx);
    let sampled_labels: Vec<Vec<u32>> = fits
        .iter()
        .map(|(_, f)| idx.iter().map(|&i| f.labels[i]).collect())
        .collect();
    let refs: Vec<&[u32]> = sampled_labels.iter().map(|l| l.as_slice()).collect();
    let sil = silhouette_batch(xs.view(), &refs)?;
    let pairs: Vec<(ArrayView2<'_, f32>, &[u32])> = fits
        .iter()
        .map(|(_, f)| (f.model.centroids.view(), f.labels.as_slice()))
        .collect();
    let simple = simplified_silhouette_batch(x, &pairs)?;
    Ok(fits
        .into_iter()
        .enumerate()
        .map(|(i, (seconds, f))| {
            (
                KScore {
                    k: f.model.params.k,
                    inertia: f.inertia,
                    silhouette: sil[i],
                    simplified_silhouette: simple[i],
                    iterations: f.iterations,
                    seconds,
                },
                f,
            )
        })
        .collect())
}

/// The chosen k with the evidence for it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KChoice {
    /// The chosen number of clusters (0 only when `scores` was empty).
    pub k: usize,
    /// The knee of the inertia curve, when Kneedle found one.
    pub knee: Option<usize>,
    /// How the rule applied here and the rule itself, in plain language (shown in the report).
    pub rule: String,
    /// How the rule applied here only, one sentence (for terminal summaries).
    pub reason: String,
    /// The scores the choice was made from, sorted by k.
    pub scores: Vec<KScore>,
}

/// How much higher a neighbour's silhouette must be to displace the knee.
pub const SILHOUETTE_MARGIN: f64 = 0.02;

/// Kneedle's sensitivity S: how far the difference curve must fall after a local maximum.
pub const KNEEDLE_SENSITIVITY: f64 = 1.0;

/// The knee of a decreasing, convex curve by Kneedle (Satopää et al., 2011).
///
/// k and y are normalised to [0, 1]; the difference curve is the height of the chord from the
/// first to the last point above the curve, (1 − k̂) − ŷ. The knee is the first local maximum
/// of the difference curve after which it falls below that maximum minus S times the mean
/// step of k̂, before any higher maximum. None with fewer than 3 points or a flat curve.
pub fn kneedle(ks: &[usize], y: &[f64]) -> Option<usize> {
    let n = ks.len().min(y.len());
    if n < 3 {
        return None;
    }
    let (k0, k1) = (ks[0] as f64, ks[n - 1] as f64);
    let ymax = y[..n].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ymin = y[..n].iter().copied().fold(f64::INFINITY, f64::min);
    // NaN inertias make the comparison false and end here too.
    if ymax.partial_cmp(&ymin) != Some(std::cmp::Ordering::Greater) || k1 <= k0 {
        return None;
    }
    let diff: Vec<f64> = (0..n)
        .map(|i| {
            let xn = (ks[i] as f64 - k0) / (k1 - k0);
            let yn = (y[i] - ymin) / (ymax - ymin);
            (1.0 - xn) - yn
        })
        .collect();
    let step = 1.0 / (n - 1) as f64;
    for i in 1..n - 1 {
        if !(diff[i] > diff[i - 1] && diff[i] >= diff[i + 1]) {
            continue;
        }
        let threshold = diff[i] - KNEEDLE_SENSITIVITY * step;
        for &dj in &diff[i + 1..] {
            if dj > diff[i] {
                break; // a higher maximum comes first: this one is not the knee
            }
            if dj < threshold {
                return Some(ks[i]);
            }
        }
    }
    None
}

/// Picks k from a sweep's scores.
///
/// Rule: find the knee of the inertia curve with Kneedle (the k after which more clusters
/// stop reducing inertia much). Then compare the silhouette (sampled; the simplified one
/// where the sampled one is undefined) of the knee with its neighbours k − 1 and k + 1: a
/// neighbour replaces the knee only if its silhouette is higher by more than
/// `SILHOUETTE_MARGIN` (the best such neighbour; ties to the smaller k). Without a knee, the k
/// with the highest silhouette is chosen (ties to the smaller k); without any silhouette, the
/// smallest k.
pub fn choose_k(scores: &[KScore]) -> KChoice {
    let mut scores = scores.to_vec();
    scores.sort_by_key(|s| s.k);
    if scores.is_empty() {
        return KChoice {
            k: 0,
            knee: None,
            rule: "no k could be fitted".into(),
            reason: "no k could be fitted".into(),
            scores,
        };
    }
    let ks: Vec<usize> = scores.iter().map(|s| s.k).collect();
    let inertia: Vec<f64> = scores.iter().map(|s| s.inertia).collect();
    let knee = kneedle(&ks, &inertia);
    let sil = |k: usize| -> Option<f64> {
        scores.iter().find(|s| s.k == k).and_then(|s| {
            [s.silhouette, s.simplified_silhouette]
                .into_iter()
                .find(|v| v.is_finite())
        })
    };
    let general = format!(
        "The elbow of the inertia curve is found with Kneedle; the silhouette of the elbow's k is \
         then compared with k − 1 and k + 1, and a neighbour is chosen only if its silhouette is \
         higher by more than {SILHOUETTE_MARGIN}. Without an elbow, the k with the highest \
         silhouette is chosen."
    );
    let (k, why) = match knee {
        Some(kn) => {
            let base = sil(kn);
            let mut best: Option<(usize, f64)> = None;
            if let Some(b) = base {
                for c in [kn.wrapping_sub(1), kn + 1] {
                    if let Some(s) = sil(c) {
                        if s > b + SILHOUETTE_MARGIN && best.is_none_or(|(_, bs)| s > bs) {
                            best = Some((c, s));
                        }
                    }
                }
            }
            match (best, base) {
                (Some((c, s)), Some(b)) => (
                    c,
                    format!(
                        "The elbow is at k = {kn}, but k = {c} has a clearly higher silhouette \
                         ({s:.3} against {b:.3}), so k = {c} was chosen."
                    ),
                ),
                (_, Some(b)) => (
                    kn,
                    format!(
                        "The elbow is at k = {kn} (silhouette {b:.3}) and no neighbouring k has a \
                         clearly higher silhouette, so k = {kn} was chosen."
                    ),
                ),
                _ => (
                    kn,
                    format!("The elbow is at k = {kn}; no silhouette was available, so k = {kn} was chosen."),
                ),
            }
        }
        None => {
            let best = scores
                .iter()
                .filter_map(|s| sil(s.k).map(|v| (s.k, v)))
                .fold(None::<(usize, f64)>, |acc, (k, v)| match acc {
                    Some((_, bv)) if bv >= v => acc,
                    _ => Some((k, v)),
                });
            match best {
                Some((k, v)) => (
                    k,
                    format!(
                        "The inertia curve has no clear elbow, so the k with the highest \
                         silhouette was chosen: k = {k} ({v:.3})."
                    ),
                ),
                None => (
                    ks[0],
                    format!(
                        "The inertia curve has no clear elbow and no silhouette was available, \
                         so the smallest k, {}, was chosen.",
                        ks[0]
                    ),
                ),
            }
        }
    };
    KChoice {
        k,
        knee,
        rule: format!("{why} {general}"),
        reason: why,
        scores,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(k: usize, inertia: f64, sil: f64) -> KScore {
        KScore {
            k,
            inertia,
            silhouette: sil,
            simplified_silhouette: sil,
            iterations: 1,
            seconds: 0.0,
        }
    }

    #[test]
    fn knee_of_a_constructed_curve() {
        // Steep to k = 4, then nearly flat: chord heights peak at k = 4.
        let ks: Vec<usize> = (2..=10).collect();
        let y = [
            1000.0, 600.0, 200.0, 180.0, 165.0, 150.0, 140.0, 130.0, 120.0,
        ];
        assert_eq!(kneedle(&ks, &y), Some(4));
        // Differences 0, .153, .306, .458, .403, .319, ...: the maximum at k = 5 is followed
        // by a fall below .458 − 1/8 at k = 7.
        let y = [
            900.0, 700.0, 500.0, 300.0, 250.0, 220.0, 200.0, 190.0, 180.0,
        ];
        assert_eq!(kneedle(&ks, &y), Some(5));
        // A straight line has no knee; nor do two points.
        let line: Vec<f64> = ks.iter().map(|&k| 100.0 - k as f64).collect();
        assert_eq!(kneedle(&ks, &line), None);
        assert_eq!(kneedle(&[2, 3], &[2.0, 1.0]), None);
    }

    #[test]
    fn choose_keeps_knee_unless_a_neighbour_is_clearly_better() {
        let inertia = [
            1000.0, 600.0, 200.0, 180.0, 165.0, 150.0, 140.0, 130.0, 120.0,
        ];
        let mk = |sils: [f64; 9]| -> Vec<KScore> {
            (2..=10)
                .zip(inertia.iter().zip(sils))
                .map(|(k, (&i, s))| score(k, i, s))
                .collect()
        };
        let c = choose_k(&mk([0.5, 0.55, 0.6, 0.61, 0.4, 0.3, 0.3, 0.3, 0.3]));
        assert_eq!((c.k, c.knee), (4, Some(4)));
        assert!(c.rule.contains("k = 4"));
        assert!(c.rule.starts_with(&c.reason) && c.reason.len() < c.rule.len());
        let c = choose_k(&mk([0.5, 0.55, 0.6, 0.65, 0.4, 0.3, 0.3, 0.3, 0.3]));
        assert_eq!((c.k, c.knee), (5, Some(4)));
        // No elbow: best silhouette, ties to the smaller k.
        let flat: Vec<KScore> = (2..=6)
            .map(|k| score(k, 100.0 - k as f64, [0.3, 0.7, 0.7, 0.2, 0.1][k - 2]))
            .collect();
        let c = choose_k(&flat);
        assert_eq!((c.k, c.knee), (3, None));
        assert_eq!(choose_k(&[]).k, 0);
        assert_eq!(choose_k(&[score(3, 1.0, f64::NAN)]).k, 3);
    }
}
