//! RFM features from transaction lines (one row per invoice line, as in the UCI Online Retail
//! export): one output row per customer with recency, frequency, monetary value, tenure,
//! average order value, return rate, quintile scores and a named segment.
//!
//! Definitions (days are calendar days; `as_of` defaults to the day after the latest date):
//! - a line is a *cancellation* when its invoice starts with `C`/`c` or its quantity (or, with
//!   `--amount`, its amount) is negative; cancellations count toward `return_rate` only;
//! - `recency_days` = as_of − day of the last non-cancelled line;
//! - `tenure_days` = as_of − day of the first non-cancelled line;
//! - `frequency` = distinct invoices among non-cancelled lines, or distinct purchase days when
//!   there is no invoice column;
//! - `monetary` = Σ quantity × price (or Σ amount) over non-cancelled lines;
//! - `avg_order_value` = monetary / frequency;
//! - `return_rate` = cancelled lines / all lines of the customer;
//! - `r_score`, `f_score`, `m_score`: quintiles 1–5 (see [`super::quintile_scores`]); a recent
//!   customer has a high `r_score`;
//! - `rfm_segment`: see [`segment`].

use super::columns::{find, require, want as w};
use super::rejects::{detail, RejectLog};
use super::{id_order, parse_number, quintile_scores, TimeOptions};
use crate::error::{ColumnParam, Error, Param, Result};
use crate::io::dates::day_of;
use crate::io::format::push_decimal;
use crate::io::hash::{hash_bytes, FastSet, Interner};
use crate::io::table::push_csv_field;
use crate::io::Source;
use std::io::Write;

/// Output columns, in order.
pub const RFM_COLUMNS: [&str; 11] = [
    "customer_id",
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "avg_order_value",
    "return_rate",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
];

/// Reject reasons (the `reason` column of the rejects file).
pub mod reason {
    /// The customer id field is empty.
    pub const MISSING_CUSTOMER: &str = "missing customer id";
    /// The date is empty or in no accepted form.
    pub const BAD_DATE: &str = "unparseable date";
    /// The amount, quantity or price is empty, not a number, or not finite.
    pub const BAD_AMOUNT: &str = "non-numeric amount";
    /// The date is later than `--as-of`.
    pub const AFTER_AS_OF: &str = "after as-of date";
    /// Every line of the customer is a cancellation (customer-level; row = first line).
    pub const NO_PURCHASE: &str = "no non-cancelled purchase";
}

/// Column names given on the command line (each optional: common names are detected).
#[derive(Clone, Debug, Default)]
pub struct RfmFlags {
    /// `--customer`.
    pub customer: Option<String>,
    /// `--date`.
    pub date: Option<String>,
    /// `--amount`: the line's value; excludes `--quantity`/`--price`.
    pub amount: Option<String>,
    /// `--quantity`.
    pub quantity: Option<String>,
    /// `--price`.
    pub price: Option<String>,
    /// `--invoice`.
    pub invoice: Option<String>,
}

/// How a line's value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// One amount column.
    Amount(usize),
    /// Quantity × unit price.
    QuantityPrice(usize, usize),
}

/// The resolved input columns (indices into the source's columns) and their names.
#[derive(Clone, Debug)]
pub struct RfmColumns {
    /// Customer id.
    pub customer: usize,
    /// Line date.
    pub date: usize,
    /// The line's value.
    pub value: Value,
    /// Invoice number, when present.
    pub invoice: Option<usize>,
    names: Vec<String>,
}

const CUSTOMER: &[&str] = &[
    "CustomerID",
    "customer_id",
    "Customer ID",
    "customer",
    "client_id",
    "user_id",
];
const DATE: &[&str] = &[
    "InvoiceDate",
    "date",
    "event_time",
    "order_date",
    "transaction_date",
    "timestamp",
];
const QUANTITY: &[&str] = &["Quantity", "qty"];
const PRICE: &[&str] = &["UnitPrice", "price", "Unit Price", "unit_price"];
const AMOUNT: &[&str] = &["amount", "total", "sales", "revenue", "line_total"];
const INVOICE: &[&str] = &[
    "InvoiceNo",
    "Invoice",
    "invoice_id",
    "order_id",
    "transaction_id",
];

