//! The one error of the JSON APIs — scan to sign for relying parties (`docs/signing.md`) and the
//! OpenID Connect endpoints (RFC 6749 §5.2, RFC 6750 §3.1) — and its one mapping to HTTP: each
//! variant's status, body and headers are written here, once, in [`IntoResponse`], and a backend
//! failure is logged here, once, with the request id, while the caller gets an opaque answer.
//!
//! It decides nothing: the use-cases of `ecert_core` refuse, and this only says the refusal in the
//! protocol the caller speaks. It never puts a backend error's detail in a response, and it logs
//! nothing of a request but its id. Leptos server functions and the wallet API answer with
//! `ecert_app::error::AppError`, not with this.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ecert_core::oidc::OidcError;
use ecert_core::{DomainError, Lang, Problem};
use serde::Serialize;

/// The header that carries each request's id (set by the request-id layer, `crate::http`).
pub(crate) const REQUEST_ID: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");

/// A refused or failed call of a JSON API, as its caller is answered.
#[derive(Debug)]
pub enum ApiError {
    // Scan to sign: `{"error", "message", "fields"?}`, the message in the caller's language.
    /// `400 Bad Request`, `invalid_request`: the refused fields, each in `fields`, or a body that
    /// is not the JSON expected.
    InvalidRequest { message: String, fields: Vec<FieldBody> },
    /// `401 Unauthorized`, `invalid_client`, with `WWW-Authenticate: Basic realm="ecert-sign"`: no
    /// client credentials, or wrong ones.
    InvalidClient { message: String },
    /// `404 Not Found`, `not_found`: no such sign request, or another party's.
    NotFound { message: String },
    /// `410 Gone`, `expired`: the sign request expired unsigned.
    Expired { message: String },
    /// `refused`, with the status `ecert_app::error::status_of` gives the refusal (403, 409, …);
    /// a 401 carries the Basic challenge too.
    Refused { status: StatusCode, message: String },
    /// `500 Internal Server Error`, `server_error`: a backend failure; the message names the
    /// request id and nothing else.
    Internal { error: ecert_core::Error, request_id: String, lang: Lang },

    // OpenID Connect: `{"error", "error_description"}`, with `Cache-Control: no-store` and
    // `Pragma: no-cache`.
    /// `400 Bad Request`: the token endpoint refuses the request or the grant (`invalid_request`,
    /// `invalid_grant`, `unsupported_grant_type`).
    OAuthRefused(OidcError),
    /// `401 Unauthorized`, `invalid_client`, with `WWW-Authenticate: Basic realm="ecert"`: the
    /// token endpoint cannot authenticate the client.
    OAuthInvalidClient,
    /// `401 Unauthorized`, `invalid_token`, with `WWW-Authenticate: Bearer error="invalid_token"`:
    /// userinfo without a live access token.
    OAuthInvalidToken(OidcError),
    /// `500 Internal Server Error`, `server_error`: a backend failure ([`OidcError::Backend`]) of
    /// an OpenID Connect endpoint.
    OAuthInternal { error: OidcError, request_id: String },
}

/// One refused field of an `invalid_request`.
#[derive(Debug, Serialize)]
pub struct FieldBody {
    field: String,
    problem: Problem,
    message: String,
}

/// The sign API's error body: a machine-readable `error`, a message in the caller's language and,
/// for `invalid_request`, every refused field.
#[derive(Serialize)]
struct SignBody {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldBody>,
}

/// An OAuth 2.0 error body (RFC 6749 §5.2).
#[derive(Serialize)]
struct OAuthBody {
    error: &'static str,
    error_description: &'static str,
}

/// What an answer needs of its request: the caller's language and the request id.
#[derive(Clone, Debug)]
pub struct ErrorContext {
    pub lang: Lang,
    pub request_id: String,
}

impl ErrorContext {
    /// Chinese unless `Accept-Language` prefers English; the id the request-id layer gave.
    pub fn of(headers: &HeaderMap) -> ErrorContext {
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let lang = match accept.split(',').next().map(|l| l.trim().to_ascii_lowercase()) {
            Some(l) if l.starts_with("en") => Lang::En,
            _ => Lang::Zh,
        };
        ErrorContext { lang, request_id: request_id(headers) }
    }
}

/// The request id the request-id layer gave, or `-`.
pub fn request_id(headers: &HeaderMap) -> String {
    headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned()
}

