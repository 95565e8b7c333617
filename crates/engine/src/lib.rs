//! Switchboard's routing engine: the whole ACD as a deterministic state machine over plain
//! data.
//!
//! [`Engine::apply`]`(command, now)` and [`Engine::fire_due`]`(now)` are the only ways to
//! change it; both return the events of the transition, or an [`EngineError`] (a refusal:
//! nothing changed). It reads no clock and does no I/O, so the same sequence of commands and
//! instants always yields the same events — the dispatcher's backends wrap it (in a mutex, or
//! replicated through a Redis log), the simulator drives it on a virtual clock, and the
//! property tests check it against the invariants directly.
//!
//! Layout: `state.rs` the tables (agents and queues in vectors addressed by `u32` indices,
//! ordered sets of waiting contacts, free agents and timers), `matching.rs` the policy
//! (eligibility, strategies), this file the transitions, `queries.rs` the read views
//! ([`QueuePosition`], [`QueueSnapshot`]), `snapshot.rs` the serialisable state
//! ([`EngineSnapshot`]), `error.rs` the refusals.
//!
//! Matching happens on every change that can create a match (a contact arrives or returns,
//! an agent frees up or becomes available, a skill-expansion step comes due, settings
//! change) and nowhere else; after every call no waiting contact has an eligible agent with
//! room for it.
//!
//! This crate knows nothing about where the state lives or how commands arrive: no async
//! runtime, no Redis, no SQL, no HTTP, no clock (`now` is always a parameter) and no hash-map
//! iteration in a decision. Its only dependencies are `switchboard-domain`, `serde` and
//! `thiserror`; `tests/architecture.rs` fails if tokio, redis, sqlx or axum reach it (or the
//! domain, the stats or the simulator), even transitively.

mod error;
mod matching;
mod queries;
mod snapshot;
mod state;

use std::{
    collections::{BTreeSet, HashMap, VecDeque},
    time::Duration,
};

use switchboard_domain::{
    AgentId, AgentProfile, Command, ContactId, Event, EventId, EventKind, ExitReason, NewContact,
    Presence, QueueConfig, QueueId, ReasonCode, Timestamp, TransferTarget, ValidationError,
    WaitExit, WithdrawReason, WrapUp,
};

pub use error::EngineError;
pub use queries::{QueuePosition, QueueSnapshot};
pub use snapshot::EngineSnapshot;
use state::{AgentSlot, CState, ContactSlot, Ix, Phase, QueueSlot, Skills, Timer, WaitKey, Work};

/// How far back accepted offers count towards a queue's throughput (estimated wait).
const THROUGHPUT_WINDOW: Duration = Duration::from_secs(30 * 60);
/// At most this many recent accepts are kept per queue for the estimate.
const THROUGHPUT_SAMPLES: usize = 64;

/// The in-memory ACD state and its routing policy.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    next_event: u64,
    offer_seq: u64,
    skills: Skills,
    queues: Vec<QueueSlot>,
    queue_ix: HashMap<QueueId, Ix>,
    agents: Vec<AgentSlot>,
    agent_ix: HashMap<AgentId, Ix>,
    contacts: HashMap<ContactId, ContactSlot>,
    timers: BTreeSet<(Timestamp, Timer)>,
    out: Vec<Event>,
}

impl Engine {
    pub fn new() -> Self {
        Self::default()
    }

    /// Continue an event numbering (e.g. after a restart from the event log).
    pub fn with_first_event_id(first: EventId) -> Self {
        Self {
            next_event: first.0,
            ..Self::default()
        }
    }

    /// The id the next event will get.
    pub fn next_event_id(&self) -> EventId {
        EventId(self.next_event)
    }

    /// The earliest instant at which [`Engine::fire_due`] has something to do.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// Applies one command at `now`. On error nothing changed and no event was emitted.
    pub fn apply(&mut self, command: Command, now: Timestamp) -> Result<Vec<Event>, EngineError> {
        debug_assert!(self.out.is_empty());
        let result = match command {
            Command::UpsertQueue(config) => self.upsert_queue(config, now),
            Command::UpsertAgent(profile) => self.upsert_agent(profile, now),
            Command::RemoveQueue { queue } => self.remove_queue(&queue),
            Command::RemoveAgent { agent } => self.remove_agent(&agent, now),
            Command::SetPresence { agent, presence } => self.set_presence(&agent, presence, now),
            Command::Enqueue(contact) => self.enqueue(contact, now),
            Command::Accept { contact, agent } => self.accept(contact, &agent, now),
            Command::Reject { contact, agent } => self.reject(contact, &agent, now),
            Command::Answer { contact, agent } => self.answer(contact, &agent, now),
            Command::Abandon { contact } => self.abandon(contact, now),
            Command::Hold { contact } => self.hold(contact, true, now),
            Command::Resume { contact } => self.hold(contact, false, now),
            Command::Complete { contact } => self.complete(contact, now),
            Command::FinishWrapUp {
                contact,
                agent,
                wrap_up,
            } => self.finish_wrap_up_cmd(contact, &agent, wrap_up, now),
            Command::Transfer { contact, to } => self.transfer(contact, to, now),
            Command::CallbackInPlace {
                contact,
                number,
                due,
            } => self.callback(contact, number, due, now),
            Command::SetUrgency { contact, urgency } => self.set_urgency(contact, urgency, now),
        };
        match result {
            Ok(()) => Ok(std::mem::take(&mut self.out)),
            Err(e) => {
                debug_assert!(self.out.is_empty(), "events emitted by a refused command");
                self.out.clear();
                Err(e)
            }
        }
    }

