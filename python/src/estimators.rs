//! The kernels behind the scikit-learn estimators: k-means, DBSCAN, Ward and k-prototypes on
//! NumPy arrays, borrowed without a copy when they are C-contiguous float32 (the Python side
//! casts anything else once), each run with the GIL released.

use crate::errors::{detached, to_py};
use numpy::{PyArray1, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;
use segmenter::backend::BackendChoice;
use segmenter::cluster::dbscan::{dbscan, DbscanParams};
use segmenter::cluster::kprototypes::{self, KPrototypesModel, KPrototypesParams};
use segmenter::cluster::ward::ward;
use segmenter::error::{Param, ParamError};
use segmenter::kmeans::assign::nearest;
use segmenter::kmeans::{Algorithm, Init, KMeansParams};
use segmenter::pipeline::numeric::{fit_matrix, thread_pool};

/// A 1-D NumPy array handed back to Python.
type Arr1<'py, T> = Bound<'py, PyArray1<T>>;
/// Labels with one number per row (distances, costs).
type LabelsWith<'py, L, V> = (Arr1<'py, L>, Arr1<'py, V>);
/// Ward's labels, `children_` and `distances_`.
type WardTree<'py> = (Arr1<'py, i64>, Bound<'py, PyArray2<i64>>, Arr1<'py, f64>);

fn invalid(param: Param, value: &str, expected: &str) -> PyErr {
    to_py(
        ParamError::Invalid {
            param,
            value: value.into(),
            expected: expected.into(),
        }
        .into(),
    )
}

/// `backend`: auto, cpu or gpu.
pub fn backend(s: &str) -> PyResult<BackendChoice> {
    match s.to_ascii_lowercase().as_str() {
        "auto" => Ok(BackendChoice::Auto),
        "cpu" => Ok(BackendChoice::Cpu),
        "gpu" => Ok(BackendChoice::Gpu),
        _ => Err(invalid(Param::Backend, s, "expected one of auto, cpu, gpu")),
    }
}

fn matrix(rows: usize, cols: usize, v: Vec<f32>) -> PyResult<ndarray::Array2<f32>> {
    ndarray::Array2::from_shape_vec((rows, cols), v)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Fits k-means: a dict with `centroids` (k × d float32), `labels` (int32, matching the
/// centroids), `inertia`, `n_iter`, `iter_seconds`, `total_iterations`, `backend`, `adapter`
/// and `kernel`. `init_centroids` (k × d) starts one run there instead of `init`; `threads`
/// runs the fit on a pool of that many threads (default: the shared pool, every core).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (x, k, init, init_centroids, n_init, max_iter, tol, seed, algorithm, backend_name, threads=None))]
pub fn kmeans_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    k: usize,
    init: &str,
    init_centroids: Option<PyReadonlyArray2<'py, f32>>,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    algorithm: &str,
    backend_name: &str,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let init = match init {
        "k-means++" => Init::KMeansPlusPlus,
        "random" => Init::Random,
        "first" => Init::First,
        other => {
            return Err(invalid(
                Param::Init,
                other,
                "expected 'k-means++', 'random', 'first' or an array of initial centres",
            ))
        }
    };
    let assign = match algorithm.to_ascii_lowercase().as_str() {
        "auto" => Algorithm::Auto,
        "lloyd" => Algorithm::Lloyd,
        // Elkan and Hamerly both skip work with exact bounds: the same fit, faster.
        "hamerly" | "elkan" => Algorithm::Hamerly,
        other => {
            return Err(invalid(
                Param::Assign,
                other,
                "expected 'lloyd', 'elkan', 'hamerly' or 'auto'",
            ))
        }
    };
    let choice = backend(backend_name)?;
    let params = KMeansParams::new(k)
        .init(init)
        .n_init(n_init)
        .max_iter(max_iter)
        .tol(tol)
        .seed(seed)
        .algorithm(assign);
    let view = x.as_array();
    let start: Option<Vec<f32>> = init_centroids.map(|c| c.as_array().iter().copied().collect());
    let m = detached(py, || match threads {
        // Its own pool: the fit uses exactly that many threads, whatever else runs.
        Some(t) => {
            thread_pool(Some(t))?.install(|| fit_matrix(view, &params, start.as_deref(), choice))
        }
        None => fit_matrix(view, &params, start.as_deref(), choice),
    })?;
    let d = view.ncols();
    let (k, fit) = (m.fit.model.centroids.nrows(), m.fit);
    let out = PyDict::new(py);
    let centroids = matrix(k, d, fit.model.centroids.iter().copied().collect())?;
    out.set_item("centroids", PyArray2::from_owned_array(py, centroids))?;
    let labels: Vec<i32> = fit.labels.iter().map(|&l| l as i32).collect();
    out.set_item("labels", PyArray1::from_vec(py, labels))?;
    out.set_item("inertia", fit.inertia)?;
    out.set_item("n_iter", fit.iterations)?;
    out.set_item("converged", fit.converged)?;
    out.set_item("iter_seconds", fit.iter_seconds)?;
    out.set_item("total_iterations", fit.total_iterations)?;
    out.set_item("backend", m.device.backend)?;
    out.set_item("adapter", m.device.adapter)?;
    out.set_item("kernel", fit.assign.name())?;
    Ok(out)
}

fn check_dims(x: usize, c: usize) -> PyResult<()> {
    if x != c {
        return Err(PyValueError::new_err(format!(
            "X has {x} features, but the centres have {c}"
        )));
    }
    Ok(())
}

/// Nearest centre of every row (ties to the lowest index, int32) and the squared distance.
#[pyfunction]
pub fn nearest_centroid<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    centroids: PyReadonlyArray2<'py, f32>,
) -> PyResult<LabelsWith<'py, i32, f64>> {
    let (x, c) = (x.as_array(), centroids.as_array());
    check_dims(x.ncols(), c.ncols())?;
    let (labels, sq) = detached(py, || Ok(nearest(x, c)))?;
    let labels: Vec<i32> = labels.into_iter().map(|l| l as i32).collect();
    Ok((PyArray1::from_vec(py, labels), PyArray1::from_vec(py, sq)))
}

