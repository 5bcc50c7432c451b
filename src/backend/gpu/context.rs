//! The process-wide wgpu state: instance, adapter, device, queue and pipelines, created once on
//! first use and shared by every `GpuBackend`; plus the error plumbing that turns validation,
//! out-of-memory and device-lost events into `Error::Gpu` values.

use super::pipelines::{Pipelines, Widths};
use crate::error::{Error, Result};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Limits of an adapter that decide how k-means work is chunked and dispatched.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyLimits {
    /// Largest storage buffer one binding can see (points are bound in chunks of this).
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer that can be created.
    pub max_buffer_size: u64,
    /// Workgroups per dispatch dimension (beyond it the dispatch goes 2-D).
    pub max_compute_workgroups_per_dimension: u32,
    /// Invocations one workgroup may have.
    pub max_compute_invocations_per_workgroup: u32,
    /// Bytes of workgroup memory.
    pub max_compute_workgroup_storage_size: u32,
}

impl From<&wgpu::Limits> for KeyLimits {
    fn from(l: &wgpu::Limits) -> Self {
        KeyLimits {
            max_storage_buffer_binding_size: l.max_storage_buffer_binding_size,
            max_buffer_size: l.max_buffer_size,
            max_compute_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: l.max_compute_invocations_per_workgroup,
            max_compute_workgroup_storage_size: l.max_compute_workgroup_storage_size,
        }
    }
}

/// One adapter as `segmenter info` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    /// Adapter name, e.g. `NVIDIA H100` or `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// Graphics API: vulkan, metal, dx12, gl.
    pub backend: String,
    /// "discrete", "integrated", "virtual", "software" (a CPU rasterizer such as lavapipe) or "other".
    pub device_type: String,
    /// Driver name and version, as the driver reports them.
    pub driver: String,
    /// Whether this is real GPU hardware (what `auto` requires).
    pub hardware: bool,
    /// The limits that matter for k-means.
    pub limits: KeyLimits,
    /// Whether the adapter has 64-bit integers and atomics (the `int64` accumulator; else `carry`).
    pub int64_atomics: bool,
    /// Whether the adapter has subgroup operations with subgroups of at least 4 invocations
    /// (the tiled kernel's `subgroup` argmin; else `workgroup`).
    pub subgroups: bool,
}

/// What the `int64` accumulator needs.
const INT64_FEATURES: wgpu::Features =
    wgpu::Features::SHADER_INT64.union(wgpu::Features::SHADER_INT64_ATOMIC_ALL_OPS);

fn device_type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "software",
        wgpu::DeviceType::Other => "other",
    }
}

/// Preference order when several adapters exist: real GPUs first, a software rasterizer last.
fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

fn summarize(adapter: &wgpu::Adapter) -> AdapterSummary {
    let info = adapter.get_info();
    let driver = [info.driver.as_str(), info.driver_info.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    AdapterSummary {
        name: info.name.clone(),
        backend: info.backend.to_str().to_string(),
        device_type: device_type_name(info.device_type).into(),
        driver,
        hardware: rank(info.device_type) <= 2,
        limits: KeyLimits::from(&adapter.limits()),
        int64_atomics: adapter.features().contains(INT64_FEATURES),
        // The tiled kernel shuffles among 4 neighbouring lanes: they must share a subgroup.
        subgroups: adapter.features().contains(wgpu::Features::SUBGROUP)
            && info.subgroup_min_size >= 4,
    }
}

/// A power of two from the environment variable `name`, if set, valid and at most `max`.
fn width_from_env(name: &str, max: u32) -> Option<u32> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|w| w.is_power_of_two() && *w <= max)
}

/// Workgroup sizes for an adapter: 64 invocations (measured fastest on lavapipe too).
/// A CPU rasterizer may cap loop iterations per invocation (llvmpipe: 65,535 in all, then
/// every loop exits early and results are silently wrong); stay under it with a margin.
fn widths_for(hardware: bool) -> Widths {
    Widths {
        assign: width_from_env(super::ASSIGN_WIDTH_ENV, 256).unwrap_or(64),
        loop_budget: (!hardware).then_some(60_000),
    }
}

fn instance() -> wgpu::Instance {
    // Vulkan, Metal, DX12 by default (GL's compute support is too thin to be worth probing);
    // WGPU_BACKEND and friends override it, which is also how tests hide every adapter.
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::PRIMARY;
    wgpu::Instance::new(desc.with_env())
}

/// Every adapter wgpu can see, best first (the first one is what the GPU backend uses).
fn sorted_adapters(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let mut adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    // Vulkan before GL on the same device: compute shaders are first-class there.
    adapters.sort_by_key(|a| {
        let i = a.get_info();
        (rank(i.device_type), i.backend != wgpu::Backend::Vulkan)
    });
    adapters
}

/// Lists the adapters wgpu can see, in the order the GPU backend prefers them.
pub fn list_adapters() -> Vec<AdapterSummary> {
    sorted_adapters(&instance()).iter().map(summarize).collect()
}

/// The shared device and everything built on it.
pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) limits: wgpu::Limits,
    pub(crate) pipelines: Pipelines,
    /// The adapter the device was created on.
    pub adapter: AdapterSummary,
    lost: Arc<Mutex<Option<String>>>,
    uncaptured: Arc<Mutex<Option<String>>>,
}

/// The process-wide context: created on first call, kept while its device lives, and created
/// again on the next call after the device is lost (a driver reset, a removed GPU). A failure
/// to find an adapter is kept too: adapters do not appear while a process runs.
static CONTEXT: Mutex<Option<std::result::Result<Arc<GpuContext>, String>>> = Mutex::new(None);

