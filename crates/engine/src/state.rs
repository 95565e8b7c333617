//! The engine's internal tables. Agents and queues live in vectors addressed by small
//! indices, skills are interned, so the hot path compares integers, not strings.

use std::collections::{BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use switchboard_domain::{
    AgentProfile, Channel, ContactId, Presence, Priority, QueueConfig, RoutingStrategy, SkillName,
    Tier, Timestamp, Urgency,
};

pub(crate) type Ix = u32;
pub(crate) type SkillIx = u16;

/// Position in a queue's waiting line; the smallest key is served first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct WaitKey {
    /// Negated [`Priority::order_key`], so that ascending order is best first.
    pub(crate) rank: i64,
    pub(crate) arrived: i64,
    pub(crate) id: ContactId,
}

impl WaitKey {
    pub(crate) fn new(id: ContactId, priority: Priority, aging: u32, arrived: Timestamp) -> Self {
        Self {
            rank: -priority.order_key(aging, arrived),
            arrived: arrived.as_millis(),
            id,
        }
    }
}

/// An agent's place in a queue's line of free agents; the smallest is chosen first.
pub(crate) type AgentKey = (i64, i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) enum Timer {
    OfferDeadline(ContactId),
    WrapUpEnd(Ix, ContactId),
    AgentDelayEnd(Ix),
    Expansion(ContactId),
    MaxWait(ContactId),
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Skills {
    by_name: HashMap<SkillName, SkillIx>,
    names: Vec<SkillName>,
}

impl Skills {
    pub(crate) fn intern(&mut self, name: &SkillName) -> SkillIx {
        if let Some(&ix) = self.by_name.get(name) {
            return ix;
        }
        let ix = self.names.len() as SkillIx;
        self.by_name.insert(name.clone(), ix);
        self.names.push(name.clone());
        ix
    }

    /// Every skill, by index.
    pub(crate) fn names(&self) -> &[SkillName] {
        &self.names
    }
}

#[derive(Clone, Debug)]
pub(crate) struct QueueSlot {
    pub(crate) config: QueueConfig,
    pub(crate) required: Vec<(SkillIx, u8)>,
    pub(crate) waiting: BTreeSet<WaitKey>,
    /// Agents who can take work now, in this queue's strategy order.
    pub(crate) available: BTreeSet<(AgentKey, Ix)>,
    /// Agents holding every skill the queue requires (at any level).
    pub(crate) members: Vec<Ix>,
    /// Recent accept times, for the estimated wait.
    pub(crate) answers: VecDeque<Timestamp>,
    /// Removed: kept only so that indices stay stable; nobody serves it.
    pub(crate) removed: bool,
}

impl QueueSlot {
    pub(crate) fn aging(&self) -> u32 {
        self.config.priority_aging_per_min
    }

    pub(crate) fn strategy(&self) -> RoutingStrategy {
        self.config.strategy
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Phase {
    Offered,
    Active,
    Held,
    WrapUp { until: Timestamp },
}

/// One slot of an agent's capacity in use.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct Work {
    pub(crate) contact: ContactId,
    pub(crate) queue: Ix,
    pub(crate) channel: Channel,
    pub(crate) phase: Phase,
}

#[derive(Clone, Debug)]
pub(crate) struct AgentSlot {
    pub(crate) profile: AgentProfile,
    /// Level by interned skill; 0 = does not have it.
    pub(crate) levels: Vec<u8>,
    pub(crate) presence: Presence,
    pub(crate) work: Vec<Work>,
    pub(crate) delay_until: Option<Timestamp>,
    pub(crate) misses: u32,
    /// End of the last contact or offer.
    pub(crate) idle_since: Timestamp,
    pub(crate) offers: u64,
    pub(crate) last_offer_seq: u64,
    pub(crate) queues: Vec<Ix>,
    /// Where the agent sits in queues' `available` sets, to take it out again exactly.
    pub(crate) indexed: Vec<(Ix, AgentKey)>,
    /// Waiting contacts transferred to this agent by name, oldest first.
    pub(crate) targeted: Vec<ContactId>,
    /// Removed: kept only so that indices stay stable.
    pub(crate) removed: bool,
}

impl AgentSlot {
    pub(crate) fn level(&self, s: SkillIx) -> u8 {
        self.levels.get(usize::from(s)).copied().unwrap_or(0)
    }

    /// Room for one more contact of `channel`, by capacity and voice exclusivity.
    pub(crate) fn has_room(&self, channel: Channel) -> bool {
        self.room(channel, |_| true)
    }

    /// [`AgentSlot::has_room`] once the agent's ringing offers are taken back.
    pub(crate) fn has_room_without_offers(&self, channel: Channel) -> bool {
        self.room(channel, |w| w.phase != Phase::Offered)
    }

    fn room(&self, channel: Channel, counts: impl Fn(&Work) -> bool) -> bool {
        let work = || self.work.iter().filter(|w| counts(w));
        if work().any(|w| w.channel.is_voice()) {
            return false;
        }
        if channel.is_voice() {
            work().next().is_none() && self.profile.capacity.voice > 0
        } else {
            work().filter(|w| w.channel == channel).count()
                < usize::from(self.profile.capacity.of(channel))
        }
    }

    /// Available, out of any delay, and room on some channel.
    pub(crate) fn can_take_work(&self) -> bool {
        self.presence == Presence::Available
            && self.delay_until.is_none()
            && Channel::ALL.iter().any(|&c| self.has_room(c))
    }

    pub(crate) fn key(&self, strategy: RoutingStrategy) -> AgentKey {
        let idle = self.idle_since.as_millis();
        match strategy {
            RoutingStrategy::LongestIdle | RoutingStrategy::BestSkill | RoutingStrategy::Random => {
                (idle, 0)
            }
            RoutingStrategy::FewestContacts => (self.offers as i64, idle),
            RoutingStrategy::RoundRobin => (self.last_offer_seq as i64, 0),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum CState {
    Queued {
        key: WaitKey,
        entered_at: Timestamp,
        target: Option<Ix>,
    },
    Offered {
        agent: Ix,
        deadline: Timestamp,
    },
    Assigned {
        agent: Ix,
    },
    Held {
        agent: Ix,
    },
    WrapUp {
        agent: Ix,
        until: Timestamp,
    },
}

impl CState {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            CState::Queued { .. } => "queued",
            CState::Offered { .. } => "offered",
            CState::Assigned { .. } => "assigned",
            CState::Held { .. } => "held",
            CState::WrapUp { .. } => "in wrap-up",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ContactSlot {
    pub(crate) queue: Ix,
    pub(crate) channel: Channel,
    /// The contact's own requirements, beyond the queue's.
    pub(crate) skills: Vec<(SkillIx, u8)>,
    pub(crate) urgency: Urgency,
    pub(crate) tier: Tier,
    pub(crate) arrived_at: Timestamp,
    /// Entered the current queue (expansion and max wait count from here).
    pub(crate) entered_at: Timestamp,
    pub(crate) state: CState,
    /// Queue timers (expansion, max wait, offer deadline) to cancel when it leaves.
    pub(crate) timers: Vec<(Timestamp, Timer)>,
}

impl ContactSlot {
    pub(crate) fn priority(&self) -> Priority {
        Priority::of(self.urgency, self.tier)
    }
}
