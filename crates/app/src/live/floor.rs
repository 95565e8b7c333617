//! The supervisors' floor read model: per queue, today's figures (`LiveQueueStats`, updated
//! per event, never recomputed) with the service-level target in force when the day began,
//! and the floor as it stands — queues from the dispatcher, agents' states, since when, and
//! their contacts. The floor is read once for every supervisor watching (at most twice a
//! second), not once per socket.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use switchboard_dispatch::{AnyBackend, QueueBackend};
use switchboard_domain::{
    Agent, AgentId, CenterClock, ContactState, Event, QueueConfig, QueueId, Timestamp,
    TransferTarget,
};
use switchboard_protocol::{
    contacts::Stage,
    floor::{AgentContact, AgentView, QueueView, TodayFigures},
};
use switchboard_stats::{LiveQueueStats, MetricsConfig};
use switchboard_store::Store;

use super::day_of;

/// How long a computed floor serves every socket that asks.
const VIEW_FRESH_MS: i64 = 500;

/// Today's counters per queue, fed by the dispatcher's events, and the floor last read.
#[derive(Debug, Default)]
pub struct Floor {
    today: Mutex<HashMap<QueueId, LiveQueueStats>>,
    /// Each queue's service-level target (`T`) as configured: today's figures count with the
    /// target in force when the day began (a change applies from the next day).
    targets: Mutex<HashMap<QueueId, Duration>>,
    /// When an event last concerned each agent (today's replay included): a change of their
    /// state is dated by it.
    touched: Mutex<HashMap<AgentId, Timestamp>>,
    /// The floor last read and each agent's state since when, shared by every viewer; held
    /// while the floor is read, so concurrent viewers wait for one read.
    shared: tokio::sync::Mutex<Shared>,
    /// Whose midnight starts "today".
    center: CenterClock,
}

#[derive(Debug, Default)]
struct Shared {
    since: StateSince,
    last: Option<(Timestamp, FloorView)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Queue id → figures, agent id → state: what a supervisor's socket sends (a snapshot, then
/// the differences).
pub type FloorView = (BTreeMap<QueueId, QueueView>, BTreeMap<AgentId, AgentView>);

/// Per agent: the state name last seen and since when.
pub type StateSince = HashMap<AgentId, (String, Timestamp)>;

impl Floor {
    /// A floor whose days start at `center`'s midnight.
    pub fn new(center: CenterClock) -> Self {
        Self {
            center,
            ..Self::default()
        }
    }

    /// Whose midnight starts "today".
    pub fn center(&self) -> CenterClock {
        self.center
    }

    /// Counts one event into the day containing `now` (the counters of a queue roll over to
    /// a new day with the target then configured).
    pub fn apply(&self, e: &Event, now: Timestamp) {
        {
            let mut touched = lock(&self.touched);
            for agent in agents_of(e) {
                touched.insert(agent.clone(), e.at);
            }
        }
        let queues = queues_of(e);
        if queues.is_empty() {
            return;
        }
        let targets = lock(&self.targets);
        let config = |queue: &QueueId| MetricsConfig {
            service_level_target: targets
                .get(queue)
                .copied()
                .unwrap_or(MetricsConfig::default().service_level_target),
            ..MetricsConfig::default()
        };
        let mut today_stats = lock(&self.today);
        let range = day_of(self.center, now);
        for queue in queues {
            let stats = today_stats
                .entry(queue.clone())
                .or_insert_with(|| LiveQueueStats::new(queue.clone(), range, config(&queue)));
            if stats.range() != range {
                stats.roll_over_with(range, config(stats.queue()));
            }
            stats.apply(e);
        }
    }

    /// Remembers the queues' service-level targets (read at start, as queues are written and
    /// as the floor is viewed).
    pub fn set_targets<'a>(&self, queues: impl IntoIterator<Item = &'a QueueConfig>) {
        let mut targets = lock(&self.targets);
        for q in queues {
            targets.insert(q.id.clone(), q.service_level.threshold);
        }
    }

