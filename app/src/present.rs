//! Presenting the certificate and checking it (R9, R10): the wallet's present page, the public
//! check page a phone camera opens from the QR, and the counter verifier page where a scanner
//! gun types the barcode's number.

use ecert_core::device::action;
use ecert_core::presentation::VerifiedView;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::device::{self, Card};
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
    let state = crate::state::app_state();
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

/// R10: the public check of a presented QR's token; anyone, no sign-in. Any failure answers
/// 410 "invalid or expired" and nothing else (R9).
#[server(prefix = "/api/v1", endpoint = "check", input = Json)]
pub async fn public_check(token: String) -> Result<VerifiedView, AppError> {
    let state = crate::state::app_state();
    Ok(ecert_core::presentation::verify_qr(&state.db, &token, ecert_core::Millis::now(), &state.random).await?)
}

#[server(endpoint = "counter_sign_in")]
pub async fn counter_sign_in(username: String, password: String) -> Result<(), AppError> {
    use crate::session::{COUNTER_COOKIE, set_session_cookie};
    let state = crate::state::app_state();
    let now = ecert_core::Millis::now();
    let secret = ecert_core::secret::Secret::new(password);
    let session = ecert_core::party::sign_in(&state.db, &username, secret, now, &state.random).await?;
    set_session_cookie(COUNTER_COOKIE, session.token.expose(), Some(session.expires_at), now);
    leptos_axum::redirect("/verify");
    Ok(())
}

#[server(endpoint = "counter_sign_out")]
pub async fn counter_sign_out() -> Result<(), AppError> {
    use crate::session::{COUNTER_COOKIE, cookie, set_session_cookie};
    let state = crate::state::app_state();
    let now = ecert_core::Millis::now();
    if let Some(token) = cookie(COUNTER_COOKIE) {
        ecert_core::party::sign_out(&state.db, &token, now).await?;
    }
    set_session_cookie(COUNTER_COOKIE, "", None, now);
    leptos_axum::redirect("/verify");
    Ok(())
}

#[server(endpoint = "counter_me")]
pub async fn counter_me() -> Result<Option<ecert_core::party::CounterCaller>, AppError> {
    crate::guard::counter_if_signed_in().await
}

/// R9, R10: a signed-in counter checks a numeric code (typed, or the barcode via a scanner gun).
#[server(endpoint = "counter_verify")]
pub async fn counter_verify(code: String) -> Result<VerifiedView, AppError> {
    let counter = crate::guard::counter().await?;
    let state = crate::state::app_state();
    let now = ecert_core::Millis::now();
    Ok(ecert_core::presentation::verify_number(&state.db, &counter, &code, now, &state.random).await?)
}

/// What a verifier sees of a valid presentation (masked, R16).
#[component]
pub fn VerifiedCard(v: VerifiedView) -> impl IntoView {
    let lang = use_lang();
    let matters: Vec<String> = v.matters.iter().map(|m| lang.pick(&m.name_zh, &m.name_en).to_owned()).collect();
    let grant = match (&v.start_day, &v.end_day) {
        (Some(s), Some(e)) => view! {
            <dt>{t(T::Grants)}</dt><dd data-testid="verified-matters">{matters.join("、")}</dd>
            <dt>{t(T::GrantPeriod)}</dt><dd data-testid="verified-period">{format!("{s} ~ {e}")}</dd>
        }
        .into_any(),
        _ => view! { <dt>{t(T::Grants)}</dt><dd data-testid="verified-matters">{t(T::NoGrantForManagers)}</dd> }
            .into_any(),
    };
    let expires = ecert_core::time::format_cst(ecert_core::Millis(v.expires_at));
    view! {
        <section class="panel verified" data-testid="verified" aria-live="polite">
            <p class="ok" role="status"><strong>{t(T::CheckGenuine)}</strong></p>
            <dl class="offer">
                <dt>{t(T::InstitutionName)}</dt><dd data-testid="verified-institution">{v.institution_name}</dd>
                <dt>{t(T::CreditCode)}</dt><dd><code>{v.credit_code}</code></dd>
                <dt>{t(T::Serial)}</dt><dd><code>{v.serial}</code></dd>
                <dt>{t(T::CertificateStatus)}</dt><dd>{t(T::StatusActive)}</dd>
                <dt>{t(T::LegalRepName)}</dt><dd>{v.legal_rep_name}</dd>
                <dt>{t(T::Holder)}</dt><dd data-testid="verified-holder">{v.holder_name} " · " {v.holder_id_number}</dd>
                <dt>{t(T::Role)}</dt><dd data-testid="verified-role">{role_text(v.role, lang)}</dd>
                {grant}
                <dt>{t(T::ValidUntil)}</dt><dd>{expires} " (CST)"</dd>
            </dl>
        </section>
    }
}

