//! Cleaning: duplicates, unusable values, imputation, outliers, constant columns. Every data
//! row ends either kept or rejected with a reason; nothing is lost silently.

use super::prep::{CategoricalTransform, NumericTransform, MISSING_LEVEL};
pub use super::reject::{ragged_rejects, Origin, Reject, RejectReason, Unusable};
use super::schema::{Kind, Schema};
use crate::error::{Error, Param, Result};
use crate::io::dates::DateStyle;
use crate::io::format::fmt_compact;
use crate::io::hash::FastMap as HashMap;
use crate::io::table::Table;
use crate::io::values::Parsed;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How missing numeric values are handled (`--impute`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impute {
    /// The column's median (robust to outliers; the default).
    Median,
    /// The column's mean.
    Mean,
    /// Reject the row.
    Drop,
}

/// What happens to values outside the outlier fence (`--outliers`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outliers {
    /// Clip them to the fence (the default).
    Clip,
    /// Reject the row.
    Drop,
    /// Leave them.
    Keep,
}

/// How the outlier fence is drawn (`--outlier-method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutlierMethod {
    /// [Q1 − 1.5·IQR, Q3 + 1.5·IQR] (the default).
    Iqr,
    /// mean ± 3 standard deviations.
    Zscore,
}

/// Cleaning parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CleanParams {
    /// Missing numeric values.
    pub impute: Impute,
    /// Outlier handling.
    pub outliers: Outliers,
    /// Outlier fence.
    pub outlier_method: OutlierMethod,
    /// Most levels a categorical column keeps before the rest become `other`.
    pub max_levels: usize,
    /// Levels rarer than this share of rows become `other`.
    pub min_level_share: f64,
}

impl Default for CleanParams {
    fn default() -> Self {
        CleanParams {
            impute: Impute::Median,
            outliers: Outliers::Clip,
            outlier_method: OutlierMethod::Iqr,
            max_levels: 20,
            min_level_share: 0.01,
        }
    }
}

/// A cleaned clustered column.
#[derive(Clone, Debug)]
pub enum CleanColumn {
    /// Numeric, boolean (0/1) or date (days before the latest): one value per kept row, in the
    /// column's units (imputed, clipped), with its transform (log and scale not fitted yet).
    Numeric {
        /// How fields become values.
        t: NumericTransform,
        /// Cleaned values of the kept rows.
        values: Vec<f64>,
        /// (kept row, real value) where cleaning changed the value: clipped outliers with
        /// their value, imputed ones with NaN.
        changed: Vec<(u32, f64)>,
    },
    /// Categorical: level code per kept row (`levels.len()` is `other`).
    Categorical {
        /// Levels kept.
        t: CategoricalTransform,
        /// Code per kept row.
        codes: Vec<u32>,
    },
}

/// The cleaned table: which rows are kept and their clustered columns.
#[derive(Clone, Debug)]
pub struct Cleaned {
    /// Table row indices kept, in file order.
    pub kept: Vec<usize>,
    /// Rejected rows, in row order.
    pub rejects: Vec<Reject>,
    /// Clustered columns.
    pub columns: Vec<CleanColumn>,
    /// What cleaning did, one line each (warnings included), for the summary and the report.
    pub notes: Vec<String>,
    /// Duplicate rows removed.
    pub duplicates: usize,
}

/// Hashes a row's bytes 8 at a time: much faster than SipHash, and keys are compared exactly
/// on collision anyway.
pub(crate) fn row_hash(bytes: &[u8], ends: &[u32]) -> u64 {
    const M: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(M);
    }
    let mut w = [0u8; 8];
    let r = chunks.remainder();
    w[..r.len()].copy_from_slice(r);
    h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(M);
    for &e in ends {
        h = (h.rotate_left(23) ^ e as u64).wrapping_mul(M);
    }
    h ^ (h >> 29)
}

