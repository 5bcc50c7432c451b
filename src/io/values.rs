//! Parsing one field: numbers, booleans and dates, with the reason when a value is unusable.

/// Strings that mean "no value" in a field, compared case-insensitively after trimming.
pub const MISSING_TOKENS: [&str; 7] = ["", "na", "n/a", "nan", "null", "none", "nil"];

/// True when a trimmed field means "no value".
pub fn is_missing(f: &[u8]) -> bool {
    let t = f.trim_ascii();
    t.len() <= 4
        && MISSING_TOKENS
            .iter()
            .any(|m| t.eq_ignore_ascii_case(m.as_bytes()))
}

/// Parses a date or date-time into fractional days since 1970-01-01 (month-first slash dates).
pub fn parse_date_days(f: &[u8]) -> Option<f64> {
    super::dates::parse_days(f, false)
}

/// What a field holds once parsed as a number (or a date, in days).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Parsed {
    /// A finite value.
    Value(f64),
    /// Empty or a "no value" token (NA, NaN, null…).
    Missing,
    /// Infinite ("inf", "1e999").
    Infinite,
    /// Not of the column's type.
    Invalid,
}

/// Exact powers of ten: `m / 10^k` is correctly rounded for `m < 2^53`, `k ≤ 22` (Clinger).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Plain decimals (`-12.345`, at most 15 digits, no exponent) without the general parser:
/// most fields of an export look like this, and this is several times faster.
fn parse_simple_decimal(t: &[u8]) -> Option<f64> {
    let (neg, digits) = match t.first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut m: u64 = 0;
    let mut frac: Option<usize> = None;
    let mut n_digits = 0;
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                m = m * 10 + (b - b'0') as u64;
                n_digits += 1;
            }
            b'.' if frac.is_none() => frac = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if n_digits == 0 || n_digits > 15 {
        return None;
    }
    let v = m as f64 / POW10[frac.unwrap_or(0)];
    Some(if neg { -v } else { v })
}

/// How a source writes decimals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Decimal {
    /// `1234.56` (and `1,234.56` with thousands separators).
    #[default]
    Point,
    /// `1234,56` and `1.234,56`, as European exports write them.
    Comma,
}

/// Whether `t` is `-?d{1,3}(SEP ddd)+` followed by nothing or by the decimal separator.
fn grouped(t: &[u8], sep: u8, dec: u8) -> bool {
    let t = t.strip_prefix(b"-").unwrap_or(t);
    let int = t.split(|&b| b == dec).next().unwrap_or(t);
    let mut groups = int.split(|&b| b == sep);
    let Some(first) = groups.next() else {
        return false;
    };
    let mut n = 0;
    for g in groups {
        if g.len() != 3 || !g.iter().all(u8::is_ascii_digit) {
            return false;
        }
        n += 1;
    }
    n > 0 && (1..=3).contains(&first.len()) && first.iter().all(u8::is_ascii_digit)
}

/// Parses a number written with `decimal` separators (thousands separators allowed).
pub fn parse_number_in(f: &[u8], decimal: Decimal) -> Parsed {
    let t = f.trim_ascii();
    let (sep, dec) = match decimal {
        Decimal::Point => (b',', b'.'),
        Decimal::Comma => (b'.', b','),
    };
    let plain = match decimal {
        Decimal::Point => parse_number(t),
        // No comma and no thousands grouping: a plain number either way (`12`, `3.5`).
        Decimal::Comma if !t.contains(&b',') && !grouped(t, b'.', b',') => parse_number(t),
        Decimal::Comma => Parsed::Invalid,
    };
    if plain != Parsed::Invalid {
        return plain;
    }
    if !t.contains(&sep) && !t.contains(&dec) || (t.contains(&sep) && !grouped(t, sep, dec)) {
        return plain;
    }
    let mut b: Vec<u8> = t
        .iter()
        .filter(|&&c| c != sep)
        .map(|&c| if c == dec { b'.' } else { c })
        .collect();
    if b.is_empty() {
        return Parsed::Invalid;
    }
    b.truncate(64);
    match parse_number(&b) {
        Parsed::Missing => Parsed::Invalid,
        p => p,
    }
}

