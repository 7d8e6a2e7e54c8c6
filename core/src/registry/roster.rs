//! 应发尽发 (issue 15 §3, seed 002): every public institution on the registration list should
//! hold a certificate. An authority imports its list (CSV: credit code, name, address, legal
//! representative with ID number and mobile, and the division code of the registering
//! authority), sees which institutions have a certificate yet, and issues to a selection at once,
//! each with a claim slip for its legal representative.
//!
//! A row names the authority it is registered with; an import may fill the lists of the
//! authorities below the importer's, never others. The representative's ID number and mobile are
//! sealed at rest like every personal field (R16) and shown masked.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// Most rows one import takes, and most bytes.
pub const MAX_ROWS: usize = 10_000;
pub const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Most institutions one bulk issue takes.
pub const MAX_BULK: usize = 50;
/// Rows per page of the list.
pub const PER_PAGE: i64 = 50;

/// One row of an import that was refused, by its line in the file (1-based).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub line: usize,
    pub error: FieldError,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Rows written (new or brought up to date).
    pub imported: usize,
    pub errors: Vec<RowError>,
}

/// An institution of the list as the console shows it: whether it has a certificate yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterLine {
    pub credit_code: String,
    pub name: String,
    pub address: String,
    /// Masked (R16).
    pub legal_rep_name: String,
    pub authority_name: String,
    /// The registering authority is the viewer's own: it may issue from here.
    pub own: bool,
    pub has_certificate: bool,
}

/// A page of the list and the counts that say how far 应发尽发 has come.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterPage {
    pub items: Vec<RosterLine>,
    /// Matching rows.
    pub total: i64,
    /// Of all rows in the viewer's subtree: how many, and how many hold an active certificate.
    pub listed: i64,
    pub covered: i64,
    pub page: i64,
    pub per_page: i64,
}

/// The cells of a CSV text, line by line: RFC 4180 quoting (`"a,b"`, `""` for a quote), CR LF or
/// LF; a byte-order mark at the start is skipped. Each line keeps its 1-based number; blank lines
/// are left out.
pub fn csv_rows(text: &str) -> Vec<(usize, Vec<String>)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let (mut row, mut cell) = (Vec::new(), String::new());
    let (mut line, mut row_line) = (1_usize, 1_usize);
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                cell.push(c);
            }
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                if row.iter().any(|c| !c.trim().is_empty()) {
                    rows.push((row_line, std::mem::take(&mut row)));
                }
                row.clear();
                line += 1;
                row_line = line;
            }
            (false, c) => cell.push(c),
        }
    }
    row.push(cell);
    if row.iter().any(|c| !c.trim().is_empty()) {
        rows.push((row_line, row));
    }
    rows
}

