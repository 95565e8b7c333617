//! Live counters of one queue, updated event by event.

use std::collections::{HashMap, VecDeque};

use switchboard_domain::{
    AgentId, ContactId, Event, EventKind, QueueId, Timestamp, TransferTarget,
};

use crate::{erlang_c_staffing, ErlangCInput, ErlangCStaffing, StaffingError};

use super::{
    figures::{MetricsConfig, ServiceLevel, ServiceLevelFormula},
    measure::{mean, Ratio, TimeRange},
    segments::ms,
};

/// One queue's figures of the day (or any range), kept up to date by [`LiveQueueStats::apply`]
/// in `O(1)` per event: no rescans, memory proportional to the contacts waiting.
///
/// The definitions are those of [`crate::Report`] for a filter on this queue: a contact is
/// counted if it **entered** the queue in the range (so a call queued at 23:59:50 and
/// answered after midnight counts in the day it arrived), and every entry counts (new,
/// overflowed in, transferred in). Replaying a log gives the same offered, answered, abandoned,
/// service level and ASA as the batch report over the same range, and — once the handlings
/// are completed — the same handle time and agent-reported FCR.
///
/// For "agents needed now" it also keeps a rolling window of the last
/// [`LiveQueueStats::WINDOW_MINUTES`] minutes (a ring of per-minute buckets, whatever the
/// range): entries into the queue (the observed arrival rate) and completed handlings (the
/// recent AHT), fed to Erlang C by [`LiveQueueStats::agents_needed_now`].
#[derive(Clone, Debug)]
pub struct LiveQueueStats {
    queue: QueueId,
    range: TimeRange,
    config: MetricsConfig,
    /// Contacts waiting (or ringing) in the queue now, with when they entered it.
    waiting: HashMap<ContactId, Timestamp>,
    offered: u64,
    answered: u64,
    abandoned: u64,
    short_abandoned: u64,
    answered_within: u64,
    abandoned_after_t: u64,
    answered_wait_ms: u64,
    /// Contacts answered in the queue and not yet wrapped up, per `(contact, agent)` in
    /// answer order: when they were answered and whether they entered in the range.
    handling: HashMap<(ContactId, AgentId), VecDeque<(Timestamp, bool)>>,
    completed: u64,
    resolved: u64,
    handle_ms: u64,
    recent: [Minute; WINDOW],
    /// The first event seen: the rolling window never reaches before it.
    observed_since: Option<Timestamp>,
}

const WINDOW: usize = 30;

/// One minute of the rolling window.
#[derive(Clone, Copy, Debug, Default)]
struct Minute {
    /// Minutes since the epoch this bucket holds.
    minute: i64,
    entered: u64,
    completed: u64,
    handle_ms: u64,
}

/// What the rolling window saw, and the Erlang C answer (see
/// [`LiveQueueStats::agents_needed_now`]).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct AgentsNeeded {
    /// Entries into the queue in the window.
    pub arrivals: u64,
    /// The window's length in seconds: the last 30 minutes (the current minute and the 29
    /// before it), or since the first event seen if that is later — but at least a minute, so
    /// that one arrival just after a start is not read as thousands an hour.
    pub window_secs: f64,
    /// `arrivals / window` per hour.
    pub arrivals_per_hour: f64,
    /// Mean handle time of the handlings completed in the window, else of those completed in
    /// the range; `None` when there is none yet.
    pub aht_ms: Option<f64>,
    /// Erlang C: the fewest agents meeting the service-level target at this arrival rate and
    /// AHT; `None` without an AHT.
    pub agents: Option<u32>,
}

impl LiveQueueStats {
    /// Length of the rolling window of [`LiveQueueStats::agents_needed_now`].
    pub const WINDOW_MINUTES: u32 = WINDOW as u32;

    pub fn new(queue: QueueId, range: TimeRange, config: MetricsConfig) -> Self {
        Self {
            queue,
            range,
            config,
            waiting: HashMap::new(),
            offered: 0,
            answered: 0,
            abandoned: 0,
            short_abandoned: 0,
            answered_within: 0,
            abandoned_after_t: 0,
            answered_wait_ms: 0,
            handling: HashMap::new(),
            completed: 0,
            resolved: 0,
            handle_ms: 0,
            recent: [Minute::default(); WINDOW],
            observed_since: None,
        }
    }

    /// The settings the figures are counted with.
    pub fn config(&self) -> MetricsConfig {
        self.config
    }

    /// [`LiveQueueStats::roll_over`] with new settings for the new range (e.g. the queue's
    /// service-level target changed during the day: it applies from the next one, so that
    /// no day mixes two targets).
    pub fn roll_over_with(&mut self, range: TimeRange, config: MetricsConfig) {
        self.config = config;
        self.roll_over(range);
    }

