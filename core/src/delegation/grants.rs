//! Grants (R6): the authority's catalogue of matters, and granting or cancelling matters for a
//! period to a user the caller manages. Every write re-checks the caller inside its
//! transaction.

use std::collections::HashMap;

use super::holder::*;
use super::rows::{holder_row, lock_for, may_manage, may_see};
use crate::error::{DomainError, FieldError, Problem, Result};
use crate::login::approval::{self, Action};
use crate::records::{self, Actor, ChangeKind};
use crate::secret::Random;
use crate::store::{Db, Tx, query};
use crate::time::{self, Millis};

/// The authority's active matters.
pub async fn catalogue(db: &Db, authority_id: &str) -> Result<Vec<MatterView>> {
    let rows: Vec<(String, String, String)> = db.fetch_all(query("SELECT id, name_zh, name_en FROM matter WHERE authority_id = $1 AND status = 'active' ORDER BY created_at, id").bind(authority_id)).await?;
    Ok(rows.into_iter().map(|(id, name_zh, name_en)| MatterView { id, name_zh, name_en }).collect())
}

/// Seeds an authority's catalogue with the common matters (a new authority starts with these).
pub async fn seed_catalogue(tx: &mut Tx, authority_id: &str, now: Millis) -> Result<()> {
    const COMMON: [(&str, &str, &str); 6] = [
        ("bank", "银行开户", "Bank account opening"),
        ("gov", "政务服务", "Government services"),
        ("social", "社保医保", "Social and medical insurance"),
        ("tax", "税务", "Taxation"),
        ("bid", "招投标", "Tendering and bidding"),
        ("estate", "不动产登记", "Real estate registration"),
    ];
    for (i, (slug, zh, en)) in COMMON.iter().enumerate() {
        tx.execute(query("INSERT INTO matter (id, authority_id, name_zh, name_en, status, created_at) VALUES ($1, $2, $3, $4, 'active', $5)").bind(format!("{authority_id}-{slug}")).bind(authority_id).bind(zh).bind(en).bind(now.0 + i as i64)).await?;
    }
    Ok(())
}

pub(super) struct CheckedGrant {
    pub(super) matter_ids: Vec<String>,
    pub(super) start_day: String,
    pub(super) end_day: String,
}

/// The authority's active matters, which a grant may name.
pub(super) const ACTIVE_MATTERS: &str = "SELECT id FROM matter WHERE authority_id = $1 AND status = 'active'";

pub(super) async fn check_grant(
    tx: &mut Tx,
    authority_id: &str,
    grant: &GrantInput,
    now: Millis,
) -> Result<CheckedGrant, DomainError> {
    let active: Vec<String> = tx
        .fetch_all(query(ACTIVE_MATTERS).bind(authority_id))
        .await
        .map_err(|_| DomainError::field("matters", Problem::BadFormat))?;
    check_grant_in(&active, grant, now)
}

/// R6 over the authority's `active` matters: at least one (at most 50) of them, and a period of
/// a day to a year that has not ended.
pub(super) fn check_grant_in(active: &[String], grant: &GrantInput, now: Millis) -> Result<CheckedGrant, DomainError> {
    let mut errors = Vec::new();
    let mut ids: Vec<String> = grant.matter_ids.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        errors.push(FieldError::new("matters", Problem::Required));
    } else if ids.len() > 50 {
        errors.push(FieldError::new("matters", Problem::TooLong { max: 50 }));
    } else {
        if ids.iter().any(|id| !active.contains(id)) {
            errors.push(FieldError::new("matters", Problem::BadFormat));
        }
    }
    if let Err(e) = check_period(&grant.start_day, &grant.end_day, time::today_cst(now)) {
        errors.extend(e);
    }
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    Ok(CheckedGrant {
        matter_ids: ids,
        start_day: grant.start_day.trim().to_owned(),
        end_day: grant.end_day.trim().to_owned(),
    })
}

pub(super) async fn insert_grant(
    tx: &mut Tx,
    holder_id: &str,
    granted_by: &str,
    grant: &CheckedGrant,
    now: Millis,
    random: &Random,
) -> Result<String> {
    let id = random.id();
    tx.execute(
        query(
            "INSERT INTO holder_grant (id, holder_id, start_day, end_day, status, granted_by, created_at) \
         VALUES ($1, $2, $3, $4, 'active', $5, $6)",
        )
        .bind(&id)
        .bind(holder_id)
        .bind(&grant.start_day)
        .bind(&grant.end_day)
        .bind(granted_by)
        .bind(now.0),
    )
    .await?;
    for matter in &grant.matter_ids {
        tx.execute(query("INSERT INTO grant_matter (grant_id, matter_id) VALUES ($1, $2)").bind(&id).bind(matter))
            .await?;
    }
    Ok(id)
}

