use serde::{Deserialize, Serialize};

use crate::{
    AgentId, Channel, ContactId, Presence, Priority, QueueId, Tier, Timestamp, TransferTarget,
    WrapUp,
};

/// Events are numbered by the dispatcher that emits them, in order, with no gaps: the number
/// makes writing them idempotent and lets a follower resume where it stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct EventId(pub u64);

/// One transition, stamped with the `now` of the command (or timer) that caused it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: EventId,
    pub at: Timestamp,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Why an offer was taken back from an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum WithdrawReason {
    /// The customer hung up while it rang.
    Abandoned,
    /// The agent went away, logged out or lost the connection.
    AgentUnavailable,
    /// A supervisor moved the contact elsewhere.
    Moved,
    /// Somebody else picked the contact up (the PBX connected it to another agent).
    TakenElsewhere,
}

/// Why a contact left the ACD unserved without hanging up itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// Waited the queue's maximum.
    MaxWait,
    /// No agent able to serve the queue is logged in (join/leave-when-empty rules).
    NoAgents,
}

/// Everything that can happen. Reserved, busy and wrap-up agent states are implied by the
/// contact events; presence changes are events of their own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    AgentPresenceChanged {
        agent: AgentId,
        presence: Presence,
    },
    ContactQueued {
        contact: ContactId,
        queue: QueueId,
        channel: Channel,
        tier: Tier,
        priority: Priority,
        /// First arrival in the ACD; kept across re-queues, overflows and transfers.
        arrived_at: Timestamp,
        /// What came with the contact (caller number, language, customer, IVR choices…), for
        /// the agent's screen.
        #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
        attributes: std::collections::BTreeMap<String, String>,
    },
    /// Not admitted: the queue refuses contacts while nobody can serve it.
    ContactRefused {
        contact: ContactId,
        queue: QueueId,
        reason: ExitReason,
    },
    ContactOffered {
        contact: ContactId,
        queue: QueueId,
        agent: AgentId,
        deadline: Timestamp,
    },
    OfferAccepted {
        contact: ContactId,
        queue: QueueId,
        agent: AgentId,
        /// From entering this queue to the accept.
        waited_ms: u64,
    },
    OfferRejected {
        contact: ContactId,
        queue: QueueId,
        agent: AgentId,
    },
    OfferTimedOut {
        contact: ContactId,
        queue: QueueId,
        agent: AgentId,
    },
    OfferWithdrawn {
        contact: ContactId,
        queue: QueueId,
        agent: AgentId,
        reason: WithdrawReason,
    },
    ContactAbandoned {
        contact: ContactId,
        queue: QueueId,
        waited_ms: u64,
    },
    ContactHeld {
        contact: ContactId,
        agent: AgentId,
    },
    ContactResumed {
        contact: ContactId,
        agent: AgentId,
    },
    ContactTransferred {
        contact: ContactId,
        from_queue: QueueId,
        /// The agent who had it, if it was being handled.
        from_agent: Option<AgentId>,
        to: TransferTarget,
    },
    ContactOverflowed {
        contact: ContactId,
        from_queue: QueueId,
        to_queue: QueueId,
    },
    ContactExited {
        contact: ContactId,
        queue: QueueId,
        reason: ExitReason,
    },
    CallbackRequested {
        contact: ContactId,
        queue: QueueId,
        number: String,
        /// The promised time from the command, if one was given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
    },
    PriorityChanged {
        contact: ContactId,
        priority: Priority,
    },
    /// The conversation ended; wrap-up runs until `wrap_up_until`.
    ContactEnded {
        contact: ContactId,
        queue: QueueId,
        agent: AgentId,
        wrap_up_until: Timestamp,
    },
    /// Wrap-up done; the agent's slot is free.
    ContactCompleted {
        contact: ContactId,
        queue: QueueId,
        agent: AgentId,
        wrap_up: WrapUp,
    },
}

impl EventKind {
    /// The contact this event is about, if any.
    pub fn contact(&self) -> Option<ContactId> {
        use EventKind::*;
        match self {
            AgentPresenceChanged { .. } => None,
            ContactQueued { contact, .. }
            | ContactRefused { contact, .. }
            | ContactOffered { contact, .. }
            | OfferAccepted { contact, .. }
            | OfferRejected { contact, .. }
            | OfferTimedOut { contact, .. }
            | OfferWithdrawn { contact, .. }
            | ContactAbandoned { contact, .. }
            | ContactHeld { contact, .. }
            | ContactResumed { contact, .. }
            | ContactTransferred { contact, .. }
            | ContactOverflowed { contact, .. }
            | ContactExited { contact, .. }
            | CallbackRequested { contact, .. }
            | PriorityChanged { contact, .. }
            | ContactEnded { contact, .. }
            | ContactCompleted { contact, .. } => Some(*contact),
        }
    }

    /// The snake_case name used on the wire and in the event log.
    pub fn name(&self) -> &'static str {
        use EventKind::*;
        match self {
            AgentPresenceChanged { .. } => "agent_presence_changed",
            ContactQueued { .. } => "contact_queued",
            ContactRefused { .. } => "contact_refused",
            ContactOffered { .. } => "contact_offered",
            OfferAccepted { .. } => "offer_accepted",
            OfferRejected { .. } => "offer_rejected",
            OfferTimedOut { .. } => "offer_timed_out",
            OfferWithdrawn { .. } => "offer_withdrawn",
            ContactAbandoned { .. } => "contact_abandoned",
            ContactHeld { .. } => "contact_held",
            ContactResumed { .. } => "contact_resumed",
            ContactTransferred { .. } => "contact_transferred",
            ContactOverflowed { .. } => "contact_overflowed",
            ContactExited { .. } => "contact_exited",
            CallbackRequested { .. } => "callback_requested",
            PriorityChanged { .. } => "priority_changed",
            ContactEnded { .. } => "contact_ended",
            ContactCompleted { .. } => "contact_completed",
        }
    }
}
