//! Issue 16 journey 1 (R19, 补办): a holder's certificate moves to a new phone without voiding
//! anyone else — a re-download code from the one who added them, or for the first manager a
//! slip from staff who checked the identity card — and a void card says why.

use ecert_core::certificate::{Checklist, IssuePolicy};
use ecert_core::changes::{self, ChangeRequest};
use ecert_core::code::CodeKind;
use ecert_core::device::{self, VoidReason, action};
use ecert_core::holder::{self, Acceptance, Role};
use ecert_core::identity::IdentityVerifier;
use ecert_core::secret::{Random, Secret, token_hash};
use ecert_core::sms::{self, SmsGateway};
use ecert_core::store::{Db, query};
use ecert_core::{DomainError, Millis, Problem};
use ecert_testing::open_test_db;

use crate::delegation::{Member, PASSWORD, claim_with_phone, claimed, issue_as, member};
use crate::support::{Phone, T0, count, domain, resident_id, staff_view};

/// What `phone` sends to take up the role of a re-download `code` as `name` with ID seq `seq`.
fn acceptance(phone: &Phone, code: &str, name: &str, seq: u16) -> Acceptance {
    Acceptance {
        name: name.into(),
        id_number: resident_id(seq),
        password: Secret::new(PASSWORD),
        public_key: phone.public_key.clone(),
        signature: phone.sign(action::REDOWNLOAD, code),
    }
}

/// The code of the newest SMS sent for the holder a re-download `code` moves (the development
/// gateway's outbox keeps the text).
async fn last_sms_code(db: &Db, code: &str) -> String {
    let newest = "SELECT o.body FROM sms_outbox o JOIN sms_message m ON m.id = o.id JOIN sms_code s ON s.id = m.code_id \
         JOIN one_time_code t ON t.holder_id = s.holder_id WHERE t.code_hash = $1 \
         ORDER BY o.created_at DESC, o.id DESC LIMIT 1";
    let body: String = db.fetch_one(query(newest).bind(token_hash(code))).await.unwrap();
    let (_, after) = body.split_once("验证码").expect("a code in the text");
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 6, "{body}");
    digits
}

/// `phone` takes up the role of a re-download `code` as `name` with ID seq `seq`, with the SMS
/// code sent to the holder's registered mobile (R19).
async fn redownload_on(db: &Db, phone: Phone, code: &str, name: &str, seq: u16, at: Millis) -> Member {
    let random = Random::os();
    let masked = sms::request_redownload(db, &SmsGateway::Outbox, code, at, &random).await.unwrap();
    assert!(masked.contains("****"), "the mobile is shown masked: {masked}");
    let sms_code = last_sms_code(db, code).await;
    let a = acceptance(&phone, code, name, seq);
    let binding = holder::accept_redownload(db, code, &a, &sms_code, at, &random).await.unwrap();
    Member { phone, binding }
}

/// Why `m`'s card no longer works, as the wallet's status call learns it (signed at `at`).
async fn why(db: &Db, m: &Member, at: Millis) -> Option<VoidReason> {
    let device_id = &m.binding.device_id;
    let message = device::message(action::STATUS, &device::timed_subject(device_id, at.0));
    let signature = m.phone.sign_timed(action::STATUS, device_id, at.0);
    device::why_void(db, device_id, &message, &signature).await.unwrap()
}

/// Is `m`'s device binding refused?
async fn refused(db: &Db, m: &Member, at: Millis) -> bool {
    let device_id = &m.binding.device_id;
    let message = device::message(action::STATUS, device_id);
    let signature = m.phone.sign(action::STATUS, device_id);
    let result = device::signed(db, device_id, &message, &signature, at).await.map(|_| ());
    result.is_err() && domain(result) == DomainError::Revoked
}

async fn changes_of(db: &Db, kind: &str, holder_id: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM change_record WHERE kind = '{kind}' AND subject_id = $1");
    count(db, &sql, holder_id).await
}

