//! The holder's side of scan to sign (server): the device scans the request's code, sees who
//! asks and what for, and signs the payload with its key and the certificate password, or
//! rejects. Every answer re-checks the live binding (R8) inside its transaction.

use super::request::*;
use super::*;
use crate::device::{self, action};
use crate::error::{DomainError, Problem, Result};
use crate::holder::Role;
use crate::login::scanning;
use crate::records::{self, Usage};
use crate::secret::{Random, Secret, token_hash};
use crate::store::{Db, Tx};
use crate::time::{self, Millis};
use crate::{jws, mask, store::query};

pub(super) struct RequestRow {
    pub(super) id: String,
    pub(super) party_id: String,
    pub(super) party_name: String,
    pub(super) digest: String,
    pub(super) description: String,
    pub(super) document_name: Option<String>,
    pub(super) progress: scanning::Progress,
}

crate::store::from_row!(RequestRow { id, party_id, party_name, digest, description, document_name  } flatten { progress });

/// A request of an active party by its code; the caller adds the row lock where it writes.
pub(super) const REQUEST_SELECT: &str = "SELECT r.id, r.party_id, p.name AS party_name, r.digest, r.description, \
     r.document_name, r.status, r.device_id, r.expires_at \
     FROM sign_request r JOIN relying_party p ON p.id = r.party_id \
     WHERE r.code_hash = $1 AND p.status = 'active'";

pub(super) async fn request_by_code(tx: &mut Tx, code: &str) -> Result<RequestRow> {
    scanning::by_code(tx, REQUEST_SELECT, "r", code).await
}

/// R6: the matters of a user's grants in force today (several grants: all their matters,
/// once each). Empty for a user means it may not sign.
pub(super) async fn matters_in_force(tx: &mut Tx, holder_id: &str, now: Millis) -> Result<Vec<MatterView>> {
    let today = time::format_day(time::today_cst(now));
    let rows: Vec<(String, String, String, i64)> = tx
        .fetch_all(
            query(concat!(
                "SELECT DISTINCT m.id, m.name_zh, m.name_en, m.created_at FROM holder_grant g \
             JOIN grant_matter gm ON gm.grant_id = g.id JOIN matter m ON m.id = gm.matter_id \
             WHERE g.holder_id = $1 AND ",
                crate::grant_in_force_sql!("g", "$2"),
                " ORDER BY m.created_at, m.id"
            ))
            .bind(holder_id)
            .bind(&today),
        )
        .await?;
    Ok(rows.into_iter().map(|(id, name_zh, name_en, _)| MatterView { id, name_zh, name_en }).collect())
}

/// The wallet scanned a sign QR: marks it scanned by this device and returns what to show.
/// A user without a grant in force is refused here already (`NoGrantInForce`), and again at
/// signing.
pub async fn scan(db: &Db, code: &str, device_id: &str, signature: &str, now: Millis) -> Result<SignPrompt> {
    let bound = device::signed(db, device_id, &device::message(action::SIGN_SCAN, code.trim()), signature, now).await?;
    let mut tx = db.begin_write().await?;
    let row = request_by_code(&mut tx, code).await?;
    scanning::open_for(&row.progress, device_id, now)?;
    if bound.role == Role::User && matters_in_force(&mut tx, &bound.holder_id, now).await?.is_empty() {
        return Err(DomainError::NoGrantInForce.into());
    }
    scanning::mark_scanned(&mut tx, "sign_request", &row.id, &bound.holder_id, device_id, now).await?;
    let institution_name = scanning::institution_name(&mut tx, &bound.certificate_id).await?;
    tx.commit().await?;
    Ok(SignPrompt {
        digest_hex: digest_hex(&row.digest),
        request_id: row.id,
        party_id: row.party_id,
        party_name: row.party_name,
        description: row.description,
        document_name: row.document_name,
        digest: row.digest,
        institution_name,
        role: bound.role,
        expires_at: row.progress.expires_at,
    })
}

