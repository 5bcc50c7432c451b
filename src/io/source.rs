//! Record sources for logs: CSV (plain or `.gz`), SQLite (a table or a query) and Parquet,
//! behind one interface that streams the wanted columns of each row as text, so the feature
//! builders never hold more than one row of input.

use super::dates::DateStyle;
use super::format::push_csv_field;
use super::table::{read_table, Table};
use super::values::Decimal;
use crate::error::{Error, Param, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where rows come from, as chosen by the file's extension and the SQLite options.
#[derive(Clone, Debug, Default)]
pub struct SourceOptions {
    /// SQLite: the table to read (default: the only table, or `events`/`transactions`).
    pub table: Option<String>,
    /// SQLite: a query whose result columns are read instead of a table.
    pub query: Option<String>,
    /// Spreadsheets: the sheet to read (default: the first).
    pub sheet: Option<String>,
    /// Text tables: the decimal separator (default: detected).
    pub decimal: Option<Decimal>,
    /// How dates are written (default: the accepted forms, month first in slash dates).
    pub dates: DateStyle,
}

/// The kinds of input, decided from the file name (`.csv`, `.csv.gz`, `.db`/`.sqlite`/
/// `.sqlite3`, `.parquet`/`.pq`); anything else is read as CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// Comma-separated text with a header row, optionally gzip-compressed.
    Csv {
        /// Whether the text is gzip-compressed.
        gzip: bool,
    },
    /// A SQLite database file.
    Sqlite,
    /// An Apache Parquet file.
    Parquet,
    /// A spreadsheet workbook: Excel `.xlsx`/`.xlsm`/`.xlsb`/`.xls` or OpenDocument `.ods`.
    Spreadsheet,
}

impl SourceKind {
    /// The format's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Csv { gzip: false } => "CSV",
            SourceKind::Csv { gzip: true } => "gzip-compressed CSV",
            SourceKind::Sqlite => "SQLite",
            SourceKind::Parquet => "Parquet",
            SourceKind::Spreadsheet => "a spreadsheet",
        }
    }

    /// Picks the kind from the file name, falling back to the file's magic bytes.
    pub fn detect(path: &Path) -> SourceKind {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".gz") {
            return SourceKind::Csv { gzip: true };
        }
        for ext in [".db", ".sqlite", ".sqlite3"] {
            if name.ends_with(ext) {
                return SourceKind::Sqlite;
            }
        }
        if name.ends_with(".parquet") || name.ends_with(".pq") {
            return SourceKind::Parquet;
        }
        for ext in [".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"] {
            if name.ends_with(ext) {
                return SourceKind::Spreadsheet;
            }
        }
        let mut magic = [0u8; 16];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut magic))
            .unwrap_or(0);
        match &magic[..n] {
            m if m.starts_with(b"SQLite format 3") => SourceKind::Sqlite,
            m if m.starts_with(b"PAR1") => SourceKind::Parquet,
            [0x1f, 0x8b, ..] => SourceKind::Csv { gzip: true },
            // A zip archive (xlsx, ods) or an OLE2 compound file (xls) read by content.
            m if m.starts_with(b"PK\x03\x04") || m.starts_with(b"\xD0\xCF\x11\xE0") => {
                SourceKind::Spreadsheet
            }
            _ => SourceKind::Csv { gzip: false },
        }
    }
}

