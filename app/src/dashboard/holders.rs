//! The dashboard's people: managers (first manager only, R3) and users with their grants (R6),
//! added with a face-to-face QR (R5), removed (R8) or their grants cancelled. Every action is
//! re-checked by `ecert_core::holder` against the session's caller inside its transaction, and
//! takes the phone approval it brings (`approval`, issue 14 §1) there too.
// `dashboard_add_holder` takes a person, a grant and an approval as the form's flat fields; the
// `#[server]` macro writes functions of its own with them, which an item-level allow misses.
#![allow(clippy::too_many_arguments)]

use ecert_core::holder::{ChangeView, GrantInput, GrantStatus, HolderStatus, HolderView, MatterView, Role};
use ecert_core::login::approval::Action;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

/// What a code QR the dashboard shows hands over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QrKind {
    /// R5: a role, face to face.
    FaceToFace,
    /// R19: a role already held, on a new phone.
    Redownload,
    /// R17: a grant, to a user who holds the role.
    Grant,
}

/// A code's QR for a holder's phone: face-to-face (R5), re-download (R19) or grant (R17).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceToFace {
    pub holder_id: String,
    pub qr_svg: String,
    pub url: String,
    pub expires_at: i64,
    pub kind: QrKind,
}

/// The QR of a code for the wallet page of `kind`.
#[cfg(feature = "ssr")]
fn code_qr(
    kind: QrKind,
    holder_id: String,
    code: &ecert_core::secret::Secret,
    expires_at: i64,
) -> Result<FaceToFace, AppError> {
    let state = crate::state::app_state()?;
    let path = match kind {
        QrKind::FaceToFace => "accept",
        QrKind::Redownload => "redownload",
        QrKind::Grant => "grant",
    };
    let url = format!("{}/wallet/{path}?code={}", state.public_url, code.expose());
    Ok(FaceToFace { holder_id, qr_svg: crate::qr::svg(&url), url, expires_at, kind })
}

#[cfg(feature = "ssr")]
fn face_to_face(code: ecert_core::holder::AuthorizeCode) -> Result<FaceToFace, AppError> {
    code_qr(QrKind::FaceToFace, code.holder_id, &code.code, code.expires_at.0)
}

/// R19: the QR of a re-download code, opened on the holder's new phone.
#[cfg(feature = "ssr")]
fn redownload(code: ecert_core::holder::AuthorizeCode) -> Result<FaceToFace, AppError> {
    code_qr(QrKind::Redownload, code.holder_id, &code.code, code.expires_at.0)
}

/// Issue 16 journey 3: the QR of a code a management action in the wallet made.
#[cfg(feature = "ssr")]
pub(crate) fn managed_qr(made: ecert_core::holder::ManagedCode) -> Result<FaceToFace, AppError> {
    let kind = match made.kind {
        ecert_core::code::CodeKind::Redownload => QrKind::Redownload,
        ecert_core::code::CodeKind::Grant => QrKind::Grant,
        ecert_core::code::CodeKind::Authorize | ecert_core::code::CodeKind::Claim => QrKind::FaceToFace,
    };
    code_qr(kind, made.holder_id, &made.code, made.expires_at.0)
}

/// R17: the QR of a grant code, scanned by the user on their own phone.
#[cfg(feature = "ssr")]
fn grant_qr(holder_id: String, code: ecert_core::holder::GrantCode) -> Result<FaceToFace, AppError> {
    code_qr(QrKind::Grant, holder_id, &code.code, code.expires_at.0)
}

#[server(endpoint = "dashboard_holders")]
pub async fn dashboard_holders() -> Result<Vec<HolderView>, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::holder::list(&state.db, &caller, ecert_core::Millis::now()).await?)
}

#[server(endpoint = "dashboard_catalogue")]
pub async fn dashboard_catalogue() -> Result<Vec<MatterView>, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::holder::catalogue(&state.db, &caller.authority_id).await?)
}

