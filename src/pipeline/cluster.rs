//! The clustering stage: chooses k with the k-means elbow sweep when an algorithm needs one,
//! then runs the algorithm and every compared one on the same scaled matrix, on one backend,
//! each timed and reported to the observer.

use crate::analysis::{self, KChoice};
use crate::backend::{Backend, DeviceInfo, WithBackend};
use crate::cluster::dbscan::{dbscan, suggest_eps, DbscanParams, EpsSuggestion};
use crate::cluster::kprototypes::{self, split_mixed, KPrototypesModel, KPrototypesParams};
use crate::cluster::ward::{hierarchical, Dendrogram, HierarchicalParams};
use crate::cluster::ClusterAlgorithm;
use crate::data::prep::Prep;
use crate::error::{Error, Result};
use crate::kmeans::{fit_uploaded, nearest, sq_distances, Fit, KMeansParams, Start, Uploaded};
use ndarray::{Array2, ArrayView2, Axis};
use std::ops::RangeInclusive;
use std::time::Instant;

use super::observer::{Observer, Stage, StageTimes};
use super::params::KSpec;

pub use crate::cluster::NOISE;

/// Rows whose k-distances suggest DBSCAN's eps when `--eps` is not given.
pub const EPS_SAMPLE: usize = 10_000;

/// Rows up to which hierarchical clustering is exact (nearest-neighbour chain); above,
/// it merges k-means micro-clusters.
pub const EXACT_WARD_MAX: usize = 20_000;

/// Settings of the algorithms beside k-means.
#[derive(Clone, Debug)]
pub struct AlgorithmSettings {
    /// DBSCAN radius; suggested from the k-distance curve when None.
    pub eps: Option<f64>,
    /// DBSCAN core threshold; twice the feature count when None.
    pub min_samples: Option<usize>,
    /// k-prototypes mismatch weight; Huang's default when None.
    pub gamma: Option<f64>,
    /// Micro-clusters of two-stage hierarchical clustering.
    pub micro_clusters: usize,
}

/// What an algorithm leaves beside its labels, for the report and model.
pub enum Detail {
    /// The k-means fit.
    Kmeans(Box<Fit>),
    /// DBSCAN's parameters and how eps was found.
    Dbscan {
        /// Parameters used.
        params: DbscanParams,
        /// The k-distance curve eps came from, when it was suggested.
        suggested: Option<EpsSuggestion>,
        /// Core rows.
        n_core: usize,
    },
    /// The Ward tree that was cut.
    Hierarchical {
        /// Tree over rows (exact) or micro-clusters (two-stage).
        dendrogram: Dendrogram,
        /// Whether micro-clusters were merged rather than rows.
        two_stage: bool,
    },
    /// The k-prototypes model.
    Kprototypes {
        /// Prototypes and γ.
        model: KPrototypesModel,
        /// Total cost.
        cost: f64,
        /// Iterations of the final fit.
        iterations: usize,
    },
}

/// One algorithm's result on the run's rows.
pub struct AlgoRun {
    /// Which algorithm.
    pub algorithm: ClusterAlgorithm,
    /// Cluster of every row, 0..k, canonical; `NOISE` for DBSCAN noise.
    pub labels: Vec<u32>,
    /// Clusters, noise not counted.
    pub k: usize,
    /// Noise rows.
    pub n_noise: usize,
    /// k × d centres in the scaled feature space: k-means centroids, else cluster means.
    pub centroids: Array2<f32>,
    /// Distance of each row to its cluster (k-prototypes: √cost); NaN for noise.
    pub distances: Vec<f32>,
    /// Within-cluster sum of squares around `centroids` (noise left out).
    pub inertia: f64,
    /// Wall seconds of the algorithm (eps suggestion and labelling included).
    pub seconds: f64,
    /// Algorithm-specific results.
    pub detail: Detail,
}

/// What the clustering stage returns.
pub struct Clustered {
    /// `--algorithm` first, then the `--compare` ones.
    pub runs: Vec<AlgoRun>,
    /// How k was chosen, when it was.
    pub choice: Option<KChoice>,
    /// Rows the sweep was fitted on (0 without a sweep).
    pub sweep_rows: usize,
    /// Where k-means (and micro-clusters) ran.
    pub backend: DeviceInfo,
    /// Seconds of the sweep.
    pub sweep_seconds: f64,
    /// Compared algorithms that could not run on this data, with the reason.
    pub skipped: Vec<(ClusterAlgorithm, String)>,
    /// Mean best-match Jaccard of each k-means segment over bootstrap refits (empty when
    /// the segments are not k-means').
    pub stability: Vec<f64>,
}

