//! Reading a delimited text table: the file's bytes stay in memory as they are, with one
//! `u32` end per field.
//!
//! The whole table is kept because `segments.csv` reproduces every original column; keeping
//! the raw bytes (about the file's size) lets a comma-separated row be copied to the output
//! verbatim, where a `String` per field would cost several times the memory and time. Parsing
//! is split over the cores: each part after the first starts after a line break, assumed to
//! end a record; the part before it checks that assumption (it must finish exactly there) and
//! the part is parsed again from the true boundary when it does not (a quoted line break).

use super::dates::DateStyle;
use super::values::{is_comma_decimal, is_point_decimal, Decimal};
use crate::error::{Error, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A row whose number of fields differs from the header's: kept aside for `rejects.csv`.
#[derive(Clone, Debug)]
pub struct RaggedRow {
    /// 1-based data row number.
    pub row: u64,
    /// 1-based line of the file where the row starts.
    pub line: u64,
    /// The fields as they appear in the file (quotes included).
    pub fields: Vec<Vec<u8>>,
}

/// A table read from a file: header, and every data row's fields.
#[derive(Clone, Debug)]
pub struct Table {
    /// The file it came from (for messages).
    pub path: PathBuf,
    /// Detected field delimiter.
    pub delimiter: u8,
    /// Header names, trimmed.
    pub columns: Vec<String>,
    /// How numbers are written: detected (a decimal comma in a `;` or tab separated file) or
    /// set by the caller.
    pub decimal: Decimal,
    /// How dates are written, as the caller said (schema inference also looks at each column).
    pub dates: DateStyle,
    /// The first header field was empty, as pandas writes its row index: named `index` here.
    pub unnamed_index: bool,
    /// Rows whose field count differs from the header's.
    pub ragged: Vec<RaggedRow>,
    bytes: Bytes,
    row_start: Vec<u64>,
    field_end: Vec<u32>,
    /// 1-based data row number of each well-formed row; empty when that is always `i + 1`
    /// (no ragged rows, no blank lines: the usual case, 8 bytes a row saved).
    row_no: Vec<u64>,
    read_seconds: Option<f64>,
}

/// The file's bytes after any BOM: mapped from the page cache when possible (no copy, no
/// zeroed pages), else read into memory.
enum Bytes {
    Mapped(memmap2::Mmap, usize),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m, skip) => &m[*skip..],
            Bytes::Owned(v) => v,
        }
    }
}

impl Bytes {
    /// Lets the kernel take back the mapped pages wholly inside `start..end` (offsets in the
    /// bytes after any BOM); nothing for bytes held in memory.
    fn release(&self, start: usize, end: usize) {
        const PAGE: usize = 4096;
        let Bytes::Mapped(map, skip) = self else {
            return;
        };
        let (start, end) = (
            (skip + start).div_ceil(PAGE) * PAGE,
            (skip + end) / PAGE * PAGE,
        );
        #[cfg(unix)]
        if start < end && end <= map.len() {
            // SAFETY: the map is read-only and never written, so dropping its pages loses
            // nothing: the next read maps them again from the file (its page cache). Other
            // threads reading these rows meanwhile see the same bytes.
            let _ = unsafe {
                map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bytes", self.len())
    }
}

impl Clone for Bytes {
    fn clone(&self) -> Self {
        Bytes::Owned(self.to_vec())
    }
}

fn load(path: &Path) -> Result<Bytes> {
    let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let len = file.metadata().map_err(|e| Error::read(path, e))?.len();
    // SAFETY: the map is read-only and private to this process; the input file is not
    // expected to change while it is read (as when ripgrep maps a file). Empty files, pipes
    // and anything else that cannot be mapped are read instead.
    let mapped = if len > 0 {
        unsafe { memmap2::MmapOptions::new().populate().map(&file) }.ok()
    } else {
        None
    };
    let bytes = match mapped {
        Some(m) => Bytes::Mapped(m, 0),
        None => {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut &file, &mut v).map_err(|e| Error::read(path, e))?;
            Bytes::Owned(v)
        }
    };
    Ok(if bytes.starts_with(b"\xEF\xBB\xBF") {
        match bytes {
            Bytes::Mapped(m, _) => Bytes::Mapped(m, 3),
            Bytes::Owned(mut v) => {
                v.drain(..3);
                Bytes::Owned(v)
            }
        }
    } else {
        bytes
    })
}

pub use super::format::push_csv_field;
pub use super::values::{is_missing, MISSING_TOKENS};

/// The content of a raw field: without its enclosing quotes, if it has them (a doubled quote
/// inside stays doubled).
fn unquote(f: &[u8]) -> &[u8] {
    if f.len() >= 2 && f[0] == b'"' && f[f.len() - 1] == b'"' {
        &f[1..f.len() - 1]
    } else {
        f
    }
}

impl Table {
    /// Number of well-formed data rows.
    pub fn n_rows(&self) -> usize {
        self.row_start.len()
    }

