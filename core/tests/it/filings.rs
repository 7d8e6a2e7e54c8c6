//! Issue 18 §1, R23: the registration business filed with the certificate — a manager's
//! dashboard makes the document, the phone approves its digest, staff approve or return it, and
//! an approved filing applies itself (R14 for a new legal representative, R15 for a
//! cancellation) or is published (an annual report).

use ecert_core::certificate::{Checklist, IssuePolicy, PersonInput};
use ecert_core::changes::ChangeKind;
use ecert_core::code::CodeKind;
use ecert_core::filing::{self, AnnualReport, ChangeForm, FilingForm, FilingStatus};
use ecert_core::holder::{Caller, Role};
use ecert_core::identity::IdentityVerifier;
use ecert_core::login::Requester;
use ecert_core::login::approval::{self, Action};
use ecert_core::secret::Random;
use ecert_core::staff::StaffView;
use ecert_core::store::Db;
use ecert_core::{DomainError, Error};
use ecert_testing::open_test_db;

use crate::delegation::{Member, phone_answers, session_caller};
use crate::support::{T0, count, domain, resident_id, staff_view};

/// A new authority's staff member, and the first manager (张三, ID seq 123) of an institution
/// it issued to, signed in to the dashboard.
async fn institution(db: &Db, name: &str) -> (StaffView, Member, Caller) {
    let staff = staff_view(db).await;
    let m = ecert_testing::first_manager(db, &staff, name, "张三", 123, T0).await;
    let member = Member { phone: m.phone, binding: m.binding };
    let (_, session) = session_caller(db, &member).await;
    (staff, member, session)
}

fn report(year: i64) -> FilingForm {
    FilingForm::AnnualReport(AnnualReport {
        year,
        // Typed into a text area: its lines are kept (R23's report sections are several lines).
        activities: "开展科研项目12项；\n服务企业300家。".into(),
        net_assets_start: "1200.50".into(),
        net_assets_end: "1350".into(),
        assets_start: "3000".into(),
        assets_end: "3321.75".into(),
        change_compliance: "按规定办理变更登记。".into(),
        performance: "获市级科技进步奖一项。".into(),
        litigation: "无".into(),
        complaints: "无".into(),
        other: String::new(),
    })
}

/// The session files `form`: it asks the phone, the phone approves, the write takes it.
async fn file(db: &Db, m: &Member, session: &Caller, form: &FilingForm) -> Result<filing::FilingView, Error> {
    let prepared = filing::prepare(db, session, form, T0).await?;
    let act = Action::SubmitFiling { form: form.clone(), digest: prepared.digest.clone() };
    let asked = approval::ask(db, session, &act, &Requester::default(), T0, &Random::os()).await?;
    phone_answers(db, m, asked.code.expose(), Some(&asked.match_code)).await?;
    let mut caller = session.clone();
    caller.bring_approval(Some(asked.id));
    filing::submit(db, &caller, form, &prepared.digest, T0, &Random::os()).await
}

async fn approve(db: &Db, staff: &StaffView, id: &str, checklist: Checklist) -> Result<filing::Reviewed, Error> {
    let (identity, policy, random) = (IdentityVerifier::Local, IssuePolicy::default(), Random::os());
    filing::approve(db, staff, id, checklist, &identity, policy, T0, &random).await
}

async fn records(db: &Db, certificate_id: &str, kind: ChangeKind) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM change_record WHERE certificate_id = $1 AND kind = '{}'", kind.as_sql());
    count(db, &sql, certificate_id).await
}

