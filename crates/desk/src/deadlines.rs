//! The deadline scheduler's pure core: which SLA warnings and breaches fall due when.
//!
//! [`Deadlines`] holds one instant per [`DeadlineKey`] — a ticket, one of its clocks
//! ([`ClockKind`]: first response, next response, resolution) and a [`Mark`] (warning or
//! breach) — in a keyed heap (the `priority-queue` crate), so a deadline can move or go
//! away by its key: [`Deadlines::upsert`], [`Deadlines::remove`],
//! [`Deadlines::remove_ticket`], [`Deadlines::set_clock`]. [`Deadlines::due`] pops every
//! deadline at or before `now` in time order (ties by key, so the order is deterministic)
//! and [`Deadlines::next_at`] says when to wake next. It reads no clock and runs no timer:
//! the application sleeps until `next_at`, calls `due(now)` and raises what comes out.
//!
//! # Planning
//! What to schedule for a clock follows from its status alone ([`plan_clock`]; a whole
//! ticket: [`plan_ticket`]):
//! - Only a **running** clock schedules anything. Paused (pending on the customer), stopped
//!   (target met, resolved, closed) or not started: nothing; a resume is a re-plan.
//! - The **breach** is due at [`SlaStatus::deadline`](crate::SlaStatus): the instant the
//!   target's business time runs out if the clock keeps running. A clock already past it
//!   gets its breach at that past instant, so the next `due(now)` yields it at once.
//! - The **warning** is due at [`SlaStatus::warning_at`](crate::SlaStatus), only while the
//!   breach is still ahead and before it (a clock found already breached is not also
//!   warned; a 100 % warning, at the breach instant itself, is left to the breach).
//! - **Raised marks are skipped**: the caller passes which marks it already raised for the
//!   clock ([`Raised`]) — it knows from its own records: the warning and breach events it
//!   stored when `due` yielded them (a breach it escalated is also in the ticket's trail as
//!   `EscalationReason::SlaBreach { target }`). So a breach is raised once, however often
//!   the clock is re-planned (each pause, resume, reopen or policy change). A clock that
//!   starts afresh (a next-response clock after each customer message) starts with nothing
//!   raised.
//!
//! # Moving deadlines
//! After anything that changes a ticket's clocks or policy, re-plan the clock and hand the
//! plan to [`Deadlines::set_clock`]: it replaces both marks of that clock, dropping a mark
//! the plan no longer has (a pause drops both). Closing or merging a ticket stops its
//! clocks; [`Deadlines::remove_ticket`] drops whatever is left.
//!
//! # Restarts
//! `Deadlines` is never stored: it is rebuilt from the tickets. At start the application
//! plans each open ticket ([`plan_ticket`], plus [`plan_clock`] for the next-response clocks
//! it keeps) at the current `now` and collects the plans (`Deadlines` is
//! [`FromIterator`] and [`Extend`]). Deadlines that passed while it was down come out of the
//! first `due(now)`, unless already raised. One gap, by the rule above: a clock that crossed
//! its deadline while nothing was running and has since been paused or stopped is not
//! planned; `SlaStatus::breached` still reports it.

use std::{cmp::Reverse, fmt};

use priority_queue::PriorityQueue;
use serde::{Deserialize, Serialize};
use switchboard_domain::{Timestamp, ValidationError};

use crate::{
    calendar::{BusinessCalendar, CalendarError},
    sla::{ClockState, SlaClock},
    sla_policy::{ClockKind, SlaPolicy},
    ticket::{SlaTarget, Ticket, TicketId},
};

/// Which instant of a clock: the warning before the breach, or the breach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Warning,
    Breach,
}

impl Mark {
    pub const ALL: [Mark; 2] = [Mark::Warning, Mark::Breach];

    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Warning => "warning",
            Mark::Breach => "breach",
        }
    }
}

/// One deadline's name. Ordered by ticket, clock, mark: the tie-break of equal instants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeadlineKey {
    pub ticket: TicketId,
    pub clock: ClockKind,
    pub mark: Mark,
}

