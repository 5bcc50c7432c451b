//! k-prototypes (Huang 1997) for mixed numeric and categorical data: the cost of a row to a
//! prototype is the squared Euclidean distance of the numeric part plus γ times the number of
//! categorical columns that differ from the prototype's modes, so categoricals need no one-hot
//! encoding. Batch (Lloyd-like) iterations, deterministic for a seed and any thread count.

use crate::data::prep::{Prep, Transform};
use crate::data::Kind;
use ndarray::{s, Array2, ArrayView2};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Param, ParamError, Result};

/// Rows per parallel work item; partial sums are combined in chunk order, so results do not
/// depend on how many threads run the chunks.
pub const ROWS_PER_CHUNK: usize = 4096;

/// Interleaved accumulators in the scatter loops: rows of one cluster that follow each other
/// would otherwise make one long chain of dependent adds through memory.
const SPLIT: usize = 4;

/// Largest number of levels a categorical column may have: level counts are dense arrays.
pub const MAX_LEVELS: usize = 1 << 20;

/// k-prototypes parameters (builder like [`crate::kmeans::KMeansParams`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KPrototypesParams {
    /// Number of clusters.
    pub k: usize,
    /// Weight of one categorical mismatch; `None` means [`default_gamma`] of the data.
    pub gamma: Option<f64>,
    /// Upper bound on update steps per run.
    pub max_iter: usize,
    /// Independent runs; the one with the lowest cost is kept (ties: the earliest).
    pub n_init: usize,
    /// Seed of the one random generator every random choice draws from.
    pub seed: u64,
}

impl KPrototypesParams {
    /// Defaults: γ from the data, 100 iterations, 1 run, seed 0.
    pub fn new(k: usize) -> Self {
        KPrototypesParams {
            k,
            gamma: None,
            max_iter: 100,
            n_init: 1,
            seed: 0,
        }
    }

    /// Sets γ, the weight of one categorical mismatch.
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = Some(gamma);
        self
    }

    /// Sets the iteration cap.
    pub fn max_iter(mut self, m: usize) -> Self {
        self.max_iter = m;
        self
    }

    /// Sets the number of independent runs.
    pub fn n_init(mut self, n: usize) -> Self {
        self.n_init = n;
        self
    }

    /// Sets the random seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Validates every rule that does not need the data, before any work starts.
    pub fn check(&self) -> Result<()> {
        if self.k == 0 {
            return Err(ParamError::KZero.into());
        }
        if let Some(g) = self.gamma {
            // γ is used as f32 in the kernel, so it must also be finite there.
            if !(g.is_finite() && g > 0.0) {
                return Err(ParamError::Gamma(g).into());
            }
            if !(g as f32).is_finite() {
                return Err(ParamError::GammaTooLarge(g).into());
            }
        }
        if self.n_init == 0 {
            return Err(ParamError::NInitZero.into());
        }
        if self.max_iter == 0 {
            return Err(ParamError::MaxIterZero.into());
        }
        Ok(())
    }
}

/// A fitted model: what predict needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KPrototypesModel {
    /// k × dn prototype means of the numeric columns.
    pub numeric: Vec<Vec<f32>>,
    /// k × dc modal category codes.
    pub modes: Vec<Vec<u32>>,
    /// Weight of one categorical mismatch.
    pub gamma: f64,
}

impl KPrototypesModel {
    /// Nearest prototype and its cost for each row (ties: lowest prototype index), in parallel.
    /// A malformed model, column counts other than the model's or views with different row
    /// counts are errors ([`KPrototypesModel::check_input`]).
    pub fn predict(
        &self,
        xn: ArrayView2<'_, f32>,
        xc: ArrayView2<'_, u32>,
    ) -> Result<(Vec<u32>, Vec<f64>)> {
        self.check_input(xn, xc)?;
        let protos = Prototypes::from_model(self);
        let (n, dn, dc) = (xn.nrows(), xn.ncols(), xc.ncols());
        let mut labels = vec![0u32; n];
        let mut costs = vec![0f64; n];
        // Each chunk is laid out in a small buffer of its own rather than copying the whole
        // input first: a single pass needs no full copy, and the buffer stays in cache.
        labels
            .par_chunks_mut(ROWS_PER_CHUNK)
            .zip(costs.par_chunks_mut(ROWS_PER_CHUNK))
            .enumerate()
            .for_each(|(c, (lab, cost))| {
                let (s0, len) = (c * ROWS_PER_CHUNK, lab.len());
                let mut num = vec![0f32; len * dn];
                let mut cat = vec![0u32; len * dc];
                transpose_into(xn.slice(s![s0..s0 + len, ..]), &mut num);
                transpose_into(xc.slice(s![s0..s0 + len, ..]), &mut cat);
                let mut best = vec![0f32; len];
                nearest_chunk(&num, &cat, &protos, &mut best, lab);
                for (o, &v) in cost.iter_mut().zip(&best) {
                    *o = v as f64;
                }
            });
        Ok((labels, costs))
    }

