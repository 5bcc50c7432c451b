//! A mall-style customer table with mixed types, the data k-prototypes is for:
//! `customer_id, gender, city, membership, age, annual_income, spending_score,
//! visits_per_month`, drawn from four planted segments. Segments 0 and 1 share their numeric
//! distributions and differ only in city and membership, so only the categorical columns can
//! tell them apart; segments 2 and 3 differ numerically.

use super::customers::CustomersSpec;
use super::sink::{LineSink, OutputFile};
use crate::error::Result;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::path::Path;

/// Cities, in the order the planted preferences below index.
pub const CITIES: [&str; 5] = ["Metro", "Harbor", "Lakeside", "Hillview", "Old Town"];
/// Membership levels.
pub const MEMBERSHIPS: [&str; 3] = ["basic", "silver", "gold"];

/// One planted segment of the mixed table.
struct Planted {
    share: f64,
    /// (mean, sd) of age, annual_income (k$), spending_score (1–100), visits_per_month.
    numeric: [(f64, f64); 4],
    /// Most likely city and membership (chosen with probability `LOYALTY`).
    city: usize,
    membership: usize,
    /// Probability of "F".
    female: f64,
}

/// Probability that a customer has the segment's usual city and membership.
const LOYALTY: f64 = 0.85;

const PLANTED: [Planted; 4] = [
    Planted {
        share: 0.3,
        numeric: [(27.0, 3.0), (62.0, 6.0), (78.0, 5.0), (8.0, 1.2)],
        city: 0,
        membership: 2,
        female: 0.55,
    },
    Planted {
        share: 0.3,
        numeric: [(27.0, 3.0), (62.0, 6.0), (78.0, 5.0), (8.0, 1.2)],
        city: 3,
        membership: 0,
        female: 0.45,
    },
    Planted {
        share: 0.25,
        numeric: [(48.0, 4.0), (98.0, 8.0), (22.0, 5.0), (2.0, 0.6)],
        city: 1,
        membership: 1,
        female: 0.5,
    },
    Planted {
        share: 0.15,
        numeric: [(67.0, 4.0), (38.0, 5.0), (48.0, 6.0), (4.0, 0.8)],
        city: 4,
        membership: 1,
        female: 0.6,
    },
];

fn level(rng: &mut ChaCha8Rng, usual: usize, n: usize) -> usize {
    if rng.random::<f64>() < LOYALTY {
        usual
    } else {
        // Any other level, uniformly.
        (usual + 1 + rng.random_range(0..n - 1)) % n
    }
}

/// Streams the table to `out` and, when given, `row,segment` (data row from 1, planted segment
/// from 0, as `generate customers` writes it) to `truth`.
/// Rows and seed come in the customers generator's spec: both make one customer per row.
pub fn generate_mixed(spec: &CustomersSpec, out: &Path, truth: Option<&Path>) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut file = OutputFile::create(out)?;
    let mut truth_file = truth.map(OutputFile::create).transpose()?;
    file.line(
        b"customer_id,gender,city,membership,age,annual_income,spending_score,visits_per_month\n",
    )?;
    if let Some(t) = truth_file.as_mut() {
        t.line(b"row,segment\n")?;
    }
    let mut line = Vec::with_capacity(128);
    for i in 0..spec.rows {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let seg = PLANTED
            .iter()
            .position(|p| {
                acc += p.share;
                u < acc
            })
            .unwrap_or(PLANTED.len() - 1);
        let p = &PLANTED[seg];
        line.clear();
        line.extend_from_slice(format!("C{:07}", i + 1).as_bytes());
        line.extend_from_slice(if rng.random::<f64>() < p.female {
            b",F,"
        } else {
            b",M,"
        });
        line.extend_from_slice(CITIES[level(&mut rng, p.city, CITIES.len())].as_bytes());
        line.push(b',');
        line.extend_from_slice(
            MEMBERSHIPS[level(&mut rng, p.membership, MEMBERSHIPS.len())].as_bytes(),
        );
        for (j, &(mean, sd)) in p.numeric.iter().enumerate() {
            let z: f64 = StandardNormal.sample(&mut rng);
            let v = (mean + sd * z).max(0.0);
            line.push(b',');
            match j {
                0 => line
                    .extend_from_slice(format!("{}", (v.round() as u64).clamp(18, 95)).as_bytes()),
                2 => line
                    .extend_from_slice(format!("{}", (v.round() as u64).clamp(1, 100)).as_bytes()),
                _ => super::push_fixed(&mut line, v, 1),
            }
        }
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
