//! The binary's own modules: flag definitions (`args`), their conversion to library
//! parameters (`convert`), the flag names of library messages (`names`), text output (`text`),
//! progress spinners (`progress`), and the commands made of several library calls.

pub mod args;
pub mod convert;
pub mod demo;
pub mod features;
pub mod names;
pub mod progress;
pub mod text;

pub use args::*;

use segmenter::{Error, Result};

/// `v` as pretty JSON with a final line break.
pub fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| Error::Data(e.to_string()))
}