impl RfmColumns {
    /// Resolves the flags against the source's columns, detecting common names.
    pub fn resolve(src: &Source, f: &RfmFlags) -> Result<RfmColumns> {
        let customer = require(
            src,
            &w(
                "customer id",
                ColumnParam::One(Param::Customer),
                &f.customer,
                CUSTOMER,
            ),
        )?;
        let date = require(
            src,
            &w("date", ColumnParam::One(Param::Date), &f.date, DATE),
        )?;
        if f.amount.is_some() && (f.quantity.is_some() || f.price.is_some()) {
            return Err(Error::Data(format!(
                "give either {} or {} with {}, not both",
                Param::Amount,
                Param::Quantity,
                Param::Price
            )));
        }
        let qw = w(
            "quantity",
            ColumnParam::One(Param::Quantity),
            &f.quantity,
            QUANTITY,
        );
        let pw = w(
            "unit price",
            ColumnParam::One(Param::Price),
            &f.price,
            PRICE,
        );
        let value = if f.amount.is_some() {
            Value::Amount(require(
                src,
                &w("amount", ColumnParam::One(Param::Amount), &f.amount, AMOUNT),
            )?)
        } else if f.quantity.is_some() || f.price.is_some() {
            Value::QuantityPrice(require(src, &qw)?, require(src, &pw)?)
        } else {
            match (find(src, &qw)?, find(src, &pw)?) {
                (Some(q), Some(p)) => Value::QuantityPrice(q, p),
                _ => Value::Amount(require(
                    src,
                    &w(
                        "amount (or quantity and unit price)",
                        ColumnParam::AmountOrQuantityPrice,
                        &None,
                        AMOUNT,
                    ),
                )?),
            }
        };
        let invoice = find(
            src,
            &w(
                "invoice",
                ColumnParam::One(Param::Invoice),
                &f.invoice,
                INVOICE,
            ),
        )?;
        Ok(RfmColumns {
            customer,
            date,
            value,
            invoice,
            names: src.columns().to_vec(),
        })
    }

    /// The columns to read, in the order [`RfmBuilder::push`] expects them.
    pub fn wanted(&self) -> Vec<usize> {
        let mut w = vec![self.customer, self.date];
        match self.value {
            Value::Amount(a) => w.push(a),
            Value::QuantityPrice(q, p) => w.extend([q, p]),
        }
        w.extend(self.invoice);
        w
    }

    /// A description of the mapping, for the summary.
    pub fn describe(&self) -> String {
        let n = |i: usize| self.names[i].as_str();
        let value = match self.value {
            Value::Amount(a) => format!("amount={}", n(a)),
            Value::QuantityPrice(q, p) => format!("quantity={}, price={}", n(q), n(p)),
        };
        format!(
            "customer={}, date={}, {value}, invoice={}",
            n(self.customer),
            n(self.date),
            self.invoice
                .map_or("(none: frequency counts purchase days)", n)
        )
    }
}

/// What is kept per customer: a fixed handful of numbers, whatever the number of lines.
#[derive(Clone, Debug)]
struct Customer {
    first_row: u64,
    lines: u32,
    cancelled: u32,
    frequency: u32,
    monetary: f64,
    first_day: i64,
    last_day: i64,
    /// The last order key counted, so consecutive lines of one invoice skip the set.
    last_order: u64,
}

/// One output row.
#[derive(Clone, Debug, PartialEq)]
pub struct RfmRow {
    /// The customer id as read (an integral `17850.0` is written `17850`).
    pub customer_id: String,
    /// Days from the last purchase to the as-of date.
    pub recency_days: i64,
    /// Distinct non-cancelled invoices (or purchase days).
    pub frequency: u32,
    /// Sum of non-cancelled line values.
    pub monetary: f64,
    /// Days from the first purchase to the as-of date.
    pub tenure_days: i64,
    /// monetary / frequency.
    pub avg_order_value: f64,
    /// Cancelled lines / all lines.
    pub return_rate: f64,
    /// Recency quintile (5 = most recent).
    pub r_score: u8,
    /// Frequency quintile (5 = most frequent).
    pub f_score: u8,
    /// Monetary quintile (5 = highest spend).
    pub m_score: u8,
    /// Segment name, see [`segment`].
    pub rfm_segment: &'static str,
}

