//! The PC side of a phone approval (issue 14 §1): a dashboard write that gives, shows or takes a
//! power first asks for an approval of that exact action, shows its QR, and polls; once the
//! holder's phone approved it, the write is sent with the approval's id and takes it (inside the
//! write's own transaction, `ecert_core::login::approval`). The session alone only reads.

use ecert_core::login::approval::{Action, ApprovalState};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};

use super::holders::{
    DashCtx, FaceToFace, add_grant, add_holder, authorize_code, cancel_grant, grant_code, redownload_code,
    remove_holder, set_may_authorize,
};
use crate::error::AppError;
use crate::i18n::{T, t, use_lang};
use crate::scan_login::{Gone, POLL_MS, now_ms, pause};

/// An approval request, as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalQr {
    pub id: String,
    pub qr_svg: String,
    pub url: String,
    /// The code the holder picks on the phone among decoys (issue 14 §1).
    pub match_code: String,
    pub summary_zh: String,
    pub summary_en: String,
    pub expires_at: i64,
}

/// Asks the phone of the signed-in holder to approve `action`.
#[server(endpoint = "dashboard_approval_ask", input = Json)]
pub async fn approval_ask(action: Action) -> Result<ApprovalQr, AppError> {
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state()?;
    let now = ecert_core::Millis::now();
    let requester = crate::session::requester();
    let asked = ecert_core::login::approval::ask(&state.db, &caller, &action, &requester, now, &state.random).await?;
    let url = format!("{}/wallet/approve?code={}", state.public_url, asked.code.expose());
    Ok(ApprovalQr {
        id: asked.id,
        qr_svg: crate::qr::svg(&url),
        url,
        match_code: asked.match_code,
        summary_zh: asked.summary_zh,
        summary_en: asked.summary_en,
        expires_at: asked.expires_at.0,
    })
}

/// Where this session's approval `id` stands. With `seen`, the state the panel last saw, the
/// answer waits until the approval has moved from it (a long poll, bounded as the scan login's:
/// [`ecert_core::login::changes`]); without, it answers at once.
#[server(endpoint = "dashboard_approval_status")]
pub async fn approval_status(id: String, seen: Option<ApprovalState>) -> Result<ApprovalState, AppError> {
    use ecert_core::login::{approval, changes::Patience};
    let caller = crate::guard::holder().await?;
    let state = crate::state::app_state()?;
    if let Some(seen) = seen
        && let Some(moved) = approval::wait_for_change(&state.db, &caller, &id, seen, Patience::default()).await?
    {
        return Ok(moved);
    }
    Ok(approval::poll(&state.db, &caller, &id, ecert_core::Millis::now()).await?)
}

/// An approval the dashboard waits for, and the write it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    pub qr: ApprovalQr,
    pub action: Action,
}

/// Sends the approved write of `action` with the approval `id`.
async fn execute(action: Action, id: String) -> Result<Option<FaceToFace>, AppError> {
    let id = Some(id);
    match action {
        Action::AddHolder { role, name, id_number, mobile, grant } => {
            let grant = grant.unwrap_or_default();
            add_holder(
                role.as_sql().to_owned(),
                name,
                id_number,
                mobile,
                grant.matter_ids,
                grant.start_day,
                grant.end_day,
                id,
            )
            .await
            .map(Some)
        }
        Action::AuthorizeCode { holder_id } => authorize_code(holder_id, id).await.map(Some),
        Action::RedownloadCode { holder_id } => redownload_code(holder_id, id).await.map(Some),
        Action::RemoveHolder { holder_id } => remove_holder(holder_id, id).await.map(|()| None),
        Action::AddGrant { holder_id, grant } => {
            add_grant(holder_id, grant.matter_ids, grant.start_day, grant.end_day, id).await.map(Some)
        }
        Action::GrantCode { grant_id } => grant_code(grant_id, id).await.map(Some),
        Action::SetMayAuthorize { holder_id, allowed } => {
            set_may_authorize(holder_id, allowed, id).await.map(|()| None)
        }
        Action::CancelGrant { grant_id } => cancel_grant(grant_id, id).await.map(|()| None),
        Action::SubmitFiling { form, digest } => super::filings::filing_submit(form, digest, id).await.map(|_| None),
    }
}

