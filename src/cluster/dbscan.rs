//! Exact DBSCAN (the same core points and clusters as scikit-learn's `DBSCAN`) over a k-d tree,
//! and a suggestion for `eps` from the knee of the sorted k-distance curve.
//!
//! Distances: the squared Euclidean distance is computed in f64 from the f32 coordinates, one
//! feature after the other (`squared_distance`), and a point is a neighbour when it is
//! `<= eps * eps`. The tree's box bounds are computed with the same operations in the same
//! order, and rounding is monotone, so pruning a box never drops a point that the brute-force
//! formula accepts and accepting a whole box never takes one it rejects: the index is exact.
//!
//! How (each step parallel over points; what each step computes, the core set, the
//! components of the core graph and each border's nearest core, is uniquely defined, so the
//! result does not depend on the thread count or the order the work is done in):
//! 1. a k-d tree with a bounding box per node, split at medians, or cleanly between the two
//!    values of a two-valued feature (one-hot columns), so slices of equal codes never share a
//!    box;
//! 2. core pass: count neighbours nearest boxes first, stopping at `min_samples`, taking
//!    whole boxes inside eps without looking at their points, and recording the first few
//!    neighbours met;
//! 3. components of cores with a concurrent union-find: first the recorded links, then an
//!    exhaustive pass (each core pair once) that skips subtrees whose cores are already all in
//!    the query's component (tags refreshed between batches);
//! 4. borders: the nearest core among the recorded neighbours when all were recorded
//!    (`min_samples <= QUICK_LINKS + 1`), else a nearest-core search.
//!
//! Why a hand-written tree rather than a crate (`kiddo`): the dimension is known only at run
//! time (1 to ~30 features), which kiddo serves only through const generics (several
//! monomorphised copies to build on a shared 2-core machine); its distances are its own f32
//! arithmetic, which would need a second exact filter; and the steps above need queries it
//! lacks: a count that stops at `min_samples` and takes whole boxes, a search restricted to
//! later tree positions and to subtrees not yet merged, and a nearest core with ties broken
//! by row. A uniform grid was not chosen either: it is fast only in 2–3 dimensions, and the
//! one tree serves every dimension. The tree is tested against brute force.

mod kdtree;

use crate::error::{Error, Param, ParamError, Result};
use kdtree::{Dsu, KdTree, MIXED, QUICK_LINKS};
use ndarray::ArrayView2;
use rayon::prelude::*;

/// DBSCAN parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DbscanParams {
    /// Neighbourhood radius, in the units of the (scaled) data; a neighbour is at distance <= eps.
    pub eps: f64,
    /// Points in a neighbourhood (the point itself included) that make a point core.
    pub min_samples: usize,
}

impl DbscanParams {
    /// Validates before any work: one Error::Data message per rule, saying what to use instead.
    pub fn check(&self) -> Result<()> {
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(ParamError::Eps(self.eps).into());
        }
        check_min_samples(self.min_samples)
    }
}

fn check_min_samples(min_samples: usize) -> Result<()> {
    if min_samples == 0 {
        return Err(ParamError::MinSamplesZero.into());
    }
    Ok(())
}

/// A DBSCAN result.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dbscan {
    /// Cluster of every row: -1 = noise; clusters 0.. numbered by size descending, ties by
    /// lowest row index of a member.
    pub labels: Vec<i32>,
    /// Whether every row is a core point.
    pub is_core: Vec<bool>,
    /// Number of clusters.
    pub n_clusters: usize,
    /// Number of rows labelled noise.
    pub n_noise: usize,
}

/// The squared Euclidean distance in f64 from f32 coordinates, summed feature by feature: the
/// one definition of "within eps" (`squared_distance(a, b) <= eps * eps`) used everywhere.
#[inline]
pub fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    let mut s = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        let t = f64::from(*x) - f64::from(*y);
        s += t * t;
    }
    s
}