#[server(endpoint = "dashboard_changes")]
pub async fn dashboard_changes() -> Result<Vec<ChangeView>, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::holder::changes(&state.db, &caller, 100).await?)
}

/// Adds a manager (`role` = `manager`, first manager only, R3) or a user with a first grant
/// (`role` = `user`, R6) or none (no `matter_ids`, R17); answers the face-to-face QR.
#[server(endpoint = "dashboard_add_holder", input = Json)]
pub async fn add_holder(
    role: String,
    name: String,
    id_number: String,
    mobile: String,
    matter_ids: Vec<String>,
    start_day: String,
    end_day: String,
    approval: Option<String>,
) -> Result<FaceToFace, AppError> {
    use ecert_core::certificate::PersonInput;
    use ecert_core::holder::GrantInput;
    let caller = crate::guard::holder_approving(approval).await?;
    let role = Role::parse(&role).map_err(|e| ecert_core::DomainError::Validation(vec![e]))?;
    let state = crate::state::app_state()?;
    let grant = GrantInput { matter_ids, start_day, end_day };
    let code = ecert_core::holder::add(
        &state.db,
        &caller,
        role,
        &PersonInput { name, id_number, mobile },
        (role == Role::User && !grant.is_empty()).then_some(&grant),
        &state.identity,
        ecert_core::Millis::now(),
        &state.random,
    )
    .await?;
    face_to_face(code)
}

/// R5: a fresh face-to-face QR for a pending manager or user.
#[server(endpoint = "dashboard_authorize_code")]
pub async fn authorize_code(holder_id: String, approval: Option<String>) -> Result<FaceToFace, AppError> {
    let caller = crate::guard::holder_approving(approval).await?;
    let state = crate::state::app_state()?;
    let code =
        ecert_core::holder::authorize_code(&state.db, &caller, &holder_id, ecert_core::Millis::now(), &state.random)
            .await?;
    face_to_face(code)
}

/// R19: a re-download QR for an active manager or user's new phone; their present phone stops.
#[server(endpoint = "dashboard_redownload_code")]
pub async fn redownload_code(holder_id: String, approval: Option<String>) -> Result<FaceToFace, AppError> {
    let caller = crate::guard::holder_approving(approval).await?;
    let state = crate::state::app_state()?;
    let code =
        ecert_core::holder::redownload_code(&state.db, &caller, &holder_id, ecert_core::Millis::now(), &state.random)
            .await?;
    redownload(code)
}

#[server(endpoint = "dashboard_remove_holder")]
pub async fn remove_holder(holder_id: String, approval: Option<String>) -> Result<(), AppError> {
    let caller = crate::guard::holder_approving(approval).await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::holder::remove(&state.db, &caller, &holder_id, ecert_core::Millis::now(), &state.random).await?)
}

/// R6, R17: a new grant for a user the caller manages; answers its grant QR, which the user
/// scans on their own phone to receive it.
#[server(endpoint = "dashboard_add_grant", input = Json)]
pub async fn add_grant(
    holder_id: String,
    matter_ids: Vec<String>,
    start_day: String,
    end_day: String,
    approval: Option<String>,
) -> Result<FaceToFace, AppError> {
    let caller = crate::guard::holder_approving(approval).await?;
    let state = crate::state::app_state()?;
    let grant = ecert_core::holder::GrantInput { matter_ids, start_day, end_day };
    let now = ecert_core::Millis::now();
    let code = ecert_core::holder::add_grant(&state.db, &caller, &holder_id, &grant, now, &state.random).await?;
    grant_qr(holder_id, code)
}

/// R17: a fresh grant QR for a grant its user has not received yet.
#[server(endpoint = "dashboard_grant_code")]
pub async fn grant_code(grant_id: String, approval: Option<String>) -> Result<FaceToFace, AppError> {
    let caller = crate::guard::holder_approving(approval).await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let code = ecert_core::holder::grant_code(&state.db, &caller, &grant_id, now, &state.random).await?;
    let holders = ecert_core::holder::list(&state.db, &caller, now).await?;
    let holder_id =
        holders.into_iter().find(|h| h.grants.iter().any(|g| g.id == grant_id)).map(|h| h.id).unwrap_or_default();
    grant_qr(holder_id, code)
}

