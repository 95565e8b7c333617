//! The discrete-event loop: a virtual clock, the simulator's own pending actions (arrivals,
//! accepts, hang-ups, ends of conversations, shifts) and the engine's own timers (offer
//! deadlines, wrap-up ends, expansion steps, maximum waits), always taking whichever comes
//! first. At equal instants the engine's timers go first, as every backend does before a
//! command.

use std::{cmp::Reverse, collections::BinaryHeap, collections::HashMap};

use switchboard_domain::{
    AgentId, AgentProfile, AgentStatus, Command, ContactId, Event, EventKind, NewContact, Presence,
    QueueId, ReasonCode, Timestamp,
};
use switchboard_engine::{Engine, EngineError};
use switchboard_stats::Segments;
use uuid::Uuid;

use crate::{
    rng::Rng,
    scenario::{Distribution, Plan},
    SimError,
};

/// The virtual clock starts on Monday 2026-01-05 00:00 UTC (scenario times count from here).
pub const START: Timestamp = Timestamp::from_millis(1_767_571_200_000);

/// No single draw (handle time, patience, gap between arrivals) lasts longer than this, so
/// that clock arithmetic cannot overflow whatever a heavy-tailed distribution produces: ten
/// years, far beyond any horizon a scenario may have.
const MAX_DRAW_MS: f64 = 10.0 * 366.0 * 24.0 * 3_600_000.0;

/// The high half of every simulated contact id; the low half is the contact's number.
const CONTACT_TAG: u64 = 0x5157_0000_0000_7000;

/// Something the simulated world does at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Action {
    Arrival(u32),
    Accept(u64, u32),
    Complete(u64),
    Abandon(u64),
    ShiftStart(u32),
    ShiftEnd(u32),
    /// A leaving agent finished their last contact.
    LogOut(u32),
    /// An agent set away after missed offers comes back.
    Back(u32),
}

/// What the caller of a contact is doing, as far as the simulator knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Waiting,
    Answered,
    Gone,
}

#[derive(Debug)]
struct AgentRec {
    id: AgentId,
    group: usize,
    on_shift: bool,
    /// The shift is over; they log out when their work is done.
    leaving: bool,
}

/// What the loop hands over for the reports.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) segments: Segments,
    /// Contacts generated.
    pub(crate) contacts: u64,
    pub(crate) events: u64,
    /// Accepts and hang-ups that came too late (the offer or the contact was gone): normal
    /// races, counted for the curious.
    pub(crate) stale: u64,
    /// The instant of the last arrival (or the horizon).
    pub(crate) arrivals_end: Timestamp,
    /// The clock when nothing was left to do.
    pub(crate) finished: Timestamp,
}

/// Where a recording run sends the engine's events.
pub(crate) type EventSink<'a> = dyn FnMut(&[Event]) + 'a;

struct Sim<'p> {
    plan: &'p Plan,
    /// Sees every event the engine emits, in order.
    sink: Option<&'p mut EventSink<'p>>,
    engine: Engine,
    segments: Segments,
    pending: BinaryHeap<Reverse<(i64, u64, Action)>>,
    seq: u64,
    now: i64,
    callers: Vec<Caller>,
    agents: Vec<AgentRec>,
    agent_ix: HashMap<AgentId, u32>,
    queue_ix: HashMap<QueueId, usize>,
    arrival_rng: Vec<Rng>,
    handle_rng: Vec<Rng>,
    patience_rng: Vec<Rng>,
    miss_rng: Vec<Rng>,
    no_answer: ReasonCode,
    end_of_shift: ReasonCode,
    events: u64,
    stale: u64,
    last_arrival: i64,
}

