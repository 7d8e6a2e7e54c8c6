//! Issue 4, journeys 1–3 and 7: presenting (R9), counter and public checks (R10), usage records
//! (R12) and immediate revocation (R15); relying parties and their counters.

use ecert_core::Problem;
use ecert_core::changes::{self, ChangeRequest};
use ecert_core::device::action;
use ecert_core::holder::{self, Role};
use ecert_core::identity::IdentityVerifier;
use ecert_core::party::{self, CounterCaller, PartyChange, PartyInput};
use ecert_core::presentation::{self, PresentRequest, Presented};
use ecert_core::secret::{Random, Secret};
use ecert_core::staff::StaffView;
use ecert_core::store::{Db, query};
use ecert_core::usage::UsageKind;
use ecert_core::usage::{self, UsageFilter};
use ecert_core::{DomainError, Millis, certificate::IssuePolicy};
use ecert_testing::open_test_db;

use crate::delegation::{Member, PASSWORD, claim_with_phone, issue_as, member};
use crate::support::{T0, count, domain, staff_view};

/// A counter signed in to the verifier page: its session's token (the page's cookie, which its
/// checks bring) and the counter as that session read it at sign-in.
#[derive(Clone)]
pub(crate) struct Desk {
    pub token: String,
    pub caller: CounterCaller,
}

impl std::ops::Deref for Desk {
    type Target = CounterCaller;
    fn deref(&self) -> &CounterCaller {
        &self.caller
    }
}

/// A registered party with one signed-in counter.
pub(crate) async fn counter(db: &Db) -> Desk {
    counter_of(db, &staff_view(db).await).await
}

/// [`counter`], the party registered by `staff`.
async fn counter_of(db: &Db, staff: &StaffView) -> Desk {
    let random = Random::os();
    let input = PartyInput { name: format!("柜台银行{}", &random.id()[..6]), redirect_uris: String::new() };
    let party = party::register(db, staff, &input, T0, &random).await.unwrap();
    let login = party::add_counter(db, staff, &party.login, "一号窗口", T0, &random).await.unwrap();
    let session = party::sign_in(db, &login.login, Secret::new(login.secret), T0, &random).await.unwrap();
    let caller = party::current(db, session.token.expose(), T0).await.unwrap().unwrap();
    Desk { token: session.token.expose().to_owned(), caller }
}

/// `m` presents at `at` (signed at `at`).
pub(crate) async fn present(db: &Db, m: &Member, at: Millis) -> Result<Presented, ecert_core::Error> {
    let device_id = &m.binding.device_id;
    let request = PresentRequest {
        device_id,
        signed_at: at.0,
        signature: &m.phone.sign_timed(action::PRESENT, device_id, at.0),
        password: Secret::new(PASSWORD),
        grant_id: None,
    };
    presentation::present(db, request, at, &Random::os()).await
}