impl DeadlineKey {
    pub fn new(ticket: TicketId, clock: ClockKind, mark: Mark) -> Self {
        Self {
            ticket,
            clock,
            mark,
        }
    }
}

/// The pending deadlines, earliest first.
#[derive(Clone, Default)]
pub struct Deadlines {
    /// The priority carries the key too, so equal instants pop in key order (the heap's own
    /// order among equal priorities is unspecified); `Reverse` makes the max-heap pop the
    /// earliest.
    queue: PriorityQueue<DeadlineKey, Reverse<(Timestamp, DeadlineKey)>>,
}

impl Deadlines {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// When `key` is due, if it is scheduled.
    pub fn get(&self, key: &DeadlineKey) -> Option<Timestamp> {
        self.queue.get_priority(key).map(|Reverse((at, _))| *at)
    }

    /// Schedules `key` at `at`, moving it if it was scheduled; returns where it was.
    pub fn upsert(&mut self, key: DeadlineKey, at: Timestamp) -> Option<Timestamp> {
        self.queue
            .push(key, Reverse((at, key)))
            .map(|Reverse((was, _))| was)
    }

    /// Unschedules `key`; returns where it was.
    pub fn remove(&mut self, key: &DeadlineKey) -> Option<Timestamp> {
        self.queue.remove(key).map(|(_, Reverse((at, _)))| at)
    }

    /// Unschedules every deadline of `ticket`; returns how many there were.
    pub fn remove_ticket(&mut self, ticket: TicketId) -> usize {
        ClockKind::ALL
            .into_iter()
            .map(|clock| self.remove_clock(ticket, clock))
            .sum()
    }

    /// Unschedules both marks of one clock; returns how many there were.
    pub fn remove_clock(&mut self, ticket: TicketId, clock: ClockKind) -> usize {
        Mark::ALL
            .into_iter()
            .filter_map(|mark| self.remove(&DeadlineKey::new(ticket, clock, mark)))
            .count()
    }

    /// Makes `plan` (from [`plan_clock`]) the clock's schedule: its marks at their instants,
    /// the marks it leaves out unscheduled.
    pub fn set_clock(&mut self, ticket: TicketId, clock: ClockKind, plan: &[(Mark, Timestamp)]) {
        self.remove_clock(ticket, clock);
        for &(mark, at) in plan {
            self.upsert(DeadlineKey::new(ticket, clock, mark), at);
        }
    }

    /// Removes and returns every deadline at or before `now`, earliest first, equal
    /// instants in key order.
    pub fn due(&mut self, now: Timestamp) -> Vec<(DeadlineKey, Timestamp)> {
        let mut due = Vec::new();
        while let Some((key, Reverse((at, _)))) =
            self.queue.pop_if(|_, Reverse((at, _))| *at <= now)
        {
            due.push((key, at));
        }
        due
    }

    /// The earliest deadline: when to call [`Deadlines::due`] next.
    pub fn next_at(&self) -> Option<Timestamp> {
        self.queue.peek().map(|(_, Reverse((at, _)))| *at)
    }

    /// Every deadline, earliest first, equal instants in key order (the order `due` pops).
    pub fn entries(&self) -> Vec<(DeadlineKey, Timestamp)> {
        let mut all: Vec<_> = self
            .queue
            .iter()
            .map(|(key, Reverse((at, _)))| (*key, *at))
            .collect();
        all.sort_by_key(|&(key, at)| (at, key));
        all
    }
}

impl fmt::Debug for Deadlines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries()).finish()
    }
}

impl PartialEq for Deadlines {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .queue
                .iter()
                .all(|(key, at)| other.queue.get_priority(key) == Some(at))
    }
}

impl Eq for Deadlines {}

impl Extend<(DeadlineKey, Timestamp)> for Deadlines {
    fn extend<T: IntoIterator<Item = (DeadlineKey, Timestamp)>>(&mut self, iter: T) {
        for (key, at) in iter {
            self.upsert(key, at);
        }
    }
}

