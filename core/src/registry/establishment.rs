//! Issue 18 §1: establishment registration (设立登记, seed 001). A founding organiser signed in
//! with a mobile and an SMS code (`applicant`) fills the establishment application — the
//! registration authority, the name, the address, the purpose and scope of business (宗旨和业务范围),
//! the start-up funds (开办资金), their source, the sponsor (举办单位) and the legal representative —
//! attaches its papers (PDF, PNG or JPEG, [`MAX_FILES`] of at most [`MAX_FILE_BYTES`]) and submits.
//! The authority's operators approve it or return it with reasons; a returned application is
//! corrected and submitted again.
//!
//! Approval registers the institution with its unified social credit code (the one staff enter,
//! or a new one of the authority's division, GB 32100) and issues its certificate in the same
//! transaction, the legal representative its first manager (R1, R2); the applicant then takes
//! the claim slip from their page (seed 000: the certificate is claimed together with 设立登记).
//! Every submission and review is a staff-log action of the authority; the approval's archive
//! package holds the application with the digests of its papers (issue 15 §3).

use serde::{Deserialize, Serialize};

use crate::certificate::PersonInput;
use crate::filing::FilingStatus;

/// The format name inside every application document.
pub const FORMAT: &str = "ecert-establishment/1";
/// Papers attached to one application.
pub const MAX_FILES: usize = 5;
/// Bytes of one paper.
pub const MAX_FILE_BYTES: usize = 512 * 1024;
/// Uploads an applicant may hold that no application has taken yet.
pub const MAX_UNSUBMITTED: i64 = 10;
/// Uploads an applicant may make in an hour, whatever it discarded since: an upload and a
/// discard in a loop would otherwise keep the database's writer busy with 700 KB requests.
pub const UPLOADS_PER_HOUR: i64 = 30;
/// Longest purpose and scope, in characters.
pub const PURPOSE_MAX: usize = 1000;

/// The establishment application (事业单位法人设立登记申请书, its main fields).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstablishmentForm {
    /// The registration authority applied to.
    pub authority_id: String,
    pub name: String,
    pub address: String,
    /// 宗旨和业务范围
    pub purpose: String,
    /// 开办资金, in 万元 (at most two decimals).
    pub funds: String,
    /// 经费来源
    pub funding_source: String,
    /// 举办单位
    pub sponsor: String,
    pub legal_rep: PersonInput,
}

/// An attached paper, as lists show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: String,
    pub name: String,
    pub media_type: String,
    pub size: i64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

/// What was submitted, as stored, digested and archived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstablishmentDocument {
    pub format: String,
    pub authority_name: String,
    pub form: EstablishmentForm,
    pub attachments: Vec<Attachment>,
}

/// An application as its applicant and the authority's staff list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstablishmentView {
    pub id: String,
    pub authority_name: String,
    pub name: String,
    pub status: FilingStatus,
    pub submitted_at: i64,
    pub reviewed_at: Option<i64>,
    pub review_note: Option<String>,
    /// The unified social credit code, once approved.
    pub credit_code: Option<String>,
    /// The certificate's serial, once approved.
    pub serial: Option<String>,
    pub files: Vec<Attachment>,
}

/// An applicant's page: their applications, newest first, and uploads not yet submitted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mine {
    pub applications: Vec<EstablishmentView>,
    pub uploads: Vec<Attachment>,
}

/// One application for its review: the document (the legal representative masked, R16) and
/// whether it still hashes to the digest recorded when it was submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstablishmentDetail {
    pub view: EstablishmentView,
    pub document: EstablishmentDocument,
    pub digest: String,
    pub digest_matches: bool,
}

/// An authority an applicant may apply to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityChoice {
    pub id: String,
    pub name: String,
}

/// An attached paper's content for staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileContent {
    pub name: String,
    pub media_type: String,
    /// The bytes, base64.
    pub base64: String,
}