#[tokio::test]
async fn r23_an_annual_report_signed_on_the_phone_is_reviewed_then_published() {
    let db = open_test_db().await;
    let (staff, fm, session) = institution(&db, "北京市年报研究院").await;
    let form = report(2025);
    let filings = "SELECT COUNT(*) FROM filing WHERE certificate_id = $1";

    // The dashboard session alone files nothing (R21): the phone must approve this document.
    let prepared = filing::prepare(&db, &session, &form, T0).await.unwrap();
    assert_eq!(prepared.document.credit_code.len(), 18);
    let e = filing::submit(&db, &session, &form, &prepared.digest, T0, &Random::os()).await;
    assert_eq!(domain(e), DomainError::ApprovalRequired);
    assert_eq!(count(&db, filings, &session.certificate_id).await, 0);

    // The phone shows the kind, the institution and the digest it signs.
    let act = Action::SubmitFiling { form: form.clone(), digest: prepared.digest.clone() };
    let asked = approval::ask(&db, &session, &act, &Requester::default(), T0, &Random::os()).await.unwrap();
    assert!(asked.summary_zh.contains("年度报告（2025年度）"), "{}", asked.summary_zh);
    assert!(asked.summary_zh.contains(&prepared.digest_hex), "{}", asked.summary_zh);
    // An approval of one document files no other: a different report is refused.
    phone_answers(&db, &fm, asked.code.expose(), Some(&asked.match_code)).await.unwrap();
    let mut caller = session.clone();
    caller.bring_approval(Some(asked.id.clone()));
    let other = report(2024);
    let other_digest = filing::prepare(&db, &session, &other, T0).await.unwrap().digest;
    let e = filing::submit(&db, &caller, &other, &other_digest, T0, &Random::os()).await;
    assert_eq!(domain(e), DomainError::ApprovalRequired);
    let filed = filing::submit(&db, &caller, &form, &prepared.digest, T0, &Random::os()).await.unwrap();
    assert_eq!((filed.status, filed.report_year), (FilingStatus::Submitted, Some(2025)));
    // The approval is taken once.
    let e = filing::submit(&db, &caller, &form, &prepared.digest, T0, &Random::os()).await;
    assert_eq!(domain(e), DomainError::ApprovalRequired);

    // One report a year (R3's kind of rule: the second signed one is refused).
    let e = file(&db, &fm, &session, &report(2025)).await;
    assert_eq!(domain(e), DomainError::AlreadyExists { field: "annual_report".into() });
    assert_eq!(count(&db, filings, &session.certificate_id).await, 1);

    // Not public before approval.
    assert_eq!(domain(filing::published_report(&db, &filed.id).await), DomainError::NotFound);
    let code = &prepared.document.credit_code;
    assert!(filing::published(&db, code, None).await.unwrap().is_empty());

    // The staff read the signed document; it still hashes to what the phone approved.
    let detail = filing::detail(&db, &staff, &filed.id).await.unwrap();
    assert!(detail.digest_matches);
    assert_eq!(detail.document.form, form.normalized());
    let reviewed = approve(&db, &staff, &filed.id, Checklist::default()).await.unwrap();
    assert_eq!((reviewed.status, reviewed.claim.is_none()), (FilingStatus::Approved, true));
    assert_eq!(domain(approve(&db, &staff, &filed.id, Checklist::default()).await), DomainError::InvalidState);

    // Published: found by credit code and by part of the name, with its sections.
    let listed = filing::published(&db, code, None).await.unwrap();
    assert_eq!(listed.iter().map(|r| (r.id.as_str(), r.year)).collect::<Vec<_>>(), [(filed.id.as_str(), 2025)]);
    assert!(filing::published(&db, "年报研究", None).await.unwrap().iter().any(|r| r.id == filed.id));
    let shown = filing::published_report(&db, &filed.id).await.unwrap();
    assert_eq!(shown.report.net_assets_end, "1350");
    assert_eq!(shown.line.institution_name, "北京市年报研究院");

    // The records: the holder filed, the staff approved; the archive keeps the signed document.
    let cert = &session.certificate_id;
    assert_eq!(records(&db, cert, ChangeKind::FilingSubmitted).await, 1);
    assert_eq!(records(&db, cert, ChangeKind::FilingApproved).await, 1);
    let archived = "SELECT COUNT(*) FROM archive WHERE certificate_id = $1 AND action = 'filing_approve'";
    assert_eq!(count(&db, archived, cert).await, 1);
    let mine = filing::mine(&db, &session, T0).await.unwrap();
    assert_eq!(mine.iter().map(|f| f.status).collect::<Vec<_>>(), [FilingStatus::Approved]);
}

