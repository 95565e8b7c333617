//! The timer loop fires deadlines on time, driven by events, without real sleeping.

use std::{sync::Arc, time::Duration};

use switchboard_dispatch::{run_timers, MemoryBackend, QueueBackend, TokioClock};
use switchboard_domain::*;
use switchboard_test_support::time::t0;

#[tokio::test(start_paused = true)]
async fn deadlines_fire_on_time_and_new_ones_are_picked_up() {
    let start = t0();
    let clock = TokioClock::starting_at(start);
    let backend = Arc::new(MemoryBackend::new());
    let mut events = backend.subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let timers = tokio::spawn(run_timers(backend.clone(), clock, async {
        let _ = stopped.await;
    }));

    let mut queue = QueueConfig::new(QueueId::parse("sales").unwrap());
    queue.offer_timeout = Duration::from_secs(15);
    backend
        .execute(Command::UpsertQueue(queue), start)
        .await
        .unwrap();
    let ann = AgentId::parse("ann").unwrap();
    backend
        .execute(Command::UpsertAgent(AgentProfile::new(ann.clone())), start)
        .await
        .unwrap();
    backend
        .execute(
            Command::SetPresence {
                agent: ann,
                presence: Presence::Available,
            },
            start,
        )
        .await
        .unwrap();
    // The deadline appears only now, after the loop went to sleep: the offer event wakes it.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let call = ContactId::from_parts(start, [1; 10]);
    let offered_at = start.plus(Duration::from_secs(5));
    backend
        .execute(
            Command::Enqueue(NewContact::new(
                call,
                QueueId::parse("sales").unwrap(),
                Channel::Voice,
            )),
            offered_at,
        )
        .await
        .unwrap();
    let timed_out = loop {
        let e = events.recv().await.unwrap();
        if let EventKind::OfferTimedOut { contact, .. } = e.kind {
            assert_eq!(contact, call);
            break e;
        }
    };
    assert_eq!(
        timed_out.at,
        offered_at.plus(Duration::from_secs(15)),
        "fired at its deadline"
    );
    stop.send(()).unwrap();
    timers.await.unwrap();
}
