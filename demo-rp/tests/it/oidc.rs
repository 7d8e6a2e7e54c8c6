//! Issue 4, journey 4: scan login for application systems over standard OpenID Connect. The real
//! router serves on 127.0.0.1:0; the relying party is the demo party's library, i.e. the
//! off-the-shelf `openidconnect` client (discovery, PKCE S256, nonce, code exchange, ID-token
//! verification against JWKS). The PC browser is played through the scan-login page's server
//! functions with its `ecert_login` cookie, the phone through the wallet JSON API with a test
//! device key. Fixtures are made with ecert-core at the real clock.

use ecert_core::certificate::IssuePolicy;
use ecert_core::changes::{self, ChangeRequest};
use ecert_core::code::CodeKind;
use ecert_core::device::action;
use ecert_core::holder::{self, GrantInput, Role};
use ecert_core::identity::IdentityVerifier;
use ecert_core::oidc::{self, ClientCredentials, OidcError, TokenParams};
use ecert_core::party::{self, PartyInput};
use ecert_core::secret::{Random, Secret};
use ecert_core::staff::StaffView;
use ecert_core::store::Db;
use ecert_core::{Millis, store::query, time};
use ecert_demo_rp::openidconnect::PkceCodeVerifier;
use ecert_demo_rp::{Config as RpConfig, DemoError, EcertTokenResponse, HttpClient, RelyingParty};
use ecert_server::{Config, app_state, http::router};
use ecert_testing::open_test_db;
use ecert_testing::{self as testing, Member, PASSWORD};
use serde_json::{Value, json};

const PARTY_NAME: &str = "北京市政务服务网（测试）";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

// ---------------------------------------------------------------------------------------------
// The platform, its people and a registered relying party

struct Platform {
    db: Db,
    base: String,
    staff: StaffView,
}

