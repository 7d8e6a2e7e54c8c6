//! Which of this phone's cards answers a scanned code: the only one at once, or the one the
//! holder taps, and the match codes to pick from. Used by the scan-login, sign and approval pages.
//!
//! A page opened from a link never scans by itself (issue 14 §1): a stranger who sends a holder
//! a login or sign link must not get as far as the holder's prompt without the holder reading
//! `warning` and tapping on. Only a page the wallet's own scanner opened, in this tab, goes on at
//! once ([`device::opened_by_scanner`]).

use leptos::prelude::*;

use super::device::{self, Card};
use crate::i18n::{T, role_text, t, use_lang};

/// Loads the phone's cards (they live in the browser, so after hydration) and hands the chosen
/// one to `pick`: at once when there is only one, on a tap otherwise, and in both cases only
/// after the holder tapped past `warning` unless the wallet's scanner opened the page. `choose`
/// asks for the tap; the list hides once `done`.
#[component]
pub fn CardPicker<F>(choose: T, warning: T, #[prop(into)] done: Signal<bool>, pick: F) -> impl IntoView
where
    F: Fn(Card) + Copy + Send + Sync + 'static,
{
    let lang = use_lang();
    let (cards, set_cards) = signal(Vec::<Card>::new());
    let (loaded, set_loaded) = signal(false);
    let (warned, set_warned) = signal(false);
    let go_on = move || {
        let all = device::cards();
        if all.len() == 1 {
            pick(all[0].clone());
        }
        set_cards.set(all);
        set_warned.set(true);
    };
    Effect::new(move |_| {
        set_loaded.set(true);
        if device::opened_by_scanner() {
            go_on();
        }
    });
    view! {
        <Show when=move || loaded.get() fallback=|| view! { <p class="hint">{t(T::WalletLoading)}</p> }>
            <Show when=move || warned.get() fallback=move || view! {
                <section class="panel warning" data-testid="link-warning">
                    <p role="alert">{t(warning)}</p>
                    <button type="button" data-testid="link-continue" on:click=move |_| go_on()>{t(T::ContinueFromLink)}</button>
                </section>
            }>
                <Show when=move || !cards.get().is_empty() fallback=|| view! { <p class="notice">{t(T::WalletEmpty)}</p> }>
                    <Show when=move || { !done.get() && cards.get().len() > 1 }>
                        <p>{t(choose)}</p>
                        <ul class="cards">
                            <For each=move || cards.get() key=|c| c.device_id.clone() let:card>
                                <li class="card">
                                    <button type="button" on:click={
                                        let card = card.clone();
                                        move |_| pick(card.clone())
                                    }>{card.institution_name.clone()} " · " {role_text(card.role, lang)}</button>
                                </li>
                            </For>
                        </ul>
                    </Show>
                </Show>
            </Show>
        </Show>
    }
}

/// Issue 14 §1: the match codes the phone offers, the PC's (or the dashboard's) among decoys;
/// the holder taps the one the other screen shows, after reading `compare`.
#[component]
pub fn MatchChoices(choices: Vec<String>, picked: RwSignal<Option<String>>, compare: T) -> impl IntoView {
    view! {
        <p>{t(compare)}</p>
        <div class="row match-choices" role="group">
            {choices.into_iter().map(|choice| {
                let is_picked = {
                    let choice = choice.clone();
                    move || picked.get().as_deref() == Some(choice.as_str())
                };
                let mark = choice.clone();
                view! {
                    <button type="button" class="match-code" data-testid="match-choice"
                        class:picked=is_picked.clone() aria-pressed=move || is_picked().to_string()
                        on:click=move |_| picked.set(Some(mark.clone()))>{choice}</button>
                }
            }).collect_view()}
        </div>
    }
}
