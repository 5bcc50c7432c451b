//! The report's PNG plots, drawn with plotters into memory and encoded with `png`.
//!
//! Text uses DejaVu Sans from the `dejavu` crate through plotters' `ab_glyph` feature, so no
//! system font or font library is needed. Every plot works on sampled or aggregated data
//! (at most `SCATTER_MAX` points), so drawing time does not grow with the table.

pub use super::canvas::{profile_color, segment_color, segment_hex, Plot};
use super::canvas::{render, Area, DrawResult, FONT, PALETTE};
use super::input::ReportInput;
use crate::analysis::profile::fmt_pct;
use crate::error::Result;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Segment number shown for plot group `s`: -1 for the noise group.
fn shown(r: &ReportInput, s: u32) -> i32 {
    if r.noise_slot == Some(s) {
        -1
    } else {
        s as i32
    }
}

/// Colour of plot group `s`.
fn slot_color(r: &ReportInput, s: u32) -> RGBColor {
    profile_color(shown(r, s))
}

/// Short tick labels for large numbers: 1.2M, 350k.
fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}B", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn integer_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{:.0}", v)
    } else {
        String::new()
    }
}

fn title_style(size: u32) -> TextStyle<'static> {
    (FONT, size)
        .into_font()
        .style(FontStyle::Bold)
        .color(&BLACK)
}

/// The top of the Ward tree that hierarchical clustering cut.
fn dendrogram(r: &ReportInput) -> Option<Result<Plot>> {
    let d = r.dendrogram.as_ref()?;
    Some(super::dendrogram::dendrogram_plot(
        d,
        r.k,
        super::dendrogram::DENDROGRAM_TOP,
    ))
}

/// DBSCAN's sorted k-distance curve with the knee that gave eps.
fn k_distance(r: &ReportInput) -> Option<Result<Plot>> {
    let (curve, knee, k, eps) = r.k_distance.as_ref()?;
    if curve.is_empty() {
        return None;
    }
    let pts: Vec<(f64, f64)> = curve
        .iter()
        .enumerate()
        .map(|(i, &v)| (i as f64, v))
        .collect();
    let knee = (*knee).min(pts.len() - 1);
    Some(render("k_distance.png", 900, 520, |root| {
        root.fill(&WHITE)?;
        let xmax = (pts.len() - 1).max(1) as f64;
        let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max) * 1.05;
        let mut ch = ChartBuilder::on(root)
            .caption(
                format!("Sorted {k}-distance curve: eps is read at the knee"),
                title_style(24),
            )
            .margin(18)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax.max(1e-9))?;
        ch.configure_mesh()
            .x_desc("sampled rows, by distance (percent)")
            .y_desc(format!("distance to the {k}-th neighbour"))
            .x_label_formatter(&|v| format!("{:.0}%", 100.0 * v / xmax))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()?;
        ch.draw_series(LineSeries::new(pts.clone(), PALETTE[0].stroke_width(3)))?;
        let (kx, ky) = pts[knee];
        ch.draw_series(LineSeries::new(
            [(0.0, *eps), (xmax, *eps)],
            ShapeStyle::from(RGBColor(150, 150, 150)).stroke_width(2),
        ))?
        .label(format!("eps = {eps:.4}"))
        .legend(|(x, y)| {
            PathElement::new(
                [(x, y), (x + 20, y)],
                RGBColor(150, 150, 150).stroke_width(2),
            )
        });
        ch.draw_series([Circle::new((kx, ky), 9, PALETTE[3].stroke_width(3))])?;
        ch.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 200, 200))
            .label_font((FONT, 15))
            .draw()?;
        Ok(())
    }))
}