/// For every row, the index of the earlier identical row it duplicates, if any. Rows are
/// grouped by hash with a parallel sort (faster than a hash map at a million rows); rows with
/// equal hashes are compared byte for byte.
fn find_duplicates(table: &Table) -> Vec<Option<u32>> {
    const ROWS: usize = 16 * 1024;
    let mut hashes = vec![0u64; table.n_rows()];
    hashes
        .par_chunks_mut(ROWS)
        .enumerate()
        .for_each(|(k, out)| {
            let r0 = k * ROWS;
            for (r, h) in out.iter_mut().enumerate() {
                *h = row_hash(table.row_bytes(r0 + r), table.row_ends(r0 + r));
            }
            // The parse below reads the file again: hold only the part being read.
            table.release_rows(r0..r0 + out.len());
        });
    duplicates_by_hash(hashes, |rows| {
        // So many that nearly every page holds one: copying them would cost more than it saves.
        let copy = (rows.len() <= table.n_rows() / 8).then(|| GatheredRows::new(table, rows));
        move |a, b| {
            let bytes = |r| {
                copy.as_ref()
                    .map_or_else(|| table.row_bytes(r), |c| c.row(table, r))
            };
            table.row_ends(a) == table.row_ends(b) && bytes(a) == bytes(b)
        }
    })
}

/// The bytes of some rows (ascending), copied in file order with the pages behind released:
/// rows sharing a hash, compared from the map where they lie, would bring most of the file
/// back into memory (at 10M rows, 1% duplicates scattered over it touch nearly every page).
struct GatheredRows {
    rows: Vec<usize>,
    /// Per chunk of [`GatheredRows::CHUNK`] rows: the bytes, and each row's end in them.
    parts: Vec<(Vec<u8>, Vec<usize>)>,
}

impl GatheredRows {
    const CHUNK: usize = 4096;

    fn new(table: &Table, rows: Vec<usize>) -> Self {
        let parts = rows
            .par_chunks(Self::CHUNK)
            .map(|chunk| {
                let mut bytes = Vec::new();
                let mut ends = Vec::with_capacity(chunk.len());
                for &r in chunk {
                    bytes.extend_from_slice(table.row_bytes(r));
                    ends.push(bytes.len());
                }
                if let (Some(&a), Some(&z)) = (chunk.first(), chunk.last()) {
                    table.release_rows(a..z + 1);
                }
                (bytes, ends)
            })
            .collect();
        GatheredRows { rows, parts }
    }

    /// Row `r`'s bytes, from the copy when it was gathered.
    fn row<'a>(&'a self, table: &'a Table, r: usize) -> &'a [u8] {
        let Ok(at) = self.rows.binary_search(&r) else {
            return table.row_bytes(r);
        };
        let (bytes, ends) = &self.parts[at / Self::CHUNK];
        let k = at % Self::CHUNK;
        let start = if k == 0 { 0 } else { ends[k - 1] };
        &bytes[start..ends[k]]
    }
}

/// [`find_duplicates`] from every row's [`row_hash`]. `comparer` gets the rows that share a
/// hash with another (ascending) and returns `same(a, b)`, telling whether two of them are
/// identical: the in-memory table compares copies of their bytes, the pass-wise run reads
/// both rows back.
pub(crate) fn duplicates_by_hash<S: Fn(usize, usize) -> bool>(
    hashes: Vec<u64>,
    comparer: impl FnOnce(Vec<usize>) -> S,
) -> Vec<Option<u32>> {
    let n = hashes.len();
    // One u64 per row, the hash's high bits above the row index: 8-byte keys sort much faster
    // than (hash, index) pairs, equal hashes still come out in row order, and the rare rows
    // whose shortened hashes collide are told apart by the byte comparison below.
    let bits = usize::BITS - n.leading_zeros();
    let mask = 1u64.checked_shl(bits).map_or(u64::MAX, |m| m - 1);
    let mut keys = hashes;
    keys.par_iter_mut()
        .enumerate()
        .for_each(|(i, h)| *h = (*h & !mask) | i as u64);
    let sorted = sort_keys(&keys);
    // The unsorted keys go before the verdicts are allocated: 16 bytes a row at most.
    drop(keys);
    let keys = sorted;
    // Runs of keys sharing a hash, and the rows in them.
    let mut runs = Vec::new();
    let mut s = 0;
    while s < keys.len() {
        let mut e = s + 1;
        while e < keys.len() && keys[e] & !mask == keys[s] & !mask {
            e += 1;
        }
        if e - s > 1 {
            runs.push((s, e));
        }
        s = e;
    }
    let mut candidates: Vec<usize> = runs
        .iter()
        .flat_map(|&(s, e)| keys[s..e].iter().map(|&k| (k & mask) as usize))
        .collect();
    candidates.sort_unstable();
    let same = comparer(candidates);
    let mut dup = vec![None; n];
    for (s, e) in runs {
        // Within a run, indices ascend: each row is matched to the first equal row before it.
        for a in s + 1..e {
            let i = (keys[a] & mask) as usize;
            if let Some(f) = keys[s..a]
                .iter()
                .map(|&k| (k & mask) as usize)
                .find(|&f| dup[f].is_none() && same(f, i))
            {
                dup[i] = Some(f as u32);
            }
        }
    }
    dup
}

