//! SQLite without thread hand-offs, for the hot paths (issue 4's benchmark; `docs/performance.md`).
//!
//! sqlx runs each SQLite connection on a thread of its own, so every statement is a message to
//! that thread and an answer back: two wake-ups for a read that SQLite answers in microseconds.
//! Here, on the file sqlx opened:
//!
//! * **reads** run on the calling task's thread, on read-only connections kept in a small pool. In
//!   WAL mode readers never wait for the writer, so a point read blocks its worker for
//!   microseconds only;
//! * **writes** ([`Unit`]s of a few statements) go to one writer thread, which commits whatever
//!   has queued meanwhile in one transaction (group commit), each unit in a savepoint of its own
//!   so that one unit's failure rolls back that unit alone. The writer takes its turn at the
//!   process's write gate like any other write transaction ([`super::Db::begin_write`]). Each
//!   caller is answered after the commit, so its rows are durable when it returns (R12).
//!
//! SQL is the same text PostgreSQL runs (`$1…$N` placeholders, bound by number).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OpenFlags, ToSql};

use super::{Applied, Unit, Value};

/// Units the writer commits together at most.
const GROUP: usize = 256;
/// How long after a commit the WAL is copied back into the database file.
const CHECKPOINT_AFTER: Duration = Duration::from_millis(200);
/// How long a checkpoint that holds writes waits for readers still reading the WAL.
const RESTART_WAIT: Duration = Duration::from_millis(200);
/// How long the writer waits for another connection's checkpoint to end before a held one: the
/// checkpoint thread's PASSIVE one lasts seconds on a slow disk, but another process's RESTART
/// may hold the lock for as long as its readers read, and the writes wait meanwhile.
const RESTART_CHECKPOINT_LOCK_WAIT: Duration = Duration::from_secs(5);
/// How long the writer waits for a lock another process holds (a backup, a migration).
const WRITER_BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// After a held checkpoint that could not start the WAL over (a long read, another
/// connection's checkpoint), the writes are not held again for this long, doubled on each
/// failure in a row up to [`RESTART_BACKOFF_MAX`].
const RESTART_BACKOFF: Duration = Duration::from_secs(1);
const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Idle read connections kept; more are opened under load and closed when returned.
const IDLE_READERS: usize = 16;
/// Pages of a reader connection's cache (256 KiB of 4 KiB pages).
const READER_CACHE_PAGES: usize = 64;

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Text(Some(s)) => ToSqlOutput::from(s.as_str()),
            Value::Int(Some(i)) => ToSqlOutput::from(*i),
            Value::Bool(Some(b)) => ToSqlOutput::from(*b),
            Value::Text(None) | Value::Int(None) | Value::Bool(None) => ToSqlOutput::from(rusqlite::types::Null),
        })
    }
}

/// A failure on the local path. SQLite's own errors keep their kind (a unique violation is one
/// here as on sqlx's paths); anything else is reported as the driver's text.
#[derive(Clone, Debug, thiserror::Error)]
pub enum LocalError {
    #[error("SQLite: {0}")]
    Database(LocalDbError),
    #[error("SQLite: {0}")]
    Other(String),
}

/// A SQLite error with its kind, as sqlx classifies the errors of its own drivers.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct LocalDbError {
    message: String,
    code: i32,
    kind: ErrorKind,
}

/// The kinds of constraint failure, from SQLite's extended result codes.
#[derive(Clone, Copy, Debug)]
enum ErrorKind {
    Unique,
    ForeignKey,
    NotNull,
    Check,
    Other,
}

impl sqlx::error::DatabaseError for LocalDbError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        match self.kind {
            ErrorKind::Unique => sqlx::error::ErrorKind::UniqueViolation,
            ErrorKind::ForeignKey => sqlx::error::ErrorKind::ForeignKeyViolation,
            ErrorKind::NotNull => sqlx::error::ErrorKind::NotNullViolation,
            ErrorKind::Check => sqlx::error::ErrorKind::CheckViolation,
            ErrorKind::Other => sqlx::error::ErrorKind::Other,
        }
    }
}

impl From<&rusqlite::Error> for LocalError {
    fn from(e: &rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(failure, message) => {
                let kind = match failure.extended_code {
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                        ErrorKind::Unique
                    }
                    rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKey,
                    rusqlite::ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNull,
                    rusqlite::ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::Check,
                    _ => ErrorKind::Other,
                };
                LocalError::Database(LocalDbError {
                    message: message.clone().unwrap_or_else(|| failure.to_string()),
                    code: failure.extended_code,
                    kind,
                })
            }
            other => LocalError::Other(other.to_string()),
        }
    }
}

