//! Issue 14 crash bar: the `ecert-server` binary is killed with SIGKILL while a thousand grant
//! and usage writes are in flight on SQLite; restarted on the same file, the database is intact,
//! every write the server answered is there, and no unit is half written.
//!
//! The writer is the real server (not a re-executed test binary calling `ecert_core`), because
//! what must hold is the product's promise: an answer the server sent means the write is on
//! disk, through its own pool, write gate and group-committing writer. It is driven over HTTP as
//! the dashboard and the wallet drive it: grants are `dashboard_add_grant` calls of a first
//! manager's session, each bringing a phone approval asked, scanned and approved before the
//! storm (R6, R21); usage records are scan-login answers (R11, R12; most rejected, some
//! confirmed with the certificate password) and public checks of presented QR codes (R9, R10,
//! R12), which go through the group-committing writer.
//! What one request writes together (read from `ecert_core`) is what the checks pair up:
//!
//! * a grant: the approval taken, the `holder_grant` row, its `grant_matter` rows and a
//!   `grant_added` change record, all stamped with the same instant (`holder::add_grant`);
//! * a login answer: the request's final status and a `login` usage record of the same instant
//!   and result (`login::answer`);
//! * a public check: the set's `public_checked_at` mark and a `present`/`public` usage record of
//!   the same instant (`presentation::verify_qr`).
//!
//! Each password check costs an argon2 hash, so the public checks (one new set each) are few
//! beside the grants and logins by the time of the kill; the approvals asked before the storm
//! are most of the test's time.
//!
//! This must stay a test of the product's own durability: it never repairs the file, and reads
//! it with a bare SQLite connection that runs no migration.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ecert_core::Millis;
use ecert_core::device::action;
use ecert_core::login::approval::approve_subject;
use ecert_core::records::{ChangeKind, UsageKind};
use ecert_core::secret::{Random, token_hash};
use ecert_testing::{PASSWORD, Phone, resident_id};
use serde_json::{Value, json};
use sqlx::Connection;

use crate::binary::{code_of, post_form, post_json, server_in, set_cookie, wait_healthy};
use crate::support::scratch_dir;

const ADMIN_PASSWORD: &str = "crash-test-password";
/// Grants added during the storm, each with its own approval.
const GRANTS: usize = 300;
/// Scan logins rejected on the phone (no password) and confirmed (the password, one at a time).
const LOGIN_REJECTS: usize = 550;
const LOGIN_CONFIRMS: usize = 50;
/// Public checks, each of a set just presented, by the user's and the first manager's phones.
const CHECKS_PER_PHONE: usize = 50;
const WRITES: usize = GRANTS + LOGIN_REJECTS + LOGIN_CONFIRMS + 2 * CHECKS_PER_PHONE;
/// Connections the dashboards and phones keep open at once.
const CLIENTS: usize = 128;

/// A phone with the certificate bound to it.
struct Device {
    phone: Phone,
    device_id: String,
    holder_id: String,
}

impl Device {
    fn sign(&self, act: &str, subject: &str) -> String {
        self.phone.sign(act, subject)
    }
}

/// One POST that may die with the server: the status and body of a whole answer (its
/// `Content-Length` all read), or `None` when the connection failed or the answer was cut.
/// `body` goes as JSON; `None` sends an empty form (a server function without arguments).
fn try_post(port: u16, path: &str, cookie: &str, body: Option<&Value>) -> Option<(u16, String)> {
    use std::io::Write;
    let (content_type, body) = match body {
        Some(json) => ("application/json", json.to_string()),
        None => ("application/x-www-form-urlencoded", String::new()),
    };
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n\
         Accept: application/json\r\nCookie: {cookie}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = Vec::new();
    s.read_to_end(&mut response).ok()?;
    let response = String::from_utf8(response).ok()?;
    let (head, rest) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse().ok())?;
    (rest.len() == length).then(|| (status, rest.to_owned()))
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// `day` as `YYYY-MM-DD`, `offset` days after today (China Standard Time).
fn day(offset: i64) -> String {
    ecert_core::time::format_day(ecert_core::time::today_cst(Millis::now()) + offset)
}

