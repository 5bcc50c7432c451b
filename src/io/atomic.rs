//! Outputs are written to a temporary file beside the target and renamed into place, so a
//! failed run never leaves a half-written file.

use super::stream_out::StreamOut;
use crate::error::{Error, Result};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written: `commit` renames it into place; dropping it uncommitted removes it.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    writer: BufWriter<std::fs::File>,
    committed: bool,
}

impl AtomicFile {
    /// Creates the temporary file beside `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let file = std::fs::File::create(&tmp).map_err(|e| Error::write(path, e))?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            writer: BufWriter::with_capacity(1 << 20, file),
            committed: false,
        })
    }

    /// A [`StreamOut`] over the temporary file, for one large output written front to back
    /// (nothing else may be written to the file meanwhile).
    pub fn stream(&self) -> std::io::Result<StreamOut<'_>> {
        StreamOut::new(&self.tmp, self.writer.get_ref())
    }

    /// The buffered writer of the temporary file.
    pub fn writer(&mut self) -> &mut BufWriter<std::fs::File> {
        &mut self.writer
    }

    /// Flushes and renames the file into place.
    pub fn commit(mut self) -> Result<()> {
        self.writer
            .flush()
            .and_then(|_| std::fs::rename(&self.tmp, &self.path))
            .map_err(|e| Error::write(&self.path, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `path` through `fill`, atomically: the file appears complete or not at all.
pub fn write_atomic<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
{
    let mut f = AtomicFile::create(path)?;
    fill(f.writer()).map_err(|e| Error::write(path, e))?;
    f.commit()
}

/// Writes `row,cluster` with 1-based data row numbers.
pub fn write_labels(path: &Path, labels: &[u32]) -> Result<()> {
    write_atomic(path, |w| {
        w.write_all(b"row,cluster\n")?;
        for (i, l) in labels.iter().enumerate() {
            writeln!(w, "{},{}", i + 1, l)?;
        }
        Ok(())
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
