//! Issue 16 §5 (R20): a certificate's validity. Past its last day it fails every verification
//! and login like a cancelled one (R15) until renewed; renewal opens three months before the
//! end, disturbs no holder, and happens once however many staff press at the same moment.

use ecert_core::certificate::{self, CertificateQuery, IssuePolicy, STATUS_EXPIRED, STATUS_RENEWAL_OPEN};
use ecert_core::changes::{self, ChangeRequest};
use ecert_core::code::CodeKind;
use ecert_core::device::{self, action};
use ecert_core::holder::{self, Role};
use ecert_core::identity::IdentityVerifier;
use ecert_core::login;
use ecert_core::presentation;
use ecert_core::secret::Random;
use ecert_core::staff::StaffView;
use ecert_core::store::{Db, query};
use ecert_core::validity::{self, Validity};
use ecert_core::{DomainError, Millis, Problem};
use ecert_testing::open_test_db;

use crate::delegation::{PASSWORD, approval_of, claim_with_phone, issue_as, member};
use crate::presentation::{counter, present};
use crate::support::{T0, count, domain, staff_view};

/// T0 is 2026-01-01 08:00 CST: five years of validity end with 2030-12-31.
const LAPSES: Millis = Millis(1_924_963_200_000); // 2031-01-01T00:00 CST

async fn renew(db: &Db, staff: &StaffView, certificate_id: &str, at: Millis) -> Result<(), ecert_core::Error> {
    let policy = IssuePolicy::default();
    changes::apply(
        db,
        staff,
        certificate_id,
        &ChangeRequest::Renew,
        &IdentityVerifier::Local,
        policy,
        at,
        &Random::os(),
    )
    .await
    .map(|_| ())
}

