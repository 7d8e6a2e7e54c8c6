//! Issue 18 §2: the verification API for relying parties' own systems (`docs/verify-api.yaml`):
//! a counter's system sends what its scanner or clerk read from a presented certificate and
//! receives what the counter page shows (R9–R12, R18), and looks an institution up in the
//! directory by its credit code. Parties authenticate with HTTP Basic (client id and secret),
//! from their servers.
//!
//! It must not decide a refusal itself: `ecert_core::presentation` and `directory` refuse,
//! `ApiError` answers.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ecert_app::state::AppState;
use ecert_core::{Millis, directory, presentation};
use serde::{Deserialize, Serialize};

use crate::api_error::{ApiError, ErrorContext, no_store};
use crate::client_auth;

/// The paths, as `docs/verify-api.yaml` documents them.
pub const VERIFY_PATH: &str = "/api/v1/verify";
pub const INSTITUTION_PATH: &str = "/api/v1/institutions/{credit_code}";

/// The routes, merged into the main router.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(VERIFY_PATH, post(verify)).route(INSTITUTION_PATH, get(institution))
}

/// What `POST /api/v1/verify` reads.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The numeric code (16 digits, spaces allowed), the barcode's content (the same number), or
    /// what was read from the QR (its link, or the token in it).
    pub code: String,
}

/// `POST /api/v1/verify`: the party's system checks a presented code.
async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<VerifyRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let cx = ErrorContext::of(&headers);
    let party = client_auth::party(&state, &headers, &cx).await?;
    let Json(input) = body.map_err(|e| ApiError::bad_json(&e, cx.lang))?;
    let verified = presentation::verify_for_party(&state.db, &party, &input.code, Millis::now(), &state.random)
        .await
        .map_err(|e| ApiError::sign(e, &cx))?;
    Ok(no_store(Json(verified).into_response()))
}

/// `GET /api/v1/institutions/{credit_code}`: an institution's registration data and its
/// certificate's standing, for registered parties.
async fn institution(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(credit_code): Path<String>,
) -> Result<Response, ApiError> {
    let cx = ErrorContext::of(&headers);
    client_auth::party(&state, &headers, &cx).await?;
    let found =
        directory::registration(&state.db, &credit_code, Millis::now()).await.map_err(|e| ApiError::sign(e, &cx))?;
    Ok(no_store(Json(found).into_response()))
}
