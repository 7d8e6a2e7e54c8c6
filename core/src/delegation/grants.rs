//! Grants (R6, R17): the authority's catalogue of matters, and granting or cancelling matters
//! for a period to a user the caller manages; a grant given to a user who holds the role already
//! is in force once the user scans its grant QR on their own phone. Every write re-checks the
//! caller inside its transaction.

use std::collections::HashMap;

use super::holder::*;
use super::rows::{holder_row, lock_certificate, lock_for, may_authorize, may_manage, may_see};
use crate::code::{self, CodeKind};
use crate::device::{self, action};
use crate::error::{DomainError, FieldError, Problem, Result};
use crate::login::approval::{self, Action};
use crate::mask;
use crate::records::{self, Actor, ChangeKind};
use crate::secret::Random;
use crate::secret::Secret;
use crate::store::{Db, Tx, query};
use crate::time::{self, Millis};

/// The authority's active matters.
pub async fn catalogue(db: &Db, authority_id: &str) -> Result<Vec<MatterView>> {
    let rows: Vec<(String, String, String)> = db.fetch_all(query("SELECT id, name_zh, name_en FROM matter WHERE authority_id = $1 AND status = 'active' ORDER BY created_at, id").bind(authority_id)).await?;
    Ok(rows.into_iter().map(|(id, name_zh, name_en)| MatterView { id, name_zh, name_en }).collect())
}

/// Seeds an authority's catalogue with the common matters (a new authority starts with these).
/// The slug of the registration-business matter (登记业务, R23) in every authority's catalogue.
pub const REGISTRATION: &str = "registration";

/// The id of `authority_id`'s registration-business matter.
pub fn registration_matter(authority_id: &str) -> String {
    format!("{authority_id}-{REGISTRATION}")
}

/// How many grants of the holder in force today name the matter `matter_id` (R6, R17).
pub(crate) fn matter_in_force_count(holder_id: &str, matter_id: &str, now: Millis) -> crate::store::Query {
    let today = time::format_day(time::today_cst(now));
    let sql = concat!(
        "SELECT COUNT(*) FROM holder_grant g JOIN grant_matter gm ON gm.grant_id = g.id \
         WHERE g.holder_id = $1 AND gm.matter_id = $3 AND ",
        crate::grant_in_force_sql!("g", "$2")
    );
    query(sql).bind(holder_id).bind(today).bind(matter_id)
}

/// Whether the holder has a grant in force today naming the matter `matter_id`.
pub(crate) async fn has_matter_in_force(tx: &mut Tx, holder_id: &str, matter_id: &str, now: Millis) -> Result<bool> {
    let n: i64 = tx.fetch_one(matter_in_force_count(holder_id, matter_id, now)).await?;
    Ok(n > 0)
}