    /// Checks that a model (for example one read back from JSON) is usable: k ≥ 1 prototypes,
    /// each with the same numeric and categorical lengths, finite means and a positive γ.
    pub fn check(&self) -> Result<()> {
        let bad = |why: String| {
            Err(Error::Data(format!(
                "the k-prototypes model is unusable: {why}; fit it again"
            )))
        };
        let k = self.numeric.len();
        if k == 0 || self.modes.len() != k {
            return bad(format!(
                "it has {k} numeric prototypes and {} categorical modes (need the same number, at least 1)",
                self.modes.len()
            ));
        }
        let (dn, dc) = (self.numeric[0].len(), self.modes[0].len());
        if let Some(j) = (0..k).find(|&j| self.numeric[j].len() != dn || self.modes[j].len() != dc)
        {
            return bad(format!(
                "prototype {j} has {} numeric and {} categorical values, prototype 0 has {dn} and {dc}",
                self.numeric[j].len(),
                self.modes[j].len()
            ));
        }
        if self.numeric.iter().flatten().any(|v| !v.is_finite()) {
            return bad("a prototype mean is not a finite number".into());
        }
        let g = self.gamma;
        if !(g.is_finite() && g > 0.0 && (g as f32).is_finite()) {
            return bad(format!("gamma is {g}, not a positive number"));
        }
        Ok(())
    }

    /// Checks the model ([`KPrototypesModel::check`]) and that `xn` and `xc` have its column
    /// counts and the same number of rows.
    pub fn check_input(&self, xn: ArrayView2<'_, f32>, xc: ArrayView2<'_, u32>) -> Result<()> {
        self.check()?;
        let dn = self.numeric.first().map_or(0, Vec::len);
        let dc = self.modes.first().map_or(0, Vec::len);
        if xn.ncols() != dn || xc.ncols() != dc {
            return Err(Error::Data(format!(
                "the k-prototypes model was fitted on {dn} numeric and {dc} categorical columns, but the data has {} and {}; predict with the same columns as the fit",
                xn.ncols(),
                xc.ncols()
            )));
        }
        check_rows(xn, xc)
    }

    /// Number of prototypes.
    pub fn k(&self) -> usize {
        self.numeric.len()
    }
}

/// The result of a fit: the model, the training labels and how the iterations went.
#[derive(Clone, Debug)]
pub struct KPrototypesFit {
    /// The fitted prototypes, numbered canonically (largest cluster first).
    pub model: KPrototypesModel,
    /// Prototype of each training row.
    pub labels: Vec<u32>,
    /// Cost of each training row to its prototype (what `predict` gives for the row).
    pub costs: Vec<f64>,
    /// Total cost of the labels under the model.
    pub cost: f64,
    /// Update steps of the kept run.
    pub iterations: usize,
    /// Whether the kept run stopped because no label changed.
    pub converged: bool,
    /// Total cost after each assignment pass of the kept run (never rises).
    pub history: Vec<f64>,
}

/// γ default: half the mean standard deviation of the numeric columns (Huang 1997).
///
/// Population standard deviations, computed in f64. With no numeric columns, or only constant
/// ones, the numeric cost is zero everywhere and γ only scales the cost, so 1 is returned.
pub fn default_gamma(xn: ArrayView2<'_, f32>) -> f64 {
    let (n, dn) = xn.dim();
    if n == 0 || dn == 0 {
        return 1.0;
    }
    let mean_sd = xn
        .columns()
        .into_iter()
        .map(|col| {
            let mean = col.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            let var = col.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            var.sqrt()
        })
        .sum::<f64>()
        / dn as f64;
    let g = 0.5 * mean_sd;
    if g.is_finite() && g > 0.0 && (g as f32) > 0.0 {
        g
    } else {
        1.0
    }
}

/// Fits k-prototypes to numeric features `xn` (n × dn, scaled; dn may be 0, which is k-modes)
/// and category codes `xc` (n × dc, each column's codes 0..levels).
pub fn fit(
    xn: ArrayView2<'_, f32>,
    xc: ArrayView2<'_, u32>,
    params: &KPrototypesParams,
) -> Result<KPrototypesFit> {
    params.check()?;
    if xc.ncols() == 0 {
        return Err(Error::Data(format!(
            "k-prototypes needs at least one categorical column, and none is left after cleaning; use {} for all-numeric data (or mark a column with {})",
            Param::Algorithm.set("kmeans"),
            Param::Categorical
        )));
    }
    check_rows(xn, xc)?;
    check_values(xn, xc)?;
    let k = params.k;
    let m = count_distinct_up_to(xn, xc, k);
    if k > m {
        return Err(Error::Data(format!(
            "k = {k} is larger than the number of distinct rows ({m}); use a k of at most {m}"
        )));
    }
    let gamma = params.gamma.unwrap_or_else(|| default_gamma(xn));
    let mut data = Blocked::new(xn, xc);
    data.find_levels();
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let mut best: Option<Run> = None;
    for _ in 0..params.n_init {
        let init = init_plus_plus(&data, k, gamma as f32, &mut rng);
        let run = lloyd(&data, init, params.max_iter);
        // Strictly lower: ties keep the earliest run.
        if best.as_ref().is_none_or(|b| run.cost < b.cost) {
            best = Some(run);
        }
    }
    let Some(run) = best else {
        return Err(ParamError::NInitZero.into());
    };
    let protos = canonical_order(run.protos, &run.labels, data.n);
    // Relabel under the renumbered prototypes so exact ties go to the lowest new index, as
    // `predict` does; the per-row costs are unchanged.
    let (labels, costs) = assign_all(&data, &protos);
    let cost = sum_in_chunks(&costs);
    Ok(KPrototypesFit {
        model: protos.into_model(gamma),
        labels,
        costs: costs.iter().map(|&c| f64::from(c)).collect(),
        cost,
        iterations: run.iterations,
        converged: run.converged,
        history: run.history,
    })
}

