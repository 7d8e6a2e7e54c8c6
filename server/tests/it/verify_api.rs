//! Issue 18 §2: the verification API for relying parties' own systems, through the real router
//! in process — a party's system verifies a presented number once and a QR while it lives,
//! seeing what a counter sees (R9–R12, R18); failures count against the party (R10); a
//! suspended party gets nothing; the directory lookup by credit code — and `docs/verify-api.yaml`
//! held to the server: its paths are the routes, its schemas and examples have the keys of the
//! Rust types, and each documented example gets a status the document lists.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ecert_core::device::action;
use ecert_core::party::ShownOnce;
use ecert_core::presentation::{self, PresentRequest};
use ecert_core::secret::{Random, Secret};
use ecert_core::{Millis, store::query};
use ecert_server::verify_api::{INSTITUTION_PATH, VERIFY_PATH, VerifyRequest};
use ecert_testing::{self as testing, Member, PASSWORD, open_test_db};
use serde_json::{Value, json};

use crate::openapi_doc::{self, Operation, at, child, json as one_line, keys_of, lines_of, request_example};
use crate::support::{self, HOST, app_on, basic, party};

const DOC: &str = include_str!("../../../docs/verify-api.yaml");

fn doc_lines() -> &'static [&'static str] {
    static LINES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LINES.get_or_init(|| lines_of(DOC))
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    json: Value,
}

async fn verify(app: &axum::Router, who: Option<&ShownOnce>, body: Value) -> Reply {
    let mut req = Request::post(VERIFY_PATH)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json");
    if let Some(p) = who {
        req = req.header(header::AUTHORIZATION, basic(p));
    }
    let reply = support::send(app, req.body(Body::from(body.to_string())).unwrap()).await;
    Reply { json: reply.json(), status: reply.status, headers: reply.headers }
}

async fn institution(app: &axum::Router, who: Option<&ShownOnce>, code: &str) -> Reply {
    let mut req = Request::get(INSTITUTION_PATH.replace("{credit_code}", code)).header(header::HOST, HOST);
    if let Some(p) = who {
        req = req.header(header::AUTHORIZATION, basic(p));
    }
    let reply = support::send(app, req.body(Body::empty()).unwrap()).await;
    Reply { json: reply.json(), status: reply.status, headers: reply.headers }
}

/// `m` presents now: a new set (QR token, number).
async fn present(db: &ecert_core::store::Db, m: &Member) -> presentation::Presented {
    let now = Millis::now();
    let device_id = &m.binding.device_id;
    let request = PresentRequest {
        device_id,
        signed_at: now.0,
        signature: &m.phone.sign_timed(action::PRESENT, device_id, now.0),
        password: Secret::new(PASSWORD),
        grant_id: None,
    };
    presentation::present(db, request, now, &Random::os()).await.unwrap()
}

async fn count(db: &ecert_core::store::Db, sql: &str, id: &str) -> i64 {
    db.fetch_one::<(i64,)>(query(sql).bind(id)).await.unwrap().0
}

