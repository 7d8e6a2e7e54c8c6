//! Claim (the first manager, R2), accept a role (a manager or user, R4) or take one up again on
//! a new phone (R19) on this phone: the
//! offer the code makes, the holder's name and ID, the statement, and the certificate password.
//! A new device key is made for it and deleted again if the server refuses.

use ecert_core::Lang;
use ecert_core::device::action;
use ecert_core::holder::{Binding, Offer};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use super::device::{self, Card};
use super::{wallet_accept, wallet_offer, wallet_redownload_sms};
use crate::error::AppError;
use crate::i18n::{T, role_text, t, use_lang};

/// Claim (`kind` = `claim`, the first manager, R2) or accept (`authorize`, a manager or user,
/// R4) or move a role to this phone (`redownload`, R19): confirm name and ID, accept the
/// statement, set the certificate password.
#[component]
pub fn AcceptPage(kind: &'static str) -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let offer = Resource::new(code, move |c| wallet_offer(kind.to_owned(), c));
    let (name, set_name) = signal(String::new());
    let (id_number, set_id_number) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let (password2, set_password2) = signal(String::new());
    let (agreed, set_agreed) = signal(false);
    let (busy, set_busy) = signal(false);
    let (error, set_error) = signal(None::<String>);
    let (done, set_done) = signal(None::<Binding>);
    // R19: moving a role to this phone also needs the SMS sent to the registered mobile.
    let (sms_code, set_sms_code) = signal(String::new());
    let (sms_sent, set_sms_sent) = signal(None::<String>);
    let (sending, set_sending) = signal(false);
    let (resend_in, set_resend_in) = signal(0_i64);
    let send_sms = move |_| {
        set_sending.set(true);
        set_error.set(None);
        let code = code();
        spawn_local(async move {
            let result = wallet_redownload_sms(code).await;
            set_sending.set(false);
            match result {
                Ok(mobile) => {
                    super::card::count_down(set_resend_in, ecert_core::sms::MIN_INTERVAL_SECONDS);
                    set_sms_sent.set(Some(format!("{}{mobile}", T::SmsSent.get(lang))));
                }
                Err(e) => set_error.set(Some(e.message(lang))),
            }
        });
    };
    let send_label = move || match resend_in.get() {
        0 => T::SendSmsCode.get(lang).to_owned(),
        n => match lang {
            Lang::Zh => format!("{n}秒后可重新发送"),
            Lang::En => format!("Send again in {n} s"),
        },
    };

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if !agreed.get_untracked() {
            set_error.set(Some(T::MustAgree.get(lang).to_owned()));
            return;
        }
        if password.get_untracked() != password2.get_untracked() {
            set_error.set(Some(T::PasswordsDiffer.get(lang).to_owned()));
            return;
        }
        if !device::supported() {
            set_error.set(Some(T::DeviceUnsupported.get(lang).to_owned()));
            return;
        }
        set_busy.set(true);
        set_error.set(None);
        let code = code();
        let form = Filled {
            name: name.get_untracked(),
            id_number: id_number.get_untracked(),
            password: password.get_untracked(),
            sms_code: sms_code.get_untracked(),
        };
        spawn_local(async move {
            let result = take_up(lang, kind, code, form).await;
            set_busy.set(false);
            match result {
                Ok(b) => set_done.set(Some(b)),
                Err(e) => set_error.set(Some(e)),
            }
        });
    };

    let (title, button) = match kind {
        "claim" => (T::ClaimTitle, T::ClaimButton),
        "redownload" => (T::RedownloadTitle, T::RedownloadButton),
        _ => (T::AcceptTitle, T::AcceptButton),
    };
    view! {
        <h1>{t(title)}</h1>
        <OfferSummary offer />
        <Show
            when=move || done.get().is_none()
            fallback=move || view! {
                <p class="ok" role="status" data-testid="accepted">{t(T::AcceptDone)}</p>
                <p><a href="/wallet">{t(T::GoToWallet)}</a></p>
            }
        >
            <form class="stack panel" on:submit=submit>
                <label>{t(T::PersonName)}<input name="name" required maxlength="30" bind:value=(name, set_name) /></label>
                <label>{t(T::IdNumber)}<input name="id_number" required maxlength="18" autocomplete="off" bind:value=(id_number, set_id_number) /></label>
                <label>{t(T::CertificatePassword)}<input name="password" type="password" required minlength="6" maxlength="64" autocomplete="new-password" bind:value=(password, set_password) /></label>
                <label>{t(T::RepeatPassword)}<input name="password2" type="password" required autocomplete="new-password" bind:value=(password2, set_password2) /></label>
                {(kind == "redownload").then(|| view! {
                    <div class="stack" data-testid="redownload-sms">
                        <p class="muted">{t(T::RedownloadSmsNote)}</p>
                        <button type="button" class="small secondary" data-testid="send-sms"
                            disabled=move || sending.get() || resend_in.get() != 0 on:click=send_sms>{send_label}</button>
                        {move || sms_sent.get().map(|m| view! { <p class="ok" role="status" data-testid="sms-sent">{m}</p> })}
                        <label>{t(T::SmsCode)}<input name="sms_code" required inputmode="numeric" maxlength="6" autocomplete="one-time-code" bind:value=(sms_code, set_sms_code) /></label>
                    </div>
                })}
                <p class="statement">{t(T::DownloadStatement)}</p>
                <label class="inline"><input type="checkbox" name="agree" bind:checked=(agreed, set_agreed) />{t(T::AgreeStatement)}</label>
                <p class="error" role="alert">{move || error.get()}</p>
                <button type="submit" disabled=move || busy.get()>{t(button)}</button>
            </form>
        </Show>
    }
}

