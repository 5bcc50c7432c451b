//! Isotropic Gaussian blobs (like scikit-learn's `make_blobs`): a numeric CSV `x0..x{D-1}`.

use crate::error::{Error, ParamError, Result};
use crate::io::AtomicFile;
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::io::Write;
use std::path::Path;

/// What to generate.
#[derive(Clone, Debug)]
pub struct BlobsSpec {
    /// Rows.
    pub rows: u64,
    /// Features.
    pub dims: usize,
    /// Number of blob centres, drawn uniformly in [-10, 10] per feature.
    pub centers: usize,
    /// Standard deviation of every blob.
    pub std: f64,
    /// Seed.
    pub seed: u64,
}

/// Centres of the blobs, drawn first from the seed so they do not depend on `rows`.
pub fn blob_centers(spec: &BlobsSpec) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    (0..spec.centers)
        .map(|_| {
            (0..spec.dims)
                .map(|_| rng.random_range(-10.0..10.0))
                .collect()
        })
        .collect()
}

fn check_spec(spec: &BlobsSpec) -> Result<()> {
    if spec.dims == 0 || spec.centers == 0 {
        return Err(ParamError::BlobsZero.into());
    }
    if !spec.std.is_finite() || spec.std < 0.0 {
        return Err(ParamError::Std(spec.std).into());
    }
    Ok(())
}

/// The blobs as an in-memory rows×dims matrix, with the labels (0-based blob of every row).
/// Draws the same numbers as `generate_blobs`, without its rounding to 5 decimals.
pub fn blobs_matrix(spec: &BlobsSpec) -> Result<(Array2<f32>, Vec<u32>)> {
    check_spec(spec)?;
    let centers = blob_centers(spec);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x9e37_79b9_7f4a_7c15);
    let rows = usize::try_from(spec.rows)
        .map_err(|_| Error::Data(format!("{} rows do not fit in memory", spec.rows)))?;
    let mut values = Vec::with_capacity(rows * spec.dims);
    let mut truth = Vec::with_capacity(rows);
    for _ in 0..rows {
        let c = rng.random_range(0..spec.centers);
        for &m in &centers[c] {
            let z: f64 = StandardNormal.sample(&mut rng);
            values.push((m + spec.std * z) as f32);
        }
        truth.push(c as u32);
    }
    let x = Array2::from_shape_vec((rows, spec.dims), values)
        .map_err(|e| Error::Data(e.to_string()))?;
    Ok((x, truth))
}

/// Streams the blobs CSV to `out` and, when given, `row,segment` to `truth`.
pub fn generate_blobs(spec: &BlobsSpec, out: &Path, truth: Option<&Path>) -> Result<()> {
    check_spec(spec)?;
    let centers = blob_centers(spec);
    // The point stream has its own generator so that adding --truth changes nothing.
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut file = AtomicFile::create(out)?;
    let mut truth_file = truth.map(AtomicFile::create).transpose()?;
    let io = |e: std::io::Error| Error::write(out, e);
    let header: Vec<String> = (0..spec.dims).map(|j| format!("x{j}")).collect();
    writeln!(file.writer(), "{}", header.join(",")).map_err(io)?;
    if let Some(t) = truth_file.as_mut() {
        t.writer().write_all(b"row,segment\n").map_err(io)?;
    }
    let mut line = Vec::with_capacity(16 * spec.dims);
    for row in 1..=spec.rows {
        let c = rng.random_range(0..spec.centers);
        line.clear();
        for (j, &m) in centers[c].iter().enumerate() {
            if j > 0 {
                line.push(b',');
            }
            let z: f64 = StandardNormal.sample(&mut rng);
            super::push_fixed(&mut line, m + spec.std * z, 5);
        }
        line.push(b'\n');
        file.writer().write_all(&line).map_err(io)?;
        if let Some(t) = truth_file.as_mut() {
            writeln!(t.writer(), "{row},{c}").map_err(io)?;
        }
    }
    file.commit()?;
    if let Some(t) = truth_file {
        t.commit()?;
    }
    Ok(())
}
