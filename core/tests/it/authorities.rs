//! Issue 15 §1, R22: authorities at every level create the ones below them with a first
//! administrator; staff hold duties (administrator, operator, auditor) that are checked again
//! inside every write; a disabled member or a reset password ends their sessions; every staff
//! action is in the auditor's log.

use ecert_core::authority::{self, Level, NewAuthority};
use ecert_core::bootstrap::{self, FirstStart};
use ecert_core::certificate::{self, FirstManagerChoice, IssuePolicy, IssueRequest, PersonInput};
use ecert_core::identity::IdentityVerifier;
use ecert_core::secret::{Random, Secret};
use ecert_core::staff::{self, Duties, NewMember, StaffView};
use ecert_core::store::Db;
use ecert_core::{DomainError, Millis, Problem};
use ecert_testing::{open_private_test_db, resident_id};

use crate::support::{T0, domain};

const ADMIN_PASSWORD: &str = "national admin password";

/// A database of its own (authority codes are unique in it) with its national authority and
/// that authority's first administrator, signed in.
pub(crate) async fn nation() -> (Db, StaffView) {
    let db = open_private_test_db().await;
    let first = FirstStart {
        authority_name: "国家事业单位登记管理局".into(),
        region_code: "100000".into(),
        admin_username: "admin".into(),
        admin_password: Some(Secret::new(ADMIN_PASSWORD)),
    };
    bootstrap::ensure_first_authority(&db, &first, T0, &Random::os()).await.unwrap();
    let admin = sign_in(&db, "admin", ADMIN_PASSWORD).await;
    (db, admin)
}

pub(crate) async fn sign_in(db: &Db, username: &str, password: &str) -> StaffView {
    let session = staff::sign_in(db, username, Secret::new(password), T0, &Random::os()).await.unwrap();
    staff::current(db, session.token.expose(), T0).await.unwrap().unwrap()
}

/// `admin` creates an authority below their own; answers its administrator, signed in.
pub(crate) async fn below(db: &Db, admin: &StaffView, region: &str, name: &str, username: &str) -> StaffView {
    let request = NewAuthority {
        name: name.into(),
        region_code: region.into(),
        admin_username: username.into(),
        admin_display_name: "王五".into(),
    };
    let made = authority::create_child(db, admin, &request, T0, &Random::os()).await.unwrap();
    assert_eq!(made.admin_username, username);
    sign_in(db, username, made.admin_password.expose()).await
}

/// `admin` adds a member with `duties`; answers them, signed in.
pub(crate) async fn member(db: &Db, admin: &StaffView, username: &str, duties: Duties) -> StaffView {
    let request = NewMember { username: username.into(), display_name: "赵六".into(), duties };
    let password = staff::add(db, admin, &request, T0, &Random::os()).await.unwrap();
    sign_in(db, username, password.expose()).await
}

pub(crate) const OPERATOR: Duties = Duties { administer: false, operate: true, audit: false };
pub(crate) const AUDITOR: Duties = Duties { administer: false, operate: false, audit: true };

/// A public institution's credit code registered in `division`.
pub(crate) fn code_in(division: &str) -> String {
    let mut digits = [0u8; 7];
    Random::os().fill(&mut digits);
    let tail: String = digits.iter().map(|d| char::from(b'0' + d % 10)).collect();
    code_ending(division, &tail)
}

/// The credit code of an institution in `division` whose seven digits before the check
/// character are `tail`.
fn code_ending(division: &str, tail: &str) -> String {
    let prefix = format!("12{division}MB{tail}");
    format!("{prefix}{}", ecert_core::validate::credit_code_check_char(&prefix).unwrap())
}

fn issue_request(credit_code: &str) -> IssueRequest {
    IssueRequest {
        credit_code: credit_code.into(),
        name: "深圳市南山区第一实验学校".into(),
        address: "深圳市南山区学府路1号".into(),
        legal_rep: PersonInput { name: "李四".into(), id_number: resident_id(151), mobile: "13812345678".into() },
        first_manager: FirstManagerChoice::LegalRepresentative,
        checklist: ecert_core::certificate::Checklist::ALL,
    }
}

pub(crate) async fn issue(db: &Db, staff: &StaffView, credit_code: &str) -> Result<String, ecert_core::Error> {
    let request = issue_request(credit_code);
    certificate::issue(db, staff, &request, &IdentityVerifier::Local, IssuePolicy::default(), T0, &Random::os())
        .await
        .map(|(serial, _)| serial)
}

