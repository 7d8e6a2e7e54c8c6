//! Issue 4, journey 5: scan to sign. A relying party asks for a signature over a digest, the
//! holder scans and signs with the device key and the certificate password, and the party
//! fetches a signature it can verify with the device key and the platform's attestation.
//! One-time codes (single use, 5 minutes, R11-like states), forgery and replay, the password
//! (R13), revocation at once (R6, R8, R15), usage records (R12) and concurrency.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ecert_core::certificate::IssuePolicy;
use ecert_core::changes::{self, ChangeRequest};
use ecert_core::device::action;
use ecert_core::holder::{self, Role};
use ecert_core::identity::IdentityVerifier;
use ecert_core::party::{self, Client, PartyInput};
use ecert_core::secret::{Random, Secret};
use ecert_core::signing::{self, Created, NewSignRequest, SignConfirm, SignPrompt};
use ecert_core::store::Db;
use ecert_core::{DomainError, Error, Millis, store::query};
use ecert_testing::open_test_db;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::delegation::{Member, PASSWORD, claim_with_phone, issue_as, member};
use crate::support::{Phone, T0, count, domain, staff_view};

const ISSUER: &str = "https://ecert.example.cn";

/// SHA-256 of `document`, base64url: what a party sends.
fn digest_of(document: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(document))
}

/// A relying party registered by an authority's staff, authenticated with its secret.
async fn party(db: &Db, name: &str) -> Client {
    let staff = staff_view(db).await;
    let random = Random::os();
    let input = PartyInput { name: format!("{name}{}", &random.id()[..6]), redirect_uris: String::new() };
    let shown = party::register(db, &staff, &input, T0, &random).await.unwrap();
    party::authenticate(db, &shown.login, &shown.secret).await.unwrap()
}

async fn ask(db: &Db, client: &Client, document: &[u8], at: Millis) -> Created {
    let input = NewSignRequest {
        digest: digest_of(document),
        description: "签署《项目合作协议》".into(),
        document_name: Some("合作协议.pdf".into()),
    };
    signing::create(db, client, &input, at, &Random::os()).await.unwrap()
}

async fn scan(db: &Db, m: &Member, code: &str, at: Millis) -> Result<SignPrompt, Error> {
    let sig = m.phone.sign(action::SIGN_SCAN, code);
    signing::scan(db, code, &m.binding.device_id, &sig, at).await
}

/// `m` signs the prompt's payload at `at` on its phone and sends it with `password`.
async fn confirm(db: &Db, m: &Member, code: &str, p: &SignPrompt, password: &str, at: Millis) -> Result<(), Error> {
    let text = signing::payload(&p.request_id, &p.party_id, &p.digest, at.0);
    let signature = m.phone.sign_text(&text);
    confirm_with(db, m, code, at.0, &signature, password, at).await
}

async fn confirm_with(
    db: &Db,
    m: &Member,
    code: &str,
    signed_at: i64,
    signature: &str,
    password: &str,
    at: Millis,
) -> Result<(), Error> {
    let request =
        SignConfirm { code, device_id: &m.binding.device_id, signed_at, signature, password: Secret::new(password) };
    signing::confirm(db, request, ISSUER, at, &Random::os()).await
}

/// A P-256 key from a JWK's coordinates.
fn key_of(jwk: &Value) -> VerifyingKey {
    let mut point = vec![4u8];
    point.extend(URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap());
    point.extend(URL_SAFE_NO_PAD.decode(jwk["y"].as_str().unwrap()).unwrap());
    VerifyingKey::from_sec1_bytes(&point).unwrap()
}

fn verifies(key: &VerifyingKey, message: &[u8], signature_b64: &str) -> bool {
    let bytes = URL_SAFE_NO_PAD.decode(signature_b64).unwrap();
    Signature::from_slice(&bytes).is_ok_and(|s| key.verify(message, &s).is_ok())
}

/// Checks a compact JWS with the platform's published keys; answers its header and claims.
fn open_jws(jws: &str, keys: &Value) -> (Value, Value) {
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS");
    let decode = |p: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap() };
    let (header, claims) = (decode(parts[0]), decode(parts[1]));
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], signing::ATTESTATION_TYP);
    let jwk = keys["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header["kid"]).expect("a published kid");
    let input = format!("{}.{}", parts[0], parts[1]);
    assert!(verifies(&key_of(jwk), input.as_bytes(), parts[2]), "the attestation verifies with the published key");
    (header, claims)
}

