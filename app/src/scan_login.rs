//! The PC side of a scan login (R11), one panel for the manager dashboard and for a relying
//! party's OpenID Connect page: the login QR and its match code, the state long-polled (each
//! request answered when the state moves, so a confirmation shows at once; every 1.5 s when the
//! server does not wait), a fresh QR when one expires, and the page's own way out once the login
//! is over.
//!
//! It must not decide anything: the state comes from the server ([`ecert_core::login::poll`]),
//! and what a confirmed login opens is the calling page's server function's business.

use std::future::Future;

use ecert_core::login::LoginState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

/// A login QR for this browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginQr {
    pub qr_svg: String,
    pub url: String,
    pub match_code: String,
    pub expires_at: i64,
}

#[cfg(feature = "ssr")]
impl LoginQr {
    /// The QR of a scan login just started for this browser, whose secret goes into the login
    /// cookie it polls with (`crate::session::LOGIN_COOKIE`).
    pub fn for_browser(started: &ecert_core::login::Started, now: ecert_core::Millis) -> Result<LoginQr, AppError> {
        let state = crate::state::app_state()?;
        crate::session::set_session_cookie(
            crate::session::LOGIN_COOKIE,
            started.browser.expose(),
            Some(started.expires_at),
            now,
        );
        let url = format!("{}/wallet/login?code={}", state.public_url, started.code.expose());
        Ok(LoginQr {
            qr_svg: crate::qr::svg(&url),
            url,
            match_code: started.match_code.clone(),
            expires_at: started.expires_at.0,
        })
    }
}

/// One poll's answer: the login's state, `None` once the request the login was for is gone
/// (unknown, finished or expired), and where the browser goes next, if anywhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Polled {
    #[serde(with = "state_or_gone")]
    pub state: Option<LoginState>,
    pub redirect: Option<String>,
}

