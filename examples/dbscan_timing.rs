//! Times DBSCAN (and the eps suggestion) once on seeded Gaussian blobs, in memory.
//!
//! `cargo run --release --example dbscan_timing -- ROWS DIMS [EPS] [MIN_SAMPLES] [RAW_OUT]`
//! (defaults: 1,000,000 rows, 2 features, eps suggested, min_samples 5). Blobs are
//! `synth::blobs_matrix` with 5 centres in [-10, 10]^DIMS and sd 1. With RAW_OUT the matrix is
//! also written there as little-endian f32, row-major, for `benches/dbscan_sklearn.py`.

use segmenter::bench::process_cpu_seconds;
use segmenter::cluster::dbscan::{dbscan, suggest_eps, DbscanParams};
use segmenter::synth::blobs::{blobs_matrix, BlobsSpec};
use std::io::Write;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rows: u64 = args.first().map_or(Ok(1_000_000), |s| s.parse())?;
    let dims: usize = args.get(1).map_or(Ok(2), |s| s.parse())?;
    let eps: Option<f64> = args.get(2).map(|s| s.parse()).transpose()?;
    let min_samples: usize = args.get(3).map_or(Ok(5), |s| s.parse())?;
    let (x, _) = blobs_matrix(&BlobsSpec {
        rows,
        dims,
        centers: 5,
        std: 1.0,
        seed: 42,
    })?;
    if let Some(path) = args.get(4) {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for v in x.iter() {
            f.write_all(&v.to_le_bytes())?;
        }
    }
    let t = Instant::now();
    let eps = match eps {
        Some(e) => e,
        None => {
            let s = suggest_eps(x.view(), min_samples, 10_000, 0)?;
            println!(
                "suggest_eps (10,000 sampled rows against all {rows}): eps = {:.5} in {:.3} s",
                s.eps,
                t.elapsed().as_secs_f64()
            );
            s.eps
        }
    };
    let t = Instant::now();
    let c = process_cpu_seconds();
    let r = dbscan(x.view(), &DbscanParams { eps, min_samples })?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds() - c;
    let cores = r.is_core.iter().filter(|&&c| c).count();
    println!(
        "dbscan {rows} x {dims}, eps {eps:.5}, min_samples {min_samples}: {secs:.3} s wall, {cpu:.2} s CPU, \
         {} clusters, {} noise, {cores} core, {} threads",
        r.n_clusters,
        r.n_noise,
        rayon::current_num_threads()
    );
    Ok(())
}
