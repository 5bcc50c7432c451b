//! The kernel interface that the k-means driver runs on, with a CPU and a GPU implementation.
//!
//! A backend only computes; the driver in `kmeans::driver` owns the loop, convergence, empty
//! clusters and statistics. Data is uploaded once (`upload`) and reused by every fit: all
//! iterations, every n-init run and every k of an elbow sweep.

pub mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;
#[cfg(feature = "gpu")]
pub mod info;

use crate::error::Result;
use ndarray::ArrayView2;

pub use cpu::CpuBackend;
#[cfg(feature = "gpu")]
pub use gpu::{GpuBackend, GpuConfig};

/// How the assignment step finds the nearest centroid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Assign {
    /// Every point against every centroid, every iteration.
    Lloyd,
    /// Hamerly's bounds skip points whose nearest centroid cannot have changed (exact).
    Hamerly,
    /// Every distance, by a register-blocked kernel (‖c‖² − 2x·c over blocks of points and
    /// centroids) whose near-ties are settled by the direct formula: Lloyd's results, faster at
    /// large k.
    Blocked,
}

impl Assign {
    /// Name used in JSON output and reports.
    pub fn name(self) -> &'static str {
        match self {
            Assign::Lloyd => "lloyd",
            Assign::Hamerly => "hamerly",
            Assign::Blocked => "blocked",
        }
    }
}

/// What one assign + accumulate pass returns: about K×D numbers, whatever N is.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Per-cluster coordinate sums, row-major k×d, accumulated in f64.
    pub sums: Vec<f64>,
    /// Points assigned to each cluster.
    pub counts: Vec<u64>,
    /// Sum of squared distances to the centroids used for the assignment, when the kernel
    /// computed every distance (Lloyd, blocked); bound-based kernels skip distances and return `None`.
    pub inertia: Option<f64>,
    /// Points whose label differs from the previous step (all points on the first step).
    pub changed: u64,
}

/// A description of the device a backend runs on, for summaries and `segmenter info`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DeviceInfo {
    /// Backend name: "cpu" or "gpu".
    pub backend: String,
    /// Adapter or CPU name.
    pub adapter: String,
    /// Device type: "cpu", "discrete", "integrated", "virtual", "software".
    pub device_type: String,
}

/// Kernels a k-means backend supplies. The driver is written once against this trait.
pub trait Backend {
    /// Points resident where the kernels run (uploaded once per data set).
    type Points;
    /// Per-fit state kept between iterations (labels, bounds, centroid buffers).
    type Run;

    /// Describes the device, for reports.
    fn info(&self) -> DeviceInfo;

    /// The assignment kernel this backend really runs when `requested` is asked for (a backend
    /// without Hamerly's bounds answers Lloyd), so that reports name the kernel that ran.
    fn assign_kernel(&self, requested: Assign) -> Assign {
        requested
    }

    /// The kernel variant `run` executes, in words (`bench`'s `kernel`): on the CPU the
    /// assignment and the vector instruction set, on the GPU the shader, its accumulator and
    /// argmin forms and how its work is split.
    fn kernel(&self, run: &Self::Run) -> String;

    /// Copies an n×d matrix to where the kernels read it.
    fn upload(&self, x: ArrayView2<'_, f32>) -> Result<Self::Points>;

    /// Prepares state for one fit with `k` clusters.
    fn start(&self, points: &Self::Points, k: usize, assign: Assign) -> Result<Self::Run>;

    /// Assigns every point to its nearest centroid (ties to the lowest index), stores the labels
    /// in `run`, and returns per-cluster sums and counts. `centroids` is row-major k×d.
    fn step(&self, points: &Self::Points, run: &mut Self::Run, centroids: &[f32]) -> Result<Step>;

    /// The labels of the last `step`, one per point.
    fn labels(&self, points: &Self::Points, run: &Self::Run) -> Result<Vec<u32>>;
}

/// Which backend a command asked for (`--backend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// The GPU when a hardware adapter exists and the problem is large enough, else the CPU.
    Auto,
    /// The CPU backend.
    Cpu,
    /// The wgpu backend; an error when no adapter exists.
    Gpu,
}

/// The size of the clustering work, which `auto` uses to decide whether a GPU would gain.
#[derive(Clone, Copy, Debug)]
pub struct Problem {
    /// Points.
    pub n: usize,
    /// Features.
    pub d: usize,
    /// Largest k that will be fitted.
    pub k: usize,
}

/// A job generic over the backend: `dispatch` picks the backend and calls `run` with it, so
/// callers write their code once for every backend without trait objects.
pub trait WithBackend {
    /// What the job returns.
    type Output;
    /// Runs the job on `backend`.
    fn run<B: Backend>(self, backend: &B) -> Result<Self::Output>;
}

/// Runs `job` on the backend that `choice` selects for `problem`: `Gpu` fails with
/// `Error::NoAdapter` when wgpu finds no adapter, `Auto` takes the GPU only where
/// `gpu::auto_choice` says it gains.
pub fn dispatch<W: WithBackend>(
    choice: BackendChoice,
    problem: Problem,
    job: W,
) -> Result<W::Output> {
    match choice {
        BackendChoice::Cpu => job.run(&CpuBackend),
        #[cfg(feature = "gpu")]
        BackendChoice::Gpu => {
            if let Some(why) = gpu::unsupported_dims(problem.d) {
                return Err(crate::Error::Unsupported(why));
            }
            job.run(&GpuBackend::new()?)
        }
        #[cfg(not(feature = "gpu"))]
        BackendChoice::Gpu => Err(crate::Error::Unsupported(format!(
            "this segmenter was built without the 'gpu' feature; use {}",
            crate::error::Param::Backend.set("cpu")
        ))),
        #[cfg(feature = "gpu")]
        BackendChoice::Auto => {
            if gpu::auto_choice(problem).backend == "gpu" {
                job.run(&GpuBackend::new()?)
            } else {
                job.run(&CpuBackend)
            }
        }
        #[cfg(not(feature = "gpu"))]
        BackendChoice::Auto => {
            let _ = problem;
            job.run(&CpuBackend)
        }
    }
}
