//! The file in passes: line-aligned chunks of a delimited text file, each parsed as a
//! [`Table`] numbered as the whole file is, and the spill files (fixed-width little-endian
//! records) that carry each row's values from one pass to the next.

use crate::error::{Error, Result};
use crate::io::dates::DateStyle;
use crate::io::values::Decimal;
use crate::io::{SourceOptions, Table};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Bytes of the file parsed at once (a chunk ends at the first record end after this many).
pub const CHUNK_BYTES: usize = 32 << 20;

/// One chunk of the file: its rows as a table, and where they lie in the file.
pub struct Chunk {
    /// The chunk's rows (row and line numbers as in the whole file).
    pub table: Table,
    /// Index of the chunk's first well-formed row among all well-formed rows of the file.
    pub first_row: usize,
    /// File offset of the chunk's first data byte.
    pub offset: u64,
    /// Data rows (well-formed or not) before the chunk.
    pub rows_before: u64,
}

/// Reads a delimited file chunk by chunk, each chunk ending at a record end (a line break
/// outside quotes), so no row is split.
pub struct ChunkReader {
    file: File,
    path: PathBuf,
    header: Vec<u8>,
    buf: Vec<u8>,
    next_offset: u64,
    eof: bool,
    rows_before: u64,
    lines_before: u64,
    rows_seen: usize,
    chunk_bytes: usize,
    decimal: Option<Decimal>,
    dates: DateStyle,
    delimiter: Option<u8>,
}

/// Offset just past the last record end of `b` (0 when none): `b` starts at a record start,
/// and a quote toggles whether a line break ends a record (a doubled quote toggles twice).
fn last_record_end(b: &[u8]) -> usize {
    let mut quoted = false;
    let mut last = 0;
    for i in memchr::memchr2_iter(b'"', b'\n', b) {
        if b[i] == b'"' {
            quoted = !quoted;
        } else if !quoted {
            last = i + 1;
        }
    }
    last
}

impl ChunkReader {
    /// Opens `path` (a plain delimited text file) and reads its header.
    pub fn open(path: &Path, options: &SourceOptions) -> Result<ChunkReader> {
        Self::with_chunk_bytes(path, options, CHUNK_BYTES)
    }