    /// Fires every timer due at or before `now` (offer deadlines, wrap-up ends, agent delays,
    /// skill-expansion steps, maximum waits), in deadline order. Each fires *at its own
    /// deadline*: its events carry that instant and what it schedules counts from there, so a
    /// late call (or a virtual clock jumping ahead) gives the same result as a punctual one.
    pub fn fire_due(&mut self, now: Timestamp) -> Vec<Event> {
        while let Some(&(at, _)) = self.timers.first() {
            if at > now {
                break;
            }
            // Everything due at this instant first; then the contacts it made (newly)
            // matchable — by an expansion step or an overflow — are matched best first, so
            // that timers firing in id order never let a lesser contact take the agent.
            let mut to_match = Vec::new();
            let mut freed = Vec::new();
            while let Some(&(t, timer)) = self.timers.first() {
                if t != at {
                    break;
                }
                self.timers.pop_first();
                let (contacts, decliner) = self.fire(timer, at);
                to_match.extend(contacts);
                freed.extend(decliner);
            }
            // Contacts first to agents who were already free, best contact first; agents
            // freed at this instant then choose their own next contact.
            self.match_contacts(to_match, &freed, at);
            for a in freed {
                self.match_agent(a, at);
            }
        }
        std::mem::take(&mut self.out)
    }

    // ----- bookkeeping -------------------------------------------------------------------

    fn emit(&mut self, now: Timestamp, kind: EventKind) {
        let id = EventId(self.next_event);
        self.next_event += 1;
        self.out.push(Event { id, at: now, kind });
    }

    fn agent(&self, id: &AgentId) -> Result<Ix, EngineError> {
        self.agent_ix
            .get(id)
            .copied()
            .ok_or_else(|| EngineError::UnknownAgent(id.clone()))
    }

    fn queue(&self, id: &QueueId) -> Result<Ix, EngineError> {
        self.queue_ix
            .get(id)
            .copied()
            .ok_or_else(|| EngineError::UnknownQueue(id.clone()))
    }

    fn contact_state(&self, id: ContactId) -> Result<CState, EngineError> {
        self.contacts
            .get(&id)
            .map(|c| c.state)
            .ok_or(EngineError::UnknownContact(id))
    }

    fn qid(&self, q: Ix) -> QueueId {
        self.queues[q as usize].config.id.clone()
    }

    fn aid(&self, a: Ix) -> AgentId {
        self.agents[a as usize].profile.id.clone()
    }

    fn invalid(&self, contact: ContactId, state: CState, command: &'static str) -> EngineError {
        EngineError::InvalidTransition {
            contact,
            state: state.name(),
            command,
        }
    }

    fn schedule(&mut self, at: Timestamp, timer: Timer) {
        self.timers.insert((at, timer));
    }

    fn schedule_for_contact(&mut self, id: ContactId, at: Timestamp, timer: Timer) {
        self.timers.insert((at, timer));
        if let Some(c) = self.contacts.get_mut(&id) {
            c.timers.push((at, timer));
        }
    }

    /// Cancels the contact's timers that `which` selects.
    fn cancel_contact_timers(&mut self, id: ContactId, which: impl Fn(&Timer) -> bool) {
        let Some(c) = self.contacts.get_mut(&id) else {
            return;
        };
        let timers = &mut self.timers;
        c.timers.retain(|entry| {
            if which(&entry.1) {
                timers.remove(entry);
                false
            } else {
                true
            }
        });
    }

    /// Forgets a contact that has left the ACD.
    fn drop_contact(&mut self, id: ContactId) {
        if let Some(c) = self.contacts.remove(&id) {
            for entry in &c.timers {
                self.timers.remove(entry);
            }
        }
    }

    /// Takes the agent out of every free-agent line and puts it back where it now belongs.
    fn reindex(&mut self, a: Ix) {
        let agent = &mut self.agents[a as usize];
        for (q, key) in agent.indexed.drain(..) {
            self.queues[q as usize].available.remove(&(key, a));
        }
        if agent.can_take_work() {
            for &q in &agent.queues {
                let slot = &mut self.queues[q as usize];
                let key = agent.key(slot.strategy());
                slot.available.insert((key, a));
                agent.indexed.push((q, key));
            }
        }
    }

    // ----- configuration -----------------------------------------------------------------

    fn upsert_queue(&mut self, config: QueueConfig, now: Timestamp) -> Result<(), EngineError> {
        config.validate()?;
        let required: Vec<_> = config
            .required_skills
            .iter()
            .map(|r| (self.skills.intern(&r.skill), r.min_level.get()))
            .collect();
        let q = match self.queue_ix.get(&config.id) {
            Some(&q) => {
                let slot = &mut self.queues[q as usize];
                let rekey = slot.config.priority_aging_per_min != config.priority_aging_per_min;
                slot.config = config;
                slot.required = required;
                if rekey {
                    self.rekey_waiting(q);
                }
                q
            }
            None => {
                let q = self.queues.len() as Ix;
                self.queue_ix.insert(config.id.clone(), q);
                self.queues.push(QueueSlot {
                    config,
                    required,
                    waiting: BTreeSet::new(),
                    available: BTreeSet::new(),
                    members: Vec::new(),
                    answers: VecDeque::new(),
                    removed: false,
                });
                q
            }
        };
        // Who serves it now.
        let members: Vec<Ix> = (0..self.agents.len() as Ix)
            .filter(|&a| self.serves(a, q))
            .collect();
        for a in 0..self.agents.len() as Ix {
            let agent = &mut self.agents[a as usize];
            let is_member = members.binary_search(&a).is_ok();
            let listed = agent.queues.contains(&q);
            if is_member && !listed {
                agent.queues.push(q);
            } else if !is_member && listed {
                agent.queues.retain(|&x| x != q);
            }
        }
        self.queues[q as usize].members = members;
        for a in 0..self.agents.len() as Ix {
            self.reindex(a);
        }
        // Timers of waiting contacts follow the new expansion and max-wait settings.
        let waiting: Vec<ContactId> = self.queues[q as usize]
            .waiting
            .iter()
            .map(|k| k.id)
            .collect();
        for id in &waiting {
            self.schedule_queue_timers(*id, now);
        }
        self.rematch_all(now);
        Ok(())
    }

