//! Issue 16 journey 3: management in the wallet. A manager's own phone does what the dashboard
//! does — add managers and users, show their face-to-face, grant and re-download codes, grant,
//! cancel, remove, give a manager the right to authorize users — each write carrying the
//! device's timed signature over the exact action and the certificate password: the phone's
//! signature is the approval a dashboard session has to fetch (R21). The use-cases are the
//! dashboard's, which re-check the caller inside their transactions.

use super::holder::*;
use crate::code::CodeKind;
use crate::device::{self, action};
use crate::error::{DomainError, Problem, Result};
use crate::identity::IdentityVerifier;
use crate::login::approval::Action;
use crate::secret::{Random, Secret};
use crate::store::Db;
use crate::time::Millis;

/// A code a management action made, for the phone to show as a QR: `kind` says which wallet
/// page takes it up (`Authorize` face to face, `Redownload`, `Grant`).
#[derive(Debug)]
pub struct ManagedCode {
    pub kind: CodeKind,
    pub holder_id: String,
    pub code: Secret,
    pub expires_at: Millis,
}

/// The manager of `device_id` (a first manager or manager, live) after its timed signature of
/// `act` over `subject`.
async fn manager(
    db: &Db,
    device_id: &str,
    act: &str,
    subject: &str,
    signed: (i64, &str),
    now: Millis,
) -> Result<Caller> {
    let bound = device::signed_fresh_over(db, device_id, act, subject, signed.0, signed.1, now).await?;
    if bound.role == Role::User {
        return Err(DomainError::NotAManager.into());
    }
    super::views::caller_of(db, &bound).await
}

/// The manager of this phone's [`ManageView`]. Signed `manage-list` over the device id and the
/// time of signing.
pub async fn manage_list(db: &Db, device_id: &str, signed: (i64, &str), now: Millis) -> Result<ManageView> {
    let caller = manager(db, device_id, action::MANAGE_LIST, device_id, signed, now).await?;
    let holders = super::views::list(db, &caller, now).await?;
    let matters = super::grants::catalogue(db, &caller.authority_id).await?;
    Ok(ManageView { me: caller.holder_id, holders, matters })
}

/// Does the management action `action_json` (an [`Action`] as JSON, signed as it stands) for the
/// manager of this phone, after its certificate password (R13: a wrong one counts). Signed
/// `manage` over the action's JSON and the time of signing. Answers the code to show, if the
/// action made one.
#[allow(clippy::too_many_arguments)]
pub async fn manage(
    db: &Db,
    device_id: &str,
    action_json: &str,
    signed: (i64, &str),
    password: Secret,
    identity: &IdentityVerifier,
    now: Millis,
    random: &Random,
) -> Result<Option<ManagedCode>> {
    if action_json.len() > 4096 {
        return Err(DomainError::field("action", Problem::TooLong { max: 4096 }).into());
    }
    let act: Action =
        serde_json::from_str(action_json).map_err(|_| DomainError::field("action", Problem::BadFormat))?;
    let caller = manager(db, device_id, action::MANAGE, action_json, signed, now).await?;
    // Refused for its input alone before a password try is spent on it.
    super::roles::preflight(db, &caller, &act, now).await?;
    device::check_password(db, device_id, password).await?;
    let made = |kind: CodeKind, holder_id: String, code: Secret, expires_at: Millis| {
        Some(ManagedCode { kind, holder_id, code, expires_at })
    };
    Ok(match act {
        Action::AddHolder { role, name, id_number, mobile, grant } => {
            let person = crate::certificate::PersonInput { name, id_number, mobile };
            let c = super::roles::add(db, &caller, role, &person, grant.as_ref(), identity, now, random).await?;
            made(CodeKind::Authorize, c.holder_id, c.code, c.expires_at)
        }
        Action::AuthorizeCode { holder_id } => {
            let c = super::roles::authorize_code(db, &caller, &holder_id, now, random).await?;
            made(CodeKind::Authorize, c.holder_id, c.code, c.expires_at)
        }
        Action::RedownloadCode { holder_id } => {
            let c = super::roles::redownload_code(db, &caller, &holder_id, now, random).await?;
            made(CodeKind::Redownload, c.holder_id, c.code, c.expires_at)
        }
        Action::RemoveHolder { holder_id } => {
            super::roles::remove(db, &caller, &holder_id, now, random).await?;
            None
        }
        Action::AddGrant { holder_id, grant } => {
            let c = super::grants::add_grant(db, &caller, &holder_id, &grant, now, random).await?;
            made(CodeKind::Grant, holder_id, c.code, c.expires_at)
        }
        Action::GrantCode { grant_id } => {
            let c = super::grants::grant_code(db, &caller, &grant_id, now, random).await?;
            let holders = super::views::list(db, &caller, now).await?;
            let holder_id = holders.into_iter().find(|h| h.grants.iter().any(|g| g.id == grant_id)).map(|h| h.id);
            made(CodeKind::Grant, holder_id.unwrap_or_default(), c.code, c.expires_at)
        }
        Action::CancelGrant { grant_id } => {
            super::grants::cancel_grant(db, &caller, &grant_id, now, random).await?;
            None
        }
        Action::SetMayAuthorize { holder_id, allowed } => {
            super::grants::set_may_authorize(db, &caller, &holder_id, allowed, now, random).await?;
            None
        }
        Action::SubmitFiling { form, digest } => {
            crate::filing::submit(db, &caller, &form, &digest, now, random).await?;
            None
        }
    })
}