#[tokio::test]
async fn r9_r12_r18_a_users_number_verifies_once_at_a_counter_showing_the_grant_and_the_name_to_compare() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市出示测试研究院").await).await;
    let user = member(&db, &fm, Role::User, "李四", 41).await;
    let desk = counter(&db).await;
    let at = T0.plus_minutes(2);

    let set = present(&db, &user, at).await.unwrap();
    assert_eq!(set.number.expose().len(), presentation::NUMBER_DIGITS);
    assert_eq!(set.expires_at, at.plus_minutes(5));
    let typed = presentation::format_number(set.number.expose());
    // The public page of the same set first: masked (R16).
    let public = presentation::verify_qr(&db, set.qr_token.expose(), at, &Random::os()).await.unwrap();
    assert_eq!(public.holder_name, "李*", "R16: masked on the public page");
    assert!(public.holder_id_number[3..14].chars().all(|c| c == '*'), "{}", public.holder_id_number);
    let seen = presentation::verify_number_signed_in(&db, &desk.token, &typed, at.plus_minutes(1), &Random::os())
        .await
        .unwrap();
    assert_eq!(seen.institution_name, "北京市出示测试研究院");
    assert_eq!(seen.role, Role::User);
    assert_eq!(seen.holder_name, "李四", "R18: a counter sees the full name, to compare with the ID card");
    assert_eq!(seen.legal_rep_name, "张*", "R16: masked");
    assert_eq!(
        (&seen.holder_id_number[..14], &seen.holder_id_number[14..]),
        ("**************", &public.holder_id_number[14..]),
        "R18: the ID number's last four characters only"
    );
    assert_eq!(seen.checked_at, at.plus_minutes(1).0, "R18: the server's time of the check");
    assert_eq!(public.checked_at, at.0);
    assert!(!seen.institution_address.is_empty());
    assert_eq!(seen.matters.len(), 1);
    assert_eq!(seen.start_day.as_deref(), Some("2026-01-01"));
    assert_eq!(seen.end_day.as_deref(), Some("2026-06-30"));
    let again =
        presentation::verify_number_signed_in(&db, &desk.token, set.number.expose(), at.plus_minutes(1), &Random::os())
            .await;
    assert_eq!(domain(again), DomainError::PresentationInvalid, "a number works once");
    let records = count(
        &db,
        "SELECT COUNT(*) FROM usage_record WHERE counter_id = $1 AND kind = 'present' AND result = 'verified'",
        &desk.counter_id,
    )
    .await;
    assert_eq!(records, 1, "R12: the usage record names the counter");
    // On PostgreSQL the record has no foreign keys (migration 0036): its ids must still name
    // the set's own certificate and holder, and the counter with its own party.
    let resolved = count(
        &db,
        "SELECT COUNT(*) FROM usage_record u JOIN holder h ON h.id = u.holder_id AND h.certificate_id = u.certificate_id \
         JOIN certificate c ON c.id = u.certificate_id AND c.authority_id = u.authority_id \
         JOIN counter k ON k.id = u.counter_id AND k.party_id = u.party_id \
         JOIN relying_party p ON p.id = u.party_id AND u.system = p.name || ' · ' || k.name \
         WHERE u.counter_id = $1 AND u.kind = 'present'",
        &desk.counter_id,
    )
    .await;
    assert_eq!(
        resolved, 1,
        "R12: the record's certificate (with its authority), holder, counter and party are the rows checked"
    );
    let holder = count(
        &db,
        "SELECT COUNT(*) FROM usage_record WHERE holder_id = $1 AND kind = 'present'",
        &user.binding.holder_id,
    )
    .await;
    assert_eq!(holder, 2, "R12: the public check and the counter's, each naming the holder who presented");

    // Managers present too, without a grant.
    let set = present(&db, &fm, at).await.unwrap();
    let seen = presentation::verify_qr(&db, set.qr_token.expose(), at, &Random::os()).await.unwrap();
    assert_eq!(seen.role, Role::FirstManager);
    assert!(seen.matters.is_empty() && seen.start_day.is_none());
}

#[tokio::test]
async fn r9_r10_the_public_qr_works_for_five_minutes_and_a_refresh_voids_the_previous_set() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市二维码测试研究院").await).await;
    let user = member(&db, &fm, Role::User, "李四", 42).await;
    let at = T0.plus_minutes(2);
    let random = Random::os();

    let first = present(&db, &user, at).await.unwrap();
    let qr = first.qr_token.expose();
    let just_before = at.plus_minutes(5).plus_millis(-1);
    assert!(presentation::verify_qr(&db, qr, at, &random).await.is_ok());
    assert!(presentation::verify_qr(&db, qr, just_before, &random).await.is_ok(), "opened again, still valid");
    let expired = presentation::verify_qr(&db, qr, at.plus_minutes(5), &random).await;
    assert_eq!(domain(expired), DomainError::PresentationInvalid, "valid 5 minutes");
    assert_eq!(
        domain(presentation::verify_qr(&db, "not-a-token", at, &random).await),
        DomainError::PresentationInvalid
    );

    // The counter uses the number; the QR stays valid until the refresh.
    let desk = counter(&db).await;
    presentation::verify_number_signed_in(&db, &desk.token, first.number.expose(), at, &random).await.unwrap();
    assert!(presentation::verify_qr(&db, qr, at, &random).await.is_ok());
    let second = present(&db, &user, at.plus_minutes(1)).await.unwrap();
    let voided = presentation::verify_qr(&db, qr, at.plus_minutes(1), &random).await;
    assert_eq!(domain(voided), DomainError::PresentationInvalid, "a refresh voids the previous set");
    let voided =
        presentation::verify_number_signed_in(&db, &desk.token, first.number.expose(), at.plus_minutes(1), &random)
            .await;
    assert_eq!(domain(voided), DomainError::PresentationInvalid, "its number too");
    assert!(presentation::verify_qr(&db, second.qr_token.expose(), at.plus_minutes(1), &random).await.is_ok());
}

