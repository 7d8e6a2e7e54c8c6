//! One card of the wallet's home: the certificate role this phone holds, the grants in force
//! (R6, R7: what the holder may see of itself), its usage records (R12), and the certificate
//! password's change and SMS reset (R13). Every call is a device-signed call.

use ecert_core::device::action;
use ecert_core::holder::{GrantStatus, HolderView};
use ecert_core::usage::UsagePage;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::device::{self, Card};
use super::{
    wallet_activity, wallet_change_password, wallet_end_session, wallet_face, wallet_password_reset, wallet_records,
    wallet_remove_card, wallet_sms_request, wallet_status,
};
use crate::error::AppError;
use crate::i18n::{T, change_text, role_text, t, usage_kind_text, use_lang};

#[component]
pub fn CardItem(card: Card) -> impl IntoView {
    let lang = use_lang();
    view! {
        <li class="card">
            <strong>{card.institution_name.clone()}</strong>
            <span class="role">{role_text(card.role, lang)}</span>
            <span class="muted">{card.holder_name.clone()} " · " <code>{card.serial.clone()}</code></span>
            <CardGrants card=card.clone() />
            <a class="button small" href=format!("/wallet/present?device={}", card.device_id) data-testid="present-button">{t(T::ShowCertificate)}</a>
            <CardFace card=card.clone() />
            {(card.role != ecert_core::holder::Role::User).then(|| view! { <super::manage::ManagePanel card=card.clone() /> })}
            <CardRecords card=card.clone() />
            <CardActivity card=card.clone() />
            <CardPassword card=card.clone() />
            <CardRemove card />
        </li>
    }
}

/// The wallet home's list of cards, set again when one is removed.
#[derive(Clone, Copy)]
pub struct CardsChanged(pub WriteSignal<Vec<Card>>);

/// Issue 16 journey 1: removes the card from this phone after the holder confirms. The server
/// stops the binding first (a card already void stops nowhere); then the key and the card go.
#[component]
fn CardRemove(card: Card) -> impl IntoView {
    let lang = use_lang();
    let cards = use_context::<CardsChanged>();
    let (asking, set_asking) = signal(false);
    let (busy, set_busy) = signal(false);
    let (error, set_error) = signal(None::<String>);
    let remove = move |_| {
        let (slot, device_id) = (card.slot.clone(), card.device_id.clone());
        set_busy.set(true);
        set_error.set(None);
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&slot, action::REMOVE_CARD, &device_id).await;
            let result = match signature {
                Ok(sig) => wallet_remove_card(device_id.clone(), signed_at, sig).await,
                // A key that is gone already cannot sign: the card is only forgotten.
                Err(_) => Ok(()),
            };
            set_busy.set(false);
            match result {
                Ok(())
                | Err(AppError::Domain(ecert_core::DomainError::Revoked | ecert_core::DomainError::CardVoid { .. })) => {
                    device::delete_key(&slot).await;
                    device::forget_card(&device_id);
                    if let Some(CardsChanged(set)) = cards {
                        set.set(device::cards());
                    }
                }
                Err(e) => set_error.set(Some(e.message(lang))),
            }
        });
    };
    view! {
        <Show when=move || asking.get() fallback=move || view! {
            <button type="button" class="small secondary" data-testid="remove-card" on:click=move |_| set_asking.set(true)>{t(T::RemoveCard)}</button>
        }>
            <div class="confirm" role="alertdialog" data-testid="remove-card-confirm">
                <p>{t(T::RemoveCardConfirm)}</p>
                <button type="button" class="danger" data-testid="remove-card-yes" disabled=move || busy.get() on:click=remove.clone()>{t(T::ConfirmRemoveCard)}</button>
                <button type="button" class="secondary" on:click=move |_| set_asking.set(false)>{t(T::Dismiss)}</button>
            </div>
        </Show>
        <p class="error" role="alert">{move || error.get()}</p>
    }
}

