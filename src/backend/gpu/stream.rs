//! Lloyd steps over points that never sit on the GPU all at once (a run in passes): each step
//! streams the rows block by block through two fixed device buffers (block i + 1 is read and
//! uploaded while the kernel runs on block i) into one set of 64-bit fixed-point cells, read
//! back once per step. The labels of all n rows stay on the device, one buffer per block, so
//! `changed` is counted as in memory. The kernel, the cells and their decoding are the
//! in-memory step's.

use super::buffers::{self, pow2_scale, GpuPoints, GpuRun, PointChunk};
use super::{GpuBackend, SUBMISSION_WORK};
use crate::backend::Step;
use crate::error::{Error, Result};
use rayon::prelude::*;

/// Rows per streamed block by default (64 MiB at 16 features): large enough that a block's
/// launch and upload costs are small against its kernel, small enough that two blocks in
/// flight cost little memory. `SEGMENTER_GPU_CHUNK_POINTS` (`GpuConfig::chunk_points`) caps it.
pub const STREAM_BLOCK_POINTS: usize = 1 << 20;

/// Reads rows `at..at + m` of the n×d row-major points into the buffer (resized to m·d).
pub type ReadRows<'a> = dyn FnMut(usize, usize, &mut Vec<f32>) -> Result<()> + 'a;

/// One streamed fit with k clusters over n points of d features.
pub struct StreamRun {
    backend: GpuBackend,
    /// One chunk per block; the chunks share the two device buffers, alternately.
    points: GpuPoints,
    run: GpuRun,
    block: usize,
    rows: Vec<f32>,
    columns: Vec<f32>,
}

impl GpuBackend {
    /// Prepares a streamed fit: `lo` and `hi` bound each feature over all n points (they fix
    /// the centring and the fixed-point scales, as `upload` computes them from the data).
    pub fn stream_start(&self, n: usize, k: usize, lo: &[f32], hi: &[f32]) -> Result<StreamRun> {
        let d = lo.len();
        if n == 0 || d == 0 || hi.len() != d {
            return Err(Error::Data(
                "no data to cluster: the matrix has no rows or no columns".into(),
            ));
        }
        if let Some(why) = super::unsupported_dims(d) {
            return Err(Error::Unsupported(why));
        }
        if n > u32::MAX as usize - 1 || k == 0 || k >= u32::MAX as usize {
            return Err(Error::Unsupported(format!(
                "{n} points with k = {k} exceed the GPU kernels' 32-bit indices; use {cpu}",
                cpu = crate::error::Param::Backend.set("cpu")
            )));
        }
        let block = self.stream_block_points(n, d, k);
        let centre32: Vec<f32> = (0..d)
            .map(|j| ((lo[j] as f64 + hi[j] as f64) / 2.0) as f32)
            .collect();
        let radius: Vec<f64> = (0..d)
            .map(|j| {
                let c = centre32[j] as f64;
                (hi[j] as f64 - c).max(c - lo[j] as f64) * (1.0 + 1e-6)
            })
            .collect();
        let ctx = &self.ctx;
        let ring = ctx.scoped("allocating the GPU's stream buffers", || {
            Ok([0, 1].map(|_| {
                ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("streamed points"),
                    size: (block * d * 4) as u64,
                    usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            }))
        })?;
        let chunks = (0..n.div_ceil(block))
            .map(|b| PointChunk {
                buffer: ring[b % 2].clone(),
                len: block.min(n - b * block),
            })
            .collect::<Vec<_>>();
        let points = GpuPoints {
            n,
            d,
            chunks,
            centre: centre32.iter().map(|&c| c as f64).collect(),
            scale: radius.iter().map(|&r| pow2_scale(r, 30)).collect(),
            radius,
        };
        let run = self.start_on(&points, k)?;
        if run.pass_count() != points.chunks.len() {
            // A block is one pass so that each submission runs exactly its own block.
            return Err(Error::Gpu(format!(
                "a streamed block of {block} points needs {} passes over {} blocks",
                run.pass_count(),
                points.chunks.len()
            )));
        }
        Ok(StreamRun {
            backend: self.clone(),
            points,
            run,
            block,
            rows: Vec::new(),
            columns: vec![0f32; block * d],
        })
    }

    /// Rows per block of a streamed fit of n points, d features and k clusters: at most
    /// [`STREAM_BLOCK_POINTS`], the configured chunk and one binding, and one block per
    /// submission within the display-watchdog budget.
    pub fn stream_block_points(&self, n: usize, d: usize, k: usize) -> usize {
        let budget = (self.config.max_submission_work.unwrap_or(SUBMISSION_WORK)
            / (k * d).max(1) as u64)
            .max(1024) as usize;
        self.chunk_points(d.max(1))
            .min(STREAM_BLOCK_POINTS)
            .min(budget)
            .min(n)
            .max(1)
    }

    /// `start` with no submission budget: a streamed step submits one block at a time.
    fn start_on(&self, points: &GpuPoints, k: usize) -> Result<GpuRun> {
        let l = &self.ctx.limits;
        let max_x = self
            .config
            .max_groups_x
            .unwrap_or(l.max_compute_workgroups_per_dimension)
            .min(l.max_compute_workgroups_per_dimension);
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
                max_pass_groups: None,
                submission_work: u64::MAX,
            },
        )
    }
}

