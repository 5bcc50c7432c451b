//! Schema inference, cleaning, encoding and scaling of a [`crate::io::Table`].

pub mod clean;
pub mod encode;
pub mod noise;
pub mod prep;
pub mod reject;
pub mod sample;
pub mod schema;

pub use clean::{clean, CleanParams, Cleaned, Impute, OutlierMethod, Outliers};
pub use encode::{encode, Encoded, LogSpec, Scale};
pub use noise::{decide_category_columns, ColumnDecision};
pub use prep::Prep;
pub use reject::{Reject, RejectReason};
pub use schema::{infer_schema, Kind, Overrides, Schema};
