//! The read side: the views that follow the event stream — the agents' consoles
//! ([`Consoles`]) and the supervisors' floor ([`Floor`]) — kept by ONE subscriber
//! ([`follow`], spawned by [`spawn`] into a [`Tasks`] group).
//!
//! At start the subscriber reads today's events back from the event log once and feeds every
//! read model with them (an instance started at noon shows the whole day, not only what it
//! has seen), then follows the dispatcher's live events, skipping those the replay already
//! covered. The subscription is taken before the replay, so no event falls between the two;
//! an event may come both ways and counts once. If the subscriber falls behind the
//! dispatcher (the broadcast channel overflows) it logs how many events it missed and goes on.
//!
//! The read models are plain structs updated by `apply(&Event)`; the edges read them (and
//! push their own replies into a console's outbox) and never follow the stream themselves.

pub mod console;
pub mod floor;

use std::{collections::HashSet, sync::Arc};

use switchboard_dispatch::{AnyBackend, Clock, QueueBackend, EVENT_CHANNEL_CAPACITY};
use switchboard_domain::{CenterClock, Event, EventId, EventKind, QueueConfig, Timestamp};
use switchboard_stats::TimeRange;
use switchboard_store::{EventFilter, Store};
use tokio::sync::broadcast;

pub use console::{CallbackPromise, Consoles, CustomerCard};
pub use floor::Floor;

use crate::Tasks;

/// A day beyond this many events is not replayed further (logged): the figures then start
/// from there.
const MAX_EVENTS: usize = 5_000_000;

/// The center's day containing `t`: local midnight to local midnight on `clock` (23 or 25
/// hours on a daylight-saving change).
pub(crate) fn day_of(clock: CenterClock, t: Timestamp) -> TimeRange {
    let (start, end) = clock.day(t);
    TimeRange { start, end }
}

/// Every read model the subscriber feeds.
#[derive(Debug, Default)]
pub struct ReadModels {
    pub consoles: Arc<Consoles>,
    pub floor: Arc<Floor>,
}

/// What the subscriber reads from: the dispatcher's events, the event log (for today's
/// replay, the queues' targets and what offers show) and the clock.
#[derive(Clone)]
pub struct Sources {
    pub store: Store,
    pub dispatcher: Arc<AnyBackend>,
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("store", &self.store.kind())
            .field("dispatcher", &self.dispatcher.kind())
            .finish_non_exhaustive()
    }
}

/// Spawns the one subscriber into `tasks` (stopped with the group).
pub fn spawn(tasks: &Tasks, models: ReadModels, sources: Sources) {
    tasks.spawn_until_stopped("read_side", follow(models, sources));
}

/// The subscriber: today's replay, then the live events, into every read model. Returns when
/// the dispatcher's stream closes.
pub async fn follow(models: ReadModels, sources: Sources) {
    let mut events = sources.dispatcher.subscribe();
    let now = sources.clock.now();
    match sources.store.list::<QueueConfig>().await {
        Ok(queues) => models.floor.set_targets(queues.iter().map(|q| &q.doc)),
        Err(e) => tracing::warn!(error = %e, "could not read the queues' service-level targets"),
    }
    let replayed = replay(&sources.store, models.floor.center(), now, |e| {
        models.floor.apply(e, now);
        models.consoles.count(e);
    })
    .await;
    loop {
        match events.recv().await {
            Ok(e) if replayed.contains(e.id) => {}
            Ok(e) => {
                if let EventKind::ContactOffered { contact, agent, .. } = &e.kind {
                    models
                        .consoles
                        .load_for_offer(&sources.store, *contact, agent)
                        .await;
                }
                models.floor.apply(&e, sources.clock.now());
                models.consoles.apply(&e);
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::error!(
                    missed = n,
                    "the read side fell behind the dispatcher; consoles will resync"
                );
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The latest events replayed, to skip them when they also arrive live (the subscription
/// starts before the replay, so an event may come both ways; none falls between the two).
/// Only events emitted after the subscription can come both ways, and the subscription holds
/// at most [`EVENT_CHANNEL_CAPACITY`] of them: keeping the ids of the last twice that many
/// replayed is enough, whatever the length of the day.
#[derive(Debug, Default)]
struct Replayed {
    ids: HashSet<u64>,
    count: usize,
}

const KEEP: usize = 2 * EVENT_CHANNEL_CAPACITY;

impl Replayed {
    fn add(&mut self, id: EventId) {
        self.count += 1;
        self.ids.insert(id.0);
        if self.ids.len() > 2 * KEEP {
            // Ids come in ascending order: keep the newest.
            let mut newest: Vec<u64> = self.ids.drain().collect();
            newest.sort_unstable();
            self.ids.extend(newest.split_off(newest.len() - KEEP));
        }
    }

    fn contains(&self, id: EventId) -> bool {
        !self.ids.is_empty() && self.ids.contains(&id.0)
    }
}

/// Feeds `each` with every event of the center's day of `now` in the log, in order. Errors
/// are logged: the figures then start from what is seen live.
async fn replay(
    store: &Store,
    center: CenterClock,
    now: Timestamp,
    mut each: impl FnMut(&Event),
) -> Replayed {
    let mut filter = EventFilter {
        from: Some(day_of(center, now).start),
        ..EventFilter::default()
    };
    let mut replayed = Replayed::default();
    loop {
        let page = match store.events(&filter).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "could not read today's events back; figures start now");
                return replayed;
            }
        };
        let Some(last) = page.last() else {
            return replayed;
        };
        filter.after = Some(last.id);
        for e in &page {
            each(e);
            replayed.add(e.id);
        }
        if replayed.count >= MAX_EVENTS {
            tracing::warn!(
                events = replayed.count,
                "today's event log is too long to replay whole; figures are partial"
            );
            return replayed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replayed_ids_keep_the_newest_whatever_the_length_of_the_day() {
        let mut r = Replayed::default();
        assert!(!r.contains(EventId(1)));
        for id in 1..=(5 * KEEP as u64) {
            r.add(EventId(id));
        }
        assert_eq!(r.count, 5 * KEEP);
        assert!(r.contains(EventId(5 * KEEP as u64)));
        assert!(r.contains(EventId(4 * KEEP as u64 + 1)));
        assert!(!r.contains(EventId(1)));
        assert!(r.ids.len() <= 2 * KEEP);
    }
}