#[tokio::test]
async fn r12_a_holder_signs_once_and_the_party_verifies_the_device_signature_and_the_attestation() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市签名测试研究院").await).await;
    let user = member(&db, &fm, Role::User, "李四", 61).await;
    let rp = party(&db, "电子招投标平台").await;
    let random = Random::os();
    let at = T0.plus_minutes(2);

    for (m, role) in [(&fm, Role::FirstManager), (&user, Role::User)] {
        let document = format!("合作协议 {role}").into_bytes();
        let request = ask(&db, &rp, &document, at).await;
        assert_eq!(request.expires_at, at.plus_minutes(5));
        assert_eq!(request.code.expose().len(), 43, "256 bits");
        let waiting = signing::fetch(&db, &rp, &request.id, at).await.unwrap();
        assert_eq!((waiting.status.as_str(), waiting.signature.is_none()), ("waiting", true));

        let prompt = scan(&db, m, request.code.expose(), at).await.unwrap();
        assert_eq!(prompt.request_id, request.id);
        assert_eq!(prompt.party_id, rp.party_id);
        assert_eq!(prompt.party_name, rp.name, "the party's registered name");
        assert_eq!(prompt.description, "签署《项目合作协议》");
        assert_eq!(prompt.document_name.as_deref(), Some("合作协议.pdf"));
        assert_eq!(prompt.digest, digest_of(&document));
        let hex: String = Sha256::digest(&document).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(prompt.digest_hex.replace(' ', ""), hex);
        assert_eq!(prompt.role, role);
        assert_eq!(signing::fetch(&db, &rp, &request.id, at).await.unwrap().status, "scanned");

        let signed_at = at.plus_millis(1500);
        confirm(&db, m, request.code.expose(), &prompt, PASSWORD, signed_at).await.unwrap();

        let done = signing::fetch(&db, &rp, &request.id, signed_at).await.unwrap();
        assert_eq!(done.status, "signed");
        let s = done.signature.expect("a signature once signed");
        // The party rebuilds the payload from what it asked for and checks the device signature.
        let expected =
            format!("ecert-sign/v1\n{}\n{}\n{}\n{}", request.id, rp.party_id, digest_of(&document), signed_at.0);
        assert_eq!(s.payload, expected);
        assert_eq!(s.signed_at, signed_at.0);
        assert_eq!(s.public_key, m.phone.public_key, "the bound device key");
        let jwk = serde_json::to_value(&s.public_jwk).unwrap();
        let device_key = key_of(&jwk);
        assert_eq!(URL_SAFE_NO_PAD.encode(device_key.to_encoded_point(false).as_bytes()), s.public_key);
        assert!(verifies(&device_key, s.payload.as_bytes(), &s.signature), "the device signature verifies");
        assert!(!verifies(&device_key, format!("{}x", s.payload).as_bytes(), &s.signature), "and only over it");

        // The platform attests whose key it is.
        let keys = signing::keys(&db, signed_at, &random).await.unwrap();
        let (_, claims) = open_jws(&s.attestation, &keys);
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["aud"], rp.party_id.as_str());
        assert_eq!(claims["jti"], request.id.as_str());
        assert_eq!(claims["payload"], s.payload.as_str());
        assert_eq!(claims["signature"], s.signature.as_str());
        assert_eq!(claims["digest"], digest_of(&document).as_str());
        assert_eq!(claims["cnf"]["jwk"], jwk, "RFC 7800: the key the platform binds to the signer");
        assert_eq!(claims["signer"], serde_json::to_value(&s.signer).unwrap());
        assert_eq!(s.signer.institution_name, "北京市签名测试研究院");
        assert_eq!(s.signer.role, role);
        assert!(s.signer.name.ends_with('*'), "R16: masked: {}", s.signer.name);
        assert!(!serde_json::to_string(&s).unwrap().contains(&crate::support::resident_id(61)), "R16: no ID number");
        assert_eq!(s.signer.credit_code.len(), 18);
        assert!(!s.signer.certificate_serial.is_empty());
        assert_eq!(s.signer.matters.is_empty(), role != Role::User, "R6: a user's matters, none for managers");

        let records = count(
            &db,
            "SELECT COUNT(*) FROM usage_record WHERE holder_id = $1 AND kind = 'sign' AND result = 'signed'",
            &m.binding.holder_id,
        )
        .await;
        assert_eq!(records, 1, "R12: one usage record");
        let named =
            count(&db, "SELECT COUNT(*) FROM usage_record WHERE party_id = $1 AND kind = 'sign'", &rp.party_id).await;
        assert!(named >= 1, "R12: the record names the party");
    }
}

