//! Clustering algorithms beside k-means: DBSCAN, hierarchical (Ward) and k-prototypes for
//! mixed numeric and categorical data. Each takes the scaled matrix `run` builds and returns
//! labels numbered canonically (largest cluster first), so reports are stable.

pub mod algorithm;
pub mod dbscan;
pub mod kprototypes;
pub mod ward;

pub use algorithm::ClusterAlgorithm;
