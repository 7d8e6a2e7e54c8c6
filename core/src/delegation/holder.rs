//! Delegation (R3–R8): the first manager authorizes up to 3 managers; managers and the first
//! manager add users and grant them matters for a period; every role becomes effective only when
//! its person accepts it face to face on their own device; removal cascades and takes effect at
//! once. Visibility (R7) and removal rights (R8) are checked here, on every call, for every edge.
//!
//! Pure: this part must not touch storage; the use-cases are the server-only siblings `roles`,
//! `grants` and `views`.

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
    /// R6, R17: a grant with this status and period (`YYYY-MM-DD`, China Standard Time, ends
    /// included), `received` on the user's phone, is in force on `day`.
    pub fn in_force_on(self, received: bool, start_day: &str, end_day: &str, day: &str) -> bool {
        self == GrantStatus::Active && received && start_day <= day && day <= end_day
    }
}

/// R6 and R17 in SQL, beside its Rust form [`GrantStatus::in_force_on`]: the `holder_grant` row
/// named `$grant` was received on the user's phone and is in force on the `YYYY-MM-DD` day bound
/// to the parameter `$day`. A string literal, for `concat!`.
#[macro_export]
macro_rules! grant_in_force_sql {
    ($grant:literal, $day:literal) => {
        concat!(
            "(",
            $grant,
            ".status = 'active' AND ",
            $grant,
            ".received_at IS NOT NULL AND ",
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

    /// The role as people read it (seed 000's names).
    pub fn label(self, lang: crate::Lang) -> &'static str {
        match self {
            Role::FirstManager => lang.pick("第一管理责任人", "First manager"),
            Role::Manager => lang.pick("管理人", "Manager"),
            Role::User => lang.pick("使用人", "User"),
        }
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

impl GrantInput {
    /// Nothing asked for at all — no matter, no day: a user added with it gets no grant (R17).
    /// A grant half filled in is not empty, and is refused for what it lacks.
    pub fn is_empty(&self) -> bool {
        self.matter_ids.iter().all(|m| m.trim().is_empty())
            && self.start_day.trim().is_empty()
            && self.end_day.trim().is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    pub id: String,
    pub matters: Vec<MatterView>,
    pub start_day: String,
    pub end_day: String,
    pub status: GrantStatus,
    /// Active, received and inside its period today (R6, R17).
    pub effective: bool,
    /// R17: when the user scanned its grant QR (or took up the role it came with); `None` while
    /// it waits for that.
    pub received_at: Option<i64>,
    /// Who granted it (masked, R16) and when; when it was cancelled, if it was.
    pub granted_by_name: String,
    pub created_at: i64,
    pub cancelled_at: Option<i64>,
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
    /// A manager's right to authorize users (使用人授权), which the first manager gives or
    /// withdraws; always `true` for others.
    pub may_authorize: bool,
    pub grants: Vec<GrantView>,
}

/// R17: what a grant QR hands over, shown before the user receives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantOffer {
    pub institution_name: String,
    /// The certificate, so the wallet picks the card it belongs to.
    pub certificate_id: String,
    pub holder_name: String,
    pub matters: Vec<MatterView>,
    pub start_day: String,
    pub end_day: String,
    pub granted_by_name: String,
    pub expires_at: i64,
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

/// Issue 16 journey 4: the certificate as its holder reads it on the phone after the
/// certificate password — the institution as registered now (not as cached at claim), the
/// certificate's life, the holder's own role and grants, and the change records the holder may
/// see (R7). Readable after cancellation, deletion or lapse, for the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateFace {
    pub institution_name: String,
    pub credit_code: String,
    pub address: String,
    /// The legal representative's name, masked (R16).
    pub legal_rep_name: String,
    /// The registration authority that issued it.
    pub authority_name: String,
    pub serial: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub validity: crate::validity::Validity,
    pub status: crate::certificate::CertificateStatus,
    pub holder: HolderView,
    pub changes: Vec<ChangeView>,
}

/// Issue 16 journey 3: what the wallet's management panel shows — the manager's own holder id,
/// the holders it may see (R7) with their grants, and the authority's matters to grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManageView {
    pub me: String,
    pub holders: Vec<HolderView>,
    pub matters: Vec<MatterView>,
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
    /// How the caller came in; there is no third way, and no default that skips approvals.
    pub via: Via,
}

/// Where a caller's authority comes from (issue 14 §1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// A dashboard session: its writes that give, show or take a power each take a phone
    /// approval of that action (`login::approval`).
    Session(StepUp),
    /// The holder's own phone, its signature checked: it is the approval already.
    Phone(PhoneSigned),
}

/// Proof that a device signature was checked before a caller was made; only a live device
/// binding makes one (`views::caller_of`), so no other code can make a caller that skips
/// approvals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneSigned(());

impl PhoneSigned {
    #[cfg(feature = "server")]
    pub(crate) fn checked() -> Self {
        Self(())
    }
}

/// The dashboard session a caller came through, and the approval its current write brings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepUp {
    /// SHA-256 of the session token.
    pub session_hash: String,
    pub approval_id: Option<String>,
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
    /// The dashboard session the caller came through, if it came through one.
    pub fn step_up(&self) -> Option<&StepUp> {
        match &self.via {
            Via::Session(step_up) => Some(step_up),
            Via::Phone(_) => None,
        }
    }

    /// A session caller brings the phone approval `id` to its next write; a phone caller needs
    /// none and keeps none.
    pub fn bring_approval(&mut self, id: Option<String>) {
        if let Via::Session(step_up) = &mut self.via {
            step_up.approval_id = id;
        }
    }

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

    /// R7 in SQL, beside [`Caller::sees`]: the rows the caller sees, as a condition on a row's
    /// holder id column `id` and its `holder` row aliased `h`, with `$param` bound to the
    /// caller's holder id. `None` when the caller (the first manager) sees the whole certificate.
    pub fn sees_sql(&self, id: &str, h: &str, param: usize) -> Option<String> {
        match self.role {
            Role::FirstManager => None,
            Role::Manager => Some(format!(
                "({id} = ${param} OR ({h}.role = '{user}' AND {h}.granted_by = ${param}))",
                user = Role::User.as_sql()
            )),
            Role::User => Some(format!("{id} = ${param}")),
        }
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

#[cfg(feature = "server")]
pub use super::{face::*, grants::*, manage::*, roles::*, views::*};

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
