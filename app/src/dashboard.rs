//! The manager dashboard, entered by scan login (R11): managers (R3–R5), users and their grants
//! (R6), removal (R8) and change records, each shown as R7 allows. Every server function here
//! checks the session's holder, device and certificate again (R8: removal takes effect at once).

use ecert_core::holder::{ChangeView, GrantStatus, HolderStatus, HolderView, MAX_MANAGERS, MatterView, Role};
use ecert_core::usage::{UsageFilter, UsageKind, UsagePage};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::{T, change_text, role_text, t, use_lang};
pub use crate::scan_login::LoginQr;
use crate::scan_login::{Endings, Polled, ScanLoginPanel};

/// Who is signed in to the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub holder_id: String,
    pub role: Role,
    pub institution_name: String,
    pub credit_code: String,
    pub serial: String,
}

/// A face-to-face authorization QR (R5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceToFace {
    pub holder_id: String,
    pub qr_svg: String,
    pub url: String,
    pub expires_at: i64,
}

#[cfg(feature = "ssr")]
fn face_to_face(code: ecert_core::holder::AuthorizeCode) -> FaceToFace {
    let state = crate::state::app_state();
    let url = format!("{}/wallet/accept?code={}", state.public_url, code.code.expose());
    FaceToFace { holder_id: code.holder_id, qr_svg: crate::qr::svg(&url), url, expires_at: code.expires_at.0 }
}

#[server(endpoint = "dashboard_me")]
pub async fn dashboard_me() -> Result<Option<Me>, AppError> {
    let Some(caller) = crate::guard::holder_if_signed_in().await? else { return Ok(None) };
    let state = crate::state::app_state();
    let (institution_name, credit_code, serial) = ecert_core::holder::certificate_summary(&state.db, &caller).await?;
    Ok(Some(Me { holder_id: caller.holder_id, role: caller.role, institution_name, credit_code, serial }))
}

/// Starts a scan login for this browser: the QR for the phone, and a cookie to poll with.
#[server(endpoint = "dashboard_login_start")]
pub async fn login_start() -> Result<LoginQr, AppError> {
    let state = crate::state::app_state();
    let now = ecert_core::Millis::now();
    let started = ecert_core::login::start(&state.db, ecert_core::login::DASHBOARD, now, &state.random).await?;
    crate::session::set_session_cookie(
        crate::session::LOGIN_COOKIE,
        started.browser.expose(),
        Some(started.expires_at),
        now,
    );
    let url = format!("{}/wallet/login?code={}", state.public_url, started.code.expose());
    Ok(LoginQr { qr_svg: crate::qr::svg(&url), url, match_code: started.match_code, expires_at: started.expires_at.0 })
}

/// The hot path the login page polls: `waiting`, `scanned`, `confirmed` (this call then opens
/// the session, once), `rejected`, `expired` or `unknown`.
#[server(endpoint = "dashboard_login_status")]
pub async fn login_status() -> Result<ecert_core::login::LoginState, AppError> {
    let state = crate::state::app_state();
    let Some(browser) = crate::session::cookie(crate::session::LOGIN_COOKIE) else {
        return Ok(ecert_core::login::LoginState::Unknown);
    };
    let now = ecert_core::Millis::now();
    let login_state = ecert_core::login::poll(&state.db, &browser, now).await?;
    if login_state == ecert_core::login::LoginState::Confirmed {
        if let Some(session) = ecert_core::login::consume(&state.db, &browser, now, &state.random).await? {
            use crate::session::{HOLDER_COOKIE, LOGIN_COOKIE, set_session_cookie};
            set_session_cookie(HOLDER_COOKIE, session.token.expose(), Some(session.expires_at), now);
            set_session_cookie(LOGIN_COOKIE, "", None, now);
        }
    }
    Ok(login_state)
}

#[server(endpoint = "dashboard_sign_out")]
pub async fn dashboard_sign_out() -> Result<(), AppError> {
    use crate::session::{HOLDER_COOKIE, cookie, set_session_cookie};
    let state = crate::state::app_state();
    let now = ecert_core::Millis::now();
    if let Some(token) = cookie(HOLDER_COOKIE) {
        ecert_core::login::end_session(&state.db, &token, now).await?;
    }
    set_session_cookie(HOLDER_COOKIE, "", None, now);
    Ok(())
}

