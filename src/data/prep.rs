//! The fitted preprocessing that `model.json` stores: per column, how a field becomes features
//! (impute, clip, date offset, log, scale, one-hot). `run` and `predict` apply the same code,
//! so a row scores the same whichever command sees it.

use super::reject::{RejectReason, Unusable};
use super::schema::Kind;
use crate::error::{Error, Result};
use crate::io::dates::DateStyle;
use crate::io::table::{is_missing, Table};
use crate::io::values::{parse_bool_value, parse_date_in, parse_number_in, Decimal, Parsed};
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Level that missing categorical values become.
pub const MISSING_LEVEL: &str = "(missing)";
/// Level that rare and unseen categorical values become.
pub const OTHER_LEVEL: &str = "other";

/// How one numeric, boolean or date column becomes one feature.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct NumericTransform {
    /// Input column.
    pub column: String,
    /// numeric, boolean (0/1) or date (days before `reference`).
    pub kind: Kind,
    /// Value that replaces a missing one; `None` rejects the row (`--impute drop`).
    pub impute: Option<f64>,
    /// Values are clipped to this range (the outlier fence), when set.
    pub clip: Option<[f64; 2]>,
    /// Dates: the latest day (days since 1970-01-01) that values are counted back from.
    pub reference: Option<f64>,
    /// Whether log1p is applied before scaling.
    pub log: bool,
    /// Subtracted after the log.
    pub center: f64,
    /// Divided by after centering (never 0).
    pub scale: f64,
    /// Dates: how the training table wrote them (day first, or an explicit format).
    #[serde(default, skip_serializing_if = "DateStyle::is_default")]
    pub dates: DateStyle,
}

/// How one categorical column becomes one-hot features.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CategoricalTransform {
    /// Input column.
    pub column: String,
    /// Levels with a feature of their own, most frequent first (may include "(missing)").
    pub levels: Vec<String>,
    /// Whether an `other` feature collects rare and unseen levels.
    pub other: bool,
}

/// One input column's transform.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Transform {
    /// One feature from a numeric, boolean or date column.
    Numeric(NumericTransform),
    /// One-hot features from a categorical column.
    Categorical(CategoricalTransform),
}

impl NumericTransform {
    /// Parses a field by the column's kind (dates become days before the reference), numbers
    /// with the table's `decimal`, dates in `dates` when that is set, else as at training.
    pub fn parse(&self, f: &[u8], decimal: Decimal, dates: &DateStyle) -> Parsed {
        match self.kind {
            Kind::Boolean => parse_bool_value(f),
            Kind::Date => {
                let style = if dates.is_default() {
                    &self.dates
                } else {
                    dates
                };
                match parse_date_in(f, style) {
                    Parsed::Value(d) => Parsed::Value(self.reference.unwrap_or(0.0) - d),
                    p => p,
                }
            }
            _ => parse_number_in(f, decimal),
        }
    }

    /// The cleaned (imputed, clipped) value of a parsed field, in the column's own units.
    pub fn clean(&self, p: Parsed) -> std::result::Result<f64, Unusable> {
        let v = match p {
            Parsed::Value(v) => v,
            Parsed::Missing => self.impute.ok_or(Unusable::Missing)?,
            Parsed::Infinite => return Err(Unusable::Infinite),
            Parsed::Invalid => return Err(Unusable::Invalid),
        };
        Ok(match self.clip {
            Some([lo, hi]) => v.clamp(lo, hi),
            None => v,
        })
    }

    /// The feature of a cleaned value: log1p if set, then centred and scaled.
    pub fn feature(&self, v: f64) -> f32 {
        let v = if self.log { v.max(0.0).ln_1p() } else { v };
        ((v - self.center) / self.scale) as f32
    }
}

impl CategoricalTransform {
    /// The level of a field as it is counted: trimmed, missing tokens mapped to "(missing)".
    pub fn level_of(f: &[u8]) -> &[u8] {
        if is_missing(f) {
            MISSING_LEVEL.as_bytes()
        } else {
            f.trim_ascii()
        }
    }

