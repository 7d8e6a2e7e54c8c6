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
use ecert_core::store::{Db, PoolOptions, query, recall};
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

/// Polls `browser` on `db` until it answers `want`, for at most a quarter of [`recall::FRESH`]:
/// before any recalled row ages out (at half of it at the soonest), so only a heard move can
/// explain the answer.
async fn poll_until(db: &Db, browser: &str, want: LoginState) {
    let deadline = tokio::time::Instant::now() + recall::FRESH / 4;
    loop {
        let state = login::poll(db, browser, Millis::now()).await.unwrap();
        if state == want {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the poll still answers {state:?}, not {want:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits (up to [`ARRIVES`]) for `done`.
async fn until(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + ARRIVES;
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two app servers' pools on one database of their own: no other test's announcements reach
/// their listeners.
async fn two_app_servers() -> (Db, Db) {
    let url = ecert_testing::private_test_url().await;
    let open = || async { Db::open(&url, &PoolOptions::default(), ecert_testing::test_vault()).await.unwrap() };
    (open().await, open().await)
}

/// Issue 17 §2, R11 on PostgreSQL: an app server answers a waiting or scanned login from its
/// memory while its listener hears every move, the plain poll and the long poll alike, and a move
/// made through another app server (another pool on the same database) reaches its poll as soon
/// as it is heard, well before a recalled row ages out. A confirmed login is always read, so that
/// it is taken once. SQLite reads every poll.
#[tokio::test]
async fn r11_a_login_recalled_from_memory_follows_moves_made_through_another_app_server() {
    let (db, other) = two_app_servers().await;
    let fm = claimed(&other).await;
    let random = Random::os();
    let started = login::start(&other, login::DASHBOARD, &Requester::default(), Millis::now(), &random).await.unwrap();
    let (code, browser) = (started.code.expose(), started.browser.expose());
    let device_id = &fm.binding.device_id;
    let Some(recall) = db.recall() else {
        assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Waiting);
        login::scan(&other, code, device_id, &fm.phone.sign(action::LOGIN_SCAN, code), None, Millis::now())
            .await
            .unwrap();
        assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Scanned);
        return;
    };
    assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Waiting);
    assert!(recall.is_empty(), "nothing is kept without a listener");
    let listener = tokio::spawn(changes::listen(db.clone()));
    until("the listener's LISTEN", || recall.hears(std::time::Instant::now())).await;

    let hits = recall.hits();
    assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Waiting);
    assert_eq!(recall.hits(), hits, "the first poll reads the row");
    assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Waiting);
    assert_eq!(recall.hits(), hits + 1, "the next is answered from memory");
    // A long poll that saw `scanned` is answered `waiting` from memory at once.
    let answered = tokio::time::timeout(ARRIVES, wait(&db, browser, LoginState::Scanned)).await.unwrap();
    assert_eq!((answered, recall.hits()), (Some(LoginState::Waiting), hits + 2));

    // The phone scans through the other app server while this one's PC waits.
    let pc = waiting_for(&db, browser, LoginState::Waiting);
    tokio::time::sleep(Duration::from_millis(200)).await;
    login::scan(&other, code, device_id, &fm.phone.sign(action::LOGIN_SCAN, code), None, Millis::now()).await.unwrap();
    let seen = tokio::time::timeout(ARRIVES, pc).await.expect("the scan ends the wait").unwrap();
    assert_eq!(seen, Some(LoginState::Scanned));
    poll_until(&db, browser, LoginState::Scanned).await;
    let hits = recall.hits();
    assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Scanned);
    assert_eq!(recall.hits(), hits + 1, "scanned is recalled too");

    let approve = fm.phone.sign(action::LOGIN_APPROVE, code);
    login::answer(&other, code, device_id, &approve, approval_of(PASSWORD, &started), Millis::now(), &random)
        .await
        .unwrap();
    poll_until(&db, browser, LoginState::Confirmed).await;
    let hits = recall.hits();
    assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Confirmed);
    assert_eq!(recall.hits(), hits, "a confirmed login is read, never recalled");
    assert!(login::consume(&db, browser, Millis::now(), &random).await.unwrap().is_some());
    assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Unknown, "taken once");

    // A move made through this app server is answered by it at once, before its listener hears
    // of it.
    let mine = login::start(&db, login::DASHBOARD, &Requester::default(), Millis::now(), &random).await.unwrap();
    let (code, browser) = (mine.code.expose(), mine.browser.expose());
    for _ in 0..2 {
        assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Waiting);
    }
    login::scan(&db, code, device_id, &fm.phone.sign(action::LOGIN_SCAN, code), None, Millis::now()).await.unwrap();
    assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Scanned);

    // The listener's task ends: nobody forgets anything any more, so nothing is recalled.
    listener.abort();
    assert!(listener.await.is_err_and(|e| e.is_cancelled()));
    assert!(!recall.hears(std::time::Instant::now()), "shut when the listener's task ends");
}

/// Issue 17 §2 on PostgreSQL: when the listener's connection is lost, what was announced
/// meanwhile is lost too, so the recall forgets everything and fills again only once the
/// listener listens anew (a database of its own: the test ends the listener's connection).
#[tokio::test]
async fn r11_a_lost_listener_connection_empties_the_recall_until_it_listens_again() {
    let db = ecert_testing::open_private_test_db().await;
    let Some(recall) = db.recall() else { return };
    let listener = tokio::spawn(changes::listen(db.clone()));
    until("the listener's LISTEN", || recall.hears(std::time::Instant::now())).await;
    let random = Random::os();
    let started = login::start(&db, login::DASHBOARD, &Requester::default(), Millis::now(), &random).await.unwrap();
    let browser = started.browser.expose();
    for _ in 0..2 {
        assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Waiting);
    }
    assert_eq!(recall.len(), 1);
    // Heartbeats keep it hearing past DEAF.
    tokio::time::sleep(recall::DEAF + recall::HEARTBEAT).await;
    assert!(recall.hears(std::time::Instant::now()), "the listener hears its own heartbeat");

    let listening =
        "SELECT pid::bigint FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'";
    let first: Vec<i64> = db.fetch_all(query(listening)).await.unwrap();
    assert_eq!(first.len(), 1, "one listener: {first:?}");
    let ended: bool =
        db.fetch_one(query("SELECT pg_terminate_backend(CAST($1 AS INTEGER))").bind(first[0])).await.unwrap();
    assert!(ended);
    until("the recall's emptying", || recall.is_empty()).await;
    let again = async {
        loop {
            let now: Vec<i64> = db.fetch_all(query(listening)).await.unwrap();
            if now.len() == 1 && now != first && recall.hears(std::time::Instant::now()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(ARRIVES, again).await.expect("the listener listens again");
    let hits = recall.hits();
    assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Waiting);
    assert_eq!(recall.hits(), hits, "read again after the reconnection");
    assert_eq!(login::poll(&db, browser, Millis::now()).await.unwrap(), LoginState::Waiting);
    assert_eq!(recall.hits(), hits + 1, "and recalled again");
    listener.abort();
}
