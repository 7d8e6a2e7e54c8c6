//! Helpers shared by the suite: the app over a test database, one request read whole, form
//! encoding, a registered relying party, and scratch directories. The rows themselves come from
//! `ecert_testing`, which core's suite and the benchmarks share.
//!
//! Every test runs in this one process: a scratch directory is named by a random id, never by
//! the process id, so two tests never share one.

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ecert_core::Millis;
use ecert_core::party::{self, PartyInput, ShownOnce};
use ecert_core::secret::Random;
use ecert_core::staff::StaffView;
use ecert_core::store::Db;
use ecert_server::{Config, app_state, http::router};
use serde_json::Value;
use tower::ServiceExt;

/// The `Host` the in-process requests name; a same-origin `Origin` names it too.
pub const HOST: &str = "127.0.0.1:3000";

/// The whole application over `db`, configured by `flags` as on the command line.
pub fn app_on(db: &Db, flags: &[&str]) -> axum::Router {
    let config = Config::load_from(std::iter::once("ecert-server").chain(flags.iter().copied())).unwrap();
    router(app_state(&config, db.clone(), Random::os()).unwrap())
}

/// A site root with no files in it: pages render, static files are not found.
pub fn no_site() -> String {
    std::env::temp_dir().join("ecert-no-site").to_str().unwrap().to_owned()
}

/// A fresh directory under the system's temporary directory, `prefix` and a random id.
pub fn scratch_dir(prefix: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{prefix}-{}", Random::os().id()))
}

/// A response read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON, or as a JSON string when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| Value::String(self.body.clone()))
    }
}

/// Sends one request through the router in process.
pub async fn send(app: &axum::Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let body = to_bytes(body, 10 << 20).await.unwrap();
    Reply { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&body).into_owned() }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An `application/x-www-form-urlencoded` body (the default encoding of server functions).
pub fn form_encode<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k.as_ref()), percent_encode(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

/// A relying party registered by `staff`, with no redirect URIs; its credentials, shown once.
pub async fn party(db: &Db, staff: &StaffView, name: &str) -> ShownOnce {
    let input = PartyInput { name: name.into(), redirect_uris: String::new() };
    party::register(db, staff, &input, Millis::now(), &Random::os()).await.unwrap()
}

/// `Authorization: Basic …` with a party's client id and secret.
pub fn basic(p: &ShownOnce) -> String {
    format!("Basic {}", STANDARD.encode(format!("{}:{}", p.login, p.secret)))
}
