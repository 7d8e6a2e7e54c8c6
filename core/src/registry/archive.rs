//! Archives (issue 15 §3, seed 002 档案管理): every issue and every change a counter records
//! leaves a package — the form's data, the identity check's result, the staff member, the time
//! and the papers checklist — with the SHA-256 of its content, kept for the retention period
//! of the configuration (default 30 years) and exportable as a file.
//!
//! The content holds persons' full data as the form had it, so it is sealed at rest like every
//! personal field (R16, `Column::ArchiveContent`); the hash is of the content before sealing, so
//! an exported file can be checked against the record years later. Only the issuing
//! authority's operators and auditors read it.

use serde::{Deserialize, Serialize};

use crate::certificate::{Checklist, PersonInput};

/// The format name inside every package.
pub const FORMAT: &str = "ecert-archive/1";
/// Years an archive is kept unless configured otherwise.
pub const DEFAULT_YEARS: i64 = 30;

/// What one package holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveContent {
    pub format: String,
    /// The staff action: `certificate_issue`, `change_legal_rep`, `certificate_cancel`, …
    pub action: String,
    /// China Standard Time, `YYYY-MM-DD HH:MM:SS`.
    pub at: String,
    pub authority_name: String,
    pub authority_region: String,
    pub staff_username: String,
    pub staff_name: String,
    pub serial: String,
    pub credit_code: String,
    pub institution_name: String,
    pub address: String,
    /// The legal representative as the form named them, when it did.
    pub legal_rep: Option<PersonInput>,
    /// The first manager as the form named them, when it did.
    pub first_manager: Option<PersonInput>,
    /// `verified` with the verifier (`local`, `service`), or `not_needed`.
    pub identity_check: String,
    pub checklist: Checklist,
    /// What changed, in the words of the action log.
    pub detail: String,
    /// A registration filing's signed document (JSON), for its review (issue 18 §1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filing: Option<String>,
}

/// An archive as a list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveLine {
    pub id: String,
    pub action: String,
    pub created_at: i64,
    pub keep_until: i64,
    pub content_hash: String,
}

/// An exported package: a file name and its JSON text. The text carries the content as a
/// string and its SHA-256, so that a reader checks one against the other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveFile {
    pub file_name: String,
    pub text: String,
}

