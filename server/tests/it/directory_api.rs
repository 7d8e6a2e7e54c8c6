//! Issue 18 §3: the directory change feed through the real router in process — a subscribed
//! party pulls its authority's events page by page, each page signed by the platform's
//! directory key (a detached JWS checkable with the published keys); others get nothing — and
//! `docs/directory-api.yaml` held to the server: its paths are the routes, its schemas and
//! examples have the keys of the Rust types, and each documented example gets a status the
//! document lists.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ecert_core::feed::{self, DirectoryEvent, EventPage};
use ecert_core::party::ShownOnce;
use ecert_core::secret::Random;
use ecert_core::{Millis, changes};
use ecert_server::directory_api::{EVENTS_PATH, JWKS_PATH, PAGE_TYP, SIGNATURE_HEADER};
use ecert_testing::{self as testing, open_test_db};
use p256::ecdsa::signature::Verifier;
use serde_json::Value;

use crate::openapi_doc::{self, Operation, at, child, json as one_line, keys_of, lines_of};
use crate::support::{self, HOST, app_on, basic, party};

const DOC: &str = include_str!("../../../docs/directory-api.yaml");

fn doc_lines() -> &'static [&'static str] {
    static LINES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LINES.get_or_init(|| lines_of(DOC))
}

async fn get(app: &axum::Router, who: Option<&ShownOnce>, path_and_query: &str) -> support::Reply {
    let mut req = Request::get(path_and_query).header(header::HOST, HOST);
    if let Some(p) = who {
        req = req.header(header::AUTHORIZATION, basic(p));
    }
    support::send(app, req.body(Body::empty()).unwrap()).await
}

/// Whether `signature` (`<header>..<signature>`) signs `body` with a key of `jwks`, for the
/// party `aud` reading from `after`.
fn signed_by(signature: &str, body: &[u8], jwks: &Value, aud: &str, after: i64) -> bool {
    let parts: Vec<&str> = signature.split('.').collect();
    let [head, "", sig] = parts[..] else { return false };
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
    assert_eq!((header["alg"].as_str(), header["typ"].as_str()), (Some("ES256"), Some(PAGE_TYP)));
    let iat = header["iat"].as_i64().unwrap();
    assert!((iat - Millis::now().0 / 1000).abs() < 600, "signed now");
    if header["aud"] != aud || header["after"] != after {
        return false;
    }
    let Some(jwk) = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"]) else { return false };
    let mut sec1 = vec![4u8];
    sec1.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
    sec1.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
    let public = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
    public.verify(format!("{head}.{}", URL_SAFE_NO_PAD.encode(body)).as_bytes(), &signature).is_ok()
}

