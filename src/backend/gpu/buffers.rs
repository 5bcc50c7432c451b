//! Device buffers: points centred and uploaded once in binding-sized chunks, the per-fit state
//! (labels, centroids, 64-bit cells, per-pass parameters and bind groups), and read-back.

use super::context::GpuContext;
use super::pipelines::{Accumulator, Argmin, KernelKind, Kernels, Shape};
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
    /// Per feature: the midpoint of its range (rounded to f32), subtracted at upload.
    pub(crate) centre: Vec<f64>,
    /// Per feature: a bound on |x - centre|, about half the range.
    pub(crate) radius: Vec<f64>,
    /// Per feature: the fixed-point scale 2^e ≤ 2^30 / radius of the coordinate sums.
    pub(crate) scale: Vec<f32>,
}

impl GpuPoints {
    /// Number of binding chunks the points were split into.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }
}

/// 2^e for the largest e with 2^e · bound ≤ 2^top, kept inside f32's normal range.
pub(super) fn pow2_scale(bound: f64, top: i32) -> f32 {
    let e = if bound > 0.0 && bound.is_finite() {
        top - bound.log2().ceil() as i32
    } else {
        top
    };
    2f32.powi(e.clamp(-120, 120))
}

/// Kernel parameters of one pass; same layout as `Params` in the shader.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    chunk_n: u32,
    first: u32,
    count: u32,
    k: u32,
    num_groups: u32,
    groups_x: u32,
    cells: u32,
    pad: u32,
}

/// One pass: a range of one chunk that one dispatch covers.
pub(crate) struct Pass {
    group: wgpu::BindGroup,
    dispatch: (u32, u32),
    // Kept alive for the bind group; written once at `start`.
    _params: wgpu::Buffer,
}

/// Per-fit GPU state.
pub struct GpuRun {
    pub(crate) k: usize,
    pub(crate) labels: Vec<wgpu::Buffer>,
    centroids: wgpu::Buffer,
    scales: wgpu::Buffer,
    totals: wgpu::Buffer,
    staging: wgpu::Buffer,
    passes: Vec<Pass>,
    /// Index of the first pass of each submission, ascending, starting at 0.
    submissions: Vec<usize>,
    kernels: Arc<Kernels>,
    shape: Shape,
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

    /// GPU submissions per step (more than one when the work exceeds the submission budget).
    pub fn submission_count(&self) -> usize {
        self.submissions.len()
    }

    /// The accumulator variant this fit's kernel uses.
    pub fn accumulator(&self) -> Accumulator {
        self.shape.acc
    }

    /// The assignment kernel this fit runs.
    pub fn kernel(&self) -> KernelKind {
        match self.shape.tiled {
            Some(_) => KernelKind::Tiled,
            None => KernelKind::Broadcast,
        }
    }

    /// The tiled kernel's argmin form, or `None` for the broadcast kernel.
    pub fn argmin(&self) -> Option<Argmin> {
        self.shape.tiled
    }

    /// Whether the kernel sums in workgroup memory (else it adds to the global cells directly).
    pub fn workgroup_accumulation(&self) -> bool {
        self.shape.wg_cells.is_some()
    }
}

