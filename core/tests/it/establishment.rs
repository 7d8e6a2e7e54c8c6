//! Issue 18 §1: establishment registration (设立登记) — an applicant's account by mobile and SMS
//! code with its limits, the application with its papers, the review (return, correction,
//! approval) and the certificate it issues, claimed by the legal representative (R1, R2).

use ecert_core::applicant::{self, Applicant};
use ecert_core::certificate::{IssuePolicy, PersonInput};
use ecert_core::code::CodeKind;
use ecert_core::establishment::{self as est, EstablishmentForm};
use ecert_core::filing::FilingStatus;
use ecert_core::identity::IdentityVerifier;
use ecert_core::seal::Column;
use ecert_core::secret::Random;
use ecert_core::sms::SmsGateway;
use ecert_core::staff::StaffView;
use ecert_core::store::{Db, query};
use ecert_core::{DomainError, Millis, Problem};

use ecert_testing::open_test_db;

use crate::support::{T0, count, domain, resident_id, staff_view};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n";

/// The newest sign-in code the development outbox holds for `mobile`.
async fn code_sent_to(db: &Db, mobile: &str) -> String {
    let rows: Vec<(String, String, String)> =
        db.fetch_all(query("SELECT id, mobile, body FROM sms_outbox ORDER BY created_at DESC, id")).await.unwrap();
    let body = rows
        .into_iter()
        .find(|(id, m, body)| {
            body.contains("设立登记") && db.vault().open(Column::OutboxMobile.at(id), m).unwrap() == mobile
        })
        .map(|(_, _, body)| body)
        .expect("a code was sent");
    let digits: String = body.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 6, "{body}");
    digits
}

/// An applicant signed in with `mobile`.
async fn signed_in(db: &Db, mobile: &str, client: &str) -> Applicant {
    applicant::send_code(db, &SmsGateway::Outbox, mobile, client, T0, &Random::os()).await.unwrap();
    let code = code_sent_to(db, mobile).await;
    let session = applicant::sign_in(db, mobile, &code, T0, &Random::os()).await.unwrap();
    applicant::current(db, session.token.expose(), T0).await.unwrap().expect("session")
}

fn form(staff: &StaffView, name: &str) -> EstablishmentForm {
    EstablishmentForm {
        authority_id: staff.authority_id.clone(),
        name: name.into(),
        address: "北京市朝阳区建国路1号".into(),
        purpose: "开展公益性检验检测服务。".into(),
        funds: "500".into(),
        funding_source: "财政补助".into(),
        sponsor: "北京市某某局".into(),
        legal_rep: PersonInput { name: "王五".into(), id_number: resident_id(555), mobile: "13700001111".into() },
    }
}

async fn upload(db: &Db, a: &Applicant, name: &str) -> String {
    est::upload(db, a, name, PDF, T0, &Random::os()).await.unwrap().id
}

async fn approve(db: &Db, staff: &StaffView, id: &str, code: &str) -> Result<est::Approved, ecert_core::Error> {
    let (identity, policy) = (IdentityVerifier::Local, IssuePolicy::default());
    est::approve(db, staff, id, code, &identity, policy, T0, &Random::os()).await
}

async fn actions(db: &Db, action: &str) -> i64 {
    count(db, "SELECT COUNT(*) FROM staff_action WHERE action = $1", action).await
}