#[tokio::test]
async fn r22_a_province_creates_a_county_whose_operator_issues_within_its_area_only() {
    let (db, national) = nation().await;
    assert_eq!(national.authority_level, Level::National);
    assert!(national.duties.administer && national.duties.operate, "the first administrator can issue at once");
    let province = below(&db, &national, "440000", "广东省事业单位登记管理局", "gd-admin").await;
    assert_eq!(province.authority_level, Level::Provincial);
    let county = below(&db, &province, "440305", "深圳市南山区事业单位登记管理局", "ns-admin").await;
    assert_eq!(county.authority_level, Level::County);
    assert!(county.duties.administer && !county.duties.operate, "a created administrator only administers");

    // The county's administrator does not issue; their operator does, within the county.
    let code = code_in("440305");
    assert_eq!(domain(issue(&db, &county, &code).await), DomainError::Forbidden);
    let operator = member(&db, &county, "ns-operator", OPERATOR).await;
    let serial = issue(&db, &operator, &code).await.unwrap();
    assert!(serial.starts_with("EC"));
    let outside = domain(issue(&db, &operator, &code_in("440306")).await);
    assert_eq!(outside, DomainError::field("credit_code", Problem::OutsideDivision));
    let company = "91440305MA5DA0KX0X";
    let company =
        format!("{}{}", &company[..17], ecert_core::validate::credit_code_check_char(&company[..17]).unwrap());
    assert_eq!(
        domain(issue(&db, &operator, &company).await),
        DomainError::field("credit_code", Problem::NotPublicInstitution)
    );

    // The province sees the county and its count, not its certificates.
    let children = authority::children(&db, &province).await.unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!((children[0].region_code.as_str(), children[0].certificates, children[0].staff), ("440305", 1, 2));
    let listed = certificate::list(&db, &province, "", 50, ecert_core::Millis::now()).await.unwrap();
    assert!(listed.is_empty(), "no personal data of the county reaches the province");
}

#[tokio::test]
async fn r22_authorities_are_created_only_below_and_inside() {
    let (db, national) = nation().await;
    let province = below(&db, &national, "440000", "广东省事业单位登记管理局", "gd-admin").await;
    let refused = |region: &str| NewAuthority {
        name: "某局".into(),
        region_code: region.into(),
        admin_username: format!("u{region}"),
        admin_display_name: "王五".into(),
    };
    for region in ["450100", "440000", "100000"] {
        let e = domain(authority::create_child(&db, &province, &refused(region), T0, &Random::os()).await);
        assert_eq!(e, DomainError::field("region_code", Problem::OutsideDivision), "{region}");
    }
    let taken = domain(authority::create_child(&db, &national, &refused("440000"), T0, &Random::os()).await);
    assert_eq!(taken, DomainError::AlreadyExists { field: "region_code".into() });
    let county = below(&db, &province, "440305", "南山区局", "ns-admin").await;
    let e = domain(authority::create_child(&db, &county, &refused("440305"), T0, &Random::os()).await);
    assert_eq!(e, DomainError::field("region_code", Problem::OutsideDivision), "nothing is below a county");
    // An operator does not create authorities, even below their own.
    let operator = member(&db, &province, "gd-operator", OPERATOR).await;
    let e = domain(authority::create_child(&db, &operator, &refused("440100"), T0, &Random::os()).await);
    assert_eq!(e, DomainError::Forbidden);
    let a_name_taken = NewAuthority { admin_username: "gd-operator".into(), ..refused("440100") };
    let e = domain(authority::create_child(&db, &province, &a_name_taken, T0, &Random::os()).await);
    assert_eq!(e, DomainError::AlreadyExists { field: "username".into() });
    assert_eq!(authority::children(&db, &province).await.unwrap().len(), 1, "the refusals made nothing");
}

#[tokio::test]
async fn r22_duties_are_checked_again_inside_each_write() {
    let (db, national) = nation().await;
    let auditor = member(&db, &national, "auditor-1", AUDITOR).await;
    let operator = member(&db, &national, "operator-1", OPERATOR).await;
    let random = Random::os();
    assert_eq!(domain(issue(&db, &auditor, &code_in("110105")).await), DomainError::Forbidden);
    let add = NewMember { username: "x-1".into(), display_name: "钱七".into(), duties: OPERATOR };
    assert_eq!(domain(staff::add(&db, &operator, &add, T0, &random).await), DomainError::Forbidden);
    assert_eq!(domain(staff::members(&db, &operator, T0).await), DomainError::Forbidden);
    assert_eq!(domain(staff::actions(&db, &operator, (None, None), 10).await), DomainError::Forbidden);
    let both = NewMember { duties: Duties { audit: true, operate: true, administer: false }, ..add.clone() };
    let e = domain(staff::add(&db, &national, &both, T0, &random).await);
    assert_eq!(e, DomainError::field("duties", Problem::OutOfRange), "an auditor holds no other duty");

    // A view the page still holds after the member was disabled writes nothing: the duty is
    // read again inside the transaction.
    let stale = operator.clone();
    staff::set_disabled(&db, &national, &operator.id, true, T0, &random).await.unwrap();
    assert_eq!(domain(issue(&db, &stale, &code_in("110105")).await), DomainError::Forbidden);
    // The same for a view that claims a duty the member never had.
    let claimed = StaffView { duties: Duties { administer: true, ..auditor.duties }, ..auditor.clone() };
    assert_eq!(domain(staff::add(&db, &claimed, &add, T0, &random).await), DomainError::Forbidden);
}

