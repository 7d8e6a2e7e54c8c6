//! The HTTP surface: Leptos pages and server functions, health, language switch and static
//! files, wrapped in request ids, logs, security headers, compression and a CSRF origin check.
//!
//! No route must bypass the security headers and the request id set here.

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use ecert_app::state::AppState;
use ecert_app::{App, shell};

use crate::api_error::REQUEST_ID;
use ecert_core::Lang;
use ecert_core::i18n::LANG_COOKIE;
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The largest request body the platform reads (64 KiB): its largest requests, a certificate
/// change or a signed wallet message, are a few kilobytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Issue 18 §1: the one path that takes more, an establishment paper of up to
/// `establishment::MAX_FILE_BYTES` in base64 inside JSON (limited per client: `limits::Class::Upload`).
pub const UPLOAD_PATH: &str = "/api/establishment_upload";
pub const MAX_UPLOAD_BYTES: usize = ecert_core::establishment::MAX_FILE_BYTES / 3 * 4 + 8 * 1024;

/// The pages' routes, worked out once per process.
///
/// Leptos works them out by rendering the app while one flag for the whole process tells every
/// resource not to load, and a resource that first polls while the flag is up waits forever
/// (leptos_server's `SuppressResourceLoad`). So a second router built in a process that already
/// serves, as the test suites and the benchmark's app servers do, could leave a page another
/// router was rendering unanswered, with no query running and no CPU used: demo-rp's suite saw
/// `/oidc/login` hang in 2 runs of 59. Every router after the first takes the list from here.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The whole application as one router.
pub fn router(state: AppState) -> Router {
    let options = state.leptos_options.clone();
    let https = state.public_url.starts_with("https://");
    let routes = page_routes();

    let not_found = {
        let state = state.clone();
        let options = options.clone();
        move |req: Request| {
            let state = state.clone();
            let options = options.clone();
            async move {
                let handler = leptos_axum::render_app_to_stream_with_context(
                    move || provide_context(state.clone()),
                    move || shell(options.clone()),
                );
                handler(req).await.into_response()
            }
        }
    };
    let files = ServeDir::new(&*options.site_root)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false)
        .fallback(axum::handler::HandlerWithoutStateExt::into_service(not_found));

    let router = Router::new()
        .route("/healthz", get(healthz))
        // Issue 17 §3: alive (the process answers) apart from ready (it may take requests).
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/lang/{lang}", get(set_lang))
        // Issue 4, journey 5: scan to sign for relying parties.
        .merge(crate::sign::routes())
        // Issue 4: OpenID Connect for relying parties (discovery, JWKS, authorize, token, userinfo).
        .merge(crate::oidc::routes())
        // Issue 18 §2: verification and the directory for relying parties' own systems.
        .merge(crate::verify_api::routes())
        // Issue 18 §3: the directory change feed for provincial platforms.
        .merge(crate::directory_api::routes())
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback_service(files)
        .layer(middleware::from_fn_with_state(origin_of(&state.public_url).to_owned(), reject_cross_origin_writes))
        // Issue 14 §3: no request of the platform carries more than a form or a signed JSON
        // message; a larger body is refused (413).
        .layer(middleware::from_fn(limit_body))
        // Issue 14 §3: anonymous requests that write, hash or call out are limited per client
        // and in all (after the client is known, below).
        .layer(middleware::from_fn_with_state(
            std::sync::Arc::new(crate::limits::Limiter::new(state.rate_limit_scale).shared_through(&state.db)),
            crate::limits::limit,
        ))
        // Issue 14 §1: who the client is, for what the phone shows of a scan login.
        .layer(middleware::from_fn_with_state(state.trusted_proxies.clone(), mark_client_ip));
    with_security_headers(router, https)
        // Issue 17 §2: pages, with brotli's window sized for a page; everything else below
        // (which leaves a precompressed file as it is).
        .layer(middleware::from_fn(crate::page_brotli::compress_pages))
        .layer(CompressionLayer::new().br(true).gzip(true).compress_when(crate::page_brotli::not_pages()))
        // Issue 17 §3: every answer counted by route for /metrics, refusals included.
        .layer(middleware::from_fn(crate::metrics::record))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::map_request(drop_malformed_request_id))
                .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
                .layer(TraceLayer::new_for_http().make_span_with(request_span).on_response(
                    |res: &Response, latency: Duration, _span: &tracing::Span| {
                        tracing::info!(
                            status = res.status().as_u16(),
                            latency_ms = latency.as_millis() as u64,
                            "response"
                        );
                    },
                ))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
        )
        .with_state(state)
}

