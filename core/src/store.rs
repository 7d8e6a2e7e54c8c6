//! Storage over SQLite (the embedded default) and PostgreSQL (production, many app servers).
//!
//! The backend is picked by the URL. SQL is written once with `$1…$N` placeholders and run on
//! either backend through [`on_db!`](crate::on_db) and [`on_tx!`](crate::on_tx); code forks only
//! where the dialects truly differ, and says so. Read-then-write rules run in a [`Tx`] from
//! [`Db::begin_write`], which holds the SQLite write lock from its first statement
//! (`BEGIN IMMEDIATE`) so that concurrent requests serialise instead of failing late.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Postgres, Sqlite, Transaction};

pub use crate::seal::Vault;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A connection pool on one of the two backends, with the data key that seals personal fields
/// (R16, [`crate::seal`]).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, WriteGate, Vault),
    Postgres(PgPool, Vault),
}

/// SQLite has one writer at a time. The write transactions of this process queue here, first
/// come first served, instead of polling in SQLite's busy handler, whose growing sleeps made the
/// slowest writes wait tens of milliseconds under load. Writers in other processes still meet
/// SQLite's own lock and busy timeout, so correctness never rests on this gate.
#[derive(Clone, Debug, Default)]
pub struct WriteGate(Arc<tokio::sync::Mutex<()>>);

/// A transaction on one of the two backends. A SQLite write transaction holds its place at the
/// [`WriteGate`] until it ends.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>, Option<tokio::sync::OwnedMutexGuard<()>>, Vault),
    Postgres(Transaction<'static, Postgres>, Vault),
}

/// Why the database could not be opened. Messages never repeat the URL: it may hold a password.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL must start with `sqlite:` or `postgres://`")]
    UnsupportedScheme,
    #[error("DATABASE_URL is not a valid database URL: {0}")]
    BadUrl(String),
    #[error("cannot create the directory {path} for the SQLite database: {source}")]
    Directory { path: String, source: std::io::Error },
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "this database's personal data is sealed with data key {sealed_with}, but this server holds key {held}; \
         every app server of one database needs the same key (ECERT_DATA_KEY or --data-key-file)"
    )]
    OtherDataKey { sealed_with: String, held: String },
}

/// Pool settings.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions { max_connections: 16, acquire_timeout: Duration::from_secs(10) }
    }
}

impl Db {
    /// Opens the database named by `url`: `sqlite:path/to/file.db` (created with its directory
    /// if missing) or `postgres://user@host/db`. `vault` seals and opens its personal fields.
    pub async fn connect(url: &str, options: &PoolOptions, vault: Vault) -> Result<Db, ConnectError> {
        if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|e| ConnectError::BadUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                // Reads map the file instead of copying each page through a read() call.
                .pragma("mmap_size", "268435456");
            if let Some(dir) = connect.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|source| ConnectError::Directory { path: dir.display().to_string(), source })?;
            }
            let pool = SqlitePoolOptions::new()
                // Each SQLite connection is a thread of sqlx's; a ping before every acquire would
                // double the thread hand-offs of a one-query request. A file does not drop
                // connections the way a network does.
                .test_before_acquire(false)
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(ConnectError::Connect)?;
            Ok(Db::Sqlite(pool, WriteGate::default(), vault))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect =
                sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| ConnectError::BadUrl(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(ConnectError::Connect)?;
            Ok(Db::Postgres(pool, vault))
        } else {
            Err(ConnectError::UnsupportedScheme)
        }
    }

    /// Opens the database, applies the migrations of its backend, makes sure the data key is
    /// the one its personal fields are sealed with, and seals any left from before sealing.
    pub async fn open(url: &str, options: &PoolOptions, vault: Vault) -> Result<Db, ConnectError> {
        let db = Db::connect(url, options, vault).await?;
        db.migrate().await?;
        crate::seal::settle_key(&db).await?;
        Ok(db)
    }

    /// The data key of this database's personal fields.
    pub fn vault(&self) -> &Vault {
        match self {
            Db::Sqlite(_, _, v) | Db::Postgres(_, v) => v,
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(pool, ..) => SQLITE_MIGRATIONS.run(pool).await,
            Db::Postgres(pool, _) => POSTGRES_MIGRATIONS.run(pool).await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(..) => Backend::Postgres,
        }
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        crate::on_db!(self, |c| sqlx::query("SELECT 1").execute(c).await.map(|r| r.rows_affected())).map(|_| ())
    }

    /// A transaction for read-then-write rules. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`); on PostgreSQL, rules lock their parent row with [`Tx::for_update`].
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self {
            Db::Sqlite(pool, gate, vault) => {
                let turn = gate.0.clone().lock_owned().await;
                Ok(Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, Some(turn), vault.clone()))
            }
            Db::Postgres(pool, vault) => Ok(Tx::Postgres(pool.begin().await?, vault.clone())),
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool, ..) => pool.close().await,
            Db::Postgres(pool, _) => pool.close().await,
        }
    }
}

impl Tx {
    /// Runs a statement whose `$1` is an instant (epoch ms) and `$2` an id — the shape of every
    /// "void / end / cancel this at that time" update; answers the rows it changed.
    pub async fn stamp(&mut self, sql: &str, at: crate::time::Millis, id: &str) -> Result<u64, sqlx::Error> {
        crate::on_tx!(self, |c| sqlx::query(sql).bind(at.0).bind(id).execute(c).await.map(|r| r.rows_affected()))
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            // The gate's turn (`_turn`) ends after the commit, when the arm ends.
            Tx::Sqlite(tx, _turn, _) => tx.commit().await,
            Tx::Postgres(tx, _) => tx.commit().await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(..) => Backend::Sqlite,
            Tx::Postgres(..) => Backend::Postgres,
        }
    }

    /// The data key of this transaction's database.
    pub fn vault(&self) -> &Vault {
        match self {
            Tx::Sqlite(_, _, v) | Tx::Postgres(_, v) => v,
        }
    }

    /// Dialect fork: the row lock suffix of a `SELECT`. PostgreSQL locks the row; SQLite needs
    /// nothing because [`Db::begin_write`] already holds the database write lock.
    pub fn for_update(&self) -> &'static str {
        match self {
            Tx::Sqlite(..) => "",
            Tx::Postgres(..) => " FOR UPDATE",
        }
    }
}

/// True when the statement failed on a unique constraint (classified by the driver, not by text).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Runs one expression with `$c` bound to the pool of whichever backend `$db` is on.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$c:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($c, ..) => $body,
            $crate::store::Db::Postgres($c, _) => $body,
        }
    };
}

/// Runs one expression with `$c` bound to the connection of a [`Tx`] on either backend.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite(tx, ..) => {
                let $c = &mut **tx;
                $body
            }
            $crate::store::Tx::Postgres(tx, _) => {
                let $c = &mut **tx;
                $body
            }
        }
    };
}

/// Databases for tests: a fresh SQLite file per call, or the PostgreSQL database named by
/// `ECERT_TEST_DATABASE_URL` (scripts/test runs the same suite both ways). Tests make their own
/// rows, so they may share one PostgreSQL database and run in any order.
pub mod testing {
    use super::{Db, PoolOptions};
    use crate::seal::Vault;

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
                let name = crate::secret::Random::os().id();
                format!("sqlite:{}", dir.join(format!("{name}.db")).display())
            }
        };
        match Db::open(&url, &PoolOptions::default(), test_vault()).await {
            Ok(db) => db,
            Err(e) => panic!("cannot open the test database: {e}"),
        }
    }
}
