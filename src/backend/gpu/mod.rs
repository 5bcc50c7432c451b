//! The wgpu backend: Lloyd steps as WGSL compute shaders (`shaders/*.wgsl`).
//!
//! Per step, one command buffer zeroes k·d + k + 2 64-bit fixed-point cells, runs for every
//! pass (a range of one binding-sized chunk of points) the fused assign + accumulate kernel,
//! and copies the cells back: deterministic integer sums, one kernel, no partials. Points stay on the GPU across iterations, n-init runs and every k; labels
//! are read back only when `labels()` is called. Hamerly's bounds are not implemented on the
//! GPU: `assign_kernel` reports Lloyd, and the driver records that.
//!
//! The assign kernel comes in two shapes with the same cells and bits: broadcast (one point
//! per invocation, `kmeans_assign.wgsl`) and register-tiled for large k·d
//! (`kmeans_assign_tiled.wgsl`, argmin merged by subgroup shuffles or workgroup memory).

mod buffers;
mod context;
mod pipelines;
mod stream;

pub use buffers::{GpuPoints, GpuRun};
pub use context::{context, list_adapters, AdapterSummary, GpuContext, KeyLimits};
pub use pipelines::{assign_source, tiled_source, Accumulator, Argmin, KernelKind, MAX_DIMS};
pub use stream::{ReadRows, StreamRun, STREAM_BLOCK_POINTS};

use super::{Assign, Backend, DeviceInfo, Problem, Step};
use crate::error::{Error, Result};
use ndarray::ArrayView2;
use std::sync::Arc;
use std::time::Duration;

/// Environment variable that caps the points per uploaded chunk (forces chunking in tests).
pub const CHUNK_ENV: &str = "SEGMENTER_GPU_CHUNK_POINTS";

/// Environment variable that forces the accumulator variant: `int64` (needs 64-bit atomics)
/// or `carry` (2 × u32 words, any adapter); default: int64 where the adapter has it.
pub const ACCUMULATOR_ENV: &str = "SEGMENTER_GPU_ACCUMULATOR";

/// Environment variable that forces the assignment kernel: `broadcast` or `tiled`; default:
/// tiled on hardware adapters when k·d ≥ `TILED_MIN_KD` (and k ≥ 16), else broadcast.
pub const KERNEL_ENV: &str = "SEGMENTER_GPU_KERNEL";

/// Environment variable that forces the tiled kernel's argmin form: `subgroup` (needs
/// subgroups of ≥ 4 invocations) or `workgroup`; default: subgroup where the adapter has it.
pub const ARGMIN_ENV: &str = "SEGMENTER_GPU_ARGMIN";

/// k·d from which `auto` runs the register-tiled kernel on a hardware adapter (e.g. k = 32 at
/// d = 64, k = 128 at d = 16): there the broadcast kernel's per-point loop (k·d/4 vec4 loads
/// of centroid rows, one FMA each) is load-bound, while a tile reuses each staged value 4
/// times from registers. Below it, or with k < 16 (a 16-centroid tile mostly padding), the
/// broadcast kernel stays. On software adapters (lavapipe) auto keeps the broadcast kernel:
/// the tiled one runs 2 barriers per feature slice and centroid tile, and barriers are
/// expensive there. Not yet measured on a GPU: the threshold is the model's (README).
pub const TILED_MIN_KD: usize = 2048;

/// Environment variable that sets the assignment kernel's workgroup size (a power of two
/// ≤ 256, default 64; a tile stays 1,024 points), so tests can run other shapes.
pub const ASSIGN_WIDTH_ENV: &str = "SEGMENTER_GPU_ASSIGN_WIDTH";

/// Work per iteration (n·k·d multiply-adds) below which `auto` keeps the CPU. At 2^26 (e.g.
/// 1M × 8 × 8) the vectorised CPU path takes about 5 ms per Lloyd iteration here, so a fit of
/// tens of iterations only just outweighs the GPU's one-off costs (device start and pipeline
/// compilation, 0.1–0.5 s, plus the upload) and its per-step launch and read-back.
pub const AUTO_MIN_WORK: u64 = 1 << 26;

