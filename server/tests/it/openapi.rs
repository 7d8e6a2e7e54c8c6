//! `docs/wallet-api.yaml` against the server: the documented paths are exactly the wallet server
//! functions the router serves; the request and response schemas and examples have the keys of
//! the Rust types; a documented request example, sent as it stands, gets one of the statuses the
//! document lists; and the example signatures verify with the documented key and message.
//!
//! The YAML is read line by line (`openapi_doc`).

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Request, header};
use ecert_app::error::AppError;
use ecert_app::wallet::{
    WalletAccept, WalletChangePassword, WalletLoginAnswer, WalletLoginScan, WalletOffer, WalletPasswordReset,
    WalletSmsRequest, WalletStatus,
};
use ecert_testing::open_test_db;
use leptos::server_fn::ServerFn;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::openapi_doc::{self, Operation, at, child, entries, json, keys_of, lines_of, request_example};
use crate::support::{self, HOST, app_on};

const DOC: &str = include_str!("../../../docs/wallet-api.yaml");
const PREFIX: &str = "/api/v1/wallet/";

// ---- the document ----

fn doc_lines() -> &'static [&'static str] {
    static LINES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LINES.get_or_init(|| lines_of(DOC))
}

fn operations() -> Vec<Operation<'static>> {
    openapi_doc::operations(doc_lines())
}

fn schema_keys(reference: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    openapi_doc::schema_keys(doc_lines(), reference)
}
// ---- the Rust side ----

/// Checks one operation's request and success schemas and examples against the server function
/// `F`: its arguments (the JSON body) and its `Ok` type (the 200 body).
fn check_types<F>(op: &Operation)
where
    F: ServerFn + DeserializeOwned + Serialize,
    F::Output: DeserializeOwned + Serialize,
{
    assert_eq!(F::PATH, op.path);
    let example = request_example(op);
    let (fields, required) = keys_of::<F>(&example, &format!("{} request", op.path));
    let reference = at(op.body, &["requestBody", "content", "application/json", "schema", "$ref"])
        .unwrap_or_else(|| panic!("{}: the request schema is a $ref", op.path));
    let (properties, documented_required) = schema_keys(reference.value);
    assert_eq!(properties, fields, "{}: request properties are the function's arguments", op.path);
    assert_eq!(documented_required, required, "{}: required request keys", op.path);

    let ok = at(op.body, &["responses", "200", "content", "application/json"])
        .unwrap_or_else(|| panic!("{}: a JSON 200 response", op.path));
    let example = json(child(ok.body, "example").expect("a 200 example").value, &op.path);
    let (fields, _) = keys_of::<F::Output>(&example, &format!("{} 200", op.path));
    let schema = child(ok.body, "schema").expect("a 200 schema");
    match child(schema.body, "$ref") {
        Some(reference) => {
            let (properties, documented_required) = schema_keys(reference.value);
            assert_eq!(properties, fields, "{}: 200 properties", op.path);
            assert_eq!(documented_required, fields, "{}: a response always has every key", op.path);
        }
        None => {
            let ty = child(schema.body, "type").expect("a 200 type").value.trim_matches('"');
            let actual = match example {
                Value::Null => "null",
                Value::String(_) => "string",
                _ => "other",
            };
            assert_eq!(ty, actual, "{}: 200 type", op.path);
        }
    }
}

