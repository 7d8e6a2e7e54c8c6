//! Issue 18 §3: the directory change feed for provincial platforms. Every issuance, change of the
//! registration data, renewal, cancellation and deletion is an event, in order, with a cursor
//! that only grows; a subscriber sees its authority's events only, pulls them page by page, and
//! receives them by webhook — at least once each, in order, nothing missing after it was down.

use std::sync::{Arc, Mutex};

use ecert_core::certificate::{Checklist, FirstManagerChoice, IssuePolicy, PersonInput};
use ecert_core::changes::{self, ChangeKind, ChangeRequest};
use ecert_core::feed::{self, DirectoryEvent, Pusher};
use ecert_core::identity::IdentityVerifier;
use ecert_core::party::{self, PartyChange, PartyInput};
use ecert_core::secret::Random;
use ecert_core::staff::StaffView;
use ecert_core::store::Db;
use ecert_core::{DomainError, Millis, Problem};
use ecert_testing::{open_private_test_db, open_test_db};
use tokio::io::AsyncWriteExt;

use crate::support::{T0, domain, resident_id, staff_view};

async fn change(db: &Db, staff: &StaffView, certificate_id: &str, request: ChangeRequest, at: Millis) {
    changes::apply(
        db,
        staff,
        certificate_id,
        &request,
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        at,
        &Random::os(),
    )
    .await
    .unwrap_or_else(|e| panic!("{request:?}: {e}"));
}

async fn party_of(db: &Db, staff: &StaffView, name: &str) -> String {
    let input = PartyInput { name: name.into(), redirect_uris: String::new() };
    party::register(db, staff, &input, T0, &Random::os()).await.unwrap().login
}

/// Every event of the party's feed from the start, read `limit` at a time.
async fn read_all(db: &Db, party_id: &str, limit: i64) -> Vec<DirectoryEvent> {
    let (mut after, mut all) = (0, Vec::new());
    loop {
        let page = feed::events(db, party_id, after, Some(limit)).await.unwrap();
        assert!(page.events.len() as i64 <= limit);
        assert!(page.next_after >= after, "the cursor never goes back");
        all.extend(page.events);
        after = page.next_after;
        if !page.more {
            return all;
        }
    }
}

