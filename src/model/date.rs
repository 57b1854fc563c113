//! Calendar dates (UTC) for grant expiry: parsing `YYYY-MM-DD` and knowing today.
//!
//! Kept tiny on purpose: grants need "is this day on or after that day" and
//! "how many days apart", nothing a date library would add. Today comes from
//! the system clock, or from `MESHSYNTH_TODAY` (`YYYY-MM-DD`) so that a test,
//! a review of an old commit or a reproduction of a CI run sees the same
//! expiries as the run it reproduces.

use std::fmt;

/// A day of the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01.
    days: i64,
}

/// The variable that pins today's date.
pub(crate) const TODAY_VAR: &str = "MESHSYNTH_TODAY";

impl Date {
    /// Parses `YYYY-MM-DD` (a real day: `2027-02-30` is refused).
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
        };
        let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
            return None;
        }
        Some(Date {
            days: days_from_civil(y, m, d),
        })
    }

    /// Today in UTC: `MESHSYNTH_TODAY` when set (and valid), else the system clock.
    pub(crate) fn today() -> Date {
        if let Some(d) = std::env::var(TODAY_VAR).ok().and_then(|v| Date::parse(v.trim())) {
            return d;
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date {
            days: i64::try_from(secs / 86_400).unwrap_or(0),
        }
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    pub(crate) fn days_until(self, later: Date) -> i64 {
        later.days - self.days
    }

    fn civil(self) -> (i64, i64, i64) {
        // Howard Hinnant's civil_from_days.
        let z = self.days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        (y, m, d)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.civil();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_real_days_only() {
        for s in ["1970-01-01", "2000-02-29", "2026-12-02", "2027-06-30", "9999-12-31"] {
            assert_eq!(Date::parse(s).map(|d| d.to_string()), Some(s.to_owned()));
        }
        for s in [
            "2027-02-29",
            "2027-13-01",
            "2027-00-10",
            "2027-1-01",
            "27-06-30",
            "2027/06/30",
            "2027-06-3x",
            "",
        ] {
            assert_eq!(Date::parse(s), None, "{s}");
        }
        assert_eq!(Date::parse("1970-01-01").map(|d| d.days), Some(0));
        assert_eq!(Date::parse("2000-03-01").map(|d| d.days), Some(11_017));
    }

    #[test]
    fn counts_days_between() {
        let a = Date::parse("2026-12-02").expect("date");
        let b = Date::parse("2027-01-01").expect("date");
        assert_eq!(a.days_until(b), 30);
        assert_eq!(b.days_until(a), -30);
        assert!(a < b);
    }
}