/// Runs exact DBSCAN on the rows of `x`.
///
/// Core: at least `min_samples` rows (itself and duplicates included) within eps. Clusters are
/// the connected components of core points (two cores within eps are connected). A border
/// point (not core, within eps of a core) joins the cluster of its nearest core point, ties to
/// the lowest row index: unlike scikit-learn, whose choice depends on visiting order, this does
/// not depend on row order or thread count. Everything else is noise (-1).
pub fn dbscan(x: ArrayView2<'_, f32>, params: &DbscanParams) -> Result<Dbscan> {
    params.check()?;
    check_input(x)?;
    let n = x.nrows();
    if n == 0 {
        return Ok(Dbscan {
            labels: Vec::new(),
            is_core: Vec::new(),
            n_clusters: 0,
            n_noise: 0,
        });
    }
    let eps2 = params.eps * params.eps;
    let tree = KdTree::build(x);
    let m = params.min_samples;

    // Per position: core?, all neighbours recorded?, how many recorded, the recorded ones.
    // Each depends only on the tree, so results are the same on any number of threads.
    let found: Vec<(bool, bool, u8, [u32; QUICK_LINKS])> = (0..n)
        .into_par_iter()
        .with_min_len(1024)
        .map(|i| {
            let mut links = [0u32; QUICK_LINKS];
            let (count, made) = tree.count_within(i, eps2, m, &mut links);
            (count >= m, count == made + 1, made as u8, links)
        })
        .collect();
    let core: Vec<bool> = found.iter().map(|f| f.0).collect();
    let dsu = Dsu::new(n);
    let cores_in = tree.cores_per_node(&core);
    // First the links the core pass met on its way (nearest boxes first): they merge dense
    // regions into few components, so the exhaustive pass below can skip most of the tree.
    found
        .par_iter()
        .enumerate()
        .with_min_len(1024)
        .for_each(|(i, (is_core, _, made, links))| {
            if *is_core {
                for &j in &links[..*made as usize] {
                    if core[j as usize] {
                        dsu.union(i as u32, j);
                    }
                }
            }
        });
    let mut tags = vec![MIXED; tree.node_count()];
    let batch = n.div_ceil(UNION_BATCHES).max(1);
    for start in (0..n).step_by(batch) {
        tree.tag_merged_nodes(&core, &cores_in, &dsu, &mut tags);
        (start..(start + batch).min(n))
            .into_par_iter()
            .with_min_len(64)
            .filter(|&i| core[i])
            .for_each(|i| tree.union_later_cores(i, eps2, &core, &cores_in, &tags, &dsu));
    }
    // A non-core point has fewer than min_samples neighbours, so when min_samples - 1 <=
    // QUICK_LINKS the core pass recorded all of them and no search is needed.
    let border_of: Vec<u32> = found
        .par_iter()
        .enumerate()
        .with_min_len(1024)
        .map(|(i, &(is_core, complete, made, ref links))| {
            if is_core {
                i as u32
            } else if complete {
                tree.nearest_of(tree.point(i), &links[..made as usize], &core)
            } else {
                tree.nearest_core(tree.point(i), eps2, &core, &cores_in)
                    .unwrap_or(u32::MAX)
            }
        })
        .collect();
    drop(found);

    // Component of each position (by root), then canonical numbering.
    let mut comp_of_root = vec![u32::MAX; n];
    let mut sizes: Vec<(usize, u32)> = Vec::new(); // (members, lowest row)
    let mut comp = vec![u32::MAX; n];
    for i in 0..n {
        if core[i] {
            let r = dsu.find(i as u32) as usize;
            if comp_of_root[r] == u32::MAX {
                comp_of_root[r] = sizes.len() as u32;
                sizes.push((0, u32::MAX));
            }
            comp[i] = comp_of_root[r];
        }
    }
    for i in 0..n {
        let anchor = border_of[i];
        if anchor != u32::MAX {
            let c = comp[anchor as usize];
            comp[i] = c;
            let s = &mut sizes[c as usize];
            s.0 += 1;
            s.1 = s.1.min(tree.rows[i]);
        }
    }
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|&a, &b| {
        sizes[b]
            .0
            .cmp(&sizes[a].0)
            .then(sizes[a].1.cmp(&sizes[b].1))
    });
    let mut rank = vec![0i32; sizes.len()];
    for (r, &c) in order.iter().enumerate() {
        rank[c] = r as i32;
    }
    let mut labels = vec![-1i32; n];
    let mut is_core = vec![false; n];
    for i in 0..n {
        let row = tree.rows[i] as usize;
        is_core[row] = core[i];
        if comp[i] != u32::MAX {
            labels[row] = rank[comp[i] as usize];
        }
    }
    let n_noise = labels.iter().filter(|&&l| l < 0).count();
    Ok(Dbscan {
        labels,
        is_core,
        n_clusters: sizes.len(),
        n_noise,
    })
}

