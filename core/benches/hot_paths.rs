//! Benchmark of two hot paths on SQLite: login-status polling and one-time-code redemption.
//!
//! ```sh
//! cargo bench -p ecert-core --bench hot_paths
//! ECERT_BENCH_SECONDS=1 ECERT_BENCH_CLAIMS=500 cargo bench -p ecert-core --bench hot_paths
//! ```
//!
//! Each part runs on its own fresh temp-file SQLite database from `ecert_testing::open_test_db`
//! (WAL, a pool of 16 connections), on a multi-thread tokio runtime with one worker per core:
//!
//! 1. `login::poll`, which every PC login page calls while it waits for a scan: one indexed read
//!    by the hash of the browser secret. `ECERT_BENCH_LOGINS` login requests are seeded (default
//!    10,000), then 1, 8 and 64 tasks poll randomly chosen seeded browsers for
//!    `ECERT_BENCH_SECONDS` per level (default 3).
//! 2. Redeeming claim codes. Before each level `ECERT_BENCH_CLAIMS` certificates are issued
//!    (default 2,000), then 8 or 64 tasks redeem their codes, each with `code::redeem` in its own
//!    `Db::begin_write` transaction (`BEGIN IMMEDIATE`: they serialise on the SQLite write lock),
//!    committed. Then the same through the full `holder::accept` (signature check, redemption,
//!    device binding with an argon2 password hash, change record) on `ECERT_BENCH_ACCEPTS` codes
//!    per level (default 200), as it is far slower. Last, 32 tasks race on one code through each
//!    path, and exactly one must win (R2: a code works once).
//!
//! A latency is one call as a handler makes it, waiting for a pooled connection and for the
//! write lock included; calls/s is calls over the wall time of the level. Without `--bench`
//! (`cargo test --benches`) it is a smoke run with tiny sizes. With `ECERT_TEST_DATABASE_URL` set,
//! `open_test_db` uses that PostgreSQL database instead, and rows are left in it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests stop on what they did not expect

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ecert_core::certificate::{self, FirstManagerChoice, IssuePolicy, IssueRequest, PersonInput};
use ecert_core::code::{self, CodeKind};
use ecert_core::device::action;
use ecert_core::holder::{self, Acceptance};
use ecert_core::identity::IdentityVerifier;
use ecert_core::login::{self, LoginState};
use ecert_core::secret::{Random, Secret};
use ecert_core::staff::StaffView;
use ecert_core::store::{Db, PoolOptions};
use ecert_core::{Millis, store::query};
use ecert_testing::{bench_setting, open_test_db};

/// Concurrency levels of each measurement.
const POLL_TASKS: [usize; 3] = [1, 8, 64];
const REDEEM_TASKS: [usize; 2] = [8, 64];
/// Tasks racing on one code in the contended case.
const CONTENDERS: usize = 32;

/// The legal representative of every benchmark institution, who claims its certificate.
const HOLDER_NAME: &str = "张三";
const HOLDER_PASSWORD: &str = "bench password 1";

fn main() {
    let config = Config::from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => panic!("cannot start a tokio runtime: {e}"),
    };
    runtime.block_on(run(&config));
}

async fn run(config: &Config) {
    let mut report = Report::default();
    poll_logins(config, &mut report).await;
    redeem_codes(config, &mut report).await;
    report.print(config);
}

// ----------------------------------------------------------------------------------------------
// Settings

struct Config {
    per_level: Duration,
    logins: usize,
    claims: usize,
    accepts: usize,
    smoke: bool,
}

impl Config {
    fn from_env() -> Config {
        // `cargo bench` passes `--bench`; `cargo test --benches` does not, and only checks that it runs.
        let smoke = !std::env::args().any(|a| a == "--bench");
        let (seconds, logins, claims, accepts) = if smoke { (0.2, 200, 20, 4) } else { (3.0, 10_000, 2_000, 200) };
        Config {
            per_level: Duration::from_secs_f64(bench_setting("ECERT_BENCH_SECONDS", seconds)),
            logins: bench_setting("ECERT_BENCH_LOGINS", logins).max(1),
            claims: bench_setting("ECERT_BENCH_CLAIMS", claims),
            accepts: bench_setting("ECERT_BENCH_ACCEPTS", accepts),
            smoke,
        }
    }
}

