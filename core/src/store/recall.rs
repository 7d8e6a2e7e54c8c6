//! Point reads an app server may answer from its own memory (PostgreSQL; issue 17 §2).
//!
//! A row is recalled here only while a listener of this database is known to hear every change
//! of such rows: the caller names the rows by a key, every transaction that changes one
//! announces its key (PostgreSQL's `NOTIFY`, delivered to every app server at the commit, in
//! the order of the commits), and the listener [`Recall::forget`]s each key it hears. The
//! listener proves that it hears by hearing its own heartbeat, a `NOTIFY` it sends every second
//! or so through the pool the writes go through ([`Recall::heard_heartbeat`]): a heartbeat sent
//! at `t` and heard means that every change committed before `t` has been heard, so the recall
//! answers until `t` + [`DEAF`] and then nothing, and keeps nothing, until a later heartbeat is
//! heard. A listener cut off without knowing it (a half-open connection, a server failing over,
//! a connection that reaches another server than the writes) or lagging behind thus costs reads,
//! never answers more than [`DEAF`] behind. A recall just opened ([`Recall::open`], when the
//! listener listens) answers nothing until its first heartbeat is heard. When the listener's
//! connection is lost the recall is shut ([`Recall::shut`]: emptied, nothing answered or kept),
//! since what was announced then is lost.
//!
//! A read that fills the recall may race a change: it reads the row, the change commits and is
//! heard (nothing to forget yet), then the read puts the old row. So a filling read takes a
//! [`Ticket`] before it reads, and [`Recall::put`] keeps the row only if nothing was forgotten,
//! shut or opened since that ticket was taken. Every change then either comes before the read
//! (and the read saw it) or is heard after the put (and forgets it).
//!
//! What an app server answers from here can be behind the database by the time its listener
//! takes to hear a commit (at most [`DEAF`]; a read that overlaps the change may see either
//! state, as it could without the recall); the writer's own app server forgets the key as soon
//! as its commit returns. A row is never answered from here when it was read more than [`FRESH`]
//! ago (a bound on a change whose writer failed to announce it; each row's bound lies between
//! half of [`FRESH`] and [`FRESH`], spread by its key, so that rows read together, as after the
//! recall opens, do not all go back to the database together), and
//! at most [`MAX_ROWS`] are kept, so that a crowd cannot make the recall large: when it is full,
//! rows that are no longer fresh are swept out at most once per [`SWEEP_EVERY`], and new rows are
//! not kept until there is room. This module knows no table: the caller decides which rows may
//! be recalled. The time is the caller's (`now`), read once per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest a recalled row is answered after it was read.
pub const FRESH: Duration = Duration::from_secs(10);
/// A recall answers for this long after the sending of the last heartbeat its listener heard.
pub const DEAF: Duration = Duration::from_secs(3);
/// How often the listener sends its heartbeat: several to each [`DEAF`].
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// The most rows recalled at once.
pub const MAX_ROWS: usize = 100_000;
/// A full recall is swept of stale rows at most this often.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// A row as recalled: two columns as read (for example a status and when it expires).
pub type Recalled = (String, i64);

