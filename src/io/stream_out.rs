//! One large output file written front to back through a fixed, page-aligned buffer. Past the
//! first [`DIRECT_AFTER`] bytes, on Linux, the buffer goes to the disk with `O_DIRECT`, past
//! the page cache: a 2 GB `segments.csv` then costs one copy instead of two, no fresh cache
//! pages (their first touch is most of a buffered write's system time), and leaves no
//! gigabytes of dirty pages behind to slow whatever runs next. Where the file system refuses
//! direct writes (tmpfs, some network mounts) every write stays buffered; the bytes are the
//! same either way.

use memmap2::MmapMut;
use std::fs::File;
use std::io::{Result, Write};
use std::path::Path;

/// Bytes written through the page cache before switching to direct writes: small outputs
/// (every test, most tables) are written as any file is.
pub const DIRECT_AFTER: u64 = 8 << 20;

/// Staging buffer size: a multiple of any block size `O_DIRECT` asks alignment to.
const BUFFER: usize = 8 << 20;

/// A sequential writer over a file that is already open (buffered) at offset 0.
pub struct StreamOut<'a> {
    plain: &'a File,
    direct: Option<File>,
    buf: MmapMut,
    len: usize,
    /// File offset of `buf[0]`.
    at: u64,
    direct_after: u64,
}

impl<'a> StreamOut<'a> {
    /// Writes `file` (opened for writing at `path`, empty) from its start.
    pub fn new(path: &Path, file: &'a File) -> Result<Self> {
        Self::with_limits(path, file, DIRECT_AFTER, BUFFER)
    }

    /// [`StreamOut::new`] with the switch point and buffer size chosen (tests use small ones);
    /// `buffer` is a multiple of 4096.
    pub fn with_limits(
        path: &Path,
        file: &'a File,
        direct_after: u64,
        buffer: usize,
    ) -> Result<Self> {
        debug_assert!(buffer > 0 && buffer.is_multiple_of(4096));
        Ok(StreamOut {
            plain: file,
            direct: open_direct(path),
            buf: MmapMut::map_anon(buffer)?,
            len: 0,
            at: 0,
            direct_after,
        })
    }

    /// Writes the full buffer at its offset.
    fn drain(&mut self) -> Result<()> {
        let bytes = &self.buf[..self.len];
        let direct = self
            .direct
            .as_ref()
            .filter(|_| self.at >= self.direct_after);
        match direct.map(|f| write_all_at(f, bytes, self.at)) {
            Some(Ok(())) => {}
            // The file system takes no direct writes after all: buffered from here.
            Some(Err(e)) if refused(&e) => {
                self.direct = None;
                write_all_at(self.plain, bytes, self.at)?;
            }
            Some(Err(e)) => return Err(e),
            None => write_all_at(self.plain, bytes, self.at)?,
        }
        self.at += self.len as u64;
        self.len = 0;
        Ok(())
    }

    /// Writes what is left (the unaligned tail through the page cache).
    pub fn finish(self) -> Result<()> {
        write_all_at(self.plain, &self.buf[..self.len], self.at)
    }
}

impl Write for StreamOut<'_> {
    fn write(&mut self, data: &[u8]) -> Result<usize> {
        let n = data.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        if self.len == self.buf.len() {
            self.drain()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

#[cfg(unix)]
fn write_all_at(f: &File, bytes: &[u8], at: u64) -> Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, bytes, at)
}

#[cfg(windows)]
fn write_all_at(f: &File, mut bytes: &[u8], mut at: u64) -> Result<()> {
    while !bytes.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(f, bytes, at)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
        at += n as u64;
    }
    Ok(())
}

/// Whether a direct write failed because the file system refuses `O_DIRECT` (EINVAL).
#[cfg(target_os = "linux")]
fn refused(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINVAL)
}

#[cfg(not(target_os = "linux"))]
fn refused(_: &std::io::Error) -> bool {
    false
}

#[cfg(target_os = "linux")]
fn open_direct(path: &Path) -> Option<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_: &Path) -> Option<File> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Every split of the input into writes, every switch point and tail length, gives the file
    /// the same bytes, whether the file system here takes direct writes or not.
    #[test]
    fn the_file_holds_exactly_the_bytes_written() {
        let dir = std::env::temp_dir().join(format!("segmenter-stream-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.csv");
        for (n, after, piece) in [
            (0, 0, 7),
            (4095, 0, 4096),
            (3 * 16384 + 17, 0, 1000),
            (5 * 16384, 16384, 16384),
            (7 * 16384 + 4097, 32768, 65_537),
            (100_000, 1 << 30, 333),
        ] {
            let want = bytes(n);
            let file = File::create(&path).unwrap();
            let mut w = StreamOut::with_limits(&path, &file, after, 16384).unwrap();
            for p in want.chunks(piece) {
                w.write_all(p).unwrap();
            }
            w.finish().unwrap();
            drop(file);
            assert_eq!(
                std::fs::read(&path).unwrap(),
                want,
                "{n} bytes, direct after {after}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