// ----------------------------------------------------------------------------------------------
// 1. Login-status polling

async fn poll_logins(config: &Config, report: &mut Report) {
    let db = open_test_db().await;
    report.databases.push(describe(&db).await);
    let random = Random::os();
    let seeding = Instant::now();
    let mut browsers = Vec::with_capacity(config.logins);
    for _ in 0..config.logins {
        let started = login::start(&db, login::DASHBOARD, &login::Requester::default(), Millis::now(), &random).await;
        let started = started.unwrap_or_else(|e| panic!("cannot start a login request: {e}"));
        browsers.push(started.browser.expose().to_owned());
    }
    eprintln!("seeded {} login requests in {:.1} s", thousands(browsers.len()), seeding.elapsed().as_secs_f64());
    let browsers = Arc::new(browsers);

    // One poll of a random seeded browser, as the PC page makes it; a seeded request is waiting.
    let poll = {
        let db = db.clone();
        move |_: usize| {
            let (db, browsers) = (db.clone(), browsers.clone());
            let mut bytes = [0u8; 8];
            random.fill(&mut bytes);
            let pick = (u64::from_le_bytes(bytes) % browsers.len() as u64) as usize;
            async move {
                match login::poll(&db, &browsers[pick], Millis::now()).await.map_err(|e| e.to_string())? {
                    LoginState::Waiting => Ok(()),
                    other => Err(format!("a seeded login request is {}", other.as_str())),
                }
            }
        }
    };
    let poll = Arc::new(poll);
    // Opens every pooled connection and warms its statement cache, so that level 1 is not penalised.
    let warm_up = Arc::clone(&poll);
    measure(16, Budget::Calls(1_000), move |i| warm_up(i)).await;
    for tasks in POLL_TASKS {
        let poll = Arc::clone(&poll);
        let sample = measure(tasks, Budget::For(config.per_level), move |i| poll(i)).await;
        report.rows.push(Row { path: "login::poll", tasks, sample });
    }
    discard(db).await;
}

// ----------------------------------------------------------------------------------------------
// 2. Code redemption

async fn redeem_codes(config: &Config, report: &mut Report) {
    let db = open_test_db().await;
    report.databases.push(describe(&db).await);
    let staff = staff_member(&db).await;
    let mut issuer = Issuer { db: db.clone(), staff, credit_codes: CreditCodes::new() };

    // The bare rule: one transaction per code, as a use-case would wrap it.
    for tasks in REDEEM_TASKS {
        let codes = Arc::new(issuer.claim_codes(config.claims).await);
        let db = db.clone();
        let sample = measure(tasks, Budget::Calls(codes.len()), move |i| {
            let (db, codes) = (db.clone(), codes.clone());
            async move { redeem(&db, &codes[i]).await.map(|_| ()) }
        })
        .await;
        report.rows.push(Row { path: "code::redeem", tasks, sample });
    }

    // The whole claim. device::bind hashes the certificate password with argon2 inside the write
    // transaction, so accepts hold the SQLite write lock for the length of a hash each.
    for tasks in REDEEM_TASKS {
        let codes = issuer.claim_codes(config.accepts).await;
        // Keys and signatures are made up front: they are the phone's work, not the server's.
        let claims: Arc<Vec<(String, Acceptance)>> = Arc::new(
            codes
                .into_iter()
                .map(|code| {
                    let claim = acceptance(&code);
                    (code, claim)
                })
                .collect(),
        );
        let db = db.clone();
        let sample = measure(tasks, Budget::Calls(claims.len()), move |i| {
            let (db, claims) = (db.clone(), claims.clone());
            async move {
                let (code, claim) = &claims[i];
                accept(&db, code, claim).await.map(|_| ())
            }
        })
        .await;
        report.rows.push(Row { path: "holder::accept", tasks, sample });
    }

    // R2 under contention: many scans of one code, exactly one wins.
    let code = Arc::new(issuer.claim_codes(1).await.remove(0));
    let racing = {
        let db = db.clone();
        race(CONTENDERS, move || {
            let (db, code) = (db.clone(), code.clone());
            async move { redeem(&db, &code).await.map(|_| ()) }
        })
        .await
    };
    report.races.push(Race::new("code::redeem", racing));
    let code = Arc::new(issuer.claim_codes(1).await.remove(0));
    let racing = {
        let db = db.clone();
        race(CONTENDERS, move || {
            // Each contender is a different phone, with its own key and signature.
            let (db, code, claim) = (db.clone(), code.clone(), acceptance(&code));
            async move { accept(&db, &code, &claim).await.map(|_| ()) }
        })
        .await
    };
    report.races.push(Race::new("holder::accept", racing));
    discard(db).await;
}