#[tokio::test]
async fn issue18_sign_in_codes_are_limited_per_mobile_per_client_and_in_all() {
    // A database of its own: it counts every code and window there is.
    let db = ecert_testing::open_private_test_db().await;
    staff_view(&db).await; // an authority to send from
    let random = Random::os();
    let sms = SmsGateway::Outbox;
    let client = &format!("198.51.100.{}", random.digits(2).expose());
    let windows = "SELECT COUNT(*) FROM rate_window WHERE class LIKE $1";

    // A malformed mobile: a field error, nothing sent and nothing counted.
    let e = domain(applicant::send_code(&db, &sms, "1234", client, T0, &random).await);
    assert_eq!(e, DomainError::field("mobile", Problem::BadFormat));
    assert_eq!(count(&db, windows, "%applicant_sms%").await, 0);

    // One code a minute to a mobile; five an hour.
    let mobile = "13600000001";
    let masked = applicant::send_code(&db, &sms, mobile, client, T0, &random).await.unwrap();
    assert_eq!(masked, "136****0001");
    let again = applicant::send_code(&db, &sms, mobile, client, Millis(T0.0 + 1_000), &random).await;
    assert_eq!(domain(again), DomainError::RateLimited);
    for minute in 1..5 {
        let at = Millis(T0.0 + minute * Millis::MINUTE);
        applicant::send_code(&db, &sms, mobile, client, at, &random).await.unwrap();
    }
    let sixth = applicant::send_code(&db, &sms, mobile, client, Millis(T0.0 + 5 * Millis::MINUTE), &random).await;
    assert_eq!(domain(sixth), DomainError::RateLimited, "five an hour to one mobile");
    let next_hour = Millis(T0.0 + Millis::HOUR);
    applicant::send_code(&db, &sms, mobile, client, next_hour, &random).await.unwrap();

    // Twenty an hour from one client, whatever the mobiles (five went to the one above this
    // hour); another client is not held up.
    let other_client = &format!("203.0.113.{}", random.digits(2).expose());
    for n in 0..(applicant::PER_CLIENT_HOUR - 5) {
        let m = format!("1350000{n:04}");
        applicant::send_code(&db, &sms, &m, client, T0, &random).await.unwrap();
    }
    let over = applicant::send_code(&db, &sms, "13599999999", client, T0, &random).await;
    assert_eq!(domain(over), DomainError::RateLimited, "the client's hour is spent");
    applicant::send_code(&db, &sms, "13599999999", other_client, T0, &random).await.unwrap();

    // A refused request queued no message.
    let sent = "SELECT COUNT(*) FROM sms_message WHERE kind = $1";
    assert_eq!(count(&db, sent, "applicant_sign_in").await, 5 + 1 + (applicant::PER_CLIENT_HOUR - 5) + 1);
}

#[tokio::test]
async fn issue18_a_code_signs_in_once_and_wrong_codes_are_counted() {
    let db = open_test_db().await;
    staff_view(&db).await; // an authority to send from
    let random = Random::os();
    let mobile = "13600000002";
    applicant::send_code(&db, &SmsGateway::Outbox, mobile, "192.0.2.7", T0, &random).await.unwrap();
    let code = code_sent_to(&db, mobile).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let e = domain(applicant::sign_in(&db, mobile, wrong, T0, &random).await);
    assert_eq!(e, DomainError::SmsCodeWrong { remaining: 4 });
    // The right code for another mobile does nothing.
    let e = domain(applicant::sign_in(&db, "13600000003", &code, T0, &random).await);
    assert_eq!(e, DomainError::SmsCodeWrong { remaining: 0 });
    let session = applicant::sign_in(&db, mobile, &code, T0, &random).await.unwrap();
    let me = applicant::current(&db, session.token.expose(), T0).await.unwrap().unwrap();
    assert_eq!(me.mobile, "136****0002", "R16: the account shows its mobile masked");
    let e = domain(applicant::sign_in(&db, mobile, &code, T0, &random).await);
    assert_eq!(e, DomainError::SmsCodeWrong { remaining: 0 }, "a code works once");
    // A code past its life does not sign in.
    let later = Millis(T0.0 + 2 * Millis::MINUTE);
    applicant::send_code(&db, &SmsGateway::Outbox, mobile, "192.0.2.7", later, &random).await.unwrap();
    let code = code_sent_to(&db, mobile).await;
    let expired = Millis(later.0 + 6 * Millis::MINUTE);
    assert_eq!(
        domain(applicant::sign_in(&db, mobile, &code, expired, &random).await),
        DomainError::SmsCodeWrong { remaining: 0 }
    );
    // Five wrong tries spend a code.
    let at = Millis(T0.0 + 10 * Millis::MINUTE);
    applicant::send_code(&db, &SmsGateway::Outbox, mobile, "192.0.2.7", at, &random).await.unwrap();
    let code = code_sent_to(&db, mobile).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let _ = applicant::sign_in(&db, mobile, wrong, at, &random).await;
    }
    assert_eq!(
        domain(applicant::sign_in(&db, mobile, &code, at, &random).await),
        DomainError::SmsCodeWrong { remaining: 0 }
    );
    // Signing in again is the same account; signing out ends the session.
    let again = signed_in_at(&db, mobile, Millis(T0.0 + 20 * Millis::MINUTE)).await;
    assert_eq!(again.0.id, me.id);
    applicant::sign_out(&db, again.1.expose(), T0).await.unwrap();
    assert!(applicant::current(&db, again.1.expose(), T0).await.unwrap().is_none());
}

