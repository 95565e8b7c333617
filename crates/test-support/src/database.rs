//! A throw-away database per test: a new PostgreSQL database on the local server (or the
//! one `DATABASE_URL` names), or a new SQLite file in a scratch directory — migrated on
//! request, and removed when the guard drops or [`TestDatabase::remove`] is called.
//!
//! PostgreSQL that cannot be reached fails the test, naming the URL; it never skips it.

use std::{future::Future, sync::Arc};

use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};
use switchboard_store::Store;

use crate::{Error, ScratchDir};

/// Where the local PostgreSQL of a development machine and CI is.
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The database behind a [`TestDatabase`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The server test databases are made on: `DATABASE_URL` when it is a PostgreSQL URL, else
/// the local one.
pub fn postgres_admin_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| LOCAL_POSTGRES.into())
}

/// `url` with its database name replaced by `name` (the query string kept).
pub fn with_database(url: &str, name: &str) -> Result<String, Error> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base
        .split_once("://")
        .ok_or_else(|| Error::new(format!("reading the URL {url:?}"), "it has no scheme"))?;
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    Ok(match query {
        Some(q) => format!("{scheme}://{host}/{name}?{q}"),
        None => format!("{scheme}://{host}/{name}"),
    })
}

/// A database of one test's (or one run's) own. Dropping it removes it — a PostgreSQL
/// database with its connections (`drop database … with (force)`), a SQLite file with its
/// directory; [`TestDatabase::remove`] does the same and reports a failure.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    place: Place,
}

#[derive(Debug)]
enum Place {
    /// The scratch directory holding the SQLite file (`None` once removed).
    Sqlite(Option<ScratchDir>),
    /// A database on the server of `admin_url` (`removed` once dropped).
    Postgres {
        admin_url: String,
        name: String,
        removed: bool,
    },
}

impl TestDatabase {
    /// A fresh, empty database of `backend`. Panics when it cannot be made (PostgreSQL
    /// unreachable: the message names the URL).
    pub async fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        }
    }

    /// A SQLite file (`switchboard.db`, not created yet) in a scratch directory of its own.
    pub fn sqlite() -> TestDatabase {
        TestDatabase::try_sqlite().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`TestDatabase::sqlite`] that reports a failure instead of panicking.
    pub fn try_sqlite() -> Result<TestDatabase, Error> {
        let dir = ScratchDir::try_new("sb-test-sqlite")?;
        Ok(TestDatabase {
            url: format!("sqlite://{}/switchboard.db", dir.path().display()),
            place: Place::Sqlite(Some(dir)),
        })
    }

    /// A new database on [`postgres_admin_url`]'s server. Panics — the test fails, it is not
    /// skipped — when PostgreSQL is unreachable.
    pub async fn postgres() -> TestDatabase {
        let admin_url = postgres_admin_url();
        TestDatabase::try_postgres(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} is required for this test: {e}"))
    }

    /// A new database `sb_test_<32 hex digits>` on the server of `admin_url` (a URL of any
    /// database there that may `create database`).
    pub async fn try_postgres(admin_url: &str) -> Result<TestDatabase, Error> {
        // The name is ours: a fixed prefix and hex digits, safe to splice into SQL.
        let name = crate::unique_name("sb_test_");
        let url = with_database(admin_url, &name)?;
        let mut admin = PgConnection::connect(admin_url)
            .await
            .map_err(|e| Error::new(format!("connecting to {admin_url}"), e))?;
        let created = sqlx::raw_sql(AssertSqlSafe(format!("create database {name}")))
            .execute(&mut admin)
            .await;
        let _ = admin.close().await;
        created.map_err(|e| Error::new(format!("creating database {name}"), e))?;
        Ok(TestDatabase {
            url,
            place: Place::Postgres {
                admin_url: admin_url.to_owned(),
                name,
                removed: false,
            },
        })
    }

    /// The URL the store (or a server process) connects to.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        match self.place {
            Place::Sqlite(_) => Backend::Sqlite,
            Place::Postgres { .. } => Backend::Postgres,
        }
    }

    /// A store connected to it and migrated.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.url));
        store
            .migrate()
            .await
            .unwrap_or_else(|e| panic!("migrating {}: {e}", self.url));
        store
    }

    /// Runs SQL on a connection of its own, behind the store's back (to plant corrupt rows,
    /// or to break the schema on purpose).
    pub async fn execute(&self, sql: &'static str) {
        match self.backend() {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
                conn.close().await.ok();
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.unwrap();
                sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
                conn.close().await.ok();
            }
        }
    }

    /// A single `bigint` from a query on a connection of its own.
    pub async fn query_i64(&self, sql: &'static str) -> i64 {
        match self.backend() {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::connect(&self.url).await.unwrap();
                let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
                conn.close().await.ok();
                n
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.unwrap();
                let n = sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap();
                conn.close().await.ok();
                n
            }
        }
    }

    /// Removes it now, reporting what failed (close the stores on it first; PostgreSQL
    /// connections still open are ended).
    pub async fn remove(mut self) -> Result<(), Error> {
        match &mut self.place {
            Place::Sqlite(dir) => match dir.take() {
                Some(dir) => dir.remove(),
                None => Ok(()),
            },
            Place::Postgres {
                admin_url,
                name,
                removed,
            } => {
                *removed = true;
                drop_postgres(admin_url, name).await
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // A SQLite directory removes itself.
        if let Place::Postgres {
            admin_url,
            name,
            removed: false,
        } = &self.place
        {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Its own thread and runtime: this may run inside an async test, or outside any.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let dropped = match runtime {
                    Ok(rt) => rt.block_on(drop_postgres(&admin_url, &name)),
                    Err(e) => Err(Error::new("starting a runtime to drop the database", e)),
                };
                if let Err(e) = dropped {
                    eprintln!("could not remove a test database: {e}");
                }
            })
            .join();
        }
    }
}

