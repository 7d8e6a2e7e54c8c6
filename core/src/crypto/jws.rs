//! The platform's own signing keys and compact JWS (RFC 7515), ES256 only.
//!
//! One P-256 key per purpose — ID tokens for relying parties (OpenID Connect) and attestations of
//! scan-to-sign signatures — kept in the database (`signing_key`) so that every app server signs
//! with the same key and the JWKS endpoints publish it. Keys are separate by purpose, and each
//! JWS names its kind in `typ`, so that one kind can never be taken for the other.
//!
//! Issue 14 §5: a private key is stored sealed under the data key (like personal fields, bound
//! to its row), so a copy of the database signs nothing. [`rotate`] (`ecert-server
//! rotate-keys`) retires each current key and makes a new one; a retired key stays in the JWKS
//! for as long as what it signed can still be verified ([`Purpose::published_after_retirement`]),
//! so tokens signed before a rotation verify until they expire.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};

use crate::error::{DomainError, Result};
use crate::seal::Column;
use crate::secret::Random;
use crate::store::{Db, query};
use crate::time::Millis;

/// The signing algorithm of every JWS the platform makes.
pub const ES256: &str = "ES256";

/// What a key signs. Each purpose has its own key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// OpenID Connect ID tokens (`typ: JWT`).
    IdToken,
    /// Attestations of scan-to-sign signatures.
    SignAttestation,
    /// Pages of the directory change feed (issue 18 §3), as detached JWS.
    DirectoryFeed,
}

impl Purpose {
    pub const ALL: [Purpose; 3] = [Purpose::IdToken, Purpose::SignAttestation, Purpose::DirectoryFeed];

    /// The purpose's name in `signing_key.purpose`.
    pub fn name(self) -> &'static str {
        match self {
            Purpose::IdToken => "oidc-id-token",
            Purpose::SignAttestation => "sign-attestation",
            Purpose::DirectoryFeed => "directory-feed",
        }
    }

    /// How long a retired key stays published, in milliseconds; `None`: for ever. An ID token
    /// lives minutes, so a day covers every one signed before a rotation; an attestation is
    /// evidence that a relying party may check years later, so its keys stay published.
    pub fn published_after_retirement(self) -> Option<i64> {
        match self {
            Purpose::IdToken => Some(Millis::DAY),
            Purpose::SignAttestation => None,
            // A page is checked when it is read; a subscriber keeping pages as evidence keeps
            // the key with them.
            Purpose::DirectoryFeed => Some(30 * Millis::DAY),
        }
    }
}

/// A platform key: its id (`kid`) and the private key, which never leaves this process.
pub struct PlatformKey {
    pub kid: String,
    signing: SigningKey,
}

