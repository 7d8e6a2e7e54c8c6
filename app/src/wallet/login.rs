//! Scan login on the phone (R11): the login QR opened this page; pick the certificate, compare
//! the match code with the PC, then confirm with the certificate password or reject.

use ecert_core::device::action;
use ecert_core::login::LoginPrompt;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use super::device::{self, Card};
use super::picker::CardPicker;
use super::{wallet_login_answer, wallet_login_scan};
use crate::i18n::{T, role_text, t, use_lang};

/// R11 on the phone: the login QR opened this page. Pick the certificate, compare the match code
/// with the PC, then confirm with the certificate password or reject.
#[component]
pub fn LoginApprovePage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
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
            let result = device::signed_call(lang, device::sign(&card.slot, action::LOGIN_SCAN, &code).await, |sig| {
                wallet_login_scan(code, card.device_id.clone(), sig)
            })
            .await;
            match result {
                Ok(p) => set_prompt.set(Some(p)),
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    let answer = move |approve: bool| {
        let Some(card) = chosen.get_untracked() else { return };
        let code = code();
        set_busy.set(true);
        spawn_local(async move {
            let act = if approve { action::LOGIN_APPROVE } else { action::LOGIN_REJECT };
            let result = device::signed_call(lang, device::sign(&card.slot, act, &code).await, |sig| {
                let pw = approve.then(|| password.get_untracked());
                wallet_login_answer(code, card.device_id.clone(), sig, approve, pw)
            })
            .await;
            set_busy.set(false);
            match result {
                Ok(()) => set_outcome.set(Some(approve)),
                Err(e) => set_error.set(Some(e)),
            }
        });
    };

    view! {
        <h1>{t(T::ScanLoginTitle)}</h1>
        <CardPicker choose=T::ChooseCertificate done=Signal::derive(move || prompt.get().is_some()) pick=scan />
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
