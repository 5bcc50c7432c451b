//! k-means: parameters, initialisation, the driver loop and the fitted model.

pub mod assign;
pub mod driver;
pub mod init;
pub mod model;
pub mod params;

pub use assign::{nearest, sq_distances};
pub use driver::{choose_assign, fit, fit_uploaded, Fit, IterStats, Start, Uploaded};
pub use model::KMeansModel;
pub use params::{Algorithm, Init, KMeansParams, ParamError};