fn check_types_of(op: &Operation) {
    match op.path.strip_prefix(PREFIX) {
        Some("offer") => check_types::<WalletOffer>(op),
        Some("accept") => check_types::<WalletAccept>(op),
        Some("login_scan") => check_types::<WalletLoginScan>(op),
        Some("login_answer") => check_types::<WalletLoginAnswer>(op),
        Some("password") => check_types::<WalletChangePassword>(op),
        Some("sms_request") => check_types::<WalletSmsRequest>(op),
        Some("password_reset") => check_types::<WalletPasswordReset>(op),
        Some("status") => check_types::<WalletStatus>(op),
        Some("present") => check_types::<ecert_app::wallet::present::WalletPresent>(op),
        Some("records") => check_types::<ecert_app::wallet::WalletRecords>(op),
        Some("check_number") => check_types::<ecert_app::wallet::check::WalletCheckNumber>(op),
        Some("sign_scan") => check_types::<ecert_app::wallet::sign::WalletSignScan>(op),
        Some("sign_confirm") => check_types::<ecert_app::wallet::sign::WalletSignConfirm>(op),
        Some("sign_reject") => check_types::<ecert_app::wallet::sign::WalletSignReject>(op),
        Some("activity") => check_types::<ecert_app::wallet::WalletActivity>(op),
        Some("end_session") => check_types::<ecert_app::wallet::WalletEndSession>(op),
        Some("manage_list") => check_types::<ecert_app::wallet::manage::WalletManageList>(op),
        Some("manage") => check_types::<ecert_app::wallet::manage::WalletManage>(op),
        Some("face") => check_types::<ecert_app::wallet::WalletFace>(op),
        Some("remove_card") => check_types::<ecert_app::wallet::WalletRemoveCard>(op),
        Some("grant_offer") => check_types::<ecert_app::wallet::grant::WalletGrantOffer>(op),
        Some("redownload_sms") => check_types::<ecert_app::wallet::WalletRedownloadSms>(op),
        Some("grant_receive") => check_types::<ecert_app::wallet::grant::WalletGrantReceive>(op),
        Some("approval_scan") => check_types::<ecert_app::wallet::approve::WalletApprovalScan>(op),
        Some("approval_answer") => check_types::<ecert_app::wallet::approve::WalletApprovalAnswer>(op),
        _ => panic!("{}: add its server function to check_types_of", op.path),
    }
}

/// Every JSON example under an error status of the operation.
fn error_examples(op: &Operation) -> Vec<(u16, Value)> {
    let responses = child(op.body, "responses").unwrap();
    let mut out = Vec::new();
    for response in entries(responses.body).into_iter().filter(|r| r.key != "200") {
        let status = response.key.parse().unwrap();
        let body = match child(response.body, "$ref") {
            Some(r) => {
                let name = r.value.trim_matches('"').strip_prefix("#/components/responses/").unwrap();
                at(doc_lines(), &["components", "responses", name]).unwrap().body
            }
            None => response.body,
        };
        let Some(content) = at(body, &["content", "application/json"]) else { continue };
        if let Some(example) = child(content.body, "example") {
            out.push((status, json(example.value, &op.path)));
        }
        if let Some(examples) = child(content.body, "examples") {
            for e in entries(examples.body) {
                out.push((status, json(child(e.body, "value").expect("value").value, &op.path)));
            }
        }
    }
    out
}

async fn app() -> axum::Router {
    app_on(&open_test_db().await, &[])
}

async fn post(app: &axum::Router, path: &str, body: String, origin: Option<&str>) -> (u16, String) {
    let mut req = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json");
    if let Some(o) = origin {
        req = req.header(header::ORIGIN, o);
    }
    let reply = support::send(app, req.body(Body::from(body)).unwrap()).await;
    (reply.status.as_u16(), reply.body)
}

// ---- the tests ----

#[test]
fn every_wallet_server_function_is_documented_and_every_documented_path_is_registered() {
    // The router registers exactly these (leptos_axum's `leptos_routes` iterates the same list).
    let registered: BTreeSet<(String, String)> = leptos::server_fn::axum::server_fn_paths()
        .filter(|(path, _)| path.starts_with(PREFIX))
        .map(|(path, method)| (path.to_owned(), method.as_str().to_owned()))
        .collect();
    assert!(!registered.is_empty(), "no wallet server functions registered: is ecert-app linked?");
    let documented: BTreeSet<(String, String)> = operations().into_iter().map(|op| (op.path, op.method)).collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unregistered: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unregistered.is_empty(),
        "docs/wallet-api.yaml and the server disagree.\n  served but not documented: {undocumented:?}\n  \
         documented but not served (or not under {PREFIX}): {unregistered:?}"
    );
}

