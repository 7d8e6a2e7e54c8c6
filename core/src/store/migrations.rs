//! Each engine's migrations as this build embeds them (`build.rs` lists `migrations/sqlite` and
//! `migrations/postgres`), handed to sqlx's migrator as its own directory reader would hand them:
//! the same versions, descriptions, types, SQL and so checksums as `sqlx::migrate!` gave before,
//! so that a database migrated by an older build is recognised (tested below against sqlx's
//! reader of the directories themselves).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// One engine's embedded migrations: (version, file name, SQL) in version order.
#[derive(Clone, Copy, Debug)]
pub(super) struct Embedded(&'static [(i64, &'static str, &'static str)]);

pub(super) const SQLITE: Embedded = Embedded(SQLITE_FILES);
pub(super) const POSTGRES: Embedded = Embedded(POSTGRES_FILES);

impl Embedded {
    /// The migrator that applies them.
    pub(super) async fn migrator(self) -> Result<Migrator, MigrateError> {
        Migrator::new(self).await
    }

    /// The newest version this build knows.
    pub(super) fn latest(self) -> Option<i64> {
        self.0.iter().map(|(version, ..)| *version).max()
    }

    fn migrations(self) -> Vec<Migration> {
        self.0
            .iter()
            .map(|&(version, file, sql)| {
                // `<VERSION>_<DESCRIPTION>.sql`, as build.rs took it.
                let rest = file.split_once('_').map_or(file, |(_, rest)| rest);
                let kind = MigrationType::from_filename(rest);
                let description = rest.trim_end_matches(kind.suffix()).replace('_', " ");
                let no_tx = sql.starts_with("-- no-transaction");
                Migration::new(version, Cow::Owned(description), kind, Cow::Borrowed(sql), no_tx)
            })
            .collect()
    }
}

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        let migrations = self.migrations();
        Box::pin(async move { Ok(migrations) })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Everything sqlx records of a migration and checks again on the next start.
    fn recorded(m: &Migrator) -> Vec<(i64, String, String, bool, Vec<u8>, String)> {
        m.iter()
            .map(|m| {
                let kind = m.migration_type.label().to_owned();
                (m.version, m.description.to_string(), kind, m.no_tx, m.checksum.to_vec(), m.sql.to_string())
            })
            .collect()
    }

    #[tokio::test]
    async fn the_embedded_migrations_are_those_sqlx_reads_from_the_directories() {
        for (embedded, dir, count) in [(SQLITE, "migrations/sqlite", 37), (POSTGRES, "migrations/postgres", 37)] {
            let from_disk = Migrator::new(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).await.unwrap();
            let built = embedded.migrator().await.unwrap();
            assert_eq!(recorded(&built), recorded(&from_disk), "{dir}");
            assert!(built.iter().count() >= count, "{dir}: every migration embedded");
            assert_eq!(embedded.latest(), from_disk.iter().map(|m| m.version).max(), "{dir}");
        }
    }
}
