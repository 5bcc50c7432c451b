//! `segmenter demo`: generates the built-in customer table and segments it.
//!
//! Interim version (issue 3): rows with a missing or non-numeric value are skipped, the five
//! numeric columns are standardised and clustered with k = 4. Issue 5 replaces this with the
//! whole `run` workflow.

use crate::backend::CpuBackend;
use crate::error::{Error, Result};
use crate::kmeans::{fit, KMeansParams};
use crate::synth::{generate_customers, CustomersSpec};
use ndarray::Array2;
use std::path::Path;

/// Generates `rows` customers into `dir`, clusters them, and returns a printable summary.
pub fn run_demo(dir: &Path, rows: u64, seed: u64) -> Result<String> {
    let path = dir.join("customers.csv");
    generate_customers(&CustomersSpec { rows, seed }, &path, None)?;
    let mut rdr = csv::Reader::from_path(&path).map_err(|e| Error::Csv {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let mut values = Vec::new();
    let mut kept = 0usize;
    let mut rec = csv::StringRecord::new();
    while rdr.read_record(&mut rec).map_err(|e| Error::Csv {
        path: path.clone(),
        message: e.to_string(),
    })? {
        let row: Option<Vec<f32>> = (2..7)
            .map(|j| rec.get(j).and_then(|s| s.parse().ok()))
            .collect();
        if let Some(r) = row {
            values.extend(r);
            kept += 1;
        }
    }
    let mut x =
        Array2::from_shape_vec((kept, 5), values).map_err(|e| Error::Data(e.to_string()))?;
    let mean = x
        .mean_axis(ndarray::Axis(0))
        .ok_or_else(|| Error::Data("no complete rows".into()))?;
    let std = x.std_axis(ndarray::Axis(0), 0.0);
    for mut row in x.rows_mut() {
        for j in 0..5 {
            row[j] = (row[j] - mean[j]) / std[j].max(1e-12);
        }
    }
    let f = fit(&CpuBackend, x.view(), &KMeansParams::new(4).seed(seed))?;
    let mut out = format!(
        "generated {rows} customers in {}\nclustered {kept} complete rows into 4 segments (inertia {:.4e}, {} iterations)\n",
        path.display(),
        f.inertia,
        f.iterations
    );
    let names = crate::synth::customers::NUMERIC_COLUMNS;
    for (c, row) in f.model.centroids.rows().into_iter().enumerate() {
        let size = f.labels.iter().filter(|&&l| l as usize == c).count();
        let vals: Vec<String> = (0..5)
            .map(|j| format!("{} {:.1}", names[j], row[j] * std[j] + mean[j]))
            .collect();
        out += &format!("  segment {c}: {size} customers; {}\n", vals.join(", "));
    }
    Ok(out)
}
