//! Usage records in the dashboard (R12): one filtered page at a time and a CSV export, each
//! limited to what the caller may see (R7, decided in `ecert_core::usage`).

use ecert_core::usage::{UsageFilter, UsageKind, UsagePage};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;

use crate::error::AppError;
use crate::i18n::{T, role_text, t, use_lang};

/// R7, R12: one page of the usage records the caller may see.
#[server(endpoint = "dashboard_usage", input = Json)]
pub async fn dashboard_usage(filter: UsageFilter) -> Result<UsagePage, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::usage::list(&state.db, &caller, &filter).await?)
}

/// The first manager's CSV export of the filtered usage records.
#[server(endpoint = "dashboard_usage_csv", input = Json)]
pub async fn dashboard_usage_csv(filter: UsageFilter) -> Result<String, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::usage::csv(&state.db, &caller, &filter, crate::i18n::detect_lang()).await?)
}

/// Usage records: filter by kind and dates, page through, and (first manager) export as CSV.
#[component]
pub(super) fn UsagePanel(is_first: bool) -> impl IntoView {
    let lang = use_lang();
    let (kind, set_kind) = signal(String::new());
    let (from_day, set_from_day) = signal(String::new());
    let (to_day, set_to_day) = signal(String::new());
    let (page, set_page) = signal(0_i64);
    let page_count = RwSignal::new(1_i64);
    let (csv, set_csv) = signal(None::<String>);
    let filter =
        move || UsageFilter { kind: kind.get(), from_day: from_day.get(), to_day: to_day.get(), page: page.get() };
    let records = LocalResource::new(move || dashboard_usage(filter()));
    let export = move |_| {
        let f = UsageFilter { page: 0, ..filter() };
        spawn_local(async move {
            if let Ok(text) = dashboard_usage_csv(f).await {
                set_csv.set(Some(text));
            }
        });
    };
    let kind_text = move |k: Option<UsageKind>| crate::i18n::usage_kind_text(k, lang);
    view! {
        <section class="panel" aria-labelledby="usage-title">
            <h2 id="usage-title">{t(T::UsageRecords)}</h2>
            <div class="row filters">
                <label>{t(T::UsageKind)}
                    <select on:change=move |ev| { set_page.set(0); set_kind.set(event_target_value(&ev)); }>
                        {std::iter::once(None).chain(UsageKind::ALL.iter().copied().map(Some)).map(|k| {
                            view! { <option value=k.map_or("", UsageKind::as_sql)>{kind_text(k)}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>{t(T::FromDay)}<input type="date" on:change=move |ev| { set_page.set(0); set_from_day.set(event_target_value(&ev)); } /></label>
                <label>{t(T::ToDay)}<input type="date" on:change=move |ev| { set_page.set(0); set_to_day.set(event_target_value(&ev)); } /></label>
                {is_first.then(|| view! { <button type="button" class="small secondary" on:click=export>{t(T::ExportCsv)}</button> })}
            </div>
            {move || csv.get().map(|text| {
                let href = format!("data:text/csv;charset=utf-8,{}", js_encode(&format!("\u{feff}{text}")));
                view! { <p><a href=href download="usage-records.csv" data-testid="csv-link">{t(T::DownloadCsv)}</a></p> }
            })}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match records.await {
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                        Ok(p) => {
                            page_count.set(crate::lists::page_count(p.total, p.per_page));
                            let summary = format!("{} / {} · {}", p.page + 1, page_count.get_untracked(), p.total);
                            let rows = p.items.into_iter().map(|r| view! {
                                <tr data-testid="usage-row">
                                    <td>{ecert_core::time::format_cst(ecert_core::Millis(r.at))}</td>
                                    <td>{kind_text(Some(r.kind))}</td>
                                    <td>{ecert_core::usage::system_text(&r.system, lang)}</td>
                                    <td>{r.holder_name} " · " {r.role.map_or("", |role| role_text(role, lang))}</td>
                                    <td>{ecert_core::usage::result_text(&r.result, lang)}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <table class="records">
                                    <thead><tr><th>{t(T::UsageTime)}</th><th>{t(T::UsageKind)}</th><th>{t(T::UsageSystem)}</th><th>{t(T::Holder)}</th><th>{t(T::UsageResult)}</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                                <crate::lists::Pager page set_page pages=page_count summary summary_testid="usage-page" />
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Percent-encodes text for a `data:` URL (everything but RFC 3986's unreserved characters).
fn js_encode(text: &str) -> String {
    ecert_core::oidc::percent_encode(text)
}
