//! k-means parameters: a plain struct with a builder, validated by `check` before any work.

pub use crate::error::ParamError;
use serde::{Deserialize, Serialize};

/// How initial centroids are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Init {
    /// Greedy k-means++ with 2 + ln k candidates per step, as scikit-learn does.
    #[serde(rename = "k-means++")]
    KMeansPlusPlus,
    /// k distinct rows drawn uniformly at random.
    #[serde(rename = "random")]
    Random,
    /// The first k rows: lets another tool reproduce a run from the same start.
    #[serde(rename = "first")]
    First,
}

impl Init {
    /// Name as spelled on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Init::KMeansPlusPlus => "k-means++",
            Init::Random => "random",
            Init::First => "first",
        }
    }
}

/// Which assignment kernel the driver asks the backend for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    /// Hamerly where bounds pay off (k >= 3 with d <= 32, or k >= 32), Lloyd otherwise.
    Auto,
    /// Plain Lloyd iterations.
    Lloyd,
    /// Lloyd with Hamerly's bounds.
    Hamerly,
    /// Lloyd's results from a register-blocked distance kernel (fast at large k).
    Blocked,
}

/// Parameters of a k-means fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KMeansParams {
    /// Number of clusters.
    pub k: usize,
    /// Initialisation method.
    pub init: Init,
    /// Independent runs; the one with the lowest inertia is kept.
    pub n_init: usize,
    /// Upper bound on Lloyd iterations per run.
    pub max_iter: usize,
    /// Convergence threshold on the squared centroid shift, relative to the mean feature variance.
    pub tol: f64,
    /// Seed of the one random generator every random choice draws from.
    pub seed: u64,
    /// Assignment kernel.
    pub algorithm: Algorithm,
}

impl KMeansParams {
    /// Defaults as in scikit-learn: k-means++, 1 init, 300 iterations, tol 1e-4, seed 0.
    pub fn new(k: usize) -> Self {
        KMeansParams {
            k,
            init: Init::KMeansPlusPlus,
            n_init: 1,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            algorithm: Algorithm::Auto,
        }
    }

    /// Sets the initialisation method.
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }

    /// Sets the number of independent runs.
    pub fn n_init(mut self, n: usize) -> Self {
        self.n_init = n;
        self
    }

    /// Sets the iteration cap.
    pub fn max_iter(mut self, m: usize) -> Self {
        self.max_iter = m;
        self
    }

    /// Sets the convergence tolerance.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Sets the random seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the assignment algorithm.
    pub fn algorithm(mut self, a: Algorithm) -> Self {
        self.algorithm = a;
        self
    }

    /// Validates every rule that does not need the data, before any work starts.
    pub fn check(&self) -> Result<(), ParamError> {
        if self.k == 0 {
            return Err(ParamError::KZero);
        }
        if self.n_init == 0 {
            return Err(ParamError::NInitZero);
        }
        if self.max_iter == 0 {
            return Err(ParamError::MaxIterZero);
        }
        if !self.tol.is_finite() || self.tol < 0.0 {
            return Err(ParamError::Tol(self.tol));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_has_its_error() {
        assert_eq!(KMeansParams::new(0).check(), Err(ParamError::KZero));
        assert_eq!(
            KMeansParams::new(2).n_init(0).check(),
            Err(ParamError::NInitZero)
        );
        assert_eq!(
            KMeansParams::new(2).max_iter(0).check(),
            Err(ParamError::MaxIterZero)
        );
        assert_eq!(
            KMeansParams::new(2).tol(-1.0).check(),
            Err(ParamError::Tol(-1.0))
        );
        assert!(matches!(
            KMeansParams::new(2).tol(f64::NAN).check(),
            Err(ParamError::Tol(_))
        ));
        assert_eq!(KMeansParams::new(3).check(), Ok(()));
    }
}
