//! Clustering algorithms beside k-means: DBSCAN, hierarchical (Ward) and k-prototypes for
//! mixed numeric and categorical data. Each takes the scaled matrix `run` builds and returns
//! labels numbered canonically (largest cluster first), so reports are stable.

pub mod algorithm;
pub mod dbscan;
pub mod kprototypes;
pub mod ward;

pub use algorithm::ClusterAlgorithm;

/// Label of a noise row (DBSCAN's -1) wherever labels are `u32`; silhouettes leave such rows
/// out and `segments.csv` writes them as -1.
pub const NOISE: u32 = u32::MAX;
