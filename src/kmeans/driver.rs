//! The k-means driver loop, written once for every backend: init, iterate, converge, re-seed
//! empty clusters, keep the best of n-init runs, and report the inertia recomputed exactly.

use super::init::{initial_centroids, rng_from_seed, ROWS_PER_CHUNK};
use super::model::KMeansModel;
use super::params::{Algorithm, KMeansParams};
use crate::backend::{Assign, Backend, Step};
use crate::error::{Error, Result};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use std::collections::HashSet;
use std::time::Instant;

/// `auto` keeps Hamerly's bounds at any d from this many clusters: its recomputations then use
/// the blocked kernel (with AVX-512), and measured at 1M rows it beat the blocked kernel alone
/// 2.8× at 32 × 256 and 1.9× at 64 × 1024 (15 and 10 iterations from the first k rows; README).
const HAMERLY_ANY_D_MIN_K: usize = 32;
/// Below that, Hamerly's test still prunes up to this many dimensions; beyond, Lloyd.
const HAMERLY_MAX_D: usize = 32;

/// What one iteration did, for convergence plots and tests.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IterStats {
    /// Inertia against the centroids used for this assignment (Lloyd kernels only).
    pub inertia: Option<f64>,
    /// Points whose label changed.
    pub changed: u64,
    /// Sum over clusters of the squared centroid movement.
    pub shift: f64,
}

/// A fitted model with the labels and statistics of the run that produced it.
#[derive(Clone, Debug)]
pub struct Fit {
    /// Centroids and the parameters they came from.
    pub model: KMeansModel,
    /// Cluster of every point.
    pub labels: Vec<u32>,
    /// Squared distance of every point to its centroid, computed in f64.
    pub sq_distances: Vec<f64>,
    /// Sum of `sq_distances`, in f64 with a fixed summation order.
    pub inertia: f64,
    /// Iterations of the kept run.
    pub iterations: usize,
    /// Whether the kept run converged before max-iter.
    pub converged: bool,
    /// Per-iteration statistics of the kept run.
    pub history: Vec<IterStats>,
    /// Assignment kernel used.
    pub assign: Assign,
    /// Seconds spent iterating (all runs), excluding initialisation and upload.
    pub iter_seconds: f64,
    /// Iterations over all runs (for ms per iteration).
    pub total_iterations: usize,
}

impl Fit {
    /// Renumbers clusters canonically, largest first (ties by centroid coordinates), so that
    /// reports do not depend on the initialisation order.
    pub fn canonicalize(&mut self) {
        let (k, d) = self.model.centroids.dim();
        let mut sizes = vec![0u64; k];
        for &l in &self.labels {
            sizes[l as usize] += 1;
        }
        let c = &self.model.centroids;
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| {
            sizes[b].cmp(&sizes[a]).then_with(|| {
                (0..d)
                    .map(|j| c[[a, j]].total_cmp(&c[[b, j]]))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
        });
        let mut new_of_old = vec![0u32; k];
        for (new, &old) in order.iter().enumerate() {
            new_of_old[old] = new as u32;
        }
        self.model.centroids = c.select(ndarray::Axis(0), &order);
        for l in &mut self.labels {
            *l = new_of_old[*l as usize];
        }
    }
}

/// Chooses the assignment kernel: Hamerly's bounds wherever they prune (k ≥ 3 with few
/// dimensions, or k ≥ 32 where its recomputations are register-blocked); Lloyd for k < 3 or
/// many dimensions with few clusters, where the test rarely skips work.
pub fn choose_assign(algorithm: Algorithm, k: usize, d: usize) -> Assign {
    match algorithm {
        Algorithm::Lloyd => Assign::Lloyd,
        Algorithm::Hamerly => Assign::Hamerly,
        Algorithm::Blocked => Assign::Blocked,
        Algorithm::Auto => {
            if k >= HAMERLY_ANY_D_MIN_K || (k >= 3 && d <= HAMERLY_MAX_D) {
                Assign::Hamerly
            } else {
                Assign::Lloyd
            }
        }
    }
}

/// Number of distinct rows, counting no further than `limit`.
pub fn distinct_rows(x: ArrayView2<'_, f32>, limit: usize) -> usize {
    count_distinct(
        x.rows()
            .into_iter()
            .map(|row| row.iter().map(|v| v.to_bits()).collect()),
        limit,
    )
}

/// Number of distinct keys (one per row), counting no further than `limit`: stopping early
/// keeps the check cheap on large inputs.
pub fn count_distinct(keys: impl Iterator<Item = Vec<u32>>, limit: usize) -> usize {
    let mut seen: HashSet<Vec<u32>> = HashSet::new();
    for key in keys {
        seen.insert(key);
        if seen.len() >= limit {
            break;
        }
    }
    seen.len()
}

/// Mean per-feature variance, the unit that `tol` is relative to (as in scikit-learn).
fn mean_variance(x: &[f32], d: usize) -> f64 {
    let n = (x.len() / d) as f64;
    let partials: Vec<(Vec<f64>, Vec<f64>)> = x
        .par_chunks(ROWS_PER_CHUNK * d)
        .map(|c| {
            let (mut s, mut s2) = (vec![0f64; d], vec![0f64; d]);
            for row in c.chunks_exact(d) {
                for j in 0..d {
                    let v = row[j] as f64;
                    s[j] += v;
                    s2[j] += v * v;
                }
            }
            (s, s2)
        })
        .collect();
    let (mut s, mut s2) = (vec![0f64; d], vec![0f64; d]);
    for (a, b) in &partials {
        for j in 0..d {
            s[j] += a[j];
            s2[j] += b[j];
        }
    }
    (0..d)
        .map(|j| (s2[j] / n - (s[j] / n).powi(2)).max(0.0))
        .sum::<f64>()
        / d as f64
}

/// Squared distances of every point to its centroid (`centroids` row-major k×d) and their
/// sum in a fixed order (per chunk, chunks in order), all in f64.
pub fn exact_distances(x: &[f32], d: usize, centroids: &[f32], labels: &[u32]) -> (Vec<f64>, f64) {
    let n = x.len() / d.max(1);
    let (Ok(xv), Ok(cv)) = (
        ArrayView2::from_shape((n, d), x),
        ArrayView2::from_shape((centroids.len() / d.max(1), d), centroids),
    ) else {
        return (Vec::new(), 0.0);
    };
    let sq = super::assign::sq_distances(xv, labels, cv);
    let inertia = sq
        .par_chunks(ROWS_PER_CHUNK)
        .map(|c| c.iter().sum::<f64>())
        .collect::<Vec<f64>>()
        .iter()
        .sum();
    (sq, inertia)
}

/// Data bound to its upload: the points resident on `backend` and the same rows on the host,
/// which the driver reads for initialisation, empty-cluster re-seeding and the exact inertia.
pub struct Uploaded<'a, B: Backend> {
    backend: &'a B,
    points: B::Points,
    x: ArrayView2<'a, f32>,
}

