//! Reading a delimited text table into one compact byte buffer plus offsets.
//!
//! The whole table is kept because `segments.csv` reproduces every original column; storing
//! the unescaped bytes of all fields back to back (plus one `u32` end per field) costs about
//! the file's size, where a `String` per field would cost several times that and be slow.

use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A row whose number of fields differs from the header's: kept aside for `rejects.csv`.
#[derive(Clone, Debug)]
pub struct RaggedRow {
    /// 1-based data row number.
    pub row: u64,
    /// 1-based line of the file where the row starts.
    pub line: u64,
    /// The fields as read.
    pub fields: Vec<Vec<u8>>,
}

/// A table read from a file: header, and every data row's fields as unescaped bytes.
#[derive(Clone, Debug)]
pub struct Table {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// Detected field delimiter.
    pub delimiter: u8,
    /// Header names, trimmed.
    pub columns: Vec<String>,
    /// Rows whose field count differs from the header's.
    pub ragged: Vec<RaggedRow>,
    bytes: Vec<u8>,
    row_start: Vec<u64>,
    field_end: Vec<u32>,
    row_no: Vec<u64>,
}

/// Strings that mean "no value" in a field, compared case-insensitively after trimming.
pub const MISSING_TOKENS: [&str; 7] = ["", "na", "n/a", "nan", "null", "none", "nil"];

/// True when a trimmed field means "no value".
pub fn is_missing(f: &[u8]) -> bool {
    let t = f.trim_ascii();
    t.len() <= 4 && MISSING_TOKENS.iter().any(|m| t.eq_ignore_ascii_case(m.as_bytes()))
}

impl Table {
    /// Number of well-formed data rows.
    pub fn n_rows(&self) -> usize {
        self.row_no.len()
    }

    /// Number of columns in the header.
    pub fn n_cols(&self) -> usize {
        self.columns.len()
    }

    /// Data rows read, well-formed or not.
    pub fn rows_in(&self) -> u64 {
        (self.row_no.len() + self.ragged.len()) as u64
    }

    /// 1-based data row number (in the file) of well-formed row `i`.
    pub fn row_number(&self, i: usize) -> u64 {
        self.row_no[i]
    }

    /// All field bytes of row `i`, back to back.
    pub fn row_bytes(&self, i: usize) -> &[u8] {
        &self.bytes[self.row_start[i] as usize..self.row_start[i + 1] as usize]
    }

    /// Field ends of row `i`, relative to the row's first byte.
    pub fn row_ends(&self, i: usize) -> &[u32] {
        let d = self.columns.len();
        &self.field_end[i * d..(i + 1) * d]
    }

    /// Field `j` of row `i`, unescaped.
    pub fn field(&self, i: usize, j: usize) -> &[u8] {
        let d = self.columns.len();
        let base = self.row_start[i] as usize;
        let end = self.field_end[i * d + j] as usize;
        let start = if j == 0 {
            0
        } else {
            self.field_end[i * d + j - 1] as usize
        };
        &self.bytes[base + start..base + end]
    }

