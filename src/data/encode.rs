//! Encoding and scaling: cleaned columns become the f32 feature matrix that k-means sees,
//! and the fitted `Prep` that `predict` re-applies.

use super::clean::{quantiles, CleanColumn, Cleaned};
use super::prep::{NumericTransform, Prep, Transform};
use super::schema::Kind;
use crate::error::{Error, ParamError, Result};
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How numeric features are scaled (`--scale`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// Mean 0, standard deviation 1 (the default).
    Standard,
    /// Into [0, 1].
    Minmax,
    /// Median 0, interquartile range 1.
    Robust,
    /// Left as they are.
    None,
}

/// Which columns get log1p (`--log`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSpec {
    /// No column.
    Off,
    /// Non-negative numeric columns with skewness above 1.
    Auto,
    /// These columns.
    Columns(Vec<String>),
}

/// Skewness above which `--log auto` takes the log.
pub const LOG_AUTO_SKEW: f64 = 1.0;

/// The feature matrix and the preprocessing that produced it.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// Kept rows × features, row-major.
    pub x: Array2<f32>,
    /// Fitted transforms (saved in model.json).
    pub prep: Prep,
    /// What encoding did, one line each.
    pub notes: Vec<String>,
}

fn moments(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let (m2, m3) = v.iter().fold((0.0, 0.0), |(a, b), x| {
        let d = x - mean;
        (a + d * d, b + d * d * d)
    });
    let var = m2 / n;
    let skew = if var > 0.0 {
        (m3 / n) / var.powf(1.5)
    } else {
        0.0
    };
    (mean, var.sqrt(), skew)
}

/// Log and scaling of one cleaned numeric column (`values`, one per kept row) on top of its
/// cleaning transform `t`, with the note on a log taken. The log columns were checked.
pub(crate) fn fit_numeric(
    t: &NumericTransform,
    values: &[f64],
    scale: Scale,
    log: &LogSpec,
) -> Result<(NumericTransform, Option<String>)> {
    let mut note = None;
    let mut t = t.clone();
    if t.kind == Kind::Numeric {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let (_, _, skew) = moments(values);
        t.log = match log {
            LogSpec::Off => false,
            LogSpec::Auto => min >= 0.0 && skew > LOG_AUTO_SKEW,
            LogSpec::Columns(cols) => {
                let on = cols.contains(&t.column);
                if on && min < 0.0 {
                    return Err(ParamError::LogNegative {
                        column: t.column.clone(),
                        min: min.to_string(),
                    }
                    .into());
                }
                on
            }
        };
        if t.log {
            note = Some(format!(
                "column '{}': log1p applied (skewness {skew:.2})",
                t.column
            ));
        }
    }
    if t.kind != Kind::Boolean && scale != Scale::None {
        // Only the log needs new values (and robust scaling a copy it may reorder).
        let v: std::borrow::Cow<[f64]> = if t.log {
            values.iter().map(|x| x.max(0.0).ln_1p()).collect()
        } else {
            values.into()
        };
        let (center, spread) = match scale {
            Scale::Standard => {
                let (m, sd, _) = moments(&v);
                (m, sd)
            }
            Scale::Minmax => {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (lo, hi - lo)
            }
            Scale::Robust => {
                let mut w = v.into_owned();
                let q = quantiles(&mut w, &[0.25, 0.5, 0.75]);
                (q[1], q[2] - q[0])
            }
            Scale::None => (0.0, 1.0),
        };
        t.center = center;
        // A zero spread (constant after clipping) must not divide by zero.
        t.scale = if spread > 0.0 && spread.is_finite() {
            spread
        } else {
            1.0
        };
    }
    Ok((t, note))
}

/// Fits log and scaling on the cleaned columns and fills the feature matrix.
pub fn encode(cleaned: &Cleaned, scale: Scale, log: &LogSpec) -> Result<Encoded> {
    let mut notes = Vec::new();
    if let LogSpec::Columns(cols) = log {
        for c in cols {
            let ok = cleaned.columns.iter().any(|col| {
                matches!(col, CleanColumn::Numeric { t, .. } if &t.column == c && t.kind == Kind::Numeric)
            });
            if !ok {
                return Err(ParamError::LogColumn(c.clone()).into());
            }
        }
    }
    // Columns in parallel (each one's statistics are sequential, so thread-count free); notes
    // and transforms in column order.
    let fitted: Vec<Result<_>> = cleaned
        .columns
        .par_iter()
        .map(|col| match col {
            CleanColumn::Numeric { t, values, .. } => {
                fit_numeric(t, values, scale, log).map(|(t, note)| (Transform::Numeric(t), note))
            }
            CleanColumn::Categorical { t, .. } => Ok((Transform::Categorical(t.clone()), None)),
        })
        .collect();
    let mut transforms = Vec::with_capacity(fitted.len());
    for f in fitted {
        // The first failing column's error, whichever thread met it first.
        let (t, note) = f?;
        notes.extend(note);
        transforms.push(t);
    }
    let features: Vec<String> = transforms.iter().flat_map(|t| t.feature_names()).collect();
    let d = features.len();
    let n = cleaned.kept.len();
    let mut x = Array2::<f32>::zeros((n, d));
    let flat = x
        .as_slice_mut()
        .ok_or_else(|| Error::Data("feature matrix is not contiguous".into()))?;
    const ROWS: usize = 8192;
    flat.par_chunks_mut(ROWS * d)
        .enumerate()
        .for_each(|(chunk, out)| {
            let r0 = chunk * ROWS;
            let mut at = 0;
            for (t, col) in transforms.iter().zip(&cleaned.columns) {
                match (t, col) {
                    (Transform::Numeric(t), CleanColumn::Numeric { values, .. }) => {
                        for (r, row) in out.chunks_exact_mut(d).enumerate() {
                            row[at] = t.feature(values[r0 + r]);
                        }
                        at += 1;
                    }
                    (Transform::Categorical(t), CleanColumn::Categorical { codes, .. }) => {
                        for (r, row) in out.chunks_exact_mut(d).enumerate() {
                            row[at + codes[r0 + r] as usize] = 1.0;
                        }
                        at += t.width();
                    }
                    _ => {}
                }
            }
        });
    Ok(Encoded {
        x,
        prep: Prep {
            transforms,
            features,
        },
        notes,
    })
}
