//! R16: ID numbers and mobiles are sealed at rest under the data key; a server holding another
//! key refuses the database; values written before sealing are sealed on the first start with a key.

use ecert_core::certificate;
use ecert_core::holder::{self, Role};
use ecert_core::seal::Vault;
use ecert_core::secret::Random;
use ecert_core::store::{ConnectError, Db, PoolOptions};
use ecert_core::{sms, store::query};
use ecert_testing as testing;
use ecert_testing::{open_test_db, test_vault};

use crate::support::T0;

/// The raw stored values of a certificate's personal columns.
async fn stored(db: &Db, certificate_id: &str) -> Vec<String> {
    let rep: (String, String) = db.fetch_one(query("SELECT i.legal_rep_id_number, i.legal_rep_mobile FROM certificate c JOIN institution i ON i.id = c.institution_id \
         WHERE c.id = $1").bind(certificate_id)).await
    .unwrap();
    let holders: Vec<(String, String)> = db
        .fetch_all(
            query("SELECT id_number, mobile FROM holder WHERE certificate_id = $1 ORDER BY created_at, id")
                .bind(certificate_id),
        )
        .await
        .unwrap();
    let mut all = vec![rep.0, rep.1];
    all.extend(holders.into_iter().flat_map(|(a, b)| [a, b]));
    all
}

#[tokio::test]
async fn r16_id_numbers_and_mobiles_are_stored_sealed_and_shown_masked() {
    let db = open_test_db().await;
    let (staff, _) = testing::staff(&db, T0).await;
    let fm = testing::first_manager(&db, &staff, "北京市封存测试研究院", "张三", 501, T0).await;
    let manager = testing::member(&db, &fm, Role::Manager, "李四", 502, None, T0).await;
    let certificate_id = fm.binding.certificate_id.clone();

    let values = stored(&db, &certificate_id).await;
    assert_eq!(values.len(), 6, "the legal representative and two holders");
    for plain in [testing::resident_id(501), testing::resident_id(502), "13812345678".into(), "13912345678".into()] {
        assert!(values.iter().all(|v| !v.contains(&plain)), "{plain} is stored in the clear: {values:?}");
    }
    let key = test_vault();
    assert!(values.iter().all(|v| v.starts_with(&format!("v1.{}.", key.key_id()))), "{values:?}");

    // Opened where shown, and masked there.
    let view = certificate::view(&db, &staff, &certificate_id).await.unwrap();
    assert_eq!(view.legal_rep_id_number, ecert_core::mask::id_number(&testing::resident_id(501)));
    assert_eq!(view.legal_rep_mobile, ecert_core::mask::mobile("13812345678"));
    let listed = holder::list(&db, &testing::caller(&db, &fm).await, T0).await.unwrap();
    let shown = listed.iter().find(|h| h.id == manager.binding.holder_id).unwrap();
    assert_eq!(shown.id_number, ecert_core::mask::id_number(&testing::resident_id(502)));

    // The same person cannot be added twice, although each sealed value differs.
    let again = ecert_core::certificate::PersonInput {
        name: "李四".into(),
        id_number: testing::resident_id(502),
        mobile: "13912345678".into(),
    };
    let caller = testing::caller(&db, &fm).await;
    let refused = holder::add(
        &db,
        &caller,
        Role::Manager,
        &again,
        None,
        &ecert_core::identity::IdentityVerifier::Local,
        T0,
        &Random::os(),
    )
    .await;
    assert!(matches!(refused, Err(ecert_core::Error::Domain(ecert_core::DomainError::AlreadyExists { .. }))));

    // The SMS outbox keeps the mobile sealed too, and shows it masked.
    let device = &fm.binding.device_id;
    let ask = fm.phone.sign(ecert_core::device::action::SMS_REQUEST, device);
    sms::request_reset(&db, &sms::SmsGateway::Outbox, device, &ask, T0, &Random::os()).await.unwrap();
    let outbox: Vec<String> = db
        .fetch_all(query("SELECT o.mobile FROM sms_outbox o WHERE o.authority_id = $1").bind(&staff.authority_id))
        .await
        .unwrap();
    assert!(!outbox.is_empty() && outbox.iter().all(|m| m.starts_with("v1.") && !m.contains("13812345678")));
    let messages = sms::outbox(&db, &staff, 10, true).await.unwrap();
    assert_eq!(messages[0].mobile, ecert_core::mask::mobile("13812345678"));
    assert!(!messages[0].body.contains("******"), "development: the code shows: {}", messages[0].body);
    // Issue 14 §6: in production the outbox never shows the code.
    let production = sms::outbox(&db, &staff, 10, false).await.unwrap();
    assert!(production[0].body.contains("验证码******，"), "{}", production[0].body);
}

#[tokio::test]
async fn r16_a_server_with_another_data_key_is_refused_and_plain_values_are_sealed_on_the_first_start_with_a_key() {
    // A database file of its own, so that its key and rows are this test's.
    let url = match std::env::var("ECERT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => format!("sqlite:{}", std::env::temp_dir().join(format!("ecert-seal-{}.db", Random::os().id())).display()),
    };
    let db = Db::open(&url, &PoolOptions::default(), test_vault()).await.unwrap();
    let (staff, _) = testing::staff(&db, T0).await;
    let fm = testing::first_manager(&db, &staff, "北京市旧数据测试研究院", "王五", 503, T0).await;
    let certificate_id = fm.binding.certificate_id.clone();

    // Another key: refused before anything is read or written.
    let other = Vault::from_key(&[7; 32]);
    let refused = Db::open(&url, &PoolOptions::default(), other.clone()).await.unwrap_err();
    match &refused {
        ConnectError::OtherDataKey { sealed_with, held } => {
            assert_eq!(sealed_with, test_vault().key_id());
            assert_eq!(held, other.key_id());
        }
        e => panic!("expected OtherDataKey, got {e}"),
    }
    assert!(refused.to_string().contains("ECERT_DATA_KEY"), "{refused}");

    // A database as a version before sealing left it: no key recorded, values in the clear
    // (one transaction, so that a test process opening the shared PostgreSQL database meanwhile
    // sees either the old state or this one).
    let mut tx = db.begin_write().await.unwrap();
    tx.execute(query("DELETE FROM data_key")).await.unwrap();
    tx.execute(
        query("UPDATE holder SET id_number = $1, mobile = '13812345678' WHERE certificate_id = $2")
            .bind(testing::resident_id(503))
            .bind(&certificate_id),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(stored(&db, &certificate_id).await.contains(&testing::resident_id(503)));
    let reopened = Db::open(&url, &PoolOptions::default(), test_vault()).await.unwrap();
    let values = stored(&reopened, &certificate_id).await;
    assert!(values.iter().all(|v| v.starts_with("v1.")), "{values:?}");
    let view = certificate::view(&reopened, &staff, &certificate_id).await.unwrap();
    assert_eq!(view.first_manager_id_number, ecert_core::mask::id_number(&testing::resident_id(503)));
    let key: String = reopened.fetch_one(query("SELECT id FROM data_key")).await.unwrap();
    assert_eq!(key, test_vault().key_id(), "the key is recorded again");
}
