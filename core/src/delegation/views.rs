//! What a signed-in holder may see (R7): the holders with their grants, the change records,
//! and the caller a device binding stands for. Read-only.

use super::grants::grants_of;
use super::holder::*;
use super::rows::{HOLDER_COLUMNS, HolderRow, may_see};
use crate::device;
use crate::error::{DomainError, Result};
use crate::mask;
use crate::records::ChangeKind;
use crate::store::{Db, query};
use crate::time::Millis;

/// R7: the holders `caller` may see (removed ones excluded), first manager first, with grants.
pub async fn list(db: &Db, caller: &Caller, now: Millis) -> Result<Vec<HolderView>> {
    let sql = format!(
        "SELECT {HOLDER_COLUMNS} FROM holder WHERE certificate_id = $1 AND status <> 'removed' \
         ORDER BY CASE role WHEN 'first_manager' THEN 0 WHEN 'manager' THEN 1 ELSE 2 END, created_at, id"
    );
    let rows: Vec<HolderRow> = db.fetch_all(query(&sql).bind(&caller.certificate_id)).await?;
    let rows = rows.into_iter().filter(|r| may_see(caller, r)).map(|r| r.opened(db.vault()));
    views(db, rows.collect::<Result<_>>()?, now).await
}

/// The caller itself (R7: what a user may see, and what the wallet shows of any holder).
pub async fn me(db: &Db, caller: &Caller, now: Millis) -> Result<HolderView> {
    let sql = format!("SELECT {HOLDER_COLUMNS} FROM holder WHERE id = $1 AND status = 'active'");
    let row: Option<HolderRow> = db.fetch_optional(query(&sql).bind(&caller.holder_id)).await?;
    let row = row.ok_or(DomainError::Revoked)?.opened(db.vault())?;
    views(db, vec![row], now).await?.pop().ok_or_else(|| DomainError::Revoked.into())
}

/// Masked views (R16) of holder rows, with their grants.
pub(super) async fn views(db: &Db, rows: Vec<HolderRow>, now: Millis) -> Result<Vec<HolderView>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut grants = grants_of(db, &ids, now).await?;
    Ok(rows
        .into_iter()
        .map(|r| HolderView {
            grants: grants.remove(&r.id).unwrap_or_default(),
            name: mask::person_name(&r.name),
            id_number: mask::id_number(&r.id_number),
            mobile: mask::mobile(&r.mobile),
            id: r.id,
            role: r.role,
            status: r.status,
            granted_by: r.granted_by,
            created_at: r.created_at,
            may_authorize: r.may_authorize,
        })
        .collect())
}

/// R7: the first manager sees every change record; a manager those about itself and the users
/// it authorized; a user those about itself. Newest first.
pub async fn changes(db: &Db, caller: &Caller, limit: i64) -> Result<Vec<ChangeView>> {
    /// Kind, actor, subject, time, the subject's role and name.
    type ChangeRow = (ChangeKind, String, Option<String>, i64, Option<Role>, Option<String>);
    let rows: Vec<ChangeRow> = db
        .fetch_all(
            query(
                "SELECT r.kind, r.actor_kind, r.subject_id, r.at, h.role, h.granted_by FROM change_record r \
         LEFT JOIN holder h ON h.id = r.subject_id WHERE r.certificate_id = $1 ORDER BY r.at DESC, r.id LIMIT $2",
            )
            .bind(&caller.certificate_id)
            .bind(limit.clamp(1, 500)),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, subject, _, role, granted_by)| match subject {
            Some(id) => caller.sees(&Subject { id, role: *role, granted_by: granted_by.as_deref() }),
            None => caller.is_first_manager(),
        })
        .map(|(kind, actor_kind, subject_id, at, _, _)| ChangeView { kind, actor_kind, subject_id, at })
        .collect())
}

/// The institution name, credit code and certificate serial of the caller's certificate.
pub async fn certificate_summary(db: &Db, caller: &Caller) -> Result<(String, String, String, i64)> {
    Ok(db.fetch_one(query("SELECT i.name, i.credit_code, c.serial, c.expires_at FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1").bind(&caller.certificate_id)).await?)
}

/// A device's caller identity, from a live binding.
pub async fn caller_of(db: &Db, bound: &device::Bound) -> Result<Caller> {
    let authority_id: String = db.fetch_one(query("SELECT i.authority_id FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1").bind(&bound.certificate_id)).await?;
    Ok(Caller {
        holder_id: bound.holder_id.clone(),
        certificate_id: bound.certificate_id.clone(),
        role: bound.role,
        authority_id,
        via: crate::holder::Via::Phone(crate::holder::PhoneSigned::checked()),
    })
}
