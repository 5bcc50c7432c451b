//! The text the binary prints for each command's result (the library returns values; `--json`
//! prints them as they are).

use segmenter::backend::info::{InfoReport, REFERENCE_PROBLEM};
use segmenter::bench::{BenchReport, BenchRow};
use segmenter::cluster::ClusterAlgorithm;
use segmenter::pipeline::derive::FeaturesSummary;
use segmenter::pipeline::numeric::KMeansSummary;
use segmenter::pipeline::StageTimes;
use segmenter::report::RunSummary;
use serde::Serialize;
use std::path::PathBuf;

/// The human-readable summary printed at the end of a run.
pub fn run(r: &RunSummary) -> String {
    let mut s = String::new();
    s += "schema\n";
    s += &r.schema_text;
    if !r.notes.is_empty() {
        s += "\ncleaning\n";
        for n in &r.notes {
            s += &format!("  {n}\n");
        }
    }
    s += &format!(
        "\n{} rows in: {} segmented, {} rejected ({} duplicates)\n",
        r.rows_in, r.rows_segmented, r.rows_rejected, r.duplicates
    );
    s += &format!(
        "k = {} ({}); silhouette {:.3} (sampled), simplified {:.3}, inertia {:.4e}; {} backend ({})\n",
        r.k,
        r.k_rule,
        r.silhouette,
        r.simplified_silhouette,
        r.inertia,
        r.backend,
        r.adapter
    );
    if r.algorithm != ClusterAlgorithm::Kmeans.name() || !r.algorithm_notes.is_empty() {
        s += &format!("\nalgorithm: {}\n", r.algorithm);
        for n in &r.algorithm_notes {
            s += &format!("  {n}\n");
        }
    }
    if !r.compare.is_empty() {
        s += "\ncompared (silhouette on the same sample, noise left out; noise-as-0 counts every row; none is ranked best)\n";
        s += &format!(
            "  {:<13} {:>8} {:>7} {:>10} {:>10} {:>8}  how\n",
            "algorithm", "clusters", "noise", "silhouette", "noise-as-0", "seconds"
        );
        for c in &r.compare {
            s += &format!(
                "  {:<13} {:>8} {:>6.1}% {:>10.3} {:>10.3} {:>8.3}  {}\n",
                c.algorithm,
                c.clusters,
                100.0 * c.noise_share,
                c.silhouette,
                c.covered_silhouette,
                c.seconds,
                c.note
            );
        }
    }
    s += "\nsegments\n";
    for (c, (size, name)) in r.sizes.iter().zip(&r.segment_names).enumerate() {
        s += &format!(
            "  {c}: {name} — {size} rows ({:.1}%)",
            100.0 * *size as f64 / r.rows_segmented.max(1) as f64
        );
        if let Some(v) = r
            .value_share
            .as_ref()
            .and_then(|v| Some((v, v.shares.get(c)?)))
        {
            s += &format!(", {:.1}% of {}", 100.0 * v.1, v.0.column);
        }
        if let Some(j) = r.segment_stability.get(c) {
            s += &format!(
                "; stability {j:.2} ({})",
                segmenter::analysis::stability_word(*j)
            );
        }
        s += "\n";
    }
    if r.noise_rows > 0 {
        s += &format!(
            "  -1: noise — {} rows ({:.1}%)\n",
            r.noise_rows,
            100.0 * r.noise_rows as f64 / r.rows_segmented.max(1) as f64
        );
    }
    s += "\n";
    s += &stage_times(&r.stage_seconds);
    s += &format!(
        "\nwrote {}/{}, rejects.csv, model.json and the report ({}/report.html)\n",
        r.out.display(),
        r.segments_file,
        r.out.display()
    );
    s
}