impl FromIterator<(DeadlineKey, Timestamp)> for Deadlines {
    fn from_iter<T: IntoIterator<Item = (DeadlineKey, Timestamp)>>(iter: T) -> Self {
        let mut deadlines = Self::new();
        deadlines.extend(iter);
        deadlines
    }
}

/// The marks of one clock the caller has already raised (in this run of the clock).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Raised {
    pub warning: bool,
    pub breach: bool,
}

impl Raised {
    pub const NOTHING: Raised = Raised {
        warning: false,
        breach: false,
    };

    pub fn has(self, mark: Mark) -> bool {
        match mark {
            Mark::Warning => self.warning,
            Mark::Breach => self.breach,
        }
    }
}

/// What to schedule for `clock` at `now` (see the module's "Planning"): at most a warning
/// then a breach, in that order.
///
/// # Errors
/// [`CalendarError`] when the calendar cannot answer (see [`SlaClock::status`]).
pub fn plan_clock(
    clock: &SlaClock,
    cal: &BusinessCalendar,
    now: Timestamp,
    raised: Raised,
) -> Result<Vec<(Mark, Timestamp)>, CalendarError> {
    let status = clock.status(cal, now)?;
    if status.state != Some(ClockState::Running) {
        return Ok(Vec::new());
    }
    let mut plan = Vec::with_capacity(2);
    if let (false, false, Some(warning_at), Some(deadline)) = (
        raised.warning,
        status.breached,
        status.warning_at,
        status.deadline,
    ) {
        if warning_at < deadline {
            plan.push((Mark::Warning, warning_at));
        }
    }
    if let (false, Some(deadline)) = (raised.breach, status.deadline) {
        plan.push((Mark::Breach, deadline));
    }
    Ok(plan)
}

/// Why a ticket could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// The ticket's clock history is out of order (a corrupt stored ticket).
    #[error(transparent)]
    Clock(#[from] ValidationError),
}

