//! Time as epoch milliseconds. "Now" is read once at the edge and passed down, so every expiry
//! rule can be tested with explicit instants.

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

#[cfg(test)]
mod cst_tests {
    use super::*;

    #[test]
    fn times_show_in_china_standard_time() {
        assert_eq!(format_cst(Millis(1_767_225_600_000)), "2026-01-01 08:00");
        assert_eq!(format_cst(Millis(1_767_225_600_000 + 16 * Millis::HOUR)), "2026-01-02 00:00");
    }
}