pub(super) async fn grants_of(db: &Db, holder_ids: &[String], now: Millis) -> Result<HashMap<String, Vec<GrantView>>> {
    let mut out: HashMap<String, Vec<GrantView>> = HashMap::new();
    let today = time::format_day(time::today_cst(now));
    for holder_id in holder_ids {
        let rows: Vec<(String, String, String, GrantStatus, String, String, String)> = db
            .fetch_all(
                query(
                    "SELECT g.id, g.start_day, g.end_day, g.status, m.id, m.name_zh, m.name_en FROM holder_grant g \
             JOIN grant_matter gm ON gm.grant_id = g.id JOIN matter m ON m.id = gm.matter_id \
             WHERE g.holder_id = $1 ORDER BY g.created_at, g.id, m.created_at",
                )
                .bind(holder_id),
            )
            .await?;
        let list = out.entry(holder_id.clone()).or_default();
        for (id, start_day, end_day, status, mid, zh, en) in rows {
            if list.last().map(|g| g.id != id).unwrap_or(true) {
                let effective = status.in_force_on(&start_day, &end_day, &today);
                list.push(GrantView { id: id.clone(), matters: Vec::new(), start_day, end_day, status, effective });
            }
            if let Some(g) = list.last_mut() {
                g.matters.push(MatterView { id: mid, name_zh: zh, name_en: en });
            }
        }
    }
    Ok(out)
}

/// R6: grants more matters for a period to a user the caller manages.
pub async fn add_grant(
    db: &Db,
    caller: &Caller,
    holder_id: &str,
    grant: &GrantInput,
    now: Millis,
    random: &Random,
) -> Result<String> {
    let mut tx = db.begin_write().await?;
    let authority_id = lock_for(&mut tx, caller).await?;
    let target = holder_row(&mut tx, holder_id).await?;
    if !may_see(caller, &target) || target.status == HolderStatus::Removed {
        return Err(DomainError::NotFound.into());
    }
    if !may_manage(caller, &target) || target.role != Role::User {
        return Err(DomainError::Forbidden.into());
    }
    let checked = check_grant(&mut tx, &authority_id, grant, now).await?;
    let act = Action::AddGrant { holder_id: holder_id.to_owned(), grant: grant.clone() };
    approval::take_in(&mut tx, caller, &act, now).await?;
    let id = insert_grant(&mut tx, holder_id, &caller.holder_id, &checked, now, random).await?;
    records::change(
        &mut tx,
        &caller.certificate_id,
        ChangeKind::GrantAdded,
        Actor::Holder(&caller.holder_id),
        Some(holder_id),
        now,
        random,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Cancels a grant of a user the caller manages.
pub async fn cancel_grant(db: &Db, caller: &Caller, grant_id: &str, now: Millis, random: &Random) -> Result<()> {
    let mut tx = db.begin_write().await?;
    lock_for(&mut tx, caller).await?;
    let holder_id: Option<String> = tx
        .fetch_optional(query("SELECT holder_id FROM holder_grant WHERE id = $1 AND status = 'active'").bind(grant_id))
        .await?;
    let holder_id = holder_id.ok_or(DomainError::NotFound)?;
    let target = holder_row(&mut tx, &holder_id).await?;
    if !may_see(caller, &target) {
        return Err(DomainError::NotFound.into());
    }
    if !may_manage(caller, &target) {
        return Err(DomainError::Forbidden.into());
    }
    approval::take_in(&mut tx, caller, &Action::CancelGrant { grant_id: grant_id.to_owned() }, now).await?;
    tx.execute(
        query("UPDATE holder_grant SET status = 'cancelled', cancelled_at = $1 WHERE id = $2").bind(now).bind(grant_id),
    )
    .await?;
    records::change(
        &mut tx,
        &caller.certificate_id,
        ChangeKind::GrantCancelled,
        Actor::Holder(&caller.holder_id),
        Some(&holder_id),
        now,
        random,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
