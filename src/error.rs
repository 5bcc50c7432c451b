//! One error enum for the library; every message names the file, row, column or parameter at
//! fault.
//!
//! The library knows its parameters as [`Param`] values, never as command-line flags: a
//! message formats a parameter with `{}`, and the [`Names`] a front end installs once
//! ([`use_names`]) decides how it reads — `--min-samples` from the CLI, `min_samples` from
//! Python (the library's own names, the default).

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A parameter of the library, as error messages, notes and reports refer to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is the parameter its library name says
pub enum Param {
    K,
    KRange,
    SilhouetteSample,
    SweepSample,
    Backend,
    Seed,
    NInit,
    MaxIter,
    Tol,
    Init,
    /// The k-means assignment kernel (Lloyd, Hamerly, ...).
    Assign,
    /// The clustering algorithm of a segmentation (k-means, DBSCAN, ...).
    Algorithm,
    Compare,
    Eps,
    MinSamples,
    Gamma,
    MicroClusters,
    Threads,
    Impute,
    Outliers,
    OutlierMethod,
    Scale,
    Log,
    Id,
    Drop,
    Categorical,
    Numeric,
    /// The output directory.
    Out,
    /// An output file.
    Output,
    Table,
    Query,
    /// The spreadsheet sheet to read.
    Sheet,
    /// The format every date follows.
    DateFormat,
    /// Event types read as views.
    ViewEvents,
    /// Event types read as add-to-cart.
    CartEvents,
    /// Event types read as purchases.
    PurchaseEvents,
    AsOf,
    DayFirst,
    Customer,
    Date,
    Amount,
    Quantity,
    Price,
    Invoice,
    User,
    Time,
    EventType,
    Session,
    Product,
    CategoryColumn,
    Brand,
    Rows,
    Dims,
    Centers,
    Std,
    Iters,
    Sqlite,
}

impl Param {
    /// The library's name for the parameter (also the Python keyword).
    pub fn name(self) -> &'static str {
        match self {
            Param::K => "k",
            Param::KRange => "k_range",
            Param::SilhouetteSample => "silhouette_sample",
            Param::SweepSample => "sweep_sample",
            Param::Backend => "backend",
            Param::Seed => "seed",
            Param::NInit => "n_init",
            Param::MaxIter => "max_iter",
            Param::Tol => "tol",
            Param::Init => "init",
            Param::Assign => "kmeans_algorithm",
            Param::Algorithm => "algorithm",
            Param::Compare => "compare",
            Param::Eps => "eps",
            Param::MinSamples => "min_samples",
            Param::Gamma => "gamma",
            Param::MicroClusters => "micro_clusters",
            Param::Threads => "threads",
            Param::Impute => "impute",
            Param::Outliers => "outliers",
            Param::OutlierMethod => "outlier_method",
            Param::Scale => "scale",
            Param::Log => "log",
            Param::Id => "id",
            Param::Drop => "drop",
            Param::Categorical => "categorical",
            Param::Numeric => "numeric",
            Param::Out => "out",
            Param::Output => "output",
            Param::Table => "table",
            Param::Query => "query",
            Param::Sheet => "sheet",
            Param::DateFormat => "date_format",
            Param::ViewEvents => "view_events",
            Param::CartEvents => "cart_events",
            Param::PurchaseEvents => "purchase_events",
            Param::AsOf => "as_of",
            Param::DayFirst => "dayfirst",
            Param::Customer => "customer",
            Param::Date => "date",
            Param::Amount => "amount",
            Param::Quantity => "quantity",
            Param::Price => "price",
            Param::Invoice => "invoice",
            Param::User => "user",
            Param::Time => "time",
            Param::EventType => "type",
            Param::Session => "session",
            Param::Product => "product",
            Param::CategoryColumn => "category",
            Param::Brand => "brand",
            Param::Rows => "rows",
            Param::Dims => "dims",
            Param::Centers => "centers",
            Param::Std => "std",
            Param::Iters => "iters",
            Param::Sqlite => "sqlite",
        }
    }

    /// The parameter as a bare word ("n-init" on the CLI), for messages that name it without
    /// the flag's dashes.
    pub fn bare(self) -> Bare {
        Bare(self)
    }

    /// The parameter set to `value` ("--backend cpu" on the CLI, `backend="cpu"` in Python).
    pub fn set(self, value: &'static str) -> Setting {
        Setting(self, value)
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&names().name(*self))
    }
}

