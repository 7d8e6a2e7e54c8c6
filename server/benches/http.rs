//! Issue 4's bars, over HTTP, beside a bare axum handler in the same run:
//!
//! * `check` — the public QR check, `POST /api/v1/check` (`{"token": …}`): one read of the live
//!   set and its certificate, holder and device, and one usage record (R12) written;
//! * `counter_verify` — a counter checks a numeric code, `POST /api/counter_verify` with its
//!   session cookie: the counter's rate-limit row, the live set, the single-use mark and the usage
//!   record, in one write transaction (R9, R10);
//! * `login_status` — the PC scan-login page's poll, `POST /api/dashboard_login_status` with its
//!   `ecert_login` cookie: one indexed read (R11); on PostgreSQL, none when the app server
//!   recalls the login as waiting (`ecert_core::store::recall`; the bench's waiting logins, one
//!   per institution up to 10,000, are polled in turn; the run prints how many login states the
//!   app servers answered from memory, the round trips' long polls included, and
//!   `ECERT_BENCH_RECALL=0` reads them all);
//! * `page` — the public verification page, `GET /verify`, as a browser asks for it (HTML,
//!   `Accept-Encoding: gzip, deflate, br, zstd`): server rendering and the answer's compression;
//! * `bare` — an axum handler that answers a constant JSON object, on its own listener;
//! * `scan_login` — a scan login's whole round trip (issue 17 §2): the PC starts a login and
//!   long-polls its state (`seen=…`), a phone scans and confirms through the wallet API (device
//!   signatures, the certificate password), and the PC's poll sees `confirmed`. Its latency is the
//!   round trip, and its rate logins per second (its WAL column: per login); beside it the time
//!   from the phone's confirmation sent (the password check, the commit, the wake-up) to the
//!   PC's poll answered, and the PC's status requests per login.
//!
//! ```sh
//! cargo bench -p ecert-server --bench http
//! ECERT_BENCH_INSTITUTIONS=100000 ECERT_BENCH_SECONDS=5 ECERT_BENCH_CONCURRENCY=16,64 cargo bench -p ecert-server --bench http
//! ```
//!
//! With `ECERT_BENCH_DATABASE_URL` (or `DATABASE_URL`) naming a PostgreSQL server, the bench
//! makes a fresh database `ecert_bench_http` there (dropping the last run's), seeds it with
//! multi-row `INSERT … SELECT FROM UNNEST(…)` batches, runs `VACUUM ANALYZE` and a `CHECKPOINT`,
//! and serves it from `ECERT_BENCH_APP_SERVERS` app servers (default 1), each the real router
//! with a pool of its own and its own `LISTEN`er, the load spread over them connection by
//! connection; the database is kept when `ECERT_BENCH_KEEP=1`.
//!
//! `ECERT_BENCH_APP_SERVERS=1,2` measures each count in turn over the one seeding (the larger
//! set includes the smaller's servers; every server is started at once, so a smaller count's
//! rows have the others idle beside them, each with its pool and its `LISTEN`er woken by every
//! login's `NOTIFY`), and `ECERT_BENCH_ROUNDS=3` repeats the whole measurement that many times
//! and ends with each row's median over the rounds: medians from one seeding, and counts
//! compared in alternation, so that the machine's drift falls on both. `ECERT_BENCH_PG_B`
//! (e.g. `wal_compression=lz4;max_wal_size=8GB`) measures each count twice per round, with the
//! server's own settings and with these (`ALTER SYSTEM`, reloaded, then a `CHECKPOINT` before
//! each), and resets them at the end. `ECERT_BENCH_EXPLAIN=1` sends one request of each path,
//! before the load, through an extra app server whose connections have `auto_explain` log
//! every plan (`EXPLAIN (ANALYZE, BUFFERS)`) to the PostgreSQL server's log.
//!
//! Each row also shows where the CPU went, in µs per request: this process's (`app µs`: the app
//! servers, sqlx and the load, which the bare row prices alone) and, with PostgreSQL on this
//! machine, its backends' serving the bench (`PG µs`) and its other processes' (`PG+ µs`: WAL
//! writer, checkpointer, autovacuum). `ECERT_BENCH_PATHS=counter,poll` runs only those paths (`check`, `counter`, `poll`,
//! `page`, `login`; the bare handler always runs), for a profile of one. `ECERT_BENCH_OPEN_LOOP=0.5` adds,
//! after each of `check`, `counter` and `poll`, a row of the same path at half the rate it just
//! reached, sent on a fixed schedule (an open loop, latency counted from when a request was due):
//! issue 17 §2's p99 at half load. `ECERT_BENCH_AFTER_SEED` is SQL run on PostgreSQL after
//! the seeding (an A/B of a schema change with one binary). `ECERT_BENCH_QR_SETS=10000` has the
//! QR check draw from the first that many sets only: a million institutions checked with
//! 10,000's mix of reads and writes (R12 records a set's first check in each minute).
//!
//! Otherwise the database is a fresh SQLite file (WAL) seeded with `ECERT_BENCH_INSTITUTIONS` institutions
//! (default 100,000), each with an active certificate, its first manager and a bound device, and
//! with live presented sets: one QR per institution, and as many numbers as the counter levels
//! may use (numbers work once). Seeding writes rows directly, in bulk; one set is also made
//! through the real `presentation::present` (signature, password) and checked first, so the
//! seeded rows are what the real path makes. The server is the real router (`http::router`) on
//! 127.0.0.1, in this process; the load comes from the same process over keep-alive HTTP/1.1
//! connections, one per task, so server and load share the machine's cores. A latency is one
//! request, sent to response body read. Without `--bench` (as `cargo test --benches` runs it) it
//! is a smoke run with tiny sizes. `ECERT_BENCH_SQLITE_PAGE_SIZE=1024` makes the file with
//! pages of that size (`--sqlite-page-size`), `ECERT_BENCH_SQLITE_WAL_LIMIT_MB=16` bounds its
//! WAL at that many MiB (`--sqlite-wal-limit-mb`), and `ECERT_BENCH_USAGE_RECORDS=1000000` writes
//! that many usage records of the past year after the seeding, so that a new record's index
//! entries land where a deployment's would after months of use, each on a leaf of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests stop on what they did not expect

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use ecert_core::certificate::{self, FirstManagerChoice, IssuePolicy, IssueRequest, PersonInput};
use ecert_core::code::CodeKind;
use ecert_core::device::action;
use ecert_core::holder::{self, Acceptance};
use ecert_core::identity::IdentityVerifier;
use ecert_core::party::{self, PartyInput};
use ecert_core::presentation::{self, PresentRequest};
use ecert_core::seal::Column;
use ecert_core::secret::{Random, Secret, token_hash};
use ecert_core::staff::StaffView;
use ecert_core::store::{Db, PoolOptions};
use ecert_core::{Millis, store::query};
use ecert_server::{Config, app_state, http::router};
use ecert_testing::Phone;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use tokio::net::TcpListener;

struct Settings {
    institutions: usize,
    seconds: f64,
    levels: Vec<usize>,
    smoke: bool,
    /// A PostgreSQL server's URL (any database on it): the bench makes its own there.
    postgres: Option<String>,
    /// The app-server counts to measure in turn (PostgreSQL; SQLite has one).
    app_servers: Vec<usize>,
    /// How many times the whole measurement runs over the one seeding.
    rounds: usize,
    /// `ECERT_BENCH_PG_B="wal_compression=lz4;max_wal_size=8GB"`: PostgreSQL settings measured
    /// against the server's own, in alternation (each app-server count without, then with).
    pg_b: Vec<(String, String)>,
    keep: bool,
    explain: bool,
    /// The paths to run (`ECERT_BENCH_PATHS=counter,poll`; all when unset): `check`, `counter`,
    /// `poll`, `page`, `login`. The bare handler always runs, as every row's yardstick.
    paths: Option<Vec<String>>,
    /// `ECERT_BENCH_OPEN_LOOP=0.5`: after each path's row, the same path again at that share of
    /// the rate it just reached, sent on a fixed schedule (open loop), for its latency at part
    /// load.
    open_loop: Option<f64>,
    /// `ECERT_BENCH_AFTER_SEED`: SQL run on PostgreSQL after the seeding, before `VACUUM
    /// ANALYZE` (an A/B of a schema change with one binary, e.g. the usage record's foreign
    /// keys put back as before migration 0036).
    after_seed: Option<String>,
    /// `ECERT_BENCH_QR_SETS=10000`: the QR check draws from the first that many seeded sets only,
    /// so that a million institutions can be checked with 10,000's mix (R12 records a set's first
    /// check of each minute: over fewer sets, more checks only read).
    qr_sets: Option<usize>,
    /// `ECERT_BENCH_RECALL=0`: each app server's listener on a pool of its own, so that its
    /// database's recall stays shut and every login state is read (an A/B of the recall with one
    /// binary; PostgreSQL).
    recall: bool,
    /// `ECERT_BENCH_SQLITE_PAGE_SIZE=1024`: the page size the SQLite database is made with
    /// (`--sqlite-page-size`; 4,096 by default, SQLite's own).
    sqlite_page_size: u32,
    /// `ECERT_BENCH_SQLITE_WAL_LIMIT_MB=16`: the WAL's bound in MiB (`--sqlite-wal-limit-mb`;
    /// 64 by default).
    sqlite_wal_limit_mb: u64,
    /// `ECERT_BENCH_USAGE_RECORDS=1000000`: usage records written after the seeding (SQLite),
    /// spread over the seeded certificates and the past year, so that the records' indexes are
    /// as large as a deployment's after months of use and a new record's entries land on
    /// leaves no other record of its commit touches (with an empty table they share a few).
    usage_records: usize,
}

