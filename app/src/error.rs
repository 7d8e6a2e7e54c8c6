//! The error type of every server function: a domain error the user can act on, an opaque
//! internal error with a request id, or a transport failure. Messages are rendered in the
//! browser in the page's language.

use ecert_core::{DomainError, Lang};
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

use crate::i18n::T;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Domain(DomainError),
    #[error("internal error (request {request_id})")]
    Internal { request_id: String },
    #[error("transport: {0}")]
    Transport(String),
}

impl AppError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            AppError::Domain(e) => e.message(lang),
            AppError::Internal { request_id } => format!("{}{request_id}", T::InternalError.get(lang)),
            AppError::Transport(_) => T::NetworkError.get(lang).to_owned(),
        }
    }
}

impl From<DomainError> for AppError {
    /// On the server this also sets the response status (see [`status_of`]).
    fn from(e: DomainError) -> Self {
        #[cfg(feature = "ssr")]
        set_status(status_of(&e));
        AppError::Domain(e)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // A request the server cannot decode is the client's mistake (400), not a server failure.
        #[cfg(feature = "ssr")]
        if matches!(
            value,
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_)
        ) {
            set_status(http::StatusCode::BAD_REQUEST);
        }
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<ecert_core::Error> for AppError {
    /// Backend failures are logged here, once, with the request id; the user sees only the id.
    fn from(e: ecert_core::Error) -> Self {
        match e {
            ecert_core::Error::Domain(d) => d.into(),
            other => {
                let request_id = crate::state::request_id();
                tracing::error!(%request_id, error = %other, "server function failed");
                set_status(http::StatusCode::INTERNAL_SERVER_ERROR);
                AppError::Internal { request_id }
            }
        }
    }
}

/// The HTTP status of a domain error, so that clients, proxies and logs tell a refused request
/// (4xx) from a failure of the server (5xx).
#[cfg(feature = "ssr")]
pub fn status_of(e: &DomainError) -> http::StatusCode {
    use http::StatusCode as S;
    match e {
        DomainError::Validation(_) => S::UNPROCESSABLE_ENTITY,
        DomainError::InvalidCredentials | DomainError::Unauthenticated => S::UNAUTHORIZED,
        DomainError::AccountLocked => S::TOO_MANY_REQUESTS,
        DomainError::Forbidden => S::FORBIDDEN,
        DomainError::NotFound => S::NOT_FOUND,
        DomainError::AlreadyExists { .. } => S::CONFLICT,
        DomainError::CodeInvalid | DomainError::CodeExpired | DomainError::CodeUsed => S::GONE,
        DomainError::TooManyManagers | DomainError::InvalidState => S::CONFLICT,
        DomainError::IdentityMismatch => S::UNPROCESSABLE_ENTITY,
        DomainError::BadSignature | DomainError::WrongPassword { .. } | DomainError::SmsCodeWrong { .. } => {
            S::UNAUTHORIZED
        }
        DomainError::PasswordLocked => S::LOCKED,
        DomainError::Revoked
        | DomainError::CardVoid { .. }
        | DomainError::AuthorizeRightWithdrawn
        | DomainError::NoGrantInForce
        | DomainError::NotAManager
        | DomainError::Expired { .. } => S::FORBIDDEN,
        DomainError::RenewalNotOpen { .. } => S::CONFLICT,
        DomainError::RateLimited => S::TOO_MANY_REQUESTS,
        DomainError::PresentationInvalid => S::GONE,
        DomainError::StaleSignature => S::UNAUTHORIZED,
        DomainError::MatchCodeWrong => S::GONE,
        DomainError::ApprovalRequired => S::FORBIDDEN,
        DomainError::IdentityUnavailable => S::SERVICE_UNAVAILABLE,
    }
}

#[cfg(feature = "ssr")]
fn set_status(status: http::StatusCode) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}