/// Runs a validated plan to the end: arrivals stop at the horizon or the call count, then the
/// center drains (every contact answered, abandoned or stuck with nobody to serve it).
pub(crate) fn run<'p>(
    plan: &'p Plan,
    sink: Option<&'p mut EventSink<'p>>,
) -> Result<Run, SimError> {
    let t0 = START.as_millis();
    let n_queues = plan.queues.len() as u64;
    let mut sim = Sim {
        plan,
        sink,
        engine: Engine::new(),
        segments: Segments::new(),
        pending: BinaryHeap::new(),
        seq: 0,
        now: t0,
        callers: Vec::new(),
        agents: Vec::new(),
        agent_ix: HashMap::new(),
        queue_ix: HashMap::new(),
        arrival_rng: (0..n_queues)
            .map(|q| Rng::new(plan.seed, 1_000 + q))
            .collect(),
        handle_rng: (0..n_queues)
            .map(|q| Rng::new(plan.seed, 2_000 + q))
            .collect(),
        patience_rng: (0..n_queues)
            .map(|q| Rng::new(plan.seed, 3_000 + q))
            .collect(),
        miss_rng: (0..plan.groups.len() as u64)
            .map(|g| Rng::new(plan.seed, 4_000 + g))
            .collect(),
        no_answer: ReasonCode::no_answer(),
        end_of_shift: ReasonCode::parse("end-of-shift").expect("valid reason"),
        events: 0,
        stale: 0,
        last_arrival: t0,
    };
    sim.set_up()?;
    sim.run_loop()?;
    let arrivals_end = match (plan.horizon_ms, plan.calls) {
        (Some(h), Some(c)) if (sim.callers.len() as u64) < c => t0 + h,
        (Some(h), None) => t0 + h,
        _ => sim.last_arrival + 1,
    };
    Ok(Run {
        contacts: sim.callers.len() as u64,
        segments: sim.segments,
        events: sim.events,
        stale: sim.stale,
        arrivals_end: Timestamp::from_millis(arrivals_end),
        finished: Timestamp::from_millis(sim.now),
    })
}

