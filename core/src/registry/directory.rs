//! Issue 18 §2: what a registered relying party's system may look up about an institution by
//! its unified social credit code: the basic registration data and the standing of its newest
//! certificate (R15, R20). Personal data is masked as on the public page (R16).

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Result};
use crate::store::{Db, query};
use crate::time::Millis;
use crate::{mask, validate, validity};

/// An institution as the directory shows it to a relying party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub credit_code: String,
    pub name: String,
    pub address: String,
    /// Masked (R16): `张*`.
    pub legal_rep_name: String,
    /// The registration authority the institution is registered with.
    pub authority_name: String,
    /// The newest certificate's serial; `None` while none was ever issued.
    pub certificate_serial: Option<String>,
    /// `active`, `expired` (R20: active but past its validity), `cancelled`, `deleted`, or
    /// `none` while no certificate was ever issued.
    pub certificate_status: String,
    pub issued_at: Option<i64>,
    /// The last day of validity (`YYYY-MM-DD`, China Standard Time) of an active certificate.
    pub valid_until: Option<String>,
}

/// The institution registered under `credit_code`, with its newest certificate's standing.
pub async fn registration(db: &Db, credit_code: &str, now: Millis) -> Result<Registration> {
    let code = validate::credit_code("credit_code", credit_code).map_err(|e| DomainError::Validation(vec![e]))?;
    type Row = (String, String, String, String, String, Option<String>, Option<String>, Option<i64>, Option<i64>);
    let row: Option<Row> = db
        .fetch_optional(
            query(
                "SELECT i.credit_code, i.name, i.address, i.legal_rep_name, a.name, c.serial, c.status, c.issued_at, c.expires_at \
                 FROM institution i JOIN authority a ON a.id = i.authority_id \
                 LEFT JOIN certificate c ON c.id = (SELECT n.id FROM certificate n WHERE n.institution_id = i.id \
                 ORDER BY n.issued_at DESC, n.id DESC LIMIT 1) \
                 WHERE i.credit_code = $1",
            )
            .bind(&code)
            .point_read(),
        )
        .await?;
    let (credit_code, name, address, legal_rep, authority_name, serial, status, issued_at, expires_at) =
        row.ok_or(DomainError::NotFound)?;
    let certificate_status = match (status.as_deref(), expires_at) {
        (None, _) => "none".to_owned(),
        (Some("active"), Some(e)) if e <= now.0 => "expired".to_owned(),
        (Some(s), _) => s.to_owned(),
    };
    let valid_until = match (status.as_deref(), expires_at) {
        (Some("active"), Some(e)) => Some(validity::last_day(e)),
        _ => None,
    };
    Ok(Registration {
        credit_code,
        name,
        address,
        legal_rep_name: mask::person_name(&legal_rep),
        authority_name,
        certificate_serial: serial,
        certificate_status,
        issued_at,
        valid_until,
    })
}