/// Multiply-adds (points × k × d) per submission by default: 2^34, about 17 ms at a sustained
/// 1 TFLOP/s (a small integrated GPU), so even slow devices stay far below a display
/// watchdog's ~2 s; 10M × 16 × 16 (2.6e9) is one submission.
pub const SUBMISSION_WORK: u64 = 1 << 34;

/// wgpu's cap on one storage binding, whatever the driver reports.
const WGPU_BINDING_CAP: u64 = (1 << 31) - 1;

/// Tunables of the GPU backend; the defaults follow the adapter's limits.
#[derive(Clone, Debug)]
pub struct GpuConfig {
    /// Points per uploaded chunk; `None`: as many as one storage binding holds.
    pub chunk_points: Option<usize>,
    /// Workgroups per dispatch row before going 2-D; `None`: the adapter's limit.
    pub max_groups_x: Option<u32>,
    /// Workgroups per pass (one dispatch); `None`: as many as one dispatch holds.
    pub max_pass_groups: Option<u64>,
    /// Accumulator variant; `None`: int64 where the adapter has 64-bit atomics, else carry.
    pub accumulator: Option<Accumulator>,
    /// Largest storage binding to plan chunks for, below the device's own limit (and wgpu's
    /// 2 GiB cap); `None`: the device's. Lets tests chunk small data as real limits chunk big.
    pub max_binding_bytes: Option<u64>,
    /// Most multiply-adds (points × k × d) one GPU submission may run, so that none runs long
    /// enough for a display watchdog (about 2 s) to kill it; `None`: `SUBMISSION_WORK`.
    pub max_submission_work: Option<u64>,
    /// Add every term to the global cells directly, never in workgroup memory (the path that
    /// large k·d takes; forced in tests).
    pub global_accumulation: bool,
    /// Assignment kernel; `None`: tiled on hardware when k·d ≥ `TILED_MIN_KD`, else broadcast.
    pub kernel: Option<KernelKind>,
    /// The tiled kernel's argmin form; `None`: subgroup where the adapter has it.
    pub argmin: Option<Argmin>,
    /// Points per staged upload block; `None`: `UPLOAD_BLOCK_BYTES` of them (tests stage
    /// small data in many blocks).
    pub upload_block_points: Option<usize>,
    /// Longest wait for one GPU submission before giving up with an error.
    pub timeout: Duration,
}

impl Default for GpuConfig {
    fn default() -> Self {
        GpuConfig {
            chunk_points: None,
            max_groups_x: None,
            max_pass_groups: None,
            accumulator: None,
            max_binding_bytes: None,
            max_submission_work: None,
            global_accumulation: false,
            kernel: None,
            argmin: None,
            upload_block_points: None,
            timeout: Duration::from_secs(300),
        }
    }
}

impl GpuConfig {
    /// Defaults, with `SEGMENTER_GPU_CHUNK_POINTS` applied when set.
    pub fn from_env() -> Result<Self> {
        let mut c = GpuConfig::default();
        if let Ok(v) = std::env::var(CHUNK_ENV) {
            let n: usize = v.trim().parse().map_err(|_| {
                Error::Data(format!("{CHUNK_ENV}='{v}' is not a positive whole number"))
            })?;
            if n == 0 {
                return Err(Error::Data(format!("{CHUNK_ENV} must be at least 1")));
            }
            c.chunk_points = Some(n);
        }
        if let Ok(v) = std::env::var(ACCUMULATOR_ENV) {
            c.accumulator = Some(match v.trim() {
                "int64" => Accumulator::Int64,
                "carry" => Accumulator::Carry,
                _ => {
                    return Err(Error::Data(format!(
                        "{ACCUMULATOR_ENV}='{v}' is neither 'int64' nor 'carry'"
                    )))
                }
            });
        }
        if let Ok(v) = std::env::var(KERNEL_ENV) {
            c.kernel = Some(match v.trim() {
                "broadcast" => KernelKind::Broadcast,
                "tiled" => KernelKind::Tiled,
                _ => {
                    return Err(Error::Data(format!(
                        "{KERNEL_ENV}='{v}' is neither 'broadcast' nor 'tiled'"
                    )))
                }
            });
        }
        if let Ok(v) = std::env::var(ARGMIN_ENV) {
            c.argmin = Some(match v.trim() {
                "subgroup" => Argmin::Subgroup,
                "workgroup" => Argmin::Workgroup,
                _ => {
                    return Err(Error::Data(format!(
                        "{ARGMIN_ENV}='{v}' is neither 'subgroup' nor 'workgroup'"
                    )))
                }
            });
        }
        Ok(c)
    }
}

