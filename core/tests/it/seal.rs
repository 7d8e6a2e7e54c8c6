//! R16: ID numbers and mobiles are sealed at rest under the data key, bound to their rows; a
//! server holding another key refuses the database; values written before sealing, or sealed by
//! the first version, are sealed (again) at the next start; a value swapped between rows or
//! written in the clear around the application is refused where it is read (issue 14 §5).

use ecert_core::certificate;
use ecert_core::holder::{self, Role};
use ecert_core::seal::{Column, Vault};
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
    assert!(values.iter().all(|v| v.starts_with(&format!("v2.{}.", key.key_id()))), "{values:?}");

    // Opened where shown, and masked there.
    let view = certificate::view(&db, &staff, &certificate_id, ecert_core::Millis::now()).await.unwrap();
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
    let ask = fm.phone.fresh(ecert_core::device::action::SMS_REQUEST, device, T0);
    sms::request_reset(&db, &sms::SmsGateway::Outbox, device, ask.arg(), T0, &Random::os()).await.unwrap();
    let outbox: Vec<String> = db
        .fetch_all(query("SELECT o.mobile FROM sms_outbox o WHERE o.authority_id = $1").bind(&staff.authority_id))
        .await
        .unwrap();
    assert!(!outbox.is_empty() && outbox.iter().all(|m| m.starts_with("v2.") && !m.contains("13812345678")));
    let messages = sms::outbox(&db, &staff, 10, true).await.unwrap();
    assert_eq!(messages[0].mobile, ecert_core::mask::mobile("13812345678"));
    assert!(!messages[0].body.contains("******"), "development: the code shows: {}", messages[0].body);
    // Issue 14 §6: in production the outbox never shows the code.
    let production = sms::outbox(&db, &staff, 10, false).await.unwrap();
    assert!(production[0].body.contains("验证码******，"), "{}", production[0].body);
}

#[tokio::test]
async fn r16_a_server_with_another_data_key_is_refused_and_plain_values_are_sealed_on_the_first_start_with_a_key() {
    let url = testing::private_test_url().await;
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
    assert!(values.iter().all(|v| v.starts_with("v2.")), "{values:?}");
    let view = certificate::view(&reopened, &staff, &certificate_id, ecert_core::Millis::now()).await.unwrap();
    assert_eq!(view.first_manager_id_number, ecert_core::mask::id_number(&testing::resident_id(503)));
    let key: String = reopened.fetch_one(query("SELECT id FROM data_key")).await.unwrap();
    assert_eq!(key, test_vault().key_id(), "the key is recorded again");
}

/// Issue 14 §5: someone who can write the database but not read the key moves sealed values
/// between rows (one holder's ID number into another's row) or writes one in the clear: the
/// value is refused where it is read, nothing is shown for it, and a first-version seal (bound
/// to its kind of field only) is bound to its row at the next start.
#[tokio::test]
async fn r16_a_sealed_value_moved_to_another_row_or_written_in_the_clear_is_refused() {
    let url = testing::private_test_url().await;
    let db = Db::open(&url, &PoolOptions::default(), test_vault()).await.unwrap();
    let (staff, _) = testing::staff(&db, T0).await;
    let fm = testing::first_manager(&db, &staff, "北京市换行测试研究院", "赵六", 504, T0).await;
    let manager = testing::member(&db, &fm, Role::Manager, "钱七", 505, None, T0).await;
    let certificate_id = fm.binding.certificate_id.clone();
    let caller = testing::caller(&db, &fm).await;
    let id_number_of = |holder: &str| query("SELECT id_number FROM holder WHERE id = $1").bind(holder.to_owned());
    let set_id_number = |holder: &str, value: &str| {
        query("UPDATE holder SET id_number = $1 WHERE id = $2").bind(value.to_owned()).bind(holder.to_owned())
    };
    let (fm_id, manager_id) = (fm.binding.holder_id.clone(), manager.binding.holder_id.clone());
    let (original,): (String,) = db.fetch_one(id_number_of(&manager_id)).await.unwrap();
    let (other,): (String,) = db.fetch_one(id_number_of(&fm_id)).await.unwrap();
    assert!(holder::list(&db, &caller, T0).await.is_ok());

    // The first manager's sealed ID number copied into the manager's row.
    db.execute(set_id_number(&manager_id, &other)).await.unwrap();
    let swapped = holder::list(&db, &caller, T0).await;
    assert!(matches!(swapped, Err(ecert_core::Error::Sealed(_))), "{swapped:?}");
    let view = certificate::view(&db, &staff, &certificate_id, ecert_core::Millis::now()).await;
    assert!(view.is_ok(), "the certificate's own fields are untouched: {view:?}");

    // Written in the clear, around the application.
    db.execute(set_id_number(&manager_id, &testing::resident_id(505))).await.unwrap();
    assert!(matches!(holder::list(&db, &caller, T0).await, Err(ecert_core::Error::Sealed(_))));

    // The original value opens again: nothing else was changed by the refusals.
    db.execute(set_id_number(&manager_id, &original)).await.unwrap();
    let listed = holder::list(&db, &caller, T0).await.unwrap();
    let shown = listed.iter().find(|h| h.id == manager_id).unwrap();
    assert_eq!(shown.id_number, ecert_core::mask::id_number(&testing::resident_id(505)));

    // A store settled in this version is not scanned again at a start: a first-version seal
    // written around the application stays refused.
    let v1 = test_vault().seal_v1_for_test(Column::HolderIdNumber, &testing::resident_id(505));
    db.execute(set_id_number(&manager_id, &v1)).await.unwrap();
    let reopened = Db::open(&url, &PoolOptions::default(), test_vault()).await.unwrap();
    let (kept,): (String,) = reopened.fetch_one(id_number_of(&manager_id)).await.unwrap();
    assert_eq!(kept, v1);
    assert!(matches!(holder::list(&reopened, &caller, T0).await, Err(ecert_core::Error::Sealed(_))));

    // A store of the first version (no settled version recorded): its first-version seals are
    // resealed, bound to their rows, when a server starts.
    db.execute(query("UPDATE data_key SET sealed_version = NULL")).await.unwrap();
    let reopened = Db::open(&url, &PoolOptions::default(), test_vault()).await.unwrap();
    let (upgraded,): (String,) = reopened.fetch_one(id_number_of(&manager_id)).await.unwrap();
    assert!(upgraded.starts_with("v2."), "{upgraded}");
    let listed = holder::list(&reopened, &caller, T0).await.unwrap();
    let shown = listed.iter().find(|h| h.id == manager_id).unwrap();
    assert_eq!(shown.id_number, ecert_core::mask::id_number(&testing::resident_id(505)));
}

