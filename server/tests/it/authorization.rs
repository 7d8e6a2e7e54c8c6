//! The authorization matrix (R7, R8; SPEC §6: "server functions and APIs check the caller's role
//! on every call and resist CSRF"): every server function and every wallet API route, called
//! through the real router in process, by every kind of caller — anonymous, staff of this and of
//! another authority, the first manager, managers, users, and a manager of another institution —
//! must be allowed or refused exactly as R7/R8 and the use-cases say.
//!
//! The matrix is a list of cells `(rule, actor, call, expected status[, what the body must show])`
//! run in phases over one world: a grid (every function × the same eight callers, printed as a
//! table) and scenario phases around it; later phases rely on what earlier ones did (grants
//! cancelled, people removed). Every cell runs even when an earlier one fails; the test then names
//! every failed cell. Fixtures are made with ecert-core in the app's own database, at the real
//! clock. Rule tags are SPEC rules; `§2` is SPEC §2's tiered management (分级管理: an authority's
//! staff act only for the institutions it registers); `§5` is SPEC §5's further business (an
//! establishment applicant's account, issue 18 §1); `-` marks what is public by design.

use std::collections::{BTreeSet, HashMap};

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ecert_core::certificate::PersonInput;
use ecert_core::code::CodeKind;
use ecert_core::device::action;
use ecert_core::holder::{self, GrantInput, Role};
use ecert_core::identity::IdentityVerifier;
use ecert_core::login::approval::{self, Action};
use ecert_core::login::{self, Approval};
use ecert_core::party;
use ecert_core::secret::{Random, Secret, token_hash};
use ecert_core::signing::{self, NewSignRequest};
use ecert_core::staff::StaffView;
use ecert_core::store::Db;
use ecert_core::usage::UsageFilter;
use ecert_core::{Millis, store::query, time};
use ecert_testing::open_test_db;
use ecert_testing::{self as testing, Member, PASSWORD, Phone};
use serde_json::{Value, json};

use crate::support::{self, HOST, app_on, form_encode, no_site};

const INSTITUTION: &str = "北京市授权测试研究院";
const SAME_ORIGIN: &str = "http://127.0.0.1:3000";
const EVIL_ORIGIN: &str = "https://evil.example";

// ---------------------------------------------------------------------------------------------
// Who calls

/// The columns of the matrix. `Fm`, `M1`, `M2` and `X` hold real dashboard sessions (scan login);
/// `U1` holds a session written straight into the database, because scan login refuses users
/// (R11, tested below): its cells check that the dashboard would still show a user only itself
/// (R7) and let it manage nobody (R8) — defence in depth. In wallet cells the actor is the person
/// whose phone signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Actor {
    Anonymous,
    Staff,
    OtherStaff,
    /// The first manager of the certificate under test.
    Fm,
    /// A manager of it, authorized by the first manager.
    M1,
    /// Another manager of the same certificate.
    M2,
    /// A user the first manager authorized.
    U0,
    /// Users M1 authorized.
    U1,
    U1b,
    /// A user M2 authorized.
    U2,
    /// A manager of another institution (registered by the other authority).
    X,
}

use Actor::*;

