//! `segmenter bench`: the same Lloyd iterations (same data, same k-means++ init, no
//! convergence test) on each backend, timed, with the labels compared against the CPU's.

#[cfg(feature = "gpu")]
use crate::backend::gpu;
use crate::backend::{dispatch, Assign, Backend, BackendChoice, Problem, WithBackend};
use crate::error::{Error, ParamError, Result};
use crate::io::Table;
use crate::kmeans::init::{initial_centroids, rng_from_seed};
use crate::kmeans::Init;
use crate::pipeline::numeric::NumericTable;
use crate::synth::{blobs_matrix, BlobsSpec};
use ndarray::{Array2, ArrayView2};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// A validated `bench` invocation.
#[derive(Clone, Debug)]
pub struct BenchCommand {
    /// Rows of generated blobs (unused with `input`).
    pub rows: u64,
    /// Features of generated blobs (unused with `input`).
    pub dims: usize,
    /// Clusters (and blob centres).
    pub k: usize,
    /// Timed Lloyd iterations.
    pub iters: usize,
    /// Numeric CSV to use instead of generated blobs.
    pub input: Option<PathBuf>,
    /// Backends to time; `None`: the CPU, plus the GPU when wgpu finds an adapter.
    pub backends: Option<Vec<BackendChoice>>,
    /// Seed of the data and of the shared init.
    pub seed: u64,
    /// Peak memory bandwidth of the GPU in GB/s for the floor ratio; `None`: a short probe of
    /// the device (a buffer-to-buffer copy) measures it.
    pub peak_gbs: Option<f64>,
}

/// One backend's result; `bench --json` prints a list of these.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    /// "cpu" or "gpu".
    pub backend: String,
    /// Adapter or CPU name.
    pub adapter: String,
    /// "cpu", "discrete", "integrated", "virtual" or "software" (a CPU rasterizer: not a GPU).
    pub device_type: String,
    /// The kernel variant that ran (e.g. "lloyd (avx512f)", "broadcast, int64 accumulator,
    /// workgroup cells, 1 pass in 1 submission").
    pub kernel: String,
    /// Seconds to copy the data to where the kernels read it.
    pub upload_seconds: f64,
    /// Milliseconds per Lloyd iteration (assign + accumulate + read-back + centroid update).
    pub ms_per_iter: f64,
    /// Inertia of the last iteration's assignment, as the kernel computed it.
    pub inertia: f64,
    /// Fraction of points whose final label equals the CPU's.
    pub agreement: f64,
    /// Bytes one iteration must move at least: n·(4·d + 8) (coordinates read, label read and
    /// written).
    pub bytes_per_iter: f64,
    /// Achieved bandwidth, `bytes_per_iter` / time per iteration, in GB/s.
    pub gbs: f64,
    /// Peak bandwidth the floor is taken from, in GB/s (GPU rows only).
    pub peak_gbs: Option<f64>,
    /// Where `peak_gbs` came from: "given" or "probe" (GPU rows only).
    pub peak_source: Option<String>,
    /// The memory floor: `bytes_per_iter` at `peak_gbs`, in ms (GPU rows only).
    pub floor_ms: Option<f64>,
    /// `ms_per_iter` / `floor_ms`: how far above the memory floor the iteration runs.
    pub x_floor: Option<f64>,
}

/// Everything `bench` measured; `--json` prints `rows`.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Points.
    pub n: usize,
    /// Features.
    pub d: usize,
    /// Clusters.
    pub k: usize,
    /// Timed iterations per backend.
    pub iters: usize,
    /// One row per backend, in the order asked.
    pub rows: Vec<BenchRow>,
}

/// What one backend produced.
struct Timed {
    row: BenchRow,
    labels: Vec<u32>,
}

/// The timed loop, written once for every backend.
struct TimedLloyd<'a> {
    x: ArrayView2<'a, f32>,
    init: &'a [f32],
    k: usize,
    iters: usize,
}

impl WithBackend for TimedLloyd<'_> {
    type Output = Timed;

    fn run<B: Backend>(self, b: &B) -> Result<Timed> {
        let d = self.x.ncols();
        let t = Instant::now();
        let points = b.upload(self.x)?;
        let upload_seconds = t.elapsed().as_secs_f64();
        let mut run = b.start(&points, self.k, Assign::Lloyd)?;
        let mut centroids = self.init.to_vec();
        let mut inertia = f64::NAN;
        let t = Instant::now();
        for _ in 0..self.iters {
            let step = b.step(&points, &mut run, &centroids)?;
            inertia = step.inertia.unwrap_or(f64::NAN);
            // Plain means; an empty cluster keeps its centroid (the same on every backend).
            for c in 0..self.k {
                if step.counts[c] > 0 {
                    let n = step.counts[c] as f64;
                    for j in 0..d {
                        centroids[c * d + j] = (step.sums[c * d + j] / n) as f32;
                    }
                }
            }
        }
        let ms_per_iter = 1e3 * t.elapsed().as_secs_f64() / self.iters as f64;
        let labels = b.labels(&points, &run)?;
        let info = b.info();
        Ok(Timed {
            row: BenchRow {
                backend: info.backend,
                adapter: info.adapter,
                device_type: info.device_type,
                kernel: b.kernel(&run),
                upload_seconds,
                ms_per_iter,
                inertia,
                agreement: f64::NAN,
                bytes_per_iter: 0.0,
                gbs: 0.0,
                peak_gbs: None,
                peak_source: None,
                floor_ms: None,
                x_floor: None,
            },
            labels,
        })
    }
}

