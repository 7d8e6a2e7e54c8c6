//! Console: register an institution and issue its certificate with a claim QR code and a
//! printable claim slip; list the authority's certificates and refresh unclaimed claim codes.
// A server function takes the form's fields one by one (the browser posts them as a form).
#![allow(clippy::too_many_arguments)]

use ecert_core::certificate::{CertificateDetail, CertificatePage, CertificateStatus, CertificateView};
use ecert_core::holder::HolderStatus;
use ecert_core::validity::Validity;
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
    check_form: Option<String>,
    check_licence: Option<String>,
    check_identity_card: Option<String>,
    check_authorization: Option<String>,
) -> Result<ClaimSlip, AppError> {
    use ecert_core::certificate::{Checklist, FirstManagerChoice, IssueRequest, PersonInput};
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
        checklist: Checklist {
            form: check_form.is_some(),
            licence: check_licence.is_some(),
            identity_card: check_identity_card.is_some(),
            authorization: check_authorization.is_some(),
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

/// A page of the authority's certificates found by name, credit code or serial and status.
#[server(endpoint = "list_certificates")]
pub async fn list_certificates(
    text: String,
    status: String,
    page: i64,
    #[server(default)] after: String,
) -> Result<CertificatePage, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let query = ecert_core::certificate::CertificateQuery { text, status, page, scope: String::new(), after };
    Ok(ecert_core::certificate::search(&state.db, &staff, &query, ecert_core::Millis::now()).await?)
}

/// A certificate's page: registration data, holders (masked) and every change record.
#[server(endpoint = "open_certificate")]
pub async fn open_certificate(certificate_id: String) -> Result<CertificateDetail, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::certificate::detail(&state.db, &staff, &certificate_id, ecert_core::Millis::now()).await?)
}

/// The archive packages of a certificate of the caller's authority (issue 15 §3).
#[server(endpoint = "certificate_archives")]
pub async fn certificate_archives(certificate_id: String) -> Result<Vec<ecert_core::archive::ArchiveLine>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::archive::list(&state.db, &staff, &certificate_id).await?)
}

/// One archive package as a file (JSON with its SHA-256).
#[server(endpoint = "archive_export")]
pub async fn archive_export(archive_id: String) -> Result<ecert_core::archive::ArchiveFile, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::archive::export(&state.db, &staff, &archive_id).await?)
}

