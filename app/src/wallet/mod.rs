//! The holder's mobile web wallet and its JSON API (`/api/v1/wallet/*`, documented in
//! `docs/wallet-api.yaml`): claim a certificate or accept a role on this phone (R2, R4), approve
//! or reject a scan login (R11), change the certificate password (R13).
//!
//! Every call that acts for a holder carries the device's signature; the server never sees the
//! private key. Native apps call the same endpoints with JSON.

// `accept` takes the JSON body's keys one by one, and the `#[server]` macro writes functions of
// its own with them, which an item-level allow misses.
#![allow(clippy::too_many_arguments)]

use ecert_core::holder::{Binding, Offer};
use ecert_core::login::LoginPrompt;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;

mod accept;
mod answer;
pub mod approve;
mod card;
pub mod check;
pub mod device;
pub mod grant;
mod login;
pub mod manage;
mod picker;
pub mod present;
pub mod sign;

pub use accept::AcceptPage;
pub use login::LoginApprovePage;

use self::card::CardItem;
use self::device::Card;
use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

#[cfg(feature = "ssr")]
fn code_kind(kind: &str) -> Result<ecert_core::code::CodeKind, AppError> {
    match kind {
        "claim" => Ok(ecert_core::code::CodeKind::Claim),
        "authorize" => Ok(ecert_core::code::CodeKind::Authorize),
        "redownload" => Ok(ecert_core::code::CodeKind::Redownload),
        _ => Err(ecert_core::DomainError::field("kind", ecert_core::Problem::BadFormat).into()),
    }
}

/// What a claim (`kind` = `claim`), face-to-face (`authorize`) or re-download (`redownload`,
/// R19) code offers, without using it.
#[server(prefix = "/api/v1/wallet", endpoint = "offer", input = Json)]
pub async fn wallet_offer(kind: String, code: String) -> Result<Offer, AppError> {
    let state = crate::state::app_state()?;
    Ok(ecert_core::holder::offer(&state.db, code_kind(&kind)?, &code, ecert_core::Millis::now()).await?)
}

/// Takes up the role a code offers and binds this device's public key (R2, R4); for a
/// re-download code (R19), moves the holder's role to this device, with the code of the SMS
/// [`wallet_redownload_sms`] sent to the holder's registered mobile (`sms_code`, unused otherwise).
#[server(prefix = "/api/v1/wallet", endpoint = "accept", input = Json)]
pub async fn wallet_accept(
    kind: String,
    code: String,
    name: String,
    id_number: String,
    password: String,
    public_key: String,
    signature: String,
    #[server(default)] sms_code: String,
) -> Result<Binding, AppError> {
    let state = crate::state::app_state()?;
    let input = ecert_core::holder::Acceptance {
        name,
        id_number,
        password: ecert_core::secret::Secret::new(password),
        public_key,
        signature,
    };
    let now = ecert_core::Millis::now();
    Ok(match code_kind(&kind)? {
        ecert_core::code::CodeKind::Redownload => {
            ecert_core::holder::accept_redownload(&state.db, &code, &input, &sms_code, now, &state.random).await?
        }
        kind => ecert_core::holder::accept(&state.db, kind, &code, &input, now, &state.random).await?,
    })
}

/// R19: sends the SMS code that moving a role to this phone needs to the holder's registered
/// mobile, for a live re-download code; answers the masked mobile. One a minute, five an hour.
#[server(prefix = "/api/v1/wallet", endpoint = "redownload_sms", input = Json)]
pub async fn wallet_redownload_sms(code: String) -> Result<String, AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::sms::request_redownload(&state.db, &state.sms, &code, now, &state.random).await?)
}

/// R11: the device scanned a login QR; answers which system asks, from where, and the three
/// match codes to pick the PC's from.
#[server(prefix = "/api/v1/wallet", endpoint = "login_scan", input = Json)]
pub async fn wallet_login_scan(code: String, device_id: String, signature: String) -> Result<LoginPrompt, AppError> {
    let state = crate::state::app_state()?;
    let phone = crate::session::client_ip().map(|ip| ip.to_string());
    let now = ecert_core::Millis::now();
    Ok(ecert_core::login::scan(&state.db, &code, &device_id, &signature, phone.as_deref(), now).await?)
}