/// The deadlines of `ticket`'s first-response and resolution clocks under `policy` (the
/// one [`policy_for`](crate::policy_for) chose) over its calendar `cal` at `now`, skipping
/// the marks `raised` says were raised. Clocks the policy has no target for are not planned.
///
/// The ticket does not keep a next-response clock: the caller that keeps one plans it with
/// [`plan_clock`].
///
/// # Errors
/// [`PlanError`] from the calendar or a corrupt clock history.
pub fn plan_ticket(
    ticket: &Ticket,
    policy: &SlaPolicy,
    cal: &BusinessCalendar,
    now: Timestamp,
    raised: impl Fn(ClockKind) -> Raised,
) -> Result<Vec<(DeadlineKey, Timestamp)>, PlanError> {
    let mut plan = Vec::new();
    for target in [SlaTarget::FirstResponse, SlaTarget::Resolution] {
        let kind = ClockKind::from(target);
        let Some(duration) = policy.target(kind) else {
            continue;
        };
        let clock = ticket.sla_clock(target, duration, policy.warn_percent())?;
        for (mark, at) in plan_clock(&clock, cal, now, raised(kind))? {
            plan.push((DeadlineKey::new(ticket.id, kind, mark), at));
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::Weekday::{Fri, Mon, Thu, Tue, Wed};
    use switchboard_domain::{parse_instant, AgentId};

    use super::*;
    use crate::{
        calendar::Slot,
        sla::ClockChange,
        sla_policy::SlaPolicySpec,
        ticket::{
            create, decide, Action, Actor, Command, NewTicket, PendingOn, TicketKind, Visibility,
        },
    };
    use ClockKind::{FirstResponse, Resolution};
    use ClockState::{Paused, Running, Stopped};
    use Mark::{Breach, Warning};

    fn at(s: &str) -> Timestamp {
        parse_instant(s).unwrap()
    }

    fn ms(n: i64) -> Timestamp {
        Timestamp::from_millis(n)
    }

    fn ticket(n: u8) -> TicketId {
        format!("0190f0c4-0000-7000-8000-0000000000{n:02}")
            .parse()
            .unwrap()
    }

    fn key(n: u8, clock: ClockKind, mark: Mark) -> DeadlineKey {
        DeadlineKey::new(ticket(n), clock, mark)
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

    #[test]
    fn due_pops_what_is_at_or_before_now_in_time_order_and_keeps_the_rest() {
        let mut d = Deadlines::new();
        assert_eq!(d.next_at(), None);
        assert!(d.due(ms(i64::MAX)).is_empty());
        d.upsert(key(1, Resolution, Breach), ms(300));
        d.upsert(key(2, FirstResponse, Warning), ms(100));
        d.upsert(key(3, FirstResponse, Breach), ms(200));
        d.upsert(key(4, Resolution, Warning), ms(400));
        assert_eq!(d.len(), 4);
        assert_eq!(d.next_at(), Some(ms(100)));
        assert!(d.due(ms(99)).is_empty());
        // `now` itself is due.
        assert_eq!(
            d.due(ms(200)),
            vec![
                (key(2, FirstResponse, Warning), ms(100)),
                (key(3, FirstResponse, Breach), ms(200)),
            ]
        );
        assert_eq!(d.len(), 2);
        assert_eq!(d.next_at(), Some(ms(300)));
        assert_eq!(
            d.entries(),
            vec![
                (key(1, Resolution, Breach), ms(300)),
                (key(4, Resolution, Warning), ms(400)),
            ]
        );
    }

    #[test]
    fn equal_instants_come_out_in_key_order_whatever_the_insertion_order() {
        let keys = [
            key(2, Resolution, Breach),
            key(1, Resolution, Breach),
            key(1, FirstResponse, Breach),
            key(1, FirstResponse, Warning),
            key(2, ClockKind::NextResponse, Warning),
        ];
        let mut sorted = keys.to_vec();
        sorted.sort();
        for rotation in 0..keys.len() {
            let mut d = Deadlines::new();
            for k in keys.iter().cycle().skip(rotation).take(keys.len()) {
                d.upsert(*k, ms(50));
            }
            let popped: Vec<DeadlineKey> = d.due(ms(50)).into_iter().map(|(k, _)| k).collect();
            assert_eq!(popped, sorted);
        }
    }

    #[test]
    fn a_deadline_moves_by_its_key_and_goes_away_by_its_key_or_its_ticket() {
        let mut d = Deadlines::new();
        let k = key(1, Resolution, Breach);
        assert_eq!(d.upsert(k, ms(100)), None);
        d.upsert(key(1, Resolution, Warning), ms(80));
        d.upsert(key(1, FirstResponse, Breach), ms(120));
        d.upsert(key(2, Resolution, Breach), ms(150));
        // A pause and a resume push the breach later: one entry, at the new instant.
        assert_eq!(d.upsert(k, ms(500)), Some(ms(100)));
        assert_eq!(d.len(), 4);
        assert_eq!(d.get(&k), Some(ms(500)));
        assert_eq!(
            d.due(ms(200)).len(),
            3,
            "the moved breach is no longer due at 200"
        );
        // Or earlier (a stricter policy).
        d.upsert(k, ms(10));
        assert_eq!(d.next_at(), Some(ms(10)));
        assert_eq!(d.remove(&k), Some(ms(10)));
        assert_eq!(d.remove(&k), None);
        assert!(d.is_empty());

        let mut d: Deadlines = [
            (key(1, Resolution, Breach), ms(100)),
            (key(1, FirstResponse, Warning), ms(50)),
            (key(2, Resolution, Breach), ms(70)),
        ]
        .into_iter()
        .collect();
        assert_eq!(d.remove_ticket(ticket(1)), 2);
        assert_eq!(d.remove_ticket(ticket(1)), 0);
        assert_eq!(d.entries(), vec![(key(2, Resolution, Breach), ms(70))]);
    }

    #[test]
    fn set_clock_replaces_both_marks_of_one_clock_only() {
        let mut d: Deadlines = [
            (key(1, Resolution, Warning), ms(80)),
            (key(1, Resolution, Breach), ms(100)),
            (key(1, FirstResponse, Breach), ms(60)),
        ]
        .into_iter()
        .collect();
        // The warning was raised: the new plan has only the breach, later.
        d.set_clock(ticket(1), Resolution, &[(Breach, ms(400))]);
        assert_eq!(
            d.entries(),
            vec![
                (key(1, FirstResponse, Breach), ms(60)),
                (key(1, Resolution, Breach), ms(400)),
            ]
        );
        // Paused: an empty plan.
        d.set_clock(ticket(1), Resolution, &[]);
        assert_eq!(d.entries(), vec![(key(1, FirstResponse, Breach), ms(60))]);
    }

    fn clock(target_h: u64, warn: u8, changes: &[(&str, ClockState)]) -> SlaClock {
        SlaClock::new(
            Duration::from_secs(target_h * 3600),
            warn,
            changes.iter().map(|(t, s)| ClockChange::new(at(t), *s)),
        )
        .unwrap()
    }

    fn plan(c: &SlaClock, now: &str, raised: Raised) -> Vec<(Mark, Timestamp)> {
        plan_clock(c, &office(), at(now), raised).unwrap()
    }

    #[test]
    fn a_running_clock_schedules_its_warning_and_breach() {
        // 4 business hours from Friday 16:00, warning at 50 %: Friday's close, Monday 10:00.
        let c = clock(4, 50, &[("2026-03-27T16:00:00+01:00", Running)]);
        let p = plan(&c, "2026-03-27T17:00:00+01:00", Raised::NOTHING);
        assert_eq!(
            p,
            vec![
                (Warning, at("2026-03-27T18:00:00+01:00")),
                (Breach, at("2026-03-30T10:00:00+02:00")),
            ]
        );
        let status = c
            .status(&office(), at("2026-03-27T17:00:00+01:00"))
            .unwrap();
        assert_eq!(Some(p[1].1), status.deadline);
        // The warning raised: only the breach.
        let raised = Raised {
            warning: true,
            breach: false,
        };
        assert_eq!(
            plan(&c, "2026-03-30T09:00:00+02:00", raised),
            vec![(Breach, at("2026-03-30T10:00:00+02:00"))]
        );
        // A warning at 100 % is the breach itself: only the breach.
        let c = clock(4, 100, &[("2026-03-27T16:00:00+01:00", Running)]);
        assert_eq!(
            plan(&c, "2026-03-27T17:00:00+01:00", Raised::NOTHING),
            vec![(Breach, at("2026-03-30T10:00:00+02:00"))]
        );
    }

    #[test]
    fn a_paused_stopped_or_unstarted_clock_schedules_nothing() {
        let c = clock(
            4,
            80,
            &[
                ("2026-03-30T09:00:00+02:00", Running),
                ("2026-03-30T10:00:00+02:00", Paused),
                ("2026-03-31T09:00:00+02:00", Running),
                ("2026-03-31T10:00:00+02:00", Stopped),
            ],
        );
        assert!(plan(&c, "2026-03-30T08:00:00+02:00", Raised::NOTHING).is_empty());
        assert!(plan(&c, "2026-03-30T11:00:00+02:00", Raised::NOTHING).is_empty());
        assert!(plan(&c, "2026-03-31T11:00:00+02:00", Raised::NOTHING).is_empty());
        // Resumed: 1 h counted before the pause, 3 h left from Tuesday 09:00.
        assert_eq!(
            plan(&c, "2026-03-31T09:30:00+02:00", Raised::NOTHING),
            vec![
                (Warning, at("2026-03-31T11:12:00+02:00")),
                (Breach, at("2026-03-31T12:00:00+02:00")),
            ]
        );
    }

    #[test]
    fn a_breached_clock_yields_its_breach_now_due_once() {
        let c = clock(2, 80, &[("2026-03-30T09:00:00+02:00", Running)]);
        let now = at("2026-03-30T15:00:00+02:00");
        // Found breached (say after a restart): the breach, at its past instant; no warning.
        let p = plan(&c, "2026-03-30T15:00:00+02:00", Raised::NOTHING);
        assert_eq!(p, vec![(Breach, at("2026-03-30T11:00:00+02:00"))]);
        let mut d = Deadlines::new();
        d.set_clock(ticket(1), Resolution, &p);
        assert_eq!(
            d.due(now),
            vec![(key(1, Resolution, Breach), at("2026-03-30T11:00:00+02:00"))]
        );
        // The caller recorded the breach: a re-plan schedules nothing more.
        let raised = Raised {
            warning: false,
            breach: true,
        };
        d.set_clock(
            ticket(1),
            Resolution,
            &plan(&c, "2026-03-30T16:00:00+02:00", raised),
        );
        assert!(d.is_empty());
    }

    /// Runs `action` by an agent at `now` and applies what it causes.
    fn run(t: &mut Ticket, now: &str, action: Action) {
        let ann = Actor::Agent(AgentId::parse("ann").unwrap());
        for e in decide(t, Command::new(ann, at(now), action)).unwrap() {
            t.apply(&e);
        }
    }

    #[test]
    fn a_ticket_is_planned_from_its_own_clocks_under_its_policy() {
        let policy = SlaPolicy::try_from(SlaPolicySpec {
            id: "std".into(),
            name: "Standard".into(),
            when: Default::default(),
            targets: crate::sla_policy::TargetsSpec {
                first_response: Some(2.0 * 3600.0),
                next_response: Some(3600.0),
                resolution: Some(8.0 * 3600.0),
            },
            warn_percent: 50,
            calendar: "office".into(),
        })
        .unwrap();
        let ann = Actor::Agent(AgentId::parse("ann").unwrap());
        let created = at("2026-03-30T09:00:00+02:00");
        let (mut t, _) = create(
            ticket(1),
            NewTicket::new(TicketKind::Inquiry, "Where is my parcel?"),
            ann,
            created,
        )
        .unwrap();
        let planned = |t: &Ticket, now: &str, raised: Raised| {
            plan_ticket(t, &policy, &office(), at(now), |_| raised).unwrap()
        };
        assert_eq!(
            planned(&t, "2026-03-30T09:00:00+02:00", Raised::NOTHING),
            vec![
                (
                    key(1, FirstResponse, Warning),
                    at("2026-03-30T10:00:00+02:00")
                ),
                (
                    key(1, FirstResponse, Breach),
                    at("2026-03-30T11:00:00+02:00")
                ),
                (key(1, Resolution, Warning), at("2026-03-30T14:00:00+02:00")),
                (key(1, Resolution, Breach), at("2026-03-30T18:00:00+02:00")),
            ]
        );
        // The first reply stops the first-response clock; pending on the customer pauses
        // the resolution clock: nothing left to schedule.
        run(&mut t, "2026-03-30T09:10:00+02:00", Action::Open);
        run(
            &mut t,
            "2026-03-30T09:30:00+02:00",
            Action::AddNote {
                visibility: Visibility::Customer,
                text: "We are looking into it.".into(),
            },
        );
        run(
            &mut t,
            "2026-03-30T09:40:00+02:00",
            Action::Pend {
                on: PendingOn::Customer,
            },
        );
        assert!(planned(&t, "2026-03-30T10:00:00+02:00", Raised::NOTHING).is_empty());
        // Resumed Tuesday 08:00 with 40 min counted: 7 h 20 min left, Tuesday 16:20.
        run(&mut t, "2026-03-31T08:00:00+02:00", Action::Resume);
        assert_eq!(
            planned(&t, "2026-03-31T08:00:00+02:00", Raised::NOTHING),
            vec![
                (key(1, Resolution, Warning), at("2026-03-31T11:20:00+02:00")),
                (key(1, Resolution, Breach), at("2026-03-31T16:20:00+02:00")),
            ]
        );
    }
}