fn kinds(events: &[DirectoryEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test]
async fn every_change_of_the_directory_is_an_event_in_order_for_subscribers_of_the_authority_only() {
    let db = open_test_db().await;
    let (staff, other_staff) = (staff_view(&db).await, staff_view(&db).await);
    let (ours, theirs) = (party_of(&db, &staff, "省证照库").await, party_of(&db, &other_staff, "另一省证照库").await);

    // Not subscribed: no feed.
    assert_eq!(domain(feed::events(&db, &ours, 0, None).await), DomainError::Forbidden);
    assert_eq!(feed::subscribe(&db, &staff, &ours, None, T0, &Random::os()).await.unwrap(), None, "pull only");
    // Another authority's staff cannot subscribe our party.
    assert_eq!(domain(feed::subscribe(&db, &other_staff, &ours, None, T0, &Random::os()).await), DomainError::NotFound);

    let issued = ecert_testing::issue(&db, &staff, "北京市目录测试研究院", "张三", 71, T0).await;
    let cert = issued.certificate_id.clone();
    let elsewhere = ecert_testing::issue(&db, &other_staff, "河北省目录测试研究院", "赵六", 72, T0).await;
    let at = |minutes| T0.plus_minutes(minutes);
    change(&db, &staff, &cert, ChangeRequest::Rename { name: "北京市目录测试研究总院".into() }, at(1)).await;
    // The first manager's mobile is not in the directory: no event.
    change(&db, &staff, &cert, ChangeRequest::Mobile { mobile: "13912345678".into() }, at(2)).await;
    change(&db, &staff, &cert, ChangeRequest::Address { address: "北京市西城区新街口1号".into() }, at(3)).await;
    let rep = PersonInput { name: "王五".into(), id_number: resident_id(73), mobile: "13700001111".into() };
    let new_rep = ChangeRequest::LegalRepresentative {
        legal_rep: rep,
        first_manager: FirstManagerChoice::LegalRepresentative,
        checklist: Checklist::ALL,
    };
    change(&db, &staff, &cert, new_rep, at(4)).await;
    // R20: renewal opens three months before the end (five years after T0).
    let near_end = Millis(T0.0 + 5 * 365 * 86_400_000 - 30 * 86_400_000);
    change(&db, &staff, &cert, ChangeRequest::Renew, near_end).await;
    change(&db, &staff, &cert, ChangeRequest::Cancel, near_end.plus_minutes(1)).await;

    let events = read_all(&db, &ours, 100).await;
    assert_eq!(
        kinds(&events),
        ["issued", "renamed", "address_changed", "legal_rep_changed", "renewed", "cancelled"],
        "every directory change in the order it happened, nothing of the other authority"
    );
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq), "the cursor only grows");
    assert!(events.iter().all(|e| e.credit_code == issued.credit_code));
    let [first, renamed, moved, new_rep, renewed, cancelled] = &events[..] else { unreachable!() };
    assert_eq!((first.name.as_str(), first.legal_rep_name.as_str()), ("北京市目录测试研究院", "张*"), "R16");
    assert_eq!((first.at, first.certificate_status.as_str()), (T0.0, "active"));
    assert_eq!(first.valid_until, "2030-12-31");
    assert_eq!(renamed.name, "北京市目录测试研究总院", "the state after the change");
    assert_eq!(moved.address, "北京市西城区新街口1号");
    assert_eq!(new_rep.legal_rep_name, "王*");
    assert_ne!(new_rep.certificate_serial, first.certificate_serial, "a new legal representative, a new serial");
    assert_eq!(renewed.valid_until, "2035-12-31");
    assert_eq!(cancelled.certificate_status, "cancelled");

    // Pages of two give the same events; a cursor taken from any page goes on from there.
    assert_eq!(read_all(&db, &ours, 2).await, events);
    let rest = feed::events(&db, &ours, events[3].seq, None).await.unwrap();
    assert_eq!(rest.events, events[4..], "after=N: what follows N");
    assert!(!rest.more);
    let none = feed::events(&db, &ours, rest.next_after, None).await.unwrap();
    assert!(none.events.is_empty() && none.next_after == rest.next_after, "read to the end: nothing new");

    // The other authority's subscriber sees its own certificate only.
    feed::subscribe(&db, &other_staff, &theirs, None, T0, &Random::os()).await.unwrap();
    let other = read_all(&db, &theirs, 100).await;
    assert_eq!(kinds(&other), ["issued"]);
    assert_eq!(other[0].credit_code, elsewhere.credit_code);

    // Bad input changes nothing and says what was wrong.
    for (after, limit, field) in [(0, Some(0), "limit"), (0, Some(feed::PAGE_MAX + 1), "limit"), (-1, None, "after")] {
        match domain(feed::events(&db, &ours, after, limit).await) {
            DomainError::Validation(f) => {
                assert_eq!((f[0].field.as_str(), &f[0].problem), (field, &Problem::OutOfRange))
            }
            other => panic!("{other:?}"),
        }
    }
    // A suspended party reads nothing; an ended subscription neither.
    party::change_party(&db, &staff, &ours, &PartyChange::Suspend, T0, &Random::os()).await.unwrap();
    assert_eq!(domain(feed::events(&db, &ours, 0, None).await), DomainError::Forbidden);
    party::change_party(&db, &staff, &ours, &PartyChange::Resume, T0, &Random::os()).await.unwrap();
    assert_eq!(feed::events(&db, &ours, 0, None).await.unwrap().events.len(), 6);
    feed::unsubscribe(&db, &staff, &ours, T0, &Random::os()).await.unwrap();
    assert_eq!(domain(feed::events(&db, &ours, 0, None).await), DomainError::Forbidden);
    assert_eq!(domain(feed::unsubscribe(&db, &staff, &ours, T0, &Random::os()).await), DomainError::NotFound);
}