    /// [`ChunkReader::open`] with chunks of about `chunk_bytes` (tests use small ones).
    pub fn with_chunk_bytes(
        path: &Path,
        options: &SourceOptions,
        chunk_bytes: usize,
    ) -> Result<ChunkReader> {
        let file = File::open(path).map_err(|e| Error::read(path, e))?;
        let mut r = ChunkReader {
            file,
            path: path.to_path_buf(),
            header: Vec::new(),
            buf: Vec::new(),
            next_offset: 0,
            eof: false,
            rows_before: 0,
            lines_before: 0,
            rows_seen: 0,
            chunk_bytes: chunk_bytes.max(1),
            decimal: options.decimal,
            dates: options.dates.clone(),
            delimiter: None,
        };
        // The header is the first record; read until it is complete.
        loop {
            let end = first_record_end(&r.buf);
            if end > 0 || r.eof {
                let end = if end > 0 { end } else { r.buf.len() };
                let mut skip = 0;
                if r.buf.starts_with(b"\xEF\xBB\xBF") {
                    skip = 3;
                }
                r.header = r.buf[skip..end].to_vec();
                if !r.header.ends_with(b"\n") {
                    r.header.push(b'\n');
                }
                r.buf.drain(..end);
                r.next_offset = end as u64;
                break;
            }
            r.fill(64 << 10)?;
        }
        if r.header.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(Error::EmptyFile { path: r.path });
        }
        Ok(r)
    }

    /// Reads up to `more` bytes onto the buffer; marks the end of the file.
    fn fill(&mut self, more: usize) -> Result<()> {
        let at = self.buf.len();
        self.buf.resize(at + more, 0);
        let mut got = 0;
        while got < more {
            match self.file.read(&mut self.buf[at + got..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(m) => got += m,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::read(&self.path, e)),
            }
        }
        self.buf.truncate(at + got);
        Ok(())
    }

    /// The header record as read (with its line break).
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// Parses `rows` (whole records of this file) with the header, as a chunk would be.
    pub fn parse_rows(&self, rows: &[u8]) -> Result<Table> {
        let mut bytes = Vec::with_capacity(self.header.len() + rows.len());
        bytes.extend_from_slice(&self.header);
        bytes.extend_from_slice(rows);
        let mut t = Table::from_csv_bytes(&self.path, bytes)?;
        if let Some(d) = self.decimal {
            t.decimal = d;
        }
        t.dates = self.dates.clone();
        t.path = self.path.clone();
        Ok(t)
    }

    /// The next chunk, or None at the end of the file.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        loop {
            let end = if self.eof {
                self.buf.len()
            } else if self.buf.len() >= self.chunk_bytes {
                last_record_end(&self.buf)
            } else {
                0
            };
            if end == 0 && !self.eof {
                // Too little read, or one record longer than the buffer: read more.
                self.fill(self.chunk_bytes.max(self.buf.len()))?;
                continue;
            }
            if end == 0 || self.buf[..end].iter().all(|b| b.is_ascii_whitespace()) {
                return Ok(None);
            }
            let offset = self.next_offset;
            let rest = self.buf.split_off(end);
            let rows = std::mem::replace(&mut self.buf, rest);
            self.next_offset += end as u64;
            // A chunk's rows are numbered from 1: an error names the row as the file does.
            let mut table = self.parse_rows(&rows).map_err(|e| match e {
                Error::NotUtf8 { path, row, line } => Error::NotUtf8 {
                    path,
                    row: row + self.rows_before,
                    line: line + self.lines_before,
                },
                e => e,
            })?;
            // The first chunk decides the delimiter and the decimal mark for all.
            match self.delimiter {
                None => {
                    self.delimiter = Some(table.delimiter);
                    self.decimal.get_or_insert(table.decimal);
                }
                Some(d) if d != table.delimiter => {
                    return Err(Error::Data(format!(
                        "{}: the delimiter seems to change after row {}; the file mixes delimiters",
                        self.path.display(),
                        self.rows_before
                    )));
                }
                Some(_) => {}
            }
            table.shift_rows(self.rows_before, self.lines_before);
            let first_row = self.rows_seen;
            let rows_before = self.rows_before;
            self.rows_before += table.rows_in();
            self.lines_before += memchr::memchr_iter(b'\n', &rows).count() as u64;
            self.rows_seen += table.n_rows();
            return Ok(Some(Chunk {
                table,
                first_row,
                offset,
                rows_before,
            }));
        }
    }

    /// Bytes of the header in the parsed chunk (row offsets count from there).
    pub fn header_len(&self) -> u64 {
        self.header.len() as u64
    }
}

/// Offset just past the first record end of `b`, 0 when none.
fn first_record_end(b: &[u8]) -> usize {
    let mut quoted = false;
    for i in memchr::memchr2_iter(b'"', b'\n', b) {
        if b[i] == b'"' {
            quoted = !quoted;
        } else if !quoted {
            return i + 1;
        }
    }
    0
}

/// A directory of spill files, removed with everything in it when dropped.
pub struct Spill {
    dir: PathBuf,
}

impl Spill {
    /// Creates the directory `dir` (which must not hold anything else).
    pub fn create(dir: &Path) -> Result<Spill> {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        Ok(Spill {
            dir: dir.to_path_buf(),
        })
    }

    /// Path of the spill file `name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A new spill file `name`, written through a buffer.
    pub fn writer(&self, name: &str) -> Result<SpillWriter> {
        let path = self.path(name);
        let f = File::create(&path).map_err(|e| Error::write(&path, e))?;
        Ok(SpillWriter {
            w: BufWriter::with_capacity(1 << 20, f),
            path,
        })
    }