/// What the holder typed.
struct Filled {
    name: String,
    id_number: String,
    password: String,
    /// R19: the code of the SMS to the registered mobile (a re-download only).
    sms_code: String,
}

/// Makes this phone's key for the role, has the platform bind it, and keeps the card; the key
/// goes again if any step fails.
async fn take_up(lang: Lang, kind: &'static str, code: String, form: Filled) -> Result<Binding, String> {
    let act = match kind {
        "claim" => action::CLAIM,
        "redownload" => action::REDOWNLOAD,
        _ => action::ACCEPT,
    };
    let (slot, public_key) = device::create_key().await.map_err(|e| device::key_error(lang, &e))?;
    let signature = match device::sign(&slot, act, &code).await {
        Ok(s) => s,
        Err(e) => {
            device::delete_key(&slot).await;
            return Err(device::key_error(lang, &e));
        }
    };
    let accepted = wallet_accept(
        kind.to_owned(),
        code,
        form.name,
        form.id_number,
        form.password,
        public_key,
        signature,
        form.sms_code,
    )
    .await;
    match accepted {
        Ok(b) => {
            device::save_card(Card {
                slot,
                device_id: b.device_id.clone(),
                certificate_id: b.certificate_id.clone(),
                role: b.role,
                institution_name: b.institution_name.clone(),
                credit_code: b.credit_code.clone(),
                serial: b.serial.clone(),
                holder_name: b.holder_name.clone(),
            });
            Ok(b)
        }
        Err(e) => {
            device::delete_key(&slot).await;
            Err(e.message(lang))
        }
    }
}

/// What the code offers: which institution, which role, for whom, until when.
#[component]
fn OfferSummary(offer: Resource<Result<Offer, AppError>>) -> impl IntoView {
    let lang = use_lang();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match offer.await {
                    Err(e) => view! { <p class="error" role="alert" data-testid="offer-error">{e.message(lang)}</p> }.into_any(),
                    Ok(o) => {
                        let expires = ecert_core::time::format_cst(ecert_core::Millis(o.expires_at));
                        view! {
                            <dl class="offer">
                                <dt>{t(T::InstitutionName)}</dt><dd data-testid="offer-institution">{o.institution_name}</dd>
                                <dt>{t(T::CreditCode)}</dt><dd><code>{o.credit_code}</code></dd>
                                <dt>{t(T::Role)}</dt><dd>{role_text(o.role, lang)}</dd>
                                <dt>{t(T::Holder)}</dt><dd>{o.holder_name}</dd>
                                <dt>{t(T::ValidUntil)}</dt><dd>{expires} " (CST)"</dd>
                            </dl>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
    }
}
