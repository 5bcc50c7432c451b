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
//! 1. a balanced k-d tree with a bounding box per node;
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

use crate::error::{Error, Result};
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};

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
            return Err(Error::Data(format!(
                "--eps must be a positive distance in the units of the scaled data (got {}); \
                 leave it out to have it suggested from the k-distance curve",
                self.eps
            )));
        }
        check_min_samples(self.min_samples)
    }
}

fn check_min_samples(min_samples: usize) -> Result<()> {
    if min_samples == 0 {
        return Err(Error::Data(
            "--min-samples must be at least 1 (it counts the point itself, as scikit-learn \
             does); 5 is a common choice, or 2 × the number of features"
                .into(),
        ));
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
    let mut tags = vec![MIXED; tree.nodes.len()];
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
    /// Whether Kneedle found the knee; false when the fallback (farthest point below the
    /// chord) was used.
    pub knee_found: bool,
}

/// Most points kept in `EpsSuggestion::curve`.
pub const CURVE_POINTS: usize = 500;

/// Suggests eps from the knee of the sorted k-distance curve of a seeded sample of at most
/// `sample` rows, each row's k-distance computed exactly against all rows.
///
/// The knee is found by Kneedle (`crate::analysis::kneedle`, written for decreasing convex
/// curves) on the downsampled curve read backwards: the ascending, convex k-distance curve
/// reversed is decreasing and convex, and reversing keeps the knee. Where Kneedle finds none,
/// the point farthest below the chord is used. Deterministic for a seed.
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
        return Err(Error::Data(
            "cannot suggest --eps for --min-samples 1: a point is its own nearest neighbour, so \
             every k-distance is 0 (and every point is core at any eps); give --eps explicitly \
             or use a --min-samples of at least 2"
                .into(),
        ));
    }
    if sample == 0 {
        return Err(Error::Data(
            "the k-distance sample must have at least 1 row; use a few thousand".into(),
        ));
    }
    if n < min_samples || n == 0 {
        return Err(Error::Data(format!(
            "cannot suggest --eps: the data has {n} rows, fewer than --min-samples \
             {min_samples}; give --eps explicitly or use a --min-samples of at most {n}"
        )));
    }
    let idx = crate::analysis::sample_indices(n, sample, seed);
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
    let m = curve.len();
    let rev: Vec<f64> = curve.iter().rev().copied().collect();
    let ks: Vec<usize> = (0..m).collect();
    let (knee_index, knee_found) = match crate::analysis::kneedle(&ks, &rev) {
        Some(j) => (m - 1 - j, true),
        None => (farthest_below_chord(&curve), false),
    };
    // A knee on a run of zero k-distances (exact duplicates) is no usable eps: take the
    // smallest positive distance after it.
    let eps = match curve[knee_index..].iter().find(|&&v| v > 0.0) {
        Some(&v) => v,
        None => {
            return Err(Error::Data(format!(
                "cannot suggest --eps: every sampled row has at least {} exact duplicates, so \
                 the k-distances are all 0; give a small positive --eps explicitly",
                min_samples - 1
            )))
        }
    };
    Ok(EpsSuggestion {
        eps,
        min_samples,
        sample_rows: idx.len(),
        curve,
        knee_index,
        knee_found,
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

/// Points per leaf: small enough to prune well, large enough that the leaf loop dominates.
const LEAF: usize = 32;
/// Neighbours the core pass records per point, to link cores before the exhaustive pass.
const QUICK_LINKS: usize = 8;
/// Tag of a node whose cores are not known to be one component.
const MIXED: u32 = u32::MAX;
/// Batches of the union pass (tags are refreshed between them): enough for the tags to keep
/// up with the merging, few enough that refreshing them (O(n)) stays cheap.
const UNION_BATCHES: usize = 128;
/// Deepest traversal stack: the tree is balanced, so depth <= log2(u32::MAX / LEAF) + 1.
const STACK: usize = 64;

/// One node: a range of tree positions with its bounding box; `left == 0` marks a leaf (the
/// root is node 0 and is never anyone's child).
struct Node {
    start: u32,
    end: u32,
    left: u32,
    right: u32,
}

/// A balanced k-d tree over the rows, stored in tree order for locality, with a bounding box
/// per node (boxes, not split planes, so duplicates and ties need no special care).
struct KdTree {
    d: usize,
    /// Coordinates in tree order, `n × d`.
    pts: Vec<f32>,
    /// Row of `x` at each tree position.
    rows: Vec<u32>,
    nodes: Vec<Node>,
    /// Ids of the leaves, in tree order.
    leaves: Vec<u32>,
    /// Box corners, `nodes × d`.
    lo: Vec<f32>,
    hi: Vec<f32>,
}

/// Nodes of a subtree in pre-order (its root first), with their boxes.
#[derive(Default)]
struct Subtree {
    nodes: Vec<Node>,
    lo: Vec<f32>,
    hi: Vec<f32>,
}

/// Rows above which the two halves of a split are built in parallel.
const PARALLEL_BUILD: usize = 1 << 15;

/// Builds the subtree over `rows` (tree positions `offset..offset + rows.len()`).
fn build_subtree(flat: &[f32], d: usize, rows: &mut [u32], offset: usize) -> Subtree {
    let mut sub = Subtree::default();
    build_into(flat, d, rows, offset, &mut sub);
    sub
}

/// Appends `other` to `sub`, renumbering its child links; returns the id of its root.
fn append_subtree(sub: &mut Subtree, other: Subtree) -> u32 {
    let base = sub.nodes.len() as u32;
    sub.nodes.extend(other.nodes.into_iter().map(|mut nd| {
        if nd.left != 0 {
            nd.left += base;
            nd.right += base;
        }
        nd
    }));
    sub.lo.extend(other.lo);
    sub.hi.extend(other.hi);
    base
}

/// Adds the node over `rows` and, below it, its subtree to `sub` in pre-order; large halves
/// are built on other threads and appended, which gives the same tree as building in order.
fn build_into(flat: &[f32], d: usize, rows: &mut [u32], offset: usize, sub: &mut Subtree) -> u32 {
    let id = sub.nodes.len();
    let mut lo = vec![f32::INFINITY; d];
    let mut hi = vec![f32::NEG_INFINITY; d];
    for &r in rows.iter() {
        let p = &flat[r as usize * d..(r as usize + 1) * d];
        for j in 0..d {
            lo[j] = lo[j].min(p[j]);
            hi[j] = hi[j].max(p[j]);
        }
    }
    sub.nodes.push(Node {
        start: offset as u32,
        end: (offset + rows.len()) as u32,
        left: 0,
        right: 0,
    });
    // The widest side, ties to the lowest feature: deterministic.
    let mut k = 0;
    for j in 1..d {
        if hi[j] - lo[j] > hi[k] - lo[k] {
            k = j;
        }
    }
    let flat_box = d == 0 || hi[k] <= lo[k];
    sub.lo.extend_from_slice(&lo);
    sub.hi.extend_from_slice(&hi);
    if rows.len() <= LEAF || flat_box {
        return id as u32;
    }
    let mid = rows.len() / 2;
    rows.select_nth_unstable_by(mid, |&a, &b| {
        flat[a as usize * d + k].total_cmp(&flat[b as usize * d + k])
    });
    let big = rows.len() >= PARALLEL_BUILD;
    let (lrows, rrows) = rows.split_at_mut(mid);
    let (left, right) = if big {
        let (ls, rs) = rayon::join(
            || build_subtree(flat, d, lrows, offset),
            || build_subtree(flat, d, rrows, offset + mid),
        );
        (append_subtree(sub, ls), append_subtree(sub, rs))
    } else {
        let left = build_into(flat, d, lrows, offset, sub);
        (left, build_into(flat, d, rrows, offset + mid, sub))
    };
    sub.nodes[id].left = left;
    sub.nodes[id].right = right;
    id as u32
}

impl KdTree {
    /// Builds the tree by median splits along the widest side of each box.
    fn build(x: ArrayView2<'_, f32>) -> Self {
        let (n, d) = x.dim();
        let flat: Vec<f32> = x.iter().copied().collect();
        let mut rows: Vec<u32> = (0..n as u32).collect();
        let sub = build_subtree(&flat, d, &mut rows, 0);
        let mut pts = Vec::with_capacity(n * d);
        for &r in &rows {
            let r = r as usize;
            pts.extend_from_slice(&flat[r * d..(r + 1) * d]);
        }
        let leaves = (0..sub.nodes.len() as u32)
            .filter(|&id| sub.nodes[id as usize].left == 0)
            .collect();
        KdTree {
            d,
            pts,
            rows,
            nodes: sub.nodes,
            leaves,
            lo: sub.lo,
            hi: sub.hi,
        }
    }

    #[inline]
    fn point(&self, i: usize) -> &[f32] {
        &self.pts[i * self.d..(i + 1) * self.d]
    }

    /// Smallest and largest squared distance from `q` to any point that can lie in the box,
    /// computed like `squared_distance` so the bounds are consistent with it (see module doc).
    #[inline]
    fn box_bounds(&self, node: usize, q: &[f32]) -> (f64, f64) {
        let d = self.d;
        let lo = &self.lo[node * d..(node + 1) * d];
        let hi = &self.hi[node * d..(node + 1) * d];
        let (mut near, mut far) = (0.0f64, 0.0f64);
        for j in 0..d {
            let (qj, l, h) = (f64::from(q[j]), f64::from(lo[j]), f64::from(hi[j]));
            let gap = (l - qj).max(qj - h).max(0.0);
            let reach = (qj - l).max(h - qj);
            near += gap * gap;
            far += reach * reach;
        }
        (near, far)
    }

    /// Points within eps of tree position `i` (itself included); counting stops once it
    /// reaches `cap`. Nearer boxes first, so the count usually reaches `cap` in the query's
    /// own leaf. The first neighbours other than `i` are written to `links` (how many: the
    /// second value returned).
    fn count_within(
        &self,
        i: usize,
        eps2: f64,
        cap: usize,
        links: &mut [u32; QUICK_LINKS],
    ) -> (usize, usize) {
        let q = self.point(i);
        let (mut count, mut made) = (0, 0);
        self.visit_near_first(q, eps2, |t, id, far| {
            let node = &t.nodes[id];
            for j in node.start as usize..node.end as usize {
                if far <= eps2 || squared_distance(q, t.point(j)) <= eps2 {
                    count += 1;
                    if j != i && made < QUICK_LINKS {
                        links[made] = j as u32;
                        made += 1;
                    }
                    if count >= cap {
                        return false;
                    }
                }
            }
            true
        });
        (count, made)
    }

    /// Calls `leaf(tree, node, far)` on every leaf, or inner box entirely within eps, that
    /// can hold a point within eps of `q`, nearest box first; stops when `leaf` returns false.
    #[inline]
    fn visit_near_first(
        &self,
        q: &[f32],
        eps2: f64,
        mut leaf: impl FnMut(&Self, usize, f64) -> bool,
    ) {
        let (near, far) = self.box_bounds(0, q);
        if near > eps2 {
            return;
        }
        let mut stack = [(0u32, 0.0f64); STACK];
        stack[0] = (0, far);
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let (id, far) = stack[top];
            let id = id as usize;
            let node = &self.nodes[id];
            if far <= eps2 || node.left == 0 {
                if !leaf(self, id, far) {
                    return;
                }
                continue;
            }
            let (l, r) = (node.left, node.right);
            let (bl, br) = (
                self.box_bounds(l as usize, q),
                self.box_bounds(r as usize, q),
            );
            let (first, second) = if bl.0 <= br.0 {
                ((l, bl), (r, br))
            } else {
                ((r, br), (l, bl))
            };
            // The farther child goes on the stack first, so the nearer one is popped first.
            for (c, (n, f)) in [second, first] {
                if n <= eps2 {
                    stack[top] = (c, f);
                    top += 1;
                }
            }
        }
    }

    /// Number of cores under every node (nodes are in pre-order, so children come after
    /// their parent and a reverse sweep sees them first).
    fn cores_per_node(&self, core: &[bool]) -> Vec<u32> {
        let mut c = vec![0u32; self.nodes.len()];
        for id in (0..self.nodes.len()).rev() {
            let node = &self.nodes[id];
            c[id] = if node.left == 0 {
                core[node.start as usize..node.end as usize]
                    .iter()
                    .filter(|&&b| b)
                    .count() as u32
            } else {
                c[node.left as usize] + c[node.right as usize]
            };
        }
        c
    }

    /// Sets `tags[node]` to a member of the one component all cores under the node belong to,
    /// or `MIXED` where they are not (yet) known to be one (nodes without cores: don't care).
    fn tag_merged_nodes(&self, core: &[bool], cores_in: &[u32], dsu: &Dsu, tags: &mut [u32]) {
        let leaf_tags: Vec<u32> = self
            .leaves
            .par_iter()
            .with_min_len(64)
            .map(|&id| {
                let node = &self.nodes[id as usize];
                let mut tag = MIXED;
                for j in (node.start..node.end).filter(|&j| core[j as usize]) {
                    let r = dsu.find(j);
                    if tag == MIXED {
                        tag = r;
                    } else if tag != r {
                        return MIXED;
                    }
                }
                tag
            })
            .collect();
        for (&id, &t) in self.leaves.iter().zip(&leaf_tags) {
            tags[id as usize] = t;
        }
        for id in (0..self.nodes.len()).rev() {
            let node = &self.nodes[id];
            if node.left == 0 {
                continue;
            }
            let (l, r) = (node.left as usize, node.right as usize);
            tags[id] = match (cores_in[l], cores_in[r]) {
                (0, _) => tags[r],
                (_, 0) => tags[l],
                _ if tags[l] == MIXED || tags[r] == MIXED => MIXED,
                _ => {
                    let (a, b) = (dsu.find(tags[l]), dsu.find(tags[r]));
                    if a == b {
                        a
                    } else {
                        MIXED
                    }
                }
            };
        }
    }

    /// Unions core position `i` with every core at a later tree position within eps (so each
    /// core pair is looked at once), skipping nodes already known to be in its component.
    fn union_later_cores(
        &self,
        i: usize,
        eps2: f64,
        core: &[bool],
        cores_in: &[u32],
        tags: &[u32],
        dsu: &Dsu,
    ) {
        let q = self.point(i);
        let mut stack = [0u32; STACK];
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let id = stack[top] as usize;
            let node = &self.nodes[id];
            if node.end as usize <= i + 1 || cores_in[id] == 0 {
                continue;
            }
            let tag = tags[id];
            if tag != MIXED && dsu.find(tag) == dsu.find(i as u32) {
                continue;
            }
            let (near, far) = self.box_bounds(id, q);
            if near > eps2 {
                continue;
            }
            if far <= eps2 || node.left == 0 {
                let from = (node.start as usize).max(i + 1);
                for (j, _) in core[..node.end as usize]
                    .iter()
                    .enumerate()
                    .skip(from)
                    .filter(|&(_, &c)| c)
                {
                    if far <= eps2 || squared_distance(q, self.point(j)) <= eps2 {
                        dsu.union(i as u32, j as u32);
                        if tag != MIXED {
                            break; // one link joins `i` to every core under a tagged node
                        }
                    }
                }
            } else {
                stack[top] = node.left;
                stack[top + 1] = node.right;
                top += 2;
            }
        }
    }

    /// The nearest core among `candidates` (tree positions, all within eps of `q`), ties to
    /// the lowest row; `u32::MAX` when none is core.
    fn nearest_of(&self, q: &[f32], candidates: &[u32], core: &[bool]) -> u32 {
        let mut best: Option<(f64, u32, u32)> = None; // (distance², row, position)
        for &j in candidates.iter().filter(|&&j| core[j as usize]) {
            let d2 = squared_distance(q, self.point(j as usize));
            let row = self.rows[j as usize];
            if best.is_none_or(|(bd, br, _)| d2 < bd || (d2 == bd && row < br)) {
                best = Some((d2, row, j));
            }
        }
        best.map_or(u32::MAX, |b| b.2)
    }

    /// Tree position of the nearest core within eps of `q`, ties to the lowest row. Nearer
    /// boxes first, so the bound shrinks early.
    fn nearest_core(&self, q: &[f32], eps2: f64, core: &[bool], cores_in: &[u32]) -> Option<u32> {
        let mut best: Option<(f64, u32, u32)> = None; // (distance², row, position)
        let mut stack = [(0u32, 0.0f64); STACK];
        stack[0] = (0, self.box_bounds(0, q).0);
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let (id, near) = stack[top];
            let id = id as usize;
            let node = &self.nodes[id];
            let bound = best.map_or(eps2, |b| b.0);
            // `>` keeps boxes at exactly the best distance: they may hold a lower row.
            if near > bound || cores_in[id] == 0 {
                continue;
            }
            if node.left == 0 {
                for (j, _) in core[..node.end as usize]
                    .iter()
                    .enumerate()
                    .skip(node.start as usize)
                    .filter(|&(_, &c)| c)
                {
                    let d2 = squared_distance(q, self.point(j));
                    let row = self.rows[j];
                    let better = match best {
                        None => d2 <= eps2,
                        Some((bd, br, _)) => d2 < bd || (d2 == bd && row < br),
                    };
                    if better {
                        best = Some((d2, row, j as u32));
                    }
                }
            } else {
                let (l, r) = (node.left, node.right);
                let (nl, nr) = (
                    self.box_bounds(l as usize, q).0,
                    self.box_bounds(r as usize, q).0,
                );
                // The farther child goes on the stack first, so the nearer one is popped first.
                let (first, second) = if nl <= nr {
                    ((l, nl), (r, nr))
                } else {
                    ((r, nr), (l, nl))
                };
                for (c, nc) in [second, first] {
                    if nc <= bound {
                        stack[top] = (c, nc);
                        top += 1;
                    }
                }
            }
        }
        best.map(|b| b.2)
    }

    /// The `k`-th smallest squared distance from `q` to the points (a point equal to `q`
    /// counts, as sklearn's kneighbors on its own training data); `k <= n`.
    fn kth_distance2(&self, q: &[f32], k: usize) -> f64 {
        // The k smallest so far, ascending.
        let mut best: Vec<f64> = Vec::with_capacity(k + 1);
        let mut stack = [0u32; STACK];
        let mut top = 1;
        while top > 0 {
            top -= 1;
            let id = stack[top] as usize;
            let node = &self.nodes[id];
            let bound = if best.len() == k {
                best[k - 1]
            } else {
                f64::INFINITY
            };
            if self.box_bounds(id, q).0 > bound {
                continue;
            }
            if node.left == 0 {
                for j in node.start as usize..node.end as usize {
                    let d2 = squared_distance(q, self.point(j));
                    if best.len() == k && d2 >= best[k - 1] {
                        continue;
                    }
                    let at = best.partition_point(|&b| b <= d2);
                    best.insert(at, d2);
                    best.truncate(k);
                }
            } else {
                // Nearer child last so it is searched first and tightens the bound sooner.
                let (l, r) = (node.left as usize, node.right as usize);
                let (dl, dr) = (self.box_bounds(l, q).0, self.box_bounds(r, q).0);
                let (first, second) = if dl <= dr { (l, r) } else { (r, l) };
                stack[top] = second as u32;
                stack[top + 1] = first as u32;
                top += 2;
            }
        }
        best.last().copied().unwrap_or(f64::INFINITY)
    }
}

