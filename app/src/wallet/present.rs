//! Presenting the certificate (R9): pick the grant (a user with several in force), enter the
//! certificate password, and show the QR, the barcode and the number with a countdown. Checking
//! what is shown is `crate::verify`.

use ecert_core::device::action;
use ecert_core::holder::GrantView;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::device::{self, Card};
use crate::error::AppError;
use crate::i18n::{T, role_text, t, use_lang};

/// A presented set as the wallet shows it: the QR (a link to the public check page), the
/// barcode and the number (the same 16 digits), all valid until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentView {
    pub url: String,
    /// Grouped by four digits for reading (`1234 5678 9012 3456`).
    pub number: String,
    pub expires_at: i64,
    pub grant_id: Option<String>,
    /// Inline SVG images, drawn on the server so the WASM bundle carries no encoder.
    pub qr_svg: String,
    pub barcode_svg: String,
}

/// R9: a new set for the holder of this device; the previous set stops working. Signed over
/// the device id and the time of signing, and needs the certificate password.
#[server(prefix = "/api/v1/wallet", endpoint = "present", input = Json)]
pub async fn wallet_present(
    device_id: String,
    signed_at: i64,
    signature: String,
    password: String,
    grant_id: Option<String>,
) -> Result<PresentView, AppError> {
    use ecert_core::presentation::{self, PresentRequest};
    let state = crate::state::app_state()?;
    let request = PresentRequest {
        device_id: &device_id,
        signed_at,
        signature: &signature,
        password: ecert_core::secret::Secret::new(password),
        grant_id: grant_id.as_deref().filter(|g| !g.is_empty()),
    };
    let set = presentation::present(&state.db, request, ecert_core::Millis::now(), &state.random).await?;
    let url = format!("{}/check?t={}", state.public_url, set.qr_token.expose());
    Ok(PresentView {
        qr_svg: crate::qr::svg(&url),
        barcode_svg: crate::barcode::svg(set.number.expose()),
        number: presentation::format_number(set.number.expose()),
        url,
        expires_at: set.expires_at.0,
        grant_id: set.grant_id,
    })
}

/// The wallet's present page (`/wallet/present?device=…`): pick the grant (a user with several
/// in force), enter the certificate password, and show the three codes with a countdown. Refresh
/// makes a new set and voids the shown one.
#[component]
pub fn PresentPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let wanted = move || query.read().get("device").unwrap_or_default();
    let (card, set_card) = signal(None::<Card>);
    let (loaded, set_loaded) = signal(false);
    let (grants, set_grants) = signal(Vec::<GrantView>::new());
    let (grant, set_grant) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let (shown, set_shown) = signal(None::<PresentView>);
    let (error, set_error) = signal(None::<String>);
    let (busy, set_busy) = signal(false);

    Effect::new(move |_| {
        let all = device::cards();
        let wanted = wanted();
        let chosen =
            all.iter().find(|c| c.device_id == wanted).cloned().or_else(|| (all.len() == 1).then(|| all[0].clone()));
        set_loaded.set(true);
        let Some(c) = chosen else { return };
        set_card.set(Some(c.clone()));
        if c.role == ecert_core::holder::Role::User {
            spawn_local(async move {
                let live = grants_in_force(c).await;
                if let Some(first) = live.first() {
                    set_grant.set(first.id.clone());
                }
                set_grants.set(live);
            });
        }
    });
    let now = ticking_clock();

    let present = move || {
        let Some(c) = card.get_untracked() else { return };
        set_busy.set(true);
        set_error.set(None);
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&c.slot, action::PRESENT, &c.device_id).await;
            let result = device::signed_call(lang, signature, |sig| {
                let g = Some(grant.get_untracked()).filter(|g| !g.is_empty());
                wallet_present(c.device_id.clone(), signed_at, sig, password.get_untracked(), g)
            })
            .await;
            set_busy.set(false);
            match result {
                Ok(v) => {
                    // Issue 16 §7: the screen stays on while the codes are shown.
                    keep_screen_awake();
                    set_shown.set(Some(v));
                }
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        present();
    };
    let remaining = move || shown.get().map(|s| ((s.expires_at - now.get()) / 1000).max(0));
    // Changes once per set, so the codes are drawn once, not on every tick.
    let expired = Memo::new(move |_| remaining().is_some_and(|r| r <= 0));

    view! {
        <h1>{t(T::PresentTitle)}</h1>
        <Show when=move || loaded.get() fallback=|| view! { <p class="hint">{t(T::WalletLoading)}</p> }>
            <Show when=move || card.get().is_some() fallback=|| view! { <p class="notice">{t(T::WalletEmpty)}</p> }>
                {move || card.get().map(|c| view! {
                    <p><strong>{c.institution_name.clone()}</strong> " · " {role_text(c.role, lang)}</p>
                })}
                <Show when=move || shown.get().is_none()>
                    <form class="stack panel" on:submit=submit>
                        <GrantChoice grants grant set_grant />
                        <label>{t(T::CertificatePassword)}<input type="password" name="password" autocomplete="current-password" bind:value=(password, set_password) /></label>
                        <button type="submit" disabled=move || busy.get()>{t(T::PresentButton)}</button>
                    </form>
                </Show>
                {move || shown.get().map(|s| shown_codes(s, expired.get(), remaining, busy, present))}
            </Show>
        </Show>
        <p class="error" role="alert">{move || error.get()}</p>
    }
}

