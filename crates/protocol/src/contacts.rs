//! The contact API's public resources: `POST /api/v1/contacts` (a chat, an e-mail, a ticket
//! created in a queue) and `GET /api/v1/contacts/{contact_id}/position`.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};
use switchboard_domain::{
    duration_secs, Channel, ContactId, ContactState, QueueId, SkillRequirement, Tier, Timestamp,
    Urgency,
};

/// `POST /api/v1/contacts`: a contact to create. Unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    pub queue: QueueId,
    pub channel: Channel,
    /// Skills beyond the queue's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<SkillRequirement>,
    #[serde(default)]
    pub tier: Tier,
    #[serde(default)]
    pub urgency: Urgency,
    /// Shown to the agent with the offer; `customer` names the customer for repeat-contact
    /// detection.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// The answer to `POST /api/v1/contacts` (201).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactCreated {
    pub contact_id: ContactId,
    pub queue: QueueId,
    /// `None` when the contact already left the ACD.
    pub state: Option<Stage>,
    /// Its place in line (1 = next), `None` when it is not waiting (offered at once).
    pub position: Option<u32>,
    /// In seconds; `None` until the queue has answered anything in the last 30 minutes.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    #[serde(with = "duration_secs::option")]
    pub estimated_wait: Option<Duration>,
}

/// `GET /api/v1/contacts/{contact_id}/position`: where a waiting contact stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    pub queue: QueueId,
    /// 1 = next in line. Contacts that other agents serve first (other skills) may be answered
    /// before it, so the position is an upper bound in a multi-skill queue.
    pub position: u32,
    pub waiting: u32,
    /// In seconds, from the queue's observed answer rate over the last 30 minutes; `None`
    /// until it has answered anything in that window.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    #[serde(with = "duration_secs::option")]
    pub estimated_wait: Option<Duration>,
}

/// `POST /api/v1/contacts/{contact_id}/callback` (a web form or a chat page: "call me
/// back instead"): the number to call and, optionally, the time promised. Unknown fields
/// are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CallbackRequest {
    pub number: String,
    /// The promised time, ms since the epoch; later than now and at most 7 days ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
}

/// A waiting contact turned into a callback that keeps its place: the answer to
/// `POST /api/v1/contacts/{contact_id}/callback` (200) and, with `"status": "ok"`, to the
/// hook's `call.callback_requested`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallbackPlaced {
    pub contact_id: ContactId,
    pub queue: QueueId,
    /// Always `queued`: only a waiting contact becomes a callback.
    pub state: Stage,
    /// Always `callback`.
    pub channel: Channel,
    /// As the PBX will dial it (`+` and digits).
    pub number: String,
    #[serde(deserialize_with = "crate::nullable")]
    pub due: Option<Timestamp>,
    /// The place it had, and keeps (1 = next).
    #[serde(deserialize_with = "crate::nullable")]
    pub position: Option<u32>,
    /// In seconds; `None` until the queue has answered anything in the last 30 minutes.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    #[serde(with = "duration_secs::option")]
    pub estimated_wait: Option<Duration>,
}

/// Where a contact stands, by name: `queued`, `offered`, `assigned`, `held`, `wrap_up`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Queued,
    Offered,
    Assigned,
    Held,
    WrapUp,
}

impl From<&ContactState> for Stage {
    fn from(s: &ContactState) -> Self {
        match s {
            ContactState::Queued { .. } => Stage::Queued,
            ContactState::Offered { .. } => Stage::Offered,
            ContactState::Assigned { .. } => Stage::Assigned,
            ContactState::Held { .. } => Stage::Held,
            ContactState::WrapUp { .. } => Stage::WrapUp,
        }
    }
}