#[tokio::test]
async fn r9_r12_r18_a_partys_system_verifies_a_number_once_and_a_qr_while_it_lives_seeing_the_name_to_compare() {
    let db = open_test_db().await;
    let app = app_on(&db, &[]);
    let now = Millis::now();
    let (staff, _) = testing::staff(&db, now).await;
    let fm = testing::first_manager(&db, &staff, "北京市核验接口研究院", "张三", 81, now).await;
    let bank = party(&db, &staff, "某银行柜面系统").await;
    let set = present(&db, &fm).await;
    let id = testing::resident_id(81);

    // No credentials, or a wrong secret: 401 with a Basic challenge, and nothing looked up.
    let r = verify(&app, None, json!({"code": set.number.expose()})).await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    assert!(r.headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));
    let wrong = ShownOnce { login: bank.login.clone(), secret: "wrong".into() };
    assert_eq!(verify(&app, Some(&wrong), json!({"code": set.number.expose()})).await.status, StatusCode::UNAUTHORIZED);

    // The number as the clerk typed it, with spaces: verified, the full name and the ID
    // number's last four (R18), the server's time of the check.
    let typed = presentation::format_number(set.number.expose());
    let before = Millis::now().0;
    let r = verify(&app, Some(&bank), json!({"code": typed})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.json["institution_name"], "北京市核验接口研究院");
    assert_eq!(r.json["holder_name"], "张三", "R18: the full name");
    assert_eq!(r.json["holder_id_number"], format!("**************{}", &id[14..]), "R18: the last four only");
    assert_eq!(r.json["legal_rep_name"], "张*", "R16: the legal representative stays masked");
    assert_eq!(r.json["role"], "first_manager");
    let checked_at = r.json["checked_at"].as_i64().unwrap();
    assert!(checked_at >= before && checked_at <= Millis::now().0, "R18: the server's time of the check");
    // R12: the record names the party, and no counter.
    let sql = "SELECT COUNT(*) FROM usage_record WHERE party_id = $1 AND counter_id IS NULL AND kind = 'present' \
               AND result = 'verified' AND system = '某银行柜面系统'";
    assert_eq!(count(&db, sql, &bank.login).await, 1);

    // R9: a number works once; the barcode carries the same number.
    let r = verify(&app, Some(&bank), json!({"code": set.number.expose()})).await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::GONE, Some("refused")), "{}", r.json);
    assert!(r.json.get("institution_name").is_none(), "R9: no data at all");

    // The QR's link, as a scanner reads it, and the token alone: verified each time while the
    // set lives; recorded at most once a minute per party and holder (R12, as the public page).
    let link = format!("https://ecert.example.cn/check?t={}", set.qr_token.expose());
    for code in [link.as_str(), set.qr_token.expose(), link.as_str()] {
        let r = verify(&app, Some(&bank), json!({ "code": code })).await;
        assert_eq!(r.status, StatusCode::OK, "{code}: {}", r.json);
        assert_eq!(r.json["holder_name"], "张三");
    }
    assert_eq!(count(&db, sql, &bank.login).await, 1, "R12: one record a minute, not one per check");

    // Not a code: a clear error, nothing looked up.
    for bad in ["12345", "https://ecert.example.cn/check?x=1", "not a token!", &"1".repeat(513)] {
        let r = verify(&app, Some(&bank), json!({ "code": bad })).await;
        assert_eq!((r.status, r.json["fields"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("code")), "{bad}");
    }
    let r = verify(&app, Some(&bank), json!({"number": "1"})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "an unknown key: {}", r.json);

    // R15: a new set voids this one's QR at once.
    let _newer = present(&db, &fm).await;
    let r = verify(&app, Some(&bank), json!({ "code": link })).await;
    assert_eq!(r.status, StatusCode::GONE);

    // A party suspended gets nothing, even with the right secret and a live number.
    let live = present(&db, &fm).await;
    db.execute(query("UPDATE relying_party SET status = 'suspended' WHERE id = $1").bind(&bank.login)).await.unwrap();
    let r = verify(&app, Some(&bank), json!({"code": live.number.expose()})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.json);
    let r = verify(&app, Some(&bank), json!({"code": live.qr_token.expose()})).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.json);
    assert_eq!(count(&db, sql, &bank.login).await, 1, "nothing recorded for a suspended party");
}