async fn signed_in_at(db: &Db, mobile: &str, at: Millis) -> (Applicant, ecert_core::secret::Secret) {
    applicant::send_code(db, &SmsGateway::Outbox, mobile, "192.0.2.8", at, &Random::os()).await.unwrap();
    let code = code_sent_to(db, mobile).await;
    let session = applicant::sign_in(db, mobile, &code, at, &Random::os()).await.unwrap();
    (applicant::current(db, session.token.expose(), at).await.unwrap().unwrap(), session.token)
}

#[tokio::test]
async fn issue18_an_application_is_returned_corrected_approved_and_its_certificate_claimed() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let a = signed_in(&db, "13600000004", "192.0.2.9").await;
    let paper = upload(&db, &a, "设立登记申请书.pdf").await;
    let random = Random::os();

    // Bad input: every bad field at once, nothing written.
    let mut bad = form(&staff, "");
    bad.funds = "五百".into();
    bad.legal_rep.id_number = "110105".into();
    match domain(est::submit(&db, &a, None, &bad, std::slice::from_ref(&paper), T0, &random).await) {
        DomainError::Validation(fields) => {
            let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(names, ["name", "funds", "legal_rep_id_number"]);
        }
        other => panic!("{other:?}"),
    }
    let e = domain(est::submit(&db, &a, None, &form(&staff, "北京市检验中心"), &[], T0, &random).await);
    assert_eq!(e, DomainError::field("files", Problem::Required), "papers are required");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM establishment WHERE applicant_id = $1", &a.id).await, 0);

    let submitted =
        est::submit(&db, &a, None, &form(&staff, "北京市检验中心"), std::slice::from_ref(&paper), T0, &random)
            .await
            .unwrap();
    assert_eq!(submitted.status, FilingStatus::Submitted);
    assert_eq!(submitted.files.len(), 1);
    // One application under review at a time.
    let second = upload(&db, &a, "another.pdf").await;
    let e = domain(est::submit(&db, &a, None, &form(&staff, "另一个中心"), &[second], T0, &random).await);
    assert_eq!(e, DomainError::AlreadyExists { field: "establishment".into() });

    // The authority's queue; the detail masks the legal representative (R16).
    let queue = est::queue(&db, &staff, true).await.unwrap();
    assert_eq!(queue.iter().map(|q| q.id.as_str()).collect::<Vec<_>>(), [submitted.id.as_str()]);
    let detail = est::detail(&db, &staff, &submitted.id).await.unwrap();
    assert!(detail.digest_matches);
    assert_eq!(detail.document.form.legal_rep.id_number, ecert_core::mask::id_number(&resident_id(555)));
    assert_eq!(detail.document.attachments[0].name, "设立登记申请书.pdf");
    let content = est::file(&db, &staff, &paper, T0, &random).await.unwrap();
    assert_eq!(content.media_type, "application/pdf");

    let e = domain(est::form_of(&db, &a, &submitted.id).await);
    assert_eq!(e, DomainError::NotFound, "only a returned application's form is read back whole");

    // Returned: reasons required; then the applicant corrects the name and submits it again.
    let e = domain(est::send_back(&db, &staff, &submitted.id, "  ", T0, &random).await);
    assert_eq!(e, DomainError::field("review_note", Problem::Required));
    let returned =
        est::send_back(&db, &staff, &submitted.id, "名称不规范，请补充举办单位批复。", T0, &random).await.unwrap();
    assert_eq!(returned.status, FilingStatus::Returned);
    let e = domain(approve(&db, &staff, &submitted.id, "").await);
    assert_eq!(e, DomainError::InvalidState, "a returned application is not approved");
    let mine = est::mine(&db, &a).await.unwrap();
    assert_eq!(mine.applications[0].review_note.as_deref(), Some("名称不规范，请补充举办单位批复。"));
    let mut fixed = est::form_of(&db, &a, &submitted.id).await.unwrap();
    assert_eq!(fixed.legal_rep.id_number, resident_id(555), "the applicant reads their own form whole");
    fixed.name = "北京市朝阳区检验检测中心".into();
    let approval = upload(&db, &a, "举办单位批复.pdf").await;
    let files = [paper.clone(), approval];
    let again = est::submit(&db, &a, Some(&submitted.id), &fixed, &files, T0, &random).await.unwrap();
    assert_eq!(
        (again.id.as_str(), again.status, again.files.len()),
        (submitted.id.as_str(), FilingStatus::Submitted, 2)
    );
    let e = domain(est::submit(&db, &a, Some(&submitted.id), &fixed, &files, T0, &random).await);
    assert_eq!(e, DomainError::InvalidState, "only a returned application is corrected");

    // Approved: the institution registered with a new code of the authority's division, its
    // certificate issued to the legal representative, pending their claim.
    let approved = approve(&db, &staff, &submitted.id, "").await.unwrap();
    let code = approved.view.credit_code.clone().unwrap();
    assert_eq!(ecert_core::validate::credit_code("c", &code), Ok(code.clone()));
    assert!(code.starts_with("12110105"), "{code}");
    assert_eq!(approved.view.status, FilingStatus::Approved);
    let (name, status): (String, String) = db
        .fetch_one(
            query("SELECT i.name, c.status FROM institution i JOIN certificate c ON c.institution_id = i.id WHERE i.credit_code = $1")
                .bind(&code),
        )
        .await
        .unwrap();
    assert_eq!((name.as_str(), status.as_str()), ("北京市朝阳区检验检测中心", "active"));
    assert_eq!(domain(approve(&db, &staff, &submitted.id, "").await), DomainError::InvalidState, "once");

    // The applicant takes the claim slip (the one staff printed stops working), and the legal
    // representative claims with it (R2).
    let slip = est::claim(&db, &a, &submitted.id, IssuePolicy::default(), T0, &random).await.unwrap();
    let phone = ecert_testing::Phone::new();
    let old = ecert_testing::acceptance(&phone, CodeKind::Claim, approved.claim.code.expose(), "王五", 555);
    let e = ecert_core::holder::accept(&db, CodeKind::Claim, approved.claim.code.expose(), &old, T0, &random).await;
    assert!(matches!(domain(e), DomainError::CodeInvalid | DomainError::CodeUsed));
    let member = ecert_testing::accept(&db, CodeKind::Claim, slip.code.expose(), "王五", 555, T0).await;
    assert!(!member.binding.device_id.is_empty());
    // Claimed: no further slip.
    let e = domain(est::claim(&db, &a, &submitted.id, IssuePolicy::default(), T0, &random).await);
    assert_eq!(e, DomainError::NotFound);

    // In the records: two submissions, the return, the approval and the issue, and the archive
    // package of the issue holding the application.
    for (action, n) in [
        ("establishment_submit", 2),
        ("establishment_return", 1),
        ("establishment_approve", 1),
        ("certificate_establish", 1),
    ] {
        let sql = "SELECT COUNT(*) FROM staff_action WHERE action = $2 AND authority_id = $1";
        let got: i64 = db.fetch_one(query(sql).bind(&staff.authority_id).bind(action)).await.unwrap();
        assert_eq!(got, n, "{action}");
    }
    let archived = count(
        &db,
        "SELECT COUNT(*) FROM archive WHERE certificate_id = $1 AND action = 'certificate_establish'",
        &approved.claim.certificate_id,
    )
    .await;
    assert_eq!(archived, 1);
    assert!(actions(&db, "establishment_file_read").await >= 1);
}