#[server(endpoint = "dashboard_holders")]
pub async fn dashboard_holders() -> Result<Vec<HolderView>, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state();
    Ok(ecert_core::holder::list(&state.db, &caller, ecert_core::Millis::now()).await?)
}

#[server(endpoint = "dashboard_catalogue")]
pub async fn dashboard_catalogue() -> Result<Vec<MatterView>, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state();
    Ok(ecert_core::holder::catalogue(&state.db, &caller.authority_id).await?)
}

#[server(endpoint = "dashboard_changes")]
pub async fn dashboard_changes() -> Result<Vec<ChangeView>, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state();
    Ok(ecert_core::holder::changes(&state.db, &caller, 100).await?)
}

/// Adds a manager (`role` = `manager`, first manager only, R3) or a user with a first grant
/// (`role` = `user`, R6); answers the face-to-face QR.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "dashboard_add_holder", input = Json)]
pub async fn add_holder(
    role: String,
    name: String,
    id_number: String,
    mobile: String,
    matter_ids: Vec<String>,
    start_day: String,
    end_day: String,
) -> Result<FaceToFace, AppError> {
    use ecert_core::certificate::PersonInput;
    use ecert_core::holder::GrantInput;
    let caller = crate::guard::holder().await?;
    let role = Role::parse(&role).map_err(|e| ecert_core::DomainError::Validation(vec![e]))?;
    let state = crate::state::app_state();
    let grant = GrantInput { matter_ids, start_day, end_day };
    let code = ecert_core::holder::add(
        &state.db,
        &caller,
        role,
        &PersonInput { name, id_number, mobile },
        (role == Role::User).then_some(&grant),
        &state.identity,
        ecert_core::Millis::now(),
        &state.random,
    )
    .await?;
    Ok(face_to_face(code))
}

/// R5: a fresh face-to-face QR for a pending manager or user.
#[server(endpoint = "dashboard_authorize_code")]
pub async fn authorize_code(holder_id: String) -> Result<FaceToFace, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state();
    let code =
        ecert_core::holder::authorize_code(&state.db, &caller, &holder_id, ecert_core::Millis::now(), &state.random)
            .await?;
    Ok(face_to_face(code))
}

#[server(endpoint = "dashboard_remove_holder")]
pub async fn remove_holder(holder_id: String) -> Result<(), AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state();
    Ok(ecert_core::holder::remove(&state.db, &caller, &holder_id, ecert_core::Millis::now(), &state.random).await?)
}

#[server(endpoint = "dashboard_add_grant", input = Json)]
pub async fn add_grant(
    holder_id: String,
    matter_ids: Vec<String>,
    start_day: String,
    end_day: String,
) -> Result<(), AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state();
    let grant = ecert_core::holder::GrantInput { matter_ids, start_day, end_day };
    ecert_core::holder::add_grant(&state.db, &caller, &holder_id, &grant, ecert_core::Millis::now(), &state.random)
        .await?;
    Ok(())
}