/// The name of a format segmenter does not read, from a file's first bytes: so that a wrong
/// file gets a message naming what it is rather than a parse error.
pub fn unsupported_format(path: &Path) -> Option<&'static str> {
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let h = &head[..n];
    let magic: [(&[u8], &str); 11] = [
        (b"%PDF", "a PDF document"),
        (b"\xFF\xFE", "UTF-16 text (re-export it as UTF-8)"),
        (b"\xFE\xFF", "UTF-16 text (re-export it as UTF-8)"),
        (
            b"BZh",
            "a bzip2 archive (decompress it first; .csv.gz is read directly)",
        ),
        (
            b"\xFD7zXZ\x00",
            "an xz archive (decompress it first; .csv.gz is read directly)",
        ),
        (
            b"\x28\xB5\x2F\xFD",
            "a zstd archive (decompress it first; .csv.gz is read directly)",
        ),
        (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive (extract it first)"),
        (
            b"ARROW1",
            "an Arrow IPC (Feather) file (write it as Parquet or CSV)",
        ),
        (b"ORC", "an ORC file (write it as Parquet or CSV)"),
        (b"Obj\x01", "an Avro file (write it as Parquet or CSV)"),
        (b"\x89PNG", "a PNG image"),
    ];
    if let Some((_, what)) = magic.iter().find(|(m, _)| h.starts_with(m)) {
        return Some(what);
    }
    let text = h
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(h)
        .trim_ascii_start();
    if text.starts_with(b"{") || text.starts_with(b"[") {
        return Some("JSON, not a table with a header row (export it as CSV or Parquet)");
    }
    let lower = text[..text.len().min(16)].to_ascii_lowercase();
    if lower.starts_with(b"<!doctype") || lower.starts_with(b"<html") || lower.starts_with(b"<?xml")
    {
        return Some("an HTML or XML document, not a table (export it as CSV)");
    }
    None
}

/// The error for a file of a format segmenter does not read.
fn wrong_format(path: &Path) -> Option<Error> {
    unsupported_format(path).map(|what| {
        Error::Unsupported(format!(
            "{}: this is {what}; segmenter reads CSV (also .csv.gz), Parquet, SQLite and \
             spreadsheets (.xlsx, .xls, .ods)",
            path.display()
        ))
    })
}

/// An opened input whose column names are known; [`Source::scan`] streams its rows.
pub struct Source {
    path: PathBuf,
    kind: SourceKind,
    columns: Vec<String>,
    options: SourceOptions,
    /// A spreadsheet's cells, parsed once when it is opened (the XML is the slow part).
    #[cfg(feature = "xlsx")]
    sheet: Option<calamine::Range<calamine::Data>>,
}

impl Table {
    /// Reads a whole customer table from any source: CSV (delimiter, BOM and quoting detected,
    /// mapped from the page cache), gzip-compressed CSV, a SQLite table or query, or Parquet.
    /// SQLite and Parquet values become the text a CSV export of them would hold.
    pub fn read(src: &Source) -> Result<Table> {
        let t = std::time::Instant::now();
        let mut table = match src.kind {
            SourceKind::Csv { gzip: false } => read_table(&src.path)?,
            SourceKind::Csv { gzip: true } => {
                let file = std::fs::File::open(&src.path).map_err(|e| Error::read(&src.path, e))?;
                let mut bytes = Vec::new();
                flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 16, file))
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::Csv {
                        path: src.path.clone(),
                        message: format!("{e} (is it a valid gzip file?)"),
                    })?;
                Table::from_csv_bytes(&src.path, bytes)?
            }
            SourceKind::Sqlite | SourceKind::Parquet | SourceKind::Spreadsheet => {
                let mut bytes = Vec::new();
                for (j, c) in src.columns.iter().enumerate() {
                    if j > 0 {
                        bytes.push(b',');
                    }
                    push_csv_field(&mut bytes, c.as_bytes());
                }
                bytes.push(b'\n');
                let all: Vec<usize> = (0..src.columns.len()).collect();
                let rows = src.scan(&all, &mut |_, fields| {
                    for (j, f) in fields.iter().enumerate() {
                        if j > 0 {
                            bytes.push(b',');
                        }
                        push_csv_field(&mut bytes, f);
                    }
                    bytes.push(b'\n');
                    Ok(())
                })?;
                if rows == 0 {
                    return Err(Error::NoRows {
                        path: src.path.clone(),
                    });
                }
                Table::from_csv_bytes(&src.path, bytes)?
            }
        };
        if let Some(d) = src.options.decimal {
            table.decimal = d;
        }
        table.dates = src.options.dates.clone();
        table.set_read_seconds(t.elapsed().as_secs_f64());
        Ok(table)
    }

    /// Reads the whole table at `path` ([`Table::read`]); the kind comes from the name and the
    /// first bytes, as [`Source::open`] decides it.
    pub fn open(path: &Path, options: &SourceOptions) -> Result<Table> {
        let plain = SourceKind::detect(path) == SourceKind::Csv { gzip: false };
        if plain {
            if let Some(e) = wrong_format(path) {
                return Err(e);
            }
        }
        let mut table = if plain
            && options.table.is_none()
            && options.query.is_none()
            && options.sheet.is_none()
        {
            read_table(path)?
        } else {
            Table::read(&Source::open(path, options)?)?
        };
        if let Some(d) = options.decimal {
            table.decimal = d;
        }
        table.dates = options.dates.clone();
        Ok(table)
    }
}