/// A parameter named as a bare word (see [`Param::bare`]).
#[derive(Clone, Copy, Debug)]
pub struct Bare(Param);

impl fmt::Display for Bare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&names().bare(self.0))
    }
}

/// A parameter with a value (see [`Param::set`]).
#[derive(Clone, Copy, Debug)]
pub struct Setting(Param, &'static str);

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&names().setting(self.0, self.1))
    }
}

/// How a front end spells the library's parameters in the messages it shows.
pub trait Names: Send + Sync {
    /// The parameter's name ("--min-samples", `min_samples`).
    fn name(&self, p: Param) -> Cow<'static, str>;
    /// The parameter as a bare word; the name by default.
    fn bare(&self, p: Param) -> Cow<'static, str> {
        self.name(p)
    }
    /// The parameter set to a value.
    fn setting(&self, p: Param, value: &str) -> String;
}

/// The library's own names, used until a front end installs others: Python keyword style.
#[derive(Clone, Copy, Debug, Default)]
pub struct LibraryNames;

impl Names for LibraryNames {
    fn name(&self, p: Param) -> Cow<'static, str> {
        Cow::Borrowed(p.name())
    }

    fn setting(&self, p: Param, value: &str) -> String {
        format!("{}=\"{value}\"", p.name())
    }
}

static NAMES: OnceLock<&'static dyn Names> = OnceLock::new();

/// Installs the names every later message uses; the first call wins (a front end calls it
/// once, before any work). Returns whether these names are now in use.
pub fn use_names(names: &'static dyn Names) -> bool {
    NAMES.set(names).is_ok() || std::ptr::addr_eq(*NAMES.get().unwrap_or(&names), names)
}

fn names() -> &'static dyn Names {
    NAMES.get().copied().unwrap_or(&LibraryNames)
}

/// The parameter that names a column a feature needs, or its alternatives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnParam {
    /// This parameter.
    One(Param),
    /// `amount`, or `quantity` with `price`.
    AmountOrQuantityPrice,
}

impl fmt::Display for ColumnParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnParam::One(p) => write!(f, "{p}"),
            ColumnParam::AmountOrQuantityPrice => write!(
                f,
                "{} (or {} and {})",
                Param::Amount,
                Param::Quantity,
                Param::Price
            ),
        }
    }
}

/// One validation rule that parameters broke, found before any work started (or, for the
/// data-dependent rules, before the stage that needs them).
#[derive(Debug, Clone, PartialEq)]
pub enum ParamError {
    /// k must be at least 1.
    KZero,
    /// n_init must be at least 1.
    NInitZero,
    /// max_iter must be at least 1.
    MaxIterZero,
    /// tol must be finite and non-negative.
    Tol(f64),
    /// The k range must start at 2 or more and not decrease.
    KRange {
        /// First k.
        lo: usize,
        /// Last k.
        hi: usize,
    },
    /// The silhouette sample needs at least 2 rows.
    SilhouetteSample,
    /// eps must be a positive, finite distance.
    Eps(f64),
    /// min_samples must be at least 1.
    MinSamplesZero,
    /// gamma must be a positive, finite number.
    Gamma(f64),
    /// gamma must fit in an f32.
    GammaTooLarge(f64),
    /// Two-stage hierarchical clustering needs at least 2 micro-clusters.
    MicroClusters(usize),
    /// threads must be at least 1.
    ThreadsZero,
    /// An algorithm name that `compare` does not know.
    CompareUnknown(String),
    /// `compare` names no algorithm.
    CompareEmpty,
    /// A benchmark needs k and iterations of at least 1.
    BenchZero,
    /// Generated blobs need dims and centers of at least 1.
    BlobsZero,
    /// The blobs' standard deviation must be finite and non-negative.
    Std(f64),
    /// `log` names a column that is not a clustered numeric one.
    LogColumn(String),
    /// `log` names a column with negative values.
    LogNegative {
        /// The column.
        column: String,
        /// Its smallest value.
        min: String,
    },
    /// A value the parameter cannot take, with what it expects.
    Invalid {
        /// The parameter.
        param: Param,
        /// The value given.
        value: String,
        /// What would be accepted.
        expected: String,
    },
    /// Two parameters that exclude each other were both given.
    Conflict(Param, Param),
}

