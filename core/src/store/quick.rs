//! PostgreSQL connections for statements that run alone on hot paths (issue 17 §2): the point
//! reads ([`Query::point_read`](super::Query::point_read)) and the units that are one statement
//! ([`compose`](super::compose)).
//!
//! sqlx's pool sends a round trip (a `Sync`, answered by the server) on every connection it
//! takes back, so a request of one indexed read, the PC's status poll, cost two round trips, and
//! a counter's check three of its six. A connection lent here comes back without one: a
//! statement that ran to its end, or that the server refused, leaves the connection ready for
//! the next (sqlx reads any answer still owed before it sends the next statement). A statement
//! cut off on the way (the caller's future dropped) leaves answers owed: the connection is then
//! drained by a task of its own, as sqlx's pool drains one, before it is lent again (a write so
//! cut off may still commit, as a transaction whose `COMMIT` was already sent does). A
//! connection whose way to the server failed, or that the server is ending (a fatal error, a
//! shutdown), or that was idle past [`IDLE_TIMEOUT`], is closed instead.
//!
//! At most `max` connections are open here; the idle ones wait in a stack, the most recently used
//! first. [`Db::connect`](super::Db::connect) gives this half of the connection budget
//! (`ECERT_DB_MAX_CONNECTIONS`) and sqlx's pool the other half. When all `max` are lent, a caller
//! does not wait: [`Quick::try_lend`] answers `None` and the statement goes through sqlx's pool.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgDatabaseError, PgSeverity};
use sqlx::{ConnectOptions, Connection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// An idle connection older than this is closed rather than lent (as sqlx's pool's idle timeout).
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

pub struct Quick {
    options: PgConnectOptions,
    /// Idle connections with the instant each came back; `None` once closed.
    idle: Mutex<Option<Vec<(PgConnection, Instant)>>>,
    /// One permit per connection in use (lent, connecting or draining); idle ones hold none.
    lendable: Arc<Semaphore>,
    max: u32,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Quick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quick").field("max", &self.max).finish_non_exhaustive()
    }
}

/// A connection lent by [`Quick::try_lend`]: back to the idle stack by [`Lent::finish`]; when
/// dropped before that (mid-statement), drained by a task of its own first.
pub(super) struct Lent {
    quick: Arc<Quick>,
    conn: Option<PgConnection>,
    turn: Option<OwnedSemaphorePermit>,
}

impl Quick {
    pub(super) fn new(options: PgConnectOptions, max: u32, connect_timeout: Duration) -> Quick {
        Quick {
            options,
            idle: Mutex::new(Some(Vec::new())),
            lendable: Arc::new(Semaphore::new(max as usize)),
            max,
            connect_timeout,
        }
    }

    /// An idle connection, or a new one; `None` when `max` are lent (or none may be).
    pub(super) async fn try_lend(self: &Arc<Quick>) -> Result<Option<Lent>, sqlx::Error> {
        let Ok(turn) = self.lendable.clone().try_acquire_owned() else { return Ok(None) };
        let now = Instant::now();
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            let Some(idle) = idle.as_mut() else { return Err(sqlx::Error::PoolClosed) };
            // The oldest are at the bottom of the stack: those past the idle timeout are closed.
            let fresh = idle.partition_point(|(_, since)| now.duration_since(*since) > IDLE_TIMEOUT);
            idle.drain(..fresh).for_each(drop);
            idle.pop().map(|(conn, _)| conn)
        };
        let conn = match idle {
            Some(conn) => conn,
            None => tokio::time::timeout(self.connect_timeout, self.options.connect())
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)??,
        };
        Ok(Some(Lent { quick: self.clone(), conn: Some(conn), turn: Some(turn) }))
    }

    /// Connections open (in use, and idle), idle among them, and the most that may be.
    pub(super) fn usage(&self) -> (u32, u32, u32) {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, Vec::len) as u32;
        let in_use = self.max.saturating_sub(self.lendable.available_permits() as u32);
        (in_use + idle, idle, self.max)
    }

    /// Closes the idle connections; every later [`Quick::try_lend`] fails and every connection
    /// lent is closed when it comes back.
    pub(super) async fn close(&self) {
        self.lendable.close();
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_default();
        for (conn, _) in idle {
            let _ = conn.close().await;
        }
    }

    /// Puts `conn` on the idle stack, or closes it when this set is closed.
    fn put_back(&self, conn: PgConnection) {
        if let Some(idle) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            idle.push((conn, Instant::now()));
        }
    }
}

impl Lent {
    /// The connection, held until [`Lent::finish`].
    pub(super) fn conn(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        self.conn.as_mut().ok_or(sqlx::Error::PoolClosed)
    }

    /// Ends the loan after a statement that came back with `outcome`: the connection goes back
    /// to the idle stack when the statement ran to its end or the server refused it, and is
    /// closed when the way to the server failed or the server is ending the session.
    pub(super) fn finish<T>(mut self, outcome: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        if let Some(conn) = self.conn.take() {
            match &outcome {
                Ok(_) => self.quick.put_back(conn),
                Err(sqlx::Error::Database(e)) if !ends_session(e.try_downcast_ref::<PgDatabaseError>()) => {
                    self.quick.put_back(conn)
                }
                // The way to the server failed: the connection closes here.
                Err(_) => drop(conn),
            }
        }
        outcome
    }
}

/// True for an error after which the server closes the session, or that says it is going away:
/// a fatal one, an operator intervention (class 57: shutdown, cancel, crash) or a connection
/// exception (class 08).
fn ends_session(error: Option<&PgDatabaseError>) -> bool {
    let Some(e) = error else { return true };
    matches!(e.severity(), PgSeverity::Fatal | PgSeverity::Panic)
        || e.code().starts_with("57")
        || e.code().starts_with("08")
}

impl Drop for Lent {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        // Cut off mid-statement: the server may still be running it and owes its answers. A
        // task of its own reads them (sqlx's ping waits for the server to be ready) while the
        // connection keeps its place in the count, then puts it back, as sqlx's pool does.
        let quick = self.quick.clone();
        let turn = self.turn.take();
        let drain = async move {
            match tokio::time::timeout(Duration::from_secs(30), conn.ping()).await {
                Ok(Ok(())) => quick.put_back(conn),
                _ => drop(conn),
            }
            drop(turn);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(drain)),
            // No runtime left to drain it on: the connection closes with the future.
            Err(_) => drop(drain),
        }
    }
}
