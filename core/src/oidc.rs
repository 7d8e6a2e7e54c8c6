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
impl From<sqlx::Error> for OidcError {
    fn from(e: sqlx::Error) -> Self {
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

/// Longest `state` or `nonce` accepted (they are stored and echoed).
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
    match params.response_type.as_deref() {
        Some("code") => {}
        None => return Err(refuse("invalid_request", "response_type is required")),
        Some(_) => return Err(refuse("unsupported_response_type", "only response_type=code is supported")),
    }
    let scope = params.scope.clone().unwrap_or_default();
    if !scope.split(' ').any(|s| s == "openid") {
        return Err(refuse("invalid_scope", "scope must contain openid"));
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
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::error::DomainError;
    use crate::holder::Role;
    use crate::login::{self, LoginState};
    use crate::party;
    use crate::secret::{Random, Secret, constant_time_eq, token_hash};
    use crate::store::{Db, Tx};
    use crate::time::{self, Millis};
    use crate::{jws, mask, on_db, on_tx};

    /// The provider metadata (OpenID Connect Discovery 1.0) of an issuer.
    pub fn discovery(issuer: &str) -> serde_json::Value {
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oidc/authorize"),
            "token_endpoint": format!("{issuer}/oidc/token"),
            "userinfo_endpoint": format!("{issuer}/oidc/userinfo"),
            "jwks_uri": format!("{issuer}/oidc/jwks"),
            "scopes_supported": ["openid", "profile"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ES256],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": [S256],
            "claims_supported": ["iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "name",
                "institution", "role", "matters"],
        })
    }

    /// RFC 7636: BASE64URL(SHA-256(verifier)).
    pub fn s256_challenge(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }

    /// Checks a PKCE verifier against the stored challenge, in constant time.
    pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
        verifier_is_well_formed(verifier) && constant_time_eq(&s256_challenge(verifier), challenge)
    }

    /// The JSON Web Key Set of the issuer: the ID-token key, made on first use.
    pub async fn jwks(db: &Db, now: Millis, random: &Random) -> Result<serde_json::Value, OidcError> {
        Ok(jws::key(db, jws::Purpose::IdToken, now, random).await?.jwks())
    }

    /// A stored authorization request: the handle for the scan-login page, shown once.
    #[derive(Debug)]
    pub struct Authorized {
        pub handle: Secret,
    }

    /// Validates an authorization request and stores it (handle hashed).
    pub async fn authorize(
        db: &Db,
        params: &AuthorizeParams,
        now: Millis,
        random: &Random,
    ) -> Result<Authorized, OidcError> {
        let client = match params.client_id.as_deref().filter(|c| !c.is_empty()) {
            Some(id) => party::client(db, id).await?,
            None => None,
        };
        let checked = check_authorize(params, client.as_ref().map(|c| c.redirect_uris.as_slice()))?;
        let handle = random.token();
        on_db!(db, |c| sqlx::query(
            "INSERT INTO oidc_request (id, handle_hash, party_id, redirect_uri, scope, state, nonce, code_challenge, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        .bind(random.id())
        .bind(token_hash(handle.expose()))
        .bind(&checked.client_id)
        .bind(&checked.redirect_uri)
        .bind(&checked.scope)
        .bind(&checked.state)
        .bind(&checked.nonce)
        .bind(&checked.code_challenge)
        .bind(now.0)
        .bind(now.plus_minutes(REQUEST_MINUTES).0)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(Authorized { handle })
    }

    #[derive(sqlx::FromRow)]
    struct RequestRow {
        id: String,
        party_id: String,
        party_name: String,
        redirect_uri: String,
        state: Option<String>,
        login_id: Option<String>,
        expires_at: i64,
        done_at: Option<i64>,
    }

    const REQUEST_SELECT: &str = "SELECT r.id, r.party_id, p.name AS party_name, r.redirect_uri, r.state, r.login_id, \
         r.expires_at, r.done_at FROM oidc_request r JOIN relying_party p ON p.id = r.party_id \
         WHERE r.handle_hash = $1 AND p.status = 'active'";

    async fn live_request(db: &Db, handle: &str, now: Millis) -> Result<RequestRow, OidcError> {
        let row: Option<RequestRow> =
            on_db!(db, |c| sqlx::query_as(REQUEST_SELECT).bind(token_hash(handle.trim())).fetch_optional(c).await)?;
        row.filter(|r| r.done_at.is_none() && r.expires_at > now.0).ok_or(OidcError::RequestGone)
    }

    /// What the scan-login page shows of a request.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct RequestView {
        /// The relying party's registered name (what the wallet shows too).
        pub party_name: String,
    }

    pub async fn request_view(db: &Db, handle: &str, now: Millis) -> Result<RequestView, OidcError> {
        let row = live_request(db, handle, now).await?;
        Ok(RequestView { party_name: row.party_name })
    }

    /// R11 for a relying party: a (fresh) login QR for this request; the wallet will show the
    /// party's registered name. The browser keeps `browser` in its login cookie.
    pub async fn start_login(
        db: &Db,
        handle: &str,
        now: Millis,
        random: &Random,
    ) -> Result<(RequestView, login::Started), OidcError> {
        let row = live_request(db, handle, now).await?;
        let started = login::start_for_party(db, &row.party_name, &row.party_id, now, random).await?;
        on_db!(db, |c| sqlx::query("UPDATE oidc_request SET login_id = $1 WHERE id = $2 AND done_at IS NULL")
            .bind(&started.id)
            .bind(&row.id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok((RequestView { party_name: row.party_name }, started))
    }

    /// Where the scan-login page stands; `redirect` is set once the login is over (a code, or
    /// `access_denied`): the browser goes there.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Progress {
        pub state: LoginState,
        pub redirect: Option<String>,
    }

    /// The hot path the page polls. On `confirmed` it takes the login (once, for the browser
    /// that asked) and issues the authorization code; on `rejected` it ends the request.
    pub async fn progress(
        db: &Db,
        handle: &str,
        browser: &str,
        now: Millis,
        random: &Random,
    ) -> Result<Progress, OidcError> {
        let row = live_request(db, handle, now).await?;
        let Some(login_id) = row.login_id.clone() else {
            return Ok(Progress { state: LoginState::Unknown, redirect: None });
        };
        let login: Option<(String, i64)> = on_db!(db, |c| sqlx::query_as(
            "SELECT status, expires_at FROM login_request WHERE id = $1 AND browser_hash = $2"
        )
        .bind(&login_id)
        .bind(token_hash(browser))
        .fetch_optional(c)
        .await)?;
        let state = login.map_or(LoginState::Unknown, |(s, e)| login::state_of(&s, e, now));
        match state {
            LoginState::Confirmed => issue_code(db, handle, &login_id, browser, now, random).await,
            LoginState::Rejected => {
                let ended = on_db!(db, |c| sqlx::query(
                    "UPDATE oidc_request SET done_at = $1 WHERE id = $2 AND done_at IS NULL"
                )
                .bind(now.0)
                .bind(&row.id)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
                if ended != 1 {
                    return Err(OidcError::RequestGone);
                }
                let mut params = vec![("error", "access_denied")];
                if let Some(s) = row.state.as_deref() {
                    params.push(("state", s));
                }
                Ok(Progress { state, redirect: Some(with_query(&row.redirect_uri, &params)) })
            }
            state => Ok(Progress { state, redirect: None }),
        }
    }

    async fn issue_code(
        db: &Db,
        handle: &str,
        login_id: &str,
        browser: &str,
        now: Millis,
        random: &Random,
    ) -> Result<Progress, OidcError> {
        let mut tx = db.begin_write().await?;
        let sql = format!(
            "SELECT id, party_id, redirect_uri, state, nonce, code_challenge FROM oidc_request \
             WHERE handle_hash = $1 AND done_at IS NULL AND expires_at > $2{}",
            tx.for_update()
        );
        type Row = (String, String, String, Option<String>, Option<String>, String);
        let row: Option<Row> = on_tx!(&mut tx, |c| sqlx::query_as(&sql)
            .bind(token_hash(handle.trim()))
            .bind(now.0)
            .fetch_optional(c)
            .await)?;
        let (request_id, party_id, redirect_uri, state, nonce, challenge) = row.ok_or(OidcError::RequestGone)?;
        let Some(taken) = login::take_for_party(&mut tx, login_id, &party_id, browser, now).await? else {
            return Ok(Progress { state: LoginState::Unknown, redirect: None });
        };
        let code = random.token();
        on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO oidc_code (code_hash, request_id, party_id, redirect_uri, code_challenge, nonce, holder_id, \
             device_id, auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        )
        .bind(token_hash(code.expose()))
        .bind(&request_id)
        .bind(&party_id)
        .bind(&redirect_uri)
        .bind(&challenge)
        .bind(&nonce)
        .bind(&taken.holder_id)
        .bind(&taken.device_id)
        .bind(taken.confirmed_at.0)
        .bind(now.0)
        .bind(now.plus_millis(CODE_SECONDS * Millis::SECOND).0)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.stamp("UPDATE oidc_request SET done_at = $1 WHERE id = $2", now, &request_id).await?;
        tx.commit().await?;
        let mut params = vec![("code", code.expose())];
        if let Some(s) = state.as_deref() {
            params.push(("state", s));
        }
        Ok(Progress { state: LoginState::Confirmed, redirect: Some(with_query(&redirect_uri, &params)) })
    }

    /// How the client authenticated at the token endpoint.
    #[derive(Clone, PartialEq, Eq)]
    pub struct ClientCredentials {
        pub client_id: String,
        pub client_secret: Secret,
    }

    impl std::fmt::Debug for ClientCredentials {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("ClientCredentials").field("client_id", &self.client_id).finish_non_exhaustive()
        }
    }

    /// What the token endpoint answers (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
    #[derive(Clone, PartialEq, Eq, Serialize)]
    pub struct Tokens {
        pub access_token: String,
        pub token_type: &'static str,
        pub expires_in: i64,
        pub id_token: String,
        pub scope: String,
    }

    impl std::fmt::Debug for Tokens {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Tokens(**redacted**)")
        }
    }

    #[derive(sqlx::FromRow)]
    struct CodeRow {
        party_id: String,
        redirect_uri: String,
        code_challenge: String,
        nonce: Option<String>,
        holder_id: String,
        device_id: String,
        auth_time: i64,
        expires_at: i64,
        used_at: Option<i64>,
        scope: String,
    }

    /// The token endpoint: exchanges a code for an ID token and an access token. The client
    /// authenticates with its secret; the code is single-use, short-lived, bound to the client,
    /// the redirect URI and the PKCE challenge; a replayed code revokes what it issued (RFC 6749
    /// §4.1.2); holder, device and certificate must still be active (R8, R15).
    pub async fn exchange(
        db: &Db,
        credentials: Option<ClientCredentials>,
        params: &TokenParams,
        issuer: &str,
        now: Millis,
        random: &Random,
    ) -> Result<Tokens, OidcError> {
        let credentials = credentials.ok_or(OidcError::InvalidClient)?;
        let client = match party::authenticate(db, &credentials.client_id, credentials.client_secret.expose()).await {
            Ok(client) => client,
            Err(crate::Error::Domain(DomainError::InvalidCredentials)) => return Err(OidcError::InvalidClient),
            Err(e) => return Err(e.into()),
        };
        match params.grant_type.as_deref() {
            Some("authorization_code") => {}
            None => return Err(OidcError::InvalidRequest("grant_type is required")),
            Some(_) => return Err(OidcError::UnsupportedGrantType),
        }
        let code =
            params.code.as_deref().filter(|c| !c.is_empty()).ok_or(OidcError::InvalidRequest("code is required"))?;
        let verifier = params.code_verifier.as_deref().ok_or(OidcError::InvalidRequest("code_verifier is required"))?;
        let redirect_uri =
            params.redirect_uri.as_deref().ok_or(OidcError::InvalidRequest("redirect_uri is required"))?;

        let code_hash = token_hash(code.trim());
        let mut tx = db.begin_write().await?;
        let sql = format!(
            "SELECT k.party_id, k.redirect_uri, k.code_challenge, k.nonce, k.holder_id, k.device_id, k.auth_time, \
             k.expires_at, k.used_at, r.scope FROM oidc_code k JOIN oidc_request r ON r.id = k.request_id \
             WHERE k.code_hash = $1{}",
            tx.for_update().replace("FOR UPDATE", "FOR UPDATE OF k")
        );
        let row: Option<CodeRow> = on_tx!(&mut tx, |c| sqlx::query_as(&sql).bind(&code_hash).fetch_optional(c).await)?;
        let row = row.ok_or(OidcError::InvalidGrant("unknown code"))?;
        if row.party_id != client.party_id {
            // Another client's code: it learns nothing, and the code stays for its owner.
            return Err(OidcError::InvalidGrant("unknown code"));
        }
        if row.used_at.is_some() {
            // RFC 6749 §4.1.2: a code used twice revokes the tokens it issued.
            tx.stamp(
                "UPDATE oidc_token SET revoked_at = $1 WHERE code_hash = $2 AND revoked_at IS NULL",
                now,
                &code_hash,
            )
            .await?;
            tx.commit().await?;
            return Err(OidcError::InvalidGrant("code already used"));
        }
        // From here on the code is spent, whatever the outcome: one try per code.
        tx.stamp("UPDATE oidc_code SET used_at = $1 WHERE code_hash = $2", now, &code_hash).await?;
        let refusal = if row.expires_at <= now.0 {
            Some("code expired")
        } else if row.redirect_uri != redirect_uri {
            Some("redirect_uri does not match the authorization request")
        } else if !pkce_matches(verifier, &row.code_challenge) {
            Some("PKCE verification failed")
        } else {
            None
        };
        if let Some(reason) = refusal {
            tx.commit().await?;
            return Err(OidcError::InvalidGrant(reason));
        }
        // R8, R15: removal, device loss or cancellation since the scan refuses the exchange.
        let Some(claims) = holder_claims(&mut tx, &row.holder_id, &row.device_id, now).await? else {
            tx.commit().await?;
            return Err(OidcError::InvalidGrant("the certificate or the holder's authorization is no longer valid"));
        };
        let access = random.token();
        on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO oidc_token (token_hash, code_hash, party_id, holder_id, device_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(token_hash(access.expose()))
        .bind(&code_hash)
        .bind(&client.party_id)
        .bind(&row.holder_id)
        .bind(&row.device_id)
        .bind(now.0)
        .bind(now.plus_millis(TOKEN_SECONDS * Millis::SECOND).0)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await?;

        let key = jws::key(db, jws::Purpose::IdToken, now, random).await?;
        let seconds = now.0 / Millis::SECOND;
        let mut id_token = serde_json::to_value(&claims).map_err(|_| OidcError::InvalidGrant("claims"))?;
        if let Some(map) = id_token.as_object_mut() {
            map.insert("iss".into(), issuer.into());
            map.insert("aud".into(), client.party_id.clone().into());
            map.insert("azp".into(), client.party_id.clone().into());
            map.insert("iat".into(), seconds.into());
            map.insert("exp".into(), (seconds + TOKEN_SECONDS).into());
            map.insert("auth_time".into(), (row.auth_time / Millis::SECOND).into());
            if let Some(nonce) = &row.nonce {
                map.insert("nonce".into(), nonce.clone().into());
            }
        }
        Ok(Tokens {
            access_token: access.expose().to_owned(),
            token_type: "Bearer",
            expires_in: TOKEN_SECONDS,
            id_token: key.sign("JWT", &id_token),
            scope: row.scope,
        })
    }

    /// The userinfo endpoint: the same claims as the ID token, while the access token is live
    /// and holder, device and certificate are active (R8, R15).
    pub async fn userinfo(db: &Db, access_token: &str, now: Millis) -> Result<HolderClaims, OidcError> {
        let row: Option<(String, String)> = on_db!(db, |c| {
            sqlx::query_as(
            "SELECT holder_id, device_id FROM oidc_token WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2"
        )
        .bind(token_hash(access_token.trim()))
        .bind(now.0)
        .fetch_optional(c)
        .await
        })?;
        let (holder_id, device_id) = row.ok_or(OidcError::InvalidToken)?;
        // A read in a write transaction keeps one code path for both endpoints; it is short.
        let mut tx = db.begin_write().await?;
        let claims = holder_claims(&mut tx, &holder_id, &device_id, now).await?;
        tx.commit().await?;
        claims.ok_or(OidcError::InvalidToken)
    }

    /// The claims of a holder on a device, if holder, device and certificate are all active.
    async fn holder_claims(
        tx: &mut Tx,
        holder_id: &str,
        device_id: &str,
        now: Millis,
    ) -> Result<Option<HolderClaims>, OidcError> {
        let row: Option<(Role, String, String, String, String)> = on_tx!(tx, |c| sqlx::query_as(
            "SELECT h.role, h.name, i.name, i.credit_code, c.serial FROM holder h \
             JOIN device d ON d.holder_id = h.id JOIN certificate c ON c.id = h.certificate_id \
             JOIN institution i ON i.id = c.institution_id \
             WHERE h.id = $1 AND d.id = $2 AND h.status = 'active' AND d.status = 'active' AND c.status = 'active'"
        )
        .bind(holder_id)
        .bind(device_id)
        .fetch_optional(c)
        .await)?;
        let Some((role, name, institution, credit_code, serial)) = row else { return Ok(None) };
        let matters = if role == Role::User {
            // R6: only grants in force today, China Standard Time.
            let today = time::format_day(time::today_cst(now));
            let rows: Vec<(String, String, String)> = on_tx!(tx, |c| sqlx::query_as(concat!(
                "SELECT DISTINCT m.id, m.name_zh, m.name_en FROM holder_grant g \
                     JOIN grant_matter gm ON gm.grant_id = g.id JOIN matter m ON m.id = gm.matter_id \
                     WHERE g.holder_id = $1 AND ",
                crate::grant_in_force_sql!("g", "$2"),
                " ORDER BY m.id"
            ))
            .bind(holder_id)
            .bind(&today)
            .fetch_all(c)
            .await)?;
            rows.into_iter().map(|(id, name, name_en)| MatterClaim { id, name, name_en }).collect()
        } else {
            Vec::new()
        };
        Ok(Some(HolderClaims {
            sub: holder_id.to_owned(),
            name: mask::person_name(&name),
            institution: InstitutionClaim { name: institution, credit_code, certificate_serial: serial },
            role,
            matters,
        }))
    }
}

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
        }
    }

    fn registered() -> Vec<String> {
        vec!["https://rp.example.cn/callback".to_owned()]
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