/// The first manager gives a manager the right to authorize users (使用人授权), or withdraws it.
#[server(endpoint = "dashboard_set_may_authorize")]
pub async fn set_may_authorize(holder_id: String, allowed: bool, approval: Option<String>) -> Result<(), AppError> {
    let caller = crate::guard::holder_approving(approval).await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::holder::set_may_authorize(&state.db, &caller, &holder_id, allowed, now, &state.random).await?)
}

#[server(endpoint = "dashboard_cancel_grant")]
pub async fn cancel_grant(grant_id: String, approval: Option<String>) -> Result<(), AppError> {
    let caller = crate::guard::holder_approving(approval).await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::holder::cancel_grant(&state.db, &caller, &grant_id, ecert_core::Millis::now(), &state.random)
        .await?)
}

/// What the people tables and forms share: where their writes go, and what they show after.
#[derive(Clone, Copy)]
pub(crate) struct DashCtx {
    pub(crate) changed: RwSignal<u32>,
    pub(crate) qr: RwSignal<Option<FaceToFace>>,
    pub(crate) error: RwSignal<Option<String>>,
    /// The phone approval the dashboard waits for (issue 14 §1), and where it stands.
    pub(super) approval: RwSignal<Option<super::approval::Pending>>,
    pub(super) approval_state: RwSignal<ecert_core::login::approval::ApprovalState>,
    /// Issue 16 journey 3: the same tables in a manager's wallet, whose phone signs each write.
    pub(super) wallet: Option<WalletExec>,
}

/// The wallet's way to do a write: the card that signs it and the password typed for it.
#[derive(Clone, Copy)]
pub(crate) struct WalletExec {
    pub(crate) card: StoredValue<crate::wallet::device::Card>,
    pub(crate) password: RwSignal<String>,
    /// A destructive write waiting for the holder to confirm it on the phone (R21).
    pub(crate) pending: RwSignal<Option<ecert_core::login::approval::Action>>,
}

impl DashCtx {
    /// The context of the wallet's management panel (issue 16 journey 3).
    pub(crate) fn for_wallet(exec: WalletExec) -> DashCtx {
        DashCtx {
            changed: RwSignal::new(0),
            qr: RwSignal::new(None),
            error: RwSignal::new(None),
            approval: RwSignal::new(None),
            approval_state: RwSignal::new(ecert_core::login::approval::ApprovalState::Waiting),
            wallet: Some(exec),
        }
    }
}

/// The QR of the last code made (face-to-face, re-download, grant), with what it is for and
/// until when it works.
#[component]
pub(crate) fn CodeQr(qr: RwSignal<Option<FaceToFace>>) -> impl IntoView {
    let lang = use_lang();
    move || {
        qr.get().map(|f| {
            let expires = ecert_core::time::format_cst(ecert_core::Millis(f.expires_at));
            let (title, hint) = match f.kind {
                QrKind::FaceToFace => (T::FaceToFaceQr, T::FaceToFaceHint),
                QrKind::Redownload => (T::RedownloadQr, T::RedownloadHint),
                QrKind::Grant => (T::GrantQr, T::GrantQrHint),
            };
            view! {
                <section class="panel slip" aria-labelledby="f2f-title" data-testid="code-qr">
                    <h2 id="f2f-title">{t(title)}</h2>
                    <div class="qr" role="img" aria-label=title.get(lang) inner_html=f.qr_svg.clone()></div>
                    <p>{t(hint)} " " {t(T::ValidUntil)} " " {expires} " (CST)"</p>
                    <p><a href=f.url.clone() rel="external" target="_blank" data-testid="accept-link">{t(T::AcceptLink)}</a></p>
                </section>
            }
        })
    }
}