/// Receives each data row: its 1-based number and the wanted fields as text.
pub type RowSink<'a> = dyn FnMut(u64, &[&[u8]]) -> Result<()> + 'a;

/// Rows delivered per call of the sink are at most this many fields wide.
pub const MAX_FIELDS: usize = 16;

impl Source {
    /// Opens `path` and reads its column names (the CSV header, the table's or query's
    /// columns, or the Parquet schema's top-level fields).
    pub fn open(path: &Path, options: &SourceOptions) -> Result<Source> {
        if !path.exists() {
            return Err(Error::read(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            ));
        }
        let kind = SourceKind::detect(path);
        if kind == (SourceKind::Csv { gzip: false }) {
            if let Some(e) = wrong_format(path) {
                return Err(e);
            }
        }
        if kind != SourceKind::Sqlite && (options.table.is_some() || options.query.is_some()) {
            return Err(Error::Data(format!(
                "{}: {} and {} apply to SQLite databases only (this file is read as {})",
                path.display(),
                Param::Table,
                Param::Query,
                kind.name()
            )));
        }
        if kind != SourceKind::Spreadsheet && options.sheet.is_some() {
            return Err(Error::Data(format!(
                "{}: {} applies to spreadsheets only (this file is read as {})",
                path.display(),
                Param::Sheet,
                kind.name()
            )));
        }
        let mut s = Source {
            path: path.to_path_buf(),
            kind,
            columns: Vec::new(),
            options: options.clone(),
            #[cfg(feature = "xlsx")]
            sheet: None,
        };
        s.columns = match kind {
            SourceKind::Csv { gzip } => csv_header(path, gzip)?,
            #[cfg(feature = "sqlite")]
            SourceKind::Sqlite => sqlite::columns(&s)?,
            #[cfg(feature = "parquet")]
            SourceKind::Parquet => parquet_src::columns(path)?,
            #[cfg(feature = "xlsx")]
            SourceKind::Spreadsheet => {
                let cells = sheet::range(path, options.sheet.as_deref())?;
                let columns = sheet::columns(path, &cells)?;
                s.sheet = Some(cells);
                columns
            }
            #[allow(unreachable_patterns)]
            other => return Err(not_built(path, other)),
        };
        Ok(s)
    }

    /// The input's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The input's kind.
    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    /// The column names, in input order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Calls `sink(row, fields)` for every data row, in input order: `row` counts data rows
    /// from 1, `fields[i]` is column `wanted[i]` as text (empty when missing or NULL).
    /// Returns the number of rows read.
    /// CSV delivers at most [`MAX_FIELDS`] fields a row; SQLite and Parquet any number.
    pub fn scan(&self, wanted: &[usize], sink: &mut RowSink<'_>) -> Result<u64> {
        let csv = matches!(self.kind, SourceKind::Csv { .. });
        if (csv && wanted.len() > MAX_FIELDS) || wanted.iter().any(|&w| w >= self.columns.len()) {
            return Err(Error::Data(format!(
                "{}: internal error: bad column selection {wanted:?}",
                self.path.display()
            )));
        }
        match self.kind {
            SourceKind::Csv { gzip } => csv_scan(&self.path, gzip, wanted, sink),
            #[cfg(feature = "sqlite")]
            SourceKind::Sqlite => sqlite::scan(self, wanted, sink),
            #[cfg(feature = "parquet")]
            SourceKind::Parquet => parquet_src::scan(&self.path, wanted, sink),
            #[cfg(feature = "xlsx")]
            SourceKind::Spreadsheet => match &self.sheet {
                Some(cells) => sheet::scan(cells, wanted, sink),
                None => Err(not_built(&self.path, self.kind)),
            },
            #[allow(unreachable_patterns)]
            other => Err(not_built(&self.path, other)),
        }
    }
}