async fn platform() -> Platform {
    let db = open_test_db().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let site = std::env::temp_dir().join("ecert-no-site");
    let config =
        Config::load_from(["ecert-server", "--site-root", site.to_str().unwrap(), "--public-url", &base]).unwrap();
    let app = router(app_state(&config, db.clone(), Random::os()).unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    // Readiness by polling /healthz, never by sleeping.
    for _ in 0..100 {
        if get(&format!("{base}/healthz"), None).await.map(|r| r.0 == 200).unwrap_or(false) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (staff, _) = testing::staff(&db, Millis::now()).await;
    Platform { db, base, staff }
}

/// One institution: its first manager 张三 and a user 赵六 granted the catalogue's first matter
/// from today for 30 days; a relying party registered by the same staff.
struct World {
    p: Platform,
    certificate_id: String,
    credit_code: String,
    fm: Member,
    user: Member,
    matter: holder::MatterView,
    rp: RpConfig,
}

async fn world() -> World {
    let p = platform().await;
    let (db, now, random) = (&p.db, Millis::now(), Random::os());
    let issued = testing::issue(db, &p.staff, "北京市开放登录研究院", "张三", 301, now).await;
    let fm = testing::accept(db, CodeKind::Claim, issued.claim_code.expose(), "张三", 301, now).await;

    let fm_caller = testing::caller(db, &fm).await;
    let matter = holder::catalogue(db, &fm_caller.authority_id).await.unwrap()[0].clone();
    let today = time::today_cst(now);
    let grant = GrantInput {
        matter_ids: vec![matter.id.clone()],
        start_day: time::format_day(today),
        end_day: time::format_day(today + 30),
    };
    let user = testing::member(db, &fm, Role::User, "赵六", 302, Some(&grant), now).await;

    let input = PartyInput { name: format!("{PARTY_NAME}{}", &random.id()[..6]), redirect_uris: REDIRECT.into() };
    let shown = party::register(db, &p.staff, &input, now, &random).await.unwrap();
    let rp = RpConfig {
        issuer: p.base.clone(),
        client_id: shown.login,
        client_secret: shown.secret,
        redirect_url: REDIRECT.into(),
    };
    World { certificate_id: issued.certificate_id, credit_code: issued.credit_code, fm, user, matter, rp, p }
}

// ---------------------------------------------------------------------------------------------
// HTTP as a browser, a phone and a party server make it

async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<(u16, http::HeaderMap, String), ecert_demo_rp::HttpError> {
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    // A request the server never answers fails the test with its method and URL, instead of
    // hanging the suite (2 runs in 59 of this file on PostgreSQL hung so at
    // `GET /oidc/login`, stop 50).
    let res = tokio::time::timeout(std::time::Duration::from_secs(30), HttpClient.send(req.body(body).unwrap()))
        .await
        .unwrap_or_else(|_| panic!("no answer in 30 s to {method} {url}"))?;
    let status = res.status().as_u16();
    let (parts, body) = res.into_parts();
    Ok((status, parts.headers, String::from_utf8_lossy(&body).into_owned()))
}

async fn get(url: &str, cookie: Option<&str>) -> Result<(u16, http::HeaderMap, String), ecert_demo_rp::HttpError> {
    match cookie {
        Some(c) => send("GET", url, &[("cookie", c)], Vec::new()).await,
        None => send("GET", url, &[], Vec::new()).await,
    }
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    fields.iter().map(|(k, v)| format!("{k}={}", oidc::percent_encode(v))).collect::<Vec<_>>().join("&").into_bytes()
}

/// A server function called by the page's own script (same origin, JSON answer).
async fn server_fn(base: &str, name: &str, cookie: &str, fields: &[(&str, &str)]) -> (u16, http::HeaderMap, Value) {
    let (status, headers, body) = send(
        "POST",
        &format!("{base}/api/{name}"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "application/json"),
            ("origin", base),
            ("cookie", cookie),
        ],
        form(fields),
    )
    .await
    .unwrap();
    (status, headers, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

/// The phone's wallet API.
async fn wallet(base: &str, endpoint: &str, body: Value) -> (u16, Value) {
    let (status, _, body) = send(
        "POST",
        &format!("{base}/api/v1/wallet/{endpoint}"),
        &[("content-type", "application/json"), ("accept", "application/json")],
        body.to_string().into_bytes(),
    )
    .await
    .unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

fn cookie_of(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_owned())
}

/// The PC side up to the QR: the party's authorization URL → our authorize endpoint → the
/// scan-login page → its login QR. Answers the request handle, the login cookie, the QR's code
/// and the match code shown on the PC.
struct PcLogin {
    handle: String,
    cookie: String,
    code: String,
    match_code: String,
}

async fn pc_start(base: &str, authorization_url: &str) -> PcLogin {
    assert!(authorization_url.starts_with(&format!("{base}/oidc/authorize?")), "{authorization_url}");
    let (status, headers, _) = get(authorization_url, None).await.unwrap();
    assert_eq!(status, 303, "a valid request goes to the scan-login page");
    let location = headers[http::header::LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with("/oidc/login?request="), "{location}");
    let handle = query_param(&location, "request").unwrap();

    let (status, _, page) = get(&format!("{base}{location}"), None).await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains(PARTY_NAME), "the PC page names the relying party: {page}");

    let (status, headers, qr) = server_fn(base, "oidc_login_start", "", &[("request", &handle)]).await;
    assert_eq!(status, 200, "{qr}");
    let cookie = cookie_of(&headers, "ecert_login").expect("the login QR is bound to this browser");
    assert!(qr["party_name"].as_str().unwrap().starts_with(PARTY_NAME));
    let code = query_param(qr["url"].as_str().unwrap(), "code").unwrap();
    PcLogin { handle, cookie, code, match_code: qr["match_code"].as_str().unwrap().to_owned() }
}

/// The phone scans (and sees the party's registered name and domain, and three match codes
/// with the PC's among them), taps the PC's and confirms with the certificate password, or
/// rejects.
async fn phone_answers(base: &str, who: &Member, pc: &PcLogin, party_name: &str, approve: bool) {
    let device_id = &who.binding.device_id;
    let (status, prompt) = wallet(
        base,
        "login_scan",
        json!({"code": pc.code, "device_id": device_id, "signature": who.phone.sign(action::LOGIN_SCAN, &pc.code)}),
    )
    .await;
    assert_eq!(status, 200, "{prompt}");
    assert_eq!(prompt["system"], party_name, "R11: the phone shows the registered name of the party asking");
    let choices = prompt["match_choices"].as_array().unwrap();
    assert!(choices.iter().any(|c| *c == pc.match_code.as_str()), "the PC's match code is offered: {prompt}");
    assert_eq!(choices.len(), 3, "among three: {prompt}");
    assert_eq!(prompt["party_domain"], "127.0.0.1:9", "issue 14 §1: the party's registered domain: {prompt}");
    let act = if approve { action::LOGIN_APPROVE } else { action::LOGIN_REJECT };
    let mut body = json!({"code": pc.code, "device_id": device_id, "approve": approve,
        "signature": who.phone.sign(act, &pc.code)});
    if approve {
        body["password"] = json!(PASSWORD);
        body["match_code"] = json!(pc.match_code);
    }
    let (status, answer) = wallet(base, "login_answer", body).await;
    assert_eq!(status, 200, "{answer}");
}

/// The PC page polls and learns where to send the browser.
async fn pc_poll(base: &str, pc: &PcLogin) -> Value {
    let (status, _, progress) = server_fn(base, "oidc_login_status", &pc.cookie, &[("request", &pc.handle)]).await;
    assert_eq!(status, 200, "{progress}");
    progress
}

/// A whole login up to the redirect back to the party: answers the party's pending login and
/// the code from the redirect.
async fn code_for(w: &World, rp: &RelyingParty, who: &Member) -> (ecert_demo_rp::Pending, String) {
    let pending = rp.start();
    let pc = pc_start(&w.p.base, &pending.url).await;
    assert_eq!(pc_poll(&w.p.base, &pc).await["state"], "waiting");
    phone_answers(&w.p.base, who, &pc, &party_name(w).await, true).await;
    let progress = pc_poll(&w.p.base, &pc).await;
    assert_eq!(progress["state"], "confirmed");
    let redirect = progress["redirect"].as_str().unwrap().to_owned();
    assert!(redirect.starts_with(&format!("{REDIRECT}?")), "back to the registered redirect URI: {redirect}");
    assert_eq!(query_param(&redirect, "state").as_deref(), Some(pending.state.as_str()), "state passed through");
    let code = query_param(&redirect, "code").unwrap();
    assert!(code.len() >= 43, "a 256-bit code");
    (pending, code)
}

async fn party_name(w: &World) -> String {
    party::client(&w.p.db, &w.rp.client_id).await.unwrap().unwrap().name
}

fn verifier_copy(v: &PkceCodeVerifier) -> PkceCodeVerifier {
    PkceCodeVerifier::new(v.secret().clone())
}

fn refused_with(result: Result<ecert_demo_rp::Login, DemoError>, error: &str) {
    match result {
        Err(DemoError::Exchange(text)) => assert!(text.contains(error), "expected {error}: {text}"),
        other => panic!("expected a refused exchange ({error}), got {other:?}"),
    }
}

fn jwt_payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The journey

#[tokio::test]
async fn r11_r12_r16_a_user_scans_in_to_a_relying_party_and_the_id_token_carries_institution_role_and_matters() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.expect("discovery and JWKS through the openidconnect client");
    let (pending, code) = code_for(&w, &rp, &w.user).await;

    // The real client exchanges the code with PKCE (client_secret_basic, no Origin header: the
    // CSRF check lets server-to-server calls through) and verifies the ES256 signature via
    // JWKS, issuer, audience, expiry and nonce.
    let login = rp.finish(&code, verifier_copy(&pending.pkce_verifier), &pending.nonce).await.unwrap();
    assert_eq!(login.subject, w.user.binding.holder_id);
    assert_eq!(login.claims.institution.name, "北京市开放登录研究院");
    assert_eq!(login.claims.institution.credit_code, w.credit_code);
    assert_eq!(login.claims.institution.certificate_serial, w.user.binding.serial);
    assert_eq!(login.claims.role, Role::User.as_sql(), "users may log in to relying parties");
    assert_eq!(login.claims.matters.len(), 1, "R6: the matters of the grants in force today");
    assert_eq!(login.claims.matters[0].id, w.matter.id);
    assert_eq!(login.claims.matters[0].name, w.matter.name_zh);
    assert_eq!(login.name.as_deref(), Some("赵*"), "R16: the name is masked");

    // R16: no ID number nor mobile anywhere in what the party receives.
    let userinfo = send(
        "GET",
        &format!("{}/oidc/userinfo", w.p.base),
        &[("authorization", &format!("Bearer {}", login.access_token))],
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(userinfo.0, 200, "{}", userinfo.2);
    let info: Value = serde_json::from_str(&userinfo.2).unwrap();
    assert_eq!(info["sub"], w.user.binding.holder_id.as_str());
    assert_eq!(info["role"], Role::User.as_sql());
    assert_eq!(info["institution"]["credit_code"], w.credit_code.as_str());
    assert_eq!(info["matters"][0]["id"], w.matter.id.as_str());
    for secret in [testing::resident_id(302), "13912345678".to_owned()] {
        assert!(!userinfo.2.contains(&secret), "R16: userinfo holds {secret}");
    }

    // R12: the login is recorded, naming the relying party.
    let (count,): (i64,) = w.p.db.fetch_one(query("SELECT COUNT(*) FROM usage_record WHERE holder_id = $1 AND kind = 'login' AND result = 'confirmed' AND party_id = $2").bind(&w.user.binding.holder_id).bind(&w.rp.client_id)).await
    .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn r11_the_first_manager_logs_in_with_its_role_and_no_matters_via_client_secret_post() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.unwrap();
    let (pending, code) = code_for(&w, &rp, &w.fm).await;

    // client_secret_post, by hand, as a party without an OpenID Connect library would do it.
    let (status, headers, body) = send(
        "POST",
        &format!("{}/oidc/token", w.p.base),
        &[("content-type", "application/x-www-form-urlencoded")],
        form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", pending.pkce_verifier.secret()),
            ("client_id", &w.rp.client_id),
            ("client_secret", &w.rp.client_secret),
        ]),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers[http::header::CACHE_CONTROL], "no-store");
    let response: EcertTokenResponse = serde_json::from_str(&body).unwrap();
    let login = rp.verify(&response, &pending.nonce).unwrap();
    assert_eq!(login.claims.role, Role::FirstManager.as_sql());
    assert!(login.claims.matters.is_empty(), "managers carry no matters");
    let raw: Value = serde_json::from_str(&body).unwrap();
    let claims = jwt_payload(raw["id_token"].as_str().unwrap());
    assert_eq!(claims["iss"], w.p.base.as_str());
    assert_eq!(claims["aud"], w.rp.client_id.as_str());
    assert_eq!(claims["azp"], w.rp.client_id.as_str());
    assert_eq!(claims["nonce"], pending.nonce.secret().as_str());
    assert!(claims["auth_time"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap());
    assert!(!raw["id_token"].as_str().unwrap().contains(&testing::resident_id(301)));
    let _ = Role::Manager;
}

#[tokio::test]
async fn discovery_and_jwks_announce_es256_and_mandatory_pkce_s256() {
    let p = platform().await;
    let (status, _, body) = get(&format!("{}/.well-known/openid-configuration", p.base), None).await.unwrap();
    assert_eq!(status, 200);
    let meta: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(meta["issuer"], p.base.as_str());
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["id_token_signing_alg_values_supported"], json!(["ES256"]));
    let (_, _, body) = get(&format!("{}/oidc/jwks", p.base), None).await.unwrap();
    let jwks: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(jwks["keys"][0]["crv"], "P-256");
    // One key for every app server: created once, then read back.
    let (_, _, again) = get(&format!("{}/oidc/jwks", p.base), None).await.unwrap();
    assert_eq!(body, again);
}

