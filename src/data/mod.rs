//! Schema inference, cleaning, encoding and scaling of a [`crate::io::Table`].

pub mod clean;
pub mod encode;
pub mod numeric;
pub mod prep;
pub mod schema;

pub use clean::{clean, CleanParams, Cleaned, Impute, OutlierMethod, Outliers};
pub use encode::{encode, Encoded, LogSpec, Scale};
pub use numeric::{read_numeric_csv, NumericTable};
pub use prep::Prep;
pub use schema::{infer_schema, Kind, Overrides, Schema};
