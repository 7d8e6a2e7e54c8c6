//! Issue 17 §2: the PC's long poll (R11). A wait ends when the phone moves the login, through an
//! announcement, not at a fixed pace: each test gives the wait a recheck longer than the test, so
//! that only an announcement (PostgreSQL: `NOTIFY` received by a listener on a pool of its own, as
//! another app server's would be) can end it in time.

use std::time::Duration;

use ecert_core::Millis;
use ecert_core::device::action;
use ecert_core::holder::{Caller, Role};
use ecert_core::login::approval::{self, Action, ApprovalState};
use ecert_core::login::changes::{self, Patience};
use ecert_core::login::{self, Approval, LoginState, Requester};
use ecert_core::secret::{Random, Secret};
use ecert_core::store::Db;
use ecert_testing::open_test_db;

use crate::delegation::{PASSWORD, approval_of, claimed, member, session_caller};

/// Only an announcement ends these waits before the test gives up on them.
const ONLY_ANNOUNCED: Patience = Patience { max_wait: Duration::from_secs(600), recheck: Duration::from_secs(600) };
/// How long a test lets an announced move take to arrive: far below the recheck.
const ARRIVES: Duration = Duration::from_secs(30);

/// On PostgreSQL the moves come back only through `LISTEN` (`changes::announce`): a listener on
/// a pool of its own, as on another app server.
async fn listener_for(db: &Db) -> Option<tokio::task::JoinHandle<()>> {
    match db {
        Db::Postgres(..) => Some(tokio::spawn(changes::listen(open_test_db().await))),
        Db::Sqlite(..) => None,
    }
}

async fn wait(db: &Db, browser: &str, seen: LoginState) -> Option<LoginState> {
    changes::wait_for_change_within(db, browser, None, seen, ONLY_ANNOUNCED).await.unwrap()
}

fn waiting_for(db: &Db, browser: &str, seen: LoginState) -> tokio::task::JoinHandle<Option<LoginState>> {
    let (db, browser) = (db.clone(), browser.to_owned());
    tokio::spawn(async move { wait(&db, &browser, seen).await })
}

#[tokio::test]
async fn r11_a_long_poll_answers_when_the_phone_scans_and_when_it_confirms() {
    let db = open_test_db().await;
    let listener = listener_for(&db).await;
    let fm = claimed(&db).await;
    let random = Random::os();
    let now = Millis::now();
    let started = login::start(&db, login::DASHBOARD, &Requester::default(), now, &random).await.unwrap();
    let (code, browser) = (started.code.expose(), started.browser.expose());

    // Nothing moved: the poll waits. A page that saw another state, or a cookie with no login,
    // is answered at once, with what a poll answers; a final state is not waited on at all.
    let idle = tokio::time::timeout(Duration::from_millis(300), wait(&db, browser, LoginState::Waiting));
    assert!(idle.await.is_err(), "a waiting login keeps the poll waiting");
    let at_once = tokio::time::timeout(ARRIVES, wait(&db, browser, LoginState::Scanned)).await;
    assert_eq!(at_once.expect("answered at once"), Some(LoginState::Waiting));
    let unknown = tokio::time::timeout(ARRIVES, wait(&db, "no-such-browser", LoginState::Waiting)).await;
    assert_eq!(unknown.expect("no login, no wait"), Some(LoginState::Unknown));
    assert_eq!(wait(&db, browser, LoginState::Confirmed).await, None, "a final state is not waited on");

    // The phone scans while the PC waits.
    let pc = waiting_for(&db, browser, LoginState::Waiting);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let device_id = &fm.binding.device_id;
    login::scan(&db, code, device_id, &fm.phone.sign(action::LOGIN_SCAN, code), None, now).await.unwrap();
    let seen = tokio::time::timeout(ARRIVES, pc).await.expect("the scan ends the wait").unwrap();
    assert_eq!(seen, Some(LoginState::Scanned));

    // And confirms.
    let pc = waiting_for(&db, browser, LoginState::Scanned);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let approve = fm.phone.sign(action::LOGIN_APPROVE, code);
    login::answer(&db, code, device_id, &approve, approval_of(PASSWORD, &started), Millis::now(), &random)
        .await
        .unwrap();
    let seen = tokio::time::timeout(ARRIVES, pc).await.expect("the confirmation ends the wait").unwrap();
    assert_eq!(seen, Some(LoginState::Confirmed));
    if let Some(l) = listener {
        l.abort();
    }
}

