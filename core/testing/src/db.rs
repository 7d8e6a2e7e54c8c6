//! Databases for tests: a fresh SQLite file per call, or the PostgreSQL database named by
//! `ECERT_TEST_DATABASE_URL` (scripts/test runs the same suite both ways). Tests make their own
//! rows, so they may share one PostgreSQL database and run in any order.

use ecert_core::seal::Vault;
use ecert_core::secret::Random;
use ecert_core::store::{Db, PoolOptions};

/// The data key of every test database: tests of several processes share one PostgreSQL
/// database, and its personal fields must open in all of them.
pub fn test_vault() -> Vault {
    Vault::from_key(&[0x42; 32])
}

pub async fn open_test_db() -> Db {
    let url = match std::env::var("ECERT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let dir = std::env::temp_dir().join("ecert-tests");
            let name = Random::os().id();
            format!("sqlite:{}", dir.join(format!("{name}.db")).display())
        }
    };
    match Db::open(&url, &PoolOptions::default(), test_vault()).await {
        Ok(db) => db,
        Err(e) => panic!("cannot open the test database: {e}"),
    }
}
