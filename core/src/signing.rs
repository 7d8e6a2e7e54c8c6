//! Scan to sign (issue 4, journey 5). A relying party, authenticated by its client id and
//! secret, asks for a signature over a document's SHA-256 digest and shows the request as a QR.
//! A holder's wallet scans it (signed by the device key), shows who asks, what for and the
//! digest, and the holder confirms with the certificate password: the device key signs the
//! canonical [`payload`], which names the request, the party, the digest and the signing time.
//! The platform checks that signature, attests in a JWS of its own which certificate holder the
//! key belongs to, and keeps both for the party to fetch. The holder may reject instead.
//!
//! States: waiting → scanned → signed | rejected; expired after 5 minutes unless signed. A
//! request is signed once. The holder, its device, the certificate and (for a user, R6) a grant
//! in force are re-read when signing, so removal, cancellation and lapse take effect at once
//! (R8, R15). Signing and rejecting write a usage record naming the party (R12).
//!
//! This module never shows a holder's ID number or mobile to a party (R16): the signer's name is
//! masked.

use serde::{Deserialize, Serialize};

use crate::holder::MatterView;

/// Life of a sign request's QR, in minutes.
pub const SIGN_MINUTES: i64 = 5;
/// Longest description and document name, in characters.
pub const DESCRIPTION_MAX: usize = 200;
pub const DOCUMENT_NAME_MAX: usize = 200;
/// The first line of every payload a device signs for a sign request. Device approvals (claim,
/// login, present …) start with `ecert/v1`, so neither kind of signature passes for the other.
pub const PAYLOAD_PREFIX: &str = "ecert-sign/v1";
/// The `typ` of the platform's attestation JWS, so that it cannot be taken for another token
/// signed with the same key (RFC 8725 §3.11).
pub const ATTESTATION_TYP: &str = "ecert-sign-attestation+jwt";

/// The exact text a device signs to sign a document: the fixed prefix, the request id, the
/// relying party's client id, the digest (base64url) and the signing time (epoch ms, decimal),
/// one per line with LF and no trailing newline.
pub fn payload(request_id: &str, client_id: &str, digest: &str, signed_at: i64) -> String {
    format!("{PAYLOAD_PREFIX}\n{request_id}\n{client_id}\n{digest}\n{signed_at}")
}

/// The status of a sign request.
pub mod status {
    pub const WAITING: &str = "waiting";
    pub const SCANNED: &str = "scanned";
    pub const SIGNED: &str = "signed";
    pub const REJECTED: &str = "rejected";
    pub const EXPIRED: &str = "expired";
}

/// What the wallet shows after scanning: who asks, what for, and the digest to compare.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignPrompt {
    /// Part of the signed payload.
    pub request_id: String,
    /// The relying party's client id; part of the signed payload.
    pub party_id: String,
    /// The party's name as its authority registered it.
    pub party_name: String,
    pub description: String,
    pub document_name: Option<String>,
    /// SHA-256 of the document, base64url without padding; part of the signed payload.
    pub digest: String,
    /// The same 32 bytes in hex, grouped by 4 characters, for comparing by eye.
    pub digest_hex: String,
    pub institution_name: String,
    pub role: crate::holder::Role,
    pub expires_at: i64,
}

/// Who signed, as the platform attests it to the party (masked, R16).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerView {
    /// Masked (`张*`).
    pub name: String,
    pub role: crate::holder::Role,
    pub institution_name: String,
    pub credit_code: String,
    pub certificate_serial: String,
    /// For a user: the matters of its grants in force on the day of signing; empty otherwise.
    pub matters: Vec<MatterView>,
}

/// A signature, with what a party needs to verify it (see `docs/signing.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureView {
    /// The exact text the device signed ([`payload`]).
    pub payload: String,
    /// ECDSA P-256 over SHA-256 of the UTF-8 payload, `r‖s` (64 bytes), base64url.
    pub signature: String,
    /// The device's public key: uncompressed SEC1 point, base64url (WebCrypto `raw`).
    pub public_key: String,
    /// The same key as a JWK (RFC 7517).
    pub public_jwk: EcJwk,
    pub signed_at: i64,
    pub signer: SignerView,
    /// The platform's ES256 JWS binding the key to the signer (keys at `/api/v1/sign/keys`).
    pub attestation: String,
}

