//! Issue 16 journey 4: the certificate face on the phone. A device whose holder still holds the
//! role reads it after the certificate password — also once the certificate was cancelled,
//! deleted or has lapsed (R15, R20 stop every use of it, not the record of it).

use super::holder::*;
use super::views::{changes, me};
use crate::device::{self, action};
use crate::error::{DomainError, Result};
use crate::mask;
use crate::secret::Secret;
use crate::store::{Db, query};
use crate::time::Millis;

/// A device whose binding and role are live, whatever its certificate's state: the device's
/// timed signature of `act` over itself checked like [`device::signed_fresh`] (its key, the
/// clock, never the same signing time twice). For reading the record only.
async fn signed_for_record(
    db: &Db,
    device_id: &str,
    act: &str,
    (signed_at, signature): (i64, &str),
    now: Millis,
) -> Result<device::Bound> {
    if now.0.abs_diff(signed_at) > (device::SIGNED_AT_SKEW_MINUTES * Millis::MINUTE).unsigned_abs() {
        return Err(DomainError::StaleSignature.into());
    }
    let sql = "SELECT d.id AS device_id, h.id AS holder_id, h.certificate_id, h.role, d.public_key \
               FROM device d JOIN holder h ON h.id = d.holder_id \
               WHERE d.id = $1 AND d.status = 'active' AND h.status = 'active'";
    let bound: Option<device::Bound> = db.fetch_optional(query(sql).bind(device_id)).await?;
    let bound = bound.ok_or(DomainError::Revoked)?;
    let message = device::message(act, &device::timed_subject(device_id, signed_at));
    device::verify(&bound.public_key, &message, signature)?;
    let moved = query("UPDATE device SET last_signed_at = $1 WHERE id = $2 AND last_signed_at < $1")
        .bind(signed_at)
        .bind(device_id);
    if db.execute(moved).await? != 1 {
        return Err(DomainError::StaleSignature.into());
    }
    Ok(bound)
}

/// The certificate face of the holder of `device_id`, after its certificate password (R13:
/// a wrong one counts). Signed `face` over the device id and the time of signing.
pub async fn face(
    db: &Db,
    device_id: &str,
    signed: (i64, &str),
    password: Secret,
    now: Millis,
) -> Result<CertificateFace> {
    let bound = signed_for_record(db, device_id, action::FACE, signed, now).await?;
    device::check_password(db, device_id, password).await?;
    let caller = super::views::caller_of(db, &bound).await?;
    type Row = (String, String, String, String, String, String, i64, i64, crate::certificate::CertificateStatus);
    let sql = "SELECT i.name, i.credit_code, i.address, i.legal_rep_name, a.name, c.serial, c.issued_at, c.expires_at, c.status \
               FROM certificate c JOIN institution i ON i.id = c.institution_id JOIN authority a ON a.id = i.authority_id \
               WHERE c.id = $1";
    let row: Row = db.fetch_one(query(sql).bind(&bound.certificate_id)).await?;
    let (institution_name, credit_code, address, rep, authority_name, serial, issued_at, expires_at, status) = row;
    Ok(CertificateFace {
        institution_name,
        credit_code,
        address,
        legal_rep_name: mask::person_name(&rep),
        authority_name,
        serial,
        issued_at,
        expires_at,
        validity: crate::validity::validity_at(expires_at, now),
        status,
        holder: me(db, &caller, now).await?,
        changes: changes(db, &caller, 50).await?,
    })
}

/// The holder's own usage records (R12), a page at a time, newest first — also after the
/// certificate was cancelled, deleted or has lapsed. Signed `records` over the device id and the
/// time of signing.
pub async fn own_records(
    db: &Db,
    device_id: &str,
    signed: (i64, &str),
    page: i64,
    now: Millis,
) -> Result<crate::usage::UsagePage> {
    let bound = signed_for_record(db, device_id, action::RECORDS, signed, now).await?;
    let caller = super::views::caller_of(db, &bound).await?;
    let filter = crate::usage::UsageFilter { page, ..Default::default() };
    crate::usage::list_own(db, &caller, &filter).await
}