#[test]
fn schemas_and_examples_have_the_keys_and_shapes_of_the_rust_types() {
    let ops = operations();
    assert!(!ops.is_empty());
    for op in &ops {
        check_types_of(op);
        for (status, example) in error_examples(op) {
            assert_ne!(status, 200);
            let decoded: AppError = serde_json::from_value(example.clone())
                .unwrap_or_else(|e| panic!("{} {status}: {e}: {example} is not an AppError", op.path));
            assert_eq!(serde_json::to_value(&decoded).unwrap(), example, "{} {status}", op.path);
            if let AppError::Domain(domain) = &decoded {
                let expected = ecert_app::error::status_of(domain).as_u16();
                assert_eq!(expected, status, "{} documents {example} under {status}", op.path);
            }
        }
    }
}

#[tokio::test]
async fn documented_requests_get_a_documented_status() {
    let app = app().await;
    for op in operations() {
        assert_eq!(op.method, "POST");
        let statuses = &op.statuses;
        // The example, as documented: its code and device are unknown to a fresh database.
        let (status, body) = post(&app, &op.path, request_example(&op).to_string(), None).await;
        assert!(statuses.contains(&status), "{}: the example got {status} {body}; documented: {statuses:?}", op.path);
        let error: AppError = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{}: {e}: {body}", op.path));
        let AppError::Domain(domain) = &error else {
            panic!("{}: the example is refused, not decoded: {body}", op.path)
        };
        assert_eq!(ecert_app::error::status_of(domain).as_u16(), status, "{}", op.path);

        // A body without the required keys.
        let (status, body) = post(&app, &op.path, "{}".to_owned(), None).await;
        assert!(statuses.contains(&status), "{}: `{{}}` got {status} {body}; documented: {statuses:?}", op.path);
        assert!(matches!(serde_json::from_str(&body), Ok(AppError::Transport(_))), "{}: {body}", op.path);

        // A browser on another site.
        let origin = Some("https://evil.example");
        let (status, body) = post(&app, &op.path, request_example(&op).to_string(), origin).await;
        assert_eq!(status, 403, "{}: cross-origin {body}", op.path);
        assert!(statuses.contains(&403), "{}: 403 (cross-origin) is not documented", op.path);
    }
}

