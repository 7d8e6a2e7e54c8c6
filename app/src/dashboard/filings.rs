//! The registration business in the dashboard (登记业务, issue 18 §1, R23): a manager fills a
//! change registration, an annual report, a cancellation or a reissue; the platform makes the
//! document and its digest; the manager's phone approves exactly that digest (the approval's
//! action `SubmitFiling`), and the filing goes to the authority's staff. The list shows where
//! each filing stands and the staff's reasons for a return.

use ecert_core::certificate::PersonInput;
use ecert_core::filing::{AnnualReport, ChangeForm, FilingForm, FilingKind, FilingView, Prepared};
use ecert_core::login::approval::Action;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;

use super::holders::DashCtx;
use crate::error::AppError;
use crate::i18n::{T, filing_kind_text as kind_text, filing_status_text as status_text, t, use_lang};

/// The filings of the signed-in manager's institution.
#[server(endpoint = "dashboard_filings")]
pub async fn dashboard_filings() -> Result<Vec<FilingView>, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::filing::mine(&state.db, &caller, ecert_core::Millis::now()).await?)
}

/// The document the phone will be asked to sign for `form`, and its digest. Writes nothing.
#[server(endpoint = "dashboard_filing_prepare", input = Json)]
pub async fn filing_prepare(form: FilingForm) -> Result<Prepared, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::filing::prepare(&state.db, &caller, &form, ecert_core::Millis::now()).await?)
}

/// Files `form` with the phone approval of its document's `digest`.
#[server(endpoint = "dashboard_filing_submit", input = Json)]
pub async fn filing_submit(form: FilingForm, digest: String, approval: Option<String>) -> Result<FilingView, AppError> {
    let caller = crate::guard::holder_approving(approval).await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::filing::submit(&state.db, &caller, &form, &digest, now, &state.random).await?)
}

/// The fields of each kind's form: name, label, and whether it takes several lines.
fn fields(kind: FilingKind) -> &'static [(&'static str, T, bool)] {
    match kind {
        FilingKind::Change => &[
            ("name", T::FilingNewName, false),
            ("address", T::FilingNewAddress, false),
            ("legal_rep_name", T::FilingNewRepName, false),
            ("legal_rep_id_number", T::FilingNewRepId, false),
            ("legal_rep_mobile", T::FilingNewRepMobile, false),
            ("reason", T::FilingReason, true),
        ],
        FilingKind::AnnualReport => &[
            ("year", T::FilingYear, false),
            ("activities", T::FilingActivities, true),
            ("net_assets_start", T::FilingNetAssetsStart, false),
            ("net_assets_end", T::FilingNetAssetsEnd, false),
            ("assets_start", T::FilingAssetsStart, false),
            ("assets_end", T::FilingAssetsEnd, false),
            ("change_compliance", T::FilingCompliance, true),
            ("performance", T::FilingPerformance, true),
            ("litigation", T::FilingLitigation, true),
            ("complaints", T::FilingComplaints, true),
            ("other", T::FilingOther, true),
        ],
        FilingKind::Cancellation | FilingKind::Reissue => &[("reason", T::FilingReason, true)],
    }
}

/// The form of `kind` from the values typed, by field name.
fn form_of(kind: FilingKind, value: impl Fn(&str) -> String) -> FilingForm {
    match kind {
        FilingKind::Change => {
            let rep = PersonInput {
                name: value("legal_rep_name"),
                id_number: value("legal_rep_id_number"),
                mobile: value("legal_rep_mobile"),
            };
            let named = [&rep.name, &rep.id_number, &rep.mobile].iter().any(|v| !v.trim().is_empty());
            FilingForm::Change(ChangeForm {
                name: value("name"),
                address: value("address"),
                legal_rep: named.then_some(rep),
                reason: value("reason"),
            })
        }
        FilingKind::AnnualReport => FilingForm::AnnualReport(AnnualReport {
            // Not a number: a year out of range, which the server names.
            year: value("year").trim().parse().unwrap_or(0),
            activities: value("activities"),
            net_assets_start: value("net_assets_start"),
            net_assets_end: value("net_assets_end"),
            assets_start: value("assets_start"),
            assets_end: value("assets_end"),
            change_compliance: value("change_compliance"),
            performance: value("performance"),
            litigation: value("litigation"),
            complaints: value("complaints"),
            other: value("other"),
        }),
        FilingKind::Cancellation => FilingForm::Cancellation { reason: value("reason") },
        FilingKind::Reissue => FilingForm::Reissue { reason: value("reason") },
    }
}

