//! The OpenID Connect endpoints for relying parties: discovery, JWKS, authorize, token,
//! userinfo, end session and the integration guide. Wiring only: each handler reads the clock and its parameters, calls one use-case
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
use ecert_core::i18n::LANG_COOKIE;
use ecert_core::oidc::{self, AuthorizeParams, ClientCredentials, LogoutParams, OidcError, TokenParams};
use ecert_core::secret::Secret;

use crate::api_error::{ApiError, no_store, request_id};
use crate::client_auth;

/// The routes of the protocol (the scan-login page `/oidc/login` is a Leptos route).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        // OpenID Connect Core §3.1.2.1: GET and POST (form-encoded) alike.
        .route("/oidc/authorize", get(authorize).post(authorize_post))
        .route("/oidc/token", axum::routing::post(token))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .route("/oidc/logout", get(logout))
        .route("/oidc/guide", get(guide))
}

/// The integration guide a party reads (discovery's `service_documentation`).
const GUIDE: &str = include_str!("../../docs/oidc.md");

/// `GET /oidc/guide`: `docs/oidc.md`, as Markdown text.
async fn guide() -> Response {
    ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], GUIDE).into_response()
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
    authorized(&state, &headers, query.map(|Query(q)| q).unwrap_or_default()).await
}

/// `POST /oidc/authorize`: the same request as a form (a page of the party auto-submits it).
async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<axum::Form<AuthorizeParams>, FormRejection>,
) -> Response {
    authorized(&state, &headers, form.map(|axum::Form(f)| f).unwrap_or_default()).await
}

async fn authorized(state: &AppState, headers: &HeaderMap, params: AuthorizeParams) -> Response {
    let response = match oidc::authorize(&state.db, &params, Millis::now(), &state.random).await {
        Ok(authorized) => {
            let mut response = redirect(&oidc::with_query("/oidc/login", &[("request", authorized.handle.expose())]));
            // `ui_locales`: the login page in the first language of the list spoken here, unless
            // the person chose one before (their choice stays theirs; this one lasts the session).
            let chose = headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|c| c.split(';').any(|pair| pair.trim().starts_with(&format!("{LANG_COOKIE}="))));
            if let Some(lang) = params.ui_locales.as_deref().and_then(oidc::ui_lang).filter(|_| !chose) {
                let cookie = format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax", lang.tag());
                if let Ok(value) = HeaderValue::from_str(&cookie) {
                    response.headers_mut().insert(header::SET_COOKIE, value);
                }
            }
            response
        }
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
        Err(error) => ApiError::OAuthInternal { error, request_id: request_id(headers) }.into_response(),
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
        OidcError::InvalidRequest(_) => ("请求参数无效。", "The request's parameters are invalid."),
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

/// `GET /oidc/logout` (RP-Initiated Logout 1.0): the platform keeps no session of its own for a
/// party's login, so ending one is sending the browser back to the party's registered URI, or,
/// without one, a page saying the sign-in ended. An unknown client or an unregistered URI gets
/// the error page and no redirect, as at `authorize`.
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LogoutParams>, QueryRejection>,
) -> Response {
    let params = query.map(|Query(q)| q).unwrap_or_default();
    let registered = match params.client_id.as_deref().filter(|c| !c.is_empty()) {
        Some(id) => match ecert_core::party::client(&state.db, id).await {
            Ok(client) => client.map(|c| c.redirect_uris),
            Err(error) => {
                return ApiError::OAuthInternal { error: error.into(), request_id: request_id(&headers) }
                    .into_response();
            }
        },
        None => None,
    };
    let response = match oidc::logout_redirect(&params, registered.as_deref()) {
        Ok(Some(location)) => redirect(&location),
        Ok(None) => Html(
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>已退出 / Signed out</title>\
             <link rel=\"stylesheet\" href=\"/pkg/ecert.css\"></head><body><main class=\"page\"><h1>已退出</h1>\
             <p role=\"status\" data-testid=\"oidc-signed-out\">已退出应用系统的登录，可以关闭此页。</p>\
             <p lang=\"en\">You are signed out of the application system; you may close this page.</p></main></body></html>",
        )
        .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, Html(error_page(&e))).into_response(),
    };
    no_store(response)
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