fn check_rows(xn: ArrayView2<'_, f32>, xc: ArrayView2<'_, u32>) -> Result<()> {
    if xn.nrows() != xc.nrows() {
        return Err(Error::Data(format!(
            "the numeric part has {} rows but the categorical part has {}; both must describe the same rows",
            xn.nrows(),
            xc.nrows()
        )));
    }
    Ok(())
}

/// Rejects non-finite numerics and codes too large to count densely, naming row and column.
fn check_values(xn: ArrayView2<'_, f32>, xc: ArrayView2<'_, u32>) -> Result<()> {
    if let Some(((row, col), v)) = xn.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::Data(format!(
            "row {row}, numeric column {col}: {v} is not a finite number; impute or drop it before clustering"
        )));
    }
    if let Some(((row, col), v)) = xc.indexed_iter().find(|(_, &v)| v as usize >= MAX_LEVELS) {
        return Err(Error::Data(format!(
            "row {row}, categorical column {col}: code {v} is too large; codes must run from 0 to the number of levels - 1 (at most {MAX_LEVELS} levels)"
        )));
    }
    Ok(())
}

/// Number of distinct rows (numeric and categorical parts together), counted only up to
/// `limit`: the check needs no more, and stopping early keeps it cheap on large inputs.
fn count_distinct_up_to(xn: ArrayView2<'_, f32>, xc: ArrayView2<'_, u32>, limit: usize) -> usize {
    let keys = xn.rows().into_iter().zip(xc.rows()).map(|(rn, rc)| {
        // +0.0 turns -0.0 into 0.0: equal values must give equal keys.
        rn.iter()
            .map(|&v| (v + 0.0).to_bits())
            .chain(rc.iter().copied())
            .collect()
    });
    crate::kmeans::driver::count_distinct(keys, limit)
}

/// The data laid out for the kernel: in chunks of [`ROWS_PER_CHUNK`] rows, each chunk's
/// columns stored one after another, so one prototype's cost over a chunk is a few contiguous
/// vector loops.
struct Blocked {
    n: usize,
    dn: usize,
    dc: usize,
    /// Chunk starting at row s with len rows: value (s + r, f) at s·dn + f·len + r.
    num: Vec<f32>,
    /// Same layout for the codes, with dc.
    cat: Vec<u32>,
    /// Levels of each categorical column (largest code + 1).
    levels: Vec<usize>,
}

impl Blocked {
    /// Lays out the data for the kernel; `levels` stays empty until [`Blocked::find_levels`].
    fn new(xn: ArrayView2<'_, f32>, xc: ArrayView2<'_, u32>) -> Self {
        Blocked {
            n: xn.nrows(),
            dn: xn.ncols(),
            dc: xc.ncols(),
            num: blocked(xn),
            cat: blocked(xc),
            levels: Vec::new(),
        }
    }

    /// Sets the levels of each categorical column (largest code + 1); only fitting needs them.
    fn find_levels(&mut self) {
        let dc = self.dc;
        let maxima = self
            .cat
            .par_chunks(ROWS_PER_CHUNK * dc.max(1))
            .map(|block| {
                let len = block.len() / dc.max(1);
                (0..dc)
                    .map(|f| {
                        block[f * len..(f + 1) * len]
                            .iter()
                            .copied()
                            .max()
                            .map_or(0, |m| m as usize + 1)
                    })
                    .collect::<Vec<usize>>()
            })
            .reduce(
                || vec![0; dc],
                |a, b| a.iter().zip(&b).map(|(x, y)| *x.max(y)).collect(),
            );
        self.levels = maxima;
    }

    /// The numeric and categorical blocks of chunk `c`, which holds `len` rows.
    fn chunk(&self, c: usize, len: usize) -> (&[f32], &[u32]) {
        let s0 = c * ROWS_PER_CHUNK;
        (
            &self.num[s0 * self.dn..(s0 + len) * self.dn],
            &self.cat[s0 * self.dc..(s0 + len) * self.dc],
        )
    }

