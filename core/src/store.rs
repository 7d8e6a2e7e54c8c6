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
pub use local::FromLocalRow;

mod local;
mod text;

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
    Sqlite(SqlitePool, Arc<SqliteSide>, Vault),
    Postgres(PgPool, Vault),
}

/// What a SQLite database has beside its sqlx pool.
#[derive(Debug)]
pub struct SqliteSide {
    /// SQLite has one writer at a time. The write transactions of this process queue here,
    /// first come first served, instead of polling in SQLite's busy handler, whose growing
    /// sleeps made the slowest writes wait tens of milliseconds under load. Writers in other
    /// processes still meet SQLite's own lock and busy timeout, so correctness never rests on
    /// this gate.
    gate: Arc<tokio::sync::Mutex<()>>,
    /// Reads on the calling thread and group-committed writes ([`local`]); `None` for an
    /// in-memory database, which other connections cannot open.
    local: Option<local::Local>,
}

/// A value bound to a [`Statement`] or a read of [`Db::fetch_optional`]: SQL text and binds
/// that both backends run, through sqlx or, on SQLite's hot paths, rusqlite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Int(i64),
    Null,
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<Option<&str>> for Value {
    fn from(s: Option<&str>) -> Value {
        s.map_or(Value::Null, Value::from)
    }
}

/// A row type that both drivers map: sqlx on either backend and rusqlite on SQLite's local
/// path ([`Db::fetch_optional`], [`Db::fetch_all`]).
pub trait AnyRow:
    FromLocalRow
    + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + Send
    + Unpin
{
}

impl<T> AnyRow for T where
    T: FromLocalRow
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin
{
}

/// One write statement of a [`Unit`].
#[derive(Clone, Debug)]
pub struct Statement {
    pub sql: String,
    pub values: Vec<Value>,
    /// When set and the statement changes no row, the unit stops: everything it did is undone
    /// and [`Db::write`] answers [`Applied::Stopped`]. A conditional `UPDATE … WHERE` so marked
    /// is a compare-and-set.
    pub must_change: bool,
}

impl Statement {
    pub fn new(sql: impl Into<String>, values: Vec<Value>) -> Statement {
        Statement { sql: sql.into(), values, must_change: false }
    }

    /// The same statement, stopping its unit when it changes nothing.
    pub fn must_change(self) -> Statement {
        Statement { must_change: true, ..self }
    }
}

/// Statements that apply together or not at all ([`Db::write`]).
#[derive(Clone, Debug, Default)]
pub struct Unit {
    pub statements: Vec<Statement>,
}

impl Unit {
    pub fn new(statements: Vec<Statement>) -> Unit {
        Unit { statements }
    }
}

/// What became of a [`Unit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Committed; the rows each statement changed.
    Done(Vec<u64>),
    /// The [`Statement::must_change`] at this index changed nothing: the unit was undone.
    Stopped(usize),
}

/// Binds [`Value`]s to a sqlx query of either backend.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for value in $values {
            q = match value {
                Value::Text(s) => q.bind(s.as_str()),
                Value::Int(i) => q.bind(*i),
                Value::Null => q.bind(None::<&str>),
            };
        }
        q
    }};
}

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
                .busy_timeout(Duration::from_secs(30));
            if let Some(dir) = connect.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|source| ConnectError::Directory { path: dir.display().to_string(), source })?;
            }
            let path = connect.get_filename().to_owned();
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
            let gate = Arc::new(tokio::sync::Mutex::new(()));
            let in_memory = path.as_os_str().is_empty() || path.as_os_str() == ":memory:";
            let local = match in_memory {
                true => None,
                false => Some(local::Local::open(&path, gate.clone()).map_err(|e| ConnectError::Connect(e.into()))?),
            };
            Ok(Db::Sqlite(pool, Arc::new(SqliteSide { gate, local }), vault))
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
            Db::Sqlite(pool, side, vault) => {
                let turn = side.gate.clone().lock_owned().await;
                Ok(Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, Some(turn), vault.clone()))
            }
            Db::Postgres(pool, vault) => Ok(Tx::Postgres(pool.begin().await?, vault.clone())),
        }
    }

    /// One row of a read, or none: on SQLite's file databases run on this thread ([`local`]),
    /// elsewhere through sqlx. `T` maps the row for both drivers.
    pub async fn fetch_optional<T: AnyRow>(&self, sql: &str, values: &[Value]) -> Result<Option<T>, sqlx::Error> {
        if let Some(local) = self.local() {
            let mut first = None;
            local.read(sql, values, |row| {
                if first.is_none() {
                    first = Some(T::from_local(row)?);
                }
                Ok(())
            })?;
            return Ok(first);
        }
        crate::on_db!(self, |c| bind_values!(sqlx::query_as::<_, T>(sql), values).fetch_optional(c).await)
    }

    /// Every row of a read, as [`Db::fetch_optional`] reads one.
    pub async fn fetch_all<T: AnyRow>(&self, sql: &str, values: &[Value]) -> Result<Vec<T>, sqlx::Error> {
        if let Some(local) = self.local() {
            let mut all = Vec::new();
            local.read(sql, values, |row| {
                all.push(T::from_local(row)?);
                Ok(())
            })?;
            return Ok(all);
        }
        crate::on_db!(self, |c| bind_values!(sqlx::query_as::<_, T>(sql), values).fetch_all(c).await)
    }

    /// Applies a unit of statements atomically and answers when it is durable. On SQLite's file
    /// databases units are group-committed by one writer thread ([`local`]); elsewhere each is
    /// a transaction of its own.
    pub async fn write(&self, unit: Unit) -> Result<Applied, sqlx::Error> {
        if let Some(local) = self.local() {
            return Ok(local.write(unit).await?);
        }
        let mut tx = self.begin_write().await?;
        let mut changed = Vec::with_capacity(unit.statements.len());
        for (index, statement) in unit.statements.iter().enumerate() {
            let rows = tx.execute(statement).await?;
            if statement.must_change && rows == 0 {
                // Dropping the transaction rolls it back.
                return Ok(Applied::Stopped(index));
            }
            changed.push(rows);
        }
        tx.commit().await?;
        Ok(Applied::Done(changed))
    }

    /// The local path of a SQLite file database.
    fn local(&self) -> Option<&local::Local> {
        match self {
            Db::Sqlite(_, side, _) => side.local.as_ref(),
            Db::Postgres(..) => None,
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
    /// Runs one [`Statement`] in this transaction; answers the rows it changed. Its
    /// `must_change` is for [`Db::write`] to act on, not this.
    pub async fn execute(&mut self, statement: &Statement) -> Result<u64, sqlx::Error> {
        crate::on_tx!(self, |c| bind_values!(sqlx::query(&statement.sql), &statement.values)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))
    }

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
