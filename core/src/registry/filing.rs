//! Issue 18 §1, R23: the registration business (登记业务) done with the certificate (seed 001).
//! A manager signed in to the dashboard fills a change registration (变更登记), an annual report
//! (年度报告), a cancellation (注销登记) or a reissue of the paper legal-person certificate (证书补领);
//! the platform makes the [`FilingDocument`] and its SHA-256, and the manager's phone approves
//! exactly that digest (`login::approval`, the action `SubmitFiling`): the device signs it with
//! the certificate password. Staff of the institution's authority then approve it or return it
//! with their reasons; a returned filing stays as it was signed and the holder files a corrected
//! one.
//!
//! An approved filing applies itself in the approval's own transaction: a new name renames the
//! certificate, a new address moves it, a new legal representative runs R14 (every role void, a
//! new claim slip for the new representative), a cancellation cancels the certificate (R15), and
//! an annual report is published in the public annual-report list. A reissue of the paper
//! certificate changes nothing here: the approval tells the holder to collect it.
//!
//! Every submission and review is a change record of the certificate (R12), a staff action and
//! an archive package holding the signed document (issue 15 §3).

use serde::{Deserialize, Serialize};

use crate::certificate::PersonInput;

/// The format name inside every signed document.
pub const FORMAT: &str = "ecert-filing/1";
/// Longest reason, review note and report section, in characters.
pub const REASON_MAX: usize = 500;
pub const SECTION_MAX: usize = 2000;
/// The earliest year an annual report may be for.
pub const FIRST_REPORT_YEAR: i64 = 2000;
/// Public annual reports listed on one page.
pub const PUBLIC_PAGE: i64 = 50;

crate::text_enum! {
    /// What a filing asks for.
    pub enum FilingKind {
        /// 变更登记
        Change = "change",
        /// 年度报告
        AnnualReport = "annual_report",
        /// 注销登记
        Cancellation = "cancellation",
        /// 证书补领: a new paper legal-person certificate for a lost or damaged one.
        Reissue = "reissue",
    }
}

impl FilingKind {
    pub fn label(self, lang: crate::Lang) -> &'static str {
        match self {
            FilingKind::Change => lang.pick("变更登记", "Change registration"),
            FilingKind::AnnualReport => lang.pick("年度报告", "Annual report"),
            FilingKind::Cancellation => lang.pick("注销登记", "Cancellation"),
            FilingKind::Reissue => lang.pick("证书补领", "Certificate reissue"),
        }
    }
}

crate::text_enum! {
    /// Where a filing stands.
    pub enum FilingStatus {
        /// Signed and waiting for review.
        Submitted = "submitted",
        Approved = "approved",
        /// Returned with the staff's reasons; the holder files a corrected one.
        Returned = "returned",
    }
}

/// A change registration: what changes (an empty field or no person: unchanged) and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: String,
    /// A new legal representative, who becomes the first manager (R14).
    #[serde(default)]
    pub legal_rep: Option<PersonInput>,
    pub reason: String,
}

/// The annual report (事业单位法人年度报告书): the sections of the form. Amounts are in ten
/// thousand yuan (万元), with at most two decimals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnualReport {
    pub year: i64,
    /// 开展业务活动情况
    pub activities: String,
    /// 资产损益情况: net assets (净资产) and total assets (资产总额), at the start and end of the year.
    pub net_assets_start: String,
    pub net_assets_end: String,
    pub assets_start: String,
    pub assets_end: String,
    /// 对《条例》和实施细则有关变更登记规定的执行情况
    pub change_compliance: String,
    /// 绩效和受奖惩情况
    pub performance: String,
    /// 涉及诉讼情况
    pub litigation: String,
    /// 社会投诉情况
    pub complaints: String,
    /// 其他需要报告的情况
    #[serde(default)]
    pub other: String,
}

/// What a holder files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FilingForm {
    Change(ChangeForm),
    AnnualReport(AnnualReport),
    Cancellation { reason: String },
    Reissue { reason: String },
}

impl FilingForm {
    pub fn kind(&self) -> FilingKind {
        match self {
            FilingForm::Change(_) => FilingKind::Change,
            FilingForm::AnnualReport(_) => FilingKind::AnnualReport,
            FilingForm::Cancellation { .. } => FilingKind::Cancellation,
            FilingForm::Reissue { .. } => FilingKind::Reissue,
        }
    }

    /// The form with its texts as they are kept: trimmed, ID numbers in capitals. What the
    /// phone approves and the document holds, so that stray spaces change no digest.
    pub fn normalized(&self) -> FilingForm {
        let t = |s: &str| s.trim().to_owned();
        match self {
            FilingForm::Change(c) => FilingForm::Change(ChangeForm {
                name: t(&c.name),
                address: t(&c.address),
                legal_rep: c.legal_rep.as_ref().map(|p| PersonInput {
                    name: t(&p.name),
                    id_number: p.id_number.trim().to_uppercase(),
                    mobile: t(&p.mobile),
                }),
                reason: t(&c.reason),
            }),
            FilingForm::AnnualReport(r) => FilingForm::AnnualReport(AnnualReport {
                year: r.year,
                activities: t(&r.activities),
                net_assets_start: t(&r.net_assets_start),
                net_assets_end: t(&r.net_assets_end),
                assets_start: t(&r.assets_start),
                assets_end: t(&r.assets_end),
                change_compliance: t(&r.change_compliance),
                performance: t(&r.performance),
                litigation: t(&r.litigation),
                complaints: t(&r.complaints),
                other: t(&r.other),
            }),
            FilingForm::Cancellation { reason } => FilingForm::Cancellation { reason: t(reason) },
            FilingForm::Reissue { reason } => FilingForm::Reissue { reason: t(reason) },
        }
    }
}