impl std::fmt::Debug for PlatformKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl PlatformKey {
    /// The public key as a JWK (RFC 7517, RFC 7518 §6.2).
    pub fn jwk(&self) -> serde_json::Value {
        let point = self.signing.verifying_key().to_encoded_point(false);
        let coord = |c: Option<&p256::FieldBytes>| c.map(|c| URL_SAFE_NO_PAD.encode(c)).unwrap_or_default();
        serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": ES256, "kid": self.kid,
            "x": coord(point.x()), "y": coord(point.y()),
        })
    }

    /// A compact JWS of `claims` with header `typ`, signed ES256 (deterministic ECDSA, RFC 6979).
    pub fn sign(&self, typ: &str, claims: &serde_json::Value) -> String {
        let header = serde_json::json!({ "alg": ES256, "typ": typ, "kid": self.kid });
        let input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let signature: Signature = self.signing.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// A JWS of `payload` with header `typ` and the `bound` header parameters (what the payload
    /// answers, for whom, when: an old or another's payload cannot pass for this one), its
    /// payload detached (RFC 7515 Appendix F): `<header>..<signature>`. The reader puts the
    /// base64url of the bytes it received between the dots to check it.
    pub fn sign_detached(
        &self,
        typ: &str,
        bound: &serde_json::Map<String, serde_json::Value>,
        payload: &[u8],
    ) -> String {
        let mut header = serde_json::json!({ "alg": ES256, "typ": typ, "kid": self.kid });
        if let Some(fields) = header.as_object_mut() {
            for (k, v) in bound {
                fields.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let header = URL_SAFE_NO_PAD.encode(header.to_string());
        let signature: Signature =
            self.signing.sign(format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload)).as_bytes());
        format!("{header}..{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

/// A fresh P-256 private key from the platform's randomness (a scalar in [1, n-1]).
fn new_signing_key(random: &Random) -> SigningKey {
    loop {
        let mut bytes = [0u8; 32];
        random.fill(&mut bytes);
        // Almost every 32-byte string is a valid scalar; the rare one that is not is redrawn.
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            return key;
        }
    }
}

/// The current key of `purpose`, opened with the data key.
async fn read(db: &Db, purpose: Purpose) -> Result<Option<PlatformKey>> {
    let row: Option<(String, String)> = db
        .fetch_optional(
            query("SELECT id, private_key FROM signing_key WHERE purpose = $1 AND retired_at IS NULL")
                .bind(purpose.name()),
        )
        .await?;
    row.map(|(kid, sealed)| opened(db, kid, &sealed)).transpose()
}

fn opened(db: &Db, kid: String, sealed: &str) -> Result<PlatformKey> {
    let private = db.vault().open(Column::SigningKey.at(&kid), sealed)?;
    let signing = URL_SAFE_NO_PAD
        .decode(private)
        .ok()
        .and_then(|b| SigningKey::from_slice(&b).ok())
        .ok_or(DomainError::InvalidState)?;
    Ok(PlatformKey { kid, signing })
}

/// A new key of `purpose`, sealed, unless one is current already (then nothing is written).
async fn insert(tx: &mut crate::store::Tx, purpose: Purpose, now: Millis, random: &Random) -> Result<String> {
    let (kid, signing) = (random.id(), new_signing_key(random));
    let sealed = tx.vault().seal(Column::SigningKey.at(&kid), &URL_SAFE_NO_PAD.encode(signing.to_bytes()));
    tx.execute(
        query("INSERT INTO signing_key (id, purpose, private_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .bind(&kid)
            .bind(purpose.name())
            .bind(&sealed)
            .bind(now.0),
    )
    .await?;
    Ok(kid)
}

/// The current key of `purpose`, made on first use. Concurrent first uses (on any number of app
/// servers) race on the one current key a purpose may have: one insert wins and every caller
/// reads the winner.
pub async fn key(db: &Db, purpose: Purpose, now: Millis, random: &Random) -> Result<PlatformKey> {
    if let Some(key) = read(db, purpose).await? {
        return Ok(key);
    }
    let mut tx = db.begin_write().await?;
    insert(&mut tx, purpose, now, random).await?;
    tx.commit().await?;
    read(db, purpose).await?.ok_or_else(|| DomainError::InvalidState.into())
}

/// Issue 17 §3: the current key of every purpose, made if missing and opened with the data
/// key: an app server serves (`/readyz`) only when this succeeds, so one started with another
/// data key than its database's never takes a request.
pub async fn ensure_keys(db: &Db, now: Millis, random: &Random) -> Result<()> {
    for purpose in Purpose::ALL {
        key(db, purpose, now, random).await?;
    }
    Ok(())
}

/// The JWK Set of `purpose`: its current key (made on first use) first, then the retired keys
/// still published, newest first.
pub async fn jwks(db: &Db, purpose: Purpose, now: Millis, random: &Random) -> Result<serde_json::Value> {
    let current = key(db, purpose, now, random).await?;
    let since = purpose.published_after_retirement().map_or(i64::MIN, |keep| now.0 - keep);
    let retired: Vec<(String, String)> = db
        .fetch_all(
            query("SELECT id, private_key FROM signing_key WHERE purpose = $1 AND retired_at IS NOT NULL AND retired_at > $2 ORDER BY retired_at DESC, id")
                .bind(purpose.name())
                .bind(since),
        )
        .await?;
    let mut keys = vec![current.jwk()];
    for (kid, sealed) in retired {
        keys.push(opened(db, kid, &sealed)?.jwk());
    }
    Ok(serde_json::json!({ "keys": keys }))
}

/// Issue 14 §5: retires the current key of every purpose and makes a new one, in one
/// transaction; answers the new key ids. Tokens and attestations signed before verify with the
/// retired keys, which stay published (see [`jwks`]).
pub async fn rotate(db: &Db, now: Millis, random: &Random) -> Result<Vec<(Purpose, String)>> {
    let mut tx = db.begin_write().await?;
    let mut made = Vec::new();
    for purpose in Purpose::ALL {
        tx.execute(
            query("UPDATE signing_key SET retired_at = $1 WHERE purpose = $2 AND retired_at IS NULL")
                .bind(now.0)
                .bind(purpose.name()),
        )
        .await?;
        made.push((purpose, insert(&mut tx, purpose, now, random).await?));
    }
    tx.commit().await?;
    Ok(made)
}

#[cfg(test)]
mod tests {
    use p256::ecdsa::signature::Verifier;

    use super::*;

    #[test]
    fn a_jws_verifies_with_the_published_key_and_a_changed_payload_does_not() {
        let key = PlatformKey { kid: "k1".into(), signing: new_signing_key(&Random::seeded(3)) };
        let jwt = key.sign("JWT", &serde_json::json!({ "sub": "h1" }));
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            (header["alg"].as_str(), header["typ"].as_str(), header["kid"].as_str()),
            (Some("ES256"), Some("JWT"), Some("k1"))
        );
        let jwk = key.jwk();
        let mut sec1 = vec![4u8];
        sec1.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
        sec1.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
        let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap()).unwrap();
        assert!(public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).is_ok());
        let forged = format!("{}.{}", parts[0], URL_SAFE_NO_PAD.encode(r#"{"sub":"h2"}"#));
        assert!(public.verify(forged.as_bytes(), &sig).is_err());
    }
}