#[tokio::test]
async fn r23_r14_an_approved_change_renames_and_a_new_legal_representative_voids_every_role() {
    let db = open_test_db().await;
    let (staff, fm, session) = institution(&db, "北京市变更研究院").await;
    let form = FilingForm::Change(ChangeForm {
        name: "北京市变更研究总院".into(),
        address: String::new(),
        legal_rep: Some(PersonInput {
            name: "李四".into(), id_number: resident_id(200), mobile: "13700000000".into()
        }),
        reason: "举办单位任命新的法定代表人".into(),
    });
    // R21: the phone shows what changes, the new representative masked (R16).
    let prepared = filing::prepare(&db, &session, &form, T0).await.unwrap();
    let act = Action::SubmitFiling { form: form.clone(), digest: prepared.digest.clone() };
    let asked = approval::ask(&db, &session, &act, &Requester::default(), T0, &Random::os()).await.unwrap();
    assert!(asked.summary_zh.contains("新名称：北京市变更研究总院"), "{}", asked.summary_zh);
    assert!(asked.summary_zh.contains("新法定代表人") && asked.summary_zh.contains("李*"), "{}", asked.summary_zh);
    assert!(!asked.summary_zh.contains(&resident_id(200)), "the ID number is masked");
    let filed = file(&db, &fm, &session, &form).await.unwrap();

    // A new legal representative needs the papers checked (form 2): refused, nothing changed.
    let e = approve(&db, &staff, &filed.id, Checklist::default()).await;
    assert!(matches!(domain(e), DomainError::Validation(_)));
    let detail = filing::detail(&db, &staff, &filed.id).await.unwrap();
    assert_eq!(detail.filing.status, FilingStatus::Submitted);
    let signature = detail.signature.as_ref().expect("the phone's signature");
    assert!(signature.verified, "checked on the whole document, not the one masked for display");

    let serial_before: String = db
        .fetch_one(
            ecert_core::store::query("SELECT serial FROM certificate WHERE id = $1").bind(&session.certificate_id),
        )
        .await
        .unwrap();
    let reviewed = approve(&db, &staff, &filed.id, Checklist::ALL).await.unwrap();
    let claim = reviewed.claim.expect("R14: a claim slip for the new legal representative");
    assert_eq!(claim.certificate_id, session.certificate_id);

    // Renamed, the representative replaced, a new serial, and every role void.
    let (name, rep, serial): (String, String, String) = db
        .fetch_one(
            ecert_core::store::query(
                "SELECT i.name, i.legal_rep_name, c.serial FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1",
            )
            .bind(&session.certificate_id),
        )
        .await
        .unwrap();
    assert_eq!((name.as_str(), rep.as_str()), ("北京市变更研究总院", "李四"));
    assert_ne!(serial, serial_before);
    let holder_status: String = db
        .fetch_one(ecert_core::store::query("SELECT status FROM holder WHERE id = $1").bind(&fm.binding.holder_id))
        .await
        .unwrap();
    assert_eq!(holder_status, "removed", "R14: the old first manager is void");
    // The session of the old first manager files nothing more.
    assert!(filing::prepare(&db, &session, &report(2025), T0).await.is_err());

    // The new legal representative claims the certificate with the slip.
    let new_fm = ecert_testing::accept(&db, CodeKind::Claim, claim.code.expose(), "李四", 200, T0).await;
    assert_eq!(new_fm.binding.role, Role::FirstManager);
    let cert = &session.certificate_id;
    assert_eq!(records(&db, cert, ChangeKind::LegalRepChanged).await, 1);
    assert_eq!(records(&db, cert, ChangeKind::Renamed).await, 1);
}

