//! The pages of the site. Each surface grows into its own module as its issue lands.

use leptos::prelude::*;

use crate::i18n::{T, t, use_lang};
use crate::status::system_status;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <h1>{t(T::AppName)}</h1>
        <p class="lead">{t(T::AppTagline)}</p>
        <nav class="cards" aria-label=t(T::Home)>
            <EntryCard href="/console" title=T::StaffConsole desc=T::StaffConsoleDesc />
            <EntryCard href="/dashboard" title=T::ManagerDashboard desc=T::ManagerDashboardDesc />
            <EntryCard href="/verify" title=T::Verifier desc=T::VerifierDesc />
            <EntryCard href="/wallet" title=T::Wallet desc=T::WalletDesc />
            <EntryCard href="/scenarios" title=T::ScenariosTitle desc=T::ScenariosDesc />
            <EntryCard href="/annual-reports" title=T::ReportsTitle desc=T::ReportsDesc />
            <EntryCard href="/establish" title=T::EstablishTitle desc=T::EstablishDesc />
        </nav>
        <SystemCheck />
    }
}

#[component]
fn EntryCard(href: &'static str, title: T, desc: T) -> impl IntoView {
    view! {
        <a class="card" href=href>
            <strong>{t(title)}</strong>
            <span>{t(desc)}</span>
        </a>
    }
}

/// Runs [`system_status`] on demand. The button does nothing until the page is hydrated.
#[component]
fn SystemCheck() -> impl IntoView {
    let lang = use_lang();
    let check = Action::new(|_: &()| system_status());
    let result = move || {
        check.value().get().map(|r| match r {
            Ok(s) => view! {
                <p class="ok" role="status">
                    {T::SystemCheckOk.get(lang)} " · " {T::SystemCheckBackend.get(lang)} ": " {s.database}
                </p>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message(lang)}</p> }.into_any(),
        })
    };
    view! {
        <section class="panel" aria-labelledby="system-check">
            <h2 id="system-check">{t(T::SystemCheck)}</h2>
            <button type="button" on:click=move |_| { check.dispatch(()); } disabled=move || check.pending().get()>
                {move || if check.pending().get() { T::SystemCheckRunning.get(lang) } else { T::SystemCheckRun.get(lang) }}
            </button>
            {result}
        </section>
    }
}

/// The 404 page: a real page in the visitor's language, sent with status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <h1>{t(T::NotFoundTitle)}</h1>
        <p>{t(T::NotFoundBody)}</p>
        <p><a href="/">{t(T::BackHome)}</a></p>
    }
}
