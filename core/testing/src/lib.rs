//! Ready-made databases, rows and people for tests, benchmarks and tools, made through the real
//! use-cases (only the authority and its staff row, which the product makes at first start or by
//! an administrator, are written directly), and a phone's device key.
//!
//! A crate of its own so that no fixture is compiled into the product: only dev-dependencies
//! name it. It must not hold a rule: it calls `ecert-core` as the server does.

// Fixtures: a fixture that cannot be made stops the test that asked for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ecert_core::certificate::{self, FirstManagerChoice, IssuePolicy, IssueRequest, PersonInput};
use ecert_core::code::CodeKind;
use ecert_core::device::{self, action};
use ecert_core::holder::{self, Acceptance, Binding, Caller, GrantInput};
use ecert_core::identity::IdentityVerifier;
use ecert_core::secret::{Random, Secret, hash_password};
use ecert_core::staff::{self, StaffView};
use ecert_core::store::Db;
use ecert_core::{Millis, store::query};

mod db;
mod phone;

pub use db::{open_private_test_db, open_test_db, private_test_url, test_vault};
pub use phone::{Fresh, Phone};

/// The certificate password every fixture holder chooses.
pub const PASSWORD: &str = "cert-pass-1";
/// The password of every fixture staff member.
pub const STAFF_PASSWORD: &str = "staff password 1";

/// A benchmark's setting: the environment variable `name` read as a number, `default` when it is
/// unset or blank; a value that does not read stops the benchmark, naming it.
pub fn bench_setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => match value.trim().parse() {
            Ok(parsed) => parsed,
            Err(_) => panic!("{name} must be a non-negative number, not {value:?}"),
        },
        _ => default,
    }
}

/// A valid, unique unified social credit code of a public institution (prefix 12).
pub fn credit_code() -> String {
    const CHARSET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut buf = [0u8; 9];
    Random::os().fill(&mut buf);
    let body: String = buf.iter().map(|b| CHARSET[*b as usize % CHARSET.len()] as char).collect();
    let prefix = format!("12110105{body}");
    format!("{prefix}{}", ecert_core::validate::credit_code_check_char(&prefix).unwrap_or('0'))
}

/// A valid resident ID number born on 1990-01-01 with the given 3-digit sequence.
pub fn resident_id(seq: u16) -> String {
    let prefix = format!("11010519900101{:03}", seq % 1000);
    format!("{prefix}{}", ecert_core::validate::resident_id_check_char(&prefix).unwrap_or('0'))
}

/// A new county authority with its matter catalogue and one staff member with `password` who
/// administers and operates (R22: the duties of a first administrator); answers the user name.
pub async fn staff_member(db: &Db, password: &str, now: Millis) -> String {
    let random = Random::os();
    let authority = random.id();
    db.execute(query("INSERT INTO authority (id, name, level, parent_id, region_code, created_at) VALUES ($1, '测试局', 'county', NULL, '110105', $2)").bind(&authority).bind(now.0)).await
    .expect("insert authority");
    let mut tx = db.begin_write().await.expect("begin");
    holder::seed_catalogue(&mut tx, &authority, now).await.expect("seed catalogue");
    tx.commit().await.expect("commit");
    let username = format!("staff-{}", &random.id()[..12]).replace(['_', '-'], "x");
    let hash = hash_password(Secret::new(password), &random).await.expect("hash");
    db.execute(
        query(
            "INSERT INTO staff (id, authority_id, username, display_name, password_hash, is_admin, created_at) \
         VALUES ($1, $2, $3, '窗口一', $4, $5, $6)",
        )
        .bind(random.id())
        .bind(&authority)
        .bind(&username)
        .bind(hash)
        .bind(true)
        .bind(now.0),
    )
    .await
    .expect("insert staff");
    username
}