/// The document a filing's phone approval signs: the institution as it stands, who files, and
/// the form. Its JSON, in this field order, is what the digest covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingDocument {
    pub format: String,
    pub kind: FilingKind,
    pub credit_code: String,
    pub institution_name: String,
    pub certificate_serial: String,
    /// The filing holder's name as registered.
    pub filed_by: String,
    pub form: FilingForm,
}

/// A filing as the platform made it for approval: the document and its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    pub document: FilingDocument,
    /// SHA-256 of the document's JSON, base64url without padding.
    pub digest: String,
    /// The same 32 bytes in hex, grouped by four for comparing with the phone.
    pub digest_hex: String,
}

/// A filing in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingView {
    pub id: String,
    pub kind: FilingKind,
    pub status: FilingStatus,
    pub report_year: Option<i64>,
    pub institution_name: String,
    pub credit_code: String,
    pub digest: String,
    pub submitted_at: i64,
    pub reviewed_at: Option<i64>,
    /// The staff's reasons for a return, or their note on an approval.
    pub review_note: Option<String>,
}

/// A filing with its signed document, as the reviewing staff read it (a new legal
/// representative's ID number and mobile masked).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingDetail {
    pub filing: FilingView,
    pub document: FilingDocument,
    /// Whether the document still hashes to the digest the phone approved.
    pub digest_matches: bool,
    /// The phone's signature that filed it, checked again.
    pub signature: Option<FilingSignature>,
}

/// The phone's signature of a filing as staff and the archive see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingSignature {
    pub device_id: String,
    /// The device's public key (SPKI, base64url) at the time of review.
    pub public_key: String,
    /// The message the device signed: the approval code (spent) and the keyed digest of the
    /// action `SubmitFiling`, which names this document's SHA-256.
    pub message: String,
    pub signature: String,
    pub signed_at: i64,
    /// Whether the signature verifies under the device's key and its message is the approval of
    /// this very document.
    pub verified: bool,
}

/// A published annual report, as the public list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedReport {
    pub id: String,
    pub institution_name: String,
    pub credit_code: String,
    pub year: i64,
    pub published_at: i64,
}

impl PublishedReport {
    /// Where the next page of the public list starts: after this report.
    pub fn cursor(&self) -> String {
        format!("{}.{}", self.published_at, self.id)
    }
}

/// One published annual report with its sections.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedReportDetail {
    pub line: PublishedReport,
    pub report: AnnualReport,
}

/// What a filing asks, as the phone shows it before approving (R21: the holder sees what they
/// sign, not only a digest): a change's new name, address and legal representative (masked,
/// R16), a cancellation's or reissue's reason; nothing for a report (its year is shown).
pub fn what_changes(form: &FilingForm) -> (String, String) {
    let (mut zh, mut en) = (String::new(), String::new());
    let mut add = |z: &str, e: &str, value: &str| {
        zh.push_str(&format!("；{z}：{value}"));
        en.push_str(&format!("; {e}: {value}"));
    };
    match form {
        FilingForm::Change(c) => {
            if !c.name.trim().is_empty() {
                add("新名称", "new name", c.name.trim());
            }
            if !c.address.trim().is_empty() {
                add("新住所", "new address", c.address.trim());
            }
            if let Some(p) = &c.legal_rep {
                let who = format!(
                    "{}（{}，{}）",
                    crate::mask::person_name(p.name.trim()),
                    crate::mask::id_number(p.id_number.trim()),
                    crate::mask::mobile(p.mobile.trim())
                );
                let (z, e) = ("新法定代表人（现有授权全部失效）", "new legal representative (every role ends)");
                add(z, e, &who);
            }
            add("事由", "reason", c.reason.trim());
        }
        FilingForm::Cancellation { reason } => {
            add("事由（注销后证书立即失效）", "reason (the certificate ends at once)", reason.trim())
        }
        FilingForm::Reissue { reason } => add("事由", "reason", reason.trim()),
        FilingForm::AnnualReport(_) => {}
    }
    (zh, en)
}