    /// Today's figures of a queue, and the agents it needs now: Erlang C with the queue's
    /// service-level target on the arrival rate and AHT of the last 30 minutes.
    pub fn figures(&self, queue: &QueueConfig, now: Timestamp) -> TodayFigures {
        let today_stats = lock(&self.today);
        let Some(s) = today_stats.get(&queue.id) else {
            return TodayFigures::none_yet(queue.service_level.threshold.as_secs_f64());
        };
        let sl = s.service_level();
        let target = &queue.service_level;
        let need = s
            .agents_needed_now(now, target.threshold.as_secs_f64(), target.percent / 100.0)
            .ok();
        TodayFigures {
            offered: s.offered(),
            answered: s.answered(),
            abandoned: s.abandoned(),
            service_level: sl.ratio.value,
            service_level_formula: Some(sl.formula_name.to_owned()),
            service_level_target_s: s.config().service_level_target.as_secs_f64(),
            asa_ms: s.asa_ms(),
            handled: s.completed(),
            aht_ms: s.aht_ms(),
            fcr_reported: s.fcr_reported().value,
            arrivals_per_hour: need.map(|n| (n.arrivals_per_hour * 10.0).round() / 10.0),
            agents_needed_now: need.and_then(|n| n.agents),
        }
    }

    /// The floor now: every configured queue the dispatcher knows with today's figures, and
    /// every agent with their state, since when and their current contacts. A read younger
    /// than half a second is shared.
    ///
    /// An agent's state is dated by the last event that concerned them when it changed (the
    /// offer, the accept, the end, a presence change…), else — a change no event tells, like
    /// the end of a no-answer pause — by when the floor first saw it.
    pub async fn view(&self, store: &Store, dispatcher: &AnyBackend, now: Timestamp) -> FloorView {
        let mut shared = self.shared.lock().await;
        if let Some((at, view)) = &shared.last {
            if (now.as_millis() - at.as_millis()).abs() < VIEW_FRESH_MS {
                return view.clone();
            }
        }
        let view = self.read(store, dispatcher, now, &mut shared.since).await;
        shared.last = Some((now, view.clone()));
        view
    }

    async fn read(
        &self,
        store: &Store,
        dispatcher: &AnyBackend,
        now: Timestamp,
        since: &mut StateSince,
    ) -> FloorView {
        let mut queues = BTreeMap::new();
        let configs = store.list::<QueueConfig>().await.unwrap_or_default();
        // Written through another instance: picked up here.
        self.set_targets(configs.iter().map(|q| &q.doc));
        for q in configs {
            if let Ok(Some(s)) = dispatcher.queue_snapshot(&q.doc.id, now).await {
                queues.insert(
                    q.doc.id.clone(),
                    QueueView {
                        waiting: s.waiting,
                        offered_now: s.offered,
                        longest_wait_ms: s.longest_wait.as_millis() as u64,
                        agents: s.agents,
                        today: self.figures(&q.doc, now),
                    },
                );
            }
        }
        let mut agents = BTreeMap::new();
        for a in store.list::<Agent>().await.unwrap_or_default() {
            let id = a.doc.profile.id.clone();
            let status = dispatcher.agent_status(&id).await.ok().flatten();
            let name = status.as_ref().map_or("unknown", |s| s.name()).to_owned();
            let touched = lock(&self.touched).get(&id).copied();
            let entry = since
                .entry(id.clone())
                .or_insert((name.clone(), touched.unwrap_or(now)));
            if entry.0 != name {
                let changed = touched.filter(|t| *t > entry.1).unwrap_or(now);
                *entry = (name, changed);
            }
            let since_state = entry.1;
            let contacts = current_contacts(dispatcher, &id).await;
            agents.insert(
                id,
                AgentView {
                    status,
                    since: since_state,
                    contacts,
                },
            );
        }
        (queues, agents)
    }
}

/// The queues an event concerns (both sides of an overflow or transfer), for the live
/// counters, which keep only what is about their own queue.
fn queues_of(e: &Event) -> Vec<QueueId> {
    use switchboard_domain::EventKind::*;
    match &e.kind {
        ContactQueued { queue, .. }
        | ContactExited { queue, .. }
        | OfferAccepted { queue, .. }
        | ContactCompleted { queue, .. }
        | ContactAbandoned { queue, .. } => vec![queue.clone()],
        ContactOverflowed {
            from_queue,
            to_queue,
            ..
        } => vec![from_queue.clone(), to_queue.clone()],
        ContactTransferred {
            from_queue,
            to: TransferTarget::Queue(to),
            ..
        } => vec![from_queue.clone(), to.clone()],
        ContactTransferred { from_queue, .. } => vec![from_queue.clone()],
        _ => Vec::new(),
    }
}