#[tokio::test]
async fn the_signing_key_is_created_once_under_concurrent_first_use() {
    let db = open_test_db().await;
    let now = Millis::now();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { oidc::jwks(&db, now, &Random::os()).await.unwrap() })
        })
        .collect();
    let mut kids = std::collections::BTreeSet::new();
    for t in tasks {
        kids.insert(t.await.unwrap()["keys"][0]["kid"].as_str().unwrap().to_owned());
    }
    assert_eq!(kids.len(), 1, "{kids:?}");
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[tokio::test]
async fn a_wrong_pkce_verifier_is_refused_and_spends_the_code() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.unwrap();
    let (pending, code) = code_for(&w, &rp, &w.user).await;
    let wrong = PkceCodeVerifier::new("x".repeat(64));
    refused_with(rp.finish(&code, wrong, &pending.nonce).await, "invalid_grant");
    refused_with(rp.finish(&code, verifier_copy(&pending.pkce_verifier), &pending.nonce).await, "invalid_grant");
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_the_access_token_it_issued() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.unwrap();
    let (pending, code) = code_for(&w, &rp, &w.user).await;
    let login = rp.finish(&code, verifier_copy(&pending.pkce_verifier), &pending.nonce).await.unwrap();
    let userinfo = |token: String| {
        let url = format!("{}/oidc/userinfo", w.p.base);
        async move { send("POST", &url, &[("authorization", &format!("Bearer {token}"))], Vec::new()).await.unwrap() }
    };
    assert_eq!(userinfo(login.access_token.clone()).await.0, 200);
    refused_with(rp.finish(&code, verifier_copy(&pending.pkce_verifier), &pending.nonce).await, "invalid_grant");
    let (status, headers, _) = userinfo(login.access_token.clone()).await;
    assert_eq!(status, 401, "RFC 6749 §4.1.2: what the replayed code issued is revoked");
    assert!(headers[http::header::WWW_AUTHENTICATE].to_str().unwrap().contains("invalid_token"));
}