#[test]
fn example_signatures_verify_with_the_documented_key_and_message() {
    use ecert_core::device::{action, message, verify};
    let known = [
        action::CLAIM,
        action::ACCEPT,
        action::LOGIN_SCAN,
        action::LOGIN_APPROVE,
        action::LOGIN_REJECT,
        action::PASSWORD_CHANGE,
        action::PASSWORD_RESET,
        action::SMS_REQUEST,
        action::STATUS,
        action::PRESENT,
        action::RECORDS,
        action::SIGN_SCAN,
        action::SIGN_REJECT,
        action::APPROVAL_SCAN,
        action::APPROVAL_APPROVE,
        action::APPROVAL_REJECT,
        action::ACTIVITY,
        action::END_SESSION,
        action::CHECK_NUMBER,
        action::REDOWNLOAD,
        action::REMOVE_CARD,
        action::GRANT_RECEIVE,
        action::FACE,
        action::MANAGE_LIST,
        action::MANAGE,
    ];
    let ops = operations();
    let keys: BTreeSet<String> = ops
        .iter()
        .filter_map(|op| request_example(op).get("public_key").and_then(Value::as_str).map(str::to_owned))
        .collect();
    assert_eq!(keys.len(), 1, "one test key signs every example: {keys:?}");
    let public_key = keys.first().unwrap();
    let vector = &DOC[DOC.find("**Test vector**").expect("a test vector")..];
    assert!(vector[..1000].contains(public_key.as_str()), "the test vector names the examples' key");

    let mut signed = BTreeMap::new();
    for op in &ops {
        let example = request_example(op);
        let Some(spec) = child(op.body, "x-device-signature") else {
            assert!(example.get("signature").is_none(), "{}: signed but no x-device-signature", op.path);
            continue;
        };
        let spec = json(spec.value, &op.path);
        if let Some(prefix) = spec.get("payload") {
            // A document signature (scan to sign): over the sign payload, whose lines are the keys
            // of another operation's 200 example and then of this request, in `subject` order.
            let prefix = prefix.as_str().expect("a string");
            assert_eq!(prefix, ecert_core::signing::PAYLOAD_PREFIX, "{}", op.path);
            let from =
                ops.iter().find(|o| o.path == spec["from"].as_str().expect("`from`")).expect("`from` documented");
            let answer = at(from.body, &["responses", "200", "content", "application/json", "example"]).unwrap();
            let answer = json(answer.value, &from.path);
            let lines: Vec<String> = spec["subject"]
                .as_array()
                .expect("a list of keys")
                .iter()
                .map(|k| {
                    let k = k.as_str().unwrap();
                    let v = if example.get(k).is_some() { &example[k] } else { &answer[k] };
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                })
                .collect();
            let [request_id, party_id, digest, signed_at] = lines.as_slice() else {
                panic!("{}: the payload has four keys", op.path)
            };
            let text = ecert_core::signing::payload(request_id, party_id, digest, signed_at.parse().unwrap());
            assert_eq!(
                text,
                format!("{prefix}\n{}", lines.join("\n")),
                "{}: the prefix and the keys, one a line",
                op.path
            );
            let signature = example["signature"].as_str().unwrap();
            verify(public_key, &text, signature)
                .unwrap_or_else(|e| panic!("{}: the example's signature over {text:?} fails: {e:?}", op.path));
            signed.insert(op.path.clone(), "payload".to_owned());
            continue;
        }
        let act = match &spec["action"] {
            Value::String(a) => a.clone(),
            Value::Object(by) => {
                let chooser = &example[by["by"].as_str().expect("`by`")];
                let choice = chooser.as_str().map_or_else(|| chooser.to_string(), str::to_owned);
                by[&choice].as_str().unwrap_or_else(|| panic!("{}: no action for {choice}", op.path)).to_owned()
            }
            other => panic!("{}: action {other}", op.path),
        };
        if let Value::Object(by) = &spec["action"] {
            for a in by.iter().filter(|(k, _)| *k != "by").map(|(_, a)| a.as_str().unwrap()) {
                assert!(known.contains(&a), "{}: `{a}` is not an action the server knows", op.path);
            }
        }
        assert!(known.contains(&act.as_str()), "{}: `{act}` is not an action the server knows", op.path);
        // The subject is one key of the request, or several joined by newlines (a device id and
        // the time of signing); with `from`, a key the request lacks is that operation's answer's
        // (an approval's digest).
        let answer = spec.get("from").map(|from| {
            let from = ops.iter().find(|o| o.path == from.as_str().expect("`from`")).expect("`from` documented");
            json(
                at(from.body, &["responses", "200", "content", "application/json", "example"]).unwrap().value,
                &from.path,
            )
        });
        let text = |key: &Value| {
            let key = key.as_str().expect("a key name");
            let v = match (&example.get(key), &answer) {
                (Some(v), _) => v,
                (None, Some(answer)) => &answer[key],
                (None, None) => &Value::Null,
            };
            v.as_str().map_or_else(|| v.to_string(), str::to_owned)
        };
        let subject = match &spec["subject"] {
            Value::Array(keys) => keys.iter().map(text).collect::<Vec<_>>().join("\n"),
            key => text(key),
        };
        let subject = subject.as_str();
        let signature = example["signature"].as_str().unwrap_or_else(|| panic!("{}: no signature", op.path));
        verify(public_key, &message(&act, subject), signature)
            .unwrap_or_else(|e| panic!("{}: the example's signature of `{act}` over {subject} fails: {e:?}", op.path));
        signed.insert(op.path.clone(), act);
    }
    assert_eq!(
        signed.len(),
        ops.len() - 3,
        "every operation but `offer`, `grant_offer` and `redownload_sms` (the code is the secret) is signed: {signed:?}"
    );
}
