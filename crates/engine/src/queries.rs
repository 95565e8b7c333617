//! Read-only views: what the IVR announces and what a supervisor sees.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};
use switchboard_domain::{
    AgentId, AgentStatus, Channel, ContactId, ContactState, Presence, QueueId, Timestamp,
};

use super::state::{AgentSlot, CState, Phase};
use super::{Engine, THROUGHPUT_WINDOW};

/// Where a waiting contact stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueuePosition {
    pub queue: QueueId,
    /// 1 = next in line. Contacts that other agents serve first (other skills) may be
    /// answered before it, so the position is an upper bound in a multi-skill queue.
    pub position: u32,
    pub waiting: u32,
    /// From the queue's observed answer rate over the last 30 minutes; `None` until it has
    /// answered anything in that window.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    #[serde(with = "switchboard_domain::duration_secs::option")]
    pub estimated_wait: Option<Duration>,
}

/// A queue at a glance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueueSnapshot {
    pub queue: QueueId,
    pub waiting: u32,
    /// Offers ringing at agents right now.
    pub offered: u32,
    /// Longest time in this queue among waiting contacts.
    #[cfg_attr(feature = "openapi", schema(value_type = f64))]
    #[serde(with = "switchboard_domain::duration_secs")]
    pub longest_wait: Duration,
    /// Agents who serve the queue, by state name (`available`, `busy`, `away`…).
    pub agents: BTreeMap<String, u32>,
}

impl Engine {
    /// The contact's state, or `None` once it has left the ACD.
    pub fn contact(&self, id: ContactId) -> Option<ContactState> {
        let c = self.contacts.get(&id)?;
        let queue = self.qid(c.queue);
        Some(match c.state {
            CState::Queued {
                entered_at, target, ..
            } => ContactState::Queued {
                queue,
                entered_at,
                target_agent: target.map(|a| self.aid(a)),
            },
            CState::Offered { agent, deadline } => ContactState::Offered {
                queue,
                agent: self.aid(agent),
                deadline,
            },
            CState::Assigned { agent } => ContactState::Assigned {
                queue,
                agent: self.aid(agent),
            },
            CState::Held { agent } => ContactState::Held {
                queue,
                agent: self.aid(agent),
            },
            CState::WrapUp { agent, until } => ContactState::WrapUp {
                queue,
                agent: self.aid(agent),
                until,
            },
        })
    }

    /// The contact's channel now — a call turned into a callback reads [`Channel::Callback`]
    /// — or `None` once it has left the ACD.
    pub fn contact_channel(&self, id: ContactId) -> Option<Channel> {
        self.contacts.get(&id).map(|c| c.channel)
    }

    pub fn agent_status(&self, id: &AgentId) -> Option<AgentStatus> {
        let a = *self.agent_ix.get(id)?;
        Some(status_of(&self.agents[a as usize]))
    }

