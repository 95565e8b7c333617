//! The driver: a [`Run`] steps the engine and the model together, as a backend does (due
//! timers before every command), checks that a refused command changes nothing observable,
//! drains at the end (rule 6), and replays on a fresh engine (rule 7).

use switchboard_domain::{
    AgentProfile, AgentStatus, Channel, Command, ContactId, ContactState, Event, NewContact,
    Presence, QueueConfig, Timestamp, TransferTarget, Urgency, WrapUp,
};
use switchboard_engine::{Engine, EngineError, QueuePosition, QueueSnapshot};
use switchboard_test_support::time::T0;
use uuid::Uuid;

use crate::{
    model::{Model, State},
    strategies::{
        aid, need, pick, presence, profile, qid, secs, Op, Setup, AGENTS, CHANNELS, QUEUES, TIERS,
    },
};

#[derive(Clone, Debug)]
enum Call {
    Fire(Timestamp),
    Apply(Command, Timestamp),
}

#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Fired(Vec<Event>),
    Applied(Result<Vec<Event>, EngineError>),
}

/// Everything a refused command must leave as it was.
#[derive(Debug, PartialEq)]
struct Observed {
    contacts: Vec<Option<ContactState>>,
    positions: Vec<Option<QueuePosition>>,
    agents: Vec<(Option<AgentStatus>, Vec<ContactId>)>,
    queues: Vec<Option<QueueSnapshot>>,
    next_deadline: Option<Timestamp>,
    contact_count: usize,
}

fn observe(engine: &Engine, ids: &[ContactId], now: Timestamp) -> Observed {
    let agent = |i| (engine.agent_status(&aid(i)), engine.agent_contacts(&aid(i)));
    Observed {
        contacts: ids.iter().map(|&id| engine.contact(id)).collect(),
        positions: ids.iter().map(|&id| engine.position(id, now)).collect(),
        agents: (0..AGENTS).map(agent).collect(),
        queues: (0..QUEUES.len())
            .map(|i| engine.queue_snapshot(&qid(i), now))
            .collect(),
        next_deadline: engine.next_deadline(),
        contact_count: engine.contact_count(),
    }
}

pub(crate) struct Run {
    pub(crate) engine: Engine,
    pub(crate) model: Model,
    now: Timestamp,
    /// Every contact id ever used, in order.
    pub(crate) ids: Vec<ContactId>,
    calls: Vec<Call>,
    pub(crate) outcomes: Vec<Outcome>,
}

impl Run {
    /// A fresh engine with these queues and agents (`agent0`…), each in its presence.
    pub(crate) fn start(
        queues: Vec<QueueConfig>,
        agents: Vec<(AgentProfile, Presence)>,
    ) -> Result<Self, String> {
        let mut run = Run {
            engine: Engine::new(),
            model: Model::new(),
            now: Timestamp::from_millis(T0),
            ids: Vec::new(),
            calls: Vec::new(),
            outcomes: Vec::new(),
        };
        for config in queues {
            run.command(Command::UpsertQueue(config))?;
        }
        for (profile, _) in &agents {
            run.command(Command::UpsertAgent(profile.clone()))?;
        }
        for (profile, presence) in agents {
            run.command(Command::SetPresence {
                agent: profile.id,
                presence,
            })?;
        }
        Ok(run)
    }

    pub(crate) fn new(setup: &Setup) -> Result<Self, String> {
        let agents = setup.agents.iter().enumerate();
        let agents = agents.map(|(i, a)| (profile(i, a.levels, a.capacity), presence(a.presence)));
        Self::start(setup.queue_configs(), agents.collect())
    }

