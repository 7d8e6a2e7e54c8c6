//! Helpers shared by the suite: explicit instants and fresh rows per test.

use ecert_core::secret::{Random, Secret, hash_password};
use ecert_core::store::Db;
use ecert_core::{Millis, on_db};

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
    .await.map(|r| r.rows_affected()))
    .unwrap();
    username
}