    /// The spill file `name`, for reading.
    pub fn reader(&self, name: &str) -> Result<SpillReader> {
        let path = self.path(name);
        let f = File::open(&path).map_err(|e| Error::read(&path, e))?;
        Ok(SpillReader { f, path })
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Appends fixed-width records to a spill file.
pub struct SpillWriter {
    w: BufWriter<File>,
    path: PathBuf,
}

impl SpillWriter {
    /// Appends raw bytes.
    pub fn put(&mut self, b: &[u8]) -> Result<()> {
        self.w.write_all(b).map_err(|e| Error::write(&self.path, e))
    }

    /// Appends f64 values.
    pub fn put_f64(&mut self, v: &[f64]) -> Result<()> {
        for x in v {
            self.put(&x.to_le_bytes())?;
        }
        Ok(())
    }

    /// Appends f32 values.
    pub fn put_f32(&mut self, v: &[f32]) -> Result<()> {
        for x in v {
            self.put(&x.to_le_bytes())?;
        }
        Ok(())
    }

    /// Appends u32 values.
    pub fn put_u32(&mut self, v: &[u32]) -> Result<()> {
        for x in v {
            self.put(&x.to_le_bytes())?;
        }
        Ok(())
    }

    /// Flushes everything to the file.
    pub fn finish(mut self) -> Result<()> {
        self.w.flush().map_err(|e| Error::write(&self.path, e))
    }
}

/// Reads ranges of a spill file by position (through the page cache, into the caller's
/// buffer: the pages a pass reads do not stay in this process's memory, as a map's would).
pub struct SpillReader {
    f: File,
    path: PathBuf,
}

impl SpillReader {
    /// Fills `out` from byte `offset`.
    pub fn read_at(&self, offset: u64, out: &mut [u8]) -> Result<()> {
        self.f
            .read_exact_at(out, offset)
            .map_err(|e| Error::read(&self.path, e))
    }

    /// `n` f64 values from value `at`.
    pub fn f64s(&self, at: usize, n: usize, out: &mut Vec<f64>) -> Result<()> {
        let mut b = vec![0u8; n * 8];
        self.read_at(at as u64 * 8, &mut b)?;
        out.clear();
        out.extend(
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])),
        );
        Ok(())
    }

    /// `n` f32 values from value `at`.
    pub fn f32s(&self, at: usize, n: usize, out: &mut Vec<f32>) -> Result<()> {
        let mut b = vec![0u8; n * 4];
        self.read_at(at as u64 * 4, &mut b)?;
        out.clear();
        out.extend(
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Ok(())
    }

    /// `n` u32 values from value `at`.
    pub fn u32s(&self, at: usize, n: usize, out: &mut Vec<u32>) -> Result<()> {
        let mut b = vec![0u8; n * 4];
        self.read_at(at as u64 * 4, &mut b)?;
        out.clear();
        out.extend(
            b.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ends_skip_quoted_line_breaks() {
        assert_eq!(last_record_end(b"a,b\nc,\"d\ne\"\nf"), 12);
        assert_eq!(last_record_end(b"a,\"b\nc"), 0);
        assert_eq!(first_record_end(b"\"x\ny\",z\nq\n"), 8);
    }

    #[test]
    fn chunks_number_rows_as_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "a,b\n1,2\n3,\"x\ny\"\n5\n7,8\n9,10\n").unwrap();
        let mut r = ChunkReader::with_chunk_bytes(&p, &SourceOptions::default(), 6).unwrap();
        let mut rows = Vec::new();
        let mut ragged = Vec::new();
        while let Some(c) = r.next_chunk().unwrap() {
            for i in 0..c.table.n_rows() {
                rows.push((
                    c.first_row + i,
                    c.table.row_number(i),
                    c.table.field(i, 1).to_vec(),
                ));
            }
            ragged.extend(c.table.ragged.iter().map(|g| (g.row, g.line)));
        }
        let want: Vec<(usize, u64, Vec<u8>)> = vec![
            (0, 1, b"2".to_vec()),
            (1, 2, b"x\ny".to_vec()),
            (2, 4, b"8".to_vec()),
            (3, 5, b"10".to_vec()),
        ];
        assert_eq!(rows, want);
        assert_eq!(ragged, vec![(3, 5)]);
    }
}