/// Inertia by k with the elbow and the chosen k marked.
fn elbow(r: &ReportInput) -> Option<Result<Plot>> {
    let c = r.k_choice.as_ref()?;
    let pts: Vec<(f64, f64)> = c
        .scores
        .iter()
        .filter(|s| s.inertia.is_finite())
        .map(|s| (s.k as f64, s.inertia))
        .collect();
    if pts.is_empty() {
        return None;
    }
    Some(render("elbow.png", 900, 520, |root| {
        root.fill(&WHITE)?;
        let (k0, k1) = (pts[0].0, pts[pts.len() - 1].0);
        let ymax = pts.iter().map(|p| p.1).fold(0.0, f64::max) * 1.08;
        let mut ch = ChartBuilder::on(root)
            .caption(
                "Elbow curve: inertia by number of segments",
                title_style(24),
            )
            .margin(18)
            .x_label_area_size(55)
            .y_label_area_size(80)
            .build_cartesian_2d((k0 - 0.5)..(k1 + 0.5), 0f64..ymax.max(1e-9))?;
        ch.configure_mesh()
            .x_desc("k (number of segments)")
            .y_desc("inertia (within-segment sum of squares)")
            .x_labels((k1 - k0) as usize + 2)
            .x_label_formatter(&integer_label)
            .y_label_formatter(&|v| compact(*v))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()?;
        if let Some(kn) = c.knee {
            let kn = kn as f64;
            ch.draw_series(LineSeries::new(
                [(kn, 0.0), (kn, ymax)],
                ShapeStyle::from(RGBColor(150, 150, 150)).stroke_width(2),
            ))?
            .label(format!("elbow (Kneedle): k = {kn}"))
            .legend(|(x, y)| {
                PathElement::new(
                    [(x, y), (x + 20, y)],
                    RGBColor(150, 150, 150).stroke_width(2),
                )
            });
        }
        ch.draw_series(LineSeries::new(pts.clone(), PALETTE[0].stroke_width(3)))?
            .label("inertia")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], PALETTE[0].stroke_width(3)));
        ch.draw_series(pts.iter().map(|&p| Circle::new(p, 5, PALETTE[0].filled())))?;
        if let Some(&p) = pts.iter().find(|p| p.0 == c.k as f64) {
            ch.draw_series([Circle::new(p, 11, PALETTE[3].stroke_width(3))])?
                .label(format!("chosen: k = {}", c.k))
                .legend(|(x, y)| Circle::new((x + 10, y), 6, PALETTE[3].stroke_width(2)));
        }
        ch.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT, 15))
            .draw()?;
        Ok(())
    }))
}

/// Sampled and simplified silhouette by k, the chosen k marked.
fn silhouette(r: &ReportInput) -> Option<Result<Plot>> {
    let c = r.k_choice.as_ref()?;
    let sampled: Vec<(f64, f64)> = c
        .scores
        .iter()
        .filter(|s| s.silhouette.is_finite())
        .map(|s| (s.k as f64, s.silhouette))
        .collect();
    let simple: Vec<(f64, f64)> = c
        .scores
        .iter()
        .filter(|s| s.simplified_silhouette.is_finite())
        .map(|s| (s.k as f64, s.simplified_silhouette))
        .collect();
    if sampled.is_empty() && simple.is_empty() {
        return None;
    }
    let ks: Vec<f64> = c.scores.iter().map(|s| s.k as f64).collect();
    let (k0, k1) = (ks[0], ks[ks.len() - 1]);
    let all = sampled.iter().chain(&simple).map(|p| p.1);
    let (lo, hi) = all.fold((0f64, 0f64), |(a, b), v| (a.min(v), b.max(v)));
    Some(render("silhouette.png", 900, 520, |root| {
        root.fill(&WHITE)?;
        let mut ch = ChartBuilder::on(root)
            .caption(
                "Silhouette by number of segments (higher is better)",
                title_style(24),
            )
            .margin(18)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (k0 - 0.5)..(k1 + 0.5),
                (lo - 0.05).min(0.0)..(hi + 0.12).min(1.05),
            )?;
        ch.configure_mesh()
            .x_desc("k (number of segments)")
            .y_desc("silhouette")
            .x_labels((k1 - k0) as usize + 2)
            .x_label_formatter(&integer_label)
            .y_label_formatter(&|v| format!("{v:.2}"))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()?;
        let kc = c.k as f64;
        ch.draw_series(LineSeries::new(
            [(kc, (lo - 0.05).min(0.0)), (kc, (hi + 0.12).min(1.05))],
            PALETTE[3].mix(0.6).stroke_width(2),
        ))?
        .label(format!("chosen: k = {}", c.k))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], PALETTE[3].stroke_width(2)));
        let series = [
            (
                &sampled,
                PALETTE[0],
                format!(
                    "silhouette (sample of {} rows)",
                    crate::analysis::profile::fmt_int(r.silhouette_sample)
                ),
            ),
            (
                &simple,
                PALETTE[1],
                "simplified silhouette (all rows)".to_string(),
            ),
        ];
        for (pts, col, label) in series {
            if pts.is_empty() {
                continue;
            }
            ch.draw_series(LineSeries::new(pts.clone(), col.stroke_width(3)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], col.stroke_width(3)));
            ch.draw_series(pts.iter().map(|&p| Circle::new(p, 5, col.filled())))?;
        }
        ch.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT, 15))
            .draw()?;
        Ok(())
    }))
}