#[server(endpoint = "dashboard_cancel_grant")]
pub async fn cancel_grant(grant_id: String) -> Result<(), AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state();
    Ok(ecert_core::holder::cancel_grant(&state.db, &caller, &grant_id, ecert_core::Millis::now(), &state.random)
        .await?)
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let lang = use_lang();
    let me = Resource::new(|| (), |_| dashboard_me());
    view! {
        <h1>{t(T::ManagerDashboard)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(me)) => view! { <Dashboard me /> }.into_any(),
                    Ok(None) => view! { <LoginPanel /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn reload() {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
}

/// The session cookie is set by the poll that saw the login confirmed: reloading opens the
/// dashboard.
fn open_dashboard(polled: &Polled) {
    if polled.state == Some(ecert_core::login::LoginState::Confirmed) {
        reload();
    }
}

/// R11 on the PC: the shared scan-login panel; a confirmed login opens the dashboard.
#[component]
fn LoginPanel() -> impl IntoView {
    let endings = Endings { confirmed: T::LoginConfirmedPc, rejected: T::LoginRejectedPc, retry_after_reject: true };
    let poll = || async { login_status().await.map(|state| Polled { state: Some(state), redirect: None }) };
    view! {
        <ScanLoginPanel heading_id="login-title" start=|| async { login_start().await.map(Some) } poll endings over=open_dashboard>
            <p>{t(T::ScanToSignInHint)}</p>
        </ScanLoginPanel>
    }
}

#[component]
fn Dashboard(me: Me) -> impl IntoView {
    let lang = use_lang();
    let changed = RwSignal::new(0u32);
    // Loaded in the browser only: the dashboard is behind a session and needs no server rendering.
    let holders = LocalResource::new(move || {
        changed.track();
        dashboard_holders()
    });
    let changes = LocalResource::new(move || {
        changed.track();
        dashboard_changes()
    });
    let catalogue = LocalResource::new(dashboard_catalogue);
    let qr = RwSignal::new(None::<FaceToFace>);
    let error = RwSignal::new(None::<String>);
    let is_first = me.role == Role::FirstManager;
    let sign_out = move |_| {
        spawn_local(async move {
            let _ = dashboard_sign_out().await;
            reload();
        });
    };
    let ctx = DashCtx { changed, qr, error };
    provide_context(ctx);
    view! {
        <section class="panel" aria-labelledby="me-title">
            <h2 id="me-title" data-testid="dashboard-institution">{me.institution_name.clone()}</h2>
            <p>
                <code>{me.credit_code.clone()}</code> " · " <code>{me.serial.clone()}</code> " · "
                <span data-testid="my-role">{role_text(me.role, lang)}</span>
            </p>
            <button type="button" class="small secondary" on:click=sign_out>{t(T::SignOut)}</button>
        </section>
        <p class="error" role="alert" data-testid="dashboard-error">{move || error.get()}</p>
        {move || qr.get().map(|f| {
            let expires = ecert_core::time::format_cst(ecert_core::Millis(f.expires_at));
            view! {
                <section class="panel slip" aria-labelledby="f2f-title">
                    <h2 id="f2f-title">{t(T::FaceToFaceQr)}</h2>
                    <div class="qr" role="img" aria-label=T::FaceToFaceQr.get(lang) inner_html=f.qr_svg.clone()></div>
                    <p>{t(T::FaceToFaceHint)} " " {t(T::ValidUntil)} " " {expires} " (CST)"</p>
                    <p><a href=f.url.clone() rel="external" target="_blank" data-testid="accept-link">{t(T::AcceptLink)}</a></p>
                </section>
            }
        })}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let list = match holders.await {
                    Ok(list) => list,
                    Err(e) => return view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                };
                let matters = catalogue.await.unwrap_or_default();
                let records = changes.await.unwrap_or_default();
                let managers: Vec<HolderView> = list.iter().filter(|h| h.role == Role::Manager).cloned().collect();
                let users: Vec<HolderView> = list.iter().filter(|h| h.role == Role::User).cloned().collect();
                view! {
                    {is_first.then(|| view! {
                        <section class="panel" aria-labelledby="managers-title">
                            <h2 id="managers-title">{t(T::Managers)} " (" {managers.len()} "/" {MAX_MANAGERS} ")"</h2>
                            <HolderTable list=managers.clone() />
                            <AddHolder role=Role::Manager matters=Vec::new() />
                        </section>
                    })}
                    <section class="panel" aria-labelledby="users-title">
                        <h2 id="users-title">{t(T::Users)}</h2>
                        <HolderTable list=users.clone() />
                        <AddHolder role=Role::User matters=matters.clone() />
                    </section>
                    <UsagePanel is_first />
                    <section class="panel" aria-labelledby="changes-title">
                        <h2 id="changes-title">{t(T::ChangeRecords)}</h2>
                        <ul class="records" data-testid="changes">
                            {records.into_iter().map(|c| view! {
                                <li>{ecert_core::time::format_cst(ecert_core::Millis(c.at))} " " {change_text(c.kind, lang)}</li>
                            }).collect_view()}
                        </ul>
                    </section>
                }
                .into_any()
            })}
        </Transition>

    }
}

/// R7, R12: one page of the usage records the caller may see.
#[server(endpoint = "dashboard_usage", input = Json)]
pub async fn dashboard_usage(filter: UsageFilter) -> Result<UsagePage, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state();
    Ok(ecert_core::usage::list(&state.db, &caller, &filter).await?)
}