#[tokio::test]
async fn an_unknown_client_or_unregistered_redirect_uri_gets_an_error_page_and_no_redirect() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.unwrap();
    let good = rp.start().url;
    let cases = [
        good.replace(&oidc::percent_encode(REDIRECT), &oidc::percent_encode("https://evil.example/callback")),
        good.replace(&oidc::percent_encode(REDIRECT), &oidc::percent_encode("http://127.0.0.1:9/callback/x")),
        good.replace(&format!("client_id={}", w.rp.client_id), "client_id=no-such-client"),
        format!("{}/oidc/authorize", w.p.base),
    ];
    for url in cases {
        assert_ne!(url, good);
        let (status, headers, body) = get(&url, None).await.unwrap();
        assert_eq!(status, 400, "{url}");
        assert!(headers.get(http::header::LOCATION).is_none(), "never redirected: {url}");
        assert!(body.contains("登录请求无效"), "{body}");
    }
}

#[tokio::test]
async fn a_request_without_pkce_s256_goes_back_to_the_party_with_invalid_request() {
    let w = world().await;
    let url = format!(
        "{}/oidc/authorize?response_type=code&scope=openid&client_id={}&redirect_uri={}&state=s-1",
        w.p.base,
        w.rp.client_id,
        oidc::percent_encode(REDIRECT)
    );
    for variant in [
        url.clone(),
        format!("{url}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=plain"),
    ] {
        let (status, headers, _) = get(&variant, None).await.unwrap();
        assert_eq!(status, 303);
        let location = headers[http::header::LOCATION].to_str().unwrap();
        assert!(location.starts_with(&format!("{REDIRECT}?error=invalid_request")), "{location}");
        assert_eq!(query_param(location, "state").as_deref(), Some("s-1"));
    }
}

