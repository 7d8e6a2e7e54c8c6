//! R11 scan login. A PC page asks for a login request and shows its QR; the browser that asked
//! keeps a second secret in a cookie and polls with it. A holder's wallet scans the QR (signed by
//! the device key), sees which system asks and a match code that the PC page shows too, and
//! confirms with the certificate password (signed again) or rejects. A confirmed login is
//! consumed once, by the browser that asked, and becomes a session.
//!
//! States: waiting → scanned → confirmed | rejected, and expired after 5 minutes unless confirmed.
//!
//! A login must not become a session but once, for the browser that started it, and a relying
//! party's login must never become a dashboard session.

pub mod oidc;
#[cfg(feature = "server")]
pub(crate) mod scanning;

use serde::{Deserialize, Serialize};

/// Life of a login QR, in minutes.
pub const LOGIN_MINUTES: i64 = 5;
/// Life of a manager-dashboard session, in hours.
pub const SESSION_HOURS: i64 = 8;
/// The system name of the manager dashboard. A relying party's logins carry its registered
/// name and its id (see [`start_for_party`]).
pub const DASHBOARD: &str = "dashboard";

/// What the polling PC page learns; on the wire as [`LoginState::as_str`] gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginState {
    Waiting,
    Scanned,
    Confirmed,
    Rejected,
    Expired,
    /// No login request for this browser (never asked, or already consumed).
    Unknown,
}

impl LoginState {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginState::Waiting => "waiting",
            LoginState::Scanned => "scanned",
            LoginState::Confirmed => "confirmed",
            LoginState::Rejected => "rejected",
            LoginState::Expired => "expired",
            LoginState::Unknown => "unknown",
        }
    }
}

