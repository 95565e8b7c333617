//! What a PBX or an IVR sends us, and what we answer.
//!
//! - The generic signed hooks, `POST /api/v1/hooks/{integration_id}`: one [`Delivery`] (a
//!   sender-chosen `event_id` and a [`CallEvent`]) per request, answered by a [`HookAnswer`].
//!   Unknown fields are ignored (PBXes add their own); an unknown `type` is refused
//!   ([`CallEvent::TYPES`]), and text fields are bounded ([`CallEvent::check`]).
//! - The Zammad "generic CTI" format, `POST /api/v1/cti/{token}`: see [`cti`].

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};
use switchboard_domain::{
    duration_secs, AgentId, ContactId, QueueId, SkillRequirement, Tier, Timestamp, Urgency,
    ValidationError,
};

pub mod cti;

/// One generic hook delivery: `{"event_id": "...", "type": "call.arrived", ...}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// Chosen by the sender, 1 to 128 printable characters; a repeated one gets the first
    /// answer again.
    pub event_id: String,
    #[serde(flatten)]
    pub event: CallEvent,
}

/// A call event of the generic hooks, by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type")]
pub enum CallEvent {
    /// A call enters the ACD (once, whatever the retries).
    #[serde(rename = "call.arrived")]
    Arrived {
        call_id: String,
        /// The queue the IVR chose.
        queue: QueueId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dialed: Option<String>,
        /// Skills the IVR chose beyond the queue's (e.g. a language).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        skills: Vec<SkillRequirement>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        language: Option<String>,
        /// The customer's reference in the CRM, if the IVR identified them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer: Option<String>,
        /// The customer's name, for the greeting (`{customer_name}`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        customer_name: Option<String>,
        #[serde(default)]
        tier: Tier,
        #[serde(default)]
        urgency: Urgency,
        /// Whatever else the IVR collected (menu choices, account number…).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        ivr: BTreeMap<String, String>,
    },
    /// The PBX connected the call to `agent`.
    #[serde(rename = "call.answered")]
    Answered {
        call_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentId>,
    },
    #[serde(rename = "call.held")]
    Held { call_id: String },
    #[serde(rename = "call.resumed")]
    Resumed { call_id: String },
    /// Moved to a queue or an agent: exactly one of the two.
    #[serde(rename = "call.transferred")]
    Transferred {
        call_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<QueueId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentId>,
    },
    /// The caller hung up (or the call ended otherwise).
    #[serde(rename = "call.ended")]
    Ended {
        call_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<String>,
    },
    /// The caller asked (e.g. pressed a key in the IVR) to be called back at `number`,
    /// keeping their place in line; `due` is the time promised, if any.
    #[serde(rename = "call.callback_requested")]
    CallbackRequested {
        call_id: String,
        number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due: Option<Timestamp>,
    },
}

impl CallEvent {
    /// Every `type` a delivery may carry; anything else is refused (`unknown_event`).
    pub const TYPES: [&'static str; 7] = [
        "call.arrived",
        "call.answered",
        "call.held",
        "call.resumed",
        "call.transferred",
        "call.ended",
        "call.callback_requested",
    ];

    /// The PBX's call id the event is about.
    pub fn call_id(&self) -> &str {
        match self {
            CallEvent::Arrived { call_id, .. }
            | CallEvent::Answered { call_id, .. }
            | CallEvent::Held { call_id }
            | CallEvent::Resumed { call_id }
            | CallEvent::Transferred { call_id, .. }
            | CallEvent::Ended { call_id, .. }
            | CallEvent::CallbackRequested { call_id, .. } => call_id,
        }
    }

    /// Checks the event's text fields against the limits: the call id
    /// ([`check_call_id`]), phone numbers (`caller`, `dialed`, `number`) at most
    /// [`MAX_NUMBER`] characters, other texts (`language`, `customer`, `customer_name`,
    /// `cause`) at most [`MAX_TEXT`], `ivr` keys at most [`MAX_IVR_KEY`] and values at most
    /// [`MAX_IVR_VALUE`]; none may hold a control character (NUL, newline, escape…).
    /// Queue and agent ids are checked by their types when read.
    pub fn check(&self) -> Result<(), ValidationError> {
        check_call_id(self.call_id())?;
        let optional = |field: &str, value: &Option<String>, max: usize| match value {
            Some(v) => check_text(field, v, max),
            None => Ok(()),
        };
        match self {
            CallEvent::Arrived {
                caller,
                dialed,
                language,
                customer,
                customer_name,
                ivr,
                ..
            } => {
                optional("caller", caller, MAX_NUMBER)?;
                optional("dialed", dialed, MAX_NUMBER)?;
                optional("language", language, MAX_TEXT)?;
                optional("customer", customer, MAX_TEXT)?;
                optional("customer_name", customer_name, MAX_TEXT)?;
                for (key, value) in ivr {
                    check_text("ivr", key, MAX_IVR_KEY)?;
                    check_text(&format!("ivr.{key}"), value, MAX_IVR_VALUE)?;
                }
                Ok(())
            }
            CallEvent::Ended { cause, .. } => optional("cause", cause, MAX_TEXT),
            CallEvent::CallbackRequested { number, .. } => check_text("number", number, MAX_NUMBER),
            CallEvent::Answered { .. }
            | CallEvent::Held { .. }
            | CallEvent::Resumed { .. }
            | CallEvent::Transferred { .. } => Ok(()),
        }
    }
}