/// The error for a kind of input this build was compiled without.
#[allow(dead_code)] // unused when every format is built in
fn not_built(path: &Path, kind: SourceKind) -> Error {
    let (what, feature) = match kind {
        SourceKind::Sqlite => ("a SQLite database", "sqlite"),
        SourceKind::Parquet => ("a Parquet file", "parquet"),
        SourceKind::Spreadsheet => ("a spreadsheet", "xlsx"),
        SourceKind::Csv { .. } => ("CSV", "default"),
    };
    Error::Unsupported(format!(
        "{}: this is {what}, and this segmenter was built without the '{feature}' feature",
        path.display()
    ))
}

fn csv_reader(path: &Path, gzip: bool) -> Result<csv::Reader<Box<dyn Read + Send>>> {
    let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let inner: Box<dyn Read + Send> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(
            std::io::BufReader::with_capacity(1 << 16, file),
        ))
    } else {
        Box::new(file)
    };
    Ok(csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(inner))
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    match e.kind() {
        csv::ErrorKind::Io(_) => Error::Csv {
            path: path.into(),
            message: format!(
                "{e} (is it a valid {}?)",
                if path.extension().is_some_and(|x| x == "gz") {
                    "gzip file"
                } else {
                    "CSV file"
                }
            ),
        },
        _ => Error::Csv {
            path: path.into(),
            message: e.to_string(),
        },
    }
}

fn csv_header(path: &Path, gzip: bool) -> Result<Vec<String>> {
    let mut rdr = csv_reader(path, gzip)?;
    let mut rec = csv::ByteRecord::new();
    if !rdr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_error(path, e))?
    {
        return Err(Error::EmptyFile { path: path.into() });
    }
    let cols: Vec<String> = rec
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let s = String::from_utf8_lossy(f);
            let s = if i == 0 {
                s.trim_start_matches('\u{feff}')
            } else {
                &s
            };
            s.trim().to_string()
        })
        .collect();
    if cols.iter().all(|c| c.is_empty()) {
        return Err(Error::EmptyFile { path: path.into() });
    }
    Ok(cols)
}

/// Records handed from the parsing thread to the aggregating one per message.
const BATCH: usize = 2048;

/// Parses on a second thread while the sink aggregates on this one: on two cores CSV parsing
/// and hashing each take about half the time, and batches keep the hand-off cheap. Order is
/// preserved, so results are the same as a single-threaded scan.
fn csv_scan(path: &Path, gzip: bool, wanted: &[usize], sink: &mut RowSink<'_>) -> Result<u64> {
    if !gzip {
        if let Some(map) = map_file(path) {
            return match plain_scan(&map, wanted, sink)? {
                Plain::Done(rows) => Ok(rows),
                Plain::Stopped(rows) => csv_scan_stream(path, gzip, wanted, sink, rows),
            };
        }
    }
    csv_scan_stream(path, gzip, wanted, sink, 0)
}

