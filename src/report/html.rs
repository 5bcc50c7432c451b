//! `report.html`: one self-contained page (inline CSS, plots as base64 data URIs) that opens
//! from disk with no network.

use super::input::ReportInput;
use super::markdown::{fmt3, fmt_lift, fmt_sci, summary};
use super::plots::{segment_hex, Plot};
use crate::analysis::profile::{fmt_int, fmt_num, fmt_pct};
use base64::Engine;
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #1d2330; background: #f6f7f9; margin: 0; line-height: 1.5; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; background: #fff;
       box-shadow: 0 0 12px rgba(0,0,0,.06); }
h1 { font-size: 1.9em; margin: .2em 0 .4em; }
h2 { font-size: 1.35em; margin-top: 2em; padding-bottom: .2em; border-bottom: 2px solid #e3e6eb; }
h3 { font-size: 1.1em; margin: 1.4em 0 .4em; }
p.lead { font-size: 1.08em; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 14px; }
.card { border: 1px solid #e3e6eb; border-left: 6px solid var(--c); border-radius: 6px;
        padding: 10px 14px; background: #fcfcfd; }
.card h3 { margin: 0 0 .3em; font-size: 1.02em; }
.card .size { color: #555; font-size: .92em; }
.card p { margin: .4em 0; font-size: .93em; }
.swatch { display: inline-block; width: .9em; height: .9em; border-radius: 2px;
          background: var(--c); vertical-align: -0.1em; margin-right: .35em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .92em; }
th, td { border-bottom: 1px solid #e3e6eb; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.chosen td { background: #fff4e5; font-weight: 600; }
tr.total td { border-top: 2px solid #c9ced6; font-weight: 600; }
figure { margin: 1em 0 1.6em; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e6eb; border-radius: 4px; }
figcaption { color: #555; font-size: .9em; }
.rule { background: #f0f4fa; border-left: 4px solid #1f77b4; padding: 10px 14px; }
.action { background: #f1f8f1; border-left: 4px solid #2ca02c; padding: 6px 12px; }
.muted { color: #666; font-size: .9em; }
"#;

fn figure(plots: &[Plot], name: &str, caption: &str) -> String {
    match plots.iter().find(|p| p.name == name) {
        Some(p) => format!(
            "<figure><img alt=\"{}\" src=\"data:image/png;base64,{}\"><figcaption>{}</figcaption></figure>\n",
            esc(caption),
            base64::engine::general_purpose::STANDARD.encode(&p.png),
            esc(caption)
        ),
        None => String::new(),
    }
}

/// Renders the page with `plots` embedded.
pub fn render_html(r: &ReportInput, plots: &[Plot]) -> String {
    let mut h = String::with_capacity(1 << 20);
    let title = if r.title.is_empty() {
        "Customer segments"
    } else {
        &r.title
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body><main>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    // The summary is Markdown with `code` and **bold**; render those two marks.
    let mut lead = esc(&summary(r));
    for (mark, open, close) in [("**", "<strong>", "</strong>"), ("`", "<code>", "</code>")] {
        let mut out = String::new();
        for (i, part) in lead.split(mark).enumerate() {
            if i > 0 {
                out.push_str(if i % 2 == 1 { open } else { close });
            }
            out.push_str(part);
        }
        lead = out;
    }
    let _ = writeln!(h, "<p class=\"lead\">{lead}</p>");

    if !r.profiles.is_empty() {
        h.push_str("<h2>Segments at a glance</h2>\n<div class=\"cards\">\n");
        for p in &r.profiles {
            let _ = writeln!(
                h,
                "<div class=\"card\" style=\"--c:{}\"><h3>{} · {}</h3>\
                 <div class=\"size\">{} customers · {}</div><p>{}</p>\
                 <p class=\"action\"><strong>Action:</strong> {}</p></div>",
                segment_hex(p.segment),
                p.segment,
                esc(&p.name),
                fmt_int(p.size),
                fmt_pct(p.share),
                esc(&p.description),
                esc(&p.action)
            );
        }
        h.push_str("</div>\n");
        h.push_str("<table><tr><th class=\"n\">segment</th><th>name</th><th class=\"n\">customers</th><th class=\"n\">share</th>");
        for n in &r.profiles[0].numeric {
            let _ = write!(h, "<th class=\"n\">{} (mean)</th>", esc(&n.column));
        }
        h.push_str("</tr>\n");
        for p in &r.profiles {
            let _ = write!(
                h,
                "<tr><td class=\"n\">{}</td><td><span class=\"swatch\" style=\"--c:{}\"></span>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
                p.segment,
                segment_hex(p.segment),
                esc(&p.name),
                fmt_int(p.size),
                fmt_pct(p.share)
            );
            for n in &p.numeric {
                let _ = write!(h, "<td class=\"n\">{}</td>", fmt_num(n.mean));
            }
            h.push_str("</tr>\n");
        }
        let _ = write!(
            h,
            "<tr class=\"total\"><td></td><td>all customers</td><td class=\"n\">{}</td><td class=\"n\">100.0%</td>",
            fmt_int(r.rows_segmented)
        );
        for n in &r.profiles[0].numeric {
            let _ = write!(h, "<td class=\"n\">{}</td>", fmt_num(n.overall_mean));
        }
        h.push_str("</tr></table>\n");
        h.push_str(&figure(
            plots,
            "profiles.png",
            "How each segment differs from all customers: bars right of zero are above the population average.",
        ));
        h.push_str(&figure(
            plots,
            "pca.png",
            "Every dot is a customer, placed by the first two principal components and coloured by segment.",
        ));
    }

    if super::markdown::has_algorithm_section(r) {
        h.push_str("<h2>Clustering algorithm</h2>\n");
        let _ = writeln!(
            h,
            "<p>Segments were made by <strong>{}</strong>.</p>",
            esc(super::markdown::algorithm_title(&r.algorithm))
        );
        if !r.algorithm_notes.is_empty() {
            h.push_str("<ul>\n");
            for n in &r.algorithm_notes {
                let _ = writeln!(h, "<li>{}</li>", esc(n));
            }
            h.push_str("</ul>\n");
        }
        if !r.comparison.is_empty() {
            let _ = writeln!(
                h,
                "<p>Algorithms compared on the same scaled data (<code>--compare</code>); silhouette on the same seeded sample of {} rows, noise left out.</p>",
                fmt_int(r.silhouette_sample)
            );
            h.push_str("<table><tr><th>algorithm</th><th class=\"n\">clusters</th><th class=\"n\">noise</th><th class=\"n\">silhouette</th><th class=\"n\">inertia</th><th class=\"n\">seconds</th><th>how</th></tr>\n");
            for c in &r.comparison {
                let _ = writeln!(
                    h,
                    "<tr{}><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.3}</td><td>{}</td></tr>",
                    if c.algorithm == r.algorithm { " class=\"chosen\"" } else { "" },
                    esc(&c.algorithm),
                    c.clusters,
                    fmt_pct(c.noise_share),
                    fmt3(c.silhouette),
                    fmt_sci(c.inertia),
                    c.seconds,
                    esc(&c.note)
                );
            }
            h.push_str("</table>\n");
        }
        h.push_str(&figure(
            plots,
            "dendrogram.png",
            "The last merges of Ward's tree; the dashed line cuts it into the segments.",
        ));
        h.push_str(&figure(
            plots,
            "k_distance.png",
            "Distance to each sampled row's k-th neighbour, sorted; eps is taken at the knee.",
        ));
    }

    h.push_str("<h2>How the number of segments was chosen</h2>\n");
    if let Some(line) = super::markdown::dbscan_k_lines(r) {
        let _ = writeln!(h, "<p>{}</p>", esc(&line));
    }
    match &r.k_choice {
        Some(c) => {
            let _ = writeln!(h, "<p class=\"rule\">{}</p>", esc(&c.rule));
            if let Some(n) = r.sweep_sample {
                let _ = writeln!(
                    h,
                    "<p>The sweep over k was fitted on a seeded sample of {} rows; the final model with k = {} was fitted on all rows.</p>",
                    fmt_int(n),
                    r.k
                );
            }
            let timed = c.scores.iter().any(|s| s.seconds > 0.0);
            let _ = writeln!(
                h,
                "<table><tr><th class=\"n\">k</th><th class=\"n\">inertia</th><th class=\"n\">silhouette (sample of {})</th><th class=\"n\">simplified silhouette (all rows)</th><th class=\"n\">iterations</th>{}</tr>",
                fmt_int(r.silhouette_sample),
                if timed { "<th class=\"n\">seconds</th>" } else { "" }
            );
            for s in &c.scores {
                let note = if s.k == c.k {
                    " (chosen)"
                } else if Some(s.k) == c.knee {
                    " (elbow)"
                } else {
                    ""
                };
                let _ = write!(
                    h,
                    "<tr{}><td class=\"n\">{}{note}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
                    if s.k == c.k { " class=\"chosen\"" } else { "" },
                    s.k,
                    fmt_sci(s.inertia),
                    fmt3(s.silhouette),
                    fmt3(s.simplified_silhouette),
                    s.iterations
                );
                if timed {
                    let _ = write!(h, "<td class=\"n\">{:.3}</td>", s.seconds);
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</table>\n");
        }
        None if r.algorithm != "dbscan" => {
            let _ = writeln!(h, "<p>{}</p>", esc(&super::markdown::k_given(r)));
        }
        None => {}
    }
    h.push_str(&figure(
        plots,
        "elbow.png",
        "Inertia falls as segments are added; the elbow is where adding more stops paying off.",
    ));
    h.push_str(&figure(
        plots,
        "silhouette.png",
        "Silhouette: how much closer customers are to their own segment than to the next one (1 is best).",
    ));
    let _ = writeln!(
        h,
        "<p>Final model: k = {}, inertia {}, silhouette {} (sample of {} rows{}), simplified silhouette {} (all rows).</p>",
        r.k,
        fmt_sci(r.inertia),
        fmt3(r.silhouette),
        fmt_int(r.silhouette_sample),
        super::markdown::silhouette_source(r),
        fmt3(r.simplified_silhouette)
    );

    if !r.explained_variance.is_empty() {
        h.push_str("<h2>Principal components</h2>\n<table><tr><th>component</th><th class=\"n\">variance</th><th class=\"n\">share of variance</th><th class=\"n\">cumulative</th></tr>\n");
        let mut cum = 0.0;
        for (i, (v, s)) in r
            .explained_variance
            .iter()
            .zip(&r.explained_variance_ratio)
            .enumerate()
        {
            cum += s;
            let _ = writeln!(
                h,
                "<tr><td>PC{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                i + 1,
                fmt_num(*v),
                fmt_pct(*s),
                fmt_pct(cum)
            );
        }
        h.push_str("</table>\n");
    }

    if plots
        .iter()
        .any(|p| p.name == "histograms.png" || p.name == "correlation.png")
    {
        h.push_str("<h2>Features</h2>\n");
        h.push_str(&figure(
            plots,
            "histograms.png",
            "Distribution of each feature in original units, stacked by segment (extreme 0.2% tails cut).",
        ));
        h.push_str(&figure(
            plots,
            "correlation.png",
            "Pearson correlation between numeric features: red positive, blue negative.",
        ));
    }

    if !r.profiles.is_empty() {
        h.push_str("<h2>Segment profiles in detail</h2>\n<p class=\"muted\">Lift is the segment's mean (or level share) divided by that of all customers; z is the difference in overall standard deviations.</p>\n");
        for p in &r.profiles {
            let _ = writeln!(
                h,
                "<h3><span class=\"swatch\" style=\"--c:{}\"></span>Segment {}: {} ({} customers, {})</h3>",
                segment_hex(p.segment),
                p.segment,
                esc(&p.name),
                fmt_int(p.size),
                fmt_pct(p.share)
            );
            h.push_str("<table><tr><th>feature</th><th class=\"n\">mean</th><th class=\"n\">median</th><th class=\"n\">overall mean</th><th class=\"n\">overall median</th><th class=\"n\">lift</th><th class=\"n\">z</th></tr>\n");
            for n in &p.numeric {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:+.2}</td></tr>",
                    esc(&n.column),
                    fmt_num(n.mean),
                    fmt_num(n.median),
                    fmt_num(n.overall_mean),
                    fmt_num(n.overall_median),
                    fmt_lift(n.lift),
                    n.z
                );
            }
            h.push_str("</table>\n");
            if !p.categorical.is_empty() {
                h.push_str("<table><tr><th>column</th><th>level</th><th class=\"n\">share</th><th class=\"n\">overall share</th><th class=\"n\">lift</th></tr>\n");
                for l in &p.categorical {
                    let _ = writeln!(
                        h,
                        "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                        esc(&l.column),
                        esc(&l.level),
                        fmt_pct(l.share),
                        fmt_pct(l.overall_share),
                        fmt_lift(l.lift)
                    );
                }
                h.push_str("</table>\n");
            }
        }
    }

    h.push_str("<h2>Data</h2>\n<table><tr><th></th><th class=\"n\">rows</th></tr>\n");
    for (label, n) in [
        ("read", r.rows_in),
        ("segmented", r.rows_segmented),
        ("rejected", r.rows_rejected),
    ] {
        let _ = writeln!(
            h,
            "<tr><td>{label}</td><td class=\"n\">{}</td></tr>",
            fmt_int(n)
        );
    }
    for (reason, n) in &r.reject_reasons {
        let _ = writeln!(
            h,
            "<tr><td>rejected: {}</td><td class=\"n\">{}</td></tr>",
            esc(reason),
            fmt_int(*n)
        );
    }
    h.push_str("</table>\n");
    if !r.columns.is_empty() {
        h.push_str("<table><tr><th>column</th><th>kind</th><th class=\"n\">missing</th><th class=\"n\">distinct</th><th>clustered</th><th>note</th></tr>\n");
        for c in &r.columns {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.name),
                esc(&c.kind),
                fmt_int(c.missing),
                fmt_int(c.distinct),
                if c.used_for_clustering { "yes" } else { "no" },
                esc(&c.note)
            );
        }
        h.push_str("</table>\n");
    }
    if !r.notes.is_empty() {
        h.push_str("<ul>\n");
        for n in &r.notes {
            let _ = writeln!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul>\n");
    }

    h.push_str("<h2>Run</h2>\n");
    let _ = writeln!(
        h,
        "<p>segmenter {}, backend {}{}, seed {}.</p>",
        esc(if r.version.is_empty() {
            "(unknown version)"
        } else {
            &r.version
        }),
        esc(if r.backend.is_empty() {
            "cpu"
        } else {
            &r.backend
        }),
        if r.adapter.is_empty() {
            String::new()
        } else {
            format!(" ({})", esc(&r.adapter))
        },
        r.seed
    );
    if !r.timings.is_empty() {
        h.push_str("<table><tr><th>stage</th><th class=\"n\">seconds</th></tr>\n");
        for (s, t) in &r.timings {
            let _ = writeln!(h, "<tr><td>{}</td><td class=\"n\">{t:.3}</td></tr>", esc(s));
        }
        h.push_str("</table>\n");
    }
    h.push_str("</main></body></html>\n");
    h
}
