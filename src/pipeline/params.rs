//! The parameters of a segmentation: a plain struct with a builder, validated by `check`
//! before any work (linfa style), which turns them into a [`Segmenter`].

use crate::backend::BackendChoice;
use crate::cluster::dbscan::DbscanParams;
use crate::cluster::kprototypes::KPrototypesParams;
use crate::cluster::ClusterAlgorithm;
use crate::data::{CleanParams, Impute, LogSpec, OutlierMethod, Outliers, Overrides, Scale};
use crate::error::{ParamError, Result};
use crate::kmeans::KMeansParams;
use std::ops::RangeInclusive;

/// Rows the elbow sweep is fitted on when the table is larger (seeded sample); the final model
/// is always fitted on every row.
pub const SWEEP_SAMPLE: usize = 50_000;

/// How k is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KSpec {
    /// By the documented rule over this range (`analysis::choose_k`).
    Auto(RangeInclusive<usize>),
    /// This k.
    Fixed(usize),
}

impl Default for KSpec {
    fn default() -> Self {
        KSpec::Auto(2..=10)
    }
}

impl KSpec {
    /// The largest k that will be fitted.
    pub fn max(&self) -> usize {
        match self {
            KSpec::Auto(r) => *r.end(),
            KSpec::Fixed(k) => *k,
        }
    }

    /// The smallest k that will be fitted.
    pub fn min(&self) -> usize {
        match self {
            KSpec::Auto(r) => *r.start(),
            KSpec::Fixed(k) => *k,
        }
    }

    /// Whether k is chosen from the data.
    pub fn is_auto(&self) -> bool {
        matches!(self, KSpec::Auto(_))
    }
}

/// Everything a segmentation can be told; [`SegmenterParams::check`] validates it.
#[derive(Clone, Debug)]
pub struct SegmenterParams {
    /// k, or the range `auto` chooses from.
    pub k: KSpec,
    /// Rows of the seeded sample the exact silhouette is computed on.
    pub silhouette_sample: usize,
    /// Rows the k sweep is fitted on (a seeded sample when the table is larger).
    pub sweep_sample: usize,
    /// Where k-means runs.
    pub backend: BackendChoice,
    /// Seed of every random choice.
    pub seed: u64,
    /// k-means runs of the final fit.
    pub n_init: usize,
    /// Cleaning.
    pub clean: CleanParams,
    /// Scaling.
    pub scale: Scale,
    /// log1p before scaling.
    pub log: LogSpec,
    /// Column roles forced by the user.
    pub overrides: Overrides,
    /// Algorithm whose segments and model are the result.
    pub algorithm: ClusterAlgorithm,
    /// Algorithms also run on the same data and compared.
    pub compare: Vec<ClusterAlgorithm>,
    /// DBSCAN radius (suggested when None).
    pub eps: Option<f64>,
    /// DBSCAN core threshold (2 × features when None).
    pub min_samples: Option<usize>,
    /// k-prototypes mismatch weight (Huang's default when None).
    pub gamma: Option<f64>,
    /// Micro-clusters of two-stage hierarchical clustering.
    pub micro_clusters: usize,
}

impl Default for SegmenterParams {
    fn default() -> Self {
        SegmenterParams {
            k: KSpec::default(),
            silhouette_sample: 10_000,
            sweep_sample: SWEEP_SAMPLE,
            backend: BackendChoice::Auto,
            seed: 0,
            n_init: 1,
            clean: CleanParams::default(),
            scale: Scale::Standard,
            log: LogSpec::Off,
            overrides: Overrides::default(),
            algorithm: ClusterAlgorithm::Kmeans,
            compare: Vec::new(),
            eps: None,
            min_samples: None,
            gamma: None,
            micro_clusters: 1000,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $t:ty),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, v: $t) -> Self {
                self.$name = v;
                self
            }
        )*
    };
}

impl SegmenterParams {
    setters! {
        /// Sets k, or the range `auto` chooses from.
        k: KSpec,
        /// Sets the rows of the silhouette sample.
        silhouette_sample: usize,
        /// Sets the rows the k sweep is fitted on.
        sweep_sample: usize,
        /// Sets where k-means runs.
        backend: BackendChoice,
        /// Sets the seed.
        seed: u64,
        /// Sets the k-means runs of the final fit.
        n_init: usize,
        /// Sets every cleaning parameter.
        clean: CleanParams,
        /// Sets the scaling.
        scale: Scale,
        /// Sets the log transform.
        log: LogSpec,
        /// Sets the column roles.
        overrides: Overrides,
        /// Sets the algorithm.
        algorithm: ClusterAlgorithm,
        /// Sets the algorithms compared with it.
        compare: Vec<ClusterAlgorithm>,
        /// Sets DBSCAN's radius.
        eps: Option<f64>,
        /// Sets DBSCAN's core threshold.
        min_samples: Option<usize>,
        /// Sets k-prototypes' mismatch weight.
        gamma: Option<f64>,
        /// Sets the micro-clusters of two-stage hierarchical clustering.
        micro_clusters: usize,
    }

    /// Sets how missing values are handled.
    pub fn impute(mut self, v: Impute) -> Self {
        self.clean.impute = v;
        self
    }

    /// Sets how outliers are handled.
    pub fn outliers(mut self, v: Outliers) -> Self {
        self.clean.outliers = v;
        self
    }

    /// Sets the outlier fence.
    pub fn outlier_method(mut self, v: OutlierMethod) -> Self {
        self.clean.outlier_method = v;
        self
    }

    /// `algorithm` first, then the compared algorithms not already listed.
    pub fn algorithms(&self) -> Vec<ClusterAlgorithm> {
        let mut v = vec![self.algorithm];
        for &a in &self.compare {
            if !v.contains(&a) {
                v.push(a);
            }
        }
        v
    }

    /// Validates every rule that needs no data, before any work.
    pub fn check(self) -> Result<Segmenter> {
        match &self.k {
            KSpec::Auto(r) => {
                let (lo, hi) = (*r.start(), *r.end());
                if lo < 2 || lo > hi {
                    return Err(ParamError::KRange { lo, hi }.into());
                }
            }
            KSpec::Fixed(k) => KMeansParams::new(*k).check()?,
        }
        KMeansParams::new(2).n_init(self.n_init).check()?;
        if self.silhouette_sample < 2 {
            return Err(ParamError::SilhouetteSample.into());
        }
        if let Some(min_samples) = self.min_samples {
            DbscanParams {
                eps: self.eps.unwrap_or(1.0),
                min_samples,
            }
            .check()?;
        } else if let Some(eps) = self.eps {
            DbscanParams {
                eps,
                min_samples: 1,
            }
            .check()?;
        }
        if self.gamma.is_some() {
            KPrototypesParams {
                gamma: self.gamma,
                ..KPrototypesParams::new(2)
            }
            .check()?;
        }
        if self.micro_clusters < 2 {
            return Err(ParamError::MicroClusters(self.micro_clusters).into());
        }
        Ok(Segmenter { params: self })
    }
}

/// Validated parameters: [`Segmenter::fit`] segments a table with them.
#[derive(Clone, Debug)]
pub struct Segmenter {
    pub(super) params: SegmenterParams,
}

impl Segmenter {
    /// The default parameters, to set with the builder and `check`.
    pub fn params() -> SegmenterParams {
        SegmenterParams::default()
    }

    /// The validated parameters.
    pub fn parameters(&self) -> &SegmenterParams {
        &self.params
    }
}