/// Redeems a claim code in its own write transaction, committed on success and rolled back otherwise.
async fn redeem(db: &Db, code: &str) -> Result<code::Redeemed, String> {
    let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
    let redeemed = code::redeem(&mut tx, CodeKind::Claim, code, Millis::now()).await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(redeemed)
}

/// Claims a certificate on a phone, as the wallet's claim request does.
async fn accept(db: &Db, code: &str, acceptance: &Acceptance) -> Result<holder::Binding, String> {
    holder::accept(db, CodeKind::Claim, code, acceptance, Millis::now(), &Random::os()).await.map_err(|e| e.to_string())
}

/// What the legal representative types and a new phone sends to claim with `code`.
fn acceptance(code: &str) -> Acceptance {
    let phone = Phone::new();
    Acceptance {
        name: HOLDER_NAME.into(),
        id_number: resident_id(),
        password: Secret::new(HOLDER_PASSWORD),
        public_key: phone.public_key.clone(),
        signature: phone.sign(action::CLAIM, code),
    }
}

// ----------------------------------------------------------------------------------------------
// Fixtures (the benchmark cannot import the test suite's support module)

/// Issues certificates of new institutions at `Millis::now()`, so their claim codes are live for
/// the next 30 minutes.
struct Issuer {
    db: Db,
    staff: StaffView,
    credit_codes: CreditCodes,
}

impl Issuer {
    /// Issues `n` certificates and returns their claim codes.
    async fn claim_codes(&mut self, n: usize) -> Vec<String> {
        let seeding = Instant::now();
        let random = Random::os();
        let mut codes = Vec::with_capacity(n);
        for _ in 0..n {
            let request = IssueRequest {
                credit_code: self.credit_codes.next(),
                name: "北京市基准测试研究院".into(),
                address: "北京市海淀区中关村大街1号".into(),
                legal_rep: PersonInput {
                    name: HOLDER_NAME.into(),
                    id_number: resident_id(),
                    mobile: "13812345678".into(),
                },
                first_manager: FirstManagerChoice::LegalRepresentative,
                checklist: ecert_core::certificate::Checklist::ALL,
            };
            let policy = IssuePolicy::default();
            let issued = certificate::issue(
                &self.db,
                &self.staff,
                &request,
                &IdentityVerifier::Local,
                policy,
                Millis::now(),
                &random,
            )
            .await;
            let (_, claim) = issued.unwrap_or_else(|e| panic!("cannot issue a certificate: {e}"));
            codes.push(claim.code.expose().to_owned());
        }
        let noun = if n == 1 { "certificate" } else { "certificates" };
        eprintln!("issued {} {noun} in {:.1} s", thousands(n), seeding.elapsed().as_secs_f64());
        codes
    }
}