/// R11: confirms (`approve`, with the certificate password and the match code the holder
/// picked) or rejects a scanned login. A wrong match code ends the request (`MatchCodeWrong`).
#[server(prefix = "/api/v1/wallet", endpoint = "login_answer", input = Json)]
pub async fn wallet_login_answer(
    code: String,
    device_id: String,
    signature: String,
    approve: bool,
    password: Option<String>,
    match_code: Option<String>,
) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let approval = approve.then(|| ecert_core::login::Approval {
        password: ecert_core::secret::Secret::new(password.unwrap_or_default()),
        match_code: match_code.unwrap_or_default(),
    });
    let now = ecert_core::Millis::now();
    Ok(ecert_core::login::answer(&state.db, &code, &device_id, &signature, approval, now, &state.random).await?)
}

/// R13: changes the certificate password of this device, given the old one.
#[server(prefix = "/api/v1/wallet", endpoint = "password", input = Json)]
pub async fn wallet_change_password(
    device_id: String,
    signed_at: i64,
    signature: String,
    old_password: String,
    new_password: String,
) -> Result<(), AppError> {
    use ecert_core::secret::Secret;
    let state = crate::state::app_state()?;
    Ok(ecert_core::device::change_password(
        &state.db,
        &device_id,
        (signed_at, &signature),
        Secret::new(old_password),
        Secret::new(new_password),
        ecert_core::Millis::now(),
        &state.random,
    )
    .await?)
}

/// R13: sends an SMS code to the holder's registered mobile to unlock and reset the password;
/// answers the masked mobile. Rate-limited: one a minute, five an hour.
#[server(prefix = "/api/v1/wallet", endpoint = "sms_request", input = Json)]
pub async fn wallet_sms_request(device_id: String, signed_at: i64, signature: String) -> Result<String, AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let signed = (signed_at, signature.as_str());
    Ok(ecert_core::sms::request_reset(&state.db, &state.sms, &device_id, signed, now, &state.random).await?)
}

/// R13: sets a new certificate password with the SMS code and the holder's ID number, which
/// also unlocks it.
#[server(prefix = "/api/v1/wallet", endpoint = "password_reset", input = Json)]
pub async fn wallet_password_reset(
    device_id: String,
    signed_at: i64,
    signature: String,
    sms_code: String,
    id_number: String,
    new_password: String,
) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let password = ecert_core::secret::Secret::new(new_password);
    let db = &state.db;
    Ok(ecert_core::sms::reset_password(
        db,
        &device_id,
        (signed_at, &signature),
        &sms_code,
        &id_number,
        password,
        now,
        &state.random,
    )
    .await?)
}

/// R7: what the holder of this device may see of itself: its role, status and grants. A device
/// whose binding, role or certificate is no longer valid answers 403 `CardVoid` with the reason
/// (R8, R14, R15, R19), or `Revoked` when its key did not sign. Signed over the device id and
/// the time of signing.
#[server(prefix = "/api/v1/wallet", endpoint = "status", input = Json)]
pub async fn wallet_status(
    device_id: String,
    signed_at: i64,
    signature: String,
) -> Result<ecert_core::holder::HolderView, AppError> {
    use ecert_core::device::{self, action};
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let bound = match device::signed_fresh(&state.db, &device_id, action::STATUS, signed_at, &signature, now).await {
        Err(ecert_core::Error::Domain(ecert_core::DomainError::Revoked)) => {
            let message = device::message(action::STATUS, &device::timed_subject(&device_id, signed_at));
            let reason = device::why_void(&state.db, &device_id, &message, &signature).await?;
            return Err(reason
                .map_or(ecert_core::DomainError::Revoked, |reason| ecert_core::DomainError::CardVoid { reason })
                .into());
        }
        other => other?,
    };
    let caller = ecert_core::holder::caller_of(&state.db, &bound).await?;
    Ok(ecert_core::holder::me(&state.db, &caller, now).await?)
}

/// Issue 16 journey 1: removes the card from this phone. The binding stops at once; the role
/// and grants stay, and a re-download code (R19) brings the certificate back on a phone. Signed
/// over the device id and the time of signing.
#[server(prefix = "/api/v1/wallet", endpoint = "remove_card", input = Json)]
pub async fn wallet_remove_card(device_id: String, signed_at: i64, signature: String) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let signed = (signed_at, signature.as_str());
    Ok(ecert_core::holder::drop_device(&state.db, &device_id, signed, now, &state.random).await?)
}

