//! The holder's mobile web wallet and its JSON API (`/api/v1/wallet/*`, documented in
//! `docs/wallet-api.yaml`): claim a certificate or accept a role on this phone (R2, R4), approve
//! or reject a scan login (R11), change the certificate password (R13).
//!
//! Every call that acts for a holder carries the device's signature; the server never sees the
//! private key. Native apps call the same endpoints with JSON.

use ecert_core::device::action;
use ecert_core::holder::{Binding, Offer};
use ecert_core::login::LoginPrompt;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use crate::device::{self, Card};
use crate::error::AppError;
use crate::i18n::{T, role_text, t, usage_kind_text, use_lang};

#[cfg(feature = "ssr")]
fn code_kind(kind: &str) -> Result<ecert_core::code::CodeKind, AppError> {
    match kind {
        "claim" => Ok(ecert_core::code::CodeKind::Claim),
        "authorize" => Ok(ecert_core::code::CodeKind::Authorize),
        _ => Err(ecert_core::DomainError::field("kind", ecert_core::Problem::BadFormat).into()),
    }
}

/// What a claim (`kind` = `claim`) or face-to-face (`authorize`) code offers, without using it.
#[server(prefix = "/api/v1/wallet", endpoint = "offer", input = Json)]
pub async fn wallet_offer(kind: String, code: String) -> Result<Offer, AppError> {
    let state = crate::state::app_state();
    Ok(ecert_core::holder::offer(&state.db, code_kind(&kind)?, &code, ecert_core::Millis::now()).await?)
}

/// Takes up the role a code offers and binds this device's public key (R2, R4).
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api/v1/wallet", endpoint = "accept", input = Json)]
pub async fn wallet_accept(
    kind: String,
    code: String,
    name: String,
    id_number: String,
    password: String,
    public_key: String,
    signature: String,
) -> Result<Binding, AppError> {
    let state = crate::state::app_state();
    let input = ecert_core::holder::Acceptance {
        name,
        id_number,
        password: ecert_core::secret::Secret::new(password),
        public_key,
        signature,
    };
    let now = ecert_core::Millis::now();
    Ok(ecert_core::holder::accept(&state.db, code_kind(&kind)?, &code, &input, now, &state.random).await?)
}

/// R11: the device scanned a login QR; answers which system asks and the match code.
#[server(prefix = "/api/v1/wallet", endpoint = "login_scan", input = Json)]
pub async fn wallet_login_scan(code: String, device_id: String, signature: String) -> Result<LoginPrompt, AppError> {
    let state = crate::state::app_state();
    Ok(ecert_core::login::scan(&state.db, &code, &device_id, &signature, ecert_core::Millis::now()).await?)
}

/// R11: confirms (`approve`, with the certificate password) or rejects a scanned login.
#[server(prefix = "/api/v1/wallet", endpoint = "login_answer", input = Json)]
pub async fn wallet_login_answer(
    code: String,
    device_id: String,
    signature: String,
    approve: bool,
    password: Option<String>,
) -> Result<(), AppError> {
    let state = crate::state::app_state();
    let password = approve.then(|| ecert_core::secret::Secret::new(password.unwrap_or_default()));
    let now = ecert_core::Millis::now();
    Ok(ecert_core::login::answer(&state.db, &code, &device_id, &signature, password, now, &state.random).await?)
}

/// R13: changes the certificate password of this device, given the old one.
#[server(prefix = "/api/v1/wallet", endpoint = "password", input = Json)]
pub async fn wallet_change_password(
    device_id: String,
    signature: String,
    old_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use ecert_core::secret::Secret;
    let state = crate::state::app_state();
    Ok(ecert_core::device::change_password(
        &state.db,
        &device_id,
        &signature,
        Secret::new(old_password),
        Secret::new(new_password),
        &state.random,
    )
    .await?)
}

