//! Registration-authority staff: sign-in with lockout, and browser sessions.
//!
//! Passwords are argon2id hashes; five wrong passwords in a row lock the account for fifteen
//! minutes. Session tokens are 256-bit random values kept only as SHA-256 hashes.

use serde::{Deserialize, Serialize};

/// A signed-in staff member, as pages see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub is_admin: bool,
    pub authority_id: String,
    pub authority_name: String,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;

    use crate::error::{DomainError, Result};
    use crate::secret::{self, Random, Secret};
    use crate::store::{Db, query};
    use crate::time::Millis;

    pub const MAX_FAILED_ATTEMPTS: i64 = 5;
    pub const LOCKOUT_MINUTES: i64 = 15;
    pub const SESSION_HOURS: i64 = 8;

    /// The statement that counts a wrong password of a row of `table` (`$1` its id) whose count
    /// of wrong passwords in a row is `column`: with `$2` of them the row locks until `$4`. A
    /// lock that has run out (before `$3`, now) starts the count again, so one wrong try after
    /// a lockout is one try, not a lockout again (issue 14 §4). Staff and counters share it.
    pub(crate) fn count_failure_sql(table: &str, column: &str) -> String {
        let ran_out = "locked_until IS NOT NULL AND locked_until <= $3";
        let count = format!("CASE WHEN {ran_out} THEN 1 ELSE {column} + 1 END");
        format!(
            "UPDATE {table} SET {column} = {count}, \
             locked_until = CASE WHEN {count} >= $2 THEN $4 WHEN {ran_out} THEN NULL ELSE locked_until END \
             WHERE id = $1"
        )
    }

    struct Credentials {
        id: String,
        password_hash: String,
        locked_until: Option<i64>,
    }
    crate::store::from_row!(Credentials { id, password_hash, locked_until });

    /// A new session: the token goes into the cookie, and is stored nowhere.
    #[derive(Debug)]
    pub struct NewSession {
        pub token: Secret,
        pub expires_at: Millis,
    }

    pub async fn sign_in(
        db: &Db,
        username: &str,
        password: Secret,
        now: Millis,
        random: &Random,
    ) -> Result<NewSession> {
        let username = username.trim();
        let row: Option<Credentials> = db
            .fetch_optional(
                query("SELECT id, password_hash, locked_until FROM staff WHERE username = $1").bind(username),
            )
            .await?;
        let Some(row) = row else {
            secret::verify_password(password, secret::dummy_hash(random).await).await;
            return Err(DomainError::InvalidCredentials.into());
        };
        if row.locked_until.is_some_and(|u| u > now.0) {
            return Err(DomainError::AccountLocked.into());
        }
        if !secret::verify_password(password, row.password_hash).await {
            // One statement, so concurrent wrong attempts are all counted.
            db.execute(
                query(count_failure_sql("staff", "failed_attempts"))
                    .bind(&row.id)
                    .bind(MAX_FAILED_ATTEMPTS)
                    .bind(now.0)
                    .bind(now.plus_minutes(LOCKOUT_MINUTES).0),
            )
            .await?;
            return Err(DomainError::InvalidCredentials.into());
        }
        // Reset the counter only if no concurrent failure locked the account meanwhile.
        let reset = db.execute(query("UPDATE staff SET failed_attempts = 0, locked_until = NULL WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)").bind(&row.id).bind(now.0)).await?;
        if reset == 0 {
            return Err(DomainError::AccountLocked.into());
        }
        let token = random.token();
        let expires_at = now.plus_minutes(SESSION_HOURS * 60);
        db.execute(
            query("INSERT INTO staff_session (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(secret::token_hash(token.expose()))
                .bind(&row.id)
                .bind(now.0)
                .bind(expires_at.0),
        )
        .await?;
        Ok(NewSession { token, expires_at })
    }

    /// Unlocks a staff member after too many wrong passwords (the operator's command
    /// `ecert-server --unlock`): the count starts again. False when nobody has that name.
    pub async fn unlock(db: &Db, username: &str) -> Result<bool> {
        let sql = "UPDATE staff SET failed_attempts = 0, locked_until = NULL WHERE username = $1";
        Ok(db.execute(query(sql).bind(username.trim())).await? > 0)
    }

    struct StaffRow {
        id: String,
        username: String,
        display_name: String,
        is_admin: bool,
        authority_id: String,
        authority_name: String,
    }
    crate::store::from_row!(StaffRow { id, username, display_name, is_admin, authority_id, authority_name });

    /// The staff member a session token belongs to, if the session is live.
    pub async fn current(db: &Db, token: &str, now: Millis) -> Result<Option<StaffView>> {
        let row: Option<StaffRow> = db
            .fetch_optional(
                query(
                    "SELECT s.id, s.username, s.display_name, s.is_admin, s.authority_id, a.name AS authority_name \
             FROM staff_session ss JOIN staff s ON s.id = ss.staff_id JOIN authority a ON a.id = s.authority_id \
             WHERE ss.token_hash = $1 AND ss.expires_at > $2",
                )
                .bind(secret::token_hash(token))
                .bind(now.0),
            )
            .await?;
        Ok(row.map(|r| StaffView {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            is_admin: r.is_admin,
            authority_id: r.authority_id,
            authority_name: r.authority_name,
        }))
    }

    /// Ends a session; signing out twice is harmless.
    pub async fn sign_out(db: &Db, token: &str) -> Result<()> {
        db.execute(query("DELETE FROM staff_session WHERE token_hash = $1").bind(secret::token_hash(token))).await?;
        Ok(())
    }
}
