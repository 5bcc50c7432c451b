//! `segmenter kmeans FILE`: k-means on a numeric CSV, every column a feature.

use crate::backend::{dispatch, Backend, BackendChoice, Problem, WithBackend};
use crate::data::read_numeric_csv;
use crate::data::NumericTable;
use crate::error::{Error, Result};
use crate::io::write_labels;
use crate::kmeans::{fit_uploaded, Fit, KMeansParams, Start, Uploaded};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// A validated `kmeans` invocation.
#[derive(Clone, Debug)]
pub struct KMeansCommand {
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

/// What `kmeans --json` prints.
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
            return Err(Error::Data("--threads must be at least 1".into()));
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

/// Reads the file, fits, writes labels if asked, and returns the summary.
pub fn run_kmeans(cmd: &KMeansCommand) -> Result<KMeansSummary> {
    cmd.params.check()?;
    let pool = thread_pool(cmd.threads)?;
    pool.install(|| {
        let t0 = Instant::now();
        let table = read_numeric_csv(&cmd.input)?;
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
    cmd: &'a KMeansCommand,
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

impl KMeansSummary {
    /// A short human-readable summary.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "k-means: k={} on {} rows × {} features, {} backend ({}), {} kernel\n\
             {} iterations ({}), inertia {:.6e}, fit {:.3} s, {:.3} ms/iter\n",
            self.k,
            self.n,
            self.d,
            self.backend,
            self.adapter,
            self.algorithm,
            self.iterations,
            if self.converged {
                "converged"
            } else {
                "max-iter reached"
            },
            self.inertia,
            self.fit_seconds,
            self.ms_per_iter
        );
        for (c, (row, size)) in self.centroids.iter().zip(&self.sizes).enumerate() {
            let vals: Vec<String> = row.iter().take(8).map(|v| format!("{v:.4}")).collect();
            let more = if row.len() > 8 { ", …" } else { "" };
            s += &format!(
                "  cluster {c}: {size} points, centroid [{}{more}]\n",
                vals.join(", ")
            );
        }
        s
    }
}
