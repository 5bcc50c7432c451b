//! Where generators write: an atomic CSV file, gzip-compressed when its name ends in `.gz`.

use crate::error::{Error, Result};
use crate::io::AtomicFile;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Something that takes whole lines.
pub trait LineSink {
    /// Writes one line (with its newline).
    fn line(&mut self, bytes: &[u8]) -> Result<()>;
}

/// An atomic output file, optionally gzip-compressed.
pub struct OutputFile {
    path: PathBuf,
    file: AtomicFile,
    gz: Option<flate2::write::GzEncoder<Vec<u8>>>,
}

impl OutputFile {
    /// Creates the temporary file beside `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let gz = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
            .then(|| {
                flate2::write::GzEncoder::new(
                    Vec::with_capacity(1 << 17),
                    flate2::Compression::fast(),
                )
            });
        Ok(OutputFile {
            path: path.to_path_buf(),
            file: AtomicFile::create(path)?,
            gz,
        })
    }

    fn writer(&mut self) -> &mut BufWriter<std::fs::File> {
        self.file.writer()
    }

    /// Finishes compression, flushes and renames into place.
    pub fn commit(mut self) -> Result<()> {
        if let Some(gz) = self.gz.take() {
            let rest = gz.finish().map_err(|e| Error::write(&self.path, e))?;
            let path = self.path.clone();
            self.writer()
                .write_all(&rest)
                .map_err(|e| Error::write(&path, e))?;
        }
        self.file.commit()
    }
}

impl LineSink for OutputFile {
    fn line(&mut self, bytes: &[u8]) -> Result<()> {
        let path = &self.path;
        match self.gz.as_mut() {
            Some(gz) => {
                gz.write_all(bytes).map_err(|e| Error::write(path, e))?;
                // Drain the compressed bytes regularly so memory stays bounded.
                if gz.get_ref().len() >= 1 << 16 {
                    let buf = std::mem::take(gz.get_mut());
                    self.file
                        .writer()
                        .write_all(&buf)
                        .map_err(|e| Error::write(&self.path, e))?;
                }
                Ok(())
            }
            None => self
                .file
                .writer()
                .write_all(bytes)
                .map_err(|e| Error::write(path, e)),
        }
    }
}