#[tokio::test]
async fn r19_a_user_moves_to_a_new_phone_with_role_and_grants_intact_and_the_old_phone_stops_at_once() {
    let db = open_test_db().await;
    let random = Random::os();
    let fm = claimed(&db).await;
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let m2 = member(&db, &fm, Role::Manager, "钱七", 2).await;
    let u1 = member(&db, &m1, Role::User, "赵六", 11).await;
    let at = T0.plus_minutes(2);

    // Who may move whom is R8's: not another manager's user (unseen), not oneself, not the
    // first manager (staff do that), and a user moves nobody.
    let e = holder::redownload_code(&db, &m2.caller(&db).await, &u1.binding.holder_id, at, &random).await;
    assert_eq!(domain(e), DomainError::NotFound);
    let e = holder::redownload_code(&db, &u1.caller(&db).await, &u1.binding.holder_id, at, &random).await;
    assert_eq!(domain(e), DomainError::Forbidden);
    let e = holder::redownload_code(&db, &fm.caller(&db).await, &fm.binding.holder_id, at, &random).await;
    assert_eq!(domain(e), DomainError::Forbidden);
    assert!(!refused(&db, &u1, at).await, "refusals change nothing");

    let code = holder::redownload_code(&db, &m1.caller(&db).await, &u1.binding.holder_id, at, &random).await.unwrap();
    let code = code.code.expose().to_owned();
    // R19: the old phone stops at once — it may be lost — and says why.
    assert!(refused(&db, &u1, at).await);
    assert_eq!(why(&db, &u1, at).await, Some(VoidReason::Moved));
    assert_eq!(changes_of(&db, "redownload_issued", &u1.binding.holder_id).await, 1);

    // The code offers the user's own role; it is not a face-to-face code.
    let offer = holder::offer(&db, CodeKind::Redownload, &code, at).await.unwrap();
    assert_eq!(offer.role, Role::User);
    assert_eq!(domain(holder::offer(&db, CodeKind::Authorize, &code, at).await), DomainError::CodeInvalid);
    // Someone else's name and ID number take nothing.
    let stranger = Phone::new();
    let wrong = Acceptance {
        name: "赵六".into(),
        id_number: resident_id(99),
        password: Secret::new(PASSWORD),
        public_key: stranger.public_key.clone(),
        signature: stranger.sign(action::REDOWNLOAD, &code),
    };
    sms::request_redownload(&db, &SmsGateway::Outbox, &code, at, &random).await.unwrap();
    let sms_code = last_sms_code(&db, &code).await;
    let e = holder::accept_redownload(&db, &code, &wrong, &sms_code, at, &random).await;
    assert_eq!(domain(e), DomainError::IdentityMismatch);
    // The code, the name and the ID number are not enough: the SMS to the registered mobile
    // must come back too (a manager or staff know the rest). Without it, or wrong, nothing moves.
    let taker = Phone::new();
    let right = acceptance(&taker, &code, "赵六", 11);
    let e = holder::accept(&db, CodeKind::Redownload, &code, &right, at, &random).await;
    assert_eq!(domain(e), DomainError::field("sms_code", Problem::Required));
    let wrong_sms = if sms_code == "000000" { "000001" } else { "000000" };
    let e = holder::accept_redownload(&db, &code, &right, wrong_sms, at, &random).await;
    assert_eq!(domain(e), DomainError::SmsCodeWrong { remaining: 3 }, "the identity miss used a try too");
    // An SMS for a re-download needs a live re-download code; a face-to-face code sends none.
    let e = sms::request_redownload(&db, &SmsGateway::Outbox, "not-a-code", at, &random).await;
    assert_eq!(domain(e), DomainError::CodeInvalid);
    // One a minute to the same mobile.
    let e = sms::request_redownload(&db, &SmsGateway::Outbox, &code, at, &random).await;
    assert_eq!(domain(e), DomainError::RateLimited);
    let binding = holder::accept_redownload(&db, &code, &right, &sms_code, at, &random).await.expect("the SMS code");
    let moved = Member { phone: taker, binding };
    assert_eq!(moved.binding.holder_id, u1.binding.holder_id, "the same role");
    assert_ne!(moved.binding.device_id, u1.binding.device_id, "on a new device");
    assert_eq!(moved.binding.role, Role::User);
    let sql = "SELECT COUNT(*) FROM holder_grant WHERE holder_id = $1 AND status = 'active'";
    assert_eq!(count(&db, sql, &u1.binding.holder_id).await, 1, "the grant stays");
    crate::presentation::present(&db, &moved, at.plus_minutes(1))
        .await
        .expect("the new phone presents under the grant");
    assert!(refused(&db, &u1, at).await, "the old phone stays stopped");
    assert_eq!(changes_of(&db, "device_changed", &u1.binding.holder_id).await, 1);
    // A code works once.
    let again = holder::offer(&db, CodeKind::Redownload, &code, at).await;
    assert_eq!(domain(again), DomainError::CodeUsed);
    // Nobody else was disturbed.
    for other in [&fm, &m1, &m2] {
        assert!(!refused(&db, other, at).await);
    }
    // A new code stops the new phone in turn; the earlier unused one stops working.
    let first = holder::redownload_code(&db, &m1.caller(&db).await, &u1.binding.holder_id, at, &random).await.unwrap();
    let second = holder::redownload_code(&db, &fm.caller(&db).await, &u1.binding.holder_id, at, &random).await.unwrap();
    assert!(refused(&db, &moved, at).await);
    let e = holder::offer(&db, CodeKind::Redownload, first.code.expose(), at).await;
    assert_eq!(domain(e), DomainError::CodeInvalid);
    holder::offer(&db, CodeKind::Redownload, second.code.expose(), at).await.unwrap();
    // Removal voids the pending code too (R8), and the card says so.
    holder::remove(&db, &m1.caller(&db).await, &u1.binding.holder_id, at, &random).await.unwrap();
    let e = holder::offer(&db, CodeKind::Redownload, second.code.expose(), at).await;
    assert_eq!(domain(e), DomainError::CodeInvalid);
    assert_eq!(why(&db, &moved, at).await, Some(VoidReason::Moved), "stopped before the removal, for the move");
}

