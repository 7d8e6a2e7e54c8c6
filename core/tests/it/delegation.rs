//! Journeys 2–5 of the delegation issue: claim (R2), managers (R3–R5), users and grants (R6),
//! visibility (R7), removal (R8), scan login (R11) and the certificate password (R13).

use ecert_core::certificate::{self, CertificateStatus, FirstManagerChoice, IssuePolicy, IssueRequest, PersonInput};
use ecert_core::code::CodeKind;
use ecert_core::device::{self, action};
use ecert_core::holder::{self, Acceptance, Caller, GrantInput, HolderStatus, Role};
use ecert_core::identity::IdentityVerifier;
use ecert_core::login::approval::{self, Action, ApprovalState};
use ecert_core::login::{self, Approval, LoginState, Requester};
use ecert_core::secret::{Random, Secret};
use ecert_core::store::Db;
use ecert_core::{DomainError, Error, Millis, store::query};
use ecert_testing::open_test_db;
use tokio::sync::mpsc::{UnboundedReceiver as Receiver, UnboundedSender as Sender};

use crate::support::{Phone, T0, count, credit_code, domain, read_request, resident_id, staff_view};

pub(crate) const PASSWORD: &str = "cert-pass-1";

fn acceptance(phone: &Phone, kind: CodeKind, code: &str, name: &str, id_number: &str) -> Acceptance {
    let act = if kind == CodeKind::Claim { action::CLAIM } else { action::ACCEPT };
    Acceptance {
        name: name.into(),
        id_number: id_number.into(),
        password: Secret::new(PASSWORD),
        public_key: phone.public_key.clone(),
        signature: phone.sign(act, code),
    }
}

/// A certificate issued at T0 whose legal representative 张三 (ID seq 123) is the pending first manager.
async fn issued(db: &Db) -> (String, String) {
    let claim = issue_as(db, &staff_view(db).await, "北京市测试研究院").await;
    (claim.certificate_id, claim.code.expose().to_owned())
}

/// `staff` issue a certificate named `name` at T0 (legal representative 张三, ID seq 123).
pub(crate) async fn issue_as(db: &Db, staff: &ecert_core::staff::StaffView, name: &str) -> certificate::ClaimCode {
    let request = IssueRequest {
        credit_code: credit_code(),
        name: name.into(),
        address: "北京市海淀区中关村大街1号".into(),
        legal_rep: PersonInput { name: "张三".into(), id_number: resident_id(123), mobile: "13812345678".into() },
        first_manager: FirstManagerChoice::LegalRepresentative,
        checklist: ecert_core::certificate::Checklist::ALL,
    };
    let (_, claim) =
        certificate::issue(db, staff, &request, &IdentityVerifier::Local, IssuePolicy::default(), T0, &Random::os())
            .await
            .unwrap();
    claim
}

/// 张三 claims `claim` on a new phone.
pub(crate) async fn claim_with_phone(db: &Db, claim: &certificate::ClaimCode) -> Member {
    let phone = Phone::new();
    let a = acceptance(&phone, CodeKind::Claim, claim.code.expose(), "张三", &resident_id(123));
    let binding = holder::accept(db, CodeKind::Claim, claim.code.expose(), &a, T0, &Random::os()).await.unwrap();
    Member { phone, binding }
}

/// A person with their phone, bound to a role.
pub(crate) struct Member {
    pub(crate) phone: Phone,
    pub(crate) binding: holder::Binding,
}

impl Member {
    pub(crate) async fn caller(&self, db: &Db) -> Caller {
        let sig = self.phone.sign(action::STATUS, &self.binding.device_id);
        let bound = device::signed(
            db,
            &self.binding.device_id,
            &device::message(action::STATUS, &self.binding.device_id),
            &sig,
            T0,
        )
        .await
        .unwrap();
        holder::caller_of(db, &bound).await.unwrap()
    }
}

/// A certificate claimed by its first manager.
pub(crate) async fn claimed(db: &Db) -> Member {
    let (_, code) = issued(db).await;
    let phone = Phone::new();
    let a = acceptance(&phone, CodeKind::Claim, &code, "张三", &resident_id(123));
    let binding = holder::accept(db, CodeKind::Claim, &code, &a, T0.plus_minutes(1), &Random::os()).await.unwrap();
    Member { phone, binding }
}

pub(crate) fn person(name: &str, seq: u16) -> PersonInput {
    PersonInput { name: name.into(), id_number: resident_id(seq), mobile: "13912345678".into() }
}

pub(crate) fn grant(matter: &str, start: &str, end: &str) -> GrantInput {
    GrantInput { matter_ids: vec![matter.into()], start_day: start.into(), end_day: end.into() }
}

pub(crate) async fn first_matter(db: &Db, caller: &Caller) -> String {
    holder::catalogue(db, &caller.authority_id).await.unwrap()[0].id.clone()
}

/// Adds a person with `by` and has them accept on their own phone.
pub(crate) async fn member(db: &Db, by: &Member, role: Role, name: &str, seq: u16) -> Member {
    let caller = by.caller(db).await;
    let g = if role == Role::User {
        Some(grant(&first_matter(db, &caller).await, "2026-01-01", "2026-06-30"))
    } else {
        None
    };
    let code =
        holder::add(db, &caller, role, &person(name, seq), g.as_ref(), &IdentityVerifier::Local, T0, &Random::os())
            .await
            .unwrap();
    let phone = Phone::new();
    let a = acceptance(&phone, CodeKind::Authorize, code.code.expose(), name, &resident_id(seq));
    let binding = holder::accept(db, CodeKind::Authorize, code.code.expose(), &a, T0.plus_minutes(1), &Random::os())
        .await
        .unwrap();
    Member { phone, binding }
}

#[tokio::test]
async fn r2_the_first_manager_claims_on_a_device_after_confirming_name_and_id() {
    let db = open_test_db().await;
    let (certificate_id, code) = issued(&db).await;
    let phone = Phone::new();
    let at = T0.plus_minutes(2);
    let offer = holder::offer(&db, CodeKind::Claim, &code, at).await.unwrap();
    assert_eq!(offer.holder_name, "张*", "R16: masked");
    assert_eq!(offer.role, Role::FirstManager);

    // A wrong ID number, a wrong name or a bad signature changes nothing and leaves the code usable.
    let wrong = acceptance(&phone, CodeKind::Claim, &code, "张三", &resident_id(124));
    assert_eq!(
        domain(holder::accept(&db, CodeKind::Claim, &code, &wrong, at, &Random::os()).await),
        DomainError::IdentityMismatch
    );
    let wrong = acceptance(&phone, CodeKind::Claim, &code, "李四", &resident_id(123));
    assert_eq!(
        domain(holder::accept(&db, CodeKind::Claim, &code, &wrong, at, &Random::os()).await),
        DomainError::IdentityMismatch
    );
    let mut forged = acceptance(&phone, CodeKind::Claim, &code, "张三", &resident_id(123));
    forged.signature = Phone::new().sign(action::CLAIM, &code);
    assert_eq!(
        domain(holder::accept(&db, CodeKind::Claim, &code, &forged, at, &Random::os()).await),
        DomainError::BadSignature
    );
    let mut short = acceptance(&phone, CodeKind::Claim, &code, "张三", &resident_id(123));
    short.password = Secret::new("12345");
    assert!(matches!(
        domain(holder::accept(&db, CodeKind::Claim, &code, &short, at, &Random::os()).await),
        DomainError::Validation(_)
    ));
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM device d JOIN holder h ON h.id = d.holder_id WHERE h.certificate_id = $1",
            &certificate_id
        )
        .await,
        0
    );

    let ok = acceptance(&phone, CodeKind::Claim, &code, "张三", &resident_id(123));
    let binding = holder::accept(&db, CodeKind::Claim, &code, &ok, at, &Random::os()).await.unwrap();
    assert_eq!(binding.role, Role::FirstManager);
    assert_eq!(binding.certificate_id, certificate_id);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM change_record WHERE certificate_id = $1 AND kind = 'claimed'",
            &certificate_id
        )
        .await,
        1
    );
    // R2: single-use.
    let again = acceptance(&Phone::new(), CodeKind::Claim, &code, "张三", &resident_id(123));
    assert_eq!(
        domain(holder::accept(&db, CodeKind::Claim, &code, &again, at, &Random::os()).await),
        DomainError::CodeUsed
    );
    // The device key now signs for the holder; another key does not.
    let msg = device::message(action::STATUS, &binding.device_id);
    assert!(
        device::signed(&db, &binding.device_id, &msg, &phone.sign(action::STATUS, &binding.device_id), T0)
            .await
            .is_ok()
    );
    let other = Phone::new().sign(action::STATUS, &binding.device_id);
    assert_eq!(domain(device::signed(&db, &binding.device_id, &msg, &other, T0).await), DomainError::BadSignature);
}

