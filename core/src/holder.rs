//! Delegation (R3–R8): the first manager authorizes up to 3 managers; managers and the first
//! manager add users and grant them matters for a period; every role becomes effective only when
//! its person accepts it face to face on their own device; removal cascades and takes effect at
//! once. Visibility (R7) and removal rights (R8) are checked here, on every call, for every edge.

use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Problem};
use crate::time;

crate::text_enum! {
    /// A person's role in a certificate (R1, R3, R4).
    pub enum Role {
        FirstManager = "first_manager",
        Manager = "manager",
        User = "user",
    }
}

crate::text_enum! {
    /// A role is `Pending` until its person takes it up face to face (R4, R5), and `Removed`
    /// for good (R8, R14).
    pub enum HolderStatus {
        Pending = "pending",
        Active = "active",
        Removed = "removed",
    }
}

crate::text_enum! {
    /// A grant of matters for a period (R6); in force only while `Active` and inside its period
    /// ([`GrantView::effective`]).
    pub enum GrantStatus {
        Active = "active",
        Cancelled = "cancelled",
    }
}

impl GrantStatus {
    /// R6: a grant with this status and period (`YYYY-MM-DD`, China Standard Time, ends
    /// included) is in force on `day`.
    pub fn in_force_on(self, start_day: &str, end_day: &str, day: &str) -> bool {
        self == GrantStatus::Active && start_day <= day && day <= end_day
    }
}

/// R6 in SQL, beside its Rust form [`GrantStatus::in_force_on`]: the `holder_grant` row named
/// `$grant` is in force on the `YYYY-MM-DD` day bound to the parameter `$day`. A string literal,
/// for `concat!`.
#[macro_export]
macro_rules! grant_in_force_sql {
    ($grant:literal, $day:literal) => {
        concat!(
            "(",
            $grant,
            ".status = 'active' AND ",
            $grant,
            ".start_day <= ",
            $day,
            " AND ",
            $grant,
            ".end_day >= ",
            $day,
            ")"
        )
    };
}

impl Role {
    /// The role a caller asks for by name, or a field error on `role`.
    pub fn parse(text: &str) -> Result<Role, FieldError> {
        Role::from_sql(text).ok_or_else(|| FieldError::new("role", Problem::BadFormat))
    }
}

/// R3: managers per certificate.
pub const MAX_MANAGERS: i64 = 3;
/// R5: life of a face-to-face authorization code, in minutes.
pub const AUTHORIZE_MINUTES: i64 = 5;
/// Wrong name / ID number entries a claim or face-to-face code takes before it is void.
pub const IDENTITY_TRIES: i64 = 5;

/// A matter of the authority's catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatterView {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
}

/// What a manager asks for when granting (R6).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantInput {
    pub matter_ids: Vec<String>,
    /// `YYYY-MM-DD`, China Standard Time, inclusive.
    pub start_day: String,
    pub end_day: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    pub id: String,
    pub matters: Vec<MatterView>,
    pub start_day: String,
    pub end_day: String,
    pub status: GrantStatus,
    /// Active and inside its period today (R6).
    pub effective: bool,
}

/// A person's role in a certificate as a dashboard caller may see it (R7), masked (R16).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderView {
    pub id: String,
    pub role: Role,
    pub name: String,
    pub id_number: String,
    pub mobile: String,
    pub status: HolderStatus,
    pub granted_by: Option<String>,
    pub created_at: i64,
    pub grants: Vec<GrantView>,
}

/// What the wallet shows before the person confirms a claim or an authorization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub institution_name: String,
    pub credit_code: String,
    pub role: Role,
    pub holder_name: String,
    pub expires_at: i64,
}

/// The binding a device now holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub device_id: String,
    pub holder_id: String,
    pub certificate_id: String,
    pub role: Role,
    pub institution_name: String,
    pub credit_code: String,
    pub serial: String,
    pub holder_name: String,
}

/// A change record as a dashboard caller may see it (R7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeView {
    pub kind: crate::changes::ChangeKind,
    pub actor_kind: String,
    pub subject_id: Option<String>,
    pub at: i64,
}

