//! Storage over SQLite (the embedded default) and PostgreSQL (production, many app servers).
//!
//! The backend is picked by the URL. SQL is written once with `$1…$N` placeholders, as a
//! [`Query`] with typed binds, and run on either backend by the same four methods of [`Db`] and
//! [`Tx`] (`fetch_optional`, `fetch_one`, `fetch_all`, `execute`); rows map through [`FromRow`].
//! Read-then-write rules run in a [`Tx`] from [`Db::begin_write`], which holds the SQLite write
//! lock from its first statement (`BEGIN IMMEDIATE`) so that concurrent requests serialise
//! instead of failing late; on PostgreSQL they lock their parent row ([`Query::lock_rows`]).
//! Reads of a SQLite file run on the caller's thread and writes of a [`Unit`] are
//! group-committed ([`local`]); errors are classified by kind on every path
//! ([`is_unique_violation`]).
//!
//! This module must not know any rule of the domain, and nothing outside it names sqlx or
//! rusqlite to reach the data: a new table's access is a [`Query`], never a driver call.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Postgres, Sqlite, Transaction};

pub use crate::seal::Vault;
pub use query::{Column, ColumnAt, FromRow, Query, Row, Value, query};
pub(crate) use query::{column, from_row};

pub mod compose;
mod local;
mod migrations;
mod query;
mod quick;
pub mod recall;
mod text;

use query::{bind_values, map_rows};

/// Runs `$run` with `$on` a connection that `$quick` lends when one is free ([`quick`]), else
/// `$pool`; the outcome of the statement, the loan ended either way.
macro_rules! on_lent_or_pool {
    ($quick:expr, $pool:expr, |$on:ident| $run:expr) => {
        match $quick.try_lend().await? {
            Some(mut lent) => {
                let $on = lent.conn()?;
                let outcome = $run.await;
                lent.finish(outcome)
            }
            None => {
                let $on = $pool;
                $run.await
            }
        }
    };
}

/// What a storage call fails with. Constraint failures are classified by kind on every path
/// ([`is_unique_violation`]); the type is sqlx's, named here so that nothing else names it.
pub type StoreError = sqlx::Error;

/// The statements [`compose`] built, by shape: four call sites compose, each in a few
/// variants, so 256 shapes hold them all with room to spare.
static COMPOSED: std::sync::LazyLock<compose::Memo> = std::sync::LazyLock::new(|| compose::Memo::new(256));

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

/// The connections of a [`Db`] at one instant ([`Db::pool_use`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open, idle among them, and the most the pool opens.
    pub open: u32,
    pub idle: u32,
    pub max: u32,
    /// SQLite file only: write units queued for the one writer or being committed.
    pub writer_queue: Option<usize>,
    /// SQLite file only: times the WAL reached its bound and writes waited while it started
    /// over ([`PoolOptions::wal_bound_bytes`]).
    pub wal_restarts_held: Option<u64>,
    /// SQLite file only: that bound, in bytes of whole pages of the file's size.
    pub wal_bound_bytes: Option<u64>,
    /// PostgreSQL only: reads answered from this app server's [`recall`].
    pub recalled: Option<u64>,
    /// PostgreSQL only: rows kept in that recall now, fresh or not yet swept.
    pub recall_rows: Option<usize>,
}

/// A connection pool on one of the two backends, with the data key that seals personal fields
/// (R16, [`crate::seal`]).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, Arc<SqliteSide>, Vault),
    /// sqlx's pool, for transactions and most statements, the connections lent for a
    /// point read or a unit of one statement ([`quick`]), the data key, and the rows this app
    /// server may answer from memory while its listener hears their changes ([`recall`]).
    Postgres(PgPool, Arc<quick::Quick>, Vault, Arc<recall::Recall>),
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

/// One write statement of a [`Unit`]: a [`Query`], or [`Query::must_change`].
#[derive(Clone, Debug)]
pub struct Statement {
    pub query: Query,
    /// When set and the statement changes no row, the unit stops: everything it did is undone
    /// and [`Db::write`] answers [`Applied::Stopped`]. A conditional `UPDATE … WHERE` so marked
    /// is a compare-and-set.
    pub must_change: bool,
}

