//! Scan login on the phone (R11): the login QR opened this page. After the link warning (issue
//! 14 §1), pick the certificate; read who asks and from where; tap the match code the PC shows
//! among three; then confirm with the certificate password or reject. A wrong code ends the
//! login on the server.

use ecert_core::device::action;
use ecert_core::login::LoginPrompt;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::answer::Answer;
use super::device::{self, Card};
use super::picker::{CardPicker, MatchChoices};
use super::{wallet_login_answer, wallet_login_scan};
use crate::i18n::{T, role_text, t, use_lang};

/// R11 on the phone: the login QR opened this page. Pick the certificate, tap the PC's match
/// code, then confirm with the certificate password or reject.
#[component]
pub fn LoginApprovePage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let state = Answer::<LoginPrompt>::default();
    let picked = RwSignal::new(None::<String>);

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
        let match_code = picked.get_untracked();
        state.answer(approve, move |card, _, password| async move {
            let act = if approve { action::LOGIN_APPROVE } else { action::LOGIN_REJECT };
            device::signed_call(lang, device::sign(&card.slot, act, &code).await, |sig| {
                wallet_login_answer(code, card.device_id, sig, approve, approve.then_some(password), match_code)
            })
            .await
        });
    };

    view! {
        <h1>{t(T::ScanLoginTitle)}</h1>
        <CardPicker choose=T::ChooseCertificate warning=T::LinkWarningLogin done=Signal::derive(move || state.prompt.get().is_some()) pick=scan />
        {move || state.prompt.get().map(|p| {
            let system = if p.system == ecert_core::login::DASHBOARD { T::ManagerDashboard.get(lang).to_owned() } else { p.system.clone() };
            let asked_at = ecert_core::time::format_cst(ecert_core::Millis(p.requested_at));
            view! {
                <section class="panel">
                    <p>{t(T::LoginAsks)}</p>
                    <p class="system" data-testid="login-system">{system}</p>
                    <dl class="offer">
                        {p.party_domain.clone().map(|d| view! {
                            <dt>{t(T::PartyDomain)}</dt><dd data-testid="login-domain">{d}</dd>
                        })}
                        <dt>{t(T::InstitutionName)}</dt><dd>{p.institution_name.clone()}</dd>
                        <dt>{t(T::Role)}</dt><dd>{role_text(p.role, lang)}</dd>
                        {p.requested_from.clone().map(|ip| view! {
                            <dt>{t(T::RequestedFrom)}</dt><dd data-testid="login-from">{ip}</dd>
                        })}
                        {p.requested_with.clone().map(|b| view! {
                            <dt>{t(T::RequestedWith)}</dt><dd data-testid="login-browser">{b}</dd>
                        })}
                        <dt>{t(T::RequestedAt)}</dt><dd>{asked_at} " (CST)"</dd>
                    </dl>
                    {p.network_differs.then(|| view! {
                        <p class="warning" role="alert" data-testid="login-network-differs">{t(T::NetworkDiffers)}</p>
                    })}
                    <MatchChoices choices=p.match_choices.clone() picked compare=T::MatchCodeCompare />
                    {state.controls(T::ConfirmLogin, T::RejectLogin, answer)}
                </section>
            }
        })}
        {state.ending("login-outcome", T::LoginConfirmed, T::LoginRejected)}
    }
}
