//! Rejected rows: which row, and why, as a value a report can count by category and a rejects
//! file can print.

use super::schema::Kind;
use crate::error::Param;
use crate::io::format::fmt_compact;
use crate::io::Table;
use std::fmt;

/// Why a field cannot be used (the caller adds row and column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// Not a number / boolean / date as the column's kind needs.
    Invalid,
    /// Infinite.
    Infinite,
    /// Missing, and missing values are not imputed.
    Missing,
}

/// Why a row was rejected.
#[derive(Clone, Debug, PartialEq)]
pub enum RejectReason {
    /// An exact copy of an earlier row.
    Duplicate {
        /// 1-based data row it copies.
        of_row: u64,
    },
    /// The row has another number of fields than the header.
    FieldCount {
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
        /// 1-based line where the row starts.
        line: u64,
    },
    /// A field of a clustered column cannot be used.
    Unusable {
        /// The column.
        column: String,
        /// The field, trimmed and cut to 40 characters.
        value: String,
        /// What is wrong with it.
        why: Unusable,
        /// The column's kind (what the field should have been).
        kind: Kind,
    },
    /// A value outside the outlier fence, with outliers rejected.
    Outlier {
        /// The column.
        column: String,
        /// The value.
        value: f64,
        /// The fence.
        fence: [f64; 2],
    },
}

impl RejectReason {
    /// An unusable field of `column`.
    pub fn unusable(column: &str, field: &[u8], why: Unusable, kind: Kind) -> Self {
        RejectReason::Unusable {
            column: column.to_string(),
            value: String::from_utf8_lossy(field.trim_ascii())
                .chars()
                .take(40)
                .collect(),
            why,
            kind,
        }
    }

    /// The column at fault, when one is.
    pub fn column(&self) -> Option<&str> {
        match self {
            RejectReason::Unusable { column, .. } | RejectReason::Outlier { column, .. } => {
                Some(column)
            }
            RejectReason::Duplicate { .. } | RejectReason::FieldCount { .. } => None,
        }
    }

    /// What went wrong without the row-specific value, for counting rejects by reason.
    pub fn category(&self) -> String {
        match self {
            RejectReason::Duplicate { .. } => "exact duplicate of an earlier row".into(),
            RejectReason::FieldCount { .. } => "wrong number of fields".into(),
            RejectReason::Unusable {
                column,
                why: Unusable::Invalid,
                kind,
                ..
            } => format!("column '{column}': value is not a {}", kind_noun(*kind)),
            RejectReason::Unusable {
                column,
                why: Unusable::Infinite,
                ..
            } => format!("column '{column}': value is not a finite number"),
            r @ RejectReason::Unusable { .. } => r.to_string(),
            RejectReason::Outlier { column, .. } => {
                format!(
                    "column '{column}': outlier ({})",
                    Param::Outliers.set("drop")
                )
            }
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::Duplicate { of_row } => write!(f, "duplicate of row {of_row}"),
            RejectReason::FieldCount {
                expected,
                found,
                line,
            } => write!(
                f,
                "expected {expected} fields as in the header, found {found} (line {line})"
            ),
            RejectReason::Unusable {
                column,
                value,
                why,
                kind,
            } => match why {
                Unusable::Invalid => {
                    write!(
                        f,
                        "column '{column}': '{value}' is not a {}",
                        kind_noun(*kind)
                    )
                }
                Unusable::Infinite => {
                    write!(f, "column '{column}': '{value}' is not a finite number")
                }
                Unusable::Missing => write!(
                    f,
                    "column '{column}': missing value ({})",
                    Param::Impute.set("drop")
                ),
            },
            RejectReason::Outlier {
                column,
                value,
                fence: [lo, hi],
            } => write!(
                f,
                "column '{column}': {} is an outlier (outside [{}, {}]; {})",
                fmt_compact(*value),
                fmt_compact(*lo),
                fmt_compact(*hi),
                Param::Outliers.set("drop")
            ),
        }
    }
}

fn kind_noun(kind: Kind) -> &'static str {
    match kind {
        Kind::Boolean => "boolean (true/false, yes/no, 1/0)",
        Kind::Date => "date (YYYY-MM-DD)",
        _ => "number",
    }
}

/// Where a rejected row lives: a well-formed table row, or a ragged one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// Index into the table's rows.
    Row(usize),
    /// Index into `Table::ragged`.
    Ragged(usize),
}

/// A rejected row and why.
#[derive(Clone, Debug)]
pub struct Reject {
    /// Which row.
    pub origin: Origin,
    /// 1-based data row number in the input.
    pub row: u64,
    /// Why.
    pub reason: RejectReason,
}

/// One reject per row whose field count differs from the header's.
pub fn ragged_rejects(table: &Table) -> Vec<Reject> {
    table
        .ragged
        .iter()
        .enumerate()
        .map(|(i, r)| Reject {
            origin: Origin::Ragged(i),
            row: r.row,
            reason: RejectReason::FieldCount {
                expected: table.n_cols(),
                found: r.fields.len(),
                line: r.line,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_leave_out_the_values() {
        let r = RejectReason::Duplicate { of_row: 12 };
        assert_eq!(r.to_string(), "duplicate of row 12");
        assert_eq!(r.category(), "exact duplicate of an earlier row");
        let r = RejectReason::unusable("a", b" oops ", Unusable::Invalid, Kind::Numeric);
        assert_eq!(r.to_string(), "column 'a': 'oops' is not a number");
        assert_eq!(r.category(), "column 'a': value is not a number");
        let r = RejectReason::unusable("b", b"-inf", Unusable::Infinite, Kind::Numeric);
        assert_eq!(r.category(), "column 'b': value is not a finite number");
        let r = RejectReason::FieldCount {
            expected: 3,
            found: 1,
            line: 9,
        };
        assert_eq!(
            r.to_string(),
            "expected 3 fields as in the header, found 1 (line 9)"
        );
        assert_eq!(r.category(), "wrong number of fields");
        let r = RejectReason::Outlier {
            column: "x".into(),
            value: 912.0,
            fence: [1.0, 2.0],
        };
        assert_eq!(
            r.to_string(),
            "column 'x': 912 is an outlier (outside [1, 2]; outliers=\"drop\")"
        );
        assert_eq!(r.category(), "column 'x': outlier (outliers=\"drop\")");
    }
}
