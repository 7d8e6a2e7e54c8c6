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
    fn from(e: DomainError) -> Self {
        AppError::Domain(e)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<ecert_core::Error> for AppError {
    /// Backend failures are logged here, once, with the request id; the user sees only the id.
    fn from(e: ecert_core::Error) -> Self {
        match e {
            ecert_core::Error::Domain(d) => AppError::Domain(d),
            other => {
                let request_id = crate::state::request_id();
                tracing::error!(%request_id, error = %other, "server function failed");
                AppError::Internal { request_id }
            }
        }
    }
}
