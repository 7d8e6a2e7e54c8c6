//! Secrets: random tokens, their hashes, and password hashing.
//!
//! Every token handed out (session, QR, code) carries at least 128 bits of randomness, is stored
//! only as a SHA-256 hash, and is compared in constant time. Passwords are hashed with argon2id.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret value: never `Serialize`, and `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(**redacted**)")
    }
}

/// The one source of randomness of the platform. Production uses the OS generator; tests may seed it.
#[derive(Clone)]
pub struct Random {
    seeded: Option<std::sync::Arc<std::sync::Mutex<rand::rngs::StdRng>>>,
}

impl Random {
    pub fn os() -> Self {
        Random { seeded: None }
    }

    pub fn seeded(seed: u64) -> Self {
        Random { seeded: Some(std::sync::Arc::new(std::sync::Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)))) }
    }

    pub fn fill(&self, buf: &mut [u8]) {
        match &self.seeded {
            Some(rng) => match rng.lock() {
                Ok(mut rng) => rng.fill_bytes(buf),
                Err(poisoned) => poisoned.into_inner().fill_bytes(buf),
            },
            // ThreadRng is a CSPRNG seeded from the operating system.
            None => rand::rng().fill_bytes(buf),
        }
    }

    /// A URL-safe token of 256 random bits.
    pub fn token(&self) -> Secret {
        let mut buf = [0u8; 32];
        self.fill(&mut buf);
        Secret(URL_SAFE_NO_PAD.encode(buf))
    }

    /// An opaque identifier of 128 random bits (ids are unguessable, never sequential).
    pub fn id(&self) -> String {
        let mut buf = [0u8; 16];
        self.fill(&mut buf);
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// An identifier that sorts by time: the millisecond `at` as 12 hex digits, then 96 random
    /// bits (still unguessable). For append-only rows, so that their primary-key index grows at
    /// one end instead of dirtying a random page with every insert (usage records).
    pub fn ordered_id(&self, at: crate::Millis) -> String {
        let mut buf = [0u8; 12];
        self.fill(&mut buf);
        format!("{:012x}{}", at.0.max(0), URL_SAFE_NO_PAD.encode(buf))
    }

    /// `n` decimal digits, uniformly random (rejection sampling, no modulo bias).
    pub fn digits(&self, n: usize) -> Secret {
        let mut out = String::with_capacity(n);
        while out.len() < n {
            let mut b = [0u8; 1];
            self.fill(&mut b);
            if b[0] < 250 {
                out.push(char::from(b'0' + b[0] % 10));
            }
        }
        Secret(out)
    }

    /// A password a person can type: 16 characters from an alphabet without look-alikes (~90 bits).
    pub fn password(&self) -> Secret {
        const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut buf = [0u8; 16];
        self.fill(&mut buf);
        Secret(buf.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect())
    }
}

impl fmt::Debug for Random {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.seeded.is_some() { "Random(seeded)" } else { "Random(os)" })
    }
}

/// SHA-256 of a token, hex-encoded: what the database stores instead of the token.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality of two strings (of possibly different lengths).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Hashes a password with argon2id on the blocking pool (it takes tens of milliseconds by design).
pub async fn hash_password(password: Secret, random: &Random) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    random.fill(&mut salt);
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError)?;
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| PasswordError)
    })
    .await
    .map_err(|_| PasswordError)?
}

/// Verifies a password against a stored argon2 hash, on the blocking pool.
pub async fn verify_password(password: Secret, stored_hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored_hash)
            .map(|parsed| Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// An argon2id hash of a random password, made once per process, verified against when a user
/// name is unknown so that a wrong name costs as much time as a wrong password.
pub async fn dummy_hash(random: &Random) -> String {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY.get_or_init(|| async { hash_password(random.password(), random).await.unwrap_or_default() }).await.clone()
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct PasswordError;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_leak_through_debug() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(**redacted**)");
    }

    #[test]
    fn tokens_are_long_random_and_hashed_stably() {
        let r = Random::os();
        let (a, b) = (r.token(), r.token());
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }

    #[test]
    fn ordered_ids_sort_by_time_and_differ_within_a_millisecond() {
        let r = Random::os();
        let (a, b, c) =
            (r.ordered_id(crate::Millis(999)), r.ordered_id(crate::Millis(999)), r.ordered_id(crate::Millis(1_000)));
        assert_ne!(a, b);
        assert!(a < c && b < c, "{a} {b} {c}");
        assert!(a.starts_with("0000000003e7") && c.starts_with("0000000003e8"));
        assert_eq!(a.len(), 12 + 16);
    }

    #[test]
    fn seeded_randomness_repeats() {
        assert_eq!(Random::seeded(7).id(), Random::seeded(7).id());
    }

    #[tokio::test]
    async fn passwords_verify_only_when_right() {
        let r = Random::seeded(1);
        let hash = hash_password(Secret::new("correct horse"), &r).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(Secret::new("correct horse"), hash.clone()).await);
        assert!(!verify_password(Secret::new("wrong horse"), hash).await);
    }
}
