//! `report.md`: the report's document as Markdown, plots linked from `plots/`.

use super::doc::{Block, Cell, Doc, Format, RowStyle, Span, Table};
use std::fmt::Write;

/// Escapes the characters that would break a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders `report.md`.
pub fn render(doc: &Doc) -> String {
    let mut m = format!("# {}\n\n", doc.title);
    blocks(&mut m, &doc.blocks);
    m
}

fn blocks(m: &mut String, blocks: &[Block]) {
    for b in blocks {
        match b {
            Block::Heading { level, text, .. } => {
                let _ = write!(m, "{} {text}\n\n", "#".repeat(usize::from(*level)));
            }
            Block::Paragraph(_, s) => {
                spans(m, s);
                m.push_str("\n\n");
            }
            Block::List(items) => {
                for i in items {
                    let _ = writeln!(m, "- {i}");
                }
                m.push('\n');
            }
            Block::Table(t) => table(m, t),
            Block::Figure { file, alt, .. } => {
                let _ = write!(m, "![{alt}](plots/{file})\n\n");
            }
            // Cards are an HTML layout; the Markdown report has its own segment sections.
            Block::Cards(_) => {}
            Block::Only(Format::Markdown, inner) => self::blocks(m, inner),
            Block::Only(Format::Html, _) => {}
        }
    }
}

fn spans(m: &mut String, spans: &[Span]) {
    for s in spans {
        match s {
            Span::Text(t) => m.push_str(t),
            Span::Wording(t) => m.push_str(t),
            Span::Code(t) => {
                let _ = write!(m, "`{t}`");
            }
            Span::Strong(t) => {
                let _ = write!(m, "**{t}**");
            }
        }
    }
}

fn table(m: &mut String, t: &Table) {
    m.push('|');
    for c in &t.columns {
        if c.header.is_empty() {
            m.push_str(" |");
        } else {
            let _ = write!(m, " {} |", cell(&c.header));
        }
    }
    m.push_str("\n|");
    for c in &t.columns {
        m.push_str(if c.right { "---:|" } else { "---|" });
    }
    m.push('\n');
    for r in &t.rows {
        m.push('|');
        for c in &r.cells {
            match c {
                Cell::Blank => m.push_str(" |"),
                Cell::Text(s) | Cell::Swatch(_, s) => {
                    let _ = write!(m, " {} |", cell(s));
                }
                // A Markdown row cannot be highlighted, so the chosen row's mark is bold.
                Cell::Marked(s, mark) if r.style == RowStyle::Chosen => {
                    let _ = write!(m, " {} **{mark}** |", cell(s));
                }
                Cell::Marked(s, mark) => {
                    let _ = write!(m, " {} {mark} |", cell(s));
                }
            }
        }
        m.push('\n');
    }
    m.push('\n');
}