/// The per-customer table and the facts of its build.
#[derive(Clone, Debug)]
pub struct RfmFeatures {
    /// One row per customer with a purchase, ordered by customer id.
    pub rows: Vec<RfmRow>,
    /// The reference day (days since 1970-01-01).
    pub as_of: i64,
    /// Lines read.
    pub lines: u64,
    /// Lines that passed validation (cancellations included).
    pub lines_used: u64,
}

/// Streams transaction lines into per-customer state.
pub struct RfmBuilder<W: Write> {
    cols: RfmColumns,
    time: TimeOptions,
    ids: Interner,
    customers: Vec<Customer>,
    orders: FastSet<(u32, u64)>,
    rejects: RejectLog<W>,
    lines: u64,
    used: u64,
    max_day: i64,
    id_buf: Vec<u8>,
}

/// Trims an id and writes an integral decimal (`17850.0`, as pandas exports float ids) as an
/// integer, so the same customer has one id in CSV, SQLite and Parquet copies.
pub(crate) fn normalise_id<'a>(id: &'a [u8], buf: &'a mut Vec<u8>) -> &'a [u8] {
    let id = id.trim_ascii();
    if let Some(dot) = id.iter().position(|&b| b == b'.') {
        let (int, frac) = id.split_at(dot);
        if !int.is_empty()
            && int.iter().all(u8::is_ascii_digit)
            && frac[1..].iter().all(|&b| b == b'0')
        {
            buf.clear();
            buf.extend_from_slice(int);
            return buf;
        }
    }
    id
}

impl<W: Write> RfmBuilder<W> {
    /// A builder writing rejects to `rejects`.
    pub fn new(cols: RfmColumns, time: TimeOptions, rejects: W) -> Result<Self> {
        Ok(RfmBuilder {
            cols,
            time,
            ids: Interner::default(),
            customers: Vec::new(),
            orders: FastSet::default(),
            rejects: RejectLog::new(rejects).map_err(rejects_err)?,
            lines: 0,
            used: 0,
            max_day: i64::MIN,
            id_buf: Vec::new(),
        })
    }

    fn reject(
        &mut self,
        row: u64,
        id: &[u8],
        why: &'static str,
        col: usize,
        v: &[u8],
    ) -> Result<()> {
        let d = detail(&self.cols.names[col], v);
        self.rejects.push(row, id, why, &d).map_err(rejects_err)
    }

    /// Adds one line; `f` holds the fields in [`RfmColumns::wanted`] order.
    pub fn push(&mut self, row: u64, f: &[&[u8]]) -> Result<()> {
        self.lines += 1;
        let mut id_buf = std::mem::take(&mut self.id_buf);
        let id = normalise_id(f[0], &mut id_buf);
        let r = self.push_line(row, id, f);
        self.id_buf = id_buf;
        r
    }