/// The `q`-quantile of `v` (sorted copy); NaN for none.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn robust_range(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let mut s: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    let (mut lo, mut hi) = (quantile(&s, 0.002), quantile(&s, 0.998));
    if !lo.is_finite() || !hi.is_finite() {
        return (-1.0, 1.0);
    }
    if hi - lo < 1e-9 {
        lo -= 0.5;
        hi += 0.5;
    }
    let pad = (hi - lo) * 0.04;
    (lo - pad, hi + pad)
}

fn segment_label(r: &ReportInput, s: u32) -> String {
    let id = shown(r, s);
    match r.profiles.iter().find(|p| p.segment == id) {
        Some(p) => format!("{id}: {} ({})", p.name, fmt_pct(p.share)),
        None => format!("segment {id}"),
    }
}

/// PCA scatter of the sampled rows, coloured by segment, segment numbers at their centres.
fn pca(r: &ReportInput) -> Option<Result<Plot>> {
    if r.pca_points.is_empty() {
        return None;
    }
    let (x0, x1) = robust_range(r.pca_points.iter().map(|p| p.0 as f64));
    let (y0, y1) = robust_range(r.pca_points.iter().map(|p| p.1 as f64));
    let ratio = |i: usize| {
        r.explained_variance_ratio
            .get(i)
            .map(|v| format!(" ({} of variance)", fmt_pct(*v)))
            .unwrap_or_default()
    };
    let k = r
        .pca_points
        .iter()
        .map(|p| p.2 as usize + 1)
        .max()
        .unwrap_or(0);
    Some(render("pca.png", 1000, 760, |root| {
        root.fill(&WHITE)?;
        let mut ch = ChartBuilder::on(root)
            .caption(
                format!(
                    "Segments on the first two principal components ({} customers shown)",
                    crate::analysis::profile::fmt_int(r.pca_points.len() as u64)
                ),
                title_style(22),
            )
            .margin(18)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        ch.configure_mesh()
            .x_desc(format!("PC1{}", ratio(0)))
            .y_desc(format!("PC2{}", ratio(1)))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(225, 225, 225))
            .draw()?;
        let inside = |x: f64, y: f64| x >= x0 && x <= x1 && y >= y0 && y <= y1;
        ch.draw_series(
            r.pca_points
                .iter()
                .filter(|p| inside(p.0 as f64, p.1 as f64))
                .map(|&(x, y, s)| {
                    Circle::new((x as f64, y as f64), 2, slot_color(r, s).mix(0.35).filled())
                }),
        )?;
        let mut sums = vec![(0f64, 0f64, 0u64); k];
        for &(x, y, s) in &r.pca_points {
            let e = &mut sums[s as usize];
            e.0 += x as f64;
            e.1 += y as f64;
            e.2 += 1;
        }
        for (s, &(sx, sy, n)) in sums.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let c = (sx / n as f64, sy / n as f64);
            let col = slot_color(r, s as u32);
            if r.noise_slot == Some(s as u32) {
                // Noise has no centre: only its legend entry.
                ch.draw_series([Circle::new(c, 0, col.filled())])?
                    .label(segment_label(r, s as u32))
                    .legend(move |(x, y)| Circle::new((x + 8, y), 6, col.filled()));
                continue;
            }
            ch.draw_series([Circle::new(c, 14, WHITE.filled())])?;
            ch.draw_series([Circle::new(c, 14, col.stroke_width(3))])?
                .label(segment_label(r, s as u32))
                .legend(move |(x, y)| Circle::new((x + 8, y), 6, col.filled()));
            ch.draw_series([Text::new(
                shown(r, s as u32).to_string(),
                c,
                (FONT, 17)
                    .into_font()
                    .style(FontStyle::Bold)
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )])?;
        }
        ch.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FONT, 15))
            .draw()?;
        Ok(())
    }))
}