    /// Number of columns in the header.
    pub fn n_cols(&self) -> usize {
        self.columns.len()
    }

    /// Data rows read, well-formed or not.
    pub fn rows_in(&self) -> u64 {
        (self.n_rows() + self.ragged.len()) as u64
    }

    /// 1-based data row number (in the file) of well-formed row `i`.
    pub fn row_number(&self, i: usize) -> u64 {
        if self.row_no.is_empty() {
            i as u64 + 1
        } else {
            self.row_no[i]
        }
    }

    /// Row `i` as it appears in the file, without its line break.
    pub fn row_bytes(&self, i: usize) -> &[u8] {
        let d = self.columns.len();
        let base = self.row_start[i] as usize;
        &self.bytes[base..base + self.field_end[i * d + d - 1] as usize]
    }

    /// Field ends of row `i`, relative to the row's first byte.
    pub fn row_ends(&self, i: usize) -> &[u32] {
        let d = self.columns.len();
        &self.field_end[i * d..(i + 1) * d]
    }

    /// Field `j` of row `i` as it appears in the file (quotes included).
    pub fn raw_field(&self, i: usize, j: usize) -> &[u8] {
        let d = self.columns.len();
        let base = self.row_start[i] as usize;
        let end = self.field_end[i * d + j] as usize;
        let start = if j == 0 {
            0
        } else {
            self.field_end[i * d + j - 1] as usize + 1
        };
        &self.bytes[base + start..base + end]
    }

    /// Field `j` of row `i`: its content, without enclosing quotes.
    pub fn field(&self, i: usize, j: usize) -> &[u8] {
        unquote(self.raw_field(i, j))
    }

    /// Lets the kernel take back the mapped pages of rows `rows` (each whole page inside
    /// them): they stay in the page cache and come back on the next read, so a pass over the
    /// table holds a window of the file in memory rather than all of it. Nothing for a table
    /// read into memory.
    pub fn release_rows(&self, rows: std::ops::Range<usize>) {
        if rows.start >= rows.end || rows.end > self.n_rows() {
            return;
        }
        let start = self.row_start[rows.start] as usize;
        let end = self.row_start[rows.end - 1] as usize + self.row_bytes(rows.end - 1).len();
        self.bytes.release(start, end);
    }

    /// [`Table::release_rows`] for the whole file.
    pub fn release_all(&self) {
        self.bytes.release(0, self.bytes.len());
    }

    /// Records how long reading the table took.
    pub(crate) fn set_read_seconds(&mut self, s: f64) {
        self.read_seconds = Some(s);
    }

    /// Seconds it took to read the table from its file, when it was read from one.
    pub fn read_seconds(&self) -> Option<f64> {
        self.read_seconds
    }