pub async fn seed_catalogue(tx: &mut Tx, authority_id: &str, now: Millis) -> Result<()> {
    const COMMON: [(&str, &str, &str); 7] = [
        ("bank", "银行开户", "Bank account opening"),
        ("gov", "政务服务", "Government services"),
        ("social", "社保医保", "Social and medical insurance"),
        ("tax", "税务", "Taxation"),
        ("bid", "招投标", "Tendering and bidding"),
        ("estate", "不动产登记", "Real estate registration"),
        // R23: a user granted it files registration business (`filing`).
        (REGISTRATION, "登记业务", "Registration business"),
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

/// One grant row with one of its matters.
struct GrantRow {
    id: String,
    start_day: String,
    end_day: String,
    status: GrantStatus,
    received_at: Option<i64>,
    created_at: i64,
    cancelled_at: Option<i64>,
    granted_by_name: String,
    matter_id: String,
    name_zh: String,
    name_en: String,
}
crate::store::from_row!(GrantRow {
    id,
    start_day,
    end_day,
    status,
    received_at,
    created_at,
    cancelled_at,
    granted_by_name,
    matter_id,
    name_zh,
    name_en
});

pub(super) async fn grants_of(db: &Db, holder_ids: &[String], now: Millis) -> Result<HashMap<String, Vec<GrantView>>> {
    let mut out: HashMap<String, Vec<GrantView>> = HashMap::new();
    let today = time::format_day(time::today_cst(now));
    for holder_id in holder_ids {
        let rows: Vec<GrantRow> = db
            .fetch_all(
                query(
                    "SELECT g.id, g.start_day, g.end_day, g.status, g.received_at, g.created_at, g.cancelled_at, \
             b.name AS granted_by_name, m.id AS matter_id, m.name_zh, m.name_en FROM holder_grant g \
             JOIN holder b ON b.id = g.granted_by \
             JOIN grant_matter gm ON gm.grant_id = g.id JOIN matter m ON m.id = gm.matter_id \
             WHERE g.holder_id = $1 ORDER BY g.created_at, g.id, m.created_at",
                )
                .bind(holder_id),
            )
            .await?;
        let list = out.entry(holder_id.clone()).or_default();
        for r in rows {
            if list.last().map(|g| g.id != r.id).unwrap_or(true) {
                let effective = r.status.in_force_on(r.received_at.is_some(), &r.start_day, &r.end_day, &today);
                list.push(GrantView {
                    id: r.id.clone(),
                    matters: Vec::new(),
                    start_day: r.start_day,
                    end_day: r.end_day,
                    status: r.status,
                    effective,
                    received_at: r.received_at,
                    granted_by_name: mask::person_name(&r.granted_by_name),
                    created_at: r.created_at,
                    cancelled_at: r.cancelled_at,
                });
            }
            let (mid, zh, en) = (r.matter_id, r.name_zh, r.name_en);
            if let Some(g) = list.last_mut() {
                g.matters.push(MatterView { id: mid, name_zh: zh, name_en: en });
            }
        }
    }
    Ok(out)
}

/// R17: a grant QR's code, for the user to scan on their own phone.
#[derive(Debug)]
pub struct GrantCode {
    pub grant_id: String,
    pub code: Secret,
    pub expires_at: Millis,
}

/// R6, R17: grants more matters for a period to a user the caller manages (a manager only
/// while it has the right to authorize users). The grant waits for the user: it is in force
/// once they scan the grant QR answered here on their own phone ([`receive_grant`]).
pub async fn add_grant(
    db: &Db,
    caller: &Caller,
    holder_id: &str,
    grant: &GrantInput,
    now: Millis,
    random: &Random,
) -> Result<GrantCode> {
    let mut tx = db.begin_write().await?;
    let authority_id = lock_for(&mut tx, caller).await?;
    let target = holder_row(&mut tx, holder_id).await?;
    if !may_see(caller, &target) || target.status == HolderStatus::Removed {
        return Err(DomainError::NotFound.into());
    }
    if !may_manage(caller, &target) || target.role != Role::User {
        return Err(DomainError::Forbidden.into());
    }
    may_authorize(&mut tx, caller).await?;
    let checked = check_grant(&mut tx, &authority_id, grant, now).await?;
    let act = Action::AddGrant { holder_id: holder_id.to_owned(), grant: grant.clone() };
    approval::take_in(&mut tx, caller, &act, now).await?;
    let id = insert_grant(&mut tx, holder_id, &caller.holder_id, &checked, now, random).await?;
    let (code, expires_at) =
        code::create_for_grant(&mut tx, &caller.certificate_id, holder_id, &id, AUTHORIZE_MINUTES, now, random).await?;
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
    Ok(GrantCode { grant_id: id, code, expires_at })
}

/// R17: a fresh grant QR for a grant its user has not received yet; earlier ones stop working.
pub async fn grant_code(db: &Db, caller: &Caller, grant_id: &str, now: Millis, random: &Random) -> Result<GrantCode> {
    let mut tx = db.begin_write().await?;
    lock_for(&mut tx, caller).await?;
    let sql = "SELECT holder_id, received_at FROM holder_grant WHERE id = $1 AND status = 'active'";
    let row: Option<(String, Option<i64>)> = tx.fetch_optional(query(sql).bind(grant_id)).await?;
    let (holder_id, received_at) = row.ok_or(DomainError::NotFound)?;
    let target = holder_row(&mut tx, &holder_id).await?;
    if !may_see(caller, &target) || target.status == HolderStatus::Removed {
        return Err(DomainError::NotFound.into());
    }
    if !may_manage(caller, &target) {
        return Err(DomainError::Forbidden.into());
    }
    // Received already, or coming with a role not taken up yet (its face-to-face QR brings it).
    if received_at.is_some() || target.status != HolderStatus::Active {
        return Err(DomainError::InvalidState.into());
    }
    may_authorize(&mut tx, caller).await?;
    approval::take_in(&mut tx, caller, &Action::GrantCode { grant_id: grant_id.to_owned() }, now).await?;
    let void = "UPDATE one_time_code SET voided_at = $1 WHERE grant_id = $2 AND used_at IS NULL AND voided_at IS NULL";
    tx.execute(query(void).bind(now.0).bind(grant_id)).await?;
    let (code, expires_at) =
        code::create_for_grant(&mut tx, &caller.certificate_id, &holder_id, grant_id, AUTHORIZE_MINUTES, now, random)
            .await?;
    tx.commit().await?;
    Ok(GrantCode { grant_id: grant_id.to_owned(), code, expires_at })
}

/// A grant code's row with what its offer shows.
struct GrantCodeRow {
    grant_id: String,
    holder_id: String,
    certificate_id: String,
    expires_at: i64,
    used_at: Option<i64>,
    voided_at: Option<i64>,
    start_day: String,
    end_day: String,
    granted_by_name: String,
    holder_name: String,
    institution_name: String,
    grant_status: GrantStatus,
    received_at: Option<i64>,
    holder_status: HolderStatus,
    certificate_status: crate::certificate::CertificateStatus,
}
crate::store::from_row!(GrantCodeRow {
    grant_id,
    holder_id,
    certificate_id,
    expires_at,
    used_at,
    voided_at,
    start_day,
    end_day,
    granted_by_name,
    holder_name,
    institution_name,
    grant_status,
    received_at,
    holder_status,
    certificate_status
});

const GRANT_CODE_SELECT: &str = "SELECT o.grant_id, o.holder_id, o.certificate_id, o.expires_at, o.used_at, o.voided_at, \
     g.start_day, g.end_day, b.name AS granted_by_name, h.name AS holder_name, i.name AS institution_name, \
     g.status AS grant_status, g.received_at, h.status AS holder_status, c.status AS certificate_status \
     FROM one_time_code o JOIN holder_grant g ON g.id = o.grant_id JOIN holder h ON h.id = o.holder_id \
     JOIN holder b ON b.id = g.granted_by JOIN certificate c ON c.id = o.certificate_id \
     JOIN institution i ON i.id = c.institution_id \
     WHERE o.code_hash = $1 AND o.kind = 'grant'";

/// The live grant code's row; a clear code error otherwise (unknown, used, voided, expired), or
/// `CodeInvalid` when its grant is no longer waiting (cancelled, received, its user removed).
fn live_grant_code(row: Option<GrantCodeRow>, now: Millis) -> Result<GrantCodeRow> {
    let row = row.ok_or(DomainError::CodeInvalid)?;
    if row.used_at.is_some() {
        return Err(DomainError::CodeUsed.into());
    }
    // The grant, its user and its certificate must be as they were when it was given.
    let waiting = row.grant_status == GrantStatus::Active
        && row.received_at.is_none()
        && row.holder_status == HolderStatus::Active
        && row.certificate_status == crate::certificate::CertificateStatus::Active;
    if row.voided_at.is_some() || !waiting {
        return Err(DomainError::CodeInvalid.into());
    }
    if row.expires_at <= now.0 {
        return Err(DomainError::CodeExpired.into());
    }
    Ok(row)
}

async fn matters_of(db: &Db, grant_id: &str) -> Result<Vec<MatterView>> {
    let sql = "SELECT m.id, m.name_zh, m.name_en FROM grant_matter gm JOIN matter m ON m.id = gm.matter_id \
               WHERE gm.grant_id = $1 ORDER BY m.created_at, m.id";
    let rows: Vec<(String, String, String)> = db.fetch_all(query(sql).bind(grant_id)).await?;
    Ok(rows.into_iter().map(|(id, name_zh, name_en)| MatterView { id, name_zh, name_en }).collect())
}

/// R17: what a grant QR hands over, without using it (the wallet shows it before the user
/// receives it).
pub async fn grant_offer(db: &Db, code: &str, now: Millis) -> Result<GrantOffer> {
    let hash = crate::secret::token_hash(code.trim());
    let row = live_grant_code(db.fetch_optional(query(GRANT_CODE_SELECT).bind(&hash)).await?, now)?;
    Ok(GrantOffer {
        matters: matters_of(db, &row.grant_id).await?,
        institution_name: row.institution_name,
        certificate_id: row.certificate_id,
        holder_name: mask::person_name(&row.holder_name),
        start_day: row.start_day,
        end_day: row.end_day,
        granted_by_name: mask::person_name(&row.granted_by_name),
        expires_at: row.expires_at,
    })
}

/// R17: the user receives the grant of `code` on their own phone, whose device signs
/// `grant-receive` over the code. Another holder's phone is refused and leaves the code usable;
/// the code works once, also under concurrent requests. Answers the grant id.
pub async fn receive_grant(
    db: &Db,
    code: &str,
    device_id: &str,
    signature: &str,
    now: Millis,
    random: &Random,
) -> Result<String> {
    let bound =
        device::signed(db, device_id, &device::message(action::GRANT_RECEIVE, code.trim()), signature, now).await?;
    let hash = crate::secret::token_hash(code.trim());
    let mut tx = db.begin_write().await?;
    lock_certificate(&mut tx, &bound.certificate_id).await?;
    let row = live_grant_code(tx.fetch_optional(query(GRANT_CODE_SELECT).bind(&hash)).await?, now)?;
    if row.holder_id != bound.holder_id {
        return Err(DomainError::CodeInvalid.into());
    }
    code::redeem(&mut tx, CodeKind::Grant, code, now).await?;
    let received =
        "UPDATE holder_grant SET received_at = $1 WHERE id = $2 AND received_at IS NULL AND status = 'active'";
    if tx.execute(query(received).bind(now.0).bind(&row.grant_id)).await? != 1 {
        return Err(DomainError::CodeInvalid.into());
    }
    let actor = Actor::Holder(&bound.holder_id);
    records::change(
        &mut tx,
        &bound.certificate_id,
        ChangeKind::GrantReceived,
        actor,
        Some(&bound.holder_id),
        now,
        random,
    )
    .await?;
    tx.commit().await?;
    Ok(row.grant_id)
}

/// R17: does `holder_id` hold a grant in force today (a user may act for the institution only
/// then)?
pub(crate) async fn has_grant_in_force(tx: &mut Tx, holder_id: &str, now: Millis) -> Result<bool> {
    let today = time::format_day(time::today_cst(now));
    let sql = concat!(
        "SELECT COUNT(*) FROM holder_grant g WHERE g.holder_id = $1 AND ",
        crate::grant_in_force_sql!("g", "$2")
    );
    let n: i64 = tx.fetch_one(query(sql).bind(holder_id).bind(&today)).await?;
    Ok(n > 0)
}

/// The first manager gives a manager the right to authorize users (使用人授权), or withdraws
/// it. Withdrawing it touches no user or grant the manager gave already.
pub async fn set_may_authorize(
    db: &Db,
    caller: &Caller,
    holder_id: &str,
    allowed: bool,
    now: Millis,
    random: &Random,
) -> Result<()> {
    let mut tx = db.begin_write().await?;
    lock_for(&mut tx, caller).await?;
    let target = holder_row(&mut tx, holder_id).await?;
    if !may_see(caller, &target) || target.status == HolderStatus::Removed {
        return Err(DomainError::NotFound.into());
    }
    if !caller.is_first_manager() || target.role != Role::Manager {
        return Err(DomainError::Forbidden.into());
    }
    approval::take_in(&mut tx, caller, &Action::SetMayAuthorize { holder_id: holder_id.to_owned(), allowed }, now)
        .await?;
    tx.execute(query("UPDATE holder SET may_authorize = $1 WHERE id = $2").bind(allowed).bind(holder_id)).await?;
    let kind = if allowed { ChangeKind::AuthorizeRightGiven } else { ChangeKind::AuthorizeRightWithdrawn };
    records::change(
        &mut tx,
        &caller.certificate_id,
        kind,
        Actor::Holder(&caller.holder_id),
        Some(holder_id),
        now,
        random,
    )
    .await?;
    tx.commit().await?;
    Ok(())
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