/// A union-find safe to share between threads; roots are always the smallest member.
struct Dsu {
    parent: Vec<AtomicU32>,
}

impl Dsu {
    fn new(n: usize) -> Self {
        Dsu {
            parent: (0..n as u32).map(AtomicU32::new).collect(),
        }
    }

    fn find(&self, mut i: u32) -> u32 {
        loop {
            let p = self.parent[i as usize].load(Ordering::Acquire);
            if p == i {
                return i;
            }
            let g = self.parent[p as usize].load(Ordering::Acquire);
            // Path halving; losing the race only leaves a longer path, never a wrong one. No
            // write when `p` is the root: a needless write would bounce the cache line
            // between threads.
            if g != p {
                let _ = self.parent[i as usize].compare_exchange_weak(
                    p,
                    g,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
            }
            i = g;
        }
    }

    fn union(&self, a: u32, b: u32) {
        let (mut a, mut b) = (a, b);
        loop {
            a = self.find(a);
            b = self.find(b);
            if a == b {
                return;
            }
            // Larger root under smaller: parents only ever decrease, so no cycles.
            let (hi, lo) = if a > b { (a, b) } else { (b, a) };
            if self.parent[hi as usize]
                .compare_exchange(hi, lo, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn grid_points() -> Array2<f32> {
        // 10 × 10 lattice with duplicates of the first 20 points.
        let mut v = Vec::new();
        for i in 0..120 {
            let k = i % 100;
            v.push((k % 10) as f32 * 0.3);
            v.push((k / 10) as f32 * 0.7);
        }
        Array2::from_shape_vec((120, 2), v).unwrap()
    }

    #[test]
    fn tree_counts_match_brute_force() {
        let x = grid_points();
        let t = KdTree::build(x.view());
        for eps in [0.0, 0.3, 0.5, 0.7, 1.0, 3.0] {
            let eps2: f64 = eps * eps;
            for i in 0..x.nrows() {
                let q = t.point(i);
                let brute = (0..x.nrows())
                    .filter(|&j| squared_distance(q, t.point(j)) <= eps2)
                    .count();
                let mut links = [0u32; QUICK_LINKS];
                let (count, made) = t.count_within(i, eps2, usize::MAX, &mut links);
                assert_eq!(count, brute);
                assert_eq!(made, (brute - 1).min(QUICK_LINKS));
                for &j in &links[..made] {
                    assert!(j as usize != i);
                    assert!(squared_distance(q, t.point(j as usize)) <= eps2);
                }
                assert_eq!(t.count_within(i, eps2, 3, &mut links).0, brute.min(3));
                let mut all: Vec<f64> = (0..x.nrows())
                    .map(|j| squared_distance(q, t.point(j)))
                    .collect();
                all.sort_by(f64::total_cmp);
                assert_eq!(t.kth_distance2(q, 7), all[6]);
            }
        }
    }

    #[test]
    fn messages_say_what_to_use() {
        let e = DbscanParams {
            eps: 0.0,
            min_samples: 5,
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("--eps must be a positive distance"), "{e}");
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