    /// Index of the column named `name`, if any.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// Picks the delimiter from the header line: the most frequent of `,` `;` tab outside quotes.
pub fn detect_delimiter(sample: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in sample {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

/// Shows a delimiter in messages.
pub fn delimiter_name(d: u8) -> &'static str {
    match d {
        b',' => "','",
        b';' => "';'",
        b'\t' => "tab",
        _ => "?",
    }
}

/// Reads `path`: UTF-8 with or without BOM, delimiter detected, quoted fields (with embedded
/// line breaks) unescaped. Rows with the wrong number of fields are set aside in `ragged`;
/// bytes that are not UTF-8 stop the read with the row number.
pub fn read_table(path: &Path) -> Result<Table> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let size = file.metadata().map_err(|e| Error::read(path, e))?.len();
    let mut head = vec![0u8; 64 * 1024];
    let mut got = 0;
    while got < head.len() {
        let n = file.read(&mut head[got..]).map_err(|e| Error::read(path, e))?;
        if n == 0 {
            break;
        }
        got += n;
    }
    head.truncate(got);
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let body = if bom { &head[3..] } else { &head[..] };
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let delimiter = detect_delimiter(body);
    file.seek(SeekFrom::Start(if bom { 3 } else { 0 }))
        .map_err(|e| Error::read(path, e))?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(1 << 20)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let csv_err = |e: csv::Error| Error::Csv {
        path: path.into(),
        message: e.to_string(),
    };
    let mut rec = csv::ByteRecord::new();
    if !rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let header = std::str::from_utf8(rec.as_slice()).map_err(|_| Error::NotUtf8 {
        path: path.into(),
        row: 0,
        line: 1,
    })?;
    let columns: Vec<String> = (0..rec.len())
        .map(|j| header[rec.range(j).unwrap_or(0..0)].trim().to_string())
        .collect();
    check_header(path, &columns)?;
    let d = columns.len();
    // Unescaped data is at most the file's size; reserving it avoids regrowth copies.
    let mut bytes = Vec::with_capacity(size as usize);
    let est_rows = (size as usize / (d * 6 + 1)).max(16);
    let mut row_start = Vec::with_capacity(est_rows + 1);
    let mut field_end = Vec::with_capacity(est_rows * d);
    let mut row_no = Vec::with_capacity(est_rows);
    let mut ragged = Vec::new();
    row_start.push(0u64);
    let mut row = 0u64;
    while rdr.read_byte_record(&mut rec).map_err(csv_err)? {
        if rec.len() == 1 && rec[0].is_empty() {
            continue; // a blank line is not a row
        }
        row += 1;
        let line = rec.position().map_or(0, |p| p.line());
        if std::str::from_utf8(rec.as_slice()).is_err() {
            return Err(Error::NotUtf8 {
                path: path.into(),
                row,
                line,
            });
        }
        if rec.len() != d {
            ragged.push(RaggedRow {
                row,
                line,
                fields: rec.iter().map(|f| f.to_vec()).collect(),
            });
            continue;
        }
        let slice = rec.as_slice();
        if slice.len() > u32::MAX as usize {
            return Err(Error::Data(format!(
                "{}: row {row} is larger than 4 GiB",
                path.display()
            )));
        }
        bytes.extend_from_slice(slice);
        for j in 0..d {
            field_end.push(rec.range(j).map_or(0, |r| r.end) as u32);
        }
        row_start.push(bytes.len() as u64);
        row_no.push(row);
    }
    if row == 0 {
        return Err(Error::NoRows { path: path.into() });
    }
    if row_no.is_empty() || ragged.len() as u64 * 2 > row {
        let r = &ragged[0];
        return Err(Error::Data(format!(
            "{}: {} of {row} data rows do not have the header's {d} fields (delimiter {}); \
             row {} (line {}) has {}; the file seems to mix delimiters or to be malformed",
            path.display(),
            ragged.len(),
            delimiter_name(delimiter),
            r.row,
            r.line,
            r.fields.len()
        )));
    }
    bytes.shrink_to_fit();
    Ok(Table {
        path: path.into(),
        delimiter,
        columns,
        ragged,
        bytes,
        row_start,
        field_end,
        row_no,
    })
}

fn check_header(path: &Path, columns: &[String]) -> Result<()> {
    if columns.iter().all(|c| c.is_empty()) {
        return Err(Error::EmptyFile { path: path.into() });
    }
    for (j, c) in columns.iter().enumerate() {
        if c.is_empty() {
            return Err(Error::Data(format!(
                "{}: column {} of the header has no name; name every column",
                path.display(),
                j + 1
            )));
        }
        if columns[..j].contains(c) {
            return Err(Error::Data(format!(
                "{}: the header names column '{c}' twice; column names must be unique",
                path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_the_most_frequent_outside_quotes() {
        assert_eq!(detect_delimiter(b"a,b,c\n1;2;3;4;5"), b',');
        assert_eq!(detect_delimiter(b"a;b;\"x,y,z\"\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"single"), b',');
    }

    #[test]
    fn missing_tokens() {
        for t in ["", " ", "NA", "nan", "NULL", "None", " n/a "] {
            assert!(is_missing(t.as_bytes()), "{t}");
        }
        for t in ["0", "inf", "nana", "x"] {
            assert!(!is_missing(t.as_bytes()), "{t}");
        }
    }
}
