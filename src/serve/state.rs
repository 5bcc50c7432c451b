//! What every request shares: the current model (swapped whole on reload, so a request sees
//! one model from start to end), the run's summary for the dashboard, the limits and the
//! counters; and the watcher that reloads the model file when it is replaced.

use super::metrics::Metrics;
use crate::error::{Error, Result};
use crate::io::dates::format_timestamp;
use crate::io::hash::hash_bytes;
use crate::pipeline::SegmentModel;
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often the watcher looks at the model file.
pub const WATCH_EVERY: Duration = Duration::from_millis(250);

/// A model as loaded, with what `/v1/model` says about it.
#[derive(Debug)]
pub struct LoadedModel {
    /// The model.
    pub model: SegmentModel,
    /// Hash of the file's bytes (hex): changes with every different model.
    pub version: String,
    /// When the model file was written (`run` writes it at the end of the fit), UTC.
    pub fitted_at: String,
    /// The file's identity when it was read.
    pub stamp: Stamp,
}

/// What tells a replaced file from the one read before: modification time, length, inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    mtime_ns: u128,
    len: u64,
    inode: u64,
}

impl Stamp {
    /// The stamp of `path` now.
    pub fn of(path: &Path) -> std::io::Result<Stamp> {
        let m = std::fs::metadata(path)?;
        let mtime_ns = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&m);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Stamp {
            mtime_ns,
            len: m.len(),
            inode,
        })
    }
}

impl LoadedModel {
    /// Reads and validates the model file.
    pub fn load(path: &Path) -> Result<LoadedModel> {
        let stamp = Stamp::of(path).map_err(|e| Error::read(path, e))?;
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        let model = SegmentModel::from_json(path, &text)?;
        let secs = (stamp.mtime_ns / 1_000_000_000) as i64;
        Ok(LoadedModel {
            model,
            version: format!("{:016x}", hash_bytes(text.as_bytes())),
            fitted_at: format!("{}Z", format_timestamp(secs).replace(' ', "T")),
            stamp,
        })
    }
}

/// Limits every request is held to.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, bytes.
    pub max_body: usize,
    /// Most rows in one request.
    pub max_rows: usize,
    /// Longest a request may take, reading its body included.
    pub timeout: Duration,
}

/// Shared by every request.
#[derive(Debug)]
pub struct AppState {
    /// The model file watched for replacement.
    pub model_path: PathBuf,
    /// The current model.
    pub model: ArcSwap<LoadedModel>,
    /// The run directory's summary.json, when the dashboard is on.
    pub run_dir: Option<PathBuf>,
    /// Bearer token every request except `/healthz` needs, when set.
    pub token: Option<Vec<u8>>,
    /// Limits.
    pub limits: Limits,
    /// Counters.
    pub metrics: Metrics,
    /// When the server started.
    pub started: SystemTime,
}

impl AppState {
    /// State serving the model at `model_path`.
    pub fn new(
        model_path: PathBuf,
        run_dir: Option<PathBuf>,
        token: Option<Vec<u8>>,
        limits: Limits,
    ) -> Result<AppState> {
        let loaded = LoadedModel::load(&model_path)?;
        Ok(AppState {
            model_path,
            model: ArcSwap::from_pointee(loaded),
            run_dir,
            token,
            limits,
            metrics: Metrics::default(),
            started: SystemTime::now(),
        })
    }

    /// Loads the model file again if it changed since the last look; a file that fails to
    /// load is refused with one line on stderr and the current model stays. Returns whether
    /// a new model is in place.
    pub fn reload_if_changed(&self, last_seen: &mut Stamp) -> bool {
        let Ok(now) = Stamp::of(&self.model_path) else {
            // Between an unlink and a rename, or removed: keep serving, look again later.
            return false;
        };
        if now == *last_seen {
            return false;
        }
        *last_seen = now;
        match LoadedModel::load(&self.model_path) {
            Ok(m) => {
                eprintln!(
                    "segmenter serve: loaded the new model {} (version {}, {} segments)",
                    self.model_path.display(),
                    m.version,
                    m.model.k
                );
                self.model.store(Arc::new(m));
                self.metrics.reload(true);
                true
            }
            Err(e) => {
                eprintln!(
                    "segmenter serve: refused the changed model, keeping version {}: {e}",
                    self.model.load().version
                );
                self.metrics.reload(false);
                false
            }
        }
    }
}

/// Watches the model file every [`WATCH_EVERY`] until the process ends.
pub async fn watch_model(state: Arc<AppState>) {
    let mut last = state.model.load().stamp;
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = state.clone();
        let mut seen = last;
        // File reads and JSON parsing block: off the request threads' async loop.
        if let Ok(seen_now) = tokio::task::spawn_blocking(move || {
            s.reload_if_changed(&mut seen);
            seen
        })
        .await
        {
            last = seen_now;
        }
    }
}