/// A new authority (with the common matter catalogue) and one staff member of it. Issuing only
/// needs the staff member's view; the password hash is a placeholder nobody can sign in with.
async fn staff_member(db: &Db) -> StaffView {
    let random = Random::os();
    let (authority_id, staff_id) = (random.id(), random.id());
    let now = Millis::now();
    let inserted = db
        .execute(
            query(
                "INSERT INTO authority (id, name, level, parent_id, region_code, created_at) \
         VALUES ($1, '基准测试局', 'county', NULL, '110105', $2)",
            )
            .bind(&authority_id)
            .bind(now.0),
        )
        .await;
    inserted.unwrap_or_else(|e| panic!("cannot insert an authority: {e}"));
    let seeded = async {
        let mut tx = db.begin_write().await?;
        holder::seed_catalogue(&mut tx, &authority_id, now).await?;
        tx.commit().await?;
        Ok::<_, ecert_core::Error>(())
    };
    seeded.await.unwrap_or_else(|e| panic!("cannot seed the matter catalogue: {e}"));
    let username = format!("bench-{}", &staff_id[..10]);
    let inserted = db
        .execute(
            query(
                "INSERT INTO staff (id, authority_id, username, display_name, password_hash, is_admin, created_at) \
         VALUES ($1, $2, $3, '窗口一', '!', $4, $5)",
            )
            .bind(&staff_id)
            .bind(&authority_id)
            .bind(&username)
            .bind(false)
            .bind(now.0),
        )
        .await;
    inserted.unwrap_or_else(|e| panic!("cannot insert a staff member: {e}"));
    StaffView {
        id: staff_id,
        username,
        display_name: "窗口一".into(),
        duties: ecert_core::staff::Duties { administer: false, operate: true, audit: false },
        authority_id,
        authority_name: "基准测试局".into(),
        authority_level: ecert_core::authority::Level::County,
        authority_region: "110105".into(),
    }
}

/// Valid unified social credit codes of public institutions (prefix 12, region 110105), unique
/// within a run: a random starting point counted up in base 31 over the 9 free characters.
struct CreditCodes {
    next: u64,
}

impl CreditCodes {
    const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const SPACE: u64 = 31u64.pow(9);

    fn new() -> CreditCodes {
        let mut bytes = [0u8; 8];
        Random::os().fill(&mut bytes);
        CreditCodes { next: u64::from_le_bytes(bytes) % Self::SPACE }
    }

    fn next(&mut self) -> String {
        let n = self.next;
        self.next = (n + 1) % Self::SPACE;
        let body: String =
            (0..9).rev().map(|power| Self::CHARSET[(n / 31u64.pow(power) % 31) as usize] as char).collect();
        let prefix = format!("12110105{body}");
        match ecert_core::validate::credit_code_check_char(&prefix) {
            Some(check) => format!("{prefix}{check}"),
            None => panic!("{prefix} is not a credit code prefix"),
        }
    }
}

/// The resident ID number of the legal representative (born 1990-01-01, sequence 123).
fn resident_id() -> String {
    let prefix = "11010519900101123";
    match ecert_core::validate::resident_id_check_char(prefix) {
        Some(check) => format!("{prefix}{check}"),
        None => panic!("{prefix} is not a resident ID prefix"),
    }
}

/// A phone's device key, as the wallet's WebCrypto key would be.
use ecert_testing::Phone;

/// One line describing the database, e.g. `SQLite /tmp/ecert-tests/….db`.
async fn describe(db: &Db) -> String {
    match sqlite_file(db).await {
        Some(file) => format!("{} {file}", db.backend().name()),
        None => db.backend().name().to_owned(),
    }
}

/// The file of a SQLite database, from `PRAGMA database_list`.
async fn sqlite_file(db: &Db) -> Option<String> {
    let Db::Sqlite(pool, ..) = db else { return None };
    let files: Vec<(i64, String, String)> = sqlx::query_as("PRAGMA database_list").fetch_all(pool).await.ok()?;
    files.into_iter().find(|(_, name, file)| name == "main" && !file.is_empty()).map(|(_, _, file)| file)
}

