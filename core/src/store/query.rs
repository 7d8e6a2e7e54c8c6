//! The one way to the database: a [`Query`] — SQL text with `$1…$N` placeholders and the typed
//! values bound to them — run by [`Db`](super::Db) or [`Tx`](super::Tx), its rows mapped by
//! [`FromRow`] the same way on every path (sqlx on SQLite or PostgreSQL, rusqlite on SQLite's
//! local path). Code outside `store` never names sqlx or rusqlite to read or write.
//!
//! ```ignore
//! let row: Option<(String, i64)> = tx
//!     .fetch_optional(query("SELECT id, expires_at FROM login WHERE id = $1").bind(id).lock_rows())
//!     .await?;
//! ```

/// A value bound to a `$n` of a [`Query`]. A NULL keeps its column type, so PostgreSQL sees a
/// typed parameter either way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(Option<bool>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(Some(s.to_owned()))
    }
}

impl From<&&str> for Value {
    fn from(s: &&str) -> Value {
        Value::Text(Some((*s).to_owned()))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Text(Some(s))
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Text(Some(s.clone()))
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(Some(i))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(Some(b))
    }
}

impl From<Option<&str>> for Value {
    fn from(s: Option<&str>) -> Value {
        Value::Text(s.map(str::to_owned))
    }
}

impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Value {
        Value::Text(s)
    }
}

impl From<&Option<String>> for Value {
    fn from(s: &Option<String>) -> Value {
        Value::Text(s.clone())
    }
}

impl From<Option<i64>> for Value {
    fn from(i: Option<i64>) -> Value {
        Value::Int(i)
    }
}

impl From<crate::time::Millis> for Value {
    fn from(t: crate::time::Millis) -> Value {
        Value::Int(Some(t.0))
    }
}

/// How a `SELECT` locks the rows it reads inside a write transaction. PostgreSQL locks them;
/// SQLite needs nothing, because [`Db::begin_write`](super::Db::begin_write) already holds the
/// database's write lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lock {
    None,
    /// `FOR UPDATE`: every table of the query.
    All,
    /// `FOR UPDATE OF alias`: one table of a join.
    Of(&'static str),
}

/// SQL with its bound values; see the module documentation.
#[derive(Clone, Debug)]
pub struct Query {
    sql: String,
    values: Vec<Value>,
    lock: Lock,
    /// Set by [`Query::point_read`].
    point: bool,
}

/// A query of `sql`, whose `$n` takes the n-th [`Query::bind`].
pub fn query(sql: impl Into<String>) -> Query {
    Query { sql: sql.into(), values: Vec::new(), lock: Lock::None, point: false }
}

impl Query {
    /// Binds the next `$n`.
    pub fn bind(mut self, value: impl Into<Value>) -> Query {
        self.values.push(value.into());
        self
    }

    /// Marks a read of a few rows by an index, on a hot path: on a SQLite file, [`Db`](super::Db)
    /// runs it on the calling thread ([`super::local`]), which spares two thread hand-offs and
    /// blocks the thread for microseconds. Any other read goes through sqlx's pool, whose own
    /// threads take the time of a search, a count or an export.
    pub fn point_read(self) -> Query {
        Query { point: true, ..self }
    }

    pub(super) fn is_point_read(&self) -> bool {
        self.point
    }

    /// Locks the rows this `SELECT` reads until the transaction ends (PostgreSQL `FOR UPDATE`).
    pub fn lock_rows(self) -> Query {
        Query { lock: Lock::All, ..self }
    }

    /// Locks the rows of the table aliased `alias` only (PostgreSQL `FOR UPDATE OF alias`): a
    /// join that reads a parent row to check it locks that row and not the others.
    pub fn lock_rows_of(self, alias: &'static str) -> Query {
        Query { lock: Lock::Of(alias), ..self }
    }

    /// As a statement of a [`Unit`](super::Unit) that stops the unit when it changes no row.
    pub fn must_change(self) -> super::Statement {
        super::Statement { query: self, must_change: true }
    }

    pub(super) fn values(&self) -> &[Value] {
        &self.values
    }

    /// The text to run on `backend`.
    pub(super) fn text(&self, backend: super::Backend) -> std::borrow::Cow<'_, str> {
        match (backend, self.lock) {
            (super::Backend::Postgres, Lock::All) => format!("{} FOR UPDATE", self.sql).into(),
            (super::Backend::Postgres, Lock::Of(alias)) => format!("{} FOR UPDATE OF {alias}", self.sql).into(),
            _ => self.sql.as_str().into(),
        }
    }
}

/// One row as the three drivers hand it over, read column by column.
pub struct Row<'r> {
    source: Source<'r>,
    next: usize,
}

