//! Issue 14 §3: anonymous requests have a cost ceiling. Every endpoint that anyone may call and
//! that writes a row, hashes a password or calls out — starting a login, OIDC authorization,
//! staff and counter sign-in, a wallet's claim or acceptance, the public check, SMS, the public
//! lists (annual reports, scenarios) — is
//! limited per client address and in all, per minute, and answers `429 Too Many Requests` with
//! `Retry-After` beyond that.
//!
//! Each app server counts in memory first: the totals (a ceiling on what one app server takes)
//! and the per-client windows. When app servers share a PostgreSQL database, a client's window
//! is counted there too ([`ecert_core::rate`], issue 17 §1), so that a client over its limit
//! through one app server is over it through all; a SQLite file is served by one process, whose
//! memory is the whole truth. Polling, which is a cheap read, is not limited. The limits scale
//! together (`--rate-limit-scale`; 0 turns them off).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ecert_core::rate::client_key;

/// What an anonymous request costs, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// A scan login's start, an OIDC authorization request or a dashboard's approval request
    /// (a row each).
    Login,
    /// A staff or counter sign-in (a password hash).
    SignIn,
    /// A wallet's look at a code or its claim or acceptance (a hash, the identity service).
    Wallet,
    /// The public check of a presented QR (a usage record).
    Check,
    /// An SMS code (a message to a phone).
    Sms,
    /// A public list read from the database: the annual reports (a search), the application
    /// scenarios.
    Search,
    /// An establishment applicant's paper (up to half a megabyte) or claim slip.
    Upload,
    /// An establishment applicant's sign-in code or its try: a class of its own, so that a
    /// crowd at the applicants' door does not close the holders' SMS or the staff's sign-in.
    Applicant,
}

impl Class {
    pub const ALL: [Class; 8] = [
        Class::Login,
        Class::SignIn,
        Class::Wallet,
        Class::Check,
        Class::Sms,
        Class::Search,
        Class::Upload,
        Class::Applicant,
    ];

    /// The class's name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Class::Login => "login",
            Class::SignIn => "sign_in",
            Class::Wallet => "wallet",
            Class::Check => "check",
            Class::Sms => "sms",
            Class::Search => "search",
            Class::Upload => "upload",
            Class::Applicant => "applicant",
        }
    }

    /// Requests a minute per client address and in all, before scaling.
    /// The totals sit well above what a province's legitimate traffic asks of one app server,
    /// so that a crowd that reaches them has cost something and the site still answers its own.
    fn limits(self) -> (u32, u32) {
        match self {
            Class::Login => (60, 30_000),
            Class::SignIn => (20, 6_000),
            Class::Wallet => (60, 30_000),
            Class::Check => (300, 120_000),
            Class::Sms => (30, 3_000),
            Class::Search => (120, 60_000),
            Class::Upload => (20, 2_000),
            Class::Applicant => (20, 2_000),
        }
    }

    /// The class of a request, if it is limited.
    pub fn of(method: &Method, path: &str) -> Option<Class> {
        // Whatever the method: axum answers HEAD with the GET handler, and a page's server
        // render calls the server function itself (`/check?t=…` checks, as `/api/v1/check` does).
        let _ = method;
        match path {
            // An approval request is a row too, asked by a session (a stolen one must not flood).
            "/api/dashboard_login_start"
            | "/api/oidc_login_start"
            | "/oidc/authorize"
            | "/api/dashboard_approval_ask" => Some(Class::Login),
            "/api/staff_sign_in" | "/api/counter_sign_in" => Some(Class::SignIn),
            "/api/v1/wallet/offer" | "/api/v1/wallet/accept" | "/api/v1/wallet/grant_offer" => Some(Class::Wallet),
            "/api/v1/check" | "/check" | "/api/v1/wallet/check_number" => Some(Class::Check),
            "/api/v1/wallet/sms_request" | "/api/v1/wallet/password_reset" | "/api/v1/wallet/redownload_sms" => {
                Some(Class::Sms)
            }
            // An establishment applicant's sign-in: a code sent, a code's try.
            "/api/applicant_code" | "/api/applicant_sign_in" => Some(Class::Applicant),
            // An establishment applicant's uploads (the largest bodies) and claim slips (a code).
            "/api/establishment_upload" | "/api/establishment_claim" => Some(Class::Upload),
            // The pages read their lists while they render, as the functions do.
            "/annual-reports" | "/api/annual_reports" | "/api/annual_report" | "/scenarios" | "/api/scenario_list" => {
                Some(Class::Search)
            }
            _ => None,
        }
    }
}

const WINDOW: Duration = Duration::from_secs(60);
/// Past this many client windows, the stale ones are dropped on the next hit.
const PRUNE_AT: usize = 20_000;