/// R12: the holder's own usage records (logins, signatures, verified presentations), newest
/// first, a page at a time — also after the certificate was cancelled, deleted or has lapsed.
/// Signed over the device id and the time of signing.
#[server(prefix = "/api/v1/wallet", endpoint = "records", input = Json)]
pub async fn wallet_records(
    device_id: String,
    signed_at: i64,
    signature: String,
    page: i64,
) -> Result<ecert_core::usage::UsagePage, AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let signed = (signed_at, signature.as_str());
    Ok(ecert_core::holder::own_records(&state.db, &device_id, signed, page, now).await?)
}

/// Issue 16 journey 4: the certificate face after the certificate password — the institution as
/// registered now, the certificate's life, the holder's role and grants, the change records it
/// may see (R7). Readable after cancellation, deletion or lapse. Signed `face` over the device
/// id and the time of signing.
#[server(prefix = "/api/v1/wallet", endpoint = "face", input = Json)]
pub async fn wallet_face(
    device_id: String,
    signed_at: i64,
    signature: String,
    password: String,
) -> Result<ecert_core::holder::CertificateFace, AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let password = ecert_core::secret::Secret::new(password);
    let signed = (signed_at, signature.as_str());
    Ok(ecert_core::holder::face(&state.db, &device_id, signed, password, now).await?)
}

/// Issue 14 §1: the holder's live sessions (the manager dashboard, relying parties) with the
/// browser that opened them, and the manager and user roles added lately that it may see (R7).
/// Signed over the device id and the time of signing.
#[server(prefix = "/api/v1/wallet", endpoint = "activity", input = Json)]
pub async fn wallet_activity(
    device_id: String,
    signed_at: i64,
    signature: String,
) -> Result<ecert_core::login::Activity, AppError> {
    use ecert_core::device::{self, action};
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let bound = device::signed_fresh(&state.db, &device_id, action::ACTIVITY, signed_at, &signature, now).await?;
    let caller = ecert_core::holder::caller_of(&state.db, &bound).await?;
    Ok(ecert_core::login::activity(&state.db, &caller, now).await?)
}

/// Issue 14 §1: ends one of the holder's own sessions (`kind` and `handle` of `activity`),
/// signed over the kind, the handle and the time of signing, one a line.
#[server(prefix = "/api/v1/wallet", endpoint = "end_session", input = Json)]
pub async fn wallet_end_session(
    device_id: String,
    kind: String,
    handle: String,
    signed_at: i64,
    signature: String,
) -> Result<(), AppError> {
    use ecert_core::device::{self, action};
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let subject = format!("{kind}\n{handle}");
    let bound =
        device::signed_fresh_over(&state.db, &device_id, action::END_SESSION, &subject, signed_at, &signature, now)
            .await?;
    let caller = ecert_core::holder::caller_of(&state.db, &bound).await?;
    Ok(ecert_core::login::end_own_session(&state.db, &caller, &kind, &handle, now).await?)
}

/// The wallet's home: the certificates this phone holds.
#[component]
pub fn WalletHome() -> impl IntoView {
    let (cards, set_cards) = signal(Vec::<Card>::new());
    let (loaded, set_loaded) = signal(false);
    // A presented number the camera read from a barcode, for the check below the cards.
    let scanned = RwSignal::new(None::<String>);
    provide_context(card::CardsChanged(set_cards));
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
        <Scanner scanned />
        <p class="hint">{t(T::WalletScanHint)}</p>
        <check::CheckOthers cards scanned />
    }
}

/// "Scan" with the camera where the browser allows it. Only links into this wallet are
/// followed; anything else is shown as not an e-certificate code.
#[component]
fn Scanner(scanned: RwSignal<Option<String>>) -> impl IntoView {
    let lang = use_lang();
    let (available, set_available) = signal(false);
    let (active, set_active) = signal(false);
    let (error, set_error) = signal(None::<String>);
    Effect::new(move |_| spawn_local(async move { set_available.set(device::can_scan().await) }));
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
                            device::mark_scanned(&path);
                            let _ = w.location().assign(&path);
                        }
                        #[cfg(not(feature = "hydrate"))]
                        let _ = path;
                    }
                    // Issue 16 §8: another holder's barcode carries their presented number.
                    None if ecert_core::presentation::normalize_number(&text).is_some() => scanned.set(Some(text)),
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
    [
        "/wallet/claim?",
        "/wallet/accept?",
        "/wallet/redownload?",
        "/wallet/grant?",
        "/wallet/login?",
        "/wallet/sign?",
        "/wallet/approve?",
        "/check?",
    ]
    .iter()
    .any(|p| rest.starts_with(p))
    .then(|| rest.to_owned())
}