#[tokio::test]
async fn a_sign_code_is_single_use_and_a_signature_cannot_be_replayed_for_another_request() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市重放测试研究院").await).await;
    let other = member(&db, &fm, Role::Manager, "王五", 62).await;
    let rp = party(&db, "重放测试平台").await;
    let at = T0.plus_minutes(2);

    let first = ask(&db, &rp, b"document one", at).await;
    let code = first.code.expose();
    let prompt = scan(&db, &fm, code, at).await.unwrap();
    assert!(scan(&db, &fm, code, at).await.is_ok(), "the same device may open it again");
    assert_eq!(domain(scan(&db, &other, code, at).await), DomainError::CodeUsed, "another device may not");
    assert_eq!(domain(scan(&db, &fm, "not-a-code", at).await), DomainError::CodeInvalid);

    let text = signing::payload(&prompt.request_id, &prompt.party_id, &prompt.digest, at.0);
    let signature = fm.phone.sign_text(&text);
    confirm_with(&db, &fm, code, at.0, &signature, PASSWORD, at).await.unwrap();
    let again = confirm_with(&db, &fm, code, at.0, &signature, PASSWORD, at).await;
    assert_eq!(domain(again), DomainError::CodeUsed, "signed once");
    assert_eq!(domain(scan(&db, &fm, code, at).await), DomainError::CodeUsed, "the code is used");

    // The first request's signature sent for a second request (same document, same time).
    let second = ask(&db, &rp, b"document one", at).await;
    scan(&db, &fm, second.code.expose(), at).await.unwrap();
    let replayed = confirm_with(&db, &fm, second.code.expose(), at.0, &signature, PASSWORD, at).await;
    assert_eq!(domain(replayed), DomainError::BadSignature, "the payload names the request");
    assert_eq!(signing::fetch(&db, &rp, &second.id, at).await.unwrap().status, "scanned");
}

#[tokio::test]
async fn a_sign_request_expires_after_five_minutes_unless_signed() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市过期测试研究院").await).await;
    let rp = party(&db, "过期测试平台").await;
    let at = T0.plus_minutes(2);
    let end = at.plus_minutes(signing::SIGN_MINUTES);

    let unscanned = ask(&db, &rp, b"late", at).await;
    assert_eq!(domain(scan(&db, &fm, unscanned.code.expose(), end).await), DomainError::CodeExpired);
    assert_eq!(domain(signing::fetch(&db, &rp, &unscanned.id, end).await), DomainError::CodeExpired);

    let scanned = ask(&db, &rp, b"just in time", at).await;
    let prompt = scan(&db, &fm, scanned.code.expose(), at).await.unwrap();
    let late = confirm(&db, &fm, scanned.code.expose(), &prompt, PASSWORD, end).await;
    assert_eq!(domain(late), DomainError::CodeExpired, "valid 5 minutes");
    let last = end.plus_millis(-1);
    confirm(&db, &fm, scanned.code.expose(), &prompt, PASSWORD, last).await.unwrap();
    let later = end.plus_minutes(60);
    assert_eq!(signing::fetch(&db, &rp, &scanned.id, later).await.unwrap().status, "signed", "a signature stays");
}