/// What the wallet sends to sign: the device's signature over [`payload`] made at
/// `signed_at`, and the certificate password.
#[derive(Debug)]
pub struct SignConfirm<'a> {
    pub code: &'a str,
    pub device_id: &'a str,
    pub signed_at: i64,
    pub signature: &'a str,
    pub password: Secret,
}

/// The live binding of a device with what the attestation says of its holder, row-locked.
pub(super) struct SignerRow {
    pub(super) holder_id: String,
    pub(super) certificate_id: String,
    pub(super) role: crate::holder::Role,
    pub(super) public_key: String,
    pub(super) holder_name: String,
    pub(super) institution_name: String,
    pub(super) credit_code: String,
    pub(super) serial: String,
}

crate::store::from_row!(SignerRow {
    holder_id,
    certificate_id,
    role,
    public_key,
    holder_name,
    institution_name,
    credit_code,
    serial
});

/// The holder confirms a scanned request on the device that scanned it: checks the device's
/// signature over the payload, the certificate password (a wrong one counts, R13), and
/// re-reads the binding and the grants (R8, R15, R6) in the transaction that stores the
/// signature, the platform's attestation and the usage record (R12). A request is signed once,
/// also when two confirmations race.
pub async fn confirm(db: &Db, request: SignConfirm<'_>, issuer: &str, now: Millis, random: &Random) -> Result<()> {
    if request.password.expose().is_empty() {
        return Err(DomainError::field("certificate_password", Problem::Required).into());
    }
    if now.0.abs_diff(request.signed_at) > (device::SIGNED_AT_SKEW_MINUTES * Millis::MINUTE).unsigned_abs() {
        return Err(DomainError::StaleSignature.into());
    }
    // The request must be answerable before a password try is spent on it.
    let row: Option<RequestRow> =
        db.fetch_optional(query(REQUEST_SELECT).bind(token_hash(request.code.trim()))).await?;
    let row = row.ok_or(DomainError::CodeInvalid)?;
    scanning::answerable(&row.progress, request.device_id, now)?;
    let signed = payload(&row.id, &row.party_id, &row.digest, request.signed_at);
    device::signed(db, request.device_id, &signed, request.signature, now).await?;
    device::check_password(db, request.device_id, request.password).await?;
    // Made (on first use) outside the write transaction, which must not wait on another writer.
    let key = jws::key(db, jws::Purpose::SignAttestation, now, random).await?;

    let mut tx = db.begin_write().await?;
    let row = request_by_code(&mut tx, request.code).await?;
    scanning::answerable(&row.progress, request.device_id, now)?;
    // R8, R14, R15: the binding may have been voided since the signature was checked.
    let sql = concat!(
        "SELECT h.id AS holder_id, h.certificate_id, h.role, d.public_key, h.name AS holder_name, \
         i.name AS institution_name, i.credit_code, c.serial \
         FROM device d JOIN holder h ON h.id = d.holder_id JOIN certificate c ON c.id = h.certificate_id \
         JOIN institution i ON i.id = c.institution_id \
         WHERE d.id = $1 AND ",
        crate::binding_live_sql!("$2")
    );
    let live: Option<SignerRow> =
        tx.fetch_optional(query(sql).lock_rows_of("d").bind(request.device_id).bind(now.0)).await?;
    let live = live.ok_or(DomainError::Revoked)?;
    // The key that signed must still be the bound one (it cannot change, but say so).
    device::verify(&live.public_key, &signed, request.signature)?;
    let matters = if live.role == Role::User {
        let matters = matters_in_force(&mut tx, &live.holder_id, now).await?;
        if matters.is_empty() {
            // R6, R17: a user signs only inside a received grant's period.
            return Err(DomainError::NoGrantInForce.into());
        }
        matters
    } else {
        Vec::new()
    };
    let signer = SignerView {
        name: mask::person_name(&live.holder_name),
        role: live.role,
        institution_name: live.institution_name.clone(),
        credit_code: live.credit_code.clone(),
        certificate_serial: live.serial.clone(),
        matters,
    };
    let public_key = device_public_key(&live.public_key)?;
    let attestation = attest(
        &key,
        &Attested {
            issuer,
            request_id: &row.id,
            client_id: &row.party_id,
            digest: &row.digest,
            payload: &signed,
            signature: request.signature.trim(),
            public_jwk: &public_key.1,
            signed_at: request.signed_at,
            signer: &signer,
        },
        now,
    );
    let signer_json = serde_json::to_string(&signer).unwrap_or_default();
    let n = tx.execute(query("UPDATE sign_request SET status = 'signed', signed_at = $1, signature = $2, public_key = $3, signer = $4, \
         attestation = $5, updated_at = $6 WHERE id = $7 AND status = 'scanned' AND device_id = $8").bind(request.signed_at).bind(request.signature.trim()).bind(&public_key.0).bind(&signer_json).bind(&attestation).bind(now.0).bind(&row.id).bind(request.device_id)).await?;
    if n != 1 {
        return Err(DomainError::CodeUsed.into());
    }
    record(&mut tx, &row, &live.certificate_id, &live.holder_id, SIGNED, now, random).await?;
    tx.commit().await?;
    Ok(())
}

