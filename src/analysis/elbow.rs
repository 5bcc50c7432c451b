//! Choosing k: a sweep of k-means fits over a range of k on data uploaded once, scored by
//! inertia and silhouettes, and the rule that picks k from those scores.

use super::silhouette::{sample_indices, silhouette_batch, simplified_silhouette_batch};
use crate::backend::Backend;
use crate::error::{Error, Result};
use crate::kmeans::driver::distinct_rows;
use crate::kmeans::{fit_uploaded, nearest, Fit, KMeansParams, Start, Uploaded};
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
    /// Calinski–Harabasz index on the sweep's rows: between-cluster over within-cluster
    /// dispersion, each per degree of freedom; NaN when undefined.
    #[serde(default = "nan")]
    pub calinski_harabasz: f64,
    /// Prediction strength (Tibshirani & Walther 2005): how reproducible the k-partition is
    /// across halves of the sample, from 0 to 1; NaN when not measured.
    #[serde(default = "nan")]
    pub prediction_strength: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// k-means++ restarts of every fit of the sweep: one start can land in a poor local
/// optimum and make the inertia curve bumpy; the best of several reflects the data.
pub const SWEEP_RESTARTS: usize = 3;

/// Rows per cluster each half needs for its prediction strength to mean something; a k
/// beyond that is left unmeasured (NaN) and the elbow-and-silhouette rule decides.
pub const STRENGTH_MIN_ROWS_PER_CLUSTER: usize = 25;

/// Candidate starts of one k: (k, row-major k × d centroids of each candidate).
pub type KStarts = (usize, Vec<Vec<f32>>);

/// Rows of the sample prediction strength is measured on (two halves of half as many).
pub const STRENGTH_SAMPLE: usize = 12_000;

/// Total sum of squares of `x` about its mean, in f64.
fn total_sum_of_squares(x: ArrayView2<'_, f32>) -> f64 {
    let (n, d) = x.dim();
    if n == 0 {
        return 0.0;
    }
    let mut s = vec![0f64; d];
    let mut s2 = vec![0f64; d];
    for row in x.rows() {
        for (j, &v) in row.iter().enumerate() {
            s[j] += v as f64;
            s2[j] += v as f64 * v as f64;
        }
    }
    (0..d)
        .map(|j| (s2[j] - s[j] * s[j] / n as f64).max(0.0))
        .sum()
}

/// Calinski–Harabasz index from the inertia W of a k-partition of n rows whose total sum of
/// squares is `total`: ((T − W) / (k − 1)) / (W / (n − k)).
pub fn calinski_harabasz(total: f64, inertia: f64, n: usize, k: usize) -> f64 {
    if k < 2 || n <= k || inertia <= 0.0 {
        return f64::NAN;
    }
    ((total - inertia) / (k - 1) as f64) / (inertia / (n - k) as f64)
}

/// The prediction strength of one direction: `test` rows clustered as `test_labels`, and
/// the centroids fitted on the other half. For each test cluster, the share of its pairs of
/// rows that the other half's centroids also put in one cluster; the lowest share over test
/// clusters of two or more rows.
pub fn strength_of(
    test: ArrayView2<'_, f32>,
    test_labels: &[u32],
    train_centroids: ArrayView2<'_, f32>,
) -> f64 {
    let (pred, _) = nearest(test, train_centroids);
    let k = test_labels
        .iter()
        .map(|&l| l as usize + 1)
        .max()
        .unwrap_or(0);
    let kc = train_centroids.nrows();
    let mut m = vec![0u64; k * kc];
    let mut size = vec![0u64; k];
    for (&t, &p) in test_labels.iter().zip(&pred) {
        m[t as usize * kc + p as usize] += 1;
        size[t as usize] += 1;
    }
    let mut worst = f64::NAN;
    for j in 0..k {
        let nj = size[j];
        if nj < 2 {
            continue;
        }
        let same: f64 = m[j * kc..(j + 1) * kc]
            .iter()
            .map(|&c| (c * c.saturating_sub(1)) as f64)
            .sum();
        let ps = same / (nj * (nj - 1)) as f64;
        if worst.is_nan() || ps < worst {
            worst = ps;
        }
    }
    worst
}