#[tokio::test]
async fn a_wrong_client_secret_is_refused_and_leaves_the_code_to_its_owner() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.unwrap();
    let (pending, code) = code_for(&w, &rp, &w.user).await;
    let impostor =
        RelyingParty::discover(&RpConfig { client_secret: "not-the-secret".into(), ..w.rp.clone() }).await.unwrap();
    refused_with(impostor.finish(&code, verifier_copy(&pending.pkce_verifier), &pending.nonce).await, "invalid_client");
    let login = rp.finish(&code, verifier_copy(&pending.pkce_verifier), &pending.nonce).await.unwrap();
    assert_eq!(login.claims.role, Role::User.as_sql());
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.unwrap();
    let (pending, code) = code_for(&w, &rp, &w.user).await;
    let later = Millis::now().plus_millis((oidc::CODE_SECONDS + 1) * Millis::SECOND);
    let params = TokenParams {
        grant_type: Some("authorization_code".into()),
        code: Some(code),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: Some(pending.pkce_verifier.secret().clone()),
        ..TokenParams::default()
    };
    let creds =
        ClientCredentials { client_id: w.rp.client_id.clone(), client_secret: Secret::new(&w.rp.client_secret) };
    let result = oidc::exchange(&w.p.db, Some(creds), &params, &w.p.base, later, &Random::os()).await;
    assert!(matches!(result, Err(OidcError::InvalidGrant("code expired"))), "{result:?}");
}

#[tokio::test]
async fn r15_a_certificate_cancelled_between_approval_and_token_exchange_refuses_the_login() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.unwrap();
    let (pending, code) = code_for(&w, &rp, &w.user).await;
    changes::apply(
        &w.p.db,
        &w.p.staff,
        &w.certificate_id,
        &ChangeRequest::Cancel,
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        Millis::now(),
        &Random::os(),
    )
    .await
    .unwrap();
    refused_with(rp.finish(&code, verifier_copy(&pending.pkce_verifier), &pending.nonce).await, "invalid_grant");
}

#[tokio::test]
async fn r8_a_holder_removed_between_approval_and_token_exchange_is_refused() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.unwrap();
    let (pending, code) = code_for(&w, &rp, &w.user).await;
    let fm = testing::caller(&w.p.db, &w.fm).await;
    holder::remove(&w.p.db, &fm, &w.user.binding.holder_id, Millis::now(), &Random::os()).await.unwrap();
    refused_with(rp.finish(&code, verifier_copy(&pending.pkce_verifier), &pending.nonce).await, "invalid_grant");
}

#[tokio::test]
async fn r11_a_login_rejected_on_the_phone_goes_back_with_access_denied() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.unwrap();
    let pending = rp.start();
    let pc = pc_start(&w.p.base, &pending.url).await;
    phone_answers(&w.p.base, &w.user, &pc, &party_name(&w).await, false).await;
    let progress = pc_poll(&w.p.base, &pc).await;
    assert_eq!(progress["state"], "rejected");
    let redirect = progress["redirect"].as_str().unwrap();
    assert!(redirect.starts_with(&format!("{REDIRECT}?error=access_denied")), "{redirect}");
    assert_eq!(query_param(redirect, "state").as_deref(), Some(pending.state.as_str()));
    assert!(query_param(redirect, "code").is_none());
    assert_eq!(pc_poll(&w.p.base, &pc).await["state"], "gone", "the request is over");
}

#[tokio::test]
async fn r11_a_party_login_never_opens_a_dashboard_session_and_another_browser_cannot_take_it() {
    let w = world().await;
    let rp = RelyingParty::discover(&w.rp).await.unwrap();
    let pending = rp.start();
    let pc = pc_start(&w.p.base, &pending.url).await;
    phone_answers(&w.p.base, &w.fm, &pc, &party_name(&w).await, true).await;
    // The same cookie on the dashboard's status function: no dashboard session.
    let (_, headers, _) = server_fn(&w.p.base, "dashboard_login_status", &pc.cookie, &[]).await;
    assert!(cookie_of(&headers, "ecert_holder").is_none(), "a relying party's login is not a dashboard login");
    // Another browser with the request handle but not the cookie learns nothing and takes nothing.
    let (_, _, other) =
        server_fn(&w.p.base, "oidc_login_status", "ecert_login=someone-else", &[("request", &pc.handle)]).await;
    assert_eq!(other["state"], "unknown");
    assert!(other["redirect"].is_null());
    let progress = pc_poll(&w.p.base, &pc).await;
    assert_eq!(progress["state"], "confirmed");
    assert!(query_param(progress["redirect"].as_str().unwrap(), "code").is_some());
}

