//! Issue 18 §3: the directory change feed for provincial platforms (`docs/directory-api.yaml`).
//! A subscribed relying party pulls pages of events with HTTP Basic (its client id and secret);
//! each page is signed by the platform's directory key, as a JWS with the body as its detached
//! payload in the `Ecert-Signature` header, checkable with the keys at
//! `/api/v1/directory/jwks`. The same pages are pushed to a subscriber's webhook by
//! `ecert_core::feed::deliver_due`, which the server runs in the background.
//!
//! It must not decide a refusal itself: `ecert_core::feed` refuses, `ApiError` answers.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ecert_app::state::AppState;
use ecert_core::{DomainError, FieldError, Millis, Problem, feed, jws};
use serde::Deserialize;

use crate::api_error::{ApiError, ErrorContext, no_store};
use crate::client_auth;

/// The paths, as `docs/directory-api.yaml` documents them.
pub const EVENTS_PATH: &str = "/api/v1/directory/events";
pub const JWKS_PATH: &str = "/api/v1/directory/jwks";
/// The header that carries a page's signature.
pub const SIGNATURE_HEADER: &str = "ecert-signature";
/// The `typ` of a page's JWS.
pub const PAGE_TYP: &str = "directory-events+jws";

/// The routes, merged into the main router.
pub fn routes() -> axum::Router<AppState> {
    axum::Router::new().route(EVENTS_PATH, get(events)).route(JWKS_PATH, get(jwks))
}

/// What `GET /api/v1/directory/events` reads from its query, as text: each is parsed and
/// refused on its own, so the caller is told which one was wrong.
#[derive(Debug, Default, Deserialize)]
pub struct EventsQuery {
    /// The cursor: the `next_after` of the last page read, or 0 (the default) from the start.
    pub after: Option<String>,
    /// Events of the page (`feed::PAGE_DEFAULT` unless given, at most `feed::PAGE_MAX`).
    pub limit: Option<String>,
}

/// A number of the query, or the field's `BadFormat`.
fn number(field: &str, text: Option<&str>) -> Result<Option<i64>, DomainError> {
    text.map(|t| {
        t.trim().parse::<i64>().map_err(|_| DomainError::Validation(vec![FieldError::new(field, Problem::BadFormat)]))
    })
    .transpose()
}

/// `GET /api/v1/directory/events?after=…&limit=…`: the subscriber's next page, signed.
async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let cx = ErrorContext::of(&headers);
    let party = client_auth::party(&state, &headers, &cx).await?;
    let refused = |e: DomainError| ApiError::refused(e, cx.lang);
    let Query(q) =
        query.map_err(|_| refused(DomainError::Validation(vec![FieldError::new("after", Problem::BadFormat)])))?;
    let after = number("after", q.after.as_deref()).map_err(refused)?.unwrap_or(0);
    let limit = number("limit", q.limit.as_deref()).map_err(refused)?;
    let page = feed::events(&state.db, &party.party_id, after, limit).await.map_err(|e| ApiError::sign(e, &cx))?;
    // A page is strings and numbers: it always serialises.
    let body = serde_json::to_vec(&page).map_err(|_| refused(DomainError::InvalidState))?;
    let key = jws::key(&state.db, jws::Purpose::DirectoryFeed, Millis::now(), &state.random)
        .await
        .map_err(|e| ApiError::sign(e, &cx))?;
    // Bound to the request it answers: for whom, from which cursor, when.
    let mut bound = serde_json::Map::new();
    bound.insert("aud".into(), party.party_id.clone().into());
    bound.insert("after".into(), after.into());
    bound.insert("iat".into(), Millis::now().0.div_euclid(1000).into());
    let signature = key.sign_detached(PAGE_TYP, &bound, &body);
    let mut response = no_store(([(header::CONTENT_TYPE, "application/json")], body).into_response());
    if let Ok(value) = HeaderValue::from_str(&signature) {
        response.headers_mut().insert(SIGNATURE_HEADER, value);
    }
    Ok(response)
}

/// `GET /api/v1/directory/jwks`: the keys that sign the feed's pages, current first.
async fn jwks(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let cx = ErrorContext::of(&headers);
    let keys = jws::jwks(&state.db, jws::Purpose::DirectoryFeed, Millis::now(), &state.random)
        .await
        .map_err(|e| ApiError::sign(e, &cx))?;
    Ok(axum::Json(keys).into_response())
}