    fn rekey_waiting(&mut self, q: Ix) {
        let aging = self.queues[q as usize].aging();
        let old = std::mem::take(&mut self.queues[q as usize].waiting);
        for key in old {
            let c = self
                .contacts
                .get_mut(&key.id)
                .expect("waiting contact exists");
            let new_key = WaitKey::new(key.id, c.priority(), aging, c.arrived_at);
            if let CState::Queued { key, .. } = &mut c.state {
                *key = new_key;
            }
            self.queues[q as usize].waiting.insert(new_key);
        }
    }

    fn serves(&self, a: Ix, q: Ix) -> bool {
        let agent = &self.agents[a as usize];
        let queue = &self.queues[q as usize];
        !agent.removed && !queue.removed && queue.required.iter().all(|&(s, _)| agent.level(s) > 0)
    }

    fn remove_queue(&mut self, id: &QueueId) -> Result<(), EngineError> {
        let q = self.queue(id)?;
        let busy = self.contacts.values().any(|c| c.queue == q)
            || self
                .agents
                .iter()
                .any(|a| a.work.iter().any(|w| w.queue == q));
        if busy {
            return Err(EngineError::InUse(format!("queue {id}")));
        }
        self.queue_ix.remove(id);
        let members = std::mem::take(&mut self.queues[q as usize].members);
        self.queues[q as usize].removed = true;
        for a in members {
            self.agents[a as usize].queues.retain(|&x| x != q);
            self.reindex(a);
        }
        Ok(())
    }

    fn remove_agent(&mut self, id: &AgentId, now: Timestamp) -> Result<(), EngineError> {
        let a = self.agent(id)?;
        let agent = &self.agents[a as usize];
        if !agent.work.is_empty() || !agent.targeted.is_empty() {
            return Err(EngineError::InUse(format!("agent {id}")));
        }
        self.set_presence(id, Presence::Offline, now)?;
        self.agent_ix.remove(id);
        let agent = &mut self.agents[a as usize];
        agent.removed = true;
        let queues = std::mem::take(&mut agent.queues);
        if let Some(until) = agent.delay_until.take() {
            self.timers.remove(&(until, Timer::AgentDelayEnd(a)));
        }
        for q in queues {
            let members = &mut self.queues[q as usize].members;
            if let Ok(pos) = members.binary_search(&a) {
                members.remove(pos);
            }
        }
        self.reindex(a);
        Ok(())
    }

    fn upsert_agent(&mut self, profile: AgentProfile, now: Timestamp) -> Result<(), EngineError> {
        profile.validate()?;
        let mut levels = Vec::new();
        for (skill, level) in &profile.skills {
            let s = usize::from(self.skills.intern(skill));
            if levels.len() <= s {
                levels.resize(s + 1, 0);
            }
            levels[s] = level.get();
        }
        let a = match self.agent_ix.get(&profile.id) {
            Some(&a) => {
                let agent = &mut self.agents[a as usize];
                agent.profile = profile;
                agent.levels = levels;
                a
            }
            None => {
                let a = self.agents.len() as Ix;
                self.agent_ix.insert(profile.id.clone(), a);
                self.agents.push(AgentSlot {
                    profile,
                    levels,
                    presence: Presence::Offline,
                    work: Vec::new(),
                    delay_until: None,
                    misses: 0,
                    idle_since: now,
                    offers: 0,
                    last_offer_seq: 0,
                    queues: Vec::new(),
                    indexed: Vec::new(),
                    targeted: Vec::new(),
                    removed: false,
                });
                a
            }
        };
        let queues: Vec<Ix> = (0..self.queues.len() as Ix)
            .filter(|&q| self.serves(a, q))
            .collect();
        for q in 0..self.queues.len() as Ix {
            let members = &mut self.queues[q as usize].members;
            let is_member = queues.contains(&q);
            match members.binary_search(&a) {
                Ok(pos) if !is_member => {
                    members.remove(pos);
                }
                Err(pos) if is_member => members.insert(pos, a),
                _ => {}
            }
        }
        self.agents[a as usize].queues = queues;
        self.reindex(a);
        self.match_agent(a, now);
        Ok(())
    }

    fn set_presence(
        &mut self,
        id: &AgentId,
        presence: Presence,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let a = self.agent(id)?;
        if self.agents[a as usize].presence == presence {
            return Ok(());
        }
        self.agents[a as usize].presence = presence.clone();
        self.emit(
            now,
            EventKind::AgentPresenceChanged {
                agent: id.clone(),
                presence: presence.clone(),
            },
        );
        self.reindex(a);
        if presence == Presence::Available {
            self.agents[a as usize].misses = 0;
            self.match_agent(a, now);
            return Ok(());
        }
        self.withdraw_offers(a, WithdrawReason::AgentUnavailable, now);
        if presence == Presence::Offline {
            let targeted = std::mem::take(&mut self.agents[a as usize].targeted);
            for &id in &targeted {
                self.untarget(id);
            }
            self.match_contacts(targeted, &[], now);
            let queues = self.agents[a as usize].queues.clone();
            for q in queues {
                if self.queues[q as usize].config.leave_when_empty && !self.anyone_logged_in(q) {
                    let waiting: Vec<ContactId> = self.queues[q as usize]
                        .waiting
                        .iter()
                        .map(|k| k.id)
                        .collect();
                    for id in waiting {
                        self.exit(id, ExitReason::NoAgents, now);
                    }
                }
            }
        }
        Ok(())
    }

