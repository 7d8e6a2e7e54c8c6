//! Issue 18 §3: the application-scenario list and service guide (应用场景清单, 服务指南). An
//! administrator says what a relying party accepts the certificate for and how; the public list
//! shows the published scenarios of active parties only.

use ecert_core::party::{self, PartyChange, PartyInput, ScenarioInput};
use ecert_core::secret::Random;
use ecert_core::{DomainError, Problem};
use ecert_testing::open_private_test_db;

use crate::support::{T0, domain, staff_view};

#[tokio::test]
async fn published_scenarios_of_active_parties_make_the_public_list() {
    // Its own database: the list is everyone's.
    let db = open_private_test_db().await;
    let staff = staff_view(&db).await;
    let random = Random::os();
    let input =
        PartyInput { name: "某银行对公业务系统".into(), redirect_uris: "https://bank.example.cn/cb".into() };
    let bank = party::register(&db, &staff, &input, T0, &random).await.unwrap().login;
    party::add_counter(&db, &staff, &bank, "一号窗口", T0, &random).await.unwrap();
    let input = PartyInput { name: "某区政务服务中心".into(), redirect_uris: String::new() };
    let hall = party::register(&db, &staff, &input, T0, &random).await.unwrap().login;
    assert!(party::scenarios(&db).await.unwrap().is_empty(), "nothing is published by being registered");

    let scenario = ScenarioInput {
        published: true,
        services: "单位银行账户开立；预留信息变更".into(),
        guide: "携带经办人身份证到任一网点。\n在柜面出示电子证书，柜员扫码核验。".into(),
        entry: "https://bank.example.cn/corporate".into(),
    };
    party::set_scenario(&db, &staff, &bank, &scenario, T0, &random).await.unwrap();
    let hidden = ScenarioInput { published: false, services: "企业开办".into(), ..ScenarioInput::default() };
    party::set_scenario(&db, &staff, &hall, &hidden, T0, &random).await.unwrap();

    let list = party::scenarios(&db).await.unwrap();
    assert_eq!(list.len(), 1, "the hall's scenario is not published");
    let shown = &list[0];
    assert_eq!(
        (shown.party_name.as_str(), shown.services.as_str()),
        ("某银行对公业务系统", "单位银行账户开立；预留信息变更")
    );
    assert!(shown.guide.contains('\n'), "the guide keeps its lines");
    assert!(shown.scan_login && shown.counters == 1, "how: scan login and one counter");
    assert_eq!(shown.authority_name, "测试局");
    // The console shows staff what is published.
    let mine = party::list(&db, &staff).await.unwrap();
    let listed = mine.iter().find(|p| p.id == bank).unwrap();
    assert_eq!(listed.scenario, scenario);

    // A suspended party leaves the list at once, and comes back when resumed.
    party::change_party(&db, &staff, &bank, &PartyChange::Suspend, T0, &random).await.unwrap();
    assert!(party::scenarios(&db).await.unwrap().is_empty());
    party::change_party(&db, &staff, &bank, &PartyChange::Resume, T0, &random).await.unwrap();
    assert_eq!(party::scenarios(&db).await.unwrap().len(), 1);

    // Bad input changes nothing and says what was wrong.
    let empty = ScenarioInput { published: true, ..ScenarioInput::default() };
    let e = domain(party::set_scenario(&db, &staff, &bank, &empty, T0, &random).await);
    assert_eq!(e, DomainError::field("services", Problem::Required), "a published scenario says what for");
    let long = ScenarioInput { guide: "步".repeat(party::GUIDE_MAX + 1), ..scenario.clone() };
    match domain(party::set_scenario(&db, &staff, &bank, &long, T0, &random).await) {
        DomainError::Validation(f) => assert_eq!(f[0].field, "guide"),
        other => panic!("{other:?}"),
    }
    let control = ScenarioInput { services: "开户\u{7}".into(), ..scenario.clone() };
    assert!(matches!(
        domain(party::set_scenario(&db, &staff, &bank, &control, T0, &random).await),
        DomainError::Validation(_)
    ));
    assert_eq!(party::scenarios(&db).await.unwrap()[0].services, scenario.services);
    // Another authority's staff cannot touch it.
    let other = staff_view(&db).await;
    let e = domain(party::set_scenario(&db, &other, &bank, &hidden, T0, &random).await);
    assert_eq!(e, DomainError::NotFound);
    assert_eq!(party::scenarios(&db).await.unwrap().len(), 1);
}