/// eps suggested from the knee of the sorted k-distance curve (k = min_samples - 1 neighbours
/// other than the point itself, i.e. sklearn's NearestNeighbors(n_neighbors=min_samples) last
/// column).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpsSuggestion {
    /// The suggested eps: the k-distance at the knee.
    pub eps: f64,
    /// The min_samples the k-distances were computed for.
    pub min_samples: usize,
    /// Rows whose k-distance was computed (each against all rows).
    pub sample_rows: usize,
    /// Sorted k-distances, ascending, downsampled to at most 500 points for a plot.
    pub curve: Vec<f64>,
    /// Index into `curve` of the knee.
    pub knee_index: usize,
}

/// Most points kept in `EpsSuggestion::curve`.
pub const CURVE_POINTS: usize = 500;

/// Suggests eps from the knee of the sorted k-distance curve of a seeded sample of at most
/// `sample` rows, each row's k-distance computed exactly against all rows.
///
/// The knee is the point of the downsampled curve farthest below its chord on normalised axes:
/// the global maximum of Kneedle's difference curve (Satopää et al., 2011, offline). Kneedle's
/// first-local-maximum rule, which `analysis::kneedle` uses for the short elbow curve, stops on
/// the ragged tail that a few far outliers make at the top of the k-distance curve and suggests
/// an eps that merges everything. Deterministic for a seed.
pub fn suggest_eps(
    x: ArrayView2<'_, f32>,
    min_samples: usize,
    sample: usize,
    seed: u64,
) -> Result<EpsSuggestion> {
    check_min_samples(min_samples)?;
    check_input(x)?;
    let n = x.nrows();
    if min_samples == 1 {
        return Err(Error::Data(format!(
            "cannot suggest {E} for {M} 1: a point is its own nearest neighbour, so \
             every k-distance is 0 (and every point is core at any eps); give {E} explicitly \
             or use a {M} of at least 2",
            E = Param::Eps,
            M = Param::MinSamples
        )));
    }
    if sample == 0 {
        return Err(Error::Data(
            "the k-distance sample must have at least 1 row; use a few thousand".into(),
        ));
    }
    if n < min_samples || n == 0 {
        return Err(Error::Data(format!(
            "cannot suggest {E}: the data has {n} rows, fewer than {M} \
             {min_samples}; give {E} explicitly or use a {M} of at most {n}",
            E = Param::Eps,
            M = Param::MinSamples
        )));
    }
    let idx = crate::data::sample::sample_indices(n, sample, seed);
    let tree = KdTree::build(x);
    let mut kd: Vec<f64> = idx
        .par_iter()
        .with_min_len(64)
        .map(|&r| {
            let q: Vec<f32> = x.row(r).to_vec();
            tree.kth_distance2(&q, min_samples).sqrt()
        })
        .collect();
    kd.sort_by(f64::total_cmp);
    let curve = downsample(&kd, CURVE_POINTS);
    let knee_index = farthest_below_chord(&curve);
    // A knee on a run of zero k-distances (exact duplicates) is no usable eps: take the
    // smallest positive distance after it.
    let eps = match curve[knee_index..].iter().find(|&&v| v > 0.0) {
        Some(&v) => v,
        None => {
            return Err(Error::Data(format!(
                "cannot suggest {E}: every sampled row has at least {} exact duplicates, so \
                 the k-distances are all 0; give a small positive {E} explicitly",
                min_samples - 1,
                E = Param::Eps
            )))
        }
    };
    Ok(EpsSuggestion {
        eps,
        min_samples,
        sample_rows: idx.len(),
        curve,
        knee_index,
    })
}

