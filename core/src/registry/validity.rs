//! R20: a certificate is valid for a period (by default five years from its issue, like the
//! paper legal-person certificate it stands for). Past its last day it fails every verification
//! and login as a cancelled one does (R15) — the live-binding rule ([`crate::binding_live_sql`])
//! compares `certificate.expires_at` with the time of the request — until staff renew it.
//! Renewal opens three months before expiry, keeps every holder, device and grant, and runs the
//! new period on from the old last day (or from today if it already lapsed).
//!
//! Days are China Standard Time: a certificate issued on 2026-12-02 for five years is valid
//! through 2031-12-01 and lapses at 2031-12-02 00:00 CST.

use serde::{Deserialize, Serialize};

use crate::time::{self, Millis};

/// Years of validity when the configuration names none.
pub const DEFAULT_YEARS: i64 = 5;
/// The longest validity the configuration may set.
pub const MAX_YEARS: i64 = 30;
/// Renewal opens this many months before the first day without validity.
pub const RENEWAL_MONTHS: u32 = 3;

/// Where a certificate stands in its validity period at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Validity {
    /// More than three months to go.
    Valid,
    /// Inside the last three months: renewal is offered.
    RenewalOpen,
    /// Past the last day: it fails every verification and login (R20).
    Expired,
}

/// The instant a certificate lapses: 00:00 CST of the first day after its validity.
pub fn lapses_at(first_day_without: i64) -> Millis {
    Millis(first_day_without * Millis::DAY - 8 * Millis::HOUR)
}

/// The first day (days since 1970-01-01, CST) on which a certificate that lapses at
/// `expires_at` is no longer valid.
pub fn first_day_without(expires_at: Millis) -> i64 {
    time::today_cst(expires_at)
}

/// The last day of validity, `YYYY-MM-DD`, as the certificate's face and the console print it.
pub fn last_day(expires_at: i64) -> String {
    time::format_day(first_day_without(Millis(expires_at)) - 1)
}

/// The same date `years` later; 29 February becomes 1 March in a common year.
pub fn years_after(day: i64, years: i64) -> i64 {
    let (y, m, d) = time::civil_from_days(day);
    let date = format!("{:04}-{m:02}-{d:02}", y + years);
    time::parse_day(&date).unwrap_or_else(|| time::days_from_civil(y + years, 3, 1))
}

/// The same date `months` earlier, clamped to the month's last day (31 May → 28 February).
pub fn months_before(day: i64, months: u32) -> i64 {
    let (y, m, d) = time::civil_from_days(day);
    let index = y * 12 + i64::from(m) - 1 - i64::from(months);
    let (year, month) = (index.div_euclid(12), u32::try_from(index.rem_euclid(12)).unwrap_or(0) + 1);
    let last = (28..=31).rev().find(|d| time::parse_day(&format!("{year:04}-{month:02}-{d:02}")).is_some());
    time::days_from_civil(year, month, d.min(last.unwrap_or(28)))
}

/// When a certificate issued at `issued` for `years` lapses.
pub fn expiry_of_issue(issued: Millis, years: i64) -> Millis {
    lapses_at(years_after(time::today_cst(issued), years))
}

/// The first day renewal is offered for a certificate that lapses at `expires_at`.
pub fn renewal_opens(expires_at: i64) -> i64 {
    months_before(first_day_without(Millis(expires_at)), RENEWAL_MONTHS)
}

/// Where a certificate that lapses at `expires_at` stands at `now`.
pub fn validity_at(expires_at: i64, now: Millis) -> Validity {
    if now.0 >= expires_at {
        Validity::Expired
    } else if time::today_cst(now) >= renewal_opens(expires_at) {
        Validity::RenewalOpen
    } else {
        Validity::Valid
    }
}

/// R20 in SQL, for a certificate named `c`: active and within its validity at `now` (the instant
/// written into the text as a number, so it needs no parameter).
pub fn live_sql(now: Millis) -> String {
    format!("c.status = 'active' AND c.expires_at > {}", now.0)
}

/// R20 in SQL, for a certificate named `c`: active but past its validity at `now`, so it
/// verifies nothing until it is renewed.
pub fn lapsed_sql(now: Millis) -> String {
    format!("c.status = 'active' AND c.expires_at <= {}", now.0)
}

/// The latest lapse instant whose renewal has opened by `now`: a certificate is inside its
/// renewal window at `now` exactly when `now < expires_at <= renewal_open_until(now)`.
pub fn renewal_open_until(now: Millis) -> Millis {
    let today = time::today_cst(now);
    // `months_before` never decreases as the day grows: step down from past three months ahead.
    let mut day = today + 31 * i64::from(RENEWAL_MONTHS) + 4;
    while months_before(day, RENEWAL_MONTHS) > today {
        day -= 1;
    }
    lapses_at(day)
}

