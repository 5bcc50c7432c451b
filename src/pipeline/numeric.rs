//! A numeric table for plain k-means (`segmenter kmeans`): every column a feature, every
//! field a finite number, the first bad field named by row and column.

use crate::backend::{dispatch, Backend, BackendChoice, Problem, WithBackend};
use crate::error::{Error, ParamError, Result};
use crate::io::{write_labels, Table};
use crate::kmeans::{fit_uploaded, Fit, KMeansParams, Start, Uploaded};
use ndarray::Array2;
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// A numeric table: column names and an n×d row-major matrix.
#[derive(Clone, Debug)]
pub struct NumericTable {
    /// Header names, one per column.
    pub columns: Vec<String>,
    /// The values, one row per data row.
    pub values: Array2<f32>,
}

/// Rows parsed per parallel task.
const ROWS_PER_TASK: usize = 4096;

impl NumericTable {
    /// Every field of `table` as an f32; fails on the first row (in file order) with the wrong
    /// number of fields or a field that is missing, not a number or not finite.
    pub fn from_table(table: &Table) -> Result<NumericTable> {
        let (n, d) = (table.n_rows(), table.n_cols());
        let first_ragged = table.ragged.first();
        let parts: Vec<Result<Vec<f32>>> = (0..n.div_ceil(ROWS_PER_TASK))
            .into_par_iter()
            .map(|t| {
                let rows = t * ROWS_PER_TASK..((t + 1) * ROWS_PER_TASK).min(n);
                let mut out = Vec::with_capacity(rows.len() * d);
                for i in rows {
                    let row = table.row_number(i);
                    if let Some(r) = first_ragged.filter(|r| r.row < row) {
                        return Err(ragged(table, r));
                    }
                    for j in 0..d {
                        out.push(parse_field(table, row, j, table.field(i, j))?);
                    }
                }
                Ok(out)
            })
            .collect();
        let mut values = Vec::with_capacity(n * d);
        for p in parts {
            values.extend(p?);
        }
        if let Some(r) = first_ragged {
            return Err(ragged(table, r));
        }
        let values =
            Array2::from_shape_vec((n, d), values).map_err(|e| Error::Data(e.to_string()))?;
        Ok(NumericTable {
            columns: table.columns.clone(),
            values,
        })
    }
}

fn ragged(table: &Table, r: &crate::io::table::RaggedRow) -> Error {
    Error::Ragged {
        path: table.path.clone(),
        row: r.row,
        line: r.line,
        expected: table.n_cols(),
        found: r.fields.len(),
    }
}

fn parse_field(table: &Table, row: u64, j: usize, f: &[u8]) -> Result<f32> {
    // The table is valid UTF-8 (checked when it was read).
    let t = String::from_utf8_lossy(f);
    let t = t.trim();
    let column = || table.columns[j].clone();
    if t.is_empty() {
        return Err(Error::Missing {
            path: table.path.clone(),
            row,
            column: column(),
        });
    }
    match t.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(Error::NotFinite {
            path: table.path.clone(),
            row,
            column: column(),
            value: t.into(),
        }),
        Err(_) => Err(Error::NotNumeric {
            path: table.path.clone(),
            row,
            column: column(),
            value: t.chars().take(40).collect(),
        }),
    }
}

/// k-means on a numeric table file, as `segmenter kmeans` runs it.
#[derive(Clone, Debug)]
pub struct KMeansJob {
    /// Numeric CSV with a header.
    pub input: PathBuf,
    /// k-means parameters (checked before reading).
    pub params: KMeansParams,
    /// Worker threads; `None` uses every core.
    pub threads: Option<usize>,
    /// Where to write `row,cluster`.
    pub labels: Option<PathBuf>,
    /// Where the kernels run.
    pub backend: BackendChoice,
}

/// What a numeric k-means fit did (`segmenter kmeans --json` prints it).
#[derive(Clone, Debug, Serialize)]
pub struct KMeansSummary {
    /// Clusters.
    pub k: usize,
    /// Rows.
    pub n: usize,
    /// Features.
    pub d: usize,
    /// Iterations of the kept run.
    pub iterations: usize,
    /// Whether it converged before max-iter.
    pub converged: bool,
    /// Sum of squared distances to the final centroids, in f64.
    pub inertia: f64,
    /// Seconds from the data in memory to the final labels (upload, init, iterations).
    pub fit_seconds: f64,
    /// Milliseconds per iteration, over all n-init runs.
    pub ms_per_iter: f64,
    /// Backend that ran the kernels.
    pub backend: String,
    /// Adapter or CPU that ran them.
    pub adapter: String,
    /// Device type of that adapter: "cpu", "discrete", "integrated", "virtual", "software".
    pub device_type: String,
    /// Assignment kernel.
    pub algorithm: String,
    /// Initialisation method.
    pub init: String,
    /// Independent runs.
    pub n_init: usize,
    /// Seed.
    pub seed: u64,
    /// Worker threads.
    pub threads: usize,
    /// Seconds spent reading and parsing the file.
    pub read_seconds: f64,
    /// Final centroids, k rows of d values.
    pub centroids: Vec<Vec<f32>>,
    /// Points per cluster.
    pub sizes: Vec<u64>,
}

