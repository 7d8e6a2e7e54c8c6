//! Issue 16 §6: SMS through an operator's HTTP gateway, against a fake gateway on loopback.
//! Messages are queued with the code, sent signed with the kind's template, retried with
//! backoff, given up after `MAX_ATTEMPTS` or when the code expires, and staff see the queue
//! without the content.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecert_core::Millis;
use ecert_core::device::action;
use ecert_core::secret::{Random, Secret};
use ecert_core::sms::{self, DeliveryStatus, HttpSms, SmsGateway, SmsKind};
use ecert_core::store::Db;
use ecert_testing::open_private_test_db;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::delegation::{Member, claim_with_phone, issue_as};
use crate::support::{T0, resident_id, staff_view};

const SECRET: &str = "gateway-shared-secret-0001";

/// One request the fake gateway took: its head and its body.
#[derive(Clone, Debug)]
struct Taken {
    head: String,
    body: String,
}

/// A gateway on loopback answering each request with the next status of `answers` (the last
/// one for ever after), recording what it took.
async fn fake_gateway(answers: Vec<u16>) -> (String, Arc<Mutex<Vec<Taken>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms/send", listener.local_addr().unwrap());
    let taken = Arc::new(Mutex::new(Vec::new()));
    let log = taken.clone();
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            let (head, body) = loop {
                let k = socket.read(&mut buf).await.unwrap_or(0);
                got.extend_from_slice(&buf[..k]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length || k == 0 {
                        break (head.to_owned(), body.to_owned());
                    }
                }
                if k == 0 {
                    break (text, String::new());
                }
            };
            log.lock().unwrap().push(Taken { head, body });
            let status = answers[n.min(answers.len() - 1)];
            n += 1;
            let answer = if status == 200 { r#"{"ok":true}"# } else { "busy: code 483920 later" };
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    (url, taken)
}

fn gateway(url: &str) -> SmsGateway {
    SmsGateway::Http(HttpSms {
        url: url.to_owned(),
        timeout: Duration::from_secs(2),
        templates: vec![(SmsKind::PasswordReset, "SMS_RESET_01".into())],
        secret: Secret::new(SECRET),
    })
}

async fn ask(db: &Db, gw: &SmsGateway, fm: &Member, at: Millis) -> Result<String, ecert_core::Error> {
    let id = &fm.binding.device_id;
    sms::request_reset(db, gw, id, fm.phone.fresh(action::SMS_REQUEST, id, at).arg(), at, &Random::os()).await
}

#[tokio::test]
async fn issue16_an_sms_is_sent_signed_with_its_template_and_retried_with_backoff_until_delivered() {
    let db = open_private_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市短信网关测试研究院").await).await;
    let (url, taken) = fake_gateway(vec![503, 200]).await;
    let gw = gateway(&url);

    assert_eq!(ask(&db, &gw, &fm, T0).await.unwrap(), "138****5678");
    // The first attempt failed: queued for another, the gateway's words kept without the number.
    let list = sms::deliveries(&db, &staff, 10).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].status, list[0].attempts, list[0].kind), (DeliveryStatus::Queued, 1, SmsKind::PasswordReset));
    assert_eq!(list[0].mobile, "138****5678");
    let said = list[0].last_error.clone().unwrap();
    assert!(said.contains("503") && said.contains("******") && !said.contains("483920"), "{said}");

    // Not due before the backoff (5 s); delivered after it.
    assert_eq!(sms::deliver_due(&db, &gw, 100, || T0.plus_millis(4_000)).await.unwrap(), 0);
    assert_eq!(sms::deliver_due(&db, &gw, 100, || T0.plus_millis(5_000)).await.unwrap(), 1);
    let list = sms::deliveries(&db, &staff, 10).await.unwrap();
    assert_eq!((list[0].status, list[0].attempts), (DeliveryStatus::Sent, 2));
    assert_eq!(list[0].sent_at, Some(T0.0 + 5_000));
    assert_eq!(list[0].last_error, None, "delivered: the failure is cleared");

    // What the gateway took: the template, the mobile, the code, and a signature it can check.
    let requests = taken.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    let last = &requests[1];
    assert!(last.head.starts_with("POST /sms/send HTTP/1.1"), "{}", last.head);
    let body: serde_json::Value = serde_json::from_str(&last.body).unwrap();
    assert_eq!(body["template"], "SMS_RESET_01");
    assert_eq!(body["mobile"], "13812345678");
    assert_eq!(body["params"]["minutes"], "5");
    let code = body["params"]["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    let header = last.head.lines().find_map(|l| l.strip_prefix("x-ecert-signature: ")).expect("signed").to_owned();
    let t: i64 = header.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
    assert_eq!(t, T0.0 + 5_000);
    assert_eq!(header, sms::signature_header(SECRET, &last.body, Millis(t)), "HMAC-SHA256 over t.body");
    assert_ne!(header, sms::signature_header("another-secret-of-16+", &last.body, Millis(t)));

    // The code that went out resets the password.
    let id = &fm.binding.device_id;
    let reset = fm.phone.fresh(action::PASSWORD_RESET, id, T0.plus_minutes(1));
    let new = Secret::new("new-pass-9");
    sms::reset_password(&db, id, reset.arg(), &code, &resident_id(123), new, T0.plus_minutes(1), &Random::os())
        .await
        .unwrap();
}

