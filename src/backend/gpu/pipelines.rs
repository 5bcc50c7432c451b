//! Shader modules, bind group layouts and compute pipelines. The assignment kernel exists in
//! two accumulator variants (native 64-bit atomics, or the 2 × u32 carry form), one module
//! each, built once per device; pipelines are specialised per feature count `d` (a
//! pipeline-overridable constant, so the distance loop has a fixed trip count), points per
//! invocation, and workgroup cells, and cached. The register-tiled kernel has one module per
//! accumulator and argmin form (subgroup only where the device has subgroups).

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Points per workgroup tile of the assignment kernel (`WG * PPT` in the shader) unless a loop
/// budget asks for less.
pub(crate) const TILE: u32 = 1024;
/// Largest feature count the assignment kernel holds in registers (`DMAX` in the shader).
pub const MAX_DIMS: usize = 64;
/// Most bytes of workgroup accumulators one workgroup uses (8 per 64-bit cell): more would
/// cut how many workgroups a GPU core holds at once; larger problems add to the global cells.
const MAX_WG_ACC_BYTES: u64 = 16 * 1024;

const ASSIGN_WGSL: &str = include_str!("../../../shaders/kmeans_assign.wgsl");
const ACC_CARRY_WGSL: &str = include_str!("../../../shaders/kmeans_acc_carry.wgsl");
const ACC_INT64_WGSL: &str = include_str!("../../../shaders/kmeans_acc_int64.wgsl");
const TILED_WGSL: &str = include_str!("../../../shaders/kmeans_assign_tiled.wgsl");
const ARGMIN_SUBGROUP_WGSL: &str = include_str!("../../../shaders/kmeans_argmin_subgroup.wgsl");
const ARGMIN_WORKGROUP_WGSL: &str = include_str!("../../../shaders/kmeans_argmin_workgroup.wgsl");

/// Points per tile of the register-tiled kernel (`TP` in kmeans_assign_tiled.wgsl).
const TILED_TP: u32 = 64;
/// Invocations per workgroup of the register-tiled kernel (its `@workgroup_size`).
pub(crate) const TILED_WG: u32 = 64;
/// Workgroup bytes the tiled kernel uses besides its accumulators: the point and centroid
/// slices (5 KiB) and the workgroup argmin's candidates (3 KiB).
const TILED_STAGING_BYTES: u64 = 8 * 1024;

/// How the kernel's 64-bit fixed-point cells are added (the bits are the same either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Accumulator {
    /// Native 64-bit atomics (`SHADER_INT64` + `SHADER_INT64_ATOMIC_ALL_OPS`).
    Int64,
    /// Two u32 words per cell: atomicAdd on the low word, its carry added to the high word.
    Carry,
}

impl Accumulator {
    /// Name used in JSON and messages.
    pub fn name(self) -> &'static str {
        match self {
            Accumulator::Int64 => "int64",
            Accumulator::Carry => "carry",
        }
    }
}

/// Which assignment kernel a fit runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelKind {
    /// One point per invocation, centroid rows broadcast as vec4s (kmeans_assign.wgsl).
    Broadcast,
    /// Point tile × centroid tile in workgroup memory, register micro-tiles
    /// (kmeans_assign_tiled.wgsl): for large k·d.
    Tiled,
}

impl KernelKind {
    /// Name used in JSON, messages and `SEGMENTER_GPU_KERNEL`.
    pub fn name(self) -> &'static str {
        match self {
            KernelKind::Broadcast => "broadcast",
            KernelKind::Tiled => "tiled",
        }
    }
}

/// How the tiled kernel merges the argmin of the 4 lanes that share a point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Argmin {
    /// Subgroup shuffles (wgpu's `SUBGROUP` feature, subgroups of at least 4 invocations).
    Subgroup,
    /// Workgroup memory and two barriers (any adapter).
    Workgroup,
}

impl Argmin {
    /// Name used in JSON, messages and `SEGMENTER_GPU_ARGMIN`.
    pub fn name(self) -> &'static str {
        match self {
            Argmin::Subgroup => "subgroup",
            Argmin::Workgroup => "workgroup",
        }
    }
}

fn acc_prelude(acc: Accumulator) -> &'static str {
    match acc {
        Accumulator::Int64 => ACC_INT64_WGSL,
        Accumulator::Carry => ACC_CARRY_WGSL,
    }
}

/// The shader source of one accumulator variant: its accumulator file, then the kernel.
pub fn assign_source(acc: Accumulator) -> String {
    format!("{}\n{ASSIGN_WGSL}", acc_prelude(acc))
}

/// The source of the register-tiled kernel: the accumulator file, the argmin file, then the
/// kernel. (naga takes subgroup builtins without `enable subgroups;`, which it rejects; the
/// device's `SUBGROUP` feature is what allows them.)
pub fn tiled_source(acc: Accumulator, argmin: Argmin) -> String {
    let reduce = match argmin {
        Argmin::Subgroup => ARGMIN_SUBGROUP_WGSL,
        Argmin::Workgroup => ARGMIN_WORKGROUP_WGSL,
    };
    format!("{}\n{reduce}\n{TILED_WGSL}", acc_prelude(acc))
}

