//! `report.html`: the report's document as one self-contained page (inline CSS, plots as base64 data URIs) that opens
//! from disk with no network.

use super::canvas::{segment_hex, Plot};
use super::doc::{Block, Cell, Doc, Format, RowStyle, Span, Style, Table};
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

/// Renders the page with `plots` embedded.
pub fn render(doc: &Doc, plots: &[Plot]) -> String {
    let mut h = String::with_capacity(1 << 20);
    let title = esc(&doc.title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{CSS}</style></head><body><main>\n<h1>{title}</h1>\n"
    );
    blocks(&mut h, &doc.blocks, plots);
    h.push_str("</main></body></html>\n");
    h
}

fn blocks(h: &mut String, blocks: &[Block], plots: &[Plot]) {
    for b in blocks {
        match b {
            Block::Heading {
                level,
                text,
                swatch,
            } => {
                let _ = write!(h, "<h{level}>");
                if let Some(s) = swatch {
                    swatch_span(h, *s);
                }
                let _ = writeln!(h, "{}</h{level}>", esc(text));
            }
            Block::Paragraph(style, s) => {
                h.push_str(match style {
                    Style::Plain => "<p>",
                    Style::Lead => "<p class=\"lead\">",
                    Style::Rule => "<p class=\"rule\">",
                    Style::Muted => "<p class=\"muted\">",
                });
                spans(h, s);
                h.push_str("</p>\n");
            }
            Block::List(items) => {
                h.push_str("<ul>\n");
                for i in items {
                    let _ = writeln!(h, "<li>{}</li>", esc(i));
                }
                h.push_str("</ul>\n");
            }
            Block::Table(t) => table(h, t),
            Block::Figure { file, caption, .. } => {
                if let Some(p) = plots.iter().find(|p| p.name == *file) {
                    let _ = writeln!(
                        h,
                        "<figure><img alt=\"{}\" src=\"data:image/png;base64,{}\"><figcaption>{}</figcaption></figure>",
                        esc(caption),
                        base64::engine::general_purpose::STANDARD.encode(&p.png),
                        esc(caption)
                    );
                }
            }
            Block::Cards(cards) => {
                h.push_str("<div class=\"cards\">\n");
                for c in cards {
                    let _ = write!(
                        h,
                        "<div class=\"card\" style=\"--c:{}\"><h3>{}</h3><div class=\"size\">{}</div><p>{}</p><p class=\"action\">",
                        segment_hex(c.segment),
                        esc(&c.title),
                        esc(&c.size),
                        esc(&c.description)
                    );
                    spans(h, &c.action);
                    h.push_str("</p></div>\n");
                }
                h.push_str("</div>\n");
            }
            Block::Only(Format::Html, inner) => self::blocks(h, inner, plots),
            Block::Only(Format::Markdown, _) => {}
        }
    }
}

fn spans(h: &mut String, spans: &[Span]) {
    for s in spans {
        match s {
            Span::Text(t) => h.push_str(&esc(t)),
            Span::Wording(t) => h.push_str(t),
            Span::Code(t) => {
                let _ = write!(h, "<code>{}</code>", esc(t));
            }
            Span::Strong(t) => {
                let _ = write!(h, "<strong>{}</strong>", esc(t));
            }
        }
    }
}

fn swatch_span(h: &mut String, segment: i32) {
    let _ = write!(
        h,
        "<span class=\"swatch\" style=\"--c:{}\"></span>",
        segment_hex(segment)
    );
}

fn table(h: &mut String, t: &Table) {
    let class = |right: bool| if right { " class=\"n\"" } else { "" };
    h.push_str("<table><tr>");
    for c in &t.columns {
        let _ = write!(h, "<th{}>{}</th>", class(c.right), esc(&c.header));
    }
    h.push_str("</tr>\n");
    for r in &t.rows {
        h.push_str(match r.style {
            RowStyle::Plain => "<tr>",
            RowStyle::Chosen => "<tr class=\"chosen\">",
            RowStyle::Total => "<tr class=\"total\">",
        });
        for (c, col) in r.cells.iter().zip(&t.columns) {
            if let Cell::Blank = c {
                h.push_str("<td></td>");
                continue;
            }
            let _ = write!(h, "<td{}>", class(col.right));
            match c {
                Cell::Blank => {}
                Cell::Text(s) => h.push_str(&esc(s)),
                Cell::Swatch(seg, s) => {
                    swatch_span(h, *seg);
                    h.push_str(&esc(s));
                }
                Cell::Marked(s, mark) => {
                    let _ = write!(h, "{} {mark}", esc(s));
                }
            }
            h.push_str("</td>");
        }
        // The total closes the table on its own line.
        h.push_str(if r.style == RowStyle::Total {
            "</tr>"
        } else {
            "</tr>\n"
        });
    }
    h.push_str("</table>\n");
}