#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    count: u32,
}

/// Fixed one-minute windows per (class, client) and per class.
pub struct Limiter {
    scale: f64,
    /// The database the app servers share, where client windows are counted too.
    shared: Option<ecert_core::store::Db>,
    started: Instant,
    clients: Mutex<Clients>,
    totals: Mutex<HashMap<Class, Window>>,
}

/// The client windows, and the window they were last pruned in (at most once a window).
#[derive(Default)]
struct Clients {
    windows: HashMap<(Class, IpAddr), Window>,
    pruned: Option<Instant>,
}

impl Limiter {
    /// Limits scaled by `scale` (1.0 the defaults; 0 or less: no limits).
    pub fn new(scale: f64) -> Limiter {
        // Not a number: the defaults, never "no limits" by accident.
        let scale = if scale.is_nan() { 1.0 } else { scale };
        Limiter { scale, shared: None, started: Instant::now(), clients: Mutex::default(), totals: Mutex::default() }
    }

    /// The same limits, with client windows counted in `db` as well when it is PostgreSQL (the
    /// database of a cluster).
    pub fn shared_through(mut self, db: &ecert_core::store::Db) -> Limiter {
        if db.backend() == ecert_core::store::Backend::Postgres {
            self.shared = Some(db.clone());
        }
        self
    }

    /// The cluster's count of `client`'s requests of `class` (after this process's own has
    /// let the request through): `Err(seconds)` to wait when over the limit. A database that
    /// does not answer lets the request through: the request will meet the same outage.
    async fn hit_shared(&self, class: Class, client: Option<IpAddr>) -> Result<(), u64> {
        let (true, Some(db), Some(ip)) = (self.enabled(), &self.shared, client.map(client_key)) else { return Ok(()) };
        let now = ecert_core::Millis::now();
        let limit = self.scaled(class.limits().0);
        match ecert_core::rate::hit(db, class.name(), &ip.to_string(), now, limit).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                let ends = ecert_core::rate::window_of(now) + ecert_core::Millis::MINUTE;
                Err(u64::try_from((ends - now.0 + 999) / 1000).unwrap_or(1).max(1))
            }
            Err(error) => {
                tracing::warn!(%error, "the shared rate window is unreadable; counting in this process only");
                Ok(())
            }
        }
    }

    fn enabled(&self) -> bool {
        self.scale > 0.0
    }

    fn scaled(&self, n: u32) -> u32 {
        ((f64::from(n) * self.scale).ceil() as u32).max(1)
    }

    /// The start of the window `now` falls in.
    fn window_of(&self, now: Instant) -> Instant {
        let since = now.duration_since(self.started).as_secs() / WINDOW.as_secs() * WINDOW.as_secs();
        self.started + Duration::from_secs(since)
    }

    /// Counts a request of `class` from `client` at `now`; `Err(seconds)` to wait when over a
    /// limit (the request is not counted then).
    pub fn hit(&self, class: Class, client: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        if !self.enabled() {
            return Ok(());
        }
        let window = self.window_of(now);
        let retry = (window + WINDOW).saturating_duration_since(now).as_secs().max(1);
        let (per_client, total) = class.limits();
        let fresh = |w: &Window| if w.start == window { *w } else { Window { start: window, count: 0 } };
        let mut clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut totals = self.totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let all = totals.get(&class).map_or(Window { start: window, count: 0 }, fresh);
        if all.count >= self.scaled(total) {
            return Err(retry);
        }
        if let Some(ip) = client.map(client_key) {
            if clients.windows.len() >= PRUNE_AT && clients.pruned != Some(window) {
                clients.windows.retain(|_, w| w.start == window);
                clients.pruned = Some(window);
            }
            let mine = clients.windows.get(&(class, ip)).map_or(Window { start: window, count: 0 }, fresh);
            if mine.count >= self.scaled(per_client) {
                return Err(retry);
            }
            clients.windows.insert((class, ip), Window { count: mine.count + 1, ..mine });
        }
        totals.insert(class, Window { count: all.count + 1, ..all });
        Ok(())
    }
}

