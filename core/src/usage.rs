//! Reading usage records (R12: logins, signatures, verified presentations) as R7 allows: the
//! first manager sees the certificate's every record, a manager its own and those of the users
//! it authorized, a user its own. Filtered by kind and China Standard Time dates, in pages, and as
//! CSV for the first manager. Records are only ever appended (see `records`).
//!
//! Which records a caller sees is `Caller::sees_sql` (R7); this module must not restate it.

use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Problem};
use crate::time;

/// Records per page.
pub const PER_PAGE: i64 = 20;
/// Most rows in one CSV export.
pub const CSV_MAX: i64 = 10_000;
crate::text_enum! {
    /// The kinds of usage records (R12).
    pub enum UsageKind {
        Login = "login",
        Present = "present",
        Sign = "sign",
    }
}

impl UsageKind {
    /// The kind as people read it.
    pub fn label(self, lang: crate::Lang) -> &'static str {
        match self {
            UsageKind::Login => lang.pick("扫码登录", "Scan login"),
            UsageKind::Present => lang.pick("出示核验", "Verified presentation"),
            UsageKind::Sign => lang.pick("扫码签名", "Scan signing"),
        }
    }
}

/// A record's result as people read it (issue 16 §7); an unknown one as it is stored.
pub fn result_text(result: &str, lang: crate::Lang) -> String {
    let (zh, en) = match result {
        "verified" => ("核验通过", "Verified"),
        "confirmed" => ("已确认", "Confirmed"),
        "rejected" => ("已拒绝", "Rejected"),
        "signed" => ("已签名", "Signed"),
        "match_failed" => ("所选数字不符，已终止", "Wrong number picked; ended"),
        other => return other.to_owned(),
    };
    lang.pick(zh, en).to_owned()
}

/// A record's system as people read it: the public check page and the manager dashboard by
/// name, a relying party or counter as it is called.
pub fn system_text(system: &str, lang: crate::Lang) -> String {
    match system {
        "public" => lang.pick("公开核验页", "Public check page").to_owned(),
        "dashboard" => lang.pick("管理人后台", "Manager dashboard").to_owned(),
        other => other.to_owned(),
    }
}