/// Elbow sweep (on a sample when large) when k is auto and some algorithm takes k, then every
/// requested algorithm on one backend.
pub struct ClusterJob<'a> {
    /// Told as the sweep, the clustering and the comparison start and end.
    pub observer: &'a mut dyn Observer,
    /// Where their seconds are recorded.
    pub times: &'a mut StageTimes,
    /// Scaled, one-hot encoded rows.
    pub x: ArrayView2<'a, f32>,
    /// The transforms that made `x` (k-prototypes splits it back into columns).
    pub prep: &'a Prep,
    /// k or auto.
    pub k: KSpec,
    /// k-means parameters (k is set per fit).
    pub params: KMeansParams,
    /// Rows of the sweep's exact silhouette.
    pub silhouette_sample: usize,
    /// Rows the sweep is fitted on.
    pub sweep_sample: usize,
    /// Algorithms to run, the one whose segments are written first.
    pub algorithms: Vec<ClusterAlgorithm>,
    /// Their settings.
    pub settings: AlgorithmSettings,
}

/// Mean of every cluster's rows (noise left out), k × d, in f64 then rounded.
pub fn cluster_means(x: ArrayView2<'_, f32>, labels: &[u32], k: usize) -> Array2<f32> {
    let d = x.ncols();
    let mut sums = vec![0f64; k * d];
    let mut counts = vec![0u64; k];
    for (row, &l) in x.rows().into_iter().zip(labels) {
        if (l as usize) < k {
            counts[l as usize] += 1;
            let s = &mut sums[l as usize * d..(l as usize + 1) * d];
            for (a, &v) in s.iter_mut().zip(row) {
                *a += v as f64;
            }
        }
    }
    Array2::from_shape_fn((k, d), |(c, j)| {
        (sums[c * d + j] / counts[c].max(1) as f64) as f32
    })
}

/// Euclidean distance of each row to its cluster's centre (NaN for noise) and the summed
/// squares, in f64.
fn distances_to(
    x: ArrayView2<'_, f32>,
    labels: &[u32],
    centres: ArrayView2<'_, f32>,
) -> (Vec<f32>, f64) {
    let sq = sq_distances(x, labels, centres);
    // fold from +0.0: an empty f64 sum is -0.0, printed as "-0" when every row is noise.
    let total = sq.iter().filter(|s| s.is_finite()).fold(0.0, |a, b| a + b);
    (sq.iter().map(|&s| s.sqrt() as f32).collect(), total)
}

/// An AlgoRun from labels, with centres from the cluster means.
fn from_labels(
    algorithm: ClusterAlgorithm,
    x: ArrayView2<'_, f32>,
    labels: Vec<u32>,
    k: usize,
    t0: Instant,
    detail: Detail,
) -> AlgoRun {
    let centroids = cluster_means(x, &labels, k);
    from_centres(algorithm, x, labels, k, centroids, t0, detail)
}

/// An AlgoRun from labels and the k × d centres they are measured against.
fn from_centres(
    algorithm: ClusterAlgorithm,
    x: ArrayView2<'_, f32>,
    labels: Vec<u32>,
    k: usize,
    centroids: Array2<f32>,
    t0: Instant,
    detail: Detail,
) -> AlgoRun {
    let (distances, inertia) = distances_to(x, &labels, centroids.view());
    let n_noise = labels.iter().filter(|&&l| l == NOISE).count();
    AlgoRun {
        algorithm,
        labels,
        k,
        n_noise,
        centroids,
        distances,
        inertia,
        seconds: t0.elapsed().as_secs_f64(),
        detail,
    }
}

