//! The pages of each surface as lazily loaded routes, so that a first visit downloads the
//! surface it opens and not the whole platform: a holder opening a claim link on a phone gets
//! the wallet, never the staff console or the dashboard (`scripts/size` measures it).
//!
//! Built with `cargo leptos build --split`, the view of every route below is a WASM file of its
//! own (with the code it alone needs), fetched while its page hydrates; the server names it in
//! the page's `<head>` so that the browser fetches it with the main bundle. Without `--split`
//! they are ordinary routes. This module must hold nothing but that wiring: pages live in their
//! surface's module.

use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

use crate::{console, dashboard, establish, oidc, reports, scenarios, verify, wallet};

/// The staff console (`/console`).
pub struct ConsoleRoute;

#[lazy_route]
impl LazyRoute for ConsoleRoute {
    fn data() -> Self {
        ConsoleRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <console::ConsolePage /> }.into_any()
    }
}

/// The manager dashboard (`/dashboard`).
pub struct DashboardRoute;

#[lazy_route]
impl LazyRoute for DashboardRoute {
    fn data() -> Self {
        DashboardRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <dashboard::DashboardPage /> }.into_any()
    }
}

/// The counter's verifier (`/verify`).
pub struct VerifierRoute;

#[lazy_route]
impl LazyRoute for VerifierRoute {
    fn data() -> Self {
        VerifierRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <verify::VerifierPage /> }.into_any()
    }
}

/// The public check of a presented QR (`/check`).
pub struct CheckRoute;

#[lazy_route]
impl LazyRoute for CheckRoute {
    fn data() -> Self {
        CheckRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <verify::CheckPage /> }.into_any()
    }
}

/// The application-scenario list (`/scenarios`).
pub struct ScenariosRoute;

#[lazy_route]
impl LazyRoute for ScenariosRoute {
    fn data() -> Self {
        ScenariosRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <scenarios::ScenariosPage /> }.into_any()
    }
}

/// Establishment registration for applicants (`/establish`).
pub struct EstablishRoute;

#[lazy_route]
impl LazyRoute for EstablishRoute {
    fn data() -> Self {
        EstablishRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <establish::EstablishPage /> }.into_any()
    }
}

/// The public annual-report list (`/annual-reports`).
pub struct ReportsRoute;

#[lazy_route]
impl LazyRoute for ReportsRoute {
    fn data() -> Self {
        ReportsRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <reports::ReportsPage /> }.into_any()
    }
}

/// The wallet's cards (`/wallet`).
pub struct WalletRoute;

#[lazy_route]
impl LazyRoute for WalletRoute {
    fn data() -> Self {
        WalletRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <wallet::WalletHome /> }.into_any()
    }
}

/// Presenting a certificate at a counter (`/wallet/present`).
pub struct PresentRoute;

#[lazy_route]
impl LazyRoute for PresentRoute {
    fn data() -> Self {
        PresentRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <wallet::present::PresentPage /> }.into_any()
    }
}

/// Claiming a certificate with the claim code (`/wallet/claim`).
pub struct ClaimRoute;

#[lazy_route]
impl LazyRoute for ClaimRoute {
    fn data() -> Self {
        ClaimRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <wallet::AcceptPage kind="claim" /> }.into_any()
    }
}

/// Taking up a role with a face-to-face code (`/wallet/accept`).
pub struct AcceptRoute;

#[lazy_route]
impl LazyRoute for AcceptRoute {
    fn data() -> Self {
        AcceptRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <wallet::AcceptPage kind="authorize" /> }.into_any()
    }
}

/// Taking up a role again on a new phone with a re-download code (`/wallet/redownload`, R19).
pub struct RedownloadRoute;

#[lazy_route]
impl LazyRoute for RedownloadRoute {
    fn data() -> Self {
        RedownloadRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <wallet::AcceptPage kind="redownload" /> }.into_any()
    }
}

/// Receiving a grant with its grant QR (`/wallet/grant`, R17).
pub struct GrantRoute;

#[lazy_route]
impl LazyRoute for GrantRoute {
    fn data() -> Self {
        GrantRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <wallet::grant::GrantPage /> }.into_any()
    }
}

/// Approving a scan login on the phone (`/wallet/login`).
pub struct LoginApproveRoute;

#[lazy_route]
impl LazyRoute for LoginApproveRoute {
    fn data() -> Self {
        LoginApproveRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <wallet::LoginApprovePage /> }.into_any()
    }
}

/// Approving a dashboard write on the phone (`/wallet/approve`, issue 14 §1).
pub struct ApproveRoute;

#[lazy_route]
impl LazyRoute for ApproveRoute {
    fn data() -> Self {
        ApproveRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <wallet::approve::ApprovePage /> }.into_any()
    }
}

/// Scan to sign on the phone (`/wallet/sign`).
pub struct SignRoute;

#[lazy_route]
impl LazyRoute for SignRoute {
    fn data() -> Self {
        SignRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <wallet::sign::SignPage /> }.into_any()
    }
}

/// A relying party's scan-login page (`/oidc/login`, issue 4).
pub struct OidcLoginRoute;

#[lazy_route]
impl LazyRoute for OidcLoginRoute {
    fn data() -> Self {
        OidcLoginRoute
    }

    fn view(_this: Self) -> AnyView {
        view! { <oidc::OidcLoginPage /> }.into_any()
    }
}
