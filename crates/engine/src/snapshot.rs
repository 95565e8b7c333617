//! The whole engine as plain data, and back: what a Redis instance stores so that the command
//! log can be trimmed and a joining instance need not replay from the beginning.
//!
//! A restored engine behaves exactly like the one that was saved (the property tests run a
//! sequence on both and compare every event). Derived indices — waiting lines, free-agent
//! lines, queue members, skill levels — are not stored but rebuilt.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use switchboard_domain::{
    AgentProfile, ContactId, Presence, QueueConfig, SkillName, Timestamp, ValidationError,
};

use super::state::{AgentSlot, CState, ContactSlot, Ix, QueueSlot, Skills, Timer, Work};
use super::Engine;
use crate::EngineError;

/// Bumped when the layout changes; an instance refuses a snapshot of another version (and
/// then replays the log instead).
const VERSION: u32 = 1;

/// An engine's full state, serialisable.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EngineSnapshot {
    version: u32,
    next_event: u64,
    offer_seq: u64,
    skills: Vec<SkillName>,
    queues: Vec<QueueState>,
    agents: Vec<AgentState>,
    contacts: Vec<(ContactId, ContactSlot)>,
    timers: Vec<(Timestamp, Timer)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct QueueState {
    config: QueueConfig,
    answers: Vec<Timestamp>,
    #[serde(default)]
    removed: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct AgentState {
    profile: AgentProfile,
    presence: Presence,
    work: Vec<Work>,
    delay_until: Option<Timestamp>,
    misses: u32,
    idle_since: Timestamp,
    offers: u64,
    last_offer_seq: u64,
    queues: Vec<Ix>,
    targeted: Vec<ContactId>,
    #[serde(default)]
    removed: bool,
}

impl Engine {
    /// Everything needed to continue exactly where this engine is.
    pub fn snapshot(&self) -> EngineSnapshot {
        let mut contacts: Vec<_> = self
            .contacts
            .iter()
            .map(|(id, c)| (*id, c.clone()))
            .collect();
        contacts.sort_by_key(|(id, _)| *id);
        EngineSnapshot {
            version: VERSION,
            next_event: self.next_event,
            offer_seq: self.offer_seq,
            skills: self.skills.names().to_vec(),
            queues: self
                .queues
                .iter()
                .map(|q| QueueState {
                    config: q.config.clone(),
                    answers: q.answers.iter().copied().collect(),
                    removed: q.removed,
                })
                .collect(),
            agents: self
                .agents
                .iter()
                .map(|a| AgentState {
                    profile: a.profile.clone(),
                    presence: a.presence.clone(),
                    work: a.work.clone(),
                    delay_until: a.delay_until,
                    misses: a.misses,
                    idle_since: a.idle_since,
                    offers: a.offers,
                    last_offer_seq: a.last_offer_seq,
                    queues: a.queues.clone(),
                    targeted: a.targeted.clone(),
                    removed: a.removed,
                })
                .collect(),
            contacts,
            timers: self.timers.iter().copied().collect(),
        }
    }

    /// Rebuilds an engine from a snapshot, checking that every internal reference is in
    /// range (a damaged snapshot is refused, never a panic later).
    pub fn restore(s: EngineSnapshot) -> Result<Engine, EngineError> {
        let bad =
            |what: &str| EngineError::Invalid(ValidationError::new("snapshot", what.to_owned()));
        if s.version != VERSION {
            return Err(bad("unsupported snapshot version"));
        }
        let (nq, na) = (s.queues.len() as Ix, s.agents.len() as Ix);
        let mut e = Engine {
            next_event: s.next_event,
            offer_seq: s.offer_seq,
            ..Engine::default()
        };
        let mut skills = Skills::default();
        for name in &s.skills {
            skills.intern(name);
        }
        e.skills = skills;
        for (i, q) in s.queues.into_iter().enumerate() {
            let required = q
                .config
                .required_skills
                .iter()
                .map(|r| (e.skills.intern(&r.skill), r.min_level.get()))
                .collect();
            if !q.removed {
                e.queue_ix.insert(q.config.id.clone(), i as Ix);
            }
            e.queues.push(QueueSlot {
                config: q.config,
                required,
                waiting: BTreeSet::new(),
                available: BTreeSet::new(),
                members: Vec::new(),
                answers: VecDeque::from(q.answers),
                removed: q.removed,
            });
        }
        for (i, a) in s.agents.into_iter().enumerate() {
            if a.queues.iter().any(|&q| q >= nq) || a.work.iter().any(|w| w.queue >= nq) {
                return Err(bad("agent refers to an unknown queue"));
            }
            let mut levels = Vec::new();
            for (skill, level) in &a.profile.skills {
                let ix = usize::from(e.skills.intern(skill));
                if levels.len() <= ix {
                    levels.resize(ix + 1, 0);
                }
                levels[ix] = level.get();
            }
            if !a.removed {
                e.agent_ix.insert(a.profile.id.clone(), i as Ix);
            }
            e.agents.push(AgentSlot {
                profile: a.profile,
                levels,
                presence: a.presence,
                work: a.work,
                delay_until: a.delay_until,
                misses: a.misses,
                idle_since: a.idle_since,
                offers: a.offers,
                last_offer_seq: a.last_offer_seq,
                queues: a.queues,
                indexed: Vec::new(),
                targeted: a.targeted,
                removed: a.removed,
            });
        }
        let mut contacts = HashMap::with_capacity(s.contacts.len());
        for (id, c) in s.contacts {
            let agent_ok = match c.state {
                CState::Queued { target, .. } => target.is_none_or(|t| t < na),
                CState::Offered { agent, .. }
                | CState::Assigned { agent }
                | CState::Held { agent }
                | CState::WrapUp { agent, .. } => agent < na,
            };
            if c.queue >= nq || !agent_ok {
                return Err(bad("contact refers to an unknown queue or agent"));
            }
            if let CState::Queued {
                key, target: None, ..
            } = c.state
            {
                e.queues[c.queue as usize].waiting.insert(key);
            }
            contacts.insert(id, c);
        }
        e.contacts = contacts;
        for &(_, t) in &s.timers {
            let ok = match t {
                Timer::WrapUpEnd(a, _) | Timer::AgentDelayEnd(a) => a < na,
                _ => true,
            };
            if !ok {
                return Err(bad("timer refers to an unknown agent"));
            }
        }
        e.timers = s.timers.into_iter().collect();
        for q in 0..nq {
            e.queues[q as usize].members = (0..na).filter(|&a| e.serves(a, q)).collect();
        }
        for a in 0..na {
            e.reindex(a);
        }
        Ok(e)
    }
}
