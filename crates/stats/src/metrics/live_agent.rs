//! One agent's time and handlings today, updated event by event.

use std::collections::{HashMap, VecDeque};

use switchboard_domain::{AgentId, ContactId, Event, EventKind, Timestamp};

use super::{measure::TimeRange, segments::ms};

/// One agent's staffed and handling time in the current period (a day), kept up to date by
/// [`LiveAgentTime::apply`] in `O(1)` per event with the definitions of
/// [`crate::AgentTime`]: staffed = logged in (any presence but offline); handling = staffed
/// time with at least one contact in hand (accept → wrap-up done, concurrent contacts
/// counted once); occupancy = handling / staffed.
///
/// It also counts the agent's own handlings: **handled** = contacts whose wrap-up this agent
/// finished in the period (`contact_completed`, in the period of the completion), each with
/// its **handle time** = this agent's accept → that completion (talk, hold and wrap-up), so
/// that [`LiveAgentTime::aht_ms`] is the agent's average handle time of the day. A completion
/// whose accept was not seen (before the log being followed) is not counted.
///
/// The time is a piecewise-constant state (logged in?, contacts in hand) integrated between
/// events; when an event or a reading falls in a later period, the counts restart from that
/// period's start, so a shift across midnight gives the new day only its own part.
#[derive(Clone, Debug)]
pub struct LiveAgentTime {
    agent: AgentId,
    period: TimeRange,
    logged_in: bool,
    in_hand: u32,
    last: Timestamp,
    staffed_ms: u64,
    handling_ms: u64,
    /// When each contact in hand was accepted, oldest first (a contact may come back to the
    /// same agent after a transfer).
    accepted: HashMap<ContactId, VecDeque<Timestamp>>,
    handled: u64,
    handle_ms: u64,
}

impl LiveAgentTime {
    /// Counts `agent`'s time from the start of `period`; later periods have the same length
    /// (a zero-length period never rolls over).
    pub fn new(agent: AgentId, period: TimeRange) -> Self {
        Self {
            agent,
            period,
            logged_in: false,
            in_hand: 0,
            last: period.start,
            staffed_ms: 0,
            handling_ms: 0,
            accepted: HashMap::new(),
            handled: 0,
            handle_ms: 0,
        }
    }

    /// Updates with one event (events about other agents change nothing).
    pub fn apply(&mut self, event: &Event) {
        match &event.kind {
            EventKind::AgentPresenceChanged { agent, presence } if *agent == self.agent => {
                self.advance(event.at);
                self.logged_in = presence.is_logged_in();
            }
            EventKind::OfferAccepted { agent, contact, .. } if *agent == self.agent => {
                self.advance(event.at);
                self.in_hand = self.in_hand.saturating_add(1);
                self.accepted
                    .entry(*contact)
                    .or_default()
                    .push_back(event.at);
            }
            EventKind::ContactCompleted { agent, contact, .. } if *agent == self.agent => {
                self.advance(event.at);
                self.in_hand = self.in_hand.saturating_sub(1);
                let accepted = self.accepted.get_mut(contact).and_then(VecDeque::pop_front);
                if self.accepted.get(contact).is_some_and(VecDeque::is_empty) {
                    self.accepted.remove(contact);
                }
                if let Some(accepted) = accepted {
                    self.handled += 1;
                    self.handle_ms = self.handle_ms.saturating_add(ms(event.at.since(accepted)));
                }
            }
            _ => {}
        }
    }

    /// Integrates the current state up to `to`, rolling over to `to`'s period if needed.
    fn advance(&mut self, to: Timestamp) {
        if to <= self.last {
            return;
        }
        let len = self.period.end.as_millis() - self.period.start.as_millis();
        if to >= self.period.end && len > 0 {
            let k = (to.as_millis() - self.period.start.as_millis()).div_euclid(len);
            let start = self.period.start.as_millis() + k * len;
            self.period = TimeRange {
                start: Timestamp::from_millis(start),
                end: Timestamp::from_millis(start + len),
            };
            self.staffed_ms = 0;
            self.handling_ms = 0;
            self.handled = 0;
            self.handle_ms = 0;
            self.last = self.last.max(self.period.start);
        }
        let piece = ms(to.since(self.last));
        if self.logged_in {
            self.staffed_ms += piece;
            if self.in_hand > 0 {
                self.handling_ms += piece;
            }
        }
        self.last = to;
    }