/// Whether a field is written with a decimal comma (`33,7078`, `1.234,56`, `-0,5`).
pub fn is_comma_decimal(f: &[u8]) -> bool {
    let t = f.trim_ascii();
    let t = t.strip_prefix(b"-").unwrap_or(t);
    let mut parts = t.split(|&b| b == b',');
    let (Some(int), Some(frac), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !frac.is_empty()
        && frac.iter().all(u8::is_ascii_digit)
        && !int.is_empty()
        && (int.iter().all(u8::is_ascii_digit) || grouped(int, b'.', b','))
}

/// Whether a field is written with a decimal point (`33.7078`; not `1.234`, which may be a
/// thousands group).
pub fn is_point_decimal(f: &[u8]) -> bool {
    let t = f.trim_ascii();
    let t = t.strip_prefix(b"-").unwrap_or(t);
    let mut parts = t.split(|&b| b == b'.');
    let (Some(int), Some(frac), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !int.is_empty()
        && int.iter().all(u8::is_ascii_digit)
        && !frac.is_empty()
        && frac.iter().all(u8::is_ascii_digit)
        && frac.len() != 3
}

/// Parses a number; NaN strings count as missing, infinities are reported as such.
pub fn parse_number(f: &[u8]) -> Parsed {
    let t = f.trim_ascii();
    if let Some(v) = parse_simple_decimal(t) {
        return Parsed::Value(v);
    }
    if is_missing(t) {
        return Parsed::Missing;
    }
    let Ok(s) = std::str::from_utf8(t) else {
        return Parsed::Invalid;
    };
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Parsed::Value(v),
        Ok(v) if v.is_nan() => Parsed::Missing,
        Ok(_) => Parsed::Infinite,
        Err(_) => Parsed::Invalid,
    }
}

/// Words read as true and false (case-insensitive), pairwise.
pub const BOOL_TOKENS: [(&str, &str); 5] = [
    ("true", "false"),
    ("yes", "no"),
    ("y", "n"),
    ("t", "f"),
    ("1", "0"),
];

/// Parses a boolean token: `Some(true|false)` or `None` when it is not one.
pub fn parse_bool(f: &[u8]) -> Option<bool> {
    let t = f.trim_ascii();
    for (yes, no) in BOOL_TOKENS {
        if t.eq_ignore_ascii_case(yes.as_bytes()) {
            return Some(true);
        }
        if t.eq_ignore_ascii_case(no.as_bytes()) {
            return Some(false);
        }
    }
    None
}

/// Parses a boolean field as 0/1.
pub fn parse_bool_value(f: &[u8]) -> Parsed {
    if is_missing(f) {
        return Parsed::Missing;
    }
    match parse_bool(f) {
        Some(b) => Parsed::Value(if b { 1.0 } else { 0.0 }),
        None => Parsed::Invalid,
    }
}

/// Parses a date field written in `style` into days since 1970-01-01.
pub fn parse_date_in(f: &[u8], style: &super::dates::DateStyle) -> Parsed {
    if is_missing(f) {
        return Parsed::Missing;
    }
    match style.days(f) {
        Some(v) => Parsed::Value(v),
        None => Parsed::Invalid,
    }
}

/// Parses a date field into days since 1970-01-01.
pub fn parse_date_value(f: &[u8]) -> Parsed {
    if is_missing(f) {
        return Parsed::Missing;
    }
    match super::dates::parse_days(f, false) {
        Some(v) => Parsed::Value(v),
        None => Parsed::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number(b" 1.5 "), Parsed::Value(1.5));
        assert_eq!(parse_number(b"-2e3"), Parsed::Value(-2000.0));
        assert_eq!(parse_number(b"NaN"), Parsed::Missing);
        assert_eq!(parse_number(b""), Parsed::Missing);
        assert_eq!(parse_number(b"inf"), Parsed::Infinite);
        assert_eq!(parse_number(b"-Infinity"), Parsed::Infinite);
        assert_eq!(parse_number(b"abc"), Parsed::Invalid);
        assert_eq!(parse_number(b"."), Parsed::Invalid);
        assert_eq!(parse_number(b"-"), Parsed::Invalid);
        assert_eq!(parse_number(b"1.2.3"), Parsed::Invalid);
        let c = |s: &str| parse_number_in(s.as_bytes(), Decimal::Comma);
        assert_eq!(c("33,7078"), Parsed::Value(33.7078));
        assert_eq!(c("1.234,56"), Parsed::Value(1234.56));
        assert_eq!(c("-1.234.567"), Parsed::Value(-1_234_567.0));
        assert_eq!(c("12"), Parsed::Value(12.0));
        assert_eq!(c(""), Parsed::Missing);
        assert_eq!(c("1,2,3"), Parsed::Invalid);
        assert_eq!(c("12.34,5"), Parsed::Invalid);
        let p = |s: &str| parse_number_in(s.as_bytes(), Decimal::Point);
        assert_eq!(p("1,234.5"), Parsed::Value(1234.5));
        assert_eq!(p("1,23"), Parsed::Invalid);
        assert!(is_comma_decimal(b"1.234,56") && is_comma_decimal(b"-0,5"));
        assert!(!is_comma_decimal(b"1,2,3") && !is_comma_decimal(b"a,5"));
        assert!(is_point_decimal(b"33.7") && !is_point_decimal(b"1.234"));
        // The fast path agrees with the general parser bit for bit.
        for s in [
            "0.1",
            "123.4567",
            "-0.0004",
            "99999.9999",
            "7",
            "+3.25",
            "1234567.891234",
        ] {
            let want: f64 = s.parse().unwrap_or(f64::NAN);
            assert_eq!(parse_number(s.as_bytes()), Parsed::Value(want), "{s}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date_days(b"1970-01-01"), Some(0.0));
        assert_eq!(parse_date_days(b"2000-03-01"), Some(11_017.0));
        assert_eq!(parse_date_days(b"1970-01-02T12:00:00Z"), Some(1.5));
        assert_eq!(parse_date_days(b"1970/01/02 06:00"), Some(1.25));
        assert_eq!(parse_date_days(b"1970-13-01"), None);
        assert_eq!(parse_date_days(b"12345"), None);
    }

    #[test]
    fn booleans() {
        assert_eq!(parse_bool(b"Yes"), Some(true));
        assert_eq!(parse_bool(b"FALSE"), Some(false));
        assert_eq!(parse_bool(b"maybe"), None);
    }
}