/// The file mapped into memory, when it is a non-empty regular file that can be mapped.
fn map_file(path: &Path) -> Option<memmap2::Mmap> {
    let file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // SAFETY: the map is read-only and private to this scan; as with any reader, a file
    // changed while it is read yields garbled rows, not undefined behaviour in safe code
    // that only copies and compares the bytes.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

/// How far the fast path got.
enum Plain {
    /// Every row was delivered; the number of rows.
    Done(u64),
    /// It stopped before a row it does not handle, after delivering this many rows.
    Stopped(u64),
}

/// Bytes of the map released after they are read, so the resident size stays small.
const RELEASE: usize = 64 << 20;

/// The fast path for plain CSV: lines without quotes or carriage returns are split at commas
/// straight from the mapped file, on this thread. The CSV reader splits such a line the
/// same way, so the rows are identical; at the first line with a quote or `\r`, or a row of
/// the wrong width, it stops and the CSV reader takes over (and reports any error).
fn plain_scan(map: &memmap2::Mmap, wanted: &[usize], sink: &mut RowSink<'_>) -> Result<Plain> {
    let data: &[u8] = map;
    let hend = memchr::memchr(b'\n', data).unwrap_or(data.len());
    let header = &data[..hend];
    if header.is_empty() || memchr::memchr2(b'"', b'\r', header).is_some() {
        return Ok(Plain::Stopped(0));
    }
    let width = memchr::memchr_iter(b',', header).count() + 1;
    let mut starts: Vec<usize> = Vec::with_capacity(width + 1);
    let mut fields: [&[u8]; MAX_FIELDS] = [&[]; MAX_FIELDS];
    let mut pos = hend + 1;
    let mut released = 0;
    let mut row = 0u64;
    while pos < data.len() {
        let rest = &data[pos..];
        let end = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..end];
        if !line.is_empty() {
            if memchr::memchr2(b'"', b'\r', line).is_some() {
                return Ok(Plain::Stopped(row));
            }
            starts.clear();
            starts.push(0);
            starts.extend(memchr::memchr_iter(b',', line).map(|c| c + 1));
            if starts.len() != width {
                return Ok(Plain::Stopped(row));
            }
            starts.push(line.len() + 1);
            row += 1;
            for (f, &w) in fields.iter_mut().zip(wanted) {
                *f = &line[starts[w]..starts[w + 1] - 1];
            }
            sink(row, &fields[..wanted.len()])?;
        }
        pos += end + 1;
        if pos - released >= RELEASE {
            let upto = pos / page_size() * page_size();
            if upto > released {
                #[cfg(unix)]
                // SAFETY: the released range lies wholly before `pos`: no slice into it is
                // used again (the sink got its fields and returned).
                let _ = unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        released,
                        upto - released,
                    )
                };
                released = upto;
            }
        }
    }
    Ok(Plain::Done(row))
}

fn page_size() -> usize {
    4096
}

/// Streams the CSV reader's records; the first `skip` rows (already delivered by the fast
/// path) are read and counted but not delivered.
fn csv_scan_stream(
    path: &Path,
    gzip: bool,
    wanted: &[usize],
    sink: &mut RowSink<'_>,
    skip: u64,
) -> Result<u64> {
    let mut rdr = csv_reader(path, gzip)?;
    let mut header = csv::ByteRecord::new();
    rdr.read_byte_record(&mut header)
        .map_err(|e| csv_error(path, e))?;
    let width = header.len();
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Result<Vec<csv::ByteRecord>>>(4);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Vec<csv::ByteRecord>>();
    std::thread::scope(|scope| {
        // Owned by this closure so that an early return drops them before the scope joins
        // the parser, which then stops on a closed channel instead of blocking.
        let full_rx = full_rx;
        let empty_tx = empty_tx;
        let path_owned = path.to_path_buf();
        scope.spawn(move || loop {
            let mut batch = empty_rx
                .try_recv()
                .unwrap_or_else(|_| vec![csv::ByteRecord::new(); BATCH]);
            batch.resize_with(BATCH, csv::ByteRecord::new);
            let mut n = 0;
            while n < BATCH {
                match rdr.read_byte_record(&mut batch[n]) {
                    Ok(true) => n += 1,
                    Ok(false) => break,
                    Err(e) => {
                        let _ = full_tx.send(Err(csv_error(&path_owned, e)));
                        return;
                    }
                }
            }
            batch.truncate(n);
            let last = n < BATCH;
            if n > 0 && full_tx.send(Ok(batch)).is_err() {
                return;
            }
            if last {
                return;
            }
        });
        let mut row = 0u64;
        for batch in full_rx.iter() {
            let batch = batch?;
            for rec in &batch {
                // A blank line is not a row.
                if rec.len() == 1 && rec[0].is_empty() {
                    continue;
                }
                row += 1;
                if row <= skip {
                    continue;
                }
                if rec.len() != width {
                    return Err(Error::Ragged {
                        path: path.into(),
                        row,
                        line: rec.position().map_or(0, |p| p.line()),
                        expected: width,
                        found: rec.len(),
                    });
                }
                let mut fields: [&[u8]; MAX_FIELDS] = [&[]; MAX_FIELDS];
                for (f, &w) in fields.iter_mut().zip(wanted) {
                    *f = &rec[w];
                }
                sink(row, &fields[..wanted.len()])?;
            }
            let _ = empty_tx.send(batch);
        }
        Ok(row)
    })
}