#[tokio::test]
async fn r2_of_twenty_concurrent_claims_with_one_code_exactly_one_binds() {
    let db = open_test_db().await;
    let (certificate_id, code) = issued(&db).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (db, code) = (db.clone(), code.clone());
            tokio::spawn(async move {
                let phone = Phone::new();
                let a = acceptance(&phone, CodeKind::Claim, &code, "张三", &resident_id(123));
                holder::accept(&db, CodeKind::Claim, &code, &a, T0.plus_minutes(1), &Random::os()).await.is_ok()
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    let sql = "SELECT COUNT(*) FROM device d JOIN holder h ON h.id = d.holder_id WHERE h.certificate_id = $1";
    assert_eq!(count(&db, sql, &certificate_id).await, 1);
}

#[tokio::test]
async fn r3_a_fourth_manager_is_refused_with_a_clear_message() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let caller = fm.caller(&db).await;
    for seq in 1..=3 {
        holder::add(
            &db,
            &caller,
            Role::Manager,
            &person("王五", seq),
            None,
            &IdentityVerifier::Local,
            T0,
            &Random::os(),
        )
        .await
        .unwrap();
    }
    let fourth =
        holder::add(&db, &caller, Role::Manager, &person("王五", 4), None, &IdentityVerifier::Local, T0, &Random::os())
            .await;
    let e = domain(fourth);
    assert_eq!(e, DomainError::TooManyManagers);
    assert!(e.message(ecert_core::Lang::Zh).contains("最多授权3名管理人"));
    // Users are not managers: they can still be added.
    let g = grant(&first_matter(&db, &caller).await, "2026-01-01", "2026-01-31");
    holder::add(&db, &caller, Role::User, &person("赵六", 9), Some(&g), &IdentityVerifier::Local, T0, &Random::os())
        .await
        .unwrap();
}

#[tokio::test]
async fn r3_of_twenty_concurrent_manager_additions_exactly_three_succeed() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let caller = fm.caller(&db).await;
    let tasks: Vec<_> = (0..20u16)
        .map(|seq| {
            let (db, caller) = (db.clone(), caller.clone());
            tokio::spawn(async move {
                holder::add(
                    &db,
                    &caller,
                    Role::Manager,
                    &person("王五", 100 + seq),
                    None,
                    &IdentityVerifier::Local,
                    T0,
                    &Random::os(),
                )
                .await
            })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(Error::Domain(DomainError::TooManyManagers)) => refused += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((ok, refused), (3, 17));
    let sql = "SELECT COUNT(*) FROM holder WHERE certificate_id = $1 AND role = 'manager'";
    assert_eq!(count(&db, sql, &caller.certificate_id).await, 3);
}

#[tokio::test]
async fn r4_r5_roles_wait_for_the_face_to_face_code_which_lives_five_minutes_and_can_be_renewed() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let caller = fm.caller(&db).await;
    let first =
        holder::add(&db, &caller, Role::Manager, &person("王五", 7), None, &IdentityVerifier::Local, T0, &Random::os())
            .await
            .unwrap();
    assert_eq!(first.expires_at, T0.plus_minutes(5));
    let listed = holder::list(&db, &caller, T0).await.unwrap();
    assert_eq!(
        listed.iter().find(|h| h.id == first.holder_id).unwrap().status,
        HolderStatus::Pending,
        "R4: pending until accepted"
    );

    let phone = Phone::new();
    let late = acceptance(&phone, CodeKind::Authorize, first.code.expose(), "王五", &resident_id(7));
    let expired =
        holder::accept(&db, CodeKind::Authorize, first.code.expose(), &late, T0.plus_minutes(5), &Random::os()).await;
    assert_eq!(domain(expired), DomainError::CodeExpired);

    let second =
        holder::authorize_code(&db, &caller, &first.holder_id, T0.plus_minutes(6), &Random::os()).await.unwrap();
    let old = acceptance(&phone, CodeKind::Authorize, first.code.expose(), "王五", &resident_id(7));
    let voided =
        holder::accept(&db, CodeKind::Authorize, first.code.expose(), &old, T0.plus_minutes(6), &Random::os()).await;
    assert_eq!(domain(voided), DomainError::CodeInvalid, "R5: the renewed code voids the previous one");
    // A claim code cannot be used to accept and vice versa.
    let a = acceptance(&phone, CodeKind::Claim, second.code.expose(), "王五", &resident_id(7));
    assert_eq!(
        domain(holder::accept(&db, CodeKind::Claim, second.code.expose(), &a, T0.plus_minutes(7), &Random::os()).await),
        DomainError::CodeInvalid
    );
    let a = acceptance(&phone, CodeKind::Authorize, second.code.expose(), "王五", &resident_id(7));
    let binding = holder::accept(&db, CodeKind::Authorize, second.code.expose(), &a, T0.plus_minutes(7), &Random::os())
        .await
        .unwrap();
    assert_eq!(binding.role, Role::Manager);
    let listed = holder::list(&db, &caller, T0).await.unwrap();
    assert_eq!(listed.iter().find(|h| h.id == first.holder_id).unwrap().status, HolderStatus::Active);
}

#[tokio::test]
async fn r6_grants_need_a_matter_of_the_catalogue_and_a_period_of_one_day_to_one_year() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let caller = fm.caller(&db).await;
    let catalogue = holder::catalogue(&db, &caller.authority_id).await.unwrap();
    let names: Vec<&str> = catalogue.iter().map(|m| m.name_zh.as_str()).collect();
    assert_eq!(names, ["银行开户", "政务服务", "社保医保", "税务", "招投标", "不动产登记", "登记业务"]);
    let m = catalogue[0].id.clone();
    let users = "SELECT COUNT(*) FROM holder WHERE certificate_id = $1 AND role = 'user'";
    let bad = [
        GrantInput { matter_ids: vec![], start_day: "2026-01-01".into(), end_day: "2026-01-02".into() },
        GrantInput {
            matter_ids: vec!["no-such-matter".into()],
            start_day: "2026-01-01".into(),
            end_day: "2026-01-02".into(),
        },
        grant(&m, "2026-01-01", "2027-01-01"),
        grant(&m, "2026-01-02", "2026-01-01"),
        grant(&m, "2025-12-31", "2026-01-05"),
        grant(&m, "2026-02-30", "2026-03-05"),
    ];
    for g in &bad {
        let r = holder::add(
            &db,
            &caller,
            Role::User,
            &person("赵六", 9),
            Some(g),
            &IdentityVerifier::Local,
            T0,
            &Random::os(),
        )
        .await;
        assert!(matches!(domain(r), DomainError::Validation(_)), "{g:?}");
    }
    assert_eq!(count(&db, users, &caller.certificate_id).await, 0, "bad input changes nothing");
    // R17: a user may be registered without a grant, to be granted later.
    let r =
        holder::add(&db, &caller, Role::User, &person("钱七", 10), None, &IdentityVerifier::Local, T0, &Random::os())
            .await;
    r.expect("a user without a grant");

    let ok = grant(&m, "2026-01-01", "2026-12-31");
    let added = holder::add(
        &db,
        &caller,
        Role::User,
        &person("赵六", 9),
        Some(&ok),
        &IdentityVerifier::Local,
        T0,
        &Random::os(),
    )
    .await
    .unwrap();
    let view = holder::list(&db, &caller, T0).await.unwrap().into_iter().find(|h| h.id == added.holder_id).unwrap();
    assert_eq!(view.grants.len(), 1);
    let first = &view.grants[0];
    assert!(!first.effective && first.received_at.is_none(), "R17: it comes with the role, not taken up yet");
    let after = holder::list(&db, &caller, Millis(T0.0 + 366 * Millis::DAY)).await.unwrap();
    let lapsed = after.into_iter().find(|h| h.id == added.holder_id).unwrap();
    assert!(!lapsed.grants[0].effective, "R6: lapses by itself at the end");
    // The same person is not added twice.
    let twice = holder::add(
        &db,
        &caller,
        Role::User,
        &person("赵六", 9),
        Some(&ok),
        &IdentityVerifier::Local,
        T0,
        &Random::os(),
    )
    .await;
    assert!(matches!(domain(twice), DomainError::AlreadyExists { .. }));
}