/// A sign request as its relying party sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRequestView {
    pub id: String,
    /// `waiting`, `scanned`, `signed` or `rejected` (an expired request answers `410`).
    pub status: String,
    pub digest: String,
    pub description: String,
    pub document_name: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// Present once signed.
    pub signature: Option<SignatureView>,
}

/// A P-256 public key as a JWK (RFC 7517, RFC 7518 §6.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcJwk {
    /// `EC`.
    pub kty: String,
    /// `P-256`.
    pub crv: String,
    /// The coordinates, 32 bytes each, base64url.
    pub x: String,
    pub y: String,
}

/// What a relying party sends to ask for a signature.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSignRequest {
    pub digest: String,
    pub description: String,
    #[serde(default)]
    pub document_name: Option<String>,
}

/// `ab12…` in groups of four for reading (`ab12 cd34 …`).
pub fn group_hex(hex: &str) -> String {
    let chars: Vec<char> = hex.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::device::{self, action};
    use crate::error::{DomainError, FieldError, Problem, Result};
    use crate::holder::Role;
    use crate::party::Client;
    use crate::records::{self, Usage};
    use crate::secret::{Random, Secret, token_hash};
    use crate::store::{Db, Tx};
    use crate::time::{self, Millis};
    use crate::{jws, mask, on_db, on_tx, scan};

    /// Results of sign usage records (R12).
    pub const SIGNED: &str = "signed";
    pub const REJECTED: &str = "rejected";

    /// A new sign request: its id, the code for the QR (shown once), and when it expires.
    #[derive(Debug)]
    pub struct Created {
        pub id: String,
        pub code: Secret,
        pub expires_at: Millis,
    }

    /// The digest as the party sent it if it is 32 bytes of canonical base64url without padding.
    pub fn check_digest(digest: &str) -> Result<String, FieldError> {
        let digest = digest.trim();
        if digest.is_empty() {
            return Err(FieldError::new("digest", Problem::Required));
        }
        match URL_SAFE_NO_PAD.decode(digest) {
            Ok(bytes) if bytes.len() == 32 => Ok(digest.to_owned()),
            _ => Err(FieldError::new("digest", Problem::BadFormat)),
        }
    }

    fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<Option<String>, FieldError> {
        let text = text.trim();
        if text.is_empty() {
            return if required { Err(FieldError::new(field, Problem::Required)) } else { Ok(None) };
        }
        if text.chars().count() > max {
            return Err(FieldError::new(field, Problem::TooLong { max }));
        }
        // Shown to the holder as it stands: nothing that breaks lines or reorders what is read.
        if text.chars().any(disguises) {
            return Err(FieldError::new(field, Problem::BadFormat));
        }
        Ok(Some(text.to_owned()))
    }

    /// Control characters and the bidirectional formatting characters (Unicode UAX #9), which
    /// could make a description read otherwise than it is.
    fn disguises(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }

    /// The digest's 32 bytes in hex, grouped for reading.
    fn digest_hex(digest: &str) -> String {
        let bytes = URL_SAFE_NO_PAD.decode(digest).unwrap_or_default();
        group_hex(&bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    /// A relying party asks for a signature over `input.digest`. Every field is checked before
    /// anything is stored; all field errors are reported together.
    pub async fn create(
        db: &Db,
        client: &Client,
        input: &NewSignRequest,
        now: Millis,
        random: &Random,
    ) -> Result<Created> {
        let digest = check_digest(&input.digest);
        let description = check_text("description", &input.description, DESCRIPTION_MAX, true);
        let document_name =
            check_text("document_name", input.document_name.as_deref().unwrap_or(""), DOCUMENT_NAME_MAX, false);
        let (digest, description, document_name) = match (digest, description, document_name) {
            (Ok(d), Ok(Some(desc)), Ok(name)) => (d, desc, name),
            (d, desc, name) => {
                let errors = [d.err(), desc.err(), name.err()].into_iter().flatten().collect();
                return Err(DomainError::Validation(errors).into());
            }
        };
        let id = random.id();
        let code = random.token();
        let expires_at = now.plus_minutes(SIGN_MINUTES);
        on_db!(db, |c| sqlx::query(
            "INSERT INTO sign_request (id, party_id, code_hash, digest, description, document_name, status, \
             created_at, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'waiting', $7, $8, $7)"
        )
        .bind(&id)
        .bind(&client.party_id)
        .bind(token_hash(code.expose()))
        .bind(&digest)
        .bind(&description)
        .bind(&document_name)
        .bind(now.0)
        .bind(expires_at.0)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(Created { id, code, expires_at })
    }

    #[derive(sqlx::FromRow)]
    struct RequestRow {
        id: String,
        party_id: String,
        party_name: String,
        digest: String,
        description: String,
        document_name: Option<String>,
        #[sqlx(flatten)]
        progress: scan::Progress,
    }

    /// A request of an active party by its code; the caller adds the row lock where it writes.
    const REQUEST_SELECT: &str = "SELECT r.id, r.party_id, p.name AS party_name, r.digest, r.description, \
         r.document_name, r.status, r.device_id, r.expires_at \
         FROM sign_request r JOIN relying_party p ON p.id = r.party_id \
         WHERE r.code_hash = $1 AND p.status = 'active'";

    async fn request_by_code(tx: &mut Tx, code: &str) -> Result<RequestRow> {
        scan::by_code(tx, REQUEST_SELECT, "r", code).await
    }

    /// R6: the matters of a user's grants in force today (several grants: all their matters,
    /// once each). Empty for a user means it may not sign.
    async fn matters_in_force(tx: &mut Tx, holder_id: &str, now: Millis) -> Result<Vec<MatterView>> {
        let today = time::format_day(time::today_cst(now));
        let rows: Vec<(String, String, String, i64)> = on_tx!(tx, |c| sqlx::query_as(concat!(
            "SELECT DISTINCT m.id, m.name_zh, m.name_en, m.created_at FROM holder_grant g \
                 JOIN grant_matter gm ON gm.grant_id = g.id JOIN matter m ON m.id = gm.matter_id \
                 WHERE g.holder_id = $1 AND ",
            crate::grant_in_force_sql!("g", "$2"),
            " ORDER BY m.created_at, m.id"
        ))
        .bind(holder_id)
        .bind(&today)
        .fetch_all(c)
        .await)?;
        Ok(rows.into_iter().map(|(id, name_zh, name_en, _)| MatterView { id, name_zh, name_en }).collect())
    }

    /// The wallet scanned a sign QR: marks it scanned by this device and returns what to show.
    /// A user without a grant in force is refused here already (`Revoked`), and again at signing.
    pub async fn scan(db: &Db, code: &str, device_id: &str, signature: &str, now: Millis) -> Result<SignPrompt> {
        let bound = device::signed(db, device_id, &device::message(action::SIGN_SCAN, code.trim()), signature).await?;
        let mut tx = db.begin_write().await?;
        let row = request_by_code(&mut tx, code).await?;
        scan::open_for(&row.progress, device_id, now)?;
        if bound.role == Role::User && matters_in_force(&mut tx, &bound.holder_id, now).await?.is_empty() {
            return Err(DomainError::Revoked.into());
        }
        scan::mark_scanned(&mut tx, "sign_request", &row.id, &bound.holder_id, device_id, now).await?;
        let institution_name = scan::institution_name(&mut tx, &bound.certificate_id).await?;
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
    #[derive(sqlx::FromRow)]
    struct SignerRow {
        holder_id: String,
        certificate_id: String,
        role: crate::holder::Role,
        public_key: String,
        holder_name: String,
        institution_name: String,
        credit_code: String,
        serial: String,
    }

    /// The holder confirms a scanned request on the device that scanned it: checks the device's
    /// signature over the payload, the certificate password (a wrong one counts, R13), and
    /// re-reads the binding and the grants (R8, R15, R6) in the transaction that stores the
    /// signature, the platform's attestation and the usage record (R12). A request is signed once,
    /// also when two confirmations race.
    pub async fn confirm(db: &Db, request: SignConfirm<'_>, issuer: &str, now: Millis, random: &Random) -> Result<()> {
        if request.password.expose().is_empty() {
            return Err(DomainError::field("certificate_password", Problem::Required).into());
        }
        if (now.0 - request.signed_at).abs() > device::SIGNED_AT_SKEW_MINUTES * Millis::MINUTE {
            return Err(DomainError::StaleSignature.into());
        }
        // The request must be answerable before a password try is spent on it.
        let row: Option<RequestRow> = on_db!(db, |c| sqlx::query_as(REQUEST_SELECT)
            .bind(token_hash(request.code.trim()))
            .fetch_optional(c)
            .await)?;
        let row = row.ok_or(DomainError::CodeInvalid)?;
        scan::answerable(&row.progress, request.device_id, now)?;
        let signed = payload(&row.id, &row.party_id, &row.digest, request.signed_at);
        device::signed(db, request.device_id, &signed, request.signature).await?;
        device::check_password(db, request.device_id, request.password).await?;
        // Made (on first use) outside the write transaction, which must not wait on another writer.
        let key = jws::key(db, jws::Purpose::SignAttestation, now, random).await?;

        let mut tx = db.begin_write().await?;
        let row = request_by_code(&mut tx, request.code).await?;
        scan::answerable(&row.progress, request.device_id, now)?;
        // R8, R14, R15: the binding may have been voided since the signature was checked.
        let sql = format!(
            "SELECT h.id AS holder_id, h.certificate_id, h.role, d.public_key, h.name AS holder_name, \
             i.name AS institution_name, i.credit_code, c.serial \
             FROM device d JOIN holder h ON h.id = d.holder_id JOIN certificate c ON c.id = h.certificate_id \
             JOIN institution i ON i.id = c.institution_id \
             WHERE d.id = $1 AND d.status = 'active' AND h.status = 'active' AND c.status = 'active'{}",
            tx.for_update().replace("FOR UPDATE", "FOR UPDATE OF d")
        );
        let live: Option<SignerRow> =
            on_tx!(&mut tx, |c| sqlx::query_as(&sql).bind(request.device_id).fetch_optional(c).await)?;
        let live = live.ok_or(DomainError::Revoked)?;
        // The key that signed must still be the bound one (it cannot change, but say so).
        device::verify(&live.public_key, &signed, request.signature)?;
        let matters = if live.role == Role::User {
            let matters = matters_in_force(&mut tx, &live.holder_id, now).await?;
            if matters.is_empty() {
                // R6: a user signs only inside a grant's period.
                return Err(DomainError::Revoked.into());
            }
            matters
        } else {
            Vec::new()
        };
        let signer = SignerView {
            name: mask::person_name(&live.holder_name),
            role: live.role.clone(),
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
        let n = on_tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE sign_request SET status = 'signed', signed_at = $1, signature = $2, public_key = $3, signer = $4, \
             attestation = $5, updated_at = $6 WHERE id = $7 AND status = 'scanned' AND device_id = $8"
        )
        .bind(request.signed_at)
        .bind(request.signature.trim())
        .bind(&public_key.0)
        .bind(&signer_json)
        .bind(&attestation)
        .bind(now.0)
        .bind(&row.id)
        .bind(request.device_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if n != 1 {
            return Err(DomainError::CodeUsed.into());
        }
        record(&mut tx, &row, &live.certificate_id, &live.holder_id, SIGNED, now, random).await?;
        tx.commit().await?;
        Ok(())
    }

    /// R12: the usage record of an answered request, naming the party that asked.
    async fn record(
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
    pub async fn reject(
        db: &Db,
        code: &str,
        device_id: &str,
        signature: &str,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        let bound =
            device::signed(db, device_id, &device::message(action::SIGN_REJECT, code.trim()), signature).await?;
        let mut tx = db.begin_write().await?;
        let row = request_by_code(&mut tx, code).await?;
        scan::answerable(&row.progress, device_id, now)?;
        scan::answer(&mut tx, "sign_request", &row.id, device_id, status::REJECTED, now).await?;
        record(&mut tx, &row, &bound.certificate_id, &bound.holder_id, REJECTED, now, random).await?;
        tx.commit().await?;
        Ok(())
    }

    #[derive(sqlx::FromRow)]
    struct ResultRow {
        id: String,
        status: String,
        digest: String,
        description: String,
        document_name: Option<String>,
        created_at: i64,
        expires_at: i64,
        signed_at: Option<i64>,
        signature: Option<String>,
        public_key: Option<String>,
        signer: Option<String>,
        attestation: Option<String>,
        party_id: String,
    }

    /// A sign request as the party that made it sees it; any other party gets `NotFound`. An
    /// unsigned, unrejected request past its expiry is `CodeExpired`. One read by primary key:
    /// parties poll it.
    pub async fn fetch(db: &Db, client: &Client, id: &str, now: Millis) -> Result<SignRequestView> {
        let row: Option<ResultRow> = on_db!(db, |c| sqlx::query_as(
            "SELECT id, status, digest, description, document_name, created_at, expires_at, signed_at, signature, \
             public_key, signer, attestation, party_id FROM sign_request WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(c)
        .await)?;
        let row = row.filter(|r| r.party_id == client.party_id).ok_or(DomainError::NotFound)?;
        let signature = match (row.status.as_str(), row.signed_at, row.signature, row.public_key, row.attestation) {
            (status::SIGNED, Some(signed_at), Some(signature), Some(public_key), Some(attestation)) => {
                let signer: SignerView = row
                    .signer
                    .as_deref()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .ok_or(DomainError::InvalidState)?;
                let public_jwk = device_public_key(&public_key)?.1;
                Some(SignatureView {
                    payload: payload(&row.id, &row.party_id, &row.digest, signed_at),
                    signature,
                    public_key,
                    public_jwk,
                    signed_at,
                    signer,
                    attestation,
                })
            }
            (status::SIGNED, ..) => return Err(DomainError::InvalidState.into()),
            (status::REJECTED, ..) => None,
            _ if row.expires_at <= now.0 => return Err(DomainError::CodeExpired.into()),
            _ => None,
        };
        Ok(SignRequestView {
            id: row.id,
            status: row.status,
            digest: row.digest,
            description: row.description,
            document_name: row.document_name,
            created_at: row.created_at,
            expires_at: row.expires_at,
            signature,
        })
    }

    /// A device key as (uncompressed SEC1 base64url, JWK).
    fn device_public_key(encoded: &str) -> Result<(String, EcJwk), DomainError> {
        let key = device::parse_public_key(encoded).map_err(|_| DomainError::InvalidState)?;
        let point = key.to_encoded_point(false);
        Ok((URL_SAFE_NO_PAD.encode(point.as_bytes()), jwk(point.as_bytes())))
    }

    /// The JWK of an uncompressed P-256 point `0x04‖X‖Y`.
    fn jwk(point: &[u8]) -> EcJwk {
        let (x, y) = point.get(1..).map_or((&[][..], &[][..]), |p| p.split_at(p.len() / 2));
        EcJwk { kty: "EC".into(), crv: "P-256".into(), x: URL_SAFE_NO_PAD.encode(x), y: URL_SAFE_NO_PAD.encode(y) }
    }

    /// The JWK set of the attestation key, for `GET /api/v1/sign/keys`.
    pub async fn keys(db: &Db, now: Millis, random: &Random) -> Result<serde_json::Value> {
        Ok(jws::key(db, jws::Purpose::SignAttestation, now, random).await?.jwks())
    }

    /// What the platform attests about one signature.
    struct Attested<'a> {
        issuer: &'a str,
        request_id: &'a str,
        client_id: &'a str,
        digest: &'a str,
        payload: &'a str,
        signature: &'a str,
        public_jwk: &'a EcJwk,
        signed_at: i64,
        signer: &'a SignerView,
    }

    /// The attestation: a compact JWS (ES256) whose claims say that the key `cnf.jwk` (RFC 7800)
    /// belongs to `signer` and that it made `signature` over `payload` for `aud`, as the
    /// platform checked at `iat`.
    fn attest(key: &jws::PlatformKey, a: &Attested<'_>, now: Millis) -> String {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_fixed_text_naming_request_party_digest_and_time() {
        assert_eq!(
            payload("req1", "client1", "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", 1_767_225_600_000),
            "ecert-sign/v1\nreq1\nclient1\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\n1767225600000"
        );
        // Device approvals start differently, so neither can stand for the other.
        assert!(!crate::device::message("login-approve", "x").starts_with(PAYLOAD_PREFIX));
        assert_eq!(group_hex("e3b0c44298fc"), "e3b0 c442 98fc");
    }

    #[cfg(feature = "server")]
    #[test]
    fn digests_are_32_bytes_of_canonical_unpadded_base64url() {
        let ok = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";
        assert_eq!(check_digest(ok).unwrap(), ok);
        assert_eq!(check_digest(&format!(" {ok} ")).unwrap(), ok, "surrounding spaces dropped");
        for bad in [
            "",
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=", // padded
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",  // standard alphabet
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuF",   // 31 bytes and a bit
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", // hex
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFV",  // non-canonical last char
        ] {
            assert!(check_digest(bad).is_err(), "{bad}");
        }
    }
}