/// `keys` sorted: one pass scatters them into buckets by their top bits (hash bits, evenly
/// spread), then the buckets, a few hundred keys each at a million rows, are sorted in cache
/// and in parallel; about twice as fast as a parallel sort of the whole slice.
fn sort_keys(keys: &[u64]) -> Vec<u64> {
    const BUCKET_BITS: u32 = 12;
    let bucket = |k: u64| (k >> (64 - BUCKET_BITS)) as usize;
    let mut start = vec![0usize; (1 << BUCKET_BITS) + 1];
    for &k in keys {
        start[bucket(k) + 1] += 1;
    }
    for b in 1..start.len() {
        start[b] += start[b - 1];
    }
    let mut out = vec![0u64; keys.len()];
    let mut next = start.clone();
    for &k in keys {
        let b = bucket(k);
        out[next[b]] = k;
        next[b] += 1;
    }
    let mut parts = Vec::with_capacity(1 << BUCKET_BITS);
    let mut rest = out.as_mut_slice();
    for w in start.windows(2) {
        let (part, tail) = rest.split_at_mut(w[1] - w[0]);
        parts.push(part);
        rest = tail;
    }
    parts.into_par_iter().for_each(|p| p.sort_unstable());
    out
}

/// Which rows are rejected so far, and why: a flag per row and a reason per rejected row
/// (few), instead of an `Option<String>` per row (24 bytes each).
struct Verdicts {
    rejected: Vec<bool>,
    reasons: HashMap<usize, RejectReason>,
}

impl Verdicts {
    fn new(n: usize) -> Self {
        Verdicts {
            rejected: vec![false; n],
            reasons: HashMap::default(),
        }
    }

    fn kept(&self, i: usize) -> bool {
        !self.rejected[i]
    }

    /// Rejects row `i` unless it already is (the first reason stands).
    fn reject(&mut self, i: usize, reason: RejectReason) {
        if !self.rejected[i] {
            self.rejected[i] = true;
            self.reasons.insert(i, reason);
        }
    }
}

/// Marks in a parsed value: missing is NaN, unusable values are ±infinity (never produced by a
/// finite parse), so one `Vec<f64>` per column carries everything.
const INVALID: f64 = f64::INFINITY;
const INFINITE: f64 = f64::NEG_INFINITY;

pub(crate) fn encode_parsed(p: Parsed) -> f64 {
    match p {
        Parsed::Value(v) => v,
        Parsed::Missing => f64::NAN,
        Parsed::Infinite => INFINITE,
        Parsed::Invalid => INVALID,
    }
}

pub(crate) fn decode_parsed(v: f64) -> Parsed {
    if v.is_nan() {
        Parsed::Missing
    } else if v == INVALID {
        Parsed::Invalid
    } else if v == INFINITE {
        Parsed::Infinite
    } else {
        Parsed::Value(v)
    }
}

/// Skewness above which a non-negative column's fence is drawn on log1p of its values: a
/// spend or count distribution is then near log-normal, and Tukey's fence on the raw values
/// would clip a long tail of real customers.
pub const FENCE_LOG_SKEW: f64 = 1.0;