    fn anyone_logged_in(&self, q: Ix) -> bool {
        self.queues[q as usize]
            .members
            .iter()
            .any(|&a| self.agents[a as usize].presence.is_logged_in())
    }

    /// Takes back every offer the agent holds; the contacts return to their places.
    fn withdraw_offers(&mut self, a: Ix, reason: WithdrawReason, now: Timestamp) {
        let returned = self.withdraw_offers_unmatched(a, reason, now);
        self.match_contacts(returned, &[], now);
    }

    /// [`Engine::withdraw_offers`] without the matching; returns the contacts to match.
    fn withdraw_offers_unmatched(
        &mut self,
        a: Ix,
        reason: WithdrawReason,
        now: Timestamp,
    ) -> Vec<ContactId> {
        let mut returned = Vec::new();
        let offered: Vec<ContactId> = self.agents[a as usize]
            .work
            .iter()
            .filter(|w| w.phase == Phase::Offered)
            .map(|w| w.contact)
            .collect();
        for id in offered {
            self.release(a, id);
            self.cancel_contact_timers(id, |t| matches!(t, Timer::OfferDeadline(_)));
            let q = self.contacts[&id].queue;
            self.emit(
                now,
                EventKind::OfferWithdrawn {
                    contact: id,
                    queue: self.qid(q),
                    agent: self.aid(a),
                    reason,
                },
            );
            self.return_to_queue(id, now);
            returned.push(id);
        }
        self.reindex(a);
        returned
    }

    // ----- contact life ------------------------------------------------------------------