/// A signed-in holder (a dashboard session or a device approval): whose role, in which certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub holder_id: String,
    pub certificate_id: String,
    pub role: Role,
    pub authority_id: String,
}

/// A holder of the caller's certificate as the R7 and R8 rules see it. `role` is `None` for
/// a record whose subject is not a holder.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    pub id: &'a str,
    pub role: Option<Role>,
    pub granted_by: Option<&'a str>,
}

impl Caller {
    pub fn is_first_manager(&self) -> bool {
        self.role == Role::FirstManager
    }

    /// R7: the first manager sees everyone of the certificate, a manager itself and the users it
    /// authorized, a user itself. The certificate is the caller's to check.
    pub fn sees(&self, subject: &Subject<'_>) -> bool {
        self.is_first_manager() || subject.id == self.holder_id || self.authorized(subject)
    }

    /// R8: the first manager manages every manager and user, a manager the users it authorized;
    /// nobody manages the first manager.
    pub fn manages(&self, subject: &Subject<'_>) -> bool {
        subject.role != Some(Role::FirstManager) && (self.is_first_manager() || self.authorized(subject))
    }

    /// A user that this caller, a manager, authorized.
    fn authorized(&self, subject: &Subject<'_>) -> bool {
        self.role == Role::Manager
            && subject.role == Some(Role::User)
            && subject.granted_by == Some(self.holder_id.as_str())
    }
}

