//! What the console's panels share: the certificate chosen in the list (the change panel acts on
//! it), and the claim slip of the last issue, refresh or change, with the QR the applicant scans.

use ecert_core::certificate::CertificateView;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::error::AppError;
use crate::i18n::{T, t};

/// A certificate just issued or whose claim code was refreshed: the claim QR and its expiry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimSlip {
    pub certificate: CertificateView,
    pub claim_url: String,
    pub qr_svg: String,
    pub expires_at: i64,
    /// R19: a first manager's re-download slip (new phone), not a first claim.
    pub redownload: bool,
}

#[cfg(feature = "ssr")]
pub(super) async fn slip(
    staff: &ecert_core::staff::StaffView,
    claim: ecert_core::certificate::ClaimCode,
) -> Result<ClaimSlip, AppError> {
    let state = crate::state::app_state()?;
    let certificate =
        ecert_core::certificate::view(&state.db, staff, &claim.certificate_id, ecert_core::Millis::now()).await?;
    let redownload = claim.kind == ecert_core::code::CodeKind::Redownload;
    let path = if redownload { "redownload" } else { "claim" };
    let claim_url = format!("{}/wallet/{path}?code={}", state.public_url, claim.code.expose());
    let qr_svg = crate::qr::svg(&claim_url);
    Ok(ClaimSlip { certificate, qr_svg, claim_url, expires_at: claim.expires_at.0, redownload })
}

/// Shared by the certificate list and the change panel.
#[derive(Clone, Copy)]
pub struct ConsoleCtx {
    pub selected: RwSignal<Option<CertificateView>>,
    /// The certificate whose page is open (any status), by id.
    pub detail: RwSignal<Option<String>>,
    pub slip: RwSignal<Option<ClaimSlip>>,
    pub bump: RwSignal<u32>,
}

impl ConsoleCtx {
    pub fn provide() -> ConsoleCtx {
        let ctx = ConsoleCtx {
            selected: RwSignal::new(None),
            detail: RwSignal::new(None),
            slip: RwSignal::new(None),
            bump: RwSignal::new(0),
        };
        provide_context(ctx);
        ctx
    }

    pub fn get() -> ConsoleCtx {
        expect_context::<ConsoleCtx>()
    }
}

/// The claim slip: what the applicant takes away, with the QR code to scan in the wallet.
#[component]
pub fn Slip(slip: ClaimSlip) -> impl IntoView {
    let c = slip.certificate;
    let expires = ecert_core::time::format_cst(ecert_core::Millis(slip.expires_at));
    let (title, hint) =
        if slip.redownload { (T::RedownloadSlip, T::RedownloadHint) } else { (T::ClaimSlip, T::ClaimHint) };
    view! {
        <section class="panel slip" aria-labelledby="slip-title" data-kind=if slip.redownload { "redownload" } else { "claim" }>
            <h2 id="slip-title">{t(title)}</h2>
            <div class="slip-body">
                <div class="qr" role="img" aria-label=t(T::ClaimQr) inner_html=slip.qr_svg></div>
                <dl>
                    <dt>{t(T::InstitutionName)}</dt><dd>{c.institution_name}</dd>
                    <dt>{t(T::CreditCode)}</dt><dd><code>{c.credit_code}</code></dd>
                    <dt>{t(T::Serial)}</dt><dd><code data-testid="serial">{c.serial}</code></dd>
                    <dt>{t(T::LegalRep)}</dt><dd>{c.legal_rep_name} " " {c.legal_rep_id_number}</dd>
                    <dt>{t(T::FirstManager)}</dt><dd>{c.first_manager_name} " " {c.first_manager_id_number}</dd>
                    <dt>{t(T::ValidUntil)}</dt><dd>{expires} " (CST)"</dd>
                </dl>
            </div>
            <p class="hint">{t(hint)}</p>
            <p class="no-print"><a href=slip.claim_url rel="external" data-testid="claim-link">{t(T::ClaimLink)}</a></p>
            <button type="button" class="no-print" on:click=move |_| print_page()>{t(T::Print)}</button>
        </section>
    }
}

fn print_page() {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.print();
    }
}
