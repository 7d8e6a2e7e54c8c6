//! Running an authority (issue 15 §1, R22): the authorities below it and their first
//! administrators, its own staff and their duties, and the action log its auditor reads.
//! Generated passwords are shown once. Every server function checks the caller's duty again in
//! `ecert_core` (inside the write's transaction for writes).

use ecert_core::authority::AuthorityView;
use ecert_core::party::ShownOnce;
use ecert_core::staff::{ActionView, MemberView};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

#[server(endpoint = "authority_children")]
pub async fn authority_children() -> Result<Vec<AuthorityView>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::authority::children(&state.db, &staff).await?)
}

/// A new authority below the caller's, with its first administrator: their user name and
/// generated password, shown once.
#[server(endpoint = "authority_create")]
pub async fn authority_create(
    name: String,
    region_code: String,
    admin_username: String,
    admin_display_name: String,
) -> Result<ShownOnce, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let request = ecert_core::authority::NewAuthority { name, region_code, admin_username, admin_display_name };
    let created =
        ecert_core::authority::create_child(&state.db, &staff, &request, ecert_core::Millis::now(), &state.random)
            .await?;
    Ok(ShownOnce { login: created.admin_username, secret: created.admin_password.expose().to_owned() })
}

#[server(endpoint = "staff_members")]
pub async fn staff_members() -> Result<Vec<MemberView>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::staff::members(&state.db, &staff, ecert_core::Millis::now()).await?)
}

/// A new member of the caller's authority; the checkboxes of its duties are present when ticked.
#[server(endpoint = "staff_add")]
pub async fn staff_add(
    username: String,
    display_name: String,
    administer: Option<String>,
    operate: Option<String>,
    audit: Option<String>,
) -> Result<ShownOnce, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let duties = ecert_core::staff::Duties {
        administer: administer.is_some(),
        operate: operate.is_some(),
        audit: audit.is_some(),
    };
    let request = ecert_core::staff::NewMember { username: username.trim().to_owned(), display_name, duties };
    let password =
        ecert_core::staff::add(&state.db, &staff, &request, ecert_core::Millis::now(), &state.random).await?;
    Ok(ShownOnce { login: request.username, secret: password.expose().to_owned() })
}

#[server(endpoint = "staff_set_disabled")]
pub async fn staff_set_disabled(member_id: String, disabled: bool) -> Result<(), AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::staff::set_disabled(&state.db, &staff, &member_id, disabled, now, &state.random).await?)
}

#[server(endpoint = "staff_reset_password")]
pub async fn staff_reset_password(member_id: String) -> Result<ShownOnce, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let password = ecert_core::staff::reset_password(&state.db, &staff, &member_id, now, &state.random).await?;
    Ok(ShownOnce { login: member_id, secret: password.expose().to_owned() })
}

#[server(endpoint = "staff_unlock")]
pub async fn staff_unlock(member_id: String) -> Result<(), AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::staff::unlock_member(&state.db, &staff, &member_id, now, &state.random).await?)
}

/// The auditor's action log between two CST days (either may be empty), newest first.
#[server(endpoint = "staff_actions")]
pub async fn staff_actions(from_day: String, to_day: String) -> Result<Vec<ActionView>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let range = day_range(from_day, to_day)?;
    Ok(ecert_core::staff::actions(&state.db, &staff, range, 500).await?)
}

#[server(endpoint = "staff_actions_csv")]
pub async fn staff_actions_csv(from_day: String, to_day: String) -> Result<String, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    let range = day_range(from_day, to_day)?;
    Ok(ecert_core::staff::actions_csv(&state.db, &staff, range).await?)
}

#[cfg(feature = "ssr")]
fn day_range(from_day: String, to_day: String) -> Result<(Option<i64>, Option<i64>), AppError> {
    let filter = ecert_core::usage::UsageFilter { kind: String::new(), from_day, to_day, page: 0 };
    ecert_core::usage::bounds(&filter).map_err(|e| ecert_core::DomainError::Validation(e).into())
}

