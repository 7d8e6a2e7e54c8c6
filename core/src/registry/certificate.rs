//! Issuing a certificate (journey 1 of the delegation issue): staff register an institution,
//! choose its first manager (R1) and issue the certificate with a claim code (R2).
//! Staff act only for institutions of their own authority (分级管理).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonInput {
    pub name: String,
    pub id_number: String,
    pub mobile: String,
}

/// R1: the legal representative, or one person the legal representative authorizes in writing (form 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FirstManagerChoice {
    LegalRepresentative,
    Delegate(PersonInput),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRequest {
    pub credit_code: String,
    pub name: String,
    pub address: String,
    pub legal_rep: PersonInput,
    pub first_manager: FirstManagerChoice,
    /// The papers the counter checked (form 1).
    #[serde(default)]
    pub checklist: Checklist,
}

/// The papers a counter checks before it issues (form 1, 申领表) or records a change of the
/// first manager (form 2): seed 000 asks the applicant to bring the signed and sealed form, the
/// original of the institution's legal-person certificate (副本) and the first manager's
/// identity card with a copy; a delegate also needs the legal representative's authorization
/// (signed on the form). Saved in the archive of the issue or change (issue 15 §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    pub form: bool,
    pub licence: bool,
    pub identity_card: bool,
    pub authorization: bool,
}

impl Checklist {
    /// Everything checked.
    pub const ALL: Checklist = Checklist { form: true, licence: true, identity_card: true, authorization: true };

    /// R19: the papers of a first manager's new phone — the identity card, checked in person.
    pub fn check_identity(self) -> Result<(), crate::error::FieldError> {
        if self.identity_card {
            Ok(())
        } else {
            Err(crate::error::FieldError::new("checklist", crate::error::Problem::Required))
        }
    }

    /// The checklist complete for a first manager who is the legal representative or, with
    /// `delegate`, someone they authorized; else the error to show.
    pub fn check(self, delegate: bool) -> Result<(), crate::error::FieldError> {
        if self.form && self.licence && self.identity_card && (self.authorization || !delegate) {
            Ok(())
        } else {
            Err(crate::error::FieldError::new("checklist", crate::error::Problem::Required))
        }
    }
}

crate::text_enum! {
    /// A certificate is `Active` until staff cancel or delete it (R15); an institution has at
    /// most one active certificate.
    pub enum CertificateStatus {
        Active = "active",
        Cancelled = "cancelled",
        Deleted = "deleted",
    }
}

impl CertificateStatus {
    /// The status as people read it.
    pub fn label(self, lang: crate::Lang) -> &'static str {
        match self {
            CertificateStatus::Active => lang.pick("有效", "Active"),
            CertificateStatus::Cancelled => lang.pick("已注销", "Cancelled"),
            CertificateStatus::Deleted => lang.pick("已删除", "Deleted"),
        }
    }
}

/// What a staff member sees of a certificate: personal data masked (R16).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    pub certificate_id: String,
    pub serial: String,
    pub status: CertificateStatus,
    pub issued_at: i64,
    pub institution_name: String,
    pub credit_code: String,
    pub address: String,
    pub legal_rep_name: String,
    pub legal_rep_id_number: String,
    pub legal_rep_mobile: String,
    pub first_manager_name: String,
    pub first_manager_id_number: String,
    /// `None` while the certificate has no first manager (between R14 changes, never for long).
    pub first_manager_status: Option<crate::holder::HolderStatus>,
    /// The authority that issued it.
    pub authority_name: String,
    /// R20: when its validity ends (epoch ms, 00:00 CST of the first day without) and where it
    /// stands at the time of the view.
    pub expires_at: i64,
    pub validity: crate::validity::Validity,
    /// Issued by the viewer's own authority. A higher authority sees a lower one's certificates
    /// in its search without any person's data (R22): those fields are empty.
    pub own: bool,
}

/// What the console asks of its certificates: a part of the name, credit code or serial (any
/// case), a status (`""` for any, or [`STATUS_RENEWAL_OPEN`] / [`STATUS_EXPIRED`]), whose ([`SCOPE_SUBTREE`], an authority below, or `""` for the
/// viewer's own), and a page of [`PER_PAGE`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateQuery {
    pub text: String,
    pub status: String,
    pub page: i64,
    #[serde(default)]
    pub scope: String,
    /// The previous page's [`CertificatePage::next`]: the page starts right after it (keyset
    /// paging, so the thousandth page costs what the first does) and `page` only labels it.
    /// Empty: the page is reached by counting `page` pages from the newest.
    #[serde(default)]
    pub after: String,
}

/// The status of a search for active certificates inside their last three months (R20).
pub const STATUS_RENEWAL_OPEN: &str = "renewal_open";
/// The status of a search for active certificates past their validity (R20).
pub const STATUS_EXPIRED: &str = "expired";