    /// Numeric and categorical values of one row, gathered from the blocked layout.
    fn row(&self, i: usize) -> (Vec<f32>, Vec<u32>) {
        let c = i / ROWS_PER_CHUNK;
        let s0 = c * ROWS_PER_CHUNK;
        let len = ROWS_PER_CHUNK.min(self.n - s0);
        let r = i - s0;
        let (num, cat) = self.chunk(c, len);
        (
            (0..self.dn).map(|f| num[f * len + r]).collect(),
            (0..self.dc).map(|f| cat[f * len + r]).collect(),
        )
    }
}

/// Copies an n × d matrix into the chunked layout of [`Blocked`], in parallel over chunks.
fn blocked<T: Copy + Default + Send + Sync>(x: ArrayView2<'_, T>) -> Vec<T> {
    let (n, d) = x.dim();
    let mut out = vec![T::default(); n * d];
    if d == 0 {
        return out;
    }
    out.par_chunks_mut(ROWS_PER_CHUNK * d)
        .enumerate()
        .for_each(|(c, block)| {
            let s0 = c * ROWS_PER_CHUNK;
            let len = block.len() / d;
            transpose_into(x.slice(s![s0..s0 + len, ..]), block);
        });
    out
}

/// Writes the rows of `x` (len × d) into `block` feature by feature (value (r, f) at f·len + r).
fn transpose_into<T: Copy>(x: ArrayView2<'_, T>, block: &mut [T]) {
    let (len, d) = x.dim();
    match x.as_slice() {
        // Row-major input (the usual case): read each row once, in order.
        Some(all) => {
            for (r, row) in all.chunks_exact(d.max(1)).enumerate() {
                for (f, &v) in row.iter().enumerate() {
                    block[f * len + r] = v;
                }
            }
        }
        // Any other layout: the transposed view iterates feature by feature.
        None => {
            for (b, &v) in block.iter_mut().zip(x.t()) {
                *b = v;
            }
        }
    }
}

/// Prototypes in flat row-major form, as the kernel reads them.
#[derive(Clone, Debug)]
struct Prototypes {
    k: usize,
    /// k × dn means.
    num: Vec<f32>,
    /// k × dc modes.
    modes: Vec<u32>,
    gamma: f32,
}

impl Prototypes {
    fn from_model(m: &KPrototypesModel) -> Self {
        Prototypes {
            k: m.numeric.len().min(m.modes.len()),
            num: m.numeric.concat(),
            modes: m.modes.concat(),
            gamma: m.gamma as f32,
        }
    }

    fn into_model(self, gamma: f64) -> KPrototypesModel {
        let dn = self.num.len() / self.k.max(1);
        let dc = self.modes.len() / self.k.max(1);
        KPrototypesModel {
            numeric: (0..self.k)
                .map(|j| self.num[j * dn..(j + 1) * dn].to_vec())
                .collect(),
            modes: (0..self.k)
                .map(|j| self.modes[j * dc..(j + 1) * dc].to_vec())
                .collect(),
            gamma,
        }
    }
}

multiversion! {
    /// Nearest prototype (ties: lowest index) and its cost for every row of one chunk.
    fn nearest_chunk => nearest_chunk_portable(
        num: &[f32],
        cat: &[u32],
        protos: &Prototypes,
        best: &mut [f32],
        label: &mut [u32],
    )
}

/// Portable kernel behind [`nearest_chunk`]: for one prototype at a time, contiguous loops over
/// the chunk's columns accumulate the numeric distance and the mismatch count of every row, then
/// a branch-free select keeps the minimum. Every loop runs over rows, so it vectorises.
#[inline(always)]
fn nearest_chunk_portable(
    num: &[f32],
    cat: &[u32],
    protos: &Prototypes,
    best: &mut [f32],
    label: &mut [u32],
) {
    let len = best.len();
    let k = protos.k;
    let dn = protos.num.len() / k.max(1);
    let dc = protos.modes.len() / k.max(1);
    let mut dist = vec![0f32; len];
    // Counts kept apart and multiplied by γ once, so the cost is exactly dist + γ·count.
    let mut miss = vec![0f32; len];
    best.fill(f32::INFINITY);
    label.fill(0);
    for j in 0..k {
        dist.fill(0.0);
        miss.fill(0.0);
        for (f, &m) in protos.num[j * dn..(j + 1) * dn].iter().enumerate() {
            for (a, &x) in dist.iter_mut().zip(&num[f * len..(f + 1) * len]) {
                let t = x - m;
                *a += t * t;
            }
        }
        for (f, &m) in protos.modes[j * dc..(j + 1) * dc].iter().enumerate() {
            for (q, &x) in miss.iter_mut().zip(&cat[f * len..(f + 1) * len]) {
                *q += (x != m) as u32 as f32;
            }
        }
        let j = j as u32;
        for (((b, l), &d), &q) in best.iter_mut().zip(label.iter_mut()).zip(&dist).zip(&miss) {
            let v = d + protos.gamma * q;
            let lt = v < *b;
            *b = if lt { v } else { *b };
            *l = if lt { j } else { *l };
        }
    }
}