// ---------------------------------------------------------------------------------------------
// A conformance set of our own (issue 18 §3): the MUSTs of OpenID Connect Core 1.0 and
// Discovery 1.0 that the OpenID Foundation's Basic OP test plan checks and that apply to a
// provider of the code flow with PKCE, one test each, by hand-built requests (the official suite
// cannot be reached from here). The names follow the plan's modules (`oidcc-…`).

/// The RFC 7636 example verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// An authorization URL of the world's party with PKCE S256, `state=st-1`, and `extra`
/// parameters (each replacing the default of the same name; an empty value drops it).
fn authorize_url(w: &World, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(&str, String)> = vec![
        ("response_type", "code".into()),
        ("client_id", w.rp.client_id.clone()),
        ("redirect_uri", REDIRECT.into()),
        ("scope", "openid".into()),
        ("state", "st-1".into()),
        ("nonce", "n-1".into()),
        ("code_challenge", CHALLENGE.into()),
        ("code_challenge_method", "S256".into()),
    ];
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push((k, (*v).to_owned()));
        }
    }
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    oidc::with_query(&format!("{}/oidc/authorize", w.p.base), &pairs)
}

/// Where the authorization endpoint sent the browser straight back to the party.
async fn sent_back(url: &str) -> String {
    let (status, headers, body) = get(url, None).await.unwrap();
    assert_eq!(status, 303, "{url}: {body}");
    let location = headers[http::header::LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{REDIRECT}?")), "back to the party: {location}");
    location
}

/// A whole login of `who` from `url` (built by [`authorize_url`]) up to the code.
async fn code_from(w: &World, url: &str, who: &Member) -> String {
    let pc = pc_start(&w.p.base, url).await;
    phone_answers(&w.p.base, who, &pc, &party_name(w).await, true).await;
    let progress = pc_poll(&w.p.base, &pc).await;
    let redirect = progress["redirect"].as_str().unwrap().to_owned();
    assert_eq!(query_param(&redirect, "state").as_deref(), Some("st-1"));
    query_param(&redirect, "code").unwrap()
}

/// The token endpoint with client_secret_basic: status, headers, JSON body.
async fn exchange(w: &World, code: &str, redirect_uri: &str) -> (u16, http::HeaderMap, Value) {
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", w.rp.client_id, w.rp.client_secret));
    let (status, headers, body) = send(
        "POST",
        &format!("{}/oidc/token", w.p.base),
        &[("content-type", "application/x-www-form-urlencoded"), ("authorization", &format!("Basic {basic}"))],
        form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", VERIFIER),
        ]),
    )
    .await
    .unwrap();
    (status, headers, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

#[tokio::test]
async fn oidcc_discovery_has_the_required_metadata_and_the_issuer_is_its_url() {
    let p = platform().await;
    let (status, headers, body) = get(&format!("{}/.well-known/openid-configuration", p.base), None).await.unwrap();
    assert_eq!(status, 200);
    assert!(headers[http::header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    let meta: Value = serde_json::from_str(&body).unwrap();
    // Discovery §4.3: the issuer is exactly the URL the configuration was fetched under.
    assert_eq!(meta["issuer"], p.base.as_str());
    // Discovery §3: REQUIRED metadata (token_endpoint too, as this is not an implicit-only OP).
    for key in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ] {
        assert!(!meta[key].is_null(), "{key} is required");
    }
    assert!(meta["scopes_supported"].as_array().unwrap().contains(&json!("openid")), "scopes_supported has openid");
    assert!(meta["response_types_supported"].as_array().unwrap().contains(&json!("code")));
    // Issue 18 §3: what this provider does not do, said; what it speaks, said.
    assert_eq!(meta["request_uri_parameter_supported"], false);
    assert_eq!(meta["request_parameter_supported"], false);
    assert_eq!(meta["ui_locales_supported"], json!(["zh-CN", "en"]));
    assert_eq!(meta["end_session_endpoint"], format!("{}/oidc/logout", p.base).as_str());
    // Every endpoint it names answers, and the documentation is the integration guide.
    let guide = meta["service_documentation"].as_str().unwrap();
    let (status, headers, text) = get(guide, None).await.unwrap();
    assert_eq!(status, 200);
    assert!(headers[http::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/markdown"));
    assert!(text.contains("PKCE"), "the OIDC integration guide");
    let (status, _, jwks) = get(meta["jwks_uri"].as_str().unwrap(), None).await.unwrap();
    assert_eq!(status, 200);
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    let key = &jwks["keys"][0];
    assert!(key["kid"].is_string() && key["kty"] == "EC" && key.get("d").is_none(), "a public key with a kid: {key}");
}

#[tokio::test]
async fn oidcc_server_a_code_flow_gives_an_id_token_with_the_claims_core_requires() {
    let w = world().await;
    // oidcc-ensure-other-scope-order-succeeds, oidcc-scope-*: unknown scopes are ignored;
    // oidcc-display-*, oidcc-max-age-*, oidcc-login-hint, oidcc-id-token-hint, oidcc-claims-*:
    // parameters this provider does not use are accepted and ignored.
    let url = authorize_url(
        &w,
        &[
            ("scope", "email openid profile address phone"),
            ("display", "page"),
            ("max_age", "10000"),
            ("login_hint", "someone"),
            ("id_token_hint", "eyJhbGciOiJFUzI1NiJ9.e30.sig"),
            ("claims_locales", "zh-CN"),
            ("acr_values", "1"),
            ("prompt", "login consent"),
        ],
    );
    let code = code_from(&w, &url, &w.user).await;
    let (status, headers, tokens) = exchange(&w, &code, REDIRECT).await;
    assert_eq!(status, 200, "{tokens}");
    // Core §3.1.3.3: no caching of the token response.
    assert_eq!(headers[http::header::CACHE_CONTROL], "no-store");
    assert!(tokens["token_type"].as_str().unwrap().eq_ignore_ascii_case("bearer"));
    assert!(tokens["access_token"].is_string() && tokens["expires_in"].as_i64().unwrap() > 0);
    // Core §2 and §3.1.3.7: the ID token's required claims.
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    let now = Millis::now().0 / 1000;
    assert_eq!(claims["iss"], w.p.base.as_str());
    assert_eq!(claims["aud"], w.rp.client_id.as_str());
    assert!(claims["sub"].as_str().is_some_and(|s| !s.is_empty() && s.len() <= 255));
    assert!(claims["exp"].as_i64().unwrap() > now);
    assert!(claims["iat"].as_i64().unwrap() <= now + 1);
    assert_eq!(claims["nonce"], "n-1", "the nonce of the authorization request");
    assert!(claims["auth_time"].as_i64().unwrap() <= now + 1, "auth_time, which max_age makes REQUIRED");
    // Core §5.3.2: userinfo's `sub` is the ID token's, by GET and by POST with the header.
    for method in ["GET", "POST"] {
        let bearer = format!("Bearer {}", tokens["access_token"].as_str().unwrap());
        let (status, _, info) =
            send(method, &format!("{}/oidc/userinfo", w.p.base), &[("authorization", &bearer)], Vec::new())
                .await
                .unwrap();
        assert_eq!(status, 200, "{method}: {info}");
        assert_eq!(serde_json::from_str::<Value>(&info).unwrap()["sub"], claims["sub"], "{method}");
    }
}

#[tokio::test]
async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow() {
    let w = world().await;
    let code = code_from(&w, &authorize_url(&w, &[("nonce", "")]), &w.fm).await;
    let (status, _, tokens) = exchange(&w, &code, REDIRECT).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(jwt_payload(tokens["id_token"].as_str().unwrap()).get("nonce").is_none());
}

#[tokio::test]
async fn oidcc_prompt_none_not_logged_in_answers_login_required_with_the_state() {
    let w = world().await;
    let location = sent_back(&authorize_url(&w, &[("prompt", "none")])).await;
    assert_eq!(query_param(&location, "error").as_deref(), Some("login_required"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-1"));
    let location = sent_back(&authorize_url(&w, &[("prompt", "none login")])).await;
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn oidcc_request_objects_are_refused_as_not_supported() {
    let w = world().await;
    let location = sent_back(&authorize_url(&w, &[("request", "eyJhbGciOiJub25lIn0.e30.")])).await;
    assert_eq!(query_param(&location, "error").as_deref(), Some("request_not_supported"));
    let location = sent_back(&authorize_url(&w, &[("request_uri", "https://rp.example/request.jwt")])).await;
    assert_eq!(query_param(&location, "error").as_deref(), Some("request_uri_not_supported"));
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-1"));
}

#[tokio::test]
async fn oidcc_response_type_missing_goes_back_with_invalid_request() {
    let w = world().await;
    let location = sent_back(&authorize_url(&w, &[("response_type", "")])).await;
    assert_eq!(query_param(&location, "error").as_deref(), Some("invalid_request"));
    let location = sent_back(&authorize_url(&w, &[("response_type", "id_token")])).await;
    assert_eq!(query_param(&location, "error").as_deref(), Some("unsupported_response_type"));
}

#[tokio::test]
async fn oidcc_ensure_post_request_succeeds() {
    let w = world().await;
    let url = authorize_url(&w, &[]);
    let (endpoint, query) = url.split_once('?').unwrap();
    // A party's page posts the same parameters as a form, from its own origin (a navigation).
    let origin = "http://127.0.0.1:9";
    let (status, headers, body) = send(
        "POST",
        endpoint,
        &[("content-type", "application/x-www-form-urlencoded"), ("origin", origin)],
        query.as_bytes().to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(status, 303, "{body}");
    assert!(headers[http::header::LOCATION].to_str().unwrap().starts_with("/oidc/login?request="));
}

#[tokio::test]
async fn oidcc_ensure_redirect_uri_in_authorization_request_and_codereuse() {
    let w = world().await;
    let code = code_from(&w, &authorize_url(&w, &[]), &w.user).await;
    // The token request must name the redirect URI of the authorization request.
    let (status, _, body) = exchange(&w, &code, "http://127.0.0.1:9/other").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // A code is spent by its first use, right or wrong.
    let (status, _, body) = exchange(&w, &code, REDIRECT).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
}

#[tokio::test]
async fn oidcc_ui_locales_give_the_login_page_in_english_unless_the_person_chose() {
    let w = world().await;
    let (status, headers, _) = get(&authorize_url(&w, &[("ui_locales", "fr-CA en-GB")]), None).await.unwrap();
    assert_eq!(status, 303);
    let lang = cookie_of(&headers, "ecert_lang").expect("ui_locales sets the page's language");
    assert_eq!(lang, "ecert_lang=en");
    let location = headers[http::header::LOCATION].to_str().unwrap();
    let (_, _, page) = get(&format!("{}{location}", w.p.base), Some(&lang)).await.unwrap();
    assert!(page.contains("Scan to sign in to the application system"), "{page}");
    assert!(!page.contains("sign in to the dashboard"), "the page names the application system, not the dashboard");
    // A person who chose Chinese keeps it.
    let (_, headers, _) = get(&authorize_url(&w, &[("ui_locales", "en")]), Some("ecert_lang=zh-CN")).await.unwrap();
    assert!(cookie_of(&headers, "ecert_lang").is_none());
    // Without ui_locales, the default language, naming the party's system.
    let (_, headers, _) = get(&authorize_url(&w, &[]), None).await.unwrap();
    let location = headers[http::header::LOCATION].to_str().unwrap();
    let (_, _, page) = get(&format!("{}{location}", w.p.base), None).await.unwrap();
    assert!(page.contains("扫码登录应用系统") && !page.contains("管理人后台"), "{page}");
}

#[tokio::test]
async fn cancel_and_return_sends_access_denied_with_the_state_once() {
    let w = world().await;
    let pc = pc_start(&w.p.base, &authorize_url(&w, &[])).await;
    let (status, _, answer) = server_fn(&w.p.base, "oidc_login_cancel", &pc.cookie, &[("request", &pc.handle)]).await;
    assert_eq!(status, 200, "{answer}");
    let redirect = answer.as_str().unwrap();
    assert!(redirect.starts_with(&format!("{REDIRECT}?error=access_denied")), "{redirect}");
    assert_eq!(query_param(redirect, "state").as_deref(), Some("st-1"));
    // The request is over: cancelling again, polling, or a phone confirming gets nothing.
    let (_, _, again) = server_fn(&w.p.base, "oidc_login_cancel", &pc.cookie, &[("request", &pc.handle)]).await;
    assert_eq!(again, Value::Null);
    assert_eq!(pc_poll(&w.p.base, &pc).await["state"], "gone", "the page says the request is over");
}

#[tokio::test]
async fn end_session_goes_back_only_to_a_registered_uri_and_otherwise_says_signed_out() {
    let w = world().await;
    let logout = |q: String| format!("{}/oidc/logout?{q}", w.p.base);
    let back =
        format!("client_id={}&post_logout_redirect_uri={}&state=bye", w.rp.client_id, oidc::percent_encode(REDIRECT));
    let (status, headers, _) = get(&logout(back), None).await.unwrap();
    assert_eq!(status, 303);
    assert_eq!(headers[http::header::LOCATION], format!("{REDIRECT}?state=bye").as_str());
    let (status, _, page) = get(&logout(String::new()), None).await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("oidc-signed-out"), "{page}");
    for bad in [
        format!(
            "client_id={}&post_logout_redirect_uri={}",
            w.rp.client_id,
            oidc::percent_encode("https://evil.example/")
        ),
        format!("post_logout_redirect_uri={}", oidc::percent_encode(REDIRECT)),
        format!("client_id=no-such-client&post_logout_redirect_uri={}", oidc::percent_encode(REDIRECT)),
    ] {
        let (status, headers, _) = get(&logout(bad.clone()), None).await.unwrap();
        assert_eq!(status, 400, "{bad}");
        assert!(headers.get(http::header::LOCATION).is_none(), "never an open redirect: {bad}");
    }
}