#[tokio::test]
async fn r22_disabling_or_resetting_ends_sessions_and_an_administrator_cannot_disable_themself() {
    let (db, national) = nation().await;
    let random = Random::os();
    let request = NewMember { username: "op-2".into(), display_name: "孙八".into(), duties: OPERATOR };
    let password = staff::add(&db, &national, &request, T0, &random).await.unwrap();
    let session = staff::sign_in(&db, "op-2", password.clone(), T0, &random).await.unwrap();
    let id = staff::current(&db, session.token.expose(), T0).await.unwrap().unwrap().id;

    staff::set_disabled(&db, &national, &id, true, T0, &random).await.unwrap();
    assert!(staff::current(&db, session.token.expose(), T0).await.unwrap().is_none(), "the session ended");
    assert_eq!(
        domain(staff::sign_in(&db, "op-2", password.clone(), T0, &random).await),
        DomainError::InvalidCredentials
    );
    staff::set_disabled(&db, &national, &id, false, T0, &random).await.unwrap();
    let session = staff::sign_in(&db, "op-2", password.clone(), T0, &random).await.unwrap();

    let fresh = staff::reset_password(&db, &national, &id, T0, &random).await.unwrap();
    assert!(staff::current(&db, session.token.expose(), T0).await.unwrap().is_none(), "the session ended");
    assert_eq!(domain(staff::sign_in(&db, "op-2", password, T0, &random).await), DomainError::InvalidCredentials);
    staff::sign_in(&db, "op-2", fresh, T0, &random).await.unwrap();

    assert_eq!(
        domain(staff::set_disabled(&db, &national, &national.id, true, T0, &random).await),
        DomainError::Forbidden
    );
    let members = staff::members(&db, &national, T0).await.unwrap();
    assert_eq!(members.iter().map(|m| m.username.as_str()).collect::<Vec<_>>(), ["admin", "op-2"]);
    assert!(members.iter().all(|m| !m.disabled && !m.locked));
}

#[tokio::test]
async fn r22_a_county_administers_its_own_staff_only() {
    let (db, national) = nation().await;
    let random = Random::os();
    let province = below(&db, &national, "440000", "广东省局", "gd-admin").await;
    let nanshan = below(&db, &province, "440305", "南山区局", "ns-admin").await;
    let futian = below(&db, &province, "440304", "福田区局", "ft-admin").await;
    let e = domain(staff::set_disabled(&db, &futian, &nanshan.id, true, T0, &random).await);
    assert_eq!(e, DomainError::NotFound, "a sibling's staff are not found");
    assert_eq!(domain(staff::reset_password(&db, &province, &nanshan.id, T0, &random).await), DomainError::NotFound);
    assert_eq!(authority::children(&db, &nanshan).await.unwrap(), []);
}

