//! Console: record a change to a certificate (journey 7). Legal-representative and first-manager
//! changes void every authorization and give a new claim slip (R14); name and mobile changes,
//! cancellation and deletion (R15). Also the development SMS gateway's outbox (R13).

use ecert_core::certificate::{FirstManagerChoice, PersonInput};
use ecert_core::changes::{ChangeRequest, Impact};
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
    let state = crate::state::app_state()?;
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

/// What a destructive change of the certificate would void now, for the confirmation.
#[server(endpoint = "change_impact")]
pub async fn change_impact(certificate_id: String) -> Result<Impact, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::changes::impact(&state.db, &staff, &certificate_id, ecert_core::Millis::now()).await?)
}

/// The confirmation's words: who stops acting for the institution, in numbers.
fn impact_text(i: Impact, lang: ecert_core::Lang) -> String {
    match lang {
        ecert_core::Lang::Zh => format!(
            "此变更将使第一管理责任人{}名、管理人{}名、使用人{}名和{}项授权立即失效。",
            i.first_managers, i.managers, i.users, i.grants
        ),
        ecert_core::Lang::En => format!(
            "This change stops {} first manager(s), {} manager(s), {} user(s) and {} grant(s) at once.",
            i.first_managers, i.managers, i.users, i.grants
        ),
    }
}

#[server(endpoint = "sms_outbox")]
pub async fn sms_outbox() -> Result<Vec<OutboxMessage>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    // Issue 14 §6: a deployment reached over HTTPS is production: its staff see no live codes.
    let codes = !state.public_url.starts_with("https://");
    Ok(ecert_core::sms::outbox(&state.db, &staff, 20, codes).await?)
}

/// Issue 16 §6: the SMS queue of the staff member's authority — delivered, waiting for another
/// attempt, or given up, with the gateway's last answer — without any message's content.
#[server(endpoint = "sms_deliveries")]
pub async fn sms_deliveries() -> Result<Vec<ecert_core::sms::Delivery>, AppError> {
    let staff = crate::guard::staff().await?;
    let state = crate::state::app_state()?;
    Ok(ecert_core::sms::deliveries(&state.db, &staff, 50).await?)
}

/// A person's three fields in the form.
#[derive(Clone, Copy, Default)]
struct PersonFields {
    name: RwSignal<String>,
    id_number: RwSignal<String>,
    mobile: RwSignal<String>,
}

impl PersonFields {
    fn input(self) -> PersonInput {
        PersonInput {
            name: self.name.get_untracked(),
            id_number: self.id_number.get_untracked(),
            mobile: self.mobile.get_untracked(),
        }
    }
}

/// The change form: which change (`kind`, the select's value) and the fields it shows.
#[derive(Clone, Copy)]
struct ChangeForm {
    kind: RwSignal<String>,
    name: RwSignal<String>,
    mobile: RwSignal<String>,
    address: RwSignal<String>,
    rep: PersonFields,
    fm_delegate: RwSignal<bool>,
    fm: PersonFields,
    checks: super::forms::Checks,
}

impl Default for ChangeForm {
    fn default() -> Self {
        ChangeForm {
            kind: RwSignal::new("rename".to_owned()),
            name: RwSignal::default(),
            mobile: RwSignal::default(),
            address: RwSignal::default(),
            rep: PersonFields::default(),
            fm_delegate: RwSignal::new(false),
            fm: PersonFields::default(),
            checks: super::forms::Checks::default(),
        }
    }
}

impl ChangeForm {
    /// The request the form makes now.
    fn request(self) -> ChangeRequest {
        let first_manager = if self.fm_delegate.get_untracked() {
            FirstManagerChoice::Delegate(self.fm.input())
        } else {
            FirstManagerChoice::LegalRepresentative
        };
        match self.kind.get_untracked().as_str() {
            "legal_rep" => ChangeRequest::LegalRepresentative {
                legal_rep: self.rep.input(),
                first_manager,
                checklist: self.checks.value(),
            },
            "first_manager" => ChangeRequest::FirstManager { first_manager, checklist: self.checks.value() },
            "mobile" => ChangeRequest::Mobile { mobile: self.mobile.get_untracked() },
            "rep_mobile" => ChangeRequest::RepMobile { mobile: self.mobile.get_untracked() },
            "address" => ChangeRequest::Address { address: self.address.get_untracked() },
            "renew" => ChangeRequest::Renew,
            "new_device" => ChangeRequest::NewDevice { checklist: self.checks.value() },
            "cancel" => ChangeRequest::Cancel,
            "delete" => ChangeRequest::Delete,
            _ => ChangeRequest::Rename { name: self.name.get_untracked() },
        }
    }
}