impl<'a, B: Backend> Uploaded<'a, B> {
    /// Uploads `x` (which must be in standard, row-major layout) to `backend`.
    pub fn new(backend: &'a B, x: ArrayView2<'a, f32>) -> Result<Self> {
        if !x.is_standard_layout() {
            return Err(Error::Data(
                "points must be in standard (row-major) layout".into(),
            ));
        }
        let points = backend.upload(x)?;
        Ok(Uploaded { backend, points, x })
    }

    /// The backend the points live on.
    pub fn backend(&self) -> &'a B {
        self.backend
    }

    /// The uploaded points.
    pub fn points(&self) -> &B::Points {
        &self.points
    }

    /// The host copy of the points.
    pub fn x(&self) -> ArrayView2<'a, f32> {
        self.x
    }
}

/// Where a fit starts.
#[derive(Clone, Copy, Debug)]
pub enum Start<'a> {
    /// `params.init`, once per `params.n_init` run; the lowest inertia is kept.
    Init,
    /// These k×d row-major centroids, in one run: e.g. a sample's fit, so that the fit on
    /// every row starts near its optimum and needs few iterations.
    Centroids(&'a [f32]),
}

/// Fits k-means on uploaded data from `start`: the one fit entry point every caller uses.
pub fn fit_uploaded<B: Backend>(
    data: &Uploaded<'_, B>,
    params: &KMeansParams,
    start: Start<'_>,
) -> Result<Fit> {
    params.check()?;
    let (backend, points, x) = (data.backend, &data.points, data.x);
    let (n, d) = x.dim();
    if n == 0 || d == 0 {
        return Err(Error::Data(
            "no data to cluster: the matrix has no rows or no columns".into(),
        ));
    }
    let xs = x
        .as_slice()
        .ok_or_else(|| Error::Data("points must be in standard (row-major) layout".into()))?;
    // The kernel the backend really runs, so that reports name it (a GPU answers Lloyd).
    let assign = backend.assign_kernel(choose_assign(params.algorithm, params.k, d));
    let tol = if params.tol > 0.0 {
        params.tol * mean_variance(xs, d)
    } else {
        0.0
    };
    let (mut iter_seconds, mut total_iterations) = (0.0, 0);
    let mut best: Option<Fit> = None;
    match start {
        Start::Centroids(init) => {
            if init.len() != params.k * d {
                return Err(Error::Data(format!(
                    "initial centroids: expected {} values (k = {} × d = {d}) for {n} rows, got {}",
                    params.k * d,
                    params.k,
                    init.len()
                )));
            }
            let t = Instant::now();
            let run = lloyd(backend, points, xs, d, params, assign, tol, init.to_vec())?;
            iter_seconds += t.elapsed().as_secs_f64();
            total_iterations += run.iterations;
            best = Some(run);
        }
        Start::Init => {
            let distinct = distinct_rows(x, params.k);
            if distinct < params.k {
                return Err(Error::TooFewDistinct {
                    k: params.k,
                    distinct,
                });
            }
            let mut rng = rng_from_seed(params.seed);
            for _ in 0..params.n_init {
                let init = initial_centroids(xs, d, params.k, params.init, &mut rng);
                let t = Instant::now();
                let run = lloyd(backend, points, xs, d, params, assign, tol, init)?;
                iter_seconds += t.elapsed().as_secs_f64();
                total_iterations += run.iterations;
                if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
                    best = Some(run);
                }
            }
        }
    }
    let mut fit = best.ok_or_else(|| Error::Data("n-init produced no run".into()))?;
    fit.iter_seconds = iter_seconds;
    fit.total_iterations = total_iterations;
    Ok(fit)
}

