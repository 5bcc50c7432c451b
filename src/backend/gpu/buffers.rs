//! Device buffers: points uploaded once in binding-sized chunks, the per-fit state (labels,
//! centroids, partials, totals, per-pass parameters and bind groups), and read-back.

use super::context::GpuContext;
use super::pipelines::Kernels;
use crate::error::{Error, Result};
use ndarray::ArrayView2;
use rayon::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use wgpu::util::DeviceExt;

/// One chunk of points: a buffer small enough to bind, feature-major (`x[j * len + i]`) so that
/// neighbouring invocations read neighbouring addresses.
pub(crate) struct PointChunk {
    pub(crate) buffer: wgpu::Buffer,
    pub(crate) len: usize,
}

/// Points resident on the GPU, uploaded once and reused by every fit.
pub struct GpuPoints {
    pub(crate) n: usize,
    pub(crate) d: usize,
    pub(crate) chunks: Vec<PointChunk>,
}

impl GpuPoints {
    /// Number of binding chunks the points were split into.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }
}

/// Kernel parameters of one pass (one dispatch of each kernel); same layout as `Params` in the
/// shaders.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    chunk_n: u32,
    first: u32,
    count: u32,
    k: u32,
    num_groups: u32,
    groups_x: u32,
    first_pass: u32,
    reduce_x: u32,
}

/// One pass: a range of one chunk small enough for the partials buffer.
pub(crate) struct Pass {
    assign_group: wgpu::BindGroup,
    reduce_group: wgpu::BindGroup,
    dispatch: (u32, u32),
    // Kept alive for the bind groups; written once at `start`.
    _params: wgpu::Buffer,
}

/// Per-fit GPU state.
pub struct GpuRun {
    pub(crate) k: usize,
    pub(crate) labels: Vec<wgpu::Buffer>,
    centroids: wgpu::Buffer,
    totals_f: wgpu::Buffer,
    totals_u: wgpu::Buffer,
    staging: wgpu::Buffer,
    passes: Vec<Pass>,
    reduce_dispatch: (u32, u32),
    kernels: Arc<Kernels>,
    // Kept alive for the bind groups.
    _partials: (wgpu::Buffer, wgpu::Buffer),
}

impl GpuRun {
    /// Dispatches of the assignment kernel per step (one per pass over a chunk range).
    pub fn pass_count(&self) -> usize {
        self.passes.len()
    }

    /// The most workgroups one pass dispatches along y (more than 1 means a 2-D dispatch).
    pub fn max_dispatch_rows(&self) -> u32 {
        self.passes.iter().map(|p| p.dispatch.1).max().unwrap_or(0)
    }
}

/// What one step read back, before conversion to a `Step`.
pub(crate) struct Totals {
    /// k*d + 1 values: sums of (x - c) per cell, then inertia; each a (sum, compensation) pair
    /// combined in f64.
    pub(crate) sums: Vec<f64>,
    /// k counts, then changed labels.
    pub(crate) counts: Vec<u32>,
}

fn entries<'a>(bufs: &[&'a wgpu::Buffer]) -> Vec<wgpu::BindGroupEntry<'a>> {
    bufs.iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect()
}

fn buffer(ctx: &GpuContext, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        // wgpu rejects zero-sized bindings; every buffer holds at least one word.
        size: size.max(4),
        usage,
        mapped_at_creation: false,
    })
}

/// Copies the n×d matrix to the GPU in chunks of at most `chunk_points` points.
pub(crate) fn upload(
    ctx: &GpuContext,
    x: ArrayView2<'_, f32>,
    chunk_points: usize,
    timeout: Duration,
) -> Result<GpuPoints> {
    let (n, d) = x.dim();
    let x = x.as_standard_layout();
    let rows = x
        .as_slice()
        .ok_or_else(|| Error::Data("points must be in standard (row-major) layout".into()))?;
    let mut chunks = Vec::new();
    ctx.scoped(
        &format!(
            "uploading {n} × {d} points ({:.1} MiB)",
            (n * d * 4) as f64 / 1048576.0
        ),
        || {
            let mut first = 0;
            while first < n {
                let len = chunk_points.min(n - first);
                let src = &rows[first * d..(first + len) * d];
                let mut columns = vec![0f32; len * d];
                columns
                    .par_chunks_mut(len)
                    .enumerate()
                    .for_each(|(j, col)| {
                        for (i, v) in col.iter_mut().enumerate() {
                            *v = src[i * d + j];
                        }
                    });
                let buffer = buffer(
                    ctx,
                    "points",
                    (len * d * 4) as u64,
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                );
                ctx.queue
                    .write_buffer(&buffer, 0, bytemuck::cast_slice(&columns));
                chunks.push(PointChunk { buffer, len });
                first += len;
            }
            Ok(())
        },
    )?;
    // Wait for the copies, so upload time is measured where it is spent.
    let done = ctx.queue.submit([]);
    ctx.wait(done, timeout)?;
    Ok(GpuPoints { n, d, chunks })
}

