//! The labelled tables: `segments.csv` (and predict's scored file) and `rejects.csv`, each
//! reproducing every original column, formatted in parallel and written through one buffered,
//! atomic file.

use crate::data::clean::{Origin, Reject};
use crate::data::Table;
use crate::error::{Error, Result};
use crate::report::AtomicFile;
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// Rows formatted per parallel task.
const ROWS_PER_TASK: usize = 4096;
/// Rows formatted before a write: bounds the memory held by formatted text.
const ROWS_PER_BATCH: usize = 64 * 1024;

/// Appends `f` as one CSV field, quoted when it holds a comma, quote or line break.
pub fn push_field(out: &mut Vec<u8>, f: &[u8]) {
    if f.iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push(b'"');
        for &b in f {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(f);
    }
}

fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn push_f32(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    }
}

fn push_row_fields(out: &mut Vec<u8>, table: &Table, i: usize) {
    let bytes = table.row_bytes(i);
    let mut start = 0;
    for &end in table.row_ends(i) {
        out.push(b',');
        push_field(out, &bytes[start..end as usize]);
        start = end as usize;
    }
}

/// What each scored row carries after the original columns.
pub struct Scored<'a> {
    /// Table row index of each scored row.
    pub rows: &'a [usize],
    /// Segment of each scored row.
    pub labels: &'a [u32],
    /// Name of each segment.
    pub names: &'a [String],
    /// PCA coordinates (n×2, row-major), when computed.
    pub pcs: Option<&'a [f32]>,
    /// Euclidean distance to the segment's centroid in the scaled feature space.
    pub distances: &'a [f32],
}

/// Writes `row, <original columns>, segment, segment_name, pc1, pc2, distance_to_centroid`.
pub fn write_segments(path: &Path, table: &Table, s: &Scored<'_>) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    let mut head = b"row".to_vec();
    for c in &table.columns {
        head.push(b',');
        push_field(&mut head, c.as_bytes());
    }
    head.extend_from_slice(b",segment,segment_name,pc1,pc2,distance_to_centroid\n");
    let names: Vec<Vec<u8>> = s
        .names
        .iter()
        .map(|n| {
            let mut v = Vec::new();
            push_field(&mut v, n.as_bytes());
            v
        })
        .collect();
    let w = file.writer();
    w.write_all(&head).map_err(|e| Error::write(path, e))?;
    for (b, batch) in s.rows.chunks(ROWS_PER_BATCH).enumerate() {
        let base = b * ROWS_PER_BATCH;
        let parts: Vec<Vec<u8>> = batch
            .par_chunks(ROWS_PER_TASK)
            .enumerate()
            .map(|(t, rows)| {
                let mut out = Vec::with_capacity(rows.len() * 160);
                for (r, &i) in rows.iter().enumerate() {
                    let at = base + t * ROWS_PER_TASK + r;
                    push_u64(&mut out, table.row_number(i));
                    push_row_fields(&mut out, table, i);
                    let l = s.labels[at] as usize;
                    out.push(b',');
                    push_u64(&mut out, l as u64);
                    out.push(b',');
                    out.extend_from_slice(names.get(l).map_or(&[][..], |n| n));
                    out.push(b',');
                    if let Some(p) = s.pcs {
                        push_f32(&mut out, p[2 * at]);
                        out.push(b',');
                        push_f32(&mut out, p[2 * at + 1]);
                    } else {
                        out.push(b',');
                    }
                    out.push(b',');
                    push_f32(&mut out, s.distances[at]);
                    out.push(b'\n');
                }
                out
            })
            .collect();
        for p in parts {
            w.write_all(&p).map_err(|e| Error::write(path, e))?;
        }
    }
    file.commit()
}

/// Writes `row, reason, <original columns>`; a row with too many fields keeps the extra ones
/// in its last column (joined by the delimiter), so nothing read is lost.
pub fn write_rejects(path: &Path, table: &Table, rejects: &[Reject]) -> Result<()> {
    write_atomic_bytes(path, |out| {
        out.extend_from_slice(b"row,reason");
        for c in &table.columns {
            out.push(b',');
            push_field(out, c.as_bytes());
        }
        out.push(b'\n');
        let d = table.n_cols();
        for r in rejects {
            push_u64(out, r.row);
            out.push(b',');
            push_field(out, r.reason.as_bytes());
            match r.origin {
                Origin::Row(i) => push_row_fields(out, table, i),
                Origin::Ragged(g) => {
                    let fields = &table.ragged[g].fields;
                    for j in 0..d {
                        out.push(b',');
                        if j + 1 == d && fields.len() > d {
                            let joined = fields[j..].join(&table.delimiter);
                            push_field(out, &joined);
                        } else if let Some(f) = fields.get(j) {
                            push_field(out, f);
                        }
                    }
                }
            }
            out.push(b'\n');
        }
    })
}

/// Builds a small file in memory and writes it atomically.
pub fn write_atomic_bytes(path: &Path, fill: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
    let mut buf = Vec::new();
    fill(&mut buf);
    let mut f = AtomicFile::create(path)?;
    f.writer()
        .write_all(&buf)
        .map_err(|e| Error::write(path, e))?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::push_field;

    #[test]
    fn quoting() {
        let mut v = Vec::new();
        push_field(&mut v, b"plain");
        v.push(b'|');
        push_field(&mut v, b"a,\"b\"\nc");
        assert_eq!(v, b"plain|\"a,\"\"b\"\"\nc\"");
    }
}