impl Settings {
    fn from_env() -> Settings {
        let smoke = !std::env::args().any(|a| a == "--bench");
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let levels = var("ECERT_BENCH_CONCURRENCY")
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_else(|| if smoke { vec![2] } else { vec![16, 64] });
        Settings {
            institutions: var("ECERT_BENCH_INSTITUTIONS").and_then(|v| v.parse().ok()).unwrap_or(if smoke {
                200
            } else {
                100_000
            }),
            seconds: var("ECERT_BENCH_SECONDS").and_then(|v| v.parse().ok()).unwrap_or(if smoke { 0.3 } else { 5.0 }),
            levels,
            smoke,
            postgres: var("ECERT_BENCH_DATABASE_URL")
                .or_else(|| var("DATABASE_URL"))
                .filter(|u| u.starts_with("postgres:") || u.starts_with("postgresql:")),
            app_servers: var("ECERT_BENCH_APP_SERVERS").map_or_else(
                || vec![1],
                |v| match v.split(',').map(|n| n.trim().parse::<usize>()).collect::<Result<Vec<_>, _>>() {
                    Ok(counts)
                        if !counts.is_empty()
                            && counts.iter().all(|&n| (1..=16).contains(&n))
                            && counts.iter().enumerate().all(|(i, n)| !counts[..i].contains(n)) =>
                    {
                        counts
                    }
                    _ => panic!("ECERT_BENCH_APP_SERVERS: distinct counts from 1 to 16 such as 2 or 1,2, not {v}"),
                },
            ),
            rounds: var("ECERT_BENCH_ROUNDS").map_or(1, |v| match v.parse::<usize>() {
                Ok(n) if (1..=20).contains(&n) => n,
                _ => panic!("ECERT_BENCH_ROUNDS: a count from 1 to 20, not {v}"),
            }),
            keep: var("ECERT_BENCH_KEEP").is_some_and(|v| v == "1"),
            explain: var("ECERT_BENCH_EXPLAIN").is_some_and(|v| v == "1"),
            paths: var("ECERT_BENCH_PATHS").map(|v| v.split(',').map(|p| p.trim().to_owned()).collect()),
            open_loop: var("ECERT_BENCH_OPEN_LOOP").map(|v| match v.parse::<f64>() {
                Ok(share) if share > 0.0 && share <= 1.0 => share,
                _ => panic!("ECERT_BENCH_OPEN_LOOP: a share in (0, 1] such as 0.5, not {v}"),
            }),
            after_seed: var("ECERT_BENCH_AFTER_SEED"),
            recall: var("ECERT_BENCH_RECALL").is_none_or(|v| v != "0"),
            sqlite_page_size: var("ECERT_BENCH_SQLITE_PAGE_SIZE").map_or(4096, |v| match v.parse::<u32>() {
                Ok(n) if ecert_core::store::is_sqlite_page_size(n) => n,
                _ => panic!("ECERT_BENCH_SQLITE_PAGE_SIZE: a power of two from 512 to 65536, not {v}"),
            }),
            sqlite_wal_limit_mb: var("ECERT_BENCH_SQLITE_WAL_LIMIT_MB").map_or(64, |v| match v.parse::<u64>() {
                Ok(n) if (1..=16_384).contains(&n) => n,
                _ => panic!("ECERT_BENCH_SQLITE_WAL_LIMIT_MB: MiB from 1 to 16384, not {v}"),
            }),
            usage_records: var("ECERT_BENCH_USAGE_RECORDS").map_or(0, |v| match v.parse::<usize>() {
                Ok(n) => n,
                _ => panic!("ECERT_BENCH_USAGE_RECORDS: a count of records such as 1000000, not {v}"),
            }),
            qr_sets: var("ECERT_BENCH_QR_SETS").map(|v| match v.parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => panic!("ECERT_BENCH_QR_SETS: a count of sets such as 10000, not {v}"),
            }),
            pg_b: var("ECERT_BENCH_PG_B").map_or_else(Vec::new, |v| {
                let named = |c: char| c.is_ascii_lowercase() || c == '_';
                let valued = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
                v.split(';')
                    .map(|pair| match pair.trim().split_once('=') {
                        Some((name, value))
                            if !name.is_empty()
                                && name.chars().all(named)
                                && !value.is_empty()
                                && value.chars().all(valued) =>
                        {
                            (name.to_owned(), value.to_owned())
                        }
                        _ => panic!(
                            "ECERT_BENCH_PG_B: NAME=VALUE pairs apart by ';' such as wal_compression=lz4, not {v}"
                        ),
                    })
                    .collect()
            }),
        }
    }

    fn runs(&self, path: &str) -> bool {
        self.paths.as_ref().is_none_or(|paths| paths.iter().any(|p| p == path))
    }
}

fn main() {
    let settings = Settings::from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => panic!("cannot start a tokio runtime: {e}"),
    };
    runtime.block_on(run(settings));
}

