//! `report.md`: the whole report as Markdown, plots linked from `plots/`.

use super::input::ReportInput;
use crate::analysis::profile::{fmt_int, fmt_num, fmt_pct};
use std::fmt::Write;

/// Escapes the characters that would break a Markdown table cell.
pub(crate) fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Formats a score with three decimals ("n/a" when undefined).
pub(crate) fn fmt3(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "n/a".into()
    }
}

/// Formats an inertia: grouped digits below ten million, scientific notation above.
pub(crate) fn fmt_sci(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e7 {
        format!("{v:.4e}")
    } else {
        fmt_num(v)
    }
}

/// The one-paragraph summary both report formats open with.
pub(crate) fn summary(r: &ReportInput) -> String {
    let mut s = format!(
        "{} of {} rows of `{}` were segmented into **{} segments**",
        fmt_int(r.rows_segmented),
        fmt_int(r.rows_in),
        r.input_file,
        r.k
    );
    if r.rows_rejected > 0 {
        let _ = write!(
            s,
            "; {} rows were rejected (listed with their reason in `rejects.csv`)",
            fmt_int(r.rows_rejected)
        );
    }
    if r.noise_slot.is_some() {
        let noise = r
            .profiles
            .iter()
            .find(|p| p.segment < 0)
            .map_or(0, |p| p.size);
        let _ = write!(
            s,
            " and {} noise row{} (segment -1)",
            fmt_int(noise),
            if noise == 1 { "" } else { "s" }
        );
    }
    s.push('.');
    if !r.features.is_empty() {
        let _ = write!(
            s,
            " Clustering used {} features: {}.",
            r.features.len(),
            r.features.join(", ")
        );
    }
    s
}