/// R13: sends an SMS code to the holder's registered mobile to unlock and reset the password;
/// answers the masked mobile. Rate-limited: one a minute, five an hour.
#[server(prefix = "/api/v1/wallet", endpoint = "sms_request", input = Json)]
pub async fn wallet_sms_request(device_id: String, signature: String) -> Result<String, AppError> {
    let state = crate::state::app_state();
    let now = ecert_core::Millis::now();
    Ok(ecert_core::sms::request_reset(&state.db, &state.sms, &device_id, &signature, now, &state.random).await?)
}

/// R13: sets a new certificate password with the SMS code, which also unlocks it.
#[server(prefix = "/api/v1/wallet", endpoint = "password_reset", input = Json)]
pub async fn wallet_password_reset(
    device_id: String,
    signature: String,
    sms_code: String,
    new_password: String,
) -> Result<(), AppError> {
    let state = crate::state::app_state();
    let now = ecert_core::Millis::now();
    let password = ecert_core::secret::Secret::new(new_password);
    Ok(ecert_core::sms::reset_password(&state.db, &device_id, &signature, &sms_code, password, now, &state.random)
        .await?)
}

/// R7: what the holder of this device may see of itself: its role, status and grants. A device
/// whose binding, role or certificate is no longer valid answers 403 `Revoked` (R8, R14, R15).
#[server(prefix = "/api/v1/wallet", endpoint = "status", input = Json)]
pub async fn wallet_status(device_id: String, signature: String) -> Result<ecert_core::holder::HolderView, AppError> {
    use ecert_core::device::{self, action};
    let state = crate::state::app_state();
    let bound = device::signed(&state.db, &device_id, &device::message(action::STATUS, &device_id), &signature).await?;
    let caller = ecert_core::holder::caller_of(&state.db, &bound).await?;
    Ok(ecert_core::holder::me(&state.db, &caller, ecert_core::Millis::now()).await?)
}

/// R12: the holder's own usage records (logins, signatures, verified presentations), newest
/// first, a page at a time. Signed over the device id and the time of signing.
#[server(prefix = "/api/v1/wallet", endpoint = "records", input = Json)]
pub async fn wallet_records(
    device_id: String,
    signed_at: i64,
    signature: String,
    page: i64,
) -> Result<ecert_core::usage::UsagePage, AppError> {
    use ecert_core::device::{self, action};
    let state = crate::state::app_state();
    let now = ecert_core::Millis::now();
    let bound = device::signed_fresh(&state.db, &device_id, action::RECORDS, signed_at, &signature, now).await?;
    let caller = ecert_core::holder::caller_of(&state.db, &bound).await?;
    let filter = ecert_core::usage::UsageFilter { page, ..Default::default() };
    Ok(ecert_core::usage::list_own(&state.db, &caller, &filter).await?)
}

/// The wallet's home: the certificates this phone holds.
#[component]
pub fn WalletHome() -> impl IntoView {
    let (cards, set_cards) = signal(Vec::<Card>::new());
    let (loaded, set_loaded) = signal(false);
    Effect::new(move |_| {
        set_cards.set(device::cards());
        set_loaded.set(true);
    });
    view! {
        <h1>{t(T::Wallet)}</h1>
        <p class="lead">{t(T::WalletDesc)}</p>
        <Show when=move || loaded.get() fallback=|| view! { <p class="hint">{t(T::WalletLoading)}</p> }>
            <Show when=move || !cards.get().is_empty() fallback=|| view! { <p class="notice" data-testid="no-cards">{t(T::WalletEmpty)}</p> }>
                <ul class="cards" data-testid="cards">
                    <For each=move || cards.get() key=|c| c.device_id.clone() let:card>
                        <CardItem card />
                    </For>
                </ul>
            </Show>
        </Show>
        <Scanner />
        <p class="hint">{t(T::WalletScanHint)}</p>
    }
}