/// Prediction strength of every k in `ks` on a seeded sample of `x` of `sample` rows split
/// into two random halves: each half is clustered (best of `params.n_init` k-means++ runs
/// and a run from the other half's centroids),
/// each half's clusters are judged by the other half's centroids ([`strength_of`]), and the
/// two directions are averaged. NaN for a k that cannot be fitted on a half, or with fewer
/// than [`STRENGTH_MIN_ROWS_PER_CLUSTER`] rows per cluster in a half. Also returns, per k,
/// the first half's centroids (row-major), a good start for a fit on all the rows.
pub fn prediction_strength<B: Backend>(
    backend: &B,
    x: ArrayView2<'_, f32>,
    ks: &[usize],
    params: &KMeansParams,
    sample: usize,
) -> Result<(Vec<f64>, Vec<KStarts>)> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut idx = sample_indices(x.nrows(), sample, params.seed.wrapping_add(1));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(params.seed.wrapping_add(2));
    idx.shuffle(&mut rng);
    let (a, b) = idx.split_at(idx.len() / 2);
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    let (xa, xb) = (x.select(Axis(0), &a), x.select(Axis(0), &b));
    let (ua, ub) = (
        Uploaded::new(backend, xa.view())?,
        Uploaded::new(backend, xb.view())?,
    );
    let mut out = Vec::with_capacity(ks.len());
    let mut starts = Vec::with_capacity(ks.len());
    for &k in ks {
        if xb.nrows() < STRENGTH_MIN_ROWS_PER_CLUSTER * k {
            out.push(f64::NAN);
            continue;
        }
        let p = KMeansParams {
            k,
            ..params.clone()
        };
        let fits = (
            fit_uploaded(&ua, &p, Start::Init),
            fit_uploaded(&ub, &p, Start::Init),
        );
        let (Ok(fa), Ok(fb)) = fits else {
            out.push(f64::NAN);
            continue;
        };
        // One half's starts can all miss the optimum the other half found: each half is
        // also fitted from the other's centroids, keeping the lower inertia, so that the
        // strength measures the data's partition rather than a poor local optimum.
        let better = |data: &Uploaded<'_, B>, own: Fit, other: &Fit| -> Result<Fit> {
            let c: Vec<f32> = other.model.centroids.iter().copied().collect();
            let f = fit_uploaded(data, &p, Start::Centroids(&c))?;
            Ok(if f.inertia < own.inertia { f } else { own })
        };
        let fa2 = better(&ua, fa, &fb)?;
        let fb = better(&ub, fb, &fa2)?;
        let fa = fa2;
        let ab = strength_of(xb.view(), &fb.labels, fa.model.centroids.view());
        let ba = strength_of(xa.view(), &fa.labels, fb.model.centroids.view());
        out.push((ab + ba) / 2.0);
        // The first half's fit already kept the better of its own starts and the second
        // half's centroids: one start for the sweep's fit of k.
        starts.push((k, vec![fa.model.centroids.iter().copied().collect()]));
    }
    Ok((out, starts))
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
    sweep_k_from(data, ks, params, silhouette_sample, &[])
}

/// As [`sweep_k`], but a k with candidate starts in `starts` (k, row-major k × d centroids
/// each, e.g. fits on parts of the data) is fitted from each of them instead, keeping the
/// lowest inertia: a start near an optimum converges in a few iterations.
pub fn sweep_k_from<B: Backend>(
    data: &Uploaded<'_, B>,
    ks: RangeInclusive<usize>,
    params: &KMeansParams,
    silhouette_sample: usize,
    starts: &[KStarts],
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
        let cands = starts
            .iter()
            .find(|(kk, c)| *kk == k && !c.is_empty())
            .map(|(_, c)| c);
        let mut f = match cands {
            Some(cands) => {
                let mut best: Option<Fit> = None;
                for c in cands {
                    let f = fit_uploaded(data, &p, Start::Centroids(c))?;
                    if best.as_ref().is_none_or(|b| f.inertia < b.inertia) {
                        best = Some(f);
                    }
                }
                match best {
                    Some(b) => b,
                    None => fit_uploaded(data, &p, Start::Init)?,
                }
            }
            None => fit_uploaded(data, &p, Start::Init)?,
        };
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
    let total = total_sum_of_squares(x);
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
                    calinski_harabasz: calinski_harabasz(
                        total,
                        f.inertia,
                        x.nrows(),
                        f.model.params.k,
                    ),
                    prediction_strength: f64::NAN,
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

/// Prediction strength at or above which a k counts as stable (Tibshirani & Walther
/// suggest 0.8 to 0.9 for well-separated clusters).
pub const STRENGTH_THRESHOLD: f64 = 0.8;

/// How much higher (relatively) a stable neighbour's Calinski–Harabasz index must be to
/// displace a stable elbow.
pub const CH_MARGIN: f64 = 0.05;

/// How much higher (relatively) the best Calinski–Harabasz index of any stable k must be
/// than that of the k chosen from the elbow to replace it.
pub const CH_FAR_MARGIN: f64 = 0.5;

/// Picks k from a sweep's scores.
///
/// Rule: a k is stable when its prediction strength is at least [`STRENGTH_THRESHOLD`]:
/// splitting a dense group or merging two close ones gives partitions that the two halves
/// of the sample do not reproduce. When the elbow of the inertia curve (Kneedle) is stable,
/// it is chosen unless a stable neighbour (k − 1 or k + 1) has a Calinski–Harabasz index
/// higher by more than [`CH_MARGIN`] (the better such neighbour, ties to the smaller k); when the elbow is not stable, the stable k nearest to it
/// (ties by the index); without an elbow, the stable k with the highest Calinski–Harabasz
/// index. Finally, a stable k whose index is higher than the choice's by more than
/// [`CH_FAR_MARGIN`] replaces it (an elbow at the first knee of a curve with several). When
/// no k is stable, or prediction strength
/// was not measured, the elbow-and-silhouette rule decides: a neighbour of the elbow replaces
/// it only if its silhouette (sampled; the simplified one where the sampled one is
/// undefined) is higher by more than `SILHOUETTE_MARGIN`; without an elbow, the highest
/// silhouette; without any silhouette, the smallest k.
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
    let measured = scores.iter().any(|s| s.prediction_strength.is_finite());
    let (k, why, general) = if measured {
        by_strength(&scores, knee)
    } else {
        elbow_and_silhouette(&scores, knee)
    };
    KChoice {
        k,
        knee,
        rule: format!("{why} {general}"),
        reason: why,
        scores,
    }
}