/// The agents an event concerns.
fn agents_of(e: &Event) -> Vec<&AgentId> {
    use switchboard_domain::EventKind::*;
    match &e.kind {
        AgentPresenceChanged { agent, .. }
        | ContactOffered { agent, .. }
        | OfferAccepted { agent, .. }
        | OfferRejected { agent, .. }
        | OfferTimedOut { agent, .. }
        | OfferWithdrawn { agent, .. }
        | ContactHeld { agent, .. }
        | ContactResumed { agent, .. }
        | ContactEnded { agent, .. }
        | ContactCompleted { agent, .. } => vec![agent],
        ContactTransferred { from_agent, to, .. } => {
            let mut out: Vec<&AgentId> = from_agent.iter().collect();
            if let TransferTarget::Agent(a) = to {
                out.push(a);
            }
            out
        }
        _ => Vec::new(),
    }
}

/// What the agent is working on: each contact ringing at them, in conversation, on hold or
/// in wrap-up, with its queue.
async fn current_contacts(dispatcher: &AnyBackend, agent: &AgentId) -> Vec<AgentContact> {
    let mut out = Vec::new();
    for contact in dispatcher.agent_contacts(agent).await.unwrap_or_default() {
        let contact_state = dispatcher.contact(contact).await.ok().flatten();
        let (name, queue) = match &contact_state {
            // Transferred away: the agent only has its wrap-up left.
            Some(
                s @ (ContactState::Offered { agent: holder, .. }
                | ContactState::Assigned { agent: holder, .. }
                | ContactState::Held { agent: holder, .. }
                | ContactState::WrapUp { agent: holder, .. }),
            ) if holder == agent => (Stage::from(s), Some(s.queue().clone())),
            _ => (Stage::WrapUp, None),
        };
        out.push(AgentContact {
            contact_id: contact,
            state: name,
            queue,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use switchboard_domain::{Channel, ContactId, EventId, EventKind, Tier};

    use super::*;

    #[test]
    fn the_day_counts_both_sides_of_an_overflow_and_rolls_over_at_midnight() {
        const DAY: i64 = 24 * 3_600_000;
        let floor = Floor::default();
        let (sales, support) = (
            QueueId::parse("sales").unwrap(),
            QueueId::parse("support").unwrap(),
        );
        let contact: ContactId = "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap();
        let at = |ms| Timestamp::from_millis(ms);
        floor.apply(
            &Event {
                id: EventId(1),
                at: at(1_000),
                kind: EventKind::ContactQueued {
                    contact,
                    queue: sales.clone(),
                    channel: Channel::Voice,
                    tier: Tier::Standard,
                    priority: Default::default(),
                    arrived_at: at(1_000),
                    attributes: BTreeMap::new(),
                },
            },
            at(1_000),
        );
        floor.apply(
            &Event {
                id: EventId(2),
                at: at(5_000),
                kind: EventKind::ContactOverflowed {
                    contact,
                    from_queue: sales.clone(),
                    to_queue: support.clone(),
                },
            },
            at(5_000),
        );
        let config = |id: &QueueId| -> QueueConfig {
            serde_json::from_value(serde_json::json!({ "id": id, "name": id })).unwrap()
        };
        assert_eq!(floor.figures(&config(&sales), at(6_000)).offered, 1);
        assert_eq!(floor.figures(&config(&support), at(6_000)).offered, 1);
        // The next day's first event starts its queue from zero.
        floor.apply(
            &Event {
                id: EventId(3),
                at: at(DAY + 1),
                kind: EventKind::ContactQueued {
                    contact,
                    queue: sales.clone(),
                    channel: Channel::Voice,
                    tier: Tier::Standard,
                    priority: Default::default(),
                    arrived_at: at(DAY + 1),
                    attributes: BTreeMap::new(),
                },
            },
            at(DAY + 1),
        );
        assert_eq!(floor.figures(&config(&sales), at(DAY + 2)).offered, 1);
        assert_eq!(floor.figures(&config(&support), at(DAY + 2)).offered, 1);
    }
}
