//! One agent's time today, updated event by event.

use switchboard_domain::{AgentId, Event, EventKind, Timestamp};

use super::{measure::TimeRange, segments::ms};

/// One agent's staffed and handling time in the current period (a day), kept up to date by
/// [`LiveAgentTime::apply`] in `O(1)` per event with the definitions of
/// [`crate::AgentTime`]: staffed = logged in (any presence but offline); handling = staffed
/// time with at least one contact in hand (accept → wrap-up done, concurrent contacts
/// counted once); occupancy = handling / staffed.
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
        }
    }

    /// Updates with one event (events about other agents change nothing).
    pub fn apply(&mut self, event: &Event) {
        match &event.kind {
            EventKind::AgentPresenceChanged { agent, presence } if *agent == self.agent => {
                self.advance(event.at);
                self.logged_in = presence.is_logged_in();
            }
            EventKind::OfferAccepted { agent, .. } if *agent == self.agent => {
                self.advance(event.at);
                self.in_hand = self.in_hand.saturating_add(1);
            }
            EventKind::ContactCompleted { agent, .. } if *agent == self.agent => {
                self.advance(event.at);
                self.in_hand = self.in_hand.saturating_sub(1);
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
        let mut at_now = self.clone();
        at_now.advance(now);
        (at_now.staffed_ms, at_now.handling_ms)
    }

    /// `handling / staffed` up to `now`; `None` before any staffed time.
    pub fn occupancy(&self, now: Timestamp) -> Option<f64> {
        let (staffed, handling) = self.totals(now);
        (staffed > 0).then(|| handling as f64 / staffed as f64)
    }
}
