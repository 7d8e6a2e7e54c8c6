//! R17 on the phone: a grant QR opened this page. It shows what the grant hands over — the
//! institution, the matters, the period, who granted it — and the user receives it with the
//! card this phone holds for that institution; the grant is in force from then, in its period.

use ecert_core::device::action;
use ecert_core::holder::GrantOffer;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;
use leptos_router::hooks::use_query_map;

use super::device;
use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

/// R17: what a grant QR hands over, without using it.
#[server(prefix = "/api/v1/wallet", endpoint = "grant_offer", input = Json)]
pub async fn wallet_grant_offer(code: String) -> Result<GrantOffer, AppError> {
    let state = crate::state::app_state()?;
    Ok(ecert_core::holder::grant_offer(&state.db, &code, ecert_core::Millis::now()).await?)
}

/// R17: the user receives the grant on this phone, signed `grant-receive` over the code by the
/// device of the user it was given to; answers the grant's id.
#[server(prefix = "/api/v1/wallet", endpoint = "grant_receive", input = Json)]
pub async fn wallet_grant_receive(code: String, device_id: String, signature: String) -> Result<String, AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    Ok(ecert_core::holder::receive_grant(&state.db, &code, &device_id, &signature, now, &state.random).await?)
}

/// The grant QR's page: the offer, then "接收授权" with the card of that institution.
#[component]
pub fn GrantPage() -> impl IntoView {
    let lang = use_lang();
    let query = use_query_map();
    let code = move || query.read().get("code").unwrap_or_default();
    let offer = Resource::new(code, wallet_grant_offer);
    let (busy, set_busy) = signal(false);
    let (error, set_error) = signal(None::<String>);
    let (done, set_done) = signal(false);
    let receive = move |certificate_id: String| {
        // The card lives in the browser: it is looked up when the user taps.
        let Some(card) = device::cards().into_iter().find(|c| c.certificate_id == certificate_id) else {
            set_error.set(Some(T::GrantNoCard.get(lang).to_owned()));
            return;
        };
        let code = code();
        set_busy.set(true);
        set_error.set(None);
        spawn_local(async move {
            let signature = device::sign(&card.slot, action::GRANT_RECEIVE, &code).await;
            let result =
                device::signed_call(lang, signature, |sig| wallet_grant_receive(code, card.device_id, sig)).await;
            set_busy.set(false);
            match result {
                Ok(_) => set_done.set(true),
                Err(e) => set_error.set(Some(e)),
            }
        });
    };
    view! {
        <h1>{t(T::GrantReceiveTitle)}</h1>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match offer.await {
                    Err(e) => view! { <p class="error" role="alert" data-testid="offer-error">{e.message(lang)}</p> }.into_any(),
                    Ok(o) => {
                        let names: Vec<String> =
                            o.matters.iter().map(|m| lang.pick(&m.name_zh, &m.name_en).to_owned()).collect();
                        let expires = ecert_core::time::format_cst(ecert_core::Millis(o.expires_at));
                        let certificate_id = StoredValue::new(o.certificate_id.clone());
                        view! {
                            <dl class="offer">
                                <dt>{t(T::InstitutionName)}</dt><dd data-testid="offer-institution">{o.institution_name}</dd>
                                <dt>{t(T::Holder)}</dt><dd>{o.holder_name}</dd>
                                <dt>{t(T::Matters)}</dt><dd data-testid="offer-matters">{names.join("、")}</dd>
                                <dt>{t(T::Period)}</dt><dd>{o.start_day} " ~ " {o.end_day}</dd>
                                <dt>{t(T::GrantedBy)}</dt><dd>{o.granted_by_name}</dd>
                                <dt>{t(T::ValidUntil)}</dt><dd>{expires} " (CST)"</dd>
                            </dl>
                            <Show when=move || !done.get() fallback=|| view! {
                                <p class="ok" role="status" data-testid="grant-received">{t(T::GrantReceived)}</p>
                                <p><a href="/wallet">{t(T::GoToWallet)}</a></p>
                            }>
                                <button type="button" disabled=move || busy.get() on:click=move |_| receive(certificate_id.get_value())>
                                    {t(T::GrantReceiveButton)}
                                </button>
                            </Show>
                        }
                        .into_any()
                    }
                }
            })}
        </Suspense>
        <p class="error" role="alert">{move || error.get()}</p>
    }
}
