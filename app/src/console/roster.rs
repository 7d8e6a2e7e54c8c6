//! 应发尽发 in the console (issue 15 §3): import the registration list (a CSV file), see which
//! institutions have a certificate yet, and issue to a selection with claim slips.

use ecert_core::roster::{ImportReport, RosterPage};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use super::selection::{ClaimSlip, Slip};
use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

#[server(endpoint = "roster_import")]
pub async fn roster_import(csv: String) -> Result<ImportReport, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::roster::import(&state.db, &staff, &csv, ecert_core::Millis::now(), &state.random).await?)
}

#[server(endpoint = "roster_list")]
pub async fn roster_list(text: String, without_only: bool, page: i64) -> Result<RosterPage, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::roster::page(&state.db, &staff, &text, without_only, page).await?)
}

/// One institution of a bulk issue: its slip, or why it was not issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkLine {
    pub credit_code: String,
    pub slip: Option<ClaimSlip>,
    pub error: Option<String>,
}

#[server(endpoint = "roster_bulk_issue", input = leptos::server_fn::codec::Json)]
pub async fn roster_bulk_issue(credit_codes: Vec<String>) -> Result<Vec<BulkLine>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let lang = crate::i18n::detect_lang();
    let now = ecert_core::Millis::now();
    let results = ecert_core::roster::bulk_issue(
        &state.db,
        &staff,
        &credit_codes,
        &state.identity,
        state.issue_policy,
        now,
        &state.random,
    )
    .await?;
    let mut lines = Vec::new();
    for (credit_code, result) in results {
        lines.push(match result {
            Ok(claim) => {
                BulkLine { credit_code, slip: Some(super::selection::slip(&staff, claim).await?), error: None }
            }
            Err(e) => BulkLine { credit_code, slip: None, error: Some(e.message(lang)) },
        });
    }
    Ok(lines)
}

/// Reads the file chosen in a file input as text (UTF-8).
#[cfg(feature = "hydrate")]
async fn read_file(input: web_sys::HtmlInputElement) -> Option<String> {
    let file = input.files()?.get(0)?;
    let text = wasm_bindgen_futures::JsFuture::from(file.text()).await.ok()?;
    text.as_string()
}

#[component]
pub fn RosterPanel(operate: bool) -> impl IntoView {
    let lang = use_lang();
    let import = ServerAction::<RosterImport>::new();
    let csv = RwSignal::new(String::new());
    let (text, set_text) = signal(String::new());
    let (without, set_without) = signal(false);
    let (page, set_page) = signal(0_i64);
    let page_count = RwSignal::new(1_i64);
    let selected = RwSignal::new(Vec::<String>::new());
    let (issued, set_issued) = signal(Vec::<BulkLine>::new());
    let (busy, set_busy) = signal(false);
    let bump = RwSignal::new(0_u32);
    let list = LocalResource::new(move || {
        import.version().track();
        bump.track();
        roster_list(text.get(), without.get(), page.get())
    });
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                spawn_local(async move {
                    if let Some(text) = read_file(input).await {
                        csv.set(text);
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let issue = move |_| {
        let codes = selected.get_untracked();
        if codes.is_empty() {
            return;
        }
        set_busy.set(true);
        spawn_local(async move {
            let result = roster_bulk_issue(codes).await;
            set_busy.set(false);
            match result {
                Ok(lines) => set_issued.set(lines),
                Err(e) => set_issued.set(vec![BulkLine {
                    credit_code: String::new(),
                    slip: None,
                    error: Some(e.message(lang)),
                }]),
            }
            selected.set(Vec::new());
            bump.update(|n| *n += 1);
        });
    };
    let report = move || {
        import.value().get().map(|r| match r {
            Ok(r) => {
                let errors = r
                    .errors
                    .into_iter()
                    .map(|e| view! { <li>{format!("{} {} · {}", T::LineNo.get(lang), e.line, e.error.message(lang))}</li> })
                    .collect_view();
                view! {
                    <p data-testid="roster-imported">{T::RosterImported.get(lang)} " " {r.imported}</p>
                    <ul class="error" data-testid="roster-errors">{errors}</ul>
                }
                .into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="roster-title" data-testid="roster-panel">
            <h2 id="roster-title">{t(T::RosterTitle)}</h2>
            <p class="hint">{t(T::RosterHint)}</p>
            <ActionForm action=import attr:class="stack">
                <label>{t(T::RosterFile)}<input type="file" accept=".csv,text/csv" on:change=on_file /></label>
                <label>{t(T::RosterText)}<textarea name="csv" rows="4" bind:value=csv></textarea></label>
                <button type="submit" disabled=move || import.pending().get()>{t(T::RosterImport)}</button>
            </ActionForm>
            {report}
            <form class="row filters" role="search" on:submit=move |ev| ev.prevent_default()>
                <label>{t(T::FindInRoster)}
                    <input type="search" maxlength="100" on:input=move |ev| { set_page.set(0); set_text.set(event_target_value(&ev)); } />
                </label>
                <label class="inline">
                    <input type="checkbox" data-testid="roster-without" on:change=move |ev| { set_page.set(0); set_without.set(event_target_checked(&ev)); } />
                    {t(T::WithoutCertificateOnly)}
                </label>
            </form>
            <div class="list-slot">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(p) => {
                            page_count.set(crate::lists::page_count(p.total, p.per_page));
                            let summary = format!("{} / {} · {}", p.page + 1, page_count.get_untracked(), p.total);
                            let rows = p.items.into_iter().map(|r| {
                                let code = r.credit_code.clone();
                                let pick = (operate && r.own && !r.has_certificate).then(|| {
                                    let (shown, changed) = (code.clone(), code.clone());
                                    let change = move |ev| {
                                        let on = event_target_checked(&ev);
                                        selected.update(|s| {
                                            s.retain(|c| c != &changed);
                                            if on {
                                                s.push(changed.clone());
                                            }
                                        });
                                    };
                                    view! {
                                        <input type="checkbox" data-testid="roster-pick"
                                            prop:checked=move || selected.with(|s| s.contains(&shown)) on:change=change />
                                    }
                                });
                                view! {
                                    <tr data-testid="roster-row">
                                        <td>{pick}</td>
                                        <td>{r.name}</td>
                                        <td><code>{r.credit_code}</code></td>
                                        <td>{r.legal_rep_name}</td>
                                        <td>{r.authority_name}</td>
                                        <td data-testid="roster-state">{if r.has_certificate { T::HasCertificate.get(lang) } else { T::NoCertificateYet.get(lang) }}</td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <p data-testid="roster-coverage">{T::RosterCoverage.get(lang)} " " {p.covered} " / " {p.listed}</p>
                                <table class="list"><tbody>{rows}</tbody></table>
                                <crate::lists::Pager page set_page pages=page_count summary />
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Suspense>
            </div>
            {operate.then(|| view! {
                <button type="button" data-testid="roster-issue" disabled=move || busy.get() || selected.with(Vec::is_empty) on:click=issue>
                    {t(T::IssueSelected)} " (" {move || selected.with(Vec::len)} ")"
                </button>
            })}
            {move || {
                issued.get().into_iter().map(|l| match (l.slip, l.error) {
                    (Some(slip), _) => view! { <Slip slip /> }.into_any(),
                    (None, e) => view! { <p class="error" data-testid="roster-issue-error">{l.credit_code} " " {e}</p> }.into_any(),
                }).collect_view()
            }}
        </section>
    }
}
