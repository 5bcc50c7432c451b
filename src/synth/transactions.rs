//! Synthetic invoice lines shaped like the UCI Online Retail export our users' RFM notebooks
//! start from: `InvoiceNo, StockCode, Quantity, InvoiceDate, UnitPrice, CustomerID, Country`,
//! dates as `M/D/YYYY H:MM` between 2010-12-01 and 2011-12-09, with cancellations (`C`
//! invoices with negative quantities), invoices without a customer id, several countries and
//! four planted behaviour groups.

use super::sink::{LineSink, OutputFile};
use crate::error::Result;
use crate::io::dates::{civil_from_days, days_from_civil};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::path::Path;

/// One planted behaviour group: share of customers, invoices (min, max), the window of
/// their purchase days (as fractions of the year: the group is active from `window.0` to
/// `window.1`), and items per line (min, max).
#[derive(Clone, Copy, Debug)]
pub struct Group {
    /// Short description.
    pub name: &'static str,
    /// Probability that a customer belongs to it.
    pub share: f64,
    /// Invoices per customer, inclusive range.
    pub invoices: (u32, u32),
    /// Active part of the year, as fractions in [0, 1].
    pub window: (f64, f64),
    /// Quantity per line, inclusive range.
    pub quantity: (u32, u32),
    /// Lines per invoice, inclusive range.
    pub lines: (u32, u32),
}

/// The planted groups: recent frequent big spenders, steady regulars, lapsed customers and
/// one-off buyers.
pub const GROUPS: [Group; 4] = [
    Group {
        name: "champions",
        share: 0.15,
        invoices: (15, 40),
        window: (0.0, 1.0),
        quantity: (6, 24),
        lines: (1, 8),
    },
    Group {
        name: "regulars",
        share: 0.35,
        invoices: (4, 10),
        window: (0.1, 1.0),
        quantity: (2, 8),
        lines: (1, 8),
    },
    Group {
        name: "lapsed",
        share: 0.25,
        invoices: (3, 8),
        window: (0.0, 0.35),
        quantity: (2, 10),
        lines: (1, 8),
    },
    Group {
        name: "one-off",
        share: 0.25,
        invoices: (1, 1),
        window: (0.0, 1.0),
        quantity: (1, 4),
        lines: (1, 8),
    },
];

/// Three planted basket behaviours, shaped like the invoice logs of the RFM notebooks
/// (`generate transactions --groups baskets`): frequent small baskets (a few cheap lines
/// several times a month), monthly mid-sized baskets, and rare big baskets (a few invoices
/// a year with many lines of large quantities). Purchase days are spread over the whole year
/// for every group, so recency follows from frequency alone.
pub const BASKET_GROUPS: [Group; 3] = [
    Group {
        name: "frequent small baskets",
        share: 0.45,
        invoices: (24, 48),
        window: (0.0, 1.0),
        quantity: (1, 3),
        lines: (1, 3),
    },
    Group {
        name: "monthly mid baskets",
        share: 0.35,
        invoices: (9, 15),
        window: (0.0, 1.0),
        quantity: (3, 8),
        lines: (4, 8),
    },
    Group {
        name: "rare big baskets",
        share: 0.20,
        invoices: (1, 3),
        window: (0.0, 1.0),
        quantity: (12, 36),
        lines: (12, 24),
    },
];

/// Probability that an invoice is followed by a cancellation of one of its lines.
pub const CANCEL_RATE: f64 = 0.03;
/// Probability that an invoice is written without its customer id.
pub const MISSING_ID_RATE: f64 = 0.05;

const COUNTRIES: [(&str, f64); 6] = [
    ("United Kingdom", 0.80),
    ("Germany", 0.06),
    ("France", 0.05),
    ("EIRE", 0.04),
    ("Spain", 0.03),
    ("Netherlands", 0.02),
];

/// Products in the catalogue; each has a fixed price.
const PRODUCTS: u32 = 500;

/// What to generate.
#[derive(Clone, Debug)]
pub struct TransactionsSpec {
    /// Customers (each has at least one invoice).
    pub customers: u64,
    /// Seed.
    pub seed: u64,
}

