//! Statistics of an authority and the authorities below it, and its issuance and usage lists
//! (issue 15 §3, seed 002): certificates issued, claimed, ended, active; managers and users;
//! usage by kind and by relying party, per day, month or year of China Standard Time.
//!
//! Every figure is counted per CST day and folded here into months and years, for each authority
//! with its whole subtree, from rows that are few whatever the subtree's size:
//! - certificates issued, claimed and ended per day (`certificate_daily`) and certificates,
//!   managers and users now (`certificate_tally`, by status and expiry) are kept by the writes
//!   themselves: triggers on `certificate` and `holder` add each row's change to its authority and
//!   every one above it, in the transaction that writes it (migration 0038). They rely on every
//!   write locking the certificate's row before it or its holders change (R3), as the code does;
//! - usage of the days that are over is read from `usage_daily`, rolled up once per day
//!   ([`roll_up_usage`]); only the days since come from the records (`usage_record.authority_id`
//!   with `at`).
//!
//! A higher authority sees the counts of its subtree, never a person's data (R16, R22): the lists
//! name institutions, not people.

use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Problem};
use crate::i18n::Lang;
use crate::time;

crate::text_enum! {
    /// How the statistics' rows are cut.
    pub enum Period {
        Day = "day",
        Month = "month",
        Year = "year",
    }
}

impl Period {
    /// The most rows one request may ask for: a year of days, ten years of months, fifty years.
    pub fn max_rows(self) -> i64 {
        match self {
            Period::Day => 366,
            Period::Month => 120,
            Period::Year => 50,
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Period::Day => lang.pick("按日", "By day"),
            Period::Month => lang.pick("按月", "By month"),
            Period::Year => lang.pick("按年", "By year"),
        }
    }

    /// The label of the row a CST day (days since 1970-01-01) falls in.
    pub fn row_of(self, day: i64) -> String {
        let text = time::format_day(day);
        match self {
            Period::Day => text,
            Period::Month => text[..7].to_owned(),
            Period::Year => text[..4].to_owned(),
        }
    }
}

/// What the console asks for. Empty strings take defaults: the caller's own authority and its
/// subtree, rows by month, and the twelve months (thirty days, five years) up to today.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsQuery {
    /// An authority in the caller's subtree; empty for the caller's own.
    pub authority_id: String,
    /// `day`, `month` or `year`.
    pub period: String,
    /// `YYYY-MM-DD`, CST, inclusive.
    pub from_day: String,
    pub to_day: String,
}

/// A query checked: the period and the CST days `[from, to]` it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub period: Period,
    pub from: i64,
    pub to: i64,
}

impl Span {
    /// The instants `[start, end)` in epoch milliseconds.
    pub fn instants(self) -> (i64, i64) {
        let start_of = |d: i64| d * time::Millis::DAY - 8 * time::Millis::HOUR;
        (start_of(self.from), start_of(self.to + 1))
    }

    /// Every row label of the span, oldest first.
    pub fn rows(self) -> Vec<String> {
        let mut rows: Vec<String> = Vec::new();
        for day in self.from..=self.to {
            let label = self.period.row_of(day);
            if rows.last() != Some(&label) {
                rows.push(label);
            }
        }
        rows
    }
}

/// Checks a query's period and days against `today` (CST days); answers the span or every
/// field that is wrong.
pub fn span(q: &StatsQuery, today: i64) -> Result<Span, Vec<FieldError>> {
    let mut errors = Vec::new();
    let period = match q.period.trim() {
        "" => Period::Month,
        p => Period::from_sql(p).unwrap_or_else(|| {
            errors.push(FieldError::new("stats_period", Problem::BadFormat));
            Period::Month
        }),
    };
    let mut day = |field: &str, text: &str| match text.trim() {
        "" => None,
        t => {
            let parsed = time::parse_day(t);
            if parsed.is_none() {
                errors.push(FieldError::new(field, Problem::BadFormat));
            }
            parsed
        }
    };
    let to = day("to_day", &q.to_day).unwrap_or(today);
    let from = day("from_day", &q.from_day).unwrap_or_else(|| {
        let (y, m, _) = time::civil_from_days(to);
        match period {
            Period::Day => to - 29,
            Period::Month => {
                let (y, m) = if m == 12 { (y, 1) } else { (y - 1, m + 1) };
                time::days_from_civil(y, m, 1)
            }
            Period::Year => time::days_from_civil(y - 4, 1, 1),
        }
    });
    if errors.is_empty() {
        let span = Span { period, from, to };
        if to < from {
            errors.push(FieldError::new("to_day", Problem::OutOfRange));
        } else if span.rows().len() as i64 > period.max_rows() {
            errors.push(FieldError::new("from_day", Problem::OutOfRange));
        } else {
            return Ok(span);
        }
    }
    Err(errors)
}