#[tokio::test]
async fn forged_and_stale_signatures_are_refused_without_spending_a_password_try() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市伪造测试研究院").await).await;
    let rp = party(&db, "伪造测试平台").await;
    let at = T0.plus_minutes(2);
    let request = ask(&db, &rp, b"forged", at).await;
    let code = request.code.expose();

    let stranger = Phone::new();
    let forged_scan = stranger.sign(action::SIGN_SCAN, code);
    let e = signing::scan(&db, code, &fm.binding.device_id, &forged_scan, at).await;
    assert_eq!(domain(e), DomainError::BadSignature, "scan signed by another key");
    let prompt = scan(&db, &fm, code, at).await.unwrap();
    let text = signing::payload(&prompt.request_id, &prompt.party_id, &prompt.digest, at.0);

    let forgeries = [
        ("another key", stranger.sign_text(&text)),
        ("a device message, not the payload", fm.phone.sign(action::LOGIN_APPROVE, code)),
        (
            "another digest",
            fm.phone.sign_text(&signing::payload(&prompt.request_id, &prompt.party_id, &digest_of(b"x"), at.0)),
        ),
        (
            "another party",
            fm.phone.sign_text(&signing::payload(&prompt.request_id, "other-party", &prompt.digest, at.0)),
        ),
        (
            "another time",
            fm.phone.sign_text(&signing::payload(&prompt.request_id, &prompt.party_id, &prompt.digest, at.0 + 1)),
        ),
        ("not base64", "!!!".to_owned()),
    ];
    for (what, signature) in forgeries {
        let e = confirm_with(&db, &fm, code, at.0, &signature, "wrong-pass", at).await;
        assert_eq!(domain(e), DomainError::BadSignature, "{what}");
    }
    let old = at.plus_minutes(-10);
    let stale = fm.phone.sign_text(&signing::payload(&prompt.request_id, &prompt.party_id, &prompt.digest, old.0));
    let e = confirm_with(&db, &fm, code, old.0, &stale, PASSWORD, at).await;
    assert_eq!(domain(e), DomainError::StaleSignature, "signed 10 minutes ago");

    // R13: none of those took a try; a wrong password now is the first of six.
    let wrong = confirm(&db, &fm, code, &prompt, "wrong-pass", at).await;
    assert_eq!(domain(wrong), DomainError::WrongPassword { remaining: 5 });
    let wrong = confirm(&db, &fm, code, &prompt, "wrong-again", at).await;
    assert_eq!(domain(wrong), DomainError::WrongPassword { remaining: 4 });
    let empty = confirm(&db, &fm, code, &prompt, "", at).await;
    assert!(matches!(domain(empty), DomainError::Validation(_)));
    assert_eq!(signing::fetch(&db, &rp, &request.id, at).await.unwrap().status, "scanned", "nothing signed");
    confirm(&db, &fm, code, &prompt, PASSWORD, at).await.unwrap();
    let next = ask(&db, &rp, b"next", at).await;
    let p = scan(&db, &fm, next.code.expose(), at).await.unwrap();
    let wrong = confirm(&db, &fm, next.code.expose(), &p, "wrong-pass", at).await;
    assert_eq!(domain(wrong), DomainError::WrongPassword { remaining: 5 }, "a right password gave the tries back");
}

#[tokio::test]
async fn only_the_party_that_asked_sees_a_request_and_bad_input_is_refused_field_by_field() {
    let db = open_test_db().await;
    let rp = party(&db, "甲平台").await;
    let other = party(&db, "乙平台").await;
    let at = T0.plus_minutes(2);
    let request = ask(&db, &rp, b"mine", at).await;
    assert_eq!(domain(signing::fetch(&db, &other, &request.id, at).await), DomainError::NotFound);
    assert_eq!(domain(signing::fetch(&db, &rp, "no-such-request", at).await), DomainError::NotFound);
    assert_eq!(signing::fetch(&db, &rp, &request.id, at).await.unwrap().id, request.id);
    assert_eq!(domain(party::authenticate(&db, &rp.party_id, "wrong secret").await), DomainError::InvalidCredentials);

    let random = Random::os();
    let bad = NewSignRequest {
        digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
        description: String::new(),
        document_name: Some("名".repeat(signing::DOCUMENT_NAME_MAX + 1)),
    };
    let DomainError::Validation(fields) = domain(signing::create(&db, &rp, &bad, at, &random).await) else {
        panic!("a validation error")
    };
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["digest", "description", "document_name"], "every bad field at once");
    let long = NewSignRequest {
        digest: digest_of(b"x"),
        description: "述".repeat(signing::DESCRIPTION_MAX + 1),
        document_name: None,
    };
    assert!(matches!(domain(signing::create(&db, &rp, &long, at, &random).await), DomainError::Validation(_)));
    for disguised in ["付款\u{202e}0001元", "第一行\n第二行"] {
        let hidden = NewSignRequest { digest: digest_of(b"x"), description: disguised.into(), document_name: None };
        let e = domain(signing::create(&db, &rp, &hidden, at, &random).await);
        assert!(matches!(e, DomainError::Validation(_)), "{disguised:?}: a bidi override or a line break");
    }
    let exact = NewSignRequest {
        digest: digest_of(b"x"),
        description: "述".repeat(signing::DESCRIPTION_MAX),
        document_name: None,
    };
    assert!(signing::create(&db, &rp, &exact, at, &random).await.is_ok(), "200 characters are fine");
    let stored = count(&db, "SELECT COUNT(*) FROM sign_request WHERE party_id = $1", &rp.party_id).await;
    assert_eq!(stored, 2, "refused requests store nothing");
}