#[tokio::test]
async fn r22_every_staff_action_is_in_the_auditors_log_and_its_csv() {
    let (db, national) = nation().await;
    let auditor = member(&db, &national, "auditor-2", AUDITOR).await;
    let operator = member(&db, &national, "op-3", OPERATOR).await;
    issue(&db, &operator, &code_in("110105")).await.unwrap();
    below(&db, &national, "540000", "西藏自治区局", "xz-admin").await;
    let lines = staff::actions(&db, &auditor, (None, None), 100).await.unwrap();
    let seen: Vec<(&str, &str)> = lines.iter().map(|l| (l.username.as_str(), l.action.as_str())).collect();
    for expected in
        [("", "staff_add"), ("admin", "staff_add"), ("op-3", "certificate_issue"), ("admin", "authority_create")]
    {
        assert!(seen.contains(&expected), "{expected:?} in {seen:?}");
    }
    assert!(lines.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    let csv = staff::actions_csv(&db, &auditor, (None, None)).await.unwrap();
    assert!(csv.starts_with("time_cst,username,action,target_kind,target_id,detail\r\n"), "{csv}");
    assert!(csv.contains(",op-3,certificate_issue,certificate,"), "{csv}");
    // Only lines of the auditor's own authority, and only within the range.
    assert!(staff::actions(&db, &auditor, (Some(T0.0 + 1), None), 100).await.unwrap().is_empty());
}

/// Issues `count` certificates in Chaoyang, the `n`th named 北京市第n研究所 and issued at `at(n)`;
/// answers each one's credit code and serial, in issue order. The `n`th's credit code ends in
/// `n`, so that no two collide: a hundred random ones of 10^7 did, once in a few thousand runs.
async fn issue_numbered(db: &Db, staff: &StaffView, count: i64, at: impl Fn(i64) -> Millis) -> Vec<(String, String)> {
    let mut issued = Vec::new();
    for n in 0..count {
        let code = code_ending("110105", &format!("{n:07}"));
        let request = IssueRequest { name: format!("北京市第{n}研究所"), ..issue_request(&code) };
        let policy = IssuePolicy::default();
        let (serial, _) =
            certificate::issue(db, staff, &request, &IdentityVerifier::Local, policy, at(n), &Random::os())
                .await
                .unwrap();
        issued.push((code, serial));
    }
    issued
}

#[tokio::test]
async fn issue15_the_fifty_first_certificate_is_found_by_name_code_or_serial_and_paged_to() {
    use ecert_core::certificate::{CertificateQuery, PER_PAGE, search};
    let (db, national) = nation().await;
    let issued = issue_numbered(&db, &national, PER_PAGE + 1, |n| T0.plus_minutes(n)).await;
    let (code, serial) = issued[0].clone();
    let all = |page| CertificateQuery { page, ..CertificateQuery::default() };
    let front = search(&db, &national, &all(0), ecert_core::Millis::now()).await.unwrap();
    assert_eq!((front.total, front.items.len() as i64), (PER_PAGE + 1, PER_PAGE));
    assert_eq!(front.items[0].institution_name, format!("北京市第{PER_PAGE}研究所"), "newest first");
    let second = search(&db, &national, &all(1), ecert_core::Millis::now()).await.unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.items[0].credit_code, code, "the oldest is on the second page");
    let find = |text: &str| CertificateQuery { text: text.into(), ..CertificateQuery::default() };
    // Parts and wholes: a whole code (18) or serial (20) is looked up by its key, in any case.
    let (whole_code, whole_serial) = (code.to_lowercase(), serial.to_lowercase());
    assert_eq!((code.len(), serial.len()), (18, 20));
    for text in [
        "第0研究所",
        &code[10..],
        &code[10..17].to_lowercase(),
        &code,
        &whole_code,
        &serial,
        &whole_serial,
        &serial[10..].to_lowercase(),
    ] {
        let found = search(&db, &national, &find(text), ecert_core::Millis::now()).await.unwrap();
        assert!(found.items.iter().any(|c| c.credit_code == code), "{text}");
        assert!(found.total >= 1 && found.total <= PER_PAGE + 1);
    }
    assert_eq!(search(&db, &national, &find("第0研究所"), ecert_core::Millis::now()).await.unwrap().total, 1);
    assert_eq!(search(&db, &national, &find(&code), ecert_core::Millis::now()).await.unwrap().total, 1);
    assert_eq!(search(&db, &national, &find(&whole_serial), ecert_core::Millis::now()).await.unwrap().total, 1);
    // Parts of six characters or more go through PostgreSQL's gram indexes (migration 0034):
    // each finds its one certificate, and a part no identifier holds finds none.
    for part in [&code[8..], &code[6..], &serial[2..16]] {
        assert_eq!(search(&db, &national, &find(part), ecert_core::Millis::now()).await.unwrap().total, 1, "{part}");
    }
    assert_eq!(
        search(&db, &national, &find(&format!("{}Y", &code[10..])), ecert_core::Millis::now()).await.unwrap().total,
        0
    );
    // One character more than a serial: neither a code nor a serial, and no name has it.
    assert_eq!(search(&db, &national, &find(&format!("{serial}0")), ecert_core::Millis::now()).await.unwrap().total, 0);
    assert_eq!(
        search(&db, &national, &find("%"), ecert_core::Millis::now()).await.unwrap().total,
        PER_PAGE + 1,
        "wildcards are plain text"
    );
    let cancelled = CertificateQuery { status: "cancelled".into(), ..CertificateQuery::default() };
    assert_eq!(search(&db, &national, &cancelled, ecert_core::Millis::now()).await.unwrap().total, 0);
    let bad = CertificateQuery { status: "lost".into(), ..CertificateQuery::default() };
    assert_eq!(
        domain(search(&db, &national, &bad, ecert_core::Millis::now()).await),
        DomainError::field("status", Problem::BadFormat)
    );
}

/// Issue 15 §2: a page reached from the previous page's cursor (keyset paging: the deepest page
/// costs what the first does) is the page counting from the top gives, ties in issue time
/// included; every certificate is on exactly one page; a cursor the server did not make is
/// refused.
#[tokio::test]
async fn issue15_pages_walked_by_cursor_are_the_counted_pages_with_ties_and_nothing_twice() {
    use ecert_core::certificate::{CertificateQuery, PER_PAGE, search};
    let (db, national) = nation().await;
    let issued = 2 * PER_PAGE + 5;
    // Four at a time share an issue instant: the order must still be total.
    issue_numbered(&db, &national, issued, |n| T0.plus_minutes(n / 4)).await;
    let now = ecert_core::Millis::now();
    let mut after = String::new();
    let mut walked = Vec::new();
    for page in 0..3 {
        let counted = CertificateQuery { page, ..CertificateQuery::default() };
        let counted = search(&db, &national, &counted, now).await.unwrap();
        let keyed = CertificateQuery { page, after: after.clone(), ..CertificateQuery::default() };
        let keyed = search(&db, &national, &keyed, now).await.unwrap();
        let ids = |p: &ecert_core::certificate::CertificatePage| {
            p.items.iter().map(|c| c.certificate_id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&keyed), ids(&counted), "page {page}");
        assert_eq!((keyed.page, keyed.total), (page, issued));
        assert!(keyed.items.windows(2).all(|w| w[0].issued_at >= w[1].issued_at), "newest first");
        walked.extend(ids(&keyed));
        after = keyed.next.clone();
        assert_eq!(after.is_empty(), page == 2, "a full page says where the next starts; the last says none");
    }
    assert_eq!(walked.len() as i64, issued);
    walked.sort();
    walked.dedup();
    assert_eq!(walked.len() as i64, issued, "no certificate on two pages");
    for bad in ["x", "12.", "12.a b", "-.abc", &format!("1.{}", "a".repeat(65))] {
        let q = CertificateQuery { after: bad.into(), ..CertificateQuery::default() };
        assert_eq!(
            domain(search(&db, &national, &q, now).await),
            DomainError::field("after", Problem::BadFormat),
            "{bad}"
        );
    }
}