/// The assignment kernel of one fit.
pub(crate) struct Kernels {
    pub(crate) assign: wgpu::ComputePipeline,
}

/// What a pipeline is specialised for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Shape {
    pub(crate) d: u32,
    pub(crate) ppt: u32,
    /// Workgroup cells, or `None` when the kernel adds to the global cells directly.
    pub(crate) wg_cells: Option<u32>,
    pub(crate) acc: Accumulator,
    /// The tiled kernel's argmin form, or `None` for the broadcast kernel (`ppt` is then
    /// tiles of 64 points per workgroup).
    pub(crate) tiled: Option<Argmin>,
}

/// Modules and layouts of the k-means kernels, and the per-shape pipeline cache.
pub(crate) struct Pipelines {
    modules: HashMap<Accumulator, wgpu::ShaderModule>,
    tiled_modules: HashMap<(Accumulator, Argmin), wgpu::ShaderModule>,
    pub(crate) assign_layout: wgpu::BindGroupLayout,
    assign_pipeline_layout: wgpu::PipelineLayout,
    by_shape: Mutex<HashMap<Shape, Arc<Kernels>>>,
    widths: Widths,
    /// The accumulator used unless a configuration forces one.
    pub(crate) default_acc: Accumulator,
    /// The tiled kernel's argmin unless a configuration forces one.
    pub(crate) default_argmin: Argmin,
    wg_bytes: u64,
    wg_storage: u64,
}

