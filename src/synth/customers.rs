//! A synthetic e-commerce customer export, shaped like the table our users' notebooks start from:
//! `Email, Address, Avg Session Length, Time on App, Time on Website, Length of Membership,
//! Yearly Amount Spent`, drawn from four planted segments, with the dirt real exports have:
//! about 2% missing values per numeric column, 1% exact duplicate rows, 0.5% gross outliers,
//! and addresses with commas, quotes and line breaks that CSV must quote.

use crate::error::{Error, Result};
use crate::io::AtomicFile;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::io::Write;
use std::path::Path;

/// The numeric columns, in file order.
pub const NUMERIC_COLUMNS: [&str; 5] = [
    "Avg Session Length",
    "Time on App",
    "Time on Website",
    "Length of Membership",
    "Yearly Amount Spent",
];

/// One planted segment: its share of customers and (mean, standard deviation) per numeric
/// column, in the order of `NUMERIC_COLUMNS` (minutes, minutes, minutes, years, dollars).
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    /// Short description.
    pub name: &'static str,
    /// Probability that a customer belongs to it.
    pub share: f64,
    /// (mean, sd) per numeric column.
    pub dist: [(f64, f64); 5],
}

/// The four planted segments. Centres differ by 3 or more within-segment standard deviations
/// on at least two columns, so a correct pipeline recovers them (adjusted Rand index ≥ 0.9).
pub const SEGMENTS: [Segment; 4] = [
    Segment {
        name: "casual browsers",
        share: 0.35,
        dist: [
            (31.0, 0.6),
            (10.0, 0.5),
            (38.5, 0.6),
            (1.5, 0.5),
            (380.0, 25.0),
        ],
    },
    Segment {
        name: "loyal app users",
        share: 0.25,
        dist: [
            (33.5, 0.6),
            (13.5, 0.5),
            (36.5, 0.6),
            (4.5, 0.6),
            (640.0, 30.0),
        ],
    },
    Segment {
        name: "web researchers",
        share: 0.25,
        dist: [
            (34.0, 0.6),
            (10.5, 0.5),
            (40.5, 0.6),
            (2.5, 0.5),
            (470.0, 25.0),
        ],
    },
    Segment {
        name: "new high spenders",
        share: 0.15,
        dist: [
            (32.0, 0.6),
            (12.5, 0.5),
            (37.0, 0.6),
            (0.8, 0.3),
            (560.0, 30.0),
        ],
    },
];

/// Five planted segments, shaped like the seed-000 notebook's table: the four above (shares
/// scaled down) and long-time members, who spend much and use the app and website alike.
/// Two pairs of centres are closer than in the four-segment table, so a rule that prefers
/// the higher silhouette over the elbow is tempted to merge them (`--segments 5`).
pub const FIVE_SEGMENTS: [Segment; 5] = [
    Segment {
        share: 0.30,
        ..SEGMENTS[0]
    },
    Segment {
        share: 0.22,
        ..SEGMENTS[1]
    },
    Segment {
        share: 0.20,
        ..SEGMENTS[2]
    },
    Segment {
        share: 0.13,
        ..SEGMENTS[3]
    },
    Segment {
        name: "long-time members",
        share: 0.15,
        dist: [
            (33.0, 0.6),
            (12.0, 0.5),
            (38.0, 0.6),
            (6.5, 0.6),
            (600.0, 30.0),
        ],
    },
];

/// Probability that a numeric field is left empty.
pub const MISSING_RATE: f64 = 0.02;
/// Probability that a row is an exact copy of a recent row.
pub const DUPLICATE_RATE: f64 = 0.01;
/// Probability that a row carries one grossly wrong value (×8 to ×15, or negative).
pub const OUTLIER_RATE: f64 = 0.005;

/// What to generate.
#[derive(Clone, Debug)]
pub struct CustomersSpec {
    /// Data rows (duplicates included).
    pub rows: u64,
    /// Seed.
    pub seed: u64,
}

const FIRST: [&str; 24] = [
    "james",
    "mary",
    "robert",
    "patricia",
    "john",
    "jennifer",
    "michael",
    "linda",
    "david",
    "elizabeth",
    "william",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "chris",
    "karen",
    "daniel",
    "nancy",
    "matthew",
    "lisa",
];
const LAST: [&str; 20] = [
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
];
const DOMAINS: [&str; 6] = [
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "example.org",
    "mail.net",
];
const STREETS: [&str; 12] = [
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "River",
    "Church",
];
const SUFFIXES: [&str; 6] = ["Street", "Avenue", "Road", "Lane", "Drive", "Court"];
const CITIES: [(&str, &str); 10] = [
    ("Springfield", "IL"),
    ("Riverside", "CA"),
    ("Franklin", "TN"),
    ("Greenville", "SC"),
    ("Bristol", "CT"),
    ("Clinton", "MA"),
    ("Fairview", "OR"),
    ("Salem", "NH"),
    ("Madison", "WI"),
    ("Georgetown", "TX"),
];
const BUILDINGS: [&str; 4] = ["The Oaks", "Harbor View", "Park Place", "The Mill"];