/// The people of one role, each with their grants and what the caller may do about them;
/// `first`: the caller is the first manager (who gives managers the right to authorize users).
#[component]
pub(crate) fn HolderTable(list: Vec<HolderView>, #[prop(optional)] first: bool) -> impl IntoView {
    let lang = use_lang();
    let ctx = expect_context::<DashCtx>();
    if list.is_empty() {
        return view! { <p class="muted">{t(T::NoneYet)}</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|h| {
            let pending = h.status == HolderStatus::Pending;
            let movable = h.status == HolderStatus::Active && h.role != Role::FirstManager;
            let (id_qr, id_rm, id_mv) = (h.id.clone(), h.id.clone(), h.id.clone());
            let holder_active = h.status == HolderStatus::Active;
            let grants = h.grants.iter().map(|g| grant_item(ctx, lang, g, holder_active)).collect_view();
            // The first manager gives each manager the right to authorize users, or not.
            let right = (first && h.role == Role::Manager).then(|| {
                let (id, allowed) = (h.id.clone(), h.may_authorize);
                view! {
                    <span data-testid="may-authorize" data-allowed=allowed.to_string()>
                        {t(if allowed { T::MayAuthorizeYes } else { T::MayAuthorizeNo })}
                    </span>
                    <button type="button" class="small secondary" data-testid="toggle-may-authorize" on:click=move |_| {
                        ctx.approve(lang, Action::SetMayAuthorize { holder_id: id.clone(), allowed: !allowed });
                    }>{t(if allowed { T::MayAuthorizeWithdraw } else { T::MayAuthorizeGive })}</button>
                }
            });
            view! {
                <tr data-testid="holder-row" data-status=h.status.as_sql()>
                    <td>{h.name.clone()}</td>
                    <td><code>{h.id_number.clone()}</code></td>
                    <td>{h.mobile.clone()}</td>
                    <td>{status_text(h.status, lang)} {right}</td>
                    <td><ul class="grants">{grants}</ul></td>
                    <td class="actions">
                        {pending.then(|| view! {
                            <button type="button" class="small" on:click=move |_| {
                                ctx.approve(lang, Action::AuthorizeCode { holder_id: id_qr.clone() });
                            }>{t(T::ShowFaceToFace)}</button>
                        })}
                        {movable.then(|| view! {
                            <button type="button" class="small secondary" data-testid="redownload" on:click=move |_| {
                                ctx.approve(lang, Action::RedownloadCode { holder_id: id_mv.clone() });
                            }>{t(T::ShowRedownload)}</button>
                        })}
                        <button type="button" class="small danger" data-testid="remove" on:click=move |_| {
                            ctx.approve(lang, Action::RemoveHolder { holder_id: id_rm.clone() });
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

/// One grant with its matters, period, state, who granted it and when, its cancellation; and
/// what the caller may do with it (cancel it; show its grant QR while the user has not received
/// it, R17).
fn grant_item(
    ctx: DashCtx,
    lang: ecert_core::Lang,
    g: &ecert_core::holder::GrantView,
    holder_active: bool,
) -> impl IntoView + use<> {
    let names: Vec<String> = g.matters.iter().map(|m| lang.pick(&m.name_zh, &m.name_en).to_owned()).collect();
    let active = g.status == GrantStatus::Active;
    let waiting = active && g.received_at.is_none();
    let state = if !active {
        T::GrantCancelled
    } else if waiting {
        T::GrantWaiting
    } else if g.effective {
        T::GrantEffective
    } else {
        T::GrantNotEffective
    };
    let day = |ms: i64| ecert_core::time::format_cst(ecert_core::Millis(ms));
    let (cancel_id, qr_id) = (g.id.clone(), g.id.clone());
    let cancelled = g.cancelled_at.map(|at| view! { " · " {t(T::CancelledAt)} " " {day(at)} });
    let received = g.received_at.map(|at| view! { " · " {t(T::ReceivedAt)} " " {day(at)} });
    view! {
        <li data-testid="grant" data-state=if waiting { "waiting" } else if active { "active" } else { "cancelled" }>
            {names.join("、")} " · " {g.start_day.clone()} " ~ " {g.end_day.clone()} " · " {t(state)}
            <br /><small class="muted">
                {t(T::GrantedBy)} " " {g.granted_by_name.clone()} " · " {t(T::GrantedAt)} " " {day(g.created_at)}
                {received} {cancelled}
            </small>
            {(waiting && holder_active).then(|| view! {
                <button type="button" class="small" data-testid="grant-qr" on:click=move |_| {
                    ctx.approve(lang, Action::GrantCode { grant_id: qr_id.clone() });
                }>{t(T::ShowGrantQr)}</button>
            })}
            {active.then(|| view! {
                <button type="button" class="small secondary" on:click=move |_| {
                    ctx.approve(lang, Action::CancelGrant { grant_id: cancel_id.clone() });
                }>{t(T::CancelGrant)}</button>
            })}
        </li>
    }
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
pub(crate) fn AddHolder(role: Role, matters: Vec<MatterView>) -> impl IntoView {
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
        // R17: no matters chosen registers the user without a grant, to grant later.
        let grant = Some(GrantInput { matter_ids: ids, start_day: s, end_day: e })
            .filter(|g| role == Role::User && !g.is_empty());
        ctx.approve(lang, Action::AddHolder { role, name: n, id_number: i, mobile: m, grant });
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
                    <p class="hint">{t(T::GrantNoMattersHint)}</p>
                    <div class="matters">{boxes}</div>
                    <label>{t(T::StartDay)}<input type="date" name="start_day" bind:value=(start, set_start) /></label>
                    <label>{t(T::EndDay)}<input type="date" name="end_day" bind:value=(end, set_end) /></label>
                </fieldset>
            })}
            <button type="submit">{t(if is_user { T::AddUser } else { T::AddManager })}</button>
        </form>
    }
}

/// R17: a new grant for a user the caller manages (pick the user, the matters, the period);
/// approved on the caller's phone, it shows the grant QR the user scans to receive it.
#[component]
pub(crate) fn GrantForm(users: Vec<HolderView>, matters: Vec<MatterView>) -> impl IntoView {
    let lang = use_lang();
    let ctx = expect_context::<DashCtx>();
    let users: Vec<HolderView> = users.into_iter().filter(|u| u.status != HolderStatus::Removed).collect();
    let Some(first_user) = users.first() else { return ().into_any() };
    let who = RwSignal::new(first_user.id.clone());
    let (start, set_start) = signal(String::new());
    let (end, set_end) = signal(String::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let grant = GrantInput {
            matter_ids: chosen.get_untracked(),
            start_day: start.get_untracked(),
            end_day: end.get_untracked(),
        };
        ctx.approve(lang, Action::AddGrant { holder_id: who.get_untracked(), grant });
    };
    let options = users
        .into_iter()
        .map(|u| view! { <option value=u.id.clone()>{u.name.clone()} " " {u.id_number.clone()}</option> })
        .collect_view();
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
        <form class="grid-form add-grant" data-testid="add-grant" on:submit=submit>
            <fieldset>
                <legend>{t(T::AddGrant)}</legend>
                <label>{t(T::GrantTo)}
                    <select name="holder_id" on:change=move |ev| who.set(event_target_value(&ev))>{options}</select>
                </label>
                <div class="matters">{boxes}</div>
                <label>{t(T::StartDay)}<input type="date" name="start_day" bind:value=(start, set_start) /></label>
                <label>{t(T::EndDay)}<input type="date" name="end_day" bind:value=(end, set_end) /></label>
            </fieldset>
            <button type="submit">{t(T::AddGrant)}</button>
        </form>
    }
    .into_any()
}
