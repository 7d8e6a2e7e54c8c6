//! A role's life (R2–R5, R8): added by a manager with a face-to-face code, taken up on the
//! person's own device, removed with everything that hangs on it. Each use-case checks its
//! caller and writes its change record in the same transaction.

use super::grants::{ACTIVE_MATTERS, check_grant, check_grant_in, insert_grant};
use super::holder::*;
use super::rows::{holder_row, lock_certificate, lock_for, may_authorize, may_manage, may_see};
use crate::certificate::PersonInput;
use crate::code::{self, CodeKind};
use crate::device;
use crate::error::{DomainError, FieldError, Problem, Result};
use crate::identity::IdentityVerifier;
use crate::login::approval::{self, Action};
use crate::mask;
use crate::records::{self, Actor, ChangeKind};
use crate::seal::Column;
use crate::secret::{Random, Secret};
use crate::store::{Db, Tx, query};
use crate::time::Millis;
use crate::validate::{self, Checks};

/// A face-to-face authorization code to show as a QR (R5).
#[derive(Debug)]
pub struct AuthorizeCode {
    pub holder_id: String,
    pub code: Secret,
    pub expires_at: Millis,
}

/// R3/R4/R6/R17: adds a manager (first manager only; at most 3, also under concurrent
/// requests) or a user, with a first grant or none to choose later (first manager, or a manager
/// with the right to authorize users). The identity is checked before anything is saved; the
/// role and its grant stay pending until the person accepts it face to face.
#[allow(clippy::too_many_arguments)]
pub async fn add(
    db: &Db,
    caller: &Caller,
    role: Role,
    person: &PersonInput,
    grant: Option<&GrantInput>,
    identity: &IdentityVerifier,
    now: Millis,
    random: &Random,
) -> Result<AuthorizeCode> {
    may_add(caller, role)?;
    let mut checks = Checks::new();
    let crate::certificate::Person { name, id_number, mobile } =
        crate::certificate::check_person(&mut checks, "", person);
    checks.finish()?;
    let asker = crate::identity::Asker::Holder(&caller.holder_id);
    identity.verify_for(db, asker, "id_number", &name, &id_number, now, random).await?;

    let mut tx = db.begin_write().await?;
    let authority_id = lock_for(&mut tx, caller).await?;
    if role == Role::User {
        may_authorize(&mut tx, caller).await?;
    }
    // R17: a user may be added without a grant; no matters chosen is no grant.
    let grant_input = grant.filter(|g| role == Role::User && !g.is_empty());
    let grant = match grant_input {
        Some(g) => Some(check_grant(&mut tx, &authority_id, g, now).await?),
        None => None,
    };
    // Sealed values differ each time, so the certificate's holders are opened and compared.
    let sealed: Vec<(String, String)> = tx
        .fetch_all(
            query("SELECT id, id_number FROM holder WHERE certificate_id = $1 AND status <> 'removed'")
                .bind(&caller.certificate_id),
        )
        .await?;
    let mut same_person = false;
    for (id, s) in &sealed {
        same_person |= tx.vault().matches(Column::HolderIdNumber.at(id), s, &id_number)?;
    }
    if same_person {
        return Err(DomainError::AlreadyExists { field: "id_number".into() }.into());
    }
    if role == Role::Manager {
        let managers: i64 = tx.fetch_one(query("SELECT COUNT(*) FROM holder WHERE certificate_id = $1 AND role = 'manager' AND status <> 'removed'").bind(&caller.certificate_id)).await?;
        if managers >= MAX_MANAGERS {
            return Err(DomainError::TooManyManagers.into());
        }
    }
    let act = Action::AddHolder {
        role,
        name: person.name.clone(),
        id_number: person.id_number.clone(),
        mobile: person.mobile.clone(),
        grant: grant_input.cloned(),
    };
    approval::take_in(&mut tx, caller, &act, now).await?;
    let holder_id = random.id();
    let sealed_id_number = tx.vault().seal(Column::HolderIdNumber.at(&holder_id), &id_number);
    let sealed_mobile = tx.vault().seal(Column::HolderMobile.at(&holder_id), &mobile);
    tx.execute(query("INSERT INTO holder (id, certificate_id, role, name, id_number, mobile, is_legal_rep, granted_by, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9)").bind(&holder_id).bind(&caller.certificate_id).bind(role).bind(&name).bind(&sealed_id_number).bind(&sealed_mobile).bind(false).bind(&caller.holder_id).bind(now.0)).await?;
    if let Some(g) = &grant {
        insert_grant(&mut tx, &holder_id, &caller.holder_id, g, now, random).await?;
    }
    let kind = if role == Role::Manager { ChangeKind::ManagerAdded } else { ChangeKind::UserAdded };
    records::change(
        &mut tx,
        &caller.certificate_id,
        kind,
        Actor::Holder(&caller.holder_id),
        Some(&holder_id),
        now,
        random,
    )
    .await?;
    let (code, expires_at) = code::create(
        &mut tx,
        CodeKind::Authorize,
        &caller.certificate_id,
        Some(&holder_id),
        AUTHORIZE_MINUTES,
        now,
        random,
    )
    .await?;
    tx.commit().await?;
    Ok(AuthorizeCode { holder_id, code, expires_at })
}