    /// Index of the one-hot feature of a field (`levels.len()` is `other`); `None` when the
    /// level is unknown and there is no `other` feature (all zeros).
    pub fn code(&self, f: &[u8]) -> Option<usize> {
        let l = Self::level_of(f);
        match self.levels.iter().position(|x| x.as_bytes() == l) {
            Some(i) => Some(i),
            None if self.other => Some(self.levels.len()),
            None => None,
        }
    }

    /// Number of features.
    pub fn width(&self) -> usize {
        self.levels.len() + usize::from(self.other)
    }
}

impl Transform {
    /// Input column.
    pub fn column(&self) -> &str {
        match self {
            Transform::Numeric(t) => &t.column,
            Transform::Categorical(t) => &t.column,
        }
    }

    /// Number of features it produces.
    pub fn width(&self) -> usize {
        match self {
            Transform::Numeric(_) => 1,
            Transform::Categorical(t) => t.width(),
        }
    }

    /// Names of the features it produces.
    pub fn feature_names(&self) -> Vec<String> {
        match self {
            Transform::Numeric(t) => vec![t.column.clone()],
            Transform::Categorical(t) => t
                .levels
                .iter()
                .map(String::as_str)
                .chain(t.other.then_some(OTHER_LEVEL))
                .map(|l| format!("{}={l}", t.column))
                .collect(),
        }
    }
}

/// The whole preprocessing: every transform in input column order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Prep {
    /// Transforms of the clustered columns.
    pub transforms: Vec<Transform>,
    /// Names of the features, in matrix column order.
    pub features: Vec<String>,
}

/// A row of a table that cannot be scored, with its reason.
#[derive(Clone, Debug, PartialEq)]
pub struct RowIssue {
    /// Index of the row in the table.
    pub index: usize,
    /// Why.
    pub reason: RejectReason,
}

impl Prep {
    /// Checks that `table` has every column the transforms read; names the missing and the
    /// extra ones. Returns the column index of each transform and the extra column names.
    pub fn match_columns(&self, table: &Table) -> Result<(Vec<usize>, Vec<String>)> {
        let mut idx = Vec::new();
        let mut missing = Vec::new();
        for t in &self.transforms {
            match table.column_index(t.column()) {
                Some(j) => idx.push(j),
                None => missing.push(format!("'{}'", t.column())),
            }
        }
        if !missing.is_empty() {
            return Err(Error::Data(format!(
                "{}: the model needs column{} {} which the file does not have",
                table.path.display(),
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", ")
            )));
        }
        let extra = table
            .columns
            .iter()
            .filter(|c| !self.transforms.iter().any(|t| t.column() == c.as_str()))
            .cloned()
            .collect();
        Ok((idx, extra))
    }

    /// Features of the given table rows; rows that cannot be scored are returned as issues
    /// and get no matrix row.
    pub fn transform(
        &self,
        table: &Table,
        cols: &[usize],
        rows: &[usize],
    ) -> (Array2<f32>, Vec<usize>, Vec<RowIssue>) {
        let d = self.features.len();
        let results: Vec<std::result::Result<Vec<f32>, RejectReason>> = rows
            .par_iter()
            .map(|&i| {
                let mut out = vec![0f32; d];
                let mut at = 0;
                for (t, &j) in self.transforms.iter().zip(cols) {
                    let f = table.field(i, j);
                    match t {
                        Transform::Numeric(n) => {
                            let v = n
                                .clean(n.parse(f, table.decimal, &table.dates))
                                .map_err(|w| RejectReason::unusable(&n.column, f, w, n.kind))?;
                            out[at] = n.feature(v);
                            at += 1;
                        }
                        Transform::Categorical(c) => {
                            if let Some(k) = c.code(f) {
                                out[at + k] = 1.0;
                            }
                            at += c.width();
                        }
                    }
                }
                Ok(out)
            })
            .collect();
        let mut values = Vec::with_capacity(rows.len() * d);
        let mut kept = Vec::with_capacity(rows.len());
        let mut issues = Vec::new();
        for (&i, r) in rows.iter().zip(results) {
            match r {
                Ok(v) => {
                    values.extend(v);
                    kept.push(i);
                }
                Err(reason) => issues.push(RowIssue { index: i, reason }),
            }
        }
        let n = kept.len();
        let x = Array2::from_shape_vec((n, d), values).unwrap_or_else(|_| Array2::zeros((0, d)));
        (x, kept, issues)
    }
}
