//! Console: register an institution and issue its certificate with a claim QR code and a
//! printable claim slip; list the authority's certificates and refresh unclaimed claim codes.
// A server function takes the form's fields one by one (the browser posts them as a form).
#![allow(clippy::too_many_arguments)]

use ecert_core::certificate::{CertificateStatus, CertificateView};
use ecert_core::holder::HolderStatus;
use leptos::prelude::*;

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

use super::selection::{ClaimSlip, ConsoleCtx, Slip};

#[server(endpoint = "issue_certificate")]
pub async fn issue_certificate(
    credit_code: String,
    name: String,
    address: String,
    rep_name: String,
    rep_id_number: String,
    rep_mobile: String,
    first_manager: String,
    fm_name: Option<String>,
    fm_id_number: Option<String>,
    fm_mobile: Option<String>,
) -> Result<ClaimSlip, AppError> {
    use ecert_core::certificate::{FirstManagerChoice, IssueRequest, PersonInput};
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let request = IssueRequest {
        credit_code,
        name,
        address,
        legal_rep: PersonInput { name: rep_name, id_number: rep_id_number, mobile: rep_mobile },
        first_manager: if first_manager == "delegate" {
            FirstManagerChoice::Delegate(PersonInput {
                name: fm_name.unwrap_or_default(),
                id_number: fm_id_number.unwrap_or_default(),
                mobile: fm_mobile.unwrap_or_default(),
            })
        } else {
            FirstManagerChoice::LegalRepresentative
        },
    };
    let now = ecert_core::Millis::now();
    let (_serial, claim) = ecert_core::certificate::issue(
        &state.db,
        &staff,
        &request,
        &state.identity,
        state.issue_policy,
        now,
        &state.random,
    )
    .await?;
    super::selection::slip(&staff, claim).await
}

#[server(endpoint = "refresh_claim_code")]
pub async fn refresh_claim_code(certificate_id: String) -> Result<ClaimSlip, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let claim = ecert_core::certificate::refresh_claim(
        &state.db,
        &staff,
        &certificate_id,
        state.issue_policy,
        ecert_core::Millis::now(),
        &state.random,
    )
    .await?;
    super::selection::slip(&staff, claim).await
}

#[server(endpoint = "list_certificates")]
pub async fn list_certificates(search: String) -> Result<Vec<CertificateView>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::certificate::list(&state.db, &staff, &search, 50).await?)
}