/// The first manager's CSV export of the filtered usage records.
#[server(endpoint = "dashboard_usage_csv", input = Json)]
pub async fn dashboard_usage_csv(filter: UsageFilter) -> Result<String, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state();
    Ok(ecert_core::usage::csv(&state.db, &caller, &filter).await?)
}

/// Usage records: filter by kind and dates, page through, and (first manager) export as CSV.
#[component]
fn UsagePanel(is_first: bool) -> impl IntoView {
    let lang = use_lang();
    let (kind, set_kind) = signal(String::new());
    let (from_day, set_from_day) = signal(String::new());
    let (to_day, set_to_day) = signal(String::new());
    let (page, set_page) = signal(0_i64);
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
                            let pages = ((p.total + p.per_page - 1) / p.per_page).max(1);
                            let rows = p.items.into_iter().map(|r| view! {
                                <tr data-testid="usage-row">
                                    <td>{ecert_core::time::format_cst(ecert_core::Millis(r.at))}</td>
                                    <td>{kind_text(Some(r.kind))}</td>
                                    <td>{if r.system == "public" { T::PublicCheck.get(lang).to_owned() } else if r.system == ecert_core::login::DASHBOARD { T::ManagerDashboard.get(lang).to_owned() } else { r.system }}</td>
                                    <td>{r.holder_name} " · " {r.role.map_or("", |role| role_text(role, lang))}</td>
                                    <td>{r.result}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <table class="records">
                                    <thead><tr><th>{t(T::UsageTime)}</th><th>{t(T::UsageKind)}</th><th>{t(T::UsageSystem)}</th><th>{t(T::Holder)}</th><th>{t(T::UsageResult)}</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                                <p class="row pager">
                                    <button type="button" class="small secondary" disabled=move || page.get() == 0 on:click=move |_| set_page.update(|p| *p -= 1)>{t(T::PrevPage)}</button>
                                    <span data-testid="usage-page">{p.page + 1} " / " {pages} " · " {p.total}</span>
                                    <button type="button" class="small secondary" disabled=move || page.get() + 1 >= pages on:click=move |_| set_page.update(|p| *p += 1)>{t(T::NextPage)}</button>
                                </p>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// Percent-encodes text for a `data:` URL (as `encodeURIComponent` does).
fn js_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Clone, Copy)]
struct DashCtx {
    changed: RwSignal<u32>,
    qr: RwSignal<Option<FaceToFace>>,
    error: RwSignal<Option<String>>,
}

impl DashCtx {
    fn run<F>(self, lang: ecert_core::Lang, fut: F)
    where
        F: std::future::Future<Output = Result<Option<FaceToFace>, AppError>> + 'static,
    {
        spawn_local(async move {
            match fut.await {
                Ok(qr) => {
                    self.error.set(None);
                    if qr.is_some() {
                        self.qr.set(qr);
                    }
                    self.changed.update(|n| *n += 1);
                }
                Err(e) => self.error.set(Some(e.message(lang))),
            }
        });
    }
}

#[component]
fn HolderTable(list: Vec<HolderView>) -> impl IntoView {
    let lang = use_lang();
    let ctx = expect_context::<DashCtx>();
    if list.is_empty() {
        return view! { <p class="muted">{t(T::NoneYet)}</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|h| {
            let pending = h.status == HolderStatus::Pending;
            let (id_qr, id_rm) = (h.id.clone(), h.id.clone());
            let grants = h
                .grants
                .iter()
                .map(|g| {
                    let names: Vec<String> =
                        g.matters.iter().map(|m| lang.pick(&m.name_zh, &m.name_en).to_owned()).collect();
                    let state = if g.status != GrantStatus::Active {
                        T::GrantCancelled
                    } else if g.effective {
                        T::GrantEffective
                    } else {
                        T::GrantNotEffective
                    };
                    let gid = g.id.clone();
                    let active = g.status == GrantStatus::Active;
                    view! {
                        <li data-testid="grant">
                            {names.join("、")} " · " {g.start_day.clone()} " ~ " {g.end_day.clone()} " · " {t(state)}
                            {active.then(|| view! {
                                <button type="button" class="small secondary" on:click=move |_| {
                                    let gid = gid.clone();
                                    ctx.run(lang, async move { cancel_grant(gid).await.map(|_| None) });
                                }>{t(T::CancelGrant)}</button>
                            })}
                        </li>
                    }
                })
                .collect_view();
            view! {
                <tr data-testid="holder-row" data-status=h.status.as_sql()>
                    <td>{h.name.clone()}</td>
                    <td><code>{h.id_number.clone()}</code></td>
                    <td>{h.mobile.clone()}</td>
                    <td>{status_text(h.status, lang)}</td>
                    <td><ul class="grants">{grants}</ul></td>
                    <td class="actions">
                        {pending.then(|| view! {
                            <button type="button" class="small" on:click=move |_| {
                                let id = id_qr.clone();
                                ctx.run(lang, async move { authorize_code(id).await.map(Some) });
                            }>{t(T::ShowFaceToFace)}</button>
                        })}
                        <button type="button" class="small danger" data-testid="remove" on:click=move |_| {
                            let id = id_rm.clone();
                            ctx.run(lang, async move { remove_holder(id).await.map(|_| None) });
                        }>{t(T::Remove)}</button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="list">
            <thead><tr>
                <th>{t(T::PersonName)}</th><th>{t(T::IdNumber)}</th><th>{t(T::Mobile)}</th>
                <th>{t(T::Status)}</th><th>{t(T::Grants)}</th><th></th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

fn status_text(status: HolderStatus, lang: ecert_core::Lang) -> &'static str {
    match status {
        HolderStatus::Pending => T::StatusPending.get(lang),
        HolderStatus::Active => T::StatusActive.get(lang),
        HolderStatus::Removed => T::Removed.get(lang),
    }
}

/// The form that adds a manager, or a user with matters and a period (R6).
#[component]
fn AddHolder(role: Role, matters: Vec<MatterView>) -> impl IntoView {
    let lang = use_lang();
    let ctx = expect_context::<DashCtx>();
    let (name, set_name) = signal(String::new());
    let (id_number, set_id_number) = signal(String::new());
    let (mobile, set_mobile) = signal(String::new());
    let (start, set_start) = signal(String::new());
    let (end, set_end) = signal(String::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let is_user = role == Role::User;
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (n, i, m, s, e, ids) = (
            name.get_untracked(),
            id_number.get_untracked(),
            mobile.get_untracked(),
            start.get_untracked(),
            end.get_untracked(),
            chosen.get_untracked(),
        );
        ctx.run(lang, async move { add_holder(role.as_sql().to_owned(), n, i, m, ids, s, e).await.map(Some) });
    };
    let boxes = matters
        .into_iter()
        .map(|m| {
            let id = m.id.clone();
            let label = lang.pick(&m.name_zh, &m.name_en).to_owned();
            view! {
                <label class="inline">
                    <input type="checkbox" name="matter" value=id.clone() on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        let id = id.clone();
                        chosen.update(|v| { v.retain(|x| *x != id); if on { v.push(id); } });
                    } />
                    {label}
                </label>
            }
        })
        .collect_view();
    view! {
        <form class="grid-form add-holder" data-testid=format!("add-{role}") on:submit=submit>
            <fieldset>
                <legend>{t(if is_user { T::AddUser } else { T::AddManager })}</legend>
                <label>{t(T::PersonName)}<input name="name" required maxlength="30" bind:value=(name, set_name) /></label>
                <label>{t(T::IdNumber)}<input name="id_number" required maxlength="18" autocomplete="off" bind:value=(id_number, set_id_number) /></label>
                <label>{t(T::Mobile)}<input name="mobile" required maxlength="11" inputmode="numeric" bind:value=(mobile, set_mobile) /></label>
            </fieldset>
            {is_user.then(move || view! {
                <fieldset>
                    <legend>{t(T::Grants)}</legend>
                    <div class="matters">{boxes}</div>
                    <label>{t(T::StartDay)}<input type="date" name="start_day" bind:value=(start, set_start) /></label>
                    <label>{t(T::EndDay)}<input type="date" name="end_day" bind:value=(end, set_end) /></label>
                </fieldset>
            })}
            <button type="submit">{t(if is_user { T::AddUser } else { T::AddManager })}</button>
        </form>
    }
}