async fn run(settings: Settings) {
    let dir = std::env::temp_dir().join(format!("ecert-bench-{}", Random::os().id()));
    let url = match &settings.postgres {
        Some(server) => fresh_postgres(server).await,
        None => format!("sqlite:{}", dir.join("bench.db").display()),
    };
    let options = PoolOptions {
        max_connections: 16,
        sqlite_page_size: settings.sqlite_page_size,
        wal_bound_bytes: settings.sqlite_wal_limit_mb << 20,
        ..PoolOptions::default()
    };
    let open = || async {
        match Db::open(&url, &options, ecert_testing::test_vault()).await {
            Ok(db) => db,
            Err(e) => panic!("cannot open the bench database: {e}"),
        }
    };
    let db = open().await;
    let t = Instant::now();
    let max_level = settings.levels.iter().copied().max().unwrap_or(1);
    let counts = match settings.postgres {
        Some(_) => settings.app_servers.clone(),
        None => vec![1],
    };
    let variants = match (&settings.postgres, settings.pg_b.is_empty()) {
        (Some(_), false) => vec![Vec::new(), settings.pg_b.clone()],
        _ => vec![Vec::new()],
    };
    let setups: Vec<Setup> =
        counts.iter().flat_map(|&n| variants.iter().map(move |v| Setup { servers: n, settings: v.clone() })).collect();
    // Enough numbers for the counter levels at up to 25,000 checks/s, in every round and count.
    let numbers = if settings.smoke {
        2_000 * settings.rounds * setups.len()
    } else {
        (25_000.0 * settings.seconds) as usize * settings.levels.len() * settings.rounds * setups.len()
    };
    let phones = if settings.smoke { 2 } else { max_level.min(ROUND_TRIP_PHONES) };
    let world = seed(&db, settings.institutions, numbers, max_level, phones).await;
    println!(
        "{}: seeded {} institutions, {} QR sets, {} numbers, {} counters, {} login requests, {} phones in {:.1} s",
        db.backend().name(),
        settings.institutions,
        world.qr_tokens.len(),
        world.numbers.len(),
        world.counter_cookies.len(),
        world.browsers.len(),
        world.phones.len(),
        t.elapsed().as_secs_f64()
    );
    if settings.usage_records > 0 {
        let t = Instant::now();
        let written = seed_usage(&db, settings.usage_records).await;
        let page_size: i64 = db.fetch_one(query("PRAGMA page_size")).await.unwrap_or_else(|e| panic!("{e}"));
        println!(
            "{written} usage records over the past year in {:.1} s (pages of {page_size} bytes)",
            t.elapsed().as_secs_f64()
        );
    }
    if let Db::Postgres(pool, ..) = &db {
        if let Some(sql) = &settings.after_seed {
            sqlx::raw_sql(sql).execute(pool).await.unwrap_or_else(|e| panic!("ECERT_BENCH_AFTER_SEED: {e}"));
            println!("after the seeding: {sql}");
        }
        let t = Instant::now();
        sqlx::query("VACUUM ANALYZE").execute(pool).await.unwrap_or_else(|e| panic!("vacuum: {e}"));
        println!("VACUUM ANALYZE in {:.1} s", t.elapsed().as_secs_f64());
        // The seeding wrote gigabytes at a million institutions: without this the server's own
        // checkpoint of them runs through the first rows and doubles their p99 in one run of
        // two (docs/performance.md, 2026-12-04). A role that may not checkpoint measures as before.
        let t = Instant::now();
        match sqlx::query("CHECKPOINT").execute(pool).await {
            Ok(_) => println!("CHECKPOINT in {:.1} s", t.elapsed().as_secs_f64()),
            Err(e) => println!("no CHECKPOINT after the seeding ({e}): the first rows share the disk with it"),
        }
    }

    // Limits off: the bench measures the paths, not the ceiling on one client.
    let config = match Config::load_from([
        "ecert-server",
        "--site-root",
        "/nonexistent",
        "--rate-limit-scale",
        "0",
        "--public-url",
        PUBLIC_URL,
    ]) {
        Ok(c) => c,
        Err(e) => panic!("config: {e}"),
    };
    // Each app server has a pool of its own and listens for the logins moved through the others,
    // as `ecert-server` does.
    let servers = counts.iter().copied().max().unwrap_or(1);
    let mut addrs = Vec::new();
    let mut dbs = vec![db.clone()];
    let mut listeners_apart = Vec::new();
    for k in 0..servers {
        if k > 0 {
            dbs.push(open().await);
        }
        let listening = if settings.recall {
            dbs[k].clone()
        } else {
            let own = open().await;
            listeners_apart.push(own.clone());
            own
        };
        tokio::spawn(ecert_core::login::changes::listen(listening));
        let app = router(app_state(&config, dbs[k].clone(), Random::os()).unwrap_or_else(|e| panic!("state: {e}")));
        addrs.push(serve(app).await);
    }
    let ours: Arc<[std::net::SocketAddr]> = addrs.into();
    let labels: Vec<String> = setups.iter().map(Setup::label).collect();
    println!("{} app server(s); {} round(s) of: {}", ours.len(), settings.rounds, labels.join(" | "));
    let bare: Arc<[std::net::SocketAddr]> =
        Arc::new([
            serve(Router::new().route("/bare", post(|| async { axum::Json(serde_json::json!({"ok": true})) }))).await
        ]);

    // The real path makes a set that the server then checks.
    let real = world.real_token.clone();
    let (status, body) = request(ours[0], &check_request(&real)).await;
    assert_eq!(status, 200, "the real presented set checks: {body}");

    // PostgreSQL: one request of each path through an app server whose connections log every
    // statement's plan, `EXPLAIN (ANALYZE, BUFFERS)` as `auto_explain` writes it to the server's log.
    if settings.explain
        && let Db::Postgres(pool, ..) = &db
    {
        let set = |name: &str, value: &str| format!("ALTER DATABASE {BENCH_DB} SET {name} = {value}");
        for sql in [
            set("session_preload_libraries", "'auto_explain'"),
            set("auto_explain.log_min_duration", "0"),
            set("auto_explain.log_analyze", "on"),
            set("auto_explain.log_buffers", "on"),
        ] {
            sqlx::query(&sql).execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let traced = open().await;
        let addr =
            serve(router(app_state(&config, traced.clone(), Random::os()).unwrap_or_else(|e| panic!("{e}")))).await;
        let number = world.numbers.last().cloned().unwrap_or_default();
        let cookie = format!("ecert_login={}", world.browsers[0]);
        for req in [
            check_request(&world.qr_tokens[1]),
            post_form("/api/counter_verify", &format!("code={number}"), Some(&world.counter_cookies[0])),
            post_form("/api/dashboard_login_status", "", Some(&cookie)),
        ] {
            let (status, body) = request(addr, &req).await;
            assert_eq!(status, 200, "{body}");
        }
        let (mut pc, mut phone, mut polls) = (connect(addr).await, connect(addr).await, 0);
        one_login(&mut pc, &mut phone, &world.phones[0], &mut polls).await.unwrap_or_else(|e| panic!("{e}"));
        traced.close().await;
        let reset = format!("ALTER DATABASE {BENCH_DB} RESET ALL");
        sqlx::query(&reset).execute(pool).await.unwrap_or_else(|e| panic!("{reset}: {e}"));
        println!("the plans of one request of each path are in the PostgreSQL server's log (auto_explain)");
    }

    let mut rows: Vec<Row> = Vec::new();
    let mut applied = None;
    for (round, setup, &c) in (1..=settings.rounds)
        .flat_map(|r| (0..setups.len()).map(move |s| (r, s)))
        .flat_map(|(r, s)| settings.levels.iter().map(move |c| (r, s, c)))
    {
        if let Db::Postgres(pool, ..) = &db
            && !settings.pg_b.is_empty()
            && applied != Some(setup)
        {
            apply_settings(pool, &settings.pg_b, &setups[setup].settings).await;
            applied = Some(setup);
        }
        let n = setups[setup].servers;
        let meter = Meter::start(&db).await;
        let mut bare_sample = load(&bare, c, settings.seconds, None, |_| Some(post_json("/bare", "{}", None))).await;
        meter.finish(&db, &mut bare_sample).await;
        let base = bare_sample.per_second();
        rows.push(Row { round, setup, name: "bare".to_owned(), c, tasks: c, sample: bare_sample, base, seen: None });
        let at = Level {
            db: &db,
            addrs: &ours[..n],
            round,
            setup,
            c,
            seconds: settings.seconds,
            open_loop: settings.open_loop,
            base,
        };
        if settings.runs("check") {
            let tokens = Arc::clone(&world.qr_tokens);
            let sets = settings.qr_sets.map_or(tokens.len(), |n| n.min(tokens.len()));
            let make = move |i: usize| Some(check_request(&tokens[i % sets]));
            rows.extend(at.measure("check (QR)", make).await);
        }
        if settings.runs("counter") {
            let (numbers, next) = (Arc::clone(&world.numbers), Arc::clone(&world.next_number));
            let cookies = Arc::clone(&world.counter_cookies);
            let make = move |i: usize| {
                let number = numbers.get(next.fetch_add(1, Ordering::Relaxed))?;
                let cookie = &cookies[i % cookies.len()];
                Some(post_form("/api/counter_verify", &format!("code={number}"), Some(cookie)))
            };
            rows.extend(at.measure("counter_verify (number)", make).await);
        }
        if settings.runs("poll") {
            let browsers = Arc::clone(&world.browsers);
            let make = move |i: usize| {
                let cookie = format!("ecert_login={}", browsers[i % browsers.len()]);
                Some(post_form("/api/dashboard_login_status", "", Some(&cookie)))
            };
            rows.extend(at.measure("login_status (poll)", make).await);
        }
        if settings.runs("page") {
            rows.extend(at.measure("page /verify (br)", |_| Some(page_request("/verify"))).await);
        }
        if settings.runs("login") {
            let meter = Meter::start(&db).await;
            let tasks = c.min(world.phones.len());
            let Trips { mut total, seen } = round_trips(&ours[..n], &world.phones, tasks, settings.seconds).await;
            meter.finish(&db, &mut total).await;
            let name = "scan_login (logins)".to_owned();
            rows.push(Row { round, setup, name, c, tasks, sample: total, base, seen: Some(seen) });
        }
    }

    let mut groups: Vec<(usize, usize)> = rows.iter().map(|r| (r.round, r.setup)).collect();
    groups.dedup();
    for (round, setup) in groups {
        println!("\nround {round} of {}, {}", settings.rounds, labels[setup]);
        let written = if matches!(db, Db::Postgres(..)) { "WAL B/req" } else { "disk B/req" };
        print_rows(rows.iter().filter(|r| (r.round, r.setup) == (round, setup)), written);
        print_logins(rows.iter().filter(|r| (r.round, r.setup) == (round, setup)));
    }
    if settings.rounds > 1 {
        print_medians(&rows, &labels, settings.rounds);
    }
    if let Db::Postgres(pool, ..) = &db
        && !settings.pg_b.is_empty()
    {
        apply_settings(pool, &settings.pg_b, &[]).await;
    }
    let used: i64 =
        db.fetch_one(query("SELECT COUNT(*) FROM usage_record")).await.unwrap_or_else(|e| panic!("count: {e}"));
    println!("\nusage records written: {used}");
    if db.recall().is_some() {
        // The poll rows' polls and the round trips' long polls together: the recall serves both.
        let polls: usize =
            rows.iter().filter(|r| r.name.starts_with("login_status")).map(|r| r.sample.latencies.len()).sum();
        let recalled: u64 = dbs.iter().filter_map(|d| d.recall().map(|r| r.hits())).sum();
        println!(
            "login states answered from the app servers' memory: {recalled}, the round trips' included \
             (the poll rows sent {polls} polls)"
        );
    }
    for d in dbs.iter().chain(&listeners_apart) {
        d.close().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(server) = settings.postgres.as_deref().filter(|_| !settings.keep) {
        drop_postgres(server).await;
    }
    if settings.smoke {
        assert!(rows.iter().all(|r| r.sample.errors == 0 && !r.sample.latencies.is_empty()), "smoke run had errors");
    }
}

/// The bench's own database on the PostgreSQL server of `server`'s URL, made afresh.
async fn fresh_postgres(server: &str) -> String {
    drop_postgres(server).await;
    let mut admin = admin_connection(server).await;
    sqlx::query(&format!("CREATE DATABASE {BENCH_DB}"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("create {BENCH_DB}: {e}"));
    let (base, params) = server.split_once('?').map_or((server, ""), |(b, p)| (b, p));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    if params.is_empty() { format!("{base}/{BENCH_DB}") } else { format!("{base}/{BENCH_DB}?{params}") }
}

const BENCH_DB: &str = "ecert_bench_http";

async fn admin_connection(server: &str) -> sqlx::PgConnection {
    use sqlx::Connection as _;
    sqlx::PgConnection::connect(server).await.unwrap_or_else(|e| panic!("cannot connect to PostgreSQL: {e}"))
}

async fn drop_postgres(server: &str) {
    let mut admin = admin_connection(server).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("drop {BENCH_DB}: {e}"));
}

// ----------------------------------------------------------------------------------------------
// Seeding

struct World {
    qr_tokens: Arc<Vec<String>>,
    numbers: Arc<Vec<String>>,
    next_number: Arc<AtomicUsize>,
    counter_cookies: Arc<Vec<String>>,
    browsers: Arc<Vec<String>>,
    real_token: String,
    phones: Arc<Vec<BenchPhone>>,
}

/// A first manager's phone, claimed the real way, for the scan-login round trip.
struct BenchPhone {
    phone: Phone,
    device_id: String,
}

/// The most phones (and so concurrent round trips): each claim and each confirmation hashes a
/// password, on purpose slowly.
const ROUND_TRIP_PHONES: usize = 16;

async fn seed(db: &Db, institutions: usize, numbers: usize, counters: usize, phones: usize) -> World {
    let random = Random::os();
    let now = Millis::now();
    let (staff, _) = ecert_testing::staff(db, now).await;
    let (qr_tokens, number_list) = match db {
        Db::Postgres(pool, ..) => seed_bulk_postgres(pool, db, &staff, institutions, numbers, now, &random).await,
        Db::Sqlite(..) => seed_rows(db, &staff, institutions, numbers, now, &random).await,
    };

    // Counters of one relying party, each signed in (one per load task).
    let input = PartyInput { name: "压测银行".into(), redirect_uris: String::new() };
    let shown = party::register(db, &staff, &input, now, &random).await.unwrap_or_else(|e| panic!("{e:?}"));
    let mut counter_cookies = Vec::new();
    for k in 0..counters {
        let login = party::add_counter(db, &staff, &shown.login, &format!("窗口{k}"), now, &random)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let session = party::sign_in(db, &login.login, Secret::new(login.secret), now, &random)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        counter_cookies.push(format!("ecert_counter={}", session.token.expose()));
    }

    // Login requests for the poll (waiting, as a PC page waits for a scan).
    let mut browsers = Vec::new();
    for _ in 0..institutions.min(10_000) {
        let started = ecert_core::login::start(
            db,
            ecert_core::login::DASHBOARD,
            &ecert_core::login::Requester::default(),
            now,
            &random,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
        browsers.push(started.browser.expose().to_owned());
    }

    // Phones for the round trip: first managers who claimed their certificates the real way.
    let mut bench_phones = Vec::new();
    for k in 0..phones {
        let seq = u16::try_from(k).unwrap_or(0);
        let m = ecert_testing::first_manager(db, &staff, &format!("扫码压测研究院{k}"), "张三", seq, now).await;
        bench_phones.push(BenchPhone { phone: m.phone, device_id: m.binding.device_id });
    }

    World {
        real_token: real_set(db, &staff, now, &random).await,
        qr_tokens: Arc::new(qr_tokens),
        numbers: Arc::new(number_list),
        next_number: Arc::new(AtomicUsize::new(0)),
        counter_cookies: Arc::new(counter_cookies),
        browsers: Arc::new(browsers),
        phones: Arc::new(bench_phones),
    }
}

/// Seeds `institutions` rows of each kind one statement at a time, in one transaction (SQLite,
/// where that is fast); answers the live QR tokens and numbers.
async fn seed_rows(
    db: &Db,
    staff: &StaffView,
    institutions: usize,
    numbers: usize,
    now: Millis,
    random: &Random,
) -> (Vec<String>, Vec<String>) {
    let live_until = now.plus_minutes(60).0;
    let mut qr_tokens = Vec::with_capacity(institutions);
    let mut number_list = Vec::with_capacity(numbers);
    let mut tx = db.begin_write().await.unwrap_or_else(|e| panic!("{e}"));
    for i in 0..institutions {
        let (inst, cert, holder, device) = (random.id(), random.id(), random.id(), random.id());
        // R16: personal fields sealed, as the real path writes them.
        let vault = db.vault();
        let (id_number, mobile) = ("110105199001011234", "13812345678");
        let exec = |sql: &'static str, args: Vec<String>| (sql, args);
        let rows = [
            exec(
                "INSERT INTO institution (id, authority_id, credit_code, name, address, legal_rep_name, legal_rep_id_number, legal_rep_mobile, created_at) \
                 VALUES ($1, $2, $3, $4, '北京市海淀区', '张三', $5, $6, 0)",
                vec![
                    inst.clone(),
                    staff.authority_id.clone(),
                    format!("12BENCH{i:011}"),
                    format!("压测事业单位{i}"),
                    vault.seal(Column::RepIdNumber.at(&inst), id_number),
                    vault.seal(Column::RepMobile.at(&inst), mobile),
                ],
            ),
            exec(
                "INSERT INTO certificate (id, institution_id, serial, status, issued_at, issued_by, authority_id, expires_at) VALUES ($1, $2, $3, 'active', 0, $4, $5, 4102444800000)",
                vec![cert.clone(), inst, format!("BENCH{i:012}"), staff.id.clone(), staff.authority_id.clone()],
            ),
            exec(
                "INSERT INTO holder (id, certificate_id, role, name, id_number, mobile, is_legal_rep, status, created_at) \
                 VALUES ($1, $2, 'first_manager', '张三', $3, $4, TRUE, 'active', 0)",
                vec![
                    holder.clone(),
                    cert.clone(),
                    vault.seal(Column::HolderIdNumber.at(&holder), id_number),
                    vault.seal(Column::HolderMobile.at(&holder), mobile),
                ],
            ),
            exec(
                "INSERT INTO device (id, holder_id, public_key, password_hash, status, created_at) VALUES ($1, $2, 'bench', 'bench', 'active', 0)",
                vec![device.clone(), holder.clone()],
            ),
        ];
        for (sql, args) in rows {
            tx.execute(args.into_iter().fold(query(sql), |q, a| q.bind(a)))
                .await
                .unwrap_or_else(|e| panic!("seed: {e}"));
        }
        // Each institution's first manager has one live set; some sets carry extra numbers.
        let per = numbers / institutions + usize::from(i < numbers % institutions);
        for k in 0..per.max(1) {
            let token = random.token().expose().to_owned();
            let number = random.digits(presentation::NUMBER_DIGITS).expose().to_owned();
            tx.execute(query("INSERT INTO presentation (id, certificate_id, holder_id, device_id, grant_id, qr_hash, number_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, NULL, $5, $6, $7, $8)").bind(random.id()).bind(&cert).bind(&holder).bind(&device).bind(token_hash(&token)).bind(token_hash(&number)).bind(now.0).bind(live_until)).await
            .unwrap_or_else(|e| panic!("seed: {e}"));
            if k == 0 {
                qr_tokens.push(token);
            }
            if k < per {
                number_list.push(number);
            }
        }
    }
    tx.commit().await.unwrap_or_else(|e| panic!("seed: {e}"));
    (qr_tokens, number_list)
}

/// `n` usage records of counter checks, each of a seeded certificate drawn at random (with its
/// first manager and authority), at instants spread evenly over the past year, in id order as
/// the app writes them (`Random::ordered_id`); then the WAL copied back and emptied, so that
/// the rows measure their own writes. SQLite only (`ECERT_BENCH_USAGE_RECORDS`).
async fn seed_usage(db: &Db, n: usize) -> u64 {
    let Db::Sqlite(..) = db else { panic!("ECERT_BENCH_USAGE_RECORDS: SQLite only") };
    let now = Millis::now().0;
    let year = 365 * Millis::DAY;
    let certificates: i64 =
        db.fetch_one(query("SELECT MAX(rowid) FROM certificate")).await.unwrap_or_else(|e| panic!("{e}"));
    let mut written = 0;
    let step = 100_000;
    let mut tx = db.begin_write().await.unwrap_or_else(|e| panic!("{e}"));
    for from in (0..n).step_by(step) {
        let to = (from + step).min(n);
        let sql = "INSERT INTO usage_record (id, certificate_id, holder_id, kind, system, result, at, authority_id) \
             WITH RECURSIVE k(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < $2), \
             d(i, r) AS (SELECT i, 1 + abs(random()) % $3 FROM k) \
             SELECT printf('%012x', $4 + d.i * $5 / $6) || hex(randomblob(8)), c.id, h.id, 'present', '压测银行 · 窗口0', \
             'verified', $4 + d.i * $5 / $6, c.authority_id \
             FROM d JOIN certificate c ON c.rowid = d.r JOIN holder h ON h.certificate_id = c.id AND h.role = 'first_manager' \
             ORDER BY d.i";
        let int = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        let q = query(sql).bind(int(from)).bind(int(to)).bind(certificates).bind(now - year).bind(year).bind(int(n));
        written += tx.execute(q).await.unwrap_or_else(|e| panic!("usage records: {e}"));
    }
    tx.commit().await.unwrap_or_else(|e| panic!("usage records: {e}"));
    db.execute(query("PRAGMA wal_checkpoint(TRUNCATE)")).await.unwrap_or_else(|e| panic!("checkpoint: {e}"));
    written
}

fn fail<T>(e: sqlx::Error) -> T {
    panic!("seed: {e}")
}

/// The columns of one batch of [`seed_bulk_postgres`].
#[derive(Default)]
struct Batch {
    institution: Vec<String>,
    credit_code: Vec<String>,
    name: Vec<String>,
    rep_id_number: Vec<String>,
    rep_mobile: Vec<String>,
    certificate: Vec<String>,
    serial: Vec<String>,
    holder: Vec<String>,
    holder_id_number: Vec<String>,
    holder_mobile: Vec<String>,
    device: Vec<String>,
    // One row per presented set.
    set: Vec<String>,
    set_certificate: Vec<String>,
    set_holder: Vec<String>,
    set_device: Vec<String>,
    qr_hash: Vec<String>,
    number_hash: Vec<String>,
}

/// The same rows as [`seed_rows`], 10,000 institutions to a multi-row `INSERT … SELECT FROM
/// UNNEST(…)` per table and a transaction per batch (PostgreSQL).
async fn seed_bulk_postgres(
    pool: &sqlx::PgPool,
    db: &Db,
    staff: &StaffView,
    institutions: usize,
    numbers: usize,
    now: Millis,
    random: &Random,
) -> (Vec<String>, Vec<String>) {
    const BATCH: usize = 10_000;
    let live_until = now.plus_minutes(60).0;
    let vault = db.vault();
    let (id_number, mobile) = ("110105199001011234", "13812345678");
    let mut qr_tokens = Vec::with_capacity(institutions);
    let mut number_list = Vec::with_capacity(numbers);
    let mut first = 0;
    while first < institutions {
        let end = (first + BATCH).min(institutions);
        let mut b = Batch::default();
        for i in first..end {
            let (inst, cert, holder, device) = (random.id(), random.id(), random.id(), random.id());
            // R16: personal fields sealed, as the real path writes them.
            b.rep_id_number.push(vault.seal(Column::RepIdNumber.at(&inst), id_number));
            b.rep_mobile.push(vault.seal(Column::RepMobile.at(&inst), mobile));
            b.holder_id_number.push(vault.seal(Column::HolderIdNumber.at(&holder), id_number));
            b.holder_mobile.push(vault.seal(Column::HolderMobile.at(&holder), mobile));
            b.credit_code.push(format!("12BENCH{i:011}"));
            b.name.push(format!("压测事业单位{i}"));
            b.serial.push(format!("BENCH{i:012}"));
            // Each institution's first manager has one live set; some sets carry extra numbers.
            let per = numbers / institutions + usize::from(i < numbers % institutions);
            for k in 0..per.max(1) {
                let token = random.token().expose().to_owned();
                let number = random.digits(presentation::NUMBER_DIGITS).expose().to_owned();
                b.set.push(random.id());
                b.set_certificate.push(cert.clone());
                b.set_holder.push(holder.clone());
                b.set_device.push(device.clone());
                b.qr_hash.push(token_hash(&token));
                b.number_hash.push(token_hash(&number));
                if k == 0 {
                    qr_tokens.push(token);
                }
                if k < per {
                    number_list.push(number);
                }
            }
            b.institution.push(inst);
            b.certificate.push(cert);
            b.holder.push(holder);
            b.device.push(device);
        }
        let mut tx = pool.begin().await.unwrap_or_else(fail);
        sqlx::query(
            "INSERT INTO institution (id, authority_id, credit_code, name, address, legal_rep_name, \
             legal_rep_id_number, legal_rep_mobile, created_at) \
             SELECT t.id, $1, t.cc, t.name, '北京市海淀区', '张三', t.idn, t.mob, 0 \
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(id, cc, name, idn, mob)",
        )
        .bind(&staff.authority_id)
        .bind(&b.institution)
        .bind(&b.credit_code)
        .bind(&b.name)
        .bind(&b.rep_id_number)
        .bind(&b.rep_mobile)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(fail);
        sqlx::query(
            "INSERT INTO certificate (id, institution_id, serial, status, issued_at, issued_by, authority_id, \
             expires_at) SELECT t.id, t.inst, t.serial, 'active', 0, $1, $2, 4102444800000 \
             FROM UNNEST($3::text[], $4::text[], $5::text[]) AS t(id, inst, serial)",
        )
        .bind(&staff.id)
        .bind(&staff.authority_id)
        .bind(&b.certificate)
        .bind(&b.institution)
        .bind(&b.serial)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(fail);
        sqlx::query(
            "INSERT INTO holder (id, certificate_id, role, name, id_number, mobile, is_legal_rep, status, created_at) \
             SELECT t.id, t.cert, 'first_manager', '张三', t.idn, t.mob, TRUE, 'active', 0 \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS t(id, cert, idn, mob)",
        )
        .bind(&b.holder)
        .bind(&b.certificate)
        .bind(&b.holder_id_number)
        .bind(&b.holder_mobile)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(fail);
        sqlx::query(
            "INSERT INTO device (id, holder_id, public_key, password_hash, status, created_at) \
             SELECT t.id, t.holder, 'bench', 'bench', 'active', 0 FROM UNNEST($1::text[], $2::text[]) AS t(id, holder)",
        )
        .bind(&b.device)
        .bind(&b.holder)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(fail);
        sqlx::query(
            "INSERT INTO presentation (id, certificate_id, holder_id, device_id, grant_id, qr_hash, number_hash, \
             created_at, expires_at) SELECT t.id, t.cert, t.holder, t.device, NULL, t.qr, t.num, $1, $2 \
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) \
             AS t(id, cert, holder, device, qr, num)",
        )
        .bind(now.0)
        .bind(live_until)
        .bind(&b.set)
        .bind(&b.set_certificate)
        .bind(&b.set_holder)
        .bind(&b.set_device)
        .bind(&b.qr_hash)
        .bind(&b.number_hash)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(fail);
        tx.commit().await.unwrap_or_else(fail);
        first = end;
    }
    (qr_tokens, number_list)
}

/// A set made the real way: issue, claim on a device key, present with a signature and password.
async fn real_set(db: &Db, staff: &StaffView, now: Millis, random: &Random) -> String {
    let request = IssueRequest {
        credit_code: with_check_char("12110105MB0000000"),
        name: "真实路径事业单位".into(),
        address: "北京市海淀区".into(),
        legal_rep: PersonInput { name: "张三".into(), id_number: resident_id(), mobile: "13812345678".into() },
        first_manager: FirstManagerChoice::LegalRepresentative,
        checklist: ecert_core::certificate::Checklist::ALL,
    };
    let (_, claim) =
        certificate::issue(db, staff, &request, &IdentityVerifier::Local, IssuePolicy::default(), now, random)
            .await
            .unwrap_or_else(|e| panic!("issue: {e:?}"));
    let phone = Phone::new();
    let code = claim.code.expose();
    let acceptance = Acceptance {
        name: "张三".into(),
        id_number: resident_id(),
        password: Secret::new("bench password 1"),
        public_key: phone.public_key.clone(),
        signature: phone.sign(action::CLAIM, code),
    };
    let binding = holder::accept(db, CodeKind::Claim, code, &acceptance, now, random)
        .await
        .unwrap_or_else(|e| panic!("claim: {e:?}"));
    let signed_at = Millis::now();
    let request = PresentRequest {
        device_id: &binding.device_id,
        signed_at: signed_at.0,
        signature: &phone.sign_timed(action::PRESENT, &binding.device_id, signed_at.0),
        password: Secret::new("bench password 1"),
        grant_id: None,
    };
    let set = presentation::present(db, request, signed_at, random).await.unwrap_or_else(|e| panic!("present: {e:?}"));
    set.qr_token.expose().to_owned()
}

fn resident_id() -> String {
    let prefix = "11010519900101123";
    format!("{prefix}{}", ecert_core::validate::resident_id_check_char(prefix).unwrap_or('0'))
}

fn with_check_char(prefix17: &str) -> String {
    format!("{prefix17}{}", ecert_core::validate::credit_code_check_char(prefix17).unwrap_or('0'))
}

// ----------------------------------------------------------------------------------------------
// Load

async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        // The server's own listener (`TCP_NODELAY`), for the bare handler as for the app.
        let _ = axum::serve(ecert_server::tcp::NoDelayListener::new(listener), app).await;
    });
    addr
}

