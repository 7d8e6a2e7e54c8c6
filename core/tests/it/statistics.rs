//! Issue 15 §2–3, R22: a higher authority reads the statistics and lists of its subtree and
//! finds its certificates, never a person's data; a county reads its own and not its sibling's;
//! reading is an auditor's or an administrator's work. Figures are counted per CST day and
//! folded into months and years.

use ecert_core::certificate::{self, CertificateQuery, IssuePolicy, SCOPE_SUBTREE, search};
use ecert_core::changes::{self, ChangeRequest};
use ecert_core::identity::IdentityVerifier;
use ecert_core::records::{self, UsageKind};
use ecert_core::secret::Random;
use ecert_core::stats::{self, StatsQuery};
use ecert_core::{DomainError, Lang, Millis};

use crate::authorities::{AUDITOR, OPERATOR, below, code_in, issue, member, nation};
use crate::support::{T0, domain};

fn ask(authority_id: &str, period: &str, from: &str, to: &str) -> StatsQuery {
    StatsQuery { authority_id: authority_id.into(), period: period.into(), from_day: from.into(), to_day: to.into() }
}

#[tokio::test]
async fn issue15_a_province_counts_its_subtree_and_a_county_only_itself() {
    let (db, national) = nation().await;
    let province = below(&db, &national, "110000", "北京市事业单位登记管理局", "bj-admin").await;
    let county = below(&db, &province, "110105", "朝阳区事业单位登记管理局", "cy-admin").await;
    let sibling = below(&db, &province, "110106", "丰台区事业单位登记管理局", "ft-admin").await;
    let operator = member(&db, &county, "cy-operator", OPERATOR).await;
    let sibling_operator = member(&db, &sibling, "ft-operator", OPERATOR).await;
    let auditor = member(&db, &province, "bj-auditor", AUDITOR).await;

    // Two certificates in the county on 2026-01-01 (one claimed), one in its sibling.
    let claimed = ecert_testing::first_manager(&db, &operator, "朝阳区第一中学", "张三", 171, T0).await;
    issue(&db, &operator, &code_in("110105")).await.unwrap();
    issue(&db, &sibling_operator, &code_in("110106")).await.unwrap();
    // The next day the claimed one is used twice and cancelled.
    let day2 = T0.plus_minutes(24 * 60);
    let cert = claimed.binding.certificate_id.clone();
    let mut tx = db.begin_write().await.unwrap();
    let holder = Some(claimed.binding.holder_id.as_str());
    records::usage(&mut tx, &cert, holder, UsageKind::Login, "办事系统", "confirmed", day2, &Random::os())
        .await
        .unwrap();
    records::usage(&mut tx, &cert, holder, UsageKind::Present, records::PUBLIC_CHECK, "verified", day2, &Random::os())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Issue 18 §2: a party's own system checks it through the verification API: a counter check
    // (the party's), with no counter.
    let input =
        ecert_core::party::PartyInput { name: "朝阳区某银行柜面系统".into(), redirect_uris: String::new() };
    let bank = ecert_core::party::register(&db, &county, &input, day2, &Random::os()).await.unwrap();
    let mut tx = db.begin_write().await.unwrap();
    let by_api = records::Usage {
        certificate_id: &cert,
        holder_id: holder,
        kind: UsageKind::Present,
        system: "朝阳区某银行柜面系统",
        result: records::VERIFIED,
        party_id: Some(&bank.login),
        counter_id: None,
    };
    records::record_usage(&mut tx, &by_api, day2, &Random::os()).await.unwrap();
    tx.commit().await.unwrap();
    let policy = IssuePolicy::default();
    let local = IdentityVerifier::Local;
    changes::apply(&db, &operator, &cert, &ChangeRequest::Cancel, &local, policy, day2, &Random::os()).await.unwrap();

    let now = T0.plus_minutes(3 * 24 * 60);
    let by_day = ask("", "day", "2026-01-01", "2026-01-03");
    let s = stats::statistics(&db, &auditor, &by_day, Lang::Zh, now).await.unwrap();
    assert_eq!(s.authority_name, "北京市事业单位登记管理局");
    let labels: Vec<&str> = s.rows.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["2026-01-01", "2026-01-02", "2026-01-03"]);
    let day =
        |i: usize| (s.rows[i].issued, s.rows[i].claimed, s.rows[i].ended, s.rows[i].logins, s.rows[i].public_checks);
    assert_eq!(day(0), (3, 1, 0, 0, 0));
    assert_eq!(day(1), (0, 0, 1, 1, 1));
    assert_eq!(s.rows[1].counter_checks, 1, "a party's check through the API is a counter check, not a public one");
    assert_eq!((s.active, s.cancelled, s.deleted), (2, 1, 0));
    let below_lines: Vec<(&str, i64, i64)> =
        s.below.iter().map(|b| (b.region_code.as_str(), b.issued, b.active)).collect();
    assert_eq!(below_lines, [("110105", 2, 1), ("110106", 1, 1)]);
    assert!(s.chart_svg.starts_with("<svg") && s.chart_svg.contains("2026-01-02"));
    assert_eq!(s.parties.iter().map(|p| p.count).sum::<i64>(), 3);
    assert!(s.parties.iter().any(|p| p.party == "朝阳区某银行柜面系统" && p.count == 1));

    // R20: past their validity the two live ones count as expired, not active, here and below.
    let later = T0.plus_minutes((ecert_core::validity::DEFAULT_YEARS * 366 + 2) * 24 * 60);
    let lapsed = stats::statistics(&db, &auditor, &by_day, Lang::Zh, later).await.unwrap();
    assert_eq!((lapsed.active, lapsed.expired, lapsed.cancelled), (0, 2, 1));
    assert_eq!(lapsed.below.iter().map(|b| b.active).sum::<i64>(), 0);
    assert_eq!(lapsed.rows, s.rows, "the span's own figures do not move");

    // Folded into a month and a year; the CSV has the table and its totals.
    let month = stats::statistics(&db, &auditor, &ask("", "month", "2026-01-01", "2026-01-31"), Lang::En, now).await;
    let month = month.unwrap();
    assert_eq!(month.rows.len(), 1);
    assert_eq!((month.rows[0].label.as_str(), month.rows[0].issued, month.rows[0].ended), ("2026-01", 3, 1));
    assert!(month.csv(Lang::En).contains("\r\nTotal,3,1,1,1,1,1,0\r\n"), "{}", month.csv(Lang::En));

    // The nation sees it all; the county only its own; the sibling is unknown to the county.
    let nation_stats = stats::statistics(&db, &national, &ask("", "year", "", ""), Lang::Zh, now).await.unwrap();
    assert_eq!(nation_stats.rows.iter().map(|r| r.issued).sum::<i64>(), 3);
    assert_eq!(nation_stats.below.len(), 1, "the province, with its whole subtree");
    assert_eq!((nation_stats.below[0].issued, nation_stats.below[0].active), (3, 2));
    let own = stats::statistics(&db, &county, &by_day, Lang::Zh, now).await.unwrap();
    assert_eq!(own.rows[0].issued, 2);
    let county_id = county.authority_id.clone();
    let of_county = ask(&county_id, "day", "2026-01-01", "2026-01-03");
    let of_county = stats::statistics(&db, &auditor, &of_county, Lang::Zh, now).await.unwrap();
    assert_eq!(of_county.rows[0].issued, 2, "a province reads one county");
    let peek = ask(&sibling.authority_id, "day", "", "");
    assert_eq!(domain(stats::statistics(&db, &county, &peek, Lang::Zh, now).await), DomainError::NotFound);
    let up = ask(&province.authority_id, "day", "", "");
    assert_eq!(domain(stats::statistics(&db, &county, &up, Lang::Zh, now).await), DomainError::NotFound);
    // An operator issues; reading statistics is not their work.
    assert_eq!(domain(stats::statistics(&db, &operator, &by_day, Lang::Zh, now).await), DomainError::Forbidden);
    // Bad input: a clear error naming the field.
    let bad = domain(stats::statistics(&db, &auditor, &ask("", "week", "", ""), Lang::Zh, now).await);
    assert_eq!(bad, DomainError::field("stats_period", ecert_core::Problem::BadFormat));

    // The lists: what was issued and used, with institutions and no persons.
    let (issued, total) = stats::issued(&db, &auditor, &by_day, (0, 50), now).await.unwrap();
    assert_eq!((issued.len(), total), (3, 3));
    assert_eq!(issued.iter().filter(|l| l.claimed).count(), 1);
    let (used, total) = stats::used(&db, &auditor, &by_day, (0, 50), now).await.unwrap();
    assert_eq!((used.len(), total), (3, 3), "a login, a public check and a party's check");
    assert!(used.iter().all(|u| u.institution_name == "朝阳区第一中学"));
    let csv = stats::used_csv(&db, &auditor, &by_day, now, Lang::Zh).await.unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(!csv.contains("张三"), "no person in the usage list");
    let csv = stats::issued_csv(&db, &auditor, &by_day, now, Lang::Zh).await.unwrap();
    assert_eq!(csv.lines().count(), 4);
    let (sibling_list, _) = stats::issued(&db, &sibling, &by_day, (0, 50), now).await.unwrap();
    assert_eq!(sibling_list.len(), 1);
    assert_eq!(domain(stats::issued(&db, &operator, &by_day, (0, 50), now).await), DomainError::Forbidden);
}