/// Issue 15 §2: before a destructive change the console names what it voids.
#[tokio::test]
async fn issue15_a_destructive_change_names_what_it_voids() {
    use ecert_core::changes::{self, ChangeRequest, Impact};
    use ecert_core::holder::{self, GrantInput, Role};
    let db = ecert_testing::open_test_db().await;
    let (staff, _) = ecert_testing::staff(&db, T0).await;
    let fm = ecert_testing::first_manager(&db, &staff, "北京市影响测试研究院", "张三", 161, T0).await;
    let today = ecert_core::time::today_cst(T0);
    let matter = holder::catalogue(&db, &staff.authority_id).await.unwrap()[0].id.clone();
    let grant = GrantInput {
        matter_ids: vec![matter],
        start_day: ecert_core::time::format_day(today),
        end_day: ecert_core::time::format_day(today + 30),
    };
    let m = ecert_testing::member(&db, &fm, Role::Manager, "李四", 162, None, T0).await;
    ecert_testing::member(&db, &m, Role::User, "王五", 163, Some(&grant), T0).await;
    ecert_testing::member(&db, &fm, Role::User, "赵六", 164, Some(&grant), T0).await;
    let certificate_id = fm.binding.certificate_id.clone();
    let impact = changes::impact(&db, &staff, &certificate_id, T0).await.unwrap();
    assert_eq!(impact, Impact { first_managers: 1, managers: 1, users: 2, grants: 2 });
    // Grants past their end are not counted; another authority learns nothing.
    let later = T0.plus_minutes(40 * 24 * 60);
    assert_eq!(changes::impact(&db, &staff, &certificate_id, later).await.unwrap().grants, 0);
    let (other, _) = ecert_testing::staff(&db, T0).await;
    assert_eq!(domain(changes::impact(&db, &other, &certificate_id, T0).await), DomainError::Forbidden);
    assert!(ChangeRequest::Cancel.is_destructive() && !ChangeRequest::Rename { name: "x".into() }.is_destructive());
}

/// Issue 15 §2: an institution whose certificate was cancelled (or deleted) is issued a new
/// one; while one is active, another is refused. Both stay on record.
#[tokio::test]
async fn issue15_a_cancelled_institution_is_issued_a_new_certificate() {
    use ecert_core::certificate::{CertificateQuery, search};
    use ecert_core::changes::{self, ChangeRequest};
    let (db, national) = nation().await;
    let code = code_in("110105");
    let first = issue(&db, &national, &code).await.unwrap();
    let again = domain(issue(&db, &national, &code).await);
    assert_eq!(again, DomainError::AlreadyExists { field: "credit_code".into() });
    let found = search(
        &db,
        &national,
        &CertificateQuery { text: code.clone(), ..Default::default() },
        ecert_core::Millis::now(),
    )
    .await
    .unwrap();
    let id = found.items[0].certificate_id.clone();
    let policy = IssuePolicy::default();
    let later = T0.plus_minutes(1);
    changes::apply(&db, &national, &id, &ChangeRequest::Cancel, &IdentityVerifier::Local, policy, later, &Random::os())
        .await
        .unwrap();
    // The cancelled certificate's page stays readable, with its history.
    let page = certificate::detail(&db, &national, &id, ecert_core::Millis::now()).await.unwrap();
    assert_eq!(page.certificate.status.as_sql(), "cancelled");
    let kinds: Vec<&str> = page.changes.iter().map(|c| c.kind.as_sql()).collect();
    assert_eq!(kinds, ["cancelled", "issued"]);
    assert!(page.changes.iter().all(|c| c.by_staff));
    assert_eq!(page.holders.len(), 1);
    assert_eq!(page.holders[0].name, "李*", "masked");
    let second = issue(&db, &national, &code).await.unwrap();
    assert_ne!(first, second, "a new serial");
    let found = search(
        &db,
        &national,
        &CertificateQuery { text: code.clone(), ..Default::default() },
        ecert_core::Millis::now(),
    )
    .await
    .unwrap();
    let mut statuses: Vec<(String, &str)> = found.items.iter().map(|c| (c.serial.clone(), c.status.as_sql())).collect();
    statuses.sort();
    let mut expected = vec![(first, "cancelled"), (second, "active")];
    expected.sort();
    assert_eq!(statuses, expected);
    assert_eq!(domain(issue(&db, &national, &code).await), DomainError::AlreadyExists { field: "credit_code".into() });
}

