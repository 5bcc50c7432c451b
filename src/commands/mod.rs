//! The commands of the `segmenter` binary, as library functions taking validated configurations.

pub mod demo;
pub mod kmeans;

pub use kmeans::{run_kmeans, KMeansCommand, KMeansSummary};