    /// `(staffed_ms, handling_ms)` of the period containing `now` (or of the last one seen if
    /// `now` is earlier), counting the current state up to `now`.
    pub fn totals(&self, now: Timestamp) -> (u64, u64) {
        let mut at_now = self.clone_counts();
        at_now.advance(now);
        (at_now.staffed_ms, at_now.handling_ms)
    }

    /// `(handled, total handle time in ms)` of the period containing `now`: zero once `now`
    /// is past the period of the last event seen.
    pub fn handled(&self, now: Timestamp) -> (u64, u64) {
        let mut at_now = self.clone_counts();
        at_now.advance(now);
        (at_now.handled, at_now.handle_ms)
    }

    /// The agent's average handle time in the period containing `now`; `None` before any
    /// handling completed.
    pub fn aht_ms(&self, now: Timestamp) -> Option<u64> {
        let (handled, total) = self.handled(now);
        (handled > 0).then(|| total / handled)
    }

    /// A copy without the contacts in hand, for readings (which only advance the clock).
    fn clone_counts(&self) -> Self {
        Self {
            agent: self.agent.clone(),
            accepted: HashMap::new(),
            ..*self
        }
    }

    /// `handling / staffed` up to `now`; `None` before any staffed time.
    pub fn occupancy(&self, now: Timestamp) -> Option<f64> {
        let (staffed, handling) = self.totals(now);
        (staffed > 0).then(|| handling as f64 / staffed as f64)
    }
}

#[cfg(test)]
mod tests {
    use switchboard_domain::{EventId, QueueId, WrapUp};

    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    fn event(ms: i64, kind: EventKind) -> Event {
        Event {
            id: EventId(ms as u64),
            at: at(ms),
            kind,
        }
    }

    #[test]
    fn handled_and_handle_time_count_this_agents_completions_of_the_day() {
        const DAY: i64 = 24 * 3_600_000;
        let ann = AgentId::parse("ann").unwrap();
        let bob = AgentId::parse("bob").unwrap();
        let q = QueueId::parse("sales").unwrap();
        let c1: ContactId = "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap();
        let c2: ContactId = "01890a5d-ac96-774b-bcce-b302099a8058".parse().unwrap();
        let accepted = |ms, contact, agent: &AgentId| {
            event(
                ms,
                EventKind::OfferAccepted {
                    contact,
                    queue: q.clone(),
                    agent: agent.clone(),
                    waited_ms: 0,
                },
            )
        };
        let completed = |ms, contact, agent: &AgentId| {
            event(
                ms,
                EventKind::ContactCompleted {
                    contact,
                    queue: q.clone(),
                    agent: agent.clone(),
                    wrap_up: WrapUp::default(),
                },
            )
        };
        let mut live = LiveAgentTime::new(
            ann.clone(),
            TimeRange {
                start: at(0),
                end: at(DAY),
            },
        );
        assert_eq!(live.aht_ms(at(1)), None);
        // A completion whose accept was never seen does not count.
        live.apply(&completed(500, c2, &ann));
        live.apply(&accepted(1_000, c1, &ann));
        // Another agent's handling is not ann's.
        live.apply(&accepted(1_500, c2, &bob));
        live.apply(&completed(4_000, c1, &ann));
        live.apply(&completed(9_000, c2, &bob));
        assert_eq!(live.handled(at(10_000)), (1, 3_000));
        live.apply(&accepted(10_000, c2, &ann));
        live.apply(&completed(15_000, c2, &ann));
        assert_eq!(live.handled(at(20_000)), (2, 8_000));
        assert_eq!(live.aht_ms(at(20_000)), Some(4_000));
        // The next day starts from zero, even before any event of it.
        assert_eq!(live.handled(at(DAY + 1)), (0, 0));
        // A handling across midnight counts on the day it is completed.
        live.apply(&accepted(DAY - 1_000, c1, &ann));
        live.apply(&completed(DAY + 2_000, c1, &ann));
        assert_eq!(live.handled(at(DAY + 3_000)), (1, 3_000));
    }
}
