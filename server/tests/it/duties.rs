//! The authorization matrix of staff duties (issue 15 §1, R22): every staff server function,
//! called through the real router by anonymous callers and by staff holding each duty — an
//! administrator (who does not operate), an operator, an auditor — of the national authority, and
//! by the administrator of a county below it. Each cell is the status the call must answer;
//! every cell runs, and the test names every one that did not.

use axum::body::Body;
use axum::http::{Request, header};
use ecert_core::Millis;
use ecert_core::bootstrap::{self, FirstStart};
use ecert_core::secret::{Random, Secret};
use ecert_core::staff::{self, Duties, NewMember};
use ecert_core::store::Db;
use ecert_testing as testing;

use crate::support::{self, HOST, app_on, form_encode, no_site};

const SAME_ORIGIN: &str = "http://127.0.0.1:3000";

/// The columns.
const COLUMNS: [&str; 5] = ["anonymous", "administrator", "operator", "auditor", "county admin"];

struct World {
    app: axum::Router,
    /// The session cookie of each column after the first.
    cookies: [String; 4],
    /// Staff ids to act on: a member of the national authority, and one of the county.
    national_member: String,
    county_member: String,
    party: String,
    counter: String,
    /// The authorities: the nation's and the county's.
    national_authority: String,
    county_authority: String,
}

async fn signed_in(db: &Db, username: &str, password: &Secret) -> (String, staff::StaffView) {
    let session = staff::sign_in(db, username, password.clone(), Millis::now(), &Random::os()).await.unwrap();
    let view = staff::current(db, session.token.expose(), Millis::now()).await.unwrap().unwrap();
    (format!("ecert_staff={}", session.token.expose()), view)
}

async fn world() -> World {
    let db = testing::open_private_test_db().await;
    let random = Random::os();
    let now = Millis::now();
    let first = FirstStart {
        authority_name: "国家局".into(),
        region_code: "100000".into(),
        admin_username: "root".into(),
        admin_password: Some(Secret::new("root password 1")),
    };
    bootstrap::ensure_first_authority(&db, &first, now, &random).await.unwrap();
    let (_, root) = signed_in(&db, "root", &Secret::new("root password 1")).await;
    let add = |username: &str, duties: Duties| {
        let request = NewMember { username: username.into(), display_name: "赵六".into(), duties };
        let db = db.clone();
        let root = root.clone();
        async move { staff::add(&db, &root, &request, Millis::now(), &Random::os()).await.unwrap() }
    };
    let admin = add("m-admin", Duties { administer: true, operate: false, audit: false }).await;
    let operator = add("m-operator", Duties { administer: false, operate: true, audit: false }).await;
    let auditor = add("m-auditor", Duties { administer: false, operate: false, audit: true }).await;
    add("m-member", Duties { administer: false, operate: true, audit: false }).await;
    let request = ecert_core::authority::NewAuthority {
        name: "县局".into(),
        region_code: "110105".into(),
        admin_username: "c-admin".into(),
        admin_display_name: "王五".into(),
    };
    let county = ecert_core::authority::create_child(&db, &root, &request, now, &random).await.unwrap();
    let (admin_cookie, admin_view) = signed_in(&db, "m-admin", &admin).await;
    let (operator_cookie, _) = signed_in(&db, "m-operator", &operator).await;
    let (auditor_cookie, _) = signed_in(&db, "m-auditor", &auditor).await;
    let (county_cookie, county_view) = signed_in(&db, "c-admin", &county.admin_password).await;
    let county_request = NewMember { username: "c-member".into(), display_name: "钱七".into(), ..Default::default() };
    let county_request = NewMember { duties: Duties { operate: true, ..Duties::default() }, ..county_request };
    staff::add(&db, &county_view, &county_request, now, &random).await.unwrap();
    let ids = |view: staff::StaffView| {
        let db = db.clone();
        async move { staff::members(&db, &view, Millis::now()).await.unwrap() }
    };
    let national_member = ids(admin_view.clone()).await.into_iter().find(|m| m.username == "m-member").unwrap().id;
    let county_member = ids(county_view).await.into_iter().find(|m| m.username == "c-member").unwrap().id;
    let party = support::party(&db, &admin_view, "职责矩阵应用系统").await.login;
    ecert_core::party::add_counter(&db, &admin_view, &party, "矩阵窗口", now, &random).await.unwrap();
    let counter = ecert_core::party::list(&db, &admin_view).await.unwrap()[0].counters[0].id.clone();
    World {
        app: app_on(&db, &["--site-root", &no_site(), "--rate-limit-scale", "0"]),
        cookies: [admin_cookie, operator_cookie, auditor_cookie, county_cookie],
        national_member,
        county_member,
        party,
        counter,
        national_authority: root.authority_id.clone(),
        county_authority: county.authority_id.clone(),
    }
}

