//! The one date parser: fields of customer tables and of transaction and event logs, parsed
//! without allocating to seconds since 1970-01-01 UTC: ISO 8601 (`2011-12-09`,
//! `2011-12-09T12:50:00`, `…Z`, `…+01:00`, also `YYYY/MM/DD`), `2019-10-01 00:00:00 UTC`,
//! `YYYYMMDD`, slash dates `M/D/YYYY H:MM[:SS]` (or `D/M/YYYY` day-first), `D.M.YYYY`,
//! `18-Apr-2021` / `18-APR-21` / `18 Apr 2021`, and `Apr 18, 2021`; or one explicit
//! strftime format ([`DateStyle`]).

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number, inverse of [`days_from_civil`].
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A cursor over the bytes of one field.
struct Cur<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    /// Reads 1 to `max` ASCII digits.
    fn num(&mut self, max: usize) -> Option<u32> {
        let start = self.i;
        let mut v: u32 = 0;
        while self.i < self.s.len() && self.i - start < max && self.s[self.i].is_ascii_digit() {
            v = v * 10 + (self.s[self.i] - b'0') as u32;
            self.i += 1;
        }
        (self.i > start).then_some(v)
    }
    /// Reads exactly `n` digits.
    fn fixed(&mut self, n: usize) -> Option<u32> {
        let start = self.i;
        let v = self.num(n)?;
        (self.i - start == n).then_some(v)
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
    fn rest(&self) -> &[u8] {
        &self.s[self.i..]
    }
}

/// Parses `HH:MM[:SS[.fff]]`; returns whole seconds into the day and the fraction of a second.
fn time_of_day(c: &mut Cur<'_>) -> Option<(i64, f64)> {
    let h = c.num(2)?;
    if !c.eat(b':') {
        return None;
    }
    let mi = c.fixed(2)?;
    let mut s = 0;
    let mut frac = 0.0;
    if c.eat(b':') {
        s = c.fixed(2)?;
        if c.eat(b'.') || c.eat(b',') {
            let start = c.i;
            let f = c.num(9)?;
            frac = f as f64 / 10f64.powi((c.i - start) as i32);
        }
    }
    (h < 24 && mi < 60 && s < 61).then_some((h as i64 * 3600 + mi as i64 * 60 + s as i64, frac))
}

/// Parses an optional zone suffix (` UTC`, `Z`, `±HH:MM`, `±HHMM`); returns the offset east of
/// UTC in seconds, to be subtracted.
fn zone(c: &mut Cur<'_>) -> Option<i64> {
    if c.done() {
        return Some(0);
    }
    let r = c.rest();
    if r == b"Z" || r == b"z" || r == b" UTC" || r == b"UTC" || r == b" GMT" {
        return Some(0);
    }
    let sign = match r[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    c.i += 1;
    let h = c.fixed(2)?;
    c.eat(b':');
    let m = c.fixed(2)?;
    (c.done() && h < 24 && m < 60).then_some(sign * (h as i64 * 3600 + m as i64 * 60))
}

fn combine(y: i64, m: u32, d: u32, secs: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d) * DAY + secs)
}

/// How a source writes dates: which comes first in slash dates, or one explicit format.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DateStyle {
    /// Read slash dates as D/M/YYYY.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dayfirst: bool,
    /// A strftime-style format (`%d/%m/%Y`, `%Y%m%d %H:%M`) every date must follow; the forms
    /// listed in the module docs otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl DateStyle {
    /// Whether this is the default style (nothing to record).
    pub fn is_default(&self) -> bool {
        *self == DateStyle::default()
    }

    /// Day-first slash dates.
    pub fn dayfirst() -> DateStyle {
        DateStyle {
            dayfirst: true,
            format: None,
        }
    }

    /// Seconds since the epoch and the fraction of a second of `field` in this style.
    fn parse(&self, field: &[u8]) -> Option<(i64, f64)> {
        match &self.format {
            Some(f) => parse_format(field, f),
            None => parse(field, self.dayfirst),
        }
    }

    /// Parses a timestamp to whole seconds since the epoch (UTC).
    pub fn timestamp(&self, field: &[u8]) -> Option<i64> {
        self.parse(field).map(|(secs, _)| secs)
    }

    /// Parses a date or date-time to fractional days since 1970-01-01.
    pub fn days(&self, field: &[u8]) -> Option<f64> {
        self.parse(field)
            .map(|(secs, frac)| (secs as f64 + frac) / DAY as f64)
    }
}

