//! segmenter: fast, reproducible customer segmentation.
//!
//! Data flows one way: read → clean → features → scale → cluster → analyse → report. The
//! k-means driver (`kmeans`) runs on any `backend::Backend`; the CPU backend is the reference
//! the GPU backend is verified against.

#[macro_use]
mod simd;

pub mod analysis;
pub mod backend;
pub mod bench;
pub mod cluster;
pub mod data;
pub mod error;
pub mod features;
pub mod io;
pub mod kmeans;
pub mod pipeline;
pub mod report;
pub mod synth;

pub use error::{Error, Result};
