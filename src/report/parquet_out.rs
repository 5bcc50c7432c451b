//! `segments.parquet` (`--output-format parquet`): the rows and columns of `segments.csv` as a
//! Parquet file, much smaller and faster to write and read at millions of rows.
//!
//! Columns: `row` (INT64), every original column as UTF-8 text exactly as a CSV reader reads
//! it from `segments.csv` (quotes removed, doubled quotes undone), `segment` (INT32, -1 for
//! noise), `segment_name` (text), `pc1`, `pc2`, `distance_to_centroid` (FLOAT at full
//! precision; null where segments.csv leaves the field empty). The columns of a row group are
//! gathered, encoded and compressed (Snappy) in memory on all cores, then appended in order.

use super::tables::Scored;
use crate::cluster::NOISE;
use crate::error::{Error, Result};
use crate::io::{AtomicFile, Table};
use bytes::Bytes;
use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::column::writer::{get_column_writer, get_typed_column_writer_mut, ColumnCloseResult};
use parquet::data_type::{ByteArray, ByteArrayType, FloatType, Int32Type, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesPtr};
use parquet::file::writer::{SerializedFileWriter, SerializedPageWriter, TrackedWrite};
use parquet::schema::types::{ColumnDescPtr, ColumnPath, SchemaDescriptor, Type};
use rayon::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// The file name `run` writes with `--output-format parquet`.
pub const SEGMENTS_PARQUET: &str = "segments.parquet";

/// Rows per row group: a group's encoded columns (about 50 MB at 200 bytes a row) are what
/// the writer holds.
const GROUP_ROWS: usize = 256 * 1024;

fn err(path: &Path, e: ParquetError) -> Error {
    Error::Parquet {
        path: path.into(),
        message: e.to_string(),
    }
}

fn column(name: &str, physical: Physical, rep: Repetition) -> Result<Arc<Type>> {
    let b = Type::primitive_type_builder(name, physical).with_repetition(rep);
    let b = if physical == Physical::BYTE_ARRAY {
        b.with_logical_type(Some(LogicalType::String))
    } else {
        b
    };
    b.build()
        .map(Arc::new)
        .map_err(|e| Error::Data(format!("Parquet column '{name}': {e}")))
}

fn schema(table: &Table) -> Result<Arc<Type>> {
    const REQUIRED: Repetition = Repetition::REQUIRED;
    const OPTIONAL: Repetition = Repetition::OPTIONAL;
    let mut fields = vec![column("row", Physical::INT64, REQUIRED)?];
    for c in &table.columns {
        fields.push(column(c, Physical::BYTE_ARRAY, REQUIRED)?);
    }
    fields.push(column("segment", Physical::INT32, REQUIRED)?);
    fields.push(column("segment_name", Physical::BYTE_ARRAY, REQUIRED)?);
    for c in ["pc1", "pc2", "distance_to_centroid"] {
        fields.push(column(c, Physical::FLOAT, OPTIONAL)?);
    }
    Type::group_type_builder("segments")
        .with_fields(fields)
        .build()
        .map(Arc::new)
        .map_err(|e| Error::Data(format!("Parquet schema: {e}")))
}

/// Appends a field's value as a CSV reader reads it: a field in quotes without them and with
/// each doubled quote made single; any other field as it is.
fn push_value(out: &mut Vec<u8>, raw: &[u8]) {
    if raw.len() >= 2 && raw[0] == b'"' && raw[raw.len() - 1] == b'"' {
        let inner = &raw[1..raw.len() - 1];
        let mut rest = inner;
        while let Some(q) = memchr::memchr(b'"', rest) {
            out.extend_from_slice(&rest[..=q]);
            // A quote inside a quoted field is doubled: keep one.
            rest = rest
                .get(q + 1..)
                .map_or(&[][..], |r| r.strip_prefix(b"\"").unwrap_or(r));
        }
        out.extend_from_slice(rest);
    } else {
        out.extend_from_slice(raw);
    }
}

/// Definition levels and present values of an optional FLOAT column.
fn floats(values: impl Iterator<Item = f32>) -> (Vec<f32>, Vec<i16>) {
    let (mut present, mut defined) = (Vec::new(), Vec::new());
    for v in values {
        if v.is_finite() {
            present.push(v);
            defined.push(1);
        } else {
            defined.push(0);
        }
    }
    (present, defined)
}

/// What every column task reads.
struct Writing<'a> {
    table: &'a Table,
    s: &'a Scored<'a>,
    names: &'a [ByteArray],
    props: WriterPropertiesPtr,
}

