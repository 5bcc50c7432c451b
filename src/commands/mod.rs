//! The commands of the `segmenter` binary, as library functions taking validated configurations.

pub mod demo;
pub mod features;
pub mod kmeans;

pub use features::{run_features, FeatureKind, FeaturesCommand, FeaturesSummary};
pub use kmeans::{run_kmeans, KMeansCommand, KMeansSummary};
