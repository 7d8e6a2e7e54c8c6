//! Scan to sign on the phone (issue 4, journey 5): the `/wallet/sign?code=…` page a relying
//! party's QR opens, and its wallet API (`sign_scan`, `sign_confirm`, `sign_reject`, documented in
//! `docs/wallet-api.yaml`). The party's side is the JSON API in `ecert-server` (`docs/signing.md`).

use ecert_core::device::action;
use ecert_core::signing::SignPrompt;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_query_map;

use super::answer::Answer;
use super::device::{self, Card};
use super::picker::CardPicker;
use crate::error::AppError;
use crate::i18n::{T, role_text, t, use_lang};

/// The device scanned a sign QR; answers who asks, what for, and the digest to compare.
#[server(prefix = "/api/v1/wallet", endpoint = "sign_scan", input = Json)]
pub async fn wallet_sign_scan(code: String, device_id: String, signature: String) -> Result<SignPrompt, AppError> {
    let state = crate::state::app_state()?;
    Ok(ecert_core::signing::scan(&state.db, &code, &device_id, &signature, ecert_core::Millis::now()).await?)
}

/// Signs a scanned request: `signature` is the device's over `ecert_core::signing::payload`
/// made at `signed_at`, with the certificate password.
#[server(prefix = "/api/v1/wallet", endpoint = "sign_confirm", input = Json)]
pub async fn wallet_sign_confirm(
    code: String,
    device_id: String,
    signed_at: i64,
    signature: String,
    password: String,
) -> Result<(), AppError> {
    use ecert_core::signing::{self, SignConfirm};
    let state = crate::state::app_state()?;
    let request = SignConfirm {
        code: &code,
        device_id: &device_id,
        signed_at,
        signature: &signature,
        password: ecert_core::secret::Secret::new(password),
    };
    let now = ecert_core::Millis::now();
    Ok(signing::confirm(&state.db, request, &state.public_url, now, &state.random).await?)
}

/// Rejects a scanned request.
#[server(prefix = "/api/v1/wallet", endpoint = "sign_reject", input = Json)]
pub async fn wallet_sign_reject(code: String, device_id: String, signature: String) -> Result<(), AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::signing::reject(&state.db, &code, &device_id, &signature, now, &state.random).await?)
}

/// The sign QR opened this page. Pick the certificate, read who asks and what for, compare the
/// digest with the party's page, then sign with the certificate password or reject.
#[component]
pub fn SignPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let state = Answer::<SignPrompt>::default();

    let scan = move |card: Card| {
        let code = code();
        state.pick(card, move |card| async move {
            device::signed_call(lang, device::sign(&card.slot, action::SIGN_SCAN, &code).await, |sig| {
                wallet_sign_scan(code, card.device_id, sig)
            })
            .await
        });
    };
    let answer = move |approve: bool| {
        let code = code();
        state.answer(approve, move |card, p, password| async move {
            if approve {
                let signed_at = device::now_millis();
                let text = ecert_core::signing::payload(&p.request_id, &p.party_id, &p.digest, signed_at);
                device::signed_call(lang, device::sign_text(&card.slot, &text).await, |sig| {
                    wallet_sign_confirm(code, card.device_id, signed_at, sig, password)
                })
                .await
            } else {
                device::signed_call(lang, device::sign(&card.slot, action::SIGN_REJECT, &code).await, |sig| {
                    wallet_sign_reject(code, card.device_id, sig)
                })
                .await
            }
        });
    };

    view! {
        <h1>{t(T::SignTitle)}</h1>
        <CardPicker choose=T::ChooseSignCertificate warning=T::LinkWarningSign done=Signal::derive(move || state.prompt.get().is_some()) pick=scan />
        {move || state.prompt.get().map(|p| {
            let expires = ecert_core::time::format_cst(ecert_core::Millis(p.expires_at));
            view! {
                <section class="panel">
                    <p>{t(T::SignAsks)}</p>
                    <p class="system" data-testid="sign-party">{p.party_name.clone()}</p>
                    <dl class="offer">
                        <dt>{t(T::SignDescription)}</dt><dd data-testid="sign-description">{p.description.clone()}</dd>
                        {p.document_name.clone().map(|name| view! {
                            <dt>{t(T::DocumentName)}</dt><dd data-testid="sign-document">{name}</dd>
                        })}
                        <dt>{t(T::DocumentDigest)}</dt>
                        <dd><code class="digest" data-testid="sign-digest">{p.digest_hex.clone()}</code></dd>
                        <dt>{t(T::SignAs)}</dt><dd>{p.institution_name.clone()} " · " {role_text(p.role, lang)}</dd>
                        <dt>{t(T::ValidUntil)}</dt><dd>{expires} " (CST)"</dd>
                    </dl>
                    <p class="hint">{t(T::DigestCompare)}</p>
                    {state.controls(T::ConfirmSign, T::RejectSign, answer)}
                </section>
            }
        })}
        {state.ending("sign-outcome", T::SignDone, T::SignRejected)}
    }
}
