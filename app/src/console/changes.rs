//! Console: record a change to a certificate (journey 7). Legal-representative and first-manager
//! changes void every authorization and give a new claim slip (R14); name and mobile changes,
//! cancellation and deletion (R15). Also the development SMS gateway's outbox (R13).

use ecert_core::certificate::{FirstManagerChoice, PersonInput};
use ecert_core::changes::ChangeRequest;
use ecert_core::sms::OutboxMessage;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;

use super::selection::{ClaimSlip, ConsoleCtx};
use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

#[server(endpoint = "apply_change", input = Json)]
pub async fn apply_change(certificate_id: String, request: ChangeRequest) -> Result<Option<ClaimSlip>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state();
    let claim = ecert_core::changes::apply(
        &state.db,
        &staff,
        &certificate_id,
        &request,
        &state.identity,
        state.issue_policy,
        ecert_core::Millis::now(),
        &state.random,
    )
    .await?;
    match claim {
        Some(claim) => Ok(Some(super::selection::slip(&staff, claim).await?)),
        None => Ok(None),
    }
}

#[server(endpoint = "sms_outbox")]
pub async fn sms_outbox() -> Result<Vec<OutboxMessage>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state();
    Ok(ecert_core::sms::outbox(&state.db, &staff, 20).await?)
}

