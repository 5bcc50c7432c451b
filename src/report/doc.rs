//! The report as a document: [`build`] turns a [`ReportInput`] into headings, paragraphs,
//! tables, figures and cards once, and holds all of the report's wording and numbers;
//! `markdown::render` and `html::render` only choose the markup.

use super::input::ReportInput;
use crate::analysis::profile::{fmt_int, fmt_num, fmt_pct};

/// A whole report: its title and its blocks in reading order.
#[derive(Clone, Debug, PartialEq)]
pub struct Doc {
    /// The report's title (the page title and top heading).
    pub title: String,
    /// Sections, paragraphs, tables and figures, in order.
    pub blocks: Vec<Block>,
}

/// A format a block can be meant for alone, see [`Block::Only`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `report.md`.
    Markdown,
    /// `report.html`.
    Html,
}

/// One block of the report.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A section (level 2) or subsection (level 3) title; HTML draws `swatch`'s segment colour
    /// before it.
    Heading {
        /// 2 or 3.
        level: u8,
        /// The title.
        text: String,
        /// Segment whose colour marks the heading.
        swatch: Option<i32>,
    },
    /// A paragraph of inline spans.
    Paragraph(Style, Vec<Span>),
    /// A bulleted list of plain sentences.
    List(Vec<String>),
    /// A table.
    Table(Table),
    /// A plot under `plots/`: Markdown links it with the short `alt`, HTML embeds it with the
    /// longer `caption`.
    Figure {
        /// File name under `plots/`.
        file: &'static str,
        /// Markdown's alternative text.
        alt: &'static str,
        /// HTML's caption (and alternative text).
        caption: &'static str,
    },
    /// A grid of segment cards (an HTML layout: the Markdown report says the same in prose).
    Cards(Vec<Card>),
    /// Blocks only one format shows, where the two reports differ in wording or placement.
    Only(Format, Vec<Block>),
}

/// How a paragraph is set off in HTML; Markdown writes every paragraph plainly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// An ordinary paragraph.
    Plain,
    /// The opening summary, set larger.
    Lead,
    /// The rule k was chosen by, boxed.
    Rule,
    /// A side note, greyed.
    Muted,
}

/// A run of inline text.
#[derive(Clone, Debug, PartialEq)]
pub enum Span {
    /// Text from the data (names, numbers), escaped for HTML.
    Text(String),
    /// The report's own fixed wording, written as it is (it holds no markup characters, and
    /// HTML keeps its apostrophes unescaped).
    Wording(&'static str),
    /// A file or flag name, in code type.
    Code(String),
    /// Emphasised text.
    Strong(String),
}

/// A table: its columns and rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Header and alignment of each column.
    pub columns: Vec<Column>,
    /// Body rows, as many cells as columns each.
    pub rows: Vec<Row>,
}

/// One table column.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Header text; empty for a label column without a header.
    pub header: String,
    /// Numbers are right-aligned.
    pub right: bool,
}

/// One table row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// How the row is set off.
    pub style: RowStyle,
    /// Its cells, left to right.
    pub cells: Vec<Cell>,
}

/// How a row is set off from the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStyle {
    /// An ordinary row.
    Plain,
    /// The chosen k or algorithm: HTML highlights the row, Markdown (which cannot) bolds the
    /// row's mark.
    Chosen,
    /// The all-customers total under the segments.
    Total,
}

/// One table cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// Nothing at all (a label cell left out), as distinct from empty text.
    Blank,
    /// Text.
    Text(String),
    /// Text after the colour swatch of a segment (HTML).
    Swatch(i32, String),
    /// Text followed by a mark such as "(chosen)".
    Marked(String, &'static str),
}

/// One segment's card.
#[derive(Clone, Debug, PartialEq)]
pub struct Card {
    /// Segment number, for its colour.
    pub segment: i32,
    /// Number and name.
    pub title: String,
    /// Customers and share.
    pub size: String,
    /// What sets the segment apart.
    pub description: String,
    /// The suggested action, labelled.
    pub action: Vec<Span>,
}

