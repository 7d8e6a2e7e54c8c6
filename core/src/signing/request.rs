//! A relying party's side of scan to sign (server): it creates a request for a document's
//! digest, shows the QR, and fetches the outcome with the signature and the platform's
//! attestation; the platform's public keys verify it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;
use crate::device;
use crate::error::{DomainError, FieldError, Problem, Result};
use crate::party::Client;
use crate::secret::{Random, Secret, token_hash};
use crate::store::Db;
use crate::time::Millis;
use crate::{jws, store::query};

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

pub(super) fn check_text(field: &str, text: &str, max: usize, required: bool) -> Result<Option<String>, FieldError> {
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
pub(super) fn disguises(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The digest's 32 bytes in hex, grouped for reading.
pub(crate) fn digest_hex(digest: &str) -> String {
    let bytes = URL_SAFE_NO_PAD.decode(digest).unwrap_or_default();
    group_hex(&crate::crypto::hex(&bytes))
}

/// A relying party asks for a signature over `input.digest`. Every field is checked before
/// anything is stored; all field errors are reported together.
pub async fn create(db: &Db, client: &Client, input: &NewSignRequest, now: Millis, random: &Random) -> Result<Created> {
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
    db.execute(
        query(
            "INSERT INTO sign_request (id, party_id, code_hash, digest, description, document_name, status, \
         created_at, expires_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'waiting', $7, $8, $7)",
        )
        .bind(&id)
        .bind(&client.party_id)
        .bind(token_hash(code.expose()))
        .bind(&digest)
        .bind(&description)
        .bind(&document_name)
        .bind(now.0)
        .bind(expires_at.0),
    )
    .await?;
    Ok(Created { id, code, expires_at })
}

pub(super) struct ResultRow {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) digest: String,
    pub(super) description: String,
    pub(super) document_name: Option<String>,
    pub(super) created_at: i64,
    pub(super) expires_at: i64,
    pub(super) signed_at: Option<i64>,
    pub(super) signature: Option<String>,
    pub(super) public_key: Option<String>,
    pub(super) signer: Option<String>,
    pub(super) attestation: Option<String>,
    pub(super) party_id: String,
}

crate::store::from_row!(ResultRow {
    id,
    status,
    digest,
    description,
    document_name,
    created_at,
    expires_at,
    signed_at,
    signature,
    public_key,
    signer,
    attestation,
    party_id
});

/// A sign request as the party that made it sees it; any other party gets `NotFound`. An
/// unsigned, unrejected request past its expiry is `CodeExpired`. One read by primary key:
/// parties poll it.
pub async fn fetch(db: &Db, client: &Client, id: &str, now: Millis) -> Result<SignRequestView> {
    let row: Option<ResultRow> = db
        .fetch_optional(
            query(
                "SELECT id, status, digest, description, document_name, created_at, expires_at, signed_at, signature, \
         public_key, signer, attestation, party_id FROM sign_request WHERE id = $1",
            )
            .bind(id),
        )
        .await?;
    let row = row.filter(|r| r.party_id == client.party_id).ok_or(DomainError::NotFound)?;
    let signature = match (row.status.as_str(), row.signed_at, row.signature, row.public_key, row.attestation) {
        (status::SIGNED, Some(signed_at), Some(signature), Some(public_key), Some(attestation)) => {
            let signer: SignerView =
                row.signer.as_deref().and_then(|s| serde_json::from_str(s).ok()).ok_or(DomainError::InvalidState)?;
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

/// The JWK set of the attestation key, for `GET /api/v1/sign/keys`.
pub async fn keys(db: &Db, now: Millis, random: &Random) -> Result<serde_json::Value> {
    jws::jwks(db, jws::Purpose::SignAttestation, now, random).await
}

/// A device key as (uncompressed SEC1 base64url, JWK).
pub(super) fn device_public_key(encoded: &str) -> Result<(String, EcJwk), DomainError> {
    let key = device::parse_public_key(encoded).map_err(|_| DomainError::InvalidState)?;
    let point = key.to_encoded_point(false);
    Ok((URL_SAFE_NO_PAD.encode(point.as_bytes()), jwk(point.as_bytes())))
}

/// The JWK of an uncompressed P-256 point `0x04‖X‖Y`.
pub(super) fn jwk(point: &[u8]) -> EcJwk {
    let (x, y) = point.get(1..).map_or((&[][..], &[][..]), |p| p.split_at(p.len() / 2));
    EcJwk { kty: "EC".into(), crv: "P-256".into(), x: URL_SAFE_NO_PAD.encode(x), y: URL_SAFE_NO_PAD.encode(y) }
}