    /// Fails when most rows do not have the header's number of fields: the file then mixes
    /// delimiters or is malformed, and rejecting row by row would reject nearly everything.
    pub fn check_well_formed(&self) -> Result<()> {
        let total = self.rows_in();
        if self.n_rows() == 0 || self.ragged.len() as u64 * 2 > total {
            if let Some(r) = self.ragged.first() {
                return Err(Error::Data(format!(
                    "{}: {} of {total} data rows do not have the header's {} fields (delimiter {}); \
                     row {} (line {}) has {}; the file seems to mix delimiters or to be malformed",
                    self.path.display(),
                    self.ragged.len(),
                    self.n_cols(),
                    delimiter_name(self.delimiter),
                    r.row,
                    r.line,
                    r.fields.len()
                )));
            }
        }
        Ok(())
    }

    /// Shifts row and line numbers by the data rows and lines before this table's first row:
    /// a chunk of a larger file then numbers its rows as the whole file does.
    pub(crate) fn shift_rows(&mut self, rows: u64, lines: u64) {
        if self.row_no.is_empty() && rows > 0 {
            // Numbers were implicit (index + 1); shifted they no longer are.
            self.row_no = (1..=self.n_rows() as u64).collect();
        }
        self.row_no.iter_mut().for_each(|r| *r += rows);
        for r in &mut self.ragged {
            r.row += rows;
            r.line += lines;
        }
    }

    /// Sets the 1-based data row numbers of the well-formed rows (one per row): a table of
    /// rows picked from a larger file keeps their numbers there.
    pub(crate) fn set_row_numbers(&mut self, numbers: Vec<u64>) {
        if numbers.len() == self.n_rows() {
            self.row_no = numbers;
        }
    }

    /// Byte offset of row `i` in the bytes the table was parsed from (BOM left out).
    pub(crate) fn row_offset(&self, i: usize) -> u64 {
        self.row_start[i]
    }

    /// Index of the column named `name`, if any.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// Builds a [`Table`] in memory, row by row, from the fields' text: for callers whose data
/// is not in a file (a DataFrame, a request body). Fields are quoted as CSV needs, so the
/// table is parsed exactly as the same rows read from a file.
#[derive(Clone, Debug)]
pub struct TableBuilder {
    name: PathBuf,
    bytes: Vec<u8>,
}

impl TableBuilder {
    /// A table named `name` in messages (a file name, "request"), with these columns.
    pub fn new<S: AsRef<str>>(name: impl Into<PathBuf>, columns: &[S]) -> Self {
        let mut bytes = Vec::new();
        for (j, c) in columns.iter().enumerate() {
            if j > 0 {
                bytes.push(b',');
            }
            push_csv_field(&mut bytes, c.as_ref().as_bytes());
        }
        bytes.push(b'\n');
        TableBuilder {
            name: name.into(),
            bytes,
        }
    }

    /// Appends a row; an empty field is a missing value.
    pub fn push_row<F: AsRef<[u8]>>(&mut self, fields: impl IntoIterator<Item = F>) {
        let start = self.bytes.len();
        for (j, f) in fields.into_iter().enumerate() {
            if j > 0 {
                self.bytes.push(b',');
            }
            push_csv_field(&mut self.bytes, f.as_ref());
        }
        if self.bytes.len() == start {
            // One empty field: quoted, or the line would read as blank and be skipped.
            self.bytes.extend_from_slice(b"\"\"");
        }
        self.bytes.push(b'\n');
    }

