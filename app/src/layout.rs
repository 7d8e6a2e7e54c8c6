//! The frame around every page: title bar with the language switch, and the footer.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::i18n::{T, t, use_lang};

#[component]
pub fn Header() -> impl IntoView {
    let lang = use_lang();
    let location = use_location();
    // The switch is a plain link to a server route that sets the cookie and comes back here:
    // it works before hydration and without JavaScript. `rel="external"` keeps the client-side
    // router from intercepting it.
    let switch_href = move || {
        let next = location.pathname.get();
        format!("/lang/{}?next={}", lang.other().tag(), encode_path(&next))
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">{t(T::AppName)}</a>
            <a class="lang-switch" href=switch_href rel="external" title=t(T::SwitchLanguageLabel)
                hreflang=lang.other().tag()>
                {t(T::SwitchLanguage)}
            </a>
        </header>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! { <footer class="footer">{t(T::AppTagline)}</footer> }
}

/// Percent-encodes a path for use as a query value (only what a path can contain is kept).
fn encode_path(path: &str) -> String {
    const PATH: &percent_encoding::AsciiSet = &ecert_core::oidc::QUERY_VALUE.remove(b'/');
    percent_encoding::utf8_percent_encode(path, PATH).to_string()
}
