//! Statistics, lists and the subtree's certificates (issue 15 §2–3, seed 002), for an authority's
//! auditors and administrators: counts per day, month or year of the authority or one below it
//! with a chart drawn on the server (SVG) and the table beside it, the issuance list (发证清单)
//! and usage list (用证清单), each exportable as CSV; and a search over the certificates of every
//! authority below, without any person's data (R22).

use ecert_core::authority::AuthorityView;
use ecert_core::certificate::CertificatePage;
use ecert_core::stats::{IssuedLine, Statistics, UsedLine};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

#[cfg(feature = "ssr")]
fn stats_query(
    authority_id: String,
    period: String,
    from_day: String,
    to_day: String,
) -> ecert_core::stats::StatsQuery {
    ecert_core::stats::StatsQuery { authority_id, period, from_day, to_day }
}

/// The caller's authority and every one below it, for choosing whose figures to read.
#[server(endpoint = "authority_subtree")]
pub async fn authority_subtree() -> Result<Vec<AuthorityView>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::authority::subtree(&state.db, &staff).await?)
}

#[server(endpoint = "authority_statistics")]
pub async fn authority_statistics(
    authority_id: String,
    period: String,
    from_day: String,
    to_day: String,
) -> Result<Statistics, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let q = stats_query(authority_id, period, from_day, to_day);
    let lang = crate::i18n::detect_lang();
    Ok(ecert_core::stats::statistics(&state.db, &staff, &q, lang, ecert_core::Millis::now()).await?)
}

/// One of the exports: `stats` (the table), `issued` (发证清单) or `used` (用证清单), as CSV.
#[server(endpoint = "statistics_csv")]
pub async fn statistics_csv(
    list: String,
    authority_id: String,
    period: String,
    from_day: String,
    to_day: String,
) -> Result<String, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let q = stats_query(authority_id, period, from_day, to_day);
    let now = ecert_core::Millis::now();
    let lang = crate::i18n::detect_lang();
    Ok(match list.as_str() {
        "issued" => ecert_core::stats::issued_csv(&state.db, &staff, &q, now, lang).await?,
        "used" => ecert_core::stats::used_csv(&state.db, &staff, &q, now, lang).await?,
        "stats" => ecert_core::stats::statistics(&state.db, &staff, &q, lang, now).await?.csv(lang),
        _ => return Err(ecert_core::DomainError::field("list", ecert_core::Problem::BadFormat).into()),
    })
}

/// A page of the issuance list (发证清单) and how many lines in all.
#[server(endpoint = "issuance_list")]
pub async fn issuance_list(
    authority_id: String,
    period: String,
    from_day: String,
    to_day: String,
    page: i64,
) -> Result<(Vec<IssuedLine>, i64), AppError> {
    use ecert_core::stats::LIST_PAGE;
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let q = stats_query(authority_id, period, from_day, to_day);
    let window = (page.clamp(0, 10_000) * LIST_PAGE, LIST_PAGE);
    Ok(ecert_core::stats::issued(&state.db, &staff, &q, window, ecert_core::Millis::now()).await?)
}

/// A page of the usage list (用证清单) and how many lines in all.
#[server(endpoint = "usage_list")]
pub async fn usage_list(
    authority_id: String,
    period: String,
    from_day: String,
    to_day: String,
    page: i64,
) -> Result<(Vec<UsedLine>, i64), AppError> {
    use ecert_core::stats::LIST_PAGE;
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let q = stats_query(authority_id, period, from_day, to_day);
    let window = (page.clamp(0, 10_000) * LIST_PAGE, LIST_PAGE);
    Ok(ecert_core::stats::used(&state.db, &staff, &q, window, ecert_core::Millis::now()).await?)
}

/// The certificates of the caller's subtree (or of one authority in it), without persons' data.
#[server(endpoint = "subtree_certificates")]
pub async fn subtree_certificates(
    text: String,
    status: String,
    scope: String,
    page: i64,
    #[server(default)] after: String,
) -> Result<CertificatePage, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let scope = if scope.is_empty() { ecert_core::certificate::SCOPE_SUBTREE.to_owned() } else { scope };
    let query = ecert_core::certificate::CertificateQuery { text, status, page, scope, after };
    Ok(ecert_core::certificate::search(&state.db, &staff, &query, ecert_core::Millis::now()).await?)
}

