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

/// A face-to-face authorization QR (R5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceToFace {
    pub holder_id: String,
    pub qr_svg: String,
    pub url: String,
    pub expires_at: i64,
    /// R19: a re-download code for a new phone, not a face-to-face one.
    pub redownload: bool,
}

#[cfg(feature = "ssr")]
fn face_to_face(code: ecert_core::holder::AuthorizeCode) -> Result<FaceToFace, AppError> {
    let state = crate::state::app_state()?;
    let url = format!("{}/wallet/accept?code={}", state.public_url, code.code.expose());
    let qr_svg = crate::qr::svg(&url);
    Ok(FaceToFace { holder_id: code.holder_id, qr_svg, url, expires_at: code.expires_at.0, redownload: false })
}

/// R19: the QR of a re-download code, opened on the holder's new phone.
#[cfg(feature = "ssr")]
fn redownload(code: ecert_core::holder::AuthorizeCode) -> Result<FaceToFace, AppError> {
    let state = crate::state::app_state()?;
    let url = format!("{}/wallet/redownload?code={}", state.public_url, code.code.expose());
    let qr_svg = crate::qr::svg(&url);
    Ok(FaceToFace { holder_id: code.holder_id, qr_svg, url, expires_at: code.expires_at.0, redownload: true })
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
/// (`role` = `user`, R6); answers the face-to-face QR.
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
        (role == Role::User).then_some(&grant),
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

#[server(endpoint = "dashboard_add_grant", input = Json)]
pub async fn add_grant(
    holder_id: String,
    matter_ids: Vec<String>,
    start_day: String,
    end_day: String,
    approval: Option<String>,
) -> Result<(), AppError> {
    let caller = crate::guard::holder_approving(approval).await?;
    let state = crate::state::app_state()?;
    let grant = ecert_core::holder::GrantInput { matter_ids, start_day, end_day };
    ecert_core::holder::add_grant(&state.db, &caller, &holder_id, &grant, ecert_core::Millis::now(), &state.random)
        .await?;
    Ok(())
}

#[server(endpoint = "dashboard_cancel_grant")]
pub async fn cancel_grant(grant_id: String, approval: Option<String>) -> Result<(), AppError> {
    let caller = crate::guard::holder_approving(approval).await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::holder::cancel_grant(&state.db, &caller, &grant_id, ecert_core::Millis::now(), &state.random)
        .await?)
}

#[derive(Clone, Copy)]
pub(super) struct DashCtx {
    pub(super) changed: RwSignal<u32>,
    pub(super) qr: RwSignal<Option<FaceToFace>>,
    pub(super) error: RwSignal<Option<String>>,
    /// The phone approval the dashboard waits for (issue 14 §1), and where it stands.
    pub(super) approval: RwSignal<Option<super::approval::Pending>>,
    pub(super) approval_state: RwSignal<ecert_core::login::approval::ApprovalState>,
}

#[component]
pub(super) fn HolderTable(list: Vec<HolderView>) -> impl IntoView {
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
                                    ctx.approve(lang, Action::CancelGrant { grant_id: gid.clone() });
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

fn status_text(status: HolderStatus, lang: ecert_core::Lang) -> &'static str {
    match status {
        HolderStatus::Pending => T::StatusPending.get(lang),
        HolderStatus::Active => T::StatusActive.get(lang),
        HolderStatus::Removed => T::Removed.get(lang),
    }
}

/// The form that adds a manager, or a user with matters and a period (R6).
#[component]
pub(super) fn AddHolder(role: Role, matters: Vec<MatterView>) -> impl IntoView {
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
        let grant = (role == Role::User).then_some(GrantInput { matter_ids: ids, start_day: s, end_day: e });
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
                    <div class="matters">{boxes}</div>
                    <label>{t(T::StartDay)}<input type="date" name="start_day" bind:value=(start, set_start) /></label>
                    <label>{t(T::EndDay)}<input type="date" name="end_day" bind:value=(end, set_end) /></label>
                </fieldset>
            })}
            <button type="submit">{t(if is_user { T::AddUser } else { T::AddManager })}</button>
        </form>
    }
}