type Req = hyper::Request<Full<Bytes>>;

fn post_json(path: &str, body: &str, cookie: Option<&str>) -> Req {
    build(path, "application/json", body, cookie)
}

fn post_form(path: &str, body: &str, cookie: Option<&str>) -> Req {
    build(path, "application/x-www-form-urlencoded", body, cookie)
}

/// The public address the bench's app servers are configured with: their pages' `Origin`.
const PUBLIC_URL: &str = "http://127.0.0.1:3000";

/// A POST as a browser on one of our pages sends it: with its `Origin` (writes with a cookie
/// and no `Origin` are refused as cross-site).
fn build(path: &str, content_type: &str, body: &str, cookie: Option<&str>) -> Req {
    let mut b = hyper::Request::post(path)
        .header("host", "127.0.0.1")
        .header("origin", PUBLIC_URL)
        .header("content-type", content_type)
        .header("accept", "application/json");
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Full::new(Bytes::from(body.to_owned()))).unwrap_or_else(|e| panic!("{e}"))
}

/// A page as a browser asks for it, compression accepted.
fn page_request(path: &str) -> Req {
    hyper::Request::get(path)
        .header("host", "127.0.0.1")
        .header("accept", "text/html")
        .header("accept-encoding", "gzip, deflate, br, zstd")
        .body(Full::new(Bytes::new()))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn check_request(token: &str) -> Req {
    post_json("/api/v1/check", &serde_json::json!({ "token": token }).to_string(), None)
}

async fn connect(addr: std::net::SocketAddr) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap_or_else(|e| panic!("connect: {e}"));
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap_or_else(|e| panic!("handshake: {e}"));
    tokio::spawn(conn);
    sender
}