/// Tukey's fence (1.5 × IQR beyond the quartiles), made safe for the columns real exports
/// have, so that clipping never erases the structure it is meant to protect:
/// - a skewed non-negative column (skewness above [`FENCE_LOG_SKEW`]) is fenced on log1p of
///   its values, and the fence mapped back;
/// - a column with a spike (most rows at one value, such as 0 purchases: the quartiles are
///   equal and the fence would be that value alone) is fenced on the values off the spike,
///   widened to include the spike;
/// - a fence that would leave fewer than two distinct values is widened to the column's range.
///
/// `v` are the present values (reordered); `q1`, `q3` their quartiles.
fn iqr_fence(v: &mut [f64], q1: f64, q3: f64) -> [f64; 2] {
    let (min, max) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let (m2, m3) = v.iter().fold((0.0, 0.0), |(a, b), x| {
        let d = x - mean;
        (a + d * d, b + d * d * d)
    });
    let skew = if m2 > 0.0 {
        (m3 / n) / (m2 / n).powf(1.5)
    } else {
        0.0
    };
    let log = min >= 0.0 && skew > FENCE_LOG_SKEW;
    type Map = fn(f64) -> f64;
    let (f, back): (Map, Map) = if log {
        (f64::ln_1p, f64::exp_m1)
    } else {
        (|x| x, |x| x)
    };
    let tukey = |a: f64, b: f64| [a - 1.5 * (b - a), b + 1.5 * (b - a)];
    let (mut lo, mut hi) = if q3 > q1 {
        let (a, b) = if log {
            // `v` is not read again: its log1p values take its place (no copy of a column).
            v.iter_mut().for_each(|x| *x = f(*x));
            let q = quantiles(v, &[0.25, 0.75]);
            (q[0], q[1])
        } else {
            (q1, q3)
        };
        let [lo, hi] = tukey(a, b);
        (back(lo), back(hi))
    } else {
        // A spike at q1: fence what lies off it.
        let mut off: Vec<f64> = v.iter().copied().filter(|&x| x != q1).map(f).collect();
        if off.is_empty() {
            return [min, max];
        }
        let q = quantiles(&mut off, &[0.25, 0.75]);
        let [lo, hi] = if q[1] > q[0] {
            tukey(q[0], q[1])
        } else {
            [q[0], q[1]]
        };
        (back(lo).min(q1), back(hi).max(q1))
    };
    lo = lo.max(min);
    hi = hi.min(max);
    // Clipped values lie in [lo, hi]: two distinct values remain unless the fence is a point.
    if hi <= lo {
        return [min, max];
    }
    [lo, hi]
}

/// Linear-interpolated quantiles of `v` (as numpy's default), `qs` ascending; reorders `v`.
pub fn quantiles(v: &mut [f64], qs: &[f64]) -> Vec<f64> {
    let n = v.len();
    if n == 0 {
        return vec![f64::NAN; qs.len()];
    }
    let mut out = Vec::with_capacity(qs.len());
    let mut lo_bound = 0;
    for &q in qs {
        let pos = q * (n - 1) as f64;
        let i = pos.floor() as usize;
        let frac = pos - i as f64;
        // Each later quantile lies at or above the previous index: select in the upper part.
        let (_, a, _) = v[lo_bound..].select_nth_unstable_by(i - lo_bound, f64::total_cmp);
        let a = *a;
        let b = if frac > 0.0 && i + 1 < n {
            v[i + 1..].iter().copied().fold(f64::INFINITY, f64::min)
        } else {
            a
        };
        lo_bound = i;
        out.push(a + frac * (b - a));
    }
    out
}

/// Impute value and fence of a numeric-like column from its `present` values (finite, parsed,
/// dates as days since 1970) among the `kept` rows still kept, with the notes it makes.
pub(crate) fn numeric_stats(
    mut present: Vec<f64>,
    kept: usize,
    kind: Kind,
    name: &str,
    dates: &DateStyle,
    params: &CleanParams,
) -> (Option<NumericTransform>, Vec<String>) {
    let mut notes = Vec::new();
    if present.is_empty() {
        notes.push(format!(
            "warning: column '{name}' has no value in any kept row: not clustered"
        ));
        return (None, notes);
    }
    let missing = kept - present.len();
    // Dates become days before the latest date before any statistic is taken.
    let reference = if kind == Kind::Date {
        let latest = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        present.iter_mut().for_each(|v| *v = latest - *v);
        latest
    } else {
        0.0
    };
    let mean = present.iter().sum::<f64>() / present.len() as f64;
    let sd =
        (present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / present.len() as f64).sqrt();
    let q = quantiles(&mut present, &[0.25, 0.5, 0.75]);
    let (q1, median, q3) = (q[0], q[1], q[2]);
    let impute = match (kind, params.impute) {
        (Kind::Boolean, _) | (_, Impute::Median) => Some(median),
        (_, Impute::Mean) => Some(mean),
        (_, Impute::Drop) => None,
    };
    let fence = match params.outlier_method {
        OutlierMethod::Iqr => iqr_fence(&mut present, q1, q3),
        OutlierMethod::Zscore => [mean - 3.0 * sd, mean + 3.0 * sd],
    };
    let clip = (kind == Kind::Numeric && params.outliers != Outliers::Keep).then_some(fence);
    if missing > 0 {
        if let Some(v) = impute {
            notes.push(format!(
                "column '{name}': {missing} missing values imputed with the {} {}",
                if kind == Kind::Boolean || params.impute == Impute::Median {
                    "median"
                } else {
                    "mean"
                },
                fmt_compact(v)
            ));
        }
    }
    let t = NumericTransform {
        column: name.to_string(),
        kind,
        impute,
        clip,
        reference: (kind == Kind::Date).then_some(reference),
        log: false,
        center: 0.0,
        scale: 1.0,
        dates: dates.clone(),
    };
    (Some(t), notes)
}

