//! What the requests a wallet answers by scanning a QR share (scan login, R11; scan to sign):
//! the QR carries a one-time code whose hash names a request row; the row is `waiting` until a
//! device scans it, `scanned` by that one device until it answers, and the answer is final.
//! Only the device that scanned may answer, and only before the request expires.
//!
//! It must not know what a request is for; login and signing decide that.

use crate::secret::token_hash;
use crate::store::{FromRow, Tx, query};
use crate::{DomainError, Millis, Result};

pub const WAITING: &str = "waiting";
pub const SCANNED: &str = "scanned";

/// Where a request row is in scanning: its columns `status`, `device_id` and `expires_at`,
/// read into each kind's row (`from_row!`'s `flatten`).
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    pub status: String,
    pub device_id: Option<String>,
    pub expires_at: i64,
}
crate::store::from_row!(Progress { status, device_id, expires_at });

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
pub(crate) async fn by_code<R: FromRow>(tx: &mut Tx, select: &str, table: &'static str, code: &str) -> Result<R> {
    let row: Option<R> = tx.fetch_optional(query(select).bind(token_hash(code.trim())).lock_rows_of(table)).await?;
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
    let n = tx.execute(query(&sql).bind(status).bind(now.0).bind(id).bind(device_id)).await?;
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
    tx.execute(query(&sql).bind(holder_id).bind(device_id).bind(now.0).bind(id)).await?;
    Ok(())
}

/// The registered name of a certificate's institution, which the wallet shows after a scan.
pub(crate) async fn institution_name(tx: &mut Tx, certificate_id: &str) -> Result<String> {
    let (name,): (String,) = tx
        .fetch_one(
            query("SELECT i.name FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1")
                .bind(certificate_id),
        )
        .await?;
    Ok(name)
}