    /// Starts counting a new range (the next day): the counts go back to zero; the contacts
    /// waiting or in handling and the rolling window stay.
    pub fn roll_over(&mut self, range: TimeRange) {
        let waiting = std::mem::take(&mut self.waiting);
        let handling = std::mem::take(&mut self.handling);
        let (recent, since) = (self.recent, self.observed_since);
        *self = Self::new(self.queue.clone(), range, self.config);
        self.waiting = waiting;
        self.recent = recent;
        self.observed_since = since;
        // Handlings of contacts that entered before the new range stay out of it.
        self.handling = handling
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().map(|(t, _)| (t, false)).collect()))
            .collect();
    }

    pub fn queue(&self) -> &QueueId {
        &self.queue
    }

    pub fn range(&self) -> TimeRange {
        self.range
    }

    /// Updates the counters with one event (any order is accepted; nothing panics).
    pub fn apply(&mut self, event: &Event) {
        let at = event.at;
        if self.observed_since.is_none_or(|t| at < t) {
            self.observed_since = Some(at);
        }
        match &event.kind {
            EventKind::ContactQueued { contact, queue, .. } if *queue == self.queue => {
                self.enter(*contact, at)
            }
            EventKind::ContactOverflowed {
                contact,
                from_queue,
                to_queue,
            } => {
                if *from_queue == self.queue {
                    self.waiting.remove(contact);
                }
                if *to_queue == self.queue {
                    self.enter(*contact, at);
                }
            }
            EventKind::ContactTransferred {
                contact,
                from_queue,
                from_agent,
                to,
            } => {
                if from_agent.is_none() && *from_queue == self.queue {
                    self.waiting.remove(contact);
                }
                let into = match to {
                    TransferTarget::Queue(q) => q,
                    TransferTarget::Agent(_) => from_queue,
                };
                if *into == self.queue {
                    self.enter(*contact, at);
                }
            }
            EventKind::ContactExited { contact, queue, .. } if *queue == self.queue => {
                self.waiting.remove(contact);
            }
            EventKind::OfferAccepted {
                contact,
                queue,
                agent,
                waited_ms,
            } if *queue == self.queue => {
                let inside = self.answer(*contact, at, *waited_ms);
                self.handling
                    .entry((*contact, agent.clone()))
                    .or_default()
                    .push_back((at, inside));
            }
            EventKind::ContactCompleted {
                contact,
                queue,
                agent,
                wrap_up,
            } if *queue == self.queue => {
                self.complete(*contact, agent, at, wrap_up.resolved == Some(true))
            }
            EventKind::ContactAbandoned {
                contact,
                queue,
                waited_ms,
            } if *queue == self.queue => self.abandon(*contact, at, *waited_ms),
            _ => {}
        }
    }

    /// Whether the answered contact entered in the range.
    fn answer(&mut self, contact: ContactId, at: Timestamp, waited_ms: u64) -> bool {
        if !self.leave(contact, at, waited_ms) {
            return false;
        }
        self.answered += 1;
        self.answered_wait_ms = self.answered_wait_ms.saturating_add(waited_ms);
        if waited_ms <= ms(self.config.service_level_target) {
            self.answered_within += 1;
        }
        true
    }

    /// A wrap-up done: the oldest handling of this contact by this agent in this queue.
    fn complete(&mut self, contact: ContactId, agent: &AgentId, at: Timestamp, resolved: bool) {
        let key = (contact, agent.clone());
        let Some(list) = self.handling.get_mut(&key) else {
            return;
        };
        let Some((answered, inside)) = list.pop_front() else {
            return;
        };
        if list.is_empty() {
            self.handling.remove(&key);
        }
        let handle = ms(at.since(answered));
        let m = self.minute(at);
        m.completed += 1;
        m.handle_ms = m.handle_ms.saturating_add(handle);
        if inside {
            self.completed += 1;
            self.handle_ms = self.handle_ms.saturating_add(handle);
            if resolved {
                self.resolved += 1;
            }
        }
    }

    /// The rolling window's bucket of `at`'s minute, emptied if it held an older minute.
    fn minute(&mut self, at: Timestamp) -> &mut Minute {
        let minute = at.as_millis().div_euclid(60_000);
        let slot = &mut self.recent[minute.rem_euclid(WINDOW as i64) as usize];
        if slot.minute != minute {
            *slot = Minute {
                minute,
                ..Minute::default()
            };
        }
        slot
    }

    fn abandon(&mut self, contact: ContactId, at: Timestamp, waited_ms: u64) {
        if !self.leave(contact, at, waited_ms) {
            return;
        }
        if waited_ms < ms(self.config.short_abandon) {
            self.short_abandoned += 1;
        } else {
            self.abandoned += 1;
            if waited_ms > ms(self.config.service_level_target) {
                self.abandoned_after_t += 1;
            }
        }
    }

    fn enter(&mut self, contact: ContactId, at: Timestamp) {
        if self.waiting.contains_key(&contact) {
            return;
        }
        self.waiting.insert(contact, at);
        self.minute(at).entered += 1;
        if self.range.contains(at) {
            self.offered += 1;
        }
    }

    /// The contact leaves the line; whether it entered in the range. A contact whose entry was
    /// not seen entered `waited` before `at` (and is counted offered then, as the batch fold
    /// reconstructs it).
    fn leave(&mut self, contact: ContactId, at: Timestamp, waited_ms: u64) -> bool {
        match self.waiting.remove(&contact) {
            Some(entered) => self.range.contains(entered),
            None => {
                let entered = Timestamp::from_millis(
                    at.as_millis()
                        .saturating_sub(i64::try_from(waited_ms).unwrap_or(i64::MAX)),
                );
                let inside = self.range.contains(entered);
                if inside {
                    self.offered += 1;
                }
                inside
            }
        }
    }

    /// Contacts waiting (or ringing) in the queue now.
    pub fn waiting_now(&self) -> u64 {
        self.waiting.len() as u64
    }

    /// The longest wait so far of the contacts waiting now (`O(waiting)`).
    pub fn longest_waiting_ms(&self, now: Timestamp) -> Option<u64> {
        self.waiting.values().map(|&t| ms(now.since(t))).max()
    }

    pub fn offered(&self) -> u64 {
        self.offered
    }

    pub fn answered(&self) -> u64 {
        self.answered
    }

    /// Abandons after at least the short-abandon threshold.
    pub fn abandoned(&self) -> u64 {
        self.abandoned
    }

    pub fn short_abandoned(&self) -> u64 {
        self.short_abandoned
    }

    /// Answered with `wait ≤ T`.
    pub fn answered_within_target(&self) -> u64 {
        self.answered_within
    }

    /// Sum of the waits of the answered contacts.
    pub fn answered_wait_ms(&self) -> u64 {
        self.answered_wait_ms
    }

    /// Average speed of answer.
    pub fn asa_ms(&self) -> Option<f64> {
        mean(self.answered_wait_ms, self.answered)
    }

    /// Handlings answered in this queue (entered in the range) whose wrap-up is done.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// Average handle time (talk + hold + wrap-up = answer → wrap-up done) of
    /// [`LiveQueueStats::completed`].
    pub fn aht_ms(&self) -> Option<f64> {
        mean(self.handle_ms, self.completed)
    }

    /// Agent-reported first-contact resolution so far: completed handlings whose wrap-up
    /// said `resolved = true` over all completed handlings (as [`crate::Report::fcr_reported`]).
    pub fn fcr_reported(&self) -> Ratio {
        Ratio::new(self.resolved, self.completed)
    }

    /// The observed arrival rate and AHT over the last [`Self::WINDOW_MINUTES`] minutes up
    /// to `now` (see [`AgentsNeeded::window_secs`]), and the agents Erlang C says the queue needs for them to meet
    /// "`target_service_level` answered within `target_answer_secs`". `O(window)`.
    ///
    /// # Errors
    /// [`StaffingError`] for a target out of range, or a load no headcount can carry.
    pub fn agents_needed_now(
        &self,
        now: Timestamp,
        target_answer_secs: f64,
        target_service_level: f64,
    ) -> Result<AgentsNeeded, StaffingError> {
        let current = now.as_millis().div_euclid(60_000);
        let first = current - (WINDOW as i64 - 1);
        let (mut arrivals, mut completed, mut handle_ms) = (0u64, 0u64, 0u64);
        for m in self
            .recent
            .iter()
            .filter(|m| (first..=current).contains(&m.minute))
        {
            arrivals += m.entered;
            completed += m.completed;
            handle_ms = handle_ms.saturating_add(m.handle_ms);
        }
        let start = (first * 60_000).max(self.observed_since.map_or(i64::MAX, |t| t.as_millis()));
        let window_secs = ((now.as_millis() - start).max(60_000)) as f64 / 1000.0;
        let aht_ms = mean(handle_ms, completed).or_else(|| self.aht_ms());
        let agents = match aht_ms {
            Some(aht) if aht > 0.0 => Some(
                erlang_c_staffing(&ErlangCInput::new(
                    arrivals as f64,
                    window_secs,
                    aht / 1000.0,
                    target_answer_secs,
                    target_service_level,
                ))
                .map(|s: ErlangCStaffing| s.agents)?,
            ),
            _ => None,
        };
        Ok(AgentsNeeded {
            arrivals,
            window_secs,
            arrivals_per_hour: arrivals as f64 * 3600.0 / window_secs,
            aht_ms,
            agents,
        })
    }

    /// The service level with the configured formula.
    pub fn service_level(&self) -> ServiceLevel {
        let formula = self.config.service_level_formula;
        let denominator = match formula {
            ServiceLevelFormula::AnsweredPlusAbandonedAfterT => {
                self.answered + self.abandoned_after_t
            }
            ServiceLevelFormula::AnsweredOnly => self.answered,
            ServiceLevelFormula::AnsweredPlusAbandoned => self.answered + self.abandoned,
        };
        ServiceLevel {
            formula,
            formula_name: formula.name(),
            target_ms: ms(self.config.service_level_target),
            ratio: Ratio::new(self.answered_within, denominator),
        }
    }
}
