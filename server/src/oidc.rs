//! The OpenID Connect endpoints for relying parties: discovery, JWKS, authorize, token and
//! userinfo. Wiring only: each handler reads the clock and its parameters, calls one use-case
//! of `ecert_core::oidc`, and answers. The authorization endpoint's answers are browser
//! redirects and an error page, made here; every JSON error is an [`ApiError`], whose one
//! mapping says each status, body and header.
//!
//! Codes, tokens and secrets travel in query strings, form bodies and headers, never in paths,
//! so the request log (path only) never holds them.

use axum::Router;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use ecert_app::state::AppState;
use ecert_core::Millis;
use ecert_core::oidc::{self, AuthorizeParams, ClientCredentials, OidcError, TokenParams};
use ecert_core::secret::Secret;

use crate::api_error::{ApiError, no_store, request_id};
use crate::client_auth;

/// The routes of the protocol (the scan-login page `/oidc/login` is a Leptos route).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/authorize", get(authorize))
        .route("/oidc/token", axum::routing::post(token))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
}

/// `GET /.well-known/openid-configuration`
async fn discovery(State(state): State<AppState>) -> Response {
    axum::Json(oidc::discovery(&state.public_url)).into_response()
}

/// `GET /oidc/jwks`: the signing key, created on first use.
async fn jwks(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let keys = oidc::jwks(&state.db, Millis::now(), &state.random)
        .await
        .map_err(|error| ApiError::OAuthInternal { error, request_id: request_id(&headers) })?;
    Ok(axum::Json(keys).into_response())
}

/// `GET /oidc/authorize`: validates and stores the request, then sends the browser to the
/// scan-login page. An unknown client or an unregistered redirect URI gets an error page here
/// and is never redirected to; other faults go back to the (registered) redirect URI.
async fn authorize(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AuthorizeParams>, QueryRejection>,
) -> Response {
    // A malformed query string is treated like an empty one: no client, an error page.
    let params = query.map(|Query(q)| q).unwrap_or_default();
    let response = match oidc::authorize(&state.db, &params, Millis::now(), &state.random).await {
        Ok(authorized) => redirect(&oidc::with_query("/oidc/login", &[("request", authorized.handle.expose())])),
        Err(OidcError::Redirect { redirect_uri, state, error, description }) => {
            let mut params = vec![("error", error), ("error_description", description)];
            if let Some(s) = state.as_deref() {
                params.push(("state", s));
            }
            redirect(&oidc::with_query(&redirect_uri, &params))
        }
        Err(e @ (OidcError::UnknownClient | OidcError::BadRedirectUri)) => {
            (StatusCode::BAD_REQUEST, Html(error_page(&e))).into_response()
        }
        Err(error) => ApiError::OAuthInternal { error, request_id: request_id(&headers) }.into_response(),
    };
    no_store(response)
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

/// A page for the person in the browser: the party's request cannot be served and there is no
/// safe place to send them back to.
fn error_page(e: &OidcError) -> String {
    let (zh, en) = match e {
        OidcError::UnknownClient => {
            ("应用系统未登记或已停用。", "The application system is not registered or is suspended.")
        }
        _ => (
            "应用系统提供的回调地址未登记，已停止登录。",
            "The application system gave a redirect URL that is not registered; sign-in stopped.",
        ),
    };
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>登录请求无效 / Invalid sign-in request</title>\
         <link rel=\"stylesheet\" href=\"/pkg/ecert.css\"></head><body><main class=\"page\"><h1>登录请求无效</h1>\
         <p role=\"alert\" data-error=\"{code}\">{zh}</p><p lang=\"en\">{en}</p><p>请联系应用系统的管理员。 \
         Please contact the application system's administrator.</p></main></body></html>",
        code = e.code(),
    )
}

/// The client's credentials: HTTP Basic (`client_secret_basic`) or form fields
/// (`client_secret_post`), not both (RFC 6749 §2.3.1).
fn credentials(headers: &HeaderMap, params: &TokenParams) -> Result<Option<ClientCredentials>, OidcError> {
    let basic = client_auth::basic(headers).map_err(|_| OidcError::InvalidClient)?;
    match (basic, params.client_secret.as_deref()) {
        (Some(_), Some(_)) => Err(OidcError::InvalidRequest("use one client authentication method")),
        (Some(b), None) => Ok(Some(ClientCredentials { client_id: b.client_id, client_secret: b.client_secret })),
        (None, Some(secret)) => Ok(params
            .client_id
            .clone()
            .map(|client_id| ClientCredentials { client_id, client_secret: Secret::new(secret) })),
        (None, None) => Ok(None),
    }
}

/// `POST /oidc/token` (form-encoded): RFC 6749 JSON answers, never cached. Called server to
/// server, without `Origin`, so the CSRF origin check lets it through.
async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<axum::Form<TokenParams>, FormRejection>,
) -> Result<Response, ApiError> {
    let refused = |e| ApiError::token(e, request_id(&headers));
    let axum::Form(params) =
        form.map_err(|_| refused(OidcError::InvalidRequest("the body must be application/x-www-form-urlencoded")))?;
    let creds = credentials(&headers, &params).map_err(refused)?;
    let tokens = oidc::exchange(&state.db, creds, &params, &state.public_url, Millis::now(), &state.random)
        .await
        .map_err(refused)?;
    Ok(no_store(axum::Json(tokens).into_response()))
}

/// `GET|POST /oidc/userinfo` with `Authorization: Bearer`: the ID token's custom claims.
async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let result = match bearer {
        Some(token) => oidc::userinfo(&state.db, token, Millis::now()).await,
        None => Err(OidcError::InvalidToken),
    };
    let claims = result.map_err(|e| ApiError::userinfo(e, request_id(&headers)))?;
    Ok(no_store(axum::Json(claims).into_response()))
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded_and_one_method_only() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("client%2D1:s%3Acret");
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Basic {encoded}")).unwrap());
        let creds = credentials(&headers, &TokenParams::default()).unwrap().unwrap();
        assert_eq!(creds.client_id, "client-1");
        assert_eq!(creds.client_secret.expose(), "s:cret");
        let both = TokenParams { client_secret: Some("x".into()), ..TokenParams::default() };
        assert!(matches!(credentials(&headers, &both), Err(OidcError::InvalidRequest(_))));
        let post =
            TokenParams { client_id: Some("c".into()), client_secret: Some("x".into()), ..TokenParams::default() };
        assert_eq!(credentials(&HeaderMap::new(), &post).unwrap().unwrap().client_id, "c");
    }
}