/// Labels and per-row costs of every row under `protos`, in parallel over fixed chunks.
fn assign_all(data: &Blocked, protos: &Prototypes) -> (Vec<u32>, Vec<f32>) {
    let mut labels = vec![0u32; data.n];
    let mut costs = vec![0f32; data.n];
    labels
        .par_chunks_mut(ROWS_PER_CHUNK)
        .zip(costs.par_chunks_mut(ROWS_PER_CHUNK))
        .enumerate()
        .for_each(|(c, (lab, cost))| {
            let (num, cat) = data.chunk(c, lab.len());
            nearest_chunk(num, cat, protos, cost, lab);
        });
    (labels, costs)
}

/// Sum in f64, per chunk and then in chunk order, so it does not depend on the thread count.
fn sum_in_chunks(costs: &[f32]) -> f64 {
    let parts: Vec<f64> = costs
        .par_chunks(ROWS_PER_CHUNK)
        .map(|c| c.iter().map(|&v| v as f64).sum())
        .collect();
    parts.iter().sum()
}

/// What one chunk contributes to an assignment pass.
struct Partial {
    /// k × dn numeric sums of the chunk's rows per new label.
    sums: Vec<f64>,
    counts: Vec<u64>,
    cost: f64,
    changed: u64,
}

/// One assignment pass: relabels every row, stores its cost, and returns the numeric sums,
/// counts, total cost and number of changed labels, combined in chunk order.
fn assign_and_accumulate(
    data: &Blocked,
    protos: &Prototypes,
    labels: &mut [u32],
    row_cost: &mut [f32],
) -> Partial {
    let (k, dn) = (protos.k, data.dn);
    let parts: Vec<Partial> = labels
        .par_chunks_mut(ROWS_PER_CHUNK)
        .zip(row_cost.par_chunks_mut(ROWS_PER_CHUNK))
        .enumerate()
        .map(|(c, (lab, cost))| {
            let len = lab.len();
            let (num, cat) = data.chunk(c, len);
            let mut new = vec![0u32; len];
            nearest_chunk(num, cat, protos, cost, &mut new);
            let changed = lab.iter().zip(&new).filter(|(a, b)| a != b).count() as u64;
            lab.copy_from_slice(&new);
            let mut counts = vec![0u64; k];
            for &l in &new {
                counts[l as usize] += 1;
            }
            let mut sums = vec![0f64; k * dn];
            let mut acc = vec![0f64; SPLIT * k];
            for f in 0..dn {
                acc.fill(0.0);
                for (r, (&x, &l)) in num[f * len..(f + 1) * len].iter().zip(&new).enumerate() {
                    acc[(r % SPLIT) * k + l as usize] += x as f64;
                }
                for j in 0..k {
                    sums[j * dn + f] = (0..SPLIT).map(|c| acc[c * k + j]).sum();
                }
            }
            Partial {
                sums,
                counts,
                cost: cost.iter().map(|&v| v as f64).sum(),
                changed,
            }
        })
        .collect();
    let mut total = Partial {
        sums: vec![0f64; k * dn],
        counts: vec![0u64; k],
        cost: 0.0,
        changed: 0,
    };
    for p in &parts {
        for (a, b) in total.sums.iter_mut().zip(&p.sums) {
            *a += b;
        }
        for (a, b) in total.counts.iter_mut().zip(&p.counts) {
            *a += b;
        }
        total.cost += p.cost;
        total.changed += p.changed;
    }
    total
}