#[component]
pub fn ChangePanel(authority: String) -> impl IntoView {
    let lang = use_lang();
    let ctx = ConsoleCtx::get();
    let form = ChangeForm::default();
    let ChangeForm { kind, name, mobile, address, rep, fm_delegate, fm, checks } = form;
    let authority = StoredValue::new(authority);
    // Form 2, prefilled from the chosen certificate and the fields below.
    let form2 = super::forms::FormFields {
        rep_name: rep.name,
        rep_id_number: rep.id_number,
        rep_mobile: rep.mobile,
        delegate: fm_delegate,
        fm_name: fm.name,
        fm_id_number: fm.id_number,
        fm_mobile: fm.mobile,
        ..super::forms::FormFields::default()
    };
    Effect::new(move |_| {
        if let Some(c) = ctx.selected.get() {
            form2.institution.set(c.institution_name);
            form2.credit_code.set(c.credit_code);
            form2.address.set(c.address);
        }
    });
    let (message, set_message) = signal(None::<(bool, String)>);
    let (busy, set_busy) = signal(false);
    // A destructive change waiting for the staff member's yes, with what it voids.
    let (pending, set_pending) = signal(None::<(ChangeRequest, Impact)>);

    let apply = move |request: ChangeRequest| {
        let Some(cert) = ctx.selected.get_untracked() else { return };
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
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(cert) = ctx.selected.get_untracked() else { return };
        let request = form.request();
        set_message.set(None);
        // Form 2's papers are checked here first: no confirmation for a change that cannot apply.
        if let ChangeRequest::LegalRepresentative { checklist, first_manager, .. }
        | ChangeRequest::FirstManager { checklist, first_manager } = &request
            && let Err(e) = checklist.check(matches!(first_manager, FirstManagerChoice::Delegate(_)))
        {
            set_message.set(Some((false, e.message(lang))));
            return;
        }
        if !request.is_destructive() {
            apply(request);
            return;
        }
        set_busy.set(true);
        spawn_local(async move {
            let impact = change_impact(cert.certificate_id.clone()).await;
            set_busy.set(false);
            match impact {
                Ok(impact) => set_pending.set(Some((request, impact))),
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
                        <select name="kind" on:change=move |ev| { kind.set(event_target_value(&ev)); set_message.set(None); set_pending.set(None); }>
                            {option("rename", T::ChangeName)}
                            {option("mobile", T::ChangeMobile)}
                            {option("address", T::ChangeAddress)}
                            {option("rep_mobile", T::ChangeRepMobile)}
                            {option("legal_rep", T::ChangeLegalRep)}
                            {option("first_manager", T::ChangeFirstManager)}
                            {option("new_device", T::ChangeNewDevice)}
                            {option("renew", T::ChangeRenew)}
                            {option("cancel", T::ChangeCancel)}
                            {option("delete", T::ChangeDelete)}
                        </select>
                    </label>
                    <Show when=move || kind.get() == "rename">
                        <label>{t(T::NewName)}<input name="new_name" maxlength="100" bind:value=name /></label>
                    </Show>
                    <Show when=move || kind.get() == "address">
                        <label>{t(T::NewAddress)}<input name="new_address" maxlength="200" bind:value=address /></label>
                    </Show>
                    <Show when=move || kind.get() == "mobile" || kind.get() == "rep_mobile">
                        <label>{t(T::NewMobile)}<input name="new_mobile" maxlength="11" inputmode="numeric" bind:value=mobile /></label>
                    </Show>
                    <Show when=move || kind.get() == "renew">
                        <p class="notice" data-testid="renew-notice">
                            {t(T::ValidUntil)} " "
                            {move || ctx.selected.get().map(|c| ecert_core::validity::last_day(c.expires_at)).unwrap_or_default()}
                            " · " {t(T::RenewNotice)}
                        </p>
                    </Show>
                    <Show when=move || kind.get() == "new_device">
                        <p class="notice" data-testid="new-device-notice">{t(T::NewDeviceNotice)}</p>
                        <label class="inline"><input type="checkbox" name="identity_card_checked" bind:checked=checks.identity_card />{t(T::CheckIdentityCard)}</label>
                    </Show>
                    <Show when=move || kind.get() == "legal_rep">
                        <fieldset>
                            <legend>{t(T::LegalRep)}</legend>
                            <label>{t(T::PersonName)}<input name="rep_name" maxlength="30" bind:value=rep.name /></label>
                            <label>{t(T::IdNumber)}<input name="rep_id_number" maxlength="18" autocomplete="off" bind:value=rep.id_number /></label>
                            <label>{t(T::Mobile)}<input name="rep_mobile" maxlength="11" inputmode="numeric" bind:value=rep.mobile /></label>
                        </fieldset>
                    </Show>
                    <Show when=move || kind.get() == "legal_rep" || kind.get() == "first_manager">
                        <fieldset>
                            <legend>{t(T::FirstManager)}</legend>
                            <label class="inline"><input type="checkbox" bind:checked=fm_delegate />{t(T::FirstManagerIsDelegate)}</label>
                            <Show when=move || fm_delegate.get()>
                                <label>{t(T::DelegateName)}<input name="fm_name" maxlength="30" bind:value=fm.name /></label>
                                <label>{t(T::DelegateIdNumber)}<input name="fm_id_number" maxlength="18" autocomplete="off" bind:value=fm.id_number /></label>
                                <label>{t(T::DelegateMobile)}<input name="fm_mobile" maxlength="11" inputmode="numeric" bind:value=fm.mobile /></label>
                            </Show>
                            <p class="notice">{t(T::ChangeVoidsAll)}</p>
                        </fieldset>
                        <super::forms::Checklist checks delegate=fm_delegate />
                        {move || {
                            let kind = super::forms::FormKind::Change { legal_rep: kind.get() == "legal_rep" };
                            view! { <super::forms::PrintedForm kind fields=form2 authority=authority.get_value() /> }
                        }}
                    </Show>
                    {move || message.get().map(|(ok, m)| view! { <p class=if ok { "ok" } else { "error" } role="alert" data-testid="change-message">{m}</p> })}
                    {move || pending.get().map(|(request, impact)| view! {
                        <div class="confirm" role="alertdialog" data-testid="change-confirm">
                            <p>{impact_text(impact, lang)}</p>
                            <button type="button" class="danger" data-testid="change-confirm-yes" on:click=move |_| {
                                set_pending.set(None);
                                apply(request.clone());
                            }>{t(T::ConfirmChange)}</button>
                            <button type="button" class="secondary" on:click=move |_| set_pending.set(None)>{t(T::Dismiss)}</button>
                        </div>
                    })}
                    <button type="submit" disabled=move || busy.get() || pending.get().is_some()>{t(T::ApplyChange)}</button>
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
    let deliveries = LocalResource::new(move || {
        tick.track();
        sms_deliveries()
    });
    view! {
        <section class="panel" aria-labelledby="sms-title">
            <h2 id="sms-title">{t(T::SmsDeliveries)}</h2>
            <p class="hint">{t(T::SmsDeliveriesHint)}</p>
            <button type="button" class="small secondary" on:click=move |_| tick.update(|n| *n += 1)>{t(T::Refresh)}</button>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match deliveries.await {
                        Ok(list) if list.is_empty() => view! { <p>{t(T::NoSms)}</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="list" data-testid="sms-deliveries">
                                <thead><tr>
                                    <th>{t(T::SentAt)}</th><th>{t(T::Mobile)}</th><th>{t(T::SmsKindHeader)}</th>
                                    <th>{t(T::SmsState)}</th><th>{t(T::SmsAttempts)}</th><th>{t(T::SmsGatewayAnswer)}</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|d| view! {
                                        <tr>
                                            <td>{ecert_core::time::format_cst(ecert_core::Millis(d.created_at))}</td>
                                            <td>{d.mobile}</td>
                                            <td>{sms_kind_text(d.kind, lang)}</td>
                                            <td data-testid="sms-state">{delivery_text(d.status, lang)}</td>
                                            <td>{d.attempts}</td>
                                            <td>{d.last_error.unwrap_or_default()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <section class="panel" aria-labelledby="outbox-title">
            <h2 id="outbox-title">{t(T::SmsOutbox)}</h2>
            <p class="hint">{t(T::SmsOutboxHint)}</p>
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

fn sms_kind_text(kind: ecert_core::sms::SmsKind, lang: ecert_core::Lang) -> &'static str {
    match kind {
        ecert_core::sms::SmsKind::PasswordReset => T::SmsPasswordReset.get(lang),
        ecert_core::sms::SmsKind::Redownload => T::SmsRedownload.get(lang),
        ecert_core::sms::SmsKind::ApplicantSignIn => T::SmsApplicantSignIn.get(lang),
    }
}

fn delivery_text(status: ecert_core::sms::DeliveryStatus, lang: ecert_core::Lang) -> &'static str {
    use ecert_core::sms::DeliveryStatus;
    match status {
        DeliveryStatus::Queued => T::SmsQueued.get(lang),
        DeliveryStatus::Sent => T::SmsDelivered.get(lang),
        DeliveryStatus::Failed => T::SmsFailed.get(lang),
    }
}