/// The log span of a request: method, path and request id. Not the query string: scan-login,
/// claim and presentation links carry one-time codes there.
fn request_span(req: &Request<Body>) -> tracing::Span {
    let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
}

/// A client's `x-request-id` is kept (a proxy's id ties its log to ours) only when it is an id:
/// 1 to 64 letters, digits, `-`, `_` or `.`. Anything else is dropped and a fresh id given, so
/// that a client cannot write what it likes into every log line of its request.
async fn drop_malformed_request_id(mut req: Request) -> Request {
    let well_formed = |v: &HeaderValue| {
        let b = v.as_bytes();
        (1..=64).contains(&b.len()) && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    };
    if req.headers().get(REQUEST_ID).is_some_and(|v| !well_formed(v)) {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = ecert_core::secret::Random::os().id();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// `https`: the public address is HTTPS, so browsers are told to keep to it (HSTS).
fn with_security_headers(router: Router<AppState>, https: bool) -> Router<AppState> {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let router = if https { router.layer(set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000")) } else { router };
    router
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        // Links carry one-time codes: never leak them to other sites.
        .layer(set(header::REFERRER_POLICY, "same-origin"))
        // Pages set their own, naming their scripts' nonce (`ecert_app::content_security_policy`).
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp_without_nonce()))
        .layer(set(HeaderName::from_static("permissions-policy"), "camera=(self), microphone=(), geolocation=()"))
}

/// The policy of responses that are not pages. It is ASCII made of constants, so it always makes
/// a header value; `server/tests/it/http.rs` checks that responses carry it.
#[allow(clippy::expect_used)]
fn csp_without_nonce() -> HeaderValue {
    HeaderValue::from_str(&ecert_app::content_security_policy(None)).expect("an ASCII policy")
}

/// CSRF defence in depth (sessions are also `SameSite=Strict` cookies). A write is refused
/// - when the browser says it comes from another site (`Sec-Fetch-Site` other than `same-origin`);
/// - when its `Origin` is not the public address's origin: not the `Host` header's, which a page
///   of another name that resolves to this server (DNS rebinding) would pass;
/// - when it carries a cookie but no `Origin`: browsers send `Origin` on every POST, so such a
///   write does not come from one of our pages.
///
/// Relying parties' back-channel calls (OIDC token, the sign API) send neither a cookie nor an
/// `Origin` and pass.
async fn reject_cross_origin_writes(State(public_origin): State<String>, req: Request, next: Next) -> Response {
    // An OpenID Connect authorization request may come as a form a party's page posts (Core
    // §3.1.2.1): a cross-site navigation by design, which acts on no session and does what the
    // same request by GET does (and is limited like it, `limits::Class::Login`).
    let authorization = req.uri().path() == "/oidc/authorize";
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || authorization {
        return next.run(req).await;
    }
    // In a block of its own: the headers are borrowed from the request, which is not `Sync`,
    // and no borrow of it may live across the `await` below.
    let allowed = {
        let headers = req.headers();
        let text = |name: HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
        let fetch_site = text(HeaderName::from_static("sec-fetch-site"));
        write_allowed(&public_origin, text(header::ORIGIN), fetch_site, headers.contains_key(header::COOKIE))
    };
    if allowed {
        next.run(req).await
    } else {
        tracing::warn!("refused a cross-origin write");
        (StatusCode::FORBIDDEN, "cross-origin request refused").into_response()
    }
}

/// The rule of [`reject_cross_origin_writes`], on the request's headers.
fn write_allowed(public_origin: &str, origin: Option<&str>, fetch_site: Option<&str>, has_cookie: bool) -> bool {
    if fetch_site.is_some_and(|site| site != "same-origin") {
        return false;
    }
    match origin {
        Some(origin) => same_origin(origin, public_origin),
        None => !has_cookie,
    }
}

/// `scheme://host[:port]` of a URL (the public address may have a path).
fn origin_of(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    url[start..].find('/').map_or(url, |end| &url[..start + end])
}

/// Whether a request's `Origin` is the public origin. On a loopback public address (a developer's
/// machine) `localhost`, `127.0.0.1` and `[::1]` are the same host: no other site can be them.
fn same_origin(origin: &str, public_origin: &str) -> bool {
    if origin.eq_ignore_ascii_case(public_origin) {
        return true;
    }
    let split = |o: &str| -> Option<(String, String, String)> {
        let (scheme, rest) = o.split_once("://")?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, p),
            _ => (rest, ""),
        };
        Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase(), port.to_owned()))
    };
    let loopback = |h: &str| matches!(h, "localhost" | "127.0.0.1" | "[::1]");
    match (split(origin), split(public_origin)) {
        (Some((s1, h1, p1)), Some((s2, h2, p2))) => s1 == s2 && p1 == p2 && loopback(&h1) && loopback(&h2),
        _ => false,
    }
}

