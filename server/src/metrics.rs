//! Issue 17 §3: what an operator's Prometheus scrapes from each app server, in its text format
//! (version 0.0.4), on a listener of its own (`--metrics-listen`), never on the public port.
//!
//! - `ecert_http_requests_total` and `ecert_http_request_duration_seconds` per route (the
//!   route's pattern as axum matched it, so a crowd asking for a million made-up paths makes
//!   one series, `unmatched`), method and status class;
//! - `ecert_db_connections` (open, idle, max) and, on a SQLite file, `ecert_db_writer_queue` and
//!   `ecert_db_wal_restarts_held_total` (the WAL at its bound, writes held while it started over)
//!   with `ecert_db_wal_bound_bytes`, that bound;
//! - `ecert_login_waiting`, the scan-login long polls waiting now; on PostgreSQL
//!   `ecert_login_states_recalled_total` and `ecert_login_states_kept`, the logins' states this
//!   app server answered from memory and those it keeps (`ecert_core::store::recall`);
//! - `ecert_rate_limited_total` per class of anonymous request;
//! - `ecert_purged_rows_total` per table and `ecert_usage_days_rolled_up_total`;
//! - `ecert_process_resident_memory_bytes` and `ecert_process_start_time_seconds`.
//!
//! The counters are this process's: a cluster's are the sum over its app servers, which is what
//! Prometheus's `sum by (route)` gives.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use crate::limits::Class;

/// Upper bounds of the latency buckets, in seconds (a cheap read is a millisecond or less; a
/// password hash is a few hundred; the slowest statistics a few seconds).
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// One series of requests: a count per bucket (not cumulative here; summed when written), the
/// count and the sum of their seconds.
#[derive(Default)]
struct Series {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    seconds: f64,
}

/// The series of one route pattern, by method and status class (`2xx`…): the route is the
/// outer key so that counting a request allocates nothing once its route has been seen.
type RouteSeries = HashMap<(&'static str, &'static str), Series>;

/// This process's metrics.
pub struct Metrics {
    requests: Mutex<HashMap<String, RouteSeries>>,
    limited: [AtomicU64; Class::ALL.len()],
    purged: Mutex<BTreeMap<String, u64>>,
    rolled_up_days: AtomicU64,
    started_unix: f64,
}