/// On the wire a gone request is the state `gone`, beside the login's own states.
mod state_or_gone {
    use ecert_core::login::LoginState;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(state: &Option<LoginState>, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(state.map_or("gone", LoginState::as_str))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Option<LoginState>, D::Error> {
        let text = String::deserialize(de)?;
        if text == "gone" {
            return Ok(None);
        }
        LoginState::deserialize(serde::de::value::StrDeserializer::<D::Error>::new(&text)).map(Some)
    }
}

/// What the panel says where pages differ: its heading and two of its endings.
#[derive(Clone, Copy)]
pub struct Endings {
    /// What the QR signs in to: the dashboard, or a relying party's system.
    pub heading: T,
    pub confirmed: T,
    pub rejected: T,
    /// Offer a new QR after a rejection (the dashboard) or not (a party's page sends the
    /// browser back with `access_denied`).
    pub retry_after_reject: bool,
}

/// Set when the panel goes away (from `on_cleanup`, which may run on any thread).
#[derive(Clone, Default)]
pub(crate) struct Gone(std::sync::Arc<(std::sync::atomic::AtomicBool, std::sync::Mutex<Option<std::task::Waker>>)>);

impl Gone {
    pub(crate) fn set(&self) {
        self.0.0.store(true, std::sync::atomic::Ordering::SeqCst);
        let waker = self.0.1.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = waker {
            w.wake();
        }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.0.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// `work`'s output, or `None` as soon as the panel is gone (dropping `work`).
    pub(crate) async fn unless<F: Future>(&self, work: F) -> Option<F::Output> {
        let mut work = std::pin::pin!(work);
        std::future::poll_fn(|cx| {
            if self.is_set() {
                return std::task::Poll::Ready(None);
            }
            if let Ok(mut w) = self.0.1.lock() {
                *w = Some(cx.waker().clone());
            }
            work.as_mut().poll(cx).map(Some)
        })
        .await
    }
}

/// The pace of polling when the server does not wait (the fallback), in milliseconds.
pub(crate) const POLL_MS: u32 = 1_500;

/// Sleeps in the browser; the loops that call it run only there.
pub(crate) async fn pause(ms: u32) {
    #[cfg(feature = "hydrate")]
    {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w
                    .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms.try_into().unwrap_or(i32::MAX));
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ms;
}

#[cfg(feature = "hydrate")]
pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[cfg(not(feature = "hydrate"))]
pub(crate) fn now_ms() -> f64 {
    0.0
}

/// `start` asks for a QR (`None`: the request is gone); `poll(seen)` asks where the login stands,
/// answering once it is no longer `seen` (a long poll; the server bounds the wait);
/// `over` is called with every answer and leaves the page when the page's login is over.
/// `children` go between the heading and the QR.
#[component]
pub fn ScanLoginPanel<S, SF, P, PF>(
    heading_id: &'static str,
    start: S,
    poll: P,
    endings: Endings,
    over: fn(&Polled),
    children: Children,
) -> impl IntoView
where
    S: Fn() -> SF + Copy + 'static,
    SF: Future<Output = Result<Option<LoginQr>, AppError>> + 'static,
    P: Fn(Option<LoginState>) -> PF + Copy + Send + Sync + 'static,
    PF: Future<Output = Result<Polled, AppError>> + 'static,
{
    let lang = use_lang();
    let start = Action::new_local(move |_: &()| start());
    let (state, set_state) = signal(Some(LoginState::Waiting));
    Effect::new(move |_| {
        start.dispatch_local(());
    });
    Effect::new(move |_| match start.value().get() {
        Some(Ok(Some(_))) => set_state.set(Some(LoginState::Waiting)),
        Some(Ok(None)) => set_state.set(None),
        _ => {}
    });
    Effect::new(move |_| {
        let pending = start.pending();
        // Ends the loop below, and drops the request in flight (which aborts its fetch), when the
        // panel goes away.
        let gone = Gone::default();
        let going = gone.clone();
        spawn_local(async move {
            while !going.is_set() {
                if pending.try_get_untracked().unwrap_or(true) {
                    pause(250).await;
                    continue;
                }
                let seen = state.try_get_untracked().flatten();
                if !matches!(seen, Some(LoginState::Waiting | LoginState::Scanned)) {
                    pause(500).await;
                    continue;
                }
                let asked = now_ms();
                let Some(result) = going.unless(poll(seen)).await else { break };
                // A failed long poll (a proxy's timeout, a server restarting): poll at the old pace.
                let Ok(polled) = result else {
                    pause(POLL_MS).await;
                    continue;
                };
                set_state.set(polled.state);
                if polled.state == Some(LoginState::Expired) {
                    start.dispatch_local(());
                    continue;
                }
                over(&polled);
                // Nothing new, answered at once: this server did not wait (too many waiting, or
                // stopping); poll at the old pace rather than in a tight loop.
                if polled.state == seen && now_ms() - asked < 1_000.0 {
                    pause(POLL_MS).await;
                }
            }
        });
        on_cleanup(move || gone.set());
    });
    let status_text = move || match state.get() {
        Some(LoginState::Scanned) => T::LoginScanned.get(lang),
        Some(LoginState::Confirmed) => endings.confirmed.get(lang),
        Some(LoginState::Rejected) => endings.rejected.get(lang),
        Some(LoginState::Expired) => T::LoginExpired.get(lang),
        Some(LoginState::Waiting | LoginState::Unknown) => T::LoginWaiting.get(lang),
        None => T::OidcGone.get(lang),
    };
    let state_name = move || state.get().map_or("gone", |s| s.as_str());
    view! {
        <section class="panel login" aria-labelledby=heading_id>
            <h2 id=heading_id>{t(endings.heading)}</h2>
            {children()}
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
            <p class="status" role="status" data-testid="login-state" data-state=state_name>{status_text}</p>
            <Show when=move || endings.retry_after_reject && state.get() == Some(LoginState::Rejected)>
                <button type="button" on:click=move |_| { start.dispatch_local(()); }>{t(T::NewLoginQr)}</button>
            </Show>
        </section>
    }
}
