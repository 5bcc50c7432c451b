//! Schema inference: what each column holds, and whether it is clustered on.

use crate::error::{Error, Param, Result};
use crate::io::dates::{slash_parts, DateStyle};
use crate::io::hash::FastSet as HashSet;
use crate::io::table::{is_missing, Table};
use crate::io::values::{parse_bool, parse_number_in, Decimal, Parsed};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Rows looked at to infer the schema (evenly spaced through the file).
pub const SCHEMA_SAMPLE: usize = 20_000;
/// A string column with at most this many distinct values (and few per row) is categorical.
pub const MAX_CATEGORICAL_DISTINCT: usize = 50;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Numbers.
    Numeric,
    /// A few distinct strings.
    Categorical,
    /// Two values such as true/false, yes/no, 0/1.
    Boolean,
    /// Dates or date-times (ISO order).
    Date,
    /// Nearly unique values without spaces: ids, emails.
    Identifier,
    /// Nearly unique values with spaces: names, addresses, comments.
    Text,
    /// No value in any row.
    Empty,
}

impl Kind {
    /// Name as printed in the schema table.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Numeric => "numeric",
            Kind::Categorical => "categorical",
            Kind::Boolean => "boolean",
            Kind::Date => "date",
            Kind::Identifier => "identifier",
            Kind::Text => "text",
            Kind::Empty => "empty",
        }
    }

    /// Whether columns of this kind can be clustered on.
    pub fn is_feature(self) -> bool {
        matches!(
            self,
            Kind::Numeric | Kind::Categorical | Kind::Boolean | Kind::Date
        )
    }
}

/// One column of the inferred schema.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// Header name.
    pub name: String,
    /// Inferred (or forced) kind.
    pub kind: Kind,
    /// Whether it is clustered on (cleaning may still drop it, e.g. when constant).
    pub clustered: bool,
    /// Why it has this kind or role ("inferred", "--id", "all values missing"…).
    pub note: String,
    /// Missing values (all rows).
    pub missing: usize,
    /// Distinct non-missing values in the sample (estimated for all rows when nearly unique).
    pub distinct: usize,
    /// Whether `distinct` is an estimate from the sample rather than a count of every row.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub distinct_approx: bool,
    /// Dates: how this column writes them (day first when a first part is above 12).
    #[serde(default, skip_serializing_if = "DateStyle::is_default")]
    pub dates: DateStyle,
    /// A non-missing example value (truncated).
    pub example: String,
}

/// The schema of a table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Schema {
    /// One entry per input column, in file order.
    pub columns: Vec<ColumnSchema>,
    /// Rows the inference looked at.
    pub sample_rows: usize,
    /// Well-formed data rows of the table.
    pub rows: usize,
}

/// Column overrides from the command line.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--id`: identifiers (kept in the output, not clustered).
    pub id: Vec<String>,
    /// `--drop`: not clustered (still copied to the output).
    pub drop: Vec<String>,
    /// `--categorical`: forced categorical.
    pub categorical: Vec<String>,
    /// `--numeric`: forced numeric (non-numbers rejected row by row).
    pub numeric: Vec<String>,
}

/// Names that say "identifier": `customer_id`, `CustomerID`, `CustomerNo`, `member_number`,
/// `Kundennummer`, `cid`, `account_key`.
fn looks_like_id_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let camel_suffix = ["ID", "Id", "No", "Nr", "Num", "Number", "Code", "Key"]
        .iter()
        .any(|s| {
            name.len() > s.len()
                && name.ends_with(s)
                && name[..name.len() - s.len()].ends_with(|c: char| c.is_ascii_lowercase())
        });
    camel_suffix
        || name.ends_with("ID")
        || lower.ends_with("nummer")
        || lower.ends_with("nr")
        || lower.split(|c: char| !c.is_ascii_alphanumeric()).any(|t| {
            matches!(
                t,
                "id" | "uuid"
                    | "guid"
                    | "cid"
                    | "uid"
                    | "no"
                    | "nr"
                    | "num"
                    | "number"
                    | "code"
                    | "key"
            )
        })
}

/// Names that say "date": `signup_date`, `LastPurchase`, `created_at`, `dob`, `Datum`.
fn looks_like_date_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "date", "time", "day", "datum", "_at", "dob", "since", "created", "joined", "signup",
    ]
    .iter()
    .any(|t| lower.contains(t))
        || lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|t| t == "dt")
}

