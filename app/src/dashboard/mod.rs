//! The manager dashboard, entered by scan login (R11): managers (R3–R5), users and their grants
//! (R6, `holders`), removal (R8), change records and usage records (R12, `usage`), each shown as
//! R7 allows, and the registration business filed with the certificate (R23, `filings`). Every
//! server function here checks the session's holder, device and certificate
//! again (`crate::guard::holder`, R8: removal takes effect at once); the page never decides who
//! may do what.

mod approval;
mod filings;
mod holders;
mod usage;

#[cfg(feature = "ssr")]
pub(crate) use self::holders::managed_qr;
pub(crate) use self::holders::{AddHolder, CodeQr, DashCtx, FaceToFace, GrantForm, HolderTable, WalletExec};

use ecert_core::holder::{HolderView, MAX_MANAGERS, Role};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use self::holders::{dashboard_catalogue, dashboard_changes, dashboard_holders};
use self::usage::UsagePanel;
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
    /// R20: the end of validity and where the certificate stands in it now.
    pub expires_at: i64,
    pub validity: ecert_core::validity::Validity,
}

#[server(endpoint = "dashboard_me")]
pub async fn dashboard_me() -> Result<Option<Me>, AppError> {
    let Some(caller) = crate::guard::holder_if_signed_in().await? else { return Ok(None) };
    let state = crate::state::app_state()?;
    let (institution_name, credit_code, serial, expires_at) =
        ecert_core::holder::certificate_summary(&state.db, &caller).await?;
    let validity = ecert_core::validity::validity_at(expires_at, ecert_core::Millis::now());
    Ok(Some(Me {
        holder_id: caller.holder_id,
        role: caller.role,
        institution_name,
        credit_code,
        serial,
        expires_at,
        validity,
    }))
}

/// Starts a scan login for this browser: the QR for the phone, and a cookie to poll with.
#[server(endpoint = "dashboard_login_start")]
pub async fn login_start() -> Result<LoginQr, AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let started = ecert_core::login::start(
        &state.db,
        ecert_core::login::DASHBOARD,
        &crate::session::requester(),
        now,
        &state.random,
    )
    .await?;
    LoginQr::for_browser(&started, now)
}

/// The hot path the login page polls: `waiting`, `scanned`, `confirmed` (this call then opens
/// the session, once), `rejected`, `expired` or `unknown`. With `seen`, the state the page last
/// saw, the answer waits until the login has moved from it (a long poll, bounded:
/// [`ecert_core::login::changes`]); without, it answers at once.
#[server(endpoint = "dashboard_login_status")]
pub async fn login_status(
    seen: Option<ecert_core::login::LoginState>,
) -> Result<ecert_core::login::LoginState, AppError> {
    let state = crate::state::app_state()?;
    let Some(browser) = crate::session::cookie(crate::session::LOGIN_COOKIE) else {
        return Ok(ecert_core::login::LoginState::Unknown);
    };
    let waited = match seen {
        Some(seen) => ecert_core::login::changes::wait_for_change(&state.db, &browser, None, seen).await?,
        None => None,
    };
    let now = ecert_core::Millis::now();
    let login_state = match waited {
        Some(login_state) => login_state,
        None => ecert_core::login::poll(&state.db, &browser, now).await?,
    };
    if login_state == ecert_core::login::LoginState::Confirmed
        && let Some(session) = ecert_core::login::consume(&state.db, &browser, now, &state.random).await?
    {
        use crate::session::{HOLDER_COOKIE, LOGIN_COOKIE, set_session_cookie};
        set_session_cookie(HOLDER_COOKIE, session.token.expose(), Some(session.expires_at), now);
        set_session_cookie(LOGIN_COOKIE, "", None, now);
    }
    Ok(login_state)
}

#[server(endpoint = "dashboard_sign_out")]
pub async fn dashboard_sign_out() -> Result<(), AppError> {
    use crate::session::{HOLDER_COOKIE, cookie, set_session_cookie};
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    if let Some(token) = cookie(HOLDER_COOKIE) {
        ecert_core::login::end_session(&state.db, &token, now).await?;
    }
    set_session_cookie(HOLDER_COOKIE, "", None, now);
    Ok(())
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
    let endings = Endings {
        heading: T::ScanToSignIn,
        confirmed: T::LoginConfirmedPc,
        rejected: T::LoginRejectedPc,
        retry_after_reject: true,
    };
    let poll =
        |seen| async move { login_status(seen).await.map(|state| Polled { state: Some(state), redirect: None }) };
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
    let holder_id = StoredValue::new(me.holder_id.clone());
    let sign_out = move |_| {
        spawn_local(async move {
            let _ = dashboard_sign_out().await;
            reload();
        });
    };
    let approval = RwSignal::new(None);
    let approval_state = RwSignal::new(ecert_core::login::approval::ApprovalState::Waiting);
    let ctx = DashCtx { changed, qr, error, approval, approval_state, wallet: None };
    provide_context(ctx);
    view! {
        <section class="panel" aria-labelledby="me-title">
            <h2 id="me-title" data-testid="dashboard-institution">{me.institution_name.clone()}</h2>
            <p>
                <code>{me.credit_code.clone()}</code> " · " <code>{me.serial.clone()}</code> " · "
                <span data-testid="my-role">{role_text(me.role, lang)}</span> " · "
                {t(T::ValidUntil)} " " <span data-testid="dashboard-valid-until">{ecert_core::validity::last_day(me.expires_at)}</span>
            </p>
            {(me.validity == ecert_core::validity::Validity::RenewalOpen).then(|| view! {
                <p class="notice" data-testid="renewal-notice">{t(T::RenewalDue)}</p>
            })}
            <button type="button" class="small secondary" on:click=sign_out>{t(T::SignOut)}</button>
        </section>
        <p class="error" role="alert" data-testid="dashboard-error">{move || error.get()}</p>
        <approval::ApprovalPanel />
        <CodeQr qr />
        // A client-only list in a slot of its own, so that the panel after it hydrates in place.
        // R23: a user signs in only to file registration business, and sees only that.
        {(me.role != Role::User).then(|| view! {
        <div class="list-slot">
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
                // A manager authorizes users only while the first manager lets it.
                let authorizes = is_first || list.iter().any(|h| holder_id.with_value(|id| h.id == *id) && h.may_authorize);
                view! {
                    {is_first.then(|| view! {
                        <section class="panel" aria-labelledby="managers-title">
                            <h2 id="managers-title">{t(T::Managers)} " (" {managers.len()} "/" {MAX_MANAGERS} ")"</h2>
                            <HolderTable list=managers.clone() first=true />
                            <AddHolder role=Role::Manager matters=Vec::new() />
                        </section>
                    })}
                    <section class="panel" aria-labelledby="users-title">
                        <h2 id="users-title">{t(T::Users)}</h2>
                        <HolderTable list=users.clone() />
                        {if authorizes {
                            view! {
                                <GrantForm users=users.clone() matters=matters.clone() />
                                <AddHolder role=Role::User matters=matters.clone() />
                            }.into_any()
                        } else {
                            view! { <p class="notice" data-testid="no-authorize-right">{t(T::NoAuthorizeRight)}</p> }.into_any()
                        }}
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
        </div>
        })}
        <filings::FilingPanel />
    }
}
