//! `segment()`'s keyword options to library parameters, in one place (the CLI's
//! `cli/convert.rs` for Python): every option is a `run` flag with its Python name.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use segmenter::backend::BackendChoice;
use segmenter::cluster::ClusterAlgorithm;
use segmenter::data::{Impute, LogSpec, OutlierMethod, Outliers, Scale};
use segmenter::error::{Param, ParamError};
use segmenter::pipeline::{KSpec, SegmenterParams};

use crate::errors::to_py;

/// The options `segment()` takes, as `run`'s flags are named in Python.
pub const OPTIONS: [&str; 22] = [
    "k",
    "k_range",
    "silhouette_sample",
    "sweep_sample",
    "backend",
    "seed",
    "n_init",
    "algorithm",
    "compare",
    "eps",
    "min_samples",
    "gamma",
    "micro_clusters",
    "impute",
    "outliers",
    "outlier_method",
    "scale",
    "log",
    "id",
    "drop",
    "categorical",
    "numeric",
];

fn invalid(param: Param, value: &Bound<'_, PyAny>, expected: &str) -> PyErr {
    let value = value
        .str()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "?".into());
    to_py(
        ParamError::Invalid {
            param,
            value,
            expected: expected.into(),
        }
        .into(),
    )
}

/// One of `choices` (case-insensitive), or a `ValueError` naming the parameter.
fn choice<T: Copy>(param: Param, v: &Bound<'_, PyAny>, choices: &[(&str, T)]) -> PyResult<T> {
    let names: Vec<&str> = choices.iter().map(|c| c.0).collect();
    let expected = format!("expected one of {}", names.join(", "));
    let s: String = v.extract().map_err(|_| invalid(param, v, &expected))?;
    choices
        .iter()
        .find(|c| c.0.eq_ignore_ascii_case(s.trim()))
        .map(|c| c.1)
        .ok_or_else(|| invalid(param, v, &expected))
}

fn whole(param: Param, v: &Bound<'_, PyAny>) -> PyResult<usize> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid(param, v, "expected a whole number"));
    }
    v.extract::<usize>()
        .map_err(|_| invalid(param, v, "expected a whole number"))
}

fn number(param: Param, v: &Bound<'_, PyAny>) -> PyResult<f64> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid(param, v, "expected a number"));
    }
    v.extract::<f64>()
        .map_err(|_| invalid(param, v, "expected a number"))
}

/// A column list: one name, a comma-separated string, or a sequence of names.
fn names(param: Param, v: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if v.is_none() {
        return Ok(Vec::new());
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s
            .to_string()
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect());
    }
    v.extract::<Vec<String>>()
        .map_err(|_| invalid(param, v, "expected a column name or a list of column names"))
}

/// `k_range`: "2..10" or a pair (2, 10).
fn k_range(v: &Bound<'_, PyAny>) -> PyResult<std::ops::RangeInclusive<usize>> {
    let expected = "expected LO..HI or (LO, HI) with whole numbers, such as \"2..10\"";
    if let Ok((lo, hi)) = v.extract::<(usize, usize)>() {
        return Ok(lo..=hi);
    }
    let s: String = v
        .extract()
        .map_err(|_| invalid(Param::KRange, v, expected))?;
    let (lo, hi) = s
        .split_once("..=")
        .or_else(|| s.split_once(".."))
        .or_else(|| s.split_once('-'))
        .ok_or_else(|| invalid(Param::KRange, v, expected))?;
    let lo = lo
        .trim()
        .parse()
        .map_err(|_| invalid(Param::KRange, v, expected))?;
    let hi = hi
        .trim()
        .parse()
        .map_err(|_| invalid(Param::KRange, v, expected))?;
    Ok(lo..=hi)
}

