//! Issue 4's bars, over HTTP, beside a bare axum handler in the same run:
//!
//! * `check` — the public QR check, `POST /api/v1/check` (`{"token": …}`): one read of the live
//!   set and its certificate, holder and device, and one usage record (R12) written;
//! * `counter_verify` — a counter checks a numeric code, `POST /api/counter_verify` with its
//!   session cookie: the counter's rate-limit row, the live set, the single-use mark and the usage
//!   record, in one write transaction (R9, R10);
//! * `login_status` — the PC scan-login page's poll, `POST /api/dashboard_login_status` with its
//!   `ecert_login` cookie: one indexed read (R11);
//! * `bare` — an axum handler that answers a constant JSON object, on its own listener.
//!
//! ```sh
//! cargo bench -p ecert-server --bench http
//! ECERT_BENCH_INSTITUTIONS=100000 ECERT_BENCH_SECONDS=5 ECERT_BENCH_CONCURRENCY=16,64 cargo bench -p ecert-server --bench http
//! ```
//!
//! The database is a fresh SQLite file (WAL) seeded with `ECERT_BENCH_INSTITUTIONS` institutions
//! (default 100,000), each with an active certificate, its first manager and a bound device, and
//! with live presented sets: one QR per institution, and as many numbers as the counter levels
//! may use (numbers work once). Seeding writes rows directly, in bulk; one set is also made
//! through the real `presentation::present` (signature, password) and checked first, so the
//! seeded rows are what the real path makes. The server is the real router (`http::router`) on
//! 127.0.0.1, in this process; the load comes from the same process over keep-alive HTTP/1.1
//! connections, one per task, so server and load share the machine's cores. A latency is one
//! request, sent to response body read. Without `--bench` (as `cargo test --benches` runs it) it
//! is a smoke run with tiny sizes.
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
        }
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
    let url = format!("sqlite:{}", dir.join("bench.db").display());
    let options = PoolOptions { max_connections: 16, ..PoolOptions::default() };
    let db = match Db::open(&url, &options, ecert_testing::test_vault()).await {
        Ok(db) => db,
        Err(e) => panic!("cannot open {url}: {e}"),
    };
    let t = Instant::now();
    let max_level = settings.levels.iter().copied().max().unwrap_or(1);
    // Enough numbers for the counter levels at up to 25,000 checks/s.
    let numbers = if settings.smoke { 2_000 } else { (25_000.0 * settings.seconds) as usize * settings.levels.len() };
    let world = seed(&db, settings.institutions, numbers, max_level).await;
    println!(
        "seeded {} institutions, {} QR sets, {} numbers, {} counters, {} login requests in {:.1} s",
        settings.institutions,
        world.qr_tokens.len(),
        world.numbers.len(),
        world.counter_cookies.len(),
        world.browsers.len(),
        t.elapsed().as_secs_f64()
    );

    // Limits off: the bench measures the paths, not the ceiling on one client.
    let config = match Config::load_from(["ecert-server", "--site-root", "/nonexistent", "--rate-limit-scale", "0"]) {
        Ok(c) => c,
        Err(e) => panic!("config: {e}"),
    };
    let app = router(app_state(&config, db.clone(), Random::os()).unwrap_or_else(|e| panic!("state: {e}")));
    let ours = serve(app).await;
    let bare =
        serve(Router::new().route("/bare", post(|| async { axum::Json(serde_json::json!({"ok": true})) }))).await;

    // The real path makes a set that the server then checks.
    let real = world.real_token.clone();
    let (status, body) = request(ours, &check_request(&real)).await;
    assert_eq!(status, 200, "the real presented set checks: {body}");

    let mut rows = Vec::new();
    for &c in &settings.levels {
        let bare_sample = load(bare, c, settings.seconds, |_| Some(post_json("/bare", "{}", None))).await;
        let base = bare_sample.per_second();
        rows.push(("bare", c, bare_sample, base));
        let tokens = Arc::clone(&world.qr_tokens);
        let s = load(ours, c, settings.seconds, move |i| Some(check_request(&tokens[i % tokens.len()]))).await;
        rows.push(("check (QR)", c, s, base));
        let numbers = Arc::clone(&world.numbers);
        let next = Arc::clone(&world.next_number);
        let cookies = Arc::clone(&world.counter_cookies);
        let s = load(ours, c, settings.seconds, move |i| {
            let number = numbers.get(next.fetch_add(1, Ordering::Relaxed))?;
            let cookie = &cookies[i % cookies.len()];
            Some(post_form("/api/counter_verify", &format!("code={number}"), Some(cookie)))
        })
        .await;
        rows.push(("counter_verify (number)", c, s, base));
        let browsers = Arc::clone(&world.browsers);
        let s = load(ours, c, settings.seconds, move |i| {
            let cookie = format!("ecert_login={}", browsers[i % browsers.len()]);
            Some(post_form("/api/dashboard_login_status", "", Some(&cookie)))
        })
        .await;
        rows.push(("login_status (poll)", c, s, base));
    }

    println!(
        "\n{:<26} {:>4} {:>10} {:>9} {:>9} {:>9} {:>7} {:>8}",
        "path", "C", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "vs bare"
    );
    for (name, c, s, base) in &rows {
        println!(
            "{name:<26} {c:>4} {:>10.0} {:>9.3} {:>9.3} {:>9.3} {:>7} {:>7.0}%",
            s.per_second(),
            ms(s.percentile(50.0)),
            ms(s.percentile(99.0)),
            ms(s.max()),
            s.errors,
            100.0 * s.per_second() / base.max(f64::EPSILON)
        );
        if let Some(e) = &s.first_error {
            println!("    first error: {e}");
        }
    }
    let used: i64 =
        db.fetch_one(query("SELECT COUNT(*) FROM usage_record")).await.unwrap_or_else(|e| panic!("count: {e}"));
    println!("\nusage records written: {used}");
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    if settings.smoke {
        assert!(rows.iter().all(|(_, _, s, _)| s.errors == 0 && !s.latencies.is_empty()), "smoke run had errors");
    }
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
}