/// The plots a report shows: (file, Markdown alt text, HTML caption).
const FIGURES: [(&str, &str, &str); 8] = [
    (
        "profiles.png",
        "Segment profiles",
        "How each segment differs from all customers: bars right of zero are above the population average.",
    ),
    (
        "pca.png",
        "PCA scatter",
        "Every dot is a customer, placed by the first two principal components and coloured by segment.",
    ),
    (
        "dendrogram.png",
        "Dendrogram of the top merges",
        "The last merges of Ward's tree; the dashed line cuts it into the segments.",
    ),
    (
        "k_distance.png",
        "Sorted k-distance curve",
        "Distance to each sampled row's k-th neighbour, sorted; eps is taken at the knee.",
    ),
    (
        "elbow.png",
        "Elbow curve",
        "Inertia falls as segments are added; the elbow is where adding more stops paying off.",
    ),
    (
        "silhouette.png",
        "Silhouette by k",
        "Silhouette: how much closer customers are to their own segment than to the next one (1 is best).",
    ),
    (
        "histograms.png",
        "Feature distributions by segment",
        "Distribution of each feature in original units, stacked by segment (extreme 0.2% tails cut).",
    ),
    (
        "correlation.png",
        "Correlation of numeric features",
        "Pearson correlation between numeric features: red positive, blue negative.",
    ),
];

