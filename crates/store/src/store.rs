//! Connecting to either database, migrating it, and the pool enum every operation matches on.

use std::{str::FromStr, time::Duration};

use sqlx::{
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPool, PgPoolOptions},
    sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    },
};
use switchboard_domain::Timestamp;

use crate::StoreError;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// How long an operation waits for a free connection before failing as `unavailable`. On a
/// SQLite file this is also how long a write waits for its turn at the writer.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a SQLite connection waits for a lock held by another connection. Within one store
/// only readers are left to wait (WAL: rarely, e.g. while the WAL is reset); another process
/// on the same file (a second `switchboard` or a `migrate`) can still make a write wait.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Read-only connections of a file SQLite store. WAL lets them read while the writer writes.
const SQLITE_READ_CONNECTIONS: u32 = 4;
/// Every commit waits for the WAL flush (several ms on a plain disk), and a telephony hook
/// commits several times; with 10 connections 500 calls/s queued for the pool (hook p50 150 ms).
/// PostgreSQL flushes the commits waiting together in one go, so more connections in
/// flight means more commits per flush. Mind `max_connections` (100 by default) when running
/// several instances.
const POSTGRES_CONNECTIONS: u32 = 32;

/// A handle on the database: cheap to clone (pools inside), safe to share between tasks.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: Pool,
    /// A SQLite file's write-ahead log (`<file>-wal`), for [`Store::sync_to_disk`].
    wal: Option<std::sync::Arc<std::path::PathBuf>>,
}

/// One connection pool's connections: open, and open but idle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    pub role: &'static str,
    pub size: u32,
    pub idle: u32,
}

/// The connections of a store.
///
/// SQLite takes one writer at a time for the whole file. Several connections that write
/// would queue for its write lock inside SQLite, whose busy handler polls in sleeps of 1, 2,
/// 5, 10 … 100 ms: a write waits up to 100 ms past the moment the lock is free, and a commit
/// that others wait for (the journal's, which every offer waits for) waits behind them.
/// So a SQLite store writes through one connection, `write`, and its writes queue for it
/// in the process, first come first served, with no sleeps; `read` serves the reads,
/// alongside (WAL). On a file, `read` is read-only: a write sent there fails rather than
/// contend. In memory both are the same single connection.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the pool that serves reads: a statement, or a
/// transaction, that writes nothing. The body is written once and compiled for both
/// databases, so it must use SQL both accept (both take `$1` placeholders) and types both
/// can bind and decode.
macro_rules! with_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite { read: $pool, .. } => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_reader;

/// [`with_reader!`] for whatever writes (`insert`, `update`, `delete`, a transaction with
/// any of them): on SQLite, the one writer connection.
macro_rules! with_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite { write: $pool, .. } => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_writer;

