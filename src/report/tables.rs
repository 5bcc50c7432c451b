//! The labelled tables: `segments.csv` (and predict's scored file) and `rejects.csv`, each
//! reproducing every original column, formatted in parallel and written through one buffered,
//! atomic file.

use crate::cluster::NOISE;
use crate::data::reject::{Origin, Reject};
use crate::error::{Error, Result};
use crate::io::format::{push_fixed4, push_u64};
use crate::io::table::push_csv_field;
use crate::io::AtomicFile;
use crate::io::{write_atomic_bytes, Table};
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;

/// Rows formatted per parallel task.
const ROWS_PER_TASK: usize = 4096;
/// Rows formatted before a write: bounds the memory held by formatted text.
const ROWS_PER_BATCH: usize = 32 * 1024;

/// Appends a field as it appeared in the input: quoted fields verbatim (their quoting is
/// already valid CSV), others quoted when needed.
pub fn push_raw_field(out: &mut Vec<u8>, raw: &[u8]) {
    if raw.len() >= 2 && raw[0] == b'"' && raw[raw.len() - 1] == b'"' {
        out.extend_from_slice(raw);
    } else {
        push_csv_field(out, raw);
    }
}

/// Appends `,` and the original fields of row `i`: a comma-separated row is valid as it was.
fn push_row_fields(out: &mut Vec<u8>, table: &Table, i: usize) {
    out.push(b',');
    if table.delimiter == b',' {
        out.extend_from_slice(table.row_bytes(i));
        return;
    }
    for j in 0..table.n_cols() {
        if j > 0 {
            out.push(b',');
        }
        push_raw_field(out, table.raw_field(i, j));
    }
}

/// What each scored row carries after the original columns.
pub struct Scored<'a> {
    /// Table row index of each scored row.
    pub rows: &'a [usize],
    /// Segment of each scored row; `NOISE` is written as segment -1, named "noise".
    pub labels: &'a [u32],
    /// Name of each segment.
    pub names: &'a [String],
    /// PCA coordinates (n×2, row-major), when computed.
    pub pcs: Option<&'a [f32]>,
    /// Euclidean distance to the segment's centroid in the scaled feature space (NaN: left
    /// empty).
    pub distances: &'a [f32],
}

/// Writes `row, <original columns>, segment, segment_name, pc1, pc2, distance_to_centroid`.
pub fn write_segments(path: &Path, table: &Table, s: &Scored<'_>) -> Result<()> {
    let file = AtomicFile::create(path)?;
    let mut head = b"row".to_vec();
    for c in &table.columns {
        head.push(b',');
        push_csv_field(&mut head, c.as_bytes());
    }
    head.extend_from_slice(b",segment,segment_name,pc1,pc2,distance_to_centroid\n");
    let names: Vec<Vec<u8>> = s
        .names
        .iter()
        .map(|n| {
            let mut v = Vec::new();
            push_csv_field(&mut v, n.as_bytes());
            v
        })
        .collect();
    let mut out = file.stream().map_err(|e| Error::write(path, e))?;
    out.write_all(&head).map_err(|e| Error::write(path, e))?;
    // Formatting (both cores) overlaps with writing (one thread): batches go to the writer
    // through a channel of depth 2 and their buffers come back for reuse.
    let (to_writer, from_main) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(2);
    let (to_main, from_writer) = std::sync::mpsc::channel::<Vec<Vec<u8>>>();
    let written = std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> std::io::Result<()> {
            for batch in from_main {
                for p in &batch {
                    out.write_all(p)?;
                }
                let _ = to_main.send(batch);
            }
            out.finish()
        });
        for (b, batch) in s.rows.chunks(ROWS_PER_BATCH).enumerate() {
            let base = b * ROWS_PER_BATCH;
            let tasks = batch.len().div_ceil(ROWS_PER_TASK);
            let mut bufs = from_writer.try_recv().unwrap_or_default();
            bufs.resize_with(tasks, Vec::new);
            bufs.truncate(tasks);
            bufs.par_iter_mut()
                .zip(batch.par_chunks(ROWS_PER_TASK))
                .enumerate()
                .for_each(|(t, (out, rows))| {
                    out.clear();
                    for (r, &i) in rows.iter().enumerate() {
                        let at = base + t * ROWS_PER_TASK + r;
                        push_u64(out, table.row_number(i));
                        push_row_fields(out, table, i);
                        let l = s.labels[at];
                        out.push(b',');
                        if l == NOISE {
                            out.extend_from_slice(b"-1,noise");
                        } else {
                            push_u64(out, l as u64);
                            out.push(b',');
                            out.extend_from_slice(names.get(l as usize).map_or(&[][..], |n| n));
                        }
                        out.push(b',');
                        if let Some(p) = s.pcs {
                            push_fixed4(out, p[2 * at]);
                            out.push(b',');
                            push_fixed4(out, p[2 * at + 1]);
                        } else {
                            out.push(b',');
                        }
                        out.push(b',');
                        push_fixed4(out, s.distances[at]);
                        out.push(b'\n');
                    }
                });
            // Rows ascend: the file's pages of this batch are no longer needed.
            if let (Some(&a), Some(&z)) = (batch.first(), batch.last()) {
                table.release_rows(a..z + 1);
            }
            if to_writer.send(bufs).is_err() {
                break; // the writer failed; its error is reported below
            }
        }
        drop(to_writer);
        writer
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the writer thread panicked")))
    });
    written.map_err(|e| Error::write(path, e))?;
    file.commit()
}

