//! `ecert-demo-rp`: a demo application system with a "使用法人电子证书登录" button.
//!
//! Configuration by environment: `ECERT_DEMO_ISSUER` (the platform's public URL),
//! `ECERT_DEMO_CLIENT_ID`, `ECERT_DEMO_CLIENT_SECRET` (from the console's relying-party
//! registry), `ECERT_DEMO_LISTEN` (default `127.0.0.1:4000`) and `ECERT_DEMO_PUBLIC_URL`
//! (default `http://` + the listen address); its redirect URL is `<public URL>/callback`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use ecert_demo_rp::{Config, Pending, RelyingParty, error_chain};
use openidconnect::{Nonce, PkceCodeVerifier};
use serde::Deserialize;

/// Logins in progress by `state`, with the browser cookie that started each (a demo keeps them
/// in memory; a real party would use its session store).
#[derive(Clone)]
struct App {
    config: Config,
    pending: Arc<Mutex<HashMap<String, Started>>>,
}

/// A login this party started: the browser cookie, the nonce and the PKCE verifier.
type Started = (String, Nonce, PkceCodeVerifier);

const COOKIE: &str = "demo_rp_login";

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt().with_env_filter("info").init();
    if let Err(e) = run().await {
        eprintln!("ecert-demo-rp: {e}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), String> {
    let listen = std::env::var("ECERT_DEMO_LISTEN").unwrap_or_else(|_| "127.0.0.1:4000".into());
    let public = std::env::var("ECERT_DEMO_PUBLIC_URL").unwrap_or_else(|_| format!("http://{listen}"));
    let config = Config {
        issuer: env("ECERT_DEMO_ISSUER")?.trim_end_matches('/').to_owned(),
        client_id: env("ECERT_DEMO_CLIENT_ID")?,
        client_secret: env("ECERT_DEMO_CLIENT_SECRET")?,
        redirect_url: format!("{}/callback", public.trim_end_matches('/')),
    };
    println!("ecert-demo-rp on {public} (redirect URL to register: {})", config.redirect_url);
    let app = App { config, pending: Arc::default() };
    let router = Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/callback", get(callback))
        .with_state(app);
    let listener =
        tokio::net::TcpListener::bind(&listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    axum::serve(listener, router).await.map_err(|e| e.to_string())
}

fn page(body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>示例应用系统 / Demo relying party</title>\
         </head><body style=\"font-family:sans-serif;max-width:40rem;margin:2rem auto\"><h1>示例应用系统</h1>{body}</body></html>"
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn home() -> Html<String> {
    page(
        "<p>Demo relying party: sign in with the legal-person e-certificate (OpenID Connect).</p>\
          <p><a href=\"/login\"><button type=\"button\">使用法人电子证书登录</button></a></p>",
    )
}

async fn login(State(app): State<App>) -> Response {
    let rp = match RelyingParty::discover(&app.config).await {
        Ok(rp) => rp,
        Err(e) => {
            return (StatusCode::BAD_GATEWAY, page(&format!("<p>{}</p>", escape(&e.to_string())))).into_response();
        }
    };
    let Pending { url, state, nonce, pkce_verifier } = rp.start();
    let browser = openidconnect::CsrfToken::new_random().secret().clone();
    if let Ok(mut pending) = app.pending.lock() {
        pending.insert(state, (browser.clone(), nonce, pkce_verifier));
    }
    let cookie = format!("{COOKIE}={browser}; Path=/; HttpOnly; SameSite=Lax");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(State(app): State<App>, headers: axum::http::HeaderMap, Query(q): Query<Callback>) -> Response {
    let browser = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| *n == COOKIE)
        .map(|(_, v)| v.to_owned());
    let taken = q.state.as_ref().and_then(|s| app.pending.lock().ok().and_then(|mut p| p.remove(s)));
    let Some((owner, nonce, verifier)) = taken.filter(|(owner, _, _)| Some(owner) == browser.as_ref()) else {
        return (StatusCode::BAD_REQUEST, page("<p>未知或已使用的登录请求（state 不匹配）。</p>")).into_response();
    };
    let _ = owner;
    if let Some(error) = q.error {
        return page(&format!("<p>登录未完成：{}</p><p><a href=\"/\">返回</a></p>", escape(&error))).into_response();
    }
    let Some(code) = q.code else {
        return (StatusCode::BAD_REQUEST, page("<p>缺少授权码。</p>")).into_response();
    };
    let login = match RelyingParty::discover(&app.config).await {
        Ok(rp) => rp.finish(&code, verifier, &nonce).await,
        Err(e) => Err(e),
    };
    match login {
        Ok(login) => {
            let matters: Vec<String> =
                login.claims.matters.iter().map(|m| format!("<li>{}</li>", escape(&m.name))).collect();
            page(&format!(
                "<p>登录成功 / Signed in.</p><dl><dt>单位名称</dt><dd data-testid=\"institution\">{}</dd>\
                 <dt>统一社会信用代码</dt><dd>{}</dd><dt>证书序列号</dt><dd>{}</dd><dt>持证人</dt><dd>{}</dd>\
                 <dt>角色</dt><dd data-testid=\"role\">{}</dd><dt>授权事项</dt><dd><ul>{}</ul></dd></dl>\
                 <p><a href=\"/\">返回</a></p>",
                escape(&login.claims.institution.name),
                escape(&login.claims.institution.credit_code),
                escape(&login.claims.institution.certificate_serial),
                escape(login.name.as_deref().unwrap_or("-")),
                escape(&login.claims.role),
                matters.join("")
            ))
            .into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, page(&format!("<p>{}</p>", escape(&error_chain(&e))))).into_response(),
    }
}