/// Appends the text of an f64 the way a CSV export would: integers without a fraction.
#[cfg(any(feature = "sqlite", feature = "parquet", feature = "xlsx"))]
fn push_f64(out: &mut Vec<u8>, v: f64) {
    use std::io::Write;
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(feature = "xlsx")]
mod sheet {
    use super::*;
    use calamine::{open_workbook_auto, Data, Range, Reader};

    fn err(path: &Path, message: impl std::fmt::Display) -> Error {
        Error::Spreadsheet {
            path: path.into(),
            message: message.to_string(),
        }
    }

    /// The chosen sheet's cells: `name`, or the first sheet.
    pub(super) fn range(path: &Path, name: Option<&str>) -> Result<Range<Data>> {
        let mut wb = open_workbook_auto(path).map_err(|e| {
            let named = path.extension().is_some_and(|x| {
                let x = x.to_string_lossy().to_ascii_lowercase();
                ["xlsx", "xlsm", "xlsb", "xls", "ods"].contains(&x.as_str())
            });
            if named {
                err(path, e)
            } else {
                Error::Unsupported(format!(
                    "{}: this is a zip archive or an OLE2 file but not a workbook segmenter \
                     reads (xlsx, xls, ods): extract the table inside ({e})",
                    path.display()
                ))
            }
        })?;
        let names = wb.sheet_names();
        let sheet = match name {
            Some(n) if names.iter().any(|s| s == n) => n.to_string(),
            Some(n) => {
                return Err(err(
                    path,
                    format!(
                        "no sheet named '{n}'; the sheets are: {}",
                        names
                            .iter()
                            .map(|s| format!("'{s}'"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
            None => names
                .first()
                .cloned()
                .ok_or_else(|| err(path, "the workbook has no sheet"))?,
        };
        wb.worksheet_range(&sheet)
            .map_err(|e| err(path, format!("sheet '{sheet}': {e}")))
    }

    /// Writes a cell as the text a CSV export of the sheet would hold; dates as ISO 8601.
    fn push_cell(b: &mut Vec<u8>, c: &Data) {
        match c {
            Data::Empty | Data::Error(_) => {}
            Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                b.extend_from_slice(s.as_bytes())
            }
            Data::Int(i) => b.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Data::Float(x) => push_f64(b, *x),
            Data::Bool(x) => b.extend_from_slice(if *x { b"true" } else { b"false" }),
            Data::DateTime(d) if d.is_datetime() => {
                // Excel's serial day 25569 is 1970-01-01 (1900 date system, past March 1900).
                let secs = ((d.as_f64() - 25_569.0) * 86_400.0).round() as i64;
                let text = if secs.rem_euclid(86_400) == 0 {
                    crate::io::dates::format_date(secs.div_euclid(86_400))
                } else {
                    crate::io::dates::format_timestamp(secs)
                };
                b.extend_from_slice(text.as_bytes());
            }
            Data::DateTime(d) => push_f64(b, d.as_f64()),
        }
    }

    fn text(c: &Data) -> String {
        let mut b = Vec::new();
        push_cell(&mut b, c);
        String::from_utf8_lossy(&b).trim().to_string()
    }

    /// The header: the sheet's first row.
    pub(super) fn columns(path: &Path, r: &Range<Data>) -> Result<Vec<String>> {
        let cols: Vec<String> = r
            .rows()
            .next()
            .map(|h| h.iter().map(text).collect())
            .unwrap_or_default();
        if cols.iter().all(|c| c.is_empty()) {
            return Err(Error::EmptyFile { path: path.into() });
        }
        Ok(cols)
    }

    /// The data rows below the header.
    pub(super) fn scan(r: &Range<Data>, wanted: &[usize], sink: &mut RowSink<'_>) -> Result<u64> {
        let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); wanted.len()];
        let mut n = 0u64;
        for row in r.rows().skip(1) {
            for (b, &w) in bufs.iter_mut().zip(wanted) {
                b.clear();
                if let Some(c) = row.get(w) {
                    push_cell(b, c);
                }
            }
            n += 1;
            let fields: Vec<&[u8]> = bufs.iter().map(|b| b.as_slice()).collect();
            sink(n, &fields)?;
        }
        Ok(n)
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use rusqlite::types::ValueRef;
    use rusqlite::{Connection, OpenFlags};

    fn err(path: &Path, e: rusqlite::Error) -> Error {
        Error::Sqlite {
            path: path.into(),
            message: e.to_string(),
        }
    }

    fn quote_ident(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\""))
    }

    fn open(path: &Path) -> Result<Connection> {
        Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| err(path, e))
    }

    /// The SQL that yields the rows: the user's query, or `SELECT *` from the chosen table.
    fn sql(conn: &Connection, src: &Source) -> Result<String> {
        let path = &src.path;
        if let Some(q) = &src.options.query {
            if src.options.table.is_some() {
                return Err(Error::Data(format!(
                    "{}: give {} or {}, not both",
                    path.display(),
                    Param::Table,
                    Param::Query
                )));
            }
            return Ok(q.clone());
        }
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .map_err(|e| err(path, e))?;
        let tables: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| err(path, e))?;
        let table = match &src.options.table {
            Some(t) if tables.iter().any(|x| x == t) => t.clone(),
            Some(t) => {
                return Err(Error::Data(format!(
                    "{}: no table '{t}'; the database has: {}",
                    path.display(),
                    tables.join(", ")
                )))
            }
            None if tables.len() == 1 => tables[0].clone(),
            None => {
                return Err(Error::Data(format!(
                    "{}: {} tables; pick one with {} (the database has: {}) or pass {} SQL",
                    path.display(),
                    if tables.is_empty() { "no" } else { "several" },
                    Param::Table,
                    tables.join(", "),
                    Param::Query
                )))
            }
        };
        Ok(format!("SELECT * FROM {}", quote_ident(&table)))
    }