/// Issue 15 §2: a legal-representative change gives the certificate a new serial; the old one
/// stays in the action log.
#[tokio::test]
async fn issue15_a_new_legal_representative_brings_a_new_serial_and_the_old_one_is_kept() {
    use ecert_core::certificate::{CertificateQuery, PersonInput, search};
    use ecert_core::changes::{self, ChangeRequest};
    let (db, national) = nation().await;
    let auditor = member(&db, &national, "auditor-3", AUDITOR).await;
    let code = code_in("110105");
    let old = issue(&db, &national, &code).await.unwrap();
    let query = CertificateQuery { text: code.clone(), ..Default::default() };
    let id = search(&db, &national, &query, ecert_core::Millis::now()).await.unwrap().items[0].certificate_id.clone();
    let request = ChangeRequest::LegalRepresentative {
        legal_rep: PersonInput { name: "周九".into(), id_number: resident_id(152), mobile: "13912345678".into() },
        first_manager: FirstManagerChoice::LegalRepresentative,
        checklist: ecert_core::certificate::Checklist::ALL,
    };
    let policy = IssuePolicy::default();
    changes::apply(&db, &national, &id, &request, &IdentityVerifier::Local, policy, T0, &Random::os()).await.unwrap();
    let now = search(&db, &national, &query, ecert_core::Millis::now()).await.unwrap().items[0].serial.clone();
    assert_ne!(now, old);
    let log = staff::actions(&db, &auditor, (None, None), 10).await.unwrap();
    let line = log.iter().find(|l| l.action == "change_legal_rep").unwrap();
    assert_eq!(line.detail, format!("{old} → {now}"));
    assert_eq!(line.target_id, id);
}

