use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    AgentId, AgentProfile, Channel, ContactId, Presence, QueueConfig, QueueId, SkillRequirement,
    Tier, Timestamp, Urgency,
};

/// Everything a dispatcher can be asked to do. Each command is one transition: it either
/// happens whole (and emits its events) or is refused with an error, changing nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Create or replace a queue's settings; waiting contacts are re-examined.
    UpsertQueue(QueueConfig),
    /// Create or replace an agent's skills and capacities; their state is kept.
    UpsertAgent(AgentProfile),
    /// Forget a queue. Refused while any contact is in it.
    RemoveQueue {
        queue: QueueId,
    },
    /// Forget an agent (logging them out). Refused while they hold any contact.
    RemoveAgent {
        agent: AgentId,
    },
    /// Log in, log out, go away or come back.
    SetPresence {
        agent: AgentId,
        presence: Presence,
    },
    /// A new contact waits for an agent.
    Enqueue(NewContact),
    Accept {
        contact: ContactId,
        agent: AgentId,
    },
    Reject {
        contact: ContactId,
        agent: AgentId,
    },
    /// The agent took the contact without an offer of ours: the PBX routed the call itself
    /// and the agent picked it up. A contact ringing at this agent is simply accepted; one
    /// waiting, or ringing at someone else (that offer is withdrawn), is assigned to them.
    /// The agent's own ringing offers are withdrawn first; refused if they still have no
    /// room (in another conversation or in wrap-up).
    Answer {
        contact: ContactId,
        agent: AgentId,
    },
    /// The customer left before being served (hung up in queue or while ringing).
    Abandon {
        contact: ContactId,
    },
    Hold {
        contact: ContactId,
    },
    Resume {
        contact: ContactId,
    },
    /// The conversation is over; after-contact work (wrap-up) begins.
    Complete {
        contact: ContactId,
    },
    /// The agent finished wrap-up of `contact` (or the wrap-up time ran out); the slot is
    /// free again. Names the agent because a transferred contact leaves wrap-up work behind
    /// with the agent who transferred it while the contact itself is already elsewhere.
    FinishWrapUp {
        contact: ContactId,
        agent: AgentId,
        #[serde(default)]
        wrap_up: WrapUp,
    },
    /// Move a queued or handled contact to another queue or to a named agent.
    Transfer {
        contact: ContactId,
        to: TransferTarget,
    },
    /// The caller hangs up (or leaves the chat) but keeps their place; an agent will call
    /// back. Only a waiting call or chat becomes a callback (channel `callback`).
    CallbackInPlace {
        contact: ContactId,
        number: String,
        /// When the call back was promised for, if a time was promised (it must be later
        /// than the command's `now`); otherwise reports use their `callback_due` setting.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
    },
    SetUrgency {
        contact: ContactId,
        urgency: Urgency,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::UpsertQueue(_) => "upsert_queue",
            Command::UpsertAgent(_) => "upsert_agent",
            Command::RemoveQueue { .. } => "remove_queue",
            Command::RemoveAgent { .. } => "remove_agent",
            Command::SetPresence { .. } => "set_presence",
            Command::Enqueue(_) => "enqueue",
            Command::Accept { .. } => "accept",
            Command::Reject { .. } => "reject",
            Command::Answer { .. } => "answer",
            Command::Abandon { .. } => "abandon",
            Command::Hold { .. } => "hold",
            Command::Resume { .. } => "resume",
            Command::Complete { .. } => "complete",
            Command::FinishWrapUp { .. } => "finish_wrap_up",
            Command::Transfer { .. } => "transfer",
            Command::CallbackInPlace { .. } => "callback_in_place",
            Command::SetUrgency { .. } => "set_urgency",
        }
    }
}

/// A contact entering the ACD.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewContact {
    pub id: ContactId,
    pub queue: QueueId,
    pub channel: Channel,
    /// Skills beyond the queue's own (e.g. the language the IVR detected).
    #[serde(default)]
    pub skills: Vec<SkillRequirement>,
    #[serde(default)]
    pub urgency: Urgency,
    #[serde(default)]
    pub tier: Tier,
    /// Free-form data carried to the agent: language, caller number, IVR choices…
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl NewContact {
    pub fn new(id: ContactId, queue: QueueId, channel: Channel) -> Self {
        Self {
            id,
            queue,
            channel,
            skills: Vec::new(),
            urgency: Urgency::default(),
            tier: Tier::default(),
            attributes: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum TransferTarget {
    Queue(QueueId),
    Agent(AgentId),
}

/// What the agent recorded at the end of a contact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WrapUp {
    /// Disposition (wrap-up) code, e.g. `sale`, `info`, `complaint`.
    pub disposition: Option<String>,
    /// The agent's word that the issue was solved on this contact (first-contact resolution).
    pub resolved: Option<bool>,
}