/// The grants of a user's card in force today (R6), for the choice of what to present; none when
/// the phone cannot ask.
async fn grants_in_force(card: Card) -> Vec<GrantView> {
    let (signed_at, Ok(sig)) = device::sign_timed(&card.slot, action::STATUS, &card.device_id).await else {
        return Vec::new();
    };
    match super::wallet_status(card.device_id.clone(), signed_at, sig).await {
        Ok(me) => me.grants.into_iter().filter(|g| g.effective).collect(),
        Err(_) => Vec::new(),
    }
}

/// Asks the browser to keep the screen on (the Screen Wake Lock API) where it has one; the lock
/// ends by itself when the page is hidden or closed. Called through `Reflect`, so a browser
/// without the API (or an older one) simply does nothing.
fn keep_screen_awake() {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(window) = web_sys::window() else { return };
        let Ok(navigator) = js_sys::Reflect::get(&window, &"navigator".into()) else { return };
        let Ok(lock) = js_sys::Reflect::get(&navigator, &"wakeLock".into()) else { return };
        if lock.is_undefined() || lock.is_null() {
            return;
        }
        let request =
            js_sys::Reflect::get(&lock, &"request".into()).ok().and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        if let Some(request) = request
            && let Ok(promise) = request.call1(&lock, &"screen".into())
            && let Ok(promise) = promise.dyn_into::<js_sys::Promise>()
        {
            // Refused (a hidden page, a battery saver): the codes still show. The handler is
            // a few bytes, kept for the page's life.
            let ignore = wasm_bindgen::closure::Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(|_| {});
            let _ = promise.catch(&ignore);
            ignore.forget();
        }
    }
}

/// The phone's clock in milliseconds, ticking once a second while the page is open (0 on the
/// server and until hydration), for the countdown.
fn ticking_clock() -> ReadSignal<i64> {
    let (now, set_now) = signal(0_i64);
    #[cfg(feature = "hydrate")]
    {
        set_now.set(js_sys::Date::now() as i64);
        if let Ok(handle) =
            set_interval_with_handle(move || set_now.set(js_sys::Date::now() as i64), std::time::Duration::from_secs(1))
        {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = set_now;
    now
}

/// Which of a user's grants in force to present, when there are several.
#[component]
fn GrantChoice(
    grants: ReadSignal<Vec<GrantView>>,
    grant: ReadSignal<String>,
    set_grant: WriteSignal<String>,
) -> impl IntoView {
    let lang = use_lang();
    view! {
        <Show when=move || { grants.get().len() > 1 }>
            <label>{t(T::ChooseGrant)}
                <select on:change=move |ev| set_grant.set(event_target_value(&ev)) prop:value=move || grant.get()>
                    <For each=move || grants.get() key=|g| g.id.clone() let:g>
                        <option value=g.id.clone()>
                            {g.matters.iter().map(|m| lang.pick(&m.name_zh, &m.name_en).to_owned()).collect::<Vec<_>>().join("、")}
                            " · " {g.start_day.clone()} " ~ " {g.end_day.clone()}
                        </option>
                    </For>
                </select>
            </label>
        </Show>
    }
}

/// The three codes of a presented set with their countdown, or, once it ran out, the way to a
/// new set.
fn shown_codes(
    s: PresentView,
    expired: bool,
    remaining: impl Fn() -> Option<i64> + Send + Sync + 'static,
    busy: ReadSignal<bool>,
    present: impl Fn() + Copy + Send + Sync + 'static,
) -> AnyView {
    if expired {
        return view! {
            <p class="notice" role="status" data-testid="present-expired">{t(T::PresentExpired)}</p>
            <button type="button" on:click=move |_| present()>{t(T::Refresh)}</button>
        }
        .into_any();
    }
    view! {
        <section class="panel present" data-testid="present">
            <p class="hint">{t(T::PresentHint)}</p>
            <a class="qr" href=s.url.clone() data-testid="present-link" inner_html=s.qr_svg.clone()></a>
            <div class="barcode" data-testid="present-barcode" inner_html=s.barcode_svg.clone()></div>
            <p class="number"><span class="muted">{t(T::NumericCode)}</span> " "
                <strong data-testid="present-number">{s.number.clone()}</strong></p>
            <p data-testid="present-countdown">{t(T::PresentValidFor)} " " {remaining} " " {t(T::SecondsUnit)}</p>
            <button type="button" class="secondary" disabled=move || busy.get() on:click=move |_| present()>{t(T::Refresh)}</button>
        </section>
    }
    .into_any()
}
