//! The HTTP surface: Leptos pages and server functions, health, language switch and static
//! files, wrapped in request ids, logs, security headers, compression and a CSRF origin check.
//!
//! No route must bypass the security headers and the request id set here.

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
use leptos_axum::{LeptosRoutes, generate_route_list};
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The whole application as one router.
pub fn router(state: AppState) -> Router {
    let options = state.leptos_options.clone();
    let https = state.public_url.starts_with("https://");
    let routes = generate_route_list(App);

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
        .route("/lang/{lang}", get(set_lang))
        // Issue 4, journey 5: scan to sign for relying parties.
        .merge(crate::sign::routes())
        // Issue 4: OpenID Connect for relying parties (discovery, JWKS, authorize, token, userinfo).
        .merge(crate::oidc::routes())
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback_service(files)
        .layer(middleware::from_fn(reject_cross_origin_writes));
    with_security_headers(router, https)
        .layer(CompressionLayer::new().br(true).gzip(true))
        .layer(
            ServiceBuilder::new()
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

/// CSRF defence in depth: a browser always sends `Origin` on a cross-site POST, so any write whose
/// `Origin` is not this host is refused. (Session cookies are also `SameSite=Strict`.)
async fn reject_cross_origin_writes(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let origin_host = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(|o| o.split_once("://").map_or(o, |(_, rest)| rest).to_owned());
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    match (origin_host, host) {
        (Some(origin), Some(host)) if origin != host => {
            tracing::warn!("refused a cross-origin write");
            (StatusCode::FORBIDDEN, "cross-origin request refused").into_response()
        }
        _ => next.run(req).await,
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

#[derive(Deserialize)]
struct LangQuery {
    next: Option<String>,
}

/// `GET /lang/{zh-CN|en}?next=/path`: remembers the language for a year and goes back.
async fn set_lang(Path(lang): Path<String>, Query(query): Query<LangQuery>) -> Response {
    let lang = Lang::parse(&lang);
    // Only same-site paths: no open redirect through `next`.
    let next = query
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into());
    let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", lang.tag());
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let (Ok(location), Ok(cookie)) = (HeaderValue::from_str(&next), HeaderValue::from_str(&cookie)) {
        response.headers_mut().insert(header::LOCATION, location);
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}