impl From<Query> for Statement {
    fn from(query: Query) -> Statement {
        Statement { query, must_change: false }
    }
}

/// Statements that apply together or not at all ([`Db::write`]).
#[derive(Clone, Debug, Default)]
pub struct Unit {
    pub statements: Vec<Statement>,
    /// Set by [`Unit::independent`].
    independent: bool,
}

impl Unit {
    pub fn new(statements: impl IntoIterator<Item = Statement>) -> Unit {
        Unit { statements: statements.into_iter().collect(), independent: false }
    }

    /// Declares that no statement of the unit reads or changes a row that another one writes,
    /// so that they may run as one statement over one snapshot: on PostgreSQL one round trip
    /// instead of one per statement plus `BEGIN` and `COMMIT` ([`compose`]). The statements'
    /// own subqueries then see the database as it was before the unit, each `UPDATE` still
    /// re-checks the newest version of the rows it changes, and the unit still applies whole or
    /// not at all. Each must be a plain `INSERT`, `UPDATE` or `DELETE` without `RETURNING`, of a
    /// table no other statement of the unit writes; a unit that is not runs as a transaction,
    /// as without this.
    pub fn independent(self) -> Unit {
        Unit { independent: true, ..self }
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

/// What became of a read and the unit that depends on it ([`Db::read_then_write`]).
#[derive(Debug)]
pub enum ReadThen<T> {
    /// The read found no row; nothing was changed.
    Missing,
    /// The read's row, and the unit committed.
    Done(T),
    /// The read found a row, and the [`Statement::must_change`] at this index changed nothing:
    /// the unit was undone.
    Stopped(usize),
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
    #[error("a sealed personal field does not open under this server's data key: {0}")]
    Unopenable(String),
}

/// Pool settings.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// SQLite files: the WAL's length, in bytes of pages, past which writes wait while it is
    /// copied back and starts over ([`local`]'s writer), whatever the file's page size: 64 MiB
    /// by default.
    pub wal_bound_bytes: u64,
    /// SQLite files: the page size a database is made with, in bytes (a power of two from 512
    /// to 65,536; SQLite ignores any other). A file that exists keeps its own. Each write
    /// copies every page it changes into the WAL, so smaller pages write fewer bytes for a
    /// row inserted into a large random index (docs/performance.md, *Smaller pages for the
    /// WAL*). 4,096 by default, SQLite's own.
    pub sqlite_page_size: u32,
}

impl PoolOptions {
    /// [`PoolOptions::wal_bound_bytes`], from 64 KiB (16 pages of SQLite's default size) to
    /// 256 TiB, where the writer's arithmetic in `i64` stays far from overflowing.
    fn wal_bound(&self) -> u64 {
        self.wal_bound_bytes.clamp(64 << 10, 1 << 48)
    }
}

/// Whether SQLite takes `bytes` as a page size ([`PoolOptions::sqlite_page_size`]): a power of
/// two from 512 to 65,536. It ignores any other without an error.
pub fn is_sqlite_page_size(bytes: u32) -> bool {
    (512..=65_536).contains(&bytes) && bytes.is_power_of_two()
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            wal_bound_bytes: 64 << 20,
            sqlite_page_size: 4096,
        }
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
                // Before the journal mode (sqlx sets it first): a WAL file keeps its page size.
                .page_size(options.sqlite_page_size)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                // A WAL that one of these connections starts over is cut back to the bound too
                // (the local writer's to the bound's whole pages, at least 16: [`local`]).
                .pragma("journal_size_limit", options.wal_bound().to_string());
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
                false => Some(
                    local::Local::open(&path, gate.clone(), options.wal_bound())
                        .map_err(|e| ConnectError::Connect(e.into()))?,
                ),
            };
            Ok(Db::Sqlite(pool, Arc::new(SqliteSide { gate, local }), vault))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect =
                sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| ConnectError::BadUrl(e.to_string()))?;
            // The connection budget is shared: half lent for statements that run alone on hot
            // paths ([`quick`]), half in sqlx's pool for transactions and the rest.
            let lent = options.max_connections / 2;
            let pooled = options.max_connections.saturating_sub(lent).max(1);
            let quick = quick::Quick::new(connect.clone(), lent, options.acquire_timeout);
            let pool = PgPoolOptions::new()
                // No ping before every acquire (sqlx's default): it was a second round trip to
                // the server for every query of a request (issue 17 §2 measured a poll at one
                // read plus one ping). A connection the server dropped fails its next query
                // instead, which the pool then closes; `/readyz` and the callers' errors show a
                // server that went away, and idle connections are recycled below.
                .test_before_acquire(false)
                .idle_timeout(quick::IDLE_TIMEOUT)
                .max_connections(pooled)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(ConnectError::Connect)?;
            Ok(Db::Postgres(pool, Arc::new(quick), vault, Arc::default()))
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
            Db::Sqlite(_, _, v) | Db::Postgres(_, _, v, _) => v,
        }
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(pool, ..) => migrations::SQLITE.migrator().await?.run(pool).await,
            Db::Postgres(pool, ..) => migrations::POSTGRES.migrator().await?.run(pool).await,
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(..) => Backend::Sqlite,
            Db::Postgres(..) => Backend::Postgres,
        }
    }

    /// On PostgreSQL, the rows this app server may answer from memory ([`recall`]); shut until
    /// a listener of this database opens it.
    pub fn recall(&self) -> Option<&recall::Recall> {
        match self {
            Db::Sqlite(..) => None,
            Db::Postgres(.., recall) => Some(recall),
        }
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        // Both ways in: sqlx's pool (writes, transactions, most reads) and, on a SQLite file,
        // the local path of the hot reads.
        self.execute(query("SELECT 1")).await?;
        self.fetch_one::<i64>(query("SELECT CAST(1 AS BIGINT)").point_read()).await.map(drop)
    }

    /// Issue 17 §3: how busy the connections are, for `/metrics`.
    pub fn pool_use(&self) -> PoolUse {
        let (open, idle, max) = match self {
            Db::Sqlite(pool, ..) => (pool.size(), pool.num_idle(), pool.options().get_max_connections()),
            Db::Postgres(pool, quick, ..) => {
                let (open, idle, max) = quick.usage();
                (pool.size() + open, pool.num_idle() + idle as usize, pool.options().get_max_connections() + max)
            }
        };
        PoolUse {
            open,
            idle: idle as u32,
            max,
            writer_queue: self.local().map(local::Local::queued),
            wal_restarts_held: self.local().map(local::Local::wal_restarts_held),
            wal_bound_bytes: self.local().map(local::Local::wal_bound_bytes),
            recalled: self.recall().map(recall::Recall::hits),
            recall_rows: self.recall().map(recall::Recall::len),
        }
    }

    /// Whether every migration this build knows is applied to the database (a newer build's
    /// later ones may be there too): an app server is ready only then (`/readyz`).
    pub async fn migrations_current(&self) -> Result<bool, StoreError> {
        let known = match self {
            Db::Sqlite(..) => migrations::SQLITE,
            Db::Postgres(..) => migrations::POSTGRES,
        };
        let Some(latest) = known.latest() else { return Ok(true) };
        let q = query("SELECT COUNT(*) FROM _sqlx_migrations WHERE version = $1 AND success = TRUE").bind(latest);
        Ok(self.fetch_one::<i64>(q).await? == 1)
    }

    /// A transaction for read-then-write rules. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`); on PostgreSQL, rules lock their parent row with [`Query::lock_rows`].
    pub async fn begin_write(&self) -> Result<Tx, StoreError> {
        match self {
            Db::Sqlite(pool, side, vault) => {
                let turn = side.gate.clone().lock_owned().await;
                Ok(Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?, Some(turn), vault.clone()))
            }
            Db::Postgres(pool, _, vault, _) => Ok(Tx::Postgres(pool.begin().await?, vault.clone())),
        }
    }

    /// One row of a read, or none: a [`Query::point_read`] on a SQLite file runs on this thread
    /// ([`local`]); every other read goes through sqlx's pool.
    pub async fn fetch_optional<T: FromRow>(&self, q: Query) -> Result<Option<T>, StoreError> {
        if let Some(local) = self.local().filter(|_| q.is_point_read()) {
            let mut first = None;
            local.read(&q.text(Backend::Sqlite), q.values(), |row| {
                if first.is_none() {
                    first = Some(T::from_row(&mut Row::local(row))?);
                }
                Ok(())
            })?;
            return Ok(first);
        }
        if let Some(mut lent) = self.lend_for(&q).await? {
            let sql = q.text(Backend::Postgres);
            let row = bind_values!(sqlx::query(&sql), q.values()).fetch_optional(lent.conn()?).await;
            return lent.finish(row)?.map(|r| T::from_row(&mut Row::postgres(&r))).transpose();
        }
        self.pool_fetch_optional(q).await
    }

    /// The one row of a read; `RowNotFound` when there is none.
    pub async fn fetch_one<T: FromRow>(&self, q: Query) -> Result<T, StoreError> {
        self.fetch_optional(q).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// Every row of a read, as [`Db::fetch_optional`] reads one.
    pub async fn fetch_all<T: FromRow>(&self, q: Query) -> Result<Vec<T>, StoreError> {
        if let Some(local) = self.local().filter(|_| q.is_point_read()) {
            let mut all = Vec::new();
            local.read(&q.text(Backend::Sqlite), q.values(), |row| {
                all.push(T::from_row(&mut Row::local(row))?);
                Ok(())
            })?;
            return Ok(all);
        }
        let sql = q.text(self.backend());
        if let Some(mut lent) = self.lend_for(&q).await? {
            let rows = bind_values!(sqlx::query(&sql), q.values()).fetch_all(lent.conn()?).await;
            return map_rows(lent.finish(rows)?, |r| Row::postgres(r));
        }
        match self {
            Db::Sqlite(pool, ..) => {
                map_rows(bind_values!(sqlx::query(&sql), q.values()).fetch_all(pool).await?, |r| Row::sqlite(r))
            }
            Db::Postgres(pool, ..) => {
                map_rows(bind_values!(sqlx::query(&sql), q.values()).fetch_all(pool).await?, |r| Row::postgres(r))
            }
        }
    }

    /// One statement in a transaction of its own; answers the rows it changed. Writes that
    /// belong together are a [`Unit`] ([`Db::write`]) or a [`Tx`].
    pub async fn execute(&self, q: Query) -> Result<u64, StoreError> {
        let sql = q.text(self.backend());
        let done = match self {
            Db::Sqlite(pool, ..) => bind_values!(sqlx::query(&sql), q.values()).execute(pool).await?.rows_affected(),
            Db::Postgres(pool, ..) => bind_values!(sqlx::query(&sql), q.values()).execute(pool).await?.rows_affected(),
        };
        Ok(done)
    }

    /// Applies a unit of statements atomically and answers when it is durable. On SQLite's file
    /// databases units are group-committed by one writer thread ([`local`]). On PostgreSQL a
    /// unit of one statement, or of [`Unit::independent`] ones, is one statement ([`compose`]);
    /// every other unit is a transaction of its own.
    pub async fn write(&self, unit: Unit) -> Result<Applied, StoreError> {
        if let Some(local) = self.local() {
            return Ok(local.write(unit).await?);
        }
        if let Db::Postgres(pool, quick, ..) = self {
            let independent = unit.independent;
            let statements = match <[Statement; 1]>::try_from(unit.statements) {
                Ok([Statement { query, must_change }]) => {
                    // One statement is a transaction of itself, and one that changed nothing has
                    // nothing to undo.
                    let sql = query.text(Backend::Postgres);
                    let bound = bind_values!(sqlx::query(&sql), query.values());
                    let rows = on_lent_or_pool!(quick, pool, |on| bound.execute(on))?.rows_affected();
                    return Ok(if must_change && rows == 0 { Applied::Stopped(0) } else { Applied::Done(vec![rows]) });
                }
                Err(statements) => statements,
            };
            if let Some((sql, values)) = independent.then(|| COMPOSED.one_statement(&statements)).flatten() {
                let bound = bind_values!(sqlx::query(&sql), &values);
                return match on_lent_or_pool!(quick, pool, |on| bound.fetch_one(on)) {
                    Ok(row) => {
                        let changed: Vec<i64> = sqlx::Row::try_get(&row, 0)?;
                        Ok(Applied::Done(changed.into_iter().map(|n| n as u64).collect()))
                    }
                    Err(e) => compose::stopped_at(&e).map(Applied::Stopped).ok_or(e),
                };
            }
            return self.write_in_transaction(statements).await;
        }
        self.write_in_transaction(unit.statements).await
    }

    /// PostgreSQL: a read of at most one row and a unit of statements that name its row as
    /// `ecert_read`, in one statement over one snapshot ([`compose::read_then_unit`]): one round
    /// trip where the read and [`Db::write`] are two, and the writes see exactly what the read
    /// saw (each `UPDATE` still re-checks the newest version of the rows it changes). Each
    /// statement must change nothing when the read finds no row; then the answer is
    /// [`ReadThen::Missing`]. PostgreSQL only (check [`Db::backend`] first): on SQLite, whose
    /// reads and writes are in this process anyway, the caller reads and then calls
    /// [`Db::write`], and this answers an error. Statements that cannot be one
    /// ([`compose::read_then_unit`]) are an error too, not a quiet fallback: the caller's tests
    /// on PostgreSQL say so.
    pub async fn read_then_write<T: FromRow>(
        &self,
        read: &Query,
        statements: &[Statement],
    ) -> Result<ReadThen<T>, StoreError> {
        self.read_then_write_if(read, None, statements).await
    }

    /// [`Db::read_then_write`] where the read's row decides whether the unit applies: its
    /// boolean column `gate` ([`compose::read_then_unit`]). The row is answered as
    /// [`ReadThen::Done`] whether the gate was open or shut; each statement must change nothing
    /// while it is shut (the caller reads the gate from the row to tell which).
    pub async fn read_then_write_if<T: FromRow>(
        &self,
        read: &Query,
        gate: Option<&str>,
        statements: &[Statement],
    ) -> Result<ReadThen<T>, StoreError> {
        let Db::Postgres(pool, quick, ..) = self else {
            return Err(sqlx::Error::Protocol("a read and its unit as one statement is PostgreSQL's".into()));
        };
        let Some((sql, values)) = COMPOSED.read_then_unit(read, gate, statements) else {
            return Err(sqlx::Error::Protocol("a read and a unit that cannot be one statement".into()));
        };
        let bound = bind_values!(sqlx::query(&sql), &values);
        match on_lent_or_pool!(quick, pool, |on| bound.fetch_optional(on)) {
            Ok(None) => Ok(ReadThen::Missing),
            Ok(Some(row)) => Ok(ReadThen::Done(T::from_row(&mut Row::postgres(&row))?)),
            Err(e) => compose::stopped_at(&e).map(ReadThen::Stopped).ok_or(e),
        }
    }

    /// A unit's statements in a transaction of their own, stopping at a `must_change` that
    /// changed nothing.
    async fn write_in_transaction(&self, statements: Vec<Statement>) -> Result<Applied, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut changed = Vec::with_capacity(statements.len());
        for (index, statement) in statements.into_iter().enumerate() {
            let rows = tx.execute(statement.query).await?;
            if statement.must_change && rows == 0 {
                // Dropping the transaction rolls it back.
                return Ok(Applied::Stopped(index));
            }
            changed.push(rows);
        }
        tx.commit().await?;
        Ok(Applied::Done(changed))
    }

    /// One row through sqlx's pool, whatever the statement (an `UPDATE … RETURNING` too).
    async fn pool_fetch_optional<T: FromRow>(&self, q: Query) -> Result<Option<T>, StoreError> {
        let sql = q.text(self.backend());
        match self {
            Db::Sqlite(pool, ..) => bind_values!(sqlx::query(&sql), q.values())
                .fetch_optional(pool)
                .await?
                .map(|r| T::from_row(&mut Row::sqlite(&r)))
                .transpose(),
            Db::Postgres(pool, ..) => bind_values!(sqlx::query(&sql), q.values())
                .fetch_optional(pool)
                .await?
                .map(|r| T::from_row(&mut Row::postgres(&r)))
                .transpose(),
        }
    }

    /// A connection of PostgreSQL's [`quick`] set for a point read, when one is free.
    async fn lend_for(&self, q: &Query) -> Result<Option<quick::Lent>, StoreError> {
        match self {
            Db::Postgres(_, quick, ..) if q.is_point_read() => quick.try_lend().await,
            _ => Ok(None),
        }
    }

    /// The local path of a SQLite file database.
    fn local(&self) -> Option<&local::Local> {
        match self {
            Db::Sqlite(_, side, _) => side.local.as_ref(),
            Db::Postgres(..) => None,
        }
    }

    /// Closes the pool and SQLite's local path: every later call fails.
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pool, side, _) => {
                if let Some(local) = &side.local {
                    local.close();
                }
                pool.close().await
            }
            Db::Postgres(pool, quick, ..) => {
                quick.close().await;
                pool.close().await
            }
        }
    }
}

