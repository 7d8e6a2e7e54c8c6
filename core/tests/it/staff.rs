//! Staff sign-in, lockout and sessions.

use ecert_core::DomainError;
use ecert_core::secret::{Random, Secret};
use ecert_core::staff::{self, LOCKOUT_MINUTES, MAX_FAILED_ATTEMPTS};
use ecert_testing::open_test_db;

use crate::support::{T0, domain, staff_member};

#[tokio::test]
async fn the_right_password_opens_a_session_that_expires() {
    let db = open_test_db().await;
    let user = staff_member(&db, "correct password 1").await;
    let random = Random::os();
    let session = staff::sign_in(&db, &user, Secret::new("correct password 1"), T0, &random).await.unwrap();
    let me = staff::current(&db, session.token.expose(), T0).await.unwrap().expect("live session");
    assert_eq!(me.username, user);
    assert_eq!(me.authority_name, "测试局");
    let after = session.expires_at.plus_millis(1);
    assert!(staff::current(&db, session.token.expose(), after).await.unwrap().is_none(), "expired");
    assert!(staff::current(&db, "forged-token", T0).await.unwrap().is_none());
}

#[tokio::test]
async fn a_wrong_password_or_unknown_name_is_one_and_the_same_error() {
    let db = open_test_db().await;
    let user = staff_member(&db, "correct password 1").await;
    let random = Random::os();
    assert_eq!(
        domain(staff::sign_in(&db, &user, Secret::new("wrong"), T0, &random).await),
        DomainError::InvalidCredentials
    );
    assert_eq!(
        domain(staff::sign_in(&db, "nobody-here", Secret::new("wrong"), T0, &random).await),
        DomainError::InvalidCredentials
    );
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes() {
    let db = open_test_db().await;
    let user = staff_member(&db, "correct password 1").await;
    let random = Random::os();
    for _ in 0..MAX_FAILED_ATTEMPTS {
        let _ = staff::sign_in(&db, &user, Secret::new("wrong"), T0, &random).await;
    }
    let right = || Secret::new("correct password 1");
    assert!(matches!(domain(staff::sign_in(&db, &user, right(), T0, &random).await), DomainError::AccountLocked));
    let later = T0.plus_minutes(LOCKOUT_MINUTES - 1);
    assert!(matches!(domain(staff::sign_in(&db, &user, right(), later, &random).await), DomainError::AccountLocked));
    let unlocked = T0.plus_minutes(LOCKOUT_MINUTES).plus_millis(1);
    staff::sign_in(&db, &user, right(), unlocked, &random).await.expect("unlocked after the lockout");
}

#[tokio::test]
async fn concurrent_wrong_passwords_are_all_counted() {
    let db = open_test_db().await;
    let user = staff_member(&db, "correct password 1").await;
    let random = Random::os();
    let tasks: Vec<_> = (0..MAX_FAILED_ATTEMPTS)
        .map(|_| {
            let (db, user, random) = (db.clone(), user.clone(), random.clone());
            tokio::spawn(async move { staff::sign_in(&db, &user, Secret::new("wrong"), T0, &random).await.map(|_| ()) })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().is_err());
    }
    let locked = staff::sign_in(&db, &user, Secret::new("correct password 1"), T0.plus_millis(1), &random).await;
    assert!(matches!(domain(locked), DomainError::AccountLocked));
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let db = open_test_db().await;
    let user = staff_member(&db, "correct password 1").await;
    let session = staff::sign_in(&db, &user, Secret::new("correct password 1"), T0, &Random::os()).await.unwrap();
    staff::sign_out(&db, session.token.expose()).await.unwrap();
    assert!(staff::current(&db, session.token.expose(), T0).await.unwrap().is_none());
    staff::sign_out(&db, session.token.expose()).await.unwrap();
}

#[tokio::test]
async fn a_wrong_password_after_a_lockout_ran_out_is_one_try_not_a_new_lockout() {
    // Issue 14 §4: the count started again when the lock ran out; before, one wrong try after
    // the fifteen minutes locked the account again, and so on for ever.
    let db = open_test_db().await;
    let user = staff_member(&db, "correct password 1").await;
    let random = Random::os();
    for _ in 0..MAX_FAILED_ATTEMPTS {
        let _ = staff::sign_in(&db, &user, Secret::new("wrong"), T0, &random).await;
    }
    let after = T0.plus_minutes(LOCKOUT_MINUTES).plus_millis(1);
    let wrong = staff::sign_in(&db, &user, Secret::new("wrong"), after, &random).await;
    assert_eq!(domain(wrong), DomainError::InvalidCredentials);
    staff::sign_in(&db, &user, Secret::new("correct password 1"), after.plus_millis(1), &random)
        .await
        .expect("one wrong try after the lockout does not lock again");
    // And the count is a fresh one: it takes all five tries again to lock.
    for _ in 0..MAX_FAILED_ATTEMPTS - 1 {
        let _ = staff::sign_in(&db, &user, Secret::new("wrong"), after, &random).await;
    }
    staff::sign_in(&db, &user, Secret::new("correct password 1"), after, &random).await.expect("four are not five");
    for _ in 0..MAX_FAILED_ATTEMPTS {
        let _ = staff::sign_in(&db, &user, Secret::new("wrong"), after, &random).await;
    }
    let locked = staff::sign_in(&db, &user, Secret::new("correct password 1"), after, &random).await;
    assert_eq!(domain(locked), DomainError::AccountLocked);
}