/// The media type of a paper by its first bytes: PDF, PNG or JPEG; `None` for anything else.
pub fn media_type_of(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// A paper's name: 1 to 100 characters, no path and no control characters.
pub fn check_file_name(name: &str) -> Result<String, crate::FieldError> {
    use crate::{FieldError, Problem};
    let name = name.trim();
    if name.is_empty() {
        return Err(FieldError::new("file_name", Problem::Required));
    }
    if name.chars().count() > 100 {
        return Err(FieldError::new("file_name", Problem::TooLong { max: 100 }));
    }
    // No path, no control characters, and none of the invisible ones that reorder or hide text
    // (a right-to-left override turns `gpj.exe` into what reads as `exe.jpg`).
    let invisible =
        |c: char| matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}');
    if name.chars().any(|c| c.is_control() || invisible(c) || c == '/' || c == '\\') {
        return Err(FieldError::new("file_name", Problem::BadFormat));
    }
    Ok(name.to_owned())
}

/// The name a paper is saved under: its name without any extension of the applicant's, then the
/// extension of its checked type (a file saved from the console opens as what it was checked to be).
pub fn download_name(name: &str, media_type: &str) -> String {
    let ext = match media_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => "bin",
    };
    let stem = name.split('.').next().filter(|s| !s.trim().is_empty()).unwrap_or("paper");
    format!("{stem}.{ext}")
}

/// The check character of an organisation code's 8-character body (GB 11714): digits and
/// capital letters; `None` for another character.
pub fn organisation_check_char(body: &str) -> Option<char> {
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let values: Option<Vec<u32>> = body.chars().map(|c| c.to_digit(36).filter(|_| !c.is_ascii_lowercase())).collect();
    let values = values.filter(|v| v.len() == 8)?;
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        n => char::from_digit(n, 10)?,
    })
}

