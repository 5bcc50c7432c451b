//! The report's dendrogram: the top merges of a Ward tree as U-shaped links, like scipy's
//! `dendrogram(Z, truncate_mode='lastp')`, with the cut for k marked and the branches below it
//! in the colours of the segments they belong to.

use super::canvas::{render, segment_color, Plot, FONT};
use crate::cluster::ward::Dendrogram;
use crate::error::{Error, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Merges a report's dendrogram shows by default: enough to see the structure above any
/// usual k, few enough that every leaf label stays legible.
pub const DENDROGRAM_TOP: usize = 30;

/// Links above the cut join segments, so they belong to none: drawn in neutral grey.
const ABOVE_CUT: RGBColor = RGBColor(90, 90, 90);

/// Draws the top `top` merges of `d` (at least the k − 1 merges above the cut, so that every
/// segment has a leaf), leaves labelled with their size, the cut for `k` dashed.
pub fn dendrogram_plot(d: &Dendrogram, k: usize, top: usize) -> Result<Plot> {
    let n = d.n_leaves;
    let m = d.merges.len();
    let cut = d.cut(k)?;
    let shown = top.max(k - 1).min(m);
    let first = m - shown;
    // A leaf of every cluster id (leaves and merges), to look up its segment and size.
    let mut rep: Vec<usize> = (0..n).collect();
    for mg in &d.merges {
        let r = *rep.get(mg.a).ok_or_else(|| malformed(mg.a))?;
        rep.push(r);
    }
    let size_of = |id: usize| {
        if id < n {
            d.leaf_weights[id]
        } else {
            d.merges[id - n].size
        }
    };
    // Leaves in drawing order: depth first from the root, left child (`a`) first; a cluster
    // made before `first` is a truncated leaf.
    let mut leaves = Vec::new();
    let mut stack = vec![if m == 0 { 0 } else { n + m - 1 }];
    while let Some(id) = stack.pop() {
        if id >= n + first {
            let mg = &d.merges[id - n];
            stack.push(mg.b);
            stack.push(mg.a);
        } else {
            leaves.push(id);
        }
    }
    let mut x = vec![0f64; n + m];
    for (i, &id) in leaves.iter().enumerate() {
        x[id] = 5.0 + 10.0 * i as f64;
    }
    let mut y = vec![0f64; n + m];
    for (i, mg) in d.merges.iter().enumerate().skip(first) {
        x[n + i] = 0.5 * (x[mg.a] + x[mg.b]);
        y[n + i] = mg.height;
    }
    let top_height = d.merges.last().map_or(0.0, |mg| mg.height);
    let ymax = if top_height > 0.0 {
        top_height * 1.06
    } else {
        1.0
    };
    let xmax = 10.0 * leaves.len() as f64;
    let cut_y = d.cut_height(k);
    let width = (160 + 26 * leaves.len() as u32).max(900);
    let title = format!("Hierarchical clustering (Ward): top {shown} merges, cut into k = {k}");
    render("dendrogram.png", width, 600, |root| {
        root.fill(&WHITE)?;
        let mut ch = ChartBuilder::on(root)
            .caption(
                title,
                (FONT, 24).into_font().style(FontStyle::Bold).color(&BLACK),
            )
            .margin(18)
            .x_label_area_size(80)
            .y_label_area_size(80)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax)?;
        ch.configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc("Ward distance (merge height)")
            .x_desc("segments' leaves: (rows) for merged clusters, the leaf id for single rows")
            .y_label_formatter(&|v| height_label(*v, ymax))
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 16))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(230, 230, 230))
            .draw()?;
        for (i, mg) in d.merges.iter().enumerate().skip(first) {
            // Merges kept by the cut lie inside one segment; the last k − 1 join segments.
            let colour = if i + k < n {
                segment_color(cut[rep[n + i]])
            } else {
                ABOVE_CUT
            };
            let h = mg.height;
            ch.draw_series(LineSeries::new(
                [
                    (x[mg.a], y[mg.a]),
                    (x[mg.a], h),
                    (x[mg.b], h),
                    (x[mg.b], y[mg.b]),
                ],
                colour.stroke_width(2),
            ))?;
        }
        if k >= 2 && m > 0 {
            ch.draw_series(DashedLineSeries::new(
                [(0.0, cut_y), (xmax, cut_y)],
                8,
                6,
                RGBColor(200, 30, 30).stroke_width(2),
            ))?;
            let (px, py) = ch.backend_coord(&(xmax, cut_y));
            root.draw(&Text::new(
                format!("cut: k = {k}"),
                (px - 4, py - 6),
                (FONT, 15)
                    .into_font()
                    .color(&RGBColor(200, 30, 30))
                    .pos(Pos::new(HPos::Right, VPos::Bottom)),
            ))?;
        }
        for &id in &leaves {
            let segment = cut[rep[id]];
            ch.draw_series([Circle::new(
                (x[id], 0.0),
                4,
                segment_color(segment).filled(),
            )])?;
            let size = size_of(id);
            let label = if id < n && size == 1 {
                id.to_string()
            } else {
                format!("({size})")
            };
            let (px, py) = ch.backend_coord(&(x[id], 0.0));
            root.draw(&Text::new(
                label,
                (px + 5, py + 8),
                (FONT, 13)
                    .into_font()
                    .color(&BLACK)
                    .transform(FontTransform::Rotate90),
            ))?;
        }
        Ok(())
    })
}

fn malformed(id: usize) -> Error {
    Error::Data(format!(
        "malformed dendrogram: a merge names cluster {id} before it exists"
    ))
}

/// Tick labels with as many decimals as the axis range needs, the same for every tick.
fn height_label(v: f64, range: f64) -> String {
    if range >= 20.0 {
        format!("{v:.0}")
    } else if range >= 2.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::ward::ward;
    use ndarray::Array2;

    #[test]
    fn draws_a_png_for_small_and_single_leaf_trees() {
        let x = Array2::from_shape_fn((60, 2), |(i, j)| {
            ((i * 7 + j * 13) % 23) as f32 + if i % 3 == 0 { 40.0 } else { 0.0 }
        });
        let t = ward(x.view(), None).unwrap();
        let p = dendrogram_plot(&t, 3, 20).unwrap();
        assert_eq!(p.name, "dendrogram.png");
        assert_eq!(&p.png[1..4], b"PNG");
        if let Ok(dir) = std::env::var("SEGMENTER_PLOT_DIR") {
            std::fs::write(format!("{dir}/dendrogram.png"), &p.png).unwrap();
        }
        let one = ward(Array2::<f32>::zeros((1, 2)).view(), None).unwrap();
        assert!(dendrogram_plot(&one, 1, 30).is_ok());
        assert!(dendrogram_plot(&t, 0, 30).is_err());
    }
}