#[tokio::test]
async fn r22_a_higher_authority_finds_its_subtrees_certificates_without_persons_data() {
    let (db, national) = nation().await;
    let province = below(&db, &national, "440000", "广东省事业单位登记管理局", "gd-admin-s").await;
    let county = below(&db, &province, "440305", "南山区事业单位登记管理局", "ns-admin-s").await;
    let sibling = below(&db, &province, "440306", "宝安区事业单位登记管理局", "ba-admin-s").await;
    let operator = member(&db, &county, "ns-operator-s", OPERATOR).await;
    let code = code_in("440305");
    issue(&db, &operator, &code).await.unwrap();
    let subtree =
        |text: &str| CertificateQuery { text: text.into(), scope: SCOPE_SUBTREE.into(), ..Default::default() };

    // The province finds it in its subtree, names the county, and sees no person.
    let found = search(&db, &province, &subtree(&code[8..]), ecert_core::Millis::now()).await.unwrap();
    assert_eq!(found.total, 1);
    let c = &found.items[0];
    assert_eq!(
        (c.credit_code.as_str(), c.authority_name.as_str(), c.own),
        (code.as_str(), "南山区事业单位登记管理局", false)
    );
    assert_eq!(
        (c.legal_rep_name.as_str(), c.legal_rep_id_number.as_str(), c.first_manager_name.as_str()),
        ("", "", "")
    );
    // Its page is the county's: the province cannot open it.
    assert_eq!(
        domain(certificate::detail(&db, &province, &c.certificate_id, ecert_core::Millis::now()).await),
        DomainError::Forbidden
    );
    // Without the scope a search stays in the province's own authority; the nation sees it too.
    assert_eq!(
        search(
            &db,
            &province,
            &CertificateQuery { text: code.clone(), ..Default::default() },
            ecert_core::Millis::now()
        )
        .await
        .unwrap()
        .total,
        0
    );
    assert_eq!(search(&db, &national, &subtree(&code), ecert_core::Millis::now()).await.unwrap().total, 1);
    // The county sees its own with the person masked; its sibling sees nothing of it, even by
    // naming the county as its scope.
    let own = search(&db, &operator, &subtree(&code), ecert_core::Millis::now()).await.unwrap();
    assert!(own.items[0].own && own.items[0].legal_rep_name == "李*");
    assert_eq!(search(&db, &sibling, &subtree(&code), ecert_core::Millis::now()).await.unwrap().total, 0);
    let named = CertificateQuery { text: code.clone(), scope: county.authority_id.clone(), ..Default::default() };
    assert_eq!(search(&db, &sibling, &named, ecert_core::Millis::now()).await.unwrap().total, 0);
    assert_eq!(search(&db, &province, &named, ecert_core::Millis::now()).await.unwrap().total, 1);
    // The authorities a province may choose from: itself first, then those below.
    let tree = ecert_core::authority::subtree(&db, &province).await.unwrap();
    let codes: Vec<&str> = tree.iter().map(|a| a.region_code.as_str()).collect();
    assert_eq!(codes, ["440000", "440305", "440306"]);
}