impl ParamError {
    /// The parameter the rule is about.
    pub fn param(&self) -> Param {
        match self {
            ParamError::KZero => Param::K,
            ParamError::NInitZero => Param::NInit,
            ParamError::MaxIterZero => Param::MaxIter,
            ParamError::Tol(_) => Param::Tol,
            ParamError::KRange { .. } => Param::KRange,
            ParamError::SilhouetteSample => Param::SilhouetteSample,
            ParamError::Eps(_) => Param::Eps,
            ParamError::MinSamplesZero => Param::MinSamples,
            ParamError::Gamma(_) | ParamError::GammaTooLarge(_) => Param::Gamma,
            ParamError::MicroClusters(_) => Param::MicroClusters,
            ParamError::ThreadsZero => Param::Threads,
            ParamError::CompareUnknown(_) | ParamError::CompareEmpty => Param::Compare,
            ParamError::BenchZero => Param::K,
            ParamError::BlobsZero => Param::Dims,
            ParamError::Std(_) => Param::Std,
            ParamError::LogColumn(_) | ParamError::LogNegative { .. } => Param::Log,
            ParamError::Invalid { param, .. } => *param,
            ParamError::Conflict(a, _) => *a,
        }
    }
}

/// The algorithms `compare` accepts, for its messages.
const ALGORITHM_LIST: &str = "kmeans, dbscan, hierarchical, kprototypes, or all";

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::KZero => write!(f, "invalid parameter: {} must be at least 1", Param::K.bare()),
            ParamError::NInitZero => {
                write!(f, "invalid parameter: {} must be at least 1", Param::NInit.bare())
            }
            ParamError::MaxIterZero => {
                write!(f, "invalid parameter: {} must be at least 1", Param::MaxIter.bare())
            }
            ParamError::Tol(v) => write!(
                f,
                "invalid parameter: {} must be finite and >= 0, got {v}",
                Param::Tol.bare()
            ),
            ParamError::KRange { lo, hi } => write!(
                f,
                "{} {lo}..{hi}: give a range such as 2..10 (from at least 2, not decreasing)",
                Param::KRange
            ),
            ParamError::SilhouetteSample => {
                write!(f, "{} must be at least 2 rows", Param::SilhouetteSample)
            }
            ParamError::Eps(v) => write!(
                f,
                "{} must be a positive distance in the units of the scaled data (got {v}); \
                 leave it out to have it suggested from the k-distance curve",
                Param::Eps
            ),
            ParamError::MinSamplesZero => write!(
                f,
                "{} must be at least 1 (it counts the point itself, as scikit-learn does); \
                 5 is a common choice, or 2 × the number of features",
                Param::MinSamples
            ),
            ParamError::Gamma(g) => write!(
                f,
                "{} must be a positive number (got {g}); leave it out for half the mean numeric standard deviation",
                Param::Gamma
            ),
            ParamError::GammaTooLarge(g) => write!(
                f,
                "{} {g:e} is too large: it must be at most {:e}; leave it out for half the mean numeric standard deviation",
                Param::Gamma,
                f32::MAX
            ),
            ParamError::MicroClusters(m) => write!(
                f,
                "{} {m}: two-stage hierarchical clustering needs at least 2 micro-clusters; the default is 1000",
                Param::MicroClusters
            ),
            ParamError::ThreadsZero => write!(f, "{} must be at least 1", Param::Threads),
            ParamError::CompareUnknown(t) => write!(
                f,
                "{} '{t}': unknown algorithm; use a comma-separated list of {ALGORITHM_LIST}",
                Param::Compare
            ),
            ParamError::CompareEmpty => {
                write!(f, "{}: name at least one of {ALGORITHM_LIST}", Param::Compare)
            }
            ParamError::BenchZero => write!(
                f,
                "bench needs {} and {} of at least 1",
                Param::K,
                Param::Iters
            ),
            ParamError::BlobsZero => write!(
                f,
                "blobs need {} and {} of at least 1",
                Param::Dims,
                Param::Centers
            ),
            ParamError::Std(v) => write!(f, "{} must be finite and >= 0, got {v}", Param::Std),
            ParamError::LogColumn(c) => {
                write!(f, "{} '{c}': not a clustered numeric column", Param::Log)
            }
            ParamError::LogNegative { column, min } => write!(
                f,
                "{} '{column}': the column has negative values (down to {min}); log1p needs values ≥ 0",
                Param::Log
            ),
            ParamError::Invalid {
                param,
                value,
                expected,
            } => write!(f, "{param} '{value}': {expected}"),
            ParamError::Conflict(a, b) => write!(f, "give {a} or {b}, not both"),
        }
    }
}

