//! Issue 14 §3: rows that anonymous callers can make — login, OIDC, sign and approval requests,
//! presentations, SMS codes, sessions — are deleted once they have been over for a while, so
//! that a flood of requests leaves no lasting trace in the database. Every app server runs it
//! on a schedule (`ecert-server`), and `ecert-server purge` runs it once.
//!
//! Nothing a record or a rule still needs is deleted: change and usage records stay for ever, an
//! archive package until its retention ends, a
//! sign request that was signed stays for its party for [`SIGNED_KEEP_DAYS`], and an SMS code
//! stays past the hour its sending limit counts; a queued SMS stays [`SMS_KEEP_DAYS`] for staff
//! to see whether it was delivered. Rows are deleted children first, so that the
//! foreign keys of both databases hold throughout.

use crate::store::{Db, query};
use crate::{Millis, Result};

/// How long a row stays after it expired (or ended), in minutes.
pub const PURGE_AFTER_MINUTES: i64 = 120;
/// How long a signed sign request stays, in days: its party fetches the result.
pub const SIGNED_KEEP_DAYS: i64 = 30;
/// How long a queued SMS stays for staff to see whether it was delivered, in days.
pub const SMS_KEEP_DAYS: i64 = 7;
/// How long an establishment applicant's upload waits for the application it belongs to, in hours.
pub const UPLOAD_KEEP_HOURS: i64 = 24;
/// How long an establishment applicant's account that applied for nothing stays after its last
/// sign-in, in days.
pub const APPLICANT_KEEP_DAYS: i64 = 30;
/// How long an establishment application returned for correction waits for it, in days after
/// the return; then it goes with its papers (R16: personal data kept only while it serves).
pub const RETURNED_KEEP_DAYS: i64 = 90;
/// How often every app server purges, in minutes.
pub const PURGE_EVERY_MINUTES: u64 = 10;

/// How many rows one purge deleted, per table, in the order of [`purge`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub tables: Vec<(&'static str, u64)>,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Deletes what expired (or ended) more than [`PURGE_AFTER_MINUTES`] before `now`.
pub async fn purge(db: &Db, now: Millis) -> Result<Purged> {
    let cutoff = now.0 - PURGE_AFTER_MINUTES * Millis::MINUTE;
    let signed_cutoff = now.0 - SIGNED_KEEP_DAYS * Millis::DAY;
    let unsubmitted_cutoff = now.0 - UPLOAD_KEEP_HOURS * Millis::HOUR;
    let idle_cutoff = now.0 - APPLICANT_KEEP_DAYS * Millis::DAY;
    let returned_cutoff = now.0 - RETURNED_KEEP_DAYS * Millis::DAY;
    let steps: [(&'static str, &str, i64); 23] = [
        // OIDC, children first: tokens, then codes no token names, then requests no code names.
        ("oidc_token", "DELETE FROM oidc_token WHERE expires_at < $1", cutoff),
        (
            "oidc_code",
            "DELETE FROM oidc_code WHERE expires_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM oidc_token t WHERE t.code_hash = oidc_code.code_hash)",
            cutoff,
        ),
        (
            "oidc_request",
            "DELETE FROM oidc_request WHERE expires_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM oidc_code c WHERE c.request_id = oidc_request.id)",
            cutoff,
        ),
        (
            "login_request",
            "DELETE FROM login_request WHERE expires_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM oidc_request r WHERE r.login_id = login_request.id)",
            cutoff,
        ),
        ("approval_request", "DELETE FROM approval_request WHERE expires_at < $1", cutoff),
        ("sign_request", "DELETE FROM sign_request WHERE expires_at < $1 AND status <> 'signed'", cutoff),
        (
            "sign_request (signed)",
            "DELETE FROM sign_request WHERE expires_at < $1 AND status = 'signed'",
            signed_cutoff,
        ),
        ("presentation", "DELETE FROM presentation WHERE expires_at < $1", cutoff),
        ("sms_code", "DELETE FROM sms_code WHERE expires_at < $1", cutoff),
        ("sms_message", "DELETE FROM sms_message WHERE created_at < $1", now.0 - SMS_KEEP_DAYS * Millis::DAY),
        ("holder_session", "DELETE FROM holder_session WHERE expires_at < $1 OR ended_at < $1", cutoff),
        ("staff_session", "DELETE FROM staff_session WHERE expires_at < $1", cutoff),
        ("counter_session", "DELETE FROM counter_session WHERE expires_at < $1 OR ended_at < $1", cutoff),
        // Issue 15 §3: archive packages past their configured retention (30 years by default).
        ("archive", "DELETE FROM archive WHERE keep_until < $1", now.0),
        // Issue 17 §1: a rate window is of no use once its minute (or hour) is over.
        (
            "rate_window",
            "DELETE FROM rate_window WHERE window_start < $1 AND class NOT LIKE 'hour:%'",
            now.0 - 2 * Millis::MINUTE,
        ),
        ("rate_window (hourly)", "DELETE FROM rate_window WHERE window_start < $1", now.0 - 2 * Millis::HOUR),
        // Issue 18 §1: establishment applicants' codes and sessions, uploads never submitted,
        // and accounts that applied for nothing and were not used for APPLICANT_KEEP_DAYS.
        ("applicant_code", "DELETE FROM applicant_code WHERE expires_at < $1", cutoff),
        ("applicant_session", "DELETE FROM applicant_session WHERE expires_at < $1 OR ended_at < $1", cutoff),
        (
            "establishment_file (unsubmitted)",
            "DELETE FROM establishment_file WHERE establishment_id IS NULL AND created_at < $1",
            unsubmitted_cutoff,
        ),
        // A returned application never corrected, papers first (they refer to it).
        (
            "establishment_file (abandoned)",
            "DELETE FROM establishment_file WHERE establishment_id IN \
             (SELECT id FROM establishment WHERE status = 'returned' AND reviewed_at < $1)",
            returned_cutoff,
        ),
        (
            "establishment (abandoned)",
            "DELETE FROM establishment WHERE status = 'returned' AND reviewed_at < $1",
            returned_cutoff,
        ),
        (
            "applicant_session (idle account)",
            "DELETE FROM applicant_session WHERE applicant_id IN (SELECT a.id FROM applicant a WHERE a.last_seen_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM establishment e WHERE e.applicant_id = a.id) \
             AND NOT EXISTS (SELECT 1 FROM establishment_file f WHERE f.applicant_id = a.id))",
            idle_cutoff,
        ),
        (
            "applicant (idle)",
            "DELETE FROM applicant WHERE last_seen_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM establishment e WHERE e.applicant_id = applicant.id) \
             AND NOT EXISTS (SELECT 1 FROM establishment_file f WHERE f.applicant_id = applicant.id) \
             AND NOT EXISTS (SELECT 1 FROM applicant_session s WHERE s.applicant_id = applicant.id)",
            idle_cutoff,
        ),
    ];
    let mut purged = Purged::default();
    for (table, sql, before) in steps {
        let n = db.execute(query(sql).bind(before)).await?;
        purged.tables.push((table, n));
    }
    Ok(purged)
}