/// True for a header line (its first cell names the column rather than holding a code).
pub fn is_header(cells: &[String]) -> bool {
    cells.first().is_some_and(|c| {
        let c = c.trim();
        c.eq_ignore_ascii_case("credit_code") || c.contains("代码")
    })
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use std::collections::HashMap;

    use super::*;

    use crate::certificate::{self, Checklist, ClaimCode, FirstManagerChoice, IssuePolicy, IssueRequest, PersonInput};
    use crate::error::{DomainError, Problem, Result};
    use crate::identity::IdentityVerifier;
    use crate::mask;
    use crate::seal::Column;
    use crate::secret::Random;
    use crate::staff::{self, Duty, StaffView};
    use crate::store::{Db, query};
    use crate::time::Millis;
    use crate::validate::{self, Checks};

    /// One row checked: who registers it and what it says.
    struct Row {
        authority_id: String,
        credit_code: String,
        name: String,
        address: String,
        rep: PersonInput,
    }

    /// Checks one row's cells against the authorities the importer may fill (division code →
    /// id); answers the row or its first error.
    fn check_row(
        cells: &[String],
        own_region: &str,
        authorities: &HashMap<String, String>,
    ) -> std::result::Result<Row, FieldError> {
        let cell = |i: usize| cells.get(i).map(|c| c.trim()).unwrap_or_default();
        let mut checks = Checks::new();
        let credit_code = checks.take(validate::credit_code("credit_code", cell(0)));
        let name = checks.take(validate::text("name", cell(1), 100));
        let address = checks.take(validate::text("address", cell(2), 200));
        let rep = PersonInput {
            name: checks.take(validate::person_name("legal_rep_person_name", cell(3))),
            id_number: checks.take(validate::resident_id("legal_rep_id_number", cell(4))),
            mobile: checks.take(validate::mobile("legal_rep_mobile", cell(5))),
        };
        let region = match cell(6) {
            "" => own_region.to_owned(),
            r => r.to_owned(),
        };
        if let Err(DomainError::Validation(errors)) = checks.finish() {
            return Err(errors
                .into_iter()
                .next()
                .unwrap_or_else(|| FieldError::new("credit_code", Problem::BadFormat)));
        }
        let Some(authority_id) = authorities.get(&region) else {
            return Err(FieldError::new("region_code", Problem::OutsideDivision));
        };
        crate::authority::institution_division("credit_code", &credit_code, &region)?;
        Ok(Row { authority_id: authority_id.clone(), credit_code, name, address, rep })
    }

    /// Imports a registration list into the lists of the importer's authority and those below
    /// it; rows already listed (by credit code) are brought up to date. Rows in error are
    /// reported by line and change nothing; the others are written.
    pub async fn import(db: &Db, staff: &StaffView, csv: &str, now: Millis, random: &Random) -> Result<ImportReport> {
        if !(staff.duties.has(Duty::Operate) || staff.duties.has(Duty::Administer)) {
            return Err(DomainError::Forbidden.into());
        }
        if csv.len() > MAX_BYTES {
            return Err(DomainError::field("csv", Problem::TooLong { max: MAX_BYTES }).into());
        }
        let mut rows = csv_rows(csv);
        if rows.first().is_some_and(|(_, cells)| is_header(cells)) {
            rows.remove(0);
        }
        if rows.len() > MAX_ROWS {
            return Err(DomainError::field("csv", Problem::TooLong { max: MAX_ROWS }).into());
        }
        let subtree = crate::authority::subtree(db, staff).await?;
        let authorities: HashMap<String, String> = subtree.into_iter().map(|a| (a.region_code, a.id)).collect();
        let mut report = ImportReport::default();
        let mut good = Vec::new();
        for (line, cells) in &rows {
            match check_row(cells, &staff.authority_region, &authorities) {
                Ok(row) => good.push(row),
                Err(error) => report.errors.push(RowError { line: *line, error }),
            }
        }
        let vault = db.vault();
        let mut tx = db.begin_write().await?;
        for row in &good {
            // One id per credit code, kept across imports: the seal is bound to it.
            let known: Option<String> = tx
                .fetch_optional(
                    query("SELECT id FROM roster WHERE credit_code = $1").lock_rows().bind(&row.credit_code),
                )
                .await?;
            let id = known.clone().unwrap_or_else(|| random.id());
            let sealed_id = vault.seal(Column::RosterIdNumber.at(&id), &row.rep.id_number);
            let sealed_mobile = vault.seal(Column::RosterMobile.at(&id), &row.rep.mobile);
            let sql = if known.is_some() {
                "UPDATE roster SET authority_id = $2, name = $4, address = $5, legal_rep_name = $6, legal_rep_id_number = $7, \
                 legal_rep_mobile = $8, imported_at = $9 WHERE id = $1 AND credit_code = $3"
            } else {
                "INSERT INTO roster (id, authority_id, credit_code, name, address, legal_rep_name, legal_rep_id_number, \
                 legal_rep_mobile, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            };
            tx.execute(
                query(sql)
                    .bind(&id)
                    .bind(&row.authority_id)
                    .bind(&row.credit_code)
                    .bind(&row.name)
                    .bind(&row.address)
                    .bind(&row.rep.name)
                    .bind(sealed_id)
                    .bind(sealed_mobile)
                    .bind(now.0),
            )
            .await?;
            report.imported += 1;
        }
        let detail = format!("{} imported, {} refused", report.imported, report.errors.len());
        let target = ("roster", staff.authority_id.as_str());
        staff::record(&mut tx, Some(staff), &staff.authority_id, "roster_import", target, &detail, now, random).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// The list of the viewer's subtree, a page at a time, optionally only the institutions
    /// without an active certificate, found by a part of the name or credit code.
    pub async fn page(db: &Db, staff: &StaffView, text: &str, without_only: bool, page: i64) -> Result<RosterPage> {
        let text = certificate::search_text(text);
        let covered_sql = "EXISTS (SELECT 1 FROM institution i JOIN certificate c ON c.institution_id = i.id \
             WHERE i.credit_code = r.credit_code AND c.status = 'active')";
        let mut filter = String::from("r.authority_id IN (SELECT id FROM sub)");
        if without_only {
            filter.push_str(&format!(" AND NOT {covered_sql}"));
        }
        let mut q_text = None;
        if !text.is_empty() {
            filter.push_str(" AND (r.name LIKE $2 OR r.credit_code LIKE $3)");
            q_text = Some((format!("%{text}%"), format!("%{}%", text.to_uppercase())));
        }
        let with = crate::stats::SUBTREE;
        let page = page.clamp(0, 100_000);
        let sql = format!(
            "{with} SELECT r.credit_code, r.name, r.address, r.legal_rep_name, a.name, r.authority_id, {covered_sql} \
             FROM roster r JOIN authority a ON a.id = r.authority_id WHERE {filter} \
             ORDER BY r.credit_code LIMIT {PER_PAGE} OFFSET {}",
            page * PER_PAGE
        );
        let count = format!("{with} SELECT COUNT(*) FROM roster r WHERE {filter}");
        let bind = |sql: &str| {
            let mut q = query(sql).bind(&staff.authority_id);
            if let Some((name, code)) = &q_text {
                q = q.bind(name).bind(code);
            }
            q
        };
        let rows: Vec<(String, String, String, String, String, String, bool)> = db.fetch_all(bind(&sql)).await?;
        let total: i64 = db.fetch_one(bind(&count)).await?;
        let coverage = format!(
            "{with} SELECT COUNT(*), COUNT(CASE WHEN {covered_sql} THEN 1 END) FROM roster r \
             WHERE r.authority_id IN (SELECT id FROM sub)"
        );
        let (listed, covered): (i64, i64) = db.fetch_one(query(&coverage).bind(&staff.authority_id)).await?;
        let items = rows
            .into_iter()
            .map(|(credit_code, name, address, rep, authority_name, authority_id, has_certificate)| RosterLine {
                credit_code,
                name,
                address,
                legal_rep_name: mask::person_name(&rep),
                authority_name,
                own: authority_id == staff.authority_id,
                has_certificate,
            })
            .collect();
        Ok(RosterPage { items, total, listed, covered, page, per_page: PER_PAGE })
    }

    /// Issues certificates to the listed institutions of the operator's own authority named by
    /// credit code (at most [`MAX_BULK`]), the legal representative as first manager; answers,
    /// per code, its claim code or why not. Each is its own issue (R1, R2, R22), archived as a
    /// bulk issue whose papers the counter has not seen.
    pub async fn bulk_issue(
        db: &Db,
        operator: &StaffView,
        credit_codes: &[String],
        identity: &IdentityVerifier,
        policy: IssuePolicy,
        now: Millis,
        random: &Random,
    ) -> Result<Vec<(String, std::result::Result<ClaimCode, DomainError>)>> {
        if !operator.duties.has(Duty::Operate) {
            return Err(DomainError::Forbidden.into());
        }
        if credit_codes.is_empty() || credit_codes.len() > MAX_BULK {
            return Err(DomainError::field("selection", Problem::OutOfRange).into());
        }
        let mut out = Vec::new();
        for code in credit_codes {
            let code = code.trim().to_ascii_uppercase();
            let row: Option<(String, String, String, String, String, String)> = db
                .fetch_optional(
                    query(
                        "SELECT id, name, address, legal_rep_name, legal_rep_id_number, legal_rep_mobile FROM roster \
                         WHERE credit_code = $1 AND authority_id = $2",
                    )
                    .bind(&code)
                    .bind(&operator.authority_id),
                )
                .await?;
            let Some((id, name, address, rep_name, sealed_id, sealed_mobile)) = row else {
                out.push((code, Err(DomainError::NotFound)));
                continue;
            };
            let vault = db.vault();
            let request = IssueRequest {
                credit_code: code.clone(),
                name,
                address,
                legal_rep: PersonInput {
                    name: rep_name,
                    id_number: vault.open(Column::RosterIdNumber.at(&id), &sealed_id)?,
                    mobile: vault.open(Column::RosterMobile.at(&id), &sealed_mobile)?,
                },
                first_manager: FirstManagerChoice::LegalRepresentative,
                checklist: Checklist::default(),
            };
            match certificate::issue_listed(db, operator, &request, identity, policy, now, random).await {
                Ok((_, claim)) => out.push((code, Ok(claim))),
                Err(crate::error::Error::Domain(e)) => out.push((code, Err(e))),
                Err(other) => return Err(other),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_follow_rfc_4180_and_keep_their_line_numbers() {
        let text = "\u{feff}credit_code,name\r\n12110105MB0000000X,\"北京市\"\"甲\"\"研究所, 东院\"\r\n\r\n12110105MB0000001X,\"two\nlines\"\nlast,row";
        let rows = csv_rows(text);
        assert_eq!(rows.len(), 4);
        assert!(is_header(&rows[0].1));
        assert_eq!(rows[1], (2, vec!["12110105MB0000000X".to_owned(), "北京市\"甲\"研究所, 东院".to_owned()]));
        assert_eq!(rows[2].0, 4, "the blank line 3 is skipped");
        assert_eq!(rows[2].1[1], "two\nlines");
        assert_eq!(rows[3], (6, vec!["last".to_owned(), "row".to_owned()]));
        assert!(!is_header(&rows[1].1));
        assert!(is_header(&["统一社会信用代码".to_owned()]));
    }
}