/// A staff member of a new authority, signed in: their view and session token.
pub async fn staff(db: &Db, now: Millis) -> (StaffView, Secret) {
    let username = staff_member(db, STAFF_PASSWORD, now).await;
    let session =
        staff::sign_in(db, &username, Secret::new(STAFF_PASSWORD), now, &Random::os()).await.expect("staff sign-in");
    let view = staff::current(db, session.token.expose(), now).await.expect("read").expect("session");
    (view, session.token)
}

/// A certificate just issued, waiting for its legal representative (its first manager) to claim.
pub struct Issued {
    pub certificate_id: String,
    pub credit_code: String,
    pub claim_code: Secret,
}

/// `staff` issues a certificate for `institution` whose legal representative `rep` (ID number
/// [`resident_id`]`(seq)`) is its first manager.
pub async fn issue(db: &Db, staff: &StaffView, institution: &str, rep: &str, seq: u16, now: Millis) -> Issued {
    let credit_code = credit_code();
    let request = IssueRequest {
        credit_code: credit_code.clone(),
        name: institution.into(),
        address: "北京市海淀区中关村大街1号".into(),
        legal_rep: PersonInput { name: rep.into(), id_number: resident_id(seq), mobile: "13812345678".into() },
        first_manager: FirstManagerChoice::LegalRepresentative,
        checklist: ecert_core::certificate::Checklist::ALL,
    };
    let (_, claim) =
        certificate::issue(db, staff, &request, &IdentityVerifier::Local, IssuePolicy::default(), now, &Random::os())
            .await
            .expect("issue");
    Issued { certificate_id: claim.certificate_id, credit_code, claim_code: claim.code }
}

/// What a person types and their phone signs to accept a claim or authorization code.
pub fn acceptance(phone: &Phone, kind: CodeKind, code: &str, name: &str, seq: u16) -> Acceptance {
    let act = if kind == CodeKind::Claim { action::CLAIM } else { action::ACCEPT };
    Acceptance {
        name: name.into(),
        id_number: resident_id(seq),
        password: Secret::new(PASSWORD),
        public_key: phone.public_key.clone(),
        signature: phone.sign(act, code),
    }
}

/// A holder with the phone their certificate is bound to.
pub struct Member {
    pub phone: Phone,
    pub binding: Binding,
}

/// The person named in a claim or authorization code accepts it on a new phone.
pub async fn accept(db: &Db, kind: CodeKind, code: &str, name: &str, seq: u16, now: Millis) -> Member {
    let phone = Phone::new();
    let a = acceptance(&phone, kind, code, name, seq);
    let binding = holder::accept(db, kind, code, &a, now, &Random::os()).await.expect("accept");
    Member { phone, binding }
}

/// A new institution's certificate, issued by `staff` and claimed by its legal representative.
pub async fn first_manager(db: &Db, staff: &StaffView, institution: &str, rep: &str, seq: u16, now: Millis) -> Member {
    let issued = issue(db, staff, institution, rep, seq, now).await;
    accept(db, CodeKind::Claim, issued.claim_code.expose(), rep, seq, now).await
}

/// The wallet's caller, as a signed status call makes it.
pub async fn caller(db: &Db, m: &Member) -> Caller {
    let device_id = &m.binding.device_id;
    let sig = m.phone.sign(action::STATUS, device_id);
    let bound =
        device::signed(db, device_id, &device::message(action::STATUS, device_id), &sig, ecert_core::Millis::now())
            .await
            .expect("device");
    holder::caller_of(db, &bound).await.expect("caller")
}

/// `by` adds a manager or user (a user with `grant`), who accepts on a new phone.
pub async fn member(
    db: &Db,
    by: &Member,
    role: ecert_core::holder::Role,
    name: &str,
    seq: u16,
    grant: Option<&GrantInput>,
    now: Millis,
) -> Member {
    let person = PersonInput { name: name.into(), id_number: resident_id(seq), mobile: "13912345678".into() };
    let caller = caller(db, by).await;
    let code = holder::add(db, &caller, role, &person, grant, &IdentityVerifier::Local, now, &Random::os())
        .await
        .expect("add");
    accept(db, CodeKind::Authorize, code.code.expose(), name, seq, now).await
}