    fn push_line(&mut self, row: u64, id: &[u8], f: &[&[u8]]) -> Result<()> {
        let c = &self.cols;
        let (date_col, customer_col) = (c.date, c.customer);
        if id.is_empty() {
            return self.reject(row, id, reason::MISSING_CUSTOMER, customer_col, f[0]);
        }
        let Some(t) = self.time.timestamp(f[1]) else {
            return self.reject(row, id, reason::BAD_DATE, date_col, f[1]);
        };
        let day = day_of(t);
        let (value, negative, invoice_at) = match self.cols.value {
            Value::Amount(a) => match parse_number(f[2]) {
                Some(v) => (v, v < 0.0, 3),
                None => return self.reject(row, id, reason::BAD_AMOUNT, a, f[2]),
            },
            Value::QuantityPrice(qc, pc) => {
                let Some(q) = parse_number(f[2]) else {
                    return self.reject(row, id, reason::BAD_AMOUNT, qc, f[2]);
                };
                let Some(p) = parse_number(f[3]) else {
                    return self.reject(row, id, reason::BAD_AMOUNT, pc, f[3]);
                };
                (q * p, q < 0.0, 4)
            }
        };
        if let Some(a) = self.time.as_of {
            if day > a {
                return self.reject(row, id, reason::AFTER_AS_OF, date_col, f[1]);
            }
        }
        let invoice = self.cols.invoice.map(|_| f[invoice_at].trim_ascii());
        let cancelled = negative || invoice.is_some_and(|i| matches!(i.first(), Some(b'C' | b'c')));
        self.used += 1;
        self.max_day = self.max_day.max(day);
        let (ix, new) = self.ids.intern(id);
        if new {
            self.customers.push(Customer {
                first_row: row,
                lines: 0,
                cancelled: 0,
                frequency: 0,
                monetary: 0.0,
                first_day: i64::MAX,
                last_day: i64::MIN,
                last_order: u64::MAX,
            });
        }
        let cu = &mut self.customers[ix as usize];
        cu.lines += 1;
        if cancelled {
            cu.cancelled += 1;
            return Ok(());
        }
        cu.monetary += value;
        cu.first_day = cu.first_day.min(day);
        cu.last_day = cu.last_day.max(day);
        // An order is an invoice, or a purchase day when there is no invoice column (or the
        // field is empty); the top bit keeps the two kinds of key apart.
        let order = match invoice {
            Some(i) if !i.is_empty() => hash_bytes(i) & !(1 << 63),
            _ => (day as u64) | (1 << 63),
        };
        if order != cu.last_order {
            cu.last_order = order;
            if self.orders.insert((ix, order)) {
                cu.frequency += 1;
            }
        }
        Ok(())
    }

    /// Scores and names every customer; customers without a purchase go to the rejects.
    /// Returns the table and the reject log (to read its counts and flush it).
    pub fn finish(mut self) -> Result<(RfmFeatures, RejectLog<W>)> {
        let as_of = self.time.as_of.unwrap_or(if self.max_day == i64::MIN {
            0
        } else {
            self.max_day + 1
        });
        let mut kept = Vec::with_capacity(self.customers.len());
        for i in id_order(self.ids.ids()) {
            let c = &self.customers[i];
            if c.frequency == 0 {
                let d = format!("{} cancelled line(s), no purchase", c.cancelled);
                self.rejects
                    .push(
                        c.first_row,
                        &self.ids.ids()[i],
                        reason::NO_PURCHASE,
                        d.as_bytes(),
                    )
                    .map_err(rejects_err)?;
            } else {
                kept.push(i);
            }
        }
        let recency: Vec<f64> = kept
            .iter()
            .map(|&i| (as_of - self.customers[i].last_day) as f64)
            .collect();
        let freq: Vec<f64> = kept
            .iter()
            .map(|&i| self.customers[i].frequency as f64)
            .collect();
        let mon: Vec<f64> = kept.iter().map(|&i| self.customers[i].monetary).collect();
        let (rs, fs, ms) = (
            quintile_scores(&recency, false),
            quintile_scores(&freq, true),
            quintile_scores(&mon, true),
        );
        let rows = kept
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let c = &self.customers[i];
                RfmRow {
                    customer_id: String::from_utf8_lossy(&self.ids.ids()[i]).into_owned(),
                    recency_days: as_of - c.last_day,
                    frequency: c.frequency,
                    monetary: c.monetary,
                    tenure_days: as_of - c.first_day,
                    avg_order_value: c.monetary / c.frequency as f64,
                    return_rate: c.cancelled as f64 / c.lines as f64,
                    r_score: rs[k],
                    f_score: fs[k],
                    m_score: ms[k],
                    rfm_segment: segment(rs[k], fs[k], ms[k]),
                }
            })
            .collect();
        Ok((
            RfmFeatures {
                rows,
                as_of,
                lines: self.lines,
                lines_used: self.used,
            },
            self.rejects,
        ))
    }
}

fn rejects_err(e: std::io::Error) -> Error {
    Error::Data(format!("cannot write the rejects file: {e}"))
}

