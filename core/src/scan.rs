//! What the requests a wallet answers by scanning a QR share (scan login, R11; scan to sign):
//! the QR carries a one-time code whose hash names a request row; the row is `waiting` until a
//! device scans it, `scanned` by that one device until it answers, and the answer is final.
//! Only the device that scanned may answer, and only before the request expires.

use sqlx::FromRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use crate::secret::token_hash;
use crate::store::Tx;
use crate::{DomainError, Millis, Result, on_tx};

pub const WAITING: &str = "waiting";
pub const SCANNED: &str = "scanned";

/// Where a request row is in scanning: its columns `status`, `device_id` and `expires_at`,
/// read into each kind's row with `#[sqlx(flatten)]`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct Progress {
    pub status: String,
    pub device_id: Option<String>,
    pub expires_at: i64,
}

/// Waiting, or scanned by this very device, and not expired.
pub(crate) fn open_for(p: &Progress, device_id: &str, now: Millis) -> Result<(), DomainError> {
    if p.expires_at <= now.0 {
        return Err(DomainError::CodeExpired);
    }
    match (p.status.as_str(), p.device_id.as_deref()) {
        (WAITING, _) => Ok(()),
        (SCANNED, Some(d)) if d == device_id => Ok(()),
        _ => Err(DomainError::CodeUsed),
    }
}

/// Scanned by this device, not yet answered and not expired: the device may answer now.
pub(crate) fn answerable(p: &Progress, device_id: &str, now: Millis) -> Result<(), DomainError> {
    open_for(p, device_id, now)?;
    if p.status == SCANNED { Ok(()) } else { Err(DomainError::InvalidState) }
}

/// The request of a code, row-locked for the caller's write transaction. `select` reads the row
/// with `code_hash = $1`; `table` is the name (or alias) in it to lock on PostgreSQL.
pub(crate) async fn by_code<R>(tx: &mut Tx, select: &str, table: &str, code: &str) -> Result<R>
where
    R: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let lock = if tx.for_update().is_empty() { String::new() } else { format!(" FOR UPDATE OF {table}") };
    let sql = format!("{select}{lock}");
    let row: Option<R> = on_tx!(tx, |c| sqlx::query_as(&sql).bind(token_hash(code.trim())).fetch_optional(c).await)?;
    row.ok_or_else(|| DomainError::CodeInvalid.into())
}

/// Moves a scanned request to its answer (`status`), once: a second answer, or one from another
/// device, finds no row and is refused as used.
pub(crate) async fn answer(
    tx: &mut Tx,
    table: &'static str,
    id: &str,
    device_id: &str,
    status: &str,
    now: Millis,
) -> Result<()> {
    let sql = format!(
        "UPDATE {table} SET status = $1, updated_at = $2 WHERE id = $3 AND status = '{SCANNED}' AND device_id = $4"
    );
    let n = on_tx!(tx, |c| sqlx::query(&sql)
        .bind(status)
        .bind(now.0)
        .bind(id)
        .bind(device_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    if n == 1 { Ok(()) } else { Err(DomainError::CodeUsed.into()) }
}

/// Marks a request scanned by this device, for this holder.
pub(crate) async fn mark_scanned(
    tx: &mut Tx,
    table: &'static str,
    id: &str,
    holder_id: &str,
    device_id: &str,
    now: Millis,
) -> Result<()> {
    let sql = format!(
        "UPDATE {table} SET status = '{SCANNED}', holder_id = $1, device_id = $2, updated_at = $3 WHERE id = $4"
    );
    on_tx!(tx, |c| sqlx::query(&sql)
        .bind(holder_id)
        .bind(device_id)
        .bind(now.0)
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The registered name of a certificate's institution, which the wallet shows after a scan.
pub(crate) async fn institution_name(tx: &mut Tx, certificate_id: &str) -> Result<String> {
    let (name,): (String,) = on_tx!(tx, |c| sqlx::query_as(
        "SELECT i.name FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1"
    )
    .bind(certificate_id)
    .fetch_one(c)
    .await)?;
    Ok(name)
}