/// Plans the passes of a fit with `k` clusters and creates its buffers and bind groups.
pub(crate) fn start(
    ctx: &GpuContext,
    points: &GpuPoints,
    k: usize,
    max_groups_x: u32,
    max_pass_groups: Option<u64>,
) -> Result<GpuRun> {
    let d = points.d;
    let ppt = ctx.pipelines.points_per_thread(k, d, &ctx.adapter.name)?;
    let kernels = ctx.pipelines.kernels(&ctx.device, d as u32, ppt)?;
    let tile = (ctx.pipelines.assign_width() * ppt) as u64;
    let row_f = (k * d + 1) as u64;
    let row_u = (k + 1) as u64;
    let binding = ctx
        .limits
        .max_storage_buffer_binding_size
        .min(ctx.limits.max_buffer_size);
    // The partials of one pass must fit one binding: that bounds the points per pass.
    let max_groups = binding / (4 * row_f);
    // The totals hold a (sum, compensation) pair per cell: they too must fit one binding.
    if max_groups == 0 || 8 * row_f > binding {
        return Err(Error::Unsupported(format!(
            "k = {k} with {d} features needs {} bytes of partial sums per workgroup, more than \
             this GPU can bind; use {cpu}",
            4 * row_f,
            cpu = crate::error::Param::Backend.set("cpu")
        )));
    }
    let max_x = max_groups_x.max(1) as u64;
    let max_groups = max_groups
        .min(max_x * ctx.limits.max_compute_workgroups_per_dimension as u64)
        .min(max_pass_groups.unwrap_or(u64::MAX).max(1))
        .min(ctx.pipelines.max_reduce_rows().unwrap_or(u64::MAX));
    let pass_points = max_groups * tile;

    let mut plan = Vec::new(); // (chunk, first, count)
    for (c, chunk) in points.chunks.iter().enumerate() {
        let mut first = 0u64;
        while first < chunk.len as u64 {
            let count = pass_points.min(chunk.len as u64 - first);
            plan.push((c, first, count));
            first += count;
        }
    }
    let groups_of = |count: u64| count.div_ceil(tile);
    // The reduction runs one workgroup per cell of a partial row, 2-D past the row limit.
    let reduce_x = row_f.min(max_x);
    let reduce_y = row_f.div_ceil(reduce_x);
    let most_groups = plan.iter().map(|p| groups_of(p.2)).max().unwrap_or(1);

    ctx.scoped(&format!("preparing a fit with k = {k}"), || {
        let storage = wgpu::BufferUsages::STORAGE;
        let labels: Vec<wgpu::Buffer> = points
            .chunks
            .iter()
            .map(|chunk| {
                // All ones: no previous label, so the first step counts every point as changed.
                ctx.device
                    .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("labels"),
                        contents: bytemuck::cast_slice(&vec![u32::MAX; chunk.len.max(1)]),
                        usage: storage | wgpu::BufferUsages::COPY_SRC,
                    })
            })
            .collect();
        let centroids = buffer(
            ctx,
            "centroids",
            (k * d * 4) as u64,
            storage | wgpu::BufferUsages::COPY_DST,
        );
        let part_f = buffer(ctx, "partial sums", most_groups * row_f * 4, storage);
        let part_u = buffer(ctx, "partial counts", most_groups * row_u * 4, storage);
        let totals_f = buffer(
            ctx,
            "total sums",
            2 * row_f * 4,
            storage | wgpu::BufferUsages::COPY_SRC,
        );
        let totals_u = buffer(
            ctx,
            "total counts",
            row_u * 4,
            storage | wgpu::BufferUsages::COPY_SRC,
        );
        let staging = buffer(
            ctx,
            "read-back",
            (2 * row_f + row_u) * 4,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let mut passes = Vec::with_capacity(plan.len());
        for (p, &(c, first, count)) in plan.iter().enumerate() {
            let groups = groups_of(count);
            let gx = groups.min(max_x);
            let gy = groups.div_ceil(gx);
            let params = Params {
                chunk_n: points.chunks[c].len as u32,
                first: first as u32,
                count: count as u32,
                k: k as u32,
                num_groups: groups as u32,
                groups_x: gx as u32,
                first_pass: (p == 0) as u32,
                reduce_x: reduce_x as u32,
            };
            let params_buf = ctx
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("params"),
                    contents: bytemuck::bytes_of(&params),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
            let assign_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("assign"),
                layout: &ctx.pipelines.assign_layout,
                entries: &entries(&[
                    &points.chunks[c].buffer,
                    &centroids,
                    &labels[c],
                    &part_f,
                    &part_u,
                    &params_buf,
                ]),
            });
            let reduce_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("reduce"),
                layout: &ctx.pipelines.reduce_layout,
                entries: &entries(&[&part_f, &part_u, &totals_f, &totals_u, &params_buf]),
            });
            passes.push(Pass {
                assign_group,
                reduce_group,
                dispatch: (gx as u32, gy as u32),
                _params: params_buf,
            });
        }
        Ok(GpuRun {
            k,
            labels,
            centroids,
            totals_f,
            totals_u,
            staging,
            passes,
            reduce_dispatch: (reduce_x as u32, reduce_y as u32),
            kernels: kernels.clone(),
            _partials: (part_f, part_u),
        })
    })
}