/// Builds the report of `r`; `plots` are the file names written under `plots/`, and only
/// those are shown.
pub fn build(r: &ReportInput, plots: &[&str]) -> Doc {
    let figure = |file: &str| -> Vec<Block> {
        FIGURES
            .iter()
            .filter(|(f, _, _)| *f == file && plots.contains(f))
            .map(|&(file, alt, caption)| Block::Figure { file, alt, caption })
            .collect()
    };
    let title = if r.title.is_empty() {
        "Customer segments".to_string()
    } else {
        r.title.clone()
    };
    let mut b = vec![Block::Paragraph(Style::Lead, summary(r))];

    if let Some(first) = r.profiles.first() {
        b.push(heading(2, "Segments at a glance"));
        let cards = r
            .profiles
            .iter()
            .map(|p| Card {
                segment: p.segment,
                title: format!("{} · {}", p.segment, p.name),
                size: format!("{} customers · {}", fmt_int(p.size), fmt_pct(p.share)),
                description: p.description.clone(),
                action: vec![strong("Action:"), text(format!(" {}", p.action))],
            })
            .collect();
        b.push(Block::Only(Format::Html, vec![Block::Cards(cards)]));
        let mut columns = vec![col("segment", true), col("name", false)];
        columns.extend([col("customers", true), col("share", true)]);
        let value = r.value_share.as_ref();
        if let Some(v) = value {
            columns.push(col(&format!("share of {}", v.column), true));
        }
        let stability = !r.segment_stability.is_empty();
        if stability {
            columns.push(col("stability", true));
        }
        for n in &first.numeric {
            columns.push(col(&format!("{} (mean)", n.column), true));
        }
        let mut rows: Vec<Row> = r
            .profiles
            .iter()
            .map(|p| {
                let mut cells = vec![
                    Cell::Text(p.segment.to_string()),
                    Cell::Swatch(p.segment, p.name.clone()),
                    Cell::Text(fmt_int(p.size)),
                    Cell::Text(fmt_pct(p.share)),
                ];
                let at = |v: &[f64]| {
                    usize::try_from(p.segment)
                        .ok()
                        .and_then(|i| v.get(i).copied())
                };
                if let Some(v) = value {
                    cells.push(Cell::Text(at(&v.shares).map_or(String::new(), fmt_pct)));
                }
                if stability {
                    cells.push(Cell::Text(
                        at(&r.segment_stability).map_or(String::new(), |j| {
                            format!("{j:.2} {}", crate::analysis::stability_word(j))
                        }),
                    ));
                }
                cells.extend(p.numeric.iter().map(|n| Cell::Text(fmt_num(n.mean))));
                row(cells)
            })
            .collect();
        let mut total = vec![
            Cell::Blank,
            Cell::Text("all customers".into()),
            Cell::Text(fmt_int(r.rows_segmented)),
            Cell::Text("100.0%".into()),
        ];
        if value.is_some() {
            total.push(Cell::Text("100.0%".into()));
        }
        if stability {
            total.push(Cell::Blank);
        }
        total.extend(
            first
                .numeric
                .iter()
                .map(|n| Cell::Text(fmt_num(n.overall_mean))),
        );
        rows.push(Row {
            style: RowStyle::Total,
            cells: total,
        });
        b.push(Block::Table(Table { columns, rows }));
        if let Some(v) = value {
            let lines: Vec<String> = r
                .profiles
                .iter()
                .filter_map(|p| {
                    let i = usize::try_from(p.segment).ok()?;
                    let share = v.shares.get(i)?;
                    Some(format!(
                        "segment {} ({}): {} of customers, {} of {}",
                        p.segment,
                        p.name,
                        fmt_pct(p.share),
                        fmt_pct(*share),
                        v.column
                    ))
                })
                .collect();
            b.push(plain(vec![text(format!(
                "Value share ({} is the monetary column): {}.",
                v.column,
                lines.join("; ")
            ))]));
        }
        if stability {
            b.push(plain(vec![text(format!(
                "Stability is the mean Jaccard overlap of each segment with its best match when \
                 k-means is refitted on {} bootstrap resamples of a seeded sample of {} rows \
                 (Hennig's clusterwise stability): {:.2} or more is solid, below {:.2} the segment \
                 dissolves from one resample to the next and is more likely an artefact than a \
                 group in the data.",
                crate::analysis::STABILITY_REFITS,
                fmt_int(crate::analysis::STABILITY_SAMPLE.min(r.rows_segmented as usize) as u64),
                crate::analysis::stability::SOLID_JACCARD,
                crate::analysis::stability::UNSTABLE_JACCARD
            ))]));
        }
        b.extend(figure("profiles.png"));
        b.push(Block::Only(Format::Html, figure("pca.png")));
        let mut sections = Vec::new();
        for p in &r.profiles {
            sections.push(heading(3, &format!("Segment {}: {}", p.segment, p.name)));
            sections.push(plain(vec![text(p.description.clone())]));
            sections.push(plain(vec![
                strong("Suggested action:"),
                text(format!(" {}", p.action)),
            ]));
        }
        b.push(Block::Only(Format::Markdown, sections));
    }

    if has_algorithm_section(r) {
        b.push(heading(2, "Clustering algorithm"));
        b.push(plain(vec![
            text("Segments were made by ".into()),
            strong(algorithm_title(&r.algorithm)),
            text(".".into()),
        ]));
        if !r.algorithm_notes.is_empty() {
            b.push(Block::List(r.algorithm_notes.clone()));
        }
        if !r.comparison.is_empty() {
            // Markdown introduces the table with a colon, HTML closes the sentence.
            let intro = |end: char| {
                plain(vec![
                    text("Algorithms compared on the same scaled data (".into()),
                    Span::Code(crate::error::Param::Compare.to_string()),
                    text(format!(
                        "); silhouette on the same seeded sample of {} rows, noise left out{end}",
                        fmt_int(r.silhouette_sample)
                    )),
                ])
            };
            b.push(Block::Only(Format::Markdown, vec![intro(':')]));
            b.push(Block::Only(Format::Html, vec![intro('.')]));
            let columns = ["algorithm", "clusters", "noise", "silhouette"]
                .into_iter()
                .chain(["silhouette, noise as 0", "inertia", "seconds", "how"])
                .map(|h| col(h, !matches!(h, "algorithm" | "how")))
                .collect();
            let rows = r
                .comparison
                .iter()
                .map(|c| Row {
                    style: if c.algorithm == r.algorithm {
                        RowStyle::Chosen
                    } else {
                        RowStyle::Plain
                    },
                    cells: texts([
                        c.algorithm.clone(),
                        c.clusters.to_string(),
                        fmt_pct(c.noise_share),
                        fmt3(c.silhouette),
                        fmt3(c.covered_silhouette),
                        fmt_sci(c.inertia),
                        format!("{:.3}", c.seconds),
                        c.note.clone(),
                    ]),
                })
                .collect();
            b.push(Block::Table(Table { columns, rows }));
            b.push(plain(vec![text(
                "No algorithm is ranked best on silhouette: it leaves noise out and favours \
                 many small, tight clusters; the noise-as-0 column counts every customer, and \
                 the segments' sizes and profiles say whether a split is useful."
                    .into(),
            )]));
        }
        b.extend(figure("dendrogram.png"));
        b.extend(figure("k_distance.png"));
    }

    b.push(Block::Only(
        Format::Markdown,
        vec![heading(2, "How k was chosen")],
    ));
    b.push(Block::Only(
        Format::Html,
        vec![heading(2, "How the number of segments was chosen")],
    ));
    if let Some(line) = dbscan_k_lines(r) {
        b.push(plain(vec![text(line)]));
    }
    match &r.k_choice {
        Some(c) => {
            b.push(Block::Paragraph(Style::Rule, vec![text(c.rule.clone())]));
            if let Some(n) = r.sweep_sample {
                b.push(plain(vec![text(format!(
                    "The sweep over k was fitted on a seeded sample of {} rows; the final model with k = {} was fitted on all rows.",
                    fmt_int(n),
                    r.k
                ))]));
            }
            let timed = c.scores.iter().any(|s| s.seconds > 0.0);
            let mut columns = vec![
                col("k", true),
                col("inertia", true),
                col(
                    &format!("silhouette (sample of {})", fmt_int(r.silhouette_sample)),
                    true,
                ),
                col("simplified silhouette (all rows)", true),
                col("iterations", true),
            ];
            if timed {
                columns.push(col("seconds", true));
            }
            let rows = c
                .scores
                .iter()
                .map(|s| {
                    let k = s.k.to_string();
                    let first = if s.k == c.k {
                        Cell::Marked(k, "(chosen)")
                    } else if Some(s.k) == c.knee {
                        Cell::Marked(k, "(elbow)")
                    } else {
                        Cell::Text(k)
                    };
                    let mut cells = vec![first];
                    cells.extend(texts([
                        fmt_sci(s.inertia),
                        fmt3(s.silhouette),
                        fmt3(s.simplified_silhouette),
                        s.iterations.to_string(),
                    ]));
                    if timed {
                        cells.push(Cell::Text(format!("{:.3}", s.seconds)));
                    }
                    Row {
                        style: if s.k == c.k {
                            RowStyle::Chosen
                        } else {
                            RowStyle::Plain
                        },
                        cells,
                    }
                })
                .collect();
            b.push(Block::Table(Table { columns, rows }));
            if c.scores.iter().any(|s| s.prediction_strength.is_finite()) {
                let t = crate::analysis::STRENGTH_THRESHOLD;
                let rows = c
                    .scores
                    .iter()
                    .map(|s| {
                        let stable = if !s.prediction_strength.is_finite() {
                            "not measured"
                        } else if s.prediction_strength >= t {
                            "yes"
                        } else {
                            "no"
                        };
                        Row {
                            style: if s.k == c.k {
                                RowStyle::Chosen
                            } else {
                                RowStyle::Plain
                            },
                            cells: texts([
                                s.k.to_string(),
                                format!("{:.1}", s.calinski_harabasz),
                                fmt3(s.prediction_strength),
                                stable.to_string(),
                            ]),
                        }
                    })
                    .collect();
                b.push(Block::Table(Table {
                    columns: vec![
                        col("k", true),
                        col("Calinski–Harabasz", true),
                        col("prediction strength", true),
                        col(&format!("stable (≥ {t})"), false),
                    ],
                    rows,
                }));
            }
        }
        None if r.algorithm != "dbscan" => b.push(plain(vec![text(k_given(r))])),
        None => {}
    }
    b.extend(figure("elbow.png"));
    b.extend(figure("silhouette.png"));
    b.push(plain(vec![
        text(format!(
            "Final model: k = {}, inertia {}, silhouette {} (sample of {} rows",
            r.k,
            fmt_sci(r.inertia),
            fmt3(r.silhouette),
            fmt_int(r.silhouette_sample)
        )),
        Span::Wording(silhouette_source(r)),
        text(format!(
            "), simplified silhouette {} (all rows).",
            fmt3(r.simplified_silhouette)
        )),
    ]));

    if !r.explained_variance.is_empty() {
        b.push(heading(2, "Principal components"));
        let columns = vec![
            col("component", false),
            col("variance", true),
            col("share of variance", true),
            col("cumulative", true),
        ];
        let mut cum = 0.0;
        let rows = r
            .explained_variance
            .iter()
            .zip(&r.explained_variance_ratio)
            .enumerate()
            .map(|(i, (v, s))| {
                cum += s;
                row(texts([
                    format!("PC{}", i + 1),
                    fmt_num(*v),
                    fmt_pct(*s),
                    fmt_pct(cum),
                ]))
            })
            .collect();
        b.push(Block::Table(Table { columns, rows }));
        b.push(Block::Only(Format::Markdown, figure("pca.png")));
    }

    let features: Vec<Block> = ["histograms.png", "correlation.png"]
        .into_iter()
        .flat_map(figure)
        .collect();
    if !features.is_empty() {
        b.push(heading(2, "Features"));
        b.extend(features);
    }

    if !r.profiles.is_empty() {
        b.push(heading(2, "Segment profiles in detail"));
        b.push(Block::Paragraph(
            Style::Muted,
            vec![Span::Wording(
                "Lift is the segment's mean (or level share) divided by that of all customers; z is the difference in overall standard deviations.",
            )],
        ));
        for p in &r.profiles {
            b.push(Block::Heading {
                level: 3,
                text: format!(
                    "Segment {}: {} ({} customers, {})",
                    p.segment,
                    p.name,
                    fmt_int(p.size),
                    fmt_pct(p.share)
                ),
                swatch: Some(p.segment),
            });
            let columns = vec![
                col("feature", false),
                col("mean", true),
                col("median", true),
                col("overall mean", true),
                col("overall median", true),
                col("lift", true),
                col("z", true),
            ];
            let rows = p
                .numeric
                .iter()
                .map(|n| {
                    row(texts([
                        n.column.clone(),
                        fmt_num(n.mean),
                        fmt_num(n.median),
                        fmt_num(n.overall_mean),
                        fmt_num(n.overall_median),
                        fmt_lift(n.lift),
                        format!("{:+.2}", n.z),
                    ]))
                })
                .collect();
            b.push(Block::Table(Table { columns, rows }));
            if !p.categorical.is_empty() {
                let columns = vec![
                    col("column", false),
                    col("level", false),
                    col("share", true),
                    col("overall share", true),
                    col("lift", true),
                ];
                let rows = p
                    .categorical
                    .iter()
                    .map(|l| {
                        row(texts([
                            l.column.clone(),
                            l.level.clone(),
                            fmt_pct(l.share),
                            fmt_pct(l.overall_share),
                            fmt_lift(l.lift),
                        ]))
                    })
                    .collect();
                b.push(Block::Table(Table { columns, rows }));
            }
        }
    }

    b.push(heading(2, "Data"));
    let mut rows: Vec<Row> = [
        ("read", r.rows_in),
        ("segmented", r.rows_segmented),
        ("rejected", r.rows_rejected),
    ]
    .into_iter()
    .map(|(label, n)| row(texts([label.to_string(), fmt_int(n)])))
    .collect();
    rows.extend(
        r.reject_reasons
            .iter()
            .map(|(reason, n)| row(texts([format!("rejected: {reason}"), fmt_int(*n)]))),
    );
    b.push(Block::Table(Table {
        columns: vec![col("", false), col("rows", true)],
        rows,
    }));
    if !r.columns.is_empty() {
        let columns = vec![
            col("column", false),
            col("kind", false),
            col("missing", true),
            col("distinct", true),
            col("clustered", false),
            col("note", false),
        ];
        let rows = r
            .columns
            .iter()
            .map(|c| {
                row(texts([
                    c.name.clone(),
                    c.kind.clone(),
                    fmt_int(c.missing),
                    fmt_int(c.distinct),
                    if c.used_for_clustering { "yes" } else { "no" }.into(),
                    c.note.clone(),
                ]))
            })
            .collect();
        b.push(Block::Table(Table { columns, rows }));
    }
    if !r.notes.is_empty() {
        b.push(Block::List(r.notes.clone()));
    }

    b.push(heading(2, "Run"));
    b.push(plain(vec![text(format!(
        "segmenter {}, backend {}{}, seed {}.",
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
    ))]));
    if !r.timings.is_empty() {
        let rows = r
            .timings
            .iter()
            .map(|(s, t)| row(texts([s.clone(), format!("{t:.3}")])))
            .collect();
        b.push(Block::Table(Table {
            columns: vec![col("stage", false), col("seconds", true)],
            rows,
        }));
    }
    Doc { title, blocks: b }
}