#[tokio::test]
async fn issue18_other_authorities_and_other_applicants_reach_nothing_and_papers_are_checked() {
    let db = open_test_db().await;
    let (staff, stranger) = (staff_view(&db).await, staff_view(&db).await);
    let a = signed_in(&db, "13600000005", "192.0.2.10").await;
    let b = signed_in(&db, "13600000006", "192.0.2.10").await;
    let random = Random::os();

    // Papers: PDF, PNG or JPEG by their bytes, bounded in size and in number.
    let e = domain(est::upload(&db, &a, "page.html", b"<html></html>", T0, &random).await);
    assert_eq!(e, DomainError::field("file", Problem::BadFormat));
    let big = [PDF, &vec![b' '; est::MAX_FILE_BYTES]].concat();
    let e = domain(est::upload(&db, &a, "big.pdf", &big, T0, &random).await);
    assert_eq!(e, DomainError::field("file", Problem::TooLarge { max_kb: 512 }));
    let e = domain(est::upload(&db, &a, "photo\u{202E}gpj.exe", PDF, T0, &random).await);
    assert_eq!(e, DomainError::field("file_name", Problem::BadFormat), "no text reordering in a name");
    let e = domain(est::upload(&db, &a, "../../x.pdf", PDF, T0, &random).await);
    assert_eq!(e, DomainError::field("file_name", Problem::BadFormat));
    let mut uploads = Vec::new();
    for n in 0..est::MAX_UNSUBMITTED {
        uploads.push(upload(&db, &a, &format!("{n}.pdf")).await);
    }
    let e = domain(est::upload(&db, &a, "one-more.pdf", PDF, T0, &random).await);
    assert_eq!(e, DomainError::field("files", Problem::TooMany { max: 10 }));
    let e = domain(est::submit(&db, &a, None, &form(&staff, "某中心"), &uploads[..6], T0, &random).await);
    assert_eq!(e, DomainError::field("files", Problem::TooMany { max: est::MAX_FILES }));

    // Another applicant can neither use, remove nor claim what is not theirs.
    let e = domain(est::submit(&db, &b, None, &form(&staff, "某中心"), &uploads[..1], T0, &random).await);
    assert_eq!(e, DomainError::NotFound);
    assert_eq!(domain(est::discard(&db, &b, &uploads[0]).await), DomainError::NotFound);
    let mine = est::submit(&db, &a, None, &form(&staff, "某中心"), &uploads[..1], T0, &random).await.unwrap();
    assert_eq!(domain(est::form_of(&db, &b, &mine.id).await), DomainError::NotFound);
    assert!(est::mine(&db, &b).await.unwrap().applications.is_empty());
    // A paper under review is not removed.
    assert_eq!(domain(est::discard(&db, &a, &uploads[0]).await), DomainError::NotFound);
    est::discard(&db, &a, &uploads[1]).await.unwrap();

    // Another authority's staff see nothing of it.
    assert!(est::queue(&db, &stranger, false).await.unwrap().is_empty());
    assert_eq!(domain(est::detail(&db, &stranger, &mine.id).await), DomainError::NotFound);
    assert_eq!(domain(est::file(&db, &stranger, &uploads[0], T0, &random).await), DomainError::NotFound);
    assert_eq!(domain(approve(&db, &stranger, &mine.id, "").await), DomainError::NotFound);
    assert_eq!(domain(est::send_back(&db, &stranger, &mine.id, "不行", T0, &random).await), DomainError::NotFound);
    approve(&db, &staff, &mine.id, "").await.unwrap();
    assert_eq!(domain(est::claim(&db, &b, &mine.id, IssuePolicy::default(), T0, &random).await), DomainError::NotFound);
    // The applicant's slips are counted: each voids the one before, a few an hour.
    for _ in 0..est::SLIPS_PER_HOUR {
        est::claim(&db, &a, &mine.id, IssuePolicy::default(), T0, &random).await.unwrap();
    }
    let e = domain(est::claim(&db, &a, &mine.id, IssuePolicy::default(), T0, &random).await);
    assert_eq!(e, DomainError::RateLimited);
    let next_hour = Millis(T0.0 + Millis::HOUR);
    est::claim(&db, &a, &mine.id, IssuePolicy::default(), next_hour, &random).await.unwrap();

    // Uploads are counted an hour at a time, discards giving nothing back; the upload refused
    // above for too many waiting papers was not counted.
    let uploads_of = |who: &str| {
        ecert_core::store::query(
            "SELECT CAST(hits AS BIGINT) FROM rate_window WHERE class = 'hour:establishment_upload' AND client = $1",
        )
        .bind(who.to_owned())
    };
    let counted: i64 = db.fetch_one(uploads_of(&a.id)).await.unwrap();
    assert_eq!(counted, est::MAX_UNSUBMITTED);
    let c = signed_in(&db, "13600000018", "192.0.2.10").await;
    for n in 0..est::UPLOADS_PER_HOUR {
        let id = upload(&db, &c, &format!("{n}.pdf")).await;
        est::discard(&db, &c, &id).await.unwrap();
    }
    assert_eq!(domain(est::upload(&db, &c, "more.pdf", PDF, T0, &random).await), DomainError::RateLimited);
    est::upload(&db, &c, "more.pdf", PDF, next_hour, &random).await.unwrap();
}