/// `segment()`'s options as segmentation parameters (not yet checked); an unknown option is a
/// `TypeError` naming it, a bad value a `ValueError` naming the option.
pub fn params(options: &Bound<'_, PyDict>) -> PyResult<SegmenterParams> {
    let mut p = SegmenterParams::default();
    let mut k: Option<usize> = None;
    for (key, v) in options.iter() {
        let key: String = key.extract()?;
        match key.as_str() {
            "k" => {
                let auto = v.is_none()
                    || v.extract::<String>()
                        .is_ok_and(|s| s.trim().eq_ignore_ascii_case("auto"));
                if !auto {
                    k = Some(whole(Param::K, &v).map_err(|_| {
                        invalid(
                            Param::K,
                            &v,
                            "expected a whole number of segments or \"auto\"",
                        )
                    })?);
                }
            }
            "k_range" => p.k = KSpec::Auto(k_range(&v)?),
            "silhouette_sample" => p.silhouette_sample = whole(Param::SilhouetteSample, &v)?,
            "sweep_sample" => p.sweep_sample = whole(Param::SweepSample, &v)?.max(1),
            "backend" => {
                p.backend = choice(
                    Param::Backend,
                    &v,
                    &[
                        ("auto", BackendChoice::Auto),
                        ("cpu", BackendChoice::Cpu),
                        ("gpu", BackendChoice::Gpu),
                    ],
                )?
            }
            "seed" => {
                p.seed = v
                    .extract::<u64>()
                    .map_err(|_| invalid(Param::Seed, &v, "expected a whole number ≥ 0"))?
            }
            "n_init" => p.n_init = whole(Param::NInit, &v)?,
            "algorithm" => {
                p.algorithm = choice(
                    Param::Algorithm,
                    &v,
                    &[
                        ("kmeans", ClusterAlgorithm::Kmeans),
                        ("dbscan", ClusterAlgorithm::Dbscan),
                        ("hierarchical", ClusterAlgorithm::Hierarchical),
                        ("kprototypes", ClusterAlgorithm::Kprototypes),
                    ],
                )?
            }
            "compare" => {
                p.compare = if v.is_none() || v.extract::<bool>().is_ok_and(|b| !b) {
                    Vec::new()
                } else if v.extract::<bool>().is_ok_and(|b| b) {
                    ClusterAlgorithm::parse_list("all").map_err(to_py)?
                } else {
                    let list = names(Param::Compare, &v)?;
                    ClusterAlgorithm::parse_list(&list.join(",")).map_err(to_py)?
                }
            }
            "eps" => p.eps = (!v.is_none()).then(|| number(Param::Eps, &v)).transpose()?,
            "min_samples" => {
                p.min_samples = (!v.is_none())
                    .then(|| whole(Param::MinSamples, &v))
                    .transpose()?
            }
            "gamma" => {
                p.gamma = (!v.is_none())
                    .then(|| number(Param::Gamma, &v))
                    .transpose()?
            }
            "micro_clusters" => p.micro_clusters = whole(Param::MicroClusters, &v)?,
            "impute" => {
                p.clean.impute = choice(
                    Param::Impute,
                    &v,
                    &[
                        ("median", Impute::Median),
                        ("mean", Impute::Mean),
                        ("drop", Impute::Drop),
                    ],
                )?
            }
            "outliers" => {
                p.clean.outliers = choice(
                    Param::Outliers,
                    &v,
                    &[
                        ("clip", Outliers::Clip),
                        ("drop", Outliers::Drop),
                        ("keep", Outliers::Keep),
                    ],
                )?
            }
            "outlier_method" => {
                p.clean.outlier_method = choice(
                    Param::OutlierMethod,
                    &v,
                    &[
                        ("iqr", OutlierMethod::Iqr),
                        ("zscore", OutlierMethod::Zscore),
                    ],
                )?
            }
            "scale" => {
                p.scale = choice(
                    Param::Scale,
                    &v,
                    &[
                        ("standard", Scale::Standard),
                        ("minmax", Scale::Minmax),
                        ("robust", Scale::Robust),
                        ("none", Scale::None),
                    ],
                )?
            }
            "log" => {
                p.log = if v.is_none() || v.extract::<bool>().is_ok_and(|b| !b) {
                    LogSpec::Off
                } else if v.extract::<bool>().is_ok_and(|b| b)
                    || v.extract::<String>()
                        .is_ok_and(|s| s.trim().eq_ignore_ascii_case("auto"))
                {
                    LogSpec::Auto
                } else {
                    LogSpec::Columns(names(Param::Log, &v)?)
                }
            }
            "id" => p.overrides.id = names(Param::Id, &v)?,
            "drop" => p.overrides.drop = names(Param::Drop, &v)?,
            "categorical" => p.overrides.categorical = names(Param::Categorical, &v)?,
            "numeric" => p.overrides.numeric = names(Param::Numeric, &v)?,
            other => {
                return Err(PyTypeError::new_err(format!(
                    "segment() got an unexpected keyword argument '{other}' (options: {})",
                    OPTIONS.join(", ")
                )))
            }
        }
    }
    if let Some(k) = k {
        p.k = KSpec::Fixed(k);
    }
    Ok(p)
}
