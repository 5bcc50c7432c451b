//! The k-d tree behind DBSCAN (bounding boxes per node, queries exact under
//! `squared_distance`) and a union-find safe to share between threads.

use super::squared_distance;
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};

/// Points per leaf: small enough to prune well, large enough that the leaf loop dominates.
const LEAF: usize = 32;
/// Neighbours the core pass records per point, to link cores before the exhaustive pass.
pub(super) const QUICK_LINKS: usize = 8;
/// Tag of a node whose cores are not known to be one component.
pub(super) const MIXED: u32 = u32::MAX;
/// Clean splits of two-valued sides allowed on one root-to-leaf path (they may be unbalanced).
const CLEAN_SPLITS: u32 = 32;
/// Deepest traversal stack: median splits halve, so depth <= 32 + CLEAN_SPLITS + 1.
const STACK: usize = 96;

/// One node: a range of tree positions with its bounding box; `left == 0` marks a leaf (the
/// root is node 0 and is never anyone's child).
struct Node {
    start: u32,
    end: u32,
    left: u32,
    right: u32,
}

/// A k-d tree over the rows (median splits, and clean splits of two-valued sides), stored in
/// tree order for locality, with a bounding box per node (boxes, not split planes, so
/// duplicates and ties need no special care).
pub(super) struct KdTree {
    d: usize,
    /// Coordinates in tree order, `n × d`.
    pts: Vec<f32>,
    /// Row of `x` at each tree position.
    pub(super) rows: Vec<u32>,
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

/// Builds the subtree over `rows` (tree positions `offset..offset + rows.len()`), whose
/// coordinates `pts` holds in the same order (`rows.len() × d`).
fn build_subtree(
    pts: &mut [f32],
    d: usize,
    rows: &mut [u32],
    offset: usize,
    clean: u32,
) -> Subtree {
    let mut sub = Subtree::default();
    build_into(pts, d, rows, offset, clean, &mut sub);
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
fn build_into(
    pts: &mut [f32],
    d: usize,
    rows: &mut [u32],
    offset: usize,
    clean: u32,
    sub: &mut Subtree,
) -> u32 {
    let id = sub.nodes.len();
    let mut lo = vec![f32::INFINITY; d];
    let mut hi = vec![f32::NEG_INFINITY; d];
    // The coordinates move with the rows, so every pass here reads memory in order.
    for p in pts.chunks_exact(d.max(1)) {
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
    if rows.len() <= LEAF || flat_box {
        sub.lo.extend_from_slice(&lo);
        sub.hi.extend_from_slice(&hi);
        return id as u32;
    }
    // A side taking only its two end values (a one-hot column, or a slice of equal codes) is
    // split between them, widest first: both halves are then flat on it with a gap of its
    // width between them, which prunes every query on one side from the other (a median
    // split there leaves boxes spanning both values, and queries must descend into them).
    let mut two_valued: Vec<bool> = (0..d).map(|j| clean > 0 && hi[j] > lo[j]).collect();
    let mut left = two_valued.iter().filter(|&&t| t).count();
    for p in pts.chunks_exact(d) {
        if left == 0 {
            break; // usual for continuous data: a few rows rule every side out
        }
        for j in 0..d {
            if two_valued[j] && p[j] != lo[j] && p[j] != hi[j] {
                two_valued[j] = false;
                left -= 1;
            }
        }
    }
    let clean_k =
        (0..d)
            .filter(|&j| two_valued[j])
            .fold(None, |best: Option<usize>, j| match best {
                Some(b) if hi[b] - lo[b] >= hi[j] - lo[j] => Some(b),
                _ => Some(j),
            });
    sub.lo.extend_from_slice(&lo);
    sub.hi.extend_from_slice(&hi);
    let (mid, clean) = if let Some(k) = clean_k {
        let at_lo = lo[k];
        let mut m = 0;
        for i in 0..rows.len() {
            if pts[i * d + k] == at_lo {
                if i != m {
                    rows.swap(i, m);
                    let (a, b) = pts.split_at_mut(i * d);
                    a[m * d..(m + 1) * d].swap_with_slice(&mut b[..d]);
                }
                m += 1;
            }
        }
        (m, clean - 1)
    } else {
        let mid = rows.len() / 2;
        let mut keyed: Vec<(f32, u32)> = (0..rows.len())
            .map(|i| (pts[i * d + k], i as u32))
            .collect();
        keyed.select_nth_unstable_by(mid, |a, b| a.0.total_cmp(&b.0));
        let (old_rows, old_pts) = (rows.to_vec(), pts.to_vec());
        for (to, &(_, from)) in keyed.iter().enumerate() {
            let from = from as usize;
            rows[to] = old_rows[from];
            pts[to * d..(to + 1) * d].copy_from_slice(&old_pts[from * d..(from + 1) * d]);
        }
        (mid, clean)
    };
    let big = rows.len() >= PARALLEL_BUILD;
    let (lrows, rrows) = rows.split_at_mut(mid);
    let (lpts, rpts) = pts.split_at_mut(mid * d);
    let (left, right) = if big {
        let (ls, rs) = rayon::join(
            || build_subtree(lpts, d, lrows, offset, clean),
            || build_subtree(rpts, d, rrows, offset + mid, clean),
        );
        (append_subtree(sub, ls), append_subtree(sub, rs))
    } else {
        let left = build_into(lpts, d, lrows, offset, clean, sub);
        (left, build_into(rpts, d, rrows, offset + mid, clean, sub))
    };
    sub.nodes[id].left = left;
    sub.nodes[id].right = right;
    id as u32
}

impl KdTree {
    /// Builds the tree by splits along the widest side of each box: at the median, or cleanly
    /// between the two values of a two-valued side (preferred).
    pub(super) fn build(x: ArrayView2<'_, f32>) -> Self {
        let (n, d) = x.dim();
        let mut pts: Vec<f32> = x.iter().copied().collect();
        let mut rows: Vec<u32> = (0..n as u32).collect();
        let sub = build_subtree(&mut pts, d, &mut rows, 0, CLEAN_SPLITS);
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

    /// Number of nodes (the length of per-node tables such as tags).
    pub(super) fn node_count(&self) -> usize {
        self.nodes.len()
    }

    #[inline]
    pub(super) fn point(&self, i: usize) -> &[f32] {
        &self.pts[i * self.d..(i + 1) * self.d]
    }

    /// `squared_distance` from `q` to the points at tree positions `j..j + 4`.
    #[inline]
    fn squared_distances4(&self, q: &[f32], j: usize) -> [f64; 4] {
        let d = self.d;
        let p = &self.pts[j * d..(j + 4) * d];
        let mut s = [0.0f64; 4];
        for (f, &qf) in q.iter().enumerate() {
            let qf = f64::from(qf);
            for (o, acc) in s.iter_mut().enumerate() {
                let t = qf - f64::from(p[o * d + f]);
                *acc += t * t;
            }
        }
        s
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

    /// `box_bounds` of two nodes at once: the same sums, whose four chains of dependent
    /// additions overlap.
    #[inline]
    fn box_bounds2(&self, a: usize, b: usize, q: &[f32]) -> ((f64, f64), (f64, f64)) {
        let d = self.d;
        let (alo, ahi) = (&self.lo[a * d..(a + 1) * d], &self.hi[a * d..(a + 1) * d]);
        let (blo, bhi) = (&self.lo[b * d..(b + 1) * d], &self.hi[b * d..(b + 1) * d]);
        let (mut an, mut af, mut bn, mut bf) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for j in 0..d {
            let qj = f64::from(q[j]);
            let (l, h) = (f64::from(alo[j]), f64::from(ahi[j]));
            let gap = (l - qj).max(qj - h).max(0.0);
            let reach = (qj - l).max(h - qj);
            an += gap * gap;
            af += reach * reach;
            let (l, h) = (f64::from(blo[j]), f64::from(bhi[j]));
            let gap = (l - qj).max(qj - h).max(0.0);
            let reach = (qj - l).max(h - qj);
            bn += gap * gap;
            bf += reach * reach;
        }
        ((an, af), (bn, bf))
    }

    /// Points within eps of tree position `i` (itself included); counting stops once it
    /// reaches `cap`. Nearer boxes first, so the count usually reaches `cap` in the query's
    /// own leaf. The first neighbours other than `i` are written to `links` (how many: the
    /// second value returned).
    pub(super) fn count_within(
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
            let (start, end) = (node.start as usize, node.end as usize);
            let mut take = |j: usize| {
                count += 1;
                if j != i && made < QUICK_LINKS {
                    links[made] = j as u32;
                    made += 1;
                }
                count < cap
            };
            if far <= eps2 {
                return (start..end).all(&mut take);
            }
            // Four distances at a time: each is still summed feature by feature (exact), but
            // the four chains of dependent additions overlap.
            let mut j = start;
            while j + 4 <= end {
                let d2 = t.squared_distances4(q, j);
                for (o, &v) in d2.iter().enumerate() {
                    if v <= eps2 && !take(j + o) {
                        return false;
                    }
                }
                j += 4;
            }
            (j..end).all(|j| squared_distance(q, t.point(j)) > eps2 || take(j))
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
            let (bl, br) = self.box_bounds2(l as usize, r as usize, q);
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
    pub(super) fn cores_per_node(&self, core: &[bool]) -> Vec<u32> {
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
    pub(super) fn tag_merged_nodes(
        &self,
        core: &[bool],
        cores_in: &[u32],
        dsu: &Dsu,
        tags: &mut [u32],
    ) {
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
    pub(super) fn union_later_cores(
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
    pub(super) fn nearest_of(&self, q: &[f32], candidates: &[u32], core: &[bool]) -> u32 {
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
    pub(super) fn nearest_core(
        &self,
        q: &[f32],
        eps2: f64,
        core: &[bool],
        cores_in: &[u32],
    ) -> Option<u32> {
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
    pub(super) fn kth_distance2(&self, q: &[f32], k: usize) -> f64 {
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
pub(super) struct Dsu {
    parent: Vec<AtomicU32>,
}

impl Dsu {
    pub(super) fn new(n: usize) -> Self {
        Dsu {
            parent: (0..n as u32).map(AtomicU32::new).collect(),
        }
    }

    pub(super) fn find(&self, mut i: u32) -> u32 {
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

    pub(super) fn union(&self, a: u32, b: u32) {
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

    /// A lattice coordinate and three one-hot columns (clean splits, slices of equal codes).
    fn one_hot_points() -> Array2<f32> {
        let mut v = Vec::new();
        for i in 0..150 {
            v.push((i % 25) as f32 * 0.2);
            v.extend((0..3).map(|c| f32::from(u8::from(i % 3 == c))));
        }
        Array2::from_shape_vec((150, 4), v).unwrap()
    }

    #[test]
    fn tree_counts_match_brute_force() {
        for x in [grid_points(), one_hot_points()] {
            check_against_brute_force(&x);
        }
    }

    fn check_against_brute_force(x: &Array2<f32>) {
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
}
