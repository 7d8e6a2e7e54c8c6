//! The JSON APIs' refusals and failures as a caller meets them, byte for byte: the sign API's
//! `{"error", "message"}` with a Basic challenge on 401; the OpenID Connect token and userinfo
//! endpoints' RFC 6749 §5.2 / RFC 6750 §3.1 answers, never cached; and a backend failure of any
//! of them, a 500 that tells nothing of its cause (the sign API names the request id, which the
//! log has beside the cause).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ecert_core::party::ShownOnce;
use ecert_core::{DomainError, Lang, Millis};
use ecert_testing as testing;
use ecert_testing::open_test_db;

use crate::support::{self, HOST, Reply, app_on, basic, party};

/// An OAuth 2.0 error answer: exactly `body`, as JSON, never cached.
fn assert_oauth(r: &Reply, status: StatusCode, body: &str) {
    assert_eq!((r.status, r.body.as_str()), (status, body));
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.headers[header::PRAGMA], "no-cache");
}

/// The sign API's error body: exactly `{"error", "message"}`.
fn sign_body(error: &str, message: &str) -> String {
    format!(r#"{{"error":"{error}","message":{}}}"#, serde_json::to_string(message).unwrap())
}

fn token(form: &str, authorization: Option<&str>) -> Request<Body> {
    let mut req = Request::post("/oidc/token")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    req.body(Body::from(form.to_owned())).unwrap()
}

fn userinfo(method: &str, authorization: Option<&str>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri("/oidc/userinfo").header(header::HOST, HOST);
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    req.body(Body::empty()).unwrap()
}

fn sign_get(uri: &str, authorization: Option<&str>, lang: Option<&str>) -> Request<Body> {
    let mut req = Request::get(uri).header(header::HOST, HOST).header(header::ACCEPT, "application/json");
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, a);
    }
    if let Some(l) = lang {
        req = req.header(header::ACCEPT_LANGUAGE, l);
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn sign_api_refusals_name_their_code_and_a_401_carries_the_basic_challenge() {
    let db = open_test_db().await;
    let app = app_on(&db, &[]);
    let (staff, _) = testing::staff(&db, Millis::now()).await;
    let rp = party(&db, &staff, "签名接口错误测试平台").await;
    let wrong = basic(&ShownOnce { login: rp.login.clone(), secret: "wrong".into() });

    let r = support::send(&app, sign_get("/api/v1/sign/requests/nope", None, None)).await;
    assert_eq!(
        (r.status, r.body),
        (StatusCode::UNAUTHORIZED, sign_body("invalid_client", &DomainError::Unauthenticated.message(Lang::Zh)))
    );
    assert_eq!(r.headers[header::WWW_AUTHENTICATE], r#"Basic realm="ecert-sign""#);
    let r = support::send(&app, sign_get("/api/v1/sign/requests/nope", Some(&wrong), Some("en"))).await;
    let message = DomainError::InvalidCredentials.message(Lang::En);
    assert_eq!((r.status, r.body), (StatusCode::UNAUTHORIZED, sign_body("invalid_client", &message)));
    assert_eq!(r.headers[header::WWW_AUTHENTICATE], r#"Basic realm="ecert-sign""#);

    let r = support::send(&app, sign_get("/api/v1/sign/requests/nope", Some(&basic(&rp)), None)).await;
    assert_eq!(
        (r.status, r.body),
        (StatusCode::NOT_FOUND, sign_body("not_found", &DomainError::NotFound.message(Lang::Zh)))
    );
    assert!(!r.headers.contains_key(header::WWW_AUTHENTICATE));

    let req = Request::post("/api/v1/sign/requests")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, basic(&rp))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("not json"))
        .unwrap();
    let r = support::send(&app, req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let json = r.json();
    assert_eq!(json["error"], "invalid_request");
    assert!(json["message"].as_str().unwrap().starts_with("请求正文不是所需的JSON："), "{json}");
    assert!(json.get("fields").is_none(), "{json}");
}

#[tokio::test]
async fn token_and_userinfo_refusals_are_rfc_6749_answers_never_cached() {
    let db = open_test_db().await;
    let app = app_on(&db, &[]);
    let (staff, _) = testing::staff(&db, Millis::now()).await;
    let rp = party(&db, &staff, "令牌端点错误测试平台").await;
    let rp_basic = basic(&rp);

    // Not a form body.
    let req = Request::post("/oidc/token")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let r = support::send(&app, req).await;
    let not_a_form =
        r#"{"error":"invalid_request","error_description":"the body must be application/x-www-form-urlencoded"}"#;
    assert_oauth(&r, StatusCode::BAD_REQUEST, not_a_form);
    assert!(!r.headers.contains_key(header::WWW_AUTHENTICATE));

    // No client authentication, one that does not decode, or a wrong secret: 401, Basic challenge.
    let wrong = basic(&ShownOnce { login: rp.login.clone(), secret: "wrong".into() });
    let invalid_client = r#"{"error":"invalid_client","error_description":"client authentication failed"}"#;
    for authorization in [None, Some("Basic !!!"), Some(wrong.as_str())] {
        let r = support::send(&app, token("grant_type=authorization_code&code=x", authorization)).await;
        assert_oauth(&r, StatusCode::UNAUTHORIZED, invalid_client);
        assert_eq!(r.headers[header::WWW_AUTHENTICATE], r#"Basic realm="ecert""#, "{authorization:?}");
    }

    // An authenticated client whose request is refused: 400, no challenge.
    let post = format!("client_id={}&client_secret={}", rp.login, support::percent_encode(&rp.secret));
    let cases = [
        ("client_secret=x", Some(rp_basic.as_str()), "invalid_request", "use one client authentication method"),
        ("", Some(rp_basic.as_str()), "invalid_request", "grant_type is required"),
        (
            "grant_type=password",
            Some(rp_basic.as_str()),
            "unsupported_grant_type",
            "only authorization_code is supported",
        ),
        (
            &format!("{post}&grant_type=password"),
            None,
            "unsupported_grant_type",
            "only authorization_code is supported",
        ),
        ("grant_type=authorization_code", Some(rp_basic.as_str()), "invalid_request", "code is required"),
        (
            "grant_type=authorization_code&code=nope&code_verifier=v&redirect_uri=https%3A%2F%2Frp.example%2Fcb",
            Some(rp_basic.as_str()),
            "invalid_grant",
            "unknown code",
        ),
    ];
    for (form, authorization, error, description) in cases {
        let r = support::send(&app, token(form, authorization)).await;
        let body = format!(r#"{{"error":"{error}","error_description":"{description}"}}"#);
        assert_oauth(&r, StatusCode::BAD_REQUEST, &body);
        assert!(!r.headers.contains_key(header::WWW_AUTHENTICATE), "{form}");
    }

    // Userinfo without a live access token: 401, Bearer challenge (RFC 6750 §3.1).
    let invalid_token =
        r#"{"error":"invalid_token","error_description":"the access token is invalid, expired or revoked"}"#;
    for (method, authorization) in [
        ("GET", None),
        ("GET", Some("Bearer not-a-token")),
        ("POST", Some("bearer not-a-token")),
        ("GET", Some(rp_basic.as_str())),
    ] {
        let r = support::send(&app, userinfo(method, authorization)).await;
        assert_oauth(&r, StatusCode::UNAUTHORIZED, invalid_token);
        assert_eq!(r.headers[header::WWW_AUTHENTICATE], r#"Bearer error="invalid_token""#, "{authorization:?}");
    }
}

#[tokio::test]
async fn a_backend_failure_is_an_opaque_500_and_the_sign_api_names_the_request_id() {
    let db = open_test_db().await;
    let app = app_on(&db, &[]);
    let (staff, _) = testing::staff(&db, Millis::now()).await;
    let rp = party(&db, &staff, "故障测试平台").await;
    db.close().await;

    // The sign API: the request id, in the caller's language, for the party to quote.
    for (lang, text) in [(None, "服务器内部错误，请求编号 "), (Some("en-GB,en;q=0.8"), "Internal error, request ")]
    {
        let r = support::send(&app, sign_get("/api/v1/sign/keys", None, lang)).await;
        let id = r.headers["x-request-id"].to_str().unwrap();
        assert_eq!(
            (r.status, r.body.clone()),
            (StatusCode::INTERNAL_SERVER_ERROR, sign_body("server_error", &format!("{text}{id}")))
        );
    }
    let req = Request::post("/api/v1/sign/requests")
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, basic(&rp))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"digest":"x","description":"y"}"#))
        .unwrap();
    let r = support::send(&app, req).await;
    let id = r.headers["x-request-id"].to_str().unwrap();
    assert_eq!(
        (r.status, r.body.clone()),
        (StatusCode::INTERNAL_SERVER_ERROR, sign_body("server_error", &format!("服务器内部错误，请求编号 {id}")))
    );
    assert!(!r.headers.contains_key(header::WWW_AUTHENTICATE));

    // OpenID Connect: RFC 6749's `server_error`, never cached.
    let internal = r#"{"error":"server_error","error_description":"internal error"}"#;
    let jwks = Request::get("/oidc/jwks").body(Body::empty()).unwrap();
    assert_oauth(&support::send(&app, jwks).await, StatusCode::INTERNAL_SERVER_ERROR, internal);
    let authorize = Request::get("/oidc/authorize?client_id=someone").body(Body::empty()).unwrap();
    assert_oauth(&support::send(&app, authorize).await, StatusCode::INTERNAL_SERVER_ERROR, internal);
    let r = support::send(&app, token("grant_type=authorization_code&code=x", Some(&basic(&rp)))).await;
    assert_oauth(&r, StatusCode::INTERNAL_SERVER_ERROR, internal);
    assert!(!r.headers.contains_key(header::WWW_AUTHENTICATE));
    let r = support::send(&app, userinfo("GET", Some("Bearer some-token"))).await;
    assert_oauth(&r, StatusCode::INTERNAL_SERVER_ERROR, internal);
    assert!(!r.headers.contains_key(header::WWW_AUTHENTICATE));
}