/// One row of the statistics: what happened in one day, month or year.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsRow {
    pub label: String,
    pub issued: i64,
    pub claimed: i64,
    /// Cancelled or deleted.
    pub ended: i64,
    pub logins: i64,
    pub counter_checks: i64,
    pub public_checks: i64,
    pub signatures: i64,
}

/// The figures of one authority below the one asked for, with all of its own subtree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BelowLine {
    pub authority_id: String,
    pub name: String,
    pub region_code: String,
    pub issued: i64,
    pub active: i64,
}

/// Usage in the span per relying party (`public` checks and sign-ins without a party apart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyLine {
    /// Empty for usage of no relying party (the public check page).
    pub party: String,
    pub count: i64,
}

/// The statistics of an authority and its subtree over a span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    pub authority_id: String,
    pub authority_name: String,
    pub region_code: String,
    pub period: Period,
    pub from_day: String,
    pub to_day: String,
    pub rows: Vec<StatsRow>,
    /// Now, not in the span: live certificates (active and within their validity), active ones
    /// past their validity (R20: they verify nothing until renewed), ended ones, and the active
    /// managers and users of the live certificates.
    pub active: i64,
    #[serde(default)]
    pub expired: i64,
    pub cancelled: i64,
    pub deleted: i64,
    pub managers: i64,
    pub users: i64,
    pub below: Vec<BelowLine>,
    pub parties: Vec<PartyLine>,
    /// The rows drawn as a bar chart (SVG markup made on the server: no chart code reaches the
    /// browser), in the language asked for.
    pub chart_svg: String,
}

impl Statistics {
    /// The rows as CSV (the table beside the chart), with a totals line.
    /// The table as CSV with its totals, headers in the reader's language (issue 16 §7).
    pub fn csv(&self, lang: crate::Lang) -> String {
        let header = lang.pick(
            "期间,发证数,领取数,注销或删除数,扫码登录,柜台核验,公开核验,扫码签名",
            "Period,Issued,Claimed,Ended,Scan logins,Counter checks,Public checks,Signatures",
        );
        let mut out = format!("{header}\r\n");
        let mut total = StatsRow { label: lang.pick("合计", "Total").into(), ..StatsRow::default() };
        for r in &self.rows {
            total.issued += r.issued;
            total.claimed += r.claimed;
            total.ended += r.ended;
            total.logins += r.logins;
            total.counter_checks += r.counter_checks;
            total.public_checks += r.public_checks;
            total.signatures += r.signatures;
        }
        for r in self.rows.iter().chain([&total]) {
            let n = [r.issued, r.claimed, r.ended, r.logins, r.counter_checks, r.public_checks, r.signatures];
            out.push_str(&crate::usage::csv_field(&r.label));
            for v in n {
                out.push(',');
                out.push_str(&v.to_string());
            }
            out.push_str("\r\n");
        }
        out
    }
}

/// One line of the issuance list (发证清单): a certificate issued in the span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedLine {
    pub issued_at: i64,
    pub serial: String,
    pub institution_name: String,
    pub credit_code: String,
    pub authority_name: String,
    pub status: crate::certificate::CertificateStatus,
    pub claimed: bool,
}

/// One line of the usage list (用证清单): a use of a certificate in the span. No person is named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsedLine {
    pub at: i64,
    pub kind: crate::usage::UsageKind,
    pub system: String,
    pub result: String,
    pub institution_name: String,
    pub credit_code: String,
    pub serial: String,
}