/// The rule with prediction strength measured: (k, why here, the rule in general).
fn by_strength(scores: &[KScore], knee: Option<usize>) -> (usize, String, String) {
    let t = STRENGTH_THRESHOLD;
    let get = |k: usize| scores.iter().find(|s| s.k == k);
    let stable = |k: usize| get(k).is_some_and(|s| s.prediction_strength >= t);
    let ch = |k: usize| {
        get(k)
            .map(|s| s.calinski_harabasz)
            .filter(|v| v.is_finite())
            .unwrap_or(f64::NEG_INFINITY)
    };
    let ps = |k: usize| get(k).map_or(f64::NAN, |s| s.prediction_strength);
    // Highest CH, ties to the smaller k (candidates come in increasing k).
    let best_ch = |cands: &[usize]| {
        cands
            .iter()
            .copied()
            .fold(None::<usize>, |acc, k| match acc {
                Some(b) if ch(b) >= ch(k) => Some(b),
                _ => Some(k),
            })
    };
    let general = format!(
        "Every k is fitted with the best of several k-means++ starts. A k is stable when its \
         prediction strength is at least {t}: each half of a seeded sample is clustered, and for \
         each cluster of one half, the share of its pairs of rows that the other half's \
         centroids also put together is measured; the worst cluster's share, averaged over both \
         directions, is the prediction strength. A partition that splits a dense group or merges \
         two close ones is not reproduced and scores low. When the elbow of the inertia curve \
         (Kneedle) is stable, it is chosen unless a stable neighbour, k − 1 or k + 1, has a \
         Calinski–Harabasz index (between-segment over within-segment dispersion) higher by \
         more than {:.0} %; when the elbow is not stable, the stable k nearest to it (the \
         higher index between two as near); without an elbow, the stable k with the highest \
         index. A stable k whose index is more than {:.0} % higher than the choice's replaces \
         it (the elbow was an early knee of a curve with several). When no k is stable, the elbow and the silhouette decide (a neighbour of the \
         elbow only if its silhouette is higher by more than {SILHOUETTE_MARGIN}).",
        CH_MARGIN * 100.0,
        CH_FAR_MARGIN * 100.0
    );
    let all_stable: Vec<usize> = scores.iter().map(|s| s.k).filter(|&k| stable(k)).collect();
    let (c, why) = match knee {
        Some(kn) if stable(kn) => {
            let cands: Vec<usize> = [kn.wrapping_sub(1), kn + 1]
                .into_iter()
                .filter(|&k| stable(k))
                .collect();
            let c = best_ch(&cands)
                .filter(|&c| ch(c) > ch(kn) * (1.0 + CH_MARGIN))
                .unwrap_or(kn);
            let why = if c == kn {
                format!(
                    "The elbow is at k = {kn}, which is stable (prediction strength {:.2}), and no \
                     stable k beside it has a clearly higher Calinski–Harabasz index than its \
                     {:.0}, so k = {kn} was chosen.",
                    ps(kn),
                    ch(kn)
                )
            } else {
                format!(
                    "The elbow is at k = {kn} (stable, prediction strength {:.2}), but k = {c} is \
                     stable too (prediction strength {:.2}) and has a clearly higher \
                     Calinski–Harabasz index ({:.0} against {:.0}), so k = {c} was chosen.",
                    ps(kn),
                    ps(c),
                    ch(c),
                    ch(kn)
                )
            };
            (c, why)
        }
        _ if !all_stable.is_empty() => {
            // The stable k nearest the elbow (ties by CH); without an elbow, the best CH.
            let cands: Vec<usize> = match knee {
                Some(kn) => {
                    let near = all_stable
                        .iter()
                        .map(|&k| k.abs_diff(kn))
                        .min()
                        .unwrap_or(0);
                    all_stable
                        .iter()
                        .copied()
                        .filter(|&k| k.abs_diff(kn) == near)
                        .collect()
                }
                None => all_stable.clone(),
            };
            let c = best_ch(&cands).unwrap_or(all_stable[0]);
            let list = all_stable
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            let opening = match knee {
                Some(kn) => format!(
                    "The elbow is at k = {kn}, but its segments are not reproducible (prediction \
                     strength {:.2}).",
                    ps(kn)
                ),
                None => "The inertia curve has no clear elbow.".to_string(),
            };
            (
                c,
                format!(
                    "{opening} Of the stable k ({list}), k = {c} is {}, so k = {c} was chosen.",
                    if knee.is_some() {
                        format!(
                            "the nearest to the elbow (Calinski–Harabasz index {:.0})",
                            ch(c)
                        )
                    } else {
                        format!(
                            "the one with the highest Calinski–Harabasz index ({:.0})",
                            ch(c)
                        )
                    }
                ),
            )
        }
        _ => {
            let (k, why, _) = elbow_and_silhouette(scores, knee);
            let top = scores
                .iter()
                .filter(|s| s.prediction_strength.is_finite())
                .fold(None::<&KScore>, |acc, s| match acc {
                    Some(b) if b.prediction_strength >= s.prediction_strength => Some(b),
                    _ => Some(s),
                });
            let opening = match top {
                Some(s) => format!(
                    "No k is stable (the highest prediction strength is {:.2}, at k = {}).",
                    s.prediction_strength, s.k
                ),
                None => "No k is stable.".to_string(),
            };
            return (k, format!("{opening} {why}"), general);
        }
    };
    // A curve with several knees (groups of groups) has its Kneedle elbow at the first; a
    // stable k far better separated than the choice so far is the data's partition.
    let top = best_ch(&all_stable).unwrap_or(c);
    if top != c && ch(top) > ch(c) * (1.0 + CH_FAR_MARGIN) {
        let why = format!(
            "{why} But k = {top} is stable too (prediction strength {:.2}) and its \
             Calinski–Harabasz index is far higher ({:.0} against {:.0}): the elbow is an early \
             knee of the curve, so k = {top} was chosen instead.",
            ps(top),
            ch(top),
            ch(c)
        );
        return (top, why, general);
    }
    (c, why, general)
}

