//! Principal component analysis: covariance in one pass (f64, fixed-order chunked merge),
//! symmetric eigen-decomposition by nalgebra, deterministic component signs.

use crate::error::{Error, Result};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

/// Rows per parallel chunk; fixed so that results do not depend on the thread count.
const ROWS_PER_CHUNK: usize = 8192;

/// Column means and the sample covariance (n − 1 denominator) of an n×d matrix.
#[derive(Clone, Debug)]
pub struct Moments {
    /// Rows.
    pub n: u64,
    /// Column means.
    pub mean: Vec<f64>,
    /// d×d sample covariance.
    pub cov: Array2<f64>,
}

/// Running moments of one chunk: count, mean and the centred cross-product matrix.
struct Acc {
    n: u64,
    mean: Vec<f64>,
    m2: Vec<f64>, // d×d, upper triangle filled
}

impl Acc {
    fn of_chunk(rows: &[f32], d: usize) -> Acc {
        let n = rows.len() / d;
        let mut mean = vec![0f64; d];
        for r in rows.chunks_exact(d) {
            for j in 0..d {
                mean[j] += r[j] as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        // Centring on the chunk mean keeps the cross products well conditioned.
        let mut m2 = vec![0f64; d * d];
        let mut c = vec![0f64; d];
        for r in rows.chunks_exact(d) {
            for j in 0..d {
                c[j] = r[j] as f64 - mean[j];
            }
            for a in 0..d {
                let ca = c[a];
                for b in a..d {
                    m2[a * d + b] += ca * c[b];
                }
            }
        }
        Acc {
            n: n as u64,
            mean,
            m2,
        }
    }

    /// Chan et al.'s pairwise merge of two chunks' moments.
    fn merge(mut self, o: &Acc, d: usize) -> Acc {
        if o.n == 0 {
            return self;
        }
        if self.n == 0 {
            return Acc {
                n: o.n,
                mean: o.mean.clone(),
                m2: o.m2.clone(),
            };
        }
        let n = self.n + o.n;
        let f = self.n as f64 * o.n as f64 / n as f64;
        let delta: Vec<f64> = (0..d).map(|j| o.mean[j] - self.mean[j]).collect();
        for a in 0..d {
            for b in a..d {
                self.m2[a * d + b] += o.m2[a * d + b] + delta[a] * delta[b] * f;
            }
        }
        for (m, dj) in self.mean.iter_mut().zip(&delta) {
            *m += dj * o.n as f64 / n as f64;
        }
        self.n = n;
        self
    }
}

/// Means and sample covariance of the rows of `x` in one pass over the data.
pub fn moments(x: ArrayView2<'_, f32>) -> Result<Moments> {
    let (n, d) = x.dim();
    if d == 0 {
        return Err(Error::Data("no features: the matrix has no columns".into()));
    }
    let x = x.as_standard_layout();
    let xs = x
        .as_slice()
        .ok_or_else(|| Error::Data("points must be in standard layout".into()))?;
    let parts: Vec<Acc> = xs
        .par_chunks(ROWS_PER_CHUNK * d)
        .map(|c| Acc::of_chunk(c, d))
        .collect();
    let acc = parts.iter().fold(
        Acc {
            n: 0,
            mean: vec![0.0; d],
            m2: vec![0.0; d * d],
        },
        |a, b| a.merge(b, d),
    );
    let den = (n.max(2) - 1) as f64;
    let mut cov = Array2::zeros((d, d));
    for a in 0..d {
        for b in a..d {
            let v = acc.m2[a * d + b] / den;
            cov[[a, b]] = v;
            cov[[b, a]] = v;
        }
    }
    Ok(Moments {
        n: n as u64,
        mean: acc.mean,
        cov,
    })
}

/// Pearson correlation matrix of the columns of `x` (d×d, f64); a constant column correlates
/// 0 with the others and 1 with itself.
pub fn correlation(x: ArrayView2<'_, f32>) -> Array2<f64> {
    let d = x.ncols();
    let Ok(m) = moments(x) else {
        return Array2::zeros((d, d));
    };
    let sd: Vec<f64> = (0..d).map(|j| m.cov[[j, j]].max(0.0).sqrt()).collect();
    Array2::from_shape_fn((d, d), |(a, b)| {
        if a == b {
            1.0
        } else if sd[a] > 0.0 && sd[b] > 0.0 {
            (m.cov[[a, b]] / (sd[a] * sd[b])).clamp(-1.0, 1.0)
        } else {
            0.0
        }
    })
}

/// A fitted PCA: the mean it centres on and the components, largest variance first.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Pca {
    /// Column means of the fitted data.
    pub mean: Vec<f64>,
    /// p×d, one unit-length component per row, largest explained variance first.
    pub components: Array2<f64>,
    /// Variance along each component (eigenvalues of the covariance, n − 1 denominator).
    pub explained_variance: Vec<f64>,
    /// Share of the total variance along each component.
    pub explained_variance_ratio: Vec<f64>,
}

impl Pca {
    /// Fits all d components of the rows of `x` (at least two rows).
    pub fn fit(x: ArrayView2<'_, f32>) -> Result<Pca> {
        let (n, d) = x.dim();
        if n < 2 {
            return Err(Error::Data(format!("PCA needs at least 2 rows, got {n}")));
        }
        let m = moments(x)?;
        if m.cov.iter().any(|v| !v.is_finite()) {
            return Err(Error::Data(
                "PCA: the covariance is not finite (the data holds NaN or infinite values)".into(),
            ));
        }
        let cov = nalgebra::DMatrix::from_fn(d, d, |a, b| m.cov[[a, b]]);
        let eig = nalgebra::SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..d).collect();
        // Largest first; ties keep the solver's order, which is deterministic for given input.
        order.sort_by(|&a, &b| {
            eig.eigenvalues[b]
                .total_cmp(&eig.eigenvalues[a])
                .then(a.cmp(&b))
        });
        let mut components = Array2::zeros((d, d));
        let mut explained_variance = Vec::with_capacity(d);
        for (r, &c) in order.iter().enumerate() {
            let v = eig.eigenvectors.column(c);
            // Sign convention: the entry of largest magnitude is positive (ties: lowest index).
            let mut big = 0;
            for j in 1..d {
                if v[j].abs() > v[big].abs() {
                    big = j;
                }
            }
            let s = if v[big] < 0.0 { -1.0 } else { 1.0 };
            for j in 0..d {
                components[[r, j]] = s * v[j];
            }
            explained_variance.push(eig.eigenvalues[c].max(0.0));
        }
        let total: f64 = explained_variance.iter().sum();
        let explained_variance_ratio = explained_variance
            .iter()
            .map(|v| if total > 0.0 { v / total } else { 0.0 })
            .collect();
        Ok(Pca {
            mean: m.mean,
            components,
            explained_variance,
            explained_variance_ratio,
        })
    }