#[tokio::test]
async fn r20_a_lapsed_certificate_fails_every_verification_and_login_until_renewed_and_renewal_disturbs_no_one() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let claim = issue_as(&db, &staff, "北京市有效期测试研究院").await;
    let cert = claim.certificate_id.clone();
    let fm = claim_with_phone(&db, &claim).await;
    let user = member(&db, &fm, Role::User, "李四", 61).await;
    assert_eq!(validity::expiry_of_issue(T0, 5), LAPSES);

    let view = certificate::view(&db, &staff, &cert, T0).await.unwrap();
    assert_eq!((view.expires_at, view.validity), (LAPSES.0, Validity::Valid));
    assert_eq!(validity::last_day(view.expires_at), "2030-12-31");

    // A minute before the end everything works; a set presented then is checked after it.
    let before = Millis(LAPSES.0 - 60_000);
    let set = present(&db, &fm, Millis(before.0 - 1_000)).await.unwrap();
    presentation::verify_qr(&db, set.qr_token.expose(), before, &Random::os()).await.unwrap();
    let late_set = present(&db, &fm, before).await.unwrap();
    let after = LAPSES.plus_minutes(1);
    let lapsed = DomainError::Expired { last_day: "2030-12-31".into() };
    let e = presentation::verify_qr(&db, late_set.qr_token.expose(), after, &Random::os()).await;
    assert_eq!(domain(e), DomainError::PresentationInvalid, "R20: a live set fails once the validity ends");
    let desk = counter(&db).await;
    let e = presentation::verify_number(&db, &desk.caller, late_set.number.expose(), after, &Random::os()).await;
    assert_eq!(domain(e), DomainError::PresentationInvalid, "at the counter too");
    assert_eq!(domain(present(&db, &fm, after).await), lapsed, "R20: no new set; the holder is told why");
    let sig = fm.phone.sign_timed(action::STATUS, &fm.binding.device_id, after.0);
    let status = device::signed_fresh(&db, &fm.binding.device_id, action::STATUS, after.0, &sig, after).await;
    assert_eq!(domain(status), lapsed);

    // Scan login: refused at the scan, and a dashboard session opened before the end stops.
    let random = Random::os();
    let s = login::start(&db, login::DASHBOARD, &login::Requester::default(), before, &random).await.unwrap();
    let code = s.code.expose();
    let id = &fm.binding.device_id;
    login::scan(&db, code, id, &fm.phone.sign(action::LOGIN_SCAN, code), None, before).await.unwrap();
    let sig = fm.phone.sign(action::LOGIN_APPROVE, code);
    login::answer(&db, code, id, &sig, approval_of(PASSWORD, &s), before, &random).await.unwrap();
    let session = login::consume(&db, s.browser.expose(), before, &random).await.unwrap().unwrap();
    assert!(login::current(&db, session.token.expose(), before).await.unwrap().is_some());
    assert!(login::current(&db, session.token.expose(), after).await.unwrap().is_none(), "R20: the session stops");
    let s = login::start(&db, login::DASHBOARD, &login::Requester::default(), after, &random).await.unwrap();
    let code = s.code.expose();
    let e = login::scan(&db, code, id, &fm.phone.sign(action::LOGIN_SCAN, code), None, after).await;
    assert_eq!(domain(e), lapsed, "R20: no scan login");

    // The console marks it; renewal was not open four months before the end.
    let view = certificate::view(&db, &staff, &cert, after).await.unwrap();
    assert_eq!(view.validity, Validity::Expired);
    let early = Millis(LAPSES.0 - 120 * Millis::DAY);
    assert_eq!(
        domain(renew(&db, &staff, &cert, early).await),
        DomainError::RenewalNotOpen { opens: "2030-10-01".into() }
    );

    // Renewed ten days late: five years from that day, everyone as they were.
    let renewed_at = after.plus_millis(10 * Millis::DAY);
    renew(&db, &staff, &cert, renewed_at).await.unwrap();
    let view = certificate::view(&db, &staff, &cert, renewed_at).await.unwrap();
    assert_eq!(view.validity, Validity::Valid);
    assert_eq!(validity::last_day(view.expires_at), "2036-01-10");
    let active = "SELECT COUNT(*) FROM holder WHERE certificate_id = $1 AND status = 'active'";
    assert_eq!(count(&db, active, &cert).await, 2, "the first manager and the user stay");
    let devices = "SELECT COUNT(*) FROM device d JOIN holder h ON h.id = d.holder_id \
                   WHERE h.certificate_id = $1 AND d.status = 'active'";
    assert_eq!(count(&db, devices, &cert).await, 2, "their phones stay bound");
    let set = present(&db, &fm, renewed_at).await.unwrap();
    let seen = presentation::verify_qr(&db, set.qr_token.expose(), renewed_at, &Random::os()).await.unwrap();
    assert_eq!(seen.institution_name, "北京市有效期测试研究院");
    let grants = "SELECT COUNT(*) FROM holder_grant g JOIN holder h ON h.id = g.holder_id \
                  WHERE h.certificate_id = $1 AND g.status = 'active'";
    assert_eq!(count(&db, grants, &cert).await, 1, "the user's grant stays");
    let user_status = "SELECT COUNT(*) FROM holder WHERE id = $1 AND status = 'active'";
    assert_eq!(count(&db, user_status, &user.binding.holder_id).await, 1);
    let renewed = "SELECT COUNT(*) FROM change_record WHERE certificate_id = $1 AND kind = 'renewed'";
    assert_eq!(count(&db, renewed, &cert).await, 1, "R12: a change record");
    let logged = "SELECT COUNT(*) FROM staff_action WHERE target_id = $1 AND action = 'certificate_renew'";
    assert_eq!(count(&db, logged, &cert).await, 1, "R22: the staff action is recorded");
    let archived = "SELECT COUNT(*) FROM archive WHERE certificate_id = $1 AND action = 'certificate_renew'";
    assert_eq!(count(&db, archived, &cert).await, 1, "and archived");
}

