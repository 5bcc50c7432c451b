//! Shader modules, bind group layouts and compute pipelines. Modules and layouts are built once
//! per device; pipelines are specialised per feature count `d` (a pipeline-overridable
//! constant, so the distance loop has a fixed trip count) and points per invocation, and cached.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Points per workgroup tile of the assignment kernel (`WG * PPT` in the shader) unless a loop
/// budget asks for less. It bounds how many terms one f32 partial sum holds.
pub(crate) const TILE: u32 = 1024;
/// Feature block of the assignment kernel's accumulation (`DB` in the shader).
const DB: u64 = 8;
/// Largest feature count the assignment kernel holds in registers (`DMAX` in the shader).
pub const MAX_DIMS: usize = 64;

const ASSIGN_WGSL: &str = include_str!("../../../shaders/kmeans_assign.wgsl");
const REDUCE_WGSL: &str = include_str!("../../../shaders/kmeans_reduce.wgsl");

/// The two kernels of one Lloyd step, specialised for one `d`.
pub(crate) struct Kernels {
    pub(crate) assign: wgpu::ComputePipeline,
    pub(crate) reduce: wgpu::ComputePipeline,
}

/// Modules and layouts of the k-means kernels, and the per-`d` pipeline cache.
pub(crate) struct Pipelines {
    assign_module: wgpu::ShaderModule,
    reduce_module: wgpu::ShaderModule,
    pub(crate) assign_layout: wgpu::BindGroupLayout,
    pub(crate) reduce_layout: wgpu::BindGroupLayout,
    assign_pipeline_layout: wgpu::PipelineLayout,
    reduce_pipeline_layout: wgpu::PipelineLayout,
    by_shape: Mutex<HashMap<(u32, u32), Arc<Kernels>>>,
    widths: Widths,
}

/// Workgroup sizes, chosen per adapter: a GPU wants many invocations per workgroup; a CPU
/// rasterizer (one SIMD vector per 8 invocations, barriers switch coroutines) wants few.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Widths {
    /// Invocations per workgroup of the assignment kernel (a power of two dividing `TILE`).
    pub(crate) assign: u32,
    /// Invocations that reduce one cell of the partials (a power of two).
    pub(crate) reduce: u32,
    /// Most loop iterations one invocation may run, if the driver caps them: llvmpipe
    /// (lavapipe) silently ends every loop of an invocation after 65,535 iterations in all.
    pub(crate) loop_budget: Option<u64>,
}

fn storage(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform(binding: u32) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// Pops the two scopes pushed before building something and reports what they caught.
fn pop_scopes(
    validation: wgpu::ErrorScopeGuard,
    oom: wgpu::ErrorScopeGuard,
    what: &str,
) -> Result<()> {
    let v = pollster::block_on(validation.pop());
    let o = pollster::block_on(oom.pop());
    match (v, o) {
        (Some(e), _) | (None, Some(e)) => Err(Error::Gpu(format!("{what}: {e}"))),
        (None, None) => Ok(()),
    }
}

impl Pipelines {
    /// Compiles the shader modules and creates the layouts.
    pub(crate) fn new(device: &wgpu::Device, widths: Widths) -> Result<Self> {
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let assign_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("kmeans_assign.wgsl"),
            source: wgpu::ShaderSource::Wgsl(ASSIGN_WGSL.into()),
        });
        let reduce_module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("kmeans_reduce.wgsl"),
            source: wgpu::ShaderSource::Wgsl(REDUCE_WGSL.into()),
        });
        let assign_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("assign"),
            entries: &[
                storage(0, true),
                storage(1, true),
                storage(2, false),
                storage(3, false),
                storage(4, false),
                uniform(5),
            ],
        });
        let reduce_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("reduce"),
            entries: &[
                storage(0, true),
                storage(1, true),
                storage(2, false),
                storage(3, false),
                uniform(4),
            ],
        });
        let layout = |bgl: &wgpu::BindGroupLayout, label| {
            device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(label),
                bind_group_layouts: &[Some(bgl)],
                immediate_size: 0,
            })
        };
        let assign_pipeline_layout = layout(&assign_layout, "assign");
        let reduce_pipeline_layout = layout(&reduce_layout, "reduce");
        pop_scopes(validation, oom, "compiling the k-means shaders")?;
        Ok(Pipelines {
            assign_module,
            reduce_module,
            assign_layout,
            reduce_layout,
            assign_pipeline_layout,
            reduce_pipeline_layout,
            by_shape: Mutex::new(HashMap::new()),
            widths,
        })
    }

    /// Points per invocation of the assignment kernel for k clusters of d features: the
    /// default tile, halved until the worst-case loop iterations of one invocation fit the
    /// driver's loop budget; `Unsupported` if even one point per invocation does not fit.
    pub(crate) fn points_per_thread(&self, k: usize, d: usize, adapter: &str) -> Result<u32> {
        let wg = self.widths.assign as u64;
        let mut ppt = TILE / self.widths.assign;
        let Some(budget) = self.widths.loop_budget else {
            return Ok(ppt);
        };
        let (k, d) = (k as u64, d as u64);
        let blocks = d.div_ceil(DB);
        // Every loop counted as if not unrolled; see kmeans_assign.wgsl.
        let cost = |ppt: u64| {
            let tile = wg * ppt;
            let assign = ppt * (1 + d + k * (1 + d));
            let items = (k * blocks).div_ceil(wg);
            let accumulate = items * (2 * DB + tile) + DB * tile;
            assign + accumulate + wg
        };
        while cost(ppt as u64) > budget {
            if ppt == 1 {
                return Err(Error::Unsupported(format!(
                    "k = {k} with {d} features needs more loop iterations per shader invocation \
                     than '{adapter}' runs correctly; use {cpu}",
                    cpu = crate::error::Param::Backend.set("cpu")
                )));
            }
            ppt /= 2;
        }
        Ok(ppt)
    }

    /// Most workgroup rows one reduction may read, if the loop budget bounds it.
    pub(crate) fn max_reduce_rows(&self) -> Option<u64> {
        self.widths
            .loop_budget
            .map(|b| self.widths.reduce as u64 * b.saturating_sub(256))
    }

    /// Invocations per workgroup of the assignment kernel.
    pub(crate) fn assign_width(&self) -> u32 {
        self.widths.assign
    }

    /// The kernels for `d` features and `ppt` points per invocation, built on first use.
    pub(crate) fn kernels(&self, device: &wgpu::Device, d: u32, ppt: u32) -> Result<Arc<Kernels>> {
        let mut cache = self.by_shape.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cache.get(&(d, ppt)) {
            return Ok(k.clone());
        }
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let assign_constants = [
            ("WG", self.widths.assign as f64),
            ("PPT", ppt as f64),
            ("D", d as f64),
        ];
        let assign = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("assign_accumulate"),
            layout: Some(&self.assign_pipeline_layout),
            module: &self.assign_module,
            entry_point: Some("assign_accumulate"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &assign_constants,
                // Every workgroup slot is written before it is read; skip the zeroing pass.
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        let reduce_constants = [("RWG", self.widths.reduce as f64), ("D", d as f64)];
        let reduce = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("reduce_partials"),
            layout: Some(&self.reduce_pipeline_layout),
            module: &self.reduce_module,
            entry_point: Some("reduce_partials"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &reduce_constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        pop_scopes(
            validation,
            oom,
            &format!("building the k-means pipelines for d = {d}"),
        )?;
        let kernels = Arc::new(Kernels { assign, reduce });
        cache.insert((d, ppt), kernels.clone());
        Ok(kernels)
    }
}