/// One request on a new connection: its status and body.
async fn request(addr: std::net::SocketAddr, req: &Req) -> (u16, String) {
    let mut sender = connect(addr).await;
    let res = sender.send_request(clone(req)).await.unwrap_or_else(|e| panic!("{e}"));
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn clone(req: &Req) -> Req {
    let mut b = hyper::Request::builder().method(req.method()).uri(req.uri());
    for (k, v) in req.headers() {
        b = b.header(k, v);
    }
    b.body(req.body().clone()).unwrap_or_else(|e| panic!("{e}"))
}

struct Sample {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    wall: Duration,
    /// PostgreSQL: bytes of WAL written while the sample ran, per request (everything the
    /// server wrote, autovacuum included). SQLite: bytes this process made dirty for the disk
    /// (`write_bytes` of `/proc/self/io`: the WAL's appends and the checkpoints' copies into
    /// the database file, counted by the kernel's 4 KiB pages), per request.
    wal_per_request: Option<f64>,
    /// CPU time per request while the sample ran: see [`Cpu`].
    cpu_per_request: Option<Cpu>,
}

impl Sample {
    fn empty() -> Sample {
        Sample {
            latencies: Vec::new(),
            errors: 0,
            first_error: None,
            wall: Duration::ZERO,
            wal_per_request: None,
            cpu_per_request: None,
        }
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    fn percentile(&self, p: f64) -> Duration {
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies.get(rank.saturating_sub(1)).copied().unwrap_or_default()
    }

    fn max(&self) -> Duration {
        self.latencies.last().copied().unwrap_or_default()
    }
}

/// `tasks` connections, the `t`-th to `addrs[t % len]`, send `make(i)` (`i` a running number)
/// until `seconds` pass or `make` runs out; a non-200 answer is an error.
/// - `gap` none: each as soon as it has its last answer (a closed loop).
/// - `gap` the time between two requests in all: on a fixed schedule, connection `t` due at
///   start + (t + k·tasks)·gap, k = 0, 1, … (an open loop: a slow answer does not slow the
///   schedule). A latency then runs from the time the request was due, so a request that waited
///   behind a slow one on its connection counts that wait (no coordinated omission).
async fn load<F>(addrs: &[std::net::SocketAddr], tasks: usize, seconds: f64, gap: Option<Duration>, make: F) -> Sample
where
    F: Fn(usize) -> Option<Req> + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let counter = Arc::new(AtomicUsize::new(0));
    let start = tokio::time::Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (make, counter) = (Arc::clone(&make), Arc::clone(&counter));
            // Connections spread over the app servers, as a balancer without stickiness would.
            let addr = addrs[t % addrs.len()];
            tokio::spawn(async move {
                let mut sender = connect(addr).await;
                let (mut latencies, mut errors, mut first) = (Vec::new(), 0, None);
                let mut due = start + gap.unwrap_or_default() * t as u32;
                loop {
                    let sent = match gap {
                        None => tokio::time::Instant::now(),
                        Some(_) => due,
                    };
                    if sent >= deadline {
                        break;
                    }
                    if gap.is_some() {
                        tokio::time::sleep_until(sent).await;
                    }
                    let Some(req) = make(counter.fetch_add(1, Ordering::Relaxed)) else { break };
                    let outcome = exchange(&mut sender, req).await;
                    latencies.push(sent.elapsed());
                    if let Err(e) = outcome {
                        errors += 1;
                        first = first.or(Some(e));
                    }
                    due += gap.unwrap_or_default() * tasks as u32;
                }
                (latencies, errors, first)
            })
        })
        .collect();
    let mut sample = Sample::empty();
    for h in handles {
        let (latencies, errors, first) = h.await.unwrap_or_else(|e| panic!("load task: {e}"));
        sample.latencies.extend(latencies);
        sample.errors += errors;
        sample.first_error = sample.first_error.or(first);
    }
    sample.latencies.sort_unstable();
    sample.wall = start.elapsed();
    sample
}