fn load(cmd: &BenchCommand) -> Result<Array2<f32>> {
    match &cmd.input {
        Some(path) => {
            Ok(NumericTable::from_table(&Table::open(path, &Default::default())?)?.values)
        }
        None => Ok(blobs_matrix(&BlobsSpec {
            rows: cmd.rows,
            dims: cmd.dims,
            centers: cmd.k.max(1),
            std: 1.0,
            seed: cmd.seed,
        })?
        .0),
    }
}

/// Runs the benchmark: one row per requested backend, in the order asked.
pub fn run_bench(cmd: &BenchCommand) -> Result<BenchReport> {
    if cmd.k == 0 || cmd.iters == 0 {
        return Err(ParamError::BenchZero.into());
    }
    if let Some(p) = cmd.peak_gbs {
        if !(p.is_finite() && p > 0.0) {
            return Err(Error::Data(format!(
                "the peak bandwidth must be a positive number of GB/s, not {p}"
            )));
        }
    }
    let x = load(cmd)?;
    let (n, d) = x.dim();
    if n < cmd.k {
        return Err(Error::Data(format!(
            "bench needs at least k = {} rows, the data has {n}",
            cmd.k
        )));
    }
    let xs = x
        .as_slice()
        .ok_or_else(|| Error::Data("points must be in standard (row-major) layout".into()))?;
    let init = initial_centroids(
        xs,
        d,
        cmd.k,
        Init::KMeansPlusPlus,
        &mut rng_from_seed(cmd.seed),
    );
    let backends = match &cmd.backends {
        Some(b) => b.clone(),
        #[cfg(feature = "gpu")]
        None if gpu::context().is_ok() => vec![BackendChoice::Cpu, BackendChoice::Gpu],
        None => vec![BackendChoice::Cpu],
    };
    let problem = Problem { n, d, k: cmd.k };
    let job = || TimedLloyd {
        x: x.view(),
        init: &init,
        k: cmd.k,
        iters: cmd.iters,
    };
    // The CPU is the reference for agreement, whether or not its row is asked for.
    let reference = dispatch(BackendChoice::Cpu, problem, job())?;
    let mut rows = Vec::with_capacity(backends.len());
    for choice in backends {
        let timed = if choice == BackendChoice::Cpu {
            Timed {
                row: reference.row.clone(),
                labels: reference.labels.clone(),
            }
        } else {
            dispatch(choice, problem, job())?
        };
        let same = timed
            .labels
            .iter()
            .zip(&reference.labels)
            .filter(|(a, b)| a == b)
            .count();
        let mut row = timed.row;
        row.agreement = same as f64 / n as f64;
        row.bytes_per_iter = n as f64 * (4 * d + 8) as f64;
        row.gbs = row.bytes_per_iter / (row.ms_per_iter * 1e6);
        if row.backend == "gpu" {
            let (peak, source) = match cmd.peak_gbs {
                Some(p) => (p, "given"),
                None => (peak_probe()?, "probe"),
            };
            let floor_ms = row.bytes_per_iter / (peak * 1e6);
            row.peak_gbs = Some(peak);
            row.peak_source = Some(source.into());
            row.floor_ms = Some(floor_ms);
            row.x_floor = Some(row.ms_per_iter / floor_ms);
        }
        rows.push(row);
    }
    Ok(BenchReport {
        n,
        d,
        k: cmd.k,
        iters: cmd.iters,
        rows,
    })
}

/// The GPU's copy bandwidth in GB/s, from a short device probe.
#[cfg(feature = "gpu")]
fn peak_probe() -> Result<f64> {
    crate::backend::GpuBackend::new()?.bandwidth_probe()
}

#[cfg(not(feature = "gpu"))]
fn peak_probe() -> Result<f64> {
    Err(Error::Unsupported("built without the 'gpu' feature".into()))
}

/// CPU seconds (user + system) of this process so far, from /proc (0 where unavailable): on a
/// shared machine it measures the work done even when other jobs take the wall clock.
pub fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}