    pub(crate) fn step(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Advance(s) => self.advance(s),
            _ => match self.resolve(op) {
                Some(cmd) => self.command(cmd),
                None => Ok(()),
            },
        }
    }

    /// One command as a backend takes it: due timers first, then the command; then the checks.
    pub(crate) fn command(&mut self, cmd: Command) -> Result<(), String> {
        let before = self.model.waiting();
        let fired = self.fire();
        let applied = self.apply(cmd);
        let checked = self.model.end_step(&self.engine, self.now, &before);
        fired.and(applied).and(checked)
    }

    pub(crate) fn advance(&mut self, s: u64) -> Result<(), String> {
        let before = self.model.waiting();
        self.now = self.now.plus(secs(s));
        let fired = self.fire();
        fired.and(self.model.end_step(&self.engine, self.now, &before))
    }

    /// Feeds every event to the model (so that a run can go on past a broken rule); the first
    /// broken rule.
    fn feed(&mut self, events: &[Event]) -> Result<(), String> {
        let verdicts: Vec<_> = events.iter().map(|e| self.model.on_event(e)).collect();
        verdicts.into_iter().collect()
    }

    fn fire(&mut self) -> Result<(), String> {
        let events = self.engine.fire_due(self.now);
        self.calls.push(Call::Fire(self.now));
        let fed = self.feed(&events);
        self.outcomes.push(Outcome::Fired(events));
        fed
    }

    fn apply(&mut self, cmd: Command) -> Result<(), String> {
        let before = observe(&self.engine, &self.ids, self.now);
        if let Command::Enqueue(new) = &cmd {
            self.model.own_skills.insert(new.id, new.skills.clone());
        }
        if let Command::Answer { contact, agent } = &cmd {
            self.model.answering = Some((*contact, agent.clone()));
        }
        let result = self.engine.apply(cmd.clone(), self.now);
        let fed = match &result {
            Ok(events) => {
                self.model.configure(&cmd);
                self.feed(events)
            }
            Err(e) => {
                let after = observe(&self.engine, &self.ids, self.now);
                if let Command::Enqueue(new) = &cmd {
                    self.model.own_skills.remove(&new.id);
                }
                match after == before {
                    true => Ok(()),
                    false => Err(format!("refused {} ({e}) changed the engine", cmd.name())),
                }
            }
        };
        self.model.answering = None;
        self.calls.push(Call::Apply(cmd, self.now));
        self.outcomes.push(Outcome::Applied(result));
        fed
    }

    /// The command an operation stands for, with contacts picked among the current ones.
    fn resolve(&mut self, op: &Op) -> Option<Command> {
        let m = &self.model;
        let anyone = |i: usize| pick(&self.ids, i);
        let among = |ids: Vec<ContactId>, i: usize| pick(&ids, i).or_else(|| anyone(i));
        let offer = |i: usize| pick(&m.offered(), i).or_else(|| Some((anyone(i)?, aid(0))));
        Some(match *op {
            Op::Enqueue {
                queue,
                channel,
                tier,
                urgency,
                lang,
            } => {
                let id =
                    ContactId::from_uuid(Uuid::from_u128(0x5b00_0000 + self.ids.len() as u128));
                self.ids.push(id);
                let mut new = NewContact::new(id, qid(queue), CHANNELS[channel]);
                new.tier = TIERS[tier];
                new.urgency = Urgency::new(urgency).expect("valid urgency");
                if lang > 0 {
                    new.skills.push(need("lang", lang));
                }
                Command::Enqueue(new)
            }
            Op::Presence { agent, presence: p } => Command::SetPresence {
                agent: aid(agent),
                presence: presence(p),
            },
            Op::Accept(i) => {
                let (contact, agent) = offer(i)?;
                Command::Accept { contact, agent }
            }
            Op::Answer { pick: i, agent } => {
                let waiting =
                    m.ids_where(|s| matches!(s, State::Queued { .. } | State::Offered { .. }));
                Command::Answer {
                    contact: among(waiting, i)?,
                    agent: aid(agent),
                }
            }
            Op::Reject(i) => {
                let (contact, agent) = offer(i)?;
                Command::Reject { contact, agent }
            }
            Op::Abandon(i) => Command::Abandon {
                contact: anyone(i)?,
            },
            Op::Complete(i) => {
                let handled = m.ids_where(|s| matches!(s, State::Assigned(_) | State::Held(_)));
                Command::Complete {
                    contact: among(handled, i)?,
                }
            }
            Op::FinishWrapUp(i) => {
                let (agent, contact) =
                    pick(&m.wrap_ups(), i).or_else(|| Some((aid(0), anyone(i)?)))?;
                Command::FinishWrapUp {
                    contact,
                    agent,
                    wrap_up: WrapUp::default(),
                }
            }
            Op::Hold(i) => Command::Hold {
                contact: among(m.ids_where(|s| matches!(s, State::Assigned(_))), i)?,
            },
            Op::Resume(i) => Command::Resume {
                contact: among(m.ids_where(|s| matches!(s, State::Held(_))), i)?,
            },
            Op::Transfer { pick: i, to } => Command::Transfer {
                contact: among(m.ids_where(|s| !matches!(s, State::Gone(_))), i)?,
                to: match to.checked_sub(QUEUES.len()) {
                    None => TransferTarget::Queue(qid(to)),
                    Some(a) => TransferTarget::Agent(aid(a)),
                },
            },
            Op::Callback(i) => {
                let calls = self.model.contacts.iter().filter(|(_, c)| {
                    matches!(c.channel, Channel::Voice | Channel::Chat)
                        && matches!(c.state, State::Queued { .. })
                });
                let calls = calls.map(|(&id, _)| id).collect();
                Command::CallbackInPlace {
                    contact: among(calls, i)?,
                    number: "+15550100".to_owned(),
                    due: None,
                }
            }
            Op::SetUrgency { pick: i, urgency } => Command::SetUrgency {
                contact: among(m.ids_where(|s| !matches!(s, State::Gone(_))), i)?,
                urgency: Urgency::new(urgency).expect("valid urgency"),
            },
            Op::Reskill { agent, levels } => {
                let capacity = m.agents[&aid(agent)].profile.capacity;
                Command::UpsertAgent(profile(agent, levels, capacity))
            }
            Op::Advance(_) => return None,
        })
    }

    /// Rule 6 at the end: everyone available, every offer accepted, every contact completed,
    /// every wrap-up finished, time moving on (past delays, expansion and overflow). What is
    /// left must be waiting for an agent that does not exist.
    pub(crate) fn drain(&mut self) -> Result<(), String> {
        for round in 0..40 {
            let busy = self
                .model
                .contacts
                .values()
                .any(|c| !matches!(c.state, State::Gone(_) | State::Queued { .. }));
            let slots = self.model.agents.values().any(|a| !a.slots.is_empty());
            let waiting = !self.model.waiting().is_empty();
            if !busy && !slots && (!waiting || round >= 24) {
                break;
            }
            for i in 0..AGENTS {
                self.command(Command::SetPresence {
                    agent: aid(i),
                    presence: Presence::Available,
                })?;
            }
            for (contact, agent) in self.model.offered() {
                self.command(Command::Accept { contact, agent })?;
            }
            let handled = self
                .model
                .ids_where(|s| matches!(s, State::Assigned(_) | State::Held(_)));
            for contact in handled {
                self.command(Command::Complete { contact })?;
            }
            for (agent, contact) in self.model.wrap_ups() {
                let wrap_up = WrapUp::default();
                self.command(Command::FinishWrapUp {
                    contact,
                    agent,
                    wrap_up,
                })?;
            }
            // Less than the offer timeout, so that offers made meanwhile are still open.
            self.advance(5)?;
        }
        for (id, c) in &self.model.contacts {
            check!(
                matches!(c.state, State::Gone(_) | State::Queued { .. }),
                "6: {id} still {:?} after draining",
                c.state
            );
        }
        for a in self.model.agents.values() {
            check!(
                a.slots.is_empty(),
                "{} still holds {:?} after draining",
                a.profile.id,
                a.slots
            );
        }
        Ok(())
    }
}

