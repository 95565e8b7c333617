//! The agent console socket, `GET /api/v1/agent/ws`.
//!
//! The server sends [`Frame`]s, each [`Stamped`](crate::Stamped) with `v` and a per-agent
//! `seq`; the console sends [`Request`]s, plain (no `v`, no `seq`), whose optional `id` comes
//! back as `in_reply_to` in the `ack`, `error` or `pong` that answers it. A request with an
//! unknown `type` or an unknown field is refused (an `error` frame, code `bad_message`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchboard_domain::{
    AgentId, AgentStatus, Channel, ContactId, Presence, QueueId, Tier, Timestamp, TransferTarget,
    WithdrawReason,
};

use crate::RequestId;

/// What the server sends an agent's console.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    /// First frame of a connection that does not resume: who the agent is and their state.
    Hello {
        agent: AgentId,
        display_name: Option<String>,
        number: Option<String>,
        /// `None` when the dispatcher does not know the agent (yet).
        status: Option<AgentStatus>,
    },
    /// A contact rings at the agent until `deadline`.
    Offer {
        contact_id: ContactId,
        queue: QueueId,
        deadline: Timestamp,
        /// `None` (with `tier` and `data`) when the contact's data could not be found.
        channel: Option<Channel>,
        tier: Option<Tier>,
        /// For a callback (`channel: "callback"`): the number to call and the time promised;
        /// `None` for any other contact.
        callback: Option<CallbackOffer>,
        /// The contact's attributes (caller, customer, IVR choices…).
        data: Option<BTreeMap<String, String>>,
        /// The queue's greeting for the contact's language, filled in; `None` without one.
        greeting: Option<String>,
    },
    /// The offer is gone: rejected, missed, or taken back.
    OfferWithdrawn {
        contact_id: ContactId,
        reason: WithdrawnReason,
    },
    /// The agent has the contact (accepted, or connected by the PBX).
    Assigned {
        contact_id: ContactId,
        queue: QueueId,
    },
    /// The conversation ended; wrap-up runs until `wrap_up_until` at the latest.
    Ended {
        contact_id: ContactId,
        wrap_up_until: Timestamp,
    },
    /// Wrap-up done: the contact is no longer the agent's.
    Completed {
        contact_id: ContactId,
    },
    /// The agent's presence changed.
    State {
        presence: Presence,
    },
    /// The agent's own figures, every 5 s.
    Stats(Figures),
    Ack {
        in_reply_to: RequestId,
    },
    Error {
        /// Absent when the message could not be read; `null` for a request without `id`.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "crate::in_reply_to"
        )]
        in_reply_to: Option<RequestId>,
        /// Stable, machine-readable (`bad_message`, `not_yours`, the dispatcher's codes…).
        code: String,
        message: String,
    },
    Pong {
        in_reply_to: RequestId,
    },
}

impl Frame {
    /// The `error` frame for a message that could not be read (no `in_reply_to`).
    pub fn bad_message(message: impl Into<String>) -> Self {
        Frame::Error {
            in_reply_to: None,
            code: "bad_message".into(),
            message: message.into(),
        }
    }

    /// The `error` frame answering the request with `id`.
    pub fn error(id: RequestId, code: impl Into<String>, message: impl Into<String>) -> Self {
        Frame::Error {
            in_reply_to: Some(id),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Why an offer left the agent (`offer_withdrawn`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawnReason {
    /// The agent rejected it.
    Rejected,
    /// Nobody answered before the deadline.
    TimedOut,
    /// The customer hung up while it rang.
    Abandoned,
    /// The agent went away, logged out or lost the connection.
    AgentUnavailable,
    /// A supervisor moved the contact elsewhere.
    Moved,
    /// Somebody else picked the contact up.
    TakenElsewhere,
}

impl From<WithdrawReason> for WithdrawnReason {
    fn from(r: WithdrawReason) -> Self {
        match r {
            WithdrawReason::Abandoned => WithdrawnReason::Abandoned,
            WithdrawReason::AgentUnavailable => WithdrawnReason::AgentUnavailable,
            WithdrawReason::Moved => WithdrawnReason::Moved,
            WithdrawReason::TakenElsewhere => WithdrawnReason::TakenElsewhere,
        }
    }
}

/// The `stats` frame: the agent's own figures of the (UTC) day as this instance sees them, and
/// the contacts waiting in the queues the agent serves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub handled_today: u64,
    /// Handling time over logged-in time, `0..=1`; `None` before the agent logged in today.
    pub occupancy_today: Option<f64>,
    /// `None` until the agent handled a contact today.
    pub average_handle_time_ms: Option<u64>,
    pub waiting_in_my_queues: u32,
    pub longest_wait_ms: u64,
}

/// The callback an offer is for: the customer hung up and keeps their place; the agent (or the
/// PBX, told by `call.dial` on accept) calls `number`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackOffer {
    pub number: String,
    /// The time promised, if one was.
    #[serde(deserialize_with = "crate::nullable")]
    pub due: Option<Timestamp>,
}

/// What a console may send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    SetState {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        presence: Presence,
    },
    Accept {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        contact_id: ContactId,
    },
    Reject {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        contact_id: ContactId,
    },
    Hold {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        contact_id: ContactId,
    },
    Resume {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        contact_id: ContactId,
    },
    /// The conversation is over: wrap-up starts.
    End {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        contact_id: ContactId,
    },
    Transfer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        contact_id: ContactId,
        to: TransferTarget,
    },
    WrapUp {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        contact_id: ContactId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disposition: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolved: Option<bool>,
    },
    /// The customer asked to be called back at `number`, keeping their place in line;
    /// `due` is the time promised, if any.
    CallbackInPlace {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        contact_id: ContactId,
        number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
    },
    Ping {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
    },
}

impl Request {
    /// The request's `id`, echoed as `in_reply_to`.
    pub fn id(&self) -> &RequestId {
        match self {
            Request::SetState { id, .. }
            | Request::Accept { id, .. }
            | Request::Reject { id, .. }
            | Request::Hold { id, .. }
            | Request::Resume { id, .. }
            | Request::End { id, .. }
            | Request::Transfer { id, .. }
            | Request::WrapUp { id, .. }
            | Request::CallbackInPlace { id, .. }
            | Request::Ping { id } => id,
        }
    }
}