#[tokio::test]
async fn r7_each_role_sees_exactly_what_the_rule_allows() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let m2 = member(&db, &fm, Role::Manager, "钱七", 2).await;
    let u1 = member(&db, &m1, Role::User, "赵六", 11).await;
    let _u2 = member(&db, &m2, Role::User, "孙八", 12).await;
    let ids = |v: Vec<holder::HolderView>| -> Vec<String> { v.into_iter().map(|h| h.id).collect() };

    let all = ids(holder::list(&db, &fm.caller(&db).await, T0).await.unwrap());
    assert_eq!(all.len(), 5, "the first manager sees everyone");
    let seen = ids(holder::list(&db, &m1.caller(&db).await, T0).await.unwrap());
    assert_eq!(
        seen,
        vec![m1.binding.holder_id.clone(), u1.binding.holder_id.clone()],
        "a manager: itself and its users"
    );
    let seen = ids(holder::list(&db, &u1.caller(&db).await, T0).await.unwrap());
    assert_eq!(seen, vec![u1.binding.holder_id.clone()], "a user: only itself");
    let me = holder::me(&db, &u1.caller(&db).await, T0).await.unwrap();
    assert_eq!((me.id.as_str(), me.grants.len()), (u1.binding.holder_id.as_str(), 1), "the wallet's view of itself");

    let fm_changes = holder::changes(&db, &fm.caller(&db).await, 100).await.unwrap();
    let m1_changes = holder::changes(&db, &m1.caller(&db).await, 100).await.unwrap();
    assert!(fm_changes.len() > m1_changes.len());
    let m1_ids = [Some(m1.binding.holder_id.clone()), Some(u1.binding.holder_id.clone())];
    assert!(
        m1_changes.iter().all(|c| m1_ids.contains(&c.subject_id)),
        "a manager sees records of itself and its users"
    );
    // Someone else's holder is invisible: not found rather than forbidden.
    let e = holder::authorize_code(&db, &m1.caller(&db).await, &_u2.binding.holder_id, T0, &Random::os()).await;
    assert_eq!(domain(e), DomainError::NotFound);
    // A user adds nobody.
    let e = holder::add(
        &db,
        &u1.caller(&db).await,
        Role::User,
        &person("周九", 30),
        None,
        &IdentityVerifier::Local,
        T0,
        &Random::os(),
    )
    .await;
    assert_eq!(domain(e), DomainError::Forbidden);
    let e = holder::add(
        &db,
        &m1.caller(&db).await,
        Role::Manager,
        &person("周九", 30),
        None,
        &IdentityVerifier::Local,
        T0,
        &Random::os(),
    )
    .await;
    assert_eq!(domain(e), DomainError::Forbidden, "R3: only the first manager authorizes managers");
}

#[tokio::test]
async fn r8_removing_a_manager_removes_its_users_and_voids_their_devices_at_once() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let m2 = member(&db, &fm, Role::Manager, "钱七", 2).await;
    let u1 = member(&db, &m1, Role::User, "赵六", 11).await;
    let u2 = member(&db, &m2, Role::User, "孙八", 12).await;

    // A manager removes only users it authorized; others are invisible to it (R7), so not found.
    for other in [&m2, &u2, &fm] {
        let e = holder::remove(&db, &m1.caller(&db).await, &other.binding.holder_id, T0, &Random::os()).await;
        assert_eq!(domain(e), DomainError::NotFound);
    }
    // Nobody removes itself here, and a user removes nobody.
    let e = holder::remove(&db, &m1.caller(&db).await, &m1.binding.holder_id, T0, &Random::os()).await;
    assert_eq!(domain(e), DomainError::Forbidden);
    let e = holder::remove(&db, &u1.caller(&db).await, &u1.binding.holder_id, T0, &Random::os()).await;
    assert_eq!(domain(e), DomainError::Forbidden);

    holder::remove(&db, &fm.caller(&db).await, &m1.binding.holder_id, T0, &Random::os()).await.unwrap();
    for gone in [&m1, &u1] {
        let sig = gone.phone.sign(action::STATUS, &gone.binding.device_id);
        let msg = device::message(action::STATUS, &gone.binding.device_id);
        assert_eq!(domain(device::signed(&db, &gone.binding.device_id, &msg, &sig, T0).await), DomainError::Revoked);
    }
    let sql = "SELECT COUNT(*) FROM holder_grant WHERE holder_id = $1 AND status = 'active'";
    assert_eq!(count(&db, sql, &u1.binding.holder_id).await, 0, "their grants are cancelled");
    assert_eq!(count(&db, sql, &u2.binding.holder_id).await, 1, "other managers' users keep theirs");
    u2.caller(&db).await;
    // A manager removes its own user.
    holder::remove(&db, &m2.caller(&db).await, &u2.binding.holder_id, T0, &Random::os()).await.unwrap();
    assert_eq!(count(&db, sql, &u2.binding.holder_id).await, 0, "removing a user voids its grants");
}

#[tokio::test]
async fn r11_scan_login_goes_waiting_scanned_confirmed_and_is_consumed_once() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let random = Random::os();
    let started = login::start(&db, login::DASHBOARD, &login::Requester::default(), T0, &random).await.unwrap();
    let (code, browser) = (started.code.expose(), started.browser.expose());
    assert_eq!(login::poll(&db, browser, T0).await.unwrap(), LoginState::Waiting);
    assert_eq!(login::poll(&db, "not-a-browser", T0).await.unwrap(), LoginState::Unknown);

    let device_id = &fm.binding.device_id;
    let forged = Phone::new().sign(action::LOGIN_SCAN, code);
    assert_eq!(domain(login::scan(&db, code, device_id, &forged, None, T0).await), DomainError::BadSignature);
    let prompt = login::scan(&db, code, device_id, &fm.phone.sign(action::LOGIN_SCAN, code), None, T0).await.unwrap();
    let choices = &prompt.match_choices;
    assert_eq!(choices.len(), login::MATCH_CHOICES, "the phone offers three codes");
    assert_eq!(choices.iter().filter(|c| **c == started.match_code).count(), 1, "the PC's among them, once");
    assert!(choices.iter().all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_digit())), "{choices:?}");
    let mut distinct = choices.clone();
    distinct.dedup();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), choices.len(), "no code twice: {choices:?}");
    assert_eq!(prompt.system, login::DASHBOARD);
    assert_eq!(login::poll(&db, browser, T0).await.unwrap(), LoginState::Scanned);
    assert_eq!(login::consume(&db, browser, T0, &random).await.unwrap().map(|_| ()), None, "not before confirmation");

    let approve = fm.phone.sign(action::LOGIN_APPROVE, code);
    let wrong = login::answer(&db, code, device_id, &approve, approval_of("wrong-pass", &started), T0, &random).await;
    assert_eq!(domain(wrong), DomainError::WrongPassword { remaining: 5 });
    login::answer(&db, code, device_id, &approve, approval_of(PASSWORD, &started), T0, &random).await.unwrap();
    assert_eq!(login::poll(&db, browser, T0).await.unwrap(), LoginState::Confirmed);
    let session = login::consume(&db, browser, T0, &random).await.unwrap().expect("a session");
    assert!(login::consume(&db, browser, T0, &random).await.unwrap().is_none(), "consumed once");
    let caller = login::current(&db, session.token.expose(), T0).await.unwrap().unwrap();
    assert_eq!(caller.holder_id, fm.binding.holder_id);
    let sql = "SELECT COUNT(*) FROM usage_record WHERE holder_id = $1 AND kind = 'login' AND result = 'confirmed'";
    assert_eq!(count(&db, sql, &fm.binding.holder_id).await, 1, "R12: a usage record");
    // The QR is single-use.
    let again = login::scan(&db, code, device_id, &fm.phone.sign(action::LOGIN_SCAN, code), None, T0).await;
    assert_eq!(domain(again), DomainError::CodeUsed);
}

/// The holder's yes to login `s`: `password`, and the PC's match code.
pub(crate) fn approval_of(password: &str, s: &login::Started) -> Option<Approval> {
    Some(Approval { password: Secret::new(password), match_code: s.match_code.clone() })
}

/// A login started and scanned by `fm`'s phone: its code, the PC's match code and a decoy.
async fn scanned_login(
    db: &Db,
    fm: &Member,
    requester: &Requester,
    phone_ip: Option<&str>,
) -> (login::Started, login::LoginPrompt) {
    let started = login::start(db, login::DASHBOARD, requester, T0, &Random::os()).await.unwrap();
    let code = started.code.expose();
    let sig = fm.phone.sign(action::LOGIN_SCAN, code);
    let prompt = login::scan(db, code, &fm.binding.device_id, &sig, phone_ip, T0).await.unwrap();
    (started, prompt)
}