    /// The table (rows with another number of fields than the header are kept aside as in
    /// a file).
    pub fn finish(self) -> Result<Table> {
        Table::from_csv_bytes(&self.name, self.bytes)
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

/// Parses one record starting at `p`, pushing each field's end (relative to `p`, line break
/// and a trailing `\r` excluded); returns where the next record starts.
fn parse_record(buf: &[u8], mut p: usize, delim: u8, ends: &mut Vec<u32>) -> usize {
    let start = p;
    let n = buf.len();
    loop {
        if p < n && buf[p] == b'"' {
            p += 1;
            loop {
                match memchr::memchr(b'"', &buf[p..]) {
                    None => {
                        p = n; // unterminated quote: the field runs to the end
                        break;
                    }
                    Some(q) => {
                        p += q + 1;
                        if p < n && buf[p] == b'"' {
                            p += 1; // a doubled quote is part of the field
                            continue;
                        }
                        break;
                    }
                }
            }
        }
        while p < n && buf[p] != delim && buf[p] != b'\n' {
            p += 1;
        }
        if p >= n || buf[p] == b'\n' {
            let fe = if p > start && buf[p - 1] == b'\r' {
                p - 1
            } else {
                p
            };
            ends.push((fe - start) as u32);
            return (p + 1).min(n);
        }
        ends.push((p - start) as u32);
        p += 1;
    }
}

/// What one part of the file parsed into.
#[derive(Default)]
struct Part {
    row_start: Vec<u64>,
    field_end: Vec<u32>,
    /// Record number (0-based, within the part) of each well-formed row; empty while the part
    /// has no ragged row (then it is the row's index).
    record_of_row: Vec<u64>,
    /// (record number within the part, start, raw fields) of each ragged row.
    ragged: Vec<(u64, u64, Vec<Vec<u8>>)>,
    records: u64,
    /// Where the part's last record ended.
    end: usize,
    /// Offset of the first byte that is not UTF-8, if any.
    not_utf8: Option<usize>,
}

/// Bytes parsed between checks for UTF-8 and releases of the pages behind (a few records in
/// the unit tests, so that they cross many stretches).
const RELEASE_EVERY: usize = if cfg!(test) { 100 } else { 32 << 20 };

/// Parses the records that start in `from..to`, checking UTF-8 and handing each stretch of
/// [`RELEASE_EVERY`] bytes parsed to `release`, so that the map holds a window of the part
/// rather than the whole file while the index grows.
fn parse_part(
    buf: &[u8],
    from: usize,
    to: usize,
    delim: u8,
    d: usize,
    release: &(dyn Fn(usize, usize) + Sync),
) -> Part {
    let mut part = Part::default();
    let est = (to - from) / (d * 8 + 1);
    part.row_start.reserve(est);
    part.field_end.reserve(est * d);
    let mut p = from;
    // Stretches end at a record's end, after a line break, so no character is cut.
    let mut checked = from;
    let check = |part: &mut Part, checked: &mut usize, upto: usize| {
        let upto = upto.min(buf.len());
        if part.not_utf8.is_none() {
            if let Err(e) = std::str::from_utf8(&buf[*checked..upto]) {
                part.not_utf8 = Some(*checked + e.valid_up_to());
            }
        }
        release(*checked, upto);
        *checked = upto;
    };
    while p < to {
        if p - checked >= RELEASE_EVERY {
            check(&mut part, &mut checked, p);
        }
        let s = p;
        let mark = part.field_end.len();
        p = parse_record(buf, p, delim, &mut part.field_end);
        let nf = part.field_end.len() - mark;
        if nf == 1 && part.field_end[mark] == 0 {
            part.field_end.truncate(mark); // a blank line is not a record
            continue;
        }
        if nf == d {
            if !part.ragged.is_empty() {
                part.record_of_row.push(part.records);
            }
            part.row_start.push(s as u64);
        } else {
            if part.ragged.is_empty() {
                // Until now every record was a row: number the rows so far.
                part.record_of_row = (0..part.row_start.len() as u64).collect();
            }
            let mut fields = Vec::with_capacity(nf);
            let mut a = 0usize;
            for &e in &part.field_end[mark..] {
                fields.push(buf[s + a..s + e as usize].to_vec());
                a = e as usize + 1;
            }
            part.ragged.push((part.records, s as u64, fields));
            part.field_end.truncate(mark);
        }
        part.records += 1;
    }
    check(&mut part, &mut checked, p);
    part.end = p;
    part
}

/// Bytes per part below which parsing is not split.
const MIN_PART: usize = 4 << 20;

/// Reads `path`: UTF-8 with or without BOM, delimiter detected, quoted fields (with embedded
/// line breaks). Rows with the wrong number of fields are set aside in `ragged`; bytes that are
/// not UTF-8 stop the read with the row number.
pub fn read_table(path: &Path) -> Result<Table> {
    let t = std::time::Instant::now();
    let mut table = parse_table(path, load(path)?)?;
    // Later passes map back only what they read.
    table.release_all();
    table.read_seconds = Some(t.elapsed().as_secs_f64());
    Ok(table)
}

impl Table {
    /// Parses a delimited table held in memory (a request body, a derived table) exactly as
    /// [`read_table`] parses a file; `name` stands for the file in messages.
    pub fn from_csv_bytes(name: &Path, mut bytes: Vec<u8>) -> Result<Table> {
        let t = std::time::Instant::now();
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes.drain(..3);
        }
        let mut table = parse_table(name, Bytes::Owned(bytes))?;
        table.read_seconds = Some(t.elapsed().as_secs_f64());
        Ok(table)
    }
}

fn parse_table(path: &Path, bytes: Bytes) -> Result<Table> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let delimiter = detect_delimiter(&bytes[..bytes.len().min(64 * 1024)]);
    let mut ends = Vec::new();
    let body = parse_record(&bytes, 0, delimiter, &mut ends);
    let header = std::str::from_utf8(&bytes[..body]).map_err(|_| Error::NotUtf8 {
        path: path.into(),
        row: 0,
        line: 1,
    })?;
    let mut columns = Vec::with_capacity(ends.len());
    let mut a = 0usize;
    for &e in &ends {
        let raw = &header.as_bytes()[a..e as usize];
        columns.push(String::from_utf8_lossy(unquote(raw)).trim().to_string());
        a = e as usize + 1;
    }
    // pandas' `to_csv` writes its row index as a first column with an empty name.
    let unnamed_index =
        columns.len() > 1 && columns[0].is_empty() && !columns[1..].iter().all(|c| c.is_empty());
    if unnamed_index {
        let mut name = "index".to_string();
        while columns[1..].contains(&name) {
            name.insert(0, '_');
        }
        columns[0] = name;
    }
    check_header(path, &columns)?;
    let d = columns.len();