impl Store {
    /// Opens a store on `url`:
    ///
    /// * `sqlite://path/to/file.db` — the file is created if missing, in WAL mode with
    ///   `synchronous = normal`, foreign keys on. One connection writes, and the writes queue
    ///   for it in the process; up to four read-only connections read meanwhile (see `Pool`).
    ///   A commit is in the WAL file (the OS's page cache) when it returns, so a crash of the
    ///   process — SIGKILL included — loses nothing committed; it is on disk only after the
    ///   next fsync of the WAL, [`Store::sync_to_disk`] (after [`Store::append_journal`], and
    ///   inside [`Store::save_engine_snapshot`]), which puts every earlier commit on disk;
    /// * `sqlite::memory:` — a private in-memory database on a single connection, for tests
    ///   and demos; it lives as long as the store;
    /// * `postgres://…` (or `postgresql://…`): one pool for reads and writes.
    ///
    /// Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        if url.starts_with("sqlite:") {
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            let options = SqliteConnectOptions::from_str(url)?
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            // One connection that never closes: in memory, the database exists only inside
            // it; on a file, it is the writer, and keeps the WAL open for the readers.
            let single = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(ACQUIRE_TIMEOUT);
            let mut wal = None;
            let pool = if in_memory {
                let pool = single.connect_with(options).await?;
                Pool::Sqlite {
                    read: pool.clone(),
                    write: pool,
                }
            } else {
                let mut path = options.get_filename().as_os_str().to_owned();
                path.push("-wal");
                wal = Some(std::sync::Arc::new(std::path::PathBuf::from(path)));
                let write = single
                    .connect_with(
                        options
                            .clone()
                            .create_if_missing(true)
                            .journal_mode(SqliteJournalMode::Wal)
                            .synchronous(SqliteSynchronous::Normal),
                    )
                    .await?;
                // Opened after the writer made the file and switched it to WAL.
                let read = SqlitePoolOptions::new()
                    .max_connections(SQLITE_READ_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options.read_only(true))
                    .await?;
                Pool::Sqlite { read, write }
            };
            Ok(Store { pool, wal })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(POSTGRES_CONNECTIONS)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options)
                .await?;
            Ok(Store {
                pool: Pool::Postgres(pool),
                wal: None,
            })
        } else {
            Err(StoreError::Invalid(
                "database URL must start with sqlite: or postgres://".into(),
            ))
        }
    }

    /// Applies the embedded migrations of this database that are not applied yet. Safe to
    /// run at every start, and from several instances at once on PostgreSQL (sqlx takes an
    /// advisory lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// The connection pools now, by role: `("read", …)` and `("write", …)` on SQLite, one
    /// `("shared", …)` on PostgreSQL.
    pub fn pool_status(&self) -> Vec<PoolStatus> {
        let status = |role, size: u32, idle: usize| PoolStatus {
            role,
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        };
        match &self.pool {
            Pool::Sqlite { read, write } => vec![
                status("read", read.size(), read.num_idle()),
                status("write", write.size(), write.num_idle()),
            ],
            Pool::Postgres(pool) => vec![status("shared", pool.size(), pool.num_idle())],
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match &self.pool {
            Pool::Sqlite { .. } => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Puts every commit made so far on disk, so that it survives a power cut: on a SQLite
    /// file, an fsync of its write-ahead log (what `synchronous = full` does at each commit;
    /// the WAL is one file appended in commit order, and a checkpoint syncs it before copying
    /// it into the database). Nothing to do on PostgreSQL (a commit is flushed when it
    /// returns) or in memory. Runs beside the writer, which goes on committing meanwhile.
    pub async fn sync_to_disk(&self) -> Result<(), StoreError> {
        let Some(wal) = self.wal.clone() else {
            return Ok(());
        };
        let synced = tokio::task::spawn_blocking(move || match std::fs::File::open(&*wal) {
            Ok(file) => file.sync_data(),
            // No log: everything was checkpointed into the database, which is synced.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        })
        .await
        .map_err(|e| StoreError::Database(sqlx::Error::Io(std::io::Error::other(e))))?;
        synced.map_err(|e| StoreError::Database(sqlx::Error::Io(e)))
    }

    /// One round trip (`select 1`), for readiness probes.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_reader!(self, |pool| {
            sqlx::query("select 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Waits for the connections in use to be returned, then closes them all. Every clone of
    /// this store is closed too; later operations fail as `unavailable`.
    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pool::Postgres(pool) => pool.close().await,
        }
    }
}

/// The system clock as a [`Timestamp`], for the user operations whose signature carries no
/// `now`.
pub(crate) fn wall_clock() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use switchboard_test_support::database::TestDatabase;

    use super::*;

    /// `pragma synchronous` of the writer: the one connection of a file store that commits.
    async fn synchronous_of_writer(write: &SqlitePool) -> i64 {
        assert_eq!(write.size(), 1, "a SQLite file store has one writer");
        let (mode,): (i64,) = sqlx::query_as("pragma synchronous")
            .fetch_one(write)
            .await
            .unwrap();
        mode
    }

    #[tokio::test]
    async fn a_sqlite_file_commits_without_waiting_for_the_disk_until_asked() {
        const NORMAL: i64 = 1;
        let db = TestDatabase::sqlite();
        let store = Store::connect(db.url()).await.unwrap();
        store.migrate().await.unwrap();
        let Pool::Sqlite { read, write } = &store.pool else {
            panic!("a sqlite: URL gives a SQLite pool");
        };
        for pool in [read, write] {
            let (journal_mode,): (String,) = sqlx::query_as("pragma journal_mode")
                .fetch_one(pool)
                .await
                .unwrap();
            assert_eq!(journal_mode, "wal");
        }
        assert_eq!(synchronous_of_writer(write).await, NORMAL);
        // The journal and the snapshot commit as every write does; their fsync is
        // `sync_to_disk`'s, on the WAL file, beside the writer.
        store.append_journal(&[], &[]).await.unwrap();
        store.sync_to_disk().await.unwrap();
        store
            .save_engine_snapshot("{}", 0, Timestamp::from_millis(0))
            .await
            .unwrap();
        assert_eq!(synchronous_of_writer(write).await, NORMAL);
        assert!(
            std::path::Path::new(&format!("{}-wal", db.url().trim_start_matches("sqlite://")))
                .exists(),
            "the WAL file sync_to_disk flushes is where the store says"
        );
        // Nothing to flush in memory or on PostgreSQL: it answers at once.
        let memory = Store::connect("sqlite::memory:").await.unwrap();
        memory.sync_to_disk().await.unwrap();
    }
}