/// Closes the database and deletes its temp file, if it is one.
async fn discard(db: Db) {
    let file = sqlite_file(&db).await;
    db.close().await;
    for file in file.iter().flat_map(|f| ["", "-wal", "-shm"].map(|suffix| format!("{f}{suffix}"))) {
        // Best effort: a leftover file in the temp directory harms nobody.
        let _ = std::fs::remove_file(file);
    }
}

// ----------------------------------------------------------------------------------------------
// Harness

/// How long the tasks of a level keep calling.
enum Budget {
    /// Until this much wall time has passed (calls in flight then finish).
    For(Duration),
    /// Until this many calls have been made, among all tasks.
    Calls(usize),
}

/// The latencies of one level, sorted, and the wall time it took.
struct Sample {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    wall: Duration,
}

impl Sample {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// Nearest-rank percentile, `p` in 0..=100.
    fn percentile(&self, p: f64) -> Duration {
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies.get(rank.saturating_sub(1)).copied().unwrap_or_default()
    }

    fn max(&self) -> Duration {
        self.latencies.last().copied().unwrap_or_default()
    }
}

/// Runs `op` from `tasks` concurrent tasks until the budget is spent, timing each call. `op(i)`
/// gets a call number unique within the level (the index of the work item under
/// [`Budget::Calls`]); building its future is not timed, awaiting it is.
async fn measure<F, Fut>(tasks: usize, budget: Budget, op: F) -> Sample
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let (deadline, calls) = match budget {
        Budget::For(duration) => (Some(start + duration), usize::MAX),
        Budget::Calls(n) => (None, n),
    };
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (op, next) = (Arc::clone(&op), Arc::clone(&next));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                while deadline.is_none_or(|d| Instant::now() < d) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= calls {
                        break;
                    }
                    let call = op(i);
                    let t = Instant::now();
                    let outcome = call.await;
                    latencies.push(t.elapsed());
                    if let Err(e) = outcome {
                        errors.push(e);
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut sample = Sample { latencies: Vec::new(), errors: 0, first_error: None, wall: Duration::ZERO };
    for handle in handles {
        let (latencies, errors) = handle.await.unwrap_or_else(|e| panic!("a benchmark task failed: {e}"));
        sample.latencies.extend(latencies);
        sample.errors += errors.len();
        sample.first_error = sample.first_error.or(errors.into_iter().next());
    }
    sample.wall = start.elapsed();
    sample.latencies.sort_unstable();
    sample
}