/// "Scan" with the camera where the browser allows it. Only links into this wallet are
/// followed; anything else is shown as not an e-certificate code.
#[component]
fn Scanner() -> impl IntoView {
    let lang = use_lang();
    let (available, set_available) = signal(false);
    let (active, set_active) = signal(false);
    let (error, set_error) = signal(None::<String>);
    Effect::new(move |_| set_available.set(device::can_scan()));
    let start = move |_| {
        set_error.set(None);
        set_active.set(true);
        spawn_local(async move {
            let result = device::scan("wallet-camera").await;
            set_active.set(false);
            match result {
                Ok(text) => match wallet_link(&text) {
                    Some(path) => {
                        #[cfg(feature = "hydrate")]
                        if let Some(w) = web_sys::window() {
                            let _ = w.location().assign(&path);
                        }
                        #[cfg(not(feature = "hydrate"))]
                        let _ = path;
                    }
                    None => set_error.set(Some(T::NotOurCode.get(lang).to_owned())),
                },
                Err(e) if e == "stopped" => {}
                Err(e) => set_error.set(Some(format!("{}{e}", T::CameraError.get(lang)))),
            }
        });
    };
    view! {
        <Show when=move || available.get()>
            <section class="panel scanner">
                <Show when=move || !active.get() fallback=move || view! {
                    <button type="button" class="secondary" on:click=move |_| device::stop_scan()>{t(T::StopScan)}</button>
                }>
                    <button type="button" on:click=start>{t(T::ScanQr)}</button>
                </Show>
                <video id="wallet-camera" class:hidden=move || !active.get() playsinline muted></video>
                <p class="error" role="alert">{move || error.get()}</p>
            </section>
        </Show>
    }
}

/// The path of a scanned link if it leads into this wallet (claim, accept, scan login or sign) on this
/// site; `None` for anything else.
fn wallet_link(text: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    #[cfg(not(feature = "hydrate"))]
    let origin = String::new();
    let rest = text.trim().strip_prefix(&origin)?;
    ["/wallet/claim?", "/wallet/accept?", "/wallet/login?", "/wallet/sign?", "/check?"]
        .iter()
        .any(|p| rest.starts_with(p))
        .then(|| rest.to_owned())
}

