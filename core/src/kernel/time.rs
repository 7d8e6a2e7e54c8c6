//! Time as epoch milliseconds. "Now" is read once at the edge and passed down, so every expiry
//! rule can be tested with explicit instants.
//!
//! Nothing here must read the clock but `Millis::now`; rules take the time as an argument.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Millis(pub i64);

impl Millis {
    pub const SECOND: i64 = 1_000;
    pub const MINUTE: i64 = 60 * Self::SECOND;
    pub const HOUR: i64 = 60 * Self::MINUTE;
    pub const DAY: i64 = 24 * Self::HOUR;

    /// The wall clock. Only the edges (HTTP handlers, start-up) call this.
    #[cfg(feature = "server")]
    pub fn now() -> Millis {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Millis(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }

    pub fn plus_minutes(self, minutes: i64) -> Millis {
        Millis(self.0.saturating_add(minutes.saturating_mul(Self::MINUTE)))
    }

    pub fn plus_millis(self, ms: i64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_map_to_calendar_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}

/// China Standard Time (UTC+8, no daylight saving), as `YYYY-MM-DD HH:MM`.
pub fn format_cst(at: Millis) -> String {
    let local = at.0 + 8 * Millis::HOUR;
    let (y, m, d) = civil_from_days(local.div_euclid(Millis::DAY));
    let minutes = local.rem_euclid(Millis::DAY) / Millis::MINUTE;
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", minutes / 60, minutes % 60)
}

/// `YYYY-MM-DD HH:MM:SS` in China Standard Time: a check's time (R18), where the seconds tell a
/// live result from a picture of one taken a minute before.
pub fn format_cst_seconds(at: Millis) -> String {
    let seconds = (at.0 + 8 * Millis::HOUR).rem_euclid(Millis::MINUTE) / 1000;
    format!("{}:{seconds:02}", format_cst(at))
}

/// RFC 3339 in China Standard Time, to the second: `2026-01-01T08:00:00+08:00`.
pub fn format_rfc3339_cst(at: Millis) -> String {
    format!("{}+08:00", format_cst_seconds(at).replacen(' ', "T", 1))
}

#[cfg(test)]
mod cst_tests {
    use super::*;

    #[test]
    fn times_show_in_china_standard_time() {
        assert_eq!(format_cst(Millis(1_767_225_600_000)), "2026-01-01 08:00");
        assert_eq!(format_cst(Millis(1_767_225_600_000 + 16 * Millis::HOUR)), "2026-01-02 00:00");
        assert_eq!(format_cst_seconds(Millis(1_767_225_600_000 + 61_999)), "2026-01-01 08:01:01");
        assert_eq!(format_rfc3339_cst(Millis(1_767_225_600_000 + 61_999)), "2026-01-01T08:01:01+08:00");
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (inverse of [`civil_from_days`]).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// A calendar date `YYYY-MM-DD` as days since 1970-01-01, if it is a real date.
pub fn parse_day(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    // Digits only: `str::parse` would also take a sign, so `2026-+1-01` would read as January.
    let digits = b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if b.len() != 10 || !digits {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: u32 = s[5..7].parse().ok()?;
    let d: u32 = s[8..10].parse().ok()?;
    let month_days = [31, if is_leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d == 0 || d > month_days[(m - 1) as usize] {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Days since 1970-01-01 as `YYYY-MM-DD`.
pub fn format_day(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Today's date in China Standard Time, as days since 1970-01-01.
pub fn today_cst(now: Millis) -> i64 {
    (now.0 + 8 * Millis::HOUR).div_euclid(Millis::DAY)
}

/// The same date one year later; 29 February becomes 1 March in a common year.
pub fn one_year_after(day: i64) -> i64 {
    let (y, m, d) = civil_from_days(day);
    if m == 2 && d == 29 && !is_leap(y + 1) { days_from_civil(y + 1, 3, 1) } else { days_from_civil(y + 1, m, d) }
}

#[cfg(test)]
mod day_tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_dates_are_refused() {
        for s in ["1970-01-01", "2024-02-29", "2026-12-31", "2099-03-01"] {
            assert_eq!(format_day(parse_day(s).unwrap()), s);
        }
        for s in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-1",
            "20260101",
            "",
            "2026-04-31",
            "2026-+1-01",
            "+202-01-01",
            "2026-01-+1",
        ] {
            assert_eq!(parse_day(s), None, "{s}");
        }
        assert_eq!(format_day(one_year_after(parse_day("2024-02-29").unwrap())), "2025-03-01");
        assert_eq!(format_day(one_year_after(parse_day("2026-05-31").unwrap())), "2027-05-31");
        assert_eq!(format_day(today_cst(Millis(1_767_225_600_000 + 16 * Millis::HOUR))), "2026-01-02");
    }
}