/// The unified social credit code of a public institution (`12`) of `division` (six digits)
/// with the 8-digit organisation body `body`: the organisation code's check character, then
/// the code's own (GB 32100).
pub fn credit_code_of(division: &str, body: &str) -> Option<String> {
    if division.len() != 6 || !division.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix = format!("12{division}{body}{}", organisation_check_char(body)?);
    Some(format!("{prefix}{}", crate::validate::credit_code_check_char(&prefix)?))
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    use super::*;
    use crate::applicant::Applicant;
    use crate::certificate::{self, Checklist, ClaimCode, FirstManagerChoice, IssuePolicy, IssueRequest};
    use crate::error::{DomainError, Problem, Result};
    use crate::filing::{may_read, may_review};
    use crate::identity::IdentityVerifier;
    use crate::seal::Column;
    use crate::secret::Random;
    use crate::staff::{self, Duty, StaffView};
    use crate::store::{Db, Tx, is_unique_violation, query};
    use crate::time::Millis;
    use crate::validate::{self, Checks};

    /// The document's digest, keyed by the data key: staff see it beside a masked ID number and
    /// mobile, and a plain hash of the whole would let anyone who sees both try the hidden
    /// digits offline.
    fn digest_of(vault: &crate::seal::Vault, document: &EstablishmentDocument) -> String {
        vault.mac("establishment-document", &serde_json::to_vec(document).unwrap_or_default())
    }

    /// Whether `digest` is `document`'s: keyed, or a plain SHA-256 as applications submitted
    /// before the key was used were digested.
    fn digest_holds(vault: &crate::seal::Vault, document: &EstablishmentDocument, digest: &str) -> bool {
        use sha2::Digest;
        let json = serde_json::to_vec(document).unwrap_or_default();
        digest_of(vault, document) == digest || URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(json)) == digest
    }

    /// The authorities an applicant may choose, by region.
    pub async fn authorities(db: &Db) -> Result<Vec<AuthorityChoice>> {
        let rows: Vec<(String, String)> =
            db.fetch_all(query("SELECT id, name FROM authority ORDER BY region_code, name LIMIT 5000")).await?;
        Ok(rows.into_iter().map(|(id, name)| AuthorityChoice { id, name }).collect())
    }

    /// Locks the applicant's row for the rest of the transaction: one write of an applicant
    /// at a time, so that the counts it checks hold until it commits.
    async fn lock_applicant(tx: &mut Tx, applicant: &Applicant) -> Result<()> {
        let found: Option<String> =
            tx.fetch_optional(query("SELECT id FROM applicant WHERE id = $1").lock_rows().bind(&applicant.id)).await?;
        found.map(|_| ()).ok_or_else(|| DomainError::Unauthenticated.into())
    }

    /// Uploads a paper for an application to come (or one returned for correction).
    pub async fn upload(
        db: &Db,
        applicant: &Applicant,
        name: &str,
        bytes: &[u8],
        now: Millis,
        random: &Random,
    ) -> Result<Attachment> {
        let name = check_file_name(name).map_err(|e| DomainError::Validation(vec![e]))?;
        if bytes.is_empty() {
            return Err(DomainError::field("file", Problem::Required).into());
        }
        if bytes.len() > MAX_FILE_BYTES {
            return Err(DomainError::field("file", Problem::TooLarge { max_kb: MAX_FILE_BYTES / 1024 }).into());
        }
        let media_type = media_type_of(bytes).ok_or_else(|| DomainError::field("file", Problem::BadFormat))?;
        let sha256 = {
            use sha2::Digest;
            crate::crypto::hex(&sha2::Sha256::digest(bytes))
        };
        let id = random.id();
        let content = db.vault().seal(Column::EstablishmentFile.at(&id), &STANDARD.encode(bytes));
        let mut tx = db.begin_write().await?;
        lock_applicant(&mut tx, applicant).await?;
        // Counted with the upload it allows: a refused upload below rolls its count back.
        let hour = crate::rate::hour_of(now);
        if !crate::rate::hit_in(&mut tx, "hour:establishment_upload", &applicant.id, hour, UPLOADS_PER_HOUR).await? {
            return Err(DomainError::RateLimited.into());
        }
        let waiting: i64 = tx
            .fetch_one(
                query("SELECT COUNT(*) FROM establishment_file WHERE applicant_id = $1 AND establishment_id IS NULL")
                    .bind(&applicant.id),
            )
            .await?;
        if waiting >= MAX_UNSUBMITTED {
            let max = usize::try_from(MAX_UNSUBMITTED).unwrap_or(10);
            return Err(DomainError::field("files", Problem::TooMany { max }).into());
        }
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        tx.execute(
            query(
                "INSERT INTO establishment_file (id, applicant_id, establishment_id, name, media_type, size, sha256, content, created_at) \
                 VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(&applicant.id)
            .bind(&name)
            .bind(media_type)
            .bind(size)
            .bind(&sha256)
            .bind(&content)
            .bind(now.0),
        )
        .await?;
        tx.commit().await?;
        Ok(Attachment { id, name, media_type: media_type.to_owned(), size, sha256 })
    }

    /// Removes an upload not yet submitted, or a paper of the applicant's returned application.
    pub async fn discard(db: &Db, applicant: &Applicant, file_id: &str) -> Result<()> {
        let mut tx = db.begin_write().await?;
        lock_applicant(&mut tx, applicant).await?;
        let n = tx
            .execute(
                query(
                    "DELETE FROM establishment_file WHERE id = $1 AND applicant_id = $2 AND (establishment_id IS NULL \
                     OR establishment_id IN (SELECT id FROM establishment WHERE applicant_id = $2 AND status = 'returned'))",
                )
                .bind(file_id.trim())
                .bind(&applicant.id),
            )
            .await?;
        if n != 1 {
            return Err(DomainError::NotFound.into());
        }
        tx.commit().await?;
        Ok(())
    }

    /// The form's fields checked, every bad one at once, and trimmed.
    fn check_form(form: &EstablishmentForm) -> Result<EstablishmentForm> {
        let mut checks = Checks::new();
        let authority_id = form.authority_id.trim().to_owned();
        if authority_id.is_empty() || authority_id.len() > 64 {
            checks.take::<()>(Err(crate::FieldError::new("authority_id", Problem::Required)));
        }
        let name = checks.take(validate::text("name", &form.name, 100));
        let address = checks.take(validate::text("address", &form.address, 200));
        let purpose = checks.take(validate::lines("purpose", &form.purpose, PURPOSE_MAX));
        let funds = checks.take(crate::filing::check_amount("funds", &form.funds));
        let funding_source = checks.take(validate::text("funding_source", &form.funding_source, 100));
        let sponsor = checks.take(validate::text("sponsor", &form.sponsor, 100));
        let rep = certificate::check_person(&mut checks, "legal_rep_", &form.legal_rep);
        checks.finish()?;
        Ok(EstablishmentForm {
            authority_id,
            name,
            address,
            purpose,
            funds,
            funding_source,
            sponsor,
            legal_rep: rep.input(),
        })
    }

    /// Submits an application (`id` `None`), or corrects and submits again the applicant's
    /// returned application `id`; `files` are its papers, 1 to [`MAX_FILES`] uploads of the
    /// applicant (a correction's list is its whole set: a paper left out is removed). One
    /// application of an applicant is under review at a time.
    pub async fn submit(
        db: &Db,
        applicant: &Applicant,
        id: Option<&str>,
        form: &EstablishmentForm,
        files: &[String],
        now: Millis,
        random: &Random,
    ) -> Result<EstablishmentView> {
        let form = check_form(form)?;
        let mut files: Vec<String> = files.iter().map(|f| f.trim().to_owned()).collect();
        files.sort();
        files.dedup();
        if files.is_empty() {
            return Err(DomainError::field("files", Problem::Required).into());
        }
        if files.len() > MAX_FILES {
            return Err(DomainError::field("files", Problem::TooMany { max: MAX_FILES }).into());
        }
        let authority: Option<String> =
            db.fetch_optional(query("SELECT name FROM authority WHERE id = $1").bind(&form.authority_id)).await?;
        let authority_name = authority.ok_or_else(|| DomainError::field("authority_id", Problem::OutOfRange))?;

        let mut tx = db.begin_write().await?;
        lock_applicant(&mut tx, applicant).await?;
        let app_id = match id {
            None => random.id(),
            Some(id) => {
                let status: Option<String> = tx
                    .fetch_optional(
                        query("SELECT status FROM establishment WHERE id = $1 AND applicant_id = $2")
                            .bind(id.trim())
                            .bind(&applicant.id),
                    )
                    .await?;
                match status.as_deref() {
                    Some("returned") => id.trim().to_owned(),
                    Some(_) => return Err(DomainError::InvalidState.into()),
                    None => return Err(DomainError::NotFound.into()),
                }
            }
        };
        if id.is_none() {
            // The row first, for the papers' foreign key; its document follows below.
            let inserted = tx
                .execute(
                    query(
                        "INSERT INTO establishment (id, applicant_id, authority_id, name, form, digest, status, submitted_at) \
                         VALUES ($1, $2, $3, $4, '', '', 'submitted', $5)",
                    )
                    .bind(&app_id)
                    .bind(&applicant.id)
                    .bind(&form.authority_id)
                    .bind(&form.name)
                    .bind(now.0),
                )
                .await;
            match inserted {
                Err(e) if is_unique_violation(&e) => {
                    return Err(DomainError::AlreadyExists { field: "establishment".into() }.into());
                }
                other => other?,
            };
        }
        // The papers: every listed one the applicant's and free (or already this application's).
        for file in &files {
            let n = tx
                .execute(
                    query(
                        "UPDATE establishment_file SET establishment_id = $1 WHERE id = $2 AND applicant_id = $3 \
                         AND (establishment_id IS NULL OR establishment_id = $1)",
                    )
                    .bind(&app_id)
                    .bind(file)
                    .bind(&applicant.id),
                )
                .await?;
            if n != 1 {
                return Err(DomainError::NotFound.into());
            }
        }
        let held: Vec<String> =
            tx.fetch_all(query("SELECT id FROM establishment_file WHERE establishment_id = $1").bind(&app_id)).await?;
        for gone in held.iter().filter(|h| !files.contains(h)) {
            tx.execute(query("DELETE FROM establishment_file WHERE id = $1").bind(gone)).await?;
        }
        let attachments = attachments_in(&mut tx, &app_id).await?;
        let document = EstablishmentDocument { format: FORMAT.into(), authority_name, form, attachments };
        let digest = digest_of(tx.vault(), &document);
        let json = serde_json::to_string(&document).map_err(|_| DomainError::InvalidState)?;
        let sealed = tx.vault().seal(Column::EstablishmentForm.at(&app_id), &json);
        let updated = tx
            .execute(
                query(
                    "UPDATE establishment SET authority_id = $1, name = $2, form = $3, digest = $4, status = 'submitted', \
                     submitted_at = $5, reviewed_by = NULL, reviewed_at = NULL, review_note = NULL \
                     WHERE id = $6 AND status IN ('submitted', 'returned')",
                )
                .bind(&document.form.authority_id)
                .bind(&document.form.name)
                .bind(&sealed)
                .bind(&digest)
                .bind(now.0)
                .bind(&app_id),
            )
            .await;
        match updated {
            Err(e) if is_unique_violation(&e) => {
                return Err(DomainError::AlreadyExists { field: "establishment".into() }.into());
            }
            Ok(1) => {}
            other => {
                other?;
                return Err(DomainError::InvalidState.into());
            }
        }
        let detail = format!("{} {digest}", document.form.name);
        let target = ("establishment", app_id.as_str());
        let authority_id = &document.form.authority_id;
        staff::record(&mut tx, None, authority_id, "establishment_submit", target, &detail, now, random).await?;
        tx.commit().await?;
        let line = line_where(db, "e.id = $1", &app_id).await?.ok_or(DomainError::NotFound)?;
        line.view(db).await
    }

    async fn attachments_in(tx: &mut Tx, establishment_id: &str) -> Result<Vec<Attachment>> {
        let rows: Vec<(String, String, String, i64, String)> =
            tx.fetch_all(query(PAPERS_OF).bind(establishment_id)).await?;
        Ok(rows.into_iter().map(attachment).collect())
    }

    fn attachment((id, name, media_type, size, sha256): (String, String, String, i64, String)) -> Attachment {
        Attachment { id, name, media_type, size, sha256 }
    }

    const FILES: &str = "SELECT id, name, media_type, size, sha256 FROM establishment_file";
    /// The papers of one application, in the order they were uploaded.
    const PAPERS_OF: &str = "SELECT id, name, media_type, size, sha256 FROM establishment_file \
         WHERE establishment_id = $1 ORDER BY created_at, id";

    /// An application's row as lists read it.
    struct Line {
        id: String,
        authority_name: String,
        name: String,
        status: FilingStatus,
        submitted_at: i64,
        reviewed_at: Option<i64>,
        review_note: Option<String>,
        credit_code: Option<String>,
        serial: Option<String>,
        digest: String,
        form: String,
    }
    crate::store::from_row!(Line {
        id,
        authority_name,
        name,
        status,
        submitted_at,
        reviewed_at,
        review_note,
        credit_code,
        serial,
        digest,
        form
    });

    const LINE: &str = "SELECT e.id, a.name AS authority_name, e.name, e.status, e.submitted_at, \
         e.reviewed_at, e.review_note, e.credit_code, c.serial, e.digest, e.form FROM establishment e \
         JOIN authority a ON a.id = e.authority_id LEFT JOIN certificate c ON c.id = e.certificate_id";

    async fn line_where(db: &Db, condition: &str, arg: &str) -> Result<Option<Line>> {
        Ok(db.fetch_optional(query(format!("{LINE} WHERE {condition}")).bind(arg)).await?)
    }

    impl Line {
        fn bare(&self) -> EstablishmentView {
            EstablishmentView {
                id: self.id.clone(),
                authority_name: self.authority_name.clone(),
                name: self.name.clone(),
                status: self.status,
                submitted_at: self.submitted_at,
                reviewed_at: self.reviewed_at,
                review_note: self.review_note.clone(),
                credit_code: self.credit_code.clone(),
                serial: self.serial.clone(),
                files: Vec::new(),
            }
        }

        /// The view with its papers.
        async fn view(&self, db: &Db) -> Result<EstablishmentView> {
            let rows: Vec<(String, String, String, i64, String)> =
                db.fetch_all(query(PAPERS_OF).bind(&self.id)).await?;
            Ok(EstablishmentView { files: rows.into_iter().map(attachment).collect(), ..self.bare() })
        }

        fn open(&self, db: &Db) -> Result<EstablishmentDocument> {
            let json = db.vault().open(Column::EstablishmentForm.at(&self.id), &self.form)?;
            Ok(serde_json::from_str(&json).map_err(|_| DomainError::InvalidState)?)
        }
    }

    /// The applicant's applications (newest first, the last 20) and their unsubmitted uploads.
    pub async fn mine(db: &Db, applicant: &Applicant) -> Result<Mine> {
        let sql = format!("{LINE} WHERE e.applicant_id = $1 ORDER BY e.submitted_at DESC, e.id LIMIT 20");
        let lines: Vec<Line> = db.fetch_all(query(&sql).bind(&applicant.id)).await?;
        let mut applications = Vec::with_capacity(lines.len());
        for line in &lines {
            applications.push(line.view(db).await?);
        }
        let sql = format!("{FILES} WHERE applicant_id = $1 AND establishment_id IS NULL ORDER BY created_at, id");
        let rows: Vec<(String, String, String, i64, String)> = db.fetch_all(query(&sql).bind(&applicant.id)).await?;
        Ok(Mine { applications, uploads: rows.into_iter().map(attachment).collect() })
    }

    /// The applicant's own returned application as submitted, to correct it (the legal
    /// representative whole: the applicant typed it; no other status shows it again).
    pub async fn form_of(db: &Db, applicant: &Applicant, id: &str) -> Result<EstablishmentForm> {
        let sql = format!("{LINE} WHERE e.id = $1 AND e.applicant_id = $2 AND e.status = 'returned'");
        let line = db.fetch_optional(query(&sql).bind(id.trim()).bind(&applicant.id)).await?;
        let line: Line = line.ok_or(DomainError::NotFound)?;
        Ok(line.open(db)?.form)
    }

    async fn line_of(db: &Db, staff: &StaffView, id: &str) -> Result<Line> {
        let sql = format!("{LINE} WHERE e.id = $1 AND e.authority_id = $2");
        let line: Option<Line> = db.fetch_optional(query(&sql).bind(id.trim()).bind(&staff.authority_id)).await?;
        line.ok_or_else(|| DomainError::NotFound.into())
    }

    /// The applications to the staff member's authority: those under review (oldest first) or
    /// all (newest first), 200 at most.
    pub async fn queue(db: &Db, staff: &StaffView, waiting: bool) -> Result<Vec<EstablishmentView>> {
        may_read(staff)?;
        let sql = if waiting {
            format!(
                "{LINE} WHERE e.authority_id = $1 AND e.status = 'submitted' ORDER BY e.submitted_at, e.id LIMIT 200"
            )
        } else {
            format!("{LINE} WHERE e.authority_id = $1 ORDER BY e.submitted_at DESC, e.id LIMIT 200")
        };
        let lines: Vec<Line> = db.fetch_all(query(&sql).bind(&staff.authority_id)).await?;
        Ok(lines.iter().map(Line::bare).collect())
    }

    /// One application of the authority, its legal representative masked (R16: the identity
    /// check runs on the full data when it is approved).
    pub async fn detail(db: &Db, staff: &StaffView, id: &str) -> Result<EstablishmentDetail> {
        may_read(staff)?;
        let line = line_of(db, staff, id).await?;
        let mut document = line.open(db)?;
        let digest_matches = digest_holds(db.vault(), &document, &line.digest);
        let rep = &mut document.form.legal_rep;
        rep.id_number = crate::mask::id_number(&rep.id_number);
        rep.mobile = crate::mask::mobile(&rep.mobile);
        Ok(EstablishmentDetail { view: line.view(db).await?, document, digest: line.digest.clone(), digest_matches })
    }

    /// A paper of an application of the staff member's authority; the read is a staff action.
    pub async fn file(db: &Db, staff: &StaffView, file_id: &str, now: Millis, random: &Random) -> Result<FileContent> {
        may_read(staff)?;
        let row: Option<(String, String, String, String)> = db
            .fetch_optional(
                query(
                    "SELECT f.establishment_id, f.name, f.media_type, f.content FROM establishment_file f \
                     JOIN establishment e ON e.id = f.establishment_id WHERE f.id = $1 AND e.authority_id = $2",
                )
                .bind(file_id.trim())
                .bind(&staff.authority_id),
            )
            .await?;
        let (establishment_id, name, media_type, content) = row.ok_or(DomainError::NotFound)?;
        let base64 = db.vault().open(Column::EstablishmentFile.at(file_id.trim()), &content)?;
        let mut tx = db.begin_write().await?;
        let target = ("establishment", establishment_id.as_str());
        staff::record(&mut tx, Some(staff), &staff.authority_id, "establishment_file_read", target, &name, now, random)
            .await?;
        tx.commit().await?;
        Ok(FileContent { name, media_type, base64 })
    }

    /// A credit code of the authority's division that no institution has: a public
    /// institution's (`12`), a random organisation body.
    async fn free_credit_code(db: &Db, region: &str, random: &Random) -> Result<String> {
        for _ in 0..8 {
            let body = random.digits(8);
            let code = credit_code_of(region, body.expose()).ok_or(DomainError::InvalidState)?;
            let taken: i64 =
                db.fetch_one(query("SELECT COUNT(*) FROM institution WHERE credit_code = $1").bind(&code)).await?;
            if taken == 0 {
                return Ok(code);
            }
        }
        Err(DomainError::AlreadyExists { field: "credit_code".into() }.into())
    }

    /// What an approval made.
    #[derive(Debug)]
    pub struct Approved {
        pub view: EstablishmentView,
        pub claim: ClaimCode,
    }

    /// An operator approves an application under review: the institution is registered with
    /// `credit_code` (empty: a new code of the authority's division) and its certificate issued
    /// to its legal representative as first manager, in one transaction with the decision.
    /// Twice, or after a return: `InvalidState`.
    #[allow(clippy::too_many_arguments)]
    pub async fn approve(
        db: &Db,
        staff: &StaffView,
        id: &str,
        credit_code: &str,
        identity: &IdentityVerifier,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<Approved> {
        may_review(staff)?;
        let line = line_of(db, staff, id).await?;
        if line.status != FilingStatus::Submitted {
            return Err(DomainError::InvalidState.into());
        }
        let document = line.open(db)?;
        let credit_code = match credit_code.trim() {
            "" => free_credit_code(db, &staff.authority_region, random).await?,
            given => given.to_owned(),
        };
        let form = &document.form;
        let request = IssueRequest {
            credit_code,
            name: form.name.clone(),
            address: form.address.clone(),
            legal_rep: form.legal_rep.clone(),
            first_manager: FirstManagerChoice::LegalRepresentative,
            checklist: Checklist::default(),
        };
        let checked = certificate::check_established(db, staff, &request, identity, now, random).await?;
        let json = serde_json::to_string(&document).map_err(|_| DomainError::InvalidState)?;
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Operate).await?;
        decide(&mut tx, staff, &line, FilingStatus::Approved, None, now).await?;
        let written =
            certificate::write_issue(&mut tx, staff, &checked, identity.passed(), policy, (now, random), Some(&json))
                .await?;
        tx.execute(
            query("UPDATE establishment SET credit_code = $1, certificate_id = $2, holder_id = $3 WHERE id = $4")
                .bind(&checked.credit_code)
                .bind(&written.claim.certificate_id)
                .bind(&written.holder_id)
                .bind(&line.id),
        )
        .await?;
        let detail = format!("{} {} {}", checked.name, checked.credit_code, written.serial);
        let target = ("establishment", line.id.as_str());
        staff::record(&mut tx, Some(staff), &staff.authority_id, "establishment_approve", target, &detail, now, random)
            .await?;
        tx.commit().await?;
        let view = line_of(db, staff, &line.id).await?.view(db).await?;
        Ok(Approved { view, claim: written.claim })
    }

    /// An operator returns an application under review with the reasons to correct (required).
    pub async fn send_back(
        db: &Db,
        staff: &StaffView,
        id: &str,
        reasons: &str,
        now: Millis,
        random: &Random,
    ) -> Result<EstablishmentView> {
        may_review(staff)?;
        let reasons = validate::optional_text("review_note", reasons, crate::filing::REASON_MAX, true)
            .map_err(|e| DomainError::Validation(vec![e]))?;
        if reasons.is_empty() {
            return Err(DomainError::field("review_note", Problem::Required).into());
        }
        let line = line_of(db, staff, id).await?;
        let mut tx = db.begin_write().await?;
        staff::on_duty(&mut tx, staff, Duty::Operate).await?;
        decide(&mut tx, staff, &line, FilingStatus::Returned, Some(&reasons), now).await?;
        let detail = format!("{} {}: {reasons}", line.name, line.digest);
        let target = ("establishment", line.id.as_str());
        staff::record(&mut tx, Some(staff), &staff.authority_id, "establishment_return", target, &detail, now, random)
            .await?;
        tx.commit().await?;
        line_of(db, staff, &line.id).await?.view(db).await
    }

    /// Moves an application under review to its decision, once, while it is still the document
    /// the staff member read (a correction submitted meanwhile is reviewed afresh).
    async fn decide(
        tx: &mut Tx,
        staff: &StaffView,
        line: &Line,
        status: FilingStatus,
        note: Option<&str>,
        now: Millis,
    ) -> Result<()> {
        let n = tx
            .execute(
                query(
                    "UPDATE establishment SET status = $1, reviewed_by = $2, reviewed_at = $3, review_note = $4 \
                     WHERE id = $5 AND authority_id = $6 AND status = 'submitted' AND digest = $7",
                )
                .bind(status)
                .bind(&staff.id)
                .bind(now.0)
                .bind(note)
                .bind(&line.id)
                .bind(&staff.authority_id)
                .bind(&line.digest),
            )
            .await?;
        if n == 1 { Ok(()) } else { Err(DomainError::InvalidState.into()) }
    }

    /// Claim slips an application gives in an hour.
    pub const SLIPS_PER_HOUR: i64 = 5;

    /// The claim slip of the applicant's approved application: a fresh claim code for the
    /// legal representative the approval made first manager (earlier ones void, R2), while the
    /// certificate waits for them to claim it; [`SLIPS_PER_HOUR`] an hour.
    pub async fn claim(
        db: &Db,
        applicant: &Applicant,
        id: &str,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<ClaimCode> {
        let mut tx = db.begin_write().await?;
        lock_applicant(&mut tx, applicant).await?;
        let row: Option<(Option<String>, Option<String>, String)> = tx
            .fetch_optional(
                query(
                    "SELECT certificate_id, holder_id, authority_id FROM establishment WHERE id = $1 AND applicant_id = $2 \
                     AND status = 'approved'",
                )
                .bind(id.trim())
                .bind(&applicant.id),
            )
            .await?;
        let Some((Some(certificate_id), Some(holder_id), authority_id)) = row else {
            return Err(DomainError::NotFound.into());
        };
        let hour = crate::rate::hour_of(now);
        if !crate::rate::hit_in(&mut tx, "hour:establishment_slip", id.trim(), hour, SLIPS_PER_HOUR).await? {
            return Err(DomainError::RateLimited.into());
        }
        let whose = certificate::Pending { authority_id: &authority_id, holder_id: Some(&holder_id) };
        let claim = certificate::fresh_claim(&mut tx, &certificate_id, whose, policy, now, random).await?;
        let target = ("establishment", id.trim());
        staff::record(&mut tx, None, &authority_id, "establishment_claim_slip", target, "", now, random).await?;
        tx.commit().await?;
        Ok(claim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_credit_code_passes_the_checks_of_gb_32100_and_gb_11714() {
        // GB 11714's own example, D2143569-X: a letter counts 10 and up, a check of 10 is X.
        assert_eq!(organisation_check_char("D2143569"), Some('X'));
        assert_eq!(organisation_check_char("00000001"), Some('9'), "11 - 2");
        assert_eq!(organisation_check_char("00000000"), Some('0'), "a check of 11 is 0");
        assert_eq!(organisation_check_char("0000000"), None);
        assert_eq!(organisation_check_char("0000000a"), None);
        let code = credit_code_of("110105", "40000103").unwrap();
        assert!(code.starts_with("12110105400001"), "{code}");
        assert_eq!(crate::validate::credit_code("c", &code), Ok(code.clone()));
        assert_eq!(crate::authority::institution_division("c", &code, "110000"), Ok("110105".into()));
        assert_eq!(credit_code_of("1101", "40000103"), None);
    }

    #[test]
    fn papers_are_known_by_their_first_bytes_and_names_hold_no_path() {
        assert_eq!(media_type_of(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(media_type_of(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(media_type_of(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(media_type_of(b"<html>"), None);
        assert_eq!(media_type_of(b"MZ\x90\x00"), None);
        assert_eq!(check_file_name(" 申请书.pdf "), Ok("申请书.pdf".into()));
        assert!(check_file_name("../etc/passwd").is_err());
        assert!(check_file_name("a\u{0}b").is_err());
        assert!(check_file_name("").is_err());
        assert!(check_file_name(&"名".repeat(101)).is_err());
    }
}