/// R3, R6: who may add whom. The first manager adds managers; the first manager and managers
/// add users.
fn may_add(caller: &Caller, role: Role) -> Result<(), DomainError> {
    match role {
        Role::Manager if caller.is_first_manager() => Ok(()),
        Role::User if caller.role != Role::User => Ok(()),
        Role::Manager | Role::User => Err(DomainError::Forbidden),
        // The first manager is named by staff when they issue the certificate (R1).
        Role::FirstManager => Err(DomainError::field("role", Problem::BadFormat)),
    }
}

/// What a dashboard write of `act` would refuse for its input alone, checked before the
/// holder's phone is asked to approve it (issue 14 §1), so that nobody approves a write that
/// cannot happen: who may add whom, the person's fields, the matters and period of a grant, the
/// number of managers (R3). The write checks everything again, under lock.
pub async fn preflight(db: &Db, caller: &Caller, act: &Action, now: Millis) -> Result<()> {
    let grant = match act {
        Action::AddHolder { role, name, id_number, mobile, grant } => {
            may_add(caller, *role)?;
            let mut checks = Checks::new();
            let person = PersonInput { name: name.clone(), id_number: id_number.clone(), mobile: mobile.clone() };
            crate::certificate::check_person(&mut checks, "", &person);
            checks.finish()?;
            if *role == Role::Manager {
                let managers: i64 = db.fetch_one(query("SELECT COUNT(*) FROM holder WHERE certificate_id = $1 AND role = 'manager' AND status <> 'removed'").bind(&caller.certificate_id)).await?;
                if managers >= MAX_MANAGERS {
                    return Err(DomainError::TooManyManagers.into());
                }
            }
            grant.as_ref().filter(|g| *role == Role::User && !g.is_empty())
        }
        Action::AddGrant { grant, .. } => Some(grant),
        _ => None,
    };
    // A manager authorizes users only while the first manager lets it.
    let authorizes = matches!(act, Action::AddHolder { role: Role::User, .. } | Action::AddGrant { .. });
    if authorizes && caller.role == Role::Manager {
        let allowed: bool =
            db.fetch_one(query("SELECT may_authorize FROM holder WHERE id = $1").bind(&caller.holder_id)).await?;
        if !allowed {
            return Err(DomainError::AuthorizeRightWithdrawn.into());
        }
    }
    if let Some(g) = grant {
        let active: Vec<String> = db.fetch_all(query(ACTIVE_MATTERS).bind(&caller.authority_id)).await?;
        check_grant_in(&active, g, now)?;
    }
    Ok(())
}