/// A row of coloured boxes naming every segment, across the top of multi-panel plots.
fn legend_strip(area: &Area, r: &ReportInput, k: usize) -> DrawResult {
    let (w, _) = area.dim_in_pixel();
    let mut x = 20i32;
    let mut y = 12i32;
    for s in 0..k as u32 {
        let label = segment_label(r, s);
        let width = 30 + (label.chars().count() as i32) * 9;
        if x + width > w as i32 - 10 {
            x = 20;
            y += 26;
        }
        area.draw(&Rectangle::new(
            [(x, y), (x + 16, y + 16)],
            slot_color(r, s).filled(),
        ))?;
        area.draw(&Text::new(
            label,
            (x + 22, y),
            (FONT, 17).into_font().color(&BLACK),
        ))?;
        x += width + 14;
    }
    Ok(())
}

fn legend_rows(r: &ReportInput, k: usize, width: u32) -> u32 {
    let mut x = 20u32;
    let mut rows = 1;
    for s in 0..k as u32 {
        let w = 44 + segment_label(r, s).chars().count() as u32 * 9;
        if x + w > width - 10 {
            x = 20;
            rows += 1;
        }
        x += w;
    }
    rows
}

/// Per-feature histograms of the sampled rows, stacked by segment.
fn histograms(r: &ReportInput) -> Option<Result<Plot>> {
    let h = &r.histograms;
    let feats: Vec<&(String, Vec<f64>)> = h.features.iter().filter(|f| !f.1.is_empty()).collect();
    if feats.is_empty() || h.segments.is_empty() {
        return None;
    }
    let k = h
        .segments
        .iter()
        .map(|&s| s as usize + 1)
        .max()
        .unwrap_or(1);
    let cols = feats.len().min(3);
    let rows = feats.len().div_ceil(cols);
    let (pw, ph) = (430u32, 300u32);
    let width = pw * cols as u32;
    let top = 50 + 26 * legend_rows(r, k, width);
    Some(render(
        "histograms.png",
        width,
        top + ph * rows as u32,
        |root| {
            root.fill(&WHITE)?;
            let (head, body) = root.split_vertically(top);
            head.draw(&Text::new(
                format!(
                    "Feature distributions by segment (original units, {} sampled rows)",
                    crate::analysis::profile::fmt_int(h.segments.len() as u64)
                ),
                (20, 10),
                title_style(20),
            ))?;
            legend_strip(&head.margin(28, 0, 0, 0), r, k)?;
            let panels = body.split_evenly((rows, cols));
            for (panel, (name, vals)) in panels.iter().zip(&feats) {
                const BINS: usize = 30;
                let (lo, hi) = robust_range(vals.iter().copied());
                let wbin = (hi - lo) / BINS as f64;
                let mut counts = vec![vec![0u64; BINS]; k];
                for (&v, &s) in vals.iter().zip(&h.segments) {
                    if v.is_finite() && v >= lo && v <= hi {
                        let b = (((v - lo) / wbin) as usize).min(BINS - 1);
                        counts[s as usize][b] += 1;
                    }
                }
                let ymax = (0..BINS)
                    .map(|b| counts.iter().map(|c| c[b]).sum::<u64>())
                    .max()
                    .unwrap_or(1)
                    .max(1) as f64
                    * 1.08;
                let mut ch = ChartBuilder::on(panel)
                    .caption(name.as_str(), title_style(19))
                    .margin(10)
                    .x_label_area_size(34)
                    .y_label_area_size(58)
                    .build_cartesian_2d(lo..hi, 0f64..ymax)?;
                ch.configure_mesh()
                    .x_labels(5)
                    .y_labels(4)
                    .x_label_formatter(&|v| compact(*v))
                    .y_label_formatter(&|v| compact(*v))
                    .label_style((FONT, 16))
                    .light_line_style(TRANSPARENT)
                    .bold_line_style(RGBColor(225, 225, 225))
                    .draw()?;
                for b in 0..BINS {
                    let mut base = 0f64;
                    let x0 = lo + b as f64 * wbin;
                    for (s, c) in counts.iter().enumerate() {
                        let n = c[b] as f64;
                        if n == 0.0 {
                            continue;
                        }
                        ch.draw_series([Rectangle::new(
                            [(x0, base), (x0 + wbin, base + n)],
                            slot_color(r, s as u32).mix(0.85).filled(),
                        )])?;
                        base += n;
                    }
                }
            }
            Ok(())
        },
    ))
}