#[tokio::test]
async fn r19_the_first_manager_moves_with_a_staff_slip_after_the_identity_card_and_no_one_else_is_disturbed() {
    let db = open_test_db().await;
    let random = Random::os();
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市测试研究院").await).await;
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let u1 = member(&db, &m1, Role::User, "赵六", 11).await;
    let at = T0.plus_minutes(2);
    let policy = IssuePolicy::default();
    let apply = |request: ChangeRequest, id: String| {
        let (db, staff, random) = (db.clone(), staff.clone(), random.clone());
        async move { changes::apply(&db, &staff, &id, &request, &IdentityVerifier::Local, policy, at, &random).await }
    };
    let certificate_id = fm.binding.certificate_id.clone();

    // The identity card must have been checked at the counter.
    let e = apply(ChangeRequest::NewDevice { checklist: Checklist::default() }, certificate_id.clone()).await;
    match domain(e) {
        DomainError::Validation(fields) => {
            assert_eq!((fields[0].field.as_str(), &fields[0].problem), ("checklist", &Problem::Required))
        }
        other => panic!("{other:?}"),
    }
    assert!(!refused(&db, &fm, at).await, "a refused change stops nothing");

    let checked = Checklist { identity_card: true, ..Checklist::default() };
    let slip = apply(ChangeRequest::NewDevice { checklist: checked }, certificate_id.clone()).await.unwrap().unwrap();
    assert_eq!(slip.kind, CodeKind::Redownload);
    assert!(refused(&db, &fm, at).await, "the old phone stops at once");
    assert_eq!(why(&db, &fm, at).await, Some(VoidReason::Moved));
    for other in [&m1, &u1] {
        assert!(!refused(&db, other, at).await, "no form-2 voiding");
    }
    let moved = redownload_on(&db, Phone::new(), slip.code.expose(), "张三", 123, at).await;
    assert_eq!((moved.binding.role, &moved.binding.holder_id), (Role::FirstManager, &fm.binding.holder_id));
    // The first manager acts again from the new phone: it still manages its managers.
    let caller = moved.caller(&db).await;
    let people = holder::list(&db, &caller, at).await.unwrap();
    assert!(people.iter().any(|h| h.id == m1.binding.holder_id && h.role == Role::Manager));
    let sql = "SELECT COUNT(*) FROM staff_action WHERE action = 'first_manager_new_device' AND target_id = $1";
    assert_eq!(count(&db, sql, &certificate_id).await, 1, "the staff action is recorded");

    // A first manager who has not claimed yet gets a fresh claim code, not a new phone.
    let pending = issue_as(&db, &staff, "北京市另一研究院").await;
    let e = apply(ChangeRequest::NewDevice { checklist: checked }, pending.certificate_id.clone()).await;
    assert_eq!(domain(e), DomainError::InvalidState);
}