/// Checks a `--date-format` before any work: it must be a valid format that reads a date.
pub fn check_format(format: &str) -> std::result::Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(format!(
            "'{format}' is not a valid date format (use %Y, %m, %d, %H, %M, %S, %b, …)"
        ));
    }
    Ok(())
}

/// A date or date-time in an explicit strftime format (time of day optional in the format).
fn parse_format(field: &[u8], format: &str) -> Option<(i64, f64)> {
    let s = std::str::from_utf8(field.trim_ascii()).ok()?;
    let (date, time) = match chrono::NaiveDateTime::parse_from_str(s, format) {
        Ok(t) => (t.date(), t.time()),
        Err(_) => (
            chrono::NaiveDate::parse_from_str(s, format).ok()?,
            chrono::NaiveTime::MIN,
        ),
    };
    use chrono::{Datelike, Timelike};
    let days = days_from_civil(date.year() as i64, date.month(), date.day());
    let secs = days * DAY + time.num_seconds_from_midnight() as i64;
    Some((secs, time.nanosecond() as f64 * 1e-9))
}

/// Parses one timestamp to seconds since the epoch (UTC), fractions of a second dropped (log
/// features are in days and minutes); `None` when it is not one of the accepted forms or
/// names an impossible date. `dayfirst` reads slash dates as D/M/YYYY.
pub fn parse_timestamp(field: &[u8], dayfirst: bool) -> Option<i64> {
    parse(field, dayfirst).map(|(secs, _)| secs)
}

/// Parses a date or date-time field to fractional days since 1970-01-01 (fractions of a
/// second kept), as customer-table date columns are measured; forms as [`parse_timestamp`].
pub fn parse_days(field: &[u8], dayfirst: bool) -> Option<f64> {
    parse(field, dayfirst).map(|(secs, frac)| (secs as f64 + frac) / DAY as f64)
}

/// Month names and their numbers (English; three-letter abbreviations, full names, `Sept`).
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Reads a month name at the cursor.
fn month_name(c: &mut Cur<'_>) -> Option<u32> {
    let start = c.i;
    while c.i < c.s.len() && c.s[c.i].is_ascii_alphabetic() {
        c.i += 1;
    }
    let w = c.s[start..c.i].to_ascii_lowercase();
    let w = w.strip_suffix(b".").unwrap_or(&w);
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| {
            let m = m.as_bytes();
            w == m || w == &m[..3] || (w == b"sept" && m[0] == b's')
        })
        .map(|i| i as u32 + 1)
}

/// A 4-digit year, or a 2-digit one read as 1969–2068 (POSIX `%y`).
fn year(c: &mut Cur<'_>, short_ok: bool) -> Option<i64> {
    let start = c.i;
    let y = c.num(4)? as i64;
    match c.i - start {
        4 => Some(y),
        2 if short_ok => Some(if y < 69 { 2000 + y } else { 1900 + y }),
        _ => None,
    }
}

/// The optional time after a date: ` HH:MM[:SS[.f]]`, then ` AM`/` PM` or a zone.
fn time_after_date(c: &mut Cur<'_>, t_ok: bool) -> Option<(i64, f64)> {
    if c.done() {
        return Some((0, 0.0));
    }
    if !(c.eat(b' ') || (t_ok && c.eat(b'T'))) {
        return None;
    }
    let (mut secs, frac) = time_of_day(c)?;
    // 12-hour clocks (`1:30 PM`) as some spreadsheet exports write them.
    let r = c.rest().trim_ascii_start();
    if r.eq_ignore_ascii_case(b"PM") || r.eq_ignore_ascii_case(b"AM") {
        let h = secs / 3600;
        if !(1..=12).contains(&h) {
            return None;
        }
        let pm = r.eq_ignore_ascii_case(b"PM");
        secs = secs % 3600 + 3600 * ((h % 12) + if pm { 12 } else { 0 });
    } else if !c.done() {
        secs -= zone(c)?;
    }
    Some((secs, frac))
}