/// Gathers column `c` of the rows `at..at + rows.len()` and encodes it into a column chunk
/// in memory: every column of a row group is encoded at once, one task each.
fn encode_column(
    job: &Writing<'_>,
    descr: ColumnDescPtr,
    c: usize,
    at: usize,
    rows: &[usize],
) -> std::result::Result<(Bytes, ColumnCloseResult), ParquetError> {
    let Writing {
        table,
        s,
        names,
        props,
    } = job;
    let d = table.n_cols();
    let mut sink = TrackedWrite::new(Vec::new());
    let close = {
        let pages = SerializedPageWriter::new(&mut sink);
        let mut w = get_column_writer(descr, props.clone(), Box::new(pages));
        let labels = &s.labels[at..at + rows.len()];
        if c == 0 {
            let v: Vec<i64> = rows.iter().map(|&i| table.row_number(i) as i64).collect();
            get_typed_column_writer_mut::<Int64Type>(&mut w).write_batch(&v, None, None)?;
        } else if c <= d {
            let j = c - 1;
            let mut buf = Vec::with_capacity(rows.len() * 16);
            let mut ends = Vec::with_capacity(rows.len());
            for &i in rows {
                push_value(&mut buf, table.raw_field(i, j));
                ends.push(buf.len());
            }
            // One buffer for the column; every value is a slice of it (no allocation each).
            let buf = Bytes::from(buf);
            let mut a = 0;
            let v: Vec<ByteArray> = ends
                .iter()
                .map(|&e| {
                    let v = ByteArray::from(buf.slice(a..e));
                    a = e;
                    v
                })
                .collect();
            get_typed_column_writer_mut::<ByteArrayType>(&mut w).write_batch(&v, None, None)?;
        } else if c == d + 1 {
            let v: Vec<i32> = labels
                .iter()
                .map(|&l| if l == NOISE { -1 } else { l as i32 })
                .collect();
            get_typed_column_writer_mut::<Int32Type>(&mut w).write_batch(&v, None, None)?;
        } else if c == d + 2 {
            let noise = ByteArray::from(Bytes::from_static(b"noise"));
            let empty = ByteArray::from(Bytes::new());
            let v: Vec<ByteArray> = labels
                .iter()
                .map(|&l| match names.get(l as usize) {
                    _ if l == NOISE => noise.clone(),
                    Some(n) => n.clone(),
                    None => empty.clone(),
                })
                .collect();
            get_typed_column_writer_mut::<ByteArrayType>(&mut w).write_batch(&v, None, None)?;
        } else {
            let r = at..at + rows.len();
            let (v, def) = match (c - d - 3, s.pcs) {
                (k @ (0 | 1), Some(p)) => floats(r.map(|r| p[2 * r + k])),
                (0 | 1, None) => floats(r.map(|_| f32::NAN)),
                _ => floats(s.distances[r].iter().copied()),
            };
            get_typed_column_writer_mut::<FloatType>(&mut w).write_batch(&v, Some(&def), None)?;
        }
        w.close()?
    };
    Ok((Bytes::from(sink.into_inner()?), close))
}

/// Writes the scored rows of `table` as `path` (Parquet), atomically.
pub fn write_segments_parquet(path: &Path, table: &Table, s: &Scored<'_>) -> Result<()> {
    let schema = schema(table)?;
    let d = table.n_cols();
    // Dictionaries only where values repeat by construction (the segment's number and name);
    // an original column of mostly distinct values (e-mail, address) would fill one and
    // fall back, at a cost.
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None);
    for c in ["segment", "segment_name"] {
        props = props.set_column_dictionary_enabled(ColumnPath::from(c), true);
    }
    let props = Arc::new(props.build());
    let descr = SchemaDescriptor::new(schema.clone());
    let names: Vec<ByteArray> = s
        .names
        .iter()
        .map(|n| ByteArray::from(Bytes::from(n.clone().into_bytes())))
        .collect();
    let job = Writing {
        table,
        s,
        names: &names,
        props: props.clone(),
    };
    let mut file = AtomicFile::create(path)?;
    let written = (|| -> std::result::Result<(), ParquetError> {
        let mut w = SerializedFileWriter::new(file.writer(), schema, props)?;
        for (b, rows) in s.rows.chunks(GROUP_ROWS).enumerate() {
            let chunks = (0..d + 6)
                .into_par_iter()
                .map(|c| encode_column(&job, descr.column(c), c, b * GROUP_ROWS, rows))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let mut rg = w.next_row_group()?;
            for (bytes, close) in chunks {
                rg.append_column(&bytes, close)?;
            }
            rg.close()?;
        }
        w.close()?;
        Ok(())
    })();
    written.map_err(|e| err(path, e))?;
    file.commit()
}

#[cfg(test)]
mod tests {
    use super::push_value;

    #[test]
    fn values_read_as_a_csv_reader_reads_them() {
        for (raw, want) in [
            (&b"plain"[..], &b"plain"[..]),
            (b"\"a, b\"", b"a, b"),
            (b"\"\"\"The Mill\"\", 6\"", b"\"The Mill\", 6"),
            (b"\"\"", b""),
            (b"\"x\"\"\"", b"x\""),
            (b"", b""),
        ] {
            let mut out = Vec::new();
            push_value(&mut out, raw);
            assert_eq!(out, want, "{}", String::from_utf8_lossy(raw));
        }
    }
}
