//! The CPU backend: the reference every other backend is verified against.
//!
//! Points are stored in blocks of 16 with the feature index outermost inside a block, so one
//! centroid's distance to 16 points is one vector expression and the nearest-centroid choice is
//! branch-free. Work is split into fixed chunks of points whose partial sums are combined in
//! chunk order, so results are bit-identical whatever the number of threads.

use super::{Assign, Backend, DeviceInfo, Step};
use crate::error::{Error, Result};
use ndarray::ArrayView2;
use rayon::prelude::*;

/// Points per block: one AVX-512 register of f32.
pub const LANES: usize = 16;
/// Blocks per parallel chunk (4,096 points): the unit of the fixed-order reduction.
const BLOCKS_PER_CHUNK: usize = 256;
const POINTS_PER_CHUNK: usize = LANES * BLOCKS_PER_CHUNK;
/// Up to this many clusters, Lloyd accumulates with masked vector adds (cost k×d per block)
/// rather than a scalar scatter per point (cost d per point).
const MASKED_MAX_K: usize = 16;

type Lanes = [f32; LANES];

/// Runs the k-means kernels on the CPU with rayon (the thread pool in scope).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

/// Points in blocked layout: block `b` feature `j` holds points `16b..16b+16` at `blocks[b*d + j]`.
pub struct CpuPoints {
    n: usize,
    d: usize,
    blocks: Vec<Lanes>,
}

/// Per-fit state, in blocks of 16 like the points (padding lanes are never counted): labels of
/// the last step and, for Hamerly, distance bounds and running per-chunk sums that only points
/// changing cluster touch after the first step.
pub struct CpuRun {
    n: usize,
    k: usize,
    assign: Assign,
    labels: Vec<[u32; LANES]>,
    upper: Vec<Lanes>,
    lower: Vec<Lanes>,
    previous: Option<Vec<f32>>,
    /// Hamerly: cumulative movement of each centroid, and for each cluster the sum over steps
    /// of the largest movement of any other centroid.
    drift: Vec<f64>,
    drift_other: Vec<f64>,
    chunks: Vec<Partial>,
}

/// One chunk's contribution to a step.
struct Partial {
    sums: Vec<f64>,
    counts: Vec<u64>,
    inertia: f64,
    changed: u64,
}

impl Partial {
    fn new(k: usize, d: usize) -> Self {
        Partial {
            sums: vec![0.0; k * d],
            counts: vec![0; k],
            inertia: 0.0,
            changed: 0,
        }
    }

    /// Moves lane `i` of a block from cluster `from` (none if `usize::MAX`) to cluster `to`.
    #[inline(always)]
    fn relabel(&mut self, block: &[Lanes], i: usize, from: usize, to: usize) {
        let d = block.len();
        if from != usize::MAX {
            self.counts[from] -= 1;
            for (s, x) in self.sums[from * d..(from + 1) * d].iter_mut().zip(block) {
                *s -= x[i] as f64;
            }
        }
        self.counts[to] += 1;
        for (s, x) in self.sums[to * d..(to + 1) * d].iter_mut().zip(block) {
            *s += x[i] as f64;
        }
    }
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Valid (non-padding) points in chunk `c` of a data set of `n` points.
fn chunk_points(n: usize, c: usize) -> usize {
    POINTS_PER_CHUNK.min(n - c * POINTS_PER_CHUNK)
}

impl Backend for CpuBackend {
    type Points = CpuPoints;
    type Run = CpuRun;

    fn info(&self) -> DeviceInfo {
        DeviceInfo {
            backend: "cpu".into(),
            adapter: format!("{} ({} threads)", cpu_name(), rayon::current_num_threads()),
            device_type: "cpu".into(),
        }
    }

    fn kernel(&self, run: &CpuRun) -> String {
        format!("{} ({})", run.assign.name(), crate::simd::vector_isa())
    }

    fn upload(&self, x: ArrayView2<'_, f32>) -> Result<CpuPoints> {
        let (n, d) = x.dim();
        if d == 0 {
            return Err(Error::Data(
                "no features to cluster: the matrix has no columns".into(),
            ));
        }
        let nb = n.div_ceil(LANES);
        let mut blocks = vec![[0f32; LANES]; nb * d];
        blocks.par_chunks_mut(d).enumerate().for_each(|(b, blk)| {
            for i in 0..LANES.min(n - b * LANES) {
                let row = x.row(b * LANES + i);
                for (lanes, &v) in blk.iter_mut().zip(row.iter()) {
                    lanes[i] = v;
                }
            }
        });
        Ok(CpuPoints { n, d, blocks })
    }

    fn start(&self, points: &CpuPoints, k: usize, assign: Assign) -> Result<CpuRun> {
        let nb = points.n.div_ceil(LANES);
        let bounds = if assign == Assign::Hamerly { nb } else { 0 };
        Ok(CpuRun {
            n: points.n,
            k,
            assign,
            labels: vec![[u32::MAX; LANES]; nb],
            upper: vec![[0.0; LANES]; bounds],
            lower: vec![[0.0; LANES]; bounds],
            previous: None,
            drift: vec![0.0; k],
            drift_other: vec![0.0; k],
            chunks: Vec::new(),
        })
    }