/// R12: the usage record of an answered request, naming the party that asked.
pub(super) async fn record(
    tx: &mut Tx,
    row: &RequestRow,
    certificate_id: &str,
    holder_id: &str,
    result: &str,
    now: Millis,
    random: &Random,
) -> Result<()> {
    let usage = Usage {
        certificate_id,
        holder_id: Some(holder_id),
        kind: records::UsageKind::Sign,
        system: &row.party_name,
        result,
        party_id: Some(&row.party_id),
        counter_id: None,
    };
    records::record_usage(tx, &usage, now, random).await
}

/// The holder rejects a scanned request on the device that scanned it (R12: recorded).
pub async fn reject(db: &Db, code: &str, device_id: &str, signature: &str, now: Millis, random: &Random) -> Result<()> {
    let bound =
        device::signed(db, device_id, &device::message(action::SIGN_REJECT, code.trim()), signature, now).await?;
    let mut tx = db.begin_write().await?;
    let row = request_by_code(&mut tx, code).await?;
    scanning::answerable(&row.progress, device_id, now)?;
    scanning::answer(&mut tx, "sign_request", &row.id, device_id, status::REJECTED, now).await?;
    record(&mut tx, &row, &bound.certificate_id, &bound.holder_id, REJECTED, now, random).await?;
    tx.commit().await?;
    Ok(())
}

/// What the platform attests about one signature.
pub(super) struct Attested<'a> {
    pub(super) issuer: &'a str,
    pub(super) request_id: &'a str,
    pub(super) client_id: &'a str,
    pub(super) digest: &'a str,
    pub(super) payload: &'a str,
    pub(super) signature: &'a str,
    pub(super) public_jwk: &'a EcJwk,
    pub(super) signed_at: i64,
    pub(super) signer: &'a SignerView,
}

/// The attestation: a compact JWS (ES256) whose claims say that the key `cnf.jwk` (RFC 7800)
/// belongs to `signer` and that it made `signature` over `payload` for `aud`, as the
/// platform checked at `iat`.
pub(super) fn attest(key: &jws::PlatformKey, a: &Attested<'_>, now: Millis) -> String {
    let claims = serde_json::json!({
        "iss": a.issuer,
        "aud": a.client_id,
        "jti": a.request_id,
        "iat": now.0 / 1000,
        "request_id": a.request_id,
        "digest": a.digest,
        "signed_at": a.signed_at,
        "payload": a.payload,
        "signature": a.signature,
        "cnf": { "jwk": a.public_jwk },
        "signer": a.signer,
    });
    key.sign(ATTESTATION_TYP, &claims)
}
