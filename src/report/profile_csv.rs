//! `profile.csv`: one wide row per segment plus an `all` row, ready for a spreadsheet.
//!
//! Columns: `segment, name, size, share`, then for every numeric feature `<f> mean`,
//! `<f> median`, `<f> lift`, `<f> z`, then for every categorical level `<col>=<level> share`
//! and `<col>=<level> lift`. The last row, segment `all`, holds the population's values.

use crate::analysis::SegmentProfile;
use crate::error::Result;
use crate::io::write_atomic;
use std::path::Path;

fn num(v: f64) -> String {
    if v.is_finite() {
        // Shortest representation that round-trips, so spreadsheets read the exact value.
        format!("{v}")
    } else {
        String::new()
    }
}

/// Writes `profile.csv` for `profiles` to `path`, atomically.
pub fn write_profile_csv(path: &Path, profiles: &[SegmentProfile]) -> Result<()> {
    write_atomic(path, |w| write_profile(w, profiles))
}

/// The text of `profile.csv` for `profiles`, for front ends that show it without a file.
pub fn profile_csv(profiles: &[SegmentProfile]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_profile(&mut out, profiles)
        .map_err(|e| crate::error::Error::Data(format!("profile table: {e}")))?;
    Ok(out)
}

fn write_profile<W: std::io::Write>(w: W, profiles: &[SegmentProfile]) -> std::io::Result<()> {
    let mut c = csv::Writer::from_writer(w);
    let mut head: Vec<String> = ["segment", "name", "size", "share"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(p) = profiles.first() {
        for n in &p.numeric {
            for s in ["mean", "median", "lift", "z"] {
                head.push(format!("{} {s}", n.column));
            }
        }
        for l in &p.categorical {
            for s in ["share", "lift"] {
                head.push(format!("{}={} {s}", l.column, l.level));
            }
        }
    }
    c.write_record(&head)?;
    let total: u64 = profiles.iter().map(|p| p.size).sum();
    for p in profiles {
        let mut row = vec![
            p.segment.to_string(),
            p.name.clone(),
            p.size.to_string(),
            num(p.share),
        ];
        for n in &p.numeric {
            row.extend([num(n.mean), num(n.median), num(n.lift), num(n.z)]);
        }
        for l in &p.categorical {
            row.extend([num(l.share), num(l.lift)]);
        }
        c.write_record(&row)?;
    }
    if let Some(p) = profiles.first() {
        let mut row = vec![
            "all".to_string(),
            "all customers".to_string(),
            total.to_string(),
            "1".to_string(),
        ];
        for n in &p.numeric {
            row.extend([
                num(n.overall_mean),
                num(n.overall_median),
                "1".into(),
                "0".into(),
            ]);
        }
        for l in &p.categorical {
            row.extend([num(l.overall_share), "1".into()]);
        }
        c.write_record(&row)?;
    }
    c.flush()?;
    Ok(())
}
