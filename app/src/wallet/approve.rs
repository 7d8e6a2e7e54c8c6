//! Approving a dashboard write on the phone (issue 14 §1): the `/wallet/approve?code=…` page the
//! dashboard's approval QR opens, and its wallet API (`approval_scan`, `approval_answer`,
//! documented in `docs/wallet-api.yaml`). Only the phone of the holder signed in to that
//! dashboard can open the request; it shows what the dashboard asks to do and approves it with
//! the certificate password and a signature over the action's digest.

use ecert_core::device::action;
use ecert_core::login::approval::{ApprovalPrompt, approve_subject};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_query_map;

use super::answer::Answer;
use super::device::{self, Card};
use super::picker::{CardPicker, MatchChoices};
use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

/// The device scanned an approval QR; answers what the dashboard asks to do.
#[server(prefix = "/api/v1/wallet", endpoint = "approval_scan", input = Json)]
pub async fn wallet_approval_scan(
    code: String,
    device_id: String,
    signature: String,
) -> Result<ApprovalPrompt, AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let phone = crate::session::client_ip().map(|ip| ip.to_string());
    Ok(ecert_core::login::approval::scan(&state.db, &code, &device_id, &signature, phone.as_deref(), now).await?)
}

/// Approves (`approve`, with the certificate password; signed `approval-approve`) or rejects
/// (signed `approval-reject`) a scanned approval, either signed over the code and the digest.
#[server(prefix = "/api/v1/wallet", endpoint = "approval_answer", input = Json)]
pub async fn wallet_approval_answer(
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
    Ok(ecert_core::login::approval::answer(&state.db, &code, &device_id, &signature, approval, now).await?)
}

/// The approval QR opened this page: after the link warning, pick the certificate, read what
/// the dashboard asks to do, then approve with the certificate password or reject.
#[component]
pub fn ApprovePage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let state = Answer::<ApprovalPrompt>::default();
    let picked = RwSignal::new(None::<String>);

    let scan = move |card: Card| {
        let code = code();
        state.pick(card, move |card| async move {
            device::signed_call(lang, device::sign(&card.slot, action::APPROVAL_SCAN, &code).await, |sig| {
                wallet_approval_scan(code, card.device_id, sig)
            })
            .await
        });
    };
    let answer = move |approve: bool| {
        let code = code();
        let match_code = picked.get_untracked();
        state.answer(approve, move |card, p, password| async move {
            let act = if approve { action::APPROVAL_APPROVE } else { action::APPROVAL_REJECT };
            let subject = approve_subject(&code, &p.digest);
            device::signed_call(lang, device::sign(&card.slot, act, &subject).await, |sig| {
                wallet_approval_answer(code, card.device_id, sig, approve, approve.then_some(password), match_code)
            })
            .await
        });
    };

    view! {
        <h1>{t(T::ApproveTitle)}</h1>
        <CardPicker choose=T::ChooseCertificate warning=T::LinkWarningApprove done=Signal::derive(move || state.prompt.get().is_some()) pick=scan />
        {move || state.prompt.get().map(|p| {
            let asked_at = ecert_core::time::format_cst(ecert_core::Millis(p.requested_at));
            view! {
                <section class="panel">
                    <p>{t(T::ApproveAsks)}</p>
                    <p class="system" data-testid="approval-summary">{lang.pick(&p.summary_zh, &p.summary_en).to_owned()}</p>
                    <dl class="offer">
                        <dt>{t(T::InstitutionName)}</dt><dd>{p.institution_name.clone()}</dd>
                        {p.requested_from.clone().map(|ip| view! {
                            <dt>{t(T::RequestedFrom)}</dt><dd>{ip}</dd>
                        })}
                        <dt>{t(T::RequestedAt)}</dt><dd>{asked_at} " (CST)"</dd>
                    </dl>
                    {p.network_differs.then(|| view! {
                        <p class="warning" role="alert" data-testid="approval-network-differs">{t(T::NetworkDiffersApprove)}</p>
                    })}
                    {(!p.match_choices.is_empty()).then(|| view! {
                        <MatchChoices choices=p.match_choices.clone() picked compare=T::MatchCodeCompareApprove />
                    })}
                    {state.controls(T::ConfirmApprove, T::RejectLogin, answer)}
                </section>
            }
        })}
        {state.ending("approval-outcome", T::ApprovalDone, T::ApprovalRejected)}
    }
}
