//! The commands of the `segmenter` binary, as library functions taking validated configurations.

pub mod demo;
pub mod kmeans;
pub mod model_file;
pub mod output;
pub mod predict;
pub mod progress;
pub mod run;
pub mod score;

pub use kmeans::{run_kmeans, KMeansCommand, KMeansSummary};
pub use predict::{run_predict, PredictCommand, PredictSummary};
pub use run::{run_workflow, KSpec, RunCommand, RunSummary};
