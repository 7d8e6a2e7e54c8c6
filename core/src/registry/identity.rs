//! Identity verification (R4): a person's name and resident ID number are checked before they
//! are saved. Production asks the national population platform (or a provincial gateway to it)
//! through the HTTP adapter; the local checker, the default, accepts any well-formed pair.
//!
//! The HTTP adapter's contract (documented in README.md): `POST {url}` with the JSON body
//! `{"name": "…", "id_number": "…"}`; the service answers `200` with `{"match": true|false}`.
//! Anything else — another status, a malformed body, a timeout — means "the identity service is
//! unavailable", and nothing is saved. Plain `http://` only: inside a government network the
//! service is usually reached through a local gateway that terminates TLS.

use crate::error::{DomainError, FieldError, Problem};

/// Which identity service checks people.
#[derive(Clone, Debug, Default)]
pub enum IdentityVerifier {
    /// Checks the form of the name and the GB 11643 check character only.
    #[default]
    Local,
    /// Asks an identity service over HTTP (after the local form checks).
    #[cfg(feature = "server")]
    Http(HttpVerifier),
}

impl IdentityVerifier {
    /// The result an archive records of a check this verifier passed (issue 15 §3).
    pub fn passed(&self) -> &'static str {
        match self {
            IdentityVerifier::Local => "verified: local form checks",
            #[cfg(feature = "server")]
            IdentityVerifier::Http(_) => "verified: identity service",
        }
    }
}

/// Where and how long to ask.
#[cfg(feature = "server")]
#[derive(Clone, Debug)]
pub struct HttpVerifier {
    pub url: String,
    pub timeout: std::time::Duration,
}

/// Issue 14 §5: name / ID number pairs the identity service may refuse for one caller in a day;
/// past them it is not asked again until the day is over (the service must not become an oracle
/// that tells which ID number belongs to a name).
pub const MISSES_PER_DAY: i64 = 10;

/// The local form checks of a pair, before any service is asked.
fn check_form(field: &str, name: &str, id_number: &str) -> Result<(), DomainError> {
    crate::validate::resident_id(field, id_number).map_err(|e| DomainError::Validation(vec![e]))?;
    if crate::validate::person_name("person_name", name).is_err() {
        return Err(DomainError::Validation(vec![FieldError::new("person_name", Problem::BadFormat)]));
    }
    Ok(())
}

impl IdentityVerifier {
    /// `Ok` when the service confirms that `id_number` belongs to `name`. Callers acting for
    /// someone use [`IdentityVerifier::verify_for`], which limits and records refusals.
    pub async fn verify(&self, field: &str, name: &str, id_number: &str) -> Result<(), DomainError> {
        check_form(field, name, id_number)?;
        match self {
            IdentityVerifier::Local => Ok(()),
            #[cfg(feature = "server")]
            IdentityVerifier::Http(http) => match http.ask(name, id_number).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(DomainError::IdentityMismatch),
                Err(reason) => {
                    tracing::warn!(%reason, "identity service unavailable");
                    Err(DomainError::IdentityUnavailable)
                }
            },
        }
    }
}

/// Who asks the identity service: a staff member issuing or changing a certificate, or a manager
/// adding someone. Each has its own daily budget of refused pairs.
#[cfg(feature = "server")]
#[derive(Clone, Copy, Debug)]
pub enum Asker<'a> {
    Staff(&'a str),
    Holder(&'a str),
}

#[cfg(feature = "server")]
impl Asker<'_> {
    fn key(&self) -> String {
        match self {
            Asker::Staff(id) => format!("staff:{id}"),
            Asker::Holder(id) => format!("holder:{id}"),
        }
    }
}

#[cfg(feature = "server")]
impl IdentityVerifier {
    /// [`IdentityVerifier::verify`] for `asker`, within its budget of [`MISSES_PER_DAY`] refused
    /// pairs (issue 14 §5). A question takes one before the service is asked, so concurrent
    /// questions cannot pass the budget, and gives it back unless the answer is a mismatch;
    /// every mismatch is recorded (who, which field, when). Past the budget the answer is
    /// `RateLimited` and the service is not asked. The local checker asks no one and counts nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn verify_for(
        &self,
        db: &crate::store::Db,
        asker: Asker<'_>,
        field: &str,
        name: &str,
        id_number: &str,
        now: crate::Millis,
        random: &crate::secret::Random,
    ) -> crate::Result<()> {
        use crate::store::query;
        check_form(field, name, id_number)?;
        if matches!(self, IdentityVerifier::Local) {
            return Ok(());
        }
        let key = asker.key();
        db.execute(
            query("INSERT INTO identity_budget (asker, window_start, misses) VALUES ($1, $2, 0) ON CONFLICT (asker) DO NOTHING")
                .bind(&key)
                .bind(now.0),
        )
        .await?;
        db.execute(
            query("UPDATE identity_budget SET window_start = $2, misses = 0 WHERE asker = $1 AND window_start <= $3")
                .bind(&key)
                .bind(now.0)
                .bind(now.0 - crate::Millis::DAY),
        )
        .await?;
        let taken: Option<i64> = db
            .fetch_optional(
                query(
                    "UPDATE identity_budget SET misses = misses + 1 WHERE asker = $1 AND misses < $2 RETURNING misses",
                )
                .bind(&key)
                .bind(MISSES_PER_DAY),
            )
            .await?;
        if taken.is_none() {
            tracing::warn!(asker = %key, field, "identity checks refused: too many mismatches today");
            return Err(DomainError::RateLimited.into());
        }
        let answer = self.verify(field, name, id_number).await;
        if answer == Err(DomainError::IdentityMismatch) {
            tracing::warn!(asker = %key, field, "identity mismatch");
            db.execute(
                query("INSERT INTO identity_mismatch (id, asker, field, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(random.id())
                    .bind(&key)
                    .bind(field)
                    .bind(now.0),
            )
            .await?;
        } else {
            db.execute(
                query("UPDATE identity_budget SET misses = misses - 1 WHERE asker = $1 AND misses > 0").bind(&key),
            )
            .await?;
        }
        Ok(answer?)
    }
}

#[cfg(feature = "server")]
impl HttpVerifier {
    /// Asks the service; `Err` carries a reason for the log (never personal data).
    async fn ask(&self, name: &str, id_number: &str) -> Result<bool, String> {
        let body = serde_json::json!({ "name": name, "id_number": id_number }).to_string();
        let (status, bytes) = super::outbound::post_json(&self.url, &[], body, self.timeout)
            .await
            .map_err(|reason| format!("identity service: {reason}"))?;
        if status != hyper::StatusCode::OK {
            return Err(format!("identity service answered {status}"));
        }
        let answer: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        answer.get("match").and_then(|m| m.as_bool()).ok_or_else(|| "answer has no boolean \"match\"".to_owned())
    }
}