#[tokio::test]
async fn r11_one_login_cookie_holds_at_most_four_waiting_requests() {
    let db = open_test_db().await;
    let listener = listener_for(&db).await;
    let fm = claimed(&db).await;
    let now = Millis::now();
    let started = login::start(&db, login::DASHBOARD, &Requester::default(), now, &Random::os()).await.unwrap();
    let (code, browser) = (started.code.expose(), started.browser.expose());
    let pcs: Vec<_> =
        (0..changes::MAX_WAITERS_PER_LOGIN).map(|_| waiting_for(&db, browser, LoginState::Waiting)).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The fifth is answered at once without waiting: the caller polls.
    let fifth = tokio::time::timeout(ARRIVES, wait(&db, browser, LoginState::Waiting)).await;
    assert_eq!(fifth.expect("a fifth request does not wait"), None);
    // The four all hear the scan.
    let sig = fm.phone.sign(action::LOGIN_SCAN, code);
    login::scan(&db, code, &fm.binding.device_id, &sig, None, now).await.unwrap();
    for pc in pcs {
        let seen = tokio::time::timeout(ARRIVES, pc).await.expect("the scan ends every wait").unwrap();
        assert_eq!(seen, Some(LoginState::Scanned));
    }
    // Their places are given back: four wait again.
    let again: Vec<_> =
        (0..changes::MAX_WAITERS_PER_LOGIN).map(|_| waiting_for(&db, browser, LoginState::Scanned)).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(again.iter().all(|h| !h.is_finished()), "the places were given back");
    for h in again {
        h.abort();
    }
    if let Some(l) = listener {
        l.abort();
    }
}

#[tokio::test]
async fn r11_a_long_poll_answers_expired_when_the_login_expires() {
    let db = open_test_db().await;
    let now = Millis::now();
    // A login started so long ago that it has a second to live.
    let then = Millis(now.0 - login::LOGIN_MINUTES * 60_000 + 1_000);
    let started = login::start(&db, login::DASHBOARD, &Requester::default(), then, &Random::os()).await.unwrap();
    let browser = started.browser.expose();
    assert_eq!(login::poll(&db, browser, now).await.unwrap(), LoginState::Waiting);
    let pc = waiting_for(&db, browser, LoginState::Waiting);
    let seen = tokio::time::timeout(ARRIVES, pc).await.expect("the expiry ends the wait").unwrap();
    assert_eq!(seen, Some(LoginState::Expired));
}

/// Issue 17 §2 for the dashboard's step-up approvals (R21): the panel's long poll of its approval
/// ends when the phone scans and when it approves, through the same announcements as the login;
/// another session waiting on that approval's id learns nothing and does not wait.
#[tokio::test]
async fn r21_an_approval_long_poll_answers_when_the_phone_scans_and_approves() {
    let db = open_test_db().await;
    let listener = listener_for(&db).await;
    let fm = claimed(&db).await;
    let m1 = member(&db, &fm, Role::Manager, "李四", 2).await;
    let (_, session) = session_caller(&db, &fm).await;
    let (_, other_session) = session_caller(&db, &fm).await;
    let act = Action::RemoveHolder { holder_id: m1.binding.holder_id.clone() };
    let asked = approval::ask(&db, &session, &act, &Requester::default(), Millis::now(), &Random::os()).await.unwrap();
    let wait = |caller: &Caller, seen: ApprovalState| {
        let (db, caller, id) = (db.clone(), caller.clone(), asked.id.clone());
        tokio::spawn(async move { approval::wait_for_change(&db, &caller, &id, seen, ONLY_ANNOUNCED).await.unwrap() })
    };

    let idle = wait(&session, ApprovalState::Waiting);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!idle.is_finished(), "a waiting approval keeps the poll waiting");
    idle.abort();
    let theirs = tokio::time::timeout(ARRIVES, wait(&other_session, ApprovalState::Waiting)).await;
    assert_eq!(theirs.expect("another session's wait ends at once").unwrap(), Some(ApprovalState::Unknown));
    let final_state = approval::wait_for_change(&db, &session, &asked.id, ApprovalState::Approved, ONLY_ANNOUNCED);
    assert_eq!(final_state.await.unwrap(), None, "a final state is not waited on");

    // The phone scans while the dashboard waits.
    let pc = wait(&session, ApprovalState::Waiting);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (code, device_id) = (asked.code.expose(), &fm.binding.device_id);
    let now = Millis::now();
    let prompt =
        approval::scan(&db, code, device_id, &fm.phone.sign(action::APPROVAL_SCAN, code), None, now).await.unwrap();
    let seen = tokio::time::timeout(ARRIVES, pc).await.expect("the scan ends the wait").unwrap();
    assert_eq!(seen, Some(ApprovalState::Scanned));

    // And approves.
    let pc = wait(&session, ApprovalState::Scanned);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let subject = approval::approve_subject(code, &prompt.digest);
    let approve = Approval { password: Secret::new(PASSWORD), match_code: asked.match_code.clone() };
    approval::answer(&db, code, device_id, &fm.phone.sign(action::APPROVAL_APPROVE, &subject), Some(approve), now)
        .await
        .unwrap();
    let seen = tokio::time::timeout(ARRIVES, pc).await.expect("the approval ends the wait").unwrap();
    assert_eq!(seen, Some(ApprovalState::Approved));
    if let Some(l) = listener {
        l.abort();
    }
}
