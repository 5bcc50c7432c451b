//! Derived per-customer tables: RFM features from transaction lines (`rfm`) and behaviour
//! features from clickstream events (`events`). Both stream their input once and keep state
//! per customer (plus the distinct keys they count), never per line.

pub mod columns;
pub mod events;
pub mod rejects;
pub mod rfm;

pub use events::{EventColumns, EventFeatures, EventsBuilder, EVENT_COLUMNS};
pub use rfm::{RfmBuilder, RfmColumns, RfmFeatures, RFM_COLUMNS};

use crate::error::{Param, ParamError, Result};
use crate::io::dates;

/// Options shared by both builders.
#[derive(Clone, Debug, Default)]
pub struct TimeOptions {
    /// The reference day for recency and tenure (days since 1970-01-01); default: the day
    /// after the latest date in the log.
    pub as_of: Option<i64>,
    /// Read slash dates as D/M/YYYY.
    pub dayfirst: bool,
    /// One strftime format every timestamp follows, instead of the accepted forms.
    pub format: Option<String>,
}

impl TimeOptions {
    /// Parses a timestamp field to seconds since the epoch by these options.
    pub fn timestamp(&self, field: &[u8]) -> Option<i64> {
        match &self.format {
            None => dates::parse_timestamp(field, self.dayfirst),
            Some(f) => dates::DateStyle {
                dayfirst: self.dayfirst,
                format: Some(f.clone()),
            }
            .timestamp(field),
        }
    }
}

/// Parses `--as-of` (any accepted date form; the time of day is ignored) to a day number.
pub fn parse_as_of(value: &str, dayfirst: bool) -> Result<i64> {
    dates::parse_timestamp(value.as_bytes(), dayfirst)
        .map(dates::day_of)
        .ok_or_else(|| {
            ParamError::Invalid {
                param: Param::AsOf,
                value: value.into(),
                expected: "not a date; use YYYY-MM-DD".into(),
            }
            .into()
        })
}

/// Parses a decimal number field (surrounding blanks allowed); `None` when empty, not a
/// number, or not finite.
pub fn parse_number(field: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(field.trim_ascii()).ok()?;
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Customer ids in output order: numerically when every id is an integer (so `12346`
/// precedes `12347` and `9` precedes `10`), else bytewise. Returns indices into `ids`.
pub(crate) fn id_order<T: AsRef<[u8]>>(ids: &[T]) -> Vec<usize> {
    let numeric: Option<Vec<i128>> = ids
        .iter()
        .map(|id| std::str::from_utf8(id.as_ref()).ok()?.parse::<i128>().ok())
        .collect();
    let mut order: Vec<usize> = (0..ids.len()).collect();
    let key = |i: usize| ids[i].as_ref();
    match numeric {
        Some(n) => order.sort_by(|&a, &b| n[a].cmp(&n[b]).then_with(|| key(a).cmp(key(b)))),
        None => order.sort_by(|&a, &b| key(a).cmp(key(b))),
    }
    order
}

/// Quintile scores 1–5 of `values`: a customer's score is 1 + ⌊5 × (customers strictly
/// worse) / n⌋, so tied customers share a score and the result does not depend on order.
/// `higher_is_better = false` scores low values high (recency).
pub fn quintile_scores(values: &[f64], higher_is_better: bool) -> Vec<u8> {
    let n = values.len();
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    values
        .iter()
        .map(|&v| {
            let worse = if higher_is_better {
                sorted.partition_point(|&x| x < v)
            } else {
                n - sorted.partition_point(|&x| x <= v)
            };
            (1 + 5 * worse / n.max(1)).min(5) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::format::push_decimal;

    #[test]
    fn quintiles_share_ties_and_span_one_to_five() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(
            quintile_scores(&v, true),
            vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
        assert_eq!(
            quintile_scores(&v, false),
            vec![5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
        );
        let t = [1.0, 1.0, 1.0, 1.0, 2.0];
        assert_eq!(quintile_scores(&t, true), vec![1, 1, 1, 1, 5]);
        assert_eq!(quintile_scores(&t, false), vec![2, 2, 2, 2, 1]);
        assert_eq!(quintile_scores(&[3.0], true), vec![1]);
    }

    #[test]
    fn decimals_are_rounded_and_short() {
        let mut o = Vec::new();
        push_decimal(&mut o, 0.1 + 0.2);
        o.push(b' ');
        push_decimal(&mut o, 2.0);
        o.push(b' ');
        push_decimal(&mut o, -0.00001);
        assert_eq!(String::from_utf8_lossy(&o), "0.3 2 0");
    }

    #[test]
    fn ids_sort_numerically_when_all_are_integers() {
        let ids: Vec<Box<[u8]>> = ["10", "9", "12346"]
            .iter()
            .map(|s| s.as_bytes().into())
            .collect();
        assert_eq!(id_order(&ids), vec![1, 0, 2]);
        let ids: Vec<Box<[u8]>> = ["b", "10", "a"]
            .iter()
            .map(|s| s.as_bytes().into())
            .collect();
        assert_eq!(id_order(&ids), vec![1, 2, 0]);
    }
}
