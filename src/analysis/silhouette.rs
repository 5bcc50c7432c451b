//! Silhouette scores: the exact (Euclidean) silhouette on a seeded sample, scored for many
//! labelings from one pass over the pairwise distances, and the squared-Euclidean simplified
//! silhouette over all rows in O(N·k·d).

use crate::error::{Error, Result};
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::collections::HashMap;

/// Rows per parallel chunk; fixed so that sums combine in the same order on any thread count.
const ROWS_PER_CHUNK: usize = 4096;
/// Sample rows scored per parallel task of the pairwise pass.
const SAMPLE_ROWS_PER_TASK: usize = 16;
/// Lanes of the vectorised distance loops.
const LANES: usize = 16;

pub use crate::data::sample::sample_indices;

/// The exact mean silhouette of every row of `x` under `labels` (Euclidean distance, as
/// scikit-learn's `silhouette_score`); NaN when fewer than two clusters are present.
pub fn silhouette(x: ArrayView2<'_, f32>, labels: &[u32]) -> Result<f64> {
    Ok(silhouette_batch(x, &[labels])?[0])
}

/// The exact silhouette of a seeded sample of `sample` rows (all rows when `sample >= n`), like
/// `silhouette_score(x, labels, sample_size=sample, random_state=seed)`: clusters are those of
/// the sampled rows. Sampled rows labelled `cluster::NOISE` are left out, as is usual for
/// density clusterings.
pub fn sampled_silhouette(
    x: ArrayView2<'_, f32>,
    labels: &[u32],
    sample: usize,
    seed: u64,
) -> Result<f64> {
    let mut idx = sample_indices(x.nrows(), sample, seed);
    idx.retain(|&i| labels.get(i) != Some(&crate::cluster::NOISE));
    let xs = x.select(ndarray::Axis(0), &idx);
    let ls: Vec<u32> = idx.iter().map(|&i| labels[i]).collect();
    silhouette(xs.view(), &ls)
}