    /// Contacts the agent holds (offered, active, held or in wrap-up).
    pub fn agent_contacts(&self, id: &AgentId) -> Vec<ContactId> {
        self.agent_ix
            .get(id)
            .map(|&a| {
                self.agents[a as usize]
                    .work
                    .iter()
                    .map(|w| w.contact)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The queues the agent serves (holds every required skill of), in no particular order:
    /// the engine's own eligibility, for views that show an agent "their" queues.
    pub fn agent_queues(&self, id: &AgentId) -> Vec<QueueId> {
        self.agent_ix
            .get(id)
            .map(|&a| {
                self.agents[a as usize]
                    .queues
                    .iter()
                    .filter(|&&q| !self.queues[q as usize].removed)
                    .map(|&q| self.qid(q))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn position(&self, id: ContactId, now: Timestamp) -> Option<QueuePosition> {
        let c = self.contacts.get(&id)?;
        let CState::Queued { key, target, .. } = c.state else {
            return None;
        };
        let slot = &self.queues[c.queue as usize];
        let (position, waiting) = match target {
            Some(a) => {
                let line = &self.agents[a as usize].targeted;
                let pos = line.iter().position(|&x| x == id).unwrap_or(0);
                (pos + 1, line.len())
            }
            None => (slot.waiting.range(..key).count() + 1, slot.waiting.len()),
        };
        let estimated_wait = seconds_per_answer(slot.answers.iter().copied(), now)
            .map(|per| Duration::from_secs_f64(per * position as f64));
        Some(QueuePosition {
            queue: slot.config.id.clone(),
            position: position as u32,
            waiting: waiting as u32,
            estimated_wait,
        })
    }

    pub fn queue_snapshot(&self, id: &QueueId, now: Timestamp) -> Option<QueueSnapshot> {
        let q = *self.queue_ix.get(id)?;
        let slot = &self.queues[q as usize];
        let longest_wait = slot
            .waiting
            .iter()
            .map(|k| now.since(self.contacts[&k.id].entered_at))
            .max()
            .unwrap_or_default();
        let mut agents = BTreeMap::new();
        for &a in &slot.members {
            *agents
                .entry(status_of(&self.agents[a as usize]).name().to_owned())
                .or_insert(0) += 1;
        }
        let offered = self
            .contacts
            .values()
            .filter(|c| c.queue == q && matches!(c.state, CState::Offered { .. }))
            .count();
        Some(QueueSnapshot {
            queue: id.clone(),
            waiting: slot.waiting.len() as u32,
            offered: offered as u32,
            longest_wait,
            agents,
        })
    }

    /// Every queue and agent id known, for snapshots.
    pub fn queue_ids(&self) -> Vec<QueueId> {
        self.queues
            .iter()
            .filter(|q| !q.removed)
            .map(|q| q.config.id.clone())
            .collect()
    }

    pub fn agent_ids(&self) -> Vec<AgentId> {
        self.agents
            .iter()
            .filter(|a| !a.removed)
            .map(|a| a.profile.id.clone())
            .collect()
    }

    /// Number of contacts the engine holds (waiting, offered, handled or in wrap-up).
    pub fn contact_count(&self) -> usize {
        self.contacts.len()
    }
}

/// The queue's recent pace: the mean gap between its answers in the last 30 minutes, or the
/// time since the last answer if that is longer (a queue that stopped answering must not
/// keep promising short waits). A single answer counts as one per minute at best.
fn seconds_per_answer(answers: impl Iterator<Item = Timestamp>, now: Timestamp) -> Option<f64> {
    let since = Timestamp::from_millis(now.as_millis() - THROUGHPUT_WINDOW.as_millis() as i64);
    let (mut first, mut last, mut n) = (None, None, 0u32);
    for t in answers.filter(|&t| t >= since) {
        first.get_or_insert(t);
        last = Some(t);
        n += 1;
    }
    let (first, last) = (first?, last?);
    let gap = if n >= 2 {
        last.since(first).as_secs_f64() / f64::from(n - 1)
    } else {
        60.0
    };
    Some(gap.max(now.since(last).as_secs_f64()))
}

/// Work wins over presence: reserved, then busy, then wrap-up; then away/offline; then a
/// no-answer delay; else available.
pub(super) fn status_of(agent: &AgentSlot) -> AgentStatus {
    if agent.work.iter().any(|w| w.phase == Phase::Offered) {
        return AgentStatus::Reserved;
    }
    if agent
        .work
        .iter()
        .any(|w| matches!(w.phase, Phase::Active | Phase::Held))
    {
        return AgentStatus::Busy;
    }
    if let Some(until) = agent
        .work
        .iter()
        .filter_map(|w| match w.phase {
            Phase::WrapUp { until } => Some(until),
            _ => None,
        })
        .max()
    {
        return AgentStatus::WrapUp { until };
    }
    match &agent.presence {
        Presence::Offline => AgentStatus::Offline,
        Presence::Away { reason } => AgentStatus::Away {
            reason: reason.clone(),
        },
        Presence::Available => match agent.delay_until {
            Some(until) => AgentStatus::NoAnswerDelay { until },
            None => AgentStatus::Available,
        },
    }
}

#[cfg(test)]
mod tests {
    use switchboard_domain::{
        AgentProfile, Command, QueueConfig, SkillLevel, SkillName, SkillRequirement,
    };

    use super::*;

    #[test]
    fn an_agent_serves_the_queues_whose_required_skills_they_hold() {
        let now = Timestamp::from_millis(0);
        let skill = |s: &str| SkillName::parse(s).unwrap();
        let queue = |id: &str, skills: &[&str]| {
            let mut q = QueueConfig::new(QueueId::parse(id).unwrap());
            q.required_skills = skills
                .iter()
                .map(|s| SkillRequirement {
                    skill: skill(s),
                    min_level: SkillLevel::MIN,
                })
                .collect();
            q
        };
        let mut engine = Engine::new();
        for q in [
            queue("general", &[]),
            queue("french", &["french"]),
            queue("french_billing", &["french", "billing"]),
        ] {
            engine.apply(Command::UpsertQueue(q), now).unwrap();
        }
        let ann = AgentId::parse("ann").unwrap();
        let profile = AgentProfile::new(ann.clone()).with_skill(skill("french"), SkillLevel::MAX);
        engine.apply(Command::UpsertAgent(profile), now).unwrap();
        let mut queues = engine.agent_queues(&ann);
        queues.sort();
        assert_eq!(
            queues,
            [
                QueueId::parse("french").unwrap(),
                QueueId::parse("general").unwrap()
            ]
        );
        engine
            .apply(
                Command::RemoveQueue {
                    queue: QueueId::parse("general").unwrap(),
                },
                now,
            )
            .unwrap();
        assert_eq!(
            engine.agent_queues(&ann),
            [QueueId::parse("french").unwrap()]
        );
        assert!(engine
            .agent_queues(&AgentId::parse("nobody").unwrap())
            .is_empty());
    }
}