async fn drop_postgres(admin_url: &str, name: &str) -> Result<(), Error> {
    let mut admin = PgConnection::connect(admin_url)
        .await
        .map_err(|e| Error::new(format!("connecting to {admin_url}"), e))?;
    let dropped = sqlx::raw_sql(AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut admin)
    .await;
    let _ = admin.close().await;
    dropped
        .map(drop)
        .map_err(|e| Error::new(format!("dropping database {name}"), e))
}

/// A migrated store on a [`TestDatabase`] of its own. Clones share the database, which is
/// removed when the last clone drops.
#[derive(Clone, Debug)]
pub struct TestStore {
    pub store: Store,
    pub database: Arc<TestDatabase>,
}

impl TestStore {
    pub async fn new(backend: Backend) -> TestStore {
        let database = TestDatabase::create(backend).await;
        TestStore {
            store: database.store().await,
            database: Arc::new(database),
        }
    }
}

/// Runs `scenario` on a fresh migrated store, then closes the store and removes the
/// database — pass or fail — and then reports the scenario's panic, if any.
pub async fn with_store<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(TestStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let test = TestStore::new(backend).await;
    let outcome = tokio::spawn(scenario(test.clone())).await;
    let TestStore { store, database } = test;
    store.close().await;
    // Whatever the scenario left running keeps its clone; the last one removes the database.
    let removed = match Arc::try_unwrap(database) {
        Ok(database) => database.remove().await,
        Err(_) => Ok(()),
    };
    match (outcome, removed) {
        (Err(e), removed) => {
            if let Err(e) = removed {
                eprintln!("{e}");
            }
            std::panic::resume_unwind(e.into_panic());
        }
        (Ok(()), Err(e)) => panic!("{e}"),
        (Ok(()), Ok(())) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_swapped_in_urls() {
        let swap = |url| with_database(url, "x").unwrap();
        assert_eq!(
            swap("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            swap("postgres://u:p@h/db?sslmode=disable"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(swap("postgres://h:5432"), "postgres://h:5432/x");
        assert!(with_database("nonsense", "x").is_err());
    }

    async fn exists_on_server(name: &str) -> bool {
        let mut admin = PgConnection::connect(&postgres_admin_url()).await.unwrap();
        let n: i64 = sqlx::query_scalar("select count(*) from pg_database where datname = $1")
            .bind(name)
            .fetch_one(&mut admin)
            .await
            .unwrap();
        n == 1
    }

    fn postgres_name(db: &TestDatabase) -> String {
        match &db.place {
            Place::Postgres { name, .. } => name.clone(),
            Place::Sqlite(_) => panic!("not PostgreSQL"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_postgres_database_is_migrated_and_goes_away_when_dropped() {
        let db = TestDatabase::postgres().await;
        let name = postgres_name(&db);
        assert!(exists_on_server(&name).await);
        let store = db.store().await;
        assert_eq!(store.kind(), "postgres");
        assert!(db.query_i64("select count(*) from _sqlx_migrations").await > 0);
        // A connection left open does not keep it alive.
        drop(db);
        assert!(!exists_on_server(&name).await, "{name} is still there");
        store.close().await;

        let db = TestDatabase::create(Backend::Postgres).await;
        let name = postgres_name(&db);
        db.remove().await.unwrap();
        assert!(!exists_on_server(&name).await, "{name} is still there");
    }

    #[tokio::test]
    async fn a_sqlite_file_is_migrated_and_goes_away() {
        let db = TestDatabase::create(Backend::Sqlite).await;
        assert_eq!(db.backend(), Backend::Sqlite);
        let store = db.store().await;
        db.execute("create table planted (n bigint)").await;
        db.execute("insert into planted values (7)").await;
        assert_eq!(db.query_i64("select n from planted").await, 7);
        store.close().await;
        let file = db.url().trim_start_matches("sqlite://").to_owned();
        assert!(std::path::Path::new(&file).exists());
        drop(db);
        assert!(!std::path::Path::new(&file).exists());
    }

    #[tokio::test]
    async fn an_unreachable_postgres_is_an_error_naming_it() {
        // Port 1 on the loopback: nothing listens there.
        let err = TestDatabase::try_postgres("postgres://postgres@127.0.0.1:1/postgres")
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("connecting to postgres://postgres@127.0.0.1:1/postgres: "),
            "{err}"
        );
    }

    #[tokio::test]
    async fn with_store_removes_the_database_and_passes_the_panic_on() {
        let seen = Arc::new(std::sync::Mutex::new(String::new()));
        let url = seen.clone();
        let outcome = tokio::spawn(with_store(Backend::Sqlite, move |t| async move {
            *url.lock().unwrap() = t.database.url().to_owned();
            t.store.ping().await.unwrap();
            panic!("the scenario failed");
        }))
        .await;
        let panic = outcome.unwrap_err().into_panic();
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"the scenario failed"));
        let file = seen
            .lock()
            .unwrap()
            .trim_start_matches("sqlite://")
            .to_owned();
        assert!(!file.is_empty());
        assert!(
            !std::path::Path::new(&file).exists(),
            "{file} is still there"
        );
    }
}
