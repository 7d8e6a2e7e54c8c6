//! Helpers shared by the suite: explicit instants and fresh rows per test.

use ecert_core::secret::{Random, Secret, hash_password};
use ecert_core::store::Db;
use ecert_core::{DomainError, Error, Millis, on_db};

pub const T0: Millis = Millis(1_767_225_600_000); // 2026-01-01T00:00:00Z

/// A new authority with one staff member; returns the staff user name.
pub async fn staff_member(db: &Db, password: &str) -> String {
    let random = Random::os();
    let authority = random.id();
    on_db!(db, |c| sqlx::query(
        "INSERT INTO authority (id, name, level, parent_id, region_code, created_at) VALUES ($1, '测试局', 'county', NULL, '110105', $2)"
    )
    .bind(&authority)
    .bind(T0.0)
    .execute(c)
    .await.map(|r| r.rows_affected()))
    .unwrap();
    let mut tx = db.begin_write().await.unwrap();
    ecert_core::holder::seed_catalogue(&mut tx, &authority, T0).await.unwrap();
    tx.commit().await.unwrap();
    let username = format!("staff-{}", &random.id()[..10]).replace('_', "x");
    let hash = hash_password(Secret::new(password), &random).await.unwrap();
    on_db!(db, |c| sqlx::query(
        "INSERT INTO staff (id, authority_id, username, display_name, password_hash, is_admin, created_at) \
         VALUES ($1, $2, $3, '窗口一', $4, $5, $6)"
    )
    .bind(random.id())
    .bind(&authority)
    .bind(&username)
    .bind(hash)
    .bind(false)
    .bind(T0.0)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))
    .unwrap();
    username
}

/// A signed-in staff member of a new authority of their own.
pub async fn staff_view(db: &Db) -> ecert_core::staff::StaffView {
    let user = staff_member(db, "correct password 1").await;
    let random = Random::os();
    let session = ecert_core::staff::sign_in(db, &user, Secret::new("correct password 1"), T0, &random).await.unwrap();
    ecert_core::staff::current(db, session.token.expose(), T0).await.unwrap().unwrap()
}

/// A valid, unique unified social credit code of a public institution (prefix 12).
pub fn credit_code() -> String {
    const CHARSET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    let mut buf = [0u8; 9];
    Random::os().fill(&mut buf);
    let body: String = buf.iter().map(|b| CHARSET[*b as usize % CHARSET.len()] as char).collect();
    let prefix = format!("12110105{body}");
    format!("{prefix}{}", ecert_core::validate::credit_code_check_char(&prefix).unwrap())
}

/// A valid resident ID number born on 1990-01-01 with the given 3-digit sequence.
pub fn resident_id(seq: u16) -> String {
    let prefix = format!("11010519900101{:03}", seq % 1000);
    format!("{prefix}{}", ecert_core::validate::resident_id_check_char(&prefix).unwrap())
}

/// A phone's device key, as the wallet's WebCrypto key would be.
pub use ecert_core::device::testing::TestKey as Phone;

/// The domain error of a refused call (panics on success or on a backend failure).
pub fn domain<T: std::fmt::Debug>(r: Result<T, Error>) -> DomainError {
    match r {
        Err(Error::Domain(d)) => d,
        other => panic!("expected a domain error, got {other:?}"),
    }
}

/// `SELECT COUNT(*) …` with one text parameter.
pub async fn count(db: &Db, sql: &str, arg: &str) -> i64 {
    on_db!(db, |c| sqlx::query_scalar(sql).bind(arg).fetch_one(c).await).unwrap()
}