/// Never cached (RFC 6749 §5.1, §5.2): tokens, claims and every OpenID Connect error.
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl ApiError {
    /// The sign API's answer to a use-case's error: a refusal by its kind, anything else a
    /// backend failure.
    pub fn sign(e: ecert_core::Error, cx: &ErrorContext) -> ApiError {
        match e {
            ecert_core::Error::Domain(d) => ApiError::refused(d, cx.lang),
            error => ApiError::Internal { error, request_id: cx.request_id.clone(), lang: cx.lang },
        }
    }

    /// The sign API's answer to a refusal.
    pub fn refused(e: DomainError, lang: Lang) -> ApiError {
        let message = e.message(lang);
        match e {
            DomainError::Validation(fields) => ApiError::InvalidRequest {
                message,
                fields: fields
                    .iter()
                    .map(|f| FieldBody { field: f.field.clone(), problem: f.problem.clone(), message: f.message(lang) })
                    .collect(),
            },
            DomainError::InvalidCredentials | DomainError::Unauthenticated => ApiError::InvalidClient { message },
            DomainError::NotFound => ApiError::NotFound { message },
            DomainError::CodeExpired => ApiError::Expired { message },
            other => ApiError::Refused { status: ecert_app::error::status_of(&other), message },
        }
    }

    /// The sign API's answer to a body that is not the JSON expected.
    pub fn bad_json(rejection: &JsonRejection, lang: Lang) -> ApiError {
        let message = format!(
            "{}{}",
            lang.pick("请求正文不是所需的JSON：", "The body is not the JSON expected: "),
            rejection.body_text()
        );
        ApiError::InvalidRequest { message, fields: Vec::new() }
    }

    /// The token endpoint's answer to an error (RFC 6749 §5.2).
    pub fn token(e: OidcError, request_id: String) -> ApiError {
        match e {
            OidcError::Backend(_) => ApiError::OAuthInternal { error: e, request_id },
            OidcError::InvalidClient => ApiError::OAuthInvalidClient,
            other => ApiError::OAuthRefused(other),
        }
    }

    /// The userinfo endpoint's answer to an error (RFC 6750 §3.1).
    pub fn userinfo(e: OidcError, request_id: String) -> ApiError {
        match e {
            OidcError::Backend(_) => ApiError::OAuthInternal { error: e, request_id },
            other => ApiError::OAuthInvalidToken(other),
        }
    }

    /// The status of each variant, as its documentation says.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidRequest { .. } | ApiError::OAuthRefused(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidClient { .. } | ApiError::OAuthInvalidClient | ApiError::OAuthInvalidToken(_) => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Expired { .. } => StatusCode::GONE,
            ApiError::Refused { status, .. } => *status,
            ApiError::Internal { .. } | ApiError::OAuthInternal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The one place a backend failure is logged: the request id and the error, nothing of the
/// request (R16).
fn log_failure(request_id: &str, error: &dyn std::fmt::Display) {
    tracing::error!(%request_id, %error, "JSON API: backend failure");
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let sign = |error: &'static str, message: String, fields: Vec<FieldBody>| {
            let mut response = (status, Json(SignBody { error, message, fields })).into_response();
            if status == StatusCode::UNAUTHORIZED {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"ecert-sign\""));
            }
            response
        };
        let oauth = |e: &OidcError, challenge: Option<&'static str>| {
            let body = OAuthBody { error: e.code(), error_description: e.description() };
            let mut response = (status, Json(body)).into_response();
            if let Some(challenge) = challenge {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
            }
            no_store(response)
        };
        match self {
            ApiError::InvalidRequest { message, fields } => sign("invalid_request", message, fields),
            ApiError::InvalidClient { message } => sign("invalid_client", message, Vec::new()),
            ApiError::NotFound { message } => sign("not_found", message, Vec::new()),
            ApiError::Expired { message } => sign("expired", message, Vec::new()),
            ApiError::Refused { message, .. } => sign("refused", message, Vec::new()),
            ApiError::Internal { error, request_id, lang } => {
                log_failure(&request_id, &error);
                let message =
                    format!("{}{request_id}", lang.pick("服务器内部错误，请求编号 ", "Internal error, request "));
                sign("server_error", message, Vec::new())
            }
            ApiError::OAuthRefused(e) => oauth(&e, None),
            ApiError::OAuthInvalidClient => oauth(&OidcError::InvalidClient, Some("Basic realm=\"ecert\"")),
            ApiError::OAuthInvalidToken(e) => oauth(&e, Some("Bearer error=\"invalid_token\"")),
            ApiError::OAuthInternal { error, request_id } => {
                log_failure(&request_id, &error);
                oauth(&error, None)
            }
        }
    }
}