#[component]
fn CardItem(card: Card) -> impl IntoView {
    let lang = use_lang();
    let (open, set_open) = signal(false);
    let (old, set_old) = signal(String::new());
    let (new, set_new) = signal(String::new());
    let (message, set_message) = signal(None::<(bool, String)>);
    let (status, set_status) = signal(None::<Result<ecert_core::holder::HolderView, String>>);
    {
        let (slot, device_id) = (card.slot.clone(), card.device_id.clone());
        Effect::new(move |_| {
            let (slot, device_id) = (slot.clone(), device_id.clone());
            spawn_local(async move {
                let result = match device::sign(&slot, action::STATUS, &device_id).await {
                    Ok(sig) => wallet_status(device_id, sig).await.map_err(|e| e.message(lang)),
                    Err(e) => Err(format!("{}{e}", T::DeviceError.get(lang))),
                };
                set_status.set(Some(result));
            });
        });
    }
    let (records, set_records) = signal(None::<Result<ecert_core::usage::UsagePage, String>>);
    let (slot4, device_id4) = (card.slot.clone(), card.device_id.clone());
    let load_records = move |_| {
        let (slot, device_id) = (slot4.clone(), device_id4.clone());
        spawn_local(async move {
            #[cfg(feature = "hydrate")]
            let signed_at = js_sys::Date::now() as i64;
            #[cfg(not(feature = "hydrate"))]
            let signed_at = 0_i64;
            let subject = ecert_core::device::timed_subject(&device_id, signed_at);
            let result = match device::sign(&slot, action::RECORDS, &subject).await {
                Ok(sig) => wallet_records(device_id, signed_at, sig, 0).await.map_err(|e| e.message(lang)),
                Err(e) => Err(format!("{}{e}", T::DeviceError.get(lang))),
            };
            set_records.set(Some(result));
        });
    };
    let (reset_open, set_reset_open) = signal(false);
    let (sms_code, set_sms_code) = signal(String::new());
    let (reset_pw, set_reset_pw) = signal(String::new());
    let slot = card.slot.clone();
    let device_id = card.device_id.clone();
    let (slot2, device_id2) = (card.slot.clone(), card.device_id.clone());
    let send_sms = move |_| {
        let (slot, device_id) = (slot2.clone(), device_id2.clone());
        spawn_local(async move {
            let result = match device::sign(&slot, action::SMS_REQUEST, &device_id).await {
                Ok(sig) => wallet_sms_request(device_id, sig).await.map_err(|e| e.message(lang)),
                Err(e) => Err(format!("{}{e}", T::DeviceError.get(lang))),
            };
            set_message.set(Some(match result {
                Ok(mobile) => (true, format!("{}{mobile}", T::SmsSent.get(lang))),
                Err(e) => (false, e),
            }));
        });
    };
    let (slot3, device_id3) = (card.slot.clone(), card.device_id.clone());
    let reset = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (slot, device_id) = (slot3.clone(), device_id3.clone());
        spawn_local(async move {
            let result = match device::sign(&slot, action::PASSWORD_RESET, &device_id).await {
                Ok(sig) => wallet_password_reset(device_id, sig, sms_code.get_untracked(), reset_pw.get_untracked())
                    .await
                    .map_err(|e| e.message(lang)),
                Err(e) => Err(format!("{}{e}", T::DeviceError.get(lang))),
            };
            set_message.set(Some(match result {
                Ok(()) => (true, T::PasswordReset.get(lang).to_owned()),
                Err(e) => (false, e),
            }));
        });
    };
    let change = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (slot, device_id) = (slot.clone(), device_id.clone());
        spawn_local(async move {
            let result = match device::sign(&slot, action::PASSWORD_CHANGE, &device_id).await {
                Ok(sig) => wallet_change_password(device_id, sig, old.get_untracked(), new.get_untracked())
                    .await
                    .map_err(|e| e.message(lang)),
                Err(e) => Err(format!("{}{e}", T::DeviceError.get(lang))),
            };
            set_message.set(Some(match result {
                Ok(()) => (true, T::PasswordChanged.get(lang).to_owned()),
                Err(e) => (false, e),
            }));
        });
    };
    view! {
        <li class="card">
            <strong>{card.institution_name.clone()}</strong>
            <span class="role">{role_text(card.role, lang)}</span>
            <span class="muted">{card.holder_name.clone()} " · " <code>{card.serial.clone()}</code></span>
            {move || status.get().map(|s| match s {
                Ok(me) => {
                    let grants = me.grants.into_iter().filter(|g| g.status == ecert_core::holder::GrantStatus::Active).map(|g| {
                        let names: Vec<String> = g.matters.iter().map(|m| lang.pick(&m.name_zh, &m.name_en).to_owned()).collect();
                        let state = if g.effective { T::GrantEffective } else { T::GrantNotEffective };
                        view! { <li>{names.join("、")} " · " {g.start_day} " ~ " {g.end_day} " · " {t(state)}</li> }
                    }).collect_view();
                    view! { <ul class="grants" data-testid="card-grants">{grants}</ul> }.into_any()
                }
                Err(e) => view! { <p class="error" data-testid="card-status">{e}</p> }.into_any(),
            })}
            <a class="button small" href=format!("/wallet/present?device={}", card.device_id) data-testid="present-button">{t(T::ShowCertificate)}</a>
            <button type="button" class="small secondary" on:click=load_records>{t(T::UsageRecords)}</button>
            {move || records.get().map(|r| match r {
                Ok(p) if p.items.is_empty() => view! { <p class="muted" data-testid="card-records">{t(T::NoRecords)}</p> }.into_any(),
                Ok(p) => view! {
                    <ul class="records" data-testid="card-records">
                        {p.items.into_iter().map(|r| view! {
                            <li>{ecert_core::time::format_cst(ecert_core::Millis(r.at))} " · " {usage_kind_text(Some(r.kind), lang)} " · "
                                {if r.system == "public" { T::PublicCheck.get(lang).to_owned() } else if r.system == ecert_core::login::DASHBOARD { T::ManagerDashboard.get(lang).to_owned() } else { r.system }}</li>
                        }).collect_view()}
                    </ul>
                }
                .into_any(),
                Err(e) => view! { <p class="error" data-testid="card-records">{e}</p> }.into_any(),
            })}
            <button type="button" class="small secondary" on:click=move |_| set_open.update(|o| *o = !*o)>
                {t(T::ChangePassword)}
            </button>
            <button type="button" class="small secondary" on:click=move |_| set_reset_open.update(|o| *o = !*o)>
                {t(T::ForgotPassword)}
            </button>
            <Show when=move || reset_open.get()>
                <div class="stack">
                    <button type="button" class="small" on:click=send_sms.clone()>{t(T::SendSmsCode)}</button>
                    <form class="stack" on:submit=reset.clone()>
                        <label>{t(T::SmsCode)}<input inputmode="numeric" maxlength="6" autocomplete="one-time-code" bind:value=(sms_code, set_sms_code) /></label>
                        <label>{t(T::NewPassword)}<input type="password" autocomplete="new-password" bind:value=(reset_pw, set_reset_pw) /></label>
                        <button type="submit">{t(T::ResetPassword)}</button>
                    </form>
                </div>
            </Show>
            <Show when=move || open.get()>
                <form class="stack" on:submit=change.clone()>
                    <label>{t(T::OldPassword)}<input type="password" bind:value=(old, set_old) autocomplete="current-password" /></label>
                    <label>{t(T::NewPassword)}<input type="password" bind:value=(new, set_new) autocomplete="new-password" /></label>
                    <button type="submit">{t(T::Save)}</button>
                </form>
            </Show>
            {move || message.get().map(|(ok, m)| view! { <p class=if ok { "ok" } else { "error" } role="alert" data-testid="card-message">{m}</p> })}
        </li>
    }
}