    fn step(&self, points: &CpuPoints, run: &mut CpuRun, centroids: &[f32]) -> Result<Step> {
        let (n, k, d) = (points.n, run.k, points.d);
        let blocks = points.blocks.par_chunks(BLOCKS_PER_CHUNK * d);
        let fresh: Vec<Partial>;
        let partials: &[Partial] = match (run.assign, &run.previous) {
            (Assign::Hamerly, Some(prev)) => {
                let geo = Geometry::new(prev, centroids, d, &mut run.drift, &mut run.drift_other);
                let expanded = hamerly_expanded(centroids, k, d);
                let expanded = expanded.as_ref();
                let changed: u64 = blocks
                    .zip(run.labels.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .zip(run.upper.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .zip(run.lower.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .zip(run.chunks.par_iter_mut())
                    .map(|((((blocks, labels), upper), lower), part)| {
                        let e = expanded;
                        hamerly_chunk(blocks, centroids, e, &geo, labels, upper, lower, part)
                    })
                    .sum();
                for (c, p) in run.chunks.iter_mut().enumerate() {
                    p.changed = if c == 0 { changed } else { 0 };
                }
                &run.chunks
            }
            (Assign::Hamerly, None) => {
                let expanded = hamerly_expanded(centroids, k, d);
                let expanded = expanded.as_ref();
                run.chunks = blocks
                    .zip(run.labels.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .zip(run.upper.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .zip(run.lower.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .enumerate()
                    .map(|(c, (((blocks, labels), upper), lower))| {
                        let valid = chunk_points(n, c);
                        let bounds = Some((upper, lower));
                        full_chunk(blocks, centroids, expanded, k, labels, bounds, valid)
                    })
                    .collect();
                &run.chunks
            }
            (Assign::Lloyd | Assign::Blocked, _) => {
                let expanded =
                    (run.assign == Assign::Blocked).then(|| Expanded::new(centroids, k, d));
                let expanded = expanded.as_ref();
                fresh = blocks
                    .zip(run.labels.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .enumerate()
                    .map(|(c, (blocks, labels))| {
                        let valid = chunk_points(n, c);
                        full_chunk(blocks, centroids, expanded, k, labels, None, valid)
                    })
                    .collect();
                &fresh
            }
        };
        let mut total = Partial::new(k, d);
        for p in partials {
            for (a, b) in total.sums.iter_mut().zip(&p.sums) {
                *a += b;
            }
            for (a, b) in total.counts.iter_mut().zip(&p.counts) {
                *a += b;
            }
            total.inertia += p.inertia;
            total.changed += p.changed;
        }
        if run.assign == Assign::Hamerly {
            run.previous = Some(centroids.to_vec());
        }
        Ok(Step {
            sums: total.sums,
            counts: total.counts,
            inertia: (run.assign != Assign::Hamerly).then_some(total.inertia),
            changed: total.changed,
        })
    }

    fn labels(&self, _points: &CpuPoints, run: &CpuRun) -> Result<Vec<u32>> {
        Ok(run.labels.iter().flatten().take(run.n).copied().collect())
    }
}

/// Squared distances from the 16 points of a block to their nearest and second-nearest
/// centroid, and the nearest index (ties to the lowest index). Branch-free so it vectorises.
#[inline(always)]
fn nearest_two(block: &[Lanes], centroids: &[f32], k: usize) -> (Lanes, Lanes, [u32; LANES]) {
    let d = block.len();
    let mut best = [f32::INFINITY; LANES];
    let mut second = [f32::INFINITY; LANES];
    let mut label = [0u32; LANES];
    for c in 0..k {
        let mut acc = [0f32; LANES];
        for (xs, &cj) in block.iter().zip(&centroids[c * d..(c + 1) * d]) {
            for i in 0..LANES {
                let t = xs[i] - cj;
                acc[i] += t * t;
            }
        }
        for i in 0..LANES {
            let lt_best = acc[i] < best[i];
            let lt_second = acc[i] < second[i];
            second[i] = if lt_best {
                best[i]
            } else if lt_second {
                acc[i]
            } else {
                second[i]
            };
            best[i] = if lt_best { acc[i] } else { best[i] };
            label[i] = if lt_best { c as u32 } else { label[i] };
        }
    }
    (best, second, label)
}

/// Nearest centroid only: the Lloyd kernel, without the second-best bookkeeping.
#[inline(always)]
fn nearest(block: &[Lanes], centroids: &[f32], k: usize) -> (Lanes, [u32; LANES]) {
    let d = block.len();
    let mut best = [f32::INFINITY; LANES];
    let mut label = [0u32; LANES];
    for c in 0..k {
        let mut acc = [0f32; LANES];
        for (xs, &cj) in block.iter().zip(&centroids[c * d..(c + 1) * d]) {
            for i in 0..LANES {
                let t = xs[i] - cj;
                acc[i] += t * t;
            }
        }
        for i in 0..LANES {
            let lt = acc[i] < best[i];
            best[i] = if lt { acc[i] } else { best[i] };
            label[i] = if lt { c as u32 } else { label[i] };
        }
    }
    (best, label)
}

/// Centroids per register block of the expanded kernel: with 16 points per block, 8
/// accumulators of one AVX-512 register each, so every broadcast centroid coordinate is used
/// 16 times and every loaded point coordinate 8 times.
const GROUP: usize = 8;

/// Centroids prepared for the expanded distance ‖x‖² + (‖c‖² − 2x·c): −2c grouped by `GROUP`
/// with the feature outermost (group `g` feature `j` at `neg2[g*d + j]`), padded to a whole
/// group with infinite norms so that padding never wins.
struct Expanded {
    neg2: Vec<[f32; GROUP]>,
    norms: Vec<f32>,
    /// Largest ‖c‖², for the cancellation margin.
    cmax: f32,
    /// Relative margin: expanded scores this close to the best are settled by direct distances.
    eps: f32,
}

impl Expanded {
    fn new(centroids: &[f32], k: usize, d: usize) -> Self {
        let groups = k.div_ceil(GROUP);
        let mut neg2 = vec![[0f32; GROUP]; groups * d];
        let mut norms = vec![f32::INFINITY; groups * GROUP];
        for (c, row) in centroids.chunks_exact(d).take(k).enumerate() {
            let (g, u) = (c / GROUP, c % GROUP);
            let mut s = 0f32;
            for (j, &v) in row.iter().enumerate() {
                // Scaling by −2 is exact, so the dot product is −2·(x·c) rounded once per term.
                neg2[g * d + j][u] = -2.0 * v;
                s += v * v;
            }
            norms[c] = s;
        }
        let cmax = norms[..k].iter().fold(0f32, |m, &v| m.max(v));
        // Each of the four roundings compared (two expanded scores, two direct distances) errs
        // by at most about (3d + 2)·u·(‖x‖² + ‖c‖²) with u = ε/2; 16·(d + 4)·ε covers their sum
        // with room to spare.
        let eps = 16.0 * (d as f32 + 4.0) * f32::EPSILON;
        Expanded {
            neg2,
            norms,
            cmax,
            eps,
        }
    }
}

/// Expanded scores ‖c‖² − 2x·c of the 16 points of a block against one group of centroids.
#[inline(always)]
fn group_scores(block: &[Lanes], cg: &[[f32; GROUP]], norms: &[f32], out: &mut [Lanes]) {
    let mut acc = [[0f32; LANES]; GROUP];
    for (xs, cj) in block.iter().zip(cg) {
        for u in 0..GROUP {
            for i in 0..LANES {
                acc[u][i] += xs[i] * cj[u];
            }
        }
    }
    for u in 0..GROUP {
        for i in 0..LANES {
            out[u][i] = norms[u] + acc[u][i];
        }
    }
}

/// `group_scores` over every group plus the best/second-best tracking of `nearest_blocked`,
/// with fused multiply-adds (the scores only choose which distances the direct formula
/// recomputes, and one rounding per term is within the margin, so no result depends on the
/// path), written with intrinsics because the
/// auto-vectoriser turns the portable loops into gathers and scalar compares: one register of
/// 16 points per feature, one broadcast per centroid, eight independent accumulators.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn blocked_scores_avx512(
    block: &[Lanes],
    e: &Expanded,
    scores: &mut [Lanes],
    best: &mut Lanes,
    second: &mut Lanes,
    label: &mut [u32; LANES],
) {
    use std::arch::x86_64::*;
    let d = block.len();
    let mut b = _mm512_loadu_ps(best.as_ptr());
    let mut s2 = _mm512_loadu_ps(second.as_ptr());
    let mut l = _mm512_loadu_si512(label.as_ptr().cast());
    let groups = e.neg2.chunks_exact(d).zip(e.norms.chunks_exact(GROUP));
    for (g, ((cg, norms), out)) in groups.zip(scores.chunks_exact_mut(GROUP)).enumerate() {
        let mut acc = [_mm512_setzero_ps(); GROUP];
        for (xs, cj) in block.iter().zip(cg) {
            let x = _mm512_loadu_ps(xs.as_ptr());
            for u in 0..GROUP {
                acc[u] = _mm512_fmadd_ps(x, _mm512_set1_ps(cj[u]), acc[u]);
            }
        }
        for (u, ((o, a), &n)) in out.iter_mut().zip(acc).zip(norms).enumerate() {
            let s = _mm512_add_ps(_mm512_set1_ps(n), a);
            _mm512_storeu_ps(o.as_mut_ptr(), s);
            let lt_best = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(s, b);
            let lt_second = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(s, s2);
            s2 = _mm512_mask_blend_ps(lt_best, _mm512_mask_blend_ps(lt_second, s2, s), b);
            b = _mm512_mask_blend_ps(lt_best, b, s);
            l = _mm512_mask_blend_epi32(lt_best, l, _mm512_set1_epi32((g * GROUP + u) as i32));
        }
    }
    _mm512_storeu_ps(best.as_mut_ptr(), b);
    _mm512_storeu_ps(second.as_mut_ptr(), s2);
    _mm512_storeu_si512(label.as_mut_ptr().cast(), l);
}

/// Lloyd's squared distance of lane `i` of a block to one centroid: the same f32 operations in
/// the same order as `nearest`, so the value is bit for bit the one Lloyd computes.
#[inline(always)]
fn direct(block: &[Lanes], i: usize, centroid: &[f32]) -> f32 {
    let mut acc = 0f32;
    for (xs, &cj) in block.iter().zip(centroid) {
        let t = xs[i] - cj;
        acc += t * t;
    }
    acc
}

/// Nearest centroid of the 16 points of a block by the expanded distance, register-blocked over
/// `GROUP` centroids, with Lloyd's exact answer: a lane whose second-best score is within the
/// cancellation margin of its best has every candidate within that margin recomputed by the
/// direct formula (ties to the lowest index), and the returned distance is always the direct
/// one, so labels, inertia and sums equal Lloyd's. `scores` holds one entry per padded centroid.
/// Also returns, squared, a lower bound on the direct distance to every other centroid (the
/// runner-up score less the margin), for Hamerly's bounds.
#[inline(always)]
fn nearest_blocked(
    block: &[Lanes],
    centroids: &[f32],
    e: &Expanded,
    k: usize,
    scores: &mut [Lanes],
    avx512: bool,
) -> (Lanes, Lanes, [u32; LANES]) {
    let d = block.len();
    let mut xn = [0f32; LANES];
    for xs in block {
        for i in 0..LANES {
            xn[i] += xs[i] * xs[i];
        }
    }
    let mut best = [f32::INFINITY; LANES];
    let mut second = [f32::INFINITY; LANES];
    let mut label = [0u32; LANES];
    if avx512 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `avx512` is only true when the CPU supports AVX-512F.
        unsafe {
            blocked_scores_avx512(block, e, scores, &mut best, &mut second, &mut label)
        };
    } else {
        let groups = e.neg2.chunks_exact(d).zip(e.norms.chunks_exact(GROUP));
        for (g, ((cg, norms), out)) in groups.zip(scores.chunks_exact_mut(GROUP)).enumerate() {
            group_scores(block, cg, norms, out);
            for (u, scores_u) in out.iter().enumerate() {
                let c = (g * GROUP + u) as u32;
                for i in 0..LANES {
                    let s = scores_u[i];
                    let lt_best = s < best[i];
                    let lt_second = s < second[i];
                    second[i] = if lt_best {
                        best[i]
                    } else if lt_second {
                        s
                    } else {
                        second[i]
                    };
                    best[i] = if lt_best { s } else { best[i] };
                    label[i] = if lt_best { c } else { label[i] };
                }
            }
        }
    }
    let mut dist = [0f32; LANES];
    let mut others = [0f32; LANES];
    for i in 0..LANES {
        let margin = e.eps * (xn[i] + e.cmax);
        // Every centroid but the best-scoring one scores at least `second`; when a near tie
        // moves the label off it, that one's `best` is the floor.
        let floor = if second[i] <= best[i] + margin {
            best[i]
        } else {
            second[i]
        };
        others[i] = (floor + xn[i] - margin).max(0.0);
        if second[i] <= best[i] + margin {
            let limit = best[i] + margin;
            let mut win = (label[i], f32::INFINITY);
            for (c, (sc, cen)) in scores.iter().zip(centroids.chunks_exact(d)).enumerate() {
                if sc[i] <= limit {
                    let t = direct(block, i, cen);
                    if t < win.1 {
                        win = (c as u32, t);
                    }
                }
            }
            label[i] = win.0;
        }
    }
    if avx512 && k * d <= i32::MAX as usize {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `avx512` is only true when the CPU supports AVX-512F; every gathered index
        // is below k·d, which fits an i32.
        unsafe {
            dist = direct_avx512(block, centroids, &label, k)
        };
    } else {
        for i in 0..LANES {
            let l = (label[i] as usize).min(k - 1);
            dist[i] = direct(block, i, &centroids[l * d..(l + 1) * d]);
        }
    }
    (dist, others, label)
}

/// `direct` for all 16 lanes at once, each against the centroid of its label, gathering the
/// centroid coordinates: the same subtract, multiply and add in the same order, so every lane's
/// value is bit for bit Lloyd's.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn direct_avx512(
    block: &[Lanes],
    centroids: &[f32],
    label: &[u32; LANES],
    k: usize,
) -> Lanes {
    use std::arch::x86_64::*;
    let d = block.len();
    let l = _mm512_min_epu32(
        _mm512_loadu_si512(label.as_ptr().cast()),
        _mm512_set1_epi32(k as i32 - 1),
    );
    let mut idx = _mm512_mullo_epi32(l, _mm512_set1_epi32(d as i32));
    let one = _mm512_set1_epi32(1);
    let mut acc = _mm512_setzero_ps();
    for xs in block {
        let c = _mm512_i32gather_ps::<4>(idx, centroids.as_ptr());
        let t = _mm512_sub_ps(_mm512_loadu_ps(xs.as_ptr()), c);
        acc = _mm512_add_ps(acc, _mm512_mul_ps(t, t));
        idx = _mm512_add_epi32(idx, one);
    }
    let mut out = [0f32; LANES];
    _mm512_storeu_ps(out.as_mut_ptr(), acc);
    out
}

multiversion! {
    /// Assigns every point of a chunk by full distance computation (Lloyd, or Hamerly's first
    /// step which also initialises the bounds). `valid` counts the chunk's non-padding points.
    fn full_chunk => full_chunk_portable(
        blocks: &[Lanes],
        centroids: &[f32],
        expanded: Option<&Expanded>,
        k: usize,
        labels: &mut [[u32; LANES]],
        bounds: Option<(&mut [Lanes], &mut [Lanes])>,
        valid: usize,
    ) -> Partial
}

#[inline(always)]
fn full_chunk_portable(
    blocks: &[Lanes],
    centroids: &[f32],
    expanded: Option<&Expanded>,
    k: usize,
    labels: &mut [[u32; LANES]],
    mut bounds: Option<(&mut [Lanes], &mut [Lanes])>,
    valid: usize,
) -> Partial {
    let d = blocks.len() / labels.len();
    let mut part = Partial::new(k, d);
    // With few clusters, masked vector adds into per-lane sums beat a scalar scatter per point;
    // each lane sums at most BLOCKS_PER_CHUNK values in f32 before the chunk total goes to f64.
    let avx512 = has_avx512();
    let masked = k <= MASKED_MAX_K && avx512;
    let mut lane_sums = vec![[0f32; LANES]; if masked { k * d } else { 0 }];
    let mut lane_counts = vec![[0f32; LANES]; if masked { k } else { 0 }];
    let mut lane_inertia = [0f32; LANES];
    let mut scores = vec![[0f32; LANES]; expanded.map_or(0, |e| e.norms.len())];
    for (b, lab) in labels.iter_mut().enumerate() {
        let block = &blocks[b * d..(b + 1) * d];
        let live = LANES.min(valid - b * LANES);
        let (best, label) = match bounds.as_mut() {
            Some((upper, lower)) => {
                let (best, second, label) = match expanded {
                    Some(e) => nearest_blocked(block, centroids, e, k, &mut scores, avx512),
                    None => nearest_two(block, centroids, k),
                };
                for i in 0..LANES {
                    // Padding lanes get bounds that never fail the test.
                    let pad = i >= live;
                    upper[b][i] = if pad {
                        f32::NEG_INFINITY
                    } else {
                        best[i].sqrt()
                    };
                    lower[b][i] = if pad { f32::INFINITY } else { second[i].sqrt() };
                }
                (best, label)
            }
            None => match expanded {
                Some(e) => {
                    let (best, _, label) =
                        nearest_blocked(block, centroids, e, k, &mut scores, avx512);
                    (best, label)
                }
                None => nearest(block, centroids, k),
            },
        };
        let mut owner = [u32::MAX; LANES];
        for i in 0..LANES {
            let pad = i >= live;
            owner[i] = if pad { u32::MAX } else { label[i] };
            part.changed += (!pad && lab[i] != label[i]) as u64;
            lane_inertia[i] += if pad { 0.0 } else { best[i] };
        }
        if masked {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `masked` is only true when the CPU supports AVX-512F.
            unsafe {
                masked_accumulate_avx512(&mut lane_sums, &mut lane_counts, block, &owner)
            };
        } else {
            for (i, &l) in label.iter().enumerate().take(live) {
                part.relabel(block, i, usize::MAX, l as usize);
            }
        }
        *lab = label;
    }
    if masked {
        for (s, acc) in part.sums.iter_mut().zip(&lane_sums) {
            *s = acc.iter().map(|&v| v as f64).sum();
        }
        for (c, acc) in part.counts.iter_mut().zip(&lane_counts) {
            *c = acc.iter().map(|&v| v as u64).sum();
        }
    }
    part.inertia = lane_inertia.iter().map(|&v| v as f64).sum();
    part
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Adds each lane of `block` to the per-lane sums of the cluster that owns it (`owner`,
/// `u32::MAX` for padding). Written with intrinsics because the auto-vectoriser turns the
/// portable form into gathers across features, which is several times slower.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn masked_accumulate_avx512(
    sums: &mut [Lanes],
    counts: &mut [Lanes],
    block: &[Lanes],
    owner: &[u32; LANES],
) {
    use std::arch::x86_64::*;
    let d = block.len();
    let own = _mm512_loadu_si512(owner.as_ptr().cast());
    let one = _mm512_set1_ps(1.0);
    // Zero-masking the addend (not the store) keeps every store full width: a masked store
    // that the next block's load of the same sums reads back cannot be store-forwarded.
    for (c, count) in counts.iter_mut().enumerate() {
        let hit = _mm512_cmpeq_epi32_mask(own, _mm512_set1_epi32(c as i32));
        if hit == 0 {
            continue;
        }
        let cp = count.as_mut_ptr();
        _mm512_storeu_ps(
            cp,
            _mm512_add_ps(_mm512_loadu_ps(cp), _mm512_maskz_mov_ps(hit, one)),
        );
        for (acc, xs) in sums[c * d..(c + 1) * d].iter_mut().zip(block) {
            let ap = acc.as_mut_ptr();
            let x = _mm512_maskz_mov_ps(hit, _mm512_loadu_ps(xs.as_ptr()));
            _mm512_storeu_ps(ap, _mm512_add_ps(_mm512_loadu_ps(ap), x));
        }
    }
}

/// Hamerly's test for one block, vectorised with gathers of the per-centroid drift and
/// half-separation (the portable loop compiles to scalar code). Bounds are stored relative to
/// the drifts (see `hamerly_chunk`), so the test only reads them. Returns the lanes whose
/// nearest centroid may have changed, one bit each. Every label must be below
/// `geo.drift.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn hamerly_test_avx512(lab: &[u32; LANES], up: &Lanes, lo: &Lanes, geo: &Geometry) -> u16 {
    use std::arch::x86_64::*;
    let l = _mm512_loadu_si512(lab.as_ptr().cast());
    // Up to 16 clusters, a lane permutation of one register replaces each gather.
    let (drift, half_sep, dmax) = match &geo.small {
        Some([drift, half_sep, other]) => (
            _mm512_permutexvar_ps(l, _mm512_loadu_ps(drift.as_ptr())),
            _mm512_permutexvar_ps(l, _mm512_loadu_ps(half_sep.as_ptr())),
            _mm512_permutexvar_ps(l, _mm512_loadu_ps(other.as_ptr())),
        ),
        None => (
            _mm512_i32gather_ps::<4>(l, geo.drift.as_ptr()),
            _mm512_i32gather_ps::<4>(l, geo.half_separation.as_ptr()),
            _mm512_i32gather_ps::<4>(l, geo.drift_other.as_ptr()),
        ),
    };
    let up = _mm512_loadu_ps(up.as_ptr());
    let lo = _mm512_loadu_ps(lo.as_ptr());
    let u = _mm512_add_ps(up, drift);
    let w = _mm512_sub_ps(lo, dmax);
    let size = _mm512_add_ps(
        _mm512_add_ps(_mm512_abs_ps(up), drift),
        _mm512_add_ps(_mm512_abs_ps(lo), dmax),
    );
    let slack = _mm512_mul_ps(size, _mm512_set1_ps(SLACK));
    _mm512_cmp_ps_mask::<_CMP_GT_OQ>(_mm512_add_ps(u, slack), _mm512_max_ps(w, half_sep))
}

/// Relative allowance for the roundings of bounds kept relative to cumulative drifts (a few
/// f32 roundings of values no larger than the bound and drift magnitudes).
const SLACK: f32 = 8.0 * f32::EPSILON;

/// Hamerly's test for one point of cluster `a` with stored bounds `up` and `lo` (portable path
/// of `hamerly_test_avx512`): whether it fails.
#[inline(always)]
fn hamerly_test(a: usize, up: f32, lo: f32, geo: &Geometry) -> bool {
    let drift = geo.drift[a];
    let u = up + drift;
    let other = geo.drift_other[a];
    let w = lo - other;
    let slack = SLACK * ((up.abs() + drift) + (lo.abs() + other));
    u + slack > w.max(geo.half_separation[a])
}

/// Failing blocks whose points are prefetched ahead of their recomputation.
const PREFETCH_AHEAD: usize = 4;

/// Asks for a block's cache lines (one per feature) ahead of use.
#[inline(always)]
fn prefetch(block: &[Lanes]) {
    #[cfg(target_arch = "x86_64")]
    for xs in block {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: prefetching is a hint that never faults; SSE is part of x86_64.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(xs.as_ptr().cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = block;
}

/// Copies lanes `cand` (point `16b + i` as `b·16 + i`) of `blocks` into the first lanes of
/// `out` (d × 16), so that the points a step must recompute fill whole vectors.
#[inline(always)]
fn gather_points(blocks: &[Lanes], d: usize, cand: &[u32], out: &mut [Lanes]) {
    for (slot, &p) in cand.iter().enumerate() {
        let (b, i) = (p as usize / LANES, p as usize % LANES);
        for (o, xs) in out.iter_mut().zip(&blocks[b * d..(b + 1) * d]) {
            o[slot] = xs[i];
        }
    }
}

/// Hamerly recomputes distances with the blocked kernel from this many clusters (with AVX-512).
const HAMERLY_BLOCKED_MIN_K: usize = 32;

/// The blocked kernel's centroids when Hamerly's full recomputations should use it: its labels
/// and distances are Lloyd's, and its runner-up bound is a valid (slightly looser) lower bound.
fn hamerly_expanded(centroids: &[f32], k: usize, d: usize) -> Option<Expanded> {
    (k >= HAMERLY_BLOCKED_MIN_K && has_avx512()).then(|| Expanded::new(centroids, k, d))
}

/// How far each centroid has moved in all since the fit's first step, and how far apart the
/// centroids are: what Hamerly's bounds are tested with.
struct Geometry {
    /// Cumulative movement of each centroid (rounded up from the f64 sums).
    drift: Vec<f32>,
    /// Per cluster, the sum over steps of the largest movement of any other centroid (rounded
    /// up): how far the lower bound of its points has dropped.
    drift_other: Vec<f32>,
    /// Half the distance from each centroid to its nearest other centroid (rounded down).
    half_separation: Vec<f32>,
    /// With at most 16 clusters, the three tables above padded to one register each.
    small: Option<[Lanes; 3]>,
}

impl Geometry {
    /// Adds the movement from `previous` to `current` to the run's cumulative `drift` and
    /// `drift_other` (kept in f64) and measures the current centroids' separations.
    fn new(
        previous: &[f32],
        current: &[f32],
        d: usize,
        drift: &mut [f64],
        drift_other: &mut [f64],
    ) -> Self {
        let sq = |a: &[f32], b: &[f32]| -> f64 {
            a.iter()
                .zip(b)
                .map(|(p, q)| (*p as f64 - *q as f64).powi(2))
                .sum::<f64>()
        };
        let (mut max_shift, mut argmax, mut second_shift) = (0f64, 0usize, 0f64);
        for (c, total) in drift.iter_mut().enumerate() {
            let s = sq(&previous[c * d..(c + 1) * d], &current[c * d..(c + 1) * d]).sqrt();
            *total += s;
            if s > max_shift {
                (second_shift, max_shift, argmax) = (max_shift, s, c);
            } else if s > second_shift {
                second_shift = s;
            }
        }
        for (c, total) in drift_other.iter_mut().enumerate() {
            *total += if c == argmax { second_shift } else { max_shift };
        }
        let k = drift.len();
        // Every pair once per centroid, in parallel: at k = 1024 this is 2·10⁶ distances a step.
        let half_separation: Vec<f32> = (0..k)
            .into_par_iter()
            .map(|a| {
                let ca = &current[a * d..(a + 1) * d];
                let nearest = (0..k)
                    .filter(|&b| b != a)
                    .map(|b| sq(ca, &current[b * d..(b + 1) * d]))
                    .fold(f64::INFINITY, f64::min);
                round_down(0.5 * nearest.sqrt())
            })
            .collect();
        let drift: Vec<f32> = drift.iter().map(|&v| round_up(v)).collect();
        let drift_other: Vec<f32> = drift_other.iter().map(|&v| round_up(v)).collect();
        let small = (k <= LANES).then(|| {
            let mut t = [[0f32; LANES]; 3];
            t[0][..k].copy_from_slice(&drift);
            t[1][..k].copy_from_slice(&half_separation);
            t[2][..k].copy_from_slice(&drift_other);
            t
        });
        Geometry {
            drift,
            drift_other,
            half_separation,
            small,
        }
    }
}

/// The nearest f32 at or above `v`.
fn round_up(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) < v {
        f.next_up()
    } else {
        f
    }
}

/// The nearest f32 at or below `v`.
fn round_down(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) > v {
        f.next_down()
    } else {
        f
    }
}

/// Hamerly tightens and gathers failing points (rather than recomputing whole blocks) from
/// this much work per point (k·d): below it a block's recomputation costs about as much as the
/// tightening gathers.
const COMPACT_MIN_KD: usize = 512;

multiversion! {
    /// One Hamerly step over a chunk. Bounds are stored relative to the cumulative drifts
    /// (upper less its centroid's drift, lower plus its cluster's `drift_other`), so a block that
    /// passes the test is only read. With enough work per point, the upper bound of a failing
    /// point is first tightened to its exact distance and only points that still fail are
    /// recomputed, gathered 16 to a block so the work follows the failing points rather than the
    /// blocks holding one; otherwise a failing block is recomputed whole. Only points that
    /// changed cluster move between the chunk's running sums. Returns how many did.
    fn hamerly_chunk => hamerly_chunk_portable(
        blocks: &[Lanes],
        centroids: &[f32],
        expanded: Option<&Expanded>,
        geo: &Geometry,
        labels: &mut [[u32; LANES]],
        upper: &mut [Lanes],
        lower: &mut [Lanes],
        part: &mut Partial,
    ) -> u64
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn hamerly_chunk_portable(
    blocks: &[Lanes],
    centroids: &[f32],
    expanded: Option<&Expanded>,
    geo: &Geometry,
    labels: &mut [[u32; LANES]],
    upper: &mut [Lanes],
    lower: &mut [Lanes],
    part: &mut Partial,
) -> u64 {
    let k = geo.drift.len();
    let d = blocks.len() / labels.len();
    let drift = &geo.drift[..k];
    let avx512 = has_avx512();
    let compact = k * d >= COMPACT_MIN_KD;
    let mut scores = vec![[0f32; LANES]; expanded.map_or(0, |e| e.norms.len())];
    let mut changed = 0;
    // The test first, over the whole chunk (it reads only labels and bounds, in order); then
    // the failing blocks, with their points prefetched a few blocks ahead: they are scattered,
    // so waiting on each one's memory would dominate.
    let mut failing: Vec<(u32, u16)> = Vec::new();
    for (b, ((lab, up), lo)) in labels.iter().zip(&*upper).zip(&*lower).enumerate() {
        let fail = if avx512 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `avx512` is only true when the CPU supports AVX-512F; labels are < k.
            unsafe {
                hamerly_test_avx512(lab, up, lo, geo)
            }
            #[cfg(not(target_arch = "x86_64"))]
            0
        } else {
            let mut fail = 0u16;
            for i in 0..LANES {
                let a = (lab[i] as usize).min(k - 1);
                fail |= (hamerly_test(a, up[i], lo[i], geo) as u16) << i;
            }
            fail
        };
        if fail != 0 {
            failing.push((b as u32, fail));
        }
    }
    // Points (as b·16 + i) whose bounds still fail after tightening, in block order.
    let mut cand: Vec<u32> = Vec::new();
    for (f, &(b, fail)) in failing.iter().enumerate() {
        if let Some(&(ahead, _)) = failing.get(f + PREFETCH_AHEAD) {
            prefetch(&blocks[ahead as usize * d..(ahead as usize + 1) * d]);
        }
        let b = b as usize;
        let (lab, up, lo) = (&mut labels[b], &mut upper[b], &mut lower[b]);
        // Padding lanes never fail (their bounds are −∞ and +∞, so the test compares NaN), so
        // every failing lane is a point.
        let block = &blocks[b * d..(b + 1) * d];
        if !compact {
            let (best, second, label) = nearest_two(block, centroids, k);
            for i in 0..LANES {
                // Every point of the block gets the exact bounds computed anyway.
                if up[i] == f32::NEG_INFINITY {
                    continue;
                }
                let a = label[i] as usize;
                up[i] = best[i].sqrt() - drift[a];
                lo[i] = second[i].sqrt() + geo.drift_other[a];
                if lab[i] != label[i] {
                    changed += 1;
                    part.relabel(block, i, lab[i] as usize, a);
                    lab[i] = label[i];
                }
            }
            continue;
        }
        let mut dist = [0f32; LANES];
        if avx512 && k * d <= i32::MAX as usize {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `avx512` is only true when the CPU supports AVX-512F; gathered indices
            // are below k·d, which fits an i32.
            unsafe {
                dist = direct_avx512(block, centroids, lab, k)
            };
        } else {
            for (i, t) in dist.iter_mut().enumerate() {
                if fail >> i & 1 == 1 {
                    let a = (lab[i] as usize).min(k - 1);
                    *t = direct(block, i, &centroids[a * d..(a + 1) * d]);
                }
            }
        }
        for i in 0..LANES {
            if fail >> i & 1 == 1 {
                let a = (lab[i] as usize).min(k - 1);
                up[i] = dist[i].sqrt() - drift[a];
                if hamerly_test(a, up[i], lo[i], geo) {
                    cand.push((b * LANES + i) as u32);
                }
            }
        }
    }
    let mut gathered = vec![[0f32; LANES]; d];
    for group in cand.chunks(LANES) {
        gather_points(blocks, d, group, &mut gathered);
        let (best, second, label) = match expanded {
            Some(e) => nearest_blocked(&gathered, centroids, e, k, &mut scores, avx512),
            None => nearest_two(&gathered, centroids, k),
        };
        for (slot, &p) in group.iter().enumerate() {
            let (b, i) = (p as usize / LANES, p as usize % LANES);
            let a = label[slot] as usize;
            upper[b][i] = best[slot].sqrt() - drift[a];
            lower[b][i] = second[slot].sqrt() + geo.drift_other[a];
            let old = labels[b][i];
            if old != label[slot] {
                changed += 1;
                part.relabel(&gathered, slot, old as usize, a);
                labels[b][i] = label[slot];
            }
        }
    }
    changed
}