/// Runs the k-means kernels on the first GPU adapter wgpu finds.
#[derive(Clone)]
pub struct GpuBackend {
    ctx: Arc<GpuContext>,
    config: GpuConfig,
}

impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend")
            .field("adapter", &self.ctx.adapter.name)
            .field("config", &self.config)
            .finish()
    }
}

impl GpuBackend {
    /// The shared device with the configuration from the environment; `Error::NoAdapter` if none.
    pub fn new() -> Result<Self> {
        Self::with_config(GpuConfig::from_env()?)
    }

    /// The shared device with an explicit configuration.
    pub fn with_config(config: GpuConfig) -> Result<Self> {
        Ok(GpuBackend {
            ctx: context()?,
            config,
        })
    }

    /// The adapter this backend runs on.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.ctx.adapter
    }

    /// The device's memory bandwidth in GB/s (bytes read plus bytes written per second), from
    /// buffer-to-buffer copies: 256 MiB copied 8 times on GPU hardware (about 1 ms on an
    /// HBM3 part; the best of three timed submissions after a warm-up), 16 MiB twice on a CPU
    /// rasterizer (the best of two).
    pub fn bandwidth_probe(&self) -> Result<f64> {
        buffers::bandwidth_probe(&self.ctx, self.config.timeout)
    }

    fn chunk_points(&self, d: usize) -> usize {
        let l = &self.ctx.limits;
        let binding = l
            .max_storage_buffer_binding_size
            .min(l.max_buffer_size)
            .min(WGPU_BINDING_CAP)
            .min(self.config.max_binding_bytes.unwrap_or(u64::MAX)) as usize;
        // Shader indices are u32: a chunk holds fewer than 2^32 values.
        let by_limits = (binding / (4 * d)).min(u32::MAX as usize / d);
        self.config
            .chunk_points
            .map_or(by_limits, |c| c.min(by_limits))
            .max(1)
    }
}

/// Why the GPU kernels cannot take `d` features, if they cannot.
pub fn unsupported_dims(d: usize) -> Option<String> {
    (d > MAX_DIMS).then(|| {
        format!(
            "the GPU kernels support at most {MAX_DIMS} features and this data has {d}; \
             use {cpu} (or auto, which routes it to the CPU), or reduce the features",
            cpu = crate::error::Param::Backend.set("cpu")
        )
    })
}

/// What `--backend auto` picks for a problem, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AutoChoice {
    /// "gpu" or "cpu".
    pub backend: String,
    /// One sentence saying why.
    pub reason: String,
}

/// Decides `auto`: the GPU only for a hardware adapter, supported `d`, and enough work per
/// iteration to amortise its fixed costs. Creates the GPU context only when the size passes.
pub fn auto_choice(problem: Problem) -> AutoChoice {
    let cpu = |reason: String| AutoChoice {
        backend: "cpu".into(),
        reason,
    };
    if let Some(why) = unsupported_dims(problem.d) {
        return cpu(why);
    }
    let work = (problem.n as u64)
        .saturating_mul(problem.k as u64)
        .saturating_mul(problem.d as u64);
    if work < AUTO_MIN_WORK {
        return cpu(format!(
            "n·k·d = {work} is below {AUTO_MIN_WORK}, where the GPU's fixed costs outweigh its gain"
        ));
    }
    match context() {
        Err(e) => cpu(format!("{e}")),
        Ok(ctx) if !ctx.adapter.hardware => cpu(format!(
            "the only adapter, '{}', is a {} rasterizer, slower than the CPU path",
            ctx.adapter.name, ctx.adapter.device_type
        )),
        Ok(ctx) => AutoChoice {
            backend: "gpu".into(),
            reason: format!(
                "hardware adapter '{}' and n·k·d = {work} ≥ {AUTO_MIN_WORK}",
                ctx.adapter.name
            ),
        },
    }
}