#[tokio::test]
async fn r21_a_wrong_match_code_ends_the_login_before_any_password_is_tried() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let random = Random::os();
    let (s, prompt) = scanned_login(&db, &fm, &Requester::default(), None).await;
    let code = s.code.expose();
    let decoy = prompt.match_choices.iter().find(|c| **c != s.match_code).unwrap().clone();
    let approve = fm.phone.sign(action::LOGIN_APPROVE, code);
    let id = &fm.binding.device_id;

    // No code picked at all: refused, and the request still stands.
    let none = Approval { password: Secret::new(PASSWORD), match_code: " ".into() };
    let e = login::answer(&db, code, id, &approve, Some(none), T0, &random).await;
    assert!(matches!(domain(e), DomainError::Validation(ref f) if f[0].field == "match_code"));
    assert_eq!(login::poll(&db, s.browser.expose(), T0).await.unwrap(), LoginState::Scanned);

    // A decoy, even with the right password: the login ends, the PC sees it rejected.
    let wrong = Approval { password: Secret::new(PASSWORD), match_code: decoy };
    let e = login::answer(&db, code, id, &approve, Some(wrong), T0, &random).await;
    assert_eq!(domain(e), DomainError::MatchCodeWrong);
    assert_eq!(login::poll(&db, s.browser.expose(), T0).await.unwrap(), LoginState::Rejected);
    assert!(login::consume(&db, s.browser.expose(), T0, &random).await.unwrap().is_none(), "no session");
    let sql = "SELECT COUNT(*) FROM usage_record WHERE holder_id = $1 AND kind = 'login' AND result = 'match_failed'";
    assert_eq!(count(&db, sql, &fm.binding.holder_id).await, 1, "R12: the failed match is on record");

    // The right code afterwards is too late: the request is over.
    let right = Approval { password: Secret::new(PASSWORD), match_code: s.match_code.clone() };
    let e = domain(login::answer(&db, code, id, &approve, Some(right), T0, &random).await);
    assert!(matches!(e, DomainError::CodeUsed | DomainError::InvalidState), "{e:?}");

    // No password try was spent on the decoy (R13 counts only real tries): five remain after one
    // wrong password on a fresh login.
    let (s2, _) = scanned_login(&db, &fm, &Requester::default(), None).await;
    let code2 = s2.code.expose();
    let bad = Approval { password: Secret::new("wrong-pass"), match_code: s2.match_code.clone() };
    let e = login::answer(&db, code2, id, &fm.phone.sign(action::LOGIN_APPROVE, code2), Some(bad), T0, &random).await;
    assert_eq!(domain(e), DomainError::WrongPassword { remaining: 5 });
}

#[tokio::test]
async fn r21_the_phone_sees_the_requesting_browser_and_a_warning_across_networks() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let pc = Requester::new(Some("198.51.100.7".into()), Some(chrome));

    let (_, prompt) = scanned_login(&db, &fm, &pc, Some("203.0.113.9")).await;
    assert_eq!(prompt.requested_from.as_deref(), Some("198.51.100.7"));
    assert_eq!(prompt.requested_with.as_deref(), Some("Chrome 131 · Windows"));
    assert_eq!(prompt.requested_at, T0.0);
    assert!(prompt.network_differs, "a PC on another network than the phone is flagged");
    assert_eq!(prompt.party_domain, None, "the dashboard has no party domain");

    let (_, prompt) = scanned_login(&db, &fm, &pc, Some("198.51.100.200")).await;
    assert!(!prompt.network_differs, "same network, no warning");
    let (_, prompt) = scanned_login(&db, &fm, &Requester::default(), Some("203.0.113.9")).await;
    assert!(!prompt.network_differs, "an unknown address never warns");
    assert_eq!(prompt.requested_from, None);
}

#[tokio::test]
async fn r11_login_requests_expire_after_five_minutes_can_be_rejected_and_are_refused_to_users() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let random = Random::os();
    let s = login::start(&db, login::DASHBOARD, &login::Requester::default(), T0, &random).await.unwrap();
    assert_eq!(login::poll(&db, s.browser.expose(), T0.plus_minutes(5)).await.unwrap(), LoginState::Expired);
    let late = login::scan(
        &db,
        s.code.expose(),
        &fm.binding.device_id,
        &fm.phone.sign(action::LOGIN_SCAN, s.code.expose()),
        None,
        T0.plus_minutes(5),
    )
    .await;
    assert_eq!(domain(late), DomainError::CodeExpired);

    let s = login::start(&db, login::DASHBOARD, &login::Requester::default(), T0, &random).await.unwrap();
    let code = s.code.expose();
    login::scan(&db, code, &fm.binding.device_id, &fm.phone.sign(action::LOGIN_SCAN, code), None, T0).await.unwrap();
    login::answer(&db, code, &fm.binding.device_id, &fm.phone.sign(action::LOGIN_REJECT, code), None, T0, &random)
        .await
        .unwrap();
    assert_eq!(login::poll(&db, s.browser.expose(), T0).await.unwrap(), LoginState::Rejected);
    assert!(login::consume(&db, s.browser.expose(), T0, &random).await.unwrap().is_none());

    let user = member(&db, &fm, Role::User, "赵六", 11).await;
    let s = login::start(&db, login::DASHBOARD, &login::Requester::default(), T0, &random).await.unwrap();
    let code = s.code.expose();
    let e = login::scan(&db, code, &user.binding.device_id, &user.phone.sign(action::LOGIN_SCAN, code), None, T0).await;
    assert_eq!(domain(e), DomainError::NotAManager);
}

#[tokio::test]
async fn r8_an_open_dashboard_session_stops_working_when_its_holder_is_removed() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let random = Random::os();
    let s = login::start(&db, login::DASHBOARD, &login::Requester::default(), T0, &random).await.unwrap();
    let code = s.code.expose();
    login::scan(&db, code, &m1.binding.device_id, &m1.phone.sign(action::LOGIN_SCAN, code), None, T0).await.unwrap();
    let sig = m1.phone.sign(action::LOGIN_APPROVE, code);
    login::answer(&db, code, &m1.binding.device_id, &sig, approval_of(PASSWORD, &s), T0, &random).await.unwrap();
    let session = login::consume(&db, s.browser.expose(), T0, &random).await.unwrap().unwrap();
    assert!(login::current(&db, session.token.expose(), T0).await.unwrap().is_some());
    holder::remove(&db, &fm.caller(&db).await, &m1.binding.holder_id, T0, &random).await.unwrap();
    assert!(login::current(&db, session.token.expose(), T0).await.unwrap().is_none());
}