/// The public check page (`/check?t=…`), opened by any phone camera from a presented QR.
#[component]
pub fn CheckPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let token = move || query.read().get("t").unwrap_or_default();
    let result = Resource::new(token, public_check);
    view! {
        <h1>{t(T::CheckTitle)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match result.await {
                    Ok(v) => view! { <VerifiedCard v /> }.into_any(),
                    Err(AppError::Domain(_)) => view! {
                        <p class="error big" role="alert" data-testid="check-invalid">{t(T::CheckInvalid)}</p>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The counter verifier page (`/verify`): counter sign-in, then a code field that a scanner
/// gun fills and submits with Enter. Works before hydration (plain forms).
#[component]
pub fn VerifierPage() -> impl IntoView {
    let lang = use_lang();
    let sign_in = ServerAction::<CounterSignIn>::new();
    let sign_out = ServerAction::<CounterSignOut>::new();
    let me = Resource::new(move || (sign_in.version().get(), sign_out.version().get()), |_| counter_me());
    let sign_in_error = move || sign_in.value().get().and_then(Result::err).map(|e| e.message(lang));
    view! {
        <h1>{t(T::Verifier)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(counter)) => view! {
                        <section class="panel">
                            <p data-testid="counter-name">{t(T::CounterSignedIn)} " " <strong>{counter.label()}</strong></p>
                            <ActionForm action=sign_out><button type="submit" class="secondary small">{t(T::SignOut)}</button></ActionForm>
                        </section>
                        <VerifyForm />
                    }
                    .into_any(),
                    Ok(None) => view! {
                        <section class="panel narrow">
                            <h2>{t(T::CounterSignIn)}</h2>
                            <ActionForm action=sign_in>
                                <label>{t(T::UserName)}<input type="text" name="username" autocomplete="username" required maxlength="64" /></label>
                                <label>{t(T::Password)}<input type="password" name="password" autocomplete="current-password" required maxlength="128" /></label>
                                <p class="error" role="alert">{sign_in_error}</p>
                                <button type="submit">{t(T::SignIn)}</button>
                            </ActionForm>
                        </section>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn VerifyForm() -> impl IntoView {
    let lang = use_lang();
    let verify = ServerAction::<CounterVerify>::new();
    let input = NodeRef::<leptos::html::Input>::new();
    // Ready for the next code: clear and focus the field after each answer.
    Effect::new(move |_| {
        if verify.version().get() > 0
            && let Some(el) = input.get()
        {
            el.set_value("");
            let _ = el.focus();
        }
    });
    let result = move || {
        verify.value().get().map(|r| match r {
            Ok(v) => view! { <VerifiedCard v /> }.into_any(),
            Err(AppError::Domain(ecert_core::DomainError::PresentationInvalid)) => {
                view! { <p class="error big" role="alert" data-testid="verify-invalid">{t(T::CheckInvalid)}</p> }
                    .into_any()
            }
            Err(e) => {
                view! { <p class="error" role="alert" data-testid="verify-error">{e.message(lang)}</p> }.into_any()
            }
        })
    };
    view! {
        <section class="panel">
            <ActionForm action=verify attr:class="stack">
                <label>{t(T::VerifyCode)}
                    <input node_ref=input type="text" name="code" inputmode="numeric" autocomplete="off" autofocus required maxlength="40" />
                </label>
                <p class="hint">{t(T::VerifyCodeHint)}</p>
                <button type="submit" disabled=move || verify.pending().get()>{t(T::VerifyButton)}</button>
            </ActionForm>
        </section>
        {result}
    }
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
    let (grants, set_grants) = signal(Vec::<ecert_core::holder::GrantView>::new());
    let (grant, set_grant) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let (shown, set_shown) = signal(None::<PresentView>);
    let (error, set_error) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let (now, set_now) = signal(0_i64);

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
                if let Ok(sig) = device::sign(&c.slot, action::STATUS, &c.device_id).await
                    && let Ok(me) = crate::wallet::wallet_status(c.device_id.clone(), sig).await
                {
                    let live: Vec<_> = me.grants.into_iter().filter(|g| g.effective).collect();
                    if let Some(first) = live.first() {
                        set_grant.set(first.id.clone());
                    }
                    set_grants.set(live);
                }
            });
        }
    });
    // The countdown ticks once a second while the page is open.
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

    let present = move || {
        let Some(c) = card.get_untracked() else { return };
        set_busy.set(true);
        set_error.set(None);
        spawn_local(async move {
            #[cfg(feature = "hydrate")]
            let signed_at = js_sys::Date::now() as i64;
            #[cfg(not(feature = "hydrate"))]
            let signed_at = 0_i64;
            let subject = ecert_core::device::timed_subject(&c.device_id, signed_at);
            let result = match device::sign(&c.slot, action::PRESENT, &subject).await {
                Ok(sig) => {
                    let g = Some(grant.get_untracked()).filter(|g| !g.is_empty());
                    wallet_present(c.device_id.clone(), signed_at, sig, password.get_untracked(), g)
                        .await
                        .map_err(|e| e.message(lang))
                }
                Err(e) => Err(format!("{}{e}", T::DeviceError.get(lang))),
            };
            set_busy.set(false);
            match result {
                Ok(v) => set_shown.set(Some(v)),
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
                        <label>{t(T::CertificatePassword)}<input type="password" name="password" autocomplete="current-password" bind:value=(password, set_password) /></label>
                        <button type="submit" disabled=move || busy.get()>{t(T::PresentButton)}</button>
                    </form>
                </Show>
                {move || shown.get().map(|s| {
                    if expired.get() {
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
                })}
            </Show>
        </Show>
        <p class="error" role="alert">{move || error.get()}</p>
    }
}
