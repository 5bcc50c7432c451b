//! Reading input tables.

pub mod numeric;
pub mod source;

pub use numeric::{read_numeric_csv, NumericTable};
pub use source::{Source, SourceKind, SourceOptions};
