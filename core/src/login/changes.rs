//! Waiting for a scan login to move (issue 17 §2). The PC page asks "answer me when my login is
//! no longer in the state I last saw", and the answer comes as soon as the wallet scans or
//! answers, instead of on the page's next fixed poll: one request per change of state rather
//! than one every 1.5 s, and the confirmation on the PC at once.
//!
//! Every write that moves a login request calls [`announce`] inside its transaction and
//! [`moved`] after the commit. On SQLite every writer is in this process, and [`moved`] wakes the
//! waiters directly. On PostgreSQL [`announce`] sends a `NOTIFY` on [`CHANNEL`], which the server
//! delivers at the commit (and never for a transaction that rolled back), and each app server's
//! [`listen`] task wakes its own waiters, this one's too: one path for every login, so the path
//! between app servers is the one every login takes. A lost notification (a listener
//! reconnecting) costs at most [`RECHECK`]: a waiter reads its row again that often anyway, and a
//! listener whose connection came back wakes every waiter.
//!
//! Waiters are keyed by the hash of the browser's login cookie, which is what they hold; the
//! notification carries that hash, never the cookie. The dashboard's step-up approvals (issue 14
//! §1) wait the same way, keyed by [`approval_key`] (the request's id, which the dashboard holds
//! and which proves nothing: reading the approval still needs the session that asked).
//!
//! Waiting is bounded, so that a crowd cannot make it cost more than polling would: at most
//! [`MAX_WAITERS`] at once in a process and [`MAX_WAITERS_PER_LOGIN`] on one login cookie (the
//! rest are answered at once, as a plain poll), never past the login's expiry or [`MAX_WAIT`],
//! and not at all once the server is stopping ([`stop_waiting`]). A wait on a cookie with no
//! login costs one read, like a poll.
//!
//! On PostgreSQL the same announcements keep each app server's [`Recall`] true: a dashboard
//! login that is waiting or scanned is answered from memory there ([`state`]) until a move of it
//! is heard, so that neither the PCs' waits nor their plain polls read the database again and
//! again (a relying party's page, whose requests name their login, still reads it). A write
//! that moved a login out of those states without announcing it would leave it recalled as it
//! was for up to [`recall::FRESH`]: every such write must announce.
//!
//! It must not decide anything: waking only makes a waiter read its row again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use super::{LoginState, state_of};
use crate::secret::token_hash;
use crate::store::recall::{self, Recall};
use crate::store::{Db, Tx, query};
use crate::{Millis, Result};

/// The PostgreSQL channel that carries the browser hash of a login request that moved.
pub const CHANNEL: &str = "ecert_login";
/// The longest one request waits; below the 60 s that proxies (nginx's `proxy_read_timeout`)
/// allow a silent upstream by default.
pub const MAX_WAIT: Duration = Duration::from_secs(25);
/// A waiter reads its row again at least this often, whatever it was told.
pub const RECHECK: Duration = Duration::from_secs(5);
/// Requests waiting at once in one process; beyond it a request is answered at once.
pub const MAX_WAITERS: usize = 10_000;
/// Requests waiting at once on one login cookie (a page open in a few tabs); beyond it a request
/// is answered at once, so that one login cannot take every place.
pub const MAX_WAITERS_PER_LOGIN: usize = 4;

struct Entry {
    notify: Arc<Notify>,
    waiters: usize,
}

#[derive(Default)]
struct Waiters {
    by_key: HashMap<String, Entry>,
    total: usize,
}

struct Hub {
    waiters: Mutex<Waiters>,
    stopping: AtomicBool,
    stop: Notify,
}

static HUB: LazyLock<Hub> = LazyLock::new(|| Hub {
    waiters: Mutex::new(Waiters::default()),
    stopping: AtomicBool::new(false),
    stop: Notify::new(),
});

