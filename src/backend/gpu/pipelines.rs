//! Shader modules, bind group layouts and compute pipelines. Modules and layouts are built once
//! per device; pipelines are specialised per feature count `d` (a pipeline-overridable
//! constant, so the distance loop has a fixed trip count) and cached.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Invocations per workgroup of both kernels (`WG` in the shaders).
pub(crate) const WORKGROUP: u32 = 64;
/// Points each invocation assigns (`PPT`): a tile is `WORKGROUP * POINTS_PER_THREAD` points,
/// which bounds how many terms one f32 partial sum holds.
pub(crate) const POINTS_PER_THREAD: u32 = 16;
/// Points per workgroup tile.
pub(crate) const TILE: u32 = WORKGROUP * POINTS_PER_THREAD;
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
    by_dims: Mutex<HashMap<u32, Arc<Kernels>>>,
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
    pub(crate) fn new(device: &wgpu::Device) -> Result<Self> {
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
            by_dims: Mutex::new(HashMap::new()),
        })
    }

    /// The kernels specialised for `d` features, built on first use.
    pub(crate) fn kernels(&self, device: &wgpu::Device, d: u32) -> Result<Arc<Kernels>> {
        let mut cache = self.by_dims.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cache.get(&d) {
            return Ok(k.clone());
        }
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let assign_constants = [
            ("WG", WORKGROUP as f64),
            ("PPT", POINTS_PER_THREAD as f64),
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
        let reduce_constants = [("WG", WORKGROUP as f64), ("D", d as f64)];
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
        cache.insert(d, kernels.clone());
        Ok(kernels)
    }
}