/// What inference found for one column.
struct Inferred {
    kind: Kind,
    distinct: usize,
    example: String,
    /// Why, when the reason is not just the values' type.
    why: Option<String>,
    dates: DateStyle,
}

/// Infers one column's kind from its sampled values; `rows` is the table's row count,
/// `style` how the caller said dates are written.
fn infer_kind(
    name: &str,
    values: &[&[u8]],
    rows: usize,
    decimal: Decimal,
    style: &DateStyle,
) -> Inferred {
    let present: Vec<&[u8]> = values
        .iter()
        .map(|v| v.trim_ascii())
        .filter(|v| !is_missing(v))
        .collect();
    let example: String = present
        .first()
        .map(|v| String::from_utf8_lossy(v).chars().take(30).collect())
        .unwrap_or_default();
    let v = present.len();
    let distinct: HashSet<&[u8]> = present.iter().copied().collect();
    let nd = distinct.len();
    let out = |kind, why: Option<String>| Inferred {
        kind,
        distinct: nd,
        example: example.clone(),
        why,
        dates: DateStyle::default(),
    };
    if v == 0 {
        return out(Kind::Empty, None);
    }
    // Spellings of a boolean are few (yes, Yes, YES…): only then compare case-insensitively.
    if nd <= 16 && present.iter().all(|p| parse_bool(p).is_some()) {
        let lower: HashSet<Vec<u8>> = distinct.iter().map(|d| d.to_ascii_lowercase()).collect();
        if lower.len() <= 2 {
            return out(Kind::Boolean, None);
        }
    }
    // Dates first where a format is given: `%Y%m%d` values are numbers too.
    if style.format.is_some() {
        let dates = present.iter().filter(|p| style.days(p).is_some()).count();
        if dates * 10 >= v * 9 {
            return Inferred {
                dates: style.clone(),
                ..out(Kind::Date, Some("dates in the given format".into()))
            };
        }
    }
    let numbers: Vec<f64> = present
        .iter()
        .filter_map(|p| match parse_number_in(p, decimal) {
            Parsed::Value(x) => Some(x),
            Parsed::Infinite => Some(f64::INFINITY),
            _ => None,
        })
        .collect();
    // A few stray words in a numeric column are rejected row by row; a column that is mostly
    // words is not numeric.
    if numbers.len() * 2 > v {
        let integral = numbers.iter().all(|x| x.fract() == 0.0);
        let unique = nd * 100 >= v * 95;
        if integral {
            // YYYYMMDD: every value a valid date of 1900–2100, in a column named like a date
            // or with enough values that chance cannot explain it.
            let ymd = present.iter().all(|p| {
                p.len() == 8
                    && p.iter().all(u8::is_ascii_digit)
                    && (b"19".as_slice() == &p[..2]
                        || b"20".as_slice() == &p[..2]
                        || p.starts_with(b"2100"))
                    && style.days(p).is_some()
            });
            if ymd && (looks_like_date_name(name) || v >= 20) {
                return out(Kind::Date, Some("YYYYMMDD dates".into()));
            }
            let padded = present
                .iter()
                .filter(|p| p.len() > 1 && p[0] == b'0' && p.iter().all(u8::is_ascii_digit))
                .count();
            // Codes, not a zero-padded small number such as a month (`01`..`12`).
            if padded * 10 >= v && nd * 2 >= v {
                return out(
                    Kind::Identifier,
                    Some(format!(
                        "zero-padded codes (e.g. {})",
                        String::from_utf8_lossy(
                            present[present
                                .iter()
                                .position(|p| p.len() > 1 && p[0] == b'0')
                                .unwrap_or(0)]
                        )
                    )),
                );
            }
            if unique && looks_like_id_name(name) {
                return out(
                    Kind::Identifier,
                    Some("unique integers, named like an id".into()),
                );
            }
            let (lo, hi) = numbers
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                });
            if unique && v >= 20 && hi - lo + 1.0 <= 1.05 * rows.max(v) as f64 {
                return out(
                    Kind::Identifier,
                    Some(format!("unique integers forming a sequence ({lo}..{hi})")),
                );
            }
        }
        return out(Kind::Numeric, None);
    }
    if style.format.is_none() {
        // Slash dates: day first when the caller says so or when a first part is above 12
        // and no second part is.
        let (mut first_big, mut second_big) = (false, false);
        for p in &present {
            if let Some((a, b)) = slash_parts(p) {
                first_big |= a > 12;
                second_big |= b > 12;
            }
        }
        let dayfirst = style.dayfirst || (first_big && !second_big);
        let this = DateStyle {
            dayfirst,
            format: None,
        };
        let dates = present.iter().filter(|p| this.days(p).is_some()).count();
        if dates * 10 >= v * 9 {
            let why = (dayfirst && !style.dayfirst)
                .then(|| "D/M/YYYY dates (a first part above 12)".to_string());
            return Inferred {
                dates: this,
                ..out(Kind::Date, why)
            };
        }
    }
    if (nd <= MAX_CATEGORICAL_DISTINCT && nd * 2 <= v) || nd * 20 <= v {
        return out(Kind::Categorical, None);
    }
    let spaced = present
        .iter()
        .filter(|p| p.iter().any(|b| b.is_ascii_whitespace()))
        .count();
    if spaced * 2 >= v {
        out(
            Kind::Text,
            Some("free text: nearly unique values with spaces".into()),
        )
    } else {
        out(
            Kind::Identifier,
            Some(format!(
                "{nd} distinct of {v} sampled values, without spaces (an id, code or email)"
            )),
        )
    }
}

