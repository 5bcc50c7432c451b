//! Analysis of a clustering: choosing k (elbow + silhouettes), PCA, and segment profiles.

pub mod elbow;
pub mod pca;
pub mod profile;
pub mod sample;
pub mod silhouette;
pub mod stability;
pub mod value;

pub use elbow::{
    calinski_harabasz, choose_k, kneedle, prediction_strength, strength_of, sweep_k, sweep_k_from,
    KChoice, KScore, STRENGTH_SAMPLE, STRENGTH_THRESHOLD, SWEEP_RESTARTS,
};
pub use pca::{correlation, moments, Moments, Pca};
pub use profile::{
    mark_noise, profile_segments, LevelShare, NumericStat, ProfileInput, SegmentProfile,
};
pub use silhouette::{
    sample_indices, sampled_silhouette, silhouette, silhouette_batch, simplified_silhouette,
    simplified_silhouette_batch,
};
pub use stability::{segment_stability, stability_word, STABILITY_REFITS, STABILITY_SAMPLE};
pub use value::{monetary_column, value_shares, ValueShare};