#[tokio::test]
async fn a_holder_removes_the_card_from_the_phone_and_every_void_card_says_why() {
    let db = open_test_db().await;
    let random = Random::os();
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市测试研究院").await).await;
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let u1 = member(&db, &m1, Role::User, "赵六", 11).await;
    let u2 = member(&db, &m1, Role::User, "孙八", 12).await;
    let at = T0.plus_minutes(2);

    // Removing the card needs the device's own fresh signature.
    let device_id = u1.binding.device_id.clone();
    let stranger = Phone::new();
    let forged = stranger.sign_timed(action::REMOVE_CARD, &device_id, at.0);
    let e = holder::drop_device(&db, &device_id, (at.0, &forged), at, &random).await;
    assert_eq!(domain(e), DomainError::BadSignature);
    let signature = u1.phone.sign_timed(action::REMOVE_CARD, &device_id, at.0);
    holder::drop_device(&db, &device_id, (at.0, &signature), at, &random).await.unwrap();
    assert!(refused(&db, &u1, at).await);
    assert_eq!(why(&db, &u1, at.plus_minutes(1)).await, Some(VoidReason::Dropped));
    assert_eq!(changes_of(&db, "device_removed", &u1.binding.holder_id).await, 1);
    let sql = "SELECT COUNT(*) FROM holder_grant WHERE holder_id = $1 AND status = 'active'";
    assert_eq!(count(&db, sql, &u1.binding.holder_id).await, 1, "the role and grant stay for a new phone");
    // A stranger's key learns nothing of a void card.
    let message = device::message(action::STATUS, &device::timed_subject(&device_id, at.0));
    let signature = stranger.sign_timed(action::STATUS, &device_id, at.0);
    assert_eq!(device::why_void(&db, &device_id, &message, &signature).await.unwrap(), None);
    assert_eq!(why(&db, &u2, at).await, None, "a live card is not void");

    // R8: removed by a manager.
    holder::remove(&db, &m1.caller(&db).await, &u2.binding.holder_id, at, &random).await.unwrap();
    assert_eq!(why(&db, &u2, at).await, Some(VoidReason::Removed));

    // R14: a legal-representative change voids everyone, and says so.
    let request = ChangeRequest::FirstManager {
        first_manager: ecert_core::certificate::FirstManagerChoice::LegalRepresentative,
        checklist: Checklist::ALL,
    };
    let certificate_id = fm.binding.certificate_id.clone();
    changes::apply(
        &db,
        &staff,
        &certificate_id,
        &request,
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        at,
        &random,
    )
    .await
    .unwrap();
    assert_eq!(why(&db, &fm, at).await, Some(VoidReason::FirstManagerChanged));
    assert_eq!(why(&db, &m1, at).await, Some(VoidReason::FirstManagerChanged));

    // R15: a cancelled certificate says that, whatever stopped the device before.
    changes::apply(
        &db,
        &staff,
        &certificate_id,
        &ChangeRequest::Cancel,
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        at,
        &random,
    )
    .await
    .unwrap();
    for m in [&fm, &m1, &u1, &u2] {
        assert_eq!(why(&db, m, at).await, Some(VoidReason::Cancelled));
    }
}