impl DashCtx {
    /// Asks the phone to approve `action`; the [`ApprovalPanel`] shows the QR and sends the
    /// write once approved.
    pub(super) fn approve(self, lang: ecert_core::Lang, action: Action) {
        if let Some(exec) = self.wallet {
            crate::wallet::manage::run(self, exec, lang, action);
            return;
        }
        self.error.set(None);
        spawn_local(async move {
            match approval_ask(action.clone()).await {
                Ok(qr) => {
                    self.approval_state.set(ApprovalState::Waiting);
                    self.approval.set(Some(Pending { qr, action }));
                }
                Err(e) => self.error.set(Some(e.message(lang))),
            }
        });
    }
}

/// The approval QR, its state, and the write once the phone approved.
#[component]
pub(super) fn ApprovalPanel() -> impl IntoView {
    let lang = use_lang();
    let ctx = expect_context::<DashCtx>();
    let (approval, state) = (ctx.approval, ctx.approval_state);
    // One loop per approval shown: it long-polls (the answer comes when the phone scans or
    // answers), sends the write once approved, and ends, dropping its request in flight, when
    // the panel closes or shows another approval.
    Effect::new(move |_| {
        let Some(pending) = approval.get() else { return };
        let gone = Gone::default();
        let going = gone.clone();
        spawn_local(async move {
            while !going.is_set() {
                let seen = state.try_get_untracked().unwrap_or(ApprovalState::Unknown);
                if !matches!(seen, ApprovalState::Waiting | ApprovalState::Scanned) {
                    break;
                }
                let asked = now_ms();
                let Some(polled) = going.unless(approval_status(pending.qr.id.clone(), Some(seen))).await else {
                    break;
                };
                // A failed long poll (a proxy's timeout, a server restarting): ask at the old pace.
                let Ok(now) = polled else {
                    pause(POLL_MS).await;
                    continue;
                };
                state.set(now);
                if now == ApprovalState::Approved {
                    let result = execute(pending.action.clone(), pending.qr.id.clone()).await;
                    approval.set(None);
                    match result {
                        Ok(qr) => {
                            ctx.error.set(None);
                            if qr.is_some() {
                                ctx.qr.set(qr);
                            }
                            ctx.changed.update(|n| *n += 1);
                        }
                        Err(e) => ctx.error.set(Some(e.message(lang))),
                    }
                    break;
                }
                // Nothing new, answered at once: this server did not wait; ask at the old pace.
                if now == seen && now_ms() - asked < 1_000.0 {
                    pause(POLL_MS).await;
                }
            }
        });
        on_cleanup(move || gone.set());
    });
    let status_text = move || match state.get() {
        ApprovalState::Scanned => T::ApprovalScanned.get(lang),
        ApprovalState::Approved => T::ApprovalApprovedPc.get(lang),
        ApprovalState::Rejected => T::ApprovalRejectedPc.get(lang),
        ApprovalState::Expired | ApprovalState::Unknown => T::ApprovalExpiredPc.get(lang),
        ApprovalState::Waiting => T::ApprovalWaiting.get(lang),
    };
    let state_name = move || match state.get() {
        ApprovalState::Waiting => "waiting",
        ApprovalState::Scanned => "scanned",
        ApprovalState::Approved => "approved",
        ApprovalState::Rejected => "rejected",
        ApprovalState::Expired => "expired",
        ApprovalState::Unknown => "unknown",
    };
    view! {
        {move || approval.get().map(|p| view! {
            <section class="panel slip" aria-labelledby="approval-title" data-testid="approval-panel">
                <h2 id="approval-title">{t(T::ApprovalQr)}</h2>
                <p class="system" data-testid="approval-pc-summary">{lang.pick(&p.qr.summary_zh, &p.qr.summary_en).to_owned()}</p>
                <div class="qr" role="img" aria-label=T::ApprovalQr.get(lang) inner_html=p.qr.qr_svg.clone()></div>
                <p>{t(T::MatchCode)} " " <strong class="match-code" data-testid="approval-match-code">{p.qr.match_code.clone()}</strong></p>
                <p class="hint">{t(T::ApprovalHint)}</p>
                <p class="no-print"><a href=p.qr.url.clone() rel="external" target="_blank" data-testid="approval-link">{t(T::ApprovalLink)}</a></p>
                <p class="status" role="status" data-testid="approval-state" data-state=state_name>{status_text}</p>
                <button type="button" class="small secondary" on:click=move |_| approval.set(None)>{t(T::Close)}</button>
            </section>
        })}
    }
}
