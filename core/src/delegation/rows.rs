//! The `holder` rows as the delegation use-cases read them (personal fields opened, R16), the
//! R7/R8 checks on a row, and the lock of a live certificate that read-then-write rules take
//! first (R3), with the caller read again under it (`lock_for`). Private to `delegation`; the
//! rules themselves are `Caller::sees` and `Caller::manages` in `holder`.

use super::holder::*;
use crate::error::{DomainError, Result};
use crate::seal::{Column, Vault};
use crate::store::{Tx, query};

#[derive(Clone, Debug)]
pub(super) struct HolderRow {
    pub(super) id: String,
    pub(super) certificate_id: String,
    pub(super) role: Role,
    pub(super) name: String,
    pub(super) id_number: String,
    pub(super) mobile: String,
    pub(super) status: HolderStatus,
    pub(super) granted_by: Option<String>,
    pub(super) created_at: i64,
    pub(super) may_authorize: bool,
}

crate::store::from_row!(HolderRow {
    id,
    certificate_id,
    role,
    name,
    id_number,
    mobile,
    status,
    granted_by,
    created_at,
    may_authorize
});

pub(super) const HOLDER_COLUMNS: &str =
    "id, certificate_id, role, name, id_number, mobile, status, granted_by, created_at, may_authorize";

impl HolderRow {
    /// The row with its sealed personal fields opened (R16).
    pub(super) fn opened(mut self, vault: &Vault) -> Result<HolderRow> {
        self.id_number = vault.open(Column::HolderIdNumber.at(&self.id), &self.id_number)?;
        self.mobile = vault.open(Column::HolderMobile.at(&self.id), &self.mobile)?;
        Ok(self)
    }
}

impl HolderRow {
    pub(super) fn subject(&self) -> Subject<'_> {
        Subject { id: &self.id, role: Some(self.role), granted_by: self.granted_by.as_deref() }
    }
}

/// R7: may `caller` see `target`?
pub(super) fn may_see(caller: &Caller, target: &HolderRow) -> bool {
    target.certificate_id == caller.certificate_id && caller.sees(&target.subject())
}

/// R8: may `caller` manage (remove, re-authorize, grant to) `target`?
pub(super) fn may_manage(caller: &Caller, target: &HolderRow) -> bool {
    target.certificate_id == caller.certificate_id && caller.manages(&target.subject())
}

pub(super) async fn holder_row(tx: &mut Tx, holder_id: &str) -> Result<HolderRow> {
    let sql = format!("SELECT {HOLDER_COLUMNS} FROM holder WHERE id = $1");
    let row: Option<HolderRow> = tx.fetch_optional(query(&sql).bind(holder_id)).await?;
    row.ok_or(DomainError::NotFound)?.opened(tx.vault())
}

/// Locks the caller's live certificate and reads the caller again under that lock, for every
/// decision a holder makes: the caller was found before the use-case began, perhaps before a
/// slow step (the identity service takes up to 3 s), and since then it may have been removed
/// (R8), had every role of its certificate voided (R14) or lost its device. Removals and changes
/// take the same lock first, so nothing can change the caller between this check and the
/// commit. Returns the certificate's authority.
pub(super) async fn lock_for(tx: &mut Tx, caller: &Caller) -> Result<String> {
    let authority_id = lock_certificate(tx, &caller.certificate_id).await?;
    let sql = "SELECT h.role FROM holder h JOIN device d ON d.holder_id = h.id \
         WHERE h.id = $1 AND h.certificate_id = $2 AND h.status = 'active' AND d.status = 'active'";
    let role: Option<Role> = tx.fetch_optional(query(sql).bind(&caller.holder_id).bind(&caller.certificate_id)).await?;
    if role != Some(caller.role) {
        return Err(DomainError::Revoked.into());
    }
    Ok(authority_id)
}

/// A manager's right to authorize users (使用人授权), read under the caller's lock: the first
/// manager may withdraw it at any time. The first manager always has it; a user never.
pub(super) async fn may_authorize(tx: &mut Tx, caller: &Caller) -> Result<()> {
    match caller.role {
        Role::FirstManager => Ok(()),
        Role::User => Err(DomainError::Forbidden.into()),
        Role::Manager => {
            let sql = "SELECT may_authorize FROM holder WHERE id = $1";
            let allowed: bool = tx.fetch_one(query(sql).bind(&caller.holder_id)).await?;
            if allowed { Ok(()) } else { Err(DomainError::AuthorizeRightWithdrawn.into()) }
        }
    }
}

/// Locks the live certificate for a read-then-write rule (R3) and returns its authority.
pub(super) async fn lock_certificate(tx: &mut Tx, certificate_id: &str) -> Result<String> {
    let sql = "SELECT i.authority_id FROM certificate c JOIN institution i ON i.id = c.institution_id \
         WHERE c.id = $1 AND c.status = 'active'";
    let row: Option<String> = tx.fetch_optional(query(sql).lock_rows_of("c").bind(certificate_id)).await?;
    row.ok_or_else(|| DomainError::Revoked.into())
}