/// Sends `req` and reads the whole answer; an answer other than 200 is an error.
async fn exchange(sender: &mut Sender, req: Req) -> Result<(), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    if status == 200 { Ok(()) } else { Err(format!("{status} {}", String::from_utf8_lossy(&body))) }
}

/// What a block of rows ran on: its app servers, and the PostgreSQL settings set for it (none:
/// the server's own).
struct Setup {
    servers: usize,
    settings: Vec<(String, String)>,
}

impl Setup {
    fn label(&self) -> String {
        let pairs: Vec<String> = self.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        match pairs.is_empty() {
            true => format!("{} app server(s)", self.servers),
            false => format!("{} app server(s), {}", self.servers, pairs.join(" ")),
        }
    }
}

/// Sets the PostgreSQL settings `set` with `ALTER SYSTEM` (those of `names` it lacks back to
/// the server's own), has the server read them, and checkpoints, so that every setup's rows
/// start from a checkpoint alike (the full-page images after it, docs/scaling.md).
async fn apply_settings(pool: &sqlx::PgPool, names: &[(String, String)], set: &[(String, String)]) {
    for (name, _) in names {
        let sql = match set.iter().find(|(n, _)| n == name) {
            Some((_, value)) => format!("ALTER SYSTEM SET {name} = '{value}'"),
            None => format!("ALTER SYSTEM RESET {name}"),
        };
        sqlx::query(&sql).execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    sqlx::query("SELECT pg_reload_conf()").execute(pool).await.unwrap_or_else(|e| panic!("reload: {e}"));
    // Each backend reads the file at its next statement; the checkpointer and WAL writer on
    // their own wake-up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    sqlx::query("CHECKPOINT").execute(pool).await.unwrap_or_else(|e| panic!("checkpoint: {e}"));
}

/// One row of the results: a path at one concurrency level, in one round, on one [`Setup`].
struct Row {
    round: usize,
    /// Its [`Setup`], by index.
    setup: usize,
    name: String,
    /// The level (`ECERT_BENCH_CONCURRENCY`) the row belongs to.
    c: usize,
    /// The connections that sent its load: the level's, or fewer for the scan login, which has
    /// one phone per task.
    tasks: usize,
    sample: Sample,
    /// The bare handler's rate at this level, in this round.
    base: f64,
    /// The scan login's row: when the PC saw each confirmation, and its polls.
    seen: Option<Seen>,
}

/// `written`: the heading of the bytes written per request ([`Sample::wal_per_request`]).
fn print_rows<'a>(rows: impl Iterator<Item = &'a Row>, written: &str) {
    println!(
        "{:<32} {:>4} {:>10} {:>9} {:>9} {:>9} {:>7} {:>8} {:>10} {:>8} {:>8} {:>8}",
        "path", "C", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "vs bare", written, "app µs", "PG µs", "PG+ µs"
    );
    for Row { name, tasks, sample: s, base, .. } in rows {
        println!(
            "{name:<32} {tasks:>4} {:>10.0} {:>9.3} {:>9.3} {:>9.3} {:>7} {:>7.0}% {:>10} {:>8} {:>8} {:>8}",
            s.per_second(),
            ms(s.percentile(50.0)),
            ms(s.percentile(99.0)),
            ms(s.max()),
            s.errors,
            100.0 * s.per_second() / base.max(f64::EPSILON),
            s.wal_per_request.map_or_else(|| "-".to_owned(), |b| format!("{b:.0}")),
            micros(s.cpu_per_request.map(|c| c.process)),
            micros(s.cpu_per_request.and_then(|c| c.backends)),
            micros(s.cpu_per_request.and_then(|c| c.others)),
        );
        if let Some(e) = &s.first_error {
            println!("    first error: {e}");
        }
    }
}

