//! Today's events read back from the event log, for the live figures of an instance that
//! starts (or restarts) in the middle of the day: the supervisor's floor and each agent's own
//! figures then cover the whole day, not only what this instance has seen.

use std::collections::HashSet;

use switchboard_dispatch::EVENT_CHANNEL_CAPACITY;
use switchboard_domain::{Event, EventId, Timestamp};
use switchboard_store::EventFilter;

use crate::state::AppState;

const DAY_MS: i64 = 24 * 3_600_000;
/// A day beyond this many events is not replayed further (logged): the figures then start
/// from there.
const MAX_EVENTS: usize = 5_000_000;

/// The latest events replayed, to skip them when they also arrive live (the subscription
/// starts before the replay, so an event may come both ways; none falls between the two).
/// Only events emitted after the subscription can come both ways, and the subscription holds
/// at most [`EVENT_CHANNEL_CAPACITY`] of them: keeping the ids of the last twice that many
/// replayed is enough, whatever the length of the day.
#[derive(Debug, Default)]
pub(crate) struct Replayed {
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
}

impl Replayed {
    pub(crate) fn contains(&self, id: EventId) -> bool {
        !self.ids.is_empty() && self.ids.contains(&id.0)
    }
}

/// Feeds `each` with every event of today (UTC) in the log, in order. Errors are logged: the
/// figures then start from what is seen live.
pub(crate) async fn replay(state: &AppState, mut each: impl FnMut(&Event)) -> Replayed {
    let now = state.clock.now();
    let start = Timestamp::from_millis(now.as_millis().div_euclid(DAY_MS) * DAY_MS);
    let mut filter = EventFilter {
        from: Some(start),
        ..EventFilter::default()
    };
    let mut replayed = Replayed::default();
    loop {
        let page = match state.store.events(&filter).await {
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