/// The authorities below the caller's, and a form to create one with its administrator.
#[component]
pub fn AuthoritiesPanel() -> impl IntoView {
    let lang = use_lang();
    let create = ServerAction::<AuthorityCreate>::new();
    let children = LocalResource::new(move || {
        create.version().track();
        authority_children()
    });
    let created = move || {
        create.value().get().map(|r| match r {
            Ok(s) => view! {
                <dl class="shown-once" data-testid="authority-admin-credentials">
                    <dt>{t(T::UserName)}</dt><dd><code data-testid="authority-admin-username">{s.login}</code></dd>
                    <dt>{t(T::InitialPassword)}</dt><dd><code data-testid="authority-admin-password">{s.secret}</code></dd>
                </dl>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="authorities-title" data-testid="authorities-panel">
            <h2 id="authorities-title">{t(T::AuthoritiesBelow)}</h2>
            <ActionForm action=create attr:class="stack">
                <label>{t(T::AuthorityName)}<input name="name" required maxlength="100" /></label>
                <label>{t(T::RegionCode)}<input name="region_code" required inputmode="numeric" pattern="[1-9][0-9]{5}" maxlength="6" /></label>
                <label>{t(T::AdminUserName)}<input name="admin_username" required maxlength="64" autocomplete="off" /></label>
                <label>{t(T::AdminDisplayName)}<input name="admin_display_name" required maxlength="50" /></label>
                <button type="submit" disabled=move || create.pending().get()>{t(T::CreateAuthority)}</button>
            </ActionForm>
            {created}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match children.await {
                        Ok(list) if list.is_empty() => view! { <p>{t(T::NoAuthoritiesBelow)}</p> }.into_any(),
                        Ok(list) => {
                            let rows = list.into_iter().map(|a| view! {
                                <tr data-testid="authority-row">
                                    <td>{a.region_code}</td>
                                    <td>{a.name}</td>
                                    <td>{a.level.label(lang)}</td>
                                    <td>{a.staff}</td>
                                    <td data-testid="authority-certificates">{a.certificates}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <table class="records">
                                    <thead><tr><th>{t(T::RegionCode)}</th><th>{t(T::AuthorityName)}</th><th>{t(T::Level)}</th><th>{t(T::StaffCount)}</th><th>{t(T::CertificateCount)}</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The staff of the caller's authority: add, disable (after a confirmation naming what it
/// voids) or enable, reset a password, unlock.
#[component]
pub fn StaffPanel(me: String) -> impl IntoView {
    let lang = use_lang();
    let add = ServerAction::<StaffAdd>::new();
    let set_disabled = ServerAction::<StaffSetDisabled>::new();
    let reset = ServerAction::<StaffResetPassword>::new();
    let unlock = ServerAction::<StaffUnlock>::new();
    let members = LocalResource::new(move || {
        add.version().track();
        set_disabled.version().track();
        reset.version().track();
        unlock.version().track();
        staff_members()
    });
    let shown = move |r: Option<Result<ShownOnce, AppError>>, testid: &'static str| {
        r.map(|r| match r {
            Ok(s) => view! {
                <dl class="shown-once" data-testid=testid>
                    <dt>{t(T::InitialPassword)}</dt><dd><code data-testid=format!("{testid}-password")>{s.secret}</code></dd>
                </dl>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
        })
    };
    let failed = move || {
        [set_disabled.value().get(), unlock.value().get()]
            .into_iter()
            .flatten()
            .find_map(Result::err)
            .map(|e| view! { <p class="error" role="alert">{e.message(lang)}</p> })
    };
    view! {
        <section class="panel" aria-labelledby="staff-title" data-testid="staff-panel">
            <h2 id="staff-title">{t(T::StaffTitle)}</h2>
            <ActionForm action=add attr:class="stack">
                <label>{t(T::UserName)}<input name="username" required maxlength="64" autocomplete="off" /></label>
                <label>{t(T::DisplayName)}<input name="display_name" required maxlength="50" /></label>
                <fieldset class="row">
                    <legend>{t(T::Duties)}</legend>
                    <label class="inline"><input type="checkbox" name="administer" />{t(T::DutyAdminister)}</label>
                    <label class="inline"><input type="checkbox" name="operate" checked />{t(T::DutyOperate)}</label>
                    <label class="inline"><input type="checkbox" name="audit" />{t(T::DutyAudit)}</label>
                </fieldset>
                <button type="submit" disabled=move || add.pending().get()>{t(T::AddStaff)}</button>
            </ActionForm>
            {move || shown(add.value().get(), "staff-added")}
            {move || shown(reset.value().get(), "staff-reset")}
            {failed}
            <Suspense fallback=|| ()>
                {move || {
                    let me = me.clone();
                    Suspend::new(async move {
                        match members.await {
                            Ok(list) => view! { <MemberTable list me set_disabled reset unlock /> }.into_any(),
                            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn MemberTable(
    list: Vec<MemberView>,
    me: String,
    set_disabled: ServerAction<StaffSetDisabled>,
    reset: ServerAction<StaffResetPassword>,
    unlock: ServerAction<StaffUnlock>,
) -> impl IntoView {
    let lang = use_lang();
    let rows = list
        .into_iter()
        .map(|m| {
            let (confirming, set_confirming) = signal(false);
            let is_me = m.id == me;
            let id = m.id.clone();
            let state = if m.disabled {
                T::StaffDisabled.get(lang)
            } else if m.locked {
                T::StaffLocked.get(lang)
            } else {
                T::StaffActive.get(lang)
            };
            let actions = (!is_me).then(|| {
                let (id1, id2, id3, id4) = (id.clone(), id.clone(), id.clone(), id.clone());
                let name = m.display_name.clone();
                view! {
                    <button type="button" class="small secondary" on:click=move |_| { reset.dispatch(StaffResetPassword { member_id: id1.clone() }); }>{t(T::ResetStaffPassword)}</button>
                    {m.locked.then(|| view! {
                        <button type="button" class="small secondary" on:click=move |_| { unlock.dispatch(StaffUnlock { member_id: id2.clone() }); }>{t(T::Unlock)}</button>
                    })}
                    {if m.disabled {
                        view! {
                            <button type="button" class="small secondary" on:click=move |_| { set_disabled.dispatch(StaffSetDisabled { member_id: id3.clone(), disabled: false }); }>{t(T::EnableStaff)}</button>
                        }.into_any()
                    } else {
                        view! {
                            <button type="button" class="small danger" data-testid="staff-disable" on:click=move |_| set_confirming.set(true)>{t(T::DisableStaff)}</button>
                            <Show when=move || confirming.get()>
                                <p class="confirm" role="alertdialog" data-testid="staff-disable-confirm">
                                    {format!("{}{}", T::DisableStaffVoids.get(lang), name)}
                                    <button type="button" class="small danger" data-testid="staff-disable-yes" on:click={
                                        let id = id4.clone();
                                        move |_| { set_confirming.set(false); set_disabled.dispatch(StaffSetDisabled { member_id: id.clone(), disabled: true }); }
                                    }>{t(T::ConfirmDisable)}</button>
                                    <button type="button" class="small secondary" on:click=move |_| set_confirming.set(false)>{t(T::Dismiss)}</button>
                                </p>
                            </Show>
                        }.into_any()
                    }}
                }
            });
            view! {
                <tr data-testid="staff-row" data-username=m.username.clone()>
                    <td>{m.username.clone()}</td>
                    <td>{m.display_name.clone()}</td>
                    <td>{m.duties.label(lang)}</td>
                    <td data-testid="staff-state">{state}</td>
                    <td>{actions}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="records">
            <thead><tr><th>{t(T::UserName)}</th><th>{t(T::DisplayName)}</th><th>{t(T::Duties)}</th><th>{t(T::Status)}</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// The action log of the authority, for its auditor: filter by days, export as CSV.
#[component]
pub fn AuditPanel() -> impl IntoView {
    let lang = use_lang();
    let (from_day, set_from_day) = signal(String::new());
    let (to_day, set_to_day) = signal(String::new());
    let (csv, set_csv) = signal(None::<String>);
    let lines = LocalResource::new(move || staff_actions(from_day.get(), to_day.get()));
    let export = move |_| {
        let (f, to) = (from_day.get_untracked(), to_day.get_untracked());
        spawn_local(async move {
            if let Ok(text) = staff_actions_csv(f, to).await {
                set_csv.set(Some(text));
            }
        });
    };
    view! {
        <section class="panel" aria-labelledby="audit-title" data-testid="audit-panel">
            <h2 id="audit-title">{t(T::ActionLog)}</h2>
            <div class="row filters">
                <label>{t(T::FromDay)}<input type="date" on:change=move |ev| set_from_day.set(event_target_value(&ev)) /></label>
                <label>{t(T::ToDay)}<input type="date" on:change=move |ev| set_to_day.set(event_target_value(&ev)) /></label>
                <button type="button" class="small secondary" on:click=export>{t(T::ExportCsv)}</button>
            </div>
            {move || csv.get().map(|text| {
                let href = crate::lists::data_href("text/csv", &text);
                view! { <p><a href=href download="staff-actions.csv" data-testid="actions-csv-link">{t(T::DownloadCsv)}</a></p> }
            })}
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match lines.await {
                        Ok(list) => {
                            let rows = list.into_iter().map(|l| view! {
                                <tr data-testid="action-row">
                                    <td>{ecert_core::time::format_cst(ecert_core::Millis(l.at))}</td>
                                    <td>{match (l.username.is_empty(), l.target_kind.as_str()) {
                                        // Issue 18 §1: an establishment applicant's own actions.
                                        (true, "establishment") => T::Applicant.get(lang).to_owned(),
                                        (true, _) => T::CommandLine.get(lang).to_owned(),
                                        (false, _) => l.username,
                                    }}</td>
                                    <td data-testid="action-name">{l.action}</td>
                                    <td>{l.detail}</td>
                                </tr>
                            }).collect_view();
                            view! {
                                <table class="records">
                                    <thead><tr><th>{t(T::UsageTime)}</th><th>{t(T::UserName)}</th><th>{t(T::Action)}</th><th>{t(T::Detail)}</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
