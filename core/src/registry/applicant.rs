//! Issue 18 §1: the account of an establishment applicant (设立登记的申请人), the founding
//! organiser who applies before any certificate exists. It is opened and entered with the
//! mobile number and a code sent to it by SMS: nothing else is known about the person until the
//! application names them.
//!
//! Anyone may ask for a code, so what a crowd can make it cost is bounded: one code a minute and
//! [`PER_MOBILE_HOUR`] an hour to one mobile (no SMS bombing of a stranger), [`PER_CLIENT_HOUR`]
//! an hour to one client address, [`TOTAL_HOUR`] an hour in all (the SMS bill), counted in the
//! database inside the write that queues the message, so every app server counts the same and a
//! refused request leaves nothing. A code lives [`crate::sms::CODE_MINUTES`] and allows
//! [`crate::sms::CODE_TRIES`]; codes, sessions and unused accounts are deleted by the purge.

use serde::{Deserialize, Serialize};

/// Codes one mobile receives in an hour.
pub const PER_MOBILE_HOUR: i64 = 5;
/// Codes asked for from one client address in an hour.
pub const PER_CLIENT_HOUR: i64 = 20;
/// Codes sent to applicants in an hour, platform-wide.
pub const TOTAL_HOUR: i64 = 2_000;
/// How long an applicant's session lasts.
pub const SESSION_HOURS: i64 = 8;