#[tokio::test]
async fn r23_a_returned_filing_keeps_the_reasons_and_a_corrected_one_is_filed_again() {
    let db = open_test_db().await;
    let (staff, fm, session) = institution(&db, "北京市注销研究院").await;
    let form = FilingForm::Cancellation { reason: "撤销".into() };
    let filed = file(&db, &fm, &session, &form).await.unwrap();
    // One cancellation waits at a time.
    let e = file(&db, &fm, &session, &FilingForm::Cancellation { reason: "再次申请".into() }).await;
    assert_eq!(domain(e), DomainError::AlreadyExists { field: "kind".into() });

    let (policy, random) = (IssuePolicy::default(), Random::os());
    let e = filing::send_back(&db, &staff, &filed.id, "  ", policy, T0, &random).await;
    assert!(matches!(domain(e), DomainError::Validation(_)), "reasons are required");
    let reasons = "请补充举办单位同意注销的文件";
    let back = filing::send_back(&db, &staff, &filed.id, reasons, policy, T0, &random).await.unwrap();
    assert_eq!(back.status, FilingStatus::Returned);
    assert_eq!(domain(approve(&db, &staff, &filed.id, Checklist::default()).await), DomainError::InvalidState);
    let mine = filing::mine(&db, &session, T0).await.unwrap();
    assert_eq!(mine[0].review_note.as_deref(), Some(reasons));
    let active = "SELECT COUNT(*) FROM certificate WHERE id = $1 AND status = 'active'";
    assert_eq!(count(&db, active, &session.certificate_id).await, 1, "a return changes nothing");

    // The phone's signature stays with the filing (the approval request is long purged when an
    // auditor reads it): the device, what it signed and when, verified under the device's key.
    let sig = filing::detail(&db, &staff, &filed.id).await.unwrap().signature.expect("the phone's signature");
    assert!(sig.verified, "{sig:?}");
    assert_eq!(sig.device_id, fm.binding.device_id);
    assert!(sig.message.starts_with("ecert/v1\n"), "{}", sig.message);
    // The approval request gone, as the purge deletes it hours later.
    let purged = "DELETE FROM approval_request WHERE holder_id = (SELECT submitted_by FROM filing WHERE id = $1)";
    assert!(db.execute(ecert_core::store::query(purged).bind(&filed.id)).await.unwrap() >= 1);
    assert!(filing::detail(&db, &staff, &filed.id).await.unwrap().signature.is_some_and(|s| s.verified));
    // A signature changed in the database no longer verifies.
    db.execute(
        ecert_core::store::query("UPDATE filing SET signature = $1 WHERE id = $2")
            .bind(sig.signature.chars().rev().collect::<String>())
            .bind(&filed.id),
    )
    .await
    .unwrap();
    assert!(!filing::detail(&db, &staff, &filed.id).await.unwrap().signature.unwrap().verified);
    let lines = ecert_core::archive::list(&db, &staff, &session.certificate_id).await.unwrap();
    let returned = lines.iter().find(|l| l.action == "filing_return").expect("the return's package");
    let package = ecert_core::archive::export(&db, &staff, &returned.id).await.unwrap();
    let holds = package.text.contains(&sig.device_id) && package.text.contains(&sig.signature);
    assert!(holds, "the return's package holds the signature: {}", package.text);

    // Corrected and filed again; approved, the certificate is cancelled (R15).
    let corrected = FilingForm::Cancellation { reason: "举办单位决定撤销，附同意文件".into() };
    let again = file(&db, &fm, &session, &corrected).await.unwrap();
    approve(&db, &staff, &again.id, Checklist::default()).await.unwrap();
    assert_eq!(count(&db, active, &session.certificate_id).await, 0);
    assert_eq!(records(&db, &session.certificate_id, ChangeKind::Cancelled).await, 1);
    assert_eq!(records(&db, &session.certificate_id, ChangeKind::FilingReturned).await, 1);
}

#[tokio::test]
async fn r23_bad_forms_users_and_other_authorities_are_refused_and_nothing_is_written() {
    let db = open_test_db().await;
    let (staff, fm, session) = institution(&db, "北京市边界研究院").await;

    // Every bad field at once.
    let bad = FilingForm::AnnualReport(AnnualReport {
        year: 2026,
        net_assets_start: "12.345".into(),
        assets_end: "abc".into(),
        ..AnnualReport::default()
    });
    let Err(Error::Domain(DomainError::Validation(fields))) = filing::prepare(&db, &session, &bad, T0).await else {
        panic!("a bad report is refused");
    };
    let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    for f in ["year", "activities", "net_assets_start", "assets_end", "litigation"] {
        assert!(named.contains(&f), "{f} in {named:?}");
    }
    // A change that changes nothing.
    let nothing = FilingForm::Change(ChangeForm { reason: "无".into(), ..ChangeForm::default() });
    assert!(matches!(domain(filing::prepare(&db, &session, &nothing, T0).await), DomainError::Validation(_)));

    // A user does not file (R23: managers).
    let user = crate::delegation::member(&db, &fm, Role::User, "赵六", 5).await;
    let user_caller = user.caller(&db).await;
    assert_eq!(domain(filing::prepare(&db, &user_caller, &report(2025), T0).await), DomainError::NotAManager);

    // The document names the institution as it stands: renamed after the phone approved, the
    // approval files nothing.
    let form = report(2025);
    let prepared = filing::prepare(&db, &session, &form, T0).await.unwrap();
    let act = Action::SubmitFiling { form: form.clone(), digest: prepared.digest.clone() };
    let asked = approval::ask(&db, &session, &act, &Requester::default(), T0, &Random::os()).await.unwrap();
    phone_answers(&db, &fm, asked.code.expose(), Some(&asked.match_code)).await.unwrap();
    let rename = ecert_core::changes::ChangeRequest::Rename { name: "北京市边界研究总院".into() };
    let (identity, policy, random) = (IdentityVerifier::Local, IssuePolicy::default(), Random::os());
    ecert_core::changes::apply(&db, &staff, &session.certificate_id, &rename, &identity, policy, T0, &random)
        .await
        .unwrap();
    let mut caller = session.clone();
    caller.bring_approval(Some(asked.id));
    let e = filing::submit(&db, &caller, &form, &prepared.digest, T0, &Random::os()).await;
    assert_eq!(domain(e), DomainError::ApprovalRequired);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM filing WHERE certificate_id = $1", &session.certificate_id).await, 0);

    // Staff of another authority neither see nor review it.
    let filed = file(&db, &fm, &session, &form).await.unwrap();
    let stranger = staff_view(&db).await;
    assert_eq!(domain(filing::detail(&db, &stranger, &filed.id).await), DomainError::NotFound);
    assert_eq!(domain(approve(&db, &stranger, &filed.id, Checklist::default()).await), DomainError::NotFound);
    assert!(filing::queue(&db, &stranger, None).await.unwrap().is_empty());
    assert_eq!(filing::queue(&db, &staff, Some(FilingStatus::Submitted)).await.unwrap().len(), 1);
}

