//! Category columns that carry no structure: a categorical or boolean column whose levels are
//! independent of every other clustered column adds distance between rows (one-hot blocks)
//! without adding segments, so it is left out of the clustering.
//!
//! The rule needs no first clustering (which such columns would themselves have shaped): on
//! a sample of rows, each category column's association with every other clustered column
//! is measured, against a numeric column as the share of the column's rank variance its
//! levels explain (η² of ranks, robust to outliers and skew), against another category
//! column as Cramér's V². A column whose strongest association is below
//! [`MIN_ASSOCIATION`] is independent of everything else: it can only split rows at random.
//! A category that does carry segments is tied to the columns the segments also differ in,
//! or to another category that marks them. Columns forced with `--categorical` are kept.

use super::schema::{Kind, Schema};
use crate::error::Param;
use crate::io::hash::FastMap as HashMap;
use crate::io::table::{is_missing, Table};
use crate::io::values::{parse_bool, parse_date_days, parse_number, Parsed};

/// Rows looked at (evenly spaced through the table).
pub const NOISE_SAMPLE: usize = 20_000;
/// Strongest association (η² of ranks or Cramér's V²) below which a category column is
/// left out: it explains less than 1 % of any other column's variation.
pub const MIN_ASSOCIATION: f64 = 0.01;
/// Sampled rows below which the rule does not decide (associations are too noisy).
pub const MIN_ROWS: usize = 200;

/// The decision on one category column.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnDecision {
    /// The column.
    pub column: String,
    /// Whether it is clustered on.
    pub kept: bool,
    /// The other column it is most associated with, when any.
    pub strongest_with: Option<String>,
    /// That association (η² of ranks, or Cramér's V²).
    pub association: f64,
    /// Why, in one sentence.
    pub reason: String,
}

/// One sampled column's values: ranks of a numeric-like column (NaN where missing), or
/// level codes of a category column (u32::MAX where missing) with the level count.
enum Values {
    Ranks(Vec<f64>),
    Levels(Vec<u32>, usize),
}

fn levels_of(table: &Table, rows: &[usize], j: usize, kind: Kind) -> Values {
    let mut codes = HashMap::default();
    let v = rows
        .iter()
        .map(|&i| {
            let f = table.field(i, j).trim_ascii();
            if is_missing(f) {
                return u32::MAX;
            }
            let key: Vec<u8> = if kind == Kind::Boolean {
                match parse_bool(f) {
                    Some(b) => vec![u8::from(b)],
                    None => return u32::MAX,
                }
            } else {
                f.to_vec()
            };
            let n = codes.len() as u32;
            *codes.entry(key).or_insert(n)
        })
        .collect();
    Values::Levels(v, codes.len())
}

fn ranks_of(table: &Table, rows: &[usize], j: usize, kind: Kind) -> Values {
    let raw: Vec<f64> = rows
        .iter()
        .map(|&i| {
            let f = table.field(i, j);
            let v = if kind == Kind::Date {
                parse_date_days(f)
            } else {
                match parse_number(f) {
                    Parsed::Value(v) => Some(v),
                    _ => None,
                }
            };
            v.unwrap_or(f64::NAN)
        })
        .collect();
    let mut order: Vec<usize> = (0..raw.len()).filter(|&i| raw[i].is_finite()).collect();
    order.sort_by(|&a, &b| raw[a].total_cmp(&raw[b]));
    let mut ranks = vec![f64::NAN; raw.len()];
    // Ties share their mean rank, so a zero-inflated column is not ordered by row number.
    let mut s = 0;
    while s < order.len() {
        let mut e = s + 1;
        while e < order.len() && raw[order[e]] == raw[order[s]] {
            e += 1;
        }
        let r = (s + e - 1) as f64 / 2.0;
        for &i in &order[s..e] {
            ranks[i] = r;
        }
        s = e;
    }
    Values::Ranks(ranks)
}

/// η²: the share of the variance of `y` explained by the levels `codes` (rows where either
/// is missing left out).
fn eta_squared(codes: &[u32], levels: usize, y: &[f64]) -> f64 {
    let mut sum = vec![0f64; levels];
    let mut cnt = vec![0f64; levels];
    let (mut t, mut t2, mut n) = (0f64, 0f64, 0f64);
    for (&c, &v) in codes.iter().zip(y) {
        if c == u32::MAX || !v.is_finite() {
            continue;
        }
        sum[c as usize] += v;
        cnt[c as usize] += 1.0;
        t += v;
        t2 += v * v;
        n += 1.0;
    }
    if n < 2.0 {
        return 0.0;
    }
    let mean = t / n;
    let sst = t2 - n * mean * mean;
    if sst <= 0.0 {
        return 0.0;
    }
    let ssb: f64 = sum
        .iter()
        .zip(&cnt)
        .filter(|(_, &c)| c > 0.0)
        .map(|(&s, &c)| c * (s / c - mean).powi(2))
        .sum();
    (ssb / sst).clamp(0.0, 1.0)
}