/// Lines of a list per page.
pub const LIST_PAGE: i64 = 50;

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;

    use crate::certificate::CertificateStatus;
    use crate::error::{DomainError, Result};
    use crate::staff::{Duty, StaffView};
    use crate::store::{Applied, Db, Unit, query};
    use crate::time::Millis;
    use crate::usage::{CSV_MAX, UsageKind, csv_field};

    /// The ids of an authority and all below it, as a `WITH` clause naming `sub(id)`, rooted at `$1`.
    pub const SUBTREE: &str = "WITH RECURSIVE sub(id) AS (SELECT id FROM authority WHERE id = $1 \
         UNION ALL SELECT a.id FROM authority a JOIN sub ON a.parent_id = sub.id)";

    /// A CST day of an instant column, in SQL (integer division on both engines).
    fn day_of(column: &str) -> String {
        format!("(({column} + {}) / {})", 8 * Millis::HOUR, Millis::DAY)
    }

    /// Whether a usage record was made by a registered party, in SQL: 1 or 0. For a checked
    /// presentation that is a counter check (at a counter's page, or by the party's own system
    /// through the verification API, issue 18 §2); without a party it is a public check.
    const AT_COUNTER: &str = "CAST(CASE WHEN u.party_id IS NULL THEN 0 ELSE 1 END AS BIGINT)";

    /// The instant a CST day begins, in epoch milliseconds.
    fn day_start(day: i64) -> i64 {
        day * Millis::DAY - 8 * Millis::HOUR
    }

    /// How long after a CST day ends its usage is rolled up: records are written with the time
    /// their app server read a moment before, and app servers' clocks differ by a little.
    pub const ROLLUP_SETTLE_MINUTES: i64 = 10;

    /// The last CST day whose usage `usage_daily` holds (-1 for none).
    async fn usage_mark(db: &Db) -> Result<i64> {
        Ok(db.fetch_one(query("SELECT through_day FROM rollup_mark WHERE name = 'usage'")).await?)
    }

    /// Rolls the usage of every CST day that ended [`ROLLUP_SETTLE_MINUTES`] before `now` and is
    /// not rolled up yet into `usage_daily`, one row per authority *with its subtree*, day, kind,
    /// place (counter or not) and relying party; answers how many days it rolled up. The mark
    /// moves by compare-and-set in the same unit as the rows, so app servers that run it at once
    /// roll each day up once: the first commits, the others change nothing (issue 15 §3).
    pub async fn roll_up_usage(db: &Db, now: Millis) -> Result<i64> {
        let through = time::today_cst(Millis(now.0 - ROLLUP_SETTLE_MINUTES * Millis::MINUTE)) - 1;
        let mark = usage_mark(db).await?;
        if mark >= through {
            return Ok(0);
        }
        let advance = query("UPDATE rollup_mark SET through_day = $1 WHERE name = 'usage' AND through_day = $2")
            .bind(through)
            .bind(mark)
            .must_change();
        // Each authority with every authority above it: a record counts for all of them.
        let rows = format!(
            "WITH RECURSIVE up(id, anc) AS (SELECT id, id FROM authority \
             UNION ALL SELECT up.id, a.parent_id FROM up JOIN authority a ON a.id = up.anc WHERE a.parent_id IS NOT NULL) \
             INSERT INTO usage_daily (authority_id, day, kind, at_counter, party_id, count) SELECT up.anc, {day}, u.kind, {AT_COUNTER}, COALESCE(u.party_id, ''), COUNT(*) \
             FROM usage_record u JOIN up ON up.id = u.authority_id WHERE u.at >= $1 AND u.at < $2 \
             GROUP BY 1, 2, 3, 4, 5",
            day = day_of("u.at")
        );
        let rows = query(rows).bind(day_start(mark + 1)).bind(day_start(through + 1));
        match db.write(Unit::new([advance, rows.into()])).await? {
            Applied::Done(_) => Ok(through - mark),
            Applied::Stopped(_) => Ok(0),
        }
    }

    /// Usage in the span per relying party, most first, at most 20: closed days from the rollup
    /// (up to `mark`), the `live` instants from the records; ties by the party's name.
    async fn parties(db: &Db, root: &str, span: Span, mark: i64, live: (i64, i64)) -> Result<Vec<PartyLine>> {
        let rolled = "SELECT d.party_id, CAST(SUM(d.count) AS BIGINT) FROM usage_daily d \
             WHERE d.authority_id = $1 AND d.day >= $2 AND d.day <= $3 GROUP BY d.party_id";
        let mut counts: Vec<(String, i64)> =
            db.fetch_all(query(rolled).bind(root).bind(span.from).bind(span.to.min(mark))).await?;
        if live.0 < live.1 {
            let sql = format!(
                "{SUBTREE} SELECT COALESCE(u.party_id, ''), COUNT(*) FROM usage_record u \
                 WHERE u.authority_id IN (SELECT id FROM sub) AND u.at >= $2 AND u.at < $3 GROUP BY 1"
            );
            counts.extend(db.fetch_all::<(String, i64)>(query(&sql).bind(root).bind(live.0).bind(live.1)).await?);
        }
        let mut by_party = std::collections::BTreeMap::<String, i64>::new();
        for (party, n) in counts {
            *by_party.entry(party).or_default() += n;
        }
        // The twenty most used first, then their names: a nation's hundreds of parties are not
        // each looked up to be thrown away. A tie at the twentieth place goes by the party's key.
        let mut top: Vec<(String, i64)> = by_party.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(20);
        let mut lines = Vec::with_capacity(top.len());
        for (id, count) in top {
            let name = match id.as_str() {
                "" => String::new(),
                id => db
                    .fetch_optional::<String>(query("SELECT name FROM relying_party WHERE id = $1").bind(id))
                    .await?
                    .unwrap_or_default(),
            };
            lines.push(PartyLine { party: name, count });
        }
        lines.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.party.cmp(&b.party)));
        Ok(lines)
    }

    /// The authority a statistics request is about: the caller's own, or one below it. Reading
    /// statistics and lists is an auditor's or an administrator's work (R22).
    pub(crate) async fn scope(db: &Db, staff: &StaffView, authority_id: &str) -> Result<(String, String, String)> {
        if !(staff.duties.has(Duty::Audit) || staff.duties.has(Duty::Administer)) {
            return Err(DomainError::Forbidden.into());
        }
        let wanted = match authority_id.trim() {
            "" => staff.authority_id.as_str(),
            id => id,
        };
        let sql = format!(
            "{SUBTREE} SELECT a.id, a.name, a.region_code FROM authority a JOIN sub ON sub.id = a.id WHERE a.id = $2"
        );
        let row: Option<(String, String, String)> =
            db.fetch_optional(query(&sql).bind(&staff.authority_id).bind(wanted)).await?;
        // An authority outside the caller's subtree is as unknown as one that does not exist.
        row.ok_or_else(|| DomainError::NotFound.into())
    }

    /// Per-CST-day counts of certificates issued, first claimed and ended in the days
    /// `[from, to]`, of `root` with its subtree, as the writes keep them (migration 0038).
    async fn certificate_days(db: &Db, root: &str, (from, to): (i64, i64)) -> Result<Vec<(i64, i64, i64, i64)>> {
        let sql = "SELECT d.day, d.issued, d.claimed, d.ended FROM certificate_daily d \
             WHERE d.authority_id = $1 AND d.day >= $2 AND d.day <= $3";
        Ok(db.fetch_all(query(sql).bind(root).bind(from).bind(to)).await?)
    }

    /// Certificates of `root` with its subtree now, as the writes keep them (migration 0038):
    /// (live, lapsed, cancelled, deleted, managers and users of the live ones). R20: live while
    /// active and before `expires_at`.
    async fn certificates_now(db: &Db, root: &str, now: Millis) -> Result<CertificatesNow> {
        let sql = "SELECT t.status, CAST(CASE WHEN t.status = 'active' AND t.expires_at > $2 THEN 1 ELSE 0 END AS BIGINT), \
             CAST(SUM(t.certificates) AS BIGINT), CAST(SUM(t.managers) AS BIGINT), CAST(SUM(t.users) AS BIGINT) \
             FROM certificate_tally t WHERE t.authority_id = $1 GROUP BY 1, 2";
        let rows: Vec<(String, i64, i64, i64, i64)> = db.fetch_all(query(sql).bind(root).bind(now.0)).await?;
        let mut figures = CertificatesNow::default();
        for (status, live, n, managers, users) in rows {
            match (CertificateStatus::from_sql(&status), live) {
                (Some(CertificateStatus::Active), 1) => {
                    figures.live += n;
                    figures.managers += managers;
                    figures.users += users;
                }
                (Some(CertificateStatus::Active), _) => figures.lapsed += n,
                (Some(CertificateStatus::Cancelled), _) => figures.cancelled += n,
                (Some(CertificateStatus::Deleted), _) => figures.deleted += n,
                (None, _) => {}
            }
        }
        Ok(figures)
    }

    /// Escapes text for SVG markup.
    fn xml(text: &str) -> String {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    }

    /// The statistics' rows as a grouped bar chart: certificates issued, claimed and ended, and
    /// all usage, per row; an axis with the largest value, every label under its bars, and a
    /// legend. Pure markup, sized by its `viewBox`.
    pub fn chart_svg(rows: &[StatsRow], lang: Lang) -> String {
        const H: f64 = 220.0;
        const TOP: f64 = 24.0;
        const LEFT: f64 = 44.0;
        const BOTTOM: f64 = 40.0;
        /// A bar of each row: its name, its colour, its value.
        type Series = (&'static str, &'static str, fn(&StatsRow) -> i64);
        let series: [Series; 4] = [
            (lang.pick("发证", "Issued"), "#1f6feb", |r| r.issued),
            (lang.pick("领取", "Claimed"), "#2da44e", |r| r.claimed),
            (lang.pick("注销/删除", "Ended"), "#cf222e", |r| r.ended),
            (lang.pick("用证", "Used"), "#9a6700", |r| r.logins + r.counter_checks + r.public_checks + r.signatures),
        ];
        let max = rows.iter().flat_map(|r| series.iter().map(move |s| (s.2)(r))).max().unwrap_or(0).max(1);
        let group = 4.0 * 7.0 + 8.0;
        let width = LEFT + group * rows.len().max(1) as f64 + 8.0;
        let plot = H - TOP - BOTTOM;
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {H:.0}\" role=\"img\" class=\"chart\" \
             aria-label=\"{}\"><line x1=\"{LEFT}\" y1=\"{y0:.1}\" x2=\"{width:.0}\" y2=\"{y0:.1}\" stroke=\"#888\"/>\
             <text x=\"{lx:.0}\" y=\"{TOP:.0}\" text-anchor=\"end\" font-size=\"10\">{max}</text>\
             <text x=\"{lx:.0}\" y=\"{y0:.1}\" text-anchor=\"end\" font-size=\"10\">0</text>",
            xml(lang.pick("统计图", "Statistics chart")),
            y0 = H - BOTTOM,
            lx = LEFT - 4.0,
        );
        for (i, r) in rows.iter().enumerate() {
            let x0 = LEFT + 4.0 + group * i as f64;
            for (j, (name, colour, value)) in series.iter().enumerate() {
                let v = value(r);
                let h = plot * v as f64 / max as f64;
                svg.push_str(&format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"6\" height=\"{h:.1}\" fill=\"{colour}\"><title>{} {}: {v}</title></rect>",
                    x0 + 7.0 * j as f64,
                    H - BOTTOM - h,
                    xml(&r.label),
                    xml(name),
                ));
            }
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"end\" transform=\"rotate(-45 {0:.1} {1:.1})\">{}</text>",
                x0 + 14.0,
                H - BOTTOM + 12.0,
                xml(&r.label),
            ));
        }
        for (j, (name, colour, _)) in series.iter().enumerate() {
            let x = LEFT + 90.0 * j as f64;
            svg.push_str(&format!(
                "<rect x=\"{x:.0}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{:.0}\" y=\"13\" font-size=\"11\">{}</text>",
                x + 14.0,
                xml(name)
            ));
        }
        svg.push_str("</svg>");
        svg
    }

    /// The statistics of the authority asked for (the caller's own by default) and its subtree,
    /// the chart labelled in `lang`.
    pub async fn statistics(db: &Db, staff: &StaffView, q: &StatsQuery, lang: Lang, now: Millis) -> Result<Statistics> {
        let span = span(q, time::today_cst(now)).map_err(DomainError::Validation)?;
        let (root, authority_name, region_code) = scope(db, staff, &q.authority_id).await?;
        let range = span.instants();
        let labels = span.rows();
        let mut rows: Vec<StatsRow> =
            labels.iter().map(|l| StatsRow { label: l.clone(), ..StatsRow::default() }).collect();
        let index = |day: i64| labels.binary_search(&span.period.row_of(day)).ok();

        for (day, issued, claimed, ended) in certificate_days(db, &root, (span.from, span.to)).await? {
            if let Some(i) = index(day) {
                let r = &mut rows[i];
                r.issued += issued;
                r.claimed += claimed;
                r.ended += ended;
            }
        }
        // Closed days from the rollup, the days after it from the records themselves.
        let mark = usage_mark(db).await?;
        let live = (range.0.max(day_start(mark + 1)), range.1);
        let rolled = "SELECT d.day, d.kind, d.at_counter, CAST(SUM(d.count) AS BIGINT) FROM usage_daily d \
             WHERE d.authority_id = $1 AND d.day >= $2 AND d.day <= $3 GROUP BY d.day, d.kind, d.at_counter";
        let mut used: Vec<(i64, String, i64, i64)> =
            db.fetch_all(query(rolled).bind(&root).bind(span.from).bind(span.to.min(mark))).await?;
        if live.0 < live.1 {
            let usage = format!(
                "{SUBTREE} SELECT {day} AS day, u.kind, {AT_COUNTER} AS at_counter, COUNT(*) \
                 FROM usage_record u WHERE u.authority_id IN (SELECT id FROM sub) AND u.at >= $2 AND u.at < $3 \
                 GROUP BY 1, 2, 3",
                day = day_of("u.at")
            );
            used.extend(
                db.fetch_all::<(i64, String, i64, i64)>(query(&usage).bind(&root).bind(live.0).bind(live.1)).await?,
            );
        }
        for (day, kind, at_counter, n) in used {
            let Some(i) = index(day) else { continue };
            let r = &mut rows[i];
            match (UsageKind::from_sql(&kind), at_counter) {
                (Some(UsageKind::Login), _) => r.logins += n,
                (Some(UsageKind::Sign), _) => r.signatures += n,
                (Some(UsageKind::Present), 0) => r.public_checks += n,
                (Some(UsageKind::Present), _) => r.counter_checks += n,
                (None, _) => {}
            }
        }

        let now_figures = certificates_now(db, &root, now).await?;

        let parties = parties(db, &root, span, mark, live).await?;

        Ok(Statistics {
            authority_id: root.clone(),
            authority_name,
            region_code,
            period: span.period,
            from_day: time::format_day(span.from),
            to_day: time::format_day(span.to),
            active: now_figures.live,
            expired: now_figures.lapsed,
            cancelled: now_figures.cancelled,
            deleted: now_figures.deleted,
            managers: now_figures.managers,
            users: now_figures.users,
            below: below(db, &root, (span.from, span.to), now).await?,
            parties,
            chart_svg: chart_svg(&rows, lang),
            rows,
        })
    }

    /// Issued in the CST days `[from, to]` and live now (active, within validity), per authority
    /// directly below `root`, each with its subtree, as the writes keep them (migration 0038).
    async fn below(db: &Db, root: &str, (from, to): (i64, i64), now: Millis) -> Result<Vec<BelowLine>> {
        let sql = "SELECT b.id, b.name, b.region_code, \
             (SELECT CAST(COALESCE(SUM(d.issued), 0) AS BIGINT) FROM certificate_daily d \
              WHERE d.authority_id = b.id AND d.day >= $2 AND d.day <= $3), \
             (SELECT CAST(COALESCE(SUM(t.certificates), 0) AS BIGINT) FROM certificate_tally t \
              WHERE t.authority_id = b.id AND t.status = 'active' AND t.expires_at > $4) \
             FROM authority b WHERE b.parent_id = $1 ORDER BY b.region_code, b.id LIMIT 100";
        let rows: Vec<(String, String, String, i64, i64)> =
            db.fetch_all(query(sql).bind(root).bind(from).bind(to).bind(now.0)).await?;
        Ok(rows
            .into_iter()
            .map(|(authority_id, name, region_code, issued, active)| BelowLine {
                authority_id,
                name,
                region_code,
                issued,
                active,
            })
            .collect())
    }

    /// What [`certificates_now`] answers.
    #[derive(Default)]
    struct CertificatesNow {
        live: i64,
        lapsed: i64,
        cancelled: i64,
        deleted: i64,
        managers: i64,
        users: i64,
    }

    struct IssuedRow {
        issued_at: i64,
        serial: String,
        institution_name: String,
        credit_code: String,
        authority_name: String,
        status: CertificateStatus,
        claimed_at: Option<i64>,
    }
    crate::store::from_row!(IssuedRow {
        issued_at,
        serial,
        institution_name,
        credit_code,
        authority_name,
        status,
        claimed_at
    });

    /// The issuance list (发证清单) of the span: `limit` certificates from `offset`, newest first,
    /// and how many in all.
    pub async fn issued(
        db: &Db,
        staff: &StaffView,
        q: &StatsQuery,
        (offset, limit): (i64, i64),
        now: Millis,
    ) -> Result<(Vec<IssuedLine>, i64)> {
        let span = span(q, time::today_cst(now)).map_err(DomainError::Validation)?;
        let (root, _, _) = scope(db, staff, &q.authority_id).await?;
        let (from, to) = span.instants();
        let filter = "c.authority_id IN (SELECT id FROM sub) AND c.issued_at >= $2 AND c.issued_at < $3";
        let sql = format!(
            "{SUBTREE} SELECT c.issued_at, c.serial, i.name AS institution_name, i.credit_code, a.name AS authority_name, \
             c.status, c.claimed_at FROM certificate c JOIN institution i ON i.id = c.institution_id \
             JOIN authority a ON a.id = c.authority_id \
             WHERE c.id IN (SELECT c.id FROM certificate c WHERE {filter} ORDER BY c.issued_at DESC, c.id LIMIT $4 OFFSET $5) \
             ORDER BY c.issued_at DESC, c.id"
        );
        let rows: Vec<IssuedRow> = db
            .fetch_all(query(&sql).bind(&root).bind(from).bind(to).bind(limit.clamp(1, CSV_MAX)).bind(offset.max(0)))
            .await?;
        // The total from the counts the writes keep (migration 0038), not the subtree's rows.
        let count = "SELECT CAST(COALESCE(SUM(d.issued), 0) AS BIGINT) FROM certificate_daily d \
             WHERE d.authority_id = $1 AND d.day >= $2 AND d.day <= $3";
        let total: i64 = db.fetch_one(query(count).bind(&root).bind(span.from).bind(span.to)).await?;
        let lines = rows
            .into_iter()
            .map(|r| IssuedLine {
                issued_at: r.issued_at,
                serial: r.serial,
                institution_name: r.institution_name,
                credit_code: r.credit_code,
                authority_name: r.authority_name,
                status: r.status,
                claimed: r.claimed_at.is_some(),
            })
            .collect();
        Ok((lines, total))
    }

    struct UsedRow {
        at: i64,
        kind: UsageKind,
        system: String,
        result: String,
        institution_name: String,
        credit_code: String,
        serial: String,
    }
    crate::store::from_row!(UsedRow { at, kind, system, result, institution_name, credit_code, serial });

    /// From this many authorities in a subtree, the usage list walks the records' key rather
    /// than sort the subtree's records of the span (a province with its prefectures and counties).
    const WIDE_SUBTREE: i64 = 50;

    /// The usage list (用证清单) of the span: `limit` records from `offset`, newest first, and
    /// how many in all. Holders are not named: the list is the authority's, not the institution's.
    pub async fn used(
        db: &Db,
        staff: &StaffView,
        q: &StatsQuery,
        (offset, limit): (i64, i64),
        now: Millis,
    ) -> Result<(Vec<UsedLine>, i64)> {
        let span = span(q, time::today_cst(now)).map_err(DomainError::Validation)?;
        let (root, _, _) = scope(db, staff, &q.authority_id).await?;
        let (from, to) = span.instants();
        let filter = "u.authority_id IN (SELECT id FROM sub) AND u.at >= $2 AND u.at < $3";
        // The page's records first, from `usage_record` alone, then their certificates. A narrow
        // subtree sorts its few records of the span by time (the `(authority_id, at)` index); a
        // wide one (a province, the nation) walks the key backwards and stops at the page: usage
        // ids begin with their instant (`Random::ordered_id`), so key order is time order.
        let authorities: i64 = db.fetch_one(query(format!("{SUBTREE} SELECT COUNT(*) FROM sub")).bind(&root)).await?;
        let order = if authorities >= WIDE_SUBTREE { "u.id DESC" } else { "u.at DESC, u.id DESC" };
        let sql = format!(
            "{SUBTREE} SELECT u.at, u.kind, u.system, u.result, i.name AS institution_name, i.credit_code, c.serial \
             FROM usage_record u JOIN certificate c ON c.id = u.certificate_id JOIN institution i ON i.id = c.institution_id \
             WHERE u.id IN (SELECT u.id FROM usage_record u WHERE {filter} ORDER BY {order} LIMIT $4 OFFSET $5) \
             ORDER BY u.at DESC, u.id DESC"
        );
        let rows: Vec<UsedRow> = db
            .fetch_all(query(&sql).bind(&root).bind(from).bind(to).bind(limit.clamp(1, CSV_MAX)).bind(offset.max(0)))
            .await?;
        // The count: closed days from the rollup, the days after it from the records.
        let mark = usage_mark(db).await?;
        let rolled = "SELECT CAST(COALESCE(SUM(d.count), 0) AS BIGINT) FROM usage_daily d \
             WHERE d.authority_id = $1 AND d.day >= $2 AND d.day <= $3";
        let mut total: i64 = db.fetch_one(query(rolled).bind(&root).bind(span.from).bind(span.to.min(mark))).await?;
        let live_from = from.max(day_start(mark + 1));
        if live_from < to {
            let count = format!("{SUBTREE} SELECT COUNT(*) FROM usage_record u WHERE {filter}");
            total += db.fetch_one::<i64>(query(&count).bind(&root).bind(live_from).bind(to)).await?;
        }
        let lines = rows
            .into_iter()
            .map(|r| UsedLine {
                at: r.at,
                kind: r.kind,
                system: r.system,
                result: r.result,
                institution_name: r.institution_name,
                credit_code: r.credit_code,
                serial: r.serial,
            })
            .collect();
        Ok((lines, total))
    }

    /// The issuance list of the span as CSV, at most [`CSV_MAX`] lines.
    pub async fn issued_csv(
        db: &Db,
        staff: &StaffView,
        q: &StatsQuery,
        now: Millis,
        lang: crate::Lang,
    ) -> Result<String> {
        let (lines, _) = issued(db, staff, q, (0, CSV_MAX), now).await?;
        let header = lang.pick(
            "签发时间（北京时间）,证书编号,单位名称,统一社会信用代码,登记管理机关,证书状态,已领取",
            "Issued (China Standard Time),Serial,Institution,Credit code,Registration authority,Status,Claimed",
        );
        let mut out = format!("{header}\r\n");
        for l in lines {
            let at = time::format_cst(Millis(l.issued_at));
            let claimed = if l.claimed { lang.pick("是", "yes") } else { lang.pick("否", "no") };
            let cells = [
                at.as_str(),
                &l.serial,
                &l.institution_name,
                &l.credit_code,
                &l.authority_name,
                l.status.label(lang),
                claimed,
            ];
            push_line(&mut out, &cells);
        }
        Ok(out)
    }

    /// The usage list of the span as CSV, at most [`CSV_MAX`] lines.
    pub async fn used_csv(
        db: &Db,
        staff: &StaffView,
        q: &StatsQuery,
        now: Millis,
        lang: crate::Lang,
    ) -> Result<String> {
        let (lines, _) = used(db, staff, q, (0, CSV_MAX), now).await?;
        let header = lang.pick(
            "时间（北京时间）,类型,应用系统,结果,单位名称,统一社会信用代码,证书编号",
            "Time (China Standard Time),Kind,System,Result,Institution,Credit code,Serial",
        );
        let mut out = format!("{header}\r\n");
        for l in lines {
            let at = time::format_cst(Millis(l.at));
            let (system, result) =
                (crate::usage::system_text(&l.system, lang), crate::usage::result_text(&l.result, lang));
            let cells =
                [at.as_str(), l.kind.label(lang), &system, &result, &l.institution_name, &l.credit_code, &l.serial];
            push_line(&mut out, &cells);
        }
        Ok(out)
    }

    fn push_line(out: &mut String, cells: &[&str]) {
        out.push_str(&cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(period: &str, from: &str, to: &str) -> StatsQuery {
        StatsQuery { authority_id: String::new(), period: period.into(), from_day: from.into(), to_day: to.into() }
    }

    #[test]
    fn issue15_spans_default_to_the_last_twelve_months_and_are_bounded() {
        let today = time::parse_day("2026-12-02").unwrap();
        let s = span(&q("", "", ""), today).unwrap();
        assert_eq!(
            (s.period, time::format_day(s.from), time::format_day(s.to)),
            (Period::Month, "2026-01-01".into(), "2026-12-02".into())
        );
        assert_eq!(s.rows().len(), 12);
        let days = span(&q("day", "", ""), today).unwrap();
        assert_eq!(days.rows().len(), 30);
        assert_eq!(days.rows().last().map(String::as_str), Some("2026-12-02"));
        let years = span(&q("year", "", ""), today).unwrap();
        assert_eq!(years.rows(), ["2022", "2023", "2024", "2025", "2026"]);
        // Too many rows, backwards, or not a date: a clear error naming the field.
        let too_many = span(&q("day", "2020-01-01", "2026-01-01"), today).unwrap_err();
        assert_eq!(too_many[0].field, "from_day");
        let backwards = span(&q("month", "2026-05-01", "2026-04-01"), today).unwrap_err();
        assert_eq!(backwards[0].field, "to_day");
        assert_eq!(span(&q("week", "", ""), today).unwrap_err()[0].field, "stats_period");
        assert_eq!(span(&q("day", "2026-02-30", ""), today).unwrap_err()[0].field, "from_day");
    }

    #[test]
    fn a_span_is_china_standard_time_days() {
        let s = Span { period: Period::Day, from: 0, to: 0 };
        // 1970-01-01 CST runs from 16:00 UTC the day before.
        assert_eq!(s.instants(), (-8 * time::Millis::HOUR, 16 * time::Millis::HOUR));
    }

    #[test]
    fn the_csv_has_a_totals_line_and_no_formulas() {
        let stats = Statistics {
            authority_id: "a".into(),
            authority_name: "n".into(),
            region_code: "100000".into(),
            period: Period::Month,
            from_day: String::new(),
            to_day: String::new(),
            rows: vec![
                StatsRow { label: "2026-11".into(), issued: 2, logins: 5, ..StatsRow::default() },
                StatsRow { label: "2026-12".into(), issued: 3, claimed: 1, ..StatsRow::default() },
            ],
            active: 0,
            expired: 0,
            cancelled: 0,
            deleted: 0,
            managers: 0,
            users: 0,
            below: vec![],
            parties: vec![],
            chart_svg: String::new(),
        };
        let csv = stats.csv(crate::Lang::En);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[1], "2026-11,2,0,0,5,0,0,0");
        assert_eq!(lines[3], "Total,5,1,0,5,0,0,0");
        assert!(stats.csv(crate::Lang::Zh).starts_with("期间,发证数,"), "issue 16 §7: headers in Chinese");
    }
}