/// Claim (`kind` = `claim`, the first manager, R2) or accept (`authorize`, a manager or user,
/// R4) on this phone: confirm name and ID, accept the statement, set the certificate password.
#[component]
pub fn AcceptPage(kind: &'static str) -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let offer = Resource::new(code, move |c| wallet_offer(kind.to_owned(), c));
    let (name, set_name) = signal(String::new());
    let (id_number, set_id_number) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let (password2, set_password2) = signal(String::new());
    let (agreed, set_agreed) = signal(false);
    let (busy, set_busy) = signal(false);
    let (error, set_error) = signal(None::<String>);
    let (done, set_done) = signal(None::<Binding>);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if !agreed.get_untracked() {
            set_error.set(Some(T::MustAgree.get(lang).to_owned()));
            return;
        }
        if password.get_untracked() != password2.get_untracked() {
            set_error.set(Some(T::PasswordsDiffer.get(lang).to_owned()));
            return;
        }
        if !device::supported() {
            set_error.set(Some(T::DeviceUnsupported.get(lang).to_owned()));
            return;
        }
        set_busy.set(true);
        set_error.set(None);
        let code = code();
        spawn_local(async move {
            let act = if kind == "claim" { action::CLAIM } else { action::ACCEPT };
            let result = async {
                let (slot, public_key) =
                    device::create_key().await.map_err(|e| format!("{}{e}", T::DeviceError.get(lang)))?;
                let signature = match device::sign(&slot, act, &code).await {
                    Ok(s) => s,
                    Err(e) => {
                        device::delete_key(&slot).await;
                        return Err(format!("{}{e}", T::DeviceError.get(lang)));
                    }
                };
                let accepted = wallet_accept(
                    kind.to_owned(),
                    code.clone(),
                    name.get_untracked(),
                    id_number.get_untracked(),
                    password.get_untracked(),
                    public_key,
                    signature,
                )
                .await;
                match accepted {
                    Ok(b) => {
                        device::save_card(Card {
                            slot,
                            device_id: b.device_id.clone(),
                            certificate_id: b.certificate_id.clone(),
                            role: b.role,
                            institution_name: b.institution_name.clone(),
                            credit_code: b.credit_code.clone(),
                            serial: b.serial.clone(),
                            holder_name: b.holder_name.clone(),
                        });
                        Ok(b)
                    }
                    Err(e) => {
                        device::delete_key(&slot).await;
                        Err(e.message(lang))
                    }
                }
            }
            .await;
            set_busy.set(false);
            match result {
                Ok(b) => set_done.set(Some(b)),
                Err(e) => set_error.set(Some(e)),
            }
        });
    };

    let title = if kind == "claim" { T::ClaimTitle } else { T::AcceptTitle };
    view! {
        <h1>{t(title)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match offer.await {
                    Err(e) => view! { <p class="error" role="alert" data-testid="offer-error">{e.message(lang)}</p> }.into_any(),
                    Ok(o) => {
                        let expires = ecert_core::time::format_cst(ecert_core::Millis(o.expires_at));
                        view! {
                            <dl class="offer">
                                <dt>{t(T::InstitutionName)}</dt><dd data-testid="offer-institution">{o.institution_name}</dd>
                                <dt>{t(T::CreditCode)}</dt><dd><code>{o.credit_code}</code></dd>
                                <dt>{t(T::Role)}</dt><dd>{role_text(o.role, lang)}</dd>
                                <dt>{t(T::Holder)}</dt><dd>{o.holder_name}</dd>
                                <dt>{t(T::ValidUntil)}</dt><dd>{expires} " (CST)"</dd>
                            </dl>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
        <Show
            when=move || done.get().is_none()
            fallback=move || view! {
                <p class="ok" role="status" data-testid="accepted">{t(T::AcceptDone)}</p>
                <p><a href="/wallet">{t(T::GoToWallet)}</a></p>
            }
        >
            <form class="stack panel" on:submit=submit>
                <label>{t(T::PersonName)}<input name="name" required maxlength="30" bind:value=(name, set_name) /></label>
                <label>{t(T::IdNumber)}<input name="id_number" required maxlength="18" autocomplete="off" bind:value=(id_number, set_id_number) /></label>
                <label>{t(T::CertificatePassword)}<input name="password" type="password" required minlength="6" maxlength="64" autocomplete="new-password" bind:value=(password, set_password) /></label>
                <label>{t(T::RepeatPassword)}<input name="password2" type="password" required autocomplete="new-password" bind:value=(password2, set_password2) /></label>
                <p class="statement">{t(T::DownloadStatement)}</p>
                <label class="inline"><input type="checkbox" name="agree" bind:checked=(agreed, set_agreed) />{t(T::AgreeStatement)}</label>
                <p class="error" role="alert">{move || error.get()}</p>
                <button type="submit" disabled=move || busy.get()>{t(if kind == "claim" { T::ClaimButton } else { T::AcceptButton })}</button>
            </form>
        </Show>
    }
}

/// R11 on the phone: the login QR opened this page. Pick the certificate, compare the match code
/// with the PC, then confirm with the certificate password or reject.
#[component]
pub fn LoginApprovePage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let (cards, set_cards) = signal(Vec::<Card>::new());
    let (loaded, set_loaded) = signal(false);
    let (chosen, set_chosen) = signal(None::<Card>);
    let (prompt, set_prompt) = signal(None::<LoginPrompt>);
    let (password, set_password) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let (outcome, set_outcome) = signal(None::<bool>);
    let (busy, set_busy) = signal(false);

    let scan = move |card: Card| {
        set_chosen.set(Some(card.clone()));
        set_error.set(None);
        let code = code();
        spawn_local(async move {
            let result = match device::sign(&card.slot, action::LOGIN_SCAN, &code).await {
                Ok(sig) => wallet_login_scan(code, card.device_id.clone(), sig).await.map_err(|e| e.message(lang)),
                Err(e) => Err(format!("{}{e}", T::DeviceError.get(lang))),
            };
            match result {
                Ok(p) => set_prompt.set(Some(p)),
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        let all = device::cards();
        if all.len() == 1 {
            scan(all[0].clone());
        }
        set_cards.set(all);
        set_loaded.set(true);
    });
    let answer = move |approve: bool| {
        let Some(card) = chosen.get_untracked() else { return };
        let code = code();
        set_busy.set(true);
        spawn_local(async move {
            let act = if approve { action::LOGIN_APPROVE } else { action::LOGIN_REJECT };
            let result = match device::sign(&card.slot, act, &code).await {
                Ok(sig) => {
                    let pw = approve.then(|| password.get_untracked());
                    wallet_login_answer(code, card.device_id.clone(), sig, approve, pw)
                        .await
                        .map_err(|e| e.message(lang))
                }
                Err(e) => Err(format!("{}{e}", T::DeviceError.get(lang))),
            };
            set_busy.set(false);
            match result {
                Ok(()) => set_outcome.set(Some(approve)),
                Err(e) => set_error.set(Some(e)),
            }
        });
    };

    view! {
        <h1>{t(T::ScanLoginTitle)}</h1>
        <Show when=move || loaded.get() fallback=|| view! { <p class="hint">{t(T::WalletLoading)}</p> }>
            <Show when=move || !cards.get().is_empty() fallback=|| view! { <p class="notice">{t(T::WalletEmpty)}</p> }>
                <Show when=move || { prompt.get().is_none() && cards.get().len() > 1 }>
                    <p>{t(T::ChooseCertificate)}</p>
                    <ul class="cards">
                        <For each=move || cards.get() key=|c| c.device_id.clone() let:card>
                            <li class="card">
                                <button type="button" on:click={
                                    let card = card.clone();
                                    move |_| scan(card.clone())
                                }>{card.institution_name.clone()} " · " {role_text(card.role, lang)}</button>
                            </li>
                        </For>
                    </ul>
                </Show>
            </Show>
        </Show>
        {move || prompt.get().map(|p| {
            let system = if p.system == ecert_core::login::DASHBOARD { T::ManagerDashboard.get(lang).to_owned() } else { p.system.clone() };
            view! {
                <section class="panel">
                    <p>{t(T::LoginAsks)}</p>
                    <p class="system" data-testid="login-system">{system}</p>
                    <dl class="offer">
                        <dt>{t(T::InstitutionName)}</dt><dd>{p.institution_name.clone()}</dd>
                        <dt>{t(T::Role)}</dt><dd>{role_text(p.role, lang)}</dd>
                    </dl>
                    <p>{t(T::MatchCodeCompare)}</p>
                    <p class="match-code" data-testid="match-code">{p.match_code.clone()}</p>
                    <Show when=move || outcome.get().is_none()>
                        <label>{t(T::CertificatePassword)}<input type="password" name="password" autocomplete="current-password" bind:value=(password, set_password) /></label>
                        <div class="row">
                            <button type="button" disabled=move || busy.get() on:click=move |_| answer(true)>{t(T::ConfirmLogin)}</button>
                            <button type="button" class="secondary" disabled=move || busy.get() on:click=move |_| answer(false)>{t(T::RejectLogin)}</button>
                        </div>
                    </Show>
                </section>
            }
        })}
        {move || outcome.get().map(|ok| view! {
            <p class=if ok { "ok" } else { "notice" } role="status" data-testid="login-outcome">
                {t(if ok { T::LoginConfirmed } else { T::LoginRejected })}
            </p>
        })}
        <p class="error" role="alert">{move || error.get()}</p>
    }
}