#[tokio::test]
async fn r15_removal_grant_cancellation_lapse_and_certificate_cancellation_fail_every_code_at_once() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let random = Random::os();
    let claim = issue_as(&db, &staff, "北京市吊销测试研究院").await;
    let fm = claim_with_phone(&db, &claim).await;
    let at = T0.plus_minutes(2);
    let invalid = |r: Result<_, ecert_core::Error>| domain(r) == DomainError::PresentationInvalid;

    // A removed user: its live set stops working.
    let removed = member(&db, &fm, Role::User, "李四", 43).await;
    let set = present(&db, &removed, at).await.unwrap();
    holder::remove(&db, &fm.caller(&db).await, &removed.binding.holder_id, at, &random).await.unwrap();
    assert!(invalid(presentation::verify_qr(&db, set.qr_token.expose(), at, &random).await), "R8: removal");

    // A cancelled grant.
    let cancelled = member(&db, &fm, Role::User, "王五", 44).await;
    let set = present(&db, &cancelled, at).await.unwrap();
    let grant_id = set.grant_id.clone().unwrap();
    holder::cancel_grant(&db, &fm.caller(&db).await, &grant_id, at, &random).await.unwrap();
    assert!(invalid(presentation::verify_qr(&db, set.qr_token.expose(), at, &random).await), "grant cancelled");
    assert_eq!(
        domain(present(&db, &cancelled, at.plus_minutes(1)).await),
        DomainError::NoGrantInForce,
        "nothing to present"
    );

    // A grant that lapses (its period ends 2026-06-30, CST) while a set is live.
    let lapsing = member(&db, &fm, Role::User, "赵六", 45).await;
    let last_minute =
        Millis(ecert_core::time::days_from_civil(2026, 6, 30) * Millis::DAY + 16 * Millis::HOUR - 2 * 60_000);
    let set = present(&db, &lapsing, last_minute).await.unwrap();
    assert!(presentation::verify_qr(&db, set.qr_token.expose(), last_minute, &random).await.is_ok());
    let after_midnight = last_minute.plus_minutes(3);
    assert!(invalid(presentation::verify_qr(&db, set.qr_token.expose(), after_midnight, &random).await), "R6: lapsed");

    // The certificate is cancelled: the first manager's and a user's sets fail.
    let user = member(&db, &fm, Role::User, "孙七", 46).await;
    let sets = [present(&db, &fm, at).await.unwrap(), present(&db, &user, at).await.unwrap()];
    let desk = counter(&db).await;
    changes::apply(
        &db,
        &staff,
        &claim.certificate_id,
        &ChangeRequest::Cancel,
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        at,
        &random,
    )
    .await
    .unwrap();
    for set in &sets {
        assert!(invalid(presentation::verify_qr(&db, set.qr_token.expose(), at, &random).await), "R15: QR");
        let by_number = presentation::verify_number_signed_in(&db, &desk.token, set.number.expose(), at, &random).await;
        assert!(invalid(by_number), "R15: number");
    }
    assert_eq!(domain(present(&db, &fm, at.plus_minutes(1)).await), DomainError::Revoked);
}