/// R6: a period of at least 1 day and at most 1 year, start to end inclusive, not starting in
/// the past. `today` is the China Standard Time date (days since 1970-01-01).
pub fn check_period(start: &str, end: &str, today: i64) -> Result<(i64, i64), Vec<FieldError>> {
    let mut errors = Vec::new();
    let s = time::parse_day(start);
    let e = time::parse_day(end);
    if s.is_none() {
        errors.push(FieldError::new(
            "start_day",
            if start.trim().is_empty() { Problem::Required } else { Problem::BadFormat },
        ));
    }
    if e.is_none() {
        errors.push(FieldError::new(
            "end_day",
            if end.trim().is_empty() { Problem::Required } else { Problem::BadFormat },
        ));
    }
    let (Some(s), Some(e)) = (s, e) else { return Err(errors) };
    if s < today {
        errors.push(FieldError::new("start_day", Problem::OutOfRange));
    }
    if e < s || e >= time::one_year_after(s) {
        errors.push(FieldError::new("period", Problem::OutOfRange));
    }
    if errors.is_empty() { Ok((s, e)) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> i64 {
        time::parse_day(s).unwrap()
    }

    #[test]
    fn r6_period_is_one_day_to_one_year_inclusive() {
        let today = day("2026-03-01");
        assert!(check_period("2026-03-01", "2026-03-01", today).is_ok(), "one day");
        assert!(check_period("2026-03-01", "2027-02-28", today).is_ok(), "a full year");
        assert!(check_period("2026-03-01", "2027-03-01", today).is_err(), "a year and a day");
        assert!(check_period("2026-03-02", "2026-03-01", today).is_err(), "ends before it starts");
        assert!(check_period("2026-02-28", "2026-03-05", today).is_err(), "starts in the past");
        assert!(check_period("2026-02-30", "2026-03-05", today).is_err(), "not a date");
        assert!(check_period("", "", today).unwrap_err().len() == 2);
    }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use std::collections::HashMap;

    use super::*;
    use crate::certificate::PersonInput;
    use crate::code::{self, CodeKind};
    use crate::device;
    use crate::error::{DomainError, Result};
    use crate::identity::IdentityVerifier;
    use crate::mask;
    use crate::records::{self, Actor, ChangeKind};
    use crate::seal::{Field, Vault};
    use crate::secret::{Random, Secret};
    use crate::store::{Db, Tx};
    use crate::time::Millis;
    use crate::validate::{self, Checks};
    use crate::{on_db, on_tx};

    #[derive(Clone, Debug, sqlx::FromRow)]
    struct HolderRow {
        id: String,
        certificate_id: String,
        role: Role,
        name: String,
        id_number: String,
        mobile: String,
        status: HolderStatus,
        granted_by: Option<String>,
        created_at: i64,
    }

    const HOLDER_COLUMNS: &str = "id, certificate_id, role, name, id_number, mobile, status, granted_by, created_at";

    impl HolderRow {
        /// The row with its sealed personal fields opened (R16).
        fn opened(mut self, vault: &Vault) -> Result<HolderRow> {
            self.id_number = vault.open(Field::IdNumber, &self.id_number)?;
            self.mobile = vault.open(Field::Mobile, &self.mobile)?;
            Ok(self)
        }
    }

    impl HolderRow {
        fn subject(&self) -> Subject<'_> {
            Subject { id: &self.id, role: Some(self.role), granted_by: self.granted_by.as_deref() }
        }
    }

    /// R7: may `caller` see `target`?
    fn may_see(caller: &Caller, target: &HolderRow) -> bool {
        target.certificate_id == caller.certificate_id && caller.sees(&target.subject())
    }

    /// R8: may `caller` manage (remove, re-authorize, grant to) `target`?
    fn may_manage(caller: &Caller, target: &HolderRow) -> bool {
        target.certificate_id == caller.certificate_id && caller.manages(&target.subject())
    }

    async fn holder_row(tx: &mut Tx, holder_id: &str) -> Result<HolderRow> {
        let sql = format!("SELECT {HOLDER_COLUMNS} FROM holder WHERE id = $1");
        let row: Option<HolderRow> = on_tx!(tx, |c| sqlx::query_as(&sql).bind(holder_id).fetch_optional(c).await)?;
        row.ok_or(DomainError::NotFound)?.opened(tx.vault())
    }

    /// Locks the live certificate for a read-then-write rule (R3) and returns its authority.
    async fn lock_certificate(tx: &mut Tx, certificate_id: &str) -> Result<String> {
        let sql = format!(
            "SELECT i.authority_id FROM certificate c JOIN institution i ON i.id = c.institution_id \
             WHERE c.id = $1 AND c.status = 'active'{}",
            tx.for_update().replace("FOR UPDATE", "FOR UPDATE OF c")
        );
        let row: Option<String> =
            on_tx!(tx, |c| sqlx::query_scalar(&sql).bind(certificate_id).fetch_optional(c).await)?;
        row.ok_or_else(|| DomainError::Revoked.into())
    }

    /// The authority's active matters.
    pub async fn catalogue(db: &Db, authority_id: &str) -> Result<Vec<MatterView>> {
        let rows: Vec<(String, String, String)> = on_db!(db, |c| {
            sqlx::query_as(
            "SELECT id, name_zh, name_en FROM matter WHERE authority_id = $1 AND status = 'active' ORDER BY created_at, id"
        )
        .bind(authority_id)
        .fetch_all(c)
        .await
        })?;
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
            on_tx!(tx, |c| {
                sqlx::query(
                "INSERT INTO matter (id, authority_id, name_zh, name_en, status, created_at) VALUES ($1, $2, $3, $4, 'active', $5)"
            )
            .bind(format!("{authority_id}-{slug}"))
            .bind(authority_id)
            .bind(zh)
            .bind(en)
            .bind(now.0 + i as i64)
            .execute(c)
            .await
            .map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// A face-to-face authorization code to show as a QR (R5).
    #[derive(Debug)]
    pub struct AuthorizeCode {
        pub holder_id: String,
        pub code: Secret,
        pub expires_at: Millis,
    }

    struct CheckedGrant {
        matter_ids: Vec<String>,
        start_day: String,
        end_day: String,
    }

    async fn check_grant(
        tx: &mut Tx,
        authority_id: &str,
        grant: &GrantInput,
        now: Millis,
    ) -> Result<CheckedGrant, DomainError> {
        let mut errors = Vec::new();
        let mut ids: Vec<String> =
            grant.matter_ids.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        ids.sort();
        ids.dedup();
        if ids.is_empty() {
            errors.push(FieldError::new("matters", Problem::Required));
        } else if ids.len() > 50 {
            errors.push(FieldError::new("matters", Problem::TooLong { max: 50 }));
        } else {
            for id in &ids {
                let known: Option<String> = on_tx!(tx, |c| sqlx::query_scalar(
                    "SELECT id FROM matter WHERE id = $1 AND authority_id = $2 AND status = 'active'"
                )
                .bind(id)
                .bind(authority_id)
                .fetch_optional(c)
                .await)
                .map_err(|_| DomainError::field("matters", Problem::BadFormat))?;
                if known.is_none() {
                    errors.push(FieldError::new("matters", Problem::BadFormat));
                    break;
                }
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

    async fn insert_grant(
        tx: &mut Tx,
        holder_id: &str,
        granted_by: &str,
        grant: &CheckedGrant,
        now: Millis,
        random: &Random,
    ) -> Result<String> {
        let id = random.id();
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO holder_grant (id, holder_id, start_day, end_day, status, granted_by, created_at) \
             VALUES ($1, $2, $3, $4, 'active', $5, $6)"
        )
        .bind(&id)
        .bind(holder_id)
        .bind(&grant.start_day)
        .bind(&grant.end_day)
        .bind(granted_by)
        .bind(now.0)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        for matter in &grant.matter_ids {
            on_tx!(tx, |c| sqlx::query("INSERT INTO grant_matter (grant_id, matter_id) VALUES ($1, $2)")
                .bind(&id)
                .bind(matter)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(id)
    }

    /// R3/R4/R6: adds a manager (first manager only; at most 3, also under concurrent requests)
    /// or a user with a first grant (first manager or manager). The identity is checked before
    /// anything is saved; the role stays pending until the person accepts it face to face.
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
        match role {
            Role::Manager if caller.is_first_manager() => {}
            Role::User if caller.role != Role::User => {}
            Role::Manager | Role::User => return Err(DomainError::Forbidden.into()),
            // The first manager is named by staff when they issue the certificate (R1).
            Role::FirstManager => return Err(DomainError::field("role", Problem::BadFormat).into()),
        }
        let mut checks = Checks::new();
        let crate::certificate::Person { name, id_number, mobile } =
            crate::certificate::check_person(&mut checks, "", person);
        checks.finish()?;
        identity.verify("id_number", &name, &id_number).await?;

        let mut tx = db.begin_write().await?;
        let authority_id = lock_certificate(&mut tx, &caller.certificate_id).await?;
        let grant = match (role, grant) {
            (Role::User, Some(g)) => Some(check_grant(&mut tx, &authority_id, g, now).await?),
            (Role::User, None) => return Err(DomainError::field("matters", Problem::Required).into()),
            _ => None,
        };
        // Sealed values differ each time, so the certificate's holders are opened and compared.
        let sealed: Vec<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT id_number FROM holder WHERE certificate_id = $1 AND status <> 'removed'"
        )
        .bind(&caller.certificate_id)
        .fetch_all(c)
        .await)?;
        let mut same_person = false;
        for s in &sealed {
            same_person |= tx.vault().matches(Field::IdNumber, s, &id_number)?;
        }
        if same_person {
            return Err(DomainError::AlreadyExists { field: "id_number".into() }.into());
        }
        if role == Role::Manager {
            let managers: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
                "SELECT COUNT(*) FROM holder WHERE certificate_id = $1 AND role = 'manager' AND status <> 'removed'"
            )
            .bind(&caller.certificate_id)
            .fetch_one(c)
            .await)?;
            if managers >= MAX_MANAGERS {
                return Err(DomainError::TooManyManagers.into());
            }
        }
        let holder_id = random.id();
        let sealed_id_number = tx.vault().seal(Field::IdNumber, &id_number);
        let sealed_mobile = tx.vault().seal(Field::Mobile, &mobile);
        on_tx!(&mut tx, |c| {
            sqlx::query(
            "INSERT INTO holder (id, certificate_id, role, name, id_number, mobile, is_legal_rep, granted_by, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9)"
        )
        .bind(&holder_id)
        .bind(&caller.certificate_id)
        .bind(role)
        .bind(&name)
        .bind(&sealed_id_number)
        .bind(&sealed_mobile)
        .bind(false)
        .bind(&caller.holder_id)
        .bind(now.0)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
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

    /// R5: a fresh face-to-face code for a pending role; earlier ones stop working.
    pub async fn authorize_code(
        db: &Db,
        caller: &Caller,
        holder_id: &str,
        now: Millis,
        random: &Random,
    ) -> Result<AuthorizeCode> {
        let mut tx = db.begin_write().await?;
        lock_certificate(&mut tx, &caller.certificate_id).await?;
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

    /// Looks at a claim or authorization code without using it.
    pub async fn offer(db: &Db, kind: CodeKind, code: &str, now: Millis) -> Result<Offer> {
        let hash = crate::secret::token_hash(code.trim());
        let row: Option<(String, String, Role, String, i64, Option<i64>, Option<i64>, HolderStatus)> = on_db!(
            db,
            |c| {
                sqlx::query_as(
            "SELECT i.name, i.credit_code, h.role, h.name, o.expires_at, o.used_at, o.voided_at, h.status \
             FROM one_time_code o JOIN holder h ON h.id = o.holder_id JOIN certificate c ON c.id = o.certificate_id \
             JOIN institution i ON i.id = c.institution_id WHERE o.code_hash = $1 AND o.kind = $2 AND c.status = 'active'"
        )
        .bind(&hash)
        .bind(kind.as_str())
        .fetch_optional(c)
        .await
            }
        )?;
        let Some((institution_name, credit_code, role, name, expires_at, used_at, voided_at, status)) = row else {
            return Err(DomainError::CodeInvalid.into());
        };
        if used_at.is_some() {
            return Err(DomainError::CodeUsed.into());
        }
        if voided_at.is_some() || status != HolderStatus::Pending {
            return Err(DomainError::CodeInvalid.into());
        }
        if expires_at <= now.0 {
            return Err(DomainError::CodeExpired.into());
        }
        Ok(Offer { institution_name, credit_code, role, holder_name: mask::person_name(&name), expires_at })
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
    /// their own device, confirms their name and ID number, sets the certificate password, and
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
        let mut checks = Checks::new();
        let name = checks.take(validate::person_name("person_name", &input.name));
        let id_number = checks.take(validate::resident_id("id_number", &input.id_number));
        checks.take(device::check_new_password("certificate_password", input.password.expose()));
        checks.take(
            device::parse_public_key(&input.public_key)
                .map(|_| ())
                .map_err(|_| FieldError::new("public_key", Problem::BadFormat)),
        );
        checks.finish()?;
        let action = if kind == CodeKind::Claim { device::action::CLAIM } else { device::action::ACCEPT };
        device::verify(&input.public_key, &device::message(action, code.trim()), &input.signature)?;
        // Hashed before the write transaction: argon2 must not run under the SQLite write lock.
        let password_hash = crate::secret::hash_password(input.password.clone(), random).await?;

        let mut tx = db.begin_write().await?;
        let redeemed = code::redeem(&mut tx, kind, code, now).await?;
        let holder_id = redeemed.holder_id.ok_or(DomainError::CodeInvalid)?;
        lock_certificate(&mut tx, &redeemed.certificate_id).await?;
        let holder = holder_row(&mut tx, &holder_id).await?;
        if holder.status != HolderStatus::Pending {
            return Err(DomainError::CodeInvalid.into());
        }
        let expected_role = kind == CodeKind::Claim;
        if expected_role != (holder.role == Role::FirstManager) {
            return Err(DomainError::CodeInvalid.into());
        }
        if !crate::secret::constant_time_eq(&holder.name, &name)
            || !crate::secret::constant_time_eq(&holder.id_number, &id_number)
        {
            drop(tx);
            count_identity_miss(db, code, now).await?;
            return Err(DomainError::IdentityMismatch.into());
        }
        let device_id = device::bind(&mut tx, &holder_id, &input.public_key, &password_hash, now, random).await?;
        on_tx!(&mut tx, |c| sqlx::query("UPDATE holder SET status = 'active' WHERE id = $1")
            .bind(&holder_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        let change = match holder.role {
            Role::FirstManager => ChangeKind::Claimed,
            Role::Manager => ChangeKind::ManagerAccepted,
            Role::User => ChangeKind::UserAccepted,
        };
        records::change(
            &mut tx,
            &holder.certificate_id,
            change,
            Actor::Holder(&holder_id),
            Some(&holder_id),
            now,
            random,
        )
        .await?;
        let (institution_name, credit_code, serial): (String, String, String) = on_tx!(&mut tx, |c| {
            sqlx::query_as(
            "SELECT i.name, i.credit_code, c.serial FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1"
        )
        .bind(&holder.certificate_id)
        .fetch_one(c)
        .await
        })?;
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
    async fn count_identity_miss(db: &Db, code: &str, now: Millis) -> Result<()> {
        on_db!(db, |c| sqlx::query(
            "UPDATE one_time_code SET failed_attempts = failed_attempts + 1, \
             voided_at = CASE WHEN failed_attempts + 1 >= $1 THEN $2 ELSE voided_at END WHERE code_hash = $3"
        )
        .bind(IDENTITY_TRIES)
        .bind(now.0)
        .bind(crate::secret::token_hash(code.trim()))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn grants_of(db: &Db, holder_ids: &[String], now: Millis) -> Result<HashMap<String, Vec<GrantView>>> {
        let mut out: HashMap<String, Vec<GrantView>> = HashMap::new();
        let today = time::format_day(time::today_cst(now));
        for holder_id in holder_ids {
            let rows: Vec<(String, String, String, GrantStatus, String, String, String)> =
                on_db!(db, |c| sqlx::query_as(
                    "SELECT g.id, g.start_day, g.end_day, g.status, m.id, m.name_zh, m.name_en FROM holder_grant g \
                 JOIN grant_matter gm ON gm.grant_id = g.id JOIN matter m ON m.id = gm.matter_id \
                 WHERE g.holder_id = $1 ORDER BY g.created_at, g.id, m.created_at"
                )
                .bind(holder_id)
                .fetch_all(c)
                .await)?;
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

    /// R7: the holders `caller` may see (removed ones excluded), first manager first, with grants.
    pub async fn list(db: &Db, caller: &Caller, now: Millis) -> Result<Vec<HolderView>> {
        let sql = format!(
            "SELECT {HOLDER_COLUMNS} FROM holder WHERE certificate_id = $1 AND status <> 'removed' \
             ORDER BY CASE role WHEN 'first_manager' THEN 0 WHEN 'manager' THEN 1 ELSE 2 END, created_at, id"
        );
        let rows: Vec<HolderRow> =
            on_db!(db, |c| sqlx::query_as(&sql).bind(&caller.certificate_id).fetch_all(c).await)?;
        let rows = rows.into_iter().filter(|r| may_see(caller, r)).map(|r| r.opened(db.vault()));
        views(db, rows.collect::<Result<_>>()?, now).await
    }

    /// The caller itself (R7: what a user may see, and what the wallet shows of any holder).
    pub async fn me(db: &Db, caller: &Caller, now: Millis) -> Result<HolderView> {
        let sql = format!("SELECT {HOLDER_COLUMNS} FROM holder WHERE id = $1 AND status = 'active'");
        let row: Option<HolderRow> =
            on_db!(db, |c| sqlx::query_as(&sql).bind(&caller.holder_id).fetch_optional(c).await)?;
        let row = row.ok_or(DomainError::Revoked)?.opened(db.vault())?;
        views(db, vec![row], now).await?.pop().ok_or_else(|| DomainError::Revoked.into())
    }

    /// Masked views (R16) of holder rows, with their grants.
    async fn views(db: &Db, rows: Vec<HolderRow>, now: Millis) -> Result<Vec<HolderView>> {
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
            })
            .collect())
    }

    /// Removes one holder's role, device binding and grants (no permission check; see [`remove`]).
    pub(crate) async fn remove_one(tx: &mut Tx, holder_id: &str, now: Millis) -> Result<()> {
        on_tx!(tx, |c| sqlx::query("UPDATE holder SET status = 'removed' WHERE id = $1 AND status <> 'removed'")
            .bind(holder_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.stamp(
            "UPDATE holder_grant SET status = 'cancelled', cancelled_at = $1 WHERE holder_id = $2 AND status = 'active'",
            now,
            holder_id,
        )
        .await?;
        tx.stamp(
            "UPDATE one_time_code SET voided_at = $1 WHERE holder_id = $2 AND used_at IS NULL AND voided_at IS NULL",
            now,
            holder_id,
        )
        .await?;
        device::void_for_holder(tx, holder_id, now).await
    }

    /// R8: the first manager removes any manager or user; a manager only users it authorized.
    /// Removing a manager removes the users it authorized and their grants. Device bindings and
    /// sessions of everyone removed stop working at once.
    pub async fn remove(db: &Db, caller: &Caller, holder_id: &str, now: Millis, random: &Random) -> Result<()> {
        let mut tx = db.begin_write().await?;
        lock_certificate(&mut tx, &caller.certificate_id).await?;
        let target = holder_row(&mut tx, holder_id).await?;
        if !may_see(caller, &target) || target.status == HolderStatus::Removed {
            return Err(DomainError::NotFound.into());
        }
        if !may_manage(caller, &target) {
            return Err(DomainError::Forbidden.into());
        }
        remove_one(&mut tx, holder_id, now).await?;
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
            let users: Vec<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(
                "SELECT id FROM holder WHERE granted_by = $1 AND role = 'user' AND status <> 'removed'"
            )
            .bind(holder_id)
            .fetch_all(c)
            .await)?;
            for user in users {
                remove_one(&mut tx, &user, now).await?;
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
        let authority_id = lock_certificate(&mut tx, &caller.certificate_id).await?;
        let target = holder_row(&mut tx, holder_id).await?;
        if !may_see(caller, &target) || target.status == HolderStatus::Removed {
            return Err(DomainError::NotFound.into());
        }
        if !may_manage(caller, &target) || target.role != Role::User {
            return Err(DomainError::Forbidden.into());
        }
        let checked = check_grant(&mut tx, &authority_id, grant, now).await?;
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
        lock_certificate(&mut tx, &caller.certificate_id).await?;
        let holder_id: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT holder_id FROM holder_grant WHERE id = $1 AND status = 'active'"
        )
        .bind(grant_id)
        .fetch_optional(c)
        .await)?;
        let holder_id = holder_id.ok_or(DomainError::NotFound)?;
        let target = holder_row(&mut tx, &holder_id).await?;
        if !may_see(caller, &target) {
            return Err(DomainError::NotFound.into());
        }
        if !may_manage(caller, &target) {
            return Err(DomainError::Forbidden.into());
        }
        tx.stamp("UPDATE holder_grant SET status = 'cancelled', cancelled_at = $1 WHERE id = $2", now, grant_id)
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

    /// R7: the first manager sees every change record; a manager those about itself and the users
    /// it authorized; a user those about itself. Newest first.
    pub async fn changes(db: &Db, caller: &Caller, limit: i64) -> Result<Vec<ChangeView>> {
        let rows: Vec<(ChangeKind, String, Option<String>, i64, Option<Role>, Option<String>)> =
            on_db!(db, |c| sqlx::query_as(
                "SELECT r.kind, r.actor_kind, r.subject_id, r.at, h.role, h.granted_by FROM change_record r \
             LEFT JOIN holder h ON h.id = r.subject_id WHERE r.certificate_id = $1 ORDER BY r.at DESC, r.id LIMIT $2"
            )
            .bind(&caller.certificate_id)
            .bind(limit.clamp(1, 500))
            .fetch_all(c)
            .await)?;
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
    pub async fn certificate_summary(db: &Db, caller: &Caller) -> Result<(String, String, String)> {
        Ok(on_db!(db, |c| {
            sqlx::query_as(
            "SELECT i.name, i.credit_code, c.serial FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1"
        )
        .bind(&caller.certificate_id)
        .fetch_one(c)
        .await
        })?)
    }

    /// A device's caller identity, from a live binding.
    pub async fn caller_of(db: &Db, bound: &device::Bound) -> Result<Caller> {
        let authority_id: String = on_db!(db, |c| sqlx::query_scalar(
            "SELECT i.authority_id FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1"
        )
        .bind(&bound.certificate_id)
        .fetch_one(c)
        .await)?;
        Ok(Caller {
            holder_id: bound.holder_id.clone(),
            certificate_id: bound.certificate_id.clone(),
            role: bound.role.clone(),
            authority_id,
        })
    }
}
