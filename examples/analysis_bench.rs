//! Times the analysis + report half of the workflow on the planted customer segments, in
//! memory (no CSV): k sweep with silhouettes, final fit, PCA, profiles, correlation, report.
//!
//! `cargo run --release --example analysis_bench -- ROWS [OUT_DIR] [SWEEP_SAMPLE]`
//! (defaults: 1,000,000 rows, `analysis-bench-out/`, sweep on all rows).

use ndarray::{Array2, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use segmenter::analysis::{
    choose_k, correlation, profile_segments, sample_indices, sampled_silhouette,
    simplified_silhouette, sweep_k, Pca, ProfileInput,
};
use segmenter::backend::CpuBackend;
use segmenter::bench::process_cpu_seconds;
use segmenter::kmeans::{fit_uploaded, KMeansParams, Start, Uploaded};
use segmenter::report::{feature_sample, scatter_sample, write_report, ReportInput};
use segmenter::synth::customers::NUMERIC_COLUMNS;
use segmenter::synth::SEGMENTS;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let out = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "analysis-bench-out".into());
    let sweep_sample: Option<usize> = args.get(3).map(|s| s.parse()).transpose()?;
    let seed = 42u64;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = NUMERIC_COLUMNS.len();
    let mut raw = Array2::<f64>::zeros((n, d));
    // A categorical column that is not clustered on but differs by segment, to exercise level
    // shares in the profiles: the share of "app" rises with the planted segment's app time.
    let mut channel = Vec::with_capacity(n);
    for mut row in raw.rows_mut() {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut seg = SEGMENTS.len() - 1;
        for (s, sd) in SEGMENTS.iter().enumerate() {
            acc += sd.share;
            if u < acc {
                seg = s;
                break;
            }
        }
        for (j, &(m, sd)) in SEGMENTS[seg].dist.iter().enumerate() {
            let z: f64 = StandardNormal.sample(&mut rng);
            row[j] = m + sd * z;
        }
        let p_app = [0.2, 0.7, 0.15, 0.5][seg];
        let u: f64 = rng.random();
        channel.push(if u < p_app {
            0u32
        } else if u < 0.9 {
            1
        } else {
            2
        });
    }
    let mean = raw.mean_axis(Axis(0)).ok_or("no rows")?;
    let sd = raw.std_axis(Axis(0), 0.0);
    let x = Array2::from_shape_fn((n, d), |(i, j)| ((raw[[i, j]] - mean[j]) / sd[j]) as f32);

    let mut timings: Vec<(String, f64)> = Vec::new();
    let mut cpu0 = process_cpu_seconds();
    let mut lap = |name: &str, t: Instant| {
        let s = t.elapsed().as_secs_f64();
        let cpu = process_cpu_seconds();
        println!("{name:<28} {s:8.3} s wall {:8.2} s cpu", cpu - cpu0);
        cpu0 = cpu;
        timings.push((name.to_string(), s));
    };
    let params = KMeansParams::new(4).seed(seed);
    let backend = CpuBackend;
    let t = Instant::now();
    let (sweep_x, sweep_rows) = match sweep_sample {
        Some(m) if m < n => (
            x.select(Axis(0), &sample_indices(n, m, seed)),
            Some(m as u64),
        ),
        _ => (x.clone(), None),
    };
    let pts = Uploaded::new(&backend, sweep_x.view())?;
    let sweep = sweep_k(&pts, 2..=10, &params, 10_000)?;
    lap("sweep k=2..10 + silhouettes", t);
    let scores: Vec<_> = sweep.iter().map(|(s, _)| s.clone()).collect();
    let choice = choose_k(&scores);
    println!("chosen k = {} (knee {:?})", choice.k, choice.knee);
    for s in &choice.scores {
        println!(
            "  k={:2} inertia={:.4e} sil={:.4} simp={:.4} it={} fit={:.3}s",
            s.k, s.inertia, s.silhouette, s.simplified_silhouette, s.iterations, s.seconds
        );
    }
    let t = Instant::now();
    let fit = if sweep_rows.is_none() {
        sweep
            .into_iter()
            .find(|(s, _)| s.k == choice.k)
            .map(|(_, f)| f)
            .ok_or("chosen k not in sweep")?
    } else {
        let all = Uploaded::new(&backend, x.view())?;
        let mut f = fit_uploaded(
            &all,
            &KMeansParams {
                k: choice.k,
                ..params.clone()
            },
            Start::Init,
        )?;
        f.canonicalize();
        f
    };
    lap("final fit", t);
    let t = Instant::now();
    let sil = sampled_silhouette(x.view(), &fit.labels, 10_000, seed)?;
    let simple = simplified_silhouette(x.view(), fit.model.centroids.view(), &fit.labels)?;
    lap("final silhouettes", t);
    let t = Instant::now();
    let pca = Pca::fit(x.view())?;
    let pcs = pca.project(x.view(), 2);
    lap("pca fit + project", t);
    let t = Instant::now();
    let input = ProfileInput {
        numeric: NUMERIC_COLUMNS
            .iter()
            .enumerate()
            .map(|(j, c)| (c.to_string(), raw.column(j).to_vec()))
            .collect(),
        categorical: vec![(
            "Preferred Channel".into(),
            vec!["app".into(), "web".into(), "store".into()],
            channel,
        )],
    };
    let profiles = profile_segments(&input, &fit.labels, choice.k);
    lap("profiles", t);
    let t = Instant::now();
    let corr = correlation(x.view());
    lap("correlation", t);
    let t = Instant::now();
    let cpu_before_report = process_cpu_seconds();
    let report = ReportInput {
        title: "Customer segments (analysis bench)".into(),
        input_file: format!("in-memory planted segments, {n} rows"),
        rows_in: n as u64,
        rows_segmented: n as u64,
        features: NUMERIC_COLUMNS.iter().map(|s| s.to_string()).collect(),
        notes: vec!["Features standardised to mean 0 and standard deviation 1.".into()],
        k: choice.k,
        k_choice: Some(choice),
        sweep_sample: sweep_rows,
        silhouette_sample: 10_000.min(n as u64),
        inertia: fit.inertia,
        silhouette: sil,
        simplified_silhouette: simple,
        explained_variance: pca.explained_variance.clone(),
        explained_variance_ratio: pca.explained_variance_ratio.clone(),
        pca_points: scatter_sample(
            pcs.view(),
            &fit.labels,
            segmenter::report::SCATTER_MAX,
            seed,
        ),
        histograms: feature_sample(&input, &fit.labels, segmenter::report::HISTOGRAM_MAX, seed),
        correlation: Some((
            NUMERIC_COLUMNS.iter().map(|s| s.to_string()).collect(),
            corr,
        )),
        profiles,
        timings: timings.clone(),
        backend: "cpu".into(),
        seed,
        version: env!("CARGO_PKG_VERSION").into(),
        ..Default::default()
    };
    let files = write_report(std::path::Path::new(&out), &report)?;
    let s = t.elapsed().as_secs_f64();
    println!(
        "{:<28} {s:8.3} s wall {:8.2} s cpu",
        "report (plots, md, html, csv)",
        process_cpu_seconds() - cpu_before_report
    );
    println!("wrote {}", files.html.display());
    Ok(())
}