/// What the wallet shows after scanning: who asks, and the match code to compare with the PC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginPrompt {
    pub system: String,
    pub match_code: String,
    pub institution_name: String,
    pub role: crate::holder::Role,
    pub expires_at: i64,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::scanning;
    use super::*;
    use crate::device::{self, action};
    use crate::error::{DomainError, Result};
    use crate::holder::{Caller, Role};
    use crate::secret::{Random, Secret, token_hash};
    use crate::store::{Db, query};
    use crate::time::Millis;

    /// A new login request: the code for the QR, the browser secret for the cookie, both shown once.
    #[derive(Debug)]
    pub struct Started {
        /// The login request's id (not a secret: it never leaves the server).
        pub id: String,
        pub code: Secret,
        pub browser: Secret,
        pub match_code: String,
        pub expires_at: Millis,
    }

    /// A login for the manager dashboard.
    pub async fn start(db: &Db, system: &str, now: Millis, random: &Random) -> Result<Started> {
        start_with(db, system, None, now, random).await
    }

    /// A login for a relying party (OpenID Connect): the wallet shows `system`, the party's
    /// registered name; the confirmed login is taken with [`take_for_party`], never as a
    /// dashboard session.
    pub async fn start_for_party(
        db: &Db,
        system: &str,
        party_id: &str,
        now: Millis,
        random: &Random,
    ) -> Result<Started> {
        // The wallet shows `dashboard` as the manager dashboard: a party must not pass as it.
        if system.trim().eq_ignore_ascii_case(DASHBOARD) {
            return Err(DomainError::Forbidden.into());
        }
        start_with(db, system, Some(party_id), now, random).await
    }

    async fn start_with(
        db: &Db,
        system: &str,
        party_id: Option<&str>,
        now: Millis,
        random: &Random,
    ) -> Result<Started> {
        let id = random.id();
        let code = random.token();
        let browser = random.token();
        let match_code = random.digits(2).expose().to_owned();
        let expires_at = now.plus_minutes(LOGIN_MINUTES);
        db.execute(query("INSERT INTO login_request (id, code_hash, browser_hash, system, match_code, status, created_at, expires_at, updated_at, party_id) \
             VALUES ($1, $2, $3, $4, $5, 'waiting', $6, $7, $6, $8)").bind(&id).bind(token_hash(code.expose())).bind(token_hash(browser.expose())).bind(system).bind(&match_code).bind(now.0).bind(expires_at.0).bind(party_id)).await?;
        Ok(Started { id, code, browser, match_code, expires_at })
    }

    pub(crate) fn state_of(status: &str, expires_at: i64, now: Millis) -> LoginState {
        match status {
            "confirmed" => LoginState::Confirmed,
            "rejected" => LoginState::Rejected,
            "consumed" => LoginState::Unknown,
            _ if expires_at <= now.0 => LoginState::Expired,
            "scanned" => LoginState::Scanned,
            _ => LoginState::Waiting,
        }
    }

    /// The hot path: one indexed read.
    pub async fn poll(db: &Db, browser: &str, now: Millis) -> Result<LoginState> {
        let row: Option<(String, i64)> = db
            .fetch_optional(
                query("SELECT status, expires_at FROM login_request WHERE browser_hash = $1")
                    .bind(token_hash(browser))
                    .point_read(),
            )
            .await?;
        Ok(row.map_or(LoginState::Unknown, |(s, e)| state_of(&s, e, now)))
    }

    /// A dashboard session token, shown once.
    #[derive(Debug)]
    pub struct Session {
        pub token: Secret,
        pub expires_at: Millis,
    }

    /// Takes a confirmed dashboard login for the browser that asked, exactly once, and opens a
    /// session. A relying party's login never becomes a dashboard session.
    pub async fn consume(db: &Db, browser: &str, now: Millis, random: &Random) -> Result<Option<Session>> {
        let mut tx = db.begin_write().await?;
        let row: Option<(String, String)> = tx
            .fetch_optional(
                query(
                    "UPDATE login_request SET status = 'consumed', updated_at = $1 \
             WHERE browser_hash = $2 AND status = 'confirmed' AND party_id IS NULL RETURNING holder_id, device_id",
                )
                .bind(now.0)
                .bind(token_hash(browser)),
            )
            .await?;
        let Some((holder_id, device_id)) = row else { return Ok(None) };
        let token = random.token();
        let expires_at = Millis(now.0 + SESSION_HOURS * Millis::HOUR);
        tx.execute(query("INSERT INTO holder_session (token_hash, holder_id, device_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)").bind(token_hash(token.expose())).bind(&holder_id).bind(&device_id).bind(now.0).bind(expires_at.0)).await?;
        tx.commit().await?;
        Ok(Some(Session { token, expires_at }))
    }

    /// A confirmed relying-party login, as [`take_for_party`] hands it over.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Taken {
        pub holder_id: String,
        pub device_id: String,
        /// When the holder confirmed (OpenID Connect `auth_time`).
        pub confirmed_at: Millis,
    }

    /// Takes the confirmed login `login_id` of `party_id` for the browser that asked (bound to
    /// its cookie exactly like [`consume`]), exactly once, inside the caller's transaction.
    pub async fn take_for_party(
        tx: &mut crate::store::Tx,
        login_id: &str,
        party_id: &str,
        browser: &str,
        now: Millis,
    ) -> Result<Option<Taken>> {
        let sql = "SELECT holder_id, device_id, updated_at FROM login_request \
             WHERE id = $1 AND party_id = $2 AND browser_hash = $3 AND status = 'confirmed'";
        let row: Option<(String, String, i64)> =
            tx.fetch_optional(query(sql).lock_rows().bind(login_id).bind(party_id).bind(token_hash(browser))).await?;
        let Some((holder_id, device_id, confirmed_at)) = row else { return Ok(None) };
        let n = tx.execute(query("UPDATE login_request SET status = 'consumed', updated_at = $1 WHERE id = $2 AND status = 'confirmed'").bind(now.0).bind(login_id)).await?;
        Ok((n == 1).then_some(Taken { holder_id, device_id, confirmed_at: Millis(confirmed_at) }))
    }

    /// The caller of a dashboard session, while the session, its holder, its device and the
    /// certificate are all live (R8, R14, R15: re-checked on every request).
    pub async fn current(db: &Db, token: &str, now: Millis) -> Result<Option<Caller>> {
        let row: Option<(String, String, crate::holder::Role, String)> = db
            .fetch_optional(
                query(concat!(
                    "SELECT h.id, h.certificate_id, h.role, i.authority_id FROM holder_session s \
             JOIN holder h ON h.id = s.holder_id JOIN device d ON d.id = s.device_id \
             JOIN certificate c ON c.id = h.certificate_id JOIN institution i ON i.id = c.institution_id \
             WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 \
             AND ",
                    crate::binding_live_sql!()
                ))
                .bind(token_hash(token))
                .bind(now.0),
            )
            .await?;
        Ok(row.map(|(holder_id, certificate_id, role, authority_id)| Caller {
            holder_id,
            certificate_id,
            role,
            authority_id,
        }))
    }

    pub async fn end_session(db: &Db, token: &str, now: Millis) -> Result<()> {
        db.execute(
            query("UPDATE holder_session SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL")
                .bind(now.0)
                .bind(token_hash(token)),
        )
        .await?;
        Ok(())
    }

    struct RequestRow {
        id: String,
        system: String,
        match_code: String,
        progress: scanning::Progress,
        party_id: Option<String>,
    }
    crate::store::from_row!(RequestRow { id, system, match_code, party_id  } flatten { progress });

    const REQUEST_SELECT: &str = "SELECT id, system, match_code, status, device_id, expires_at, party_id FROM login_request WHERE code_hash = $1";

    async fn request_by_code(tx: &mut crate::store::Tx, code: &str) -> Result<RequestRow> {
        scanning::by_code(tx, REQUEST_SELECT, "login_request", code).await
    }

    /// The wallet scanned a login QR: marks it scanned by this device and returns what to show.
    pub async fn scan(db: &Db, code: &str, device_id: &str, signature: &str, now: Millis) -> Result<LoginPrompt> {
        let bound = device::signed(db, device_id, &device::message(action::LOGIN_SCAN, code.trim()), signature).await?;
        let mut tx = db.begin_write().await?;
        let row = request_by_code(&mut tx, code).await?;
        scanning::open_for(&row.progress, device_id, now)?;
        // Only the dashboard refuses users; relying parties decide for themselves (by `role`).
        if row.party_id.is_none() && bound.role == Role::User {
            return Err(DomainError::NotAManager.into());
        }
        scanning::mark_scanned(&mut tx, "login_request", &row.id, &bound.holder_id, device_id, now).await?;
        let institution_name = scanning::institution_name(&mut tx, &bound.certificate_id).await?;
        tx.commit().await?;
        Ok(LoginPrompt {
            system: row.system,
            match_code: row.match_code,
            institution_name,
            role: bound.role,
            expires_at: row.progress.expires_at,
        })
    }

    /// The holder confirms (with the certificate password) or rejects a scanned login on the
    /// device that scanned it. Either way a usage record is written (R12).
    pub async fn answer(
        db: &Db,
        code: &str,
        device_id: &str,
        signature: &str,
        approve: Option<Secret>,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        let act = if approve.is_some() { action::LOGIN_APPROVE } else { action::LOGIN_REJECT };
        if approve.as_ref().is_some_and(|p| p.expose().is_empty()) {
            return Err(DomainError::field("certificate_password", crate::error::Problem::Required).into());
        }
        let bound = device::signed(db, device_id, &device::message(act, code.trim()), signature).await?;
        if let Some(password) = approve.clone() {
            // The request must be answerable before a password try is spent on it.
            let row: Option<RequestRow> =
                db.fetch_optional(query(REQUEST_SELECT).bind(token_hash(code.trim()))).await?;
            scanning::answerable(&row.ok_or(DomainError::CodeInvalid)?.progress, device_id, now)?;
            device::check_password(db, device_id, password).await?;
        }
        let mut tx = db.begin_write().await?;
        let row = request_by_code(&mut tx, code).await?;
        scanning::answerable(&row.progress, device_id, now)?;
        let (status, result) = if approve.is_some() { ("confirmed", "confirmed") } else { ("rejected", "rejected") };
        scanning::answer(&mut tx, "login_request", &row.id, device_id, status, now).await?;
        // R12: the record names the relying party that asked, if any.
        let usage = crate::records::Usage {
            certificate_id: &bound.certificate_id,
            holder_id: Some(&bound.holder_id),
            kind: crate::records::UsageKind::Login,
            system: &row.system,
            result,
            party_id: row.party_id.as_deref(),
            counter_id: None,
        };
        crate::records::record_usage(&mut tx, &usage, now, random).await?;
        tx.commit().await?;
        Ok(())
    }
}