/// Infers the schema of `table` from an evenly spaced sample of rows, then applies `ov`.
pub fn infer_schema(table: &Table, ov: &Overrides) -> Result<Schema> {
    for name in ov
        .id
        .iter()
        .chain(&ov.drop)
        .chain(&ov.categorical)
        .chain(&ov.numeric)
    {
        if table.column_index(name).is_none() {
            return Err(Error::Data(format!(
                "{}: no column named '{name}'; the columns are: {}",
                table.path.display(),
                table
                    .columns
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    let n = table.n_rows();
    let step = n.div_ceil(SCHEMA_SAMPLE).max(1);
    // The sample: rows 0, step, 2·step, …
    let sample_rows = n.div_ceil(step);
    // Missing values are counted over every row, all columns of a row together; the rest of
    // the inference uses the sample, copied in the same pass. Each chunk's pages are released
    // behind it: read in place, the sample alone would map back nearly the whole file (each
    // page fault maps the 64 KiB around it).
    let d = table.n_cols();
    const ROWS: usize = 16 * 1024;
    type Copied = Vec<(Vec<u8>, Vec<usize>)>;
    let chunks: Vec<(Vec<usize>, Copied)> = (0..n.div_ceil(ROWS))
        .into_par_iter()
        .map(|c| {
            let (r0, r1) = (c * ROWS, ((c + 1) * ROWS).min(n));
            let mut missing = vec![0usize; d];
            let mut sample: Copied = vec![(Vec::new(), Vec::new()); d];
            for i in r0..r1 {
                for (j, m) in missing.iter_mut().enumerate() {
                    *m += usize::from(is_missing(table.field(i, j)));
                }
                if i % step == 0 {
                    for (j, (bytes, ends)) in sample.iter_mut().enumerate() {
                        bytes.extend_from_slice(table.field(i, j));
                        ends.push(bytes.len());
                    }
                }
            }
            table.release_rows(r0..r1);
            (missing, sample)
        })
        .collect();
    let mut missing_counts = vec![0usize; d];
    for (m, _) in &chunks {
        missing_counts.iter_mut().zip(m).for_each(|(x, y)| *x += y);
    }
    let sampled_values = |j: usize| -> Vec<&[u8]> {
        let mut v = Vec::with_capacity(sample_rows);
        for (_, sample) in &chunks {
            let (bytes, ends) = &sample[j];
            let mut a = 0;
            for &e in ends {
                v.push(&bytes[a..e]);
                a = e;
            }
        }
        v
    };
    let columns = (0..d)
        .into_par_iter()
        .map(|j| {
            let name = &table.columns[j];
            let values = sampled_values(j);
            let missing = missing_counts[j];
            let inf = if j == 0 && table.unnamed_index {
                Inferred {
                    kind: Kind::Identifier,
                    distinct: values.len(),
                    example: String::new(),
                    why: Some("the unnamed first column (a pandas row index)".into()),
                    dates: DateStyle::default(),
                }
            } else {
                infer_kind(name, &values, n, table.decimal, &table.dates)
            };
            let (inferred, distinct, example) = (inf.kind, inf.distinct, inf.example);
            let has = |list: &[String]| list.iter().any(|c| c == name);
            let (kind, note) = if inferred == Kind::Empty {
                (
                    Kind::Empty,
                    "every value missing: not clustered".to_string(),
                )
            } else if has(&ov.id) {
                (Kind::Identifier, Param::Id.to_string())
            } else if has(&ov.numeric) {
                (Kind::Numeric, Param::Numeric.to_string())
            } else if has(&ov.categorical) {
                (Kind::Categorical, Param::Categorical.to_string())
            } else {
                let kept = matches!(inferred, Kind::Identifier | Kind::Text);
                let why = match (&inf.why, kept) {
                    (Some(w), true) => format!("inferred: {w}; kept in the output, not clustered"),
                    (None, true) => "inferred; kept in the output, not clustered".to_string(),
                    (Some(w), false) => format!("inferred: {w}"),
                    (None, false) => "inferred".to_string(),
                };
                (inferred, why)
            };
            let sampled = sample_rows < n;
            let nearly_unique =
                distinct * 100 >= (sample_rows - missing.min(sample_rows)).max(1) * 95;
            let dropped = has(&ov.drop);
            ColumnSchema {
                name: name.clone(),
                kind,
                clustered: kind.is_feature() && !dropped,
                note: if dropped {
                    format!("{}: kept in the output, not clustered", Param::Drop)
                } else {
                    note
                },
                missing,
                // A nearly unique column has about as many distinct values as rows.
                distinct: if sampled && nearly_unique && kind != Kind::Empty {
                    distinct * (n - missing) / sample_rows.max(1)
                } else {
                    distinct
                },
                distinct_approx: sampled,
                dates: if kind == Kind::Date {
                    inf.dates
                } else {
                    DateStyle::default()
                },
                example,
            }
        })
        .collect();
    Ok(Schema {
        columns,
        sample_rows,
        rows: n,
    })
}

impl ColumnSchema {
    /// The distinct count as shown: `≈` marks an estimate from the sample.
    pub fn distinct_text(&self) -> String {
        if self.distinct_approx {
            format!("≈{}", self.distinct)
        } else {
            self.distinct.to_string()
        }
    }
}

impl Schema {
    /// The schema as an aligned text table.
    pub fn to_text(&self) -> String {
        let w = self
            .columns
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(6)
            .max(6);
        let mut s = format!(
            "{:<w$}  {:<11}  {:<9}  {:>7}  {:>8}  note\n",
            "column", "kind", "clustered", "missing", "distinct"
        );
        for c in &self.columns {
            s += &format!(
                "{:<w$}  {:<11}  {:<9}  {:>6.1}%  {:>8}  {}\n",
                c.name,
                c.kind.name(),
                if c.clustered { "yes" } else { "no" },
                100.0 * c.missing as f64 / self.rows.max(1) as f64,
                c.distinct_text(),
                c.note
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str, vals: &[&str]) -> Kind {
        let v: Vec<&[u8]> = vals.iter().map(|s| s.as_bytes()).collect();
        infer_kind(name, &v, v.len(), Decimal::Point, &DateStyle::default()).kind
    }

    #[test]
    fn kinds() {
        assert_eq!(kind("x", &["1.5", "2", "", "3"]), Kind::Numeric);
        assert_eq!(kind("x", &["1", "2", "oops", "3"]), Kind::Numeric);
        assert_eq!(kind("flag", &["yes", "no", "Yes"]), Kind::Boolean);
        assert_eq!(kind("d", &["2024-01-01", "2024-02-01"]), Kind::Date);
        assert_eq!(kind("city", &["a", "b", "a", "b", "a"]), Kind::Categorical);
        assert_eq!(
            kind("Email", &["a@x.com", "b@x.com", "c@x.com"]),
            Kind::Identifier
        );
        assert_eq!(
            kind("Address", &["1 Oak St", "2 Elm St", "3 Pine"]),
            Kind::Text
        );
        assert_eq!(kind("customer_id", &["1", "2", "3"]), Kind::Identifier);
        let months: Vec<String> = (0..48).map(|i| format!("{:02}", 1 + i % 12)).collect();
        let months: Vec<&str> = months.iter().map(String::as_str).collect();
        assert_eq!(kind("month", &months), Kind::Numeric);
        let codes: Vec<String> = (0..48).map(|i| format!("{:05}", 37 * i + 11)).collect();
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        assert_eq!(kind("code", &codes), Kind::Identifier);
        assert_eq!(kind("x", &["", "NA"]), Kind::Empty);
    }
}