/// Issue 15 §3, 应发尽发: a province imports the registration list of its subtree (bad rows
/// reported by line, the others written), sees which institutions have a certificate, and a
/// county's operator issues to its own listed institutions at once.
#[tokio::test]
async fn issue15_the_registration_list_shows_who_has_a_certificate_and_issues_to_a_selection() {
    use ecert_core::roster;
    let (db, national) = nation().await;
    let province = below(&db, &national, "110000", "北京市事业单位登记管理局", "bj-roster").await;
    let county = below(&db, &province, "110105", "朝阳区事业单位登记管理局", "cy-roster").await;
    let operator = member(&db, &county, "cy-roster-op", OPERATOR).await;
    let auditor = member(&db, &province, "bj-roster-auditor", AUDITOR).await;
    let (a, b, c) = (code_in("110105"), code_in("110105"), code_in("110105"));
    let id = ecert_testing::resident_id;
    let bad = format!("{}{}", &a[..17], if a.ends_with('0') { '1' } else { '0' });
    let csv = format!(
        "统一社会信用代码,单位名称,住所,法定代表人,身份证号码,手机号码,登记管理机关\n\
         {a},朝阳区甲中学,北京市朝阳区1号,张三,{},13800000001,110105\n\
         {b},\"北京市乙研究所, 东院\",北京市朝阳区2号,李四,{},13800000002,\n\
         {bad},丙单位,北京,王五,{},13800000003,110105\n\
         {c},丁单位,天津,赵六,{},13800000004,120000\n",
        id(201),
        id(202),
        id(203),
        id(204),
    );
    let random = Random::os();
    let report = roster::import(&db, &province, &csv, T0, &random).await.unwrap();
    assert_eq!(report.imported, 2);
    let errors: Vec<(usize, &str)> = report.errors.iter().map(|e| (e.line, e.error.field.as_str())).collect();
    assert_eq!(errors, [(4, "credit_code"), (5, "region_code")]);
    assert_eq!(domain(roster::import(&db, &auditor, &csv, T0, &random).await), DomainError::Forbidden);

    let listed = roster::page(&db, &province, "", false, 0).await.unwrap();
    assert_eq!((listed.total, listed.listed, listed.covered), (2, 2, 0));
    let line_a = listed.items.iter().find(|l| l.credit_code == a).unwrap();
    assert_eq!(
        (line_a.own, line_a.legal_rep_name.as_str(), line_a.authority_name.as_str()),
        (false, "张*", "朝阳区事业单位登记管理局")
    );
    assert!(listed.items.iter().any(|l| l.credit_code == b && l.own && l.name == "北京市乙研究所, 东院"));
    let seen_by_county = roster::page(&db, &operator, "", false, 0).await.unwrap();
    assert_eq!(seen_by_county.items.iter().map(|l| l.credit_code.as_str()).collect::<Vec<_>>(), [a.as_str()]);

    // The county's operator issues to its own; the province's row is not theirs.
    let policy = IssuePolicy::default();
    let picked = [a.clone(), b.clone()];
    let results =
        roster::bulk_issue(&db, &operator, &picked, &IdentityVerifier::Local, policy, T0, &random).await.unwrap();
    assert!(results[0].1.is_ok(), "{:?}", results[0]);
    assert_eq!(results[1].1.as_ref().unwrap_err(), &DomainError::NotFound);
    let again = roster::bulk_issue(&db, &operator, &picked[..1], &IdentityVerifier::Local, policy, T0, &random).await;
    assert_eq!(again.unwrap()[0].1.as_ref().unwrap_err(), &DomainError::AlreadyExists { field: "credit_code".into() });
    assert_eq!(
        domain(roster::bulk_issue(&db, &county, &picked, &IdentityVerifier::Local, policy, T0, &random).await),
        DomainError::Forbidden
    );
    assert_eq!(
        domain(roster::bulk_issue(&db, &operator, &[], &IdentityVerifier::Local, policy, T0, &random).await),
        DomainError::field("selection", ecert_core::Problem::OutOfRange)
    );

    let after = roster::page(&db, &province, "", false, 0).await.unwrap();
    assert_eq!((after.listed, after.covered), (2, 1));
    let without = roster::page(&db, &province, "", true, 0).await.unwrap();
    assert_eq!(without.items.iter().map(|l| l.credit_code.as_str()).collect::<Vec<_>>(), [b.as_str()]);
    let found = roster::page(&db, &province, "乙研究", false, 0).await.unwrap();
    assert_eq!(found.total, 1);
    // The certificate is the county's, issued from the list (no counter papers), and archived so.
    let cert = certificate::list(&db, &operator, &a, 1, ecert_core::Millis::now()).await.unwrap();
    assert_eq!(cert[0].institution_name, "朝阳区甲中学");
    let archives = ecert_core::archive::list(&db, &operator, &cert[0].certificate_id).await.unwrap();
    assert_eq!(archives[0].action, "certificate_bulk_issue");
    // A new import brings a row up to date, not a second one.
    let update = format!("{a},朝阳区甲中学（新名）,北京市朝阳区1号,张三,{},13800000001,110105\n", id(201));
    assert_eq!(roster::import(&db, &province, &update, T0, &random).await.unwrap().imported, 1);
    assert_eq!(roster::page(&db, &province, "", false, 0).await.unwrap().listed, 2);
}