#[tokio::test]
async fn issue16_a_message_is_given_up_after_five_attempts_or_once_its_code_expired_and_never_sent_late() {
    let db = open_private_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市短信失败测试研究院").await).await;
    let (url, taken) = fake_gateway(vec![500]).await;
    let gw = gateway(&url);
    ask(&db, &gw, &fm, T0).await.unwrap();
    let mut at = T0;
    for attempts in 1..sms::MAX_ATTEMPTS {
        at = at.plus_millis(sms::backoff(attempts));
        assert_eq!(sms::deliver_due(&db, &gw, 100, || at).await.unwrap(), 1, "attempt {}", attempts + 1);
    }
    let list = sms::deliveries(&db, &staff, 10).await.unwrap();
    assert_eq!((list[0].status, list[0].attempts), (DeliveryStatus::Failed, sms::MAX_ATTEMPTS));
    assert_eq!(sms::deliver_due(&db, &gw, 100, || at.plus_minutes(10)).await.unwrap(), 0, "given up");
    assert_eq!(taken.lock().unwrap().len(), 5);

    // A message still queued when its code expires is not sent late (a server was down).
    let (url, taken) = fake_gateway(vec![503, 200]).await;
    let gw = gateway(&url);
    let later = T0.plus_minutes(20);
    ask(&db, &gw, &fm, later).await.unwrap();
    assert_eq!(sms::deliver_due(&db, &gw, 100, || later.plus_minutes(6)).await.unwrap(), 1);
    let list = sms::deliveries(&db, &staff, 10).await.unwrap();
    assert_eq!(list[0].status, DeliveryStatus::Failed);
    assert_eq!(list[0].last_error.as_deref(), Some("expired before delivery"));
    assert_eq!(taken.lock().unwrap().len(), 1, "only the first, failed attempt reached the gateway");

    // An unreachable gateway is a failure like any other; the holder's request still stands.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    let much_later = T0.plus_minutes(90);
    assert_eq!(ask(&db, &gateway(&gone), &fm, much_later).await.unwrap(), "138****5678");
    let list = sms::deliveries(&db, &staff, 10).await.unwrap();
    assert_eq!((list[0].status, list[0].attempts), (DeliveryStatus::Queued, 1));
    assert!(list[0].last_error.as_deref().is_some_and(|e| !e.is_empty()));
    // Another authority's staff see none of it.
    let other = staff_view(&db).await;
    assert!(sms::deliveries(&db, &other, 10).await.unwrap().is_empty());
}
