//! The repository suite: the same scenarios against SQLite and PostgreSQL, each on a fresh
//! database of its own.

#[macro_use]
mod suite;

mod sqlite_file;

use switchboard_store::{Store, StoreError};

mod sqlite {
    repository_suite!(switchboard_test_support::database::Backend::Sqlite);
}

mod postgres {
    repository_suite!(switchboard_test_support::database::Backend::Postgres);
}

#[tokio::test]
async fn an_in_memory_sqlite_store_works_on_one_connection() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    assert_eq!(store.kind(), "sqlite");
    store.migrate().await.unwrap();
    let events = suite::fixture_events();
    assert_eq!(store.append_events(&events).await.unwrap(), 10);
    let (writer, task) = switchboard_store::spawn_event_writer(store.clone(), Default::default());
    writer.send(suite::numbered_events(11..=20));
    writer.close();
    assert_eq!(task.await.unwrap().unwrap(), 10);
    assert_eq!(
        store.last_event_id().await.unwrap(),
        Some(switchboard_domain::EventId(20))
    );
    store.close().await;
}

#[tokio::test]
async fn unknown_database_urls_are_refused() {
    let err = Store::connect("mysql://localhost/db").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
}