#[tokio::test]
async fn r10_a_counter_gets_ten_failed_numbers_per_window_even_when_guessing_concurrently() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市限速测试研究院").await).await;
    let desk = counter(&db).await;
    let at = T0.plus_minutes(2);
    let set = present(&db, &fm, at).await.unwrap();

    // 30 guesses at once, the right number among them: its lookup may run before the window
    // fills, but it is answered only if the window still had a try when its unit ran.
    let guesses = (0..30).map(|i| {
        let (db, desk) = (db.clone(), desk.clone());
        let code = if i == 15 { set.number.expose().to_owned() } else { format!("{:016}", 100_000 + i) };
        tokio::spawn(
            async move { presentation::verify_number_signed_in(&db, &desk.token, &code, at, &Random::os()).await },
        )
    });
    let (mut invalid, mut limited, mut verified) = (0, 0, 0_i64);
    for g in guesses {
        match g.await.unwrap() {
            Ok(_) => verified += 1,
            Err(e) => match domain::<()>(Err(e)) {
                DomainError::PresentationInvalid => invalid += 1,
                DomainError::RateLimited => limited += 1,
                other => panic!("unexpected {other:?}"),
            },
        }
    }
    assert_eq!(invalid, 10, "R10: exactly 10 failures are answered");
    assert_eq!((verified + limited, verified <= 1), (20, true), "the rest are told only to wait");
    let records = count(
        &db,
        "SELECT COUNT(*) FROM usage_record WHERE certificate_id = $1 AND kind = 'present'",
        &fm.binding.certificate_id,
    )
    .await;
    assert_eq!(records, verified, "R12: a record for the verification, if it was answered");
    if verified == 0 {
        let right =
            presentation::verify_number_signed_in(&db, &desk.token, set.number.expose(), at, &Random::os()).await;
        assert_eq!(domain(right), DomainError::RateLimited, "even the right number waits for the window");
    }
    let typo = presentation::verify_number_signed_in(&db, &desk.token, "1234", at, &Random::os()).await;
    assert!(matches!(domain(typo), DomainError::Validation(_)), "a malformed code is a clear error");

    let used = count(
        &db,
        "SELECT COUNT(*) FROM presentation WHERE certificate_id = $1 AND used_at IS NOT NULL",
        &fm.binding.certificate_id,
    )
    .await;
    assert_eq!(used, verified, "R9: a refused right number is left unused, a verified one is used up");

    let later = at.plus_minutes(presentation::NUMBER_WINDOW_MINUTES);
    let set = present(&db, &fm, later).await.unwrap();
    assert!(
        presentation::verify_number_signed_in(&db, &desk.token, set.number.expose(), later, &Random::os())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn r10_a_verified_number_spends_no_try_so_only_failures_count() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市退还测试研究院").await).await;
    let desk = counter(&db).await;
    let at = T0.plus_minutes(2);
    let random = Random::os();
    let guess = |i: i64| format!("{:016}", 200_000 + i);
    for i in 0..presentation::NUMBER_FAILURES - 1 {
        let r = presentation::verify_number_signed_in(&db, &desk.token, &guess(i), at, &random).await;
        assert_eq!(domain(r), DomainError::PresentationInvalid);
    }
    for i in 0..3 {
        // Each set needs a signature of its own instant (replay protection).
        let set = present(&db, &fm, at.plus_millis(i)).await.unwrap();
        presentation::verify_number_signed_in(&db, &desk.token, set.number.expose(), at, &random).await.unwrap();
    }
    let tenth = presentation::verify_number_signed_in(&db, &desk.token, &guess(100), at, &random).await;
    assert_eq!(domain(tenth), DomainError::PresentationInvalid, "R10: the tenth failure is still looked up");
    let eleventh = presentation::verify_number_signed_in(&db, &desk.token, &guess(101), at, &random).await;
    assert_eq!(domain(eleventh), DomainError::RateLimited, "R10: then the counter waits");

    // A caller holding the window as the sign-in read it (tries left): the right number is
    // looked up and refused by the unit's re-check of the window, which undoes the rest of it.
    let set = present(&db, &fm, at.plus_millis(10)).await.unwrap();
    let right = presentation::verify_number(&db, &desk.caller, set.number.expose(), at, &random).await;
    assert_eq!(domain(right), DomainError::RateLimited, "R10: even the right number waits for the window");
    // Through the session (the verifier page's path), whose read comes with the check: the
    // spent window shuts the check's writes in the same statement.
    let signed_in = presentation::verify_number_signed_in(&db, &desk.token, set.number.expose(), at, &random).await;
    assert_eq!(domain(signed_in), DomainError::RateLimited, "R10: the window as the session reads it now");
    let records = count(
        &db,
        "SELECT COUNT(*) FROM usage_record WHERE certificate_id = $1 AND kind = 'present'",
        &fm.binding.certificate_id,
    )
    .await;
    assert_eq!(records, 3, "R12: no record for a refused check");
    let used = count(
        &db,
        "SELECT COUNT(*) FROM presentation WHERE certificate_id = $1 AND used_at IS NOT NULL",
        &fm.binding.certificate_id,
    )
    .await;
    assert_eq!(used, 3, "R9: the refused set is left unused");
}

#[tokio::test]
async fn r10_r12_a_counters_check_needs_its_live_session_and_active_party_and_changes_nothing_without() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市会话核验研究院").await).await;
    let at = T0.plus_minutes(2);
    let random = Random::os();
    let set = present(&db, &fm, at).await.unwrap();
    let suspended = counter_of(&db, &staff).await;
    party::change_party(&db, &staff, &suspended.party_id, &PartyChange::Suspend, at, &random).await.unwrap();
    let signed_out = counter(&db).await;
    party::sign_out(&db, &signed_out.token, at).await.unwrap();
    for (desk, why) in [(&suspended, "its party suspended"), (&signed_out, "its session ended")] {
        for code in [set.number.expose(), "0000000000000001", "12"] {
            let r = presentation::verify_number_signed_in(&db, &desk.token, code, at, &random).await;
            assert_eq!(domain(r), DomainError::Unauthenticated, "{why}: {code}");
        }
        let spent = count(&db, "SELECT window_failures FROM counter WHERE id = $1", &desk.counter_id).await;
        assert_eq!(spent, 0, "{why}: no try spent");
    }
    let unknown = presentation::verify_number_signed_in(&db, "no such session", set.number.expose(), at, &random).await;
    assert_eq!(domain(unknown), DomainError::Unauthenticated);
    let used = count(
        &db,
        "SELECT COUNT(*) FROM presentation WHERE certificate_id = $1 AND used_at IS NOT NULL",
        &fm.binding.certificate_id,
    )
    .await;
    let records = count(
        &db,
        "SELECT COUNT(*) FROM usage_record WHERE certificate_id = $1 AND kind = 'present'",
        &fm.binding.certificate_id,
    )
    .await;
    assert_eq!((used, records), (0, 0), "R9, R12: the set is left unused and nothing is recorded");

    // Resumed, the party's counter checks it through the session it kept.
    party::change_party(&db, &staff, &suspended.party_id, &PartyChange::Resume, at, &random).await.unwrap();
    presentation::verify_number_signed_in(&db, &suspended.token, set.number.expose(), at, &random).await.unwrap();
    let recorded = count(
        &db,
        "SELECT COUNT(*) FROM usage_record WHERE counter_id = $1 AND kind = 'present'",
        &suspended.counter_id,
    )
    .await;
    assert_eq!(recorded, 1, "R12");
}

