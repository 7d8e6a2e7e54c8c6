//! The review of establishment applications (设立登记审核, issue 18 §1): the authority's
//! operators read each application with its papers and approve it — the institution is
//! registered with its credit code and its certificate issued, the claim slip printed here and
//! offered to the applicant — or return it with their reasons. Auditors read.

use ecert_core::establishment::{EstablishmentDetail, EstablishmentView, FileContent};
use ecert_core::filing::FilingStatus;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::selection::{ClaimSlip, Slip};
use crate::error::AppError;
use crate::i18n::{T, filing_status_text as status_text, t, use_lang};

#[server(endpoint = "establishment_queue")]
pub async fn establishment_queue(waiting: bool) -> Result<Vec<EstablishmentView>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::establishment::queue(&state.db, &staff, waiting).await?)
}

#[server(endpoint = "establishment_detail")]
pub async fn review_establishment(id: String) -> Result<EstablishmentDetail, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::establishment::detail(&state.db, &staff, &id).await?)
}

/// A paper of an application (the read is a staff action).
#[server(endpoint = "establishment_paper")]
pub async fn establishment_paper(id: String) -> Result<FileContent, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::establishment::file(&state.db, &staff, &id, now, &state.random).await?)
}

/// Approves an application: registers and issues; the claim slip comes back.
#[server(endpoint = "establishment_approve")]
pub async fn establishment_approve(id: String, credit_code: String) -> Result<ClaimSlip, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let approved = ecert_core::establishment::approve(
        &state.db,
        &staff,
        &id,
        &credit_code,
        &state.identity,
        state.issue_policy,
        ecert_core::Millis::now(),
        &state.random,
    )
    .await?;
    super::selection::slip(&staff, approved.claim).await
}

#[server(endpoint = "establishment_return")]
pub async fn establishment_return(id: String, reasons: String) -> Result<(), AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    ecert_core::establishment::send_back(&state.db, &staff, &id, &reasons, now, &state.random).await?;
    Ok(())
}