    // Split the body into parts at line breaks; check each guess against the part before.
    let threads = rayon::current_num_threads().max(1);
    let len = bytes.len() - body;
    let n_parts = (len / MIN_PART).clamp(1, threads);
    let mut bounds = vec![body];
    for k in 1..n_parts {
        let guess = body + len * k / n_parts;
        let b = memchr::memchr(b'\n', &bytes[guess..]).map_or(bytes.len(), |q| guess + q + 1);
        bounds.push(b.max(*bounds.last().unwrap_or(&body)));
    }
    bounds.push(bytes.len());
    let buf = &bytes;
    let release = |a: usize, z: usize| bytes.release(a, z);
    let mut parts: Vec<Part> = (0..n_parts)
        .into_par_iter()
        .map(|k| parse_part(buf, bounds[k], bounds[k + 1], delimiter, d, &release))
        .collect();
    for k in 1..n_parts {
        let end = parts[k - 1].end;
        if end != bounds[k] {
            // The guess fell inside a quoted field: parse this part again from the true end.
            parts[k] = parse_part(buf, end, bounds[k + 1].max(end), delimiter, d, &release);
        }
    }
    let not_utf8 = parts.iter().filter_map(|p| p.not_utf8).min();

    // Merge the parts, numbering records 1.. across them.
    // The first part's vectors become the table's, so only the later parts are copied.
    let rows: usize = parts.iter().map(|p| p.row_start.len()).sum();
    let mut rest = parts.into_iter();
    let first = rest.next().unwrap_or_default();
    // Row numbers are stored only when a ragged row makes them differ from index + 1.
    let identity = first.ragged.is_empty() && rest.as_slice().iter().all(|p| p.ragged.is_empty());
    let numbers = |part: &Part, base: u64, out: &mut Vec<u64>| {
        if part.ragged.is_empty() {
            out.extend((0..part.row_start.len() as u64).map(|r| base + r + 1));
        } else {
            out.extend(part.record_of_row.iter().map(|r| base + r + 1));
        }
    };
    let mut row_no = Vec::new();
    if !identity {
        row_no.reserve(rows);
        numbers(&first, 0, &mut row_no);
    }
    let mut row_start = first.row_start;
    let mut field_end = first.field_end;
    row_start.reserve(rows - row_start.len());
    field_end.reserve((rows - row_start.len()) * d);
    let mut ragged_at: Vec<(u64, u64, Vec<Vec<u8>>)> = first
        .ragged
        .into_iter()
        .map(|(r, s, f)| (r + 1, s, f))
        .collect();
    let mut base = first.records;
    for part in rest {
        row_start.extend_from_slice(&part.row_start);
        field_end.extend_from_slice(&part.field_end);
        if !identity {
            numbers(&part, base, &mut row_no);
        }
        ragged_at.extend(
            part.ragged
                .into_iter()
                .map(|(r, s, f)| (base + r + 1, s, f)),
        );
        base += part.records;
    }
    let total = base;
    if total == 0 {
        return Err(Error::NoRows { path: path.into() });
    }