/// The panel: the kinds, the form of the chosen one, the document to sign, and the list.
#[component]
pub(super) fn FilingPanel() -> impl IntoView {
    let lang = use_lang();
    let ctx = expect_context::<DashCtx>();
    let list = LocalResource::new(move || {
        ctx.changed.track();
        dashboard_filings()
    });
    let kind = RwSignal::new(FilingKind::AnnualReport);
    let values = RwSignal::new(std::collections::HashMap::<&'static str, String>::new());
    let prepared = RwSignal::new(None::<(FilingForm, Prepared)>);
    let error = RwSignal::new(None::<String>);
    // A filing sent (or any other write) closes the document shown.
    Effect::new(move |_| {
        ctx.changed.track();
        prepared.set(None);
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let form = values.with_untracked(|v| form_of(kind.get_untracked(), |f| v.get(f).cloned().unwrap_or_default()));
        error.set(None);
        spawn_local(async move {
            match filing_prepare(form.clone()).await {
                Ok(p) => prepared.set(Some((form, p))),
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    let sign = move |_| {
        if let Some((form, p)) = prepared.get_untracked() {
            ctx.approve(lang, Action::SubmitFiling { form, digest: p.digest });
        }
    };
    let kinds = FilingKind::ALL
        .iter()
        .map(|k| view! { <option value=k.as_sql() selected=move || kind.get() == *k>{kind_text(*k, lang)}</option> })
        .collect_view();
    let inputs = move || {
        fields(kind.get())
            .iter()
            .map(|(name, label, lines)| {
                let name = *name;
                let on_input = move |ev| {
                    let v = event_target_value(&ev);
                    values.update(|m| {
                        m.insert(name, v);
                    });
                };
                let current = move || values.with(|m| m.get(name).cloned().unwrap_or_default());
                if *lines {
                    view! { <label class="wide">{t(*label)}<textarea name=name rows="3" maxlength="2000" prop:value=current on:input=on_input></textarea></label> }.into_any()
                } else {
                    view! { <label>{t(*label)}<input name=name maxlength="200" prop:value=current on:input=on_input /></label> }.into_any()
                }
            })
            .collect_view()
    };
    view! {
        <section class="panel" aria-labelledby="filings-title" data-testid="filings-panel">
            <h2 id="filings-title">{t(T::Filings)}</h2>
            <p class="hint">{t(T::FilingsHint)}</p>
            <form class="grid-form" data-testid="filing-form" on:submit=submit>
                <label>{t(T::FilingKindLabel)}
                    <select name="kind" on:change=move |ev| {
                        if let Some(k) = FilingKind::from_sql(&event_target_value(&ev)) {
                            kind.set(k);
                            prepared.set(None);
                        }
                    }>{kinds}</select>
                </label>
                <fieldset><legend>{move || kind_text(kind.get(), lang)}</legend>{inputs}</fieldset>
                <button type="submit" data-testid="filing-prepare">{t(T::FilingPrepare)}</button>
            </form>
            <p class="error" role="alert" data-testid="filing-error">{move || error.get()}</p>
            {move || prepared.get().map(|(_, p)| view! {
                <section class="slip" data-testid="filing-document">
                    <h3>{t(T::FilingDocumentTitle)}</h3>
                    <dl class="facts">
                        <dt>{t(T::FilingKindLabel)}</dt><dd>{kind_text(p.document.kind, lang)}</dd>
                        <dt>{t(T::InstitutionName)}</dt><dd>{p.document.institution_name.clone()}</dd>
                        <dt>{t(T::CreditCode)}</dt><dd><code>{p.document.credit_code.clone()}</code></dd>
                        <dt>{t(T::FilingDigest)}</dt><dd><code data-testid="filing-digest">{p.digest_hex.clone()}</code></dd>
                    </dl>
                    <p class="hint">{t(T::FilingSignHint)}</p>
                    <button type="button" data-testid="filing-sign" on:click=sign>{t(T::FilingSign)}</button>
                </section>
            })}
            <div class="list-slot">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(rows) if rows.is_empty() => view! { <p>{t(T::NoFilings)}</p> }.into_any(),
                        Ok(rows) => view! { <FilingTable rows /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Transition>
            </div>
        </section>
    }
}

#[component]
fn FilingTable(rows: Vec<FilingView>) -> impl IntoView {
    let lang = use_lang();
    let rows = rows
        .into_iter()
        .map(|f| {
            let year = f.report_year.map(|y| format!(" {y}")).unwrap_or_default();
            view! {
                <tr data-testid="filing-row" data-kind=f.kind.as_sql() data-status=f.status.as_sql()>
                    <td>{kind_text(f.kind, lang)}{year}</td>
                    <td>{ecert_core::time::format_cst(ecert_core::Millis(f.submitted_at))}</td>
                    <td data-testid="filing-status">{status_text(f.status, lang)}</td>
                    <td class="pre" data-testid="filing-note">{f.review_note.unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="records" data-testid="filings">
            <thead><tr>
                <th>{t(T::FilingKindLabel)}</th><th>{t(T::FilingSubmittedAt)}</th>
                <th>{t(T::Status)}</th><th>{t(T::FilingReviewNote)}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