/// What one step read back: the 64-bit cells, decoded.
pub(crate) struct Totals {
    /// k×d coordinate sums of the original (uncentred) points.
    pub(crate) sums: Vec<f64>,
    /// k counts.
    pub(crate) counts: Vec<u64>,
    /// Sum of the squared distances to the assigned centroids.
    pub(crate) inertia: f64,
    /// Points whose label changed.
    pub(crate) changed: u64,
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

/// Bytes of points staged per block of an upload (`GpuConfig::upload_block_points` overrides).
pub const UPLOAD_BLOCK_BYTES: usize = 64 << 20;

/// Rows one transposition task of an upload block writes.
const STAGE_TASK: usize = 4096;

/// Copies `len` rows of `src` (row-major, d wide), centred, into `buffer` feature-major, in
/// blocks of `block_points` rows: each block is transposed on every core in one row-major
/// pass into a reused host block, copied into the queue's staging memory and submitted; the
/// host waits for the block before the last, so transposition overlaps the transfer, and
/// neither a copy of the whole chunk nor more than two blocks of staging memory are alive.
#[allow(clippy::too_many_arguments)]
fn stage_chunk(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    src: &[f32],
    len: usize,
    d: usize,
    centre: &[f32],
    block_points: usize,
    timeout: Duration,
) -> Result<()> {
    let block = block_points.clamp(1, len.max(1));
    let mut host: Vec<f32> = Vec::with_capacity(block * d);
    let mut pending: Option<wgpu::SubmissionIndex> = None;
    let mut r0 = 0;
    while r0 < len {
        let b = block.min(len - r0);
        let size = wgpu::BufferSize::new((b * 4) as u64)
            .ok_or_else(|| Error::Gpu("an empty upload block".into()))?;
        let mut views = (0..d)
            .map(|j| {
                ctx.queue
                    .write_buffer_with(buffer, ((j * len + r0) * 4) as u64, size)
                    .ok_or_else(|| {
                        Error::Gpu(format!(
                            "the GPU gave no staging memory for {} bytes",
                            b * 4
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        // Transposed on every core into a host block (wgpu's staging views are write-only
        // and cannot cross threads), then copied into the views at memcpy speed.
        host.resize(b * d, 0.0);
        let mut tasks: Vec<Vec<&mut [f32]>> = (0..b.div_ceil(STAGE_TASK))
            .map(|_| Vec::with_capacity(d))
            .collect();
        for col in host.chunks_mut(b) {
            for (t, piece) in tasks.iter_mut().zip(col.chunks_mut(STAGE_TASK)) {
                t.push(piece);
            }
        }
        tasks.into_par_iter().enumerate().for_each(|(t, mut cols)| {
            let base = r0 + t * STAGE_TASK;
            for i in 0..cols[0].len() {
                let row = &src[(base + i) * d..(base + i + 1) * d];
                for (j, col) in cols.iter_mut().enumerate() {
                    col[i] = row[j] - centre[j];
                }
            }
        });
        for (v, col) in views.iter_mut().zip(host.chunks(b)) {
            v.copy_from_slice(bytemuck::cast_slice(col));
        }
        // Dropping the views schedules their copies; the submit sends them.
        drop(views);
        let done = ctx.queue.submit([]);
        if let Some(before) = pending.replace(done) {
            ctx.wait(before, timeout)?;
        }
        r0 += b;
    }
    Ok(())
}

/// Centres the n×d matrix on each feature's midpoint and copies it to the GPU in chunks of at
/// most `chunk_points` points, staged in blocks of `block_points`.
pub(crate) fn upload(
    ctx: &GpuContext,
    x: ArrayView2<'_, f32>,
    chunk_points: usize,
    block_points: usize,
    timeout: Duration,
) -> Result<GpuPoints> {
    let (n, d) = x.dim();
    let x = x.as_standard_layout();
    let rows = x
        .as_slice()
        .ok_or_else(|| Error::Data("points must be in standard (row-major) layout".into()))?;
    // Per-feature ranges in one parallel pass over the rows.
    let empty = || (vec![f32::INFINITY; d], vec![f32::NEG_INFINITY; d]);
    let (lo, hi) = rows
        .par_chunks(d * 4096)
        .map(|block| {
            let (mut lo, mut hi) = empty();
            for row in block.chunks_exact(d) {
                for j in 0..d {
                    lo[j] = lo[j].min(row[j]);
                    hi[j] = hi[j].max(row[j]);
                }
            }
            (lo, hi)
        })
        .reduce(empty, |(mut l, mut h), (l2, h2)| {
            for j in 0..d {
                l[j] = l[j].min(l2[j]);
                h[j] = h[j].max(h2[j]);
            }
            (l, h)
        });
    let centre32: Vec<f32> = (0..d)
        .map(|j| ((lo[j] as f64 + hi[j] as f64) / 2.0) as f32)
        .collect();
    // The f32 centre is what is subtracted; bound |x - centre| from it, with a margin for the
    // subtraction's rounding.
    let radius: Vec<f64> = (0..d)
        .map(|j| {
            let c = centre32[j] as f64;
            (hi[j] as f64 - c).max(c - lo[j] as f64) * (1.0 + 1e-6)
        })
        .collect();
    let scale: Vec<f32> = radius.iter().map(|&r| pow2_scale(r, 30)).collect();
    let centre: Vec<f64> = centre32.iter().map(|&c| c as f64).collect();
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
                let buffer = buffer(
                    ctx,
                    "points",
                    (len * d * 4) as u64,
                    wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                );
                stage_chunk(ctx, &buffer, src, len, d, &centre32, block_points, timeout)?;
                chunks.push(PointChunk { buffer, len });
                first += len;
            }
            Ok(())
        },
    )?;
    // Wait for the copies, so upload time is measured where it is spent.
    let done = ctx.queue.submit([]);
    ctx.wait(done, timeout)?;
    Ok(GpuPoints {
        n,
        d,
        chunks,
        centre,
        radius,
        scale,
    })
}

/// How a fit's kernel is chosen, beyond the device's defaults.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Choice {
    pub(crate) acc: Option<Accumulator>,
    pub(crate) global: bool,
    pub(crate) kernel: Option<KernelKind>,
    pub(crate) argmin: Option<Argmin>,
    pub(crate) max_groups_x: u32,
    pub(crate) max_pass_groups: Option<u64>,
    pub(crate) submission_work: u64,
}

/// Plans the passes of a fit with `k` clusters and creates its buffers and bind groups.
pub(crate) fn start(
    ctx: &GpuContext,
    points: &GpuPoints,
    k: usize,
    choice: Choice,
) -> Result<GpuRun> {
    let d = points.d;
    let cells = k * d + k + 2;
    let acc = choice.acc.unwrap_or(ctx.pipelines.default_acc);
    if !ctx.pipelines.has(acc) {
        return Err(Error::Unsupported(format!(
            "adapter '{}' has no 64-bit atomics, so the '{}' accumulator cannot run",
            ctx.adapter.name,
            acc.name()
        )));
    }
    let kernel = choice.kernel.unwrap_or(
        if ctx.adapter.hardware && k >= 16 && k * d >= super::TILED_MIN_KD {
            KernelKind::Tiled
        } else {
            KernelKind::Broadcast
        },
    );
    let tiled = match kernel {
        KernelKind::Broadcast => None,
        KernelKind::Tiled => {
            let argmin = choice.argmin.unwrap_or(ctx.pipelines.default_argmin);
            if !ctx.pipelines.has_argmin(argmin) {
                return Err(Error::Unsupported(format!(
                    "adapter '{}' has no usable subgroups, so the '{}' argmin cannot run",
                    ctx.adapter.name,
                    argmin.name()
                )));
            }
            Some(argmin)
        }
    };
    let wg_cells = ctx
        .pipelines
        .wg_cells(cells, choice.global, tiled.is_some());
    let ppt = match tiled {
        None => ctx
            .pipelines
            .points_per_thread(k, d, wg_cells, &ctx.adapter.name)?,
        Some(_) => ctx
            .pipelines
            .tiles_per_group(k, d, wg_cells, &ctx.adapter.name)?,
    };
    let shape = Shape {
        d: d as u32,
        ppt,
        wg_cells,
        acc,
        tiled,
    };
    let kernels = ctx.pipelines.kernels(&ctx.device, shape)?;
    let tile = ctx.pipelines.group_points(&shape) as u64;
    let binding = ctx
        .limits
        .max_storage_buffer_binding_size
        .min(ctx.limits.max_buffer_size);
    if 8 * cells as u64 > binding {
        return Err(Error::Unsupported(format!(
            "k = {k} with {d} features needs {} bytes of sums, more than this GPU can bind; \
             use {cpu}",
            8 * cells,
            cpu = crate::error::Param::Backend.set("cpu")
        )));
    }
    let max_x = choice.max_groups_x.max(1) as u64;
    let max_groups = (max_x * ctx.limits.max_compute_workgroups_per_dimension as u64)
        .min(choice.max_pass_groups.unwrap_or(u64::MAX).max(1));
    // A pass is also bounded by the submission budget, so that passes can be grouped into
    // submissions of at most that much work (one tile at least).
    let work_per_point = (k * d).max(1) as u64;
    let budget_points = (choice.submission_work / work_per_point).max(tile);
    let pass_points = (max_groups * tile).min(budget_points / tile * tile);

    let mut plan = Vec::new(); // (chunk, first, count)
    for (c, chunk) in points.chunks.iter().enumerate() {
        let mut first = 0u64;
        while first < chunk.len as u64 {
            let count = pass_points.min(chunk.len as u64 - first);
            plan.push((c, first, count));
            first += count;
        }
    }

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
            (k * d.div_ceil(4) * 16) as u64,
            storage | wgpu::BufferUsages::COPY_DST,
        );
        let scales = buffer(
            ctx,
            "scales",
            ((d + 3 + k) * 4) as u64,
            storage | wgpu::BufferUsages::COPY_DST,
        );
        let totals = buffer(
            ctx,
            "64-bit cells",
            (cells * 8) as u64,
            storage | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        );
        let staging = buffer(
            ctx,
            "read-back",
            (cells * 8) as u64,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let mut passes = Vec::with_capacity(plan.len());
        // Consecutive passes share a submission while their points fit the budget.
        let mut submissions = Vec::new();
        let mut in_submission = u64::MAX;
        for (p, &(_, _, count)) in plan.iter().enumerate() {
            if in_submission.saturating_add(count) > budget_points {
                submissions.push(p);
                in_submission = 0;
            }
            in_submission += count;
        }
        for &(c, first, count) in &plan {
            let groups = count.div_ceil(tile);
            let gx = groups.min(max_x);
            let gy = groups.div_ceil(gx);
            let params = Params {
                chunk_n: points.chunks[c].len as u32,
                first: first as u32,
                count: count as u32,
                k: k as u32,
                num_groups: groups as u32,
                groups_x: gx as u32,
                cells: cells as u32,
                pad: 0,
            };
            let params_buf = ctx
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("params"),
                    contents: bytemuck::bytes_of(&params),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
            let group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("assign"),
                layout: &ctx.pipelines.assign_layout,
                entries: &entries(&[
                    &points.chunks[c].buffer,
                    &centroids,
                    &labels[c],
                    &totals,
                    &scales,
                    &params_buf,
                ]),
            });
            passes.push(Pass {
                group,
                dispatch: (gx as u32, gy as u32),
                _params: params_buf,
            });
        }
        Ok(GpuRun {
            k,
            labels,
            centroids,
            scales,
            totals,
            staging,
            passes,
            submissions,
            kernels: kernels.clone(),
            shape,
        })
    })
}