/// The address of a connection's peer, as `axum::serve` hands it to every request of the
/// connection (`ConnectInfo<Peer>`), over plain TCP and over TLS alike.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub std::net::SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tcp::NoDelayListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tcp::NoDelayListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, crate::tls::TlsListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, crate::tls::TlsListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// Puts the client's address into the request ([`ecert_app::ClientIp`]): the connection's peer,
/// or, when the peer is a trusted proxy, the nearest address in `X-Forwarded-For` that is not
/// one of them. From anyone else the header is ignored: a client cannot choose what it is shown as.
async fn mark_client_ip(
    State(trusted): State<std::sync::Arc<[std::net::IpAddr]>>,
    mut req: Request,
    next: Next,
) -> Response {
    use axum::extract::ConnectInfo;
    let peer = req
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map(|c| c.0.0.ip())
        .or_else(|| req.extensions().get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip()));
    let forwarded = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    if let Some(ip) = peer.map(|peer| client_ip(peer, &forwarded, &trusted)) {
        req.extensions_mut().insert(ecert_app::ClientIp(ip));
    }
    next.run(req).await
}

/// The client behind `peer`: walking `X-Forwarded-For` (all its headers, in order) from the
/// right while the hop that added an entry is trusted.
fn client_ip(peer: std::net::IpAddr, forwarded: &[&str], trusted: &[std::net::IpAddr]) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|t| t.to_canonical() == ip.to_canonical());
    let mut client = peer;
    let hops = forwarded.iter().flat_map(|h| h.split(',')).map(str::trim).collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        if !is_trusted(&client) {
            break;
        }
        match hop.parse::<std::net::IpAddr>() {
            Ok(ip) => client = ip,
            Err(_) => break,
        }
    }
    client.to_canonical()
}

/// Reads a write's body whole, up to [`MAX_BODY_BYTES`], before any handler sees it: a larger
/// one is answered 413 whether it said its length or not (chunked). A handler that read a
/// limited body itself would report the limit as its own error, each in its own way.
async fn limit_body(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let too_large = || (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    let max = if req.uri().path() == UPLOAD_PATH { MAX_UPLOAD_BYTES } else { MAX_BODY_BYTES };
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, max).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(_) => too_large(),
    }
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    let backend = state.db.backend().name();
    match state.db.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "database": backend })).into_response(),
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "unavailable", "database": backend })))
                .into_response()
        }
    }
}

/// Set when the server was told to stop: from then on it is not ready, so that a balancer
/// sends it nothing new while its running requests finish.
pub static DRAINING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `GET /livez`: 200 while the process answers at all (a supervisor restarts it otherwise);
/// nothing is asked of the database, whose outage is not cured by a restart.
async fn livez() -> Response {
    Json(serde_json::json!({ "status": "alive" })).into_response()
}

/// `GET /readyz`: 200 when this app server may take requests: not stopping, the database
/// answers, every migration this build knows is applied, and the platform's signing keys open
/// with the data key. 503 with the first reason otherwise.
async fn readyz(State(state): State<AppState>) -> Response {
    let not_ready = |reason: &str| {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "not ready", "reason": reason })))
            .into_response()
    };
    if DRAINING.load(std::sync::atomic::Ordering::SeqCst) {
        return not_ready("stopping");
    }
    if let Err(error) = state.db.ping().await {
        tracing::error!(%error, "readiness: database unreachable");
        return not_ready("database unreachable");
    }
    match state.db.migrations_current().await {
        Ok(true) => {}
        Ok(false) => return not_ready("migrations not applied"),
        Err(error) => {
            tracing::error!(%error, "readiness: cannot read the migrations");
            return not_ready("migrations unreadable");
        }
    }
    if let Err(error) = ecert_core::jws::ensure_keys(&state.db, ecert_core::Millis::now(), &state.random).await {
        tracing::error!(%error, "readiness: the signing keys do not open with the data key");
        return not_ready("signing keys");
    }
    Json(serde_json::json!({ "status": "ready", "database": state.db.backend().name() })).into_response()
}

#[derive(Deserialize)]
struct LangQuery {
    next: Option<String>,
}

/// True for a path of this site and nothing else, so that `next` is no open redirect: one `/`
/// first, then no space, control character or `\` anywhere. Browsers drop tabs and line breaks
/// from a URL and read `\` as `/`, so `/\t/evil.example` or `/\evil.example` would be
/// `//evil.example`, another site.
fn is_local_path(next: &str) -> bool {
    let bytes = next.as_bytes();
    bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/'))
        && bytes.iter().all(|b| !b.is_ascii() || (b.is_ascii_graphic() && *b != b'\\'))
}