impl ClusterJob<'_> {
    /// The sweep: chosen k, the chosen k's sweep fit (reusable when it saw every row), the
    /// rows it saw.
    fn sweep<B: Backend>(
        &self,
        backend: &B,
        k_range: RangeInclusive<usize>,
    ) -> Result<(KChoice, Option<Fit>, usize)> {
        let n = self.x.nrows();
        let sample = (n > self.sweep_sample).then(|| {
            let idx = analysis::sample_indices(n, self.sweep_sample, self.params.seed);
            self.x.select(Axis(0), &idx)
        });
        let xs = sample.as_ref().map_or(self.x, |s| s.view());
        let data = Uploaded::new(backend, xs)?;
        // Prediction strength clusters two halves of a sample for every k, each with the best
        // of several k-means++ starts; their centroids then start the sweep's fit of that k,
        // so the curve reflects the data, not one start's luck, at little extra cost.
        let strength_params = KMeansParams {
            n_init: self.params.n_init.max(analysis::SWEEP_RESTARTS),
            ..self.params.clone()
        };
        let (lo, hi) = (*k_range.start(), *k_range.end());
        let ks: Vec<usize> = (lo..=hi).collect();
        let (strength, starts) = analysis::prediction_strength(
            backend,
            xs,
            &ks,
            &strength_params,
            analysis::STRENGTH_SAMPLE,
        )?;
        // A k without starts (too few rows for prediction strength) gets the restarts here.
        let sweep_params = KMeansParams {
            n_init: strength_params.n_init,
            ..self.params.clone()
        };
        let fits = analysis::sweep_k_from(
            &data,
            k_range,
            &sweep_params,
            self.silhouette_sample,
            &starts,
        )?;
        let mut scores: Vec<_> = fits.iter().map(|(s, _)| s.clone()).collect();
        for s in scores.iter_mut() {
            if let Some(i) = ks.iter().position(|&k| k == s.k) {
                s.prediction_strength = strength[i];
            }
        }
        let c = analysis::choose_k(&scores);
        let chosen = fits.into_iter().find(|(s, _)| s.k == c.k).map(|(_, f)| f);
        Ok((c, chosen, xs.nrows()))
    }

    fn kmeans<B: Backend>(
        &self,
        backend: &B,
        k: usize,
        swept: Option<(Fit, bool)>,
    ) -> Result<AlgoRun> {
        let t0 = Instant::now();
        let params = KMeansParams {
            k,
            ..self.params.clone()
        };
        let fit = match swept {
            // The sweep saw every row and ran the same single k-means++ fit.
            Some((f, true)) if self.params.n_init == 1 => f,
            // A sample's fit starts the fit on every row near its optimum.
            Some((f, false)) if self.params.n_init == 1 => {
                let init: Vec<f32> = f.model.centroids.iter().copied().collect();
                let data = Uploaded::new(backend, self.x)?;
                let mut f = fit_uploaded(&data, &params, Start::Centroids(&init))?;
                f.canonicalize();
                f
            }
            _ => {
                let data = Uploaded::new(backend, self.x)?;
                let mut f = fit_uploaded(&data, &params, Start::Init)?;
                f.canonicalize();
                f
            }
        };
        let k = fit.model.centroids.nrows();
        // Label with the function predict uses, so run and predict agree row for row.
        let (labels, sq) = nearest(self.x, fit.model.centroids.view());
        Ok(AlgoRun {
            algorithm: ClusterAlgorithm::Kmeans,
            labels,
            k,
            n_noise: 0,
            centroids: fit.model.centroids.clone(),
            distances: sq.iter().map(|&s| s.sqrt() as f32).collect(),
            inertia: sq.iter().sum(),
            seconds: t0.elapsed().as_secs_f64(),
            detail: Detail::Kmeans(Box::new(fit)),
        })
    }

    fn dbscan(&self) -> Result<AlgoRun> {
        let t0 = Instant::now();
        let min_samples = self
            .settings
            .min_samples
            .unwrap_or(2 * self.x.ncols().max(1));
        let (eps, suggested) = match self.settings.eps {
            Some(e) => (e, None),
            None => {
                // Validate min_samples before the suggestion spends time on it.
                DbscanParams {
                    eps: 1.0,
                    min_samples,
                }
                .check()?;
                let s = suggest_eps(self.x, min_samples, EPS_SAMPLE, self.params.seed)?;
                (s.eps, Some(s))
            }
        };
        let params = DbscanParams { eps, min_samples };
        params.check()?;
        let r = dbscan(self.x, &params)?;
        let labels: Vec<u32> = r
            .labels
            .iter()
            .map(|&l| if l < 0 { NOISE } else { l as u32 })
            .collect();
        let n_core = r.is_core.iter().filter(|&&c| c).count();
        Ok(from_labels(
            ClusterAlgorithm::Dbscan,
            self.x,
            labels,
            r.n_clusters,
            t0,
            Detail::Dbscan {
                params,
                suggested,
                n_core,
            },
        ))
    }

    fn hierarchical<B: Backend>(&self, backend: &B, k: usize) -> Result<AlgoRun> {
        let t0 = Instant::now();
        let h = hierarchical(
            backend,
            self.x,
            &HierarchicalParams {
                k,
                exact_max: EXACT_WARD_MAX,
                micro_clusters: self.settings.micro_clusters,
                seed: self.params.seed,
            },
        )?;
        Ok(from_centres(
            ClusterAlgorithm::Hierarchical,
            self.x,
            h.labels,
            k,
            h.centroids,
            t0,
            Detail::Hierarchical {
                dendrogram: h.dendrogram,
                two_stage: h.two_stage,
            },
        ))
    }

    fn kprototypes(&self, k: usize) -> Result<AlgoRun> {
        let t0 = Instant::now();
        let (xn, xc) = split_mixed(self.x, self.prep);
        let params = KPrototypesParams {
            gamma: self.settings.gamma,
            n_init: self.params.n_init,
            max_iter: self.params.max_iter,
            seed: self.params.seed,
            ..KPrototypesParams::new(k)
        };
        params.check()?;
        let fit = kprototypes::fit(xn.view(), xc.view(), &params)?;
        // fit's final labels and costs come from the pass predict makes, so run and predict
        // agree row for row (tests/algorithms_cli.rs checks it).
        let cost = fit.costs;
        let mut run = from_labels(
            ClusterAlgorithm::Kprototypes,
            self.x,
            fit.labels,
            k,
            t0,
            Detail::Kprototypes {
                model: fit.model,
                cost: fit.cost,
                iterations: fit.iterations,
            },
        );
        run.distances = cost.iter().map(|&c| c.sqrt() as f32).collect();
        run.seconds = t0.elapsed().as_secs_f64();
        Ok(run)
    }
}

