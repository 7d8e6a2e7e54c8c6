//! Journey 1 of the delegation issue: staff register an institution and issue its certificate
//! with a claim code (R1, R2, R16, 分级管理).

use ecert_core::certificate::{
    self, CertificateStatus, ClaimCode, FirstManagerChoice, IssuePolicy, IssueRequest, PersonInput,
};
use ecert_core::code::{self, CodeKind};
use ecert_core::holder::HolderStatus;
use ecert_core::identity::IdentityVerifier;
use ecert_core::secret::Random;
use ecert_core::staff::StaffView;
use ecert_core::store::Db;
use ecert_core::{DomainError, Error};
use ecert_testing::open_test_db;

use crate::support::{T0, count, credit_code, domain, resident_id, staff_view};

fn request(code: &str) -> IssueRequest {
    IssueRequest {
        credit_code: code.to_owned(),
        name: "北京市测试研究院".into(),
        address: "北京市海淀区中关村大街1号".into(),
        legal_rep: PersonInput { name: "张三".into(), id_number: resident_id(123), mobile: "13812345678".into() },
        first_manager: FirstManagerChoice::LegalRepresentative,
        checklist: ecert_core::certificate::Checklist::ALL,
    }
}

/// Issues with the local identity checker and the default policy, at T0.
async fn issue(db: &Db, staff: &StaffView, req: &IssueRequest) -> Result<(String, ClaimCode), Error> {
    certificate::issue(db, staff, req, &IdentityVerifier::Local, IssuePolicy::default(), T0, &Random::os()).await
}

async fn redeem(db: &Db, code: &str, at: ecert_core::Millis) -> Result<code::Redeemed, Error> {
    let mut tx = db.begin_write().await.unwrap();
    let r = code::redeem(&mut tx, CodeKind::Claim, code, at).await;
    tx.commit().await.unwrap();
    r
}

#[tokio::test]
async fn r1_issuing_makes_the_legal_representative_the_pending_first_manager_with_masked_views() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let code = credit_code();
    let (serial, claim) = issue(&db, &staff, &request(&code)).await.unwrap();
    assert!(serial.starts_with("EC20260101"), "{serial}");
    assert_eq!(claim.expires_at, T0.plus_minutes(30), "R2: 30 minutes by default");
    let view = certificate::view(&db, &staff, &claim.certificate_id, ecert_core::Millis::now()).await.unwrap();
    assert_eq!(view.credit_code, code);
    assert_eq!(view.status, CertificateStatus::Active);
    assert_eq!(view.first_manager_status, Some(HolderStatus::Pending));
    // R16: masked for staff views.
    assert_eq!(view.legal_rep_name, "张*");
    assert_eq!(view.legal_rep_id_number, format!("110***********{}", &resident_id(123)[14..]));
    assert_eq!(view.legal_rep_mobile, "138****5678");
    assert_eq!(view.first_manager_name, "张*");
    // R12: the issue is a change record.
    let records = count(
        &db,
        "SELECT COUNT(*) FROM change_record WHERE certificate_id = $1 AND kind = 'issued'",
        &claim.certificate_id,
    )
    .await;
    assert_eq!(records, 1);
    // Only the hash of the claim code is stored.
    let raw = count(&db, "SELECT COUNT(*) FROM one_time_code WHERE code_hash = $1", claim.code.expose()).await;
    assert_eq!(raw, 0);
}

#[tokio::test]
async fn r1_a_delegate_authorized_in_writing_can_be_the_first_manager() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let mut req = request(&credit_code());
    req.first_manager = FirstManagerChoice::Delegate(PersonInput {
        name: "李四".into(),
        id_number: resident_id(456),
        mobile: "13900001111".into(),
    });
    let (_, claim) = issue(&db, &staff, &req).await.unwrap();
    let view = certificate::view(&db, &staff, &claim.certificate_id, ecert_core::Millis::now()).await.unwrap();
    assert_eq!(view.first_manager_name, "李*");
    assert_eq!(view.legal_rep_name, "张*");
}