#[component]
pub fn EstablishmentReviewPanel(operate: bool) -> impl IntoView {
    let lang = use_lang();
    let waiting = RwSignal::new(true);
    let bump = RwSignal::new(0u32);
    let open = RwSignal::new(None::<String>);
    let slip = RwSignal::new(None::<ClaimSlip>);
    let list = LocalResource::new(move || {
        bump.track();
        establishment_queue(waiting.get())
    });
    view! {
        <section class="panel" aria-labelledby="establishment-review-title" data-testid="establishment-review">
            <h2 id="establishment-review-title">{t(T::EstablishReview)}</h2>
            <p class="row">
                <label class="inline"><input type="radio" name="establishment-scope" checked=true on:change=move |_| waiting.set(true) />{t(T::FilingWaiting)}</label>
                <label class="inline"><input type="radio" name="establishment-scope" on:change=move |_| waiting.set(false) />{t(T::FilingAll)}</label>
            </p>
            <div class="list-slot">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(rows) if rows.is_empty() => view! { <p>{t(T::NoEstablishments)}</p> }.into_any(),
                        Ok(rows) => {
                            let rows = rows.into_iter().map(|e| {
                                let id = e.id.clone();
                                view! {
                                    <tr data-testid="establishment-review-row" data-status=e.status.as_sql()>
                                        <td>{e.name.clone()}</td>
                                        <td>{ecert_core::time::format_cst(ecert_core::Millis(e.submitted_at))}</td>
                                        <td>{status_text(e.status, lang)}</td>
                                        <td><code>{e.credit_code.clone().unwrap_or_default()}</code></td>
                                        <td><button type="button" class="small" data-testid="establishment-open" on:click=move |_| {
                                            slip.set(None);
                                            open.set(Some(id.clone()));
                                        }>{t(T::FilingOpen)}</button></td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <table class="records">
                                    <thead><tr>
                                        <th>{t(T::EstablishName)}</th><th>{t(T::FilingSubmittedAt)}</th>
                                        <th>{t(T::Status)}</th><th>{t(T::CreditCode)}</th><th></th>
                                    </tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Transition>
            </div>
            {move || open.get().map(|id| view! { <Review id operate open bump slip /> })}
            {move || slip.get().map(|s| view! { <Slip slip=s /> })}
        </section>
    }
}

#[component]
fn Review(
    id: String,
    operate: bool,
    open: RwSignal<Option<String>>,
    bump: RwSignal<u32>,
    slip: RwSignal<Option<ClaimSlip>>,
) -> impl IntoView {
    let lang = use_lang();
    let detail = LocalResource::new({
        let id = id.clone();
        move || review_establishment(id.clone())
    });
    let error = RwSignal::new(None::<String>);
    let reasons = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let paper = RwSignal::new(None::<FileContent>);
    let id = StoredValue::new(id);
    let approve = move |_| {
        let (id, code) = (id.get_value(), code.get_untracked());
        spawn_local(async move {
            match establishment_approve(id, code).await {
                Ok(s) => {
                    slip.set(Some(s));
                    open.set(None);
                    bump.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    let send_back = move |_| {
        let (id, why) = (id.get_value(), reasons.get_untracked());
        spawn_local(async move {
            match establishment_return(id, why).await {
                Ok(()) => {
                    open.set(None);
                    bump.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    let read = move |file: String| {
        spawn_local(async move {
            match establishment_paper(file).await {
                Ok(c) => paper.set(Some(c)),
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    view! {
        <section class="slip" data-testid="establishment-detail">
            <div class="list-slot">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let d = match detail.await {
                        Ok(d) => d,
                        Err(e) => return view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    };
                    let f = d.document.form.clone();
                    let waiting = d.view.status == FilingStatus::Submitted;
                    let papers = d.view.files.iter().map(|a| {
                        let file = a.id.clone();
                        view! {
                            <li data-testid="establishment-paper">{a.name.clone()} " · " {a.media_type.clone()} " · " {a.size / 1024} " KB · "
                                <code title="SHA-256">{a.sha256.chars().take(16).collect::<String>()}</code> " "
                                <button type="button" class="small secondary" on:click=move |_| read(file.clone())>{t(T::OpenPaper)}</button>
                            </li>
                        }
                    }).collect_view();
                    view! {
                        <h3>{t(T::EstablishTitle)} " · " {f.name.clone()}</h3>
                        <dl class="facts">
                            <dt>{t(T::EstablishAddress)}</dt><dd>{f.address.clone()}</dd>
                            <dt>{t(T::EstablishPurpose)}</dt><dd class="pre">{f.purpose.clone()}</dd>
                            <dt>{t(T::EstablishFunds)}</dt><dd>{f.funds.clone()}</dd>
                            <dt>{t(T::EstablishFundingSource)}</dt><dd>{f.funding_source.clone()}</dd>
                            <dt>{t(T::EstablishSponsor)}</dt><dd>{f.sponsor.clone()}</dd>
                            <dt>{t(T::LegalRep)}</dt><dd data-testid="establishment-rep">{f.legal_rep.name.clone()} " " {f.legal_rep.id_number.clone()} " " {f.legal_rep.mobile.clone()}</dd>
                            <dt>{t(T::FilingDigest)}</dt><dd><code>{d.digest.clone()}</code> " "
                                {if d.digest_matches { t(T::FilingDigestMatches) } else { t(T::FilingDigestBroken) }}</dd>
                            {d.view.review_note.clone().map(|n| view! { <dt>{t(T::FilingReviewNote)}</dt><dd class="pre">{n}</dd> })}
                        </dl>
                        <h4>{t(T::EstablishPapers)}</h4>
                        <ul>{papers}</ul>
                        {(operate && waiting).then(|| view! {
                            <label>{t(T::EstablishAssignedCode)}
                                <input maxlength="18" data-testid="establishment-credit-code" on:input=move |ev| code.set(event_target_value(&ev)) />
                            </label>
                            <button type="button" data-testid="establishment-approve" on:click=approve>{t(T::EstablishApprove)}</button>
                            <label class="wide">{t(T::FilingReturnReasons)}
                                <textarea rows="2" maxlength="500" data-testid="establishment-reasons" on:input=move |ev| reasons.set(event_target_value(&ev))></textarea>
                            </label>
                            <button type="button" class="secondary" data-testid="establishment-return" on:click=send_back>{t(T::FilingReturn)}</button>
                        })}
                    }.into_any()
                })}
            </Suspense>
            </div>
            {move || paper.get().map(|c| {
                // The saved file's name ends as its checked type does, whatever the applicant named it.
                let href = format!("data:{};base64,{}", c.media_type, c.base64);
                let saved = ecert_core::establishment::download_name(&c.name, &c.media_type);
                let shown = saved.clone();
                view! { <p><a href=href download=saved data-testid="establishment-paper-link">{shown}</a></p> }
            })}
            <p class="error" role="alert" data-testid="establishment-error">{move || error.get()}</p>
            <button type="button" class="small secondary" on:click=move |_| open.set(None)>{t(T::Close)}</button>
        </section>
    }
}