#[tokio::test]
async fn concurrent_changes_never_show_a_reader_a_later_event_before_an_earlier_one() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let reader = party_of(&db, &staff, "并发证照库").await;
    feed::subscribe(&db, &staff, &reader, None, T0, &Random::os()).await.unwrap();
    let mut certs = Vec::new();
    for i in 0..6 {
        certs.push(ecert_testing::issue(&db, &staff, &format!("并发目录测试{i}院"), "李四", 80 + i, T0).await);
    }
    let writers: Vec<_> = certs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (db, staff, cert) = (db.clone(), staff.clone(), c.certificate_id.clone());
            tokio::spawn(async move {
                for n in 0..5 {
                    let name = format!("并发目录测试{i}院（第{n}次更名）");
                    change(&db, &staff, &cert, ChangeRequest::Rename { name }, T0.plus_minutes(1 + n)).await;
                }
            })
        })
        .collect();
    // A reader follows the feed while they write, by its cursor only.
    let total = 6 + 6 * 5;
    let follow = async {
        let (mut after, mut seen) = (0, Vec::new());
        while seen.len() < total {
            let page = feed::events(&db, &reader, after, Some(7)).await.unwrap();
            seen.extend(page.events.iter().map(|e| e.seq));
            after = page.next_after;
            if page.events.is_empty() {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
        seen
    };
    // A guard against hanging should a writer fail, not a measure of speed.
    let seen =
        tokio::time::timeout(std::time::Duration::from_secs(120), follow).await.expect("the reader saw them all");
    for w in writers {
        w.await.unwrap();
    }
    let all: Vec<i64> = read_all(&db, &reader, 500).await.iter().map(|e| e.seq).collect();
    assert_eq!(all.len(), total);
    assert_eq!(seen, all, "the reader missed nothing and saw nothing twice, whatever order the writers committed in");
}

/// The cursor at the end of the party's feed now.
async fn end_of(db: &Db, party_id: &str) -> i64 {
    let mut after = 0;
    loop {
        let page = feed::events(db, party_id, after, Some(feed::PAGE_MAX)).await.unwrap();
        after = page.next_after;
        if !page.more {
            return after;
        }
    }
}

#[tokio::test]
async fn a_change_that_commits_first_waits_for_an_earlier_event_so_no_reader_skips_it() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let reader = party_of(&db, &staff, "顺序证照库").await;
    feed::subscribe(&db, &staff, &reader, None, T0, &Random::os()).await.unwrap();
    let first = ecert_testing::issue(&db, &staff, "顺序目录测试一院", "李四", 101, T0).await;
    let second = ecert_testing::issue(&db, &staff, "顺序目录测试二院", "李四", 102, T0).await;
    let after = end_of(&db, &reader).await;

    // One change has appended its event and not committed yet...
    let mut held = db.begin_write().await.unwrap();
    feed::append(&mut held, &first.certificate_id, ChangeKind::Renamed, T0.plus_minutes(1)).await.unwrap();
    // ...when another starts and would commit at once.
    let later = {
        let (db, staff, cert) = (db.clone(), staff.clone(), second.certificate_id.clone());
        tokio::spawn(async move {
            let rename = ChangeRequest::Rename { name: "顺序目录测试二院（更名）".into() };
            change(&db, &staff, &cert, rename, T0.plus_minutes(2)).await;
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // A reader meanwhile sees neither: never the later event before the earlier one.
    let page = feed::events(&db, &reader, after, None).await.unwrap();
    assert!(page.events.is_empty(), "{:?}", kinds(&page.events));
    held.commit().await.unwrap();
    later.await.unwrap();
    let rest = feed::events(&db, &reader, page.next_after, None).await.unwrap();
    let codes: Vec<&str> = rest.events.iter().map(|e| e.credit_code.as_str()).collect();
    assert_eq!(
        codes,
        [first.credit_code.as_str(), second.credit_code.as_str()],
        "both, in order, from the cursor read"
    );
}

/// What a subscriber took: the headers it cares about and the body.
#[derive(Clone, Debug)]
struct Delivery {
    id: String,
    timestamp: i64,
    signature: String,
    body: String,
}

/// A webhook subscriber on `listener` answering `status` to every delivery, recording each.
fn subscriber(
    listener: tokio::net::TcpListener,
    status: u16,
    log: Arc<Mutex<Vec<Delivery>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let mut head = Vec::new();
            let body = read_request_with_head(&mut socket, &mut head).await;
            let header = |name: &str| {
                String::from_utf8_lossy(&head)
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                    })
                    .unwrap_or_default()
            };
            if let Some(body) = body {
                log.lock().unwrap().push(Delivery {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp").parse().unwrap_or(0),
                    signature: header("webhook-signature"),
                    body,
                });
            }
            let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    })
}

/// One HTTP request from a webhook delivery: its head into `head`, and its body.
async fn read_request_with_head(socket: &mut tokio::net::TcpStream, head: &mut Vec<u8>) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let (mut buf, mut got) = (vec![0u8; 8192], Vec::new());
    loop {
        let n = socket.read(&mut buf).await.unwrap_or(0);
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            *head = got[..end].to_vec();
            let text = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let announced = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if got.len() - end - 4 >= announced {
                return Some(String::from_utf8_lossy(&got[end + 4..]).to_string());
            }
        }
        if n == 0 {
            return None;
        }
    }
}