/// The segment of a customer from the recency score R and FM = ⌈(F + M) / 2⌉, on the usual
/// R × FM grid (first match wins):
///
/// | R    | FM 1           | FM 2               | FM 3               | FM 4       | FM 5       |
/// |------|----------------|--------------------|--------------------|------------|------------|
/// | 5    | New Customer   | Potential Loyalist | Potential Loyalist | Champions  | Champions  |
/// | 4    | Promising      | Potential Loyalist | Potential Loyalist | Loyal      | Loyal      |
/// | 3    | About to Sleep | About to Sleep     | Need Attention     | Loyal      | Loyal      |
/// | 2    | Hibernating    | Hibernating        | At Risk            | At Risk    | Can't Lose |
/// | 1    | Lost           | Lost               | At Risk            | At Risk    | Can't Lose |
pub fn segment(r: u8, f: u8, m: u8) -> &'static str {
    let fm = (f + m).div_ceil(2);
    match (r, fm) {
        (5, 4 | 5) => "Champions",
        (3 | 4, 4 | 5) => "Loyal",
        (4 | 5, 2 | 3) => "Potential Loyalist",
        (5, _) => "New Customer",
        (4, _) => "Promising",
        (3, 3) => "Need Attention",
        (3, _) => "About to Sleep",
        (_, 5) => "Can't Lose",
        (_, 3 | 4) => "At Risk",
        (2, _) => "Hibernating",
        _ => "Lost",
    }
}

impl RfmFeatures {
    /// The table as CSV with the [`RFM_COLUMNS`] header.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut line = Vec::with_capacity(128 * (self.rows.len() + 1));
        line.extend_from_slice(RFM_COLUMNS.join(",").as_bytes());
        line.push(b'\n');
        for r in &self.rows {
            push_csv_field(&mut line, r.customer_id.as_bytes());
            let _ = write!(line, ",{},{},", r.recency_days, r.frequency);
            push_decimal(&mut line, r.monetary);
            let _ = write!(line, ",{},", r.tenure_days);
            push_decimal(&mut line, r.avg_order_value);
            line.push(b',');
            push_decimal(&mut line, r.return_rate);
            let _ = writeln!(
                line,
                ",{},{},{},{}",
                r.r_score, r.f_score, r.m_score, r.rfm_segment
            );
        }
        line
    }
}

/// Reads `src` and builds the RFM table, streaming rejects to `rejects`.
pub fn build_rfm<W: Write>(
    src: &Source,
    cols: RfmColumns,
    time: TimeOptions,
    rejects: W,
) -> Result<(RfmFeatures, RejectLog<W>)> {
    let wanted = cols.wanted();
    let mut b = RfmBuilder::new(cols, time, rejects)?;
    src.scan(&wanted, &mut |row, f| b.push(row, f))?;
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_grid_covers_every_cell() {
        assert_eq!(segment(5, 5, 5), "Champions");
        assert_eq!(segment(5, 4, 3), "Champions");
        assert_eq!(segment(4, 5, 5), "Loyal");
        assert_eq!(segment(3, 4, 4), "Loyal");
        assert_eq!(segment(5, 2, 3), "Potential Loyalist");
        assert_eq!(segment(5, 1, 1), "New Customer");
        assert_eq!(segment(4, 1, 1), "Promising");
        assert_eq!(segment(3, 3, 3), "Need Attention");
        assert_eq!(segment(3, 1, 2), "About to Sleep");
        assert_eq!(segment(2, 5, 5), "Can't Lose");
        assert_eq!(segment(1, 3, 4), "At Risk");
        assert_eq!(segment(2, 1, 2), "Hibernating");
        assert_eq!(segment(1, 1, 1), "Lost");
    }

    #[test]
    fn float_ids_become_integers() {
        let mut b = Vec::new();
        assert_eq!(normalise_id(b" 17850.0 ", &mut b), b"17850");
        assert_eq!(normalise_id(b"17850.5", &mut b), b"17850.5");
        assert_eq!(normalise_id(b"A.0", &mut b), b"A.0");
        assert_eq!(normalise_id(b"12", &mut b), b"12");
    }
}