impl Tx {
    /// One row of a read in this transaction, or none.
    pub async fn fetch_optional<T: FromRow>(&mut self, q: Query) -> Result<Option<T>, StoreError> {
        let sql = q.text(self.backend());
        match self {
            Tx::Sqlite(tx, ..) => bind_values!(sqlx::query(&sql), q.values())
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| T::from_row(&mut Row::sqlite(&r)))
                .transpose(),
            Tx::Postgres(tx, _) => bind_values!(sqlx::query(&sql), q.values())
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| T::from_row(&mut Row::postgres(&r)))
                .transpose(),
        }
    }

    /// The one row of a read in this transaction; `RowNotFound` when there is none.
    pub async fn fetch_one<T: FromRow>(&mut self, q: Query) -> Result<T, StoreError> {
        self.fetch_optional(q).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// Every row of a read in this transaction.
    pub async fn fetch_all<T: FromRow>(&mut self, q: Query) -> Result<Vec<T>, StoreError> {
        let sql = q.text(self.backend());
        match self {
            Tx::Sqlite(tx, ..) => {
                map_rows(bind_values!(sqlx::query(&sql), q.values()).fetch_all(&mut **tx).await?, |r| Row::sqlite(r))
            }
            Tx::Postgres(tx, _) => {
                map_rows(bind_values!(sqlx::query(&sql), q.values()).fetch_all(&mut **tx).await?, |r| Row::postgres(r))
            }
        }
    }

    /// Runs one statement in this transaction; answers the rows it changed.
    pub async fn execute(&mut self, q: Query) -> Result<u64, StoreError> {
        let sql = q.text(self.backend());
        let done = match self {
            Tx::Sqlite(tx, ..) => bind_values!(sqlx::query(&sql), q.values()).execute(&mut **tx).await?.rows_affected(),
            Tx::Postgres(tx, _) => {
                bind_values!(sqlx::query(&sql), q.values()).execute(&mut **tx).await?.rows_affected()
            }
        };
        Ok(done)
    }

    /// Keeps other writers out of `table` until this transaction ends: PostgreSQL's `LOCK TABLE
    /// … IN EXCLUSIVE MODE` (reads go on); on SQLite the transaction already holds the write lock.
    pub async fn lock_table(&mut self, table: &'static str) -> Result<(), StoreError> {
        if let Tx::Postgres(..) = self {
            self.execute(query(format!("LOCK TABLE {table} IN EXCLUSIVE MODE"))).await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), StoreError> {
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
}

/// True when the statement failed on a unique constraint, on any path (classified by the driver's
/// error code, not by text: the local path reports its failures as database errors too).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}