#[tokio::test]
async fn r13_six_wrong_passwords_lock_even_when_guessed_concurrently_and_a_change_needs_the_old_one() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let device_id = fm.binding.device_id.clone();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let (db, device_id) = (db.clone(), device_id.clone());
            tokio::spawn(
                async move { device::check_password(&db, &device_id, Secret::new(format!("guess-{i}"))).await },
            )
        })
        .collect();
    let mut wrong = 0;
    for t in tasks {
        match t.await.unwrap() {
            Err(Error::Domain(DomainError::WrongPassword { .. })) => wrong += 1,
            Err(Error::Domain(DomainError::PasswordLocked)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wrong, 5, "only 6 guesses are ever compared; the 6th locks");
    let right = device::check_password(&db, &device_id, Secret::new(PASSWORD)).await;
    assert_eq!(domain(right), DomainError::PasswordLocked, "R13: locked even for the right password");

    let other = claimed(&db).await;
    let id = &other.binding.device_id;
    let change = |old: &str| {
        let sig = other.phone.fresh(action::PASSWORD_CHANGE, id, T0);
        let (old, db) = (Secret::new(old), db.clone());
        async move { device::change_password(&db, id, sig.arg(), old, Secret::new("new-pass-2"), T0, &Random::os()).await }
    };
    assert_eq!(domain(change("not-the-old").await), DomainError::WrongPassword { remaining: 5 });
    change(PASSWORD).await.unwrap();
    assert!(device::check_password(&db, id, Secret::new("new-pass-2")).await.is_ok());
    assert!(device::check_password(&db, id, Secret::new(PASSWORD)).await.is_err());
}

async fn outbox_code(db: &Db) -> String {
    let body: String =
        db.fetch_one(query("SELECT body FROM sms_outbox ORDER BY created_at DESC LIMIT 1")).await.unwrap();
    body.chars().skip_while(|c| !c.is_ascii_digit()).take(6).collect()
}

#[tokio::test]
async fn r13_an_sms_code_unlocks_and_resets_the_password_with_five_tries_and_rate_limited_sends() {
    use ecert_core::sms::{self, SmsGateway};
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let id = fm.binding.device_id.clone();
    for _ in 0..6 {
        let _ = device::check_password(&db, &id, Secret::new("wrong-pass")).await;
    }
    assert_eq!(domain(device::check_password(&db, &id, Secret::new(PASSWORD)).await), DomainError::PasswordLocked);

    let random = Random::os();
    let ask = |now: Millis| fm.phone.fresh(action::SMS_REQUEST, &id, now);
    let forged = Phone::new().fresh(action::SMS_REQUEST, &id, T0);
    assert_eq!(
        domain(sms::request_reset(&db, &SmsGateway::Outbox, &id, forged.arg(), T0, &random).await),
        DomainError::BadSignature
    );
    let first = ask(T0);
    let masked = sms::request_reset(&db, &SmsGateway::Outbox, &id, first.arg(), T0, &random).await.unwrap();
    assert_eq!(masked, "138****5678", "to the registered mobile, masked (R16)");
    // Issue 14 §5: the same request sent again is refused before anything is sent.
    let replayed = sms::request_reset(&db, &SmsGateway::Outbox, &id, first.arg(), T0.plus_minutes(2), &random).await;
    assert_eq!(domain(replayed), DomainError::StaleSignature);
    let again = ask(T0.plus_millis(30_000));
    let again = sms::request_reset(&db, &SmsGateway::Outbox, &id, again.arg(), T0.plus_millis(30_000), &random).await;
    assert_eq!(domain(again), DomainError::RateLimited, "one a minute");
    let code = outbox_code(&db).await;
    assert_eq!(code.len(), 6);

    let reset = |now: Millis| fm.phone.fresh(action::PASSWORD_RESET, &id, now);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let fm_id = resident_id(123);
    // Issue 14 §5: the right code with another person's ID number is a wrong try too, and says
    // no more than a wrong code would.
    let e = sms::reset_password(
        &db,
        &id,
        reset(T0.plus_millis(30_000)).arg(),
        &code,
        &resident_id(124),
        Secret::new("new-pass-9"),
        T0,
        &random,
    )
    .await;
    assert_eq!(domain(e), DomainError::SmsCodeWrong { remaining: 4 }, "the ID number is checked too");
    let e = sms::reset_password(
        &db,
        &id,
        reset(T0.plus_millis(30_000)).arg(),
        wrong,
        &fm_id,
        Secret::new("new-pass-9"),
        T0,
        &random,
    )
    .await;
    assert_eq!(domain(e), DomainError::SmsCodeWrong { remaining: 3 });
    let late = sms::reset_password(
        &db,
        &id,
        reset(T0.plus_millis(30_000)).arg(),
        &code,
        &fm_id,
        Secret::new("new-pass-9"),
        T0.plus_minutes(5),
        &random,
    )
    .await;
    assert_eq!(domain(late), DomainError::SmsCodeWrong { remaining: 0 }, "5 minutes");
    sms::reset_password(
        &db,
        &id,
        reset(T0.plus_minutes(1)).arg(),
        &code,
        &fm_id,
        Secret::new("new-pass-9"),
        T0.plus_minutes(1),
        &random,
    )
    .await
    .unwrap();
    assert!(
        device::check_password(&db, &id, Secret::new("new-pass-9")).await.is_ok(),
        "unlocked with the new password"
    );
    let reused = sms::reset_password(
        &db,
        &id,
        reset(T0.plus_minutes(1)).arg(),
        &code,
        &fm_id,
        Secret::new("new-pass-8"),
        T0.plus_minutes(1),
        &random,
    )
    .await;
    assert_eq!(domain(reused), DomainError::SmsCodeWrong { remaining: 0 }, "single-use");

    // Five tries per code, then none.
    let ask2 =
        sms::request_reset(&db, &SmsGateway::Outbox, &id, ask(T0.plus_minutes(2)).arg(), T0.plus_minutes(2), &random)
            .await;
    assert!(ask2.is_ok());
    for remaining in (0..5).rev() {
        let e = sms::reset_password(
            &db,
            &id,
            reset(T0.plus_minutes(2)).arg(),
            wrong,
            &fm_id,
            Secret::new("new-pass-7"),
            T0.plus_minutes(2),
            &random,
        )
        .await;
        assert_eq!(domain(e), DomainError::SmsCodeWrong { remaining });
    }
    let code2 = outbox_code(&db).await;
    let e = sms::reset_password(
        &db,
        &id,
        reset(T0.plus_minutes(2)).arg(),
        &code2,
        &fm_id,
        Secret::new("new-pass-7"),
        T0.plus_minutes(2),
        &random,
    )
    .await;
    assert_eq!(domain(e), DomainError::SmsCodeWrong { remaining: 0 }, "even the right code after 5 wrong tries");
    // Five sends an hour.
    for m in 3..6 {
        sms::request_reset(
            &db,
            &SmsGateway::Outbox,
            &id,
            ask(T0.plus_minutes(2 * m)).arg(),
            T0.plus_minutes(2 * m),
            &random,
        )
        .await
        .unwrap();
    }
    let sixth =
        sms::request_reset(&db, &SmsGateway::Outbox, &id, ask(T0.plus_minutes(20)).arg(), T0.plus_minutes(20), &random)
            .await;
    assert_eq!(domain(sixth), DomainError::RateLimited, "five an hour");
}

#[tokio::test]
async fn r14_a_legal_representative_change_voids_every_authorization_and_issues_a_new_claim_code() {
    use ecert_core::changes::{self, ChangeRequest};
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let random = Random::os();
    let claim = issue_as(&db, &staff, "北京市变更测试研究院").await;
    let fm = claim_with_phone(&db, &claim).await;
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let u1 = member(&db, &m1, Role::User, "赵六", 11).await;
    let cert = claim.certificate_id.clone();

    // Bad input changes nothing.
    let bad = ChangeRequest::LegalRepresentative {
        legal_rep: PersonInput {
            name: "李四".into(),
            id_number: "110105199001011234".into(),
            mobile: "1381234".into(),
        },
        first_manager: FirstManagerChoice::LegalRepresentative,
        checklist: ecert_core::certificate::Checklist::ALL,
    };
    let e =
        changes::apply(&db, &staff, &cert, &bad, &IdentityVerifier::Local, IssuePolicy::default(), T0, &random).await;
    assert!(matches!(domain(e), DomainError::Validation(v) if v.len() == 2));
    fm.caller(&db).await;

    // Another authority's staff cannot.
    let other = staff_view(&db).await;
    let change = ChangeRequest::LegalRepresentative {
        legal_rep: PersonInput { name: "李四".into(), id_number: resident_id(200), mobile: "13700000000".into() },
        first_manager: FirstManagerChoice::LegalRepresentative,
        checklist: ecert_core::certificate::Checklist::ALL,
    };
    let e = changes::apply(&db, &other, &cert, &change, &IdentityVerifier::Local, IssuePolicy::default(), T0, &random)
        .await;
    assert_eq!(domain(e), DomainError::Forbidden);

    let new_claim =
        changes::apply(&db, &staff, &cert, &change, &IdentityVerifier::Local, IssuePolicy::default(), T0, &random)
            .await
            .unwrap()
            .expect("R14: a new claim code");
    for gone in [&fm, &m1, &u1] {
        let sig = gone.phone.sign(action::STATUS, &gone.binding.device_id);
        let msg = device::message(action::STATUS, &gone.binding.device_id);
        assert_eq!(domain(device::signed(&db, &gone.binding.device_id, &msg, &sig, T0).await), DomainError::Revoked);
    }
    let sql = "SELECT COUNT(*) FROM holder_grant WHERE holder_id = $1 AND status = 'active'";
    assert_eq!(count(&db, sql, &u1.binding.holder_id).await, 0);
    let view = certificate::view(&db, &staff, &cert, ecert_core::Millis::now()).await.unwrap();
    assert_eq!(view.legal_rep_name, "李*");
    assert_eq!(view.first_manager_status, Some(HolderStatus::Pending));
    // The new legal representative claims with the new code.
    let phone = Phone::new();
    let a = acceptance(&phone, CodeKind::Claim, new_claim.code.expose(), "李四", &resident_id(200));
    holder::accept(&db, CodeKind::Claim, new_claim.code.expose(), &a, T0, &random).await.unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM change_record WHERE certificate_id = $1 AND kind = 'legal_rep_changed'",
            &cert
        )
        .await,
        1
    );
}

