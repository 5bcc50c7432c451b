//! One error enum for the library; every message names the file, row, column or parameter at fault.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in the library, each with a message a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter failed validation before any work started.
    #[error("invalid parameter: {0}")]
    Param(#[from] crate::kmeans::ParamError),

    /// The input file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The input file has no bytes (or only white space).
    #[error("{path}: the file is empty")]
    EmptyFile { path: PathBuf },

    /// The input file has a header but no data rows.
    #[error("{path}: the file has a header but no data rows")]
    NoRows { path: PathBuf },

    /// A data row has a different number of fields than the header.
    #[error("{path}: row {row} (line {line}): expected {expected} fields as in the header, found {found}")]
    Ragged {
        path: PathBuf,
        row: u64,
        line: u64,
        expected: usize,
        found: usize,
    },

    /// A field that must be numeric is not.
    #[error("{path}: row {row}, column '{column}': '{value}' is not a number")]
    NotNumeric {
        path: PathBuf,
        row: u64,
        column: String,
        value: String,
    },

    /// A numeric field is NaN or infinite.
    #[error("{path}: row {row}, column '{column}': '{value}' is not a finite number (NaN and infinity cannot be clustered)")]
    NotFinite {
        path: PathBuf,
        row: u64,
        column: String,
        value: String,
    },

    /// A numeric field is empty.
    #[error("{path}: row {row}, column '{column}': missing value (the kmeans command needs every field; `segmenter run` imputes them)")]
    Missing {
        path: PathBuf,
        row: u64,
        column: String,
    },

    /// The bytes of a row are not UTF-8.
    #[error("{path}: row {row} (line {line}): the file is not valid UTF-8; re-export it as UTF-8")]
    NotUtf8 { path: PathBuf, row: u64, line: u64 },

    /// Any other CSV syntax problem.
    #[error("{path}: {message}")]
    Csv { path: PathBuf, message: String },

    /// There are fewer distinct points than clusters asked for.
    #[error("k = {k} is larger than the number of distinct points ({distinct}); use a k of at most {distinct}")]
    TooFewDistinct { k: usize, distinct: usize },

    /// An output file could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The output directory cannot be created or written.
    #[error("--out {path}: cannot write the output directory ({source}); choose a writable directory with --out")]
    OutDir {
        path: PathBuf,
        source: std::io::Error,
    },

    /// No GPU adapter was found where one was required.
    #[error("no GPU adapter found ({0}); install a Vulkan, Metal or DX12 driver (on Linux without a GPU: apt-get install mesa-vulkan-drivers libvulkan1), or use --backend cpu")]
    NoAdapter(String),

    /// The GPU failed during work (device lost, out of memory, validation).
    #[error("GPU error: {0}")]
    Gpu(String),

    /// The request is valid but this build cannot serve it (names the way around).
    #[error("{0}")]
    Unsupported(String),

    /// A SQLite database could not be opened or queried.
    #[error("{path}: SQLite: {message}")]
    Sqlite { path: PathBuf, message: String },

    /// A Parquet file could not be read.
    #[error("{path}: Parquet: {message}")]
    Parquet { path: PathBuf, message: String },

    /// A column a feature needs was neither named by its flag nor found under a common name.
    #[error("{path}: no {role} column found (looked for {tried}); name it with {flag} COL (the columns are: {columns})")]
    NoColumn {
        path: PathBuf,
        role: String,
        flag: String,
        tried: String,
        columns: String,
    },

    /// A flag names a column the input does not have.
    #[error("{path}: {flag} '{column}': no such column (the columns are: {columns})")]
    UnknownColumn {
        path: PathBuf,
        flag: String,
        column: String,
        columns: String,
    },

    /// A flag's value is malformed.
    #[error("{flag} '{value}': {expected}")]
    BadFlag {
        flag: String,
        value: String,
        expected: String,
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
}
