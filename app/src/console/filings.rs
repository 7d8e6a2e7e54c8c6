//! The review of registration filings (登记业务审核, issue 18 §1, R23): the authority's operators
//! read each waiting filing with its signed document and approve it — what it asks applies
//! itself, and a new legal representative's claim slip is printed here (R14) — or return it
//! with their reasons. Auditors read.

use ecert_core::certificate::Checklist;
use ecert_core::filing::{FilingDetail, FilingForm, FilingStatus, FilingView};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;

use super::selection::{ClaimSlip, Slip};
use crate::error::AppError;
use crate::i18n::{T, filing_kind_text as kind_text, filing_status_text as status_text, t, use_lang};

/// The authority's filings: the waiting ones (oldest first), or all (newest first).
#[server(endpoint = "filing_queue")]
pub async fn filing_queue(waiting: bool) -> Result<Vec<FilingView>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let status = waiting.then_some(FilingStatus::Submitted);
    Ok(ecert_core::filing::queue(&state.db, &staff, status).await?)
}

#[server(endpoint = "filing_detail")]
pub async fn review_detail(id: String) -> Result<FilingDetail, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::filing::detail(&state.db, &staff, &id).await?)
}

/// Approves a waiting filing; a new legal representative's claim slip comes back (R14).
#[server(endpoint = "filing_approve", input = Json)]
pub async fn filing_approve(id: String, checklist: Checklist) -> Result<Option<ClaimSlip>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let reviewed = ecert_core::filing::approve(
        &state.db,
        &staff,
        &id,
        checklist,
        &state.identity,
        state.issue_policy,
        ecert_core::Millis::now(),
        &state.random,
    )
    .await?;
    match reviewed.claim {
        Some(claim) => Ok(Some(super::selection::slip(&staff, claim).await?)),
        None => Ok(None),
    }
}

/// Returns a waiting filing with the reasons to correct.
#[server(endpoint = "filing_return")]
pub async fn filing_return(id: String, reasons: String) -> Result<(), AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    ecert_core::filing::send_back(&state.db, &staff, &id, &reasons, state.issue_policy, now, &state.random).await?;
    Ok(())
}