/// The grant the storm's `i`th write adds: a period of its own (so that the write can be found)
/// from tomorrow on, and a non-empty set of the catalogue's matters.
#[derive(Clone, Debug)]
struct Plan {
    matter_ids: Vec<String>,
    start_day: String,
    end_day: String,
}

fn plan(i: usize, catalogue: &[String]) -> Plan {
    let start = 1 + (i % 100) as i64;
    let mask = i % ((1 << catalogue.len()) - 1) + 1;
    let mut matter_ids: Vec<String> =
        catalogue.iter().enumerate().filter(|(b, _)| mask & (1 << b) != 0).map(|(_, m)| m.clone()).collect();
    matter_ids.sort();
    Plan { matter_ids, start_day: day(start), end_day: day(start + (i / 100) as i64) }
}

/// A first manager's device signs in to the dashboard by scan login; answers the session cookie.
fn dashboard_session(port: u16, fm: &Device) -> String {
    let (status, head, body) = post_form(port, "/api/dashboard_login_start", "", &[]);
    assert_eq!(status, 200, "{body}");
    let login_cookie = set_cookie(&head, "ecert_login");
    let qr = parse(&body);
    let code = code_of(qr["url"].as_str().unwrap());
    let scan = json!({"code": code, "device_id": fm.device_id, "signature": fm.sign(action::LOGIN_SCAN, &code)});
    assert_eq!(post_json(port, "/api/v1/wallet/login_scan", "", &scan).0, 200);
    let answer = json!({"code": code, "device_id": fm.device_id, "approve": true, "password": PASSWORD,
        "signature": fm.sign(action::LOGIN_APPROVE, &code), "match_code": qr["match_code"]});
    assert_eq!(post_json(port, "/api/v1/wallet/login_answer", "", &answer).0, 200);
    let (status, head, body) = post_form(port, "/api/dashboard_login_status", &login_cookie, &[]);
    assert_eq!((status, body.as_str()), (200, "\"confirmed\""));
    set_cookie(&head, "ecert_holder")
}

/// The dashboard session asks to do `act`, and the holder's phone approves it (issue 14 §1);
/// answers the approval's id, which the write then brings.
fn approved(port: u16, session: &str, fm: &Device, act: Value) -> String {
    let (status, _, body) = post_json(port, "/api/dashboard_approval_ask", session, &json!({"action": act}));
    assert_eq!(status, 200, "{body}");
    let asked = parse(&body);
    let code = code_of(asked["url"].as_str().unwrap());
    let scan = json!({"code": code, "device_id": fm.device_id, "signature": fm.sign(action::APPROVAL_SCAN, &code)});
    let (status, _, body) = post_json(port, "/api/v1/wallet/approval_scan", "", &scan);
    assert_eq!(status, 200, "{body}");
    let subject = approve_subject(&code, parse(&body)["digest"].as_str().unwrap());
    let answer = json!({"code": code, "device_id": fm.device_id, "approve": true, "password": PASSWORD,
        "match_code": asked["match_code"], "signature": fm.sign(action::APPROVAL_APPROVE, &subject)});
    let (status, _, body) = post_json(port, "/api/v1/wallet/approval_answer", "", &answer);
    assert_eq!(status, 200, "{body}");
    asked["id"].as_str().unwrap().to_owned()
}

/// Accepts a claim (`claim`) or face-to-face (`authorize`) code on a new phone.
fn accept(port: u16, kind: &str, code: &str, name: &str, seq: u16) -> Device {
    let phone = Phone::new();
    let act = if kind == "claim" { action::CLAIM } else { action::ACCEPT };
    let body = json!({"kind": kind, "code": code, "name": name, "id_number": resident_id(seq), "password": PASSWORD,
        "public_key": phone.public_key, "signature": phone.sign(act, code)});
    let (status, _, body) = post_json(port, "/api/v1/wallet/accept", "", &body);
    assert_eq!(status, 200, "{body}");
    let binding = parse(&body);
    let id = |k: &str| binding[k].as_str().unwrap().to_owned();
    Device { phone, device_id: id("device_id"), holder_id: id("holder_id") }
}

