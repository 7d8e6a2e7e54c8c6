//! OpenID Connect for relying parties (应用系统): authorization code flow with mandatory PKCE
//! (S256), ID tokens signed ES256, an opaque access token for `userinfo`.
//!
//! The login step is R11's scan login: the browser the party sends to `/oidc/authorize` gets a
//! request handle, shows a login QR naming the party, and on confirmation is sent back with a
//! single-use code. Every secret (request handle, code, access token) is 256 bits and stored as
//! SHA-256. The token endpoint re-checks holder, device and certificate (R8, R15).
//!
//! This module knows nothing of HTTP: it parses nothing but the parameters it is given, and
//! answers [`OidcError`]s that the edge maps once to RFC 6749 errors or an error page.

use serde::{Deserialize, Serialize};

/// How long the browser may take from the authorization request to a confirmed scan, in minutes.
pub const REQUEST_MINUTES: i64 = 30;
/// Life of an authorization code, in seconds (short: it is exchanged at once).
pub const CODE_SECONDS: i64 = 120;
/// Life of an access token and of an ID token, in seconds.
pub const TOKEN_SECONDS: i64 = 600;
/// The only PKCE method accepted.
pub const S256: &str = "S256";
/// The signing algorithm of ID tokens.
pub const ES256: &str = "ES256";

/// The parameters of an authorization request (`GET /oidc/authorize`), as sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeParams {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// OpenID Connect Core §3.1.2.1: `none` asks for a login without any interaction, which a
    /// scan login never is (`login_required`); `login` and `consent` are what every login here
    /// is anyway.
    pub prompt: Option<String>,
    /// The browser's preferred languages for the login page (space-separated BCP 47 tags).
    pub ui_locales: Option<String>,
    /// Request objects (OpenID Connect Core §6) are not supported: either answers
    /// `request_not_supported` or `request_uri_not_supported` (discovery says so).
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// The `prompt` values this provider understands (discovery's `prompt_values_supported`).
pub const PROMPT_VALUES: [&str; 3] = ["none", "login", "consent"];

/// The page language `ui_locales` asks for: its first tag that this platform speaks.
pub fn ui_lang(ui_locales: &str) -> Option<crate::Lang> {
    ui_locales.split(' ').map(str::to_ascii_lowercase).find_map(|tag| {
        let primary = tag.split('-').next().unwrap_or_default().to_owned();
        match primary.as_str() {
            "zh" => Some(crate::Lang::Zh),
            "en" => Some(crate::Lang::En),
            _ => None,
        }
    })
}

/// The parameters of an end-session request (`GET /oidc/logout`, OpenID Connect RP-Initiated
/// Logout 1.0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutParams {
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub id_token_hint: Option<String>,
    pub ui_locales: Option<String>,
}

/// Where an end-session request sends the browser: back to the party when `client_id` names an
/// active party and `post_logout_redirect_uri` is exactly one of its registered redirect URIs
/// (with `state`), otherwise nowhere (the platform's own page says the sign-in ended). The
/// platform keeps no session of its own for a relying party's login: every login is a scan, so
/// there is nothing else to end.
pub fn logout_redirect(params: &LogoutParams, registered: Option<&[String]>) -> Result<Option<String>, OidcError> {
    let Some(uri) = params.post_logout_redirect_uri.as_deref().filter(|u| !u.is_empty()) else { return Ok(None) };
    let registered = registered.ok_or(OidcError::UnknownClient)?;
    if !registered.iter().any(|r| r == uri) {
        return Err(OidcError::BadRedirectUri);
    }
    let state = params.state.as_deref().filter(|s| !s.is_empty());
    if state.is_some_and(|s| s.len() > PASS_THROUGH_MAX) {
        return Err(OidcError::InvalidRequest("state is too long"));
    }
    Ok(Some(match state {
        Some(s) => with_query(uri, &[("state", s)]),
        None => uri.to_owned(),
    }))
}

/// The parameters of a token request (`POST /oidc/token`, form-encoded).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for TokenParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Codes, verifiers and secrets never reach a log through Debug.
        f.debug_struct("TokenParams").field("grant_type", &self.grant_type).finish_non_exhaustive()
    }
}

/// Why a request was refused. The edge maps each to one response.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// Authorization request: unknown or suspended `client_id`. Shown on our page, never redirected.
    #[error("unknown client")]
    UnknownClient,
    /// Authorization request: `redirect_uri` missing or not exactly a registered one. Shown on
    /// our page, never redirected (an open redirector otherwise).
    #[error("redirect_uri not registered")]
    BadRedirectUri,
    /// Authorization request with a good client and redirect URI but other faults: sent back to
    /// the party as `error` (RFC 6749 §4.1.2.1).
    #[error("{error}: {description}")]
    Redirect { redirect_uri: String, state: Option<String>, error: &'static str, description: &'static str },
    /// The scan-login page's request handle is unknown, expired or finished.
    #[error("authorization request unknown or expired")]
    RequestGone,
    /// Token endpoint (RFC 6749 §5.2).
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// Userinfo endpoint (RFC 6750 §3.1).
    #[error("invalid_token")]
    InvalidToken,
    #[cfg(feature = "server")]
    #[error(transparent)]
    Backend(#[from] crate::Error),
}