#[tokio::test]
async fn r10_a_partys_failed_numbers_are_limited_per_window_even_when_guessing_concurrently() {
    let db = open_test_db().await;
    let app = app_on(&db, &[]);
    let now = Millis::now();
    let (staff, _) = testing::staff(&db, now).await;
    let fm = testing::first_manager(&db, &staff, "北京市接口限速研究院", "张三", 82, now).await;
    let bank = party(&db, &staff, "限速银行系统").await;
    let other = party(&db, &staff, "另一银行系统").await;
    let set = present(&db, &fm).await;

    let tries = presentation::PARTY_NUMBER_FAILURES as usize;
    let guesses: Vec<_> = (0..tries + 20)
        .map(|i| {
            let (app, bank) = (app.clone(), ShownOnce { login: bank.login.clone(), secret: bank.secret.clone() });
            tokio::spawn(async move {
                verify(&app, Some(&bank), json!({"code": format!("{:016}", 300_000 + i)})).await.status
            })
        })
        .collect();
    let (mut invalid, mut limited) = (0, 0);
    for g in guesses {
        match g.await.unwrap() {
            StatusCode::GONE => invalid += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((invalid, limited), (tries, 20), "R10: exactly the window's tries are answered");
    let r = verify(&app, Some(&bank), json!({"code": set.number.expose()})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "even the right number waits for the window");
    let unused = "SELECT COUNT(*) FROM presentation WHERE device_id = $1 AND used_at IS NULL AND voided_at IS NULL";
    assert_eq!(count(&db, unused, &fm.binding.device_id).await, 1, "the refused right number is left unused");
    // Another party's window is its own.
    let r = verify(&app, Some(&other), json!({"code": set.number.expose()})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
}

#[tokio::test]
async fn a_party_looks_an_institution_up_by_its_credit_code() {
    let db = open_test_db().await;
    let app = app_on(&db, &[]);
    let now = Millis::now();
    let (staff, _) = testing::staff(&db, now).await;
    let issued = testing::issue(&db, &staff, "北京市目录查询研究院", "王五", 83, now).await;
    let bank = party(&db, &staff, "目录查询系统").await;
    let code = issued.credit_code.clone();

    let r = institution(&app, None, &code).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "registered parties only");
    let r = institution(&app, Some(&bank), &code.to_ascii_lowercase()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.json["name"], "北京市目录查询研究院");
    assert_eq!(r.json["credit_code"], code.as_str());
    assert_eq!(r.json["legal_rep_name"], "王*", "R16: masked");
    assert_eq!(r.json["certificate_status"], "active");
    assert!(r.json["valid_until"].as_str().is_some_and(|d| d.len() == 10));
    assert!(r.json.get("legal_rep_id_number").is_none() && !r.json.to_string().contains("1101051990"));

    // R20: past its validity, an active certificate is `expired`; a cancelled one says so.
    db.execute(
        query("UPDATE certificate SET expires_at = $1 WHERE id = $2").bind(now.0 - 1).bind(&issued.certificate_id),
    )
    .await
    .unwrap();
    assert_eq!(institution(&app, Some(&bank), &code).await.json["certificate_status"], "expired");
    db.execute(query("UPDATE certificate SET status = 'cancelled' WHERE id = $1").bind(&issued.certificate_id))
        .await
        .unwrap();
    let r = institution(&app, Some(&bank), &code).await;
    assert_eq!((r.json["certificate_status"].as_str(), &r.json["valid_until"]), (Some("cancelled"), &Value::Null));

    // A well-formed code nobody registered; a code whose check character is wrong.
    let r = institution(&app, Some(&bank), &testing::credit_code()).await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let mut bad = code.clone();
    let last = if bad.ends_with('0') { "1" } else { "0" };
    bad.replace_range(17.., last);
    let r = institution(&app, Some(&bank), &bad).await;
    assert_eq!(
        (r.status, r.json["fields"][0]["problem"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BadCheckCharacter"))
    );
}

// ---- the document against the server ----

fn operations() -> Vec<Operation<'static>> {
    openapi_doc::operations(doc_lines())
}

#[test]
fn the_documented_paths_are_the_routes_served() {
    let documented: BTreeSet<(String, String)> = operations().into_iter().map(|op| (op.path, op.method)).collect();
    let served: BTreeSet<(String, String)> = [(VERIFY_PATH, "POST"), (INSTITUTION_PATH, "GET")]
        .iter()
        .map(|(p, m)| ((*p).to_owned(), (*m).to_owned()))
        .collect();
    assert_eq!(documented, served, "docs/verify-api.yaml and server/src/verify_api.rs disagree");
}

/// The 200 example of `op`, and the properties and `required` list of its schema.
fn success(op: &Operation) -> (Value, BTreeSet<String>, BTreeSet<String>) {
    let ok = at(op.body, &["responses", "200", "content", "application/json"]).expect("a JSON 200");
    let example = one_line(child(ok.body, "example").expect("a 200 example").value, &op.path);
    let reference = at(ok.body, &["schema", "$ref"]).expect("a 200 $ref");
    let (properties, required) = openapi_doc::schema_keys(doc_lines(), reference.value);
    (example, properties, required)
}

#[test]
fn schemas_and_examples_have_the_keys_of_the_rust_types() {
    for op in operations() {
        let (example, properties, required) = success(&op);
        let (fields, _) = if op.path == VERIFY_PATH {
            let request = request_example(&op);
            let (keys, needed) = keys_of::<VerifyRequest>(&request, "verify request");
            let reference = at(op.body, &["requestBody", "content", "application/json", "schema", "$ref"]).unwrap();
            let (documented, documented_required) = openapi_doc::schema_keys(doc_lines(), reference.value);
            assert_eq!((documented, documented_required), (keys, needed), "the request's keys");
            keys_of::<ecert_core::presentation::VerifiedView>(&example, "verify 200")
        } else {
            keys_of::<ecert_core::directory::Registration>(&example, "institution 200")
        };
        assert_eq!(properties, fields, "{}: 200 properties", op.path);
        assert_eq!(required, fields, "{}: a response always has every key", op.path);
    }
}

#[tokio::test]
async fn documented_requests_get_a_documented_status() {
    let db = open_test_db().await;
    let app = app_on(&db, &[]);
    let (staff, _) = testing::staff(&db, Millis::now()).await;
    let rp = party(&db, &staff, "文档示例系统").await;
    for op in operations() {
        let statuses = &op.statuses;
        let example_status = if op.path == VERIFY_PATH {
            let example = request_example(&op);
            assert_eq!(verify(&app, None, example.clone()).await.status.as_u16(), 401);
            // The example number is not live in a fresh database.
            let r = verify(&app, Some(&rp), example).await;
            assert_eq!(r.status, StatusCode::GONE, "{}", r.json);
            let r = verify(&app, Some(&rp), json!({})).await;
            assert!(statuses.contains(&r.status.as_u16()), "`{{}}`: {} {}", r.status, r.json);
            r.status
        } else {
            let parameter =
                at(op.body, &["parameters"]).map(|p| p.body.iter().find_map(|l| l.trim().strip_prefix("example: ")));
            let code = parameter.flatten().expect("a path parameter example");
            assert_eq!(institution(&app, None, code).await.status.as_u16(), 401);
            institution(&app, Some(&rp), code).await.status
        };
        assert!(statuses.contains(&example_status.as_u16()), "{}: {example_status} undocumented", op.path);
        assert!(statuses.contains(&401), "{}: 401 is documented", op.path);
    }
}
