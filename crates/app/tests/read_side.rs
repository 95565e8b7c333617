//! The read side's one subscriber against a real store (SQLite) and the in-process
//! dispatcher: today's log is replayed once into every read model, an event that arrives
//! both from the log and live counts once, and the live events follow.

use std::{sync::Arc, time::Duration};

use switchboard_app::{
    live::{self, ReadModels, Sources},
    Tasks,
};
use switchboard_dispatch::{AnyBackend, Clock, MemoryBackend, QueueBackend, SystemClock};
use switchboard_domain::{
    AgentId, AgentProfile, Channel, Command, ContactId, Event, EventId, EventKind, NewContact,
    Priority, QueueConfig, QueueId, Tier, Timestamp, WrapUp,
};
use switchboard_protocol::console::Frame;
use switchboard_test_support::database::TestDatabase;

async fn until(what: &str, mut check: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} within 5 s"));
}

fn queued(contact: ContactId, queue: &QueueId, at: Timestamp) -> EventKind {
    EventKind::ContactQueued {
        contact,
        queue: queue.clone(),
        channel: Channel::Voice,
        tier: Tier::Gold,
        priority: Priority::default(),
        arrived_at: at,
        attributes: [("customer_name".to_owned(), "Zoe".to_owned())].into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_subscriber_replays_today_once_into_every_read_model_then_follows_live() {
    let db = TestDatabase::sqlite();
    let store = db.store().await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let day_start = now.as_millis().div_euclid(86_400_000) * 86_400_000;
    let at = |ms_ago: i64| Timestamp::from_millis((now.as_millis() - ms_ago).max(day_start));
    let sales = QueueId::parse("sales").unwrap();
    let ann = AgentId::parse("ann").unwrap();
    let (earlier, both_ways, live_only) = (
        switchboard_dispatch::fresh_contact_id(at(9_000)),
        switchboard_dispatch::fresh_contact_id(now),
        switchboard_dispatch::fresh_contact_id(now),
    );
    let event = |id: u64, at: Timestamp, kind: EventKind| Event {
        id: EventId(id),
        at,
        kind,
    };
    store
        .append_events(&[
            // Handled by ann earlier today (through another instance, or before a restart).
            event(1_000_001, at(9_000), queued(earlier, &sales, at(9_000))),
            event(
                1_000_002,
                at(6_000),
                EventKind::OfferAccepted {
                    contact: earlier,
                    queue: sales.clone(),
                    agent: ann.clone(),
                    waited_ms: 3_000,
                },
            ),
            event(
                1_000_003,
                at(1_000),
                EventKind::ContactCompleted {
                    contact: earlier,
                    queue: sales.clone(),
                    agent: ann.clone(),
                    wrap_up: WrapUp::default(),
                },
            ),
            // The fresh dispatcher's first event (id 0), already in the log when the replay
            // reads it: it comes both ways and must count once.
            event(0, now, queued(both_ways, &sales, now)),
        ])
        .await
        .unwrap();
    let dispatcher = Arc::new(AnyBackend::Memory(MemoryBackend::new()));
    let queue: QueueConfig = serde_json::from_value(serde_json::json!({"id": "sales"})).unwrap();
    store.put(&queue, None, now).await.unwrap();
    // Configuration is not an event: the dispatcher's first event is still id 0.
    dispatcher
        .execute(Command::UpsertQueue(queue.clone()), now)
        .await
        .unwrap();
    dispatcher
        .execute(Command::UpsertAgent(AgentProfile::new(ann.clone())), now)
        .await
        .unwrap();

    let models = ReadModels::default();
    let (consoles, floor) = (models.consoles.clone(), models.floor.clone());
    let tasks = Tasks::new("read side");
    live::spawn(
        &tasks,
        models,
        Sources {
            store: store.clone(),
            dispatcher: dispatcher.clone(),
            clock: clock.clone(),
        },
    );
    // The replay: the floor counts the day, the consoles count ann's handling and know the
    // waiting contact's card without reading the store again.
    until("the replay", || {
        floor.figures(&queue, clock.now()).offered == 2
    })
    .await;
    assert_eq!(floor.figures(&queue, clock.now()).handled, 1);
    let card = consoles.card(both_ways).expect("the card from the replay");
    assert_eq!(card.tier, Tier::Gold);
    assert_eq!(card.attributes["customer_name"], "Zoe");

    // Live: the same contact (id 0 again) and a new one (id 1).
    for contact in [both_ways, live_only] {
        dispatcher
            .execute(
                Command::Enqueue(NewContact::new(contact, sales.clone(), Channel::Voice)),
                clock.now(),
            )
            .await
            .unwrap();
    }
    until("the live contact", || consoles.card(live_only).is_some()).await;
    // Events are applied in order: once the second live one is in, the first was skipped.
    assert_eq!(floor.figures(&queue, clock.now()).offered, 3);

    // Ann's own figures: her handling of the day, and the contacts waiting in the queues
    // the engine has her serve.
    match consoles.figures(&dispatcher, &ann, clock.now()).await {
        Frame::Stats(f) => {
            assert_eq!(f.handled_today, 1);
            // Accept to completion (5 s, unless the day began less than 9 s ago).
            let handle_ms = at(1_000).since(at(6_000)).as_millis() as u64;
            assert_eq!(f.average_handle_time_ms, Some(handle_ms));
            assert_eq!(f.waiting_in_my_queues, 2);
        }
        other => panic!("not figures: {other:?}"),
    }

    // The floor dates ann's state by the last event about her — from the replay, though no
    // viewer was watching then — and a change by its event.
    let profile: switchboard_domain::Agent = serde_json::from_value(
        serde_json::json!({"id": "ann", "display_name": "Ann", "number": "1001"}),
    )
    .unwrap();
    store.put(&profile, None, now).await.unwrap();
    let (_, agents) = floor.view(&store, &dispatcher, clock.now()).await;
    assert_eq!(agents[&ann].since, at(1_000), "{:?}", agents[&ann]);
    let events = dispatcher
        .execute(
            Command::SetPresence {
                agent: ann.clone(),
                presence: switchboard_domain::Presence::Available,
            },
            clock.now(),
        )
        .await
        .unwrap();
    let went_available = events[0].at;
    tokio::time::sleep(Duration::from_millis(600)).await; // past the shared read's freshness
    let (_, agents) = floor.view(&store, &dispatcher, clock.now()).await;
    assert_eq!(agents[&ann].since, went_available, "{:?}", agents[&ann]);
    assert!(tasks.stop(Duration::from_secs(5)).await);
}