/// The one-paragraph summary the report opens with.
fn summary(r: &ReportInput) -> Vec<Span> {
    let mut s = vec![
        text(format!(
            "{} of {} rows of ",
            fmt_int(r.rows_segmented),
            fmt_int(r.rows_in)
        )),
        Span::Code(r.input_file.clone()),
        text(" were segmented into ".into()),
        strong(&format!("{} segments", r.k)),
    ];
    if r.rows_rejected > 0 {
        s.push(text(format!(
            "; {} rows were rejected (listed with their reason in ",
            fmt_int(r.rows_rejected)
        )));
        s.push(Span::Code("rejects.csv".into()));
        s.push(text(")".into()));
    }
    if r.noise_slot.is_some() {
        let noise = r
            .profiles
            .iter()
            .find(|p| p.segment < 0)
            .map_or(0, |p| p.size);
        s.push(text(format!(
            " and {} noise row{} (segment -1)",
            fmt_int(noise),
            if noise == 1 { "" } else { "s" }
        )));
    }
    s.push(text(".".into()));
    if !r.features.is_empty() {
        s.push(text(format!(
            " Clustering used {} features: {}.",
            r.features.len(),
            r.features.join(", ")
        )));
    }
    s
}

fn heading(level: u8, text: &str) -> Block {
    Block::Heading {
        level,
        text: text.into(),
        swatch: None,
    }
}