/// Uploads `x` to `backend` and fits from `params.init` (convenience for a single fit).
pub fn fit<B: Backend>(backend: &B, x: ArrayView2<'_, f32>, params: &KMeansParams) -> Result<Fit> {
    params.check()?;
    let x = x.as_standard_layout();
    let data = Uploaded::new(backend, x.view())?;
    fit_uploaded(&data, params, Start::Init)
}

#[allow(clippy::too_many_arguments)]
fn lloyd<B: Backend>(
    backend: &B,
    points: &B::Points,
    x: &[f32],
    d: usize,
    params: &KMeansParams,
    assign: Assign,
    tol: f64,
    mut centroids: Vec<f32>,
) -> Result<Fit> {
    let k = params.k;
    let mut run = backend.start(points, k, assign)?;
    let mut history = Vec::new();
    let mut converged = false;
    let mut strict = false;
    for it in 0..params.max_iter {
        let step = backend.step(points, &mut run, &centroids)?;
        let new = update_centroids(backend, points, &run, x, d, k, &centroids, step.clone())?;
        let shift: f64 = new
            .iter()
            .zip(&centroids)
            .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
            .sum();
        centroids = new;
        history.push(IterStats {
            inertia: step.inertia,
            changed: step.changed,
            shift,
        });
        // The first step compares against no labels, so it can never be the last.
        if it > 0 && step.changed == 0 {
            strict = true;
            converged = true;
            break;
        }
        if shift <= tol {
            converged = true;
            break;
        }
    }
    if !strict {
        // Labels must match the final centroids: one more assignment, as scikit-learn does.
        backend.step(points, &mut run, &centroids)?;
    }
    let labels = backend.labels(points, &run)?;
    let (sq_distances, inertia) = exact_distances(x, d, &centroids, &labels);
    let centroids =
        Array2::from_shape_vec((k, d), centroids).map_err(|e| Error::Data(e.to_string()))?;
    Ok(Fit {
        model: KMeansModel {
            centroids,
            params: params.clone(),
        },
        labels,
        sq_distances,
        inertia,
        iterations: history.len(),
        converged,
        history,
        assign,
        iter_seconds: 0.0,
        total_iterations: 0,
    })
}

/// New centroids from a step's sums; an empty cluster is re-seeded with the point farthest from
/// its centroid (ties to the lowest row), which leaves its old cluster, as scikit-learn does.
#[allow(clippy::too_many_arguments)]
fn update_centroids<B: Backend>(
    backend: &B,
    points: &B::Points,
    run: &B::Run,
    x: &[f32],
    d: usize,
    k: usize,
    old: &[f32],
    mut step: Step,
) -> Result<Vec<f32>> {
    let empty: Vec<usize> = (0..k).filter(|&c| step.counts[c] == 0).collect();
    if !empty.is_empty() {
        let labels = backend.labels(points, run)?;
        let (sq, _) = exact_distances(x, d, old, &labels);
        let mut order: Vec<usize> = (0..sq.len()).collect();
        order.sort_by(|&a, &b| sq[b].total_cmp(&sq[a]).then(a.cmp(&b)));
        let mut donors = order.into_iter();
        for &c in &empty {
            // A donor must leave its cluster non-empty.
            let Some(p) = donors
                .by_ref()
                .find(|&p| step.counts[labels[p] as usize] > 1)
            else {
                break;
            };
            let from = labels[p] as usize;
            let row = &x[p * d..(p + 1) * d];
            for (j, &v) in row.iter().enumerate() {
                step.sums[from * d + j] -= v as f64;
                step.sums[c * d + j] = v as f64;
            }
            step.counts[from] -= 1;
            step.counts[c] = 1;
        }
    }
    let mut new = old.to_vec();
    for c in 0..k {
        if step.counts[c] > 0 {
            let inv = step.counts[c] as f64;
            for j in 0..d {
                new[c * d + j] = (step.sums[c * d + j] / inv) as f32;
            }
        }
    }
    Ok(new)
}
