//! The authorization side of OpenID Connect (server): discovery and keys, a relying party's
//! authorization request checked and kept, the scan login it starts (R11), and the one-time
//! code it ends with.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::*;
use crate::login::{self, LoginState};
use crate::party;
use crate::secret::{Random, Secret, constant_time_eq, token_hash};
use crate::store::Db;
use crate::time::Millis;
use crate::{jws, store::query};

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
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": PROMPT_VALUES,
        "ui_locales_supported": ["zh-CN", "en"],
        "end_session_endpoint": format!("{issuer}/oidc/logout"),
        "service_documentation": format!("{issuer}/oidc/guide"),
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
    Ok(jws::jwks(db, jws::Purpose::IdToken, now, random).await?)
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
    db.execute(
        query(
            "INSERT INTO oidc_request (id, handle_hash, party_id, redirect_uri, scope, state, nonce, code_challenge, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
        .bind(now.plus_minutes(REQUEST_MINUTES).0),
    )
    .await?;
    Ok(Authorized { handle })
}

pub(super) struct RequestRow {
    pub(super) id: String,
    pub(super) party_id: String,
    pub(super) party_name: String,
    pub(super) redirect_uri: String,
    pub(super) state: Option<String>,
    pub(super) login_id: Option<String>,
    pub(super) expires_at: i64,
    pub(super) done_at: Option<i64>,
}

crate::store::from_row!(RequestRow { id, party_id, party_name, redirect_uri, state, login_id, expires_at, done_at });

pub(super) const REQUEST_SELECT: &str = "SELECT r.id, r.party_id, p.name AS party_name, r.redirect_uri, r.state, r.login_id, \
     r.expires_at, r.done_at FROM oidc_request r JOIN relying_party p ON p.id = r.party_id \
     WHERE r.handle_hash = $1 AND p.status = 'active'";

pub(super) async fn live_request(db: &Db, handle: &str, now: Millis) -> Result<RequestRow, OidcError> {
    let row: Option<RequestRow> = db.fetch_optional(query(REQUEST_SELECT).bind(token_hash(handle.trim()))).await?;
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
    requester: &login::Requester,
    now: Millis,
    random: &Random,
) -> Result<(RequestView, login::Started), OidcError> {
    let row = live_request(db, handle, now).await?;
    let started = login::start_for_party(db, &row.party_name, &row.party_id, requester, now, random).await?;
    db.execute(
        query("UPDATE oidc_request SET login_id = $1 WHERE id = $2 AND done_at IS NULL")
            .bind(&started.id)
            .bind(&row.id),
    )
    .await?;
    Ok((RequestView { party_name: row.party_name }, started))
}

/// Where the scan-login page stands; `redirect` is set once the login is over (a code, or
/// `access_denied`): the browser goes there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub state: LoginState,
    pub redirect: Option<String>,
}

/// The page's long poll (issue 17 §2): waits, as [`crate::login::changes::wait_for_change`], for
/// the login of request `handle` to move from `seen`, and answers at once when the request is
/// gone or has no login yet. The caller then asks [`progress`].
pub async fn wait_for_progress(
    db: &Db,
    handle: &str,
    browser: &str,
    seen: LoginState,
    now: Millis,
) -> Result<(), OidcError> {
    let row = match live_request(db, handle, now).await {
        Ok(row) => row,
        Err(OidcError::RequestGone) => return Ok(()),
        Err(e) => return Err(e),
    };
    if let Some(login_id) = row.login_id.as_deref() {
        crate::login::changes::wait_for_change(db, browser, Some(login_id), seen).await?;
    }
    Ok(())
}

/// The person at the PC declines ("cancel and return"): the request ends and the browser goes
/// back to the party with `access_denied` (OpenID Connect Core §3.1.2.6) and its `state`. A
/// request already finished or expired answers [`OidcError::RequestGone`].
pub async fn cancel(db: &Db, handle: &str, now: Millis) -> Result<String, OidcError> {
    let row = live_request(db, handle, now).await?;
    let ended = db
        .execute(
            query("UPDATE oidc_request SET done_at = $1 WHERE id = $2 AND done_at IS NULL AND expires_at > $1")
                .bind(now.0)
                .bind(&row.id),
        )
        .await?;
    if ended != 1 {
        return Err(OidcError::RequestGone);
    }
    Ok(denied_redirect(&row))
}

/// The party's redirect URI with `error=access_denied` and the request's `state`.
fn denied_redirect(row: &RequestRow) -> String {
    let mut params = vec![("error", "access_denied")];
    if let Some(s) = row.state.as_deref() {
        params.push(("state", s));
    }
    with_query(&row.redirect_uri, &params)
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
    let login: Option<(String, i64)> = db
        .fetch_optional(
            query("SELECT status, expires_at FROM login_request WHERE id = $1 AND browser_hash = $2")
                .bind(&login_id)
                .bind(token_hash(browser)),
        )
        .await?;
    let state = login.map_or(LoginState::Unknown, |(s, e)| login::state_of(&s, e, now));
    match state {
        LoginState::Confirmed => issue_code(db, handle, &login_id, browser, now, random).await,
        LoginState::Rejected => {
            let ended = db
                .execute(
                    query("UPDATE oidc_request SET done_at = $1 WHERE id = $2 AND done_at IS NULL")
                        .bind(now.0)
                        .bind(&row.id),
                )
                .await?;
            if ended != 1 {
                return Err(OidcError::RequestGone);
            }
            Ok(Progress { state, redirect: Some(denied_redirect(&row)) })
        }
        state => Ok(Progress { state, redirect: None }),
    }
}