/// A signed-in applicant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    pub id: String,
    /// The account's mobile, masked (R16).
    pub mobile: String,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::error::{DomainError, Result};
    use crate::mask;
    use crate::rate;
    use crate::seal::Column;
    use crate::secret::{Random, Secret, constant_time_eq, token_hash};
    use crate::sms::{self, SmsGateway, SmsKind};
    use crate::store::{Db, query};
    use crate::time::Millis;
    use crate::validate;

    /// A new applicant session: the token for the cookie, and its end.
    #[derive(Debug)]
    pub struct NewSession {
        pub token: Secret,
        pub expires_at: Millis,
    }

    fn mobile_key(db: &Db, mobile: &str) -> String {
        db.vault().mac("applicant-mobile", mobile.as_bytes())
    }

    fn code_hash(mobile_key: &str, code: &str) -> String {
        token_hash(&format!("{mobile_key}:{}", code.trim()))
    }

    /// Sends a sign-in code to `mobile` for the client at `client` (its address); answers the
    /// masked mobile. Bad input or a limit reached: an error, nothing sent or counted.
    pub async fn send_code(
        db: &Db,
        gateway: &SmsGateway,
        mobile: &str,
        client: &str,
        now: Millis,
        random: &Random,
    ) -> Result<String> {
        let mobile = validate::mobile("mobile", mobile).map_err(|e| DomainError::Validation(vec![e]))?;
        let key = mobile_key(db, &mobile);
        let client = db.vault().mac("applicant-client", client.as_bytes());
        let hour = rate::hour_of(now);
        let mut tx = db.begin_write().await?;
        // Mobile first: its minute and its hour, then the client's hour, then the total.
        let limits = [
            ("applicant_sms_mobile", key.as_str(), rate::window_of(now), 1),
            ("hour:applicant_sms_mobile", key.as_str(), hour, PER_MOBILE_HOUR),
            ("hour:applicant_sms_client", client.as_str(), hour, PER_CLIENT_HOUR),
            ("hour:applicant_sms_total", "*", hour, TOTAL_HOUR),
        ];
        for (class, who, window, limit) in limits {
            if !rate::hit_in(&mut tx, class, who, window, limit).await? {
                return Err(DomainError::RateLimited.into());
            }
        }
        // Earlier codes stop working.
        tx.execute(
            query("UPDATE applicant_code SET used_at = $1 WHERE mobile_key = $2 AND used_at IS NULL")
                .bind(now.0)
                .bind(&key),
        )
        .await?;
        let code = random.digits(sms::CODE_DIGITS);
        let code_id = random.id();
        let expires_at = now.plus_minutes(sms::CODE_MINUTES);
        tx.execute(
            query(
                "INSERT INTO applicant_code (id, mobile_key, code_hash, attempts, created_at, expires_at) \
                 VALUES ($1, $2, $3, 0, $4, $5)",
            )
            .bind(&code_id)
            .bind(&key)
            .bind(code_hash(&key, code.expose()))
            .bind(now.0)
            .bind(expires_at.0),
        )
        .await?;
        // The platform's own authority (the root of the tree) sends it: no authority is chosen yet.
        let root: String = tx
            .fetch_one(query("SELECT id FROM authority WHERE parent_id IS NULL ORDER BY created_at, id LIMIT 1"))
            .await?;
        let params = serde_json::json!({ "code": code.expose(), "minutes": sms::CODE_MINUTES.to_string() });
        let kind = (SmsKind::ApplicantSignIn, Some(code_id.as_str()));
        let message = sms::enqueue(&mut tx, &root, kind, &mobile, &params, expires_at, now, random).await?;
        tx.commit().await?;
        gateway.deliver(db, &message, now).await?;
        Ok(mask::mobile(&mobile))
    }

    /// Signs in with the mobile and its latest code (each try counted, [`sms::CODE_TRIES`] per
    /// code); opens the account on its first sign-in.
    pub async fn sign_in(db: &Db, mobile: &str, code: &str, now: Millis, random: &Random) -> Result<NewSession> {
        let mobile = validate::mobile("mobile", mobile).map_err(|e| DomainError::Validation(vec![e]))?;
        let key = mobile_key(db, &mobile);
        let code = code.trim();
        if code.is_empty() {
            return Err(DomainError::field("sms_code", crate::Problem::Required).into());
        }
        if code.len() > 16 {
            return Err(DomainError::field("sms_code", crate::Problem::BadFormat).into());
        }
        let taken: Option<(String, String, i64)> = db
            .fetch_optional(
                query(
                    "UPDATE applicant_code SET attempts = attempts + 1 WHERE id = (SELECT id FROM applicant_code \
                     WHERE mobile_key = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3 \
                     ORDER BY created_at DESC LIMIT 1) AND attempts < $3 RETURNING id, code_hash, CAST(attempts AS BIGINT)",
                )
                .bind(&key)
                .bind(now.0)
                .bind(sms::CODE_TRIES),
            )
            .await?;
        let Some((code_id, hash, attempts)) = taken else {
            return Err(DomainError::SmsCodeWrong { remaining: 0 }.into());
        };
        if !constant_time_eq(&hash, &code_hash(&key, code)) {
            return Err(DomainError::SmsCodeWrong { remaining: (sms::CODE_TRIES - attempts).max(0) }.into());
        }
        let mut tx = db.begin_write().await?;
        let used = tx
            .execute(
                query("UPDATE applicant_code SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
                    .bind(now.0)
                    .bind(&code_id),
            )
            .await?;
        if used != 1 {
            return Err(DomainError::SmsCodeWrong { remaining: 0 }.into());
        }
        let id = random.id();
        let sealed = tx.vault().seal(Column::ApplicantMobile.at(&id), &mobile);
        tx.execute(
            query(
                "INSERT INTO applicant (id, mobile_key, mobile, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (mobile_key) DO UPDATE SET last_seen_at = $4",
            )
            .bind(&id)
            .bind(&key)
            .bind(&sealed)
            .bind(now.0),
        )
        .await?;
        let applicant_id: String =
            tx.fetch_one(query("SELECT id FROM applicant WHERE mobile_key = $1").bind(&key)).await?;
        let token = random.token();
        let expires_at = now.plus_minutes(SESSION_HOURS * 60);
        tx.execute(
            query(
                "INSERT INTO applicant_session (token_hash, applicant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash(token.expose()))
            .bind(&applicant_id)
            .bind(now.0)
            .bind(expires_at.0),
        )
        .await?;
        tx.commit().await?;
        Ok(NewSession { token, expires_at })
    }

    /// The applicant of a live session.
    pub async fn current(db: &Db, token: &str, now: Millis) -> Result<Option<Applicant>> {
        let row: Option<(String, String)> = db
            .fetch_optional(
                query(
                    "SELECT a.id, a.mobile FROM applicant_session s JOIN applicant a ON a.id = s.applicant_id \
                     WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2",
                )
                .bind(token_hash(token))
                .bind(now.0)
                .point_read(),
            )
            .await?;
        let Some((id, mobile)) = row else { return Ok(None) };
        let mobile = mask::mobile(&db.vault().open(Column::ApplicantMobile.at(&id), &mobile)?);
        Ok(Some(Applicant { id, mobile }))
    }

    pub async fn sign_out(db: &Db, token: &str, now: Millis) -> Result<()> {
        db.execute(
            query("UPDATE applicant_session SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL")
                .bind(now.0)
                .bind(token_hash(token)),
        )
        .await?;
        Ok(())
    }
}
