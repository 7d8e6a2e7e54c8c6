//! The relying parties' JSON API for scan to sign (`docs/signing.md`): create a sign request,
//! fetch its result, and the platform's attestation key. Parties authenticate with HTTP Basic
//! (client id and secret); they call from their servers, which send no `Origin`, so the router's
//! cross-origin guard lets them through.
//!
//! It must not decide a refusal itself: `ecert_core::signing` refuses, `ApiError` answers.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ecert_app::state::AppState;
use ecert_core::Millis;
use ecert_core::signing::{self, NewSignRequest};
use serde::Serialize;

use crate::api_error::{ApiError, ErrorContext};
use crate::client_auth;

/// The routes, merged into the main router.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/api/v1/sign/requests", post(create))
        .route("/api/v1/sign/requests/{id}", get(fetch))
        .route("/api/v1/sign/keys", get(keys))
}

/// What `POST /api/v1/sign/requests` answers (201).
#[derive(Debug, Serialize)]
struct Created {
    id: String,
    status: &'static str,
    /// The link to show as a QR code: it opens the holder's wallet.
    wallet_url: String,
    /// The one-time code inside `wallet_url` (256 bits); keep it out of logs.
    code: String,
    expires_at: i64,
}

/// `POST /api/v1/sign/requests`: a new sign request for the authenticated party.
async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewSignRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let cx = ErrorContext::of(&headers);
    let client = client_auth::party(&state, &headers, &cx).await?;
    let Json(input) = body.map_err(|e| ApiError::bad_json(&e, cx.lang))?;
    let created = signing::create(&state.db, &client, &input, Millis::now(), &state.random)
        .await
        .map_err(|e| ApiError::sign(e, &cx))?;
    let body = Created {
        wallet_url: format!("{}/wallet/sign?code={}", state.public_url, created.code.expose()),
        code: created.code.expose().to_owned(),
        status: signing::status::WAITING,
        expires_at: created.expires_at.0,
        id: created.id,
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /api/v1/sign/requests/{id}`: the status, and once signed the signature and what
/// verifies it. Only the party that made the request sees it.
async fn fetch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let cx = ErrorContext::of(&headers);
    let client = client_auth::party(&state, &headers, &cx).await?;
    let view = signing::fetch(&state.db, &client, &id, Millis::now()).await.map_err(|e| ApiError::sign(e, &cx))?;
    let mut response = Json(view).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /api/v1/sign/keys`: the JWK set of the platform's attestation key. Public.
async fn keys(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let cx = ErrorContext::of(&headers);
    let keys = signing::keys(&state.db, Millis::now(), &state.random).await.map_err(|e| ApiError::sign(e, &cx))?;
    let mut response = Json(keys).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}