/// Starts `contenders` calls of `op` at the same instant and returns their outcomes.
async fn race<F, Fut>(contenders: usize, op: F) -> Vec<Result<(), String>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let gate = Arc::new(tokio::sync::Barrier::new(contenders));
    let handles: Vec<_> = (0..contenders)
        .map(|_| {
            let (call, gate) = (op(), Arc::clone(&gate));
            tokio::spawn(async move {
                gate.wait().await;
                call.await
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(contenders);
    for handle in handles {
        outcomes.push(handle.await.unwrap_or_else(|e| panic!("a racing task failed: {e}")));
    }
    outcomes
}

// ----------------------------------------------------------------------------------------------
// Report

#[derive(Default)]
struct Report {
    databases: Vec<String>,
    rows: Vec<Row>,
    races: Vec<Race>,
}

struct Row {
    path: &'static str,
    tasks: usize,
    sample: Sample,
}

/// The outcome of many tasks racing on one code.
struct Race {
    path: &'static str,
    wins: usize,
    /// Refusals by message, e.g. "code already used" → 31.
    refusals: BTreeMap<String, usize>,
}

impl Race {
    /// Tallies the outcomes and asserts R2: exactly one contender wins.
    fn new(path: &'static str, outcomes: Vec<Result<(), String>>) -> Race {
        let mut race = Race { path, wins: 0, refusals: BTreeMap::new() };
        for outcome in outcomes {
            match outcome {
                Ok(()) => race.wins += 1,
                Err(e) => *race.refusals.entry(e).or_default() += 1,
            }
        }
        assert_eq!(
            race.wins, 1,
            "{path}: of {CONTENDERS} racing on one code, exactly one must win: {:?}",
            race.refusals
        );
        race
    }
}

impl Report {
    fn print(&self, config: &Config) {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!();
        println!(
            "ecert-core hot paths{}",
            if config.smoke { " (smoke run: pass --bench for real figures)" } else { "" }
        );
        for database in &self.databases {
            println!("  database: {database}");
        }
        println!("  C: concurrent tasks; latency: one call, waiting for a connection and the write lock included");
        println!(
            "  {workers} tokio workers, pool of {} connections; polling {:.1} s per level over {} logins; \
             {} claims and {} accepts per level",
            PoolOptions::default().max_connections,
            config.per_level.as_secs_f64(),
            thousands(config.logins),
            thousands(config.claims),
            thousands(config.accepts),
        );
        println!();
        println!(
            "{:<15} {:>5} {:>9} {:>6} {:>7} {:>10} {:>9} {:>9} {:>9}",
            "path", "C", "calls", "errors", "wall s", "calls/s", "p50 ms", "p99 ms", "max ms"
        );
        println!("{}", "-".repeat(88));
        for Row { path, tasks, sample } in &self.rows {
            println!(
                "{:<15} {:>5} {:>9} {:>6} {:>7.2} {:>10} {:>9.3} {:>9.3} {:>9.3}",
                path,
                tasks,
                thousands(sample.latencies.len()),
                sample.errors,
                sample.wall.as_secs_f64(),
                thousands(sample.per_second().round() as usize),
                ms(sample.percentile(50.0)),
                ms(sample.percentile(99.0)),
                ms(sample.max()),
            );
        }
        println!();
        for path in self.paths() {
            println!("{}", self.summary(path));
        }
        for race in &self.races {
            let refusals: Vec<String> = race.refusals.iter().map(|(e, n)| format!("{n} × {e:?}")).collect();
            println!(
                "{} contended: {CONTENDERS} tasks raced on one claim code: {} won, refused {} (exactly one winner: ok)",
                race.path,
                race.wins,
                refusals.join(", "),
            );
        }
        for Row { path, tasks, sample } in &self.rows {
            if let Some(e) = &sample.first_error {
                println!("{path} at C={tasks}: {} errors, the first: {e}", sample.errors);
            }
        }
    }

    /// The measured paths, in the order they ran.
    fn paths(&self) -> Vec<&'static str> {
        let mut paths: Vec<&'static str> = self.rows.iter().map(|r| r.path).collect();
        paths.dedup();
        paths
    }

    /// One line per path: peak throughput, and tail latency from the fewest to the most tasks.
    fn summary(&self, path: &str) -> String {
        let rows: Vec<&Row> = self.rows.iter().filter(|r| r.path == path).collect();
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else { return format!("{path}: not measured") };
        let peak = rows.iter().max_by(|a, b| a.sample.per_second().total_cmp(&b.sample.per_second())).unwrap_or(first);
        let calls: usize = rows.iter().map(|r| r.sample.latencies.len()).sum();
        let errors: usize = rows.iter().map(|r| r.sample.errors).sum();
        format!(
            "{path}: peak {} calls/s at C={}; p50/p99 {:.3}/{:.3} ms at C={}, {:.3}/{:.3} ms at C={}; \
             {errors} errors in {} calls",
            thousands(peak.sample.per_second().round() as usize),
            peak.tasks,
            ms(first.sample.percentile(50.0)),
            ms(first.sample.percentile(99.0)),
            first.tasks,
            ms(last.sample.percentile(50.0)),
            ms(last.sample.percentile(99.0)),
            last.tasks,
            thousands(calls),
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `12345` → `12,345`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
