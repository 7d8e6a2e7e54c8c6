//! The relying parties' JSON API for scan to sign (`docs/signing.md`): create a sign request,
//! fetch its result, and the platform's attestation key. Parties authenticate with HTTP Basic
//! (client id and secret); they call from their servers, which send no `Origin`, so the router's
//! cross-origin guard lets them through.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ecert_app::state::AppState;
use ecert_core::party::{self, Client};
use ecert_core::signing::{self, NewSignRequest};
use ecert_core::{DomainError, Lang, Millis};
use serde::Serialize;

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

/// An error body: a machine-readable `error`, a message in the caller's language and, for
/// `invalid_request`, every refused field.
#[derive(Debug, Serialize)]
struct ErrorBody {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldBody>,
}

#[derive(Debug, Serialize)]
struct FieldBody {
    field: String,
    problem: ecert_core::Problem,
    message: String,
}

/// The API's answer to a refused or failed call.
struct ApiError {
    status: StatusCode,
    body: ErrorBody,
    challenge: bool,
}

impl ApiError {
    fn domain(e: DomainError, lang: Lang) -> ApiError {
        let (status, error) = match &e {
            DomainError::Validation(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            DomainError::InvalidCredentials | DomainError::Unauthenticated => {
                (StatusCode::UNAUTHORIZED, "invalid_client")
            }
            DomainError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            DomainError::CodeExpired => (StatusCode::GONE, "expired"),
            other => (ecert_app::error::status_of(other), "refused"),
        };
        let fields = match &e {
            DomainError::Validation(fields) => fields
                .iter()
                .map(|f| FieldBody { field: f.field.clone(), problem: f.problem.clone(), message: f.message(lang) })
                .collect(),
            _ => Vec::new(),
        };
        ApiError {
            challenge: status == StatusCode::UNAUTHORIZED,
            status,
            body: ErrorBody { error, message: e.message(lang), fields },
        }
    }

    fn bad_json(rejection: &JsonRejection, lang: Lang) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody {
                error: "invalid_request",
                message: format!(
                    "{}{}",
                    lang.pick("请求正文不是所需的JSON：", "The body is not the JSON expected: "),
                    rejection.body_text()
                ),
                fields: Vec::new(),
            },
            challenge: false,
        }
    }

    fn internal(e: ecert_core::Error, headers: &HeaderMap, lang: Lang) -> ApiError {
        let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
        tracing::error!(%request_id, error = %e, "sign API failed");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: ErrorBody {
                error: "server_error",
                message: format!("{}{request_id}", lang.pick("服务器内部错误，请求编号 ", "Internal error, request ")),
                fields: Vec::new(),
            },
            challenge: false,
        }
    }

    fn from_core(e: ecert_core::Error, headers: &HeaderMap, lang: Lang) -> ApiError {
        match e {
            ecert_core::Error::Domain(d) => ApiError::domain(d, lang),
            other => ApiError::internal(other, headers, lang),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if self.challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"ecert-sign\""));
        }
        response
    }
}

/// The caller's language: Chinese unless `Accept-Language` prefers English.
fn lang(headers: &HeaderMap) -> Lang {
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    match accept.split(',').next().map(|l| l.trim().to_ascii_lowercase()) {
        Some(l) if l.starts_with("en") => Lang::En,
        _ => Lang::Zh,
    }
}

async fn client(state: &AppState, headers: &HeaderMap, lang: Lang) -> Result<Client, ApiError> {
    let unauthenticated = || ApiError::domain(DomainError::Unauthenticated, lang);
    let basic = client_auth::basic(headers).ok().flatten().ok_or_else(unauthenticated)?;
    party::authenticate(&state.db, &basic.client_id, basic.client_secret.expose())
        .await
        .map_err(|e| ApiError::from_core(e, headers, lang))
}

/// `POST /api/v1/sign/requests`: a new sign request for the authenticated party.
async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<NewSignRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let lang = lang(&headers);
    let client = client(&state, &headers, lang).await?;
    let Json(input) = body.map_err(|e| ApiError::bad_json(&e, lang))?;
    let created = signing::create(&state.db, &client, &input, Millis::now(), &state.random)
        .await
        .map_err(|e| ApiError::from_core(e, &headers, lang))?;
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
    let lang = lang(&headers);
    let client = client(&state, &headers, lang).await?;
    let view = signing::fetch(&state.db, &client, &id, Millis::now())
        .await
        .map_err(|e| ApiError::from_core(e, &headers, lang))?;
    let mut response = Json(view).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /api/v1/sign/keys`: the JWK set of the platform's attestation key. Public.
async fn keys(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let lang = lang(&headers);
    let keys = signing::keys(&state.db, Millis::now(), &state.random)
        .await
        .map_err(|e| ApiError::from_core(e, &headers, lang))?;
    let mut response = Json(keys).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}