/// The process's one set of metrics (as a process has one address space and one RSS).
pub static METRICS: LazyLock<Metrics> = LazyLock::new(|| Metrics {
    requests: Mutex::default(),
    limited: Default::default(),
    purged: Mutex::default(),
    rolled_up_days: AtomicU64::new(0),
    started_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
});

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Methods by name; anything else is `other` (a client may send any token as a method).
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn observe(&self, route: &str, method: &'static str, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let by_route = match requests.get_mut(route) {
            Some(by_route) => by_route,
            None => requests.entry(route.to_owned()).or_default(),
        };
        let series = by_route.entry((method, status_class(status))).or_default();
        if let Some(i) = BUCKETS.iter().position(|le| seconds <= *le) {
            series.buckets[i] += 1;
        }
        series.count += 1;
        series.seconds += seconds;
    }

    /// Counts a request refused by a rate limit.
    pub fn limited(&self, class: Class) {
        self.limited[class as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts rows deleted by a purge, per table.
    pub fn purged(&self, tables: &[(&'static str, u64)]) {
        let mut purged = self.purged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (table, n) in tables {
            *purged.entry((*table).to_owned()).or_default() += n;
        }
    }

    /// Counts days of usage rolled up for the statistics.
    pub fn rolled_up(&self, days: u64) {
        self.rolled_up_days.fetch_add(days, Ordering::Relaxed);
    }

    /// Everything, in Prometheus's text format; `pool` as the database reports it now.
    pub fn render(&self, pool: ecert_core::store::PoolUse) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let head = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        {
            let requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut keys: Vec<(&str, &'static str, &'static str)> = requests
                .iter()
                .flat_map(|(route, by_route)| {
                    by_route.keys().map(move |&(method, status)| (route.as_str(), method, status))
                })
                .collect();
            keys.sort_unstable();
            let series =
                |(route, method, status): (&str, &'static str, &'static str)| &requests[route][&(method, status)];
            head(
                &mut out,
                "ecert_http_requests_total",
                "counter",
                "Requests answered, by route, method and status class.",
            );
            for &key in &keys {
                let _ = writeln!(out, "ecert_http_requests_total{{{}}} {}", labels(key), series(key).count);
            }
            head(
                &mut out,
                "ecert_http_request_duration_seconds",
                "histogram",
                "Seconds from a request's arrival to its answer's head, by route and method.",
            );
            for &key in &keys {
                let s = series(key);
                let l = labels(key);
                let mut cumulative = 0;
                for (le, n) in BUCKETS.iter().zip(s.buckets) {
                    cumulative += n;
                    let _ = writeln!(out, "ecert_http_request_duration_seconds_bucket{{{l},le=\"{le}\"}} {cumulative}");
                }
                let _ = writeln!(out, "ecert_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}", s.count);
                let _ = writeln!(out, "ecert_http_request_duration_seconds_sum{{{l}}} {}", s.seconds);
                let _ = writeln!(out, "ecert_http_request_duration_seconds_count{{{l}}} {}", s.count);
            }
        }
        head(&mut out, "ecert_db_connections", "gauge", "Database connections of this app server's pool.");
        let _ = writeln!(out, "ecert_db_connections{{state=\"open\"}} {}", pool.open);
        let _ = writeln!(out, "ecert_db_connections{{state=\"idle\"}} {}", pool.idle);
        let _ = writeln!(out, "ecert_db_connections{{state=\"max\"}} {}", pool.max);
        if let Some(queued) = pool.writer_queue {
            head(
                &mut out,
                "ecert_db_writer_queue",
                "gauge",
                "Write units waiting for SQLite's one writer or being committed.",
            );
            let _ = writeln!(out, "ecert_db_writer_queue {queued}");
        }
        if let Some(held) = pool.wal_restarts_held {
            head(
                &mut out,
                "ecert_db_wal_restarts_held_total",
                "counter",
                "Times SQLite's WAL reached its bound and writes waited while it started over.",
            );
            let _ = writeln!(out, "ecert_db_wal_restarts_held_total {held}");
        }
        if let Some(bound) = pool.wal_bound_bytes {
            head(
                &mut out,
                "ecert_db_wal_bound_bytes",
                "gauge",
                "SQLite's WAL size at which writes wait while it starts over (--sqlite-wal-limit-mb).",
            );
            let _ = writeln!(out, "ecert_db_wal_bound_bytes {bound}");
        }
        if let (Some(hits), Some(rows)) = (pool.recalled, pool.recall_rows) {
            head(
                &mut out,
                "ecert_login_states_recalled_total",
                "counter",
                "Scan-login states answered from this app server's memory, kept true by LISTEN (PostgreSQL).",
            );
            let _ = writeln!(out, "ecert_login_states_recalled_total {hits}");
            head(
                &mut out,
                "ecert_login_states_kept",
                "gauge",
                "Scan-login states this app server keeps in memory (fresh, or not yet swept).",
            );
            let _ = writeln!(out, "ecert_login_states_kept {rows}");
        }
        head(
            &mut out,
            "ecert_login_waiting",
            "gauge",
            "Scan-login long polls waiting for their login to move (issue 17 §2).",
        );
        let _ = writeln!(out, "ecert_login_waiting {}", ecert_core::login::changes::waiting());
        head(
            &mut out,
            "ecert_rate_limited_total",
            "counter",
            "Anonymous requests refused (429) by a rate limit, by class.",
        );
        for class in Class::ALL {
            let n = self.limited[class as usize].load(Ordering::Relaxed);
            let _ = writeln!(out, "ecert_rate_limited_total{{class=\"{}\"}} {n}", class.name());
        }
        head(
            &mut out,
            "ecert_purged_rows_total",
            "counter",
            "Expired rows deleted by this app server's purges, by table.",
        );
        for (table, n) in self.purged.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let _ = writeln!(out, "ecert_purged_rows_total{{table=\"{}\"}} {n}", escape(table));
        }
        head(
            &mut out,
            "ecert_usage_days_rolled_up_total",
            "counter",
            "Days of usage records this app server rolled up for the statistics.",
        );
        let _ = writeln!(out, "ecert_usage_days_rolled_up_total {}", self.rolled_up_days.load(Ordering::Relaxed));
        if let Some(rss) = resident_bytes() {
            head(&mut out, "ecert_process_resident_memory_bytes", "gauge", "Resident memory of this process.");
            let _ = writeln!(out, "ecert_process_resident_memory_bytes {rss}");
        }
        head(&mut out, "ecert_process_start_time_seconds", "gauge", "When this process started, in Unix seconds.");
        let _ = writeln!(out, "ecert_process_start_time_seconds {}", self.started_unix);
        out
    }
}

/// The labels of a request series.
fn labels((route, method, status): (&str, &str, &str)) -> String {
    format!("route=\"{}\",method=\"{method}\",status=\"{status}\"", escape(route))
}

/// A label value as the text format wants it: `\`, `"` and line feeds escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The resident set of this process (Linux: `/proc/self/statm`, in pages of 4 KiB).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The middleware counting every request by the route axum matched (`unmatched` for the
/// fallback: static files and pages not found).
pub async fn record(req: Request, next: Next) -> Response {
    // A clone of the matched pattern is a reference count, not a copy of the text.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = method_label(req.method());
    let started = Instant::now();
    let response = next.run(req).await;
    METRICS.observe(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// The router of the metrics listener: `GET /metrics`.
pub fn router(db: ecert_core::store::Db) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let db = db.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                    METRICS.render(db.pool_use()),
                )
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> Metrics {
        Metrics {
            requests: Mutex::default(),
            limited: Default::default(),
            purged: Mutex::default(),
            rolled_up_days: AtomicU64::new(0),
            started_unix: 1.0,
        }
    }

    #[test]
    fn a_histogram_is_cumulative_and_ends_with_every_request() {
        let m = fresh();
        m.observe("/api/v1/check", "POST", 200, 0.0007);
        m.observe("/api/v1/check", "POST", 201, 0.03);
        m.observe("/api/v1/check", "POST", 429, 0.0001);
        m.observe("/api/v1/check", "POST", 200, 60.0);
        let pool = ecert_core::store::PoolUse {
            open: 3,
            idle: 2,
            max: 16,
            writer_queue: Some(1),
            wal_restarts_held: Some(4),
            wal_bound_bytes: Some(1 << 26),
            recalled: None,
            recall_rows: None,
        };
        let text = m.render(pool);
        let l = "route=\"/api/v1/check\",method=\"POST\",status=\"2xx\"";
        assert!(text.contains(&format!("ecert_http_requests_total{{{l}}} 3")), "{text}");
        assert!(text.contains(&format!("ecert_http_request_duration_seconds_bucket{{{l},le=\"0.001\"}} 1")), "{text}");
        assert!(text.contains(&format!("ecert_http_request_duration_seconds_bucket{{{l},le=\"0.05\"}} 2")), "{text}");
        assert!(text.contains(&format!("ecert_http_request_duration_seconds_bucket{{{l},le=\"10\"}} 2")), "{text}");
        assert!(text.contains(&format!("ecert_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} 3")), "{text}");
        assert!(text.contains("status=\"4xx\"} 1"), "{text}");
        assert!(text.contains("ecert_db_connections{state=\"idle\"} 2") && text.contains("ecert_db_writer_queue 1"));
        assert!(!text.contains("ecert_login_states"), "SQLite reads every login state from the database");
        assert!(text.contains("ecert_db_wal_restarts_held_total 4"));
        assert!(text.contains("ecert_db_wal_bound_bytes 67108864"), "{text}");
    }

    #[test]
    fn refusals_purges_and_roll_ups_are_counted_and_labels_escaped() {
        let m = fresh();
        m.limited(Class::SignIn);
        m.limited(Class::SignIn);
        m.purged(&[("login_request", 5), ("session", 0)]);
        m.purged(&[("login_request", 2)]);
        m.rolled_up(3);
        m.observe("/a\"b\\c", "GET", 404, 0.0);
        let text = m.render(ecert_core::store::PoolUse {
            open: 0,
            idle: 0,
            max: 1,
            writer_queue: None,
            wal_restarts_held: None,
            wal_bound_bytes: None,
            recalled: Some(9),
            recall_rows: Some(2),
        });
        assert!(text.contains("ecert_rate_limited_total{class=\"sign_in\"} 2"), "{text}");
        assert!(text.contains("ecert_rate_limited_total{class=\"sms\"} 0"), "{text}");
        assert!(text.contains("ecert_purged_rows_total{table=\"login_request\"} 7"), "{text}");
        assert!(text.contains("ecert_usage_days_rolled_up_total 3"), "{text}");
        assert!(text.contains("route=\"/a\\\"b\\\\c\""), "{text}");
        assert!(!text.contains("ecert_db_writer_queue"), "PostgreSQL has no local writer");
        assert!(!text.contains("ecert_db_wal_restarts_held"), "nor a WAL of its own");
        assert!(!text.contains("ecert_db_wal_bound"), "nor its bound");
        assert!(text.contains("ecert_login_states_recalled_total 9") && text.contains("ecert_login_states_kept 2"));
        // Every sample line is `name{labels} value` or `name value`, after its HELP and TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