#[tokio::test]
async fn r12_a_rejected_request_is_recorded_and_cannot_be_signed_afterwards() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市拒签测试研究院").await).await;
    let rp = party(&db, "拒签测试平台").await;
    let at = T0.plus_minutes(2);
    let request = ask(&db, &rp, b"no thanks", at).await;
    let code = request.code.expose();
    let prompt = scan(&db, &fm, code, at).await.unwrap();
    let forged = Phone::new().sign(action::SIGN_REJECT, code);
    let e = signing::reject(&db, code, &fm.binding.device_id, &forged, at, &Random::os()).await;
    assert_eq!(domain(e), DomainError::BadSignature);
    let sig = fm.phone.sign(action::SIGN_REJECT, code);
    signing::reject(&db, code, &fm.binding.device_id, &sig, at, &Random::os()).await.unwrap();
    let seen = signing::fetch(&db, &rp, &request.id, at.plus_minutes(30)).await.unwrap();
    assert_eq!((seen.status.as_str(), seen.signature.is_none()), ("rejected", true), "rejected, also after expiry");
    assert_eq!(domain(confirm(&db, &fm, code, &prompt, PASSWORD, at).await), DomainError::CodeUsed);
    let records = count(
        &db,
        "SELECT COUNT(*) FROM usage_record WHERE holder_id = $1 AND kind = 'sign' AND result = 'rejected'",
        &fm.binding.holder_id,
    )
    .await;
    assert_eq!(records, 1, "R12");
}