/// Issue 15 §3: the usage of closed days is rolled up once, for each authority with its subtree,
/// and the statistics and the usage list count the same before and after; the day still open,
/// and a day that ended less than the settling time ago, come from the records. App servers
/// that roll up at once roll each day up once.
#[tokio::test]
async fn issue15_closed_days_of_usage_are_rolled_up_once_and_count_the_same() {
    use ecert_core::party::{self, PartyInput};
    use ecert_core::records::{Usage, record_usage};
    let (db, national) = nation().await;
    let province = below(&db, &national, "110000", "北京市事业单位登记管理局", "bj-roll").await;
    let county = below(&db, &province, "110105", "朝阳区事业单位登记管理局", "cy-roll").await;
    let operator = member(&db, &county, "xw-roll-op", OPERATOR).await;
    let auditor = member(&db, &province, "js-roll-auditor", AUDITOR).await;
    let random = Random::os();
    let bank = PartyInput { name: "测试银行".into(), redirect_uris: String::new() };
    let bank = party::register(&db, &national, &bank, T0, &random).await.unwrap().login;
    let held = ecert_testing::first_manager(&db, &operator, "朝阳区第一中学", "张三", 172, T0).await;
    let (cert, holder) = (held.binding.certificate_id.clone(), held.binding.holder_id.clone());
    let day = |n: i64| T0.plus_minutes(n * 24 * 60 + 60);
    // Day 0: two logins at the bank and a public check; day 1: a signature; day 2: a login.
    let uses = [
        (0, UsageKind::Login, Some(bank.as_str())),
        (0, UsageKind::Login, Some(bank.as_str())),
        (0, UsageKind::Present, None),
        (1, UsageKind::Sign, None),
        (2, UsageKind::Login, Some(bank.as_str())),
    ];
    for (n, kind, party_id) in uses {
        let mut tx = db.begin_write().await.unwrap();
        let usage = Usage {
            certificate_id: &cert,
            holder_id: Some(&holder),
            kind,
            system: "办事系统",
            result: "ok",
            party_id,
            counter_id: None,
        };
        record_usage(&mut tx, &usage, day(n), &random).await.unwrap();
        tx.commit().await.unwrap();
    }
    let by_day = ask("", "day", "2026-01-01", "2026-01-03");
    let figures = |s: &stats::Statistics| {
        let rows: Vec<(i64, i64, i64)> = s.rows.iter().map(|r| (r.logins, r.public_checks, r.signatures)).collect();
        let parties: Vec<(String, i64)> = s.parties.iter().map(|p| (p.party.clone(), p.count)).collect();
        (rows, parties)
    };
    let expected = (vec![(2, 1, 0), (0, 0, 1), (1, 0, 0)], vec![("测试银行".to_owned(), 3), (String::new(), 2)]);
    // CST midnight of day 2 is 16:00 UTC of day 1; five minutes after it day 1 is not settled.
    let just_after_midnight = Millis(T0.0 + 24 * 60 * 60_000 + 16 * 60 * 60_000 + 5 * 60_000);
    let now = day(2);
    let nation_figures = |s: stats::Statistics| (s.rows.iter().map(|r| r.logins).sum::<i64>(), s.parties.len());

    let before = stats::statistics(&db, &auditor, &by_day, Lang::Zh, now).await.unwrap();
    assert_eq!(figures(&before), expected);
    assert_eq!(stats::used(&db, &auditor, &by_day, (0, 50), now).await.unwrap().1, 5);
    assert!(stats::roll_up_usage(&db, just_after_midnight).await.unwrap() >= 1, "day 0 and before, not day 1");
    assert_eq!(figures(&stats::statistics(&db, &auditor, &by_day, Lang::Zh, now).await.unwrap()), expected);
    // Two app servers at once: the days are rolled up by one of them, once.
    let (a, b) = tokio::join!(stats::roll_up_usage(&db, now), stats::roll_up_usage(&db, now));
    assert_eq!(a.unwrap() + b.unwrap(), 1, "day 1 only: day 2 is still open");
    assert_eq!(stats::roll_up_usage(&db, now).await.unwrap(), 0);
    let after = stats::statistics(&db, &auditor, &by_day, Lang::Zh, now).await.unwrap();
    assert_eq!(figures(&after), expected, "rolled up and live, the same figures");
    assert_eq!(stats::used(&db, &auditor, &by_day, (0, 50), now).await.unwrap().1, 5);
    // The nation reads its own rollup rows (the county's usage counts for every level above it);
    // the county its own; a sibling nothing.
    let nation_now = stats::statistics(&db, &national, &by_day, Lang::Zh, now).await.unwrap();
    assert_eq!(nation_figures(nation_now), (3, 2));
    let own = stats::statistics(&db, &county, &by_day, Lang::Zh, now).await.unwrap();
    assert_eq!(figures(&own), expected);
    let sibling = below(&db, &province, "110106", "丰台区事业单位登记管理局", "ft-roll").await;
    let none = stats::statistics(&db, &sibling, &by_day, Lang::Zh, now).await.unwrap();
    assert_eq!(none.rows.iter().map(|r| r.logins + r.signatures + r.public_checks).sum::<i64>(), 0);
    assert_eq!(stats::used(&db, &sibling, &by_day, (0, 50), now).await.unwrap().1, 0);
    // A month later everything is rolled up and the figures have not moved.
    let later = T0.plus_minutes(40 * 24 * 60);
    assert_eq!(stats::roll_up_usage(&db, later).await.unwrap(), 38);
    let month = stats::statistics(&db, &auditor, &by_day, Lang::Zh, later).await.unwrap();
    assert_eq!(figures(&month), expected);
    let (list_later, list_now) = (
        stats::used(&db, &auditor, &by_day, (0, 50), later).await.unwrap(),
        stats::used(&db, &auditor, &by_day, (0, 50), now).await.unwrap(),
    );
    assert_eq!(list_later, list_now);
}