fn csv_link(text: &str, file: &'static str, testid: &'static str) -> impl IntoView + use<> {
    let href = crate::lists::data_href("text/csv", text);
    view! { <a href=href download=file data-testid=testid>{t(T::DownloadFile)} " " {file}</a> }
}

/// What the statistics are asked for, shared by the chart, the lists and the exports.
#[derive(Clone, Copy)]
struct Ask {
    authority: RwSignal<String>,
    period: RwSignal<String>,
    from_day: RwSignal<String>,
    to_day: RwSignal<String>,
}

impl Ask {
    fn get(self) -> (String, String, String, String) {
        (self.authority.get(), self.period.get(), self.from_day.get(), self.to_day.get())
    }

    fn get_untracked(self) -> (String, String, String, String) {
        (
            self.authority.get_untracked(),
            self.period.get_untracked(),
            self.from_day.get_untracked(),
            self.to_day.get_untracked(),
        )
    }
}

/// Statistics with chart and table, the two lists and their exports.
#[component]
pub fn StatisticsPanel() -> impl IntoView {
    let lang = use_lang();
    let ask = Ask {
        authority: RwSignal::new(String::new()),
        period: RwSignal::new(String::new()),
        from_day: RwSignal::new(String::new()),
        to_day: RwSignal::new(String::new()),
    };
    let authorities = LocalResource::new(authority_subtree);
    let stats = LocalResource::new(move || {
        let (a, p, f, to) = ask.get();
        authority_statistics(a, p, f, to)
    });
    let (csv, set_csv) = signal(None::<(String, &'static str, &'static str)>);
    let export = move |list: &'static str, file: &'static str, testid: &'static str| {
        let (a, p, f, to) = ask.get_untracked();
        spawn_local(async move {
            if let Ok(text) = statistics_csv(list.to_owned(), a, p, f, to).await {
                set_csv.set(Some((text, file, testid)));
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="stats-title" data-testid="stats-panel">
            <h2 id="stats-title">{t(T::Statistics)}</h2>
            <div class="row filters">
                <label>{t(T::WhichAuthority)}
                    <select data-testid="stats-authority" on:change=move |ev| ask.authority.set(event_target_value(&ev))>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                authorities.await.unwrap_or_default().into_iter().map(|a| {
                                    let label = format!("{} ({})", a.name, a.region_code);
                                    view! { <option value=a.id>{label}</option> }
                                }).collect_view()
                            })}
                        </Suspense>
                    </select>
                </label>
                <label>{t(T::PeriodKind)}
                    <select data-testid="stats-period" on:change=move |ev| ask.period.set(event_target_value(&ev))>
                        <option value="month">{ecert_core::stats::Period::Month.label(lang)}</option>
                        <option value="day">{ecert_core::stats::Period::Day.label(lang)}</option>
                        <option value="year">{ecert_core::stats::Period::Year.label(lang)}</option>
                    </select>
                </label>
                <label>{t(T::FromDay)}<input type="date" on:change=move |ev| ask.from_day.set(event_target_value(&ev)) /></label>
                <label>{t(T::ToDay)}<input type="date" on:change=move |ev| ask.to_day.set(event_target_value(&ev)) /></label>
            </div>
            <div class="row">
                <button type="button" class="small secondary" data-testid="export-stats" on:click=move |_| export("stats", "statistics.csv", "stats-csv-link")>{t(T::ExportStatistics)}</button>
                <button type="button" class="small secondary" data-testid="export-issued" on:click=move |_| export("issued", "issuance-list.csv", "issued-csv-link")>{t(T::ExportIssuanceList)}</button>
                <button type="button" class="small secondary" data-testid="export-used" on:click=move |_| export("used", "usage-list.csv", "used-csv-link")>{t(T::ExportUsageList)}</button>
            </div>
            {move || csv.get().map(|(text, file, testid)| view! { <p>{csv_link(&text, file, testid)}</p> })}
            <div class="stats-slot">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match stats.await {
                        Ok(s) => view! { <StatisticsView s /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Suspense>
            </div>
            <Lists ask />
        </section>
    }
}

#[component]
fn StatisticsView(s: Statistics) -> impl IntoView {
    let lang = use_lang();
    let rows = s
        .rows
        .iter()
        .map(|r| {
            view! {
                <tr data-testid="stats-row">
                    <td>{r.label.clone()}</td>
                    <td data-testid="stats-issued">{r.issued}</td>
                    <td>{r.claimed}</td>
                    <td>{r.ended}</td>
                    <td>{r.logins}</td>
                    <td>{r.counter_checks}</td>
                    <td>{r.public_checks}</td>
                    <td>{r.signatures}</td>
                </tr>
            }
        })
        .collect_view();
    let below = s
        .below
        .iter()
        .map(|b| {
            view! {
                <tr data-testid="below-row" data-region=b.region_code.clone()>
                    <td>{b.name.clone()} " (" {b.region_code.clone()} ")"</td>
                    <td data-testid="below-issued">{b.issued}</td>
                    <td data-testid="below-active">{b.active}</td>
                </tr>
            }
        })
        .collect_view();
    let parties = s
        .parties
        .iter()
        .map(|p| {
            let name = if p.party.is_empty() { T::NoRelyingParty.get(lang).to_owned() } else { p.party.clone() };
            view! { <tr><td>{name}</td><td>{p.count}</td></tr> }
        })
        .collect_view();
    view! {
        <p data-testid="stats-summary">
            {s.authority_name.clone()} " · " {s.from_day.clone()} " – " {s.to_day.clone()} " · "
            {t(T::ActiveCertificates)} " " <strong data-testid="stats-active">{s.active}</strong> " · "
            {t(T::StatusExpired)} " " <span data-testid="stats-expired">{s.expired}</span> " · "
            {t(T::StatusCancelled)} " " {s.cancelled} " · " {t(T::StatusDeleted)} " " {s.deleted} " · "
            {t(T::Managers)} " " {s.managers} " · " {t(T::Users)} " " {s.users}
        </p>
        <div class="chart-and-table">
            <div class="chart" inner_html=s.chart_svg.clone()></div>
            <table class="records" data-testid="stats-table">
                <thead><tr>
                    <th>{t(T::PeriodKind)}</th><th>{t(T::Issued)}</th><th>{t(T::Claimed)}</th><th>{t(T::Ended)}</th>
                    <th>{t(T::ScanLogins)}</th><th>{t(T::CounterChecks)}</th><th>{t(T::PublicChecks)}</th><th>{t(T::Signatures)}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        {(!s.below.is_empty()).then(|| view! {
            <h3>{t(T::AuthoritiesBelow)}</h3>
            <table class="records" data-testid="below-table">
                <thead><tr><th>{t(T::AuthorityName)}</th><th>{t(T::Issued)}</th><th>{t(T::ActiveCertificates)}</th></tr></thead>
                <tbody>{below}</tbody>
            </table>
        })}
        {(!s.parties.is_empty()).then(|| view! {
            <h3>{t(T::UsageByParty)}</h3>
            <table class="records"><tbody>{parties}</tbody></table>
        })}
    }
}

/// The issuance and usage lists of what is asked, a page at a time.
#[component]
fn Lists(ask: Ask) -> impl IntoView {
    let lang = use_lang();
    let (issued_page, set_issued_page) = signal(0_i64);
    let (used_page, set_used_page) = signal(0_i64);
    let issued = LocalResource::new(move || {
        let (a, p, f, to) = ask.get();
        issuance_list(a, p, f, to, issued_page.get())
    });
    let used = LocalResource::new(move || {
        let (a, p, f, to) = ask.get();
        usage_list(a, p, f, to, used_page.get())
    });
    let (issued_pages, used_pages) = (RwSignal::new(1_i64), RwSignal::new(1_i64));
    // The pager of one list: its count set from this render's total.
    let pager = move |total: i64, page: ReadSignal<i64>, set_page: WriteSignal<i64>, pages: RwSignal<i64>| {
        pages.set(crate::lists::page_count(total, ecert_core::stats::LIST_PAGE));
        let summary = format!("{} / {} · {total}", page.get_untracked() + 1, pages.get_untracked());
        view! { <crate::lists::Pager page set_page pages summary /> }
    };
    view! {
        <h3>{t(T::IssuanceList)}</h3>
        <div class="list-slot">
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match issued.await {
                    Ok((lines, total)) => {
                        let rows = lines.into_iter().map(|l| view! {
                            <tr data-testid="issued-row">
                                <td>{ecert_core::time::format_cst(ecert_core::Millis(l.issued_at))}</td>
                                <td>{l.institution_name}</td>
                                <td><code>{l.credit_code}</code></td>
                                <td><code>{l.serial}</code></td>
                                <td>{l.authority_name}</td>
                                <td>{if l.claimed { T::Claimed.get(lang) } else { T::NotClaimed.get(lang) }}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <table class="records" data-testid="issued-table"><tbody>{rows}</tbody></table>
                            {pager(total, issued_page, set_issued_page, issued_pages)}
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
        </div>
        <h3>{t(T::UsageList)}</h3>
        <div class="list-slot">
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match used.await {
                    Ok((lines, total)) => {
                        let rows = lines.into_iter().map(|l| view! {
                            <tr data-testid="used-row">
                                <td>{ecert_core::time::format_cst(ecert_core::Millis(l.at))}</td>
                                <td>{crate::i18n::usage_kind_text(Some(l.kind), lang)}</td>
                                <td>{ecert_core::usage::system_text(&l.system, lang)}</td>
                                <td>{l.institution_name}</td>
                                <td><code>{l.serial}</code></td>
                                <td>{ecert_core::usage::result_text(&l.result, lang)}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <table class="records" data-testid="used-table"><tbody>{rows}</tbody></table>
                            {pager(total, used_page, set_used_page, used_pages)}
                        }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
        </div>
    }
}

/// A search over the certificates of every authority below the caller's (R22: institutions'
/// registration data and status only; a certificate's page is its own authority's).
#[component]
pub fn SubtreePanel() -> impl IntoView {
    let lang = use_lang();
    let (text, set_text) = signal(String::new());
    let (status, set_status) = signal(String::new());
    let (page, set_page) = signal(0_i64);
    let page_count = RwSignal::new(1_i64);
    let cursors = crate::lists::Cursors::new();
    let certificates = LocalResource::new(move || {
        let page = page.get();
        subtree_certificates(text.get(), status.get(), String::new(), page, cursors.start_of(page))
    });
    view! {
        <section class="panel" aria-labelledby="subtree-title" data-testid="subtree-panel">
            <h2 id="subtree-title">{t(T::SubtreeCertificates)}</h2>
            <form class="row filters" role="search" on:submit=move |ev| ev.prevent_default()>
                <label>{t(T::FindInSubtree)}
                    <input type="search" maxlength="100" data-testid="subtree-search"
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
            <div class="list-slot">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match certificates.await {
                        Ok(p) => {
                            cursors.record(p.page, &p.next);
                            page_count.set(crate::lists::Cursors::pages(p.page, p.total, p.per_page, &p.next));
                            let total = if p.total > ecert_core::certificate::COUNT_CAP {
                                format!("{}+", ecert_core::certificate::COUNT_CAP)
                            } else {
                                p.total.to_string()
                            };
                            let rows = p.items.into_iter().map(|c| view! {
                                <tr data-testid="subtree-row">
                                    <td>{c.institution_name}</td>
                                    <td><code>{c.credit_code}</code></td>
                                    <td><code>{c.serial}</code></td>
                                    <td>{c.authority_name}</td>
                                    <td data-testid="subtree-person">{c.first_manager_name}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <table class="list">
                                    <thead><tr>
                                        <th>{t(T::InstitutionName)}</th><th>{t(T::CreditCode)}</th><th>{t(T::Serial)}</th>
                                        <th>{t(T::AuthorityName)}</th><th>{t(T::FirstManager)}</th>
                                    </tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                                <crate::lists::Pager page set_page pages=page_count summary_testid="subtree-page"
                                    summary=format!("{} / {} · {total}", p.page + 1, page_count.get_untracked()) />
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Suspense>
            </div>
        </section>
    }
}