/// When a certificate renewed at `now` lapses: `years` after its old expiry, or after today if
/// it had already lapsed — renewing early loses no day, renewing late gives no back-dated one.
pub fn renewed_expiry(expires_at: i64, now: Millis, years: i64) -> Millis {
    let from = first_day_without(Millis(expires_at)).max(time::today_cst(now));
    lapses_at(years_after(from, years))
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use crate::error::{DomainError, Problem, Result};
    use crate::secret::Random;
    use crate::store::{Db, query};
    use crate::time::{self, Millis};

    /// What `ecert-server certificate validity` did.
    #[derive(Debug)]
    pub struct Set {
        pub serial: String,
        pub institution_name: String,
        pub last_day: String,
    }

    /// Sets the last day of validity of the certificate `serial` from the command line — for
    /// certificates brought over from paper, whose last day is printed on them, or to correct
    /// one. Recorded in the action log of its authority as done by the system. A day in the
    /// past makes the certificate lapse at once (R20).
    pub async fn set_from_command_line(
        db: &Db,
        serial: &str,
        last_day: &str,
        now: Millis,
        random: &Random,
    ) -> Result<Set> {
        // A real day, and not further than the longest validity from today.
        let latest = super::years_after(time::today_cst(now), super::MAX_YEARS);
        let day = time::parse_day(last_day)
            .filter(|d| *d <= latest)
            .ok_or_else(|| DomainError::field("last_day", Problem::BadFormat))?;
        let expires_at = super::lapses_at(day + 1);
        let mut tx = db.begin_write().await?;
        let row: Option<(String, String, String)> = tx
            .fetch_optional(
                query(
                    "SELECT c.id, c.authority_id, i.name FROM certificate c JOIN institution i ON i.id = c.institution_id \
                     WHERE c.serial = $1 AND c.status = 'active'",
                )
                .lock_rows_of("c")
                .bind(serial.trim()),
            )
            .await?;
        let (certificate_id, authority_id, institution_name) = row.ok_or(DomainError::NotFound)?;
        tx.execute(
            query("UPDATE certificate SET expires_at = $1 WHERE id = $2").bind(expires_at.0).bind(&certificate_id),
        )
        .await?;
        // Issue 18 §3: the directory's subscribers see the new validity as a renewal would show it.
        crate::feed::append(&mut tx, &certificate_id, crate::changes::ChangeKind::Renewed, now).await?;
        let detail = format!("{} → {}", serial.trim(), time::format_day(day));
        let target = ("certificate", certificate_id.as_str());
        crate::staff::record(&mut tx, None, &authority_id, "certificate_validity_set", target, &detail, now, random)
            .await?;
        tx.commit().await?;
        Ok(Set { serial: serial.trim().to_owned(), institution_name, last_day: time::format_day(day) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> i64 {
        time::parse_day(s).unwrap_or_else(|| panic!("{s}"))
    }

    fn at_cst(s: &str, hour: i64) -> Millis {
        Millis(day(s) * Millis::DAY + (hour - 8) * Millis::HOUR)
    }

    #[test]
    fn five_years_end_the_day_before_the_anniversary_in_china_standard_time() {
        // Issued 2026-12-02 at 07:00 CST (still 2026-12-01 in UTC).
        let expires = expiry_of_issue(at_cst("2026-12-02", 7), 5);
        assert_eq!(last_day(expires.0), "2031-12-01");
        assert_eq!(validity_at(expires.0, at_cst("2031-12-01", 23)), Validity::RenewalOpen);
        assert_eq!(validity_at(expires.0, at_cst("2031-12-02", 0)), Validity::Expired);
        assert_eq!(expires, at_cst("2031-12-02", 0));
    }

    #[test]
    fn renewal_opens_three_calendar_months_before() {
        let expires = lapses_at(day("2031-05-31")).0;
        assert_eq!(time::format_day(renewal_opens(expires)), "2031-02-28");
        assert_eq!(validity_at(expires, at_cst("2031-02-27", 23)), Validity::Valid);
        assert_eq!(validity_at(expires, at_cst("2031-02-28", 0)), Validity::RenewalOpen);
        assert_eq!(time::format_day(months_before(day("2032-01-15"), 3)), "2031-10-15");
    }

    #[test]
    fn the_renewal_window_bound_matches_validity_at() {
        for now_day in ["2031-02-27", "2031-02-28", "2031-03-01", "2031-11-30", "2032-05-31"] {
            let now = at_cst(now_day, 12);
            let until = renewal_open_until(now).0;
            assert_eq!(validity_at(until, now), Validity::RenewalOpen, "{now_day}");
            assert_eq!(validity_at(until + Millis::DAY, now), Validity::Valid, "{now_day}");
        }
    }

    #[test]
    fn renewing_early_keeps_the_remaining_days_and_renewing_late_starts_today() {
        let expires = lapses_at(day("2031-12-02")).0;
        let early = renewed_expiry(expires, at_cst("2031-10-01", 10), 5);
        assert_eq!(last_day(early.0), "2036-12-01");
        let late = renewed_expiry(expires, at_cst("2032-03-10", 10), 5);
        assert_eq!(last_day(late.0), "2037-03-09");
        // 29 February becomes 1 March.
        assert_eq!(time::format_day(years_after(day("2028-02-29"), 1)), "2029-03-01");
        assert_eq!(time::format_day(years_after(day("2028-02-29"), 4)), "2032-02-29");
    }
}