#[tokio::test]
async fn r14_r15_a_first_manager_change_voids_all_and_a_cancellation_stops_every_code_and_login() {
    use ecert_core::changes::{self, ChangeRequest};
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let random = Random::os();
    let claim = issue_as(&db, &staff, "北京市注销测试研究院").await;
    let cert = claim.certificate_id.clone();
    let fm = claim_with_phone(&db, &claim).await;

    let form2 = ChangeRequest::FirstManager {
        first_manager: FirstManagerChoice::Delegate(person("王五", 50)),
        checklist: ecert_core::certificate::Checklist::ALL,
    };
    let new_claim =
        changes::apply(&db, &staff, &cert, &form2, &IdentityVerifier::Local, IssuePolicy::default(), T0, &random)
            .await
            .unwrap()
            .unwrap();
    let sig = fm.phone.sign(action::STATUS, &fm.binding.device_id);
    let msg = device::message(action::STATUS, &fm.binding.device_id);
    assert_eq!(domain(device::signed(&db, &fm.binding.device_id, &msg, &sig, T0).await), DomainError::Revoked);
    let phone = Phone::new();
    let a = acceptance(&phone, CodeKind::Claim, new_claim.code.expose(), "王五", &resident_id(50));
    let binding = holder::accept(&db, CodeKind::Claim, new_claim.code.expose(), &a, T0, &random).await.unwrap();
    let fm2 = Member { phone, binding };

    // A dashboard session is open and a face-to-face code is pending when the certificate is cancelled.
    let s = login::start(&db, login::DASHBOARD, &login::Requester::default(), T0, &random).await.unwrap();
    let code = s.code.expose();
    login::scan(&db, code, &fm2.binding.device_id, &fm2.phone.sign(action::LOGIN_SCAN, code), None, T0).await.unwrap();
    let sig = fm2.phone.sign(action::LOGIN_APPROVE, code);
    login::answer(&db, code, &fm2.binding.device_id, &sig, approval_of(PASSWORD, &s), T0, &random).await.unwrap();
    let session = login::consume(&db, s.browser.expose(), T0, &random).await.unwrap().unwrap();
    let pending = holder::add(
        &db,
        &fm2.caller(&db).await,
        Role::Manager,
        &person("钱七", 51),
        None,
        &IdentityVerifier::Local,
        T0,
        &random,
    )
    .await
    .unwrap();

    changes::apply(
        &db,
        &staff,
        &cert,
        &ChangeRequest::Cancel,
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        T0,
        &random,
    )
    .await
    .unwrap();
    assert!(login::current(&db, session.token.expose(), T0).await.unwrap().is_none(), "R15: open sessions end");
    let a = acceptance(&Phone::new(), CodeKind::Authorize, pending.code.expose(), "钱七", &resident_id(51));
    assert!(
        holder::accept(&db, CodeKind::Authorize, pending.code.expose(), &a, T0, &random).await.is_err(),
        "R15: codes fail"
    );
    let s = login::start(&db, login::DASHBOARD, &login::Requester::default(), T0, &random).await.unwrap();
    let code = s.code.expose();
    let e = login::scan(&db, code, &fm2.binding.device_id, &fm2.phone.sign(action::LOGIN_SCAN, code), None, T0).await;
    assert_eq!(domain(e), DomainError::Revoked, "R15: logins fail");
    assert_eq!(
        certificate::view(&db, &staff, &cert, ecert_core::Millis::now()).await.unwrap().status,
        CertificateStatus::Cancelled
    );
    let again = changes::apply(
        &db,
        &staff,
        &cert,
        &ChangeRequest::Rename { name: "新名称".into() },
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        T0,
        &random,
    )
    .await;
    assert_eq!(domain(again), DomainError::NotFound, "a cancelled certificate changes no more");
}

#[tokio::test]
async fn r2_five_wrong_identities_void_the_claim_code() {
    let db = open_test_db().await;
    let (_, code) = issued(&db).await;
    let phone = Phone::new();
    for seq in 1..=5 {
        let wrong = acceptance(&phone, CodeKind::Claim, &code, "张三", &resident_id(seq));
        let e = holder::accept(&db, CodeKind::Claim, &code, &wrong, T0, &Random::os()).await;
        assert_eq!(domain(e), DomainError::IdentityMismatch);
    }
    let right = acceptance(&phone, CodeKind::Claim, &code, "张三", &resident_id(123));
    let e = holder::accept(&db, CodeKind::Claim, &code, &right, T0, &Random::os()).await;
    assert_eq!(domain(e), DomainError::CodeInvalid, "the code cannot be used to guess an identity");
}

#[tokio::test]
async fn r11_an_approval_without_password_or_on_a_dead_login_costs_no_password_try() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let random = Random::os();
    let s = login::start(&db, login::DASHBOARD, &login::Requester::default(), T0, &random).await.unwrap();
    let code = s.code.expose();
    let id = &fm.binding.device_id;
    let sig = fm.phone.sign(action::LOGIN_APPROVE, code);
    // Not scanned yet, then expired: refused before the password is looked at.
    let e = login::answer(&db, code, id, &sig, approval_of("wrong-pass", &s), T0, &random).await;
    assert_eq!(domain(e), DomainError::InvalidState);
    let e = login::answer(&db, code, id, &sig, approval_of("wrong-pass", &s), T0.plus_minutes(6), &random).await;
    assert_eq!(domain(e), DomainError::CodeExpired);
    login::scan(&db, code, id, &fm.phone.sign(action::LOGIN_SCAN, code), None, T0).await.unwrap();
    let e = login::answer(&db, code, id, &sig, approval_of("", &s), T0, &random).await;
    assert!(matches!(domain(e), DomainError::Validation(_)));
    let e = login::answer(&db, code, id, &sig, approval_of("wrong-pass", &s), T0, &random).await;
    assert_eq!(domain(e), DomainError::WrongPassword { remaining: 5 }, "the first try spent is this one");
}

/// An identity service that answers "match" to each request only when the test lets it: the
/// slow step between reading a caller and writing its decision, held open at will. Answers the
/// verifier, the channel that says a request has arrived, and the gate to open.
async fn gated_identity_service() -> (IdentityVerifier, Receiver<()>, Sender<()>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/verify", listener.local_addr().unwrap());
    let (open, mut gate) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (arrive, arrived) = tokio::sync::mpsc::unbounded_channel::<()>();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            if read_request(&mut socket).await.is_none() {
                continue;
            }
            let _ = arrive.send(());
            if gate.recv().await.is_none() {
                return;
            }
            let body = r#"{"match": true}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    let verifier =
        IdentityVerifier::Http(ecert_core::identity::HttpVerifier { url, timeout: std::time::Duration::from_secs(10) });
    (verifier, arrived, open)
}

async fn holders_of(db: &Db, certificate_id: &str) -> i64 {
    count(db, "SELECT COUNT(*) FROM holder WHERE certificate_id = $1", certificate_id).await
}

#[tokio::test]
async fn r8_r14_a_caller_read_before_its_removal_decides_nothing_after_it() {
    // Issue 14 §2: each decision re-reads its caller inside the transaction that writes it.
    let db = open_test_db().await;
    let random = Random::os();
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市复核测试研究院").await).await;
    let cert = fm.binding.certificate_id.clone();
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let u1 = member(&db, &m1, Role::User, "赵六", 11).await;
    let stale = m1.caller(&db).await;
    let matter = first_matter(&db, &stale).await;
    let grants: Vec<String> = db
        .fetch_all(query("SELECT id FROM holder_grant WHERE holder_id = $1").bind(&u1.binding.holder_id))
        .await
        .unwrap();

    // R8: the first manager removes the manager; the manager's caller, read before, is dead.
    holder::remove(&db, &fm.caller(&db).await, &m1.binding.holder_id, T0, &random).await.unwrap();
    let before = holders_of(&db, &cert).await;
    let g = grant(&matter, "2026-01-01", "2026-06-30");
    let who = person("孙八", 21);
    let e = holder::add(&db, &stale, Role::User, &who, Some(&g), &IdentityVerifier::Local, T0, &random).await;
    assert_eq!(domain(e), DomainError::Revoked, "a removed manager adds nobody");
    let e = holder::add_grant(&db, &stale, &u1.binding.holder_id, &g, T0, &random).await;
    assert_eq!(domain(e), DomainError::Revoked);
    let e = holder::cancel_grant(&db, &stale, &grants[0], T0, &random).await;
    assert_eq!(domain(e), DomainError::Revoked);
    let e = holder::remove(&db, &stale, &u1.binding.holder_id, T0, &random).await;
    assert_eq!(domain(e), DomainError::Revoked);
    let e = holder::authorize_code(&db, &stale, &u1.binding.holder_id, T0, &random).await;
    assert_eq!(domain(e), DomainError::Revoked);
    assert_eq!(holders_of(&db, &cert).await, before, "nothing was written");

    // R14: staff change the first manager; the old first manager's caller, read before, is dead
    // although the certificate stays active.
    use ecert_core::changes::{self, ChangeRequest};
    let stale_fm = fm.caller(&db).await;
    let change = ChangeRequest::FirstManager {
        first_manager: FirstManagerChoice::Delegate(person("周九", 30)),
        checklist: ecert_core::certificate::Checklist::ALL,
    };
    changes::apply(&db, &staff, &cert, &change, &IdentityVerifier::Local, IssuePolicy::default(), T0, &random)
        .await
        .unwrap();
    let before = holders_of(&db, &cert).await;
    let who = person("吴十", 31);
    let e = holder::add(&db, &stale_fm, Role::Manager, &who, None, &IdentityVerifier::Local, T0, &random).await;
    assert_eq!(domain(e), DomainError::Revoked, "a replaced first manager adds nobody");
    assert_eq!(holders_of(&db, &cert).await, before);
}