/// The grants in force of the card's holder, asked of the server when the card shows.
#[component]
fn CardGrants(card: Card) -> impl IntoView {
    let lang = use_lang();
    let (status, set_status) = signal(None::<Result<HolderView, String>>);
    Effect::new(move |_| {
        let (slot, device_id) = (card.slot.clone(), card.device_id.clone());
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&slot, action::STATUS, &device_id).await;
            let result = device::signed_call(lang, signature, |sig| wallet_status(device_id, signed_at, sig)).await;
            set_status.set(Some(result));
        });
    });
    move || {
        status.get().map(|s| match s {
            Ok(me) => {
                let grants = me
                    .grants
                    .into_iter()
                    .filter(|g| g.status == GrantStatus::Active)
                    .map(|g| {
                        let names: Vec<String> =
                            g.matters.iter().map(|m| lang.pick(&m.name_zh, &m.name_en).to_owned()).collect();
                        let state = if g.received_at.is_none() {
                            T::GrantWaiting
                        } else if g.effective {
                            T::GrantEffective
                        } else {
                            T::GrantNotEffective
                        };
                        view! { <li>{names.join("、")} " · " {g.start_day} " ~ " {g.end_day} " · " {t(state)}</li> }
                    })
                    .collect_view();
                view! { <ul class="grants" data-testid="card-grants">{grants}</ul> }.into_any()
            }
            Err(e) => view! { <p class="error" data-testid="card-status">{e}</p> }.into_any(),
        })
    }
}

/// The holder's usage records, on demand, a page at a time (newest first).
#[component]
fn CardRecords(card: Card) -> impl IntoView {
    let lang = use_lang();
    let (records, set_records) = signal(None::<Result<UsagePage, String>>);
    let load = move |page: i64| {
        let (slot, device_id) = (card.slot.clone(), card.device_id.clone());
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&slot, action::RECORDS, &device_id).await;
            let result =
                device::signed_call(lang, signature, |sig| wallet_records(device_id, signed_at, sig, page)).await;
            set_records.set(Some(result));
        });
    };
    let (first, prev, next) = (load.clone(), load.clone(), load);
    view! {
        <button type="button" class="small secondary" on:click=move |_| first(0)>{t(T::UsageRecords)}</button>
        {move || records.get().map(|r| match r {
            Ok(p) if p.items.is_empty() => view! { <p class="muted" data-testid="card-records">{t(T::NoRecords)}</p> }.into_any(),
            Ok(p) => {
                let (page, more) = (p.page, (p.page + 1) * p.per_page < p.total);
                let (prev, next) = (prev.clone(), next.clone());
                view! {
                    <ul class="records" data-testid="card-records">
                        {p.items.into_iter().map(|r| view! {
                            <li>{ecert_core::time::format_cst(ecert_core::Millis(r.at))} " · " {usage_kind_text(Some(r.kind), lang)} " · "
                                {ecert_core::usage::system_text(&r.system, lang)}</li>
                        }).collect_view()}
                    </ul>
                    <p class="pager">
                        {(page > 0).then(|| view! { <button type="button" class="small secondary" on:click=move |_| prev(page - 1)>{t(T::PrevPage)}</button> })}
                        {more.then(|| view! { <button type="button" class="small secondary" on:click=move |_| next(page + 1)>{t(T::NextPage)}</button> })}
                    </p>
                }
                .into_any()
            }
            Err(e) => view! { <p class="error" data-testid="card-records">{e}</p> }.into_any(),
        })}
    }
}