/// Maps `buffer` (MAP_READ) after `submission` and copies its bytes out.
pub(super) fn read_mapped(
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

/// One Lloyd step over every pass: writes the centred centroids and the scales, zeroes the
/// cells, runs the kernel per pass, and reads back only the k·d + k + 2 cells.
pub(crate) fn step(
    ctx: &GpuContext,
    points: &GpuPoints,
    run: &GpuRun,
    centroids: &[f32],
    timeout: Duration,
) -> Result<Totals> {
    let (k, d) = (run.k, points.d);
    let d4 = d.div_ceil(4);
    // Centred rows, zero-padded to whole vec4s.
    let mut centred = vec![0f32; k * d4 * 4];
    for (c, row) in centroids.chunks_exact(d).enumerate() {
        for (j, (&v, &m)) in row.iter().zip(&points.centre).enumerate() {
            centred[c * d4 * 4 + j] = (v as f64 - m) as f32;
        }
    }
    let rows = || centred.chunks_exact(d4 * 4);
    // Every point lies in the box |x_j| ≤ radius_j, so its distance to its nearest centroid
    // is at most the smallest, over centroids, of the distance to the box's farthest corner.
    let bound = rows()
        .map(|c| {
            c.iter()
                .zip(&points.radius)
                .map(|(&v, &r)| (v.abs() as f64 + r).powi(2))
                .sum::<f64>()
        })
        .fold(f64::INFINITY, f64::min)
        * (1.0 + 1e-5);
    let inertia_scale = pow2_scale(bound * points.n.max(1) as f64, 61);
    let norms: Vec<f64> = rows()
        .map(|c| c.iter().map(|&v| (v as f64).powi(2)).sum())
        .collect();
    let mut scales = points.scale.clone();
    scales.push(inertia_scale);
    // Near-tie margin factor of the expanded distance form (see kmeans_assign.wgsl).
    scales.push(8.0 * (d as f32 + 3.0) * 2f32.powi(-24));
    scales.extend(norms.iter().map(|&v| v as f32));
    scales.push(norms.iter().copied().fold(0.0, f64::max) as f32);
    let submission = ctx.scoped("running a k-means step on the GPU", || {
        ctx.queue
            .write_buffer(&run.centroids, 0, bytemuck::cast_slice(&centred));
        ctx.queue
            .write_buffer(&run.scales, 0, bytemuck::cast_slice(&scales));
        let mut last = None;
        for (s, &from) in run.submissions.iter().enumerate() {
            let to = run
                .submissions
                .get(s + 1)
                .copied()
                .unwrap_or(run.passes.len());
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("k-means step"),
                });
            if s == 0 {
                encoder.clear_buffer(&run.totals, 0, None);
            }
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("assign + accumulate"),
                    timestamp_writes: None,
                });
                pass.set_pipeline(&run.kernels.assign);
                for p in &run.passes[from..to] {
                    pass.set_bind_group(0, &p.group, &[]);
                    pass.dispatch_workgroups(p.dispatch.0, p.dispatch.1, 1);
                }
            }
            if to == run.passes.len() {
                encoder.copy_buffer_to_buffer(&run.totals, 0, &run.staging, 0, run.totals.size());
            }
            // Submitted back to back: the queue runs them in order, each one short.
            last = Some(ctx.queue.submit([encoder.finish()]));
        }
        last.ok_or_else(|| Error::Gpu("a step with no passes".into()))
    })?;
    let bytes = read_mapped(ctx, &run.staging, submission, timeout)?;
    let cells: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect();
    if cells.len() < k * d + k + 2 {
        return Err(Error::Gpu("the GPU's sums came back short".into()));
    }
    let counts = cells[k * d..k * d + k].to_vec();
    let mut sums = vec![0f64; k * d];
    for c in 0..k {
        for j in 0..d {
            // Two's complement cells: the fixed-point sum of centred coordinates.
            let q = cells[c * d + j] as i64 as f64;
            sums[c * d + j] = q / points.scale[j] as f64 + counts[c] as f64 * points.centre[j];
        }
    }
    Ok(Totals {
        sums,
        counts,
        inertia: cells[k * d + k] as f64 / inertia_scale as f64,
        changed: cells[k * d + k + 1],
    })
}