#[tokio::test]
async fn r9_r12_a_number_checked_at_once_by_many_counters_verifies_once_and_records_once() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市并发核验研究院").await).await;
    let at = T0.plus_minutes(2);
    let set = present(&db, &fm, at).await.unwrap();
    let mut desks = Vec::new();
    for _ in 0..8 {
        desks.push(counter(&db).await);
    }
    let checks: Vec<_> = desks
        .iter()
        .map(|desk| {
            let (db, desk, number) = (db.clone(), desk.clone(), set.number.expose().to_owned());
            tokio::spawn(async move {
                presentation::verify_number_signed_in(&db, &desk.token, &number, at, &Random::os()).await
            })
        })
        .collect();
    let mut verified = 0;
    for c in checks {
        match c.await.unwrap() {
            Ok(_) => verified += 1,
            Err(e) => assert_eq!(domain::<()>(Err(e)), DomainError::PresentationInvalid),
        }
    }
    assert_eq!(verified, 1, "R9: single use, whatever the concurrency");
    let records = count(
        &db,
        "SELECT COUNT(*) FROM usage_record WHERE certificate_id = $1 AND kind = 'present'",
        &fm.binding.certificate_id,
    )
    .await;
    assert_eq!(records, 1, "R12: one record for the one verification");
}

#[tokio::test]
async fn r10_r12_concurrent_public_checks_each_answer_after_their_own_record() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市公开核验研究院").await).await;
    let at = T0.plus_minutes(2);
    let set = present(&db, &fm, at).await.unwrap();
    let checks: Vec<_> = (0..64)
        .map(|_| {
            let (db, token) = (db.clone(), set.qr_token.expose().to_owned());
            tokio::spawn(async move { presentation::verify_qr(&db, &token, at, &Random::os()).await })
        })
        .collect();
    for c in checks {
        assert_eq!(c.await.unwrap().unwrap().role, Role::FirstManager);
    }
    let sql =
        "SELECT COUNT(*) FROM usage_record WHERE certificate_id = $1 AND system = 'public' AND result = 'verified'";
    let records = count(&db, sql, &fm.binding.certificate_id).await;
    assert_eq!(records, 1, "R12: the minute's checks have their one record (issue 14 §3: bounded)");
    // A thousand more checks of the photographed QR within its life: one record a minute.
    for i in 0..1_000 {
        let when = at.plus_minutes(i * 4 / 1_000); // spread over 4 minutes
        presentation::verify_qr(&db, set.qr_token.expose(), when, &Random::os()).await.unwrap();
    }
    let records = count(&db, sql, &fm.binding.certificate_id).await;
    assert!((4..=5).contains(&records), "one record a minute, not a thousand: {records}");
}

#[tokio::test]
async fn present_requires_a_fresh_signature_the_password_and_an_effective_grant() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市签名测试研究院").await).await;
    let random = Random::os();
    let at = T0.plus_minutes(2);
    let device_id = fm.binding.device_id.as_str();
    let signature = fm.phone.sign_timed(action::PRESENT, device_id, at.0);
    let request = |password: &str, sig: &str, signed_at: i64| PresentRequest {
        device_id,
        signed_at,
        signature: sig.to_owned().leak(),
        password: Secret::new(password),
        grant_id: None,
    };

    let wrong = presentation::present(&db, request("wrong-pass", &signature, at.0), at, &random).await;
    assert_eq!(domain(wrong), DomainError::WrongPassword { remaining: 5 });
    let replay = presentation::present(&db, request(PASSWORD, &signature, at.0), at, &random).await;
    assert_eq!(domain(replay), DomainError::StaleSignature, "a signature is used once");
    let old = at.plus_minutes(-10);
    let sig = fm.phone.sign_timed(action::PRESENT, device_id, old.0);
    let stale = presentation::present(&db, request(PASSWORD, &sig, old.0), at, &random).await;
    assert_eq!(domain(stale), DomainError::StaleSignature, "a signature from 10 minutes ago");
    let later = at.plus_millis(1);
    let forged = fm.phone.sign_timed(action::PRESENT, "another-device", later.0);
    let forged = presentation::present(&db, request(PASSWORD, &forged, later.0), later, &random).await;
    assert_eq!(domain(forged), DomainError::BadSignature);
    let ok = fm.phone.sign_timed(action::PRESENT, device_id, later.0);
    assert!(presentation::present(&db, request(PASSWORD, &ok, later.0), later, &random).await.is_ok());
}