/// Exact mean silhouettes of several labelings of the same rows (e.g. every k of a sweep), each
/// pairwise distance computed once. Returns one score per labeling, NaN where a labeling has
/// fewer than two clusters; a row alone in its cluster scores 0, as in scikit-learn.
///
/// Rows are grouped by their tuple of labels across all labelings, so the per-cluster distance
/// sums of every labeling come from contiguous, vectorisable range sums over the groups.
pub fn silhouette_batch(x: ArrayView2<'_, f32>, labelings: &[&[u32]]) -> Result<Vec<f64>> {
    let (m, d) = x.dim();
    for l in labelings {
        if l.len() != m {
            return Err(Error::Data(format!(
                "silhouette: {} labels for {m} rows",
                l.len()
            )));
        }
    }
    let nl = labelings.len();
    if nl == 0 {
        return Ok(Vec::new());
    }
    if m == 0 {
        return Ok(vec![f64::NAN; nl]);
    }
    // Group rows by their label tuple; groups numbered in order of first appearance.
    let mut group_of_tuple: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut group = Vec::with_capacity(m);
    let mut tuples: Vec<Vec<u32>> = Vec::new();
    for i in 0..m {
        let t: Vec<u32> = labelings.iter().map(|l| l[i]).collect();
        let g = *group_of_tuple.entry(t.clone()).or_insert_with(|| {
            tuples.push(t);
            tuples.len() - 1
        });
        group.push(g);
    }
    let ng = tuples.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by_key(|&i| (group[i], i));
    let mut starts = vec![0usize; ng + 1];
    for &i in &order {
        starts[group[i] + 1] += 1;
    }
    for g in 0..ng {
        starts[g + 1] += starts[g];
    }
    // Features outermost (structure of arrays), so one loop computes LANES distances per
    // vector step; one lane-width of padding lets a group that ends mid-vector read past it.
    let padded = m + LANES;
    let mut cols = vec![0f32; d * padded];
    for (pos, &i) in order.iter().enumerate() {
        for f in 0..d {
            cols[f * padded + pos] = x[[i, f]];
        }
    }
    // Cluster sizes and count of clusters per labeling.
    let kmax: Vec<usize> = labelings
        .iter()
        .map(|l| l.iter().map(|&v| v as usize + 1).max().unwrap_or(0))
        .collect();
    let sizes: Vec<Vec<u64>> = labelings
        .iter()
        .zip(&kmax)
        .map(|(l, &k)| {
            let mut s = vec![0u64; k];
            for &v in l.iter() {
                s[v as usize] += 1;
            }
            s
        })
        .collect();
    let present: Vec<usize> = sizes
        .iter()
        .map(|s| s.iter().filter(|&&c| c > 0).count())
        .collect();

    // s_i for every sampled row (in sorted position order) and labeling.
    let per_row: Vec<Vec<f64>> = (0..m)
        .collect::<Vec<_>>()
        .par_chunks(SAMPLE_ROWS_PER_TASK)
        .map(|rows| {
            let mut out = Vec::with_capacity(rows.len() * nl);
            let mut gsum = vec![0f64; ng];
            let mut csum: Vec<Vec<f64>> = kmax.iter().map(|&k| vec![0f64; k]).collect();
            let mut xi = vec![0f32; d];
            for &pos in rows {
                for f in 0..d {
                    xi[f] = cols[f * padded + pos];
                }
                group_sums(&cols, padded, d, &xi, &starts, &mut gsum);
                for (li, l) in labelings.iter().enumerate() {
                    let cs = &mut csum[li];
                    cs.iter_mut().for_each(|v| *v = 0.0);
                    for (g, t) in tuples.iter().enumerate() {
                        cs[t[li] as usize] += gsum[g];
                    }
                    let own = l[order[pos]] as usize;
                    let n_own = sizes[li][own];
                    if present[li] < 2 {
                        out.push(f64::NAN);
                        continue;
                    }
                    if n_own <= 1 {
                        out.push(0.0);
                        continue;
                    }
                    let a = cs[own] / (n_own - 1) as f64;
                    let mut b = f64::INFINITY;
                    for (c, &s) in cs.iter().enumerate() {
                        if c != own && sizes[li][c] > 0 {
                            b = b.min(s / sizes[li][c] as f64);
                        }
                    }
                    let den = a.max(b);
                    out.push(if den > 0.0 { (b - a) / den } else { 0.0 });
                }
            }
            out
        })
        .collect();
    let mut total = vec![0f64; nl];
    for chunk in &per_row {
        for (j, v) in chunk.iter().enumerate() {
            total[j % nl] += v;
        }
    }
    Ok(total.into_iter().map(|t| t / m as f64).collect())
}

multiversion! {
    /// Sums of Euclidean distances from `xi` to the rows of each group (contiguous ranges of the
    /// padded feature-major matrix `cols`), each group summed lane-wise in f64 in a fixed order.
    /// Runs the widest vector code the CPU has; lane-wise arithmetic makes every version agree
    /// bit for bit.
    fn group_sums => group_sums_impl(
        cols: &[f32],
        padded: usize,
        d: usize,
        xi: &[f32],
        starts: &[usize],
        gsum: &mut [f64],
    )
}

#[inline(always)]
fn group_sums_impl(
    cols: &[f32],
    padded: usize,
    d: usize,
    xi: &[f32],
    starts: &[usize],
    gsum: &mut [f64],
) {
    let mut dist = [0f32; LANES];
    for (g, out) in gsum.iter_mut().enumerate() {
        let (lo, hi) = (starts[g], starts[g + 1]);
        let mut acc = [0f64; LANES];
        let mut j = lo;
        while j < hi {
            dist.iter_mut().for_each(|v| *v = 0.0);
            for (f, &xf) in xi.iter().enumerate().take(d) {
                let col = &cols[f * padded + j..f * padded + j + LANES];
                for l in 0..LANES {
                    let t = col[l] - xf;
                    dist[l] += t * t;
                }
            }
            let take = (hi - j).min(LANES);
            for l in 0..LANES {
                // Lanes past the group's end are masked out, not branched on.
                let keep = if l < take { 1.0 } else { 0.0 };
                acc[l] += keep * dist[l].sqrt() as f64;
            }
            j += LANES;
        }
        *out = acc.iter().sum();
    }
}