/// Writes `row, reason, <original columns>`; a row with too many fields keeps the extra ones
/// in its last column (joined by the delimiter), so nothing read is lost.
pub fn write_rejects(path: &Path, table: &Table, rejects: &[Reject]) -> Result<()> {
    write_atomic_bytes(path, |out| push_rejects(out, table, rejects))
}

/// The bytes of the rejects file [`write_rejects`] writes.
pub fn push_rejects(out: &mut Vec<u8>, table: &Table, rejects: &[Reject]) {
    out.extend_from_slice(b"row,reason");
    for c in &table.columns {
        out.push(b',');
        push_csv_field(out, c.as_bytes());
    }
    out.push(b'\n');
    let d = table.n_cols();
    // Rejects are scattered over the file, and a read maps a whole page-cache folio (up
    // to 2 MiB): the pages of each few rejects are let go once they are written.
    let (mut lo, mut hi) = (usize::MAX, 0);
    for (k, r) in rejects.iter().enumerate() {
        if let Origin::Row(i) = r.origin {
            (lo, hi) = (lo.min(i), hi.max(i));
        }
        if k % 64 == 63 && lo <= hi {
            table.release_rows(lo..hi + 1);
            (lo, hi) = (usize::MAX, 0);
        }
        push_u64(out, r.row);
        out.push(b',');
        push_csv_field(out, r.reason.to_string().as_bytes());
        match r.origin {
            Origin::Row(i) => push_row_fields(out, table, i),
            Origin::Ragged(g) => {
                let fields = &table.ragged[g].fields;
                for j in 0..d {
                    out.push(b',');
                    if j + 1 == d && fields.len() > d {
                        let joined = fields[j..].join(&table.delimiter);
                        push_csv_field(out, &joined);
                    } else if let Some(f) = fields.get(j) {
                        push_raw_field(out, f);
                    }
                }
            }
        }
        out.push(b'\n');
    }
    table.release_all();
}

/// `scored.csv` → `scored.rejects.csv`, beside it.
pub fn rejects_path(output: &Path) -> std::path::PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scored".into());
    output.with_file_name(format!("{stem}.rejects.csv"))
}

/// Writes a table scored by a model as `output` (the layout of `segments.csv`) and, when some
/// rows could not be scored, their rejects beside it; returns the rejects file if written.
pub fn write_scored(
    output: &Path,
    table: &Table,
    model: &crate::pipeline::SegmentModel,
    scores: &crate::pipeline::Scores,
) -> Result<Option<std::path::PathBuf>> {
    write_segments(
        output,
        table,
        &Scored {
            rows: &scores.kept,
            labels: &scores.labels,
            names: &model.segment_names,
            pcs: scores.pcs.as_deref(),
            distances: &scores.distances,
        },
    )?;
    if scores.rejects.is_empty() {
        return Ok(None);
    }
    let p = rejects_path(output);
    write_rejects(&p, table, &scores.rejects)?;
    Ok(Some(p))
}

#[cfg(test)]
mod tests {
    use crate::io::table::push_csv_field;

    #[test]
    fn fixed_decimals() {
        let mut v = Vec::new();
        for x in [0.0f32, 1.23456, -0.00004, -2.5, 12_345.679] {
            super::push_fixed4(&mut v, x);
            v.push(b' ');
        }
        assert_eq!(v, b"0.0000 1.2346 0.0000 -2.5000 12345.6787 ");
    }

    #[test]
    fn quoting() {
        let mut v = Vec::new();
        push_csv_field(&mut v, b"plain");
        v.push(b'|');
        push_csv_field(&mut v, b"a,\"b\"\nc");
        assert_eq!(v, b"plain|\"a,\"\"b\"\"\nc\"");
    }
}
