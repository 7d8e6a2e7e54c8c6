//! The real router in process: pages, server functions, health, language, static files,
//! security headers and the CSRF origin check; and the binary's start-up and shutdown.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use ecert_core::secret::Random;
use ecert_server::{Config, StartError, prepare};
use ecert_testing::open_test_db;
use tower::ServiceExt;

use crate::support::{self, app_on, no_site, scratch_dir};

async fn app_with_site(site_root: &str) -> axum::Router {
    app_on(&open_test_db().await, &["--site-root", site_root])
}

async fn app() -> axum::Router {
    app_with_site(&no_site()).await
}

async fn get(app: &axum::Router, uri: &str, cookie: Option<&str>) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::get(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let reply = support::send(app, req.body(Body::empty()).unwrap()).await;
    (reply.status, reply.headers, reply.body)
}

#[tokio::test]
async fn health_reports_the_database() {
    let (status, headers, body) = get(&app().await, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["status"], "ok");
    assert!(json["database"] == "SQLite" || json["database"] == "PostgreSQL");
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn a_clients_request_id_is_kept_only_when_it_is_an_id() {
    // Issue 14 §6: a client could write what it liked into every log line of its request.
    let app = app().await;
    let with_id = |id: &str| Request::get("/healthz").header("x-request-id", id).body(Body::empty()).unwrap();
    let reply = support::send(&app, with_id("proxy-7f3a.9_b")).await;
    assert_eq!(reply.headers["x-request-id"], "proxy-7f3a.9_b", "a proxy's id ties its log to ours");
    let long = "a".repeat(65);
    for bad in ["x\" status=500 forged=\"1", "id with spaces", long.as_str(), ""] {
        let reply = support::send(&app, with_id(bad)).await;
        let given = reply.headers["x-request-id"].to_str().unwrap();
        assert_ne!(given, bad);
        assert!(
            !given.is_empty()
                && given.len() <= 64
                && given.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{given}"
        );
    }
}

#[tokio::test]
async fn pages_render_on_the_server_in_chinese_by_default_and_english_on_request() {
    let app = app().await;
    let (status, headers, body) = get(&app, "/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(body.contains(r#"<html lang="zh-CN""#), "{body}");
    assert!(body.contains("事业单位法人电子证书"));
    assert!(body.contains("/pkg/ecert.js") || body.contains("/pkg/ecert"), "hydration scripts are linked");

    let (_, _, body) = get(&app, "/", Some("ecert_lang=en")).await;
    assert!(body.contains(r#"<html lang="en""#));
    assert!(body.contains("Public Institution Legal-Person e-Certificate"));
    assert!(!body.contains("事业单位法人电子证书"));
}

/// Building a router renders the app once with resource loading switched off for the whole
/// process; a page that another router began rendering in that window never finished (demo-rp's
/// suite saw `/oidc/login` hang, 2 runs in 59). Here one thread builds routers without pause
/// while pages whose content waits on a server-side resource render: each must finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn building_routers_never_stalls_a_page_another_router_renders() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Stops the builder however the test ends: a blocking task still running would keep the
    /// runtime, and so the test, from ending.
    struct Stop(Arc<AtomicBool>);
    impl Drop for Stop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let db = open_test_db().await;
    let app = app_on(&db, &["--site-root", &no_site()]);
    let done = Arc::new(AtomicBool::new(false));
    let stop = Stop(done.clone());
    let builder = {
        let db = db.clone();
        tokio::task::spawn_blocking(move || {
            let mut built = 0_u32;
            loop {
                drop(app_on(&db, &["--site-root", &no_site()]));
                built += 1;
                if done.load(Ordering::SeqCst) {
                    return built;
                }
            }
        })
    };
    for round in 0..150 {
        let page = get(&app, "/oidc/login?request=no-such-request", None);
        let answered = tokio::time::timeout(std::time::Duration::from_secs(10), page).await;
        let Ok((status, _, body)) = answered else {
            panic!("page {round} was not answered in 10 s while routers were built beside it");
        };
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains(r#"data-testid="oidc-gone""#),
            "the resource loaded and said the request is gone: {body}"
        );
    }
    drop(stop);
    assert!(builder.await.unwrap() > 0, "routers were built while the pages rendered");
}

#[tokio::test]
async fn an_unknown_path_is_a_real_404_page() {
    let (status, _, body) = get(&app().await, "/no/such/page", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("页面不存在"), "{body}");
    assert!(body.contains("<html"), "a whole page, not a bare message");
}

#[tokio::test]
async fn the_language_switch_sets_a_cookie_and_goes_back_without_open_redirects() {
    let app = app().await;
    let (status, headers, _) = get(&app, "/lang/en?next=/verify", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/verify");
    let (_, headers, _) = get(&app, "/lang/en?next=%2Fcheck%3Fq%3D%E5%BC%A0", None).await;
    assert_eq!(headers[header::LOCATION], "/check?q=%E5%BC%A0", "non-ASCII goes back percent-encoded");
    let cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("ecert_lang=en;") && cookie.contains("Max-Age=31536000"), "{cookie}");

    // Issue 14 §6: a tab or a line break that the browser drops turns `/\t/x` into `//x`.
    let evil = [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil",
        "/ /evil",
    ];
    for evil in evil {
        let uri = format!(
            "/lang/zh-CN?next={}",
            percent_encoding::utf8_percent_encode(evil, percent_encoding::NON_ALPHANUMERIC)
        );
        let (_, headers, _) = get(&app, &uri, None).await;
        assert_eq!(headers[header::LOCATION], "/", "{evil}");
    }
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = app().await;
    let (_, headers, body) = get(&app, "/", None).await;
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");

    // Only the page's own inline scripts run: the policy names their nonce, not 'unsafe-inline'.
    let scripts = policy.split(';').map(str::trim).find(|d| d.starts_with("script-src")).unwrap();
    assert!(!scripts.contains("unsafe-inline"), "{scripts}");
    let nonce = scripts.split_whitespace().find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\'')).unwrap();
    assert!(nonce.len() >= 16, "{nonce}");
    let tags: Vec<&str> = body.split("<script").skip(1).map(|t| &t[..t.find('>').unwrap()]).collect();
    assert!(!tags.is_empty(), "the page hydrates with an inline module script");
    for tag in tags {
        assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "a script without the page's nonce: {tag}");
    }
    let (_, again, _) = get(&app, "/", None).await;
    assert_ne!(again[header::CONTENT_SECURITY_POLICY].to_str().unwrap(), policy, "a fresh nonce per page");

    // Other responses allow no inline script at all.
    let (_, headers, _) = get(&app, "/healthz", None).await;
    let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval';"), "{policy}");
}

