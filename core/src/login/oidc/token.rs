//! The token side of OpenID Connect (server): a relying party exchanges its one-time code, with
//! its client secret and PKCE verifier, for an ID token and an access token, and reads the
//! holder's claims (masked, R16; grants in force, R6) with the access token.

use super::authorize::*;
use super::*;
use crate::error::DomainError;
use crate::holder::Role;
use crate::login::{self, LoginState};
use crate::party;
use crate::secret::{Random, Secret, token_hash};
use crate::store::{Db, Tx};
use crate::time::{self, Millis};
use crate::{jws, mask, store::query};

pub(super) async fn issue_code(
    db: &Db,
    handle: &str,
    login_id: &str,
    browser: &str,
    now: Millis,
    random: &Random,
) -> Result<Progress, OidcError> {
    let mut tx = db.begin_write().await?;
    let sql = "SELECT id, party_id, redirect_uri, state, nonce, code_challenge FROM oidc_request \
         WHERE handle_hash = $1 AND done_at IS NULL AND expires_at > $2";
    type Row = (String, String, String, Option<String>, Option<String>, String);
    let row: Option<Row> =
        tx.fetch_optional(query(sql).lock_rows().bind(token_hash(handle.trim())).bind(now.0)).await?;
    let (request_id, party_id, redirect_uri, state, nonce, challenge) = row.ok_or(OidcError::RequestGone)?;
    let Some(taken) = login::take_for_party(&mut tx, login_id, &party_id, browser, now).await? else {
        return Ok(Progress { state: LoginState::Unknown, redirect: None });
    };
    let code = random.token();
    tx.execute(
        query(
            "INSERT INTO oidc_code (code_hash, request_id, party_id, redirect_uri, code_challenge, nonce, holder_id, \
         device_id, auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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
        .bind(now.plus_millis(CODE_SECONDS * Millis::SECOND).0),
    )
    .await?;
    tx.execute(query("UPDATE oidc_request SET done_at = $1 WHERE id = $2").bind(now).bind(&request_id)).await?;
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

pub(super) struct CodeRow {
    pub(super) party_id: String,
    pub(super) redirect_uri: String,
    pub(super) code_challenge: String,
    pub(super) nonce: Option<String>,
    pub(super) holder_id: String,
    pub(super) device_id: String,
    pub(super) auth_time: i64,
    pub(super) expires_at: i64,
    pub(super) used_at: Option<i64>,
    pub(super) scope: String,
}

crate::store::from_row!(CodeRow {
    party_id,
    redirect_uri,
    code_challenge,
    nonce,
    holder_id,
    device_id,
    auth_time,
    expires_at,
    used_at,
    scope
});

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
    let client = authenticate_client(db, credentials).await?;
    let asked = Exchange::of(params)?;
    let code_hash = token_hash(asked.code.trim());
    let (mut tx, row) = spend_code(db.begin_write().await?, &client.party_id, &code_hash, &asked, now).await?;
    // R8, R15: removal, device loss or cancellation since the scan refuses the exchange.
    let Some(claims) = holder_claims(&mut tx, &row.holder_id, &row.device_id, now).await? else {
        tx.commit().await?;
        return Err(OidcError::InvalidGrant("the certificate or the holder's authorization is no longer valid"));
    };
    let access = random.token();
    tx.execute(
        query(
            "INSERT INTO oidc_token (token_hash, code_hash, party_id, holder_id, device_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_hash(access.expose()))
        .bind(&code_hash)
        .bind(&client.party_id)
        .bind(&row.holder_id)
        .bind(&row.device_id)
        .bind(now.0)
        .bind(now.plus_millis(TOKEN_SECONDS * Millis::SECOND).0),
    )
    .await?;
    tx.commit().await?;

    let key = jws::key(db, jws::Purpose::IdToken, now, random).await?;
    let id_token = id_token_claims(&claims, issuer, &client.party_id, &row, now)?;
    Ok(Tokens {
        access_token: access.expose().to_owned(),
        token_type: "Bearer",
        expires_in: TOKEN_SECONDS,
        id_token: key.sign("JWT", &id_token),
        scope: row.scope,
    })
}

/// The client by its secret; a wrong one is `invalid_client`.
async fn authenticate_client(db: &Db, credentials: Option<ClientCredentials>) -> Result<party::Client, OidcError> {
    let credentials = credentials.ok_or(OidcError::InvalidClient)?;
    match party::authenticate(db, &credentials.client_id, credentials.client_secret.expose()).await {
        Ok(client) => Ok(client),
        Err(crate::Error::Domain(DomainError::InvalidCredentials)) => Err(OidcError::InvalidClient),
        Err(e) => Err(e.into()),
    }
}

/// What a token request must carry for the authorization-code grant.
struct Exchange<'a> {
    code: &'a str,
    verifier: &'a str,
    redirect_uri: &'a str,
}

impl<'a> Exchange<'a> {
    fn of(params: &'a TokenParams) -> Result<Self, OidcError> {
        match params.grant_type.as_deref() {
            Some("authorization_code") => {}
            None => return Err(OidcError::InvalidRequest("grant_type is required")),
            Some(_) => return Err(OidcError::UnsupportedGrantType),
        }
        let code = params.code.as_deref().filter(|c| !c.is_empty());
        Ok(Exchange {
            code: code.ok_or(OidcError::InvalidRequest("code is required"))?,
            verifier: params.code_verifier.as_deref().ok_or(OidcError::InvalidRequest("code_verifier is required"))?,
            redirect_uri: params
                .redirect_uri
                .as_deref()
                .ok_or(OidcError::InvalidRequest("redirect_uri is required"))?,
        })
    }
}

/// Takes the code (locked) for this exchange and spends it: one try per code. A refusal
/// commits what it wrote (the spent mark; a replay's revocation of what the code issued) and
/// answers the error; otherwise the transaction goes on with the code's row.
async fn spend_code(
    mut tx: Tx,
    party_id: &str,
    code_hash: &str,
    asked: &Exchange<'_>,
    now: Millis,
) -> Result<(Tx, CodeRow), OidcError> {
    let sql = "SELECT k.party_id, k.redirect_uri, k.code_challenge, k.nonce, k.holder_id, k.device_id, k.auth_time, \
         k.expires_at, k.used_at, r.scope FROM oidc_code k JOIN oidc_request r ON r.id = k.request_id \
         WHERE k.code_hash = $1";
    let row: Option<CodeRow> = tx.fetch_optional(query(sql).lock_rows_of("k").bind(code_hash)).await?;
    // Another client's code: it learns nothing, and the code stays for its owner.
    let row = row.filter(|r| r.party_id == party_id).ok_or(OidcError::InvalidGrant("unknown code"))?;
    if row.used_at.is_some() {
        // RFC 6749 §4.1.2: a code used twice revokes the tokens it issued.
        let revoke = "UPDATE oidc_token SET revoked_at = $1 WHERE code_hash = $2 AND revoked_at IS NULL";
        tx.execute(query(revoke).bind(now).bind(code_hash)).await?;
        tx.commit().await?;
        return Err(OidcError::InvalidGrant("code already used"));
    }
    // From here on the code is spent, whatever the outcome.
    tx.execute(query("UPDATE oidc_code SET used_at = $1 WHERE code_hash = $2").bind(now).bind(code_hash)).await?;
    let refusal = if row.expires_at <= now.0 {
        Some("code expired")
    } else if row.redirect_uri != asked.redirect_uri {
        Some("redirect_uri does not match the authorization request")
    } else if !pkce_matches(asked.verifier, &row.code_challenge) {
        Some("PKCE verification failed")
    } else {
        None
    };
    match refusal {
        Some(reason) => {
            tx.commit().await?;
            Err(OidcError::InvalidGrant(reason))
        }
        None => Ok((tx, row)),
    }
}

/// The ID token's claims: the holder's, and who issued it, for whom, when and with which nonce.
fn id_token_claims(
    claims: &HolderClaims,
    issuer: &str,
    party_id: &str,
    row: &CodeRow,
    now: Millis,
) -> Result<serde_json::Value, OidcError> {
    let seconds = now.0 / Millis::SECOND;
    let mut id_token = serde_json::to_value(claims).map_err(|_| OidcError::InvalidGrant("claims"))?;
    if let Some(map) = id_token.as_object_mut() {
        map.insert("iss".into(), issuer.into());
        map.insert("aud".into(), party_id.into());
        map.insert("azp".into(), party_id.into());
        map.insert("iat".into(), seconds.into());
        map.insert("exp".into(), (seconds + TOKEN_SECONDS).into());
        map.insert("auth_time".into(), (row.auth_time / Millis::SECOND).into());
        if let Some(nonce) = &row.nonce {
            map.insert("nonce".into(), nonce.clone().into());
        }
    }
    Ok(id_token)
}

/// The userinfo endpoint: the same claims as the ID token, while the access token is live
/// and holder, device and certificate are active (R8, R15).
pub async fn userinfo(db: &Db, access_token: &str, now: Millis) -> Result<HolderClaims, OidcError> {
    let row: Option<(String, String)> = db.fetch_optional(query("SELECT holder_id, device_id FROM oidc_token WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2").bind(token_hash(access_token.trim())).bind(now.0)).await?;
    let (holder_id, device_id) = row.ok_or(OidcError::InvalidToken)?;
    // A read in a write transaction keeps one code path for both endpoints; it is short.
    let mut tx = db.begin_write().await?;
    let claims = holder_claims(&mut tx, &holder_id, &device_id, now).await?;
    tx.commit().await?;
    claims.ok_or(OidcError::InvalidToken)
}

/// The claims of a holder on a device, if holder, device and certificate are all active.
pub(super) async fn holder_claims(
    tx: &mut Tx,
    holder_id: &str,
    device_id: &str,
    now: Millis,
) -> Result<Option<HolderClaims>, OidcError> {
    let row: Option<(Role, String, String, String, String)> = tx
        .fetch_optional(
            query(concat!(
                "SELECT h.role, h.name, i.name, i.credit_code, c.serial FROM holder h \
         JOIN device d ON d.holder_id = h.id JOIN certificate c ON c.id = h.certificate_id \
         JOIN institution i ON i.id = c.institution_id \
         WHERE h.id = $1 AND d.id = $2 AND ",
                crate::binding_live_sql!("$3")
            ))
            .bind(holder_id)
            .bind(device_id)
            .bind(now.0),
        )
        .await?;
    let Some((role, name, institution, credit_code, serial)) = row else { return Ok(None) };
    let matters = if role == Role::User {
        // R6: only grants in force today, China Standard Time.
        let today = time::format_day(time::today_cst(now));
        let rows: Vec<(String, String, String)> = tx
            .fetch_all(
                query(concat!(
                    "SELECT DISTINCT m.id, m.name_zh, m.name_en FROM holder_grant g \
                 JOIN grant_matter gm ON gm.grant_id = g.id JOIN matter m ON m.id = gm.matter_id \
                 WHERE g.holder_id = $1 AND ",
                    crate::grant_in_force_sql!("g", "$2"),
                    " ORDER BY m.id"
                ))
                .bind(holder_id)
                .bind(&today),
            )
            .await?;
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