impl StreamRun {
    /// Rows per streamed block.
    pub fn block_points(&self) -> usize {
        self.block
    }

    /// Blocks per step.
    pub fn block_count(&self) -> usize {
        self.points.chunks.len()
    }

    /// Bytes of points uploaded per step (n·d·4).
    pub fn bytes_per_step(&self) -> u64 {
        (self.points.n * self.points.d * 4) as u64
    }

    /// One Lloyd step over every block, `read` supplying the rows: sums and counts from the
    /// fixed-point cells, the inertia, and the points whose label changed.
    pub fn step(&mut self, centroids: &[f32], read: &mut ReadRows<'_>) -> Result<Step> {
        let ctx = &self.backend.ctx;
        let timeout = self.backend.config.timeout;
        let (d, k) = (self.points.d, self.run.k);
        if centroids.len() != k * d {
            return Err(Error::Data(format!(
                "{} centroid values given for k = {k} and d = {d}",
                centroids.len()
            )));
        }
        let (scales, inertia_scale) = step_scales(&self.points, centroids);
        let [cbuf, sbuf, totals, staging] = self.run.step_buffers();
        let mut last = None;
        let mut previous = None;
        for b in 0..self.points.chunks.len() {
            let at = b * self.block;
            let len = self.points.chunks[b].len;
            read(at, len, &mut self.rows)?;
            if self.rows.len() != len * d {
                return Err(Error::Data(format!(
                    "rows {at}..{} came back with {} values, not {}",
                    at + len,
                    self.rows.len(),
                    len * d
                )));
            }
            // Centred and feature-major, as `upload` lays a chunk out.
            let (rows, centre) = (&self.rows, &self.points.centre);
            self.columns[..len * d]
                .par_chunks_mut(len)
                .enumerate()
                .for_each(|(j, col)| {
                    let c = centre[j] as f32;
                    for (i, v) in col.iter_mut().enumerate() {
                        *v = rows[i * d + j] - c;
                    }
                });
            let buffer = &self.points.chunks[b].buffer;
            let columns = &self.columns[..len * d];
            let submission = ctx.scoped("running a streamed k-means step on the GPU", || {
                if b == 0 {
                    ctx.queue
                        .write_buffer(cbuf, 0, bytemuck::cast_slice(&scales.0));
                    ctx.queue
                        .write_buffer(sbuf, 0, bytemuck::cast_slice(&scales.1));
                }
                ctx.queue
                    .write_buffer(buffer, 0, bytemuck::cast_slice(columns));
                let mut encoder =
                    ctx.device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("streamed k-means block"),
                        });
                if b == 0 {
                    encoder.clear_buffer(totals, 0, None);
                }
                {
                    let mut cpass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("assign + accumulate"),
                        timestamp_writes: None,
                    });
                    self.run.dispatch_pass(&mut cpass, b);
                }
                if b + 1 == self.points.chunks.len() {
                    encoder.copy_buffer_to_buffer(totals, 0, staging, 0, totals.size());
                }
                Ok(ctx.queue.submit([encoder.finish()]))
            })?;
            // At most two blocks in flight: the next block is read while this one runs, and
            // the buffer it will overwrite is free.
            if let Some(p) = previous.replace(submission.clone()) {
                ctx.wait(p, timeout)?;
            }
            last = Some(submission);
        }
        let last = last.ok_or_else(|| Error::Gpu("a streamed step with no blocks".into()))?;
        let bytes = buffers::read_mapped(ctx, staging, last, timeout)?;
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
                let q = cells[c * d + j] as i64 as f64;
                sums[c * d + j] =
                    q / self.points.scale[j] as f64 + counts[c] as f64 * self.points.centre[j];
            }
        }
        Ok(Step {
            sums,
            counts,
            inertia: Some(cells[k * d + k] as f64 / inertia_scale as f64),
            changed: cells[k * d + k + 1],
        })
    }

    /// The labels of the last step, one per point, read back from the device.
    pub fn labels(&self) -> Result<Vec<u32>> {
        buffers::labels(
            &self.backend.ctx,
            &self.points,
            &self.run,
            self.backend.config.timeout,
        )
    }
}

/// The centred, vec4-padded centroid rows and the scales buffer of a step (as the in-memory
/// step writes them), and the inertia's fixed-point scale.
#[allow(clippy::type_complexity)]
fn step_scales(points: &GpuPoints, centroids: &[f32]) -> ((Vec<f32>, Vec<f32>), f32) {
    let d = points.d;
    let k = centroids.len() / d;
    let d4 = d.div_ceil(4);
    let mut centred = vec![0f32; k * d4 * 4];
    for (c, row) in centroids.chunks_exact(d).enumerate() {
        for (j, (&v, &m)) in row.iter().zip(&points.centre).enumerate() {
            centred[c * d4 * 4 + j] = (v as f64 - m) as f32;
        }
    }
    let rows = || centred.chunks_exact(d4 * 4);
    // Every point lies in the box |x_j| ≤ radius_j: its squared distance to its nearest
    // centroid is at most the smallest distance to the box's farthest corner.
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
    scales.push(8.0 * (d as f32 + 3.0) * 2f32.powi(-24));
    scales.extend(norms.iter().map(|&v| v as f32));
    scales.push(norms.iter().copied().fold(0.0, f64::max) as f32);
    ((centred, scales), inertia_scale)
}