impl Actor {
    fn label(self) -> &'static str {
        match self {
            Anonymous => "anonymous",
            Staff => "staff of this authority",
            OtherStaff => "staff of another authority",
            Fm => "first manager",
            M1 => "manager M1",
            M2 => "manager M2 (sibling of M1)",
            U0 => "user U0 (first manager's)",
            U1 => "user U1 (M1's)",
            U1b => "user U1b (M1's)",
            U2 => "user U2 (M2's)",
            X => "manager X of another institution",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Anonymous => "-",
            Staff => "staff",
            OtherStaff => "other-staff",
            Fm => "FM",
            M1 => "M1",
            M2 => "M2",
            U0 => "U0",
            U1 => "U1",
            U1b => "U1b",
            U2 => "U2",
            X => "X",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The world

struct World {
    app: axum::Router,
    db: Db,
    staff: StaffView,
    other_staff: StaffView,
    /// The cookie each actor sends to server functions.
    cookies: HashMap<Actor, String>,
    people: HashMap<Actor, Member>,
    /// The certificate under test (authority of `staff`), claimed, with managers and users.
    cert: String,
    credit_code: String,
    /// Issued by `staff`, not claimed yet.
    unclaimed: String,
    /// Issued by `other_staff`; X is a manager of it.
    foreign_cert: String,
    /// A matter of this authority's catalogue and one of the other authority's.
    matter: String,
    foreign_matter: String,
    /// Pending users M1 added: P1 (never accepted), P2 (its face-to-face code is accepted below).
    p1: String,
    p2: String,
    p2_code: String,
    /// More pending users of M1, for the grid's removal row.
    r: [String; 3],
    /// Active users of M1, for the grid's re-download row (R19: each moved once).
    movers: [String; 3],
    /// The grant QR code of a grant M1 gave U1b, waiting for U1b to scan it (R17).
    u1b_grant_code: String,
    /// A grant M1 gave U1 that U1 has not received (R17).
    u1_waiting: String,
    /// The first grant of U0, U1 and U2.
    grants: HashMap<Actor, String>,
    /// Three more grants of U1, for the grid's cancellation row.
    more_grants: [String; 3],
    today: String,
    until: String,
}

/// `by` adds a pending manager or user (with a grant); answers the holder id and the code.
async fn add(
    db: &Db,
    by: &Member,
    role: Role,
    name: &str,
    seq: u16,
    grant: &GrantInput,
    now: Millis,
) -> (String, String) {
    let person = PersonInput { name: name.into(), id_number: testing::resident_id(seq), mobile: "13912345678".into() };
    let grant = (role == Role::User).then_some(grant);
    let caller = testing::caller(db, by).await;
    let code =
        holder::add(db, &caller, role, &person, grant, &IdentityVerifier::Local, now, &Random::os()).await.unwrap();
    (code.holder_id, code.code.expose().to_owned())
}

/// A dashboard session through scan login (R11): start, scan, approve with the password, consume.
async fn open_session(db: &Db, m: &Member, now: Millis) -> String {
    let random = Random::os();
    let started = login::start(db, login::DASHBOARD, &login::Requester::default(), now, &random).await.unwrap();
    let code = started.code.expose();
    let device_id = &m.binding.device_id;
    login::scan(db, code, device_id, &m.phone.sign(action::LOGIN_SCAN, code), None, now).await.unwrap();
    let approve = m.phone.sign(action::LOGIN_APPROVE, code);
    login::answer(
        db,
        code,
        device_id,
        &approve,
        Some(Approval { password: Secret::new(PASSWORD), match_code: started.match_code.clone() }),
        now,
        &random,
    )
    .await
    .unwrap();
    let session = login::consume(db, started.browser.expose(), now, &random).await.unwrap().unwrap();
    session.token.expose().to_owned()
}

/// A dashboard session written straight into the database (scan login refuses users).
async fn forged_session(db: &Db, m: &Member, now: Millis) -> String {
    let token = Random::os().token();
    db.execute(query("INSERT INTO holder_session (token_hash, holder_id, device_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)").bind(token_hash(token.expose())).bind(&m.binding.holder_id).bind(&m.binding.device_id).bind(now.0).bind(now.0 + 8 * Millis::HOUR)).await
    .unwrap();
    token.expose().to_owned()
}

async fn world() -> World {
    let db = open_test_db().await;
    let app = app_on(&db, &["--site-root", &no_site()]);
    let now = Millis::now();
    let today_n = time::today_cst(now);
    let (today, until) = (time::format_day(today_n), time::format_day(today_n + 30));

    let (staff_view, staff_token) = testing::staff(&db, now).await;
    let (other_view, other_token) = testing::staff(&db, now).await;
    let matter = holder::catalogue(&db, &staff_view.authority_id).await.unwrap()[0].id.clone();
    let foreign_matter = holder::catalogue(&db, &other_view.authority_id).await.unwrap()[0].id.clone();
    let grant = GrantInput { matter_ids: vec![matter.clone()], start_day: today.clone(), end_day: until.clone() };

    // The certificate under test: FM claims; FM adds M1, M2 and U0; M1 adds U1, U1b and the
    // pending P1, P2; M2 adds U2.
    let issued = testing::issue(&db, &staff_view, INSTITUTION, "张三", 101, now).await;
    let (cert, credit_code) = (issued.certificate_id, issued.credit_code);
    let fm = testing::accept(&db, CodeKind::Claim, issued.claim_code.expose(), "张三", 101, now).await;
    let m1 = testing::member(&db, &fm, Role::Manager, "李四", 102, None, now).await;
    let m2 = testing::member(&db, &fm, Role::Manager, "王五", 103, None, now).await;
    let u0 = testing::member(&db, &fm, Role::User, "赵六", 104, Some(&grant), now).await;
    let u1 = testing::member(&db, &m1, Role::User, "钱七", 105, Some(&grant), now).await;
    let u1b = testing::member(&db, &m1, Role::User, "孙八", 106, Some(&grant), now).await;
    let u2 = testing::member(&db, &m2, Role::User, "周九", 107, Some(&grant), now).await;
    let (p1, _) = add(&db, &m1, Role::User, "吴十", 108, &grant, now).await;
    let (p2, p2_code) = add(&db, &m1, Role::User, "郑一", 109, &grant, now).await;
    let mut r = Vec::new();
    for (name, seq) in [("王甲", 111), ("王乙", 112), ("王丙", 113)] {
        r.push(add(&db, &m1, Role::User, name, seq, &grant, now).await.0);
    }
    let mut movers = Vec::new();
    for (name, seq) in [("李甲", 114), ("李乙", 115), ("李丙", 116)] {
        movers.push(testing::member(&db, &m1, Role::User, name, seq, Some(&grant), now).await.binding.holder_id);
    }
    let unclaimed = testing::issue(&db, &staff_view, INSTITUTION, "冯二", 110, now).await.certificate_id;

    // Another institution, registered by the other authority, with its manager X.
    let foreign = testing::issue(&db, &other_view, INSTITUTION, "陈三", 201, now).await;
    let foreign_cert = foreign.certificate_id;
    let fm2 = testing::accept(&db, CodeKind::Claim, foreign.claim_code.expose(), "陈三", 201, now).await;
    let x = testing::member(&db, &fm2, Role::Manager, "褚四", 202, None, now).await;

    let mut cookies = HashMap::new();
    cookies.insert(Staff, format!("ecert_staff={}", staff_token.expose()));
    cookies.insert(OtherStaff, format!("ecert_staff={}", other_token.expose()));
    for (actor, m) in [(Fm, &fm), (M1, &m1), (M2, &m2), (X, &x)] {
        cookies.insert(actor, format!("ecert_holder={}", open_session(&db, m, now).await));
    }
    cookies.insert(U1, format!("ecert_holder={}", forged_session(&db, &u1, now).await));

    let listed = holder::list(&db, &testing::caller(&db, &fm).await, now).await.unwrap();
    let mut grants = HashMap::new();
    for (actor, m) in [(U0, &u0), (U1, &u1), (U2, &u2)] {
        let view = listed.iter().find(|h| h.id == m.binding.holder_id).unwrap();
        grants.insert(actor, view.grants[0].id.clone());
    }
    // Made after the above: grants made at the same instant list in no particular order.
    let mut more_grants = Vec::new();
    // Received on U1's phone (R17), so that they are in force like U1's first grant.
    for _ in 0..3 {
        let by = testing::caller(&db, &m1).await;
        let given = holder::add_grant(&db, &by, &u1.binding.holder_id, &grant, now, &Random::os()).await.unwrap();
        let code = given.code.expose().to_owned();
        let signature = u1.phone.sign(action::GRANT_RECEIVE, &code);
        holder::receive_grant(&db, &code, &u1.binding.device_id, &signature, now, &Random::os()).await.unwrap();
        more_grants.push(given.grant_id);
    }
    // One more that U1 has not received (R17), for the grid's grant-QR row.
    let by = testing::caller(&db, &m1).await;
    let u1_waiting =
        holder::add_grant(&db, &by, &u1.binding.holder_id, &grant, now, &Random::os()).await.unwrap().grant_id;

    let by = testing::caller(&db, &m1).await;
    let given = holder::add_grant(&db, &by, &u1b.binding.holder_id, &grant, now, &Random::os()).await.unwrap();
    let u1b_grant_code = given.code.expose().to_owned();

    let people = HashMap::from([(Fm, fm), (M1, m1), (M2, m2), (U0, u0), (U1, u1), (U1b, u1b), (U2, u2), (X, x)]);
    World {
        app,
        db,
        staff: staff_view,
        other_staff: other_view,
        cookies,
        people,
        cert,
        credit_code,
        unclaimed,
        foreign_cert,
        matter,
        foreign_matter,
        p1,
        p2,
        p2_code,
        r: r.try_into().unwrap(),
        movers: movers.try_into().unwrap(),
        u1b_grant_code,
        u1_waiting,
        grants,
        more_grants: more_grants.try_into().unwrap(),
        today,
        until,
    }
}

impl World {
    fn dev(&self, a: Actor) -> String {
        self.people[&a].binding.device_id.clone()
    }

    fn id(&self, a: Actor) -> String {
        self.people[&a].binding.holder_id.clone()
    }

    fn ids(&self, actors: &[Actor]) -> BTreeSet<String> {
        actors.iter().map(|a| self.id(*a)).collect()
    }

    /// `signer`'s phone signs `device::message(act, subject)`; anonymous callers have no key
    /// and send a well-formed but wrong signature.
    fn sig(&self, signer: Actor, act: &str, subject: &str) -> String {
        match self.people.get(&signer) {
            Some(m) => m.phone.sign(act, subject),
            None => URL_SAFE_NO_PAD.encode([7u8; 64]),
        }
    }

    /// A timed signature (issue 14 §5): `signer` signs `act` over `subject` LF a signing time
    /// later than any before it; answers the time and the signature.
    fn timed(&self, signer: Actor, act: &str, subject: &str) -> (i64, String) {
        let signed_at = Millis::now().0 + i64::from(seq_activity());
        (signed_at, self.sig(signer, act, &ecert_core::device::timed_subject(subject, signed_at)))
    }

    /// Every holder of the certificate under test (before the removal phase).
    fn everyone(&self) -> BTreeSet<String> {
        let mut all = self.ids(&[Fm, M1, M2, U0, U1, U1b, U2]);
        all.extend(self.pending_of_m1());
        all
    }

    /// M1's users besides U1 and U1b: the pending ones and the grid's movers.
    fn pending_of_m1(&self) -> Vec<String> {
        let mut ids = vec![self.p1.clone(), self.p2.clone()];
        ids.extend(self.r.iter().cloned());
        ids.extend(self.movers.iter().cloned());
        ids
    }
}

// ---------------------------------------------------------------------------------------------
// Calls and cells

enum Payload {
    Form(Vec<(String, String)>),
    Json(Value),
}

struct Call {
    label: String,
    /// The endpoint name, for counting rows.
    endpoint: &'static str,
    path: String,
    payload: Payload,
}

/// A server function with form-encoded arguments (the default `PostUrl` encoding).
fn api(endpoint: &'static str, label: impl Into<String>, args: &[(&str, &str)]) -> Call {
    Call {
        label: label.into(),
        endpoint,
        path: format!("/api/{endpoint}"),
        payload: Payload::Form(args.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
    }
}

/// A server function with `input = Json`.
fn api_json(endpoint: &'static str, label: impl Into<String>, body: Value) -> Call {
    Call { label: label.into(), endpoint, path: format!("/api/{endpoint}"), payload: Payload::Json(body) }
}

/// A route of the wallet JSON API.
fn wallet(endpoint: &'static str, label: impl Into<String>, body: Value) -> Call {
    Call { label: label.into(), endpoint, path: format!("/api/v1/wallet/{endpoint}"), payload: Payload::Json(body) }
}

/// What came back: the JSON body (or the text as a JSON string) and the cookies set.
struct Got {
    json: Value,
    set_cookies: Vec<String>,
}

type Check = Box<dyn Fn(&Got) -> bool>;

struct Cell {
    rule: &'static str,
    actor: Actor,
    call: Call,
    status: u16,
    check: Option<(String, Check)>,
    origin: Option<&'static str>,
    extra_cookie: Option<String>,
    /// Send a dashboard write without the phone approval the harness otherwise gets for it.
    unapproved: bool,
}

fn cell(rule: &'static str, actor: Actor, call: Call, status: u16) -> Cell {
    Cell { rule, actor, call, status, check: None, origin: None, extra_cookie: None, unapproved: false }
}

/// The dashboard writes that give, show or take a power: each takes a phone approval of its
/// action (issue 14 §1).
const APPROVED_WRITES: [&str; 8] = [
    "dashboard_add_holder",
    "dashboard_authorize_code",
    "dashboard_redownload_code",
    "dashboard_grant_code",
    "dashboard_set_may_authorize",
    "dashboard_remove_holder",
    "dashboard_add_grant",
    "dashboard_cancel_grant",
];

/// The action a dashboard write's arguments describe, as the page asks the phone to approve it.
fn action_of(call: &Call) -> Option<Action> {
    let arg = |k: &str| -> String {
        match &call.payload {
            Payload::Form(args) => args.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default(),
            Payload::Json(v) => v[k].as_str().unwrap_or_default().to_owned(),
        }
    };
    let grant = || {
        let ids = match &call.payload {
            Payload::Json(v) => v["matter_ids"].as_array().cloned().unwrap_or_default(),
            Payload::Form(_) => Vec::new(),
        };
        GrantInput {
            matter_ids: ids.iter().filter_map(|m| m.as_str().map(str::to_owned)).collect(),
            start_day: arg("start_day"),
            end_day: arg("end_day"),
        }
    };
    Some(match call.endpoint {
        "dashboard_add_holder" => {
            let role = Role::parse(&arg("role")).ok()?;
            let grant = (role == Role::User).then(grant);
            Action::AddHolder { role, name: arg("name"), id_number: arg("id_number"), mobile: arg("mobile"), grant }
        }
        "dashboard_authorize_code" => Action::AuthorizeCode { holder_id: arg("holder_id") },
        "dashboard_remove_holder" => Action::RemoveHolder { holder_id: arg("holder_id") },
        "dashboard_redownload_code" => Action::RedownloadCode { holder_id: arg("holder_id") },
        "dashboard_grant_code" => Action::GrantCode { grant_id: arg("grant_id") },
        "dashboard_set_may_authorize" => {
            Action::SetMayAuthorize { holder_id: arg("holder_id"), allowed: arg("allowed") == "true" }
        }
        "dashboard_add_grant" => Action::AddGrant { holder_id: arg("holder_id"), grant: grant() },
        "dashboard_cancel_grant" => Action::CancelGrant { grant_id: arg("grant_id") },
        _ => return None,
    })
}

impl Cell {
    /// The body must also show `what`.
    fn shows(mut self, what: impl Into<String>, f: impl Fn(&Value) -> bool + 'static) -> Cell {
        self.check = Some((what.into(), Box::new(move |got: &Got| f(&got.json))));
        self
    }

    fn shows_got(mut self, what: impl Into<String>, f: impl Fn(&Got) -> bool + 'static) -> Cell {
        self.check = Some((what.into(), Box::new(f)));
        self
    }

    fn origin(mut self, origin: &'static str) -> Cell {
        self.origin = Some(origin);
        self
    }

    fn cookie(mut self, cookie: String) -> Cell {
        self.extra_cookie = Some(cookie);
        self
    }

    fn unapproved(mut self) -> Cell {
        self.unapproved = true;
        self
    }
}

/// The ids of a JSON array of objects with an `id`.
fn ids_of(v: &Value) -> BTreeSet<String> {
    v.as_array().map(|a| a.iter().filter_map(|h| h["id"].as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// The `subject_id`s of a JSON array of change records.
fn subjects_of(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|r| r["subject_id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn certificate_ids(v: &Value) -> BTreeSet<String> {
    v["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["certificate_id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[derive(Default)]
struct Report {
    lines: Vec<String>,
    grid: Vec<String>,
    failures: Vec<String>,
    endpoints: BTreeSet<&'static str>,
    actors: BTreeSet<Actor>,
    cells: usize,
}

impl World {
    async fn send(&self, c: &Cell) -> (u16, Got, String) {
        let mut req = Request::post(&c.call.path).header(header::HOST, HOST).header(header::ACCEPT, "application/json");
        let cookies: Vec<&str> =
            self.cookies.get(&c.actor).into_iter().chain(c.extra_cookie.as_ref()).map(String::as_str).collect();
        if !cookies.is_empty() {
            req = req.header(header::COOKIE, cookies.join("; "));
        }
        // A browser sends `Origin` with every POST: an actor with a session is a browser.
        if let Some(origin) = c.origin.or((!cookies.is_empty()).then_some(SAME_ORIGIN)) {
            req = req.header(header::ORIGIN, origin);
        }
        let approval = if c.unapproved { None } else { self.approval_for(c).await };
        let body = match &c.call.payload {
            Payload::Form(args) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                let mut args = args.clone();
                args.extend(approval.map(|id| ("approval".to_owned(), id)));
                form_encode(&args)
            }
            Payload::Json(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                let mut v = v.clone();
                if let Some(id) = approval {
                    v["approval"] = json!(id);
                }
                v.to_string()
            }
        };
        let reply = support::send(&self.app, req.body(Body::from(body)).unwrap()).await;
        let set_cookies = reply
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        (reply.status.as_u16(), Got { json: reply.json(), set_cookies }, reply.body)
    }

    /// For a dashboard write by an actor with a session and a phone: the phone approves the
    /// write's action as the page would ask it (issue 14 §1), so that the cell tests who may do
    /// what. `None` when the approval cannot even be asked (a holder the actor may not see:
    /// the write then answers for itself) or the actor has no session or phone.
    async fn approval_for(&self, c: &Cell) -> Option<String> {
        if !APPROVED_WRITES.contains(&c.call.endpoint) {
            return None;
        }
        let token = self.cookies.get(&c.actor)?.strip_prefix("ecert_holder=")?.to_owned();
        let phone = self.people.get(&c.actor)?;
        let now = Millis::now();
        let caller = login::current(&self.db, &token, now).await.ok()??;
        let act = action_of(&c.call)?;
        let random = Random::os();
        let asked = approval::ask(&self.db, &caller, &act, &login::Requester::default(), now, &random).await.ok()?;
        let code = asked.code.expose();
        let device_id = &phone.binding.device_id;
        let prompt =
            approval::scan(&self.db, code, device_id, &phone.phone.sign(action::APPROVAL_SCAN, code), None, now)
                .await
                .ok()?;
        let subject = approval::approve_subject(code, &prompt.digest);
        let sig = phone.phone.sign(action::APPROVAL_APPROVE, &subject);
        let yes = login::Approval { password: Secret::new(PASSWORD), match_code: asked.match_code.clone() };
        approval::answer(&self.db, code, device_id, &sig, Some(yes), now).await.ok()?;
        Some(asked.id)
    }

    /// Runs one cell and records it; answers the status and whether the cell held.
    async fn run_cell(&self, report: &mut Report, c: Cell) -> (u16, bool) {
        let (status, got, text) = self.send(&c).await;
        let mut problem = None;
        if status != c.status {
            problem = Some(format!("expected {}, got {status}", c.status));
        } else if let Some((what, check)) = &c.check
            && !check(&got)
        {
            problem = Some(format!("status {status} as expected, but the body does not show: {what}"));
        }
        let origin = match c.origin {
            Some(SAME_ORIGIN) => " [same origin]",
            Some(_) => " [cross-site]",
            None => "",
        };
        let line = format!(
            "{:<4} {:<6} {:<32} × {}{origin} → {status}",
            if problem.is_some() { "FAIL" } else { "ok" },
            c.rule,
            c.actor.label(),
            c.call.label,
        );
        let held = problem.is_none();
        if let Some(problem) = problem {
            let mut body = text;
            if body.len() > 400 {
                let mut cut = 400;
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                body.truncate(cut);
            }
            report.failures.push(format!("{line}: {problem}\n       body: {body}"));
        }
        report.lines.push(line);
        report.endpoints.insert(c.call.endpoint);
        report.actors.insert(c.actor);
        report.cells += 1;
        (status, held)
    }

    /// Runs one phase of scenario cells, in order.
    async fn run(&self, report: &mut Report, phase: &str, table: Vec<Cell>) {
        report.lines.push(format!("── {phase}"));
        for c in table {
            self.run_cell(report, c).await;
        }
    }

    /// Runs rows of the grid, each row left to right, and prints them as a table: the status
    /// each column got, `!` where it is not the expected one.
    async fn run_grid(&self, report: &mut Report, phase: &str, rows: Vec<Row>) {
        report.lines.push(format!("── {phase}"));
        let mut table = vec![format!(
            "{:<6} {:<58}{}",
            "rule",
            "call",
            COLUMNS.iter().map(|a| format!("{:>12}", a.short())).collect::<String>()
        )];
        for row in rows {
            let mut line = format!("{:<6} {:<58}", row.rule, row.label);
            for c in row.cells {
                let expected = c.status;
                let (status, held) = self.run_cell(report, c).await;
                let mark = if held { String::new() } else { format!("!(want {expected})") };
                line.push_str(&format!("{:>12}", format!("{status}{mark}")));
            }
            table.push(line);
        }
        report.grid.extend(table);
    }
}

/// The columns of the grid.
const COLUMNS: [Actor; 8] = [Anonymous, Staff, OtherStaff, Fm, M1, M2, U1, X];

/// One row of the grid: one call, made by each column's actor.
struct Row {
    rule: &'static str,
    label: String,
    cells: Vec<Cell>,
}

/// A row: `build` makes the call for an actor (usually the same call for all), `expected` the
/// status per column of [`COLUMNS`].
fn row(rule: &'static str, label: &str, expected: [u16; 8], build: impl Fn(Actor) -> Call) -> Row {
    let cells = COLUMNS.iter().zip(expected).map(|(a, status)| cell(rule, *a, build(*a), status)).collect();
    Row { rule, label: label.to_owned(), cells }
}

// ---------------------------------------------------------------------------------------------
// The phases

fn holders() -> Call {
    api("dashboard_holders", "dashboard_holders", &[])
}

fn remove(target: &str, who: &str) -> Call {
    api("dashboard_remove_holder", format!("dashboard_remove_holder({who})"), &[("holder_id", target)])
}

fn sms_request(w: &World, signer: Actor, device_of: Actor, label: &str) -> Call {
    let device_id = w.dev(device_of);
    let (signed_at, signature) = w.timed(signer, action::SMS_REQUEST, &device_id);
    let body = json!({ "device_id": device_id, "signed_at": signed_at, "signature": signature });
    wallet("sms_request", format!("wallet/sms_request({label})"), body)
}

fn change(certificate: &str, which: &str, request: Value) -> Call {
    api_json(
        "apply_change",
        format!("apply_change({which})"),
        json!({ "certificate_id": certificate, "request": request }),
    )
}

/// An annual report form for last year, as the dashboard sends it.
fn annual_report() -> Value {
    let year = time::civil_from_days(time::today_cst(Millis::now())).0 - 1;
    json!({ "kind": "annual_report", "year": year, "activities": "开展业务", "net_assets_start": "10",
        "net_assets_end": "12", "assets_start": "20", "assets_end": "22", "change_compliance": "按规定办理",
        "performance": "良好", "litigation": "无", "complaints": "无", "other": "" })
}

fn rename(certificate: &str, which: &str) -> Call {
    change(certificate, &format!("{which}, Rename"), json!({ "Rename": { "name": "北京市授权测试研究院（更名）" } }))
}

/// The grid: every server function and wallet route × the same eight callers. Where a call
/// changes something, each allowed column gets its own target (a pending user, a grant), so
/// that every refused column meets a live target and is refused for the right reason.
async fn grid(w: &World) -> Vec<Row> {
    const ANYONE: [u16; 8] = [200; 8];
    const NOBODY: [u16; 8] = [401; 8];
    const STAFF_ONLY: [u16; 8] = [401, 200, 200, 401, 401, 401, 401, 401];
    const OWN_AUTHORITY: [u16; 8] = [401, 200, 403, 401, 401, 401, 401, 401];
    const HOLDERS: [u16; 8] = [401, 401, 401, 200, 200, 200, 200, 200];
    const OVER_M1S_USER: [u16; 8] = [401, 401, 401, 200, 200, 404, 403, 404];
    const OWN_DEVICE_ONLY: [u16; 8] = [401, 401, 401, 200, 401, 401, 401, 401];

    let random = Random::os();
    let mut logins = HashMap::new();
    for a in COLUMNS {
        let started =
            login::start(&w.db, login::DASHBOARD, &login::Requester::default(), Millis::now(), &random).await.unwrap();
        logins.insert(a, (started.code.expose().to_owned(), started.match_code.clone()));
    }
    // Callers without a phone try M1's device with a signature that is not M1's.
    let own = |a: Actor| if w.people.contains_key(&a) { a } else { M1 };
    let none = |endpoint: &'static str| move |_: Actor| api(endpoint, endpoint, &[]);
    let seq = std::cell::Cell::new(140u16);
    let next = || {
        seq.set(seq.get() + 1);
        seq.get()
    };
    let (u1, fm_dev) = (w.id(U1), w.dev(Fm));
    let by_column = |a: Actor, list: &[String; 3]| match a {
        Fm => list[0].clone(),
        M1 => list[1].clone(),
        _ => list[2].clone(),
    };

    vec![
        row("-", "system_status", ANYONE, none("system_status")),
        row("-", "current_staff", ANYONE, none("current_staff")),
        row("-", "staff_sign_in(wrong password)", NOBODY, |_| {
            api("staff_sign_in", "staff_sign_in", &[("username", "nobody"), ("password", "wrong")])
        }),
        row("§2", "list_certificates", STAFF_ONLY, |_| {
            api("list_certificates", "list_certificates", &[("text", ""), ("status", ""), ("page", "0")])
        }),
        row("§2", "issue_certificate(a new institution)", STAFF_ONLY, |_| {
            let code = testing::credit_code();
            api(
                "issue_certificate",
                "issue_certificate(a new institution)",
                &[
                    ("credit_code", &code),
                    ("name", "北京市授权测试三院"),
                    ("address", "北京市海淀区中关村大街3号"),
                    ("rep_name", "蒋五"),
                    ("rep_id_number", &testing::resident_id(301)),
                    ("rep_mobile", "13812345679"),
                    ("first_manager", "legal_rep"),
                    ("check_form", "on"),
                    ("check_licence", "on"),
                    ("check_identity_card", "on"),
                ],
            )
        }),
        row("§2", "refresh_claim_code(this authority's unclaimed certificate)", OWN_AUTHORITY, |_| {
            api("refresh_claim_code", "refresh_claim_code", &[("certificate_id", &w.unclaimed)])
        }),
        row("§2", "apply_change(this authority's certificate, Rename)", OWN_AUTHORITY, |_| {
            rename(&w.cert, "certificate")
        }),
        row("§2", "sms_outbox (each authority its own)", STAFF_ONLY, none("sms_outbox")),
        row("R11", "dashboard_login_start", ANYONE, none("dashboard_login_start")),
        row("R11", "dashboard_login_status", ANYONE, none("dashboard_login_status")),
        row("R7", "dashboard_me", ANYONE, none("dashboard_me")),
        row("R7", "dashboard_holders", HOLDERS, none("dashboard_holders")),
        row("R7", "dashboard_catalogue", HOLDERS, none("dashboard_catalogue")),
        row("R7", "dashboard_changes", HOLDERS, none("dashboard_changes")),
        row(
            "R4",
            "dashboard_add_holder(role = user, into own certificate)",
            [401, 401, 401, 200, 200, 200, 403, 200],
            |a| {
                let seq = next();
                api_json(
                    "dashboard_add_holder",
                    "dashboard_add_holder(role = user)",
                    json!({
                        "role": Role::User, "name": "卫八", "id_number": testing::resident_id(seq), "mobile": "13912340001",
                        // Each caller grants matters of its own authority's catalogue.
                        "matter_ids": [if a == X { &w.foreign_matter } else { &w.matter }],
                        "start_day": w.today, "end_day": w.until,
                    }),
                )
            },
        ),
        row("R3", "dashboard_add_holder(role = manager)", [401, 401, 401, 200, 403, 403, 403, 403], |_| {
            api_json(
                "dashboard_add_holder",
                "dashboard_add_holder(role = manager)",
                json!({
                    "role": Role::Manager, "name": "卫九", "id_number": testing::resident_id(next()), "mobile": "13912340002",
                    "matter_ids": [], "start_day": "", "end_day": "",
                }),
            )
        }),
        row("R5", "dashboard_authorize_code(P1, M1's pending user)", [401, 401, 401, 200, 200, 404, 404, 404], |_| {
            api("dashboard_authorize_code", "dashboard_authorize_code(P1)", &[("holder_id", &w.p1)])
        }),
        row("R6", "dashboard_add_grant(U1, M1's user)", OVER_M1S_USER, |_| {
            api_json(
                "dashboard_add_grant",
                "dashboard_add_grant(U1)",
                json!({ "holder_id": u1, "matter_ids": [w.matter], "start_day": w.today, "end_day": w.until }),
            )
        }),
        // R17: a grant not received yet shows its grant QR again, to those who manage its user.
        row("R17", "dashboard_grant_code(a waiting grant of U1, M1's user)", OVER_M1S_USER, |_| {
            api("dashboard_grant_code", "dashboard_grant_code(U1's)", &[("grant_id", &w.u1_waiting)])
        }),
        // Only the first manager gives or withdraws a manager's right to authorize users.
        row("R7", "dashboard_set_may_authorize(M2, allowed)", [401, 401, 401, 200, 404, 403, 404, 404], |_| {
            api(
                "dashboard_set_may_authorize",
                "dashboard_set_may_authorize(M2)",
                &[("holder_id", &w.id(M2)), ("allowed", "true")],
            )
        }),
        row("R17", "wallet/grant_offer(U1b's grant code)", ANYONE, |_| {
            wallet("grant_offer", "wallet/grant_offer", json!({ "code": w.u1b_grant_code }))
        }),
        // Only the phone of the user it was given to receives a grant.
        row(
            "R17",
            "wallet/grant_receive(U1b's grant code, own device)",
            [401, 401, 401, 410, 410, 410, 410, 410],
            |a| {
                let code = &w.u1b_grant_code;
                let body = json!({ "code": code, "device_id": w.dev(own(a)), "signature": w.sig(a, action::GRANT_RECEIVE, code) });
                wallet("grant_receive", "wallet/grant_receive(U1b's code)", body)
            },
        ),
        row("R6", "dashboard_cancel_grant(a live grant of U1, M1's user)", OVER_M1S_USER, |a| {
            api(
                "dashboard_cancel_grant",
                "dashboard_cancel_grant(U1's)",
                &[("grant_id", &by_column(a, &w.more_grants))],
            )
        }),
        row("R8", "dashboard_remove_holder(a pending user of M1)", [401, 401, 401, 200, 200, 404, 404, 404], |a| {
            remove(&by_column(a, &w.r), "a pending user of M1")
        }),
        // R19: the one who added a holder moves them to a new phone; nobody else sees them.
        row("R19", "dashboard_redownload_code(an active user of M1)", [401, 401, 401, 200, 200, 404, 404, 404], |a| {
            let target = by_column(a, &w.movers);
            api("dashboard_redownload_code", "dashboard_redownload_code(M1's user)", &[("holder_id", &target)])
        }),
        // R19: the re-download code is the only credential of the phone that asks; a code that
        // is not a live re-download code sends nothing, to anyone.
        row("R19", "wallet/redownload_sms(a face-to-face code, not a re-download code)", [410; 8], |_| {
            wallet("redownload_sms", "wallet/redownload_sms", json!({ "code": w.p2_code }))
        }),
        row("R4", "wallet/offer(P2's face-to-face code)", ANYONE, |_| {
            wallet("offer", "wallet/offer", json!({ "kind": "authorize", "code": w.p2_code }))
        }),
        row("R11", "wallet/login_scan(a fresh login QR, own device)", [401, 401, 401, 200, 200, 200, 403, 200], |a| {
            let (code, _) = &logins[&a];
            let device = w.dev(own(a));
            let body = json!({ "code": code, "device_id": device, "signature": w.sig(a, action::LOGIN_SCAN, code) });
            wallet("login_scan", "wallet/login_scan", body)
        }),
        row(
            "R11",
            "wallet/login_answer(that QR, own device, approve)",
            [401, 401, 401, 200, 200, 200, 409, 200],
            |a| {
                let (code, match_code) = &logins[&a];
                let body = json!({
                    "code": code, "device_id": w.dev(own(a)), "signature": w.sig(a, action::LOGIN_APPROVE, code),
                    "approve": true, "password": PASSWORD, "match_code": match_code,
                });
                wallet("login_answer", "wallet/login_answer", body)
            },
        ),
        row("R13", "wallet/password(FM's device)", OWN_DEVICE_ONLY, |a| {
            let (signed_at, signature) = w.timed(a, action::PASSWORD_CHANGE, &fm_dev);
            let body = json!({
                "device_id": fm_dev, "signed_at": signed_at, "signature": signature,
                "old_password": PASSWORD, "new_password": PASSWORD,
            });
            wallet("password", "wallet/password(FM's device)", body)
        }),
        row("R13", "wallet/sms_request(FM's device)", OWN_DEVICE_ONLY, |a| sms_request(w, a, Fm, "FM's device")),
        // Issue 4: relying parties and counters, presentation, records, OpenID Connect.
        row("§2", "parties_list (each authority its own)", STAFF_ONLY, none("parties_list")),
        row("§2", "party_register", STAFF_ONLY, |_| {
            let name = format!("矩阵应用系统{}", next());
            api("party_register", "party_register", &[("name", &name), ("redirect_uris", "")])
        }),
        row("-", "counter_me", ANYONE, none("counter_me")),
        // Issue 18 §3: the application-scenario list is public by design.
        row("-", "scenario_list", ANYONE, none("scenario_list")),
        // Issue 18 §1, R23: managers file registration business (a user does not); the filing
        // itself takes the phone's approval of its document (core: tests/it/filings.rs).
        row("R23", "dashboard_filings", [401, 401, 401, 200, 200, 200, 403, 200], none("dashboard_filings")),
        row("R23", "dashboard_filing_prepare(an annual report)", [401, 401, 401, 200, 200, 200, 403, 200], |_| {
            api_json("dashboard_filing_prepare", "dashboard_filing_prepare", json!({ "form": annual_report() }))
        }),
        row("R21", "dashboard_filing_submit(no phone approval)", [401, 401, 401, 403, 403, 403, 403, 403], |_| {
            let body = json!({ "form": annual_report(), "digest": "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", "approval": null });
            api_json("dashboard_filing_submit", "dashboard_filing_submit", body)
        }),
        row("§2", "filing_queue (each authority its own)", STAFF_ONLY, |_| {
            api("filing_queue", "filing_queue", &[("waiting", "false")])
        }),
        row("§2", "filing_detail(no such filing)", [401, 404, 404, 401, 401, 401, 401, 401], |_| {
            api("filing_detail", "filing_detail", &[("id", "no-such-filing")])
        }),
        // Issue 18 §1: establishment. The applicant's functions answer an applicant's session
        // only (a mobile and an SMS code: core tests/it/establishment.rs), which no other
        // session is; the review is the authority's staff's, each its own.
        row("-", "applicant_me (no applicant session: none)", ANYONE, none("applicant_me")),
        row("§5", "establishment_mine", NOBODY, none("establishment_mine")),
        row("§5", "establishment_authorities", NOBODY, none("establishment_authorities")),
        row("§5", "establishment_upload", NOBODY, |_| {
            api_json("establishment_upload", "establishment_upload", json!({ "name": "a.pdf", "base64": "JVBERi0=" }))
        }),
        row("§5", "establishment_submit", NOBODY, |_| {
            let form = ecert_core::establishment::EstablishmentForm::default();
            api_json("establishment_submit", "establishment_submit", json!({ "id": null, "form": form, "files": [] }))
        }),
        row("§5", "establishment_form", NOBODY, |_| api("establishment_form", "establishment_form", &[("id", "x")])),
        row("§5", "establishment_claim", NOBODY, |_| {
            api("establishment_claim", "establishment_claim", &[("id", "x")])
        }),
        row("§5", "establishment_discard", NOBODY, |_| {
            api("establishment_discard", "establishment_discard", &[("id", "x")])
        }),
        row("§2", "establishment_queue (each authority its own)", STAFF_ONLY, |_| {
            api("establishment_queue", "establishment_queue", &[("waiting", "false")])
        }),
        row("§2", "establishment_detail(no such application)", [401, 404, 404, 401, 401, 401, 401, 401], |_| {
            api("establishment_detail", "establishment_detail", &[("id", "no-such-application")])
        }),
        row("§2", "establishment_paper(no such paper)", [401, 404, 404, 401, 401, 401, 401, 401], |_| {
            api("establishment_paper", "establishment_paper", &[("id", "no-such-paper")])
        }),
        row("§2", "establishment_approve(no such application)", [401, 404, 404, 401, 401, 401, 401, 401], |_| {
            api("establishment_approve", "establishment_approve", &[("id", "no-such-application"), ("credit_code", "")])
        }),
        row("§2", "establishment_return(no such application)", [401, 404, 404, 401, 401, 401, 401, 401], |_| {
            api("establishment_return", "establishment_return", &[("id", "no-such-application"), ("reasons", "补正")])
        }),
        row("-", "annual_reports (public)", ANYONE, |_| api("annual_reports", "annual_reports", &[("q", "")])),
        row("-", "annual_report(not published)", [404; 8], |_| {
            api("annual_report", "annual_report", &[("id", "no-such-filing")])
        }),
        row("-", "counter_sign_in(wrong password)", NOBODY, |_| {
            api("counter_sign_in", "counter_sign_in", &[("username", "nobody"), ("password", "wrong")])
        }),
        row("R10", "counter_verify(no counter session)", NOBODY, |_| {
            api("counter_verify", "counter_verify", &[("code", "1234567812345678")])
        }),
        row("R10", "check(unknown token): public, answers only invalid", [410; 8], |_| Call {
            label: "check".into(),
            endpoint: "check",
            path: "/api/v1/check".into(),
            payload: Payload::Json(json!({ "token": "no-such-token" })),
        }),
        // Issue 18 §2: the verification API answers relying parties' credentials only (HTTP
        // Basic); no session of any kind is one (server/tests/it/verify_api.rs: the party's side).
        row("R18", "v1/verify (a session is no party's credentials)", NOBODY, |_| Call {
            label: "verify".into(),
            endpoint: "verify",
            path: "/api/v1/verify".into(),
            payload: Payload::Json(json!({ "code": "1234567812345678" })),
        }),
        row("R7", "dashboard_usage", HOLDERS, |_| {
            api_json("dashboard_usage", "dashboard_usage", json!({ "filter": UsageFilter::default() }))
        }),
        row("R12", "dashboard_usage_csv (the first manager only)", [401, 401, 401, 200, 403, 403, 403, 403], |_| {
            api_json("dashboard_usage_csv", "dashboard_usage_csv", json!({ "filter": UsageFilter::default() }))
        }),
        row("R11", "oidc_login_party(unknown request)", ANYONE, |_| {
            api("oidc_login_party", "oidc_login_party", &[("request", "no-such-request")])
        }),
        row("R11", "oidc_login_status(unknown request)", ANYONE, |_| {
            api("oidc_login_status", "oidc_login_status", &[("request", "no-such-request")])
        }),
        // Issue 18 §3: "cancel and return" needs the request's handle (256 bits), nothing else;
        // an unknown one ends nothing and answers `None`.
        row("R11", "oidc_login_cancel(unknown request)", ANYONE, |_| {
            api("oidc_login_cancel", "oidc_login_cancel", &[("request", "no-such-request")])
        }),
        row("R12", "wallet/records(FM's device)", OWN_DEVICE_ONLY, |a| {
            let (signed_at, signature) = w.timed(a, action::RECORDS, &fm_dev);
            let body = json!({
                "device_id": fm_dev, "signed_at": signed_at, "signature": signature, "page": 0,
            });
            wallet("records", "wallet/records(FM's device)", body)
        }),
        // Issue 16 journey 3: management in the wallet, signed by the manager's own phone.
        row("R7", "wallet/manage_list(FM's device)", OWN_DEVICE_ONLY, |a| {
            let (signed_at, signature) = w.timed(a, action::MANAGE_LIST, &fm_dev);
            let body = json!({ "device_id": fm_dev, "signed_at": signed_at, "signature": signature });
            wallet("manage_list", "wallet/manage_list(FM's device)", body)
        }),
        row("R5", "wallet/manage(FM's device, P1's face-to-face code)", OWN_DEVICE_ONLY, |a| {
            let act = serde_json::to_string(&Action::AuthorizeCode { holder_id: w.p1.clone() }).unwrap();
            let (signed_at, signature) = w.timed(a, action::MANAGE, &act);
            let body = json!({
                "device_id": fm_dev, "action": act, "signed_at": signed_at, "signature": signature, "password": PASSWORD,
            });
            wallet("manage", "wallet/manage(FM's device, AuthorizeCode P1)", body)
        }),
        // Issue 16 journey 4: the certificate face, the device's own key and password only.
        row("R7", "wallet/face(FM's device)", OWN_DEVICE_ONLY, |a| {
            let (signed_at, signature) = w.timed(a, action::FACE, &fm_dev);
            let body = json!({
                "device_id": fm_dev, "signed_at": signed_at, "signature": signature, "password": PASSWORD,
            });
            wallet("face", "wallet/face(FM's device)", body)
        }),
        row("R9", "wallet/present(FM's device)", OWN_DEVICE_ONLY, |a| {
            let (at, signature) = w.timed(a, action::PRESENT, &fm_dev);
            let body = json!({
                "device_id": fm_dev, "signed_at": at, "signature": signature,
                "password": PASSWORD, "grant_id": null,
            });
            wallet("present", "wallet/present(FM's device)", body)
        }),
        // Issue 16 §8: any bound phone checks a presented number, signing for itself only.
        row(
            "R10",
            "wallet/check_number(FM's device, a number nobody presented)",
            [401, 401, 401, 410, 401, 401, 401, 401],
            |a| {
                let number = "9000000000000001";
                let (at, signature) = w.timed(a, action::CHECK_NUMBER, number);
                let body = json!({ "device_id": fm_dev, "number": number, "signed_at": at, "signature": signature });
                wallet("check_number", "wallet/check_number(FM's device)", body)
            },
        ),
    ]
}

/// Console and dashboard reads: who sees what (R7), and who may not call at all.
fn reads(w: &World) -> Vec<Cell> {
    let everyone = w.everyone();
    let m1_sees = {
        let mut s = w.ids(&[M1, U1, U1b]);
        s.extend(w.pending_of_m1());
        s
    };
    let m2_sees = w.ids(&[M2, U2]);
    let u1_sees = w.ids(&[U1]);
    let x_sees = w.ids(&[X]);
    let (authority, foreign_authority) = (w.staff.authority_id.clone(), w.other_staff.authority_id.clone());
    let (fm, m1, u1, x) = (w.id(Fm), w.id(M1), w.id(U1), w.id(X));
    let mine = BTreeSet::from([w.cert.clone(), w.unclaimed.clone()]);
    let foreign = w.foreign_cert.clone();
    let fm_must_see = w.ids(&[M2, U2, U0, U1]);

    let mut t = vec![
        // Console: only signed-in staff, each only their authority's certificates.
        cell("R7", Anonymous, api("current_staff", "current_staff", &[]), 200).shows("null", Value::is_null),
        cell("R7", Staff, api("current_staff", "current_staff", &[]), 200).shows("this authority", {
            let a = authority.clone();
            move |v| v["authority_id"] == a.as_str()
        }),
        cell("R7", OtherStaff, api("current_staff", "current_staff", &[]), 200).shows("the other authority", {
            let a = foreign_authority.clone();
            move |v| v["authority_id"] == a.as_str()
        }),
        cell("R7", Fm, api("current_staff", "current_staff", &[]), 200)
            .shows("null: a dashboard session is no staff session", Value::is_null),
    ];
    for a in [Anonymous, Fm, U1, X] {
        t.push(cell(
            "§2",
            a,
            api("list_certificates", "list_certificates", &[("text", ""), ("status", ""), ("page", "0")]),
            401,
        ));
    }
    t.push(
        cell(
            "§2",
            Staff,
            api("list_certificates", "list_certificates", &[("text", ""), ("status", ""), ("page", "0")]),
            200,
        )
        .shows("this authority's certificates, not the other's", {
            let (mine, foreign) = (mine.clone(), foreign.clone());
            move |v| {
                let got = certificate_ids(v);
                mine.is_subset(&got) && !got.contains(&foreign)
            }
        }),
    );
    t.push(
        cell(
            "§2",
            OtherStaff,
            api("list_certificates", "list_certificates", &[("text", ""), ("status", ""), ("page", "0")]),
            200,
        )
        .shows("none of this authority's certificates", {
            let (mine, foreign) = (mine.clone(), foreign.clone());
            move |v| {
                let got = certificate_ids(v);
                got.is_disjoint(&mine) && got.contains(&foreign)
            }
        }),
    );
    t.push(
        cell(
            "§2",
            OtherStaff,
            api(
                "list_certificates",
                "list_certificates(search = credit code)",
                &[("text", &w.credit_code), ("status", ""), ("page", "0")],
            ),
            200,
        )
        .shows("an empty list", |v| v["items"].as_array().is_some_and(Vec::is_empty) && v["total"] == 0),
    );

    // Dashboard: who is signed in.
    t.push(cell("R7", Anonymous, api("dashboard_me", "dashboard_me", &[]), 200).shows("null", Value::is_null));
    t.push(
        cell("R7", Staff, api("dashboard_me", "dashboard_me", &[]), 200)
            .shows("null: a staff session is no dashboard session", Value::is_null),
    );
    for (actor, id, role) in [(Fm, &fm, "first_manager"), (M1, &m1, "manager"), (U1, &u1, "user"), (X, &x, "manager")] {
        let (id, role) = (id.clone(), role.to_owned());
        t.push(
            cell("R7", actor, api("dashboard_me", "dashboard_me", &[]), 200)
                .shows(format!("itself as {role}"), move |v| {
                    v["holder_id"] == id.as_str() && v["role"] == role.as_str()
                }),
        );
    }

    // R7: the holders each caller sees.
    for a in [Anonymous, Staff, OtherStaff] {
        t.push(cell("R7", a, holders(), 401));
    }
    t.push(cell("R7", Fm, holders(), 200).shows("every manager and user (R7), masked (R16)", {
        let everyone = everyone.clone();
        move |v| {
            ids_of(v) == everyone
                && v.as_array()
                    .is_some_and(|a| a.iter().all(|h| h["id_number"].as_str().is_some_and(|n| n.contains('*'))))
        }
    }));
    t.push(cell("R7", Fm, holders(), 200).origin(SAME_ORIGIN).shows("every manager and user", {
        let everyone = everyone.clone();
        move |v| ids_of(v) == everyone
    }));
    for (actor, sees, what) in [
        (M1, m1_sees.clone(), "itself and the users it authorized, pending ones too"),
        (M2, m2_sees.clone(), "itself and its user only"),
        (U1, u1_sees.clone(), "only itself"),
        (X, x_sees.clone(), "only its own institution's holders"),
    ] {
        t.push(cell("R7", actor, holders(), 200).shows(what, move |v| ids_of(v) == sees));
    }

    // The catalogue: the caller's own authority's.
    for a in [Anonymous, Staff] {
        t.push(cell("R7", a, api("dashboard_catalogue", "dashboard_catalogue", &[]), 401));
    }
    for (actor, auth) in [(Fm, authority.clone()), (M1, authority.clone()), (X, foreign_authority.clone())] {
        t.push(cell("R7", actor, api("dashboard_catalogue", "dashboard_catalogue", &[]), 200).shows(
            "the matters of its own authority only",
            move |v| {
                v.as_array().is_some_and(|a| {
                    !a.is_empty() && a.iter().all(|m| m["id"].as_str().is_some_and(|id| id.starts_with(&auth)))
                })
            },
        ));
    }

    // R7: change records.
    for a in [Anonymous, Staff, OtherStaff] {
        t.push(cell("R7", a, api("dashboard_changes", "dashboard_changes", &[]), 401));
    }
    t.push(
        cell("R7", Fm, api("dashboard_changes", "dashboard_changes", &[]), 200)
            .shows("the records of every manager and user", move |v| fm_must_see.is_subset(&subjects_of(v))),
    );
    for (actor, sees) in [(M1, m1_sees), (M2, m2_sees), (U1, u1_sees)] {
        t.push(cell("R7", actor, api("dashboard_changes", "dashboard_changes", &[]), 200).shows(
            "only records about itself and the users it authorized",
            move |v| {
                let got = subjects_of(v);
                !got.is_empty()
                    && got.is_subset(&sees)
                    && v.as_array().is_some_and(|a| a.iter().all(|r| r["subject_id"].is_string()))
            },
        ));
    }
    t.push(
        cell("R7", X, api("dashboard_changes", "dashboard_changes", &[]), 200)
            .shows("no record of the other institution", move |v| subjects_of(v).is_disjoint(&everyone)),
    );

    // Public by design: the system status and the start of a scan login.
    t.push(cell("-", Anonymous, api("system_status", "system_status", &[]), 200));
    t.push(
        cell("R11", Anonymous, api("dashboard_login_start", "dashboard_login_start", &[]), 200)
            .shows_got("a login QR and a browser cookie", |g| {
                g.json["url"].is_string() && g.set_cookies.iter().any(|c| c.starts_with("ecert_login="))
            }),
    );
    t.push(
        cell("R11", Anonymous, api("dashboard_login_status", "dashboard_login_status (no login cookie)", &[]), 200)
            .shows("unknown", |v| v == "unknown"),
    );
    // Issue 17 §2: a long poll without a login of its own answers at once.
    t.push(
        cell(
            "R11",
            Anonymous,
            api("dashboard_login_status", "dashboard_login_status (seen waiting, no cookie)", &[("seen", "waiting")]),
            200,
        )
        .shows("unknown", |v| v == "unknown"),
    );
    t
}

/// Console writes: only staff, and only for their own authority's institutions (分级管理).
fn console_writes(w: &World) -> Vec<Cell> {
    let issue = |label: &str, code: &str| {
        api(
            "issue_certificate",
            format!("issue_certificate({label})"),
            &[
                ("credit_code", code),
                ("name", "北京市授权测试二院"),
                ("address", "北京市海淀区中关村大街2号"),
                ("rep_name", "蒋五"),
                ("rep_id_number", &testing::resident_id(301)),
                ("rep_mobile", "13812345679"),
                ("first_manager", "legal_rep"),
                ("check_form", "on"),
                ("check_licence", "on"),
                ("check_identity_card", "on"),
            ],
        )
    };
    let refresh = |cert: &str, label: &str| {
        api("refresh_claim_code", format!("refresh_claim_code({label})"), &[("certificate_id", cert)])
    };
    let person = json!({ "name": "韩六", "id_number": testing::resident_id(302), "mobile": "13812345670" });
    let (fresh_a, fresh_b) = (testing::credit_code(), testing::credit_code());
    let unclaimed = w.unclaimed.clone();
    let mut t = vec![];
    for a in [Anonymous, Fm, X] {
        t.push(cell("§2", a, issue("new institution", &testing::credit_code()), 401));
    }
    t.extend([
        cell("§2", OtherStaff, issue("credit code registered by this authority", &w.credit_code), 409),
        cell("§2", Staff, issue("new institution", &fresh_a), 200).shows("the new certificate", {
            let code = fresh_a.clone();
            move |v| v["certificate"]["credit_code"] == code.as_str()
        }),
        cell("§2", OtherStaff, issue("new institution of its own", &fresh_b), 200).shows("the new certificate", {
            let code = fresh_b.clone();
            move |v| v["certificate"]["credit_code"] == code.as_str()
        }),
    ]);
    for a in [Anonymous, Fm, M1] {
        t.push(cell("R2", a, refresh(&w.unclaimed, "unclaimed certificate"), 401));
    }
    t.extend([
        cell("§2", OtherStaff, refresh(&w.unclaimed, "unclaimed certificate of this authority"), 403),
        cell("R2", Staff, refresh(&w.unclaimed, "unclaimed certificate"), 200)
            .shows("a claim slip for it", move |v| v["certificate"]["certificate_id"] == unclaimed.as_str()),
        cell("R2", Staff, refresh(&w.cert, "claimed certificate: nothing to refresh"), 404),
        cell("§2", Staff, refresh(&w.foreign_cert, "claimed certificate of the other authority"), 404),
    ]);
    for a in [Anonymous, Fm, M1, X] {
        t.push(cell("§2", a, rename(&w.cert, "certificate"), 401));
    }
    t.extend([
        cell("§2", OtherStaff, rename(&w.cert, "certificate of this authority"), 403),
        cell("§2", OtherStaff, change(&w.cert, "certificate of this authority, Cancel", json!("Cancel")), 403),
        cell("§2", OtherStaff, change(&w.cert, "certificate of this authority, Delete", json!("Delete")), 403),
        cell(
            "R14",
            OtherStaff,
            change(
                &w.cert,
                "certificate of this authority, LegalRepresentative",
                json!({ "LegalRepresentative": { "legal_rep": person, "first_manager": "LegalRepresentative", "checklist": { "form": true, "licence": true, "identity_card": true, "authorization": true } } }),
            ),
            403,
        ),
        cell(
            "R14",
            OtherStaff,
            change(
                &w.unclaimed,
                "unclaimed certificate of this authority, FirstManager",
                json!({ "FirstManager": { "first_manager": "LegalRepresentative", "checklist": { "form": true, "licence": true, "identity_card": true, "authorization": true } } }),
            ),
            403,
        ),
        cell(
            "R13",
            OtherStaff,
            change(&w.cert, "certificate of this authority, Mobile", json!({ "Mobile": { "mobile": "13700000000" } })),
            403,
        ),
        cell("CSRF", Staff, change(&w.cert, "certificate, Cancel", json!("Cancel")), 403)
            .origin(EVIL_ORIGIN)
            .shows("the origin check refused it", |v| v == "cross-origin request refused"),
        cell("§2", Staff, rename(&w.cert, "certificate"), 200).shows("no new claim slip", Value::is_null),
        cell(
            "§2",
            Staff,
            api(
                "list_certificates",
                "list_certificates(after the refused writes)",
                &[("text", ""), ("status", ""), ("page", "0")],
            ),
            200,
        )
        .shows("the certificate still active, renamed once", {
            let cert = w.cert.clone();
            move |v| {
                v["items"].as_array().is_some_and(|a| {
                    a.iter().any(|c| {
                        c["certificate_id"] == cert.as_str()
                            && c["status"] == "active"
                            && c["institution_name"] == "北京市授权测试研究院（更名）"
                            && c["first_manager_status"] == "active"
                    })
                })
            }
        }),
        cell(
            "-",
            Anonymous,
            api("staff_sign_in", "staff_sign_in(wrong password)", &[("username", "nobody"), ("password", "wrong")]),
            401,
        ),
    ]);
    t
}

/// Dashboard writes: adding people (R3, R4), face-to-face codes (R5), grants (R6) — each only
/// over the holders the caller may manage (R8); someone it may not even see is "not found".
fn dashboard_writes(w: &World) -> Vec<Cell> {
    let add_holder = |role: Role, seq: u16, matter: &str| {
        api_json(
            "dashboard_add_holder",
            format!("dashboard_add_holder(role = {role})"),
            json!({
                "role": role, "name": "卫七", "id_number": testing::resident_id(seq), "mobile": "13912340000",
                "matter_ids": if role == Role::User { vec![matter.to_owned()] } else { vec![] },
                "start_day": w.today, "end_day": w.until,
            }),
        )
    };
    let authorize = |target: &str, who: &str| {
        api("dashboard_authorize_code", format!("dashboard_authorize_code({who})"), &[("holder_id", target)])
    };
    let add_grant = |target: &str, who: &str, matter: &str| {
        api_json(
            "dashboard_add_grant",
            format!("dashboard_add_grant({who})"),
            json!({ "holder_id": target, "matter_ids": [matter], "start_day": w.today, "end_day": w.until }),
        )
    };
    let cancel = |grant: &str, whose: &str| {
        api("dashboard_cancel_grant", format!("dashboard_cancel_grant(grant of {whose})"), &[("grant_id", grant)])
    };
    let (m, fm_) = (w.matter.as_str(), w.foreign_matter.as_str());
    let p1 = w.p1.clone();
    let mut t = vec![];

    // Issue 14 §1: a session alone reads; its writes need the phone's approval of that action.
    let ask = |body: Value, label: &str| {
        api_json("dashboard_approval_ask", format!("dashboard_approval_ask({label})"), json!({ "action": body }))
    };
    let remove_m1 = json!({ "kind": "remove_holder", "holder_id": w.id(M1) });
    t.extend([
        cell("§1", Fm, add_holder(Role::User, 119, m), 403)
            .unapproved()
            .shows("ApprovalRequired", |v| v.to_string().contains("ApprovalRequired")),
        cell("§1", M1, authorize(&p1, "P1, M1's pending user"), 403).unapproved(),
        cell("§1", Anonymous, ask(remove_m1.clone(), "remove M1"), 401),
        cell("§1", Staff, ask(remove_m1.clone(), "remove M1"), 401),
        cell("§1", X, ask(remove_m1.clone(), "remove M1 of another institution"), 404),
        cell("§1", M2, ask(remove_m1.clone(), "remove sibling M1"), 404),
        cell("§1", Fm, ask(remove_m1, "remove M1"), 200)
            .shows("a masked summary and a QR link, no personal data", |v| {
                v["summary_zh"].as_str().is_some_and(|s| s.starts_with("移除管理人") && s.contains('*'))
                    && v["url"].as_str().is_some_and(|u| u.contains("/wallet/approve?code="))
            }),
        cell("§1", Fm, api("dashboard_approval_status", "dashboard_approval_status(unknown id)", &[("id", "nope")]), 200)
            .shows("unknown", |v| *v == json!("unknown")),
        cell("§1", Anonymous, api("dashboard_approval_status", "dashboard_approval_status", &[("id", "nope")]), 401),
        // Issue 17 §2: the long poll of an approval that is not this session's is answered at
        // once, as `unknown`, and asks the caller first like the poll.
        cell(
            "§1",
            Fm,
            api(
                "dashboard_approval_status",
                "dashboard_approval_status(unknown id, seen waiting)",
                &[("id", "nope"), ("seen", "waiting")],
            ),
            200,
        )
        .shows("unknown, at once", |v| *v == json!("unknown")),
        cell(
            "§1",
            Anonymous,
            api("dashboard_approval_status", "dashboard_approval_status(seen scanned)", &[("id", "nope"), ("seen", "scanned")]),
            401,
        ),
        cell(
            "§1",
            Fm,
            wallet(
                "approval_scan",
                "wallet/approval_scan(an unknown code)",
                json!({ "code": "no-such-code", "device_id": w.dev(Fm), "signature": w.sig(Fm, action::APPROVAL_SCAN, "no-such-code") }),
            ),
            410,
        ),
        cell(
            "§1",
            X,
            wallet(
                "approval_scan",
                "wallet/approval_scan(FM's device id, X's signature)",
                json!({ "code": "no-such-code", "device_id": w.dev(Fm), "signature": w.sig(X, action::APPROVAL_SCAN, "no-such-code") }),
            ),
            401,
        ),
        cell(
            "§1",
            Fm,
            wallet(
                "approval_answer",
                "wallet/approval_answer(an unknown code)",
                json!({ "code": "no-such-code", "device_id": w.dev(Fm), "signature": w.sig(Fm, action::APPROVAL_REJECT, "no-such-code\nno-digest"), "approve": false }),
            ),
            410,
        ),
    ]);

    // Adding people.
    for a in [Anonymous, Staff, OtherStaff] {
        t.push(cell("R4", a, add_holder(Role::User, 120, m), 401));
    }
    t.extend([
        cell("R3", M1, add_holder(Role::Manager, 121, m), 403),
        cell("R3", M2, add_holder(Role::Manager, 121, m), 403),
        cell("R3", X, add_holder(Role::Manager, 121, m), 403),
        cell("R7", U1, add_holder(Role::User, 121, m), 403),
        cell("R7", U1, add_holder(Role::Manager, 121, m), 403),
        cell("R1", Fm, add_holder(Role::FirstManager, 121, m), 422),
        cell("R6", M1, add_holder(Role::User, 121, fm_), 422)
            .shows("matters of another authority's catalogue are refused", |v| v.to_string().contains("matters")),
        cell("R4", M1, add_holder(Role::User, 122, m), 200).shows("a face-to-face code", |v| v["url"].is_string()),
        // The grid added the third manager.
        cell("R3", Fm, add_holder(Role::Manager, 124, m), 409)
            .shows("too many managers", |v| v.to_string().contains("TooManyManagers")),
    ]);

    // R5: a fresh face-to-face code for a pending person.
    for a in [Anonymous, Staff] {
        t.push(cell("R5", a, authorize(&w.p1, "P1, M1's pending user"), 401));
    }
    for a in [M2, X, U1] {
        t.push(cell("R8", a, authorize(&w.p1, "P1, M1's pending user"), 404));
    }
    for a in [M1, Fm] {
        let p1 = p1.clone();
        t.push(
            cell("R5", a, authorize(&w.p1, "P1, M1's pending user"), 200)
                .shows("a code for P1", move |v| v["holder_id"] == p1.as_str()),
        );
    }
    t.extend([
        cell("R5", M1, authorize(&w.id(U1), "U1, already accepted"), 409),
        cell("R8", M1, authorize(&w.id(Fm), "FM"), 404),
        cell("R8", M1, authorize(&w.id(M2), "M2"), 404),
        cell("R8", M1, authorize(&w.id(U0), "U0, the first manager's user"), 404),
        cell("R8", U1, authorize(&w.id(U1), "itself"), 403),
        cell("R5", Fm, authorize(&w.id(M1), "M1, already accepted"), 409),
        cell("R8", Fm, authorize("no-such-holder", "an unknown id"), 404),
        cell("R8", Fm, authorize(&w.id(X), "X, of another institution"), 404),
    ]);

    // R6/R8: grants.
    let u1 = w.id(U1);
    for a in [Anonymous, OtherStaff] {
        t.push(cell("R6", a, add_grant(&u1, "U1", m), 401));
    }
    t.extend([
        cell("R8", M2, add_grant(&u1, "U1, M1's user", m), 404),
        cell("R8", X, add_grant(&u1, "U1, another institution's user", fm_), 404),
        cell("R8", U1, add_grant(&u1, "itself", m), 403),
        cell("R8", M1, add_grant(&w.id(U0), "U0, the first manager's user", m), 404),
        cell("R8", M1, add_grant(&w.id(M2), "M2", m), 404),
        cell("R6", Fm, add_grant(&w.id(M1), "M1, a manager", m), 403),
        cell("R6", Fm, add_grant(&w.id(Fm), "itself", m), 403),
        cell("R6", M1, add_grant(&u1, "U1, with another authority's matter", fm_), 422),
        cell("R6", M1, add_grant(&u1, "U1, its own user", m), 200),
        cell("R7", Fm, add_grant(&u1, "U1, M1's user", m), 200),
        cell("R6", M2, add_grant(&w.id(U2), "U2, its own user", m), 200),
    ]);
    let (g0, g1, g2) = (w.grants[&U0].as_str(), w.grants[&U1].as_str(), w.grants[&U2].as_str());
    for a in [Anonymous, Staff] {
        t.push(cell("R6", a, cancel(g1, "U1"), 401));
    }
    t.extend([
        cell("R8", M2, cancel(g1, "U1, M1's user"), 404),
        cell("R8", X, cancel(g1, "U1, another institution's user"), 404),
        cell("R8", U1, cancel(g1, "itself"), 403),
        cell("R6", M1, cancel(g1, "U1, its own user"), 200),
        cell("R6", Fm, cancel(g1, "U1, already cancelled"), 404),
        cell("R8", M1, cancel(g0, "U0, the first manager's user"), 404),
        cell("R7", Fm, cancel(g0, "U0, its own user"), 200),
        cell("R8", M1, cancel(g2, "U2, M2's user"), 404),
        cell("R6", M2, cancel(g2, "U2, its own user"), 200),
        cell("R8", Fm, cancel("no-such-grant", "an unknown id"), 404),
    ]);

    // CSRF: a cross-site write with a live session is refused before it reaches the function.
    t.push(
        cell("CSRF", Fm, remove(&w.id(U0), "U0"), 403)
            .origin(EVIL_ORIGIN)
            .shows("the origin check refused it", |v| v == "cross-origin request refused"),
    );
    t.push(cell("CSRF", Fm, holders(), 200).shows("U0 still there", {
        let u0 = w.id(U0);
        move |v| ids_of(v).contains(&u0)
    }));
    t
}

/// The wallet API: a claim or face-to-face code is its own authority (R2, R4); everything else
/// is signed by a live device key, for that device only (R8, R11, R13).
async fn wallet_calls(w: &World) -> Vec<Cell> {
    let random = Random::os();
    let now = Millis::now();
    let started = login::start(&w.db, login::DASHBOARD, &login::Requester::default(), now, &random).await.unwrap();
    let (code, browser, match_code) =
        (started.code.expose().to_owned(), started.browser.expose().to_owned(), started.match_code.clone());
    let p2_code = w.p2_code.clone();

    let offer = |kind: &str, code: &str, label: &str| {
        wallet("offer", format!("wallet/offer({label})"), json!({ "kind": kind, "code": code }))
    };
    let accept = |kind: &str, label: &str, name: &str, seq: u16, key: &Phone, signer: &Phone| {
        let act = if kind == "claim" { action::CLAIM } else { action::ACCEPT };
        wallet(
            "accept",
            format!("wallet/accept({label})"),
            json!({
                "kind": kind, "code": p2_code, "name": name, "id_number": testing::resident_id(seq), "password": PASSWORD,
                "public_key": key.public_key, "signature": signer.sign(act, &p2_code),
            }),
        )
    };
    let scan = |signer: Actor, device_of: Option<Actor>, label: &str| {
        let device_id = device_of.map_or_else(|| "no-such-device".to_owned(), |d| w.dev(d));
        wallet(
            "login_scan",
            format!("wallet/login_scan({label})"),
            json!({ "code": code, "device_id": device_id, "signature": w.sig(signer, action::LOGIN_SCAN, &code) }),
        )
    };
    let answer = |signer: Actor, device_of: Actor, act: &str, password: &str, label: &str| {
        wallet(
            "login_answer",
            format!("wallet/login_answer({label})"),
            json!({
                "code": code, "device_id": w.dev(device_of), "signature": w.sig(signer, act, &code),
                "approve": true, "password": password, "match_code": match_code,
            }),
        )
    };
    let password = |signer: Actor, device_of: Actor, subject_of: Actor, act: &str, old: &str, label: &str| {
        let (signed_at, signature) = w.timed(signer, act, &w.dev(subject_of));
        wallet(
            "password",
            format!("wallet/password({label})"),
            json!({
                "device_id": w.dev(device_of), "signed_at": signed_at, "signature": signature,
                "old_password": old, "new_password": "cert-pass-2",
            }),
        )
    };
    let (p2_key, stranger) = (Phone::new(), Phone::new());

    let mut t = vec![
        // R4: the code is the authority to look at and take up a role; nothing else is needed.
        cell("R4", Anonymous, offer("authorize", &p2_code, "P2's face-to-face code"), 200)
            .shows("the offered role, the name masked (R16)", |v| {
                v["role"] == "user" && v["holder_name"].as_str().is_some_and(|n| n.contains('*'))
            }),
        cell("R4", Anonymous, offer("claim", &p2_code, "P2's code as a claim code"), 410),
        cell("R4", Anonymous, offer("authorize", "no-such-code", "an unknown code"), 410),
        cell("R4", Anonymous, offer("bogus", &p2_code, "an unknown kind"), 422),
        cell(
            "R4",
            Anonymous,
            accept("authorize", "P2's code, signed by another key", "郑一", 109, &p2_key, &stranger),
            401,
        ),
        cell("R4", Anonymous, accept("authorize", "P2's code, U1's name and ID", "钱七", 105, &p2_key, &p2_key), 422),
        cell("R2", Anonymous, accept("claim", "P2's code as a claim code", "郑一", 109, &p2_key, &p2_key), 410),
        cell("R4", Anonymous, accept("authorize", "P2's code, P2's name and ID", "郑一", 109, &p2_key, &p2_key), 200)
            .shows("a user binding", |v| v["role"] == "user" && v["device_id"].is_string()),
        cell("R5", Anonymous, accept("authorize", "P2's code again", "郑一", 109, &stranger, &stranger), 410),
        // R11: scan login — managers only, each device signing for itself.
        cell("R11", U1, scan(U1, Some(U1), "own device"), 403)
            .shows("users do not log in to the dashboard", |v| v.to_string().contains("NotAManager")),
        cell("R11", X, scan(X, Some(M1), "M1's device id, X's signature"), 401),
        cell("R11", Anonymous, scan(Anonymous, Some(M1), "M1's device id, no key"), 401),
        cell("R11", Anonymous, scan(Anonymous, None, "an unknown device"), 403),
        cell("R11", Fm, scan(Fm, Some(Fm), "own device"), 200).shows("three codes, the PC's among them, not alone", {
            let match_code = match_code.clone();
            move |v| {
                let choices = v["match_choices"].as_array().map(Vec::as_slice).unwrap_or_default();
                choices.len() == 3
                    && choices.iter().any(|c| *c == match_code.as_str())
                    && v.get("match_code").is_none()
                    && v["role"] == "first_manager"
            }
        }),
        cell("R11", M1, scan(M1, Some(M1), "own device, a code FM scanned"), 410),
        cell("R11", M1, answer(M1, M1, action::LOGIN_APPROVE, PASSWORD, "own device, FM's scan"), 410),
        cell("R11", X, answer(X, Fm, action::LOGIN_APPROVE, PASSWORD, "FM's device id, X's signature"), 401),
        cell("R11", Fm, answer(Fm, Fm, action::LOGIN_REJECT, PASSWORD, "a reject signature to approve"), 401),
        cell("R13", Fm, answer(Fm, Fm, action::LOGIN_APPROVE, "wrong-password", "wrong password"), 401),
        cell("R11", Fm, answer(Fm, Fm, action::LOGIN_APPROVE, PASSWORD, "own device"), 200),
        cell(
            "R11",
            Anonymous,
            api(
                "dashboard_login_status",
                "dashboard_login_status (the browser that asked, seen scanned)",
                &[("seen", "scanned")],
            ),
            200,
        )
        .cookie(format!("ecert_login={browser}"))
        .shows_got("confirmed, and a dashboard session cookie", |g| {
            g.json == "confirmed" && g.set_cookies.iter().any(|c| c.starts_with("ecert_holder=") && c.len() > 20)
        }),
        cell("R11", Anonymous, api("dashboard_login_status", "dashboard_login_status (consumed once)", &[]), 200)
            .cookie(format!("ecert_login={browser}"))
            .shows("unknown", |v| v == "unknown"),
        // R13: the certificate password; a device acts only for itself.
        cell("R13", U1, password(U1, Fm, Fm, action::PASSWORD_CHANGE, PASSWORD, "FM's device id, U1's signature"), 401),
        cell(
            "R13",
            U1,
            password(U1, Fm, U1, action::PASSWORD_CHANGE, PASSWORD, "FM's device id, U1's own subject"),
            401,
        ),
        cell("R13", Fm, password(Fm, Fm, Fm, action::SMS_REQUEST, PASSWORD, "a signature of another action"), 401),
        cell("R13", U1, password(U1, U1, U1, action::PASSWORD_CHANGE, "wrong-password", "own device, wrong old"), 401),
        cell("R13", U1, password(U1, U1, U1, action::PASSWORD_CHANGE, PASSWORD, "own device"), 200),
        cell("R13", X, sms_request(w, X, M1, "M1's device id, X's signature"), 401),
        cell("R13", Anonymous, sms_request(w, Anonymous, M1, "M1's device id, no key"), 401),
        cell("R13", M1, sms_request(w, M1, M1, "own device"), 200)
            .shows("the masked mobile", |v| v.as_str().is_some_and(|m| m.contains('*'))),
        cell("R13", M1, sms_request(w, M1, M1, "own device, again at once"), 429),
        cell("CSRF", M1, sms_request(w, M1, M1, "own device"), 403)
            .origin(EVIL_ORIGIN)
            .shows("the origin check refused it", |v| v == "cross-origin request refused"),
    ];
    {
        // M1 signs its own key over X's device id but sends its own: the subject must match.
        let device_id = w.dev(M1);
        let (signed_at, signature) = w.timed(M1, action::SMS_REQUEST, &w.dev(X));
        let body = json!({ "device_id": device_id, "signed_at": signed_at, "signature": signature });
        t.push(cell("R13", M1, wallet("sms_request", "wallet/sms_request(own device, X's id signed)", body), 401));
    }
    // The development SMS gateway's outbox: the authority's staff only.
    for a in [Anonymous, Fm, M1] {
        t.push(cell("§2", a, api("sms_outbox", "sms_outbox", &[]), 401));
    }
    t.push(cell("R16", Staff, api("sms_outbox", "sms_outbox", &[]), 200).shows(
        "the code sent to M1, the mobile masked",
        |v| {
            v.as_array().is_some_and(|a| {
                !a.is_empty() && a.iter().all(|m| m["mobile"].as_str().is_some_and(|s| s.contains('*')))
            })
        },
    ));
    t.push(
        cell("§2", OtherStaff, api("sms_outbox", "sms_outbox", &[]), 200)
            .shows("nothing of this authority", |v| v.as_array().is_some_and(Vec::is_empty)),
    );
    t.extend(sign_calls(w).await);
    // Issue 14 §1: the holder's sessions and new roles, and ending one, from its own phone only.
    let activity = |signer: Actor, device_of: Actor, label: &str| {
        let device_id = w.dev(device_of);
        let signed_at = Millis::now().0 + i64::from(seq_activity());
        let subject = ecert_core::device::timed_subject(&device_id, signed_at);
        let body = json!({ "device_id": device_id, "signed_at": signed_at, "signature": w.sig(signer, action::ACTIVITY, &subject) });
        wallet("activity", format!("wallet/activity({label})"), body)
    };
    let fm_handle: String = token_hash(w.cookies[&Fm].trim_start_matches("ecert_holder=")).chars().take(16).collect();
    let end = |signer: Actor, handle: &str, label: &str| {
        let (signed_at, signature) = w.timed(signer, action::END_SESSION, &format!("dashboard\n{handle}"));
        let body = json!({ "device_id": w.dev(signer), "kind": "dashboard", "handle": handle, "signed_at": signed_at, "signature": signature });
        wallet("end_session", format!("wallet/end_session({label})"), body)
    };
    t.extend([
        cell("§1", Fm, activity(Fm, Fm, "own device"), 200).shows("FM's dashboard session, with its handle", {
            let fm_handle = fm_handle.clone();
            move |v| v["sessions"].as_array().is_some_and(|s| s.iter().any(|s| s["handle"] == fm_handle.as_str()))
        }),
        cell("§1", X, activity(X, Fm, "FM's device id, X's signature"), 401),
        cell("§1", X, activity(X, X, "own device"), 200).shows("not FM's session", {
            let fm_handle = fm_handle.clone();
            move |v| v["sessions"].as_array().is_some_and(|s| s.iter().all(|s| s["handle"] != fm_handle.as_str()))
        }),
        cell("§1", X, end(X, &fm_handle, "FM's session, from X's phone"), 404),
        cell("§1", M1, end(M1, &fm_handle, "FM's session, from M1's phone"), 404),
        cell("§1", Fm, end(Fm, "0000000000000000", "an unknown handle"), 404),
    ]);
    t
}

/// Ever larger offsets for `signed_at`, so that each timed wallet call of the matrix is later
/// than the device's last.
fn seq_activity() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Scan to sign (R6, R8, R12, R13): each device scans, signs and rejects for itself; a request
/// is answered once, by the device that scanned it.
async fn sign_calls(w: &World) -> Vec<Cell> {
    let (now, random) = (Millis::now(), Random::os());
    let shown = support::party(&w.db, &w.staff, "授权矩阵签名平台").await;
    let client = party::authenticate(&w.db, &shown.login, &shown.secret).await.unwrap();
    let digest = URL_SAFE_NO_PAD.encode([5u8; 32]);
    let ask =
        NewSignRequest { digest: digest.clone(), description: "签署授权测试文件".into(), document_name: None };
    let first = signing::create(&w.db, &client, &ask, now, &random).await.unwrap();
    let second = signing::create(&w.db, &client, &ask, now, &random).await.unwrap();
    let (a, b) = (first.code.expose().to_owned(), second.code.expose().to_owned());

    let scan = |code: &str, signer: Actor, device_of: Option<Actor>, label: &str| {
        let device_id = device_of.map_or_else(|| "no-such-device".to_owned(), |d| w.dev(d));
        let body = json!({ "code": code, "device_id": device_id, "signature": w.sig(signer, action::SIGN_SCAN, code) });
        wallet("sign_scan", format!("wallet/sign_scan({label})"), body)
    };
    let signed_at = Millis::now().0;
    let payload = signing::payload(&first.id, &client.party_id, &digest, signed_at);
    let confirm = |signer: Actor, device_of: Actor, text: &str, password: &str, label: &str| {
        let signature = w.people.get(&signer).map(|m| m.phone.sign_text(text)).unwrap_or_default();
        let body = json!({
            "code": a, "device_id": w.dev(device_of), "signed_at": signed_at, "signature": signature, "password": password,
        });
        wallet("sign_confirm", format!("wallet/sign_confirm({label})"), body)
    };
    let reject = |code: &str, signer: Actor, device_of: Actor, label: &str| {
        let body = json!({ "code": code, "device_id": w.dev(device_of), "signature": w.sig(signer, action::SIGN_REJECT, code) });
        wallet("sign_reject", format!("wallet/sign_reject({label})"), body)
    };
    let other_request = signing::payload(&second.id, &client.party_id, &digest, signed_at);
    vec![
        cell("R8", X, scan(&a, X, Some(M1), "M1's device id, X's signature"), 401),
        cell("R8", Anonymous, scan(&a, Anonymous, None, "an unknown device"), 403),
        cell("R8", M1, scan(&a, M1, Some(M1), "own device"), 200)
            .shows("the party's registered name", |v| v["party_name"] == "授权矩阵签名平台"),
        cell("R8", Fm, scan(&a, Fm, Some(Fm), "own device, a request M1 scanned"), 410),
        cell("R8", Fm, confirm(Fm, Fm, &payload, PASSWORD, "own device, M1's scan"), 410),
        cell("R8", X, confirm(X, M1, &payload, PASSWORD, "M1's device id, X's signature"), 401),
        cell("R8", M1, confirm(M1, M1, &other_request, PASSWORD, "a signature over another request"), 401),
        cell("R13", M1, confirm(M1, M1, &payload, "wrong-password", "wrong password"), 401),
        cell("R12", M1, confirm(M1, M1, &payload, PASSWORD, "own device"), 200),
        cell("R8", M1, reject(&a, M1, M1, "own device, after signing"), 410),
        // R6: a user with a grant in force signs and rejects for itself.
        cell("R6", U1, scan(&b, U1, Some(U1), "own device, grant in force"), 200),
        cell("R8", X, reject(&b, X, U1, "U1's device id, X's signature"), 401),
        cell("R12", U1, reject(&b, U1, U1, "own device"), 200),
    ]
}

/// The reset code last sent to `mobile` by this authority's SMS gateway (the outbox keeps the
/// text; staff read it in the console).
async fn sms_code_sent_to(w: &World, mobile: &str) -> String {
    // Mobiles are sealed (R16): the latest message whose mobile opens to this one.
    let sent: Vec<(String, String, String)> =
        w.db.fetch_all(
            query("SELECT id, mobile, body FROM sms_outbox WHERE authority_id = $1 ORDER BY created_at DESC, id DESC")
                .bind(&w.staff.authority_id),
        )
        .await
        .unwrap();
    let vault = w.db.vault();
    let body = sent
        .into_iter()
        .find(|(id, sealed, _)| vault.matches(ecert_core::seal::Column::OutboxMobile.at(id), sealed, mobile).unwrap())
        .map(|(_, _, body)| body)
        .unwrap_or_default();
    let code: String = body.split("验证码").nth(1).unwrap_or_default().chars().take(6).collect();
    assert!(code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()), "{body}");
    code
}

fn reset(w: &World, signer: Actor, device_of: Actor, sms_code: &str, label: &str) -> Call {
    let device_id = w.dev(device_of);
    let (signed_at, signature) = w.timed(signer, action::PASSWORD_RESET, &device_id);
    wallet(
        "password_reset",
        format!("wallet/password_reset({label})"),
        json!({
            "device_id": device_id, "signed_at": signed_at, "signature": signature,
            "sms_code": sms_code, "id_number": testing::resident_id(seq_of(device_of)), "new_password": PASSWORD,
        }),
    )
}

/// The sequence number of each person's ID number in [`world`].
fn seq_of(a: Actor) -> u16 {
    match a {
        Fm => 101,
        M1 => 102,
        M2 => 103,
        U0 => 104,
        U1 => 105,
        U1b => 106,
        U2 => 107,
        X => 202,
        Anonymous | Staff | OtherStaff => 0,
    }
}

/// R13: resetting the password with the SMS codes sent above (FM's in the grid, M1's in the
/// wallet phase): only the device that asked, with the code sent to its holder.
async fn password_reset(w: &World) -> (Row, Vec<Cell>) {
    let fm_code = sms_code_sent_to(w, "13812345678").await;
    let code = sms_code_sent_to(w, "13912345678").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let grid_row =
        row("R13", "wallet/password_reset(FM's device, FM's code)", [401, 401, 401, 200, 401, 401, 401, 401], |a| {
            reset(w, a, Fm, &fm_code, "FM's device, FM's code")
        });
    let cells = vec![
        cell("R13", X, reset(w, X, M1, &code, "M1's device id and code, X's signature"), 401),
        cell("R13", Anonymous, reset(w, Anonymous, M1, &code, "M1's device id and code, no key"), 401),
        cell("R13", U1, reset(w, U1, U1, &code, "own device, M1's code"), 401),
        cell("R13", M1, reset(w, M1, M1, wrong, "own device, wrong code"), 401),
        cell("R13", M1, reset(w, M1, M1, &code, "own device, the code"), 200),
        cell("R13", M1, reset(w, M1, M1, &code, "own device, the code again"), 401),
    ];
    (grid_row, cells)
}

/// R8: who may remove whom; and removal takes effect at once, with its cascade.
fn removals(w: &World) -> Vec<Cell> {
    let (u1b, m2, u1) = (w.id(U1b), w.id(M2), w.id(U1));
    // Issue 16 journey 1: only the phone's own key removes its card; the role stays (M1 still
    // removes U1b below).
    let remove_card = |signer: Actor, label: &str| {
        let device_id = w.dev(U1b);
        let (signed_at, signature) = w.timed(signer, action::REMOVE_CARD, &device_id);
        let body = json!({ "device_id": device_id, "signed_at": signed_at, "signature": signature });
        wallet("remove_card", format!("wallet/remove_card({label})"), body)
    };
    let receive = |label: &str| {
        let code = &w.u1b_grant_code;
        let body =
            json!({ "code": code, "device_id": w.dev(U1b), "signature": w.sig(U1b, action::GRANT_RECEIVE, code) });
        wallet("grant_receive", format!("wallet/grant_receive({label})"), body)
    };
    // A user's phone manages nobody, even over its own device (issue 16 journey 3).
    let manage_by_user = {
        let act = serde_json::to_string(&Action::RemoveHolder { holder_id: u1b.clone() }).unwrap();
        let device_id = w.dev(U1);
        let (signed_at, signature) = w.timed(U1, action::MANAGE, &act);
        let body = json!({
            "device_id": device_id, "action": act, "signed_at": signed_at, "signature": signature, "password": PASSWORD,
        });
        wallet("manage", "wallet/manage(U1's own device, remove U1b)", body)
    };
    let mut t = vec![
        cell("R7", U1, manage_by_user, 403),
        cell("R17", U1b, receive("own grant, own device"), 200),
        cell("R17", U1b, receive("own grant again"), 410),
        cell("-", M1, remove_card(M1, "U1b's device, M1's signature"), 401),
        cell("-", U1b, remove_card(U1b, "own device"), 200),
        cell("-", U1b, remove_card(U1b, "own device, removed already"), 403),
    ];
    for a in [Anonymous, Staff, OtherStaff] {
        t.push(cell("R8", a, remove(&u1b, "U1b"), 401));
    }
    t.extend([
        cell("R8", X, remove(&u1b, "U1b, another institution's user"), 404),
        cell("R8", M2, remove(&u1b, "U1b, M1's user"), 404),
        cell("R8", U1, remove(&u1b, "U1b"), 404),
        cell("R8", U1, remove(&u1, "itself"), 403),
        cell("R8", M1, remove(&m2, "M2, another manager"), 404),
        cell("R8", M1, remove(&w.id(Fm), "FM"), 404),
        cell("R8", M1, remove(&w.id(M1), "itself"), 403),
        cell("R8", M1, remove(&w.id(U0), "U0, the first manager's user"), 404),
        cell("R8", Fm, remove(&w.id(Fm), "itself"), 403),
        cell("R8", Fm, remove(&w.id(X), "X, of another institution"), 404),
        cell("R8", Fm, remove("no-such-holder", "an unknown id"), 404),
        cell("R8", M1, remove(&u1b, "U1b, its own user"), 200),
        cell("R8", M1, remove(&u1b, "U1b, already removed"), 404),
        cell("R8", U1b, sms_request(w, U1b, U1b, "own device, after removal"), 403),
        cell("R8", M1, holders(), 200).shows("U1b gone", move |v| !ids_of(v).contains(&u1b)),
        cell("R8", Fm, remove(&m2, "M2, a manager"), 200),
        cell("R8", M2, holders(), 401),
        cell("R8", M2, api("dashboard_me", "dashboard_me", &[]), 200).shows("null: signed out at once", Value::is_null),
        cell(
            "R8",
            M2,
            wallet(
                "login_scan",
                "wallet/login_scan(own device, after removal)",
                json!({ "code": "any", "device_id": w.dev(M2), "signature": w.sig(M2, action::LOGIN_SCAN, "any") }),
            ),
            403,
        ),
        cell("R8", U2, sms_request(w, U2, U2, "own device, its manager removed"), 403),
        cell("R8", Fm, holders(), 200).shows("M2 and its user U2 gone, U1b gone", {
            let gone = w.ids(&[M2, U2, U1b]);
            move |v| ids_of(v).is_disjoint(&gone)
        }),
        cell("R8", Fm, remove(&u1, "U1, M1's user"), 200),
        cell("R8", U1, holders(), 401),
        cell("R8", U1, sms_request(w, U1, U1, "own device, after removal"), 403),
        cell("R8", M1, holders(), 200).shows("U1 gone", move |v| !ids_of(v).contains(&u1)),
    ]);
    t
}

/// R15 and signing out: a cancelled certificate's sessions and devices stop at once.
fn endings(w: &World) -> Vec<Cell> {
    vec![
        cell("R15", OtherStaff, change(&w.cert, "certificate of this authority, Cancel", json!("Cancel")), 403),
        cell("R15", Fm, holders(), 200),
        cell("R15", Staff, change(&w.cert, "certificate, Cancel", json!("Cancel")), 200),
        cell("R15", Fm, holders(), 401),
        cell("R15", M1, holders(), 401),
        cell("R15", Fm, sms_request(w, Fm, Fm, "own device, certificate cancelled"), 403),
        cell("R15", Staff, rename(&w.cert, "cancelled certificate"), 404),
        cell("R11", X, api("dashboard_sign_out", "dashboard_sign_out", &[]), 200),
        cell("R11", X, holders(), 401),
        cell("-", Staff, api("staff_sign_out", "staff_sign_out", &[]), 200),
        cell(
            "-",
            Staff,
            api("list_certificates", "list_certificates", &[("text", ""), ("status", ""), ("page", "0")]),
            401,
        ),
        cell(
            "-",
            OtherStaff,
            api("list_certificates", "list_certificates", &[("text", ""), ("status", ""), ("page", "0")]),
            200,
        ),
    ]
}

#[tokio::test]
async fn r7_r8_every_server_function_and_wallet_route_allows_and_refuses_each_kind_of_caller() {
    let w = world().await;
    let mut report = Report::default();
    w.run(&mut report, "reads: who sees what (R7)", reads(&w)).await;
    let rows = grid(&w).await;
    w.run_grid(&mut report, "the grid: every function × eight callers", rows).await;
    w.run(&mut report, "console writes (分级管理, R2, R14)", console_writes(&w)).await;
    w.run(&mut report, "dashboard writes (R3-R6, R8)", dashboard_writes(&w)).await;
    let table = wallet_calls(&w).await;
    w.run(&mut report, "wallet API (R2, R4, R11, R13)", table).await;
    let (grid_row, table) = password_reset(&w).await;
    w.run_grid(&mut report, "password reset by SMS (R13)", vec![grid_row]).await;
    w.run(&mut report, "password reset by SMS (R13)", table).await;
    w.run(&mut report, "removal (R8)", removals(&w)).await;
    w.run(&mut report, "cancellation and sign-out (R15)", endings(&w)).await;

    println!("{}", report.lines.join("\n"));
    println!("\nThe grid (status per caller; `!` marks a cell that does not hold):\n{}", report.grid.join("\n"));
    println!(
        "\n{} cells over {} endpoints and {} kinds of caller ({})",
        report.cells,
        report.endpoints.len(),
        report.actors.len(),
        report.actors.iter().map(|a| a.short()).collect::<Vec<_>>().join(", ")
    );
    assert!(
        report.failures.is_empty(),
        "{} of {} cells failed:\n{}",
        report.failures.len(),
        report.cells,
        report.failures.join("\n")
    );
}