/// Builds the thread pool a command runs in.
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        if t == 0 {
            return Err(ParamError::ThreadsZero.into());
        }
        b = b.num_threads(t);
    }
    b.build()
        .map_err(|e| Error::Data(format!("cannot start worker threads: {e}")))
}

/// Summarises a fit for printing.
pub fn summarize<B: Backend>(
    backend: &B,
    fit: &Fit,
    fit_seconds: f64,
    read_seconds: f64,
) -> KMeansSummary {
    let (k, d) = fit.model.centroids.dim();
    let mut sizes = vec![0u64; k];
    for &l in &fit.labels {
        sizes[l as usize] += 1;
    }
    let info = backend.info();
    KMeansSummary {
        k,
        n: fit.labels.len(),
        d,
        iterations: fit.iterations,
        converged: fit.converged,
        inertia: fit.inertia,
        fit_seconds,
        ms_per_iter: 1e3 * fit.iter_seconds / fit.total_iterations.max(1) as f64,
        backend: info.backend,
        adapter: info.adapter,
        device_type: info.device_type,
        algorithm: fit.assign.name().into(),
        init: fit.model.params.init.name().into(),
        n_init: fit.model.params.n_init,
        seed: fit.model.params.seed,
        threads: rayon::current_num_threads(),
        read_seconds,
        centroids: fit
            .model
            .centroids
            .rows()
            .into_iter()
            .map(|r| r.to_vec())
            .collect(),
        sizes,
    }
}

/// Reads the file, fits, writes `row,cluster` labels if asked, and returns the summary.
pub fn run_kmeans(cmd: &KMeansJob) -> Result<KMeansSummary> {
    cmd.params.check()?;
    let pool = thread_pool(cmd.threads)?;
    pool.install(|| {
        let t0 = Instant::now();
        let table = NumericTable::from_table(&Table::open(&cmd.input, &Default::default())?)?;
        let read_seconds = t0.elapsed().as_secs_f64();
        let (n, d) = table.values.dim();
        let problem = Problem {
            n,
            d,
            k: cmd.params.k,
        };
        let job = FitJob {
            cmd,
            table: &table,
            read_seconds,
        };
        dispatch(cmd.backend, problem, job)
    })
}

/// The part of `kmeans` that runs on whichever backend `dispatch` picks.
struct FitJob<'a> {
    cmd: &'a KMeansJob,
    table: &'a NumericTable,
    read_seconds: f64,
}

impl WithBackend for FitJob<'_> {
    type Output = KMeansSummary;

    fn run<B: Backend>(self, backend: &B) -> Result<KMeansSummary> {
        let t1 = Instant::now();
        let data = Uploaded::new(backend, self.table.values.view())?;
        let fit = fit_uploaded(&data, &self.cmd.params, Start::Init)?;
        let fit_seconds = t1.elapsed().as_secs_f64();
        if let Some(path) = &self.cmd.labels {
            write_labels(path, &fit.labels)?;
        }
        Ok(summarize(backend, &fit, fit_seconds, self.read_seconds))
    }
}

/// A k-means fit of an in-memory matrix and the device that ran it.
#[derive(Clone, Debug)]
pub struct MatrixFit {
    /// The fit: centroids, labels (matching the final centroids), inertia, iterations.
    pub fit: Fit,
    /// The backend and adapter that ran the kernels.
    pub device: crate::backend::DeviceInfo,
}

/// k-means on the rows of `x` (row-major, every value finite) on the backend `backend`
/// selects, from `params.init` or from the given k×d row-major `start` centroids: what a
/// binding's estimator calls (scikit-learn's `KMeans.fit`). The kept run's labels match its
/// final centroids.
pub fn fit_matrix(
    x: ndarray::ArrayView2<'_, f32>,
    params: &KMeansParams,
    start: Option<&[f32]>,
    backend: BackendChoice,
) -> Result<MatrixFit> {
    params.check()?;
    let (n, d) = x.dim();
    let problem = Problem { n, d, k: params.k };
    dispatch(backend, problem, MatrixJob { x, params, start })
}

struct MatrixJob<'a> {
    x: ndarray::ArrayView2<'a, f32>,
    params: &'a KMeansParams,
    start: Option<&'a [f32]>,
}

impl WithBackend for MatrixJob<'_> {
    type Output = MatrixFit;

    fn run<B: Backend>(self, backend: &B) -> Result<MatrixFit> {
        let x = self.x.as_standard_layout();
        let data = Uploaded::new(backend, x.view())?;
        let start = self.start.map_or(Start::Init, Start::Centroids);
        let fit = fit_uploaded(&data, self.params, start)?;
        Ok(MatrixFit {
            fit,
            device: backend.info(),
        })
    }
}