#[tokio::test]
async fn r8_a_manager_removed_while_the_identity_service_answers_adds_nobody() {
    // Issue 14 §2, the race: the manager's addition is past its checks and waits for the identity
    // service when the first manager removes it. When the answer comes, nothing is added.
    let db = open_test_db().await;
    let random = Random::os();
    let fm = claimed(&db).await;
    let cert = fm.binding.certificate_id.clone();
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let caller = m1.caller(&db).await;
    let g = grant(&first_matter(&db, &caller).await, "2026-01-01", "2026-06-30");
    let (identity, mut arrived, open) = gated_identity_service().await;
    let adding = {
        let (db, caller, g, random) = (db.clone(), caller.clone(), g.clone(), random.clone());
        tokio::spawn(async move {
            holder::add(&db, &caller, Role::User, &person("孙八", 21), Some(&g), &identity, T0, &random).await
        })
    };
    arrived.recv().await.expect("the addition asks the identity service");
    holder::remove(&db, &fm.caller(&db).await, &m1.binding.holder_id, T0, &random).await.unwrap();
    let before = holders_of(&db, &cert).await;
    open.send(()).unwrap();
    assert_eq!(domain(adding.await.unwrap()), DomainError::Revoked);
    assert_eq!(holders_of(&db, &cert).await, before, "the removed manager's addition left no row");
}

// ---- issue 14 §1: a dashboard session needs the phone for every power-granting write ----

/// A dashboard session of `m` through scan login, as the dashboard's guard sees its caller.
pub(crate) async fn session_caller(db: &Db, m: &Member) -> (String, Caller) {
    let random = Random::os();
    let s = login::start(db, login::DASHBOARD, &Requester::default(), T0, &random).await.unwrap();
    let code = s.code.expose();
    login::scan(db, code, &m.binding.device_id, &m.phone.sign(action::LOGIN_SCAN, code), None, T0).await.unwrap();
    let sig = m.phone.sign(action::LOGIN_APPROVE, code);
    let approval = Approval { password: Secret::new(PASSWORD), match_code: s.match_code.clone() };
    login::answer(db, code, &m.binding.device_id, &sig, Some(approval), T0, &random).await.unwrap();
    let session = login::consume(db, s.browser.expose(), T0, &random).await.unwrap().unwrap();
    let token = session.token.expose().to_owned();
    let caller = login::current(db, &token, T0).await.unwrap().unwrap();
    (token, caller)
}

/// `m`'s phone scans and approves (picking `pick`, the match code the holder taps) or rejects
/// (`pick` = None) the approval whose QR code is `code`.
pub(crate) async fn phone_answers(db: &Db, m: &Member, code: &str, pick: Option<&str>) -> Result<(), Error> {
    let prompt =
        approval::scan(db, code, &m.binding.device_id, &m.phone.sign(action::APPROVAL_SCAN, code), None, T0).await?;
    let act = if pick.is_some() { action::APPROVAL_APPROVE } else { action::APPROVAL_REJECT };
    let subject = approval::approve_subject(code, &prompt.digest);
    let approval = pick.map(|p| Approval { password: Secret::new(PASSWORD), match_code: p.to_owned() });
    approval::answer(db, code, &m.binding.device_id, &m.phone.sign(act, &subject), approval, T0).await
}

/// `m`'s phone scans and approves (picking the dashboard's match code) or rejects `asked`.
async fn phone_approves(db: &Db, m: &Member, asked: &approval::Asked, approve: bool) -> Result<(), Error> {
    phone_answers(db, m, asked.code.expose(), approve.then_some(asked.match_code.as_str())).await
}

fn with_approval(caller: &Caller, id: &str) -> Caller {
    let mut c = caller.clone();
    c.bring_approval(Some(id.to_owned()));
    c
}

#[tokio::test]
async fn r21_a_dashboard_session_alone_cannot_add_remove_or_grant() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let random = Random::os();
    let (_, session) = session_caller(&db, &fm).await;
    let add = |c: Caller, seq: u16| {
        let db = db.clone();
        async move {
            holder::add(&db, &c, Role::Manager, &person("王五", seq), None, &IdentityVerifier::Local, T0, &Random::os())
                .await
        }
    };
    let holders = "SELECT COUNT(*) FROM holder WHERE certificate_id = $1";
    let before = count(&db, holders, &session.certificate_id).await;

    // No approval: refused, nothing written.
    assert_eq!(domain(add(session.clone(), 1).await), DomainError::ApprovalRequired);
    assert_eq!(count(&db, holders, &session.certificate_id).await, before);

    // Asked, but not approved on the phone yet: still refused.
    let act = Action::AddHolder {
        role: Role::Manager,
        name: "王五".into(),
        id_number: resident_id(1),
        mobile: "13912345678".into(),
        grant: None,
    };
    let asked = approval::ask(&db, &session, &act, &Requester::default(), T0, &random).await.unwrap();
    assert!(asked.summary_zh.contains("添加管理人") && asked.summary_zh.contains("王*"), "{}", asked.summary_zh);
    assert!(!asked.summary_zh.contains(&resident_id(1)), "the summary masks the ID number");
    assert_eq!(approval::poll(&db, &session, &asked.id, T0).await.unwrap(), ApprovalState::Waiting);
    assert_eq!(domain(add(with_approval(&session, &asked.id), 1).await), DomainError::ApprovalRequired);

    // Another holder's phone cannot open it (not even a manager of the same certificate).
    let m1 = member(&db, &fm, Role::Manager, "李四", 2).await;
    let e = phone_approves(&db, &m1, &asked, true).await;
    assert_eq!(domain(e), DomainError::Forbidden);

    // Issue 14 §1: the phone offers the dashboard's match code among decoys.
    let prompt = approval::scan(
        &db,
        asked.code.expose(),
        &fm.binding.device_id,
        &fm.phone.sign(action::APPROVAL_SCAN, asked.code.expose()),
        None,
        T0,
    )
    .await
    .unwrap();
    assert_eq!(prompt.match_choices.len(), login::MATCH_CHOICES);
    assert!(prompt.match_choices.contains(&asked.match_code), "{:?}", prompt.match_choices);

    // The session's own phone approves; the approval covers that action only.
    phone_approves(&db, &fm, &asked, true).await.unwrap();
    assert_eq!(approval::poll(&db, &session, &asked.id, T0).await.unwrap(), ApprovalState::Approved);
    let other = holder::add(
        &db,
        &with_approval(&session, &asked.id),
        Role::Manager,
        &person("王五", 3), // another ID number than the phone approved
        None,
        &IdentityVerifier::Local,
        T0,
        &random,
    )
    .await;
    assert_eq!(domain(other), DomainError::ApprovalRequired, "another person than approved");
    add(with_approval(&session, &asked.id), 1).await.unwrap();
    assert_eq!(count(&db, holders, &session.certificate_id).await, before + 2, "M1 (by the phone) and 王五");
    assert_eq!(approval::poll(&db, &session, &asked.id, T0).await.unwrap(), ApprovalState::Unknown, "taken");
    // Once: the same approval does not add a second person.
    assert_eq!(domain(add(with_approval(&session, &asked.id), 4).await), DomainError::ApprovalRequired);

    // A second session of the same holder cannot use the first one's approval.
    let (_, other_session) = session_caller(&db, &fm).await;
    let act = Action::RemoveHolder { holder_id: m1.binding.holder_id.clone() };
    let asked = approval::ask(&db, &session, &act, &Requester::default(), T0, &random).await.unwrap();
    assert!(asked.summary_zh.starts_with("移除管理人 李*"), "{}", asked.summary_zh);
    phone_approves(&db, &fm, &asked, true).await.unwrap();
    let e = holder::remove(&db, &with_approval(&other_session, &asked.id), &m1.binding.holder_id, T0, &random).await;
    assert_eq!(domain(e), DomainError::ApprovalRequired, "bound to the session that asked");
    // Nor after it expired.
    let late = T0.plus_minutes(approval::APPROVAL_MINUTES);
    let e = holder::remove(&db, &with_approval(&session, &asked.id), &m1.binding.holder_id, late, &random).await;
    assert_eq!(domain(e), DomainError::ApprovalRequired, "expired");
    holder::remove(&db, &with_approval(&session, &asked.id), &m1.binding.holder_id, T0, &random).await.unwrap();

    // A rejected approval stays refused.
    let user = member(&db, &fm, Role::User, "赵六", 5).await;
    let grant_id: String = db
        .fetch_one(query("SELECT id FROM holder_grant WHERE holder_id = $1").bind(&user.binding.holder_id))
        .await
        .unwrap();
    let asked = approval::ask(
        &db,
        &session,
        &Action::CancelGrant { grant_id: grant_id.clone() },
        &Requester::default(),
        T0,
        &random,
    )
    .await
    .unwrap();
    assert!(asked.summary_zh.contains("取消使用人 赵*"), "{}", asked.summary_zh);
    phone_approves(&db, &fm, &asked, false).await.unwrap();
    assert_eq!(approval::poll(&db, &session, &asked.id, T0).await.unwrap(), ApprovalState::Rejected);
    let e = holder::cancel_grant(&db, &with_approval(&session, &asked.id), &grant_id, T0, &random).await;
    assert_eq!(domain(e), DomainError::ApprovalRequired);

    // Issue 14 §1: a holder who picks another code than the dashboard shows (a relayed request,
    // or a blind tap) ends the request: refused before any password try, and rejected for good.
    let asked = approval::ask(
        &db,
        &session,
        &Action::CancelGrant { grant_id: grant_id.clone() },
        &Requester::default(),
        T0,
        &random,
    )
    .await
    .unwrap();
    let wrong = if asked.match_code == "00" { "01" } else { "00" };
    assert_eq!(domain(phone_answers(&db, &fm, asked.code.expose(), Some(wrong)).await), DomainError::MatchCodeWrong);
    assert_eq!(approval::poll(&db, &session, &asked.id, T0).await.unwrap(), ApprovalState::Rejected);
    let e = phone_answers(&db, &fm, asked.code.expose(), Some(&asked.match_code)).await;
    assert!(e.is_err(), "the right code afterwards does not revive it");
    let e = holder::cancel_grant(&db, &with_approval(&session, &asked.id), &grant_id, T0, &random).await;
    assert_eq!(domain(e), DomainError::ApprovalRequired);
    let tries: i64 = db
        .fetch_one(query("SELECT failed_passwords FROM device WHERE id = $1").bind(&fm.binding.device_id))
        .await
        .unwrap();
    assert_eq!(tries, 0, "no password try was spent on the wrong pick");

    // Someone the caller may not see is not found already when asking (R7).
    let foreign = Action::RemoveHolder { holder_id: "no-such-holder".into() };
    let e = approval::ask(&db, &session, &foreign, &Requester::default(), T0, &random).await;
    assert_eq!(domain(e), DomainError::NotFound);
    // The phone's own calls (no session) need no approval: the phone is the approval.
    holder::cancel_grant(&db, &fm.caller(&db).await, &grant_id, T0, &random).await.unwrap();
}