/// The figures of `staff`'s authority counted from the rows themselves, as the statistics counted
/// them before the writes kept them (migration 0038): the oracle of the test below.
async fn counted(db: &ecert_core::store::Db, root: &str, span: stats::Span, now: Millis) -> Figures {
    use ecert_core::store::query;
    let sub = stats::SUBTREE;
    let (from, to) = span.instants();
    let mut days = Vec::new();
    for column in ["issued_at", "claimed_at", "ended_at"] {
        let sql = format!(
            "{sub} SELECT ((c.{column} + 28800000) / 86400000) AS day, COUNT(*) FROM certificate c \
             WHERE c.authority_id IN (SELECT id FROM sub) AND c.{column} >= $2 AND c.{column} < $3 GROUP BY 1 ORDER BY 1"
        );
        let rows: Vec<(i64, i64)> = db.fetch_all(query(&sql).bind(root).bind(from).bind(to)).await.unwrap();
        days.push(rows);
    }
    let live = ecert_core::validity::live_sql(now);
    let one = |sql: String| async move { db.fetch_one::<i64>(query(&sql).bind(root)).await.unwrap() };
    let in_sub = "c.authority_id IN (SELECT id FROM sub)";
    let holders = |role: &'static str| {
        format!(
            "{sub} SELECT COUNT(*) FROM holder h JOIN certificate c ON c.id = h.certificate_id \
             WHERE {in_sub} AND {live} AND h.status = 'active' AND h.role = '{role}'"
        )
    };
    let below_sql = "SELECT id FROM authority WHERE parent_id = $1 ORDER BY region_code, id";
    let children: Vec<String> = db.fetch_all(query(below_sql).bind(root)).await.unwrap();
    let mut below = Vec::new();
    for child in children {
        let issued = format!(
            "{sub} SELECT COUNT(*) FROM certificate c WHERE {in_sub} AND c.issued_at >= $2 AND c.issued_at < $3"
        );
        let issued: i64 = db.fetch_one(query(&issued).bind(&child).bind(from).bind(to)).await.unwrap();
        let active = format!("{sub} SELECT COUNT(*) FROM certificate c WHERE {in_sub} AND {live}");
        let active: i64 = db.fetch_one(query(&active).bind(&child)).await.unwrap();
        below.push((child, issued, active));
    }
    Figures {
        days,
        live: one(format!("{sub} SELECT COUNT(*) FROM certificate c WHERE {in_sub} AND {live}")).await,
        lapsed: one(format!(
            "{sub} SELECT COUNT(*) FROM certificate c WHERE {in_sub} AND {}",
            ecert_core::validity::lapsed_sql(now)
        ))
        .await,
        cancelled: one(format!("{sub} SELECT COUNT(*) FROM certificate c WHERE {in_sub} AND c.status = 'cancelled'"))
            .await,
        deleted: one(format!("{sub} SELECT COUNT(*) FROM certificate c WHERE {in_sub} AND c.status = 'deleted'")).await,
        managers: one(holders("manager")).await,
        users: one(holders("user")).await,
        below,
        issued_total: one(format!(
            "{sub} SELECT COUNT(*) FROM certificate c WHERE {in_sub} AND c.issued_at >= {from} AND c.issued_at < {to}"
        ))
        .await,
    }
}