#[tokio::test]
async fn parties_need_valid_redirects_and_unique_names_and_counters_sign_in_with_their_own_password() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let other = staff_view(&db).await;
    let random = Random::os();
    let bad = PartyInput { name: "某系统".into(), redirect_uris: "http://rp.example.cn/cb".into() };
    assert!(matches!(domain(party::register(&db, &staff, &bad, T0, &random).await), DomainError::Validation(_)));
    let input = PartyInput { name: "某系统".into(), redirect_uris: "https://rp.example.cn/cb\n".into() };
    // Issue 14 §1: the phone shows a party's name when it asks for a login; a name like the
    // platform's own is refused.
    for name in ["管理人后台", "法人电子证书 登录", "Manager Dashboard"] {
        let imitation = PartyInput { name: name.into(), ..input.clone() };
        let e = party::register(&db, &staff, &imitation, T0, &random).await;
        assert!(matches!(domain(e), DomainError::Validation(v) if v[0].problem == Problem::Reserved), "{name}");
    }
    let shown = party::register(&db, &staff, &input, T0, &random).await.unwrap();
    let again = party::register(&db, &staff, &input, T0, &random).await;
    assert!(matches!(domain(again), DomainError::AlreadyExists { .. }));
    assert!(party::register(&db, &other, &input, T0, &random).await.is_ok(), "names are unique per authority");

    let client = party::authenticate(&db, &shown.login, &shown.secret).await.unwrap();
    assert_eq!(client.redirect_uris, vec!["https://rp.example.cn/cb"]);
    assert!(party::authenticate(&db, &shown.login, "wrong").await.is_err());
    let listed = party::list(&db, &staff).await.unwrap();
    assert_eq!(listed.len(), 1);

    let e = party::add_counter(&db, &other, &shown.login, "窗口", T0, &random).await;
    assert_eq!(domain(e), DomainError::NotFound, "another authority's party");
    let desk = party::add_counter(&db, &staff, &shown.login, "窗口", T0, &random).await.unwrap();
    let wrong = party::sign_in(&db, &desk.login, Secret::new("wrong password"), T0, &random).await;
    assert_eq!(domain(wrong), DomainError::InvalidCredentials);
    let ok =
        party::sign_in(&db, &desk.login.to_uppercase(), Secret::new(desk.secret.as_str()), T0, &random).await.unwrap();
    let caller = party::current(&db, ok.token.expose(), T0).await.unwrap().unwrap();
    assert_eq!(caller.party_name, "某系统");

    // Five wrong passwords lock the counter for fifteen minutes; when the lock runs out, one
    // wrong try is one try again (issue 14 §4), not a new lockout.
    for _ in 0..party::MAX_FAILED_LOGINS {
        let _ = party::sign_in(&db, &desk.login, Secret::new("wrong password"), T0, &random).await;
    }
    let locked = party::sign_in(&db, &desk.login, Secret::new(desk.secret.as_str()), T0, &random).await;
    assert_eq!(domain(locked), DomainError::AccountLocked);
    let after = T0.plus_minutes(party::LOCKOUT_MINUTES).plus_millis(1);
    let wrong = party::sign_in(&db, &desk.login, Secret::new("wrong password"), after, &random).await;
    assert_eq!(domain(wrong), DomainError::InvalidCredentials);
    party::sign_in(&db, &desk.login, Secret::new(desk.secret.as_str()), after, &random)
        .await
        .expect("not locked again");
    assert_eq!(party::list(&db, &staff).await.unwrap()[0].counters.len(), 1);
}

/// How many usage records `m`'s dashboard shows (R7).
async fn seen(db: &Db, m: &Member) -> i64 {
    usage::list(db, &m.caller(db).await, &UsageFilter::default()).await.unwrap().total
}

