//! The one set of number formatters: for people (thousands separators, few decimals), for
//! notes (compact, scientific when large or tiny), and for the CSV files segmenter writes
//! (fixed or shortest decimals, quoting).

/// Formats a number for people: thousands separators, fewer decimals as it grows; "n/a" for NaN.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    let s = if a >= 1000.0 {
        format!("{:.0}", a)
    } else if a >= 100.0 {
        format!("{:.1}", a)
    } else if a >= 1.0 {
        format!("{:.2}", a)
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{:.3}", a)
    };
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), format!(".{f}")),
        None => (s.clone(), String::new()),
    };
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if v < 0.0 && s.chars().any(|c| c != '0' && c != '.') {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}{frac}")
}

/// Formats a count with thousands separators.
pub fn fmt_int(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Formats a share as a percentage with one decimal.
pub fn fmt_pct(v: f64) -> String {
    if v.is_finite() {
        format!("{:.1}%", v * 100.0)
    } else {
        "n/a".into()
    }
}

/// Formats a number compactly for notes and reasons: up to 4 decimals, trailing zeros cut,
/// scientific when it is large or tiny.
pub fn fmt_compact(v: f64) -> String {
    if v.abs() >= 1e5 || (v != 0.0 && v.abs() < 1e-3) {
        format!("{v:.4e}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

/// Appends `v` in decimal.
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends `v` with 4 decimals (`-0.0000` written as `0.0000`); plenty for coordinates and
/// distances in standardised units, and shorter and faster than the shortest round trip.
pub fn push_fixed4(out: &mut Vec<u8>, v: f32) {
    if !v.is_finite() {
        return;
    }
    let scaled = (v as f64 * 1e4).round() as i64;
    if scaled < 0 {
        out.push(b'-');
    }
    let a = scaled.unsigned_abs();
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(a / 10_000).as_bytes());
    out.push(b'.');
    let f = a % 10_000;
    out.extend_from_slice(&[
        b'0' + (f / 1000) as u8,
        b'0' + (f / 100 % 10) as u8,
        b'0' + (f / 10 % 10) as u8,
        b'0' + (f % 10) as u8,
    ]);
}

/// Rounds to 4 decimals and appends the shortest text that reads back as that value, so
/// outputs are stable across platforms and free of binary noise (`0.30000000000000004`).
pub fn push_decimal(out: &mut Vec<u8>, v: f64) {
    use std::io::Write;
    let r = (v * 1e4).round() / 1e4;
    let r = if r == 0.0 { 0.0 } else { r };
    let _ = write!(out, "{r}");
}

/// Appends `f` as one CSV field, quoted when it holds a comma, quote or line break: the one
/// quoting rule of every CSV segmenter writes.
pub fn push_csv_field(out: &mut Vec<u8>, f: &[u8]) {
    if f.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &b in f {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(f);
    }
}