/// R5: a fresh face-to-face code for a pending role; earlier ones stop working.
pub async fn authorize_code(
    db: &Db,
    caller: &Caller,
    holder_id: &str,
    now: Millis,
    random: &Random,
) -> Result<AuthorizeCode> {
    let mut tx = db.begin_write().await?;
    lock_for(&mut tx, caller).await?;
    let target = holder_row(&mut tx, holder_id).await?;
    if !may_see(caller, &target) {
        return Err(DomainError::NotFound.into());
    }
    if !may_manage(caller, &target) {
        return Err(DomainError::Forbidden.into());
    }
    if target.status != HolderStatus::Pending {
        return Err(DomainError::InvalidState.into());
    }
    // A manager whose right to authorize users was withdrawn shows no QR that would bring a
    // user's grants into force (R17).
    if target.role == Role::User {
        may_authorize(&mut tx, caller).await?;
    }
    approval::take_in(&mut tx, caller, &Action::AuthorizeCode { holder_id: holder_id.to_owned() }, now).await?;
    code::void_unused(&mut tx, CodeKind::Authorize, holder_id, now).await?;
    let (code, expires_at) = code::create(
        &mut tx,
        CodeKind::Authorize,
        &caller.certificate_id,
        Some(holder_id),
        AUTHORIZE_MINUTES,
        now,
        random,
    )
    .await?;
    tx.commit().await?;
    Ok(AuthorizeCode { holder_id: holder_id.to_owned(), code, expires_at })
}

/// R19: a re-download code for a holder's new phone, shown as a QR by the one who manages them
/// (the first manager for managers and users, a manager for the users it added). The holder's
/// present phone stops at once — it may be lost — and the role and grants stay as they are.
pub async fn redownload_code(
    db: &Db,
    caller: &Caller,
    holder_id: &str,
    now: Millis,
    random: &Random,
) -> Result<AuthorizeCode> {
    let mut tx = db.begin_write().await?;
    lock_for(&mut tx, caller).await?;
    let target = holder_row(&mut tx, holder_id).await?;
    if !may_see(caller, &target) || target.status == HolderStatus::Removed {
        return Err(DomainError::NotFound.into());
    }
    if !may_manage(caller, &target) {
        return Err(DomainError::Forbidden.into());
    }
    // A role not yet taken up is taken up with its face-to-face code (R5).
    if target.status != HolderStatus::Active {
        return Err(DomainError::InvalidState.into());
    }
    approval::take_in(&mut tx, caller, &Action::RedownloadCode { holder_id: holder_id.to_owned() }, now).await?;
    let actor = Actor::Holder(&caller.holder_id);
    let slip =
        redownload_slip(&mut tx, &caller.certificate_id, holder_id, actor, AUTHORIZE_MINUTES, now, random).await?;
    tx.commit().await?;
    Ok(AuthorizeCode { holder_id: holder_id.to_owned(), code: slip.code, expires_at: slip.expires_at })
}

/// R19 inside the caller's transaction, for a holder the caller may move (no check here): stops
/// the holder's phone and sessions at once, voids earlier re-download codes, records who gave
/// the new one, and answers it, valid for `minutes`.
pub(crate) async fn redownload_slip(
    tx: &mut Tx,
    certificate_id: &str,
    holder_id: &str,
    actor: Actor<'_>,
    minutes: i64,
    now: Millis,
    random: &Random,
) -> Result<crate::certificate::ClaimCode> {
    device::void_for_holder(tx, holder_id, device::VoidReason::Moved, now).await?;
    code::void_unused(tx, CodeKind::Redownload, holder_id, now).await?;
    let (code, expires_at) =
        code::create(tx, CodeKind::Redownload, certificate_id, Some(holder_id), minutes, now, random).await?;
    records::change(tx, certificate_id, ChangeKind::RedownloadIssued, actor, Some(holder_id), now, random).await?;
    Ok(crate::certificate::ClaimCode {
        kind: CodeKind::Redownload,
        certificate_id: certificate_id.to_owned(),
        code,
        expires_at,
    })
}