enum Source<'r> {
    Sqlite(&'r sqlx::sqlite::SqliteRow),
    Postgres(&'r sqlx::postgres::PgRow),
    Local(&'r rusqlite::Row<'r>),
}

impl<'r> Row<'r> {
    pub(super) fn sqlite(row: &'r sqlx::sqlite::SqliteRow) -> Row<'r> {
        Row { source: Source::Sqlite(row), next: 0 }
    }

    pub(super) fn postgres(row: &'r sqlx::postgres::PgRow) -> Row<'r> {
        Row { source: Source::Postgres(row), next: 0 }
    }

    pub(super) fn local(row: &'r rusqlite::Row<'r>) -> Row<'r> {
        Row { source: Source::Local(row), next: 0 }
    }

    /// The next column, by position.
    pub fn next_column<T: Column>(&mut self) -> Result<T, sqlx::Error> {
        let index = self.next;
        self.next += 1;
        match &self.source {
            Source::Sqlite(row) => T::sqlite(row, ColumnAt::Index(index)),
            Source::Postgres(row) => T::postgres(row, ColumnAt::Index(index)),
            Source::Local(row) => T::local(row, ColumnAt::Index(index)).map_err(super::local::decode_error),
        }
    }

    /// The column named `name` (as the `SELECT` names it).
    pub fn named<T: Column>(&self, name: &str) -> Result<T, sqlx::Error> {
        match &self.source {
            Source::Sqlite(row) => T::sqlite(row, ColumnAt::Name(name)),
            Source::Postgres(row) => T::postgres(row, ColumnAt::Name(name)),
            Source::Local(row) => T::local(row, ColumnAt::Name(name)).map_err(super::local::decode_error),
        }
    }
}

/// Where a column is in its row.
#[derive(Clone, Copy, Debug)]
pub enum ColumnAt<'a> {
    Index(usize),
    Name(&'a str),
}

/// A value one column holds, as each driver decodes it.
pub trait Column: Sized {
    fn sqlite(row: &sqlx::sqlite::SqliteRow, at: ColumnAt<'_>) -> Result<Self, sqlx::Error>;
    fn postgres(row: &sqlx::postgres::PgRow, at: ColumnAt<'_>) -> Result<Self, sqlx::Error>;
    fn local(row: &rusqlite::Row<'_>, at: ColumnAt<'_>) -> rusqlite::Result<Self>;
}

/// A type read from a row of a [`Query`]: a struct (its columns by name, [`from_row!`]), a
/// tuple (its columns in order) or one column's value.
pub trait FromRow: Sized {
    fn from_row(row: &mut Row<'_>) -> Result<Self, sqlx::Error>;
}

/// [`Column`] and single-column [`FromRow`] for types that every driver decodes itself (sqlx's
/// `Decode` on both backends, rusqlite's `FromSql`), and for their `Option`.
macro_rules! column {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::store::Column for $t {
            fn sqlite(row: &sqlx::sqlite::SqliteRow, at: $crate::store::ColumnAt<'_>) -> Result<Self, sqlx::Error> {
                match at {
                    $crate::store::ColumnAt::Index(i) => sqlx::Row::try_get(row, i),
                    $crate::store::ColumnAt::Name(n) => sqlx::Row::try_get(row, n),
                }
            }
            fn postgres(row: &sqlx::postgres::PgRow, at: $crate::store::ColumnAt<'_>) -> Result<Self, sqlx::Error> {
                match at {
                    $crate::store::ColumnAt::Index(i) => sqlx::Row::try_get(row, i),
                    $crate::store::ColumnAt::Name(n) => sqlx::Row::try_get(row, n),
                }
            }
            fn local(row: &rusqlite::Row<'_>, at: $crate::store::ColumnAt<'_>) -> rusqlite::Result<Self> {
                match at {
                    $crate::store::ColumnAt::Index(i) => row.get(i),
                    $crate::store::ColumnAt::Name(n) => row.get(n),
                }
            }
        }

        impl $crate::store::FromRow for $t {
            fn from_row(row: &mut $crate::store::Row<'_>) -> Result<Self, sqlx::Error> {
                row.next_column()
            }
        }
    )+};
}
pub(crate) use column;

column!(String, Option<String>, i64, Option<i64>, bool);

macro_rules! tuple_rows {
    ($($t:ident),+) => {
        impl<$($t: Column),+> FromRow for ($($t,)+) {
            fn from_row(row: &mut Row<'_>) -> Result<Self, sqlx::Error> {
                Ok(($(row.next_column::<$t>()?,)+))
            }
        }
    };
}
tuple_rows!(A);
tuple_rows!(A, B);
tuple_rows!(A, B, C);
tuple_rows!(A, B, C, D);
tuple_rows!(A, B, C, D, E);
tuple_rows!(A, B, C, D, E, F);
tuple_rows!(A, B, C, D, E, F, G);
tuple_rows!(A, B, C, D, E, F, G, H);
tuple_rows!(A, B, C, D, E, F, G, H, I);

/// [`FromRow`] for a struct whose fields are columns of the same names (a `SELECT` that joins
/// must alias a repeated name: the drivers do not agree on which of two equal names wins):
/// `from_row!(HolderRow { id, role, name });`. Fields listed under `flatten { … }` are structs
/// read from the same row by their own `FromRow`.
macro_rules! from_row {
    ($t:ident { $($field:ident),+ $(,)? } $(flatten { $($flat:ident),+ $(,)? })?) => {
        impl $crate::store::FromRow for $t {
            fn from_row(row: &mut $crate::store::Row<'_>) -> Result<Self, sqlx::Error> {
                Ok($t {
                    $($field: row.named(stringify!($field))?,)+
                    $($($flat: $crate::store::FromRow::from_row(row)?,)+)?
                })
            }
        }
    };
}
pub(crate) use from_row;

/// Binds a query's values to a sqlx query of either backend.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for value in $values {
            q = match value {
                Value::Text(s) => q.bind(s.as_deref()),
                Value::Int(i) => q.bind(*i),
                Value::Bool(b) => q.bind(*b),
            };
        }
        q
    }};
}
pub(super) use bind_values;

/// Maps sqlx rows with `wrap` and [`FromRow`].
pub(super) fn map_rows<R, T: FromRow>(
    rows: Vec<R>,
    wrap: impl for<'a> Fn(&'a R) -> Row<'a>,
) -> Result<Vec<T>, sqlx::Error> {
    rows.iter().map(|r| T::from_row(&mut wrap(r))).collect()
}
