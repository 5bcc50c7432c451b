//! A mixed customer table shaped like the coupon-and-loyalty notebooks our users bring:
//! `customer_id, gender, city, coupon_usage_frequency, transaction_status,
//! total_purchase_amount, avg_order_value, purchase_frequency, last_purchase_date,
//! loyalty_score`, drawn from four planted segments that differ in the numbers only.
//! Gender, city and transaction status are drawn independently of the segment, as in real
//! exports where they carry no behaviour: they are the noise columns a segmentation must
//! not split on.

use super::customers::CustomersSpec;
use super::sink::{LineSink, OutputFile};
use crate::error::Result;
use crate::io::dates::{civil_from_days, days_from_civil};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::io::Write;
use std::path::Path;

/// Cities with their shares, drawn independently of the segment.
pub const CITIES: [(&str, f64); 8] = [
    ("Mumbai", 0.2),
    ("Delhi", 0.18),
    ("Bangalore", 0.15),
    ("Chennai", 0.12),
    ("Kolkata", 0.1),
    ("Hyderabad", 0.1),
    ("Pune", 0.08),
    ("Jaipur", 0.07),
];
/// Transaction statuses with their shares, independent of the segment.
pub const STATUSES: [(&str, f64); 3] = [("Success", 0.8), ("Failed", 0.1), ("Pending", 0.1)];

/// One planted segment: share, and (mean, sd) of coupon uses, total purchase amount,
/// average order value, purchase frequency, days since the last purchase, loyalty score.
pub struct Shopper {
    /// Short description.
    pub name: &'static str,
    /// Probability that a customer belongs to it.
    pub share: f64,
    /// (mean, sd) per numeric column, in the order above.
    pub numeric: [(f64, f64); 6],
}

/// The four planted segments; each differs from every other by about 1.5 to 3 within-segment
/// standard deviations on two or more columns, so the numbers overlap as real ones do.
pub const SHOPPERS: [Shopper; 4] = [
    Shopper {
        name: "coupon hunters",
        share: 0.3,
        numeric: [
            (9.0, 3.0),
            (1300.0, 440.0),
            (42.0, 12.0),
            (30.0, 8.0),
            (20.0, 12.0),
            (55.0, 14.0),
        ],
    },
    Shopper {
        name: "big-ticket occasional",
        share: 0.2,
        numeric: [
            (1.0, 1.6),
            (3000.0, 800.0),
            (240.0, 60.0),
            (12.0, 4.0),
            (90.0, 36.0),
            (42.0, 14.0),
        ],
    },
    Shopper {
        name: "loyal regulars",
        share: 0.3,
        numeric: [
            (3.0, 2.0),
            (4500.0, 1000.0),
            (90.0, 20.0),
            (50.0, 10.0),
            (8.0, 6.0),
            (85.0, 10.0),
        ],
    },
    Shopper {
        name: "lapsed",
        share: 0.2,
        numeric: [
            (2.0, 2.0),
            (420.0, 200.0),
            (60.0, 20.0),
            (7.0, 4.0),
            (200.0, 60.0),
            (20.0, 12.0),
        ],
    },
];

fn weighted(rng: &mut ChaCha8Rng, shares: impl Iterator<Item = f64>) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    let mut last = 0;
    for (i, s) in shares.enumerate() {
        acc += s;
        last = i;
        if u < acc {
            return i;
        }
    }
    last
}

/// Streams the table to `out` and, when given, `row,segment` (data row from 1, planted
/// segment from 0) to `truth`. Last purchase dates count back from 2024-06-30.
pub fn generate_shoppers(spec: &CustomersSpec, out: &Path, truth: Option<&Path>) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut file = OutputFile::create(out)?;
    let mut truth_file = truth.map(OutputFile::create).transpose()?;
    file.line(
        b"customer_id,gender,city,coupon_usage_frequency,transaction_status,\
total_purchase_amount,avg_order_value,purchase_frequency,last_purchase_date,loyalty_score\n",
    )?;
    if let Some(t) = truth_file.as_mut() {
        t.line(b"row,segment\n")?;
    }
    let as_of = days_from_civil(2024, 6, 30);
    let mut line = Vec::with_capacity(160);
    for i in 0..spec.rows {
        let seg = weighted(&mut rng, SHOPPERS.iter().map(|s| s.share));
        let p = &SHOPPERS[seg];
        let mut v = [0f64; 6];
        for (slot, &(mean, sd)) in v.iter_mut().zip(&p.numeric) {
            let z: f64 = StandardNormal.sample(&mut rng);
            *slot = (mean + sd * z).max(0.0);
        }
        line.clear();
        let _ = write!(line, "CUST{:07},", i + 1);
        line.extend_from_slice(if rng.random_bool(0.5) {
            b"Female"
        } else {
            b"Male"
        });
        line.push(b',');
        line.extend_from_slice(
            CITIES[weighted(&mut rng, CITIES.iter().map(|c| c.1))]
                .0
                .as_bytes(),
        );
        let _ = write!(line, ",{},", v[0].round() as u64);
        line.extend_from_slice(
            STATUSES[weighted(&mut rng, STATUSES.iter().map(|c| c.1))]
                .0
                .as_bytes(),
        );
        line.push(b',');
        super::push_fixed(&mut line, v[1], 2);
        line.push(b',');
        super::push_fixed(&mut line, v[2], 2);
        let _ = write!(line, ",{},", v[3].round() as u64);
        let (y, m, d) = civil_from_days(as_of - v[4].round() as i64);
        let _ = write!(line, "{y:04}-{m:02}-{d:02},");
        super::push_fixed(&mut line, v[5].min(100.0), 1);
        line.push(b'\n');
        file.line(&line)?;
        if let Some(t) = truth_file.as_mut() {
            t.line(format!("{},{seg}\n", i + 1).as_bytes())?;
        }
    }
    file.commit()?;
    if let Some(t) = truth_file {
        t.commit()?;
    }
    Ok(())
}