/// The squared-Euclidean simplified silhouette of all rows: a = squared distance to the own
/// centroid, b = to the nearest other centroid, score = mean of (b − a) / max(a, b) (0 where
/// both are 0). `centroids` is k×d and `labels` index its rows.
pub fn simplified_silhouette(
    x: ArrayView2<'_, f32>,
    centroids: ArrayView2<'_, f32>,
    labels: &[u32],
) -> Result<f64> {
    Ok(simplified_silhouette_batch(x, &[(centroids, labels)])?[0])
}

/// Simplified silhouettes of several fits of the same rows in one pass over the data.
/// Each fit is (k×d centroids, labels); NaN for a fit with fewer than two centroids.
pub fn simplified_silhouette_batch(
    x: ArrayView2<'_, f32>,
    fits: &[(ArrayView2<'_, f32>, &[u32])],
) -> Result<Vec<f64>> {
    let (n, d) = x.dim();
    let xs = x.as_standard_layout();
    let xs = xs
        .as_slice()
        .ok_or_else(|| Error::Data("points must be in standard layout".into()))?;
    let mut cents: Vec<Vec<f32>> = Vec::with_capacity(fits.len());
    for (c, l) in fits {
        if c.ncols() != d {
            return Err(Error::Data(format!(
                "simplified silhouette: centroids have {} features, points {d}",
                c.ncols()
            )));
        }
        if l.len() != n {
            return Err(Error::Data(format!(
                "simplified silhouette: {} labels for {n} rows",
                l.len()
            )));
        }
        if let Some(&bad) = l.iter().find(|&&v| v as usize >= c.nrows()) {
            return Err(Error::Data(format!(
                "simplified silhouette: label {bad} but only {} centroids",
                c.nrows()
            )));
        }
        cents.push(c.iter().copied().collect());
    }
    if n == 0 {
        return Ok(vec![f64::NAN; fits.len()]);
    }
    let partials: Vec<Vec<f64>> = xs
        .par_chunks(ROWS_PER_CHUNK * d.max(1))
        .enumerate()
        .map(|(ci, chunk)| simplified_chunk(chunk, ci * ROWS_PER_CHUNK, d, fits, &cents))
        .collect();
    let mut total = vec![0f64; fits.len()];
    for p in &partials {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    Ok(total.into_iter().map(|t| t / n as f64).collect())
}

multiversion! {
    /// Sums of the simplified-silhouette terms of one chunk of rows (starting at row `row0`) for
    /// every fit, in the widest vector code the CPU has (identical results on each).
    fn simplified_chunk => simplified_chunk_impl(
        chunk: &[f32],
        row0: usize,
        d: usize,
        fits: &[(ArrayView2<'_, f32>, &[u32])],
        cents: &[Vec<f32>],
    ) -> Vec<f64>
}

#[inline(always)]
fn simplified_chunk_impl(
    chunk: &[f32],
    row0: usize,
    d: usize,
    fits: &[(ArrayView2<'_, f32>, &[u32])],
    cents: &[Vec<f32>],
) -> Vec<f64> {
    let rows = chunk.len() / d.max(1);
    let mut sums = vec![0f64; fits.len()];
    let mut block = vec![0f32; d * LANES];
    let mut b0 = 0;
    while b0 < rows {
        let take = (rows - b0).min(LANES);
        // Transpose LANES points to feature-major so each centroid's distances to
        // the whole block come from one vector loop.
        for l in 0..LANES {
            let r = b0 + l.min(take - 1);
            for f in 0..d {
                block[f * LANES + l] = chunk[r * d + f];
            }
        }
        for (fi, (c, labels)) in fits.iter().enumerate() {
            let k = c.nrows();
            if k < 2 {
                sums[fi] = f64::NAN;
                continue;
            }
            let mut lab = [0u32; LANES];
            for l in 0..take {
                lab[l] = labels[row0 + b0 + l];
            }
            let mut own = [0f32; LANES];
            let mut other = [f32::INFINITY; LANES];
            let cf = &cents[fi];
            for cc in 0..k {
                let mut dist = [0f32; LANES];
                for (brow, &cv) in block.chunks_exact(LANES).zip(&cf[cc * d..(cc + 1) * d]) {
                    // Fixed-length rows let the compiler drop bounds checks and vectorise.
                    let brow: &[f32; LANES] = brow.try_into().unwrap_or(&[0.0; LANES]);
                    for l in 0..LANES {
                        let t = brow[l] - cv;
                        dist[l] += t * t;
                    }
                }
                for l in 0..LANES {
                    let mine = lab[l] == cc as u32;
                    own[l] = if mine { dist[l] } else { own[l] };
                    other[l] = if mine {
                        other[l]
                    } else {
                        other[l].min(dist[l])
                    };
                }
            }
            let mut s = 0f64;
            for l in 0..take {
                let (a, b) = (own[l] as f64, other[l] as f64);
                let den = a.max(b);
                if den > 0.0 {
                    s += (b - a) / den;
                }
            }
            sums[fi] += s;
        }
        b0 += LANES;
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Four points on a line, two clusters, every s_i worked by hand.
    #[test]
    fn silhouette_of_four_points_on_a_line() {
        // Points 0, 1 in cluster 0; 4, 6 in cluster 1.
        let x = array![[0f32], [1.], [4.], [6.]];
        let labels = [0, 0, 1, 1];
        // s0: a=1, b=(4+6)/2=5 → 0.8; s1: a=1, b=(3+5)/2=4 → 0.75;
        // s2: a=2, b=(4+3)/2=3.5 → 1.5/3.5; s3: a=2, b=(6+5)/2=5.5 → 3.5/5.5.
        let expect = (0.8 + 0.75 + 1.5 / 3.5 + 3.5 / 5.5) / 4.0;
        let s = silhouette(x.view(), &labels).unwrap_or(f64::NAN);
        assert!((s - expect).abs() < 1e-9, "{s} vs {expect}");
    }

    #[test]
    fn batch_matches_one_at_a_time_and_handles_singletons() {
        let x = array![[0f32, 0.], [0., 1.], [5., 5.], [5., 6.], [9., 0.], [2., 2.]];
        let a = [0u32, 0, 1, 1, 2, 0];
        let b = [1u32, 1, 0, 0, 0, 1];
        let c = [0u32, 0, 0, 0, 0, 0];
        let batch = silhouette_batch(x.view(), &[&a, &b, &c]).unwrap_or_default();
        let one_a = silhouette(x.view(), &a).unwrap_or(f64::NAN);
        let one_b = silhouette(x.view(), &b).unwrap_or(f64::NAN);
        assert!((batch[0] - one_a).abs() < 1e-12);
        assert!((batch[1] - one_b).abs() < 1e-12);
        assert!(batch[2].is_nan(), "one cluster has no silhouette");
        // Row 4 is alone in cluster 2 of labeling a and contributes 0.
        let brute = brute_force(&x, &a);
        assert!((one_a - brute).abs() < 1e-6, "{one_a} vs {brute}");
    }

    fn brute_force(x: &ndarray::Array2<f32>, l: &[u32]) -> f64 {
        let n = x.nrows();
        let dist = |i: usize, j: usize| -> f64 {
            x.row(i)
                .iter()
                .zip(x.row(j).iter())
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        };
        let k = l.iter().map(|&v| v as usize + 1).max().unwrap_or(0);
        let mut total = 0.0;
        for i in 0..n {
            let mut sums = vec![0f64; k];
            let mut cnt = vec![0usize; k];
            for j in 0..n {
                sums[l[j] as usize] += dist(i, j);
                cnt[l[j] as usize] += 1;
            }
            let own = l[i] as usize;
            if cnt[own] == 1 {
                continue;
            }
            let a = sums[own] / (cnt[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && cnt[c] > 0)
                .map(|c| sums[c] / cnt[c] as f64)
                .fold(f64::INFINITY, f64::min);
            total += (b - a) / a.max(b);
        }
        total / n as f64
    }

    #[test]
    fn batch_matches_brute_force_on_random_data() {
        use rand::RngExt;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 203; // not a multiple of the lane count
        let x = ndarray::Array2::from_shape_fn((n, 3), |_| rng.random_range(-3.0f32..3.0));
        let l2: Vec<u32> = (0..n).map(|i| (x[[i, 0]] > 0.0) as u32).collect();
        let l3: Vec<u32> = (0..n).map(|_| rng.random_range(0..3u32)).collect();
        let batch = silhouette_batch(x.view(), &[&l2, &l3]).unwrap_or_default();
        assert!((batch[0] - brute_force(&x, &l2)).abs() < 1e-5);
        assert!((batch[1] - brute_force(&x, &l3)).abs() < 1e-5);
        // A split along one axis of uniform data scores about 0.2; random labels about 0.
        assert!(batch[0] > 0.15 && batch[1].abs() < 0.1, "{batch:?}");
    }

    #[test]
    fn simplified_silhouette_by_hand() {
        let x = array![[0f32], [1.], [4.], [6.]];
        let c = array![[0.5f32], [5.]];
        let labels = [0, 0, 1, 1];
        // Squared: row0 a=.25 b=25; row1 a=.25 b=16; row2 a=1 b=12.25; row3 a=1 b=30.25.
        let expect = ((25.0 - 0.25) / 25.0
            + (16.0 - 0.25) / 16.0
            + (12.25 - 1.0) / 12.25
            + (30.25 - 1.0) / 30.25)
            / 4.0;
        let s = simplified_silhouette(x.view(), c.view(), &labels).unwrap_or(f64::NAN);
        assert!((s - expect).abs() < 1e-7, "{s} vs {expect}");
        // A mislabelled point scores negative.
        let s2 = simplified_silhouette(x.view(), c.view(), &[1, 0, 1, 1]).unwrap_or(f64::NAN);
        assert!(s2 < s);
        assert!(simplified_silhouette(x.view(), c.view(), &[0, 0, 2, 1]).is_err());
    }

    #[test]
    fn sample_is_seeded_and_sorted() {
        let a = sample_indices(1000, 50, 3);
        assert_eq!(a, sample_indices(1000, 50, 3));
        assert_ne!(a, sample_indices(1000, 50, 4));
        assert_eq!(a.len(), 50);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample_indices(5, 50, 3), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn vector_and_portable_kernels_agree_bit_for_bit() {
        use rand::RngExt;
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let (m, d) = (77, 3);
        let cols: Vec<f32> = (0..d * (m + LANES))
            .map(|_| rng.random_range(-2.0f32..2.0))
            .collect();
        let starts = [0, 5, 6, 40, 77];
        let xi = [0.3f32, -1.0, 0.5];
        let (mut a, mut b) = (vec![0f64; 4], vec![0f64; 4]);
        group_sums(&cols, m + LANES, d, &xi, &starts, &mut a);
        group_sums_impl(&cols, m + LANES, d, &xi, &starts, &mut b);
        assert_eq!(a, b);
        let x = ndarray::Array2::from_shape_fn((53, d), |_| rng.random_range(-2.0f32..2.0));
        let c = ndarray::Array2::from_shape_fn((4, d), |_| rng.random_range(-2.0f32..2.0));
        let l: Vec<u32> = (0..53).map(|i| (i % 4) as u32).collect();
        let fits = [(c.view(), l.as_slice())];
        let cents = vec![c.iter().copied().collect::<Vec<f32>>()];
        let xs: Vec<f32> = x.iter().copied().collect();
        assert_eq!(
            simplified_chunk(&xs, 0, d, &fits, &cents),
            simplified_chunk_impl(&xs, 0, d, &fits, &cents)
        );
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        use rand::RngExt;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let n = 9_000; // spans several parallel chunks
        let x = ndarray::Array2::from_shape_fn((n, 4), |_| rng.random_range(-2.0f32..2.0));
        let l: Vec<u32> = (0..n)
            .map(|i| (x[[i, 0]] > 0.0) as u32 + (x[[i, 1]] > 0.5) as u32)
            .collect();
        let c = ndarray::Array2::from_shape_fn((3, 4), |(i, j)| (i + j) as f32 / 4.0);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            pool.install(|| {
                (
                    sampled_silhouette(x.view(), &l, 2_000, 1).unwrap_or(f64::NAN),
                    simplified_silhouette(x.view(), c.view(), &l).unwrap_or(f64::NAN),
                )
            })
        };
        let (a, b) = (run(1), run(3));
        assert_eq!(a.0.to_bits(), b.0.to_bits());
        assert_eq!(a.1.to_bits(), b.1.to_bits());
    }
}