/// The rule used before prediction strength, and still when no k is stable: find the knee of the inertia curve with Kneedle (the k after which more clusters
/// stop reducing inertia much). Then compare the silhouette (sampled; the simplified one
/// where the sampled one is undefined) of the knee with its neighbours k − 1 and k + 1: a
/// neighbour replaces the knee only if its silhouette is higher by more than
/// `SILHOUETTE_MARGIN` (the best such neighbour; ties to the smaller k). Without a knee, the k
/// with the highest silhouette is chosen (ties to the smaller k); without any silhouette, the
/// smallest k.
fn elbow_and_silhouette(scores: &[KScore], knee: Option<usize>) -> (usize, String, String) {
    let ks: Vec<usize> = scores.iter().map(|s| s.k).collect();
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
    (k, why, general)
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
            calinski_harabasz: f64::NAN,
            prediction_strength: f64::NAN,
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

    #[test]
    fn stability_decides_when_measured() {
        // The elbow of this curve is at k = 4.
        let inertia = [
            1000.0, 600.0, 200.0, 180.0, 165.0, 150.0, 140.0, 130.0, 120.0,
        ];
        let mk = |ps: [f64; 9], ch: [f64; 9]| -> Vec<KScore> {
            (2..=10)
                .map(|k| KScore {
                    calinski_harabasz: ch[k - 2],
                    prediction_strength: ps[k - 2],
                    ..score(k, inertia[k - 2], 0.5)
                })
                .collect()
        };
        let ch = [10.0, 20.0, 30.0, 35.0, 25.0, 20.0, 15.0, 10.0, 5.0];
        // A stable elbow with a stable neighbour of higher CH: the neighbour.
        let ps = [1.0, 1.0, 0.95, 0.9, 0.5, 0.4, 0.3, 0.3, 0.3];
        let c = choose_k(&mk(ps, ch));
        assert_eq!((c.k, c.knee), (5, Some(4)));
        assert!(c
            .reason
            .contains("higher Calinski–Harabasz index (35 against 30)"));
        // The neighbour is not stable: the elbow stays.
        let ps = [1.0, 1.0, 0.95, 0.7, 0.5, 0.4, 0.3, 0.3, 0.3];
        assert_eq!(choose_k(&mk(ps, ch)).k, 4);
        // An unstable elbow: the stable k nearest to it; two as near: the higher CH.
        let ps = [1.0, 0.9, 0.5, 0.5, 0.85, 0.4, 0.3, 0.3, 0.3];
        let c = choose_k(&mk(ps, ch));
        assert_eq!(c.k, 3);
        assert!(c.reason.contains("not reproducible") && c.reason.contains("(2, 3, 6)"));
        let ps = [1.0, 0.5, 0.5, 0.9, 0.5, 0.4, 0.3, 0.3, 0.3];
        assert_eq!(choose_k(&mk(ps, ch)).k, 5);
        // 3 and 5 are as near to the elbow at 4: 5 has the higher CH (35 against 20).
        let ps = [0.5, 0.9, 0.5, 0.9, 0.5, 0.4, 0.3, 0.3, 0.3];
        assert_eq!(choose_k(&mk(ps, ch)).k, 5);
        // An early knee: k = 8 is stable and far better separated (CH 90 against 35 at the
        // elbow's best neighbour): it wins; at 50 (not more than 50 % higher) it would not.
        let far = [10.0, 20.0, 30.0, 35.0, 25.0, 40.0, 90.0, 60.0, 50.0];
        let ps = [1.0, 1.0, 0.95, 0.9, 0.5, 0.9, 0.95, 0.5, 0.5];
        let c = choose_k(&mk(ps, far));
        assert_eq!(c.k, 8);
        assert!(
            c.reason.contains("far higher (90 against 35)"),
            "{}",
            c.reason
        );
        let near = [10.0, 20.0, 30.0, 35.0, 25.0, 40.0, 50.0, 45.0, 45.0];
        assert_eq!(choose_k(&mk(ps, near)).k, 5);
        // Nothing stable: the elbow-and-silhouette rule, said so.
        let c = choose_k(&mk([0.5; 9], ch));
        assert_eq!(c.k, 4);
        assert!(c
            .reason
            .starts_with("No k is stable (the highest prediction strength is 0.50, at k = 2)."));
        // Calinski–Harabasz of a known partition: T = 10, W = 4, n = 10, k = 2: (6/1)/(4/8) = 12.
        assert_eq!(calinski_harabasz(10.0, 4.0, 10, 2), 12.0);
        assert!(calinski_harabasz(10.0, 4.0, 10, 1).is_nan());
    }

    #[test]
    fn strength_of_constructed_halves() {
        // Test rows at 0, 0.1, 10, 10.1 in two test clusters; training centroids at 0 and 10
        // reproduce them: 1. One centroid per row splits every pair: 0.
        let test = ndarray::array![[0.0f32], [0.1], [10.0], [10.1]];
        let labels = [0, 0, 1, 1];
        let c = ndarray::array![[0.0f32], [10.0]];
        assert_eq!(strength_of(test.view(), &labels, c.view()), 1.0);
        let c = ndarray::array![[0.0f32], [0.1], [10.0], [10.1]];
        assert_eq!(strength_of(test.view(), &labels, c.view()), 0.0);
        // A test cluster of three rows split {0, 0.1 | 0.2} by the training centroids keeps
        // 1 of its 3 pairs together; the other cluster is intact: the worst share, 1/3.
        let test = ndarray::array![[0.0f32], [0.1], [0.2], [10.0], [10.1]];
        let c = ndarray::array![[0.05f32], [0.2], [10.0]];
        let ps = strength_of(test.view(), &[0, 0, 0, 1, 1], c.view());
        assert!((ps - 1.0 / 3.0).abs() < 1e-12, "{ps}");
    }
}
