//! The output directory's manifest: the files the last run wrote there, so that a rerun into
//! the same directory removes its stale outputs (a k-distance plot, a derived table) and never
//! touches a file segmenter did not write.

use crate::error::Result;
use crate::io::write_atomic_bytes;
use std::path::{Component, Path, PathBuf};

/// The manifest's file name inside the output directory.
pub const MANIFEST: &str = ".segmenter-manifest";

const HEADER: &str = "# files segmenter wrote into this directory in its last run; the next run \
                      removes those it does not write again\n";

/// The paths (relative to `out`) the last run recorded; none without a manifest.
pub fn previous(out: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(out.join(MANIFEST)) else {
        return Vec::new();
    };
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(PathBuf::from)
        // Only plain relative paths below `out`: a hand-edited manifest cannot reach out.
        .filter(|p| p.components().all(|c| matches!(c, Component::Normal(_))))
        .collect()
}

/// Records `written` (paths inside `out`) as this run's files, then removes the files of the
/// previous run that this one did not write again. Returns the paths removed.
pub fn update(out: &Path, written: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let before = previous(out);
    let mut rel: Vec<PathBuf> = written
        .iter()
        .filter_map(|p| p.strip_prefix(out).ok().map(Path::to_path_buf))
        .collect();
    rel.sort();
    rel.dedup();
    let mut text = String::from(HEADER);
    for p in &rel {
        text += &p.to_string_lossy();
        text.push('\n');
    }
    write_atomic_bytes(&out.join(MANIFEST), |b| {
        b.extend_from_slice(text.as_bytes())
    })?;
    let mut removed = Vec::new();
    for p in before.iter().filter(|p| !rel.contains(p)) {
        let path = out.join(p);
        if path.symlink_metadata().is_ok_and(|m| m.is_file()) && std::fs::remove_file(&path).is_ok()
        {
            removed.push(path);
        }
    }
    Ok(removed)
}
