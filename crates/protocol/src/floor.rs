//! The supervisor's floor socket, `GET /api/v1/supervisor/ws`.
//!
//! The server sends a [`Frame::Snapshot`] of every queue and agent, then a [`Frame::Delta`]
//! at most once a second with only what changed (`null` for what disappeared), each
//! [`Stamped`](crate::Stamped) with `v` and a per-connection `seq`. The supervisor sends
//! [`Request`]s, answered by `ack` or `error` with `in_reply_to` their `id`; an unknown `type`
//! or field is refused with an `error` frame (code `bad_message`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchboard_domain::{
    AgentId, AgentStatus, ContactId, Presence, QueueId, Timestamp, TransferTarget, Urgency,
};

use crate::{contacts::Stage, RequestId};

/// What the server sends a supervisor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    /// The whole floor, first thing on a connection.
    Snapshot {
        queues: BTreeMap<QueueId, QueueView>,
        agents: BTreeMap<AgentId, AgentView>,
    },
    /// What changed since the previous frame: a new or changed entry, or `null` for one that
    /// is gone.
    Delta {
        queues: BTreeMap<QueueId, Option<QueueView>>,
        agents: BTreeMap<AgentId, Option<AgentView>>,
    },
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

    /// The `delta` from `old` to `new`, or `None` when nothing changed.
    pub fn delta(
        (old_queues, old_agents): (&BTreeMap<QueueId, QueueView>, &BTreeMap<AgentId, AgentView>),
        (new_queues, new_agents): (&BTreeMap<QueueId, QueueView>, &BTreeMap<AgentId, AgentView>),
    ) -> Option<Self> {
        let queues = changed(old_queues, new_queues);
        let agents = changed(old_agents, new_agents);
        (!queues.is_empty() || !agents.is_empty()).then_some(Frame::Delta { queues, agents })
    }
}

/// Entries of `new` that differ from `old`, and `None` for those of `old` no longer in `new`.
fn changed<K: Ord + Clone, V: PartialEq + Clone>(
    old: &BTreeMap<K, V>,
    new: &BTreeMap<K, V>,
) -> BTreeMap<K, Option<V>> {
    let mut out: BTreeMap<K, Option<V>> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect();
    for k in old.keys().filter(|k| !new.contains_key(*k)) {
        out.insert(k.clone(), None);
    }
    out
}

/// One queue now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueView {
    pub waiting: u32,
    /// Offers ringing at agents.
    pub offered_now: u32,
    pub longest_wait_ms: u64,
    /// Agents who serve the queue, by state name (`available`, `busy`, `away`…).
    pub agents: BTreeMap<String, u32>,
    pub today: TodayFigures,
}

/// A queue's figures of the (UTC) day so far, and the agents it needs now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TodayFigures {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    /// A fraction in `0..=1`; `None` with nothing to count yet.
    pub service_level: Option<f64>,
    /// The service-level formula's name; absent before the queue saw its first event today.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_level_formula: Option<String>,
    /// The target (`T`) in force today, in seconds.
    pub service_level_target_s: f64,
    pub asa_ms: Option<f64>,
    pub handled: u64,
    pub aht_ms: Option<f64>,
    /// Agent-reported first-contact resolution, a fraction.
    pub fcr_reported: Option<f64>,
    /// Over the last 30 minutes, one decimal.
    pub arrivals_per_hour: Option<f64>,
    /// Erlang C with the queue's service-level target; `None` without a handle time yet.
    pub agents_needed_now: Option<u32>,
}

impl TodayFigures {
    /// A queue that has seen nothing today, with its service-level target in seconds.
    pub fn none_yet(service_level_target_s: f64) -> Self {
        Self {
            offered: 0,
            answered: 0,
            abandoned: 0,
            service_level: None,
            service_level_formula: None,
            service_level_target_s,
            asa_ms: None,
            handled: 0,
            aht_ms: None,
            fcr_reported: None,
            arrivals_per_hour: None,
            agents_needed_now: None,
        }
    }
}

/// One agent now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentView {
    /// `None` when the dispatcher does not know the agent.
    pub status: Option<AgentStatus>,
    /// Since when the agent has been in that state: the time of the last event about the
    /// agent when the state changed (today's log included), else when the floor first saw it.
    pub since: Timestamp,
    pub contacts: Vec<AgentContact>,
}

/// A contact an agent holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentContact {
    pub contact_id: ContactId,
    pub state: Stage,
    /// `None` for a contact transferred away that the agent only wraps up.
    pub queue: Option<QueueId>,
}

/// What a supervisor may send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Force an agent's presence (`offline` logs them out).
    SetAgentState {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        agent: AgentId,
        presence: Presence,
    },
    /// Move a contact to a queue or an agent.
    MoveContact {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        contact_id: ContactId,
        to: TransferTarget,
    },
    SetUrgency {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: RequestId,
        contact_id: ContactId,
        urgency: Urgency,
    },
    /// Turn a waiting contact into a callback to `number` that keeps its place in line;
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
            Request::SetAgentState { id, .. }
            | Request::MoveContact { id, .. }
            | Request::SetUrgency { id, .. }
            | Request::CallbackInPlace { id, .. }
            | Request::Ping { id } => id,
        }
    }
}