/// The statistics' figures in the oracle's shape.
#[derive(Debug, PartialEq, Eq)]
struct Figures {
    /// Per CST day with any: issued, claimed, ended.
    days: Vec<Vec<(i64, i64)>>,
    live: i64,
    lapsed: i64,
    cancelled: i64,
    deleted: i64,
    managers: i64,
    users: i64,
    below: Vec<(String, i64, i64)>,
    issued_total: i64,
}

/// The same figures as the console reads them.
async fn read(
    db: &ecert_core::store::Db,
    staff: &ecert_core::staff::StaffView,
    span: stats::Span,
    now: Millis,
) -> Figures {
    let q = ask("", "day", &ecert_core::time::format_day(span.from), &ecert_core::time::format_day(span.to));
    let s = stats::statistics(db, staff, &q, Lang::Zh, now).await.unwrap();
    let (_, issued_total) = stats::issued(db, staff, &q, (0, 1), now).await.unwrap();
    let day_of = |label: &str| ecert_core::time::parse_day(label).unwrap();
    let figures: [fn(&stats::StatsRow) -> i64; 3] = [|r| r.issued, |r| r.claimed, |r| r.ended];
    let days = figures
        .map(|figure| s.rows.iter().filter(|r| figure(r) != 0).map(|r| (day_of(&r.label), figure(r))).collect())
        .into();
    Figures {
        days,
        live: s.active,
        lapsed: s.expired,
        cancelled: s.cancelled,
        deleted: s.deleted,
        managers: s.managers,
        users: s.users,
        below: s.below.into_iter().map(|b| (b.authority_id, b.issued, b.active)).collect(),
        issued_total,
    }
}