impl Hub {
    fn waiters(&self) -> MutexGuard<'_, Waiters> {
        // Every change under the lock is whole before the lock is let go: a poisoned lock is usable.
        self.waiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One waiter's place in the hub, given back when dropped (also when the request is cancelled).
struct Watch {
    key: String,
    notify: Arc<Notify>,
}

impl Watch {
    fn new(key: &str) -> Option<Watch> {
        let mut w = HUB.waiters();
        if w.total >= MAX_WAITERS {
            return None;
        }
        let entry =
            w.by_key.entry(key.to_owned()).or_insert_with(|| Entry { notify: Arc::new(Notify::new()), waiters: 0 });
        if entry.waiters >= MAX_WAITERS_PER_LOGIN {
            return None;
        }
        entry.waiters += 1;
        let notify = Arc::clone(&entry.notify);
        w.total += 1;
        Some(Watch { key: key.to_owned(), notify })
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut w = HUB.waiters();
        w.total = w.total.saturating_sub(1);
        if let Some(entry) = w.by_key.get_mut(&self.key) {
            entry.waiters = entry.waiters.saturating_sub(1);
            if entry.waiters == 0 {
                w.by_key.remove(&self.key);
            }
        }
    }
}

/// Wakes this process's waiters on `key` (a login's browser hash, or an [`approval_key`]).
pub fn wake(key: &str) {
    let notify = HUB.waiters().by_key.get(key).map(|e| Arc::clone(&e.notify));
    if let Some(n) = notify {
        n.notify_waiters();
    }
}

/// Wakes every waiter of this process (a notification may have been lost).
pub fn wake_all() {
    let all: Vec<Arc<Notify>> = HUB.waiters().by_key.values().map(|e| Arc::clone(&e.notify)).collect();
    for n in all {
        n.notify_waiters();
    }
}

/// Requests waiting now in this process.
pub fn waiting() -> usize {
    HUB.waiters().total
}

/// The server is stopping: waiting requests answer now and new ones do not wait, so that a
/// graceful shutdown is not held up by long polls.
pub fn stop_waiting() {
    HUB.stopping.store(true, Ordering::SeqCst);
    HUB.stop.notify_waiters();
    wake_all();
}

/// Inside the transaction that moves what `key` names (a login's browser hash, or an
/// [`approval_key`]): on PostgreSQL, its `NOTIFY`, sent at the commit to every app server's
/// [`listen`]er.
pub(crate) async fn announce(tx: &mut Tx, key: &str) -> Result<()> {
    if matches!(tx, Tx::Postgres(..)) {
        tx.execute(query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(key)).await?;
    }
    Ok(())
}

/// After the commit that moved what `key` names: on SQLite, wakes its waiters (on PostgreSQL
/// the listeners do, from the [`announce`]d notification); on PostgreSQL, forgets it in this app
/// server's [`Recall`] at once, so that what this app server answers next is the move, whenever
/// its listener hears it.
pub(crate) fn moved(db: &Db, key: &str) {
    match db.recall() {
        None => wake(key),
        Some(recall) => recall.forget(key),
    }
}

/// The status and expiry of the login of `browser_hash`: its only login for the dashboard, or
/// the login `login_id` (a relying party's page, whose request names its login).
async fn read(db: &Db, browser_hash: &str, login_id: Option<&str>) -> Result<Option<(String, i64)>> {
    let q = match login_id {
        None => query("SELECT status, expires_at FROM login_request WHERE browser_hash = $1").bind(browser_hash),
        Some(id) => query("SELECT status, expires_at FROM login_request WHERE browser_hash = $1 AND id = $2")
            .bind(browser_hash)
            .bind(id),
    };
    Ok(db.fetch_optional(q.point_read()).await?)
}

/// The state of the dashboard's login of `browser_hash` at `now`, and when it expires (`now`
/// when there is no login).
///
/// On PostgreSQL, a login that is waiting or scanned is answered from the database's [`Recall`]
/// when it is there, and kept there when read: those two states end only by a scan or an answer,
/// which announce the move ([`announce`]), or by the clock, which is applied to the recalled
/// expiry. Every other state is read from the database each time, so that taking a confirmed
/// login ([`super::consume`]) always meets the row.
pub(crate) async fn state(db: &Db, browser_hash: &str, now: Millis) -> Result<(LoginState, i64)> {
    let recall = db.recall();
    let at = std::time::Instant::now();
    if let Some(r) = recall
        && let Some((status, expires_at)) = r.get(browser_hash, at)
    {
        let state = state_of(&status, expires_at, now);
        if may_recall(state) {
            r.count_hit();
            return Ok((state, expires_at));
        }
    }
    let ticket = recall.and_then(|r| r.ticket(at));
    let Some((status, expires_at)) = read(db, browser_hash, None).await? else {
        return Ok((LoginState::Unknown, now.0));
    };
    let state = state_of(&status, expires_at, now);
    if let (Some(recall), Some(ticket)) = (recall, ticket)
        && may_recall(state)
    {
        recall.put(ticket, browser_hash, (status, expires_at), at, std::time::Instant::now());
    }
    Ok((state, expires_at))
}

/// The states [`state`] may answer from the recall: those that only an announced move or the
/// clock ends.
fn may_recall(state: LoginState) -> bool {
    matches!(state, LoginState::Waiting | LoginState::Scanned)
}

/// How long a wait may last, and how often it reads its row regardless.
#[derive(Clone, Copy, Debug)]
pub struct Patience {
    pub max_wait: Duration,
    pub recheck: Duration,
}

impl Default for Patience {
    fn default() -> Patience {
        Patience { max_wait: MAX_WAIT, recheck: RECHECK }
    }
}

/// Waits until the login of `browser` (the dashboard's, or the login `login_id` of a relying
/// party's request) is no longer in state `seen`, [`MAX_WAIT`] passed, or the login expired, and
/// answers the state it read last, as [`super::poll`] would answer it now. `None`: it did not
/// wait (`seen` is final, too many wait, the server is stopping), and the caller polls as it
/// would have. Only `waiting` and `scanned` are waited on: every other state is final.
pub async fn wait_for_change(
    db: &Db,
    browser: &str,
    login_id: Option<&str>,
    seen: LoginState,
) -> Result<Option<LoginState>> {
    wait_for_change_within(db, browser, login_id, seen, Patience::default()).await
}

/// [`wait_for_change`] with other bounds (tests: a recheck longer than the test, so that only
/// an announcement can end the wait).
pub async fn wait_for_change_within(
    db: &Db,
    browser: &str,
    login_id: Option<&str>,
    seen: LoginState,
    patience: Patience,
) -> Result<Option<LoginState>> {
    if !matches!(seen, LoginState::Waiting | LoginState::Scanned) {
        return Ok(None);
    }
    let hash = token_hash(browser);
    wait_while(&hash, seen, patience, |now| {
        let hash = &hash;
        async move {
            let Some(id) = login_id else { return state(db, hash, now).await };
            Ok(match read(db, hash, Some(id)).await? {
                Some((status, expires_at)) => (state_of(&status, expires_at, now), expires_at),
                None => (LoginState::Unknown, now.0),
            })
        }
    })
    .await
}

/// The hub key of the approval `id` (issue 14 §1's step-up approval): apart from the logins'
/// keys, which are hex digests and have no colon.
pub(crate) fn approval_key(id: &str) -> String {
    format!("approval:{id}")
}

/// The waiting loop behind every long poll: waits on the hub under `key` until `read` answers a
/// state other than `seen`, `patience.max_wait` passed, the thing read expired (`read` answers
/// the state and its expiry) or the server is stopping, and answers the state read last; `None`
/// when it did not wait at all (too many waiting, or stopping). The caller waits only on states
/// that can still move.
pub(crate) async fn wait_while<S, R, F>(key: &str, seen: S, patience: Patience, read: R) -> Result<Option<S>>
where
    S: PartialEq + Copy,
    R: Fn(Millis) -> F,
    F: Future<Output = Result<(S, i64)>>,
{
    if HUB.stopping.load(Ordering::SeqCst) {
        return Ok(None);
    }
    let Some(watch) = Watch::new(key) else { return Ok(None) };
    let started = tokio::time::Instant::now();
    loop {
        // Registered before the row is read: a move committed after the read still wakes us.
        let moved = watch.notify.notified();
        let stop = HUB.stop.notified();
        tokio::pin!(moved, stop);
        moved.as_mut().enable();
        stop.as_mut().enable();
        let now = Millis::now();
        let (state, expires_at) = read(now).await?;
        let left = patience.max_wait.saturating_sub(started.elapsed());
        if state != seen || left.is_zero() || HUB.stopping.load(Ordering::SeqCst) {
            return Ok(Some(state));
        }
        // Wake just after the expiry, to answer `expired` then.
        let to_expiry = Duration::from_millis(u64::try_from(expires_at - now.0).unwrap_or(0) + 20);
        tokio::select! {
            () = &mut moved => {}
            () = &mut stop => {}
            () = tokio::time::sleep(left.min(patience.recheck).min(to_expiry)) => {}
        }
    }
}

/// Keeps this app server's waiters told of the moves made through any app server, this one
/// included (PostgreSQL): `LISTEN`s on [`CHANNEL`] on one connection of the pool, kept for the
/// purpose, until the pool closes, connecting again when the connection is lost (after a second
/// when it failed otherwise); after every (re)connection it wakes all waiters, in case a move was
/// announced while it was not listening. Nothing to do on SQLite, where every writer is in this
/// process.
///
/// It also keeps the database's [`Recall`] true, from which the dashboard's login that is
/// waiting or scanned is answered ([`super::poll`], [`wait_for_change`] without a login id):
/// open while it listens, each heard key forgotten before its waiters are woken, answering only
/// while the listener hears its own heartbeat (a `NOTIFY` it sends every
/// [`recall::HEARTBEAT`]), and shut from when sqlx tells of the connection's loss, or this task
/// ends, until it listens again.
pub async fn listen(db: Db) {
    let (Db::Postgres(pool, ..), Some(recall)) = (&db, db.recall()) else { return };
    // Shut too when this task ends or is cancelled: nobody would forget anything then.
    let _shut = ShutWhenDropped(recall);
    let own = format!("{HEARTBEAT_PREFIX}{}", crate::secret::Random::os().id());
    let _beat = AbortWhenDropped(tokio::spawn(heartbeat(db.clone(), own.clone())));
    loop {
        let lost: std::result::Result<(), sqlx::Error> = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
            // sqlx would otherwise connect again inside `try_recv` before telling of the loss,
            // while the recall still answered.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            recall.open();
            wake_all();
            hear(&mut listener, recall, &own).await
        }
        .await;
        recall.shut();
        wake_all();
        match lost {
            Err(sqlx::Error::PoolClosed) => return,
            // The connection was lost: connect again now.
            Ok(()) => continue,
            Err(e) => tracing::warn!(error = %e, "the login listener is not listening"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The start of a heartbeat's payload: apart from the logins' keys (hex digests) and
/// [`approval_key`]s.
const HEARTBEAT_PREFIX: &str = "heartbeat:";

/// What this process's clock said when heartbeats began: a heartbeat carries its sending as
/// microseconds since then, so that only the listener's own process reads it.
static HEARTBEATS_SINCE: LazyLock<std::time::Instant> = LazyLock::new(std::time::Instant::now);

/// What `listener` hears, until its connection is lost (`Ok`) or it fails: the moves, and its
/// own heartbeats, `own` followed by `:` and their sending (other app servers' heartbeats mean
/// nothing here).
async fn hear(
    listener: &mut sqlx::postgres::PgListener,
    recall: &Recall,
    own: &str,
) -> std::result::Result<(), sqlx::Error> {
    loop {
        let Some(n) = listener.try_recv().await? else { return Ok(()) };
        let key = n.payload();
        if !key.starts_with(HEARTBEAT_PREFIX) {
            recall.forget(key);
            wake(key);
        } else if let Some(micros) = key.strip_prefix(own).and_then(|k| k.strip_prefix(':'))
            && let Ok(micros) = micros.parse::<u64>()
        {
            recall.heard_heartbeat(*HEARTBEATS_SINCE + Duration::from_micros(micros));
        }
    }
}

/// Sends the listener's heartbeat `own` on [`CHANNEL`] every [`recall::HEARTBEAT`] through the
/// pool, with the instant it was sent, forever. A heartbeat that fails to go, or goes late, is
/// heard late or not at all: the recall stops answering [`recall::DEAF`] after the sending of
/// the last one heard.
async fn heartbeat(db: Db, own: String) {
    let mut every = tokio::time::interval(recall::HEARTBEAT);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // Read before the statement is sent: every move committed before it is heard first.
        let sent = HEARTBEATS_SINCE.elapsed().as_micros();
        let beat = query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(format!("{own}:{sent}"));
        if let Err(e) = db.execute(beat).await {
            tracing::debug!(error = %e, "a heartbeat of the login listener did not go");
        }
    }
}

struct ShutWhenDropped<'a>(&'a Recall);

impl Drop for ShutWhenDropped<'_> {
    fn drop(&mut self) {
        self.0.shut();
    }
}

struct AbortWhenDropped(tokio::task::JoinHandle<()>);

impl Drop for AbortWhenDropped {
    fn drop(&mut self) {
        self.0.abort();
    }
}