#[tokio::test]
async fn r7_r12_usage_records_are_seen_as_r7_allows_filtered_paged_and_exported_by_the_first_manager() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市记录测试研究院").await).await;
    let manager = member(&db, &fm, Role::Manager, "王五", 51).await;
    let own_user = member(&db, &fm, Role::User, "李四", 52).await;
    let managed_user = member(&db, &manager, Role::User, "赵六", 53).await;
    let random = Random::os();
    let at = T0.plus_minutes(2);
    for (m, times) in [(&own_user, 3), (&managed_user, 2)] {
        let set = present(&db, m, at).await.unwrap();
        // A minute apart: the public checks of one set make one record a minute.
        for i in 0..times {
            presentation::verify_qr(&db, set.qr_token.expose(), at.plus_minutes(i), &random).await.unwrap();
        }
    }
    let all = UsageFilter::default();
    assert_eq!(seen(&db, &fm).await, 5, "R7: the first manager sees every record");
    let own = usage::list_own(&db, &fm.caller(&db).await, &all).await.unwrap();
    assert_eq!(own.total, 0, "the wallet shows the holder's own records only");
    assert_eq!(seen(&db, &manager).await, 2, "R7: a manager sees the users it authorized");
    assert_eq!(seen(&db, &own_user).await, 3, "R7: a user sees itself");
    let page = usage::list(&db, &managed_user.caller(&db).await, &all).await.unwrap();
    assert!(page.items.iter().all(|r| r.holder_name == "赵*" && r.kind == UsageKind::Present && r.system == "public"));

    let fm_caller = fm.caller(&db).await;
    let logins = UsageFilter { kind: "login".into(), ..Default::default() };
    assert_eq!(usage::list(&db, &fm_caller, &logins).await.unwrap().total, 0, "filtered by kind");
    let before = UsageFilter { to_day: "2025-12-31".into(), ..Default::default() };
    assert_eq!(usage::list(&db, &fm_caller, &before).await.unwrap().total, 0, "filtered by CST day");
    let that_day = UsageFilter { from_day: "2026-01-01".into(), to_day: "2026-01-01".into(), ..Default::default() };
    assert_eq!(usage::list(&db, &fm_caller, &that_day).await.unwrap().total, 5);
    let second = UsageFilter { page: 1, ..Default::default() };
    assert!(usage::list(&db, &fm_caller, &second).await.unwrap().items.is_empty(), "20 a page");
    let bad = UsageFilter { kind: "drop table".into(), ..Default::default() };
    assert!(matches!(domain(usage::list(&db, &fm_caller, &bad).await), DomainError::Validation(_)));

    let csv = usage::csv(&db, &fm_caller, &all, ecert_core::Lang::Zh).await.unwrap();
    assert!(csv.starts_with("时间（北京时间）,类型,应用系统,结果,持证人,角色\r\n"), "{csv}");
    assert!(csv.contains(",出示核验,") && csv.contains(",核验通过,"), "issue 16 §7: values in Chinese too: {csv}");
    assert_eq!(csv.lines().count(), 6);
    assert!(!csv.contains(&crate::support::resident_id(52)), "R16: no ID numbers");
    let english = usage::csv(&db, &fm_caller, &all, ecert_core::Lang::En).await.unwrap();
    assert!(english.starts_with("Time (China Standard Time),Kind,System,Result,Holder,Role\r\n"));
    assert!(english.contains(",Verified presentation,") && english.contains(",Verified,"), "{english}");
    let refused = usage::csv(&db, &manager.caller(&db).await, &all, ecert_core::Lang::Zh).await;
    assert_eq!(domain(refused), DomainError::Forbidden);
}

/// `checker`'s wallet checks `number` at `at` (signed over the number as normalized).
async fn wallet_check(
    db: &Db,
    checker: &Member,
    number: &str,
    at: Millis,
) -> Result<presentation::VerifiedView, ecert_core::Error> {
    let id = &checker.binding.device_id;
    let normal = presentation::normalize_number(number).unwrap_or_default();
    let signature = checker.phone.sign_timed(action::CHECK_NUMBER, &normal, at.0);
    presentation::check_number_by_wallet(db, id, (at.0, &signature), number, at, &Random::os()).await
}