/// The process-wide context, created on first call (and again after a lost device);
/// `Error::NoAdapter` when wgpu finds no adapter.
pub fn context() -> Result<Arc<GpuContext>> {
    let mut slot = CONTEXT.lock().unwrap_or_else(|p| p.into_inner());
    let alive = match slot.as_ref() {
        Some(Ok(ctx)) => !ctx.is_lost(),
        Some(Err(_)) => true,
        None => false,
    };
    if !alive {
        *slot = Some(GpuContext::create().map(Arc::new));
    }
    slot.as_ref()
        .map_or_else(|| Err("no GPU context".to_string()), Clone::clone)
        .map_err(Error::NoAdapter)
}

impl GpuContext {
    fn create() -> std::result::Result<GpuContext, String> {
        let instance = instance();
        let adapter = sorted_adapters(&instance)
            .into_iter()
            .next()
            .ok_or_else(|| "wgpu found no adapter".to_string())?;
        let summary = summarize(&adapter);
        // The default limits cap buffers at 256 MiB; ask for what the adapter really has.
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("segmenter"),
            // 64-bit atomics when the adapter has them: the int64 accumulator needs them.
            // Subgroups when usable: the tiled kernel's argmin shuffles among lanes.
            required_features: if summary.int64_atomics {
                INT64_FEATURES
            } else {
                wgpu::Features::empty()
            } | if summary.subgroups {
                wgpu::Features::SUBGROUP
            } else {
                wgpu::Features::empty()
            },
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| format!("adapter '{}' refused a device: {e}", summary.name))?;
        let lost = Arc::new(Mutex::new(None));
        let uncaptured = Arc::new(Mutex::new(None));
        {
            let lost = lost.clone();
            device.set_device_lost_callback(move |reason, message| {
                let mut slot = lost.lock().unwrap_or_else(|p| p.into_inner());
                *slot = Some(format!("{reason:?}: {message}"));
            });
            let uncaptured = uncaptured.clone();
            // Errors outside an error scope must not panic (wgpu's default handler does).
            device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
                let mut slot = uncaptured.lock().unwrap_or_else(|p| p.into_inner());
                slot.get_or_insert_with(|| e.to_string());
            }));
        }
        let pipelines = Pipelines::new(
            &device,
            widths_for(summary.hardware),
            summary.int64_atomics,
            summary.subgroups,
            limits.max_compute_workgroup_storage_size,
        )
        .map_err(|e| e.to_string())?;
        let limits = device.limits();
        Ok(GpuContext {
            device,
            queue,
            limits,
            pipelines,
            adapter: summary,
            lost,
            uncaptured,
        })
    }

    /// Whether the device was lost (every later call on it fails; `context()` makes a new one).
    pub fn is_lost(&self) -> bool {
        self.lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Destroys the device, as a driver reset would: for tests of the recovery path.
    pub fn lose_device(&self) {
        self.device.destroy();
        // Let the lost callback run; record the loss even if the driver reports it later.
        let _ = self.device.poll(wgpu::PollType::Poll);
        let mut slot = self.lost.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| "Destroyed: the device was destroyed".into());
    }

    /// Fails if the device was lost or raised an error outside an error scope.
    pub(crate) fn check_alive(&self) -> Result<()> {
        if let Some(m) = self.lost.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return Err(Error::Gpu(format!(
                "the GPU device was lost ({m}); the next fit starts a new device, or use {cpu}",
                cpu = crate::error::Param::Backend.set("cpu")
            )));
        }
        if let Some(m) = self
            .uncaptured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(Error::Gpu(m));
        }
        Ok(())
    }

    /// Runs `f` inside validation and out-of-memory error scopes and returns what they caught
    /// as `Error::Gpu`, naming `what` was being done.
    pub(crate) fn scoped<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        self.check_alive()?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        if let Some(e) = o {
            return Err(Error::Gpu(format!(
                "out of GPU memory while {what} ({e}); use {cpu} or less data",
                cpu = crate::error::Param::Backend.set("cpu")
            )));
        }
        if let Some(e) = v {
            return Err(Error::Gpu(format!("{what}: {e}")));
        }
        self.check_alive()?;
        out
    }

    /// Blocks until `submission` has finished, at most `timeout`.
    pub(crate) fn wait(&self, submission: wgpu::SubmissionIndex, timeout: Duration) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: Some(timeout),
            })
            .map_err(|e| {
                Error::Gpu(format!(
                    "waiting for the GPU failed after at most {timeout:?}: {e}"
                ))
            })?;
        self.check_alive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_come_back_as_values_and_the_device_survives() {
        let ctx = match context() {
            Ok(c) => c,
            Err(e) => {
                assert_ne!(
                    std::env::var("SEGMENTER_REQUIRE_GPU").as_deref(),
                    Ok("1"),
                    "SEGMENTER_REQUIRE_GPU=1 but {e}"
                );
                return eprintln!("skipping GPU test: {e}");
            }
        };
        let r = ctx.scoped("making an oversized buffer", || {
            let _b = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: None,
                size: ctx.limits.max_buffer_size.saturating_add(4),
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            });
            Ok(())
        });
        match r {
            Err(Error::Gpu(m)) => assert!(m.starts_with("making an oversized buffer"), "{m}"),
            other => panic!("expected Error::Gpu, got {other:?}"),
        }
        assert!(
            ctx.check_alive().is_ok(),
            "a captured error does not poison the device"
        );
    }
}