    fn enqueue(&mut self, new: NewContact, now: Timestamp) -> Result<(), EngineError> {
        let q = self.queue(&new.queue)?;
        if self.contacts.contains_key(&new.id) {
            return Err(EngineError::DuplicateContact(new.id));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in new.skills.iter().enumerate() {
            if !seen.insert(&r.skill) {
                return Err(
                    ValidationError::new(format!("skills[{i}].skill"), "appears twice").into(),
                );
            }
        }
        if !self.queues[q as usize].config.join_when_empty && !self.anyone_logged_in(q) {
            self.emit(
                now,
                EventKind::ContactRefused {
                    contact: new.id,
                    queue: new.queue,
                    reason: ExitReason::NoAgents,
                },
            );
            return Ok(());
        }
        let skills = new
            .skills
            .iter()
            .map(|r| (self.skills.intern(&r.skill), r.min_level.get()))
            .collect();
        let mut slot = ContactSlot {
            queue: q,
            channel: new.channel,
            skills,
            urgency: new.urgency,
            tier: new.tier,
            arrived_at: now,
            entered_at: now,
            state: CState::Assigned { agent: 0 },
            timers: Vec::new(),
        };
        let key = WaitKey::new(
            new.id,
            slot.priority(),
            self.queues[q as usize].aging(),
            now,
        );
        slot.state = CState::Queued {
            key,
            entered_at: now,
            target: None,
        };
        self.emit(
            now,
            EventKind::ContactQueued {
                contact: new.id,
                queue: new.queue,
                channel: new.channel,
                tier: new.tier,
                priority: slot.priority(),
                arrived_at: now,
                attributes: new.attributes,
            },
        );
        self.contacts.insert(new.id, slot);
        self.queues[q as usize].waiting.insert(key);
        self.schedule_queue_timers(new.id, now);
        self.match_contact(new.id, now);
        Ok(())
    }

    fn accept(
        &mut self,
        id: ContactId,
        agent: &AgentId,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let a = self.agent(agent)?;
        match self.contact_state(id)? {
            CState::Offered { agent: holder, .. } if holder == a => {}
            _ => {
                return Err(EngineError::NotOffered {
                    contact: id,
                    agent: agent.clone(),
                })
            }
        }
        self.cancel_contact_timers(id, |t| matches!(t, Timer::OfferDeadline(_)));
        let c = self.contacts.get_mut(&id).expect("checked");
        c.state = CState::Assigned { agent: a };
        let (q, entered) = (c.queue, c.entered_at);
        set_phase(&mut self.agents[a as usize], id, Phase::Active);
        let agent_slot = &mut self.agents[a as usize];
        agent_slot.misses = 0;
        self.answered(id, q, agent, entered, now);
        Ok(())
    }

    /// An answer: counted for the queue's throughput (estimated waits), then its event.
    fn answered(
        &mut self,
        id: ContactId,
        q: Ix,
        agent: &AgentId,
        entered: Timestamp,
        now: Timestamp,
    ) {
        let answers = &mut self.queues[q as usize].answers;
        answers.push_back(now);
        while answers.len() > THROUGHPUT_SAMPLES {
            answers.pop_front();
        }
        self.emit(
            now,
            EventKind::OfferAccepted {
                contact: id,
                queue: self.qid(q),
                agent: agent.clone(),
                waited_ms: now.since(entered).as_millis() as u64,
            },
        );
    }

    /// See [`Command::Answer`].
    fn answer(
        &mut self,
        id: ContactId,
        agent: &AgentId,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let a = self.agent(agent)?;
        let holder = match self.contact_state(id)? {
            CState::Offered { agent: holder, .. } if holder == a => {
                return self.accept(id, agent, now)
            }
            CState::Offered { agent: holder, .. } => Some(holder),
            CState::Queued { .. } => None,
            other => return Err(self.invalid(id, other, "answer")),
        };
        if !self.agents[a as usize].presence.is_logged_in() {
            return Err(EngineError::AgentOffline(agent.clone()));
        }
        let channel = self.contacts[&id].channel;
        if !self.agents[a as usize].has_room_without_offers(channel) {
            return Err(EngineError::AgentBusy(agent.clone()));
        }
        // Their own ringing offers go back to the line (to others) when they are in the way.
        let returned = if self.agents[a as usize].has_room(channel) {
            Vec::new()
        } else {
            self.withdraw_offers_unmatched(a, WithdrawReason::AgentUnavailable, now)
        };
        let q = self.contacts[&id].queue;
        match holder {
            Some(h) => {
                self.release(h, id);
                self.cancel_contact_timers(id, |t| {
                    matches!(
                        t,
                        Timer::OfferDeadline(_) | Timer::Expansion(_) | Timer::MaxWait(_)
                    )
                });
                self.emit(
                    now,
                    EventKind::OfferWithdrawn {
                        contact: id,
                        queue: self.qid(q),
                        agent: self.aid(h),
                        reason: WithdrawReason::TakenElsewhere,
                    },
                );
                self.agents[h as usize].idle_since = now;
                self.reindex(h);
            }
            None => self.leave_line(id),
        }
        let c = self.contacts.get_mut(&id).expect("checked");
        c.state = CState::Assigned { agent: a };
        let entered = c.entered_at;
        let slot = &mut self.agents[a as usize];
        slot.work.push(Work {
            contact: id,
            queue: q,
            channel,
            phase: Phase::Active,
        });
        slot.misses = 0;
        slot.idle_since = now;
        self.reindex(a);
        self.answered(id, q, agent, entered, now);
        // The offers taken back go to whoever can take them (this agent too, if a chat slot
        // is still free); the agent it rang at before is free again and chooses their own
        // next contact afterwards, then this agent fills any room left.
        let except: Vec<Ix> = holder.into_iter().collect();
        self.match_contacts(returned, &except, now);
        if let Some(h) = holder {
            self.match_agent(h, now);
        }
        self.match_agent(a, now);
        Ok(())
    }

    fn reject(
        &mut self,
        id: ContactId,
        agent: &AgentId,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let a = self.agent(agent)?;
        match self.contact_state(id)? {
            CState::Offered { agent: holder, .. } if holder == a => {}
            _ => {
                return Err(EngineError::NotOffered {
                    contact: id,
                    agent: agent.clone(),
                })
            }
        }
        let q = self.contacts[&id].queue;
        self.emit(
            now,
            EventKind::OfferRejected {
                contact: id,
                queue: self.qid(q),
                agent: agent.clone(),
            },
        );
        let delay = self.queues[q as usize].config.reject_delay;
        self.decline(id, a, delay, now);
        Ok(())
    }

    /// An offer came back unanswered: the agent pauses for `delay`, the contact returns to
    /// its place and goes to the next agent.
    fn decline(&mut self, id: ContactId, a: Ix, delay: Duration, now: Timestamp) {
        self.decline_unmatched(id, a, delay, now);
        // The declined contact goes to the next free agent; then the decliner (when not
        // paused) takes the best contact waiting for them — one that outranks it, or the
        // declined one again if nobody else could take it.
        self.match_contact_except(id, &[a], now);
        self.match_agent(a, now);
    }

    /// [`Engine::decline`] without the matching, which the caller does (a timer does it
    /// once every timer of its instant has fired).
    fn decline_unmatched(&mut self, id: ContactId, a: Ix, delay: Duration, now: Timestamp) {
        self.cancel_contact_timers(id, |t| matches!(t, Timer::OfferDeadline(_)));
        self.release(a, id);
        // Declining counts as activity: a longest-idle queue does not pick them again first.
        self.agents[a as usize].idle_since = now;
        if !delay.is_zero() {
            let until = now.plus(delay);
            let agent = &mut self.agents[a as usize];
            if let Some(old) = agent.delay_until.replace(until) {
                self.timers.remove(&(old, Timer::AgentDelayEnd(a)));
            }
            self.schedule(until, Timer::AgentDelayEnd(a));
        }
        self.reindex(a);
        self.return_to_queue(id, now);
    }

    /// A missed offer: the contact is back in line, and so are the agent's other offers if
    /// this miss sets them away. Returns those others; the caller matches them all, passing
    /// over `a`.
    fn offer_timed_out(&mut self, id: ContactId, a: Ix, now: Timestamp) -> Vec<ContactId> {
        let q = self.contacts[&id].queue;
        self.emit(
            now,
            EventKind::OfferTimedOut {
                contact: id,
                queue: self.qid(q),
                agent: self.aid(a),
            },
        );
        let config = &self.queues[q as usize].config;
        let (max, delay) = (config.max_no_answer, config.no_answer_delay);
        let agent = &mut self.agents[a as usize];
        agent.misses += 1;
        if max > 0 && agent.misses >= max {
            // Away first, so that the returning contact is not offered to them again.
            let presence = Presence::Away {
                reason: ReasonCode::no_answer(),
            };
            agent.presence = presence.clone();
            self.emit(
                now,
                EventKind::AgentPresenceChanged {
                    agent: self.aid(a),
                    presence,
                },
            );
            self.decline_unmatched(id, a, Duration::ZERO, now);
            self.withdraw_offers_unmatched(a, WithdrawReason::AgentUnavailable, now)
        } else {
            self.decline_unmatched(id, a, delay, now);
            Vec::new()
        }
    }

    fn abandon(&mut self, id: ContactId, now: Timestamp) -> Result<(), EngineError> {
        let state = self.contact_state(id)?;
        let c = &self.contacts[&id];
        let (q, entered) = (c.queue, c.entered_at);
        match state {
            CState::Queued { .. } => {
                self.leave_line(id);
            }
            CState::Offered { agent, .. } => {
                self.release(agent, id);
                self.emit(
                    now,
                    EventKind::OfferWithdrawn {
                        contact: id,
                        queue: self.qid(q),
                        agent: self.aid(agent),
                        reason: WithdrawReason::Abandoned,
                    },
                );
                self.agents[agent as usize].idle_since = now;
                self.reindex(agent);
                self.emit(
                    now,
                    EventKind::ContactAbandoned {
                        contact: id,
                        queue: self.qid(q),
                        waited_ms: now.since(entered).as_millis() as u64,
                    },
                );
                self.drop_contact(id);
                self.match_agent(agent, now);
                return Ok(());
            }
            other => return Err(self.invalid(id, other, "abandon")),
        }
        self.emit(
            now,
            EventKind::ContactAbandoned {
                contact: id,
                queue: self.qid(q),
                waited_ms: now.since(entered).as_millis() as u64,
            },
        );
        self.drop_contact(id);
        Ok(())
    }

    fn hold(&mut self, id: ContactId, hold: bool, now: Timestamp) -> Result<(), EngineError> {
        let state = self.contact_state(id)?;
        let (agent, next, phase) = match (state, hold) {
            (CState::Assigned { agent }, true) => (agent, CState::Held { agent }, Phase::Held),
            (CState::Held { agent }, false) => (agent, CState::Assigned { agent }, Phase::Active),
            (other, _) => {
                return Err(self.invalid(id, other, if hold { "hold" } else { "resume" }))
            }
        };
        self.contacts.get_mut(&id).expect("checked").state = next;
        set_phase(&mut self.agents[agent as usize], id, phase);
        let kind = if hold {
            EventKind::ContactHeld {
                contact: id,
                agent: self.aid(agent),
            }
        } else {
            EventKind::ContactResumed {
                contact: id,
                agent: self.aid(agent),
            }
        };
        self.emit(now, kind);
        Ok(())
    }

    fn complete(&mut self, id: ContactId, now: Timestamp) -> Result<(), EngineError> {
        let agent = match self.contact_state(id)? {
            CState::Assigned { agent } | CState::Held { agent } => agent,
            other => return Err(self.invalid(id, other, "complete")),
        };
        let q = self.contacts[&id].queue;
        let until = now.plus(self.queues[q as usize].config.wrap_up);
        self.contacts.get_mut(&id).expect("checked").state = CState::WrapUp { agent, until };
        self.start_wrap_up(agent, id, q, until, now);
        Ok(())
    }

    /// The agent's part in a contact is over: after-contact work until `until` (or at once
    /// when the queue has no wrap-up time).
    fn start_wrap_up(&mut self, a: Ix, id: ContactId, q: Ix, until: Timestamp, now: Timestamp) {
        self.emit(
            now,
            EventKind::ContactEnded {
                contact: id,
                queue: self.qid(q),
                agent: self.aid(a),
                wrap_up_until: until,
            },
        );
        set_phase(&mut self.agents[a as usize], id, Phase::WrapUp { until });
        if until <= now {
            self.finish_wrap_up(a, id, Some(until), WrapUp::default(), now);
        } else {
            self.schedule(until, Timer::WrapUpEnd(a, id));
        }
    }

    fn finish_wrap_up_cmd(
        &mut self,
        id: ContactId,
        agent: &AgentId,
        wrap_up: WrapUp,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let a = self.agent(agent)?;
        if !self.finish_wrap_up(a, id, None, wrap_up, now) {
            return Err(EngineError::NoWrapUp {
                contact: id,
                agent: agent.clone(),
            });
        }
        Ok(())
    }

    /// Ends one of the agent's wrap-ups of `id`: the one ending at `until` (its timer), or
    /// the oldest (the agent's word). An agent may hold two for one contact — their part before
    /// transferring it away and their part after getting it back — so the contact leaves the
    /// ACD only with its last wrap-up. Returns whether there was one to end.
    fn finish_wrap_up(
        &mut self,
        a: Ix,
        id: ContactId,
        until: Option<Timestamp>,
        wrap_up: WrapUp,
        now: Timestamp,
    ) -> bool {
        let agent = &mut self.agents[a as usize];
        let ends = |w: &Work| match w.phase {
            Phase::WrapUp { until: u } if w.contact == id => Some(u),
            _ => None,
        };
        let Some(pos) = agent
            .work
            .iter()
            .enumerate()
            .filter_map(|(i, w)| ends(w).map(|u| (u, i)))
            .filter(|&(u, _)| until.is_none_or(|t| t == u))
            .min()
            .map(|(_, i)| i)
        else {
            return false;
        };
        let work = agent.work.remove(pos);
        if let Phase::WrapUp { until } = work.phase {
            self.timers.remove(&(until, Timer::WrapUpEnd(a, id)));
        }
        agent.idle_since = now;
        let more = agent.work.iter().any(|w| ends(w).is_some());
        let finished = matches!(
            self.contacts.get(&id).map(|c| c.state),
            Some(CState::WrapUp { agent, .. }) if agent == a
        );
        if finished && !more {
            self.drop_contact(id);
        }
        self.emit(
            now,
            EventKind::ContactCompleted {
                contact: id,
                queue: self.qid(work.queue),
                agent: self.aid(a),
                wrap_up,
            },
        );
        self.reindex(a);
        self.match_agent(a, now);
        true
    }

    fn transfer(
        &mut self,
        id: ContactId,
        to: TransferTarget,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let state = self.contact_state(id)?;
        match &to {
            TransferTarget::Queue(q) => {
                self.queue(q)?;
            }
            TransferTarget::Agent(agent) => {
                let a = self.agent(agent)?;
                if !self.agents[a as usize].presence.is_logged_in() {
                    return Err(EngineError::AgentOffline(agent.clone()));
                }
            }
        }
        let from_q = self.contacts[&id].queue;
        let from_agent = match state {
            CState::Queued { .. } => {
                self.leave_line(id);
                None
            }
            CState::Offered { agent, .. } => {
                self.release(agent, id);
                self.cancel_contact_timers(id, |t| matches!(t, Timer::OfferDeadline(_)));
                self.emit(
                    now,
                    EventKind::OfferWithdrawn {
                        contact: id,
                        queue: self.qid(from_q),
                        agent: self.aid(agent),
                        reason: WithdrawReason::Moved,
                    },
                );
                self.agents[agent as usize].idle_since = now;
                self.reindex(agent);
                None
            }
            CState::Assigned { agent } | CState::Held { agent } => Some(agent),
            other => return Err(self.invalid(id, other, "transfer")),
        };
        self.emit(
            now,
            EventKind::ContactTransferred {
                contact: id,
                from_queue: self.qid(from_q),
                from_agent: from_agent.map(|a| self.aid(a)),
                to: to.clone(),
            },
        );
        match to {
            TransferTarget::Queue(q) => {
                let q = self.queue(&q).expect("checked");
                self.enter_queue(id, q, None, now);
            }
            TransferTarget::Agent(agent) => {
                let a = self.agent(&agent).expect("checked");
                self.enter_queue(id, from_q, Some(a), now);
            }
        }
        // The transferring agent keeps after-contact work for their part of the contact
        // (with no wrap-up time they are free at once and look for work, agent first).
        if let Some(a) = from_agent {
            let until = now.plus(self.queues[from_q as usize].config.wrap_up);
            self.start_wrap_up(a, id, from_q, until, now);
        }
        // A contact moved away from an agent it rang at goes elsewhere first; the agent, free
        // again, then takes the best contact waiting for them.
        match state {
            CState::Offered { agent, .. } => {
                self.match_contact_except(id, &[agent], now);
                self.match_agent(agent, now);
            }
            _ => self.match_contacts(vec![id], &[], now),
        }
        Ok(())
    }

    fn callback(
        &mut self,
        id: ContactId,
        number: String,
        due: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let state = self.contact_state(id)?;
        let c = &self.contacts[&id];
        // A waiting call, or a waiting chat ("call me instead" in the chat widget): someone
        // is there to promise to. E-mails and tickets wait for no one; a callback already is one.
        if !matches!(state, CState::Queued { .. })
            || !matches!(
                c.channel,
                switchboard_domain::Channel::Voice | switchboard_domain::Channel::Chat
            )
        {
            return Err(self.invalid(
                id,
                state,
                "turn into a callback (only a waiting call or chat can)",
            ));
        }
        let number = number.trim().to_owned();
        if number.is_empty() || number.len() > 32 {
            return Err(ValidationError::new("number", "must be 1 to 32 characters").into());
        }
        if due.is_some_and(|d| d <= now) {
            return Err(ValidationError::new("due", "must be later than now").into());
        }
        let q = c.queue;
        self.contacts.get_mut(&id).expect("checked").channel =
            switchboard_domain::Channel::Callback;
        self.emit(
            now,
            EventKind::CallbackRequested {
                contact: id,
                queue: self.qid(q),
                number,
                due,
            },
        );
        // A chat that became a callback needs a voice line, not a chat slot: an agent free
        // for a call may take it now.
        self.match_contact(id, now);
        Ok(())
    }

    fn set_urgency(
        &mut self,
        id: ContactId,
        urgency: switchboard_domain::Urgency,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        self.contact_state(id)?;
        let c = self.contacts.get_mut(&id).expect("checked");
        c.urgency = urgency;
        let priority = c.priority();
        let (q, arrived) = (c.queue, c.arrived_at);
        if let CState::Queued { key, target, .. } = &mut c.state {
            // Re-keyed wherever it waits: in the queue's line now, or later when a contact
            // transferred to a named agent comes back to the line.
            let old = *key;
            *key = WaitKey::new(id, priority, self.queues[q as usize].aging(), arrived);
            if target.is_none() {
                let waiting = &mut self.queues[q as usize].waiting;
                waiting.remove(&old);
                waiting.insert(*key);
            }
        }
        self.emit(
            now,
            EventKind::PriorityChanged {
                contact: id,
                priority,
            },
        );
        Ok(())
    }

    // ----- queue membership of a contact -------------------------------------------------

    /// Takes a waiting contact out of its line for good (its queue timers go too).
    fn leave_line(&mut self, id: ContactId) {
        self.leave_line_keep_timers(id);
        self.cancel_contact_timers(id, |t| matches!(t, Timer::Expansion(_) | Timer::MaxWait(_)));
    }

    /// Frees the agent's slot held for `id` (an offer or active work).
    fn release(&mut self, a: Ix, id: ContactId) {
        let agent = &mut self.agents[a as usize];
        if let Some(pos) = agent
            .work
            .iter()
            .position(|w| w.contact == id && !matches!(w.phase, Phase::WrapUp { .. }))
        {
            agent.work.remove(pos);
        }
    }

    /// Puts a contact (not currently waiting) into queue `q`'s line, or agent `target`'s.
    fn enter_queue(&mut self, id: ContactId, q: Ix, target: Option<Ix>, now: Timestamp) {
        let aging = self.queues[q as usize].aging();
        let c = self.contacts.get_mut(&id).expect("contact exists");
        c.queue = q;
        c.entered_at = now;
        let key = WaitKey::new(id, c.priority(), aging, c.arrived_at);
        c.state = CState::Queued {
            key,
            entered_at: now,
            target,
        };
        match target {
            Some(a) => self.agents[a as usize].targeted.push(id),
            None => {
                self.queues[q as usize].waiting.insert(key);
            }
        }
        self.schedule_queue_timers(id, now);
    }

    /// After a reject, a missed or withdrawn offer: back to the same place in the same queue
    /// (arrival time and time in queue kept), unless it has already waited its maximum.
    fn return_to_queue(&mut self, id: ContactId, now: Timestamp) {
        let c = self.contacts.get_mut(&id).expect("contact exists");
        let q = c.queue;
        let key = WaitKey::new(
            id,
            c.priority(),
            self.queues[q as usize].aging(),
            c.arrived_at,
        );
        c.state = CState::Queued {
            key,
            entered_at: c.entered_at,
            target: None,
        };
        let entered = c.entered_at;
        self.queues[q as usize].waiting.insert(key);
        if let Some(max) = &self.queues[q as usize].config.max_wait {
            if now.since(entered) >= max.after {
                self.max_wait_reached(id, now);
                return;
            }
        }
        self.schedule_queue_timers(id, now);
    }

    /// A contact transferred to an agent who logged out goes back to its queue's line.
    fn untarget(&mut self, id: ContactId) {
        let Some(c) = self.contacts.get(&id) else {
            return;
        };
        if let CState::Queued { entered_at, .. } = c.state {
            let q = c.queue;
            let key = WaitKey::new(
                id,
                c.priority(),
                self.queues[q as usize].aging(),
                c.arrived_at,
            );
            self.contacts.get_mut(&id).expect("checked").state = CState::Queued {
                key,
                entered_at,
                target: None,
            };
            self.queues[q as usize].waiting.insert(key);
        }
    }

    /// (Re)schedules the next skill-expansion step and the maximum wait of a waiting contact.
    fn schedule_queue_timers(&mut self, id: ContactId, now: Timestamp) {
        self.cancel_contact_timers(id, |t| matches!(t, Timer::Expansion(_) | Timer::MaxWait(_)));
        let c = &self.contacts[&id];
        let config = &self.queues[c.queue as usize].config;
        let waited = now.since(c.entered_at);
        let entered = c.entered_at;
        let next_step = config
            .expansion
            .iter()
            .find(|s| s.after > waited)
            .map(|s| entered.plus(s.after));
        let max_wait = config.max_wait.as_ref().map(|m| entered.plus(m.after));
        if let Some(at) = next_step {
            self.schedule_for_contact(id, at, Timer::Expansion(id));
        }
        if let Some(at) = max_wait {
            self.schedule_for_contact(id, at, Timer::MaxWait(id));
        }
    }

    fn max_wait_reached(&mut self, id: ContactId, now: Timestamp) {
        let q = self.contacts[&id].queue;
        let Some(max) = self.queues[q as usize].config.max_wait.clone() else {
            return;
        };
        match max.exit {
            WaitExit::Overflow { queue } if self.queue_ix.contains_key(&queue) => {
                let to = self.queue_ix[&queue];
                self.leave_line(id);
                self.emit(
                    now,
                    EventKind::ContactOverflowed {
                        contact: id,
                        from_queue: self.qid(q),
                        to_queue: queue,
                    },
                );
                self.enter_queue(id, to, None, now);
            }
            // An overflow into a queue that does not exist (any more) ends like a timeout.
            _ => self.exit(id, ExitReason::MaxWait, now),
        }
    }

    fn exit(&mut self, id: ContactId, reason: ExitReason, now: Timestamp) {
        let q = self.contacts[&id].queue;
        self.leave_line(id);
        self.emit(
            now,
            EventKind::ContactExited {
                contact: id,
                queue: self.qid(q),
                reason,
            },
        );
        self.drop_contact(id);
    }

    // ----- timers ------------------------------------------------------------------------

    /// Fires one timer at its instant; returns a contact to match once the instant's other
    /// timers have fired (with the agent who just missed it, to pass over and then let look
    /// for work).
    fn fire(&mut self, timer: Timer, at: Timestamp) -> (Vec<ContactId>, Option<Ix>) {
        let now = at;
        match timer {
            Timer::OfferDeadline(id) => {
                if let Some(c) = self.contacts.get_mut(&id) {
                    c.timers.retain(|e| *e != (at, timer));
                    if let CState::Offered { agent, deadline } = c.state {
                        if deadline <= now {
                            let mut released = self.offer_timed_out(id, agent, now);
                            released.push(id);
                            return (released, Some(agent));
                        }
                    }
                }
            }
            Timer::WrapUpEnd(a, id) => {
                // Two wrap-ups of one contact ending at the same instant share one timer.
                while self.finish_wrap_up(a, id, Some(at), WrapUp::default(), now) {}
            }
            Timer::AgentDelayEnd(a) => {
                let agent = &mut self.agents[a as usize];
                if agent.delay_until.is_some_and(|t| t <= now) {
                    agent.delay_until = None;
                    self.reindex(a);
                    self.match_agent(a, now);
                }
            }
            Timer::Expansion(id) => {
                if let Some(c) = self.contacts.get_mut(&id) {
                    c.timers.retain(|e| *e != (at, timer));
                    if matches!(c.state, CState::Queued { .. }) {
                        self.schedule_queue_timers(id, now);
                        return (vec![id], None);
                    }
                }
            }
            Timer::MaxWait(id) => {
                if let Some(c) = self.contacts.get_mut(&id) {
                    c.timers.retain(|e| *e != (at, timer));
                    if matches!(c.state, CState::Queued { .. }) {
                        self.max_wait_reached(id, now);
                        return (vec![id], None);
                    }
                }
            }
        }
        (Vec::new(), None)
    }
}

fn set_phase(agent: &mut AgentSlot, id: ContactId, phase: Phase) {
    if let Some(w) = agent
        .work
        .iter_mut()
        .find(|w| w.contact == id && !matches!(w.phase, Phase::WrapUp { .. }))
    {
        w.phase = phase;
    }
}
