//! R4: identities go through the identity adapter before anything is saved. The HTTP adapter
//! against a fake identity service on loopback.

use std::time::Duration;

use ecert_core::certificate::{self, FirstManagerChoice, IssuePolicy, IssueRequest, PersonInput};
use ecert_core::identity::{HttpVerifier, IdentityVerifier};
use ecert_core::secret::Random;
use ecert_core::{DomainError, Error, store::query};
use ecert_testing::open_test_db;
use tokio::io::AsyncWriteExt;

use crate::support::{T0, credit_code, read_request, resident_id, staff_view};

/// A one-connection-at-a-time fake service: answers every request with `status` and `body`
/// (or never answers when `status` is 0) and sends the request bodies it saw to the channel.
async fn fake_service(status: u16, body: &'static str) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/verify", listener.local_addr().unwrap());
    let (seen, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let seen = seen.clone();
            tokio::spawn(async move {
                let Some(request) = read_request(&mut socket).await else { return };
                let _ = seen.send(request);
                if status == 0 {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    return;
                }
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, rx)
}

fn http(url: String) -> IdentityVerifier {
    IdentityVerifier::Http(HttpVerifier { url, timeout: Duration::from_millis(500) })
}

#[tokio::test]
async fn r4_the_http_adapter_asks_the_identity_service_and_believes_only_a_match() {
    let (url, mut seen) = fake_service(200, r#"{"match": true}"#).await;
    http(url).verify("id_number", "张三", &resident_id(123)).await.unwrap();
    let body = seen.recv().await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["name"], "张三");
    assert_eq!(json["id_number"], resident_id(123));

    let (url, _) = fake_service(200, r#"{"match": false}"#).await;
    assert_eq!(http(url).verify("id_number", "张三", &resident_id(123)).await, Err(DomainError::IdentityMismatch));
    for (status, body) in [(500, "{}"), (200, "not json"), (200, r#"{"match": "yes"}"#), (0, "")] {
        let (url, _) = fake_service(status, body).await;
        let r = http(url).verify("id_number", "张三", &resident_id(123)).await;
        assert_eq!(r, Err(DomainError::IdentityUnavailable), "{status} {body}");
    }
    // Nothing listens there.
    let r = http("http://127.0.0.1:9/verify".into()).verify("id_number", "张三", &resident_id(123)).await;
    assert_eq!(r, Err(DomainError::IdentityUnavailable));
}

#[tokio::test]
async fn r4_malformed_identities_are_refused_before_the_service_is_asked() {
    let (url, mut seen) = fake_service(200, r#"{"match": true}"#).await;
    let r = http(url).verify("id_number", "张三", "110105199001011234").await;
    assert!(matches!(r, Err(DomainError::Validation(_))));
    assert!(seen.try_recv().is_err(), "the service was not asked");
}

#[tokio::test]
async fn r4_a_refused_identity_saves_nothing() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let (url, _) = fake_service(200, r#"{"match": false}"#).await;
    let code = credit_code();
    let request = IssueRequest {
        credit_code: code.clone(),
        name: "北京市核验测试研究院".into(),
        address: "北京市".into(),
        legal_rep: PersonInput { name: "张三".into(), id_number: resident_id(123), mobile: "13812345678".into() },
        first_manager: FirstManagerChoice::LegalRepresentative,
        checklist: ecert_core::certificate::Checklist::ALL,
    };
    let r = certificate::issue(&db, &staff, &request, &http(url), IssuePolicy::default(), T0, &Random::os()).await;
    assert!(matches!(r, Err(Error::Domain(DomainError::IdentityMismatch))));
    let n: i64 =
        db.fetch_one(query("SELECT COUNT(*) FROM institution WHERE credit_code = $1").bind(&code)).await.unwrap();
    assert_eq!(n, 0);
}

/// Issue 14 §5: one caller cannot use the identity service as an oracle for ID numbers. Each
/// has [`MISSES_PER_DAY`] refused pairs a day, taken before the service is asked (so concurrent
/// questions cannot pass it) and given back by a match; every refusal is recorded; past the
/// budget the answer is `RateLimited` and the service is not asked, until the day is over.
#[tokio::test]
async fn r4_identity_mismatches_of_one_caller_are_limited_recorded_and_not_asked_past_the_limit() {
    use ecert_core::identity::{Asker, MISSES_PER_DAY};
    let db = open_test_db().await;
    let random = Random::os();
    let (no_url, mut asked) = fake_service(200, r#"{"match": false}"#).await;
    let (yes_url, _) = fake_service(200, r#"{"match": true}"#).await;
    let (no, yes) = (http(no_url), http(yes_url));
    let staff_id = random.id();
    let ask = |verifier: &IdentityVerifier, at| {
        let (db, verifier, random, id) = (db.clone(), verifier.clone(), random.clone(), staff_id.clone());
        async move {
            let asker = Asker::Staff(&id);
            verifier.verify_for(&db, asker, "id_number", "张三", &resident_id(123), at, &random).await
        }
    };
    let domain = |r: Result<(), Error>| match r {
        Err(Error::Domain(d)) => Some(d),
        Ok(()) => None,
        Err(e) => panic!("{e}"),
    };

    // Matches cost nothing, however many.
    for _ in 0..MISSES_PER_DAY + 2 {
        assert_eq!(domain(ask(&yes, T0).await), None);
    }
    // Concurrent mismatches: exactly the budget is asked and refused; the rest are not asked.
    let tasks: Vec<_> = (0..MISSES_PER_DAY + 15).map(|_| tokio::spawn(ask(&no, T0))).collect();
    let (mut mismatches, mut limited) = (0, 0);
    for t in tasks {
        match domain(t.await.unwrap()) {
            Some(DomainError::IdentityMismatch) => mismatches += 1,
            Some(DomainError::RateLimited) => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((mismatches, limited), (MISSES_PER_DAY, 15));
    let mut questions = 0;
    while asked.try_recv().is_ok() {
        questions += 1;
    }
    assert_eq!(questions, MISSES_PER_DAY, "the service was asked only within the budget");
    // Now even a true pair is not asked: the caller waits for the day to end.
    assert_eq!(domain(ask(&yes, T0.plus_minutes(60)).await), Some(DomainError::RateLimited));
    let recorded: i64 = db
        .fetch_one(query("SELECT COUNT(*) FROM identity_mismatch WHERE asker = $1").bind(format!("staff:{staff_id}")))
        .await
        .unwrap();
    assert_eq!(recorded, MISSES_PER_DAY, "every refusal is recorded");
    // Another caller has its own budget; a day later this one has a new one.
    let other = random.id();
    let r = yes.verify_for(&db, Asker::Holder(&other), "id_number", "张三", &resident_id(123), T0, &random).await;
    assert!(r.is_ok());
    assert_eq!(domain(ask(&no, T0.plus_minutes(24 * 60 + 1)).await), Some(DomainError::IdentityMismatch));
    // The local checker asks no one and counts nothing.
    let local = IdentityVerifier::Local;
    assert!(
        local
            .verify_for(&db, Asker::Staff(&staff_id), "id_number", "张三", &resident_id(123), T0, &random)
            .await
            .is_ok()
    );
}
