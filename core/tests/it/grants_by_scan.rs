//! Issue 16 journey 2 (R17, grants by scan): a user may be registered without a grant; a grant
//! given to a user who holds the role already is in force once the user scans its grant QR on
//! their own phone; a user with no grant in force neither presents nor logs in to a relying
//! party. The first manager gives each manager the right to authorize users, or not.

use ecert_core::code::CodeKind;
use ecert_core::device::action;
use ecert_core::holder::{self, Acceptance, GrantStatus, Role};
use ecert_core::identity::IdentityVerifier;
use ecert_core::login;
use ecert_core::party::{self, PartyInput};
use ecert_core::secret::{Random, Secret};
use ecert_core::store::Db;
use ecert_core::{DomainError, Millis};
use ecert_testing::open_test_db;

use crate::delegation::{Member, PASSWORD, claimed, first_matter, grant, member, person};
use crate::presentation::present;
use crate::support::{Phone, T0, count, domain, resident_id, staff_view};

/// `by` registers a user without a grant; the user takes the role up on a phone of their own.
async fn bare_user(db: &Db, by: &Member, name: &str, seq: u16) -> Member {
    let caller = by.caller(db).await;
    let code =
        holder::add(db, &caller, Role::User, &person(name, seq), None, &IdentityVerifier::Local, T0, &Random::os())
            .await
            .unwrap();
    let phone = Phone::new();
    let a = Acceptance {
        name: name.into(),
        id_number: resident_id(seq),
        password: Secret::new(PASSWORD),
        public_key: phone.public_key.clone(),
        signature: phone.sign(action::ACCEPT, code.code.expose()),
    };
    let binding = holder::accept(db, CodeKind::Authorize, code.code.expose(), &a, T0, &Random::os()).await.unwrap();
    Member { phone, binding }
}

async fn receive(db: &Db, m: &Member, code: &str, at: Millis) -> Result<String, ecert_core::Error> {
    let signature = m.phone.sign(action::GRANT_RECEIVE, code);
    holder::receive_grant(db, code, &m.binding.device_id, &signature, at, &Random::os()).await
}

/// A relying party's scan login of `m`, as far as the phone's scan.
async fn party_login(db: &Db, m: &Member, at: Millis) -> Result<login::LoginPrompt, ecert_core::Error> {
    let random = Random::os();
    let staff = staff_view(db).await;
    let input = PartyInput { name: format!("授权测试银行{}", &random.id()[..6]), redirect_uris: String::new() };
    let party = party::register(db, &staff, &input, at, &random).await.unwrap();
    let started = login::start_for_party(db, "授权测试银行", &party.login, &login::Requester::default(), at, &random)
        .await
        .unwrap();
    let code = started.code.expose();
    login::scan(db, code, &m.binding.device_id, &m.phone.sign(action::LOGIN_SCAN, code), None, at).await
}