/// The exported file's shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub format: String,
    pub id: String,
    pub created_at: i64,
    pub keep_until: i64,
    pub sha256: String,
    /// The [`ArchiveContent`] as JSON, exactly the bytes hashed.
    pub content: String,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;

    use crate::error::{DomainError, Result};
    use crate::seal::Column;
    use crate::secret::Random;
    use crate::staff::{Duty, StaffView};
    use crate::store::{Db, Tx, query};
    use crate::time::Millis;

    /// The SHA-256 of a text, in lower-case hex.
    pub fn sha256_hex(text: &str) -> String {
        use sha2::Digest;
        crate::crypto::hex(&sha2::Sha256::digest(text.as_bytes()))
    }

    /// What the transaction's certificate looks like now, for a package.
    pub(crate) struct Subject {
        pub(crate) serial: String,
        pub(crate) credit_code: String,
        pub(crate) institution_name: String,
        pub(crate) address: String,
    }

    /// Reads a certificate's registration data inside the transaction that changes it.
    pub(crate) async fn subject(tx: &mut Tx, certificate_id: &str) -> Result<Subject> {
        let (serial, credit_code, institution_name, address): (String, String, String, String) = tx
            .fetch_one(
                query(
                    "SELECT c.serial, i.credit_code, i.name, i.address FROM certificate c \
                     JOIN institution i ON i.id = c.institution_id WHERE c.id = $1",
                )
                .bind(certificate_id),
            )
            .await?;
        Ok(Subject { serial, credit_code, institution_name, address })
    }

    /// What an issue or a change puts into its package beyond the certificate and the staff.
    pub(crate) struct Filed<'a> {
        pub(crate) action: &'a str,
        pub(crate) legal_rep: Option<PersonInput>,
        pub(crate) first_manager: Option<PersonInput>,
        pub(crate) identity_check: &'a str,
        pub(crate) checklist: Checklist,
        pub(crate) detail: &'a str,
        /// The signed document of a registration filing's review.
        pub(crate) filing: Option<&'a str>,
    }

    /// Writes the package of an issue or a change inside its transaction, kept `years` years.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn write(
        tx: &mut Tx,
        staff: &StaffView,
        certificate_id: &str,
        filed: Filed<'_>,
        years: i64,
        now: Millis,
        random: &Random,
    ) -> Result<()> {
        let s = subject(tx, certificate_id).await?;
        let content = ArchiveContent {
            format: FORMAT.into(),
            action: filed.action.into(),
            at: crate::time::format_cst(now),
            authority_name: staff.authority_name.clone(),
            authority_region: staff.authority_region.clone(),
            staff_username: staff.username.clone(),
            staff_name: staff.display_name.clone(),
            serial: s.serial,
            credit_code: s.credit_code,
            institution_name: s.institution_name,
            address: s.address,
            legal_rep: filed.legal_rep,
            first_manager: filed.first_manager,
            identity_check: filed.identity_check.into(),
            checklist: filed.checklist,
            detail: filed.detail.into(),
            filing: filed.filing.map(str::to_owned),
        };
        let json = serde_json::to_string(&content).map_err(|e| crate::error::Error::Archive(e.to_string()))?;
        let id = random.id();
        let keep_until = now.0.saturating_add(years.clamp(1, 100) * 366 * Millis::DAY);
        tx.execute(
            query(
                "INSERT INTO archive (id, authority_id, certificate_id, action, staff_id, content, content_hash, created_at, keep_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&id)
            .bind(&staff.authority_id)
            .bind(certificate_id)
            .bind(filed.action)
            .bind(&staff.id)
            .bind(tx.vault().seal(Column::ArchiveContent.at(&id), &json))
            .bind(sha256_hex(&json))
            .bind(now.0)
            .bind(keep_until),
        )
        .await?;
        Ok(())
    }

    /// Operators and auditors of the issuing authority read its archives.
    fn may_read(staff: &StaffView) -> Result<()> {
        if staff.duties.has(Duty::Operate) || staff.duties.has(Duty::Audit) {
            Ok(())
        } else {
            Err(DomainError::Forbidden.into())
        }
    }

    /// The archives of a certificate of the staff member's authority, newest first.
    pub async fn list(db: &Db, staff: &StaffView, certificate_id: &str) -> Result<Vec<ArchiveLine>> {
        may_read(staff)?;
        let rows: Vec<(String, String, i64, i64, String)> = db
            .fetch_all(
                query(
                    "SELECT id, action, created_at, keep_until, content_hash FROM archive \
                     WHERE certificate_id = $1 AND authority_id = $2 ORDER BY created_at DESC, id LIMIT 1000",
                )
                .bind(certificate_id)
                .bind(&staff.authority_id),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, action, created_at, keep_until, content_hash)| ArchiveLine {
                id,
                action,
                created_at,
                keep_until,
                content_hash,
            })
            .collect())
    }

    /// One archive of the staff member's authority as a file; its content is checked against
    /// its hash first, so a damaged record is reported, not exported.
    pub async fn export(db: &Db, staff: &StaffView, archive_id: &str) -> Result<ArchiveFile> {
        may_read(staff)?;
        let row: Option<(String, i64, i64, String, String)> = db
            .fetch_optional(
                query(
                    "SELECT action, created_at, keep_until, content, content_hash FROM archive \
                     WHERE id = $1 AND authority_id = $2",
                )
                .bind(archive_id)
                .bind(&staff.authority_id),
            )
            .await?;
        let Some((action, created_at, keep_until, sealed, hash)) = row else {
            return Err(DomainError::NotFound.into());
        };
        let content = db.vault().open(Column::ArchiveContent.at(archive_id), &sealed)?;
        if sha256_hex(&content) != hash {
            return Err(crate::error::Error::Archive(format!("archive {archive_id} does not match its hash")));
        }
        let package =
            Package { format: FORMAT.into(), id: archive_id.into(), created_at, keep_until, sha256: hash, content };
        let text = serde_json::to_string_pretty(&package).map_err(|e| crate::error::Error::Archive(e.to_string()))?;
        let day = crate::time::format_day(crate::time::today_cst(Millis(created_at)));
        Ok(ArchiveFile { file_name: format!("archive-{day}-{action}-{archive_id}.json"), text })
    }
}