/// Cramér's V² of two level codings (rows where either is missing left out).
fn cramers_v2(a: &[u32], la: usize, b: &[u32], lb: usize) -> f64 {
    let mut table = vec![0f64; la * lb];
    let (mut ra, mut rb) = (vec![0f64; la], vec![0f64; lb]);
    let mut n = 0f64;
    for (&x, &y) in a.iter().zip(b) {
        if x == u32::MAX || y == u32::MAX {
            continue;
        }
        table[x as usize * lb + y as usize] += 1.0;
        ra[x as usize] += 1.0;
        rb[y as usize] += 1.0;
        n += 1.0;
    }
    let (ka, kb) = (
        ra.iter().filter(|&&v| v > 0.0).count(),
        rb.iter().filter(|&&v| v > 0.0).count(),
    );
    let m = ka.min(kb);
    if n == 0.0 || m < 2 {
        return 0.0;
    }
    let mut chi2 = 0.0;
    for i in 0..la {
        for j in 0..lb {
            let e = ra[i] * rb[j] / n;
            if e > 0.0 {
                chi2 += (table[i * lb + j] - e).powi(2) / e;
            }
        }
    }
    (chi2 / (n * (m - 1) as f64)).clamp(0.0, 1.0)
}

/// Decides every clustered category column of `schema` (categorical or boolean) by the rule
/// above, marks the ones left out as not clustered with the reason in their note, and
/// returns the decisions (empty when there is nothing to decide). Columns named in `forced`
/// (`--categorical`) are kept; no column is left out when that would leave none clustered.
pub fn decide_category_columns(
    table: &Table,
    schema: &mut Schema,
    forced: &[String],
) -> Vec<ColumnDecision> {
    let features: Vec<usize> = (0..schema.columns.len())
        .filter(|&j| schema.columns[j].clustered)
        .collect();
    let is_cat = |j: usize| matches!(schema.columns[j].kind, Kind::Categorical | Kind::Boolean);
    if features.len() < 2 || !features.iter().any(|&j| is_cat(j)) {
        return Vec::new();
    }
    let n = table.n_rows();
    let step = n.div_ceil(NOISE_SAMPLE).max(1);
    let rows: Vec<usize> = (0..n).step_by(step).collect();
    if rows.len() < MIN_ROWS {
        return Vec::new();
    }
    let values: Vec<Values> = features
        .iter()
        .map(|&j| {
            let kind = schema.columns[j].kind;
            if is_cat(j) {
                levels_of(table, &rows, j, kind)
            } else {
                ranks_of(table, &rows, j, kind)
            }
        })
        .collect();
    // The sample's scattered reads mapped back most of the file (64 KiB around each).
    table.release_all();
    let mut decisions = Vec::new();
    for (a, &j) in features.iter().enumerate() {
        let Values::Levels(codes, levels) = &values[a] else {
            continue;
        };
        let name = schema.columns[j].name.clone();
        let mut best: Option<(usize, f64)> = None;
        for (b, &other) in features.iter().enumerate() {
            if b == a {
                continue;
            }
            let s = match &values[b] {
                Values::Ranks(y) => eta_squared(codes, *levels, y),
                Values::Levels(c2, l2) => cramers_v2(codes, *levels, c2, *l2),
            };
            if best.is_none_or(|(_, v)| s > v) {
                best = Some((other, s));
            }
        }
        let (other, assoc) = best.map_or((None, 0.0), |(o, s)| {
            (Some(schema.columns[o].name.clone()), s)
        });
        let what = |o: &Option<String>| {
            o.as_ref().map_or(String::new(), |o| {
                format!(" (strongest: '{o}', {assoc:.4})")
            })
        };
        let (kept, reason) = if forced.contains(&name) {
            (true, format!("kept: forced by {}", Param::Categorical))
        } else if assoc >= MIN_ASSOCIATION {
            (
                true,
                format!("kept: its levels go with other columns{}", what(&other)),
            )
        } else {
            (
                false,
                format!(
                    "left out: its levels are independent of every other column{}, so it can only split rows at random; {} keeps it",
                    what(&other),
                    Param::Categorical
                ),
            )
        };
        decisions.push(ColumnDecision {
            column: name,
            kept,
            strongest_with: other,
            association: assoc,
            reason,
        });
    }
    let left_out: Vec<&ColumnDecision> = decisions.iter().filter(|d| !d.kept).collect();
    if left_out.len() == features.len() {
        return decisions
            .into_iter()
            .map(|mut d| {
                d.kept = true;
                d.reason = "kept: every clustered column looks independent of the others, so none is left out".into();
                d
            })
            .collect();
    }
    for d in &decisions {
        if let Some(c) = schema.columns.iter_mut().find(|c| c.name == d.column) {
            if !d.kept {
                c.clustered = false;
            }
            c.note = format!("{}; {}", c.note, d.reason);
        }
    }
    decisions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn associations_of_constructed_columns() {
        // Levels that split y in two explain all of its variance; alternating ones none.
        let codes = [0, 0, 1, 1];
        assert!((eta_squared(&codes, 2, &[1.0, 1.0, 5.0, 5.0]) - 1.0).abs() < 1e-12);
        assert_eq!(eta_squared(&codes, 2, &[1.0, 5.0, 1.0, 5.0]), 0.0);
        // Two codings that agree: V² = 1; a coding crossed with it evenly: 0.
        assert!((cramers_v2(&codes, 2, &[1, 1, 0, 0], 2) - 1.0).abs() < 1e-12);
        assert_eq!(cramers_v2(&codes, 2, &[0, 1, 0, 1], 2), 0.0);
        // Missing values are left out of both.
        assert!((eta_squared(&[0, u32::MAX, 1, 1], 2, &[1.0, 9.0, 5.0, 5.0]) - 1.0).abs() < 1e-9);
    }
}