/// The scan login's rows among `rows`: when the PC saw the confirmation, and its polls.
fn print_logins<'a>(rows: impl Iterator<Item = &'a Row>) {
    let mut logins = rows.filter_map(|r| Some((r.tasks, r.seen.as_ref()?))).peekable();
    if logins.peek().is_none() {
        return;
    }
    println!(
        "{:<26} {:>4} {:>8} {:>14} {:>14} {:>14}",
        "scan login", "C", "logins", "PC polls/login", "seen p50 ms", "seen p99 ms"
    );
    for (tasks, seen) in logins {
        println!(
            "{:<26} {tasks:>4} {:>8} {:>14.2} {:>14.3} {:>14.3}",
            "confirm sent → PC sees it",
            seen.logins,
            seen.per_login(),
            ms(seen.after_confirm.percentile(50.0)),
            ms(seen.after_confirm.percentile(99.0)),
        );
    }
}

/// The middle value (the mean of the two middle ones for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Each row's median over the rounds, setup by setup: rate, p50, p99, share of the bare
/// handler, and the bare handler's own rate beside it; then the scan login's.
fn print_medians(rows: &[Row], labels: &[String], rounds: usize) {
    println!("\nmedians of {rounds} rounds (errors: all rounds' together)");
    for (setup, label) in labels.iter().enumerate() {
        println!("{label}");
        println!(
            "{:<32} {:>4} {:>10} {:>9} {:>9} {:>8} {:>10} {:>7}",
            "path", "C", "req/s", "p50 ms", "p99 ms", "vs bare", "bare/s", "errors"
        );
        let mut keys: Vec<(usize, &str)> = Vec::new();
        for r in rows.iter().filter(|r| r.setup == setup) {
            if !keys.contains(&(r.c, r.name.as_str())) {
                keys.push((r.c, r.name.as_str()));
            }
        }
        keys.sort_by_key(|&(c, _)| c);
        for (c, name) in keys {
            let same: Vec<&Row> = rows.iter().filter(|r| (r.setup, r.c, r.name.as_str()) == (setup, c, name)).collect();
            let of = |f: &dyn Fn(&Row) -> f64| median(same.iter().map(|r| f(r)).collect());
            let tasks = same.first().map_or(c, |r| r.tasks);
            println!(
                "{name:<32} {tasks:>4} {:>10.0} {:>9.3} {:>9.3} {:>7.0}% {:>10.0} {:>7}",
                of(&|r| r.sample.per_second()),
                of(&|r| ms(r.sample.percentile(50.0))),
                of(&|r| ms(r.sample.percentile(99.0))),
                of(&|r| 100.0 * r.sample.per_second() / r.base.max(f64::EPSILON)),
                of(&|r| r.base),
                same.iter().map(|r| r.sample.errors).sum::<usize>(),
            );
        }
        // One line per level: the first round's rows name the levels.
        for r in rows.iter().filter(|r| r.setup == setup && r.round == 1 && r.seen.is_some()) {
            let seen: Vec<&Seen> =
                rows.iter().filter(|o| (o.setup, o.c) == (setup, r.c)).filter_map(|o| o.seen.as_ref()).collect();
            let of = |f: &dyn Fn(&Seen) -> f64| median(seen.iter().map(|s| f(s)).collect());
            println!(
                "{:<32} {:>4} polls/login {:.2}, seen p50 {:.3} ms, p99 {:.3} ms (level {})",
                "confirm sent → PC sees it",
                r.tasks,
                of(&Seen::per_login),
                of(&|s| ms(s.after_confirm.percentile(50.0))),
                of(&|s| ms(s.after_confirm.percentile(99.0))),
                r.c,
            );
        }
    }
}

/// One concurrency level of the run: where and how long each path's load goes.
struct Level<'a> {
    db: &'a Db,
    addrs: &'a [std::net::SocketAddr],
    round: usize,
    setup: usize,
    c: usize,
    seconds: f64,
    open_loop: Option<f64>,
    /// The bare handler's rate at this level.
    base: f64,
}

impl Level<'_> {
    /// A path's row under a closed loop (`c` connections, each sending as soon as it has its
    /// answer) and, with `open_loop`, its row at that share of the rate reached, on a schedule.
    /// `make` serves both (a clone of it the first).
    async fn measure<F>(&self, label: &str, make: F) -> Vec<Row>
    where
        F: Fn(usize) -> Option<Req> + Clone + Send + Sync + 'static,
    {
        let meter = Meter::start(self.db).await;
        let mut closed = load(self.addrs, self.c, self.seconds, None, make.clone()).await;
        meter.finish(self.db, &mut closed).await;
        let reached = closed.per_second();
        let row = |name: String, sample| Row {
            round: self.round,
            setup: self.setup,
            name,
            c: self.c,
            tasks: self.c,
            sample,
            base: self.base,
            seen: None,
        };
        let mut rows = vec![row(label.to_owned(), closed)];
        if let Some(share) = self.open_loop {
            let rate = reached * share;
            let gap = Duration::from_secs_f64(1.0 / rate.max(f64::EPSILON));
            let meter = Meter::start(self.db).await;
            let mut open = load(self.addrs, self.c, self.seconds, Some(gap), make).await;
            meter.finish(self.db, &mut open).await;
            // The rate reached is the row's req/s; the label names the share, the same in every
            // round, so that the medians gather the rounds' rows.
            rows.push(row(format!("{label} @{share}"), open));
        }
        rows
    }
}

/// What a sample costs beyond its latencies: the WAL PostgreSQL wrote (SQLite: the bytes made
/// dirty for the disk) and the CPU time spent, read before and after it.
struct Meter {
    wal: Option<String>,
    written: Option<u64>,
    cpu: Cpu,
}

/// The bytes this process has made dirty for the disk so far (`write_bytes` of `/proc/self/io`).
fn bytes_written() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines().find_map(|l| l.strip_prefix("write_bytes:")).and_then(|v| v.trim().parse().ok())
}

impl Meter {
    async fn start(db: &Db) -> Meter {
        let wal = match db {
            Db::Postgres(pool, ..) => {
                sqlx::query_scalar::<_, String>("SELECT pg_current_wal_lsn()::text").fetch_one(pool).await.ok()
            }
            _ => None,
        };
        let written = if matches!(db, Db::Sqlite(..)) { bytes_written() } else { None };
        Meter { wal, written, cpu: Cpu::now() }
    }

    /// Sets `s.wal_per_request` and `s.cpu_per_request` from what was spent since `start`.
    async fn finish(self, db: &Db, s: &mut Sample) {
        let requests = s.latencies.len().max(1) as f64;
        let mut cpu = Cpu::now().per_request(&self.cpu, requests);
        if !matches!(db, Db::Postgres(..)) {
            (cpu.backends, cpu.others) = (None, None);
        }
        s.cpu_per_request = Some(cpu);
        if let (Db::Postgres(pool, ..), Some(since)) = (db, self.wal) {
            let sql = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8";
            let bytes: Option<f64> = sqlx::query_scalar(sql).bind(since).fetch_one(pool).await.ok();
            s.wal_per_request = bytes.map(|b| b / requests);
        }
        if let (Some(before), Some(after)) = (self.written, bytes_written()) {
            s.wal_per_request = Some(after.saturating_sub(before) as f64 / requests);
        }
    }
}