/// The public key of `kid` in a JWK Set, if it is there.
fn published(set: &serde_json::Value, kid: &str) -> Option<p256::ecdsa::VerifyingKey> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let jwk = set["keys"].as_array()?.iter().find(|k| k["kid"] == kid)?;
    let mut sec1 = vec![4u8];
    sec1.extend(b64.decode(jwk["x"].as_str()?).ok()?);
    sec1.extend(b64.decode(jwk["y"].as_str()?).ok()?);
    p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).ok()
}

/// True when the compact JWS verifies with `key`.
fn verifies(jws: &str, key: &p256::ecdsa::VerifyingKey) -> bool {
    use base64::Engine;
    use p256::ecdsa::signature::Verifier;
    let Some((input, signature)) = jws.rsplit_once('.') else { return false };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature).unwrap_or_default();
    p256::ecdsa::Signature::from_slice(&bytes).is_ok_and(|s| key.verify(input.as_bytes(), &s).is_ok())
}

/// Issue 14 §5: the platform's signing keys are sealed under the data key like personal data,
/// and rotate: the new key signs at once, the retired one stays published while what it signed
/// can be checked (a day for ID tokens, for ever for sign attestations).
#[tokio::test]
async fn issue14_platform_signing_keys_are_sealed_and_rotate_with_overlapping_kids() {
    use ecert_core::jws::{self, Purpose};
    // Its own database: a rotation changes every test's keys.
    let db = testing::open_private_test_db().await;
    let random = Random::os();
    let first = jws::key(&db, Purpose::IdToken, T0, &random).await.unwrap();
    let attesting = jws::key(&db, Purpose::SignAttestation, T0, &random).await.unwrap();
    let stored: Vec<(String, String)> =
        db.fetch_all(query("SELECT id, private_key FROM signing_key ORDER BY id")).await.unwrap();
    assert_eq!(stored.len(), 2);
    for (kid, private) in &stored {
        assert!(private.starts_with(&format!("v2.{}.", test_vault().key_id())), "{kid} is stored sealed: {private}");
    }
    let token = first.sign("JWT", &serde_json::json!({ "sub": "h1" }));
    let attestation = attesting.sign("sign-attestation+jwt", &serde_json::json!({ "sub": "s1" }));

    let rotated_at = T0.plus_minutes(1);
    let made = jws::rotate(&db, rotated_at, &random).await.unwrap();
    assert_eq!(made.len(), Purpose::ALL.len());
    let second = jws::key(&db, Purpose::IdToken, rotated_at, &random).await.unwrap();
    assert_ne!(second.kid, first.kid, "a new key signs");
    assert!(made.contains(&(Purpose::IdToken, second.kid.clone())));

    // Just after: both published, the current first; the old token verifies under its kid.
    let set = jws::jwks(&db, Purpose::IdToken, rotated_at.plus_minutes(5), &random).await.unwrap();
    let kids: Vec<&str> = set["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, [second.kid.as_str(), first.kid.as_str()]);
    assert!(verifies(&token, &published(&set, &first.kid).unwrap()));
    let fresh = second.sign("JWT", &serde_json::json!({ "sub": "h1" }));
    assert!(verifies(&fresh, &published(&set, &second.kid).unwrap()));
    assert!(!verifies(&fresh, &published(&set, &first.kid).unwrap()));

    // A day after: the retired ID-token key is gone; the attestation key stays for ever.
    let later = rotated_at.plus_minutes(24 * 60 + 1);
    let set = jws::jwks(&db, Purpose::IdToken, later, &random).await.unwrap();
    assert!(published(&set, &first.kid).is_none() && published(&set, &second.kid).is_some());
    let set = jws::jwks(&db, Purpose::SignAttestation, later.plus_minutes(365 * 24 * 60), &random).await.unwrap();
    assert_eq!(set["keys"].as_array().unwrap().len(), 2);
    assert!(verifies(&attestation, &published(&set, &attesting.kid).unwrap()));

    // A key written around the application, in the clear, is refused: nothing signs with it.
    db.execute(query("UPDATE signing_key SET private_key = 'AAAA' WHERE id = $1").bind(&second.kid)).await.unwrap();
    assert!(matches!(
        jws::key(&db, Purpose::IdToken, later, &random).await,
        Err(ecert_core::Error::Sealed(ecert_core::seal::OpenError::Unsealed))
    ));
}