#[tokio::test]
async fn the_system_status_server_function_answers_and_cross_origin_posts_are_refused() {
    let app = app().await;
    let call = |origin: Option<&'static str>| {
        let mut req = Request::post("/api/system_status")
            .header(header::HOST, "127.0.0.1:3000")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        app.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let res = call(Some("http://127.0.0.1:3000")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(json["database"] == "SQLite" || json["database"] == "PostgreSQL", "{json}");

    let res = call(Some("https://evil.example")).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Issue 14 §6: a name that resolves here (DNS rebinding) passes a Host check, not this one;
    // a write with a cookie but no Origin comes from no page of ours; and the browser's own word.
    let write = |host: &str, origin: Option<&str>, cookie: bool, fetch_site: Option<&str>| {
        let mut req = Request::post("/api/system_status")
            .header(header::HOST, host)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(o) = origin {
            req = req.header(header::ORIGIN, o);
        }
        if cookie {
            req = req.header(header::COOKIE, "ecert_staff=x");
        }
        if let Some(site) = fetch_site {
            req = req.header("sec-fetch-site", site);
        }
        app.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let status = |r: Result<axum::response::Response, std::convert::Infallible>| r.unwrap().status();
    assert_eq!(
        status(write("evil.example:3000", Some("http://evil.example:3000"), false, None).await),
        StatusCode::FORBIDDEN
    );
    assert_eq!(status(write("127.0.0.1:3000", None, true, None).await), StatusCode::FORBIDDEN);
    assert_eq!(status(write("127.0.0.1:3000", None, false, None).await), StatusCode::OK, "a back channel");
    let same = Some("http://127.0.0.1:3000");
    assert_eq!(status(write("127.0.0.1:3000", same, true, Some("cross-site")).await), StatusCode::FORBIDDEN);
    assert_eq!(status(write("127.0.0.1:3000", same, true, Some("same-origin")).await), StatusCode::OK);
}

#[tokio::test]
async fn a_request_body_over_the_limit_is_refused_before_it_is_read() {
    // Issue 14 §3: request bodies are capped.
    let app = app().await;
    let post = |body: Vec<u8>, declared: bool| {
        let mut req = Request::post("/api/system_status")
            .header(header::HOST, "127.0.0.1:3000")
            .header(header::ORIGIN, "http://127.0.0.1:3000")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if declared {
            req = req.header(header::CONTENT_LENGTH, body.len());
        }
        req.body(Body::from(body)).unwrap()
    };
    let limit = ecert_server::http::MAX_BODY_BYTES;
    // A body that says how long it is, and one that does not (chunked): the limit holds for both.
    for declared in [true, false] {
        let at_limit = support::send(&app, post(vec![b'a'; limit], declared)).await;
        assert_eq!(at_limit.status, StatusCode::OK, "declared: {declared}");
        let over = support::send(&app, post(vec![b'a'; limit + 1], declared)).await;
        assert_eq!(over.status, StatusCode::PAYLOAD_TOO_LARGE, "declared: {declared}: {}", over.body);
    }
}

#[tokio::test]
async fn static_files_are_served_precompressed() {
    let site = scratch_dir("ecert-site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::write(site.join("pkg/ecert.wasm"), b"plain").unwrap();
    std::fs::write(site.join("pkg/ecert.wasm.br"), b"brotli").unwrap();
    std::fs::write(site.join("pkg/ecert.wasm.gz"), b"gzip").unwrap();
    let app = app_with_site(site.to_str().unwrap()).await;
    let fetch = |encoding: &'static str| {
        app.clone().oneshot(
            Request::get("/pkg/ecert.wasm").header(header::ACCEPT_ENCODING, encoding).body(Body::empty()).unwrap(),
        )
    };
    let res = fetch("gzip, br").await.unwrap();
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
    assert_eq!(&to_bytes(res.into_body(), 100).await.unwrap()[..], b"brotli");
    let res = fetch("gzip").await.unwrap();
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
    let res = fetch("identity").await.unwrap();
    assert_eq!(&to_bytes(res.into_body(), 100).await.unwrap()[..], b"plain");
}

/// Issue 17 §2: the router compresses a page with brotli's window sized for a page (2^18 bytes),
/// not `CompressionLayer`'s 4 MiB, and the page arrives whole; a client that prefers gzip or
/// refuses brotli gets gzip, and what is not a page is compressed as before
/// (`ecert_server::page_brotli`'s own tests take the layer apart).
#[tokio::test]
async fn pages_come_in_brotli_with_a_pages_window_and_decode_whole() {
    use async_compression::tokio::bufread::BrotliDecoder;
    use tokio::io::AsyncReadExt;

    let site = scratch_dir("ecert-site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    let css = ".row { display: flex; }\n".repeat(100);
    std::fs::write(site.join("pkg/ecert.css"), &css).unwrap();
    let app = app_with_site(site.to_str().unwrap()).await;
    let fetch = |uri: &'static str, encoding: &'static str| {
        app.clone().oneshot(Request::get(uri).header(header::ACCEPT_ENCODING, encoding).body(Body::empty()).unwrap())
    };
    let decode = |compressed: &[u8]| {
        let compressed = compressed.to_vec();
        async move {
            let mut text = String::new();
            BrotliDecoder::new(compressed.as_slice()).read_to_string(&mut text).await.unwrap();
            text
        }
    };

    let res = fetch("/", "identity").await.unwrap();
    assert!(!res.headers().contains_key(header::CONTENT_ENCODING));
    let plain = String::from_utf8(to_bytes(res.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();

    let res = fetch("/", "gzip, deflate, br, zstd").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    let vary = res.headers().get_all(header::VARY).iter().map(|v| v.to_str().unwrap().to_ascii_lowercase());
    assert!(vary.collect::<Vec<_>>().iter().any(|v| v.contains("accept-encoding")), "caches keep one copy per coding");
    let compressed = to_bytes(res.into_body(), 1 << 20).await.unwrap();
    // RFC 7932 §9.1: a stream opens with its window: a 1 bit, then 3 bits n for 2^(17+n) bytes.
    assert_eq!(compressed[0] & 0x0F, 0b0011, "an 18-bit window (CompressionLayer's 22 bits would be 0b1011)");
    let html = decode(&compressed).await;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("事业单位法人电子证书"));
    assert_eq!(html.len(), plain.len(), "the whole page: {html}");

    for gzip_preferred in ["gzip;q=1, br;q=0.5", "br;q=0, gzip", "gzip"] {
        let res = fetch("/", gzip_preferred).await.unwrap();
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip", "{gzip_preferred}");
    }

    // Not a page: CompressionLayer's brotli, as before.
    let res = fetch("/pkg/ecert.css", "br").await.unwrap();
    assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
    assert_eq!(decode(&to_bytes(res.into_body(), 1 << 20).await.unwrap()).await, css);
}

#[tokio::test]
async fn start_up_explains_a_bad_database_url_and_an_occupied_port() {
    let config = Config::load_from(["ecert-server", "--database-url", "mysql://u:secret@h/db"]).unwrap();
    let err = prepare(&config).await.map(|_| ()).unwrap_err();
    assert!(matches!(err, StartError::Database(_)));
    let text = err.to_string();
    assert!(text.contains("DATABASE_URL") && !text.contains("secret"), "{text}");

    // R16: PostgreSQL without a data key named is refused before anything is opened.
    let config = Config::load_from(["ecert-server", "--database-url", "postgres://u:secret@127.0.0.1:1/db"]).unwrap();
    let err = prepare(&config).await.map(|_| ()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("ECERT_DATA_KEY") && !text.contains("secret"), "{text}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let db = std::env::temp_dir().join(format!("ecert-port-{}.db", Random::os().id()));
    let config =
        Config::load_from(["ecert-server", "--listen", &addr, "--database-url", &format!("sqlite:{}", db.display())])
            .unwrap();
    let err = prepare(&config).await.map(|_| ()).unwrap_err();
    assert!(matches!(err, StartError::Listen { .. }));
    assert!(err.to_string().contains("already in use"), "{err}");
}

#[tokio::test]
async fn refused_server_function_calls_get_4xx_statuses_not_500() {
    let app = app().await;
    let post = |uri: &'static str, body: &'static str| {
        app.clone().oneshot(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "application/json")
                .body(Body::from(body))
                .unwrap(),
        )
    };
    let res = post("/api/staff_sign_in", "username=nobody&password=wrong-password").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = post("/api/list_certificates", "text=&status=&page=0").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "not signed in");
    let res = post("/api/current_staff", "").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "asking who is signed in is not an error");
}

#[tokio::test]
async fn health_is_unavailable_when_the_database_is_gone() {
    let db = open_test_db().await;
    let app = app_on(&db, &[]);
    db.close().await;
    let (status, _, body) = get(&app, "/healthz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("unavailable"), "{body}");
}

/// Issue 14 §3: an anonymous endpoint that hashes a password is limited per client address,
/// with `Retry-After`; another address is not held up, and a client cannot pick its address by
/// `X-Forwarded-For` unless it comes through a trusted proxy.
#[tokio::test]
async fn anonymous_sign_ins_are_limited_per_client_with_retry_after() {
    let db = open_test_db().await;
    // Scaled down: one staff sign-in a minute per client, 60 in all.
    let app = app_on(&db, &["--site-root", &no_site(), "--rate-limit-scale", "0.05", "--trusted-proxy", "10.0.0.2"]);
    let sign_in = |peer: &str, forwarded: Option<&str>| {
        let mut req = Request::post("/api/staff_sign_in")
            .header(header::HOST, support::HOST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(f) = forwarded {
            req = req.header("x-forwarded-for", f);
        }
        let mut req = req.body(Body::from("username=admin&password=wrong")).unwrap();
        let addr: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo(addr));
        let app = app.clone();
        async move { support::send(&app, req).await }
    };
    assert_eq!(sign_in("203.0.113.7", None).await.status, StatusCode::UNAUTHORIZED);
    let limited = sign_in("203.0.113.7", Some("198.51.100.1")).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "a forged X-Forwarded-For changes nothing");
    let wait: u64 = limited.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(limited.body.contains("RateLimited"), "{}", limited.body);
    assert_eq!(sign_in("203.0.113.8", None).await.status, StatusCode::UNAUTHORIZED, "another client");
    // Through the trusted proxy, each forwarded client counts for itself.
    assert_eq!(sign_in("10.0.0.2", Some("198.51.100.1")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in("10.0.0.2", Some("198.51.100.2")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in("10.0.0.2", Some("198.51.100.1")).await.status, StatusCode::TOO_MANY_REQUESTS);
    // Polling is not limited.
    let poll =
        Request::post("/api/dashboard_login_status").header(header::HOST, support::HOST).body(Body::empty()).unwrap();
    assert_eq!(support::send(&app, poll).await.status, StatusCode::OK);
}

/// Issue 17 §1: two app servers over one PostgreSQL database count a client's requests together,
/// so a client over its limit through one is over it through the other. A SQLite file is served
/// by one process, which counts alone.
#[tokio::test]
async fn a_client_over_its_limit_through_one_app_server_is_over_it_through_another() {
    let db = open_test_db().await;
    // Two staff sign-ins a minute per client.
    let flags = ["--site-root", &no_site(), "--rate-limit-scale", "0.1"];
    let (a, b) = (app_on(&db, &flags), app_on(&db, &flags));
    let id = ecert_core::secret::Random::os().id();
    let client: std::net::SocketAddr =
        format!("198.18.{}.{}:40000", id.as_bytes()[0], id.as_bytes()[1]).parse().unwrap();
    let sign_in = |app: &axum::Router| {
        let mut req = Request::post("/api/staff_sign_in")
            .header(header::HOST, support::HOST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("username=nobody-{id}&password=wrong")))
            .unwrap();
        req.extensions_mut().insert(axum::extract::ConnectInfo(client));
        let app = app.clone();
        async move { support::send(&app, req).await.status }
    };
    assert_eq!(sign_in(&a).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&b).await, StatusCode::UNAUTHORIZED);
    let third = sign_in(&a).await;
    match db.backend() {
        ecert_core::store::Backend::Postgres => {
            assert_eq!(third, StatusCode::TOO_MANY_REQUESTS, "the second server's count holds on the first");
            assert_eq!(sign_in(&b).await, StatusCode::TOO_MANY_REQUESTS);
        }
        ecert_core::store::Backend::Sqlite => assert_eq!(third, StatusCode::UNAUTHORIZED, "one process, one count"),
    }
}