/// The middleware: a limited request over its limit gets 429 with `Retry-After`, in the
/// server functions' error shape for `/api/` paths.
pub async fn limit(State(limiter): State<std::sync::Arc<Limiter>>, req: Request, next: Next) -> Response {
    let Some(class) = Class::of(req.method(), req.uri().path()) else { return next.run(req).await };
    let client = req.extensions().get::<ecert_app::ClientIp>().map(|c| c.0);
    let counted = match limiter.hit(class, client, Instant::now()) {
        Ok(()) => limiter.hit_shared(class, client).await,
        over => over,
    };
    match counted {
        Ok(()) => next.run(req).await,
        Err(seconds) => {
            tracing::info!(?class, "rate limited");
            crate::metrics::METRICS.limited(class);
            let mut response = if req.uri().path().starts_with("/api/") {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"Domain":"RateLimited"}"#,
                )
                    .into_response()
            } else {
                (StatusCode::TOO_MANY_REQUESTS, "too many requests; try again later").into_response()
            };
            if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn a_client_over_its_limit_waits_for_the_next_minute_others_do_not() {
        let l = Limiter::new(1.0);
        let t0 = l.started + Duration::from_secs(10);
        for _ in 0..20 {
            l.hit(Class::SignIn, ip("203.0.113.7"), t0).unwrap();
        }
        assert_eq!(l.hit(Class::SignIn, ip("203.0.113.7"), t0), Err(50), "the 21st: wait for the window");
        l.hit(Class::SignIn, ip("203.0.113.8"), t0).unwrap();
        l.hit(Class::Login, ip("203.0.113.7"), t0).unwrap();
        l.hit(Class::SignIn, ip("203.0.113.7"), t0 + Duration::from_secs(50)).unwrap();
    }

    #[test]
    fn the_total_caps_many_clients() {
        let l = Limiter::new(0.002); // Sms: 1 per client, 6 in all
        let t0 = l.started;
        for i in 0..6 {
            l.hit(Class::Sms, ip(&format!("198.51.100.{i}")), t0).unwrap();
        }
        assert!(l.hit(Class::Sms, ip("198.51.100.99"), t0).is_err(), "a seventh address is over the total");
        assert!(l.hit(Class::Sms, None, t0).is_err(), "so is a request without an address");
    }

    #[test]
    fn scale_zero_turns_limits_off_and_classes_are_by_path() {
        let l = Limiter::new(0.0);
        for _ in 0..10_000 {
            l.hit(Class::Sms, ip("203.0.113.7"), l.started).unwrap();
        }
        assert_eq!(Class::of(&Method::POST, "/api/staff_sign_in"), Some(Class::SignIn));
        assert_eq!(Class::of(&Method::GET, "/oidc/authorize"), Some(Class::Login));
        assert_eq!(Class::of(&Method::HEAD, "/oidc/authorize"), Some(Class::Login), "HEAD runs the GET handler");
        assert_eq!(Class::of(&Method::POST, "/api/v1/check"), Some(Class::Check));
        assert_eq!(Class::of(&Method::GET, "/check"), Some(Class::Check), "the page checks while it renders");
        assert_eq!(Class::of(&Method::POST, "/api/dashboard_login_status"), None, "polling is not limited");
        assert_eq!(Class::of(&Method::GET, "/annual-reports"), Some(Class::Search), "the page searches as it renders");
        assert_eq!(Class::of(&Method::POST, "/api/annual_reports"), Some(Class::Search));
        assert_eq!(Class::of(&Method::POST, "/api/scenario_list"), Some(Class::Search));
        assert_eq!(Class::of(&Method::POST, "/api/applicant_code"), Some(Class::Applicant));
        assert_eq!(Class::of(&Method::POST, "/api/applicant_sign_in"), Some(Class::Applicant));
        assert_eq!(Class::of(&Method::POST, "/api/v1/wallet/sms_request"), Some(Class::Sms));
        assert!(Limiter::new(f64::NAN).enabled(), "a scale that is no number keeps the limits");
    }

    #[test]
    fn an_ipv6_prefix_is_one_client() {
        let l = Limiter::new(1.0);
        for i in 0..20u16 {
            l.hit(Class::SignIn, ip(&format!("2001:db8:1:2::{i:x}")), l.started).unwrap();
        }
        assert!(l.hit(Class::SignIn, ip("2001:db8:1:2:ffff::1"), l.started).is_err(), "the same /64");
        l.hit(Class::SignIn, ip("2001:db8:1:3::1"), l.started).unwrap();
    }

    #[test]
    fn client_windows_stay_bounded_under_a_flood_of_addresses() {
        let l = Limiter::new(1000.0);
        let t0 = l.started;
        for i in 0..(PRUNE_AT as u32) {
            let a = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            l.hit(Class::Check, Some(IpAddr::V4(a)), t0).unwrap();
        }
        let next = t0 + WINDOW;
        l.hit(Class::Check, ip("203.0.113.7"), next).unwrap();
        assert_eq!(l.clients.lock().unwrap().windows.len(), 1, "last minute's windows are dropped");
        // Once a window: a crowd of this minute's clients is not rescanned on every hit.
        assert_eq!(l.clients.lock().unwrap().pruned, Some(l.window_of(next)));
    }
}
