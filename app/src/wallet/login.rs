//! Scan login on the phone (R11): the login QR opened this page; pick the certificate, compare
//! the match code with the PC, then confirm with the certificate password or reject.

use ecert_core::device::action;
use ecert_core::login::LoginPrompt;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::answer::Answer;
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
    let state = Answer::<LoginPrompt>::default();

    let scan = move |card: Card| {
        let code = code();
        state.pick(card, move |card| async move {
            device::signed_call(lang, device::sign(&card.slot, action::LOGIN_SCAN, &code).await, |sig| {
                wallet_login_scan(code, card.device_id, sig)
            })
            .await
        });
    };
    let answer = move |approve: bool| {
        let code = code();
        state.answer(approve, move |card, _, password| async move {
            let act = if approve { action::LOGIN_APPROVE } else { action::LOGIN_REJECT };
            device::signed_call(lang, device::sign(&card.slot, act, &code).await, |sig| {
                wallet_login_answer(code, card.device_id, sig, approve, approve.then_some(password))
            })
            .await
        });
    };

    view! {
        <h1>{t(T::ScanLoginTitle)}</h1>
        <CardPicker choose=T::ChooseCertificate done=Signal::derive(move || state.prompt.get().is_some()) pick=scan />
        {move || state.prompt.get().map(|p| {
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
                    {state.controls(T::ConfirmLogin, T::RejectLogin, answer)}
                </section>
            }
        })}
        {state.ending("login-outcome", T::LoginConfirmed, T::LoginRejected)}
    }
}