/// Seconds since the epoch and the fraction of a second.
fn parse(field: &[u8], dayfirst: bool) -> Option<(i64, f64)> {
    let s = field.trim_ascii();
    let mut c = Cur { s, i: 0 };
    if s.first()?.is_ascii_alphabetic() {
        // `Apr 18, 2021`, `April 18 2021 10:30`.
        let m = month_name(&mut c)?;
        c.eat(b'.');
        if !c.eat(b' ') {
            return None;
        }
        let d = c.num(2)?;
        c.eat(b',');
        if !c.eat(b' ') {
            return None;
        }
        let y = year(&mut c, false)?;
        let (secs, frac) = time_after_date(&mut c, false)?;
        return combine(y, m, d, secs).map(|t| (t, frac));
    }
    let a = c.num(8)?;
    let digits = c.i;
    match digits {
        8 => {
            // YYYYMMDD, as some logs and warehouse exports write dates.
            let (y, m, d) = ((a / 10_000) as i64, a / 100 % 100, a % 100);
            if y < 1000 {
                return None;
            }
            let (secs, frac) = time_after_date(&mut c, true)?;
            return combine(y, m, d, secs).map(|t| (t, frac));
        }
        4 if c.eat(b'-') || c.eat(b'/') => {
            // ISO: YYYY-MM-DD[(T| )HH:MM[:SS[.f]]][zone]; also YYYY/MM/DD.
            let sep = s[4];
            let m = c.fixed(2)?;
            if !c.eat(sep) {
                return None;
            }
            let d = c.fixed(2)?;
            let (mut secs, mut frac) = (0, 0.0);
            if !c.done() {
                if !(c.eat(b'T') || c.eat(b' ')) {
                    return None;
                }
                (secs, frac) = time_of_day(&mut c)?;
                secs -= zone(&mut c)?;
            }
            return combine(a as i64, m, d, secs).map(|t| (t, frac));
        }
        1 | 2 => {}
        _ => return None,
    }
    if c.eat(b'.') {
        // D.M.YYYY (German, Swiss, Nordic exports): always day first.
        let m = c.num(2)?;
        if !c.eat(b'.') {
            return None;
        }
        let y = year(&mut c, false)?;
        let (secs, frac) = time_after_date(&mut c, false)?;
        return combine(y, m, a, secs).map(|t| (t, frac));
    }
    if c.eat(b'-') || c.eat(b' ') {
        // 18-Apr-2021, 18-APR-21, 18 Apr 2021.
        let sep = s[c.i - 1];
        let m = month_name(&mut c)?;
        c.eat(b'.');
        if !(c.eat(sep) || c.eat(b' ')) {
            return None;
        }
        let y = year(&mut c, true)?;
        let (secs, frac) = time_after_date(&mut c, false)?;
        return combine(y, m, a, secs).map(|t| (t, frac));
    }
    // Slash dates: M/D/YYYY or D/M/YYYY, optional time.
    if !c.eat(b'/') {
        return None;
    }
    let b = c.num(2)?;
    if !c.eat(b'/') {
        return None;
    }
    let y = c.fixed(4)? as i64;
    let (secs, frac) = time_after_date(&mut c, false)?;
    let (m, d) = if dayfirst { (b, a) } else { (a, b) };
    combine(y, m, d, secs).map(|t| (t, frac))
}