#[component]
pub fn ChangePanel() -> impl IntoView {
    let lang = use_lang();
    let ctx = ConsoleCtx::get();
    let (kind, set_kind) = signal(String::from("rename"));
    let field = || signal(String::new());
    let (name, set_name) = field();
    let (mobile, set_mobile) = field();
    let (rep_name, set_rep_name) = field();
    let (rep_id, set_rep_id) = field();
    let (rep_mobile, set_rep_mobile) = field();
    let (fm_delegate, set_fm_delegate) = signal(false);
    let (fm_name, set_fm_name) = field();
    let (fm_id, set_fm_id) = field();
    let (fm_mobile, set_fm_mobile) = field();
    let (message, set_message) = signal(None::<(bool, String)>);
    let (busy, set_busy) = signal(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(cert) = ctx.selected.get_untracked() else { return };
        let first_manager = if fm_delegate.get_untracked() {
            FirstManagerChoice::Delegate(PersonInput {
                name: fm_name.get_untracked(),
                id_number: fm_id.get_untracked(),
                mobile: fm_mobile.get_untracked(),
            })
        } else {
            FirstManagerChoice::LegalRepresentative
        };
        let request = match kind.get_untracked().as_str() {
            "legal_rep" => ChangeRequest::LegalRepresentative {
                legal_rep: PersonInput {
                    name: rep_name.get_untracked(),
                    id_number: rep_id.get_untracked(),
                    mobile: rep_mobile.get_untracked(),
                },
                first_manager,
            },
            "first_manager" => ChangeRequest::FirstManager { first_manager },
            "mobile" => ChangeRequest::Mobile { mobile: mobile.get_untracked() },
            "cancel" => ChangeRequest::Cancel,
            "delete" => ChangeRequest::Delete,
            _ => ChangeRequest::Rename { name: name.get_untracked() },
        };
        set_busy.set(true);
        spawn_local(async move {
            let result = apply_change(cert.certificate_id.clone(), request).await;
            set_busy.set(false);
            match result {
                Ok(slip) => {
                    set_message.set(Some((true, T::ChangeDone.get(lang).to_owned())));
                    if slip.is_some() {
                        ctx.slip.set(slip);
                    }
                    ctx.bump.update(|n| *n += 1);
                }
                Err(e) => set_message.set(Some((false, e.message(lang)))),
            }
        });
    };
    let option = move |value: &'static str, label: T| {
        view! { <option value=value selected=move || kind.get() == value>{t(label)}</option> }
    };
    view! {
        <Show when=move || ctx.selected.get().is_some()>
            <section class="panel" aria-labelledby="change-title" data-testid="change-panel">
                <h2 id="change-title">{t(T::ChangesTitle)} " · " {move || ctx.selected.get().map(|c| c.institution_name).unwrap_or_default()}</h2>
                <form class="grid-form" on:submit=submit>
                    <label>{t(T::ChangeKind)}
                        <select name="kind" on:change=move |ev| { set_kind.set(event_target_value(&ev)); set_message.set(None); }>
                            {option("rename", T::ChangeName)}
                            {option("mobile", T::ChangeMobile)}
                            {option("legal_rep", T::ChangeLegalRep)}
                            {option("first_manager", T::ChangeFirstManager)}
                            {option("cancel", T::ChangeCancel)}
                            {option("delete", T::ChangeDelete)}
                        </select>
                    </label>
                    <Show when=move || kind.get() == "rename">
                        <label>{t(T::NewName)}<input name="new_name" maxlength="100" bind:value=(name, set_name) /></label>
                    </Show>
                    <Show when=move || kind.get() == "mobile">
                        <label>{t(T::NewMobile)}<input name="new_mobile" maxlength="11" inputmode="numeric" bind:value=(mobile, set_mobile) /></label>
                    </Show>
                    <Show when=move || kind.get() == "legal_rep">
                        <fieldset>
                            <legend>{t(T::LegalRep)}</legend>
                            <label>{t(T::PersonName)}<input name="rep_name" maxlength="30" bind:value=(rep_name, set_rep_name) /></label>
                            <label>{t(T::IdNumber)}<input name="rep_id_number" maxlength="18" autocomplete="off" bind:value=(rep_id, set_rep_id) /></label>
                            <label>{t(T::Mobile)}<input name="rep_mobile" maxlength="11" inputmode="numeric" bind:value=(rep_mobile, set_rep_mobile) /></label>
                        </fieldset>
                    </Show>
                    <Show when=move || kind.get() == "legal_rep" || kind.get() == "first_manager">
                        <fieldset>
                            <legend>{t(T::FirstManager)}</legend>
                            <label class="inline"><input type="checkbox" bind:checked=(fm_delegate, set_fm_delegate) />{t(T::FirstManagerIsDelegate)}</label>
                            <Show when=move || fm_delegate.get()>
                                <label>{t(T::DelegateName)}<input name="fm_name" maxlength="30" bind:value=(fm_name, set_fm_name) /></label>
                                <label>{t(T::DelegateIdNumber)}<input name="fm_id_number" maxlength="18" autocomplete="off" bind:value=(fm_id, set_fm_id) /></label>
                                <label>{t(T::DelegateMobile)}<input name="fm_mobile" maxlength="11" inputmode="numeric" bind:value=(fm_mobile, set_fm_mobile) /></label>
                            </Show>
                            <p class="notice">{t(T::ChangeVoidsAll)}</p>
                        </fieldset>
                    </Show>
                    {move || message.get().map(|(ok, m)| view! { <p class=if ok { "ok" } else { "error" } role="alert" data-testid="change-message">{m}</p> })}
                    <button type="submit" disabled=move || busy.get()>{t(T::ApplyChange)}</button>
                </form>
            </section>
        </Show>
    }
}

/// The development SMS gateway's outbox of the staff member's authority.
#[component]
pub fn OutboxPanel() -> impl IntoView {
    let lang = use_lang();
    let tick = RwSignal::new(0u32);
    // Loaded in the browser (behind the staff session; no server rendering needed).
    let messages = LocalResource::new(move || {
        tick.track();
        sms_outbox()
    });
    view! {
        <section class="panel" aria-labelledby="outbox-title">
            <h2 id="outbox-title">{t(T::SmsOutbox)}</h2>
            <p class="hint">{t(T::SmsOutboxHint)}</p>
            <button type="button" class="small secondary" on:click=move |_| tick.update(|n| *n += 1)>{t(T::Refresh)}</button>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match messages.await {
                        Ok(list) => view! {
                            <ul class="records" data-testid="outbox">
                                {list.into_iter().map(|m| view! {
                                    <li>{ecert_core::time::format_cst(ecert_core::Millis(m.created_at))} " " {m.mobile} " " {m.body}</li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
