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
//!
//! The platform must never see a private key or a document: it signs nothing itself but its
//! attestation, and a request must not be answered but once, by the device that scanned it.

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
mod request;
#[cfg(feature = "server")]
mod wallet;
#[cfg(feature = "server")]
pub use self::{request::*, wallet::*};

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