/// Heatmap of the correlation matrix with the values written in the cells.
fn correlation(r: &ReportInput) -> Option<Result<Plot>> {
    let (names, m) = r.correlation.as_ref()?;
    let d = names.len();
    if d < 2 || m.dim() != (d, d) {
        return None;
    }
    let cell = (640 / d as u32).clamp(28, 90);
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(4) as u32;
    let label = (longest * 9 + 20).min(300);
    let width = label + cell * d as u32 + 40;
    let height = 60 + label + cell * d as u32 + 20;
    Some(render("correlation.png", width.max(420), height, |root| {
        root.fill(&WHITE)?;
        root.draw(&Text::new(
            "Correlation of numeric features (Pearson)",
            (20, 14),
            title_style(20),
        ))?;
        let (x0, y0) = (label as i32, 60 + label as i32);
        let c = cell as i32;
        let font = |px: u32| (FONT, px).into_font().color(&BLACK);
        for (i, name) in names.iter().enumerate() {
            // Row labels, right-aligned beside the row.
            root.draw(&Text::new(
                name.clone(),
                (x0 - 8, y0 + i as i32 * c + c / 2),
                font(16).pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
            // Column labels, rotated to read upwards, ending just above the column.
            root.draw(&Text::new(
                name.clone(),
                (x0 + i as i32 * c + c / 2 - 7, y0 - 8),
                font(16).transform(FontTransform::Rotate270),
            ))?;
        }
        for i in 0..d {
            for j in 0..d {
                let v = m[[i, j]];
                let t = v.abs().min(1.0);
                let base = if v >= 0.0 {
                    RGBColor(200, 40, 40)
                } else {
                    RGBColor(40, 90, 200)
                };
                let mix = |a: u8| (255.0 - (255.0 - a as f64) * t) as u8;
                let col = RGBColor(mix(base.0), mix(base.1), mix(base.2));
                let (cx, cy) = (x0 + j as i32 * c, y0 + i as i32 * c);
                root.draw(&Rectangle::new([(cx, cy), (cx + c, cy + c)], col.filled()))?;
                root.draw(&Rectangle::new(
                    [(cx, cy), (cx + c, cy + c)],
                    RGBColor(255, 255, 255).stroke_width(1),
                ))?;
                let text = if v.is_finite() {
                    format!("{v:.2}")
                } else {
                    "n/a".into()
                };
                let fg = if t > 0.6 { WHITE } else { BLACK };
                root.draw(&Text::new(
                    text,
                    (cx + c / 2, cy + c / 2),
                    (FONT, (cell / 3).clamp(10, 16))
                        .into_font()
                        .color(&fg)
                        .pos(Pos::new(HPos::Center, VPos::Center)),
                ))?;
            }
        }
        Ok(())
    }))
}

/// Profile bars: for each segment, how far each feature's mean (or level share) lies from the
/// population, in standard deviations, on one shared scale.
fn profiles(r: &ReportInput) -> Option<Result<Plot>> {
    if r.profiles.is_empty() {
        return None;
    }
    // Features: every numeric one, and the categorical levels that set some segment apart most,
    // keeping at most 14 bars per panel.
    let mut feats: Vec<(String, Vec<f64>)> = Vec::new();
    let first = &r.profiles[0];
    for (i, n) in first.numeric.iter().enumerate() {
        feats.push((
            n.column.clone(),
            r.profiles
                .iter()
                .map(|p| p.numeric.get(i).map_or(0.0, |s| s.robust_z))
                .collect(),
        ));
    }
    let mut levels: Vec<(String, Vec<f64>)> = first
        .categorical
        .iter()
        .enumerate()
        .map(|(i, l)| {
            (
                format!("{} = {}", l.column, l.level),
                r.profiles
                    .iter()
                    .map(|p| p.categorical.get(i).map_or(0.0, |s| s.z))
                    .collect(),
            )
        })
        .collect();
    let strength = |v: &[f64]| v.iter().map(|z| z.abs()).fold(0.0, f64::max);
    levels.sort_by(|a, b| strength(&b.1).total_cmp(&strength(&a.1)));
    feats.extend(
        levels
            .into_iter()
            .take(14usize.saturating_sub(feats.len()).max(4)),
    );
    if feats.len() > 14 {
        feats.sort_by(|a, b| strength(&b.1).total_cmp(&strength(&a.1)));
        feats.truncate(14);
    }
    let nf = feats.len();
    if nf == 0 {
        return None;
    }
    let zmax = feats.iter().map(|f| strength(&f.1)).fold(0.5, f64::max) * 1.1;
    let k = r.profiles.len();
    let cols = if k == 1 { 1 } else { 2 };
    let rows = k.div_ceil(cols);
    let longest = feats.iter().map(|f| f.0.chars().count()).max().unwrap_or(4) as u32;
    let ylab = (longest * 9 + 16).min(280);
    let pw = 600u32.max(ylab + 320);
    let ph = 90 + 30 * nf as u32;
    Some(render(
        "profiles.png",
        pw * cols as u32,
        50 + ph * rows as u32,
        |root| {
            root.fill(&WHITE)?;
            let (head, body) = root.split_vertically(50);
            head.draw(&Text::new(
                "Segment profiles: difference from all customers, in standard deviations",
                (20, 14),
                title_style(20),
            ))?;
            let panels = body.split_evenly((rows, cols));
            for (pi, p) in r.profiles.iter().enumerate() {
                let panel = &panels[pi];
                let col = profile_color(p.segment);
                let title = format!("{}: {} ({})", p.segment, p.name, fmt_pct(p.share));
                // Long names shrink to fit (DejaVu averages about 0.58 em per character).
                let title_px = ((pw as f64 - 30.0) / (title.chars().count() as f64 * 0.58))
                    .clamp(12.0, 18.0) as u32;
                let mut ch = ChartBuilder::on(panel)
                    .caption(
                        title,
                        (FONT, title_px)
                            .into_font()
                            .style(FontStyle::Bold)
                            .color(&col),
                    )
                    .margin(12)
                    .x_label_area_size(52)
                    .y_label_area_size(ylab)
                    .build_cartesian_2d(-zmax..zmax, (0..nf).into_segmented())?;
                let names: Vec<String> = feats.iter().map(|f| f.0.clone()).collect();
                let label = move |v: &SegmentValue<usize>| match v {
                    SegmentValue::CenterOf(i) if *i < nf => names[nf - 1 - *i].clone(),
                    _ => String::new(),
                };
                ch.configure_mesh()
                    .disable_y_mesh()
                    .y_labels(nf)
                    .y_label_formatter(&label)
                    .x_label_formatter(&|v| {
                        if v.abs() < 1e-9 {
                            "0".into()
                        } else {
                            format!("{v:+.1}")
                        }
                    })
                    .x_desc("standard deviations from the population mean")
                    .label_style((FONT, 16))
                    .axis_desc_style((FONT, 15))
                    .light_line_style(TRANSPARENT)
                    .bold_line_style(RGBColor(225, 225, 225))
                    .draw()?;
                ch.draw_series(feats.iter().enumerate().map(|(i, f)| {
                    let z = f.1[pi];
                    let y = nf - 1 - i;
                    let fill = if z >= 0.0 {
                        col.filled()
                    } else {
                        col.mix(0.45).filled()
                    };
                    let mut bar = Rectangle::new(
                        [
                            (0.0, SegmentValue::Exact(y)),
                            (z, SegmentValue::Exact(y + 1)),
                        ],
                        fill,
                    );
                    bar.set_margin(4, 4, 0, 0);
                    bar
                }))?;
                ch.draw_series(LineSeries::new(
                    [
                        (0.0, SegmentValue::Exact(0)),
                        (0.0, SegmentValue::Exact(nf)),
                    ],
                    BLACK.stroke_width(1),
                ))?;
            }
            Ok(())
        },
    ))
}

/// Renders every plot the input has data for, in parallel, in a fixed order.
pub fn render_all(r: &ReportInput) -> Result<Vec<Plot>> {
    use rayon::prelude::*;
    type Painter = fn(&ReportInput) -> Option<Result<Plot>>;
    let painters: [Painter; 8] = [
        elbow,
        silhouette,
        pca,
        histograms,
        correlation,
        profiles,
        k_distance,
        dendrogram,
    ];
    let out: Vec<Option<Result<Plot>>> = painters.par_iter().map(|p| p(r)).collect();
    out.into_iter().flatten().collect()
}