/// Renders `report.md`; `plots` are the file names written under `plots/`.
pub fn render_markdown(r: &ReportInput, plots: &[&str]) -> String {
    let has = |p: &str| plots.contains(&p);
    let mut m = String::new();
    let title = if r.title.is_empty() {
        "Customer segments"
    } else {
        &r.title
    };
    let _ = writeln!(m, "# {title}\n\n{}\n", summary(r));

    if !r.profiles.is_empty() {
        let _ = writeln!(m, "## Segments at a glance\n");
        let numeric: Vec<&str> = r.profiles[0]
            .numeric
            .iter()
            .map(|n| n.column.as_str())
            .collect();
        let mut head = "| segment | name | customers | share |".to_string();
        let mut rule = "|---:|---|---:|---:|".to_string();
        for c in &numeric {
            let _ = write!(head, " {} (mean) |", cell(c));
            rule.push_str("---:|");
        }
        let _ = writeln!(m, "{head}\n{rule}");
        for p in &r.profiles {
            let _ = write!(
                m,
                "| {} | {} | {} | {} |",
                p.segment,
                cell(&p.name),
                fmt_int(p.size),
                fmt_pct(p.share)
            );
            for n in &p.numeric {
                let _ = write!(m, " {} |", fmt_num(n.mean));
            }
            m.push('\n');
        }
        if let Some(p) = r.profiles.first() {
            let _ = write!(
                m,
                "| | all customers | {} | 100.0% |",
                fmt_int(r.rows_segmented)
            );
            for n in &p.numeric {
                let _ = write!(m, " {} |", fmt_num(n.overall_mean));
            }
            m.push('\n');
        }
        m.push('\n');
        if has("profiles.png") {
            let _ = writeln!(m, "![Segment profiles](plots/profiles.png)\n");
        }
        for p in &r.profiles {
            let _ = writeln!(
                m,
                "### Segment {}: {}\n\n{}\n\n**Suggested action:** {}\n",
                p.segment, p.name, p.description, p.action
            );
        }
    }

    if has_algorithm_section(r) {
        let _ = writeln!(m, "## Clustering algorithm\n");
        let _ = writeln!(
            m,
            "Segments were made by **{}**.\n",
            algorithm_title(&r.algorithm)
        );
        for n in &r.algorithm_notes {
            let _ = writeln!(m, "- {n}");
        }
        if !r.algorithm_notes.is_empty() {
            m.push('\n');
        }
        if !r.comparison.is_empty() {
            let _ = writeln!(
                m,
                "Algorithms compared on the same scaled data (`--compare`); silhouette on the same seeded sample of {} rows, noise left out:\n",
                fmt_int(r.silhouette_sample)
            );
            let _ = writeln!(
                m,
                "| algorithm | clusters | noise | silhouette | inertia | seconds | how |\n|---|---:|---:|---:|---:|---:|---|"
            );
            for c in &r.comparison {
                let _ = writeln!(
                    m,
                    "| {} | {} | {} | {} | {} | {:.3} | {} |",
                    c.algorithm,
                    c.clusters,
                    fmt_pct(c.noise_share),
                    fmt3(c.silhouette),
                    fmt_sci(c.inertia),
                    c.seconds,
                    cell(&c.note)
                );
            }
            m.push('\n');
        }
        for (f, alt) in [
            ("dendrogram.png", "Dendrogram of the top merges"),
            ("k_distance.png", "Sorted k-distance curve"),
        ] {
            if has(f) {
                let _ = writeln!(m, "![{alt}](plots/{f})\n");
            }
        }
    }

    let _ = writeln!(m, "## How k was chosen\n");
    if let Some(line) = dbscan_k_lines(r) {
        let _ = writeln!(m, "{line}\n");
    }
    match &r.k_choice {
        Some(c) => {
            let _ = writeln!(m, "{}\n", c.rule);
            if let Some(n) = r.sweep_sample {
                let _ = writeln!(
                    m,
                    "The sweep over k was fitted on a seeded sample of {} rows; the final model with k = {} was fitted on all rows.\n",
                    fmt_int(n),
                    r.k
                );
            }
            let timed = c.scores.iter().any(|s| s.seconds > 0.0);
            let _ = write!(
                m,
                "| k | inertia | silhouette (sample of {}) | simplified silhouette (all rows) | iterations |",
                fmt_int(r.silhouette_sample)
            );
            m.push_str(if timed {
                " seconds |\n|---:|---:|---:|---:|---:|---:|\n"
            } else {
                "\n|---:|---:|---:|---:|---:|\n"
            });
            for s in &c.scores {
                let mark = if s.k == c.k {
                    " **(chosen)**"
                } else if Some(s.k) == c.knee {
                    " (elbow)"
                } else {
                    ""
                };
                let _ = write!(
                    m,
                    "| {}{mark} | {} | {} | {} | {} |",
                    s.k,
                    fmt_sci(s.inertia),
                    fmt3(s.silhouette),
                    fmt3(s.simplified_silhouette),
                    s.iterations
                );
                if timed {
                    let _ = write!(m, " {:.3} |", s.seconds);
                }
                m.push('\n');
            }
            m.push('\n');
        }
        None if r.algorithm != "dbscan" => {
            let _ = writeln!(m, "{}\n", k_given(r));
        }
        None => {}
    }
    for (f, alt) in [
        ("elbow.png", "Elbow curve"),
        ("silhouette.png", "Silhouette by k"),
    ] {
        if has(f) {
            let _ = writeln!(m, "![{alt}](plots/{f})\n");
        }
    }
    let _ = writeln!(
        m,
        "Final model: k = {}, inertia {}, silhouette {} (sample of {} rows{}), simplified silhouette {} (all rows).\n",
        r.k,
        fmt_sci(r.inertia),
        fmt3(r.silhouette),
        fmt_int(r.silhouette_sample),
        silhouette_source(r),
        fmt3(r.simplified_silhouette)
    );

    if !r.explained_variance.is_empty() {
        let _ = writeln!(m, "## Principal components\n");
        let _ = writeln!(
            m,
            "| component | variance | share of variance | cumulative |\n|---|---:|---:|---:|"
        );
        let mut cum = 0.0;
        for (i, (v, s)) in r
            .explained_variance
            .iter()
            .zip(&r.explained_variance_ratio)
            .enumerate()
        {
            cum += s;
            let _ = writeln!(
                m,
                "| PC{} | {} | {} | {} |",
                i + 1,
                fmt_num(*v),
                fmt_pct(*s),
                fmt_pct(cum)
            );
        }
        m.push('\n');
        if has("pca.png") {
            let _ = writeln!(m, "![PCA scatter](plots/pca.png)\n");
        }
    }

    if has("histograms.png") || has("correlation.png") {
        let _ = writeln!(m, "## Features\n");
        if has("histograms.png") {
            let _ = writeln!(
                m,
                "![Feature distributions by segment](plots/histograms.png)\n"
            );
        }
        if has("correlation.png") {
            let _ = writeln!(
                m,
                "![Correlation of numeric features](plots/correlation.png)\n"
            );
        }
    }

    if !r.profiles.is_empty() {
        let _ = writeln!(m, "## Segment profiles in detail\n");
        let _ = writeln!(
            m,
            "Lift is the segment's mean (or level share) divided by that of all customers; z is the difference in overall standard deviations.\n"
        );
        for p in &r.profiles {
            let _ = writeln!(
                m,
                "### Segment {}: {} ({} customers, {})\n",
                p.segment,
                p.name,
                fmt_int(p.size),
                fmt_pct(p.share)
            );
            let _ = writeln!(
                m,
                "| feature | mean | median | overall mean | overall median | lift | z |\n|---|---:|---:|---:|---:|---:|---:|"
            );
            for n in &p.numeric {
                let _ = writeln!(
                    m,
                    "| {} | {} | {} | {} | {} | {} | {:+.2} |",
                    cell(&n.column),
                    fmt_num(n.mean),
                    fmt_num(n.median),
                    fmt_num(n.overall_mean),
                    fmt_num(n.overall_median),
                    fmt_lift(n.lift),
                    n.z
                );
            }
            if !p.categorical.is_empty() {
                let _ = writeln!(
                    m,
                    "\n| column | level | share | overall share | lift |\n|---|---|---:|---:|---:|"
                );
                for l in &p.categorical {
                    let _ = writeln!(
                        m,
                        "| {} | {} | {} | {} | {} |",
                        cell(&l.column),
                        cell(&l.level),
                        fmt_pct(l.share),
                        fmt_pct(l.overall_share),
                        fmt_lift(l.lift)
                    );
                }
            }
            m.push('\n');
        }
    }

    let _ = writeln!(m, "## Data\n");
    let _ = writeln!(
        m,
        "| | rows |\n|---|---:|\n| read | {} |\n| segmented | {} |\n| rejected | {} |",
        fmt_int(r.rows_in),
        fmt_int(r.rows_segmented),
        fmt_int(r.rows_rejected)
    );
    for (reason, n) in &r.reject_reasons {
        let _ = writeln!(m, "| rejected: {} | {} |", cell(reason), fmt_int(*n));
    }
    m.push('\n');
    if !r.columns.is_empty() {
        let _ = writeln!(
            m,
            "| column | kind | missing | distinct | clustered | note |\n|---|---|---:|---:|---|---|"
        );
        for c in &r.columns {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&c.name),
                cell(&c.kind),
                fmt_int(c.missing),
                fmt_int(c.distinct),
                if c.used_for_clustering { "yes" } else { "no" },
                cell(&c.note)
            );
        }
        m.push('\n');
    }
    if !r.notes.is_empty() {
        for n in &r.notes {
            let _ = writeln!(m, "- {n}");
        }
        m.push('\n');
    }

    let _ = writeln!(m, "## Run\n");
    let _ = writeln!(
        m,
        "segmenter {}, backend {}{}, seed {}.\n",
        if r.version.is_empty() {
            "(unknown version)"
        } else {
            &r.version
        },
        if r.backend.is_empty() {
            "cpu"
        } else {
            &r.backend
        },
        if r.adapter.is_empty() {
            String::new()
        } else {
            format!(" ({})", r.adapter)
        },
        r.seed
    );
    if !r.timings.is_empty() {
        let _ = writeln!(m, "| stage | seconds |\n|---|---:|");
        for (s, t) in &r.timings {
            let _ = writeln!(m, "| {} | {t:.3} |", cell(s));
        }
        m.push('\n');
    }
    m
}