impl Backend for GpuBackend {
    type Points = GpuPoints;
    type Run = GpuRun;

    fn info(&self) -> DeviceInfo {
        let a = &self.ctx.adapter;
        DeviceInfo {
            backend: "gpu".into(),
            adapter: format!("{} ({})", a.name, a.backend),
            device_type: a.device_type.clone(),
        }
    }

    fn assign_kernel(&self, _requested: Assign) -> Assign {
        Assign::Lloyd
    }

    fn kernel(&self, run: &GpuRun) -> String {
        let argmin = run
            .argmin()
            .map_or(String::new(), |a| format!(", {} argmin", a.name()));
        let cells = if run.workgroup_accumulation() {
            "workgroup"
        } else {
            "global"
        };
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{}{argmin}, {} accumulator, {cells} cells, {} in {}",
            run.kernel().name(),
            run.accumulator().name(),
            count(run.pass_count(), "pass", "passes"),
            count(run.submission_count(), "submission", "submissions")
        )
    }

    fn upload(&self, x: ArrayView2<'_, f32>) -> Result<GpuPoints> {
        let (n, d) = x.dim();
        if n == 0 || d == 0 {
            return Err(Error::Data(
                "no data to cluster: the matrix has no rows or no columns".into(),
            ));
        }
        if let Some(why) = unsupported_dims(d) {
            return Err(Error::Unsupported(why));
        }
        if n > u32::MAX as usize - 1 {
            return Err(Error::Unsupported(format!(
                "{n} points exceed the GPU kernels' 32-bit indices; use {cpu}",
                cpu = crate::error::Param::Backend.set("cpu")
            )));
        }
        let block = self
            .config
            .upload_block_points
            .unwrap_or(buffers::UPLOAD_BLOCK_BYTES / (4 * d));
        buffers::upload(
            &self.ctx,
            x,
            self.chunk_points(d),
            block,
            self.config.timeout,
        )
    }

    fn start(&self, points: &GpuPoints, k: usize, _assign: Assign) -> Result<GpuRun> {
        if k == 0 || k >= u32::MAX as usize {
            return Err(Error::Data(format!("k = {k} is out of range")));
        }
        let max_x = self
            .config
            .max_groups_x
            .unwrap_or(self.ctx.limits.max_compute_workgroups_per_dimension)
            .min(self.ctx.limits.max_compute_workgroups_per_dimension);
        buffers::start(
            &self.ctx,
            points,
            k,
            buffers::Choice {
                acc: self.config.accumulator,
                global: self.config.global_accumulation,
                kernel: self.config.kernel,
                argmin: self.config.argmin,
                max_groups_x: max_x,
                max_pass_groups: self.config.max_pass_groups,
                submission_work: self.config.max_submission_work.unwrap_or(SUBMISSION_WORK),
            },
        )
    }

    fn step(&self, points: &GpuPoints, run: &mut GpuRun, centroids: &[f32]) -> Result<Step> {
        let (k, d) = (run.k, points.d);
        if centroids.len() != k * d {
            return Err(Error::Data(format!(
                "{} centroid values given for k = {k} and d = {d}",
                centroids.len()
            )));
        }
        let t = buffers::step(&self.ctx, points, run, centroids, self.config.timeout)?;
        Ok(Step {
            sums: t.sums,
            counts: t.counts,
            inertia: Some(t.inertia),
            changed: t.changed,
        })
    }

    fn labels(&self, points: &GpuPoints, run: &GpuRun) -> Result<Vec<u32>> {
        buffers::labels(&self.ctx, points, run, self.config.timeout)
    }
}