fn plain(spans: Vec<Span>) -> Block {
    Block::Paragraph(Style::Plain, spans)
}

fn text(s: String) -> Span {
    Span::Text(s)
}

fn strong(s: &str) -> Span {
    Span::Strong(s.into())
}

fn col(header: &str, right: bool) -> Column {
    Column {
        header: header.into(),
        right,
    }
}

fn row(cells: Vec<Cell>) -> Row {
    Row {
        style: RowStyle::Plain,
        cells,
    }
}

fn texts<const N: usize>(cells: [String; N]) -> Vec<Cell> {
    cells.into_iter().map(Cell::Text).collect()
}

/// Formats a score with three decimals ("n/a" when undefined).
fn fmt3(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "n/a".into()
    }
}

/// Formats an inertia: grouped digits below ten million, scientific notation above.
fn fmt_sci(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e7 {
        format!("{v:.4e}")
    } else {
        fmt_num(v)
    }
}

/// Formats a lift as a ratio with two decimals ("n/a" when undefined).
fn fmt_lift(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}×")
    } else {
        "n/a".into()
    }
}

/// Where the reported silhouette comes from: with k chosen by the sweep it is the sweep's score
/// of that k (the final fit starts from that fit's centroids), which saves a second pass.
fn silhouette_source(r: &ReportInput) -> &'static str {
    if r.silhouette_from_sweep {
        ", of the sweep's fit of this k"
    } else {
        ""
    }
}