/// An amount in ten thousand yuan: an optional minus, 1 to 13 digits, and at most two decimals.
pub fn check_amount(field: &str, input: &str) -> Result<String, crate::FieldError> {
    use crate::error::{FieldError, Problem};
    let t = input.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, Problem::Required));
    }
    let unsigned = t.strip_prefix('-').unwrap_or(t);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = if unsigned.contains('.') { (1..=2).contains(&fraction.len()) } else { true };
    if (1..=13).contains(&whole.len()) && digits(whole) && digits(fraction) && fraction_ok {
        Ok(t.to_owned())
    } else {
        Err(FieldError::new(field, Problem::BadFormat))
    }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::certificate::{Checklist, ClaimCode, FirstManagerChoice, IssuePolicy};
    use crate::changes::{self, ChangeKind, ChangeRequest};
    use crate::error::{DomainError, Problem, Result};
    use crate::holder::{Caller, Role};
    use crate::identity::IdentityVerifier;
    use crate::login::approval::{self, Action};
    use crate::records::{self, Actor};
    use crate::seal::Column;
    use crate::secret::Random;
    use crate::staff::{self, Duty, StaffView};
    use crate::store::{Db, Tx, is_unique_violation, query};
    use crate::time::Millis;
    use crate::validate::{self, Checks};

    /// The digest of a document: SHA-256 of its JSON, base64url without padding.
    pub fn digest_of(document: &FilingDocument) -> String {
        use sha2::Digest;
        let json = serde_json::to_vec(document).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&json))
    }

    /// R23: a manager files (the first manager or a manager), and a user granted the
    /// registration business (登记业务) today; no other user. `None`: a manager, nothing to read.
    fn filer_grants(caller: &Caller, now: Millis) -> Option<crate::store::Query> {
        let matter = crate::holder::registration_matter(&caller.authority_id);
        (caller.role == Role::User).then(|| crate::holder::matter_in_force_count(&caller.holder_id, &matter, now))
    }

    fn may_file(grants: Option<i64>) -> Result<()> {
        match grants {
            Some(0) => Err(DomainError::NotAManager.into()),
            _ => Ok(()),
        }
    }

    async fn may_file_read(db: &Db, caller: &Caller, now: Millis) -> Result<()> {
        let grants = match filer_grants(caller, now) {
            Some(q) => Some(db.fetch_one(q).await?),
            None => None,
        };
        may_file(grants)
    }

    /// The form's fields checked, every bad field reported at once; a change changes something,
    /// a report is for a year that has ended.
    fn check_form(form: &FilingForm, now: Millis) -> Result<()> {
        let mut checks = Checks::new();
        let reason = |checks: &mut Checks, r: &str| {
            checks.take(validate::lines("reason", r, REASON_MAX));
        };
        match form {
            FilingForm::Change(c) => {
                if !c.name.trim().is_empty() {
                    checks.take(validate::text("name", &c.name, 100));
                }
                if !c.address.trim().is_empty() {
                    checks.take(validate::text("address", &c.address, 200));
                }
                if let Some(p) = &c.legal_rep {
                    crate::certificate::check_person(&mut checks, "legal_rep_", p);
                }
                reason(&mut checks, &c.reason);
                checks.finish()?;
                if c.name.trim().is_empty() && c.address.trim().is_empty() && c.legal_rep.is_none() {
                    return Err(DomainError::field("name", Problem::Required).into());
                }
            }
            FilingForm::AnnualReport(r) => {
                let this_year = crate::time::civil_from_days(crate::time::today_cst(now)).0;
                if !(FIRST_REPORT_YEAR..this_year).contains(&r.year) {
                    checks.take::<()>(Err(crate::FieldError::new("year", Problem::OutOfRange)));
                }
                checks.take(validate::lines("activities", &r.activities, SECTION_MAX));
                for (field, value) in [
                    ("net_assets_start", &r.net_assets_start),
                    ("net_assets_end", &r.net_assets_end),
                    ("assets_start", &r.assets_start),
                    ("assets_end", &r.assets_end),
                ] {
                    checks.take(check_amount(field, value));
                }
                for (field, value) in [
                    ("change_compliance", &r.change_compliance),
                    ("performance", &r.performance),
                    ("litigation", &r.litigation),
                    ("complaints", &r.complaints),
                ] {
                    checks.take(validate::lines(field, value, SECTION_MAX));
                }
                checks.take(validate::optional_text("other", &r.other, SECTION_MAX, true));
                checks.finish()?;
            }
            FilingForm::Cancellation { reason: r } | FilingForm::Reissue { reason: r } => {
                reason(&mut checks, r);
                checks.finish()?;
            }
        }
        Ok(())
    }

    /// The institution as it stands (active and in force, R15, R20) and the filing holder's
    /// name, for a document.
    fn document_query(caller: &Caller, now: Millis) -> crate::store::Query {
        query(
            "SELECT i.credit_code, i.name, c.serial, h.name FROM certificate c \
             JOIN institution i ON i.id = c.institution_id JOIN holder h ON h.id = $2 AND h.certificate_id = c.id \
             WHERE c.id = $1 AND c.status = 'active' AND c.expires_at > $3 AND h.status = 'active'",
        )
        .bind(&caller.certificate_id)
        .bind(&caller.holder_id)
        .bind(now.0)
    }

    /// The document of `form` for the institution as [`document_query`] read it, checked.
    fn document(row: Option<(String, String, String, String)>, form: &FilingForm, now: Millis) -> Result<Prepared> {
        let form = form.normalized();
        let (credit_code, institution_name, serial, filed_by) = row.ok_or(DomainError::Forbidden)?;
        check_form(&form, now)?;
        let document = FilingDocument {
            format: FORMAT.into(),
            kind: form.kind(),
            credit_code,
            institution_name,
            certificate_serial: serial,
            filed_by,
            form,
        };
        let digest = digest_of(&document);
        Ok(Prepared { digest_hex: crate::signing::digest_hex(&digest), digest, document })
    }

    /// The document the caller would sign for `form`, and its digest: what the dashboard shows
    /// before it asks the phone. Nothing is written.
    pub async fn prepare(db: &Db, caller: &Caller, form: &FilingForm, now: Millis) -> Result<Prepared> {
        may_file_read(db, caller, now).await?;
        let row = db.fetch_optional(document_query(caller, now)).await?;
        document(row, form, now)
    }

    /// Before a phone approval is asked for `form`: the form holds and `digest` is its document's
    /// now, so the phone shows what will be filed. Answers the prepared filing.
    pub async fn preflight(db: &Db, caller: &Caller, form: &FilingForm, digest: &str, now: Millis) -> Result<Prepared> {
        let prepared = prepare(db, caller, form, now).await?;
        if prepared.digest != digest.trim() {
            return Err(DomainError::InvalidState.into());
        }
        Ok(prepared)
    }

    /// Files `form`, taking the phone approval of exactly this document (`digest`) inside the
    /// write (a phone caller signed the request itself). One filing of a kind waits at a time,
    /// and a year has one annual report that is not returned (`AlreadyExists`: `kind`,
    /// `annual_report`).
    pub async fn submit(
        db: &Db,
        caller: &Caller,
        form: &FilingForm,
        digest: &str,
        now: Millis,
        random: &Random,
    ) -> Result<FilingView> {
        let mut tx = db.begin_write().await?;
        // The filer's right re-read inside the write (a user's grant cancelled a moment ago).
        let grants = match filer_grants(caller, now) {
            Some(q) => Some(tx.fetch_one(q).await?),
            None => None,
        };
        may_file(grants)?;
        // The certificate locked: a cancellation at the same time waits, or is seen.
        let row = tx.fetch_optional(document_query(caller, now).lock_rows_of("c")).await?;
        let prepared = document(row, form, now)?;
        // The approval names the document the phone showed; if the institution changed since,
        // the document is another and no approval stands for it.
        if prepared.digest != digest.trim() {
            return Err(DomainError::ApprovalRequired.into());
        }
        let form = prepared.document.form.clone();
        let act = Action::SubmitFiling { form: form.clone(), digest: prepared.digest.clone() };
        let signed = approval::take_signed_in(&mut tx, caller, &act, now).await?;
        let id = random.id();
        let json = serde_json::to_string(&prepared.document).map_err(|_| DomainError::InvalidState)?;
        let year = match &form {
            FilingForm::AnnualReport(r) => Some(r.year),
            _ => None,
        };
        let approval_id = caller.step_up().and_then(|s| s.approval_id.clone());
        // Named before the insert (after a failed statement PostgreSQL reads nothing more in the
        // transaction), both in one statement so that one snapshot answers them; the unique
        // indexes still settle two filings at once.
        match taken(&mut tx, caller, form.kind(), year).await? {
            (true, _) => return Err(DomainError::AlreadyExists { field: "annual_report".into() }.into()),
            (_, true) => return Err(DomainError::AlreadyExists { field: "kind".into() }.into()),
            _ => {}
        }
        let inserted = tx
            .execute(
                query(
                    "INSERT INTO filing (id, certificate_id, authority_id, kind, report_year, institution_name, credit_code, \
                     document, digest, status, submitted_by, approval_id, submitted_at, signed_device_id, signed_message, \
                     signature, signed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'submitted', $10, $11, $12, $13, $14, $15, $16)",
                )
                .bind(&id)
                .bind(&caller.certificate_id)
                .bind(&caller.authority_id)
                .bind(form.kind())
                .bind(year)
                .bind(&prepared.document.institution_name)
                .bind(&prepared.document.credit_code)
                .bind(tx.vault().seal(Column::FilingDocument.at(&id), &json))
                .bind(&prepared.digest)
                .bind(&caller.holder_id)
                .bind(approval_id)
                .bind(now.0)
                .bind(signed.as_ref().map(|s| s.device_id.as_str()))
                .bind(signed.as_ref().map(|s| s.message.as_str()))
                .bind(signed.as_ref().map(|s| s.signature.as_str()))
                .bind(signed.as_ref().map(|s| s.signed_at)),
            )
            .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                let field = if year.is_some() { "annual_report" } else { "kind" };
                return Err(DomainError::AlreadyExists { field: field.into() }.into());
            }
            other => other?,
        };
        let actor = Actor::Holder(&caller.holder_id);
        records::change(&mut tx, &caller.certificate_id, ChangeKind::FilingSubmitted, actor, None, now, random).await?;
        tx.commit().await?;
        Ok(FilingView {
            id,
            kind: form.kind(),
            status: FilingStatus::Submitted,
            report_year: year,
            institution_name: prepared.document.institution_name,
            credit_code: prepared.document.credit_code,
            digest: prepared.digest,
            submitted_at: now.0,
            reviewed_at: None,
            review_note: None,
        })
    }

    /// Whether the year's annual report that is not returned exists already, and whether a
    /// filing of `kind` waits for review already.
    async fn taken(tx: &mut Tx, caller: &Caller, kind: FilingKind, year: Option<i64>) -> Result<(bool, bool)> {
        let (reports, open): (i64, i64) = tx
            .fetch_one(
                query(
                    "SELECT COUNT(CASE WHEN kind = 'annual_report' AND report_year = $3 AND status <> 'returned' THEN 1 END), \
                     COUNT(CASE WHEN kind = $2 AND status = 'submitted' THEN 1 END) FROM filing WHERE certificate_id = $1",
                )
                .bind(&caller.certificate_id)
                .bind(kind)
                .bind(year),
            )
            .await?;
        Ok((reports > 0, open > 0))
    }

    struct Line {
        id: String,
        certificate_id: String,
        kind: FilingKind,
        status: FilingStatus,
        report_year: Option<i64>,
        institution_name: String,
        credit_code: String,
        digest: String,
        submitted_at: i64,
        reviewed_at: Option<i64>,
        review_note: Option<String>,
        document: String,
    }
    crate::store::from_row!(Line {
        id,
        certificate_id,
        kind,
        status,
        report_year,
        institution_name,
        credit_code,
        digest,
        submitted_at,
        reviewed_at,
        review_note,
        document
    });

    crate::store::from_row!(PublishedReport { id, institution_name, credit_code, year, published_at });

    const LINE: &str = "SELECT id, certificate_id, kind, status, report_year, institution_name, credit_code, digest, \
         submitted_at, reviewed_at, review_note, document FROM filing";

    impl Line {
        fn view(self) -> FilingView {
            FilingView {
                id: self.id,
                kind: self.kind,
                status: self.status,
                report_year: self.report_year,
                institution_name: self.institution_name,
                credit_code: self.credit_code,
                digest: self.digest,
                submitted_at: self.submitted_at,
                reviewed_at: self.reviewed_at,
                review_note: self.review_note,
            }
        }

        fn open(&self, db: &Db) -> Result<FilingDocument> {
            let json = db.vault().open(Column::FilingDocument.at(&self.id), &self.document)?;
            Ok(serde_json::from_str(&json).map_err(|_| DomainError::InvalidState)?)
        }
    }

    /// The filings of the caller's institution, newest first (the last 100): every manager sees
    /// them, with the staff's reasons for a return.
    pub async fn mine(db: &Db, caller: &Caller, now: Millis) -> Result<Vec<FilingView>> {
        may_file_read(db, caller, now).await?;
        let sql = format!("{LINE} WHERE certificate_id = $1 ORDER BY submitted_at DESC, id LIMIT 100");
        let lines: Vec<Line> = db.fetch_all(query(&sql).bind(&caller.certificate_id)).await?;
        Ok(lines.into_iter().map(Line::view).collect())
    }

    /// Operators and auditors of the authority read its filings (and its establishment
    /// applications).
    pub(crate) fn may_read(staff: &StaffView) -> Result<()> {
        if staff.duties.has(Duty::Operate) || staff.duties.has(Duty::Audit) {
            Ok(())
        } else {
            Err(DomainError::Forbidden.into())
        }
    }

    /// The filings of the staff member's authority, `status` only if given, oldest waiting
    /// first (the first 200).
    pub async fn queue(db: &Db, staff: &StaffView, status: Option<FilingStatus>) -> Result<Vec<FilingView>> {
        may_read(staff)?;
        let lines: Vec<Line> = match status {
            Some(s) => {
                let sql = format!("{LINE} WHERE authority_id = $1 AND status = $2 ORDER BY submitted_at, id LIMIT 200");
                db.fetch_all(query(&sql).bind(&staff.authority_id).bind(s)).await?
            }
            None => {
                let sql = format!("{LINE} WHERE authority_id = $1 ORDER BY submitted_at DESC, id LIMIT 200");
                db.fetch_all(query(&sql).bind(&staff.authority_id)).await?
            }
        };
        Ok(lines.into_iter().map(Line::view).collect())
    }

    /// Operators review (and the write checks it again, inside its transaction).
    pub(crate) fn may_review(staff: &StaffView) -> Result<()> {
        if staff.duties.has(Duty::Operate) { Ok(()) } else { Err(DomainError::Forbidden.into()) }
    }

    async fn line_of(db: &Db, staff: &StaffView, id: &str) -> Result<Line> {
        let sql = format!("{LINE} WHERE id = $1 AND authority_id = $2");
        let line: Option<Line> = db.fetch_optional(query(&sql).bind(id.trim()).bind(&staff.authority_id)).await?;
        line.ok_or_else(|| DomainError::NotFound.into())
    }

    /// One filing of the staff member's authority with its signed document.
    pub async fn detail(db: &Db, staff: &StaffView, id: &str) -> Result<FilingDetail> {
        may_read(staff)?;
        let line = line_of(db, staff, id).await?;
        let mut document = line.open(db)?;
        let digest_matches = digest_of(&document) == line.digest;
        // Checked on the document whole, before anything is masked for display.
        let signature = signature_of(db, &line.id, &document).await?;
        // R16: staff read the new legal representative masked, as on the certificate's page;
        // the identity check runs on the full data when the filing is approved.
        if let FilingForm::Change(ChangeForm { legal_rep: Some(p), .. }) = &mut document.form {
            p.id_number = crate::mask::id_number(&p.id_number);
            p.mobile = crate::mask::mobile(&p.mobile);
        }
        Ok(FilingDetail { filing: line.view(), document, digest_matches, signature })
    }

    /// What a review's archive package holds of the filing: the signed document and the phone's
    /// signature of it, checked.
    async fn archived(db: &Db, line: &Line, document: &FilingDocument) -> Result<String> {
        let signature = signature_of(db, &line.id, document).await?;
        let json = serde_json::json!({ "document": document, "signature": signature });
        Ok(json.to_string())
    }

    /// A filing's phone signature, checked: the signature under the device's key, and the
    /// message ending with the keyed digest of the approval of this document.
    async fn signature_of(db: &Db, id: &str, document: &FilingDocument) -> Result<Option<FilingSignature>> {
        let row: Option<(String, String, String, i64, String)> = db
            .fetch_optional(
                query(
                    "SELECT f.signed_device_id, f.signed_message, f.signature, f.signed_at, d.public_key FROM filing f \
                     JOIN device d ON d.id = f.signed_device_id WHERE f.id = $1 AND f.signature IS NOT NULL",
                )
                .bind(id),
            )
            .await?;
        let Some((device_id, message, signature, signed_at, public_key)) = row else { return Ok(None) };
        let act = Action::SubmitFiling { form: document.form.clone(), digest: digest_of(document) };
        let names_it = message.ends_with(&format!("\n{}", act.digest(db.vault())));
        let verified = names_it && crate::device::verify(&public_key, &message, &signature).is_ok();
        Ok(Some(FilingSignature { device_id, public_key, message, signature, signed_at, verified }))
    }

    /// What an approved filing changes on the certificate, in the order it is applied.
    ///
    /// The new legal representative comes first: it removes holders, whose triggers lock the
    /// statistics' shared rows (migration 0038), and every change's record then takes the
    /// directory feed's lock (`feed::append`). Every other transaction takes those two in that
    /// order too (rows, then the feed), so a filing that renamed first and then removed holders,
    /// holding the feed's lock while it waited for a row, could deadlock with a renewal or a
    /// cancellation on PostgreSQL.
    pub(super) fn changes_of(form: &FilingForm, checklist: Checklist) -> Vec<ChangeRequest> {
        match form {
            FilingForm::Change(c) => {
                let mut out = Vec::new();
                if let Some(rep) = &c.legal_rep {
                    out.push(ChangeRequest::LegalRepresentative {
                        legal_rep: rep.clone(),
                        first_manager: FirstManagerChoice::LegalRepresentative,
                        checklist,
                    });
                }
                if !c.name.is_empty() {
                    out.push(ChangeRequest::Rename { name: c.name.clone() });
                }
                if !c.address.is_empty() {
                    out.push(ChangeRequest::Address { address: c.address.clone() });
                }
                out
            }
            FilingForm::Cancellation { .. } => vec![ChangeRequest::Cancel],
            FilingForm::AnnualReport(_) | FilingForm::Reissue { .. } => Vec::new(),
        }
    }

    /// What a review decided, and the claim slip of a new legal representative (R14).
    #[derive(Debug)]
    pub struct Reviewed {
        pub status: FilingStatus,
        pub claim: Option<ClaimCode>,
    }

    /// An operator approves a waiting filing of the authority; what it asks applies itself in the
    /// same transaction (R23). A new legal representative needs the papers `checklist` (form 2)
    /// and passes the identity check first. Twice, or after a return: `InvalidState`.
    #[allow(clippy::too_many_arguments)]
    pub async fn approve(
        db: &Db,
        staff: &StaffView,
        id: &str,
        checklist: Checklist,
        identity: &IdentityVerifier,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<Reviewed> {
        may_review(staff)?;
        let line = line_of(db, staff, id).await?;
        if line.status != FilingStatus::Submitted {
            return Err(DomainError::InvalidState.into());
        }
        let document = line.open(db)?;
        let requests = changes_of(&document.form, checklist);
        // Every change is checked (and every person's identity verified) before anything moves.
        let mut checked = Vec::with_capacity(requests.len());
        for request in &requests {
            checked.push(changes::prepare(db, staff, request, identity, now, random).await?);
        }
        let json = archived(db, &line, &document).await?;
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Operate).await?;
        still_as_signed(&mut tx, &line, &document, now).await?;
        decide(&mut tx, staff, &line.id, FilingStatus::Approved, None, now).await?;
        let mut claim = None;
        for (request, checked) in requests.iter().zip(checked) {
            let made = changes::apply_checked(
                &mut tx,
                staff,
                &line.certificate_id,
                request,
                checked,
                identity,
                policy,
                now,
                random,
            )
            .await?;
            claim = claim.or(made);
        }
        let detail = format!("{} {}", line.kind.as_sql(), line.digest);
        conclude(&mut tx, staff, &line, ("filing_approve", &detail), &json, checklist, policy, now, random).await?;
        tx.commit().await?;
        Ok(Reviewed { status: FilingStatus::Approved, claim })
    }

    /// The certificate's status, serial, name, end of validity and authority, and the filer's id,
    /// status and role.
    struct SignedState {
        status: String,
        serial: String,
        name: String,
        expires_at: i64,
        authority_id: String,
        holder_id: String,
        holder_status: String,
        role: Role,
    }
    crate::store::from_row!(SignedState {
        status,
        serial,
        name,
        expires_at,
        authority_id,
        holder_id,
        holder_status,
        role
    });

    /// Inside the approval's transaction, the certificate locked: the filing is approved only
    /// while its certificate is active and in force (R15, R20) and still the one the document
    /// names (the same serial and name: no legal-representative change or rename since), and
    /// while the holder who filed it still holds their role (a user: the registration grant) (R8, R14: a removed manager's
    /// filing, or one filed before every role was voided, is returned, never approved).
    async fn still_as_signed(tx: &mut Tx, line: &Line, document: &FilingDocument, now: Millis) -> Result<()> {
        let row: Option<SignedState> = tx
            .fetch_optional(
                query(
                    "SELECT c.status, c.serial, i.name, c.expires_at, i.authority_id, h.id AS holder_id, \
                     h.status AS holder_status, h.role FROM filing f \
                     JOIN certificate c ON c.id = f.certificate_id JOIN institution i ON i.id = c.institution_id \
                     JOIN holder h ON h.id = f.submitted_by WHERE f.id = $1",
                )
                .lock_rows_of("c")
                .bind(&line.id),
            )
            .await?;
        let s = row.ok_or(DomainError::NotFound)?;
        let as_signed = s.serial == document.certificate_serial && s.name == document.institution_name;
        let mut filer_holds = s.holder_status == "active";
        if filer_holds && s.role == Role::User {
            // R23: a user files while granted the registration business, and only then.
            let matter = crate::holder::registration_matter(&s.authority_id);
            filer_holds = crate::holder::has_matter_in_force(tx, &s.holder_id, &matter, now).await?;
        }
        if s.status == "active" && s.expires_at > now.0 && as_signed && filer_holds {
            Ok(())
        } else {
            Err(DomainError::InvalidState.into())
        }
    }

    /// An operator returns a waiting filing with the reasons to correct (required).
    pub async fn send_back(
        db: &Db,
        staff: &StaffView,
        id: &str,
        reasons: &str,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<Reviewed> {
        may_review(staff)?;
        let reasons = validate::optional_text("review_note", reasons, REASON_MAX, true)
            .map_err(|e| DomainError::Validation(vec![e]))?;
        if reasons.is_empty() {
            return Err(DomainError::field("review_note", Problem::Required).into());
        }
        let line = line_of(db, staff, id).await?;
        let document = line.open(db)?;
        let json = archived(db, &line, &document).await?;
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Operate).await?;
        decide(&mut tx, staff, &line.id, FilingStatus::Returned, Some(&reasons), now).await?;
        let detail = format!("{} {}: {reasons}", line.kind.as_sql(), line.digest);
        let none = Checklist::default();
        conclude(&mut tx, staff, &line, ("filing_return", &detail), &json, none, policy, now, random).await?;
        tx.commit().await?;
        Ok(Reviewed { status: FilingStatus::Returned, claim: None })
    }

    /// Moves a waiting filing to its decision, once: a second review finds it decided.
    async fn decide(
        tx: &mut Tx,
        staff: &StaffView,
        id: &str,
        status: FilingStatus,
        note: Option<&str>,
        now: Millis,
    ) -> Result<()> {
        let n = tx
            .execute(
                query(
                    "UPDATE filing SET status = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4 \
                     WHERE id = $5 AND authority_id = $6 AND status = 'submitted'",
                )
                .bind(status)
                .bind(&staff.id)
                .bind(now.0)
                .bind(note)
                .bind(id)
                .bind(&staff.authority_id),
            )
            .await?;
        if n == 1 { Ok(()) } else { Err(DomainError::InvalidState.into()) }
    }

    /// The records of a review: the certificate's change record, the staff action and the
    /// archive package with the signed document.
    #[allow(clippy::too_many_arguments)]
    async fn conclude(
        tx: &mut Tx,
        staff: &StaffView,
        line: &Line,
        (action, detail): (&str, &str),
        document: &str,
        checklist: Checklist,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        let kind = if action == "filing_approve" { ChangeKind::FilingApproved } else { ChangeKind::FilingReturned };
        records::change(tx, &line.certificate_id, kind, Actor::Staff(&staff.id), None, now, random).await?;
        staff::record(tx, Some(staff), &staff.authority_id, action, ("filing", &line.id), detail, now, random).await?;
        let filed = crate::archive::Filed {
            action,
            legal_rep: None,
            first_manager: None,
            identity_check: "not_needed",
            checklist,
            detail,
            filing: Some(document),
        };
        crate::archive::write(tx, staff, &line.certificate_id, filed, policy.archive_years, now, random).await
    }

    /// The public annual-report list: approved reports, newest first, `PUBLIC_PAGE` at a time
    /// after the cursor `after` (the last one shown, [`PublishedReport::cursor`]), found by part
    /// of the institution's name or by its credit code.
    pub async fn published(db: &Db, search: &str, after: Option<&str>) -> Result<Vec<PublishedReport>> {
        published_page(db, search, after, PUBLIC_PAGE).await
    }

    /// [`published`], `limit` at a time. Ordered by approval time and then id, so that reports
    /// approved in the same millisecond are neither skipped nor repeated at a page's edge.
    pub async fn published_page(
        db: &Db,
        search: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PublishedReport>> {
        let search = search.trim();
        if search.chars().count() > 100 {
            return Err(DomainError::field("q", Problem::TooLong { max: 100 }).into());
        }
        let (at, id) = match after.map(str::trim).filter(|a| !a.is_empty()) {
            None => (i64::MAX, String::new()),
            Some(cursor) => {
                let parsed = cursor.split_once('.').and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)));
                let (at, id) = parsed.ok_or_else(|| DomainError::field("after", Problem::BadFormat))?;
                (at, id.chars().take(64).collect())
            }
        };
        let pattern = format!("%{}%", search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let rows: Vec<PublishedReport> = db
            .fetch_all(
                query(
                    "SELECT id, institution_name, credit_code, COALESCE(report_year, 0) AS year, \
                     COALESCE(reviewed_at, 0) AS published_at FROM filing \
                     WHERE kind = 'annual_report' AND status = 'approved' \
                     AND (reviewed_at < $1 OR (reviewed_at = $1 AND id > $5)) \
                     AND (institution_name LIKE $2 ESCAPE '\\' OR credit_code = $3) \
                     ORDER BY reviewed_at DESC, id LIMIT $4",
                )
                .bind(at)
                .bind(pattern)
                .bind(search.to_uppercase())
                .bind(limit.clamp(1, PUBLIC_PAGE))
                .bind(id),
            )
            .await?;
        Ok(rows)
    }

    /// One published annual report; any other filing is `NotFound`.
    pub async fn published_report(db: &Db, id: &str) -> Result<PublishedReportDetail> {
        let sql = format!("{LINE} WHERE id = $1 AND kind = 'annual_report' AND status = 'approved'");
        let line: Option<Line> = db.fetch_optional(query(&sql).bind(id.trim())).await?;
        let line = line.ok_or(DomainError::NotFound)?;
        let FilingForm::AnnualReport(report) = line.open(db)?.form else {
            return Err(DomainError::NotFound.into());
        };
        let published = PublishedReport {
            id: line.id.clone(),
            institution_name: line.institution_name.clone(),
            credit_code: line.credit_code.clone(),
            year: line.report_year.unwrap_or_default(),
            published_at: line.reviewed_at.unwrap_or_default(),
        };
        Ok(PublishedReportDetail { line: published, report })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 0038, issue 15 §3: the change that writes holders is applied before those that
    /// only take the directory feed's lock (see `changes_of`).
    #[cfg(feature = "server")]
    #[test]
    fn a_new_legal_representative_is_applied_before_a_new_name_or_address() {
        let form = FilingForm::Change(ChangeForm {
            name: "新名称".into(),
            address: "新地址".into(),
            legal_rep: Some(PersonInput { name: "李四".into(), id_number: "x".into(), mobile: "y".into() }),
            reason: "变更".into(),
        });
        let order: Vec<&'static str> = server::changes_of(&form, crate::certificate::Checklist::ALL)
            .iter()
            .map(|c| match c {
                crate::changes::ChangeRequest::LegalRepresentative { .. } => "legal_rep",
                crate::changes::ChangeRequest::Rename { .. } => "name",
                crate::changes::ChangeRequest::Address { .. } => "address",
                _ => "other",
            })
            .collect();
        assert_eq!(order, ["legal_rep", "name", "address"]);
    }

    #[test]
    fn amounts_are_ten_thousand_yuan_with_at_most_two_decimals() {
        for ok in ["0", "12", "-3.5", "1234567890123.45", " 7.00 "] {
            assert!(check_amount("a", ok).is_ok(), "{ok}");
        }
        for bad in ["", "1.", ".5", "1.234", "1,000", "12345678901234", "1e3", "--1", "１２"] {
            assert!(check_amount("a", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_form_is_kept_trimmed_with_id_numbers_in_capitals() {
        let form = FilingForm::Change(ChangeForm {
            name: " 新名称 ".into(),
            address: String::new(),
            legal_rep: Some(PersonInput {
                name: " 李四 ".into(),
                id_number: "11010519491231002x".into(),
                mobile: "13800000000".into(),
            }),
            reason: "换届 ".into(),
        });
        let FilingForm::Change(c) = form.normalized() else { panic!("a change stays a change") };
        assert_eq!(c.name, "新名称");
        assert_eq!(c.reason, "换届");
        assert_eq!(c.legal_rep.map(|p| (p.name, p.id_number)), Some(("李四".into(), "11010519491231002X".into())));
        assert_eq!(form.kind(), FilingKind::Change);
    }
}
