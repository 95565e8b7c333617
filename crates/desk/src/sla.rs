//! An SLA clock: one target (first response, next response or resolution) counted in
//! business time over a [`BusinessCalendar`].
//!
//! The clock is a plain value: the target, the warning threshold and the ticket's history as
//! a list of changes `(instant, Running | Paused | Stopped)`. Asked at `now`, it answers from
//! that history alone ([`SlaClock::status`]).
//!
//! - **Running** counts business time; **Paused** (pending on the customer or a third party)
//!   does not; **Stopped** (the target was met: first reply sent, ticket resolved) does not.
//! - Time counts only between a `Running` change and the next change; before the first
//!   change the clock has not started.
//! - **Reopen resumes, it does not restart**: append `(reopened_at, Running)` after the
//!   `Stopped` change; the elapsed business time carries on from where it stopped. A clock
//!   that must start from zero (the next-response target after each customer message) is a
//!   new `SlaClock`.
//! - Changes after `now` are ignored, so one history answers for any `now`.

use std::time::Duration;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use switchboard_domain::{Timestamp, ValidationError};

use crate::calendar::{BusinessCalendar, CalendarError};

/// What the clock does from a change on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    Running,
    Paused,
    Stopped,
}

/// The clock switches to `state` at `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClockChange {
    pub at: Timestamp,
    pub state: ClockState,
}

impl ClockChange {
    pub fn new(at: Timestamp, state: ClockState) -> Self {
        Self { at, state }
    }
}

/// One SLA target and the history of its clock. Built valid only: a positive target, a
/// warning at 1–100 % of it, changes in time order (equal instants allowed: the later
/// change wins).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaClock {
    target: Duration,
    warn_percent: u8,
    changes: Vec<ClockChange>,
}

/// The clock read at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlaStatus {
    /// The state at `now`; `None` before the clock started.
    pub state: Option<ClockState>,
    /// Business time counted up to `now`.
    pub elapsed: Duration,
    /// `target − elapsed`: zero or negative once breached (negative: breached by that much
    /// business time).
    pub remaining: TimeDelta,
    /// The full target has elapsed: `elapsed ≥ target`, i.e. `now` is at or past the
    /// deadline. A clock stopped at the very deadline instant has breached.
    pub breached: bool,
    /// The instant the target is (or was) reached: in the past once breached; while
    /// running, when it will be if the clock keeps running. `None` while paused, stopped or
    /// not started short of the target (no deadline is running).
    pub deadline: Option<Timestamp>,
    /// The same for the warning threshold (`warn_percent` of the target).
    pub warning_at: Option<Timestamp>,
    /// The warning threshold has elapsed.
    pub warning: bool,
}

impl SlaClock {
    /// A clock for `target` of business time, warning at `warn_percent` % of it, with its
    /// history so far.
    ///
    /// # Errors
    /// [`ValidationError`] on `target` (under a millisecond), `warn_percent` (outside
    /// 1–100) or `changes[i].at` (earlier than the change before).
    pub fn new(
        target: Duration,
        warn_percent: u8,
        changes: impl IntoIterator<Item = ClockChange>,
    ) -> Result<Self, ValidationError> {
        if target < Duration::from_millis(1) {
            return Err(ValidationError::new(
                "target",
                "an SLA target must be at least a millisecond",
            ));
        }
        if !(1..=100).contains(&warn_percent) {
            return Err(ValidationError::new(
                "warn_percent",
                format!("the warning is a percentage of the target, 1 to 100, not {warn_percent}"),
            ));
        }
        let mut clock = Self {
            target,
            warn_percent,
            changes: Vec::new(),
        };
        for (i, change) in changes.into_iter().enumerate() {
            clock
                .push(change)
                .map_err(|e| ValidationError::new(format!("changes[{i}].at"), e.problem))?;
        }
        Ok(clock)
    }

    /// Records a change (start, pause, resume, stop, reopen).
    ///
    /// # Errors
    /// [`ValidationError`] (field `at`) when it is earlier than the last change.
    pub fn push(&mut self, change: ClockChange) -> Result<(), ValidationError> {
        if let Some(last) = self.changes.last() {
            if change.at < last.at {
                return Err(ValidationError::new(
                    "at",
                    format!(
                        "a clock change at {} comes before the last one, at {}",
                        change.at, last.at
                    ),
                ));
            }
        }
        self.changes.push(change);
        Ok(())
    }

    pub fn target(&self) -> Duration {
        self.target
    }

    pub fn warn_percent(&self) -> u8 {
        self.warn_percent
    }

    pub fn changes(&self) -> &[ClockChange] {
        &self.changes
    }