#[tokio::test]
async fn a_subscribed_platform_pulls_its_authoritys_events_in_signed_pages_and_no_one_else_does() {
    let db = open_test_db().await;
    let app = app_on(&db, &[]);
    let now = Millis::now();
    let (staff, _) = testing::staff(&db, now).await;
    let library = party(&db, &staff, "省电子证照库").await;
    let bystander = party(&db, &staff, "某银行柜面系统").await;

    // Not subscribed: refused, whoever asks; no credentials: 401.
    let r = get(&app, Some(&library), EVENTS_PATH).await;
    assert_eq!((r.status, r.json()["error"].as_str()), (StatusCode::FORBIDDEN, Some("refused")), "{}", r.body);
    assert_eq!(get(&app, None, EVENTS_PATH).await.status, StatusCode::UNAUTHORIZED);
    feed::subscribe(&db, &staff, &library.login, None, now, &Random::os()).await.unwrap();

    let issued = testing::issue(&db, &staff, "北京市目录接口研究院", "张三", 31, now).await;
    let rename = changes::ChangeRequest::Rename { name: "北京市目录接口研究总院".into() };
    let policy = ecert_core::certificate::IssuePolicy::default();
    let local = ecert_core::identity::IdentityVerifier::Local;
    changes::apply(&db, &staff, &issued.certificate_id, &rename, &local, policy, now, &Random::os()).await.unwrap();

    let jwks = get(&app, None, JWKS_PATH).await;
    assert_eq!(jwks.status, StatusCode::OK, "the keys are public");
    let jwks = jwks.json();

    let r = get(&app, Some(&library), &format!("{EVENTS_PATH}?limit=1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let signature = r.headers[SIGNATURE_HEADER].to_str().unwrap().to_owned();
    assert!(signed_by(&signature, r.body.as_bytes(), &jwks, &library.login, 0), "the page is the platform's");
    let mut forged = r.body.clone().into_bytes();
    forged.extend_from_slice(b" ");
    assert!(!signed_by(&signature, &forged, &jwks, &library.login, 0), "and only that page");
    assert!(!signed_by(&signature, r.body.as_bytes(), &jwks, &bystander.login, 0), "for that party");
    assert!(!signed_by(&signature, r.body.as_bytes(), &jwks, &library.login, 5), "from that cursor");
    let first: EventPage = serde_json::from_str(&r.body).unwrap();
    assert_eq!(first.events.len(), 1);
    assert!(first.more);
    assert_eq!(
        (first.events[0].kind.as_str(), first.events[0].credit_code.as_str()),
        ("issued", issued.credit_code.as_str())
    );
    assert_eq!(first.events[0].legal_rep_name, "张*", "R16");

    let r = get(&app, Some(&library), &format!("{EVENTS_PATH}?after={}", first.next_after)).await;
    let rest: EventPage = serde_json::from_str(&r.body).unwrap();
    let kinds: Vec<&str> = rest.events.iter().map(|e: &DirectoryEvent| e.kind.as_str()).collect();
    assert_eq!(kinds, ["renamed"]);
    assert_eq!(rest.events[0].name, "北京市目录接口研究总院");
    assert!(!rest.more && rest.next_after >= rest.events[0].seq);

    // Bad input: which field, and nothing read.
    for (query, field, problem) in [
        ("after=x", "after", "BadFormat"),
        ("after=9223372036854775807", "after", "OutOfRange"),
        ("limit=0", "limit", "OutOfRange"),
        ("limit=501", "limit", "OutOfRange"),
    ] {
        let r = get(&app, Some(&library), &format!("{EVENTS_PATH}?{query}")).await;
        let fields = &r.json()["fields"][0];
        assert_eq!(
            (r.status, fields["field"].as_str(), fields["problem"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field), Some(problem)),
            "{query}: {}",
            r.body
        );
    }
    // Another party of the same authority is not subscribed for being a neighbour.
    assert_eq!(get(&app, Some(&bystander), EVENTS_PATH).await.status, StatusCode::FORBIDDEN);
    let wrong = ShownOnce { login: library.login.clone(), secret: "wrong".into() };
    assert_eq!(get(&app, Some(&wrong), EVENTS_PATH).await.status, StatusCode::UNAUTHORIZED);
}

// ---- the document against the server ----

fn operations() -> Vec<Operation<'static>> {
    openapi_doc::operations(doc_lines())
}

#[test]
fn the_documented_paths_are_the_routes_served() {
    let documented: BTreeSet<(String, String)> = operations().into_iter().map(|op| (op.path, op.method)).collect();
    let served: BTreeSet<(String, String)> =
        [(EVENTS_PATH, "GET"), (JWKS_PATH, "GET")].iter().map(|(p, m)| ((*p).to_owned(), (*m).to_owned())).collect();
    assert_eq!(documented, served, "docs/directory-api.yaml and server/src/directory_api.rs disagree");
}

#[test]
fn schemas_and_examples_have_the_keys_of_the_rust_types() {
    let op = operations().into_iter().find(|op| op.path == EVENTS_PATH).unwrap();
    let ok = at(op.body, &["responses", "200", "content", "application/json"]).expect("a JSON 200");
    let example = one_line(child(ok.body, "example").expect("a 200 example").value, &op.path);
    let (fields, _) = keys_of::<EventPage>(&example, "events 200");
    let (properties, required) = openapi_doc::schema_keys(doc_lines(), "#/components/schemas/EventPage");
    assert_eq!((&properties, &required), (&fields, &fields), "EventPage");
    let (fields, _) = keys_of::<DirectoryEvent>(&example["events"][0], "an event");
    let (properties, required) = openapi_doc::schema_keys(doc_lines(), "#/components/schemas/DirectoryEvent");
    assert_eq!((&properties, &required), (&fields, &fields), "DirectoryEvent");
}

#[tokio::test]
async fn documented_requests_get_a_documented_status() {
    let db = open_test_db().await;
    let app = app_on(&db, &[]);
    let (staff, _) = testing::staff(&db, Millis::now()).await;
    let rp = party(&db, &staff, "文档示例证照库").await;
    feed::subscribe(&db, &staff, &rp.login, None, Millis::now(), &Random::os()).await.unwrap();
    for op in operations() {
        let query: Vec<String> = at(op.body, &["parameters"])
            .map(|p| {
                let names = p.body.iter().filter_map(|l| l.trim().strip_prefix("- name: "));
                let examples = p.body.iter().filter_map(|l| l.trim().strip_prefix("example: "));
                names.zip(examples).map(|(n, e)| format!("{n}={e}")).collect()
            })
            .unwrap_or_default();
        let path = if query.is_empty() { op.path.clone() } else { format!("{}?{}", op.path, query.join("&")) };
        let status = get(&app, Some(&rp), &path).await.status.as_u16();
        assert!(op.statuses.contains(&status), "{path}: {status} undocumented");
        if op.path == EVENTS_PATH {
            assert_eq!(status, 200);
            assert_eq!(get(&app, None, &path).await.status.as_u16(), 401);
            assert!(op.statuses.contains(&401) && op.statuses.contains(&403));
        }
    }
}