/// Workgroup sizes, chosen per adapter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Widths {
    /// Invocations per workgroup of the assignment kernel (a power of two dividing `TILE`).
    pub(crate) assign: u32,
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
    /// Compiles the shader modules (the int64 one only when the device has 64-bit atomics)
    /// and creates the layouts.
    pub(crate) fn new(
        device: &wgpu::Device,
        widths: Widths,
        int64: bool,
        subgroups: bool,
        wg_storage: u32,
    ) -> Result<Self> {
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut modules = HashMap::new();
        let variants: &[Accumulator] = if int64 {
            &[Accumulator::Int64, Accumulator::Carry]
        } else {
            &[Accumulator::Carry]
        };
        for &acc in variants {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("kmeans_assign.wgsl"),
                source: wgpu::ShaderSource::Wgsl(assign_source(acc).into()),
            });
            modules.insert(acc, module);
        }
        let mut tiled_modules = HashMap::new();
        let argmins: &[Argmin] = if subgroups {
            &[Argmin::Subgroup, Argmin::Workgroup]
        } else {
            &[Argmin::Workgroup]
        };
        for &acc in variants {
            for &argmin in argmins {
                let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some("kmeans_assign_tiled.wgsl"),
                    source: wgpu::ShaderSource::Wgsl(tiled_source(acc, argmin).into()),
                });
                tiled_modules.insert((acc, argmin), module);
            }
        }
        let assign_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("assign"),
            entries: &[
                storage(0, true),
                storage(1, true),
                storage(2, false),
                storage(3, false),
                storage(4, true),
                uniform(5),
            ],
        });
        let assign_pipeline_layout =
            device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("assign"),
                bind_group_layouts: &[Some(&assign_layout)],
                immediate_size: 0,
            });
        pop_scopes(validation, oom, "compiling the k-means shaders")?;
        Ok(Pipelines {
            modules,
            tiled_modules,
            assign_layout,
            assign_pipeline_layout,
            by_shape: Mutex::new(HashMap::new()),
            widths,
            default_acc: if int64 {
                Accumulator::Int64
            } else {
                Accumulator::Carry
            },
            default_argmin: if subgroups {
                Argmin::Subgroup
            } else {
                Argmin::Workgroup
            },
            wg_bytes: MAX_WG_ACC_BYTES.min(wg_storage as u64),
            wg_storage: wg_storage as u64,
        })
    }

    /// Whether the device can run `acc`.
    pub(crate) fn has(&self, acc: Accumulator) -> bool {
        self.modules.contains_key(&acc)
    }

    /// Whether the device can run the tiled kernel's `argmin` form.
    pub(crate) fn has_argmin(&self, argmin: Argmin) -> bool {
        self.tiled_modules.keys().any(|&(_, a)| a == argmin)
    }

    /// Workgroup cells for `cells` 64-bit cells (a power of two, so that fits with nearby k
    /// share a pipeline), or `None` when they do not fit workgroup memory or `global` is set.
    /// The tiled kernel leaves room for its staging slices.
    pub(crate) fn wg_cells(&self, cells: usize, global: bool, tiled: bool) -> Option<u32> {
        let cap = cells.next_power_of_two().max(64) as u64;
        let room = if tiled {
            self.wg_bytes
                .min(self.wg_storage.saturating_sub(TILED_STAGING_BYTES))
        } else {
            self.wg_bytes
        };
        (!global && 8 * cap <= room).then_some(cap as u32)
    }

    /// Tiles of 64 points per workgroup of the tiled kernel: 16 (1,024 points, as the
    /// broadcast kernel), halved until the worst-case loop iterations of one invocation fit
    /// the driver's loop budget; `Unsupported` if even one tile does not fit.
    pub(crate) fn tiles_per_group(
        &self,
        k: usize,
        d: usize,
        wg_cells: Option<u32>,
        adapter: &str,
    ) -> Result<u32> {
        let mut pt = TILE / TILED_TP;
        let Some(budget) = self.widths.loop_budget else {
            return Ok(pt);
        };
        let (k, d) = (k as u64, d as u64);
        // Every loop counted as if not unrolled; see kmeans_assign_tiled.wgsl.
        let cells = wg_cells.map_or(0, |c| 2 * (c as u64).div_ceil(TILED_WG as u64));
        let d4 = d.div_ceil(4);
        let ds = tiled_slice(d as u32) as u64;
        let slices = d.div_ceil(ds);
        // Per centroid tile: per slice the staging loops (points ds / 4 × 5, centroids
        // about ds / 3) and ds fmas; 4 scores. Per tile: the reduction (4), then one point as
        // in the broadcast kernel.
        let per_tile = k.div_ceil(16) * (slices * (3 * ds + 2) + 5)
            + 4
            + (1 + 5 * d4 + 2 * k * (1 + d4) + d4 + d);
        let cost = |pt: u64| cells + pt * per_tile;
        while cost(pt as u64) > budget {
            if pt == 1 {
                return Err(Error::Unsupported(format!(
                    "k = {k} with {d} features needs more loop iterations per shader invocation \
                     than '{adapter}' runs correctly; use {cpu}",
                    cpu = crate::error::Param::Backend.set("cpu")
                )));
            }
            pt /= 2;
        }
        Ok(pt)
    }

    /// Points per invocation of the assignment kernel for k clusters of d features: the
    /// default tile, halved until the worst-case loop iterations of one invocation fit the
    /// driver's loop budget; `Unsupported` if even one point per invocation does not fit.
    pub(crate) fn points_per_thread(
        &self,
        k: usize,
        d: usize,
        wg_cells: Option<u32>,
        adapter: &str,
    ) -> Result<u32> {
        let wg = self.widths.assign as u64;
        let mut ppt = TILE / self.widths.assign;
        let Some(budget) = self.widths.loop_budget else {
            return Ok(ppt);
        };
        let (k, d) = (k as u64, d as u64);
        // Every loop counted as if not unrolled; see kmeans_assign.wgsl.
        let cells = wg_cells.map_or(0, |c| 2 * (c as u64).div_ceil(wg));
        let d4 = d.div_ceil(4);
        // Loads (4 per vec4), scores, the near-tie direct loop, the inertia term, the adds.
        let cost = |ppt: u64| cells + ppt * (1 + 5 * d4 + 2 * k * (1 + d4) + d4 + d);
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

    /// Points one workgroup of `shape`'s kernel covers.
    pub(crate) fn group_points(&self, shape: &Shape) -> u32 {
        match shape.tiled {
            Some(_) => TILED_TP * shape.ppt,
            None => self.widths.assign * shape.ppt,
        }
    }

    /// The kernel for `shape`, built on first use.
    pub(crate) fn kernels(&self, device: &wgpu::Device, shape: Shape) -> Result<Arc<Kernels>> {
        let mut cache = self.by_shape.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cache.get(&shape) {
            return Ok(k.clone());
        }
        let module = match shape.tiled {
            None => self.modules.get(&shape.acc),
            Some(argmin) => self.tiled_modules.get(&(shape.acc, argmin)),
        }
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "this GPU cannot run the '{}' accumulator{}",
                shape.acc.name(),
                shape
                    .tiled
                    .map_or(String::new(), |a| format!(" with the {} argmin", a.name()))
            ))
        })?;
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut constants = vec![
            ("D", shape.d as f64),
            ("D4", shape.d.div_ceil(4) as f64),
            // Workgroup words: the carry form holds a cell in two (an override expression as
            // an array size makes naga panic, so the host multiplies).
            (
                "CAP",
                (shape.wg_cells.unwrap_or(1)
                    * if shape.acc == Accumulator::Carry {
                        2
                    } else {
                        1
                    }) as f64,
            ),
            ("WG_ACC", shape.wg_cells.is_some() as u8 as f64),
        ];
        let entry = match shape.tiled {
            None => {
                constants.push(("WG", self.widths.assign as f64));
                constants.push(("PPT", shape.ppt as f64));
                "assign_accumulate"
            }
            Some(_) => {
                constants.push(("PT", shape.ppt as f64));
                constants.push(("DS", tiled_slice(shape.d) as f64));
                "assign_tiled"
            }
        };
        let assign = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: Some(&self.assign_pipeline_layout),
            module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                // The kernel zeroes the cells it uses; skip the zeroing pass.
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        pop_scopes(
            validation,
            oom,
            &format!("building the k-means pipeline for d = {}", shape.d),
        )?;
        let kernels = Arc::new(Kernels { assign });
        cache.insert(shape, kernels.clone());
        Ok(kernels)
    }
}

/// Features per slice of the tiled kernel: d rounded up to whole vec4s, at most 16.
fn tiled_slice(d: u32) -> u32 {
    (d.div_ceil(4) * 4).min(16)
}
