//! Registration-authority staff: sign-in with lockout, and browser sessions.
//!
//! Passwords are argon2id hashes; five wrong passwords in a row lock the account for fifteen
//! minutes. Session tokens are 256-bit random values kept only as SHA-256 hashes.

use serde::{Deserialize, Serialize};

use crate::authority::Level;
use crate::i18n::Lang;

/// A signed-in staff member, as pages see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub duties: Duties,
    pub authority_id: String,
    pub authority_name: String,
    pub authority_level: Level,
    /// The authority's division code (GB/T 2260).
    pub authority_region: String,
}

/// One kind of staff work (R22).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Duty {
    /// Staff, the matters catalogue, relying parties, the authorities below.
    Administer,
    /// Issuing certificates and recording their changes.
    Operate,
    /// Reading the lists, statistics and records, and exporting them.
    Audit,
}

/// What a staff member may do. An auditor holds no other duty: who checks the work does not do
/// it. The first administrator of a new installation operates too, so that it can issue at once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duties {
    pub administer: bool,
    pub operate: bool,
    pub audit: bool,
}

impl Duties {
    pub fn has(self, duty: Duty) -> bool {
        match duty {
            Duty::Administer => self.administer,
            Duty::Operate => self.operate,
            Duty::Audit => self.audit,
        }
    }

    /// At least one duty, and an auditor's alone.
    pub fn is_valid(self) -> bool {
        (self.administer || self.operate || self.audit) && !(self.audit && (self.administer || self.operate))
    }

    /// Duties as a page names them: `administrator`, `operator`, `auditor`, space-separated.
    pub fn parse(text: &str) -> Option<Duties> {
        let mut d = Duties::default();
        for word in text.split([' ', ',', '+']).filter(|w| !w.is_empty()) {
            match word {
                "administrator" => d.administer = true,
                "operator" => d.operate = true,
                "auditor" => d.audit = true,
                _ => return None,
            }
        }
        d.is_valid().then_some(d)
    }

    pub fn label(self, lang: Lang) -> String {
        let mut names = Vec::new();
        if self.administer {
            names.push(lang.pick("管理员", "Administrator"));
        }
        if self.operate {
            names.push(lang.pick("业务员", "Operator"));
        }
        if self.audit {
            names.push(lang.pick("审计员", "Auditor"));
        }
        names.join(lang.pick("、", ", "))
    }
}

/// A staff member as their administrator sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub duties: Duties,
    pub disabled: bool,
    pub locked: bool,
    pub created_at: i64,
}

/// What an administrator fills in to add a staff member.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMember {
    pub username: String,
    pub display_name: String,
    pub duties: Duties,
}

