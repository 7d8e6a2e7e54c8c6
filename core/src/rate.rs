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

/// Counts a hit in a window unless it holds `$4` already; answers the count when counted.
const HIT: &str = "INSERT INTO rate_window (class, client, window_start, hits) VALUES ($1, $2, $3, 1) \
     ON CONFLICT (class, client, window_start) DO UPDATE SET hits = rate_window.hits + 1 \
     WHERE rate_window.hits < $4 RETURNING CAST(hits AS BIGINT)";

/// Counts a request of `class` from `client` in the window of `now` unless that window already
/// holds `limit` of them. `Ok(true)`: counted, under the limit; `Ok(false)`: over it, not
/// counted. One statement: concurrent requests through any number of app servers never count
/// past the limit (the row's lock orders them).
pub async fn hit(db: &Db, class: &str, client: &str, now: Millis, limit: u32) -> Result<bool> {
    let counted: Option<i64> =
        db.fetch_optional(query(HIT).bind(class).bind(client).bind(window_of(now)).bind(i64::from(limit))).await?;
    Ok(counted.is_some())
}

/// The hour `now` falls in, as its first millisecond.
pub fn hour_of(now: Millis) -> i64 {
    now.0.div_euclid(Millis::HOUR) * Millis::HOUR
}

/// Classes counted by the hour (their names start so), kept by the purge until their hour ends.
pub const HOURLY: &str = "hour:";

/// [`hit`] inside the caller's transaction, in the window starting `window_start` (a minute of
/// [`window_of`], or an hour of [`hour_of`] for a class named [`HOURLY`]…): a write that fails
/// later takes its count back with it, and on PostgreSQL the window's row stays locked until the
/// commit, so concurrent requests are counted one after the other.
pub async fn hit_in(
    tx: &mut crate::store::Tx,
    class: &str,
    client: &str,
    window_start: i64,
    limit: i64,
) -> Result<bool> {
    let counted: Option<i64> =
        tx.fetch_optional(query(HIT).bind(class).bind(client).bind(window_start).bind(limit)).await?;
    Ok(counted.is_some())
}

/// The key of a client address: an IPv4 address, or an IPv6 address's /64 (one subscriber's
/// prefix, whose 2^64 addresses must not count as as many clients).
pub fn client_key(ip: std::net::IpAddr) -> std::net::IpAddr {
    v6_prefix(ip, 64)
}

/// The key of a client address for a budget counted by the hour (an SMS code to a stranger's
/// mobile): an IPv4 address, or an IPv6 address's /48, the most a subscriber is commonly given
/// (a /56 holds 256 /64s, so [`client_key`] would give one subscriber 256 budgets).
pub fn subscriber_key(ip: std::net::IpAddr) -> std::net::IpAddr {
    v6_prefix(ip, 48)
}

/// An IPv6 address cut to its first `bits` (an IPv4 address, mapped or not, as itself).
fn v6_prefix(ip: std::net::IpAddr, bits: u32) -> std::net::IpAddr {
    match ip.to_canonical() {
        std::net::IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            std::net::IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_is_one_client_and_ipv4_is_itself() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(client_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(subscriber_key(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1::"));
        assert_eq!(subscriber_key(ip("2001:db8:1:ff00::1")), subscriber_key(ip("2001:db8:1:00ff::1")));
        assert_eq!(subscriber_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(subscriber_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"), "an IPv4 address mapped into IPv6");
        assert_eq!(client_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
    }
}
