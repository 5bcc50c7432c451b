//! Reading a numeric CSV (header, every column a feature) into an n×d f32 matrix.

use crate::error::{Error, Result};
use ndarray::Array2;
use std::path::Path;

/// A numeric table: column names and an n×d row-major matrix.
#[derive(Clone, Debug)]
pub struct NumericTable {
    /// Header names, one per column.
    pub columns: Vec<String>,
    /// The values, one row per data row.
    pub values: Array2<f32>,
}

/// Reads `path`, failing with a message that names the row and column of the first bad field.
pub fn read_numeric_csv(path: &Path) -> Result<NumericTable> {
    let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let meta = file.metadata().map_err(|e| Error::read(path, e))?;
    if meta.len() == 0 {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(file);
    let mut rec = csv::ByteRecord::new();
    let csv_err = |e: csv::Error| Error::Csv {
        path: path.into(),
        message: e.to_string(),
    };
    if !rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let columns: Vec<String> = rec
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let s = std::str::from_utf8(f).map_err(|_| Error::NotUtf8 {
                path: path.into(),
                row: 0,
                line: 1,
            })?;
            let s = if i == 0 {
                s.trim_start_matches('\u{feff}')
            } else {
                s
            };
            Ok(s.trim().to_string())
        })
        .collect::<Result<_>>()?;
    if columns.iter().all(|c| c.is_empty()) {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let d = columns.len();
    let mut values: Vec<f32> = Vec::with_capacity((meta.len() as usize / (d * 8 + 1)).max(16) * d);
    let mut row = 0u64;
    while rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        row += 1;
        // A blank line is not a row.
        if rec.len() == 1 && rec[0].is_empty() {
            row -= 1;
            continue;
        }
        if rec.len() != d {
            return Err(Error::Ragged {
                path: path.into(),
                row,
                line: rec.position().map_or(0, |p| p.line()),
                expected: d,
                found: rec.len(),
            });
        }
        for (j, f) in rec.iter().enumerate() {
            values.push(parse_field(path, row, &columns[j], f, &rec)?);
        }
    }
    if row == 0 {
        return Err(Error::NoRows { path: path.into() });
    }
    let values = Array2::from_shape_vec((row as usize, d), values)
        .map_err(|e| Error::Data(e.to_string()))?;
    Ok(NumericTable { columns, values })
}

fn parse_field(
    path: &Path,
    row: u64,
    column: &str,
    f: &[u8],
    rec: &csv::ByteRecord,
) -> Result<f32> {
    let s = std::str::from_utf8(f).map_err(|_| Error::NotUtf8 {
        path: path.into(),
        row,
        line: rec.position().map_or(0, |p| p.line()),
    })?;
    let t = s.trim();
    if t.is_empty() {
        return Err(Error::Missing {
            path: path.into(),
            row,
            column: column.into(),
        });
    }
    match t.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(Error::NotFinite {
            path: path.into(),
            row,
            column: column.into(),
            value: t.into(),
        }),
        Err(_) => Err(Error::NotNumeric {
            path: path.into(),
            row,
            column: column.into(),
            value: t.chars().take(40).collect(),
        }),
    }
}