/// One line of the staff action log (R22).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionView {
    pub at: i64,
    /// The staff member's user name; empty for the command line.
    pub username: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub detail: String,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;

    use crate::error::{DomainError, FieldError, Problem, Result};
    use crate::secret::{self, Random, Secret};
    use crate::store::{Db, Tx, query};
    use crate::time::Millis;
    use crate::validate::{self, Checks};

    pub const MAX_FAILED_ATTEMPTS: i64 = 5;
    pub const LOCKOUT_MINUTES: i64 = 15;
    pub const SESSION_HOURS: i64 = 8;

    /// The statement that counts a wrong password of a row of `table` (`$1` its id) whose count
    /// of wrong passwords in a row is `column`: with `$2` of them the row locks until `$4`. A
    /// lock that has run out (before `$3`, now) starts the count again, so one wrong try after
    /// a lockout is one try, not a lockout again (issue 14 §4). Staff and counters share it.
    pub(crate) fn count_failure_sql(table: &str, column: &str) -> String {
        let ran_out = "locked_until IS NOT NULL AND locked_until <= $3";
        let count = format!("CASE WHEN {ran_out} THEN 1 ELSE {column} + 1 END");
        format!(
            "UPDATE {table} SET {column} = {count}, \
             locked_until = CASE WHEN {count} >= $2 THEN $4 WHEN {ran_out} THEN NULL ELSE locked_until END \
             WHERE id = $1"
        )
    }

    struct Credentials {
        id: String,
        password_hash: String,
        locked_until: Option<i64>,
    }
    crate::store::from_row!(Credentials { id, password_hash, locked_until });

    /// A new session: the token goes into the cookie, and is stored nowhere.
    #[derive(Debug)]
    pub struct NewSession {
        pub token: Secret,
        pub expires_at: Millis,
    }

    pub async fn sign_in(
        db: &Db,
        username: &str,
        password: Secret,
        now: Millis,
        random: &Random,
    ) -> Result<NewSession> {
        let username = username.trim();
        let row: Option<Credentials> = db
            .fetch_optional(
                query("SELECT id, password_hash, locked_until FROM staff WHERE username = $1 AND disabled_at IS NULL")
                    .bind(username),
            )
            .await?;
        // A disabled member is answered like an unknown name, at the same cost.
        let Some(row) = row else {
            secret::verify_password(password, secret::dummy_hash(random).await).await;
            return Err(DomainError::InvalidCredentials.into());
        };
        if row.locked_until.is_some_and(|u| u > now.0) {
            return Err(DomainError::AccountLocked.into());
        }
        if !secret::verify_password(password, row.password_hash).await {
            // One statement, so concurrent wrong attempts are all counted.
            db.execute(
                query(count_failure_sql("staff", "failed_attempts"))
                    .bind(&row.id)
                    .bind(MAX_FAILED_ATTEMPTS)
                    .bind(now.0)
                    .bind(now.plus_minutes(LOCKOUT_MINUTES).0),
            )
            .await?;
            return Err(DomainError::InvalidCredentials.into());
        }
        // Reset the counter only if no concurrent failure locked the account meanwhile.
        let reset = db.execute(query("UPDATE staff SET failed_attempts = 0, locked_until = NULL WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)").bind(&row.id).bind(now.0)).await?;
        if reset == 0 {
            return Err(DomainError::AccountLocked.into());
        }
        let token = random.token();
        let expires_at = now.plus_minutes(SESSION_HOURS * 60);
        db.execute(
            query("INSERT INTO staff_session (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(secret::token_hash(token.expose()))
                .bind(&row.id)
                .bind(now.0)
                .bind(expires_at.0),
        )
        .await?;
        Ok(NewSession { token, expires_at })
    }

    /// Unlocks a staff member after too many wrong passwords (the operator's command
    /// `ecert-server staff unlock`): the count starts again. False when nobody has that name.
    pub async fn unlock(db: &Db, username: &str) -> Result<bool> {
        let sql = "UPDATE staff SET failed_attempts = 0, locked_until = NULL WHERE username = $1";
        Ok(db.execute(query(sql).bind(username.trim())).await? > 0)
    }

    struct StaffRow {
        id: String,
        username: String,
        display_name: String,
        is_admin: bool,
        is_operator: bool,
        is_auditor: bool,
        authority_id: String,
        authority_name: String,
        authority_region: String,
    }
    crate::store::from_row!(StaffRow {
        id,
        username,
        display_name,
        is_admin,
        is_operator,
        is_auditor,
        authority_id,
        authority_name,
        authority_region
    });

    /// The staff member a session token belongs to, if the session is live and the member not
    /// disabled.
    pub async fn current(db: &Db, token: &str, now: Millis) -> Result<Option<StaffView>> {
        let row: Option<StaffRow> = db
            .fetch_optional(
                query(
                    "SELECT s.id, s.username, s.display_name, s.is_admin, s.is_operator, s.is_auditor, s.authority_id, \
             a.name AS authority_name, a.region_code AS authority_region \
             FROM staff_session ss JOIN staff s ON s.id = ss.staff_id JOIN authority a ON a.id = s.authority_id \
             WHERE ss.token_hash = $1 AND ss.expires_at > $2 AND s.disabled_at IS NULL",
                )
                .bind(secret::token_hash(token))
                .bind(now.0),
            )
            .await?;
        Ok(row.map(|r| StaffView {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            duties: Duties { administer: r.is_admin, operate: r.is_operator, audit: r.is_auditor },
            authority_id: r.authority_id,
            authority_name: r.authority_name,
            authority_level: Level::of_region(&r.authority_region),
            authority_region: r.authority_region,
        }))
    }

    /// Ends a session; signing out twice is harmless.
    pub async fn sign_out(db: &Db, token: &str) -> Result<()> {
        db.execute(query("DELETE FROM staff_session WHERE token_hash = $1").bind(secret::token_hash(token))).await?;
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // Duties, the action log and staff administration (issue 15 §1, R22)

    /// Inside a write: `staff` is still enabled, still of their authority and still holds
    /// `duty` (a member disabled or changed a moment ago writes nothing), with their row locked
    /// against a concurrent change. `Forbidden` otherwise.
    pub(crate) async fn on_duty(tx: &mut Tx, staff: &StaffView, duty: Duty) -> Result<()> {
        let row: Option<(bool, bool, bool)> = tx
            .fetch_optional(
                query(
                    "SELECT is_admin, is_operator, is_auditor FROM staff WHERE id = $1 AND authority_id = $2 \
                     AND disabled_at IS NULL",
                )
                .lock_rows()
                .bind(&staff.id)
                .bind(&staff.authority_id),
            )
            .await?;
        match row {
            Some((administer, operate, audit)) if Duties { administer, operate, audit }.has(duty) => Ok(()),
            _ => Err(DomainError::Forbidden.into()),
        }
    }

    /// Writes a line of the staff action log of `authority_id` inside the action's own
    /// transaction: who (`None`: the command line), what, on what.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record(
        tx: &mut Tx,
        by: Option<&StaffView>,
        authority_id: &str,
        action: &str,
        (target_kind, target_id): (&str, &str),
        detail: &str,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        tx.execute(
            query(
                "INSERT INTO staff_action (id, authority_id, staff_id, action, target_kind, target_id, detail, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(random.ordered_id(now))
            .bind(authority_id)
            .bind(by.map(|s| s.id.clone()))
            .bind(action)
            .bind(target_kind)
            .bind(target_id)
            .bind(detail.chars().take(500).collect::<String>())
            .bind(now.0),
        )
        .await?;
        Ok(())
    }

    /// Inserts a staff member; answers their id. A taken user name is `AlreadyExists`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert(
        tx: &mut Tx,
        authority_id: &str,
        username: &str,
        display_name: &str,
        password_hash: &str,
        duties: Duties,
        now: Millis,
        random: &Random,
    ) -> Result<String> {
        let taken: Option<String> =
            tx.fetch_optional(query("SELECT id FROM staff WHERE username = $1").bind(username)).await?;
        if taken.is_some() {
            return Err(DomainError::AlreadyExists { field: "username".into() }.into());
        }
        let id = random.id();
        let inserted = tx
            .execute(
                query(
                    "INSERT INTO staff (id, authority_id, username, display_name, password_hash, is_admin, is_operator, \
                     is_auditor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&id)
                .bind(authority_id)
                .bind(username)
                .bind(display_name)
                .bind(password_hash)
                .bind(duties.administer)
                .bind(duties.operate)
                .bind(duties.audit)
                .bind(now.0),
            )
            .await;
        match inserted {
            Err(e) if crate::store::is_unique_violation(&e) => {
                Err(DomainError::AlreadyExists { field: "username".into() }.into())
            }
            other => other.map(|_| id).map_err(Into::into),
        }
    }

    struct MemberRow {
        id: String,
        username: String,
        display_name: String,
        is_admin: bool,
        is_operator: bool,
        is_auditor: bool,
        disabled_at: Option<i64>,
        locked_until: Option<i64>,
        created_at: i64,
    }
    crate::store::from_row!(MemberRow {
        id,
        username,
        display_name,
        is_admin,
        is_operator,
        is_auditor,
        disabled_at,
        locked_until,
        created_at
    });

    /// The staff of the administrator's authority, by user name.
    pub async fn members(db: &Db, admin: &StaffView, now: Millis) -> Result<Vec<MemberView>> {
        if !admin.duties.administer {
            return Err(DomainError::Forbidden.into());
        }
        let rows: Vec<MemberRow> = db
            .fetch_all(
                query(
                    "SELECT id, username, display_name, is_admin, is_operator, is_auditor, disabled_at, locked_until, \
                     created_at FROM staff WHERE authority_id = $1 ORDER BY username",
                )
                .bind(&admin.authority_id),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| MemberView {
                id: r.id,
                username: r.username,
                display_name: r.display_name,
                duties: Duties { administer: r.is_admin, operate: r.is_operator, audit: r.is_auditor },
                disabled: r.disabled_at.is_some(),
                locked: r.locked_until.is_some_and(|u| u > now.0),
                created_at: r.created_at,
            })
            .collect())
    }

    /// A new member's checked names, and a generated password with its hash (made before any
    /// write transaction: argon2 must not run under SQLite's write lock).
    struct Prepared {
        username: String,
        display: String,
        password: Secret,
        hash: String,
    }

    async fn prepare(request: &NewMember, random: &Random) -> Result<Prepared> {
        let mut checks = Checks::new();
        let username = checks.take(validate::username("username", &request.username));
        let display = checks.take(validate::person_name("person_name", &request.display_name));
        if !request.duties.is_valid() {
            checks.take::<()>(Err(FieldError::new("duties", Problem::OutOfRange)));
        }
        checks.finish()?;
        let password = random.password();
        let hash = secret::hash_password(password.clone(), random).await?;
        Ok(Prepared { username, display, password, hash })
    }

    /// Adds a staff member to the administrator's authority; answers the generated password,
    /// shown once.
    pub async fn add(db: &Db, admin: &StaffView, request: &NewMember, now: Millis, random: &Random) -> Result<Secret> {
        // Refused before a password is hashed; the duty is read again inside the write.
        if !admin.duties.administer {
            return Err(DomainError::Forbidden.into());
        }
        let Prepared { username, display, password, hash } = prepare(request, random).await?;
        let mut tx = db.begin_write().await?;
        on_duty(&mut tx, admin, Duty::Administer).await?;
        let id = insert(&mut tx, &admin.authority_id, &username, &display, &hash, request.duties, now, random).await?;
        let detail = format!("{username} ({})", request.duties.label(Lang::Zh));
        record(&mut tx, Some(admin), &admin.authority_id, "staff_add", ("staff", &id), &detail, now, random).await?;
        tx.commit().await?;
        Ok(password)
    }

    /// A member of the administrator's own authority, other than the administrator, locked for
    /// the change; answers their user name. Both rows are locked first, in one order, so two
    /// administrators acting on each other at once wait instead of deadlocking.
    async fn other_member(tx: &mut Tx, admin: &StaffView, member_id: &str) -> Result<String> {
        // What the page says of the caller decides nothing, but may refuse early; `on_duty`
        // reads it again under the lock.
        if member_id == admin.id || !admin.duties.administer {
            return Err(DomainError::Forbidden.into());
        }
        let _: Vec<String> = tx
            .fetch_all(
                query("SELECT id FROM staff WHERE id IN ($1, $2) ORDER BY id")
                    .lock_rows()
                    .bind(&admin.id)
                    .bind(member_id),
            )
            .await?;
        let row: Option<String> = tx
            .fetch_optional(
                query("SELECT username FROM staff WHERE id = $1 AND authority_id = $2")
                    .lock_rows()
                    .bind(member_id)
                    .bind(&admin.authority_id),
            )
            .await?;
        row.ok_or_else(|| DomainError::NotFound.into())
    }

    /// Disables (their sessions end at once) or enables again a member of the administrator's
    /// authority. An administrator cannot disable themself.
    pub async fn set_disabled(
        db: &Db,
        admin: &StaffView,
        member_id: &str,
        disabled: bool,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        let mut tx = db.begin_write().await?;
        let username = other_member(&mut tx, admin, member_id).await?;
        on_duty(&mut tx, admin, Duty::Administer).await?;
        let set = if disabled { Some(now.0) } else { None };
        tx.execute(query("UPDATE staff SET disabled_at = $1 WHERE id = $2").bind(set).bind(member_id)).await?;
        if disabled {
            tx.execute(query("DELETE FROM staff_session WHERE staff_id = $1").bind(member_id)).await?;
        }
        let action = if disabled { "staff_disable" } else { "staff_enable" };
        record(&mut tx, Some(admin), &admin.authority_id, action, ("staff", member_id), &username, now, random).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives a member of the administrator's authority a new generated password, shown once:
    /// it also unlocks them, and their sessions end.
    pub async fn reset_password(
        db: &Db,
        admin: &StaffView,
        member_id: &str,
        now: Millis,
        random: &Random,
    ) -> Result<Secret> {
        if !admin.duties.administer {
            return Err(DomainError::Forbidden.into());
        }
        let password = random.password();
        let hash = secret::hash_password(password.clone(), random).await?;
        let mut tx = db.begin_write().await?;
        let username = other_member(&mut tx, admin, member_id).await?;
        on_duty(&mut tx, admin, Duty::Administer).await?;
        set_password(&mut tx, member_id, &hash).await?;
        record(&mut tx, Some(admin), &admin.authority_id, "staff_reset", ("staff", member_id), &username, now, random)
            .await?;
        tx.commit().await?;
        Ok(password)
    }

    async fn set_password(tx: &mut Tx, member_id: &str, hash: &str) -> Result<()> {
        tx.execute(
            query("UPDATE staff SET password_hash = $1, failed_attempts = 0, locked_until = NULL WHERE id = $2")
                .bind(hash)
                .bind(member_id),
        )
        .await?;
        tx.execute(query("DELETE FROM staff_session WHERE staff_id = $1").bind(member_id)).await?;
        Ok(())
    }

    /// Unlocks a member of the administrator's authority after too many wrong passwords.
    pub async fn unlock_member(
        db: &Db,
        admin: &StaffView,
        member_id: &str,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        let mut tx = db.begin_write().await?;
        let username = other_member(&mut tx, admin, member_id).await?;
        on_duty(&mut tx, admin, Duty::Administer).await?;
        tx.execute(query("UPDATE staff SET failed_attempts = 0, locked_until = NULL WHERE id = $1").bind(member_id))
            .await?;
        record(&mut tx, Some(admin), &admin.authority_id, "staff_unlock", ("staff", member_id), &username, now, random)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `ecert-server staff add`: a member of the authority coded `region`, from the command line
    /// (the first administrator of an authority made there); answers the generated password.
    pub async fn add_from_command_line(
        db: &Db,
        region: &str,
        request: &NewMember,
        now: Millis,
        random: &Random,
    ) -> Result<Secret> {
        let Prepared { username, display, password, hash } = prepare(request, random).await?;
        let mut tx = db.begin_write().await?;
        let authority: Option<String> =
            tx.fetch_optional(query("SELECT id FROM authority WHERE region_code = $1").bind(region.trim())).await?;
        let authority = authority.ok_or(DomainError::NotFound)?;
        let id = insert(&mut tx, &authority, &username, &display, &hash, request.duties, now, random).await?;
        let detail = format!("{username} ({})", request.duties.label(Lang::Zh));
        record(&mut tx, None, &authority, "staff_add", ("staff", &id), &detail, now, random).await?;
        tx.commit().await?;
        Ok(password)
    }

    /// `ecert-server staff reset`: a new generated password for `username` (unlocked, sessions
    /// ended), from the command line; `NotFound` for an unknown name.
    pub async fn reset_from_command_line(db: &Db, username: &str, now: Millis, random: &Random) -> Result<Secret> {
        let password = random.password();
        let hash = secret::hash_password(password.clone(), random).await?;
        let mut tx = db.begin_write().await?;
        let row: Option<(String, String)> = tx
            .fetch_optional(
                query("SELECT id, authority_id FROM staff WHERE username = $1").lock_rows().bind(username.trim()),
            )
            .await?;
        let (id, authority) = row.ok_or(DomainError::NotFound)?;
        set_password(&mut tx, &id, &hash).await?;
        record(&mut tx, None, &authority, "staff_reset", ("staff", &id), username.trim(), now, random).await?;
        tx.commit().await?;
        Ok(password)
    }

    struct ActionRow {
        at: i64,
        username: Option<String>,
        action: String,
        target_kind: String,
        target_id: String,
        detail: String,
    }
    crate::store::from_row!(ActionRow { at, username, action, target_kind, target_id, detail });

    /// The auditor's view of their authority's action log, newest first, `limit` lines from
    /// before `before` (a time, for paging), between `from` and `to` when given.
    pub async fn actions(
        db: &Db,
        auditor: &StaffView,
        range: (Option<i64>, Option<i64>),
        limit: i64,
    ) -> Result<Vec<ActionView>> {
        if !auditor.duties.audit {
            return Err(DomainError::Forbidden.into());
        }
        let (from, to) = (range.0.unwrap_or(0), range.1.unwrap_or(i64::MAX));
        let rows: Vec<ActionRow> = db
            .fetch_all(
                query(
                    "SELECT a.at, s.username, a.action, a.target_kind, a.target_id, a.detail FROM staff_action a \
                     LEFT JOIN staff s ON s.id = a.staff_id WHERE a.authority_id = $1 AND a.at >= $2 AND a.at < $3 \
                     ORDER BY a.at DESC, a.id DESC LIMIT $4",
                )
                .bind(&auditor.authority_id)
                .bind(from)
                .bind(to)
                .bind(limit.clamp(1, 10_000)),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ActionView {
                at: r.at,
                username: r.username.unwrap_or_default(),
                action: r.action,
                target_kind: r.target_kind,
                target_id: r.target_id,
                detail: r.detail,
            })
            .collect())
    }

    /// The action log between `from` and `to` as CSV (like the usage records' export), at most
    /// [`crate::usage::CSV_MAX`] lines.
    pub async fn actions_csv(db: &Db, auditor: &StaffView, range: (Option<i64>, Option<i64>)) -> Result<String> {
        let lines = actions(db, auditor, range, crate::usage::CSV_MAX).await?;
        let mut out = String::from("time_cst,username,action,target_kind,target_id,detail\r\n");
        for l in lines {
            let at = crate::time::format_cst(Millis(l.at));
            let cells = [at.as_str(), &l.username, &l.action, &l.target_kind, &l.target_id, &l.detail];
            out.push_str(&cells.iter().map(|c| crate::usage::csv_field(c)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        Ok(out)
    }
}