#[tokio::test]
async fn r17_a_user_registered_without_a_grant_receives_one_by_scanning_its_qr_on_their_own_phone() {
    let db = open_test_db().await;
    let random = Random::os();
    let fm = claimed(&db).await;
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let user = bare_user(&db, &m1, "赵六", 21).await;
    let other = member(&db, &m1, Role::User, "孙八", 22).await;
    let at = T0.plus_minutes(5);

    // No grant in force: nothing to present, no relying party to log in to.
    assert_eq!(domain(present(&db, &user, at).await), DomainError::NoGrantInForce);
    assert_eq!(domain(party_login(&db, &user, at).await), DomainError::NoGrantInForce);
    party_login(&db, &other, at).await.expect("a user with a grant in force logs in");

    // The manager grants a matter; it waits for the user.
    let caller = m1.caller(&db).await;
    let g = grant(&first_matter(&db, &caller).await, "2026-01-01", "2026-03-31");
    let given = holder::add_grant(&db, &caller, &user.binding.holder_id, &g, at, &random).await.unwrap();
    let code = given.code.expose().to_owned();
    let mine = holder::me(&db, &user.caller(&db).await, at).await.unwrap();
    let waiting = mine.grants.iter().find(|x| x.id == given.grant_id).unwrap();
    assert!(waiting.received_at.is_none() && !waiting.effective && waiting.status == GrantStatus::Active);
    let later_try = Millis(at.0 + 1);
    assert_eq!(domain(present(&db, &user, later_try).await), DomainError::NoGrantInForce, "not before it is received");

    // What the QR offers; another holder's phone takes nothing and leaves it usable.
    let offer = holder::grant_offer(&db, &code, at).await.unwrap();
    assert_eq!((offer.matters.len(), offer.start_day.as_str()), (1, "2026-01-01"));
    assert_eq!(offer.certificate_id, user.binding.certificate_id);
    assert_eq!(offer.granted_by_name, "王*");
    assert_eq!(domain(receive(&db, &other, &code, at).await), DomainError::CodeInvalid);
    let forged = holder::receive_grant(
        &db,
        &code,
        &user.binding.device_id,
        &other.phone.sign(action::GRANT_RECEIVE, &code),
        at,
        &random,
    )
    .await;
    assert_eq!(domain(forged), DomainError::BadSignature);

    assert_eq!(receive(&db, &user, &code, at).await.unwrap(), given.grant_id);
    let mine = holder::me(&db, &user.caller(&db).await, at).await.unwrap();
    let received = mine.grants.iter().find(|x| x.id == given.grant_id).unwrap();
    assert_eq!(received.received_at, Some(at.0));
    assert!(received.effective);
    assert_eq!((received.granted_by_name.as_str(), received.created_at), ("王*", at.0), "who granted it, and when");
    present(&db, &user, at.plus_minutes(1)).await.expect("R17: in force once received");
    party_login(&db, &user, at.plus_minutes(1)).await.expect("and logs in to relying parties");
    assert_eq!(domain(receive(&db, &user, &code, at).await), DomainError::CodeUsed, "a code works once");
    let sql = "SELECT COUNT(*) FROM change_record WHERE kind = 'grant_received' AND subject_id = $1";
    assert_eq!(count(&db, sql, &user.binding.holder_id).await, 1);

    // A fresh QR for a waiting grant voids the earlier one; a received grant gets none.
    let later = holder::add_grant(&db, &caller, &user.binding.holder_id, &g, at, &random).await.unwrap();
    let fresh = holder::grant_code(&db, &caller, &later.grant_id, at, &random).await.unwrap();
    assert_eq!(domain(holder::grant_offer(&db, later.code.expose(), at).await), DomainError::CodeInvalid);
    holder::grant_offer(&db, fresh.code.expose(), at).await.unwrap();
    let e = holder::grant_code(&db, &caller, &given.grant_id, at, &random).await;
    assert_eq!(domain(e), DomainError::InvalidState);
    // A cancelled grant cannot be received, and its detail says when it was cancelled.
    holder::cancel_grant(&db, &caller, &later.grant_id, at.plus_minutes(2), &random).await.unwrap();
    assert_eq!(domain(receive(&db, &user, fresh.code.expose(), at).await), DomainError::CodeInvalid);
    let mine = holder::me(&db, &user.caller(&db).await, at).await.unwrap();
    let cancelled = mine.grants.iter().find(|x| x.id == later.grant_id).unwrap();
    assert_eq!(cancelled.cancelled_at, Some(at.plus_minutes(2).0));
    // Codes expire after 5 minutes.
    let third = holder::add_grant(&db, &caller, &user.binding.holder_id, &g, at, &random).await.unwrap();
    let e = receive(&db, &user, third.code.expose(), at.plus_minutes(6)).await;
    assert_eq!(domain(e), DomainError::CodeExpired);
}