#[tokio::test]
async fn r20_renewal_pressed_twice_at_once_renews_once_and_early_renewal_keeps_the_remaining_days() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let cert = issue_as(&db, &staff, "北京市续期并发测试研究院").await.certificate_id;
    let at = Millis(LAPSES.0 - 30 * Millis::DAY);
    let (a, b) = tokio::join!(renew(&db, &staff, &cert, at), renew(&db, &staff, &cert, at));
    let refused: Vec<DomainError> =
        [a, b].into_iter().filter_map(Result::err).map(|e| domain(Err::<(), _>(e))).collect();
    assert_eq!(refused, [DomainError::RenewalNotOpen { opens: "2035-10-01".into() }], "exactly one renewal");
    let view = certificate::view(&db, &staff, &cert, at).await.unwrap();
    assert_eq!(validity::last_day(view.expires_at), "2035-12-31", "from the old end, not from today");
}

#[tokio::test]
async fn r20_the_console_lists_certificates_in_their_renewal_window_and_past_it_and_the_cli_sets_a_last_day() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let random = Random::os();
    let issue = |name: &'static str| issue_as(&db, &staff, name);
    let (soon, gone, fine) = (issue("续期窗口研究院").await, issue("已过期研究院").await, issue("有效研究院").await);
    let serial = |id: String| {
        let db = db.clone();
        async move {
            let serial: String =
                db.fetch_one(query("SELECT serial FROM certificate WHERE id = $1").bind(id)).await.unwrap();
            serial
        }
    };
    let now = T0.plus_minutes(10);
    validity::set_from_command_line(&db, &serial(soon.certificate_id.clone()).await, "2026-02-15", now, &random)
        .await
        .unwrap();
    let set =
        validity::set_from_command_line(&db, &serial(gone.certificate_id.clone()).await, "2025-12-31", now, &random)
            .await
            .unwrap();
    assert_eq!((set.institution_name.as_str(), set.last_day.as_str()), ("已过期研究院", "2025-12-31"));

    let find = |status: &str| {
        let q = CertificateQuery { status: status.into(), ..CertificateQuery::default() };
        let (db, staff) = (db.clone(), staff.clone());
        async move {
            let page = certificate::search(&db, &staff, &q, now).await.unwrap();
            page.items.into_iter().map(|c| (c.institution_name, c.validity)).collect::<Vec<_>>()
        }
    };
    assert_eq!(find(STATUS_RENEWAL_OPEN).await, [("续期窗口研究院".to_owned(), Validity::RenewalOpen)]);
    assert_eq!(find(STATUS_EXPIRED).await, [("已过期研究院".to_owned(), Validity::Expired)]);
    assert_eq!(find("active").await.len(), 3, "lapsed is still active: renewable, not cancelled");
    let fine_view = certificate::view(&db, &staff, &fine.certificate_id, now).await.unwrap();
    assert_eq!(fine_view.validity, Validity::Valid);

    // A lapsed certificate's claim code is refused with the reason.
    let offer = holder::offer(&db, CodeKind::Claim, gone.code.expose(), now).await;
    assert_eq!(domain(offer), DomainError::Expired { last_day: "2025-12-31".into() });

    // The command line refuses a bad day and an unknown serial, and records what it did.
    let bad = validity::set_from_command_line(&db, "EC20260101XXXX", "2026-02-30", now, &random).await;
    assert!(matches!(domain(bad), DomainError::Validation(ref f) if f[0].problem == Problem::BadFormat));
    let unknown = validity::set_from_command_line(&db, "EC20260101XXXX", "2027-01-01", now, &random).await;
    assert_eq!(domain(unknown), DomainError::NotFound);
    let logged = "SELECT COUNT(*) FROM staff_action WHERE action = 'certificate_validity_set' AND target_id = $1";
    assert_eq!(count(&db, logged, &gone.certificate_id).await, 1);
}
