//! The commands of the `segmenter` binary, as library functions taking validated configurations.

pub mod bench;
pub mod demo;
pub mod info;
pub mod kmeans;

pub use bench::{run_bench, BenchCommand, BenchReport, BenchRow};
pub use info::{run_info, InfoReport};
pub use kmeans::{run_kmeans, KMeansCommand, KMeansSummary};