    pub(super) fn columns(src: &Source) -> Result<Vec<String>> {
        let conn = open(&src.path)?;
        let q = sql(&conn, src)?;
        let stmt = conn.prepare(&q).map_err(|e| err(&src.path, e))?;
        Ok(stmt.column_names().map(|s| s.to_string()).collect())
    }

    pub(super) fn scan(src: &Source, wanted: &[usize], sink: &mut RowSink<'_>) -> Result<u64> {
        let path = &src.path;
        let conn = open(path)?;
        let q = sql(&conn, src)?;
        let mut stmt = conn.prepare(&q).map_err(|e| err(path, e))?;
        let mut rows = stmt.query([]).map_err(|e| err(path, e))?;
        let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); wanted.len()];
        let mut n = 0u64;
        while let Some(r) = rows.next().map_err(|e| err(path, e))? {
            n += 1;
            for (b, &w) in bufs.iter_mut().zip(wanted) {
                b.clear();
                match r.get_ref(w).map_err(|e| err(path, e))? {
                    ValueRef::Null => {}
                    ValueRef::Integer(i) => b.extend_from_slice(i.to_string().as_bytes()),
                    ValueRef::Real(x) => push_f64(b, x),
                    ValueRef::Text(t) | ValueRef::Blob(t) => b.extend_from_slice(t),
                }
            }
            let fields: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
            sink(n, &fields)?;
        }
        Ok(n)
    }
}

#[cfg(feature = "parquet")]
mod parquet_src {
    use super::*;
    use parquet::basic::{LogicalType, TimeUnit};
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    use std::io::Write;

    fn err(path: &Path, e: parquet::errors::ParquetError) -> Error {
        Error::Parquet {
            path: path.into(),
            message: e.to_string(),
        }
    }

    fn reader(path: &Path) -> Result<SerializedFileReader<std::fs::File>> {
        let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
        SerializedFileReader::new(file).map_err(|e| err(path, e))
    }

    pub(super) fn columns(path: &Path) -> Result<Vec<String>> {
        let r = reader(path)?;
        let schema = r.metadata().file_metadata().schema_descr();
        Ok(schema
            .root_schema()
            .get_fields()
            .iter()
            .map(|f| f.name().to_string())
            .collect())
    }

