//! Synthetic data for demos, tests and benchmarks, written as streams (memory independent of N).

pub mod blobs;
pub mod customers;
pub mod events;
pub mod mixed;
pub mod shoppers;
pub mod sink;
pub mod transactions;

pub use blobs::{blobs_matrix, generate_blobs, BlobsSpec};
pub use customers::{
    generate_customers, generate_customers_from, CustomersSpec, FIVE_SEGMENTS, SEGMENTS,
};
pub use events::{generate_events, EventsOutput, EventsSpec};
pub use mixed::generate_mixed;
pub use shoppers::generate_shoppers;
pub use transactions::{
    generate_transactions, generate_transactions_from, TransactionsSpec, BASKET_GROUPS, GROUPS,
};

/// Appends `v` with exactly `decimals` digits after the point, faster than `format!`.
pub(crate) fn push_fixed(out: &mut Vec<u8>, v: f64, decimals: u32) {
    let scale = 10i64.pow(decimals);
    let r = v * scale as f64;
    // Within a hair of a rounding tie, the inexact product can fall on the wrong side of it;
    // `format!` rounds the exact binary value, so it decides those rare cases.
    if ((r - r.trunc()).abs() - 0.5).abs() < 1e-6 {
        out.extend_from_slice(format!("{:.*}", decimals as usize, v).as_bytes());
        return;
    }
    let scaled = r.round() as i64;
    if scaled < 0 {
        out.push(b'-');
    }
    let a = scaled.unsigned_abs();
    let (int, frac) = (a / scale as u64, a % scale as u64);
    out.extend_from_slice(int.to_string().as_bytes());
    if decimals > 0 {
        out.push(b'.');
        let f = frac.to_string();
        for _ in f.len()..decimals as usize {
            out.push(b'0');
        }
        out.extend_from_slice(f.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::push_fixed;

    #[test]
    fn fixed_formatting_matches_format() {
        for &v in &[
            0.0,
            1.5,
            -2.25,
            123.456789,
            -0.0004,
            0.00049,
            99999.99994,
            -7.0,
        ] {
            let mut out = Vec::new();
            push_fixed(&mut out, v, 4);
            let expect = format!("{:.4}", v);
            let expect = if expect == "-0.0000" {
                "0.0000".to_string()
            } else {
                expect
            };
            assert_eq!(String::from_utf8(out).unwrap_or_default(), expect, "{v}");
        }
    }
}
