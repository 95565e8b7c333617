//! The durable in-process backend's two moments: a step's events are published once its
//! journal commit survives a crash of the process (`JournalFeed::published`), and the caller
//! is answered only once it is on disk (`JournalFeed::synced`) — so an offer rings without
//! waiting for the disk, and an acknowledgement never goes out before it.

use std::time::Duration;

use switchboard_dispatch::{Engine, MemoryBackend, QueueBackend};
use switchboard_domain::{
    Channel, Command, ContactId, EventKind, NewContact, QueueConfig, QueueId, Timestamp,
};

#[tokio::test]
async fn events_are_published_at_the_commit_and_the_caller_answered_at_the_sync() {
    let (backend, mut feed) = MemoryBackend::durable(Engine::new(), 0);
    let backend = std::sync::Arc::new(backend);
    let now = Timestamp::from_millis(1_000);
    let sales = QueueId::parse("sales").unwrap();
    let configure = tokio::spawn({
        let backend = backend.clone();
        let sales = sales.clone();
        async move {
            backend
                .execute(Command::UpsertQueue(QueueConfig::new(sales)), now)
                .await
        }
    });
    // Configuration is journaled too: store and sync it.
    if let Some(batch) = feed.next_batch(10).await {
        let last = feed.published(batch).unwrap();
        feed.synced(last);
    }
    configure.await.unwrap().unwrap();

    let mut events = backend.subscribe();
    let contact = ContactId::from_parts(now, [7; 10]);
    let enqueue = tokio::spawn({
        let backend = backend.clone();
        async move {
            backend
                .execute(
                    Command::Enqueue(NewContact::new(contact, sales, Channel::Voice)),
                    now,
                )
                .await
        }
    });
    let batch = feed.next_batch(10).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(50), events.recv())
            .await
            .is_err(),
        "nothing is published before the journal commit"
    );
    let last = feed.published(batch).unwrap();
    let queued = events.recv().await.unwrap();
    assert!(
        matches!(queued.kind, EventKind::ContactQueued { .. }),
        "{queued:?}"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !enqueue.is_finished(),
        "answered before the step was on disk"
    );
    assert_eq!(feed.pending(), 0, "stored, only the sync is left");
    feed.synced(last);
    let answered = tokio::time::timeout(Duration::from_secs(5), enqueue)
        .await
        .expect("answered once synced")
        .unwrap()
        .unwrap();
    assert_eq!(answered, vec![queued]);
}
