//! Flags to library parameters, in one place: every flag value becomes a field of a library
//! parameter type here, and nowhere else.

use super::args::{
    AlgorithmArg, BackendArg, ClusterAlgorithmArg, DecimalArg, ImputeArg, InitArg, InputArgs,
    KMeansArgs, OutlierMethodArg, OutliersArg, OutputFormatArg, RunArgs, ScaleArg,
};
use segmenter::backend::BackendChoice;
use segmenter::cluster::ClusterAlgorithm;
use segmenter::data::{CleanParams, Impute, LogSpec, OutlierMethod, Outliers, Overrides, Scale};
use segmenter::error::{Param, ParamError};
use segmenter::io::dates::{check_format, DateStyle};
use segmenter::io::values::Decimal;
use segmenter::io::SourceOptions;
use segmenter::kmeans::{Algorithm, Init, KMeansParams};
use segmenter::pipeline::{KSpec, SegmenterParams};
use segmenter::Result;
use std::ops::RangeInclusive;

/// `--output-format`.
pub fn output_format(f: OutputFormatArg) -> segmenter::report::OutputFormat {
    match f {
        OutputFormatArg::Csv => segmenter::report::OutputFormat::Csv,
        OutputFormatArg::Parquet => segmenter::report::OutputFormat::Parquet,
    }
}

/// `--backend`.
pub fn backend(b: BackendArg) -> BackendChoice {
    match b {
        BackendArg::Auto => BackendChoice::Auto,
        BackendArg::Cpu => BackendChoice::Cpu,
        BackendArg::Gpu => BackendChoice::Gpu,
    }
}

/// Parses `LO..HI` (also `LO..=HI` and `LO-HI`).
fn k_range(s: &str) -> Result<RangeInclusive<usize>> {
    let bad = || ParamError::Invalid {
        param: Param::KRange,
        value: s.to_string(),
        expected: "expected LO..HI with whole numbers, such as 2..10".into(),
    };
    let (lo, hi) = s
        .split_once("..=")
        .or_else(|| s.split_once(".."))
        .or_else(|| s.split_once('-'))
        .ok_or_else(bad)?;
    let lo: usize = lo.trim().parse().map_err(|_| bad())?;
    let hi: usize = hi.trim().parse().map_err(|_| bad())?;
    Ok(lo..=hi)
}

/// `run`'s flags as segmentation parameters (not yet checked).
pub fn run_params(a: &RunArgs) -> Result<SegmenterParams> {
    let fixed = if a.k.eq_ignore_ascii_case("auto") {
        None
    } else {
        Some(a.k.trim().parse().map_err(|_| ParamError::Invalid {
            param: Param::K,
            value: a.k.clone(),
            expected: "expected a whole number of segments or auto".into(),
        })?)
    };
    let range = k_range(&a.k_range)?;
    let k = fixed.map_or(KSpec::Auto(range), KSpec::Fixed);
    let log = match a.log.as_deref() {
        None => LogSpec::Off,
        Some(l) if l.eq_ignore_ascii_case("auto") => LogSpec::Auto,
        Some(l) => LogSpec::Columns(
            l.split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
        ),
    };
    Ok(SegmenterParams {
        k,
        silhouette_sample: a.silhouette_sample,
        sweep_sample: a.sweep_sample.max(1),
        backend: backend(a.backend),
        seed: a.seed,
        n_init: a.n_init,
        algorithm: match a.algorithm {
            ClusterAlgorithmArg::Kmeans => ClusterAlgorithm::Kmeans,
            ClusterAlgorithmArg::Dbscan => ClusterAlgorithm::Dbscan,
            ClusterAlgorithmArg::Hierarchical => ClusterAlgorithm::Hierarchical,
            ClusterAlgorithmArg::Kprototypes => ClusterAlgorithm::Kprototypes,
        },
        compare: match a.compare.as_deref() {
            Some(list) => ClusterAlgorithm::parse_list(list)?,
            None => Vec::new(),
        },
        eps: a.eps,
        min_samples: a.min_samples,
        gamma: a.gamma,
        micro_clusters: a.micro_clusters,
        clean: CleanParams {
            impute: match a.impute {
                ImputeArg::Median => Impute::Median,
                ImputeArg::Mean => Impute::Mean,
                ImputeArg::Drop => Impute::Drop,
            },
            outliers: match a.outliers {
                OutliersArg::Clip => Outliers::Clip,
                OutliersArg::Drop => Outliers::Drop,
                OutliersArg::Keep => Outliers::Keep,
            },
            outlier_method: match a.outlier_method {
                OutlierMethodArg::Iqr => OutlierMethod::Iqr,
                OutlierMethodArg::Zscore => OutlierMethod::Zscore,
            },
            ..CleanParams::default()
        },
        scale: match a.scale {
            ScaleArg::Standard => Scale::Standard,
            ScaleArg::Minmax => Scale::Minmax,
            ScaleArg::Robust => Scale::Robust,
            ScaleArg::None => Scale::None,
        },
        log,
        overrides: Overrides {
            id: a.id.clone(),
            drop: a.drop.clone(),
            categorical: a.categorical.clone(),
            numeric: a.numeric.clone(),
        },
    })
}

/// `kmeans`'s flags as k-means parameters (not yet checked).
pub fn kmeans_params(a: &KMeansArgs) -> KMeansParams {
    KMeansParams::new(a.k)
        .init(match a.init {
            InitArg::KMeansPlusPlus => Init::KMeansPlusPlus,
            InitArg::Random => Init::Random,
            InitArg::First => Init::First,
        })
        .n_init(a.n_init)
        .max_iter(a.max_iter)
        .tol(a.tol)
        .seed(a.seed)
        .algorithm(match a.algorithm {
            AlgorithmArg::Auto => Algorithm::Auto,
            AlgorithmArg::Lloyd => Algorithm::Lloyd,
            AlgorithmArg::Hamerly => Algorithm::Hamerly,
            AlgorithmArg::Blocked => Algorithm::Blocked,
        })
}

/// How `run`, `predict` and `features` read their input.
pub fn source_options(input: &InputArgs, decimal: Option<DecimalArg>) -> Result<SourceOptions> {
    if let Some(f) = &input.date_format {
        check_format(f).map_err(|expected| ParamError::Invalid {
            param: Param::DateFormat,
            value: f.clone(),
            expected,
        })?;
    }
    Ok(SourceOptions {
        table: input.table.clone(),
        query: input.query.clone(),
        sheet: input.sheet.clone(),
        decimal: decimal.map(|d| match d {
            DecimalArg::Point => Decimal::Point,
            DecimalArg::Comma => Decimal::Comma,
        }),
        dates: DateStyle {
            dayfirst: input.dayfirst,
            format: input.date_format.clone(),
        },
    })
}
