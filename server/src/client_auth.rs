//! How a relying party's server proves which party it is: HTTP Basic with its client id and
//! secret (RFC 7617). Both the OpenID Connect token endpoint (`client_secret_basic`) and the scan
//! to sign and verification APIs read it here, the same way: each part is form-decoded first (RFC 6749 §2.3.1), so
//! a secret may hold `:` or any other character.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ecert_app::state::AppState;
use ecert_core::DomainError;
use ecert_core::party::{self, Client};
use ecert_core::secret::Secret;

use crate::api_error::{ApiError, ErrorContext};

/// A client id and secret read from `Authorization: Basic …`.
pub struct Basic {
    pub client_id: String,
    pub client_secret: Secret,
}

/// The `Authorization` header could not be read as Basic credentials.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// `Ok(None)` when the request has no Basic credentials (no header, or another scheme);
/// `Err(Malformed)` when it has them but they do not decode.
pub fn basic(headers: &HeaderMap) -> Result<Option<Basic>, Malformed> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| Malformed)?;
    let Some((scheme, encoded)) = value.trim().split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| Malformed)?;
    let text = String::from_utf8(decoded).map_err(|_| Malformed)?;
    let (id, secret) = text.split_once(':').ok_or(Malformed)?;
    Ok(Some(Basic {
        client_id: form_decode(id).ok_or(Malformed)?,
        client_secret: Secret::new(form_decode(secret).ok_or(Malformed)?),
    }))
}

/// The active relying party whose Basic credentials the request carries (the JSON APIs: scan to
/// sign, verification, the directory); anything else is `401 invalid_client`.
pub async fn party(state: &AppState, headers: &HeaderMap, cx: &ErrorContext) -> Result<Client, ApiError> {
    let unauthenticated = || ApiError::refused(DomainError::Unauthenticated, cx.lang);
    let basic = basic(headers).ok().flatten().ok_or_else(unauthenticated)?;
    party::authenticate(&state.db, &basic.client_id, basic.client_secret.expose())
        .await
        .map_err(|e| ApiError::sign(e, cx))
}

/// `application/x-www-form-urlencoded` decoding of one credential part.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                // Exactly two hex digits: `from_str_radix` alone would take a sign (`%+f`).
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn read(value: &str) -> Result<Option<(String, String)>, Malformed> {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        basic(&headers).map(|b| b.map(|b| (b.client_id, b.client_secret.expose().to_owned())))
    }

    #[test]
    fn basic_credentials_are_form_decoded_whatever_the_scheme_case() {
        assert!(basic(&HeaderMap::new()).unwrap().is_none());
        let pair = |id: &str, secret: &str| Ok(Some((id.to_owned(), secret.to_owned())));
        assert_eq!(read(&format!("Basic {}", STANDARD.encode("client%2D1:s%3Acret+x"))), pair("client-1", "s:cret x"));
        assert_eq!(read("basic aWQ6c2VjcmV0Ong="), pair("id", "secret:x"), "an undecoded colon stays in the secret");
        assert_eq!(read("Bearer aWQ6c2VjcmV0"), Ok(None), "another scheme is not Basic");
        assert_eq!(read("Basic !!!"), Err(Malformed));
        assert_eq!(read(&format!("Basic {}", STANDARD.encode("no-colon"))), Err(Malformed));
        assert_eq!(read(&format!("Basic {}", STANDARD.encode("id:%zz"))), Err(Malformed));
        assert_eq!(read(&format!("Basic {}", STANDARD.encode("id:%+f"))), Err(Malformed), "a sign is no hex digit");
        assert_eq!(read(&format!("Basic {}", STANDARD.encode("id:%-1"))), Err(Malformed));
        assert_eq!(read(&format!("Basic {}", STANDARD.encode("id:%4"))), Err(Malformed), "one digit is too few");
    }
}
