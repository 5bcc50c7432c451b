//! segmenter: fast, reproducible customer segmentation.
//!
//! Data flows one way: read ([`io`]) → schema, cleaning, encoding and scaling ([`data`]) →
//! k choice and clustering ([`kmeans`], [`cluster`], on a [`backend`]) → PCA, silhouettes and
//! profiles ([`analysis`]) → the [`pipeline::Segmentation`] → files ([`report`]). The
//! [`pipeline`] runs the stages in order; the CLI, the Python package and the server call it
//! and nothing else. The CPU backend is the reference the GPU backend is verified against.
//!
//! ```
//! use segmenter::io::TableBuilder;
//! use segmenter::pipeline::{KSpec, Quiet, Segmenter};
//!
//! # fn main() -> segmenter::Result<()> {
//! // A table built in memory (`Table::open` reads CSV, .csv.gz, SQLite and Parquet files).
//! let mut b = TableBuilder::new("customers", &["id", "visits", "spend"]);
//! for i in 0..60 {
//!     let (visits, spend) = if i % 2 == 0 { (2.0, 20.0) } else { (30.0, 900.0) };
//!     let jitter = (i % 7) as f64 * 0.1;
//!     b.push_row([format!("c{i}"), (visits + jitter).to_string(), (spend + jitter).to_string()]);
//! }
//! let table = b.finish()?;
//!
//! let seg = Segmenter::params()
//!     .k(KSpec::Auto(2..=4))
//!     .seed(42)
//!     .check()?
//!     .fit(&table, &mut Quiet)?;
//! assert_eq!(seg.k(), 2);
//! assert_eq!(seg.labels().len(), 60);
//! // The model scores new rows as the fit scored these.
//! let scores = seg.model().predict(&table)?;
//! assert_eq!(scores.labels, seg.labels());
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

#[macro_use]
mod simd;

#[cfg(target_os = "linux")]
pub mod alloc;
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
#[cfg(feature = "serve")]
pub mod serve;
pub mod synth;

pub use error::{Error, Result};

/// Runs `f` on a thread of rayon's pool (inline when already on one), so that each parallel
/// loop inside starts on a worker instead of waking one and sleeping until it is done.
///
/// A run enters thousands of short parallel loops (every k-means iteration of the k sweep);
/// entered from outside the pool each costs two cross-thread wake-ups, which came to 0.1 s of
/// a 1M-row run's 0.7 s. Front ends call the library through this.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}
