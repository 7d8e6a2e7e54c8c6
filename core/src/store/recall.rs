//! Point reads an app server may answer from its own memory (PostgreSQL; issue 17 §2).
//!
//! A row is recalled here only while a listener of this database is known to hear every change
//! of such rows: the caller names the rows by a key, every transaction that changes one
//! announces its key (PostgreSQL's `NOTIFY`, delivered to every app server at the commit, in
//! the order of the commits), and the listener [`Recall::forget`]s each key it hears. The
//! listener proves that it hears by hearing its own heartbeat, a `NOTIFY` it sends every second
//! or so ([`Recall::heard_heartbeat`]): a recall that has not heard one for [`DEAF`] answers
//! nothing and keeps nothing, since its listener may be cut off without knowing it (a half-open
//! connection, a server failing over). When the listener's connection is lost the recall is
//! shut ([`Recall::shut`]: emptied, nothing answered or kept), since what was announced then is
//! lost; it opens again ([`Recall::open`]) once the listener listens anew.
//!
//! A read that fills the recall may race a change: it reads the row, the change commits and is
//! heard (nothing to forget yet), then the read puts the old row. So a filling read takes a
//! [`Ticket`] before it reads, and [`Recall::put`] keeps the row only if nothing was forgotten,
//! shut or opened since that ticket was taken. Every change then either comes before the read
//! (and the read saw it) or is heard after the put (and forgets it).
//!
//! What an app server answers from here can be behind the database by the time its listener
//! takes to hear a commit made through another app server (a read that overlaps the change may
//! see either state, as it could without the recall). A row is never answered from here when it
//! was read more than [`FRESH`] ago (a bound on a change whose writer failed to announce it), and
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
/// A recall whose listener has not heard its own heartbeat for this long answers nothing.
pub const DEAF: Duration = Duration::from_secs(3);
/// How often the listener sends its heartbeat: several to each [`DEAF`].
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// The most rows recalled at once.
pub const MAX_ROWS: usize = 100_000;
/// A full recall is swept of stale rows at most this often.
pub const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// A row as recalled: two columns as read (for example a status and when it expires).
pub type Recalled = (String, i64);

#[derive(Debug, Default)]
struct Inner {
    /// While open, the instant until which the listener is known to hear (its last heartbeat
    /// heard, plus [`DEAF`]).
    hears_until: Option<Instant>,
    /// Bumped on every forget, shut and open: a [`Ticket`] of an older count puts nothing.
    changes: u64,
    rows: HashMap<String, (Recalled, Instant)>,
    swept_at: Option<Instant>,
}

impl Inner {
    fn hears(&self, now: Instant) -> bool {
        self.hears_until.is_some_and(|until| now < until)
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

    /// The row recalled under `key`, if the listener hears and the row was read within
    /// [`FRESH`] of `now`. The caller that takes it counts it ([`Recall::count_hit`]).
    pub fn get(&self, key: &str, now: Instant) -> Option<Recalled> {
        let inner = self.inner();
        if !inner.hears(now) {
            return None;
        }
        let (row, read_at) = inner.rows.get(key)?;
        (now.saturating_duration_since(*read_at) < FRESH).then(|| row.clone())
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
            inner.rows.retain(|_, (_, at)| now.saturating_duration_since(*at) < FRESH);
            if inner.rows.len() >= MAX_ROWS {
                return;
            }
        }
        inner.rows.insert(key.to_owned(), (row, read_at));
    }

    /// The row under `key` changed (or may have): forgets it, and no read begun before now
    /// puts anything.
    pub fn forget(&self, key: &str) {
        let mut inner = self.inner();
        inner.changes += 1;
        inner.rows.remove(key);
    }

    /// The listener listens, from `now` on: the recall may fill, for [`DEAF`] unless a
    /// heartbeat is heard.
    pub fn open(&self, now: Instant) {
        let mut inner = self.inner();
        inner.changes += 1;
        inner.rows.clear();
        inner.hears_until = Some(now + DEAF);
    }

    /// The listener heard its own heartbeat at `now`: every change committed before the
    /// heartbeat was sent has been heard.
    pub fn heard_heartbeat(&self, now: Instant) {
        let mut inner = self.inner();
        if inner.hears_until.is_some() {
            inner.hears_until = Some(now + DEAF);
        }
    }

    /// The listener may miss changes: the recall forgets everything and stays empty until
    /// [`Recall::open`].
    pub fn shut(&self) {
        let mut inner = self.inner();
        inner.changes += 1;
        inner.rows.clear();
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

    #[test]
    fn nothing_is_recalled_unless_a_listener_hears() {
        let (recall, t0) = (Recall::default(), Instant::now());
        assert!(recall.ticket(t0).is_none(), "shut until a listener opens it");
        recall.open(t0);
        let t = recall.ticket(t0).expect("open");
        recall.shut();
        recall.put(t, "k", row("waiting"), t0, t0);
        assert_eq!(recall.get("k", t0), None);
        recall.open(t0);
        put_at(&recall, "k", "waiting", t0);
        recall.open(t0);
        assert_eq!(recall.get("k", t0), None, "opening again starts empty");
    }

    #[test]
    fn a_listener_that_stops_hearing_its_heartbeat_recalls_nothing() {
        let (recall, t0) = (Recall::default(), Instant::now());
        recall.open(t0);
        put_at(&recall, "k", "waiting", t0);
        let beat = t0 + DEAF - Duration::from_millis(1);
        recall.heard_heartbeat(beat);
        assert_eq!(recall.get("k", t0 + DEAF), Some(row("waiting")), "a heartbeat keeps it hearing");
        let deaf = beat + DEAF;
        assert_eq!(recall.get("k", deaf), None, "no heartbeat for DEAF: nothing answered");
        assert!(recall.ticket(deaf).is_none(), "and nothing kept");
        recall.heard_heartbeat(deaf);
        assert_eq!(recall.get("k", deaf), Some(row("waiting")), "heard again, in order: what it kept is true");
        recall.shut();
        recall.heard_heartbeat(deaf);
        assert!(!recall.hears(deaf), "a heartbeat does not open a shut recall");
    }

    #[test]
    fn a_row_is_recalled_for_fresh_after_its_read_at_most() {
        let (recall, t0) = (Recall::default(), Instant::now());
        recall.open(t0);
        put_at(&recall, "k", "waiting", t0);
        recall.heard_heartbeat(t0 + FRESH - Duration::from_millis(1));
        assert_eq!(recall.get("k", t0 + FRESH - Duration::from_millis(1)), Some(row("waiting")));
        recall.heard_heartbeat(t0 + FRESH);
        assert_eq!(recall.get("k", t0 + FRESH), None);
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let (recall, t0) = (Recall::default(), Instant::now());
        recall.open(t0);
        let before = recall.ticket(t0).expect("open");
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
        let (recall, t0) = (Recall::default(), Instant::now());
        recall.open(t0);
        for k in 0..MAX_ROWS + 10 {
            put_at(&recall, &k.to_string(), "waiting", t0);
        }
        assert_eq!(recall.len(), MAX_ROWS, "fresh rows are kept and no more are taken");
        assert_eq!(recall.get(&(MAX_ROWS + 5).to_string(), t0), None);
        // Once they are stale, a put sweeps them (and a second put within the second does not
        // sweep again).
        let later = t0 + FRESH;
        recall.heard_heartbeat(later);
        put_at(&recall, "new", "waiting", later);
        assert_eq!(recall.len(), 1, "the stale rows swept, the new one kept");
    }
}