/// A server process, killed if the test stops before it does.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server on `dir`'s database, started and healthy. Rate limits are off: every request of
/// the storm comes from one address, and the limits have tests of their own.
fn start(dir: &std::path::Path) -> (Server, u16) {
    let (mut command, port) = server_in(dir, ADMIN_PASSWORD);
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
    let server = Server(command.env("ECERT_RATE_LIMIT_SCALE", "0").stdout(Stdio::null()).stderr(log).spawn().unwrap());
    wait_healthy(port);
    (server, port)
}

/// What the server answered with success during the storm.
#[derive(Default)]
struct Acks {
    /// Indexes of the grants' plans.
    grants: Vec<usize>,
    /// Login codes, and the status the answer set.
    logins: Vec<(String, &'static str)>,
    /// QR tokens of presented sets, and of sets whose public check answered.
    presents: Vec<String>,
    checks: Vec<String>,
}

/// The storm's shared state: what was answered, what is on the wire, and the kill.
struct Storm<'a> {
    port: u16,
    session: &'a str,
    fm: &'a Device,
    user: &'a Device,
    acks: Mutex<Acks>,
    /// Grant, login and check writes answered with success.
    acked: AtomicUsize,
    /// Grant, login and check writes sent and not answered yet.
    in_flight: AtomicUsize,
    /// Writes whose client stopped: answered, failed or never sent.
    settled: AtomicUsize,
    killed: AtomicBool,
    /// Answers the living server should not have given, and failures before the kill.
    unexpected: Mutex<Vec<String>>,
}

impl<'a> Storm<'a> {
    fn new(port: u16, session: &'a str, fm: &'a Device, user: &'a Device) -> Storm<'a> {
        Storm {
            port,
            session,
            fm,
            user,
            acks: Mutex::default(),
            acked: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            settled: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            unexpected: Mutex::default(),
        }
    }

    /// A request the server must answer with 200 while it lives; `None` once it was killed.
    fn step(&self, path: &str, cookie: &str, body: Option<&Value>) -> Option<String> {
        self.answer(path, cookie, body, false)
    }

    /// A counted write: sent, and `Some` when answered with success.
    fn write(&self, path: &str, cookie: &str, body: &Value) -> Option<String> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let answer = self.answer(path, cookie, Some(body), true);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        answer
    }

    fn answer(&self, path: &str, cookie: &str, body: Option<&Value>, counted: bool) -> Option<String> {
        if self.killed.load(Ordering::SeqCst) {
            return None;
        }
        match try_post(self.port, path, cookie, body) {
            Some((200, body)) => {
                if counted {
                    self.acked.fetch_add(1, Ordering::SeqCst);
                }
                Some(body)
            }
            Some((status, body)) => {
                self.unexpected.lock().unwrap().push(format!("{path}: {status} {body}"));
                None
            }
            None => {
                if !self.killed.load(Ordering::SeqCst) {
                    self.unexpected.lock().unwrap().push(format!("{path}: no answer before the kill"));
                }
                None
            }
        }
    }

    fn settle(&self, n: usize) {
        self.settled.fetch_add(n, Ordering::SeqCst);
    }

    fn grant(&self, i: usize, plan: &Plan, approval: &str) {
        let body = json!({"holder_id": self.user.holder_id, "matter_ids": plan.matter_ids,
            "start_day": plan.start_day, "end_day": plan.end_day, "approval": approval});
        if self.write("/api/dashboard_add_grant", self.session, &body).is_some() {
            self.acks.lock().unwrap().grants.push(i);
        }
        self.settle(1);
    }

    /// A scan login of the dashboard (no session), scanned by the first manager's phone and
    /// answered: confirmed with the password, or rejected.
    fn login(&self, confirm: bool) {
        let fm = self.fm;
        let answered = (|| {
            let qr = parse(&self.step("/api/dashboard_login_start", "", None)?);
            let code = code_of(qr["url"].as_str().unwrap());
            let scan =
                json!({"code": code, "device_id": fm.device_id, "signature": fm.sign(action::LOGIN_SCAN, &code)});
            self.step("/api/v1/wallet/login_scan", "", Some(&scan))?;
            let answer = if confirm {
                json!({"code": code, "device_id": fm.device_id, "approve": true, "password": PASSWORD,
                    "signature": fm.sign(action::LOGIN_APPROVE, &code), "match_code": qr["match_code"]})
            } else {
                json!({"code": code, "device_id": fm.device_id, "approve": false,
                    "signature": fm.sign(action::LOGIN_REJECT, &code)})
            };
            self.write("/api/v1/wallet/login_answer", "", &answer)?;
            Some(code)
        })();
        if let Some(code) = answered {
            self.acks.lock().unwrap().logins.push((code, if confirm { "confirmed" } else { "rejected" }));
        }
        self.settle(1);
    }

