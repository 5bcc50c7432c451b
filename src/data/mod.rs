//! Reading input tables.

pub mod numeric;

pub use numeric::{read_numeric_csv, NumericTable};