/// The scope of a search over the viewer's authority and every authority below it.
pub const SCOPE_SUBTREE: &str = "subtree";

/// Counting the matches of a search stops here: the page says "more than 10,000" rather than
/// walk a million rows for a number nobody reads (issue 15 §2).
pub const COUNT_CAP: i64 = 10_000;

/// One page of certificates, newest first, and how many match in all (at most [`COUNT_CAP`] + 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificatePage {
    pub items: Vec<CertificateView>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    /// Where the next page starts ([`CertificateQuery::after`]); empty when this page is the last.
    #[serde(default)]
    pub next: String,
}

/// A place in the console's order (newest first, then by id, descending): the last certificate
/// of a page, as `issued_at.id`.
pub fn page_cursor(issued_at: i64, id: &str) -> String {
    format!("{issued_at}.{id}")
}

/// A cursor read back; `None` for one this server did not make.
pub fn parse_cursor(cursor: &str) -> Option<(i64, String)> {
    let (at, id) = cursor.split_once('.')?;
    let id_ok =
        !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    Some((at.parse().ok()?, id.to_owned())).filter(|_| id_ok)
}

/// Certificates per page of the console's list.
pub const PER_PAGE: i64 = 50;

/// A certificate's page in the console (issue 15 §2): the certificate, its holders (masked), and
/// every change record, newest first; readable after cancellation and deletion, for the record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateDetail {
    pub certificate: CertificateView,
    pub holders: Vec<HolderLine>,
    pub changes: Vec<ChangeLine>,
}

/// A holder as the registration authority sees them: role, masked name, status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderLine {
    pub role: crate::holder::Role,
    pub name: String,
    pub status: crate::holder::HolderStatus,
}