fn pick_weighted(rng: &mut ChaCha8Rng, w: impl Iterator<Item = f64>) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    let mut last = 0;
    for (i, x) in w.enumerate() {
        acc += x;
        last = i;
        if u < acc {
            return i;
        }
    }
    last
}

fn price_of(product: u32) -> f64 {
    // A fixed, spread-out price per product: 0.29 to about 15.
    let h = (product as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
    0.29 + (h % 1500) as f64 / 100.0
}

fn push_date(out: &mut Vec<u8>, day: i64, minute: u32) {
    let (y, m, d) = civil_from_days(day);
    let _ = write!(out, "{m}/{d}/{y} {}:{:02}", minute / 60, minute % 60);
}

/// Streams the invoice lines to `out` (CSV, gzip when the name ends in `.gz`) and, when
/// given, `customer_id,group` to `truth` (group 0-based into [`GROUPS`]).
pub fn generate_transactions(
    spec: &TransactionsSpec,
    out: &Path,
    truth: Option<&Path>,
) -> Result<()> {
    generate_transactions_from(spec, &GROUPS, out, truth)
}

/// As [`generate_transactions`], drawing customers from `groups` (e.g. [`BASKET_GROUPS`]);
/// the truth's group indexes into `groups`.
pub fn generate_transactions_from(
    spec: &TransactionsSpec,
    groups: &[Group],
    out: &Path,
    truth: Option<&Path>,
) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut file = OutputFile::create(out)?;
    let mut truth_file = truth.map(OutputFile::create).transpose()?;
    file.line(b"InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n")?;
    if let Some(t) = truth_file.as_mut() {
        t.line(b"customer_id,group\n")?;
    }
    let start = days_from_civil(2010, 12, 1);
    let span = (days_from_civil(2011, 12, 9) - start) as f64;
    let mut invoice_no: u64 = 536_365;
    let mut line = Vec::with_capacity(128);
    let mut days = Vec::new();
    for c in 0..spec.customers {
        let id = 12_346 + c;
        let g = pick_weighted(&mut rng, groups.iter().map(|g| g.share));
        let grp = groups[g];
        let country = COUNTRIES[pick_weighted(&mut rng, COUNTRIES.iter().map(|c| c.1))].0;
        if let Some(t) = truth_file.as_mut() {
            line.clear();
            let _ = writeln!(line, "{id},{g}");
            t.line(&line)?;
        }
        let n = rng.random_range(grp.invoices.0..=grp.invoices.1);
        days.clear();
        for _ in 0..n {
            let f = rng.random_range(grp.window.0..grp.window.1);
            days.push(start + (f * span) as i64);
        }
        days.sort_unstable();
        for &day in &days {
            invoice_no += 1;
            let minute = rng.random_range(8 * 60..18 * 60);
            let missing = rng.random_bool(MISSING_ID_RATE);
            let lines = rng.random_range(grp.lines.0..=grp.lines.1);
            let mut first_line = None;
            for _ in 0..lines {
                let product = rng.random_range(0..PRODUCTS);
                let q = rng.random_range(grp.quantity.0..=grp.quantity.1);
                first_line.get_or_insert((product, q));
                line.clear();
                let _ = write!(line, "{invoice_no},{},{q},", 20_000 + product);
                push_date(&mut line, day, minute);
                line.push(b',');
                super::push_fixed(&mut line, price_of(product), 2);
                if missing {
                    let _ = writeln!(line, ",,{country}");
                } else {
                    let _ = writeln!(line, ",{id},{country}");
                }
                file.line(&line)?;
            }
            if rng.random_bool(CANCEL_RATE) {
                // A cancellation of the invoice's first line, later the same day.
                if let Some((product, q)) = first_line {
                    invoice_no += 1;
                    line.clear();
                    let _ = write!(line, "C{invoice_no},{},-{q},", 20_000 + product);
                    push_date(&mut line, day, (minute + 30).min(23 * 60 + 59));
                    line.push(b',');
                    super::push_fixed(&mut line, price_of(product), 2);
                    let _ = writeln!(line, ",{id},{country}");
                    file.line(&line)?;
                }
            }
        }
    }
    file.commit()?;
    if let Some(t) = truth_file {
        t.commit()?;
    }
    Ok(())
}
