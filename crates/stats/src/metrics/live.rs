//! Live counters of one queue, updated event by event.

use std::collections::HashMap;

use switchboard_domain::{ContactId, Event, EventKind, QueueId, Timestamp, TransferTarget};

use super::{
    report::{mean, MetricsConfig, Ratio, ServiceLevel, ServiceLevelFormula, TimeRange},
    segments::ms,
};

/// One queue's figures of the day (or any range), kept up to date by [`LiveQueueStats::apply`]
/// in `O(1)` per event: no rescans, memory proportional to the contacts waiting.
///
/// The definitions are those of [`crate::Report`] for a filter on this queue: a contact is
/// counted if it **entered** the queue in the range (so a call queued at 23:59:50 and
/// answered after midnight counts in the day it arrived), and every entry counts (new,
/// overflowed in, transferred in). Replaying a log gives the same offered, answered, abandoned,
/// service level and ASA as the batch report over the same range.
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
}

impl LiveQueueStats {
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
        }
    }

    /// Starts counting a new range (the next day): the counts go back to zero, the contacts
    /// waiting stay.
    pub fn roll_over(&mut self, range: TimeRange) {
        let waiting = std::mem::take(&mut self.waiting);
        *self = Self::new(self.queue.clone(), range, self.config);
        self.waiting = waiting;
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
                waited_ms,
                ..
            } if *queue == self.queue => self.answer(*contact, at, *waited_ms),
            EventKind::ContactAbandoned {
                contact,
                queue,
                waited_ms,
            } if *queue == self.queue => self.abandon(*contact, at, *waited_ms),
            _ => {}
        }
    }

    fn answer(&mut self, contact: ContactId, at: Timestamp, waited_ms: u64) {
        if !self.leave(contact, at, waited_ms) {
            return;
        }
        self.answered += 1;
        self.answered_wait_ms = self.answered_wait_ms.saturating_add(waited_ms);
        if waited_ms <= ms(self.config.service_level_target) {
            self.answered_within += 1;
        }
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