/// The summary of `segmenter kmeans`.
pub fn kmeans(r: &KMeansSummary) -> String {
    let mut s = format!(
        "k-means: k={} on {} rows × {} features, {} backend ({}), {} kernel\n\
         {} iterations ({}), inertia {:.6e}, fit {:.3} s, {:.3} ms/iter\n",
        r.k,
        r.n,
        r.d,
        r.backend,
        r.adapter,
        r.algorithm,
        r.iterations,
        if r.converged {
            "converged"
        } else {
            "max-iter reached"
        },
        r.inertia,
        r.fit_seconds,
        r.ms_per_iter
    );
    for (c, (row, size)) in r.centroids.iter().zip(&r.sizes).enumerate() {
        let vals: Vec<String> = row.iter().take(8).map(|v| format!("{v:.4}")).collect();
        let more = if row.len() > 8 { ", …" } else { "" };
        s += &format!(
            "  cluster {c}: {size} points, centroid [{}{more}]\n",
            vals.join(", ")
        );
    }
    s
}

/// What `predict` reports.
#[derive(Clone, Debug, Serialize)]
pub struct PredictSummary {
    /// Data rows read.
    pub rows_in: u64,
    /// Rows scored.
    pub rows_scored: u64,
    /// Rows that could not be scored (written to `rejects`).
    pub rows_rejected: u64,
    /// Where unscorable rows went, when there were any.
    pub rejects: Option<PathBuf>,
    /// Columns of the file the model does not use.
    pub extra_columns: Vec<String>,
    /// Rows per segment.
    pub sizes: Vec<u64>,
    /// Segment names.
    pub segment_names: Vec<String>,
    /// The scored file.
    pub output: PathBuf,
}