/// The note on `count` values of `column` outside `fence`, of `kept` rows.
pub(crate) fn outlier_note(
    column: &str,
    count: usize,
    kept: usize,
    fence: [f64; 2],
    params: &CleanParams,
) -> String {
    let [lo, hi] = fence;
    let what = match params.outliers {
        Outliers::Drop => "rows rejected",
        _ => "values clipped for clustering only (profiles use the real values)",
    };
    let share = count as f64 / kept.max(1) as f64;
    // More than 1% is no longer a few gross errors: say how to keep them.
    let many = if share > 0.01 {
        format!(
            "; that is {:.1}% of the column: pass {} to leave them as they are",
            100.0 * share,
            Param::Outliers.set("keep")
        )
    } else {
        String::new()
    };
    format!(
        "column '{}': {count} outliers outside [{}, {}] ({} fence): {what}{many}",
        column,
        fmt_compact(lo),
        fmt_compact(hi),
        match params.outlier_method {
            OutlierMethod::Iqr => "IQR 1.5",
            OutlierMethod::Zscore => "z-score 3",
        }
    )
}

/// Cleans `table` by `schema`: removes duplicates, rejects unusable rows, imputes, handles
/// outliers and drops constant columns. Fails only when nothing usable is left.
pub fn clean(table: &Table, schema: &Schema, params: &CleanParams) -> Result<Cleaned> {
    let n = table.n_rows();
    let mut notes = Vec::new();
    let mut rejects = ragged_rejects(table);
    if !table.ragged.is_empty() {
        notes.push(format!(
            "{} rows with the wrong number of fields rejected",
            table.ragged.len()
        ));
    }
    let dup = find_duplicates(table);
    let mut bad = Verdicts::new(n);
    for (i, d) in dup.iter().enumerate() {
        if let Some(f) = d {
            bad.reject(
                i,
                RejectReason::Duplicate {
                    of_row: table.row_number(*f as usize),
                },
            );
        }
    }
    drop(dup);
    let duplicates = bad.reasons.len();
    if duplicates > 0 {
        notes.push(format!("{duplicates} exact duplicate rows removed"));
    }

    // Parse every clustered numeric-like column once.
    let feature_cols: Vec<(usize, Kind)> = schema
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.clustered)
        .map(|(j, c)| (j, c.kind))
        .collect();
    let styles: Vec<DateStyle> = feature_cols
        .iter()
        .map(|&(j, _)| {
            if table.dates.is_default() {
                schema.columns[j].dates.clone()
            } else {
                table.dates.clone()
            }
        })
        .collect();
    // Rows in chunks over the cores, every column of a chunk together (its bytes are close).
    let parsers: Vec<Option<NumericTransform>> = feature_cols
        .iter()
        .zip(&styles)
        .map(|(&(_, kind), dates)| {
            (kind != Kind::Categorical).then(|| NumericTransform {
                column: String::new(),
                kind,
                impute: None,
                clip: None,
                reference: Some(0.0),
                log: false,
                center: 0.0,
                scale: 1.0,
                dates: dates.clone(),
            })
        })
        .collect();
    let mut parsed: Vec<Option<Vec<f64>>> = parsers
        .iter()
        .map(|p| p.as_ref().map(|_| vec![0f64; n]))
        .collect();
    const PARSE_ROWS: usize = 16 * 1024;
    let mut slices: Vec<Vec<(usize, &mut [f64])>> =
        (0..n.div_ceil(PARSE_ROWS)).map(|_| Vec::new()).collect();
    for (c, col) in parsed.iter_mut().enumerate() {
        if let Some(v) = col {
            for (k, chunk) in v.chunks_mut(PARSE_ROWS).enumerate() {
                slices[k].push((c, chunk));
            }
        }
    }
    slices.into_par_iter().enumerate().for_each(|(k, cols)| {
        let r0 = k * PARSE_ROWS;
        for (c, out) in cols {
            let (j, kind) = feature_cols[c];
            let Some(t) = &parsers[c] else { continue };
            for (r, o) in out.iter_mut().enumerate() {
                *o = match t.parse(table.field(r0 + r, j), table.decimal, &DateStyle::default()) {
                    // Dates parse as "0 − days"; flip to days since 1970.
                    Parsed::Value(v) if kind == Kind::Date => -v,
                    p => encode_parsed(p),
                };
            }
        }
        table.release_rows(r0..(r0 + PARSE_ROWS).min(n));
    });

    // Reject rows with an unusable value (first offending column named): the columns are
    // scanned in parallel, their few unusable rows applied in column order.
    let unusable: Vec<Vec<(usize, Unusable)>> = parsed
        .par_iter()
        .map(|vals| {
            let Some(vals) = vals else { return Vec::new() };
            vals.iter()
                .enumerate()
                .filter_map(|(i, &v)| match decode_parsed(v) {
                    Parsed::Invalid => Some((i, Unusable::Invalid)),
                    Parsed::Infinite => Some((i, Unusable::Infinite)),
                    Parsed::Missing if params.impute == Impute::Drop => {
                        Some((i, Unusable::Missing))
                    }
                    _ => None,
                })
                .collect()
        })
        .collect();
    for (c, &(j, kind)) in feature_cols.iter().enumerate() {
        let mut count = 0;
        for &(i, why) in &unusable[c] {
            if bad.kept(i) {
                bad.reject(
                    i,
                    RejectReason::unusable(&table.columns[j], table.field(i, j), why, kind),
                );
                count += 1;
            }
        }
        if count > 0 {
            notes.push(format!(
                "column '{}': {count} rows rejected for unusable values",
                table.columns[j]
            ));
        }
    }

    // Fences and impute values from the rows still kept.
    let kept0: Vec<usize> = (0..n).filter(|&i| bad.kept(i)).collect();
    let mut columns: Vec<CleanColumn> = Vec::new();
    // Statistics per column, the columns spread over the cores.
    let stats: Vec<(Option<NumericTransform>, Vec<String>)> = feature_cols
        .par_iter()
        .enumerate()
        .map(|(c, &(j, kind))| {
            let Some(vals) = &parsed[c] else {
                return (None, Vec::new());
            };
            let present: Vec<f64> = kept0
                .iter()
                .map(|&i| vals[i])
                .filter(|v| v.is_finite())
                .collect();
            numeric_stats(
                present,
                kept0.len(),
                kind,
                &table.columns[j],
                &styles[c],
                params,
            )
        })
        .collect();
    let mut fits: Vec<Option<NumericTransform>> = Vec::with_capacity(stats.len());
    for (t, n) in stats {
        fits.push(t);
        notes.extend(n);
    }

    // Outliers: counted per column in parallel; rows rejected in column order when asked to.
    let rejected_before = bad.reasons.len();
    let outside: Vec<Vec<(usize, f64)>> = parsed
        .par_iter()
        .zip(&fits)
        .map(|(vals, t)| {
            let (Some(vals), Some([lo, hi])) = (vals, t.as_ref().and_then(|t| t.clip)) else {
                return Vec::new();
            };
            // Only numeric columns have a fence, so values are in their own units here.
            kept0
                .iter()
                .map(|&i| (i, vals[i]))
                .filter(|&(_, v)| v.is_finite() && (v < lo || v > hi))
                .collect()
        })
        .collect();
    for (c, &(j, _)) in feature_cols.iter().enumerate() {
        let Some([lo, hi]) = fits[c].as_ref().and_then(|t| t.clip) else {
            continue;
        };
        let count = outside[c].len();
        for &(i, v) in &outside[c] {
            if params.outliers == Outliers::Drop && bad.kept(i) {
                bad.reject(
                    i,
                    RejectReason::Outlier {
                        column: table.columns[j].clone(),
                        value: v,
                        fence: [lo, hi],
                    },
                );
            }
        }
        if count > 0 {
            notes.push(outlier_note(
                &table.columns[j],
                count,
                kept0.len(),
                [lo, hi],
                params,
            ));
        }
    }

    let kept: Vec<usize> = if bad.reasons.len() == rejected_before {
        kept0
    } else {
        (0..n).filter(|&i| bad.kept(i)).collect()
    };
    if kept.len() < 2 {
        let rejected = bad.reasons.len() + table.ragged.len();
        let first = (0..n)
            .filter_map(|i| bad.reasons.get(&i))
            .find(|b| !matches!(b, RejectReason::Duplicate { .. }))
            .map(|b| format!("; first reason: {b}"))
            .unwrap_or_default();
        return Err(Error::Data(format!(
            "{}: only {} row{} left after cleaning ({duplicates} exact duplicates, {} other rows rejected{first}); segmenting needs at least 2 distinct rows",
            table.path.display(),
            kept.len(),
            if kept.len() == 1 { "" } else { "s" },
            rejected - duplicates,
        )));
    }
    // The clustered columns, one task each. A numeric column's values are cleaned in place in
    // its parsed buffer (kept rows ascend, so row `kept[r] >= r` is read before slot `r` is
    // written): no second buffer per column.
    let built: Vec<Option<CleanColumn>> = feature_cols
        .par_iter()
        .zip(parsed.par_iter_mut().zip(fits.par_iter_mut()))
        .map(|(&(j, kind), (vals, t))| {
            if kind == Kind::Categorical {
                return Some(categorical_column(table, j, &kept, params));
            }
            let (mut vals, t) = (vals.take()?, t.take()?);
            let reference = t.reference.unwrap_or(0.0);
            // The real value wherever cleaning changed one (NaN: it was missing), so what a
            // user reads is computed on their data, not on imputed or clipped values.
            let mut changed: Vec<(u32, f64)> = Vec::new();
            for (r, &i) in kept.iter().enumerate() {
                let (real, p) = match decode_parsed(vals[i]) {
                    Parsed::Value(v) if kind == Kind::Date => {
                        (reference - v, Parsed::Value(reference - v))
                    }
                    Parsed::Value(v) => (v, Parsed::Value(v)),
                    p => (f64::NAN, p),
                };
                // Unusable rows were rejected above; 0 is never reached.
                let clean = t.clean(p).unwrap_or(0.0);
                if real.to_bits() != clean.to_bits() {
                    changed.push((r as u32, real));
                }
                vals[r] = clean;
            }
            vals.truncate(kept.len());
            Some(CleanColumn::Numeric {
                t,
                values: vals,
                changed,
            })
        })
        .collect();
    for (&(j, _), col) in feature_cols.iter().zip(built) {
        let Some(col) = col else { continue };
        if is_constant(&col) {
            notes.push(format!(
                "warning: column '{}' has the same value in every kept row: not clustered",
                table.columns[j]
            ));
            continue;
        }
        columns.push(col);
    }
    if columns.is_empty() {
        let names: Vec<String> = schema
            .columns
            .iter()
            .map(|c| format!("'{}' {}", c.name, c.kind.name()))
            .collect();
        return Err(Error::Data(format!(
            "{}: no column left to cluster on (columns: {}); mark one with {} or {}",
            table.path.display(),
            names.join(", "),
            Param::Numeric,
            Param::Categorical
        )));
    }
    let mut reasons: Vec<(usize, RejectReason)> = bad.reasons.into_iter().collect();
    reasons.sort_unstable_by_key(|r| r.0);
    for (i, reason) in reasons {
        {
            rejects.push(Reject {
                origin: Origin::Row(i),
                row: table.row_number(i),
                reason,
            });
        }
    }
    rejects.sort_by_key(|r| r.row);
    Ok(Cleaned {
        kept,
        rejects,
        columns,
        notes,
        duplicates,
    })
}

