//! Reading input tables, schema inference, cleaning, encoding and scaling.

pub mod clean;
pub mod encode;
pub mod fxhash;
pub mod numeric;
pub mod prep;
pub mod schema;
pub mod source;
pub mod table;
pub mod values;

pub use clean::{clean, CleanParams, Cleaned, Impute, OutlierMethod, Outliers};
pub use encode::{encode, Encoded, LogSpec, Scale};
pub use numeric::{read_numeric_csv, NumericTable};
pub use prep::Prep;
pub use schema::{infer_schema, Kind, Overrides, Schema};
pub use source::{Source, SourceKind, SourceOptions};
pub use table::{read_table, Table};