impl World {
    async fn call(&self, column: usize, endpoint: &str, args: &[(&str, &str)]) -> u16 {
        let mut req = Request::post(format!("/api/{endpoint}"))
            .header(header::HOST, HOST)
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if column > 0 {
            req = req.header(header::COOKIE, &self.cookies[column - 1]).header(header::ORIGIN, SAME_ORIGIN);
        }
        let reply = support::send(&self.app, req.body(Body::from(form_encode(args))).unwrap()).await;
        reply.status.as_u16()
    }

    /// The same with a JSON body, for a server function that takes JSON.
    async fn call_json(&self, column: usize, endpoint: &str, body: &serde_json::Value) -> u16 {
        let mut req = Request::post(format!("/api/{endpoint}"))
            .header(header::HOST, HOST)
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/json");
        if column > 0 {
            req = req.header(header::COOKIE, &self.cookies[column - 1]).header(header::ORIGIN, SAME_ORIGIN);
        }
        let reply = support::send(&self.app, req.body(Body::from(body.to_string())).unwrap()).await;
        reply.status.as_u16()
    }
}

#[tokio::test]
async fn r22_each_staff_server_function_answers_by_duty_and_authority() {
    let w = world().await;
    let n = w.national_member.clone();
    let c = w.county_member.clone();
    let code = |division: &str| {
        let mut digits = [0u8; 7];
        Random::os().fill(&mut digits);
        let tail: String = digits.iter().map(|d| char::from(b'0' + d % 10)).collect();
        let prefix = format!("12{division}MB{tail}");
        format!("{prefix}{}", ecert_core::validate::credit_code_check_char(&prefix).unwrap())
    };
    // Rows: (what, endpoint, the arguments a column sends, the status per column). Writes that
    // succeed change the world only in ways later rows do not depend on; a call that makes
    // something names it after the column, so that no two columns make the same.
    type Args = Box<dyn Fn(usize) -> Vec<(&'static str, String)>>;
    let same = |args: Vec<(&'static str, String)>| -> Args { Box::new(move |_| args.clone()) as Args };
    let days = || vec![("from_day", String::new()), ("to_day", String::new())];
    let party = w.party.clone();
    let stats = |authority: &str| {
        vec![
            ("authority_id", authority.to_owned()),
            ("period", "month".into()),
            ("from_day", String::new()),
            ("to_day", String::new()),
        ]
    };
    let list = |which: &str, authority: &str| [vec![("list", which.to_owned())], stats(authority)].concat();
    let page = |authority: &str| [stats(authority), vec![("page", "0".into())]].concat();
    let (nation, county) = (w.national_authority.clone(), w.county_authority.clone());
    let rows: Vec<(&str, &str, Args, [u16; 5])> = vec![
        ("catalogue_lines (administrators)", "catalogue_lines", same(vec![]), [401, 200, 403, 403, 200]),
        (
            "catalogue_add (administrators)",
            "catalogue_add",
            Box::new(|col: usize| vec![("name_zh", format!("矩阵事项{col}")), ("name_en", format!("Matrix {col}"))])
                as Args,
            [401, 200, 403, 403, 200],
        ),
        (
            "catalogue_retire(unknown) (administrators)",
            "catalogue_retire",
            same(vec![("matter_id", "no-such-matter".into())]),
            [401, 404, 403, 403, 404],
        ),
        (
            "certificate_archives(unknown) (operators, auditors)",
            "certificate_archives",
            same(vec![("certificate_id", "no-such-certificate".into())]),
            [401, 403, 200, 200, 403],
        ),
        (
            "archive_export(unknown) (operators, auditors)",
            "archive_export",
            same(vec![("archive_id", "no-such-archive".into())]),
            [401, 403, 404, 404, 403],
        ),
        (
            "roster_import(an empty list) (operators, administrators)",
            "roster_import",
            same(vec![("csv", String::new())]),
            [401, 200, 200, 403, 200],
        ),
        (
            "roster_list (any staff)",
            "roster_list",
            same(vec![("text", String::new()), ("without_only", "true".into()), ("page", "0".into())]),
            [401, 200, 200, 200, 200],
        ),
        ("authority_subtree (any staff)", "authority_subtree", same(vec![]), [401, 200, 200, 200, 200]),
        ("authority_statistics (own)", "authority_statistics", same(stats("")), [401, 200, 403, 200, 200]),
        (
            "authority_statistics(county): from above",
            "authority_statistics",
            same(stats(&county)),
            [401, 200, 403, 200, 200],
        ),
        (
            "authority_statistics(nation): never from below",
            "authority_statistics",
            same(stats(&nation)),
            [401, 200, 403, 200, 404],
        ),
        (
            "authority_statistics(bad period)",
            "authority_statistics",
            same(vec![
                ("authority_id", String::new()),
                ("period", "week".into()),
                ("from_day", String::new()),
                ("to_day", String::new()),
            ]),
            [401, 422, 422, 422, 422],
        ),
        ("statistics_csv(stats)", "statistics_csv", same(list("stats", "")), [401, 200, 403, 200, 200]),
        ("statistics_csv(issued)", "statistics_csv", same(list("issued", "")), [401, 200, 403, 200, 200]),
        ("statistics_csv(used, nation)", "statistics_csv", same(list("used", &nation)), [401, 200, 403, 200, 404]),
        ("statistics_csv(unknown list)", "statistics_csv", same(list("people", "")), [401, 422, 422, 422, 422]),
        ("issuance_list", "issuance_list", same(page("")), [401, 200, 403, 200, 200]),
        ("usage_list(nation)", "usage_list", same(page(&nation)), [401, 200, 403, 200, 404]),
        (
            "subtree_certificates (any staff)",
            "subtree_certificates",
            same(vec![
                ("text", String::new()),
                ("status", String::new()),
                ("scope", String::new()),
                ("page", "0".into()),
            ]),
            [401, 200, 200, 200, 200],
        ),
        ("authority_children", "authority_children", same(vec![]), [401, 200, 200, 200, 200]),
        ("sms_outbox (any staff)", "sms_outbox", same(vec![]), [401, 200, 200, 200, 200]),
        ("sms_deliveries (any staff)", "sms_deliveries", same(vec![]), [401, 200, 200, 200, 200]),
        ("staff_members (administrators)", "staff_members", same(vec![]), [401, 200, 403, 403, 200]),
        ("staff_actions (auditors)", "staff_actions", same(days()), [401, 403, 403, 200, 403]),
        ("staff_actions_csv (auditors)", "staff_actions_csv", same(days()), [401, 403, 403, 200, 403]),
        (
            "staff_unlock(national member)",
            "staff_unlock",
            same(vec![("member_id", n.clone())]),
            [401, 200, 403, 403, 404],
        ),
        (
            "staff_unlock(county member)",
            "staff_unlock",
            same(vec![("member_id", c.clone())]),
            [401, 404, 403, 403, 200],
        ),
        (
            "staff_reset_password(national member)",
            "staff_reset_password",
            same(vec![("member_id", n.clone())]),
            [401, 200, 403, 403, 404],
        ),
        (
            "staff_set_disabled(county member, enable)",
            "staff_set_disabled",
            same(vec![("member_id", c.clone()), ("disabled", "false".into())]),
            [401, 404, 403, 403, 200],
        ),
        (
            "list_certificates (any staff)",
            "list_certificates",
            same(vec![("text", String::new()), ("status", String::new()), ("page", "0".into())]),
            [401, 200, 200, 200, 200],
        ),
        (
            "party_add_counter (administrators)",
            "party_add_counter",
            same(vec![("party_id", party), ("name", "一号窗口".into())]),
            [401, 200, 403, 403, 404],
        ),
        (
            "party_change(resume) (administrators)",
            "party_change",
            same(vec![("party_id", w.party.clone()), ("change", "resume".into())]),
            [401, 200, 403, 403, 404],
        ),
        (
            "party_rotate_secret (administrators)",
            "party_rotate_secret",
            same(vec![("party_id", w.party.clone())]),
            [401, 200, 403, 403, 404],
        ),
        (
            "directory_subscribe (administrators)",
            "directory_subscribe",
            same(vec![("party_id", w.party.clone()), ("webhook_url", String::new())]),
            [401, 200, 403, 403, 404],
        ),
        (
            "party_scenario (administrators)",
            "party_scenario",
            same(vec![
                ("party_id", w.party.clone()),
                ("published", "on".into()),
                ("services", "对公开户".into()),
                ("guide", String::new()),
                ("entry", String::new()),
            ]),
            [401, 200, 403, 403, 404],
        ),
        (
            "directory_unsubscribe (administrators)",
            "directory_unsubscribe",
            same(vec![("party_id", w.party.clone())]),
            [401, 200, 403, 403, 404],
        ),
        (
            "filing_queue (operators and auditors)",
            "filing_queue",
            same(vec![("waiting", "true".into())]),
            [401, 403, 200, 200, 403],
        ),
        (
            "filing_detail (operators and auditors)",
            "filing_detail",
            same(vec![("id", "no-such-filing".into())]),
            [401, 403, 404, 404, 403],
        ),
        (
            "filing_return (operators)",
            "filing_return",
            same(vec![("id", "no-such-filing".into()), ("reasons", "材料不全".into())]),
            [401, 403, 404, 403, 403],
        ),
        (
            "counter_reset_password (administrators)",
            "counter_reset_password",
            same(vec![("counter_id", w.counter.clone())]),
            [401, 200, 403, 403, 404],
        ),
        (
            "staff_add (administrators)",
            "staff_add",
            Box::new(|col: usize| {
                vec![("username", format!("u-{col}")), ("display_name", "孙八".into()), ("operate", "on".into())]
            }) as Args,
            [401, 200, 403, 403, 200],
        ),
        (
            "party_register (administrators)",
            "party_register",
            Box::new(|col: usize| vec![("name", format!("职责矩阵系统{col}")), ("redirect_uris", String::new())])
                as Args,
            [401, 200, 403, 403, 200],
        ),
        (
            "authority_create (administrators above)",
            "authority_create",
            Box::new(|col: usize| {
                vec![
                    ("name", "省局".into()),
                    ("region_code", format!("{}0000", 41 + col)),
                    ("admin_username", format!("p-{col}")),
                    ("admin_display_name", "王五".into()),
                ]
            }) as Args,
            [401, 200, 403, 403, 422],
        ),
        (
            "issue_certificate (operators, in their area)",
            "issue_certificate",
            Box::new(move |_| {
                vec![
                    ("credit_code", code("110105")),
                    ("name", "北京市职责测试院".into()),
                    ("address", "北京市海淀区中关村大街3号".into()),
                    ("rep_name", "蒋五".into()),
                    ("rep_id_number", testing::resident_id(301)),
                    ("rep_mobile", "13812345679".into()),
                    ("first_manager", "legal_rep".into()),
                    ("check_form", "on".into()),
                    ("check_licence", "on".into()),
                    ("check_identity_card", "on".into()),
                ]
            }) as Args,
            [401, 403, 200, 403, 403],
        ),
    ];
    let mut failed = Vec::new();
    let mut table = String::new();
    for (what, endpoint, args, expected) in &rows {
        let mut got = [0u16; 5];
        for column in 0..5 {
            let args = args(column);
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            got[column] = w.call(column, endpoint, &args).await;
            if got[column] != expected[column] {
                failed.push(format!("{what} by {}: {} (expected {})", COLUMNS[column], got[column], expected[column]));
            }
        }
        table.push_str(&format!("{what:<48} {got:?}\n"));
    }
    // Server functions that take JSON.
    let unknown = serde_json::json!({ "credit_codes": ["12110105MB0000000X"] });
    // Issue 18 §1: operators review registration filings; auditors read them.
    let no_filing = serde_json::json!({ "id": "no-such-filing", "checklist": { "form": true, "licence": true, "identity_card": true, "authorization": true } });
    let json_rows = [
        ("roster_bulk_issue (operators)", "roster_bulk_issue", unknown, [401, 403, 200, 403, 403]),
        ("filing_approve (operators)", "filing_approve", no_filing, [401, 403, 404, 403, 403]),
    ];
    for (what, endpoint, body, expected) in &json_rows {
        let mut got = [0u16; 5];
        for column in 0..5 {
            got[column] = w.call_json(column, endpoint, body).await;
            if got[column] != expected[column] {
                failed.push(format!("{what} by {}: {} (expected {})", COLUMNS[column], got[column], expected[column]));
            }
        }
        table.push_str(&format!("{what:<48} {got:?}\n"));
    }
    println!("{:<48} {COLUMNS:?}\n{table}", "");
    assert!(failed.is_empty(), "cells that answered otherwise:\n{}", failed.join("\n"));
}