impl std::error::Error for ParamError {}

/// What kind of failure an [`Error`] is: what a binding maps to its own exception types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A parameter broke a rule (Python: `ValueError`).
    Param,
    /// The input data cannot be used as it is (Python: `ValueError`).
    Data,
    /// A file could not be read or written (Python: `OSError`).
    Io,
    /// A saved model file is not usable (Python: `ValueError`).
    Model,
    /// No GPU adapter, or the GPU failed (Python: `RuntimeError`).
    Gpu,
    /// A valid request this build or device cannot serve (Python: `RuntimeError`).
    Unsupported,
}

/// Everything that can go wrong in the library, each with a message a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter failed validation.
    #[error("{0}")]
    Param(#[from] ParamError),

    /// The input file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The input file has no bytes (or only white space).
    #[error("{path}: the file is empty")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },

    /// The input file has a header but no data rows.
    #[error("{path}: the file has a header but no data rows")]
    NoRows {
        /// The file.
        path: PathBuf,
    },

    /// A data row has a different number of fields than the header.
    #[error("{path}: row {row} (line {line}): expected {expected} fields as in the header, found {found}")]
    Ragged {
        /// The file.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// 1-based line where the row starts.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },

    /// A field that must be numeric is not.
    #[error("{path}: row {row}, column '{column}': '{value}' is not a number")]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// The column.
        column: String,
        /// The field.
        value: String,
    },

    /// A numeric field is NaN or infinite.
    #[error("{path}: row {row}, column '{column}': '{value}' is not a finite number (NaN and infinity cannot be clustered)")]
    NotFinite {
        /// The file.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// The column.
        column: String,
        /// The field.
        value: String,
    },

    /// A numeric field is empty.
    #[error("{path}: row {row}, column '{column}': missing value (the kmeans command needs every field; `segmenter run` imputes them)")]
    Missing {
        /// The file.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// The column.
        column: String,
    },

    /// The bytes of a row are not UTF-8.
    #[error("{path}: row {row} (line {line}): the file is not valid UTF-8; re-export it as UTF-8")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based data row.
        row: u64,
        /// 1-based line.
        line: u64,
    },

    /// Any other CSV syntax problem.
    #[error("{path}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What the CSV reader said.
        message: String,
    },

    /// There are fewer distinct points than clusters asked for.
    #[error("k = {k} is larger than the number of distinct points ({distinct}); use a k of at most {distinct}")]
    TooFewDistinct {
        /// Clusters asked for.
        k: usize,
        /// Distinct points.
        distinct: usize,
    },

    /// An output file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The output directory cannot be created or written.
    #[error("{out} {path}: cannot write the output directory ({source}); choose a writable directory with {out}", out = Param::Out)]
    OutDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// No GPU adapter was found where one was required.
    #[error("no GPU adapter found ({0}); install a Vulkan, Metal or DX12 driver (on Linux without a GPU: apt-get install mesa-vulkan-drivers libvulkan1), or use {cpu}", cpu = Param::Backend.set("cpu"))]
    NoAdapter(String),

    /// The GPU failed during work (device lost, out of memory, validation).
    #[error("GPU error: {0}")]
    Gpu(String),

    /// The request is valid but this build or device cannot serve it (names the way around).
    #[error("{0}")]
    Unsupported(String),

    /// A SQLite database could not be opened or queried.
    #[error("{path}: SQLite: {message}")]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// What SQLite said.
        message: String,
    },

    /// A spreadsheet (xlsx, xls, ods) could not be read.
    #[error("{path}: spreadsheet: {message}")]
    Spreadsheet {
        /// The file.
        path: PathBuf,
        /// What the spreadsheet reader said.
        message: String,
    },
    /// A Parquet file could not be read.
    #[error("{path}: Parquet: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What the Parquet reader said.
        message: String,
    },

    /// A column a feature needs was neither named by its parameter nor found under a common
    /// name.
    #[error("{path}: no {role} column found (looked for {tried}); name it with {param} COL (the columns are: {columns})")]
    NoColumn {
        /// The input.
        path: PathBuf,
        /// What the column is for ("customer id").
        role: String,
        /// The parameter(s) that name it.
        param: ColumnParam,
        /// Names looked for.
        tried: String,
        /// The input's columns.
        columns: String,
    },

    /// A parameter names a column the input does not have.
    #[error("{path}: {param} '{column}': no such column (the columns are: {columns})")]
    UnknownColumn {
        /// The input.
        path: PathBuf,
        /// The parameter.
        param: Param,
        /// The name given.
        column: String,
        /// The input's columns.
        columns: String,
    },

    /// A saved model file is not usable.
    #[error("{path}: not a segmenter model file ({why}); pass the model.json that `segmenter run` wrote")]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },

    /// Input data is unusable as a whole (message says why and what to do).
    #[error("{0}")]
    Data(String),
}

