//! Session cookies, read from the request and set on the response inside server functions.

use ecert_core::Millis;
use leptos::prelude::*;

/// The staff console session (HttpOnly, SameSite=Strict: never sent on cross-site requests).
pub const STAFF_COOKIE: &str = "ecert_staff";
/// The manager-dashboard session, opened by scan login.
pub const HOLDER_COOKIE: &str = "ecert_holder";
/// An establishment applicant's session (issue 18 §1), opened with a mobile and an SMS code.
pub const APPLICANT_COOKIE: &str = "ecert_applicant";
/// A counter's session on the verifier page.
pub const COUNTER_COOKIE: &str = "ecert_counter";
/// The browser secret of a pending scan login (R11: the QR is bound to the browser that asked).
pub const LOGIN_COOKIE: &str = "ecert_login";

/// A cookie's name on the wire: with an `https://` public address, `__Host-` first, so that the
/// browser keeps it only when set over HTTPS by this host for the whole site (no `Domain`), and
/// a cookie of the same name planted by a sibling domain or over plain HTTP is not read.
fn wire_name(name: &str) -> std::borrow::Cow<'_, str> {
    if secure() { format!("__Host-{name}").into() } else { name.into() }
}

fn secure() -> bool {
    use_context::<crate::state::AppState>().is_some_and(|s| s.public_url.starts_with("https://"))
}

/// The value of a request cookie.
pub fn cookie(name: &str) -> Option<String> {
    let name = wire_name(name);
    let name = name.as_ref();
    let parts = use_context::<http::request::Parts>()?;
    parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// Sets a session cookie that expires at `expires_at` (or removes it when `None`).
pub fn set_session_cookie(name: &str, value: &str, expires_at: Option<Millis>, now: Millis) {
    let secure = secure();
    let name = wire_name(name);
    let max_age = expires_at.map_or(0, |e| ((e.0 - now.0) / 1000).max(0));
    let cookie = format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    if let (Some(response), Ok(value)) =
        (use_context::<leptos_axum::ResponseOptions>(), http::HeaderValue::from_str(&cookie))
    {
        response.append_header(http::header::SET_COOKIE, value);
    }
}

/// The client's address as the server's edge made it out (the connection's peer, or the
/// address a trusted proxy forwarded); the server puts it into every request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

/// This request's client address, if the edge knew it.
pub fn client_ip() -> Option<std::net::IpAddr> {
    use_context::<http::request::Parts>()?.extensions.get::<ClientIp>().map(|c| c.0.to_canonical())
}

/// The browser making this request, as a scan login records it for the phone to show.
pub fn requester() -> ecert_core::login::Requester {
    let agent = use_context::<http::request::Parts>()
        .and_then(|p| p.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned));
    ecert_core::login::Requester::new(client_ip().map(|ip| ip.to_string()), agent.as_deref())
}