/// `m` opens the certificate face with `password`, signing at `at`.
async fn face_of(
    db: &Db,
    m: &Member,
    password: &str,
    at: Millis,
) -> Result<holder::CertificateFace, ecert_core::Error> {
    let device_id = &m.binding.device_id;
    let signature = m.phone.sign_timed(action::FACE, device_id, at.0);
    holder::face(db, device_id, (at.0, &signature), Secret::new(password), at).await
}

#[tokio::test]
async fn the_certificate_face_shows_the_institution_as_registered_now_and_stays_readable_after_cancellation() {
    let db = open_test_db().await;
    let random = Random::os();
    let staff = staff_view(&db).await;
    let fm = claim_with_phone(&db, &issue_as(&db, &staff, "北京市测试研究院").await).await;
    let m1 = member(&db, &fm, Role::Manager, "王五", 1).await;
    let u1 = member(&db, &m1, Role::User, "赵六", 11).await;
    let at = T0.plus_minutes(2);

    let face = face_of(&db, &u1, PASSWORD, at).await.unwrap();
    assert_eq!(face.institution_name, "北京市测试研究院");
    assert_eq!(face.legal_rep_name, "张*", "masked (R16)");
    assert_eq!((face.holder.role, face.holder.grants.len()), (Role::User, 1));
    assert_eq!(face.status, ecert_core::certificate::CertificateStatus::Active);
    assert!(!face.authority_name.is_empty());
    assert!(face.changes.iter().all(|c| c.subject_id.as_deref() == Some(u1.binding.holder_id.as_str())), "R7: its own");
    // The password counts (R13); a signature is used once.
    let e = face_of(&db, &u1, "wrong-pass", at.plus_minutes(1)).await;
    assert_eq!(domain(e), DomainError::WrongPassword { remaining: 5 });
    let e = face_of(&db, &u1, PASSWORD, at.plus_minutes(1)).await;
    assert_eq!(domain(e), DomainError::StaleSignature, "the same signing time again");

    let gone = member(&db, &m1, Role::User, "孙八", 12).await;
    holder::remove(&db, &m1.caller(&db).await, &gone.binding.holder_id, at, &random).await.unwrap();

    // The name as registered now, not as cached at claim.
    let rename = ChangeRequest::Rename { name: "北京市测试研究院（新名）".into() };
    let certificate_id = fm.binding.certificate_id.clone();
    let policy = IssuePolicy::default();
    changes::apply(&db, &staff, &certificate_id, &rename, &IdentityVerifier::Local, policy, at, &random).await.unwrap();
    assert_eq!(
        face_of(&db, &u1, PASSWORD, at.plus_minutes(2)).await.unwrap().institution_name,
        "北京市测试研究院（新名）"
    );

    // Cancelled: every use stops (R15), the record stays readable.
    changes::apply(&db, &staff, &certificate_id, &ChangeRequest::Cancel, &IdentityVerifier::Local, policy, at, &random)
        .await
        .unwrap();
    assert!(refused(&db, &u1, at).await);
    let face = face_of(&db, &u1, PASSWORD, at.plus_minutes(3)).await.unwrap();
    assert_eq!(face.status, ecert_core::certificate::CertificateStatus::Cancelled);
    let signature = u1.phone.sign_timed(action::RECORDS, &u1.binding.device_id, at.plus_minutes(4).0);
    let signed = (at.plus_minutes(4).0, signature.as_str());
    holder::own_records(&db, &u1.binding.device_id, signed, 0, at.plus_minutes(4)).await.expect("records readable");
    face_of(&db, &fm, PASSWORD, at.plus_minutes(3)).await.expect("the first manager reads it too");
    // A removed holder reads nothing.
    assert_eq!(domain(face_of(&db, &gone, PASSWORD, at.plus_minutes(3)).await), DomainError::Revoked);
}