/// Issue 16 journey 4: the certificate face, after the certificate password — the institution
/// as registered now, the certificate's life, the holder's role and grants, the change records.
#[component]
fn CardFace(card: Card) -> impl IntoView {
    let lang = use_lang();
    let (open, set_open) = signal(false);
    let (password, set_password) = signal(String::new());
    let (busy, set_busy) = signal(false);
    let (face, set_face) = signal(None::<Result<ecert_core::holder::CertificateFace, String>>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (slot, device_id) = (card.slot.clone(), card.device_id.clone());
        let pw = password.get_untracked();
        set_busy.set(true);
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&slot, action::FACE, &device_id).await;
            let result = device::signed_call(lang, signature, |sig| wallet_face(device_id, signed_at, sig, pw)).await;
            set_busy.set(false);
            if result.is_ok() {
                set_password.set(String::new());
            }
            set_face.set(Some(result));
        });
    };
    view! {
        <button type="button" class="small secondary" data-testid="face-button" on:click=move |_| set_open.update(|o| *o = !*o)>{t(T::CertificateFace)}</button>
        <Show when=move || open.get() && !matches!(face.get(), Some(Ok(_)))>
            <form class="stack" on:submit=submit.clone()>
                <label>{t(T::CertificatePassword)}<input type="password" name="face_password" required autocomplete="current-password" bind:value=(password, set_password) /></label>
                <button type="submit" disabled=move || busy.get()>{t(T::OpenFace)}</button>
            </form>
        </Show>
        {move || face.get().map(|f| match f {
            Err(e) => view! { <p class="error" role="alert" data-testid="face-error">{e}</p> }.into_any(),
            Ok(f) => {
                let day = |ms: i64| ecert_core::time::format_cst(ecert_core::Millis(ms));
                let grants = f.holder.grants.iter().filter(|g| g.status == GrantStatus::Active).map(|g| {
                    let names: Vec<String> = g.matters.iter().map(|m| lang.pick(&m.name_zh, &m.name_en).to_owned()).collect();
                    view! { <li>{names.join("、")} " · " {g.start_day.clone()} " ~ " {g.end_day.clone()}</li> }
                }).collect_view();
                view! {
                    <section class="face" data-testid="face">
                        <dl class="offer">
                            <dt>{t(T::InstitutionName)}</dt><dd data-testid="face-institution">{f.institution_name.clone()}</dd>
                            <dt>{t(T::CreditCode)}</dt><dd><code>{f.credit_code.clone()}</code></dd>
                            <dt>{t(T::Address)}</dt><dd>{f.address.clone()}</dd>
                            <dt>{t(T::LegalRep)}</dt><dd>{f.legal_rep_name.clone()}</dd>
                            <dt>{t(T::IssuingAuthority)}</dt><dd data-testid="face-authority">{f.authority_name.clone()}</dd>
                            <dt>{t(T::Serial)}</dt><dd><code>{f.serial.clone()}</code></dd>
                            <dt>{t(T::IssuedAt)}</dt><dd>{day(f.issued_at)}</dd>
                            <dt>{t(T::ValidUntil)}</dt><dd data-testid="face-valid-until">{ecert_core::validity::last_day(f.expires_at)}</dd>
                            <dt>{t(T::Status)}</dt><dd data-testid="face-status">{f.status.label(lang)}</dd>
                            <dt>{t(T::Role)}</dt><dd>{role_text(f.holder.role, lang)} " · " {f.holder.name.clone()}</dd>
                        </dl>
                        <ul class="grants" data-testid="face-grants">{grants}</ul>
                        <h3>{t(T::ChangeRecords)}</h3>
                        <ul class="records" data-testid="face-changes">
                            {f.changes.into_iter().map(|c| view! { <li>{day(c.at)} " " {change_text(c.kind, lang)}</li> }).collect_view()}
                        </ul>
                    </section>
                }
                .into_any()
            }
        })}
    }
}