/// Evenly spaced points of `v` (first and last included), at most `max` of them.
fn downsample(v: &[f64], max: usize) -> Vec<f64> {
    let n = v.len();
    if n <= max || max < 2 {
        return v.to_vec();
    }
    (0..max).map(|i| v[i * (n - 1) / (max - 1)]).collect()
}

/// Index of the point of an ascending curve farthest below its chord (normalised axes); 0 for
/// a flat or too short curve.
fn farthest_below_chord(c: &[f64]) -> usize {
    let m = c.len();
    if m < 3 {
        return m.saturating_sub(1);
    }
    let (lo, hi) = (c[0], c[m - 1]);
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return 0;
    }
    let mut best = (f64::NEG_INFINITY, 0);
    for (i, &v) in c.iter().enumerate() {
        let t = i as f64 / (m - 1) as f64;
        let d = t - (v - lo) / (hi - lo);
        if d > best.0 {
            best = (d, i);
        }
    }
    best.1
}

/// Refuses inputs no distance can be computed on: non-finite values, no features, too many rows.
fn check_input(x: ArrayView2<'_, f32>) -> Result<()> {
    let (n, d) = x.dim();
    if d == 0 && n > 0 {
        return Err(Error::Data(
            "DBSCAN needs at least one feature column; select numeric or encoded columns".into(),
        ));
    }
    // Tree positions are u32 and labels i32.
    if n > i32::MAX as usize {
        return Err(Error::Data(format!(
            "DBSCAN handles at most {} rows (got {n}); cluster a sample",
            i32::MAX
        )));
    }
    for (r, row) in x.outer_iter().enumerate() {
        if let Some((c, v)) = row.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::Data(format!(
                "row {r}, feature {c}: {v} is not a finite number; DBSCAN needs finite \
                 coordinates (clean or impute the data first)"
            )));
        }
    }
    Ok(())
}

/// Batches of the union pass (tags are refreshed between them): enough for the tags to keep
/// up with the merging, few enough that refreshing them (O(n)) stays cheap.
const UNION_BATCHES: usize = 128;

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn messages_say_what_to_use() {
        let e = DbscanParams {
            eps: 0.0,
            min_samples: 5,
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("eps must be a positive distance"), "{e}");
        let e = DbscanParams {
            eps: 1.0,
            min_samples: 0,
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(e.contains("5 is a common choice"), "{e}");
    }

    #[test]
    fn downsample_keeps_ends() {
        let v: Vec<f64> = (0..1234).map(f64::from).collect();
        let d = downsample(&v, 500);
        assert_eq!(d.len(), 500);
        assert_eq!(d[0], 0.0);
        assert_eq!(d[499], 1233.0);
    }

    #[test]
    fn non_finite_input_names_row_and_feature() {
        let x = Array2::from_shape_vec((2, 2), vec![0.0, 1.0, f32::NAN, 2.0]).unwrap();
        let p = DbscanParams {
            eps: 1.0,
            min_samples: 1,
        };
        let e = dbscan(x.view(), &p).unwrap_err().to_string();
        assert!(e.starts_with("row 1, feature 0"), "{e}");
    }
}