#[cfg(feature = "server")]
impl From<crate::store::StoreError> for OidcError {
    fn from(e: crate::store::StoreError) -> Self {
        OidcError::Backend(e.into())
    }
}

impl OidcError {
    /// The RFC 6749 / 6750 error code of a token or userinfo error.
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::InvalidRequest(_) | OidcError::UnknownClient | OidcError::BadRedirectUri => "invalid_request",
            OidcError::Redirect { error, .. } => error,
            OidcError::RequestGone => "invalid_request",
            OidcError::InvalidClient => "invalid_client",
            OidcError::InvalidGrant(_) => "invalid_grant",
            OidcError::UnsupportedGrantType => "unsupported_grant_type",
            OidcError::InvalidToken => "invalid_token",
            #[cfg(feature = "server")]
            OidcError::Backend(_) => "server_error",
        }
    }

    /// A description safe to show to the party (no secrets, no backend detail).
    pub fn description(&self) -> &'static str {
        match self {
            OidcError::UnknownClient => "unknown client_id",
            OidcError::BadRedirectUri => "redirect_uri is not registered for this client",
            OidcError::Redirect { description, .. } => description,
            OidcError::RequestGone => "the authorization request is unknown, finished or expired",
            OidcError::InvalidRequest(d) | OidcError::InvalidGrant(d) => d,
            OidcError::InvalidClient => "client authentication failed",
            OidcError::UnsupportedGrantType => "only authorization_code is supported",
            OidcError::InvalidToken => "the access token is invalid, expired or revoked",
            #[cfg(feature = "server")]
            OidcError::Backend(_) => "internal error",
        }
    }
}

/// A validated authorization request, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: String,
}

/// Longest `state`, `nonce` or `scope` accepted (they are stored, and the first two echoed).
pub const PASS_THROUGH_MAX: usize = 512;

/// Checks an authorization request against the client's registered redirect URIs (`None`: no
/// such active client). Client and redirect URI come first: until both are known good, nothing
/// may be sent to the redirect URI.
pub fn check_authorize(params: &AuthorizeParams, registered: Option<&[String]>) -> Result<CheckedRequest, OidcError> {
    let client_id = params.client_id.as_deref().filter(|c| !c.is_empty()).ok_or(OidcError::UnknownClient)?;
    let registered = registered.ok_or(OidcError::UnknownClient)?;
    let redirect_uri = params.redirect_uri.as_deref().ok_or(OidcError::BadRedirectUri)?;
    // Exact string match (OpenID Connect Core §3.1.2.1): no prefix, no normalisation.
    if !registered.iter().any(|r| r == redirect_uri) {
        return Err(OidcError::BadRedirectUri);
    }
    let state = params.state.clone().filter(|s| !s.is_empty());
    let refuse = |error: &'static str, description: &'static str| OidcError::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
        description,
    };
    if state.as_ref().is_some_and(|s| s.len() > PASS_THROUGH_MAX) {
        return Err(refuse("invalid_request", "state is too long"));
    }
    if params.request.is_some() {
        return Err(refuse("request_not_supported", "request objects are not supported"));
    }
    if params.request_uri.is_some() {
        return Err(refuse("request_uri_not_supported", "request_uri is not supported"));
    }
    match params.response_type.as_deref() {
        Some("code") => {}
        None => return Err(refuse("invalid_request", "response_type is required")),
        Some(_) => return Err(refuse("unsupported_response_type", "only response_type=code is supported")),
    }
    let scope = params.scope.clone().unwrap_or_default();
    // Issue 14 §3: every stored field is bounded.
    if scope.len() > PASS_THROUGH_MAX {
        return Err(refuse("invalid_scope", "scope is too long"));
    }
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(refuse("invalid_scope", "scope must contain openid"));
    }
    let prompt: Vec<&str> = params.prompt.as_deref().unwrap_or_default().split(' ').filter(|p| !p.is_empty()).collect();
    if prompt.contains(&"none") {
        if prompt.len() > 1 {
            return Err(refuse("invalid_request", "prompt=none cannot be combined with other values"));
        }
        return Err(refuse("login_required", "every login is a scan of the certificate on the holder's phone"));
    }
    if prompt.iter().any(|p| !PROMPT_VALUES.contains(p)) {
        return Err(refuse("invalid_request", "prompt has a value this provider does not support"));
    }
    let code_challenge = params.code_challenge.as_deref().unwrap_or_default();
    if code_challenge.is_empty() {
        return Err(refuse("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256"));
    }
    if params.code_challenge_method.as_deref() != Some(S256) {
        return Err(refuse("invalid_request", "code_challenge_method must be S256"));
    }
    // BASE64URL(SHA-256(verifier)) without padding is always 43 characters.
    if code_challenge.len() != 43 || !code_challenge.bytes().all(is_base64url) {
        return Err(refuse("invalid_request", "code_challenge is not a S256 challenge"));
    }
    let nonce = params.nonce.clone().filter(|n| !n.is_empty());
    if nonce.as_ref().is_some_and(|n| n.len() > PASS_THROUGH_MAX) {
        return Err(refuse("invalid_request", "nonce is too long"));
    }
    Ok(CheckedRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state,
        nonce,
        code_challenge: code_challenge.to_owned(),
    })
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// RFC 7636 §4.1: a verifier is 43 to 128 unreserved characters.
pub fn verifier_is_well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `uri` with `params` added to its query, percent-encoded.
pub fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        out.push(sep);
        out.push_str(&percent_encode(k));
        out.push('=');
        out.push_str(&percent_encode(v));
        sep = '&';
    }
    out
}

/// Everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`) is percent-encoded.
pub const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// The institution in an ID token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstitutionClaim {
    pub name: String,
    pub credit_code: String,
    pub certificate_serial: String,
}

/// A matter in an ID token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatterClaim {
    pub id: String,
    pub name: String,
    pub name_en: String,
}

/// The claims this platform adds to ID tokens and userinfo. `name` is masked (R16); ID numbers
/// and mobiles are never included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderClaims {
    pub sub: String,
    pub name: String,
    pub institution: InstitutionClaim,
    /// `first_manager`, `manager` or `user`.
    pub role: crate::holder::Role,
    /// The matters of the user's grants effective today (R6); empty for managers.
    pub matters: Vec<MatterClaim>,
}

#[cfg(feature = "server")]
mod authorize;
#[cfg(feature = "server")]
mod token;
#[cfg(feature = "server")]
pub use self::{authorize::*, token::*};

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> AuthorizeParams {
        AuthorizeParams {
            client_id: Some("client-1".into()),
            redirect_uri: Some("https://rp.example.cn/callback".into()),
            response_type: Some("code".into()),
            scope: Some("openid profile".into()),
            state: Some("st-1".into()),
            nonce: Some("n-1".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            code_challenge_method: Some("S256".into()),
            prompt: None,
            ui_locales: None,
            request: None,
            request_uri: None,
        }
    }

    fn registered() -> Vec<String> {
        vec!["https://rp.example.cn/callback".to_owned()]
    }

    #[test]
    fn stored_parameters_are_bounded() {
        let long = "x".repeat(PASS_THROUGH_MAX + 1);
        for (field, p) in [
            ("state", AuthorizeParams { state: Some(long.clone()), ..params() }),
            ("nonce", AuthorizeParams { nonce: Some(long.clone()), ..params() }),
            ("scope", AuthorizeParams { scope: Some(format!("openid {long}")), ..params() }),
        ] {
            match check_authorize(&p, Some(&registered())) {
                Err(OidcError::Redirect { description, .. }) => assert!(description.contains("too long"), "{field}"),
                other => panic!("{field}: {other:?}"),
            }
        }
        let at_most = AuthorizeParams { state: Some("s".repeat(PASS_THROUGH_MAX)), ..params() };
        assert!(check_authorize(&at_most, Some(&registered())).is_ok());
    }

    #[test]
    fn a_complete_request_passes_with_state_and_nonce_kept() {
        let checked = check_authorize(&params(), Some(&registered())).unwrap();
        assert_eq!(checked.redirect_uri, "https://rp.example.cn/callback");
        assert_eq!(checked.state.as_deref(), Some("st-1"));
        assert_eq!(checked.nonce.as_deref(), Some("n-1"));
    }

    #[test]
    fn unknown_clients_and_unregistered_redirects_are_never_redirected_to() {
        assert!(matches!(check_authorize(&params(), None), Err(OidcError::UnknownClient)));
        for bad in [
            "https://rp.example.cn/callback/",
            "https://rp.example.cn/callback?x=1",
            "https://evil.example/callback",
            "https://rp.example.cn/CALLBACK",
        ] {
            let p = AuthorizeParams { redirect_uri: Some(bad.into()), ..params() };
            assert!(matches!(check_authorize(&p, Some(&registered())), Err(OidcError::BadRedirectUri)), "{bad}");
        }
        let p = AuthorizeParams { redirect_uri: None, ..params() };
        assert!(matches!(check_authorize(&p, Some(&registered())), Err(OidcError::BadRedirectUri)));
    }

    #[test]
    fn pkce_s256_is_mandatory_and_other_faults_go_back_to_the_party() {
        let cases: Vec<(AuthorizeParams, &str)> = vec![
            (AuthorizeParams { code_challenge: None, ..params() }, "invalid_request"),
            (AuthorizeParams { code_challenge_method: Some("plain".into()), ..params() }, "invalid_request"),
            (AuthorizeParams { code_challenge_method: None, ..params() }, "invalid_request"),
            (AuthorizeParams { code_challenge: Some("short".into()), ..params() }, "invalid_request"),
            (AuthorizeParams { response_type: Some("token".into()), ..params() }, "unsupported_response_type"),
            (AuthorizeParams { scope: Some("profile".into()), ..params() }, "invalid_scope"),
            (AuthorizeParams { request: Some("eyJ".into()), ..params() }, "request_not_supported"),
            (AuthorizeParams { request_uri: Some("https://rp/r".into()), ..params() }, "request_uri_not_supported"),
        ];
        for (p, expected) in cases {
            match check_authorize(&p, Some(&registered())) {
                Err(OidcError::Redirect { error, state, redirect_uri, .. }) => {
                    assert_eq!(error, expected, "{p:?}");
                    assert_eq!(state.as_deref(), Some("st-1"));
                    assert_eq!(redirect_uri, "https://rp.example.cn/callback");
                }
                other => panic!("{p:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn prompt_none_is_login_required_and_unknown_prompts_are_refused() {
        let with = |prompt: &str| AuthorizeParams { prompt: Some(prompt.into()), ..params() };
        let error = |p: AuthorizeParams| match check_authorize(&p, Some(&registered())) {
            Err(OidcError::Redirect { error, state, .. }) => {
                assert_eq!(state.as_deref(), Some("st-1"), "the state goes back");
                error
            }
            other => panic!("{p:?}: {other:?}"),
        };
        assert_eq!(error(with("none")), "login_required");
        assert_eq!(error(with("none login")), "invalid_request");
        assert_eq!(error(with("select_account")), "invalid_request");
        for ok in ["login", "consent", "login consent", ""] {
            assert!(check_authorize(&with(ok), Some(&registered())).is_ok(), "{ok}");
        }
    }

    #[test]
    fn ui_locales_pick_the_first_language_spoken_here() {
        assert_eq!(ui_lang("fr-CA en-US zh-CN"), Some(crate::Lang::En));
        assert_eq!(ui_lang("zh-Hans-CN en"), Some(crate::Lang::Zh));
        assert_eq!(ui_lang("EN"), Some(crate::Lang::En));
        assert_eq!(ui_lang("fr de"), None);
        assert_eq!(ui_lang(""), None);
    }

    #[test]
    fn logout_goes_back_only_to_a_registered_uri_of_the_named_client() {
        let p = |uri: Option<&str>, state: Option<&str>| LogoutParams {
            client_id: Some("client-1".into()),
            post_logout_redirect_uri: uri.map(str::to_owned),
            state: state.map(str::to_owned),
            ..LogoutParams::default()
        };
        let reg = registered();
        assert_eq!(logout_redirect(&p(None, Some("s")), Some(&reg)).unwrap(), None, "no URI: our own page");
        assert_eq!(
            logout_redirect(&p(Some("https://rp.example.cn/callback"), Some("a b")), Some(&reg)).unwrap().as_deref(),
            Some("https://rp.example.cn/callback?state=a%20b")
        );
        assert!(matches!(
            logout_redirect(&p(Some("https://evil.example/"), None), Some(&reg)),
            Err(OidcError::BadRedirectUri)
        ));
        assert!(matches!(
            logout_redirect(&p(Some("https://rp.example.cn/callback"), None), None),
            Err(OidcError::UnknownClient)
        ));
    }

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        assert_eq!(
            with_query("https://a/cb", &[("code", "x y"), ("state", "a&b")]),
            "https://a/cb?code=x%20y&state=a%26b"
        );
        assert_eq!(
            with_query("https://a/cb?k=1", &[("error", "access_denied")]),
            "https://a/cb?k=1&error=access_denied"
        );
    }

    #[test]
    fn verifiers_follow_rfc_7636() {
        assert!(verifier_is_well_formed(&"a".repeat(43)));
        assert!(!verifier_is_well_formed(&"a".repeat(42)));
        assert!(!verifier_is_well_formed(&"a".repeat(129)));
        assert!(!verifier_is_well_formed(&format!("{}+", "a".repeat(43))));
    }

    #[cfg(feature = "server")]
    #[test]
    fn the_s256_challenge_of_the_rfc_7636_example() {
        // RFC 7636 Appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(s256_challenge(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(pkce_matches(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }
}