/// Euclidean distance of every row to every centre (n × k, float64).
#[pyfunction]
pub fn centroid_distances<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    centroids: PyReadonlyArray2<'py, f32>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (x, c) = (x.as_array(), centroids.as_array());
    check_dims(x.ncols(), c.ncols())?;
    let (n, k) = (x.nrows(), c.nrows());
    let flat = detached(py, || {
        let rows: Vec<usize> = (0..n).collect();
        Ok(rows
            .par_iter()
            .flat_map_iter(|&i| {
                let p = x.row(i);
                (0..k).map(move |j| {
                    p.iter()
                        .zip(c.row(j).iter())
                        .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
            })
            .collect::<Vec<f64>>())
    })?;
    let a = ndarray::Array2::from_shape_vec((n, k), flat)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(PyArray2::from_owned_array(py, a))
}

/// Exact DBSCAN: labels (int64, -1 noise) and whether each row is a core point.
#[pyfunction]
pub fn dbscan_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    eps: f64,
    min_samples: usize,
) -> PyResult<LabelsWith<'py, i64, bool>> {
    let x = x.as_array();
    let params = DbscanParams { eps, min_samples };
    let r = detached(py, || dbscan(x, &params))?;
    let labels: Vec<i64> = r.labels.iter().map(|&l| l as i64).collect();
    Ok((
        PyArray1::from_vec(py, labels),
        PyArray1::from_vec(py, r.is_core),
    ))
}

/// Exact Ward: labels for `k` clusters (int64) and the tree as scikit-learn's `children_`
/// ((n − 1) × 2) and `distances_`.
#[pyfunction]
pub fn ward_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    k: usize,
) -> PyResult<WardTree<'py>> {
    let x = x.as_array();
    let (tree, labels) = detached(py, || {
        let tree = ward(x, None)?;
        let labels = tree.cut(k)?;
        Ok((tree, labels))
    })?;
    let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    let m = tree.merges.len();
    let children: Vec<i64> = tree
        .merges
        .iter()
        .flat_map(|g| [g.a as i64, g.b as i64])
        .collect();
    let children = ndarray::Array2::from_shape_vec((m, 2), children)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let heights: Vec<f64> = tree.merges.iter().map(|g| g.height).collect();
    Ok((
        PyArray1::from_vec(py, labels),
        PyArray2::from_owned_array(py, children),
        PyArray1::from_vec(py, heights),
    ))
}