/// The issuing part of the console, shown to signed-in staff of `authority` (named on forms).
#[component]
pub fn IssuePanel(authority: String) -> impl IntoView {
    let lang = use_lang();
    let issue = ServerAction::<IssueCertificate>::new();
    let refresh = ServerAction::<RefreshClaimCode>::new();
    let form = super::forms::FormFields::default();
    let form_authority = authority.clone();
    let delegate = form.delegate;
    let set_delegate = move |on: bool| delegate.set(on);
    let changes = ConsoleCtx::provide();
    // Loaded in the browser: a resource created under the console's Suspense can lose the
    // request context during server rendering (leptos-rs/leptos#3024-like), so it is not rendered there.
    let (text, set_text) = signal(String::new());
    let (status, set_status) = signal(String::new());
    let (page, set_page) = signal(0_i64);
    let page_count = RwSignal::new(1_i64);
    let cursors = crate::lists::Cursors::new();
    let certificates = LocalResource::new(move || {
        issue.version().track();
        refresh.version().track();
        changes.bump.track();
        let page = page.get();
        list_certificates(text.get(), status.get(), page, cursors.start_of(page))
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
                    <label>{t(T::CreditCode)}<input name="credit_code" required maxlength="18" autocomplete="off" bind:value=form.credit_code /></label>
                    <label>{t(T::InstitutionName)}<input name="name" required maxlength="100" bind:value=form.institution /></label>
                    <label>{t(T::Address)}<input name="address" required maxlength="200" bind:value=form.address /></label>
                </fieldset>
                <fieldset>
                    <legend>{t(T::LegalRep)}</legend>
                    <label>{t(T::PersonName)}<input name="rep_name" required maxlength="30" bind:value=form.rep_name /></label>
                    <label>{t(T::IdNumber)}<input name="rep_id_number" required maxlength="18" autocomplete="off" bind:value=form.rep_id_number /></label>
                    <label>{t(T::Mobile)}<input name="rep_mobile" required maxlength="11" inputmode="numeric" bind:value=form.rep_mobile /></label>
                </fieldset>
                <fieldset>
                    <legend>{t(T::FirstManager)}</legend>
                    <label class="inline">
                        <input type="radio" name="first_manager" value="legal_rep" checked on:change=move |_| set_delegate(false) />
                        {t(T::FirstManagerIsLegalRep)}
                    </label>
                    <label class="inline">
                        <input type="radio" name="first_manager" value="delegate" on:change=move |_| set_delegate(true) />
                        {t(T::FirstManagerIsDelegate)}
                    </label>
                    <div class="delegate" class:hidden=move || !delegate.get()>
                        <label>{t(T::DelegateName)}<input name="fm_name" maxlength="30" bind:value=form.fm_name /></label>
                        <label>{t(T::DelegateIdNumber)}<input name="fm_id_number" maxlength="18" autocomplete="off" bind:value=form.fm_id_number /></label>
                        <label>{t(T::DelegateMobile)}<input name="fm_mobile" maxlength="11" inputmode="numeric" bind:value=form.fm_mobile /></label>
                    </div>
                </fieldset>
                <super::forms::Checklist checks=super::forms::Checks::default() delegate />
                <super::forms::PrintedForm kind=super::forms::FormKind::Apply fields=form authority=form_authority.clone() />
                <p class="error" role="alert">{error}</p>
                <button type="submit" disabled=move || issue.pending().get()>{t(T::IssueButton)}</button>
            </ActionForm>
        </section>
        {move || current.get().map(|s| view! { <Slip slip=s /> })}
        <super::changes::ChangePanel authority />
        <DetailPanel />
        <section class="panel" aria-labelledby="list-title">
            <h2 id="list-title">{t(T::CertificateList)}</h2>
            <form class="row filters" role="search" on:submit=move |ev| ev.prevent_default()>
                <label>{t(T::FindCertificate)}
                    <input type="search" name="text" maxlength="100" data-testid="certificate-search"
                        on:input=move |ev| { set_page.set(0); set_text.set(event_target_value(&ev)); } />
                </label>
                <label>{t(T::CertificateStatus)}
                    <select on:change=move |ev| { set_page.set(0); set_status.set(event_target_value(&ev)); }>
                        <option value="">{t(T::AnyStatus)}</option>
                        <option value="active">{t(T::StatusActive)}</option>
                        <option value="cancelled">{t(T::StatusCancelled)}</option>
                        <option value="deleted">{t(T::StatusDeleted)}</option>
                        <option value=ecert_core::certificate::STATUS_RENEWAL_OPEN>{t(T::StatusRenewalOpen)}</option>
                        <option value=ecert_core::certificate::STATUS_EXPIRED>{t(T::StatusExpired)}</option>
                    </select>
                </label>
            </form>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match certificates.await {
                        Ok(p) => {
                            cursors.record(p.page, &p.next);
                            page_count.set(crate::lists::Cursors::pages(p.page, p.total, p.per_page, &p.next));
                            let pages = page_count.get_untracked();
                            view! {
                                <CertificateTable list=p.items refresh />
                                <crate::lists::Pager page set_page pages=page_count summary=format!("{} / {pages} · {}", p.page + 1, p.total)
                                    summary_testid="certificate-page" next_testid="certificate-next" />
                            }.into_any()
                        }
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
                    <td><ValidUntil expires_at=c.expires_at validity=c.validity active /></td>
                    <td>{if active { status_text(c.first_manager_status, lang) } else { cert_status_text(c.status, lang) }}</td>
                    <td>
                        {
                            let id = c.certificate_id.clone();
                            view! {
                                <button type="button" class="small secondary" data-testid="certificate-detail" on:click=move |_| {
                                    ConsoleCtx::get().detail.set(Some(id.clone()));
                                }>{T::Details.get(lang)}</button>
                            }
                        }
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
        <table class="list" data-testid="certificate-list">
            <thead>
                <tr>
                    <th>{t(T::InstitutionName)}</th>
                    <th>{t(T::CreditCode)}</th>
                    <th>{t(T::Serial)}</th>
                    <th>{t(T::FirstManager)}</th>
                    <th>{t(T::ValidUntil)}</th>
                    <th>{t(T::ClaimStatus)}</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// R20: the last day of validity, marked when renewal is open or the validity has ended (for
/// an active certificate: a cancelled one's validity no longer matters).
#[component]
pub(super) fn ValidUntil(expires_at: i64, validity: Validity, active: bool) -> impl IntoView {
    let lang = use_lang();
    let mark = match (active, validity) {
        (true, Validity::RenewalOpen) => Some(("badge warn", T::ValidityRenewalOpen.get(lang))),
        (true, Validity::Expired) => Some(("badge danger", T::StatusExpired.get(lang))),
        _ => None,
    };
    view! {
        <span data-testid="valid-until">{ecert_core::validity::last_day(expires_at)}</span>
        {mark.map(|(class, text)| view! { " " <span class=class data-testid="validity-mark">{text}</span> })}
    }
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

/// The chosen certificate's page (any status): who holds it and what happened to it.
#[component]
fn DetailPanel() -> impl IntoView {
    let lang = use_lang();
    let ctx = ConsoleCtx::get();
    let detail = LocalResource::new(move || {
        let id = ctx.detail.get();
        ctx.bump.track();
        async move {
            match id {
                Some(id) => open_certificate(id).await.map(Some),
                None => Ok(None),
            }
        }
    });
    // Always one element here, whatever the resource holds: a bare Suspense between the panels
    // left the server's markup and the browser's hydration out of step.
    view! {
        <div class="detail-slot">
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(None) => ().into_any(),
                    Ok(Some(d)) => {
                        let c = d.certificate;
                        let live = c.status == CertificateStatus::Active;
                        let holders = d.holders.into_iter().map(|h| view! {
                            <tr><td>{crate::i18n::role_text(h.role, lang)}</td><td>{h.name}</td><td>{status_text(Some(h.status), lang)}</td></tr>
                        }).collect_view();
                        let changes = d.changes.into_iter().map(|r| view! {
                            <tr>
                                <td>{ecert_core::time::format_cst(ecert_core::Millis(r.at))}</td>
                                <td>{crate::i18n::change_text(r.kind, lang)}</td>
                                <td>{if r.by_staff { T::ByStaff.get(lang) } else { T::ByHolder.get(lang) }}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <section class="panel" aria-labelledby="detail-title" data-testid="certificate-detail-panel">
                                <h2 id="detail-title">{t(T::CertificatePage)} " · " {c.institution_name.clone()}</h2>
                                <dl>
                                    <dt>{t(T::CreditCode)}</dt><dd><code>{c.credit_code}</code></dd>
                                    <dt>{t(T::Serial)}</dt><dd><code>{c.serial}</code></dd>
                                    <dt>{t(T::CertificateStatus)}</dt><dd data-testid="detail-status">{cert_status_text(c.status, lang)}</dd>
                                    <dt>{t(T::Address)}</dt><dd>{c.address}</dd>
                                    <dt>{t(T::LegalRep)}</dt><dd>{c.legal_rep_name} " " {c.legal_rep_id_number} " " {c.legal_rep_mobile}</dd>
                                    <dt>{t(T::IssuedAt)}</dt><dd>{ecert_core::time::format_cst(ecert_core::Millis(c.issued_at))}</dd>
                                    <dt>{t(T::ValidUntil)}</dt><dd data-testid="detail-valid-until"><ValidUntil expires_at=c.expires_at validity=c.validity active=live /></dd>
                                </dl>
                                <h3>{t(T::Holders)}</h3>
                                <table class="records"><tbody>{holders}</tbody></table>
                                <h3>{t(T::ChangeRecords)}</h3>
                                <table class="records" data-testid="detail-changes"><tbody>{changes}</tbody></table>
                                <Archives certificate_id=c.certificate_id.clone() />
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
        </div>
    }
}

/// The archive packages of the chosen certificate, each exportable as a file.
#[component]
fn Archives(certificate_id: String) -> impl IntoView {
    use leptos::task::spawn_local;
    let lang = use_lang();
    let lines = LocalResource::new(move || certificate_archives(certificate_id.clone()));
    let (file, set_file) = signal(None::<ecert_core::archive::ArchiveFile>);
    let export = move |id: String| {
        spawn_local(async move {
            if let Ok(f) = archive_export(id).await {
                set_file.set(Some(f));
            }
        });
    };
    view! {
        <h3>{t(T::Archives)}</h3>
        <div class="list-slot">
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match lines.await {
                    Ok(list) => {
                        let rows = list.into_iter().map(|a| {
                            let id = a.id.clone();
                            view! {
                                <tr data-testid="archive-row">
                                    <td>{ecert_core::time::format_cst(ecert_core::Millis(a.created_at))}</td>
                                    <td>{a.action}</td>
                                    <td><code title=a.content_hash.clone()>{a.content_hash.chars().take(16).collect::<String>()} "…"</code></td>
                                    <td>{T::KeptUntil.get(lang)} " " {ecert_core::time::format_day(ecert_core::time::today_cst(ecert_core::Millis(a.keep_until)))}</td>
                                    <td><button type="button" class="small secondary" data-testid="archive-export" on:click=move |_| export(id.clone())>{T::ExportArchive.get(lang)}</button></td>
                                </tr>
                            }
                        }).collect_view();
                        view! { <table class="records" data-testid="archives"><tbody>{rows}</tbody></table> }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
        </div>
        {move || file.get().map(|f| {
            let href = crate::lists::data_href("application/json", &f.text);
            view! { <p><a href=href download=f.file_name.clone() data-testid="archive-file">{t(T::DownloadFile)} " " {f.file_name.clone()}</a></p> }
        })}
    }
}