fn is_constant(col: &CleanColumn) -> bool {
    match col {
        CleanColumn::Numeric { values, .. } => values.iter().all(|&v| v == values[0]),
        CleanColumn::Categorical { codes, .. } => codes.iter().all(|&v| v == codes[0]),
    }
}

/// Sorts `levels` (level, count among `kept` rows) most frequent first and returns how many
/// of them are kept as levels; the rest become `other`.
pub(crate) fn choose_levels(
    levels: &mut [(&[u8], u64)],
    kept: usize,
    params: &CleanParams,
) -> usize {
    levels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let min_count = (params.min_level_share * kept as f64).ceil() as u64;
    levels
        .iter()
        .take(params.max_levels)
        .take_while(|l| l.1 >= min_count.max(1))
        .count()
        .max(1)
}

fn categorical_column(
    table: &Table,
    j: usize,
    kept: &[usize],
    params: &CleanParams,
) -> CleanColumn {
    let mut counts: HashMap<&[u8], u64> = HashMap::default();
    for &i in kept {
        *counts
            .entry(CategoricalTransform::level_of(table.field(i, j)))
            .or_default() += 1;
    }
    let mut levels: Vec<(&[u8], u64)> = counts.into_iter().collect();
    let keep = choose_levels(&mut levels, kept.len(), params);
    let other = keep < levels.len();
    let names: Vec<String> = levels[..keep]
        .iter()
        .map(|l| String::from_utf8_lossy(l.0).into_owned())
        .collect();
    let index: HashMap<&[u8], u32> = levels[..keep]
        .iter()
        .enumerate()
        .map(|(k, l)| (l.0, k as u32))
        .collect();
    let codes = kept
        .iter()
        .map(|&i| {
            let l = CategoricalTransform::level_of(table.field(i, j));
            index.get(l).copied().unwrap_or(keep as u32)
        })
        .collect();
    let _ = MISSING_LEVEL;
    CleanColumn::Categorical {
        t: CategoricalTransform {
            column: table.columns[j].clone(),
            levels: names,
            other,
        },
        codes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucketed_sort_matches_a_plain_sort() {
        // Spread keys, keys all in one bucket, and none.
        let spread: Vec<u64> = (0..50_000u64)
            .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i >> 3))
            .collect();
        let one_bucket: Vec<u64> = (0..5_000u64).rev().collect();
        for keys in [spread, one_bucket, Vec::new()] {
            let mut want = keys.clone();
            want.sort_unstable();
            assert_eq!(sort_keys(&keys), want);
        }
    }

    #[test]
    fn quantiles_match_numpy() {
        let mut v = vec![7.0, 1.0, 3.0, 5.0, 9.0, 2.0];
        // numpy.quantile([1,2,3,5,7,9], [.25,.5,.75]) = [2.25, 4.0, 6.5]
        assert_eq!(quantiles(&mut v, &[0.25, 0.5, 0.75]), vec![2.25, 4.0, 6.5]);
        let mut one = vec![4.0];
        assert_eq!(quantiles(&mut one, &[0.25, 0.75]), vec![4.0, 4.0]);
    }

    #[test]
    fn duplicates_are_the_same_compared_from_copies_or_in_place() {
        let dir = std::env::temp_dir().join(format!("seg-dups-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Every 50th row repeats an earlier one (copies: few candidates), then every 3rd
        // (in place: more than an eighth of the rows share a hash); "a,b" and "ab," differ
        // only in where the field ends.
        for every in [50, 3] {
            let mut text = String::from("id,x\n");
            let mut rows: Vec<String> = Vec::new();
            for i in 0..3000usize {
                let r = if i % every == every - 1 {
                    rows[i * 7 % i].clone()
                } else if i == 1000 {
                    "ab,".to_string()
                } else if i == 1001 {
                    "a,b".to_string()
                } else {
                    format!("r{i},{}", i % 13)
                };
                text.push_str(&r);
                text.push('\n');
                rows.push(r);
            }
            let path = dir.join("d.csv");
            std::fs::write(&path, &text).unwrap();
            let t = crate::io::read_table(&path).unwrap();
            let mut first = std::collections::HashMap::new();
            let want: Vec<Option<u32>> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let f = *first.entry(r.clone()).or_insert(i);
                    (f != i).then_some(f as u32)
                })
                .collect();
            assert!(want.iter().filter(|d| d.is_some()).count() >= 3000 / every - 1);
            assert_eq!(find_duplicates(&t), want, "a repeat every {every} rows");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn row_hash_sees_field_boundaries() {
        assert_ne!(row_hash(b"abc", &[1, 3]), row_hash(b"abc", &[2, 3]));
    }
}