/// The summary of `segmenter predict`.
pub fn predict(r: &PredictSummary) -> String {
    let mut s = String::new();
    if !r.extra_columns.is_empty() {
        s += &format!(
            "note: column{} {} not in the file the model was fitted on: copied to the output, not used\n",
            if r.extra_columns.len() > 1 { "s" } else { "" },
            r.extra_columns
                .iter()
                .map(|c| format!("'{c}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s += &format!(
        "scored {} of {} rows into {}\n",
        r.rows_scored,
        r.rows_in,
        r.output.display()
    );
    if let Some(p) = &r.rejects {
        s += &format!(
            "{} rows could not be scored: see {}\n",
            r.rows_rejected,
            p.display()
        );
    }
    for (c, (size, name)) in r.sizes.iter().zip(&r.segment_names).enumerate() {
        s += &format!("  {c}: {name} — {size} rows\n");
    }
    s
}

/// An aligned table of stage, seconds and share of the total.
pub fn stage_times(t: &StageTimes) -> String {
    let total = t.total().max(1e-12);
    let mut s = format!("{:<10} {:>9} {:>6}\n", "stage", "seconds", "share");
    for (k, v) in &t.0 {
        s += &format!("{k:<10} {v:>9.3} {:>5.1}%\n", 100.0 * v / total);
    }
    s += &format!("{:<10} {:>9.3}\n", "total", t.total());
    s
}

/// The summary of `segmenter features`: lines read = used + rejected, then customers.
pub fn features(r: &FeaturesSummary) -> String {
    let customer_level = |reason: &str| r.customers_rejected.iter().any(|(c, _)| c == reason);
    let line_reasons: Vec<String> = r
        .rejects
        .iter()
        .filter(|(reason, _)| !customer_level(reason))
        .map(|(reason, n)| format!("{reason}: {n}"))
        .collect();
    let mut s = format!(
        "read {} lines ({}): {} used, {} rejected{}; as of {}\nwrote {} customers to {}\n",
        r.lines_read,
        r.columns,
        r.lines_used,
        r.lines_rejected,
        if line_reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", line_reasons.join(", "))
        },
        r.as_of,
        r.customers,
        r.output.display()
    );
    let left_out: u64 = r.customers_rejected.iter().map(|(_, n)| n).sum();
    if left_out > 0 {
        s += &format!(
            "left out {left_out} customer{} ({})\n",
            if left_out == 1 { "" } else { "s" },
            r.customers_rejected
                .iter()
                .map(|(reason, n)| format!("{reason}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s += &format!("rejects: {}\n", r.rejects_file.display());
    if r.rejects
        .iter()
        .any(|(reason, _)| reason == "unparseable date")
    {
        s += "note: accepted dates are ISO 8601 (2011-12-09, 2011-12-09T08:26:00, +01:00/Z), \
              'YYYY-MM-DD HH:MM:SS UTC', M/D/YYYY H:MM, D.M.YYYY, YYYYMMDD, 18-Apr-2021 and \
              Apr 18, 2021; pass --dayfirst for D/M/YYYY or --date-format FMT for any other form\n";
    }
    s
}

/// `bench`: a heading and the rows as an aligned text table.
pub fn bench(r: &BenchReport) -> String {
    format!(
        "k-means bench: {} rows × {} features, k = {}, {} Lloyd iterations from one shared \
             k-means++ init; agreement = labels equal to the CPU's\n{}",
        r.n,
        r.d,
        r.k,
        r.iters,
        bench_table(&r.rows)
    )
}

/// The bench rows as an aligned text table.
fn bench_table(rows: &[BenchRow]) -> String {
    let header = [
        "backend",
        "adapter",
        "type",
        "kernel",
        "upload s",
        "ms/iter",
        "inertia",
        "agreement",
        "GB/s",
        "x floor",
    ];
    let cells: Vec<[String; 10]> = rows
        .iter()
        .map(|r| {
            [
                r.backend.clone(),
                r.adapter.clone(),
                if r.device_type == "software" {
                    "software (CPU rasterizer, not a GPU)".into()
                } else {
                    r.device_type.clone()
                },
                r.kernel.clone(),
                format!("{:.3}", r.upload_seconds),
                format!("{:.2}", r.ms_per_iter),
                format!("{:.6e}", r.inertia),
                format!("{:.4}%", 100.0 * r.agreement),
                format!("{:.1}", r.gbs),
                r.x_floor.map_or("-".into(), |x| {
                    format!(
                        "{x:.2} (peak {:.0} GB/s, {})",
                        r.peak_gbs.unwrap_or(f64::NAN),
                        r.peak_source.as_deref().unwrap_or("?")
                    )
                }),
            ]
        })
        .collect();
    let mut width = header.map(|h| h.chars().count());
    for c in &cells {
        for (w, s) in width.iter_mut().zip(c) {
            *w = (*w).max(s.chars().count());
        }
    }
    let line = |c: &[String]| -> String {
        let parts: Vec<String> = c
            .iter()
            .zip(&width)
            .map(|(s, w)| format!("{s}{}", " ".repeat(w - s.chars().count())))
            .collect();
        parts.join("  ").trim_end().to_string() + "\n"
    };
    let mut s = line(&header.map(String::from));
    for c in &cells {
        s += &line(c);
    }
    s
}

/// `info`: the adapters and what `auto` picks, human-readable.
pub fn info(r: &InfoReport) -> String {
    let mut s = String::new();
    if r.adapters.is_empty() {
        s += "GPU adapters: none (wgpu found no Vulkan, Metal, DX12 or GL adapter)\n";
    } else {
        s += &format!("GPU adapters ({}, preferred first):\n", r.adapters.len());
    }
    for (i, a) in r.adapters.iter().enumerate() {
        let l = &a.limits;
        s += &format!(
                "  {i}: {} — {} {}{}\n     driver: {}\n     max storage binding {} MiB, max buffer {} MiB, \
                 {} workgroups per dimension, {} invocations per workgroup, {} KiB workgroup memory\n",
                a.name,
                a.backend,
                a.device_type,
                if a.hardware { "" } else { " (not GPU hardware)" },
                if a.driver.is_empty() { "?" } else { &a.driver },
                l.max_storage_buffer_binding_size >> 20,
                l.max_buffer_size >> 20,
                l.max_compute_workgroups_per_dimension,
                l.max_compute_invocations_per_workgroup,
                l.max_compute_workgroup_storage_size >> 10,
            );
    }
    let p = REFERENCE_PROBLEM;
    s += &format!(
        "--backend auto for {} rows × {} features, k = {}: {} ({})\nrule: {}\n",
        p.n, p.d, p.k, r.auto.backend, r.auto.reason, r.auto_rule
    );
    s
}
