//! Analysis of a clustering: choosing k (elbow + silhouettes), PCA, and segment profiles.

pub mod elbow;
pub mod pca;
pub mod profile;
pub mod sample;
pub mod silhouette;

pub use elbow::{choose_k, kneedle, sweep_k, KChoice, KScore};
pub use pca::{correlation, moments, Moments, Pca};
pub use profile::{
    mark_noise, profile_segments, LevelShare, NumericStat, ProfileInput, SegmentProfile,
};
pub use silhouette::{
    sample_indices, sampled_silhouette, silhouette, silhouette_batch, simplified_silhouette,
    simplified_silhouette_batch,
};