impl From<rusqlite::Error> for LocalError {
    fn from(e: rusqlite::Error) -> Self {
        LocalError::from(&e)
    }
}

impl From<LocalError> for sqlx::Error {
    fn from(e: LocalError) -> Self {
        match e {
            LocalError::Database(e) => sqlx::Error::Database(Box::new(e)),
            other => sqlx::Error::AnyDriverError(Box::new(other)),
        }
    }
}

/// A column that did not decode on the local path, as sqlx reports one.
pub(super) fn decode_error(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

struct Job {
    unit: Unit,
    done: tokio::sync::oneshot::Sender<Result<Applied, LocalError>>,
}

/// The local readers and the writer of one SQLite file.
pub struct Local {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    jobs: mpsc::Sender<Job>,
    /// Units queued for the writer or being committed (issue 17 §3: the writer's queue depth).
    queued: std::sync::atomic::AtomicUsize,
    /// Counted by the writer: see [`Local::wal_restarts_held`].
    held: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The bound's whole pages times the page size: see [`Local::wal_bound_bytes`].
    bound_bytes: u64,
    /// Set by [`Local::close`]: from then on reads and writes fail, as sqlx's closed pool does.
    closed: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Local {
    /// Opens the writer connection (so that an unusable file fails here, at start) and starts
    /// the writer thread; it ends when the last handle to this `Local` is dropped.
    ///
    /// `bound_bytes`: the WAL's length, in bytes of pages (as many whole pages of the file's
    /// size, at least 16), past which the writer holds the writes while it copies the rest back
    /// and the WAL starts over ([`Bound`]); a WAL that started over is cut back to that length.
    pub fn open(
        path: &Path,
        gate: std::sync::Arc<tokio::sync::Mutex<()>>,
        bound_bytes: u64,
    ) -> Result<Local, LocalError> {
        let writer =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        writer.busy_timeout(WRITER_BUSY_TIMEOUT)?;
        // A page cache of 8 MiB: the writer alone changes the file, so its cache stays valid,
        // but not larger. When an insert splits a B-tree page, SQLite may renumber the new
        // pages through the page past the 1 GiB mark, and the commit then drops the pages past
        // the file's end by walking the cache's whole hash table, whose size follows the
        // cache's: with 64 MiB that walk was 12% of a counter's check (`pcache1TruncateUnsafe`,
        // docs/performance.md). The writer copies the WAL back itself only past its bound
        // ([`Bound`]), never at SQLite's 1,000 pages (`wal_autocheckpoint = 0`): that copy ends
        // with an fsync, and every caller queued behind it would wait for the disk.
        writer.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192; \
             PRAGMA wal_autocheckpoint = 0;",
        )?;
        let page_size: i64 = writer.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let bound_pages = (i64::try_from(bound_bytes).unwrap_or(i64::MAX) / page_size.max(1)).max(16);
        writer.execute_batch(&format!("PRAGMA journal_size_limit = {}", bound_pages * page_size))?;
        writer.set_prepared_statement_cache_capacity(64);
        let checkpointer =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        let held = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (commits, committed) = mpsc::channel();
        let past = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let skip = past.clone();
        std::thread::Builder::new()
            .name("ecert-sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpointer, &committed, &skip))
            .map_err(|e| LocalError::Other(format!("cannot start the checkpoint thread: {e}")))?;
        let mut bound = Bound {
            wal: wal_path(writer.path().map_or(path, Path::new)),
            unreadable: false,
            past,
            bytes: WAL_HEADER + bound_pages * (page_size + WAL_FRAME_HEADER),
            floor: 0,
            gate,
            held: held.clone(),
            backoff: RESTART_BACKOFF,
            not_before: std::time::Instant::now(),
        };
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("ecert-sqlite-writer".into())
            .spawn(move || write_loop(&writer, &queue, &commits, &mut bound))
            .map_err(|e| LocalError::Other(format!("cannot start the writer thread: {e}")))?;
        Ok(Local {
            path: path.to_owned(),
            readers: Mutex::new(Vec::new()),
            jobs,
            queued: std::sync::atomic::AtomicUsize::new(0),
            held,
            bound_bytes: u64::try_from(bound_pages * page_size).unwrap_or(0),
            closed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Times the WAL reached its bound and was started over while writes were held.
    pub fn wal_restarts_held(&self) -> u64 {
        self.held.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The WAL's bound, in bytes of pages (the file adds a header of 24 bytes to each).
    pub fn wal_bound_bytes(&self) -> u64 {
        self.bound_bytes
    }

    /// Closes the local path with the pool: idle readers are dropped and every later call fails.
    pub fn close(&self) {
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.readers.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn check_open(&self) -> Result<(), LocalError> {
        if self.closed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(LocalError::Other("the database is closed".into()));
        }
        Ok(())
    }

    fn reader(&self) -> Result<Connection, LocalError> {
        self.check_open()?;
        if let Some(c) = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(c);
        }
        let c = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        c.busy_timeout(Duration::from_secs(5))?;
        // No `mmap_size`: a connection unmaps the whole file whenever another one has committed
        // since its last read, so under a steady stream of writes (usage records) every read
        // faulted its pages in again and every unmap stopped the other threads to flush their
        // TLBs. Copying the few pages a point read needs costs less (docs/performance.md).
        c.set_prepared_statement_cache_capacity(64);
        // A small page cache: a reader throws its whole cache away whenever another connection
        // has committed since its last read, which under a stream of usage records is before
        // nearly every read, and the cost of that (`pcache1TruncateUnsafe`, 14% of a counter's
        // check with SQLite's default of 2 MiB) grows with the cache's hash table, never with
        // what a point read needs (a few dozen pages).
        c.execute_batch(&format!("PRAGMA cache_size = {READER_CACHE_PAGES}"))?;
        Ok(c)
    }

    /// Runs a query on this thread and hands each row to `each`.
    pub fn read(
        &self,
        sql: &str,
        values: &[Value],
        mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<(), sqlx::Error>,
    ) -> Result<(), sqlx::Error> {
        let conn = self.reader()?;
        let result = (|| {
            let mut stmt = conn.prepare_cached(sql).map_err(LocalError::from)?;
            bind(&mut stmt, values).map_err(LocalError::from)?;
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next().map_err(LocalError::from)? {
                each(row)?;
            }
            Ok::<_, sqlx::Error>(())
        })();
        let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }

    /// Units waiting for the writer or in its group being committed now.
    pub fn queued(&self) -> usize {
        self.queued.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Queues a unit for the writer and waits for the commit of its group.
    pub async fn write(&self, unit: Unit) -> Result<Applied, LocalError> {
        self.check_open()?;
        /// Counts the unit out however its caller's wait ends (answered, or dropped).
        struct Queued<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Queued<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        self.queued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _queued = Queued(&self.queued);
        let (done, answer) = tokio::sync::oneshot::channel();
        self.jobs.send(Job { unit, done }).map_err(|_| LocalError::Other("the writer thread has stopped".into()))?;
        answer.await.map_err(|_| LocalError::Other("the writer thread has stopped".into()))?
    }
}

/// Binds `values[n-1]` to each `$n` of the statement.
fn bind(stmt: &mut rusqlite::CachedStatement<'_>, values: &[Value]) -> rusqlite::Result<()> {
    for index in 1..=stmt.parameter_count() {
        let n =
            stmt.parameter_name(index).and_then(|name| name.strip_prefix('$')).and_then(|n| n.parse::<usize>().ok());
        match n.and_then(|n| values.get(n.wrapping_sub(1))) {
            Some(value) => stmt.raw_bind_parameter(index, value)?,
            None => return Err(rusqlite::Error::InvalidParameterCount(index, values.len())),
        }
    }
    Ok(())
}

fn write_loop(conn: &Connection, queue: &mpsc::Receiver<Job>, commits: &mpsc::Sender<()>, bound: &mut Bound) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let turn = bound.gate.blocking_lock();
        let answers = commit_group(conn, &group);
        drop(turn);
        // The checkpointer stops only after the writer, when this sender is dropped.
        let _ = commits.send(());
        for (job, answer) in group.into_iter().zip(answers) {
            // A caller that gave up waiting is not an error of the others.
            let _ = job.done.send(answer);
        }
        bound.keep(conn);
    }
}

/// The WAL file's header and each frame's, in bytes, around the pages it holds.
const WAL_HEADER: i64 = 32;
const WAL_FRAME_HEADER: i64 = 24;

/// The WAL beside the database file at `path`, as SQLite names it: after the file's own name, so
/// `path` is the name SQLite resolved (through symbolic links), not the one it was given.
fn wal_path(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// What bounds the WAL, kept by the writer between its commits.
///
/// A WAL starts over from its beginning only when a checkpoint has copied all of it back and
/// the writer begins next. Under a steady stream of commits the writer has always appended more
/// by the time the checkpointer's PASSIVE checkpoint ends, so the WAL never starts over and grows
/// for as long as the stream lasts: 1.2 GB beside a 280 MB database after 24 s of the benchmark
/// (docs/performance.md, *The WAL under sustained writes*), on any disk, and faster than a slow
/// disk can take it. So after each commit the writer looks at the WAL file's length (one
/// `stat`), and once it holds more than the bound's pages, it takes the write gate, copies the
/// rest back itself, waits up to [`RESTART_WAIT`] for readers still reading the WAL (`RESTART`),
/// and goes on; its next commit starts the WAL over and cuts the file back to the bound
/// (`journal_size_limit`). Writes then wait as long as the disk needs for what they wrote beyond
/// the bound: back-pressure, where the disk sets the pace, instead of a WAL that fills the disk.
///
/// Looking from the writer, after every commit, makes the bound hard: the checkpointer could
/// only look when its PASSIVE checkpoint ended, and on a slow disk (20 MB/s) one lasted seconds,
/// over which the WAL grew past a gigabyte anyway. The file's length tells the WAL's because a
/// WAL that started over is cut back to the bound at its first commit and from then on grows
/// only by frames appended past its end.
///
/// A reader that outlasts the wait (a long export, a backup's copy) leaves the WAL as it was,
/// and the writes are not held again until a backoff has passed, so that it cannot stall them
/// commit after commit.
struct Bound {
    wal: PathBuf,
    /// Set once the WAL file's length could not be read (and said so in the log).
    unreadable: bool,
    /// Set while the writer holds a restart due, so that the checkpoint thread does not begin
    /// a PASSIVE checkpoint that the restart would have to wait out.
    past: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The WAL file's length at the bound.
    bytes: i64,
    /// The file's length when the WAL last started over, if it has not been cut back since (a
    /// connection without `journal_size_limit` began the WAL anew): its frames are not known to
    /// be past the bound until the file grows beyond it, so that restarts do not follow each
    /// other commit after commit.
    floor: i64,
    gate: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Restarts made with the writes held ([`Local::wal_restarts_held`]).
    held: std::sync::Arc<std::sync::atomic::AtomicU64>,
    backoff: Duration,
    not_before: std::time::Instant,
}

impl Bound {
    /// Starts the WAL over if it is past the bound (see [`Bound`]).
    fn keep(&mut self, conn: &Connection) {
        let length = match std::fs::metadata(&self.wal) {
            Ok(m) => i64::try_from(m.len()).unwrap_or(i64::MAX),
            // Between a TRUNCATE checkpoint of another connection's and the next commit.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(error) => {
                if !std::mem::replace(&mut self.unreadable, true) {
                    tracing::warn!(wal = %self.wal.display(), %error, "cannot read the WAL's length: it is not bounded");
                }
                0
            }
        };
        if length <= self.bytes {
            self.floor = 0;
        }
        if length <= self.bytes.max(self.floor) || std::time::Instant::now() < self.not_before {
            return;
        }
        let started = std::time::Instant::now();
        self.past.store(true, std::sync::atomic::Ordering::Relaxed);
        let restarted = self.restart(conn);
        self.past.store(false, std::sync::atomic::Ordering::Relaxed);
        let held_ms = started.elapsed().as_millis() as u64;
        match restarted {
            Ok(true) => {
                self.held.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.backoff = RESTART_BACKOFF;
                self.floor = length;
                tracing::debug!(length, held_ms, "the WAL reached its bound and started over, writes held");
            }
            other => {
                self.not_before = std::time::Instant::now() + self.backoff;
                tracing::warn!(
                    length,
                    held_ms,
                    ?other,
                    backoff_s = self.backoff.as_secs(),
                    "the WAL is past its bound and could not start over (a long read?)"
                );
                self.backoff = (self.backoff * 2).min(RESTART_BACKOFF_MAX);
            }
        }
    }

    /// A RESTART checkpoint with the write gate held; answers whether the WAL can start over.
    /// While another checkpoint runs (it holds the checkpoint lock, and SQLite then answers at
    /// once, before reading the WAL's length) this waits for it to end, up to
    /// [`RESTART_CHECKPOINT_LOCK_WAIT`]: the checkpoint thread's PASSIVE one, begun before the
    /// WAL reached the bound, lasts as long as the disk needs (seconds on a slow one).
    fn restart(&self, conn: &Connection) -> rusqlite::Result<bool> {
        conn.busy_timeout(RESTART_WAIT)?;
        let outcome = (|| {
            let give_up = std::time::Instant::now() + RESTART_CHECKPOINT_LOCK_WAIT;
            loop {
                let turn = self.gate.blocking_lock();
                let (busy, log) = checkpoint(conn, "RESTART")?;
                drop(turn);
                if !(busy && log < 0) {
                    return Ok(!busy);
                }
                if std::time::Instant::now() >= give_up {
                    tracing::warn!("another checkpoint held the WAL longer than the writes can wait");
                    return Ok(false);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })();
        conn.busy_timeout(WRITER_BUSY_TIMEOUT)?;
        outcome
    }
}

/// Copies the WAL back into the database file a moment after commits, beside the writer: a
/// PASSIVE checkpoint takes no write lock, so commits go on while it copies and syncs. It ends
/// when the writer does (its sender is dropped). The writer bounds the WAL ([`Bound`]); while
/// it holds a restart due (`skip`), this one does not begin.
fn checkpoint_loop(conn: &Connection, committed: &mpsc::Receiver<()>, skip: &std::sync::atomic::AtomicBool) {
    while committed.recv().is_ok() {
        // Let a burst of commits gather so that a page written many times is copied once.
        std::thread::sleep(CHECKPOINT_AFTER);
        while committed.try_recv().is_ok() {}
        if skip.load(std::sync::atomic::Ordering::Relaxed) {
            continue;
        }
        // Another connection's checkpoint holding the lock answers busy; the next commit tries
        // again. An error (an I/O failure, say) is as passing as that.
        if let Err(error) = checkpoint(conn, "PASSIVE") {
            tracing::debug!(%error, "WAL checkpoint skipped");
        }
    }
}

/// A checkpoint in `mode`; answers whether it was stopped short by a reader, writer or other
/// checkpoint it could not wait for, and the pages the WAL holds (its frames; -1 when another
/// checkpoint held the lock and this one did not start).
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<(bool, i64)> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| Ok((row.get::<_, i64>(0)? != 0, row.get(1)?)))
}

/// Runs a statement without parameters, prepared once per connection.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// One transaction for the whole group, a savepoint per unit.
fn commit_group(conn: &Connection, group: &[Job]) -> Vec<Result<Applied, LocalError>> {
    let all_failed = |e: &rusqlite::Error| group.iter().map(|_| Err(LocalError::from(e))).collect();
    if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
        return all_failed(&e);
    }
    let answers: Vec<_> = group.iter().map(|job| apply(conn, &job.unit)).collect();
    match run(conn, "COMMIT") {
        Ok(()) => answers,
        Err(e) => {
            let _ = run(conn, "ROLLBACK");
            all_failed(&e)
        }
    }
}

fn apply(conn: &Connection, unit: &Unit) -> Result<Applied, LocalError> {
    run(conn, "SAVEPOINT unit")?;
    let outcome = (|| {
        let mut changed = Vec::with_capacity(unit.statements.len());
        for (index, statement) in unit.statements.iter().enumerate() {
            let mut stmt = conn.prepare_cached(&statement.query.text(super::Backend::Sqlite))?;
            bind(&mut stmt, statement.query.values())?;
            let rows = stmt.raw_execute()? as u64;
            if statement.must_change && rows == 0 {
                return Ok(Applied::Stopped(index));
            }
            changed.push(rows);
        }
        Ok::<_, rusqlite::Error>(Applied::Done(changed))
    })();
    match outcome {
        Ok(Applied::Done(changed)) => {
            run(conn, "RELEASE unit")?;
            Ok(Applied::Done(changed))
        }
        other => {
            run(conn, "ROLLBACK TO unit")?;
            run(conn, "RELEASE unit")?;
            Ok(other?)
        }
    }
}
