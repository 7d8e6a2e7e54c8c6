//! A phone's device key: it signs exactly as the wallet's WebCrypto key does (SEC1 public key
//! and `r‖s` signatures, base64url), over the messages `ecert_core::device` defines.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ecert_core::device;
use ecert_core::secret::Random;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

pub struct Phone {
    key: SigningKey,
    pub public_key: String,
}

impl Default for Phone {
    fn default() -> Self {
        Self::new()
    }
}

impl Phone {
    /// A fresh random key.
    pub fn new() -> Phone {
        loop {
            let mut bytes = [0u8; 32];
            Random::os().fill(&mut bytes);
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                let public_key = URL_SAFE_NO_PAD.encode(key.verifying_key().to_encoded_point(false).as_bytes());
                return Phone { key, public_key };
            }
        }
    }

    /// The signature of an action on the device itself, made at `signed_at`.
    pub fn sign_timed(&self, action: &str, device_id: &str, signed_at: i64) -> String {
        self.sign(action, &device::timed_subject(device_id, signed_at))
    }

    /// A timed signature of `action` over `subject` made "now", as the wallet makes one for every
    /// action on the device itself (issue 14 §5). Each call's time is a millisecond later than
    /// the last one of this process, so that calls at the same test time are not replays.
    pub fn fresh(&self, action: &str, subject: &str, now: ecert_core::Millis) -> Fresh {
        static TICK: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
        let at = now.0 + TICK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Fresh(at, self.sign(action, &device::timed_subject(subject, at)))
    }

    /// The signature of [`device::message`]`(action, subject)`.
    pub fn sign(&self, action: &str, subject: &str) -> String {
        self.sign_text(&device::message(action, subject))
    }

    /// The signature of exactly `text` (a sign request's payload, `signing::payload`).
    pub fn sign_text(&self, text: &str) -> String {
        let sig: Signature = self.key.sign(text.as_bytes());
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    }
}

/// A signing time and the signature made at it.
#[derive(Clone, Debug)]
pub struct Fresh(pub i64, pub String);

impl Fresh {
    /// As the use-cases take it.
    pub fn arg(&self) -> (i64, &str) {
        (self.0, &self.1)
    }
}
