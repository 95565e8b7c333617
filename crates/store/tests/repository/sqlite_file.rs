//! What a SQLite file store adds to the suite: its writes queue in the process for the one
//! connection that writes, first come first served, and reads go on meanwhile.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use switchboard_domain::{ContactId, EventId};
use switchboard_store::{JournalStep, Store};
use switchboard_test_support::{database::TestDatabase, time::t};
use tokio::time::{sleep, timeout};

/// Longer than SQLite's busy timeout (5 s): a write still waiting inside SQLite for its
/// write lock by then would fail as `database is locked`.
const HOLD: Duration = Duration::from_millis(6_000);
const WRITERS: u64 = 40;

/// Writer `n`'s write, one of five kinds in turn; every kind is one commit.
async fn write(store: &Store, n: u64) {
    let now = t(n as i64);
    match n % 5 {
        0 => store
            .save_hook_response("pbx", &format!("event-{n}"), "{}", now)
            .await
            .unwrap(),
        1 => store
            .append_journal(
                &[JournalStep {
                    seq: n,
                    at: now,
                    command: None,
                }],
                &crate::suite::numbered_events([n]),
            )
            .await
            .unwrap(),
        2 => {
            store
                .append_events(&crate::suite::numbered_events([n]))
                .await
                .unwrap();
        }
        3 => store
            .set_contact_customer(contact(n), &format!("customer-{n}"), now)
            .await
            .unwrap(),
        _ => store
            .end_call("pbx", &format!("call-{n}"), now)
            .await
            .unwrap(),
    }
}

fn contact(n: u64) -> ContactId {
    ContactId::from_uuid(uuid::Uuid::from_u128(
        0x0192_f0c4_0000_7000_8000_0000_0000_0000 + u128::from(n),
    ))
}

#[tokio::test]
async fn writes_wait_their_turn_in_order_however_long_a_transaction_holds_the_file() {
    let db = TestDatabase::sqlite();
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    store
        .save_hook_response("pbx", "before", "{\"ok\":true}", t(0))
        .await
        .unwrap();

    // A write transaction (the report rollup's) holds the file for longer than SQLite's
    // busy timeout while writers of every kind arrive one after another.
    let (rollup, _) = store.begin_rollup(t(0)).await.unwrap();
    let done = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for n in 1..=WRITERS {
        let (store, done) = (store.clone(), done.clone());
        writers.push(tokio::spawn(async move {
            write(&store, n).await;
            done.lock().unwrap().push(n);
        }));
        sleep(Duration::from_millis(10)).await;
    }

    // Readers are not held up meanwhile.
    let read = timeout(Duration::from_secs(2), store.hook_response("pbx", "before"))
        .await
        .expect("a read does not wait for the writers");
    assert_eq!(read.unwrap().as_deref(), Some("{\"ok\":true}"));
    assert_eq!(
        done.lock().unwrap().len(),
        0,
        "the writers wait for the rollup"
    );

    sleep(HOLD.saturating_sub(Duration::from_millis(10 * WRITERS))).await;
    rollup.commit(None).await.unwrap();
    for w in writers {
        timeout(Duration::from_secs(10), w)
            .await
            .expect("every writer commits once the rollup has")
            .expect("no writer fails");
    }

    // All committed, in the order they came.
    assert_eq!(*done.lock().unwrap(), (1..=WRITERS).collect::<Vec<_>>());
    let journal = store.journal_after(0).await.unwrap();
    assert_eq!(
        journal.iter().map(|s| s.seq).collect::<Vec<_>>(),
        (1..=WRITERS).filter(|n| n % 5 == 1).collect::<Vec<_>>()
    );
    let events = (1..=WRITERS).filter(|n| matches!(n % 5, 1 | 2)).max();
    assert_eq!(store.last_event_id().await.unwrap(), events.map(EventId));
    for n in (1..=WRITERS).filter(|n| n % 5 == 0) {
        assert_eq!(
            store
                .hook_response("pbx", &format!("event-{n}"))
                .await
                .unwrap()
                .as_deref(),
            Some("{}")
        );
    }
    let customers = store
        .contact_customers_between(t(0), t(1_000))
        .await
        .unwrap();
    assert_eq!(customers.len() as u64, WRITERS / 5);
    for n in (1..=WRITERS).filter(|n| n % 5 == 4) {
        let call = store
            .call("pbx", &format!("call-{n}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(call.ended_at, Some(t(n as i64)));
    }
    store.close().await;
}