#[tokio::test]
async fn r23_two_reviews_at_once_decide_a_filing_once() {
    let db = open_test_db().await;
    let (staff, fm, session) = institution(&db, "北京市并发研究院").await;
    let filed = file(&db, &fm, &session, &FilingForm::Reissue { reason: "法人证书正本遗失".into() }).await.unwrap();
    let (a, b) = tokio::join!(approve(&db, &staff, &filed.id, Checklist::default()), async {
        filing::send_back(&db, &staff, &filed.id, "材料不全", IssuePolicy::default(), T0, &Random::os()).await
    });
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1, "{a:?} {b:?}");
    let decided = "SELECT COUNT(*) FROM change_record WHERE certificate_id = $1 AND kind IN ('filing_approved', 'filing_returned')";
    assert_eq!(count(&db, decided, &session.certificate_id).await, 1);
}

#[tokio::test]
async fn r23_the_same_year_filed_twice_at_once_lands_once() {
    let db = open_test_db().await;
    let (_, fm, session) = institution(&db, "北京市同时研究院").await;
    let form = report(2025);
    let prepared = filing::prepare(&db, &session, &form, T0).await.unwrap();
    let mut callers = Vec::new();
    for _ in 0..2 {
        let act = Action::SubmitFiling { form: form.clone(), digest: prepared.digest.clone() };
        let asked = approval::ask(&db, &session, &act, &Requester::default(), T0, &Random::os()).await.unwrap();
        phone_answers(&db, &fm, asked.code.expose(), Some(&asked.match_code)).await.unwrap();
        let mut caller = session.clone();
        caller.bring_approval(Some(asked.id));
        callers.push(caller);
    }
    let random = Random::os();
    let (a, b) = tokio::join!(
        filing::submit(&db, &callers[0], &form, &prepared.digest, T0, &random),
        filing::submit(&db, &callers[1], &form, &prepared.digest, T0, &random)
    );
    let refused: Vec<DomainError> = [a, b].into_iter().filter_map(|r| r.err()).map(|e| domain::<()>(Err(e))).collect();
    assert_eq!(refused, [DomainError::AlreadyExists { field: "annual_report".into() }]);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM filing WHERE certificate_id = $1", &session.certificate_id).await, 1);
}