/// What the dashboard asks for. Empty strings mean "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFilter {
    /// `login`, `present`, `sign`, or empty.
    pub kind: String,
    /// `YYYY-MM-DD`, China Standard Time, inclusive.
    pub from_day: String,
    pub to_day: String,
    /// 0-based.
    pub page: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageView {
    pub at: i64,
    pub kind: UsageKind,
    /// The application system, counter (`party · counter`) or `public` (the public check page).
    pub system: String,
    pub result: String,
    pub holder_name: String,
    /// `None` for a record of no holder (a public check).
    pub role: Option<crate::holder::Role>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsagePage {
    pub items: Vec<UsageView>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// The filter's instants: `[from, to)` in epoch milliseconds, from CST days.
pub fn bounds(filter: &UsageFilter) -> Result<(Option<i64>, Option<i64>), Vec<FieldError>> {
    let mut errors = Vec::new();
    if !filter.kind.is_empty() && UsageKind::from_sql(&filter.kind).is_none() {
        errors.push(FieldError::new("kind", Problem::BadFormat));
    }
    let day = |field: &str, text: &str, errors: &mut Vec<FieldError>| {
        if text.trim().is_empty() {
            return None;
        }
        let parsed = time::parse_day(text);
        if parsed.is_none() {
            errors.push(FieldError::new(field, Problem::BadFormat));
        }
        parsed
    };
    let from = day("from_day", &filter.from_day, &mut errors);
    let to = day("to_day", &filter.to_day, &mut errors);
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.push(FieldError::new("to_day", Problem::OutOfRange));
    }
    if filter.page < 0 {
        errors.push(FieldError::new("page", Problem::OutOfRange));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // A CST day starts at 16:00 UTC the day before.
    let start_of = |d: i64| d * time::Millis::DAY - 8 * time::Millis::HOUR;
    Ok((from.map(start_of), to.map(|t| start_of(t + 1))))
}

/// One CSV field: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is prefixed with `'` so that spreadsheets do not run it as a formula.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::error::{DomainError, Result};
    use crate::holder::{Caller, Role};
    use crate::mask;
    use crate::store::{Db, Value, query};

    /// The `WHERE` of the records `caller` may see with `filter`, and its parameters.
    fn visible(caller: &Caller, own: bool, filter: &UsageFilter) -> Result<(String, Vec<Value>)> {
        let (from, to) = bounds(filter).map_err(DomainError::Validation)?;
        let mut values = vec![Value::from(&caller.certificate_id)];
        let mut sql = String::from("u.certificate_id = $1");
        // R7: the caller's own records, or those `Caller::sees`.
        let seen = if own { Some("u.holder_id = $2".to_owned()) } else { caller.sees_sql("u.holder_id", "h", 2) };
        if let Some(condition) = seen {
            values.push(Value::from(&caller.holder_id));
            sql.push_str(" AND ");
            sql.push_str(&condition);
        }
        if !filter.kind.is_empty() {
            values.push(Value::from(&filter.kind));
            sql.push_str(&format!(" AND u.kind = ${}", values.len()));
        }
        for (bound, op) in [(from, ">="), (to, "<")] {
            if let Some(at) = bound {
                values.push(Value::from(at));
                sql.push_str(&format!(" AND u.at {op} ${}", values.len()));
            }
        }
        Ok((sql, values))
    }

    type Row = (i64, UsageKind, String, String, Option<String>, Option<Role>);

    async fn rows(
        db: &Db,
        caller: &Caller,
        own: bool,
        filter: &UsageFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Row>, i64)> {
        let (cond, values) = visible(caller, own, filter)?;
        let from = "FROM usage_record u LEFT JOIN holder h ON h.id = u.holder_id";
        let count_sql = format!("SELECT COUNT(*) {from} WHERE {cond}");
        let n = values.len();
        let list_sql = format!(
            "SELECT u.at, u.kind, u.system, u.result, h.name, h.role {from} WHERE {cond} \
             ORDER BY u.at DESC, u.id LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let with_values = |sql: String| values.iter().cloned().fold(query(sql), |q, v| q.bind(v));
        let total: i64 = db.fetch_one(with_values(count_sql)).await?;
        let rows: Vec<Row> = db.fetch_all(with_values(list_sql).bind(limit).bind(offset)).await?;
        Ok((rows, total))
    }

    fn view((at, kind, system, result, name, role): Row) -> UsageView {
        UsageView {
            at,
            kind,
            system,
            result,
            holder_name: name.as_deref().map(mask::person_name).unwrap_or_default(),
            role,
        }
    }

    /// One page of the usage records `caller` may see (R7), newest first.
    pub async fn list(db: &Db, caller: &Caller, filter: &UsageFilter) -> Result<UsagePage> {
        page(db, caller, false, filter).await
    }

    /// One page of the caller's own usage records, whatever its role (the wallet's view).
    pub async fn list_own(db: &Db, caller: &Caller, filter: &UsageFilter) -> Result<UsagePage> {
        page(db, caller, true, filter).await
    }

    async fn page(db: &Db, caller: &Caller, own: bool, filter: &UsageFilter) -> Result<UsagePage> {
        let page = filter.page.clamp(0, 1_000_000);
        let (rows, total) = rows(db, caller, own, filter, PER_PAGE, page * PER_PAGE).await?;
        Ok(UsagePage { items: rows.into_iter().map(view).collect(), total, page, per_page: PER_PAGE })
    }

    /// The first manager's CSV export of the filtered records (all pages, at most [`CSV_MAX`]),
    /// headers and values in the reader's language (issue 16 §7).
    pub async fn csv(db: &Db, caller: &Caller, filter: &UsageFilter, lang: crate::Lang) -> Result<String> {
        if !caller.is_first_manager() {
            return Err(DomainError::Forbidden.into());
        }
        let (rows, _) = rows(db, caller, false, filter, CSV_MAX, 0).await?;
        let header = lang.pick(
            "时间（北京时间）,类型,应用系统,结果,持证人,角色",
            "Time (China Standard Time),Kind,System,Result,Holder,Role",
        );
        let mut out = format!("{header}\r\n");
        for r in rows.into_iter().map(view) {
            let at = time::format_cst(time::Millis(r.at));
            let role = r.role.map_or("", |role| role.label(lang));
            let (system, result) = (system_text(&r.system, lang), result_text(&r.result, lang));
            let fields = [at.as_str(), r.kind.label(lang), &system, &result, &r.holder_name, role];
            out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
            out.push_str("\r\n");
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_days_are_china_standard_time_and_checked() {
        let f = UsageFilter { from_day: "2026-01-01".into(), to_day: "2026-01-01".into(), ..Default::default() };
        let (from, to) = bounds(&f).unwrap();
        assert_eq!(from, Some(1_767_196_800_000), "2025-12-31T16:00Z");
        assert_eq!(to, Some(1_767_196_800_000 + time::Millis::DAY));
        let bad = UsageFilter { kind: "delete".into(), from_day: "2026-02-30".into(), ..Default::default() };
        assert_eq!(bounds(&bad).unwrap_err().len(), 2);
        let reversed = UsageFilter { from_day: "2026-02-02".into(), to_day: "2026-02-01".into(), ..Default::default() };
        assert!(bounds(&reversed).is_err());
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@cmd"), "'@cmd");
    }
}
