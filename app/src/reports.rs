//! The public annual-report list (`/annual-reports`, 年度报告公示; issue 18 §1, R23): the annual
//! reports the registration authorities approved, newest first, found by name or credit code,
//! each readable in full. Rendered on the server, readable without JavaScript: the search is a
//! plain GET form and a report is `?id=`.

use ecert_core::filing::{PublishedReport, PublishedReportDetail};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

/// Published reports matching `q` (part of the name, or the whole credit code), a page at a time
/// after `after` (the cursor of the last one shown).
#[server(endpoint = "annual_reports")]
pub async fn annual_reports(q: String, after: Option<String>) -> Result<Vec<PublishedReport>, AppError> {
    let state = crate::state::app_state()?;
    Ok(ecert_core::filing::published(&state.db, &q, after.as_deref()).await?)
}

#[server(endpoint = "annual_report")]
pub async fn annual_report(id: String) -> Result<PublishedReportDetail, AppError> {
    let state = crate::state::app_state()?;
    Ok(ecert_core::filing::published_report(&state.db, &id).await?)
}

#[component]
pub fn ReportsPage() -> impl IntoView {
    let query = use_query_map();
    let id = move || query.with(|q| q.get("id")).filter(|id| !id.is_empty());
    view! {
        <h1>{t(T::ReportsTitle)}</h1>
        {move || match id() {
            Some(id) => view! { <Report id /> }.into_any(),
            None => view! { <ReportList /> }.into_any(),
        }}
    }
}

#[component]
fn ReportList() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let q = move || query.with(|q| q.get("q")).unwrap_or_default();
    let after = move || query.with(|q| q.get("after")).filter(|a| !a.is_empty());
    let list = Resource::new(move || (q(), after()), |(q, after)| annual_reports(q, after));
    view! {
        <p class="lead">{t(T::ReportsLead)}</p>
        <form method="get" action="/annual-reports" class="row" role="search">
            <label>{t(T::ReportsSearch)}<input name="q" maxlength="100" value=q /></label>
            <button type="submit">{t(T::Search)}</button>
        </form>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(rows) if rows.is_empty() => view! { <p>{t(T::NoReports)}</p> }.into_any(),
                    Ok(rows) => {
                        let more = (rows.len() as i64 >= ecert_core::filing::PUBLIC_PAGE)
                            .then(|| rows.last().map(PublishedReport::cursor))
                            .flatten()
                            .map(|after| format!("/annual-reports?q={}&after={}", urlencode(&q()), urlencode(&after)));
                        let rows = rows.into_iter().map(|r| view! {
                            <tr data-testid="report-row">
                                <td><a href=format!("/annual-reports?id={}", r.id)>{r.institution_name}</a></td>
                                <td><code>{r.credit_code}</code></td>
                                <td data-testid="report-year">{r.year}</td>
                                <td>{ecert_core::time::format_cst(ecert_core::Millis(r.published_at))}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <table class="records" data-testid="reports">
                                <thead><tr>
                                    <th>{t(T::InstitutionName)}</th><th>{t(T::CreditCode)}</th>
                                    <th>{t(T::FilingYear)}</th><th>{t(T::ReportPublishedAt)}</th>
                                </tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                            {more.map(|href| view! { <p><a href=href>{t(T::MoreReports)}</a></p> })}
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A search text as a query parameter.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn Report(id: String) -> impl IntoView {
    let lang = use_lang();
    let report = Resource::new(move || id.clone(), annual_report);
    view! {
        <div class="list-slot">
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(d) => {
                        let facts = report_facts(&d.report)
                            .into_iter()
                            .map(|(label, value)| view! { <dt>{label.get(lang)}</dt><dd class="pre">{value}</dd> })
                            .collect_view();
                        view! {
                            <article class="panel" data-testid="report">
                                <h2>{d.line.institution_name.clone()} " · " {d.line.year} {lang.pick("年度", "")}</h2>
                                <dl class="facts">
                                    <dt>{t(T::CreditCode)}</dt><dd><code>{d.line.credit_code.clone()}</code></dd>
                                    <dt>{t(T::ReportPublishedAt)}</dt><dd>{ecert_core::time::format_cst(ecert_core::Millis(d.line.published_at))}</dd>
                                    {facts}
                                </dl>
                            </article>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
        </div>
        <p><a href="/annual-reports">{t(T::ReportBack)}</a></p>
    }
}

/// The sections of an annual report, in the order of the form.
pub(crate) fn report_facts(r: &ecert_core::filing::AnnualReport) -> Vec<(T, String)> {
    vec![
        (T::FilingYear, r.year.to_string()),
        (T::FilingActivities, r.activities.clone()),
        (T::FilingNetAssetsStart, r.net_assets_start.clone()),
        (T::FilingNetAssetsEnd, r.net_assets_end.clone()),
        (T::FilingAssetsStart, r.assets_start.clone()),
        (T::FilingAssetsEnd, r.assets_end.clone()),
        (T::FilingCompliance, r.change_compliance.clone()),
        (T::FilingPerformance, r.performance.clone()),
        (T::FilingLitigation, r.litigation.clone()),
        (T::FilingComplaints, r.complaints.clone()),
        (T::FilingOther, r.other.clone()),
    ]
}