#[tokio::test]
async fn bad_input_is_refused_field_by_field_and_changes_nothing() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let mut req = request("91350100M000100Y44");
    req.legal_rep.id_number = "110105199001011230".into();
    req.legal_rep.mobile = "12345".into();
    req.address = "x".repeat(201);
    match domain(issue(&db, &staff, &req).await) {
        DomainError::Validation(fields) => {
            let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(names, ["credit_code", "address", "legal_rep_id_number", "legal_rep_mobile"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&db, "SELECT COUNT(*) FROM institution WHERE credit_code = $1", "91350100M000100Y44").await, 0);
}

#[tokio::test]
async fn a_credit_code_is_registered_once() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let code = credit_code();
    issue(&db, &staff, &request(&code)).await.unwrap();
    let again = issue(&db, &staff, &request(&code)).await;
    assert_eq!(domain(again), DomainError::AlreadyExists { field: "credit_code".into() });
    assert_eq!(count(&db, "SELECT COUNT(*) FROM institution WHERE credit_code = $1", &code).await, 1);
}

#[tokio::test]
async fn staff_act_only_for_institutions_of_their_own_authority() {
    let db = open_test_db().await;
    let ours = staff_view(&db).await;
    let theirs = staff_view(&db).await;
    let code = credit_code();
    let (_, claim) = issue(&db, &ours, &request(&code)).await.unwrap();
    assert_eq!(
        domain(certificate::view(&db, &theirs, &claim.certificate_id, ecert_core::Millis::now()).await),
        DomainError::Forbidden
    );
    assert_eq!(
        domain(
            certificate::refresh_claim(&db, &theirs, &claim.certificate_id, IssuePolicy::default(), T0, &Random::os())
                .await
        ),
        DomainError::Forbidden
    );
    assert!(
        certificate::list(&db, &theirs, "", 50, ecert_core::Millis::now())
            .await
            .unwrap()
            .iter()
            .all(|c| c.credit_code != code)
    );
    assert!(
        certificate::list(&db, &ours, &code, 50, ecert_core::Millis::now())
            .await
            .unwrap()
            .iter()
            .any(|c| c.credit_code == code)
    );
}

#[tokio::test]
async fn r2_a_claim_code_works_once_and_not_after_thirty_minutes() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let (_, claim) = issue(&db, &staff, &request(&credit_code())).await.unwrap();
    let expired = redeem(&db, claim.code.expose(), T0.plus_minutes(30)).await;
    assert_eq!(domain(expired), DomainError::CodeExpired);
    let ok = redeem(&db, claim.code.expose(), T0.plus_minutes(29)).await.unwrap();
    assert_eq!(ok.certificate_id, claim.certificate_id);
    assert_eq!(domain(redeem(&db, claim.code.expose(), T0.plus_minutes(29)).await), DomainError::CodeUsed);
    assert_eq!(domain(redeem(&db, "forged", T0).await), DomainError::CodeInvalid);
}

#[tokio::test]
async fn r2_the_claim_code_life_is_configurable() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let policy = IssuePolicy { claim_minutes: 10, ..IssuePolicy::default() };
    let (_, claim) =
        certificate::issue(&db, &staff, &request(&credit_code()), &IdentityVerifier::Local, policy, T0, &Random::os())
            .await
            .unwrap();
    assert_eq!(claim.expires_at, T0.plus_minutes(10));
    assert_eq!(domain(redeem(&db, claim.code.expose(), T0.plus_minutes(10)).await), DomainError::CodeExpired);
}

#[tokio::test]
async fn r2_a_refreshed_claim_code_voids_the_previous_one() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let (_, first) = issue(&db, &staff, &request(&credit_code())).await.unwrap();
    let second = certificate::refresh_claim(
        &db,
        &staff,
        &first.certificate_id,
        IssuePolicy::default(),
        T0.plus_minutes(1),
        &Random::os(),
    )
    .await
    .unwrap();
    assert_eq!(second.expires_at, T0.plus_minutes(31));
    assert_eq!(domain(redeem(&db, first.code.expose(), T0.plus_minutes(2)).await), DomainError::CodeInvalid);
    redeem(&db, second.code.expose(), T0.plus_minutes(2)).await.unwrap();
}

#[tokio::test]
async fn r2_of_twenty_concurrent_redemptions_of_one_claim_code_exactly_one_succeeds() {
    let db = open_test_db().await;
    let staff = staff_view(&db).await;
    let (_, claim) = issue(&db, &staff, &request(&credit_code())).await.unwrap();
    let code = claim.code.expose().to_owned();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (db, code) = (db.clone(), code.clone());
            tokio::spawn(async move { redeem(&db, &code, T0.plus_minutes(1)).await.is_ok() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}