/// Maps `buffer` (MAP_READ) after `submission` and copies its bytes out.
fn read_mapped(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    submission: wgpu::SubmissionIndex,
    timeout: Duration,
) -> Result<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::channel();
    buffer.slice(..).map_async(wgpu::MapMode::Read, move |r| {
        // The receiver outlives the wait below; a send error only means it gave up.
        let _ = tx.send(r);
    });
    ctx.wait(submission, timeout)?;
    let mapped = rx
        .recv_timeout(timeout)
        .map_err(|_| Error::Gpu("the GPU never answered a read-back request".into()))?;
    mapped.map_err(|e| Error::Gpu(format!("reading results back from the GPU failed: {e}")))?;
    let bytes = {
        let view = buffer
            .slice(..)
            .get_mapped_range()
            .map_err(|e| Error::Gpu(format!("reading results back from the GPU failed: {e}")))?;
        view.to_vec()
    };
    buffer.unmap();
    Ok(bytes)
}

/// One Lloyd step over every pass: writes the centroids, runs assign + reduce per pass, and
/// reads back only the totals (about k×d numbers).
pub(crate) fn step(
    ctx: &GpuContext,
    run: &GpuRun,
    centroids: &[f32],
    timeout: Duration,
) -> Result<Totals> {
    let submission = ctx.scoped("running a k-means step on the GPU", || {
        ctx.queue
            .write_buffer(&run.centroids, 0, bytemuck::cast_slice(centroids));
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("k-means step"),
            });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("assign + reduce"),
                timestamp_writes: None,
            });
            for p in &run.passes {
                pass.set_pipeline(&run.kernels.assign);
                pass.set_bind_group(0, &p.assign_group, &[]);
                pass.dispatch_workgroups(p.dispatch.0, p.dispatch.1, 1);
                pass.set_pipeline(&run.kernels.reduce);
                pass.set_bind_group(0, &p.reduce_group, &[]);
                pass.dispatch_workgroups(run.reduce_dispatch.0, run.reduce_dispatch.1, 1);
            }
        }
        let f_bytes = run.totals_f.size();
        encoder.copy_buffer_to_buffer(&run.totals_f, 0, &run.staging, 0, f_bytes);
        encoder.copy_buffer_to_buffer(&run.totals_u, 0, &run.staging, f_bytes, run.totals_u.size());
        Ok(ctx.queue.submit([encoder.finish()]))
    })?;
    let bytes = read_mapped(ctx, &run.staging, submission, timeout)?;
    let f_bytes = run.totals_f.size() as usize;
    let (f, u) = bytes.split_at(f_bytes);
    let f: &[f32] =
        bytemuck::try_cast_slice(f).map_err(|e| Error::Gpu(format!("malformed read-back: {e}")))?;
    let u: &[u32] =
        bytemuck::try_cast_slice(u).map_err(|e| Error::Gpu(format!("malformed read-back: {e}")))?;
    let d = centroids.len() / run.k.max(1);
    let cells = run.k * d + 1;
    let counts = u
        .get(..run.k + 1)
        .ok_or_else(|| Error::Gpu("count read-back came back short".into()))?;
    if f.len() < 2 * cells {
        return Err(Error::Gpu("sum read-back came back short".into()));
    }
    Ok(Totals {
        sums: f
            .chunks_exact(2)
            .take(cells)
            .map(|p| p[0] as f64 + p[1] as f64)
            .collect(),
        counts: counts.to_vec(),
    })
}

/// Reads every chunk's labels back, in point order.
pub(crate) fn labels(
    ctx: &GpuContext,
    points: &GpuPoints,
    run: &GpuRun,
    timeout: Duration,
) -> Result<Vec<u32>> {
    let mut out = Vec::with_capacity(points.n);
    for (chunk, buf) in points.chunks.iter().zip(&run.labels) {
        let (staging, submission) = ctx.scoped("reading labels back from the GPU", || {
            let staging = buffer(
                ctx,
                "labels read-back",
                buf.size(),
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("labels"),
                });
            encoder.copy_buffer_to_buffer(buf, 0, &staging, 0, buf.size());
            let submission = ctx.queue.submit([encoder.finish()]);
            Ok((staging, submission))
        })?;
        let bytes = read_mapped(ctx, &staging, submission, timeout)?;
        let labels: &[u32] = bytemuck::try_cast_slice(&bytes)
            .map_err(|e| Error::Gpu(format!("malformed label read-back: {e}")))?;
        let labels = labels
            .get(..chunk.len)
            .ok_or_else(|| Error::Gpu("label read-back came back short".into()))?;
        out.extend_from_slice(labels);
    }
    Ok(out)
}