    // Non-UTF-8 bytes: name the row (and line) they are in.
    if let Some(off) = not_utf8 {
        let before = row_start.partition_point(|&s| s as usize <= off)
            + ragged_at.iter().filter(|r| r.1 as usize <= off).count();
        return Err(Error::NotUtf8 {
            path: path.into(),
            row: before.max(1) as u64,
            line: 1 + memchr::memchr_iter(b'\n', &bytes[..off]).count() as u64,
        });
    }

    // Line numbers of ragged rows, in one pass.
    let mut ragged = Vec::with_capacity(ragged_at.len());
    let (mut line, mut at) = (1u64, 0usize);
    for (row, s, fields) in ragged_at {
        line += memchr::memchr_iter(b'\n', &bytes[at..s as usize]).count() as u64;
        at = s as usize;
        ragged.push(RaggedRow { row, line, fields });
    }
    let mut table = Table {
        path: path.into(),
        delimiter,
        columns,
        decimal: Decimal::Point,
        dates: DateStyle::default(),
        unnamed_index,
        ragged,
        bytes,
        row_start,
        field_end,
        row_no,
        read_seconds: None,
    };
    table.decimal = table.detect_decimal();
    Ok(table)
}

impl Table {
    /// A decimal comma when the fields of a sample are written that way more often than with
    /// a decimal point; only where the delimiter is not itself a comma.
    fn detect_decimal(&self) -> Decimal {
        if self.delimiter == b',' {
            return Decimal::Point;
        }
        let n = self.n_rows();
        let step = n.div_ceil(2_000).max(1);
        let (mut comma, mut point) = (0usize, 0usize);
        for i in (0..n).step_by(step) {
            for j in 0..self.n_cols() {
                let f = self.field(i, j);
                comma += usize::from(is_comma_decimal(f));
                point += usize::from(is_point_decimal(f));
            }
        }
        if comma > point {
            Decimal::Comma
        } else {
            Decimal::Point
        }
    }
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
    fn released_pages_read_back_the_same_rows() {
        let dir = std::env::temp_dir().join(format!("seg-release-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.csv");
        let mut text = String::from("id,name,x\n");
        for i in 0..20_000 {
            text.push_str(&format!("{i},\"n, {i}\",{}.5\n", i % 97));
        }
        std::fs::write(&path, &text).unwrap();
        let t = read_table(&path).unwrap();
        assert!(matches!(t.bytes, Bytes::Mapped(..)));
        let before: Vec<Vec<u8>> = (0..t.n_rows()).map(|i| t.row_bytes(i).to_vec()).collect();
        t.release_rows(100..15_000);
        t.release_rows(0..0);
        t.release_rows(19_990..30_000);
        for (i, row) in before.iter().enumerate() {
            assert_eq!(t.row_bytes(i), &row[..]);
        }
        t.release_all();
        assert_eq!(t.field(12_345, 1), b"n, 12345");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bytes_not_utf8_are_found_in_any_stretch_of_any_part() {
        let dir = std::env::temp_dir().join(format!("seg-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Parsed in stretches of RELEASE_EVERY bytes, over several parts (MIN_PART each).
        let rows = MIN_PART / 12 * 3;
        for bad in [7, rows / 2 + 3, rows - 1] {
            let mut text = b"id,x\n".to_vec();
            for i in 0..rows {
                text.extend_from_slice(format!("{i},{}.25\n", i % 9).as_bytes());
                if i + 1 == bad {
                    text.extend_from_slice(b"\xff\xfe,1\n");
                }
            }
            let path = dir.join("bad.csv");
            std::fs::write(&path, &text).unwrap();
            match read_table(&path) {
                Err(Error::NotUtf8 { row, line, .. }) => {
                    assert_eq!(
                        (row, line),
                        (bad as u64 + 1, bad as u64 + 2),
                        "bad row {bad}"
                    )
                }
                other => panic!("row {bad}: {other:?}"),
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn delimiter_is_the_most_frequent_outside_quotes() {
        assert_eq!(detect_delimiter(b"a,b,c\n1;2;3;4;5"), b',');
        assert_eq!(detect_delimiter(b"a;b;\"x,y,z\"\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"single"), b',');
    }

    #[test]
    fn records_with_quotes_and_line_breaks() {
        let buf = b"a,\"b,\"\"c\"\"\nd\",e\r\nx,y,z";
        let mut ends = Vec::new();
        let next = parse_record(buf, 0, b',', &mut ends);
        assert_eq!(ends, vec![1, 13, 15]);
        assert_eq!(&buf[next..], b"x,y,z");
        let mut ends = Vec::new();
        assert_eq!(parse_record(buf, next, b',', &mut ends), buf.len());
        assert_eq!(ends, vec![1, 3, 5]);
        assert_eq!(unquote(b"\"a\"\"b\""), b"a\"\"b");
    }

    #[test]
    fn row_numbers_count_ragged_rows_and_skip_blank_lines() {
        let t = Table::from_csv_bytes(Path::new("t.csv"), b"a,b\n1,2\n\n3\n4,5\n6,7\n".to_vec())
            .unwrap();
        assert_eq!(t.n_rows(), 3);
        assert_eq!(t.rows_in(), 4);
        let rows: Vec<u64> = (0..3).map(|i| t.row_number(i)).collect();
        assert_eq!(rows, vec![1, 3, 4]);
        assert_eq!((t.ragged[0].row, t.ragged[0].line), (2, 4));
        let t = Table::from_csv_bytes(Path::new("t.csv"), b"a,b\n1,2\n\n3,4\n".to_vec()).unwrap();
        assert_eq!((t.row_number(0), t.row_number(1)), (1, 2));
    }

    #[test]
    fn row_numbers_across_parts() {
        // Large enough to be parsed in several parts, with a ragged row late in the file.
        let n = 1_000_000usize;
        let mut b = b"x,y\n".to_vec();
        for i in 0..n {
            if i == n - 10 {
                b.extend_from_slice(b"ragged\n");
            }
            b.extend_from_slice(format!("{i},{}\n", i % 7).as_bytes());
        }
        let t = Table::from_csv_bytes(Path::new("t.csv"), b.clone()).unwrap();
        assert_eq!(t.n_rows(), n);
        assert_eq!(t.row_number(n - 11), (n - 10) as u64);
        assert_eq!(t.row_number(n - 10), (n - 10 + 2) as u64);
        assert_eq!(t.field(n - 1, 0), format!("{}", n - 1).as_bytes());
        assert_eq!(t.ragged[0].row, (n - 10 + 1) as u64);
        // Without the ragged row every number is the index + 1.
        let clean: Vec<u8> = String::from_utf8(b)
            .unwrap()
            .replace("ragged\n", "")
            .into_bytes();
        let t = Table::from_csv_bytes(Path::new("t.csv"), clean).unwrap();
        assert_eq!(t.row_number(n - 1), n as u64);
        assert_eq!(t.row_number(n / 2), (n / 2 + 1) as u64);
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