#[tokio::test]
async fn r21_the_wallet_lists_the_holders_sessions_and_new_roles_and_ends_a_session() {
    let db = open_test_db().await;
    let fm = claimed(&db).await;
    let random = Random::os();
    let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    let s =
        login::start(&db, login::DASHBOARD, &Requester::new(Some("198.51.100.7".into()), Some(chrome)), T0, &random)
            .await
            .unwrap();
    let code = s.code.expose();
    login::scan(&db, code, &fm.binding.device_id, &fm.phone.sign(action::LOGIN_SCAN, code), None, T0).await.unwrap();
    let approve = Approval { password: Secret::new(PASSWORD), match_code: s.match_code.clone() };
    let sig = fm.phone.sign(action::LOGIN_APPROVE, code);
    login::answer(&db, code, &fm.binding.device_id, &sig, Some(approve), T0, &random).await.unwrap();
    let session = login::consume(&db, s.browser.expose(), T0, &random).await.unwrap().unwrap();
    member(&db, &fm, Role::Manager, "王五", 1).await;

    let phone = fm.caller(&db).await;
    let a = login::activity(&db, &phone, T0).await.unwrap();
    assert_eq!(a.sessions.len(), 1, "{a:?}");
    let live = &a.sessions[0];
    assert_eq!((live.kind.as_str(), live.system.as_str()), (login::DASHBOARD_SESSION, login::DASHBOARD));
    assert_eq!(live.requested_from.as_deref(), Some("198.51.100.7"));
    assert_eq!(live.requested_with.as_deref(), Some("Chrome 131 · Windows"));
    assert!(
        a.notices.iter().any(|n| n.kind == ecert_core::changes::ChangeKind::ManagerAdded),
        "a new manager is a notice: {:?}",
        a.notices
    );

    // Another holder cannot end it, even knowing the handle.
    let m2 = member(&db, &fm, Role::Manager, "李四", 2).await;
    let e = login::end_own_session(&db, &m2.caller(&db).await, &live.kind, &live.handle, T0).await;
    assert_eq!(domain(e), DomainError::NotFound);
    assert!(login::current(&db, session.token.expose(), T0).await.unwrap().is_some());
    let e = login::end_own_session(&db, &phone, &live.kind, "%", T0).await;
    assert_eq!(domain(e), DomainError::NotFound, "no wildcard");
    // Its holder ends it from the phone: the dashboard session stops at once.
    login::end_own_session(&db, &phone, &live.kind, &live.handle, T0).await.unwrap();
    assert!(login::current(&db, session.token.expose(), T0).await.unwrap().is_none());
    assert!(login::activity(&db, &phone, T0).await.unwrap().sessions.is_empty());
}

#[tokio::test]
async fn issue14_ten_thousand_anonymous_login_starts_leave_no_rows_after_the_purge_window() {
    // The purge deletes everything expired, other tests' rows too: a database of its own.
    let db = ecert_testing::open_private_test_db().await;
    let fm = claimed(&db).await;
    let random = Random::os();
    let (token, _) = session_caller(&db, &fm).await;
    let rows = "SELECT COUNT(*) FROM login_request WHERE system = $1";
    let before = count(&db, rows, login::DASHBOARD).await;
    for _ in 0..10_000 {
        login::start(&db, login::DASHBOARD, &Requester::default(), T0, &random).await.unwrap();
    }
    assert_eq!(count(&db, rows, login::DASHBOARD).await, before + 10_000);

    // Within the window nothing goes: an expired login still answers "expired" for a while.
    let early = T0.plus_minutes(login::LOGIN_MINUTES + 10);
    ecert_core::purge::purge(&db, early).await.unwrap();
    assert_eq!(count(&db, rows, login::DASHBOARD).await, before + 10_000);

    let late = T0.plus_minutes(login::LOGIN_MINUTES + ecert_core::purge::PURGE_AFTER_MINUTES + 1);
    let purged = ecert_core::purge::purge(&db, late).await.unwrap();
    assert_eq!(count(&db, rows, login::DASHBOARD).await, 0, "{purged:?}");
    assert!(purged.total() >= 10_000);
    // A live dashboard session (8 hours) is kept, and so are the records.
    assert!(login::current(&db, &token, late).await.unwrap().is_some());
    let usage = "SELECT COUNT(*) FROM usage_record WHERE holder_id = $1";
    assert_eq!(count(&db, usage, &fm.binding.holder_id).await, 1, "R12: usage records stay");
}

/// Issue 14 §3: a stranger brings the key that signs an acceptance, so the signature keeps no
/// one from making the server hash a password; the slow hash runs only once the code is known
/// to be live. A seeded source of randomness shows it: hashing draws a salt from it.
#[tokio::test]
async fn r2_an_acceptance_with_a_dead_code_hashes_no_password() {
    let db = open_test_db().await;
    let (_, code) = issued(&db).await;
    let phone = Phone::new();
    for (kind, code, expected) in [
        (CodeKind::Claim, "x".repeat(43), DomainError::CodeInvalid),
        (CodeKind::Authorize, code.clone(), DomainError::CodeInvalid),
        (CodeKind::Claim, code.clone(), DomainError::CodeExpired),
    ] {
        let input = acceptance(&phone, kind, &code, "张三", &resident_id(123));
        let random = Random::seeded(9);
        let at = if expected == DomainError::CodeExpired { T0.plus_minutes(60 * 24 * 30) } else { T0 };
        assert_eq!(domain(holder::accept(&db, kind, &code, &input, at, &random).await), expected);
        assert_eq!(random.id(), Random::seeded(9).id(), "{kind:?} {expected:?}: no salt was drawn, nothing hashed");
    }
    // A live code does hash (the check above can fail).
    let input = acceptance(&phone, CodeKind::Claim, &code, "张三", &resident_id(123));
    let random = Random::seeded(9);
    holder::accept(&db, CodeKind::Claim, &code, &input, T0.plus_minutes(1), &random).await.unwrap();
    assert_ne!(random.id(), Random::seeded(9).id());
}
