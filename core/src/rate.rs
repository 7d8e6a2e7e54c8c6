//! Issue 17 §1: the per-client windows of the limits on anonymous requests, kept in the database
//! when several app servers share it (PostgreSQL), so that a client over its limit through one
//! app server is over it through every other one. The server's limiter counts in memory first
//! (a flood from one address never reaches the database) and then here.
//!
//! A window is a minute of the wall clock, the same on every app server; the purge deletes a
//! window two minutes after it ends ([`crate::purge`]).

use crate::store::{Db, query};
use crate::{Millis, Result};

/// The minute `now` falls in, as its first millisecond.
pub fn window_of(now: Millis) -> i64 {
    now.0.div_euclid(Millis::MINUTE) * Millis::MINUTE
}

/// Counts a request of `class` from `client` in the window of `now` unless that window already
/// holds `limit` of them. `Ok(true)`: counted, under the limit; `Ok(false)`: over it, not
/// counted. One statement: concurrent requests through any number of app servers never count
/// past the limit (the row's lock orders them).
pub async fn hit(db: &Db, class: &str, client: &str, now: Millis, limit: u32) -> Result<bool> {
    let counted: Option<i64> = db
        .fetch_optional(
            query(
                "INSERT INTO rate_window (class, client, window_start, hits) VALUES ($1, $2, $3, 1) \
                 ON CONFLICT (class, client, window_start) DO UPDATE SET hits = rate_window.hits + 1 \
                 WHERE rate_window.hits < $4 RETURNING CAST(hits AS BIGINT)",
            )
            .bind(class)
            .bind(client)
            .bind(window_of(now))
            .bind(i64::from(limit)),
        )
        .await?;
    Ok(counted.is_some())
}