/// Formats a lift as a ratio with two decimals ("n/a" when undefined).
pub(crate) fn fmt_lift(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}×")
    } else {
        "n/a".into()
    }
}

/// Where the reported silhouette comes from: with k chosen by the sweep it is the sweep's score
/// of that k (the final fit starts from that fit's centroids), which saves a second pass.
pub(crate) fn silhouette_source(r: &ReportInput) -> &'static str {
    if r.silhouette_from_sweep {
        ", of the sweep's fit of this k"
    } else {
        ""
    }
}

/// Whether the report has a "Clustering algorithm" section: any algorithm but plain k-means,
/// or a comparison.
pub(crate) fn has_algorithm_section(r: &ReportInput) -> bool {
    (!r.algorithm.is_empty() && r.algorithm != "kmeans") || !r.comparison.is_empty()
}

/// Readable name of an algorithm.
pub(crate) fn algorithm_title(name: &str) -> &str {
    match name {
        "kmeans" => "k-means",
        "dbscan" => "DBSCAN",
        "hierarchical" => "hierarchical clustering (Ward)",
        "kprototypes" => "k-prototypes",
        other => other,
    }
}

/// DBSCAN's opening of the k section: it finds its clusters itself; a sweep below served only
/// the compared algorithms that take k.
pub(crate) fn dbscan_k_lines(r: &ReportInput) -> Option<String> {
    if r.algorithm != "dbscan" {
        return None;
    }
    let mut s = k_given(r);
    if let Some(c) = &r.k_choice {
        s += &format!(
            " The compared algorithms that take a k used k = {}, chosen by the rule below.",
            c.k
        );
    }
    Some(s)
}

/// What the k section says when no sweep chose k.
pub(crate) fn k_given(r: &ReportInput) -> String {
    if r.algorithm == "dbscan" {
        format!(
            "DBSCAN finds the number of clusters itself: {} from its eps and min_samples.",
            r.k
        )
    } else {
        format!("k = {} was given on the command line.", r.k)
    }
}
