//! Scan to sign through the real router in process (issue 4, journey 5): a relying party's JSON
//! API with HTTP Basic client authentication (create, fetch, keys), the wallet's sign endpoints,
//! and the errors a party can get (400 with fields, 401, 404, 410, cross-origin 403). Fixtures
//! are made with ecert-core in the app's own database, at the real clock.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ecert_core::device::action;
use ecert_core::party::ShownOnce;
use ecert_core::{Millis, store::query};
use ecert_testing::open_test_db;
use ecert_testing::{self as testing, Member, PASSWORD};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{Value, json};

use crate::support::{self, HOST, app_on, basic, party};

const PUBLIC_URL: &str = "https://ecert.example.cn";

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    json: Value,
}

async fn call(app: &axum::Router, req: axum::http::request::Builder, body: Option<Value>) -> Reply {
    let req = req.header(header::HOST, HOST).header(header::ACCEPT, "application/json");
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    let reply = support::send(app, req.unwrap()).await;
    Reply { json: reply.json(), status: reply.status, headers: reply.headers }
}

fn verifies(jwk: &Value, message: &[u8], signature: &str) -> bool {
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
    let key = VerifyingKey::from_sec1_bytes(&point).unwrap();
    let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
    key.verify(message, &sig).is_ok()
}

#[tokio::test]
async fn a_party_asks_over_http_the_wallet_signs_and_the_party_fetches_what_verifies_it() {
    let db = open_test_db().await;
    let app = app_on(&db, &["--public-url", PUBLIC_URL]);
    let now = Millis::now();
    let (staff, _) = testing::staff(&db, now).await;
    let Member { phone, binding } =
        testing::first_manager(&db, &staff, "北京市签名接口测试研究院", "张三", 71, now).await;
    let rp = party(&db, &staff, "接口签名平台").await;
    let other = party(&db, &staff, "另一平台").await;
    let digest = URL_SAFE_NO_PAD.encode([7u8; 32]);
    let ask = json!({"digest": digest, "description": "签署《采购合同》", "document_name": "采购合同.pdf"});

    // 401 without credentials or with a wrong secret, with a Basic challenge.
    let r = call(&app, Request::post("/api/v1/sign/requests"), Some(ask.clone())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.json);
    assert_eq!(r.json["error"], "invalid_client");
    assert!(r.headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));
    let wrong = ShownOnce { login: rp.login.clone(), secret: "wrong".into() };
    let r = call(
        &app,
        Request::post("/api/v1/sign/requests").header(header::AUTHORIZATION, basic(&wrong)),
        Some(ask.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // 400: every refused field at once, in English on request; and a body that is not JSON.
    let bad = json!({"digest": "e3b0c442", "description": ""});
    let req = Request::post("/api/v1/sign/requests")
        .header(header::AUTHORIZATION, basic(&rp))
        .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9");
    let r = call(&app, req, Some(bad)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.json);
    assert_eq!(r.json["error"], "invalid_request");
    let fields: Vec<&str> = r.json["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["digest", "description"]);
    assert_eq!(r.json["fields"][0]["message"], "Document digest is not in the right format");
    let req = Request::post("/api/v1/sign/requests").header(header::AUTHORIZATION, basic(&rp));
    let r = call(&app, req, Some(json!(["not", "an", "object"]))).await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));

    // A browser page of another site cannot ask, even with the credentials.
    let req = Request::post("/api/v1/sign/requests")
        .header(header::AUTHORIZATION, basic(&rp))
        .header(header::ORIGIN, "https://evil.example");
    assert_eq!(call(&app, req, Some(ask.clone())).await.status, StatusCode::FORBIDDEN);

    // 201: the QR link opens the wallet's sign page.
    let req = Request::post("/api/v1/sign/requests").header(header::AUTHORIZATION, basic(&rp));
    let created = call(&app, req, Some(ask.clone())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let id = created.json["id"].as_str().unwrap().to_owned();
    let code = created.json["code"].as_str().unwrap().to_owned();
    assert_eq!(created.json["wallet_url"], format!("{PUBLIC_URL}/wallet/sign?code={code}"));
    assert_eq!(created.json["status"], "waiting");
    let uri = format!("/api/v1/sign/requests/{id}");
    let r = call(&app, Request::get(&uri).header(header::AUTHORIZATION, basic(&rp)), None).await;
    assert_eq!((r.status, r.json["status"].as_str()), (StatusCode::OK, Some("waiting")));
    let r = call(&app, Request::get(&uri).header(header::AUTHORIZATION, basic(&other)), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another party's request is not found: {}", r.json);
    assert_eq!(call(&app, Request::get(&uri), None).await.status, StatusCode::UNAUTHORIZED);

    // The wallet scans and signs through its JSON API.
    let scan = json!({"code": code, "device_id": binding.device_id, "signature": phone.sign(action::SIGN_SCAN, &code)});
    let prompt = call(&app, Request::post("/api/v1/wallet/sign_scan"), Some(scan)).await;
    assert_eq!(prompt.status, StatusCode::OK, "{}", prompt.json);
    assert_eq!(prompt.json["party_name"], "接口签名平台");
    assert_eq!(prompt.json["digest"], digest);
    let signed_at = Millis::now().0;
    let payload = ecert_core::signing::payload(
        prompt.json["request_id"].as_str().unwrap(),
        prompt.json["party_id"].as_str().unwrap(),
        prompt.json["digest"].as_str().unwrap(),
        signed_at,
    );
    let mut confirm = json!({"code": code, "device_id": binding.device_id, "signed_at": signed_at,
        "signature": phone.sign_text(&payload), "password": "wrong password"});
    let r = call(&app, Request::post("/api/v1/wallet/sign_confirm"), Some(confirm.clone())).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json, json!({"Domain": {"WrongPassword": {"remaining": 5}}}));
    confirm["password"] = PASSWORD.into();
    let r = call(&app, Request::post("/api/v1/wallet/sign_confirm"), Some(confirm.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let r = call(&app, Request::post("/api/v1/wallet/sign_confirm"), Some(confirm)).await;
    assert_eq!((r.status, &r.json), (StatusCode::GONE, &json!({"Domain": "CodeUsed"})), "signed once");

    // The party fetches the signature and verifies it with the device key and the attestation.
    let r = call(&app, Request::get(&uri).header(header::AUTHORIZATION, basic(&rp)), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.json["status"], "signed");
    let s = &r.json["signature"];
    let expected = format!("ecert-sign/v1\n{id}\n{}\n{digest}\n{signed_at}", rp.login);
    assert_eq!(s["payload"], expected);
    assert_eq!(s["public_key"], phone.public_key);
    assert!(verifies(&s["public_jwk"], expected.as_bytes(), s["signature"].as_str().unwrap()));
    assert_eq!(s["signer"]["name"], "张*");
    assert_eq!(s["signer"]["role"], "first_manager");
    assert_eq!(s["signer"]["institution_name"], "北京市签名接口测试研究院");

    let keys = call(&app, Request::get("/api/v1/sign/keys"), None).await;
    assert_eq!(keys.status, StatusCode::OK);
    let jws = s["attestation"].as_str().unwrap();
    let parts: Vec<&str> = jws.split('.').collect();
    let header_json: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let jwk = keys.json["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header_json["kid"]).unwrap();
    assert!(verifies(jwk, format!("{}.{}", parts[0], parts[1]).as_bytes(), parts[2]), "the attestation verifies");
    assert_eq!(claims["iss"], PUBLIC_URL);
    assert_eq!(claims["aud"], rp.login);
    assert_eq!(claims["cnf"]["jwk"], s["public_jwk"]);
    assert_eq!(claims["signature"], s["signature"]);

    // 410 once an unsigned request has expired.
    let req = Request::post("/api/v1/sign/requests").header(header::AUTHORIZATION, basic(&rp));
    let late = call(&app, req, Some(ask)).await.json["id"].as_str().unwrap().to_owned();
    db.execute(query("UPDATE sign_request SET expires_at = $1 WHERE id = $2").bind(Millis::now().0 - 1).bind(&late))
        .await
        .unwrap();
    let uri = format!("/api/v1/sign/requests/{late}");
    let r = call(&app, Request::get(&uri).header(header::AUTHORIZATION, basic(&rp)), None).await;
    assert_eq!((r.status, r.json["error"].as_str()), (StatusCode::GONE, Some("expired")));
}
