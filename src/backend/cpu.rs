//! The CPU backend: the reference every other backend is verified against.
//!
//! Points are stored in blocks of 16 with the feature index outermost inside a block, so one
//! centroid's distance to 16 points is one vector expression and the nearest-centroid choice is
//! branch-free. Work is split into fixed chunks of points whose partial sums are combined in
//! chunk order, so results are bit-identical whatever the number of threads.

use super::{Assign, Backend, DeviceInfo, Step};
use crate::error::Result;
use ndarray::ArrayView2;
use rayon::prelude::*;

/// Points per block: one AVX-512 register of f32.
pub const LANES: usize = 16;
/// Blocks per parallel chunk (4,096 points): the unit of the fixed-order reduction.
const BLOCKS_PER_CHUNK: usize = 256;
const POINTS_PER_CHUNK: usize = LANES * BLOCKS_PER_CHUNK;

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

/// Per-fit state: labels of the last step and, for Hamerly, distance bounds.
pub struct CpuRun {
    k: usize,
    assign: Assign,
    labels: Vec<u32>,
    upper: Vec<f32>,
    lower: Vec<f32>,
    previous: Option<Vec<f32>>,
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

    /// Adds one point (lane `i` of a block) to cluster `label`.
    #[inline(always)]
    fn add(&mut self, block: &[Lanes], i: usize, label: usize) {
        self.counts[label] += 1;
        let d = block.len();
        for (s, x) in self.sums[label * d..(label + 1) * d].iter_mut().zip(block) {
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
        let nb = n.div_ceil(LANES);
        let mut blocks = vec![[0f32; LANES]; nb * d];
        if d > 0 {
            blocks.par_chunks_mut(d).enumerate().for_each(|(b, blk)| {
                for i in 0..LANES.min(n - b * LANES) {
                    let row = x.row(b * LANES + i);
                    for (lanes, &v) in blk.iter_mut().zip(row.iter()) {
                        lanes[i] = v;
                    }
                }
            });
        }
        Ok(CpuPoints { n, d, blocks })
    }

    fn start(&self, points: &CpuPoints, k: usize, assign: Assign) -> Result<CpuRun> {
        let bounds = if assign == Assign::Hamerly {
            points.n
        } else {
            0
        };
        Ok(CpuRun {
            k,
            assign,
            labels: vec![u32::MAX; points.n],
            upper: vec![0.0; bounds],
            lower: vec![0.0; bounds],
            previous: None,
        })
    }

    fn step(&self, points: &CpuPoints, run: &mut CpuRun, centroids: &[f32]) -> Result<Step> {
        let (k, d) = (run.k, points.d);
        let partials: Vec<Partial> = match (run.assign, &run.previous) {
            (Assign::Hamerly, Some(prev)) => {
                let geo = Geometry::new(prev, centroids, k, d);
                points
                    .blocks
                    .par_chunks(BLOCKS_PER_CHUNK * d)
                    .zip(run.labels.par_chunks_mut(POINTS_PER_CHUNK))
                    .zip(run.upper.par_chunks_mut(POINTS_PER_CHUNK))
                    .zip(run.lower.par_chunks_mut(POINTS_PER_CHUNK))
                    .map(|(((blocks, labels), upper), lower)| {
                        hamerly_chunk(blocks, d, centroids, k, &geo, labels, upper, lower)
                    })
                    .collect()
            }
            (Assign::Hamerly, None) => points
                .blocks
                .par_chunks(BLOCKS_PER_CHUNK * d)
                .zip(run.labels.par_chunks_mut(POINTS_PER_CHUNK))
                .zip(run.upper.par_chunks_mut(POINTS_PER_CHUNK))
                .zip(run.lower.par_chunks_mut(POINTS_PER_CHUNK))
                .map(|(((blocks, labels), upper), lower)| {
                    full_chunk(blocks, d, centroids, k, labels, Some((upper, lower)))
                })
                .collect(),
            (Assign::Lloyd, _) => points
                .blocks
                .par_chunks(BLOCKS_PER_CHUNK * d.max(1))
                .zip(run.labels.par_chunks_mut(POINTS_PER_CHUNK))
                .map(|(blocks, labels)| full_chunk(blocks, d, centroids, k, labels, None))
                .collect(),
        };
        if run.assign == Assign::Hamerly {
            run.previous = Some(centroids.to_vec());
        }
        let mut total = Partial::new(k, d);
        for p in &partials {
            for (a, b) in total.sums.iter_mut().zip(&p.sums) {
                *a += b;
            }
            for (a, b) in total.counts.iter_mut().zip(&p.counts) {
                *a += b;
            }
            total.inertia += p.inertia;
            total.changed += p.changed;
        }
        Ok(Step {
            sums: total.sums,
            counts: total.counts,
            inertia: (run.assign == Assign::Lloyd).then_some(total.inertia),
            changed: total.changed,
        })
    }

    fn labels(&self, _points: &CpuPoints, run: &CpuRun) -> Result<Vec<u32>> {
        Ok(run.labels.clone())
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

/// Assigns every point of a chunk by full distance computation (Lloyd, or Hamerly's first step
/// which also initialises the bounds).
fn full_chunk(
    blocks: &[Lanes],
    d: usize,
    centroids: &[f32],
    k: usize,
    labels: &mut [u32],
    bounds: Option<(&mut [f32], &mut [f32])>,
) -> Partial {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { full_chunk_avx512(blocks, d, centroids, k, labels, bounds) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { full_chunk_avx2(blocks, d, centroids, k, labels, bounds) };
        }
    }
    full_chunk_portable(blocks, d, centroids, k, labels, bounds)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn full_chunk_avx512(
    blocks: &[Lanes],
    d: usize,
    centroids: &[f32],
    k: usize,
    labels: &mut [u32],
    bounds: Option<(&mut [f32], &mut [f32])>,
) -> Partial {
    full_chunk_portable(blocks, d, centroids, k, labels, bounds)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn full_chunk_avx2(
    blocks: &[Lanes],
    d: usize,
    centroids: &[f32],
    k: usize,
    labels: &mut [u32],
    bounds: Option<(&mut [f32], &mut [f32])>,
) -> Partial {
    full_chunk_portable(blocks, d, centroids, k, labels, bounds)
}

#[inline(always)]
fn full_chunk_portable(
    blocks: &[Lanes],
    d: usize,
    centroids: &[f32],
    k: usize,
    labels: &mut [u32],
    mut bounds: Option<(&mut [f32], &mut [f32])>,
) -> Partial {
    let mut part = Partial::new(k, d);
    let n = labels.len();
    for (b, base) in (0..n).step_by(LANES).enumerate() {
        let block = &blocks[b * d..(b + 1) * d];
        let valid = LANES.min(n - base);
        let (best, label) = match bounds.as_mut() {
            Some((upper, lower)) => {
                let (best, second, label) = nearest_two(block, centroids, k);
                for i in 0..valid {
                    upper[base + i] = best[i].sqrt();
                    lower[base + i] = second[i].sqrt();
                }
                (best, label)
            }
            None => nearest(block, centroids, k),
        };
        for i in 0..valid {
            let l = label[i];
            part.changed += (labels[base + i] != l) as u64;
            labels[base + i] = l;
            part.inertia += best[i] as f64;
            part.add(block, i, l as usize);
        }
    }
    part
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

/// One Hamerly step over a chunk: loosen the bounds by how far centroids moved, tighten the
/// upper bound of points that fail the test, and recompute all distances only for blocks that
/// still hold a point whose nearest centroid may have changed.
#[allow(clippy::too_many_arguments)]
fn hamerly_chunk(
    blocks: &[Lanes],
    d: usize,
    centroids: &[f32],
    k: usize,
    geo: &Geometry,
    labels: &mut [u32],
    upper: &mut [f32],
    lower: &mut [f32],
) -> Partial {
    let mut part = Partial::new(k, d);
    let n = labels.len();
    for (b, base) in (0..n).step_by(LANES).enumerate() {
        let block = &blocks[b * d..(b + 1) * d];
        let valid = LANES.min(n - base);
        let mut need = false;
        for i in 0..valid {
            let p = base + i;
            let a = labels[p] as usize;
            upper[p] += geo.shift[a];
            lower[p] -= if a == geo.argmax_shift {
                geo.second_max_shift
            } else {
                geo.max_shift
            };
            let z = lower[p].max(geo.half_separation[a]);
            if upper[p] > z {
                let c = &centroids[a * d..(a + 1) * d];
                let mut s = 0f32;
                for (xs, &cj) in block.iter().zip(c) {
                    let t = xs[i] - cj;
                    s += t * t;
                }
                upper[p] = s.sqrt();
                need |= upper[p] > z;
            }
        }
        if need {
            let (best, second, label) = nearest_two(block, centroids, k);
            for i in 0..valid {
                let p = base + i;
                part.changed += (labels[p] != label[i]) as u64;
                labels[p] = label[i];
                upper[p] = best[i].sqrt();
                lower[p] = second[i].sqrt();
            }
        }
        for i in 0..valid {
            part.add(block, i, labels[base + i] as usize);
        }
    }
    part
}