/// Rule 7: the same calls on a fresh engine give the same outcomes. `Some(i)`: the first call
/// that differed.
fn replay_differs(run: &Run) -> Option<usize> {
    let mut engine = Engine::new();
    let again = run.calls.iter().map(|call| match call {
        Call::Fire(now) => Outcome::Fired(engine.fire_due(*now)),
        Call::Apply(cmd, now) => Outcome::Applied(engine.apply(cmd.clone(), *now)),
    });
    let again: Vec<Outcome> = again.collect();
    let first = again.iter().zip(&run.outcomes).position(|(a, b)| a != b);
    first.or((again.len() != run.outcomes.len()).then_some(again.len()))
}

/// Plays the operations, drains, replays; the run (up to the first broken rule) and the verdict.
pub(crate) fn run_case(setup: &Setup, ops: &[Op]) -> (Run, Result<(), String>) {
    let mut run = Run::new(setup).expect("the setup breaks no rule");
    let mut play = || {
        for (i, op) in ops.iter().enumerate() {
            run.step(op)
                .map_err(|e| format!("step {i} ({op:?}) at {}: {e}", run.now))?;
        }
        run.drain()
            .map_err(|e| format!("drain at {}: {e}", run.now))?;
        match replay_differs(&run) {
            Some(i) => Err(format!("7: replay differs at call {i}: {:?}", run.calls[i])),
            None => Ok(()),
        }
    };
    let verdict = play();
    (run, verdict)
}
