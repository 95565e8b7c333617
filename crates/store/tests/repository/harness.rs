//! A fresh, migrated database per test — a new PostgreSQL database or a new SQLite file —
//! dropped afterwards, pass or fail.

use sqlx::{Connection, PgConnection, SqliteConnection};
use switchboard_store::Store;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// `DATABASE_URL`, or the local PostgreSQL of the development machine and CI.
pub(crate) fn postgres_admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").expect("a URL with a scheme");
    let host = rest.split_once('/').map_or(rest, |(host, _)| host);
    match query {
        Some(q) => format!("{scheme}://{host}/{name}?{q}"),
        None => format!("{scheme}://{host}/{name}"),
    }
}

/// A migrated store on a database of its own.
#[derive(Clone, Debug)]
pub(crate) struct TestDb {
    pub(crate) store: Store,
    backend: Backend,
    url: String,
    /// The PostgreSQL database name, or the SQLite file path.
    name: String,
}

impl TestDb {
    /// Creates and migrates the database. Panics (the test fails, it does not skip) when
    /// PostgreSQL is unreachable.
    pub(crate) async fn new(backend: Backend) -> TestDb {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let (url, name) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("sb_test_{unique}.db"));
                let path = path.to_str().expect("a UTF-8 temp dir").to_owned();
                (format!("sqlite://{path}"), path)
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("sb_test_{unique}");
                let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin} is required for these tests: {e}")
                });
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                conn.close().await.ok();
                (with_database(&admin, &name), name)
            }
        };
        let store = Store::connect(&url).await.expect("connect");
        store.migrate().await.expect("migrate");
        TestDb {
            store,
            backend,
            url,
            name,
        }
    }

    /// Runs SQL on a connection of its own, behind the store's back (to plant corrupt rows,
    /// or to break the schema on purpose).
    pub(crate) async fn raw(&self, sql: &'static str) {
        match self.backend {
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

    /// A single `bigint` from a query of its own.
    pub(crate) async fn raw_i64(&self, sql: &'static str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
        }
    }

    pub(crate) async fn drop_database(self) {
        self.store.close().await;
        match self.backend {
            Backend::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let mut conn = PgConnection::connect(&admin).await.expect("PostgreSQL");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "drop database if exists {} with (force)",
                    self.name
                )))
                .execute(&mut conn)
                .await
                .expect("drop database");
                conn.close().await.ok();
            }
        }
    }
}

/// Runs `scenario` on a fresh database, drops the database, then reports the scenario's
/// panic, if any.
pub(crate) async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let db = TestDb::new(backend).await;
    let outcome = tokio::spawn(scenario(db.clone())).await;
    db.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

#[test]
fn database_names_are_swapped_in_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}
