//! The PC scan-login page of an OpenID Connect authorization request (R11 for relying parties).
//! `/oidc/authorize` validates the request and sends the browser here with its handle; the page
//! names the relying party, shows the login QR and its match code, polls, and on the outcome
//! sends the browser back to the party (a code, or `access_denied`). An expired QR is replaced.
//! The HTTP endpoints of the protocol itself live in `ecert-server` (`server/src/oidc.rs`).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

use crate::scan_login::{Endings, ScanLoginPanel};
pub use crate::scan_login::{LoginQr, Polled as OidcProgress};

/// A login QR for an authorization request, for this browser, with the party's registered name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OidcLoginQr {
    pub party_name: String,
    #[serde(flatten)]
    pub qr: LoginQr,
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
    let state = crate::state::app_state()?;
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
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let (view, started) =
        match oidc::start_login(&state.db, &request, &crate::session::requester(), now, &state.random).await {
            Ok(v) => v,
            Err(OidcError::RequestGone) => return Ok(None),
            Err(e) => return Err(app_error(e)),
        };
    Ok(Some(OidcLoginQr { party_name: view.party_name, qr: LoginQr::for_browser(&started, now)? }))
}

/// The hot path the page polls; on `confirmed` the code is issued (once) and `redirect` set.
/// With `seen`, a long poll like the dashboard's (`crate::dashboard::login_status`).
#[server(endpoint = "oidc_login_status")]
pub async fn oidc_login_status(
    request: String,
    seen: Option<ecert_core::login::LoginState>,
) -> Result<OidcProgress, AppError> {
    use ecert_core::oidc::{self, OidcError};
    let state = crate::state::app_state()?;
    let unknown = || OidcProgress { state: Some(ecert_core::login::LoginState::Unknown), redirect: None };
    let Some(browser) = crate::session::cookie(crate::session::LOGIN_COOKIE) else { return Ok(unknown()) };
    if let Some(seen) = seen {
        oidc::wait_for_progress(&state.db, &request, &browser, seen, ecert_core::Millis::now())
            .await
            .map_err(app_error)?;
    }
    let now = ecert_core::Millis::now();
    match oidc::progress(&state.db, &request, &browser, now, &state.random).await {
        Ok(p) => {
            if p.redirect.is_some() {
                crate::session::set_session_cookie(crate::session::LOGIN_COOKIE, "", None, now);
            }
            Ok(OidcProgress { state: Some(p.state), redirect: p.redirect })
        }
        Err(OidcError::RequestGone) => Ok(OidcProgress { state: None, redirect: None }),
        Err(e) => Err(app_error(e)),
    }
}

/// "Cancel and return": the request ends and the browser goes back to the party with
/// `access_denied`; `None` when the request is already over (the page says so).
#[server(endpoint = "oidc_login_cancel")]
pub async fn oidc_login_cancel(request: String) -> Result<Option<String>, AppError> {
    use ecert_core::oidc::{self, OidcError};
    let state = crate::state::app_state()?;
    match oidc::cancel(&state.db, &request, ecert_core::Millis::now()).await {
        Ok(redirect) => {
            crate::session::set_session_cookie(crate::session::LOGIN_COOKIE, "", None, ecert_core::Millis::now());
            Ok(Some(redirect))
        }
        Err(OidcError::RequestGone) => Ok(None),
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

/// The shared scan-login panel for a relying party; the end of the login sends the browser
/// back to the party (a code, or `access_denied`).
#[component]
fn OidcLoginPanel(request: String, party: String) -> impl IntoView {
    let lang = use_lang();
    let request = StoredValue::new(request);
    let endings = Endings {
        heading: T::OidcScanHeading,
        confirmed: T::OidcReturning,
        rejected: T::OidcDenied,
        retry_after_reject: false,
    };
    let cancel = Action::new_local(move |_: &()| oidc_login_cancel(request.get_value()));
    Effect::new(move |_| {
        if let Some(Ok(Some(url))) = cancel.value().get() {
            go_to(&url);
        }
    });
    view! {
        <ScanLoginPanel
            heading_id="oidc-login-title"
            start=move || async move { oidc_login_start(request.get_value()).await.map(|qr| qr.map(|q| q.qr)) }
            poll=move |seen| oidc_login_status(request.get_value(), seen)
            endings
            over=back_to_party
        >
            <p>{t(T::OidcParty)} " " <strong data-testid="oidc-party">{party}</strong></p>
            <p>{t(T::OidcHint)}</p>
        </ScanLoginPanel>
        <p class="no-print">
            <button type="button" class="secondary" data-testid="oidc-cancel" disabled=move || cancel.pending().get()
                on:click=move |_| { cancel.dispatch_local(()); }>{t(T::OidcCancel)}</button>
        </p>
        {move || match cancel.value().get() {
            Some(Ok(Some(_))) => view! { <p class="status" role="status">{t(T::OidcCancelled)}</p> }.into_any(),
            Some(Ok(None)) => view! { <p class="error" role="alert">{t(T::OidcGone)}</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
            None => ().into_any(),
        }}
    }
}

fn back_to_party(polled: &OidcProgress) {
    if let Some(url) = &polled.redirect {
        go_to(url);
    }
}