/// Library result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error met while reading `path`.
    pub fn read(path: &Path, source: std::io::Error) -> Self {
        Error::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Wraps an I/O error met while writing `path`.
    pub fn write(path: &Path, source: std::io::Error) -> Self {
        Error::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The kind of failure, for front ends that map errors to their own types.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Param(_) => ErrorKind::Param,
            Error::Read { .. } | Error::Write { .. } | Error::OutDir { .. } => ErrorKind::Io,
            Error::NoAdapter(_) | Error::Gpu(_) => ErrorKind::Gpu,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Model { .. } => ErrorKind::Model,
            Error::EmptyFile { .. }
            | Error::NoRows { .. }
            | Error::Ragged { .. }
            | Error::NotNumeric { .. }
            | Error::NotFinite { .. }
            | Error::Missing { .. }
            | Error::NotUtf8 { .. }
            | Error::Csv { .. }
            | Error::TooFewDistinct { .. }
            | Error::Sqlite { .. }
            | Error::Parquet { .. }
            | Error::Spreadsheet { .. }
            | Error::NoColumn { .. }
            | Error::UnknownColumn { .. }
            | Error::Data(_) => ErrorKind::Data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names_are_python_keywords() {
        assert_eq!(ParamError::MinSamplesZero.param(), Param::MinSamples);
        let msg = ParamError::Eps(-0.5).to_string();
        assert!(msg.starts_with("eps must be a positive distance"), "{msg}");
        assert_eq!(
            ParamError::KRange { lo: 3, hi: 1 }.to_string(),
            "k_range 3..1: give a range such as 2..10 (from at least 2, not decreasing)"
        );
        assert!(Error::NoAdapter("none".into())
            .to_string()
            .ends_with("or use backend=\"cpu\""));
        assert_eq!(
            Error::Param(ParamError::ThreadsZero).kind(),
            ErrorKind::Param
        );
    }
}