#[tokio::test]
async fn the_first_manager_gives_each_manager_the_right_to_authorize_users_or_withdraws_it() {
    let db = open_test_db().await;
    let random = Random::os();
    let fm = claimed(&db).await;
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let u1 = member(&db, &m1, Role::User, "赵六", 11).await;
    let at = T0.plus_minutes(5);
    let m1_id = m1.binding.holder_id.clone();

    // Only the first manager decides, and only for managers.
    let e = holder::set_may_authorize(&db, &m1.caller(&db).await, &m1_id, false, at, &random).await;
    assert_eq!(domain(e), DomainError::Forbidden);
    let e = holder::set_may_authorize(&db, &fm.caller(&db).await, &u1.binding.holder_id, false, at, &random).await;
    assert_eq!(domain(e), DomainError::Forbidden);

    // Before the right is withdrawn, m1 registers a user who has not taken the role up yet and
    // gives u1 a grant u1 has not scanned yet.
    let early = grant(&first_matter(&db, &m1.caller(&db).await).await, "2026-01-01", "2026-02-28");
    let pending = holder::add(
        &db,
        &m1.caller(&db).await,
        Role::User,
        &person("孙八", 13),
        None,
        &IdentityVerifier::Local,
        at,
        &random,
    )
    .await
    .unwrap();
    let waiting =
        holder::add_grant(&db, &m1.caller(&db).await, &u1.binding.holder_id, &early, at, &random).await.unwrap();

    holder::set_may_authorize(&db, &fm.caller(&db).await, &m1_id, false, at, &random).await.unwrap();
    // Withdrawn: no new QR that would bring a user's grants into force.
    let e = holder::authorize_code(&db, &m1.caller(&db).await, &pending.holder_id, at, &random).await;
    assert_eq!(domain(e), DomainError::AuthorizeRightWithdrawn);
    let e = holder::grant_code(&db, &m1.caller(&db).await, &waiting.grant_id, at, &random).await;
    assert_eq!(domain(e), DomainError::AuthorizeRightWithdrawn);
    let views = holder::list(&db, &fm.caller(&db).await, at).await.unwrap();
    assert!(!views.iter().find(|h| h.id == m1_id).unwrap().may_authorize);
    let caller = m1.caller(&db).await;
    let g = grant(&first_matter(&db, &caller).await, "2026-01-01", "2026-03-31");
    let e =
        holder::add(&db, &caller, Role::User, &person("钱七", 12), None, &IdentityVerifier::Local, at, &random).await;
    assert_eq!(domain(e), DomainError::AuthorizeRightWithdrawn);
    let e = holder::add_grant(&db, &caller, &u1.binding.holder_id, &g, at, &random).await;
    assert_eq!(domain(e), DomainError::AuthorizeRightWithdrawn);
    let act =
        ecert_core::login::approval::Action::AddGrant { holder_id: u1.binding.holder_id.clone(), grant: g.clone() };
    assert_eq!(domain(holder::preflight(&db, &caller, &act, at).await), DomainError::AuthorizeRightWithdrawn);
    // What it gave stays; it may still take away.
    let grants = "SELECT COUNT(*) FROM holder_grant WHERE holder_id = $1 AND status = 'active'";
    assert_eq!(count(&db, grants, &u1.binding.holder_id).await, 2, "the one received and the one waiting");
    holder::remove(&db, &caller, &u1.binding.holder_id, at, &random).await.expect("removing stays allowed");

    holder::set_may_authorize(&db, &fm.caller(&db).await, &m1_id, true, at, &random).await.unwrap();
    holder::add(
        &db,
        &m1.caller(&db).await,
        Role::User,
        &person("钱七", 12),
        None,
        &IdentityVerifier::Local,
        at,
        &random,
    )
    .await
    .expect("given back");
    let sql = "SELECT COUNT(*) FROM change_record WHERE kind LIKE 'authorize_right_%' AND subject_id = $1";
    assert_eq!(count(&db, sql, &m1_id).await, 2);
}