/// Issue 15 §2: relying parties and counters are suspended, resumed, re-keyed and re-addressed,
/// each recorded; a suspended party signs nobody in and its counters verify nothing.
#[tokio::test]
async fn issue15_parties_and_counters_are_administered_and_recorded() {
    use ecert_core::party::{self, PartyChange, PartyInput};
    let (db, national) = nation().await;
    let auditor = member(&db, &national, "auditor-4", AUDITOR).await;
    let operator = member(&db, &national, "op-4", OPERATOR).await;
    let random = Random::os();
    let input = PartyInput { name: "测试银行".into(), redirect_uris: String::new() };
    let shown = party::register(&db, &national, &input, T0, &random).await.unwrap();
    let counter = party::add_counter(&db, &national, &shown.login, "一号窗口", T0, &random).await.unwrap();
    let sign_in = |password: String| {
        let (db, username) = (db.clone(), counter.login.clone());
        async move { party::sign_in(&db, &username, Secret::new(password), T0, &Random::os()).await }
    };
    sign_in(counter.secret.clone()).await.unwrap();

    assert_eq!(
        domain(party::change_party(&db, &operator, &shown.login, &PartyChange::Suspend, T0, &random).await),
        DomainError::Forbidden
    );
    party::change_party(&db, &national, &shown.login, &PartyChange::Suspend, T0, &random).await.unwrap();
    assert!(party::authenticate(&db, &shown.login, &shown.secret).await.is_err(), "suspended: no sign-in");
    assert!(sign_in(counter.secret.clone()).await.is_err(), "nor its counters");
    party::change_party(&db, &national, &shown.login, &PartyChange::Resume, T0, &random).await.unwrap();
    party::authenticate(&db, &shown.login, &shown.secret).await.unwrap();

    let fresh = party::rotate_secret(&db, &national, &shown.login, T0, &random).await.unwrap();
    assert!(party::authenticate(&db, &shown.login, &shown.secret).await.is_err(), "the old secret is gone");
    party::authenticate(&db, &shown.login, &fresh.secret).await.unwrap();

    let bad = PartyChange::Redirects("javascript:alert(1)".into());
    assert!(matches!(
        domain(party::change_party(&db, &national, &shown.login, &bad, T0, &random).await),
        DomainError::Validation(_)
    ));
    let good = PartyChange::Redirects("https://bank.example/cb\nhttps://bank.example/cb2".into());
    party::change_party(&db, &national, &shown.login, &good, T0, &random).await.unwrap();
    let listed = party::list(&db, &national).await.unwrap();
    assert_eq!(listed[0].redirect_uris, ["https://bank.example/cb", "https://bank.example/cb2"]);

    let counter_id = listed[0].counters[0].id.clone();
    let reset = party::reset_counter_password(&db, &national, &counter_id, T0, &random).await.unwrap();
    assert!(sign_in(counter.secret.clone()).await.is_err(), "the old password is gone");
    sign_in(reset.secret.clone()).await.unwrap();

    let actions: Vec<String> =
        staff::actions(&db, &auditor, (None, None), 100).await.unwrap().into_iter().map(|l| l.action).collect();
    for a in [
        "party_register",
        "counter_add",
        "party_suspend",
        "party_resume",
        "party_rotate_secret",
        "party_redirects",
        "counter_reset",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

/// Issue 15 §2: an address change and a legal representative's mobile change are recorded and
/// void no one; bad input is refused with the field named and changes nothing.
#[tokio::test]
async fn issue15_address_and_legal_rep_mobile_changes_are_recorded_and_void_no_one() {
    use ecert_core::changes::{self, ChangeRequest};
    use ecert_core::holder::HolderStatus;
    let db = ecert_testing::open_test_db().await;
    let (staff, _) = ecert_testing::staff(&db, T0).await;
    ecert_testing::first_manager(&db, &staff, "北京市住所变更研究院", "张三", 181, T0).await;
    let id = certificate::list(&db, &staff, "住所变更", 1, ecert_core::Millis::now()).await.unwrap()[0]
        .certificate_id
        .clone();
    let apply_at = |request: ChangeRequest, minutes: i64| {
        let (db, staff, id) = (db.clone(), staff.clone(), id.clone());
        async move {
            let (policy, at) = (IssuePolicy::default(), T0.plus_minutes(minutes));
            changes::apply(&db, &staff, &id, &request, &IdentityVerifier::Local, policy, at, &Random::os()).await
        }
    };
    let apply = |request: ChangeRequest| apply_at(request, 1);
    let bad = domain(apply(ChangeRequest::RepMobile { mobile: "1234".into() }).await);
    assert_eq!(bad, DomainError::field("mobile", Problem::BadFormat));
    let empty = domain(apply(ChangeRequest::Address { address: "  ".into() }).await);
    assert_eq!(empty, DomainError::field("address", Problem::Required));
    let before = certificate::view(&db, &staff, &id, ecert_core::Millis::now()).await.unwrap();
    assert_eq!(before.address, "北京市海淀区中关村大街1号");

    assert!(apply(ChangeRequest::Address { address: "北京市西城区新街口1号".into() }).await.unwrap().is_none());
    assert!(apply_at(ChangeRequest::RepMobile { mobile: "13900001111".into() }, 2).await.unwrap().is_none());
    let after = certificate::detail(&db, &staff, &id, ecert_core::Millis::now()).await.unwrap();
    assert_eq!(after.certificate.address, "北京市西城区新街口1号");
    assert_eq!(after.certificate.legal_rep_mobile, "139****1111");
    assert_eq!(after.certificate.serial, before.serial, "the same certificate");
    assert_eq!(after.certificate.first_manager_status, Some(HolderStatus::Active), "no one voided");
    let kinds: Vec<&str> = after.changes.iter().map(|c| c.kind.as_sql()).collect();
    assert_eq!(&kinds[..2], ["rep_mobile_changed", "address_changed"]);
}

/// Issue 15 §2: an administrator keeps the authority's matters catalogue: adds a matter (its
/// Chinese name unique), retires one; a retired matter is offered for no new grant and stays
/// on the grants that name it. Operators and other authorities cannot touch it.
#[tokio::test]
async fn issue15_the_matters_catalogue_is_kept_per_authority() {
    use ecert_core::catalogue;
    use ecert_core::holder::{self, GrantInput, Role};
    let (db, national) = nation().await;
    let county = below(&db, &national, "110105", "朝阳区事业单位登记管理局", "cat-admin").await;
    let operator = member(&db, &county, "cat-operator", OPERATOR).await;
    let random = Random::os();
    let id = catalogue::add(&db, &county, "公积金", "Housing fund", T0, &random).await.unwrap();
    let again = domain(catalogue::add(&db, &county, " 公积金 ", "Again", T0, &random).await);
    assert_eq!(again, DomainError::AlreadyExists { field: "matter_name".into() });
    let empty = domain(catalogue::add(&db, &county, "", "x", T0, &random).await);
    assert_eq!(empty, DomainError::field("matter_name", Problem::Required));
    assert_eq!(domain(catalogue::add(&db, &operator, "医保", "x", T0, &random).await), DomainError::Forbidden);
    let offered = holder::catalogue(&db, &county.authority_id).await.unwrap();
    assert_eq!(offered.len(), 8, "the seven common matters (登记业务 among them) and the new one");

    // A user is granted the new matter; then it is retired.
    let fm = ecert_testing::first_manager(&db, &operator, "朝阳区事项测试院", "张三", 191, T0).await;
    let today = ecert_core::time::today_cst(T0);
    let grant = GrantInput {
        matter_ids: vec![id.clone()],
        start_day: ecert_core::time::format_day(today),
        end_day: ecert_core::time::format_day(today + 30),
    };
    ecert_testing::member(&db, &fm, Role::User, "李四", 192, Some(&grant), T0).await;
    assert_eq!(domain(catalogue::retire(&db, &national, &id, T0, &random).await), DomainError::NotFound);
    assert_eq!(domain(catalogue::retire(&db, &operator, &id, T0, &random).await), DomainError::Forbidden);
    catalogue::retire(&db, &county, &id, T0, &random).await.unwrap();
    assert_eq!(domain(catalogue::retire(&db, &county, &id, T0, &random).await), DomainError::InvalidState);
    let offered = holder::catalogue(&db, &county.authority_id).await.unwrap();
    assert!(offered.iter().all(|m| m.id != id), "no new grant names a retired matter");
    let lines = catalogue::lines(&db, &county, T0).await.unwrap();
    let line = lines.iter().find(|l| l.id == id).unwrap();
    assert!(line.retired);
    assert_eq!(line.grants, 1, "the grant keeps it");
    assert_eq!(lines.last().unwrap().id, id, "retired matters last");
    let auditor = member(&db, &county, "cat-auditor", AUDITOR).await;
    let log = staff::actions(&db, &auditor, (None, None), 10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|l| l.action.as_str()).collect();
    assert!(actions.contains(&"matter_add") && actions.contains(&"matter_retire"));
}

/// Issue 15 §2–3: the counter's papers checklist is required to issue, and every issue and
/// change leaves an archive package (form data, identity check, staff, time, checklist) with
/// the SHA-256 of its content, sealed at rest, exported as a file, purged after its retention.
#[tokio::test]
async fn issue15_every_issue_and_change_is_archived_with_its_hash() {
    use ecert_core::archive::{self, ArchiveContent, Package};
    use ecert_core::certificate::Checklist;
    use ecert_core::changes::{self, ChangeRequest};
    use ecert_core::store::query;
    let (db, national) = nation().await;
    let code = code_in("110105");
    let unchecked = IssueRequest { checklist: Checklist { licence: false, ..Checklist::ALL }, ..issue_request(&code) };
    let refused = certificate::issue(
        &db,
        &national,
        &unchecked,
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        T0,
        &Random::os(),
    )
    .await;
    assert_eq!(domain(refused), DomainError::field("checklist", Problem::Required));
    let delegate = IssueRequest {
        first_manager: FirstManagerChoice::Delegate(PersonInput {
            name: "赵六".into(),
            id_number: resident_id(153),
            mobile: "13712345678".into(),
        }),
        checklist: Checklist { authorization: false, ..Checklist::ALL },
        ..issue_request(&code)
    };
    let refused = certificate::issue(
        &db,
        &national,
        &delegate,
        &IdentityVerifier::Local,
        IssuePolicy::default(),
        T0,
        &Random::os(),
    )
    .await;
    assert_eq!(
        domain(refused),
        DomainError::field("checklist", Problem::Required),
        "a delegate needs the authorization"
    );

    issue(&db, &national, &code).await.unwrap();
    let id =
        certificate::list(&db, &national, &code, 1, ecert_core::Millis::now()).await.unwrap()[0].certificate_id.clone();
    let policy = IssuePolicy::default();
    let rename = ChangeRequest::Rename { name: "深圳市南山区第二实验学校".into() };
    changes::apply(&db, &national, &id, &rename, &IdentityVerifier::Local, policy, T0.plus_minutes(1), &Random::os())
        .await
        .unwrap();
    let lines = archive::list(&db, &national, &id).await.unwrap();
    let actions: Vec<&str> = lines.iter().map(|l| l.action.as_str()).collect();
    assert_eq!(actions, ["change_name", "certificate_issue"]);
    let thirty_years = lines[1].keep_until - lines[1].created_at;
    assert!(thirty_years >= 30 * 365 * ecert_core::Millis::DAY, "kept 30 years by default");

    // The exported file: the content, its hash, and what the counter did.
    let file = archive::export(&db, &national, &lines[1].id).await.unwrap();
    assert!(file.file_name.ends_with(".json") && file.file_name.contains("certificate_issue"));
    let package: Package = serde_json::from_str(&file.text).unwrap();
    assert_eq!(package.sha256, archive::sha256_hex(&package.content));
    assert_eq!(package.sha256, lines[1].content_hash);
    let content: ArchiveContent = serde_json::from_str(&package.content).unwrap();
    assert_eq!(content.action, "certificate_issue");
    assert_eq!(content.credit_code, code);
    assert_eq!(content.legal_rep.as_ref().unwrap().id_number, resident_id(151), "the form's data, in full");
    assert_eq!(content.checklist, Checklist::ALL);
    assert_eq!(content.identity_check, "verified: local form checks");
    assert_eq!(content.staff_username, "admin");
    assert_eq!(content.authority_region, "100000");

    // Sealed at rest (R16); a record that no longer matches its hash is reported, not exported.
    let stored: Vec<String> =
        db.fetch_all(query("SELECT content FROM archive WHERE certificate_id = $1").bind(&id)).await.unwrap();
    assert!(stored.iter().all(|c| !c.contains(&resident_id(151)) && !c.contains("certificate_issue")));
    db.execute(query("UPDATE archive SET content_hash = 'x' WHERE id = $1").bind(&lines[0].id)).await.unwrap();
    assert!(matches!(archive::export(&db, &national, &lines[0].id).await, Err(ecert_core::Error::Archive(_))));

    // Another authority sees none of it; an administrator alone reads no archive.
    let province = below(&db, &national, "440000", "广东省事业单位登记管理局", "gd-archive").await;
    assert_eq!(domain(archive::list(&db, &province, &id).await), DomainError::Forbidden);
    let auditor = member(&db, &province, "gd-archive-auditor", AUDITOR).await;
    assert!(archive::list(&db, &auditor, &id).await.unwrap().is_empty());
    assert_eq!(domain(archive::export(&db, &auditor, &lines[1].id).await), DomainError::NotFound);

    // Kept until its retention ends, then purged.
    ecert_core::purge::purge(&db, T0.plus_minutes(60 * 24 * 365)).await.unwrap();
    assert_eq!(archive::list(&db, &national, &id).await.unwrap().len(), 2);
    ecert_core::purge::purge(&db, ecert_core::Millis(lines[0].keep_until + 1)).await.unwrap();
    assert!(archive::list(&db, &national, &id).await.unwrap().is_empty());
}