impl WithBackend for ClusterJob<'_> {
    type Output = Clustered;

    fn run<B: Backend>(self, backend: &B) -> Result<Clustered> {
        let needs_k = self.algorithms.iter().any(|a| a.takes_k());
        let mut choice = None;
        let mut sweep_rows = 0;
        let mut swept: Option<(Fit, bool)> = None;
        let mut sweep_seconds = 0.0;
        let k = match &self.k {
            KSpec::Fixed(k) => *k,
            KSpec::Auto(range) if needs_k => {
                self.observer.started(Stage::ChooseK);
                let t0 = Instant::now();
                let r = self.sweep(backend, range.clone());
                sweep_seconds = t0.elapsed().as_secs_f64();
                self.observer
                    .finished(Stage::ChooseK, sweep_seconds, r.is_ok());
                let (c, fit, rows) = r?;
                let k = c.k;
                swept = fit.map(|f| (f, rows == self.x.nrows()));
                sweep_rows = rows;
                choice = Some(c);
                k
            }
            KSpec::Auto(_) => 0,
        };
        let mut runs = Vec::with_capacity(self.algorithms.len());
        let mut skipped = Vec::new();
        for (i, &a) in self.algorithms.iter().enumerate() {
            if i < 2 {
                self.observer.started(if i == 0 {
                    Stage::Cluster
                } else {
                    Stage::Compare
                });
            }
            let run = match a {
                ClusterAlgorithm::Kmeans => self.kmeans(backend, k, swept.take()),
                ClusterAlgorithm::Dbscan => self.dbscan(),
                ClusterAlgorithm::Hierarchical => self.hierarchical(backend, k),
                ClusterAlgorithm::Kprototypes => self.kprototypes(k),
            };
            if i == 0 {
                let secs = run.as_ref().map_or(0.0, |r| r.seconds);
                self.observer.finished(Stage::Cluster, secs, run.is_ok());
            }
            match run {
                Ok(r) => runs.push(r),
                // Only the algorithm whose segments are written must succeed; a compared one
                // that cannot run on this data gets its reason in the table instead.
                Err(e) if i > 0 && !matches!(e, Error::Gpu(_)) => skipped.push((a, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        if runs.is_empty() {
            return Err(Error::Data("no clustering algorithm to run".into()));
        }
        let t_stab = Instant::now();
        let stability = if runs[0].algorithm == ClusterAlgorithm::Kmeans {
            let p = KMeansParams {
                n_init: 1,
                ..self.params.clone()
            };
            analysis::segment_stability(
                backend,
                self.x,
                runs[0].centroids.view(),
                &p,
                analysis::STABILITY_REFITS,
                analysis::STABILITY_SAMPLE,
            )?
        } else {
            Vec::new()
        };
        // The refits belong to the clustering's time.
        runs[0].seconds += t_stab.elapsed().as_secs_f64();
        if choice.is_some() {
            self.times.record(Stage::ChooseK, sweep_seconds);
        }
        self.times.record(Stage::Cluster, runs[0].seconds);
        if self.algorithms.len() > 1 {
            let compare: f64 = runs[1..].iter().map(|r| r.seconds).sum();
            self.observer.finished(Stage::Compare, compare, true);
            if runs.len() > 1 {
                self.times.record(Stage::Compare, compare);
            }
        }
        Ok(Clustered {
            runs,
            choice,
            sweep_rows,
            backend: backend.info(),
            sweep_seconds,
            skipped,
            stability,
        })
    }
}