impl Sim<'_> {
    fn set_up(&mut self) -> Result<(), SimError> {
        let t0 = self.now;
        for (q, queue) in self.plan.queues.iter().enumerate() {
            self.queue_ix.insert(queue.config.id.clone(), q);
            self.command(Command::UpsertQueue(queue.config.clone()))?;
        }
        for (g, group) in self.plan.groups.iter().enumerate() {
            for n in 1..=group.agents {
                let id = AgentId::parse(&format!("{}-{n}", group.name))
                    .map_err(|e| SimError::Engine(e.to_string()))?;
                let a = self.agents.len() as u32;
                let mut profile = AgentProfile::new(id.clone()).with_capacity(group.capacity);
                profile.skills = group.profile_skills.clone();
                self.command(Command::UpsertAgent(profile))?;
                self.agent_ix.insert(id.clone(), a);
                self.agents.push(AgentRec {
                    id,
                    group: g,
                    on_shift: false,
                    leaving: false,
                });
                if group.shifts.is_empty() {
                    self.act(Action::ShiftStart(a))?;
                }
                for &(start, end) in &group.shifts {
                    self.at(t0 + start, Action::ShiftStart(a));
                    self.at(t0 + end, Action::ShiftEnd(a));
                }
            }
        }
        for q in 0..self.plan.queues.len() {
            if let Some(t) = self.next_arrival(q, t0) {
                self.at(t, Action::Arrival(q as u32));
            }
        }
        Ok(())
    }

    fn run_loop(&mut self) -> Result<(), SimError> {
        loop {
            let next_action = self.pending.peek().map(|Reverse((t, _, _))| *t);
            let next_timer = self.engine.next_deadline().map(Timestamp::as_millis);
            match (next_action, next_timer) {
                (None, None) => return Ok(()),
                (a, Some(t)) if a.is_none_or(|a| t <= a) => {
                    self.now = t;
                    let events = self.engine.fire_due(Timestamp::from_millis(t));
                    self.observe(events);
                }
                _ => {
                    let Some(Reverse((t, _, action))) = self.pending.pop() else {
                        return Ok(());
                    };
                    self.now = t;
                    self.act(action)?;
                }
            }
        }
    }

    fn at(&mut self, t: i64, action: Action) {
        self.seq += 1;
        self.pending.push(Reverse((t, self.seq, action)));
    }

    fn ts(&self) -> Timestamp {
        Timestamp::from_millis(self.now)
    }

    /// A command that must succeed (set-up, shifts): a refusal is a bug worth reporting.
    fn command(&mut self, command: Command) -> Result<(), SimError> {
        let name = command.name();
        let events = self
            .engine
            .apply(command, self.ts())
            .map_err(|e| SimError::Engine(format!("{name} refused: {e}")))?;
        self.observe(events);
        Ok(())
    }

    /// A command that may come too late (the offer was withdrawn, the caller is gone).
    fn try_command(&mut self, command: Command) -> Result<(), SimError> {
        match self.engine.apply(command, self.ts()) {
            Ok(events) => self.observe(events),
            Err(
                EngineError::NotOffered { .. }
                | EngineError::UnknownContact(_)
                | EngineError::InvalidTransition { .. },
            ) => self.stale += 1,
            Err(e) => return Err(SimError::Engine(e.to_string())),
        }
        Ok(())
    }

    fn act(&mut self, action: Action) -> Result<(), SimError> {
        match action {
            Action::Arrival(q) => self.arrive(q as usize)?,
            Action::Accept(n, a) => {
                let agent = self.agents[a as usize].id.clone();
                self.try_command(Command::Accept {
                    contact: contact_id(n),
                    agent,
                })?;
            }
            Action::Complete(n) => self.try_command(Command::Complete {
                contact: contact_id(n),
            })?,
            Action::Abandon(n) => {
                if self.callers[n as usize] == Caller::Waiting {
                    self.try_command(Command::Abandon {
                        contact: contact_id(n),
                    })?;
                }
            }
            Action::ShiftStart(a) => {
                let agent = &mut self.agents[a as usize];
                agent.on_shift = true;
                agent.leaving = false;
                self.set_presence(a, Presence::Available)?;
            }
            Action::ShiftEnd(a) => {
                self.agents[a as usize].on_shift = false;
                match self.status(a) {
                    AgentStatus::Offline => {}
                    AgentStatus::Busy | AgentStatus::WrapUp { .. } => {
                        self.agents[a as usize].leaving = true;
                        let reason = self.end_of_shift.clone();
                        self.set_presence(a, Presence::Away { reason })?;
                    }
                    _ => self.set_presence(a, Presence::Offline)?,
                }
            }
            Action::LogOut(a) => {
                let agent = &self.agents[a as usize];
                if agent.leaving && !agent.on_shift {
                    if let AgentStatus::Away { .. } | AgentStatus::Available = self.status(a) {
                        self.agents[a as usize].leaving = false;
                        self.set_presence(a, Presence::Offline)?;
                    }
                }
            }
            Action::Back(a) => {
                let agent = &self.agents[a as usize];
                if agent.on_shift {
                    if let AgentStatus::Away { reason } = self.status(a) {
                        if reason == self.no_answer {
                            self.set_presence(a, Presence::Available)?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn status(&self, a: u32) -> AgentStatus {
        self.engine
            .agent_status(&self.agents[a as usize].id)
            .unwrap_or(AgentStatus::Offline)
    }

    fn set_presence(&mut self, a: u32, presence: Presence) -> Result<(), SimError> {
        let agent = self.agents[a as usize].id.clone();
        self.command(Command::SetPresence { agent, presence })
    }

    fn arrive(&mut self, q: usize) -> Result<(), SimError> {
        let n = self.callers.len() as u64;
        if self.plan.calls.is_some_and(|c| n >= c) {
            return Ok(());
        }
        self.callers.push(Caller::Waiting);
        self.last_arrival = self.now;
        let queue = &self.plan.queues[q];
        let patience = queue.patience;
        let contact = NewContact::new(contact_id(n), queue.config.id.clone(), queue.channel);
        self.command(Command::Enqueue(contact))?;
        if let Some(p) = patience {
            let wait = sample(&mut self.patience_rng[q], &p);
            if self.callers[n as usize] == Caller::Waiting {
                self.at(self.now + wait, Action::Abandon(n));
            }
        }
        if let Some(t) = self.next_arrival(q, self.now) {
            self.at(t, Action::Arrival(q as u32));
        }
        Ok(())
    }

    /// The next arrival in queue `q` after `from` (Poisson with a piecewise-constant rate:
    /// memoryless, so a draw that crosses a rate change restarts from the change), or none
    /// past the horizon.
    fn next_arrival(&mut self, q: usize, from: i64) -> Option<i64> {
        let t0 = START.as_millis();
        let profile = &self.plan.queues[q].profile;
        let horizon = self.plan.horizon_ms.map(|h| t0 + h);
        // Each gap is drawn exactly and rounded to the millisecond once, at the end.
        let mut t = (from - t0) as f64;
        loop {
            let step = profile.partition_point(|&(start, _)| start as f64 <= t);
            let (rate, next_change) = match step {
                0 => (0.0, Some(profile[0].0 as f64)),
                i => (profile[i - 1].1, profile.get(i).map(|&(s, _)| s as f64)),
            };
            let candidate = if rate > 0.0 {
                let gap = self.arrival_rng[q].exponential(1.0 / rate);
                // A rate so low that the next arrival is years away: none in this run.
                if gap > MAX_DRAW_MS {
                    return None;
                }
                Some(t + gap)
            } else {
                None
            };
            match (candidate, next_change) {
                (Some(c), Some(change)) if c >= change => t = change,
                (Some(c), _) => {
                    let at = t0 + c.round() as i64;
                    // Two arrivals in the same millisecond keep their order.
                    let at = at.max(from);
                    return match horizon {
                        Some(h) if at >= h => None,
                        _ => Some(at),
                    };
                }
                (None, Some(change)) => t = change,
                (None, None) => return None,
            }
            if horizon.is_some_and(|h| t0 + t as i64 >= h) {
                return None;
            }
        }
    }

    /// Feeds the engine's events to the reports and reacts as callers and agents would.
    fn observe(&mut self, events: Vec<Event>) {
        self.events += events.len() as u64;
        if let Some(sink) = &mut self.sink {
            sink(&events);
        }
        for e in &events {
            self.segments.apply(e);
            match &e.kind {
                EventKind::ContactOffered { contact, agent, .. } => {
                    let a = self.agent_ix[agent];
                    let g = self.agents[a as usize].group;
                    let group = &self.plan.groups[g];
                    if !self.miss_rng[g].chance(group.miss_rate) {
                        let delay = group.answer_delay_ms;
                        self.at(self.now + delay, Action::Accept(number(*contact), a));
                    }
                }
                EventKind::OfferAccepted { contact, queue, .. } => {
                    let n = number(*contact);
                    self.callers[n as usize] = Caller::Answered;
                    let q = self.queue_ix[queue];
                    let handle = self.plan.queues[q].handle_time;
                    let talk = sample(&mut self.handle_rng[q], &handle).max(1);
                    self.at(self.now + talk, Action::Complete(n));
                }
                EventKind::ContactAbandoned { contact, .. }
                | EventKind::ContactExited { contact, .. } => {
                    self.callers[number(*contact) as usize] = Caller::Gone;
                }
                EventKind::ContactRefused { contact, .. } => {
                    self.callers[number(*contact) as usize] = Caller::Gone;
                }
                EventKind::ContactCompleted { agent, .. } => {
                    let a = self.agent_ix[agent];
                    if self.agents[a as usize].leaving {
                        self.at(self.now, Action::LogOut(a));
                    }
                }
                EventKind::AgentPresenceChanged {
                    agent,
                    presence: Presence::Away { reason },
                } if *reason == self.no_answer => {
                    let a = self.agent_ix[agent];
                    let back =
                        self.plan.groups[self.agents[a as usize].group].back_after_no_answer_ms;
                    self.at(self.now + back, Action::Back(a));
                }
                _ => {}
            }
        }
    }
}

fn contact_id(n: u64) -> ContactId {
    ContactId::from_uuid(Uuid::from_u64_pair(CONTACT_TAG, n))
}

fn number(id: ContactId) -> u64 {
    id.as_uuid().as_u64_pair().1
}

/// A draw in whole milliseconds.
fn sample(rng: &mut Rng, d: &Distribution) -> i64 {
    let secs = match *d {
        Distribution::Fixed { mean } => mean,
        Distribution::Exponential { mean } => rng.exponential(mean),
        Distribution::LogNormal { mean, sd } => {
            let s2 = (1.0 + (sd / mean).powi(2)).ln();
            let mu = mean.ln() - s2 / 2.0;
            (mu + s2.sqrt() * rng.normal()).exp()
        }
    };
    (secs * 1000.0).round().clamp(0.0, MAX_DRAW_MS) as i64
}