    /// Coordinates of the rows of `x` on the first `n` components (n clamped to the count).
    pub fn project(&self, x: ArrayView2<'_, f32>, n: usize) -> Array2<f32> {
        let d = self.mean.len();
        let p = n.min(self.components.nrows());
        let rows = x.nrows();
        let mut out = Array2::<f32>::zeros((rows, p));
        if x.ncols() != d || p == 0 {
            return out;
        }
        let comps: Vec<f64> = self
            .components
            .rows()
            .into_iter()
            .take(p)
            .flat_map(|r| r.to_vec())
            .collect();
        let x = x.as_standard_layout();
        let Some(xs) = x.as_slice() else {
            return out;
        };
        let mean = &self.mean;
        if let Some(os) = out.as_slice_mut() {
            os.par_chunks_mut(ROWS_PER_CHUNK * p)
                .zip(xs.par_chunks(ROWS_PER_CHUNK * d))
                .for_each(|(o, xc)| {
                    for (orow, xrow) in o.chunks_exact_mut(p).zip(xc.chunks_exact(d)) {
                        for c in 0..p {
                            let w = &comps[c * d..(c + 1) * d];
                            let mut s = 0f64;
                            for j in 0..d {
                                s += (xrow[j] as f64 - mean[j]) * w[j];
                            }
                            orow[c] = s as f32;
                        }
                    }
                });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Points (−2,−1), (−1,−1), (1,1), (2,1): mean 0, covariance [[10/3, 2], [2, 4/3]]
    /// (sums 10, 6, 4 over n − 1 = 3). Eigenvalues (14/3 ± sqrt(4 + 16))/2... worked below.
    #[test]
    fn two_d_example_by_hand() {
        let x = array![[-2f32, -1.], [-1., -1.], [1., 1.], [2., 1.]];
        let p = Pca::fit(x.view()).unwrap_or_else(|e| panic!("{e}"));
        let (a, b, c) = (10.0 / 3.0, 2.0, 4.0 / 3.0);
        // Eigenvalues of [[a, b], [b, c]]: (a + c)/2 ± sqrt(((a − c)/2)² + b²).
        let mid = (a + c) / 2.0;
        let rad = (((a - c) / 2.0f64).powi(2) + b * b).sqrt();
        assert!((p.explained_variance[0] - (mid + rad)).abs() < 1e-12);
        assert!((p.explained_variance[1] - (mid - rad)).abs() < 1e-12);
        assert!((p.explained_variance_ratio[0] - (mid + rad) / (a + c)).abs() < 1e-12);
        // First component ∝ (b, λ1 − a), normalised, with a positive largest entry.
        let (l1, norm) = (mid + rad, (b * b + (mid + rad - a).powi(2)).sqrt());
        assert!((p.components[[0, 0]] - b / norm).abs() < 1e-12);
        assert!((p.components[[0, 1]] - (l1 - a) / norm).abs() < 1e-12);
        assert!(p.mean.iter().all(|m| m.abs() < 1e-12));
        // Projections: first row lands at −(2b + (λ1 − a))/norm on pc1; they sum to zero.
        let z = p.project(x.view(), 2);
        assert_eq!(z.dim(), (4, 2));
        let expect = -(2.0 * b + (l1 - a)) / norm;
        assert!((z[[0, 0]] as f64 - expect).abs() < 1e-5);
        assert!(z.column(0).sum().abs() < 1e-5 && z.column(1).sum().abs() < 1e-5);
        assert_eq!(p.project(x.view(), 1).ncols(), 1);
    }

    #[test]
    fn chunked_moments_match_two_pass() {
        // Large offset: a naive sum-of-squares formula would lose digits here.
        let n = 20_000;
        let x = ndarray::Array2::from_shape_fn((n, 3), |(i, j)| {
            1.0e4 + ((i * 7919 + j * 104_729) % 1000) as f32 / 10.0
        });
        let m = moments(x.view()).unwrap_or_else(|e| panic!("{e}"));
        for a in 0..3 {
            let ma: f64 = x.column(a).iter().map(|&v| v as f64).sum::<f64>() / n as f64;
            assert!((m.mean[a] - ma).abs() < 1e-9);
            for b in 0..3 {
                let mb: f64 = x.column(b).iter().map(|&v| v as f64).sum::<f64>() / n as f64;
                let c: f64 = x
                    .column(a)
                    .iter()
                    .zip(x.column(b).iter())
                    .map(|(&u, &v)| (u as f64 - ma) * (v as f64 - mb))
                    .sum::<f64>()
                    / (n - 1) as f64;
                assert!((m.cov[[a, b]] - c).abs() < 1e-9 * c.abs().max(1.0));
            }
        }
    }

    #[test]
    fn correlation_of_linear_columns() {
        let x = array![[1f32, 2., 5.], [2., 4., 5.], [3., 6., 5.], [4., 8., 5.]];
        let r = correlation(x.view());
        assert!((r[[0, 1]] - 1.0).abs() < 1e-12);
        assert_eq!(r[[0, 2]], 0.0);
        assert_eq!(r[[2, 2]], 1.0);
        let y = array![[1f32, 4.], [2., 3.], [3., 2.], [4., 1.]];
        assert!((correlation(y.view())[[0, 1]] + 1.0).abs() < 1e-12);
    }

    #[test]
    fn too_few_rows_is_an_error() {
        assert!(Pca::fit(array![[1f32, 2.]].view()).is_err());
    }

    #[test]
    fn pca_does_not_depend_on_the_thread_count() {
        let x = ndarray::Array2::from_shape_fn((30_000, 3), |(i, j)| {
            ((i * 31 + j * 17) % 101) as f32 / 7.0 + (i % 13) as f32 * j as f32
        });
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap_or_else(|e| panic!("{e}"))
                .install(|| Pca::fit(x.view()).unwrap_or_else(|e| panic!("{e}")))
        };
        let (a, b) = (run(1), run(3));
        assert_eq!(a.mean, b.mean);
        assert_eq!(a.explained_variance, b.explained_variance);
        assert_eq!(a.components, b.components);
    }
}
