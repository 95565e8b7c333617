//! The webhooks we POST to a PBX (we-route mode), signed like the inbound hooks.
//!
//! - `call.ring`: ring the agent's extension (an offer), until `deadline`;
//! - `call.connect`: the agent accepted on the console, connect the call;
//! - `call.cancel`: the offer ended unanswered, stop ringing (`reason`);
//! - `call.dial`: a callback reached an agent: dial the customer's `number` and connect it to
//!   the agent.
//!
//! Every body carries `event_id` (also in the `x-switchboard-event-id` header; a receiver
//! uses it to drop repeats), `type` and `at` (ms since the epoch). Ring, connect and cancel
//! share one shape ([`OfferInstruction`]) with `deadline` and `reason` always present,
//! `null` where they do not apply.

use serde::{Deserialize, Serialize};
use switchboard_domain::{AgentId, ContactId, QueueId, Timestamp, WithdrawReason};

/// One webhook body, by `type`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Webhook {
    #[serde(rename = "call.ring")]
    Ring(OfferInstruction),
    #[serde(rename = "call.connect")]
    Connect(OfferInstruction),
    #[serde(rename = "call.cancel")]
    Cancel(OfferInstruction),
    #[serde(rename = "call.dial")]
    Dial(DialInstruction),
}

impl Webhook {
    /// The `type`: `call.ring`, `call.connect`, `call.cancel` or `call.dial`.
    pub fn kind(&self) -> &'static str {
        match self {
            Webhook::Ring(_) => "call.ring",
            Webhook::Connect(_) => "call.connect",
            Webhook::Cancel(_) => "call.cancel",
            Webhook::Dial(_) => "call.dial",
        }
    }

    pub fn event_id(&self) -> &str {
        match self {
            Webhook::Ring(i) | Webhook::Connect(i) | Webhook::Cancel(i) => &i.event_id,
            Webhook::Dial(d) => &d.event_id,
        }
    }
}

/// The body of `call.ring`, `call.connect` and `call.cancel`: an offer of a PBX call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferInstruction {
    pub event_id: String,
    /// The PBX's own id of the call.
    pub call_id: String,
    pub contact_id: ContactId,
    pub queue: QueueId,
    pub agent: PbxAgent,
    /// Until when it rings (`call.ring` only; else `null`).
    #[serde(deserialize_with = "crate::nullable")]
    pub deadline: Option<Timestamp>,
    /// Why it stopped ringing (`call.cancel` only; else `null`).
    #[serde(deserialize_with = "crate::nullable")]
    pub reason: Option<CancelReason>,
    pub at: Timestamp,
}

/// The body of `call.dial`: call the customer back at `number` for `agent`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialInstruction {
    pub event_id: String,
    /// The call the customer asked from, if the callback was asked for on a call; `null`
    /// for one asked for otherwise (web form, chat).
    #[serde(deserialize_with = "crate::nullable")]
    pub call_id: Option<String>,
    pub contact_id: ContactId,
    pub queue: QueueId,
    /// The customer's number to dial.
    pub number: String,
    /// The time promised to the customer, if one was.
    #[serde(deserialize_with = "crate::nullable")]
    pub due: Option<Timestamp>,
    pub agent: PbxAgent,
    pub at: Timestamp,
}

/// The agent a webhook is for, and where the PBX reaches them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxAgent {
    pub id: AgentId,
    /// The agent's extension on the PBX, if configured.
    #[serde(deserialize_with = "crate::nullable")]
    pub extension: Option<String>,
    /// The agent number; `null` when the agent's profile is gone.
    #[serde(deserialize_with = "crate::nullable")]
    pub number: Option<String>,
}

/// Why a `call.cancel`: the offer was rejected, missed, or taken back. (A caller's hang-up
/// needs no cancel: the PBX told us.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    Rejected,
    TimedOut,
    AgentUnavailable,
    Moved,
    TakenElsewhere,
}

impl CancelReason {
    /// The cancel reason of a withdrawal, `None` for one the PBX needs no cancel for (the
    /// caller hung up).
    pub fn of_withdrawal(r: WithdrawReason) -> Option<Self> {
        match r {
            WithdrawReason::Abandoned => None,
            WithdrawReason::AgentUnavailable => Some(CancelReason::AgentUnavailable),
            WithdrawReason::Moved => Some(CancelReason::Moved),
            WithdrawReason::TakenElsewhere => Some(CancelReason::TakenElsewhere),
        }
    }
}