#[tokio::test]
async fn issue18_two_approvals_at_once_issue_one_certificate() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let a = signed_in(&db, "13600000007", "192.0.2.11").await;
    let paper = upload(&db, &a, "a.pdf").await;
    let app = est::submit(&db, &a, None, &form(&staff, "并发中心"), &[paper], T0, &Random::os()).await.unwrap();
    let (one, two) = tokio::join!(approve(&db, &staff, &app.id, ""), approve(&db, &staff, &app.id, ""));
    assert_eq!([one.is_ok(), two.is_ok()].iter().filter(|ok| **ok).count(), 1, "{one:?} {two:?}");
    let certificates: i64 = db
        .fetch_one(
            query("SELECT COUNT(*) FROM institution WHERE name = $1 AND authority_id = $2")
                .bind("并发中心")
                .bind(&staff.authority_id),
        )
        .await
        .unwrap();
    assert_eq!(certificates, 1);
}

#[tokio::test]
async fn issue18_a_credit_code_staff_enter_is_checked_and_the_purge_clears_what_was_left() {
    // A database of its own: the purge deletes what other tests would still read.
    let db = ecert_testing::open_private_test_db().await;
    let staff = staff_view(&db).await;
    let a = signed_in(&db, "13600000008", "192.0.2.12").await;
    let paper = upload(&db, &a, "a.pdf").await;
    let app = est::submit(&db, &a, None, &form(&staff, "代码中心"), &[paper], T0, &Random::os()).await.unwrap();
    // R22: an enterprise's code, or one of another division, is refused and nothing changes.
    let e = domain(approve(&db, &staff, &app.id, "91350100M000100Y43").await);
    assert_eq!(e, DomainError::field("credit_code", Problem::NotPublicInstitution));
    let guangzhou = est::credit_code_of("440100", "12345678").unwrap();
    let e = domain(approve(&db, &staff, &app.id, &guangzhou).await);
    assert_eq!(e, DomainError::field("credit_code", Problem::OutsideDivision));
    assert_eq!(est::queue(&db, &staff, true).await.unwrap().len(), 1, "still under review");
    let given = ecert_testing::credit_code();
    let approved = approve(&db, &staff, &app.id, &given).await.unwrap();
    assert_eq!(approved.view.credit_code.as_deref(), Some(given.as_str()));

    // An upload never submitted goes after a day; an account that applied for nothing after
    // thirty days unused; this applicant's account stays (it has an application).
    let idle = signed_in(&db, "13600000009", "192.0.2.12").await;
    let stray = upload(&db, &idle, "stray.pdf").await;
    let later = Millis(T0.0 + 31 * Millis::DAY);
    ecert_core::purge::purge(&db, later).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM establishment_file WHERE id = $1", &stray).await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM applicant WHERE id = $1", &idle.id).await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM applicant WHERE id = $1", &a.id).await, 1);
    let codes: i64 =
        db.fetch_one(query("SELECT COUNT(*) FROM applicant_code WHERE expires_at < $1").bind(later.0)).await.unwrap();
    assert_eq!(codes, 0, "spent codes are gone");

    // R16: an application returned and never corrected goes with its papers 90 days after the
    // return (its account then as an idle one); an approved one stays.
    let gone = signed_in(&db, "13600000019", "192.0.2.12").await;
    let paper = upload(&db, &gone, "b.pdf").await;
    let returned =
        est::submit(&db, &gone, None, &form(&staff, "放弃中心"), std::slice::from_ref(&paper), T0, &Random::os())
            .await
            .unwrap();
    est::send_back(&db, &staff, &returned.id, "材料不全", T0, &Random::os()).await.unwrap();
    ecert_core::purge::purge(&db, Millis(T0.0 + 89 * Millis::DAY)).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM establishment WHERE id = $1", &returned.id).await, 1);
    ecert_core::purge::purge(&db, Millis(T0.0 + 91 * Millis::DAY)).await.unwrap();
    assert_eq!(count(&db, "SELECT COUNT(*) FROM establishment WHERE id = $1", &returned.id).await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM establishment_file WHERE id = $1", &paper).await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM applicant WHERE id = $1", &gone.id).await, 0);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM establishment WHERE id = $1", &app.id).await, 1);
}
