//! What server functions find in their context: the application state and the request.

use ecert_core::secret::Random;
use ecert_core::store::Db;
use leptos::prelude::*;

/// Shared by every request handler. One allocation behind a reference count: every request
/// clones the state into its context and every server function clones it out again
/// ([`app_state`]), and a copy of the options' strings each time was 3% of a counter's check
/// (docs/performance.md, *Where the CPU goes*).
#[derive(Clone, Debug)]
pub struct AppState(std::sync::Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> AppState {
        AppState(std::sync::Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What the state holds.
#[derive(Debug)]
pub struct Services {
    pub db: Db,
    pub random: Random,
    pub identity: ecert_core::identity::IdentityVerifier,
    pub issue_policy: ecert_core::certificate::IssuePolicy,
    /// Where SMS codes go (R13); the development gateway is an outbox staff can read.
    pub sms: ecert_core::sms::SmsGateway,
    pub leptos_options: LeptosOptions,
    /// The address people reach this server at; QR codes encode links under it.
    pub public_url: String,
    /// Reverse proxies whose `X-Forwarded-For` names the client (empty: the peer is the client).
    pub trusted_proxies: std::sync::Arc<[std::net::IpAddr]>,
    /// Scales the limits on anonymous requests (issue 14 §3); 0 turns them off.
    pub rate_limit_scale: f64,
}

impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The state, inside a server function. Its absence is a failure of the server (logged, with
/// the request id): an answer, never a panic, which would leave a page being rendered waiting.
pub fn app_state() -> Result<AppState, crate::error::AppError> {
    use_context::<AppState>().ok_or_else(|| {
        let request_id = request_id();
        tracing::error!(%request_id, "server function without the application state in its context");
        crate::error::AppError::Internal { request_id }
    })
}

/// The id the server gave this request (header `x-request-id`), for logs and error messages.
pub fn request_id() -> String {
    use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned))
        .unwrap_or_else(|| "-".to_owned())
}