/// How long after its read the row under `key` is answered: between half of [`FRESH`] and
/// [`FRESH`], the same for the same key, spread evenly over keys (a fixed hash: the keys are
/// the caller's, and nothing is decided by where in the span a row falls).
fn fresh_for(key: &str) -> Duration {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    key.hash(&mut h);
    let half = FRESH / 2;
    let span = u64::try_from(half.as_millis()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_millis(h.finish() % span)
}

#[derive(Debug, Default)]
struct Inner {
    /// Between [`Recall::open`] and [`Recall::shut`].
    open: bool,
    /// While open, the instant until which the listener is known to hear: the sending of the
    /// last heartbeat it heard, plus [`DEAF`]; `None` until one is heard.
    hears_until: Option<Instant>,
    /// Bumped on every forget, shut and open: a [`Ticket`] of an older count puts nothing.
    changes: u64,
    /// Each row, and the instant after which it is no longer answered.
    rows: HashMap<String, (Recalled, Instant)>,
    swept_at: Option<Instant>,
}

impl Inner {
    fn hears(&self, now: Instant) -> bool {
        self.open && self.hears_until.is_some_and(|until| now < until)
    }
}

/// See the module's documentation. One per PostgreSQL [`Db`](super::Db).
#[derive(Debug, Default)]
pub struct Recall {
    inner: Mutex<Inner>,
    hits: AtomicU64,
}

/// What [`Recall::ticket`] gives a read before it reads, for [`Recall::put`] after.
#[derive(Clone, Copy, Debug)]
pub struct Ticket(u64);

impl Recall {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every change under the lock is whole before the lock is let go: a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The row recalled under `key`, if the listener hears and the row is still fresh at `now`
    /// ([`fresh_for`]). The caller that takes it counts it ([`Recall::count_hit`]).
    pub fn get(&self, key: &str, now: Instant) -> Option<Recalled> {
        let inner = self.inner();
        if !inner.hears(now) {
            return None;
        }
        let (row, stale_at) = inner.rows.get(key)?;
        (now < *stale_at).then(|| row.clone())
    }

    /// One more read answered from the recall (for `/metrics` and the bench).
    pub fn count_hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Taken before a read whose row may be [`Recall::put`]; `None` while the listener is not
    /// known to hear.
    pub fn ticket(&self, now: Instant) -> Option<Ticket> {
        let inner = self.inner();
        inner.hears(now).then_some(Ticket(inner.changes))
    }

    /// Keeps `row` under `key`, read after `ticket` was taken (at `read_at`, the ticket's `now`),
    /// unless something was forgotten, or the recall shut or opened, since then; or the
    /// listener is no longer known to hear at `now`; or the recall is full of fresh rows.
    pub fn put(&self, ticket: Ticket, key: &str, row: Recalled, read_at: Instant, now: Instant) {
        let mut inner = self.inner();
        if !inner.hears(now) || inner.changes != ticket.0 {
            return;
        }
        if inner.rows.len() >= MAX_ROWS && !inner.rows.contains_key(key) {
            if inner.swept_at.is_some_and(|at| now.saturating_duration_since(at) < SWEEP_EVERY) {
                return;
            }
            inner.swept_at = Some(now);
            inner.rows.retain(|_, (_, stale_at)| now < *stale_at);
            if inner.rows.len() >= MAX_ROWS {
                return;
            }
        }
        inner.rows.insert(key.to_owned(), (row, read_at + fresh_for(key)));
    }

    /// The row under `key` changed (or may have): forgets it, and no read begun before now
    /// puts anything.
    pub fn forget(&self, key: &str) {
        let mut inner = self.inner();
        inner.changes += 1;
        inner.rows.remove(key);
    }

    /// The listener listens from now on: the recall starts empty, and answers once a heartbeat
    /// sent from now on is heard.
    pub fn open(&self) {
        self.start_over(true);
    }

    /// The listener heard its own heartbeat sent at `sent`: every change committed before then
    /// has been heard. Ignored unless open (a heartbeat sent before the listener listened
    /// proves nothing).
    pub fn heard_heartbeat(&self, sent: Instant) {
        let mut inner = self.inner();
        if inner.open {
            let until = sent + DEAF;
            inner.hears_until = Some(inner.hears_until.map_or(until, |u| u.max(until)));
        }
    }

    /// The listener may miss changes: the recall forgets everything and stays empty until
    /// [`Recall::open`].
    pub fn shut(&self) {
        self.start_over(false);
    }

    /// Empty, `open` or not, with no heartbeat heard, and no ticket taken before now good.
    fn start_over(&self, open: bool) {
        let mut inner = self.inner();
        inner.changes += 1;
        inner.rows.clear();
        inner.open = open;
        inner.hears_until = None;
    }

    /// Whether a listener is known to hear at `now`.
    pub fn hears(&self, now: Instant) -> bool {
        self.inner().hears(now)
    }

    /// Reads answered from the recall so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Rows kept now, fresh or not yet swept.
    pub fn len(&self) -> usize {
        self.inner().rows.len()
    }

    /// Whether no row is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: &str) -> Recalled {
        (status.to_owned(), 7)
    }

    /// A row put at `t0`, through a ticket taken then.
    fn put_at(recall: &Recall, key: &str, status: &str, t0: Instant) {
        let t = recall.ticket(t0).expect("the listener hears");
        recall.put(t, key, row(status), t0, t0);
    }

    /// Opened and a heartbeat sent at `t0` heard.
    fn hearing(t0: Instant) -> Recall {
        let recall = Recall::default();
        recall.open();
        recall.heard_heartbeat(t0);
        recall
    }

    #[test]
    fn nothing_is_recalled_unless_a_listener_hears() {
        let (recall, t0) = (Recall::default(), Instant::now());
        assert!(recall.ticket(t0).is_none(), "shut until a listener opens it");
        recall.heard_heartbeat(t0);
        assert!(recall.ticket(t0).is_none(), "a heartbeat does not open a shut recall");
        recall.open();
        assert!(recall.ticket(t0).is_none(), "open, but no heartbeat heard yet");
        recall.heard_heartbeat(t0);
        let t = recall.ticket(t0).expect("hears");
        recall.shut();
        recall.put(t, "k", row("waiting"), t0, t0);
        assert_eq!(recall.get("k", t0), None);
        let recall = hearing(t0);
        put_at(&recall, "k", "waiting", t0);
        recall.open();
        recall.heard_heartbeat(t0);
        assert_eq!(recall.get("k", t0), None, "opening again starts empty");
    }

    #[test]
    fn a_recall_answers_for_deaf_after_the_sending_of_the_last_heartbeat_heard() {
        let t0 = Instant::now();
        let recall = hearing(t0);
        let sent = t0 + DEAF - Duration::from_millis(1);
        recall.heard_heartbeat(sent);
        put_at(&recall, "k", "waiting", sent);
        assert_eq!(recall.get("k", t0 + DEAF), Some(row("waiting")), "a heartbeat keeps it hearing");
        let deaf = sent + DEAF;
        assert_eq!(recall.get("k", deaf), None, "no heartbeat sent since DEAF ago heard: nothing answered");
        assert!(recall.ticket(deaf).is_none(), "and nothing kept");
        // A heartbeat heard late counts from its sending: one sent before `deaf - DEAF` does
        // not make the recall hear again, whenever it arrives.
        recall.heard_heartbeat(deaf - DEAF - Duration::from_millis(1));
        assert_eq!(recall.get("k", deaf), None, "a late heartbeat proves only what came before its sending");
        recall.heard_heartbeat(deaf);
        assert_eq!(recall.get("k", deaf), Some(row("waiting")), "heard again, in order: what it kept is true");
    }

    #[test]
    fn a_row_is_recalled_for_between_half_of_fresh_and_fresh_after_its_read() {
        let t0 = Instant::now();
        let recall = hearing(t0);
        let keys: Vec<String> = (0..1000).map(|k| format!("{k:064x}")).collect();
        for k in &keys {
            put_at(&recall, k, "waiting", t0);
        }
        let answered = |at: Instant| {
            recall.heard_heartbeat(at);
            keys.iter().filter(|k| recall.get(k, at).is_some()).count()
        };
        assert_eq!(answered(t0 + FRESH / 2 - Duration::from_millis(1)), keys.len(), "all within half of FRESH");
        let midway = answered(t0 + FRESH * 3 / 4);
        assert!((300..700).contains(&midway), "spread over the second half: {midway} of 1000 still answered");
        assert_eq!(answered(t0 + FRESH), 0, "none at FRESH");
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let t0 = Instant::now();
        let recall = hearing(t0);
        let before = recall.ticket(t0).expect("hears");
        // A change is heard between the read's ticket and its put: the read may be old.
        recall.forget("other key");
        recall.put(before, "k", row("waiting"), t0, t0);
        assert_eq!(recall.get("k", t0), None);
        put_at(&recall, "k", "scanned", t0);
        assert_eq!(recall.get("k", t0), Some(row("scanned")));
        recall.forget("k");
        assert_eq!(recall.get("k", t0), None, "a change heard forgets the row");
    }

    #[test]
    fn the_recall_is_bounded_and_sweeps_stale_rows_once_a_second_at_most() {
        let t0 = Instant::now();
        let recall = hearing(t0);
        for k in 0..MAX_ROWS {
            put_at(&recall, &k.to_string(), "waiting", t0);
        }
        // Full of fresh rows: the next put sweeps and finds no room, and so does nothing else.
        put_at(&recall, "over", "waiting", t0);
        assert_eq!((recall.len(), recall.get("over", t0)), (MAX_ROWS, None));
        // Once they are stale, a put within SWEEP_EVERY of that sweep does not sweep again...
        let stale = t0 + FRESH;
        recall.heard_heartbeat(stale);
        put_at(&recall, "early", "waiting", t0 + SWEEP_EVERY - Duration::from_millis(1));
        assert_eq!(recall.len(), MAX_ROWS, "no sweep within a second of the last");
        // ...and one after it does.
        put_at(&recall, "new", "waiting", stale);
        assert_eq!(recall.len(), 1, "the stale rows swept, the new one kept");
    }
}