    /// A phone presents again and anyone checks the new QR: `n` times, one after the other (a
    /// device's signing times only go up, and a new set voids the last).
    fn present_and_check(&self, device: &Device, n: usize) {
        let mut signed_at = 0;
        for done in 0..n {
            signed_at = Millis::now().0.max(signed_at + 1);
            let present = json!({"device_id": device.device_id, "signed_at": signed_at,
                "signature": device.phone.sign_timed(action::PRESENT, &device.device_id, signed_at),
                "password": PASSWORD, "grant_id": null});
            let Some(shown) = self.step("/api/v1/wallet/present", "", Some(&present)) else {
                return self.settle(n - done);
            };
            let url = parse(&shown)["url"].as_str().unwrap().to_owned();
            let token = url.split_once("t=").map(|(_, t)| t.to_owned()).expect("a token in the QR");
            self.acks.lock().unwrap().presents.push(token.clone());
            if self.write("/api/v1/check", "", &json!({"token": token})).is_some() {
                self.acks.lock().unwrap().checks.push(token);
            }
            self.settle(1);
        }
    }
}

/// R6, R12 (with R9–R11, R21), issue 14 crash bar: kill -9 of the server under a thousand
/// concurrent grant and usage writes on SQLite loses no answered write and leaves no half unit.
#[test]
fn sigkill_under_a_thousand_grant_and_usage_writes_loses_no_answered_write_and_splits_no_unit() {
    let began = Instant::now();
    let dir = scratch_dir("ecert-crash");
    eprintln!("crash bar: database and server log in {}", dir.display());
    let (mut server, port) = start(&dir);

    // Staff issue a certificate; its legal representative claims it and signs in to the
    // dashboard; the dashboard adds a user with a grant in force today, who accepts (R2, R4, R11).
    let (status, head, body) =
        post_form(port, "/api/staff_sign_in", "", &[("username", "admin"), ("password", ADMIN_PASSWORD)]);
    assert!((200..400).contains(&status), "{head}\n{body}");
    let staff = set_cookie(&head, "ecert_staff");
    let (fm_seq, user_seq) = (701, 702);
    let (status, _, body) = post_form(
        port,
        "/api/issue_certificate",
        &staff,
        &[
            ("credit_code", &ecert_testing::credit_code()),
            ("name", "崩溃测试单位"),
            ("address", "北京市西城区"),
            ("rep_name", "孙八"),
            ("rep_id_number", &resident_id(fm_seq)),
            ("rep_mobile", "13812345678"),
            ("first_manager", "legal_rep"),
            ("check_form", "on"),
            ("check_licence", "on"),
            ("check_identity_card", "on"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let claim = code_of(parse(&body)["claim_url"].as_str().unwrap());
    let fm = accept(port, "claim", &claim, "孙八", fm_seq);
    let session = dashboard_session(port, &fm);
    let (_, _, body) = post_form(port, "/api/dashboard_catalogue", &session, &[]);
    let catalogue: Vec<String> =
        parse(&body).as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert!(catalogue.len() >= 2, "{body}");
    let first_grant = json!({"matter_ids": [catalogue[0]], "start_day": day(0), "end_day": day(0)});
    let person = json!({"role": "user", "name": "钱七", "id_number": resident_id(user_seq), "mobile": "13998765432"});
    let mut act = person.clone();
    act["kind"] = json!("add_holder");
    act["grant"] = first_grant.clone();
    let approval = approved(port, &session, &fm, act);
    let mut add = person;
    for k in ["matter_ids", "start_day", "end_day"] {
        add[k] = first_grant[k].clone();
    }
    add["approval"] = json!(approval);
    let (status, _, body) = post_json(port, "/api/dashboard_add_holder", &session, &add);
    assert_eq!(status, 200, "{body}");
    let user = accept(port, "authorize", &code_of(parse(&body)["url"].as_str().unwrap()), "钱七", user_seq);

    // Every grant of the storm approved on the first manager's phone beforehand, a few at a
    // time: the password's tries (R13) are spent before each check and given back after.
    let plans: Vec<Plan> = (0..GRANTS).map(|i| plan(i, &catalogue)).collect();
    let approvals: Vec<String> = {
        let next = AtomicUsize::new(0);
        let out = Mutex::new(vec![String::new(); GRANTS]);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(p) = plans.get(i) else { break };
                        let act = json!({"kind": "add_grant", "holder_id": user.holder_id, "grant":
                            {"matter_ids": p.matter_ids, "start_day": p.start_day, "end_day": p.end_day}});
                        out.lock().unwrap()[i] = approved(port, &session, &fm, act);
                    }
                });
            }
        });
        out.into_inner().unwrap()
    };
    let setup = began.elapsed();

    // The storm: grants and rejected logins from CLIENTS connections at once, beside a phone
    // confirming logins and two phones presenting, each checked on the public page. Killed at a
    // random count of answers while writes are still on the wire.
    let kill_at = {
        let mut b = [0u8; 2];
        Random::os().fill(&mut b);
        150 + usize::from(u16::from_le_bytes(b)) % 300
    };
    let storm_start = Millis::now().0;
    let storm = Storm::new(port, &session, &fm, &user);
    // Six grants in every 17 jobs: the two kinds of write interleave from first to last.
    let jobs: Mutex<VecDeque<Option<usize>>> = {
        let mut grants = 0..GRANTS;
        Mutex::new((0..GRANTS + LOGIN_REJECTS).map(|k| if k % 17 < 6 { grants.next() } else { None }).collect())
    };
    let (mut acked_at_kill, mut in_flight_at_kill) = (0, 0);
    let storm_began = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            s.spawn(|| {
                loop {
                    let Some(job) = jobs.lock().unwrap().pop_front() else { break };
                    if storm.killed.load(Ordering::SeqCst) {
                        storm.settle(1);
                        continue;
                    }
                    match job {
                        Some(i) => storm.grant(i, &plans[i], &approvals[i]),
                        None => storm.login(false),
                    }
                }
            });
        }
        s.spawn(|| {
            for _ in 0..LOGIN_CONFIRMS {
                storm.login(true);
            }
        });
        s.spawn(|| storm.present_and_check(&user, CHECKS_PER_PHONE));
        s.spawn(|| storm.present_and_check(&fm, CHECKS_PER_PHONE));

        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let acked = storm.acked.load(Ordering::SeqCst);
            if acked >= kill_at || Instant::now() > deadline || storm.settled.load(Ordering::SeqCst) == WRITES {
                in_flight_at_kill = storm.in_flight.load(Ordering::SeqCst);
                acked_at_kill = acked;
                storm.killed.store(true, Ordering::SeqCst);
                // SIGKILL: no shutdown, no last checkpoint, no flush the process could do.
                server.0.kill().unwrap();
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    let storm_time = storm_began.elapsed();
    let _ = server.0.wait();
    let acks = storm.acks.into_inner().unwrap();
    let unexpected = storm.unexpected.into_inner().unwrap();
    let acked = acks.grants.len() + acks.logins.len() + acks.checks.len();
    assert!(unexpected.is_empty(), "the living server refused or dropped writes: {unexpected:#?}");
    assert!(acked_at_kill >= kill_at, "the kill came before {kill_at} answers ({acked_at_kill}, {storm_time:?})");
    assert!(in_flight_at_kill > 0, "no write was on the wire at the kill");
    assert!(acked < WRITES, "every write was answered before the kill");

    // Restarted on the same file, the server starts (migrations, keys) and shows the grants.
    let restarted = Instant::now();
    let (mut server, port) = start(&dir);
    let restart_time = restarted.elapsed();
    let (status, _, body) = post_form(port, "/api/dashboard_holders", &session, &[]);
    assert_eq!(status, 200, "the session outlived the crash: {body}");
    let holders = parse(&body);
    let shown: HashSet<(String, String)> = holders
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["id"] == json!(user.holder_id))
        .flat_map(|h| h["grants"].as_array().unwrap().iter())
        .map(|g| (g["start_day"].as_str().unwrap().to_owned(), g["end_day"].as_str().unwrap().to_owned()))
        .collect();
    for &i in &acks.grants {
        assert!(
            shown.contains(&(plans[i].start_day.clone(), plans[i].end_day.clone())),
            "answered grant {i} not shown"
        );
    }
    // And it writes again: one more login, rejected, with its record.
    let one_more = Storm::new(port, &session, &fm, &user);
    one_more.login(false);
    assert_eq!(one_more.acks.lock().unwrap().logins.len(), 1, "{:?}", one_more.unexpected.lock().unwrap());
    let _ = Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status();
    assert!(server.0.wait().unwrap().success(), "clean stop after the restart");

    let checked = Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(verify(&dir.join("ecert.db"), &fm, &user, &plans, &approvals, &acks, storm_start));
    eprintln!(
        "crash bar: killed after {acked_at_kill} answers (target {kill_at}) with {in_flight_at_kill} writes on the wire; \
         {acked} of {WRITES} answered in all ({} grants, {} logins, {} checks; {} presents); setup {setup:?}, \
         storm {storm_time:?}, restart {restart_time:?}, checks {:?}, total {:?}",
        acks.grants.len(),
        acks.logins.len(),
        acks.checks.len(),
        acks.presents.len(),
        checked.elapsed(),
        began.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The multiset of `items`, to compare two sides of units.
fn counted<T: Ord>(items: impl IntoIterator<Item = T>) -> BTreeMap<T, usize> {
    let mut out = BTreeMap::new();
    for item in items {
        *out.entry(item).or_insert(0) += 1;
    }
    out
}

/// Reads the file the server left, with a bare connection, and checks it.
async fn verify(
    db: &std::path::Path,
    fm: &Device,
    user: &Device,
    plans: &[Plan],
    approvals: &[String],
    acks: &Acks,
    storm_start: i64,
) {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(db).create_if_missing(false);
    let mut c = sqlx::SqliteConnection::connect_with(&options).await.unwrap();

    let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check").fetch_all(&mut c).await.unwrap();
    assert_eq!(integrity, ["ok"], "PRAGMA integrity_check");
    let dangling = sqlx::query("PRAGMA foreign_key_check").fetch_all(&mut c).await.unwrap();
    assert!(dangling.is_empty(), "{} rows point at nothing", dangling.len());

    // Grants: plan i's grant exists exactly when approval i was taken, in the same instant as
    // its change record, with the plan's matters; every answered one is there.
    let grants: Vec<(String, String, String, i64, String)> = sqlx::query_as(
        "SELECT id, start_day, end_day, created_at, granted_by FROM holder_grant WHERE holder_id = $1 AND created_at >= $2",
    )
    .bind(&user.holder_id)
    .bind(storm_start)
    .fetch_all(&mut c)
    .await
    .unwrap();
    let matters: Vec<(String, String)> = sqlx::query_as(
        "SELECT gm.grant_id, gm.matter_id FROM grant_matter gm JOIN holder_grant g ON g.id = gm.grant_id \
         WHERE g.holder_id = $1 ORDER BY gm.matter_id",
    )
    .bind(&user.holder_id)
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut matters_of: HashMap<String, Vec<String>> = HashMap::new();
    for (grant, matter) in matters {
        matters_of.entry(grant).or_default().push(matter);
    }
    let bare: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM holder_grant g WHERE NOT EXISTS (SELECT 1 FROM grant_matter m WHERE m.grant_id = g.id)",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(bare, 0, "grants without matters");
    let plan_of: HashMap<(&str, &str), usize> =
        plans.iter().enumerate().map(|(i, p)| ((p.start_day.as_str(), p.end_day.as_str()), i)).collect();
    let mut granted: HashMap<usize, i64> = HashMap::new();
    for (id, start_day, end_day, created_at, granted_by) in &grants {
        let i =
            *plan_of.get(&(start_day.as_str(), end_day.as_str())).unwrap_or_else(|| panic!("grant {id} of no plan"));
        assert!(granted.insert(i, *created_at).is_none(), "plan {i} granted twice");
        assert_eq!(granted_by, &fm.holder_id);
        assert_eq!(matters_of.get(id), Some(&plans[i].matter_ids), "grant {id} (plan {i}) has other matters");
    }
    let taken: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT id, status, updated_at FROM approval_request WHERE holder_id = $1")
            .bind(&fm.holder_id)
            .fetch_all(&mut c)
            .await
            .unwrap();
    let taken: HashMap<&str, (&str, i64)> = taken.iter().map(|(id, s, at)| (id.as_str(), (s.as_str(), *at))).collect();
    for (i, approval) in approvals.iter().enumerate() {
        match (taken.get(approval.as_str()), granted.get(&i)) {
            (Some(("taken", at)), Some(created_at)) => {
                assert_eq!(at, created_at, "approval {i} taken apart from its grant")
            }
            (Some(("approved", _)), None) => {}
            other => panic!("grant {i}: half a unit: approval and grant {other:?}"),
        }
    }
    let changes: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT at, actor_kind, actor_id FROM change_record WHERE kind = $1 AND subject_id = $2 AND at >= $3",
    )
    .bind(ChangeKind::GrantAdded.as_sql())
    .bind(&user.holder_id)
    .bind(storm_start)
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert!(changes.iter().all(|(_, kind, actor)| kind == "holder" && actor == &fm.holder_id), "{changes:?}");
    assert_eq!(
        counted(changes.iter().map(|c| c.0)),
        counted(granted.values().copied()),
        "a grant without its change record, or a change record without its grant"
    );
    for &i in &acks.grants {
        assert!(granted.contains_key(&i), "answered grant {i} ({:?}) is missing", plans[i]);
    }

    // Logins: every answered request has its answer, and each answer its usage record of the
    // same instant and result.
    let requests: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT code_hash, status, updated_at FROM login_request WHERE holder_id = $1")
            .bind(&fm.holder_id)
            .fetch_all(&mut c)
            .await
            .unwrap();
    let by_code: HashMap<&str, &str> = requests.iter().map(|(h, s, _)| (h.as_str(), s.as_str())).collect();
    for (code, status) in &acks.logins {
        assert_eq!(by_code.get(token_hash(code).as_str()), Some(status), "answered login is not {status}");
    }
    let answered = requests
        .iter()
        .filter(|(_, s, at)| (s == "confirmed" || s == "rejected") && *at >= storm_start)
        .map(|(_, s, at)| (*at, s.clone()));
    let records: Vec<(i64, String)> =
        sqlx::query_as("SELECT at, result FROM usage_record WHERE holder_id = $1 AND kind = $2 AND at >= $3")
            .bind(&fm.holder_id)
            .bind(UsageKind::Login.as_sql())
            .bind(storm_start)
            .fetch_all(&mut c)
            .await
            .unwrap();
    assert_eq!(counted(records), counted(answered), "a login answer without its usage record, or the reverse");

    // Public checks: every answered check's set is marked checked, and each mark has its record.
    let sets: Vec<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT qr_hash, holder_id, public_checked_at FROM presentation WHERE holder_id IN ($1, $2)")
            .bind(&fm.holder_id)
            .bind(&user.holder_id)
            .fetch_all(&mut c)
            .await
            .unwrap();
    let mark_of: HashMap<&str, Option<i64>> = sets.iter().map(|(h, _, at)| (h.as_str(), *at)).collect();
    for token in &acks.presents {
        assert!(mark_of.contains_key(token_hash(token).as_str()), "an answered presentation is missing");
    }
    for token in &acks.checks {
        assert!(matches!(mark_of.get(token_hash(token).as_str()), Some(Some(_))), "an answered check is unrecorded");
    }
    let marks = sets.iter().filter_map(|(_, holder, at)| at.map(|at| (holder.clone(), at)));
    let records: Vec<(String, i64)> = sqlx::query_as(
        "SELECT holder_id, at FROM usage_record WHERE holder_id IN ($1, $2) AND kind = $3 AND system = 'public'",
    )
    .bind(&fm.holder_id)
    .bind(&user.holder_id)
    .bind(UsageKind::Present.as_sql())
    .fetch_all(&mut c)
    .await
    .unwrap();
    assert_eq!(counted(records), counted(marks), "a checked mark without its usage record, or the reverse");
    c.close().await.unwrap();
}
