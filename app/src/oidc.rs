//! The PC scan-login page of an OpenID Connect authorization request (R11 for relying parties).
//! `/oidc/authorize` validates the request and sends the browser here with its handle; the page
//! names the relying party, shows the login QR and its match code, polls, and on the outcome
//! sends the browser back to the party (a code, or `access_denied`). An expired QR is replaced.
//! The HTTP endpoints of the protocol itself live in `ecert-server` (`server/src/oidc.rs`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

/// A login QR for an authorization request, for this browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcLoginQr {
    pub party_name: String,
    pub qr_svg: String,
    pub url: String,
    pub match_code: String,
    pub expires_at: i64,
}

/// Where the login stands: `waiting`, `scanned`, `confirmed`, `rejected`, `expired`, `unknown`,
/// or `gone` (the authorization request is unknown, finished or expired). `redirect` is where
/// the browser goes once the login is over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcProgress {
    pub state: String,
    pub redirect: Option<String>,
}

/// Backend failures are logged once by `AppError`; the protocol's own refusals cannot happen
/// here (the page only reads and polls its request).
#[cfg(feature = "ssr")]
fn app_error(e: ecert_core::oidc::OidcError) -> AppError {
    match e {
        ecert_core::oidc::OidcError::Backend(e) => e.into(),
        _ => ecert_core::DomainError::InvalidState.into(),
    }
}

/// The registered name of the party asking, or `None` when the request is gone.
#[server(endpoint = "oidc_login_party")]
pub async fn oidc_login_party(request: String) -> Result<Option<String>, AppError> {
    use ecert_core::oidc::{self, OidcError};
    let state = crate::state::app_state();
    match oidc::request_view(&state.db, &request, ecert_core::Millis::now()).await {
        Ok(view) => Ok(Some(view.party_name)),
        Err(OidcError::RequestGone) => Ok(None),
        Err(e) => Err(app_error(e)),
    }
}

/// A (fresh) login QR for the request; the browser secret goes into the login cookie.
#[server(endpoint = "oidc_login_start")]
pub async fn oidc_login_start(request: String) -> Result<Option<OidcLoginQr>, AppError> {
    use ecert_core::oidc::{self, OidcError};
    let state = crate::state::app_state();
    let now = ecert_core::Millis::now();
    let (view, started) = match oidc::start_login(&state.db, &request, now, &state.random).await {
        Ok(v) => v,
        Err(OidcError::RequestGone) => return Ok(None),
        Err(e) => return Err(app_error(e)),
    };
    crate::session::set_session_cookie(
        crate::session::LOGIN_COOKIE,
        started.browser.expose(),
        Some(started.expires_at),
        now,
    );
    let url = format!("{}/wallet/login?code={}", state.public_url, started.code.expose());
    Ok(Some(OidcLoginQr {
        party_name: view.party_name,
        qr_svg: crate::qr::svg(&url),
        url,
        match_code: started.match_code,
        expires_at: started.expires_at.0,
    }))
}

/// The hot path the page polls; on `confirmed` the code is issued (once) and `redirect` set.
#[server(endpoint = "oidc_login_status")]
pub async fn oidc_login_status(request: String) -> Result<OidcProgress, AppError> {
    use ecert_core::oidc::{self, OidcError};
    let state = crate::state::app_state();
    let unknown = || OidcProgress { state: ecert_core::login::LoginState::Unknown.as_str().to_owned(), redirect: None };
    let Some(browser) = crate::session::cookie(crate::session::LOGIN_COOKIE) else { return Ok(unknown()) };
    let now = ecert_core::Millis::now();
    match oidc::progress(&state.db, &request, &browser, now, &state.random).await {
        Ok(p) => {
            if p.redirect.is_some() {
                crate::session::set_session_cookie(crate::session::LOGIN_COOKIE, "", None, now);
            }
            Ok(OidcProgress { state: p.state.as_str().to_owned(), redirect: p.redirect })
        }
        Err(OidcError::RequestGone) => Ok(OidcProgress { state: "gone".into(), redirect: None }),
        Err(e) => Err(app_error(e)),
    }
}

fn go_to(url: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

#[component]
pub fn OidcLoginPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let request = move || query.with(|q| q.get("request").unwrap_or_default());
    let party = Resource::new(request, oidc_login_party);
    view! {
        <h1>{t(T::OidcTitle)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match party.await {
                    Ok(Some(name)) => view! { <OidcLoginPanel request=request() party=name /> }.into_any(),
                    Ok(None) => view! { <p class="error" role="alert" data-testid="oidc-gone">{t(T::OidcGone)}</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Like the dashboard's login panel, for a relying party: QR, match code, state polled every
/// 1.5 s, a fresh QR on expiry, and the way back to the party at the end.
#[component]
fn OidcLoginPanel(request: String, party: String) -> impl IntoView {
    let lang = use_lang();
    let request = StoredValue::new(request);
    let start = Action::new_local(move |_: &()| oidc_login_start(request.get_value()));
    let (state, set_state) = signal(String::from("waiting"));
    Effect::new(move |_| {
        start.dispatch_local(());
    });
    Effect::new(move |_| match start.value().get() {
        Some(Ok(Some(_))) => set_state.set("waiting".into()),
        Some(Ok(None)) => set_state.set("gone".into()),
        _ => {}
    });
    Effect::new(move |_| {
        let polling = StoredValue::new(false);
        let handle = set_interval_with_handle(
            move || {
                if polling.get_value() || start.pending().get_untracked() {
                    return;
                }
                if !matches!(state.get_untracked().as_str(), "waiting" | "scanned") {
                    return;
                }
                polling.set_value(true);
                spawn_local(async move {
                    let result = oidc_login_status(request.get_value()).await;
                    polling.set_value(false);
                    let Ok(progress) = result else { return };
                    if progress.state == "expired" {
                        set_state.set("expired".into());
                        start.dispatch_local(());
                        return;
                    }
                    set_state.set(progress.state.clone());
                    if let Some(url) = progress.redirect {
                        go_to(&url);
                    }
                });
            },
            std::time::Duration::from_millis(1500),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    let status_text = move || match state.get().as_str() {
        "scanned" => T::LoginScanned.get(lang),
        "confirmed" => T::OidcReturning.get(lang),
        "rejected" => T::OidcDenied.get(lang),
        "expired" => T::LoginExpired.get(lang),
        "gone" => T::OidcGone.get(lang),
        _ => T::LoginWaiting.get(lang),
    };
    view! {
        <section class="panel login" aria-labelledby="oidc-login-title">
            <h2 id="oidc-login-title">{t(T::ScanToSignIn)}</h2>
            <p>{t(T::OidcParty)} " " <strong data-testid="oidc-party">{party}</strong></p>
            <p>{t(T::OidcHint)}</p>
            {move || match start.value().get() {
                Some(Ok(Some(qr))) => view! {
                    <div class="qr" role="img" aria-label=T::LoginQr.get(lang) inner_html=qr.qr_svg.clone()></div>
                    <p>{t(T::MatchCode)} " " <strong class="match-code" data-testid="pc-match-code">{qr.match_code.clone()}</strong></p>
                    <p class="no-print"><a href=qr.url.clone() rel="external" data-testid="login-link" target="_blank">{t(T::LoginLink)}</a></p>
                }.into_any(),
                Some(Ok(None)) => ().into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                None => view! { <p class="hint">{t(T::WalletLoading)}</p> }.into_any(),
            }}
            <p class="status" role="status" data-testid="login-state" data-state=move || state.get()>{status_text}</p>
        </section>
    }
}
