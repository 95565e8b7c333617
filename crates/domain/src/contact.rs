use serde::{Deserialize, Serialize};

use crate::{AgentId, QueueId, Timestamp, ValidationError};

/// The door a contact came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Voice,
    Chat,
    Email,
    Ticket,
    /// An outbound call we owe the customer; it occupies the agent's voice line.
    Callback,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Voice,
        Channel::Chat,
        Channel::Email,
        Channel::Ticket,
        Channel::Callback,
    ];

    /// Real-time channels hold the agent's attention completely: an agent on a call (or a
    /// callback) is offered nothing else, and an agent busy with any other work is not offered a
    /// call. Chat, e-mail and tickets blend up to each channel's capacity.
    pub fn is_voice(self) -> bool {
        matches!(self, Channel::Voice | Channel::Callback)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Voice => "voice",
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Ticket => "ticket",
            Channel::Callback => "callback",
        }
    }
}

/// Customer value tier: higher tiers wait less.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    #[default]
    Standard,
    Silver,
    Gold,
    Platinum,
}

impl Tier {
    /// Priority points the tier adds: 0, 10, 20, 30.
    pub fn bonus(self) -> u32 {
        match self {
            Tier::Standard => 0,
            Tier::Silver => 10,
            Tier::Gold => 20,
            Tier::Platinum => 30,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Standard => "standard",
            Tier::Silver => "silver",
            Tier::Gold => "gold",
            Tier::Platinum => "platinum",
        }
    }
}

/// How urgent the matter is, 0 (routine, the default) to 9 (emergency).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(try_from = "u8", into = "u8")]
pub struct Urgency(u8);

impl Urgency {
    pub fn new(u: u8) -> Result<Self, ValidationError> {
        if u <= 9 {
            Ok(Self(u))
        } else {
            Err(ValidationError::new("urgency", "must be between 0 and 9"))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Urgency {
    type Error = ValidationError;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        Self::new(v)
    }
}

impl From<Urgency> for u8 {
    fn from(u: Urgency) -> u8 {
        u.0
    }
}

/// Base priority in points: `10 × urgency + tier bonus` (0–120). A queue may add points for
/// every minute waited (`priority_aging_per_min`); the effective priority decides the order,
/// then arrival time (FIFO).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Priority(u32);

impl Priority {
    pub fn of(urgency: Urgency, tier: Tier) -> Self {
        Self(u32::from(urgency.get()) * 10 + tier.bonus())
    }

    pub fn points(self) -> u32 {
        self.0
    }

    /// A static sort key, larger = served first, that orders contacts of one queue by
    /// effective priority at *any* instant: with a linear aging rate `r` (points per minute)
    /// common to the queue, `base + r·(now − arrived)/60 000 ms` compares like
    /// `base·60 000 − r·arrived`, which does not depend on `now`. So a waiting line needs no
    /// re-sorting as time passes.
    pub fn order_key(self, aging_per_min: u32, arrived_at: Timestamp) -> i64 {
        i64::from(self.0) * 60_000 - i64::from(aging_per_min) * arrived_at.as_millis()
    }

    /// Effective priority in milli-points at `now`, comparable across queues.
    pub fn effective_millis(
        self,
        aging_per_min: u32,
        arrived_at: Timestamp,
        now: Timestamp,
    ) -> i64 {
        // order_key + r·now, over 60 (to milli-points).
        (self.order_key(aging_per_min, arrived_at) + i64::from(aging_per_min) * now.as_millis())
            / 60
    }
}

/// Where a contact stands in the dispatcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ContactState {
    Queued {
        queue: QueueId,
        /// When it joined this queue (after a transfer or overflow: the new queue).
        entered_at: Timestamp,
        /// Only this agent may take it (a transfer to an agent).
        target_agent: Option<AgentId>,
    },
    Offered {
        queue: QueueId,
        agent: AgentId,
        deadline: Timestamp,
    },
    Assigned {
        queue: QueueId,
        agent: AgentId,
    },
    Held {
        queue: QueueId,
        agent: AgentId,
    },
    WrapUp {
        queue: QueueId,
        agent: AgentId,
        until: Timestamp,
    },
}

impl ContactState {
    pub fn queue(&self) -> &QueueId {
        match self {
            ContactState::Queued { queue, .. }
            | ContactState::Offered { queue, .. }
            | ContactState::Assigned { queue, .. }
            | ContactState::Held { queue, .. }
            | ContactState::WrapUp { queue, .. } => queue,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ContactState::Queued { .. } => "queued",
            ContactState::Offered { .. } => "offered",
            ContactState::Assigned { .. } => "assigned",
            ContactState::Held { .. } => "held",
            ContactState::WrapUp { .. } => "wrap_up",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tier_and_urgency_make_the_base_priority() {
        let p = |u, t| Priority::of(Urgency::new(u).unwrap(), t).points();
        assert_eq!(p(0, Tier::Standard), 0);
        assert_eq!(p(0, Tier::Platinum), 30);
        assert_eq!(p(9, Tier::Platinum), 120);
        assert!(Urgency::new(10).is_err());
    }

    proptest! {
        /// The static order key sorts exactly like the effective priority, at every instant
        /// after both contacts arrived.
        #[test]
        fn order_key_agrees_with_effective_priority(
            pa in 0u32..=120, pb in 0u32..=120, rate in 0u32..=100,
            ta in 1_700_000_000_000i64..1_700_000_900_000, tb in 1_700_000_000_000i64..1_700_000_900_000,
            later in 0i64..10_000_000,
        ) {
            let (a, b) = (Priority(pa), Priority(pb));
            let (ta, tb) = (Timestamp::from_millis(ta), Timestamp::from_millis(tb));
            let now = Timestamp::from_millis(ta.as_millis().max(tb.as_millis()) + later);
            let by_key = a.order_key(rate, ta).cmp(&b.order_key(rate, tb));
            let exact = |p: Priority, t: Timestamp| i128::from(p.0) * 60_000 + i128::from(rate) * i128::from(now.as_millis() - t.as_millis());
            prop_assert_eq!(by_key, exact(a, ta).cmp(&exact(b, tb)));
        }
    }
}