/// Per column, per cluster level counts (flat: column offset + cluster · levels + code).
/// Integer sums, so the combination order does not matter for the result.
fn count_levels(data: &Blocked, labels: &[u32], k: usize) -> (Vec<u64>, Vec<usize>) {
    let mut offsets = Vec::with_capacity(data.dc);
    let mut total = 0;
    for &l in &data.levels {
        offsets.push(total);
        total += k * l;
    }
    let counts = labels
        .par_chunks(ROWS_PER_CHUNK)
        .enumerate()
        .fold(
            || vec![0u64; SPLIT * total],
            |mut acc, (c, lab)| {
                let len = lab.len();
                let (_, cat) = data.chunk(c, len);
                for (f, (&off, &lv)) in offsets.iter().zip(&data.levels).enumerate() {
                    let col = cat[f * len..(f + 1) * len].iter().zip(lab);
                    for (r, (&x, &l)) in col.enumerate() {
                        acc[(r % SPLIT) * total + off + l as usize * lv + x as usize] += 1;
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![0u64; SPLIT * total],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    *x += y;
                }
                a
            },
        );
    let counts = (0..total)
        .map(|t| (0..SPLIT).map(|c| counts[c * total + t]).sum())
        .collect();
    (counts, offsets)
}

/// Greedy k-means++ seeding under the mixed cost, as `kmeans::init` seeds k-means: the first
/// prototype is a uniform random row; each next one is the best of 2 + ln k rows drawn with
/// probability proportional to their cost to the nearest chosen prototype, the one that lowers
/// the total cost most. Plain k-means++ (one draw) often put two prototypes in one numeric
/// group and none in a pair of groups that differ only in their categories.
fn init_plus_plus(data: &Blocked, k: usize, gamma: f32, rng: &mut ChaCha8Rng) -> Prototypes {
    let n = data.n;
    let trials = 2 + (k as f64).ln() as usize;
    let mut protos = Prototypes {
        k: 0,
        num: Vec::with_capacity(k * data.dn),
        modes: Vec::with_capacity(k * data.dc),
        gamma,
    };
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    let mut closest = vec![f32::INFINITY; n];
    let mut cumsum = vec![0f64; n];
    let single = |row: usize| {
        let (num, modes) = data.row(row);
        Prototypes {
            k: 1,
            num,
            modes,
            gamma,
        }
    };
    let first = ((rng.random::<f64>() * n as f64) as usize).min(n - 1);
    let mut next = (first, assign_all(data, &single(first)).1);
    loop {
        let (row, cost) = next;
        let (xn, xc) = data.row(row);
        chosen.push(row);
        protos.num.extend_from_slice(&xn);
        protos.modes.extend_from_slice(&xc);
        protos.k += 1;
        closest
            .par_iter_mut()
            .zip(&cost)
            .for_each(|(c, &v)| *c = c.min(v));
        if protos.k == k {
            return protos;
        }
        // Sequential prefix sum: the draw must not depend on the thread count.
        let mut acc = 0f64;
        for (s, &v) in cumsum.iter_mut().zip(&closest) {
            acc += v as f64;
            *s = acc;
        }
        if acc <= 0.0 {
            // Every cost rounded to zero although distinct rows remain (differences below f32
            // resolution): take the first row that equals no chosen prototype.
            let r = first_new_row(data, &chosen).unwrap_or(0);
            next = (r, assign_all(data, &single(r)).1);
            continue;
        }
        let mut best: Option<(f64, usize, Vec<f32>)> = None;
        for _ in 0..trials {
            let r = rng.random::<f64>() * acc;
            let cand = cumsum.partition_point(|&s| s <= r).min(n - 1);
            let cost = assign_all(data, &single(cand)).1;
            // Total cost with the candidate added, per fixed chunk then in chunk order.
            let total: f64 = closest
                .par_chunks(ROWS_PER_CHUNK)
                .zip(cost.par_chunks(ROWS_PER_CHUNK))
                .map(|(a, b)| a.iter().zip(b).map(|(&x, &y)| x.min(y) as f64).sum::<f64>())
                .collect::<Vec<f64>>()
                .iter()
                .sum();
            // Lowest total wins; ties go to the earliest candidate.
            if best.as_ref().is_none_or(|b| total < b.0) {
                best = Some((total, cand, cost));
            }
        }
        next = match best {
            Some((_, cand, cost)) => (cand, cost),
            None => (0, assign_all(data, &single(0)).1),
        };
    }
}

/// First row whose values equal no chosen row's, if any.
fn first_new_row(data: &Blocked, chosen: &[usize]) -> Option<usize> {
    let taken: Vec<(Vec<f32>, Vec<u32>)> = chosen.iter().map(|&i| data.row(i)).collect();
    (0..data.n).find(|&i| {
        let r = data.row(i);
        !taken.contains(&r)
    })
}

/// One run of batch k-prototypes from `init`.
struct Run {
    protos: Prototypes,
    labels: Vec<u32>,
    cost: f64,
    iterations: usize,
    converged: bool,
    history: Vec<f64>,
}

/// Huang's batch iterations: assign every row, stop if no label changed, else move each
/// prototype to its members' means and modes. The labels returned always belong to the
/// prototypes returned.
fn lloyd(data: &Blocked, mut protos: Prototypes, max_iter: usize) -> Run {
    let (n, dn, dc, k) = (data.n, data.dn, data.dc, protos.k);
    let mut labels = vec![u32::MAX; n];
    let mut row_cost = vec![0f32; n];
    let mut history = Vec::new();
    let mut iterations = 0;
    loop {
        let mut step = assign_and_accumulate(data, &protos, &mut labels, &mut row_cost);
        history.push(step.cost);
        if step.changed == 0 || iterations == max_iter {
            return Run {
                protos,
                labels,
                cost: step.cost,
                iterations,
                converged: step.changed == 0,
                history,
            };
        }
        iterations += 1;
        reseed_empty(data, &mut step, &mut labels, &mut row_cost);
        let (levels, offsets) = count_levels(data, &labels, k);
        for j in 0..k {
            let cnt = step.counts[j].max(1) as f64;
            for f in 0..dn {
                protos.num[j * dn + f] = (step.sums[j * dn + f] / cnt) as f32;
            }
            for f in 0..dc {
                let lv = data.levels[f];
                let row = &levels[offsets[f] + j * lv..offsets[f] + (j + 1) * lv];
                // Strictly greater: ties go to the lowest code.
                let mut mode = 0;
                for (code, &c) in row.iter().enumerate() {
                    if c > row[mode] {
                        mode = code;
                    }
                }
                protos.modes[j * dc + f] = mode as u32;
            }
        }
    }
}

/// Gives each empty cluster the row with the largest cost (ties: lowest index) among clusters
/// that keep at least one member, moving that row's numeric sums and count with it.
fn reseed_empty(data: &Blocked, step: &mut Partial, labels: &mut [u32], row_cost: &mut [f32]) {
    let dn = data.dn;
    for j in 0..step.counts.len() {
        if step.counts[j] > 0 {
            continue;
        }
        let mut pick: Option<usize> = None;
        for (i, (&c, &l)) in row_cost.iter().zip(labels.iter()).enumerate() {
            if step.counts[l as usize] > 1 && pick.is_none_or(|p| c > row_cost[p]) {
                pick = Some(i);
            }
        }
        // k ≤ distinct rows ≤ n, so a cluster with two members exists while one is empty.
        let Some(i) = pick else { return };
        let from = labels[i] as usize;
        let (xn, _) = data.row(i);
        for (f, &x) in xn.iter().enumerate() {
            step.sums[from * dn + f] -= x as f64;
            step.sums[j * dn + f] = x as f64;
        }
        step.counts[from] -= 1;
        step.counts[j] = 1;
        labels[i] = j as u32;
        row_cost[i] = 0.0;
    }
}

/// Renumbers prototypes by cluster size descending, ties by lowest member row (empty ones last).
fn canonical_order(protos: Prototypes, labels: &[u32], n: usize) -> Prototypes {
    let k = protos.k;
    let mut size = vec![0usize; k];
    let mut first = vec![n; k];
    for (i, &l) in labels.iter().enumerate() {
        let l = l as usize;
        size[l] += 1;
        first[l] = first[l].min(i);
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by_key(|&j| (std::cmp::Reverse(size[j]), first[j], j));
    let dn = protos.num.len() / k.max(1);
    let dc = protos.modes.len() / k.max(1);
    Prototypes {
        k,
        num: order
            .iter()
            .flat_map(|&j| protos.num[j * dn..(j + 1) * dn].iter().copied())
            .collect(),
        modes: order
            .iter()
            .flat_map(|&j| protos.modes[j * dc..(j + 1) * dc].iter().copied())
            .collect(),
        gamma: protos.gamma,
    }
}

/// Columns k-prototypes treats as categorical: categorical and boolean ones.
pub fn categorical_columns(prep: &Prep) -> usize {
    prep.transforms
        .iter()
        .filter(|t| match t {
            Transform::Numeric(n) => n.kind == Kind::Boolean,
            Transform::Categorical(_) => true,
        })
        .count()
}

/// Numeric features and categorical codes of the one-hot matrix, for k-prototypes: each
/// one-hot block becomes its level code and each boolean its 0/1 code; other features stay
/// numeric.
pub fn split_mixed(x: ArrayView2<'_, f32>, prep: &Prep) -> (Array2<f32>, Array2<u32>) {
    enum Part {
        Num(usize),
        Cat(usize, usize),
    }
    let mut parts = Vec::new();
    let mut at = 0;
    for t in &prep.transforms {
        match t {
            Transform::Numeric(n) if n.kind == Kind::Boolean => parts.push(Part::Cat(at, 1)),
            Transform::Numeric(_) => parts.push(Part::Num(at)),
            Transform::Categorical(c) => parts.push(Part::Cat(at, c.width())),
        }
        at += t.width();
    }
    let dn = parts.iter().filter(|p| matches!(p, Part::Num(_))).count();
    let dc = parts.len() - dn;
    let n = x.nrows();
    let mut xn = Array2::<f32>::zeros((n, dn));
    let mut xc = Array2::<u32>::zeros((n, dc));
    for ((row, mut rn), mut rc) in x.rows().into_iter().zip(xn.rows_mut()).zip(xc.rows_mut()) {
        let (mut jn, mut jc) = (0, 0);
        for p in &parts {
            match *p {
                Part::Num(j) => {
                    rn[jn] = row[j];
                    jn += 1;
                }
                Part::Cat(j, 1) => {
                    rc[jc] = u32::from(row[j] > 0.5);
                    jc += 1;
                }
                Part::Cat(j, w) => {
                    // A level unseen in training and without an `other` feature has no 1 in
                    // its block: code `w` then mismatches every prototype's mode.
                    rc[jc] = (0..w).find(|&l| row[j + l] > 0.5).unwrap_or(w) as u32;
                    jc += 1;
                }
            }
        }
    }
    (xn, xc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    #[test]
    fn kernel_cost_is_distance_plus_gamma_mismatches() {
        // Row (1, 2 | 0, 1) to prototype (0, 0 | 0, 0): 1 + 4 + 0.5·1 = 5.5;
        // to prototype (1, 1 | 1, 1): 0 + 1 + 0.5·1 = 1.5.
        let xn = array![[1.0f32, 2.0]];
        let xc = array![[0u32, 1]];
        let model = KPrototypesModel {
            numeric: vec![vec![0.0, 0.0], vec![1.0, 1.0]],
            modes: vec![vec![0, 0], vec![1, 1]],
            gamma: 0.5,
        };
        let (l, c) = model.predict(xn.view(), xc.view()).expect("valid input");
        assert_eq!(l, vec![1]);
        assert_eq!(c, vec![1.5]);
    }

    #[test]
    fn vector_kernel_matches_a_row_at_a_time_reference() {
        // Random data over two chunks (the second one partial): the chunked kernel (AVX-512
        // where available) must give exactly what the plain definition gives.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = ROWS_PER_CHUNK + 917;
        let xn = Array2::from_shape_fn((n, 4), |_| rng.random::<f32>() * 4.0 - 2.0);
        let xc = Array2::from_shape_fn((n, 3), |_| (rng.random::<f64>() * 4.0) as u32);
        let model = KPrototypesModel {
            numeric: (0..5)
                .map(|_| (0..4).map(|_| rng.random::<f32>() * 4.0 - 2.0).collect())
                .collect(),
            modes: (0..5).map(|j| vec![j % 4, (j + 1) % 4, 0]).collect(),
            gamma: 0.7,
        };
        let (labels, costs) = model.predict(xn.view(), xc.view()).expect("valid input");
        let g = model.gamma as f32;
        for i in 0..n {
            let (mut best, mut label) = (f32::INFINITY, 0u32);
            for (j, (mu, mode)) in model.numeric.iter().zip(&model.modes).enumerate() {
                let mut d = 0f32;
                for f in 0..4 {
                    let t = xn[[i, f]] - mu[f];
                    d += t * t;
                }
                let q = (0..3).filter(|&f| xc[[i, f]] != mode[f]).count() as f32;
                let v = d + g * q;
                if v < best {
                    (best, label) = (v, j as u32);
                }
            }
            assert_eq!((labels[i], costs[i]), (label, best as f64), "row {i}");
        }
    }

    #[test]
    fn ties_go_to_the_lowest_prototype() {
        let model = KPrototypesModel {
            numeric: vec![vec![-1.0], vec![1.0]],
            modes: vec![vec![0], vec![0]],
            gamma: 1.0,
        };
        let (l, c) = model
            .predict(array![[0.0f32]].view(), array![[0u32]].view())
            .expect("valid input");
        assert_eq!((l, c), (vec![0], vec![1.0]));
    }

    #[test]
    fn blocked_layout_round_trips_rows_across_chunks() {
        let n = ROWS_PER_CHUNK + 10;
        let xn = Array2::from_shape_fn((n, 3), |(i, f)| (i * 3 + f) as f32);
        let xc = Array2::from_shape_fn((n, 2), |(i, f)| ((i + f) % 5) as u32);
        let mut b = Blocked::new(xn.view(), xc.view());
        b.find_levels();
        for i in [0, 1, ROWS_PER_CHUNK - 1, ROWS_PER_CHUNK, n - 1] {
            let (rn, rc) = b.row(i);
            assert_eq!(rn, xn.row(i).to_vec());
            assert_eq!(rc, xc.row(i).to_vec());
        }
        assert_eq!(b.levels, vec![5, 5]);
    }

    #[test]
    fn distinct_count_stops_at_the_limit() {
        let xn = array![[0.0f32], [-0.0], [1.0], [1.0]];
        let xc = array![[0u32], [0], [0], [1]];
        assert_eq!(count_distinct_up_to(xn.view(), xc.view(), 10), 3);
        assert_eq!(count_distinct_up_to(xn.view(), xc.view(), 2), 2);
    }

    #[test]
    fn modes_break_ties_by_lowest_code_and_empty_clusters_are_reseeded() {
        // Four identical prototypes at the start leave three clusters empty after the first
        // pass; each must get a row, and the fit must still end with k non-empty clusters.
        let xn = array![[0.0f32], [0.0], [10.0], [10.0], [20.0], [30.0]];
        let xc = array![[2u32], [1], [1], [2], [0], [0]];
        let mut data = Blocked::new(xn.view(), xc.view());
        data.find_levels();
        let init = Prototypes {
            k: 4,
            num: vec![0.0; 4],
            modes: vec![1; 4],
            gamma: 1.0,
        };
        let run = lloyd(&data, init, 50);
        let mut sizes = [0; 4];
        for &l in &run.labels {
            sizes[l as usize] += 1;
        }
        assert!(sizes.iter().all(|&s| s > 0), "{sizes:?}");
        assert!(run.converged);
    }
}
