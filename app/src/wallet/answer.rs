//! What scan login and scan to sign share on the phone: a QR opened the page, the holder picks a
//! card ([`CardPicker`](super::picker::CardPicker)), the platform says what is asked, and the
//! holder confirms with the certificate password or rejects. The page shows what is asked and
//! says how each call is made; this module keeps the state and draws the answer's controls.
//! It must not know which flow it serves.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::device::Card;
use crate::i18n::{T, t};

/// The state of one answer: the card picked, the platform's prompt, the password typed, and how
/// it ended (`outcome`: confirmed or rejected) or why not (`error`).
pub struct Answer<P: Send + Sync + 'static> {
    pub chosen: RwSignal<Option<Card>>,
    pub prompt: RwSignal<Option<P>>,
    pub password: RwSignal<String>,
    pub error: RwSignal<Option<String>>,
    pub outcome: RwSignal<Option<bool>>,
    pub busy: RwSignal<bool>,
}

impl<P: Send + Sync + 'static> Clone for Answer<P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: Send + Sync + 'static> Copy for Answer<P> {}

impl<P: Clone + Send + Sync + 'static> Default for Answer<P> {
    fn default() -> Self {
        Answer {
            chosen: RwSignal::new(None),
            prompt: RwSignal::new(None),
            password: RwSignal::new(String::new()),
            error: RwSignal::new(None),
            outcome: RwSignal::new(None),
            busy: RwSignal::new(false),
        }
    }
}

impl<P: Clone + Send + Sync + 'static> Answer<P> {
    /// The holder picked `card`: `scan` tells the platform (signed by the card's device key) and
    /// its prompt, or the error, shows.
    pub fn pick<Fut>(self, card: Card, scan: impl FnOnce(Card) -> Fut + 'static)
    where
        Fut: Future<Output = Result<P, String>> + 'static,
    {
        self.chosen.set(Some(card.clone()));
        self.error.set(None);
        spawn_local(async move {
            match scan(card).await {
                Ok(prompt) => self.prompt.set(Some(prompt)),
                Err(e) => self.error.set(Some(e)),
            }
        });
    }

    /// The holder answered (`approve` or not): `send(card, prompt, password)` makes the call.
    /// The buttons wait while it runs; then the outcome or the error shows.
    pub fn answer<Fut>(self, approve: bool, send: impl FnOnce(Card, P, String) -> Fut + 'static)
    where
        Fut: Future<Output = Result<(), String>> + 'static,
    {
        let (Some(card), Some(prompt)) = (self.chosen.get_untracked(), self.prompt.get_untracked()) else { return };
        let password = self.password.get_untracked();
        self.busy.set(true);
        self.error.set(None);
        spawn_local(async move {
            let result = send(card, prompt, password).await;
            self.busy.set(false);
            match result {
                Ok(()) => self.outcome.set(Some(approve)),
                Err(e) => self.error.set(Some(e)),
            }
        });
    }

    /// The password and the two answers, until one of them went through.
    pub fn controls(
        self,
        confirm: T,
        reject: T,
        answer: impl Fn(bool) + Copy + Send + Sync + 'static,
    ) -> impl IntoView {
        let Answer { password, busy, outcome, .. } = self;
        view! {
            <Show when=move || outcome.get().is_none()>
                <label>{t(T::CertificatePassword)}<input type="password" name="password" autocomplete="current-password" bind:value=password /></label>
                <div class="row">
                    <button type="button" disabled=move || busy.get() on:click=move |_| answer(true)>{t(confirm)}</button>
                    <button type="button" class="secondary" disabled=move || busy.get() on:click=move |_| answer(false)>{t(reject)}</button>
                </div>
            </Show>
        }
    }

    /// How it ended (`testid` names it for the browser tests), and the error line.
    pub fn ending(self, testid: &'static str, confirmed: T, rejected: T) -> impl IntoView {
        let Answer { outcome, error, .. } = self;
        view! {
            {move || outcome.get().map(|ok| view! {
                <p class=if ok { "ok" } else { "notice" } role="status" data-testid=testid>
                    {t(if ok { confirmed } else { rejected })}
                </p>
            })}
            <p class="error" role="alert">{move || error.get()}</p>
        }
    }
}
