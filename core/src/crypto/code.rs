//! One-time codes: the short-lived, single-use secrets behind every QR code. Only their SHA-256
//! is stored; redeeming one marks it used in the same transaction that acts on it.

use crate::error::{DomainError, Result};
use crate::secret::{Random, Secret, token_hash};
use crate::store::{Db, Tx, query};
use crate::time::Millis;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeKind {
    /// R2: the first manager claims the certificate.
    Claim,
    /// R4/R5: a manager or user accepts their role face to face.
    Authorize,
    /// R19: an active holder takes up their role again on a new phone.
    Redownload,
    /// R17: a user receives a grant on their own phone (the code names the grant).
    Grant,
}

impl CodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Claim => "claim",
            CodeKind::Authorize => "authorize",
            CodeKind::Redownload => "redownload",
            CodeKind::Grant => "grant",
        }
    }
}

/// The holder a live code of `kind` names — unused, not voided, not expired — for what its
/// bearer may ask before using it (R19: the SMS code of a re-download); `CodeInvalid` otherwise.
pub async fn live_holder(db: &Db, kind: CodeKind, code: &str, now: Millis) -> Result<String> {
    let sql = "SELECT holder_id FROM one_time_code WHERE code_hash = $1 AND kind = $2 \
         AND used_at IS NULL AND voided_at IS NULL AND expires_at > $3";
    let row: Option<Option<String>> =
        db.fetch_optional(query(sql).bind(token_hash(code.trim())).bind(kind.as_str()).bind(now.0)).await?;
    row.flatten().ok_or_else(|| DomainError::CodeInvalid.into())
}

/// R17: creates a grant code for the grant `grant_id` of `holder_id`, valid for `minutes`.
#[allow(clippy::too_many_arguments)]
pub async fn create_for_grant(
    tx: &mut Tx,
    certificate_id: &str,
    holder_id: &str,
    grant_id: &str,
    minutes: i64,
    now: Millis,
    random: &Random,
) -> Result<(Secret, Millis)> {
    let (code, expires_at) = create(tx, CodeKind::Grant, certificate_id, Some(holder_id), minutes, now, random).await?;
    let name = query("UPDATE one_time_code SET grant_id = $1 WHERE code_hash = $2")
        .bind(grant_id)
        .bind(token_hash(code.expose()));
    tx.execute(name).await?;
    Ok((code, expires_at))
}

/// Creates a code valid for `minutes` from `now`; returns it (to show once) and its expiry.
pub async fn create(
    tx: &mut Tx,
    kind: CodeKind,
    certificate_id: &str,
    holder_id: Option<&str>,
    minutes: i64,
    now: Millis,
    random: &Random,
) -> Result<(Secret, Millis)> {
    let code = random.token();
    let expires_at = now.plus_minutes(minutes);
    tx.execute(query("INSERT INTO one_time_code (code_hash, kind, certificate_id, holder_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)").bind(token_hash(code.expose())).bind(kind.as_str()).bind(certificate_id).bind(holder_id).bind(now.0).bind(expires_at.0)).await?;
    Ok((code, expires_at))
}

/// Voids the unused codes of a kind for a holder, so that only the newest one works.
pub async fn void_unused(tx: &mut Tx, kind: CodeKind, holder_id: &str, now: Millis) -> Result<()> {
    tx.execute(query("UPDATE one_time_code SET voided_at = $1 WHERE holder_id = $2 AND kind = $3 AND used_at IS NULL AND voided_at IS NULL").bind(now.0).bind(holder_id).bind(kind.as_str())).await?;
    Ok(())
}

/// The certificate and holder a redeemed code was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    pub certificate_id: String,
    pub holder_id: Option<String>,
}

/// A code's row: certificate, holder, expiry, and when it was used or voided.
type CodeRow = (String, Option<String>, i64, Option<i64>, Option<i64>);

/// Checks a code and marks it used, inside the caller's write transaction. A code works once:
/// of concurrent redemptions exactly one succeeds.
pub async fn redeem(tx: &mut Tx, kind: CodeKind, code: &str, now: Millis) -> Result<Redeemed> {
    let hash = token_hash(code.trim());
    let row: Option<CodeRow> = tx.fetch_optional(query("SELECT certificate_id, holder_id, expires_at, used_at, voided_at FROM one_time_code WHERE code_hash = $1 AND kind = $2").bind(&hash).bind(kind.as_str())).await?;
    let Some((certificate_id, holder_id, expires_at, used_at, voided_at)) = row else {
        return Err(DomainError::CodeInvalid.into());
    };
    if used_at.is_some() {
        return Err(DomainError::CodeUsed.into());
    }
    if voided_at.is_some() {
        return Err(DomainError::CodeInvalid.into());
    }
    if expires_at <= now.0 {
        return Err(DomainError::CodeExpired.into());
    }
    // The guards make the mark itself single-use, whatever the isolation level: a code voided
    // (a newer one made, or its identity tries spent) while this transaction read it is not
    // used afterwards either.
    let marked = tx
        .execute(
            query(
                "UPDATE one_time_code SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL \
                 AND voided_at IS NULL AND expires_at > $1",
            )
            .bind(now.0)
            .bind(&hash),
        )
        .await?;
    if marked != 1 {
        return Err(DomainError::CodeUsed.into());
    }
    Ok(Redeemed { certificate_id, holder_id })
}