/// For slash dates `A/B/YYYY`: `(A, B)`, so that a column can tell day-first from month-first.
pub fn slash_parts(field: &[u8]) -> Option<(u32, u32)> {
    let s = field.trim_ascii();
    let mut c = Cur { s, i: 0 };
    let a = c.num(2)?;
    if !c.eat(b'/') {
        return None;
    }
    let b = c.num(2)?;
    c.eat(b'/').then_some((a, b))
}

/// Day number (days since 1970-01-01) of a timestamp.
pub fn day_of(secs: i64) -> i64 {
    secs.div_euclid(DAY)
}

/// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS`.
pub fn format_timestamp(secs: i64) -> String {
    let (y, m, d) = civil_from_days(day_of(secs));
    let t = secs.rem_euclid(DAY);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        t / 3600,
        t / 60 % 60,
        t % 60
    )
}

/// Formats a day number as `YYYY-MM-DD`.
pub fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<String> {
        parse_timestamp(s.as_bytes(), false).map(format_timestamp)
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(p("2011-12-09").as_deref(), Some("2011-12-09 00:00:00"));
        assert_eq!(
            p("2011-12-09T12:50:07").as_deref(),
            Some("2011-12-09 12:50:07")
        );
        assert_eq!(
            p("2011-12-09 12:50:07.123Z").as_deref(),
            Some("2011-12-09 12:50:07")
        );
        assert_eq!(
            p("2011-12-09T12:50+01:00").as_deref(),
            Some("2011-12-09 11:50:00")
        );
        assert_eq!(
            p("2019-10-01 00:00:05 UTC").as_deref(),
            Some("2019-10-01 00:00:05")
        );
        assert_eq!(p("12/1/2010 8:26").as_deref(), Some("2010-12-01 08:26:00"));
        assert_eq!(
            p("1/2/2011 1:05 PM").as_deref(),
            Some("2011-01-02 13:05:00")
        );
        assert_eq!(
            parse_timestamp(b"1/2/2011 8:26", true)
                .map(format_timestamp)
                .as_deref(),
            Some("2011-02-01 08:26:00")
        );
        assert_eq!(p("2012-02-29").as_deref(), Some("2012-02-29 00:00:00"));
        for (form, want) in [
            ("20210418", "2021-04-18 00:00:00"),
            ("18.04.2021", "2021-04-18 00:00:00"),
            ("8.4.2021 10:30", "2021-04-08 10:30:00"),
            ("18-Apr-2021", "2021-04-18 00:00:00"),
            ("18-APR-21", "2021-04-18 00:00:00"),
            ("18 April 2021", "2021-04-18 00:00:00"),
            ("Apr 18, 2021", "2021-04-18 00:00:00"),
            ("Sept 3 1999", "1999-09-03 00:00:00"),
            ("December 31, 2020 11:59 PM", "2020-12-31 23:59:00"),
        ] {
            assert_eq!(p(form).as_deref(), Some(want), "{form}");
        }
        let style = DateStyle {
            dayfirst: false,
            format: Some("%d|%m|%Y".into()),
        };
        assert_eq!(
            style
                .timestamp(b"18|04|2021")
                .map(format_timestamp)
                .as_deref(),
            Some("2021-04-18 00:00:00")
        );
        assert_eq!(style.timestamp(b"2021-04-18"), None);
        assert!(check_format("%Y-%m-%d").is_ok());
        assert!(check_format("%Q").is_err());
    }

    #[test]
    fn rejected_forms() {
        for s in [
            "",
            "2011-13-01",
            "2011-02-30",
            "2011-02-29",
            "13/1/2011",
            "12/1/10",
            "2011-12-09x",
            "yesterday",
            "2011-12-09 25:00",
            "1.5",
            "12345",
            "20211301",
            "32.1.2021",
            "18-Foo-2021",
            "Apr 18",
            "18-Apr-202",
        ] {
            assert_eq!(p(s), None, "{s}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for z in [-800_000, -1, 0, 1, 15_000, 18_000, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(format_date(days_from_civil(2000, 3, 1)), "2000-03-01");
    }
}