#[tokio::test]
async fn r8_r6_r15_removal_grant_cancellation_lapse_and_cancellation_after_the_scan_fail_the_signature() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let random = Random::os();
    let claim = issue_as(&db, &staff, "北京市签名吊销测试研究院").await;
    let fm = claim_with_phone(&db, &claim).await;
    let rp = party(&db, "吊销测试平台").await;
    let at = T0.plus_minutes(2);
    let grant_of = |holder_id: String| {
        let db = db.clone();
        async move {
            db.fetch_one::<String>(query("SELECT id FROM holder_grant WHERE holder_id = $1").bind(&holder_id))
                .await
                .unwrap()
        }
    };

    // R8: a user removed between scan and signature.
    let removed = member(&db, &fm, Role::User, "李四", 63).await;
    let r = ask(&db, &rp, b"removed", at).await;
    let p = scan(&db, &removed, r.code.expose(), at).await.unwrap();
    holder::remove(&db, &fm.caller(&db).await, &removed.binding.holder_id, at, &random).await.unwrap();
    assert_eq!(domain(confirm(&db, &removed, r.code.expose(), &p, PASSWORD, at).await), DomainError::Revoked);

    // R6: a user whose only grant is cancelled after the scan, and one without a grant at scan time.
    let cancelled = member(&db, &fm, Role::User, "王五", 64).await;
    let r = ask(&db, &rp, b"cancelled grant", at).await;
    let p = scan(&db, &cancelled, r.code.expose(), at).await.unwrap();
    let grant_id = grant_of(cancelled.binding.holder_id.clone()).await;
    holder::cancel_grant(&db, &fm.caller(&db).await, &grant_id, at, &random).await.unwrap();
    assert_eq!(domain(confirm(&db, &cancelled, r.code.expose(), &p, PASSWORD, at).await), DomainError::NoGrantInForce);
    let r = ask(&db, &rp, b"no grant", at).await;
    assert_eq!(
        domain(scan(&db, &cancelled, r.code.expose(), at).await),
        DomainError::NoGrantInForce,
        "refused at scan"
    );

    // R6: the grant (to 2026-06-30, CST) lapses between scan and signature.
    let lapsing = member(&db, &fm, Role::User, "赵六", 65).await;
    let last_minute = Millis(ecert_core::time::days_from_civil(2026, 6, 30) * Millis::DAY + 16 * Millis::HOUR - 60_000);
    let r = ask(&db, &rp, b"lapsing", last_minute).await;
    let p = scan(&db, &lapsing, r.code.expose(), last_minute).await.unwrap();
    let after_midnight = last_minute.plus_minutes(2);
    let e = confirm(&db, &lapsing, r.code.expose(), &p, PASSWORD, after_midnight).await;
    assert_eq!(domain(e), DomainError::NoGrantInForce);

    // R15: the certificate is cancelled between scan and signature.
    let r = ask(&db, &rp, b"cancelled certificate", at).await;
    let p = scan(&db, &fm, r.code.expose(), at).await.unwrap();
    changes::apply(
        &db,
        &staff,
        &claim.certificate_id,
        &ChangeRequest::Cancel,
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        at,
        &random,
    )
    .await
    .unwrap();
    assert_eq!(domain(confirm(&db, &fm, r.code.expose(), &p, PASSWORD, at).await), DomainError::Revoked);
    let r = ask(&db, &rp, b"after cancellation", at).await;
    assert_eq!(domain(scan(&db, &fm, r.code.expose(), at).await), DomainError::Revoked);

    let signed =
        count(&db, "SELECT COUNT(*) FROM sign_request WHERE party_id = $1 AND status = 'signed'", &rp.party_id).await;
    assert_eq!(signed, 0, "nothing was signed");
}

#[tokio::test]
async fn concurrent_confirmations_of_one_request_give_exactly_one_signature() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = std::sync::Arc::new(claim_with_phone(&db, &issue_as(&db, &staff, "北京市并发签名测试研究院").await).await);
    let rp = party(&db, "并发测试平台").await;
    let at = T0.plus_minutes(2);
    let request = ask(&db, &rp, b"race", at).await;
    let code = request.code.expose().to_owned();
    let prompt = scan(&db, &fm, &code, at).await.unwrap();

    let tries = (0..5).map(|i| {
        let (db, fm, code, prompt) = (db.clone(), fm.clone(), code.clone(), prompt.clone());
        // Different signing times: each is a valid signature of its own.
        tokio::spawn(async move { confirm(&db, &fm, &code, &prompt, PASSWORD, at.plus_millis(i)).await })
    });
    let mut signed = 0;
    for t in tries {
        match t.await.unwrap() {
            Ok(()) => signed += 1,
            Err(e) => assert_eq!(domain::<()>(Err(e)), DomainError::CodeUsed),
        }
    }
    assert_eq!(signed, 1, "exactly one signature");
    let records =
        count(&db, "SELECT COUNT(*) FROM usage_record WHERE party_id = $1 AND kind = 'sign'", &rp.party_id).await;
    assert_eq!(records, 1, "R12: one usage record");
    let done = signing::fetch(&db, &rp, &request.id, at).await.unwrap().signature.unwrap();
    assert!(verifies(
        &key_of(&serde_json::to_value(&done.public_jwk).unwrap()),
        done.payload.as_bytes(),
        &done.signature
    ));
}

#[tokio::test]
async fn the_attestation_key_is_made_once_even_when_first_asked_for_concurrently() {
    let db = open_test_db().await;
    let asks = (0..4).map(|_| {
        let db = db.clone();
        tokio::spawn(async move { signing::keys(&db, T0, &Random::os()).await.unwrap() })
    });
    let mut kids = std::collections::BTreeSet::new();
    for a in asks {
        let keys = a.await.unwrap();
        assert_eq!(keys["keys"][0]["alg"], "ES256");
        kids.insert(keys["keys"][0]["kid"].as_str().unwrap().to_owned());
    }
    // On PostgreSQL the suite shares one database: the key may exist already; still one key.
    assert_eq!(kids.len(), 1, "{kids:?}");
}