/// Issue 15 §3, R20, R22: the figures the writes keep for each authority with its subtree
/// (migration 0038) are what counting the rows gives, for every authority of a four-level tree,
/// through issuance (some of it at once), claims, managers and users added, accepted and removed,
/// renewal, cancellation, deletion and lapse.
#[tokio::test]
async fn issue15_the_figures_kept_by_the_writes_are_the_rows_counted() {
    use ecert_core::holder::{self, GrantInput, Role};
    let (db, national) = nation().await;
    let province = below(&db, &national, "110000", "北京市事业单位登记管理局", "bj-admin-t").await;
    let city = below(&db, &province, "110100", "北京市市辖区事业单位登记管理局", "bjs-admin-t").await;
    let county = below(&db, &city, "110105", "朝阳区事业单位登记管理局", "cy-admin-t").await;
    let direct = below(&db, &province, "110228", "密云县事业单位登记管理局", "my-admin-t").await;
    let operator = member(&db, &county, "cy-operator-t", OPERATOR).await;
    let city_operator = member(&db, &city, "bjs-operator-t", OPERATOR).await;
    let direct_operator = member(&db, &direct, "my-operator-t", OPERATOR).await;
    let admins = [&national, &province, &city, &county, &direct];
    let span = stats::Span {
        period: stats::Period::Day,
        from: ecert_core::time::today_cst(T0),
        to: ecert_core::time::today_cst(T0) + 9,
    };
    let check = |when: Millis| {
        let db = &db;
        async move {
            for admin in admins {
                let kept = read(db, admin, span, when).await;
                assert_eq!(kept, counted(db, &admin.authority_id, span, when).await, "{}", admin.authority_id);
            }
        }
    };
    let day = |n: i64| T0.plus_minutes(n * 24 * 60);

    // Day 0: a claimed certificate in the county, with a manager and a user; one unclaimed; one
    // of the city's own; and four issued at once in the county and the county-level city.
    let a = ecert_testing::first_manager(&db, &operator, "朝阳区第二中学", "张三", 201, day(0)).await;
    issue(&db, &operator, &code_in("110105")).await.unwrap();
    ecert_testing::first_manager(&db, &city_operator, "北京市某图书馆", "李四", 202, day(0)).await;
    let (o, d) = (&operator, &direct_operator);
    let (c1, c2, c3, c4) = (code_in("110105"), code_in("110105"), code_in("110228"), code_in("110228"));
    let (r1, r2, r3, r4) = tokio::join!(issue(&db, o, &c1), issue(&db, o, &c2), issue(&db, d, &c3), issue(&db, d, &c4));
    for r in [r1, r2, r3, r4] {
        r.unwrap();
    }
    let matter = holder::catalogue(&db, &county.authority_id).await.unwrap()[0].id.clone();
    let today = ecert_core::time::today_cst(day(0));
    let grant = GrantInput {
        matter_ids: vec![matter],
        start_day: ecert_core::time::format_day(today),
        end_day: ecert_core::time::format_day(today + 30),
    };
    let m = ecert_testing::member(&db, &a, Role::Manager, "王五", 203, None, day(0)).await;
    let u = ecert_testing::member(&db, &m, Role::User, "赵六", 204, Some(&grant), day(0)).await;
    check(day(0)).await;

    // Day 2: the user is removed; another is invited and has not accepted (not counted).
    let caller = ecert_testing::caller(&db, &a).await;
    holder::remove(&db, &caller, &u.binding.holder_id, day(2), &Random::os()).await.unwrap();
    let person = ecert_core::certificate::PersonInput {
        name: "钱七".into(),
        id_number: ecert_testing::resident_id(205),
        mobile: "13912340205".into(),
    };
    let grant = GrantInput { start_day: ecert_core::time::format_day(today + 2), ..grant };
    holder::add(&db, &caller, Role::User, &person, Some(&grant), &IdentityVerifier::Local, day(2), &Random::os())
        .await
        .unwrap();
    check(day(2)).await;

    // Day 3: one of the city's is cancelled and one of the county's deleted.
    let policy = IssuePolicy::default();
    let local = IdentityVerifier::Local;
    let found = |code: &str| {
        let db = &db;
        let code = code.to_owned();
        async move {
            let sql =
                "SELECT c.id FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE i.credit_code = $1";
            db.fetch_one::<String>(ecert_core::store::query(sql).bind(code)).await.unwrap()
        }
    };
    let cancel = found(&c3).await;
    changes::apply(&db, &direct_operator, &cancel, &ChangeRequest::Cancel, &local, policy, day(3), &Random::os())
        .await
        .unwrap();
    let delete = found(&c1).await;
    changes::apply(&db, &operator, &delete, &ChangeRequest::Delete, &local, policy, day(3), &Random::os())
        .await
        .unwrap();
    check(day(3)).await;

    // A month before the five years are over the claimed one is renewed; past the old last day
    // it is still live with its manager, and the others have lapsed (R20).
    let five = ecert_core::validity::DEFAULT_YEARS * 365 + 1;
    let cert = a.binding.certificate_id.clone();
    changes::apply(&db, &operator, &cert, &ChangeRequest::Renew, &local, policy, day(five - 30), &Random::os())
        .await
        .unwrap();
    check(day(five - 30)).await;
    check(day(five + 2)).await;
    let after = read(&db, &national, span, day(five + 2)).await;
    assert_eq!((after.live, after.lapsed, after.cancelled, after.deleted), (1, 4, 1, 1));
    assert_eq!((after.managers, after.users), (1, 0));

    // The migration counts what an older database holds into the same rows as the writes keep.
    let kept = kept_rows(&db).await;
    let migration = match db.backend() {
        ecert_core::store::Backend::Sqlite => include_str!("../../migrations/sqlite/0038_certificate_tallies.sql"),
        ecert_core::store::Backend::Postgres => include_str!("../../migrations/postgres/0038_certificate_tallies.sql"),
    };
    let fill = migration.split("-- What is there already, counted once.").nth(1).unwrap();
    let fill = fill.split("\n--").next().unwrap();
    db.execute(ecert_core::store::query("DELETE FROM certificate_tally")).await.unwrap();
    db.execute(ecert_core::store::query("DELETE FROM certificate_daily")).await.unwrap();
    for statement in fill.split(';').filter(|s| !s.trim().is_empty()) {
        db.execute(ecert_core::store::query(statement.to_owned())).await.unwrap();
    }
    assert_eq!(kept_rows(&db).await, kept);
    assert!(kept.0.len() > 5 && kept.1.len() > 5, "{kept:?}");
}

/// The kept figures' rows that count anything, in key order.
type TallyRow = (String, String, i64, i64, i64, i64);
type DailyRow = (String, i64, i64, i64, i64);
async fn kept_rows(db: &ecert_core::store::Db) -> (Vec<TallyRow>, Vec<DailyRow>) {
    use ecert_core::store::query;
    let tally = "SELECT authority_id, status, expires_at, certificates, managers, users FROM certificate_tally \
         WHERE certificates <> 0 OR managers <> 0 OR users <> 0 ORDER BY 1, 2, 3";
    let daily = "SELECT authority_id, day, issued, claimed, ended FROM certificate_daily \
         WHERE issued <> 0 OR claimed <> 0 OR ended <> 0 ORDER BY 1, 2";
    (db.fetch_all(query(tally)).await.unwrap(), db.fetch_all(query(daily)).await.unwrap())
}