/// k-prototypes on numeric features `xn` and category codes `xc`: a dict with `labels`,
/// `numeric` (k × dn prototypes), `modes` (k × dc codes), `gamma`, `cost`, `n_iter`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (xn, xc, k, gamma, max_iter, n_init, seed))]
pub fn kprototypes_fit<'py>(
    py: Python<'py>,
    xn: PyReadonlyArray2<'py, f32>,
    xc: PyReadonlyArray2<'py, u32>,
    k: usize,
    gamma: Option<f64>,
    max_iter: usize,
    n_init: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let (xn, xc) = (xn.as_array(), xc.as_array());
    let mut params = KPrototypesParams::new(k)
        .max_iter(max_iter)
        .n_init(n_init)
        .seed(seed);
    params.gamma = gamma;
    let fit = detached(py, || kprototypes::fit(xn, xc, &params))?;
    let out = PyDict::new(py);
    let labels: Vec<i64> = fit.labels.iter().map(|&l| l as i64).collect();
    out.set_item("labels", PyArray1::from_vec(py, labels))?;
    let (dn, dc) = (xn.ncols(), xc.ncols());
    let kk = fit.model.numeric.len();
    let numeric = matrix(
        kk,
        dn,
        fit.model.numeric.iter().flatten().copied().collect(),
    )?;
    out.set_item("numeric", PyArray2::from_owned_array(py, numeric))?;
    let modes: Vec<i64> = fit
        .model
        .modes
        .iter()
        .flatten()
        .map(|&c| c as i64)
        .collect();
    let modes = ndarray::Array2::from_shape_vec((kk, dc), modes)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    out.set_item("modes", PyArray2::from_owned_array(py, modes))?;
    out.set_item("gamma", fit.model.gamma)?;
    out.set_item("cost", fit.cost)?;
    out.set_item("n_iter", fit.iterations)?;
    Ok(out)
}

/// Nearest prototype (int64) and cost of every row under a fitted k-prototypes model.
#[pyfunction]
pub fn kprototypes_predict<'py>(
    py: Python<'py>,
    xn: PyReadonlyArray2<'py, f32>,
    xc: PyReadonlyArray2<'py, u32>,
    numeric: PyReadonlyArray2<'py, f32>,
    modes: PyReadonlyArray2<'py, u32>,
    gamma: f64,
) -> PyResult<LabelsWith<'py, i64, f64>> {
    let model = KPrototypesModel {
        numeric: numeric
            .as_array()
            .rows()
            .into_iter()
            .map(|r| r.to_vec())
            .collect(),
        modes: modes
            .as_array()
            .rows()
            .into_iter()
            .map(|r| r.to_vec())
            .collect(),
        gamma,
    };
    let (xn, xc) = (xn.as_array(), xc.as_array());
    let (labels, costs) = detached(py, || {
        model.check()?;
        model.predict(xn, xc)
    })?;
    let labels: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    Ok((
        PyArray1::from_vec(py, labels),
        PyArray1::from_vec(py, costs),
    ))
}

/// Rows summed per piece by [`partial_sums`]: a fixed size, so the f64 sums do not depend on
/// the thread count.
const SUM_ROWS: usize = 4096;

/// One partition's share of a Lloyd step (Dask's k-means): the per-cluster f64 sums (k × d),
/// the counts (int64) and the inertia under `centroids`, with the library's nearest-centroid
/// rule. Pieces are summed in row order, so the result is the same run to run.
#[pyfunction]
pub fn partial_sums<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    centroids: PyReadonlyArray2<'py, f32>,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Arr1<'py, i64>, f64)> {
    let (x, c) = (x.as_array(), centroids.as_array());
    check_dims(x.ncols(), c.ncols())?;
    let (k, d) = c.dim();
    let (sums, counts, inertia) = detached(py, || {
        let (labels, sq) = nearest(x, c);
        let x = x.as_standard_layout();
        let xs = x.as_slice().unwrap_or(&[]);
        let pieces: Vec<(Vec<f64>, Vec<i64>, f64)> = xs
            .par_chunks(SUM_ROWS * d.max(1))
            .zip(labels.par_chunks(SUM_ROWS))
            .zip(sq.par_chunks(SUM_ROWS))
            .map(|((rows, labels), sq)| {
                let (mut s, mut n) = (vec![0f64; k * d], vec![0i64; k]);
                for (row, &l) in rows.chunks_exact(d.max(1)).zip(labels) {
                    let l = l as usize;
                    n[l] += 1;
                    for (acc, &v) in s[l * d..(l + 1) * d].iter_mut().zip(row) {
                        *acc += v as f64;
                    }
                }
                (s, n, sq.iter().sum())
            })
            .collect();
        let (mut s, mut n, mut inertia) = (vec![0f64; k * d], vec![0i64; k], 0f64);
        for (ps, pn, pi) in pieces {
            s.iter_mut().zip(ps).for_each(|(a, b)| *a += b);
            n.iter_mut().zip(pn).for_each(|(a, b)| *a += b);
            inertia += pi;
        }
        Ok((s, n, inertia))
    })?;
    let sums = matrix_f64(k, d, sums)?;
    Ok((
        PyArray2::from_owned_array(py, sums),
        PyArray1::from_vec(py, counts),
        inertia,
    ))
}

fn matrix_f64(rows: usize, cols: usize, v: Vec<f64>) -> PyResult<ndarray::Array2<f64>> {
    ndarray::Array2::from_shape_vec((rows, cols), v)
        .map_err(|e| PyValueError::new_err(e.to_string()))
}
