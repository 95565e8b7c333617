//! The model: contacts and agents as the engine's events describe them, and the predicates
//! the rules are judged by (readiness, room, skills, rank). It is fed in `events`, and checked
//! at the end of every step in `checks`.

mod checks;
mod events;

use std::{
    cmp::Reverse,
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use switchboard_domain::{
    AgentId, AgentProfile, AgentStatus, Channel, Command, ContactId, Presence, Priority,
    QueueConfig, QueueId, SkillLevel, SkillRequirement, Timestamp,
};
use switchboard_test_support::time::T0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Offered,
    Active,
    Held,
    WrapUp(Timestamp),
}

#[derive(Clone, Debug)]
pub(crate) struct Slot {
    contact: ContactId,
    channel: Channel,
    phase: Phase,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum State {
    Queued { target: Option<AgentId> },
    Offered { agent: AgentId, deadline: Timestamp },
    Assigned(AgentId),
    Held(AgentId),
    WrapUp { agent: AgentId, until: Timestamp },
    Gone(&'static str),
}

#[derive(Debug)]
pub(crate) struct ContactM {
    queue: QueueId,
    pub(crate) channel: Channel,
    /// The contact's own requirements (from the Enqueue command: events do not carry them).
    own: Vec<SkillRequirement>,
    priority: Priority,
    arrived_at: Timestamp,
    entered_at: Timestamp,
    pub(crate) state: State,
}

#[derive(Debug)]
pub(crate) struct AgentM {
    pub(crate) profile: AgentProfile,
    presence: Presence,
    delay_until: Option<Timestamp>,
    /// Missed offers in a row.
    misses: u32,
    pub(crate) slots: Vec<Slot>,
}

impl AgentM {
    /// Available by presence and out of any reject / no-answer delay.
    fn ready(&self, now: Timestamp) -> bool {
        self.presence == Presence::Available && self.delay_until.is_none_or(|u| u <= now)
    }

    /// engine/state.rs `has_room`: nothing beside a voice slot, a voice offer only to an agent
    /// with no slot at all, other channels up to their capacity (wrap-up slots count).
    fn has_room(&self, channel: Channel) -> bool {
        if self.slots.iter().any(|s| s.channel.is_voice()) {
            return false;
        }
        if channel.is_voice() {
            self.slots.is_empty() && self.profile.capacity.voice > 0
        } else {
            let load = self.slots.iter().filter(|s| s.channel == channel).count();
            load < usize::from(self.profile.capacity.of(channel))
        }
    }

    /// Moves the agent's live (not wrap-up) slot for `contact` to `phase`.
    fn set_phase(&mut self, contact: ContactId, phase: Phase) -> Result<(), String> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.contact == contact && !matches!(s.phase, Phase::WrapUp(_)));
        let Some(slot) = slot else {
            return Err(format!(
                "{} holds no live slot for {contact}",
                self.profile.id
            ));
        };
        slot.phase = phase;
        Ok(())
    }

    fn pause(&mut self, at: Timestamp, delay: Duration) {
        if !delay.is_zero() {
            self.delay_until = Some(at.plus(delay));
        }
    }

    /// What `agent_status` must say: work first, then presence, then a delay.
    fn status(&self, now: Timestamp) -> AgentStatus {
        let any = |f: fn(Phase) -> bool| self.slots.iter().any(|s| f(s.phase));
        if any(|p| p == Phase::Offered) {
            return AgentStatus::Reserved;
        }
        if any(|p| matches!(p, Phase::Active | Phase::Held)) {
            return AgentStatus::Busy;
        }
        let wrap_up = self.slots.iter().filter_map(|s| match s.phase {
            Phase::WrapUp(until) => Some(until),
            _ => None,
        });
        if let Some(until) = wrap_up.max() {
            return AgentStatus::WrapUp { until };
        }
        match &self.presence {
            Presence::Offline => AgentStatus::Offline,
            Presence::Away { reason } => AgentStatus::Away {
                reason: reason.clone(),
            },
            Presence::Available => match self.delay_until {
                Some(until) if until > now => AgentStatus::NoAnswerDelay { until },
                _ => AgentStatus::Available,
            },
        }
    }
}

/// An offer made during the current step, with the waiting contacts that then ranked better
/// for that agent and have not been offered since (rule 5 is judged at the end of the step).
#[derive(Debug)]
struct Offer {
    contact: ContactId,
    agent: AgentId,
    at: Timestamp,
    better: Vec<ContactId>,
}

#[derive(Debug)]
pub(crate) struct Model {
    queues: BTreeMap<QueueId, QueueConfig>,
    pub(crate) agents: BTreeMap<AgentId, AgentM>,
    pub(crate) contacts: BTreeMap<ContactId, ContactM>,
    refused: BTreeSet<ContactId>,
    pub(crate) own_skills: BTreeMap<ContactId, Vec<SkillRequirement>>,
    next_event: u64,
    last_at: Timestamp,
    offers: Vec<Offer>,
    /// Offers that needed skill expansion (the generator must reach them).
    pub(crate) expanded_offers: usize,
    /// The `Answer` command being applied: its contact may be accepted without an offer.
    pub(crate) answering: Option<(ContactId, AgentId)>,
}