/// CPU time in µs, from /proc (user and system, in the kernel's clock ticks of 10 ms: a sample
/// of seconds on 2 cores makes that error small): this process's (the app servers, sqlx and the
/// load) and, with a PostgreSQL server on this machine, its backends' serving the bench's
/// database and its other processes' (WAL writer, checkpointer, autovacuum…). A process that
/// ends inside a sample takes its time with it, so PostgreSQL's figures are lower bounds.
#[derive(Clone, Copy)]
struct Cpu {
    process: f64,
    backends: Option<f64>,
    others: Option<f64>,
}

impl Cpu {
    fn now() -> Cpu {
        let process = ticks(std::path::Path::new("/proc/self/stat")).unwrap_or(0.0);
        let (mut backends, mut others) = (None, None);
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let dir = entry.path();
                let is_postgres = std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.trim() == "postgres");
                let Some(t) = ticks(&dir.join("stat")).filter(|_| is_postgres) else { continue };
                // A backend's title: "postgres: [CLUSTER: ]USER DATABASE HOST(PORT) STATE".
                let title = std::fs::read(dir.join("cmdline")).unwrap_or_default();
                let title = String::from_utf8_lossy(&title);
                let sum =
                    if title.split_whitespace().any(|word| word == BENCH_DB) { &mut backends } else { &mut others };
                *sum = Some(sum.unwrap_or(0.0) + t);
            }
        }
        Cpu { process, backends, others }
    }

    /// What was spent from `before` to `self`, per request.
    fn per_request(&self, before: &Cpu, requests: f64) -> Cpu {
        let delta = |a: Option<f64>, b: Option<f64>| Some((a? - b.unwrap_or(0.0)) / requests);
        Cpu {
            process: (self.process - before.process) / requests,
            backends: delta(self.backends, before.backends),
            others: delta(self.others, before.others),
        }
    }
}

fn micros(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"))
}

/// utime + stime of a /proc/…/stat file, in µs (USER_HZ is 100 on Linux).
fn ticks(stat: &std::path::Path) -> Option<f64> {
    let text = std::fs::read_to_string(stat).ok()?;
    // The fields after the command name in parentheses, which may hold spaces.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10_000.0)
}

/// What [`round_trips`] measured.
struct Trips {
    /// Each login's round trip, start to the PC's poll answering `confirmed`.
    total: Sample,
    seen: Seen,
}

/// How soon the PC saw the logins' confirmations, and with how many polls.
struct Seen {
    /// From the phone's confirmation sent (it then checks the certificate password, on purpose
    /// slowly, and commits) to the PC's poll answered `confirmed`.
    after_confirm: Sample,
    /// The PC's status requests, all logins together.
    polls: usize,
    logins: usize,
}

impl Seen {
    fn per_login(&self) -> f64 {
        self.polls as f64 / self.logins.max(1) as f64
    }
}

/// `tasks` PC-and-phone pairs, each with a phone of its own, log in again and again until
/// `seconds` pass. The PC and the phone use connections of their own and, with two app servers,
/// different servers, so that a move made through one must reach the poll waiting on the other.
async fn round_trips(
    addrs: &[std::net::SocketAddr],
    phones: &Arc<Vec<BenchPhone>>,
    tasks: usize,
    seconds: f64,
) -> Trips {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let phones = Arc::clone(phones);
            let (pc_addr, phone_addr) = (addrs[t % addrs.len()], addrs[(t + 1) % addrs.len()]);
            tokio::spawn(async move {
                let me = &phones[t];
                let mut pc = connect(pc_addr).await;
                let mut phone = connect(phone_addr).await;
                let (mut totals, mut afters, mut polls, mut errors, mut first) = (Vec::new(), Vec::new(), 0, 0, None);
                while Instant::now() < deadline {
                    let began = Instant::now();
                    match one_login(&mut pc, &mut phone, me, &mut polls).await {
                        Ok(after) => {
                            totals.push(began.elapsed());
                            afters.push(after);
                        }
                        Err(e) => {
                            errors += 1;
                            first = first.or(Some(e));
                            // The connections may be mid-request: start again on new ones.
                            pc = connect(pc_addr).await;
                            phone = connect(phone_addr).await;
                        }
                    }
                }
                (totals, afters, polls, errors, first)
            })
        })
        .collect();
    let seen = Seen { after_confirm: Sample::empty(), polls: 0, logins: 0 };
    let mut trips = Trips { total: Sample::empty(), seen };
    for h in handles {
        let (totals, afters, polls, errors, first) = h.await.unwrap_or_else(|e| panic!("round trip task: {e}"));
        trips.seen.logins += afters.len();
        trips.total.latencies.extend(totals);
        trips.seen.after_confirm.latencies.extend(afters);
        trips.total.errors += errors;
        trips.total.first_error = trips.total.first_error.take().or(first);
        trips.seen.polls += polls;
    }
    trips.total.wall = start.elapsed();
    trips.seen.after_confirm.wall = trips.total.wall;
    trips.total.latencies.sort_unstable();
    trips.seen.after_confirm.latencies.sort_unstable();
    trips
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// One request on an open connection: status, head and body.
async fn send(sender: &mut Sender, req: Req) -> Result<(u16, hyper::HeaderMap, String), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let (status, head) = (res.status().as_u16(), res.headers().clone());
    let body = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, head, String::from_utf8_lossy(&body).into_owned()))
}

/// One scan login: the PC starts it and long-polls while the phone scans, then while the phone
/// confirms. Answers the time from the confirmation answered to the PC's poll answered.
async fn one_login(
    pc: &mut Sender,
    phone: &mut Sender,
    me: &BenchPhone,
    polls: &mut usize,
) -> Result<Duration, String> {
    let (status, head, body) = send(pc, post_form("/api/dashboard_login_start", "", None)).await?;
    if status != 200 {
        return Err(format!("start: {status} {body}"));
    }
    let cookie = head
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ecert_login="))
        .and_then(|v| v.split(';').next())
        .ok_or("no login cookie")?
        .to_owned();
    let qr: serde_json::Value = serde_json::from_str(&body).map_err(|e| format!("start: {e}"))?;
    let code = qr["url"].as_str().and_then(|u| u.split_once("code=")).map(|(_, c)| c.to_owned()).ok_or("no code")?;
    let match_code = qr["match_code"].as_str().ok_or("no match code")?.to_owned();

    let scan = serde_json::json!({
        "code": code, "device_id": me.device_id, "signature": me.phone.sign(action::LOGIN_SCAN, &code),
    });
    // A poll that never sees the move (a failed scan) gives up after `LONGEST`.
    const LONGEST: Duration = Duration::from_secs(30);
    let (seen, scanned) = tokio::join!(
        tokio::time::timeout(LONGEST, moved_from(pc, &cookie, "waiting", polls)),
        send(phone, post_json("/api/v1/wallet/login_scan", &scan.to_string(), None)),
    );
    let seen = seen.map_err(|_| "the PC's poll did not end".to_owned())?;
    let (status, _, body) = scanned?;
    if status != 200 {
        return Err(format!("scan: {status} {body}"));
    }
    if seen? != "scanned" {
        return Err("the PC did not see the scan".into());
    }

    let answer = serde_json::json!({
        "code": code, "device_id": me.device_id, "signature": me.phone.sign(action::LOGIN_APPROVE, &code),
        "approve": true, "password": ecert_testing::PASSWORD, "match_code": match_code,
    });
    let confirm_sent = Instant::now();
    let ((seen, seen_at), answered) = tokio::join!(
        async { (tokio::time::timeout(LONGEST, moved_from(pc, &cookie, "scanned", polls)).await, Instant::now()) },
        send(phone, post_json("/api/v1/wallet/login_answer", &answer.to_string(), None)),
    );
    let (status, _, body) = answered?;
    if status != 200 {
        return Err(format!("confirm: {status} {body}"));
    }
    match seen.map_err(|_| "the PC's poll did not end".to_owned())??.as_str() {
        "confirmed" => Ok(seen_at.duration_since(confirm_sent)),
        other => Err(format!("the PC saw {other}, not confirmed")),
    }
}

/// The PC's long poll, asked again until the state is no longer `seen`; answers the new state.
async fn moved_from(pc: &mut Sender, cookie: &str, seen: &str, polls: &mut usize) -> Result<String, String> {
    loop {
        let (status, _, body) =
            send(pc, post_form("/api/dashboard_login_status", &format!("seen={seen}"), Some(cookie))).await?;
        *polls += 1;
        if status != 200 {
            return Err(format!("poll: {status} {body}"));
        }
        let state: String = serde_json::from_str(&body).map_err(|e| format!("poll: {e}"))?;
        if state != seen {
            return Ok(state);
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