/// Whether the report has a "Clustering algorithm" section: any algorithm but plain k-means,
/// or a comparison.
fn has_algorithm_section(r: &ReportInput) -> bool {
    (!r.algorithm.is_empty() && r.algorithm != "kmeans") || !r.comparison.is_empty()
}

/// Readable name of an algorithm.
fn algorithm_title(name: &str) -> &str {
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
fn dbscan_k_lines(r: &ReportInput) -> Option<String> {
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
fn k_given(r: &ReportInput) -> String {
    if r.algorithm == "dbscan" {
        format!(
            "DBSCAN finds the number of clusters itself: {} from its eps and min_samples.",
            r.k
        )
    } else {
        format!("k = {} was given on the command line.", r.k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{html, markdown};

    #[test]
    fn one_doc_renders_to_both_markups() {
        let doc = Doc {
            title: "T & co".into(),
            blocks: vec![
                Block::Paragraph(
                    Style::Lead,
                    vec![
                        text("a <b> of ".into()),
                        Span::Code("x|y.csv".into()),
                        strong("2 segments"),
                        Span::Wording(" it's"),
                    ],
                ),
                Block::Only(Format::Markdown, vec![heading(2, "For Markdown")]),
                Block::Only(Format::Html, vec![heading(2, "For HTML")]),
                Block::Table(Table {
                    columns: vec![col("", false), col("k", true)],
                    rows: vec![
                        Row {
                            style: RowStyle::Chosen,
                            cells: vec![
                                Cell::Text("a|b".into()),
                                Cell::Marked("2".into(), "(chosen)"),
                            ],
                        },
                        Row {
                            style: RowStyle::Total,
                            cells: vec![Cell::Blank, Cell::Marked("3".into(), "(elbow)")],
                        },
                    ],
                }),
                Block::List(vec!["it's".into()]),
            ],
        };
        assert_eq!(
            markdown::render(&doc),
            "# T & co\n\na <b> of `x|y.csv`**2 segments** it's\n\n## For Markdown\n\n\
             | | k |\n|---|---:|\n| a\\|b | 2 **(chosen)** |\n| | 3 (elbow) |\n\n- it's\n\n"
        );
        let page = html::render(&doc, &[]);
        let body = page
            .split_once("<main>\n")
            .map(|(_, b)| b)
            .unwrap_or_default();
        assert_eq!(
            body,
            "<h1>T &amp; co</h1>\n<p class=\"lead\">a &lt;b&gt; of <code>x|y.csv</code><strong>2 segments</strong> it's</p>\n\
             <h2>For HTML</h2>\n<table><tr><th></th><th class=\"n\">k</th></tr>\n\
             <tr class=\"chosen\"><td>a|b</td><td class=\"n\">2 (chosen)</td></tr>\n\
             <tr class=\"total\"><td></td><td class=\"n\">3 (elbow)</td></tr></table>\n\
             <ul>\n<li>it&#39;s</li>\n</ul>\n</main></body></html>\n"
        );
        assert!(page.contains("<title>T &amp; co</title>"));
    }
}
