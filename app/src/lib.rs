#![recursion_limit = "256"]
//! The Leptos application: the HTML shell, the routes, the pages and their server functions.
//! Rendered on the server by `ecert-server` and hydrated in the browser from WASM.
//!
//! The app must not write SQL nor decide a rule: a server function finds its caller
//! (`guard`), calls one use-case of `ecert-core`, and answers.

pub mod console;
pub mod dashboard;
pub mod error;
pub mod establish;
mod guard;
pub mod i18n;
mod layout;
pub mod lists;
pub mod oidc;
mod pages;
pub mod reports;
mod routes;
pub mod scan_login;
pub mod scenarios;
pub mod status;
pub mod verify;
pub mod wallet;

#[cfg(feature = "ssr")]
pub mod barcode;
#[cfg(feature = "ssr")]
mod qr;
#[cfg(feature = "ssr")]
mod session;
#[cfg(feature = "ssr")]
pub use session::ClientIp;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, path};

use crate::i18n::{T, detect_lang, t};

/// The Content-Security-Policy of the platform. Pages name the nonce that leptos_axum gives
/// their own inline scripts (hydration and streamed resources), so no other inline script runs:
/// a value that slipped into a page unescaped could not execute. Other responses (server
/// functions, files) get the policy without a nonce, which allows no inline script at all.
/// Styles keep `'unsafe-inline'`: the pages set `style` attributes, and a style cannot run code.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(nonce) => format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        None => "'self' 'wasm-unsafe-eval'".to_owned(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
    )
}

/// The whole HTML document, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = detect_lang();
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
        && let Ok(policy) = http::HeaderValue::from_str(&content_security_policy(Some(&nonce.to_string())))
    {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, policy);
    }
    view! {
        <!DOCTYPE html>
        <html lang=lang.tag()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="referrer" content="same-origin" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                // Issue 16 §7: the wallet can be added to the home screen.
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="apple-touch-icon" href="/apple-touch-icon.png" />
                <meta name="theme-color" content="#b3261e" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(detect_lang());

    view! {
        <Stylesheet id="leptos" href="/pkg/ecert.css" />
        <Title text=t(T::AppName) />
        <Router>
            <layout::Header />
            <main class="page">
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/") view=pages::HomePage />
                    <Route path=path!("/console") view={Lazy::<routes::ConsoleRoute>::new()} />
                    <Route path=path!("/dashboard") view={Lazy::<routes::DashboardRoute>::new()} />
                    <Route path=path!("/verify") view={Lazy::<routes::VerifierRoute>::new()} />
                    <Route path=path!("/check") view={Lazy::<routes::CheckRoute>::new()} />
                    // Issue 18 §3: where the certificate is accepted, and how.
                    <Route path=path!("/scenarios") view={Lazy::<routes::ScenariosRoute>::new()} />
                    // Issue 18 §1, R23: approved annual reports, public.
                    <Route path=path!("/annual-reports") view={Lazy::<routes::ReportsRoute>::new()} />
                    // Issue 18 §1: establishment registration by an applicant's account.
                    <Route path=path!("/establish") view={Lazy::<routes::EstablishRoute>::new()} />
                    <Route path=path!("/wallet/present") view={Lazy::<routes::PresentRoute>::new()} />
                    <Route path=path!("/wallet") view={Lazy::<routes::WalletRoute>::new()} />
                    <Route path=path!("/wallet/claim") view={Lazy::<routes::ClaimRoute>::new()} />
                    <Route path=path!("/wallet/accept") view={Lazy::<routes::AcceptRoute>::new()} />
                    <Route path=path!("/wallet/redownload") view={Lazy::<routes::RedownloadRoute>::new()} />
                    <Route path=path!("/wallet/grant") view={Lazy::<routes::GrantRoute>::new()} />
                    <Route path=path!("/wallet/login") view={Lazy::<routes::LoginApproveRoute>::new()} />
                    <Route path=path!("/wallet/approve") view={Lazy::<routes::ApproveRoute>::new()} />
                    <Route path=path!("/wallet/sign") view={Lazy::<routes::SignRoute>::new()} />
                    // Issue 4: OpenID Connect scan login for relying parties.
                    <Route path=path!("/oidc/login") view={Lazy::<routes::OidcLoginRoute>::new()} />
                </Routes>
            </main>
            <layout::Footer />
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else { return };
    // Lazy routes (`routes`): the page's own WASM file is fetched before it hydrates. Once the
    // whole page is hydrated, `<body data-hydrated>` tells tests (and styles) so.
    wasm_bindgen_futures::spawn_local(async move {
        let handle = leptos::mount::hydrate_from_async(body.clone(), App).await;
        handle.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