async fn seed(db: &Db, institutions: usize, numbers: usize, counters: usize) -> World {
    let random = Random::os();
    let now = Millis::now();
    let (staff, _) = ecert_testing::staff(db, now).await;
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

    World {
        real_token: real_set(db, &staff, now, &random).await,
        qr_tokens: Arc::new(qr_tokens),
        numbers: Arc::new(number_list),
        next_number: Arc::new(AtomicUsize::new(0)),
        counter_cookies: Arc::new(counter_cookies),
        browsers: Arc::new(browsers),
    }
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
        let _ = axum::serve(listener, app).await;
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

fn build(path: &str, content_type: &str, body: &str, cookie: Option<&str>) -> Req {
    let mut b = hyper::Request::post(path)
        .header("host", "127.0.0.1")
        .header("content-type", content_type)
        .header("accept", "application/json");
    if let Some(c) = cookie {
        b = b.header("cookie", c);
    }
    b.body(Full::new(Bytes::from(body.to_owned()))).unwrap_or_else(|e| panic!("{e}"))
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
}

impl Sample {
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

/// `tasks` connections send `make(i)` (`i` a running number) until `seconds` pass or `make`
/// runs out; a non-200 answer is an error.
async fn load<F>(addr: std::net::SocketAddr, tasks: usize, seconds: f64, make: F) -> Sample
where
    F: Fn(usize) -> Option<Req> + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let counter = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (make, counter) = (Arc::clone(&make), Arc::clone(&counter));
            tokio::spawn(async move {
                let mut sender = connect(addr).await;
                let (mut latencies, mut errors, mut first) = (Vec::new(), 0, None);
                while Instant::now() < deadline {
                    let Some(req) = make(counter.fetch_add(1, Ordering::Relaxed)) else { break };
                    let t = Instant::now();
                    let outcome = async {
                        sender.ready().await.map_err(|e| e.to_string())?;
                        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
                        let status = res.status().as_u16();
                        let body = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
                        if status == 200 { Ok(()) } else { Err(format!("{status} {}", String::from_utf8_lossy(&body))) }
                    }
                    .await;
                    latencies.push(t.elapsed());
                    if let Err(e) = outcome {
                        errors += 1;
                        first = first.or(Some(e));
                    }
                }
                (latencies, errors, first)
            })
        })
        .collect();
    let mut sample = Sample { latencies: Vec::new(), errors: 0, first_error: None, wall: Duration::ZERO };
    for h in handles {
        let (latencies, errors, first) = h.await.unwrap_or_else(|e| panic!("load task: {e}"));
        sample.latencies.extend(latencies);
        sample.errors += errors;
        sample.first_error = sample.first_error.or(first);
    }
    sample.wall = start.elapsed();
    sample.latencies.sort_unstable();
    sample
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