    /// The business time at which the warning is due: `warn_percent` % of the target, to
    /// the millisecond below.
    pub fn warning_threshold(&self) -> Duration {
        let ms = self.target.as_millis() * u128::from(self.warn_percent) / 100;
        Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The clock at `now`.
    ///
    /// # Errors
    /// [`CalendarError`] when the calendar cannot answer (no open time ahead, or a history
    /// spanning more than a century).
    pub fn status(
        &self,
        cal: &BusinessCalendar,
        now: Timestamp,
    ) -> Result<SlaStatus, CalendarError> {
        let history: Vec<ClockChange> = self
            .changes
            .iter()
            .copied()
            .take_while(|c| c.at <= now)
            .collect();
        let mut elapsed = Duration::ZERO;
        for (i, change) in history.iter().enumerate() {
            if change.state == ClockState::Running {
                let end = history.get(i + 1).map_or(now, |next| next.at);
                elapsed += cal.business_between(change.at, end)?;
            }
        }
        let remaining = signed(self.target) - signed(elapsed);
        let warn = self.warning_threshold();
        Ok(SlaStatus {
            state: history.last().map(|c| c.state),
            elapsed,
            remaining,
            breached: elapsed >= self.target,
            deadline: reached_at(cal, &history, self.target)?,
            warning_at: reached_at(cal, &history, warn)?,
            warning: elapsed >= warn,
        })
    }
}

/// The first instant at which `threshold` of business time has run in `history` (changes up
/// to `now`), the last running span extended into the future; `None` when the clock is not
/// running and has not reached it.
fn reached_at(
    cal: &BusinessCalendar,
    history: &[ClockChange],
    threshold: Duration,
) -> Result<Option<Timestamp>, CalendarError> {
    let mut counted = Duration::ZERO;
    for (i, change) in history.iter().enumerate() {
        if change.state != ClockState::Running {
            continue;
        }
        let left = threshold.saturating_sub(counted);
        let Some(next) = history.get(i + 1) else {
            return cal.add_business(change.at, left).map(Some);
        };
        let span = cal.business_between(change.at, next.at)?;
        if span >= left {
            return cal.add_business(change.at, left).map(Some);
        }
        counted += span;
    }
    Ok(None)
}

fn signed(d: Duration) -> TimeDelta {
    i64::try_from(d.as_millis())
        .ok()
        .and_then(TimeDelta::try_milliseconds)
        .unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use chrono::Weekday::{Fri, Mon, Thu, Tue, Wed};
    use switchboard_domain::parse_instant;

    use super::*;
    use crate::calendar::Slot;
    use ClockState::{Paused, Running, Stopped};

    fn at(s: &str) -> Timestamp {
        parse_instant(s).unwrap()
    }

    fn hours(h: i64) -> Duration {
        Duration::from_secs(u64::try_from(h).unwrap() * 3600)
    }

    /// Mon–Fri 08:00–12:00 and 13:00–18:00, Europe/Berlin.
    fn office() -> BusinessCalendar {
        BusinessCalendar::weekly(
            "Europe/Berlin".parse().unwrap(),
            &[Mon, Tue, Wed, Thu, Fri],
            &[
                Slot::parse("08:00", "12:00").unwrap(),
                Slot::parse("13:00", "18:00").unwrap(),
            ],
            [],
        )
        .unwrap()
    }

    fn clock(target_h: i64, changes: &[(&str, ClockState)]) -> SlaClock {
        SlaClock::new(
            hours(target_h),
            80,
            changes.iter().map(|(t, s)| ClockChange::new(at(t), *s)),
        )
        .unwrap()
    }

    fn status(clock: &SlaClock, now: &str) -> SlaStatus {
        clock.status(&office(), at(now)).unwrap()
    }

    #[test]
    fn a_running_clock_counts_business_time_and_projects_its_deadline() {
        // First response within 4 business hours; created Friday 16:00.
        let c = clock(4, &[("2026-03-27T16:00:00+01:00", Running)]);
        let s = status(&c, "2026-03-27T17:00:00+01:00");
        assert_eq!(s.state, Some(Running));
        assert_eq!(s.elapsed, hours(1));
        assert_eq!(s.remaining, TimeDelta::hours(3));
        assert!(!s.breached && !s.warning);
        assert_eq!(s.deadline, Some(at("2026-03-30T10:00:00+02:00")));
        // 80 % of 4 h = 3 h 12 min.
        assert_eq!(s.warning_at, Some(at("2026-03-30T09:12:00+02:00")));
        // Over the weekend nothing elapses and the deadline stays put.
        let s = status(&c, "2026-03-29T12:00:00+02:00");
        assert_eq!(s.elapsed, hours(2));
        assert_eq!(s.deadline, Some(at("2026-03-30T10:00:00+02:00")));
        let s = status(&c, "2026-03-30T09:30:00+02:00");
        assert!(s.warning && !s.breached);
    }

    #[test]
    fn the_deadline_instant_breaches_and_stays_breached_after_hours() {
        let c = clock(2, &[("2026-03-30T09:00:00+02:00", Running)]);
        let s = status(&c, "2026-03-30T10:59:59.999+02:00");
        assert!(!s.breached);
        assert_eq!(s.remaining, TimeDelta::milliseconds(1));
        let s = status(&c, "2026-03-30T11:00:00+02:00");
        assert!(s.breached);
        assert_eq!(s.remaining, TimeDelta::zero());
        // At lunch: breached by an hour, the deadline in the past.
        let s = status(&c, "2026-03-30T12:30:00+02:00");
        assert_eq!(s.remaining, TimeDelta::hours(-1));
        assert_eq!(s.deadline, Some(at("2026-03-30T11:00:00+02:00")));
        // Due at Friday's close: breached all weekend, by no business time yet.
        let c = clock(1, &[("2026-03-27T17:00:00+01:00", Running)]);
        let s = status(&c, "2026-03-28T10:00:00+01:00");
        assert!(s.breached);
        assert_eq!(s.remaining, TimeDelta::zero());
        assert_eq!(s.deadline, Some(at("2026-03-27T18:00:00+01:00")));
    }

    #[test]
    fn a_pause_over_a_weekend_stops_the_clock_and_drops_the_deadline() {
        // Resolution within 8 h: Thursday 16–18 and Friday 08–10 run (4 h), pending on the
        // customer from Friday 10:00 to Monday 14:00.
        let c = clock(
            8,
            &[
                ("2026-03-26T16:00:00+01:00", Running),
                ("2026-03-27T10:00:00+01:00", Paused),
                ("2026-03-30T14:00:00+02:00", Running),
            ],
        );
        let s = status(&c, "2026-03-28T12:00:00+01:00");
        assert_eq!(s.state, Some(Paused));
        assert_eq!(s.elapsed, hours(4));
        assert_eq!(s.deadline, None);
        assert_eq!(s.warning_at, None);
        let s = status(&c, "2026-03-30T15:00:00+02:00");
        assert_eq!(s.elapsed, hours(5));
        // Three hours left from Monday 15:00: Monday's close.
        assert_eq!(s.deadline, Some(at("2026-03-30T18:00:00+02:00")));
        assert_eq!(s.remaining, TimeDelta::hours(3));
    }

    #[test]
    fn a_reopened_ticket_resumes_its_clock_instead_of_restarting_it() {
        let c = clock(
            4,
            &[
                ("2026-03-30T09:00:00+02:00", Running),
                ("2026-03-30T10:00:00+02:00", Stopped),
                ("2026-03-31T09:00:00+02:00", Running),
            ],
        );
        let stopped = status(&c, "2026-03-30T16:00:00+02:00");
        assert_eq!(stopped.state, Some(Stopped));
        assert_eq!(stopped.elapsed, hours(1));
        assert_eq!(stopped.deadline, None);
        assert!(!stopped.breached);
        let s = status(&c, "2026-03-31T10:00:00+02:00");
        assert_eq!(s.elapsed, hours(2));
        assert_eq!(s.deadline, Some(at("2026-03-31T12:00:00+02:00")));
        // A restart (a new clock) would have given 13:00 — an hour more.
        let restarted = clock(4, &[("2026-03-31T09:00:00+02:00", Running)]);
        assert_eq!(
            status(&restarted, "2026-03-31T10:00:00+02:00").deadline,
            Some(at("2026-03-31T14:00:00+02:00"))
        );
    }

    #[test]
    fn before_its_start_the_clock_has_not_started_and_later_changes_are_ignored() {
        let c = clock(
            4,
            &[
                ("2026-03-30T09:00:00+02:00", Running),
                ("2026-03-30T10:00:00+02:00", Stopped),
            ],
        );
        let s = status(&c, "2026-03-30T08:00:00+02:00");
        assert_eq!(s.state, None);
        assert_eq!(s.elapsed, Duration::ZERO);
        assert_eq!(s.deadline, None);
        let s = status(&c, "2026-03-30T09:30:00+02:00");
        assert_eq!(s.state, Some(Running));
        assert_eq!(s.deadline, Some(at("2026-03-30T14:00:00+02:00")));
    }

    #[test]
    fn clocks_are_built_valid_only() {
        let change = |t: &str| ClockChange::new(at(t), Running);
        let e = SlaClock::new(
            hours(1),
            80,
            [
                change("2026-03-30T10:00:00Z"),
                change("2026-03-30T09:00:00Z"),
            ],
        )
        .unwrap_err();
        assert_eq!(e.field, "changes[1].at");
        assert_eq!(
            SlaClock::new(Duration::ZERO, 80, []).unwrap_err().field,
            "target"
        );
        assert_eq!(
            SlaClock::new(hours(1), 0, []).unwrap_err().field,
            "warn_percent"
        );
        assert_eq!(
            SlaClock::new(hours(1), 101, []).unwrap_err().field,
            "warn_percent"
        );
        // Equal instants are allowed: the later change wins.
        let c = SlaClock::new(
            hours(1),
            100,
            [
                change("2026-03-30T10:00:00Z"),
                ClockChange::new(at("2026-03-30T10:00:00Z"), Paused),
            ],
        )
        .unwrap();
        assert_eq!(
            c.status(&office(), at("2026-03-30T11:00:00Z"))
                .unwrap()
                .elapsed,
            Duration::ZERO
        );
        assert_eq!(c.warning_threshold(), hours(1));
    }
}