impl Model {
    pub(crate) fn new() -> Self {
        Self {
            queues: BTreeMap::new(),
            agents: BTreeMap::new(),
            contacts: BTreeMap::new(),
            refused: BTreeSet::new(),
            own_skills: BTreeMap::new(),
            next_event: 0,
            last_at: Timestamp::from_millis(T0),
            offers: Vec::new(),
            expanded_offers: 0,
            answering: None,
        }
    }

    /// Settings commands emit no event of their own: the model takes them as applied.
    pub(crate) fn configure(&mut self, cmd: &Command) {
        match cmd {
            Command::UpsertQueue(c) => {
                self.queues.insert(c.id.clone(), c.clone());
            }
            Command::UpsertAgent(p) => match self.agents.get_mut(&p.id) {
                Some(a) => a.profile = p.clone(),
                None => {
                    let a = AgentM {
                        profile: p.clone(),
                        presence: Presence::Offline,
                        delay_until: None,
                        misses: 0,
                        slots: Vec::new(),
                    };
                    self.agents.insert(p.id.clone(), a);
                }
            },
            _ => {}
        }
    }

    fn agent_mut(&mut self, id: &AgentId) -> Result<&mut AgentM, String> {
        self.agents
            .get_mut(id)
            .ok_or_else(|| format!("event about unknown agent {id}"))
    }

    /// A contact that has not left.
    fn live(&mut self, id: &ContactId) -> Result<&mut ContactM, String> {
        match self.contacts.get_mut(id) {
            Some(c) if !matches!(c.state, State::Gone(_)) => Ok(c),
            Some(c) => Err(format!("6: event about {id}, which is {:?}", c.state)),
            None => Err(format!("event about unknown contact {id}")),
        }
    }

    pub(crate) fn ids_where(&self, f: impl Fn(&State) -> bool) -> Vec<ContactId> {
        let matching = self.contacts.iter().filter(|(_, c)| f(&c.state));
        matching.map(|(&id, _)| id).collect()
    }

    pub(crate) fn waiting(&self) -> BTreeSet<ContactId> {
        self.ids_where(|s| matches!(s, State::Queued { .. }))
            .into_iter()
            .collect()
    }

    pub(crate) fn offered(&self) -> Vec<(ContactId, AgentId)> {
        let offered = self.contacts.iter().filter_map(|(&id, c)| match &c.state {
            State::Offered { agent, .. } => Some((id, agent.clone())),
            _ => None,
        });
        offered.collect()
    }

    pub(crate) fn wrap_ups(&self) -> Vec<(AgentId, ContactId)> {
        let slots = self.agents.values().flat_map(|a| {
            let wrap_ups = a
                .slots
                .iter()
                .filter(|s| matches!(s.phase, Phase::WrapUp(_)));
            wrap_ups.map(|s| (a.profile.id.clone(), s.contact))
        });
        slots.collect()
    }

    fn serves(a: &AgentM, q: &QueueConfig) -> bool {
        let skills = &a.profile.skills;
        q.required_skills
            .iter()
            .all(|r| skills.contains_key(&r.skill))
    }

    fn anyone_logged_in(&self, q: &QueueId) -> bool {
        let q = &self.queues[q];
        let members = self.agents.values().filter(|a| Self::serves(a, q));
        members.into_iter().any(|a| a.presence.is_logged_in())
    }

    /// Rule 3: every skill the queue and the contact need, at the required level lowered to
    /// the expansion floor in force for the time waited in the current queue.
    fn skills_ok(&self, a: &AgentM, c: &ContactM, now: Timestamp) -> bool {
        let floor = self.queues[&c.queue].level_floor(now.since(c.entered_at));
        self.meets(a, c, floor)
    }

    fn meets(&self, a: &AgentM, c: &ContactM, floor: Option<SkillLevel>) -> bool {
        let q = &self.queues[&c.queue];
        q.required_skills.iter().chain(&c.own).all(|r| {
            let need = floor.map_or(r.min_level, |f| r.min_level.min(f));
            a.profile.skills.get(&r.skill).is_some_and(|&l| l >= need)
        })
    }

    /// Rules 4 and 5: could `a` be offered the waiting contact `c` at `now`?
    fn can_take(&self, a: &AgentM, c: &ContactM, now: Timestamp) -> bool {
        let State::Queued { target } = &c.state else {
            return false;
        };
        let allowed = match target {
            Some(t) => *t == a.profile.id,
            None => self.skills_ok(a, c, now),
        };
        allowed && a.ready(now) && a.has_room(c.channel)
    }

    /// Rule 5's order: effective priority now, then arrival.
    fn rank(&self, c: &ContactM, now: Timestamp) -> (i64, Reverse<i64>) {
        let aging = self.queues[&c.queue].priority_aging_per_min;
        let effective = c.priority.effective_millis(aging, c.arrived_at, now);
        (effective, Reverse(c.arrived_at.as_millis()))
    }

    /// A waiting line's order, smallest first: exact effective priority (in 1/60 000 points),
    /// then arrival, then id.
    fn line_key(
        &self,
        id: ContactId,
        c: &ContactM,
        now: Timestamp,
    ) -> (Reverse<i64>, i64, ContactId) {
        let aging = i64::from(self.queues[&c.queue].priority_aging_per_min);
        let waited = now.as_millis() - c.arrived_at.as_millis();
        let exact = i64::from(c.priority.points()) * 60_000 + aging * waited;
        (Reverse(exact), c.arrived_at.as_millis(), id)
    }
}