#[tokio::test]
async fn r23_r8_a_filing_is_not_approved_once_its_filer_is_removed_or_the_institution_changed() {
    let db = open_test_db().await;
    let (staff, fm, fm_session) = institution(&db, "北京市撤回研究院").await;
    let m1 = crate::delegation::member(&db, &fm, Role::Manager, "李四", 2).await;
    let (_, m1_session) = session_caller(&db, &m1).await;
    let filed = file(&db, &m1, &m1_session, &FilingForm::Cancellation { reason: "撤销".into() }).await.unwrap();

    // The first manager removes M1 (R8): M1's filing is not approved, the certificate stays.
    let fm_phone = fm.caller(&db).await;
    ecert_core::holder::remove(&db, &fm_phone, &m1.binding.holder_id, T0, &Random::os()).await.unwrap();
    assert_eq!(domain(approve(&db, &staff, &filed.id, Checklist::default()).await), DomainError::InvalidState);
    let active = "SELECT COUNT(*) FROM certificate WHERE id = $1 AND status = 'active'";
    assert_eq!(count(&db, active, &fm_session.certificate_id).await, 1);
    let (policy, random) = (IssuePolicy::default(), Random::os());
    filing::send_back(&db, &staff, &filed.id, "申报人已不再是管理人", policy, T0, &random).await.unwrap();

    // A filing signed before a counter rename names the old institution: not approved either.
    let form = FilingForm::Change(ChangeForm {
        address: "北京市海淀区中关村大街2号".into(),
        reason: "迁址".into(),
        ..ChangeForm::default()
    });
    let moved = file(&db, &fm, &fm_session, &form).await.unwrap();
    let rename = ecert_core::changes::ChangeRequest::Rename { name: "北京市撤回研究总院".into() };
    let identity = IdentityVerifier::Local;
    ecert_core::changes::apply(&db, &staff, &fm_session.certificate_id, &rename, &identity, policy, T0, &random)
        .await
        .unwrap();
    assert_eq!(domain(approve(&db, &staff, &moved.id, Checklist::default()).await), DomainError::InvalidState);
    let address: String = db
        .fetch_one(
            ecert_core::store::query(
                "SELECT i.address FROM certificate c JOIN institution i ON i.id = c.institution_id WHERE c.id = $1",
            )
            .bind(&fm_session.certificate_id),
        )
        .await
        .unwrap();
    assert_eq!(address, "北京市海淀区中关村大街1号", "nothing of the stale filing applied");
}

#[tokio::test]
async fn r23_a_user_granted_the_registration_business_signs_in_and_files_until_the_grant_ends() {
    let db = open_test_db().await;
    let (staff, fm, _) = institution(&db, "北京市授权申报研究院").await;
    let fm_phone = fm.caller(&db).await;
    let matter = ecert_core::holder::registration_matter(&fm_phone.authority_id);
    let grant = ecert_core::holder::GrantInput {
        matter_ids: vec![matter],
        start_day: "2026-01-01".into(),
        end_day: "2026-06-30".into(),
    };
    let person = PersonInput { name: "赵六".into(), id_number: resident_id(5), mobile: "13912345678".into() };
    let random = Random::os();
    let added = ecert_core::holder::add(
        &db,
        &fm_phone,
        Role::User,
        &person,
        Some(&grant),
        &IdentityVerifier::Local,
        T0,
        &random,
    )
    .await
    .unwrap();
    let u = ecert_testing::accept(&db, CodeKind::Authorize, added.code.expose(), "赵六", 5, T0).await;
    let user = Member { phone: u.phone, binding: u.binding };

    // Granted 登记业务, the user signs in to the dashboard (R23) and files.
    let (_, session) = session_caller(&db, &user).await;
    assert_eq!(session.role, Role::User);
    let reissue = FilingForm::Reissue { reason: "法人证书正本损毁".into() };
    let filed = file(&db, &user, &session, &reissue).await.unwrap();
    approve(&db, &staff, &filed.id, Checklist::default()).await.unwrap();

    // The grant cancelled, the same session files nothing more.
    let listed = ecert_core::holder::list(&db, &fm_phone, T0).await.unwrap();
    let grant_id = listed.iter().find(|h| h.id == user.binding.holder_id).unwrap().grants[0].id.clone();
    ecert_core::holder::cancel_grant(&db, &fm_phone, &grant_id, T0, &random).await.unwrap();
    let e = filing::prepare(&db, &session, &report(2025), T0).await;
    assert_eq!(domain(e), DomainError::NotAManager);
    assert_eq!(domain(filing::mine(&db, &session, T0).await), DomainError::NotAManager);
}

#[tokio::test]
async fn r23_reports_approved_in_the_same_millisecond_page_without_gaps_or_repeats() {
    let db = open_test_db().await;
    let (staff, fm, session) = institution(&db, "北京市分页研究院").await;
    for year in [2023, 2024, 2025] {
        let filed = file(&db, &fm, &session, &report(year)).await.unwrap();
        approve(&db, &staff, &filed.id, Checklist::default()).await.unwrap();
    }
    let code = filing::prepare(&db, &session, &report(2022), T0).await.unwrap().document.credit_code;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..4 {
        let page = filing::published_page(&db, &code, after.as_deref(), 1).await.unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.cursor());
        seen.extend(page.iter().map(|r| r.year));
    }
    seen.sort_unstable();
    assert_eq!(seen, [2023, 2024, 2025], "all three, once each, though approved at the same instant");
    let e = filing::published(&db, &code, Some("not-a-cursor")).await;
    assert!(matches!(domain(e), DomainError::Validation(_)));
}