#[tokio::test]
async fn issue16_a_wallet_checks_a_scanned_number_without_using_it_up_under_a_window_of_failures() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市条码出示研究院").await).await;
    let other = claim_with_phone(&db, &issue_as(&db, &staff, "北京市条码核验研究院").await).await;
    let at = T0.plus_minutes(2);
    let set = present(&db, &fm, at).await.unwrap();
    let number = presentation::format_number(set.number.expose());

    let seen = wallet_check(&db, &other, &number, at.plus_millis(1_000)).await.unwrap();
    assert_eq!((seen.institution_name.as_str(), seen.holder_name.as_str()), ("北京市条码出示研究院", "张*"));
    let public = "SELECT COUNT(*) FROM usage_record WHERE certificate_id = $1 AND system = 'public'";
    assert_eq!(count(&db, public, &fm.binding.certificate_id).await, 1, "R12: recorded as a public check");
    wallet_check(&db, &other, &number, at.plus_millis(2_000)).await.unwrap();
    assert_eq!(count(&db, public, &fm.binding.certificate_id).await, 1, "one record a minute");
    // Not used up: the counter it was shown to still checks it, once.
    let desk = counter(&db).await;
    presentation::verify_number_signed_in(&db, &desk.token, set.number.expose(), at.plus_millis(3_000), &Random::os())
        .await
        .unwrap();

    // Someone else's signature, a typing slip: refused, no try spent.
    let forged = ecert_testing::Phone::new().sign_timed(action::CHECK_NUMBER, "x", at.0);
    let e = presentation::check_number_by_wallet(
        &db,
        &other.binding.device_id,
        (at.0 + 4_000, &forged),
        &number,
        at.plus_millis(4_000),
        &Random::os(),
    )
    .await;
    assert_eq!(domain(e), DomainError::BadSignature);
    let slip = wallet_check(&db, &other, "1234", at.plus_millis(5_000)).await;
    assert!(matches!(domain(slip), DomainError::Validation(ref f) if f[0].field == "code"));

    // R10: ten wrong numbers, then even the right one waits out the window; another phone does not.
    for i in 0..presentation::NUMBER_FAILURES {
        let wrong = format!("{:016}", 9_000_000_000_000_000_i64 + i);
        let e = wallet_check(&db, &other, &wrong, at.plus_millis(10_000 + i * 1_000)).await;
        assert_eq!(domain(e), DomainError::PresentationInvalid, "try {i}");
    }
    let e = wallet_check(&db, &other, &number, at.plus_millis(30_000)).await;
    assert_eq!(domain(e), DomainError::RateLimited);
    let later = at.plus_minutes(presentation::NUMBER_WINDOW_MINUTES).plus_millis(31_000);
    let fresh = present(&db, &fm, later).await.unwrap();
    wallet_check(&db, &other, fresh.number.expose(), later.plus_millis(1_000)).await.unwrap();
    assert_eq!(
        domain(wallet_check(&db, &fm, "0000 0000 0000 0000", later.plus_millis(2_000)).await),
        DomainError::PresentationInvalid
    );

    // A removed or lapsed binding checks nothing.
    changes::apply(
        &db,
        &staff,
        &other.binding.certificate_id,
        &ChangeRequest::Cancel,
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        later,
        &Random::os(),
    )
    .await
    .unwrap();
    let e = wallet_check(&db, &other, fresh.number.expose(), later.plus_millis(3_000)).await;
    assert_eq!(domain(e), DomainError::Revoked);
}

#[tokio::test]
async fn r12_r18_a_partys_system_suspended_while_its_check_runs_gets_nothing_and_records_once_a_minute() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市接口停用测试研究院").await).await;
    let random = Random::os();
    let input = PartyInput { name: "接口停用测试系统".into(), redirect_uris: String::new() };
    let shown = party::register(&db, &staff, &input, T0, &random).await.unwrap();
    // The party as its request authenticated it, before staff suspend it.
    let client = party::authenticate(&db, &shown.login, &shown.secret).await.unwrap();
    let at = T0.plus_minutes(2);
    let set = present(&db, &fm, at).await.unwrap();
    let records = "SELECT COUNT(*) FROM usage_record WHERE party_id = $1";

    db.execute(query("UPDATE relying_party SET status = 'suspended' WHERE id = $1").bind(&shown.login)).await.unwrap();
    let qr = presentation::verify_for_party(&db, &client, set.qr_token.expose(), at, &random).await;
    assert_eq!(domain(qr), DomainError::Unauthenticated, "the statement that records re-checks the party");
    let number = presentation::verify_for_party(&db, &client, set.number.expose(), at, &random).await;
    assert_eq!(domain(number), DomainError::Unauthenticated);
    assert_eq!(count(&db, records, &shown.login).await, 0, "nothing recorded for a suspended party");

    db.execute(query("UPDATE relying_party SET status = 'active' WHERE id = $1").bind(&shown.login)).await.unwrap();
    let seen = presentation::verify_for_party(&db, &client, set.qr_token.expose(), at, &random).await.unwrap();
    assert_eq!(seen.holder_name, "张三", "R18: the full name");
    let link = format!("https://ecert.example.cn/check?t={}", set.qr_token.expose());
    presentation::verify_for_party(&db, &client, &link, at.plus_millis(30_000), &random).await.unwrap();
    assert_eq!(count(&db, records, &shown.login).await, 1, "R12: a set checked again within the minute is one record");
    presentation::verify_for_party(&db, &client, set.number.expose(), at.plus_minutes(1).plus_millis(1), &random)
        .await
        .unwrap();
    assert_eq!(count(&db, records, &shown.login).await, 2, "a minute later, recorded again");
    let again = presentation::verify_for_party(&db, &client, set.number.expose(), at.plus_minutes(2), &random).await;
    assert_eq!(domain(again), DomainError::PresentationInvalid, "R9: the number worked once");

    // Scanner suffixes and other spaces around a typed number are not part of it.
    let set = present(&db, &fm, at.plus_minutes(3)).await.unwrap();
    let typed = format!("\t{}－{}\r\n", &set.number.expose()[..8], &set.number.expose()[8..]);
    presentation::verify_for_party(&db, &client, &typed, at.plus_minutes(3), &random).await.unwrap();
}