/// Issue 14 §1: the holder's live sessions, each with the browser that opened it and a way to
/// end it, and the roles added lately, on demand.
#[component]
fn CardActivity(card: Card) -> impl IntoView {
    let lang = use_lang();
    let (activity, set_activity) = signal(None::<Result<ecert_core::login::Activity, String>>);
    let (message, set_message) = signal(None::<String>);
    let c = card.clone();
    let load = move || {
        let (slot, device_id) = (c.slot.clone(), c.device_id.clone());
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&slot, action::ACTIVITY, &device_id).await;
            let result = device::signed_call(lang, signature, |sig| wallet_activity(device_id, signed_at, sig)).await;
            set_activity.set(Some(result));
        });
    };
    let show = load.clone();
    let end = move |kind: String, handle: String| {
        let (slot, device_id) = (card.slot.clone(), card.device_id.clone());
        let load = load.clone();
        spawn_local(async move {
            let subject = format!("{kind}\n{handle}");
            let (signed_at, signature) = device::sign_timed(&slot, action::END_SESSION, &subject).await;
            let result =
                device::signed_call(lang, signature, |sig| wallet_end_session(device_id, kind, handle, signed_at, sig))
                    .await;
            set_message.set(Some(match result {
                Ok(()) => T::SessionEnded.get(lang).to_owned(),
                Err(e) => e,
            }));
            load();
        });
    };
    view! {
        <button type="button" class="small secondary" data-testid="activity-button" on:click=move |_| show()>{t(T::SessionsAndNotices)}</button>
        {move || activity.get().map(|a| match a {
            Ok(a) => {
                let end = end.clone();
                view! {
                    <div class="stack" data-testid="card-activity">
                        <h3>{t(T::Sessions)}</h3>
                        {a.sessions.is_empty().then(|| view! { <p class="muted">{t(T::NoSessions)}</p> })}
                        <ul class="records">
                            {a.sessions.into_iter().map(|s| {
                                let system = if s.system == ecert_core::login::DASHBOARD { T::ManagerDashboard.get(lang).to_owned() } else { s.system.clone() };
                                let context = [s.requested_from.clone(), s.requested_with.clone()].into_iter().flatten().collect::<Vec<_>>().join(" · ");
                                let (kind, handle) = (s.kind.clone(), s.handle.clone());
                                let end = end.clone();
                                view! {
                                    <li data-testid="session">
                                        {ecert_core::time::format_cst(ecert_core::Millis(s.created_at))} " · " {system}
                                        {(!context.is_empty()).then(|| format!(" · {context}"))}
                                        " "
                                        <button type="button" class="small danger" data-testid="end-session" on:click=move |_| end(kind.clone(), handle.clone())>{t(T::EndSession)}</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <h3>{t(T::Notices)}</h3>
                        {a.notices.is_empty().then(|| view! { <p class="muted">{t(T::NoRecords)}</p> })}
                        <ul class="records" data-testid="notices">
                            {a.notices.into_iter().map(|n| view! {
                                <li>{ecert_core::time::format_cst(ecert_core::Millis(n.at))} " · " {change_text(n.kind, lang)}</li>
                            }).collect_view()}
                        </ul>
                    </div>
                }
                .into_any()
            }
            Err(e) => view! { <p class="error" data-testid="card-activity">{e}</p> }.into_any(),
        })}
        {move || message.get().map(|m| view! { <p class="hint" role="status" data-testid="activity-message">{m}</p> })}
    }
}

/// R13: change the certificate password with the old one, or reset it with an SMS code.
#[component]
fn CardPassword(card: Card) -> impl IntoView {
    let lang = use_lang();
    let (open, set_open) = signal(false);
    let (old, set_old) = signal(String::new());
    let (new, set_new) = signal(String::new());
    let (message, set_message) = signal(None::<(bool, String)>);
    let (reset_open, set_reset_open) = signal(false);
    let (sms_code, set_sms_code) = signal(String::new());
    let (id_number, set_id_number) = signal(String::new());
    let (reset_pw, set_reset_pw) = signal(String::new());
    // Each answer is shown the same way: a success text or the error.
    let show = move |result: Result<String, String>| {
        set_message.set(Some(match result {
            Ok(text) => (true, text),
            Err(e) => (false, e),
        }))
    };
    // Issue 16 §7: one code a minute (R13); the button says how long until the next.
    let (sending, set_sending) = signal(false);
    let (resend_in, set_resend_in) = signal(0_i64);
    let c = card.clone();
    let send_sms = move |_| {
        let (slot, device_id) = (c.slot.clone(), c.device_id.clone());
        set_sending.set(true);
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&slot, action::SMS_REQUEST, &device_id).await;
            let result =
                device::signed_call(lang, signature, |sig| wallet_sms_request(device_id, signed_at, sig)).await;
            set_sending.set(false);
            if result.is_ok() {
                count_down(set_resend_in, ecert_core::sms::MIN_INTERVAL_SECONDS);
            }
            show(result.map(|mobile| format!("{}{mobile}", T::SmsSent.get(lang))));
        });
    };
    let send_blocked = move || sending.get() || resend_in.get() != 0;
    let send_label = move || match resend_in.get() {
        0 => T::SendSmsCode.get(lang).to_owned(),
        n => match lang {
            ecert_core::Lang::Zh => format!("{}秒后可重新发送", n),
            ecert_core::Lang::En => format!("Send again in {n} s"),
        },
    };
    let c = card.clone();
    let reset = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (slot, device_id) = (c.slot.clone(), c.device_id.clone());
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&slot, action::PASSWORD_RESET, &device_id).await;
            let result = device::signed_call(lang, signature, |sig| {
                let (code, id) = (sms_code.get_untracked(), id_number.get_untracked());
                wallet_password_reset(device_id, signed_at, sig, code, id, reset_pw.get_untracked())
            })
            .await;
            show(result.map(|()| T::PasswordReset.get(lang).to_owned()));
        });
    };
    let change = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (slot, device_id) = (card.slot.clone(), card.device_id.clone());
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&slot, action::PASSWORD_CHANGE, &device_id).await;
            let result = device::signed_call(lang, signature, |sig| {
                wallet_change_password(device_id, signed_at, sig, old.get_untracked(), new.get_untracked())
            })
            .await;
            show(result.map(|()| T::PasswordChanged.get(lang).to_owned()));
        });
    };
    view! {
        <button type="button" class="small secondary" on:click=move |_| set_open.update(|o| *o = !*o)>
            {t(T::ChangePassword)}
        </button>
        <button type="button" class="small secondary" on:click=move |_| set_reset_open.update(|o| *o = !*o)>
            {t(T::ForgotPassword)}
        </button>
        <Show when=move || reset_open.get()>
            <div class="stack">
                <button type="button" class="small" data-testid="send-sms" disabled=send_blocked
                    on:click=send_sms.clone()>{send_label}</button>
                <form class="stack" on:submit=reset.clone()>
                    <label>{t(T::SmsCode)}<input inputmode="numeric" maxlength="6" autocomplete="one-time-code" bind:value=(sms_code, set_sms_code) /></label>
                    <label>{t(T::IdNumber)}<input maxlength="18" autocomplete="off" bind:value=(id_number, set_id_number) /></label>
                    <label>{t(T::NewPassword)}<input type="password" autocomplete="new-password" bind:value=(reset_pw, set_reset_pw) /></label>
                    <button type="submit">{t(T::ResetPassword)}</button>
                </form>
            </div>
        </Show>
        <Show when=move || open.get()>
            <form class="stack" on:submit=change.clone()>
                <label>{t(T::OldPassword)}<input type="password" bind:value=(old, set_old) autocomplete="current-password" /></label>
                <label>{t(T::NewPassword)}<input type="password" bind:value=(new, set_new) autocomplete="new-password" /></label>
                <button type="submit">{t(T::Save)}</button>
            </form>
        </Show>
        {move || message.get().map(|(ok, m)| view! { <p class=if ok { "ok" } else { "error" } role="alert" data-testid="card-message">{m}</p> })}
    }
}

/// Counts `seconds` down to 0 in `left`, once a second (in the browser; nothing on the server).
pub(super) fn count_down(left: WriteSignal<i64>, seconds: i64) {
    left.set(seconds);
    #[cfg(feature = "hydrate")]
    {
        use std::cell::Cell;
        use std::rc::Rc;
        let handle = Rc::new(Cell::new(None::<IntervalHandle>));
        let own = handle.clone();
        let remaining = Cell::new(seconds);
        let started = set_interval_with_handle(
            move || {
                let n = (remaining.get() - 1).max(0);
                remaining.set(n);
                left.set(n);
                if n == 0
                    && let Some(h) = own.take()
                {
                    h.clear();
                }
            },
            std::time::Duration::from_secs(1),
        );
        if let Ok(h) = started {
            handle.set(Some(h));
        }
    }
}