#[component]
pub fn FilingReviewPanel(operate: bool) -> impl IntoView {
    let lang = use_lang();
    let waiting = RwSignal::new(true);
    let bump = RwSignal::new(0u32);
    let open = RwSignal::new(None::<String>);
    let slip = RwSignal::new(None::<ClaimSlip>);
    let list = LocalResource::new(move || {
        bump.track();
        filing_queue(waiting.get())
    });
    view! {
        <section class="panel" aria-labelledby="filing-review-title" data-testid="filing-review">
            <h2 id="filing-review-title">{t(T::FilingReview)}</h2>
            <p class="row">
                <label class="inline"><input type="radio" name="filing-scope" checked=true on:change=move |_| waiting.set(true) />{t(T::FilingWaiting)}</label>
                <label class="inline"><input type="radio" name="filing-scope" on:change=move |_| waiting.set(false) />{t(T::FilingAll)}</label>
            </p>
            <div class="list-slot">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(rows) if rows.is_empty() => view! { <p>{t(T::NoFilings)}</p> }.into_any(),
                        Ok(rows) => {
                            let rows = rows.into_iter().map(|f| {
                                let id = f.id.clone();
                                let year = f.report_year.map(|y| format!(" {y}")).unwrap_or_default();
                                view! {
                                    <tr data-testid="review-row" data-kind=f.kind.as_sql() data-status=f.status.as_sql()>
                                        <td>{f.institution_name.clone()}<br/><code>{f.credit_code.clone()}</code></td>
                                        <td>{kind_text(f.kind, lang)}{year}</td>
                                        <td>{ecert_core::time::format_cst(ecert_core::Millis(f.submitted_at))}</td>
                                        <td>{status_text(f.status, lang)}</td>
                                        <td><button type="button" class="small" data-testid="review-open" on:click=move |_| {
                                            slip.set(None);
                                            open.set(Some(id.clone()));
                                        }>{t(T::FilingOpen)}</button></td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <table class="records">
                                    <thead><tr>
                                        <th>{t(T::InstitutionName)}</th><th>{t(T::FilingKindLabel)}</th>
                                        <th>{t(T::FilingSubmittedAt)}</th><th>{t(T::Status)}</th><th></th>
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

/// One filing: its signed document, and the decision.
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
        move || review_detail(id.clone())
    });
    let error = RwSignal::new(None::<String>);
    let reasons = RwSignal::new(String::new());
    let checklist = RwSignal::new(Checklist::default());
    let id = StoredValue::new(id);
    let done = move |result: Result<Option<ClaimSlip>, AppError>| match result {
        Ok(s) => {
            slip.set(s);
            open.set(None);
            bump.update(|n| *n += 1);
        }
        Err(e) => error.set(Some(e.message(lang))),
    };
    let approve = move |_| {
        let (id, list) = (id.get_value(), checklist.get_untracked());
        spawn_local(async move { done(filing_approve(id, list).await) });
    };
    let send_back = move |_| {
        let (id, why) = (id.get_value(), reasons.get_untracked());
        spawn_local(async move { done(filing_return(id, why).await.map(|()| None)) });
    };
    let tick = move |set: fn(&mut Checklist, bool)| {
        move |ev| {
            let on = event_target_checked(&ev);
            checklist.update(|c| set(c, on));
        }
    };
    view! {
        <section class="slip" data-testid="review-detail">
            <div class="list-slot">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let d = match detail.await {
                        Ok(d) => d,
                        Err(e) => return view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    };
                    let names_rep = matches!(&d.document.form, FilingForm::Change(c) if c.legal_rep.is_some());
                    let waiting = d.filing.status == FilingStatus::Submitted;
                    view! {
                        <h3>{kind_text(d.document.kind, lang)} " · " {d.document.institution_name.clone()}</h3>
                        <dl class="facts">
                            <dt>{t(T::CreditCode)}</dt><dd><code>{d.document.credit_code.clone()}</code></dd>
                            <dt>{t(T::Serial)}</dt><dd><code>{d.document.certificate_serial.clone()}</code></dd>
                            <dt>{t(T::FilingFiledBy)}</dt><dd>{d.document.filed_by.clone()}</dd>
                            <dt>{t(T::FilingDigest)}</dt><dd><code>{d.filing.digest.clone()}</code> " "
                                <span data-testid="review-digest" data-matches=d.digest_matches.to_string()>
                                    {if d.digest_matches { t(T::FilingDigestMatches) } else { t(T::FilingDigestBroken) }}
                                </span></dd>
                            {d.signature.clone().map(|s| view! {
                                <dt>{t(T::FilingSignature)}</dt>
                                <dd data-testid="review-signature" data-verified=s.verified.to_string()>
                                    {if s.verified { t(T::FilingSignatureValid) } else { t(T::FilingSignatureBroken) }} " · "
                                    {ecert_core::time::format_cst(ecert_core::Millis(s.signed_at))} " · "
                                    <code title=s.public_key.clone()>{s.device_id.chars().take(8).collect::<String>()}</code>
                                </dd>
                            })}
                            {form_facts(&d.document.form, lang)}
                            {d.filing.review_note.clone().map(|n| view! { <dt>{t(T::FilingReviewNote)}</dt><dd class="pre">{n}</dd> })}
                        </dl>
                        {(operate && waiting).then(|| view! {
                            {names_rep.then(|| view! {
                                <fieldset>
                                    <legend>{t(T::PapersChecked)}</legend>
                                    <label class="inline"><input type="checkbox" data-testid="review-check-form" on:change=tick(|c, on| c.form = on) />{t(T::CheckForm)}</label>
                                    <label class="inline"><input type="checkbox" data-testid="review-check-licence" on:change=tick(|c, on| c.licence = on) />{t(T::CheckLicence)}</label>
                                    <label class="inline"><input type="checkbox" data-testid="review-check-id" on:change=tick(|c, on| c.identity_card = on) />{t(T::CheckIdentityCard)}</label>
                                </fieldset>
                            })}
                            <button type="button" data-testid="review-approve" on:click=approve>{t(T::FilingApprove)}</button>
                            <label class="wide">{t(T::FilingReturnReasons)}
                                <textarea rows="2" maxlength="500" data-testid="review-reasons" on:input=move |ev| reasons.set(event_target_value(&ev))></textarea>
                            </label>
                            <button type="button" class="secondary" data-testid="review-return" on:click=send_back>{t(T::FilingReturn)}</button>
                        })}
                    }.into_any()
                })}
            </Suspense>
            </div>
            <p class="error" role="alert" data-testid="review-error">{move || error.get()}</p>
            <button type="button" class="small secondary" on:click=move |_| open.set(None)>{t(T::Close)}</button>
        </section>
    }
}

/// The form's fields as the document holds them.
fn form_facts(form: &FilingForm, lang: ecert_core::Lang) -> impl IntoView + use<> {
    let mut facts: Vec<(T, String)> = Vec::new();
    match form {
        FilingForm::Change(c) => {
            if !c.name.is_empty() {
                facts.push((T::FilingNewName, c.name.clone()));
            }
            if !c.address.is_empty() {
                facts.push((T::FilingNewAddress, c.address.clone()));
            }
            if let Some(p) = &c.legal_rep {
                facts.push((T::FilingNewRepName, p.name.clone()));
                facts.push((T::FilingNewRepId, p.id_number.clone()));
                facts.push((T::FilingNewRepMobile, p.mobile.clone()));
            }
            facts.push((T::FilingReason, c.reason.clone()));
        }
        FilingForm::AnnualReport(r) => facts.extend(crate::reports::report_facts(r)),
        FilingForm::Cancellation { reason } | FilingForm::Reissue { reason } => {
            facts.push((T::FilingReason, reason.clone()));
        }
    }
    facts
        .into_iter()
        .map(|(label, value)| view! { <dt>{label.get(lang)}</dt><dd class="pre">{value}</dd> })
        .collect_view()
}
