//! Issue 16 §8 (seed 000: 扫一扫 checks a presented QR or barcode without logging in): the
//! wallet checks a number scanned from another holder's barcode, or typed from it, and shows
//! what the public page shows (R10). Failed checks count against this phone like a counter's.

use ecert_core::device::action;
use ecert_core::presentation::VerifiedView;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;

use super::device::{self, Card};
use crate::error::AppError;
use crate::i18n::{T, t, use_lang};

/// Checks a presented number with this wallet's binding: signed over the number (as
/// `normalize_number` reads it) and the time of signing.
#[server(prefix = "/api/v1/wallet", endpoint = "check_number", input = Json)]
pub async fn wallet_check_number(
    device_id: String,
    number: String,
    signed_at: i64,
    signature: String,
) -> Result<VerifiedView, AppError> {
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let signed = (signed_at, signature.as_str());
    Ok(ecert_core::presentation::check_number_by_wallet(&state.db, &device_id, signed, &number, now, &state.random)
        .await?)
}

/// "核验他人证书": a number from a barcode (the scanner fills `scanned`) or typed, checked with
/// the first card of this phone.
#[component]
pub fn CheckOthers(cards: ReadSignal<Vec<Card>>, scanned: RwSignal<Option<String>>) -> impl IntoView {
    let lang = use_lang();
    let (number, set_number) = signal(String::new());
    let (busy, set_busy) = signal(false);
    let (result, set_result) = signal(None::<Result<VerifiedView, String>>);
    let check = move |typed: String| {
        let Some(card) = cards.get_untracked().into_iter().next() else { return };
        let Some(normal) = ecert_core::presentation::normalize_number(&typed) else {
            set_result.set(Some(Err(T::NumberFormat.get(lang).to_owned())));
            return;
        };
        set_busy.set(true);
        set_result.set(None);
        spawn_local(async move {
            let (signed_at, signature) = device::sign_timed(&card.slot, action::CHECK_NUMBER, &normal).await;
            let answer = device::signed_call(lang, signature, |sig| {
                wallet_check_number(card.device_id.clone(), normal.clone(), signed_at, sig)
            })
            .await;
            set_busy.set(false);
            set_result.set(Some(answer));
        });
    };
    // A barcode the camera read is checked at once.
    Effect::new(move |_| {
        if let Some(code) = scanned.get() {
            set_number.set(code.clone());
            scanned.set(None);
            check(code);
        }
    });
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        check(number.get_untracked());
    };
    view! {
        <Show when=move || !cards.get().is_empty()>
            <section class="panel" aria-labelledby="check-others-title" data-testid="check-others">
                <h2 id="check-others-title">{t(T::CheckOthers)}</h2>
                <p class="hint">{t(T::CheckOthersHint)}</p>
                <form class="row" on:submit=submit>
                    <label>{t(T::PresentedNumber)}
                        <input name="number" inputmode="numeric" autocomplete="off" maxlength="40" bind:value=(number, set_number) />
                    </label>
                    <button type="submit" disabled=move || busy.get()>{t(T::VerifyButton)}</button>
                </form>
                {move || result.get().map(|r| match r {
                    Ok(v) => view! { <crate::verify::VerifiedCard v /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert" data-testid="check-others-error">{e}</p> }.into_any(),
                })}
            </section>
        </Show>
    }
}