    /// Writes a field as the text a CSV export of it would hold.
    fn push_field(b: &mut Vec<u8>, f: &Field) {
        match f {
            Field::Null => {}
            Field::Str(s) => b.extend_from_slice(s.as_bytes()),
            Field::Bytes(x) => b.extend_from_slice(x.data()),
            Field::Float(x) => push_f64(b, *x as f64),
            Field::Double(x) => push_f64(b, *x),
            Field::Date(d) => {
                b.extend_from_slice(crate::io::dates::format_date(*d as i64).as_bytes())
            }
            Field::TimestampMillis(ms) => b.extend_from_slice(
                crate::io::dates::format_timestamp(ms.div_euclid(1000)).as_bytes(),
            ),
            Field::TimestampMicros(us) => b.extend_from_slice(
                crate::io::dates::format_timestamp(us.div_euclid(1_000_000)).as_bytes(),
            ),
            other => {
                let _ = write!(b, "{other}");
            }
        }
    }

    pub(super) fn scan(path: &Path, wanted: &[usize], sink: &mut RowSink<'_>) -> Result<u64> {
        let r = reader(path)?;
        // Nanosecond timestamps (what pandas writes) have no converted type, so the record
        // API hands them over as plain INT64: mark those columns to format them as times.
        let nanos: Vec<bool> = {
            let schema = r.metadata().file_metadata().schema_descr();
            let fields = schema.root_schema().get_fields();
            wanted
                .iter()
                .map(|&w| {
                    matches!(
                        fields[w].get_basic_info().logical_type_ref(),
                        Some(LogicalType::Timestamp(t)) if matches!(t.unit, TimeUnit::NANOS)
                    )
                })
                .collect()
        };
        let rows = r.get_row_iter(None).map_err(|e| err(path, e))?;
        let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); wanted.len()];
        let mut n = 0u64;
        for row in rows {
            let row = row.map_err(|e| err(path, e))?;
            n += 1;
            for b in bufs.iter_mut() {
                b.clear();
            }
            for (j, (_, f)) in row.get_column_iter().enumerate() {
                for (k, &w) in wanted.iter().enumerate() {
                    if w == j {
                        match f {
                            Field::Long(ns) if nanos[k] => bufs[k].extend_from_slice(
                                crate::io::dates::format_timestamp(ns.div_euclid(1_000_000_000))
                                    .as_bytes(),
                            ),
                            _ => push_field(&mut bufs[k], f),
                        }
                    }
                }
            }
            let fields: Vec<&[u8]> = bufs.iter().map(Vec::as_slice).collect();
            sink(n, &fields)?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(path: &Path, wanted: &[usize], fast: bool) -> Result<Vec<(u64, Vec<Vec<u8>>)>> {
        let mut out = Vec::new();
        let mut sink = |row: u64, f: &[&[u8]]| -> Result<()> {
            out.push((row, f.iter().map(|x| x.to_vec()).collect()));
            Ok(())
        };
        if fast {
            csv_scan(path, false, wanted, &mut sink)?;
        } else {
            csv_scan_stream(path, false, wanted, &mut sink, 0)?;
        }
        Ok(out)
    }

    #[test]
    fn fast_path_matches_the_csv_reader() {
        let dir = std::env::temp_dir().join(format!("segmenter-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases: [&[u8]; 8] = [
            b"a,b,c\n1,2,3\n\n4,,6\n7,8,9",
            b"a,b,c\n1,2,3\n4,\"x,\ny\",6\n7,8,9\n",
            b"a,b,c\r\n1,2,3\r\n4,5,6\r\n",
            b"a,b,c\n1,2,3\n4,5\r\n6,7,8\n",
            b"a,b,c\n1,2,3\n4,5\n6,7,8\n",
            b"\na,b,c\n1,2,3\n",
            b"a,b,c\n",
            b"a,b,c\n1,2,3\n4,5,6,7\n",
        ];
        for (i, c) in cases.iter().enumerate() {
            let p = dir.join(format!("c{i}.csv"));
            std::fs::write(&p, c).unwrap();
            let fast = rows(&p, &[2, 0], true).map_err(|e| e.to_string());
            let slow = rows(&p, &[2, 0], false).map_err(|e| e.to_string());
            assert_eq!(fast, slow, "case {i}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