/// One change record: what, by staff or by a holder, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeLine {
    pub kind: crate::changes::ChangeKind,
    pub by_staff: bool,
    pub at: i64,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;

    use crate::code::{self, CodeKind};
    use crate::error::{DomainError, Result};
    use crate::identity::{Asker, IdentityVerifier};
    use crate::mask;
    use crate::records::{self, ChangeKind};
    use crate::seal::{Column, Vault};
    use crate::secret::{Random, Secret};
    use crate::staff::{self, Duty, StaffView};
    use crate::store::{Backend, Db, is_unique_violation, query};
    use crate::time::Millis;
    use crate::validate::{self, Checks};

    /// Default life of a claim code (R2), in minutes.
    pub const CLAIM_MINUTES: i64 = 30;

    /// Settings of issuing that an operator may change.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct IssuePolicy {
        /// R2: how long a claim code lives, in minutes (default 30).
        pub claim_minutes: i64,
        /// How many years the archive package of an issue or change is kept (default 30).
        pub archive_years: i64,
        /// R20: years a certificate is valid from its issue or renewal (default 5).
        pub validity_years: i64,
    }

    impl Default for IssuePolicy {
        fn default() -> Self {
            IssuePolicy {
                claim_minutes: CLAIM_MINUTES,
                archive_years: crate::archive::DEFAULT_YEARS,
                validity_years: crate::validity::DEFAULT_YEARS,
            }
        }
    }

    /// A claim code handed to staff to show as a QR code; shown once, stored only hashed.
    #[derive(Debug)]
    pub struct ClaimCode {
        /// `Claim`, or `Redownload` for a first manager's new phone (R19).
        pub kind: CodeKind,
        pub certificate_id: String,
        pub code: Secret,
        pub expires_at: Millis,
    }

    /// A person's checked name, ID number and mobile.
    pub(crate) struct Person {
        pub(crate) name: String,
        pub(crate) id_number: String,
        pub(crate) mobile: String,
    }

    impl Person {
        /// As a form names them (for an archive package).
        pub(crate) fn input(&self) -> PersonInput {
            PersonInput { name: self.name.clone(), id_number: self.id_number.clone(), mobile: self.mobile.clone() }
        }
    }

    /// Checks a person's fields into `checks`, naming them `{prefix}person_name`, `{prefix}id_number`
    /// and `{prefix}mobile`.
    pub(crate) fn check_person(checks: &mut Checks, prefix: &str, p: &PersonInput) -> Person {
        Person {
            name: checks.take(validate::person_name(&format!("{prefix}person_name"), &p.name)),
            id_number: checks.take(validate::resident_id(&format!("{prefix}id_number"), &p.id_number)),
            mobile: checks.take(validate::mobile(&format!("{prefix}mobile"), &p.mobile)),
        }
    }

    /// How an issue came to the authority.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Origin {
        /// At the counter, with form 1 and the papers checked.
        Counter,
        /// From the registration list (应发尽发): the papers are seen when the legal
        /// representative claims it.
        Listed,
        /// On the approval of an establishment application (设立登记, issue 18 §1): its
        /// attachments are the papers.
        Established,
    }

    /// Registers the institution, issues its certificate with a pending first manager, and returns
    /// a claim code. The counter's papers checklist must be complete. Bad input changes nothing.
    pub async fn issue(
        db: &Db,
        staff: &StaffView,
        request: &IssueRequest,
        identity: &IdentityVerifier,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<(String, ClaimCode)> {
        issue_as(db, staff, request, identity, policy, (now, random), Origin::Counter).await
    }

    /// [`issue`] for an institution of the registration list (`roster::bulk_issue`): no papers
    /// checklist; archived as a bulk issue.
    pub(crate) async fn issue_listed(
        db: &Db,
        staff: &StaffView,
        request: &IssueRequest,
        identity: &IdentityVerifier,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<(String, ClaimCode)> {
        issue_as(db, staff, request, identity, policy, (now, random), Origin::Listed).await
    }

    async fn issue_as(
        db: &Db,
        staff: &StaffView,
        request: &IssueRequest,
        identity: &IdentityVerifier,
        policy: IssuePolicy,
        (now, random): (Millis, &Random),
        origin: Origin,
    ) -> Result<(String, ClaimCode)> {
        let checked = check_issue(db, staff, request, identity, origin, now, random).await?;
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Operate).await?;
        let issued = write_issue(&mut tx, staff, &checked, identity.passed(), policy, (now, random), None).await?;
        tx.commit().await?;
        Ok((issued.serial, issued.claim))
    }

    /// An issue request whose fields are checked and whose people passed the identity check.
    pub(crate) struct CheckedIssue {
        pub(crate) credit_code: String,
        pub(crate) name: String,
        pub(crate) address: String,
        rep: Person,
        delegate: Option<Person>,
        checklist: Checklist,
        origin: Origin,
    }

    /// The checks of an issue before its transaction: the fields (a counter's papers checklist
    /// complete), then the identity of the legal representative and of a delegate.
    async fn check_issue(
        db: &Db,
        staff: &StaffView,
        request: &IssueRequest,
        identity: &IdentityVerifier,
        origin: Origin,
        now: Millis,
        random: &Random,
    ) -> Result<CheckedIssue> {
        let mut checks = Checks::new();
        // R22: a public institution's code (`12…`) of a division in the authority's area.
        let credit_code = checks.take(validate::credit_code("credit_code", &request.credit_code).and_then(|code| {
            crate::authority::institution_division("credit_code", &code, &staff.authority_region).map(|_| code)
        }));
        let name = checks.take(validate::text("name", &request.name, 100));
        let address = checks.take(validate::text("address", &request.address, 200));
        let rep = check_person(&mut checks, "legal_rep_", &request.legal_rep);
        let delegate = match &request.first_manager {
            FirstManagerChoice::LegalRepresentative => None,
            FirstManagerChoice::Delegate(p) => Some(check_person(&mut checks, "first_manager_", p)),
        };
        if origin == Origin::Counter {
            checks.take(request.checklist.check(delegate.is_some()));
        }
        checks.finish()?;

        let asker = Asker::Staff(&staff.id);
        identity.verify_for(db, asker, "legal_rep_id_number", &rep.name, &rep.id_number, now, random).await?;
        if let Some(d) = &delegate {
            identity.verify_for(db, asker, "first_manager_id_number", &d.name, &d.id_number, now, random).await?;
        }
        Ok(CheckedIssue { credit_code, name, address, rep, delegate, checklist: request.checklist, origin })
    }

    /// Issue 18 §1: an establishment's issue, checked (its legal representative is the first
    /// manager; the application's attachments are its papers).
    pub(crate) async fn check_established(
        db: &Db,
        staff: &StaffView,
        request: &IssueRequest,
        identity: &IdentityVerifier,
        now: Millis,
        random: &Random,
    ) -> Result<CheckedIssue> {
        check_issue(db, staff, request, identity, Origin::Established, now, random).await
    }

    /// What an issue wrote.
    pub(crate) struct Written {
        pub(crate) serial: String,
        /// The pending first manager the claim code is for.
        pub(crate) holder_id: String,
        pub(crate) claim: ClaimCode,
    }

    /// Writes a checked issue inside the caller's transaction (staff on duty already checked
    /// there): the institution (registered, or brought up to date when its earlier certificate
    /// ended), the certificate, its pending first manager with a claim code, the change record,
    /// the staff action and the archive package (with `filing`, an application's document).
    pub(crate) async fn write_issue(
        tx: &mut crate::store::Tx,
        staff: &StaffView,
        checked: &CheckedIssue,
        identity_check: &str,
        policy: IssuePolicy,
        (now, random): (Millis, &Random),
        filing: Option<&str>,
    ) -> Result<Written> {
        let CheckedIssue { credit_code, name, address, rep, delegate, origin, .. } = checked;
        let (manager, is_legal_rep) = match delegate {
            Some(d) => (d, false),
            None => (rep, true),
        };
        let institution_id = random.id();
        let certificate_id = random.id();
        let serial = new_serial(now, random);
        let vault = tx.vault().clone();
        // Issue 15 §2: an institution whose certificate was cancelled or deleted is issued a new
        // one; its registration data is brought up to date. One with an active certificate is not.
        let known: Option<(String, i64)> = tx
            .fetch_optional(
                query(
                    "SELECT i.id, (SELECT COUNT(*) FROM certificate c WHERE c.institution_id = i.id AND c.status = 'active') \
                     FROM institution i WHERE i.credit_code = $1",
                )
                .lock_rows()
                .bind(credit_code),
            )
            .await?;
        let institution_id = match known {
            Some((_, active)) if active > 0 => {
                return Err(DomainError::AlreadyExists { field: "credit_code".into() }.into());
            }
            // Issue 18 §1: an establishment registers a new institution, never an earlier one.
            Some(_) if *origin == Origin::Established => {
                return Err(DomainError::AlreadyExists { field: "credit_code".into() }.into());
            }
            Some((id, _)) => {
                tx.execute(query("UPDATE institution SET authority_id = $1, name = $2, address = $3, legal_rep_name = $4, legal_rep_id_number = $5, \
                     legal_rep_mobile = $6 WHERE id = $7").bind(&staff.authority_id).bind(name).bind(address).bind(&rep.name).bind(vault.seal(Column::RepIdNumber.at(&id), &rep.id_number)).bind(vault.seal(Column::RepMobile.at(&id), &rep.mobile)).bind(&id)).await?;
                id
            }
            None => {
                let inserted = tx.execute(query("INSERT INTO institution (id, authority_id, credit_code, name, address, legal_rep_name, legal_rep_id_number, \
                     legal_rep_mobile, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)").bind(&institution_id).bind(&staff.authority_id).bind(credit_code).bind(name).bind(address).bind(&rep.name).bind(vault.seal(Column::RepIdNumber.at(&institution_id), &rep.id_number)).bind(vault.seal(Column::RepMobile.at(&institution_id), &rep.mobile)).bind(now.0)).await;
                match inserted {
                    Err(e) if is_unique_violation(&e) => {
                        return Err(DomainError::AlreadyExists { field: "credit_code".into() }.into());
                    }
                    other => other?,
                };
                institution_id
            }
        };
        let expires_at = crate::validity::expiry_of_issue(now, policy.validity_years);
        tx.execute(query("INSERT INTO certificate (id, institution_id, serial, status, issued_at, issued_by, authority_id, expires_at) VALUES ($1, $2, $3, 'active', $4, $5, $6, $7)").bind(&certificate_id).bind(&institution_id).bind(&serial).bind(now.0).bind(&staff.id).bind(&staff.authority_id).bind(expires_at.0)).await?;
        let (holder_id, claim) = pending_first_manager(
            tx,
            &certificate_id,
            (&manager.name, &manager.id_number, &manager.mobile),
            is_legal_rep,
            policy,
            now,
            random,
        )
        .await?;
        records::change(
            tx,
            &certificate_id,
            ChangeKind::Issued,
            records::Actor::Staff(&staff.id),
            Some(&holder_id),
            now,
            random,
        )
        .await?;
        let detail = format!("{name} {credit_code} {serial}");
        let target = ("certificate", certificate_id.as_str());
        let action = match origin {
            Origin::Counter => "certificate_issue",
            Origin::Listed => "certificate_bulk_issue",
            Origin::Established => "certificate_establish",
        };
        staff::record(tx, Some(staff), &staff.authority_id, action, target, &detail, now, random).await?;
        let filed = crate::archive::Filed {
            action,
            legal_rep: Some(rep.input()),
            first_manager: delegate.as_ref().map(Person::input),
            identity_check,
            checklist: checked.checklist,
            detail: &detail,
            filing,
        };
        crate::archive::write(tx, staff, &certificate_id, filed, policy.archive_years, now, random).await?;
        Ok(Written { serial, holder_id, claim })
    }

    /// Inserts a pending first manager (R1: `is_legal_rep` or a written delegate) with a claim code
    /// for them (R2), inside the caller's transaction; answers the holder id and the code.
    pub(crate) async fn pending_first_manager(
        tx: &mut crate::store::Tx,
        certificate_id: &str,
        (name, id_number, mobile): (&str, &str, &str),
        is_legal_rep: bool,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<(String, ClaimCode)> {
        let holder_id = random.id();
        let (id_number, mobile) = (
            tx.vault().seal(Column::HolderIdNumber.at(&holder_id), id_number),
            tx.vault().seal(Column::HolderMobile.at(&holder_id), mobile),
        );
        tx.execute(query("INSERT INTO holder (id, certificate_id, role, name, id_number, mobile, is_legal_rep, granted_by, status, created_at) \
             VALUES ($1, $2, 'first_manager', $3, $4, $5, $6, NULL, 'pending', $7)").bind(&holder_id).bind(certificate_id).bind(name).bind(&id_number).bind(&mobile).bind(is_legal_rep).bind(now.0)).await?;
        let (code, expires_at) =
            code::create(tx, CodeKind::Claim, certificate_id, Some(&holder_id), policy.claim_minutes, now, random)
                .await?;
        Ok((
            holder_id,
            ClaimCode { kind: CodeKind::Claim, certificate_id: certificate_id.to_owned(), code, expires_at },
        ))
    }

    /// A fresh claim code for a certificate whose first manager has not claimed it yet; earlier
    /// claim codes stop working (R2: single-use and short-lived).
    pub async fn refresh_claim(
        db: &Db,
        staff: &StaffView,
        certificate_id: &str,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<ClaimCode> {
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Operate).await?;
        let whose = Pending { authority_id: &staff.authority_id, holder_id: None };
        let claim = fresh_claim(&mut tx, certificate_id, whose, policy, now, random).await?;
        let target = ("certificate", certificate_id);
        staff::record(&mut tx, Some(staff), &staff.authority_id, "claim_refresh", target, "", now, random).await?;
        tx.commit().await?;
        Ok(claim)
    }

    /// Whose claim code [`fresh_claim`] makes: the certificate's authority, and the pending
    /// first manager when the caller knows which one (an establishment's applicant knows the
    /// one its approval made, and no later one).
    pub(crate) struct Pending<'a> {
        pub(crate) authority_id: &'a str,
        pub(crate) holder_id: Option<&'a str>,
    }

    /// Inside the caller's transaction, the certificate locked: a new claim code for its pending
    /// first manager (earlier ones void), while the certificate is active and in force (R20: a
    /// claim code of a lapsed certificate would be refused: renew it first). Another
    /// authority's certificate is `Forbidden`, before anything else is said of it.
    pub(crate) async fn fresh_claim(
        tx: &mut crate::store::Tx,
        certificate_id: &str,
        whose: Pending<'_>,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<ClaimCode> {
        let sql = "SELECT i.authority_id, h.id, c.expires_at FROM certificate c JOIN institution i ON i.id = c.institution_id \
             JOIN holder h ON h.certificate_id = c.id AND h.role = 'first_manager' AND h.status = 'pending' \
             WHERE c.id = $1 AND c.status = 'active'";
        let row: Option<(String, String, i64)> = tx.fetch_optional(query(sql).lock_rows().bind(certificate_id)).await?;
        let Some((authority_id, holder_id, expires_at)) = row else {
            return Err(DomainError::NotFound.into());
        };
        if authority_id != whose.authority_id {
            return Err(DomainError::Forbidden.into());
        }
        if whose.holder_id.is_some_and(|h| h != holder_id) {
            return Err(DomainError::NotFound.into());
        }
        if expires_at <= now.0 {
            return Err(DomainError::Expired { last_day: crate::validity::last_day(expires_at) }.into());
        }
        code::void_unused(tx, CodeKind::Claim, &holder_id, now).await?;
        let (code, expires_at) =
            code::create(tx, CodeKind::Claim, certificate_id, Some(&holder_id), policy.claim_minutes, now, random)
                .await?;
        Ok(ClaimCode { kind: CodeKind::Claim, certificate_id: certificate_id.to_owned(), code, expires_at })
    }

    struct ViewRow {
        certificate_id: String,
        serial: String,
        status: CertificateStatus,
        issued_at: i64,
        expires_at: i64,
        authority_id: String,
        authority_name: String,
        institution_id: String,
        institution_name: String,
        credit_code: String,
        address: String,
        legal_rep_name: String,
        legal_rep_id_number: String,
        legal_rep_mobile: String,
        first_manager_id: Option<String>,
        first_manager_name: Option<String>,
        first_manager_id_number: Option<String>,
        first_manager_status: Option<crate::holder::HolderStatus>,
    }
    crate::store::from_row!(ViewRow {
        certificate_id,
        serial,
        status,
        issued_at,
        expires_at,
        authority_id,
        authority_name,
        institution_id,
        institution_name,
        credit_code,
        address,
        legal_rep_name,
        legal_rep_id_number,
        legal_rep_mobile,
        first_manager_id,
        first_manager_name,
        first_manager_id_number,
        first_manager_status
    });

    const VIEW_SELECT: &str = "SELECT c.id AS certificate_id, c.serial, c.status, c.issued_at, c.expires_at, c.authority_id, \
         (SELECT a.name FROM authority a WHERE a.id = c.authority_id) AS authority_name, \
         i.id AS institution_id, i.name AS institution_name, i.credit_code, i.address, i.legal_rep_name, i.legal_rep_id_number, i.legal_rep_mobile, \
         h.id AS first_manager_id, h.name AS first_manager_name, h.id_number AS first_manager_id_number, h.status AS first_manager_status \
         FROM certificate c JOIN institution i ON i.id = c.institution_id \
         LEFT JOIN holder h ON h.certificate_id = c.id AND h.role = 'first_manager' AND h.status <> 'removed'";

    impl ViewRow {
        /// The view, its personal fields opened and masked (R16) for the issuing authority's
        /// staff; left empty for a higher authority's (R22).
        fn view(self, vault: &Vault, viewer: &StaffView, now: Millis) -> Result<CertificateView> {
            let r = self;
            let validity = crate::validity::validity_at(r.expires_at, now);
            if r.authority_id != viewer.authority_id {
                return Ok(CertificateView {
                    certificate_id: r.certificate_id,
                    serial: r.serial,
                    status: r.status,
                    issued_at: r.issued_at,
                    institution_name: r.institution_name,
                    credit_code: r.credit_code,
                    address: r.address,
                    legal_rep_name: String::new(),
                    legal_rep_id_number: String::new(),
                    legal_rep_mobile: String::new(),
                    first_manager_name: String::new(),
                    first_manager_id_number: String::new(),
                    first_manager_status: r.first_manager_status,
                    authority_name: r.authority_name,
                    expires_at: r.expires_at,
                    validity,
                    own: false,
                });
            }
            let first_manager_id_number = match (r.first_manager_id.as_deref(), r.first_manager_id_number.as_deref()) {
                (Some(id), Some(sealed)) => mask::id_number(&vault.open(Column::HolderIdNumber.at(id), sealed)?),
                _ => String::new(),
            };
            Ok(CertificateView {
                certificate_id: r.certificate_id,
                serial: r.serial,
                status: r.status,
                issued_at: r.issued_at,
                institution_name: r.institution_name,
                credit_code: r.credit_code,
                address: r.address,
                legal_rep_name: mask::person_name(&r.legal_rep_name),
                legal_rep_id_number: mask::id_number(
                    &vault.open(Column::RepIdNumber.at(&r.institution_id), &r.legal_rep_id_number)?,
                ),
                legal_rep_mobile: mask::mobile(
                    &vault.open(Column::RepMobile.at(&r.institution_id), &r.legal_rep_mobile)?,
                ),
                first_manager_name: r.first_manager_name.as_deref().map(mask::person_name).unwrap_or_default(),
                first_manager_id_number,
                first_manager_status: r.first_manager_status,
                authority_name: r.authority_name,
                expires_at: r.expires_at,
                validity,
                own: true,
            })
        }
    }

    /// One certificate of the staff member's own authority.
    pub async fn view(db: &Db, staff: &StaffView, certificate_id: &str, now: Millis) -> Result<CertificateView> {
        let sql = format!("{VIEW_SELECT} WHERE c.id = $1");
        let row: Option<ViewRow> = db.fetch_optional(query(&sql).bind(certificate_id)).await?;
        match row {
            None => Err(DomainError::NotFound.into()),
            Some(r) if r.authority_id != staff.authority_id => Err(DomainError::Forbidden.into()),
            Some(r) => r.view(db.vault(), staff, now),
        }
    }

    /// A certificate of the staff member's authority with its holders and change records.
    pub async fn detail(db: &Db, staff: &StaffView, certificate_id: &str, now: Millis) -> Result<CertificateDetail> {
        use crate::changes::ChangeKind;
        use crate::holder::{HolderStatus, Role};
        let certificate = view(db, staff, certificate_id, now).await?;
        let holders: Vec<(String, String, String)> = db
            .fetch_all(
                query(
                    "SELECT role, name, status FROM holder WHERE certificate_id = $1 \
                     ORDER BY CASE role WHEN 'first_manager' THEN 0 WHEN 'manager' THEN 1 ELSE 2 END, created_at, id",
                )
                .bind(certificate_id),
            )
            .await?;
        let changes: Vec<(String, String, i64)> = db
            .fetch_all(
                query("SELECT kind, actor_kind, at FROM change_record WHERE certificate_id = $1 ORDER BY at DESC, id LIMIT 1000")
                    .bind(certificate_id),
            )
            .await?;
        Ok(CertificateDetail {
            certificate,
            holders: holders
                .into_iter()
                .filter_map(|(role, name, status)| {
                    Some(HolderLine {
                        role: Role::from_sql(&role)?,
                        name: mask::person_name(&name),
                        status: HolderStatus::from_sql(&status)?,
                    })
                })
                .collect(),
            changes: changes
                .into_iter()
                .filter_map(|(kind, actor, at)| {
                    Some(ChangeLine { kind: ChangeKind::from_sql(&kind)?, by_staff: actor == "staff", at })
                })
                .collect(),
        })
    }

    /// The latest certificates of the staff member's authority, newest first, optionally filtered
    /// by a part of the name or the credit code.
    pub async fn list(
        db: &Db,
        staff: &StaffView,
        search: &str,
        limit: i64,
        now: Millis,
    ) -> Result<Vec<CertificateView>> {
        let q = CertificateQuery { text: search.to_owned(), ..CertificateQuery::default() };
        let (filter, values) = search_filter(db.backend(), staff, &q, now)?;
        let sql = format!("{VIEW_SELECT} WHERE {filter} ORDER BY {ORDER} LIMIT {}", limit.clamp(1, 200));
        let rows: Vec<ViewRow> = db.fetch_all(bind_all(query(&sql), values)).await?;
        rows.into_iter().map(|r| r.view(db.vault(), staff, now)).collect()
    }

    /// Any certificate of the staff member's authority — or, for a higher authority, of those
    /// below it (R22, without persons' data) — found by a part of its institution's name, its
    /// credit code or its serial and by status, a page at a time (issue 15 §2).
    pub async fn search(db: &Db, staff: &StaffView, q: &CertificateQuery, now: Millis) -> Result<CertificatePage> {
        let (filter, values) = search_filter(db.backend(), staff, q, now)?;
        let with = if q.scope.is_empty() { "" } else { crate::stats::SUBTREE };
        let page = q.page.clamp(0, 1_000_000);
        // After a cursor, the page starts there (an index range, whatever the depth); without
        // one, `page` pages are skipped.
        let mut page_values = values.clone();
        let (start, skip) = match q.after.trim() {
            "" => (String::new(), page.saturating_mul(PER_PAGE)),
            cursor => {
                let (at, id) = parse_cursor(cursor)
                    .ok_or_else(|| DomainError::field("after", crate::error::Problem::BadFormat))?;
                page_values.push(id);
                let id = page_values.len();
                (format!(" AND c.issued_at <= {at} AND (c.issued_at < {at} OR c.id < ${id})"), 0)
            }
        };
        // The page's certificates first, from the certificate table alone (the filter names no
        // other), then their views: the rows skipped to reach a deep page are index entries,
        // not views joined with their institution and first manager (issue 15 §2).
        let sql = format!(
            "{with} {VIEW_SELECT} WHERE c.id IN (SELECT c.id FROM certificate c WHERE {filter}{start} \
             ORDER BY {ORDER} LIMIT {PER_PAGE} OFFSET {skip}) ORDER BY {ORDER}"
        );
        let rows: Vec<ViewRow> = db.fetch_all(bind_all(query(&sql), page_values)).await?;
        let count = format!(
            "{with} SELECT COUNT(*) FROM (SELECT 1 FROM certificate c WHERE {filter} LIMIT {}) AS matched",
            COUNT_CAP + 1
        );
        let total: i64 = db.fetch_one(bind_all(query(&count), values)).await?;
        let items: Vec<CertificateView> =
            rows.into_iter().map(|r| r.view(db.vault(), staff, now)).collect::<Result<_>>()?;
        let next = match items.last() {
            Some(last) if items.len() as i64 == PER_PAGE => page_cursor(last.issued_at, &last.certificate_id),
            _ => String::new(),
        };
        Ok(CertificatePage { items, total, page, per_page: PER_PAGE, next })
    }

    /// The console's order of certificates: newest first, ties by id (descending, so that a
    /// cursor is one comparison).
    const ORDER: &str = "c.issued_at DESC, c.id DESC";

    /// The `WHERE` of a search over `certificate c` (no other table) and its parameters: the authority (`$1`, the root of `sub` for a
    /// wider scope), then the text (substring of the name; of the upper-cased credit code or
    /// serial), then the status (R20's lapse bounds are numbers, written into the text).
    fn search_filter(
        backend: Backend,
        staff: &StaffView,
        q: &CertificateQuery,
        now: Millis,
    ) -> Result<(String, Vec<String>)> {
        let text = search_text(&q.text);
        let mut values = vec![staff.authority_id.clone()];
        let mut filter = match q.scope.trim() {
            "" => String::from("c.authority_id = $1"),
            SCOPE_SUBTREE => String::from("c.authority_id IN (SELECT id FROM sub)"),
            // One authority below: it must lie in the viewer's subtree.
            id => {
                values.push(id.chars().take(64).collect());
                String::from("c.authority_id = $2 AND c.authority_id IN (SELECT id FROM sub)")
            }
        };
        if !text.is_empty() {
            // Each part through its own index (trigram on PostgreSQL), then the certificate by
            // its key: an OR across the join read every certificate in scope (issue 15 §2). A
            // part cannot hold a text longer than itself, and a text as long as it is the whole
            // of it: credit codes are 18 characters and serials 20, so a text of that length is
            // looked up by the unique key (a trigram scan of an all-digit text reads long posting
            // lists), and, made of letters and digits only, is not looked for in names. On
            // PostgreSQL a part of [`GRAM_LEN`] characters or more is looked for through the
            // identifier's six-character grams first (migration 0034): a digit trigram is in
            // most codes and serials, six digits in a row in few, so the index, not a recheck of
            // thousands of rows, picks the candidates.
            let upper = text.to_uppercase();
            let length = upper.chars().count();
            let whole_id =
                matches!(length, CREDIT_CODE_LEN | SERIAL_LEN) && upper.bytes().all(|b| b.is_ascii_alphanumeric());
            let mut parts = Vec::new();
            let bind = |values: &mut Vec<String>, value: String| {
                values.push(value);
                values.len()
            };
            if !whole_id {
                let n = bind(&mut values, format!("%{text}%"));
                parts.push(format!(
                    "SELECT t.id FROM certificate t JOIN institution ti ON ti.id = t.institution_id WHERE ti.name LIKE ${n}"
                ));
            }
            let institution = "SELECT t.id FROM certificate t JOIN institution ti ON ti.id = t.institution_id WHERE";
            let serial = "SELECT t.id FROM certificate t WHERE";
            for (part_len, select, column) in
                [(CREDIT_CODE_LEN, institution, "ti.credit_code"), (SERIAL_LEN, serial, "t.serial")]
            {
                match length {
                    // `strpos`, not `LIKE`, checks the grams' candidates: the planner would
                    // also AND in the trigram index for a `LIKE`, and read its long lists.
                    n if n < part_len && n >= GRAM_LEN && backend == Backend::Postgres => {
                        let part = bind(&mut values, upper.clone());
                        parts.push(format!(
                            "{select} ecert_grams({column}) @> ecert_grams(${part}) AND strpos({column}, ${part}) > 0"
                        ));
                    }
                    n if n < part_len => {
                        let like = bind(&mut values, format!("%{upper}%"));
                        parts.push(format!("{select} {column} LIKE ${like}"));
                    }
                    n if n == part_len => {
                        let whole = bind(&mut values, upper.clone());
                        parts.push(format!("{select} {column} = ${whole}"));
                    }
                    _ => {}
                }
            }
            // Never empty: a text that is not a whole identifier is looked for in names.
            filter.push_str(&format!(" AND c.id IN ({})", parts.join(" UNION ")));
        }
        if q.status == STATUS_EXPIRED {
            filter.push_str(&format!(" AND {}", crate::validity::lapsed_sql(now)));
        } else if q.status == STATUS_RENEWAL_OPEN {
            let until = crate::validity::renewal_open_until(now).0;
            filter.push_str(&format!(" AND {} AND c.expires_at <= {until}", crate::validity::live_sql(now)));
        } else if !q.status.is_empty() {
            let status = CertificateStatus::from_sql(&q.status)
                .ok_or_else(|| DomainError::field("status", crate::error::Problem::BadFormat))?;
            filter.push_str(&format!(" AND c.status = ${}", values.len() + 1));
            values.push(status.as_sql().to_owned());
        }
        Ok((filter, values))
    }

    /// The length of a unified social credit code and of a certificate serial ([`new_serial`]).
    const CREDIT_CODE_LEN: usize = 18;
    const SERIAL_LEN: usize = 20;
    /// The length of the grams PostgreSQL indexes codes and serials by (`ecert_grams`,
    /// migration 0034): a shorter part is looked for by its trigrams.
    const GRAM_LEN: usize = 6;

    /// What a console search looks for inside `LIKE '%…%'`: trimmed, at most 100 characters, the
    /// pattern's own wildcards and escape taken out (they are plain text to the user).
    pub(crate) fn search_text(text: &str) -> String {
        text.trim().chars().filter(|c| !matches!(c, '%' | '_' | '\\')).take(100).collect()
    }

    fn bind_all(mut q: crate::store::Query, values: Vec<String>) -> crate::store::Query {
        for v in values {
            q = q.bind(v);
        }
        q
    }

    /// A certificate serial: `EC` + issue date (UTC) + 10 random characters.
    pub(crate) fn new_serial(now: Millis, random: &Random) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        let mut buf = [0u8; 10];
        random.fill(&mut buf);
        let tail: String = buf.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
        let days = now.0.div_euclid(crate::time::Millis::DAY);
        let (y, m, d) = crate::time::civil_from_days(days);
        format!("EC{y:04}{m:02}{d:02}{tail}")
    }
}