/// The longest name, reference or other free text a hook field may hold (characters).
pub const MAX_TEXT: usize = 256;
/// The longest phone number a hook field may hold (characters, spaces and punctuation
/// included).
pub const MAX_NUMBER: usize = 32;
/// The longest key of a `call.arrived`'s `ivr` map (it becomes the contact attribute
/// `ivr.<key>`, at most 64 characters).
pub const MAX_IVR_KEY: usize = 60;
/// The longest value of a `call.arrived`'s `ivr` map (a contact attribute's limit).
pub const MAX_IVR_VALUE: usize = 1_000;

/// A text field of a hook: at most `max` characters, none of them a control character.
pub fn check_text(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters (NUL, newline, escape…)",
        ));
    }
    Ok(())
}

/// A PBX call id: 1 to 128 printable characters.
pub fn check_call_id(call_id: &str) -> Result<(), ValidationError> {
    if call_id.is_empty() || call_id.len() > 128 || call_id.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "call_id",
            "must be 1 to 128 printable characters",
        ));
    }
    Ok(())
}

/// A delivery's `event_id`: 1 to 128 printable characters.
pub fn check_event_id(event_id: &str) -> Result<(), ValidationError> {
    if event_id.is_empty() || event_id.len() > 128 || event_id.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "event_id",
            "must be 1 to 128 printable characters",
        ));
    }
    Ok(())
}

/// The answer to a generic hook delivery (200), by `status`. Anything merely late or out of
/// order is `ignored` with the reason, never an error the PBX would retry forever.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum HookAnswer {
    Ok(Done),
    Ignored {
        reason: String,
        /// Why, as a stable code, where one applies (e.g. `not_waiting` for a callback
        /// asked for a call already ringing).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// The call's contact, when it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_id: Option<ContactId>,
    },
    /// The queue refuses contacts now (nobody is logged in to it).
    Refused {
        reason: String,
        contact_id: ContactId,
    },
}

impl HookAnswer {
    /// `ignored`, with why.
    pub fn ignored(reason: impl Into<String>, contact_id: Option<ContactId>) -> Self {
        HookAnswer::Ignored {
            reason: reason.into(),
            code: None,
            contact_id,
        }
    }

    /// `ok`: the event was applied to the call's contact.
    pub fn applied(contact_id: ContactId) -> Self {
        HookAnswer::Ok(Done::Applied { contact_id })
    }
}

/// What an `ok` answer carries, told apart by its fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Done {
    /// `call.callback_requested`: the call is now a callback keeping its place (listed
    /// first: its fields are a superset of `Queued`'s).
    Callback(crate::contacts::CallbackPlaced),
    /// `call.callback_requested` again, under another event id: nothing changed.
    CallbackAlreadyRequested {
        already_requested: bool,
        contact_id: ContactId,
        #[serde(deserialize_with = "crate::nullable")]
        position: Option<u32>,
        #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
        #[serde(with = "duration_secs::option")]
        estimated_wait: Option<Duration>,
    },
    /// `call.arrived`: the contact, its place in line and the estimated wait, for the IVR
    /// to announce.
    Queued {
        contact_id: ContactId,
        queue: QueueId,
        /// `None` when it is not waiting (offered at once).
        #[serde(deserialize_with = "crate::nullable")]
        position: Option<u32>,
        /// In seconds; `None` until the queue answered anything in the last 30 minutes.
        #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
        #[serde(with = "duration_secs::option")]
        estimated_wait: Option<Duration>,
    },
    /// `call.ended`: the contact ended (or was abandoned), with the PBX's cause.
    Ended {
        contact_id: ContactId,
        #[serde(deserialize_with = "crate::nullable")]
        cause: Option<String>,
    },
    /// Any other event, applied.
    Applied { contact_id: ContactId },
}