/// The issuing part of the console, shown to signed-in staff.
#[component]
pub fn IssuePanel() -> impl IntoView {
    let lang = use_lang();
    let issue = ServerAction::<IssueCertificate>::new();
    let refresh = ServerAction::<RefreshClaimCode>::new();
    let (delegate, set_delegate) = signal(false);
    let changes = ConsoleCtx::provide();
    // Loaded in the browser: a resource created under the console's Suspense can lose the
    // request context during server rendering (leptos-rs/leptos#3024-like), so it is not rendered there.
    let certificates = LocalResource::new(move || {
        issue.version().track();
        refresh.version().track();
        changes.bump.track();
        list_certificates(String::new())
    });
    let error = move || issue.value().get().and_then(Result::err).map(|e| e.message(lang));
    // The newest slip, from issuing or refreshing, whichever came last.
    let (current, set_current) = signal(None::<ClaimSlip>);
    Effect::new(move |_| {
        if let Some(s) = changes.slip.get() {
            set_current.set(Some(s));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(s)) = issue.value().get() {
            set_current.set(Some(s));
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(s)) = refresh.value().get() {
            set_current.set(Some(s));
        }
    });

    view! {
        <section class="panel" aria-labelledby="issue-title">
            <h2 id="issue-title">{t(T::IssueTitle)}</h2>
            <ActionForm action=issue attr:class="grid-form">
                <fieldset>
                    <legend>{t(T::Institution)}</legend>
                    <label>{t(T::CreditCode)}<input name="credit_code" required maxlength="18" autocomplete="off" /></label>
                    <label>{t(T::InstitutionName)}<input name="name" required maxlength="100" /></label>
                    <label>{t(T::Address)}<input name="address" required maxlength="200" /></label>
                </fieldset>
                <fieldset>
                    <legend>{t(T::LegalRep)}</legend>
                    <label>{t(T::PersonName)}<input name="rep_name" required maxlength="30" /></label>
                    <label>{t(T::IdNumber)}<input name="rep_id_number" required maxlength="18" autocomplete="off" /></label>
                    <label>{t(T::Mobile)}<input name="rep_mobile" required maxlength="11" inputmode="numeric" /></label>
                </fieldset>
                <fieldset>
                    <legend>{t(T::FirstManager)}</legend>
                    <label class="inline">
                        <input type="radio" name="first_manager" value="legal_rep" checked on:change=move |_| set_delegate.set(false) />
                        {t(T::FirstManagerIsLegalRep)}
                    </label>
                    <label class="inline">
                        <input type="radio" name="first_manager" value="delegate" on:change=move |_| set_delegate.set(true) />
                        {t(T::FirstManagerIsDelegate)}
                    </label>
                    <div class="delegate" class:hidden=move || !delegate.get()>
                        <label>{t(T::DelegateName)}<input name="fm_name" maxlength="30" /></label>
                        <label>{t(T::DelegateIdNumber)}<input name="fm_id_number" maxlength="18" autocomplete="off" /></label>
                        <label>{t(T::DelegateMobile)}<input name="fm_mobile" maxlength="11" inputmode="numeric" /></label>
                    </div>
                </fieldset>
                <p class="error" role="alert">{error}</p>
                <button type="submit" disabled=move || issue.pending().get()>{t(T::IssueButton)}</button>
            </ActionForm>
        </section>
        {move || current.get().map(|s| view! { <Slip slip=s /> })}
        <super::changes::ChangePanel />
        <section class="panel" aria-labelledby="list-title">
            <h2 id="list-title">{t(T::CertificateList)}</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match certificates.await {
                        Ok(list) => view! { <CertificateTable list refresh /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
    .into_any()
}

#[component]
fn CertificateTable(list: Vec<CertificateView>, refresh: ServerAction<RefreshClaimCode>) -> impl IntoView {
    let lang = use_lang();
    if list.is_empty() {
        return view! { <p>{t(T::NoCertificates)}</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|c| {
            let pending = c.first_manager_status == Some(HolderStatus::Pending);
            let id = c.certificate_id.clone();
            let active = c.status == CertificateStatus::Active;
            let chosen = c.clone();
            view! {
                <tr>
                    <td>{c.institution_name}</td>
                    <td><code>{c.credit_code}</code></td>
                    <td><code>{c.serial}</code></td>
                    <td>{c.first_manager_name}</td>
                    <td>{if active { status_text(c.first_manager_status, lang) } else { cert_status_text(c.status, lang) }}</td>
                    <td>
                        {active.then(|| {
                            view! {
                                <button type="button" class="small secondary" on:click=move |_| {
                                    ConsoleCtx::get().selected.set(Some(chosen.clone()));
                                }>{T::Manage.get(lang)}</button>
                            }
                        })}
                        {pending.then(|| view! {
                            <ActionForm action=refresh>
                                <input type="hidden" name="certificate_id" value=id.clone() />
                                <button type="submit" class="small">{T::RefreshClaim.get(lang)}</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list">
            <thead>
                <tr>
                    <th>{t(T::InstitutionName)}</th>
                    <th>{t(T::CreditCode)}</th>
                    <th>{t(T::Serial)}</th>
                    <th>{t(T::FirstManager)}</th>
                    <th>{t(T::ClaimStatus)}</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn cert_status_text(status: CertificateStatus, lang: ecert_core::Lang) -> &'static str {
    match status {
        CertificateStatus::Active => T::StatusActive.get(lang),
        CertificateStatus::Cancelled => T::StatusCancelled.get(lang),
        CertificateStatus::Deleted => T::StatusDeleted.get(lang),
    }
}

fn status_text(status: Option<HolderStatus>, lang: ecert_core::Lang) -> &'static str {
    match status {
        Some(HolderStatus::Pending) => T::NotClaimed.get(lang),
        Some(HolderStatus::Active) => T::Claimed.get(lang),
        Some(HolderStatus::Removed) | None => T::Removed.get(lang),
    }
}