/// Rows kept to copy duplicates from: bounded, so memory does not grow with `rows`.
const RECENT: usize = 64;

fn pick<'a, T>(rng: &mut ChaCha8Rng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

fn planted_segment(rng: &mut ChaCha8Rng, segments: &[Segment]) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (s, seg) in segments.iter().enumerate() {
        acc += seg.share;
        if u < acc {
            return s;
        }
    }
    segments.len() - 1
}

/// Builds one customer's fields (already CSV-free bytes; the writer quotes).
fn customer(rng: &mut ChaCha8Rng, id: u64, seg: &Segment, fields: &mut [Vec<u8>; 7]) {
    for f in fields.iter_mut() {
        f.clear();
    }
    let first = pick(rng, &FIRST);
    let last = pick(rng, &LAST);
    let domain = pick(rng, &DOMAINS);
    // The id, scrambled, keeps every email unique without looking sequential.
    let tag = id.wrapping_mul(0x2545_f491_4f6c_dd1d) % 1_000_000_007;
    let _ = write!(fields[0], "{first}.{last}{tag}@{domain}");
    let number = rng.random_range(1..9999);
    let street = pick(rng, &STREETS);
    let suffix = pick(rng, &SUFFIXES);
    let (city, state) = *pick(rng, &CITIES);
    let zip = rng.random_range(10000..99999);
    let _ = match rng.random_range(0..4) {
        0 => write!(
            fields[1],
            "{number} {street} {suffix}, Apt. {}\n{city}, {state} {zip}",
            rng.random_range(1..400)
        ),
        1 => write!(
            fields[1],
            "\"{}\", {number} {street} {suffix}, {city}, {state} {zip}",
            pick(rng, &BUILDINGS)
        ),
        _ => write!(
            fields[1],
            "{number} {street} {suffix}, {city}, {state} {zip}"
        ),
    };
    for (j, &(mean, sd)) in seg.dist.iter().enumerate() {
        if rng.random_bool(MISSING_RATE) {
            continue;
        }
        let z: f64 = StandardNormal.sample(rng);
        let mut v = mean + sd * z;
        if j == 3 {
            v = v.max(0.05);
        }
        super::push_fixed(&mut fields[2 + j], v, 4);
    }
    if rng.random_bool(OUTLIER_RATE) {
        let j = rng.random_range(0..5);
        let (mean, _) = seg.dist[j];
        let v = if rng.random_bool(0.2) {
            -mean
        } else {
            mean * rng.random_range(8.0..15.0)
        };
        fields[2 + j].clear();
        super::push_fixed(&mut fields[2 + j], v, 4);
    }
}

/// Streams the customer table to `out` and, when given, `row,segment` to `truth`.
pub fn generate_customers(spec: &CustomersSpec, out: &Path, truth: Option<&Path>) -> Result<()> {
    generate_customers_from(spec, &SEGMENTS, out, truth)
}

/// As [`generate_customers`], drawing from `segments` (e.g. [`FIVE_SEGMENTS`]).
pub fn generate_customers_from(
    spec: &CustomersSpec,
    segments: &[Segment],
    out: &Path,
    truth: Option<&Path>,
) -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut file = AtomicFile::create(out)?;
    let mut truth_file = truth.map(AtomicFile::create).transpose()?;
    let io = |e: std::io::Error| Error::write(out, e);
    let csv_io = |e: csv::Error| Error::write(out, e.into());
    {
        let mut w = csv::WriterBuilder::new()
            .buffer_capacity(1 << 16)
            .from_writer(file.writer());
        w.write_record(["Email", "Address"].iter().chain(NUMERIC_COLUMNS.iter()))
            .map_err(csv_io)?;
        let mut recent: Vec<([Vec<u8>; 7], usize)> = Vec::with_capacity(RECENT);
        let mut fields: [Vec<u8>; 7] = Default::default();
        if let Some(t) = truth_file.as_mut() {
            t.writer().write_all(b"row,segment\n").map_err(io)?;
        }
        for row in 1..=spec.rows {
            let seg = if !recent.is_empty() && rng.random_bool(DUPLICATE_RATE) {
                let (f, s) = &recent[rng.random_range(0..recent.len())];
                fields.clone_from(f);
                *s
            } else {
                let seg = planted_segment(&mut rng, segments);
                customer(&mut rng, row, &segments[seg], &mut fields);
                if recent.len() < RECENT {
                    recent.push((fields.clone(), seg));
                } else {
                    let slot = (row as usize) % RECENT;
                    recent[slot].0.clone_from(&fields);
                    recent[slot].1 = seg;
                }
                seg
            };
            w.write_record(fields.iter()).map_err(csv_io)?;
            if let Some(t) = truth_file.as_mut() {
                writeln!(t.writer(), "{row},{seg}").map_err(io)?;
            }
        }
        w.flush().map_err(io)?;
    }
    file.commit()?;
    if let Some(t) = truth_file {
        t.commit()?;
    }
    Ok(())
}
