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
            chunks: Vec::new(),
        })
    }

    fn step(&self, points: &CpuPoints, run: &mut CpuRun, centroids: &[f32]) -> Result<Step> {
        let (n, k, d) = (points.n, run.k, points.d);
        let blocks = points.blocks.par_chunks(BLOCKS_PER_CHUNK * d);
        let fresh: Vec<Partial>;
        let partials: &[Partial] = match (run.assign, &run.previous) {
            (Assign::Hamerly, Some(prev)) => {
                let geo = Geometry::new(prev, centroids, k, d);
                let changed: u64 = blocks
                    .zip(run.labels.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .zip(run.upper.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .zip(run.lower.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .zip(run.chunks.par_iter_mut())
                    .enumerate()
                    .map(|(c, ((((blocks, labels), upper), lower), part))| {
                        let valid = chunk_points(n, c);
                        hamerly_chunk(blocks, centroids, &geo, labels, upper, lower, part, valid)
                    })
                    .sum();
                for (c, p) in run.chunks.iter_mut().enumerate() {
                    p.changed = if c == 0 { changed } else { 0 };
                }
                &run.chunks
            }
            (Assign::Hamerly, None) => {
                run.chunks = blocks
                    .zip(run.labels.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .zip(run.upper.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .zip(run.lower.par_chunks_mut(BLOCKS_PER_CHUNK))
                    .enumerate()
                    .map(|(c, (((blocks, labels), upper), lower))| {
                        let valid = chunk_points(n, c);
                        let bounds = Some((upper, lower));
                        full_chunk(blocks, centroids, None, k, labels, bounds, valid)
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
#[inline(always)]
fn nearest_blocked(
    block: &[Lanes],
    centroids: &[f32],
    e: &Expanded,
    k: usize,
    scores: &mut [Lanes],
    avx512: bool,
) -> (Lanes, [u32; LANES]) {
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
    for i in 0..LANES {
        let margin = e.eps * (xn[i] + e.cmax);
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
    (dist, label)
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
                let (best, second, label) = nearest_two(block, centroids, k);
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
                Some(e) => nearest_blocked(block, centroids, e, k, &mut scores, avx512),
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

/// Hamerly's bound update and test for one block, vectorised with gathers of the per-centroid
/// shift and half-separation (the portable loop compiles to scalar code). Returns whether any
/// lane may have a new nearest centroid. Every label must be below `geo.shift.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn loosen_bounds_avx512(
    lab: &[u32; LANES],
    up: &mut Lanes,
    lo: &mut Lanes,
    geo: &Geometry,
) -> bool {
    use std::arch::x86_64::*;
    let l = _mm512_loadu_si512(lab.as_ptr().cast());
    let shift = _mm512_i32gather_ps::<4>(l, geo.shift.as_ptr());
    let half_sep = _mm512_i32gather_ps::<4>(l, geo.half_separation.as_ptr());
    let is_max = _mm512_cmpeq_epi32_mask(l, _mm512_set1_epi32(geo.argmax_shift as i32));
    let drop = _mm512_mask_mov_ps(
        _mm512_set1_ps(geo.max_shift),
        is_max,
        _mm512_set1_ps(geo.second_max_shift),
    );
    let u = _mm512_add_ps(_mm512_loadu_ps(up.as_ptr()), shift);
    let w = _mm512_sub_ps(_mm512_loadu_ps(lo.as_ptr()), drop);
    _mm512_storeu_ps(up.as_mut_ptr(), u);
    _mm512_storeu_ps(lo.as_mut_ptr(), w);
    _mm512_cmp_ps_mask::<_CMP_GT_OQ>(u, _mm512_max_ps(w, half_sep)) != 0
}

/// How far each centroid moved since the previous step, and how far apart the centroids are:
/// what Hamerly's bounds are updated and tested with.
struct Geometry {
    shift: Vec<f32>,
    max_shift: f32,
    argmax_shift: usize,
    second_max_shift: f32,
    half_separation: Vec<f32>,
}

impl Geometry {
    fn new(previous: &[f32], current: &[f32], k: usize, d: usize) -> Self {
        let dist = |a: &[f32], b: &[f32]| -> f32 {
            a.iter()
                .zip(b)
                .map(|(p, q)| ((p - q) as f64).powi(2))
                .sum::<f64>()
                .sqrt() as f32
        };
        let shift: Vec<f32> = (0..k)
            .map(|c| dist(&previous[c * d..(c + 1) * d], &current[c * d..(c + 1) * d]))
            .collect();
        let (mut max_shift, mut argmax_shift, mut second_max_shift) = (0f32, 0usize, 0f32);
        for (c, &s) in shift.iter().enumerate() {
            if s > max_shift {
                second_max_shift = max_shift;
                max_shift = s;
                argmax_shift = c;
            } else if s > second_max_shift {
                second_max_shift = s;
            }
        }
        let mut half_separation = vec![f32::INFINITY; k];
        for a in 0..k {
            for b in a + 1..k {
                let h = 0.5 * dist(&current[a * d..(a + 1) * d], &current[b * d..(b + 1) * d]);
                half_separation[a] = half_separation[a].min(h);
                half_separation[b] = half_separation[b].min(h);
            }
        }
        Geometry {
            shift,
            max_shift,
            argmax_shift,
            second_max_shift,
            half_separation,
        }
    }
}

multiversion! {
    /// One Hamerly step over a chunk: loosen the bounds by how far centroids moved, recompute
    /// all distances only for blocks that hold a point whose nearest centroid may have changed,
    /// and move only the points that changed cluster between the chunk's running sums.
    /// Returns how many did.
    fn hamerly_chunk => hamerly_chunk_portable(
        blocks: &[Lanes],
        centroids: &[f32],
        geo: &Geometry,
        labels: &mut [[u32; LANES]],
        upper: &mut [Lanes],
        lower: &mut [Lanes],
        part: &mut Partial,
        valid: usize,
    ) -> u64
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn hamerly_chunk_portable(
    blocks: &[Lanes],
    centroids: &[f32],
    geo: &Geometry,
    labels: &mut [[u32; LANES]],
    upper: &mut [Lanes],
    lower: &mut [Lanes],
    part: &mut Partial,
    valid: usize,
) -> u64 {
    let k = geo.shift.len();
    let d = blocks.len() / labels.len();
    // Slicing to k lets the compiler drop bounds checks on `label.min(k - 1)` and vectorise.
    let (shift, half_sep) = (&geo.shift[..k], &geo.half_separation[..k]);
    let avx512 = has_avx512();
    let mut changed = 0;
    for (b, ((lab, up), lo)) in labels
        .iter_mut()
        .zip(upper.iter_mut())
        .zip(lower.iter_mut())
        .enumerate()
    {
        let fail = if avx512 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `avx512` is only true when the CPU supports AVX-512F; labels are < k.
            unsafe {
                loosen_bounds_avx512(lab, up, lo, geo)
            }
            #[cfg(not(target_arch = "x86_64"))]
            false
        } else {
            let mut fail = false;
            for i in 0..LANES {
                let a = (lab[i] as usize).min(k - 1);
                up[i] += shift[a];
                lo[i] -= if a == geo.argmax_shift {
                    geo.second_max_shift
                } else {
                    geo.max_shift
                };
                fail |= up[i] > lo[i].max(half_sep[a]);
            }
            fail
        };
        if !fail {
            continue;
        }
        // No per-point tightening of the upper bound first: its scalar strided loads wait on
        // memory one lane at a time, while the vector pass over the block loads all of it at
        // once and measured faster (1M × 8, k = 8: 5.6 against 8.5 ms per iteration).
        let block = &blocks[b * d..(b + 1) * d];
        let live = LANES.min(valid - b * LANES);
        let (best, second, label) = nearest_two(block, centroids, k);
        for i in 0..live {
            up[i] = best[i].sqrt();
            lo[i] = second[i].sqrt();
            if lab[i] != label[i] {
                changed += 1;
                part.relabel(block, i, lab[i] as usize, label[i] as usize);
                lab[i] = label[i];
            }
        }
    }
    changed
}