#[tokio::test]
async fn a_webhook_subscriber_that_was_down_receives_every_event_once_or_more_in_order_signed() {
    // Its own database: the delivery round serves every subscriber it finds.
    let db = open_private_test_db().await;
    let staff = staff_view(&db).await;
    let library = party_of(&db, &staff, "省电子证照库").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let url = format!("http://{address}/hooks/ecert");
    let log = Arc::new(Mutex::new(Vec::new()));
    let running = subscriber(listener, 200, log.clone());

    let bad = feed::subscribe(&db, &staff, &library, Some("https://licences.example/hook"), T0, &Random::os()).await;
    assert!(matches!(domain(bad), DomainError::Validation(_)), "plain http through the local gateway only");
    let shown = feed::subscribe(&db, &staff, &library, Some(&url), T0, &Random::os()).await.unwrap().unwrap();
    assert!(shown.secret.starts_with("whsec_"), "a Standard Webhooks secret, shown once");
    let key = feed::webhook_key(&shown.secret).unwrap();
    let stored: String = db
        .fetch_one(
            ecert_core::store::query("SELECT webhook_secret FROM directory_subscriber WHERE id = $1").bind(&library),
        )
        .await
        .unwrap();
    assert!(!stored.contains(&shown.secret[6..]), "kept sealed");

    let pusher = Pusher { timeout: std::time::Duration::from_secs(5) };
    let issued = ecert_testing::issue(&db, &staff, "北京市推送测试研究院", "张三", 91, T0).await;
    let cert = issued.certificate_id.clone();
    change(&db, &staff, &cert, ChangeRequest::Rename { name: "北京市推送测试研究总院".into() }, T0.plus_minutes(1))
        .await;
    let round = feed::deliver_due(&db, &pusher, 10, || T0.plus_minutes(2)).await.unwrap();
    assert_eq!((round.delivered, round.failed), (1, 0));
    {
        let taken = log.lock().unwrap();
        assert_eq!(taken.len(), 1);
        let d = &taken[0];
        assert_eq!(d.signature, feed::webhook_signature(&key, &d.id, d.timestamp, &d.body), "Standard Webhooks");
        assert_eq!(d.timestamp, T0.plus_minutes(2).0 / 1000);
        let message: serde_json::Value = serde_json::from_str(&d.body).unwrap();
        assert_eq!(message["type"], "directory.events");
        let kinds: Vec<&str> =
            message["data"]["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["issued", "renamed"]);
    }
    // Nothing new: nothing is sent.
    assert_eq!(feed::deliver_due(&db, &pusher, 10, || T0.plus_minutes(3)).await.unwrap(), Default::default());

    // The subscriber goes down; the directory changes meanwhile.
    running.abort();
    let _ = running.await;
    change(&db, &staff, &cert, ChangeRequest::Address { address: "北京市东城区1号".into() }, T0.plus_minutes(4)).await;
    let down = T0.plus_minutes(5);
    let round = feed::deliver_due(&db, &pusher, 10, || down).await.unwrap();
    assert_eq!((round.delivered, round.failed), (0, 1));
    // The console shows staff the failure, without anything of the events.
    let view = party::list(&db, &staff).await.unwrap().into_iter().find(|p| p.id == library).unwrap();
    let sub = view.directory.unwrap();
    assert_eq!((sub.attempts, sub.webhook_url.as_deref()), (1, Some(url.as_str())));
    assert!(sub.last_error.is_some(), "staff see why");
    assert_eq!(sub.next_attempt_at, down.0 + feed::backoff_millis(1));
    // Before the backoff ends nothing is tried; more changes pile up.
    change(&db, &staff, &cert, ChangeRequest::Cancel, T0.plus_minutes(6)).await;
    let soon = Millis(down.0 + 1_000);
    assert_eq!(feed::deliver_due(&db, &pusher, 10, || soon).await.unwrap(), Default::default());

    // Back on the same address: it receives what it missed, in order, at the next attempt.
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    let running = subscriber(listener, 200, log.clone());
    let later = T0.plus_minutes(7);
    let round = feed::deliver_due(&db, &pusher, 10, || later).await.unwrap();
    assert_eq!((round.delivered, round.failed), (1, 0));
    running.abort();

    let received: Vec<DirectoryEvent> = log
        .lock()
        .unwrap()
        .iter()
        .flat_map(|d| {
            let message: serde_json::Value = serde_json::from_str(&d.body).unwrap();
            serde_json::from_value::<Vec<DirectoryEvent>>(message["data"]["events"].clone()).unwrap()
        })
        .collect();
    let mut seqs: Vec<i64> = received.iter().map(|e| e.seq).collect();
    seqs.dedup();
    let pulled: Vec<i64> = read_all(&db, &library, 100).await.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, pulled, "every event, in order, none missing");
    assert_eq!(kinds(&received), ["issued", "renamed", "address_changed", "cancelled"]);
    let view = party::list(&db, &staff).await.unwrap().into_iter().find(|p| p.id == library).unwrap();
    let sub = view.directory.unwrap();
    assert_eq!((sub.attempts, sub.last_error, sub.delivered_seq), (0, None, *pulled.last().unwrap()));
}
