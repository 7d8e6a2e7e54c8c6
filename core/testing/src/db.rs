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

/// A database no other test touches, for a test whose statements reach beyond its own rows (a
/// purge of everything expired). With SQLite that is any test database; with PostgreSQL a new
/// database `ecert_private_…` on the same server (scripts/test drops them before a run).
pub async fn open_private_test_db() -> Db {
    let url = private_test_url().await;
    match Db::open(&url, &PoolOptions::default(), test_vault()).await {
        Ok(db) => db,
        Err(e) => panic!("cannot open the private test database {url}: {e}"),
    }
}

/// The address of a new database no other test touches (see [`open_private_test_db`]), for a
/// test that opens it more than once, as servers restarting do.
pub async fn private_test_url() -> String {
    let url = match std::env::var("ECERT_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let dir = std::env::temp_dir().join("ecert-tests");
            return format!("sqlite:{}", dir.join(format!("{}.db", Random::os().id())).display());
        }
    };
    let name = format!("ecert_private_{}", Random::os().id().to_ascii_lowercase().replace('-', "_"));
    let shared = open_test_db().await;
    if let Err(e) = shared.execute(ecert_core::store::query(format!("CREATE DATABASE {name}"))).await {
        panic!("cannot create the private test database {name}: {e}");
    }
    shared.close().await;
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}