/// `GET /lang/{zh-CN|en}?next=/path`: remembers the language for a year and goes back.
async fn set_lang(Path(lang): Path<String>, Query(query): Query<LangQuery>) -> Response {
    let lang = Lang::parse(&lang);
    let next = query.next.filter(|n| is_local_path(n)).unwrap_or_else(|| "/".into());
    let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.tag());
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    // A query may hold non-ASCII text (a name searched for): percent-encoded, as the browser sent it.
    let next = percent_encoding::utf8_percent_encode(&next, percent_encoding::CONTROLS).to_string();
    if let (Ok(location), Ok(cookie)) = (HeaderValue::from_str(&next), HeaderValue::from_str(&cookie)) {
        response.headers_mut().insert(header::LOCATION, location);
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ip_trusts_only_configured_proxies() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let proxy = ip("10.0.0.2");
        // No trusted proxy: the header is the client's own say, and ignored.
        assert_eq!(client_ip(ip("203.0.113.7"), &["198.51.100.1"], &[]), ip("203.0.113.7"));
        // The proxy's entry (the rightmost) names the client; what the client wrote to its left
        // is not believed.
        assert_eq!(client_ip(proxy, &["1.2.3.4, 203.0.113.7"], &[proxy]), ip("203.0.113.7"));
        // Two trusted hops, over two headers.
        let inner = ip("10.0.0.3");
        assert_eq!(client_ip(inner, &["1.2.3.4, 203.0.113.7", "10.0.0.2"], &[proxy, inner]), ip("203.0.113.7"));
        // A trusted proxy without the header, or with garbage: the proxy itself.
        assert_eq!(client_ip(proxy, &[], &[proxy]), proxy);
        assert_eq!(client_ip(proxy, &["not-an-ip"], &[proxy]), proxy);
        // IPv4-mapped IPv6 peers are the IPv4 address.
        assert_eq!(client_ip(ip("::ffff:203.0.113.7"), &[], &[]), ip("203.0.113.7"));
    }

    const PUBLIC: &str = "https://ecert.example.cn";

    #[test]
    fn the_public_origin_is_scheme_host_and_port() {
        assert_eq!(origin_of("https://ecert.example.cn"), "https://ecert.example.cn");
        assert_eq!(origin_of("https://ecert.example.cn:8443/platform"), "https://ecert.example.cn:8443");
        assert_eq!(origin_of("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
    }

    #[test]
    fn writes_pass_from_the_public_origin_and_from_back_channels_only() {
        // Issue 14 §6.
        assert!(write_allowed(PUBLIC, Some(PUBLIC), Some("same-origin"), true), "our page");
        assert!(write_allowed(PUBLIC, Some(PUBLIC), None, true), "an older browser");
        assert!(write_allowed(PUBLIC, None, None, false), "a relying party's back channel");
        assert!(!write_allowed(PUBLIC, Some("https://evil.example"), None, true), "another site");
        assert!(!write_allowed(PUBLIC, Some("https://evil.example"), None, false));
        assert!(!write_allowed(PUBLIC, Some("http://ecert.example.cn"), None, true), "plain HTTP");
        assert!(!write_allowed(PUBLIC, Some("null"), None, true), "a sandboxed frame");
        assert!(!write_allowed(PUBLIC, Some(PUBLIC), Some("cross-site"), true), "the browser says cross-site");
        assert!(!write_allowed(PUBLIC, Some(PUBLIC), Some("same-site"), true), "a sibling domain");
        assert!(!write_allowed(PUBLIC, None, None, true), "a cookie without an Origin");
        assert!(!write_allowed(PUBLIC, None, Some("cross-site"), false));
    }

    #[test]
    fn a_rebound_name_is_not_the_public_origin_but_loopback_names_are_one_host() {
        // DNS rebinding: evil.example resolves to this server, so Host and Origin agree.
        assert!(!write_allowed("http://10.0.0.5:3000", Some("http://evil.example:3000"), None, true));
        let local = "http://127.0.0.1:3000";
        assert!(write_allowed(local, Some("http://localhost:3000"), None, true));
        assert!(write_allowed(local, Some("http://[::1]:3000"), None, true));
        assert!(!write_allowed(local, Some("http://localhost:3001"), None, true), "another port");
        assert!(!write_allowed(local, Some("https://localhost:3000"), None, true), "another scheme");
        assert!(!write_allowed("http://ecert.lan:3000", Some("http://localhost:3000"), None, true));
    }
}