/// See `GpuBackend::bandwidth_probe`.
pub(crate) fn bandwidth_probe(ctx: &GpuContext, timeout: Duration) -> Result<f64> {
    let (bytes, copies, rounds) = if ctx.adapter.hardware {
        (256u64 << 20, 8, 4)
    } else {
        (16u64 << 20, 2, 3)
    };
    let bytes = bytes.min((ctx.limits.max_buffer_size / 2) & !3);
    let usage = wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
    let (src, dst) = ctx.scoped("probing the GPU's bandwidth", || {
        Ok((
            buffer(ctx, "probe source", bytes, usage),
            buffer(ctx, "probe target", bytes, usage),
        ))
    })?;
    let mut best = f64::INFINITY;
    for round in 0..rounds {
        let t = std::time::Instant::now();
        let submission = ctx.scoped("probing the GPU's bandwidth", || {
            let mut encoder = ctx
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("bandwidth probe"),
                });
            for i in 0..copies {
                let (a, b) = if i % 2 == 0 {
                    (&src, &dst)
                } else {
                    (&dst, &src)
                };
                encoder.copy_buffer_to_buffer(a, 0, b, 0, bytes);
            }
            Ok(ctx.queue.submit([encoder.finish()]))
        })?;
        ctx.wait(submission, timeout)?;
        // Round 0 warms up (first touch of the pages, clocks).
        if round > 0 {
            best = best.min(t.elapsed().as_secs_f64());
        }
    }
    Ok(2.0 * (bytes * copies) as f64 / best.max(1e-9) / 1e9)
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

// What a streamed fit (`stream.rs`) needs of a run: it drives the passes one block at a time.
impl GpuRun {
    /// Records pass `p` (the kernel over one chunk range) into `cpass`.
    pub(super) fn dispatch_pass(&self, cpass: &mut wgpu::ComputePass<'_>, p: usize) {
        cpass.set_pipeline(&self.kernels.assign);
        let pass = &self.passes[p];
        cpass.set_bind_group(0, &pass.group, &[]);
        cpass.dispatch_workgroups(pass.dispatch.0, pass.dispatch.1, 1);
    }

    /// The centroid, scale, 64-bit cell and read-back buffers, in that order.
    pub(super) fn step_buffers(&self) -> [&wgpu::Buffer; 4] {
        [&self.centroids, &self.scales, &self.totals, &self.staging]
    }
}
