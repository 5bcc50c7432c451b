//! The commands of the `segmenter` binary, as library functions taking validated configurations.

pub mod bench;
pub mod cluster_stage;
pub mod demo;
pub mod features;
pub mod info;
pub mod kmeans;
pub mod model_file;
pub mod output;
pub mod predict;
pub mod progress;
pub mod run;
pub mod score;

pub use bench::{run_bench, BenchCommand, BenchReport, BenchRow};
pub use features::{run_features, FeatureKind, FeaturesCommand, FeaturesSummary};
pub use info::{run_info, InfoReport};
pub use kmeans::{run_kmeans, KMeansCommand, KMeansSummary};
pub use predict::{run_predict, PredictCommand, PredictSummary};
pub use run::{run_workflow, KSpec, RunCommand, RunSummary};