/// Issue 16 journey 1: the holder removes the card from this phone. The binding stops at once
/// (`Dropped`), with its sessions; the role and grants stay, and a re-download code brings the
/// certificate back on a phone. Signed by the device over itself and the time of signing.
pub async fn drop_device(
    db: &Db,
    device_id: &str,
    (signed_at, signature): (i64, &str),
    now: Millis,
    random: &Random,
) -> Result<()> {
    let bound = device::signed_fresh(db, device_id, device::action::REMOVE_CARD, signed_at, signature, now).await?;
    let mut tx = db.begin_write().await?;
    let voided = tx
        .execute(
            query(
                "UPDATE device SET status = 'voided', voided_at = $1, void_reason = $2 WHERE id = $3 AND status = 'active'",
            )
            .bind(now)
            .bind(device::VoidReason::Dropped.as_sql())
            .bind(device_id),
        )
        .await?;
    if voided != 1 {
        return Err(DomainError::Revoked.into());
    }
    let end = "UPDATE holder_session SET ended_at = $1 WHERE device_id = $2 AND ended_at IS NULL";
    tx.execute(query(end).bind(now).bind(device_id)).await?;
    let actor = Actor::Holder(&bound.holder_id);
    records::change(
        &mut tx,
        &bound.certificate_id,
        ChangeKind::DeviceRemoved,
        actor,
        Some(&bound.holder_id),
        now,
        random,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Looks at a claim, authorization or re-download code without using it.
pub async fn offer(db: &Db, kind: CodeKind, code: &str, now: Millis) -> Result<Offer> {
    /// Institution, credit code, role, holder, expiry, used, voided, holder status, the
    /// certificate's expiry.
    type OfferRow = (String, String, Role, String, i64, Option<i64>, Option<i64>, HolderStatus, i64);
    let hash = crate::secret::token_hash(code.trim());
    let row: Option<OfferRow> = db
        .fetch_optional(
            query(
                "SELECT i.name, i.credit_code, h.role, h.name, o.expires_at, o.used_at, o.voided_at, h.status, c.expires_at \
         FROM one_time_code o JOIN holder h ON h.id = o.holder_id JOIN certificate c ON c.id = o.certificate_id \
         JOIN institution i ON i.id = c.institution_id WHERE o.code_hash = $1 AND o.kind = $2 AND c.status = 'active'",
            )
            .bind(&hash)
            .bind(kind.as_str()),
        )
        .await?;
    let Some((institution_name, credit_code, role, name, expires_at, used_at, voided_at, status, lapses_at)) = row
    else {
        return Err(DomainError::CodeInvalid.into());
    };
    // R20: a lapsed certificate is taken up by no one until it is renewed.
    if lapses_at <= now.0 {
        return Err(DomainError::Expired { last_day: crate::validity::last_day(lapses_at) }.into());
    }
    if used_at.is_some() {
        return Err(DomainError::CodeUsed.into());
    }
    if voided_at.is_some() || Some(status) != taken_up_from(kind) {
        return Err(DomainError::CodeInvalid.into());
    }
    if expires_at <= now.0 {
        return Err(DomainError::CodeExpired.into());
    }
    Ok(Offer { institution_name, credit_code, role, holder_name: mask::person_name(&name), expires_at })
}

/// The holder status a code of `kind` is taken up from: a re-download moves an active role to a
/// new phone (R19); a claim or face-to-face code makes a pending role active; a grant code
/// takes up no role (R17: `receive_grant`).
fn taken_up_from(kind: CodeKind) -> Option<HolderStatus> {
    match kind {
        CodeKind::Redownload => Some(HolderStatus::Active),
        CodeKind::Claim | CodeKind::Authorize => Some(HolderStatus::Pending),
        CodeKind::Grant => None,
    }
}

/// What a person types and what their device sends to take up a role.
#[derive(Clone, Debug)]
pub struct Acceptance {
    pub name: String,
    pub id_number: String,
    pub password: Secret,
    /// base64url SEC1 P-256 public key of the new device key.
    pub public_key: String,
    /// The device's signature of `device::message(claim|accept, code)`.
    pub signature: String,
}

/// R2/R4: the person scans the claim (first manager) or face-to-face (manager, user) code on
/// their own device — or, R19, the re-download code of a role they hold on a new one — confirms their name and ID number, sets the certificate password, and
/// the device's public key is bound. A mismatch or a bad signature changes nothing and leaves
/// the code usable; a code works once, also under concurrent requests.
pub async fn accept(
    db: &Db,
    kind: CodeKind,
    code: &str,
    input: &Acceptance,
    now: Millis,
    random: &Random,
) -> Result<Binding> {
    take_up(db, kind, code, input, None, now, random).await
}

/// R19: takes a role up again on a new phone with a re-download code — as [`accept`], and with
/// the SMS code [`crate::sms::request_redownload`] sent to the holder's registered mobile, so
/// that the code and the holder's name and ID number, which the manager who shows the code and
/// staff know, are not enough to move someone's role to a phone of their own. Each try of the
/// SMS code is counted (5 per code) before anything else; a wrong one changes nothing else.
pub async fn accept_redownload(
    db: &Db,
    code: &str,
    input: &Acceptance,
    sms_code: &str,
    now: Millis,
    random: &Random,
) -> Result<Binding> {
    take_up(db, CodeKind::Redownload, code, input, Some(sms_code), now, random).await
}

#[allow(clippy::too_many_arguments)]
async fn take_up(
    db: &Db,
    kind: CodeKind,
    code: &str,
    input: &Acceptance,
    sms_code: Option<&str>,
    now: Millis,
    random: &Random,
) -> Result<Binding> {
    let mut checks = Checks::new();
    let name = checks.take(validate::person_name("person_name", &input.name));
    let id_number = checks.take(validate::resident_id("id_number", &input.id_number));
    checks.take(device::check_new_password("certificate_password", input.password.expose()));
    checks.take(
        device::parse_public_key(&input.public_key)
            .map(|_| ())
            .map_err(|_| FieldError::new("public_key", Problem::BadFormat)),
    );
    let sms_code = match (kind, sms_code.map(str::trim)) {
        (CodeKind::Redownload, Some(c)) if !c.is_empty() => Some(c),
        (CodeKind::Redownload, _) => {
            checks.take::<()>(Err(FieldError::new("sms_code", Problem::Required)));
            None
        }
        _ => None,
    };
    checks.finish()?;
    let action = match kind {
        CodeKind::Claim => device::action::CLAIM,
        CodeKind::Authorize => device::action::ACCEPT,
        CodeKind::Redownload => device::action::REDOWNLOAD,
        CodeKind::Grant => return Err(DomainError::CodeInvalid.into()),
    };
    device::verify(&input.public_key, &device::message(action, code.trim()), &input.signature)?;
    // Issue 14 §3: the slow hash runs only for a live code. The caller brings the key that
    // signs, so the signature alone keeps no stranger from making the server hash.
    offer(db, kind, code, now).await?;
    // R19: the SMS code to the registered mobile, its try counted and committed first.
    let sms_id = match sms_code {
        Some(sms) => {
            let holder_id = code::live_holder(db, kind, code, now).await?;
            Some(crate::sms::try_redownload_code(db, &holder_id, sms, now).await?)
        }
        None => None,
    };
    // Hashed before the write transaction: argon2 must not run under the SQLite write lock.
    let password_hash = crate::secret::hash_password(input.password.clone(), random).await?;

    let mut tx = db.begin_write().await?;
    let redeemed = code::redeem(&mut tx, kind, code, now).await?;
    let holder_id = redeemed.holder_id.ok_or(DomainError::CodeInvalid)?;
    lock_certificate(&mut tx, &redeemed.certificate_id).await?;
    let holder = holder_row(&mut tx, &holder_id).await?;
    if Some(holder.status) != taken_up_from(kind) {
        return Err(DomainError::CodeInvalid.into());
    }
    let is_first_manager = holder.role == Role::FirstManager;
    if kind != CodeKind::Redownload && (kind == CodeKind::Claim) != is_first_manager {
        return Err(DomainError::CodeInvalid.into());
    }
    if !crate::secret::constant_time_eq(&holder.name, &name)
        || !crate::secret::constant_time_eq(&holder.id_number, &id_number)
    {
        drop(tx);
        count_identity_miss(db, code, now).await?;
        return Err(DomainError::IdentityMismatch.into());
    }
    if let Some(id) = &sms_id {
        crate::sms::use_code(&mut tx, id, now).await?;
    }
    let device_id = device::bind(&mut tx, &holder_id, &input.public_key, &password_hash, now, random).await?;
    tx.execute(query("UPDATE holder SET status = 'active' WHERE id = $1").bind(&holder_id)).await?;
    // R17: the grants given with the role were handed over with its face-to-face QR.
    let received =
        "UPDATE holder_grant SET received_at = $1 WHERE holder_id = $2 AND received_at IS NULL AND status = 'active'";
    if kind == CodeKind::Authorize {
        tx.execute(query(received).bind(now.0).bind(&holder_id)).await?;
    }
    if holder.role == Role::FirstManager {
        // Issue 15 §3: the statistics count a certificate claimed from its first claim on.
        let first = "UPDATE certificate SET claimed_at = $1 WHERE id = $2 AND claimed_at IS NULL";
        tx.execute(query(first).bind(now).bind(&holder.certificate_id)).await?;
    }
    let change = match holder.role {
        _ if kind == CodeKind::Redownload => ChangeKind::DeviceChanged,
        Role::FirstManager => ChangeKind::Claimed,
        Role::Manager => ChangeKind::ManagerAccepted,
        Role::User => ChangeKind::UserAccepted,
    };
    records::change(&mut tx, &holder.certificate_id, change, Actor::Holder(&holder_id), Some(&holder_id), now, random)
        .await?;
    let (institution_name, credit_code, serial): (String, String, String) = tx.fetch_one(query("SELECT i.name, i.credit_code, c.serial FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1").bind(&holder.certificate_id)).await?;
    tx.commit().await?;
    Ok(Binding {
        device_id,
        holder_id,
        certificate_id: holder.certificate_id,
        role: holder.role,
        institution_name,
        credit_code,
        serial,
        holder_name: mask::person_name(&holder.name),
    })
}

/// Counts a wrong name / ID number against a code (committed on its own); the 5th voids it.
pub(super) async fn count_identity_miss(db: &Db, code: &str, now: Millis) -> Result<()> {
    db.execute(
        query(
            "UPDATE one_time_code SET failed_attempts = failed_attempts + 1, \
         voided_at = CASE WHEN failed_attempts + 1 >= $1 THEN $2 ELSE voided_at END WHERE code_hash = $3",
        )
        .bind(IDENTITY_TRIES)
        .bind(now.0)
        .bind(crate::secret::token_hash(code.trim())),
    )
    .await?;
    Ok(())
}

/// Removes one holder's role, device binding and grants (no permission check; see [`remove`]);
/// `reason` is what the holder's phone will say (R8 `Removed`, R14 the change).
pub(crate) async fn remove_one(tx: &mut Tx, holder_id: &str, reason: device::VoidReason, now: Millis) -> Result<()> {
    tx.execute(query("UPDATE holder SET status = 'removed' WHERE id = $1 AND status <> 'removed'").bind(holder_id))
        .await?;
    tx.execute(query("UPDATE holder_grant SET status = 'cancelled', cancelled_at = $1 WHERE holder_id = $2 AND status = 'active'").bind(now).bind(holder_id))
    .await?;
    tx.execute(
        query("UPDATE one_time_code SET voided_at = $1 WHERE holder_id = $2 AND used_at IS NULL AND voided_at IS NULL")
            .bind(now)
            .bind(holder_id),
    )
    .await?;
    device::void_for_holder(tx, holder_id, reason, now).await
}

/// R8: the first manager removes any manager or user; a manager only users it authorized.
/// Removing a manager removes the users it authorized and their grants. Device bindings and
/// sessions of everyone removed stop working at once.
pub async fn remove(db: &Db, caller: &Caller, holder_id: &str, now: Millis, random: &Random) -> Result<()> {
    let mut tx = db.begin_write().await?;
    lock_for(&mut tx, caller).await?;
    let target = holder_row(&mut tx, holder_id).await?;
    if !may_see(caller, &target) || target.status == HolderStatus::Removed {
        return Err(DomainError::NotFound.into());
    }
    if !may_manage(caller, &target) {
        return Err(DomainError::Forbidden.into());
    }
    approval::take_in(&mut tx, caller, &Action::RemoveHolder { holder_id: holder_id.to_owned() }, now).await?;
    remove_one(&mut tx, holder_id, device::VoidReason::Removed, now).await?;
    let kind = if target.role == Role::Manager { ChangeKind::ManagerRemoved } else { ChangeKind::UserRemoved };
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
    if target.role == Role::Manager {
        let users: Vec<String> = tx
            .fetch_all(
                query("SELECT id FROM holder WHERE granted_by = $1 AND role = 'user' AND status <> 'removed'")
                    .bind(holder_id),
            )
            .await?;
        for user in users {
            remove_one(&mut tx, &user, device::VoidReason::Removed, now).await?;
            records::change(
                &mut tx,
                &caller.certificate_id,
                ChangeKind::UserRemoved,
                Actor::Holder(&caller.holder_id),
                Some(&user),
                now,
                random,
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
